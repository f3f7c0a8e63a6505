//! Security end to end: no Dropbox token, refresh token, authorization code or PKCE verifier in
//! anything a whole run produces (CLI output, JSON, errors, the TXT report, the database, log
//! events, every file of the data dir but the token file itself); the token file is private and
//! a loose one is refused; the synced-folder backend never reads, follows or deletes anything
//! outside its root.

use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use smartimage::dropbox::api::Endpoints;
use smartimage::dropbox::emulator::{
    AccountConfig, AuthCodeConfig, Emulator, EmulatorConfig, EmulatorHandle, FaultConfig,
};
use smartimage::import::backends::BackendSettings;
use smartimage::import::engine::{EngineSettings, ImportEngine};
use smartimage::import::linking::{finish_api_link, start_api_link};
use smartimage::library::Library;
use smartimage::library::actions::AdminGrant;
use smartimage::library::policy::PlanCatalog;

const OPERATOR: &str = "op@example.com";
const OWNER: &str = "owner@example.com";
const DBX: &str = "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc";
const APP_KEY: &str = "security-app-key";
const ACCOUNT: &str = "Acme";
const AUTH_CODE: &str = "AUTHCODE-5ecret-never-shown-7Qx";
const REVOKED_REFRESH: &str = "REFRESH-5ecret-revoked-9Kz";

// ----- log capture --------------------------------------------------------------------------------

/// Every tracing event of the process as text, except the emulator's own (it plays Dropbox).
struct Capture(Arc<Mutex<String>>);

struct FieldText<'a>(&'a mut String);

impl tracing::field::Visit for FieldText<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={value:?} ", field.name());
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        !metadata.target().contains("emulator")
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        span.record(&mut FieldText(&mut self.0.lock().unwrap()));
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        values.record(&mut FieldText(&mut self.0.lock().unwrap()));
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut text = self.0.lock().unwrap();
        let _ = write!(text, "\n{} ", event.metadata().target());
        event.record(&mut FieldText(&mut text));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

fn logs() -> Arc<Mutex<String>> {
    static LOGS: OnceLock<Arc<Mutex<String>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(String::new()));
        tracing::subscriber::set_global_default(Capture(logs.clone())).unwrap();
        logs
    })
    .clone()
}

// ----- helpers ----------------------------------------------------------------------------------

fn png(seed: u8, len: usize) -> Vec<u8> {
    let mut b =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    b.push(seed);
    b.resize(len, seed);
    b
}

