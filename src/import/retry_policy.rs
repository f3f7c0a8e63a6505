//! When a file whose download failed is tried again, and when a failure is *persistent* enough
//! to tell the customer. Only a verdict (plan rule, format) or a persistent Dropbox failure
//! reaches the customer's report; a fault of our own server (disk full, permissions) never does.

use std::time::Duration;

/// Tries a transient Dropbox failure gets before it is persistent (`[import] transient_attempts`).
pub const DEFAULT_TRANSIENT_ATTEMPTS: u32 = 6;
/// A transient Dropbox failure is persistent only once its tries span at least this long.
pub const TRANSIENT_MIN_SPREAD: Duration = Duration::from_secs(30 * 60);
/// A server fault (our disk, our permissions) is tried again at least this often, however long
/// it lasts, so files move as soon as an admin has fixed it.
pub const SERVER_FAULT_RETRY_MAX: Duration = Duration::from_secs(10 * 60);

/// How failed tries are spaced. Unix seconds throughout (the journal's unit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries before a transient failure is persistent (at least 1).
    pub transient_attempts: u32,
    /// …spread over at least this long (tests shorten it; never by sleeping half an hour).
    pub min_spread: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            transient_attempts: DEFAULT_TRANSIENT_ATTEMPTS,
            min_spread: TRANSIENT_MIN_SPREAD,
        }
    }
}

/// What to do with a file after a try that ended in a transient Dropbox failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransientVerdict {
    /// Not before this time (unix seconds).
    RetryAt(i64),
    /// Still failing after enough tries over enough time: the customer is told.
    Persistent,
}

impl RetryPolicy {
    /// The first pause; each later one doubles. Chosen so the pauses between the
    /// `transient_attempts` tries add up to `min_spread`: the last try comes no earlier.
    fn base_gap(&self) -> Duration {
        let gaps = self.transient_attempts.saturating_sub(1).min(20);
        match gaps {
            0 => self.min_spread,
            n => self.min_spread / ((1u32 << n) - 1),
        }
    }

    /// The pause after the `tries`-th failed try (1-based), whole seconds, at least one.
    fn gap(&self, tries: u32) -> i64 {
        let doubled = self
            .base_gap()
            .saturating_mul(1u32 << tries.saturating_sub(1).min(20));
        whole_seconds(doubled).max(1)
    }

    /// After a try ended in a transient failure: `tries` failed tries so far (this one
    /// included), the first of them at `first_at`.
    pub fn after_transient(&self, tries: u32, first_at: i64, now: i64) -> TransientVerdict {
        let spread_until = first_at + whole_seconds(self.min_spread);
        if tries >= self.transient_attempts.max(1) {
            if now >= spread_until {
                return TransientVerdict::Persistent;
            }
            return TransientVerdict::RetryAt(spread_until);
        }
        TransientVerdict::RetryAt(now + self.gap(tries))
    }

    /// After a try ended in a server fault (`faults` so far, this one included): when to try
    /// again. Never persistent: the customer is not told about our faults.
    pub fn after_server_fault(&self, faults: u32, now: i64) -> i64 {
        let cap = whole_seconds(self.min_spread.min(SERVER_FAULT_RETRY_MAX));
        now + self.gap(faults).min(cap).max(1)
    }
}

/// Rounded up: a wait is never cut short.
fn whole_seconds(d: Duration) -> i64 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    i64::try_from(secs).unwrap_or(i64::MAX / 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_tries_span_at_least_thirty_minutes_before_a_failure_is_persistent() {
        let policy = RetryPolicy::default();
        let first = 1_000_000;
        let mut now = first;
        for tries in 1..DEFAULT_TRANSIENT_ATTEMPTS {
            match policy.after_transient(tries, first, now) {
                TransientVerdict::RetryAt(at) => {
                    assert!(at > now);
                    now = at;
                }
                TransientVerdict::Persistent => panic!("persistent after {tries} tries"),
            }
        }
        assert!(
            now - first >= 30 * 60,
            "the last try is {} s in",
            now - first
        );
        assert_eq!(
            policy.after_transient(DEFAULT_TRANSIENT_ATTEMPTS, first, now),
            TransientVerdict::Persistent
        );
    }

    #[test]
    fn enough_tries_in_too_short_a_time_wait_for_the_spread() {
        let policy = RetryPolicy::default();
        let first = 5_000;
        assert_eq!(
            policy.after_transient(DEFAULT_TRANSIENT_ATTEMPTS, first, first + 60),
            TransientVerdict::RetryAt(first + 30 * 60)
        );
    }

    #[test]
    fn one_attempt_and_no_spread_gives_up_at_the_first_failed_try() {
        let policy = RetryPolicy {
            transient_attempts: 1,
            min_spread: Duration::ZERO,
        };
        assert_eq!(
            policy.after_transient(1, 7, 7),
            TransientVerdict::Persistent
        );
    }

    #[test]
    fn server_faults_back_off_but_come_back_at_least_every_ten_minutes() {
        let policy = RetryPolicy::default();
        assert!(policy.after_server_fault(1, 0) >= 30);
        assert_eq!(policy.after_server_fault(40, 0), 600);
        let quick = RetryPolicy {
            min_spread: Duration::from_secs(2),
            ..RetryPolicy::default()
        };
        assert!(quick.after_server_fault(9, 0) <= 2);
    }
}
