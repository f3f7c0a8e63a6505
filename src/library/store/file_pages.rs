//! Keyset pagination of All Files: a page starts after (or before) a cursor — the sort key of a
//! row and its id — so reading page 10,000 costs what page 1 does, and rows that arrive meanwhile
//! never shift what is on screen.
//!
//! Each page is read in one of two ways. *Ordered scan*: walk the index that matches the sort
//! and the scope (named with `INDEXED BY`, so the plan cannot drift to a full sort), checking the
//! remaining filters row by row, at most [`SCAN_CHUNK`] rows at a time. When a chunk finds too
//! few matches the filters are selective, and a *driver* reads the candidates instead — the
//! trigram index for a name, or the collection's members — and sorts only those. A one- or
//! two-character name, which has no trigram, is driven by the in-memory name index's hits
//! ([`FileQuery::name_hits`]) instead, straight away: they are few by construction.

use rusqlite::types::{ToSql, Value};
use rusqlite::{Connection, Row};

use super::files::{FILE_SELECT, FileQuery, SortKey, Term, TrashFilter, file_from_row};
use super::name_index::NameHits;
use super::name_match;
use crate::library::model::{CollectionId, FileId, FileRecord};

/// Index rows an ordered scan reads before it asks whether a driver would be cheaper.
pub const SCAN_CHUNK: u32 = 4096;

/// Where a page sits in the sorted list: `sort key` value and id of one row.
#[derive(Clone, Debug, PartialEq)]
pub struct Cursor {
    pub key: Value,
    pub id: FileId,
}

impl Cursor {
    /// The cursor of `file` in a list sorted by `sort`.
    pub fn of(file: &FileRecord, sort: SortKey) -> Cursor {
        let key = match sort {
            SortKey::Imported => Value::Integer(file.imported_at),
            SortKey::Name => Value::Text(file.name.clone()),
            SortKey::Size => Value::Integer(file.size as i64),
            SortKey::Kind => Value::Text(file.kind.clone()),
            SortKey::Taken => Value::Text(file.taken_sort.clone()),
        };
        Cursor { key, id: file.id }
    }
}

/// Which page to read.
#[derive(Clone, Debug, PartialEq)]
pub enum PageStart {
    First,
    Last,
    /// The rows after this one (exclusive).
    After(Cursor),
    /// The rows before this one (exclusive), still returned in list order.
    Before(Cursor),
    /// This row (if it still matches) and the rows after it.
    At(Cursor),
}

/// How a page is read; tests force each one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    pub scan_chunk: u32,
    /// Use a driver as soon as one chunk disappoints (else keep scanning).
    pub drivers: bool,
}

impl Default for Plan {
    fn default() -> Plan {
        Plan {
            scan_chunk: SCAN_CHUNK,
            drivers: true,
        }
    }
}

/// Up to `limit` files matching `query` in its sort order, from `start`.
pub fn page(
    c: &Connection,
    query: &FileQuery,
    start: &PageStart,
    limit: u32,
) -> rusqlite::Result<Vec<FileRecord>> {
    page_with(c, query, start, limit, Plan::default())
}

pub fn page_with(
    c: &Connection,
    query: &FileQuery,
    start: &PageStart,
    limit: u32,
    plan: Plan,
) -> rusqlite::Result<Vec<FileRecord>> {
    // No account at all matches nothing (and SQLite, folding `account IN ()` to false, could
    // no longer prove a partial index's condition for `INDEXED BY`).
    if limit == 0 || matches!(query.accounts.as_deref(), Some([])) {
        return Ok(vec![]);
    }
    // Backward pages walk the list in reverse, then turn the rows around.
    let (reverse, from, inclusive) = match start {
        PageStart::First => (false, None, false),
        PageStart::Last => (true, None, false),
        PageStart::After(c) => (false, Some(c), false),
        PageStart::Before(c) => (true, Some(c), false),
        PageStart::At(c) => (false, Some(c), true),
    };
    let walk = Walk {
        query,
        descending: query.descending != reverse,
    };
    let mut ids = Vec::with_capacity(limit as usize);
    let mut position = from.cloned();
    let mut first_chunk_inclusive = inclusive;
    let straight_away = if query.trash == TrashFilter::Trashed {
        // The sort indexes hold only files outside the trash: the trash is read off its own
        // index, and only its rows are sorted.
        Some(Driver::Trash)
    } else {
        walk.driver()
            .filter(|d| plan.drivers && matches!(d, Driver::Hits(_)))
    };
    if let Some(driver) = straight_away {
        // The name index already knows the few files that can match (or the trash is the
        // candidate set): no scan.
        ids = walk.driven(c, &driver, from, inclusive, limit)?;
    } else {
        loop {
            let chunk =
                walk.scan_chunk(c, position.as_ref(), first_chunk_inclusive, plan.scan_chunk)?;
            first_chunk_inclusive = false;
            let exhausted = (chunk.len() as u32) < plan.scan_chunk;
            for (cursor, hit) in &chunk {
                if *hit && ids.len() < limit as usize {
                    ids.push(cursor.id);
                }
            }
            if ids.len() >= limit as usize || exhausted {
                break;
            }
            if plan.drivers {
                ids = match walk.driver() {
                    Some(driver) => walk.driven(c, &driver, from, inclusive, limit)?,
                    None => {
                        // No index narrows it: let SQLite walk the rest itself and hand back only
                        // the matches (one statement, no row crosses into Rust unless it matches).
                        let after = chunk.last().map(|(cursor, _)| cursor);
                        let more = limit - ids.len() as u32;
                        ids.extend(walk.filtered_scan(c, after, more)?);
                        ids
                    }
                };
                break;
            }
            position = chunk.last().map(|(cursor, _)| cursor.clone());
        }
    }
    let mut rows = records(c, &ids)?;
    if reverse {
        rows.reverse();
    }
    Ok(rows)
}

