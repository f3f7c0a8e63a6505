//! Dropbox queue: every file the engine found, newest first, with its state as it moves from
//! waiting to imported (or failed); today's totals and any wait Dropbox asked for.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState};

use crate::library::store::links::LinkId;
use std::time::Instant;

use crate::library::store::engine_events::DayTotals;
use crate::tui::dropbox_queue::{DropboxQueue, QueueRow, QueueState};
use crate::tui::text::{bytes, fit, fit_middle};
use crate::tui::theme::Theme;
use crate::tui::throughput::{duration_label, eta_seconds};

/// Width of the state column when the pane is wide enough for a bar and a rate.
const WIDE_STATE: usize = 44;
const NARROW_STATE: usize = 22;
/// The batch column ("batch 12345"), from this pane width on.
const BATCH_W: usize = 11;
const BATCH_FROM: usize = 70;
/// Cells of a row's progress bar, in a wide and a narrow state column.
const WIDE_BAR: usize = 8;
const NARROW_BAR: usize = 4;

/// What the queue is drawn with besides its own state.
pub struct Context<'a> {
    /// The account in scope (`None`: all).
    pub scope: Option<&'a str>,
    /// Today's totals from the library.
    pub today: &'a DayTotals,
    pub now: Instant,
    pub focused: bool,
    pub theme: Theme,
}

pub fn draw(frame: &mut Frame, area: Rect, q: &DropboxQueue, cx: &Context) {
    let theme = cx.theme;
    let rows = q.in_scope(cx.scope);
    let links = link_lines(q, cx, &rows, area.width as usize);
    let [head, body] = Layout::vertical([
        Constraint::Length(1 + q.rate_limits.len() as u16 + links.len() as u16),
        Constraint::Min(1),
    ])
    .areas(area);
    let active = rows.iter().filter(|r| !finished(&r.state)).count();
    // Today's totals are the store's (every engine's, kept across reopening), not counted
    // from what this console happened to see.
    let today = cx.today;
    let mut lines = vec![Line::from(fit(
        &format!(
            "{} in queue · today {} imported ({}) · {} failed · {} removed from Dropbox",
            active,
            today.imported,
            bytes(today.imported_bytes),
            today.failed,
            today.removed
        ),
        area.width as usize,
    ))];
    let mut limits: Vec<_> = q.rate_limits.values().collect();
    limits.sort_by(|a, b| a.account.cmp(&b.account));
    for limit in limits {
        lines.push(Line::from(Span::styled(
            fit(
                &format!(
                    "{}: Dropbox asked us to wait; resuming in {} s",
                    limit.account,
                    DropboxQueue::seconds_left(limit, cx.now)
                ),
                area.width as usize,
            ),
            theme.warning(),
        )));
    }
    lines.extend(links);
    frame.render_widget(Paragraph::new(lines), head);
    if rows.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled(
                "Nothing in flight. Files dropped into a linked Dropbox folder appear here.",
                theme.dim(),
            ))
            .wrap(ratatui::widgets::Wrap { trim: true }),
            body,
        );
        return;
    }
    let wide = body.width as usize >= WIDE_STATE + 40;
    let state_width = if wide { WIDE_STATE } else { NARROW_STATE };
    let account_width = (body.width as usize / 6).clamp(6, 24);
    // The import batch (what `U` undoes), where it fits and some row has one.
    let batch_width = if body.width as usize >= BATCH_FROM && rows.iter().any(|r| r.batch.is_some())
    {
        BATCH_W
    } else {
        0
    };
    let file_width = (body.width as usize).saturating_sub(
        state_width + account_width + batch_width + 2 + usize::from(batch_width > 0),
    );
    let shown = super::visible_rows(q.cursor, rows.len(), body.height as usize);
    let selected = q.cursor.saturating_sub(shown.start);
    let table_rows = rows[shown].iter().map(|r| {
        let (label, style) = state_label(r, q, cx, wide);
        let mut cells = vec![
            Span::styled(fit(&label, state_width), style),
            Span::raw(fit(&r.account, account_width)),
        ];
        if batch_width > 0 {
            cells.push(Span::styled(
                r.batch.map(|b| format!("batch {b}")).unwrap_or_default(),
                cx.theme.dim(),
            ));
        }
        cells.push(Span::raw(fit_middle(
            &super::source_marked(&r.path, r.upload),
            file_width,
        )));
        Row::new(cells)
    });
    let mut widths = vec![
        Constraint::Length(state_width as u16),
        Constraint::Length(account_width as u16),
    ];
    if batch_width > 0 {
        widths.push(Constraint::Length(batch_width as u16));
    }
    widths.push(Constraint::Min(4));
    let table = Table::new(table_rows, widths).row_highlight_style(if cx.focused {
        theme.selected()
    } else {
        ratatui::style::Style::new()
    });
    let mut state = TableState::default().with_selected(Some(selected));
    frame.render_stateful_widget(table, body, &mut state);
}

