//! The metadata store: an embedded SQLite database in WAL mode with versioned migrations.
//! Writes go through one connection (see `writer.rs` for the dedicated writer thread);
//! readers open their own read-only connections and never wait on a long write.

pub mod audit;
pub mod batches;
pub mod blob_table;
pub mod cached;
pub mod collections;
pub mod crash_point;
pub mod engine_commands;
pub mod engine_events;
pub mod engine_status;
pub mod file_metadata;
pub mod file_pages;
pub mod files;
pub mod identity;
pub mod ids;
pub mod import_items;
pub mod inspection;
pub mod links;
pub mod migrations;
pub mod name_index;
pub mod name_match;
pub mod outbox;
pub mod people;
pub mod processes;
pub mod quota;
pub mod trash;
pub mod writer;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior};

pub use files::{FileQuery, SortKey, TrashFilter};
pub use quota::{Reservation, ReservationId};

/// Page cache per connection (negative = KiB): index-heavy inserts stay in memory.
const CACHE_KIB: i64 = 65_536;
/// How long a writer waits for another process's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the library at {path} was written by a newer smartimage (schema version {found}; this \
         build knows up to {supported}); upgrade smartimage — the file was left untouched"
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error(
        "{path} is not a Smartimage library (it is some other SQLite database); point --data-dir \
         elsewhere — the file was left untouched"
    )]
    NotALibrary { path: PathBuf },
    #[error(
        "the library database {path} is damaged or not a database ({detail}); it was left \
         untouched. Keep a copy of the data dir, run `smartimage check` to see what is wrong, \
         then restore the database from a backup and run `smartimage check --adopt --account \
         NAME` (README, \"Backup and restore\") — never start a new one beside the blob store"
    )]
    Corrupt { path: PathBuf, detail: String },
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// One connection to the library database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Open (creating if absent) the library database and bring its schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        Store::open_with(path, true)
    }

    /// Open an existing library database (bringing its schema up to date is allowed): a file
    /// that is not already a Smartimage library is refused, never made into one.
    pub fn open_existing(path: &Path) -> Result<Store> {
        Store::open_with(path, false)
    }

    fn open_with(path: &Path, create: bool) -> Result<Store> {
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let conn = Connection::open_with_flags(path, flags)?;
        name_match::register(&conn)?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store.identify()?;
        if !create && store.is_blank()? {
            return Err(StoreError::NotALibrary {
                path: path.to_path_buf(),
            });
        }
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    /// A read-only connection for readers (the console, listings); never blocks the writer.
    pub fn open_readonly(path: &Path) -> Result<Store> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        name_match::register(&conn)?;
        let store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store.identify()?;
        store.conn.busy_timeout(BUSY_TIMEOUT)?;
        let version = store.schema_version()?;
        if version > migrations::latest_version() {
            return Err(store.newer_schema(version));
        }
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// Refuse files that are corrupt or belong to someone else, before writing anything.
    fn identify(&self) -> Result<()> {
        let probe = self
            .conn
            .query_row("PRAGMA application_id", [], |r| r.get::<_, i32>(0));
        let app_id = match probe {
            Ok(id) => id,
            Err(e) => return Err(self.corrupt(e)),
        };
        let tables: i64 = self
            .conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .map_err(|e| self.corrupt(e))?;
        if app_id == migrations::APPLICATION_ID || (app_id == 0 && tables == 0) {
            Ok(())
        } else {
            Err(StoreError::NotALibrary {
                path: self.path.clone(),
            })
        }
    }

    /// A database with no schema at all (a new file SQLite would make into anything).
    fn is_blank(&self) -> Result<bool> {
        let tables: i64 = self
            .conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .map_err(|e| self.corrupt(e))?;
        Ok(tables == 0)
    }

    fn corrupt(&self, e: rusqlite::Error) -> StoreError {
        StoreError::Corrupt {
            path: self.path.clone(),
            detail: e.to_string(),
        }
    }

    fn newer_schema(&self, found: i64) -> StoreError {
        StoreError::NewerSchema {
            path: self.path.clone(),
            found,
            supported: migrations::latest_version(),
        }
    }

    fn configure(&self) -> Result<()> {
        self.conn.busy_timeout(BUSY_TIMEOUT)?;
        // WAL: readers never wait for the writer. synchronous=FULL: a committed row survives a
        // power cut — files are deleted from Dropbox only after their row is durable.
        let mode: String = self
            .conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(mode, "SQLite refused WAL mode");
        }
        self.conn.execute_batch(
            "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;",
        )?;
        self.conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
        self.conn
            .set_prepared_statement_cache_capacity(cached::STATEMENT_CACHE_CAPACITY);
        Ok(())
    }

    fn migrate(&mut self) -> Result<()> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Read inside the write lock: another process may have migrated meanwhile.
        let mut version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let latest = migrations::latest_version();
        if version > latest {
            return Err(StoreError::NewerSchema {
                path,
                found: version,
                supported: latest,
            });
        }
        while version < latest {
            tx.execute_batch(migrations::MIGRATIONS[version as usize])?;
            version += 1;
            if version == migrations::WIDEN_SOURCES_AT {
                migrations::widen_file_sources(&tx)?;
            }
            tx.pragma_update(None, "user_version", version)?;
        }
        tx.pragma_update(None, "application_id", migrations::APPLICATION_ID)?;
        identity::ensure(&tx)?;
        index_pending_names(&tx)?;
        tx.commit()?;
        Ok(())
    }

    /// Run `f` in one IMMEDIATE transaction: all of it lands, or none of it.
    pub fn transaction<T, E>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E>
    where
        E: From<rusqlite::Error>,
    {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = f(&tx)?;
        index_pending_names(&tx)?;
        crash_point::before_commit();
        tx.commit()?;
        Ok(value)
    }

    /// Like [`Store::transaction`], but the commit does not wait for the disk. Only for state
    /// that crash recovery rebuilds anyway (quota reservations, claims on queued work): a later
    /// durable commit makes it durable too (WAL is written in order), and a power cut can lose
    /// it but never corrupt the database.
    pub fn transaction_relaxed<T, E>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E>
    where
        E: From<rusqlite::Error>,
    {
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        let outcome = self.transaction(f);
        self.conn.pragma_update(None, "synchronous", "FULL")?;
        outcome
    }

    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// True when no admin exists yet (the library needs `smartimage init`).
    pub fn is_empty(&self) -> Result<bool> {
        let any: Option<i64> = self
            .conn
            .query_row("SELECT id FROM admins LIMIT 1", [], |r| r.get(0))
            .optional()?;
        Ok(any.is_none())
    }
}

/// Is this error a UNIQUE constraint violation (a duplicate)?
pub fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

#[cfg(test)]
mod tests;

impl Store {
    /// Admit a file and reserve its quota atomically (see `quota::reserve`).
    #[allow(clippy::too_many_arguments)]
    pub fn reserve(
        &mut self,
        account: crate::library::model::AccountId,
        plan: &crate::library::policy::Plan,
        name: &str,
        size: u64,
        detection: &crate::library::formats::Detection,
        now: time::OffsetDateTime,
        purpose: &str,
        holder: Option<processes::ProcessId>,
    ) -> std::result::Result<Reservation, quota::ReserveError> {
        self.transaction(|tx| {
            quota::reserve(
                tx, account, plan, name, size, detection, now, purpose, holder,
            )
        })
    }
}

/// Names of files inserted in this transaction go into the trigram index before it commits
/// (migration V3); a transaction that inserted none pays one lookup of an empty table.
fn index_pending_names(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    let any: bool = tx
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM file_names_pending)")?
        .query_row([], |r| r.get(0))?;
    if any {
        tx.execute_batch(migrations::INDEX_PENDING_NAMES)?;
    }
    Ok(())
}
