//! The console's account actions against a real library: they are refused and allowed exactly
//! as the CLI verbs are, with the same sentences, and leave the same audit rows. Also the API
//! link flow of the console against the Dropbox emulator.

use std::path::PathBuf;
use std::time::Duration;

use assert_cmd::Command;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use smartimage::dropbox::local::LocalSettings;
use smartimage::import::engine::{EngineSettings, ImportEngine};
use smartimage::import::events::EngineEvent;
use smartimage::library::Library;
use smartimage::library::ids::ItemId;
use smartimage::library::model::AuditEntry;
use smartimage::library::policy::{ErrorKind, PlanCatalog};
use smartimage::library::store::links::LinkState;
use smartimage::tui::actions::{self, ApiLinkSessions, ConsoleAction, Secret};
use smartimage::tui::app::{App, Effect, PaneId};
use smartimage::tui::dialogs::Dialog;
use smartimage::tui::error::ConsoleError;
use smartimage::tui::keymap::Action;
use smartimage::tui::theme::Theme;
use smartimage::tui::{ConsoleOptions, load_view};

#[path = "support/people.rs"]
mod people;
#[path = "support/tables.rs"]
mod tables;
use people::add_admins;

const OPERATOR: &str = "op@example.com";
const OWNER: &str = "olivia@acme.test";
const ADMIN: &str = "ada@acme.test";
const OTHER_ADMIN: &str = "dan@acme.test";
const ACME: &str = "Acme Marketing";
const BAKERY: &str = "Basic Bakery";

struct Lib {
    dir: tempfile::TempDir,
    data: PathBuf,
    dropbox: PathBuf,
    rt: tokio::runtime::Runtime,
}

fn fast_local() -> LocalSettings {
    LocalSettings {
        stable_for: Duration::from_millis(20),
        rescan_every: Duration::from_secs(1),
    }
}

impl Lib {
    /// Acme (team) owned by Olivia with two plain admins; Bakery (basic) owned by Olivia too.
    fn new() -> Lib {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let dropbox = dir.path().join("Dropbox");
        std::fs::create_dir_all(&dropbox).unwrap();
        let mut lib = Library::open(&data, PlanCatalog::defaults()).unwrap();
        lib.init(OPERATOR, None, Some("nobody-in-tests")).unwrap();
        let op = lib.actor(Some(OPERATOR), None).unwrap();
        lib.add_account(&op, ACME, "team").unwrap();
        lib.add_account(&op, BAKERY, "basic").unwrap();
        add_admins(
            &mut lib,
            OPERATOR,
            &[
                (OWNER, &[ACME, BAKERY], &[]),
                (ADMIN, &[], &[ACME]),
                (OTHER_ADMIN, &[], &[ACME]),
            ],
        );
        Lib {
            dir,
            data,
            dropbox,
            rt: tokio::runtime::Runtime::new().unwrap(),
        }
    }

    fn options(&self, who: &str) -> ConsoleOptions {
        let mut engine = EngineSettings {
            workers: 1,
            ..EngineSettings::default()
        };
        engine.backends.local = fast_local();
        ConsoleOptions {
            data_dir: self.data.clone(),
            plans: PlanCatalog::defaults(),
            as_admin: Some(who.into()),
            os_user: None,
            admin_label: who.into(),
            engine,
            send: Default::default(),
            keymap: Default::default(),
        }
    }

    /// Run `action` as the console runs it (off the UI task, on a blocking thread).
    fn run(&self, who: &str, action: ConsoleAction) -> Result<String, ConsoleError> {
        self.run_with(&self.options(who), &ApiLinkSessions::default(), action)
    }

    fn run_with(
        &self,
        options: &ConsoleOptions,
        sessions: &ApiLinkSessions,
        action: ConsoleAction,
    ) -> Result<String, ConsoleError> {
        actions::run(options, sessions, self.rt.handle(), action, &|_| {})
    }

    /// Run `action` as `who`, with the engine events it reports (an upload's files).
    fn run_reporting(
        &self,
        who: &str,
        action: ConsoleAction,
    ) -> (Result<String, ConsoleError>, Vec<EngineEvent>) {
        let events = std::sync::Mutex::new(Vec::new());
        let report = |event| events.lock().unwrap().push(event);
        let outcome = actions::run(
            &self.options(who),
            &ApiLinkSessions::default(),
            self.rt.handle(),
            action,
            &report,
        );
        (outcome, events.into_inner().unwrap())
    }

    fn cli(&self, who: &str, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("smartimage").unwrap();
        cmd.env_remove("SMARTIMAGE_ADMIN")
            .env_remove("SMARTIMAGE_DATA_DIR")
            .arg("--data-dir")
            .arg(&self.data)
            .args(["--as", who])
            .args(args);
        cmd
    }

    fn audit(&self) -> Vec<AuditEntry> {
        let lib = Library::open(&self.data, PlanCatalog::defaults()).unwrap();
        let op = lib.actor(Some(OPERATOR), None).unwrap();
        lib.audit(&op, 100).unwrap()
    }

