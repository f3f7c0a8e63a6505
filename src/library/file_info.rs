//! A file with its metadata (`files show`), and the metadata recorded once it was read
//! (`library::metadata` reads it; the import engine, uploads and the engine's idle fill-in call
//! these).

use std::path::PathBuf;

use crate::library::actions::{Library, now};
use crate::library::error::{LibraryError, Result};
use crate::library::metadata::{self, Extracted};
use crate::library::model::{FileId, FileRecord};
use crate::library::permissions::{Actor, Right};
use crate::library::store::{file_metadata, files, people};

/// One file as `files show` gives it.
#[derive(Clone, Debug)]
pub struct FileDetails {
    pub record: FileRecord,
    /// `None` until the file's bytes were read for it.
    pub metadata: Option<Extracted>,
    /// Whether the actor may see where it was taken (owners of its account and operators);
    /// when not, `metadata.gps` is `None` (whether it has a position is still said).
    pub location_shown: bool,
}

impl Library {
    /// One file and its metadata, if the actor may see its account; its GPS position only for
    /// its account's owners and operators.
    pub fn file_details(&self, actor: &Actor, id: FileId) -> Result<FileDetails> {
        let c = self.store.connection();
        let missing = || LibraryError::NotFound(format!("there is no file with id {id}"));
        let record = files::file_by_id(c, id)?.ok_or_else(missing)?;
        let account = people::account_by_id(c, record.account)?.ok_or_else(missing)?;
        actor.check(Right::ViewAccount(&account))?;
        let location_shown = actor.may(Right::ViewLocation(&account));
        let mut metadata = file_metadata::get(c, id)?;
        if !location_shown && let Some(m) = metadata.as_mut() {
            m.metadata.gps = None;
        }
        Ok(FileDetails {
            record,
            metadata,
            location_shown,
        })
    }

    /// Record what was read from these files, in one transaction (not waited onto the disk: a
    /// row lost to a power cut is read again by the fill-in).
    pub fn record_metadata(&mut self, read: &[(FileId, Extracted)]) -> Result<()> {
        if read.is_empty() {
            return Ok(());
        }
        let at = now().unix_timestamp();
        self.store
            .transaction_relaxed(|tx| -> rusqlite::Result<()> {
                for (file, extracted) in read {
                    file_metadata::record(tx, *file, extracted, at)?;
                }
                Ok(())
            })?;
        Ok(())
    }

    /// Up to `limit` files after `after` (by id) never read for their metadata, with the path
    /// of their blob.
    pub fn files_without_metadata(
        &self,
        after: FileId,
        limit: usize,
    ) -> Result<Vec<(FileId, Option<PathBuf>)>> {
        let unread = file_metadata::unread_after(self.store.connection(), after, limit)?;
        Ok(unread
            .into_iter()
            .map(|(id, sha256)| (id, self.blobs.path_of(&sha256)))
            .collect())
    }

    /// Read and record the metadata of files just stored (an upload's batch), each within the
    /// time budget; never fails the caller's work — a store error is logged and the engine's
    /// fill-in reads them later.
    pub(crate) fn read_metadata_of(&mut self, stored: &[(FileId, String)]) {
        if !metadata::enabled() || stored.is_empty() {
            return;
        }
        let read: Vec<(FileId, Extracted)> = stored
            .iter()
            .map(|(id, sha256)| (*id, read_blob(self.blobs.path_of(sha256))))
            .collect();
        if let Err(error) = self.record_metadata(&read) {
            tracing::warn!(%error, "could not record file metadata; it is read again later");
        }
    }
}

/// The metadata of a blob at `path` (`None`: the blob store has no such path), within
/// [`metadata::BUDGET`].
pub fn read_blob(path: Option<PathBuf>) -> Extracted {
    match path {
        Some(path) => metadata::extract_file_within(&path, metadata::BUDGET),
        None => Extracted {
            outcome: metadata::Outcome::Missing,
            metadata: Default::default(),
        },
    }
}
