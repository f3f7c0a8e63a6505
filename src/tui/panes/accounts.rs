//! Accounts: plan, storage and video use against the plan as gauges (warning at 75 %), the
//! Dropbox link and its folder, delegates. "All accounts" first; the selection scopes the rest.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{List, ListItem, ListState};

use crate::library::actions::AccountSummary;
use crate::library::store::links::BackendKind;
use crate::tui::account_list::AccountList;
use crate::tui::text::{bytes, fit, fit_middle, fit_start, gauge};
use crate::tui::theme::Theme;
use unicode_width::UnicodeWidthStr;

/// Usage at or above this share of the plan is shown as a warning.
pub const WARN_PERCENT: u64 = 75;
const GAUGE_WIDTH: usize = 10;

/// *All accounts* first, then the accounts in order, the cursor's line highlighted.
pub fn draw(frame: &mut Frame, area: Rect, list: &AccountList, focused: bool, theme: Theme) {
    let (accounts, cursor) = (&list.rows, list.cursor);
    let width = area.width as usize;
    let mut items = vec![ListItem::new(Line::from(fit(
        &format!("All accounts ({})", accounts.len()),
        width,
    )))];
    items.extend(accounts.iter().map(|a| account_item(a, theme, width)));
    let mut state = ListState::default().with_selected(Some(cursor));
    let list = List::new(items).highlight_style(if focused {
        theme.selected()
    } else {
        theme.title()
    });
    frame.render_stateful_widget(list, area, &mut state);
}

fn account_item<'a>(a: &AccountSummary, theme: Theme, width: usize) -> ListItem<'a> {
    let usage = |label: &str, used: u64, limit: u64| -> Line<'a> {
        let (bar, percent) = gauge(used, limit, GAUGE_WIDTH);
        let style = if percent >= WARN_PERCENT {
            theme.warning()
        } else {
            theme.good()
        };
        let mark = if percent >= WARN_PERCENT { "!" } else { " " };
        Line::from(vec![
            Span::raw(format!("  {label:<6}")),
            Span::styled(format!("{bar}{mark}"), style),
            Span::raw(fit(
                &format!(" {} / {}", bytes(used), bytes(limit)),
                width.saturating_sub(GAUGE_WIDTH + 16),
            )),
        ])
    };
    let link = match &a.dropbox {
        Some(d) => {
            let style = if d.state.as_str() == "active" {
                theme.good()
            } else {
                theme.warning()
            };
            // Where the link points: the synced folder on this machine, or the Dropbox
            // account the API link was authorized for; then the account's folder there.
            // The account's folder whole (or cut in the middle), then where it is: the
            // synced folder on this machine or the Dropbox account, cut at its start.
            let room = width.saturating_sub(10 + d.state.as_str().len());
            let folder = fit_middle(&format!(" {}", d.folder), room);
            let (joint, place) = match d.backend {
                BackendKind::Local => (" in ", d.dropbox_account.as_str()),
                _ => (" of ", d.dropbox_account.as_str()),
            };
            let left = room.saturating_sub(folder.width() + joint.len());
            let mut spans = vec![
                Span::raw("  Dropbox "),
                Span::styled(d.state.as_str().to_owned(), style),
                Span::raw(folder),
            ];
            if left >= 8 {
                spans.push(Span::styled(joint, theme.dim()));
                spans.push(Span::raw(fit_start(place, left)));
            }
            Line::from(spans)
        }
        None => Line::from(Span::styled("  Dropbox not linked", theme.dim())),
    };
    let delegates = if a.delegates.is_empty() {
        "none".to_owned()
    } else {
        a.delegates.join(", ")
    };
    ListItem::new(vec![
        Line::from(fit(
            &format!("{}  ({})", a.account.name, a.account.plan),
            width,
        )),
        usage("Store", a.storage_used_bytes, a.storage_limit_bytes),
        if a.video_bytes_per_month == 0 {
            Line::from(Span::styled(
                fit("  Video: not on this plan", width),
                theme.dim(),
            ))
        } else {
            usage(
                "Video",
                a.video_used_bytes_this_month,
                a.video_bytes_per_month,
            )
        },
        link,
        Line::from(Span::styled(
            fit(&format!("  Delegates: {delegates}"), width),
            theme.dim(),
        )),
    ])
}
