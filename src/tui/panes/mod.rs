//! One file per pane; each only reads [`super::app::App`] and draws into its area.

pub mod accounts;
pub mod errors;
pub mod file_dialogs;
pub mod file_preview;
pub mod files;
pub mod help;
pub mod queue;

/// The rows a list of `len` shows in `height` rows with `selected` in view — as a table keeps
/// its selection in view from the top. Only these rows are built, so a pane with ten thousand
/// entries costs what a screenful does.
pub fn visible_rows(selected: usize, len: usize, height: usize) -> std::ops::Range<usize> {
    let height = height.max(1);
    let start = selected
        .min(len.saturating_sub(1))
        .saturating_sub(height - 1);
    start..(start + height).min(len)
}

/// A path as the queue and the error log show it: a direct upload says so, and puts its file
/// name before its folder (a local path is long and would be cut before the name). Imports are
/// the pane's default and go unmarked.
pub fn source_marked(path: &str, upload: bool) -> std::borrow::Cow<'_, str> {
    if !upload {
        return path.into();
    }
    match path.rsplit_once('/') {
        Some((dir, name)) if !name.is_empty() => format!(
            "[upload] {name} in {}",
            if dir.is_empty() { "/" } else { dir }
        )
        .into(),
        _ => format!("[upload] {path}").into(),
    }
}

#[cfg(test)]
mod tests {
    use super::{source_marked, visible_rows};

    #[test]
    fn an_upload_is_marked_and_named_before_its_folder() {
        assert_eq!(source_marked("/Acme/a.png", false), "/Acme/a.png");
        assert_eq!(
            source_marked("/srv/shoots/a b.png", true),
            "[upload] a b.png in /srv/shoots"
        );
        assert_eq!(source_marked("/a.png", true), "[upload] a.png in /");
        assert_eq!(source_marked("rel.png", true), "[upload] rel.png");
    }

    #[test]
    fn the_window_keeps_the_selection_in_view() {
        assert_eq!(visible_rows(0, 10_000, 20), 0..20);
        assert_eq!(visible_rows(19, 10_000, 20), 0..20);
        assert_eq!(visible_rows(20, 10_000, 20), 1..21);
        assert_eq!(visible_rows(9_999, 10_000, 20), 9_980..10_000);
        assert_eq!(visible_rows(3, 5, 20), 0..5);
        assert_eq!(visible_rows(0, 0, 20), 0..0);
    }
}
