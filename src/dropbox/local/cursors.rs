//! Listing cursors. A cursor names a snapshot kept in memory (what the holder of the cursor has
//! been told), or pages of a listing still to be handed out. Memory is bounded: the oldest
//! cursors are forgotten, and a forgotten or foreign cursor (another process, another folder)
//! is a `CursorReset`, which the engine answers with a fresh listing.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::scan::Scan;
use crate::dropbox::wire::{DeletedMetadata, ListFolderResult, Metadata};

/// Entries per page, Dropbox's own maximum `limit`.
pub const PAGE_ENTRIES: usize = crate::dropbox::wire::LIST_FOLDER_LIMIT_MAX as usize;
/// Cursors remembered at once; the engine only ever continues from its newest one per link.
const MAX_CURSORS: usize = 64;
const CURSOR_PREFIX: &str = "local1";

/// What was listed: a folder (by components as asked) and whether its sub-folders count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing {
    pub components: Vec<String>,
    pub recursive: bool,
}

/// The state of a listing as its cursor's holder knows it, by `path_lower`.
#[derive(Clone)]
pub struct Snapshot {
    pub listing: Arc<Listing>,
    pub entries: Arc<BTreeMap<String, Metadata>>,
}

#[derive(Clone)]
pub enum CursorState {
    /// Everything up to `Snapshot` was told; continuing means "what changed since".
    Caught(Snapshot),
    /// Entries still to hand out, after which the holder knows `then`.
    Pages {
        pending: Arc<Vec<Metadata>>,
        offset: usize,
        then: Snapshot,
    },
}

pub struct CursorStore {
    /// Distinguishes this process's cursors from any other's.
    instance: String,
    next_seq: u64,
    states: BTreeMap<u64, CursorState>,
}

impl CursorStore {
    pub fn new(instance: String) -> Self {
        CursorStore {
            instance,
            next_seq: 1,
            states: BTreeMap::new(),
        }
    }

