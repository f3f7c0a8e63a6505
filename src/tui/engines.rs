//! What the console does about the import engine that runs — its own or another process's:
//! the rows the follower read, the history it replays on opening, a change any process made,
//! hosting on request, and commands given through the store. Pure, like the rest of `App`.

use crate::library::store::engine_commands::CommandKind;

/// How a command given through the store stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandUpdate {
    /// In the store, waiting for the engine that runs (or the next one).
    Asked(CommandKind),
    /// The engine took it and said how it ended.
    Done {
        kind: CommandKind,
        ok: bool,
        outcome: String,
    },
    /// It could not be given (a right, the library).
    Refused(CommandKind, String),
}

/// The status line while an engine asked for with the host key starts.
pub(crate) const HOSTING_ASKED: &str = "starting the import engine in this console…";
