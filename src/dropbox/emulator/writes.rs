//! The writing routes: upload with its write modes, folder creation,
//! conditional delete and the batch delete job. Every write replaces files by rename, so an open
//! download keeps its revision, and the replaced bytes move into the revisions directory so
//! `rev:` downloads of older revisions keep working.

use std::fs;
use std::os::unix::fs::MetadataExt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::paths::{self, ApiPath, Target};
use super::state::{Entry, FileState, Namespace, Outcome, Refusal, Store, timestamp_of};
use crate::dropbox::content_hash::content_hash;
use crate::dropbox::wire::{
    CreateFolderArg, CreateFolderError, DeleteArg, DeleteBatchJobStatus, DeleteBatchResultEntry,
    DeleteError, FileMetadata, FolderMetadata, LookupError, Metadata, RelocationArg,
    RelocationError, UPLOAD_MAX_BYTES, UploadArg, UploadError, WriteConflictError, WriteError,
    WriteMode,
};

const JOB_ID_PREFIX: &str = "dbjid:";
const UPLOAD_TEMP_PREFIX: &str = "upload-";
/// Appended by the change-during-download fault, so the new revision has other bytes.
const NEW_VERSION_MARKER: &[u8] = b"\n[saved again while downloading]\n";

/// `async.PollError`: the wire module has no type for it because our client only needs to
/// treat any 409 from `delete_batch/check` as "start over".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = ".tag", rename_all = "snake_case")]
pub enum PollError {
    InvalidAsyncJobId,
    InternalError,
}

/// A finished batch: the deletes ran when it was launched; `check` reports `in_progress` a
/// configured number of times first so clients exercise their polling.
#[derive(Clone, Debug)]
pub struct BatchJob {
    account: String,
    entries: Vec<DeleteBatchResultEntry>,
    polls_left: u32,
}

/// Where and how written bytes become a file (`UploadArg` or a session's `CommitInfo`).
pub struct CommitRequest<'a> {
    pub path: &'a str,
    pub mode: &'a WriteMode,
    pub autorename: bool,
    pub client_modified: Option<OffsetDateTime>,
}

/// Bytes already on the emulator's disk, in its temp directory, with their hash.
pub struct WrittenContent {
    pub temp: std::path::PathBuf,
    pub size: u64,
    pub content_hash: String,
}

enum WriteKind {
    Fresh,
    Replace,
    /// The same bytes are already there: Dropbox writes nothing and reports the file.
    Unchanged,
}

fn conflict(conflict: WriteConflictError) -> WriteError {
    WriteError::Conflict { conflict }
}

impl Store {
    /// `client_modified` comes from the same `UploadArg` header; `wire::UploadArg` leaves it
    /// out because our client never sends it.
    pub fn upload(
        &mut self,
        account_id: &str,
        arg: &UploadArg,
        client_modified: Option<OffsetDateTime>,
        content: &[u8],
    ) -> Outcome<FileMetadata, UploadError> {
        if content.len() as u64 > UPLOAD_MAX_BYTES {
            return Err(Refusal::Route(UploadError::PayloadTooLarge));
        }
        let hash = content_hash(content);
        if arg.content_hash.as_ref().is_some_and(|sent| *sent != hash) {
            return Err(Refusal::Route(UploadError::ContentHashMismatch));
        }
        let temp = self.temp_dir.join(self.ids.opaque(UPLOAD_TEMP_PREFIX));
        fs::write(&temp, content)?;
        let written = WrittenContent {
            temp: temp.clone(),
            size: content.len() as u64,
            content_hash: hash,
        };
        let committed = self.commit_written(
            account_id,
            &CommitRequest {
                path: &arg.path,
                mode: &arg.mode,
                autorename: arg.autorename,
                client_modified,
            },
            written,
        );
        // Left behind only when nothing was written (identical content) or the write failed.
        let _ = fs::remove_file(&temp);
        committed.map_err(|refusal| match refusal {
            Refusal::Route(reason) => Refusal::Route(UploadError::Path {
                reason,
                upload_session_id: String::new(),
            }),
            Refusal::BadRequest(message) => Refusal::BadRequest(message),
            Refusal::Io(error) => Refusal::Io(error),
        })
    }

