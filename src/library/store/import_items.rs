//! The import journal: one row per Dropbox file revision the engine has seen, with its state.
//! Crash recovery reads it; a file is deleted from Dropbox only from state `committed`, which
//! is written in the same transaction as its file row.

use super::cached::CachedStatements;
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;

use super::links::LinkId;
use crate::library::model::{AccountId, FileId};

pub use crate::library::ids::ItemId;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    /// Listed in Dropbox, waiting for a worker.
    Discovered,
    /// A worker holds it (requeued on restart).
    Downloading,
    /// Its file row is durable; the Dropbox copy still has to be deleted.
    Committed,
    /// Done: in the library and gone from Dropbox.
    Deleted,
    /// Refused (a verdict) or failing persistently: what the customer's report lists. It
    /// stays in Dropbox until it changes or an admin retries it.
    Failed,
    /// Its last try failed for a reason that may pass (a transient Dropbox failure, a fault of
    /// our own server); the engine tries it again from `next_attempt_at`.
    Retrying,
    /// An admin asked for a retry (from any process); the engine that runs takes it next.
    QueuedForRetry,
    /// It changed in Dropbox after we imported it; the new revision is a new item.
    Superseded,
    /// Removed from Dropbox before we got to it.
    Gone,
}

impl ItemState {
    pub const ALL: [ItemState; 9] = [
        ItemState::Discovered,
        ItemState::Downloading,
        ItemState::Committed,
        ItemState::Deleted,
        ItemState::Failed,
        ItemState::Retrying,
        ItemState::QueuedForRetry,
        ItemState::Superseded,
        ItemState::Gone,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ItemState::Discovered => "discovered",
            ItemState::Downloading => "downloading",
            ItemState::Committed => "committed",
            ItemState::Deleted => "deleted",
            ItemState::Failed => "failed",
            ItemState::Retrying => "retrying",
            ItemState::QueuedForRetry => "queued_for_retry",
            ItemState::Superseded => "superseded",
            ItemState::Gone => "gone",
        }
    }
    pub fn parse(s: &str) -> Option<ItemState> {
        ItemState::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImportItem {
    pub id: ItemId,
    pub link: LinkId,
    pub dropbox_id: String,
    pub rev: String,
    pub path: String,
    pub size: u64,
    pub content_hash: Option<String>,
    pub state: ItemState,
    pub error_kind: Option<String>,
    pub error_detail: Option<String>,
    pub format: Option<String>,
    pub attempts: u32,
    pub file: Option<FileId>,
    pub report: Option<i64>,
    pub updated_at: i64,
    /// State `retrying`: not tried again before this (unix seconds).
    pub next_attempt_at: Option<i64>,
    /// Tries that ended in a transient Dropbox failure since the file was queued afresh…
    pub transient_tries: u32,
    /// …the first of them at this time.
    pub first_transient_at: Option<i64>,
    /// Tries that ended in a fault of our own server (never told to the customer).
    pub server_faults: u32,
}

const ITEM_COLUMNS: &str = "id, link, dropbox_id, rev, path, size, content_hash, state, error_kind,
    error_detail, format, attempts, file, report, updated_at, next_attempt_at, transient_tries,
    first_transient_at, server_faults";

/// The states of a file that is not (yet) in the library and that an admin sees in the error
/// log: refused or persistently failing, waiting for its next try, or queued by an admin.
pub const WAITING_STATES: &str = "'failed', 'retrying', 'queued_for_retry'";

/// A fresh start for an item's tries (a changed file, an admin's retry).
const RESET_TRIES: &str = "attempts = 0, next_attempt_at = NULL, transient_tries = 0,
    first_transient_at = NULL, server_faults = 0";

fn item_from_row(r: &Row<'_>) -> rusqlite::Result<ImportItem> {
    item_from_row_at(r, 0)
}

/// An item whose columns start at `first` (after the account name in `failures`).
fn item_from_row_at(r: &Row<'_>, first: usize) -> rusqlite::Result<ImportItem> {
    let at = |i: usize| first + i;
    let state: String = r.get(at(7))?;
    Ok(ImportItem {
        id: r.get(at(0))?,
        link: r.get(at(1))?,
        dropbox_id: r.get(at(2))?,
        rev: r.get(at(3))?,
        path: r.get(at(4))?,
        size: r.get::<_, i64>(at(5))? as u64,
        content_hash: r.get(at(6))?,
        state: ItemState::parse(&state).unwrap_or(ItemState::Failed),
        error_kind: r.get(at(8))?,
        error_detail: r.get(at(9))?,
        format: r.get(at(10))?,
        attempts: r.get(at(11))?,
        file: r.get(at(12))?,
        report: r.get(at(13))?,
        updated_at: r.get(at(14))?,
        next_attempt_at: r.get(at(15))?,
        transient_tries: r.get(at(16))?,
        first_transient_at: r.get(at(17))?,
        server_faults: r.get(at(18))?,
    })
}

/// A file revision seen in a listing.
pub struct Sighting<'a> {
    pub link: LinkId,
    pub dropbox_id: &'a str,
    pub rev: &'a str,
    pub path: &'a str,
    pub size: u64,
    pub content_hash: Option<&'a str>,
}

