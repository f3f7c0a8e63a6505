//! `smartimage backup --to FILE`: a consistent snapshot of the metadata store, safe while an
//! engine imports (SQLite's online backup API copies one read snapshot). The copy is checked,
//! synced and only then given its name; then the library's epoch moves on, so the copy, once
//! restored, is known to be older than the blob store (`custody`) and `check --adopt` brings
//! back what was imported after it. The blob store needs no such care: its files are
//! immutable and named by their content, so any file-level copy of it is consistent.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

use crate::library::actions::{Library, event, now};
use crate::library::error::{LibraryError, Result};
use crate::library::permissions::{Actor, Right};
use crate::library::store::{audit, identity, inspection};

/// Only its owner may read a backup: it holds every admin, account and file name.
const BACKUP_MODE: u32 = 0o600;
/// A step the database's lock refused is tried again after this.
const BUSY_RETRY: std::time::Duration = std::time::Duration::from_millis(50);

#[derive(Clone, Debug, Serialize)]
pub struct BackupReport {
    pub path: PathBuf,
    pub bytes: u64,
    /// The epoch the copy carries; the library has moved past it.
    pub epoch: u64,
    pub files: u64,
}

impl Library {
    pub fn backup(&mut self, actor: &Actor, to: &Path) -> Result<BackupReport> {
        actor.check(Right::Maintain)?;
        if to.exists() {
            return Err(LibraryError::AlreadyExists(format!(
                "{} already exists; back up to a new file (nothing was written)",
                to.display()
            )));
        }
        let dir = match to.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = to.file_name().ok_or_else(|| {
            LibraryError::InvalidInput(format!("{} is not a file name", to.display()))
        })?;
        let partial = dir.join(format!(
            ".{}.partial-{}",
            name.to_string_lossy(),
            std::process::id()
        ));
        let outcome = self.write_copy(&partial);
        let (epoch, files) = match outcome {
            Ok(found) => found,
            Err(e) => {
                let _ = fs::remove_file(&partial);
                return Err(e);
            }
        };
        let cannot = |e| LibraryError::io("cannot write the backup", to, e);
        fs::rename(&partial, to).map_err(cannot)?;
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(cannot)?;
        let bytes = fs::metadata(to).map_err(cannot)?.len();
        let at = now().unix_timestamp();
        let target = to.display().to_string();
        let detail = format!("{bytes} bytes, {files} file row(s), epoch {epoch}");
        let moved = self.store.transaction(|tx| -> rusqlite::Result<_> {
            audit::record(
                tx,
                &event(actor, at, "library.backup", None, &target, Some(&detail)),
            )?;
            identity::advance_epoch(tx)
        })?;
        self.blobs.record_identity(&(&moved).into()).map_err(|e| {
            LibraryError::io(
                "cannot record the blob store's identity",
                self.blobs.root(),
                e,
            )
        })?;
        Ok(BackupReport {
            path: to.to_path_buf(),
            bytes,
            epoch,
            files,
        })
    }

    /// Copies the database into `partial` (made private first), checks the copy and syncs it;
    /// returns the copy's epoch and file rows.
    fn write_copy(&self, partial: &Path) -> Result<(u64, u64)> {
        let cannot = |e| LibraryError::io("cannot write the backup", partial, e);
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(BACKUP_MODE)
            .open(partial)
            .map_err(cannot)?;
        let mut copy = Connection::open_with_flags(
            partial,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        {
            use rusqlite::backup::StepResult;
            let backup = rusqlite::backup::Backup::new(self.store.connection(), &mut copy)?;
            // Every page in one step: one read snapshot, never restarted by a writer.
            loop {
                match backup.step(-1)? {
                    StepResult::Done => break,
                    StepResult::More => {}
                    _busy_or_locked => std::thread::sleep(BUSY_RETRY),
                }
            }
        }
        let verdict = inspection::quick_check(&copy)?;
        if verdict != "ok" {
            return Err(LibraryError::io(
                "the backup failed its check",
                partial,
                io::Error::other(verdict),
            ));
        }
        // The copy is a plain file, not WAL: it restores by being copied back alone.
        copy.pragma_update(None, "journal_mode", "DELETE")?;
        let epoch = identity::read(&copy)?.epoch;
        let files = inspection::file_count(&copy)?;
        drop(copy);
        File::open(partial)
            .and_then(|f| f.sync_all())
            .map_err(cannot)?;
        Ok((epoch, files))
    }
}
