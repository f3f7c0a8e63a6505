//! Tests that need something from the machine (tmux, python3, setpriv, a server): where it is
//! missing the test is not silently passed. On CI (`CI` set) it fails, naming what is missing;
//! elsewhere it says "skipped, because …" on stderr and returns.
#![allow(dead_code)]

use std::process::{Command, Stdio};

/// Whether this run is CI: `CI` set to anything but empty, `0` or `false`.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !value.is_empty() && value != "false" && value != "0")
}

/// The test cannot run here because `why`: fail on CI, say so otherwise. The caller returns.
pub fn cannot_run(why: &str) {
    assert!(!in_ci(), "this test cannot run, because {why} (CI is set)");
    eprintln!("skipped, because {why}");
}

/// Whether `program` runs here (`program args…` exits 0).
pub fn runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// `Some(())` when `program` runs; otherwise [`cannot_run`] and `None` (use with `let … else`).
pub fn require(program: &str, version_args: &[&str]) -> Option<()> {
    if runs(program, version_args) {
        Some(())
    } else {
        cannot_run(&format!("{program} is not installed (or does not run)"));
        None
    }
}
