//! Drawing All Files' collections dialogs: the pencil (details + collection picker) and batch
//! add (picker, then a confirmation that says how many files go where).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::collections::{BatchDialog, CollectionPicker, EditDialog};
use super::draw::popup;
use super::keys::{self, hint};
use crate::library::ids::CollectionId;
use crate::tui::text::{bytes, clean, fit, fit_middle, thousands, time_utc};
use crate::tui::theme::Theme;

/// Widest a dialog gets.
const MAX_WIDTH: u16 = 100;
/// Width of the detail labels ("Dropbox path" and a space).
const LABEL_W: usize = 13;
/// Narrowest dialog that puts the details beside the picker.
const SIDE_BY_SIDE: u16 = 70;

fn field<'a>(label: &'a str, value: String, theme: Theme) -> Line<'a> {
    Line::from(vec![
        Span::styled(format!("{label:<LABEL_W$}"), theme.dim()),
        Span::raw(value),
    ])
}

pub(super) fn draw_edit(frame: &mut Frame, area: Rect, d: &EditDialog, theme: Theme) {
    let file = &d.data.file;
    let width = MAX_WIDTH.min(area.width.saturating_sub(2));
    let height = 20u16.min(area.height.saturating_sub(2));
    let inner = popup(
        frame,
        area,
        width,
        height,
        theme,
        &format!(" Edit {} ", clean(&file.name)),
        theme.border(true),
    );
    let [body, keys_area] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(inner);
    let (about, picker) = if inner.width >= SIDE_BY_SIDE {
        let [a, p] = Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
            .spacing(1)
            .areas(body);
        (a, p)
    } else {
        let [a, p] = Layout::vertical([Constraint::Length(7), Constraint::Min(3)]).areas(body);
        (a, p)
    };
    let value_width = about.width.saturating_sub(LABEL_W as u16) as usize;
    let mut lines = vec![
        field("Name", fit(&file.name, value_width), theme),
        field("Account", fit(&file.account_name, value_width), theme),
        field(
            "Size",
            format!("{} ({} bytes)", bytes(file.size), thousands(file.size)),
            theme,
        ),
        field("Kind", fit(&file.kind, value_width), theme),
        field(
            "Format",
            fit(&format!("{} ({})", file.format, file.mime), value_width),
            theme,
        ),
    ];
    if let Some((w, h)) = d.data.dimensions {
        lines.push(field("Dimensions", format!("{w} × {h} px"), theme));
    }
    lines.extend([
        field("SHA-256", fit(&file.sha256, value_width), theme),
        field("Source", file.source.label().to_owned(), theme),
        field(
            "Dropbox path",
            fit_middle(file.dropbox_path.as_deref().unwrap_or("-"), value_width),
            theme,
        ),
        field(
            "Uploaded by",
            fit(file.uploaded_by.as_deref().unwrap_or("-"), value_width),
            theme,
        ),
        field(
            "Imported",
            format!("{} UTC", time_utc(file.imported_at)),
            theme,
        ),
    ]);
    frame.render_widget(Paragraph::new(lines), about);
    draw_picker(
        frame,
        picker,
        &d.picker,
        vec![],
        |id| d.checked.contains(&id),
        theme,
    );
    let hint = if d.saving {
        "saving…".to_owned()
    } else {
        hint(d.picker.keys(keys::EDIT))
    };
    frame.render_widget(
        Paragraph::new(Span::styled(
            fit(&hint, keys_area.width as usize),
            theme.key(),
        )),
        keys_area,
    );
}

