//! This console hosting the import engine: started when none runs (on opening, after `fg`,
//! or on the host key), stopped cleanly before quitting or `Ctrl-Z` so the lock is free for a
//! standby engine to take over. What the engine does is shown through the store like any
//! other engine's (`follow.rs`): its in-process events are drained, not rendered twice.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::{self, UnboundedSender};

use crate::import::engine::{EngineError, ImportEngine};
use crate::import::events::EngineCommand;
use crate::import::lock::LockError;
use crate::library::Library;

use super::ConsoleOptions;

/// How long quitting (or `Ctrl-Z`) waits for the engine to finish what is in flight.
pub const SHUTDOWN_WAIT: Duration = Duration::from_secs(10);
/// Tries when the lock looks taken: the follower asks the lock for an instant every second
/// while no engine runs, and may be asking just then.
const LOCK_TRIES: u32 = 3;
const LOCK_RETRY: Duration = Duration::from_millis(40);

/// Why this console does not host the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotHosted {
    /// Another engine holds the library: follow it.
    Taken,
    /// It could not start (why).
    Failed(String),
}

/// What hosting reports, tagged with the hosting it belongs to (a stop's report may arrive
/// after the next hosting started).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostEvent {
    Started {
        generation: u64,
        outcome: Result<(), NotHosted>,
    },
    /// The engine's watch ended (shut down, or a `stop` command).
    Stopped { generation: u64 },
}

/// An engine this console started.
pub struct Hosted {
    pub generation: u64,
    commands: UnboundedSender<EngineCommand>,
    task: tokio::task::JoinHandle<()>,
}

impl Hosted {
    /// Start the engine off the UI task (start-up recovery touches the disk), then let it
    /// watch until shut down.
    /// `defer_to_standby`: hosting that comes by itself (opening, `fg`) leaves the library
    /// to an engine waiting in standby (a service takes over a console's engine, not the
    /// reverse); the host key does not.
    pub fn start(
        options: &ConsoleOptions,
        generation: u64,
        defer_to_standby: bool,
        tell: impl Fn(HostEvent) + Send + Sync + 'static,
    ) -> Hosted {
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let options = options.clone();
        let task = tokio::spawn(async move {
            let started =
                tokio::task::spawn_blocking(move || start_engine(&options, defer_to_standby))
                    .await
                    .unwrap_or_else(|e| Err(NotHosted::Failed(e.to_string())));
            match started {
                Ok(engine) => {
                    tell(HostEvent::Started {
                        generation,
                        outcome: Ok(()),
                    });
                    Arc::new(engine).watch(commands_rx).await;
                    tell(HostEvent::Stopped { generation });
                }
                Err(why) => tell(HostEvent::Started {
                    generation,
                    outcome: Err(why),
                }),
            }
        });
        Hosted {
            generation,
            commands,
            task,
        }
    }

    pub fn send(&self, command: EngineCommand) {
        let _ = self.commands.send(command);
    }

    /// Finish what is in flight and stop, waiting at most [`SHUTDOWN_WAIT`]; the engine
    /// lock goes with the engine.
    pub async fn stop(self) {
        let _ = self.commands.send(EngineCommand::Shutdown);
        let _ = tokio::time::timeout(SHUTDOWN_WAIT, self.task).await;
    }
}

fn start_engine(
    options: &ConsoleOptions,
    defer_to_standby: bool,
) -> Result<ImportEngine, NotHosted> {
    if defer_to_standby && standby_waits(options) {
        return Err(NotHosted::Taken);
    }
    let settings = crate::import::engine::EngineSettings {
        mode: "console".into(),
        ..options.engine.clone()
    };
    let mut tries = 0;
    loop {
        tries += 1;
        let library = Library::open_existing(&options.data_dir, options.plans.clone())
            .map_err(|e| NotHosted::Failed(e.to_string()))?;
        // The console renders the store's log (its own engine's included): these go unread.
        let (events, mut drained) = mpsc::unbounded_channel();
        tokio::spawn(async move { while drained.recv().await.is_some() {} });
        match ImportEngine::start(library, settings.clone(), events) {
            Ok((engine, _recovery)) => return Ok(engine),
            Err(EngineError::Lock(LockError::Held { .. })) if tries < LOCK_TRIES => {
                std::thread::sleep(LOCK_RETRY)
            }
            Err(EngineError::Lock(LockError::Held { .. })) => return Err(NotHosted::Taken),
            Err(e) => return Err(NotHosted::Failed(e.to_string())),
        }
    }
}

/// Is an engine waiting in standby (fresh) to take the library?
fn standby_waits(options: &ConsoleOptions) -> bool {
    let Ok(library) = Library::open_existing(&options.data_dir, options.plans.clone()) else {
        return false;
    };
    let now = crate::import::publish::now_ms();
    library
        .engine_rows()
        .map(|rows| {
            rows.iter()
                .any(|row| row.published.state == "standby" && row.is_fresh(now))
        })
        .unwrap_or(false)
}
