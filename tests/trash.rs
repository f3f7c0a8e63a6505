//! The trash, import undo and duplicates through the real binary (issue #22): what goes to
//! the trash still counts and keeps its blob; only a purge frees the quota and releases the
//! blob, which garbage collection deletes later; destructive verbs need `--yes` off a
//! terminal; an import with `duplicates = "skip"` drops a copy like an import; the engine
//! empties the trash of files older than `[trash] purge_after_days`.

#[path = "support/site.rs"]
mod site;

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};
use site::{ACCOUNT, ADMIN, OPERATOR, OWNER, Site};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn json(site: &Site, actor: &str, args: &[&str]) -> Value {
    serde_json::from_str(&site.ok(actor, args)).unwrap()
}

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_i64().unwrap())
        .collect()
}

fn storage_used(site: &Site) -> u64 {
    let accounts = json(site, OPERATOR, &["account", "list", "--json"]);
    accounts.as_array().unwrap()[0]["storage_used_bytes"]
        .as_u64()
        .unwrap()
}

fn blob_on_disk(site: &Site, sha: &str) -> bool {
    site.data.join("blobs").join(&sha[..2]).join(sha).exists()
}

fn audit_actions(site: &Site) -> BTreeSet<String> {
    json(site, OPERATOR, &["audit", "--json"])
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap().to_owned())
        .collect()
}

