//! The one loop: terminal input, engine events, library reads and a slow tick all arrive as
//! [`AppEvent`]s on one channel. Drain what is pending, update state, draw once if something
//! changed — at most [`FRAME`] apart, never while idle.

use std::time::{Duration, Instant};

use crossterm::event::{Event, EventStream, KeyEventKind};
use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use tokio::sync::mpsc::{self, UnboundedSender};

use crate::export::ExportEvent;
use crate::import::events::EngineEvent;
use crate::import::upload::{self, UploadPreview};
use crate::library::store::engine_commands::CommandKind;

use super::actions::{self, ApiLinkSessions, ConsoleAction};
use super::all_files::FilesReply;
use super::all_files::worker::{FilesWorker, WorkerOptions};
use super::app::{App, Effect, EngineStatus, LibraryView};
use super::engines::CommandUpdate;
use super::error::ConsoleError;
use super::follow::{self, FollowOptions, Followed};
use super::host::{HostEvent, Hosted};
use super::sending::{self, SendDone, SendJob};
use super::terminal::{ConsoleTerminal, TerminalGuard};
use super::theme::Theme;
use super::{ConsoleOptions, layout, load_view};
use super::{paste_paths, path_completion};

/// Shortest gap between two frames (~30 fps).
pub const FRAME: Duration = Duration::from_millis(33);
/// The slow tick, for countdowns.
pub const TICK: Duration = Duration::from_secs(1);
/// How long quitting waits for the engine to finish what is in flight.
pub const SHUTDOWN_WAIT: Duration = super::host::SHUTDOWN_WAIT;

pub enum AppEvent {
    Input(Event),
    /// An event of this console's own work (a direct upload); engines' come `Followed`.
    Engine(EngineEvent),
    /// The engine this console hosts started, failed to, or stopped.
    Host(HostEvent),
    /// What the store follower saw (any engine's events, the engine rows, a change).
    Followed(Followed),
    /// A command given to the engine through the store moved on.
    Command(CommandUpdate),
    Refreshed(Result<LibraryView, ConsoleError>),
    Tick,
    /// The link-folder field's Tab completion.
    PathCompleted {
        asked: String,
        completion: path_completion::Completion,
    },
    /// SIGTERM or SIGHUP: quit as if `q` was pressed.
    Terminate,
    /// An account action or retry finished.
    ActionDone {
        action: ConsoleAction,
        outcome: Result<String, ConsoleError>,
    },
    /// The authorize page of an API link is ready (or why not).
    ApiLinkStarted {
        account: String,
        url: Result<String, ConsoleError>,
    },
    /// All Files' worker answered.
    Files(FilesReply),
    /// An event of the send to Dropbox (or share) under way.
    Sending(ExportEvent),
    /// The send (or share) ended.
    SendDone {
        job: SendJob,
        outcome: Result<SendDone, String>,
    },
    /// The Upload… field's completion and count, for the text `asked`.
    UploadLookedUp {
        asked: String,
        value: String,
        candidates: Vec<String>,
        preview: Result<UploadPreview, String>,
    },
}

