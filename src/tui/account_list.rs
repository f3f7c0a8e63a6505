//! The Accounts pane's state, a component of its own: the accounts the admin may see (from the
//! last library read), the cursor (0 is *All accounts*, which scopes the other panes to every
//! account), the actions it offers on the selected account, and what engine events do to its
//! rows. Pure; `panes/accounts.rs` draws it and `App` routes to it (`App::accounts`).

use crate::library::actions::AccountSummary;
use crate::library::store::links::LinkState;

use super::keymap::Action;

#[derive(Clone, Debug, Default)]
pub struct AccountList {
    /// In the library's order.
    pub rows: Vec<AccountSummary>,
    /// 0 is *All accounts*, then the rows.
    pub cursor: usize,
}

/// What a key the pane takes asks of the console.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountsOutcome {
    /// Nothing changed.
    Stay,
    /// The cursor moved: the other panes follow the new scope.
    Rescoped,
    /// An action on the selected account (a dialog or a run, with the acting admin's right
    /// checked first): `App` carries it out.
    Act(Action),
}

impl AccountList {
    /// The actions the pane offers on the selected account (its keys in the footer and `?`).
    pub const ACTIONS: &'static [Action] = &[
        Action::LinkApi,
        Action::LinkFolder,
        Action::Unlink,
        Action::PauseResume,
        Action::Delegate,
        Action::Revoke,
    ];

    /// Lines of the list: *All accounts* and the accounts.
    pub fn len(&self) -> usize {
        self.rows.len() + 1
    }

    /// Never: *All accounts* is always there.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The selected account (`None` on *All accounts*).
    pub fn selected(&self) -> Option<&AccountSummary> {
        match self.cursor {
            0 => None,
            i => self.rows.get(i - 1),
        }
    }

    /// The account the other panes are scoped to (`None` = all accounts).
    pub fn scope(&self) -> Option<&str> {
        self.selected().map(|a| a.account.name.as_str())
    }

    /// A library read arrived: take its rows, keeping the same account selected even if the
    /// list changed (*All accounts* when it is gone).
    pub fn apply_read(&mut self, rows: Vec<AccountSummary>) {
        let scoped = self.scope().map(str::to_owned);
        self.rows = rows;
        self.cursor = scoped
            .and_then(|name| self.rows.iter().position(|a| a.account.name == name))
            .map_or(0, |i| i + 1);
    }

    /// Move the cursor to `to(cursor, len)`, kept in the list. `true` if it moved.
    pub fn move_cursor(&mut self, to: impl FnOnce(usize, usize) -> usize) -> bool {
        let before = self.cursor;
        self.cursor = to(before, self.len()).min(self.len() - 1);
        self.cursor != before
    }

    /// A key's action while the pane has the focus: moving keys move the cursor; the account
    /// actions act on the selected account.
    pub fn on_action(&mut self, action: Action, page: usize) -> AccountsOutcome {
        let moved = match action {
            Action::Up => self.move_cursor(|c, _| c.saturating_sub(1)),
            Action::Down => self.move_cursor(|c, _| c + 1),
            Action::PageUp => self.move_cursor(|c, _| c.saturating_sub(page)),
            Action::PageDown => self.move_cursor(|c, _| c + page),
            Action::First => self.move_cursor(|_, _| 0),
            Action::Last => self.move_cursor(|_, len| len.saturating_sub(1)),
            a if Self::ACTIONS.contains(&a) => return AccountsOutcome::Act(a),
            _ => return AccountsOutcome::Stay,
        };
        if moved {
            AccountsOutcome::Rescoped
        } else {
            AccountsOutcome::Stay
        }
    }

    /// The engine says a link changed state: show it at once (the next read confirms it).
    /// `true` if a row changed.
    pub fn link_state(&mut self, account: &str, state: LinkState, detail: Option<&str>) -> bool {
        let Some(link) = self
            .rows
            .iter_mut()
            .find(|a| a.account.name == account)
            .and_then(|a| a.dropbox.as_mut())
        else {
            return false;
        };
        let changed = link.state != state || link.state_detail.as_deref() != detail;
        link.state = state;
        link.state_detail = detail.map(str::to_owned);
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(names: &[&str]) -> AccountList {
        let rows = names
            .iter()
            .map(|n| AccountSummary {
                account: crate::library::model::Account {
                    id: Default::default(),
                    name: (*n).to_owned(),
                    plan: "basic".into(),
                    created_at: 0,
                },
                storage_used_bytes: 0,
                storage_limit_bytes: 0,
                video_used_bytes_this_month: 0,
                video_bytes_per_month: 0,
                owners: vec![],
                admins: vec![],
                delegates: vec![],
                dropbox: None,
            })
            .collect();
        AccountList { rows, cursor: 0 }
    }

    #[test]
    fn the_cursor_moves_within_all_accounts_and_the_rows() {
        let mut l = list(&["Acme", "Beta"]);
        assert_eq!(l.on_action(Action::Up, 10), AccountsOutcome::Stay);
        assert_eq!(l.on_action(Action::Down, 10), AccountsOutcome::Rescoped);
        assert_eq!(l.scope(), Some("Acme"));
        assert_eq!(l.on_action(Action::PageDown, 10), AccountsOutcome::Rescoped);
        assert_eq!(l.scope(), Some("Beta"));
        assert_eq!(l.on_action(Action::First, 10), AccountsOutcome::Rescoped);
        assert_eq!(l.scope(), None);
        assert_eq!(
            l.on_action(Action::Unlink, 10),
            AccountsOutcome::Act(Action::Unlink)
        );
        assert_eq!(l.on_action(Action::RetryItem, 10), AccountsOutcome::Stay);
    }

    #[test]
    fn a_read_keeps_the_selected_account() {
        let mut l = list(&["Acme", "Beta"]);
        l.cursor = 2;
        l.apply_read(list(&["Beta", "Acme", "Cero"]).rows);
        assert_eq!(l.scope(), Some("Beta"));
        l.apply_read(list(&["Cero"]).rows);
        assert_eq!(l.scope(), None, "gone: back to All accounts");
    }
}
