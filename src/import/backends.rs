//! One type for "whichever Dropbox this link uses", so the engine works with links on the
//! HTTP API and links on a synced folder side by side.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::dropbox::api::{ApiClient, ClientConfig, Endpoints};
use crate::dropbox::auth::{OAuthClient, TokenSource};
use crate::dropbox::backend::{
    AccountInfo, BackendError, BackendResult, ChangeWait, Download, DropboxBackend,
};
use crate::dropbox::local::{LocalFolder, LocalSettings};
use crate::dropbox::pacer::PacerRegistry;
use crate::dropbox::token_file::TokenFileError;
use crate::dropbox::wire::{
    DeleteArg, FileMetadata, FolderMetadata, ListFolderResult, Metadata, WriteMode,
};
use crate::library::store::links::{BackendKind, LinkRecord};

#[derive(Clone)]
pub enum AnyBackend {
    Local(LocalFolder),
    Api(Arc<ApiClient>),
}

/// What opening a link's backend needs besides the link itself.
#[derive(Clone, Debug)]
pub struct BackendSettings {
    pub local: LocalSettings,
    pub endpoints: Endpoints,
    pub app_key: Option<String>,
    /// One rate gate per Dropbox account, shared by every link on it.
    pub pacers: Arc<PacerRegistry>,
}

impl Default for BackendSettings {
    fn default() -> Self {
        BackendSettings {
            local: LocalSettings::default(),
            endpoints: Endpoints::default(),
            app_key: None,
            pacers: Arc::new(PacerRegistry::new(crate::dropbox::pacer::DEFAULT_MIN_GAP)),
        }
    }
}

impl AnyBackend {
    /// Open the backend a link was made with. `data_dir` holds the token files.
    pub fn open(
        link: &LinkRecord,
        settings: &BackendSettings,
        data_dir: &Path,
    ) -> BackendResult<AnyBackend> {
        match link.backend {
            BackendKind::Local => {
                let root = link
                    .root_path
                    .as_deref()
                    .ok_or_else(|| BackendError::Refused {
                        status: 0,
                        summary: "the link has no synced folder recorded".into(),
                    })?;
                Ok(AnyBackend::Local(LocalFolder::open(
                    Path::new(root),
                    settings.local,
                )?))
            }
            BackendKind::Api => {
                let token_ref =
                    link.token_ref
                        .as_deref()
                        .ok_or_else(|| BackendError::NeedsReauth {
                            detail: "no token is stored for this link".into(),
                        })?;
                let app_key = settings.app_key.clone().ok_or_else(|| {
                    fixable_here(
                        "no Dropbox app key is configured (config [dropbox] app_key or \
                         SMARTIMAGE_DROPBOX_APP_KEY)",
                    )
                })?;
                let http = reqwest::Client::builder()
                    .connect_timeout(Duration::from_secs(30))
                    .build()
                    .map_err(|e| BackendError::Transient {
                        detail: e.to_string(),
                    })?;
                let oauth = OAuthClient::new(http, &settings.endpoints.oauth, app_key);
                let tokens = TokenSource::from_file(oauth, data_dir.join(token_ref)).map_err(
                    |e| match e {
                        // A loose mode or an unreadable, missing file is fixed on this server,
                        // not by authorizing again: the link waits and resumes by itself.
                        TokenFileError::InsecurePermissions { .. } | TokenFileError::Io { .. } => {
                            fixable_here(&e.to_string())
                        }
                        TokenFileError::Malformed { .. } => BackendError::NeedsReauth {
                            detail: e.to_string(),
                        },
                    },
                )?;
                let pacer = settings.pacers.for_account(&link.dropbox_account_id);
                let client = ApiClient::new(
                    ClientConfig::with_endpoints(settings.endpoints.clone()),
                    Arc::new(tokens),
                    pacer,
                )
                .map_err(|e| BackendError::Transient {
                    detail: e.to_string(),
                })?;
                Ok(AnyBackend::Api(Arc::new(client)))
            }
        }
    }
}

/// A link blocked by a condition of this server (a token file's mode, a missing file, the
/// configuration): the link goes to `error` and the engine resumes it once the condition is
/// fixed (`ImportEngine::resume_fixed_links`); `needs_reauth` is kept for what only a new
/// authorization mends.
fn fixable_here(what: &str) -> BackendError {
    BackendError::Blocked {
        detail: format!("{what}; the link resumes by itself once this is fixed"),
    }
}

impl DropboxBackend for AnyBackend {
    async fn current_account(&self) -> BackendResult<AccountInfo> {
        match self {
            AnyBackend::Local(b) => b.current_account().await,
            AnyBackend::Api(b) => b.current_account().await,
        }
    }
    async fn ensure_folder(&self, path: &str) -> BackendResult<FolderMetadata> {
        match self {
            AnyBackend::Local(b) => b.ensure_folder(path).await,
            AnyBackend::Api(b) => b.ensure_folder(path).await,
        }
    }
    async fn list_folder(&self, path: &str, recursive: bool) -> BackendResult<ListFolderResult> {
        match self {
            AnyBackend::Local(b) => b.list_folder(path, recursive).await,
            AnyBackend::Api(b) => b.list_folder(path, recursive).await,
        }
    }
    async fn list_folder_continue(&self, cursor: &str) -> BackendResult<ListFolderResult> {
        match self {
            AnyBackend::Local(b) => b.list_folder_continue(cursor).await,
            AnyBackend::Api(b) => b.list_folder_continue(cursor).await,
        }
    }
    async fn wait_for_changes(&self, cursor: &str, timeout: Duration) -> BackendResult<ChangeWait> {
        match self {
            AnyBackend::Local(b) => b.wait_for_changes(cursor, timeout).await,
            AnyBackend::Api(b) => b.wait_for_changes(cursor, timeout).await,
        }
    }
    async fn download(&self, path: &str) -> BackendResult<Download> {
        match self {
            AnyBackend::Local(b) => b.download(path).await,
            AnyBackend::Api(b) => b.download(path).await,
        }
    }
    async fn delete_batch(
        &self,
        entries: Vec<DeleteArg>,
    ) -> BackendResult<Vec<BackendResult<Metadata>>> {
        match self {
            AnyBackend::Local(b) => b.delete_batch(entries).await,
            AnyBackend::Api(b) => b.delete_batch(entries).await,
        }
    }
    async fn upload(
        &self,
        path: &str,
        bytes: Vec<u8>,
        mode: WriteMode,
        autorename: bool,
    ) -> BackendResult<FileMetadata> {
        match self {
            AnyBackend::Local(b) => b.upload(path, bytes, mode, autorename).await,
            AnyBackend::Api(b) => b.upload(path, bytes, mode, autorename).await,
        }
    }
    async fn remove_emptied_folders(
        &self,
        within: &str,
        folders: Vec<String>,
    ) -> BackendResult<usize> {
        match self {
            AnyBackend::Local(b) => b.remove_emptied_folders(within, folders).await,
            AnyBackend::Api(b) => b.remove_emptied_folders(within, folders).await,
        }
    }
    async fn move_entry(&self, from: &str, to: &str) -> BackendResult<Metadata> {
        match self {
            AnyBackend::Local(b) => b.move_entry(from, to).await,
            AnyBackend::Api(b) => b.move_entry(from, to).await,
        }
    }
    async fn get_metadata(&self, path: &str) -> BackendResult<Option<Metadata>> {
        match self {
            AnyBackend::Local(b) => b.get_metadata(path).await,
            AnyBackend::Api(b) => b.get_metadata(path).await,
        }
    }
}
