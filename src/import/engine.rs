//! `ImportEngine`: owns the engine lock, recovers from a crash on start, and runs passes over
//! every active link — once (`import --once`) or continuously, woken by Dropbox changes and by
//! commands (`import --watch`, the console).

use crate::library::ids::CommandId;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc::{self, UnboundedSender};
use tokio::sync::{Notify, watch};

use crate::dropbox::backend::{BackendError, DropboxBackend};
use crate::dropbox::folder_name::downloads_folder_path;
use crate::dropbox::local::{LocalFolder, LocalSettings};
use crate::import::backends::{AnyBackend, BackendSettings};
use crate::import::events::{EngineCommand, EngineEvent, EventSink, PassSummary};
use crate::import::lock::{EngineLock, LockError};
use crate::import::metadata_fill::{FILL_BATCH, FillIn};
use crate::import::pass::{ENGINE_ROLE, PassContext, PassError, run_pass_counted};
use crate::import::publish::{Publisher, now_ms};
use crate::import::retry_policy::RetryPolicy;
use crate::library::Library;
use crate::library::blobs::BlobStore;
use crate::library::error::LibraryError;
use crate::library::ingest::UPLOAD_PURPOSE;
use crate::library::notifications::{self, Queueing};
use crate::library::store::engine_commands::{self, Command, CommandKind};
use crate::library::store::import_items as journal;
use crate::library::store::links::{self, BackendKind, LinkId, LinkRecord, LinkState};
use crate::library::store::processes::ProcessId;
use crate::library::store::{processes, quota};

/// Parallel downloads per engine when the config does not say.
pub const DEFAULT_DOWNLOAD_WORKERS: usize = 4;
/// How long one wait for Dropbox changes lasts before the link is scanned anyway.
pub const DEFAULT_IDLE_WAIT: Duration = Duration::from_secs(120);
/// After a link-level failure (network down, Dropbox trouble), wait this long first…
const LINK_RETRY_MIN: Duration = Duration::from_secs(2);
/// …doubling up to this.
const LINK_RETRY_MAX: Duration = Duration::from_secs(300);
/// How often a watching engine looks for work it was not woken for: links resumed, and
/// retries queued by any process (the console, `smartimage retry`) or due by their time.
const TICK: Duration = Duration::from_secs(1);
/// The metadata fill-in's rest between full batches.
const FILL_REST: Duration = Duration::from_millis(100);
/// How often a watching engine deletes the files that stayed in the trash long enough (and
/// once as it starts watching).
pub const PURGE_EVERY: Duration = Duration::from_secs(3600);
/// A quota reservation of another process (a direct upload) this old is abandoned.
const ABANDONED_RESERVATION_AGE: Duration = Duration::from_secs(24 * 3600);

#[derive(Clone, Debug)]
pub struct EngineSettings {
    pub workers: usize,
    pub idle_wait: Duration,
    pub backends: BackendSettings,
    /// Remove the folders of a synced folder that the import emptied (config
    /// `[import] remove_emptied_folders`).
    pub remove_emptied_folders: bool,
    /// When failed tries are tried again; when a transient failure is persistent.
    pub retry: RetryPolicy,
    /// How the engine runs, as its status row says: `serve`, `watch` (`import --watch`),
    /// `console` (hosted by a console) or `once`.
    pub mode: String,
    /// Which notifications are queued (config `[notify]`); the default queues none.
    pub notify: Queueing,
    /// `[import] duplicates = "skip"`: copies of bytes an account already has are not added
    /// (and leave Dropbox like any import).
    pub skip_duplicates: bool,
    /// `[trash] purge_after_days`: a watching engine deletes files trashed longer ago than
    /// this for good (checked every [`PURGE_EVERY`]).
    pub purge_after_days: u64,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            workers: DEFAULT_DOWNLOAD_WORKERS,
            idle_wait: DEFAULT_IDLE_WAIT,
            backends: BackendSettings::default(),
            remove_emptied_folders: true,
            retry: RetryPolicy::default(),
            mode: "watch".into(),
            notify: Queueing::default(),
            skip_duplicates: false,
            purge_after_days: crate::library::trash::DEFAULT_PURGE_AFTER_DAYS,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Library(#[from] LibraryError),
    #[error("crash recovery failed: {0}")]
    Recovery(String),
}

/// What start-up recovery found and mended.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RecoveryReport {
    pub temp_files_removed: usize,
    pub reservations_released: usize,
    pub interrupted_requeued: usize,
    pub blobs_collected: usize,
    /// An upload was writing blobs at start: temp files and orphan blobs were left alone (a
    /// live writer's look like a crash's), for the next start.
    pub blob_cleanup_postponed: bool,
    /// Temp files a killed export left in synced folders' downloads folders, removed.
    pub export_temp_files_removed: usize,
}

