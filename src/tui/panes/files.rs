//! All Files: a virtual table — only the visible rows of the window become table rows — with
//! the filter line above it, and an image preview beside it when `p` is on.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState, Wrap};

use crate::library::model::{FileRecord, Source};
use crate::library::store::SortKey;
use crate::tui::all_files::AllFiles;
use crate::tui::pane_id::PaneId;
use crate::tui::text::{bytes, fit, fit_middle, thousands, time_utc};
use crate::tui::theme::Theme;

use super::file_preview;

/// Narrowest table that still shows when files came in and who brought them.
const WIDE: u16 = 100;
/// Narrowest table that shows kind and collections (All Files in the grid of a 100-column
/// terminal is 53 wide inside).
const MEDIUM: u16 = 50;
/// Narrowest pane that gets a preview beside the table.
const PREVIEW_MIN: u16 = 40;

/// The pane's title: what is shown, how it is filtered and sorted, how many match and are marked.
pub fn title(f: &AllFiles) -> String {
    let mut parts = vec![if f.trash {
        format!("{} · Trash", PaneId::Files.title())
    } else {
        PaneId::Files.title().to_owned()
    }];
    parts.push(match f.count {
        Some(n) => format!("{} {}", thousands(n), if n == 1 { "file" } else { "files" }),
        None => "counting…".into(),
    });
    if f.dropbox_only {
        parts.push("Dropbox uploads".into());
    }
    if f.duplicates_only {
        parts.push("duplicates".into());
    }
    if let Some(kind) = f.kind {
        parts.push(format!("kind {}", kind.as_str()));
    }
    if let Some(c) = &f.collection {
        parts.push(format!("in {}", fit(c, 24)));
    }
    if let Some(camera) = &f.camera {
        parts.push(format!("camera {}", fit(camera, 20)));
    }
    if let Some(span) = f.taken {
        parts.push(format!("taken {}", span.label()));
    }
    let name = f.name.value().trim();
    if !name.is_empty() {
        let how = if f.fuzzy { "≈" } else { "∋" };
        parts.push(format!("name {how} \"{}\"", fit(name, 20)));
    }
    parts.push(format!(
        "by {} {}",
        sort_label(f.order.sort),
        if f.order.descending { "↓" } else { "↑" }
    ));
    if let Some(marked) = f.marked_label() {
        parts.push(marked);
    }
    parts.join(" · ")
}

fn sort_label(sort: SortKey) -> &'static str {
    match sort {
        SortKey::Imported => "date",
        SortKey::Name => "name",
        SortKey::Size => "size",
        SortKey::Kind => "kind",
        SortKey::Taken => "capture time",
    }
}