    /// The console's state as `who`, after its first library read.
    fn app(&self, who: &str) -> App {
        let mut app = App::new("lib".into(), who.into(), Theme { color: true });
        app.apply_view(load_view(&self.options(who)).unwrap());
        app
    }

    fn link_acme(&self) {
        self.run(
            OWNER,
            ConsoleAction::LinkFolder {
                account: ACME.into(),
                root: self.dropbox.clone(),
            },
        )
        .unwrap();
    }

    /// One engine pass over every link.
    fn import_once(&self) {
        std::thread::sleep(Duration::from_millis(60));
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let lib = Library::open(&self.data, PlanCatalog::defaults()).unwrap();
        let (engine, _) = ImportEngine::start(lib, self.options(OWNER).engine, tx).unwrap();
        self.rt.block_on(engine.run_once(None)).unwrap();
    }
}

/// What an audit row says, without when or its id: actor, action, account, target, detail.
type AuditWhat = (String, String, Option<String>, String, Option<String>);

fn what(e: &AuditEntry) -> AuditWhat {
    (
        e.actor.clone(),
        e.action.clone(),
        e.account.clone(),
        e.target.clone(),
        e.detail.clone(),
    )
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

fn select(app: &mut App, account: &str) {
    app.focus = PaneId::Accounts;
    while app.scoped_account() != Some(account) {
        app.handle_key(key('j'));
    }
}

#[test]
fn linking_a_synced_folder_from_the_keys_to_the_library_and_its_audit_row() {
    let lib = Lib::new();
    let mut app = lib.app(OWNER);
    select(&mut app, ACME);
    assert_eq!(app.handle_key(key('f')), vec![]);
    assert!(matches!(app.dialog, Some(Dialog::LinkFolder { .. })));
    app.handle_paste(&lib.dropbox.display().to_string());
    let effects = app.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    let [Effect::Run(action)] = &effects[..] else {
        panic!("{effects:?}")
    };
    let outcome = lib.run(OWNER, action.clone());
    let message = outcome.clone().unwrap();
    assert!(
        message.contains("is linked to the synced folder"),
        "{message}"
    );
    assert!(
        lib.dropbox.join(ACME).is_dir(),
        "the account folder is made"
    );
    assert_eq!(app.action_finished(action, outcome), vec![Effect::Refresh]);
    let audit = lib.audit();
    assert_eq!(audit[0].action, "link");
    assert_eq!(audit[0].actor, OWNER);
    assert_eq!(audit[0].target, ACME);
}

#[test]
fn a_plain_admin_is_refused_before_any_dialog_with_the_clis_own_sentence() {
    let lib = Lib::new();
    let mut app = lib.app(ADMIN);
    select(&mut app, ACME);
    app.handle_key(key('f'));
    let Some(Dialog::Notice { title, text }) = &app.dialog else {
        panic!("no notice")
    };
    assert_eq!(title, "Not allowed");
    assert!(text.contains("may not link Dropbox"), "{text}");
    let folder = lib.dropbox.display().to_string();
    let cli = lib
        .cli(
            ADMIN,
            &["link", "--account", ACME, "--local-folder", &folder],
        )
        .assert()
        .code(3);
    let stderr = String::from_utf8_lossy(&cli.get_output().stderr).into_owned();
    assert!(stderr.contains(text.as_str()), "{stderr}\nvs\n{text}");
    // The library checks again when the action runs (a stale screen cannot get round it).
    let refused = lib
        .run(
            ADMIN,
            ConsoleAction::LinkFolder {
                account: ACME.into(),
                root: lib.dropbox.clone(),
            },
        )
        .unwrap_err()
        .to_string();
    assert_eq!(&refused, text);
    // Delegation is for owners: the same for d.
    app.dialog = None;
    app.handle_key(key('d'));
    let Some(Dialog::Notice { text, .. }) = &app.dialog else {
        panic!("no notice")
    };
    assert!(text.contains("only its owners grant or revoke"), "{text}");
}

/// Issue 18: pausing or unlinking as a plain admin was refused with the *linking* sentence,
/// and the footer offered keys the admin may not use.
#[test]
fn a_plain_admin_pausing_or_unlinking_is_told_that_and_the_footer_offers_neither() {
    let lib = Lib::new();
    lib.link_acme();
    let mut app = lib.app(ADMIN);
    select(&mut app, ACME);
    for (k, words) in [
        ('p', "may not pause the imports of"),
        ('u', "may not unlink"),
    ] {
        app.dialog = None;
        app.handle_key(key(k));
        let Some(Dialog::Notice { title, text }) = &app.dialog else {
            panic!("no notice for {k}")
        };
        assert_eq!(title, "Not allowed");
        assert!(text.contains(words), "{k}: {text}");
        assert!(!text.contains("link Dropbox to"), "{k}: {text}");
    }
    for action in [
        Action::PauseResume,
        Action::Unlink,
        Action::LinkApi,
        Action::Delegate,
    ] {
        assert!(!app.offers(action), "{action:?} offered to a plain admin");
    }
    assert!(app.offers(Action::Quit));
    let mut owner = lib.app(OWNER);
    select(&mut owner, ACME);
    assert!(owner.offers(Action::PauseResume) && owner.offers(Action::Unlink));
    assert!(
        !owner.offers(Action::LinkApi),
        "linked already: a is not offered"
    );
}

#[test]
fn delegating_and_revoking_write_the_same_audit_rows_as_the_cli() {
    let lib = Lib::new();
    let mut app = lib.app(OWNER);
    select(&mut app, ACME);
    app.handle_key(key('d'));
    let Some(Dialog::PickAdmin { choices, .. }) = &app.dialog else {
        panic!("no picker")
    };
    assert_eq!(choices, &vec![ADMIN.to_string(), OTHER_ADMIN.to_string()]);
    let effects = app.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    let [Effect::Run(grant)] = &effects[..] else {
        panic!("{effects:?}")
    };
    assert!(
        lib.run(OWNER, grant.clone())
            .unwrap()
            .contains("may now link")
    );
    let console_grant = what(&lib.audit()[0]);
    lib.cli(OWNER, &["delegate", ADMIN, "--account", ACME, "--revoke"])
        .assert()
        .success();
    let cli_revoke = what(&lib.audit()[0]);
    lib.cli(OWNER, &["delegate", ADMIN, "--account", ACME])
        .assert()
        .success();
    assert_eq!(what(&lib.audit()[0]), console_grant);
    let revoke = ConsoleAction::Delegate {
        account: ACME.into(),
        email: ADMIN.into(),
        revoke: true,
    };
    assert!(lib.run(OWNER, revoke).unwrap().contains("no longer"));
    assert_eq!(what(&lib.audit()[0]), cli_revoke);
    assert_eq!(cli_revoke.1, "delegation.revoke");
}

#[test]
fn a_console_retry_writes_the_same_audit_row_as_the_cli_retry() {
    let lib = Lib::new();
    lib.link_acme();
    let mut exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xFF\xFF\x00\x00".to_vec();
    exe.resize(300, 0);
    std::fs::write(lib.dropbox.join(ACME).join("setup.exe"), &exe).unwrap();
    lib.import_once();
    let mut app = lib.app(OWNER);
    app.focus = PaneId::Errors;
    assert_eq!(app.error_rows().len(), 1);
    let item = app.error_rows()[0].item;
    let effects = app.handle_key(key('r'));
    let [Effect::Run(retry)] = &effects[..] else {
        panic!("{effects:?}")
    };
    assert_eq!(
        retry,
        &ConsoleAction::Retry {
            account: ACME.into(),
            items: vec![item]
        }
    );
    assert!(lib.run(OWNER, retry.clone()).unwrap().contains("1 failed"));
    let console_row = what(&lib.audit()[0]);
    assert_eq!(console_row.1, "import.retry");
    // It fails again on the next pass; the CLI retries it the same way.
    lib.import_once();
    lib.cli(OWNER, &["retry", "--account", ACME, &item.to_string()])
        .assert()
        .success();
    assert_eq!(what(&lib.audit()[0]), console_row);
}

/// A console that does not host the engine (another process holds it): `r` writes the retry
/// to the journal; after the refresh the file is still in the error log, as *queued for
/// retry*, until the engine that runs takes it — never gone.
#[test]
fn a_console_retry_without_the_engine_shows_the_file_queued_for_retry_not_gone() {
    let lib = Lib::new();
    lib.link_acme();
    let mut exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xFF\xFF\x00\x00".to_vec();
    exe.resize(300, 0);
    std::fs::write(lib.dropbox.join(ACME).join("setup.exe"), &exe).unwrap();
    lib.import_once();
    let mut app = lib.app(OWNER);
    app.engine = smartimage::tui::app::EngineStatus::Unavailable("engine lock held".into());
    app.focus = PaneId::Errors;
    let effects = app.handle_key(key('r'));
    let [Effect::Run(retry)] = &effects[..] else {
        panic!("{effects:?}")
    };
    let outcome = lib.run(OWNER, retry.clone());
    assert_eq!(app.action_finished(retry, outcome), vec![Effect::Refresh]);
    app.apply_view(load_view(&lib.options(OWNER)).unwrap());
    let rows = app.error_rows();
    assert_eq!(rows.len(), 1, "still in the error log");
    assert_eq!(
        rows[0].state,
        smartimage::library::store::import_items::ItemState::QueuedForRetry
    );
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).unwrap();
    terminal
        .draw(|f| smartimage::tui::layout::draw(f, &app))
        .unwrap();
    assert!(terminal.backend().to_string().contains("retry pending"));
    app.errors.detail = true;
    terminal
        .draw(|f| smartimage::tui::layout::draw(f, &app))
        .unwrap();
    let screen = terminal.backend().to_string();
    assert!(screen.contains("retry pending"), "{screen}");
    // The CLI sees it the same way.
    let out = lib
        .cli(OWNER, &["errors", "list", "--json"])
        .assert()
        .success();
    let listed: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(listed[0]["state"], "queued_for_retry", "{listed}");
    // The next engine pass takes it (an executable: refused again, failed for the customer).
    lib.import_once();
    app.apply_view(load_view(&lib.options(OWNER)).unwrap());
    assert_eq!(
        app.error_rows()[0].state,
        smartimage::library::store::import_items::ItemState::Failed
    );
}