/// `welcome`: a first-run notice shown over the panes (the demo says where its Dropbox is).
pub async fn run(options: ConsoleOptions, welcome: Option<(String, String)>) -> anyhow::Result<()> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let label = options.data_dir.display().to_string();
    let mut app = App::new(label, options.admin_label.clone(), Theme::from_env());
    app.keymap = options.keymap.clone();
    app.files.purge_after_days = options.engine.purge_after_days;
    if let Some((title, text)) = welcome {
        app.dialog = Some(super::dialogs::Dialog::notice(&title, text));
    }
    let sessions = ApiLinkSessions::default();
    let (guard, mut terminal) = TerminalGuard::enter()?;
    // Before input is read: the question goes to the terminal itself.
    if let Some(picker) = super::all_files::preview::terminal_picker() {
        app.files.picker = picker;
    }

    spawn_input(tx.clone());
    spawn_tick(tx.clone());
    spawn_signals(tx.clone());
    let mut generation = 1;
    let mut hosted = Some(host(&options, generation, true, &tx));
    spawn_follower(&options, tx.clone())?;
    let mut refresher = Refresher::default();
    refresher.request(&options, &tx);
    let files_worker = spawn_files_worker(&options, tx.clone())?;
    for effect in app.files_start() {
        if let Effect::Files(request) = effect {
            files_worker.send(request);
        }
    }

    let mut last_frame: Option<Instant> = None;
    let mut gate = FrameGate::default();
    'running: loop {
        let wait = next_frame_in(&app, last_frame);
        if app.dirty && wait.is_zero() {
            if gate.changed(&terminal, &app) {
                draw(&mut terminal, &app)?;
                last_frame = Some(Instant::now());
            }
            app.dirty = false;
        }
        let first = if app.dirty {
            tokio::select! {
                ev = rx.recv() => ev,
                _ = tokio::time::sleep(wait) => continue,
            }
        } else {
            rx.recv().await
        };
        let Some(first) = first else { break };
        let mut pending = vec![first];
        while let Ok(ev) = rx.try_recv() {
            pending.push(ev);
        }
        let screen = terminal
            .size()
            .map(|s| ratatui::layout::Rect::new(0, 0, s.width, s.height))
            .unwrap_or_default();
        let mut effects = vec![];
        for ev in pending {
            match &ev {
                // A report of an earlier hosting (stopped for Ctrl-Z) changes nothing now.
                AppEvent::Host(report)
                    if Some(host_generation(report)) != hosted.as_ref().map(|h| h.generation) =>
                {
                    continue;
                }
                AppEvent::Host(
                    HostEvent::Stopped { .. }
                    | HostEvent::Started {
                        outcome: Err(_), ..
                    },
                ) => hosted = None,
                AppEvent::Refreshed(_) => refresher.done(&options, &tx),
                _ => {}
            }
            for effect in apply(&mut app, ev, screen) {
                // One library read covers every change of the batch.
                if effect != Effect::Refresh || !effects.contains(&effect) {
                    effects.push(effect);
                }
            }
        }
        for effect in effects {
            match effect {
                Effect::Quit => break 'running,
                Effect::Suspend => {
                    // A stopped process would keep the library's engine frozen, lock held:
                    // let it go, so a standby engine takes over; host again after `fg`.
                    let rehost = match hosted.take() {
                        Some(engine) => {
                            stop_hosted(engine, &mut app, &mut terminal).await;
                            true
                        }
                        None => false,
                    };
                    guard.suspend(&mut terminal)?;
                    if app.mouse {
                        set_mouse(true);
                    }
                    gate.forget();
                    app.dirty = true;
                    if rehost {
                        app.engine = EngineStatus::Starting;
                        generation += 1;
                        hosted = Some(host(&options, generation, true, &tx));
                    }
                }
                Effect::Mouse(on) => set_mouse(on),
                Effect::Run(action) => run_action(&options, &sessions, action, &tx),
                Effect::StartApiLink { account } => {
                    start_api_link(&options, &sessions, account, &tx)
                }
                Effect::UploadLookup { text, complete } => upload_lookup(text, complete, &tx),
                Effect::CompletePath(text) => complete_path(text, &tx),
                Effect::Copy(text) => copy_osc52(&text),
                Effect::Send(job) => run_send(&options, job, &tx),
                Effect::Engine(command) => {
                    if let Some(engine) = &hosted {
                        engine.send(command);
                    }
                }
                Effect::HostEngine => {
                    if hosted.is_none() {
                        generation += 1;
                        hosted = Some(host(&options, generation, false, &tx));
                    }
                }
                Effect::AskEngine(kind) => ask_engine(&options, kind, &tx),
                Effect::Refresh => refresher.request(&options, &tx),
                Effect::Files(request) => files_worker.send(request),
            }
        }
    }

    if let Some(engine) = hosted.take() {
        // The terminal may be gone (SSH dropped): the engine still shuts down properly.
        stop_hosted(engine, &mut app, &mut terminal).await;
    }
    drop(terminal);
    drop(guard);
    Ok(())
}

