//! An engine waiting in standby (another holds the library) says so where every console and
//! `smartimage status` look: a status row in state `standby`, its heartbeat every second,
//! withdrawn when the wait ends.

use crate::import::pass::ENGINE_ROLE;
use crate::import::publish::{STATUS_EVERY, now_ms};
use crate::library::Library;
use crate::library::store::engine_status::{self, Published};

/// The standby row, published while this lives (call it inside the runtime).
pub struct StandbyRow {
    task: tokio::task::JoinHandle<()>,
}

impl StandbyRow {
    /// Publish `library`'s process as an engine of `mode` in standby. `None` when the library
    /// cannot register it (the wait goes on unpublished).
    pub fn publish(mut library: Library, mode: &str) -> Option<StandbyRow> {
        let process = library.holder(ENGINE_ROLE).ok()?;
        let status = Published {
            mode: mode.to_owned(),
            state: "standby".into(),
            ..Published::default()
        };
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(STATUS_EVERY);
            loop {
                tick.tick().await;
                let written = library.store_mut().transaction_relaxed(|tx| {
                    engine_status::publish(tx, process, &status, now_ms())
                });
                if let Err(error) = written {
                    tracing::debug!(%error, "could not publish the standby row");
                }
            }
        });
        Some(StandbyRow { task })
    }
}

impl Drop for StandbyRow {
    /// The task's library goes with it, and with the library its process row and status row.
    fn drop(&mut self) {
        self.task.abort();
    }
}
