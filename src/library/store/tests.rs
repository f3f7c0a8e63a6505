use crate::library::ids::{AccountId, FileId, LinkId};
use std::sync::{Arc, Barrier};

use time::macros::datetime;

use super::*;
use crate::library::formats::{Detection, FileKind, Verdict};
use crate::library::model::{DropboxOrigin, NewFile, Source};
use crate::library::policy::{ErrorKind, Plan};

fn temp_db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("library.sqlite3");
    (dir, path)
}

fn tiny_plan() -> Plan {
    Plan {
        name: "tiny".into(),
        storage_limit_bytes: 10_000,
        video_bytes_per_month: 5_000,
        max_video_bytes: 5_000,
    }
}

fn detection(kind: FileKind) -> Detection {
    Detection {
        format: format!("{} file", kind.as_str()),
        mime: "application/x-test".into(),
        verdict: Verdict::Supported(kind),
    }
}

fn account(store: &mut Store, name: &str) -> AccountId {
    store
        .transaction(|tx| people::insert_account(tx, name, "tiny", 0))
        .unwrap()
}

fn new_file(account: AccountId, size: u64, imported_at: i64) -> NewFile {
    NewFile {
        batch: None,
        account,
        name: "a.jpg".into(),
        size,
        kind: "image".into(),
        format: "JPEG image".into(),
        mime: "image/jpeg".into(),
        sha256: "0".repeat(64),
        source: Source::Upload,
        uploaded_by: None,
        imported_at,
        dropbox: None,
    }
}

#[test]
fn a_new_library_gets_the_latest_schema_and_our_application_id() {
    let (_dir, path) = temp_db();
    let store = Store::open(&path).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        migrations::latest_version()
    );
    let app: i32 = store
        .connection()
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .unwrap();
    assert_eq!(app, migrations::APPLICATION_ID);
    let mode: String = store
        .connection()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    drop(store);
    // Reopening migrates nothing and keeps data.
    let mut store = Store::open(&path).unwrap();
    account(&mut store, "Acme");
    drop(store);
    let store = Store::open(&path).unwrap();
    assert!(
        people::account_by_name(store.connection(), "acme")
            .unwrap()
            .is_some()
    );
}

