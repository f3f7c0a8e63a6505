//! Fault injection: the failures a real Dropbox produces now and then, on a
//! deterministic every-Nth-call schedule so tests can assert on them. Set from the config or at
//! run time with `POST /__emulator/faults` (which replaces the plan and restarts the counts).
//! What was actually served is tallied in [`FaultsServed`], which a new plan does not reset: a
//! test asserts that its fault fired, not only that nothing went wrong.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::dropbox::wire::{RATE_LIMIT_DEFAULT_RETRY_AFTER_SECS, RateLimitReason};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultConfig {
    /// Added before every `/2/…` and `/oauth2/token` response.
    #[serde(default)]
    pub latency_ms: u64,
    /// Every Nth call to an authenticated `/2/…` route answers 429.
    #[serde(default)]
    pub rate_limit_every: Option<u64>,
    #[serde(default = "default_retry_after")]
    pub rate_limit_retry_after_secs: u64,
    /// 429 body as plain text instead of the JSON `RateLimitError` (both occur).
    #[serde(default)]
    pub rate_limit_plain_text: bool,
    /// `too_many_requests` unless set to write contention.
    #[serde(default)]
    pub rate_limit_write_operations: bool,
    /// Every Nth call to an authenticated `/2/…` route answers with `server_error_status`.
    #[serde(default)]
    pub server_error_every: Option<u64>,
    #[serde(default = "default_server_error_status")]
    pub server_error_status: u16,
    /// Every Nth write call (upload, create_folder_v2, delete_v2, delete_batch) fails with
    /// the route's 409 `too_many_write_operations` (namespace lock contention); for a
    /// batch, every entry fails that way and nothing is deleted.
    #[serde(default)]
    pub write_contention_every: Option<u64>,
    /// Every Nth download sends half its body, then breaks the connection.
    #[serde(default)]
    pub drop_download_every: Option<u64>,
    /// Every Nth download ends cleanly after half its body (no `Content-Length`), so only a
    /// size check against `Dropbox-API-Result` notices.
    #[serde(default)]
    pub truncate_download_every: Option<u64>,
    /// Every Nth download announces a wrong `content_hash` in `Dropbox-API-Result`.
    #[serde(default)]
    pub wrong_content_hash_every: Option<u64>,
    /// During every Nth download the file gets a new revision (as if its owner saved it
    /// again): the download still serves the revision it started with, but a later
    /// `delete_v2` with that `parent_rev` is refused and the cursor reports the new rev.
    #[serde(default)]
    pub change_during_download_every: Option<u64>,
    /// Send 429s without the `Retry-After` header (with `rate_limit_plain_text`, a 429 that says
    /// nothing about how long to wait: the client must back off on its own).
    #[serde(default)]
    pub rate_limit_without_retry_after: bool,
}

fn default_retry_after() -> u64 {
    RATE_LIMIT_DEFAULT_RETRY_AFTER_SECS
}

const INTERNAL_SERVER_ERROR: u16 = 500;

fn default_server_error_status() -> u16 {
    INTERNAL_SERVER_ERROR
}

impl FaultConfig {
    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.latency_ms)
    }

    pub fn rate_limit_reason(&self) -> RateLimitReason {
        if self.rate_limit_write_operations {
            RateLimitReason::TooManyWriteOperations
        } else {
            RateLimitReason::TooManyRequests
        }
    }
}

/// What an API call suffers before its route runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallFault {
    None,
    RateLimited,
    ServerError,
}

/// How one download's body and result header are spoiled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DownloadFault {
    pub drop_connection: bool,
    pub truncate: bool,
    pub wrong_content_hash: bool,
    pub change_during_download: bool,
}

/// How many of each fault the emulator has served since it started (over every plan).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultsServed {
    pub rate_limits: u64,
    pub server_errors: u64,
    pub write_contentions: u64,
    pub dropped_downloads: u64,
    pub truncated_downloads: u64,
    pub wrong_content_hashes: u64,
    pub changes_during_download: u64,
}

/// The active plan plus call counters; the counters restart when the plan changes, the tally of
/// served faults does not.
#[derive(Debug, Default)]
pub struct FaultState {
    config: FaultConfig,
    api_calls: u64,
    writes: u64,
    downloads: u64,
    served: FaultsServed,
}

fn is_nth(count: u64, every: Option<u64>) -> bool {
    matches!(every, Some(n) if n > 0 && count.is_multiple_of(n))
}

impl FaultState {
    pub fn new(config: FaultConfig) -> Self {
        Self {
            config,
            api_calls: 0,
            writes: 0,
            downloads: 0,
            served: FaultsServed::default(),
        }
    }

    pub fn config(&self) -> &FaultConfig {
        &self.config
    }

    /// A new plan; its every-Nth counts start again.
    pub fn replace(&mut self, config: FaultConfig) {
        let served = self.served;
        *self = Self::new(config);
        self.served = served;
    }

    pub fn served(&self) -> FaultsServed {
        self.served
    }

    /// Counts one authenticated API call and says whether it fails before reaching its route.
    /// Rate limiting wins when both schedules hit the same call.
    pub fn next_call(&mut self) -> CallFault {
        self.api_calls += 1;
        if is_nth(self.api_calls, self.config.rate_limit_every) {
            self.served.rate_limits += 1;
            CallFault::RateLimited
        } else if is_nth(self.api_calls, self.config.server_error_every) {
            self.served.server_errors += 1;
            CallFault::ServerError
        } else {
            CallFault::None
        }
    }

    /// Counts one write call and says whether it meets lock contention.
    pub fn next_write_contended(&mut self) -> bool {
        self.writes += 1;
        let contended = is_nth(self.writes, self.config.write_contention_every);
        self.served.write_contentions += u64::from(contended);
        contended
    }

    pub fn next_download(&mut self) -> DownloadFault {
        self.downloads += 1;
        let fault = DownloadFault {
            drop_connection: is_nth(self.downloads, self.config.drop_download_every),
            truncate: is_nth(self.downloads, self.config.truncate_download_every),
            wrong_content_hash: is_nth(self.downloads, self.config.wrong_content_hash_every),
            change_during_download: is_nth(
                self.downloads,
                self.config.change_during_download_every,
            ),
        };
        let served = &mut self.served;
        served.dropped_downloads += u64::from(fault.drop_connection);
        served.truncated_downloads += u64::from(fault.truncate);
        served.wrong_content_hashes += u64::from(fault.wrong_content_hash);
        served.changes_during_download += u64::from(fault.change_during_download);
        fault
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_nth_call_is_rate_limited_and_counts_restart_on_a_new_plan() {
        let mut faults = FaultState::new(FaultConfig {
            rate_limit_every: Some(3),
            ..FaultConfig::default()
        });
        let seen: Vec<CallFault> = (0..6).map(|_| faults.next_call()).collect();
        assert_eq!(seen[2], CallFault::RateLimited);
        assert_eq!(seen[5], CallFault::RateLimited);
        assert_eq!(seen.iter().filter(|f| **f == CallFault::None).count(), 4);
        faults.replace(FaultConfig::default());
        assert!((0..10).all(|_| faults.next_call() == CallFault::None));
        assert_eq!(
            faults.served().rate_limits,
            2,
            "the tally outlives the plan"
        );
    }

    #[test]
    fn zero_means_never() {
        let mut faults = FaultState::new(FaultConfig {
            server_error_every: Some(0),
            ..FaultConfig::default()
        });
        assert!((0..5).all(|_| faults.next_call() == CallFault::None));
    }
}
