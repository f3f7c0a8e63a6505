//! Send to Dropbox and Share from All Files, as keys and outcomes: the selection becomes an
//! export request for one account, checked with the library's own rule before a dialog
//! opens. `App` routing; the work off the UI task is `tui::sending`.

use crate::dropbox::local::sharing_needs_the_api;
use crate::export::folders::downloads_folder;
use crate::export::{ExportError, ExportEvent, ShareRequest, ShareTarget};
use crate::library::actions::AccountSummary;
use crate::library::outgoing::OutgoingSelection;
use crate::library::permissions::Right;
use crate::tui::all_files::Marked;
use crate::tui::app::{App, Effect};
use crate::tui::dialogs::Dialog;
use crate::tui::dialogs::send::SendJob;
use crate::tui::dialogs::send::{SendDialog, ShareDialog};
use crate::tui::send_progress::SendProgress;

use crate::tui::sending::{SendDone, can_share, describe, plural, sent_dialog, whole_collection};

impl App {
    /// `X` in All Files: the Send dialog for the marked files (or the highlighted one).
    pub(crate) fn open_send(&mut self) -> Vec<Effect> {
        self.dirty = true;
        if self.refuse_while_sending() {
            return vec![];
        }
        let Some((account, selection, what)) = self.send_selection() else {
            return vec![];
        };
        let Some(summary) = self.sendable(&account) else {
            return vec![];
        };
        let Some(link) = &summary.dropbox else {
            return vec![];
        };
        let downloads = downloads_folder(&link.folder);
        self.dialog = Some(Dialog::Send(SendDialog::new(
            account, what, selection, downloads,
        )));
        vec![]
    }

    /// `L` in All Files: a shared link to the highlighted file (sent first if it is not in the
    /// downloads folder yet), or to the collection's folder when `*` marked the collection.
    pub(crate) fn open_share(&mut self) -> Vec<Effect> {
        self.dirty = true;
        if self.refuse_while_sending() {
            return vec![];
        }
        let (account, target) = match (whole_collection(&self.files.marked), &self.files.scope) {
            (Some(collection), Some(account)) => (
                account.clone(),
                ShareTarget::Collection(collection.to_owned()),
            ),
            _ => match self.files.selected() {
                Some(file) => (file.account_name.clone(), ShareTarget::File(file.id)),
                None => {
                    self.files.notice = Some("no file to share here".into());
                    return vec![];
                }
            },
        };
        let Some(summary) = self.sendable(&account) else {
            return vec![];
        };
        if !can_share(&summary) {
            // Said before anything is sent (the engine would copy the file first, then refuse).
            let why = ExportError::Dropbox(sharing_needs_the_api());
            self.dialog = Some(Dialog::notice("Not shared", why.to_string()));
            return vec![];
        }
        self.start_send(SendJob::Share(ShareRequest { account, target }))
    }

    fn refuse_while_sending(&mut self) -> bool {
        if self.sending.is_some() {
            self.files.notice =
                Some("a send to Dropbox is still running; its notice says when it is done".into());
        }
        self.sending.is_some()
    }

    /// The account, if the admin may send from it and it is linked; else a notice says why.
    fn sendable(&mut self, account: &str) -> Option<AccountSummary> {
        let Some(actor) = self.view.actor.clone() else {
            self.status = Some("still reading the library; try again in a moment".into());
            return None;
        };
        let Some(summary) = self
            .accounts
            .rows
            .iter()
            .find(|a| a.account.name == account)
            .cloned()
        else {
            self.status = Some("still reading the library; try again in a moment".into());
            return None;
        };
        if let Err(denied) = actor.check(Right::SendToDropbox(&summary.account)) {
            self.dialog = Some(Dialog::notice("Not allowed", denied.to_string()));
            return None;
        }
        if summary.dropbox.is_none() {
            let why = ExportError::NotLinked {
                account: account.to_owned(),
            };
            self.dialog = Some(Dialog::notice("Not linked", why.to_string()));
            return None;
        }
        Some(summary)
    }

