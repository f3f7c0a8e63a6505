//! One file per pane, drawing it from its component (`account_list`, `dropbox_queue`,
//! `all_files`, `error_log`) and a few words of context — never from `App`, so panes know
//! nothing of the console around them.

pub mod accounts;
pub mod errors;
pub mod file_preview;
pub mod files;
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

/// A path as the queue and the error log show it: a direct upload says so. Imports are the
/// pane's default and go unmarked. Rows cut it in the middle (`text::fit_middle`), so the
/// file name at its end stays.
pub fn source_marked(path: &str, upload: bool) -> std::borrow::Cow<'_, str> {
    if upload {
        format!("[upload] {path}").into()
    } else {
        path.into()
    }
}

#[cfg(test)]
mod tests {
    use super::{source_marked, visible_rows};

    #[test]
    fn an_upload_is_marked_and_its_name_survives_a_cut() {
        assert_eq!(source_marked("/Acme/a.png", false), "/Acme/a.png");
        assert_eq!(
            source_marked("/srv/shoots/a b.png", true),
            "[upload] /srv/shoots/a b.png"
        );
        let long = source_marked("/srv/shoots/2026/autumn/batch50/selects/img_0042.png", true);
        let cut = crate::tui::text::fit_middle(&long, 30);
        assert!(
            cut.starts_with("[upload]") && cut.ends_with("img_0042.png"),
            "{cut}"
        );
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