#[test]
fn pause_resume_and_unlink_are_the_clis_verbs() {
    let lib = Lib::new();
    lib.link_acme();
    let mut app = lib.app(OWNER);
    select(&mut app, ACME);
    // p asks first (issue 18: it paused at once); y pauses.
    assert_eq!(app.handle_key(key('p')), vec![]);
    assert!(matches!(app.dialog, Some(Dialog::Confirm { .. })));
    let effects = app.handle_key(key('y'));
    assert_eq!(
        effects,
        vec![Effect::Run(ConsoleAction::SetLinkState {
            account: ACME.into(),
            state: LinkState::Paused
        })]
    );
    let [Effect::Run(pause)] = &effects[..] else {
        unreachable!()
    };
    assert!(lib.run(OWNER, pause.clone()).unwrap().contains("paused"));
    assert_eq!(lib.audit()[0].action, "link.pause");
    // Read again: p now resumes.
    app.apply_view(load_view(&lib.options(OWNER)).unwrap());
    let effects = app.handle_key(key('p'));
    let [Effect::Run(resume)] = &effects[..] else {
        panic!("{effects:?}")
    };
    assert!(lib.run(OWNER, resume.clone()).unwrap().contains("resumed"));
    assert_eq!(lib.audit()[0].action, "link.resume");
    // u asks first; y unlinks.
    assert_eq!(app.handle_key(key('u')), vec![]);
    assert!(matches!(app.dialog, Some(Dialog::Confirm { .. })));
    let effects = app.handle_key(key('y'));
    let [Effect::Run(unlink)] = &effects[..] else {
        panic!("{effects:?}")
    };
    assert!(lib.run(OWNER, unlink.clone()).unwrap().contains("unlinked"));
    assert_eq!(lib.audit()[0].action, "unlink");
    let view = load_view(&lib.options(OWNER)).unwrap();
    assert!(view.accounts.iter().all(|a| a.dropbox.is_none()));
}

