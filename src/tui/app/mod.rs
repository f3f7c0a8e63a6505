//! The console's state and what keys and engine events do to it. Pure: no terminal, no I/O —
//! `handle_key` and `apply_engine` return [`Effect`]s the event loop carries out.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crossterm::event::{KeyEvent, MouseEvent};

use crate::import::events::{EngineCommand, EngineEvent, PassSummary};
use crate::library::actions::AccountSummary;
use crate::library::import_log::FailureEntry;
use crate::library::permissions::Actor;
use crate::library::store::engine_commands::CommandKind;
use crate::library::store::engine_events::DayTotals;
use crate::library::store::import_items::ItemState;
use crate::library::store::links::LinkId;

mod accounts;
mod engines;
mod files;
mod sending;
mod upload;

pub use super::dropbox_queue::{QUEUE_CAPACITY, QueueRow, QueueState, RateLimit};
pub use super::error_log::ErrorRow;
pub use super::pane_id::PaneId;
pub use files::serve_now;

use super::account_list::{AccountList, AccountsOutcome};
use super::actions::ConsoleAction;
use super::all_files::{AllFiles, FilesRequest};
use super::dialogs::send::SendJob;
use super::dialogs::{Dialog, DialogOutcome};
use super::dropbox_queue::DropboxQueue;
pub use super::engine_state::EngineStatus;
pub use super::error::ConsoleError;
use super::error_log::ErrorLog;
use super::keymap::Action;
use super::keymap_config::Keymap;
use super::send_progress::SendProgress;
use super::theme::Theme;

/// Rows PgUp/PgDn move.
pub const PAGE_ROWS: usize = 10;
/// What the event loop must do after a state change.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    Quit,
    Suspend,
    Engine(EngineCommand),
    /// Reload accounts, files and the error log (for the scoped account) off the UI task.
    Refresh,
    /// Run an account action (or a retry) off the UI task; its outcome comes back as an event.
    Run(ConsoleAction),
    /// Begin the Dropbox API link of an account: make its authorize page, try to open it.
    StartApiLink {
        account: String,
    },
    /// Turn mouse reporting on or off.
    Mouse(bool),
    /// A read or write for All Files, done by its worker off the UI task.
    Files(FilesRequest),
    /// Complete the Upload… field's last path (`complete`) and count its files, off the UI
    /// task; the answer comes back to [`App::upload_looked_up`].
    UploadLookup {
        text: String,
        complete: bool,
    },
    /// Send files to Dropbox or share them, off the UI task; its events come back to
    /// [`App::send_progress`], its end to [`App::send_finished`].
    Send(SendJob),
    /// Start an engine in this console (none runs); how it went comes back as an event.
    HostEngine,
    /// Complete the link-folder field's path off the UI task; the answer comes back to
    /// [`App::path_completed`].
    CompletePath(String),
    /// Put this text on the terminal's clipboard (OSC 52: it reaches the clipboard of the
    /// machine the terminal runs on, through SSH too).
    Copy(String),
    /// Give the engine that runs elsewhere a command through the store, off the UI task, and
    /// follow it until done ([`App::command_update`]).
    AskEngine(CommandKind),
}

/// What a refresh reads from the library.
#[derive(Clone, Debug, Default)]
pub struct LibraryView {
    /// The accounts the admin may see; `App::apply_view` moves them into the Accounts pane's
    /// component (`App::accounts`), so `App::view` holds none.
    pub accounts: Vec<AccountSummary>,
    /// The live Dropbox link of each linked account, by account name (retries need it).
    pub links: HashMap<String, LinkId>,
    pub failures: Vec<FailureEntry>,
    /// The acting admin with their roles, for permission checks before a dialog opens (the
    /// library checks again when the action runs).
    pub actor: Option<Actor>,
    /// Today's (UTC) import totals over the admin's links, from the store: every engine's
    /// work, and the same after the console is reopened.
    pub today: DayTotals,
}

