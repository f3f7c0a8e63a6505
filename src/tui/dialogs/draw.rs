//! Drawing the open dialog, centred over the panes. Every name, path, email and typed value
//! goes through the sanitizers; the QR code is drawn dark-on-light even on dark terminals.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, List, ListItem, ListState, Paragraph, Wrap};
use tui_input::Input;

use super::upload::{Lookup, UploadDialog};
use super::{Dialog, keys};
use crate::tui::text::{bytes, clean, fit};
use crate::tui::theme::Theme;

/// Widest a text dialog gets.
pub(super) const TEXT_WIDTH: u16 = 72;
/// Columns the API dialog keeps for its text beside the QR code.
const API_TEXT_WIDTH: u16 = 44;

/// `copy_key` is the key that copies the authorize page (`[keys] copy_link`).
pub fn draw(frame: &mut Frame, area: Rect, dialog: &Dialog, theme: Theme, copy_key: &str) {
    match dialog {
        Dialog::LinkFolder {
            account,
            field,
            candidates,
        } => {
            let mut text = vec![
                Line::from("The folder the Dropbox desktop app keeps in sync on this machine,"),
                Line::from("e.g. ~/Dropbox/Apps/Smartimage. A folder named after the account"),
                Line::from("is made inside it; files dropped there are imported."),
            ];
            if !candidates.is_empty() {
                let inner_w = TEXT_WIDTH
                    .min(area.width.saturating_sub(2))
                    .saturating_sub(2);
                let joined = candidates
                    .iter()
                    .map(|c| clean(c))
                    .collect::<Vec<_>>()
                    .join("  ");
                text.push(Line::from(Span::styled(
                    fit(
                        &format!("{} matches: {joined}", candidates.len()),
                        inner_w as usize * 2,
                    ),
                    theme.key(),
                )));
            }
            let title = format!(" Link {} to a synced Dropbox folder ", clean(account));
            field_dialog(
                frame,
                area,
                theme,
                &title,
                text,
                field,
                &keys::hint(keys::LINK_FOLDER),
            );
        }
        Dialog::ApiLink {
            account,
            url,
            qr,
            field,
            checking,
            error,
        } => {
            let state = ApiState {
                checking: *checking,
                error: error.as_deref(),
                copy_key,
            };
            api_link(
                frame,
                area,
                theme,
                account,
                url,
                qr.as_deref(),
                field,
                &state,
            )
        }
        Dialog::Confirm { question, .. } => {
            let lines = vec![
                Line::from(clean(question)),
                Line::from(""),
                Line::from(Span::styled(keys::hint(keys::CONFIRM), theme.key())),
            ];
            text_box(
                frame,
                area,
                theme,
                " Are you sure? ",
                lines,
                theme.warning(),
            );
        }
        Dialog::PickAdmin {
            account,
            revoke,
            choices,
            selected,
        } => picker(frame, area, theme, account, *revoke, choices, *selected),
        Dialog::Notice { title, text } => {
            let lines = vec![
                Line::from(clean(text)),
                Line::from(""),
                Line::from(vec![
                    Span::styled("Enter", theme.key()),
                    Span::raw("/"),
                    Span::styled("Esc", theme.key()),
                    Span::raw(" closes"),
                ]),
            ];
            text_box(
                frame,
                area,
                theme,
                &format!(" {} ", clean(title)),
                lines,
                theme.error(),
            );
        }
        Dialog::Upload(upload) => upload_dialog(frame, area, theme, upload),
        Dialog::Send(send) => super::draw_send::send(frame, area, theme, send),
        Dialog::Sent(sent) => super::draw_send::sent(frame, area, theme, sent),
        Dialog::Share(share) => super::draw_send::share(frame, area, theme, share),
        Dialog::Edit(d) => super::draw_collections::draw_edit(frame, area, d, theme),
        Dialog::Batch(d) => super::draw_collections::draw_batch(frame, area, d, theme),
        Dialog::Trash(d) => d.draw(frame, area, theme),
    }
}

