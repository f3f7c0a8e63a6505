//! Metadata-store benchmark: inserting 100,000 file rows in batched transactions (the way the
//! import engine and bulk tools write). Target: at least 50,000 rows/s. `cargo bench --bench store`.

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use smartimage::library::model::{AccountId, NewFile, Source};
use smartimage::library::store::{Store, files, people};

const ROWS: u64 = 100_000;
const ROWS_PER_TRANSACTION: u64 = 5_000;

fn row(account: AccountId, i: u64) -> NewFile {
    NewFile {
        batch: None,
        account,
        name: format!("IMG_{i:06}.jpg"),
        size: 40_000 + i % 20_000,
        kind: "image".into(),
        format: "JPEG image".into(),
        mime: "image/jpeg".into(),
        sha256: format!("{i:064x}"),
        source: if i.is_multiple_of(2) {
            Source::Dropbox
        } else {
            Source::Upload
        },
        uploaded_by: None,
        imported_at: 1_790_000_000 + i as i64,
        dropbox: None,
    }
}

/// Insert `ROWS` rows into a fresh library; returns the time spent inserting only.
fn insert_rows() -> Duration {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = Store::open(&dir.path().join("library.sqlite3")).expect("store");
    let account = store
        .transaction(|tx| people::insert_account(tx, "Bench", "team", 0))
        .expect("account");
    let started = Instant::now();
    for batch in 0..ROWS / ROWS_PER_TRANSACTION {
        store
            .transaction(|tx| -> rusqlite::Result<()> {
                for i in batch * ROWS_PER_TRANSACTION..(batch + 1) * ROWS_PER_TRANSACTION {
                    files::insert_file(tx, &row(account, i), None)?;
                }
                Ok(())
            })
            .expect("insert batch");
    }
    started.elapsed()
}

fn store_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("store");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .throughput(Throughput::Elements(ROWS));
    group.bench_function("insert_100k_file_rows", |b| {
        b.iter_custom(|iterations| (0..iterations).map(|_| insert_rows()).sum())
    });
    group.finish();
}

criterion_group!(benches, store_benches);
criterion_main!(benches);
