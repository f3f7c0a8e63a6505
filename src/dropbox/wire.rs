//! Typed Dropbox API v2 wire shapes shared by our client and our emulator: both sides serialize
//! and deserialize these, following Dropbox's Stone JSON conventions (ARCHITECTURE.md, "domain":
//! unions tagged by `.tag`, unknown tags tolerated, Void as the bare tag). Transport-free; the
//! request and response examples of Dropbox's documentation are pinned in `crib_tests`.

pub mod account;
pub mod errors;
pub mod files;
pub mod metadata;
pub mod timestamp;

#[cfg(test)]
mod crib_tests;

pub use account::{AccountType, FullAccount, Name, OAuthError, RootInfo, Team, TokenResponse};
pub use errors::{
    ApiErrorBody, AuthError, CreateFolderError, DeleteError, DownloadError, GetMetadataError,
    ListFolderContinueError, ListFolderError, ListFolderLongpollError, LocalizedText, LookupError,
    RATE_LIMIT_DEFAULT_RETRY_AFTER_SECS, RateLimitError, RateLimitReason, RelocationError,
    UploadError, WriteConflictError, WriteError, error_summary,
};
pub use files::{
    CreateFolderArg, CreateFolderResult, DELETE_BATCH_MAX_ENTRIES, DeleteArg, DeleteBatchArg,
    DeleteBatchError, DeleteBatchJobStatus, DeleteBatchLaunch, DeleteBatchResultEntry,
    DeleteResult, DownloadArg, GetMetadataArg, LIST_FOLDER_LIMIT_MAX, LONGPOLL_JITTER_MAX_SECS,
    LONGPOLL_TIMEOUT_DEFAULT_SECS, LONGPOLL_TIMEOUT_MAX_SECS, LONGPOLL_TIMEOUT_MIN_SECS,
    ListFolderArg, ListFolderContinueArg, ListFolderLongpollArg, ListFolderLongpollResult,
    ListFolderResult, PollArg, RelocationArg, RelocationResult, UPLOAD_MAX_BYTES, UploadArg,
    WriteMode,
};
pub use metadata::{DeletedMetadata, FileMetadata, FolderMetadata, Metadata, UnknownMetadata};

// Sending files back to Dropbox and sharing them (export).
pub mod sharing;
pub mod upload_sessions;

pub use sharing::{
    CreateSharedLinkWithSettingsArg, CreateSharedLinkWithSettingsError, LinkPermissions,
    ListSharedLinksArg, ListSharedLinksError, ListSharedLinksResult,
    SharedLinkAlreadyExistsMetadata, SharedLinkMetadata,
};
pub use upload_sessions::{
    CommitInfo, FINISH_BATCH_MAX_ENTRIES, UploadSessionAppendArg, UploadSessionAppendError,
    UploadSessionCursor, UploadSessionFinishArg, UploadSessionFinishBatchArg,
    UploadSessionFinishBatchResult, UploadSessionFinishBatchResultEntry, UploadSessionFinishError,
    UploadSessionLookupError, UploadSessionOffsetError, UploadSessionStartArg,
    UploadSessionStartError, UploadSessionStartResult,
};
