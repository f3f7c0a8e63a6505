//! How long to wait before trying again: capped full-jitter exponential backoff
//! for server trouble, `Retry-After` (or a doubling fallback) for rate limits, and the gentle
//! poll schedule of `delete_batch/check`. All limits are configurable so tests run fast.

use std::time::Duration;

/// Every knob of the retry policy; the defaults follow the Python SDK and rclone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts (not retries) for 5xx, resets, timeouts and truncated bodies.
    pub transient_attempts: u32,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// Wait for a rate limit that names no time (text 429, `too_many_write_operations` 409).
    pub rate_limit_fallback: Duration,
    /// The fallback doubles on repeats up to this.
    pub rate_limit_fallback_cap: Duration,
    /// Rate-limit waits for one call before it gives up with `RateLimited`.
    pub rate_limit_waits: u32,
    /// `delete_batch/check` polling: first wait, doubled up to `batch_poll_cap`.
    pub batch_poll_first: Duration,
    pub batch_poll_cap: Duration,
    /// A batch job still in progress after this long is reported as a transient failure.
    pub batch_poll_give_up: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            transient_attempts: 5,
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(30),
            rate_limit_fallback: Duration::from_secs(5),
            rate_limit_fallback_cap: Duration::from_secs(60),
            rate_limit_waits: 10,
            batch_poll_first: Duration::from_millis(500),
            batch_poll_cap: Duration::from_secs(4),
            batch_poll_give_up: Duration::from_secs(10 * 60),
        }
    }
}

impl RetryPolicy {
    /// The upper bound of the wait after failed attempt `attempt` (1-based): base × 2^(attempt-1),
    /// capped.
    pub fn backoff_ceiling(&self, attempt: u32) -> Duration {
        doubled(self.backoff_base, attempt.saturating_sub(1)).min(self.backoff_cap)
    }

    /// Full jitter: a uniformly random wait in `0..=ceiling`, so many clients failing together
    /// do not retry together.
    pub fn transient_backoff(&self, attempt: u32) -> Duration {
        let ceiling = self.backoff_ceiling(attempt);
        ceiling.mul_f64(random_fraction())
    }

    /// The wait for the `repeat`-th (1-based) rate limit that named no `Retry-After`.
    pub fn rate_limit_fallback_wait(&self, repeat: u32) -> Duration {
        doubled(self.rate_limit_fallback, repeat.saturating_sub(1))
            .min(self.rate_limit_fallback_cap)
    }

    /// The wait before status poll `poll` (1-based) of a batch job: 0.5 → 1 → 2 → 4 s by default.
    pub fn batch_poll_wait(&self, poll: u32) -> Duration {
        doubled(self.batch_poll_first, poll.saturating_sub(1)).min(self.batch_poll_cap)
    }
}

fn doubled(base: Duration, times: u32) -> Duration {
    // Beyond 2^20 every cap has long been reached; avoids overflow.
    base.saturating_mul(1u32 << times.min(20))
}

/// A number in `[0, 1)`; falls back to the middle if the OS cannot give randomness.
fn random_fraction() -> f64 {
    const MANTISSA_BITS: u32 = 53;
    match getrandom::u64() {
        Ok(bits) => (bits >> (64 - MANTISSA_BITS)) as f64 / (1u64 << MANTISSA_BITS) as f64,
        Err(_) => 0.5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.backoff_ceiling(1), Duration::from_millis(500));
        assert_eq!(policy.backoff_ceiling(2), Duration::from_secs(1));
        assert_eq!(policy.backoff_ceiling(4), Duration::from_secs(4));
        assert_eq!(policy.backoff_ceiling(10), Duration::from_secs(30));
        assert_eq!(policy.backoff_ceiling(200), Duration::from_secs(30));
    }

    #[test]
    fn jittered_backoff_stays_under_its_ceiling() {
        let policy = RetryPolicy::default();
        for attempt in 1..8 {
            for _ in 0..50 {
                assert!(policy.transient_backoff(attempt) <= policy.backoff_ceiling(attempt));
            }
        }
    }

    #[test]
    fn batch_polls_slow_down_gently() {
        let policy = RetryPolicy::default();
        let waits: Vec<u128> = (1..=6)
            .map(|poll| policy.batch_poll_wait(poll).as_millis())
            .collect();
        assert_eq!(waits, vec![500, 1000, 2000, 4000, 4000, 4000]);
    }

    #[test]
    fn rate_limit_fallback_doubles_to_a_minute() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.rate_limit_fallback_wait(1), Duration::from_secs(5));
        assert_eq!(policy.rate_limit_fallback_wait(2), Duration::from_secs(10));
        assert_eq!(policy.rate_limit_fallback_wait(9), Duration::from_secs(60));
    }
}
