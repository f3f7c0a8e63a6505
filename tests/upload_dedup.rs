//! `upload` is idempotent: bytes the account already has are skipped (and said so), a run
//! started again after it was killed adds nothing twice, quota is never held for a skipped
//! file; `--allow-duplicates` makes a copy. Symbolic links are skipped with their reason unless
//! `--follow-symlinks`, and even then never lead into /proc, /sys or /dev, nor round a cycle.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;
use smartimage::import::events::EngineEvent;
use smartimage::library::Library;
use smartimage::library::ids::FileId;
use smartimage::library::local_source::{SkipReason, UploadOptions};
use smartimage::library::policy::PlanCatalog;

const OPERATOR: &str = "op@example.com";
const ACME: &str = "Acme";
const BAKERY: &str = "Bakery";

/// A library with the operator and two Basic accounts, and a folder of sources beside it.
struct Lib {
    _dir: tempfile::TempDir,
    data: PathBuf,
    sources: PathBuf,
    config: PathBuf,
}

impl Lib {
    fn new() -> Lib {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let sources = dir.path().join("sources");
        std::fs::create_dir_all(&sources).unwrap();
        let config = dir.path().join("config.toml");
        std::fs::write(&config, "").unwrap();
        let lib = Lib {
            _dir: dir,
            data,
            sources,
            config,
        };
        lib.run(&[
            "init",
            "--operator",
            OPERATOR,
            "--os-user",
            "nobody-in-tests",
        ]);
        for account in [ACME, BAKERY] {
            lib.run(&["account", "add", account, "--plan", "basic"]);
        }
        lib
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("smartimage").unwrap();
        cmd.env_remove("SMARTIMAGE_ADMIN")
            .env_remove("SMARTIMAGE_DATA_DIR")
            .arg("--data-dir")
            .arg(&self.data)
            .arg("--config")
            .arg(&self.config)
            .args(["--as", OPERATOR])
            .args(args);
        cmd
    }

    fn run(&self, args: &[&str]) -> String {
        let out = self
            .cmd(args)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).unwrap()
    }

    /// `upload --account ACCOUNT [extra…] PATH…`: its human output; it must exit 0.
    fn upload(&self, account: &str, extra: &[&str], paths: &[&Path]) -> String {
        self.run(&upload_args(account, extra, paths, false))
    }

    /// The same with `--json`: its report; it must exit 0.
    fn upload_json(&self, account: &str, extra: &[&str], paths: &[&Path]) -> Value {
        serde_json::from_str(&self.run(&upload_args(account, extra, paths, true))).unwrap()
    }

    /// The ids of the account's files, oldest first.
    fn file_ids(&self, account: &str) -> Vec<FileId> {
        let listed: Value =
            serde_json::from_str(&self.run(&["files", "list", "--account", account, "--json"]))
                .unwrap();
        let mut ids: Vec<FileId> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|f| FileId(f["id"].as_i64().unwrap()))
            .collect();
        ids.sort();
        ids
    }

    fn storage_used(&self, account: &str) -> u64 {
        let accounts: Value =
            serde_json::from_str(&self.run(&["account", "list", "--json"])).unwrap();
        accounts
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == account)
            .unwrap()["storage_used_bytes"]
            .as_u64()
            .unwrap()
    }

    fn write(&self, rel: &str, bytes: &[u8]) -> PathBuf {
        let path = self.sources.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn library(&self) -> Library {
        Library::open(&self.data, PlanCatalog::defaults()).unwrap()
    }
}

fn upload_args<'a>(
    account: &'a str,
    extra: &[&'a str],
    paths: &'a [&Path],
    json: bool,
) -> Vec<&'a str> {
    let mut args = vec!["upload", "--account", account];
    args.extend_from_slice(extra);
    if json {
        args.push("--json");
    }
    args.extend(paths.iter().map(|p| p.to_str().unwrap()));
    args
}

/// A PNG (by its magic bytes) whose content is told apart by `seed`, `len` bytes long.
fn png(seed: u8, len: usize) -> Vec<u8> {
    let mut png =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    png.resize(len, seed);
    png
}

/// `(path, reason, file)` of each skipped entry of a JSON report.
fn skipped(report: &Value) -> Vec<(String, String, Option<FileId>)> {
    report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["path"].as_str().unwrap().to_owned(),
                s["reason"].as_str().unwrap().to_owned(),
                s["file"].as_i64().map(FileId),
            )
        })
        .collect()
}

