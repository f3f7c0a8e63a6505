//! File, folder and deleted-entry metadata — the Stone "struct with enumerated
//! subtypes" `Metadata`, tagged by `.tag` only where the declared type is the parent.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;

use super::timestamp;

/// A listing entry or any other value declared as `Metadata`: `{".tag": "file", …fields}`.
///
/// Dropbox may add subtypes; an unknown `.tag` becomes [`Metadata::Unknown`] (keeping its tag
/// and paths for logging) instead of failing the whole listing (Stone: unknown tags must be
/// tolerated). `serde(other)` cannot do that, as it only fits unit variants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Metadata {
    File(FileMetadata),
    Folder(FolderMetadata),
    Deleted(DeletedMetadata),
    Unknown(UnknownMetadata),
}

const FILE_TAG: &str = "file";
const FOLDER_TAG: &str = "folder";
const DELETED_TAG: &str = "deleted";

impl Metadata {
    /// The last path component; `None` only for an unknown subtype that lacks it.
    pub fn name(&self) -> Option<&str> {
        match self {
            Metadata::File(file) => Some(&file.name),
            Metadata::Folder(folder) => Some(&folder.name),
            Metadata::Deleted(deleted) => Some(&deleted.name),
            Metadata::Unknown(unknown) => unknown.name.as_deref(),
        }
    }

    /// The lower-cased path, the key to use for an entry; absent if unmounted.
    pub fn path_lower(&self) -> Option<&str> {
        match self {
            Metadata::File(file) => file.path_lower.as_deref(),
            Metadata::Folder(folder) => folder.path_lower.as_deref(),
            Metadata::Deleted(deleted) => deleted.path_lower.as_deref(),
            Metadata::Unknown(unknown) => unknown.path_lower.as_deref(),
        }
    }
}

/// Stands without `.tag` where the declared type is `FileMetadata`: the `files/upload` body and
/// the `Dropbox-API-Result` header of `files/download`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMetadata {
    pub name: String,
    /// Stable across renames and moves (`id:…`).
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_lower: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_display: Option<String>,
    /// Changes on every content change; what a conditional delete names.
    pub rev: String,
    pub size: u64,
    /// Client-supplied; for display only, never for change detection.
    #[serde(with = "timestamp")]
    pub client_modified: OffsetDateTime,
    #[serde(with = "timestamp")]
    pub server_modified: OffsetDateTime,
    /// Optional in the schema "just in case"; see `content_hash::ContentHasher`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
    /// `false` for Google/Paper documents that need an export instead of a download.
    #[serde(default = "stone_default_is_downloadable")]
    pub is_downloadable: bool,
    /// Never on the wire: set by a synced folder for a file whose name (or a folder's above it)
    /// is not valid UTF-8. `name` and the paths then hold the escaped form (see
    /// `local::identity::escape_name`), which names nothing that can be downloaded or deleted.
    #[serde(skip)]
    pub escaped_name: bool,
}

fn stone_default_is_downloadable() -> bool {
    true
}

/// Stands without `.tag` in `CreateFolderResult.metadata`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderMetadata {
    pub name: String,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_lower: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_display: Option<String>,
}

/// A change-feed entry for a removed path: drop it and everything below it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletedMetadata {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_lower: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_display: Option<String>,
}

/// A `Metadata` subtype this code does not know yet; its other fields are ignored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnknownMetadata {
    #[serde(rename = ".tag")]
    pub tag: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_lower: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_display: Option<String>,
}

