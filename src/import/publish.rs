//! The engine publishes what it does in the store, where any console or `smartimage status`
//! in any process reads it (ARCHITECTURE.md, "Engines and consoles"): a status row rewritten
//! every second (links held, files in flight with their bytes, the download rate) and the
//! events no state change logs by itself (progress once a second, rate limits, link problems,
//! passes). The engine's own front end gets its events straight from `EventSink`, not from
//! here.

use crate::library::ids::{ItemId, LinkId};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedReceiver;

use crate::import::events::EngineEvent;
use crate::import::feed::{self, ProgressDetail};
use crate::library::store::Store;
use crate::library::store::engine_events;
use crate::library::store::engine_status::{self, InFlight, Published};
use crate::library::store::links::{self, LinkState};
use crate::library::store::processes::ProcessId;

/// Appended events wait at most this long to be written (one transaction for all of them).
const FLUSH_EVERY: Duration = Duration::from_millis(200);
/// The status row (and progress) is rewritten this often: the heartbeat consoles watch.
pub const STATUS_EVERY: Duration = Duration::from_secs(1);
/// The rate is the bytes of this last stretch.
const RATE_WINDOW: Duration = Duration::from_secs(5);

/// Where and as what the engine publishes.
pub struct Publisher {
    pub database: PathBuf,
    pub process: ProcessId,
    pub mode: String,
    pub stopping: Arc<AtomicBool>,
}

/// What the publisher keeps between writes.
#[derive(Default)]
struct Tracked {
    sizes: HashMap<ItemId, u64>,
    in_flight: BTreeMap<ItemId, InFlight>,
    /// Bytes of each file in flight when progress was last logged.
    logged: HashMap<ItemId, u64>,
    /// Bytes downloaded, as (when, running total) samples.
    samples: VecDeque<(Instant, u64)>,
    downloaded: u64,
    appended: Vec<(&'static str, Option<LinkId>, Option<ItemId>, String)>,
}

impl Tracked {
    fn note(&mut self, event: &EngineEvent) {
        match event {
            EngineEvent::Discovered(item) => {
                self.sizes.insert(item.item, item.size);
            }
            EngineEvent::Admitted { item } => {
                let total = self.sizes.get(item).copied().unwrap_or(0);
                self.in_flight.insert(
                    *item,
                    InFlight {
                        item: *item,
                        bytes: 0,
                        total,
                    },
                );
            }
            EngineEvent::Progress { item, bytes, total } => {
                let entry = self.in_flight.entry(*item).or_insert(InFlight {
                    item: *item,
                    bytes: 0,
                    total: *total,
                });
                self.downloaded += bytes.saturating_sub(entry.bytes);
                entry.bytes = *bytes;
                entry.total = *total;
            }
            EngineEvent::Imported { item, .. }
            | EngineEvent::Failed { item, .. }
            | EngineEvent::Retrying { item, .. }
            | EngineEvent::OurReportLeft { item } => self.done(item.item),
            EngineEvent::KeptChanged { item } | EngineEvent::Deleted { item } => self.done(*item),
            _ => {}
        }
        if let Some(row) = feed::appended(event) {
            self.appended.push(row);
        }
    }

    fn done(&mut self, item: ItemId) {
        self.in_flight.remove(&item);
        self.logged.remove(&item);
        self.sizes.remove(&item);
    }

    fn rate(&mut self, now: Instant) -> u64 {
        self.samples.push_back((now, self.downloaded));
        while self
            .samples
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) > RATE_WINDOW)
        {
            self.samples.pop_front();
        }
        match (self.samples.front(), self.samples.back()) {
            (Some((t0, b0)), Some((t1, b1))) if t1 > t0 => {
                ((b1 - b0) as f64 / t1.duration_since(*t0).as_secs_f64()) as u64
            }
            _ => 0,
        }
    }

    /// Progress rows for files whose bytes moved since they were last logged.
    fn progress_rows(&mut self) -> Vec<(&'static str, Option<LinkId>, Option<ItemId>, String)> {
        let mut rows = Vec::new();
        for flight in self.in_flight.values() {
            if self.logged.get(&flight.item) == Some(&flight.bytes) {
                continue;
            }
            self.logged.insert(flight.item, flight.bytes);
            let detail = ProgressDetail {
                bytes: flight.bytes,
                total: flight.total,
            };
            rows.push((
                feed::PROGRESS,
                None,
                Some(flight.item),
                serde_json::to_string(&detail).unwrap_or_default(),
            ));
        }
        rows
    }
}

