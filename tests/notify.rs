#![cfg(feature = "emulator")]
//! Notifications against real servers on loopback started here: an SMTP server (aiosmtpd, in a
//! venv built under the target dir with pip; `tests/notify/smtp_server.py` writes each message
//! it accepts to a directory read back here) and a webhook receiver (axum). The real binary
//! imports from synced folders; what arrives is checked byte for byte where it matters.
//!
//! Without python3, its venv module or the package index these tests fail on CI (`CI` set)
//! and are skipped with a notice elsewhere.

#[path = "support/prerequisite.rs"]
mod prerequisite;
#[path = "support/site.rs"]
#[allow(dead_code)] // png: the files here are executables
mod site;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hmac::{Hmac, KeyInit, Mac};
use site::{ACCOUNT, ADMIN, OPERATOR, OWNER, Site};

const BASE_CONFIG: &str = "[import]\nsynced_folder_stable_secs = 0.05\n";
const SECOND_OWNER: &str = "otto@acme.test";
const BETA: &str = "Beta";
const BETA_OWNER: &str = "bert@beta.test";

/// The venv with aiosmtpd (built once per target dir), or `None` when it cannot be built.
fn smtp_python() -> Option<PathBuf> {
    static BUILT: Mutex<Option<Option<PathBuf>>> = Mutex::new(None);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(done) = built.as_ref() {
        return done.clone();
    }
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("smtp-venv");
    let python = venv.join("bin/python");
    let requirements = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/notify/requirements.txt");
    let wanted = std::fs::read_to_string(&requirements).unwrap();
    let ready = || {
        std::fs::read_to_string(venv.join("requirements.txt")).is_ok_and(|r| r == wanted)
            && prerequisite::runs(python.to_str().unwrap(), &["-c", "import aiosmtpd"])
    };
    if !ready() {
        let _ = std::fs::remove_dir_all(&venv);
        let made = prerequisite::runs("python3", &["-m", "venv", venv.to_str().unwrap()])
            && prerequisite::runs(
                python.to_str().unwrap(),
                &[
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "--no-input",
                    "-r",
                    requirements.to_str().unwrap(),
                ],
            );
        if made {
            std::fs::write(venv.join("requirements.txt"), &wanted).unwrap();
        }
    }
    let result = ready().then_some(python);
    if result.is_none() {
        prerequisite::cannot_run(
            "python3 with its venv module and pip (to install aiosmtpd) is needed for the SMTP server",
        );
    }
    *built = Some(result.clone());
    result
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// STARTTLS settings of a test server: its certificate and key, and the login it accepts.
struct Tls {
    _dir: tempfile::TempDir,
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl Tls {
    fn new() -> Tls {
        use rcgen::{
            BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair,
            KeyUsagePurpose,
        };
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "smartimage notify test CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let leaf_key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap()
            .signed_by(&leaf_key, &ca)
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let tls = Tls {
            ca: dir.path().join("ca.pem"),
            cert: dir.path().join("cert.pem"),
            key: dir.path().join("key.pem"),
            _dir: dir,
        };
        std::fs::write(&tls.ca, ca.pem()).unwrap();
        std::fs::write(&tls.cert, leaf.pem()).unwrap();
        std::fs::write(&tls.key, leaf_key.serialize_pem()).unwrap();
        tls
    }
}

const LOGIN: &str = "relay-user";
const PASSWORD: &str = "s3cret-relay-password";

struct Smtp {
    child: Child,
    port: u16,
    maildir: tempfile::TempDir,
}

impl Smtp {
    fn start(python: &Path, tls: Option<&Tls>) -> Smtp {
        let port = free_port();
        let maildir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/notify/smtp_server.py");
        let mut cmd = Command::new(python);
        cmd.arg(script).arg(port.to_string()).arg(maildir.path());
        if let Some(tls) = tls {
            cmd.arg(&tls.cert).arg(&tls.key).arg(LOGIN).arg(PASSWORD);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "the SMTP server did not start");
        Smtp {
            child,
            port,
            maildir,
        }
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, oldest first.
    fn messages(&self) -> Vec<String> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.maildir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }

    fn wait_for(&self, n: usize, timeout: Duration) -> Vec<String> {
        let started = Instant::now();
        loop {
            let got = self.messages();
            if got.len() >= n || started.elapsed() > timeout {
                return got;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One POST the webhook receiver got: its signature header and body.
type Received = Arc<Mutex<Vec<(Option<String>, String)>>>;

/// A webhook receiver on loopback; its URL and what it received.
fn webhook_receiver() -> (String, Received) {
    use axum::http::HeaderMap;
    let received: Received = Arc::default();
    let store = received.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let app = axum::Router::new().route(
                "/hook",
                axum::routing::post(move |headers: HeaderMap, body: String| {
                    let store = store.clone();
                    async move {
                        let signature = headers
                            .get("x-smartimage-signature")
                            .map(|v| v.to_str().unwrap().to_owned());
                        store.lock().unwrap().push((signature, body));
                        "ok"
                    }
                }),
            );
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    (url, received)
}

fn private_file(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// A Windows executable: refused (unsupported format) at once, so it lands in the report.
fn exe(seed: u8) -> Vec<u8> {
    let mut bytes = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00".to_vec();
    bytes.resize(4096, seed);
    bytes
}

fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    let prefix = format!("{}: ", name.to_lowercase());
    message
        .lines()
        .take_while(|l| !l.is_empty())
        .find(|l| l.to_lowercase().starts_with(&prefix))
        .map(|l| l[prefix.len()..].trim())
}

fn status_json(site: &Site, actor: &str) -> serde_json::Value {
    serde_json::from_str(&site.ok(actor, &["notify", "status", "--json"])).unwrap()
}

/// The second account, with its own owner and synced folder.
fn add_beta(site: &Site) -> PathBuf {
    site.ok(OPERATOR, &["account", "add", BETA, "--plan", "team"]);
    site.ok(OPERATOR, &["admin", "add", BETA_OWNER, "--owner", BETA]);
    let folder = site.root.join("BetaDropbox");
    std::fs::create_dir_all(&folder).unwrap();
    site.ok(
        BETA_OWNER,
        &[
            "link",
            "--account",
            BETA,
            "--local-folder",
            folder.to_str().unwrap(),
        ],
    );
    folder
}

#[test]
fn a_pass_with_failures_sends_one_digest_per_account_and_a_signed_webhook() {
    let Some(python) = smtp_python() else { return };
    let smtp = Smtp::start(&python, None);
    let (hook_url, hooks) = webhook_receiver();
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("webhook-secret");
    private_file(&secret, "hook-secret-42\n");
    let site = Site::linked(&format!(
        "[notify]\nmin_interval_mins = 15\n[notify.email]\nsmtp_url = \"{}\"\n\
         from = \"smartimage@example.com\"\n[notify.webhook]\nurl = \"{hook_url}\"\n\
         secret_file = {:?}\n",
        smtp.url(),
        secret.display().to_string()
    ));
    // A second owner of Acme who turned email off, and another account with its own failure.
    site.ok(
        OPERATOR,
        &["admin", "add", SECOND_OWNER, "--owner", ACCOUNT],
    );
    site.ok(SECOND_OWNER, &["admin", "notify", SECOND_OWNER, "off"]);
    let denied = site.run(ADMIN, &["admin", "notify", SECOND_OWNER, "on"]);
    assert_eq!(denied.status.code(), Some(3), "only for oneself");
    let beta = add_beta(&site);
    std::fs::write(site.dropbox.join("Acme/setup.exe"), exe(1)).unwrap();
    std::fs::write(site.dropbox.join("Acme/tool.exe"), exe(2)).unwrap();
    std::fs::write(beta.join("Beta/beta-private-plan.exe"), exe(3)).unwrap();
    std::thread::sleep(Duration::from_millis(200));

    let out = site.run(OPERATOR, &["import", "--once"]);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Delivered before `import --once` exited.
    let mail = smtp.messages();
    assert_eq!(
        mail.len(),
        2,
        "one digest per recipient and account: {mail:#?}"
    );
    let to_acme: Vec<&String> = mail
        .iter()
        .filter(|m| header(m, "X-Test-Rcpt") == Some(OWNER))
        .collect();
    let to_beta: Vec<&String> = mail
        .iter()
        .filter(|m| header(m, "X-Test-Rcpt") == Some(BETA_OWNER))
        .collect();
    assert_eq!((to_acme.len(), to_beta.len()), (1, 1), "{mail:#?}");
    let acme = to_acme[0];
    assert!(
        acme.contains("setup.exe") && acme.contains("tool.exe"),
        "{acme}"
    );
    assert!(acme.contains("What to do:"), "the report's advice: {acme}");
    assert!(
        header(acme, "Subject").unwrap().contains("2 files"),
        "{acme}"
    );
    let message_id = header(acme, "Message-ID").unwrap().to_owned();
    assert!(message_id.ends_with("@smartimage>"), "{message_id}");

    // Nothing of another account, no token, no server path in any message.
    let root = site.root.display().to_string();
    for m in &mail {
        assert!(!m.contains(&root), "a server path: {m}");
        assert!(!m.contains("hook-secret-42"), "{m}");
    }
    assert!(
        !acme.contains(BETA) && !acme.contains("beta-private"),
        "{acme}"
    );
    assert!(
        !to_beta[0].contains("setup.exe") && !to_beta[0].contains(ACCOUNT),
        "{}",
        to_beta[0]
    );

    // The webhook: one POST per account's event, signed over its exact body.
    let posts = hooks.lock().unwrap().clone();
    assert_eq!(posts.len(), 2, "{posts:#?}");
    for (signature, body) in &posts {
        let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(b"hook-secret-42").unwrap();
        mac.update(body.as_bytes());
        let want: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            signature.as_deref(),
            Some(format!("sha256={want}").as_str())
        );
        assert!(!body.contains(&root), "a server path: {body}");
    }
    let acme_post: serde_json::Value = posts
        .iter()
        .map(|(_, b)| serde_json::from_str::<serde_json::Value>(b).unwrap())
        .find(|v| v["account"] == ACCOUNT)
        .unwrap();
    assert_eq!(acme_post["event"], "digest");
    assert_eq!(acme_post["failed"].as_array().unwrap().len(), 2);
    assert!(acme_post["text"].as_str().unwrap().contains("tool.exe"));
    assert!(
        message_id.contains(acme_post["id"].as_str().unwrap()),
        "one event id"
    );

    // Another failure within min_interval: the report changes, no new message goes out.
    std::fs::write(site.dropbox.join("Acme/third.exe"), exe(4)).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    site.ok(OPERATOR, &["import", "--once"]);
    assert_eq!(smtp.messages().len(), 2, "held back by min_interval");
    assert_eq!(hooks.lock().unwrap().len(), 2);
    let status = status_json(&site, OWNER);
    let held: Vec<&serde_json::Value> = status["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["state"] == "pending" && d["kind"] == "digest")
        .collect();
    assert!(!held.is_empty(), "the newer digest waits: {status:#}");
    // Owners see their own account's notifications only.
    assert!(
        status["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["account_name"] == ACCOUNT),
        "{status:#}"
    );
    assert_eq!(
        site.run(ADMIN, &["notify", "status"]).status.code(),
        Some(3)
    );
}

#[test]
fn a_crash_between_queueing_and_sending_still_delivers_with_the_same_id() {
    let Some(python) = smtp_python() else { return };
    // Nothing listens here at first: the digest is queued, and cannot go.
    let dead_port = free_port();
    let site = Site::linked(&format!(
        "[notify.email]\nsmtp_url = \"smtp://127.0.0.1:{dead_port}\"\nfrom = \"smartimage@example.com\"\n"
    ));
    std::fs::write(site.dropbox.join("Acme/setup.exe"), exe(1)).unwrap();
    let mut watch = site
        .command(OPERATOR, &["import", "--watch"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let queued = loop {
        let status = status_json(&site, OPERATOR);
        let failing = status["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["kind"] == "digest" && d["attempts"].as_u64() >= Some(1))
            .cloned();
        if let Some(row) = failing {
            break row;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no digest was queued and tried: {status:#}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(queued["last_error"].as_str().is_some(), "{queued:#}");
    // Killed: no clean stop, the row stays in the outbox.
    watch.kill().unwrap();
    watch.wait().unwrap();

    let smtp = Smtp::start(&python, None);
    std::fs::write(
        &site.config,
        format!(
            "{BASE_CONFIG}[notify.email]\nsmtp_url = \"{}\"\nfrom = \"smartimage@example.com\"\n",
            smtp.url()
        ),
    )
    .unwrap();
    let mut watch = site
        .command(OPERATOR, &["import", "--watch"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mail = smtp.wait_for(1, Duration::from_secs(30));
    unsafe {
        libc::kill(watch.id() as i32, libc::SIGTERM);
    }
    watch.wait().unwrap();
    assert_eq!(mail.len(), 1, "{mail:#?}");
    assert_eq!(
        header(&mail[0], "Message-ID"),
        queued["message_id"].as_str(),
        "the same id after the restart"
    );
    assert!(mail[0].contains("setup.exe"));
    let status = status_json(&site, OPERATOR);
    assert_eq!(status["sent"], 1, "{status:#}");
}

#[test]
fn notify_test_exits_0_when_accepted_and_never_sends_credentials_without_tls() {
    let Some(python) = smtp_python() else { return };
    let plain = Smtp::start(&python, None);
    let site = Site::linked(&format!(
        "[notify.email]\nsmtp_url = \"{}\"\nfrom = \"smartimage@example.com\"\n",
        plain.url()
    ));
    let config =
        |text: String| std::fs::write(&site.config, format!("{BASE_CONFIG}{text}")).unwrap();

    let out = site.run(OWNER, &["notify", "test", "--account", ACCOUNT]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let mail = plain.wait_for(1, Duration::from_secs(5));
    assert_eq!(mail.len(), 1);
    assert_eq!(header(&mail[0], "X-Test-Rcpt"), Some(OWNER));
    // A plain admin may not; the operator's test goes to the operators.
    assert_eq!(
        site.run(ADMIN, &["notify", "test", "--account", ACCOUNT])
            .status
            .code(),
        Some(3)
    );
    site.ok(OPERATOR, &["notify", "test"]);
    let mail = plain.wait_for(2, Duration::from_secs(5));
    assert_eq!(header(&mail[1], "X-Test-Rcpt"), Some(OPERATOR));

    // Nobody listening: exit 1.
    config(format!(
        "[notify.email]\nsmtp_url = \"smtp://127.0.0.1:{}\"\nfrom = \"smartimage@example.com\"\n",
        free_port()
    ));
    let out = site.run(OPERATOR, &["notify", "test"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");

    // Credentials to a server that offers no STARTTLS: refused before anything is sent.
    let dir = tempfile::tempdir().unwrap();
    let password = dir.path().join("password");
    private_file(&password, PASSWORD);
    config(format!(
        "[notify.email]\nsmtp_url = \"{}\"\nfrom = \"smartimage@example.com\"\nusername = \"{LOGIN}\"\npassword_file = {:?}\n",
        plain.url(),
        password.display().to_string()
    ));
    let out = site.run(OPERATOR, &["notify", "test"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout).to_lowercase();
    assert!(said.contains("tls"), "{said}");
    assert_eq!(plain.messages().len(), 2, "nothing more reached the server");

    // The same credentials over STARTTLS (a CA of our own): accepted, logged in, encrypted.
    let tls = Tls::new();
    let secure = Smtp::start(&python, Some(&tls));
    config(format!(
        "[notify.email]\nsmtp_url = \"{}\"\nfrom = \"smartimage@example.com\"\nusername = \"{LOGIN}\"\npassword_file = {:?}\nca_file = {:?}\n",
        secure.url(),
        password.display().to_string(),
        tls.ca.display().to_string()
    ));
    let out = site.run(OPERATOR, &["notify", "test"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let mail = secure.wait_for(1, Duration::from_secs(5));
    assert_eq!(header(&mail[0], "X-Test-TLS"), Some("yes"));
    assert_eq!(header(&mail[0], "X-Test-Auth"), Some(LOGIN));
    assert!(!mail[0].contains(PASSWORD));

    // A password file others can read is refused with the config.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&password, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = site.run(OPERATOR, &["notify", "test"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

/// An upload that takes an account past 75 % of its storage queues the plan warning too, not
/// only an import pass; the next sender that runs delivers it.
#[test]
fn an_upload_past_three_quarters_of_the_plan_queues_the_warning() {
    let site = Site::linked(
        "[plans.team]\nstorage_limit_bytes = 10000\n\
         [notify.webhook]\nurl = \"http://127.0.0.1:9/unreachable\"\n",
    );
    let photo = site.root.join("big.png");
    std::fs::write(&photo, site::png(7, 8_000)).unwrap();
    site.ok(
        OWNER,
        &["upload", "--account", ACCOUNT, photo.to_str().unwrap()],
    );
    let status = status_json(&site, OWNER);
    let kinds: Vec<&str> = status["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["plan"], "{status:#}");
}
