//! The import engine end to end, against both backends: a Dropbox-synced folder on disk and
//! the Dropbox API emulator over HTTP. Real store, real blobs, real files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use smartimage::dropbox::local::LocalSettings;
use smartimage::import::engine::{EngineSettings, ImportEngine};
use smartimage::import::events::{EngineEvent, PassSummary};
use smartimage::import::linking;
use smartimage::import::report::{REPORT_FILE_NAME, REPORT_NAME_STEM};
use smartimage::library::Library;
use smartimage::library::actions::AdminGrant;
use smartimage::library::blobs::BlobCheck;
use smartimage::library::model::{FileRecord, Source};
use smartimage::library::organise::FileFilter;
use smartimage::library::policy::{ErrorKind, PlanCatalog, PlanOverride};

#[path = "support/api_link.rs"]
mod api_link;
use api_link::link_through_emulator;

const OPERATOR: &str = "op@example.com";
const OWNER: &str = "owner@example.com";

fn fast_local() -> LocalSettings {
    LocalSettings {
        stable_for: Duration::from_millis(20),
        rescan_every: Duration::from_secs(1),
    }
}

/// Plans with a "tiny" one whose limits a test can reach with small files.
fn plans() -> PlanCatalog {
    let mut overrides = BTreeMap::new();
    overrides.insert(
        "tiny".to_string(),
        PlanOverride {
            storage_limit_bytes: Some(10_000),
            video_bytes_per_month: Some(3_000),
            max_video_bytes: Some(2_000),
        },
    );
    PlanCatalog::with_overrides(&overrides).unwrap()
}

pub fn png(seed: u32, len: usize) -> Vec<u8> {
    let mut b =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    b.extend(seed.to_be_bytes());
    b.resize(len.max(b.len()), (seed % 251) as u8);
    b
}

pub fn mp4(seed: u32, len: usize) -> Vec<u8> {
    let mut b = b"\0\0\0\x18ftypisom\0\0\0\0isommp41".to_vec();
    b.extend(seed.to_be_bytes());
    b.resize(len.max(b.len()), 0);
    b
}

fn exe() -> Vec<u8> {
    let mut b = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xFF\xFF\x00\x00".to_vec();
    b.resize(300, 0);
    b
}

struct Harness {
    _dir: tempfile::TempDir,
    data: PathBuf,
    dropbox: PathBuf,
}

