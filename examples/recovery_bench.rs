//! Engine start-up on a big library: how long crash recovery takes when nothing crashed — the
//! sweep for temp files and for blobs no row references, which every console start and every
//! `import --once` pays. A library of FILES rows (default 1,000,000; the All Files benchmark's
//! generator) gets a blob file for every row, so every blob is referenced and nothing is
//! deleted: the run measures the walk itself.
//!
//! `cargo run --release --example recovery_bench -- [FILES]`
//!
//! Prints the walk alone (listing and classifying every blob) and the full recovery (the walk
//! plus one index lookup a blob), three times with the page cache warm; as root, once more after
//! dropping the page cache. The library is kept in the temp dir for later runs.

use std::path::Path;
use std::time::{Duration, Instant};

use smartimage::import::engine::recover;
use smartimage::library::Library;
use smartimage::library::policy::PlanCatalog;

#[path = "../benches/support/synthetic_library.rs"]
mod synthetic_library;

fn main() {
    let files: u64 = std::env::args()
        .nth(1)
        .map(|n| {
            n.replace(['_', ','], "")
                .parse()
                .expect("FILES is a number")
        })
        .unwrap_or(1_000_000);
    let data = std::env::temp_dir().join(format!("smartimage-recovery-{files}"));
    if !data.join("blobs").join("READY").exists() {
        let _ = std::fs::remove_dir_all(&data);
        let started = Instant::now();
        synthetic_library::generate(&data, files);
        let made = make_blobs(&data);
        std::fs::write(data.join("blobs").join("READY"), b"").expect("marker");
        eprintln!(
            "made {files} rows and {made} blob files in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    for _ in 0..3 {
        let (walk, full) = (walk_only(&data, files), recovery(&data));
        println!(
            "{files} blobs, warm cache: walk {:.2} s, recovery {:.2} s",
            walk.as_secs_f64(),
            full.as_secs_f64()
        );
    }
    if drop_page_cache() {
        println!(
            "{files} blobs, cold cache: recovery {:.2} s",
            recovery(&data).as_secs_f64()
        );
    } else {
        println!("(not root: no cold-cache run)");
    }
}

/// One empty file per row, named by its hash where the store keeps it.
fn make_blobs(data: &Path) -> u64 {
    let lib = Library::open(data, PlanCatalog::default()).expect("library");
    let root = lib.blobs().root().to_path_buf();
    let c = lib.store().connection();
    let mut stmt = c.prepare("SELECT sha256 FROM files").expect("select");
    let mut rows = stmt.query([]).expect("query");
    let mut made = 0;
    while let Some(row) = rows.next().expect("row") {
        let sha: String = row.get(0).expect("sha256");
        std::fs::File::create(root.join(&sha[..2]).join(&sha)).expect("blob file");
        made += 1;
    }
    made
}

/// Listing and classifying every blob, no lookups.
fn walk_only(data: &Path, files: u64) -> Duration {
    let lib = Library::open(data, PlanCatalog::default()).expect("library");
    let started = Instant::now();
    let walked = lib.blobs().inventory(|_| {}).expect("walk the blobs");
    let took = started.elapsed();
    assert_eq!(walked.blobs as u64, files);
    took
}

/// What the engine runs at start.
fn recovery(data: &Path) -> Duration {
    let mut lib = Library::open(data, PlanCatalog::default()).expect("library");
    let blobs = lib.blobs().clone();
    let started = Instant::now();
    let report = recover(&mut lib, &blobs).expect("recover");
    let took = started.elapsed();
    assert_eq!(report.blobs_collected, 0, "every blob has its row");
    assert!(!report.blob_cleanup_postponed);
    took
}

/// `sync; echo 3 > /proc/sys/vm/drop_caches`, as root only.
fn drop_page_cache() -> bool {
    let synced = std::process::Command::new("sync")
        .status()
        .is_ok_and(|s| s.success());
    synced && std::fs::write("/proc/sys/vm/drop_caches", b"3\n").is_ok()
}
