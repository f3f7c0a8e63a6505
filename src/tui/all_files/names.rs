//! The pane's in-memory name index ([`NameIndex`]): built on a thread of its own once the first
//! window of rows is on screen, then kept up with the library (rows added meanwhile are read
//! about once a second when SQLite's `data_version` says something changed). Until it is
//! ready, and for needles it does not serve, reads go the usual way.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::library::model::FileId;
use crate::library::organise::FileFilter;
use crate::library::store::engine_events;
use crate::library::store::name_index::{self, NameHits, NameIndex};
use crate::library::store::name_match;

use super::worker::WorkerOptions;

/// The index, once built; shared by the reading lanes.
pub type NameSlot = RwLock<Option<NameIndex>>;

/// How often the builder looks for rows added since.
pub const REFRESH: Duration = Duration::from_secs(1);
/// Page cache of the builder's connection: it reads the whole name index once; keeping those
/// pages would only add to the console's memory.
const NAMES_CACHE_KIB: i64 = 1024;

/// The candidates for `filter`'s name, when the index is ready and serves it: a substring too
/// short for the trigram index and not common (see [`NameIndex::hits`]), or a fuzzy name with a
/// rare character (see [`NameIndex::fuzzy_hits`]).
pub fn hits_for(names: Option<&NameSlot>, filter: &FileFilter) -> Option<Arc<NameHits>> {
    let folded = name_match::fold(filter.name_contains.as_deref()?);
    if folded.is_empty() || (!filter.name_fuzzy && folded.chars().count() >= name_match::TRIGRAM) {
        return None;
    }
    let guard = names?.read().ok()?;
    let index = guard.as_ref()?;
    if filter.name_fuzzy {
        index.fuzzy_hits(&folded)
    } else {
        index.hits(&folded)
    }
    .map(Arc::new)
}

/// The builder thread's life: wait for `wake` (the first window served), build, then keep up
/// until every sender of `wake` is gone (the pane's worker ended).
pub fn build_and_refresh(options: WorkerOptions, slot: Arc<NameSlot>, wake: Receiver<()>) {
    if wake.recv().is_err() {
        return;
    }
    // The lanes already report a library that cannot be opened.
    let Ok(library) = options.open() else { return };
    let c = library.store().connection();
    let _ = c.pragma_update(None, "cache_size", -NAMES_CACHE_KIB);
    let mut seen = data_version(c);
    if !rebuild(c, &slot) {
        return;
    }
    loop {
        match wake.recv_timeout(REFRESH) {
            Ok(()) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        let now = data_version(c);
        if now == seen {
            continue;
        }
        seen = now;
        if !refresh(c, &slot) {
            return;
        }
    }
}

/// Build the index afresh into `slot` (dropping the old one first: two at once would double
/// the memory). `false` if it cannot be built.
fn rebuild(c: &Connection, slot: &NameSlot) -> bool {
    if let Ok(mut guard) = slot.write() {
        *guard = None;
    }
    let started = Instant::now();
    match NameIndex::build(c) {
        Ok(Some(index)) => {
            tracing::debug!(
                files = index.len(),
                bytes = index.heap_bytes(),
                ms = started.elapsed().as_millis() as u64,
                "All Files name index built"
            );
            if let Ok(mut guard) = slot.write() {
                *guard = Some(index);
            }
            true
        }
        Ok(None) => false,
        Err(e) => {
            tracing::warn!(error = %e, "cannot build the All Files name index");
            false
        }
    }
}

/// Take in the rows added since; rebuild if rows at the top were deleted (their ids may be
/// handed out again, to rows the index would then never read). `false`: give up on the index.
fn refresh(c: &Connection, slot: &NameSlot) -> bool {
    let Some(high_water) = slot
        .read()
        .ok()
        .and_then(|g| g.as_ref().map(NameIndex::high_water))
    else {
        return false;
    };
    let top: FileId = match name_index::top_file_id(c) {
        Ok(top) => top,
        Err(_) => return true,
    };
    if top < high_water {
        return rebuild(c, slot);
    }
    if top == high_water {
        return true;
    }
    let rows = match slot.read() {
        Ok(guard) => match guard.as_ref().map(|index| index.read_new(c)) {
            Some(Ok(rows)) => rows,
            Some(Err(_)) => return true,
            None => return false,
        },
        Err(_) => return false,
    };
    let Ok(mut guard) = slot.write() else {
        return false;
    };
    let appended = guard.as_mut().is_some_and(|index| index.append(&rows));
    if !appended {
        *guard = None;
    }
    appended
}

fn data_version(c: &Connection) -> i64 {
    engine_events::data_version(c).unwrap_or(-1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_substrings_and_fuzzy_names_use_the_index() {
        let slot: NameSlot = RwLock::new(Some(NameIndex::empty(FileId(7))));
        let filter = |text: &str, fuzzy: bool| FileFilter {
            name_contains: Some(text.into()),
            name_fuzzy: fuzzy,
            ..FileFilter::default()
        };
        let hits = hits_for(Some(&slot), &filter("hX", false)).expect("served");
        assert_eq!((hits.ids.len(), hits.above), (0, FileId(7)));
        assert!(hits_for(Some(&slot), &filter("Ж", false)).is_some());
        assert!(
            hits_for(Some(&slot), &filter("hxq", false)).is_none(),
            "trigrams"
        );
        let fuzzy = hits_for(Some(&slot), &filter("hxq", true)).expect("fuzzy, never seen");
        assert!(fuzzy.ids.is_empty());
        assert!(hits_for(Some(&slot), &filter("", false)).is_none());
        assert!(hits_for(None, &filter("hx", false)).is_none(), "no index");
        let empty: NameSlot = RwLock::new(None);
        assert!(
            hits_for(Some(&empty), &filter("hx", false)).is_none(),
            "not ready"
        );
    }
}