#[test]
fn all_accounts_shows_every_account_s_failures_and_one_account_only_its_own() {
    let lib = Lib::new();
    lib.link_acme();
    lib.run(
        OWNER,
        ConsoleAction::LinkFolder {
            account: BAKERY.into(),
            root: lib.dropbox.clone(),
        },
    )
    .unwrap();
    let mut exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xFF\xFF\x00\x00".to_vec();
    exe.resize(300, 0);
    for account in [ACME, BAKERY] {
        std::fs::write(lib.dropbox.join(account).join("setup.exe"), &exe).unwrap();
    }
    lib.import_once();
    let mut app = lib.app(OWNER);
    assert_eq!(app.scoped_account(), None);
    assert_eq!(app.error_rows().len(), 2);
    select(&mut app, BAKERY);
    assert_eq!(app.error_rows().len(), 1);
    assert_eq!(app.error_rows()[0].account, BAKERY);
    app.handle_key(key('g'));
    assert_eq!(app.scoped_account(), None, "g goes back to All accounts");
    assert_eq!(app.error_rows().len(), 2);
    // The report that lists each failure is known to the error log.
    assert!(app.error_rows().iter().all(|e| e.report.is_some()));
}

fn authorize_param<'a>(url: &'a str, name: &str) -> &'a str {
    url.split(['?', '&'])
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .unwrap()
}

