//! Keyset pages against a brute-force model: every filter and sort, read forward and backward
//! page by page across the whole result, must give exactly the model's list — no row skipped,
//! none repeated — whichever way (ordered scan, chunked scan, driver) the pages were read.

use crate::library::formats::FileKind;
use crate::library::ids::{AccountId, AdminId, CollectionId, FileId};
use std::cmp::Ordering;

use proptest::prelude::*;

use super::*;
use crate::library::model::{NewFile, Source};
use crate::library::store::files::TrashFilter;
use crate::library::store::name_index::NameIndex;
use crate::library::store::{Store, collections, files, people};

#[derive(Clone, Debug)]
struct ModelFile {
    account: usize,
    name: String,
    size: u64,
    kind: &'static str,
    source: Source,
    imported_at: i64,
    collections: Vec<usize>,
    trashed: bool,
    /// Index into TAKEN: when it was taken, if the file says.
    taken: Option<usize>,
    camera: Option<&'static str>,
}

const KINDS: [&str; 3] = ["image", "video", "document"];
/// Capture times: some before, some among and some after the import times (0..4 s after the
/// epoch, as sort keys `1970-01-01T00:00:0N`), two on one day.
const TAKEN: [&str; 4] = [
    "1970-01-01T00:00:01",
    "1970-01-01T00:00:02",
    "2024-05-12T10:00:00",
    "2024-05-12T23:59:59",
];
/// Camera names as files give them (the filter ignores case).
const CAMERAS: [&str; 3] = ["Canon EOS R5", "canon eos r5", "FUJIFILM X-T5"];
/// Date ranges (from, before) a query may ask for.
const RANGES: [(Option<&str>, Option<&str>); 3] = [
    (Some("2024-05-12"), Some("2024-05-13")),
    (None, Some("1970-01-01T00:00:02")),
    (Some("1970-01-01T00:00:02"), None),
];
/// Letters whose case folding SQLite's trigram index and Rust agree on, with wide and
/// non-ASCII ones among them.
const LETTERS: &[&str] = &["a", "A", "b", "é", "É", "ж", "Ж", "日", ".", "_", "%"];

fn name_strategy() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(LETTERS), 0..7).prop_map(|v| v.concat())
}

fn file_strategy() -> impl Strategy<Value = ModelFile> {
    (
        0..3usize,
        name_strategy(),
        0..4u64,
        prop::sample::select(&KINDS[..]),
        any::<bool>(),
        0..4i64,
        prop::collection::vec(0..2usize, 0..3),
        prop::bool::weighted(0.25),
        (
            prop::option::of(0..TAKEN.len()),
            prop::option::of(prop::sample::select(&CAMERAS[..])),
        ),
    )
        .prop_map(
            |(
                account,
                name,
                size,
                kind,
                dropbox,
                imported_at,
                collections,
                trashed,
                (taken, camera),
            )| ModelFile {
                account,
                name,
                size,
                kind,
                source: if dropbox {
                    Source::Dropbox
                } else {
                    Source::Upload
                },
                imported_at,
                collections,
                trashed,
                taken,
                camera,
            },
        )
}

#[derive(Clone, Debug)]
struct ModelQuery {
    accounts: Option<Vec<usize>>,
    source: Option<Source>,
    kind: Option<&'static str>,
    collection: Option<(usize, usize)>,
    name: Option<String>,
    fuzzy: bool,
    sort: SortKey,
    descending: bool,
    trashed: bool,
    camera: Option<&'static str>,
    range: Option<usize>,
}

