//! Arguments and results of the `files/*` routes the importer uses.
//! Defaults follow files.stone so the emulator accepts minimal requests; fields still at their
//! Stone default are left out when serializing, except where Dropbox's examples (`crib_tests`) send them.

use serde::de::{self, MapAccess, Visitor, value::MapAccessDeserializer};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::errors::DeleteError;
use super::metadata::{FolderMetadata, Metadata};

/// `list_folder` `limit` is a UInt32 in 1..=2000, and only approximate.
pub const LIST_FOLDER_LIMIT_MAX: u32 = 2000;
/// Bounds and default of `list_folder/longpoll` `timeout`, in seconds.
pub const LONGPOLL_TIMEOUT_MIN_SECS: u64 = 30;
pub const LONGPOLL_TIMEOUT_MAX_SECS: u64 = 480;
pub const LONGPOLL_TIMEOUT_DEFAULT_SECS: u64 = 30;
/// The server may hold a longpoll this long past `timeout`; client read timeouts must allow it.
pub const LONGPOLL_JITTER_MAX_SECS: u64 = 90;
/// `delete_batch` takes at most this many entries.
pub const DELETE_BATCH_MAX_ENTRIES: usize = 1000;
/// `files/upload` bodies above this need upload sessions.
pub const UPLOAD_MAX_BYTES: u64 = 150 * 1024 * 1024;

fn is_false(flag: &bool) -> bool {
    !*flag
}

fn is_true(flag: &bool) -> bool {
    *flag
}

fn stone_default_true() -> bool {
    true
}

/// `files/list_folder` and `files/list_folder/get_latest_cursor`. The root is `""`, not `"/"`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListFolderArg {
    pub path: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub recursive: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub include_deleted: bool,
    /// Stone default `true`; the importer sets `false` so Google/Paper docs, which cannot be
    /// downloaded, never reach it.
    #[serde(default = "stone_default_true", skip_serializing_if = "is_true")]
    pub include_non_downloadable_files: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

impl ListFolderArg {
    /// A listing of `path` with every other field at its Stone default.
    pub fn new(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            recursive: false,
            include_deleted: false,
            include_non_downloadable_files: true,
            limit: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListFolderResult {
    pub entries: Vec<Metadata>,
    /// Store the newest cursor even when `entries` is empty.
    pub cursor: String,
    pub has_more: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListFolderContinueArg {
    pub cursor: String,
}

/// Sent to the notify host without an `Authorization` header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListFolderLongpollArg {
    pub cursor: String,
    #[serde(default = "default_longpoll_timeout")]
    pub timeout: u64,
}

fn default_longpoll_timeout() -> u64 {
    LONGPOLL_TIMEOUT_DEFAULT_SECS
}

impl ListFolderLongpollArg {
    /// Clamps `timeout_secs` into the range the server accepts, as rclone does.
    pub fn new(cursor: impl Into<String>, timeout_secs: u64) -> Self {
        Self {
            cursor: cursor.into(),
            timeout: timeout_secs.clamp(LONGPOLL_TIMEOUT_MIN_SECS, LONGPOLL_TIMEOUT_MAX_SECS),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListFolderLongpollResult {
    pub changes: bool,
    /// Seconds to wait before the next longpoll, whether or not there were changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<u64>,
}

/// `files/get_metadata`; `include_deleted` turns `not_found` into a `deleted` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetMetadataArg {
    pub path: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub include_deleted: bool,
}

/// `files/download`; to pin a revision use `path: "rev:<rev>"`, not the deprecated `rev`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownloadArg {
    pub path: String,
}

/// `files/upload` (the TXT error report). The response body is a
/// [`FileMetadata`](super::metadata::FileMetadata).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadArg {
    pub path: String,
    /// Always sent: the conflict behaviour is the point of the call.
    #[serde(default)]
    pub mode: WriteMode,
    /// Always sent, like `mode`.
    #[serde(default)]
    pub autorename: bool,
    /// `true` would suppress the desktop notification; we want admins to see the report.
    #[serde(default, skip_serializing_if = "is_false")]
    pub mute: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub strict_conflict: bool,
    /// The server rejects the upload with `content_hash_mismatch` if the body differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
}

/// What happens when the upload target exists (files.stone `WriteMode`, a closed union).
///
/// Void members are written as the bare tag (`"add"`) as Dropbox's own examples and the crib
/// do; on input both that shorthand and `{".tag":"add"}` are accepted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum WriteMode {
    /// Never overwrite; `autorename` appends ` (1)` etc.
    #[default]
    Add,
    Overwrite,
    /// Overwrite only if the current revision is this one.
    Update(String),
}

/// The object form of [`WriteMode`]; `update` is a primitive member, so nested by name.
#[derive(Serialize, Deserialize)]
#[serde(tag = ".tag", rename_all = "snake_case")]
enum TaggedWriteMode {
    Add,
    Overwrite,
    Update { update: String },
}

const WRITE_MODE_ADD: &str = "add";
const WRITE_MODE_OVERWRITE: &str = "overwrite";

impl Serialize for WriteMode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            WriteMode::Add => serializer.serialize_str(WRITE_MODE_ADD),
            WriteMode::Overwrite => serializer.serialize_str(WRITE_MODE_OVERWRITE),
            WriteMode::Update(rev) => TaggedWriteMode::Update {
                update: rev.clone(),
            }
            .serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for WriteMode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct WriteModeVisitor;

