//! Sending files into the synced folder (export): each file is copied from this machine into a
//! hidden temporary name, fsync'd, then renamed into place without replacing anything, so no
//! half file is ever visible and the desktop client only ever syncs complete files. A clash is
//! renamed `name (1).ext` like Dropbox's `add` + `autorename`; identical content already at the
//! target is left as it is. A file sent with a sha256 is hashed as it is copied and its temp
//! file removed, never renamed into place, if it does not match. The temp file's name is ours
//! (`leftovers.rs`), so what a killed export leaves is swept later. Sharing needs the Dropbox
//! API, so it is refused with that reason.

use std::ffi::OsStr;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};

use super::errors::{conflict, io_error, refused};
use super::fs_at;
use super::identity::file_metadata;
use super::leftovers::{EXPORT_PURPOSE, create_temporary};
use super::scan::{Root, find_child};
use super::write::{folder_to_write_in, free_name};
use crate::dropbox::backend::{BackendError, BackendResult};
use crate::dropbox::sending::{OutgoingFile, SentFile, SentVia, SourceCheck, short_or_changed};

const COPY_BUFFER: usize = 1024 * 1024;
/// A new file taking the free name first (another writer) moves us on to the next name.
const PLACEMENT_ATTEMPTS: u32 = 5;

/// Why a synced-folder link cannot share.
pub fn sharing_needs_the_api() -> BackendError {
    refused(
        "sharing needs the Dropbox API: a synced-folder link cannot create Dropbox shared links; \
         link the account with `smartimage link --account NAME --api` to share",
    )
}

/// Whether the file `name` in `dir` holds exactly the bytes of `file`'s source; when it does,
/// `check` has seen all of them.
fn same_content(
    dir: &OwnedFd,
    name: &OsStr,
    file: &OutgoingFile,
    check: &mut SourceCheck,
) -> io::Result<bool> {
    let stat = fs_at::stat_at(dir, name)?;
    if !fs_at::is_regular(&stat) || stat.st_size as u64 != file.size {
        return Ok(false);
    }
    let mut ours = std::fs::File::open(&file.source)?;
    let mut theirs = fs_at::open_file_at(dir, name)?;
    let (mut a, mut b) = (vec![0u8; COPY_BUFFER], vec![0u8; COPY_BUFFER]);
    loop {
        let n = read_full(&mut ours, &mut a)?;
        let m = read_full(&mut theirs, &mut b)?;
        check.update(&a[..n]);
        if n != m || a[..n] != b[..m] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

fn read_full(reader: &mut impl Read, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

/// Copies `source` into a new hidden file in `dir`, hashing what it reads, synced; returns
/// its name, stat and the file (open, so the temp file stays locked until it is placed). A
/// copy that does not match the file's sha256 is removed, never placed.
fn copy_to_temporary(
    dir: &OwnedFd,
    file: &OutgoingFile,
    progress: &dyn Fn(u64),
) -> BackendResult<(std::ffi::OsString, libc::stat, std::fs::File)> {
    let (temporary, mut target) = create_temporary(dir, EXPORT_PURPOSE)
        .map_err(|error| io_error(&file.destination, error))?;
    let mut check = SourceCheck::new(file);
    let copied = (|| -> io::Result<(u64, libc::stat)> {
        let mut source = std::fs::File::open(&file.source)?;
        let mut buffer = vec![0u8; COPY_BUFFER];
        let mut total = 0u64;
        loop {
            let n = read_full(&mut source, &mut buffer)?;
            if n == 0 {
                break;
            }
            check.update(&buffer[..n]);
            target.write_all(&buffer[..n])?;
            total += n as u64;
            progress(total);
        }
        target.sync_all()?;
        Ok((total, fs_at::stat_fd(target.as_raw_fd())?))
    })();
    let checked = match copied {
        Ok((total, stat)) => check.verify(file).and_then(|()| {
            if total == file.size {
                Ok(stat)
            } else {
                Err(short_or_changed(file, total))
            }
        }),
        Err(error) => Err(io_error(&file.destination, error)),
    };
    match checked {
        Ok(stat) => Ok((temporary, stat, target)),
        Err(error) => {
            let _ = fs_at::unlink_at(dir, &temporary);
            Err(error)
        }
    }
}

/// Sends one file to `components` (app-folder path below the root).
pub fn send_file(
    root: &Root,
    components: &[String],
    file: &OutgoingFile,
    progress: &dyn Fn(u64),
) -> BackendResult<SentFile> {
    let (name, dir, folder) = folder_to_write_in(root, components)?;
    let sent = |name: &str, stat: &libc::stat| SentFile {
        metadata: file_metadata(&format!("{folder}/{name}"), name, stat),
        via: SentVia::LocalCopy,
    };
    let mut check = SourceCheck::new(file);
    if let Some((on_disk, on_disk_text, stat)) =
        find_child(&dir, name).map_err(|error| io_error(&file.destination, error))?
        && same_content(&dir, &on_disk, file, &mut check)
            .map_err(|error| io_error(&file.destination, error))?
    {
        // The same bytes are there, but they count as sent only if they are the file's.
        check.verify(file)?;
        return Ok(sent(&on_disk_text, &stat));
    }
    // Held open (so locked) until placed: a sweep never takes a temp file being placed.
    let (temporary, stat, _locked) = copy_to_temporary(&dir, file, progress)?;
    for _ in 0..PLACEMENT_ATTEMPTS {
        let target = match find_child(&dir, name).map_err(|error| io_error(&folder, error))? {
            None => name.clone(),
            Some(_) => free_name(&dir, name, &folder)?,
        };
        match fs_at::rename_at(&dir, &temporary, OsStr::new(&target), false) {
            Ok(()) => {
                fs_at::sync_dir(&dir).map_err(|error| io_error(&folder, error))?;
                return Ok(sent(&target, &stat));
            }
            // Taken between the look and the rename: try the next free name.
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(error) => {
                let _ = fs_at::unlink_at(&dir, &temporary);
                return Err(io_error(&file.destination, error));
            }
        }
    }
    let _ = fs_at::unlink_at(&dir, &temporary);
    Err(conflict(&format!(
        "path/conflict/file/ no free name for {:?}",
        file.destination
    )))
}
