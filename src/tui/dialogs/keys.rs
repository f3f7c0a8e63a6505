//! The keys each dialog takes, declared once: while a dialog is open the footer lists its
//! keys (not the pane's, which it does not get), the `?` help lists every dialog's under *In
//! dialogs*, and the collections dialogs draw their hint line from the same table. The
//! handling is in each dialog's `handle_key`; `tests` below keeps the two in step.

/// A key of a dialog and what it does there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DialogKey {
    /// How the key is written ("Enter", "y/Enter", "↑↓/jk").
    pub label: &'static str,
    pub does: &'static str,
}

const fn k(label: &'static str, does: &'static str) -> DialogKey {
    DialogKey { label, does }
}

/// The pencil, on its list.
pub const EDIT: &[DialogKey] = &[
    k("Enter", "add & save"),
    k("Space", "tick"),
    k("↑↓/jk", "move"),
    k("/", "filter"),
    k("Esc", "cancel"),
];
/// The name field of *New collection…* (pencil and batch add).
pub const NAMING: &[DialogKey] = &[k("Enter", "choose this name"), k("Esc", "leave the name")];
/// The filter field of a collection picker.
pub const FILTERING: &[DialogKey] = &[k("Enter/↓", "to the list"), k("Esc", "to the list")];
/// Batch add, picking the collection.
pub const BATCH_PICK: &[DialogKey] = &[
    k("Enter", "pick"),
    k("↑↓/jk", "move"),
    k("/", "filter"),
    k("Esc", "cancel"),
];
/// Batch add, confirming.
pub const BATCH_CONFIRM: &[DialogKey] = &[k("Enter/y", "add"), k("Esc/n", "back")];
pub const CONFIRM: &[DialogKey] = &[k("y/Enter", "yes"), k("n/Esc", "no")];
/// Delete, restore, undo an import.
pub const TRASH_CONFIRM: &[DialogKey] = &[k("Enter/y", "confirm"), k("Esc/n", "cancel")];
pub const NOTICE: &[DialogKey] = &[k("Enter/Esc", "close")];
pub const LINK_FOLDER: &[DialogKey] =
    &[k("Enter", "link"), k("Tab", "complete"), k("Esc", "cancel")];
/// The API link dialog; the key that copies its page is a `[keys]` action (`copy_link`) and
/// is added from the keymap.
pub const API_LINK: &[DialogKey] = &[k("Enter", "link"), k("Esc", "cancel")];
pub const PICK_ADMIN: &[DialogKey] =
    &[k("Enter", "choose"), k("↑↓/jk", "move"), k("Esc", "cancel")];
pub const UPLOAD: &[DialogKey] = &[
    k("Enter", "upload"),
    k("Tab", "complete"),
    k("Esc", "cancel"),
];
/// Upload… on *All accounts*: nothing to upload to until an account is picked.
pub const UPLOAD_NO_ACCOUNT: &[DialogKey] = &[k("Tab", "complete"), k("Esc", "cancel")];
pub const SEND: &[DialogKey] = &[k("Enter", "send"), k("Esc", "cancel")];
pub const SENT: &[DialogKey] = &[k("Enter/Esc", "close")];
pub const SENT_SHARE: &[DialogKey] = &[k("L", "share the folder"), k("Enter/Esc", "close")];
pub const SHARE: &[DialogKey] = &[k("Enter/Esc", "close")];

/// Every dialog with its keys, for the help overlay.
pub const ALL: &[(&str, &[DialogKey])] = &[
    ("Pencil", EDIT),
    ("New collection name", NAMING),
    ("Add to a collection", BATCH_PICK),
    ("Confirm adding", BATCH_CONFIRM),
    ("Questions", CONFIRM),
    ("Delete, restore, undo import", TRASH_CONFIRM),
    ("Notices", NOTICE),
    ("Link a synced folder", LINK_FOLDER),
    ("Link through the API", API_LINK),
    ("Delegate or revoke", PICK_ADMIN),
    ("Upload", UPLOAD),
    ("Send to Dropbox", SEND),
    ("Sent", SENT_SHARE),
    ("Shared link", SHARE),
];

/// "Enter add & save · Space tick · …", for a dialog's own hint line.
pub fn hint(keys: &[DialogKey]) -> String {
    keys.iter()
        .map(|k| format!("{} {}", k.label, k.does))
        .collect::<Vec<_>>()
        .join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::dialogs::send::SHARE_FOLDER_KEY;

    #[test]
    fn the_sent_dialog_names_the_key_that_shares() {
        assert_eq!(SENT_SHARE[0].label, SHARE_FOLDER_KEY.to_string());
    }

    #[test]
    fn every_dialog_says_how_it_closes() {
        for (name, keys) in ALL {
            assert!(
                keys.iter().any(|k| k.label.contains("Esc")),
                "{name} names no Esc"
            );
        }
    }
}