/// How long the footer's outcome and problem lines, and All Files' notice, stay.
pub const NOTICE_TTL: Duration = Duration::from_secs(6);

pub struct App {
    pub library_label: String,
    pub admin: String,
    pub theme: Theme,
    pub engine: EngineStatus,
    pub focus: PaneId,
    pub help: bool,
    /// First help line shown (the overlay scrolls when the keys do not fit the terminal).
    pub help_scroll: usize,
    /// The Accounts pane: its rows (the accounts of the last read) and cursor, which scopes
    /// the other panes.
    pub accounts: AccountList,
    /// The last library read, less its accounts (`accounts` holds them).
    pub view: LibraryView,
    /// The Dropbox queue: its rows, cursor, rate-limit waits and download rates.
    pub queue: DropboxQueue,
    pub totals: PassSummary,
    /// The error log: its rows, cursor and detail view.
    pub errors: ErrorLog,
    pub last_problem: Option<String>,
    /// Notifications that do not get through (from the store), until they do.
    pub notices: Option<String>,
    pub now: Instant,
    /// Something visible changed since the last frame.
    pub dirty: bool,
    /// The keys in force (defaults with the config file's overrides).
    pub keymap: Keymap,
    /// The dialog over the panes, if one is open; it gets every key first.
    pub dialog: Option<Dialog>,
    /// The last action's outcome (or what is running), for the footer.
    pub status: Option<String>,
    /// Mouse reporting is on (off by default: the terminal keeps its own selection).
    pub mouse: bool,
    /// All Files: its window of rows, filters, marks and dialogs.
    pub files: AllFiles,
    /// A send to Dropbox (or a share) under way.
    pub sending: Option<SendProgress>,
    /// `q` was pressed once while a send ran: the next one quits.
    pub quit_asked: bool,
    /// The focused pane has the whole screen (`z`).
    pub zoom: bool,
    /// The notices on screen (footer outcome, footer problem, All Files' notice) and since
    /// when: the slow tick clears them [`NOTICE_TTL`] after they last changed.
    pub notices_since: Option<(Instant, NoticeSnapshot)>,
}

/// What [`App::tick`] compares to tell whether a notice changed.
pub type NoticeSnapshot = (Option<String>, Option<String>, Option<String>);

impl App {
    pub fn new(library_label: String, admin: String, theme: Theme) -> App {
        App {
            library_label,
            admin,
            theme,
            engine: EngineStatus::Starting,
            focus: PaneId::Accounts,
            help: false,
            help_scroll: 0,
            accounts: AccountList::default(),
            view: LibraryView::default(),
            queue: DropboxQueue::default(),
            totals: PassSummary::default(),
            errors: ErrorLog::default(),
            last_problem: None,
            notices: None,
            now: Instant::now(),
            dirty: true,
            keymap: Keymap::default(),
            dialog: None,
            status: None,
            mouse: false,
            files: AllFiles::default(),
            sending: None,
            quit_asked: false,
            zoom: false,
            notices_since: None,
        }
    }

    /// The summary of the selected account (`None` on *All accounts*).
    pub fn selected_account(&self) -> Option<&AccountSummary> {
        self.accounts.selected()
    }

    /// The account the other panes are scoped to (`None` = all accounts).
    pub fn scoped_account(&self) -> Option<&str> {
        self.accounts.scope()
    }

    pub fn queue_rows(&self) -> Vec<&QueueRow> {
        self.queue.in_scope(self.scoped_account())
    }

    /// Queue rows in scope still waiting or in flight.
    pub fn queue_in_flight(&self) -> usize {
        self.queue.in_flight(self.scoped_account())
    }

    pub fn error_rows(&self) -> Vec<&ErrorRow> {
        self.errors.in_scope(self.scoped_account())
    }

    pub fn selected_error(&self) -> Option<&ErrorRow> {
        self.errors.selected(self.scoped_account())
    }