fn uploaded(report: &Value) -> Vec<(String, FileId)> {
    report["uploaded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_owned(),
                FileId(f["id"].as_i64().unwrap()),
            )
        })
        .collect()
}

#[test]
fn uploading_the_same_tree_again_adds_nothing_and_names_the_file_already_there() {
    let lib = Lib::new();
    lib.write("tree/a.png", &png(1, 200));
    lib.write("tree/sub/b.png", &png(2, 300));
    let tree = lib.sources.join("tree");

    let first = lib.upload_json(ACME, &[], &[&tree]);
    let ids = lib.file_ids(ACME);
    assert_eq!(uploaded(&first).len(), 2, "{first}");
    assert_eq!(skipped(&first), vec![]);

    let again = lib.upload(ACME, &[], &[&tree]);
    for (name, id) in uploaded(&first) {
        let line = format!("{name}: already in the library (file {id})");
        assert!(again.contains(&line), "{line:?} in {again}");
    }
    assert!(
        again.contains("Uploaded 0 file(s)") && again.contains("2 skipped"),
        "{again}"
    );
    assert_eq!(lib.file_ids(ACME), ids, "nothing added");

    let report = lib.upload_json(ACME, &[], &[&tree]);
    assert_eq!(report["uploaded"], serde_json::json!([]));
    let mut reasons: Vec<_> = skipped(&report)
        .into_iter()
        .map(|(_, reason, file)| (reason, file.unwrap()))
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        ids.iter()
            .map(|id| ("duplicate".to_owned(), *id))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        report["skipped"][0]["detail"].as_str().unwrap(),
        format!("already in the library (file {})", reasons[0].1)
    );
}

#[test]
fn a_run_killed_after_its_commit_is_finished_by_running_it_again() {
    let lib = Lib::new();
    let a = lib.write("tree/a.png", &png(1, 200));
    lib.write("tree/b.png", &png(2, 300));
    lib.write("tree/c.png", &png(3, 200));
    // The killed run got as far as committing a.png (its batch), nothing after.
    lib.upload(ACME, &[], &[&a]);
    let committed = lib.file_ids(ACME);
    let report = lib.upload_json(ACME, &[], &[&lib.sources.join("tree")]);
    let names: Vec<String> = uploaded(&report).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, vec!["b.png", "c.png"]);
    assert_eq!(
        skipped(&report),
        vec![(
            a.display().to_string(),
            "duplicate".into(),
            Some(committed[0])
        )]
    );
    assert_eq!(lib.file_ids(ACME).len(), 3);
}

/// The real thing: the upload process is killed (SIGKILL) inside a store transaction after
/// its first batch (256 files) committed; running it again stores only the rest.
#[cfg(unix)]
#[test]
fn an_upload_killed_after_its_first_batch_committed_stores_only_the_rest_when_run_again() {
    use smartimage::library::store::crash_point::KILL_IN_TRANSACTION_ENV;
    use std::os::unix::process::ExitStatusExt;

    const FILES: usize = 300;
    let lib = Lib::new();
    for i in 0..FILES {
        let mut bytes = png(0, 100);
        bytes[90..98].copy_from_slice(&(i as u64).to_le_bytes());
        lib.write(&format!("many/img{i:03}.png"), &bytes);
    }
    let many = lib.sources.join("many");
    let paths = [many.as_path()];
    let args = upload_args(ACME, &[], &paths, true);
    // The first kill point that leaves rows behind: past the first batch's commit.
    let committed = (1..=20)
        .find_map(|n| {
            let out = lib
                .cmd(&args)
                .env(KILL_IN_TRANSACTION_ENV, n.to_string())
                .output()
                .unwrap();
            assert_eq!(out.status.signal(), Some(libc::SIGKILL), "killed at {n}");
            let rows = lib.file_ids(ACME).len();
            (rows > 0).then_some(rows)
        })
        .expect("some kill point after the first commit");
    assert_eq!(committed, 256, "one batch landed");
    let report = lib.upload_json(ACME, &[], &[&many]);
    assert_eq!(report_counts(&report), (FILES - committed, committed, 0, 0));
    assert_eq!(lib.file_ids(ACME).len(), FILES, "every file once");
    assert_eq!(lib.storage_used(ACME), FILES as u64 * 100);
}

