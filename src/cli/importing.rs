//! Verbs that run or inspect the import engine: import (--once | --watch), errors list, retry.

use smartimage::library::ids::{ItemId, LinkId};
use std::collections::HashMap;

use std::io::{IsTerminal, Write};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::Serialize;
use smartimage::config::Config;
use smartimage::import::engine::{EngineError, EngineSettings, ImportEngine, RecoveryReport};
use smartimage::import::events::{EngineCommand, EngineEvent, PassSummary};
use smartimage::import::lock::{EngineLock, LockError, STANDBY_POLL};
use smartimage::import::standby::StandbyRow;
use smartimage::library::Library;
use smartimage::library::store::links;
use smartimage::terminal_text::escape_for_terminal;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::mpsc::UnboundedSender;

use super::linking::{backend_settings, runtime};
use super::output::{bytes, json, table, timestamp};
use super::{Context, Failure, Outcome};

/// How long the printer lets events gather between bursts (a log line is at most this late).
const PRINT_GATHER: std::time::Duration = std::time::Duration::from_millis(10);

/// Prints one plain line per event (for logs, pipes and the `--once` summary); on a terminal
/// also a progress bar per file being downloaded and a total with an ETA.
struct EventPrinter {
    lines: EventLines,
    bars: Option<ProgressBars>,
    /// Lines for a pipe or a file, flushed whenever the engine pauses (see `start_printing`):
    /// one write per burst, not per line, when thousands of files go by.
    piped: std::io::BufWriter<std::io::Stdout>,
}

/// The terminal's live view: one bar per active download, and the total.
struct ProgressBars {
    multi: MultiProgress,
    total: ProgressBar,
    /// Bar and bytes so far of each file being downloaded.
    active: HashMap<ItemId, (ProgressBar, u64)>,
    names: HashMap<ItemId, String>,
    /// Bytes of files that are done (imported or failed).
    done_bytes: u64,
}

/// Files smaller than this finish too fast for a bar of their own.
const BAR_MIN_BYTES: u64 = 1024 * 1024;

impl ProgressBars {
    fn new() -> ProgressBars {
        let multi = MultiProgress::new();
        let total = multi.add(ProgressBar::new(0));
        total.set_style(
            ProgressStyle::with_template(
                "{prefix:>6} [{bar:24}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        total.set_prefix("total");
        ProgressBars {
            multi,
            total,
            active: HashMap::new(),
            names: HashMap::new(),
            done_bytes: 0,
        }
    }

    fn update(&mut self, event: &EngineEvent) {
        match event {
            EngineEvent::Discovered(item) => {
                self.total.inc_length(item.size);
                let name = item.path.rsplit('/').next().unwrap_or(&item.path);
                self.names
                    .insert(item.item, escape_for_terminal(name).into_owned());
            }
            EngineEvent::Progress { item, bytes, total } if *total >= BAR_MIN_BYTES => {
                let name = self
                    .names
                    .get(item)
                    .cloned()
                    .unwrap_or_else(|| format!("#{item}"));
                let multi = &self.multi;
                let (bar, so_far) = self.active.entry(*item).or_insert_with(|| {
                    let bar = multi.add(ProgressBar::new(*total));
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{prefix:>6} [{bar:24}] {bytes}/{total_bytes} {wide_msg}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                    );
                    bar.set_message(name);
                    (bar, 0)
                });
                bar.set_position(*bytes);
                *so_far = *bytes;
            }
            EngineEvent::Imported { item, .. }
            | EngineEvent::Failed { item, .. }
            | EngineEvent::Retrying { item, .. } => {
                self.done_bytes += item.size;
                if let Some((bar, _)) = self.active.remove(&item.item) {
                    bar.finish_and_clear();
                }
            }
            _ => return,
        }
        let in_flight: u64 = self.active.values().map(|(_, bytes)| bytes).sum();
        self.total.set_position(self.done_bytes + in_flight);
    }

    fn println(&self, line: &str) {
        self.multi.suspend(|| say(line));
    }

    fn finish(&self) {
        for (bar, _) in self.active.values() {
            bar.finish_and_clear();
        }
        self.total.finish_and_clear();
    }
}

impl EventPrinter {
    fn for_stdout() -> EventPrinter {
        let bars = std::io::stdout().is_terminal().then(ProgressBars::new);
        EventPrinter {
            lines: EventLines::default(),
            bars,
            piped: std::io::BufWriter::new(std::io::stdout()),
        }
    }

