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
use crate::library::metadata::FileMetadata;
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
    let height = 22u16.min(area.height.saturating_sub(2));
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
    let mut about_file = match &d.data.metadata {
        Some(m) => metadata_fields(m, d.data.location_shown),
        None => vec![],
    };
    // The preview's header read, for a file whose metadata is not read yet.
    if !about_file.iter().any(|(label, _)| *label == "Dimensions")
        && let Some((w, h)) = d.data.dimensions
    {
        about_file.insert(0, ("Dimensions", format!("{w} × {h} px")));
    }
    for (label, value) in about_file {
        lines.push(field(label, fit(&clean(&value), value_width), theme));
    }
    if let Some(of) = file.duplicate_of {
        lines.push(field("Duplicate", format!("of #{of} (same bytes)"), theme));
    }
    if let Some(at) = file.trashed_at {
        lines.push(field("Trashed", format!("{} UTC", time_utc(at)), theme));
    }
    lines.push(field(
        "Imported",
        format!("{} UTC", time_utc(file.imported_at)),
        theme,
    ));
    if let Some(batch) = file.batch {
        lines.push(field("Import batch", batch.to_string(), theme));
    }
    lines.extend([
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
        field("SHA-256", fit(&file.sha256, value_width), theme),
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

/// The file's own metadata as label and value, in the order the pencil shows them; what the
/// file does not say is left out. The position only when `location_shown` (the library has
/// already cleared it for everyone else; this says why it is missing).
pub(crate) fn metadata_fields(
    m: &FileMetadata,
    location_shown: bool,
) -> Vec<(&'static str, String)> {
    let mut out = vec![];
    if let (Some(w), Some(h)) = (m.width, m.height) {
        out.push(("Dimensions", format!("{w} × {h} px")));
    }
    let turned = m.orientation.filter(|o| *o != 1);
    match (m.shape(), turned) {
        (Some(shape), Some(o)) => out.push(("Orientation", format!("{shape} (EXIF {o})"))),
        (Some(shape), None) => out.push(("Orientation", shape.to_owned())),
        (None, Some(o)) => out.push(("Orientation", format!("EXIF {o}"))),
        (None, None) => {}
    }
    if let Some(taken) = &m.taken_at {
        out.push(("Taken", taken.replacen('T', " ", 1)));
    }
    let camera = match (&m.camera_make, &m.camera_model) {
        (Some(make), Some(model)) if model.to_lowercase().starts_with(&make.to_lowercase()) => {
            Some(model.clone())
        }
        (Some(make), Some(model)) => Some(format!("{make} {model}")),
        (Some(one), None) | (None, Some(one)) => Some(one.clone()),
        (None, None) => None,
    };
    if let Some(camera) = camera {
        out.push(("Camera", camera));
    }
    if let Some(lens) = &m.lens {
        out.push(("Lens", lens.clone()));
    }
    match (m.has_gps, m.gps) {
        (Some(true), Some((lat, lon))) if location_shown => {
            out.push(("GPS", format!("{lat:.5}, {lon:.5}")))
        }
        (Some(true), _) => out.push(("GPS", "yes (the position is for owners)".into())),
        (Some(false), _) => out.push(("GPS", "no".into())),
        (None, _) => {}
    }
    if let Some(ms) = m.duration_ms {
        out.push(("Duration", duration(ms)));
    }
    if let Some(codec) = &m.video_codec {
        out.push(("Codec", codec.clone()));
    }
    if let Some(pages) = m.pages {
        out.push(("Pages", thousands(pages.into())));
    }
    out
}

/// "1:02:03", "4:05", "12.3 s".
fn duration(ms: u64) -> String {
    let secs = ms / 1000;
    match secs {
        0..60 => format!("{:.1} s", ms as f64 / 1000.0),
        60..3600 => format!("{}:{:02}", secs / 60, secs % 60),
        _ => format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_photo_says_is_shown_and_what_it_does_not_is_left_out() {
        let m = FileMetadata {
            width: Some(4000),
            height: Some(3000),
            orientation: Some(6),
            taken_at: Some("2026-06-12T14:03:22+02:00".into()),
            camera_make: Some("Canon".into()),
            camera_model: Some("Canon EOS R6".into()),
            lens: Some("RF24-105mm F4 L IS USM".into()),
            has_gps: Some(true),
            gps: Some((48.858_37, 2.294_481)),
            ..FileMetadata::default()
        };
        let fields = metadata_fields(&m, true);
        let labels: Vec<&str> = fields.iter().map(|(l, _)| *l).collect();
        assert_eq!(
            labels,
            [
                "Dimensions",
                "Orientation",
                "Taken",
                "Camera",
                "Lens",
                "GPS"
            ]
        );
        assert_eq!(fields[1].1, "landscape (EXIF 6)");
        assert_eq!(fields[2].1, "2026-06-12 14:03:22+02:00");
        assert_eq!(fields[3].1, "Canon EOS R6", "the make is not said twice");
        assert_eq!(fields[5].1, "48.85837, 2.29448");
    }

    #[test]
    fn the_position_is_only_for_those_who_may_see_it() {
        let m = FileMetadata {
            has_gps: Some(true),
            gps: Some((48.8, 2.3)),
            ..FileMetadata::default()
        };
        let fields = metadata_fields(&m, false);
        assert_eq!(
            fields,
            [("GPS", "yes (the position is for owners)".to_owned())]
        );
        let none = FileMetadata {
            has_gps: Some(false),
            ..FileMetadata::default()
        };
        assert_eq!(metadata_fields(&none, true), [("GPS", "no".to_owned())]);
    }

    #[test]
    fn video_and_documents_say_their_length() {
        let video = FileMetadata {
            duration_ms: Some(3_723_000),
            video_codec: Some("hevc".into()),
            ..FileMetadata::default()
        };
        assert_eq!(
            metadata_fields(&video, false),
            [
                ("Duration", "1:02:03".to_owned()),
                ("Codec", "hevc".to_owned())
            ]
        );
        assert_eq!(duration(245_000), "4:05");
        assert_eq!(duration(12_340), "12.3 s");
        let pdf = FileMetadata {
            pages: Some(1200),
            ..FileMetadata::default()
        };
        assert_eq!(
            metadata_fields(&pdf, false),
            [("Pages", "1,200".to_owned())]
        );
    }
}
