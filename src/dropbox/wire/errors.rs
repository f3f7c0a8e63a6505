//! Error bodies and the typed route errors inside them, as Stone unions:
//! a union-typed member is nested under its own name, a struct-typed member is inlined, and
//! open unions end in a catch-all `Other` for tags added after this was written.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The JSON body of a 409 (route error), 401 (`AuthError`) or JSON 429 (`RateLimitError`).
///
/// `E` defaults to raw JSON; pass the route's error type to parse it in one go.
/// `error_summary` is for logs and the per-file error detail only — switch on `error`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorBody<E = Value> {
    pub error_summary: String,
    pub error: E,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_message: Option<LocalizedText>,
}

impl<E: Serialize> ApiErrorBody<E> {
    /// The body Dropbox would send for `error`, with its canonical `error_summary`.
    pub fn new(error: E) -> Self {
        Self {
            error_summary: error_summary(&error),
            error,
            user_message: None,
        }
    }
}

/// A message meant for end users, in `locale` (Stone `LocalizedText`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalizedText {
    pub text: String,
    pub locale: String,
}

/// Marks the end of every summary, as in `path/not_found/..`.
const SUMMARY_END: &str = "..";
const TAG_KEY: &str = ".tag";

/// The `error_summary` Dropbox puts next to `error`: the chain of union tags joined by `/`, then
/// `/..` — e.g. `path/not_found/..`, `path/conflict/folder/..`, and for a `RateLimitError`
/// struct the tag of its `reason`: `too_many_write_operations/..`.
///
/// Works on the serialized form so every error type here (and raw JSON) gets the same rule.
/// Dropbox's own suffix varies; clients must never parse it.
pub fn error_summary<E: Serialize + ?Sized>(error: &E) -> String {
    let mut parts: Vec<String> = Vec::new();
    // The error types here are plain enums and structs of strings, which always serialize.
    if let Ok(value) = serde_json::to_value(error) {
        collect_tags(&value, &mut parts);
    }
    parts.push(SUMMARY_END.to_owned());
    parts.join("/")
}

fn collect_tags(value: &Value, parts: &mut Vec<String>) {
    let Some(object) = value.as_object() else {
        return;
    };
    if let Some(tag) = object.get(TAG_KEY).and_then(Value::as_str) {
        parts.push(tag.to_owned());
        // A union-typed member sits under the tag's own name (`{".tag":"path","path":{…}}`).
        if let Some(member) = object.get(tag) {
            collect_tags(member, parts);
            return;
        }
    }
    // A struct (or a struct-typed member inlined next to `.tag`, like `UploadWriteFailed`):
    // continue into its union-typed field, e.g. `reason`.
    if let Some(union_field) = object
        .iter()
        .find(|(key, field)| *key != TAG_KEY && field.get(TAG_KEY).is_some())
        .map(|(_, field)| field)
    {
        collect_tags(union_field, parts);
    }
}

/// Why a path could not be resolved (files.stone `LookupError`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = ".tag", rename_all = "snake_case")]
pub enum LookupError {
    MalformedPath {
        /// `MalformedPathError = String?`: an optional explanation.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        malformed_path: Option<String>,
    },
    NotFound,
    NotFile,
    NotFolder,
    /// Blocked (e.g. copyright); never retry.
    RestrictedContent,
    UnsupportedContentType,
    Locked,
    #[serde(other)]
    Other,
}

/// Why a write was refused (files.stone `WriteError`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = ".tag", rename_all = "snake_case")]
pub enum WriteError {
    MalformedPath {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        malformed_path: Option<String>,
    },
    Conflict {
        conflict: WriteConflictError,
    },
    NoWritePermission,
    /// Stops all writes for the account.
    InsufficientSpace,
    DisallowedName,
    TeamFolder,
    OperationSuppressed,
    /// Namespace lock contention: back off and retry, like a 429.
    TooManyWriteOperations,
    AccessRestricted,
    #[serde(other)]
    Other,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = ".tag", rename_all = "snake_case")]
pub enum WriteConflictError {
    File,
    Folder,
    FileAncestor,
    #[serde(other)]
    Other,
}

/// `files/list_folder`; `template_error` and later tags land in `Other`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = ".tag", rename_all = "snake_case")]
pub enum ListFolderError {
    Path {
        path: LookupError,
    },
    #[serde(other)]
    Other,
}

/// `files/list_folder/continue`: `path` means the listed folder itself is gone, `reset` that the
/// cursor expired — both mean list again from scratch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = ".tag", rename_all = "snake_case")]
pub enum ListFolderContinueError {
    Path {
        path: LookupError,
    },
    Reset,
    #[serde(other)]
    Other,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = ".tag", rename_all = "snake_case")]