    fn finish(&mut self) {
        if let Some(bars) = &self.bars {
            bars.finish();
        }
        self.flush();
    }

    fn flush(&mut self) {
        let _ = self.piped.flush();
    }

    fn print(&mut self, event: &EngineEvent) {
        if let Some(bars) = self.bars.as_mut() {
            bars.update(event);
        }
        let Some(line) = self.lines.line(event) else {
            return;
        };
        match &self.bars {
            Some(bars) => bars.println(&line),
            None => {
                let _ = writeln!(self.piped, "{line}");
            }
        }
    }
}

/// The one plain line an engine event is told in (`import`, and `serve`'s log), escaped for a
/// terminal; `None` for events too small to tell. Remembers paths, since later events of a
/// file name only its item.
#[derive(Default)]
pub struct EventLines {
    paths: HashMap<ItemId, String>,
}

impl EventLines {
    pub fn line(&mut self, event: &EngineEvent) -> Option<String> {
        let line = match event {
            EngineEvent::Discovered(item) => {
                self.paths.insert(item.item, item.path.clone());
                format!("found     {}  ({})", item.path, bytes(item.size))
            }
            EngineEvent::Imported { item, file } => format!(
                "imported  {}  ({}) as file {file}",
                item.path,
                bytes(item.size)
            ),
            EngineEvent::Failed { item, detail, .. } => {
                self.paths.remove(&item.item);
                format!("failed    {}: {detail}", item.path)
            }
            EngineEvent::Retrying {
                item,
                detail,
                next_attempt_at,
                ..
            } => {
                self.paths.remove(&item.item);
                format!(
                    "retrying  {}: {detail} (it stays in Dropbox; tried again automatically from {} UTC)",
                    item.path,
                    timestamp(*next_attempt_at)
                )
            }
            EngineEvent::Deleted { item } => {
                format!("removed   {} from Dropbox", self.take_path(*item))
            }
            EngineEvent::KeptChanged { item } => {
                format!(
                    "kept      {} in Dropbox: it changed while being imported; the new version comes next",
                    self.take_path(*item)
                )
            }
            EngineEvent::ReportWritten { path, failures, .. } => {
                format!("report    {path} ({failures} failed file(s))")
            }
            EngineEvent::ReportRemoved { path, .. } => {
                format!("report    {path} removed: nothing fails there any more")
            }
            EngineEvent::OurReportLeft { item } => format!(
                "left      {} in Dropbox: a Smartimage error report, not a file to import",
                item.path
            ),
            EngineEvent::RateLimited { wait, .. } => {
                format!(
                    "waiting   Dropbox asked us to slow down; resuming in {} s",
                    wait.as_secs().max(1)
                )
            }
            EngineEvent::LinkState {
                account,
                state,
                detail,
                ..
            } => {
                format!(
                    "link      {account}: {} {}",
                    state.as_str(),
                    detail.as_deref().unwrap_or("")
                )
            }
            EngineEvent::LinkError {
                account, detail, ..
            } => format!("problem   {account}: {detail}"),
            EngineEvent::PassStarted { .. }
            | EngineEvent::Admitted { .. }
            | EngineEvent::PassFinished { .. }
            | EngineEvent::Progress { .. }
            | EngineEvent::Verifying { .. }
            | EngineEvent::UploadQueued(_)
            | EngineEvent::Uploaded { .. }
            | EngineEvent::UploadRefused { .. }
            | EngineEvent::UploadSkipped { .. } => return None,
        };
        Some(escape_for_terminal(&line).into_owned())
    }

