#![cfg(feature = "emulator")]
//! `[dropbox] endpoint` is for tests (the emulator) and on-premises proxies: it takes every
//! Dropbox host, OAuth included, so it must never send the app key or a refresh token in clear
//! text to another machine. Only `https://`, or `http://` on a loopback address, is accepted;
//! anything else stops every verb when the config is loaded — exit 2, one line naming the key,
//! no connection made, nothing written.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use smartimage::dropbox::emulator::{AccountConfig, Emulator, EmulatorConfig, EmulatorHandle};
use smartimage::library::Library;
use smartimage::library::actions::AdminGrant;
use smartimage::library::policy::PlanCatalog;

#[path = "support/api_link.rs"]
mod api_link;
#[path = "support/tables.rs"]
mod tables;

const OPERATOR: &str = "op@example.com";
const OWNER: &str = "owner@example.com";
const ACCOUNT: &str = "Acme";
const DBX: &str = "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc";
const APP_KEY: &str = "endpoint-app-key";
/// A refused verb exits at once; a verb that got past the check might wait on the network.
const VERB_DEADLINE: Duration = Duration::from_secs(60);
const REFUSAL: &str = "dropbox.endpoint must be an https:// URL, or http:// on a loopback address";

struct Site {
    dir: tempfile::TempDir,
    base: String,
    handle: EmulatorHandle,
}

