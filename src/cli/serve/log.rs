//! `serve`'s log: stderr, one event a line, no colour, so journald (or any log collector)
//! takes it as it is. Timestamps are RFC 3339 UTC, left out under journald (`JOURNAL_STREAM`),
//! which stamps every line itself. The level comes from `SMARTIMAGE_LOG` (filter syntax,
//! `info` if unset). Engine events become lines in `import`'s wording.

use std::sync::{Arc, Mutex};

use smartimage::import::events::EngineEvent;
use smartimage::tui::logging::LOG_ENV;
use tokio::sync::mpsc::UnboundedReceiver;
use tracing_subscriber::EnvFilter;

use super::status::ServiceStatus;
use crate::cli::importing::EventLines;

const DEFAULT_LEVEL: &str = "info";
/// Set by systemd when stderr goes to the journal.
const JOURNAL_ENV: &str = "JOURNAL_STREAM";

pub fn init() {
    let (filter, bad_filter) = match std::env::var(LOG_ENV) {
        Ok(spec) if !spec.trim().is_empty() => match EnvFilter::try_new(&spec) {
            Ok(filter) => (filter, None),
            Err(e) => (EnvFilter::new(DEFAULT_LEVEL), Some((spec, e.to_string()))),
        },
        _ => (EnvFilter::new(DEFAULT_LEVEL), None),
    };
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false)
        .with_env_filter(filter);
    // Logging set up already (it is not, in this process) is no reason to stop.
    let _ = if std::env::var_os(JOURNAL_ENV).is_some() {
        builder.without_time().try_init()
    } else {
        builder.try_init()
    };
    if let Some((spec, why)) = bad_filter {
        tracing::warn!(
            "{LOG_ENV}={spec:?} is not a valid filter ({why}); logging at {DEFAULT_LEVEL}"
        );
    }
}

/// Log every engine event until the last sender is gone (across engine restarts), counting
/// imports into the status line.
pub async fn log_events(
    mut events: UnboundedReceiver<EngineEvent>,
    status: Arc<Mutex<ServiceStatus>>,
) {
    let mut lines = EventLines::default();
    while let Some(event) = events.recv().await {
        if matches!(event, EngineEvent::Imported { .. })
            && let Ok(mut status) = status.lock()
        {
            status.imported();
        }
        let Some(line) = lines.line(&event) else {
            continue;
        };
        match event {
            EngineEvent::Discovered(_) => tracing::debug!("{line}"),
            EngineEvent::Failed { .. }
            | EngineEvent::Retrying { .. }
            | EngineEvent::LinkError { .. }
            | EngineEvent::RateLimited { .. } => tracing::warn!("{line}"),
            _ => tracing::info!("{line}"),
        }
    }
}
