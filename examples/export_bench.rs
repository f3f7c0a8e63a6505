//! Export benchmark: library files sent to the Dropbox emulator by the export engine, over HTTP
//! on loopback, emulator and client in one process. Two cases: many small files in one export
//! (upload sessions filled in parallel, committed by `finish_batch_v2`) and one big file (an
//! upload session in 8 MiB chunks). Prints the wall time of each export (setup excluded) and the
//! process's peak resident memory after each, to show memory stays flat on the big file.
//!
//! ```text
//! cargo run --release --example export_bench -- --files 1000 --small-kib 64 --big-mib 1024
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use clap::Parser;
use smartimage::dropbox::api::Endpoints;
use smartimage::dropbox::emulator::{
    AccountConfig, AuthCodeConfig, Emulator, EmulatorConfig, FaultConfig,
};
use smartimage::dropbox::sending::{SendSettings, content_hash_of_file};
use smartimage::export::{ExportRequest, export, open_backend};
use smartimage::import::backends::BackendSettings;
use smartimage::import::linking::{finish_api_link, start_api_link};
use smartimage::library::Library;
use smartimage::library::actions::AdminGrant;
use smartimage::library::outgoing::OutgoingSelection;
use smartimage::library::policy::PlanCatalog;

const DBX: &str = "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc";
const APP_KEY: &str = "bench-app-key";
const OPERATOR: &str = "op@example.com";
const OWNER: &str = "owner@example.com";
const ACCOUNT: &str = "Bench";
const PNG_HEADER: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

#[derive(Parser)]
struct Args {
    /// Small files in the first export
    #[arg(long, default_value_t = 1000)]
    files: usize,
    #[arg(long, default_value_t = 64)]
    small_kib: usize,
    /// Size of the big file (0 skips that case)
    #[arg(long, default_value_t = 1024)]
    big_mib: usize,
    /// Emulator latency per call (fault injection), in ms
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Work directory [default: a temporary one]
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// Writes `len` bytes of a PNG header then pseudo-random bytes (not compressible, not repeated).
fn write_png(path: &Path, seed: u64, len: usize) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    out.write_all(PNG_HEADER).unwrap();
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut left = len.saturating_sub(PNG_HEADER.len());
    let mut block = vec![0u8; 1 << 16];
    while left > 0 {
        for word in block.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            word.copy_from_slice(&x.to_le_bytes()[..word.len()]);
        }
        let n = left.min(block.len());
        out.write_all(&block[..n]).unwrap();
        left -= n;
    }
}

/// Peak resident set size of this process so far (Linux `VmHWM`), in MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmHWM:"))
                .and_then(|line| line.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kib| kib / 1024.0)
        .unwrap_or(f64::NAN)
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let temp = tempfile::tempdir().unwrap();
    let work = args
        .dir
        .clone()
        .unwrap_or_else(|| temp.path().to_path_buf());
    let emulator_root = work.join("emulator");
    let data = work.join("data");
    let sources = work.join("sources");
    std::fs::create_dir_all(&sources).unwrap();

    let config = EmulatorConfig::new(&emulator_root).with_account(AccountConfig::new(
        DBX,
        OWNER,
        "Owner Bench",
    ));
    let (base, handle) = Emulator::start(config).await.unwrap();
    let mut library = Library::open(&data, PlanCatalog::default()).unwrap();
    library.init(OPERATOR, None, None).unwrap();
    let op = library.actor(Some(OPERATOR), None).unwrap();
    library.add_account(&op, ACCOUNT, "multi-brand").unwrap();
    library
        .add_admin(
            &op,
            &AdminGrant {
                email: OWNER.into(),
                owner_of: vec![ACCOUNT.into()],
                ..AdminGrant::default()
            },
        )
        .unwrap();
    let owner = library.actor(Some(OWNER), None).unwrap();
    let settings = BackendSettings {
        endpoints: Endpoints::single(&base),
        app_key: Some(APP_KEY.into()),
        ..BackendSettings::default()
    };
    let start = start_api_link(APP_KEY, &format!("{base}/oauth2/authorize")).unwrap();
    handle.register_code(AuthCodeConfig {
        code: "bench".into(),
        account_id: DBX.into(),
        code_challenge: Some(start.pkce.challenge().to_owned()),
    });
    finish_api_link(
        &mut library,
        &owner,
        ACCOUNT,
        "bench",
        &start,
        APP_KEY,
        &settings,
    )
    .await
    .unwrap();

    eprintln!(
        "adding {} small files and a {} MiB file to the library…",
        args.files, args.big_mib
    );
    let mut small_ids = Vec::with_capacity(args.files);
    for index in 0..args.files {
        let path = sources.join(format!("small {index:05}.png"));
        write_png(&path, index as u64 + 1, args.small_kib * 1024);
        small_ids.push(library.add_local_file(&owner, ACCOUNT, &path).unwrap().id);
    }
    let big = (args.big_mib > 0).then(|| {
        let path = sources.join("big.png");
        write_png(&path, 7, args.big_mib * 1024 * 1024);
        let id = library.add_local_file(&owner, ACCOUNT, &path).unwrap().id;
        (id, path)
    });
    handle.set_faults(FaultConfig {
        latency_ms: args.latency_ms,
        ..FaultConfig::default()
    });

    let library = Arc::new(Mutex::new(library));
    let backend = open_backend(&library, ACCOUNT, &settings).unwrap();
    let send = SendSettings::default();
    let (events, mut inbox) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move { while inbox.recv().await.is_some() {} });

    let run = |selection: OutgoingSelection, subfolder: &str| {
        let request = ExportRequest {
            account: ACCOUNT.into(),
            selection,
            subfolder: Some(subfolder.into()),
        };
        let library = Arc::clone(&library);
        let owner = owner.clone();
        let backend = backend.clone();
        let send = send.clone();
        let events = events.clone();
        async move {
            let started = Instant::now();
            let summary = export(&library, &owner, &request, &backend, &send, &events)
                .await
                .unwrap();
            (started.elapsed(), summary)
        }
    };

    let rss_before = peak_rss_mib();
    let (elapsed, summary) = run(OutgoingSelection::Ids(small_ids), "small").await;
    assert!(summary.failed.is_empty(), "{:?}", summary.failed);
    assert_eq!(summary.sent.len(), args.files);
    let secs = elapsed.as_secs_f64();
    println!(
        "RESULT small files={} size={} KiB time={secs:.2} s files/s={:.0} MiB/s={:.1} peak_rss={:.0} MiB (before: {rss_before:.0} MiB)",
        args.files,
        args.small_kib,
        args.files as f64 / secs,
        summary.bytes_sent as f64 / (1024.0 * 1024.0) / secs,
        peak_rss_mib()
    );

    if let Some((id, path)) = big {
        let (elapsed, summary) = run(OutgoingSelection::Ids(vec![id]), "big").await;
        assert!(summary.failed.is_empty(), "{:?}", summary.failed);
        let (expected, _) = content_hash_of_file(&path).unwrap();
        assert_eq!(
            summary.sent[0].content_hash.as_deref(),
            Some(expected.as_str())
        );
        let secs = elapsed.as_secs_f64();
        println!(
            "RESULT big size={} MiB via={:?} time={secs:.2} s MiB/s={:.1} peak_rss={:.0} MiB",
            args.big_mib,
            summary.sent[0].via,
            args.big_mib as f64 / secs,
            peak_rss_mib()
        );
    }
    drop(handle);
}
