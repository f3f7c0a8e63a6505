//! All Files, first cut: the newest files of the scoped account. Filtering, collections and
//! the virtual table come next.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Paragraph, Row, Table, TableState};

use crate::tui::app::{App, PaneId};
use crate::tui::text::{bytes, fit, time_utc};

pub const HINT: &str = "Newest files first. Filtering and collections come next.";

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let theme = app.theme;
    let [hint, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    frame.render_widget(
        Paragraph::new(Span::styled(fit(HINT, area.width as usize), theme.dim())),
        hint,
    );
    if app.view.files.is_empty() {
        frame.render_widget(Paragraph::new("No files yet."), body);
        return;
    }
    let size_width = 10usize;
    let source_width = 8usize;
    let when_width = 17usize;
    let name_width = (body.width as usize).saturating_sub(size_width + source_width + 3);
    let wide =
        body.width as usize > name_width.min(30) + size_width + source_width + when_width + 4;
    let rows = app.view.files.iter().map(|f| {
        let mut cells = vec![
            Span::raw(fit(
                &f.name,
                if wide {
                    name_width.saturating_sub(when_width + 1)
                } else {
                    name_width
                },
            )),
            Span::raw(bytes(f.size)),
            Span::styled(f.source.as_str(), theme.dim()),
        ];
        if wide {
            cells.push(Span::styled(time_utc(f.imported_at), theme.dim()));
        }
        Row::new(cells)
    });
    let mut widths = vec![
        Constraint::Min(8),
        Constraint::Length(size_width as u16),
        Constraint::Length(source_width as u16),
    ];
    if wide {
        widths.push(Constraint::Length(when_width as u16));
    }
    let table = Table::new(rows, widths).row_highlight_style(if app.focus == PaneId::Files {
        theme.selected()
    } else {
        ratatui::style::Style::new()
    });
    let mut state = TableState::default().with_selected(Some(app.selection.files));
    frame.render_stateful_widget(table, body, &mut state);
}