/// Upload…: the field, then what it holds (or the Tab matches), the account, the keys.
fn upload_dialog(frame: &mut Frame, area: Rect, theme: Theme, dialog: &UploadDialog) {
    let width = TEXT_WIDTH.min(area.width.saturating_sub(2));
    let inner_w = width.saturating_sub(2) as usize;
    let mut below: Vec<Line> = Vec::new();
    if !dialog.candidates.is_empty() {
        below.push(Line::from(format!("{} matches:", dialog.candidates.len())));
        let joined = dialog
            .candidates
            .iter()
            .map(|c| clean(c))
            .collect::<Vec<_>>()
            .join("  ");
        below.push(Line::from(Span::styled(
            fit(&joined, inner_w * 2),
            theme.key(),
        )));
    }
    match &dialog.lookup {
        // Several matches: the value is a prefix, not yet a path to count.
        Lookup::Ready { .. } if !dialog.candidates.is_empty() => {}
        Lookup::Stale if dialog.field.value().trim().is_empty() => below.push(Line::from(
            Span::styled("Type a path, or drop files on the terminal.", theme.dim()),
        )),
        Lookup::Stale => below.push(Line::from(Span::styled(
            "Tab completes the path and counts its files.",
            theme.dim(),
        ))),
        Lookup::Pending { .. } => {
            below.push(Line::from(Span::styled("Counting the files…", theme.dim())))
        }
        Lookup::Ready {
            preview: Err(why), ..
        } => below.push(Line::from(Span::styled(clean(why), theme.error()))),
        Lookup::Ready {
            preview: Ok(preview),
            ..
        } => {
            below.push(Line::from(format!(
                "Takes {} file(s), {}:",
                preview.files,
                bytes(preview.bytes)
            )));
            for name in &preview.first {
                below.push(Line::from(format!(
                    "  {}",
                    fit(&name.display().to_string(), inner_w.saturating_sub(2))
                )));
            }
            let more = preview.files.saturating_sub(preview.first.len() as u64);
            if more > 0 {
                below.push(Line::from(Span::styled(
                    format!("  …and {more} more"),
                    theme.dim(),
                )));
            }
        }
    }
    below.push(Line::from(""));
    below.push(match &dialog.account {
        Some(account) => Line::from(vec![
            Span::raw("Goes to "),
            Span::styled(clean(account), theme.title()),
            Span::raw(". The files on this server are only read, never changed."),
        ]),
        None => Line::from(Span::styled(
            "All accounts is selected: pick the account to upload to in the Accounts pane first.",
            theme.warning(),
        )),
    });
    let intro = vec![Line::from(
        "Files or folders on this server, separated by spaces:",
    )];
    let intro_h = wrapped_height(&intro, width.saturating_sub(2));
    let below_h = wrapped_height(&below, width.saturating_sub(2));
    let title = match &dialog.account {
        Some(account) => format!(" Upload to {} ", clean(account)),
        None => " Upload ".to_owned(),
    };
    let inner = popup(
        frame,
        area,
        width,
        intro_h + 3 + below_h + 1 + 2,
        theme,
        &title,
        theme.border(true),
    );
    let [intro_area, field_area, below_area, hint_area] = Layout::vertical([
        Constraint::Length(intro_h),
        Constraint::Length(3),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(intro).wrap(Wrap { trim: false }), intro_area);
    let field_block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(true));
    let field_inner = field_block.inner(field_area);
    frame.render_widget(field_block, field_area);
    frame.render_widget(
        Paragraph::new(field_line(&dialog.field, field_inner.width, theme)),
        field_inner,
    );
    frame.render_widget(Paragraph::new(below).wrap(Wrap { trim: false }), below_area);
    let hint = keys::hint(if dialog.account.is_some() {
        keys::UPLOAD
    } else {
        keys::UPLOAD_NO_ACCOUNT
    });
    frame.render_widget(
        Paragraph::new(Span::styled(
            fit(&hint, hint_area.width as usize),
            theme.dim(),
        )),
        hint_area,
    );
}

