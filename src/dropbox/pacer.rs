//! One rate gate per Dropbox account, rclone style: every call on the
//! account waits its turn, state-changing calls keep a minimum gap, and when any call is told to
//! slow down (429, `too_many_*`) the whole account holds until Dropbox's `Retry-After` has passed.
//!
//! Reads (listing, metadata, downloads) keep their own, much smaller gap (none by default):
//! Dropbox's guidance is that reads parallelise fine and only writes contend, and the
//! caller already bounds how many run at once (the download workers). Spacing every read 10 ms
//! apart capped an account at 100 calls a second and queued downloads behind one another.
//!
//! Share it with `Arc` between every client and link of the same Dropbox account.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// rclone's `--dropbox-pacer-min-sleep` default; applies to writes.
pub const DEFAULT_MIN_GAP: Duration = Duration::from_millis(10);
/// Between reads: none. Their concurrency is bounded by the caller, and a rate limit still holds
/// them like every other call.
pub const DEFAULT_READ_GAP: Duration = Duration::ZERO;

#[derive(Debug)]
pub struct Pacer {
    min_gap: Duration,
    read_gap: Duration,
    state: Mutex<PacerState>,
    /// One state-changing call (or delete batch) in flight per account.
    write_gate: tokio::sync::Mutex<()>,
}

#[derive(Debug)]
struct PacerState {
    /// The earliest moment the next spaced call (a write) may start.
    next_slot: Instant,
    /// The earliest moment the next read may start.
    next_read_slot: Instant,
    /// Set by a rate-limit answer; no call starts before it.
    held_until: Option<Instant>,
}

impl Default for Pacer {
    fn default() -> Self {
        Self::new(DEFAULT_MIN_GAP)
    }
}

impl Pacer {
    /// Writes (and [`Pacer::wait_turn`]) at least `min_gap` apart; reads at
    /// [`DEFAULT_READ_GAP`], or `min_gap` if that is smaller.
    pub fn new(min_gap: Duration) -> Self {
        Self::with_read_gap(min_gap, DEFAULT_READ_GAP.min(min_gap))
    }

    /// Writes at least `min_gap` apart, reads at least `read_gap` apart.
    pub fn with_read_gap(min_gap: Duration, read_gap: Duration) -> Self {
        let now = Instant::now();
        Pacer {
            min_gap,
            read_gap,
            state: Mutex::new(PacerState {
                next_slot: now,
                next_read_slot: now,
                held_until: None,
            }),
            write_gate: tokio::sync::Mutex::new(()),
        }
    }

    pub fn min_gap(&self) -> Duration {
        self.min_gap
    }

    pub fn read_gap(&self) -> Duration {
        self.read_gap
    }

    /// Wait until this call (a write, or any call that must be spaced) may start. Turns are
    /// handed out first come, first served, at least `min_gap` apart; a hold set while waiting
    /// is honoured before the call starts.
    pub async fn wait_turn(&self) {
        self.wait_slot(false).await;
    }

    /// Wait until this read may start: like [`Pacer::wait_turn`], but reads are spaced only
    /// by `read_gap` among themselves (not at all by default). Rate-limit holds apply the same.
    pub async fn wait_read_turn(&self) {
        self.wait_slot(true).await;
    }

