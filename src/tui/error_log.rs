//! The error log's state, a component of its own: its rows (failed imports from the store,
//! then live; refused uploads, live only), its cursor and its detail view, and what engine
//! events and library reads do to them. Pure; `panes/errors.rs` draws it and `App` routes to
//! it (`App::errors`).

use std::collections::{HashMap, HashSet};

use crate::import::events::ItemRef;
use crate::library::import_log::FailureEntry;
use crate::library::policy::ErrorKind;
use crate::library::store::import_items::{ItemId, ItemState};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorRow {
    pub item: ItemId,
    pub account: String,
    pub path: String,
    pub size: u64,
    pub kind: ErrorKind,
    pub detail: String,
    /// Unix seconds.
    pub at: i64,
    /// Sent back to the engine; leaves the log on the next refresh.
    pub retrying: bool,
    /// `Failed` (in the customer's report), `Retrying` (tried again automatically from
    /// `next_attempt_at`) or `QueuedForRetry` (an admin's retry, from any process, waiting for
    /// the engine that runs).
    pub state: ItemState,
    /// Unix seconds.
    pub next_attempt_at: Option<i64>,
    /// The TXT report in Dropbox that lists this failure, once one was written.
    pub report: Option<String>,
    /// A refused direct upload (not retried: upload the file again).
    pub upload: bool,
}

