//! The trash in the store: what a trashed row still holds (quota, blob, collections), what a
//! purge gives back, and the one definition of a duplicate.

use crate::library::ids::{AccountId, CollectionId, FileId};
use time::macros::datetime;

use super::*;
use crate::library::model::{NewFile, Source};
use crate::library::store::blob_table::{self, BlobState};
use crate::library::store::files::{self, TrashFilter};
use crate::library::store::{Store, collections, people, quota};

fn file(account: AccountId, sha: char, size: u64) -> NewFile {
    NewFile {
        account,
        name: format!("{sha}.jpg"),
        size,
        kind: "image".into(),
        format: "JPEG image".into(),
        mime: "image/jpeg".into(),
        sha256: sha.to_string().repeat(64),
        source: Source::Upload,
        uploaded_by: None,
        imported_at: 0,
        dropbox: None,
        batch: None,
    }
}

struct Lib {
    _dir: tempfile::TempDir,
    store: Store,
    acme: AccountId,
    other: AccountId,
}

fn lib() -> Lib {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("library.sqlite3")).unwrap();
    let (acme, other) = store
        .transaction(|tx| -> rusqlite::Result<_> {
            Ok((
                people::insert_account(tx, "Acme", "team", 0)?,
                people::insert_account(tx, "Other", "team", 0)?,
            ))
        })
        .unwrap();
    Lib {
        _dir: dir,
        store,
        acme,
        other,
    }
}

/// Inserts a committed row as the import does: the row, then its blob live.
fn add(l: &mut Lib, f: &NewFile) -> FileId {
    l.store
        .transaction(|tx| -> rusqlite::Result<FileId> {
            let id = files::insert_file(tx, f, None)?;
            blob_table::commit_reference(tx, &f.sha256, f.size, 0)?;
            Ok(id)
        })
        .unwrap()
}

fn storage(l: &Lib, account: AccountId) -> u64 {
    quota::usage(
        l.store.connection(),
        account,
        datetime!(2026-11-15 12:00 UTC),
    )
    .unwrap()
    .storage_bytes
}

fn blob(l: &Lib, sha: char) -> Option<BlobState> {
    blob_table::state(l.store.connection(), &sha.to_string().repeat(64))
        .unwrap()
        .map(|(state, _)| state)
}