    /// The account, the selection and how to say it; `None` with a notice if there is none.
    fn send_selection(&mut self) -> Option<(String, OutgoingSelection, String)> {
        let one_account =
            "files go to one account's Dropbox: pick it in the Accounts pane (1) first";
        match self.files.marked.clone() {
            Marked::Nothing => {
                let Some(file) = self.files.selected() else {
                    self.files.notice = Some("no file to send here".into());
                    return None;
                };
                Some((
                    file.account_name.clone(),
                    OutgoingSelection::Ids(vec![file.id]),
                    file.name.clone(),
                ))
            }
            Marked::Ids(ids) => {
                let Some(account) = self.batch_account() else {
                    self.files.notice = Some(one_account.into());
                    return None;
                };
                let what = format!("{} marked file{}", ids.len(), plural(ids.len() as u64));
                Some((
                    account,
                    OutgoingSelection::Ids(ids.into_iter().collect()),
                    what,
                ))
            }
            Marked::Matching {
                filter,
                exclude,
                count,
            } => {
                let Some(account) = self.files.scope.clone() else {
                    self.files.notice = Some(one_account.into());
                    return None;
                };
                let all = match count {
                    Some(n) => format!("all {n} file{}", plural(n)),
                    None => "all files".into(),
                };
                if let Some(collection) = whole_collection(&self.files.marked) {
                    let what = format!("{all} of the collection {collection}");
                    let selection = OutgoingSelection::Collection(collection.to_owned());
                    return Some((account, selection, what));
                }
                let what = match describe(&filter) {
                    d if d.is_empty() => format!("{all} of {account}"),
                    d => format!("{all} matching {d}"),
                };
                let exclude = exclude.into_iter().collect();
                Some((
                    account,
                    OutgoingSelection::Matching { filter, exclude },
                    what,
                ))
            }
        }
    }

    /// `q`: quits, but asks once while a send runs (quitting then leaves the files not yet
    /// sent unsent, and the export without its audit row).
    pub(crate) fn quit(&mut self) -> Vec<Effect> {
        if self.sending.is_some() && !std::mem::replace(&mut self.quit_asked, true) {
            let key = self.keymap.label_of(crate::tui::keymap::Action::Quit);
            self.last_problem = Some(format!(
                "a send to Dropbox is running; {key} again quits and leaves it unfinished"
            ));
            self.dirty = true;
            return vec![];
        }
        vec![Effect::Quit]
    }

    /// Hand `job` to the event loop; the footer follows its progress.
    pub(crate) fn start_send(&mut self, job: SendJob) -> Vec<Effect> {
        if self.refuse_while_sending() {
            return vec![];
        }
        let verb = match job {
            SendJob::Export(_) => "sending",
            SendJob::Share(_) => "sharing",
        };
        let progress = SendProgress::new(verb);
        self.status = Some(progress.line());
        self.sending = Some(progress);
        self.last_problem = None;
        self.dirty = true;
        vec![Effect::Send(job)]
    }

    /// An event of the send under way.
    pub fn send_progress(&mut self, event: ExportEvent) {
        if let Some(progress) = self.sending.as_mut() {
            progress.apply(&event);
            self.status = Some(progress.line());
            self.dirty = true;
        }
    }

    /// The send ended: what it did, in a dialog (the link and its QR code for a share).
    pub fn send_finished(&mut self, job: &SendJob, outcome: Result<SendDone, String>) {
        self.dirty = true;
        self.sending = None;
        self.status = None;
        if std::mem::take(&mut self.quit_asked) {
            self.last_problem = None;
        }
        self.dialog = Some(match (job, outcome) {
            (_, Ok(SendDone::Shared(shared))) => Dialog::Share(ShareDialog::new(
                shared.path,
                shared.link.url,
                shared.link.created,
            )),
            (_, Ok(SendDone::Exported(summary))) => {
                let shareable = self
                    .accounts
                    .rows
                    .iter()
                    .find(|a| a.account.name == summary.account)
                    .is_some_and(can_share);
                Dialog::Sent(sent_dialog(&summary, shareable))
            }
            (SendJob::Export(_), Err(why)) => Dialog::notice("Not sent", why),
            (SendJob::Share(_), Err(why)) => Dialog::notice("Not shared", why),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quitting_while_a_send_runs_asks_once() {
        use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
        let q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        let theme = crate::tui::theme::Theme { color: false };
        let mut app = App::new("lib".into(), "a@b.test".into(), theme);
        app.sending = Some(SendProgress::new("sending"));
        assert_eq!(app.handle_key(q), vec![]);
        assert!(
            app.last_problem
                .as_deref()
                .unwrap()
                .contains("q again quits")
        );
        let quit = vec![Effect::Quit];
        assert_eq!(app.handle_key(q), quit);
        app.quit_asked = false;
        app.sending = None;
        assert_eq!(app.handle_key(q), quit);
    }
}