/// Journal a sighting. Returns the item to work on, or `None` when this exact revision was
/// already imported, or already failed (or waits for its next try) at this same path (a failed
/// file is tried again only when it changes, moves, or an admin retries it; a retrying one at
/// its time — never in a hot loop).
pub fn record_sighting(
    c: &Connection,
    s: &Sighting<'_>,
    now: i64,
) -> rusqlite::Result<Option<ItemId>> {
    let existing = c
        .query_row(
            &format!("SELECT {ITEM_COLUMNS} FROM import_items WHERE link = ?1 AND dropbox_id = ?2 AND rev = ?3"),
            params![s.link, s.dropbox_id, s.rev],
            item_from_row,
        )
        .optional()?;
    match existing {
        None => {
            c.execute_cached(
                "INSERT INTO import_items(link, dropbox_id, rev, path, size, content_hash, state, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'discovered', ?7, ?7)",
                params![s.link, s.dropbox_id, s.rev, s.path, s.size as i64, s.content_hash, now],
            )?;
            // Older revisions of the same file that never made it are superseded by this one.
            c.execute_cached(
                "UPDATE import_items SET state = 'superseded', updated_at = ?4
                 WHERE link = ?1 AND dropbox_id = ?2 AND rev <> ?3
                   AND state IN ('discovered', 'failed', 'retrying', 'queued_for_retry')",
                params![s.link, s.dropbox_id, s.rev, now],
            )?;
            Ok(Some(ItemId(c.last_insert_rowid())))
        }
        Some(item) => match item.state {
            ItemState::Discovered | ItemState::Downloading => Ok(Some(item.id)),
            ItemState::Failed
            | ItemState::Retrying
            | ItemState::QueuedForRetry
            | ItemState::Gone
                if item.path != s.path || item.state == ItemState::Gone =>
            {
                c.execute_cached(
                    &format!(
                        "UPDATE import_items SET state = 'discovered', path = ?2, error_kind = NULL, error_detail = NULL,
                                {RESET_TRIES}, report = NULL, updated_at = ?3 WHERE id = ?1"
                    ),
                    params![item.id, s.path, now],
                )?;
                Ok(Some(item.id))
            }
            _ => Ok(None),
        },
    }
}

pub fn item(c: &Connection, id: ItemId) -> rusqlite::Result<Option<ImportItem>> {
    c.query_row(
        &format!("SELECT {ITEM_COLUMNS} FROM import_items WHERE id = ?1"),
        [id],
        item_from_row,
    )
    .optional()
}

pub fn items_in_state(
    c: &Connection,
    link: LinkId,
    state: ItemState,
) -> rusqlite::Result<Vec<ImportItem>> {
    let mut stmt = c.prepare(&format!(
        "SELECT {ITEM_COLUMNS} FROM import_items WHERE link = ?1 AND state = ?2 ORDER BY id"
    ))?;
    stmt.query_map(params![link, state.as_str()], item_from_row)?
        .collect()
}

pub fn set_state(c: &Connection, id: ItemId, state: ItemState, now: i64) -> rusqlite::Result<()> {
    c.execute_cached(
        "UPDATE import_items SET state = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, state.as_str(), now],
    )?;
    Ok(())
}

