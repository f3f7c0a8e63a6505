//! Share: a Dropbox shared link to something the account sent out (a file, a collection's
//! folder, any path in its downloads folder), created once and reused after (Dropbox answers
//! `shared_link_already_exists` with the link). Audited like an export. Whether the link can
//! share at all is asked first, so a synced folder refuses before anything is written; a file
//! whose blob is damaged is refused (and audited) as an export refuses it.

use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::sync::mpsc::UnboundedSender;

use super::backends::live_link;
use super::engine::{
    ExportError, FailedSummary, damaged_reason, record_refusals, remove_leftovers,
    send_with_retries,
};
use super::events::ExportEvent;
use super::folders::{downloads_folder, is_within, join_subfolder};
use super::request::{ShareRequest, ShareTarget};
use crate::dropbox::backend::{BackendError, DropboxBackend};
use crate::dropbox::sending::{DropboxSender, SendSettings, SharedLink, hashes_of_file};
use crate::dropbox::wire::Metadata;
use crate::library::Library;
use crate::library::LibraryError;
use crate::library::outgoing::{OutgoingItem, OutgoingSelection};
use crate::library::permissions::Actor;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ShareOutcome {
    pub account: String,
    /// What the link points at (app-folder path).
    pub path: String,
    #[serde(flatten)]
    pub link: SharedLink,
}

/// Where the library file already sits in the downloads folder (same bytes), if anywhere.
/// `Err(FailedSummary)` inside: its blob is damaged (the summary says how, for the audit row).
async fn copy_in_downloads<B: DropboxBackend>(
    backend: &B,
    downloads: &str,
    item: &OutgoingItem,
) -> Result<Result<Option<String>, FailedSummary>, ExportError> {
    let mut page = match backend.list_folder(downloads, true).await {
        Ok(page) => page,
        Err(BackendError::NotFound { .. }) => return Ok(Ok(None)),
        Err(error) => return Err(error.into()),
    };
    let blob = item.blob.clone();
    let hashes = tokio::task::spawn_blocking(move || hashes_of_file(&blob))
        .await
        .map_err(|error| ExportError::Internal(error.to_string()))?
        .map_err(|error| ExportError::Dropbox(BackendError::Io(error)))?;
    if hashes.sha256 != item.file.sha256 || hashes.size != item.file.size {
        let detail = format!("its {} bytes hash to sha256 {}", hashes.size, hashes.sha256);
        return Ok(Err(FailedSummary {
            file_id: item.file.id,
            name: item.file.name.clone(),
            reason: damaged_reason(item, &detail),
            damaged_blob: Some(item.file.sha256.clone()),
        }));
    }
    let hash = hashes.content_hash;
    loop {
        let mut candidates: Vec<&crate::dropbox::wire::FileMetadata> = page
            .entries
            .iter()
            .filter_map(|entry| match entry {
                Metadata::File(file) if file.content_hash.as_deref() == Some(hash.as_str()) => {
                    Some(file)
                }
                _ => None,
            })
            .collect();
        // The copy under the file's own name first, then the shortest path.
        candidates.sort_by_key(|file| (file.name != item.file.name, file.path_lower.clone()));
        if let Some(found) = candidates.first() {
            return Ok(Ok(found.path_display.clone().or(found.path_lower.clone())));
        }
        if !page.has_more {
            return Ok(Ok(None));
        }
        page = backend.list_folder_continue(&page.cursor).await?;
    }
}

/// Creates (or reuses) the shared link the request names.
pub async fn share<B: DropboxBackend + DropboxSender>(
    library: &Arc<Mutex<Library>>,
    actor: &Actor,
    request: &ShareRequest,
    backend: &B,
    settings: &SendSettings,
    events: &UnboundedSender<ExportEvent>,
) -> Result<ShareOutcome, ExportError> {
    let (account, link) = {
        let guard = library
            .lock()
            .map_err(|_| ExportError::Internal("the library lock is poisoned".into()))?;
        let account = guard.account_for_sending(actor, &request.account)?;
        let link = live_link(&guard, &account)?;
        (account, link)
    };
    // Before anything is looked up or sent: a link that cannot share writes nothing.
    if backend.can_share().is_err() {
        return Err(ExportError::SharingNeedsApi {
            account: account.name,
        });
    }
    let downloads = downloads_folder(&link.folder_path);
    let path = match &request.target {
        ShareTarget::Path(path) if path.starts_with('/') => {
            if !is_within(path, &downloads) && !is_within(path, &link.folder_path) {
                return Err(LibraryError::PermissionDenied(format!(
                    "{path:?} is outside the Dropbox folders of {:?} ({:?} and {downloads:?})",
                    account.name, link.folder_path
                ))
                .into());
            }
            path.clone()
        }
        ShareTarget::Path(path) => join_subfolder(&downloads, path),
        ShareTarget::Collection(name) => {
            let folder = join_subfolder(&downloads, name);
            if backend.get_metadata(&folder).await?.is_none() {
                return Err(LibraryError::NotFound(format!(
                    "the collection {name:?} has not been sent to Dropbox yet ({folder:?} is missing); \
                     send it first: smartimage export --account {:?} --collection {name:?}",
                    account.name
                ))
                .into());
            }
            folder
        }
        ShareTarget::File(id) => {
            let item = {
                let guard = library
                    .lock()
                    .map_err(|_| ExportError::Internal("the library lock is poisoned".into()))?;
                guard
                    .outgoing_files(actor, &account, &OutgoingSelection::Ids(vec![*id]))?
                    .remove(0)
            };
            let refuse = |refused: FailedSummary| {
                record_refusals(library, actor, &account, std::slice::from_ref(&refused))?;
                Err(ExportError::DamagedBlob {
                    reason: refused.reason,
                })
            };
            match copy_in_downloads(backend, &downloads, &item).await? {
                Err(refused) => return refuse(refused),
                Ok(Some(path)) => path,
                Ok(None) => {
                    // Not sent yet: send it, then share that copy.
                    remove_leftovers(backend, &downloads).await;
                    backend.ensure_folder(&downloads).await?;
                    let items = [item];
                    let (sent, failed) =
                        send_with_retries(&items, &downloads, backend, settings, events).await?;
                    match (sent.into_iter().next(), failed.into_iter().next()) {
                        (Some(sent), _) => sent.path,
                        (None, Some(failed)) if failed.damaged_blob.is_some() => {
                            return refuse(failed);
                        }
                        (None, Some(failed)) => {
                            return Err(ExportError::Internal(format!(
                                "could not send {:?} to Dropbox to share it: {}",
                                failed.name, failed.reason
                            )));
                        }
                        (None, None) => {
                            return Err(ExportError::Internal("nothing was sent".into()));
                        }
                    }
                }
            }
        }
    };
    let shared = backend.share(&path).await?;
    let detail = format!(
        "{} {} ({})",
        path,
        shared.url,
        if shared.created { "created" } else { "reused" }
    );
    library
        .lock()
        .map_err(|_| ExportError::Internal("the library lock is poisoned".into()))?
        .record_sending(actor, &account, "share", &detail)?;
    Ok(ShareOutcome {
        account: account.name,
        path,
        link: shared,
    })
}
