//! Where things go: title bar, panes (all four in a grid when the terminal is big enough, else
//! the focused one under a tab strip), footer with the focused pane's keys, help on top.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::app::{App, PaneId};
use super::panes;
use super::text::fit;

/// Smallest terminal that shows all four panes at once.
pub const GRID_MIN: (u16, u16) = (100, 30);

/// Where each visible pane goes on a screen of `area` (title and footer rows excluded), and
/// the tab strip when the panes do not all fit.
fn pane_areas(area: Rect, app: &App) -> (Vec<(PaneId, Rect)>, Option<Rect>) {
    let [_, body, _] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    if app.zoom {
        // One pane, the whole screen between title and footer.
        return (vec![(app.focus, body)], None);
    }
    if body.width >= GRID_MIN.0 && body.height + 2 >= GRID_MIN.1 {
        let [top, bottom] =
            Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(body);
        let [a, q] =
            Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(top);
        // All Files gets the larger share below: its Kind and Collections columns need it.
        let [f, e] = Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
            .areas(bottom);
        let panes = vec![
            (PaneId::Accounts, a),
            (PaneId::Queue, q),
            (PaneId::Files, f),
            (PaneId::Errors, e),
        ];
        (panes, None)
    } else {
        let [tabs, area] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(2)]).areas(body);
        (vec![(app.focus, area)], Some(tabs))
    }
}

/// The pane at a screen position (for mouse clicks).
pub fn pane_at(screen: Rect, app: &App, column: u16, row: u16) -> Option<PaneId> {
    let at = ratatui::layout::Position::new(column, row);
    let (panes, tabs) = pane_areas(screen, app);
    if let Some(tabs) = tabs.filter(|t| t.contains(at)) {
        // The tab strip: " 1 Accounts 3  2 Dropbox queue …", each label then a space.
        let mut x = tabs.x;
        for (pane, label) in tab_labels(app, tabs.width) {
            let width = label.chars().count() as u16 + 1;
            if column < x + width {
                return Some(pane);
            }
            x += width;
        }
        return None;
    }
    panes
        .into_iter()
        .find(|(_, area)| area.contains(at))
        .map(|(pane, _)| pane)
}