pub(super) fn centred(area: Rect, width: u16, height: u16) -> Rect {
    let [vert] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [rect] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(vert);
    rect
}

/// The one popup every dialog is drawn in: `width` x `height` centred in `area` (cut to it),
/// cleared, bordered in `border`, titled; returns the area inside the border.
#[allow(clippy::too_many_arguments)]
pub(super) fn popup(
    frame: &mut Frame,
    area: Rect,
    width: u16,
    height: u16,
    theme: Theme,
    title: &str,
    border: Style,
) -> Rect {
    let rect = centred(area, width, height);
    frame.render_widget(Clear, rect);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(border)
        .title(Span::styled(
            fit(title, rect.width.saturating_sub(2) as usize),
            theme.title(),
        ));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    inner
}

/// Rows `lines` take when wrapped to `width`: by characters, plus a little for the ends of
/// rows that word wrapping leaves empty (a row too few would hide the last line).
pub(super) fn wrapped_height(lines: &[Line], width: u16) -> u16 {
    let width = width.max(1) as usize;
    lines
        .iter()
        .map(|l| {
            let w = l.width();
            let rows = w.max(1).div_ceil(width);
            let slack = if rows > 1 {
                (w / 10).div_ceil(width)
            } else {
                0
            };
            (rows + slack) as u16
        })
        .sum()
}

pub(super) fn text_box(
    frame: &mut Frame,
    area: Rect,
    theme: Theme,
    title: &str,
    lines: Vec<Line>,
    border: Style,
) {
    let width = TEXT_WIDTH.min(area.width.saturating_sub(2));
    let height = wrapped_height(&lines, width.saturating_sub(2)) + 2;
    let inner = popup(frame, area, width, height, theme, title, border);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

/// One line of an editable value, scrolled so the cursor shows, the cursor in reverse video.
pub(super) fn field_line(field: &Input, width: u16, theme: Theme) -> Line<'static> {
    let width = width.max(2) as usize;
    let value = clean(field.value());
    let cursor = field.visual_cursor().min(value.chars().count());
    let scroll = field.visual_scroll(width - 1);
    let chars: Vec<char> = value.chars().collect();
    let visible: String = chars.iter().skip(scroll).take(width - 1).collect();
    let at = cursor.saturating_sub(scroll);
    let (before, rest): (String, String) = (
        visible.chars().take(at).collect(),
        visible.chars().skip(at).collect(),
    );
    let mut rest = rest.chars();
    let under = rest.next().map(String::from).unwrap_or_else(|| " ".into());
    Line::from(vec![
        Span::raw(before),
        Span::styled(under, theme.selected()),
        Span::raw(rest.collect::<String>()),
    ])
}

pub(super) fn field_dialog(
    frame: &mut Frame,
    area: Rect,
    theme: Theme,
    title: &str,
    text: Vec<Line>,
    field: &Input,
    hint: &str,
) {
    let width = TEXT_WIDTH.min(area.width.saturating_sub(2));
    let text_height = wrapped_height(&text, width.saturating_sub(2));
    let inner = popup(
        frame,
        area,
        width,
        text_height + 3 + 1 + 2,
        theme,
        title,
        theme.border(true),
    );
    let [text_area, field_area, hint_area] = Layout::vertical([
        Constraint::Length(text_height),
        Constraint::Length(3),
        Constraint::Length(1),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }), text_area);
    let field_block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(true));
    let field_inner = field_block.inner(field_area);
    frame.render_widget(field_block, field_area);
    frame.render_widget(
        Paragraph::new(field_line(field, field_inner.width, theme)),
        field_inner,
    );
    frame.render_widget(
        Paragraph::new(Span::styled(
            fit(hint, hint_area.width as usize),
            theme.dim(),
        )),
        hint_area,
    );
}