/// The picker: filter field, the collections (checkbox or pointer), *New collection…*.
fn draw_picker(
    frame: &mut Frame,
    area: Rect,
    p: &CollectionPicker,
    extra: Vec<Line<'static>>,
    checked: impl Fn(CollectionId) -> bool,
    theme: Theme,
) {
    let width = area.width as usize;
    let [filter, list] = Layout::vertical([Constraint::Length(2), Constraint::Min(1)]).areas(area);
    let value = p.filter.value();
    let filter_line = Line::from(vec![
        Span::styled("Collections  ", theme.title()),
        Span::styled("/ ", theme.key()),
        Span::raw(fit(value, width.saturating_sub(16))),
        Span::styled(if p.filtering { "▏" } else { "" }, theme.key()),
    ]);
    frame.render_widget(Paragraph::new(filter_line), filter);
    let shown = p.shown();
    let mut lines = extra;
    let name_width = width.saturating_sub(12);
    for (i, c) in shown.iter().enumerate() {
        let mark = if checked(c.id) { "[x] " } else { "[ ] " };
        let style = if i == p.cursor && p.naming.is_none() && !p.filtering {
            theme.selected()
        } else {
            ratatui::style::Style::new()
        };
        lines.push(Line::from(vec![
            Span::styled(mark, style),
            Span::styled(fit(&c.name, name_width), style),
            Span::styled(
                if c.id.get() < 0 {
                    " (new)".to_owned()
                } else {
                    format!(" ({})", thousands(c.file_count))
                },
                theme.dim(),
            ),
        ]));
    }
    if shown.is_empty() && !value.trim().is_empty() {
        lines.push(Line::from(Span::styled(
            "no collection matches",
            theme.dim(),
        )));
    }
    let new_style = if p.on_new() && p.naming.is_none() && !p.filtering {
        theme.selected()
    } else {
        theme.key()
    };
    lines.push(match &p.naming {
        Some(name) => Line::from(vec![
            Span::styled("New collection: ", theme.key()),
            Span::raw(fit(name.value(), width.saturating_sub(18))),
            Span::styled("▏", theme.key()),
        ]),
        None => Line::from(Span::styled("New collection…", new_style)),
    });
    // Keep the cursor's line in view.
    let cursor_line = (p.cursor + lines.len() - shown.len() - 1).min(lines.len() - 1);
    let skip = (cursor_line + 1).saturating_sub(list.height as usize);
    frame.render_widget(Paragraph::new(lines).scroll((skip as u16, 0)), list);
}

pub(super) fn draw_batch(frame: &mut Frame, area: Rect, d: &BatchDialog, theme: Theme) {
    let files = match d.files {
        Some(n) => format!("{} {}", thousands(n), if n == 1 { "file" } else { "files" }),
        None => "the marked files (counting…)".into(),
    };
    let width = 64u16.min(area.width.saturating_sub(2));
    let height = 16u16.min(area.height.saturating_sub(2));
    let inner = popup(
        frame,
        area,
        width,
        height,
        theme,
        &format!(" Add {files} to a collection of {} ", clean(&d.account)),
        theme.border(true),
    );
    let [body, keys_area] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(inner);
    let hint = if let Some(target) = &d.target {
        let mut lines = vec![
            Line::from(vec![
                Span::raw("Add "),
                Span::styled(files.clone(), theme.title()),
                Span::raw(" to "),
                Span::styled(format!("“{}”", clean(&target.collection)), theme.title()),
                Span::raw(format!(" in {}?", clean(&d.account))),
            ]),
            Line::from(""),
        ];
        if target.create {
            lines.push(Line::from(format!(
                "“{}” is new: it will be created.",
                clean(&target.collection)
            )));
        }
        lines.push(Line::from(Span::styled(
            "Files already in it are not added twice. All or nothing: one transaction.",
            theme.dim(),
        )));
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), body);
        if d.saving {
            "adding…".to_owned()
        } else if d.files.is_none() {
            "counting… · Esc back".to_owned()
        } else {
            hint(keys::BATCH_CONFIRM)
        }
    } else {
        draw_picker(frame, body, &d.picker, vec![], |_| false, theme);
        hint(d.picker.keys(keys::BATCH_PICK))
    };
    frame.render_widget(
        Paragraph::new(Span::styled(
            fit(&hint, keys_area.width as usize),
            theme.key(),
        )),
        keys_area,
    );
}