fn query_strategy() -> impl Strategy<Value = ModelQuery> {
    (
        prop::option::of(prop::collection::vec(0..3usize, 0..3)),
        prop::option::of(prop::sample::select(vec![Source::Dropbox, Source::Upload])),
        prop::option::of(prop::sample::select(&KINDS[..])),
        prop::option::of((0..3usize, 0..2usize)),
        prop::option::of(
            prop::collection::vec(prop::sample::select(LETTERS), 1..5).prop_map(|v| v.concat()),
        ),
        any::<bool>(),
        prop::sample::select(SortKey::ALL.to_vec()),
        any::<bool>(),
        prop::bool::weighted(0.3),
        (
            prop::option::of(prop::sample::select(&CAMERAS[..])),
            prop::option::of(0..RANGES.len()),
        ),
    )
        .prop_map(
            |(
                accounts,
                source,
                kind,
                collection,
                name,
                fuzzy,
                sort,
                descending,
                trashed,
                (camera, range),
            )| {
                ModelQuery {
                    accounts,
                    source,
                    kind,
                    collection,
                    name,
                    fuzzy,
                    sort,
                    descending,
                    trashed,
                    camera,
                    range,
                }
            },
        )
}

/// SQLite's NOCASE: ASCII letters folded, everything else compared byte by byte.
fn nocase(s: &str) -> Vec<u8> {
    s.bytes().map(|b| b.to_ascii_lowercase()).collect()
}

fn model_matches(f: &ModelFile, q: &ModelQuery) -> bool {
    let name_ok = q.name.as_ref().is_none_or(|n| {
        let hay = f.name.to_lowercase();
        let needle = n.to_lowercase();
        if q.fuzzy {
            let mut it = hay.chars();
            needle.chars().all(|c| it.any(|h| h == c))
        } else {
            hay.contains(&needle)
        }
    });
    q.accounts.as_ref().is_none_or(|a| a.contains(&f.account))
        && q.source.is_none_or(|s| s == f.source)
        && q.kind.is_none_or(|k| k == f.kind)
        && q.collection
            .is_none_or(|(acc, col)| f.account == acc && f.collections.contains(&col))
        && f.trashed == q.trashed
        && q.camera
            .is_none_or(|c| f.camera.is_some_and(|fc| fc.eq_ignore_ascii_case(c)))
        && q.range.is_none_or(|r| {
            let (from, before) = RANGES[r];
            f.taken.is_some_and(|t| {
                let t = TAKEN[t];
                from.is_none_or(|from| t >= from) && before.is_none_or(|before| t < before)
            })
        })
        && name_ok
}

/// The capture-time sort key: the capture time, else the import time in the same format.
fn taken_sort(f: &ModelFile) -> String {
    match f.taken {
        Some(t) => TAKEN[t].to_owned(),
        None => format!("1970-01-01T00:00:0{}", f.imported_at),
    }
}

fn model_order(files: &[ModelFile], q: &ModelQuery) -> Vec<usize> {
    let mut hits: Vec<usize> = (0..files.len())
        .filter(|&i| model_matches(&files[i], q))
        .collect();
    hits.sort_by(|&a, &b| {
        let (fa, fb) = (&files[a], &files[b]);
        let by_key = match q.sort {
            SortKey::Imported => fa.imported_at.cmp(&fb.imported_at),
            SortKey::Name => nocase(&fa.name).cmp(&nocase(&fb.name)),
            SortKey::Size => fa.size.cmp(&fb.size),
            SortKey::Kind => fa.kind.cmp(fb.kind),
            SortKey::Taken => taken_sort(fa).cmp(&taken_sort(fb)),
        };
        let order: Ordering = by_key.then(a.cmp(&b));
        if q.descending { order.reverse() } else { order }
    });
    hits
}

struct Built {
    _dir: tempfile::TempDir,
    store: Store,
    accounts: Vec<AccountId>,
    /// collections[account][n]
    collections: Vec<Vec<CollectionId>>,
    /// File id of model file `i`.
    ids: Vec<FileId>,
}

fn build(files: &[ModelFile]) -> Built {
    build_split(files, files.len()).0
}

