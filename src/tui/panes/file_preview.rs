//! The preview beside All Files: the selected image in halfblocks (works over any SSH
//! session), or the file's details when it is not an image or cannot be shown.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui_image::{Image, Resize};

use crate::library::model::FileRecord;
use crate::tui::all_files::AllFiles;
use crate::tui::all_files::preview::previewable;
use crate::tui::text::{bytes, clean, time_utc};
use crate::tui::theme::Theme;

pub fn draw(frame: &mut Frame, area: Rect, files: &AllFiles, theme: Theme) {
    let block = Block::default()
        .borders(Borders::LEFT)
        .border_style(theme.border(false))
        .title(Span::styled(" Preview ", theme.dim()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(file) = files.selected() else {
        return;
    };
    let [picture, about] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(4)]).areas(inner);
    if !previewable(file) {
        frame.render_widget(
            Paragraph::new(details(file, theme)).wrap(Wrap { trim: false }),
            inner,
        );
        return;
    }
    match files.previews.get(file.id) {
        Some(Ok(image)) => {
            let mut drawn = files.drawn_preview.borrow_mut();
            let fresh =
                matches!(&*drawn, Some((id, area, _)) if *id == file.id && *area == picture);
            if !fresh {
                *drawn = None;
                match files
                    .picker
                    .new_protocol((**image).clone(), picture, Resize::Fit(None))
                {
                    Ok(protocol) => *drawn = Some((file.id, picture, protocol)),
                    Err(e) => frame.render_widget(
                        Paragraph::new(Span::styled(clean(&e.to_string()), theme.warning())),
                        picture,
                    ),
                }
            }
            if let Some((_, _, protocol)) = &*drawn {
                frame.render_widget(Image::new(protocol), picture);
            }
        }
        Some(Err(why)) => frame.render_widget(
            Paragraph::new(Span::styled(clean(why), theme.warning())).wrap(Wrap { trim: false }),
            picture,
        ),
        None => frame.render_widget(
            Paragraph::new(Span::styled("decoding…", theme.dim())),
            picture,
        ),
    }
    frame.render_widget(
        Paragraph::new(details(file, theme)).wrap(Wrap { trim: false }),
        about,
    );
}

fn details(file: &FileRecord, theme: Theme) -> Vec<Line<'static>> {
    vec![
        Line::from(Span::styled(clean(&file.name), theme.title())),
        Line::from(format!(
            "{} · {} · {}",
            clean(&file.format),
            bytes(file.size),
            file.source.label()
        )),
        Line::from(Span::styled(
            format!("imported {} UTC", time_utc(file.imported_at)),
            theme.dim(),
        )),
        Line::from(Span::styled(
            file.dropbox_path
                .as_deref()
                .map(|p| format!("from {}", clean(p)))
                .unwrap_or_default(),
            theme.dim(),
        )),
    ]
}
