//! Download benchmark: OUR Dropbox client (`ApiClient::download`, verified body) fetching one
//! large file from the Dropbox emulator, into `tokio::io::sink()` or into a file.
//!
//! ```text
//! # all in one process (emulator + client):
//! cargo run --release --example download_bench -- --size-mib 1024 --mode sink
//! # serve only (prints the URL, token and Dropbox-API-Arg for curl), until SIGTERM/Ctrl-C:
//! download_bench --serve --size-mib 1024 --dir /tmp/bench
//! # client only, against a serving instance:
//! download_bench --url http://127.0.0.1:PORT --mode sink --runs 3
//! ```
//!
//! `benches/download.sh` runs the comparison with curl. Every line meant for the script starts
//! with `RESULT`, `URL=`, `TOKEN=`, `ARG=`, `SIZE=` or `READY`.

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use smartimage::dropbox::api::{ApiClient, ClientConfig, Endpoints};
use smartimage::dropbox::auth::TokenSource;
use smartimage::dropbox::backend::DropboxBackend;
use smartimage::dropbox::content_hash::ContentHasher;
use smartimage::dropbox::emulator::{AccountConfig, Emulator, EmulatorConfig, EmulatorHandle};
use smartimage::dropbox::pacer::Pacer;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

const ACCOUNT: &str = "dbid:AAAbench";
const TOKEN: &str = "bench-token";
const FILE_PATH: &str = "/bench/large.bin";
const MIB: u64 = 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// Through our client into `tokio::io::sink()`.
    Sink,
    /// Through our client into a file in `--dir` (no fsync, like `curl -o`).
    File,
    /// Diagnostic: plain reqwest, no verification, into a sink (what the transport alone costs).
    RawReqwest,
    /// Diagnostic: the Dropbox content hash over an in-memory buffer (what verifying costs).
    HashOnly,
}

#[derive(Parser, Debug)]
#[command(about = "Download benchmark of the Dropbox client against the emulator")]
struct Args {
    /// Serve the file and print how to fetch it; download nothing. Stops on SIGTERM or Ctrl-C.
    #[arg(long)]
    serve: bool,
    /// Download from an emulator started with `--serve` (base URL, e.g. http://127.0.0.1:PORT)
    /// instead of starting one in this process.
    #[arg(long)]
    url: Option<String>,
    /// Size of the served file.
    #[arg(long, default_value_t = 1024)]
    size_mib: u64,
    #[arg(long, value_enum, default_value_t = Mode::Sink)]
    mode: Mode,
    /// Where the emulator's root (and file-mode output) lives; a temp dir under the system's.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Downloads to time, one after the other.
    #[arg(long, default_value_t = 1)]
    runs: u32,
    /// Read buffer of the consumer loop.
    #[arg(long, default_value_t = 256)]
    buffer_kib: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let parent = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&parent)?;
    let work = tempfile::Builder::new()
        .prefix("download-bench-")
        .tempdir_in(&parent)?;

    if args.mode == Mode::HashOnly && !args.serve {
        hash_only(args.size_mib, args.runs);
        report_peak_rss();
        return Ok(());
    }

    // An emulator of our own unless told where one runs.
    let served = if args.url.is_some() && !args.serve {
        None
    } else {
        Some(serve(work.path(), args.size_mib).await?)
    };
    let base = match (&served, &args.url) {
        (Some((base, _)), _) => base.clone(),
        (None, Some(url)) => url.trim_end_matches('/').to_owned(),
        (None, None) => unreachable!("served when no url"),
    };

    if args.serve {
        println!("URL={base}/2/files/download");
        println!("TOKEN={TOKEN}");
        println!("ARG={{\"path\":\"{FILE_PATH}\"}}");
        println!("SIZE={}", args.size_mib * MIB);
        println!("READY");
        wait_for_stop().await?;
        if let Some((_, handle)) = served {
            handle.shutdown().await?;
        }
        return Ok(());
    }

    let api = ApiClient::new(
        ClientConfig::with_endpoints(Endpoints::single(&base)),
        Arc::new(TokenSource::fixed(TOKEN)),
        Arc::new(Pacer::default()),
    )?;
    let buffer = args.buffer_kib * 1024;
    for run in 1..=args.runs {
        let started = Instant::now();
        let bytes = match args.mode {
            Mode::Sink => {
                let download = api.download(FILE_PATH).await?;
                drain(download.body, tokio::io::sink(), buffer).await?
            }
            Mode::File => {
                let target = work.path().join("downloaded.bin");
                let download = api.download(FILE_PATH).await?;
                let file = tokio::fs::File::create(&target).await?;
                let bytes = drain(download.body, file, buffer).await?;
                std::fs::remove_file(&target)?;
                bytes
            }
            Mode::RawReqwest => raw_reqwest(&base, buffer).await?,
            Mode::HashOnly => unreachable!("handled above"),
        };
        report(args.mode, run, bytes, started.elapsed());
    }
    report_peak_rss();
    if let Some((_, handle)) = served {
        handle.shutdown().await?;
    }
    Ok(())
}

