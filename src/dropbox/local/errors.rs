//! `BackendError`s as the local backend raises them, with the Dropbox-style summary a user or
//! a log reader would recognise from the API backend.

use std::io;

use crate::dropbox::backend::BackendError;

/// The HTTP status the API backend would have seen for an endpoint error.
const ENDPOINT_ERROR_STATUS: u16 = 409;

pub fn not_found(path: &str) -> BackendError {
    BackendError::NotFound {
        path: path.to_owned(),
    }
}

pub fn conflict(summary: &str) -> BackendError {
    BackendError::Conflict {
        summary: summary.to_owned(),
    }
}

pub fn refused(summary: &str) -> BackendError {
    BackendError::Refused {
        status: ENDPOINT_ERROR_STATUS,
        summary: summary.to_owned(),
    }
}

/// An I/O failure, with the path it concerns in the message.
pub fn io_error(path: &str, error: io::Error) -> BackendError {
    BackendError::Io(io::Error::new(error.kind(), format!("{path:?}: {error}")))
}
