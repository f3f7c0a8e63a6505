//! File rows: insert (with the Dropbox origin) and filtered, sorted listings.

use super::cached::CachedStatements;
use crate::library::ids::LinkId;
use rusqlite::types::ToSql;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::name_match;
use crate::library::formats::FileKind;
use crate::library::model::{AccountId, CollectionId, FileId, FileRecord, NewFile, Source};

/// Separates collection names inside one SQL `group_concat` (a character no name may hold).
const NAME_SEPARATOR: char = '\u{1f}';

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortKey {
    #[default]
    Imported,
    Name,
    Size,
    Kind,
    /// When it was taken (the import time for a file that does not say; migration V13).
    Taken,
}

impl SortKey {
    pub const ALL: [SortKey; 5] = [
        SortKey::Imported,
        SortKey::Name,
        SortKey::Size,
        SortKey::Kind,
        SortKey::Taken,
    ];

    pub(crate) fn column(self) -> &'static str {
        match self {
            SortKey::Imported => "f.imported_at",
            SortKey::Name => "f.name COLLATE NOCASE",
            SortKey::Size => "f.size",
            SortKey::Kind => "f.kind",
            SortKey::Taken => "f.taken_sort",
        }
    }
}

/// Files in the library, or files in the trash: every listing is one or the other. The live
/// side is read off the partial sort indexes (`WHERE trashed_at IS NULL`, migration V12), the
/// trash off `files_trashed`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TrashFilter {
    #[default]
    Live,
    Trashed,
}

/// The one definition of a duplicate (README.md, "Trash, undo and duplicates"): a file not in the trash whose
/// account holds an older file with the same bytes (sha256), also not in the trash. Its value
/// is that older file's id — the account's oldest copy, which is what an upload or an import
/// with `duplicates = "skip"` finds first ([`file_with_sha256`]). Served by `files_by_sha256`.
pub(crate) const DUPLICATE_OF: &str = "CASE WHEN f.trashed_at IS NULL THEN
        (SELECT min(d.id) FROM files d WHERE d.sha256 = f.sha256 AND +d.account = f.account
            AND d.trashed_at IS NULL AND d.id < f.id) END";

/// Which files to list. Every `None` means "no restriction".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileQuery {
    pub accounts: Option<Vec<AccountId>>,
    pub source: Option<Source>,
    pub collection: Option<CollectionId>,
    pub kind: Option<FileKind>,
    /// Case-insensitive (Unicode) name filter: a substring, or a subsequence with `name_fuzzy`.
    pub name_contains: Option<String>,
    pub name_fuzzy: bool,
    /// Files left out (everything matching, except these).
    pub exclude: Vec<FileId>,
    /// The library (default) or the trash.
    pub trash: TrashFilter,
    /// Only duplicates (see [`DUPLICATE_OF`]).
    pub duplicates_only: bool,
    /// Only files from this camera (make and model, case-insensitive; migration V13).
    pub camera: Option<String>,
    /// Only files taken in this range of capture times (`YYYY-MM-DD…` text, the camera's
    /// clock): from (inclusive) and before (exclusive). A file without a capture time is
    /// outside every range.
    pub taken_from: Option<String>,
    pub taken_before: Option<String>,
    /// A planner hint for `name_contains`: the only files whose names can match it, as a
    /// substring or fuzzily as `name_fuzzy` says (from the in-memory [`super::name_index`]).
    /// Every row is still checked in SQL.
    pub name_hits: Option<std::sync::Arc<super::name_index::NameHits>>,
    pub sort: SortKey,
    pub descending: bool,
    pub limit: Option<u32>,
    pub offset: u64,
}

/// One restriction of a [`FileQuery`], so a planner can tell index-served terms from the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Term {
    Account,
    Source,
    Collection,
    Kind,
    Name,
    Exclude,
    Trash,
    Duplicate,
    Camera,
    Taken,
}