        impl<'de> Visitor<'de> for WriteModeVisitor {
            type Value = WriteMode;

            fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                formatter.write_str(r#""add", "overwrite" or a {".tag": …} WriteMode object"#)
            }

            fn visit_str<E: de::Error>(self, tag: &str) -> Result<WriteMode, E> {
                match tag {
                    WRITE_MODE_ADD => Ok(WriteMode::Add),
                    WRITE_MODE_OVERWRITE => Ok(WriteMode::Overwrite),
                    other => Err(E::invalid_value(de::Unexpected::Str(other), &self)),
                }
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<WriteMode, A::Error> {
                Ok(
                    match TaggedWriteMode::deserialize(MapAccessDeserializer::new(map))? {
                        TaggedWriteMode::Add => WriteMode::Add,
                        TaggedWriteMode::Overwrite => WriteMode::Overwrite,
                        TaggedWriteMode::Update { update } => WriteMode::Update(update),
                    },
                )
            }
        }

        deserializer.deserialize_any(WriteModeVisitor)
    }
}

/// `files/create_folder_v2`. `autorename` is always sent, as in Dropbox's examples (`crib_tests`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateFolderArg {
    pub path: String,
    #[serde(default)]
    pub autorename: bool,
}

/// The metadata is declared `FolderMetadata`, so it carries no `.tag`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateFolderResult {
    pub metadata: FolderMetadata,
}

/// `files/delete_v2` and each `delete_batch` entry. `parent_rev` makes the delete conditional on
/// the revision we committed; folders do not support it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteArg {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_rev: Option<String>,
}

/// The state at deletion: `file` or `folder`, never `deleted`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteResult {
    pub metadata: Metadata,
}

/// At most [`DELETE_BATCH_MAX_ENTRIES`] entries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteBatchArg {
    pub entries: Vec<DeleteArg>,
}

/// `delete_batch` usually answers with a job id, but may finish synchronously.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = ".tag", rename_all = "snake_case")]
pub enum DeleteBatchLaunch {
    AsyncJobId {
        async_job_id: String,
    },
    Complete {
        entries: Vec<DeleteBatchResultEntry>,
    },
    #[serde(other)]
    Other,
}

/// `delete_batch/check` (async.stone `PollArg`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollArg {
    pub async_job_id: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = ".tag", rename_all = "snake_case")]
pub enum DeleteBatchJobStatus {
    InProgress,
    Complete {
        entries: Vec<DeleteBatchResultEntry>,
    },
    /// Deprecated batch-level failure; `DeleteBatchError` is a union, so nested by name.
    Failed {
        failed: DeleteBatchError,
    },
    #[serde(other)]
    Other,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = ".tag", rename_all = "snake_case")]
pub enum DeleteBatchError {
    TooManyWriteOperations,
    #[serde(other)]
    Other,
}

/// `entries[i]` answers request entry `i`. A closed union in files.stone, so no catch-all.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = ".tag", rename_all = "snake_case")]
pub enum DeleteBatchResultEntry {
    Success { metadata: Metadata },
    Failure { failure: DeleteError },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dropbox::wire::metadata::FileMetadata;
    use serde_json::json;

    #[test]
    fn minimal_list_folder_request_gets_stone_defaults() {
        let arg: ListFolderArg = serde_json::from_value(json!({"path": ""})).unwrap();
        assert_eq!(arg, ListFolderArg::new(""));
        assert!(arg.include_non_downloadable_files);
    }

    #[test]
    fn list_folder_request_leaves_out_stone_defaults() {
        assert_eq!(
            serde_json::to_value(ListFolderArg::new("/acme")).unwrap(),
            json!({"path": "/acme"})
        );
    }

    #[test]
    fn list_folder_accepts_fields_it_does_not_model() {
        let arg: ListFolderArg = serde_json::from_value(json!({
            "path": "/a", "include_mounted_folders": true, "include_media_info": false
        }))
        .unwrap();
        assert_eq!(arg.path, "/a");
    }

    #[test]
    fn longpoll_timeout_defaults_to_thirty_seconds() {
        let arg: ListFolderLongpollArg = serde_json::from_value(json!({"cursor": "c"})).unwrap();
        assert_eq!(arg.timeout, LONGPOLL_TIMEOUT_DEFAULT_SECS);
    }

