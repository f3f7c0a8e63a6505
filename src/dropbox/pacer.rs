//! One rate gate per Dropbox account, rclone style (reference §5.3, §5.4): every call on the
//! account waits its turn, calls keep a minimum gap, and when any call is told to slow down
//! (429, `too_many_*`) the whole account holds until Dropbox's `Retry-After` has passed.
//!
//! Share it with `Arc` between every client and link of the same Dropbox account.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// rclone's `--dropbox-pacer-min-sleep` default.
pub const DEFAULT_MIN_GAP: Duration = Duration::from_millis(10);

#[derive(Debug)]
pub struct Pacer {
    min_gap: Duration,
    state: Mutex<PacerState>,
    /// One state-changing call (or delete batch) in flight per account (§10).
    write_gate: tokio::sync::Mutex<()>,
}

#[derive(Debug)]
struct PacerState {
    /// The earliest moment the next call may start.
    next_slot: Instant,
    /// Set by a rate-limit answer; no call starts before it.
    held_until: Option<Instant>,
}

impl Default for Pacer {
    fn default() -> Self {
        Self::new(DEFAULT_MIN_GAP)
    }
}

impl Pacer {
    pub fn new(min_gap: Duration) -> Self {
        Pacer {
            min_gap,
            state: Mutex::new(PacerState {
                next_slot: Instant::now(),
                held_until: None,
            }),
            write_gate: tokio::sync::Mutex::new(()),
        }
    }

    pub fn min_gap(&self) -> Duration {
        self.min_gap
    }

    /// Wait until this call may start. Turns are handed out first come, first served, at least
    /// `min_gap` apart; a hold set while waiting is honoured before the call starts.
    pub async fn wait_turn(&self) {
        loop {
            let slot = {
                let mut state = self.lock();
                let now = Instant::now();
                let mut slot = state.next_slot.max(now);
                if let Some(held) = state.held_until {
                    slot = slot.max(held);
                }
                state.next_slot = slot + self.min_gap;
                slot
            };
            tokio::time::sleep_until(slot).await;
            // A 429 seen by another call while this one slept holds this one too.
            let held = self.lock().held_until;
            match held {
                Some(until) if until > Instant::now() => continue,
                _ => return,
            }
        }
    }

    /// Wait until no other write runs on this account, and keep the turn while the guard lives.
    /// Writes contend for Dropbox's namespace lock (`too_many_write_operations`) however they
    /// are spaced, so they go one at a time; reads do not need this (§10).
    pub async fn write_turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.write_gate.lock().await
    }

    /// Hold every call on this account until `until` (a later hold wins over an earlier one).
    pub fn hold_until(&self, until: Instant) {
        let mut state = self.lock();
        if state.held_until.is_none_or(|held| held < until) {
            state.held_until = Some(until);
        }
    }

    pub fn hold_for(&self, wait: Duration) {
        self.hold_until(Instant::now() + wait);
    }

    /// When the account may be called again, while a rate-limit hold is in force (for the UI).
    pub fn rate_limited_until(&self) -> Option<Instant> {
        let held = self.lock().held_until?;
        (held > Instant::now()).then_some(held)
    }

    /// How long the current rate-limit hold still lasts, if any.
    pub fn rate_limit_remaining(&self) -> Option<Duration> {
        self.rate_limited_until()
            .map(|until| until.saturating_duration_since(Instant::now()))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PacerState> {
        // The state is two instants; a panic elsewhere cannot leave it inconsistent.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Hands out the one [`Pacer`] of each Dropbox account (keyed by `account_id`), so every link
/// and client on that account shares it.
#[derive(Debug)]
pub struct PacerRegistry {
    min_gap: Duration,
    pacers: Mutex<HashMap<String, Arc<Pacer>>>,
}

impl Default for PacerRegistry {
    fn default() -> Self {
        Self::new(DEFAULT_MIN_GAP)
    }
}

impl PacerRegistry {
    pub fn new(min_gap: Duration) -> Self {
        PacerRegistry {
            min_gap,
            pacers: Mutex::new(HashMap::new()),
        }
    }

    pub fn for_account(&self, account_id: &str) -> Arc<Pacer> {
        let mut pacers = self
            .pacers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        pacers
            .entry(account_id.to_owned())
            .or_insert_with(|| Arc::new(Pacer::new(self.min_gap)))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GAP: Duration = Duration::from_millis(30);

    #[tokio::test]
    async fn first_call_starts_at_once() {
        let pacer = Pacer::new(Duration::from_secs(5));
        let start = Instant::now();
        pacer.wait_turn().await;
        assert!(start.elapsed() < Duration::from_secs(1));
    }

    #[tokio::test]
    async fn calls_keep_the_minimum_gap_in_arrival_order() {
        let pacer = Arc::new(Pacer::new(GAP));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let pacer = pacer.clone();
            tasks.push(tokio::spawn(async move {
                pacer.wait_turn().await;
                start.elapsed()
            }));
            // Let this task take its turn before the next one asks.
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        for (arrival, task) in tasks.into_iter().enumerate() {
            let started_after = task.await.unwrap();
            // The n-th arrival gets the n-th slot, n gaps after the first. (Lower bounds only: a
            // busy machine may start a call late, never early.)
            let slot = GAP * arrival as u32;
            assert!(
                started_after + Duration::from_millis(2) >= slot,
                "call {arrival} started after {started_after:?}, before its slot at {slot:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_hold_delays_every_later_call() {
        let pacer = Pacer::new(Duration::from_millis(1));
        pacer.wait_turn().await;
        let hold = Duration::from_millis(150);
        pacer.hold_for(hold);
        assert!(pacer.rate_limited_until().is_some());
        let start = Instant::now();
        pacer.wait_turn().await;
        assert!(
            start.elapsed() >= hold - Duration::from_millis(5),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(
            pacer.rate_limited_until(),
            None,
            "the hold is over once it has passed"
        );
    }

    #[tokio::test]
    async fn a_hold_set_while_waiting_is_honoured() {
        let pacer = Arc::new(Pacer::new(Duration::from_millis(300)));
        pacer.wait_turn().await;
        let waiter = {
            let pacer = pacer.clone();
            tokio::spawn(async move {
                let start = Instant::now();
                pacer.wait_turn().await;
                start.elapsed()
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        pacer.hold_for(Duration::from_millis(600));
        let waited = waiter.await.unwrap();
        assert!(
            waited >= Duration::from_millis(590),
            "waited only {waited:?}"
        );
    }

    #[tokio::test]
    async fn an_earlier_hold_does_not_shorten_a_later_one() {
        let pacer = Pacer::new(GAP);
        pacer.hold_for(Duration::from_secs(60));
        pacer.hold_for(Duration::from_secs(1));
        let remaining = pacer.rate_limit_remaining().unwrap();
        assert!(remaining > Duration::from_secs(50), "{remaining:?}");
    }

    #[test]
    fn one_pacer_per_account() {
        let registry = PacerRegistry::default();
        let a = registry.for_account("dbid:a");
        assert!(Arc::ptr_eq(&a, &registry.for_account("dbid:a")));
        assert!(!Arc::ptr_eq(&a, &registry.for_account("dbid:b")));
    }

    #[tokio::test]
    async fn writes_take_turns() {
        let pacer = Pacer::default();
        let first = pacer.write_turn().await;
        let waiting = tokio::time::timeout(Duration::from_millis(50), pacer.write_turn()).await;
        assert!(waiting.is_err(), "a second write waits for the first");
        drop(first);
        let second = tokio::time::timeout(Duration::from_secs(5), pacer.write_turn()).await;
        assert!(second.is_ok());
    }
}
