//! `smartimage status`, `scan` and `stop` through the real binary, against a real
//! `import --watch` in another process: exit codes like `systemctl is-active` (0 healthy, 5 none,
//! 6 stale), the JSON contract, what an admin of one account may see of another, and commands
//! that reach the engine through the store.

#[path = "support/site.rs"]
#[allow(dead_code)] // each test file uses part of the site
mod site;

use std::collections::BTreeSet;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use site::{ACCOUNT, ADMIN, OPERATOR, OWNER, Site, png};
use smartimage::library::ids::{ItemId, LinkId};

const OTHER: &str = "Globex";
const OTHER_OWNER: &str = "gus@globex.test";
const WAIT: Duration = Duration::from_secs(30);

/// The site with a second account, linked to its own folder of the same synced Dropbox.
fn two_accounts() -> Site {
    let site = Site::linked("");
    site.ok(OPERATOR, &["account", "add", OTHER, "--plan", "team"]);
    site.ok(OPERATOR, &["admin", "add", OTHER_OWNER, "--owner", OTHER]);
    let folder = site.dropbox.display().to_string();
    site.ok(
        OTHER_OWNER,
        &["link", "--account", OTHER, "--local-folder", &folder],
    );
    site
}

fn watcher(site: &Site) -> Child {
    site.command(OWNER, &["import", "--watch"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn signal(child: &Child, signal: i32) {
    // SAFETY: kill(2) on a child we started and have not reaped.
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
}

fn stop(mut child: Child) {
    signal(&child, libc::SIGTERM);
    child.wait().unwrap();
}

fn status(site: &Site, actor: &str) -> (Option<i32>, Value) {
    let out = site.run(actor, &["status", "--json"]);
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "status --json printed no JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), json)
}

fn wait_until<T>(what: &str, mut done: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(value) = done() {
            return value;
        }
        assert!(started.elapsed() < WAIT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until `status` exits 0 and returns its JSON.
fn healthy(site: &Site, actor: &str) -> Value {
    wait_until("status to see a healthy engine", || {
        let (code, json) = status(site, actor);
        (code == Some(0)).then_some(json)
    })
}

fn keys(value: &Value) -> BTreeSet<&str> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .map(String::as_str)
        .collect()
}

fn set<'a>(names: &[&'a str]) -> BTreeSet<&'a str> {
    names.iter().copied().collect()
}

fn accounts_of(links: &Value) -> Vec<&str> {
    links
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["account"].as_str().unwrap())
        .collect()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn with_no_engine_status_exits_5_and_still_prints_its_json() {
    let site = Site::linked("");
    let (code, json) = status(&site, ADMIN);
    assert_eq!(code, Some(5), "{json}");
    assert_eq!(json["health"], "none");
    assert_eq!(json["engines"], Value::Array(vec![]));
    let plain = site.run(OPERATOR, &["status"]);
    assert_eq!(plain.status.code(), Some(5), "{}", text(&plain));
    assert!(
        text(&plain).contains("no import engine runs"),
        "{}",
        text(&plain)
    );
}

#[test]
fn a_watching_engine_is_healthy_in_status_and_counts_todays_imports() {
    let site = two_accounts();
    let child = watcher(&site);
    let json = healthy(&site, OPERATOR);
    assert_eq!(json["health"], "running");
    let engine = &json["engines"][0];
    assert_eq!(engine["mode"], "watch", "{json}");
    assert_eq!(engine["pid"], child.id(), "{json}");
    assert_eq!(engine["healthy"], true);
    let mut accounts = accounts_of(&engine["links"]);
    accounts.sort_unstable();
    assert_eq!(accounts, [ACCOUNT, OTHER], "{json}");
    assert_eq!(json["today"]["imported"], 0);

    let dropped = site.dropbox.join(ACCOUNT).join("today.png");
    std::fs::create_dir_all(dropped.parent().unwrap()).unwrap();
    std::fs::write(&dropped, png(1, 5_000)).unwrap();
    let json = wait_until("today's totals to count the import", || {
        let (_, json) = status(&site, OPERATOR);
        (json["today"]["imported"] == 1).then_some(json)
    });
    assert_eq!(json["today"]["imported_bytes"], 5_000, "{json}");

    // An admin of Acme sees the engine, but not Globex's link; the owner of Globex the reverse.
    let (code, mine) = status(&site, ADMIN);
    assert_eq!(code, Some(0));
    assert_eq!(
        accounts_of(&mine["engines"][0]["links"]),
        [ACCOUNT],
        "{mine}"
    );
    assert_eq!(mine["today"]["imported"], 1);
    let (_, theirs) = status(&site, OTHER_OWNER);
    assert_eq!(
        accounts_of(&theirs["engines"][0]["links"]),
        [OTHER],
        "{theirs}"
    );
    assert_eq!(
        theirs["today"]["imported"], 0,
        "Acme's import is not Globex's"
    );

    let plain = site.run(OPERATOR, &["status"]);
    assert_eq!(plain.status.code(), Some(0));
    let plain = text(&plain);
    assert!(plain.contains("running (watch)"), "{plain}");
    assert!(plain.lines().all(|l| l.chars().count() <= 80), "{plain}");
    stop(child);
}

#[test]
fn status_json_has_exactly_the_contract_keys() {
    let site = Site::linked("");
    let child = watcher(&site);
    let json = healthy(&site, OPERATOR);
    // A command no engine takes yet cannot be made while one runs; give one and read it at once.
    stop(child);
    site.ok(OWNER, &["scan", "--account", ACCOUNT]);
    let (_, pending) = status(&site, OPERATOR);
    assert_eq!(
        keys(&json),
        set(&["engines", "today", "pending_commands", "health"])
    );
    assert_eq!(
        keys(&json["engines"][0]),
        set(&[
            "host",
            "pid",
            "os_user",
            "mode",
            "state",
            "started_at",
            "heartbeat_age_ms",
            "healthy",
            "links",
            "in_flight",
            "rate_bps"
        ])
    );
    assert_eq!(
        keys(&json["engines"][0]["links"][0]),
        set(&["id", "account"])
    );
    assert_eq!(
        keys(&json["today"]),
        set(&[
            "discovered",
            "imported",
            "imported_bytes",
            "removed",
            "failed",
            "retrying"
        ])
    );
    let started = json["engines"][0]["started_at"].as_str().unwrap();
    assert!(
        started.ends_with('Z') && started.contains('T'),
        "RFC 3339: {started}"
    );
    let command = &pending["pending_commands"][0];
    assert_eq!(
        keys(command),
        set(&["id", "kind", "by", "given_at"]),
        "{pending}"
    );
    assert_eq!(command["kind"], "scan");
    assert_eq!(command["by"], OWNER);
}

#[test]
fn a_frozen_engine_is_stale_within_seconds() {
    let site = Site::linked("");
    let child = watcher(&site);
    healthy(&site, OPERATOR);
    signal(&child, libc::SIGSTOP);
    let started = Instant::now();
    // Still alive on this host: only the heartbeat's age can tell.
    let json = wait_until("status to call the frozen engine stale", || {
        let (code, json) = status(&site, OPERATOR);
        (code == Some(6)).then_some(json)
    });
    assert!(started.elapsed() < Duration::from_secs(9), "{json}");
    assert_eq!(json["health"], "stale");
    assert_eq!(json["engines"][0]["healthy"], false);
    signal(&child, libc::SIGCONT);
    stop(child);
}

#[test]
fn scan_reaches_the_engine_and_stop_is_for_operators() {
    let site = Site::linked("");
    let out = site.run(OWNER, &["scan"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("next one to start takes it"),
        "{}",
        text(&out)
    );
    let nothing = site.run(OPERATOR, &["stop"]);
    assert!(nothing.status.success(), "{}", text(&nothing));
    assert!(
        text(&nothing).contains("nothing to stop"),
        "{}",
        text(&nothing)
    );

    let mut child = watcher(&site);
    healthy(&site, OPERATOR);
    let scanned = site.run(ADMIN, &["scan", "--account", ACCOUNT, "--wait"]);
    assert!(scanned.status.success(), "{}", text(&scanned));
    assert!(
        text(&scanned).contains("engine: scanning"),
        "{}",
        text(&scanned)
    );

    let refused = site.run(ADMIN, &["stop"]);
    assert_eq!(refused.status.code(), Some(3), "{}", text(&refused));
    assert!(
        child.try_wait().unwrap().is_none(),
        "a refused stop stops nothing"
    );
    let stopped = site.run(OPERATOR, &["stop", "--wait"]);
    assert!(stopped.status.success(), "{}", text(&stopped));
    let exit = wait_until("the watcher to exit", || child.try_wait().unwrap());
    assert_eq!(exit.code(), Some(0), "the engine stops cleanly");
    let (code, _) = status(&site, OPERATOR);
    assert_eq!(code, Some(5), "nothing runs after a stop");
    let audit = site.ok(OPERATOR, &["audit", "--json"]);
    assert!(
        audit.contains("engine.stop") && audit.contains("engine.scan"),
        "{audit}"
    );
}

/// A status row naming files in flight of both accounts (as an engine importing for both
/// would publish): an admin of one sees only its own.
#[test]
fn an_admin_sees_no_other_accounts_files_in_flight() {
    use smartimage::library::store::engine_status::{self, InFlight, Published};
    use smartimage::library::store::{Store, processes};

    let site = two_accounts();
    for (account, seed) in [(ACCOUNT, 1), (OTHER, 2)] {
        let folder = site.dropbox.join(account);
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("clip.png"), png(seed, 3_000)).unwrap();
    }
    let mut store = Store::open(&site.data.join("library.sqlite3")).unwrap();
    // A file only just written is not stable yet, and waits for the next pass.
    wait_until("both files to be journalled", || {
        site.ok(OPERATOR, &["import", "--once"]);
        let c = store.connection();
        let n: i64 = c
            .query_row("SELECT count(*) FROM import_items", [], |r| r.get(0))
            .unwrap();
        (n == 2).then_some(())
    });
    let (links, items): (Vec<LinkId>, Vec<ItemId>) = {
        let c = store.connection();
        let links = c
            .prepare("SELECT id FROM links ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let items = c
            .prepare("SELECT id FROM import_items ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        (links, items)
    };
    assert_eq!((links.len(), items.len()), (2, 2));
    let now_ms = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    let process = store
        .transaction(|tx| processes::register(tx, "engine", "test", now_ms / 1000))
        .unwrap();
    let published = Published {
        mode: "serve".into(),
        state: "running".into(),
        links: links.clone(),
        in_flight: items
            .iter()
            .map(|&item| InFlight {
                item,
                bytes: 1_000,
                total: 3_000,
            })
            .collect(),
        rate_bps: 0,
    };
    store
        .transaction_relaxed(|tx| engine_status::publish(tx, process, &published, now_ms))
        .unwrap();

    let (_, all) = status(&site, OPERATOR);
    let flights = all["engines"][0]["in_flight"].as_array().unwrap();
    assert_eq!(flights.len(), 2, "{all}");
    let (_, mine) = status(&site, ADMIN);
    let engine = &mine["engines"][0];
    assert_eq!(accounts_of(&engine["links"]), [ACCOUNT], "{mine}");
    let flights = engine["in_flight"].as_array().unwrap();
    assert_eq!(flights.len(), 1, "{mine}");
    assert_eq!(flights[0]["account"], ACCOUNT);
    assert!(
        flights[0]["path"].as_str().unwrap().contains(ACCOUNT),
        "{mine}"
    );
    assert_eq!(
        keys(&flights[0]),
        set(&["item", "account", "path", "bytes", "total"])
    );
    assert!(!mine.to_string().contains(OTHER), "{mine}");
    processes::deregister(store.connection(), process).unwrap();
}
