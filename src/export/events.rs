//! What the export engine reports while it works; a front end renders these (the CLI prints
//! lines and bars, the console can show them in its queue).

use serde::Serialize;

use crate::dropbox::sending::SentVia;

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ExportEvent {
    /// The files are chosen and the folder is there.
    Planned {
        account: String,
        folder: String,
        files: usize,
        bytes: u64,
    },
    /// Bytes of file `index` sent so far (at most a few times a second per file).
    Progress {
        index: usize,
        name: String,
        bytes: u64,
        total: u64,
    },
    Sent {
        index: usize,
        name: String,
        /// Where it landed (renamed if the name was taken).
        path: String,
        via: SentVia,
    },
    /// Will be tried again (`attempt` of the allowed ones failed).
    Retrying {
        index: usize,
        name: String,
        attempt: u32,
        reason: String,
    },
    Failed {
        index: usize,
        name: String,
        reason: String,
    },
}