    /// Puts bytes already written to `written.temp` at `request.path` following the write
    /// mode: shared by `files/upload` and the upload-session finishes.
    pub fn commit_written(
        &mut self,
        account_id: &str,
        request: &CommitRequest<'_>,
        written: WrittenContent,
    ) -> Outcome<FileMetadata, WriteError> {
        let hash = written.content_hash;
        let (namespace, ids) = self.namespace(account_id);
        let requested = namespace
            .target_of_write(request.path)
            .map_err(Refusal::Route)?;
        let (path, kind) = pick_target(
            namespace,
            &requested,
            request.autorename,
            |existing| match (&existing.file, request.mode) {
                (None, _) => Err(conflict(WriteConflictError::Folder)),
                (Some(file), _) if file.content_hash == hash => Ok(WriteKind::Unchanged),
                (Some(_), WriteMode::Overwrite) => Ok(WriteKind::Replace),
                (Some(file), WriteMode::Update(rev)) if *rev == file.rev => Ok(WriteKind::Replace),
                (Some(_), _) => Err(conflict(WriteConflictError::File)),
            },
        )
        .map_err(Refusal::Route)?;
        let lower = path.lower();
        if let WriteKind::Unchanged = kind {
            let entry = &namespace.entries[&lower];
            if let Some(file) = &entry.file {
                return Ok(entry.file_metadata(&lower, file));
            }
        }

        namespace.ensure_parents(&path, ids)?;
        let existing = namespace.entries.get(&lower).cloned();
        let display = existing
            .as_ref()
            .map(|entry| entry.display.clone())
            .unwrap_or_else(|| path.display());
        let disk = namespace.disk_path(&display);
        if let Some(old) = &existing {
            retire_live_revision(namespace, &lower, old)?;
        }
        fs::rename(&written.temp, &disk)?;
        let on_disk = fs::metadata(&disk)?;
        let mtime = on_disk.modified()?;
        let entry = Entry {
            display,
            id: existing
                .as_ref()
                .map(|old| old.id.clone())
                .unwrap_or_else(|| ids.file_id()),
            inode: on_disk.ino(),
            file: Some(FileState {
                rev: ids.rev(),
                size: written.size,
                content_hash: hash,
                modified: timestamp_of(mtime),
                client_modified: request.client_modified,
                mtime,
            }),
        };
        let metadata = match &entry.file {
            Some(file) => entry.file_metadata(&lower, file),
            None => unreachable!("an upload writes a file"),
        };
        if existing.is_some() {
            namespace.entries.insert(lower.clone(), entry);
            namespace.note_change(&lower);
        } else {
            namespace.insert(lower, entry);
        }
        Ok(metadata)
    }

    /// Fault support: the file at `lower` is saved again with a few more bytes, as its owner
    /// might do while we download it.
    pub fn save_new_version(
        &mut self,
        account_id: &str,
        lower: &str,
    ) -> Outcome<FileMetadata, UploadError> {
        let (namespace, _) = self.namespace(account_id);
        let Some(entry) = namespace.entries.get(lower) else {
            return Err(Refusal::Route(UploadError::Other));
        };
        let mut bytes = fs::read(namespace.disk_path(&entry.display))?;
        bytes.extend_from_slice(NEW_VERSION_MARKER);
        let arg = UploadArg {
            path: entry.display.clone(),
            mode: WriteMode::Overwrite,
            autorename: false,
            mute: false,
            strict_conflict: false,
            content_hash: None,
        };
        self.upload(account_id, &arg, None, &bytes)
    }

    pub fn create_folder(
        &mut self,
        account_id: &str,
        arg: &CreateFolderArg,
    ) -> Outcome<FolderMetadata, CreateFolderError> {
        let (namespace, ids) = self.namespace(account_id);
        let refuse = |path| Refusal::Route(CreateFolderError::Path { path });
        let requested = namespace.target_of_write(&arg.path).map_err(refuse)?;
        let (path, _) = pick_target(namespace, &requested, arg.autorename, |existing| {
            Err::<WriteKind, _>(conflict(if existing.is_folder() {
                WriteConflictError::Folder
            } else {
                WriteConflictError::File
            }))
        })
        .map_err(refuse)?;
        namespace.ensure_parents(&path, ids)?;
        let display = path.display();
        let disk = namespace.disk_path(&display);
        fs::create_dir(&disk)?;
        let entry = Entry {
            display,
            id: ids.file_id(),
            inode: fs::metadata(&disk)?.ino(),
            file: None,
        };
        let lower = path.lower();
        let metadata = entry.folder_metadata(&lower);
        namespace.insert(lower, entry);
        Ok(metadata)
    }