    async fn wait_slot(&self, read: bool) {
        loop {
            let slot = {
                let mut state = self.lock();
                let now = Instant::now();
                let held = state.held_until;
                let (next, gap) = if read {
                    (&mut state.next_read_slot, self.read_gap)
                } else {
                    (&mut state.next_slot, self.min_gap)
                };
                let mut slot = (*next).max(now);
                if let Some(held) = held {
                    slot = slot.max(held);
                }
                *next = slot + gap;
                slot
            };
            // A sleep, even until a moment already past, rounds up to the timer's next tick.
            if slot > Instant::now() {
                tokio::time::sleep_until(slot).await;
            }
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
    /// are spaced, so they go one at a time; reads do not need this.
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
    /// A gap no test run lasts: a call that waited for it would hit [`PATIENCE`] first.
    const HOUR: Duration = Duration::from_secs(3600);
    /// How long a call that must not wait for a gap is given, however slow the machine.
    const PATIENCE: Duration = Duration::from_secs(60);

    /// `call` finishes without waiting for an hour-long gap (it is given a minute).
    async fn without_the_gap<T>(what: &str, call: impl std::future::Future<Output = T>) -> T {
        tokio::time::timeout(PATIENCE, call)
            .await
            .unwrap_or_else(|_| panic!("{what} waited for the gap"))
    }

    #[tokio::test]
    async fn first_call_starts_at_once() {
        let pacer = Pacer::new(HOUR);
        without_the_gap("the first call", pacer.wait_turn()).await;
    }

    #[tokio::test]
    async fn calls_keep_the_minimum_gap_in_arrival_order() {
        let pacer = Arc::new(Pacer::new(GAP));
        let first = pacer.lock().next_slot;
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let asked = pacer.lock().next_slot;
            let pacer_of_task = pacer.clone();
            tasks.push(tokio::spawn(async move {
                pacer_of_task.wait_turn().await;
                Instant::now()
            }));
            // This task has taken its turn before the next one asks.
            while pacer.lock().next_slot == asked {
                tokio::task::yield_now().await;
            }
        }
        for (arrival, task) in tasks.into_iter().enumerate() {
            let started = task.await.unwrap();
            // The n-th arrival gets the n-th slot, n gaps after the first. (Lower bounds only: a
            // busy machine may start a call late, never early.)
            let slot = first + GAP * arrival as u32;
            assert!(
                started >= slot,
                "call {arrival} started {:?} before its slot",
                slot - started
            );
        }
    }

    /// The next call (a read or a write) ends no earlier than a hold set before it: compared
    /// with the hold's own end, not with a stopwatch a busy machine makes late.
    async fn a_hold_delays_the_next(read: bool) {
        let pacer = Pacer::new(Duration::from_millis(1));
        pacer.wait_turn().await;
        pacer.hold_for(Duration::from_millis(150));
        let until = pacer.rate_limited_until().expect("the hold is in force");
        if read {
            pacer.wait_read_turn().await;
        } else {
            pacer.wait_turn().await;
        }
        let started = Instant::now();
        assert!(started >= until, "started {:?} early", until - started);
        assert_eq!(
            pacer.rate_limited_until(),
            None,
            "the hold is over once it has passed"
        );
    }

    #[tokio::test]
    async fn a_hold_delays_every_later_call() {
        a_hold_delays_the_next(false).await;
    }

    /// A call already asleep until its slot when a hold comes in starts only after the hold.
    /// The hold must land while the call still sleeps: a machine too slow for that is given a
    /// longer gap and tried again, never judged on a hold that came too late.
    async fn a_hold_set_while_a_call_waits_is_honoured(read: bool) {
        let mut gap = Duration::from_millis(300);
        for _ in 0..6 {
            let pacer = Arc::new(Pacer::with_read_gap(gap, gap));
            let slot_of = |pacer: &Pacer| {
                let state = pacer.lock();
                if read {
                    state.next_read_slot
                } else {
                    state.next_slot
                }
            };
            let turn = |pacer: Arc<Pacer>| async move {
                if read {
                    pacer.wait_read_turn().await;
                } else {
                    pacer.wait_turn().await;
                }
                Instant::now()
            };
            turn(pacer.clone()).await;
            let slot = slot_of(&pacer);
            let waiter = tokio::spawn(turn(pacer.clone()));
            // Until the waiter has taken its slot (and so is asleep until it).
            while slot_of(&pacer) == slot {
                tokio::task::yield_now().await;
            }
            pacer.hold_until(slot + gap);
            if Instant::now() >= slot {
                // Too late to know the waiter was still asleep: again, with more room.
                let _ = waiter.await;
                gap *= 2;
                continue;
            }
            let started = waiter.await.unwrap();
            assert!(
                started >= slot + gap,
                "started {:?} before the hold ended",
                (slot + gap) - started
            );
            return;
        }
        panic!("the hold never landed while the call was asleep, even with a {gap:?} gap");
    }

    #[tokio::test]
    async fn a_hold_set_while_waiting_is_honoured() {
        a_hold_set_while_a_call_waits_is_honoured(false).await;
    }

    #[tokio::test]
    async fn an_earlier_hold_does_not_shorten_a_later_one() {
        let pacer = Pacer::new(GAP);
        let now = Instant::now();
        pacer.hold_until(now + Duration::from_secs(60));
        pacer.hold_until(now + Duration::from_secs(1));
        assert_eq!(pacer.lock().held_until, Some(now + Duration::from_secs(60)));
    }

    #[test]
    fn one_pacer_per_account() {
        let registry = PacerRegistry::default();
        let a = registry.for_account("dbid:a");
        assert!(Arc::ptr_eq(&a, &registry.for_account("dbid:a")));
        assert!(!Arc::ptr_eq(&a, &registry.for_account("dbid:b")));
    }

    #[tokio::test]
    async fn reads_are_not_spaced_by_the_write_gap() {
        let pacer = Pacer::new(HOUR);
        without_the_gap("twenty reads", async {
            for _ in 0..20 {
                pacer.wait_read_turn().await;
            }
        })
        .await;
        // Reads took no write turns: a write still starts at once.
        without_the_gap("the first write", pacer.wait_turn()).await;
    }

    #[tokio::test]
    async fn reads_keep_their_own_gap() {
        let pacer = Pacer::with_read_gap(HOUR, GAP);
        let start = Instant::now();
        without_the_gap("three reads", async {
            for _ in 0..3 {
                pacer.wait_read_turn().await;
            }
        })
        .await;
        let elapsed = start.elapsed();
        assert!(elapsed + Duration::from_millis(2) >= GAP * 2, "{elapsed:?}");
    }

    #[tokio::test]
    async fn a_hold_delays_reads_too() {
        a_hold_delays_the_next(true).await;
    }

    #[tokio::test]
    async fn a_hold_set_while_a_read_waits_is_honoured() {
        a_hold_set_while_a_call_waits_is_honoured(true).await;
    }

    #[tokio::test]
    async fn writes_take_turns() {
        let pacer = Pacer::default();
        let first = pacer.write_turn().await;
        let waiting = tokio::time::timeout(Duration::from_millis(50), pacer.write_turn()).await;
        assert!(waiting.is_err(), "a second write waits for the first");
        drop(first);
        let _second = without_the_gap(
            "the second write once the first is done",
            pacer.write_turn(),
        )
        .await;
    }
}
