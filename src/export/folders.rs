//! Where exported files go: the downloads folder beside the import folder
//! (`/Acme Marketing` → `/Acme Marketing (from Smartimage)`), and the names inside it. The
//! import scan lists only the account's own folder (and keeps only paths below
//! `folder + "/"`), so a sibling folder is never imported back.

pub use crate::dropbox::folder_name::DOWNLOADS_SUFFIX;
use crate::dropbox::folder_name::{downloads_folder_path, folder_name_for};

/// The downloads folder beside `import_folder` (an app-folder path such as `/Acme`).
pub fn downloads_folder(import_folder: &str) -> String {
    downloads_folder_path(import_folder)
}

/// A folder or file name safe in Dropbox and on the desktop clients that sync it.
pub fn safe_name(name: &str) -> String {
    folder_name_for(name)
}

/// `folder/sub/...` with each part of `subfolder` made safe; empty parts are dropped.
pub fn join_subfolder(folder: &str, subfolder: &str) -> String {
    subfolder
        .split('/')
        .filter(|part| !part.trim().is_empty() && *part != "." && *part != "..")
        .fold(folder.to_owned(), |path, part| {
            format!("{path}/{}", safe_name(part))
        })
}

/// Whether `path` is `folder` or inside it (case-insensitive, as Dropbox paths are).
pub fn is_within(path: &str, folder: &str) -> bool {
    let path = path.to_lowercase();
    let folder = folder.trim_end_matches('/').to_lowercase();
    path == folder || path.starts_with(&format!("{folder}/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dropbox::folder_name::MAX_NAME_BYTES;

    #[test]
    fn downloads_folder_sits_beside_the_import_folder() {
        assert_eq!(
            downloads_folder("/Acme Marketing"),
            "/Acme Marketing (from Smartimage)"
        );
        assert!(!is_within(
            "/acme marketing (from smartimage)/a.jpg",
            "/Acme Marketing"
        ));
        assert!(is_within("/acme marketing/a.jpg", "/Acme Marketing"));
    }

    #[test]
    fn long_names_still_fit_with_the_suffix() {
        let folder = format!("/{}", "é".repeat(127));
        let downloads = downloads_folder(&folder);
        let name = downloads.trim_start_matches('/');
        assert!(name.len() <= MAX_NAME_BYTES);
        assert!(name.ends_with(DOWNLOADS_SUFFIX));
    }

    #[test]
    fn subfolders_cannot_climb_out() {
        assert_eq!(
            join_subfolder("/A (from Smartimage)", "../x/./Summer: 2026"),
            "/A (from Smartimage)/x/Summer_ 2026"
        );
    }
}
