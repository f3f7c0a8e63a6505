//! Only one engine per data dir: an exclusive advisory lock on `engine.lock`, which also names
//! its holder so a second engine can say who is in the way.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const LOCK_FILE: &str = "engine.lock";
/// How often an engine in standby asks whether the lock is free: it takes over well within
/// two seconds of the holder letting go, and the question costs one `flock`.
pub const STANDBY_POLL: Duration = Duration::from_millis(250);

/// Held while the engine runs; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct EngineLock {
    _file: File,
    path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another smartimage import engine is running on this library ({holder}); stop it first, or use the console it belongs to"
    )]
    Held { holder: String },
    #[error("cannot use the engine lock {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl EngineLock {
    pub fn acquire(data_dir: &Path) -> Result<EngineLock, LockError> {
        let path = data_dir.join(LOCK_FILE);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        // SAFETY: flock on a valid, open descriptor; no memory is shared.
        let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
        if !locked {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            return Err(LockError::Held {
                holder: if holder.is_empty() {
                    "holder unknown".into()
                } else {
                    holder.to_owned()
                },
            });
        }
        let started = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let user = std::env::var("USER").unwrap_or_else(|_| "unknown user".into());
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        write!(
            file,
            "pid {} of {user}, since {started}",
            std::process::id()
        )
        .map_err(io)?;
        file.flush().map_err(io)?;
        Ok(EngineLock { _file: file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Is an engine running on this library? Asks the lock without taking it for longer than
    /// the question (and without writing a holder into it). No lock file: no engine ever ran.
    pub fn is_held(data_dir: &Path) -> bool {
        let Ok(file) = File::open(data_dir.join(LOCK_FILE)) else {
            return false;
        };
        // SAFETY: flock on a valid, open descriptor; the lock, if taken, goes with the file.
        unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) != 0 }
    }

    /// Returns once no engine holds the lock, asking every `poll` (standby). It only asks:
    /// the caller then starts its engine, which may still lose the race to another one and
    /// wait again. Cancel it by dropping the future.
    pub async fn wait_until_free(data_dir: &Path, poll: Duration) {
        while EngineLock::is_held(data_dir) {
            tokio::time::sleep(poll).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_engine_is_refused_with_the_holder_named() {
        let dir = tempfile::tempdir().unwrap();
        let first = EngineLock::acquire(dir.path()).unwrap();
        let err = EngineLock::acquire(dir.path()).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        drop(first);
        EngineLock::acquire(dir.path()).expect("free again after the holder is gone");
    }

    #[tokio::test]
    async fn standby_waits_while_held_and_returns_soon_after_the_holder_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let holder = EngineLock::acquire(dir.path()).unwrap();
        let waiting = EngineLock::wait_until_free(dir.path(), STANDBY_POLL);
        tokio::pin!(waiting);
        let still_waiting = tokio::time::timeout(STANDBY_POLL * 3, waiting.as_mut())
            .await
            .is_err();
        assert!(still_waiting, "returned while the lock was held");
        drop(holder);
        tokio::time::timeout(Duration::from_secs(2), waiting)
            .await
            .expect("free within two seconds of the holder letting go");
        EngineLock::acquire(dir.path()).expect("and the lock can be taken");
    }
}
