//! The reads `check` and `check --adopt` make of the whole library (`library::check`,
//! `library::adopt`): integrity, every file's blob, what a dead process left. Slow by nature
//! (they visit every row); never on an import's path.

use crate::library::ids::AccountId;
use rusqlite::{Connection, Row};

use super::blob_table;

/// The lines SQLite's own integrity check found wrong (none: the database is sound).
pub fn integrity_problems(c: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = c.prepare("PRAGMA integrity_check")?;
    let lines = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(lines.into_iter().filter(|l| l != "ok").collect())
}

/// SQLite's quick check of a database (a backup copy): "ok" when it is sound.
pub fn quick_check(c: &Connection) -> rusqlite::Result<String> {
    c.query_row("PRAGMA quick_check", [], |r| r.get(0))
}

pub fn file_count(c: &Connection) -> rusqlite::Result<u64> {
    c.query_row("SELECT count(*) FROM files", [], |r| r.get::<_, i64>(0))
        .map(|n| n as u64)
}

/// One blob the file rows name: its hash, size, and the ids of the files using it.
pub struct FileBlob {
    pub sha256: String,
    pub size: u64,
    /// "3, 17": the files that reference it.
    pub file_ids: String,
}

/// How many distinct blobs the file rows name, and their bytes.
pub fn file_blob_totals(c: &Connection) -> rusqlite::Result<(u64, u64)> {
    c.query_row(
        "SELECT count(*), total(size) FROM (SELECT max(size) AS size FROM files GROUP BY sha256)",
        [],
        |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, f64>(1)? as u64)),
    )
}

/// Visits every blob the file rows name, in hash order.
pub fn for_each_file_blob(
    c: &Connection,
    mut visit: impl FnMut(FileBlob) -> crate::library::error::Result<()>,
) -> crate::library::error::Result<()> {
    let mut stmt = c.prepare(
        "SELECT sha256, max(size), group_concat(id, ', ') FROM files GROUP BY sha256 ORDER BY sha256",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        visit(FileBlob {
            sha256: row.get(0)?,
            size: row.get::<_, i64>(1)? as u64,
            file_ids: row.get(2)?,
        })?;
    }
    Ok(())
}

/// "3, 17": the files using this blob, if any does.
pub fn file_ids_with_sha256(c: &Connection, sha256: &str) -> rusqlite::Result<Option<String>> {
    c.query_row(
        "SELECT group_concat(id, ', ') FROM files WHERE sha256 = ?1",
        [sha256],
        |r| r.get(0),
    )
}

/// Does a file row use this blob, or (with `table_counts`) does the blob table know it?
pub fn is_known(c: &Connection, sha256: &str, table_counts: bool) -> rusqlite::Result<bool> {
    Ok(super::files::is_referenced(c, sha256)?
        || (table_counts && blob_table::state(c, sha256)?.is_some()))
}

/// The details of every audit row of `action`.
pub fn audit_details(c: &Connection, action: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt =
        c.prepare("SELECT detail FROM audit WHERE action = ?1 AND detail IS NOT NULL")?;
    stmt.query_map([action], |r| r.get(0))?.collect()
}

/// A quota reservation: id, account name, purpose, bytes of storage.
pub type HeldQuota = (i64, String, String, i64);

pub fn reservations(c: &Connection) -> rusqlite::Result<Vec<HeldQuota>> {
    let mut stmt = c.prepare(
        "SELECT r.id, a.name, r.purpose, r.storage_bytes FROM reservations r
         JOIN accounts a ON a.id = r.account ORDER BY r.id",
    )?;
    stmt.query_map([], |r: &Row<'_>| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })?
    .collect()
}

/// Queue items claimed by a download: (id, path).
pub fn claimed_items(c: &Connection) -> rusqlite::Result<Vec<(i64, String)>> {
    let mut stmt =
        c.prepare("SELECT id, path FROM import_items WHERE state = 'downloading' ORDER BY id")?;
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect()
}

/// Blobs some writer pinned, in hash order.
pub fn pinned_blobs(c: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = c.prepare("SELECT sha256 FROM blobs WHERE pins > 0 ORDER BY sha256")?;
    stmt.query_map([], |r| r.get(0))?.collect()
}

/// The names of an account's collections.
pub fn collection_names(c: &Connection, account: AccountId) -> rusqlite::Result<Vec<String>> {
    let mut stmt = c.prepare("SELECT name FROM collections WHERE account = ?1")?;
    stmt.query_map([account], |r| r.get(0))?.collect()
}
