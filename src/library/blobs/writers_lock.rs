//! Who may clean the store up while others write: `tmp/writers.lock`.
//!
//! Crash recovery deletes temp files and blobs no row references. Both are only safe while
//! nobody is between writing a blob and committing its row: a live writer's temp file looks
//! exactly like a dead one's, and an upload that found its bytes already stored (an orphan
//! from an old crash) is about to reference that very blob. The import engine recovers before
//! its own workers start and only one engine runs per library, but a direct upload (the CLI's
//! `upload`, or the console's) may run in any process at any time. So a writer outside the
//! engine holds this lock shared for as long as it may have blobs without rows, and recovery
//! cleans only if it can take it exclusively at once — else it leaves the clean-up to the next
//! start rather than wait on an upload of unknown length.
//!
//! `flock` locks belong to an open file, so two holders in one process exclude each other as
//! two processes do, and a process that dies drops its lock with its files.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

use super::IoContext;

/// The lock's file name inside the temp area (not a temp file: sweeps leave it).
pub(super) const WRITERS_LOCK: &str = "writers.lock";

/// Held while alive; released on drop (or when the process dies).
#[derive(Debug)]
pub struct WritersLock {
    _file: File,
}

/// Shared, waiting for a clean-up in progress to end (it takes seconds, not minutes).
pub(super) fn share(path: &Path) -> io::Result<WritersLock> {
    if let Some(held) = lock(path, libc::LOCK_SH | libc::LOCK_NB)? {
        return Ok(held);
    }
    // The log says why an upload sits still (a console suspended mid-recovery holds it on).
    tracing::info!(lock = %path.display(), "waiting for crash recovery to finish");
    lock(path, libc::LOCK_SH)?
        .ok_or_else(|| io::Error::other(format!("{} could not be locked", path.display())))
}

/// Exclusive, or `None` at once when a writer holds it.
pub(super) fn try_exclusive(path: &Path) -> io::Result<Option<WritersLock>> {
    lock(path, libc::LOCK_EX | libc::LOCK_NB)
}

fn lock(path: &Path, operation: libc::c_int) -> io::Result<Option<WritersLock>> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .context("opening", path)?;
    loop {
        // SAFETY: flock on a valid, open descriptor; no memory is shared.
        if unsafe { libc::flock(file.as_raw_fd(), operation) } == 0 {
            return Ok(Some(WritersLock { _file: file }));
        }
        let e = io::Error::last_os_error();
        match e.kind() {
            io::ErrorKind::Interrupted => continue,
            io::ErrorKind::WouldBlock => return Ok(None),
            _ => return Err(e).context("locking", path),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writers_share_it_and_keep_the_clean_up_out_until_the_last_one_goes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(WRITERS_LOCK);
        let first = share(&path).unwrap();
        let second = share(&path).unwrap();
        assert!(try_exclusive(&path).unwrap().is_none());
        drop(first);
        assert!(try_exclusive(&path).unwrap().is_none());
        drop(second);
        let cleaning = try_exclusive(&path).unwrap().expect("no writer left");
        // While it cleans, a second clean-up is refused and a writer would wait.
        assert!(try_exclusive(&path).unwrap().is_none());
        drop(cleaning);
        assert!(try_exclusive(&path).unwrap().is_some());
    }
}
