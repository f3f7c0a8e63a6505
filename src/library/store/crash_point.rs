//! A test hook for the crash suite (`tests/reliability_crash.rs`): with
//! `SMARTIMAGE_TEST_KILL_IN_TRANSACTION=N` set, the process sends itself SIGKILL inside its Nth
//! durable store transaction, after the transaction's statements ran and before its commit — a
//! power cut of the store at its most delicate moment. Unset (always, outside that suite), it
//! costs one relaxed atomic load per transaction.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

pub const KILL_IN_TRANSACTION_ENV: &str = "SMARTIMAGE_TEST_KILL_IN_TRANSACTION";

static TARGET: OnceLock<Option<u64>> = OnceLock::new();
static SEEN: AtomicU64 = AtomicU64::new(0);

/// Called with the transaction's statements applied and its commit not yet written.
pub fn before_commit() {
    let target = TARGET.get_or_init(|| {
        std::env::var(KILL_IN_TRANSACTION_ENV)
            .ok()
            .and_then(|n| n.trim().parse().ok())
    });
    if let Some(n) = *target
        && SEEN.fetch_add(1, Ordering::Relaxed) + 1 == n
    {
        // SAFETY: kill(2) on our own pid has no memory-safety preconditions.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}