impl FileQuery {
    /// Each restriction as SQL over `f` (the files table); parameters are appended to `values`
    /// and numbered globally, so terms can go anywhere in one statement.
    pub(crate) fn terms(&self, values: &mut Vec<Box<dyn ToSql>>) -> Vec<(Term, String)> {
        let mut terms = Vec::new();
        terms.push((
            Term::Trash,
            match self.trash {
                TrashFilter::Live => "f.trashed_at IS NULL",
                TrashFilter::Trashed => "f.trashed_at IS NOT NULL",
            }
            .to_owned(),
        ));
        if self.duplicates_only {
            terms.push((Term::Duplicate, format!("({DUPLICATE_OF}) IS NOT NULL")));
        }
        if let Some(ids) = &self.accounts {
            terms.push((
                Term::Account,
                match ids.as_slice() {
                    [one] => format!("f.account = {one}"),
                    many => format!(
                        "f.account IN ({})",
                        many.iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(",")
                    ),
                },
            ));
        }
        if let Some(source) = self.source {
            values.push(Box::new(source.as_str()));
            terms.push((Term::Source, format!("f.source = ?{}", values.len())));
        }
        if let Some(collection) = self.collection {
            values.push(Box::new(collection));
            terms.push((Term::Collection, format!(
                "EXISTS (SELECT 1 FROM collection_files cf WHERE cf.file = f.id AND cf.collection = ?{})",
                values.len()
            )));
        }
        if let Some(kind) = self.kind {
            values.push(Box::new(kind.as_str()));
            terms.push((Term::Kind, format!("f.kind = ?{}", values.len())));
        }
        if let Some(text) = self.name_contains.as_deref().filter(|t| !t.is_empty()) {
            values.push(Box::new(name_match::fold(text)));
            terms.push((
                Term::Name,
                format!(
                    "{}(f.name, ?{}, {})",
                    name_match::MATCH_FUNCTION,
                    values.len(),
                    i32::from(self.name_fuzzy)
                ),
            ));
        }
        if let Some(camera) = &self.camera {
            values.push(Box::new(camera.clone()));
            terms.push((
                Term::Camera,
                format!("f.camera = ?{} COLLATE NOCASE", values.len()),
            ));
        }
        if self.taken_from.is_some() || self.taken_before.is_some() {
            // On the sort key, so a capture-time sort seeks the range; `taken_sort` is `taken`
            // whenever there is a capture time (V13), and files without one are left out.
            let mut sql = vec!["f.taken IS NOT NULL".to_owned()];
            if let Some(from) = &self.taken_from {
                values.push(Box::new(from.clone()));
                sql.push(format!("f.taken_sort >= ?{}", values.len()));
            }
            if let Some(before) = &self.taken_before {
                values.push(Box::new(before.clone()));
                sql.push(format!("f.taken_sort < ?{}", values.len()));
            }
            terms.push((Term::Taken, sql.join(" AND ")));
        }
        if !self.exclude.is_empty() {
            terms.push((
                Term::Exclude,
                format!(
                    "f.id NOT IN ({})",
                    self.exclude
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                ),
            ));
        }
        terms
    }

    /// The WHERE clause and its parameters, shared by listing, counting and batch adds.
    pub(crate) fn where_clause(&self) -> (String, Vec<Box<dyn ToSql>>) {
        let mut values: Vec<Box<dyn ToSql>> = Vec::new();
        let clauses: Vec<String> = self
            .terms(&mut values)
            .into_iter()
            .map(|(_, sql)| sql)
            .collect();
        let sql = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        (sql, values)
    }
}

/// The capture-time sort key of a file with no capture time: its import time (unix seconds in
/// `imported_at`), as UTC text in the capture time's format (migration V13).
pub(crate) fn imported_sort_key(imported_at: &str) -> String {
    format!("strftime('%Y-%m-%dT%H:%M:%S', {imported_at}, 'unixepoch')")
}

static INSERT_FILE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "INSERT INTO files(account, name, size, kind, format, mime, sha256, source, uploaded_by,
                           imported_at, video_month, dropbox_link, dropbox_path, dropbox_id,
                           dropbox_rev, content_hash, batch, taken_sort)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, {})",
        imported_sort_key("?10")
    )
});