#[test]
fn refuses_a_library_from_a_newer_schema_and_leaves_it_untouched() {
    let (_dir, path) = temp_db();
    drop(Store::open(&path).unwrap());
    {
        let raw = Connection::open(&path).unwrap();
        raw.pragma_update(None, "user_version", 99).unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let err = Store::open(&path).err().expect("must refuse");
    assert!(
        matches!(err, StoreError::NewerSchema { found: 99, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("upgrade smartimage"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert!(matches!(
        Store::open_readonly(&path),
        Err(StoreError::NewerSchema { .. })
    ));
}

#[test]
fn refuses_some_other_sqlite_database() {
    let (_dir, path) = temp_db();
    {
        let raw = Connection::open(&path).unwrap();
        raw.execute_batch("CREATE TABLE notes(body TEXT); INSERT INTO notes VALUES ('mine');")
            .unwrap();
    }
    let err = Store::open(&path).err().expect("must refuse");
    assert!(matches!(err, StoreError::NotALibrary { .. }), "{err}");
    let raw = Connection::open(&path).unwrap();
    let body: String = raw
        .query_row("SELECT body FROM notes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(body, "mine");
}

#[test]
fn reports_a_corrupt_file_and_never_overwrites_it() {
    let (_dir, path) = temp_db();
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&path, &garbage).unwrap();
    let err = Store::open(&path).err().expect("must refuse");
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("left untouched"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), garbage);
}

#[test]
fn usage_follows_file_rows_and_counts_videos_in_their_month() {
    let (_dir, path) = temp_db();
    let mut store = Store::open(&path).unwrap();
    let acct = account(&mut store, "Acme");
    let november = datetime!(2026-11-15 12:00 UTC);
    let december = datetime!(2026-12-01 00:00 UTC);
    store
        .transaction(|tx| -> rusqlite::Result<()> {
            files::insert_file(tx, &new_file(acct, 300, november.unix_timestamp()), None)?;
            let mut video = new_file(acct, 1_000, november.unix_timestamp());
            video.kind = "video".into();
            files::insert_file(tx, &video, Some(&quota::video_month_key(november)))?;
            Ok(())
        })
        .unwrap();
    let used = quota::usage(store.connection(), acct, november).unwrap();
    assert_eq!(used.storage_bytes, 1_300);
    assert_eq!(used.video_bytes_this_month, 1_000);
    // The allotment resets on the 1st (UTC); storage does not.
    let used = quota::usage(store.connection(), acct, december).unwrap();
    assert_eq!(used.storage_bytes, 1_300);
    assert_eq!(used.video_bytes_this_month, 0);
    store
        .connection()
        .execute("DELETE FROM files WHERE size = 1000", [])
        .unwrap();
    let used = quota::usage(store.connection(), acct, november).unwrap();
    assert_eq!((used.storage_bytes, used.video_bytes_this_month), (300, 0));
}

#[test]
fn reservations_count_until_released() {
    let (_dir, path) = temp_db();
    let mut store = Store::open(&path).unwrap();
    let acct = account(&mut store, "Acme");
    let now = datetime!(2026-11-15 12:00 UTC);
    let plan = tiny_plan();
    let r = store
        .reserve(
            acct,
            &plan,
            "big.jpg",
            9_000,
            &detection(FileKind::Image),
            now,
            "test",
            None,
        )
        .unwrap();
    let refused = store.reserve(
        acct,
        &plan,
        "more.jpg",
        1_001,
        &detection(FileKind::Image),
        now,
        "test",
        None,
    );
    assert!(
        matches!(refused, Err(quota::ReserveError::Refused(ref e)) if e.kind() == ErrorKind::StorageLimit)
    );
    store.transaction(|tx| quota::release(tx, r.id)).unwrap();
    assert!(
        store
            .reserve(
                acct,
                &plan,
                "more.jpg",
                1_001,
                &detection(FileKind::Image),
                now,
                "test",
                None
            )
            .is_ok()
    );
}

/// The running totals of reserved quota (migration V5) against the sums they replace, after
/// every way a reservation comes and goes.
#[test]
fn reserved_totals_follow_every_way_a_reservation_goes() {
    fn check(store: &Store, acct: AccountId, now: time::OffsetDateTime) {
        let month = quota::video_month_key(now);
        let (storage, video): (i64, i64) = store
            .connection()
            .query_row(
                "SELECT coalesce((SELECT bytes FROM storage_usage WHERE account = ?1), 0)
                      + coalesce((SELECT sum(storage_bytes) FROM reservations WHERE account = ?1), 0),
                        coalesce((SELECT bytes FROM video_usage WHERE account = ?1 AND month = ?2), 0)
                      + coalesce((SELECT sum(video_bytes) FROM reservations
                                   WHERE account = ?1 AND video_month = ?2), 0)",
                rusqlite::params![acct, month],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        let usage = quota::usage(store.connection(), acct, now).unwrap();
        assert_eq!(usage.storage_bytes, storage as u64);
        assert_eq!(usage.video_bytes_this_month, video as u64);
    }
    let (_dir, path) = temp_db();
    let mut store = Store::open(&path).unwrap();
    let acct = account(&mut store, "Acme");
    let other = account(&mut store, "Other");
    let plan = tiny_plan();
    let november = datetime!(2026-11-30 23:00 UTC);
    let december = datetime!(2026-12-01 01:00 UTC);
    let reserve = |store: &mut Store, who: AccountId, kind: FileKind, size: u64, now, purpose| {
        store
            .reserve(who, &plan, "f", size, &detection(kind), now, purpose, None)
            .unwrap()
    };
    let image = reserve(&mut store, acct, FileKind::Image, 1_000, november, "import");
    reserve(&mut store, acct, FileKind::Video, 2_000, november, "import");
    reserve(&mut store, acct, FileKind::Video, 1_500, december, "upload");
    reserve(&mut store, other, FileKind::Image, 700, november, "upload");
    for now in [november, december] {
        check(&store, acct, now);
        check(&store, other, now);
    }
    assert_eq!(
        quota::usage(store.connection(), acct, december)
            .unwrap()
            .storage_bytes,
        4_500
    );

    store
        .transaction(|tx| quota::release(tx, image.id))
        .unwrap();
    check(&store, acct, november);
    store
        .transaction(|tx| quota::release_purpose(tx, "import"))
        .unwrap();
    check(&store, acct, november);
    check(&store, acct, december);
    let changed = store
        .connection()
        .execute("UPDATE reservations SET storage_bytes = 1", []);
    assert!(changed.is_err(), "a reservation is never changed in place");
    check(&store, acct, december);
    store.transaction(|tx| quota::release_all(tx)).unwrap();
    for who in [acct, other] {
        let usage = quota::usage(store.connection(), who, december).unwrap();
        assert_eq!((usage.storage_bytes, usage.video_bytes_this_month), (0, 0));
    }
}

/// Many connections admit files at once; the limit holds exactly.
fn hammer_reservations(kind: FileKind, size: u64, limit_fits: usize) {
    const THREADS: usize = 8;
    const TRIES_PER_THREAD: usize = 6;
    let (_dir, path) = temp_db();
    let mut store = Store::open(&path).unwrap();
    let acct = account(&mut store, "Acme");
    drop(store);
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let path = path.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let mut store = Store::open(&path).unwrap();
                let now = datetime!(2026-11-15 12:00 UTC);
                barrier.wait();
                (0..TRIES_PER_THREAD)
                    .filter(|_| {
                        store
                            .reserve(
                                acct,
                                &tiny_plan(),
                                "f",
                                size,
                                &detection(kind),
                                now,
                                "race",
                                None,
                            )
                            .is_ok()
                    })
                    .count()
            })
        })
        .collect();
    let granted: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(granted, limit_fits, "exactly as many as fit, never more");
    let store = Store::open(&path).unwrap();
    let used = quota::usage(store.connection(), acct, datetime!(2026-11-15 12:00 UTC)).unwrap();
    assert!(used.storage_bytes <= tiny_plan().storage_limit_bytes);
    assert!(used.video_bytes_this_month <= tiny_plan().video_bytes_per_month);
}

#[test]
fn concurrent_admissions_never_overshoot_the_storage_limit() {
    hammer_reservations(FileKind::Image, 1_000, 10);
}

#[test]
fn concurrent_admissions_never_overshoot_the_video_allotment() {
    hammer_reservations(FileKind::Video, 1_000, 5);
}

#[test]
fn a_replayed_dropbox_revision_cannot_create_a_second_row() {
    let (_dir, path) = temp_db();
    let mut store = Store::open(&path).unwrap();
    let acct = account(&mut store, "Acme");
    store
        .connection()
        .execute_batch(
            "INSERT INTO dropbox_connections(id, dropbox_account_id, backend, created_at) VALUES (1, 'dbid:x', 'local', 0);
             INSERT INTO links(id, account, connection, folder_path, created_at) VALUES (1, 1, 1, '/Acme', 0);",
        )
        .unwrap();
    let mut f = new_file(acct, 10, 0);
    f.source = Source::Dropbox;
    f.dropbox = Some(DropboxOrigin {
        link: LinkId(1),
        path: "/acme/a.jpg".into(),
        id: "id:abc".into(),
        rev: "015f1a2b3c".into(),
        content_hash: "h".into(),
    });
    store
        .transaction(|tx| files::insert_file(tx, &f, None))
        .unwrap();
    let err = store
        .transaction(|tx| files::insert_file(tx, &f, None))
        .unwrap_err();
    assert!(is_unique_violation(&err), "{err}");
    let n = files::count_files(store.connection(), &FileQuery::default()).unwrap();
    assert_eq!(n, 1);
}

#[test]
fn readers_do_not_wait_for_a_long_write() {
    let (_dir, path) = temp_db();
    let mut writer = Store::open(&path).unwrap();
    account(&mut writer, "Before");
    let reader = Store::open_readonly(&path).unwrap();
    let tx = writer
        .conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .unwrap();
    people::insert_account(&tx, "During", "tiny", 0).unwrap();
    // The write is still open: the reader sees the last committed state, immediately.
    reader.conn.busy_timeout(Duration::from_millis(1)).unwrap();
    let names: Vec<String> = people::list_accounts(reader.connection())
        .unwrap()
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(names, vec!["Before".to_string()]);
    tx.commit().unwrap();
    let names = people::list_accounts(reader.connection()).unwrap();
    assert_eq!(names.len(), 2);
}

#[test]
fn the_writer_thread_runs_jobs_in_order_for_sync_and_async_callers() {
    let (_dir, path) = temp_db();
    let (writer, thread) = writer::StoreWriter::spawn(Store::open(&path).unwrap()).unwrap();
    let first = writer.run_blocking(|s| account(s, "First")).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let second = runtime
        .block_on(writer.run(|s| account(s, "Second")))
        .unwrap();
    assert!(second > first);
    let names = writer
        .run_blocking(|s| {
            people::list_accounts(s.connection())
                .unwrap()
                .into_iter()
                .map(|a| a.name)
                .collect::<Vec<_>>()
        })
        .unwrap();
    assert_eq!(names, vec!["First".to_string(), "Second".to_string()]);
    drop(writer);
    thread.join().unwrap();
}

#[test]
fn abandoned_reservations_are_released_by_age_and_fresh_ones_kept() {
    let (_dir, path) = temp_db();
    let mut store = Store::open(&path).unwrap();
    let acct = account(&mut store, "Acme");
    let plan = tiny_plan();
    let old = datetime!(2026-11-10 12:00 UTC);
    let new = datetime!(2026-11-15 12:00 UTC);
    store
        .reserve(
            acct,
            &plan,
            "a.jpg",
            4_000,
            &detection(FileKind::Image),
            old,
            "upload",
            None,
        )
        .unwrap();
    store
        .reserve(
            acct,
            &plan,
            "b.jpg",
            4_000,
            &detection(FileKind::Image),
            new,
            "upload",
            None,
        )
        .unwrap();
    let released = store
        .transaction(|tx| quota::release_older_than(tx, new.unix_timestamp()))
        .unwrap();
    assert_eq!(released, 1);
    let used = quota::usage(store.connection(), acct, new).unwrap();
    assert_eq!(
        used.storage_bytes, 4_000,
        "the fresh reservation still holds its quota"
    );
}

/// Ids the trigram index answers for a substring (through FTS5 alone, not the files table).
fn trigram_hits(store: &Store, needle: &str) -> Vec<FileId> {
    let mut stmt = store
        .connection()
        .prepare("SELECT rowid FROM file_names(?1) ORDER BY rowid")
        .unwrap();
    let query = name_match::trigram_query(needle).expect("three or more characters");
    stmt.query_map([query], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

fn assert_trigram_index_intact(store: &Store) {
    store
        .connection()
        .execute(
            "INSERT INTO file_names(file_names, rank) VALUES ('integrity-check', 1)",
            [],
        )
        .unwrap();
}

#[test]
fn names_reach_the_trigram_index_when_their_transaction_commits() {
    let (_dir, path) = temp_db();
    let mut store = Store::open(&path).unwrap();
    let acct = account(&mut store, "Acme");
    let named = |name: &str| NewFile {
        batch: None,
        name: name.into(),
        ..new_file(acct, 10, 0)
    };
    let (kept, renamed) = store
        .transaction(|tx| -> rusqlite::Result<_> {
            let kept = files::insert_file(tx, &named("Harbour sunset.jpg"), None)?;
            let gone = files::insert_file(tx, &named("Harbour gone.jpg"), None)?;
            let renamed = files::insert_file(tx, &named("draft.png"), None)?;
            // Deleted and renamed while still pending: the index never hears of the old names.
            tx.execute("DELETE FROM files WHERE id = ?1", [gone])?;
            tx.execute(
                "UPDATE files SET name = 'Harbour final.png' WHERE id = ?1",
                [renamed],
            )?;
            // Not in the trigram index yet: listed as pending until the commit.
            let pending: i64 =
                tx.query_row("SELECT count(*) FROM file_names_pending", [], |r| r.get(0))?;
            assert_eq!(pending, 2);
            Ok((kept, renamed))
        })
        .unwrap();
    assert_eq!(trigram_hits(&store, "harbour"), vec![kept, renamed]);
    assert!(trigram_hits(&store, "draft").is_empty());
    assert_trigram_index_intact(&store);

    // Once indexed, a rename and a delete go through the index itself.
    store
        .transaction(|tx| -> rusqlite::Result<()> {
            tx.execute(
                "UPDATE files SET name = 'final.png' WHERE id = ?1",
                [renamed],
            )?;
            tx.execute("DELETE FROM files WHERE id = ?1", [kept])?;
            Ok(())
        })
        .unwrap();
    assert!(trigram_hits(&store, "harbour").is_empty());
    assert_eq!(trigram_hits(&store, "final"), vec![renamed]);
    assert_trigram_index_intact(&store);
    let pending: i64 = store
        .connection()
        .query_row("SELECT count(*) FROM file_names_pending", [], |r| r.get(0))
        .unwrap();
    assert_eq!(pending, 0);
}

#[test]
fn a_duplicate_is_the_same_bytes_in_the_same_account_found_through_the_hash_index() {
    let (_dir, path) = temp_db();
    let mut store = Store::open(&path).unwrap();
    let (acme, other) = (account(&mut store, "Acme"), account(&mut store, "Other"));
    let same = "5".repeat(64);
    let (first, second) = store
        .transaction(|tx| -> rusqlite::Result<(FileId, FileId)> {
            let mut file = new_file(acme, 300, 0);
            file.sha256 = same.clone();
            let first = files::insert_file(tx, &file, None)?;
            let second = files::insert_file(tx, &file, None)?;
            Ok((first, second))
        })
        .unwrap();
    assert!(first < second);
    let c = store.connection();
    assert_eq!(
        files::file_with_sha256(c, acme, &same).unwrap(),
        Some(first),
        "the oldest"
    );
    assert_eq!(
        files::file_with_sha256(c, other, &same).unwrap(),
        None,
        "another account's"
    );
    assert_eq!(
        files::file_with_sha256(c, acme, &"6".repeat(64)).unwrap(),
        None
    );
    assert!(files::account_has_size(c, acme, 300).unwrap());
    assert!(!files::account_has_size(c, other, 300).unwrap());
    // Not an account-first index: that would walk every file of the account per lookup.
    let plan = files::duplicate_lookup_plan(c).unwrap();
    assert!(plan.contains("USING INDEX files_by_sha256"), "{plan}");
}
