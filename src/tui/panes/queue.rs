//! Dropbox queue: every file the engine found, newest first, with its state as it moves from
//! waiting to imported (or failed); totals and any wait Dropbox asked for.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState};

use crate::tui::app::{App, PaneId, QueueRow, QueueState};
use crate::tui::text::{bytes, fit};

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let theme = app.theme;
    let rows = app.queue_rows();
    let [head, body] = Layout::vertical([
        Constraint::Length(1 + app.rate_limits.len() as u16),
        Constraint::Min(1),
    ])
    .areas(area);
    let active = rows.iter().filter(|r| !finished(&r.state)).count();
    let mut lines = vec![Line::from(fit(
        &format!(
            "{} in queue · {} imported ({}) · {} failed · {} removed from Dropbox",
            active,
            app.totals.imported,
            bytes(app.totals.imported_bytes),
            app.totals.failed,
            app.totals.deleted
        ),
        area.width as usize,
    ))];
    let mut limits: Vec<_> = app.rate_limits.values().collect();
    limits.sort_by(|a, b| a.account.cmp(&b.account));
    for limit in limits {
        lines.push(Line::from(Span::styled(
            fit(
                &format!(
                    "{}: Dropbox asked us to wait; resuming in {} s",
                    limit.account,
                    app.seconds_left(limit)
                ),
                area.width as usize,
            ),
            theme.warning(),
        )));
    }
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
    let state_width = 22usize;
    let account_width = (body.width as usize / 5).clamp(6, 16);
    let file_width = (body.width as usize).saturating_sub(state_width + account_width + 2);
    let table_rows = rows.iter().map(|r| {
        let (label, style) = state_label(r, app);
        Row::new(vec![
            Span::styled(fit(&label, state_width), style),
            Span::raw(fit(&r.account, account_width)),
            Span::raw(fit(&r.path, file_width)),
        ])
    });
    let table = Table::new(
        table_rows,
        [
            Constraint::Length(state_width as u16),
            Constraint::Length(account_width as u16),
            Constraint::Min(4),
        ],
    )
    .row_highlight_style(if app.focus == PaneId::Queue {
        theme.selected()
    } else {
        ratatui::style::Style::new()
    });
    let mut state = TableState::default().with_selected(Some(app.selection.queue));
    frame.render_stateful_widget(table, body, &mut state);
}

fn finished(s: &QueueState) -> bool {
    matches!(
        s,
        QueueState::Imported
            | QueueState::Deleted
            | QueueState::KeptChanged
            | QueueState::Failed(_)
    )
}

fn state_label(r: &QueueRow, app: &App) -> (String, ratatui::style::Style) {
    let t = app.theme;
    match &r.state {
        QueueState::Waiting => (format!("waiting {}", bytes(r.size)), t.dim()),
        QueueState::Downloading { bytes: b, total } => {
            let pct = if *total == 0 { 0 } else { b * 100 / total };
            (
                format!("{pct:>3}% {}/{}", bytes(*b), bytes(*total)),
                t.key(),
            )
        }
        QueueState::Verifying => ("verifying".into(), t.key()),
        QueueState::Imported => (format!("imported {}", bytes(r.size)), t.good()),
        QueueState::Deleted => ("imported, removed".into(), t.good()),
        QueueState::KeptChanged => ("kept: changed".into(), t.warning()),
        QueueState::Failed(kind) => (format!("failed {kind}"), t.error()),
    }
}