    #[test]
    fn longpoll_timeout_is_clamped_into_the_accepted_range() {
        assert_eq!(
            ListFolderLongpollArg::new("c", 5).timeout,
            LONGPOLL_TIMEOUT_MIN_SECS
        );
        assert_eq!(ListFolderLongpollArg::new("c", 120).timeout, 120);
        assert_eq!(
            ListFolderLongpollArg::new("c", 9999).timeout,
            LONGPOLL_TIMEOUT_MAX_SECS
        );
    }

    #[test]
    fn longpoll_result_without_backoff_omits_it() {
        let result = ListFolderLongpollResult {
            changes: true,
            backoff: None,
        };
        assert_eq!(
            serde_json::to_value(&result).unwrap(),
            json!({"changes": true})
        );
    }

    #[test]
    fn write_mode_accepts_the_add_shorthand_and_the_tagged_form() {
        for input in [json!("add"), json!({".tag": "add"})] {
            assert_eq!(
                serde_json::from_value::<WriteMode>(input).unwrap(),
                WriteMode::Add
            );
        }
        for input in [json!("overwrite"), json!({".tag": "overwrite"})] {
            assert_eq!(
                serde_json::from_value::<WriteMode>(input).unwrap(),
                WriteMode::Overwrite
            );
        }
    }

    #[test]
    fn write_mode_update_is_nested_by_name() {
        let mode = WriteMode::Update("a1c10ce0dd78".into());
        let value = serde_json::to_value(&mode).unwrap();
        assert_eq!(value, json!({".tag": "update", "update": "a1c10ce0dd78"}));
        assert_eq!(serde_json::from_value::<WriteMode>(value).unwrap(), mode);
    }

    #[test]
    fn write_mode_rejects_unknown_or_incomplete_modes() {
        assert!(serde_json::from_value::<WriteMode>(json!("append")).is_err());
        assert!(serde_json::from_value::<WriteMode>(json!("update")).is_err());
        assert!(serde_json::from_value::<WriteMode>(json!({".tag": "update"})).is_err());
    }

    #[test]
    fn minimal_upload_request_gets_stone_defaults() {
        let arg: UploadArg = serde_json::from_value(json!({"path": "/a.txt"})).unwrap();
        assert_eq!(arg.mode, WriteMode::Add);
        assert!(!arg.autorename && !arg.mute && !arg.strict_conflict);
        assert_eq!(arg.content_hash, None);
    }

    #[test]
    fn upload_request_omits_mute_and_strict_conflict_at_default() {
        let arg = UploadArg {
            path: "/a.txt".into(),
            mode: WriteMode::Overwrite,
            autorename: false,
            mute: false,
            strict_conflict: false,
            content_hash: None,
        };
        assert_eq!(
            serde_json::to_value(&arg).unwrap(),
            json!({"path": "/a.txt", "mode": "overwrite", "autorename": false})
        );
    }

    #[test]
    fn delete_without_parent_rev_omits_it() {
        let arg = DeleteArg {
            path: "/a".into(),
            parent_rev: None,
        };
        assert_eq!(serde_json::to_value(&arg).unwrap(), json!({"path": "/a"}));
    }

    #[test]
    fn batch_launch_and_status_tolerate_new_tags() {
        let launch: DeleteBatchLaunch =
            serde_json::from_value(json!({".tag": "queued", "eta": 3})).unwrap();
        assert_eq!(launch, DeleteBatchLaunch::Other);
        let status: DeleteBatchJobStatus =
            serde_json::from_value(json!({".tag": "paused"})).unwrap();
        assert_eq!(status, DeleteBatchJobStatus::Other);
    }

    #[test]
    fn batch_failed_status_nests_its_reason_by_name() {
        let status = DeleteBatchJobStatus::Failed {
            failed: DeleteBatchError::TooManyWriteOperations,
        };
        let value = json!({".tag": "failed", "failed": {".tag": "too_many_write_operations"}});
        assert_eq!(serde_json::to_value(&status).unwrap(), value);
        assert_eq!(
            serde_json::from_value::<DeleteBatchJobStatus>(value).unwrap(),
            status
        );
    }

    #[test]
    fn in_progress_is_a_bare_tag() {
        assert_eq!(
            serde_json::to_value(DeleteBatchJobStatus::InProgress).unwrap(),
            json!({".tag": "in_progress"})
        );
    }

    #[test]
    fn upload_result_parses_as_file_metadata() {
        let file: FileMetadata = serde_json::from_value(json!({
            "name": "r.txt", "id": "id:r", "rev": "0123456789", "size": 10,
            "client_modified": "2026-01-02T03:04:05Z", "server_modified": "2026-01-02T03:04:05Z"
        }))
        .unwrap();
        assert_eq!(file.rev, "0123456789");
    }
}

/// `files/move_v2` argument (Stone `RelocationArg`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelocationArg {
    pub from_path: String,
    pub to_path: String,
    #[serde(default)]
    pub autorename: bool,
    #[serde(default)]
    pub allow_ownership_transfer: bool,
}

/// `files/move_v2` result: the moved entry, tagged (its declared type is `Metadata`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelocationResult {
    pub metadata: Metadata,
}
