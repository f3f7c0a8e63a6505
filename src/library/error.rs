//! The errors a library action can end in. Each says what happened and what to do; each maps
//! to one of the scripting contract's exit codes.

use std::path::PathBuf;

use crate::library::policy::AdmitError;
use crate::library::store::StoreError;

/// Exit codes of the scripting contract (DESIGN §6).
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
            | LibraryError::AlreadyExists(_) => EXIT_BAD_USAGE,
            LibraryError::Refused(_) | LibraryError::Store(_) | LibraryError::Io { .. } => {
                EXIT_RUNTIME_FAILURE
            }
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
