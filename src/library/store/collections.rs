//! Collections and their membership.

use rusqlite::types::ToSql;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::files::FileQuery;
use crate::library::model::{AccountId, AdminId, Collection, CollectionId, FileId};

const COLLECTION_SELECT: &str = "SELECT c.id, c.account, c.name, c.created_at,
        (SELECT count(*) FROM collection_files cf WHERE cf.collection = c.id)
    FROM collections c";

fn collection_from_row(r: &Row<'_>) -> rusqlite::Result<Collection> {
    Ok(Collection {
        id: r.get(0)?,
        account: r.get(1)?,
        name: r.get(2)?,
        created_at: r.get(3)?,
        file_count: r.get::<_, i64>(4)? as u64,
    })
}

pub fn create_collection(
    c: &Connection,
    account: AccountId,
    name: &str,
    by: AdminId,
    now: i64,
) -> rusqlite::Result<CollectionId> {
    c.execute(
        "INSERT INTO collections(account, name, created_by, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![account, name, by, now],
    )?;
    Ok(CollectionId(c.last_insert_rowid()))
}

pub fn collection_by_name(
    c: &Connection,
    account: AccountId,
    name: &str,
) -> rusqlite::Result<Option<Collection>> {
    c.query_row(
        &format!("{COLLECTION_SELECT} WHERE c.account = ?1 AND c.name = ?2"),
        params![account, name],
        collection_from_row,
    )
    .optional()
}

pub fn list_collections(
    c: &Connection,
    accounts: Option<&[AccountId]>,
) -> rusqlite::Result<Vec<Collection>> {
    let filter = match accounts {
        None => String::new(),
        Some(ids) => format!(
            "WHERE c.account IN ({})",
            ids.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        ),
    };
    let mut stmt = c.prepare(&format!(
        "{COLLECTION_SELECT} {filter} ORDER BY c.account, c.name COLLATE NOCASE"
    ))?;
    stmt.query_map([], collection_from_row)?.collect()
}

/// Add files by id; files already in the collection are left as they are. Returns how many
/// were newly added.
pub fn add_files(
    c: &Connection,
    collection: CollectionId,
    files: &[FileId],
    by: AdminId,
    now: i64,
) -> rusqlite::Result<u64> {
    let mut stmt = c.prepare(
        "INSERT OR IGNORE INTO collection_files(collection, file, added_by, added_at) VALUES (?1, ?2, ?3, ?4)",
    )?;
    let mut added = 0;
    for file in files {
        added += stmt.execute(params![collection, file, by, now])? as u64;
    }
    Ok(added)
}

/// Add every file matching `query` in one statement (the query is held, not a list of ids).
pub fn add_matching(
    c: &Connection,
    collection: CollectionId,
    query: &FileQuery,
    by: AdminId,
    now: i64,
) -> rusqlite::Result<u64> {
    let (filter, mut values) = query.where_clause();
    values.push(Box::new(collection));
    let collection_index = values.len();
    values.push(Box::new(by));
    let by_index = values.len();
    values.push(Box::new(now));
    let now_index = values.len();
    // In id order the rows go into the (collection, file) key one after another instead of
    // all over it: 1.9 s instead of 5.0 s for a million files (measured, see BENCHMARKS.md).
    let sql = format!(
        "INSERT OR IGNORE INTO collection_files(collection, file, added_by, added_at)
         SELECT ?{collection_index}, f.id, ?{by_index}, ?{now_index} FROM files f {filter}
         ORDER BY f.id"
    );
    let params: Vec<&dyn ToSql> = values.iter().map(|v| v.as_ref()).collect();
    Ok(c.execute(&sql, params.as_slice())? as u64)
}

/// The collections `file` is in.
pub fn collections_of_file(c: &Connection, file: FileId) -> rusqlite::Result<Vec<CollectionId>> {
    let mut stmt = c.prepare_cached(
        "SELECT collection FROM collection_files WHERE file = ?1 ORDER BY collection",
    )?;
    stmt.query_map([file], |r| r.get(0))?.collect()
}

/// Take `file` out of `collection` (the file itself stays in All Files).
pub fn remove_file(
    c: &Connection,
    collection: CollectionId,
    file: FileId,
) -> rusqlite::Result<bool> {
    Ok(c.execute(
        "DELETE FROM collection_files WHERE collection = ?1 AND file = ?2",
        params![collection, file],
    )? > 0)
}
