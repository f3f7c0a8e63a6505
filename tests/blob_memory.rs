//! Memory stays flat while the blob store takes a large file. A test binary of its own: the
//! kernel's peak RSS is per process, and tests running beside it in one binary would add theirs.

#![cfg(target_os = "linux")]

use std::fs::{self, File};

use smartimage::library::blobs::BlobStore;

/// Peak resident memory of this process, from the kernel.
fn peak_rss_bytes() -> u64 {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib * 1024
}

#[test]
fn put_file_keeps_memory_flat_on_a_large_file() {
    const SOURCE_BYTES: u64 = 128 * 1024 * 1024;
    const ALLOWED_GROWTH: u64 = 48 * 1024 * 1024;
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(&dir.path().join("blobs")).unwrap();
    let source = dir.path().join("huge.mov");
    // Sparse: costs no disk to create, but reads back as real bytes.
    File::create(&source)
        .unwrap()
        .set_len(SOURCE_BYTES)
        .unwrap();

    let before = peak_rss_bytes();
    let blob = store.put_file(&source).unwrap();
    let growth = peak_rss_bytes().saturating_sub(before);

    assert_eq!(blob.size, SOURCE_BYTES);
    assert!(
        growth < ALLOWED_GROWTH,
        "peak RSS grew by {growth} bytes while storing {SOURCE_BYTES}"
    );
}