/// What the API dialog says besides its page: a code being checked, a refused one, the key
/// that copies the page.
struct ApiState<'a> {
    checking: bool,
    error: Option<&'a str>,
    copy_key: &'a str,
}

impl ApiState<'_> {
    fn hint(&self) -> String {
        if self.checking {
            "checking the code with Dropbox…".into()
        } else {
            format!(
                "{} · {} copy the page",
                keys::hint(keys::API_LINK),
                self.copy_key
            )
        }
    }

    fn error_line(&self, theme: Theme) -> Option<Line<'static>> {
        self.error.map(|why| {
            Line::from(Span::styled(
                format!("Not linked: {}. Paste the code again.", clean(why)),
                theme.error(),
            ))
        })
    }
}

#[allow(clippy::too_many_arguments)]
fn api_link(
    frame: &mut Frame,
    area: Rect,
    theme: Theme,
    account: &str,
    url: &str,
    qr: Option<&[String]>,
    field: &Input,
    state: &ApiState,
) {
    let title = format!(" Link {} through the Dropbox API ", clean(account));
    // The page's address on rows of its own across the whole screen, no border on them: a
    // mouse selection (over SSH too) picks up the address and nothing else.
    let url_rows = url_rows(area, url);
    let [dialog_area, url_area] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(url_rows + 1)]).areas(area);
    draw_url(frame, url_area, theme, url, state.copy_key);
    let area = dialog_area;
    let qr_size = qr.map(|rows| (rows[0].chars().count() as u16, rows.len() as u16));
    let fits =
        qr_size.filter(|(w, h)| *w + API_TEXT_WIDTH + 3 <= area.width && *h + 2 <= area.height);
    let Some((qr_w, qr_h)) = fits else {
        // Too small for the code: the address below, and how big the code needs.
        let mut text = vec![Line::from(
            "1. Open the page below and allow access, signed in as the Dropbox account to link.",
        )];
        if let Some((w, h)) = qr_size {
            text.push(Line::from(Span::styled(
                format!(
                    "(A terminal of {}x{} or more also shows it as a QR code.)",
                    w + API_TEXT_WIDTH + 3,
                    h + 4 + url_rows + 1
                ),
                theme.dim(),
            )));
        }
        text.extend(state.error_line(theme));
        text.push(Line::from("2. Paste the code Dropbox shows:"));
        field_dialog(frame, area, theme, &title, text, field, &state.hint());
        return;
    };
    let rect = centred(area, qr_w + API_TEXT_WIDTH + 3, qr_h + 2);
    let text_area = qr_beside_text(frame, rect, theme, &title, qr.unwrap_or_default(), qr_w);
    let mut text = vec![
        Line::from("1. Scan the code with a phone, or open the page below."),
        Line::from(""),
        Line::from("   Sign in as the Dropbox account to link, and allow access."),
        Line::from(""),
    ];
    text.extend(state.error_line(theme));
    text.push(Line::from("2. Paste the code Dropbox shows:"));
    let text_height = wrapped_height(&text, text_area.width);
    let [words, field_area, _, hint_area] = Layout::vertical([
        Constraint::Length(text_height),
        Constraint::Length(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(text_area);
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }), words);
    let field_block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(true));
    let field_inner = field_block.inner(field_area);
    frame.render_widget(field_block, field_area);
    frame.render_widget(
        Paragraph::new(field_line(field, field_inner.width, theme)),
        field_inner,
    );
    frame.render_widget(
        Paragraph::new(Span::styled(
            fit(&state.hint(), hint_area.width as usize),
            theme.dim(),
        )),
        hint_area,
    );
}

/// Rows the page's address takes across the whole screen.
fn url_rows(area: Rect, url: &str) -> u16 {
    let width = area.width.max(1) as usize;
    (clean(url).chars().count().div_ceil(width).max(1) as u16).min(area.height / 3)
}

