//! The `sharing/*` routes used to share what was sent to Dropbox (sharing.stone):
//! `create_shared_link_with_settings` and `list_shared_links`. A link's metadata is a struct
//! with enumerated subtypes, tagged `file` or `folder`.

use serde::{Deserialize, Serialize};

use super::errors::LookupError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateSharedLinkWithSettingsArg {
    pub path: String,
    /// Left out: the team's defaults (a public, view-only link).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<serde_json::Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListSharedLinksArg {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Only links to `path` itself, not to folders above it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direct_only: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListSharedLinksResult {
    pub links: Vec<SharedLinkMetadata>,
    pub has_more: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// A bare union tag such as `{".tag": "public"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    #[serde(rename = ".tag")]
    pub tag: String,
}

impl Tag {
    pub fn new(tag: &str) -> Self {
        Tag {
            tag: tag.to_owned(),
        }
    }
}

/// `LinkPermissions`: the fields sharing.stone requires, plus the visibility a person reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkPermissions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_visibility: Option<Tag>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_visibility: Option<Tag>,
    pub can_revoke: bool,
    #[serde(default)]
    pub visibility_policies: Vec<serde_json::Value>,
    pub can_set_expiry: bool,
    pub can_remove_expiry: bool,
    pub allow_download: bool,
    pub can_allow_download: bool,
    pub can_disallow_download: bool,
    pub allow_comments: bool,
    pub team_restricts_comments: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_audience: Option<Tag>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_access_level: Option<Tag>,
}

/// `SharedLinkMetadata` with its subtype tag: `file` links also carry the file's revision,
/// size and times; `folder` links only the common fields. Other tags are kept as they are.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedLinkMetadata {
    #[serde(rename = ".tag")]
    pub tag: String,
    pub url: String,
    pub name: String,
    pub link_permissions: LinkPermissions,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_lower: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_modified: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_modified: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rev: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

pub const SHARED_LINK_FILE_TAG: &str = "file";
pub const SHARED_LINK_FOLDER_TAG: &str = "folder";

/// `shared_link_already_exists` carries, when Dropbox can say, the existing link (nested
/// under `metadata`, a union member of struct type with subtypes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = ".tag", rename_all = "snake_case")]
pub enum SharedLinkAlreadyExistsMetadata {
    Metadata {
        metadata: Box<SharedLinkMetadata>,
    },
    #[serde(other)]
    Other,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = ".tag", rename_all = "snake_case")]
pub enum CreateSharedLinkWithSettingsError {
    Path {
        path: LookupError,
    },
    EmailNotVerified,
    /// Nullable in the spec: Dropbox may leave the existing link out.
    SharedLinkAlreadyExists {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        shared_link_already_exists: Option<SharedLinkAlreadyExistsMetadata>,
    },
    SettingsError,
    AccessDenied,
    BannedMember,
    TooManySharedFolders,
    #[serde(other)]
    Other,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = ".tag", rename_all = "snake_case")]
pub enum ListSharedLinksError {
    Path {
        path: LookupError,
    },
    Reset,
    PermissionDenied,
    #[serde(other)]
    Other,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn existing_link_rides_in_the_conflict() {
        let body = json!({
            ".tag": "shared_link_already_exists",
            "shared_link_already_exists": {
                ".tag": "metadata",
                "metadata": {
                    ".tag": "file", "url": "https://www.dropbox.com/scl/fi/x/a.jpg?dl=0",
                    "name": "a.jpg", "path_lower": "/a/a.jpg", "id": "id:1", "rev": "0123456789",
                    "size": 3, "client_modified": "2026-01-01T00:00:00Z",
                    "server_modified": "2026-01-01T00:00:00Z",
                    "link_permissions": {
                        "can_revoke": true, "visibility_policies": [], "can_set_expiry": false,
                        "can_remove_expiry": false, "allow_download": true,
                        "can_allow_download": true, "can_disallow_download": false,
                        "allow_comments": true, "team_restricts_comments": false
                    }
                }
            }
        });
        let error: CreateSharedLinkWithSettingsError = serde_json::from_value(body).unwrap();
        let CreateSharedLinkWithSettingsError::SharedLinkAlreadyExists {
            shared_link_already_exists: Some(SharedLinkAlreadyExistsMetadata::Metadata { metadata }),
        } = error
        else {
            panic!("not the existing link: {error:?}");
        };
        assert_eq!(metadata.tag, SHARED_LINK_FILE_TAG);
        assert_eq!(metadata.path_lower.as_deref(), Some("/a/a.jpg"));
    }

    #[test]
    fn bare_already_exists_is_understood() {
        let error: CreateSharedLinkWithSettingsError =
            serde_json::from_value(json!({".tag": "shared_link_already_exists"})).unwrap();
        assert_eq!(
            error,
            CreateSharedLinkWithSettingsError::SharedLinkAlreadyExists {
                shared_link_already_exists: None
            }
        );
    }
}