#[test]
fn the_same_bytes_twice_in_one_run_are_stored_once() {
    let lib = Lib::new();
    // Three of the same size, two of them the same bytes; one more pair further on.
    let first = lib.write("tree/1.png", &png(1, 200));
    lib.write("tree/2.png", &png(2, 200));
    let copy = lib.write("tree/3 copy.png", &png(1, 200));
    lib.write("tree/4.png", &png(4, 500));
    let late_copy = lib.write("tree/5.png", &png(4, 500));
    let report = lib.upload_json(ACME, &[], &[&lib.sources.join("tree")]);
    let stored = uploaded(&report);
    let names: Vec<&str> = stored.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, vec!["1.png", "2.png", "4.png"], "{report}");
    assert_eq!(
        skipped(&report),
        vec![
            (
                copy.display().to_string(),
                "duplicate".into(),
                Some(stored[0].1)
            ),
            (
                late_copy.display().to_string(),
                "duplicate".into(),
                Some(stored[2].1)
            ),
        ]
    );
    assert_eq!(lib.file_ids(ACME).len(), 3);
    // A file named twice (on its own and in its folder) is one file too.
    let twice = lib.upload_json(BAKERY, &[], &[&first, &first]);
    assert_eq!(uploaded(&twice).len(), 1, "{twice}");
    assert_eq!(skipped(&twice)[0].1, "duplicate");
}

#[test]
fn allow_duplicates_stores_a_copy() {
    let lib = Lib::new();
    let a = lib.write("a.png", &png(1, 200));
    lib.upload(ACME, &[], &[&a]);
    let copy = lib.upload_json(ACME, &["--allow-duplicates"], &[&a]);
    assert_eq!(uploaded(&copy).len(), 1, "{copy}");
    assert_eq!(lib.file_ids(ACME).len(), 2);
    let both = lib.upload_json(ACME, &["--allow-duplicates"], &[&a, &a]);
    assert_eq!(uploaded(&both).len(), 2, "{both}");
    assert_eq!(lib.file_ids(ACME).len(), 4);
    assert_eq!(lib.storage_used(ACME), 4 * 200, "each copy is charged");
}

#[test]
fn the_same_bytes_in_another_account_are_not_a_duplicate() {
    let lib = Lib::new();
    let a = lib.write("a.png", &png(1, 200));
    lib.upload(ACME, &[], &[&a]);
    let report = lib.upload_json(BAKERY, &[], &[&a]);
    assert_eq!(uploaded(&report).len(), 1, "{report}");
    assert_eq!(skipped(&report), vec![]);
    assert_eq!(
        (lib.file_ids(ACME).len(), lib.file_ids(BAKERY).len()),
        (1, 1)
    );
}

