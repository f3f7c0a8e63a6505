//! Send to Dropbox and Share from All Files. The selection becomes an export request for one
//! account; the acting admin's right is checked with the library's own rule before a dialog
//! opens (so a denial reads as the CLI's), and the work runs off the UI task through the same
//! `export_checked`/`share_checked` the CLI verbs call, which check again and write the audit
//! row. The library is only read: a send never changes a file or a collection.

use crate::dropbox::local::sharing_needs_the_api;
use crate::export::folders::downloads_folder;
use crate::export::{
    ExportError, ExportEvent, ExportSummary, ShareOutcome, ShareRequest, ShareTarget,
    export_checked, share_checked,
};
use crate::library::Library;
use crate::library::actions::AccountSummary;
use crate::library::organise::FileFilter;
use crate::library::outgoing::OutgoingSelection;
use crate::library::permissions::Right;
use crate::library::store::links::BackendKind;

use super::ConsoleOptions;
use super::all_files::Marked;
use super::app::{App, Effect};
use super::dialogs::Dialog;
use super::dialogs::send::{SendDialog, SentDialog, ShareDialog};
pub use super::dialogs::send::{SendJob, share_folder_hint};
use super::send_progress::SendProgress;
use super::text::bytes;

/// Failed files a finished send lists one by one; the rest are counted.
pub const FAILURES_LISTED: usize = 6;

/// What it gave.
#[derive(Clone, Debug, PartialEq)]
pub enum SendDone {
    Exported(ExportSummary),
    Shared(ShareOutcome),
}

/// Run `job` as the console's admin. Blocking (Dropbox): call it from `spawn_blocking`. Each
/// event of the export engine goes to `events`; `Err` says what went wrong and what to do.
pub fn run(
    options: &ConsoleOptions,
    runtime: &tokio::runtime::Handle,
    job: SendJob,
    events: &dyn Fn(ExportEvent),
) -> Result<SendDone, String> {
    tracing::info!(?job, "console send");
    let outcome = run_unlogged(options, runtime, job, events);
    match &outcome {
        Ok(_) => tracing::info!("console send done"),
        Err(why) => tracing::warn!(%why, "console send failed"),
    }
    outcome
}

fn run_unlogged(
    options: &ConsoleOptions,
    runtime: &tokio::runtime::Handle,
    job: SendJob,
    events: &dyn Fn(ExportEvent),
) -> Result<SendDone, String> {
    let library = Library::open_existing(&options.data_dir, options.plans.clone())
        .map_err(|e| e.to_string())?;
    let actor = library
        .actor(options.as_admin.as_deref(), options.os_user.as_deref())
        .map_err(|e| e.to_string())?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let (backends, send) = (&options.engine.backends, &options.send);
    let actor = &actor;
    let work = async move {
        let done = match job {
            SendJob::Export(request) => {
                export_checked(library, actor, &request, backends, send, &tx)
                    .await
                    .map(SendDone::Exported)
            }
            SendJob::Share(request) => share_checked(library, actor, &request, backends, send, &tx)
                .await
                .map(SendDone::Shared),
        };
        // The relay below ends once the engine's sender is gone.
        drop(tx);
        done
    };
    let relay = async {
        while let Some(event) = rx.recv().await {
            events(event);
        }
    };
    let (done, ()) = runtime.block_on(async { tokio::join!(work, relay) });
    done.map_err(|e| e.to_string())
}

/// The files `*` marked are exactly a collection's (its filter on, nothing else, none unticked).
fn whole_collection(marked: &Marked) -> Option<&str> {
    let Marked::Matching {
        filter, exclude, ..
    } = marked
    else {
        return None;
    };
    let only_collection = FileFilter {
        account: filter.account.clone(),
        collection: filter.collection.clone(),
        ..FileFilter::default()
    };
    (exclude.is_empty() && *filter == only_collection)
        .then_some(filter.collection.as_deref())
        .flatten()
}

/// A filter as a person says it: `"hero", images, Dropbox uploads, in Summer`.
fn describe(filter: &FileFilter) -> String {
    let mut parts = vec![];
    if let Some(name) = &filter.name_contains {
        parts.push(if filter.name_fuzzy {
            format!("~{name:?}")
        } else {
            format!("{name:?}")
        });
    }
    if let Some(kind) = &filter.kind {
        parts.push(format!("kind {kind}"));
    }
    if filter.source.is_some() {
        parts.push("Dropbox uploads".into());
    }
    if let Some(collection) = &filter.collection {
        parts.push(format!("in {collection}"));
    }
    parts.join(", ")
}

fn plural(n: impl Into<u64>) -> &'static str {
    if n.into() == 1 { "" } else { "s" }
}

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
            .view
            .accounts
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
                    .view
                    .accounts
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

/// Shared links need the Dropbox API; a synced-folder link cannot make them.
fn can_share(summary: &AccountSummary) -> bool {
    summary
        .dropbox
        .as_ref()
        .is_some_and(|link| link.backend == BackendKind::Api)
}

/// What a finished send did; `shareable`: its folder may be shared from there.
fn sent_dialog(summary: &ExportSummary, shareable: bool) -> SentDialog {
    let (sent, failed) = (summary.sent.len(), summary.failed.len());
    let mut lines = vec![format!(
        "Sent {sent} file{} ({}) to {}",
        plural(sent as u64),
        bytes(summary.bytes_sent),
        summary.folder
    )];
    if failed > 0 {
        lines.push(format!(
            "{failed} file{} could not be sent; the library is unchanged:",
            plural(failed as u64)
        ));
        for file in summary.failed.iter().take(FAILURES_LISTED) {
            lines.push(format!("  {}: {}", file.name, file.reason));
        }
        if failed > FAILURES_LISTED {
            lines.push(format!(
                "  and {} more (see the log)",
                failed - FAILURES_LISTED
            ));
        }
    }
    SentDialog {
        title: if sent == 0 {
            "Not sent".into()
        } else {
            "Sent".into()
        },
        lines,
        failed: sent == 0,
        share: (sent > 0 && shareable)
            .then(|| SentDialog::share_folder(&summary.account, &summary.folder)),
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
        assert_eq!(app.handle_key(q), vec![Effect::Quit]);
        app.quit_asked = false;
        app.sending = None;
        assert_eq!(app.handle_key(q), vec![Effect::Quit]);
    }

    #[test]
    fn a_filter_reads_as_a_person_says_it() {
        let filter = FileFilter {
            name_contains: Some("hero".into()),
            kind: Some("image".into()),
            collection: Some("Summer".into()),
            ..FileFilter::default()
        };
        assert_eq!(describe(&filter), "\"hero\", kind image, in Summer");
    }
}
