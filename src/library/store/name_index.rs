//! The files whose names hold each one- and two-character piece, in memory, for the needles
//! the trigram index cannot serve: without it such a needle is a walk over every name in SQLite
//! (~0.45 s at a million files); with it, one hash lookup answers which files can match.
//!
//! Only *rare* pieces keep their files: once a piece is in more than [`MAX_HITS`] names it is
//! marked common and its list dropped — a needle that common fills a page from the ordered scan
//! at once anyway. So the index is small (for the bench's million names, whose pieces are all
//! common, a few hundred entries), and a piece it has never seen matches nothing.
//!
//! The index is a candidate set, never the answer: every hit is checked again in SQL with the
//! query's own terms (so a deleted or renamed row simply does not come back), and rows added
//! after the index was read — ids above its high-water mark (`files.id` is an `INTEGER PRIMARY
//! KEY`, so a new row takes the largest id plus one) — are candidates too
//! ([`NameHits::above`]). Names are folded with [`name_match::fold`], the same definition the
//! SQL check uses, and a needle is looked up by its folded form.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

use rusqlite::Connection;

use super::name_match;
use crate::library::model::FileId;

/// A piece in more names than this is common: it keeps no list, and a query reads pages the
/// usual way (matches are then common enough for the ordered scan to fill a page quickly).
pub const MAX_HITS: usize = 5_000;

/// Give up (queries go without the index) when it would take more memory than this: a library
/// of names in a script with thousands of letters (CJK) has millions of rare pairs. Names in
/// Latin, Greek or Cyrillic letters have a few thousand pieces at most.
const MAX_BYTES: usize = 24 << 20;
/// What one piece costs, list header and allocation included (an estimate).
const PIECE_BYTES: usize = 80;

/// One or two characters, packed: the first in the high half, the second (or `NONE`) low.
type Piece = u64;
const NONE: u64 = u32::MAX as u64;

fn piece(first: char, second: Option<char>) -> Piece {
    ((first as u64) << 32) | second.map_or(NONE, |c| c as u64)
}

/// Pieces are already well mixed integers: multiply and take the high bits.
#[derive(Default)]
struct PieceHasher(u64);

