//! Import batches (migration V12): every import pass that commits a file and every upload is
//! one, and each file it brought in names it (`files.batch`), so `import undo` can take a
//! batch's files to the trash in one step.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;

use crate::library::ids::{BatchId, LinkId};
use crate::library::model::{AccountId, AdminId, FileId, Source};

/// A batch as `import history` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BatchSummary {
    pub batch: BatchId,
    pub account_id: AccountId,
    pub account: String,
    /// Dropbox (an import pass) or an upload.
    pub source: Source,
    pub started_at: i64,
    /// Who started it: the admin of an upload, the admin who authorized the link of a pass.
    pub started_by: Option<String>,
    /// Files it brought in (those purged since are gone from the count).
    pub files: u64,
    pub bytes: u64,
    /// Of `files`, how many are in the trash now.
    pub trashed: u64,
}

/// Start a batch (in the transaction that commits its first file).
pub fn open(
    tx: &Transaction<'_>,
    account: AccountId,
    source: Source,
    link: Option<LinkId>,
    by: Option<AdminId>,
    at: i64,
) -> rusqlite::Result<BatchId> {
    tx.prepare_cached(
        "INSERT INTO import_batches(account, source, link, started_by, started_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![account, source.as_str(), link, by, at])?;
    Ok(BatchId(tx.last_insert_rowid()))
}

const SUMMARY_SELECT: &str = "SELECT b.id, b.account, a.name, b.source, b.started_at, ad.email,
        (SELECT count(*) FROM files f WHERE f.batch = b.id),
        (SELECT total(f.size) FROM files f WHERE f.batch = b.id),
        (SELECT count(*) FROM files f WHERE f.batch = b.id AND f.trashed_at IS NOT NULL)
    FROM import_batches b
    JOIN accounts a ON a.id = b.account
    LEFT JOIN admins ad ON ad.id = b.started_by";

fn summary_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<BatchSummary> {
    Ok(BatchSummary {
        batch: r.get(0)?,
        account_id: r.get(1)?,
        account: r.get(2)?,
        source: Source::parse(&r.get::<_, String>(3)?).unwrap_or(Source::Upload),
        started_at: r.get(4)?,
        started_by: r.get(5)?,
        files: r.get::<_, i64>(6)? as u64,
        bytes: r.get::<_, f64>(7)? as u64,
        trashed: r.get::<_, i64>(8)? as u64,
    })
}

/// Newest first; `accounts = None` means every account.
pub fn history(
    c: &Connection,
    accounts: Option<&[AccountId]>,
    limit: u32,
) -> rusqlite::Result<Vec<BatchSummary>> {
    let filter = match accounts {
        None => String::new(),
        Some(ids) => format!(
            "WHERE b.account IN ({})",
            ids.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        ),
    };
    let mut stmt = c.prepare(&format!(
        "{SUMMARY_SELECT} {filter} ORDER BY b.id DESC LIMIT ?1"
    ))?;
    stmt.query_map([limit], summary_from_row)?.collect()
}

pub fn summary(c: &Connection, batch: BatchId) -> rusqlite::Result<Option<BatchSummary>> {
    c.query_row(
        &format!("{SUMMARY_SELECT} WHERE b.id = ?1"),
        [batch],
        summary_from_row,
    )
    .optional()
}

/// The batch's files outside the trash (`files_by_batch`).
pub fn live_files(c: &Connection, batch: BatchId) -> rusqlite::Result<Vec<FileId>> {
    let mut stmt = c.prepare_cached(
        "SELECT id FROM files WHERE batch = ?1 AND trashed_at IS NULL ORDER BY id",
    )?;
    stmt.query_map([batch], |r| r.get(0))?.collect()
}