/// The candidates a driver reads instead of the sort index.
enum Driver {
    Trigrams(String),
    Collection(CollectionId),
    /// The name index's hits, and every file added since it was read.
    Hits(std::sync::Arc<NameHits>),
    /// The files in the trash (`files_trashed`).
    Trash,
    /// The files from one camera (`files_by_camera`, `files_all_by_camera`).
    Camera,
    /// The files taken in a date range (the capture-time sort index).
    Taken,
}

struct Walk<'a> {
    query: &'a FileQuery,
    /// The direction rows are read in (list order, or reversed for backward pages).
    descending: bool,
}

impl Walk<'_> {
    fn key_column(&self) -> &'static str {
        self.query.sort.column()
    }

    fn order_by(&self) -> String {
        let dir = if self.descending { "DESC" } else { "ASC" };
        format!("ORDER BY {} {dir}, f.id {dir}", self.key_column())
    }

    /// `(key, id)` beyond `cursor` in reading order.
    fn keyset(
        &self,
        cursor: Option<&Cursor>,
        inclusive: bool,
        values: &mut Vec<Box<dyn ToSql>>,
    ) -> Option<String> {
        let cursor = cursor?;
        let (wide, strict, id_op) = match (self.descending, inclusive) {
            (false, false) => (">=", ">", ">"),
            (false, true) => (">=", ">", ">="),
            (true, false) => ("<=", "<", "<"),
            (true, true) => ("<=", "<", "<="),
        };
        values.push(Box::new(cursor.key.clone()));
        let key = values.len();
        values.push(Box::new(cursor.id));
        let id = values.len();
        // The first half is a range seek on the index; the second only sorts out equal keys.
        // (SQLite does not seek on a row value whose first column has a collation.)
        let column = self.key_column();
        Some(format!(
            "{column} {wide} ?{key} AND ({column} {strict} ?{key} OR f.id {id_op} ?{id})"
        ))
    }

    /// The index whose order is the sort and whose leading columns are the scope's equalities,
    /// and which terms it serves.
    fn index(&self) -> (String, Vec<Term>) {
        let q = self.query;
        let one_account = matches!(q.accounts.as_deref(), Some([_]));
        let sort = match q.sort {
            SortKey::Imported => "imported",
            SortKey::Name => "name",
            SortKey::Size => "size",
            SortKey::Kind => "kind",
            SortKey::Taken => "taken",
        };
        // Every sort index holds the files outside the trash only (V12): it serves that term.
        let mut served = vec![Term::Trash];
        let name = match (one_account, q.source.is_some()) {
            (true, false) => format!("files_by_{sort}"),
            (true, true) => format!("files_by_account_source_{sort}"),
            (false, false) => format!("files_all_by_{sort}"),
            (false, true) => format!("files_all_by_source_{sort}"),
        };
        if one_account {
            served.push(Term::Account);
        }
        if q.source.is_some() {
            served.push(Term::Source);
        }
        if q.sort == SortKey::Kind && q.kind.is_some() {
            // kind = ? then (kind, id) in order: still one range of the same index.
            served.push(Term::Kind);
        }
        if q.sort == SortKey::Taken {
            // A date range is a range of the capture-time index itself.
            served.push(Term::Taken);
        }
        (name, served)
    }

    /// The SQL of one ordered-scan chunk (public to the crate for the query-plan test).
    fn scan_sql(
        &self,
        cursor: Option<&Cursor>,
        inclusive: bool,
        chunk: u32,
    ) -> (String, Vec<Box<dyn ToSql>>) {
        let mut values = Vec::new();
        let (index, served) = self.index();
        let mut conditions = Vec::new();
        let mut residual = Vec::new();
        for (term, sql) in self.query.terms(&mut values) {
            if served.contains(&term) {
                conditions.push(sql);
            } else {
                residual.push(sql);
            }
        }
        if let Some(k) = self.keyset(cursor, inclusive, &mut values) {
            conditions.push(k);
        }
        let filter = where_sql(&conditions);
        let hit = if residual.is_empty() {
            "1".to_owned()
        } else {
            // NULL (a camera compared on a file without one) is no match.
            format!("coalesce({}, 0)", residual.join(" AND "))
        };
        let sql = format!(
            "SELECT f.id, {key}, {hit} FROM files f INDEXED BY {index} {filter} {order} LIMIT {chunk}",
            key = self.key_column(),
            order = self.order_by(),
        );
        (sql, values)
    }

    /// Matching ids after `cursor` along the sort index, every filter checked by SQLite.
    fn filtered_scan(
        &self,
        c: &Connection,
        cursor: Option<&Cursor>,
        limit: u32,
    ) -> rusqlite::Result<Vec<FileId>> {
        let (index, _) = self.index();
        let from = format!("files f INDEXED BY {index}");
        self.ids_from(c, &from, Vec::new(), cursor, false, limit)
    }

    /// `SELECT f.id FROM {from}` with every filter and the keyset after `cursor`, in the sort's
    /// order; `values` already holds the parameters `from` refers to.
    fn ids_from(
        &self,
        c: &Connection,
        from: &str,
        values: Vec<Box<dyn ToSql>>,
        cursor: Option<&Cursor>,
        inclusive: bool,
        limit: u32,
    ) -> rusqlite::Result<Vec<FileId>> {
        let (sql, values) = self.ids_sql(from, values, cursor, inclusive, limit);
        let mut stmt = c.prepare_cached(&sql)?;
        let params: Vec<&dyn ToSql> = values.iter().map(|v| v.as_ref()).collect();
        stmt.query_map(params.as_slice(), |r| r.get(0))?.collect()
    }

    fn ids_sql(
        &self,
        from: &str,
        mut values: Vec<Box<dyn ToSql>>,
        cursor: Option<&Cursor>,
        inclusive: bool,
        limit: u32,
    ) -> (String, Vec<Box<dyn ToSql>>) {
        let mut conditions: Vec<String> = self
            .query
            .terms(&mut values)
            .into_iter()
            .map(|(_, sql)| sql)
            .collect();
        if let Some(k) = self.keyset(cursor, inclusive, &mut values) {
            conditions.push(k);
        }
        let sql = format!(
            "SELECT f.id FROM {from} {} {} LIMIT {limit}",
            where_sql(&conditions),
            self.order_by()
        );
        (sql, values)
    }

    /// One chunk: each row read, with whether it matches every filter.
    fn scan_chunk(
        &self,
        c: &Connection,
        cursor: Option<&Cursor>,
        inclusive: bool,
        chunk: u32,
    ) -> rusqlite::Result<Vec<(Cursor, bool)>> {
        let (sql, values) = self.scan_sql(cursor, inclusive, chunk);
        let mut stmt = c.prepare_cached(&sql)?;
        let params: Vec<&dyn ToSql> = values.iter().map(|v| v.as_ref()).collect();
        stmt.query_map(params.as_slice(), |r: &Row<'_>| {
            Ok((
                Cursor {
                    id: r.get(0)?,
                    key: r.get(1)?,
                },
                r.get::<_, bool>(2)?,
            ))
        })?
        .collect()
    }

    fn driver(&self) -> Option<Driver> {
        let q = self.query;
        let name = q.name_contains.as_deref().filter(|text| !text.is_empty());
        if name.is_some()
            && let Some(hits) = &q.name_hits
        {
            return Some(Driver::Hits(hits.clone()));
        }
        let substring = name.filter(|_| !q.name_fuzzy);
        if let Some(text) = substring
            && let Some(fts) = name_match::trigram_query(&name_match::fold(text))
        {
            return Some(Driver::Trigrams(fts));
        }
        if let Some(collection) = q.collection {
            return Some(Driver::Collection(collection));
        }
        if q.camera.is_some() {
            return Some(Driver::Camera);
        }
        (q.sort != SortKey::Taken && (q.taken_from.is_some() || q.taken_before.is_some()))
            .then_some(Driver::Taken)
    }

    /// The index a camera or date-range driver reads (one account's, or every account's).
    fn driver_index(&self, by_account: &str, all: &str) -> String {
        let one_account = matches!(self.query.accounts.as_deref(), Some([_]));
        format!(
            "files f INDEXED BY {}",
            if one_account { by_account } else { all }
        )
    }

    /// Matching ids from the driver's candidates, sorted (only the candidates are sorted).
    fn driven(
        &self,
        c: &Connection,
        driver: &Driver,
        cursor: Option<&Cursor>,
        inclusive: bool,
        limit: u32,
    ) -> rusqlite::Result<Vec<FileId>> {
        let mut values: Vec<Box<dyn ToSql>> = Vec::new();
        let from = match driver {
            Driver::Trigrams(fts) => {
                values.push(Box::new(fts.clone()));
                format!(
                    "file_names(?{}) m CROSS JOIN files f ON f.id = m.rowid",
                    values.len()
                )
            }
            Driver::Collection(id) => {
                values.push(Box::new(*id));
                format!(
                    "collection_files d CROSS JOIN files f ON f.id = d.file AND d.collection = ?{}",
                    values.len()
                )
            }
            Driver::Hits(hits) => hits_source(hits, &mut values),
            Driver::Trash => TRASH_SOURCE.to_owned(),
            Driver::Camera => self.driver_index("files_by_camera", "files_all_by_camera"),
            Driver::Taken => self.driver_index("files_by_taken", "files_all_by_taken"),
        };
        self.ids_from(c, &from, values, cursor, inclusive, limit)
    }
}