    /// Rows of a pane with a cursor of its own (All Files keeps its cursor in its window).
    fn rows_in(&self, pane: PaneId) -> usize {
        match pane {
            PaneId::Accounts => self.accounts.len(),
            PaneId::Queue => self.queue_rows().len(),
            PaneId::Files => 0,
            PaneId::Errors => self.error_rows().len(),
        }
    }

    fn cursor(&mut self, pane: PaneId) -> Option<&mut usize> {
        match pane {
            PaneId::Accounts => Some(&mut self.accounts.cursor),
            PaneId::Queue => Some(&mut self.queue.cursor),
            PaneId::Files => None,
            PaneId::Errors => Some(&mut self.errors.cursor),
        }
    }

    fn move_cursor(&mut self, to: impl FnOnce(usize, usize) -> usize) -> Vec<Effect> {
        let pane = self.focus;
        if pane == PaneId::Files {
            return self.files_move(to);
        }
        if pane == PaneId::Accounts {
            return if self.accounts.move_cursor(to) {
                self.rescoped()
            } else {
                vec![]
            };
        }
        let len = self.rows_in(pane);
        let Some(cursor) = self.cursor(pane) else {
            return vec![];
        };
        let before = *cursor;
        *cursor = if len == 0 {
            0
        } else {
            to(before, len).min(len - 1)
        };
        if *cursor != before {
            self.dirty = true;
        }
        vec![]
    }

    /// The Accounts cursor moved: the other panes follow the account.
    fn rescoped(&mut self) -> Vec<Effect> {
        self.dirty = true;
        self.queue.cursor = 0;
        self.errors.rescoped();
        // All Files reads the new account's files; answers for the old one are dropped.
        let mut effects = vec![Effect::Refresh];
        effects.extend(self.files_start());
        effects
    }

