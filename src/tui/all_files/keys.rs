//! What All Files' keys mean ([`FilesAction`], declared in `keymap.rs`) and the marking
//! helpers; what they do to the console is `App`'s (`app/files.rs`), which routes to
//! [`AllFiles`]. Pure.

use crate::library::ids::FileId;
use std::collections::BTreeSet;

use super::{AllFiles, Marked};

pub use crate::tui::keymap::FilesAction;

pub(crate) fn toggle(marked: &mut Marked, id: FileId) {
    match marked {
        Marked::Nothing => *marked = Marked::Ids(BTreeSet::from([id])),
        Marked::Ids(ids) => {
            if !ids.remove(&id) {
                ids.insert(id);
            }
        }
        Marked::Matching { exclude, .. } => {
            if !exclude.remove(&id) {
                exclude.insert(id);
            }
        }
    }
}

pub(crate) fn mark_all(marked: &mut Marked, ids: &[FileId]) {
    match marked {
        Marked::Nothing => *marked = Marked::Ids(ids.iter().copied().collect()),
        Marked::Ids(set) => set.extend(ids),
        Marked::Matching { exclude, .. } => {
            for id in ids {
                exclude.remove(id);
            }
        }
    }
}

/// For tests and the snapshot: the All Files state alone.
impl AllFiles {
    pub fn marked_label(&self) -> Option<String> {
        match self.marked.count() {
            Some(0) => None,
            Some(n) => Some(format!("{n} marked")),
            None => Some("counting marked…".into()),
        }
    }
}