pub struct ImportEngine {
    cx: PassContext,
    data_dir: PathBuf,
    settings: EngineSettings,
    shutdown: Arc<AtomicBool>,
    wake: Arc<Notify>,
    /// One wake-up per watched link, for retries due on that link alone.
    link_wakes: Mutex<HashMap<LinkId, Arc<Notify>>>,
    /// This engine in the registry of live processes: its status row, the commands it took.
    process: ProcessId,
    /// When it started (unix ms): a `stop` given earlier was meant for another engine.
    started_ms: i64,
    /// Started by the first `run_once` or `watch` (it needs the runtime).
    publishing: Mutex<Option<Publishing>>,
    /// `import --once` passes asked of this engine by other processes, not yet finished.
    asked_passes: Mutex<Vec<AskedPass>>,
    _lock: EngineLock,
}

/// The publisher and the events it is sent.
struct Publishing {
    publisher: Publisher,
    events: mpsc::UnboundedReceiver<EngineEvent>,
}

/// A pass another process asked for (a `pass` command): done when every link it covers has
/// finished a pass that started after it was asked.
struct AskedPass {
    command: CommandId,
    asked: std::time::Instant,
    waiting_for: HashSet<LinkId>,
    summary: PassSummary,
    problems: Vec<(String, String)>,
}

/// What a `pass` command reports back (its `outcome`, JSON).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PassOutcome {
    pub summary: PassSummary,
    /// (account, problem) of each link that could not be imported.
    pub problems: Vec<(String, String)>,
}

impl ImportEngine {
    /// Take the engine lock for `library`'s data dir and recover from any earlier crash.
    pub fn start(
        mut library: Library,
        settings: EngineSettings,
        events: UnboundedSender<EngineEvent>,
    ) -> Result<(ImportEngine, RecoveryReport), EngineError> {
        let data_dir = library.data_dir().to_path_buf();
        let lock = EngineLock::acquire(&data_dir)?;
        let blobs = library.blobs().clone();
        let mut report = recover(&mut library, &blobs)?;
        report.export_temp_files_removed = remove_export_leftovers(&library);
        let process = library.holder(ENGINE_ROLE)?;
        let shutdown = Arc::new(AtomicBool::new(false));
        let (engine_events, published) = mpsc::unbounded_channel();
        let publishing = Publishing {
            publisher: Publisher {
                database: library.store().path().to_path_buf(),
                process,
                mode: settings.mode.clone(),
                stopping: shutdown.clone(),
            },
            events: published,
        };
        let cx = PassContext {
            library: Arc::new(Mutex::new(library)),
            blobs,
            events: EventSink::new(events, Some(engine_events)),
            workers: settings.workers,
            shutdown: shutdown.clone(),
            stopped_links: Arc::default(),
            download_slots: Arc::new(tokio::sync::Semaphore::new(settings.workers.max(1))),
            db_gate: Arc::new(tokio::sync::Semaphore::new(1)),
            remove_emptied_folders: settings.remove_emptied_folders,
            retry: settings.retry,
            notify: settings.notify.clone(),
            skip_duplicates: settings.skip_duplicates,
        };
        Ok((
            ImportEngine {
                cx,
                data_dir,
                settings,
                shutdown,
                wake: Arc::new(Notify::new()),
                link_wakes: Mutex::new(HashMap::new()),
                process,
                started_ms: now_ms(),
                publishing: Mutex::new(Some(publishing)),
                asked_passes: Mutex::new(Vec::new()),
                _lock: lock,
            },
            report,
        ))
    }

    /// The library the engine works on (for read-only views in the same process).
    pub fn library(&self) -> Arc<Mutex<Library>> {
        self.cx.library.clone()
    }

    /// This engine in the registry of live processes.
    pub fn process(&self) -> ProcessId {
        self.process
    }

    /// Start publishing the engine's state (once; it needs the runtime, so it starts with the
    /// first pass or watch rather than in `start`).
    fn start_publishing(&self) {
        let taken = self
            .publishing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(Publishing { publisher, events }) = taken {
            tokio::spawn(publisher.run(events));
        }
    }