/// The authorize page's address at the bottom of `area`: a label row, then the address cut
/// into rows of the full screen width — no border, no padding.
fn draw_url(frame: &mut Frame, area: Rect, theme: Theme, url: &str, copy_key: &str) {
    frame.render_widget(Clear, area);
    let [label, rows] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    frame.render_widget(
        Paragraph::new(Span::styled(
            fit(
                &format!("Dropbox authorize page ({copy_key} copies it):"),
                label.width as usize,
            ),
            theme.dim(),
        )),
        label,
    );
    let chars: Vec<char> = clean(url).chars().collect();
    let lines: Vec<Line> = chars
        .chunks(rows.width.max(1) as usize)
        .map(|c| Line::from(Span::styled(c.iter().collect::<String>(), theme.key())))
        .collect();
    frame.render_widget(Paragraph::new(lines), rows);
}

/// A dialog frame at `rect` with a QR code (`qr_w` columns) on its left; returns the area
/// right of it for the words. The code is drawn dark on light whatever the terminal's colours
/// when colour is allowed (phones read it better), plain under NO_COLOR.
pub(super) fn qr_beside_text(
    frame: &mut Frame,
    rect: Rect,
    theme: Theme,
    title: &str,
    qr: &[String],
    qr_w: u16,
) -> Rect {
    let inner = popup(
        frame,
        rect,
        rect.width,
        rect.height,
        theme,
        title,
        theme.border(true),
    );
    let [code_area, _, text_area] = Layout::horizontal([
        Constraint::Length(qr_w),
        Constraint::Length(1),
        Constraint::Min(10),
    ])
    .areas(inner);
    let qr_style = if theme.color {
        Style::new().fg(Color::White).bg(Color::Black)
    } else {
        Style::new()
    };
    let rows: Vec<Line> = qr
        .iter()
        .map(|r| Line::from(Span::styled(r.clone(), qr_style)))
        .collect();
    frame.render_widget(Paragraph::new(rows), code_area);
    text_area
}

fn picker(
    frame: &mut Frame,
    area: Rect,
    theme: Theme,
    account: &str,
    revoke: bool,
    choices: &[String],
    selected: usize,
) {
    let (title, intro, none) = if revoke {
        (
            format!(" Revoke a delegation of {} ", clean(account)),
            "Who may no longer link Dropbox for this account:",
            "No admin of this account is delegated.",
        )
    } else {
        (
            format!(" Delegate Dropbox linking of {} ", clean(account)),
            "Which admin may link Dropbox for this account:",
            "Every admin of this account is delegated already (owners need no delegation). An owner adds admins with `smartimage admin add EMAIL --admin ACCOUNT`.",
        )
    };
    let width = TEXT_WIDTH.min(area.width.saturating_sub(2));
    if choices.is_empty() {
        let lines = vec![
            Line::from(none),
            Line::from(""),
            Line::from(Span::styled("Enter/Esc closes", theme.dim())),
        ];
        text_box(frame, area, theme, &title, lines, theme.border(true));
        return;
    }
    let list_height = (choices.len() as u16).min(area.height.saturating_sub(6).max(1));
    let inner = popup(
        frame,
        area,
        width,
        list_height + 4,
        theme,
        &title,
        theme.border(true),
    );
    let [intro_area, list_area, hint_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    frame.render_widget(
        Paragraph::new(fit(intro, intro_area.width as usize)),
        intro_area,
    );
    let items: Vec<ListItem> = choices
        .iter()
        .map(|c| ListItem::new(fit(&format!("  {c}"), list_area.width as usize)))
        .collect();
    let mut state = ListState::default().with_selected(Some(selected));
    frame.render_stateful_widget(
        List::new(items).highlight_style(theme.selected()),
        list_area,
        &mut state,
    );
    let verb = if revoke { "revokes" } else { "delegates" };
    frame.render_widget(
        Paragraph::new(Span::styled(
            fit(
                &format!("j/k choose · Enter {verb} · Esc cancels"),
                hint_area.width as usize,
            ),
            theme.dim(),
        )),
        hint_area,
    );
}
