//! One engine per library, and every other process works through it: `import --once` while
//! an engine watches asks that engine for a pass (a command row) and prints its summary.

#[path = "support/site.rs"]
#[allow(dead_code)] // shared by several test crates; each uses a part
mod site;

use std::process::Stdio;
use std::time::{Duration, Instant};

use site::{ACCOUNT, OWNER, Site, png};

/// Waits until `probe` holds (every 100 ms, up to 20 s).
fn eventually(what: &str, mut probe: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !probe() {
        assert!(Instant::now() < deadline, "not within 20 s: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn import_once_while_an_engine_watches_asks_it_for_a_pass() {
    let site = Site::linked("");
    let mut watcher = site
        .command(OWNER, &["import", "--watch"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    eventually("the watching engine holds the library", || {
        site.data.join("engine.lock").exists()
            && String::from_utf8_lossy(&site.run(OWNER, &["import", "--once"]).stdout)
                .contains("asked for a pass")
    });
    std::fs::write(site.dropbox.join(ACCOUNT).join("asked.png"), png(5, 4_000)).unwrap();
    let out = site.run(OWNER, &["import", "--once", "--account", ACCOUNT]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("asked for a pass"), "{stdout}");
    assert!(
        stdout.contains("Imported "),
        "the engine's summary: {stdout}"
    );
    eventually("the file is in All Files", || {
        site.ok(OWNER, &["files", "list", "--account", ACCOUNT])
            .contains("asked.png")
    });
    // SAFETY: signalling a child we spawned and still own.
    unsafe { libc::kill(watcher.id() as i32, libc::SIGTERM) };
    let status = watcher.wait().unwrap();
    assert!(status.success(), "{status:?}");
}