#[test]
fn a_trashed_file_keeps_its_quota_blob_and_collections_until_purged() {
    let mut l = lib();
    let (acme, _) = (l.acme, l.other);
    let a = add(&mut l, &file(acme, 'a', 300));
    let b = add(&mut l, &file(acme, 'b', 200));
    let col = l
        .store
        .transaction(|tx| -> rusqlite::Result<CollectionId> {
            let admin = people::NewAdmin {
                email: "ann@example.com",
                name: "Ann",
                os_user: None,
                is_operator: false,
            };
            let by = people::insert_admin(tx, &admin, 0)?;
            let col = collections::create_collection(tx, acme, "Hero", by, 0)?;
            collections::add_files(tx, col, &[a], by, 0)?;
            Ok(col)
        })
        .unwrap();
    assert_eq!(storage(&l, acme), 500);

    let moved = l
        .store
        .transaction(|tx| trash(tx, &[a, a], None, 10))
        .unwrap();
    assert_eq!(moved, 1);
    // Still counted, still live, still in its collection; out of every listing of the library.
    assert_eq!(storage(&l, acme), 500, "a trashed file still counts");
    assert_eq!(
        blob(&l, 'a'),
        Some(BlobState::Live),
        "trash never releases a blob"
    );
    let live = FileQuery {
        accounts: Some(vec![acme]),
        ..FileQuery::default()
    };
    let ids = |l: &Lib, q: &FileQuery| -> Vec<FileId> {
        files::list_files(l.store.connection(), q)
            .unwrap()
            .iter()
            .map(|f| f.id)
            .collect()
    };
    assert_eq!(ids(&l, &live), vec![b]);
    let in_trash = FileQuery {
        trash: TrashFilter::Trashed,
        ..live.clone()
    };
    assert_eq!(ids(&l, &in_trash), vec![a]);
    let record = files::file_by_id(l.store.connection(), a).unwrap().unwrap();
    assert_eq!(record.trashed_at, Some(10));
    assert_eq!(record.collections, vec!["Hero".to_owned()]);

    // Restore: back with its collection.
    assert_eq!(l.store.transaction(|tx| restore(tx, &[a, b])).unwrap(), 1);
    assert_eq!(ids(&l, &live), vec![a, b]);
    let in_collection = FileQuery {
        collection: Some(col),
        ..live.clone()
    };
    assert_eq!(ids(&l, &in_collection), vec![a]);

    // A purge touches only trashed rows; then the quota is freed and the blob released.
    assert_eq!(l.store.transaction(|tx| purge(tx, &[a])).unwrap(), 0);
    assert_eq!(storage(&l, acme), 500);
    l.store.transaction(|tx| trash(tx, &[a], None, 10)).unwrap();
    assert_eq!(
        trashed_before(l.store.connection(), None, Some(10)).unwrap(),
        vec![],
        "trashed at 10 is not before 10"
    );
    assert_eq!(
        trashed_before(l.store.connection(), Some(&[acme]), Some(11)).unwrap(),
        vec![(a, acme, 300)]
    );
    assert_eq!(l.store.transaction(|tx| purge(tx, &[a, b])).unwrap(), 1);
    assert_eq!(storage(&l, acme), 200, "a purge frees the quota");
    assert_eq!(
        blob(&l, 'a'),
        Some(BlobState::Released),
        "and releases the blob"
    );
    assert_eq!(blob(&l, 'b'), Some(BlobState::Live));
    assert!(
        files::file_by_id(l.store.connection(), a)
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_purge_keeps_a_blob_another_row_still_holds_and_clears_the_journal_reference() {
    let mut l = lib();
    let acme = l.acme;
    let a = add(&mut l, &file(acme, 'a', 300));
    let copy = add(&mut l, &file(acme, 'a', 300));
    // A journal item that imported `a` (its foreign key would refuse the delete).
    l.store
        .connection()
        .execute_batch(
            "INSERT INTO dropbox_connections(dropbox_account_id, backend, created_at)
                 VALUES ('dbid', 'local', 0);
             INSERT INTO links(account, connection, folder_path, created_at) VALUES (1, 1, '/A', 0);",
        )
        .unwrap();
    l.store
        .connection()
        .execute(
            "INSERT INTO import_items(link, dropbox_id, rev, path, size, state, file, created_at, updated_at)
             VALUES (1, 'id:a', 'r1', '/A/a.jpg', 300, 'deleted', ?1, 0, 0)",
            [a],
        )
        .unwrap();
    l.store
        .transaction(|tx| -> rusqlite::Result<()> {
            trash(tx, &[a], None, 1)?;
            assert_eq!(purge(tx, &[a])?, 1);
            Ok(())
        })
        .unwrap();
    assert_eq!(
        blob(&l, 'a'),
        Some(BlobState::Live),
        "the copy still holds it"
    );
    let item_file: Option<FileId> = l
        .store
        .connection()
        .query_row("SELECT file FROM import_items", [], |r| r.get(0))
        .unwrap();
    assert_eq!(item_file, None);
    assert!(
        files::file_by_id(l.store.connection(), copy)
            .unwrap()
            .is_some()
    );
}

#[test]
fn a_duplicate_is_the_same_bytes_in_the_same_account_outside_the_trash() {
    let mut l = lib();
    let (acme, other) = (l.acme, l.other);
    let first = add(&mut l, &file(acme, 'a', 300));
    let second = add(&mut l, &file(acme, 'a', 300));
    let third = add(&mut l, &file(acme, 'a', 300));
    let elsewhere = add(&mut l, &file(other, 'a', 300));
    let unique = add(&mut l, &file(acme, 'u', 10));
    let dup = |l: &Lib, id| {
        files::file_by_id(l.store.connection(), id)
            .unwrap()
            .unwrap()
            .duplicate_of
    };
    assert_eq!(dup(&l, first), None);
    assert_eq!(dup(&l, second), Some(first));
    assert_eq!(dup(&l, third), Some(first));
    assert_eq!(
        dup(&l, elsewhere),
        None,
        "another account's bytes are not a duplicate"
    );
    assert_eq!(dup(&l, unique), None);
    let only_duplicates = FileQuery {
        duplicates_only: true,
        ..FileQuery::default()
    };
    let listed: Vec<FileId> = files::list_files(l.store.connection(), &only_duplicates)
        .unwrap()
        .iter()
        .map(|f| f.id)
        .collect();
    assert_eq!(listed, vec![second, third]);

    // The original in the trash: the next copy is the original now, and what an upload or a
    // skipping import finds.
    l.store
        .transaction(|tx| trash(tx, &[first], None, 1))
        .unwrap();
    assert_eq!(dup(&l, first), None, "a trashed file is nobody's duplicate");
    assert_eq!(dup(&l, second), None);
    assert_eq!(dup(&l, third), Some(second));
    let c = l.store.connection();
    assert_eq!(
        files::file_with_sha256(c, acme, &"a".repeat(64)).unwrap(),
        Some(second)
    );
    // Every copy in the trash: the bytes are new to the account.
    l.store
        .transaction(|tx| trash(tx, &[second, third], None, 1))
        .unwrap();
    let c = l.store.connection();
    assert_eq!(
        files::file_with_sha256(c, acme, &"a".repeat(64)).unwrap(),
        None
    );
    assert!(!files::account_has_size(c, acme, 300).unwrap());
    assert!(files::account_has_size(c, acme, 10).unwrap());
}

#[test]
fn a_v11_library_gets_the_trash_columns_and_keeps_its_files() {
    use crate::library::store::migrations;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("library.sqlite3");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.pragma_update(None, "application_id", migrations::APPLICATION_ID)
            .unwrap();
        let tx = c.unchecked_transaction().unwrap();
        for (i, m) in migrations::MIGRATIONS[..11].iter().enumerate() {
            tx.execute_batch(m).unwrap();
            if i as i64 + 1 == migrations::WIDEN_SOURCES_AT {
                migrations::widen_file_sources(&tx).unwrap();
            }
        }
        tx.execute_batch(
            "INSERT INTO accounts(name, plan, created_at) VALUES ('Old', 'team', 0);
             INSERT INTO storage_usage(account, bytes) VALUES (1, 5);
             INSERT INTO files(account, name, size, kind, format, mime, sha256, source, imported_at)
                 VALUES (1, 'old.png', 5, 'image', 'PNG image', 'image/png', 'x', 'upload', 0);
             PRAGMA user_version = 11;",
        )
        .unwrap();
        tx.commit().unwrap();
    }
    let store = Store::open(&path).unwrap();
    let old = files::file_by_id(store.connection(), FileId(1))
        .unwrap()
        .unwrap();
    assert_eq!(
        (old.trashed_at, old.duplicate_of, old.batch),
        (None, None, None)
    );
    let listed = files::list_files(store.connection(), &FileQuery::default()).unwrap();
    assert_eq!(listed.len(), 1);
}