/// Say the engine stops, then stop it (at most [`SHUTDOWN_WAIT`]).
async fn stop_hosted(engine: Hosted, app: &mut App, terminal: &mut ConsoleTerminal) {
    app.engine = EngineStatus::Stopping;
    let _ = draw(terminal, app);
    engine.stop().await;
}

fn host(
    options: &ConsoleOptions,
    generation: u64,
    defer_to_standby: bool,
    tx: &UnboundedSender<AppEvent>,
) -> Hosted {
    let tx = tx.clone();
    Hosted::start(options, generation, defer_to_standby, move |event| {
        let _ = tx.send(AppEvent::Host(event));
    })
}

fn host_generation(event: &HostEvent) -> u64 {
    match event {
        HostEvent::Started { generation, .. } | HostEvent::Stopped { generation } => *generation,
    }
}

fn ask_engine(options: &ConsoleOptions, kind: CommandKind, tx: &UnboundedSender<AppEvent>) {
    let tx = tx.clone();
    super::ask::ask(options, kind, move |update| {
        tx.send(AppEvent::Command(update)).is_ok()
    });
}

fn spawn_follower(options: &ConsoleOptions, tx: UnboundedSender<AppEvent>) -> std::io::Result<()> {
    let options = FollowOptions {
        data_dir: options.data_dir.clone(),
        plans: options.plans.clone(),
        as_admin: options.as_admin.clone(),
        os_user: options.os_user.clone(),
    };
    follow::spawn(options, move |followed| {
        tx.send(AppEvent::Followed(followed)).is_ok()
    })?;
    Ok(())
}

fn set_mouse(on: bool) {
    use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
    let _ = if on {
        crossterm::execute!(std::io::stdout(), EnableMouseCapture)
    } else {
        crossterm::execute!(std::io::stdout(), DisableMouseCapture)
    };
}

/// Run an account action (or a retry) on a blocking thread; the outcome comes back as an event.
fn run_action(
    options: &ConsoleOptions,
    sessions: &ApiLinkSessions,
    action: ConsoleAction,
    tx: &UnboundedSender<AppEvent>,
) {
    let options = options.clone();
    let sessions = sessions.clone();
    let tx = tx.clone();
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        // An upload's files show in the queue and the error log as the engine's do.
        let events = |event| {
            let _ = tx.send(AppEvent::Engine(event));
        };
        let outcome = actions::run(&options, &sessions, &runtime, action.clone(), &events);
        let _ = tx.send(AppEvent::ActionDone { action, outcome });
    });
}

/// Send files to Dropbox (or share) on a blocking thread; progress and the end come back as
/// events.
fn run_send(options: &ConsoleOptions, job: SendJob, tx: &UnboundedSender<AppEvent>) {
    let options = options.clone();
    let tx = tx.clone();
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let events = |event| {
            let _ = tx.send(AppEvent::Sending(event));
        };
        let outcome = sending::run(&options, &runtime, job.clone(), &events);
        let _ = tx.send(AppEvent::SendDone { job, outcome });
    });
}

/// Complete the Upload… field's last path and count what it holds, on a blocking thread.
fn complete_path(text: String, tx: &UnboundedSender<AppEvent>) {
    let tx = tx.clone();
    tokio::task::spawn_blocking(move || {
        let completion = path_completion::complete_folder(&text);
        let _ = tx.send(AppEvent::PathCompleted {
            asked: text,
            completion,
        });
    });
}

/// Put `text` on the clipboard of the terminal's machine: OSC 52, which terminals honour over
/// SSH too (tmux passes it on with `set-clipboard on`). Nothing is read back.
fn copy_osc52(text: &str) {
    use base64::Engine as _;
    use std::io::Write as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    let mut out = std::io::stdout();
    let _ = write!(out, "\x1b]52;c;{encoded}\x07");
    let _ = out.flush();
}