    /// The path of a file whose last event this is: a long-lived `serve` must not keep the
    /// path of every file it ever imported.
    fn take_path(&mut self, item: ItemId) -> String {
        self.paths
            .remove(&item)
            .unwrap_or_else(|| format!("item {item}"))
    }
}

pub fn summary_line(s: &PassSummary) -> String {
    format!(
        "Imported {} file(s) ({}); {} failed and stayed in Dropbox; {} wait in Dropbox to be tried again automatically; {} removed from Dropbox ({} delete call(s)); {} kept because they changed; {} report(s) written.",
        s.imported,
        bytes(s.imported_bytes),
        s.failed,
        s.retrying,
        s.deleted,
        s.delete_batches,
        s.kept_changed,
        s.reports
    )
}

pub fn engine_settings(config: &Config) -> EngineSettings {
    let mut backends = backend_settings(config, None);
    backends.local.stable_for =
        std::time::Duration::from_secs_f64(config.import.synced_folder_stable_secs);
    EngineSettings {
        workers: config.import.download_workers,
        backends,
        remove_emptied_folders: config.import.remove_emptied_folders,
        retry: config.import.retry_policy(),
        notify: config.notify.settings().queueing(),
        skip_duplicates: config.import.duplicates == smartimage::config::Duplicates::Skip,
        purge_after_days: config.trash.purge_after_days,
        ..EngineSettings::default()
    }
}

/// One engine pass over every active link, printing one line per event; returns the summary
/// and the links that failed.
pub fn run_once_printing(
    library: Library,
    settings: EngineSettings,
    only: Option<LinkId>,
) -> Result<(PassSummary, Vec<(String, String)>), Failure> {
    let rt = runtime()?;
    let (engine, printer) = start_printing(library, settings).map_err(NotStarted::into_failure)?;
    let result = rt
        .block_on(engine.run_once(only))
        .map_err(|e| Failure::runtime(e.to_string()));
    drop(engine);
    drop(rt);
    let _ = printer.join();
    result
}

pub fn import(cx: Context, config: &Config, watch: bool, account: Option<&str>) -> Outcome {
    let actor = cx.actor()?;
    let only = match account {
        Some(name) => {
            let account = cx.library.account(name)?;
            actor.check(smartimage::library::permissions::Right::Organise(&account))?;
            let link = links::live_link_of(cx.library.store().connection(), account.id)
                .map_err(|e| Failure::runtime(e.to_string()))?
                .ok_or_else(|| {
                    Failure::usage(format!(
                        "{name:?} is not linked to Dropbox; link it first (smartimage link)"
                    ))
                })?;
            Some(link.id)
        }
        None => None,
    };
    let Context { mut library, .. } = cx;
    if !watch {
        let data_dir = library.data_dir().to_path_buf();
        let since_ms = super::notifying::now_ms();
        let (summary, problems) = if EngineLock::is_held(library.data_dir()) {
            // The running engine's sender delivers what its pass queues.
            pass_by_running_engine(&mut library, &actor, account, only)?
        } else {
            let settings = EngineSettings {
                mode: "once".into(),
                ..engine_settings(config)
            };
            let ran = run_once_printing(library, settings, only)?;
            super::notifying::deliver_after_once(&data_dir, config, since_ms);
            ran
        };
        println!("{}", summary_line(&summary));
        if problems.is_empty() {
            return Ok(());
        }
        let list: Vec<String> = problems.iter().map(|(a, d)| format!("{a}: {d}")).collect();
        return Err(Failure::runtime(format!(
            "some links could not be imported: {}",
            list.join("; ")
        )));
    }
    let rt = runtime()?;
    let data_dir = library.data_dir().to_path_buf();
    let mut library = Some(library);
    let started = rt.block_on(async {
        let mut stop = StopSignals::listen()?;
        let mut standby_told = false;
        loop {
            // Standby ends in a new try with a fresh library: a start that failed consumed it.
            let library = match library.take() {
                Some(library) => library,
                None => super::open_library(&data_dir, config)?,
            };
            match start_printing(library, engine_settings(config)) {
                Ok(started) => return Ok(Some((started, stop))),
                Err(NotStarted::Failed(failure)) => return Err(failure),
                Err(NotStarted::Held(holder)) => {
                    if !std::mem::replace(&mut standby_told, true) {
                        say(&standby_line(&holder));
                    }
                    let _standby = super::open_library(&data_dir, config)
                        .ok()
                        .and_then(|library| StandbyRow::publish(library, "watch"));
                    tokio::select! {
                        _ = EngineLock::wait_until_free(&data_dir, STANDBY_POLL) => {}
                        _ = stop.recv() => return Ok(None),
                    }
                }
            }
        }
    })?;
    let Some(((engine, printer), mut stop)) = started else {
        return Ok(());
    };
    rt.block_on(async move {
        let engine = std::sync::Arc::new(engine);
        let (commands_tx, commands_rx) = tokio::sync::mpsc::unbounded_channel();
        let stopper = commands_tx.clone();
        tokio::spawn(async move {
            stop.recv().await;
            say("stopping: finishing files in flight…");
            let _ = stopper.send(EngineCommand::Shutdown);
        });
        say("watching linked Dropbox folders; Ctrl-C stops");
        // Notifications go out beside the engine, never in its way.
        let sender = super::notifying::spawn_sender(&data_dir, config);
        engine.watch(commands_rx).await;
        drop(commands_tx);
        if let Some(stop) = sender {
            let _ = stop.send(true);
        }
    });
    drop(rt);
    let _ = printer.join();
    Ok(())
}

/// How often `import --once` looks at the pass it asked of a running engine.
const ASKED_PASS_POLL: std::time::Duration = std::time::Duration::from_millis(200);

/// `import --once` while another engine runs on the library: ask that engine for a pass (a
/// durable command), print what it does as it goes (from the store's event log), and return
/// its summary — instead of failing because the library is taken.
fn pass_by_running_engine(
    library: &mut Library,
    actor: &smartimage::library::permissions::Actor,
    account: Option<&str>,
    only: Option<LinkId>,
) -> Result<(PassSummary, Vec<(String, String)>), Failure> {
    use smartimage::import::engine::PassOutcome;
    use smartimage::library::store::engine_commands::CommandKind;
    use smartimage::library::store::engine_events;

    let mut seen = engine_events::last_seq(library.store().connection())
        .map_err(|e| Failure::runtime(e.to_string()))?;
    let id = library.command_engine(actor, CommandKind::Pass, account)?;
    println!(
        "another engine runs on this library: it was asked for a pass (command {id}); its work follows"
    );
    let mut printer = EventPrinter::for_stdout();
    let mut free_since: Option<std::time::Instant> = None;
    loop {
        std::thread::sleep(ASKED_PASS_POLL);
        let rows = engine_events::since(library.store().connection(), seen, 10_000)
            .map_err(|e| Failure::runtime(e.to_string()))?;
        for row in &rows {
            seen = row.seq;
            if only.is_some() && row.link != only {
                continue;
            }
            if let Some(event) = smartimage::import::feed::to_event(row) {
                printer.print(&event);
            }
        }
        printer.flush();
        let command = library.engine_command(id)?.ok_or_else(|| {
            Failure::runtime(format!(
                "the pass asked of the engine (command {id}) vanished"
            ))
        })?;
        if matches!(command.state.as_str(), "done" | "failed") {
            printer.finish();
            let outcome: PassOutcome = command
                .outcome
                .as_deref()
                .and_then(|text| serde_json::from_str(text).ok())
                .unwrap_or_default();
            return Ok((outcome.summary, outcome.problems));
        }
        // The engine went away before taking it: the command stays for the next engine.
        if EngineLock::is_held(library.data_dir()) {
            free_since = None;
        } else if free_since
            .get_or_insert_with(std::time::Instant::now)
            .elapsed()
            > std::time::Duration::from_secs(3)
        {
            printer.finish();
            return Err(Failure::runtime(format!(
                "the engine stopped before it finished the pass (command {id} waits for the next engine); run `smartimage import --once` again"
            )));
        }
    }
}

/// A line to stdout that never panics: after a hang-up the terminal is gone and writes fail,
/// and the stop that follows must still happen.
fn say(line: &str) {
    let _ = writeln!(std::io::stdout(), "{line}");
}

/// What `import --watch` and `serve` say, once, while another engine holds the library.
pub fn standby_line(holder: &str) -> String {
    format!(
        "standby: another engine holds this library ({}); taking over when it stops",
        escape_for_terminal(holder)
    )
}

/// Why an engine did not start: another one holds the library (wait in standby), or a failure.
pub enum NotStarted {
    Held(String),
    Failed(Failure),
}

impl NotStarted {
    fn into_failure(self) -> Failure {
        match self {
            NotStarted::Held(holder) => Failure::runtime(LockError::Held { holder }.to_string()),
            NotStarted::Failed(failure) => failure,
        }
    }
}

/// Start the engine on `library`: take the engine lock and recover from any crash.
pub fn start_engine(
    library: Library,
    settings: EngineSettings,
    events: UnboundedSender<EngineEvent>,
) -> Result<(ImportEngine, RecoveryReport), NotStarted> {
    ImportEngine::start(library, settings, events).map_err(|e| match e {
        EngineError::Lock(LockError::Held { holder }) => NotStarted::Held(holder),
        other => NotStarted::Failed(Failure::runtime(other.to_string())),
    })
}

/// Start the engine (recovering from any crash) with a thread printing its events.
fn start_printing(
    library: Library,
    settings: EngineSettings,
) -> Result<(ImportEngine, std::thread::JoinHandle<()>), NotStarted> {
    let (events_tx, mut events_rx) = tokio::sync::mpsc::unbounded_channel();
    let (engine, recovery) = start_engine(library, settings, events_tx)?;
    print_recovery(&recovery);
    let printer = std::thread::spawn(move || {
        let mut printer = EventPrinter::for_stdout();
        while let Some(event) = events_rx.blocking_recv() {
            printer.print(&event);
            // Print the whole burst, then flush once.
            while let Ok(event) = events_rx.try_recv() {
                printer.print(&event);
            }
            printer.flush();
            // Let the next burst gather: events sent while this thread sleeps wake nobody,
            // so thousands of small files do not each pay for waking the printer.
            std::thread::sleep(PRINT_GATHER);
        }
        printer.finish();
    });
    Ok((engine, printer))
}

fn print_recovery(recovery: &RecoveryReport) {
    for line in recovery_lines(recovery) {
        say(&line);
    }
}

/// What start-up recovery did, in sentences (none when there was nothing to mend).
pub fn recovery_lines(recovery: &RecoveryReport) -> Vec<String> {
    let mut lines = Vec::new();
    if recovery.blob_cleanup_postponed {
        lines.push(
            "an upload is writing to this library: leftover temp files and released blobs are cleaned up at the next start".to_owned(),
        );
    }
    if recovery.export_temp_files_removed > 0 {
        lines.push(format!(
            "removed {} temp file(s) an interrupted export left in Dropbox",
            recovery.export_temp_files_removed
        ));
    }
    let cleaned = RecoveryReport {
        blob_cleanup_postponed: false,
        export_temp_files_removed: 0,
        ..recovery.clone()
    };
    if cleaned != Default::default() {
        lines.push(format!(
            "recovered from an interrupted run: {} temp file(s) removed, {} download(s) requeued, {} quota reservation(s) released, {} released blob(s) collected",
            recovery.temp_files_removed,
            recovery.interrupted_requeued,
            recovery.reservations_released,
            recovery.blobs_collected
        ));
    }
    lines
}

/// The signals that stop a watching engine: Ctrl-C, SIGTERM, and SIGHUP — a dropped SSH
/// session hangs up, and an engine left without its terminal must stop cleanly, not die
/// mid-file. Listened to from creation, so none of them kills the process in between.
pub struct StopSignals {
    interrupt: Signal,
    terminate: Signal,
    hangup: Signal,
}

impl StopSignals {
    /// Must be called inside the runtime.
    pub fn listen() -> Result<StopSignals, Failure> {
        let listen = |kind: SignalKind| {
            signal(kind).map_err(|e| Failure::runtime(format!("cannot listen for signals: {e}")))
        };
        Ok(StopSignals {
            interrupt: listen(SignalKind::interrupt())?,
            terminate: listen(SignalKind::terminate())?,
            hangup: listen(SignalKind::hangup())?,
        })
    }

