//! The sender: claims due deliveries from the outbox, sends each, records how it went. Any
//! number of senders (a `serve`, an `import --watch`, consoles) may run on one library: a
//! claim is one UPDATE, so each delivery is sent by one of them; a claim whose process died is
//! given back. A failed try is retried with backoff (5 s, 30 s, 2 min, 10 min, 30 min, then
//! hourly); a permanent refusal is kept as `failed` with its error.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::{NotifySettings, SendError};
use crate::library::store::Store;
use crate::library::store::outbox::{self, Delivery};

/// How often a running sender looks for due deliveries.
pub const POLL: Duration = Duration::from_secs(2);
/// A claim older than this is given back even when its process cannot be seen (another host).
const STALE_CLAIM: Duration = Duration::from_secs(10 * 60);
/// Deliveries claimed at once.
const BATCH: u32 = 20;

/// When a delivery that failed `attempts` times is tried again.
pub fn backoff(attempts: u32) -> Duration {
    const STEPS: [u64; 6] = [5, 30, 120, 600, 1800, 3600];
    let i = (attempts.max(1) as usize - 1).min(STEPS.len() - 1);
    Duration::from_secs(STEPS[i])
}

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// How `notify test` went: every delivery of the test accepted, or the errors.
#[derive(Clone, Debug, Default)]
pub struct TestOutcome {
    pub accepted: Vec<String>,
    pub refused: Vec<(String, String)>,
}

#[derive(Clone)]
pub struct Sender {
    database: PathBuf,
    settings: NotifySettings,
    client: reqwest::Client,
    store: Arc<Mutex<Option<Store>>>,
    /// The last delivery error, for a front end to show (`None` once one went through).
    last_error: Arc<Mutex<Option<String>>>,
}

impl Sender {
    pub fn new(database: &Path, settings: NotifySettings) -> Sender {
        Sender {
            database: database.to_path_buf(),
            settings,
            client: reqwest::Client::new(),
            store: Arc::default(),
            last_error: Arc::default(),
        }
    }

    pub fn settings(&self) -> &NotifySettings {
        &self.settings
    }

    /// The last delivery error seen by this sender, if the latest try failed.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().ok().and_then(|e| e.clone())
    }

    /// Run `f` on this sender's own connection, off the async threads.
    async fn db<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> rusqlite::Result<R> + Send + 'static,
    ) -> Result<R, String> {
        let (store, database) = (self.store.clone(), self.database.clone());
        tokio::task::spawn_blocking(move || {
            let mut guard = store.lock().map_err(|_| "the outbox lock is poisoned")?;
            if guard.is_none() {
                *guard = Some(Store::open_existing(&database).map_err(|e| e.to_string())?);
            }
            let store = guard.as_ref().expect("opened above");
            f(store).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())?
    }

    /// Send until `stop` turns true.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        if !self.settings.enabled() {
            return;
        }
        loop {
            if let Err(error) = self.round().await {
                tracing::warn!(%error, "notifications: cannot read the outbox");
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                changed = stop.changed() => if changed.is_err() || *stop.borrow() { return },
            }
        }
    }

    /// Give back dead claims, then claim and send what is due. Returns how many were tried.
    pub async fn round(&self) -> Result<usize, String> {
        let now = now_ms();
        let stale = now - STALE_CLAIM.as_millis() as i64;
        let due = self
            .db(move |store| {
                outbox::release_dead_claims(store.connection(), stale)?;
                outbox::claim_due(store.connection(), now, BATCH)
            })
            .await?;
        let tried = due.len();
        for delivery in due {
            let _ = self.deliver(delivery, false).await?;
        }
        Ok(tried)
    }

    /// Send one claimed delivery and record the result. A `once` delivery (a test) is not
    /// retried.
    async fn deliver(&self, d: Delivery, once: bool) -> Result<Result<(), SendError>, String> {
        let result = self.send(&d).await;
        let id = d.id;
        let attempts = d.attempts + 1;
        let recorded = result.clone();
        self.db(move |store| {
            let c = store.connection();
            match &recorded {
                Ok(()) => outbox::mark_sent(c, id, now_ms()),
                Err(e) if e.permanent || once => outbox::mark_failed(c, id, &e.message),
                Err(e) => {
                    let next = now_ms() + backoff(attempts).as_millis() as i64;
                    outbox::mark_retry(c, id, &e.message, next)
                }
            }
        })
        .await?;
        match &result {
            Ok(()) => {
                if let Ok(mut last) = self.last_error.lock() {
                    *last = None;
                }
                tracing::info!(delivery = d.id, kind = %d.kind, channel = %d.channel, "notification sent");
            }
            Err(e) => {
                if let Ok(mut last) = self.last_error.lock() {
                    *last = Some(format!("{} notification: {}", d.channel, e.message));
                }
                tracing::warn!(delivery = d.id, kind = %d.kind, channel = %d.channel, error = %e.message, permanent = e.permanent, "notification not sent");
            }
        }
        Ok(result)
    }

    async fn send(&self, d: &Delivery) -> Result<(), SendError> {
        match d.channel.as_str() {
            "email" => {
                let Some(email) = &self.settings.email else {
                    return Err(SendError::transient("no [notify.email] is configured"));
                };
                let Some(to) = &d.recipient else {
                    return Err(SendError::permanent("an email without an address"));
                };
                email.send(to, &d.message_id, &d.subject, &d.body).await
            }
            "webhook" => {
                let Some(webhook) = &self.settings.webhook else {
                    return Err(SendError::transient("no [notify.webhook] is configured"));
                };
                webhook.send(&self.client, &d.body).await
            }
            other => Err(SendError::permanent(format!("unknown channel {other:?}"))),
        }
    }

    /// Send what is due, created at or after `since_ms`, until none is left or `timeout`
    /// passes (`import --once` before it exits). Returns how many are left.
    pub async fn drain(&self, since_ms: i64, timeout: Duration) -> Result<u64, String> {
        if !self.settings.enabled() {
            return Ok(0);
        }
        let started = Instant::now();
        loop {
            self.round().await?;
            let left = self
                .db(move |store| outbox::due_count(store.connection(), now_ms(), since_ms))
                .await?;
            if left == 0 || started.elapsed() >= timeout {
                return Ok(left);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Send these deliveries now, once (`notify test`).
    pub async fn send_now(&self, ids: Vec<i64>) -> Result<TestOutcome, String> {
        let now = now_ms();
        let claimed = self
            .db(move |store| outbox::claim_ids(store.connection(), &ids, now))
            .await?;
        let mut outcome = TestOutcome::default();
        for d in claimed {
            let to = d.recipient.clone().unwrap_or_else(|| "the webhook".into());
            match self.deliver(d, true).await? {
                Ok(()) => outcome.accepted.push(to),
                Err(e) => outcome.refused.push((to, e.message)),
            }
        }
        Ok(outcome)
    }
}