#[test]
fn the_api_link_flow_finishes_with_the_pasted_code_against_the_emulator() {
    use smartimage::dropbox::api::Endpoints;
    use smartimage::dropbox::emulator::{AccountConfig, AuthCodeConfig, Emulator, EmulatorConfig};
    const DBX: &str = "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc";
    let lib = Lib::new();
    let root = lib.dir.path().join("emulator");
    let config = EmulatorConfig::new(&root).with_account(AccountConfig::new(
        DBX,
        "owner@example.com",
        "Owner Example",
    ));
    let (base, handle) = lib.rt.block_on(Emulator::start(config)).unwrap();
    let mut options = lib.options(OWNER);
    options.engine.backends.endpoints = Endpoints::single(&base);
    options.engine.backends.app_key = Some("test-app-key".into());
    let sessions = ApiLinkSessions::default();

    let url = actions::start_api_link(&options, &sessions, ACME).unwrap();
    assert_eq!(authorize_param(&url, "client_id"), "test-app-key");
    let mut app = lib.app(OWNER);
    app.api_link_started(ACME, Ok(url.clone()));
    let Some(Dialog::ApiLink { qr, .. }) = &app.dialog else {
        panic!("no API dialog")
    };
    assert!(qr.is_some(), "the URL is drawn as a QR code");
    handle.register_code(AuthCodeConfig {
        code: "pasted-code-1".into(),
        account_id: DBX.into(),
        code_challenge: Some(authorize_param(&url, "code_challenge").to_owned()),
    });
    // Issue 18: a wrong code closed the dialog with the message twice. It stays open, says
    // why once, and takes another code for the same page.
    app.handle_paste("mistyped-code");
    let effects = app.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    let [Effect::Run(wrong)] = &effects[..] else {
        panic!("{effects:?}")
    };
    assert!(matches!(
        app.dialog,
        Some(Dialog::ApiLink { checking: true, .. })
    ));
    let refused = lib.run_with(&options, &sessions, wrong.clone());
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(app.action_finished(wrong, refused.clone()), vec![]);
    let Some(Dialog::ApiLink {
        error: Some(shown),
        checking: false,
        field,
        ..
    }) = &app.dialog
    else {
        panic!("the dialog closed on a wrong code")
    };
    let refused = refused.unwrap_err().to_string();
    assert_eq!(shown, &refused);
    assert!(refused.contains("did not accept that code"), "{refused}");
    assert!(
        !refused.contains("relink") && refused.matches("authoriz").count() == 0,
        "one plain message, not the library's relink advice: {refused}"
    );
    assert_eq!(field.value(), "", "the field is ready for the next code");
    assert_eq!(app.status, None, "said once, in the dialog");
    app.handle_paste("pasted-code-1");
    let effects = app.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    let [Effect::Run(finish)] = &effects[..] else {
        panic!("{effects:?}")
    };
    assert!(
        !format!("{effects:?}").contains("pasted-code-1"),
        "the code is never printed"
    );
    // Everything the console logs goes to its file; the code and the tokens never do.
    let log_guard = smartimage::tui::logging::start(&lib.data).expect("the log starts");
    let message = lib.run_with(&options, &sessions, finish.clone()).unwrap();
    drop(log_guard);
    let log_dir = smartimage::tui::logging::log_dir(&lib.data);
    let log: String = std::fs::read_dir(&log_dir)
        .unwrap()
        .map(|f| std::fs::read_to_string(f.unwrap().path()).unwrap())
        .collect();
    assert!(log.contains("console action done"), "{log}");
    assert!(!log.contains("pasted-code-1"), "the code was logged: {log}");
    let tokens: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::fs::read_dir(lib.data.join("tokens"))
                .unwrap()
                .next()
                .unwrap()
                .unwrap()
                .path(),
        )
        .unwrap(),
    )
    .unwrap();
    for name in ["access_token", "refresh_token"] {
        let secret = tokens[name].as_str().unwrap();
        assert!(secret.len() >= 8, "{name}: {secret}");
        assert!(!log.contains(secret), "the {name} was logged: {log}");
    }
    assert!(message.contains("owner@example.com"), "{message}");
    app.action_finished(finish, Ok(message.clone()));
    assert!(app.dialog.is_none(), "linked: the dialog closes");
    assert!(handle.account_dir(DBX).unwrap().join(ACME).is_dir());
    // The verifier was used once: the same code cannot finish a second link.
    let again = lib
        .run_with(
            &options,
            &sessions,
            ConsoleAction::FinishApiLink {
                account: ACME.into(),
                code: Secret::new("pasted-code-1"),
            },
        )
        .unwrap_err()
        .to_string();
    assert!(again.contains("start it again"), "{again}");
}

#[test]
fn without_an_app_key_the_api_link_says_how_to_set_one() {
    let lib = Lib::new();
    let why = actions::start_api_link(&lib.options(OWNER), &ApiLinkSessions::default(), ACME)
        .unwrap_err()
        .to_string();
    assert!(why.contains("SMARTIMAGE_DROPBOX_APP_KEY"), "{why}");
}

#[test]
fn a_bad_keys_entry_stops_the_console_naming_the_key() {
    let lib = Lib::new();
    let config = lib.dir.path().join("config.toml");
    std::fs::write(&config, "[keys]\nquit = \"Hyper-x\"\n").unwrap();
    let out = lib
        .cli(OWNER, &[])
        .arg("--config")
        .arg(&config)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("[keys] quit = \"Hyper-x\"") && stderr.contains("not a key"),
        "{stderr}"
    );
    std::fs::write(&config, "[keys]\nquit = \"j\"\n").unwrap();
    let out = lib
        .cli(OWNER, &[])
        .arg("--config")
        .arg(&config)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("the key \"j\" would mean both"), "{stderr}");
}

#[test]
fn the_readme_names_every_action_the_keys_section_takes() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for name in smartimage::tui::keymap_config::action_names() {
        assert!(
            readme.contains(&format!("`{name}`")),
            "README misses {name}"
        );
    }
}

