//! The one interface the import engine uses to speak "Dropbox", implemented by the HTTP API v2
//! client (`api.rs`) and by a Dropbox-synced folder on disk (`local.rs`). Both speak in the
//! wire types of `wire/`, so the engine cannot tell them apart.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tokio::io::AsyncRead;

use crate::dropbox::wire::{
    DeleteArg, FileMetadata, FolderMetadata, ListFolderResult, Metadata, WriteMode,
};

/// Who the backend is connected as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountInfo {
    /// Stable key of the Dropbox account (`dbid:…`, or a synthetic id for a local folder).
    pub account_id: String,
    pub email: Option<String>,
    pub display_name: String,
}

/// What waiting for changes found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChangeWait {
    pub changes: bool,
    /// Wait this long before asking again (Dropbox's `backoff`).
    pub backoff: Option<Duration>,
}

/// A download in progress: the metadata of the revision actually served, and its bytes.
/// The body is verified as it is read: if the byte count or the content hash does not match
/// `metadata`, the final read fails with `io::ErrorKind::InvalidData` instead of a clean end,
/// so a half or corrupt download can never be taken for a complete one.
pub struct Download {
    pub metadata: FileMetadata,
    pub body: Pin<Box<dyn AsyncRead + Send>>,
}

/// Failures, sorted by what the caller should do about them.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("not found in Dropbox: {path}")]
    NotFound { path: String },
    /// The target changed or exists (e.g. a `parent_rev` that no longer matches).
    #[error("conflict in Dropbox: {summary}")]
    Conflict { summary: String },
    /// The listing cursor is no longer valid: list the folder again from the start.
    #[error("the Dropbox change cursor expired; a full rescan is needed")]
    CursorReset,
    #[error("Dropbox asked us to slow down; retrying after {retry_after:?}")]
    RateLimited { retry_after: Duration },
    #[error("the Dropbox link must be authorized again ({detail}); relink the account")]
    NeedsReauth { detail: String },
    #[error("the Dropbox account is out of space ({summary}); free space in Dropbox")]
    InsufficientSpace { summary: String },
    /// Server trouble, a reset connection, a truncated or corrupt body: worth retrying.
    #[error("temporary Dropbox failure: {detail}")]
    Transient { detail: String },
    /// Any other endpoint error; `summary` is Dropbox's `error_summary`, kept verbatim.
    #[error("Dropbox refused the request: {summary}")]
    Refused { status: u16, summary: String },
    #[error("local Dropbox folder: {0}")]
    Io(#[from] std::io::Error),
    /// A condition of this server stops the link (a token file's mode, a missing file, the
    /// configuration): fixed here, not by authorizing again.
    #[error("{detail}")]
    Blocked { detail: String },
    /// The bytes read on this machine to send are not the ones the caller vouched for (a
    /// damaged copy): the file was not committed to Dropbox, and trying again cannot help.
    #[error("{} is damaged: {detail}; it was not sent", path.display())]
    DamagedSource {
        path: std::path::PathBuf,
        detail: String,
    },
}

impl BackendError {
    /// Worth trying again later without anyone's help.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            BackendError::RateLimited { .. } | BackendError::Transient { .. }
        )
    }
}

pub type BackendResult<T> = Result<T, BackendError>;

/// Everything the import engine asks of Dropbox. Paths are relative to the app folder
/// (`""` is its root), as Dropbox itself has them.
pub trait DropboxBackend: Send + Sync {
    fn current_account(&self) -> impl Future<Output = BackendResult<AccountInfo>> + Send;

    /// Create the folder if it is missing; an existing folder (any case) is fine.
    fn ensure_folder(
        &self,
        path: &str,
    ) -> impl Future<Output = BackendResult<FolderMetadata>> + Send;

    /// The first page of a (recursive) listing.
    fn list_folder(
        &self,
        path: &str,
        recursive: bool,
    ) -> impl Future<Output = BackendResult<ListFolderResult>> + Send;

    /// The next page, or the changes since the cursor. `CursorReset` means list again.
    fn list_folder_continue(
        &self,
        cursor: &str,
    ) -> impl Future<Output = BackendResult<ListFolderResult>> + Send;

    /// Block until something under the cursor changes, or `timeout` passes.
    fn wait_for_changes(
        &self,
        cursor: &str,
        timeout: Duration,
    ) -> impl Future<Output = BackendResult<ChangeWait>> + Send;

    /// Start a verified download of `path` (or `rev:<rev>`).
    fn download(&self, path: &str) -> impl Future<Output = BackendResult<Download>> + Send;

    /// Delete each entry only if it is still at `parent_rev`; one result per entry, in order.
    fn delete_batch(
        &self,
        entries: Vec<DeleteArg>,
    ) -> impl Future<Output = BackendResult<Vec<BackendResult<Metadata>>>> + Send;

    /// Upload a small file (the error report).
    fn upload(
        &self,
        path: &str,
        bytes: Vec<u8>,
        mode: WriteMode,
        autorename: bool,
    ) -> impl Future<Output = BackendResult<FileMetadata>> + Send;

    /// Rename or move an entry (an account's folder follows a renamed account). Never replaces
    /// what is at `to`: that is a `Conflict`.
    fn move_entry(
        &self,
        from: &str,
        to: &str,
    ) -> impl Future<Output = BackendResult<Metadata>> + Send;

    /// After the import deleted files from `folders`, removes each that is empty now and then
    /// its parents while they are empty — never `within` (the account folder) or anything
    /// outside it; returns how many folders went. By default nothing is removed: over the API,
    /// deleting a folder deletes whatever arrived in it meanwhile. Only a backend that can
    /// remove a folder *if it is empty*, atomically (a synced folder's `rmdir`), does it.
    fn remove_emptied_folders(
        &self,
        _within: &str,
        _folders: Vec<String>,
    ) -> impl Future<Output = BackendResult<usize>> + Send {
        async { Ok(0) }
    }

    /// `None` when nothing is at `path`.
    fn get_metadata(
        &self,
        path: &str,
    ) -> impl Future<Output = BackendResult<Option<Metadata>>> + Send;
}