#[test]
fn skipped_duplicates_hold_no_quota_even_on_a_full_account() {
    let lib = Lib::new();
    let tree = lib.sources.join("tree");
    lib.write("tree/a.png", &png(1, 400));
    lib.write("tree/b.png", &png(2, 600));
    // Exactly full once both are in: were a duplicate admitted before it is skipped, the
    // second run would be refused for storage (exit 4) instead of skipping.
    std::fs::write(&lib.config, "[plans.basic]\nstorage_limit_bytes = 1000\n").unwrap();
    lib.upload(ACME, &[], &[&tree]);
    assert_eq!(lib.storage_used(ACME), 1000);
    let again = lib.upload_json(ACME, &[], &[&tree]);
    assert_eq!(report_counts(&again), (0, 2, 0, 0), "{again}");
    assert_eq!(lib.storage_used(ACME), 1000, "nothing charged");
    let store = smartimage::library::store::Store::open(&lib.data.join("library.sqlite3")).unwrap();
    let held: i64 = store
        .connection()
        .query_row("SELECT count(*) FROM reservations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(held, 0, "no reservation left behind");
    drop(store);

    // The same within one run: room for one copy, and the second is skipped, not refused.
    std::fs::write(&lib.config, "[plans.basic]\nstorage_limit_bytes = 400\n").unwrap();
    lib.write("pair/one.png", &png(7, 400));
    lib.write("pair/two.png", &png(7, 400));
    let pair = lib.upload_json(BAKERY, &[], &[&lib.sources.join("pair")]);
    assert_eq!(report_counts(&pair), (1, 1, 0, 0), "{pair}");
    assert_eq!(lib.storage_used(BAKERY), 400);
}

/// Another upload (another process) stores the same bytes after this one looked them up and
/// before it commits: the commit sees that row and skips the file — never two rows.
#[test]
fn bytes_stored_by_another_upload_meanwhile_are_skipped_at_commit() {
    let lib = Lib::new();
    let mine = lib.write("mine/a.png", &png(1, 200));
    let theirs = lib.write("theirs/a.png", &png(1, 200));
    let missing = lib.sources.join("missing.png");
    let mut library = lib.library();
    let mut other = lib.library();
    let op = library.actor(Some(OPERATOR), None).unwrap();
    let mut outcomes = vec![];
    let mut stored_meanwhile = None;
    library
        .add_local_files(
            &op,
            ACME,
            &[mine.clone(), missing.clone()],
            UploadOptions::default(),
            |path, outcome| {
                if path == missing {
                    // Told while the batch is still being gathered: a.png was looked up.
                    let record = other.add_local_file(&op, ACME, &theirs).unwrap();
                    stored_meanwhile = Some(record.id);
                } else {
                    outcomes.push(outcome.unwrap());
                }
            },
        )
        .unwrap();
    let id = stored_meanwhile.unwrap();
    assert_eq!(
        outcomes,
        vec![smartimage::library::local_source::LocalUpload::Skipped(
            SkipReason::Duplicate(id)
        )]
    );
    assert_eq!(lib.file_ids(ACME), vec![id]);
    assert_eq!(
        lib.storage_used(ACME),
        200,
        "its reservation was given back"
    );
}

/// `(uploaded, skipped, rejected, failed)` of a JSON report.
fn report_counts(report: &Value) -> (usize, usize, usize, usize) {
    let n = |key: &str| report[key].as_array().unwrap().len();
    (n("uploaded"), n("skipped"), n("rejected"), n("failed"))
}

#[cfg(unix)]
mod links {
    use super::*;
    use std::os::unix::fs::symlink;

    const LINK_REASON: &str = "symbolic link, not followed (use --follow-symlinks)";

    /// `real/` with two images, `tree/` with one of its own, a link to `real/` and a link to
    /// a file of it; `top` links to `real/` from outside any tree.
    fn linked(lib: &Lib) -> (PathBuf, PathBuf) {
        lib.write("real/r1.png", &png(1, 200));
        lib.write("real/r2.png", &png(2, 300));
        lib.write("tree/own.png", &png(3, 400));
        symlink(lib.sources.join("real"), lib.sources.join("tree/to-real")).unwrap();
        symlink(
            lib.sources.join("real/r1.png"),
            lib.sources.join("tree/r1 link.png"),
        )
        .unwrap();
        let top = lib.sources.join("top");
        symlink(lib.sources.join("real"), &top).unwrap();
        (lib.sources.join("tree"), top)
    }

    #[test]
    fn links_at_the_top_and_inside_a_tree_are_skipped_with_the_reason() {
        let lib = Lib::new();
        let (tree, top) = linked(&lib);
        let file_link = lib.sources.join("file link.png");
        symlink(lib.sources.join("real/r2.png"), &file_link).unwrap();
        let text = lib.upload(ACME, &[], &[&top, &file_link, &tree]);
        for link in [
            &top,
            &file_link,
            &tree.join("to-real"),
            &tree.join("r1 link.png"),
        ] {
            let line = format!("skipped   {}: {LINK_REASON}", link.display());
            assert!(text.contains(&line), "{line:?} in {text}");
        }
        assert!(
            text.contains("Uploaded 1 file(s)") && text.contains("4 skipped"),
            "{text}"
        );

        let lib = Lib::new();
        let (tree, top) = linked(&lib);
        let report = lib.upload_json(ACME, &[], &[&top, &tree]);
        let names: Vec<String> = uploaded(&report).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, vec!["own.png"]);
        let mut reasons = skipped(&report);
        reasons.sort();
        assert_eq!(
            reasons,
            vec![
                (top.display().to_string(), "symlink".into(), None),
                (
                    tree.join("r1 link.png").display().to_string(),
                    "symlink".into(),
                    None
                ),
                (
                    tree.join("to-real").display().to_string(),
                    "symlink".into(),
                    None
                ),
            ]
        );
        assert_eq!(report["skipped"][0]["detail"], LINK_REASON);
    }

    #[test]
    fn follow_symlinks_follows_them_at_the_top_and_inside_a_tree() {
        let lib = Lib::new();
        let (tree, top) = linked(&lib);
        let report = lib.upload_json(ACME, &["--follow-symlinks"], &[&tree]);
        let names: Vec<String> = uploaded(&report).into_iter().map(|(n, _)| n).collect();
        // Sorted walk: "own.png", "r1 link.png" (r1's bytes), then to-real/ (r1 again: a
        // duplicate, and r2).
        assert_eq!(names, vec!["own.png", "r1 link.png", "r2.png"], "{report}");
        assert_eq!(
            skipped(&report),
            vec![(
                tree.join("to-real/r1.png").display().to_string(),
                "duplicate".into(),
                Some(uploaded(&report)[1].1)
            )]
        );
        let other = lib.upload_json(BAKERY, &["--follow-symlinks"], &[&top]);
        assert_eq!(uploaded(&other).len(), 2, "{other}");
    }

    #[test]
    fn a_link_round_a_cycle_is_skipped_when_following() {
        let lib = Lib::new();
        lib.write("tree/sub/a.png", &png(1, 200));
        let back = lib.sources.join("tree/sub/back");
        symlink(lib.sources.join("tree"), &back).unwrap();
        let report = lib.upload_json(ACME, &["--follow-symlinks"], &[&lib.sources.join("tree")]);
        assert_eq!(uploaded(&report).len(), 1, "{report}");
        assert_eq!(
            skipped(&report),
            vec![(back.display().to_string(), "link_cycle".into(), None)]
        );
    }

    #[test]
    fn a_link_into_proc_sys_or_dev_is_refused_even_when_following() {
        let lib = Lib::new();
        let status = lib.sources.join("status.png");
        symlink("/proc/self/status", &status).unwrap();
        lib.write("tree/own.png", &png(1, 200));
        symlink("/proc/self", lib.sources.join("tree/self")).unwrap();
        symlink("/dev", lib.sources.join("tree/devices")).unwrap();
        let tree = lib.sources.join("tree");
        let report = lib.upload_json(ACME, &["--follow-symlinks"], &[&status, &tree]);
        let names: Vec<String> = uploaded(&report).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, vec!["own.png"], "{report}");
        let mut reasons = skipped(&report);
        reasons.sort();
        assert_eq!(
            reasons,
            vec![
                (status.display().to_string(), "system_folder".into(), None),
                (
                    tree.join("devices").display().to_string(),
                    "system_folder".into(),
                    None
                ),
                (
                    tree.join("self").display().to_string(),
                    "system_folder".into(),
                    None
                ),
            ]
        );
        assert_eq!(
            report["skipped"][0]["detail"],
            "symbolic link into /proc, /sys or /dev, never followed"
        );
    }

    #[test]
    fn the_library_call_skips_a_link_it_is_handed() {
        let lib = Lib::new();
        let real = lib.write("real.png", &png(1, 200));
        let link = lib.sources.join("link.png");
        symlink(&real, &link).unwrap();
        let mut library = lib.library();
        let op = library.actor(Some(OPERATOR), None).unwrap();
        let mut outcomes = vec![];
        library
            .add_local_files(
                &op,
                ACME,
                std::slice::from_ref(&link),
                UploadOptions::default(),
                |_, o| outcomes.push(o.unwrap()),
            )
            .unwrap();
        assert_eq!(
            outcomes,
            vec![smartimage::library::local_source::LocalUpload::Skipped(
                SkipReason::Symlink
            )]
        );
        assert!(library.add_local_file(&op, ACME, &link).is_err());
    }
}