    fn active_links(&self, only: Option<LinkId>) -> Result<Vec<LinkRecord>, EngineError> {
        self.live_links_in(only, |state| state == LinkState::Active)
    }

    /// Live links (or just `only`) whose state passes `wanted`.
    fn live_links_in(
        &self,
        only: Option<LinkId>,
        wanted: impl Fn(LinkState) -> bool,
    ) -> Result<Vec<LinkRecord>, EngineError> {
        let lib = self
            .cx
            .library
            .lock()
            .map_err(|_| EngineError::Recovery("library lock poisoned".into()))?;
        Ok(links::live_links(lib.store().connection())
            .map_err(LibraryError::from)?
            .into_iter()
            .filter(|l| wanted(l.state) && only.is_none_or(|id| id == l.id))
            .collect())
    }

    /// One pass over every active link (or just `only`). Link problems are reported as events
    /// and in the returned list; they do not stop the other links.
    pub async fn run_once(
        &self,
        only: Option<LinkId>,
    ) -> Result<(PassSummary, Vec<(String, String)>), EngineError> {
        self.start_publishing();
        let mut total = PassSummary::default();
        let mut problems = Vec::new();
        self.resume_fixed_links(only);
        for link in self.active_links(only)? {
            // What a pass announced is counted even when it stopped early.
            let (summary, outcome) = self.pass_with_backend(&link).await;
            total.add(&summary);
            if let Err(detail) = outcome {
                problems.push((link.account_name.clone(), detail));
            }
        }
        // A link that is waiting for someone is said, not passed over in silence.
        for link in self.waiting_links(only)? {
            if problems
                .iter()
                .any(|(account, _)| *account == link.account_name)
            {
                continue;
            }
            problems.push((link.account_name.clone(), waiting_detail(&link)));
        }
        Ok((total, problems))
    }

    /// Links in `error` or `needs_reauth` (or just `only`).
    fn waiting_links(&self, only: Option<LinkId>) -> Result<Vec<LinkRecord>, EngineError> {
        self.live_links_in(only, |state| {
            matches!(state, LinkState::Error | LinkState::NeedsReauth)
        })
    }

    /// A link blocked by a condition of this server (`error`: a token file's mode, a missing
    /// file, the configuration) goes back to `active` once its backend opens again — no admin
    /// has to say `resume`. Opening reads local files only; nothing is asked of Dropbox.
    pub fn resume_fixed_links(&self, only: Option<LinkId>) {
        let Ok(blocked) = self.waiting_links(only) else {
            return;
        };
        for link in blocked.into_iter().filter(|l| l.state == LinkState::Error) {
            if AnyBackend::open(&link, &self.settings.backends, &self.data_dir).is_err() {
                continue;
            }
            if let Ok(lib) = self.cx.library.lock() {
                let _ =
                    links::set_state(lib.store().connection(), link.id, LinkState::Active, None);
            }
            tracing::info!(link = link.id.get(), account = %link.account_name, "the problem was fixed: the link resumes");
            let _ = self.cx.events.send(EngineEvent::LinkState {
                link: link.id,
                account: link.account_name.clone(),
                state: LinkState::Active,
                detail: Some("resumed: the problem was fixed".into()),
            });
        }
    }

    async fn pass_with_backend(&self, link: &LinkRecord) -> (PassSummary, Result<(), String>) {
        let backend = match AnyBackend::open(link, &self.settings.backends, &self.data_dir) {
            Ok(b) => b,
            Err(e) => {
                let detail = self.link_failed(link, PassError::Dropbox(e)).await;
                return (PassSummary::default(), Err(detail));
            }
        };
        let (summary, outcome) = run_pass_counted(&self.cx, link, &backend).await;
        if summary.imported > 0 {
            self.check_plan(link).await;
        }
        match outcome {
            Ok(()) => (summary, Ok(())),
            Err(e) => (summary, Err(self.link_failed(link, e).await)),
        }
    }