/// The library of `files`, and a name index read when only the first `split` were in it (the
/// rest come after, as an import adds rows while the console runs).
fn build_split(files: &[ModelFile], split: usize) -> (Built, NameIndex) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("library.sqlite3")).unwrap();
    let (accounts, collections, mut ids) = store
        .transaction(|tx| -> rusqlite::Result<_> {
            let admin = people::NewAdmin {
                email: "ann@example.com",
                name: "Ann",
                os_user: None,
                is_operator: false,
            };
            let by = people::insert_admin(tx, &admin, 0)?;
            let mut accounts = vec![];
            let mut cols = vec![];
            for a in 0..3 {
                let id = people::insert_account(tx, &format!("Account {a}"), "team", 0)?;
                accounts.push(id);
                cols.push(vec![
                    collections::create_collection(tx, id, "One", by, 0)?,
                    collections::create_collection(tx, id, "Two", by, 0)?,
                ]);
            }
            let mut ids = vec![];
            for f in &files[..split] {
                ids.push(insert_model(tx, f, &accounts, &cols)?);
            }
            Ok((accounts, cols, ids))
        })
        .unwrap();
    let index = NameIndex::build(store.connection()).unwrap().unwrap();
    store
        .transaction(|tx| -> rusqlite::Result<()> {
            for f in &files[split..] {
                ids.push(insert_model(tx, f, &accounts, &collections)?);
            }
            Ok(())
        })
        .unwrap();
    let built = Built {
        _dir: dir,
        store,
        accounts,
        collections,
        ids,
    };
    (built, index)
}

fn insert_model(
    tx: &rusqlite::Transaction<'_>,
    f: &ModelFile,
    accounts: &[AccountId],
    cols: &[Vec<CollectionId>],
) -> rusqlite::Result<FileId> {
    let row = NewFile {
        batch: None,
        account: accounts[f.account],
        name: f.name.clone(),
        size: f.size,
        kind: f.kind.into(),
        format: "format".into(),
        mime: "application/x-test".into(),
        sha256: "0".repeat(64),
        source: f.source,
        uploaded_by: None,
        imported_at: f.imported_at,
        dropbox: None,
    };
    let id = files::insert_file(tx, &row, None)?;
    if f.taken.is_some() || f.camera.is_some() {
        let extracted = crate::library::metadata::Extracted {
            outcome: crate::library::metadata::Outcome::Read,
            metadata: crate::library::metadata::FileMetadata {
                // As a file gives it: with its zone, which the sort leaves out.
                taken_at: f.taken.map(|t| format!("{}+02:00", TAKEN[t])),
                camera_model: f.camera.map(str::to_owned),
                ..Default::default()
            },
        };
        crate::library::store::file_metadata::record(tx, id, &extracted, 0)?;
    }
    for &c in &f.collections {
        // The admin inserted first.
        collections::add_files(tx, cols[f.account][c], &[id], AdminId(1), 0)?;
    }
    if f.trashed {
        crate::library::store::trash::trash(tx, &[id], None, 7)?;
    }
    Ok(id)
}

fn store_query(b: &Built, q: &ModelQuery) -> FileQuery {
    FileQuery {
        accounts: q
            .accounts
            .as_ref()
            .map(|a| a.iter().map(|&i| b.accounts[i]).collect()),
        source: q.source,
        kind: q.kind.and_then(FileKind::parse),
        collection: q.collection.map(|(a, c)| b.collections[a][c]),
        name_contains: q.name.clone(),
        name_fuzzy: q.fuzzy,
        sort: q.sort,
        descending: q.descending,
        trash: if q.trashed {
            TrashFilter::Trashed
        } else {
            TrashFilter::Live
        },
        camera: q.camera.map(str::to_owned),
        taken_from: q.range.and_then(|r| RANGES[r].0).map(str::to_owned),
        taken_before: q.range.and_then(|r| RANGES[r].1).map(str::to_owned),
        ..FileQuery::default()
    }
}

fn read_forward(b: &Built, q: &FileQuery, page_size: u32, plan: Plan) -> Vec<FileId> {
    let c = b.store.connection();
    let mut out = vec![];
    let mut start = PageStart::First;
    loop {
        let rows = page_with(c, q, &start, page_size, plan).unwrap();
        assert!(rows.len() <= page_size as usize);
        let Some(last) = rows.last() else { break };
        start = PageStart::After(Cursor::of(last, q.sort));
        out.extend(rows.iter().map(|f| f.id));
        assert!(out.len() <= b.ids.len(), "paging never ends");
    }
    out
}

