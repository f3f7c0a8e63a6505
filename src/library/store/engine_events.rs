//! The engine event log (migration V9): state changes of the import journal, of links and of
//! customer reports are appended by triggers in the transaction that makes them; an engine
//! appends what changes no state (progress, a rate limit, a link problem, a pass that ended).
//! Consoles tail it by sequence number; it keeps the newest 200,000 rows.

use crate::library::ids::{AccountId, FileId, ItemId, LinkId};
use rusqlite::{Connection, OptionalExtension, params};

use crate::library::store::cached::CachedStatements;

/// One row of the log with what a reader needs to show it (account, file, error).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRow {
    pub seq: i64,
    pub at_ms: i64,
    /// `item:<journal state>`, `link:<link state>`, `report:written`, `report:removed`, or an
    /// engine's own kind (`progress`, `rate_limited`, `link_error`, `pass_finished`, …).
    pub kind: String,
    pub link: Option<LinkId>,
    pub account_id: Option<AccountId>,
    pub account: Option<String>,
    /// The journal item (for `item:*` and `progress`) or the report (for `report:*`).
    pub item: Option<ItemId>,
    pub path: Option<String>,
    pub size: Option<u64>,
    pub error_kind: Option<String>,
    pub next_attempt_at: Option<i64>,
    pub file: Option<FileId>,
    /// Error detail, link state detail, report path, or an engine's JSON.
    pub detail: Option<String>,
}

/// The kind of the row an engine appends for a file in flight (bytes so far of the total).
pub const PROGRESS: &str = "progress";

/// Append an event no state change wrote.
pub fn append(
    c: &Connection,
    at_ms: i64,
    kind: &str,
    link: Option<LinkId>,
    item: Option<ItemId>,
    detail: Option<&str>,
) -> rusqlite::Result<i64> {
    c.execute_cached(
        "INSERT INTO engine_events(at_ms, kind, link, item, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![at_ms, kind, link, item, detail],
    )?;
    Ok(c.last_insert_rowid())
}

/// The newest sequence number (0 when the log is empty).
pub fn last_seq(c: &Connection) -> rusqlite::Result<i64> {
    c.query_row_cached("SELECT coalesce(max(seq), 0) FROM engine_events", [], |r| {
        r.get(0)
    })
}

/// The sequence number `back` events before the newest (to show some history on opening).
pub fn seq_before_last(c: &Connection, back: i64) -> rusqlite::Result<i64> {
    Ok(c.query_row_cached(
        "SELECT seq FROM engine_events ORDER BY seq DESC LIMIT 1 OFFSET ?1",
        [back],
        |r| r.get::<_, i64>(0),
    )
    .optional()?
    .unwrap_or(0))
}

/// Events after `after`, oldest first, at most `limit`. Progress is only read back for a file
/// still downloading: the engine appends it on its own clock, so a row can land after the
/// state change that ended the download, and would show a finished file as in flight again.
pub fn since(c: &Connection, after: i64, limit: usize) -> rusqlite::Result<Vec<EventRow>> {
    let mut stmt = c.prepare_cached(
        "SELECT e.seq, e.at_ms, e.kind, coalesce(e.link, i.link), l.account, a.name, e.item,
                i.path,
                i.size,
                i.error_kind,
                i.next_attempt_at,
                i.file,
                e.detail
           FROM engine_events e
           LEFT JOIN import_items i ON i.id = e.item AND e.kind NOT LIKE 'report:%'
           -- A row an engine appended for an item alone (progress, a file kept) is the item's link's.
           LEFT JOIN links l ON l.id = coalesce(e.link, i.link)
           LEFT JOIN accounts a ON a.id = l.account
          WHERE e.seq > ?1
            AND (e.kind <> ?3 OR i.state = 'downloading')
          ORDER BY e.seq
          LIMIT ?2",
    )?;
    stmt.query_map(params![after, limit as i64, PROGRESS], |r| {
        Ok(EventRow {
            seq: r.get(0)?,
            at_ms: r.get(1)?,
            kind: r.get(2)?,
            link: r.get(3)?,
            account_id: r.get(4)?,
            account: r.get(5)?,
            item: r.get(6)?,
            path: r.get(7)?,
            size: r.get::<_, Option<i64>>(8)?.map(|s| s.max(0) as u64),
            error_kind: r.get(9)?,
            next_attempt_at: r.get(10)?,
            file: r.get(11)?,
            detail: r.get(12)?,
        })
    })?
    .collect()
}

/// How many files (and bytes) reached each journal state on one UTC day.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct DayTotals {
    pub discovered: u64,
    pub imported: u64,
    pub imported_bytes: u64,
    pub removed: u64,
    pub failed: u64,
    pub retrying: u64,
}