fn cli(data: &Path, config: Option<&Path>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_smartimage"));
    cmd.env_remove("SMARTIMAGE_ADMIN")
        .arg("--data-dir")
        .arg(data);
    if let Some(config) = config {
        cmd.arg("--config").arg(config);
    }
    cmd.args(["--as", OWNER]).args(args).output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn token_file(data: &Path) -> PathBuf {
    std::fs::read_dir(data.join("tokens"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
}

/// The secrets the token file holds right now.
fn secrets_in_token_file(data: &Path) -> Vec<String> {
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(token_file(data)).unwrap()).unwrap();
    ["access_token", "refresh_token"]
        .iter()
        .filter_map(|k| json[*k].as_str().map(str::to_owned))
        .collect()
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

struct Rig {
    dir: tempfile::TempDir,
    data: PathBuf,
    config: PathBuf,
    base: String,
    handle: EmulatorHandle,
    verifier: String,
}

impl Rig {
    async fn start() -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let mut emu = EmulatorConfig::new(dir.path().join("emulator"))
            .with_account(AccountConfig::new(DBX, OWNER, "Owner"));
        emu.token_ttl_secs = 1; // every run refreshes its access token
        emu.longpoll_time_scale = 0.001;
        let (base, handle) = Emulator::start(emu).await.unwrap();
        let data = dir.path().join("data");
        let config = dir.path().join("config.toml");
        std::fs::write(
            &config,
            format!("[dropbox]\napp_key = \"{APP_KEY}\"\nendpoint = \"{base}\"\n"),
        )
        .unwrap();
        let mut lib = Library::open(&data, PlanCatalog::defaults()).unwrap();
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
        let start = start_api_link(APP_KEY, &format!("{base}/oauth2/authorize")).unwrap();
        handle.register_code(AuthCodeConfig {
            code: AUTH_CODE.into(),
            account_id: DBX.into(),
            code_challenge: Some(start.pkce.challenge().to_owned()),
        });
        let settings = BackendSettings {
            endpoints: Endpoints::single(&base),
            app_key: Some(APP_KEY.into()),
            ..BackendSettings::default()
        };
        finish_api_link(
            &mut lib, &owner, ACCOUNT, AUTH_CODE, &start, APP_KEY, &settings,
        )
        .await
        .unwrap();
        Rig {
            verifier: start.pkce.verifier().expose().to_owned(),
            dir,
            data,
            config,
            base,
            handle,
        }
    }

    fn folder(&self) -> PathBuf {
        self.handle.account_dir(DBX).unwrap().join(ACCOUNT)
    }

    async fn cli(&self, args: &[&str]) -> Output {
        let (data, config) = (self.data.clone(), self.config.clone());
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            cli(&data, Some(&config), &args)
        })
        .await
        .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_code_or_verifier_appears_in_any_output_of_a_whole_run() {
    let logs = logs();
    let rig = Rig::start().await;
    let mut secrets = vec![AUTH_CODE.to_owned(), rig.verifier.clone()];
    let mut produced = String::new();
    let folder = rig.folder();
    std::fs::create_dir_all(folder.join("shoot")).unwrap();
    for i in 0..6u8 {
        std::fs::write(folder.join(format!("shoot/p{i}.png")), png(i, 3_000)).unwrap();
    }
    std::fs::write(
        folder.join("setup.jpg"),
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xFF\xFF\x00\x00",
    )
    .unwrap();
    // Dropbox misbehaving on top, so error paths run too.
    rig.handle.set_faults(FaultConfig {
        rate_limit_every: Some(5),
        rate_limit_retry_after_secs: 1,
        server_error_every: Some(4),
        truncate_download_every: Some(3),
        ..FaultConfig::default()
    });
    tokio::time::sleep(Duration::from_millis(1_100)).await; // the linking token has expired
    let run = rig.cli(&["import", "--once"]).await;
    produced += &text(&run);
    assert!(run.status.success(), "{}", text(&run));

    // An in-process pass too, so the engine's and the client's log events are captured.
    rig.handle.expire_tokens(None);
    std::fs::write(folder.join("late.png"), png(40, 2_000)).unwrap();
    let settings = EngineSettings {
        workers: 2,
        backends: BackendSettings {
            endpoints: Endpoints::single(&rig.base),
            app_key: Some(APP_KEY.into()),
            ..BackendSettings::default()
        },
        ..EngineSettings::default()
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let library = Library::open(&rig.data, PlanCatalog::defaults()).unwrap();
    let (engine, _) = ImportEngine::start(library, settings, tx).unwrap();
    let (summary, problems) = engine.run_once(None).await.unwrap();
    drop(engine);
    assert!(problems.is_empty(), "{problems:?}");
    assert!(summary.imported >= 1, "{summary:?}");
    while let Ok(event) = rx.try_recv() {
        let _ = write!(
            produced,
            "{event:?} {}",
            serde_json::to_string(&event).unwrap()
        );
    }
    // What the token file holds now is among what the emulator issued (the list searched below).
    let issued = rig.handle.issued_tokens();
    for token in secrets_in_token_file(&rig.data) {
        assert!(issued.contains(&token), "a token the emulator never issued");
    }

    rig.handle.set_faults(FaultConfig::default());
    for args in [
        &["files", "list", "--json"][..],
        &["files", "list"],
        &["errors", "list", "--json"],
        &["errors", "list"],
        &["account", "list", "--json"],
        &["admin", "list", "--json"],
        &["audit", "--json"],
        &["collection", "list", "--json"],
    ] {
        let out = rig.cli(args).await;
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        produced += &text(&out);
    }

    // The app is disconnected in Dropbox: the refresh token stops working. The error the admin
    // sees names the problem, never the token.
    let path = token_file(&rig.data);
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    json["refresh_token"] = serde_json::Value::String(REVOKED_REFRESH.into());
    std::fs::write(&path, json.to_string()).unwrap();
    secrets.push(REVOKED_REFRESH.into());
    rig.handle.expire_tokens(None);
    std::fs::write(folder.join("after-revoke.png"), png(41, 2_000)).unwrap();
    let revoked = rig.cli(&["import", "--once"]).await;
    let said = text(&revoked);
    assert!(
        said.contains("relink"),
        "the admin is told what to do: {said}"
    );
    produced += &said;

    // Every access and refresh token the emulator ever issued, expired ones included (tokens
    // live a second here, so more were issued than the token file ever showed at one time).
    let issued = rig.handle.issued_tokens();
    let access_tokens = issued.iter().filter(|t| t.starts_with("sl.")).count();
    assert!(
        access_tokens >= 3,
        "the linking, the CLI import and the in-process pass each got an access token: {}",
        issued.len()
    );
    secrets.extend(issued);

    // Everything on disk but the token file itself: database, WAL, report(s), locks.
    let mut files = Vec::new();
    walk(rig.dir.path(), &mut files);
    let mut scanned = 0;
    for file in files {
        if file.starts_with(rig.data.join("tokens"))
            || file.starts_with(rig.dir.path().join("emulator/.emulator"))
        {
            continue;
        }
        let bytes = std::fs::read(&file).unwrap();
        scanned += 1;
        for secret in &secrets {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "a secret is written in {}",
                file.display()
            );
        }
    }
    let logs = logs.lock().unwrap().clone();
    assert!(logs.contains("smartimage"), "the log capture saw the run");
    for secret in &secrets {
        assert!(
            !produced.contains(secret.as_str()),
            "a secret reached the output"
        );
        assert!(!logs.contains(secret.as_str()), "a secret reached the logs");
    }
    eprintln!(
        "secrets: {} secrets (code, verifier, access and refresh tokens) checked against {} bytes \
         of output, {} bytes of log events and {scanned} files on disk",
        secrets.len(),
        produced.len(),
        logs.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_file_is_private_and_a_loose_one_is_refused_without_touching_dropbox() {
    let rig = Rig::start().await;
    let dir_mode = std::fs::metadata(rig.data.join("tokens"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(
        dir_mode & 0o777,
        0o700,
        "only the owner may list token files"
    );
    let path = token_file(&rig.data);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    std::fs::write(rig.folder().join("keep.png"), png(1, 2_000)).unwrap();
    for loose in [0o644, 0o640, 0o604, 0o660, 0o666] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(loose)).unwrap();
        let out = rig.cli(&["import", "--once"]).await;
        let said = text(&out);
        assert!(
            !out.status.success(),
            "a blocked link is not a quiet success: {said}"
        );
        assert!(
            said.contains("chmod 600"),
            "mode {loose:o}: the refusal says how to fix it: {said}"
        );
        // Fixable here, so not "needs re-auth": the link waits and says it will resume.
        let accounts = cli(&rig.data, None, &["account", "list", "--json"]);
        let accounts: serde_json::Value = serde_json::from_slice(&accounts.stdout).unwrap();
        let link = &accounts[0]["dropbox"];
        assert_eq!(link["state"], "error", "mode {loose:o}: {link}");
        let detail = link["state_detail"].as_str().unwrap();
        assert!(detail.contains("chmod 600"), "{detail}");
        assert!(detail.contains("resumes by itself"), "{detail}");
        assert!(
            rig.folder().join("keep.png").exists(),
            "mode {loose:o}: Dropbox untouched"
        );
        let files = cli(&rig.data, None, &["files", "list", "--json"]);
        assert_eq!(String::from_utf8_lossy(&files.stdout).trim(), "[]");
    }
    // Fixed as told: neither relinking nor `resume` is needed, the next run imports.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = rig.cli(&["import", "--once"]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(!rig.folder().join("keep.png").exists());
}

#[test]
fn the_synced_folder_backend_never_reads_follows_or_deletes_outside_its_root() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let dropbox = dir.path().join("Dropbox");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(dropbox.join("Acme/sub")).unwrap();
    std::fs::create_dir_all(outside.join("dir")).unwrap();
    let secret = png(99, 5_000);
    let hard = png(98, 4_000);
    std::fs::write(outside.join("secret.png"), &secret).unwrap();
    std::fs::write(outside.join("dir/inner.png"), png(97, 3_000)).unwrap();
    std::fs::write(outside.join("hard.png"), &hard).unwrap();
    let acme = dropbox.join("Acme");
    std::os::unix::fs::symlink(outside.join("secret.png"), acme.join("link.png")).unwrap();
    std::os::unix::fs::symlink(outside.join("dir"), acme.join("linked-dir")).unwrap();
    std::os::unix::fs::symlink("../../../outside/secret.png", acme.join("sub/relative.png"))
        .unwrap();
    std::os::unix::fs::symlink(&outside, dropbox.join("Bakery")).unwrap();
    std::fs::hard_link(outside.join("hard.png"), acme.join("hard.png")).unwrap();
    std::fs::write(acme.join("own.png"), png(1, 1_000)).unwrap();

    let as_op = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_smartimage"))
            .arg("--data-dir")
            .arg(&data)
            .args(["--as", OPERATOR])
            .args(args)
            .output()
            .unwrap()
    };
    let init = Command::new(env!("CARGO_BIN_EXE_smartimage"))
        .arg("--data-dir")
        .arg(&data)
        .args(["init", "--operator", OPERATOR, "--os-user", "nobody"])
        .output()
        .unwrap();
    assert!(init.status.success());
    for args in [
        &["account", "add", "Acme", "--plan", "team"][..],
        &["account", "add", "Bakery", "--plan", "team"],
        &[
            "admin", "add", OWNER, "--owner", "Acme", "--owner", "Bakery",
        ],
    ] {
        assert!(as_op(args).status.success(), "{args:?}");
    }
    let root = dropbox.to_str().unwrap();
    let linked_acme = cli(
        &data,
        None,
        &["link", "--account", "Acme", "--local-folder", root],
    );
    assert!(linked_acme.status.success(), "{}", text(&linked_acme));
    // Bakery's folder is a symlink out of the root: linking or importing it must not follow it.
    let _ = cli(
        &data,
        None,
        &["link", "--account", "Bakery", "--local-folder", root],
    );
    std::thread::sleep(Duration::from_millis(2_200));
    let _ = cli(&data, None, &["import", "--once"]);
    let _ = cli(&data, None, &["import", "--once"]);

    // Outside: every file still there, byte for byte, and the symlinks still point at them.
    assert_eq!(std::fs::read(outside.join("secret.png")).unwrap(), secret);
    assert_eq!(std::fs::read(outside.join("hard.png")).unwrap(), hard);
    assert!(outside.join("dir/inner.png").exists());
    for link in ["link.png", "linked-dir", "sub/relative.png"] {
        assert!(
            std::fs::symlink_metadata(acme.join(link))
                .unwrap()
                .file_type()
                .is_symlink(),
            "{link} left alone"
        );
    }
    assert!(
        std::fs::symlink_metadata(dropbox.join("Bakery"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    // Inside: the library holds Acme's own file and the hard-linked one (its name inside the
    // root is the user's to import), never anything reached through a symlink.
    let files: serde_json::Value =
        serde_json::from_slice(&cli(&data, None, &["files", "list", "--json"]).stdout).unwrap();
    let mut paths: Vec<&str> = files
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["dropbox_path"].as_str().unwrap())
        .collect();
    paths.sort();
    assert_eq!(paths, ["/Acme/hard.png", "/Acme/own.png"]);
    let sha_of_secret = {
        use sha2::Digest;
        sha2::Sha256::digest(&secret)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    assert!(
        files
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["sha256"] != sha_of_secret.as_str()),
        "the outside file was read"
    );
}
