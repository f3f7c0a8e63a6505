//! Export: the chosen files of one account go to its downloads folder in Dropbox, each
//! streamed from its blob, renamed on a clash, never overwriting; failed files are retried,
//! then reported with the reason. The library is only read (plus audit rows), so a failed
//! export leaves it as it was. Every file's bytes are checked against its sha256 as they are
//! read, before Dropbox commits them: a damaged blob is refused (named, with an audit row of
//! its own), the rest still go. Temp files an earlier export left when it was killed are swept
//! from the downloads folder first.

use crate::library::ids::FileId;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::mpsc::UnboundedSender;

use super::backends::live_link;
use super::events::ExportEvent;
use super::folders::{downloads_folder, is_within, join_subfolder, safe_name};
use super::request::ExportRequest;
use crate::dropbox::backend::{BackendError, DropboxBackend};
use crate::dropbox::sending::{DropboxSender, OutgoingFile, SendSettings, SentVia};
use crate::library::error::LibraryError;
use crate::library::model::Account;
use crate::library::outgoing::{OutgoingItem, OutgoingSelection};
use crate::library::permissions::Actor;
use crate::library::store::links::{self, LinkRecord};
use crate::library::{Library, error};

/// Attempts per file before it is reported as failed (retryable failures only).
pub const MAX_SEND_ATTEMPTS: u32 = 3;
/// Progress events per file at most this often.
const PROGRESS_EVERY: Duration = Duration::from_millis(200);

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Library(#[from] LibraryError),
    #[error(
        "{account:?} is not linked to Dropbox; link it first (smartimage link --account {account:?} …)"
    )]
    NotLinked { account: String },
    #[error("nothing to send: the selection has no files")]
    NothingSelected,
    #[error(
        "the downloads folder {folder:?} would be inside the Dropbox folder of {other:?}, whose \
         files are imported; rename one of the accounts"
    )]
    FolderClash { folder: String, other: String },
    #[error(transparent)]
    Dropbox(#[from] BackendError),
    #[error(
        "shared links need an API link: {account:?} is linked to a synced folder, which cannot \
         create Dropbox shared links (sharing needs the Dropbox API); nothing was written to \
         Dropbox. Link it with `smartimage link --account {account:?} --api` to share"
    )]
    SharingNeedsApi { account: String },
    /// A file whose blob does not match its sha256 (see [`damaged_reason`]).
    #[error("{reason}")]
    DamagedBlob { reason: String },
    #[error("{0}")]
    Internal(String),
}