/// Today's (UTC) totals over the given links (`None`: all).
pub fn today(c: &Connection, links: Option<&[LinkId]>, now: i64) -> rusqlite::Result<DayTotals> {
    let mut stmt =
        c.prepare_cached("SELECT link, state, files, bytes FROM import_days WHERE day = ?1")?;
    let rows = stmt.query_map([now.div_euclid(86_400)], |r| {
        Ok((
            r.get::<_, LinkId>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?.max(0) as u64,
            r.get::<_, i64>(3)?.max(0) as u64,
        ))
    })?;
    let mut totals = DayTotals::default();
    for row in rows {
        let (link, state, files, bytes) = row?;
        if links.is_some_and(|wanted| !wanted.contains(&link)) {
            continue;
        }
        match state.as_str() {
            "discovered" => totals.discovered += files,
            "committed" => {
                totals.imported += files;
                totals.imported_bytes += bytes;
            }
            "deleted" => totals.removed += files,
            "failed" => totals.failed += files,
            "retrying" => totals.retrying += files,
            _ => {}
        }
    }
    Ok(totals)
}

/// SQLite's `data_version`: changes when another connection commits; free to ask.
pub fn data_version(c: &Connection) -> rusqlite::Result<i64> {
    c.query_row("PRAGMA data_version", [], |r| r.get(0))
}

/// The newest event, audit row and file: a console that saw the same three has nothing to
/// re-read.
pub fn fingerprint(c: &Connection) -> rusqlite::Result<(i64, i64, i64)> {
    c.query_row(
        "SELECT (SELECT coalesce(max(seq), 0) FROM engine_events),
                (SELECT coalesce(max(id), 0) FROM audit),
                (SELECT coalesce(max(id), 0) FROM files)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::store::Store;

    #[test]
    fn journal_changes_are_logged_by_the_store_itself_and_counted_by_day() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("library.db")).unwrap();
        let c = store.connection();
        c.execute_batch(
            "INSERT INTO accounts(id, name, plan, created_at) VALUES (1, 'acme', 'pro', 0);
             INSERT INTO dropbox_connections(id, dropbox_account_id, backend, created_at)
                 VALUES (1, 'dbid', 'local', 0);
             INSERT INTO links(id, account, connection, folder_path, created_at)
                 VALUES (7, 1, 1, '/acme', 0);
             INSERT INTO import_items(id, link, dropbox_id, rev, path, size, state, created_at, updated_at)
                 VALUES (5, 7, 'id:a', 'r1', '/acme/a.jpg', 100, 'discovered', 0, 0);
             UPDATE import_items SET state = 'downloading' WHERE id = 5;
             UPDATE import_items SET state = 'downloading', attempts = 2 WHERE id = 5;
             UPDATE import_items SET state = 'committed' WHERE id = 5;
             UPDATE links SET state = 'paused', state_detail = 'by bob' WHERE id = 7;",
        )
        .unwrap();
        let start = last_seq(c).unwrap() - 4;
        let rows = since(c, start, 100).unwrap();
        let kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "item:discovered",
                "item:downloading",
                "item:committed",
                "link:paused"
            ],
            "a write that changes no state logs nothing"
        );
        assert_eq!(rows[0].account.as_deref(), Some("acme"));
        assert_eq!(rows[0].path.as_deref(), Some("/acme/a.jpg"));
        assert_eq!(rows[3].detail.as_deref(), Some("by bob"));
        // Progress that lands after the download ended is stale: not read back.
        append(c, 0, PROGRESS, None, Some(ItemId(5)), Some("{}")).unwrap();
        assert_eq!(since(c, rows[3].seq, 10).unwrap(), []);
        // Appended for the item alone while it downloads: read back as its link's and account's.
        c.execute(
            "UPDATE import_items SET state = 'downloading' WHERE id = 5",
            [],
        )
        .unwrap();
        let admitted = last_seq(c).unwrap();
        append(c, 0, PROGRESS, None, Some(ItemId(5)), Some("{}")).unwrap();
        let progress = since(c, admitted, 10).unwrap();
        assert_eq!(progress.len(), 1);
        assert_eq!(progress[0].link, Some(LinkId(7)));
        assert_eq!(progress[0].account.as_deref(), Some("acme"));
        assert!(rows.windows(2).all(|w| w[0].seq < w[1].seq));
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let totals = today(c, None, now).unwrap();
        assert_eq!((totals.discovered, totals.imported), (1, 1));
        assert_eq!(totals.imported_bytes, 100);
        assert_eq!(
            today(c, Some(&[LinkId(8)]), now).unwrap(),
            DayTotals::default()
        );
        assert_eq!(today(c, None, now + 86_400).unwrap(), DayTotals::default());
    }

    #[test]
    fn the_log_keeps_the_newest_rows_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("library.db")).unwrap();
        let c = store.connection();
        c.execute_batch(
            "INSERT INTO engine_events(seq, at_ms, kind) VALUES (1, 0, 'old');
             INSERT INTO engine_events(seq, at_ms, kind) VALUES (2, 0, 'old');",
        )
        .unwrap();
        c.execute(
            "INSERT INTO engine_events(seq, at_ms, kind) VALUES (?1, 0, 'new')",
            [1024 * 200],
        )
        .unwrap();
        let left: i64 = c
            .query_row("SELECT count(*) FROM engine_events", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 1, "rows 200,000 older than the newest are trimmed");
        assert_eq!(seq_before_last(c, 0).unwrap(), 1024 * 200);
    }
}
