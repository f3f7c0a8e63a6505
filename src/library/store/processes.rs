//! The registry of live processes (migration V7): every process that holds quota
//! reservations registers, and its reservations name it as their holder. "Is the holder still
//! alive?" then has one answer (`library::liveness`), so a process that was killed, hung up
//! with its SSH session or stopped by SIGTERM never leaves quota held behind: any process that
//! would refuse a file for quota first frees the reservations of dead holders.

use rusqlite::{Connection, Transaction, params};

use crate::library::liveness::{self, ProcessIdentity};

pub use crate::library::ids::ProcessId;

/// A process on another host whose heartbeat is older than this is dead.
pub const HEARTBEAT_TTL_SECS: i64 = 120;

pub fn register(
    tx: &Transaction<'_>,
    role: &str,
    os_user: &str,
    now: i64,
) -> rusqlite::Result<ProcessId> {
    let me = liveness::current();
    tx.execute(
        "INSERT INTO processes(host, boot_id, pid, started, role, os_user, registered_at, heartbeat_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
        params![me.host, me.boot_id, me.pid, me.started as i64, role, os_user, now],
    )?;
    Ok(ProcessId(tx.last_insert_rowid()))
}

/// A process that ends normally takes its row (and any reservation it still holds) away.
pub fn deregister(c: &Connection, id: ProcessId) -> rusqlite::Result<()> {
    c.execute("DELETE FROM processes WHERE id = ?1", [id])?;
    Ok(())
}

pub fn heartbeat(c: &Connection, id: ProcessId, now: i64) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE processes SET heartbeat_at = ?2 WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}

/// Removes every registered process that is dead, and with them (ON DELETE CASCADE) the
/// reservations they held; returns how many reservations went. Call it in a write
/// transaction.
pub fn release_dead(tx: &Connection, now: i64) -> rusqlite::Result<usize> {
    let mut stmt =
        tx.prepare("SELECT id, host, boot_id, pid, started, heartbeat_at FROM processes")?;
    let registered: Vec<(ProcessId, ProcessIdentity, i64)> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                ProcessIdentity {
                    host: r.get(1)?,
                    boot_id: r.get(2)?,
                    pid: r.get::<_, i64>(3)? as u32,
                    started: r.get::<_, i64>(4)? as u64,
                },
                r.get(5)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    drop(stmt);
    let mut released = 0;
    for (id, process, heartbeat_at) in registered {
        let alive =
            liveness::is_alive_here(&process).unwrap_or(now - heartbeat_at <= HEARTBEAT_TTL_SECS);
        if alive {
            continue;
        }
        released += tx.query_row(
            "SELECT count(*) FROM reservations WHERE holder = ?1",
            [id],
            |r| r.get::<_, i64>(0),
        )? as usize;
        tx.execute("DELETE FROM processes WHERE id = ?1", [id])?;
    }
    Ok(released)
}