/// The known subtypes with their tag, for serializing; borrowing avoids cloning each entry.
#[derive(Serialize)]
#[serde(tag = ".tag", rename_all = "snake_case")]
enum TaggedMetadataRef<'a> {
    File(&'a FileMetadata),
    Folder(&'a FolderMetadata),
    Deleted(&'a DeletedMetadata),
}

impl Serialize for Metadata {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Metadata::File(file) => TaggedMetadataRef::File(file).serialize(serializer),
            Metadata::Folder(folder) => TaggedMetadataRef::Folder(folder).serialize(serializer),
            Metadata::Deleted(deleted) => TaggedMetadataRef::Deleted(deleted).serialize(serializer),
            Metadata::Unknown(unknown) => unknown.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Metadata {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Buffer the object once (as serde's own internally tagged enums do), then pick the
        // subtype by tag. A known tag with a malformed body stays an error: only *new* kinds
        // are tolerated, not broken ones.
        let value = serde_json::Value::deserialize(deserializer)?;
        let tag = value
            .get(".tag")
            .ok_or_else(|| D::Error::missing_field(".tag"))?
            .as_str()
            .ok_or_else(|| D::Error::custom("`.tag` of a Metadata is not a string"))?;
        let parsed = match tag {
            FILE_TAG => FileMetadata::deserialize(value).map(Metadata::File),
            FOLDER_TAG => FolderMetadata::deserialize(value).map(Metadata::Folder),
            DELETED_TAG => DeletedMetadata::deserialize(value).map(Metadata::Deleted),
            _ => UnknownMetadata::deserialize(value).map(Metadata::Unknown),
        };
        parsed.map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    fn sample_file() -> FileMetadata {
        FileMetadata {
            name: "a.jpg".into(),
            id: "id:abc".into(),
            path_lower: Some("/acme/a.jpg".into()),
            path_display: Some("/Acme/a.jpg".into()),
            rev: "015f1a2b3c4d5e6f7".into(),
            size: 1234,
            client_modified: datetime!(2026-01-02 03:04:05 UTC),
            server_modified: datetime!(2026-01-02 03:04:06 UTC),
            content_hash: None,
            is_downloadable: true,
            escaped_name: false,
        }
    }

    #[test]
    fn file_entry_carries_its_tag_and_exact_timestamps() {
        let value = serde_json::to_value(Metadata::File(sample_file())).unwrap();
        assert_eq!(
            value,
            json!({".tag": "file", "name": "a.jpg", "id": "id:abc", "path_lower": "/acme/a.jpg",
                   "path_display": "/Acme/a.jpg", "rev": "015f1a2b3c4d5e6f7", "size": 1234,
                   "client_modified": "2026-01-02T03:04:05Z",
                   "server_modified": "2026-01-02T03:04:06Z", "is_downloadable": true})
        );
    }

    #[test]
    fn file_metadata_alone_has_no_tag() {
        let value = serde_json::to_value(sample_file()).unwrap();
        assert!(value.get(".tag").is_none());
    }

    #[test]
    fn every_known_kind_round_trips() {
        let entries = vec![
            Metadata::File(sample_file()),
            Metadata::Folder(FolderMetadata {
                name: "Acme".into(),
                id: "id:f".into(),
                path_lower: Some("/acme".into()),
                path_display: Some("/Acme".into()),
            }),
            Metadata::Deleted(DeletedMetadata {
                name: "old.png".into(),
                path_lower: Some("/acme/old.png".into()),
                path_display: None,
            }),
        ];
        let json = serde_json::to_string(&entries).unwrap();
        let back: Vec<Metadata> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, entries);
    }

    #[test]
    fn unknown_kind_is_tolerated_and_keeps_its_paths() {
        let entry: Metadata = serde_json::from_value(json!({
            ".tag": "symlink", "name": "link", "path_lower": "/acme/link",
            "target": "/elsewhere", "size": 3
        }))
        .unwrap();
        assert_eq!(
            entry,
            Metadata::Unknown(UnknownMetadata {
                tag: "symlink".into(),
                name: Some("link".into()),
                path_lower: Some("/acme/link".into()),
                path_display: None,
            })
        );
        assert_eq!(entry.path_lower(), Some("/acme/link"));
        let again: Metadata =
            serde_json::from_value(serde_json::to_value(&entry).unwrap()).unwrap();
        assert_eq!(again, entry);
    }

    #[test]
    fn known_kind_with_missing_fields_is_an_error() {
        let broken = json!({".tag": "file", "name": "a.jpg"});
        assert!(serde_json::from_value::<Metadata>(broken).is_err());
    }

    #[test]
    fn entry_without_tag_is_an_error() {
        assert!(serde_json::from_value::<Metadata>(json!({"name": "a"})).is_err());
    }

    #[test]
    fn unknown_fields_are_ignored_and_defaults_apply() {
        let file: FileMetadata = serde_json::from_value(json!({
            "name": "a.jpg", "id": "id:abc", "rev": "015f1a2b3c4d5e6f7", "size": 1,
            "client_modified": "2026-01-02T03:04:05Z", "server_modified": "2026-01-02T03:04:05Z",
            "sharing_info": {"read_only": false}, "file_lock_info": {"is_lockholder": true},
            "has_explicit_shared_members": false
        }))
        .unwrap();
        assert!(file.is_downloadable, "Stone default is true");
        assert_eq!(file.path_lower, None);
        assert_eq!(file.content_hash, None);
    }

    #[test]
    fn null_optional_fields_are_accepted() {
        let folder: FolderMetadata = serde_json::from_value(json!({
            "name": "x", "id": "id:x", "path_lower": null, "path_display": null
        }))
        .unwrap();
        assert_eq!(folder.path_lower, None);
    }
}
