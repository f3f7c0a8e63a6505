//! A stable, seeded smoke run of the fuzz targets (`fuzz/bodies.rs`): for each target, the seed
//! corpus in `fuzz/seeds/<target>/` and then inputs mutated from it (bit flips, byte edits,
//! splices, interesting bytes) and plain random ones, for a bounded time. A failing input is
//! printed in hex and saved under `target/fuzz-smoke-failures/`, then the test fails.
//!
//! `cargo test --test reliability_fuzz` runs each target for about a second. Longer:
//! `SMARTIMAGE_FUZZ_SECS=300 SMARTIMAGE_FUZZ_SEED=42 cargo test --release --test reliability_fuzz -- --nocapture`;
//! coverage-guided, where a nightly toolchain exists: `cargo +nightly fuzz run <target>` in `fuzz/`.

#[path = "../fuzz/bodies.rs"]
mod bodies;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const DEFAULT_SECS: f64 = 1.0;
const DEFAULT_SEED: u64 = 0x5eed_f022;
const MAX_INPUT: usize = 4096;
const INTERESTING: &[u8] = &[
    0, 0x7F, 0x80, 0xFF, b'"', b'\\', b'{', b'}', b'[', b']', b':', b',', 0x1B, 0xE2, 0xF0, 0xED,
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut out: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    out.sort();
    out.push(Vec::new());
    out
}

fn mutate(rng: &mut Rng, corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut input = corpus[rng.below(corpus.len())].clone();
    if rng.below(10) == 0 {
        // Plain random bytes.
        let len = rng.below(256);
        return (0..len).map(|_| rng.next() as u8).collect();
    }
    for _ in 0..1 + rng.below(8) {
        let at = rng.below(input.len() + 1);
        match rng.below(7) {
            0 if !input.is_empty() => {
                let i = rng.below(input.len());
                input[i] ^= 1 << rng.below(8);
            }
            1 if !input.is_empty() => {
                let i = rng.below(input.len());
                input[i] = rng.next() as u8;
            }
            2 => input.insert(at, INTERESTING[rng.below(INTERESTING.len())]),
            3 if at < input.len() => {
                let end = (at + 1 + rng.below(16)).min(input.len());
                input.drain(at..end);
            }
            4 => {
                let other = &corpus[rng.below(corpus.len())];
                if !other.is_empty() {
                    let from = rng.below(other.len());
                    let to = (from + 1 + rng.below(64)).min(other.len());
                    input.splice(at..at, other[from..to].iter().copied());
                }
            }
            5 if at < input.len() => {
                let end = (at + 1 + rng.below(32)).min(input.len());
                let chunk = input[at..end].to_vec();
                input.splice(at..at, chunk);
            }
            _ => input.insert(at, rng.next() as u8),
        }
    }
    input.truncate(MAX_INPUT);
    input
}

fn failure_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-smoke-failures")
}

/// What one smoke run did.
#[derive(Debug)]
struct SmokeRun {
    /// Seed inputs run (the committed seeds, plus the empty input).
    seeds: usize,
    /// Mutated or random inputs run after the seeds.
    mutated: u64,
    /// The first input the body failed on (its number and bytes).
    failure: Option<(u64, Vec<u8>)>,
}

/// Mutated inputs every run makes, however slow the machine: a run is never only its seeds.
const MIN_MUTATED: u64 = 2_000;

/// Runs `body` on the seeds, then on mutations until the time is up and at least
/// [`MIN_MUTATED`] have run; stops at the first failing input.
fn run_smoke(target: &str, body: fn(&[u8])) -> SmokeRun {
    let secs: f64 = std::env::var("SMARTIMAGE_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SECS);
    let seed: u64 = std::env::var("SMARTIMAGE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED);
    let mut rng = Rng(seed
        ^ target
            .bytes()
            .fold(0u64, |h, b| h.rotate_left(5) ^ b as u64));
    let corpus = seeds(target);
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(secs);
    let mut run = SmokeRun {
        seeds: 0,
        mutated: 0,
        failure: None,
    };
    let mut next = corpus.iter().cloned();
    loop {
        let input = match next.next() {
            Some(seed_input) => {
                run.seeds += 1;
                seed_input
            }
            None if run.mutated >= MIN_MUTATED && Instant::now() >= deadline => break,
            None => {
                run.mutated += 1;
                mutate(&mut rng, &corpus)
            }
        };
        if catch_unwind(AssertUnwindSafe(|| body(&input))).is_err() {
            run.failure = Some((run.seeds as u64 + run.mutated, input));
            break;
        }
    }
    eprintln!(
        "fuzz smoke {target}: {} seeds and {} mutated inputs in {:.1} s (seed {seed})",
        run.seeds,
        run.mutated,
        started.elapsed().as_secs_f64()
    );
    run
}

/// The smoke run of one target: every committed seed and at least [`MIN_MUTATED`] mutations
/// ran, and none failed (a failing input is saved and printed).
fn smoke(target: &str, body: fn(&[u8])) {
    let run = run_smoke(target, body);
    if let Some((number, input)) = &run.failure {
        std::fs::create_dir_all(failure_dir()).unwrap();
        let path = failure_dir().join(format!("{target}-{number}.bin"));
        std::fs::write(&path, input).unwrap();
        let hex: String = input.iter().map(|b| format!("{b:02x}")).collect();
        panic!(
            "{target}: input #{number} fails (saved to {}): {hex}",
            path.display()
        );
    }
    let committed = seeds(target).len() - 1;
    assert!(committed > 0, "{target}: no seeds in fuzz/seeds/{target}/");
    assert_eq!(run.seeds, committed + 1, "{target}: every seed runs");
    assert!(run.mutated >= MIN_MUTATED, "{run:?}");
}

#[test]
fn fuzz_smoke_dropbox_response_decoding() {
    smoke("dropbox_response", bodies::dropbox_response);
}

#[test]
fn fuzz_smoke_api_arg_round_trip() {
    smoke("api_arg_round_trip", bodies::api_arg_round_trip);
}

#[test]
fn fuzz_smoke_format_detection() {
    smoke("format_detection", bodies::format_detection);
}

#[test]
fn fuzz_smoke_metadata_extraction() {
    smoke("metadata_extraction", bodies::metadata_extraction);
}

#[test]
fn fuzz_smoke_report_writer() {
    smoke("report_writer", bodies::report_writer);
}

/// The harness itself can fail: a body with a bug that only mutated inputs reach (two ESC
/// bytes in one input; no seed has one) is caught, with the input that shows it.
#[test]
fn the_smoke_run_finds_a_bug_that_only_mutations_reach() {
    fn buggy(data: &[u8]) {
        assert!(
            data.iter().filter(|&&b| b == 0x1B).count() < 2,
            "planted bug"
        );
    }
    let seeds_pass = seeds("format_detection")
        .iter()
        .all(|s| catch_unwind(|| buggy(s)).is_ok());
    assert!(seeds_pass, "the planted bug must not be in a seed");
    eprintln!("the panic \"planted bug\" printed next is this test working");
    let run = run_smoke("format_detection", buggy);
    let (_, input) = run.failure.expect("the planted bug was not found");
    assert!(input.iter().filter(|&&b| b == 0x1B).count() >= 2);
}
