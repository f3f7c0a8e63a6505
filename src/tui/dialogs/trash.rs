//! The trash confirmations (issue #22): delete (files to the trash), restore, and undo an
//! import batch. Each says how many files and how big — from a dry run of the very library
//! action it confirms — and a delete or undo says that trashed files still count against
//! storage until they are purged. `Enter` (or `y`) confirms, `Esc` (or `n`) cancels.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::draw::text_box;
use super::keys;
use crate::library::ids::{BatchId, FileId};
use crate::library::organise::FileFilter;
use crate::library::trash::{TrashOutcome, TrashSelection};
use crate::tui::text::{bytes, clean, thousands};
use crate::tui::theme::Theme;

/// A move into or out of the trash, as the library does it (`files delete`, `files restore`,
/// `import undo`): the same rights, the same audit rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrashJob {
    Delete(TrashSelection),
    Restore(RestoreSelection),
    /// Every file of this import batch still in the library (`import undo BATCH`).
    Undo(BatchId),
}

/// Which trashed files to bring back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RestoreSelection {
    Ids(Vec<FileId>),
    /// Every trashed file matching the filter, less some (`*` in the Trash view).
    Matching {
        filter: FileFilter,
        exclude: Vec<FileId>,
    },
}

impl TrashJob {
    /// The verb, for confirmations, outcomes and refusals ("delete", "restore", …).
    pub fn verb(&self) -> String {
        match self {
            TrashJob::Delete(_) => "delete".into(),
            TrashJob::Restore(_) => "restore".into(),
            TrashJob::Undo(batch) => format!("undo import batch {batch}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct TrashConfirm {
    pub job: TrashJob,
    /// What the job would do (the library's dry run).
    pub outcome: TrashOutcome,
    /// `[trash] purge_after_days`.
    pub purge_after_days: u64,
}

/// What a key in the confirmation did.
#[derive(Debug, PartialEq)]
pub enum TrashKey {
    Stay,
    Cancel,
    Confirm(TrashJob),
}

/// "3 files (12.4 KB)".
pub fn files_and_bytes(files: u64, size: u64) -> String {
    format!(
        "{} file{} ({})",
        thousands(files),
        if files == 1 { "" } else { "s" },
        bytes(size)
    )
}

impl TrashConfirm {
    pub fn key(&self, key: KeyEvent) -> TrashKey {
        match key.code {
            KeyCode::Enter | KeyCode::Char('y') | KeyCode::Char('Y') => {
                TrashKey::Confirm(self.job.clone())
            }
            KeyCode::Esc | KeyCode::Char('n') | KeyCode::Char('N') => TrashKey::Cancel,
            _ => TrashKey::Stay,
        }
    }

    pub fn title(&self) -> String {
        match &self.job {
            TrashJob::Delete(_) => " Delete: move to the trash ".into(),
            TrashJob::Restore(_) => " Restore from the trash ".into(),
            TrashJob::Undo(batch) => format!(" Undo import batch {batch} "),
        }
    }

    /// The confirmation's sentences, without the key hint.
    pub fn text(&self) -> Vec<String> {
        let o = &self.outcome;
        let what = files_and_bytes(o.files, o.bytes);
        let mut lines = vec![match &self.job {
            TrashJob::Delete(_) => format!("Move {what} to the trash?"),
            TrashJob::Restore(_) => {
                format!("Bring {what} back from the trash, into their collections again?")
            }
            TrashJob::Undo(batch) => format!(
                "Move the {what} of import batch {batch} still in the library to the trash? \
                 Nothing is put back into Dropbox."
            ),
        }];
        if o.accounts.len() > 1 {
            let per: Vec<String> = o
                .accounts
                .iter()
                .map(|a| {
                    format!(
                        "{}: {}",
                        clean(&a.account),
                        files_and_bytes(a.files, a.bytes)
                    )
                })
                .collect();
            lines.push(per.join("; "));
        }
        if o.unchanged > 0 {
            lines.push(format!(
                "{} file{} already {}.",
                thousands(o.unchanged),
                if o.unchanged == 1 { "" } else { "s" },
                match self.job {
                    TrashJob::Restore(_) => "out of the trash",
                    _ => "in the trash",
                }
            ));
        }
        if !matches!(self.job, TrashJob::Restore(_)) {
            lines.push(format!(
                "Trashed files still count against storage until they are purged: after {} \
                 day{} in the trash ([trash] purge_after_days), or by `smartimage trash empty`. \
                 Until then the Trash view restores them.",
                self.purge_after_days,
                if self.purge_after_days == 1 { "" } else { "s" }
            ));
        }
        lines
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, theme: Theme) {
        let mut lines: Vec<Line> = Vec::new();
        for (i, text) in self.text().into_iter().enumerate() {
            if i > 0 {
                lines.push(Line::from(""));
            }
            lines.push(Line::from(text));
        }
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(
            keys::hint(keys::TRASH_CONFIRM),
            theme.key(),
        )));
        text_box(frame, area, theme, &self.title(), lines, theme.warning());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::ids::{BatchId, FileId};
    use crate::library::trash::AccountTotals;
    use crossterm::event::KeyModifiers;

    fn confirm(job: TrashJob) -> TrashConfirm {
        TrashConfirm {
            job,
            outcome: TrashOutcome {
                dry_run: true,
                files: 3,
                bytes: 3 * 1024 * 1024,
                accounts: vec![AccountTotals {
                    account: "Acme".into(),
                    files: 3,
                    bytes: 3 * 1024 * 1024,
                }],
                unchanged: 1,
            },
            purge_after_days: 30,
        }
    }

    #[test]
    fn enter_confirms_and_esc_cancels() {
        let d = confirm(TrashJob::Delete(TrashSelection::Ids(vec![
            FileId(1),
            FileId(2),
            FileId(3),
        ])));
        let key = |c| KeyEvent::new(c, KeyModifiers::NONE);
        assert_eq!(
            d.key(key(KeyCode::Enter)),
            TrashKey::Confirm(TrashJob::Delete(TrashSelection::Ids(vec![
                FileId(1),
                FileId(2),
                FileId(3)
            ])))
        );
        assert_eq!(d.key(key(KeyCode::Esc)), TrashKey::Cancel);
        assert_eq!(d.key(key(KeyCode::Char('x'))), TrashKey::Stay);
    }

    #[test]
    fn a_delete_says_how_many_how_big_and_that_storage_is_held_until_purged() {
        let text = confirm(TrashJob::Delete(TrashSelection::Ids(vec![FileId(1)]))).text();
        assert_eq!(text[0], "Move 3 files (3.0 MiB) to the trash?");
        assert_eq!(text[1], "1 file already in the trash.");
        assert!(text[2].contains("still count against storage"), "{text:?}");
        assert!(text[2].contains("after 30 days"), "{text:?}");
        assert!(text[2].contains("trash empty"), "{text:?}");
    }

    #[test]
    fn an_undo_names_its_batch_and_a_restore_says_nothing_of_storage() {
        let undo = confirm(TrashJob::Undo(BatchId(12))).text();
        assert!(undo[0].contains("import batch 12"), "{undo:?}");
        assert!(undo.iter().any(|l| l.contains("count against storage")));
        let restore = confirm(TrashJob::Restore(RestoreSelection::Ids(vec![FileId(1)]))).text();
        assert!(restore[0].starts_with("Bring 3 files"), "{restore:?}");
        assert!(!restore.iter().any(|l| l.contains("storage")));
    }
}
