//! Direct upload in the console: `u` in All Files or a paste of paths opens Upload… (after the
//! CLI's permission check), and the upload's files become queue and error-log rows as imports
//! do, marked as uploads.

use std::path::PathBuf;

use crate::import::events::EngineEvent;
use crate::import::upload::UploadPreview;
use crate::library::ids::LinkId;
use crate::library::permissions::Right;

use crate::tui::app::{App, Effect, ErrorRow, QueueRow, QueueState};
use crate::tui::dialogs::Dialog;
use crate::tui::dialogs::upload::{UploadDialog, UploadOutcome};
use crate::tui::paste_paths::parse_paths;

impl App {
    /// Open Upload… for the selected account, pre-filled with `paths`. On *All accounts* it
    /// opens and says to pick one; a denial is a notice, worded as the CLI's.
    pub(crate) fn open_upload(&mut self, paths: Vec<PathBuf>) -> Vec<Effect> {
        self.dirty = true;
        let account = match self.selected_account().cloned() {
            Some(summary) => {
                let Some(actor) = self.view.actor.clone() else {
                    self.status = Some("still reading the library; try again in a moment".into());
                    return vec![];
                };
                if let Err(denied) = actor.check(Right::Organise(&summary.account)) {
                    self.dialog = Some(Dialog::notice("Not allowed", denied.to_string()));
                    return vec![];
                }
                Some(summary.account.name)
            }
            None => None,
        };
        let mut dialog = UploadDialog::new(account.as_deref(), &paths);
        let effects = match dialog.count() {
            UploadOutcome::Lookup { text, complete } => {
                vec![Effect::UploadLookup { text, complete }]
            }
            _ => vec![],
        };
        self.dialog = Some(Dialog::Upload(dialog));
        effects
    }

    /// A paste with no dialog open: paths (files dropped on the terminal) open Upload….
    pub(crate) fn paste_paths(&mut self, text: &str) -> Vec<Effect> {
        let paths = parse_paths(text);
        if paths.is_empty() || self.help {
            return vec![];
        }
        self.open_upload(paths)
    }

    /// The completion and count asked for `asked` came back.
    pub fn upload_looked_up(
        &mut self,
        asked: &str,
        value: String,
        candidates: Vec<String>,
        preview: Result<UploadPreview, String>,
    ) {
        if let Some(Dialog::Upload(dialog)) = self.dialog.as_mut() {
            dialog.looked_up(asked, value, candidates, preview);
            self.dirty = true;
        }
    }

    /// A file of an upload: waiting, stored, skipped or refused.
    pub(crate) fn apply_upload(&mut self, event: EngineEvent) {
        match event {
            EngineEvent::UploadQueued(upload) => {
                self.queue.push(QueueRow {
                    item: upload.upload,
                    // No Dropbox link: the queue groups uploads by account instead.
                    link: LinkId(0),
                    account: upload.account,
                    path: upload.path,
                    size: upload.size,
                    state: QueueState::Waiting,
                    upload: true,
                    file: None,
                    batch: None,
                });
            }
            EngineEvent::Uploaded { upload, file } => {
                self.queue.set_file(upload.upload, file);
                self.totals.imported += 1;
                self.totals.imported_bytes += upload.size;
                self.queue.set_state(upload.upload, QueueState::Imported);
            }
            EngineEvent::UploadSkipped { upload, reason } => {
                // Not an error: the queue row says why, the error log stays for failures.
                self.queue
                    .set_state(upload.upload, QueueState::Skipped(reason.as_str()));
            }
            EngineEvent::UploadRefused {
                upload,
                kind,
                detail,
            } => {
                self.totals.failed += 1;
                self.queue
                    .set_state(upload.upload, QueueState::Failed(kind));
                self.errors.upload_refused(ErrorRow {
                    item: upload.upload,
                    account: upload.account,
                    path: upload.path,
                    size: upload.size,
                    kind,
                    detail,
                    at: time::OffsetDateTime::now_utc().unix_timestamp(),
                    retrying: false,
                    state: crate::library::store::import_items::ItemState::Failed,
                    next_attempt_at: None,
                    report: None,
                    upload: true,
                });
            }
            _ => {}
        }
    }
}
