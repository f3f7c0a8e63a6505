//! Only one engine per data dir: an exclusive advisory lock on `engine.lock`, which also names
//! its holder so a second engine can say who is in the way.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

pub const LOCK_FILE: &str = "engine.lock";

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
}
