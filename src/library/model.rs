//! Plain records of the library: what the store returns and the front ends display.

use serde::Serialize;

pub use super::ids::{AccountId, AdminId, BatchId, CollectionId, FileId, LinkId};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    pub plan: String,
    pub created_at: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "owner" => Some(Role::Owner),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Admin {
    pub id: AdminId,
    pub email: String,
    pub name: String,
    pub os_user: Option<String>,
    pub is_operator: bool,
}

/// One admin's role in one account, plus whether an owner delegated Dropbox uploads to them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Membership {
    pub account: AccountId,
    pub account_name: String,
    pub admin: AdminId,
    pub admin_email: String,
    pub role: Role,
    pub delegated: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Dropbox,
    Upload,
    /// Brought back by `check --adopt`: bytes the blob store kept that the database did not
    /// know (a restored backup).
    Recovered,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Dropbox => "dropbox",
            Source::Upload => "upload",
            Source::Recovered => "recovered",
        }
    }
    pub fn parse(s: &str) -> Option<Source> {
        match s {
            "dropbox" => Some(Source::Dropbox),
            "upload" => Some(Source::Upload),
            "recovered" => Some(Source::Recovered),
            _ => None,
        }
    }
    /// The badge users see ("Dropbox upload" is the article's wording).
    pub fn label(self) -> &'static str {
        match self {
            Source::Dropbox => "Dropbox upload",
            Source::Upload => "Upload",
            Source::Recovered => "Recovered",
        }
    }
}

/// Where a Dropbox upload came from; kept with the file for good.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DropboxOrigin {
    pub link: LinkId,
    pub path: String,
    pub id: String,
    pub rev: String,
    pub content_hash: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewFile {
    pub account: AccountId,
    pub name: String,
    pub size: u64,
    pub kind: String,
    pub format: String,
    pub mime: String,
    pub sha256: String,
    pub source: Source,
    pub uploaded_by: Option<AdminId>,
    pub imported_at: i64,
    pub dropbox: Option<DropboxOrigin>,
    /// The import pass or upload that brought it in (`import history`, `import undo`).
    pub batch: Option<BatchId>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileRecord {
    pub id: FileId,
    pub account: AccountId,
    pub account_name: String,
    pub name: String,
    pub size: u64,
    pub kind: String,
    pub format: String,
    pub mime: String,
    pub sha256: String,
    pub source: Source,
    pub uploaded_by: Option<String>,
    pub imported_at: i64,
    pub dropbox_path: Option<String>,
    pub collections: Vec<String>,
    /// When it went to the trash (unix seconds); `None` for a file in the library.
    pub trashed_at: Option<i64>,
    /// The account's oldest file with the same bytes, not in the trash, when that is another
    /// file: this one is a duplicate of it (`store::files::DUPLICATE_OF`).
    pub duplicate_of: Option<FileId>,
    /// The import pass or upload that brought it in, if it came after batches existed.
    pub batch: Option<BatchId>,
    /// When it was taken, as the camera's clock says (`YYYY-MM-DDTHH:MM:SS`), if it says.
    pub taken: Option<String>,
    /// Camera make and model, if the file says.
    pub camera: Option<String>,
    /// Its place in a capture-time sort: `taken`, or the import time (UTC) without one.
    pub taken_sort: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Collection {
    pub id: CollectionId,
    pub account: AccountId,
    pub name: String,
    pub file_count: u64,
    pub created_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub account: Option<String>,
    pub target: String,
    pub detail: Option<String>,
}