    /// Apply a key press. Returns what the event loop must do.
    pub fn handle_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if self.dialog.is_some() {
            return self.dialog_key(key);
        }
        if self.focus == PaneId::Files
            && !self.help
            && let Some(effects) = self.files_modal_key(key)
        {
            return effects;
        }
        let Some(action) = self.keymap.action_for(&key, self.focus) else {
            return vec![];
        };
        if self.help && !matches!(action, Action::ToggleHelp | Action::Quit | Action::Suspend) {
            // Moving keys scroll the overlay; any other key just closes it.
            let scroll = &mut self.help_scroll;
            match action {
                Action::Down => *scroll += 1,
                Action::Up => *scroll = scroll.saturating_sub(1),
                Action::PageDown => *scroll += PAGE_ROWS,
                Action::PageUp => *scroll = scroll.saturating_sub(PAGE_ROWS),
                Action::First => *scroll = 0,
                // The overlay clamps it to its last page.
                Action::Last => *scroll = usize::MAX / 2,
                _ => self.help = false,
            }
            self.dirty = true;
            return vec![];
        }
        if self.focus == PaneId::Accounts {
            match self.accounts.on_action(action, PAGE_ROWS) {
                AccountsOutcome::Rescoped => return self.rescoped(),
                AccountsOutcome::Act(a) => return self.account_action(a),
                AccountsOutcome::Stay => {}
            }
        }
        if self.focus == PaneId::Files {
            match action {
                Action::Files(a) => return self.files_action(a),
                Action::Up => return self.files_move(|c, _| c.saturating_sub(1)),
                Action::Down => return self.files_move(|c, _| c + 1),
                Action::PageUp => return self.files_move(|c, _| c.saturating_sub(PAGE_ROWS)),
                Action::PageDown => return self.files_move(|c, _| c + PAGE_ROWS),
                Action::First => return self.files_jump(false),
                Action::Last => return self.files_jump(true),
                _ => {}
            }
        }
        match action {
            Action::Files(_) => return vec![],
            Action::Quit => return self.quit(),
            Action::Suspend => return vec![Effect::Suspend],
            Action::ToggleHelp => {
                self.help = !self.help;
                self.help_scroll = 0;
            }
            Action::CloseOverlay => {
                if !self.errors.detail && self.zoom {
                    self.zoom = false;
                }
                self.errors.detail = false;
            }
            Action::Zoom => self.zoom = !self.zoom,
            // Only the Dropbox authorize dialog has a page to copy (`dialog_key`).
            Action::CopyLink => return vec![],
            Action::FocusNext => self.focus = self.focus.offset(1),
            Action::FocusPrev => self.focus = self.focus.offset(-1),
            Action::Focus(p) => self.focus = p,
            Action::Up => return self.move_cursor(|c, _| c.saturating_sub(1)),
            Action::Down => return self.move_cursor(|c, _| c + 1),
            Action::PageUp => return self.move_cursor(|c, _| c.saturating_sub(PAGE_ROWS)),
            Action::PageDown => return self.move_cursor(|c, _| c + PAGE_ROWS),
            Action::First => return self.move_cursor(|_, _| 0),
            Action::Last => return self.move_cursor(|_, len| len.saturating_sub(1)),
            Action::ScanNow => return self.scan_now(),
            Action::HostEngine => return self.host_engine(),
            Action::ToggleDetail => {
                if self.selected_error().is_none() {
                    return vec![];
                }
                self.errors.detail = !self.errors.detail;
            }
            Action::RetryItem | Action::RetryAccount => return self.retry(action),
            Action::LinkApi
            | Action::LinkFolder
            | Action::Unlink
            | Action::PauseResume
            | Action::Delegate
            | Action::Revoke => return self.account_action(action),
            Action::Upload => return self.open_upload(vec![]),
            Action::UndoBatch => return self.undo_batch(),
            Action::ToggleMouse => {
                self.mouse = !self.mouse;
                self.status = Some(if self.mouse {
                    "mouse on: the wheel scrolls, a click focuses a pane (m turns it off)".into()
                } else {
                    "mouse off".into()
                });
                self.dirty = true;
                return vec![Effect::Mouse(self.mouse)];
            }
        }
        self.dirty = true;
        vec![]
    }

    /// A key while a dialog is open: Ctrl-C still quits, Ctrl-Z still suspends; the rest is
    /// the dialog's (so `q` or `j` typed into a field are text).
    fn dialog_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        use crossterm::event::{KeyCode, KeyModifiers};
        if key.modifiers.contains(KeyModifiers::CONTROL) {
            match key.code {
                KeyCode::Char('c') => return vec![Effect::Quit],
                KeyCode::Char('z') => return vec![Effect::Suspend],
                _ => {}
            }
        }
        let Some(dialog) = self.dialog.as_mut() else {
            return vec![];
        };
        self.dirty = true;
        if let Dialog::ApiLink { url, .. } = dialog
            && self.keymap.action_for(&key, self.focus) == Some(Action::CopyLink)
        {
            let url = url.clone();
            self.status = Some("authorize page copied (OSC 52): paste it into a browser".into());
            return vec![Effect::Copy(url)];
        }
        match dialog.handle_key(key) {
            DialogOutcome::Stay => vec![],
            DialogOutcome::Close => {
                self.dialog = None;
                vec![]
            }
            // The authorize dialog stays open until Dropbox took the code: a wrong one is
            // said in it, and another can be pasted.
            DialogOutcome::Run(action @ ConsoleAction::FinishApiLink { .. }) => self.start(action),
            DialogOutcome::Run(action) => {
                self.dialog = None;
                self.start(action)
            }
            DialogOutcome::CompletePath(text) => vec![Effect::CompletePath(text)],
            DialogOutcome::SaveEdit { file, keep, create } => {
                vec![Effect::Files(FilesRequest::SaveEdit { file, keep, create })]
            }
            DialogOutcome::BatchAdd {
                account,
                collection,
                create,
            } => self.batch_add_request(account, collection, create),
            DialogOutcome::UploadLookup { text, complete } => {
                vec![Effect::UploadLookup { text, complete }]
            }
            DialogOutcome::Send(job) => {
                self.dialog = None;
                self.start_send(job)
            }
            DialogOutcome::Trash(job) => self.trash_confirmed(job),
        }
    }

    /// The link-folder field's Tab completion came back.
    pub fn path_completed(&mut self, asked: &str, value: String, candidates: Vec<String>) {
        if let Some(dialog) = self.dialog.as_mut() {
            dialog.path_completed(asked, value, candidates);
            self.dirty = true;
        }
    }

    /// Text pasted into the terminal (bracketed paste): an open dialog's field takes it;
    /// otherwise pasted paths (files dropped on the terminal) open Upload… with them.
    pub fn handle_paste(&mut self, text: &str) -> Vec<Effect> {
        self.dirty = true;
        match self.dialog.as_mut() {
            Some(dialog) => match dialog.paste(text) {
                DialogOutcome::UploadLookup { text, complete } => {
                    vec![Effect::UploadLookup { text, complete }]
                }
                _ => vec![],
            },
            None => self.paste_paths(text),
        }
    }

    /// Mouse (when turned on): the wheel moves the selection (All Files: its rows), a click
    /// focuses the pane.
    pub fn handle_mouse(&mut self, event: MouseEvent, pane_at: Option<PaneId>) -> Vec<Effect> {
        use crossterm::event::{MouseButton, MouseEventKind};
        if !self.mouse || self.dialog.is_some() || self.help {
            return vec![];
        }
        match event.kind {
            MouseEventKind::ScrollUp => self.move_cursor(|c, _| c.saturating_sub(1)),
            MouseEventKind::ScrollDown => self.move_cursor(|c, _| c + 1),
            MouseEventKind::Down(MouseButton::Left) => {
                if let Some(pane) = pane_at.filter(|p| *p != self.focus) {
                    self.focus = pane;
                    self.dirty = true;
                }
                vec![]
            }
            _ => vec![],
        }
    }

    /// Hand `action` to the event loop, saying in the footer that it runs.
    pub(crate) fn start(&mut self, action: ConsoleAction) -> Vec<Effect> {
        self.status = Some(action.in_progress());
        self.last_problem = None;
        self.dirty = true;
        vec![Effect::Run(action)]
    }

    /// An action finished: say how in the footer (or in full, in a notice, if it failed), and
    /// read the library again.
    pub fn action_finished(
        &mut self,
        action: &ConsoleAction,
        outcome: Result<String, ConsoleError>,
    ) -> Vec<Effect> {
        self.dirty = true;
        let api_dialog = matches!(action, ConsoleAction::FinishApiLink { .. })
            && matches!(self.dialog, Some(Dialog::ApiLink { .. }));
        if api_dialog {
            match &outcome {
                Ok(_) => self.dialog = None,
                Err(why) => {
                    if let Some(Dialog::ApiLink {
                        checking,
                        error,
                        field,
                        ..
                    }) = self.dialog.as_mut()
                    {
                        *checking = false;
                        *error = Some(why.sentence());
                        field.reset();
                    }
                    self.status = None;
                    return vec![];
                }
            }
        }
        match outcome {
            Ok(mut message) => {
                if matches!(action, ConsoleAction::Retry { .. })
                    && self.engine != EngineStatus::Watching
                {
                    // Not lost: the journal is shared with whichever engine runs.
                    message.push_str(if self.engine == EngineStatus::NoEngine {
                        "; no engine running — retry pending until the next engine"
                    } else {
                        "; the import engine running elsewhere tries them next"
                    });
                }
                self.status = Some(message);
                self.last_problem = None;
                let mut effects = vec![Effect::Refresh];
                if action.wakes_engine() && self.engine == EngineStatus::Watching {
                    effects.push(Effect::Engine(EngineCommand::ScanNow));
                }
                effects
            }
            Err(why) => {
                self.status = None;
                if let ConsoleAction::Retry { account, .. } = action {
                    self.errors.retry_refused(account);
                }
                self.dialog = Some(Dialog::notice("Not done", why.sentence()));
                vec![Effect::Refresh]
            }
        }
    }

    /// The API link of `account` has its authorize page: show it, its QR code and the field.
    pub fn api_link_started(&mut self, account: &str, url: Result<String, ConsoleError>) {
        self.dirty = true;
        self.status = None;
        self.dialog = Some(match url {
            Ok(url) => Dialog::api_link(account, url),
            Err(why) => Dialog::notice("Cannot link through the Dropbox API", why.sentence()),
        });
    }

    fn retry(&mut self, action: Action) -> Vec<Effect> {
        let Some(row) = self.selected_error() else {
            return vec![];
        };
        if row.upload {
            self.last_problem = Some(
                "a refused upload is not retried: fix the file, then upload it again (u in All Files)"
                    .into(),
            );
            self.dirty = true;
            return vec![];
        }
        let account = row.account.clone();
        let item = row.item;
        if !self.view.links.contains_key(&account) {
            self.last_problem = Some(format!(
                "{account} has no Dropbox link; link it again before retrying"
            ));
            self.dirty = true;
            return vec![];
        }
        let items = if action == Action::RetryItem {
            vec![item]
        } else {
            vec![]
        };
        let only = (action == Action::RetryItem).then_some(item);
        self.errors.mark_retrying(&account, only);
        // Through the library, as `smartimage retry` does: same permission check, same audit
        // row. The engine (here or in another process) takes the items on its next pass.
        self.start(ConsoleAction::Retry { account, items })
    }

    /// Take in what the engine says. Returns what the event loop must do.
    pub fn apply_engine(&mut self, event: EngineEvent) -> Vec<Effect> {
        // Whether this event changes what is on screen (never clears earlier changes).
        let mut visible = true;
        let mut effects = vec![];
        match event {
            EngineEvent::Discovered(item) => self.queue.discovered(item),
            EngineEvent::Progress { item, bytes, total } => {
                self.queue.progress(item, bytes, total, self.now)
            }
            EngineEvent::Verifying { item } => self.queue.set_state(item, QueueState::Verifying),
            EngineEvent::Imported { item, file } => {
                self.queue.imported(item.item, item.size, self.now);
                self.queue.set_file(item.item, file);
                effects.extend(self.queue_batches());
                // New files appear where the admin is looking, selection kept.
                effects.extend(self.files_reload());
                // A file that waited for a retry is no longer an error.
                self.errors.imported(item.item);
                self.totals.imported += 1;
                self.totals.imported_bytes += item.size;
            }
            EngineEvent::Deleted { item } => {
                self.totals.deleted += 1;
                self.queue.set_state(item, QueueState::Deleted)
            }
            EngineEvent::KeptChanged { item } => {
                self.totals.kept_changed += 1;
                self.queue.set_state(item, QueueState::KeptChanged)
            }
            EngineEvent::Failed { item, kind, detail } => {
                self.totals.failed += 1;
                self.queue.stopped(item.item, QueueState::Failed(kind));
                self.errors.failed(ErrorRow::from_engine(
                    item,
                    kind,
                    detail,
                    ItemState::Failed,
                    None,
                ));
            }
            EngineEvent::Retrying {
                item,
                kind,
                detail,
                next_attempt_at,
            } => {
                // Not the customer's: no report, no failure count; the admin sees why and when.
                self.totals.retrying += 1;
                self.queue.stopped(item.item, QueueState::Retrying(kind));
                self.errors.retrying(ErrorRow::from_engine(
                    item,
                    kind,
                    detail,
                    ItemState::Retrying,
                    Some(next_attempt_at),
                ));
            }
            EngineEvent::RateLimited { link, wait } => {
                let account = self
                    .view
                    .links
                    .iter()
                    .find(|(_, l)| **l == link)
                    .map(|(a, _)| a.clone())
                    .unwrap_or_else(|| format!("link {link}"));
                self.queue.rate_limited(link, account, self.now + wait);
            }
            EngineEvent::LinkState {
                account,
                state,
                detail,
                ..
            } => {
                self.accounts.link_state(&account, state, detail.as_deref());
                self.last_problem = Some(format!(
                    "{account}: Dropbox link is {}{}",
                    state.as_str(),
                    detail.map(|d| format!(" ({d})")).unwrap_or_default()
                ));
                effects.push(Effect::Refresh);
            }
            EngineEvent::LinkError {
                account, detail, ..
            } => self.last_problem = Some(format!("{account}: {detail}")),
            EngineEvent::PassFinished { link, summary, .. } => {
                self.totals.discovered += summary.discovered;
                let waited = self.queue.pass_finished(link);
                let changed = summary != PassSummary::default();
                // A quiet pass (every few seconds per link) draws nothing.
                visible = waited || changed;
                if changed {
                    effects.push(Effect::Refresh);
                }
            }
            EngineEvent::ReportWritten { account, path, .. } => {
                self.errors.report_written(&account, &path);
                visible = self.errors.detail;
            }
            EngineEvent::ReportRemoved { account, .. } => {
                self.errors.report_removed(&account);
                visible = self.errors.detail;
            }
            EngineEvent::OurReportLeft { item } => {
                // Not the customer's file: it leaves the queue as if never found.
                self.queue.forget(item.item);
            }
            EngineEvent::PassStarted { .. } | EngineEvent::Admitted { .. } => visible = false,
            upload @ (EngineEvent::UploadQueued(_)
            | EngineEvent::Uploaded { .. }
            | EngineEvent::UploadRefused { .. }
            | EngineEvent::UploadSkipped { .. }) => {
                let uploaded = matches!(upload, EngineEvent::Uploaded { .. });
                if uploaded {
                    // Like an import: the new file shows in All Files, selection kept.
                    effects.extend(self.files_reload());
                }
                self.apply_upload(upload);
                if uploaded {
                    effects.extend(self.queue_batches());
                }
            }
        }
        self.dirty |= visible;
        effects
    }

    /// New library contents arrived (All Files reads its own rows, see `all_files`).
    pub fn apply_view(&mut self, mut view: LibraryView) -> Vec<Effect> {
        self.accounts.apply_read(std::mem::take(&mut view.accounts));
        self.view = view;
        self.errors.apply_read(&self.view.failures);
        for pane in [PaneId::Errors, PaneId::Queue] {
            let len = self.rows_in(pane);
            if let Some(c) = self.cursor(pane) {
                *c = (*c).min(len.saturating_sub(1));
            }
        }
        self.dirty = true;
        vec![]
    }

    /// The slow tick: countdowns move, finished waits go.
    pub fn tick(&mut self, now: Instant) {
        self.now = now;
        self.expire_notices(now);
        if self.queue.tick(now) {
            self.dirty = true;
        }
    }

    /// Seconds left of a rate-limit wait, rounded up.
    pub fn seconds_left(&self, limit: &RateLimit) -> u64 {
        DropboxQueue::seconds_left(limit, self.now)
    }

    /// Clear the footer's outcome and problem and All Files' notice once they have been on
    /// screen unchanged for [`NOTICE_TTL`]. What is still running ("linking Acme…") stays.
    fn expire_notices(&mut self, now: Instant) {
        let shown: NoticeSnapshot = (
            self.status.clone(),
            self.last_problem.clone(),
            self.files.notice.clone(),
        );
        if shown == (None, None, None) {
            self.notices_since = None;
            return;
        }
        match &self.notices_since {
            Some((since, seen)) if *seen == shown => {
                if now.saturating_duration_since(*since) < NOTICE_TTL {
                    return;
                }
                if self.status.as_deref().is_some_and(|s| !s.ends_with('…')) {
                    self.status = None;
                }
                self.last_problem = None;
                self.files.notice = None;
                self.notices_since = None;
                self.dirty = true;
            }
            _ => self.notices_since = Some((now, shown)),
        }
    }
}
