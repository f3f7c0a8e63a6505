//! The errors a library action can end in. Each says what happened and what to do; each maps
//! to one of the scripting contract's exit codes.

use std::path::PathBuf;

use crate::library::policy::AdmitError;
use crate::library::store::StoreError;

/// Exit codes of the scripting contract (README.md, "Using it").
pub const EXIT_RUNTIME_FAILURE: i32 = 1;
pub const EXIT_BAD_USAGE: i32 = 2;
pub const EXIT_PERMISSION_DENIED: i32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    #[error("{0}")]
    InvalidInput(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    Refused(#[from] AdmitError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "the blob store {blobs} belongs to another library than the database {database} (a new \
         database made by `init`, or one from elsewhere); nothing was collected or deleted. Run \
         `smartimage check`, then `smartimage check --adopt --account NAME` to take its files \
         into this library"
    )]
    ForeignBlobStore { blobs: PathBuf, database: PathBuf },
    #[error(
        "the database {database} is older than its blob store {blobs} (epoch {database_epoch}, \
         the blob store has seen {blobs_epoch}): it was restored from a backup or copied back, \
         and may not know files imported since; nothing was collected or deleted. Run \
         `smartimage check`, then `smartimage check --adopt --account NAME` to bring them back"
    )]
    OlderDatabase {
        database: PathBuf,
        blobs: PathBuf,
        database_epoch: u64,
        blobs_epoch: u64,
    },
    #[error(
        "no library at {data_dir}: {database} does not exist; nothing was created. Make one with \
         `smartimage init --operator EMAIL`, or point --data-dir (or SMARTIMAGE_DATA_DIR) at an \
         existing library"
    )]
    NoLibrary {
        data_dir: PathBuf,
        database: PathBuf,
    },
    #[error(
        "{database} is empty (0 bytes): it is not a library, and it was left untouched. If it was \
         cut short or damaged, restore it from a backup (README, \"Backup and restore\"), then \
         run `smartimage check`"
    )]
    EmptyDatabase { database: PathBuf },
    #[error(
        "{path} is read-only for {user}: smartimage writes there (the database and its journal, \
         the blob store); nothing was changed. Check its owner and mode (`ls -ld {path}`) and \
         the admins' group (README, \"Who may open the data dir\"), or run as the service's user"
    )]
    ReadOnly { path: PathBuf, user: String },
    #[error("{context} ({path}): {source}")]
    Io {
        context: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl From<rusqlite::Error> for LibraryError {
    fn from(e: rusqlite::Error) -> Self {
        LibraryError::Store(StoreError::Sqlite(e))
    }
}

impl LibraryError {
    pub fn exit_code(&self) -> i32 {
        match self {
            LibraryError::PermissionDenied(_) => EXIT_PERMISSION_DENIED,
            LibraryError::InvalidInput(_)
            | LibraryError::NotFound(_)
            | LibraryError::AlreadyExists(_)
            // The data dir named is not a library: the call's words are off.
            | LibraryError::NoLibrary { .. } => EXIT_BAD_USAGE,
            LibraryError::Refused(_)
            | LibraryError::Store(_)
            | LibraryError::Io { .. }
            | LibraryError::ForeignBlobStore { .. }
            | LibraryError::EmptyDatabase { .. }
            | LibraryError::ReadOnly { .. }
            | LibraryError::OlderDatabase { .. } => EXIT_RUNTIME_FAILURE,
        }
    }

    pub fn io(context: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        LibraryError::Io {
            context,
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = LibraryError> = std::result::Result<T, E>;