pub enum ListFolderLongpollError {
    Reset,
    #[serde(other)]
    Other,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = ".tag", rename_all = "snake_case")]
pub enum DownloadError {
    Path {
        path: LookupError,
    },
    /// Needs an export (Google/Paper docs), not a download.
    UnsupportedFile,
    #[serde(other)]
    Other,
}

/// A closed union in files.stone, so no catch-all.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = ".tag", rename_all = "snake_case")]
pub enum GetMetadataError {
    Path { path: LookupError },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = ".tag", rename_all = "snake_case")]
pub enum UploadError {
    /// `UploadWriteFailed` is a struct, so its fields sit next to `.tag`.
    Path {
        reason: WriteError,
        upload_session_id: String,
    },
    ContentHashMismatch,
    PayloadTooLarge,
    #[serde(other)]
    Other,
}

/// A closed union in files.stone, so no catch-all. `path/conflict/folder` on an account folder
/// means it already exists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = ".tag", rename_all = "snake_case")]
pub enum CreateFolderError {
    Path { path: WriteError },
}

/// `files/delete_v2` and failed `delete_batch` entries. Which tag a `parent_rev` mismatch gets is
/// undocumented: treat any of them as "not deleted" and re-check with `get_metadata`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = ".tag", rename_all = "snake_case")]
pub enum DeleteError {
    PathLookup {
        path_lookup: LookupError,
    },
    PathWrite {
        path_write: WriteError,
    },
    TooManyWriteOperations,
    TooManyFiles,
    #[serde(other)]
    Other,
}

/// `files/move_v2` (Stone `RelocationError`, the members we act on).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = ".tag", rename_all = "snake_case")]
pub enum RelocationError {
    FromLookup {
        from_lookup: LookupError,
    },
    FromWrite {
        from_write: WriteError,
    },
    To {
        to: WriteError,
    },
    CantMoveFolderIntoItself,
    TooManyFiles,
    #[serde(other)]
    Other,
}

/// Dropbox does not always send `retry_after`; Stone's default then applies (auth.stone).
pub const RATE_LIMIT_DEFAULT_RETRY_AFTER_SECS: u64 = 1;

fn default_retry_after() -> u64 {
    RATE_LIMIT_DEFAULT_RETRY_AFTER_SECS
}

/// The JSON body of a 429 (a struct, so no `.tag` of its own). The `Retry-After` header, when
/// present, is the better source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimitError {
    pub reason: RateLimitReason,
    #[serde(default = "default_retry_after")]
    pub retry_after: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = ".tag", rename_all = "snake_case")]
pub enum RateLimitReason {
    TooManyRequests,
    TooManyWriteOperations,
    #[serde(other)]
    Other,
}

/// The body of a 401. Only `expired_access_token` is healed by a refresh; the others need the
/// admin to re-link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = ".tag", rename_all = "snake_case")]
pub enum AuthError {
    InvalidAccessToken,
    InvalidSelectUser,
    InvalidSelectAdmin,
    /// May be temporary.
    UserSuspended,
    ExpiredAccessToken,
    /// `TokenScopeError` is a struct, so `required_scope` sits next to `.tag`.
    MissingScope {
        required_scope: String,
    },
    RouteAccessDenied,
    #[serde(other)]
    Other,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn summary_of_a_nested_lookup_error() {
        let error = ListFolderError::Path {
            path: LookupError::NotFound,
        };
        assert_eq!(error_summary(&error), "path/not_found/..");
    }

    #[test]
    fn summary_of_a_delete_lookup_failure() {
        let error = DeleteError::PathLookup {
            path_lookup: LookupError::NotFound,
        };
        assert_eq!(error_summary(&error), "path_lookup/not_found/..");
    }

    #[test]
    fn summary_follows_three_levels() {
        let error = CreateFolderError::Path {
            path: WriteError::Conflict {
                conflict: WriteConflictError::Folder,
            },
        };
        assert_eq!(error_summary(&error), "path/conflict/folder/..");
    }

    #[test]
    fn summary_goes_through_an_inlined_struct_member() {
        let error = UploadError::Path {
            reason: WriteError::Conflict {
                conflict: WriteConflictError::File,
            },
            upload_session_id: "s1".into(),
        };
        assert_eq!(error_summary(&error), "path/conflict/file/..");
    }

    #[test]
    fn summary_of_void_members_and_structs() {
        assert_eq!(error_summary(&ListFolderContinueError::Reset), "reset/..");
        assert_eq!(
            error_summary(&AuthError::ExpiredAccessToken),
            "expired_access_token/.."
        );
        let missing = AuthError::MissingScope {
            required_scope: "files.content.read".into(),
        };
        assert_eq!(error_summary(&missing), "missing_scope/..");
        let rate = RateLimitError {
            reason: RateLimitReason::TooManyRequests,
            retry_after: 300,
        };
        assert_eq!(error_summary(&rate), "too_many_requests/..");
    }