    /// Queue the plan warnings the pass's imports made due (75 % and 100 % of storage or of
    /// the month's video allotment, once per crossing per month).
    async fn check_plan(&self, link: &LinkRecord) {
        if !self.settings.notify.enabled() {
            return;
        }
        let (account, q) = (link.account, self.settings.notify.clone());
        let checked = self
            .cx
            .db(move |lib| {
                let Some(account) = crate::library::store::people::account_by_id(
                    lib.store().connection(),
                    account,
                )?
                else {
                    return Ok(());
                };
                let Ok(plan) = lib.plan(&account.plan).cloned() else {
                    return Ok(());
                };
                let now = time::OffsetDateTime::now_utc();
                lib.store_mut()
                    .transaction(|tx| -> Result<(), LibraryError> {
                        notifications::check_plan(tx, &q, &account, &plan, now)?;
                        Ok(())
                    })
            })
            .await;
        if let Err(error) = checked {
            tracing::warn!(link = link.id.get(), %error, "could not look at the plan's usage");
        }
    }

    /// The wake-up of `link`'s watcher.
    fn link_wake(&self, link: LinkId) -> Arc<Notify> {
        let mut wakes = self
            .link_wakes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        wakes.entry(link).or_default().clone()
    }

    /// Wake the watchers of links with a retry queued (by any process: the journal is shared)
    /// or due. A watcher busy in a pass keeps the wake-up for when it next waits.
    async fn wake_links_with_due_retries(&self) {
        let due = self
            .cx
            .db(|lib| {
                let at = time::OffsetDateTime::now_utc().unix_timestamp();
                Ok(journal::links_with_due_retries(
                    lib.store().connection(),
                    at,
                )?)
            })
            .await;
        match due {
            Ok(links) => {
                for link in links {
                    self.link_wake(link).notify_one();
                }
            }
            Err(error) => tracing::debug!(%error, "could not look for queued retries"),
        }
    }

    /// Record what a link-level failure means for the link, and say it.
    async fn link_failed(&self, link: &LinkRecord, error: PassError) -> String {
        let detail = error.to_string();
        let new_state = match &error {
            PassError::Dropbox(BackendError::NeedsReauth { .. }) => Some(LinkState::NeedsReauth),
            PassError::Dropbox(BackendError::Io(_) | BackendError::Blocked { .. }) => {
                Some(LinkState::Error)
            }
            PassError::Dropbox(BackendError::RateLimited { retry_after }) => {
                let _ = self.cx.events.send(EngineEvent::RateLimited {
                    link: link.id,
                    wait: *retry_after,
                });
                None
            }
            _ => None,
        };
        if let Some(state) = new_state {
            if let Ok(mut lib) = self.cx.library.lock() {
                let q = &self.settings.notify;
                let newly = link.state != state;
                let told = lib.store_mut().transaction(|tx| -> rusqlite::Result<()> {
                    links::set_state(tx, link.id, state, Some(&detail))?;
                    // Told once as the link enters the state, not at every pass that finds it.
                    match state {
                        LinkState::NeedsReauth if newly => {
                            notifications::link_needs_reauth(tx, q, link.account)?;
                        }
                        LinkState::Error if newly => {
                            notifications::tell_operators(
                                tx,
                                q,
                                "server_error",
                                &format!(
                                    "Smartimage: importing for {:?} stopped on a problem of this server",
                                    link.account_name
                                ),
                                &format!(
                                    "The import for the account {:?} waits for a condition of the \
                                     server to be fixed (a token file's mode, a missing file or \
                                     folder, the configuration). It resumes by itself once fixed; \
                                     the engine's log and `smartimage status` say what it is.\n",
                                    link.account_name
                                ),
                            )?;
                        }
                        _ => {}
                    }
                    Ok(())
                });
                if let Err(error) = told {
                    tracing::warn!(link = link.id.get(), %error, "could not record the link's state");
                }
            }
            let _ = self.cx.events.send(EngineEvent::LinkState {
                link: link.id,
                account: link.account_name.clone(),
                state,
                detail: Some(detail.clone()),
            });
        } else {
            let _ = self.cx.events.send(EngineEvent::LinkError {
                link: link.id,
                account: link.account_name.clone(),
                detail: detail.clone(),
            });
        }
        tracing::warn!(link = link.id.get(), account = %link.account_name, error = %detail, "link pass failed");
        detail
    }

