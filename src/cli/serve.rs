//! `smartimage serve`: the import engine as a long-lived service (systemd, or any supervisor).
//! It logs to stderr (`log.rs`), speaks the systemd notify protocol (`notify.rs`, `status.rs`),
//! stops cleanly on SIGTERM/SIGINT, reloads the config on SIGHUP (`reload.rs`) and waits in
//! standby while another engine holds the library. `--systemd-unit` prints its unit (`unit.rs`).

mod log;
mod notify;
mod reload;
mod status;
mod unit;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use smartimage::config::Config;
use smartimage::import::engine::ImportEngine;
use smartimage::import::events::EngineCommand;
use smartimage::import::lock::{EngineLock, STANDBY_POLL};
use smartimage::library::store::links::{self, LinkState};
use smartimage::terminal_text::escape_for_terminal;
use tokio::signal::unix::{Signal, SignalKind, signal};

use status::{Phase, ServiceStatus};

use smartimage::import::standby::StandbyRow;

use super::importing::{NotStarted, engine_settings, recovery_lines, standby_line, start_engine};
use super::linking::runtime;
use super::{Failure, Outcome, open_library};

/// After SIGTERM, files in flight get this long to finish (systemd's `TimeoutStopSec` is
/// longer); past it the service exits anyway: the engine is crash safe, and what was in flight
/// is finished at the next start.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// How often the status line's link count is read again (links are linked, paused and
/// resumed by other processes, without telling this one).
const STATUS_REFRESH: Duration = Duration::from_secs(2);
/// At the end, the last events get this long to be logged (an engine cut off at `STOP_GRACE`
/// may still hold a sender, so the log cannot wait for every sender to go).
const LOG_DRAIN: Duration = Duration::from_secs(1);

pub fn serve(
    data_dir: &Path,
    config_path: Option<&Path>,
    config: Config,
    systemd_unit: bool,
    user: Option<String>,
) -> Outcome {
    if systemd_unit {
        return unit::print(data_dir, config_path, &config, user);
    }
    log::init();
    let rt = runtime()?;
    let outcome = rt.block_on(Service::new(data_dir, config_path, config).run());
    // An engine cut off at `STOP_GRACE` may have blocking work left; it is crash safe.
    rt.shutdown_timeout(LOG_DRAIN);
    // A failure is printed by `main`, on stderr like the log.
    outcome
}

/// What a signal asks of the service.
enum Request {
    Stop,
    Reload,
}

/// SIGTERM and SIGINT stop the service, SIGHUP reloads its config. Listened to from the start,
/// so none of them kills the process with files in flight.
struct Requests {
    terminate: Signal,
    interrupt: Signal,
    hangup: Signal,
}

impl Requests {
    fn listen() -> Result<Requests, Failure> {
        let listen = |kind: SignalKind| {
            signal(kind).map_err(|e| Failure::runtime(format!("cannot listen for signals: {e}")))
        };
        Ok(Requests {
            terminate: listen(SignalKind::terminate())?,
            interrupt: listen(SignalKind::interrupt())?,
            hangup: listen(SignalKind::hangup())?,
        })
    }

    async fn recv(&mut self) -> Request {
        tokio::select! {
            _ = self.terminate.recv() => Request::Stop,
            _ = self.interrupt.recv() => Request::Stop,
            _ = self.hangup.recv() => Request::Reload,
        }
    }
}

struct Service<'a> {
    data_dir: &'a Path,
    config_path: Option<&'a Path>,
    config: Config,
    status: Arc<Mutex<ServiceStatus>>,
    ready_sent: bool,
    /// `reloaded the configuration: …`, told once the engine runs again (or waits in standby).
    reloaded: Option<String>,
}

/// How a running engine ended.
enum Next {
    Stop,
    Restart(Box<Config>),
}

