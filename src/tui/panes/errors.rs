//! Error log: failed imports (from the store, then live), newest first, with the files waiting
//! for an automatic retry and those queued by an admin. `Enter` shows the selected one in
//! full; `r`/`R` queue it (or its account's) for a retry.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState, Wrap};

use crate::library::policy::ErrorKind;
use crate::library::store::import_items::ItemState;
use crate::tui::error_log::{ErrorLog, ErrorRow};
use crate::tui::keymap::Action;
use crate::tui::keymap_config::Keymap;
use crate::tui::text::{bytes, clean, fit, fit_middle, time_utc};
use crate::tui::theme::Theme;

/// What the error log is drawn with besides its own state.
pub struct Context<'a> {
    /// The account in scope (`None`: all).
    pub scope: Option<&'a str>,
    pub focused: bool,
    pub theme: Theme,
    pub keymap: &'a Keymap,
}

pub fn draw(frame: &mut Frame, area: Rect, log: &ErrorLog, cx: &Context) {
    let theme = cx.theme;
    let rows = log.in_scope(cx.scope);
    if rows.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled("No failed imports.", theme.dim())),
            area,
        );
        return;
    }
    if log.detail
        && let Some(e) = log.selected(cx.scope)
    {
        let mut lines = vec![
            Line::from(vec![
                Span::styled("File     ", theme.key()),
                Span::raw(clean(&e.path)),
            ]),
            Line::from(vec![
                Span::styled("Account  ", theme.key()),
                Span::raw(clean(&e.account)),
            ]),
            Line::from(vec![
                Span::styled("Size     ", theme.key()),
                Span::raw(bytes(e.size)),
            ]),
            Line::from(vec![
                Span::styled(
                    if e.upload { "Refused  " } else { "Failed   " },
                    theme.key(),
                ),
                Span::raw(format!("{} UTC", time_utc(e.at))),
            ]),
            Line::from(vec![
                Span::styled("Kind     ", theme.key()),
                Span::styled(e.kind.title(), theme.error()),
            ]),
            Line::from(vec![
                Span::styled("Report   ", theme.key()),
                Span::raw(match (&e.report, e.state) {
                    (_, _) if e.upload => {
                        "none: a refused upload is told here only, never written in Dropbox".into()
                    }
                    (Some(path), _) => clean(path),
                    (None, ItemState::Failed) => {
                        "not written yet (after the pass, in the account's Dropbox folder)".into()
                    }
                    (None, _) if e.kind == ErrorKind::ServerError => {
                        "none: a server error is ours, never told to the customer".into()
                    }
                    (None, _) => "none yet: the customer is told only if it keeps failing".into(),
                }),
            ]),
            Line::from(""),
            Line::from(clean(&e.detail)),
            Line::from(""),
            Line::from(Span::styled(
                if e.upload {
                    format!(
                        "Nothing was stored and the file on this server is unchanged. A refused upload is not retried: fix the file, then upload it again ({} in All Files). {} closes.",
                        cx.keymap.label_of(Action::Upload),
                        cx.keymap.label_of(Action::ToggleDetail),
                    )
                } else {
                    format!(
                        "The file stays in Dropbox. {} retries it, {} retries the account's, {} closes.",
                        cx.keymap.label_of(Action::RetryItem),
                        cx.keymap.label_of(Action::RetryAccount),
                        cx.keymap.label_of(Action::ToggleDetail),
                    )
                },
                theme.dim(),
            )),
        ];
        // Only a file that is not (yet) failed for the customer needs saying where it stands.
        if let Some(state) = state_sentence(e) {
            lines.insert(
                4,
                Line::from(vec![
                    Span::styled("State    ", theme.key()),
                    Span::raw(state),
                ]),
            );
        }
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
        return;
    }
    let w = area.width as usize;
    // A retry waiting for the engine says so in full.
    let pending = rows.iter().any(|e| e.state == ItemState::QueuedForRetry);
    let kind_min = if pending { RETRY_PENDING.len() } else { 12 };
    // Narrow, the year goes: the month and day say enough.
    let short_time = w < 80;
    let time_w = if short_time { 11 } else { 16 };
    let account_w = (w / 8).clamp(6, 24);
    let kind_w = match w {
        100.. => 20,
        70..100 => 18,
        _ => (w / 5).clamp(kind_min, 20),
    };
    // The path gets the larger share: its file name is what tells rows apart. Narrow, the
    // detail column goes (Enter shows it in full) and the path takes its room.
    let rest = w.saturating_sub(time_w + account_w + kind_w + 4);
    let file_w = if w < 70 { rest } else { (rest * 3 / 5).max(8) };
    let detail_w = w.saturating_sub(time_w + account_w + kind_w + file_w + 4);
    let shown = super::visible_rows(log.cursor, rows.len(), area.height as usize);
    let selected = log.cursor.saturating_sub(shown.start);
    let table_rows = rows[shown].iter().map(|e| {
        let kind = if e.retrying {
            "retrying…".to_owned()
        } else {
            match e.state {
                // Until the engine that runs takes it (about a second when one runs).
                ItemState::QueuedForRetry => RETRY_PENDING.to_owned(),
                _ => e.kind.label().to_owned(),
            }
        };
        // Where a file that is not failed for the customer stands comes first in its detail.
        let detail = match (e.state, e.next_attempt_at) {
            (ItemState::Retrying, Some(at)) => format!("next try {} · {}", time_utc(at), e.detail),
            (ItemState::QueuedForRetry, _) => format!("retry pending · {}", e.detail),
            _ => e.detail.clone(),
        };
        Row::new(vec![
            Span::styled(
                if short_time {
                    time_utc(e.at).get(5..).unwrap_or_default().to_owned()
                } else {
                    time_utc(e.at)
                },
                theme.dim(),
            ),
            Span::raw(fit(&e.account, account_w)),
            Span::raw(fit_middle(&super::source_marked(&e.path, e.upload), file_w)),
            Span::styled(fit(&kind, kind_w), theme.error()),
            Span::raw(fit(&detail, detail_w)),
        ])
    });
    let table = Table::new(
        table_rows,
        [
            Constraint::Length(time_w as u16),
            Constraint::Length(account_w as u16),
            Constraint::Length(file_w as u16),
            Constraint::Length(kind_w as u16),
            Constraint::Min(0),
        ],
    )
    .row_highlight_style(if cx.focused {
        theme.selected()
    } else {
        ratatui::style::Style::new()
    });
    let mut state = TableState::default().with_selected(Some(selected));
    frame.render_stateful_widget(table, area, &mut state);
}

/// A retry given (here or in any process) that the engine has not taken yet.
const RETRY_PENDING: &str = "retry pending";

/// Where a file that is not failed for the customer stands, and what happens next.
fn state_sentence(e: &ErrorRow) -> Option<String> {
    Some(match e.state {
        ItemState::Retrying => format!(
            "waiting in Dropbox; tried again automatically from {} UTC{}",
            e.next_attempt_at.map(time_utc).unwrap_or_default(),
            if e.kind == ErrorKind::ServerError {
                " (a server error: ours, never reported to the customer)"
            } else {
                ""
            }
        ),
        ItemState::QueuedForRetry => {
            "retry pending: the import engine that runs takes it within seconds (or the next one to start)".into()
        }
        _ => return None,
    })
}