    /// `files/move_v2`: moves a file or folder tree on disk, then rescans. Ids survive because
    /// the rescan matches entries by inode, as for a move made behind the emulator's back.
    /// Never replaces: an entry already at `to_path` is a `to/conflict`.
    pub fn move_entry(
        &mut self,
        account_id: &str,
        arg: &RelocationArg,
    ) -> Outcome<Metadata, RelocationError> {
        let (namespace, ids) = self.namespace(account_id);
        let from_lookup = |from_lookup| Refusal::Route(RelocationError::FromLookup { from_lookup });
        let target = paths::parse_target(&arg.from_path).map_err(|reason| {
            from_lookup(LookupError::MalformedPath {
                malformed_path: Some(reason),
            })
        })?;
        let from_lower = namespace.lookup(&target).map_err(from_lookup)?;
        let to = namespace
            .target_of_write(&arg.to_path)
            .map_err(|to| Refusal::Route(RelocationError::To { to }))?;
        let to_lower = to.lower();
        if to_lower.starts_with(&format!("{from_lower}/")) {
            return Err(Refusal::Route(RelocationError::CantMoveFolderIntoItself));
        }
        if let Some(existing) = namespace
            .entries
            .get(&to_lower)
            .filter(|_| to_lower != from_lower)
        {
            let kind = if existing.is_folder() {
                WriteConflictError::Folder
            } else {
                WriteConflictError::File
            };
            return Err(Refusal::Route(RelocationError::To { to: conflict(kind) }));
        }
        namespace.ensure_parents(&to, ids)?;
        let from_display = namespace.entries[&from_lower].display.clone();
        fs::rename(
            namespace.disk_path(&from_display),
            namespace.disk_path(&to.display()),
        )?;
        self.rescan(account_id)?;
        let (namespace, _) = self.namespace(account_id);
        match namespace.entries.get(&to_lower) {
            Some(entry) => Ok(entry.metadata(&to_lower)),
            None => Err(Refusal::Io(std::io::Error::other(
                "moved entry vanished on rescan",
            ))),
        }
    }

    /// Deletes a file or a folder tree. With `parent_rev`, only that exact revision of a file
    /// is deleted; a mismatch (or `parent_rev` on a folder) is refused as
    /// `path_write/conflict/file` (or `…/folder`). Dropbox does not document the tag it uses
    ///, so clients must treat any 409 as "not deleted".
    pub fn delete(&mut self, account_id: &str, arg: &DeleteArg) -> Outcome<Metadata, DeleteError> {
        let (namespace, _) = self.namespace(account_id);
        let lookup = |path_lookup| Refusal::Route(DeleteError::PathLookup { path_lookup });
        let target = match paths::parse_target(&arg.path) {
            Ok(target @ (Target::Path(_) | Target::Id(_))) => target,
            Ok(_) => {
                return Err(lookup(LookupError::MalformedPath {
                    malformed_path: Some("not a deletable path".into()),
                }));
            }
            Err(reason) => {
                return Err(lookup(LookupError::MalformedPath {
                    malformed_path: Some(reason),
                }));
            }
        };
        let lower = namespace.lookup(&target).map_err(lookup)?;
        let entry = namespace.entries[&lower].clone();
        if let Some(parent_rev) = &arg.parent_rev {
            let matches = entry
                .file
                .as_ref()
                .is_some_and(|file| file.rev == *parent_rev);
            if !matches {
                return Err(Refusal::Route(DeleteError::PathWrite {
                    path_write: conflict(if entry.is_folder() {
                        WriteConflictError::Folder
                    } else {
                        WriteConflictError::File
                    }),
                }));
            }
        }
        let metadata = entry.metadata(&lower);
        for key in namespace.subtree(&lower) {
            let doomed = namespace.entries[&key].clone();
            if doomed.file.is_some() {
                retire_live_revision(namespace, &key, &doomed)?;
            }
            namespace.remove(&key);
        }
        if entry.is_folder() {
            fs::remove_dir_all(namespace.disk_path(&entry.display))?;
        }
        Ok(metadata)
    }