    /// `None` when the cursor is not ours or already forgotten.
    pub fn get(&self, cursor: &str) -> Option<CursorState> {
        let mut parts = cursor.split(':');
        let (Some(CURSOR_PREFIX), Some(instance), Some(seq), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        if instance != self.instance {
            return None;
        }
        self.states.get(&seq.parse().ok()?).cloned()
    }

    fn register(&mut self, state: CursorState) -> String {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.states.insert(seq, state);
        while self.states.len() > MAX_CURSORS {
            self.states.pop_first();
        }
        format!("{CURSOR_PREFIX}:{}:{seq}", self.instance)
    }

    /// Hands out `entries` (the first page now), after which the holder knows `then`.
    pub fn paginate(&mut self, entries: Vec<Metadata>, then: Snapshot) -> ListFolderResult {
        self.page(Arc::new(entries), 0, then)
    }

    /// The page of `pending` starting at `offset`.
    pub fn page(
        &mut self,
        pending: Arc<Vec<Metadata>>,
        offset: usize,
        then: Snapshot,
    ) -> ListFolderResult {
        let end = pending.len().min(offset + PAGE_ENTRIES);
        let entries = pending[offset..end].to_vec();
        let has_more = end < pending.len();
        let state = if has_more {
            CursorState::Pages {
                pending,
                offset: end,
                then,
            }
        } else {
            CursorState::Caught(then)
        };
        ListFolderResult {
            entries,
            cursor: self.register(state),
            has_more,
        }
    }
}

/// What changed from `old` to a new scan, and the snapshot after telling it. Deleted entries
/// come first, so a replaced path reads "deleted, then new". A file being rewritten keeps its
/// old entry (nothing is said) until it is stable again.
pub fn diff(
    old: &BTreeMap<String, Metadata>,
    scan: &Scan,
) -> (Vec<Metadata>, BTreeMap<String, Metadata>) {
    let mut now = scan.entries.clone();
    for (path, entry) in old {
        if !now.contains_key(path) && scan.unstable.contains_key(path) {
            now.insert(path.clone(), entry.clone());
        }
    }
    let mut changes: Vec<Metadata> = old
        .iter()
        .filter(|(path, _)| !now.contains_key(*path))
        .map(|(path, entry)| {
            Metadata::Deleted(DeletedMetadata {
                name: entry.name().unwrap_or_default().to_owned(),
                path_lower: Some(path.clone()),
                path_display: display_path(entry),
            })
        })
        .collect();
    changes.extend(
        now.iter()
            .filter(|(path, entry)| old.get(*path) != Some(entry))
            .map(|(_, entry)| entry.clone()),
    );
    (changes, now)
}

/// True when `scan` holds anything the holder of `old` has not been told: `diff` without
/// building anything, as a waiter rescans often.
pub fn has_changes(old: &BTreeMap<String, Metadata>, scan: &Scan) -> bool {
    let removed = old
        .keys()
        .any(|path| !scan.entries.contains_key(path) && !scan.unstable.contains_key(path));
    removed
        || scan
            .entries
            .iter()
            .any(|(path, entry)| old.get(path) != Some(entry))
}

fn display_path(entry: &Metadata) -> Option<String> {
    match entry {
        Metadata::File(file) => file.path_display.clone(),
        Metadata::Folder(folder) => folder.path_display.clone(),
        Metadata::Deleted(deleted) => deleted.path_display.clone(),
        Metadata::Unknown(unknown) => unknown.path_display.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dropbox::wire::FolderMetadata;

    fn folder(path: &str) -> Metadata {
        Metadata::Folder(FolderMetadata {
            name: path.rsplit('/').next().unwrap().to_owned(),
            id: format!("id:{path}"),
            path_lower: Some(path.to_lowercase()),
            path_display: Some(path.to_owned()),
        })
    }

    fn snapshot(entries: &[Metadata]) -> Snapshot {
        Snapshot {
            listing: Arc::new(Listing {
                components: Vec::new(),
                recursive: true,
            }),
            entries: Arc::new(by_path(entries)),
        }
    }

    fn by_path(entries: &[Metadata]) -> BTreeMap<String, Metadata> {
        entries
            .iter()
            .map(|entry| (entry.path_lower().unwrap().to_owned(), entry.clone()))
            .collect()
    }

    #[test]
    fn deletions_come_first_and_unchanged_entries_are_not_repeated() {
        let old = by_path(&[folder("/a"), folder("/b"), folder("/c")]);
        let scan = Scan {
            entries: by_path(&[folder("/a"), folder("/B2"), folder("/c")]),
            ..Scan::default()
        };
        let (changes, now) = diff(&old, &scan);
        assert_eq!(changes.len(), 2, "{changes:?}");
        assert!(
            matches!(&changes[0], Metadata::Deleted(gone) if gone.path_lower.as_deref() == Some("/b"))
        );
        assert_eq!(changes[1], folder("/B2"));
        assert_eq!(now, scan.entries);
    }

    #[test]
    fn has_changes_agrees_with_diff() {
        let old = by_path(&[folder("/a"), folder("/b")]);
        let cases = [
            Scan {
                entries: old.clone(),
                ..Scan::default()
            },
            Scan {
                entries: by_path(&[folder("/a")]),
                ..Scan::default()
            },
            Scan {
                entries: by_path(&[folder("/a")]),
                unstable: by_path(&[folder("/b")]),
                ..Scan::default()
            },
            Scan {
                entries: by_path(&[folder("/a"), folder("/b"), folder("/c")]),
                ..Scan::default()
            },
            Scan {
                entries: by_path(&[folder("/a"), folder("/B")]),
                ..Scan::default()
            },
        ];
        let expected = [false, true, false, true, true];
        for (scan, expected) in cases.iter().zip(expected) {
            assert_eq!(has_changes(&old, scan), expected);
            assert_eq!(!diff(&old, scan).0.is_empty(), expected);
        }
    }

    #[test]
    fn an_entry_being_rewritten_keeps_its_old_state_silently() {
        let old = by_path(&[folder("/a")]);
        let scan = Scan {
            unstable: by_path(&[folder("/a")]),
            ..Scan::default()
        };
        let (changes, now) = diff(&old, &scan);
        assert!(changes.is_empty(), "{changes:?}");
        assert_eq!(now, old);
    }

    #[test]
    fn pages_hand_out_every_entry_once_then_catch_up() {
        let mut store = CursorStore::new("test".into());
        let entries: Vec<Metadata> = (0..PAGE_ENTRIES + 3)
            .map(|i| folder(&format!("/f{i:05}")))
            .collect();
        let first = store.paginate(entries.clone(), snapshot(&entries));
        assert!(first.has_more);
        assert_eq!(first.entries.len(), PAGE_ENTRIES);
        let Some(CursorState::Pages {
            pending,
            offset,
            then,
        }) = store.get(&first.cursor)
        else {
            panic!("a page cursor expected");
        };
        let second = store.page(pending, offset, then);
        assert!(!second.has_more);
        assert_eq!(second.entries, entries[PAGE_ENTRIES..]);
        assert!(matches!(
            store.get(&second.cursor),
            Some(CursorState::Caught(_))
        ));
    }

    #[test]
    fn the_oldest_cursors_are_forgotten_and_foreign_ones_never_known() {
        let mut store = CursorStore::new("mine".into());
        let first = store.paginate(Vec::new(), snapshot(&[])).cursor;
        for _ in 0..MAX_CURSORS {
            store.paginate(Vec::new(), snapshot(&[]));
        }
        assert!(store.get(&first).is_none(), "evicted");
        let newest = store.paginate(Vec::new(), snapshot(&[])).cursor;
        assert!(store.get(&newest).is_some());
        assert!(store.get(&newest.replace("mine", "theirs")).is_none());
        assert!(store.get("local1:mine:notanumber").is_none());
        assert!(store.get(&format!("{newest}:extra")).is_none());
    }
}