fn read_backward(b: &Built, q: &FileQuery, page_size: u32, plan: Plan) -> Vec<FileId> {
    let c = b.store.connection();
    let mut out: Vec<FileId> = vec![];
    let mut start = PageStart::Last;
    loop {
        let rows = page_with(c, q, &start, page_size, plan).unwrap();
        let Some(first) = rows.first() else { break };
        start = PageStart::Before(Cursor::of(first, q.sort));
        out.splice(0..0, rows.iter().map(|f| f.id));
        assert!(out.len() <= b.ids.len(), "paging never ends");
    }
    out
}

const PLANS: [Plan; 3] = [
    Plan {
        scan_chunk: SCAN_CHUNK,
        drivers: true,
    },
    Plan {
        scan_chunk: 2,
        drivers: true,
    },
    Plan {
        scan_chunk: 3,
        drivers: false,
    },
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn pages_forward_and_backward_give_exactly_the_model_list(
        files in prop::collection::vec(file_strategy(), 0..40),
        queries in prop::collection::vec(query_strategy(), 1..6),
        page_size in 1u32..6,
    ) {
        let b = build(&files);
        for mq in &queries {
            let expected: Vec<FileId> = model_order(&files, mq).iter().map(|&i| b.ids[i]).collect();
            let q = store_query(&b, mq);
            for plan in PLANS {
                prop_assert_eq!(&read_forward(&b, &q, page_size, plan), &expected, "forward {:?} {:?}", mq, plan);
                prop_assert_eq!(&read_backward(&b, &q, page_size, plan), &expected, "backward {:?} {:?}", mq, plan);
            }
            prop_assert_eq!(files::count_files(b.store.connection(), &q).unwrap(), expected.len() as u64);
            prop_assert_eq!(count(b.store.connection(), &q).unwrap(), expected.len() as u64);
            // A page at a row starts with that row.
            check_at_middle(&b, &q, &expected)?;
        }
    }

    /// The same with the name index's hits for one- and two-letter substrings and for fuzzy
    /// names: an index read before some rows were added, some of its rows deleted since.
    #[test]
    fn pages_driven_by_the_name_index_give_exactly_the_model_list(
        mut files in prop::collection::vec(file_strategy(), 0..40),
        queries in prop::collection::vec(query_strategy(), 1..6),
        page_size in 1u32..6,
        split in 0usize..40,
        deleted_size in prop::option::of(0..4u64),
    ) {
        let split = split.min(files.len());
        let (mut b, index) = build_split(&files, split);
        if let Some(size) = deleted_size {
            // Deleted after the index was read: it still names them; the SQL check drops them.
            b.store.connection().execute("DELETE FROM collection_files WHERE file IN (SELECT id FROM files WHERE size = ?1)", [size as i64]).unwrap();
            b.store.connection().execute("DELETE FROM files WHERE size = ?1", [size as i64]).unwrap();
            let keep: Vec<bool> = files.iter().map(|f| f.size != size).collect();
            let mut k = keep.iter();
            files.retain(|_| *k.next().unwrap());
            let mut k = keep.iter();
            b.ids.retain(|_| *k.next().unwrap());
        }
        for mq in &queries {
            let expected: Vec<FileId> = model_order(&files, mq).iter().map(|&i| b.ids[i]).collect();
            let mut q = store_query(&b, mq);
            q.name_hits = q.name_contains.as_deref()
                .map(name_match::fold)
                .and_then(|text| if q.name_fuzzy { index.fuzzy_hits(&text) } else { index.hits(&text) })
                .map(std::sync::Arc::new);
            let short = mq.name.as_deref().is_some_and(|n| name_match::fold(n).chars().count() < name_match::TRIGRAM);
            // Never common here: fewer files than MAX_HITS.
            prop_assert_eq!(q.name_hits.is_some(), mq.name.is_some() && (mq.fuzzy || short));
            for plan in PLANS {
                prop_assert_eq!(&read_forward(&b, &q, page_size, plan), &expected, "forward {:?} {:?}", mq, plan);
                prop_assert_eq!(&read_backward(&b, &q, page_size, plan), &expected, "backward {:?} {:?}", mq, plan);
            }
            prop_assert_eq!(count(b.store.connection(), &q).unwrap(), expected.len() as u64);
            check_at_middle(&b, &q, &expected)?;
        }
    }
}