impl ExportError {
    /// The scripting contract's exit code (README.md, "Using it").
    pub fn exit_code(&self) -> i32 {
        match self {
            ExportError::Library(error) => error.exit_code(),
            ExportError::NotLinked { .. } | ExportError::NothingSelected => error::EXIT_BAD_USAGE,
            _ => error::EXIT_RUNTIME_FAILURE,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SentSummary {
    pub file_id: FileId,
    pub name: String,
    pub path: String,
    pub size: u64,
    pub content_hash: Option<String>,
    pub via: SentVia,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FailedSummary {
    pub file_id: FileId,
    pub name: String,
    pub reason: String,
    /// The blob, when the file was refused because its bytes do not match it.
    #[serde(skip)]
    pub damaged_blob: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExportSummary {
    pub account: String,
    pub folder: String,
    pub sent: Vec<SentSummary>,
    pub failed: Vec<FailedSummary>,
    pub bytes_sent: u64,
}

fn locked(
    library: &Arc<Mutex<Library>>,
) -> Result<std::sync::MutexGuard<'_, Library>, ExportError> {
    library
        .lock()
        .map_err(|_| ExportError::Internal("the library lock is poisoned".into()))
}

/// Refuses a downloads folder that some linked account imports from (an account named
/// `Acme (from Smartimage)` on the same Dropbox would otherwise import Acme's exports).
fn check_not_imported(
    library: &Library,
    link: &LinkRecord,
    folder: &str,
) -> Result<(), ExportError> {
    let live = links::live_links(library.store().connection()).map_err(LibraryError::from)?;
    for other in live
        .iter()
        .filter(|other| other.connection == link.connection)
    {
        if is_within(folder, &other.folder_path) || is_within(&other.folder_path, folder) {
            return Err(ExportError::FolderClash {
                folder: folder.to_owned(),
                other: other.account_name.clone(),
            });
        }
    }
    Ok(())
}

/// Sends the request's files and reports each one; see the module docs.
pub async fn export<B: DropboxBackend + DropboxSender>(
    library: &Arc<Mutex<Library>>,
    actor: &Actor,
    request: &ExportRequest,
    backend: &B,
    settings: &SendSettings,
    events: &UnboundedSender<ExportEvent>,
) -> Result<ExportSummary, ExportError> {
    let (account, downloads, folder, items) = {
        let guard = locked(library)?;
        let account = guard.account_for_sending(actor, &request.account)?;
        let link = live_link(&guard, &account)?;
        let downloads = downloads_folder(&link.folder_path);
        let subfolder = match (&request.subfolder, &request.selection) {
            (Some(sub), _) => Some(sub.clone()),
            (None, OutgoingSelection::Collection(name)) => Some(name.clone()),
            (None, _) => None,
        };
        let folder = match subfolder {
            Some(sub) => join_subfolder(&downloads, &sub),
            None => downloads.clone(),
        };
        check_not_imported(&guard, &link, &folder)?;
        let items = guard.outgoing_files(actor, &account, &request.selection)?;
        (account, downloads, folder, items)
    };
    if items.is_empty() {
        return Err(ExportError::NothingSelected);
    }
    remove_leftovers(backend, &downloads).await;
    backend.ensure_folder(&folder).await?;
    let _ = events.send(ExportEvent::Planned {
        account: account.name.clone(),
        folder: folder.clone(),
        files: items.len(),
        bytes: items.iter().map(|item| item.file.size).sum(),
    });
    // Recorded before the first byte goes out, so a send cut short (the process killed, the
    // console quit mid-way, Dropbox failing outright) still leaves a trace of what was sent.
    locked(library)?.record_sending(
        actor,
        &account,
        "export start",
        &format!(
            "sending {} files ({} bytes) to {folder}",
            items.len(),
            items.iter().map(|item| item.file.size).sum::<u64>()
        ),
    )?;
    let (sent, failed) = send_with_retries(&items, &folder, backend, settings, events).await?;
    record_refusals(library, actor, &account, &failed)?;
    let summary = ExportSummary {
        account: account.name.clone(),
        folder,
        bytes_sent: sent.iter().map(|file| file.size).sum(),
        sent,
        failed,
    };
    let detail = format!(
        "sent {} of {} files ({} bytes) to {}{}",
        summary.sent.len(),
        items.len(),
        summary.bytes_sent,
        summary.folder,
        if summary.failed.is_empty() {
            String::new()
        } else {
            format!("; {} failed", summary.failed.len())
        }
    );
    locked(library)?.record_sending(actor, &account, "export", &detail)?;
    Ok(summary)
}

/// Sweeps what an export killed midway left in the downloads folder (best effort: a failure
/// is logged, the export goes on).
pub(super) async fn remove_leftovers<B: DropboxSender>(backend: &B, downloads: &str) {
    match backend.remove_leftovers(downloads).await {
        Ok(0) => {}
        Ok(removed) => {
            tracing::info!(
                folder = downloads,
                removed,
                "removed temp files of a killed export"
            );
        }
        Err(error) => {
            tracing::warn!(
                folder = downloads,
                %error,
                "could not sweep temp files of a killed export"
            );
        }
    }
}

/// The reason a file was refused: its blob's bytes are not the file's.
pub(super) fn damaged_reason(item: &OutgoingItem, detail: &str) -> String {
    format!(
        "file #{} ({:?}) was not sent: its blob {} is damaged ({detail}); restore {} from a backup",
        item.file.id,
        item.file.name,
        item.file.sha256,
        item.blob.display()
    )
}

/// One audit row per file refused for a damaged blob, naming the file and the blob.
pub(super) fn record_refusals(
    library: &Arc<Mutex<Library>>,
    actor: &Actor,
    account: &Account,
    failed: &[FailedSummary],
) -> Result<(), ExportError> {
    for refused in failed.iter().filter(|failed| failed.damaged_blob.is_some()) {
        locked(library)?.record_sending(
            actor,
            account,
            crate::library::check::EXPORT_REFUSED_ACTION,
            &refused.reason,
        )?;
    }
    Ok(())
}

/// Sends `items` into `folder`; retryable failures go again, up to [`MAX_SEND_ATTEMPTS`].
pub(super) async fn send_with_retries<B: DropboxSender>(
    items: &[OutgoingItem],
    folder: &str,
    backend: &B,
    settings: &SendSettings,
    events: &UnboundedSender<ExportEvent>,
) -> Result<(Vec<SentSummary>, Vec<FailedSummary>), ExportError> {
    let mut sent = Vec::new();
    let mut failed = Vec::new();
    let mut pending: Vec<usize> = (0..items.len()).collect();
    for attempt in 1..=MAX_SEND_ATTEMPTS {
        if pending.is_empty() {
            break;
        }
        let files: Vec<OutgoingFile> = pending
            .iter()
            .map(|&index| OutgoingFile {
                source: items[index].blob.clone(),
                size: items[index].file.size,
                sha256: Some(items[index].file.sha256.clone()),
                destination: format!("{folder}/{}", safe_name(&items[index].file.name)),
            })
            .collect();
        let progress = progress_reporter(items, &pending, events.clone());
        let results = backend.send_files(files, settings, progress).await?;
        let mut again = Vec::new();
        for (&index, result) in pending.iter().zip(results) {
            let item = &items[index];
            match result {
                Ok(done) => {
                    let path = done
                        .metadata
                        .path_display
                        .clone()
                        .unwrap_or_else(|| done.metadata.name.clone());
                    let _ = events.send(ExportEvent::Sent {
                        index,
                        name: item.file.name.clone(),
                        path: path.clone(),
                        via: done.via,
                    });
                    sent.push(SentSummary {
                        file_id: item.file.id,
                        name: item.file.name.clone(),
                        path,
                        size: done.metadata.size,
                        content_hash: done.metadata.content_hash,
                        via: done.via,
                    });
                }
                Err(error) if error.is_retryable() && attempt < MAX_SEND_ATTEMPTS => {
                    let _ = events.send(ExportEvent::Retrying {
                        index,
                        name: item.file.name.clone(),
                        attempt,
                        reason: error.to_string(),
                    });
                    again.push(index);
                }
                Err(error) => {
                    let (reason, damaged_blob) = match &error {
                        BackendError::DamagedSource { detail, .. } => {
                            (damaged_reason(item, detail), Some(item.file.sha256.clone()))
                        }
                        _ => (error.to_string(), None),
                    };
                    let _ = events.send(ExportEvent::Failed {
                        index,
                        name: item.file.name.clone(),
                        reason: reason.clone(),
                    });
                    failed.push(FailedSummary {
                        file_id: item.file.id,
                        name: item.file.name.clone(),
                        reason,
                        damaged_blob,
                    });
                }
            }
        }
        pending = again;
    }
    sent.sort_by_key(|file| file.file_id);
    Ok((sent, failed))
}

/// Turns the sender's (position in this attempt, bytes) into throttled progress events.
fn progress_reporter(
    items: &[OutgoingItem],
    pending: &[usize],
    events: UnboundedSender<ExportEvent>,
) -> crate::dropbox::sending::SendProgress {
    let files: Vec<(usize, String, u64)> = pending
        .iter()
        .map(|&index| {
            (
                index,
                items[index].file.name.clone(),
                items[index].file.size,
            )
        })
        .collect();
    let last = Mutex::new(vec![None::<Instant>; files.len()]);
    Arc::new(move |position: usize, bytes: u64| {
        let Some((index, name, total)) = files.get(position) else {
            return;
        };
        let mut last = last.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let due = last[position].is_none_or(|at| at.elapsed() >= PROGRESS_EVERY);
        if due || bytes == *total {
            last[position] = Some(Instant::now());
            let _ = events.send(ExportEvent::Progress {
                index: *index,
                name: name.clone(),
                bytes,
                total: *total,
            });
        }
    })
}
