//! Files the scanner passes over silently: system and sync-client files that are not the
//! admin's content (reference §1.4; rclone's ignore list).

use crate::dropbox::system_files::is_never_stored;

/// True for names that are never imported and never reported: what Dropbox never stores, the
/// Dropbox client's own files, Office lock files and macOS resource forks.
pub fn is_system_file(name: &str) -> bool {
    let lower = name.to_lowercase();
    is_never_stored(&lower)
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