    #[test]
    fn summary_skips_a_malformed_path_explanation() {
        let error = LookupError::MalformedPath {
            malformed_path: Some("bad".into()),
        };
        assert_eq!(error_summary(&error), "malformed_path/..");
    }

    #[test]
    fn body_for_the_emulator_carries_summary_and_error() {
        let body = ApiErrorBody::new(DownloadError::UnsupportedFile);
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"error_summary": "unsupported_file/..", "error": {".tag": "unsupported_file"}})
        );
    }

    #[test]
    fn new_error_tags_fall_into_other_at_every_level() {
        let outer: ListFolderError =
            serde_json::from_value(json!({".tag": "template_error", "template_error": {}}))
                .unwrap();
        assert_eq!(outer, ListFolderError::Other);
        let inner: DownloadError =
            serde_json::from_value(json!({".tag": "path", "path": {".tag": "quarantined"}}))
                .unwrap();
        assert_eq!(
            inner,
            DownloadError::Path {
                path: LookupError::Other
            }
        );
        let write: DeleteError = serde_json::from_value(json!({
            ".tag": "path_write", "path_write": {".tag": "conflict", "conflict": {".tag": "new"}}
        }))
        .unwrap();
        assert_eq!(
            write,
            DeleteError::PathWrite {
                path_write: WriteError::Conflict {
                    conflict: WriteConflictError::Other
                }
            }
        );
        let reason: RateLimitError =
            serde_json::from_value(json!({"reason": {".tag": "too_many_moons"}})).unwrap();
        assert_eq!(reason.reason, RateLimitReason::Other);
    }

    #[test]
    fn malformed_path_with_and_without_explanation() {
        for input in [
            json!({".tag": "malformed_path"}),
            json!({".tag": "malformed_path", "malformed_path": null}),
        ] {
            assert_eq!(
                serde_json::from_value::<LookupError>(input).unwrap(),
                LookupError::MalformedPath {
                    malformed_path: None
                }
            );
        }
        let explained: LookupError =
            serde_json::from_value(json!({".tag": "malformed_path", "malformed_path": "why"}))
                .unwrap();
        assert_eq!(
            serde_json::to_value(&explained).unwrap(),
            json!({".tag": "malformed_path", "malformed_path": "why"})
        );
    }

    #[test]
    fn upload_write_failure_inlines_its_fields() {
        let value = json!({
            ".tag": "path",
            "reason": {".tag": "insufficient_space"},
            "upload_session_id": "s1"
        });
        let error: UploadError = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(
            error,
            UploadError::Path {
                reason: WriteError::InsufficientSpace,
                upload_session_id: "s1".into()
            }
        );
        assert_eq!(serde_json::to_value(&error).unwrap(), value);
    }

    #[test]
    fn missing_scope_inlines_required_scope() {
        let value = json!({".tag": "missing_scope", "required_scope": "files.content.write"});
        let error: AuthError = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(
            error,
            AuthError::MissingScope {
                required_scope: "files.content.write".into()
            }
        );
        assert_eq!(serde_json::to_value(&error).unwrap(), value);
    }

    #[test]
    fn retry_after_defaults_to_one_second() {
        let error: RateLimitError =
            serde_json::from_value(json!({"reason": {".tag": "too_many_write_operations"}}))
                .unwrap();
        assert_eq!(error.retry_after, RATE_LIMIT_DEFAULT_RETRY_AFTER_SECS);
    }

    #[test]
    fn error_body_keeps_user_message_and_ignores_extras() {
        let body: ApiErrorBody<GetMetadataError> = serde_json::from_value(json!({
            "error_summary": "path/not_found/...",
            "error": {".tag": "path", "path": {".tag": "not_found"}},
            "user_message": {"text": "Not found.", "locale": "en"},
            "request_id": "abc"
        }))
        .unwrap();
        assert_eq!(
            body.error,
            GetMetadataError::Path {
                path: LookupError::NotFound
            }
        );
        assert_eq!(body.user_message.unwrap().text, "Not found.");
    }

    #[test]
    fn untyped_error_body_keeps_raw_json() {
        let body: ApiErrorBody = serde_json::from_value(json!({
            "error_summary": "other/..", "error": {".tag": "other"}
        }))
        .unwrap();
        assert_eq!(body.error, json!({".tag": "other"}));
        assert_eq!(error_summary(&body.error), "other/..");
    }
}