impl Harness {
    /// A library with accounts on the team, basic and tiny plans, each linked to one synced folder.
    async fn local() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let dropbox = dir.path().join("Dropbox");
        std::fs::create_dir_all(&dropbox).unwrap();
        let h = Harness {
            _dir: dir,
            data,
            dropbox,
        };
        let mut lib = h.library();
        lib.init(OPERATOR, None, None).unwrap();
        let op = lib.actor(Some(OPERATOR), None).unwrap();
        for (name, plan) in [("Acme", "team"), ("Bakery", "basic"), ("Tiny", "tiny")] {
            lib.add_account(&op, name, plan).unwrap();
        }
        let grant = AdminGrant {
            email: OWNER.into(),
            owner_of: vec!["Acme".into(), "Bakery".into(), "Tiny".into()],
            ..AdminGrant::default()
        };
        lib.add_admin(&op, &grant).unwrap();
        let owner = lib.actor(Some(OWNER), None).unwrap();
        for name in ["Acme", "Bakery", "Tiny"] {
            linking::link_local_folder(&mut lib, &owner, name, &h.dropbox, fast_local())
                .await
                .unwrap();
        }
        h
    }

    fn library(&self) -> Library {
        Library::open(&self.data, plans()).unwrap()
    }

    fn drop_file(&self, account: &str, rel: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dropbox.join(account).join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn settings(&self, workers: usize) -> EngineSettings {
        let mut settings = EngineSettings {
            workers,
            ..EngineSettings::default()
        };
        settings.backends.local = fast_local();
        settings
    }

    async fn pass(&self, workers: usize) -> (PassSummary, Vec<EngineEvent>) {
        // Let the synced folder see the files as stable (no half-written file is imported).
        tokio::time::sleep(Duration::from_millis(60)).await;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let (engine, _) = ImportEngine::start(self.library(), self.settings(workers), tx).unwrap();
        let (summary, problems) = engine.run_once(None).await.unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        drop(engine);
        let mut events = Vec::new();
        while let Ok(e) = rx.try_recv() {
            events.push(e);
        }
        (summary, events)
    }

    fn files(&self, account: &str) -> Vec<FileRecord> {
        let lib = self.library();
        let op = lib.actor(Some(OPERATOR), None).unwrap();
        lib.list_files(
            &op,
            &FileFilter {
                account: Some(account.into()),
                ..FileFilter::default()
            },
        )
        .unwrap()
    }

    fn files_on_disk(&self, account: &str) -> Vec<String> {
        let root = self.dropbox.join(account);
        let mut out = Vec::new();
        walk(&root, &root, &mut out);
        out.sort();
        out
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        if path.is_dir() {
            walk(root, &path, out);
        } else {
            out.push(
                path.strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
}

fn failures_by_kind(events: &[EngineEvent]) -> BTreeMap<String, ErrorKind> {
    events
        .iter()
        .filter_map(|e| match e {
            EngineEvent::Failed { item, kind, .. } => Some((item.path.clone(), *kind)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn imports_a_nested_batch_and_removes_it_from_dropbox() {
    let h = Harness::local().await;
    let mut expected = BTreeMap::new();
    for (i, rel) in [
        "a.png",
        "sub/b.png",
        "sub/deeper/c.png",
        "sub/deeper/even deeper/d.png",
    ]
    .iter()
    .enumerate()
    {
        let bytes = png(i as u32, 500 + i);
        h.drop_file("Acme", rel, &bytes);
        expected.insert(format!("/Acme/{rel}"), bytes);
    }
    h.drop_file("Acme", ".DS_Store", b"finder junk");
    let (summary, _) = h.pass(4).await;
    assert_eq!(
        (summary.imported, summary.deleted, summary.failed),
        (4, 4, 0),
        "{summary:?}"
    );
    assert_eq!(
        h.files_on_disk("Acme"),
        vec![".DS_Store".to_string()],
        "imported files leave Dropbox, system files stay"
    );
    let lib = h.library();
    let files = h.files("Acme");
    assert_eq!(files.len(), 4);
    for f in &files {
        assert_eq!(f.source, Source::Dropbox);
        assert_eq!(
            f.uploaded_by.as_deref(),
            Some(OWNER),
            "uploaded by the admin who linked"
        );
        let original = &expected[f.dropbox_path.as_deref().unwrap()];
        assert_eq!(f.size, original.len() as u64);
        assert!(matches!(
            lib.blobs().verify(&f.sha256).unwrap(),
            BlobCheck::Ok { .. }
        ));
        let stored = std::fs::read(lib.blobs().path_of(&f.sha256).unwrap()).unwrap();
        assert_eq!(&stored, original, "byte-identical");
    }
    let (again, _) = h.pass(4).await;
    assert_eq!(
        again,
        PassSummary::default(),
        "a second pass finds nothing new"
    );
    assert_eq!(h.files("Acme").len(), 4, "and duplicates nothing");
}

#[tokio::test]
async fn every_error_kind_leaves_the_file_in_dropbox_and_in_a_report() {
    let h = Harness::local().await;
    let over_storage = png(1, 12_000);
    h.drop_file("Tiny", "huge.png", &over_storage);
    h.drop_file("Tiny", "long.mp4", &mp4(2, 2_500));
    h.drop_file("Bakery", "clip.mp4", &mp4(3, 600));
    h.drop_file("Acme", "holiday.jpg", &exe());
    h.drop_file("Acme", "archive.zip", b"PK\x03\x04 not much of an archive");
    let (summary, events) = h.pass(2).await;
    let kinds = failures_by_kind(&events);
    assert_eq!(kinds["/Tiny/huge.png"], ErrorKind::StorageLimit);
    assert_eq!(kinds["/Tiny/long.mp4"], ErrorKind::VideoTooLarge);
    assert_eq!(kinds["/Bakery/clip.mp4"], ErrorKind::VideoOnBasicPlan);
    assert_eq!(kinds["/Acme/holiday.jpg"], ErrorKind::UnsupportedFormat);
    assert_eq!(kinds["/Acme/archive.zip"], ErrorKind::UnsupportedFormat);
    assert_eq!(summary.failed, 5);
    assert_eq!(summary.imported, 0);
    // Failed files stay exactly as they were.
    assert_eq!(
        std::fs::read(h.dropbox.join("Tiny/huge.png")).unwrap(),
        over_storage
    );
    assert_eq!(
        std::fs::read(h.dropbox.join("Acme/holiday.jpg")).unwrap(),
        exe()
    );
    // One report per account folder, grouping its failures with what to do.
    for (account, expect) in [
        (
            "Tiny",
            vec![ErrorKind::StorageLimit, ErrorKind::VideoTooLarge],
        ),
        ("Bakery", vec![ErrorKind::VideoOnBasicPlan]),
        ("Acme", vec![ErrorKind::UnsupportedFormat]),
    ] {
        let on_disk = h.files_on_disk(account);
        let reports: Vec<&String> = on_disk
            .iter()
            .filter(|n| n.starts_with(REPORT_NAME_STEM))
            .collect();
        assert_eq!(reports, [REPORT_FILE_NAME], "{account}: {on_disk:?}");
        let text = std::fs::read_to_string(h.dropbox.join(account).join(reports[0])).unwrap();
        for kind in expect {
            assert!(
                text.contains(kind.title()),
                "{account} report lacks {kind:?}:\n{text}"
            );
            assert!(
                text.contains(kind.advice()),
                "{account} report lacks advice for {kind:?}"
            );
        }
    }
    // The reports are not imported, and failed files are not retried while unchanged.
    let (again, _) = h.pass(2).await;
    assert_eq!(again, PassSummary::default(), "{again:?}");
    assert!(h.files("Acme").is_empty());
}

#[tokio::test]
async fn the_monthly_video_allotment_is_enforced_across_files() {
    let h = Harness::local().await;
    for i in 0..3 {
        h.drop_file("Tiny", &format!("v{i}.mp4"), &mp4(10 + i, 1_500));
    }
    let (summary, events) = h.pass(1).await;
    assert_eq!(
        summary.imported, 2,
        "3,000 bytes of video a month fit two 1,500-byte videos"
    );
    let kinds: Vec<ErrorKind> = failures_by_kind(&events).into_values().collect();
    assert_eq!(kinds, vec![ErrorKind::VideoAllotment]);
}

#[tokio::test]
async fn concurrent_downloads_never_overshoot_the_storage_limit() {
    let h = Harness::local().await;
    for i in 0..20 {
        h.drop_file("Tiny", &format!("img{i:02}.png"), &png(100 + i, 1_000));
    }
    let (summary, events) = h.pass(8).await;
    assert_eq!(summary.imported, 10, "exactly what fits in 10,000 bytes");
    assert_eq!(summary.failed, 10);
    assert!(
        failures_by_kind(&events)
            .values()
            .all(|k| *k == ErrorKind::StorageLimit)
    );
    let used: u64 = h.files("Tiny").iter().map(|f| f.size).sum();
    assert!(used <= 10_000, "{used}");
}

#[tokio::test]
async fn a_failed_file_is_tried_again_when_it_changes_or_an_admin_retries_it() {
    let h = Harness::local().await;
    h.drop_file("Acme", "photo.jpg", &exe());
    let (first, _) = h.pass(1).await;
    assert_eq!(first.failed, 1);
    // An admin retry attempts it again; it fails again the same way, which the report in the
    // folder already says: it is not rewritten.
    {
        let mut lib = h.library();
        let owner = lib.actor(Some(OWNER), None).unwrap();
        assert_eq!(lib.retry_failures(&owner, Some("Acme"), &[]).unwrap(), 1);
    }
    let (retried, _) = h.pass(1).await;
    assert_eq!((retried.failed, retried.reports), (1, 0));
    // Replaced by a real image: a new revision, imported.
    tokio::time::sleep(Duration::from_millis(10)).await;
    h.drop_file("Acme", "photo.jpg", &png(7, 900));
    let (fixed, _) = h.pass(1).await;
    assert_eq!(fixed.imported, 1, "{fixed:?}");
    assert!(!h.files_on_disk("Acme").contains(&"photo.jpg".to_string()));
}

/// The folders under `account`'s folder, relative to it, sorted.
fn folders_on_disk(h: &Harness, account: &str) -> Vec<String> {
    fn walk_folders(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.push(
                    path.strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
                walk_folders(root, &path, out);
            }
        }
    }
    let root = h.dropbox.join(account);
    let mut out = Vec::new();
    walk_folders(&root, &root, &mut out);
    out.sort();
    out
}

#[tokio::test]
async fn an_imported_tree_leaves_no_emptied_folders_behind() {
    let h = Harness::local().await;
    for i in 0..50 {
        h.drop_file("Acme", &format!("batch50/{i:02}.png"), &png(i, 300));
    }
    h.drop_file("Acme", "tree/2026/spring/raw/a.png", &png(60, 300));
    h.drop_file("Acme", "tree/2026/spring/raw/b.png", &png(61, 300));
    h.drop_file("Acme", "tree/2026/spring/c.png", &png(62, 300));
    h.drop_file("Acme", "tree/2026/summer/d.png", &png(63, 300));
    h.drop_file("Acme", "shoot/keep/holiday.jpg", &exe());
    h.drop_file("Acme", "shoot/keep/e.png", &png(64, 300));
    h.drop_file("Acme", "shoot/f.png", &png(65, 300));
    h.drop_file("Acme", "mac/g.png", &png(66, 300));
    h.drop_file("Acme", "mac/.DS_Store", b"finder");
    h.drop_file("Acme", "top.png", &png(67, 300));
    let (summary, _) = h.pass(4).await;
    assert_eq!((summary.imported, summary.failed), (58, 1), "{summary:?}");
    assert_eq!(
        folders_on_disk(&h, "Acme"),
        ["mac", "shoot", "shoot/keep"],
        "the emptied folders went; a failed file and a .DS_Store keep theirs"
    );
    let left: Vec<String> = h
        .files_on_disk("Acme")
        .into_iter()
        .filter(|name| !name.starts_with("Smartimage upload errors"))
        .collect();
    assert_eq!(left, ["mac/.DS_Store", "shoot/keep/holiday.jpg"]);

    // The account folder itself stays, even emptied.
    h.drop_file("Tiny", "only/h.png", &png(68, 300));
    let (summary, _) = h.pass(1).await;
    assert_eq!(summary.imported, 1, "{summary:?}");
    assert!(h.dropbox.join("Tiny").is_dir());
    assert!(folders_on_disk(&h, "Tiny").is_empty());
}

#[tokio::test]
async fn remove_emptied_folders_false_keeps_them() {
    let h = Harness::local().await;
    h.drop_file("Acme", "batch50/a.png", &png(1, 300));
    h.drop_file("Acme", "tree/2026/spring/raw/b.png", &png(2, 300));
    tokio::time::sleep(Duration::from_millis(60)).await;
    let settings = EngineSettings {
        remove_emptied_folders: false,
        ..h.settings(2)
    };
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let (engine, _) = ImportEngine::start(h.library(), settings, tx).unwrap();
    let (summary, problems) = engine.run_once(None).await.unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(summary.imported, 2, "{summary:?}");
    drop(engine);
    assert!(h.files_on_disk("Acme").is_empty());
    assert_eq!(
        folders_on_disk(&h, "Acme"),
        [
            "batch50",
            "tree",
            "tree/2026",
            "tree/2026/spring",
            "tree/2026/spring/raw"
        ]
    );
}

#[tokio::test]
async fn a_name_that_is_not_text_is_one_failure_and_the_file_stays_untouched() {
    use std::os::unix::ffi::OsStrExt;
    let h = Harness::local().await;
    let bytes = png(1, 400);
    let acme = h.dropbox.join("Acme");
    std::fs::create_dir_all(acme.join("raw")).unwrap();
    let bad = acme
        .join("raw")
        .join(std::ffi::OsStr::from_bytes(b"caf\xe9.png"));
    std::fs::write(&bad, &bytes).unwrap();
    let bad_folder = acme.join(std::ffi::OsStr::from_bytes(b"Fotos \xff"));
    std::fs::create_dir(&bad_folder).unwrap();
    std::fs::write(bad_folder.join("inside.png"), png(2, 400)).unwrap();
    h.drop_file("Acme", "raw/good.png", &png(3, 400));

    let (summary, events) = h.pass(2).await;
    assert_eq!((summary.imported, summary.failed), (1, 2), "{summary:?}");
    let kinds = failures_by_kind(&events);
    assert_eq!(
        kinds,
        BTreeMap::from([
            (
                "/Acme/Fotos \\xFF/inside.png".to_string(),
                ErrorKind::InvalidName
            ),
            ("/Acme/raw/caf\\xE9.png".to_string(), ErrorKind::InvalidName),
        ])
    );
    let failures = {
        let lib = h.library();
        let owner = lib.actor(Some(OWNER), None).unwrap();
        lib.import_failures(&owner, Some("Acme")).unwrap()
    };
    assert_eq!(failures.len(), 2, "{failures:?}");
    for failure in &failures {
        assert_eq!(failure.kind, ErrorKind::InvalidName);
        assert!(failure.detail.contains("\\xNN"), "{}", failure.detail);
        assert!(failure.reported, "in the TXT report");
    }
    assert_eq!(std::fs::read(&bad).unwrap(), bytes, "never deleted");
    assert!(bad_folder.join("inside.png").exists());

    let (again, events) = h.pass(2).await;
    assert_eq!(again, PassSummary::default(), "not reported twice");
    assert!(failures_by_kind(&events).is_empty());

    // An admin retry cannot help: it fails again (never "gone"), and the file stays.
    {
        let mut lib = h.library();
        let owner = lib.actor(Some(OWNER), None).unwrap();
        assert_eq!(lib.retry_failures(&owner, Some("Acme"), &[]).unwrap(), 2);
    }
    let (retried, _) = h.pass(2).await;
    assert_eq!(retried.failed, 2, "{retried:?}");
    assert_eq!(std::fs::read(&bad).unwrap(), bytes);

    // Renamed by the customer, it is imported by itself and leaves the error log.
    std::fs::rename(&bad, acme.join("raw/cafe.png")).unwrap();
    let (renamed, _) = h.pass(2).await;
    assert_eq!(renamed.imported, 1, "{renamed:?}");
    let lib = h.library();
    let owner = lib.actor(Some(OWNER), None).unwrap();
    let left = lib.import_failures(&owner, Some("Acme")).unwrap();
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].path, "/Acme/Fotos \\xFF/inside.png");
}

#[tokio::test]
async fn a_file_still_being_written_waits_until_it_is_stable() {
    let h = Harness::local().await;
    h.drop_file("Acme", "done.png", &png(1, 400));
    tokio::time::sleep(Duration::from_millis(80)).await;
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let mut settings = h.settings(2);
    settings.backends.local = LocalSettings {
        stable_for: Duration::from_secs(30),
        rescan_every: Duration::from_secs(60),
    };
    h.drop_file("Acme", "writing.png", &png(2, 400));
    let (engine, _) = ImportEngine::start(h.library(), settings, tx).unwrap();
    let (summary, _) = engine.run_once(None).await.unwrap();
    drop(engine);
    assert_eq!(
        summary.imported, 0,
        "with a 30 s stability window nothing is fresh enough"
    );
    assert!(h.files_on_disk("Acme").contains(&"writing.png".to_string()));
}

#[tokio::test]
async fn only_one_engine_runs_per_library() {
    let h = Harness::local().await;
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let (first, _) = ImportEngine::start(h.library(), h.settings(1), tx.clone()).unwrap();
    let second = ImportEngine::start(h.library(), h.settings(1), tx);
    let err = second.err().expect("second engine refused").to_string();
    assert!(
        err.contains("another smartimage import engine is running"),
        "{err}"
    );
    drop(first);
}

#[tokio::test]
async fn recovery_cleans_up_what_a_crash_leaves_behind() {
    let h = Harness::local().await;
    let lib = h.library();
    // A half-written temp blob; a blob pinned and stored whose row was never written (the
    // writer died between the two); and a blob the store never heard of (a restored database's
    // blob store holds such), which is never deleted.
    let mut lib = lib;
    let mut writer = lib.blobs().writer().unwrap();
    std::io::Write::write_all(&mut writer, b"half a download").unwrap();
    std::mem::forget(writer);
    let dead_write = b"committed blob, row never written";
    let sha = sha256_hex(dead_write);
    lib.pin_blobs(&[(sha.clone(), dead_write.len() as u64)])
        .unwrap();
    let orphan = lib.blobs().put_bytes(dead_write).unwrap();
    assert_eq!(orphan.sha256, sha);
    let unknown = lib
        .blobs()
        .put_bytes(b"a blob the database never knew")
        .unwrap();
    drop(lib);
    h.drop_file("Acme", "a.png", &png(1, 300));
    tokio::time::sleep(Duration::from_millis(60)).await;
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let (engine, report) = ImportEngine::start(h.library(), h.settings(1), tx).unwrap();
    assert_eq!(report.temp_files_removed, 1, "{report:?}");
    assert_eq!(report.blobs_collected, 1, "{report:?}");
    assert!(!h.library().blobs().contains(&orphan.sha256));
    assert!(
        h.library().blobs().contains(&unknown.sha256),
        "a blob the store never knew was deleted"
    );
    let (summary, _) = engine.run_once(None).await.unwrap();
    assert_eq!(summary.imported, 1);
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Garbage collection deletes only what the store released, checked again as it deletes: a
/// blob a file row references is kept even if its table row says released (a restored or
/// hand-edited database), and one a writer pinned again is kept too.
#[tokio::test]
async fn collection_deletes_only_released_blobs_and_checks_again_as_it_deletes() {
    let h = Harness::local().await;
    h.drop_file("Acme", "kept.png", &png(7, 400));
    h.pass(1).await;
    let mut lib = h.library();
    let kept = lib.blobs().inventory(|_| {}).unwrap().blobs;
    // Mark every blob released behind the store's back: the file rows still reference them.
    lib.store()
        .connection()
        .execute("UPDATE blobs SET state = 'released'", [])
        .unwrap();
    let pinned_again = b"released, then pinned by a writer";
    let sha = sha256_hex(pinned_again);
    lib.pin_blobs(&[(sha.clone(), pinned_again.len() as u64)])
        .unwrap();
    lib.blobs().put_bytes(pinned_again).unwrap();
    lib.store()
        .connection()
        .execute(
            "UPDATE blobs SET state = 'released' WHERE sha256 = ?1",
            [&sha],
        )
        .unwrap();
    let collected = lib.collect_released_blobs().unwrap();
    assert_eq!(collected.blobs, 0, "{collected:?}");
    assert_eq!(lib.blobs().inventory(|_| {}).unwrap().blobs, kept + 1);
    // Once the writer lets go with no row, the blob is released for real and collected.
    lib.unpin_blobs([sha.as_str()]).unwrap();
    let collected = lib.collect_released_blobs().unwrap();
    assert_eq!(collected.blobs, 1, "{collected:?}");
    assert!(!lib.blobs().contains(&sha));
    assert_eq!(lib.blobs().inventory(|_| {}).unwrap().blobs, kept);
}

/// An upload in another process may be between writing a blob and committing its row when an
/// engine starts: its temp file and a stored blob it is about to share look like a crash's
/// leftovers, so recovery leaves both to the next start.
#[tokio::test]
async fn recovery_leaves_the_blobs_of_an_upload_in_flight_to_the_next_start() {
    let h = Harness::local().await;
    let mut lib = h.library();
    // A blob left by an old crash, which the upload's file happens to match byte for byte.
    let bytes = png(5, 900);
    let orphan = lib.blobs().put_bytes(&bytes).unwrap();
    // The upload in flight: the blob store held for writing, a temp file of its next file.
    let upload = lib.blobs().writing().unwrap();
    let mut writer = lib.blobs().writer().unwrap();
    std::io::Write::write_all(&mut writer, b"the upload's next file").unwrap();
    let in_flight = lib.blobs().temp_files().unwrap();
    assert_eq!(in_flight.len(), 1);
    // ... and the quota its batch reserved.
    let acme = lib.account("Acme").unwrap().id;
    let reserve_for_upload = |lib: &Library| {
        lib.store()
            .connection()
            .execute(
                "INSERT INTO reservations(account, storage_bytes, video_bytes, video_month, purpose, created_at)
                 VALUES (?1, 5000, 0, '2026-11', 'upload', strftime('%s', 'now'))",
                [acme],
            )
            .unwrap();
    };
    let upload_reservations = |lib: &Library| -> i64 {
        lib.store()
            .connection()
            .query_row(
                "SELECT count(*) FROM reservations WHERE purpose = 'upload'",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    reserve_for_upload(&lib);
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let (engine, report) = ImportEngine::start(h.library(), h.settings(1), tx.clone()).unwrap();
    assert!(report.blob_cleanup_postponed, "{report:?}");
    assert_eq!((report.temp_files_removed, report.blobs_collected), (0, 0));
    assert!(lib.blobs().contains(&orphan.sha256));
    assert_eq!(lib.blobs().temp_files().unwrap(), in_flight);
    assert_eq!(
        upload_reservations(&lib),
        1,
        "a live upload keeps its quota"
    );
    // The upload lands, sharing the stored blob; its writer finishes.
    let sources = tempfile::tempdir().unwrap();
    let source = sources.path().join("same bytes.png");
    std::fs::write(&source, &bytes).unwrap();
    let owner = lib.actor(Some(OWNER), None).unwrap();
    let record = lib.add_local_file(&owner, "Acme", &source).unwrap();
    assert_eq!(record.sha256, orphan.sha256);
    drop(writer);
    drop(upload);
    drop(engine);
    // Next start, nobody writing: the sweep runs, and the shared blob is kept. What an upload
    // that died left (a temp file, a reservation) is cleared at once, not a day later.
    std::mem::forget(lib.blobs().writer().unwrap());
    let before = upload_reservations(&lib);
    assert!(before >= 1);
    let (_engine, report) = ImportEngine::start(h.library(), h.settings(1), tx).unwrap();
    assert!(!report.blob_cleanup_postponed, "{report:?}");
    assert_eq!((report.temp_files_removed, report.blobs_collected), (1, 0));
    assert_eq!(upload_reservations(&lib), 0);
    assert!(report.reservations_released as i64 >= before, "{report:?}");
    assert_eq!(
        lib.blobs().verify(&orphan.sha256).unwrap(),
        smartimage::library::blobs::BlobCheck::Ok { size: record.size }
    );
}

#[tokio::test]
async fn watch_mode_imports_files_as_they_arrive_and_shuts_down_gracefully() {
    let h = Harness::local().await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut settings = h.settings(2);
    settings.idle_wait = Duration::from_secs(30);
    let (engine, _) = ImportEngine::start(h.library(), settings, tx).unwrap();
    let engine = std::sync::Arc::new(engine);
    let (commands, inbox) = tokio::sync::mpsc::unbounded_channel();
    let watcher = tokio::spawn(engine.clone().watch(inbox));
    // Dropped after the engine is already waiting: the change wakes it (no 30 s idle wait).
    tokio::time::sleep(Duration::from_millis(300)).await;
    h.drop_file("Acme", "late/arrival.png", &png(77, 2_000));
    let imported = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(event) = rx.recv().await {
            if let EngineEvent::Imported { item, .. } = event {
                return item.path;
            }
        }
        String::new()
    })
    .await
    .expect("imported while watching");
    assert_eq!(imported, "/Acme/late/arrival.png");
    commands
        .send(smartimage::import::events::EngineCommand::Shutdown)
        .unwrap();
    tokio::time::timeout(Duration::from_secs(20), watcher)
        .await
        .expect("stops on Shutdown")
        .unwrap();
    assert_eq!(h.files("Acme").len(), 1);
}

#[tokio::test]
async fn two_accounts_that_would_share_a_dropbox_folder_are_refused() {
    let h = Harness::local().await;
    let mut lib = h.library();
    let op = lib.actor(Some(OPERATOR), None).unwrap();
    lib.add_account(&op, "Studio A/B", "team").unwrap();
    lib.add_account(&op, "Studio A_B", "team").unwrap();
    let grant = AdminGrant {
        email: OWNER.into(),
        owner_of: vec!["Studio A/B".into(), "Studio A_B".into()],
        ..AdminGrant::default()
    };
    lib.add_admin(&op, &grant).unwrap();
    let owner = lib.actor(Some(OWNER), None).unwrap();
    let first =
        linking::link_local_folder(&mut lib, &owner, "Studio A/B", &h.dropbox, fast_local())
            .await
            .unwrap();
    assert_eq!(
        first.folder_path, "/Studio A_B",
        "the slash Dropbox cannot hold became _"
    );
    let err = linking::link_local_folder(&mut lib, &owner, "Studio A_B", &h.dropbox, fast_local())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("already used by the account \"Studio A/B\""),
        "{err}"
    );
}

#[tokio::test]
async fn renaming_an_account_moves_its_folder_and_keeps_what_was_decided() {
    let h = Harness::local().await;
    h.drop_file("Acme", "setup.jpg", &exe());
    h.drop_file("Acme", "sub/a.png", &png(1, 500));
    let (first, _) = h.pass(2).await;
    assert_eq!((first.imported, first.failed), (1, 1));
    {
        let mut lib = h.library();
        let op = lib.actor(Some(OPERATOR), None).unwrap();
        let settings = h.settings(1).backends;
        let owner = lib.actor(Some(OWNER), None).unwrap();
        let owner_denied = linking::rename_account(&mut lib, &owner, "Acme", "X", &settings).await;
        assert!(
            owner_denied
                .unwrap_err()
                .to_string()
                .contains("only operators")
        );
        let clash = linking::rename_account(&mut lib, &op, "Acme", "bakery", &settings).await;
        assert!(clash.unwrap_err().to_string().contains("already exists"));
        let renamed = linking::rename_account(&mut lib, &op, "Acme", "Acme: Worldwide", &settings)
            .await
            .unwrap();
        assert_eq!(renamed.name, "Acme: Worldwide");
    }
    assert!(!h.dropbox.join("Acme").exists(), "the old folder is gone");
    let moved = h.dropbox.join("Acme_ Worldwide");
    assert!(
        moved.join("setup.jpg").exists(),
        "the failed file moved with its folder"
    );
    // The failed file is not tried again; a new file in the renamed folder is imported.
    std::fs::write(moved.join("new.png"), png(2, 600)).unwrap();
    let (after, events) = h.pass(2).await;
    assert_eq!(
        (after.imported, after.failed),
        (1, 0),
        "{after:?} {events:?}"
    );
    assert!(
        !h.dropbox.join("Acme").exists(),
        "no pass recreates the old folder"
    );
    let files = h.files("Acme: Worldwide");
    assert_eq!(files.len(), 2);
    assert!(
        files
            .iter()
            .any(|f| f.dropbox_path.as_deref() == Some("/Acme_ Worldwide/new.png"))
    );
}

#[cfg(feature = "emulator")]
mod emulator {
    //! The same engine over HTTP against the Dropbox API emulator, with faults injected.

    use smartimage::dropbox::api::Endpoints;
    use smartimage::dropbox::emulator::{
        AccountConfig, Emulator, EmulatorConfig, EmulatorHandle, FaultConfig,
    };
    use smartimage::import::backends::BackendSettings;
    use smartimage::import::retry_policy::RetryPolicy;

    use super::*;

    const DBX: &str = "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc";
    const APP_KEY: &str = "test-app-key";

    struct Api {
        h: Harness,
        handle: EmulatorHandle,
        base: String,
        _root: tempfile::TempDir,
    }

    impl Api {
        async fn start(token_ttl_secs: u64) -> Api {
            let root = tempfile::tempdir().unwrap();
            let mut config = EmulatorConfig::new(root.path()).with_account(AccountConfig::new(
                DBX,
                "owner@example.com",
                "Owner Example",
            ));
            config.token_ttl_secs = token_ttl_secs;
            config.longpoll_time_scale = 0.001;
            config.delete_batch_in_progress_polls = 1;
            let (base, handle) = Emulator::start(config).await.unwrap();
            let dir = tempfile::tempdir().unwrap();
            let data = dir.path().join("data");
            let h = Harness {
                dropbox: dir.path().join("unused"),
                _dir: dir,
                data,
            };
            let mut lib = h.library();
            lib.init(OPERATOR, None, None).unwrap();
            let op = lib.actor(Some(OPERATOR), None).unwrap();
            lib.add_account(&op, "Acme Marketing", "team").unwrap();
            lib.add_account(&op, "Tiny", "tiny").unwrap();
            let grant = AdminGrant {
                email: OWNER.into(),
                owner_of: vec!["Acme Marketing".into(), "Tiny".into()],
                ..AdminGrant::default()
            };
            lib.add_admin(&op, &grant).unwrap();
            let owner = lib.actor(Some(OWNER), None).unwrap();
            let api = Api {
                h,
                handle,
                base,
                _root: root,
            };
            for account in ["Acme Marketing", "Tiny"] {
                link_through_emulator(
                    &mut lib,
                    &owner,
                    account,
                    (&api.base, &api.handle),
                    DBX,
                    APP_KEY,
                )
                .await;
            }
            api
        }

        fn backend_settings(&self) -> BackendSettings {
            BackendSettings {
                endpoints: Endpoints::single(&self.base),
                app_key: Some(APP_KEY.into()),
                ..BackendSettings::default()
            }
        }

        fn folder(&self, account: &str) -> PathBuf {
            self.handle.account_dir(DBX).unwrap().join(account)
        }

        fn drop_file(&self, account: &str, rel: &str, bytes: &[u8]) {
            let path = self.folder(account).join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        }

        async fn pass(&self) -> (PassSummary, Vec<EngineEvent>, Vec<(String, String)>) {
            self.pass_with_policy(RetryPolicy::default()).await
        }

        async fn pass_with_policy(
            &self,
            retry: RetryPolicy,
        ) -> (PassSummary, Vec<EngineEvent>, Vec<(String, String)>) {
            self.handle.rescan().unwrap();
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let settings = EngineSettings {
                workers: 4,
                backends: self.backend_settings(),
                retry,
                ..EngineSettings::default()
            };
            let (engine, _) = ImportEngine::start(self.h.library(), settings, tx).unwrap();
            let (summary, problems) = engine.run_once(None).await.unwrap();
            drop(engine);
            let mut events = Vec::new();
            while let Ok(e) = rx.try_recv() {
                events.push(e);
            }
            (summary, events, problems)
        }
    }

    fn remaining(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        walk(dir, dir, &mut out);
        out.sort();
        out
    }

    #[tokio::test]
    async fn linking_creates_a_folder_per_account_in_the_app_folder() {
        let api = Api::start(3600).await;
        assert!(api.folder("Acme Marketing").is_dir());
        assert!(api.folder("Tiny").is_dir());
        let token_files: Vec<_> = std::fs::read_dir(api.h.data.join("tokens"))
            .unwrap()
            .collect();
        assert_eq!(
            token_files.len(),
            1,
            "one token file for the one Dropbox account"
        );
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &token_files[0]
                .as_ref()
                .unwrap()
                .metadata()
                .unwrap()
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
    }

    #[tokio::test]
    async fn imports_a_nested_batch_over_http_and_deletes_exact_revisions() {
        let api = Api::start(3600).await;
        for (i, rel) in ["a.png", "sub/b.png", "sub/deeper/c 😀.png", "Café/d.png"]
            .iter()
            .enumerate()
        {
            api.drop_file("Acme Marketing", rel, &png(i as u32, 700));
        }
        api.drop_file("Acme Marketing", "clip.mp4", &mp4(1, 900));
        let (summary, _, problems) = api.pass().await;
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!((summary.imported, summary.deleted), (5, 5), "{summary:?}");
        assert_eq!(
            summary.delete_batches, 1,
            "one delete call for the whole batch"
        );
        assert!(remaining(&api.folder("Acme Marketing")).is_empty());
        let files = api.h.files("Acme Marketing");
        assert!(
            files
                .iter()
                .any(|f| f.dropbox_path.as_deref() == Some("/Acme Marketing/sub/deeper/c 😀.png"))
        );
        assert!(files.iter().any(|f| f.kind == "video"));
    }

    #[tokio::test]
    async fn over_the_api_emptied_folders_are_left_alone() {
        let api = Api::start(3600).await;
        api.drop_file("Acme Marketing", "tree/2026/spring/a.png", &png(1, 700));
        let (summary, _, problems) = api.pass().await;
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!((summary.imported, summary.deleted), (1, 1), "{summary:?}");
        assert!(remaining(&api.folder("Acme Marketing")).is_empty());
        assert!(
            api.folder("Acme Marketing")
                .join("tree/2026/spring")
                .is_dir(),
            "deleting a folder over the API would delete what arrived in it meanwhile"
        );
    }

    #[tokio::test]
    async fn survives_rate_limits_server_errors_truncated_bodies_and_token_expiry() {
        let api = Api::start(1).await; // access tokens live one second
        for i in 0..8 {
            api.drop_file("Acme Marketing", &format!("f{i}.png"), &png(50 + i, 4_000));
        }
        api.handle.set_faults(FaultConfig {
            rate_limit_every: Some(5),
            rate_limit_retry_after_secs: 1,
            server_error_every: Some(7),
            truncate_download_every: Some(3),
            ..FaultConfig::default()
        });
        tokio::time::sleep(Duration::from_millis(1100)).await; // the linking token has expired
        let (summary, events, problems) = api.pass().await;
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(summary.imported, 8, "{summary:?} {events:?}");
        assert!(remaining(&api.folder("Acme Marketing")).is_empty());
        let files = api.h.files("Acme Marketing");
        assert_eq!(files.len(), 8, "nothing duplicated by retries");
        let lib = api.h.library();
        for f in files {
            assert!(
                matches!(lib.blobs().verify(&f.sha256).unwrap(), BlobCheck::Ok { .. }),
                "nothing half-downloaded was kept"
            );
        }
    }

    #[tokio::test]
    async fn renaming_an_account_moves_its_folder_in_dropbox() {
        let api = Api::start(3600).await;
        api.drop_file("Acme Marketing", "keep/a.png", &png(31, 800));
        let mut lib = api.h.library();
        let op = lib.actor(Some(OPERATOR), None).unwrap();
        linking::rename_account(
            &mut lib,
            &op,
            "Acme Marketing",
            "Acme Global",
            &api.backend_settings(),
        )
        .await
        .unwrap();
        drop(lib);
        assert!(!api.folder("Acme Marketing").exists());
        assert!(
            api.folder("Acme Global").join("keep/a.png").exists(),
            "moved with its contents"
        );
        let (summary, _, problems) = api.pass().await;
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(summary.imported, 1);
        assert!(remaining(&api.folder("Acme Global")).is_empty());
    }

    #[tokio::test]
    async fn a_download_that_never_completes_is_an_unknown_error_and_stays() {
        let api = Api::start(3600).await;
        api.drop_file("Acme Marketing", "flaky.png", &png(9, 3_000));
        api.handle.set_faults(FaultConfig {
            drop_download_every: Some(1),
            ..FaultConfig::default()
        });
        // A policy that calls a failure persistent at its first try (the default waits for six
        // tries over half an hour: `reliability_faults` checks that).
        let give_up_at_once = RetryPolicy {
            transient_attempts: 1,
            min_spread: Duration::ZERO,
        };
        let (summary, events, _) = api.pass_with_policy(give_up_at_once).await;
        assert_eq!(summary.failed, 1, "{events:?}");
        assert_eq!(
            failures_by_kind(&events)["/Acme Marketing/flaky.png"],
            ErrorKind::Unknown
        );
        let left = remaining(&api.folder("Acme Marketing"));
        assert!(left.contains(&"flaky.png".to_string()), "{left:?}");
        assert!(left.contains(&REPORT_FILE_NAME.to_string()), "{left:?}");
        // The report is remembered and never imported, even with faults gone.
        api.handle.set_faults(FaultConfig::default());
        let (again, _, _) = api.pass().await;
        assert_eq!(again, PassSummary::default(), "{again:?}");
    }

    #[tokio::test]
    async fn a_file_saved_again_during_its_download_stays_in_dropbox_in_its_new_version() {
        let api = Api::start(3600).await;
        api.drop_file("Acme Marketing", "draft.png", &png(11, 2_000));
        api.handle.set_faults(FaultConfig {
            change_during_download_every: Some(1),
            ..FaultConfig::default()
        });
        let (summary, _, _) = api.pass().await;
        assert_eq!(summary.kept_changed, 1, "{summary:?}");
        assert!(
            remaining(&api.folder("Acme Marketing")).contains(&"draft.png".to_string()),
            "never deleted"
        );
        // Next time round the new revision is imported and deleted.
        api.handle.set_faults(FaultConfig::default());
        let (next, _, _) = api.pass().await;
        assert_eq!((next.imported, next.deleted), (1, 1), "{next:?}");
        assert!(remaining(&api.folder("Acme Marketing")).is_empty());
        let files = api.h.files("Acme Marketing");
        assert_eq!(
            files.len(),
            2,
            "both revisions are in the library, each once"
        );
    }
}

/// Engines and consoles meet in the store: another process (here, another library handle)
/// asks the watching engine for a pass and gets its summary, sees its status row and the
/// journal's changes in the event log, pauses a link it then leaves alone, and stops it.
#[tokio::test]
async fn a_watching_engine_obeys_commands_given_through_the_store() {
    use smartimage::import::engine::PassOutcome;
    use smartimage::library::store::engine_commands::CommandKind;
    use smartimage::library::store::engine_events;
    use smartimage::library::store::engine_status;
    use smartimage::library::store::links::LinkState;

    let h = Harness::local().await;
    // A stop given while no engine ran was meant for an engine that is gone: not this one.
    let stale_stop = {
        let mut before = h.library();
        let operator = before.actor(Some(OPERATOR), None).unwrap();
        before
            .command_engine(&operator, CommandKind::Stop, None)
            .unwrap()
    };
    tokio::time::sleep(Duration::from_millis(5)).await;
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let mut settings = h.settings(2);
    // Only a command (or a change) starts a pass: a scan that came by itself proves nothing.
    settings.idle_wait = Duration::from_secs(600);
    settings.mode = "serve".into();
    let (engine, _) = ImportEngine::start(h.library(), settings, tx).unwrap();
    let engine = std::sync::Arc::new(engine);
    let (_commands, inbox) = tokio::sync::mpsc::unbounded_channel();
    let watcher = tokio::spawn(engine.clone().watch(inbox));

    let mut other = h.library();
    let owner = other.actor(Some(OWNER), None).unwrap();
    // Published within a second or two: who runs, as what, holding which links.
    let status = wait_for(|| {
        engine_status::engines(other.store().connection())
            .unwrap()
            .into_iter()
            .find(|e| e.published.links.len() == 3)
    })
    .await;
    assert_eq!(status.published.mode, "serve");
    let ignored = wait_for(|| {
        other
            .engine_command(stale_stop)
            .unwrap()
            .filter(|c| c.state == "failed")
    })
    .await;
    assert!(
        ignored
            .outcome
            .unwrap()
            .contains("before this engine started"),
        "the engine keeps running"
    );
    assert_eq!(status.pid, std::process::id());

    let seen = engine_events::last_seq(other.store().connection()).unwrap();
    h.drop_file("Acme", "asked/one.png", &png(91, 3_000));
    tokio::time::sleep(Duration::from_millis(60)).await;
    let id = other
        .command_engine(&owner, CommandKind::Pass, Some("Acme"))
        .unwrap();
    let done = wait_for(|| {
        other
            .engine_command(id)
            .unwrap()
            .filter(|c| c.state == "done")
    })
    .await;
    let outcome: PassOutcome = serde_json::from_str(done.outcome.as_deref().unwrap()).unwrap();
    assert!(outcome.problems.is_empty(), "{outcome:?}");
    // The change itself may have woken the engine first: then the asked pass found nothing new.
    assert!(outcome.summary.imported <= 1, "{outcome:?}");
    assert_eq!(
        h.files("Acme").len(),
        1,
        "imported by the time the pass is done"
    );
    let kinds: Vec<String> = engine_events::since(other.store().connection(), seen, 1000)
        .unwrap()
        .into_iter()
        .filter(|r| r.path.as_deref() == Some("/Acme/asked/one.png"))
        .map(|r| r.kind)
        .collect();
    for kind in ["item:discovered", "item:committed", "item:deleted"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert_eq!(
        engine_events::today(other.store().connection(), None, now)
            .unwrap()
            .imported,
        1
    );

    // Paused elsewhere: the engine leaves the link alone, even when asked to scan it.
    other
        .set_link_state(&owner, "Acme", LinkState::Paused)
        .unwrap();
    wait_for(|| {
        engine_status::engines(other.store().connection())
            .unwrap()
            .into_iter()
            .find(|e| e.published.links.len() == 2)
    })
    .await;
    h.drop_file("Acme", "while-paused.png", &png(92, 3_000));
    let scan = other
        .command_engine(&owner, CommandKind::Scan, None)
        .unwrap();
    wait_for(|| {
        other
            .engine_command(scan)
            .unwrap()
            .filter(|c| c.state == "done")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(h.files("Acme").len(), 1, "nothing imported while paused");

    // Only an operator stops the engine; it stops within a tick or two.
    assert!(
        other
            .command_engine(&owner, CommandKind::Stop, None)
            .is_err()
    );
    let operator = other.actor(Some(OPERATOR), None).unwrap();
    other
        .command_engine(&operator, CommandKind::Stop, None)
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), watcher)
        .await
        .expect("a stop command stops the engine")
        .unwrap();
}

/// Polls `probe` every 50 ms for up to 10 s.
async fn wait_for<T>(mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(std::time::Instant::now() < deadline, "not within 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The import reads each file's metadata after its batch commits (`import::metadata_fill`): a
/// photo's camera and capture time, a video's codec, a PDF's pages; a damaged file is imported
/// all the same, its metadata unreadable.
#[tokio::test]
async fn an_import_reads_the_metadata_of_what_it_commits() {
    use smartimage::library::metadata::{Outcome, fixtures};
    let h = Harness::local().await;
    h.drop_file(
        "Acme",
        "shoot/IMG_0001.jpg",
        &fixtures::jpeg_with_exif(&fixtures::camera_exif(true, vec![])),
    );
    h.drop_file("Acme", "clip.mp4", &fixtures::mp4_hevc_after(4096));
    h.drop_file("Acme", "brochure.pdf", &fixtures::pdf(5));
    let mut damaged = fixtures::mp4_hevc_after(64);
    damaged.truncate(damaged.len() - 25);
    h.drop_file("Acme", "damaged.mp4", &damaged);
    let (summary, _) = h.pass(2).await;
    assert_eq!((summary.imported, summary.failed), (4, 0), "{summary:?}");
    let lib = h.library();
    let owner = lib.actor(Some(OWNER), None).unwrap();
    let by_name = |name: &str| {
        let f = h
            .files("Acme")
            .into_iter()
            .find(|f| f.name == name)
            .unwrap();
        lib.file_details(&owner, f.id).unwrap()
    };
    let shot = by_name("IMG_0001.jpg").metadata.expect("read at import");
    assert_eq!(shot.outcome, Outcome::Read);
    assert_eq!(shot.metadata.camera_model.as_deref(), Some("Canon EOS R5"));
    assert_eq!(
        shot.metadata.taken_at.as_deref(),
        Some("2024-05-12T14:03:22+02:00")
    );
    assert!(shot.metadata.gps.is_some(), "an owner sees the position");
    let clip = by_name("clip.mp4").metadata.unwrap().metadata;
    assert_eq!(clip.video_codec.as_deref(), Some("hevc"));
    assert_eq!(clip.duration_ms, Some(12_500));
    assert_eq!(
        by_name("brochure.pdf").metadata.unwrap().metadata.pages,
        Some(5)
    );
    assert_eq!(
        by_name("damaged.mp4").metadata.unwrap().outcome,
        Outcome::Unreadable
    );
}