impl Site {
    /// A library with Acme linked through the API to the emulator, one file waiting there.
    async fn linked() -> Site {
        let dir = tempfile::tempdir().unwrap();
        let emu = EmulatorConfig::new(dir.path().join("emulator"))
            .with_account(AccountConfig::new(DBX, OWNER, "Owner"));
        let (base, handle) = Emulator::start(emu).await.unwrap();
        let mut lib = Library::open(&dir.path().join("data"), PlanCatalog::defaults()).unwrap();
        lib.init(OPERATOR, None, None).unwrap();
        let op = lib.actor(Some(OPERATOR), None).unwrap();
        lib.add_account(&op, ACCOUNT, "team").unwrap();
        lib.add_admin(
            &op,
            &AdminGrant {
                email: OWNER.into(),
                owner_of: vec![ACCOUNT.into()],
                ..AdminGrant::default()
            },
        )
        .unwrap();
        let owner = lib.actor(Some(OWNER), None).unwrap();
        api_link::link_through_emulator(&mut lib, &owner, ACCOUNT, (&base, &handle), DBX, APP_KEY)
            .await;
        drop(lib);
        let folder = handle.account_dir(DBX).unwrap().join(ACCOUNT);
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(
            folder.join("waiting.png"),
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89",
        )
        .unwrap();
        handle.rescan().unwrap();
        Site { dir, base, handle }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A config file whose endpoint is `endpoint`.
    fn config(&self, name: &str, endpoint: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(
            &path,
            format!("[dropbox]\napp_key = \"{APP_KEY}\"\nendpoint = \"{endpoint}\"\n"),
        )
        .unwrap();
        path
    }

    fn port(&self) -> &str {
        self.base.rsplit(':').next().unwrap()
    }
}

/// The binary with `config`, as the owner; killed (and the test failed) past the deadline.
fn run(site: &Site, config: &Path, args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_smartimage"))
        .env_remove("SMARTIMAGE_ADMIN")
        .env_remove("SMARTIMAGE_DATA_DIR")
        .env_remove("SMARTIMAGE_DROPBOX_APP_KEY")
        .arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(site.data())
        .args(["--as", OWNER])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > VERB_DEADLINE {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("{args:?} was not refused: still running after {VERB_DEADLINE:?}: {out:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Every verb of the README's usage, with arguments it would accept.
fn every_verb(site: &Site) -> Vec<Vec<String>> {
    let upload = site.dir.path().join("upload.png");
    std::fs::write(&upload, b"\x89PNG\r\n\x1a\nnot really").unwrap();
    let backup = site.dir.path().join("backup.sqlite3");
    let verbs: Vec<Vec<&str>> = vec![
        vec![], // the console
        vec!["init", "--operator", "new@example.com"],
        vec!["account", "add", "Beta", "--plan", "team"],
        vec!["account", "list"],
        vec!["account", "set-plan", ACCOUNT, "--plan", "basic"],
        vec!["admin", "add", "ada@example.com", "--admin", ACCOUNT],
        vec!["admin", "list", "--json"],
        vec!["delegate", "ada@example.com", "--account", ACCOUNT],
        vec!["link", "--account", ACCOUNT, "--api", "--app-key", APP_KEY],
        vec!["unlink", "--account", ACCOUNT],
        vec!["pause", "--account", ACCOUNT],
        vec!["resume", "--account", ACCOUNT],
        vec!["import", "--once"],
        vec!["import", "--watch"],
        vec!["errors", "list"],
        vec!["retry", "--account", ACCOUNT],
        vec!["upload", "--account", ACCOUNT, upload.to_str().unwrap()],
        vec!["files", "list", "--json"],
        vec!["collection", "list"],
        vec![
            "collection",
            "add",
            "--account",
            ACCOUNT,
            "--collection",
            "C",
            "--create",
            "--source",
            "dropbox",
        ],
        vec!["export", "--account", ACCOUNT, "1"],
        vec!["share", "--account", ACCOUNT, "/Acme/waiting.png"],
        vec!["audit"],
        vec!["check"],
        vec!["backup", "--to", backup.to_str().unwrap()],
        vec!["plans"],
        vec!["formats"],
        vec!["demo", "--headless"],
    ];
    verbs
        .into_iter()
        .map(|v| v.into_iter().map(str::to_owned).collect())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_that_is_not_https_or_loopback_stops_every_verb_before_any_connection() {
    let site = Site::linked().await;
    let before = tables::every_table(&site.data());
    // Linking made its own calls; from here on, none.
    let linking_calls = site.handle.calls();
    // `http://0.0.0.0:PORT` reaches the emulator on this machine (Linux connects 0.0.0.0 to
    // itself), but it is not a loopback address: a client that used it would show in the
    // emulator's log. The others name another machine.
    let refused = [
        format!("http://0.0.0.0:{}", site.port()),
        "http://dropbox-proxy.example.com".to_owned(),
        "ftp://127.0.0.1".to_owned(),
    ];
    let verbs = every_verb(&site);
    for (i, endpoint) in refused.iter().enumerate() {
        let config = site.config(&format!("refused-{i}.toml"), endpoint);
        for args in &verbs {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = run(&site, &config, &args);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{endpoint} {args:?}: {out:?}");
            assert!(
                stderr.contains(REFUSAL) && stderr.contains(&config.display().to_string()),
                "{endpoint} {args:?}: {stderr}"
            );
            assert_eq!(stderr.trim().lines().count(), 1, "one clear line: {stderr}");
            assert!(out.stdout.is_empty(), "{args:?}: {out:?}");
        }
    }
    assert_eq!(
        site.handle.calls(),
        linking_calls,
        "a refused endpoint was connected to"
    );
    tables::assert_unchanged(
        &before,
        &tables::every_table(&site.data()),
        "a verb refused for its endpoint",
    );
    assert!(!site.dir.path().join("backup.sqlite3").exists());

    // The same library and emulator through a loopback endpoint: the import talks to the
    // emulator (so the empty log above means no connection, not a deaf emulator).
    for (name, endpoint) in [
        ("loopback.toml", site.base.clone()),
        (
            "localhost.toml",
            format!("http://localhost:{}", site.port()),
        ),
    ] {
        let config = site.config(name, &endpoint);
        let out = run(&site, &config, &["import", "--once"]);
        assert!(out.status.success(), "{endpoint}: {out:?}");
    }
    let calls = &site.handle.calls()[linking_calls.len()..];
    assert!(
        calls.iter().any(|c| c.path == "/2/files/download"),
        "{calls:#?}"
    );
    let files = run(
        &site,
        &site.config("list.toml", &site.base),
        &["files", "list"],
    );
    assert!(
        String::from_utf8_lossy(&files.stdout).contains("waiting.png"),
        "{files:?}"
    );
}
