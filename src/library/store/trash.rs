//! The trash (migration V12): a trashed file keeps its row, its blob, its collections and its
//! place in the storage totals; `trashed_at` says when it went. Restoring clears the column.
//! Purging is the one deliberate way a file row is deleted: the delete triggers of V1 and V6
//! then free its quota and release its blob through the blob table (collected later, never
//! here), and its collection memberships and metadata go with it (cascades).

use rusqlite::types::ToSql;
use rusqlite::{Connection, Transaction, params};

use super::files::FileQuery;
use crate::library::model::{AccountId, AdminId, FileId};

/// Files and bytes a trash operation covered, per account.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Moved {
    pub files: u64,
    pub bytes: u64,
}

fn id_list<T: ToString>(ids: &[T]) -> String {
    ids.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// `(account, files, bytes)` of the given rows, grouped by account (for confirmations and the
/// audit trail). `state` restricts to files in (`true`) or out of (`false`) the trash.
pub fn totals_of(
    c: &Connection,
    ids: &[FileId],
    trashed: bool,
) -> rusqlite::Result<Vec<(AccountId, Moved)>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let state = if trashed { "IS NOT NULL" } else { "IS NULL" };
    let mut stmt = c.prepare(&format!(
        "SELECT account, count(*), total(size) FROM files
          WHERE id IN ({}) AND trashed_at {state} GROUP BY account ORDER BY account",
        id_list(ids)
    ))?;
    stmt.query_map([], |r| {
        Ok((
            r.get(0)?,
            Moved {
                files: r.get::<_, i64>(1)? as u64,
                bytes: r.get::<_, f64>(2)? as u64,
            },
        ))
    })?
    .collect()
}

/// Ids of the files matching `query` (its trash filter included).
pub fn matching_ids(c: &Connection, query: &FileQuery) -> rusqlite::Result<Vec<FileId>> {
    let (filter, values) = query.where_clause();
    let params: Vec<&dyn ToSql> = values.iter().map(|v| v.as_ref()).collect();
    let mut stmt = c.prepare(&format!("SELECT f.id FROM files f {filter} ORDER BY f.id"))?;
    stmt.query_map(params.as_slice(), |r| r.get(0))?.collect()
}

/// Move files to the trash (those already there are left as they are). Returns how many moved.
pub fn trash(
    tx: &Transaction<'_>,
    ids: &[FileId],
    by: Option<AdminId>,
    at: i64,
) -> rusqlite::Result<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let n = tx.execute(
        &format!(
            "UPDATE files SET trashed_at = ?1, trashed_by = ?2
              WHERE id IN ({}) AND trashed_at IS NULL",
            id_list(ids)
        ),
        params![at, by],
    )?;
    Ok(n as u64)
}

/// Bring files back from the trash (their collections were kept). Returns how many came back.
pub fn restore(tx: &Transaction<'_>, ids: &[FileId]) -> rusqlite::Result<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let n = tx.execute(
        &format!(
            "UPDATE files SET trashed_at = NULL, trashed_by = NULL
              WHERE id IN ({}) AND trashed_at IS NOT NULL",
            id_list(ids)
        ),
        [],
    )?;
    Ok(n as u64)
}

/// Trashed files of `accounts` (all when `None`) that went to the trash before `before` (any
/// time when `None`), read off `files_trashed`: `(id, account, size)`.
pub fn trashed_before(
    c: &Connection,
    accounts: Option<&[AccountId]>,
    before: Option<i64>,
) -> rusqlite::Result<Vec<(FileId, AccountId, u64)>> {
    if matches!(accounts, Some([])) {
        return Ok(vec![]);
    }
    let mut conditions = vec!["trashed_at IS NOT NULL".to_owned()];
    if let Some(accounts) = accounts {
        conditions.push(format!("account IN ({})", id_list(accounts)));
    }
    if let Some(before) = before {
        conditions.push(format!("trashed_at < {before}"));
    }
    let mut stmt = c.prepare(&format!(
        "SELECT id, account, size FROM files INDEXED BY files_trashed WHERE {} ORDER BY id",
        conditions.join(" AND ")
    ))?;
    stmt.query_map([], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64))
    })?
    .collect()
}

/// Delete trashed rows for good. The journal's references to them are cleared first (its
/// foreign key would refuse the delete; `import_items_by_file` finds them). Rows not in the
/// trash are never touched. Returns how many rows went.
pub fn purge(tx: &Transaction<'_>, ids: &[FileId]) -> rusqlite::Result<u64> {
    let mut gone = 0;
    for chunk in ids.chunks(500) {
        let list = id_list(chunk);
        tx.execute(
            &format!(
                "UPDATE import_items SET file = NULL
                  WHERE file IN (SELECT id FROM files WHERE id IN ({list})
                                                          AND trashed_at IS NOT NULL)"
            ),
            [],
        )?;
        gone += tx.execute(
            &format!("DELETE FROM files WHERE id IN ({list}) AND trashed_at IS NOT NULL"),
            [],
        )? as u64;
    }
    Ok(gone)
}

#[cfg(test)]
mod tests;
