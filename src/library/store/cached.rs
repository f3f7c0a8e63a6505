//! `execute` and `query_row` through the connection's prepared-statement cache.
//!
//! rusqlite's `Connection::execute` and `query_row` parse their SQL on every call; on the
//! import's per-file path (item states, reservations, file rows) parsing was 8 % of the CPU of a
//! 10,000-file import. For fixed SQL text only: every distinct text takes a cache slot.

use rusqlite::{Connection, Params, Row};

/// Statements a connection keeps prepared (rusqlite's default is 16; the import path alone
/// uses more, and a full cache evicts the oldest each time).
pub const STATEMENT_CACHE_CAPACITY: usize = 128;

pub trait CachedStatements {
    fn execute_cached<P: Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;
    fn query_row_cached<T, P: Params, F>(&self, sql: &str, params: P, f: F) -> rusqlite::Result<T>
    where
        F: FnOnce(&Row<'_>) -> rusqlite::Result<T>;
}

impl CachedStatements for Connection {
    fn execute_cached<P: Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    fn query_row_cached<T, P: Params, F>(&self, sql: &str, params: P, f: F) -> rusqlite::Result<T>
    where
        F: FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    {
        self.prepare_cached(sql)?.query_row(params, f)
    }
}