    /// Runs the whole batch now and files the per-entry results under a new job id. A
    /// `contended` batch deletes nothing: every entry fails with `too_many_write_operations`.
    pub fn delete_batch(
        &mut self,
        account_id: &str,
        entries: &[DeleteArg],
        contended: bool,
    ) -> String {
        let results = entries
            .iter()
            .map(|arg| match self.delete_unless(contended, account_id, arg) {
                Ok(metadata) => DeleteBatchResultEntry::Success { metadata },
                Err(Refusal::Route(failure)) => DeleteBatchResultEntry::Failure { failure },
                Err(Refusal::BadRequest(reason)) => DeleteBatchResultEntry::Failure {
                    failure: DeleteError::PathLookup {
                        path_lookup: LookupError::MalformedPath {
                            malformed_path: Some(reason),
                        },
                    },
                },
                Err(Refusal::Io(_)) => DeleteBatchResultEntry::Failure {
                    failure: DeleteError::Other,
                },
            })
            .collect();
        let job_id = self.ids.opaque(JOB_ID_PREFIX);
        self.jobs.insert(
            job_id.clone(),
            BatchJob {
                account: account_id.to_owned(),
                entries: results,
                polls_left: self.batch_in_progress_polls,
            },
        );
        job_id
    }

    fn delete_unless(
        &mut self,
        contended: bool,
        account_id: &str,
        arg: &DeleteArg,
    ) -> Outcome<Metadata, DeleteError> {
        if contended {
            return Err(Refusal::Route(DeleteError::TooManyWriteOperations));
        }
        self.delete(account_id, arg)
    }

    pub fn delete_batch_check(
        &mut self,
        account_id: &str,
        job_id: &str,
    ) -> Result<DeleteBatchJobStatus, PollError> {
        let job = self
            .jobs
            .get_mut(job_id)
            .filter(|job| job.account == account_id)
            .ok_or(PollError::InvalidAsyncJobId)?;
        if job.polls_left > 0 {
            job.polls_left -= 1;
            return Ok(DeleteBatchJobStatus::InProgress);
        }
        Ok(DeleteBatchJobStatus::Complete {
            entries: job.entries.clone(),
        })
    }
}

/// Finds where a write lands: the requested path, or with `autorename` the first free
/// `name (n).ext`. `on_existing` decides what an occupied path means for this write.
fn pick_target(
    namespace: &Namespace,
    requested: &ApiPath,
    autorename: bool,
    on_existing: impl Fn(&Entry) -> Result<WriteKind, WriteError>,
) -> Result<(ApiPath, WriteKind), WriteError> {
    let mut path = requested.clone();
    let mut attempt = 0;
    loop {
        let Some(existing) = namespace.entries.get(&path.lower()) else {
            return Ok((path, WriteKind::Fresh));
        };
        match on_existing(existing) {
            Ok(kind) => return Ok((path, kind)),
            Err(error) if !autorename => return Err(error),
            Err(_) => {
                attempt += 1;
                path = requested.with_name(paths::autorename_candidate(requested.name(), attempt));
            }
        }
    }
}

/// Moves the live bytes of `entry` into the revisions directory so `rev:` keeps serving them.
fn retire_live_revision(
    namespace: &mut Namespace,
    lower: &str,
    entry: &Entry,
) -> std::io::Result<()> {
    let Some(file) = &entry.file else {
        return Ok(());
    };
    let kept = namespace.revisions_dir.join(&file.rev);
    fs::rename(namespace.disk_path(&entry.display), &kept)?;
    let metadata = entry.file_metadata(lower, file);
    namespace.revisions.insert(
        file.rev.clone(),
        super::state::Revision {
            metadata,
            stored: Some(kept),
        },
    );
    Ok(())
}
