//! Quota reservations belong to a live holder: an upload killed between admitting its files and
//! committing their rows (SIGKILL here; a hung-up SSH session's SIGHUP or a SIGTERM end it the
//! same way) leaves reservations behind, and a running `import --watch` must not refuse
//! Dropbox files as *storage limit* because of them — it frees the quota of dead holders first.

#[path = "support/site.rs"]
mod site;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use site::{ACCOUNT, OPERATOR, OWNER, Site, png};

/// The plan's storage in these tests: the killed upload's reservations fill most of it.
const LIMIT: u64 = 100_000;
const UPLOAD_FILES: usize = 20;
const UPLOAD_FILE_BYTES: usize = 4_000;
/// The upload is killed inside this durable transaction of its own: after its admission
/// (quota reserved) and before its rows (registration, admission, pins, rows).
const KILL_AT_TRANSACTION: &str = "4";
const WAIT: Duration = Duration::from_secs(30);

/// Holders' reservations: (how many, bytes).
trait Reserved {
    fn reserved_by_holders(&self) -> (i64, i64);
}

impl Reserved for Site {
    fn reserved_by_holders(&self) -> (i64, i64) {
        let c = rusqlite::Connection::open(self.data.join("library.sqlite3")).unwrap();
        c.query_row(
            "SELECT count(*), coalesce(sum(storage_bytes), 0) FROM reservations WHERE holder IS NOT NULL",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    }
}

fn wait_until(what: &str, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < WAIT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn stop(mut child: Child) {
    // SAFETY: kill(2) on a child we started.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    child.wait().unwrap();
}

fn killed_upload(site: &Site, sources: &Path) {
    let paths: Vec<String> = (0..UPLOAD_FILES)
        .map(|i| {
            let path = sources.join(format!("u{i}.png"));
            std::fs::write(&path, png(i as u32 + 1_000, UPLOAD_FILE_BYTES)).unwrap();
            path.display().to_string()
        })
        .collect();
    let mut args = vec!["upload", "--account", ACCOUNT];
    args.extend(paths.iter().map(String::as_str));
    let out = site
        .command(OWNER, &args)
        .env("SMARTIMAGE_TEST_KILL_IN_TRANSACTION", KILL_AT_TRANSACTION)
        .output()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGKILL),
        "the upload was killed"
    );
}

#[test]
fn a_killed_upload_never_makes_a_running_watcher_refuse_files_for_quota() {
    let site = Site::linked(&format!("\n[plans.team]\nstorage_limit_bytes = {LIMIT}\n"));
    let sources = site.root.join("to-upload");
    std::fs::create_dir_all(&sources).unwrap();
    let watcher = site
        .command(OWNER, &["import", "--watch"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    killed_upload(&site, &sources);
    let (count, bytes) = site.reserved_by_holders();
    assert_eq!(
        count as usize, UPLOAD_FILES,
        "the dead upload's reservations are left"
    );
    assert_eq!(bytes as usize, UPLOAD_FILES * UPLOAD_FILE_BYTES);
    let listed: serde_json::Value =
        serde_json::from_str(&site.ok(OPERATOR, &["account", "list", "--json"])).unwrap();
    assert_eq!(listed[0]["storage_used_bytes"], 0, "{listed}");

    // 30 kB fits the plan's 100 kB — unless the dead upload's 80 kB were still counted.
    let dropped = site.dropbox.join(ACCOUNT).join("fits.png");
    std::fs::create_dir_all(dropped.parent().unwrap()).unwrap();
    std::fs::write(&dropped, png(7, 30_000)).unwrap();
    wait_until("the dropped file to be imported", || !dropped.exists());
    let errors = site.ok(OWNER, &["errors", "list", "--json"]);
    assert_eq!(errors.trim(), "[]", "nothing refused: {errors}");
    let files = site.ok(OWNER, &["files", "list", "--json"]);
    assert!(files.contains("fits.png"), "{files}");
    assert_eq!(
        site.reserved_by_holders(),
        (0, 0),
        "the dead holder's quota is free"
    );
    stop(watcher);

    // Half of the upload run again: nothing of the first run was committed, and the 40 kB
    // fit beside the 30 kB imported.
    let mut args = vec!["upload", "--account", ACCOUNT];
    let paths: Vec<String> = (0..UPLOAD_FILES / 2)
        .map(|i| sources.join(format!("u{i}.png")).display().to_string())
        .collect();
    args.extend(paths.iter().map(String::as_str));
    site.ok(OWNER, &args);
}

#[test]
fn a_live_holder_keeps_its_reservations() {
    let site = Site::linked(&format!("\n[plans.team]\nstorage_limit_bytes = {LIMIT}\n"));
    // This test process holds a reservation through the library, as an upload in flight does.
    let mut lib = smartimage::library::Library::open_existing(
        &site.data,
        smartimage::library::policy::PlanCatalog::defaults(),
    )
    .unwrap();
    // An upload holds the blob store for writing while it has reservations.
    let writing = lib.blobs().writing().unwrap();
    let holder = lib.holder("upload").unwrap();
    let c = lib.store().connection();
    c.execute(
        "INSERT INTO reservations(account, storage_bytes, video_bytes, video_month, purpose, created_at, holder)
         VALUES (1, 5000, 0, '2026-12', 'upload', strftime('%s', 'now'), ?1)",
        [holder],
    )
    .unwrap();
    // Another process needs quota and looks for dead holders: this one is alive.
    let dropped = site.dropbox.join(ACCOUNT).join("big.png");
    std::fs::create_dir_all(dropped.parent().unwrap()).unwrap();
    std::fs::write(&dropped, png(9, (LIMIT - 2_000) as usize)).unwrap();
    std::thread::sleep(Duration::from_millis(120));
    let out = site.command(OWNER, &["import", "--once"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        dropped.exists(),
        "refused: the live holder's 5 kB still count"
    );
    let errors = site.ok(OWNER, &["errors", "list", "--json"]);
    assert!(errors.contains("storage_limit"), "{errors}");
    assert_eq!(site.reserved_by_holders(), (1, 5_000));
    drop(writing);
    drop(lib);
    assert_eq!(
        site.reserved_by_holders(),
        (0, 0),
        "a holder that ends takes its own away"
    );
}