impl Publisher {
    /// Publish until the engine's last sender is gone.
    pub async fn run(self, mut events: UnboundedReceiver<EngineEvent>) {
        let store = match Store::open_existing(&self.database) {
            Ok(store) => store,
            Err(error) => {
                tracing::warn!(%error, "cannot publish the engine's state; consoles elsewhere will not see it");
                while events.recv().await.is_some() {}
                return;
            }
        };
        let mut store = Some(store);
        let mut tracked = Tracked::default();
        let mut flush = tokio::time::interval(FLUSH_EVERY);
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_status: Option<Instant> = None;
        loop {
            tokio::select! {
                // Events first: a flush then writes what the engine already said, and never
                // progress for a file whose end is still waiting in the channel.
                biased;
                event = events.recv() => match event {
                    Some(event) => tracked.note(&event),
                    None => break,
                },
                _ = flush.tick() => {
                    let now = Instant::now();
                    let status_due = last_status.is_none_or(|at| now.duration_since(at) >= STATUS_EVERY);
                    let mut rows = std::mem::take(&mut tracked.appended);
                    let status = if status_due {
                        last_status = Some(now);
                        rows.extend(tracked.progress_rows());
                        let rate = tracked.rate(now);
                        Some(self.published(&tracked, rate))
                    } else {
                        None
                    };
                    if rows.is_empty() && status.is_none() {
                        continue;
                    }
                    let Some(mut taken) = store.take() else { break };
                    let process = self.process;
                    store = tokio::task::spawn_blocking(move || {
                        write(&mut taken, process, status, &rows);
                        taken
                    })
                    .await
                    .ok();
                }
            }
        }
        if let Some(mut store) = store {
            let rows = std::mem::take(&mut tracked.appended);
            write(&mut store, self.process, None, &rows);
        }
    }

    fn published(&self, tracked: &Tracked, rate_bps: u64) -> Published {
        Published {
            mode: self.mode.clone(),
            state: if self.stopping.load(Ordering::SeqCst) {
                "stopping".into()
            } else {
                "running".into()
            },
            // Filled in by `write`, from the store.
            links: Vec::new(),
            in_flight: tracked.in_flight.values().cloned().collect(),
            rate_bps,
        }
    }
}

/// The events the publisher needs: what it tracks in flight, and what it appends to the log.
pub fn wants(event: &EngineEvent) -> bool {
    matches!(
        event,
        EngineEvent::Discovered(_)
            | EngineEvent::Admitted { .. }
            | EngineEvent::Progress { .. }
            | EngineEvent::Imported { .. }
            | EngineEvent::Failed { .. }
            | EngineEvent::Retrying { .. }
            | EngineEvent::Deleted { .. }
    ) || feed::appended(event).is_some()
}

/// One relaxed transaction: the appended events, and the status row with the links held.
fn write(
    store: &mut Store,
    process: ProcessId,
    status: Option<Published>,
    rows: &[(&'static str, Option<LinkId>, Option<ItemId>, String)],
) {
    let at_ms = now_ms();
    let outcome = store.transaction_relaxed(|tx| -> rusqlite::Result<()> {
        for (kind, link, item, detail) in rows {
            engine_events::append(tx, at_ms, kind, *link, *item, Some(detail))?;
        }
        if let Some(mut status) = status {
            status.links = links::live_links(tx)?
                .into_iter()
                .filter(|l| l.state == LinkState::Active)
                .map(|l| l.id)
                .collect();
            engine_status::publish(tx, process, &status, at_ms)?;
        }
        Ok(())
    });
    if let Err(error) = outcome {
        // The process row is gone once the engine stopped: nothing is left to publish.
        tracing::debug!(%error, "could not publish the engine's state");
    }
}

pub fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}