    pub async fn recv(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
            _ = self.hangup.recv() => {}
        }
    }
}

#[derive(Serialize)]
struct FailureJson<'a> {
    id: ItemId,
    account: &'a str,
    path: &'a str,
    size: u64,
    kind: &'a str,
    format: Option<&'a str>,
    detail: &'a str,
    attempts: u32,
    reported: bool,
    failed_at: String,
    /// `failed` (refused, or failing persistently: in the customer's report), `retrying`
    /// (tried again automatically from `next_attempt_at`) or `queued_for_retry` (an admin's
    /// retry, taken by the engine that runs).
    state: &'a str,
    next_attempt_at: Option<String>,
}

pub fn errors(
    library: &Library,
    cx_actor: &smartimage::library::permissions::Actor,
    account: Option<&str>,
    as_json: bool,
) -> Outcome {
    let failures = library.import_failures(cx_actor, account)?;
    let shaped: Vec<FailureJson<'_>> = failures
        .iter()
        .map(|f| FailureJson {
            id: f.id,
            account: &f.account,
            path: &f.path,
            size: f.size,
            kind: f.kind.as_str(),
            format: f.format.as_deref(),
            detail: &f.detail,
            attempts: f.attempts,
            reported: f.reported,
            failed_at: timestamp(f.updated_at),
            state: f.state.as_str(),
            next_attempt_at: f.next_attempt_at.map(timestamp),
        })
        .collect();
    if as_json {
        return json(&shaped);
    }
    let rows: Vec<Vec<String>> = shaped
        .iter()
        .map(|f| {
            vec![
                f.id.to_string(),
                f.failed_at.clone(),
                f.account.to_owned(),
                f.path.to_owned(),
                f.kind.to_owned(),
                match (f.state, &f.next_attempt_at) {
                    ("retrying", Some(at)) => format!("retrying {at}"),
                    ("queued_for_retry", _) => "queued for retry".to_owned(),
                    (state, _) => state.to_owned(),
                },
                f.detail.to_owned(),
            ]
        })
        .collect();
    table(
        &[
            "ID",
            "WHEN (UTC)",
            "ACCOUNT",
            "FILE",
            "ERROR",
            "STATE",
            "DETAIL",
        ],
        &rows,
    );
    Ok(())
}

pub fn retry(cx: &mut Context, account: Option<&str>, items: &[ItemId]) -> Outcome {
    let actor = cx.actor()?;
    let n = cx.library.retry_failures(&actor, account, items)?;
    println!(
        "{n} failed import(s) queued again (queued for retry); a running engine (`smartimage import --watch`, the console) takes them within seconds, else the next `smartimage import`"
    );
    Ok(())
}