pub fn draw(frame: &mut Frame, app: &App) {
    let [title, _, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    draw_title(frame, title, app);
    let (panes, tabs) = pane_areas(frame.area(), app);
    if let Some(tabs) = tabs {
        draw_tabs(frame, tabs, app);
    }
    for (pane, area) in panes {
        draw_pane(frame, area, app, pane);
    }
    draw_footer(frame, footer, app);
    if let Some(dialog) = &app.dialog {
        let copy_key = app.keymap.label_of(super::keymap::Action::CopyLink);
        super::dialogs::draw::draw(frame, frame.area(), dialog, app.theme, &copy_key);
    }
    if app.help {
        super::help::draw(frame, frame.area(), &app.keymap, app.help_scroll, app.theme);
    }
}

fn draw_pane(frame: &mut Frame, area: Rect, app: &App, pane: PaneId) {
    let focused = app.focus == pane;
    let number = PaneId::ALL.iter().position(|p| *p == pane).unwrap_or(0) + 1;
    // All Files says in its title how it is filtered and sorted, and how many match.
    let title = match pane {
        PaneId::Files => panes::files::title(&app.files),
        _ => pane.title().to_owned(),
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(app.theme.border(focused))
        .title(Span::styled(
            fit(
                &format!(" {number} {title} "),
                area.width.saturating_sub(2) as usize,
            ),
            if focused {
                app.theme.title()
            } else {
                Style::new()
            },
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    match pane {
        PaneId::Accounts => panes::accounts::draw(frame, inner, &app.accounts, focused, app.theme),
        PaneId::Queue => panes::queue::draw(
            frame,
            inner,
            &app.queue,
            &panes::queue::Context {
                scope: app.scoped_account(),
                today: &app.view.today,
                now: app.now,
                focused,
                theme: app.theme,
            },
        ),
        PaneId::Files => panes::files::draw(
            frame,
            inner,
            &app.files,
            focused && app.dialog.is_none(),
            app.zoom,
            app.theme,
        ),
        PaneId::Errors => panes::errors::draw(
            frame,
            inner,
            &app.errors,
            &panes::errors::Context {
                scope: app.scoped_account(),
                focused,
                theme: app.theme,
                keymap: &app.keymap,
            },
        ),
    }
}

fn draw_title(frame: &mut Frame, area: Rect, app: &App) {
    let scope = app.scoped_account().unwrap_or("All accounts");
    // Whose engine runs is said in full; the library, admin and scope give way to it.
    let right = format!(
        " {} ",
        fit(&app.engine.label(), (area.width as usize).saturating_sub(2))
    );
    let right_width = unicode_width::UnicodeWidthStr::width(right.as_str());
    let left_width = (area.width as usize).saturating_sub(right_width);
    let left = fit(
        &format!(
            " Smartimage · {} · as {} · {}",
            app.library_label, app.admin, scope
        ),
        left_width,
    );
    let pad = left_width.saturating_sub(unicode_width::UnicodeWidthStr::width(left.as_str()));
    let line = Line::from(vec![
        Span::styled(left, app.theme.title()),
        Span::raw(" ".repeat(pad)),
        Span::styled(right, engine_style(app)),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}

fn engine_style(app: &App) -> Style {
    use super::app::EngineStatus;
    match app.engine {
        EngineStatus::Watching | EngineStatus::Elsewhere(_) => app.theme.good(),
        EngineStatus::Unavailable(_) | EngineStatus::Silent(..) | EngineStatus::NoEngine => {
            app.theme.warning()
        }
        _ => app.theme.dim(),
    }
}

/// Each tab's label with its count (" 4 Error log 12 "); the short titles when the long ones
/// do not fit `width`.
fn tab_labels(app: &App, width: u16) -> Vec<(PaneId, String)> {
    let count = |pane: PaneId| -> Option<String> {
        match pane {
            PaneId::Accounts => Some(app.accounts.rows.len().to_string()),
            PaneId::Queue => Some(app.queue_in_flight().to_string()),
            PaneId::Files => app.files.count.map(super::text::thousands),
            PaneId::Errors => Some(app.error_rows().len().to_string()),
        }
    };
    let labels = |short: bool| -> Vec<(PaneId, String)> {
        PaneId::ALL
            .iter()
            .enumerate()
            .map(|(i, pane)| {
                let title = if short {
                    pane.short_title()
                } else {
                    pane.title()
                };
                let label = match count(*pane) {
                    Some(n) => format!(" {} {title} {n} ", i + 1),
                    None => format!(" {} {title} ", i + 1),
                };
                (*pane, label)
            })
            .collect()
    };
    let long = labels(false);
    let used: usize = long.iter().map(|(_, l)| l.chars().count() + 1).sum();
    if used <= width as usize {
        long
    } else {
        labels(true)
    }
}

fn draw_tabs(frame: &mut Frame, area: Rect, app: &App) {
    let mut spans = vec![];
    for (pane, label) in tab_labels(app, area.width) {
        let style = if pane == app.focus {
            app.theme.selected()
        } else {
            app.theme.dim()
        };
        spans.push(Span::styled(label, style));
        spans.push(Span::raw(" "));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn draw_footer(frame: &mut Frame, area: Rect, app: &App) {
    let mut spans = vec![Span::raw(" ")];
    if let Some(problem) = &app.last_problem {
        spans.push(Span::styled(
            fit(problem, area.width as usize / 2),
            app.theme.warning(),
        ));
        spans.push(Span::raw("  "));
    } else if let Some(status) = &app.status {
        spans.push(Span::styled(
            fit(status, area.width as usize / 2),
            app.theme.good(),
        ));
        spans.push(Span::raw("  "));
    } else if let Some(trouble) = &app.notices {
        spans.push(Span::styled(
            fit(trouble, area.width as usize / 2),
            app.theme.warning(),
        ));
        spans.push(Span::raw("  "));
    }
    // A dialog gets every key: its own are listed, not the pane's.
    if let Some(dialog) = &app.dialog {
        for k in dialog.keys() {
            spans.push(Span::styled(k.label, app.theme.key()));
            spans.push(Span::raw(format!(" {}  ", k.does)));
        }
        if matches!(dialog, super::dialogs::Dialog::ApiLink { .. }) {
            spans.push(Span::styled(
                app.keymap.label_of(super::keymap::Action::CopyLink),
                app.theme.key(),
            ));
            spans.push(Span::raw(" copy the page  "));
        }
        frame.render_widget(Paragraph::new(Line::from(spans)), area);
        return;
    }
    // No engine runs: the key that starts one here comes first.
    if let Some(key) = app.host_offer() {
        spans.push(Span::styled(key, app.theme.key()));
        spans.push(Span::raw(" host the engine here  "));
    }
    // Only what the acting admin may do here.
    for b in app
        .keymap
        .footer(app.focus)
        .filter(|b| app.offers(b.binding.action))
    {
        spans.push(Span::styled(b.label.clone(), app.theme.key()));
        spans.push(Span::raw(format!(" {}  ", b.hint())));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
