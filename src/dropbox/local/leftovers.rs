//! Our temporary files in the synced folder, and sweeping the ones a killed write left. Each
//! has a name of one fixed pattern, `.~smartimage-<purpose>-<pid>-<nanos hex>-<n>.tmp` (hidden
//! from our scanner, and from the Dropbox client, which syncs no `.~…` or `….tmp` name), and its
//! writer holds an `flock` on it from creation to rename. A sweep removes a file only if its
//! name is exactly that pattern, it is a regular file, nobody holds its lock, and its writer is
//! gone (its pid no longer runs) or it has sat unlocked for an hour. Anything else — a customer
//! file however alike, a live export's temp file, the leftover of a delete (it holds a
//! customer's file) — is never removed.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::errors::io_error;
use super::fs_at;
use super::identity::{is_ignored_name, join_path};
use super::scan::{Root, find_child};
use crate::dropbox::backend::BackendResult;

/// Temp files of a write into the synced folder (the report, the emulator's uploads).
pub(super) const UPLOAD_PURPOSE: &str = "upload";
/// Temp files of an export (a library file being copied out).
pub(super) const EXPORT_PURPOSE: &str = "export";
/// A file being deleted, renamed aside first: it holds the customer's file, never swept.
pub(super) const DELETING_PURPOSE: &str = "deleting";
/// Purposes whose temp files hold only a copy of something of ours: these may be swept.
const REMOVABLE_PURPOSES: &[&str] = &[UPLOAD_PURPOSE, EXPORT_PURPOSE];
const TEMPORARY_PREFIX: &str = ".~smartimage-";
const TEMPORARY_SUFFIX: &str = ".tmp";
/// An unlocked temp file whose pid still runs (reused, or a writer older than the lock) is
/// left this long: a write takes seconds.
const UNLOCKED_STALE_AGE: Duration = Duration::from_secs(60 * 60);
/// Folder levels a sweep descends below where it starts (exports nest a level or two).
const MAX_SWEEP_DEPTH: usize = 16;
/// Longest number field in our names (a u128 of nanoseconds in hex is 32 digits).
const MAX_FIELD_DIGITS: usize = 32;

/// A name nobody else will pick, in our pattern.
pub(super) fn temporary_name(purpose: &str) -> OsString {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!(
        "{TEMPORARY_PREFIX}{purpose}-{}-{nanos:x}-{count}{TEMPORARY_SUFFIX}",
        std::process::id()
    )
    .into()
}

/// What a name of our pattern says: the purpose and the writer's pid.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct TemporaryName<'a> {
    pub purpose: &'a str,
    pub pid: u32,
}

/// The parts of `name` if it is exactly our pattern, else `None`.
pub(super) fn parse_temporary_name(name: &str) -> Option<TemporaryName<'_>> {
    let inner = name
        .strip_prefix(TEMPORARY_PREFIX)?
        .strip_suffix(TEMPORARY_SUFFIX)?;
    let mut parts = inner.split('-');
    let (purpose, pid, nanos, count) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let digits = |text: &str, radix: u32| {
        !text.is_empty()
            && text.len() <= MAX_FIELD_DIGITS
            && text.chars().all(|c| c.is_digit(radix))
    };
    let well_formed = parts.next().is_none()
        && !purpose.is_empty()
        && purpose.chars().all(|c| c.is_ascii_lowercase())
        && digits(pid, 10)
        && digits(nanos, 16)
        && !nanos.chars().any(|c| c.is_ascii_uppercase())
        && digits(count, 10);
    if !well_formed {
        return None;
    }
    Some(TemporaryName {
        purpose,
        pid: pid.parse().ok()?,
    })
}