/// The candidate rows of [`Driver::Trash`] as `f`.
const TRASH_SOURCE: &str = "files f INDEXED BY files_trashed";

/// The candidate rows of [`Driver::Hits`] as `f`: the listed ids, then every row above the
/// index's high-water mark (none of them are in the list, so none comes twice).
fn hits_source(hits: &NameHits, values: &mut Vec<Box<dyn ToSql>>) -> String {
    let list = format!(
        "[{}]",
        hits.ids
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    );
    values.push(Box::new(list));
    let list = values.len();
    values.push(Box::new(hits.above));
    let above = values.len();
    format!(
        "(SELECT value AS id FROM json_each(?{list}) \
          UNION ALL SELECT id FROM files WHERE id > ?{above}) m \
         CROSS JOIN files f ON f.id = m.id"
    )
}

fn where_sql(conditions: &[String]) -> String {
    if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    }
}

/// Full records of `ids`, in that order.
fn records(c: &Connection, ids: &[FileId]) -> rusqlite::Result<Vec<FileRecord>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let list = ids
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let mut stmt = c.prepare(&format!("{} WHERE f.id IN ({list})", *FILE_SELECT))?;
    let mut found: std::collections::HashMap<FileId, FileRecord> = stmt
        .query_map([], file_from_row)?
        .map(|r| r.map(|f| (f.id, f)))
        .collect::<rusqlite::Result<_>>()?;
    Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
}

