//! Files the scanner passes over silently: system and sync-client files that are not the
//! admin's content (reference §1.4; rclone's ignore list).

/// Names Dropbox and desktop systems create on their own (compared case-insensitively).
const SYSTEM_FILES: &[&str] = &[
    "desktop.ini",
    "thumbs.db",
    ".ds_store",
    "icon\r",
    ".dropbox",
    ".dropbox.attr",
];

/// True for names that are never imported and never reported.
pub fn is_system_file(name: &str) -> bool {
    let lower = name.to_lowercase();
    SYSTEM_FILES.contains(&lower.as_str())
        || lower.starts_with(".dropbox")
        || lower.starts_with("~$")
        || lower.starts_with("._")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_system_and_sync_client_files() {
        for name in [
            "desktop.ini",
            "Thumbs.db",
            ".DS_Store",
            "Icon\r",
            ".dropbox",
            ".dropbox.cache",
            "~$report.docx",
            "._photo.jpg",
        ] {
            assert!(is_system_file(name), "{name:?}");
        }
    }

    #[test]
    fn keeps_ordinary_files_even_with_similar_names() {
        for name in [
            "desktop.ini.jpg",
            "Icon.png",
            "dropbox.png",
            "photo.jpg",
            ".hidden-but-real.mov",
        ] {
            assert!(!is_system_file(name), "{name:?}");
        }
    }
}