    /// Apply one command. Returns false when the engine should stop.
    pub fn handle(&self, command: EngineCommand) -> bool {
        let set_state = |link: LinkId, state: LinkState| {
            if let Ok(lib) = self.cx.library.lock() {
                let _ = links::set_state(lib.store().connection(), link, state, None);
            }
        };
        match command {
            EngineCommand::Pause(link) => set_state(link, LinkState::Paused),
            EngineCommand::Resume(link) => {
                set_state(link, LinkState::Active);
                self.wake.notify_waiters();
            }
            EngineCommand::ScanNow => self.wake.notify_waiters(),
            EngineCommand::Retry { link, items } => {
                if let Ok(lib) = self.cx.library.lock() {
                    let at = time::OffsetDateTime::now_utc().unix_timestamp();
                    let _ = journal::retry(lib.store().connection(), &[link], items.as_deref(), at);
                }
                self.link_wake(link).notify_one();
            }
            EngineCommand::Shutdown => {
                self.shutdown.store(true, Ordering::SeqCst);
                self.wake.notify_waiters();
                return false;
            }
        }
        true
    }

    /// Run until `Shutdown` (or a `stop` command): each active link gets a pass, then waits
    /// for Dropbox changes (or a command, or `idle_wait`) before the next. Work in flight
    /// finishes; nothing new starts. Every tick it takes the commands other processes gave
    /// (`store::engine_commands`) and obeys links paused or unlinked elsewhere.
    pub async fn watch(self: Arc<Self>, mut commands: mpsc::UnboundedReceiver<EngineCommand>) {
        self.start_publishing();
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut running: HashSet<LinkId> = HashSet::new();
        let mut tasks = tokio::task::JoinSet::new();
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_purge = None;
        let filler = {
            let engine = self.clone();
            let stop = stop_rx.clone();
            tokio::spawn(async move { engine.fill_in_metadata(stop).await })
        };
        loop {
            self.resume_fixed_links(None);
            // Start a watcher for every active link that has none (new links, resumed links);
            // a link that stopped being active (paused, unlinked elsewhere) starts nothing new.
            if let Ok(active) = self.active_links(None) {
                let active_ids: HashSet<LinkId> = active.iter().map(|l| l.id).collect();
                self.hold_back(&running, &active_ids);
                for link in active {
                    if running.insert(link.id) {
                        let engine = self.clone();
                        let stop = stop_rx.clone();
                        tasks.spawn(async move {
                            engine.watch_link(link.id, stop).await;
                            link.id
                        });
                    }
                }
                self.forget_asked_passes_of(&active_ids);
            }
            tokio::select! {
                command = commands.recv() => {
                    let keep_going = command.map(|c| self.handle(c)).unwrap_or(false);
                    if !keep_going {
                        break;
                    }
                }
                Some(Ok(done)) = tasks.join_next() => { running.remove(&done); }
                _ = tick.tick() => {
                    self.wake_links_with_due_retries().await;
                    if last_purge.is_none_or(|at: std::time::Instant| at.elapsed() >= PURGE_EVERY) {
                        last_purge = Some(std::time::Instant::now());
                        self.purge_trash().await;
                    }
                    if !self.take_commands().await {
                        break;
                    }
                }
            }
        }
        self.shutdown.store(true, Ordering::SeqCst);
        let _ = stop_tx.send(true);
        self.wake.notify_waiters();
        while tasks.join_next().await.is_some() {}
        let _ = filler.await;
        self.fail_asked_passes("the engine stopped before the pass finished");
    }

