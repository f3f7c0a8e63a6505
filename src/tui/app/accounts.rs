//! The Accounts pane's actions, from a key to a dialog or an action to run. Before anything
//! opens, the acting admin's right is checked with the library's own rule (`Actor::check`),
//! so a denial reads exactly as the CLI's; the library checks again when the action runs.

use crate::library::permissions::Right;
use crate::library::store::links::{BackendKind, LinkState};

use crate::tui::actions::ConsoleAction;
use crate::tui::all_files::keys::FilesAction;
use crate::tui::app::{App, Effect};
use crate::tui::dialogs::Dialog;
use crate::tui::keymap::Action;

impl App {
    pub(crate) fn account_action(&mut self, action: Action) -> Vec<Effect> {
        self.dirty = true;
        let Some(summary) = self.selected_account().cloned() else {
            self.dialog = Some(Dialog::notice(
                "Choose an account",
                "Select an account in the list first (j/k); All accounts is not one.",
            ));
            return vec![];
        };
        let Some(actor) = self.view.actor.clone() else {
            self.status = Some("still reading the library; try again in a moment".into());
            return vec![];
        };
        let account = &summary.account;
        let name = account.name.clone();
        let link = summary.dropbox.as_ref();
        let right = match action {
            Action::Delegate | Action::Revoke => Right::Delegate(account),
            _ => Right::LinkDropbox(account),
        };
        if let Err(denied) = actor.check(right) {
            // The library's sentence names linking; pausing and unlinking are refused by the
            // same rule, so the sentence says which action was refused.
            let text = match action {
                Action::PauseResume | Action::Unlink => {
                    let doing = match (action, link.map(|l| l.state)) {
                        (Action::Unlink, _) => "unlink",
                        (_, Some(LinkState::Paused)) => "resume the imports of",
                        _ => "pause the imports of",
                    };
                    format!(
                        "{} may not {doing} {name:?}: only its owners and the admins an owner \
                         delegated may (an owner can run: smartimage delegate {} --account {name:?})",
                        actor.admin.email, actor.admin.email
                    )
                }
                _ => denied.to_string(),
            };
            self.dialog = Some(Dialog::notice("Not allowed", text));
            return vec![];
        }
        let key = |action| self.keymap.label_of(action);
        let (unlink_key, api_key, folder_key) = (
            key(Action::Unlink),
            key(Action::LinkApi),
            key(Action::LinkFolder),
        );
        let linked_already = |app: &mut App| {
            let folder = link.map(|l| l.folder.clone()).unwrap_or_default();
            app.dialog = Some(Dialog::notice(
                "Already linked",
                format!(
                    "{name} is already linked to Dropbox (folder {folder}); unlink it first ({unlink_key})."
                ),
            ));
            vec![]
        };
        let not_linked = |app: &mut App| {
            app.dialog = Some(Dialog::notice(
                "Not linked",
                format!(
                    "{name} is not linked to Dropbox; link it with {api_key} (Dropbox API) or {folder_key} (synced folder)."
                ),
            ));
            vec![]
        };
        match action {
            Action::LinkApi => {
                if link.is_some() {
                    return linked_already(self);
                }
                self.status = Some(format!("starting the Dropbox link of {name}…"));
                vec![Effect::StartApiLink { account: name }]
            }
            Action::LinkFolder => {
                if link.is_some() {
                    return linked_already(self);
                }
                self.dialog = Some(Dialog::link_folder(&name, self.known_synced_folder()));
                vec![]
            }
            Action::Unlink => {
                if link.is_none() {
                    return not_linked(self);
                }
                self.dialog = Some(Dialog::confirm_unlink(&name));
                vec![]
            }
            Action::PauseResume => {
                let Some(link) = link else {
                    return not_linked(self);
                };
                if link.state == LinkState::Paused {
                    return self.start(ConsoleAction::SetLinkState {
                        account: name,
                        state: LinkState::Active,
                    });
                }
                // Pausing stops the imports of a customer's folder: asked first, as unlinking.
                self.dialog = Some(Dialog::confirm_pause(&name));
                vec![]
            }
            Action::Delegate | Action::Revoke => {
                let revoke = action == Action::Revoke;
                let choices: Vec<String> = if revoke {
                    summary.delegates.clone()
                } else {
                    summary
                        .admins
                        .iter()
                        .filter(|a| !summary.delegates.contains(a))
                        .cloned()
                        .collect()
                };
                self.dialog = Some(Dialog::PickAdmin {
                    account: name,
                    revoke,
                    choices,
                    selected: 0,
                });
                vec![]
            }
            _ => vec![],
        }
    }

    /// Whether the footer offers `action`: the acting admin may do it (on the selected
    /// account, or on any when *All accounts* is selected) and it applies to the account's
    /// link as it is. Unknown rights (the library not read yet) offer everything.
    pub fn offers(&self, action: Action) -> bool {
        let in_view = match action {
            Action::Files(FilesAction::Delete) => !self.files.trash,
            Action::Files(FilesAction::Restore) => self.files.trash,
            _ => true,
        };
        let Some(actor) = &self.view.actor else {
            return in_view;
        };
        if !in_view {
            return false;
        }
        let may = |a: &crate::library::actions::AccountSummary| match action {
            Action::LinkApi | Action::LinkFolder | Action::Unlink | Action::PauseResume => {
                actor.may(Right::LinkDropbox(&a.account))
            }
            Action::Delegate | Action::Revoke => actor.may(Right::Delegate(&a.account)),
            Action::Files(FilesAction::Send | FilesAction::Share) => {
                actor.may(Right::SendToDropbox(&a.account))
            }
            Action::Files(FilesAction::Delete | FilesAction::Restore) | Action::UndoBatch => {
                actor.may(Right::Trash(&a.account))
            }
            _ => true,
        };
        match self.selected_account() {
            Some(a) => {
                let linked = a.dropbox.is_some();
                let fits = match action {
                    Action::LinkApi | Action::LinkFolder => !linked,
                    Action::Unlink | Action::PauseResume => linked,
                    _ => true,
                };
                fits && may(a)
            }
            None => self.accounts.rows.is_empty() || self.accounts.rows.iter().any(may),
        }
    }

    /// A synced folder another account already uses: most installations have one.
    fn known_synced_folder(&self) -> Option<&str> {
        self.accounts
            .rows
            .iter()
            .filter_map(|a| a.dropbox.as_ref())
            .find(|d| d.backend == BackendKind::Local)
            .map(|d| d.dropbox_account.as_str())
    }
}