/// Writes the file into a fresh emulator root and starts the emulator over it (the start
/// indexes the file, hashing it once, which also leaves it in the page cache).
async fn serve(root: &Path, size_mib: u64) -> anyhow::Result<(String, EmulatorHandle)> {
    let file = root.join(ACCOUNT).join(FILE_PATH.trim_start_matches('/'));
    std::fs::create_dir_all(file.parent().expect("a folder"))?;
    let started = Instant::now();
    write_noise(&file, size_mib)?;
    eprintln!(
        "wrote {size_mib} MiB of pseudo-random bytes to {} in {:.1?}",
        file.display(),
        started.elapsed()
    );
    let mut config = EmulatorConfig::new(root).with_account(
        AccountConfig::new(ACCOUNT, "bench@example.test", "Bench Mark").with_access_token(TOKEN),
    );
    // One file, never touched: no need to look at the disk before every call.
    config.rescan_on_every_call = false;
    let started = Instant::now();
    let (base, handle) = Emulator::start(config).await?;
    eprintln!("emulator indexed it in {:.1?}", started.elapsed());
    Ok((base, handle))
}

/// Pseudo-random (xorshift64) bytes: incompressible, cheap to make.
fn write_noise(path: &Path, size_mib: u64) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::io::BufWriter::with_capacity(MIB as usize, std::fs::File::create(path)?);
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut block = vec![0u8; MIB as usize];
    for _ in 0..size_mib {
        for word in block.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        file.write_all(&block)?;
    }
    file.flush()
}

/// Reads the download to its end (an error if it is short or corrupt) into `out`.
async fn drain(
    mut body: Pin<Box<dyn AsyncRead + Send>>,
    mut out: impl AsyncWrite + Unpin,
    buffer: usize,
) -> std::io::Result<u64> {
    let mut chunk = vec![0u8; buffer];
    let mut total = 0u64;
    loop {
        let read = body.read(&mut chunk).await?;
        if read == 0 {
            break;
        }
        out.write_all(&chunk[..read]).await?;
        total += read as u64;
    }
    out.flush().await?;
    Ok(total)
}

async fn raw_reqwest(base: &str, buffer: usize) -> anyhow::Result<u64> {
    use futures::TryStreamExt;
    let response = reqwest::Client::new()
        .post(format!("{base}/2/files/download"))
        .bearer_auth(TOKEN)
        .header("Dropbox-API-Arg", format!("{{\"path\":\"{FILE_PATH}\"}}"))
        .send()
        .await?
        .error_for_status()?;
    let stream = response.bytes_stream().map_err(std::io::Error::other);
    let reader = tokio_util::io::StreamReader::new(stream);
    Ok(drain(Box::pin(reader), tokio::io::sink(), buffer).await?)
}

fn hash_only(size_mib: u64, runs: u32) {
    let block = vec![0x5Au8; MIB as usize];
    for run in 1..=runs {
        let started = Instant::now();
        let mut hasher = ContentHasher::new();
        for _ in 0..size_mib {
            hasher.update(&block);
        }
        std::hint::black_box(hasher.finalize());
        report(Mode::HashOnly, run, size_mib * MIB, started.elapsed());
    }
}

fn report(mode: Mode, run: u32, bytes: u64, elapsed: Duration) {
    let mib = bytes as f64 / MIB as f64;
    let rate = mib / elapsed.as_secs_f64();
    println!(
        "RESULT mode={} run={run} bytes={bytes} seconds={:.3} mib_per_s={rate:.1}",
        mode.to_possible_value().expect("named").get_name(),
        elapsed.as_secs_f64()
    );
}

/// Peak resident set size of this process, from the kernel.
fn report_peak_rss() {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if let Some(line) = status.lines().find(|line| line.starts_with("VmHWM:")) {
        let kib: u64 = line
            .split_whitespace()
            .nth(1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        println!(
            "RESULT peak_rss_kib={kib} peak_rss_mib={:.1}",
            kib as f64 / 1024.0
        );
    }
}

async fn wait_for_stop() -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result,
        _ = terminate.recv() => Ok(()),
    }
}
