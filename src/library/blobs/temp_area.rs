//! Where in-flight blob writes live: `tmp/ab/.blob-*`, spread over 256 directories that ext4 is
//! asked to place in different block groups.
//!
//! Why spread: ext4 gives a new file an inode in its directory's block group and, on a file
//! system without a journal, skips every inode there freed in the last minutes, looking each
//! one up as it goes. An import from a synced folder frees an inode (the imported file) for
//! every one it allocates (the blob), often in the same group, so with one temp directory every
//! new blob scanned past all the files imported before it: a quarter of the CPU of a
//! 10,000-file import went there and to threads spinning on that one directory's lock.
//! `FS_TOPDIR_FL` on `tmp/` makes ext4 spread its subdirectories over the groups, as it does for
//! home directories; elsewhere the flag is not supported and nothing changes.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::{IoContext, list_dir};

/// Subdirectories of the temp area; writes go to them in turn.
const SPREAD: usize = 256;

#[derive(Debug, Clone)]
pub(super) struct TempArea {
    dir: PathBuf,
    /// Subdirectories known to exist (all of them once `open` is done, unless removed since).
    present: Arc<[AtomicBool; SPREAD]>,
    next: Arc<AtomicUsize>,
}

impl TempArea {
    /// Creates `dir` if needed and asks the file system to spread its subdirectories.
    pub(super) fn open(dir: PathBuf) -> io::Result<TempArea> {
        fs::create_dir_all(&dir).context("creating blob store", &dir)?;
        spread_subdirectories(&dir);
        let area = TempArea {
            dir,
            present: Arc::new(std::array::from_fn(|_| AtomicBool::new(false))),
            next: Arc::new(AtomicUsize::new(0)),
        };
        // Made now rather than by the first writes (one listing when they are all there).
        // Best effort, like the fan-out directories: a reader need not be able to write here.
        for entry in list_dir(&area.dir)? {
            if let Some(index) = subdirectory_index(&entry.file_name()) {
                area.present[index].store(true, Ordering::Relaxed);
            }
        }
        for index in 0..SPREAD {
            let _ = area.ensure(index);
        }
        Ok(area)
    }

    fn ensure(&self, index: usize) -> io::Result<PathBuf> {
        let dir = self.dir.join(format!("{index:02x}"));
        if !self.present[index].load(Ordering::Relaxed) {
            match fs::create_dir(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => {}
                Err(e) => return Err(e).context("creating blob temp directory", &dir),
            }
            self.present[index].store(true, Ordering::Relaxed);
        }
        Ok(dir)
    }

    /// The directory for the next temp file (each call the next of the 256).
    pub(super) fn next_dir(&self) -> io::Result<PathBuf> {
        self.ensure(self.next.fetch_add(1, Ordering::Relaxed) % SPREAD)
    }

    /// The files named `prefix*` in the area: in its subdirectories, and in the area itself
    /// where older versions wrote them. Anything else there is not ours.
    pub(super) fn files(&self, prefix: &str) -> io::Result<Vec<PathBuf>> {
        let mut found = files_in(&self.dir, prefix)?;
        for entry in list_dir(&self.dir)? {
            let is_dir = entry
                .file_type()
                .context("inspecting", entry.path())?
                .is_dir();
            if is_dir && subdirectory_index(&entry.file_name()).is_some() {
                found.extend(files_in(&entry.path(), prefix)?);
            }
        }
        Ok(found)
    }

    /// Deletes [`Self::files`]; returns how many went.
    pub(super) fn remove_files(&self, prefix: &str) -> io::Result<usize> {
        let mut removed = 0;
        for path in self.files(prefix)? {
            match fs::remove_file(&path) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).context("removing temp file", &path),
            }
        }
        Ok(removed)
    }
}

/// `ab` (two lowercase hex digits) names subdirectory 0xab.
fn subdirectory_index(name: &std::ffi::OsStr) -> Option<usize> {
    let name = name.to_str()?;
    let lower_hex = name
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    (name.len() == 2 && lower_hex)
        .then(|| usize::from_str_radix(name, 16).ok())
        .flatten()
}

fn files_in(dir: &Path, prefix: &str) -> io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in list_dir(dir)? {
        let ours = entry
            .file_name()
            .to_str()
            .is_some_and(|name| name.starts_with(prefix));
        let is_file = entry
            .file_type()
            .context("inspecting", entry.path())?
            .is_file();
        if ours && is_file {
            found.push(entry.path());
        }
    }
    Ok(found)
}

/// Sets ext2/3/4's "top of a directory hierarchy" flag. Best effort: a file system without it
/// (or a directory we may not change) only loses the spreading.
#[cfg(target_os = "linux")]
fn spread_subdirectories(dir: &Path) {
    use std::os::fd::AsRawFd;
    /// `FS_TOPDIR_FL` from `linux/fs.h`.
    const TOPDIR_FLAG: libc::c_int = 0x0002_0000;
    let Ok(handle) = fs::File::open(dir) else {
        return;
    };
    let mut flags: libc::c_int = 0;
    // SAFETY: the ioctls read and write one int through a pointer valid for the call, on a
    // descriptor `handle` keeps open; failures are ignored (see above).
    unsafe {
        if libc::ioctl(handle.as_raw_fd(), libc::FS_IOC_GETFLAGS, &mut flags) != 0
            || flags & TOPDIR_FLAG != 0
        {
            return;
        }
        flags |= TOPDIR_FLAG;
        libc::ioctl(handle.as_raw_fd(), libc::FS_IOC_SETFLAGS, &flags);
    }
}

#[cfg(not(target_os = "linux"))]
fn spread_subdirectories(_dir: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_take_the_subdirectories_in_turn_and_a_sweep_removes_only_ours() {
        let root = tempfile::tempdir().unwrap();
        let area = TempArea::open(root.path().join("tmp")).unwrap();
        let first = area.next_dir().unwrap();
        let second = area.next_dir().unwrap();
        assert_eq!(first, root.path().join("tmp/00"));
        assert_eq!(second, root.path().join("tmp/01"));
        for _ in 2..SPREAD {
            area.next_dir().unwrap();
        }
        assert_eq!(area.next_dir().unwrap(), first);

        fs::write(first.join(".blob-a"), b"x").unwrap();
        fs::write(second.join(".blob-b"), b"x").unwrap();
        fs::write(root.path().join("tmp/.blob-old-layout"), b"x").unwrap();
        fs::write(first.join("notes.txt"), b"an admin's").unwrap();
        fs::create_dir(root.path().join("tmp/keep")).unwrap();
        fs::write(
            root.path().join("tmp/keep/.blob-c"),
            b"not in a subdirectory of ours",
        )
        .unwrap();

        assert_eq!(area.remove_files(".blob-").unwrap(), 3);
        assert!(first.join("notes.txt").exists());
        assert!(root.path().join("tmp/keep/.blob-c").exists());
        assert_eq!(area.remove_files(".blob-").unwrap(), 0);
    }
}