/// `focused`: the pane has the keys (focused, no dialog open); `zoom`: it has the screen.
pub fn draw(frame: &mut Frame, area: Rect, f: &AllFiles, focused: bool, zoom: bool, theme: Theme) {
    let [status, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    draw_status(frame, status, f, theme);
    let (table_area, preview_area) = if f.preview_open && body.width >= PREVIEW_MIN {
        // Zoomed (`z`), the preview takes most of the screen; the table keeps the names.
        let (table, preview) = if zoom { (30, 70) } else { (58, 42) };
        let [t, p] = Layout::horizontal([
            Constraint::Percentage(table),
            Constraint::Percentage(preview),
        ])
        .areas(body);
        (t, Some(p))
    } else {
        (body, None)
    };
    draw_table(frame, table_area, f, focused, theme);
    if let Some(p) = preview_area {
        file_preview::draw(frame, p, f, theme);
    }
}

fn draw_status(frame: &mut Frame, area: Rect, f: &AllFiles, theme: Theme) {
    let width = area.width as usize;
    let line = if f.typing {
        let value = f.name.value();
        let scroll = f.name.visual_scroll(width.saturating_sub(3));
        let shown: String = value.chars().skip(scroll).collect();
        Line::from(vec![
            Span::styled("/ ", theme.key()),
            Span::raw(fit(&shown, width.saturating_sub(3))),
            Span::styled("▏", theme.key()),
        ])
    } else if let Some(marked) = f.marked_label().filter(|_| f.notice.is_none()) {
        Line::from(vec![
            Span::styled(marked, theme.good()),
            Span::styled(
                fit(
                    if f.trash {
                        " · R restore · Esc clear"
                    } else {
                        " · c add to a collection · X send · Esc clear"
                    },
                    width.saturating_sub(12),
                ),
                theme.dim(),
            ),
        ])
    } else if let Some(notice) = &f.notice {
        Line::from(Span::styled(fit(notice, width), theme.good()))
    } else if f.trash {
        Line::from(Span::styled(
            fit(
                "Trash: R restores · Space/v/* mark · T back to the library · still counts against storage until purged",
                width,
            ),
            theme.warning(),
        ))
    } else if f.fuzzy {
        Line::from(Span::styled(
            fit(
                "nothing contains that text; showing fuzzy matches (its letters in order)",
                width,
            ),
            theme.warning(),
        ))
    } else {
        Line::from(Span::styled(
            fit(
                "/ filter · d Dropbox only · Space/v/* mark · e edit · c add to collection · p preview",
                width,
            ),
            theme.dim(),
        ))
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// Which columns fit.
#[derive(Clone, Copy)]
struct Columns {
    medium: bool,
    wide: bool,
    /// The Trash view: when each file was trashed instead of its source.
    trash: bool,
}

fn draw_table(frame: &mut Frame, area: Rect, f: &AllFiles, focused: bool, theme: Theme) {
    // One row is the header.
    let visible = area.height.saturating_sub(1) as usize;
    f.viewport.set(visible.max(1));
    if f.rows.is_empty() {
        let text = if f.seeking_fuzzy {
            "No name contains that text; looking for close matches…"
        } else if f.loading {
            "Reading…"
        } else if f.filtered() {
            "No file matches these filters."
        } else if f.trash {
            "The trash is empty."
        } else {
            "No files yet."
        };
        frame.render_widget(
            Paragraph::new(Span::styled(text, theme.dim())).wrap(Wrap { trim: true }),
            area,
        );
        return;
    }
    let cols = Columns {
        medium: area.width >= MEDIUM,
        wide: area.width >= WIDE,
        trash: f.trash,
    };
    let widths = widths(cols);
    let name_width = name_width(area.width, cols);
    let end = (f.top + visible).min(f.rows.len());
    let rows = f.rows[f.top..end]
        .iter()
        .map(|file| row(file, f, cols, name_width, theme));
    let mut header = vec!["", "Name"];
    if cols.medium {
        header.push("Kind");
    }
    header.extend([
        "Size",
        if cols.trash {
            "Trashed (UTC)"
        } else {
            "Source"
        },
    ]);
    if cols.medium {
        header.push("Collections");
    }
    if cols.wide {
        header.extend(["Imported (UTC)", "Duplicate", "Uploaded by"]);
    }
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme.title()))
        .column_spacing(1)
        .row_highlight_style(if focused {
            theme.selected()
        } else {
            Style::new()
        });
    let selected = f.cursor.checked_sub(f.top).filter(|i| *i < visible);
    let mut state = TableState::default().with_selected(selected);
    frame.render_stateful_widget(table, area, &mut state);
}

const KIND_W: u16 = 8;
const SIZE_W: u16 = 10;
const SOURCE_W: u16 = 9;
const WHEN_W: u16 = 16;
/// "of #1234567".
const DUPLICATE_W: u16 = 11;
/// Narrowest name cell that says "≡#N" after the name (below it, only "≡").
const DUPLICATE_IN_NAME: usize = 24;

fn source_w(cols: Columns) -> u16 {
    if cols.trash { WHEN_W } else { SOURCE_W }
}

fn widths(cols: Columns) -> Vec<Constraint> {
    let mut w = vec![Constraint::Length(1), Constraint::Fill(3)];
    if cols.medium {
        w.push(Constraint::Length(KIND_W));
    }
    w.extend([
        Constraint::Length(SIZE_W),
        Constraint::Length(source_w(cols)),
    ]);
    if cols.medium {
        w.push(Constraint::Fill(2));
    }
    if cols.wide {
        w.extend([
            Constraint::Length(WHEN_W),
            Constraint::Length(DUPLICATE_W),
            Constraint::Fill(2),
        ]);
    }
    w
}

/// Roughly the name column's width (text is cut to it; the layout gives it the same share).
fn name_width(total: u16, cols: Columns) -> usize {
    let mut fixed = 1 + SIZE_W + source_w(cols);
    let mut shares = 3u16;
    if cols.medium {
        fixed += KIND_W;
        shares += 2;
    }
    if cols.wide {
        fixed += WHEN_W + DUPLICATE_W;
        shares += 2;
    }
    let gaps = if cols.wide {
        8
    } else if cols.medium {
        5
    } else {
        3
    };
    let flexible = total.saturating_sub(fixed + gaps);
    (flexible * 3 / shares) as usize
}

fn row<'a>(
    file: &'a FileRecord,
    f: &AllFiles,
    cols: Columns,
    name_w: usize,
    theme: Theme,
) -> Row<'a> {
    let mark = if f.marked.contains(file.id) {
        "●"
    } else {
        " "
    };
    let badge = match file.source {
        Source::Dropbox => Span::styled("Dropbox", theme.key()),
        Source::Upload => Span::styled("upload", theme.dim()),
        Source::Recovered => Span::styled("recovered", theme.warning()),
    };
    // A duplicate has its own column when wide; else a marker after its name.
    let name = match file.duplicate_of.filter(|_| !cols.wide) {
        Some(of) => {
            let marker = if name_w >= DUPLICATE_IN_NAME {
                format!(" ≡#{of}")
            } else {
                " ≡".to_owned()
            };
            let room = name_w.saturating_sub(marker.chars().count());
            Line::from(vec![
                Span::raw(fit_middle(&file.name, room)),
                Span::styled(marker, theme.warning()),
            ])
        }
        None => Line::from(fit_middle(&file.name, name_w)),
    };
    let mut cells = vec![Line::from(Span::styled(mark, theme.good())), name];
    if cols.medium {
        cells.push(Line::from(fit(&file.kind, KIND_W as usize)));
    }
    cells.push(Line::from(bytes(file.size)));
    cells.push(match file.trashed_at.filter(|_| cols.trash) {
        Some(at) => Line::from(Span::styled(time_utc(at), theme.warning())),
        None => Line::from(badge),
    });
    if cols.medium {
        cells.push(Line::from(Span::styled(
            fit(&file.collections.join(", "), name_w),
            theme.dim(),
        )));
    }
    if cols.wide {
        cells.push(Line::from(Span::styled(
            time_utc(file.imported_at),
            theme.dim(),
        )));
        cells.push(Line::from(Span::styled(
            file.duplicate_of
                .map(|of| format!("of #{of}"))
                .unwrap_or_default(),
            theme.warning(),
        )));
        cells.push(Line::from(fit(
            file.uploaded_by.as_deref().unwrap_or("-"),
            name_w,
        )));
    }
    Row::new(cells)
}
