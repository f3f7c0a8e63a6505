//! Upload sessions (files.stone `upload_session/*`): a file sent in several calls — `start`,
//! `append_v2`, then `finish` alone or `finish_batch_v2` for many files at once. Each call's
//! `content_hash` covers only the bytes of that call; the whole file's hash comes back in the
//! committed `FileMetadata`.

use serde::{Deserialize, Serialize};

use super::errors::WriteError;
use super::files::WriteMode;
use super::metadata::FileMetadata;

/// `finish_batch_v2` commits at most this many sessions (files.stone `max_items=1000`).
pub const FINISH_BATCH_MAX_ENTRIES: usize = 1000;

fn is_false(flag: &bool) -> bool {
    !*flag
}

/// `upload_session/start` (upload style; the body is the first chunk, possibly empty).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadSessionStartArg {
    /// The last bytes of the file are in this call: no append may follow.
    #[serde(default, skip_serializing_if = "is_false")]
    pub close: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadSessionStartResult {
    pub session_id: String,
}

/// Where the next bytes of a session go: `offset` is how many bytes the session already holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadSessionCursor {
    pub session_id: String,
    pub offset: u64,
}

/// `upload_session/append_v2` (upload style). The result is Void (`null`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadSessionAppendArg {
    pub cursor: UploadSessionCursor,
    #[serde(default, skip_serializing_if = "is_false")]
    pub close: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
}

/// Where and how a session's bytes become a file (files.stone `CommitInfo`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitInfo {
    pub path: String,
    #[serde(default)]
    pub mode: WriteMode,
    #[serde(default)]
    pub autorename: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_modified: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub mute: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub strict_conflict: bool,
}

impl CommitInfo {
    /// Never overwrite: a clash gets the next free `name (n).ext`.
    pub fn add_renaming(path: impl Into<String>) -> Self {
        CommitInfo {
            path: path.into(),
            mode: WriteMode::Add,
            autorename: true,
            client_modified: None,
            mute: false,
            strict_conflict: false,
        }
    }
}

/// `upload_session/finish` (upload style, may carry the last bytes) and each entry of
/// `finish_batch_v2` (no bytes there: every session must already be closed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadSessionFinishArg {
    pub cursor: UploadSessionCursor,
    pub commit: CommitInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadSessionFinishBatchArg {
    pub entries: Vec<UploadSessionFinishArg>,
}

/// `finish_batch_v2` answers synchronously, one entry per request entry, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadSessionFinishBatchResult {
    pub entries: Vec<UploadSessionFinishBatchResultEntry>,
}

/// `success` is a `FileMetadata` struct, so its fields sit next to `.tag`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = ".tag", rename_all = "snake_case")]
pub enum UploadSessionFinishBatchResultEntry {
    Success(FileMetadata),
    Failure { failure: UploadSessionFinishError },
}

/// `UploadSessionOffsetError`: the offset the server holds, to resume from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadSessionOffsetError {
    pub correct_offset: u64,
}

/// Why a session could not be found or continued (`UploadSessionLookupError`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = ".tag", rename_all = "snake_case")]
pub enum UploadSessionLookupError {
    NotFound,
    /// A struct member, so `correct_offset` sits next to `.tag`.
    IncorrectOffset(UploadSessionOffsetError),
    Closed,
    NotClosed,
    TooLarge,
    ConcurrentSessionInvalidOffset,
    ConcurrentSessionInvalidDataSize,
    PayloadTooLarge,
    #[serde(other)]
    Other,
}

/// `upload_session/append_v2` errors (`UploadSessionAppendError`, the lookup errors plus
/// `content_hash_mismatch`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = ".tag", rename_all = "snake_case")]
pub enum UploadSessionAppendError {
    NotFound,
    IncorrectOffset(UploadSessionOffsetError),
    Closed,
    TooLarge,
    ConcurrentSessionInvalidOffset,
    ConcurrentSessionInvalidDataSize,
    PayloadTooLarge,
    ContentHashMismatch,
    #[serde(other)]
    Other,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = ".tag", rename_all = "snake_case")]
pub enum UploadSessionStartError {
    ConcurrentSessionDataNotAllowed,
    ConcurrentSessionCloseNotAllowed,
    PayloadTooLarge,
    ContentHashMismatch,
    #[serde(other)]
    Other,
}

/// `upload_session/finish` and failed `finish_batch_v2` entries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = ".tag", rename_all = "snake_case")]
pub enum UploadSessionFinishError {
    LookupFailed {
        lookup_failed: UploadSessionLookupError,
    },
    Path {
        path: WriteError,
    },
    TooManySharedFolderTargets,
    TooManyWriteOperations,
    ConcurrentSessionDataNotAllowed,
    ConcurrentSessionNotClosed,
    ConcurrentSessionMissingData,
    PayloadTooLarge,
    ContentHashMismatch,
    EncryptionNotSupported,
    #[serde(other)]
    Other,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dropbox::wire::error_summary;
    use serde_json::json;

    #[test]
    fn incorrect_offset_carries_the_offset_next_to_its_tag() {
        let error = UploadSessionFinishError::LookupFailed {
            lookup_failed: UploadSessionLookupError::IncorrectOffset(UploadSessionOffsetError {
                correct_offset: 42,
            }),
        };
        let value = serde_json::to_value(&error).unwrap();
        assert_eq!(
            value,
            json!({".tag": "lookup_failed", "lookup_failed": {".tag": "incorrect_offset", "correct_offset": 42}})
        );
        assert_eq!(error_summary(&error), "lookup_failed/incorrect_offset/..");
        assert_eq!(
            serde_json::from_value::<UploadSessionFinishError>(value).unwrap(),
            error
        );
    }

    #[test]
    fn commit_info_sends_mode_and_autorename() {
        let commit = CommitInfo::add_renaming("/A (from Smartimage)/a.jpg");
        assert_eq!(
            serde_json::to_value(&commit).unwrap(),
            json!({"path": "/A (from Smartimage)/a.jpg", "mode": "add", "autorename": true})
        );
    }
}
