//! The account folder's one error report, `Smartimage upload errors.txt`, brought up to date
//! after every pass: it lists exactly the link's failed files still in Dropbox, is rewritten
//! when that list changes (or the report there is not what we wrote) and deleted when nothing
//! fails; reports of earlier versions are removed once it is in place. A report is replaced
//! only at the revision just read (`WriteMode::Update`) and deleted only at it (`parent_rev`),
//! so a customer's edit made meanwhile is never overwritten unseen — it is replaced at the next
//! pass, never merged.

use crate::library::ids::ItemId;
use std::collections::BTreeMap;

use time::OffsetDateTime;
use tokio::io::AsyncReadExt;

use crate::dropbox::backend::{BackendError, DropboxBackend};
use crate::dropbox::content_hash::content_hash;
use crate::dropbox::wire::{DeleteArg, FileMetadata, Metadata, WriteMode};
use crate::import::events::EngineEvent;
use crate::import::pass::{PassContext, PassError};
use crate::import::report::{
    ErrorReport, FailedFile, REPORT_FILE_NAME, SIGNATURE_WINDOW, is_current_report_name,
    is_report_content, is_report_name,
};
use crate::library::error::LibraryError;
use crate::library::formats;
use crate::library::model::Account;
use crate::library::notifications::{self, FailedEntry, Notice};
use crate::library::policy::{ErrorKind, Plan};
use crate::library::store::import_items::{self as journal, ImportItem, ItemState};
use crate::library::store::links::{self, LinkRecord, ReportRecord};

/// Files bigger than this are never taken for one of our reports (a report of tens of thousands
/// of failures stays far below it), so no big file is downloaded just to look at its start.
pub const MAX_REPORT_BYTES: u64 = 16 * 1024 * 1024;

/// Where the current report stands after this pass's look at it.
enum Current {
    /// It lists exactly what fails now (or nothing fails and there is none).
    InPlace,
    /// The customer changed it between our look and our write: next pass.
    Changing,
}