/// Inserts a file row with its bookkeeping (running totals, trigram-index list); takes a
/// transaction so the row and its totals land together or not at all.
pub fn insert_file(
    c: &rusqlite::Transaction<'_>,
    f: &NewFile,
    video_month: Option<&str>,
) -> rusqlite::Result<FileId> {
    let origin = f.dropbox.as_ref();
    // Cached: bulk imports insert thousands of rows per transaction.
    c.prepare_cached(&INSERT_FILE)?.execute(params![
        f.account,
        f.name,
        f.size as i64,
        f.kind,
        f.format,
        f.mime,
        f.sha256,
        f.source.as_str(),
        f.uploaded_by,
        f.imported_at,
        video_month,
        origin.map(|o| o.link),
        origin.map(|o| o.path.as_str()),
        origin.map(|o| o.id.as_str()),
        origin.map(|o| o.rev.as_str()),
        origin.map(|o| o.content_hash.as_str()),
        f.batch,
    ])?;
    let id = FileId(c.last_insert_rowid());
    // What insert triggers used to do (migration V4 says why they are gone): the running
    // totals admission reads, and the row's place in the list for the trigram index.
    c.execute_cached(
        "UPDATE storage_usage SET bytes = bytes + ?2 WHERE account = ?1",
        params![f.account, f.size as i64],
    )?;
    if let Some(month) = video_month {
        c.execute_cached(
            "INSERT INTO video_usage(account, month, bytes) VALUES (?1, ?2, ?3)
             ON CONFLICT(account, month) DO UPDATE SET bytes = bytes + excluded.bytes",
            params![f.account, month, f.size as i64],
        )?;
    }
    c.execute_cached("INSERT INTO file_names_pending(id) VALUES (?1)", [id])?;
    Ok(id)
}

pub(crate) static FILE_SELECT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT f.id, f.account, a.name, f.name, f.size, f.kind, f.format, f.mime,
        f.sha256, f.source, ad.email, f.imported_at, f.dropbox_path,
        (SELECT group_concat(c.name, char(31)) FROM collection_files cf
           JOIN collections c ON c.id = cf.collection WHERE cf.file = f.id),
        f.trashed_at, {DUPLICATE_OF}, f.batch, f.taken, f.camera, f.taken_sort
    FROM files f
    JOIN accounts a ON a.id = f.account
    LEFT JOIN admins ad ON ad.id = f.uploaded_by"
    )
});

pub(crate) fn file_from_row(r: &Row<'_>) -> rusqlite::Result<FileRecord> {
    let source: String = r.get(9)?;
    let collections: Option<String> = r.get(13)?;
    let mut collections: Vec<String> = collections
        .map(|s| s.split(NAME_SEPARATOR).map(str::to_owned).collect())
        .unwrap_or_default();
    collections.sort_by_key(|name| name.to_lowercase());
    Ok(FileRecord {
        id: r.get(0)?,
        account: r.get(1)?,
        account_name: r.get(2)?,
        name: r.get(3)?,
        size: r.get::<_, i64>(4)? as u64,
        kind: r.get(5)?,
        format: r.get(6)?,
        mime: r.get(7)?,
        sha256: r.get(8)?,
        source: Source::parse(&source).unwrap_or(Source::Upload),
        uploaded_by: r.get(10)?,
        imported_at: r.get(11)?,
        dropbox_path: r.get(12)?,
        collections,
        trashed_at: r.get(14)?,
        duplicate_of: r.get(15)?,
        batch: r.get(16)?,
        taken: r.get(17)?,
        camera: r.get(18)?,
        taken_sort: r.get(19)?,
    })
}

pub fn file_by_id(c: &Connection, id: FileId) -> rusqlite::Result<Option<FileRecord>> {
    c.query_row(
        &format!("{} WHERE f.id = ?1", *FILE_SELECT),
        [id],
        file_from_row,
    )
    .optional()
}