/// Claim an item for download, counting the attempt.
pub fn start_attempt(c: &Connection, id: ItemId, now: i64) -> rusqlite::Result<()> {
    c.execute_cached(
        "UPDATE import_items SET state = 'downloading', attempts = attempts + 1, updated_at = ?2 WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}

pub fn mark_failed(
    c: &Connection,
    id: ItemId,
    kind: &str,
    detail: &str,
    format: Option<&str>,
    now: i64,
) -> rusqlite::Result<()> {
    c.execute_cached(
        "UPDATE import_items SET state = 'failed', error_kind = ?2, error_detail = ?3,
                format = coalesce(?4, format), next_attempt_at = NULL, updated_at = ?5 WHERE id = ?1",
        params![id, kind, detail, format, now],
    )?;
    Ok(())
}

/// Which counter a failed try adds to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// A Dropbox failure that may pass (counts towards *persistent*).
    Transient,
    /// A fault of our own server (never counts towards what the customer is told).
    Server,
}

/// The try failed for a reason that may pass: back in the journal as `retrying`, tried again
/// from `next_attempt_at`. The last error is kept for the admin.
#[allow(clippy::too_many_arguments)]
pub fn mark_retrying(
    c: &Connection,
    id: ItemId,
    fault: Fault,
    kind: &str,
    detail: &str,
    format: Option<&str>,
    next_attempt_at: i64,
    now: i64,
) -> rusqlite::Result<()> {
    let counters = match fault {
        Fault::Transient => {
            "transient_tries = transient_tries + 1, first_transient_at = coalesce(first_transient_at, ?6)"
        }
        Fault::Server => "server_faults = server_faults + 1",
    };
    c.execute_cached(
        &format!(
            "UPDATE import_items SET state = 'retrying', error_kind = ?2, error_detail = ?3,
                    format = coalesce(?4, format), next_attempt_at = ?5, {counters}, updated_at = ?6
             WHERE id = ?1"
        ),
        params![id, kind, detail, format, next_attempt_at, now],
    )?;
    Ok(())
}

/// At the start of a pass: the link's items an admin queued for a retry, and those whose next
/// try is due, go back to the queue (`discovered`). Returns them.
pub fn take_due_retries(
    c: &Connection,
    link: LinkId,
    now: i64,
) -> rusqlite::Result<Vec<ImportItem>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {ITEM_COLUMNS} FROM import_items
         WHERE link = ?1 AND (state = 'queued_for_retry' OR (state = 'retrying' AND next_attempt_at <= ?2))
         ORDER BY id"
    ))?;
    let due: Vec<ImportItem> = stmt
        .query_map(params![link, now], item_from_row)?
        .collect::<rusqlite::Result<_>>()?;
    for item in &due {
        set_state(c, item.id, ItemState::Discovered, now)?;
    }
    Ok(due)
}

/// Active links with an item an admin queued for a retry, or whose next try is due: the
/// engine's tick wakes their watchers (the request may come from any process).
pub fn links_with_due_retries(c: &Connection, now: i64) -> rusqlite::Result<Vec<LinkId>> {
    let mut stmt = c.prepare_cached(
        "SELECT DISTINCT i.link FROM import_items i JOIN links l ON l.id = i.link AND l.state = 'active'
         WHERE i.state = 'queued_for_retry' OR (i.state = 'retrying' AND i.next_attempt_at <= ?1)",
    )?;
    stmt.query_map([now], |r| r.get(0))?.collect()
}

/// In the same transaction as the file row: the item is committed and points at its file.
pub fn mark_committed(
    c: &Connection,
    id: ItemId,
    file: FileId,
    format: &str,
    now: i64,
) -> rusqlite::Result<()> {
    c.execute_cached(
        "UPDATE import_items SET state = 'committed', file = ?2, format = ?3, error_kind = NULL,
                error_detail = NULL, updated_at = ?4 WHERE id = ?1",
        params![id, file, format, now],
    )?;
    Ok(())
}

/// What `error_kind` says of an item whose bytes the account already had (`[import]
/// duplicates = "skip"`): committed as the existing file, deleted from Dropbox like any import.
pub const ALREADY_IN_LIBRARY: &str = "already_in_library";

