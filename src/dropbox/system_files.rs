//! Names Dropbox never stores (rclone's ignore list): system files of the
//! desktop platforms and the Dropbox client's own. Everything that scans a Dropbox folder —
//! the synced-folder backend, the emulator, the import engine — skips them by this one list.

const NEVER_STORED: &[&str] = &[
    "desktop.ini",
    "thumbs.db",
    ".ds_store",
    "icon\r",
    ".dropbox",
    ".dropbox.attr",
];

/// True for a name Dropbox would never hold (compared case-insensitively).
pub fn is_never_stored(name: &str) -> bool {
    NEVER_STORED.contains(&name.to_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_list_in_any_case_and_nothing_else() {
        for name in [
            "desktop.ini",
            "Thumbs.db",
            ".DS_Store",
            "Icon\r",
            ".dropbox",
            ".Dropbox.Attr",
        ] {
            assert!(is_never_stored(name), "{name:?}");
        }
        for name in ["Icon", "desktop.ini.jpg", "photo.jpg", ".dropbox.cache"] {
            assert!(!is_never_stored(name), "{name:?}");
        }
    }
}