fn finished(s: &QueueState) -> bool {
    matches!(
        s,
        QueueState::Imported
            | QueueState::Deleted
            | QueueState::KeptChanged
            | QueueState::Failed(_)
            | QueueState::Retrying(_)
            | QueueState::Skipped(_)
    )
}

/// One line per link with files in flight: how many and how much is left, the rate, the ETA.
/// Uploads from this machine's disk have no link: one line per account says what is left.
fn link_lines(
    q: &DropboxQueue,
    cx: &Context,
    rows: &[&QueueRow],
    width: usize,
) -> Vec<Line<'static>> {
    // (link, or None for uploads; account; files; bytes left)
    let mut groups: Vec<(Option<LinkId>, &str, usize, u64)> = vec![];
    for r in rows.iter().filter(|r| !finished(&r.state)) {
        let left = match r.state {
            QueueState::Waiting => r.size,
            QueueState::Downloading { bytes, total } => total.saturating_sub(bytes),
            _ => 0,
        };
        let link = (!r.upload).then_some(r.link);
        let same = |(l, a, ..): &&mut (Option<LinkId>, &str, usize, u64)| {
            *l == link && (link.is_some() || *a == r.account)
        };
        match groups.iter_mut().find(same) {
            Some(entry) => {
                entry.2 += 1;
                entry.3 += left;
            }
            None => groups.push((link, &r.account, 1, left)),
        }
    }
    groups.sort_by(|a, b| (a.1, a.0.is_none()).cmp(&(b.1, b.0.is_none())));
    groups
        .into_iter()
        .map(|(link, account, files, left)| {
            let text = match link {
                Some(link) => {
                    let rate = q.throughput.rate(link, cx.now);
                    let speed = match rate {
                        Some(r) => format!("{}/s", bytes(r as u64)),
                        None => "starting".into(),
                    };
                    let eta = rate.and_then(|r| eta_seconds(left, r)).map_or_else(
                        || "ETA —".to_owned(),
                        |s| format!("ETA {}", duration_label(s)),
                    );
                    format!(
                        "{account}: {files} left ({}) · {speed} · {eta}",
                        bytes(left)
                    )
                }
                None => format!("{account} upload: {files} left ({})", bytes(left)),
            };
            Line::from(Span::styled(fit(&text, width), cx.theme.key()))
        })
        .collect()
}

/// "[####····]" for `done` of `total`.
fn bar(done: u64, total: u64, width: usize) -> String {
    let filled = (done.saturating_mul(width as u64))
        .checked_div(total)
        .unwrap_or(0)
        .min(width as u64) as usize;
    format!("[{}{}]", "#".repeat(filled), "·".repeat(width - filled))
}

fn state_label(
    r: &QueueRow,
    q: &DropboxQueue,
    cx: &Context,
    wide: bool,
) -> (String, ratatui::style::Style) {
    let t = cx.theme;
    match &r.state {
        QueueState::Waiting => (format!("waiting {}", bytes(r.size)), t.dim()),
        QueueState::Downloading { bytes: b, total } => {
            let pct = if *total == 0 { 0 } else { b * 100 / total };
            // The file's own rate since its first bytes.
            let rate = q.download_started.get(&r.item).and_then(|since| {
                let secs = cx.now.saturating_duration_since(*since).as_secs_f64();
                (secs >= 0.5).then(|| format!(" {}/s", bytes((*b as f64 / secs) as u64)))
            });
            let label = if wide {
                format!(
                    "{pct:>3}% {} {}/{}{}",
                    bar(*b, *total, WIDE_BAR),
                    bytes(*b),
                    bytes(*total),
                    rate.unwrap_or_default()
                )
            } else {
                // Narrow: no byte counts, a shorter bar, so the rate still fits.
                format!(
                    "{pct:>3}% {}{}",
                    bar(*b, *total, NARROW_BAR),
                    rate.unwrap_or_default()
                )
            };
            (label, t.key())
        }
        QueueState::Verifying => ("verifying".into(), t.key()),
        QueueState::Imported => (format!("imported {}", bytes(r.size)), t.good()),
        QueueState::Deleted => ("imported, removed".into(), t.good()),
        QueueState::KeptChanged => ("kept: changed".into(), t.warning()),
        // Narrow, a mark instead of the word, so the reason fits.
        QueueState::Failed(kind) => {
            let word = match (wide, r.upload) {
                (false, _) => "✗",
                (true, true) => "refused:",
                (true, false) => "failed:",
            };
            (format!("{word} {}", kind.label()), t.error())
        }
        QueueState::Retrying(kind) => (
            format!(
                "{} {}",
                if wide { "retry later:" } else { "↻" },
                kind.label()
            ),
            t.warning(),
        ),
        QueueState::Skipped(reason) => (format!("skipped: {reason}"), t.dim()),
    }
}
