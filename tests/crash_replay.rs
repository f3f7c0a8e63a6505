//! Kill the real `smartimage import` with SIGKILL at many moments, restart it, and check that
//! every file ends up in exactly one place, once: in the library (verified, byte-identical) or
//! still in Dropbox untouched — never lost, never duplicated.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use smartimage::library::Library;
use smartimage::library::blobs::BlobCheck;
use smartimage::library::model::Source;
use smartimage::library::organise::FileFilter;
use smartimage::library::policy::PlanCatalog;

const OPERATOR: &str = "op@example.com";
const OWNER: &str = "owner@example.com";
/// Milliseconds after start at which each run is killed: spread over listing, downloads,
/// commits, the delete batch and the report.
/// Images to import (plus ten disguised executables that must stay).
const IMAGES: u32 = 600;
const KILL_AFTER_MS: [u64; 14] = [
    5, 15, 30, 45, 60, 80, 100, 130, 160, 200, 250, 320, 420, 560,
];

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_smartimage"))
}

fn smartimage(data: &Path, config: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(binary());
    cmd.env_remove("SMARTIMAGE_ADMIN")
        .arg("--data-dir")
        .arg(data)
        .arg("--config")
        .arg(config)
        .args(["--as", OWNER])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

fn png(seed: u32, len: usize) -> Vec<u8> {
    let mut b =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    b.extend(seed.to_be_bytes());
    let mut x = seed.wrapping_mul(2_654_435_761) | 1;
    while b.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b.push(x as u8);
    }
    b
}

#[test]
fn sigkill_at_any_moment_loses_nothing_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let dropbox = dir.path().join("Dropbox");
    let config = dir.path().join("config.toml");
    std::fs::create_dir_all(&dropbox).unwrap();
    std::fs::write(
        &config,
        "[import]\nsynced_folder_stable_secs = 0.05\ndownload_workers = 4\n",
    )
    .unwrap();
    let status = |mut c: Command| assert!(c.status().unwrap().success());
    let run = |args: &[&str]| status(smartimage(&data, &config, args));
    let mut init = Command::new(binary());
    init.arg("--data-dir")
        .arg(&data)
        .args(["init", "--operator", OPERATOR, "--os-user", "nobody"]);
    status(init);
    let op_run = |args: &[&str]| {
        let mut c = Command::new(binary());
        c.arg("--data-dir")
            .arg(&data)
            .args(["--as", OPERATOR])
            .args(args)
            .stdout(Stdio::null());
        status(c);
    };
    op_run(&["account", "add", "Acme", "--plan", "team"]);
    op_run(&["admin", "add", OWNER, "--owner", "Acme"]);
    run(&[
        "link",
        "--account",
        "Acme",
        "--local-folder",
        dropbox.to_str().unwrap(),
    ]);

    // Images of mixed sizes in nested folders, and files that must stay.
    let mut originals: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for i in 0..IMAGES {
        let rel = format!("batch{}/sub{}/img{i:03}.png", i % 5, i % 3);
        originals.insert(rel, png(i, 1_000 + (i as usize * 2_711) % 60_000));
    }
    for i in 0..10u32 {
        let mut exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xFF\xFF\x00\x00".to_vec();
        exe.resize(400 + i as usize, 0);
        originals.insert(format!("downloads/setup{i}.jpg"), exe);
    }
    for (rel, bytes) in &originals {
        let path = dropbox.join("Acme").join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    std::thread::sleep(Duration::from_millis(150));

    let mut killed_mid_run = 0;
    for delay in KILL_AFTER_MS {
        let mut child = smartimage(&data, &config, &["import", "--once"])
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        if child.try_wait().unwrap().is_none() {
            killed_mid_run += 1;
        }
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
    }
    assert!(
        killed_mid_run >= KILL_AFTER_MS.len() / 2,
        "only {killed_mid_run} runs were interrupted"
    );
    let partial = Library::open(&data, PlanCatalog::defaults()).unwrap();
    let owner = partial.actor(Some(OWNER), None).unwrap();
    let before_final = partial
        .list_files(&owner, &FileFilter::default())
        .unwrap()
        .len();
    eprintln!(
        "{killed_mid_run} runs killed mid-import; {before_final} of {IMAGES} files imported before the final run"
    );
    drop(partial);
    // Then let it finish, twice: the second run must find nothing left to do.
    run(&["import", "--once"]);
    run(&["import", "--once"]);

    let library = Library::open(&data, PlanCatalog::defaults()).unwrap();
    let owner = library.actor(Some(OWNER), None).unwrap();
    let files = library.list_files(&owner, &FileFilter::default()).unwrap();
    let mut seen = HashSet::new();
    for f in &files {
        assert_eq!(f.source, Source::Dropbox);
        let path = f.dropbox_path.clone().unwrap();
        assert!(seen.insert(path.clone()), "{path} is in the library twice");
        assert!(
            matches!(
                library.blobs().verify(&f.sha256).unwrap(),
                BlobCheck::Ok { .. }
            ),
            "{path}: blob"
        );
    }
    for (rel, bytes) in &originals {
        let in_dropbox = dropbox.join("Acme").join(rel);
        let imported = files
            .iter()
            .find(|f| f.dropbox_path.as_deref() == Some(&format!("/Acme/{rel}")));
        if rel.starts_with("downloads/") {
            assert!(imported.is_none(), "{rel} must never be imported");
            assert_eq!(
                &std::fs::read(&in_dropbox).unwrap(),
                bytes,
                "{rel} stays untouched"
            );
        } else {
            let f = imported.unwrap_or_else(|| panic!("{rel} was lost"));
            let stored = std::fs::read(library.blobs().path_of(&f.sha256).unwrap()).unwrap();
            assert_eq!(&stored, bytes, "{rel} stored byte-identical");
            assert!(
                !in_dropbox.exists(),
                "{rel} imported and removed from Dropbox"
            );
        }
    }
    // No blob without a row, no temp file, nothing half-claimed.
    let referenced: HashSet<String> = files.iter().map(|f| f.sha256.clone()).collect();
    let all = library.blobs().inventory(|_| {}).unwrap();
    assert_eq!(
        all.blobs,
        referenced.len(),
        "every blob belongs to a file row"
    );
    let temp_files = library.blobs().temp_files().unwrap();
    assert!(temp_files.is_empty(), "temp files left: {temp_files:?}");
    let in_flight: i64 = library
        .store()
        .connection()
        .query_row(
            "SELECT count(*) FROM import_items WHERE state IN ('downloading', 'committed')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(in_flight, 0);
}