pub fn list_files(c: &Connection, q: &FileQuery) -> rusqlite::Result<Vec<FileRecord>> {
    let (filter, mut values) = q.where_clause();
    let direction = if q.descending { "DESC" } else { "ASC" };
    let limit = q.limit.map(i64::from).unwrap_or(-1);
    values.push(Box::new(limit));
    let limit_index = values.len();
    values.push(Box::new(q.offset as i64));
    let offset_index = values.len();
    let sql = format!(
        "{} {filter} ORDER BY {} {direction}, f.id {direction} LIMIT ?{limit_index} OFFSET ?{offset_index}",
        *FILE_SELECT,
        q.sort.column()
    );
    let mut stmt = c.prepare(&sql)?;
    let params: Vec<&dyn ToSql> = values.iter().map(|v| v.as_ref()).collect();
    stmt.query_map(params.as_slice(), file_from_row)?.collect()
}

pub fn count_files(c: &Connection, q: &FileQuery) -> rusqlite::Result<u64> {
    let (filter, values) = q.where_clause();
    let params: Vec<&dyn ToSql> = values.iter().map(|v| v.as_ref()).collect();
    let n: i64 = c.query_row(
        &format!("SELECT count(*) FROM files f {filter}"),
        params.as_slice(),
        |r| r.get(0),
    )?;
    Ok(n as u64)
}

/// Does some row reference this blob? (Garbage collection asks once per blob on disk.)
pub fn is_referenced(c: &Connection, sha256: &str) -> rusqlite::Result<bool> {
    c.prepare_cached("SELECT EXISTS (SELECT 1 FROM files WHERE sha256 = ?1)")?
        .query_row([sha256], |r| r.get(0))
}

/// The row of an imported Dropbox revision, if it is in the library.
pub fn file_by_dropbox_revision(
    c: &Connection,
    link: LinkId,
    dropbox_id: &str,
    rev: &str,
) -> rusqlite::Result<Option<FileId>> {
    c.query_row_cached(
        "SELECT id FROM files WHERE dropbox_link = ?1 AND dropbox_id = ?2 AND dropbox_rev = ?3",
        params![link, dropbox_id, rev],
        |r| r.get(0),
    )
    .optional()
}

/// Does the account hold a file of exactly `size` bytes outside the trash? An upload hashes a
/// file before storing it only then: bytes the account has come with a size it has
/// (`files_by_size`, which holds the files outside the trash).
pub fn account_has_size(c: &Connection, account: AccountId, size: u64) -> rusqlite::Result<bool> {
    c.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM files
                         WHERE account = ?1 AND size = ?2 AND trashed_at IS NULL)",
    )?
    .query_row(params![account, size as i64], |r| r.get(0))
}

/// The account's oldest file with these bytes outside the trash, if any: what an upload (and an
/// import with `duplicates = "skip"`) skips as a duplicate — [`DUPLICATE_OF`]'s definition. A
/// copy of a file in the trash is new.
/// Served by `files_by_sha256` (the `+` keeps the planner off the account-first indexes, which
/// would walk every file of the account); a hash is in few rows, whatever the account.
pub fn file_with_sha256(
    c: &Connection,
    account: AccountId,
    sha256: &str,
) -> rusqlite::Result<Option<FileId>> {
    c.query_row_cached(DUPLICATE_LOOKUP, params![sha256, account], |r| {
        r.get::<_, Option<FileId>>(0)
    })
}

const DUPLICATE_LOOKUP: &str =
    "SELECT min(id) FROM files WHERE sha256 = ?1 AND +account = ?2 AND trashed_at IS NULL";

/// The query plan of [`file_with_sha256`], as `EXPLAIN QUERY PLAN` tells it (for tests).
pub fn duplicate_lookup_plan(c: &Connection) -> rusqlite::Result<String> {
    let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {DUPLICATE_LOOKUP}"))?;
    let lines: Vec<String> = stmt
        .query_map(params!["", 0], |r| r.get::<_, String>(3))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(lines.join("\n"))
}
