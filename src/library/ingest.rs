//! Bringing one file into an account: detect, admit with quota reserved, store the blob
//! verified, then commit the row and release the reservation in one transaction. The import
//! engine and direct uploads share `commit_file`; nothing is committed before its blob is
//! durable.

use crate::library::ids::{BatchId, LinkId, ReservationId};
use std::path::{Path, PathBuf};

use crate::library::actions::{Library, event, now};
use crate::library::blobs::PendingBlob;
use crate::library::error::{LibraryError, Result};
use crate::library::formats::{self, Detection};
use crate::library::local_source::{
    LocalUpload, SkipReason, UploadOptions, link_skip, open_source, source_sha256,
};
use crate::library::model::{Account, AccountId, AdminId, FileId, FileRecord, NewFile, Source};
use crate::library::permissions::{Actor, Right};
use crate::library::policy::Plan;
use crate::library::store::audit::{self, AuditEvent};
use crate::library::store::batches;
use crate::library::store::blob_table;
use crate::library::store::files;
use crate::library::store::is_unique_violation;
use crate::library::store::quota::{self, Reservation};

/// The purpose of a direct upload's quota reservations (start-up recovery frees those of an
/// upload that died).
pub const UPLOAD_PURPOSE: &str = "upload";
/// Files a direct upload admits, writes and commits together.
const UPLOAD_BATCH: usize = 256;

impl Library {
    /// Direct upload of one file from this machine's disk, under the defaults (duplicates
    /// skipped, a link not followed). The source file is only read. Idempotent: when the
    /// account already has these bytes, nothing is added and the row is that file's.
    pub fn add_local_file(
        &mut self,
        actor: &Actor,
        account: &str,
        path: &Path,
    ) -> Result<FileRecord> {
        let mut outcome = None;
        self.add_local_files(
            actor,
            account,
            &[path.to_path_buf()],
            UploadOptions::default(),
            |_, result| outcome = Some(result),
        )?;
        match outcome {
            Some(Ok(LocalUpload::Stored(record))) => Ok(*record),
            Some(Ok(LocalUpload::Skipped(SkipReason::Duplicate(id)))) => {
                files::file_by_id(self.store.connection(), id)?
                    .ok_or_else(|| LibraryError::NotFound(format!("file #{id} vanished")))
            }
            Some(Ok(LocalUpload::Skipped(reason))) => Err(LibraryError::InvalidInput(format!(
                "{}: {reason}",
                path.display()
            ))),
            Some(Err(e)) => Err(e),
            None => Err(LibraryError::InvalidInput(format!(
                "{} was not uploaded",
                path.display()
            ))),
        }
    }

    /// Direct upload of many files from this machine's disk, in order, `each` told the outcome
    /// of every file as its batch lands. The sources are only read. Files go in batches: the
    /// admissions in one transaction, the blobs made durable together (`commit_batch`), then
    /// one transaction for their rows, audit rows and released reservations — durable per
    /// batch, as one fsync per file would be, at a fraction of the syncs.
    ///
    /// Unless `options.allow_duplicates`, a file whose bytes the account already has — stored
    /// before, or earlier in this run — is skipped before any quota is reserved for it, so a run
    /// killed after its commit and started again adds nothing twice. Unless
    /// `options.follow_symlinks`, a path that is a symbolic link is skipped unread.
    ///
    /// Errors only if the account or the right is missing (nothing was read) or the library
    /// itself fails; a file's own problem is its outcome.
    pub fn add_local_files(
        &mut self,
        actor: &Actor,
        account: &str,
        paths: &[PathBuf],
        options: UploadOptions,
        mut each: impl FnMut(&Path, Result<LocalUpload>),
    ) -> Result<()> {
        let account = self.account(account)?;
        actor.check(Right::Organise(&account))?;
        let plan = self.plan(&account.plan)?.clone();
        // Until the last row is in, an engine starting meanwhile must not sweep our temp files,
        // nor an orphan blob one of our files turns out to share.
        let _writing = self
            .blobs
            .writing()
            .map_err(|e| LibraryError::io("cannot lock the blob store", self.blobs.root(), e))?;
        let mut rest = paths;
        // One import batch for the whole upload, opened with its first file (`import history`).
        let mut batch = None;
        while !rest.is_empty() {
            let taken =
                self.upload_batch(actor, &account, &plan, rest, options, &mut batch, &mut each)?;
            rest = &rest[taken..];
        }
        Ok(())
    }