fn upload_lookup(text: String, complete: bool, tx: &UnboundedSender<AppEvent>) {
    let tx = tx.clone();
    tokio::task::spawn_blocking(move || {
        let completion = if complete {
            path_completion::complete(&text)
        } else {
            path_completion::Completion {
                value: text.clone(),
                candidates: vec![],
            }
        };
        let preview = upload::preview(&paste_paths::parse_paths(&completion.value))
            .map_err(|e| e.to_string());
        let _ = tx.send(AppEvent::UploadLookedUp {
            asked: text,
            value: completion.value,
            candidates: completion.candidates,
            preview,
        });
    });
}

/// Make the authorize page of an API link (no I/O), then try a browser off the UI task.
fn start_api_link(
    options: &ConsoleOptions,
    sessions: &ApiLinkSessions,
    account: String,
    tx: &UnboundedSender<AppEvent>,
) {
    let url = actions::start_api_link(options, sessions, &account);
    if let Ok(url) = &url {
        // Not a secret (the PKCE challenge is public), and a place to copy it from over SSH.
        tracing::info!(%account, %url, "Dropbox authorize page for linking");
    }
    if let Ok(url) = &url
        && actions::can_open_a_browser()
    {
        let url = url.clone();
        // Launchers are waited for briefly; never on the UI task.
        tokio::task::spawn_blocking(move || {
            if let Err(e) = open::that_detached(&url) {
                tracing::info!(error = %e, "no browser opened for the Dropbox link");
            }
        });
    }
    let _ = tx.send(AppEvent::ApiLinkStarted { account, url });
}

fn next_frame_in(app: &App, last: Option<Instant>) -> Duration {
    match (app.dirty, last) {
        (true, Some(at)) => (at + FRAME).saturating_duration_since(Instant::now()),
        _ => Duration::ZERO,
    }
}

/// Skips frames that would look exactly like the last one (a refresh that found nothing new),
/// so an idle console writes nothing to a slow SSH link.
#[derive(Default)]
struct FrameGate {
    last: Option<Buffer>,
}

impl FrameGate {
    fn changed(&mut self, terminal: &ConsoleTerminal, app: &App) -> bool {
        let Ok(size) = terminal.size() else {
            return true;
        };
        // The in-memory backend cannot fail.
        let Ok(mut offscreen) = Terminal::new(TestBackend::new(size.width, size.height));
        let Ok(_) = offscreen.draw(|frame| layout::draw(frame, app));
        let frame = offscreen.backend().buffer().clone();
        if self.last.as_ref() == Some(&frame) {
            return false;
        }
        self.last = Some(frame);
        true
    }

    /// The next frame is drawn whatever it holds (the screen was lost, e.g. after `Ctrl-Z`).
    fn forget(&mut self) {
        self.last = None;
    }
}

fn draw(terminal: &mut ConsoleTerminal, app: &App) -> std::io::Result<()> {
    use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
    crossterm::execute!(std::io::stdout(), BeginSynchronizedUpdate)?;
    terminal.draw(|frame| layout::draw(frame, app))?;
    crossterm::execute!(std::io::stdout(), EndSynchronizedUpdate)
}