#[test]
fn overridden_keys_drive_the_console_and_its_footer_and_help_show_them() {
    use smartimage::tui::keymap_config::Keymap;
    use std::collections::BTreeMap;
    let lib = Lib::new();
    let mut app = lib.app(OWNER);
    let overrides = BTreeMap::from([("quit".to_string(), vec!["x".to_string()])]);
    app.keymap = Keymap::with_overrides(&overrides).unwrap();
    assert_eq!(app.handle_key(key('q')), vec![]);
    assert_eq!(app.handle_key(key('x')), vec![Effect::Quit]);
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).unwrap();
    terminal
        .draw(|f| smartimage::tui::layout::draw(f, &app))
        .unwrap();
    let screen = terminal.backend().to_string();
    let footer = screen.lines().last().unwrap();
    assert!(
        footer.contains("x quit") && !footer.contains("q quit"),
        "{footer}"
    );
    app.handle_key(KeyEvent::new(KeyCode::Char('?'), KeyModifiers::SHIFT));
    terminal
        .draw(|f| smartimage::tui::layout::draw(f, &app))
        .unwrap();
    let help = terminal.backend().to_string();
    assert!(
        help.lines()
            .any(|l| l.contains(" x ") && l.contains("quit (files in flight finish)")),
        "{help}"
    );
}

/// Owns Bakery only: an admin of another account, as far as Acme is concerned.
const OUTSIDER: &str = "bea@bakery.test";

