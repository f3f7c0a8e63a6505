//! Commands to whichever engine runs (migration V9): durable rows, so a command given while
//! no engine runs, or while the engine is busy or restarting, is never lost. An engine takes
//! the pending ones at its next tick (about a second) and records how each ended; a command a
//! dead engine took goes back to pending.

use crate::library::ids::CommandId;
use crate::library::ids::LinkId;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::library::store::processes::ProcessId;

/// What a command asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandKind {
    /// Look at the linked folders now (all, or one link).
    Scan,
    /// One pass over every active link (or one), reported back in `outcome` (`import --once`
    /// while an engine runs).
    Pass,
    /// Failed files were queued for a retry (in the same transaction): wake their link.
    Retry,
    /// Stop the engine (it finishes what is in flight).
    Stop,
}

impl CommandKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CommandKind::Scan => "scan",
            CommandKind::Pass => "pass",
            CommandKind::Retry => "retry",
            CommandKind::Stop => "stop",
        }
    }

    pub fn parse(s: &str) -> Option<CommandKind> {
        Some(match s {
            "scan" => CommandKind::Scan,
            "pass" => CommandKind::Pass,
            "retry" => CommandKind::Retry,
            "stop" => CommandKind::Stop,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Command {
    pub id: CommandId,
    pub at_ms: i64,
    pub actor: String,
    pub kind: CommandKind,
    pub link: Option<LinkId>,
    /// `pending`, `taken`, `done` or `failed`.
    pub state: String,
    pub outcome: Option<String>,
}

/// Done commands older than this are forgotten when a new one is given.
const KEEP_DONE_MS: i64 = 24 * 3600 * 1000;

/// Give a command; returns its id.
pub fn submit(
    c: &Connection,
    actor: &str,
    kind: CommandKind,
    link: Option<LinkId>,
    now_ms: i64,
) -> rusqlite::Result<CommandId> {
    c.execute(
        "DELETE FROM engine_commands WHERE state IN ('done', 'failed') AND done_ms < ?1",
        [now_ms - KEEP_DONE_MS],
    )?;
    c.execute(
        "INSERT INTO engine_commands(at_ms, actor, kind, link) VALUES (?1, ?2, ?3, ?4)",
        params![now_ms, actor, kind.as_str(), link],
    )?;
    Ok(CommandId(c.last_insert_rowid()))
}

/// Take every pending command (and any a process no longer registered took), oldest first.
/// Call it in a write transaction.
pub fn take_pending(c: &Connection, taker: ProcessId) -> rusqlite::Result<Vec<Command>> {
    c.execute(
        "UPDATE engine_commands SET state = 'taken', taken_by = ?1
          WHERE state = 'pending'
             OR (state = 'taken' AND taken_by IS NOT ?1
                 AND taken_by NOT IN (SELECT id FROM processes))",
        [taker],
    )?;
    let mut stmt = c.prepare_cached(
        "SELECT id, at_ms, actor, kind, link, state, outcome FROM engine_commands
          WHERE state = 'taken' AND taken_by = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([taker], command_from_row)?;
    Ok(rows.filter_map(|r| r.ok()).flatten().collect())
}

/// Record how a command ended (`ok`: done, else failed) and what to tell its giver.
pub fn finish(
    c: &Connection,
    id: CommandId,
    ok: bool,
    outcome: &str,
    now_ms: i64,
) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE engine_commands SET state = ?2, outcome = ?3, done_ms = ?4 WHERE id = ?1",
        params![id, if ok { "done" } else { "failed" }, outcome, now_ms],
    )?;
    Ok(())
}

pub fn get(c: &Connection, id: CommandId) -> rusqlite::Result<Option<Command>> {
    Ok(c.query_row(
        "SELECT id, at_ms, actor, kind, link, state, outcome FROM engine_commands WHERE id = ?1",
        [id],
        command_from_row,
    )
    .optional()?
    .flatten())
}

/// Commands no engine has finished yet, oldest first.
pub fn open(c: &Connection) -> rusqlite::Result<Vec<Command>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, at_ms, actor, kind, link, state, outcome FROM engine_commands
          WHERE state IN ('pending', 'taken') ORDER BY id",
    )?;
    let rows = stmt.query_map([], command_from_row)?;
    Ok(rows.filter_map(|r| r.ok()).flatten().collect())
}

fn command_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Option<Command>> {
    let kind: String = r.get(3)?;
    Ok(CommandKind::parse(&kind).map(|kind| Command {
        id: r.get(0).unwrap_or_default(),
        at_ms: r.get(1).unwrap_or_default(),
        actor: r.get(2).unwrap_or_default(),
        kind,
        link: r.get(4).unwrap_or_default(),
        state: r.get(5).unwrap_or_default(),
        outcome: r.get(6).unwrap_or_default(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::store::{Store, processes};

    #[test]
    fn a_command_waits_for_an_engine_and_one_a_dead_engine_took_is_taken_again() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("library.db")).unwrap();
        let id = submit(store.connection(), "bob@x", CommandKind::Scan, None, 1).unwrap();
        assert_eq!(open(store.connection()).unwrap()[0].state, "pending");
        let first = store
            .transaction(|tx| processes::register(tx, "engine", "u", 1))
            .unwrap();
        let taken = store.transaction(|tx| take_pending(tx, first)).unwrap();
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].kind, CommandKind::Scan);
        // The first engine dies with it taken: the next one takes it again.
        processes::deregister(store.connection(), first).unwrap();
        let second = store
            .transaction(|tx| processes::register(tx, "engine", "u", 2))
            .unwrap();
        let again = store.transaction(|tx| take_pending(tx, second)).unwrap();
        assert_eq!(again.iter().map(|c| c.id).collect::<Vec<_>>(), [id]);
        finish(store.connection(), id, true, "scanned", 3).unwrap();
        assert!(open(store.connection()).unwrap().is_empty());
        let done = get(store.connection(), id).unwrap().unwrap();
        assert_eq!(
            (done.state.as_str(), done.outcome.as_deref()),
            ("done", Some("scanned"))
        );
        assert!(
            store
                .transaction(|tx| take_pending(tx, second))
                .unwrap()
                .is_empty()
        );
    }
}
