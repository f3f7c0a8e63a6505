//! The emulator's own record of the calls it answered: when each arrived and was answered, its
//! status, the fault injected into it and the `Retry-After` it was sent. Tests compare a client's
//! behaviour against this log (did it wait out the 429 before calling again?) instead of timing
//! the client from outside, which a slow machine gets wrong.

use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use super::faults::CallFault;

/// The oldest entries are dropped past this many (a long-running emulator stays bounded).
pub const CALL_LOG_CAPACITY: usize = 200_000;

/// One call the emulator answered (the test controls under `/__emulator/` are not logged).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServedCall {
    /// When the request reached the emulator, before any injected latency.
    pub arrived: Instant,
    /// When its response (status and headers) was ready; a body may stream on after it.
    pub answered: Instant,
    /// The URL path, e.g. `/2/files/download`.
    pub path: String,
    /// Identifies the call: equal for a request and its retries (the path with its
    /// `Dropbox-API-Arg` or its body, hashed; never the body itself, which may carry a token).
    pub call: String,
    pub status: u16,
    /// What the fault schedule did to it before its route ran.
    pub fault: CallFault,
    /// The `Retry-After` header it was sent, in seconds.
    pub retry_after: Option<u64>,
}

#[derive(Debug, Default)]
pub struct CallLog {
    calls: VecDeque<ServedCall>,
    /// Calls that have arrived and are not answered yet, by arrival number.
    in_flight: BTreeMap<u64, String>,
    arrivals: u64,
}

impl CallLog {
    /// A call arrived at `path`; returns its number for [`CallLog::record`].
    pub fn arrive(&mut self, path: &str) -> u64 {
        self.arrivals += 1;
        self.in_flight.insert(self.arrivals, path.to_owned());
        self.arrivals
    }

    /// Call `number` was answered.
    pub fn record(&mut self, number: u64, call: ServedCall) {
        self.in_flight.remove(&number);
        if self.calls.len() == CALL_LOG_CAPACITY {
            self.calls.pop_front();
        }
        self.calls.push_back(call);
    }

    /// The paths of the calls that have arrived and are not answered yet (a longpoll waiting).
    pub fn in_flight(&self) -> Vec<String> {
        self.in_flight.values().cloned().collect()
    }

    /// Every logged call, in the order their answers were ready.
    pub fn calls(&self) -> Vec<ServedCall> {
        self.calls.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_keeps_the_newest_calls_in_order() {
        let now = Instant::now();
        let mut log = CallLog::default();
        let _waiting = log.arrive("/2/files/list_folder/longpoll");
        for i in 0..CALL_LOG_CAPACITY + 2 {
            let number = log.arrive("/2/x");
            log.record(
                number,
                ServedCall {
                    arrived: now,
                    answered: now,
                    path: format!("/2/{i}"),
                    call: String::new(),
                    status: 200,
                    fault: CallFault::None,
                    retry_after: None,
                },
            );
        }
        assert_eq!(log.in_flight(), vec!["/2/files/list_folder/longpoll"]);
        let calls = log.calls();
        assert_eq!(calls.len(), CALL_LOG_CAPACITY);
        assert_eq!(calls[0].path, "/2/2");
        assert_eq!(
            calls.last().unwrap().path,
            format!("/2/{}", CALL_LOG_CAPACITY + 1)
        );
    }
}
