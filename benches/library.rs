//! Benchmarks of the library layer, one criterion group per component. To add a group: write a
//! `fn your_benches(c: &mut Criterion)` below and list it in `criterion_group!` at the bottom.
//! Results and how to read them: BENCHMARKS.md.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use sha2::{Digest, Sha256};
use smartimage::library::blobs::BlobStore;

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;

/// Every iteration writes and fsyncs real files, so few, long samples: the whole bench run stays
/// well under two minutes on two cores.
const SAMPLES: usize = 10;
const WARM_UP: Duration = Duration::from_secs(1);
const MEASUREMENT: Duration = Duration::from_secs(6);

// ---------------------------------------------------------------------------------------------
// blob_store: write throughput of `BlobStore::put_file` (each blob durable on its own) and of
// the engine's batched path (`writer` + `commit_batch`) against the floor any durable copy has
// to pay, `std::fs::copy` + `sync_all` of the same source into the same filesystem. A last line,
// sha256 of the same bytes already in memory, shows the hashing cost no put can avoid.

const LARGE_FILE_BYTES: usize = 64 * MIB;
const SMALL_FILE_BYTES: usize = 64 * KIB;
const SMALL_FILE_COUNT: usize = 256;

fn blob_store_benches(c: &mut Criterion) {
    // Under cargo's target tmp dir: sources and destinations share one filesystem (and disk).
    let work = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("bench work dir");
    let large = vec![write_source(work.path(), "large", 0, LARGE_FILE_BYTES)];
    let small: Vec<PathBuf> = (0..SMALL_FILE_COUNT)
        .map(|i| write_source(work.path(), "small", i + 1, SMALL_FILE_BYTES))
        .collect();

    let mut group = c.benchmark_group("blob_store");
    group
        .sample_size(SAMPLES)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(WARM_UP)
        .measurement_time(MEASUREMENT);

    for (label, sources, bytes) in [
        ("1x64MiB", &large, LARGE_FILE_BYTES),
        ("256x64KiB", &small, SMALL_FILE_COUNT * SMALL_FILE_BYTES),
    ] {
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_function(format!("put_file/{label}"), |b| {
            b.iter_custom(|iters| {
                timed_into_fresh_dirs(work.path(), iters, |dest| {
                    let store = BlobStore::open(dest).expect("open store");
                    move || {
                        for source in sources {
                            store.put_file(source).expect("put_file");
                        }
                    }
                })
            })
        });
        // The engine's path: every blob written, then one `commit_batch` makes them all
        // durable and visible together (the same guarantee as a fsync each, paid once).
        group.bench_function(format!("commit_batch/{label}"), |b| {
            b.iter_custom(|iters| {
                timed_into_fresh_dirs(work.path(), iters, |dest| {
                    let store = BlobStore::open(dest).expect("open store");
                    move || {
                        let pending = sources
                            .iter()
                            .map(|source| {
                                let mut writer = store
                                    .writer_for_size(fs::metadata(source).expect("stat").len())
                                    .expect("writer");
                                let mut file = File::open(source).expect("open source");
                                std::io::copy(&mut file, &mut writer).expect("copy");
                                writer.finish_unsynced().expect("finish")
                            })
                            .collect();
                        store.commit_batch(pending).expect("commit_batch");
                    }
                })
            })
        });
        group.bench_function(format!("fs_copy_sync_all/{label}"), |b| {
            b.iter_custom(|iters| {
                timed_into_fresh_dirs(work.path(), iters, |dest| {
                    let dest = dest.to_path_buf();
                    move || {
                        for (i, source) in sources.iter().enumerate() {
                            let target = dest.join(i.to_string());
                            fs::copy(source, &target).expect("copy");
                            File::open(&target)
                                .and_then(|f| f.sync_all())
                                .expect("sync_all");
                        }
                    }
                })
            })
        });
    }

    let in_memory = fs::read(&large[0]).expect("read large source");
    group.throughput(Throughput::Bytes(LARGE_FILE_BYTES as u64));
    group.bench_function("sha256_in_memory/1x64MiB", |b| {
        b.iter(|| Sha256::digest(std::hint::black_box(&in_memory)))
    });
    group.finish();
}

/// Runs `iters` iterations, each writing into a new empty directory (so the blob store never
/// deduplicates against an earlier iteration), and times only the writing: `prepare` (untimed)
/// returns the closure to time; the directory is deleted untimed afterwards.
fn timed_into_fresh_dirs<F: FnOnce()>(
    work: &Path,
    iters: u64,
    mut prepare: impl FnMut(&Path) -> F,
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let dest = tempfile::tempdir_in(work).expect("destination dir");
        let run = prepare(dest.path());
        let start = Instant::now();
        run();
        total += start.elapsed();
        drop(dest);
    }
    total
}

/// A source file of pseudo-random bytes (xorshift; distinct per `seed`, so no two dedup).
fn write_source(dir: &Path, name: &str, seed: usize, len: usize) -> PathBuf {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64 ^ (seed as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
    let mut bytes = Vec::with_capacity(len);
    while bytes.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(len);
    let path = dir.join(format!("{name}-{seed}.bin"));
    fs::write(&path, &bytes).expect("write bench source");
    // On disk before timing starts, so background writeback does not skew the first samples.
    File::open(&path)
        .and_then(|f| f.sync_all())
        .expect("sync bench source");
    path
}

// ---------------------------------------------------------------------------------------------
// Add further groups above this line and list them here.

criterion_group!(benches, blob_store_benches);
criterion_main!(benches);
