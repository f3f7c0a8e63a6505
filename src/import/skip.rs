//! Files the scanner passes over silently: system and sync-client files that are not the
//! admin's content (rclone's ignore list), and our own error reports.

use crate::dropbox::system_files::is_never_stored;
use crate::import::report::is_report_name;

/// True for names the scanner never queues: [`is_system_file`]s, and names our error reports
/// have (this version's and earlier ones'), which are never imported, counted or listed.
pub fn is_passed_over(name: &str) -> bool {
    is_system_file(name) || is_report_name(name)
}

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
    fn passes_over_our_reports_under_any_of_their_names() {
        for name in [
            "Smartimage upload errors.txt",
            "Smartimage upload errors 2026-11-27T14-05-09Z.txt",
            "smartimage upload errors (1).TXT",
        ] {
            assert!(is_passed_over(name), "{name:?}");
            assert!(!is_system_file(name), "{name:?}");
        }
        assert!(!is_passed_over("Smartimage upload errors.txt.exe"));
        assert!(is_passed_over("Thumbs.db"));
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