impl Hasher for PieceHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (n ^ (n >> 29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// Files of a piece: ids (in the order read, each once), or `None` once the piece is common.
type Listing = Option<Vec<u32>>;

pub struct NameIndex {
    pieces: HashMap<Piece, Listing, BuildHasherDefault<PieceHasher>>,
    /// Ids held in all the lists.
    listed: usize,
    /// Names read.
    names: usize,
    max_hits: usize,
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
    /// Read every file's name (one snapshot). `None` when the index would be too big (see
    /// `MAX_BYTES`) or an id does not fit its 32 bits: queries then go without it.
    pub fn build(c: &Connection) -> rusqlite::Result<Option<NameIndex>> {
        NameIndex::build_with(c, MAX_HITS)
    }

    /// [`NameIndex::build`] with another threshold for a common piece (tests).
    pub fn build_with(c: &Connection, max_hits: usize) -> rusqlite::Result<Option<NameIndex>> {
        // One read transaction: the high-water mark and the names are of the same moment.
        let tx = c.unchecked_transaction()?;
        let high_water: FileId =
            tx.query_row("SELECT coalesce(max(id), 0) FROM files", [], |r| r.get(0))?;
        let mut index = NameIndex::empty_with(high_water, max_hits);
        {
            // The name index holds (name, id): a fraction of the table's pages to read. It holds
            // the files outside the trash (V12); the few in it are read too, so a file restored
            // later is still a candidate.
            let mut stmt = tx.prepare(
                "SELECT id, name FROM files INDEXED BY files_all_by_name WHERE trashed_at IS NULL
                 UNION ALL
                 SELECT id, name FROM files INDEXED BY files_trashed WHERE trashed_at IS NOT NULL",
            )?;
            let mut rows = stmt.query([])?;
            let mut folded = Vec::new();
            while let Some(row) = rows.next()? {
                let name = row.get_ref(1)?.as_str().unwrap_or("");
                if !index.push(row.get(0)?, name, &mut folded) {
                    return Ok(None);
                }
            }
        }
        tx.finish()?;
        index.pieces.shrink_to_fit();
        Ok(Some(index))
    }

    /// An empty index that has seen every row up to `high_water` (tests).
    pub fn empty(high_water: FileId) -> NameIndex {
        NameIndex::empty_with(high_water, MAX_HITS)
    }

    fn empty_with(high_water: FileId, max_hits: usize) -> NameIndex {
        NameIndex {
            pieces: HashMap::default(),
            listed: 0,
            names: 0,
            max_hits,
            high_water,
        }
    }

    /// Rows added since the index was read (id above its high-water mark), in id order.
    pub fn read_new(&self, c: &Connection) -> rusqlite::Result<Vec<(FileId, String)>> {
        let mut stmt = c.prepare_cached("SELECT id, name FROM files WHERE id > ?1 ORDER BY id")?;
        stmt.query_map([self.high_water], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect()
    }

    /// Take in rows from [`NameIndex::read_new`]. `false` if the index cannot hold them (it is
    /// then unusable and should be dropped).
    pub fn append(&mut self, rows: &[(FileId, String)]) -> bool {
        let mut folded = Vec::new();
        for (id, name) in rows {
            if *id <= self.high_water {
                continue;
            }
            if !self.push(*id, name, &mut folded) {
                return false;
            }
            self.high_water = *id;
        }
        true
    }

    /// List `id` under every piece of `name`. `folded` is scratch space.
    fn push(&mut self, id: FileId, name: &str, folded: &mut Vec<u8>) -> bool {
        let Ok(id) = u32::try_from(id.get()) else {
            return false;
        };
        folded.clear();
        name_match::fold_into(name, folded);
        // Folding keeps UTF-8 valid; an invalid name (never stored) would just not be listed.
        let Ok(text) = std::str::from_utf8(folded) else {
            return true;
        };
        self.names += 1;
        let mut chars = text.chars().peekable();
        while let Some(first) = chars.next() {
            self.list(piece(first, None), id);
            if let Some(&second) = chars.peek() {
                self.list(piece(first, Some(second)), id);
            }
        }
        self.pieces.len() * PIECE_BYTES + self.listed * 4 <= MAX_BYTES
    }

    /// Add `id` to the list of `p`, unless it is there or `p` is common (or becomes so now).
    fn list(&mut self, p: Piece, id: u32) {
        let listing = self.pieces.entry(p).or_insert_with(|| Some(Vec::new()));
        let Some(ids) = listing else { return };
        // Lists fill one name at a time: a repeated piece of this name has its id last.
        if ids.last() == Some(&id) {
            return;
        }
        if ids.len() >= self.max_hits {
            self.listed -= ids.len();
            *listing = None;
        } else {
            ids.push(id);
            self.listed += 1;
        }
    }

    /// Names read.
    pub fn len(&self) -> usize {
        self.names
    }

    pub fn is_empty(&self) -> bool {
        self.names == 0
    }

    pub fn high_water(&self) -> FileId {
        self.high_water
    }

    /// Roughly the bytes held on the heap.
    pub fn heap_bytes(&self) -> usize {
        let entry = std::mem::size_of::<(Piece, Listing)>() + 1;
        self.pieces.capacity() * entry
            + self
                .pieces
                .values()
                .map(|l| l.as_ref().map_or(0, |ids| 4 * ids.capacity()))
                .sum::<usize>()
    }

    /// The files whose folded name can hold `folded_needle`'s characters in order (a fuzzy
    /// match, see [`name_match::matches`]): those holding its rarest character. `None` when
    /// every character of it is common (or it is empty); no files when one was never seen.
    pub fn fuzzy_hits(&self, folded_needle: &str) -> Option<NameHits> {
        let mut rarest: Option<&Vec<u32>> = None;
        for c in folded_needle.chars() {
            match self.pieces.get(&piece(c, None)) {
                None => {
                    return Some(NameHits {
                        ids: vec![],
                        above: self.high_water,
                    });
                }
                Some(None) => {}
                Some(Some(ids)) => {
                    if rarest.is_none_or(|r| ids.len() < r.len()) {
                        rarest = Some(ids);
                    }
                }
            }
        }
        let mut ids: Vec<FileId> = rarest?.iter().map(|&id| FileId(i64::from(id))).collect();
        ids.sort_unstable();
        Some(NameHits {
            ids,
            above: self.high_water,
        })
    }

    /// The files whose folded name contains `folded_needle` (see [`name_match::fold`]), or
    /// `None` when this index cannot say: a needle not of one or two characters, or a common
    /// one (more than [`MAX_HITS`] files).
    pub fn hits(&self, folded_needle: &str) -> Option<NameHits> {
        let mut chars = folded_needle.chars();
        let key = match (chars.next(), chars.next(), chars.next()) {
            (Some(first), second, None) => piece(first, second),
            _ => return None,
        };
        let mut ids: Vec<FileId> = match self.pieces.get(&key) {
            None => vec![],
            Some(None) => return None,
            Some(Some(ids)) => ids.iter().map(|&id| FileId(i64::from(id))).collect(),
        };
        ids.sort_unstable();
        Some(NameHits {
            ids,
            above: self.high_water,
        })
    }
}

/// The highest file id (0 for none): below an index's high water, rows at the top were deleted.
pub fn top_file_id(c: &Connection) -> rusqlite::Result<FileId> {
    c.query_row("SELECT coalesce(max(id), 0) FROM files", [], |r| r.get(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::ids::AccountId;
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

    fn insert(
        c: &rusqlite::Transaction<'_>,
        account: AccountId,
        name: &str,
    ) -> rusqlite::Result<FileId> {
        files::insert_file(
            c,
            &NewFile {
                batch: None,
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
        index.hits(&name_match::fold(needle)).unwrap().ids
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
        assert!(index.hits("").is_none());
        assert!(
            index.hits("her").is_none(),
            "three characters: the trigram index's"
        );
        let small = NameIndex::build_with(store.connection(), 1)
            .unwrap()
            .unwrap();
        assert!(small.hits("e").is_none(), "in two names: common here");
        assert_eq!(small.hits("x").unwrap().ids, vec![ids[1]]);
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
    fn fuzzy_hits_are_the_files_with_the_rarest_character() {
        let names = ["Hero.PNG", "hx-hx.jpg", "Ωmega.png", "a"];
        let (_dir, store, ids) = library(&names);
        let index = NameIndex::build_with(store.connection(), 2)
            .unwrap()
            .unwrap();
        let fuzzy = |needle: &str| index.fuzzy_hits(&name_match::fold(needle)).map(|h| h.ids);
        // "p" is in two names, "ω" in one: the rarest decides.
        assert_eq!(fuzzy("pω"), Some(vec![ids[2]]));
        assert_eq!(fuzzy("hj"), Some(vec![ids[1]]));
        assert_eq!(fuzzy("hq"), Some(vec![]), "no name has a q");
        assert_eq!(fuzzy("g"), None, "in three names: common here");
        assert_eq!(fuzzy(""), None);
    }

    #[test]
    fn new_rows_are_above_the_high_water_mark_until_appended() {
        let (_dir, mut store, ids) = library(&["one.png", "two.png"]);
        let mut index = NameIndex::build(store.connection()).unwrap().unwrap();
        let added = store
            .transaction(|tx| insert(tx, AccountId(1), "hxnew.png"))
            .unwrap();
        let hits = index.hits("hx").unwrap();
        assert_eq!((hits.ids, hits.above), (vec![], ids[1]));
        assert!(added > hits.above, "a new row has the largest id");
        let rows = index.read_new(store.connection()).unwrap();
        assert_eq!(rows, vec![(added, "hxnew.png".to_owned())]);
        assert!(index.append(&rows));
        assert!(
            index.append(&rows),
            "appending the same rows again is a no-op"
        );
        let hits = index.hits("hx").unwrap();
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
        assert_eq!(index.high_water(), FileId(0));
        assert_eq!(index.hits("a").unwrap().ids, Vec::<FileId>::new());
    }

    #[test]
    fn gives_up_rather_than_grow_past_its_budget() {
        let mut index = NameIndex::empty(FileId(0));
        // Every pair of a few thousand letters, as CJK names would have them.
        let letters: Vec<char> = ('\u{4e00}'..'\u{5a00}').collect();
        let rows: Vec<(FileId, String)> = letters
            .chunks(2)
            .enumerate()
            .map(|(i, pair)| (FileId(i as i64 + 1), pair.iter().collect()))
            .collect();
        assert!(index.append(&rows[..10]));
        let many: Vec<(FileId, String)> = (0..400_000)
            .map(|i: usize| {
                let a = letters[i % letters.len()];
                let b = letters[(i / letters.len()) % letters.len()];
                (FileId(i as i64 + 100), format!("{a}{b}"))
            })
            .collect();
        assert!(!index.append(&many), "past the budget");
    }
}
