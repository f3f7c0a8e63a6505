//! Fresh identifiers: revisions, file ids, cursors, job ids and tokens. Revisions and ids come
//! from a counter seeded by the clock (so a restarted emulator never reissues one); opaque
//! strings (tokens, cursors) additionally go through SHA-256 so they cannot be guessed.

use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

#[derive(Debug)]
pub struct IdSource {
    seed: u128,
    counter: u64,
}

/// Length of the hex part of an opaque string: 128 bits.
const OPAQUE_HEX_LEN: usize = 32;

impl IdSource {
    pub fn new() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos())
            .unwrap_or_default();
        const MICROS_PER_NANO: u128 = 1000;
        Self {
            seed: nanos ^ (u128::from(std::process::id()) << 64),
            counter: u64::try_from(nanos / MICROS_PER_NANO).unwrap_or(u64::MAX / 2),
        }
    }

    fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    /// Lower-case hex, 15 digits (Dropbox's are ≥ 9), strictly increasing.
    pub fn rev(&mut self) -> String {
        format!("{:015x}", self.next())
    }

    pub fn file_id(&mut self) -> String {
        format!("id:emu{:013x}", self.next())
    }

    pub fn opaque(&mut self, prefix: &str) -> String {
        let counter = self.next();
        let digest = Sha256::new()
            .chain_update(self.seed.to_le_bytes())
            .chain_update(counter.to_le_bytes())
            .finalize();
        let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
        format!("{prefix}{}", &hex[..OPAQUE_HEX_LEN])
    }
}

impl Default for IdSource {
    fn default() -> Self {
        Self::new()
    }
}
