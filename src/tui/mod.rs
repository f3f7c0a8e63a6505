//! The interactive console (ratatui). It drives the import engine only through its command
//! channel and renders the engine's events; library reads run off the UI task.

pub mod account_list;
pub mod actions;
pub mod all_files;
pub mod app;
pub mod ask;
pub mod dialogs;
pub mod dropbox_queue;
pub mod engine_state;
pub mod engines;
pub mod error;
pub mod error_log;
pub mod event_loop;
pub mod follow;
pub mod help;
pub mod host;
pub mod keymap;
pub mod keymap_config;
pub mod layout;
pub mod logging;
pub mod pane_id;
pub mod panes;
pub mod paste_paths;
pub mod path_completion;
pub mod qr;
pub mod send_progress;
pub mod sending;
pub mod terminal;
pub mod text;
pub mod theme;
pub mod throughput;

use std::collections::HashMap;
use std::path::PathBuf;

use crate::dropbox::sending::SendSettings;
use crate::import::engine::EngineSettings;
use crate::library::Library;
use crate::library::ids::LinkId;
use crate::library::policy::PlanCatalog;

use app::LibraryView;

/// Which library to open, as whom, and how to run its engine.
#[derive(Clone, Debug)]
pub struct ConsoleOptions {
    pub data_dir: PathBuf,
    pub plans: PlanCatalog,
    pub as_admin: Option<String>,
    pub os_user: Option<String>,
    /// The acting admin's email, for the title bar.
    pub admin_label: String,
    pub engine: EngineSettings,
    /// How files are sent to Dropbox (Send and Share in All Files; `[export]` of the config).
    pub send: SendSettings,
    /// The keys in force (`[keys]` of the config file over the defaults).
    pub keymap: keymap_config::Keymap,
}

/// Read what the panes show (blocking: run it with `spawn_blocking`).
pub fn load_view(options: &ConsoleOptions) -> Result<LibraryView, error::ConsoleError> {
    use error::ConsoleError;
    let library = Library::open_existing(&options.data_dir, options.plans.clone())
        .map_err(|e| ConsoleError::OpenLibrary(e.to_string()))?;
    let actor = library
        .actor(options.as_admin.as_deref(), options.os_user.as_deref())
        .map_err(|e| ConsoleError::UnknownAdmin(e.to_string()))?;
    let accounts = library
        .account_summaries(&actor)
        .map_err(|e| ConsoleError::Read(e.to_string()))?;
    let mut link_ids = HashMap::new();
    for a in &accounts {
        if let Ok(Some(link)) = library.live_link_of(a.account.id) {
            link_ids.insert(a.account.name.clone(), link.id);
        }
    }
    let failures = library
        .import_failures(&actor, None)
        .map_err(|e| ConsoleError::Read(e.to_string()))?;
    // An operator sees every link's (relinked ones too); others their accounts' links.
    let visible: Option<Vec<LinkId>> = actor
        .visible_accounts()
        .map(|_| link_ids.values().copied().collect());
    let today = library
        .today_totals(
            visible.as_deref(),
            time::OffsetDateTime::now_utc().unix_timestamp(),
        )
        .map_err(|e| ConsoleError::Read(e.to_string()))?;
    Ok(LibraryView {
        accounts,
        links: link_ids,
        failures,
        actor: Some(actor),
        today,
    })
}

/// After quitting, how long background work (a blocking wait for Dropbox changes, a library
/// read) may take to end before the process leaves without it. Dropping a runtime would
/// otherwise wait for them without limit — and a terminal that went away (SSH dropped) leaves
/// the input reader spinning, so the console must not hang around.
const RUNTIME_SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// Open the console until the admin quits. Restores the terminal however it ends.
pub fn run(options: ConsoleOptions) -> anyhow::Result<()> {
    run_with_welcome(options, None)
}

/// [`run`], with a first-run notice (title, text) over the panes until a key closes it.
pub fn run_with_welcome(
    options: ConsoleOptions,
    welcome: Option<(String, String)>,
) -> anyhow::Result<()> {
    // Before the screen is taken: from here on nothing may print to it.
    let _log = logging::start(&options.data_dir);
    tracing::info!(data_dir = %options.data_dir.display(), admin = %options.admin_label, "console opened");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(event_loop::run(options, welcome));
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN_GRACE);
    match &outcome {
        Ok(()) => tracing::info!("console closed"),
        Err(e) => tracing::error!(error = %e, "console stopped"),
    }
    outcome
}