/// [`mark_committed`] for a dropped copy of a file the account already has: the item points at
/// that file, and its detail (which the state change's event carries) says so.
pub fn mark_already_in_library(
    c: &Connection,
    id: ItemId,
    existing: FileId,
    format: &str,
    now: i64,
) -> rusqlite::Result<()> {
    c.execute_cached(
        "UPDATE import_items SET state = 'committed', file = ?2, format = ?3, error_kind = ?5,
                error_detail = ?6, updated_at = ?4 WHERE id = ?1",
        params![
            id,
            existing,
            format,
            now,
            ALREADY_IN_LIBRARY,
            format!("already in the library as file #{existing}")
        ],
    )?;
    Ok(())
}

pub fn set_report(c: &Connection, ids: &[ItemId], report: i64) -> rusqlite::Result<()> {
    let mut stmt = c.prepare_cached("UPDATE import_items SET report = ?2 WHERE id = ?1")?;
    for id in ids {
        stmt.execute(params![id, report])?;
    }
    Ok(())
}

/// The item turned out to be one of our own reports (by its content): it was never the
/// customer's file, so it leaves the journal, uncounted and unlisted.
pub fn forget_our_report(c: &Connection, id: ItemId) -> rusqlite::Result<()> {
    c.execute_cached("DELETE FROM import_items WHERE id = ?1", [id])?;
    Ok(())
}

/// Mark the items whose path was deleted in Dropbox before we imported them.
pub fn mark_gone_at_path(
    c: &Connection,
    link: LinkId,
    path_lower: &str,
    now: i64,
) -> rusqlite::Result<usize> {
    c.execute_cached(
        "UPDATE import_items SET state = 'gone', updated_at = ?3
         WHERE link = ?1 AND lower(path) = ?2
           AND state IN ('discovered', 'failed', 'retrying', 'queued_for_retry')",
        params![link, path_lower, now],
    )
}

/// Admin retry, from any process: failed and retrying items are queued for a retry, with a
/// fresh count of tries; the engine that runs takes them at its next tick (`take_due_retries`).
/// `None` = every such item of the links.
pub fn retry(
    c: &Connection,
    links: &[LinkId],
    ids: Option<&[ItemId]>,
    now: i64,
) -> rusqlite::Result<usize> {
    let link_list = links
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let id_filter = match ids {
        Some(ids) => format!(
            "AND id IN ({})",
            ids.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        ),
        None => String::new(),
    };
    c.execute(
        &format!(
            "UPDATE import_items SET state = 'queued_for_retry', {RESET_TRIES}, report = NULL, updated_at = ?1
             WHERE state IN ('failed', 'retrying') AND link IN ({link_list}) {id_filter}"
        ),
        [now],
    )
}

/// Crash recovery: work that was in flight goes back to the queue.
pub fn requeue_interrupted(c: &Connection, now: i64) -> rusqlite::Result<usize> {
    c.execute_cached(
        "UPDATE import_items SET state = 'discovered', updated_at = ?1 WHERE state = 'downloading'",
        [now],
    )
}

/// Failed, retrying and queued items of these accounts' live links (the error log), newest
/// first, with the account name. An unlinked link's items are history: after a relink the new
/// link's items are the files failing now, each once.
pub fn failures(
    c: &Connection,
    accounts: Option<&[AccountId]>,
) -> rusqlite::Result<Vec<(String, ImportItem)>> {
    let filter = match accounts {
        Some(ids) => format!(
            "AND l.account IN ({})",
            ids.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        ),
        None => String::new(),
    };
    let columns = ITEM_COLUMNS
        .split(',')
        .map(|c| format!("i.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let mut stmt = c.prepare(&format!(
        "SELECT a.name, {columns} FROM import_items i JOIN links l ON l.id = i.link JOIN accounts a ON a.id = l.account
         WHERE i.state IN ({WAITING_STATES}) AND l.state <> 'unlinked' {filter}
         ORDER BY i.updated_at DESC, i.id DESC"
    ))?;
    stmt.query_map([], |r| Ok((r.get(0)?, item_from_row_at(r, 1)?)))?
        .collect()
}
