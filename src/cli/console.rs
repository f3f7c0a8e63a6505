//! No subcommand: the interactive console on the library, as the acting admin.

use std::path::Path;

use smartimage::config::Config;
use smartimage::tui::{self, ConsoleOptions};

use super::importing::engine_settings;
use super::{Failure, Outcome, current_os_user, open_library};

/// The console on the library at `data_dir` (no subcommand).
pub fn open(data_dir: &Path, config: &Config, as_admin: Option<String>) -> Outcome {
    // A bad [keys] entry is a config error wherever the console is started from.
    keymap(config)?;
    if !on_a_terminal() {
        return Err(Failure::usage(
            "the console needs a terminal; run `smartimage --help` for the headless verbs",
        ));
    }
    open_with(data_dir, config, as_admin, engine_settings(config), None)
}

pub fn on_a_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::io::stdin().is_terminal()
}

/// Open the console with these engine settings. The library and the admin are checked before
/// the screen is taken over, so such errors print like any verb's.
pub fn open_with(
    data_dir: &Path,
    config: &Config,
    as_admin: Option<String>,
    engine: smartimage::import::engine::EngineSettings,
    welcome: Option<(String, String)>,
) -> Outcome {
    // A bad [keys] entry is refused before the screen is taken, naming the key.
    let keymap = keymap(config)?;
    let library = open_library(data_dir, config)?;
    let os_user = current_os_user();
    let actor = library.actor(as_admin.as_deref(), os_user.as_deref())?;
    drop(library);
    // Notifications go out beside the console's engine, on a thread of their own.
    let _sender = ConsoleSender::start(data_dir, config);
    tui::run_with_welcome(
        ConsoleOptions {
            data_dir: data_dir.to_path_buf(),
            plans: config.plans(),
            as_admin,
            os_user,
            admin_label: actor.admin.email.clone(),
            engine,
            send: config.export.send_settings(),
            keymap,
        },
        welcome,
    )
    .map_err(|e| Failure::runtime(format!("the console stopped: {e}")))
}

/// The keys in force: the defaults with the config file's `[keys]`, or what is wrong with them.
fn keymap(config: &Config) -> Result<tui::keymap_config::Keymap, Failure> {
    tui::keymap_config::Keymap::with_overrides(&config.key_overrides())
        .map_err(|e| Failure::usage(format!("the config file's {e}")))
}

/// The console's notification sender: its own thread and runtime, so the console is left as it
/// is; stopped (and joined briefly) when the console closes. Failures go to the console's log.
struct ConsoleSender {
    stop: Option<tokio::sync::watch::Sender<bool>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ConsoleSender {
    fn start(data_dir: &Path, config: &Config) -> Option<ConsoleSender> {
        let settings = config.notify.settings();
        if !settings.enabled() {
            return None;
        }
        let database = data_dir.join(smartimage::library::actions::DATABASE_FILE);
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let thread = std::thread::Builder::new()
            .name("notify-sender".into())
            .spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(smartimage::notify::Sender::new(&database, settings).run(stop_rx));
            })
            .ok()?;
        Some(ConsoleSender {
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }
}

impl Drop for ConsoleSender {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        // A send in flight is left to finish on its own: the outbox gives a dead claim back.
        drop(self.thread.take());
    }
}
