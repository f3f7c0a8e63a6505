//! Bringing one file into an account: detect, admit with quota reserved, store the blob
//! verified, then commit the row and release the reservation in one transaction. The import
//! engine and direct uploads share `commit_file`; nothing is committed before its blob is
//! durable.

use std::path::Path;

use crate::library::actions::{Library, event, now};
use crate::library::error::{LibraryError, Result};
use crate::library::formats::{self, Detection};
use crate::library::model::{FileId, FileRecord, NewFile, Source};
use crate::library::permissions::{Actor, Right};
use crate::library::store::audit;
use crate::library::store::files;
use crate::library::store::is_unique_violation;
use crate::library::store::quota::{self, Reservation};

impl Library {
    /// Direct upload of one file from this machine's disk. The source file is only read.
    pub fn add_local_file(
        &mut self,
        actor: &Actor,
        account: &str,
        path: &Path,
    ) -> Result<FileRecord> {
        let account = self.account(account)?;
        actor.check(Right::Organise(&account))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| {
                LibraryError::InvalidInput(format!("{} is not a file", path.display()))
            })?;
        let meta = std::fs::metadata(path)
            .map_err(|e| LibraryError::io("cannot read the file", path, e))?;
        if !meta.is_file() {
            return Err(LibraryError::InvalidInput(format!(
                "{} is not a regular file",
                path.display()
            )));
        }
        let detection = formats::detect_file(path, &name)
            .map_err(|e| LibraryError::io("cannot read the file", path, e))?;
        let plan = self.plan(&account.plan)?.clone();
        let at = now();
        let reservation = self
            .store
            .reserve(
                account.id,
                &plan,
                &name,
                meta.len(),
                &detection,
                at,
                "upload",
            )
            .map_err(|e| match e {
                quota::ReserveError::Refused(refusal) => LibraryError::Refused(refusal),
                quota::ReserveError::Sqlite(e) => e.into(),
            })?;
        let stored = self.blobs.put_file(path);
        let blob = match stored {
            Ok(blob) if blob.size == meta.len() => blob,
            outcome => {
                self.release(reservation.id)?;
                return Err(match outcome {
                    Ok(_) => LibraryError::InvalidInput(format!(
                        "{} changed while it was being read; try again once it is complete",
                        path.display()
                    )),
                    Err(e) => LibraryError::io("cannot store the file", path, e),
                });
            }
        };
        let new = NewFile {
            account: account.id,
            name,
            size: blob.size,
            kind: detection
                .kind()
                .map_or("unknown", |k| k.as_str())
                .to_owned(),
            format: detection.format.clone(),
            mime: detection.mime.clone(),
            sha256: blob.sha256,
            source: Source::Upload,
            uploaded_by: Some(actor.admin.id),
            imported_at: at.unix_timestamp(),
            dropbox: None,
        };
        let id = self.commit_file(Some(actor), &new, &detection, &reservation)?;
        files::file_by_id(self.store.connection(), id)?
            .ok_or_else(|| LibraryError::NotFound(format!("file #{id} vanished after commit")))
    }

    /// One transaction: the file row, the reservation released, an audit row.
    pub fn commit_file(
        &mut self,
        actor: Option<&Actor>,
        new: &NewFile,
        detection: &Detection,
        reservation: &Reservation,
    ) -> Result<FileId> {
        self.commit_file_with(actor, new, detection, reservation.id, |_, _| Ok(()))
    }

    /// `commit_file`, plus `also` in the same transaction (the import engine marks its
    /// journal item committed there). A Dropbox revision that is already in the library is not
    /// inserted twice: its existing row is used, so a replay after a crash duplicates nothing.
    pub fn commit_file_with(
        &mut self,
        actor: Option<&Actor>,
        new: &NewFile,
        detection: &Detection,
        reservation: i64,
        also: impl FnOnce(&rusqlite::Transaction<'_>, FileId) -> Result<()>,
    ) -> Result<FileId> {
        self.store.transaction(|tx| -> Result<FileId> {
            let id = insert_committed(tx, actor, new, detection, reservation)?;
            also(tx, id)?;
            Ok(id)
        })
    }

    /// `commit_file_with` for many files in one transaction (one disk sync for all of them);
    /// `also` gets each file's index in `rows` and its id.
    pub fn commit_files_with(
        &mut self,
        rows: &[(NewFile, Detection, i64)],
        mut also: impl FnMut(&rusqlite::Transaction<'_>, usize, FileId) -> Result<()>,
    ) -> Result<Vec<FileId>> {
        self.store.transaction(|tx| -> Result<Vec<FileId>> {
            let mut ids = Vec::with_capacity(rows.len());
            for (index, (new, detection, reservation)) in rows.iter().enumerate() {
                let id = insert_committed(tx, None, new, detection, *reservation)?;
                also(tx, index, id)?;
                ids.push(id);
            }
            Ok(ids)
        })
    }

    /// Give back quota held for a file that will not be committed.
    pub fn release(&mut self, reservation: i64) -> Result<()> {
        self.store
            .transaction(|tx| quota::release(tx, reservation).map(|_| ()))?;
        Ok(())
    }
}

/// Inside a transaction: the file row (or, for a Dropbox revision already in the library, the
/// existing row — so a replay duplicates nothing), the reservation released, an audit row.
fn insert_committed(
    tx: &rusqlite::Transaction<'_>,
    actor: Option<&Actor>,
    new: &NewFile,
    detection: &Detection,
    reservation: i64,
) -> Result<FileId> {
    let at = new.imported_at;
    let month = detection.is_video().then(|| {
        quota::video_month_key(
            time::OffsetDateTime::from_unix_timestamp(at).unwrap_or_else(|_| now()),
        )
    });
    let id = match files::insert_file(tx, new, month.as_deref()) {
        Ok(id) => id,
        Err(e) if is_unique_violation(&e) && new.dropbox.is_some() => {
            let origin = new.dropbox.as_ref().expect("checked");
            files::file_by_dropbox_revision(tx, origin.link, &origin.id, &origin.rev)?
                .ok_or(LibraryError::Store(e.into()))?
        }
        Err(e) => return Err(e.into()),
    };
    quota::release(tx, reservation)?;
    if let Some(actor) = actor {
        let detail = format!("{} bytes, {}", new.size, new.source.label());
        audit::record(
            tx,
            &event(
                actor,
                at,
                "file.add",
                Some(new.account),
                &new.name,
                Some(&detail),
            ),
        )?;
    }
    Ok(id)
}