    /// Up to [`UPLOAD_BATCH`] files from the front of `paths`; returns how many paths it took.
    /// A batch ends early before a file with the same bytes as one already in it: that file
    /// opens the next batch, where the first one's committed row makes it a duplicate (and if
    /// the first one was refused, it gets its own chance).
    #[allow(clippy::too_many_arguments)]
    fn upload_batch(
        &mut self,
        actor: &Actor,
        account: &Account,
        plan: &Plan,
        paths: &[PathBuf],
        options: UploadOptions,
        import_batch: &mut Option<BatchId>,
        each: &mut impl FnMut(&Path, Result<LocalUpload>),
    ) -> Result<usize> {
        // Read what each file is (only its head, or all of it when it may be a duplicate); a
        // file that cannot be read, or is skipped, is its outcome.
        let mut candidates: Vec<Candidate<'_>> = Vec::with_capacity(paths.len().min(UPLOAD_BATCH));
        let mut taken = 0;
        for path in paths {
            if candidates.len() == UPLOAD_BATCH {
                break;
            }
            match self.gather(account, path, options, &mut candidates)? {
                Gathered::Candidate(candidate) => candidates.push(candidate),
                Gathered::Outcome(outcome) => each(path, outcome),
                Gathered::NextBatch => break,
            }
            taken += 1;
        }
        if candidates.is_empty() {
            // All skipped or unreadable (a re-run): no transaction to pay for.
            return Ok(taken);
        }
        // Admit them all in one transaction; quota is reserved in order, held by this process
        // (freed by whoever needs it should this process die before its rows are in).
        let at = now();
        let holder = self.holder(UPLOAD_PURPOSE)?;
        self.heartbeat()?;
        let decided = self.store.transaction_relaxed(|tx| {
            candidates
                .iter()
                .map(|c| {
                    match quota::reserve(
                        tx,
                        account.id,
                        plan,
                        &c.name,
                        c.size,
                        &c.detection,
                        at,
                        UPLOAD_PURPOSE,
                        Some(holder),
                    ) {
                        Ok(r) => Ok(Ok(r.id)),
                        Err(quota::ReserveError::Refused(e)) => Ok(Err(e)),
                        Err(quota::ReserveError::Sqlite(e)) => Err(e),
                    }
                })
                .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        // Write the admitted blobs (not yet durable nor visible).
        let (mut written, mut pendings, mut released) = (Vec::new(), Vec::new(), Vec::new());
        for (candidate, decision) in candidates.into_iter().zip(decided) {
            let reservation = match decision {
                Ok(id) => id,
                Err(refusal) => {
                    each(candidate.path, Err(LibraryError::Refused(refusal)));
                    continue;
                }
            };
            match self.write_pending_blob(candidate.path, candidate.size, options) {
                Ok(pending) => {
                    written.push((
                        candidate.path,
                        candidate.name,
                        candidate.detection,
                        reservation,
                    ));
                    pendings.push(pending);
                }
                Err(e) => {
                    released.push(reservation);
                    each(candidate.path, Err(e));
                }
            }
        }
        let blobs = match self.store_pinned_blobs(pendings) {
            Ok(blobs) => blobs,
            Err(LibraryError::Io { source: e, .. }) => {
                // None of them is kept: give the quota back and say why, file by file.
                released.extend(written.iter().map(|w| w.3));
                self.release_all(&released)?;
                for (path, ..) in &written {
                    each(
                        path,
                        Err(LibraryError::io("cannot store the file", path, io_copy(&e))),
                    );
                }
                return Ok(taken);
            }
            Err(e) => return Err(e),
        };
        // One durable transaction: every row, its audit row and released reservation.
        let rows: Vec<(NewFile, Detection, ReservationId)> = written
            .iter()
            .zip(&blobs)
            .map(|((_, name, detection, reservation), blob)| {
                let new = NewFile {
                    batch: None,
                    account: account.id,
                    name: name.clone(),
                    size: blob.size,
                    kind: detection
                        .kind()
                        .map_or("unknown", |k| k.as_str())
                        .to_owned(),
                    format: detection.format.clone(),
                    mime: detection.mime.clone(),
                    sha256: blob.sha256.clone(),
                    source: Source::Upload,
                    uploaded_by: Some(actor.admin.id),
                    imported_at: at.unix_timestamp(),
                    dropbox: None,
                };
                (new, detection.clone(), *reservation)
            })
            .collect();
        let origin = BatchOrigin {
            account: account.id,
            source: Source::Upload,
            link: None,
            by: Some(actor.admin.id),
        };
        let (landed, opened) =
            self.store
                .transaction(|tx| -> Result<(Vec<Landed>, Option<BatchId>)> {
                    for reservation in &released {
                        quota::release(tx, *reservation)?;
                    }
                    let mut opened = *import_batch;
                    let landed = rows
                        .iter()
                        .map(|(new, detection, reservation)| {
                            // The last word on duplicates, inside the write lock: another upload may
                            // have stored these bytes since they were looked up, or the file changed
                            // into bytes the account has. Rows of this batch count too.
                            if !options.allow_duplicates
                                && let Some(existing) =
                                    files::file_with_sha256(tx, new.account, &new.sha256)?
                            {
                                quota::release(tx, *reservation)?;
                                // The bytes are the existing file's blob: our pin on them goes.
                                blob_table::unpin(tx, &new.sha256, new.imported_at)?;
                                return Ok(Landed::AlreadyThere(existing));
                            }
                            let new = NewFile {
                                batch: Some(origin.batch(tx, &mut opened, new.imported_at)?),
                                ..new.clone()
                            };
                            insert_committed(tx, Some(actor), &new, detection, *reservation)
                                .map(Landed::New)
                        })
                        .collect::<Result<Vec<_>>>()?;
                    Ok((landed, opened))
                })?;
        *import_batch = opened;
        // What the new files say about themselves, read from their blobs while the bytes are
        // warm; never a reason for the upload to fail.
        let stored: Vec<(FileId, String)> = landed
            .iter()
            .zip(&rows)
            .filter_map(|(landed, (new, ..))| match landed {
                Landed::New(id) => Some((*id, new.sha256.clone())),
                Landed::AlreadyThere(_) => None,
            })
            .collect();
        self.read_metadata_of(&stored);
        for ((path, ..), landed) in written.iter().zip(landed) {
            let outcome = match landed {
                Landed::New(id) => files::file_by_id(self.store.connection(), id)?
                    .map(|record| LocalUpload::Stored(Box::new(record)))
                    .ok_or_else(|| {
                        LibraryError::NotFound(format!("file #{id} vanished after commit"))
                    }),
                Landed::AlreadyThere(id) => Ok(LocalUpload::Skipped(SkipReason::Duplicate(id))),
            };
            each(path, outcome);
        }
        Ok(taken)
    }

    /// One path of an upload: a candidate for the batch, its outcome already (skipped, cannot
    /// be read), or the sign that the batch must end before it (its bytes are in the batch).
    fn gather<'p>(
        &self,
        account: &Account,
        path: &'p Path,
        options: UploadOptions,
        batch: &mut [Candidate<'p>],
    ) -> Result<Gathered<'p>> {
        let follow = options.follow_symlinks;
        let (name, size, detection) = match inspect_local_file(path, follow) {
            Ok(Inspected::File(name, size, detection)) => (name, size, detection),
            Ok(Inspected::Skipped(reason)) => {
                return Ok(Gathered::Outcome(Ok(LocalUpload::Skipped(reason))));
            }
            Err(e) => return Ok(Gathered::Outcome(Err(e))),
        };
        let mut candidate = Candidate {
            path,
            name,
            size,
            detection,
            sha256: None,
        };
        // Same bytes, same size: a file of a size nothing else has is new without reading it
        // twice (the blob writer hashes it anyway), which is the common case.
        if options.allow_duplicates
            || !(batch.iter().any(|c| c.size == size)
                || files::account_has_size(self.store.connection(), account.id, size)?)
        {
            return Ok(Gathered::Candidate(candidate));
        }
        let sha256 = match source_sha256(path, follow) {
            Ok(sha256) => sha256,
            Err(e) => {
                return Ok(Gathered::Outcome(Err(LibraryError::io(
                    "cannot read the file",
                    path,
                    e,
                ))));
            }
        };
        if let Some(existing) =
            files::file_with_sha256(self.store.connection(), account.id, &sha256)?
        {
            return Ok(Gathered::Outcome(Ok(LocalUpload::Skipped(
                SkipReason::Duplicate(existing),
            ))));
        }
        for other in batch.iter_mut().filter(|c| c.size == size) {
            if other.sha256.is_none() {
                // Unreadable now: it fails when it is stored, and is nobody's original.
                other.sha256 = source_sha256(other.path, follow).ok();
            }
            if other.sha256.as_deref() == Some(sha256.as_str()) {
                return Ok(Gathered::NextBatch);
            }
        }
        candidate.sha256 = Some(sha256);
        Ok(Gathered::Candidate(candidate))
    }

    /// The file's bytes in a blob temp file, checked against the size it was admitted with.
    fn write_pending_blob(
        &self,
        path: &Path,
        admitted_size: u64,
        options: UploadOptions,
    ) -> Result<PendingBlob> {
        let cannot_store = |e| LibraryError::io("cannot store the file", path, e);
        let mut source = open_source(path, options.follow_symlinks)
            .map_err(|e| LibraryError::io("cannot read the file", path, e))?;
        let mut writer = self
            .blobs
            .writer_for_size(admitted_size)
            .map_err(cannot_store)?;
        std::io::copy(&mut source, &mut writer)
            .map_err(|e| LibraryError::io("cannot read the file", path, e))?;
        let pending = writer.finish_unsynced().map_err(cannot_store)?;
        if pending.blob().size != admitted_size {
            return Err(LibraryError::InvalidInput(format!(
                "{} changed while it was being read; try again once it is complete",
                path.display()
            )));
        }
        Ok(pending)
    }

    fn release_all(&mut self, reservations: &[ReservationId]) -> Result<()> {
        self.store.transaction(|tx| -> rusqlite::Result<()> {
            for reservation in reservations {
                quota::release(tx, *reservation)?;
            }
            Ok(())
        })?;
        Ok(())
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
        reservation: ReservationId,
        also: impl FnOnce(&rusqlite::Transaction<'_>, FileId) -> Result<()>,
    ) -> Result<FileId> {
        self.store.transaction(|tx| -> Result<FileId> {
            let id = insert_committed(tx, actor, new, detection, reservation)?;
            also(tx, id)?;
            Ok(id)
        })
    }

    /// `commit_file_with` for many files in one transaction (one disk sync for all of them),
    /// each joining the import batch `batch` (opened here with the first file when `None`);
    /// `also` gets each file's index in `rows` and how it landed. With `skip_duplicates`, a
    /// file whose bytes the account already has outside the trash (`files::file_with_sha256`,
    /// the one definition of a duplicate) is not added: its quota and pin are given back and it
    /// lands as [`Committed::AlreadyThere`], audited. Returns the outcomes and the batch.
    pub fn commit_files_with(
        &mut self,
        origin: &BatchOrigin,
        batch: Option<BatchId>,
        skip_duplicates: bool,
        rows: &[(NewFile, Detection, ReservationId)],
        mut also: impl FnMut(&rusqlite::Transaction<'_>, usize, Committed) -> Result<()>,
    ) -> Result<(Vec<Committed>, Option<BatchId>)> {
        self.store.transaction(|tx| -> Result<(Vec<Committed>, Option<BatchId>)> {
            let mut opened = batch;
            let mut out = Vec::with_capacity(rows.len());
            for (index, (new, detection, reservation)) in rows.iter().enumerate() {
                let existing = if skip_duplicates {
                    files::file_with_sha256(tx, new.account, &new.sha256)?
                } else {
                    None
                };
                let committed = match existing {
                    Some(existing) => {
                        quota::release(tx, *reservation)?;
                        // The bytes are the existing file's blob: our pin on them goes.
                        blob_table::unpin(tx, &new.sha256, new.imported_at)?;
                        let detail = format!(
                            "already in the library as file #{existing}; the copy was not added{}",
                            new.dropbox
                                .as_ref()
                                .map(|o| format!(" and is removed from Dropbox ({})", o.path))
                                .unwrap_or_default()
                        );
                        audit::record(
                            tx,
                            &AuditEvent {
                                at: new.imported_at,
                                actor: None,
                                actor_email: IMPORT_ACTOR,
                                action: "file.duplicate-skipped",
                                account: Some(new.account),
                                target: &new.name,
                                detail: Some(&detail),
                            },
                        )?;
                        Committed::AlreadyThere(existing)
                    }
                    None => {
                        let new = NewFile {
                            batch: Some(origin.batch(tx, &mut opened, new.imported_at)?),
                            ..new.clone()
                        };
                        Committed::New(insert_committed(tx, None, &new, detection, *reservation)?)
                    }
                };
                also(tx, index, committed)?;
                out.push(committed);
            }
            Ok((out, opened))
        })
    }

    /// Give back quota held for a file that will not be committed.
    pub fn release(&mut self, reservation: ReservationId) -> Result<()> {
        self.store
            .transaction(|tx| quota::release(tx, reservation).map(|_| ()))?;
        Ok(())
    }
}

/// A file of an upload batch: where it is, what it is, and the hash of its bytes when it had to
/// be read in full to tell whether it is a duplicate.
struct Candidate<'p> {
    path: &'p Path,
    name: String,
    size: u64,
    detection: Detection,
    sha256: Option<String>,
}

enum Gathered<'p> {
    Candidate(Candidate<'p>),
    Outcome(Result<LocalUpload>),
    NextBatch,
}

/// Who a skipped duplicate of an import is in the audit trail.
pub const IMPORT_ACTOR: &str = "smartimage import";

/// How a file of [`Library::commit_files_with`] landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Committed {
    New(FileId),
    /// The account already had these bytes (this file): nothing was added.
    AlreadyThere(FileId),
}

impl Committed {
    /// The file row the committed item stands for.
    pub fn id(self) -> FileId {
        match self {
            Committed::New(id) | Committed::AlreadyThere(id) => id,
        }
    }
}

/// Where an import batch comes from: the batch row is written with its first file.
#[derive(Clone, Debug)]
pub struct BatchOrigin {
    pub account: AccountId,
    pub source: Source,
    pub link: Option<LinkId>,
    pub by: Option<AdminId>,
}

impl BatchOrigin {
    /// The batch `opened`, or a new one (remembered in `opened`).
    fn batch(
        &self,
        tx: &rusqlite::Transaction<'_>,
        opened: &mut Option<BatchId>,
        at: i64,
    ) -> rusqlite::Result<BatchId> {
        if let Some(id) = *opened {
            return Ok(id);
        }
        let id = batches::open(tx, self.account, self.source, self.link, self.by, at)?;
        *opened = Some(id);
        Ok(id)
    }
}

/// How a file of a committed batch landed.
enum Landed {
    New(FileId),
    /// Its bytes were stored meanwhile; nothing was added.
    AlreadyThere(FileId),
}

enum Inspected {
    File(String, u64, Detection),
    Skipped(SkipReason),
}

/// A local file's name, size and format (read from its head), why it is skipped (a link), or
/// why it cannot be uploaded.
fn inspect_local_file(path: &Path, follow: bool) -> Result<Inspected> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| LibraryError::InvalidInput(format!("{} is not a file", path.display())))?;
    let cannot_read = |e| LibraryError::io("cannot read the file", path, e);
    if let Some(reason) = link_skip(path, follow).map_err(cannot_read)? {
        return Ok(Inspected::Skipped(reason));
    }
    let meta = std::fs::metadata(path).map_err(cannot_read)?;
    if !meta.is_file() {
        return Err(LibraryError::InvalidInput(format!(
            "{} is not a regular file",
            path.display()
        )));
    }
    let source = open_source(path, follow).map_err(cannot_read)?;
    let detection = formats::detect_reader(&source, &name).map_err(cannot_read)?;
    Ok(Inspected::File(name, meta.len(), detection))
}

/// `io::Error` is not `Clone`; every file of a failed batch gets the same story.
fn io_copy(e: &std::io::Error) -> std::io::Error {
    std::io::Error::new(e.kind(), e.to_string())
}

/// Inside a transaction: the file row (or, for a Dropbox revision already in the library, the
/// existing row — so a replay duplicates nothing), the reservation released, an audit row.
fn insert_committed(
    tx: &rusqlite::Transaction<'_>,
    actor: Option<&Actor>,
    new: &NewFile,
    detection: &Detection,
    reservation: ReservationId,
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
    // The writer pinned the blob before storing it (`Library::store_pinned_blobs`); the row
    // holds it now.
    blob_table::commit_reference(tx, &new.sha256, new.size, at)?;
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