impl<'a> Service<'a> {
    fn new(data_dir: &'a Path, config_path: Option<&'a Path>, config: Config) -> Service<'a> {
        Service {
            data_dir,
            config_path,
            config,
            status: Arc::new(Mutex::new(ServiceStatus::new())),
            ready_sent: false,
            reloaded: None,
        }
    }

    async fn run(mut self) -> Outcome {
        let mut requests = Requests::listen()?;
        let _watchdog = notify::spawn_watchdog();
        let (events_tx, events_rx) = tokio::sync::mpsc::unbounded_channel();
        let event_log = tokio::spawn(log::log_events(events_rx, self.status.clone()));
        let outcome = loop {
            let engine = match self.take_engine(&mut requests, &events_tx).await {
                Ok(Some(engine)) => Arc::new(engine),
                Ok(None) => break Ok(()),
                Err(failure) => break Err(failure),
            };
            let next = self.watch(engine, &mut requests).await;
            match next {
                Next::Stop => break Ok(()),
                Next::Restart(new) => {
                    self.reloaded = Some(reload::reloaded_line(&self.config, &new));
                    self.config = *new;
                }
            }
        };
        // Every engine is gone; the last events are logged before the process ends.
        drop(events_tx);
        let _ = tokio::time::timeout(LOG_DRAIN, event_log).await;
        if outcome.is_ok() {
            tracing::info!("stopped");
        }
        outcome
    }

    /// Start the engine, in standby while another one holds the library. `None`: asked to
    /// stop first.
    async fn take_engine(
        &mut self,
        requests: &mut Requests,
        events: &tokio::sync::mpsc::UnboundedSender<smartimage::import::events::EngineEvent>,
    ) -> Result<Option<ImportEngine>, Failure> {
        self.set_phase(Phase::Starting);
        let mut standby_told = false;
        loop {
            let library = open_library(self.data_dir, &self.config)?;
            let settings = smartimage::import::engine::EngineSettings {
                mode: "serve".into(),
                ..engine_settings(&self.config)
            };
            // Recovery is blocking work; it is short, but other tasks (the watchdog) go on.
            let started =
                tokio::task::block_in_place(|| start_engine(library, settings, events.clone()));
            match started {
                Ok((engine, recovery)) => {
                    for line in recovery_lines(&recovery) {
                        tracing::info!("{line}");
                    }
                    self.tell_reloaded();
                    return Ok(Some(engine));
                }
                Err(NotStarted::Failed(failure)) => return Err(failure),
                Err(NotStarted::Held(holder)) => {
                    if !std::mem::replace(&mut standby_told, true) {
                        self.tell_reloaded();
                        tracing::info!("{}", standby_line(&holder));
                    }
                    self.set_phase(Phase::Standby(escape_for_terminal(&holder).into_owned()));
                    self.tell_ready();
                    // Seen by `status` and every console while it waits; withdrawn on leaving.
                    let _standby = open_library(self.data_dir, &self.config)
                        .ok()
                        .and_then(|library| StandbyRow::publish(library, "serve"));
                    loop {
                        tokio::select! {
                            _ = EngineLock::wait_until_free(self.data_dir, STANDBY_POLL) => break,
                            request = requests.recv() => match request {
                                Request::Stop => {
                                    self.set_phase(Phase::Stopping);
                                    notify::stopping();
                                    return Ok(None);
                                }
                                // Taken up now; the engine starts with it when the lock frees.
                                Request::Reload => if let Some(new) = self.read_config() {
                                    tracing::info!("{}", reload::reloaded_line(&self.config, &new));
                                    self.config = new;
                                },
                            },
                        }
                    }
                }
            }
        }
    }

    /// Run `engine` until a signal stops it or asks for a reload; either way it is shut down
    /// cleanly (files in flight finish) before this returns.
    async fn watch(&mut self, engine: Arc<ImportEngine>, requests: &mut Requests) -> Next {
        self.refresh_links(&engine);
        self.set_phase(Phase::Watching);
        self.tell_ready();
        tracing::info!("watching linked Dropbox folders");
        let (commands_tx, commands_rx) = tokio::sync::mpsc::unbounded_channel();
        let mut watching = tokio::spawn(engine.clone().watch(commands_rx));
        // Notifications go out beside the engine, with the settings it runs with.
        let _sender = super::notifying::spawn_sender(self.data_dir, &self.config);
        let mut refresh = tokio::time::interval(STATUS_REFRESH);
        let next = loop {
            tokio::select! {
                request = requests.recv() => match request {
                    Request::Stop => break Next::Stop,
                    Request::Reload => if let Some(new) = self.read_config() {
                        break Next::Restart(Box::new(new));
                    },
                },
                _ = refresh.tick() => self.refresh_links(&engine),
                _ = &mut watching => {
                    // The engine stops only when told to; should it ever end by itself, a
                    // supervisor's restart is the way back.
                    tracing::error!("the import engine stopped by itself; restarting it");
                    super::notifying::engine_stopped_unexpectedly(self.data_dir, &self.config);
                    return Next::Restart(Box::new(self.config.clone()));
                }
            }
        };
        match next {
            Next::Stop => {
                self.set_phase(Phase::Stopping);
                notify::stopping();
                tracing::info!("stopping: finishing files in flight…");
            }
            Next::Restart(_) => {
                self.set_phase(Phase::Reloading);
                notify::reloading();
                // systemd waits for READY=1 again after RELOADING=1.
                self.ready_sent = false;
                tracing::info!(
                    "reloading the configuration: finishing files in flight, then restarting the engine"
                );
            }
        }
        let _ = commands_tx.send(EngineCommand::Shutdown);
        match next {
            Next::Stop => {
                if tokio::time::timeout(STOP_GRACE, &mut watching)
                    .await
                    .is_err()
                {
                    tracing::warn!(
                        "files still in flight after {} s; stopping anyway (they are finished at the next start)",
                        STOP_GRACE.as_secs()
                    );
                    watching.abort();
                }
            }
            // A restart waits for the engine to be gone: its lock must be free to start again.
            Next::Restart(_) => {
                let _ = (&mut watching).await;
            }
        }
        next
    }

    /// The config file read again; `None` (and one error line) when it is not valid, and the
    /// settings in use stay.
    fn read_config(&self) -> Option<Config> {
        match Config::load(self.config_path) {
            Ok(config) => Some(config),
            Err(error) => {
                tracing::error!(
                    "cannot reload the configuration; keeping the settings in use: {}",
                    escape_for_terminal(&error.to_string())
                );
                None
            }
        }
    }

    fn refresh_links(&self, engine: &ImportEngine) {
        // Never wait on the engine's library: a busy engine just keeps the last count.
        let library = engine.library();
        let count = match library.try_lock() {
            Ok(library) => links::live_links(library.store().connection())
                .map(|live| live.iter().filter(|l| l.state == LinkState::Active).count())
                .ok(),
            Err(_) => None,
        };
        if let Ok(mut status) = self.status.lock() {
            if let Some(count) = count {
                status.set_active_links(count);
            }
            status.publish(false);
        }
    }

    fn tell_reloaded(&mut self) {
        if let Some(line) = self.reloaded.take() {
            tracing::info!("{line}");
        }
    }

    fn set_phase(&self, phase: Phase) {
        if let Ok(mut status) = self.status.lock() {
            status.set_phase(phase);
        }
    }

    /// READY=1, once: the service is up (watching, or in standby).
    fn tell_ready(&mut self) {
        if std::mem::replace(&mut self.ready_sent, true) {
            return;
        }
        if let Ok(status) = self.status.lock() {
            notify::ready(&status.line());
        }
    }
}
