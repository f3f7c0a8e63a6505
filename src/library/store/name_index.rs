//! Every file's folded name in memory, for the needles the trigram index cannot serve (one or
//! two characters): without it such a needle is a walk over every name in SQLite (~0.45 s at a
//! million files); with it, a `memmem` over one buffer (a few ms) answers which files can match.
//!
//! The index is a candidate set, never the answer: every hit is checked again in SQL with the
//! query's own terms (so a deleted row simply does not come back), and rows added after the
//! index was read — ids above its high-water mark (`files.id` is an `INTEGER PRIMARY KEY`, so a
//! new row takes the largest id plus one) — are candidates too ([`NameHits::above`]). Names are
//! folded with [`name_match::fold`], the same definition the SQL check uses.
//!
//! Layout (~34 bytes a file for the bench's names): the folded names back to back, each ended by
//! a NUL (a needle holding one is not served here, so no match can span two names), where each
//! name starts, and its id.

use std::fmt;

use memchr::memmem;
use rusqlite::Connection;

use super::name_match;
use crate::library::model::FileId;

/// Ends each name in [`NameIndex::text`].
const SEPARATOR: u8 = 0;

/// More hits than this and a query reads pages the usual way (matches are then common enough
/// for the ordered scan to fill a page quickly).
pub const MAX_HITS: usize = 5_000;

pub struct NameIndex {
    /// The folded names, each followed by [`SEPARATOR`].
    text: Vec<u8>,
    /// Where each name starts in `text` (ascending).
    starts: Vec<u32>,
    /// The file id of each name.
    ids: Vec<u32>,
    /// Every row with an id up to this one was read (as of one snapshot, or appended since).
    high_water: FileId,
}

/// The files whose names can contain a needle: `ids` (ascending, each at most `above`), and
/// every file with an id above `above` (not indexed yet).
#[derive(Clone, PartialEq, Eq)]
pub struct NameHits {
    pub ids: Vec<FileId>,
    pub above: FileId,
}

impl fmt::Debug for NameHits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NameHits({} ids, above {})", self.ids.len(), self.above)
    }
}

