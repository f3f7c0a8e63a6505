//! Turning a Smartimage account name into the name of its folder in Dropbox. Dropbox (and the
//! desktop clients that sync it to Windows and macOS) cannot hold some characters in names, so
//! those become `_`; the result is never empty, `.` or `..`, and fits Dropbox's 255-byte limit.

/// Longest name component Dropbox accepts, in bytes.
pub const MAX_NAME_BYTES: usize = 255;
const REPLACEMENT: char = '_';

fn is_forbidden(ch: char) -> bool {
    ch.is_control() || matches!(ch, '/' | '\\' | '<' | '>' | ':' | '"' | '|' | '?' | '*')
}

/// The Dropbox folder name for an account name.
pub fn folder_name_for(account_name: &str) -> String {
    let replaced: String = account_name
        .trim()
        .chars()
        .map(|c| if is_forbidden(c) { REPLACEMENT } else { c })
        .collect();
    // Windows cannot sync names ending in a dot or a space.
    let trimmed = replaced.trim_end_matches(['.', ' ']);
    let mut name = String::new();
    for ch in trimmed.chars() {
        if name.len() + ch.len_utf8() > MAX_NAME_BYTES {
            break;
        }
        name.push(ch);
    }
    if name.is_empty() || name == "." || name == ".." {
        return REPLACEMENT.to_string();
    }
    name
}

/// The app-folder path of an account's folder (`/Acme Marketing`).
pub fn folder_path_for(account_name: &str) -> String {
    format!("/{}", folder_name_for(account_name))
}

/// Added to an account folder's name to name the folder exports go to, beside it.
pub const DOWNLOADS_SUFFIX: &str = " (from Smartimage)";

/// The downloads folder beside `import_folder` (`/Acme` → `/Acme (from Smartimage)`), shortened
/// so the name with its suffix still fits Dropbox's limit.
pub fn downloads_folder_path(import_folder: &str) -> String {
    let trimmed = import_folder.trim_end_matches('/');
    let (parent, name) = trimmed.rsplit_once('/').unwrap_or(("", trimmed));
    let mut base = String::new();
    for ch in name.chars() {
        if base.len() + ch.len_utf8() + DOWNLOADS_SUFFIX.len() > MAX_NAME_BYTES {
            break;
        }
        base.push(ch);
    }
    format!("{parent}/{base}{DOWNLOADS_SUFFIX}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_are_kept() {
        assert_eq!(folder_name_for("Acme Marketing"), "Acme Marketing");
        assert_eq!(
            folder_name_for("Café Ünïcode 日本 😀"),
            "Café Ünïcode 日本 😀"
        );
        assert_eq!(folder_path_for("Acme"), "/Acme");
    }

    #[test]
    fn forbidden_characters_become_underscores() {
        assert_eq!(
            folder_name_for("A/B\\C:D*E?F\"G<H>I|J"),
            "A_B_C_D_E_F_G_H_I_J"
        );
        assert_eq!(folder_name_for("tab\there"), "tab_here");
    }

    #[test]
    fn trailing_dots_and_spaces_go_and_nothing_is_left_empty() {
        assert_eq!(folder_name_for("Acme Inc."), "Acme Inc");
        assert_eq!(folder_name_for(".."), "_");
        assert_eq!(folder_name_for("..."), "_");
        assert_eq!(folder_name_for("   "), "_");
    }

    #[test]
    fn long_names_are_cut_at_a_character_boundary_within_255_bytes() {
        let name = folder_name_for(&"é".repeat(200));
        assert!(name.len() <= MAX_NAME_BYTES);
        assert_eq!(name.chars().count(), 127);
    }
}
