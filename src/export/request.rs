//! What a front end asks the export engine for.

use crate::library::model::FileId;
use crate::library::outgoing::OutgoingSelection;

/// Send files of one account to its Dropbox downloads folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportRequest {
    pub account: String,
    pub selection: OutgoingSelection,
    /// A folder inside the downloads folder. `None` with a collection: one named after it.
    pub subfolder: Option<String>,
}

/// What to share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShareTarget {
    /// A path in the downloads folder (`Summer/photo.jpg`), or an app-folder path (`/…`) inside
    /// the account's own import or downloads folder.
    Path(String),
    /// A library file: its copy in the downloads folder, sent first if there is none.
    File(FileId),
    /// A collection's folder in the downloads folder (export it first).
    Collection(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareRequest {
    pub account: String,
    pub target: ShareTarget,
}