    /// Delete for good the files trashed more than `purge_after_days` ago (audited as the
    /// engine; their blobs are released, and collected at a later start).
    async fn purge_trash(&self) {
        let days = self.settings.purge_after_days;
        let purged = self
            .cx
            .db(move |lib| {
                lib.purge_expired(days, time::OffsetDateTime::now_utc().unix_timestamp())
            })
            .await;
        match purged {
            Ok(outcome) if outcome.files > 0 => tracing::info!(
                files = outcome.files,
                bytes = outcome.bytes,
                days,
                "deleted files that stayed in the trash"
            ),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "could not empty the trash of expired files"),
        }
    }

    /// While nothing downloads, read the metadata of files that have none, a batch at a time
    /// (`metadata_fill`), until stopped. Low priority: it waits a tick whenever the engine is
    /// busy or there is nothing to read, and rests briefly between batches.
    async fn fill_in_metadata(&self, mut stop: watch::Receiver<bool>) {
        let mut fill = FillIn::default();
        loop {
            let idle = self.cx.download_slots.available_permits() >= self.cx.workers;
            let read = if idle && !self.shutdown.load(Ordering::SeqCst) {
                fill.turn(&self.cx).await
            } else {
                0
            };
            let pause = if read == FILL_BATCH { FILL_REST } else { TICK };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() || self.shutdown.load(Ordering::SeqCst) {
                return;
            }
        }
    }

    /// Links with a watcher that are no longer active start nothing new, and their watchers
    /// wake to end.
    fn hold_back(&self, running: &HashSet<LinkId>, active: &HashSet<LinkId>) {
        let stopped: HashSet<LinkId> = running.difference(active).copied().collect();
        for link in &stopped {
            self.link_wake(*link).notify_one();
        }
        if let Ok(mut held) = self.cx.stopped_links.write() {
            *held = stopped;
        }
    }

    /// Take the commands other processes gave; false when one says to stop.
    async fn take_commands(&self) -> bool {
        let process = self.process;
        let taken = self
            .cx
            .db(move |lib| {
                Ok(lib
                    .store_mut()
                    .transaction(|tx| engine_commands::take_pending(tx, process))?)
            })
            .await;
        let commands = match taken {
            Ok(commands) => commands,
            Err(error) => {
                tracing::debug!(%error, "could not read the commands given to the engine");
                return true;
            }
        };
        let mut keep_going = true;
        for command in commands {
            tracing::info!(command = command.kind.as_str(), link = ?command.link, by = %command.actor, "command taken");
            keep_going &= self.obey(command).await;
        }
        keep_going
    }

    async fn obey(&self, command: Command) -> bool {
        let wake_links = |only: Option<LinkId>| -> usize {
            let links = self.active_links(only).unwrap_or_default();
            for link in &links {
                self.link_wake(link.id).notify_one();
            }
            links.len()
        };
        let (outcome, keep_going) = match command.kind {
            CommandKind::Scan => (
                format!("scanning {} linked folder(s) now", wake_links(command.link)),
                true,
            ),
            CommandKind::Retry => {
                wake_links(command.link);
                ("the engine takes the queued files now".to_owned(), true)
            }
            // The engine it was meant for is gone; a standby that took over must not stop too.
            CommandKind::Stop if command.at_ms < self.started_ms => {
                let outcome = "not obeyed: given before this engine started".to_owned();
                self.finish_command(command.id, false, outcome).await;
                return true;
            }
            CommandKind::Stop => ("the engine is stopping".to_owned(), false),
            CommandKind::Pass => {
                self.ask_pass(command);
                return true;
            }
        };
        self.finish_command(command.id, true, outcome).await;
        if !keep_going {
            self.shutdown.store(true, Ordering::SeqCst);
        }
        keep_going
    }

    async fn finish_command(&self, id: CommandId, ok: bool, outcome: String) {
        let finished = self
            .cx
            .db(move |lib| {
                Ok(engine_commands::finish(
                    lib.store().connection(),
                    id,
                    ok,
                    &outcome,
                    now_ms(),
                )?)
            })
            .await;
        if let Err(error) = finished {
            tracing::warn!(%error, command = id.get(), "could not record how a command ended");
        }
    }

    /// A pass another process asked for: every active link (or one) passes again; the command
    /// is finished once each has, with what they did.
    fn ask_pass(&self, command: Command) {
        let active = self.active_links(command.link).unwrap_or_default();
        let problems: Vec<(String, String)> = self
            .waiting_links(command.link)
            .unwrap_or_default()
            .iter()
            .map(|l| (l.account_name.clone(), waiting_detail(l)))
            .collect();
        let asked = AskedPass {
            command: command.id,
            asked: std::time::Instant::now(),
            waiting_for: active.iter().map(|l| l.id).collect(),
            summary: PassSummary::default(),
            problems,
        };
        self.asked_passes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(asked);
        for link in &active {
            self.link_wake(link.id).notify_one();
        }
        self.finish_asked_passes();
    }

    /// A pass of `link` that started at `started` ended: it counts for every asked pass that
    /// was asked before it started.
    fn note_pass(
        &self,
        link: &LinkRecord,
        started: std::time::Instant,
        summary: &PassSummary,
        problem: Option<String>,
    ) {
        {
            let mut asked = self
                .asked_passes
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for pass in asked
                .iter_mut()
                .filter(|p| p.asked <= started && p.waiting_for.contains(&link.id))
            {
                pass.waiting_for.remove(&link.id);
                pass.summary.add(summary);
                if let Some(problem) = &problem {
                    pass.problems
                        .push((link.account_name.clone(), problem.clone()));
                }
            }
        }
        self.finish_asked_passes();
    }

    /// Links no longer active (paused, unlinked) are not waited for.
    fn forget_asked_passes_of(&self, active: &HashSet<LinkId>) {
        let any = {
            let mut asked = self
                .asked_passes
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for pass in asked.iter_mut() {
                pass.waiting_for.retain(|link| active.contains(link));
            }
            asked.iter().any(|p| p.waiting_for.is_empty())
        };
        if any {
            self.finish_asked_passes();
        }
    }

    /// Record every asked pass that has nothing left to wait for.
    fn finish_asked_passes(&self) {
        let done: Vec<AskedPass> = {
            let mut asked = self
                .asked_passes
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let (done, waiting) = std::mem::take(&mut *asked)
                .into_iter()
                .partition(|p| p.waiting_for.is_empty());
            *asked = waiting;
            done
        };
        for pass in done {
            let outcome = PassOutcome {
                summary: pass.summary,
                problems: pass.problems,
            };
            self.record_pass_outcome(pass.command, true, &outcome);
        }
    }

    fn fail_asked_passes(&self, why: &str) {
        let left = std::mem::take(
            &mut *self
                .asked_passes
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for pass in left {
            let mut problems = pass.problems;
            problems.push((String::new(), why.to_owned()));
            let outcome = PassOutcome {
                summary: pass.summary,
                problems,
            };
            self.record_pass_outcome(pass.command, false, &outcome);
        }
    }

    fn record_pass_outcome(&self, command: CommandId, ok: bool, outcome: &PassOutcome) {
        let text = serde_json::to_string(outcome).unwrap_or_default();
        if let Ok(lib) = self.cx.library.lock() {
            let _ = engine_commands::finish(lib.store().connection(), command, ok, &text, now_ms());
        }
    }

    async fn watch_link(&self, link_id: LinkId, mut stop: watch::Receiver<bool>) {
        let retries_due = self.link_wake(link_id);
        let mut retry_after = LINK_RETRY_MIN;
        while !self.shutdown.load(Ordering::SeqCst) {
            let Ok(mut links) = self.active_links(Some(link_id)) else {
                return;
            };
            let Some(link) = links.pop() else { return }; // paused or unlinked: this task ends
            let backend = match AnyBackend::open(&link, &self.settings.backends, &self.data_dir) {
                Ok(b) => b,
                Err(e) => {
                    self.link_failed(&link, PassError::Dropbox(e)).await;
                    return;
                }
            };
            let started = std::time::Instant::now();
            let (summary, outcome) = run_pass_counted(&self.cx, &link, &backend).await;
            let (pause, problem, fatal) = match outcome {
                Ok(()) => {
                    retry_after = LINK_RETRY_MIN;
                    (None, None, false)
                }
                Err(PassError::Dropbox(BackendError::RateLimited { retry_after: wait })) => (
                    Some(wait),
                    Some(format!(
                        "Dropbox asked us to slow down; the engine goes on in {} s",
                        wait.as_secs().max(1)
                    )),
                    false,
                ),
                Err(e) => {
                    let fatal = matches!(
                        e,
                        PassError::Dropbox(
                            BackendError::NeedsReauth { .. }
                                | BackendError::Io(_)
                                | BackendError::Blocked { .. }
                        )
                    );
                    let detail = self.link_failed(&link, e).await;
                    retry_after = (retry_after * 2).min(LINK_RETRY_MAX);
                    (Some(retry_after / 2), Some(detail), fatal)
                }
            };
            self.note_pass(&link, started, &summary, problem);
            if fatal {
                return;
            }
            if self.shutdown.load(Ordering::SeqCst) {
                return;
            }
            let cursor = self
                .cx
                .library
                .lock()
                .ok()
                .and_then(|lib| {
                    links::link_by_id(lib.store().connection(), link_id)
                        .ok()
                        .flatten()
                })
                .and_then(|l| l.cursor);
            let wait_for_changes = async {
                match (pause, cursor) {
                    (Some(pause), _) => tokio::time::sleep(pause).await,
                    (None, Some(cursor)) => match backend
                        .wait_for_changes(&cursor, self.settings.idle_wait)
                        .await
                    {
                        Ok(w) => {
                            if let Some(backoff) = w.backoff {
                                tokio::time::sleep(backoff).await;
                            }
                        }
                        Err(_) => tokio::time::sleep(LINK_RETRY_MIN).await,
                    },
                    (None, None) => tokio::time::sleep(self.settings.idle_wait).await,
                }
            };
            tokio::select! {
                _ = wait_for_changes => {}
                _ = self.wake.notified() => {}
                _ = retries_due.notified() => {}
                _ = stop.changed() => return,
            }
        }
    }
}