/// Each console account action as each role, against the CLI verb it stands for, on two fresh
/// copies of the same library: the console is allowed exactly where the CLI is, refused with the
/// CLI's own sentence where it is not, and leaves the same audit rows.
#[test]
fn every_console_action_as_every_role_is_allowed_and_refused_exactly_as_the_cli_verb() {
    let roles = [OPERATOR, OWNER, ADMIN, OTHER_ADMIN, OUTSIDER];
    let mut checked = 0;
    let (mut allowed, mut refused) = (0, 0);
    for who in roles {
        for case in 0..6 {
            let console = Lib::for_matrix();
            let cli = Lib::for_matrix();
            let (action, args): (ConsoleAction, Vec<String>) = match case {
                0 => (
                    ConsoleAction::LinkFolder {
                        account: ACME.into(),
                        root: console.dropbox.clone(),
                    },
                    vec![
                        "link".into(),
                        "--account".into(),
                        ACME.into(),
                        "--local-folder".into(),
                        cli.dropbox.display().to_string(),
                    ],
                ),
                1..=3 => {
                    // The link exists already (made by its owner).
                    console.link_acme();
                    cli.link_acme();
                    let (state, verb) = match case {
                        1 => (LinkState::Paused, "pause"),
                        2 => (LinkState::Active, "resume"),
                        _ => (LinkState::Unlinked, "unlink"),
                    };
                    (
                        ConsoleAction::SetLinkState {
                            account: ACME.into(),
                            state,
                        },
                        vec![verb.into(), "--account".into(), ACME.into()],
                    )
                }
                4 => (
                    ConsoleAction::Delegate {
                        account: ACME.into(),
                        email: OTHER_ADMIN.into(),
                        revoke: false,
                    },
                    vec![
                        "delegate".into(),
                        OTHER_ADMIN.into(),
                        "--account".into(),
                        ACME.into(),
                    ],
                ),
                _ => {
                    console.link_acme();
                    cli.link_acme();
                    (
                        ConsoleAction::Retry {
                            account: ACME.into(),
                            items: vec![],
                        },
                        vec!["retry".into(), "--account".into(), ACME.into()],
                    )
                }
            };
            let before = console.audit().len();
            let (console_tables, cli_tables) = (
                tables::every_table(&console.data),
                tables::every_table(&cli.data),
            );
            let outcome = console.run(who, action.clone());
            let console_rows: Vec<_> = console.audit()[..console.audit().len() - before]
                .iter()
                .map(what)
                .collect();
            let cli_before = cli.audit().len();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = cli.cli(who, &args).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            let cli_rows: Vec<_> = cli.audit()[..cli.audit().len() - cli_before]
                .iter()
                .map(what)
                .collect();
            match &outcome {
                Ok(_) => {
                    assert!(
                        out.status.success(),
                        "{who} {action:?}: the console allowed it, the CLI said {stderr}"
                    );
                    allowed += 1;
                }
                Err(text) => {
                    assert_eq!(
                        out.status.code(),
                        Some(3),
                        "{who} {action:?}: the console refused ({text}), the CLI did not: {stderr}"
                    );
                    assert!(
                        stderr.contains(text.to_string().as_str()),
                        "{stderr}\nvs\n{text}"
                    );
                    assert!(console_rows.is_empty(), "{console_rows:?}");
                    // A refusal writes nothing: every table as it was, on both copies.
                    tables::assert_unchanged(
                        &console_tables,
                        &tables::every_table(&console.data),
                        &format!("{who}'s refused console {action:?}"),
                    );
                    tables::assert_unchanged(
                        &cli_tables,
                        &tables::every_table(&cli.data),
                        &format!("{who}'s refused CLI {args:?}"),
                    );
                    refused += 1;
                }
            }
            // Same audit rows; the link folder's path differs between the two copies.
            let normalise = |rows: Vec<AuditWhat>, lib: &Lib| {
                let dir = lib.dir.path().display().to_string();
                rows.into_iter()
                    .map(|(a, b, c, d, e)| (a, b, c, d, e.map(|e| e.replace(&dir, "<dir>"))))
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                normalise(console_rows, &console),
                normalise(cli_rows, &cli),
                "{who} {action:?}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 30);
    eprintln!("console permission matrix: {checked} cases, {allowed} allowed, {refused} refused");
    // Owners may do everything here; someone from another account nothing.
    assert!(
        allowed >= 6 && refused >= 6,
        "{allowed} allowed, {refused} refused"
    );
}

impl Lib {
    /// `Lib::new` plus Bea, owner of Bakery only, and Ada delegated by Olivia for Acme.
    fn for_matrix() -> Lib {
        let lib = Lib::new();
        let mut library = Library::open(&lib.data, PlanCatalog::defaults()).unwrap();
        add_admins(&mut library, OPERATOR, &[(OUTSIDER, &[BAKERY], &[])]);
        drop(library);
        lib.run(
            OWNER,
            ConsoleAction::Delegate {
                account: ACME.into(),
                email: ADMIN.into(),
                revoke: false,
            },
        )
        .unwrap();
        lib
    }
}

fn png(seed: u8) -> Vec<u8> {
    let mut b =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    b.extend([seed; 64]);
    b
}

#[test]
fn upload_from_the_keys_counts_the_files_stores_them_and_reports_each_as_a_row() {
    let lib = Lib::new();
    let src = lib.dir.path().join("to upload");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("a.png"), png(1)).unwrap();
    std::fs::write(src.join("sub/b.png"), png(2)).unwrap();
    std::fs::write(src.join("fake.jpg"), b"just some text, not a picture").unwrap();
    let before: Vec<_> = ["a.png", "sub/b.png", "fake.jpg"]
        .map(|f| std::fs::read(src.join(f)).unwrap())
        .into();

    let mut app = lib.app(OWNER);
    select(&mut app, ACME);
    app.focus = PaneId::Files;
    assert_eq!(app.handle_key(key('u')), vec![]);
    assert!(matches!(app.dialog, Some(Dialog::Upload(_))));
    // Typed with an escaped space, then Tab: the folder completes and its files are counted.
    let typed = format!("{}/to\\ up", lib.dir.path().display());
    for c in typed.chars() {
        app.handle_key(key(c));
    }
    let effects = app.handle_key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE));
    let [
        Effect::UploadLookup {
            text,
            complete: true,
        },
    ] = &effects[..]
    else {
        panic!("{effects:?}")
    };
    assert_eq!(text, &typed);
    let completed = smartimage::tui::path_completion::complete(text);
    let paths = smartimage::tui::paste_paths::parse_paths(&completed.value);
    assert_eq!(paths, vec![src.clone()]);
    let preview = smartimage::import::upload::preview(&paths).map_err(|e| e.to_string());
    app.upload_looked_up(text, completed.value.clone(), completed.candidates, preview);
    let Some(Dialog::Upload(dialog)) = &app.dialog else {
        panic!("the dialog closed")
    };
    assert_eq!(dialog.field.value(), format!("'{}/'", src.display()));
    let smartimage::tui::dialogs::upload::Lookup::Ready { preview: Ok(p), .. } = &dialog.lookup
    else {
        panic!("{:?}", dialog.lookup)
    };
    assert_eq!(p.files, 3);

    let effects = app.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    let [Effect::Run(action)] = &effects[..] else {
        panic!("{effects:?}")
    };
    assert!(app.dialog.is_none());
    let (outcome, events) = lib.run_reporting(OWNER, action.clone());
    let message = outcome.clone().unwrap();
    assert!(message.starts_with("uploaded 2 file(s)"), "{message}");
    assert!(message.contains("1 rejected"), "{message}");
    for event in events {
        app.apply_engine(event);
    }
    let rows = app.queue_rows();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r.upload && r.account == ACME));
    let errors = app.error_rows();
    assert_eq!(errors.len(), 1);
    assert!(errors[0].upload && errors[0].path.ends_with("fake.jpg"));
    assert_eq!(errors[0].kind, ErrorKind::UnsupportedFormat);
    // A refused upload is not sent back to an engine: it says to upload again.
    app.focus = PaneId::Errors;
    assert_eq!(app.handle_key(key('r')), vec![]);
    assert!(
        app.last_problem
            .as_deref()
            .unwrap()
            .contains("upload it again")
    );
    assert_eq!(app.action_finished(action, outcome), vec![Effect::Refresh]);
    // The live rejection stays in the log after the library is read again.
    app.apply_view(load_view(&lib.options(OWNER)).unwrap());
    assert_eq!(app.error_rows().len(), 1);
    let library = Library::open(&lib.data, PlanCatalog::defaults()).unwrap();
    let owner = library.actor(Some(OWNER), None).unwrap();
    let uploaded = library
        .list_files(
            &owner,
            &smartimage::library::organise::FileFilter {
                account: Some(ACME.into()),
                source: Some(smartimage::library::model::Source::Upload),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        uploaded.iter().filter(|f| f.name.ends_with(".png")).count(),
        2
    );
    let after: Vec<_> = ["a.png", "sub/b.png", "fake.jpg"]
        .map(|f| std::fs::read(src.join(f)).unwrap())
        .into();
    assert_eq!(before, after, "the source files are never changed");
}