impl NameIndex {
    /// Read every file's name (one snapshot). `None` when the library is beyond what the
    /// compact layout holds (ids or total name bytes over 4 GiB): queries then go without it.
    pub fn build(c: &Connection) -> rusqlite::Result<Option<NameIndex>> {
        // One read transaction: the high-water mark and the names are of the same moment.
        let tx = c.unchecked_transaction()?;
        let high_water: FileId =
            tx.query_row("SELECT coalesce(max(id), 0) FROM files", [], |r| r.get(0))?;
        let count: i64 = tx.query_row("SELECT count(*) FROM files", [], |r| r.get(0))?;
        let mut index = NameIndex {
            text: Vec::new(),
            starts: Vec::with_capacity(count as usize),
            ids: Vec::with_capacity(count as usize),
            high_water,
        };
        {
            // The name index holds (name, id): a fraction of the table's pages to read.
            let mut stmt = tx.prepare("SELECT id, name FROM files INDEXED BY files_all_by_name")?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let name = row.get_ref(1)?.as_str().unwrap_or("");
                if !index.push(row.get(0)?, name) {
                    return Ok(None);
                }
            }
        }
        tx.finish()?;
        index.text.shrink_to_fit();
        Ok(Some(index))
    }

    /// An empty index that has seen every row up to `high_water` (tests).
    pub fn empty(high_water: FileId) -> NameIndex {
        NameIndex {
            text: vec![],
            starts: vec![],
            ids: vec![],
            high_water,
        }
    }

    /// Rows added since the index was read (id above its high-water mark), in id order.
    pub fn read_new(&self, c: &Connection) -> rusqlite::Result<Vec<(FileId, String)>> {
        let mut stmt = c.prepare_cached("SELECT id, name FROM files WHERE id > ?1 ORDER BY id")?;
        stmt.query_map([self.high_water], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect()
    }

    /// Take in rows from [`NameIndex::read_new`]. `false` if the layout cannot hold them (the
    /// index is then unusable and should be dropped).
    pub fn append(&mut self, rows: &[(FileId, String)]) -> bool {
        for (id, name) in rows {
            if *id <= self.high_water {
                continue;
            }
            if !self.push(*id, name) {
                return false;
            }
            self.high_water = *id;
        }
        true
    }

    fn push(&mut self, id: FileId, name: &str) -> bool {
        let (Ok(id), Ok(start)) = (u32::try_from(id), u32::try_from(self.text.len())) else {
            return false;
        };
        self.starts.push(start);
        self.ids.push(id);
        name_match::fold_into(name, &mut self.text);
        self.text.push(SEPARATOR);
        u32::try_from(self.text.len()).is_ok()
    }

    /// Files indexed.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn high_water(&self) -> FileId {
        self.high_water
    }

    /// Bytes held on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.text.capacity() + 4 * (self.starts.capacity() + self.ids.capacity())
    }

    /// The files whose folded name contains `folded_needle` (see [`name_match::fold`]), or
    /// `None` when this index cannot say: an empty needle or one holding a NUL, or more than
    /// `max` hits.
    pub fn hits(&self, folded_needle: &str, max: usize) -> Option<NameHits> {
        let needle = folded_needle.as_bytes();
        if needle.is_empty() || needle.contains(&SEPARATOR) {
            return None;
        }
        let finder = memmem::Finder::new(needle);
        let mut ids = Vec::new();
        let mut from = 0;
        while let Some(found) = finder.find(&self.text[from..]) {
            let at = from + found;
            let row = self.starts.partition_point(|&s| s as usize <= at) - 1;
            ids.push(FileId::from(self.ids[row]));
            if ids.len() > max {
                return None;
            }
            // On to the next name: one hit per file.
            from = self
                .starts
                .get(row + 1)
                .map_or(self.text.len(), |&s| s as usize);
        }
        ids.sort_unstable();
        ids.dedup();
        Some(NameHits {
            ids,
            above: self.high_water,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::model::{NewFile, Source};
    use crate::library::store::{Store, files, people};

    fn library(names: &[&str]) -> (tempfile::TempDir, Store, Vec<FileId>) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("library.sqlite3")).unwrap();
        let ids = store
            .transaction(|tx| -> rusqlite::Result<_> {
                let account = people::insert_account(tx, "A", "team", 0)?;
                names.iter().map(|n| insert(tx, account, n)).collect()
            })
            .unwrap();
        (dir, store, ids)
    }

    fn insert(c: &Connection, account: i64, name: &str) -> rusqlite::Result<FileId> {
        files::insert_file(
            c,
            &NewFile {
                account,
                name: name.into(),
                size: 1,
                kind: "image".into(),
                format: "PNG".into(),
                mime: "image/png".into(),
                sha256: "0".repeat(64),
                source: Source::Upload,
                uploaded_by: None,
                imported_at: 0,
                dropbox: None,
            },
            None,
        )
    }

    fn hit_ids(index: &NameIndex, needle: &str) -> Vec<FileId> {
        index.hits(&name_match::fold(needle), MAX_HITS).unwrap().ids
    }

    #[test]
    fn finds_each_file_once_whatever_the_case() {
        let names = [
            "Hero.PNG",
            "hx-hx.jpg",
            "ÉTÉ.jpg",
            "ЖУРНАЛ.png",
            "\u{212a}elvin.gif",
            "a",
        ];
        let (_dir, store, ids) = library(&names);
        let index = NameIndex::build(store.connection()).unwrap().unwrap();
        assert_eq!(index.len(), names.len());
        assert_eq!(index.high_water(), *ids.last().unwrap());
        assert_eq!(
            hit_ids(&index, "hx"),
            vec![ids[1]],
            "two hits in one name, one id"
        );
        assert_eq!(hit_ids(&index, "é"), vec![ids[2]]);
        assert_eq!(hit_ids(&index, "É"), vec![ids[2]]);
        assert_eq!(hit_ids(&index, "жу"), vec![ids[3]]);
        assert_eq!(hit_ids(&index, "PN"), vec![ids[0], ids[3]]);
        // The Kelvin sign folds to an ASCII k.
        assert_eq!(hit_ids(&index, "k"), vec![ids[4]]);
        assert_eq!(hit_ids(&index, "qz"), Vec::<FileId>::new());
        // No match spans two names ("a" ends the last one, "\0" never matches).
        assert_eq!(hit_ids(&index, "fh"), Vec::<FileId>::new());
        assert!(index.hits("", MAX_HITS).is_none());
        assert!(index.hits("a\0", MAX_HITS).is_none());
        assert!(index.hits("e", 1).is_none(), "more hits than asked for");
    }

    #[test]
    fn agrees_with_the_sql_check_on_every_name_and_needle() {
        let names = [
            "Hero.PNG",
            "ΟΔΟΣ.png",
            "İstanbul.jpg",
            "straße.jpg",
            "STRASSE",
            "ǅemal",
            "Ωmega",
            "\u{212a}",
            "日本.png",
            "a%b_c",
        ];
        let (_dir, store, ids) = library(&names);
        let index = NameIndex::build(store.connection()).unwrap().unwrap();
        let needles = [
            "σ", "ς", "Σ", "i", "İ", "i̇", "ß", "ss", "ǆ", "ǅ", "ω", "k", "K", "日", "%", "_", "e",
        ];
        for needle in needles {
            let folded = name_match::fold(needle);
            let expected: Vec<FileId> = names
                .iter()
                .zip(&ids)
                .filter(|(n, _)| name_match::matches(n, &folded, false))
                .map(|(_, id)| *id)
                .collect();
            assert_eq!(hit_ids(&index, needle), expected, "{needle:?}");
        }
    }

    #[test]
    fn new_rows_are_above_the_high_water_mark_until_appended() {
        let (_dir, mut store, ids) = library(&["one.png", "two.png"]);
        let mut index = NameIndex::build(store.connection()).unwrap().unwrap();
        let added = store.transaction(|tx| insert(tx, 1, "hxnew.png")).unwrap();
        let hits = index.hits("hx", MAX_HITS).unwrap();
        assert_eq!((hits.ids, hits.above), (vec![], ids[1]));
        assert!(added > hits.above, "a new row has the largest id");
        let rows = index.read_new(store.connection()).unwrap();
        assert_eq!(rows, vec![(added, "hxnew.png".to_owned())]);
        assert!(index.append(&rows));
        assert!(
            index.append(&rows),
            "appending the same rows again is a no-op"
        );
        let hits = index.hits("hx", MAX_HITS).unwrap();
        assert_eq!((hits.ids, hits.above), (vec![added], added));
        assert_eq!(index.len(), 3);
    }

    #[test]
    fn deleted_and_renamed_rows_stay_candidates_only() {
        let (_dir, store, ids) = library(&["hx-old.png", "keep.png"]);
        let index = NameIndex::build(store.connection()).unwrap().unwrap();
        store
            .connection()
            .execute(
                "UPDATE files SET name = 'renamed.png' WHERE id = ?1",
                [ids[0]],
            )
            .unwrap();
        // Still a candidate (the SQL check then turns it down): the index is never the answer.
        assert_eq!(hit_ids(&index, "hx"), vec![ids[0]]);
        store
            .connection()
            .execute("DELETE FROM files WHERE id = ?1", [ids[0]])
            .unwrap();
        assert_eq!(hit_ids(&index, "hx"), vec![ids[0]]);
    }

    #[test]
    fn an_empty_library_has_an_empty_index() {
        let (_dir, store, _) = library(&[]);
        let index = NameIndex::build(store.connection()).unwrap().unwrap();
        assert!(index.is_empty());
        assert_eq!(index.high_water(), 0);
        assert_eq!(index.hits("a", MAX_HITS).unwrap().ids, Vec::<FileId>::new());
    }
}