/// Make the folder's report match the failures; returns whether a report was written. Dropbox
/// trouble here is reported and left for the next pass: the files' own state is already safe.
pub(super) async fn bring_up_to_date<B: DropboxBackend>(
    cx: &PassContext,
    link: &LinkRecord,
    account: &Account,
    plan: &Plan,
    backend: &B,
    seen: Vec<FileMetadata>,
) -> Result<bool, PassError> {
    let link_id = link.id;
    let (failing, open) = cx
        .db(move |lib| {
            let c = lib.store().connection();
            Ok((
                journal::items_in_state(c, link_id, ItemState::Failed)?,
                links::open_reports(c, link_id)?,
            ))
        })
        .await?;
    if failing.is_empty() && open.is_empty() && seen.is_empty() {
        return Ok(false);
    }
    let path = format!("{}/{REPORT_FILE_NAME}", link.folder_path);
    let outcome = async {
        let (current, written) =
            current_report(cx, link, account, plan, backend, &failing, &open, &path).await?;
        if let Current::InPlace = current {
            remove_earlier_reports(cx, link, backend, &open, seen, &path).await?;
        }
        Ok::<_, PassError>(written)
    }
    .await;
    match outcome {
        Ok(written) => Ok(written),
        Err(PassError::Dropbox(e)) => {
            tracing::warn!(link = link.id.get(), error = %e, "could not update the error report; will retry next pass");
            cx.emit(EngineEvent::LinkError {
                link: link.id,
                account: account.name.clone(),
                detail: format!("error report not updated: {e}"),
            });
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

#[allow(clippy::too_many_arguments)]
async fn current_report<B: DropboxBackend>(
    cx: &PassContext,
    link: &LinkRecord,
    account: &Account,
    plan: &Plan,
    backend: &B,
    failing: &[ImportItem],
    open: &[ReportRecord],
    path: &str,
) -> Result<(Current, bool), PassError> {
    let existing = match backend.get_metadata(path).await? {
        None => None,
        Some(Metadata::File(file)) => Some(file),
        Some(_) => {
            return Err(PassError::Dropbox(BackendError::Conflict {
                summary: format!("{path:?} is a folder, where the error report goes"),
            }));
        }
    };
    // The report we last wrote there, if it is still exactly that revision.
    let ours_as_written = existing.as_ref().and_then(|file| {
        open.iter()
            .rev()
            .find(|r| same_path(&r.dropbox_path, path) && r.rev.as_deref() == Some(&file.rev))
    });
    if failing.is_empty() {
        let Some(file) = existing else {
            retire(cx, link, vec![path.to_owned()]).await?;
            return Ok((Current::InPlace, false));
        };
        let ours = ours_as_written.is_some()
            || known_report_id(cx, &file.id).await?
            || is_signed_report(backend, path, &file.rev, file.size).await;
        // A customer's own file under our name (no signature, not written by us) stays.
        if ours {
            match delete_exactly(backend, path, &file.rev).await? {
                Deleted::Yes => cx.emit(EngineEvent::ReportRemoved {
                    link: link.id,
                    account: account.name.clone(),
                    path: file.path_display.clone().unwrap_or_else(|| path.to_owned()),
                }),
                Deleted::Changed => return Ok((Current::Changing, false)),
            }
        }
        retire(cx, link, vec![path.to_owned()]).await?;
        return Ok((Current::InPlace, false));
    }

    if let (Some(file), Some(written)) = (&existing, ours_as_written) {
        let text = render(account, plan, failing, written.created_at);
        if file_content_hash(backend, path, file).await? == Some(content_hash(text.as_bytes())) {
            mark_listed(cx, failing, written.id).await?;
            return Ok((Current::InPlace, false));
        }
    }

    let at = OffsetDateTime::now_utc().unix_timestamp();
    let text = render(account, plan, failing, at);
    // Durable before the upload: a crash between the upload and its record below must never
    // let a pass import our own report (its name keeps the scanner off it too).
    let (link_id, intent_path) = (link.id, path.to_owned());
    let report_id = cx
        .db(move |lib| {
            lib.store_mut()
                .transaction(|tx| -> Result<i64, LibraryError> {
                    Ok(links::insert_report_intent(tx, link_id, &intent_path, at)?)
                })
        })
        .await?;
    // Over exactly the revision just looked at; never beside it under another name.
    let mode = existing
        .as_ref()
        .map_or(WriteMode::Add, |file| WriteMode::Update(file.rev.clone()));
    let written = match backend.upload(path, text.into_bytes(), mode, false).await {
        Ok(written) => written,
        Err(BackendError::Conflict { summary }) => {
            tracing::info!(link = link.id.get(), %summary, "the error report changed meanwhile; next pass");
            return Ok((Current::Changing, false));
        }
        Err(e) => return Err(e.into()),
    };
    let written_path = written
        .path_display
        .clone()
        .unwrap_or_else(|| path.to_owned());
    let ids: Vec<ItemId> = failing.iter().map(|i| i.id).collect();
    let (stored_path, current_path) = (written_path.clone(), path.to_owned());
    // The owners hear of a changed report in the transaction that records it (held back when
    // one went out less than `min_interval` ago).
    let digest = cx
        .notify
        .enabled()
        .then(|| digest_notice(account, plan, failing, at));
    let queueing = cx.notify.clone();
    cx.db(move |lib| {
        lib.store_mut()
            .transaction(|tx| -> Result<(), LibraryError> {
                links::complete_report(tx, report_id, &stored_path, &written.id, &written.rev)?;
                links::retire_reports_at(tx, link_id, &current_path, Some(report_id))?;
                journal::set_report(tx, &ids, report_id)?;
                if let Some(notice) = &digest {
                    notifications::queue_digest(tx, &queueing, notice)?;
                }
                Ok(())
            })
    })
    .await?;
    cx.emit(EngineEvent::ReportWritten {
        link: link.id,
        account: account.name.clone(),
        path: written_path,
        failures: failing.len() as u64,
    });
    Ok((Current::InPlace, true))
}

/// Reports of earlier versions (`Smartimage upload errors <UTC time>.txt`) and copies Dropbox
/// numbered, at the top of the folder: deleted when they are ours — written by us (their id),
/// or carrying our signature or an earlier version's first lines — at the revision seen.
async fn remove_earlier_reports<B: DropboxBackend>(
    cx: &PassContext,
    link: &LinkRecord,
    backend: &B,
    open: &[ReportRecord],
    seen: Vec<FileMetadata>,
    current: &str,
) -> Result<(), PassError> {
    let folder_lower = link.folder_path.to_lowercase();
    let mut candidates: BTreeMap<String, (String, Option<FileMetadata>)> = BTreeMap::new();
    for record in open {
        let lower = record.dropbox_path.to_lowercase();
        let name = lower
            .strip_prefix(&format!("{folder_lower}/"))
            .unwrap_or("");
        if !same_path(&lower, current) && !name.contains('/') && is_report_name(name) {
            candidates.insert(lower, (record.dropbox_path.clone(), None));
        }
    }
    for file in seen {
        if is_current_report_name(&file.name) {
            continue;
        }
        let display = file
            .path_display
            .clone()
            .or_else(|| file.path_lower.clone())
            .unwrap_or_default();
        candidates.insert(display.to_lowercase(), (display, Some(file)));
    }
    let mut deletes = Vec::new();
    let mut done = Vec::new();
    for (_, (display, file)) in candidates {
        let file = match file {
            Some(file) => file,
            None => match backend.get_metadata(&display).await? {
                Some(Metadata::File(file)) => file,
                _ => {
                    done.push(display);
                    continue;
                }
            },
        };
        let ours = known_report_id(cx, &file.id).await?
            || is_signed_report(backend, &display, &file.rev, file.size).await;
        if ours {
            deletes.push(DeleteArg {
                path: display,
                parent_rev: Some(file.rev),
            });
        } else {
            // The customer's own file with a name like ours: never imported, never deleted.
            done.push(display);
        }
    }
    if !deletes.is_empty() {
        let results = backend.delete_batch(deletes.clone()).await?;
        for (entry, result) in deletes.into_iter().zip(results) {
            match result {
                Ok(_) | Err(BackendError::NotFound { .. }) => done.push(entry.path),
                // Changed since we looked: looked at again when it shows up in a listing.
                Err(e) => {
                    tracing::info!(path = entry.path, error = %e, "earlier report not deleted")
                }
            }
        }
    }
    retire(cx, link, done).await
}

/// True when the file at `path` (at revision `rev`) is one of our reports by its content: its
/// signature, or an earlier version's first lines. Only files that could be one are read, and
/// only their start; any trouble reading means "not known to be ours".
pub(super) async fn is_signed_report<B: DropboxBackend>(
    backend: &B,
    path: &str,
    rev: &str,
    size: u64,
) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    if !could_be_a_report(name, size) {
        return false;
    }
    match read_start(backend, path, rev, SIGNATURE_WINDOW as u64).await {
        Ok(Some(head)) => is_report_content(&head),
        Ok(None) => false,
        Err(e) => {
            tracing::info!(path, error = %e, "could not read a possible report");
            false
        }
    }
}

/// A text file (by its name, or one without an extension) small enough to be a report.
fn could_be_a_report(name: &str, size: u64) -> bool {
    size <= MAX_REPORT_BYTES
        && (!name.contains('.') || formats::detect_by_name(name).mime.starts_with("text/"))
}

/// Up to `limit` bytes from the start of `path`, if it is still at `rev`.
async fn read_start<B: DropboxBackend>(
    backend: &B,
    path: &str,
    rev: &str,
    limit: u64,
) -> Result<Option<Vec<u8>>, BackendError> {
    let download = backend.download(path).await?;
    if download.metadata.rev != rev {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    download.body.take(limit).read_to_end(&mut bytes).await?;
    Ok(Some(bytes))
}

/// Dropbox's content hash of `file`: from its metadata, or (a synced folder has none) from its
/// bytes. `None` when it changed meanwhile or is too big to be a report.
async fn file_content_hash<B: DropboxBackend>(
    backend: &B,
    path: &str,
    file: &FileMetadata,
) -> Result<Option<String>, PassError> {
    if let Some(hash) = &file.content_hash {
        return Ok(Some(hash.clone()));
    }
    if file.size > MAX_REPORT_BYTES {
        return Ok(None);
    }
    match read_start(backend, path, &file.rev, MAX_REPORT_BYTES).await {
        Ok(bytes) => Ok(bytes.map(|b| content_hash(&b))),
        Err(BackendError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

enum Deleted {
    Yes,
    Changed,
}

async fn delete_exactly<B: DropboxBackend>(
    backend: &B,
    path: &str,
    rev: &str,
) -> Result<Deleted, PassError> {
    let entry = DeleteArg {
        path: path.to_owned(),
        parent_rev: Some(rev.to_owned()),
    };
    let result = backend
        .delete_batch(vec![entry])
        .await?
        .into_iter()
        .next()
        .unwrap_or_else(|| {
            Err(BackendError::Transient {
                detail: "Dropbox answered a delete with no result".into(),
            })
        });
    match result {
        Ok(_) | Err(BackendError::NotFound { .. }) => Ok(Deleted::Yes),
        Err(BackendError::Conflict { .. }) => Ok(Deleted::Changed),
        Err(e) => Err(e.into()),
    }
}

fn render(account: &Account, plan: &Plan, failing: &[ImportItem], at: i64) -> String {
    error_report(account, plan, failing, at).render()
}

/// The digest of the report's failures, for the account's recipients.
fn digest_notice(account: &Account, plan: &Plan, failing: &[ImportItem], at: i64) -> Notice {
    let report = error_report(account, plan, failing, at);
    let (subject, text) = report.digest();
    Notice {
        kind: "digest".into(),
        account: Some(account.clone()),
        subject,
        text,
        failed: report
            .failures
            .iter()
            .map(|f| FailedEntry {
                path: f.path.clone(),
                kind: f.kind.as_str().to_owned(),
                detail: f.detail.clone(),
            })
            .collect(),
    }
}

fn error_report(account: &Account, plan: &Plan, failing: &[ImportItem], at: i64) -> ErrorReport {
    ErrorReport {
        account: account.name.clone(),
        plan: plan.name.clone(),
        changed_at: OffsetDateTime::from_unix_timestamp(at).unwrap_or(OffsetDateTime::UNIX_EPOCH),
        failures: failing
            .iter()
            .map(|i| FailedFile {
                path: i.path.clone(),
                size: i.size,
                format: i.format.clone(),
                kind: i
                    .error_kind
                    .as_deref()
                    .and_then(ErrorKind::parse)
                    .unwrap_or(ErrorKind::Unknown),
                detail: i.error_detail.clone().unwrap_or_default(),
            })
            .collect(),
    }
}

fn same_path(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

async fn known_report_id(cx: &PassContext, dropbox_id: &str) -> Result<bool, PassError> {
    let id = dropbox_id.to_owned();
    cx.db(move |lib| Ok(links::is_known_report_id(lib.store().connection(), &id)?))
        .await
}

/// Failures the report in place lists (a failure retried and failed again the same way).
async fn mark_listed(
    cx: &PassContext,
    failing: &[ImportItem],
    report: i64,
) -> Result<(), PassError> {
    let ids: Vec<ItemId> = failing
        .iter()
        .filter(|i| i.report != Some(report))
        .map(|i| i.id)
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    cx.db(move |lib| {
        lib.store_mut()
            .transaction(|tx| -> Result<(), LibraryError> {
                Ok(journal::set_report(tx, &ids, report)?)
            })
    })
    .await
}

/// Nothing of ours is at these paths any more (see [`links::retire_reports_at`]).
async fn retire(cx: &PassContext, link: &LinkRecord, paths: Vec<String>) -> Result<(), PassError> {
    if paths.is_empty() {
        return Ok(());
    }
    let link_id = link.id;
    cx.db(move |lib| {
        lib.store_mut()
            .transaction(|tx| -> Result<(), LibraryError> {
                for path in &paths {
                    links::retire_reports_at(tx, link_id, path, None)?;
                }
                Ok(())
            })
    })
    .await
}
