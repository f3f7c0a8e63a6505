//! The console's log: a file in the data dir, rotated daily and pruned, never the screen (the
//! screen is the console's). The level comes from `SMARTIMAGE_LOG` (`info` if unset), in
//! `tracing-subscriber`'s filter syntax, e.g. `SMARTIMAGE_LOG=debug` or `smartimage=debug`.

use std::path::{Path, PathBuf};

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{Builder, Rotation};
use tracing_subscriber::EnvFilter;

pub const LOG_ENV: &str = "SMARTIMAGE_LOG";
/// Where the log files go, inside the data dir.
pub const LOG_DIR: &str = "logs";
/// Files are `console.YYYY-MM-DD.log`.
pub const LOG_PREFIX: &str = "console";
pub const LOG_SUFFIX: &str = "log";
/// Days of logs kept.
pub const KEEP_FILES: usize = 7;
const DEFAULT_LEVEL: &str = "info";

/// Keeps the log writer running; dropping it flushes what is buffered.
pub struct LogGuard {
    _writer: WorkerGuard,
}

/// The log directory of the library in `data_dir`.
pub fn log_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(LOG_DIR)
}

/// Send this process's tracing events to the log file. `None` if the file cannot be made or
/// logging was set up already; the console runs without a log then.
pub fn start(data_dir: &Path) -> Option<LogGuard> {
    // The appender prunes old files before it makes its directory, and says so on stderr
    // (over the console, or after it quits) when the directory is not there yet.
    std::fs::create_dir_all(log_dir(data_dir)).ok()?;
    let appender = Builder::new()
        .rotation(Rotation::DAILY)
        .filename_prefix(LOG_PREFIX)
        .filename_suffix(LOG_SUFFIX)
        .max_log_files(KEEP_FILES)
        .build(log_dir(data_dir))
        .ok()?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let (filter, bad_filter) = match std::env::var(LOG_ENV) {
        Ok(spec) if !spec.trim().is_empty() => match EnvFilter::try_new(&spec) {
            Ok(filter) => (filter, None),
            Err(e) => (EnvFilter::new(DEFAULT_LEVEL), Some((spec, e.to_string()))),
        },
        _ => (EnvFilter::new(DEFAULT_LEVEL), None),
    };
    let subscriber = tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(filter)
        .finish();
    tracing::subscriber::set_global_default(subscriber).ok()?;
    if let Some((spec, why)) = bad_filter {
        tracing::warn!(%spec, %why, "{LOG_ENV} is not a valid filter; logging at {DEFAULT_LEVEL}");
    }
    Some(LogGuard { _writer: guard })
}
