//! Commands to the engine that runs in another process, through the store
//! (`Library::command_engine`: rights checked, audited, durable): given off the UI task, then
//! followed until that engine — or the next one to start — says how it ended.

use std::time::{Duration, Instant};

use crate::library::Library;
use crate::library::store::engine_commands::CommandKind;

use super::ConsoleOptions;
use super::engines::CommandUpdate;

/// How often a command given is looked at (the engine takes commands every second).
const FOLLOW_EVERY: Duration = Duration::from_millis(250);
/// A command no engine took by then stays in the store, unwatched.
const FOLLOW_FOR: Duration = Duration::from_secs(600);

/// Give `kind` for every linked account; `tell` hears how it stands (false: the console is
/// gone, stop looking).
pub fn ask(
    options: &ConsoleOptions,
    kind: CommandKind,
    tell: impl Fn(CommandUpdate) -> bool + Send + 'static,
) {
    let options = options.clone();
    tokio::task::spawn_blocking(move || {
        let given = Library::open_existing(&options.data_dir, options.plans.clone())
            .map_err(|e| e.to_string())
            .and_then(|mut library| {
                let actor = library
                    .actor(options.as_admin.as_deref(), options.os_user.as_deref())
                    .map_err(|e| e.to_string())?;
                let id = library
                    .command_engine(&actor, kind, None)
                    .map_err(|e| e.to_string())?;
                Ok((library, id))
            });
        let (library, id) = match given {
            Ok(given) => given,
            Err(why) => {
                tell(CommandUpdate::Refused(kind, why));
                return;
            }
        };
        if !tell(CommandUpdate::Asked(kind)) {
            return;
        }
        let deadline = Instant::now() + FOLLOW_FOR;
        while Instant::now() < deadline {
            std::thread::sleep(FOLLOW_EVERY);
            let Ok(Some(command)) = library.engine_command(id) else {
                continue;
            };
            if matches!(command.state.as_str(), "done" | "failed") {
                tell(CommandUpdate::Done {
                    kind,
                    ok: command.state == "done",
                    outcome: command.outcome.unwrap_or_default(),
                });
                return;
            }
        }
    });
}
