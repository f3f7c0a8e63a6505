//! The blob table (migration V6): what the store knows of each blob, so garbage collection
//! deletes only what the store itself released (RELIABILITY.md, "Garbage collection").
//!
//! A writer *pins* a blob before it is renamed into the blob store; the transaction that
//! commits the file row makes it *live* and drops the pin (`commit_reference`). A file row
//! inserted without a writer's pin (a test, a generator) leaves the blob unknown to this table:
//! kept, never collected. A pin whose write never got its
//! row is dropped and, with no file referencing the blob, *releases* it; so does the last
//! file row going. Only a released, unpinned, unreferenced blob is ever forgotten — checked
//! again in the transaction that forgets it, which is the one that deletes its bytes.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::cached::CachedStatements;

/// Where a blob is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlobState {
    /// A writer has it on the way in.
    Pinned,
    /// A file row references it.
    Live,
    /// Nothing holds it: garbage collection may delete it.
    Released,
}

impl BlobState {
    pub fn as_str(self) -> &'static str {
        match self {
            BlobState::Pinned => "pinned",
            BlobState::Live => "live",
            BlobState::Released => "released",
        }
    }

    fn parse(s: &str) -> BlobState {
        match s {
            "pinned" => BlobState::Pinned,
            "released" => BlobState::Released,
            // Unsure means kept.
            _ => BlobState::Live,
        }
    }
}

/// How many blobs the table holds in each state, and their bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct BlobCounts {
    pub live: u64,
    pub live_bytes: u64,
    pub pinned: u64,
    pub pinned_bytes: u64,
    pub released: u64,
    pub released_bytes: u64,
}

/// Pins blobs about to be renamed into the blob store (before the rename: a blob on disk is
/// then never unknown to a store that goes on). A blob already live stays live.
pub fn pin(tx: &Transaction<'_>, blobs: &[(&str, u64)], now: i64) -> rusqlite::Result<()> {
    for (sha256, size) in blobs {
        tx.execute_cached(
            "INSERT INTO blobs(sha256, size, state, pins, changed_at) VALUES (?1, ?2, 'pinned', 1, ?3)
             ON CONFLICT(sha256) DO UPDATE SET
                 pins = pins + 1,
                 state = CASE WHEN state = 'live' THEN 'live' ELSE 'pinned' END,
                 changed_at = excluded.changed_at",
            params![sha256, *size as i64, now],
        )?;
    }
    Ok(())
}

/// A writer's file row now references the blob it pinned (in the row's transaction): the
/// blob is live and the writer's pin goes, in one statement (one B-tree write a file on the
/// import's commit path).
pub fn commit_reference(
    tx: &Transaction<'_>,
    sha256: &str,
    size: u64,
    now: i64,
) -> rusqlite::Result<()> {
    tx.execute_cached(
        "INSERT INTO blobs(sha256, size, state, pins, changed_at) VALUES (?1, ?2, 'live', 0, ?3)
         ON CONFLICT(sha256) DO UPDATE SET
             pins = max(pins - 1, 0),
             state = 'live',
             changed_at = excluded.changed_at",
        params![sha256, size as i64, now],
    )?;
    Ok(())
}

/// A file row references the blob, with no pin to drop (`check --adopt`, which adopts blobs
/// already on disk).
pub fn record_live(
    tx: &Transaction<'_>,
    sha256: &str,
    size: u64,
    now: i64,
) -> rusqlite::Result<()> {
    tx.execute_cached(
        "INSERT INTO blobs(sha256, size, state, pins, changed_at) VALUES (?1, ?2, 'live', 0, ?3)
         ON CONFLICT(sha256) DO UPDATE SET state = 'live', changed_at = excluded.changed_at
             WHERE state <> 'live'",
        params![sha256, size as i64, now],
    )?;
    Ok(())
}

/// Drops one pin of a writer whose row landed (or never will): a blob no file references and
/// no other writer pins is released.
pub fn unpin(tx: &Transaction<'_>, sha256: &str, now: i64) -> rusqlite::Result<()> {
    tx.execute_cached(
        "UPDATE blobs SET
             pins = pins - 1,
             state = CASE
                 WHEN state = 'live' THEN 'live'
                 WHEN pins > 1 THEN 'pinned'
                 WHEN EXISTS (SELECT 1 FROM files WHERE sha256 = ?1) THEN 'live'
                 ELSE 'released' END,
             changed_at = ?2
         WHERE sha256 = ?1 AND pins > 0",
        params![sha256, now],
    )?;
    Ok(())
}

/// Crash recovery, holding every writer out: each pin left is a dead writer's. Returns how
/// many blobs it released.
pub fn release_dead_pins(tx: &Transaction<'_>, now: i64) -> rusqlite::Result<usize> {
    tx.execute(
        "UPDATE blobs SET state = 'live', pins = 0, changed_at = ?1
         WHERE pins > 0 AND EXISTS (SELECT 1 FROM files f WHERE f.sha256 = blobs.sha256)",
        [now],
    )?;
    tx.execute(
        "UPDATE blobs SET state = 'released', pins = 0, changed_at = ?1 WHERE pins > 0",
        [now],
    )
}

/// Released blobs, oldest release first: what garbage collection may delete.
pub fn released(c: &Connection) -> rusqlite::Result<Vec<(String, u64)>> {
    let mut stmt = c.prepare(
        "SELECT sha256, size FROM blobs WHERE state = 'released' ORDER BY changed_at, sha256",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?;
    rows.collect()
}

/// Forgets a released blob, checked again here: still released, unpinned and unreferenced.
/// Call it in the transaction that deletes the blob's bytes, before they go; false means it
/// must stay.
pub fn forget_released(tx: &Transaction<'_>, sha256: &str) -> rusqlite::Result<bool> {
    let gone = tx.execute(
        "DELETE FROM blobs WHERE sha256 = ?1 AND state = 'released' AND pins = 0
             AND NOT EXISTS (SELECT 1 FROM files WHERE sha256 = ?1)",
        [sha256],
    )?;
    Ok(gone == 1)
}

/// What the store knows of one blob: its state and pins, or `None` if it never heard of it.
pub fn state(c: &Connection, sha256: &str) -> rusqlite::Result<Option<(BlobState, u64)>> {
    c.query_row_cached(
        "SELECT state, pins FROM blobs WHERE sha256 = ?1",
        [sha256],
        |r| {
            let state: String = r.get(0)?;
            Ok((BlobState::parse(&state), r.get::<_, i64>(1)? as u64))
        },
    )
    .optional()
}

pub fn counts(c: &Connection) -> rusqlite::Result<BlobCounts> {
    let mut counts = BlobCounts::default();
    let mut stmt = c.prepare("SELECT state, count(*), total(size) FROM blobs GROUP BY state")?;
    let rows = stmt.query_map([], |r| {
        let state: String = r.get(0)?;
        Ok((
            BlobState::parse(&state),
            r.get::<_, i64>(1)? as u64,
            r.get::<_, f64>(2)? as u64,
        ))
    })?;
    for row in rows {
        let (state, n, bytes) = row?;
        match state {
            BlobState::Live => (counts.live, counts.live_bytes) = (n, bytes),
            BlobState::Pinned => (counts.pinned, counts.pinned_bytes) = (n, bytes),
            BlobState::Released => (counts.released, counts.released_bytes) = (n, bytes),
        }
    }
    Ok(counts)
}