#[test]
fn upload_is_checked_before_the_dialog_opens_with_the_clis_own_sentence() {
    let lib = Lib::new();
    let mut app = lib.app(ADMIN);
    select(&mut app, ACME);
    // Removed from the account since the console last read the library.
    if let Some(actor) = app.view.actor.as_mut() {
        actor.memberships.clear();
    }
    app.focus = PaneId::Files;
    assert_eq!(app.handle_key(key('u')), vec![]);
    let Some(Dialog::Notice { title, text }) = &app.dialog else {
        panic!("no notice")
    };
    assert_eq!(title, "Not allowed");
    let outsider = "zoe@elsewhere.test";
    {
        let mut l = Library::open(&lib.data, PlanCatalog::defaults()).unwrap();
        add_admins(&mut l, OPERATOR, &[(outsider, &[], &[BAKERY])]);
    }
    let out = lib
        .cli(outsider, &["upload", "--account", ACME, "/nonexistent"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    let cli_sentence = said.replace(outsider, ADMIN);
    assert!(cli_sentence.contains(text.as_str()), "{said} vs {text}");
}

#[test]
fn every_file_of_an_upload_gets_one_outcome_even_when_named_twice() {
    let lib = Lib::new();
    let src = lib.dir.path().join("twice");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("a.png"), png(3)).unwrap();
    std::fs::write(src.join("b.txt"), b"text").unwrap();
    let (outcome, events) = lib.run_reporting(
        OWNER,
        ConsoleAction::Upload {
            account: ACME.into(),
            paths: vec![src.clone(), src.join("a.png")],
        },
    );
    outcome.unwrap();
    let queued: Vec<ItemId> = events
        .iter()
        .filter_map(|e| match e {
            EngineEvent::UploadQueued(u) => Some(u.upload),
            _ => None,
        })
        .collect();
    let mut finished: Vec<ItemId> = events
        .iter()
        .filter_map(|e| match e {
            EngineEvent::Uploaded { upload, .. }
            | EngineEvent::UploadRefused { upload, .. }
            | EngineEvent::UploadSkipped { upload, .. } => Some(upload.upload),
            _ => None,
        })
        .collect();
    assert_eq!(queued.len(), 3);
    // The second a.png is the first one's bytes: skipped as a duplicate, not stored twice.
    let skipped: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            EngineEvent::UploadSkipped { upload, reason } => Some((upload.upload, reason.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(skipped, vec![(queued[2], "duplicate")], "{events:?}");
    finished.sort();
    let mut expected = queued.clone();
    expected.sort();
    assert_eq!(finished, expected, "{events:?}");
}

/// A synced-folder link sends (the downloads folder is a folder beside Acme's) but cannot make
/// shared links: `L` says so before anything is copied, and the Sent notice offers no share.
#[test]
fn a_synced_folder_sends_from_all_files_but_share_says_it_needs_the_api_first() {
    use smartimage::tui::app::serve_now;
    use smartimage::tui::sending::{self, SendJob};
    let lib = Lib::new();
    lib.link_acme();
    std::fs::write(lib.dropbox.join(ACME).join("logo.png"), png(7)).unwrap();
    lib.import_once();
    let mut app = lib.app(OWNER);
    let mut effects = vec![];
    app.focus = PaneId::Accounts;
    while app.scoped_account() != Some(ACME) {
        effects.extend(app.handle_key(key('j')));
    }
    let mut library = Library::open(&lib.data, PlanCatalog::defaults()).unwrap();
    let owner = library.actor(Some(OWNER), None).unwrap();
    serve_now(&mut app, &mut library, &owner, effects);
    app.focus = PaneId::Files;
    assert_eq!(app.files.rows.len(), 1);

    assert_eq!(app.handle_key(key('L')), vec![]);
    let Some(Dialog::Notice { title, text }) = &app.dialog else {
        panic!("no notice")
    };
    assert_eq!(title, "Not shared");
    assert!(text.contains("sharing needs the Dropbox API"), "{text}");
    let downloads = lib.dropbox.join("Acme Marketing (from Smartimage)");
    assert!(!downloads.exists(), "nothing was copied before the refusal");

    app.dialog = None;
    app.handle_key(key('X'));
    let effects = app.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    let [Effect::Send(job @ SendJob::Export(_))] = &effects[..] else {
        panic!("{effects:?}")
    };
    let outcome = sending::run(&lib.options(OWNER), lib.rt.handle(), job.clone(), &|_| {});
    app.send_finished(job, outcome);
    let Some(Dialog::Sent(sent)) = &app.dialog else {
        panic!("no Sent dialog")
    };
    assert_eq!(
        sent.lines,
        ["Sent 1 file (97 B) to /Acme Marketing (from Smartimage)"]
    );
    assert!(sent.share.is_none(), "a synced folder cannot share");
    assert_eq!(
        std::fs::read(downloads.join("logo.png")).unwrap(),
        png(7),
        "the library's bytes"
    );
}