/// One event into the state; what the loop must do next.
fn apply(app: &mut App, event: AppEvent, screen: ratatui::layout::Rect) -> Vec<Effect> {
    match event {
        AppEvent::Input(Event::Key(key)) if key.kind == KeyEventKind::Press => app.handle_key(key),
        AppEvent::Input(Event::Paste(text)) => app.handle_paste(&text),
        AppEvent::Input(Event::Mouse(mouse)) => {
            let pane = layout::pane_at(screen, app, mouse.column, mouse.row);
            app.handle_mouse(mouse, pane)
        }
        AppEvent::Input(Event::Resize(..)) => {
            app.dirty = true;
            vec![]
        }
        AppEvent::Input(_) => vec![],
        AppEvent::Engine(event) => {
            // Rates need the time each event arrived.
            app.now = Instant::now();
            app.apply_engine(event)
        }
        AppEvent::ActionDone { action, outcome } => app.action_finished(&action, outcome),
        AppEvent::Sending(event) => {
            app.send_progress(event);
            vec![]
        }
        AppEvent::SendDone { job, outcome } => {
            app.send_finished(&job, outcome);
            vec![]
        }
        AppEvent::ApiLinkStarted { account, url } => {
            app.api_link_started(&account, url);
            vec![]
        }
        AppEvent::UploadLookedUp {
            asked,
            value,
            candidates,
            preview,
        } => {
            app.upload_looked_up(&asked, value, candidates, preview);
            vec![]
        }
        AppEvent::Host(HostEvent::Started { outcome, .. }) => app.host_started(outcome),
        AppEvent::Host(HostEvent::Stopped { .. }) => app.host_stopped(),
        AppEvent::Followed(followed) => {
            // Rates need the time each event arrived.
            app.now = Instant::now();
            match followed {
                Followed::History(events) => app.apply_history(events),
                Followed::Events(events) => {
                    let mut effects = vec![];
                    for event in events {
                        effects.extend(app.apply_engine(event));
                    }
                    effects
                }
                Followed::Engines(seen) => app.apply_engines(seen),
                Followed::Changed => app.store_changed(),
                Followed::Notices(trouble) => {
                    app.dirty |= app.notices != trouble;
                    app.notices = trouble;
                    vec![]
                }
            }
        }
        AppEvent::Command(update) => app.command_update(update),
        AppEvent::Refreshed(Ok(view)) => app.apply_view(view),
        AppEvent::Refreshed(Err(why)) => {
            app.last_problem = Some(format!("cannot read the library: {why}"));
            app.dirty = true;
            vec![]
        }
        AppEvent::Tick => {
            app.tick(Instant::now());
            vec![]
        }
        AppEvent::PathCompleted { asked, completion } => {
            app.path_completed(&asked, completion.value, completion.candidates);
            vec![]
        }
        AppEvent::Terminate => vec![Effect::Quit],
        AppEvent::Files(reply) => app.apply_files(reply),
    }
}

/// All Files' reads and writes run on threads of their own (see `all_files/worker.rs`).
fn spawn_files_worker(
    options: &ConsoleOptions,
    tx: UnboundedSender<AppEvent>,
) -> std::io::Result<FilesWorker> {
    FilesWorker::spawn(
        WorkerOptions {
            data_dir: options.data_dir.clone(),
            plans: options.plans.clone(),
            as_admin: options.as_admin.clone(),
            os_user: options.os_user.clone(),
        },
        move |reply| {
            let _ = tx.send(AppEvent::Files(reply));
        },
    )
}

fn spawn_input(tx: UnboundedSender<AppEvent>) {
    tokio::spawn(async move {
        let mut input = EventStream::new();
        while let Some(Ok(event)) = input.next().await {
            if tx.send(AppEvent::Input(event)).is_err() {
                break;
            }
        }
    });
}

fn spawn_tick(tx: UnboundedSender<AppEvent>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tick.tick().await;
            if tx.send(AppEvent::Tick).is_err() {
                break;
            }
        }
    });
}

fn spawn_signals(tx: UnboundedSender<AppEvent>) {
    use tokio::signal::unix::{SignalKind, signal};
    tokio::spawn(async move {
        let (Ok(mut term), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = hup.recv() => {}
        }
        let _ = tx.send(AppEvent::Terminate);
    });
}

/// At most one library read at a time: asked again while one runs, one more follows it.
#[derive(Default)]
struct Refresher {
    running: bool,
    again: bool,
}

impl Refresher {
    fn request(&mut self, options: &ConsoleOptions, tx: &UnboundedSender<AppEvent>) {
        if self.running {
            self.again = true;
            return;
        }
        self.running = true;
        let options = options.clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            let view = tokio::task::spawn_blocking(move || load_view(&options))
                .await
                .map_err(|e| ConsoleError::Read(e.to_string()))
                .and_then(|r| r);
            let _ = tx.send(AppEvent::Refreshed(view));
        });
    }

    /// A read came back.
    fn done(&mut self, options: &ConsoleOptions, tx: &UnboundedSender<AppEvent>) {
        self.running = false;
        if std::mem::take(&mut self.again) {
            self.request(options, tx);
        }
    }
}