/// What an admin reads about a link that is waiting: the problem, and who does what.
fn waiting_detail(link: &LinkRecord) -> String {
    let problem = link.state_detail.as_deref().unwrap_or("no detail recorded");
    match link.state {
        LinkState::NeedsReauth => format!(
            "needs a new Dropbox authorization ({problem}); an owner or a delegated admin runs \
             `smartimage link --account {:?} --api`",
            link.account_name
        ),
        _ => format!("blocked: {problem}"),
    }
}

/// Start-up recovery: no temp file, no stale reservation, no half-claimed item, no blob the
/// store released survives a crash. Files committed but not yet deleted from Dropbox stay
/// `committed`; the next pass deletes them. First of all the database and the blob store must
/// be one library (`library::custody`): a restored or replaced database stops the engine here,
/// before anything is released or collected. While an upload is writing blobs, its temp files,
/// pins and reservations look like a dead one's: they are then left for the next start (see
/// `blobs::writers_lock`).
pub fn recover(library: &mut Library, blobs: &BlobStore) -> Result<RecoveryReport, EngineError> {
    let recovery = |e: std::io::Error| EngineError::Recovery(e.to_string());
    library.require_custody()?;
    // A copy of the database taken before this start is older than the blob store from now on.
    library.advance_epoch()?;
    // Uploads reserve quota, pin and write blobs only while they hold the writers lock:
    // holding it ourselves, everything an upload left behind belongs to one that died.
    let cleaning = blobs.try_cleaning().map_err(recovery)?;
    let at = time::OffsetDateTime::now_utc().unix_timestamp();
    let (reservations_released, interrupted_requeued) = library
        .store_mut()
        .transaction(|tx| -> rusqlite::Result<(usize, usize)> {
            let abandoned = at - ABANDONED_RESERVATION_AGE.as_secs() as i64;
            let mut released =
                quota::release_purpose(tx, "import")? + quota::release_older_than(tx, abandoned)?;
            if cleaning.is_some() {
                released += quota::release_unheld_purpose(tx, UPLOAD_PURPOSE)?;
            }
            released += processes::release_dead(tx, at)?;
            Ok((released, journal::requeue_interrupted(tx, at)?))
        })
        .map_err(LibraryError::from)?;
    let cleaned = match &cleaning {
        Some(_held) => {
            let temp_files_removed = blobs.remove_temp_files().map_err(recovery)?;
            library.release_dead_pins()?;
            let collected = library.collect_released_blobs()?;
            Some((temp_files_removed, collected.blobs))
        }
        None => {
            tracing::info!(
                "an upload is writing to the library: temp files and released blobs are left for the next start"
            );
            None
        }
    };
    drop(cleaning);
    let (temp_files_removed, blobs_collected) = cleaned.unwrap_or_default();
    Ok(RecoveryReport {
        temp_files_removed,
        reservations_released,
        interrupted_requeued,
        blobs_collected,
        blob_cleanup_postponed: cleaned.is_none(),
        // Swept by `ImportEngine::start`, which knows the links.
        export_temp_files_removed: 0,
    })
}

/// Removes the temp files a killed export left in the downloads folder of each synced-folder
/// link (an API link has none: an unfinished upload session is no file). Best effort and
/// cheap — a walk of those folders only; a failure is logged, never fatal.
fn remove_export_leftovers(library: &Library) -> usize {
    let live = match links::live_links(library.store().connection()) {
        Ok(live) => live,
        Err(error) => {
            tracing::warn!(%error, "could not list links to sweep export temp files");
            return 0;
        }
    };
    let mut removed = 0;
    for link in live
        .iter()
        .filter(|link| link.backend == BackendKind::Local)
    {
        let Some(root) = link.root_path.as_deref() else {
            continue;
        };
        let downloads = downloads_folder_path(&link.folder_path);
        let swept = LocalFolder::open(std::path::Path::new(root), LocalSettings::default())
            .map_err(BackendError::from)
            .and_then(|folder| folder.remove_leftovers_blocking(&downloads));
        match swept {
            Ok(count) => removed += count,
            Err(error) => tracing::warn!(
                account = %link.account_name,
                folder = downloads,
                %error,
                "could not sweep temp files of a killed export"
            ),
        }
    }
    if removed > 0 {
        tracing::info!(removed, "removed temp files killed exports left in Dropbox");
    }
    removed
}