fn lock(file: &File, operation: libc::c_int) -> io::Result<()> {
    // SAFETY: flock on a valid, open descriptor; no memory is shared.
    if unsafe { libc::flock(file.as_raw_fd(), operation) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Creates a new temp file for `purpose` in `dir`, locked for as long as the `File` is open
/// (a sweep leaves a locked one alone).
pub(super) fn create_temporary(dir: &OwnedFd, purpose: &str) -> io::Result<(OsString, File)> {
    let name = temporary_name(purpose);
    let file = fs_at::create_new_file_at(dir, &name)?;
    // Blocking: a sweep that caught the file in the instant before this holds it only for a
    // look (our pid runs, the file is new: it stays).
    if let Err(error) = lock(&file, libc::LOCK_EX) {
        let _ = fs_at::unlink_at(dir, &name);
        return Err(error);
    }
    Ok((name, file))
}

/// Whether a process `pid` exists (on this machine); unsure counts as yes.
fn process_runs(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return true;
    };
    if pid <= 0 {
        // kill(0 or less) would mean a process group, not a process.
        return true;
    }
    // SAFETY: signal 0 sends nothing; it only asks whether the process exists.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

fn age(stat: &libc::stat) -> Option<Duration> {
    let modified = UNIX_EPOCH + Duration::from_secs(u64::try_from(stat.st_mtime).ok()?);
    SystemTime::now().duration_since(modified).ok()
}

/// Removes `name` from `dir` if it is a dead writer's temp file of ours; true if it did.
fn remove_if_dead(dir: &OwnedFd, name: &OsStr, pid: u32) -> io::Result<bool> {
    let file = match fs_at::open_file_at(dir, name) {
        Ok(file) => file,
        // Gone meanwhile (renamed into place), or a symlink: not ours to touch.
        Err(error) if matches!(error.raw_os_error(), Some(libc::ENOENT | libc::ELOOP)) => {
            return Ok(false);
        }
        Err(error) => return Err(error),
    };
    let stat = fs_at::stat_fd(file.as_raw_fd())?;
    if !fs_at::is_regular(&stat) {
        return Ok(false);
    }
    match lock(&file, libc::LOCK_EX | libc::LOCK_NB) {
        Ok(()) => {}
        // Its writer is at work.
        Err(error) if error.raw_os_error() == Some(libc::EWOULDBLOCK) => return Ok(false),
        Err(error) => return Err(error),
    }
    let dead = !process_runs(pid) || age(&stat).is_some_and(|age| age > UNLOCKED_STALE_AGE);
    if !dead {
        return Ok(false);
    }
    // The name must still be the inode we locked and looked at.
    let now = fs_at::stat_at(dir, name)?;
    if now.st_dev != stat.st_dev || now.st_ino != stat.st_ino {
        return Ok(false);
    }
    fs_at::unlink_at(dir, name)?;
    Ok(true)
}

/// Sweeps the temp files of dead writers among `names` (the entries of `dir`); how many went.
/// Best effort: a failure is logged and the rest go on.
fn sweep_names(dir: &OwnedFd, folder: &str, names: &[OsString]) -> usize {
    let mut removed = 0;
    for name in names {
        let Some(text) = name.to_str() else { continue };
        let Some(parsed) = parse_temporary_name(text) else {
            continue;
        };
        if !REMOVABLE_PURPOSES.contains(&parsed.purpose) {
            if parsed.purpose == DELETING_PURPOSE {
                tracing::warn!(
                    folder,
                    name = text,
                    "leftover of an interrupted delete; check it by hand"
                );
            }
            continue;
        }
        match remove_if_dead(dir, name, parsed.pid) {
            Ok(true) => {
                removed += 1;
                tracing::info!(
                    folder,
                    name = text,
                    "removed a temp file a killed write left"
                );
            }
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(folder, name = text, %error, "could not sweep a temp file");
            }
        }
    }
    removed
}

/// Sweeps the temp files dead writers left in `dir` (not below it); how many went.
pub(super) fn sweep_dir(dir: &OwnedFd, folder: &str) -> usize {
    match fs_at::read_dir_at(dir) {
        Ok(names) => sweep_names(dir, folder, &names),
        Err(error) => {
            tracing::warn!(folder, %error, "could not list a folder to sweep temp files");
            0
        }
    }
}

fn sweep_below(dir: &OwnedFd, folder: &str, depth: usize) -> usize {
    let names = match fs_at::read_dir_at(dir) {
        Ok(names) => names,
        Err(error) => {
            tracing::warn!(folder, %error, "could not list a folder to sweep temp files");
            return 0;
        }
    };
    let mut removed = sweep_names(dir, folder, &names);
    if depth >= MAX_SWEEP_DEPTH {
        return removed;
    }
    for name in &names {
        let Some(text) = name.to_str() else { continue };
        if is_ignored_name(text) {
            continue;
        }
        let is_dir = fs_at::stat_at(dir, name).is_ok_and(|stat| fs_at::is_dir(&stat));
        // open_dir_at refuses a symlink swapped in since the look.
        if let Some(child) = is_dir.then(|| fs_at::open_dir_at(dir, name).ok()).flatten() {
            removed += sweep_below(&child, &format!("{folder}/{text}"), depth + 1);
        }
    }
    removed
}

/// Sweeps the temp files dead writers left in the folder at `components` and every folder
/// below it; a folder that is not there has none.
pub(super) fn sweep_tree(root: &Root, components: &[String]) -> BackendResult<usize> {
    let mut dir =
        fs_at::open_dir_at(&root.fd, OsStr::new(".")).map_err(|error| io_error("", error))?;
    let mut display = Vec::with_capacity(components.len());
    for component in components {
        let here = format!("{}/{component}", join_path(&display));
        match find_child(&dir, component).map_err(|error| io_error(&here, error))? {
            Some((name, text, stat)) if fs_at::is_dir(&stat) => {
                dir = match fs_at::open_dir_at(&dir, &name) {
                    Ok(dir) => dir,
                    Err(error) if matches!(error.raw_os_error(), Some(libc::ENOENT)) => {
                        return Ok(0);
                    }
                    Err(error) => return Err(io_error(&here, error)),
                };
                display.push(text);
            }
            _ => return Ok(0),
        }
    }
    if !root.contains(&dir) {
        return Ok(0);
    }
    Ok(sweep_below(&dir, &join_path(&display), 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_names_parse_and_look_alikes_do_not() {
        let ours = temporary_name(EXPORT_PURPOSE);
        let parsed = parse_temporary_name(ours.to_str().unwrap()).unwrap();
        assert_eq!(parsed.purpose, EXPORT_PURPOSE);
        assert_eq!(parsed.pid, std::process::id());
        for other in [
            ".~smartimage-export-12-ab-3.tmp.jpg",
            ".~smartimage-export-12-ab.tmp",
            ".~smartimage-export-12-ab-3-4.tmp",
            ".~smartimage-export-x2-ab-3.tmp",
            ".~smartimage-export-12-AB-3.tmp",
            "~smartimage-export-12-ab-3.tmp",
            ".~smartimage-export-12-ab-3.TMP",
            ".~smartimage-Export-12-ab-3.tmp",
            "smartimage-export-12-ab-3.tmp",
            ".~smartimage-export--ab-3.tmp",
        ] {
            assert_eq!(parse_temporary_name(other), None, "{other}");
        }
    }

    #[test]
    fn a_locked_temp_file_is_left_and_a_dead_writers_goes() {
        let dir = tempfile::tempdir().unwrap();
        let fd = fs_at::open_dir_path(dir.path()).unwrap();
        let (live, _held) = create_temporary(&fd, EXPORT_PURPOSE).unwrap();
        // Our pid runs; even unlocked, a fresh file of ours stays.
        let (fresh, file) = create_temporary(&fd, EXPORT_PURPOSE).unwrap();
        drop(file);
        let dead = OsString::from(format!(".~smartimage-export-{}-1f-0.tmp", i32::MAX));
        std::fs::write(dir.path().join(&dead), b"half").unwrap();
        let deleting = OsString::from(format!(".~smartimage-deleting-{}-1f-0.tmp", i32::MAX));
        std::fs::write(dir.path().join(&deleting), b"a customer's file").unwrap();
        // A writer whose pid this machine does not know (another pid namespace) but whose
        // lock is held: at work, so it stays.
        let locked = OsString::from(format!(".~smartimage-export-{}-20-0.tmp", i32::MAX));
        std::fs::write(dir.path().join(&locked), b"being written").unwrap();
        let writer = File::open(dir.path().join(&locked)).unwrap();
        lock(&writer, libc::LOCK_EX).unwrap();
        assert_eq!(sweep_dir(&fd, "/x"), 1);
        assert!(dir.path().join(&locked).exists());
        assert!(dir.path().join(&live).exists());
        assert!(dir.path().join(&fresh).exists());
        assert!(dir.path().join(&deleting).exists());
        assert!(!dir.path().join(&dead).exists());
    }
}