/// How many files match `query`. A substring filter counts only the candidates of the trigram
/// index (or of the name index) instead of checking every name.
pub fn count(c: &Connection, query: &FileQuery) -> rusqlite::Result<u64> {
    let walk = Walk {
        query,
        descending: false,
    };
    let mut values: Vec<Box<dyn ToSql>> = vec![];
    if query.trash == TrashFilter::Trashed {
        // The trash index holds every candidate (`files_trashed`).
        return super::files::count_files(c, query);
    }
    let from = match walk.driver() {
        Some(Driver::Trigrams(fts)) => {
            values.push(Box::new(fts));
            "file_names(?1) m CROSS JOIN files f ON f.id = m.rowid".to_owned()
        }
        Some(Driver::Hits(hits)) => hits_source(&hits, &mut values),
        _ => return super::files::count_files(c, query),
    };
    let conditions: Vec<String> = query
        .terms(&mut values)
        .into_iter()
        .map(|(_, sql)| sql)
        .collect();
    let sql = format!("SELECT count(*) FROM {from} {}", where_sql(&conditions));
    let params: Vec<&dyn ToSql> = values.iter().map(|v| v.as_ref()).collect();
    let n: i64 = c.query_row(&sql, params.as_slice(), |r| r.get(0))?;
    Ok(n as u64)
}

/// The query plan of a page's ordered scan (for the trash, of its driven read), as `EXPLAIN
/// QUERY PLAN` tells it (for tests).
pub fn scan_plan(
    c: &Connection,
    query: &FileQuery,
    from: Option<&Cursor>,
) -> rusqlite::Result<String> {
    let walk = Walk {
        query,
        descending: query.descending,
    };
    let (sql, values) = if query.trash == TrashFilter::Trashed {
        walk.ids_sql(TRASH_SOURCE, Vec::new(), from, false, SCAN_CHUNK)
    } else {
        walk.scan_sql(from, false, SCAN_CHUNK)
    };
    let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
    let params: Vec<&dyn ToSql> = values.iter().map(|v| v.as_ref()).collect();
    let lines: Vec<String> = stmt
        .query_map(params.as_slice(), |r| r.get::<_, String>(3))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(lines.join("\n"))
}

#[cfg(test)]
mod tests;
