//! The `?` overlay: every binding of the keymap, global ones first, then every dialog's keys.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::tui::keymap::Scope;
use crate::tui::keymap_config::Keymap;
use crate::tui::pane_id::PaneId;
use crate::tui::theme::Theme;

/// Width of one column of keys: the longest help sentence fits.
const COLUMN_WIDTH: u16 = 40;

/// `scroll`: the first line shown (clamped to the last page).
pub fn draw(frame: &mut Frame, area: Rect, keymap: &Keymap, scroll: usize, theme: Theme) {
    let mut lines = vec![];
    let mut section = None;
    for scope in [Scope::Global]
        .into_iter()
        .chain(PaneId::ALL.map(Scope::Pane))
    {
        for b in keymap.bindings().iter().filter(|b| b.scope() == scope) {
            if section != Some(scope) {
                section = Some(scope);
                let heading = match scope {
                    Scope::Global => "Everywhere".to_owned(),
                    Scope::Pane(p) => format!("In {}", p.title()),
                };
                lines.push(Line::from(Span::styled(heading, theme.title())));
            }
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<7}", b.label), theme.key()),
                Span::raw(b.help()),
            ]));
        }
    }
    // Dialogs take every key while open; their keys are declared in `dialogs/keys.rs`.
    lines.push(Line::from(Span::styled("In dialogs", theme.title())));
    for (name, keys) in crate::tui::dialogs::keys::ALL {
        lines.push(Line::from(Span::styled(format!(" {name}"), theme.title())));
        for k in *keys {
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<10}", k.label), theme.key()),
                Span::raw(k.does),
            ]));
        }
    }
    // As many columns as fit (each wide enough to read); what does not fit scrolls.
    let rows = area.height.saturating_sub(2).max(1) as usize;
    let fit = (area.width / COLUMN_WIDTH).max(1) as usize;
    let columns = lines.len().div_ceil(rows).clamp(1, fit);
    let page = rows * columns;
    let first = scroll.min(lines.len().saturating_sub(page));
    let shown = &lines[first..(first + page).min(lines.len())];
    let per_column = shown.len().div_ceil(columns).max(1);
    let height = (per_column as u16 + 2).min(area.height);
    let width = (COLUMN_WIDTH * columns as u16).min(area.width);
    let [vert] = Layout::vertical([Constraint::Length(height)])
        .flex(Flex::Center)
        .areas(area);
    let [rect] = Layout::horizontal([Constraint::Length(width)])
        .flex(Flex::Center)
        .areas(vert);
    frame.render_widget(Clear, rect);
    let title = if shown.len() < lines.len() {
        format!(
            " Keys {}–{} of {} — ↑↓ PgUp/PgDn scroll, ? or Esc closes ",
            first + 1,
            first + shown.len(),
            lines.len()
        )
    } else {
        " Keys — ? or Esc closes ".to_owned()
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(true))
        .title(Span::styled(title, theme.title()));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let halves =
        Layout::horizontal(vec![Constraint::Ratio(1, columns as u32); columns]).split(inner);
    for (i, chunk) in shown.chunks(per_column).enumerate() {
        frame.render_widget(Paragraph::new(chunk.to_vec()), halves[i]);
    }
}
