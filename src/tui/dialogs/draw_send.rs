//! Drawing Send to Dropbox, what a send did, and a shared link with its QR code (dark modules
//! on a light ground, as the API link's). Names, paths and URLs go through the sanitizers.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::draw::{centred, field_dialog, qr_beside_text, text_box, wrapped_height};
use super::send::share_folder_hint;
use super::send::{SendDialog, SentDialog, ShareDialog};
use crate::tui::text::clean;
use crate::tui::theme::Theme;

/// Columns the share dialog keeps for its text beside the QR code, at most.
const SHARE_TEXT_WIDTH: u16 = 40;
/// Narrower than this, the text goes under no code: the URL alone.
const SHARE_TEXT_MIN: u16 = 30;

pub fn send(frame: &mut Frame, area: Rect, theme: Theme, dialog: &SendDialog) {
    let text = vec![
        Line::from(vec![Span::raw("Send  "), Span::raw(clean(&dialog.what))]),
        Line::from(vec![Span::raw("of    "), Span::raw(clean(&dialog.account))]),
        Line::from(vec![
            Span::raw("to    "),
            Span::styled(clean(&dialog.destination()), theme.key()),
        ]),
        Line::from(Span::styled(
            "A copy: the library is not changed; a name taken there gets a new one.",
            theme.dim(),
        )),
        Line::from("Subfolder in the downloads folder (optional):"),
    ];
    field_dialog(
        frame,
        area,
        theme,
        " Send to Dropbox ",
        text,
        &dialog.subfolder,
        &super::keys::hint(super::keys::SEND),
    );
}

pub fn sent(frame: &mut Frame, area: Rect, theme: Theme, dialog: &SentDialog) {
    let mut lines: Vec<Line> = dialog.lines.iter().map(|l| Line::from(clean(l))).collect();
    lines.push(Line::from(""));
    let mut keys = vec![];
    if dialog.share.is_some() {
        let hint = share_folder_hint();
        let (key, words) = hint.split_once(' ').unwrap_or((&hint, ""));
        keys.push(Span::styled(key.to_owned(), theme.key()));
        keys.push(Span::raw(format!(" {words} · ")));
    }
    keys.extend([
        Span::styled("Enter", theme.key()),
        Span::raw("/"),
        Span::styled("Esc", theme.key()),
        Span::raw(" closes"),
    ]);
    lines.push(Line::from(keys));
    let border = if dialog.failed {
        theme.error()
    } else {
        theme.border(true)
    };
    let title = format!(" {} ", clean(&dialog.title));
    text_box(frame, area, theme, &title, lines, border);
}

fn share_words(theme: Theme, dialog: &ShareDialog) -> Vec<Line<'static>> {
    let kind = if dialog.created {
        "New shared link"
    } else {
        "Shared link (it existed; reused)"
    };
    vec![
        Line::from(format!("{kind} to {}:", clean(&dialog.path))),
        Line::from(Span::styled(clean(&dialog.url), theme.key())),
        Line::from(""),
        Line::from("Anyone with the link can view it."),
    ]
}

pub fn share(frame: &mut Frame, area: Rect, theme: Theme, dialog: &ShareDialog) {
    let title = " Share ";
    let closes = Line::from(Span::styled("Esc closes", theme.dim()));
    let qr_size = dialog
        .qr
        .as_ref()
        .map(|rows| (rows[0].chars().count() as u16, rows.len() as u16));
    let fits = qr_size.and_then(|(w, h)| {
        let text_w = SHARE_TEXT_WIDTH.min(area.width.saturating_sub(w + 3));
        (text_w >= SHARE_TEXT_MIN && h + 2 <= area.height).then_some((w, h, text_w))
    });
    let Some((qr_w, qr_h, text_w)) = fits else {
        // Too small for the code: the URL alone (it wraps), and how big the code needs.
        let mut lines = share_words(theme, dialog);
        if let Some((w, h)) = qr_size {
            lines.push(Line::from(Span::styled(
                format!(
                    "(A terminal of {}x{} or more also shows it as a QR code.)",
                    w + SHARE_TEXT_MIN + 3,
                    h + 4
                ),
                theme.dim(),
            )));
        }
        lines.push(Line::from(""));
        lines.push(closes);
        text_box(frame, area, theme, title, lines, theme.border(true));
        return;
    };
    let words = share_words(theme, dialog);
    let height = (wrapped_height(&words, text_w) + 2).max(qr_h);
    let rect = centred(area, qr_w + text_w + 3, height + 2);
    let qr = dialog.qr.as_deref().unwrap_or_default();
    let text_area = qr_beside_text(frame, rect, theme, title, qr, qr_w);
    let [words_area, _, hint_area] = Layout::vertical([
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(text_area);
    frame.render_widget(Paragraph::new(words).wrap(Wrap { trim: false }), words_area);
    frame.render_widget(Paragraph::new(closes), hint_area);
}