/// Uploads `name` with `bytes` (duplicates allowed); returns the upload's file id.
fn upload(site: &Site, name: &str, bytes: &[u8]) -> i64 {
    let path = site.root.join(name);
    std::fs::write(&path, bytes).unwrap();
    let out = json(
        site,
        OWNER,
        &[
            "upload",
            "--account",
            ACCOUNT,
            "--allow-duplicates",
            "--json",
            path.to_str().unwrap(),
        ],
    );
    out["uploaded"][0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no file id in {out}"))
}

#[test]
fn delete_restore_undo_and_empty_the_trash_through_the_binary() {
    let site = Site::linked("");
    let original = site::png(1, 700);
    let sha = hex(&Sha256::digest(&original));
    let a = upload(&site, "a.png", &original);
    let b = upload(&site, "b.png", &site::png(2, 800));
    let copy = upload(&site, "copy.png", &original);
    let all = json(&site, OWNER, &["files", "list", "--json"]);
    assert_eq!(ids(&all).len(), 3);
    let by_id = |list: &Value, id: i64| -> Value {
        list.as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"].as_i64() == Some(id))
            .cloned()
            .unwrap()
    };
    assert_eq!(by_id(&all, copy)["duplicate_of"], a);
    assert!(by_id(&all, a)["duplicate_of"].is_null());
    assert!(by_id(&all, a)["trashed_at"].is_null());
    let duplicates = json(&site, OWNER, &["files", "list", "--duplicates", "--json"]);
    assert_eq!(ids(&duplicates), vec![copy]);
    let used = storage_used(&site);
    assert_eq!(used, 700 + 800 + 700);

    // Off a terminal, a destructive verb needs --yes: exit 2, and it says so.
    let out = site.run(OWNER, &["files", "delete", &a.to_string()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--yes") && stderr.contains("nothing was changed"),
        "{stderr}"
    );
    let dry = site.ok(OWNER, &["files", "delete", &a.to_string(), "--dry-run"]);
    assert!(dry.contains("Would move to the trash: 1 file(s)"), "{dry}");
    assert_eq!(
        ids(&json(&site, OWNER, &["files", "list", "--json"])).len(),
        3
    );

    site.ok(OWNER, &["files", "delete", &a.to_string(), "--yes"]);
    let live = json(&site, OWNER, &["files", "list", "--json"]);
    assert_eq!(ids(&live), vec![copy, b]);
    assert!(
        by_id(&live, copy)["duplicate_of"].is_null(),
        "with the original in the trash the copy is nobody's duplicate"
    );
    let trashed = json(&site, OWNER, &["files", "list", "--trashed", "--json"]);
    assert_eq!(ids(&trashed), vec![a]);
    assert!(trashed[0]["trashed_at"].is_string());
    assert_eq!(
        ids(&json(&site, ADMIN, &["trash", "list", "--json"])),
        vec![a]
    );
    assert_eq!(
        storage_used(&site),
        used,
        "the trash still counts against storage"
    );

    site.ok(ADMIN, &["files", "restore", &a.to_string()]);
    assert_eq!(
        ids(&json(&site, OWNER, &["files", "list", "--json"])).len(),
        3
    );

    // The upload was one batch; undoing it moves all three to the trash at once.
    let history = json(&site, OWNER, &["import", "history", "--json"]);
    let batches = history.as_array().unwrap();
    assert_eq!(batches.len(), 3, "each upload run is a batch: {history}");
    for key in ["batch", "account", "source", "started_at", "files", "bytes"] {
        assert!(batches[0].get(key).is_some(), "{key} missing: {history}");
    }
    assert_eq!(batches[0]["source"], "upload");
    assert_eq!(batches[0]["files"], 1);
    let undo_batch = by_id(&all, b)["batch"].as_i64().unwrap();
    assert_eq!(batches[1]["batch"], undo_batch);
    let out = site.run(OWNER, &["import", "undo", &undo_batch.to_string()]);
    assert_eq!(out.status.code(), Some(2));
    site.ok(OWNER, &["import", "undo", &undo_batch.to_string(), "--yes"]);
    assert_eq!(
        ids(&json(&site, OWNER, &["trash", "list", "--json"])),
        vec![b]
    );
    site.ok(
        OWNER,
        &[
            "files",
            "delete",
            &a.to_string(),
            &copy.to_string(),
            "--yes",
        ],
    );
    assert_eq!(
        ids(&json(&site, OWNER, &["files", "list", "--json"])),
        Vec::<i64>::new()
    );
    assert!(blob_on_disk(&site, &sha));

    // A plain admin may not empty the trash; an owner may, which frees the storage. The blob
    // stays until garbage collection (the next engine start).
    let out = site.run(ADMIN, &["trash", "empty", "--account", ACCOUNT, "--yes"]);
    assert_eq!(out.status.code(), Some(3));
    let out = site.run(OWNER, &["trash", "empty", "--older-than", "1", "--yes"]);
    assert!(out.status.success());
    assert_eq!(storage_used(&site), used, "nothing was trashed a day ago");
    site.ok(OWNER, &["trash", "empty", "--yes"]);
    assert_eq!(storage_used(&site), 0, "a purge frees the quota");
    assert_eq!(
        ids(&json(&site, OWNER, &["trash", "list", "--json"])),
        Vec::<i64>::new()
    );
    assert!(blob_on_disk(&site, &sha), "released, not yet collected");
    site.ok(OWNER, &["import", "--once"]);
    assert!(!blob_on_disk(&site, &sha), "collected once released");
    let actions = audit_actions(&site);
    for action in ["file.trash", "file.restore", "import.undo", "trash.purge"] {
        assert!(
            actions.contains(action),
            "{action} not audited: {actions:?}"
        );
    }
}

/// Drops `bytes` as `name` into the account's synced folder.
fn drop_file(site: &Site, name: &str, bytes: &[u8]) {
    let folder = site.dropbox.join(ACCOUNT);
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join(name), bytes).unwrap();
}

fn import(site: &Site) {
    std::thread::sleep(Duration::from_millis(150));
    site.ok(OWNER, &["import", "--once"]);
}

#[test]
fn skipping_duplicates_drops_a_copy_from_dropbox_but_imports_a_copy_of_a_trashed_file() {
    let site = Site::linked("duplicates = \"skip\"\n");
    let bytes = site::png(7, 900);
    drop_file(&site, "first.png", &bytes);
    import(&site);
    let first = ids(&json(&site, OWNER, &["files", "list", "--json"]));
    assert_eq!(first.len(), 1);

    drop_file(&site, "again.png", &bytes);
    import(&site);
    assert_eq!(
        ids(&json(&site, OWNER, &["files", "list", "--json"])),
        first,
        "the copy was not added"
    );
    assert!(
        !site.dropbox.join(ACCOUNT).join("again.png").exists(),
        "the copy left Dropbox like an import"
    );
    assert!(audit_actions(&site).contains("file.duplicate-skipped"));
    let db = rusqlite::Connection::open(site.data.join("library.sqlite3")).unwrap();
    let (kind, file): (String, i64) = db
        .query_row(
            "SELECT error_kind, file FROM import_items WHERE path LIKE '%again.png'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((kind.as_str(), file), ("already_in_library", first[0]));
    let history = json(&site, OWNER, &["import", "history", "--json"]);
    assert_eq!(
        history.as_array().unwrap().len(),
        1,
        "a pass that added nothing is no batch: {history}"
    );

    // With the original in the trash, a copy is new.
    site.ok(OWNER, &["files", "delete", &first[0].to_string(), "--yes"]);
    drop_file(&site, "third.png", &bytes);
    import(&site);
    let live = ids(&json(&site, OWNER, &["files", "list", "--json"]));
    assert_eq!(live.len(), 1);
    assert_ne!(live, first);
}

#[test]
fn the_engine_empties_the_trash_of_files_older_than_purge_after_days() {
    let site = Site::linked("[trash]\npurge_after_days = 2\n");
    let old = upload(&site, "old.png", &site::png(3, 600));
    let recent = upload(&site, "recent.png", &site::png(4, 650));
    site.ok(
        OWNER,
        &[
            "files",
            "delete",
            &old.to_string(),
            &recent.to_string(),
            "--yes",
        ],
    );
    // Trashed three days ago, as the store's clock would have said then.
    let db = rusqlite::Connection::open(site.data.join("library.sqlite3")).unwrap();
    db.execute(
        "UPDATE files SET trashed_at = trashed_at - 3 * 86400 WHERE id = ?1",
        [old],
    )
    .unwrap();
    let mut engine = site
        .command(OWNER, &["import", "--watch"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let trash = loop {
        let trash = ids(&json(&site, OWNER, &["trash", "list", "--json"]));
        if trash.len() < 2 || Instant::now() > deadline {
            break trash;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    // SAFETY: a plain signal to the child this test started.
    unsafe { libc::kill(engine.id() as i32, libc::SIGTERM) };
    engine.wait().unwrap();
    assert_eq!(trash, vec![recent], "only the expired file was purged");
    assert_eq!(storage_used(&site), 650);
    let audit = json(&site, OPERATOR, &["audit", "--json"]);
    let purge = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action"] == "trash.purge")
        .cloned()
        .unwrap();
    assert_eq!(purge["actor"], "smartimage engine");
}