/// A page at a row starts with that row.
fn check_at_middle(b: &Built, q: &FileQuery, expected: &[FileId]) -> Result<(), TestCaseError> {
    if let Some(&middle) = expected.get(expected.len() / 2) {
        let record = files::file_by_id(b.store.connection(), middle)
            .unwrap()
            .unwrap();
        let at = page(
            b.store.connection(),
            q,
            &PageStart::At(Cursor::of(&record, q.sort)),
            2,
        )
        .unwrap();
        prop_assert_eq!(at[0].id, middle);
    }
    Ok(())
}

fn every_combination() -> Vec<FileQuery> {
    let mut out = vec![];
    for accounts in [
        None,
        Some(vec![AccountId(1)]),
        Some(vec![AccountId(1), AccountId(2)]),
    ] {
        for source in [None, Some(Source::Dropbox)] {
            for kind in [None, Some(FileKind::Image)] {
                for collection in [None, Some(CollectionId(1))] {
                    for name in [None, Some("hero".to_owned())] {
                        for sort in SortKey::ALL {
                            for descending in [false, true] {
                                for trash in [TrashFilter::Live, TrashFilter::Trashed] {
                                    out.push(FileQuery {
                                        accounts: accounts.clone(),
                                        source,
                                        kind,
                                        collection,
                                        name_contains: name.clone(),
                                        sort,
                                        descending,
                                        trash,
                                        ..FileQuery::default()
                                    });
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    // The camera and date filters (V13), with the scopes and sorts they meet.
    for accounts in [
        None,
        Some(vec![AccountId(1)]),
        Some(vec![AccountId(1), AccountId(2)]),
    ] {
        for source in [None, Some(Source::Dropbox)] {
            for sort in SortKey::ALL {
                for descending in [false, true] {
                    for (camera, range) in [(true, false), (false, true), (true, true)] {
                        out.push(FileQuery {
                            accounts: accounts.clone(),
                            source,
                            camera: camera.then(|| "Canon EOS R5".to_owned()),
                            taken_from: range.then(|| "2024-05-12".to_owned()),
                            taken_before: range.then(|| "2024-05-13".to_owned()),
                            sort,
                            descending,
                            ..FileQuery::default()
                        });
                    }
                }
            }
        }
    }
    out
}

#[test]
fn every_filter_and_sort_reads_its_page_off_an_index_in_order() {
    let b = build(&[]);
    let c = b.store.connection();
    let number = Cursor {
        key: rusqlite::types::Value::Integer(5),
        id: FileId(9),
    };
    let text = Cursor {
        key: rusqlite::types::Value::Text("hero.png".into()),
        id: FileId(9),
    };
    for q in every_combination() {
        let cursor = match q.sort {
            SortKey::Name | SortKey::Kind | SortKey::Taken => &text,
            SortKey::Imported | SortKey::Size => &number,
        };
        for from in [None, Some(cursor)] {
            let plan = scan_plan(c, &q, from).unwrap();
            if q.trash == TrashFilter::Trashed {
                // The trash is read off its own index, and only its rows are sorted.
                assert!(
                    plan.contains("USING INDEX files_trashed")
                        || plan.contains("USING COVERING INDEX files_trashed"),
                    "{q:?} does not read the trash off its index:\n{plan}"
                );
                assert!(
                    !plan.contains("SCAN f\n") && !plan.ends_with("SCAN f"),
                    "{q:?} scans the table:\n{plan}"
                );
                continue;
            }
            // The sort indexes hold only files outside the trash: leaving the trash out reads
            // no row (SQLite drops the term the partial index implies; the table cursor's
            // seek stays deferred, never made, when no other filter needs a row's column).
            let residual = q.collection.is_some()
                || q.camera.is_some()
                // A date range seeks the capture-time index but still asks each row whether
                // it has a capture time at all.
                || q.taken_from.is_some()
                || q.name_contains.is_some()
                || q.accounts.as_ref().is_some_and(|a| a.len() > 1)
                || (q.kind.is_some() && q.sort != SortKey::Kind);
            if !residual {
                let walk = Walk {
                    query: &q,
                    descending: q.descending,
                };
                let (sql, values) = walk.scan_sql(from, false, SCAN_CHUNK);
                let mut stmt = c.prepare(&format!("EXPLAIN {sql}")).unwrap();
                let params: Vec<&dyn rusqlite::ToSql> = values.iter().map(|v| v.as_ref()).collect();
                let ops: Vec<(String, i64, i64)> = stmt
                    .query_map(params.as_slice(), |r| Ok((r.get(1)?, r.get(2)?, r.get(3)?)))
                    .unwrap()
                    .collect::<rusqlite::Result<_>>()
                    .unwrap();
                let root: i64 = c
                    .query_row(
                        "SELECT rootpage FROM sqlite_schema WHERE name = 'files'",
                        [],
                        |r| r.get(0),
                    )
                    .unwrap();
                let table = ops
                    .iter()
                    .find(|(op, _, page)| op == "OpenRead" && *page == root)
                    .map(|(_, cursor, _)| *cursor);
                assert!(
                    !ops.iter().any(|(op, cursor, _)| {
                        (op == "Column" || op == "SeekRowid") && Some(*cursor) == table
                    }),
                    "{q:?} reads rows to leave the trash out:\n{ops:?}"
                );
            }
            assert!(
                !plan.contains("TEMP B-TREE") && plan.contains("USING") && plan.contains("INDEX"),
                "{q:?} is not served by an index in order:\n{plan}"
            );
            let equalities = matches!(q.accounts.as_deref(), Some([_])) || q.source.is_some();
            if equalities || from.is_some() {
                assert!(
                    plan.starts_with("SEARCH"),
                    "{q:?} from {from:?} scans instead of seeking:\n{plan}"
                );
            }
        }
    }
}

#[test]
fn a_substring_driver_is_the_trigram_index() {
    let b = build(&[]);
    let q = FileQuery {
        name_contains: Some("hero".into()),
        ..FileQuery::default()
    };
    let walk = Walk {
        query: &q,
        descending: false,
    };
    assert!(matches!(walk.driver(), Some(Driver::Trigrams(_))));
    let fuzzy = FileQuery {
        name_fuzzy: true,
        ..q.clone()
    };
    let walk = Walk {
        query: &fuzzy,
        descending: false,
    };
    assert!(walk.driver().is_none(), "fuzzy matching has no index");
    drop(b);
}

/// A camera or a date range that the sort index cannot narrow drives the page from its own
/// index (one account's or every account's), and only those candidates are sorted.
#[test]
fn camera_and_date_drivers_read_their_own_index() {
    let b = build(&[]);
    let c = b.store.connection();
    for accounts in [
        None,
        Some(vec![AccountId(1)]),
        Some(vec![AccountId(1), AccountId(2)]),
    ] {
        for (camera, range, index) in [(true, false, "camera"), (false, true, "taken")] {
            let q = FileQuery {
                accounts: accounts.clone(),
                camera: camera.then(|| "Canon EOS R5".to_owned()),
                taken_from: range.then(|| "2024-05-12".to_owned()),
                taken_before: range.then(|| "2024-05-13".to_owned()),
                sort: SortKey::Name,
                ..FileQuery::default()
            };
            let walk = Walk {
                query: &q,
                descending: false,
            };
            let driver = walk.driver().expect("a driver");
            let from = match driver {
                Driver::Camera => walk.driver_index("files_by_camera", "files_all_by_camera"),
                Driver::Taken => walk.driver_index("files_by_taken", "files_all_by_taken"),
                _ => panic!("{q:?}: not the camera or date driver"),
            };
            let (sql, values) = walk.ids_sql(&from, Vec::new(), None, false, 100);
            let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let params: Vec<&dyn rusqlite::ToSql> = values.iter().map(|v| v.as_ref()).collect();
            let plan: Vec<String> = stmt
                .query_map(params.as_slice(), |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            let plan = plan.join("\n");
            assert!(
                plan.starts_with("SEARCH") && plan.contains(&format!("by_{index}")),
                "{q:?} does not seek its index:\n{plan}"
            );
        }
    }
    // Sorted by capture time, a date range is a range of the sort index: no driver.
    let q = FileQuery {
        taken_from: Some("2024-05-12".into()),
        sort: SortKey::Taken,
        ..FileQuery::default()
    };
    let walk = Walk {
        query: &q,
        descending: true,
    };
    assert!(walk.driver().is_none());
    let plan = scan_plan(c, &q, None).unwrap();
    assert!(
        plan.starts_with("SEARCH") && plan.contains("files_all_by_taken"),
        "{plan}"
    );
}

/// V13 gives files already in a library (and their metadata, read before V13) their capture
/// time, camera and sort key.
#[test]
fn a_v12_library_gets_capture_times_and_cameras_from_its_metadata() {
    use crate::library::store::migrations;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("library.sqlite3");
    {
        let raw = rusqlite::Connection::open(&path).unwrap();
        for step in &migrations::MIGRATIONS[..12] {
            raw.execute_batch(step).unwrap();
        }
        raw.pragma_update(None, "user_version", 12).unwrap();
        raw.pragma_update(None, "application_id", migrations::APPLICATION_ID)
            .unwrap();
        raw.execute_batch(
            "INSERT INTO accounts(name, plan, created_at) VALUES ('Old', 'team', 0);
             INSERT INTO files(account, name, size, kind, format, mime, sha256, source, imported_at)
                 VALUES (1, 'shot.jpg', 1, 'image', 'JPEG', 'image/jpeg', 'x', 'upload', 86400);
             INSERT INTO files(account, name, size, kind, format, mime, sha256, source, imported_at)
                 VALUES (1, 'scan.pdf', 1, 'document', 'PDF', 'application/pdf', 'y', 'upload', 90061);
             INSERT INTO file_metadata(file, outcome, extracted_at, taken_at, camera_make, camera_model)
                 VALUES (1, 'read', 0, '2024-05-12T14:03:22+02:00', 'Canon', 'Canon EOS R5');
             INSERT INTO file_metadata(file, outcome, extracted_at, camera_make)
                 VALUES (2, 'read', 0, 'FUJIFILM');",
        )
        .unwrap();
    }
    let store = Store::open(&path).unwrap();
    let c = store.connection();
    let rows: Vec<(Option<String>, Option<String>, String)> = c
        .prepare("SELECT taken, camera, taken_sort FROM files ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(
        rows,
        [
            (
                Some("2024-05-12T14:03:22".to_owned()),
                Some("Canon EOS R5".to_owned()),
                "2024-05-12T14:03:22".to_owned()
            ),
            (
                None,
                Some("FUJIFILM".to_owned()),
                "1970-01-02T01:01:01".to_owned()
            ),
        ]
    );
    let q = FileQuery {
        camera: Some("canon eos r5".into()),
        taken_from: Some("2024-05-12".into()),
        taken_before: Some("2024-05-13".into()),
        ..FileQuery::default()
    };
    let hits = page(c, &q, &PageStart::First, 10).unwrap();
    assert_eq!(hits.iter().map(|f| f.id).collect::<Vec<_>>(), [FileId(1)]);
}

#[test]
fn a_v1_library_gets_the_v2_indexes_and_its_old_names_are_searchable() {
    use crate::library::store::migrations;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("library.sqlite3");
    {
        let raw = rusqlite::Connection::open(&path).unwrap();
        raw.execute_batch(migrations::MIGRATIONS[0]).unwrap();
        raw.pragma_update(None, "user_version", 1).unwrap();
        raw.pragma_update(None, "application_id", migrations::APPLICATION_ID)
            .unwrap();
        raw.execute(
            "INSERT INTO accounts(name, plan, created_at) VALUES ('Old', 'team', 0)",
            [],
        )
        .unwrap();
        raw.execute(
            "INSERT INTO files(account, name, size, kind, format, mime, sha256, source, imported_at)
             VALUES (1, 'Harbour Sunset.JPG', 1, 'image', 'JPEG', 'image/jpeg', 'x', 'upload', 0)",
            [],
        )
        .unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        migrations::latest_version()
    );
    let q = FileQuery {
        name_contains: Some("bour sun".into()),
        ..FileQuery::default()
    };
    let walk = Walk {
        query: &q,
        descending: false,
    };
    let Some(driver) = walk.driver() else {
        panic!("a substring of three or more characters has the trigram driver");
    };
    let ids = walk
        .driven(store.connection(), &driver, None, false, 10)
        .unwrap();
    assert_eq!(
        ids.len(),
        1,
        "the row from before V2 is in the trigram index"
    );
}

/// One- and two-letter needles through the name index's hits, over names whose case folding is
/// tricky (final sigma, dotted İ, the Kelvin sign, ß), agree with the SQL check on every name;
/// a row renamed or deleted after the index was read is checked again and left out.
#[test]
fn name_index_hits_agree_with_the_sql_check_and_stale_rows_drop_out() {
    let names = [
        "ΟΔΟΣ.png",
        "σκ.png",
        "İstanbul.jpg",
        "\u{212a}.gif",
        "straße",
        "STRASSE",
        "hx.png",
        "HX-2.png",
        "日本",
        "ab",
    ];
    let files: Vec<ModelFile> = names
        .iter()
        .map(|n| ModelFile {
            account: 0,
            name: (*n).into(),
            size: 1,
            kind: "image",
            source: Source::Upload,
            imported_at: 0,
            collections: vec![],
            trashed: false,
            taken: None,
            camera: None,
        })
        .collect();
    let (b, index) = build_split(&files, 7);
    let c = b.store.connection();
    let read = |needle: &str| {
        let mut q = FileQuery {
            name_contains: Some(needle.into()),
            sort: SortKey::Name,
            ..FileQuery::default()
        };
        q.name_hits = Some(std::sync::Arc::new(
            index.hits(&name_match::fold(needle)).unwrap(),
        ));
        let rows: Vec<FileId> = page(c, &q, &PageStart::First, 100)
            .unwrap()
            .iter()
            .map(|f| f.id)
            .collect();
        assert_eq!(count(c, &q).unwrap(), rows.len() as u64, "{needle:?}");
        rows
    };
    for needle in [
        "σ", "Σ", "ς", "i", "İ", "k", "K", "ß", "ss", "hx", "HX", "日", "本", "b", "qz",
    ] {
        let folded = name_match::fold(needle);
        let mut expected: Vec<(Vec<u8>, FileId)> = names
            .iter()
            .zip(&b.ids)
            .filter(|(n, _)| name_match::matches(n, &folded, false))
            .map(|(n, id)| (nocase(n), *id))
            .collect();
        expected.sort();
        let expected: Vec<FileId> = expected.into_iter().map(|(_, id)| id).collect();
        assert_eq!(read(needle), expected, "{needle:?}");
    }
    c.execute(
        "UPDATE files SET name = 'renamed' WHERE name = 'hx.png'",
        [],
    )
    .unwrap();
    c.execute("DELETE FROM files WHERE name = 'HX-2.png'", [])
        .unwrap();
    assert_eq!(read("hx"), Vec::<FileId>::new());
    assert_eq!(read("x"), Vec::<FileId>::new());
}