impl ErrorRow {
    /// The row of an import the engine just failed or will try again.
    pub fn from_engine(
        item: ItemRef,
        kind: ErrorKind,
        detail: String,
        state: ItemState,
        next_attempt_at: Option<i64>,
    ) -> ErrorRow {
        ErrorRow {
            item: item.item,
            account: item.account,
            path: item.path,
            size: item.size,
            kind,
            detail,
            at: time::OffsetDateTime::now_utc().unix_timestamp(),
            retrying: false,
            state,
            next_attempt_at,
            report: None,
            upload: false,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct ErrorLog {
    /// Newest first.
    pub rows: Vec<ErrorRow>,
    /// Over the rows in scope.
    pub cursor: usize,
    /// The selected row is shown in full (`Enter`).
    pub detail: bool,
    /// Items that failed since the last library read was applied: a read taken just before
    /// the failure keeps their rows once; any other row missing from a read is gone (fixed,
    /// retried, or its link was replaced by a relink).
    pub failed_since_read: HashSet<ItemId>,
}

fn in_scope(row: &ErrorRow, scope: Option<&str>) -> bool {
    scope.is_none_or(|a| a == row.account)
}

impl ErrorLog {
    /// The rows of `scope` (`None`: every account's), newest first.
    pub fn in_scope(&self, scope: Option<&str>) -> Vec<&ErrorRow> {
        self.rows.iter().filter(|r| in_scope(r, scope)).collect()
    }

    pub fn selected(&self, scope: Option<&str>) -> Option<&ErrorRow> {
        self.in_scope(scope).get(self.cursor).copied()
    }

    /// Keep the cursor on a row of `scope`.
    pub fn clamp(&mut self, scope: Option<&str>) {
        let len = self.in_scope(scope).len();
        self.cursor = self.cursor.min(len.saturating_sub(1));
    }

    /// The account in scope changed: back to the first row, the list view.
    pub fn rescoped(&mut self) {
        self.cursor = 0;
        self.detail = false;
    }

    /// The engine failed an import: it goes on top (the customer's report lists it).
    pub fn failed(&mut self, row: ErrorRow) {
        self.rows.retain(|e| e.item != row.item);
        self.failed_since_read.insert(row.item);
        self.rows.insert(0, row);
    }

    /// The engine will try an import again later (not the customer's: no report).
    pub fn retrying(&mut self, row: ErrorRow) {
        self.rows.retain(|e| e.upload || e.item != row.item);
        self.rows.insert(0, row);
    }

    /// A direct upload was refused (never in the store: kept until the console closes).
    pub fn upload_refused(&mut self, row: ErrorRow) {
        self.rows.retain(|e| e.item != row.item);
        self.rows.insert(0, row);
    }

    /// A file that waited for a retry came in: no longer an error.
    pub fn imported(&mut self, item: ItemId) {
        self.rows.retain(|e| e.upload || e.item != item);
    }

    /// The account folder's one report was written: it lists every failure of the account
    /// (those waiting to be tried again are not the customer's to see).
    pub fn report_written(&mut self, account: &str, path: &str) {
        for row in self
            .rows
            .iter_mut()
            .filter(|r| r.account == account && !r.upload && r.state == ItemState::Failed)
        {
            row.report = Some(path.to_owned());
        }
    }

    pub fn report_removed(&mut self, account: &str) {
        for row in self.rows.iter_mut().filter(|r| r.account == account) {
            row.report = None;
        }
    }

    /// A retry was given for `account`'s failures (`only` one item, or all of them).
    pub fn mark_retrying(&mut self, account: &str, only: Option<ItemId>) {
        for row in self
            .rows
            .iter_mut()
            .filter(|r| r.account == account && only.is_none_or(|i| r.item == i))
        {
            row.retrying = true;
        }
    }

    /// The retry was refused: the rows are plain failures again.
    pub fn retry_refused(&mut self, account: &str) {
        for row in self.rows.iter_mut().filter(|r| r.account == account) {
            row.retrying = false;
        }
    }

    /// The engine's history was replayed: reads from now on are newer than every failure.
    pub fn history_applied(&mut self) {
        self.failed_since_read.clear();
    }

    /// A library read arrived: its failures replace the rows, and a failure seen live but
    /// not yet in the read keeps its row (a refused upload is never in the store), unless
    /// the read has that file failing already.
    pub fn apply_read(&mut self, failures: &[FailureEntry]) {
        let live: HashMap<ItemId, ErrorRow> = self
            .rows
            .drain(..)
            .filter(|e| !e.retrying)
            .map(|e| (e.item, e))
            .collect();
        self.rows = failures
            .iter()
            .map(|f| ErrorRow {
                item: f.id,
                account: f.account.clone(),
                path: f.path.clone(),
                size: f.size,
                kind: f.kind,
                detail: f.detail.clone(),
                at: f.updated_at,
                retrying: false,
                state: f.state,
                next_attempt_at: f.next_attempt_at,
                report: f.report_path.clone(),
                upload: false,
            })
            .collect();
        let failed_since_read = std::mem::take(&mut self.failed_since_read);
        for (item, row) in live {
            let missed = row.upload || failed_since_read.contains(&item);
            let listed = self
                .rows
                .iter()
                .any(|e| e.item == item || (e.account == row.account && e.path == row.path));
            if missed && !listed {
                self.rows.push(row);
            }
        }
        self.rows
            .sort_by(|a, b| b.at.cmp(&a.at).then(b.item.cmp(&a.item)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(item: ItemId, account: &str, upload: bool) -> ErrorRow {
        ErrorRow {
            item,
            account: account.into(),
            path: format!("/{account}/f{item}.exe"),
            size: 1,
            kind: ErrorKind::UnsupportedFormat,
            detail: String::new(),
            at: item.get(),
            retrying: false,
            state: ItemState::Failed,
            next_attempt_at: None,
            report: None,
            upload,
        }
    }

    #[test]
    fn a_read_keeps_live_refusals_and_fresh_failures_and_drops_the_rest() {
        let mut log = ErrorLog::default();
        log.upload_refused(row(ItemId(1), "Acme", true));
        log.failed(row(ItemId(2), "Acme", false));
        log.rows.push(row(ItemId(3), "Bakery", false)); // seen before, fixed since
        log.apply_read(&[]);
        let items: Vec<ItemId> = log.rows.iter().map(|r| r.item).collect();
        assert_eq!(
            items,
            [ItemId(2), ItemId(1)],
            "newest first; the fixed one is gone"
        );
        // The next read is newer than the failure: a row it lacks is gone.
        log.apply_read(&[]);
        assert_eq!(log.rows.len(), 1);
        assert!(log.rows[0].upload);
    }

    #[test]
    fn scope_cursor_and_retry_marks() {
        let mut log = ErrorLog::default();
        for (i, a) in [(1, "Acme"), (2, "Bakery"), (3, "Acme")] {
            log.failed(row(ItemId(i), a, false));
        }
        assert_eq!(log.in_scope(Some("Acme")).len(), 2);
        log.cursor = 5;
        log.clamp(Some("Acme"));
        assert_eq!(log.selected(Some("Acme")).map(|r| r.item), Some(ItemId(1)));
        log.mark_retrying("Acme", Some(ItemId(3)));
        assert!(log.rows.iter().any(|r| r.item == ItemId(3) && r.retrying));
        assert!(!log.rows.iter().any(|r| r.item == ItemId(1) && r.retrying));
        log.retry_refused("Acme");
        assert!(log.rows.iter().all(|r| !r.retrying));
        log.report_written("Acme", "/Acme/report.txt");
        assert_eq!(log.rows.iter().filter(|r| r.report.is_some()).count(), 2);
    }
}
