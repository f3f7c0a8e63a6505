#![cfg(feature = "emulator")]
//! The emulator as the official Dropbox Python SDK sees it: runs `tests/sdk_fidelity/run.sh`
//! (a cached venv in `target/sdk-venv`, then `test_sdk.py` against this build's
//! `dropbox-emulator` over HTTPS).
//!
//! Without python3, its venv module, or the package index, the script exits 77: that fails the
//! test when `CI` is set (CI has all three) and is skipped with a notice otherwise.

#[path = "support/prerequisite.rs"]
mod prerequisite;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// `run.sh`'s "a prerequisite is missing" status (automake's skip code).
const PREREQUISITE_MISSING: i32 = 77;

#[test]
fn official_python_sdk_agrees_with_the_emulator() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk_fidelity/run.sh");
    let started = Instant::now();
    let output = Command::new("bash")
        .arg(&script)
        .env(
            "DROPBOX_EMULATOR_BIN",
            env!("CARGO_BIN_EXE_dropbox-emulator"),
        )
        .output()
        .expect("cannot run bash");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report = format!(
        "{} exited with {} after {:.1} s\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        script.display(),
        output.status,
        started.elapsed().as_secs_f64()
    );
    if output.status.code() == Some(PREREQUISITE_MISSING) {
        prerequisite::cannot_run(&format!(
            "the Python SDK fidelity test lacks python3, its venv module or the package index: {report}"
        ));
        return;
    }
    assert!(output.status.success(), "{report}");
    // Make the run visible with --nocapture, e.g. its duration.
    println!("{report}");
}
