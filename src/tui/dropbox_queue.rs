//! The Dropbox queue's state, a component of its own: every file the engines found (and
//! every upload), newest first, with its state as it moves from waiting to imported or
//! failed; its cursor; the waits Dropbox asked for; the download rates. What engine events do
//! to it is here; `panes/queue.rs` draws it and `App` routes to it (`App::queue`).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::import::events::ItemRef;
use crate::library::ids::{BatchId, FileId};
use crate::library::policy::ErrorKind;
use crate::library::store::import_items::ItemId;
use crate::library::store::links::LinkId;

use super::throughput::Throughput;

/// Queue rows kept; the oldest finished rows go first.
pub const QUEUE_CAPACITY: usize = 1_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueueState {
    Waiting,
    Downloading {
        bytes: u64,
        total: u64,
    },
    Verifying,
    Imported,
    Deleted,
    KeptChanged,
    Failed(ErrorKind),
    /// A try failed for a reason that may pass (kind); the engine tries it again later.
    Retrying(ErrorKind),
    /// An upload left it out (`SkipReason::as_str`: a duplicate, a link).
    Skipped(&'static str),
}

impl QueueState {
    pub fn finished(&self) -> bool {
        matches!(
            self,
            QueueState::Imported
                | QueueState::Deleted
                | QueueState::KeptChanged
                | QueueState::Failed(_)
                | QueueState::Retrying(_)
                | QueueState::Skipped(_)
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueRow {
    pub item: ItemId,
    pub link: LinkId,
    pub account: String,
    pub path: String,
    pub size: u64,
    pub state: QueueState,
    /// A direct upload from the server's disk, not a Dropbox import.
    pub upload: bool,
    /// The library file it became, once imported.
    pub file: Option<FileId>,
    /// The import batch that file came in with (read from the library after the import;
    /// `U` undoes it).
    pub batch: Option<BatchId>,
}

/// A wait Dropbox asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub account: String,
    pub until: Instant,
}

#[derive(Debug, Default)]
pub struct DropboxQueue {
    /// Newest first.
    pub rows: VecDeque<QueueRow>,
    /// Over the rows in scope.
    pub cursor: usize,
    /// Waits Dropbox asked for, by link.
    pub rate_limits: HashMap<LinkId, RateLimit>,
    /// Download rate per link, for the rate and ETA.
    pub throughput: Throughput,
    /// When each file in flight started downloading, for its own rate.
    pub download_started: HashMap<ItemId, Instant>,
    /// A read of imported files' batches is out (one at a time).
    pub batch_lookup: bool,
}

fn in_scope(row: &QueueRow, scope: Option<&str>) -> bool {
    scope.is_none_or(|a| a == row.account)
}

impl DropboxQueue {
    /// The rows of `scope` (`None`: every account's), newest first.
    pub fn in_scope(&self, scope: Option<&str>) -> Vec<&QueueRow> {
        self.rows.iter().filter(|r| in_scope(r, scope)).collect()
    }

    /// Rows of `scope` still waiting or in flight.
    pub fn in_flight(&self, scope: Option<&str>) -> usize {
        self.rows
            .iter()
            .filter(|r| !r.state.finished() && in_scope(r, scope))
            .count()
    }

    /// A file (or an upload) joins the queue on top, once.
    pub fn push(&mut self, row: QueueRow) {
        self.rows.retain(|r| r.item != row.item);
        self.rows.push_front(row);
        self.trim();
    }

    /// The engine found a file.
    pub fn discovered(&mut self, item: ItemRef) {
        self.push(QueueRow {
            item: item.item,
            link: item.link,
            account: item.account,
            path: item.path,
            size: item.size,
            state: QueueState::Waiting,
            upload: false,
            file: None,
            batch: None,
        });
    }

    /// The row's file is in the library as `file`.
    pub fn set_file(&mut self, item: ItemId, file: FileId) {
        if let Some(row) = self.rows.iter_mut().find(|r| r.item == item) {
            row.file = Some(file);
        }
    }

    /// The files whose batch is to be read: imported, batch unknown — when no read is out.
    /// Marks the read as out.
    pub fn batches_to_read(&mut self) -> Option<Vec<FileId>> {
        if self.batch_lookup {
            return None;
        }
        let files: Vec<FileId> = self
            .rows
            .iter()
            .filter(|r| r.batch.is_none())
            .filter_map(|r| r.file)
            .collect();
        if files.is_empty() {
            return None;
        }
        self.batch_lookup = true;
        Some(files)
    }

    /// The batches read back. A file with none (purged since) is not asked for again.
    pub fn batches_read(&mut self, asked: &[FileId], found: &[(FileId, BatchId)]) {
        self.batch_lookup = false;
        for row in self.rows.iter_mut() {
            let Some(file) = row.file else { continue };
            if let Some((_, batch)) = found.iter().find(|(f, _)| *f == file) {
                row.batch = Some(*batch);
            } else if asked.contains(&file) {
                // Nothing to undo through this row.
                row.file = None;
            }
        }
    }

    /// Bytes of a download arrived (at `now`).
    pub fn progress(&mut self, item: ItemId, bytes: u64, total: u64, now: Instant) {
        self.record_bytes(item, bytes, now);
        self.download_started.entry(item).or_insert(now);
        self.set_state(item, QueueState::Downloading { bytes, total });
    }

    /// A file came in whole.
    pub fn imported(&mut self, item: ItemId, size: u64, now: Instant) {
        self.record_bytes(item, size, now);
        self.download_started.remove(&item);
        self.set_state(item, QueueState::Imported);
    }

    /// A file stopped downloading (failed, or to be tried again) and is now `state`.
    pub fn stopped(&mut self, item: ItemId, state: QueueState) {
        self.download_started.remove(&item);
        self.set_state(item, state);
    }

    /// Our own report turned up in the folder: it leaves as if never found.
    pub fn forget(&mut self, item: ItemId) {
        self.download_started.remove(&item);
        self.rows.retain(|r| r.item != item);
    }

    /// Dropbox asked `account`'s link to wait until `until`.
    pub fn rate_limited(&mut self, link: LinkId, account: String, until: Instant) {
        self.rate_limits.insert(link, RateLimit { account, until });
    }

    /// A pass of `link` ended: a wait it had is over. Whether there was one.
    pub fn pass_finished(&mut self, link: LinkId) -> bool {
        self.rate_limits.remove(&link).is_some()
    }

    /// The slow tick: finished waits go. Whether any wait is on screen (its countdown moves).
    pub fn tick(&mut self, now: Instant) -> bool {
        let before = self.rate_limits.len();
        self.rate_limits.retain(|_, r| r.until > now);
        before > 0
    }

    /// Seconds left of a rate-limit wait at `now`, rounded up.
    pub fn seconds_left(limit: &RateLimit, now: Instant) -> u64 {
        let left = limit.until.saturating_duration_since(now);
        (left + Duration::from_millis(999)).as_secs()
    }

    /// Count bytes that arrived for `item` since its last report, towards its link's rate.
    fn record_bytes(&mut self, item: ItemId, bytes_now: u64, now: Instant) {
        let Some(row) = self.rows.iter().find(|r| r.item == item) else {
            return;
        };
        let before = match row.state {
            QueueState::Downloading { bytes, .. } => bytes,
            QueueState::Waiting => 0,
            // Verified or finished: counted already.
            _ => return,
        };
        let link = row.link;
        self.throughput
            .record(link, now, bytes_now.saturating_sub(before));
    }

    pub fn set_state(&mut self, item: ItemId, state: QueueState) {
        if let Some(row) = self.rows.iter_mut().find(|r| r.item == item) {
            row.state = state;
        }
    }

    fn trim(&mut self) {
        while self.rows.len() > QUEUE_CAPACITY {
            match self.rows.iter().rposition(|r| r.state.finished()) {
                Some(i) => {
                    self.rows.remove(i);
                }
                None => {
                    self.rows.pop_back();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: ItemId, account: &str) -> ItemRef {
        ItemRef {
            item: id,
            link: LinkId(7),
            account: account.into(),
            path: format!("/{account}/{id}.jpg"),
            size: 100,
        }
    }

    #[test]
    fn finished_rows_go_first_when_the_queue_is_full() {
        let mut q = DropboxQueue::default();
        let now = Instant::now();
        q.discovered(item(ItemId(0), "Acme"));
        q.imported(ItemId(0), 100, now);
        for id in 1..=QUEUE_CAPACITY as i64 {
            q.discovered(item(ItemId(id), "Acme"));
        }
        assert_eq!(q.rows.len(), QUEUE_CAPACITY);
        assert!(
            q.rows.iter().all(|r| r.item != ItemId(0)),
            "the finished one went"
        );
        assert_eq!(q.in_flight(Some("Acme")), QUEUE_CAPACITY);
        assert_eq!(q.in_flight(Some("Bakery")), 0);
    }

    #[test]
    fn a_wait_counts_down_and_ends_with_the_pass() {
        let mut q = DropboxQueue::default();
        let now = Instant::now();
        q.rate_limited(LinkId(7), "Acme".into(), now + Duration::from_secs(5));
        let limit = q.rate_limits[&LinkId(7)].clone();
        assert_eq!(DropboxQueue::seconds_left(&limit, now), 5);
        assert!(q.tick(now));
        assert!(q.pass_finished(LinkId(7)));
        assert!(!q.tick(now));
    }
}