#[test]
fn the_console_upload_has_the_same_defaults() {
    let lib = Lib::new();
    lib.write("tree/a.png", &png(1, 200));
    lib.write("tree/a copy.png", &png(1, 200));
    let tree = lib.sources.join("tree");
    let mut library = lib.library();
    let op = library.actor(Some(OPERATOR), None).unwrap();
    let run = |library: &mut Library| {
        let mut skips = vec![];
        let summary = smartimage::import::upload::upload(
            library,
            &op,
            ACME,
            std::slice::from_ref(&tree),
            UploadOptions::default(),
            |event| {
                if let EngineEvent::UploadSkipped { reason, .. } = event {
                    skips.push(reason)
                }
            },
        )
        .unwrap();
        (summary.uploaded, summary.skipped, skips)
    };
    let (stored, skipped_first, _) = run(&mut library);
    assert_eq!((stored, skipped_first), (1, 1), "the copy in the same run");
    let id = lib.file_ids(ACME)[0];
    let (stored, _, skips) = run(&mut library);
    assert_eq!(stored, 0);
    assert_eq!(
        skips,
        vec![SkipReason::Duplicate(id), SkipReason::Duplicate(id)]
    );
    // Idempotent as one call too: the row already holding the bytes.
    let again = library
        .add_local_file(&op, ACME, &tree.join("a.png"))
        .unwrap();
    assert_eq!(again.id, id);
    assert_eq!(lib.file_ids(ACME), vec![id]);
}
