//! What each engine is doing, published once a second beside its row in the registry of live
//! processes (migration V9): consoles and `smartimage status` read it to say whose engine runs,
//! what is in flight and how fast, and see a stale heartbeat when an engine dies or hangs.

use crate::library::ids::{ItemId, LinkId};
use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};

use crate::library::liveness::{self, ProcessIdentity};
use crate::library::store::processes::ProcessId;

/// An engine whose heartbeat is older than this is stale (hung, or killed on another host).
pub const STALE_AFTER_MS: i64 = 5_000;

/// A file in flight, as the status row lists it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InFlight {
    pub item: ItemId,
    pub bytes: u64,
    pub total: u64,
}

/// What an engine publishes about itself.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    /// `serve`, `watch` (`import --watch`), `console` (hosted by a console), `once`.
    pub mode: String,
    /// `running`, `standby` (waiting for the library), `stopping`.
    pub state: String,
    /// The links it holds (on one machine: every live link).
    pub links: Vec<LinkId>,
    pub in_flight: Vec<InFlight>,
    /// Bytes per second downloaded, over the last few seconds.
    pub rate_bps: u64,
}

/// An engine's status row with its process.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EngineRow {
    pub process: ProcessId,
    pub host: String,
    pub pid: u32,
    pub os_user: String,
    /// Unix seconds.
    pub started_at: i64,
    /// Unix milliseconds of the last publish.
    pub updated_ms: i64,
    #[serde(flatten)]
    pub published: Published,
    /// `Some(false)`: the process is gone (this host knows); `None`: another host, only the
    /// heartbeat can tell.
    #[serde(skip)]
    pub alive_here: Option<bool>,
}

impl EngineRow {
    /// Healthy: alive (when this host can tell) and published within [`STALE_AFTER_MS`].
    pub fn is_fresh(&self, now_ms: i64) -> bool {
        self.alive_here != Some(false) && now_ms - self.updated_ms <= STALE_AFTER_MS
    }
}

/// Write (or replace) `process`'s status row and its heartbeat. Call it in a (relaxed)
/// transaction: a status row is rewritten every second and never needs the disk.
pub fn publish(
    tx: &Connection,
    process: ProcessId,
    status: &Published,
    now_ms: i64,
) -> rusqlite::Result<()> {
    let links = serde_json::to_string(&status.links).unwrap_or_else(|_| "[]".into());
    let in_flight = serde_json::to_string(&status.in_flight).unwrap_or_else(|_| "[]".into());
    tx.execute(
        "INSERT INTO engine_status(process, mode, state, links, in_flight, rate_bps, updated_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(process) DO UPDATE SET mode = excluded.mode, state = excluded.state,
             links = excluded.links, in_flight = excluded.in_flight,
             rate_bps = excluded.rate_bps, updated_ms = excluded.updated_ms",
        params![
            process,
            status.mode,
            status.state,
            links,
            in_flight,
            status.rate_bps as i64,
            now_ms
        ],
    )?;
    tx.execute(
        "UPDATE processes SET heartbeat_at = ?2 WHERE id = ?1",
        params![process, now_ms / 1000],
    )?;
    Ok(())
}

/// The engine stopped: its row goes (its process row may stay, for its other roles).
pub fn withdraw(c: &Connection, process: ProcessId) -> rusqlite::Result<()> {
    c.execute("DELETE FROM engine_status WHERE process = ?1", [process])?;
    Ok(())
}

/// Every published engine, running ones first, newest first.
pub fn engines(c: &Connection) -> rusqlite::Result<Vec<EngineRow>> {
    let mut stmt = c.prepare_cached(
        "SELECT s.process, p.host, p.boot_id, p.pid, p.started, p.os_user, p.registered_at,
                s.updated_ms, s.mode, s.state, s.links, s.in_flight, s.rate_bps
           FROM engine_status s JOIN processes p ON p.id = s.process
          ORDER BY s.state = 'running' DESC, p.registered_at DESC, s.process DESC",
    )?;
    stmt.query_map([], |r| {
        let identity = ProcessIdentity {
            host: r.get(1)?,
            boot_id: r.get(2)?,
            pid: r.get::<_, i64>(3)? as u32,
            started: r.get::<_, i64>(4)? as u64,
        };
        let links: String = r.get(10)?;
        let in_flight: String = r.get(11)?;
        Ok(EngineRow {
            process: r.get(0)?,
            host: identity.host.clone(),
            pid: identity.pid,
            os_user: r.get(5)?,
            started_at: r.get(6)?,
            updated_ms: r.get(7)?,
            published: Published {
                mode: r.get(8)?,
                state: r.get(9)?,
                links: serde_json::from_str(&links).unwrap_or_default(),
                in_flight: serde_json::from_str(&in_flight).unwrap_or_default(),
                rate_bps: r.get::<_, i64>(12)?.max(0) as u64,
            },
            alive_here: liveness::is_alive_here(&identity),
        })
    })?
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::store::{Store, processes};

    #[test]
    fn a_published_engine_is_listed_with_its_process_and_goes_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("library.db")).unwrap();
        let id = store
            .transaction(|tx| processes::register(tx, "engine", "alice", 100))
            .unwrap();
        let status = Published {
            mode: "serve".into(),
            state: "running".into(),
            links: vec![LinkId(3), LinkId(4)],
            in_flight: vec![InFlight {
                item: ItemId(9),
                bytes: 10,
                total: 20,
            }],
            rate_bps: 1234,
        };
        store
            .transaction_relaxed(|tx| publish(tx, id, &status, 200_000))
            .unwrap();
        let rows = engines(store.connection()).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].published, status);
        assert_eq!(rows[0].os_user, "alice");
        assert_eq!(rows[0].pid, std::process::id());
        assert!(rows[0].is_fresh(200_000 + STALE_AFTER_MS));
        assert!(!rows[0].is_fresh(200_001 + STALE_AFTER_MS));
        processes::deregister(store.connection(), id).unwrap();
        assert!(engines(store.connection()).unwrap().is_empty());
    }
}
