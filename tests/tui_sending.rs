#![cfg(feature = "emulator")]
//! Send to Dropbox and Share from the console's All Files, driven by keys against a real
//! library and the Dropbox API emulator: the files land in the downloads folder with the
//! library's bytes, a second send is renamed (never overwrites), a share reuses its link,
//! each is audited as the CLI's verbs are, the library is never changed, and an admin without
//! the right gets the CLI's own sentence with nothing sent.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use smartimage::dropbox::api::Endpoints;
use smartimage::dropbox::emulator::EmulatorConfig;
use smartimage::dropbox::emulator::{AccountConfig, Emulator, EmulatorHandle};
use smartimage::dropbox::sending::content_hash_of_file;
use smartimage::export::ExportEvent;
use smartimage::library::Library;
use smartimage::library::ids::FileId;
use smartimage::library::local_source::UploadOptions;
use smartimage::library::model::FileRecord;
use smartimage::library::organise::{FileFilter, FileSelection};
use smartimage::library::outgoing::OutgoingSelection;
use smartimage::library::policy::PlanCatalog;
use smartimage::tui::app::serve_now;
use smartimage::tui::app::{App, Effect, PaneId};
use smartimage::tui::dialogs::Dialog;
use smartimage::tui::sending::{self, SendDone, SendJob};
use smartimage::tui::theme::Theme;
use smartimage::tui::{ConsoleOptions, load_view};

#[path = "support/api_link.rs"]
mod api_link;
use api_link::link_through_emulator;
#[path = "support/people.rs"]
mod people;
use people::add_admins;

const OPERATOR: &str = "op@example.com";
const OWNER: &str = "olivia@acme.test";
/// An admin of Acme whom no owner delegated: may organise, may not send.
const ADMIN: &str = "ada@acme.test";
const ACME: &str = "Acme";
const DBX: &str = "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc";
const APP_KEY: &str = "console-app-key";
const DOWNLOADS: &str = "Acme (from Smartimage)";

struct Setup {
    dir: tempfile::TempDir,
    data: PathBuf,
    sources: PathBuf,
    rt: tokio::runtime::Runtime,
    base: String,
    emulator: EmulatorHandle,
}

fn png(seed: u8) -> Vec<u8> {
    let mut png =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    png.resize(700 + seed as usize, seed);
    png
}

impl Setup {
    /// Acme owned by Olivia, with Ada as a plain admin; two uploaded images in "Summer";
    /// Acme linked through the Dropbox API (the emulator).
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let sources = dir.path().join("sources");
        std::fs::create_dir_all(&sources).unwrap();
        let rt = tokio::runtime::Runtime::new().unwrap();
        let mut lib = Library::open(&data, PlanCatalog::defaults()).unwrap();
        lib.init(OPERATOR, None, Some("nobody-in-tests")).unwrap();
        let op = lib.actor(Some(OPERATOR), None).unwrap();
        lib.add_account(&op, ACME, "team").unwrap();
        add_admins(
            &mut lib,
            OPERATOR,
            &[(OWNER, &[ACME], &[]), (ADMIN, &[], &[ACME])],
        );
        let owner = lib.actor(Some(OWNER), None).unwrap();
        for (name, seed) in [("a.png", 1u8), ("b.png", 2)] {
            std::fs::write(sources.join(name), png(seed)).unwrap();
        }
        let summary = smartimage::import::upload::upload(
            &mut lib,
            &owner,
            ACME,
            std::slice::from_ref(&sources),
            UploadOptions::default(),
            |_| {},
        )
        .unwrap();
        assert_eq!(summary.uploaded, 2);
        let ids: Vec<FileId> = lib
            .list_files(&owner, &FileFilter::default())
            .unwrap()
            .iter()
            .map(|f| f.id)
            .collect();
        lib.add_to_collection(&owner, ACME, "Summer", true, &FileSelection::Ids(ids))
            .unwrap();

        let root = dir.path().join("emulator");
        let config =
            EmulatorConfig::new(&root).with_account(AccountConfig::new(DBX, OWNER, "Olivia Owner"));
        let (base, emulator) = rt.block_on(Emulator::start(config)).unwrap();
        rt.block_on(link_through_emulator(
            &mut lib,
            &owner,
            ACME,
            (&base, &emulator),
            DBX,
            APP_KEY,
        ));
        Setup {
            dir,
            data,
            sources,
            rt,
            base,
            emulator,
        }
    }

    fn options(&self, who: &str) -> ConsoleOptions {
        let mut options = ConsoleOptions {
            data_dir: self.data.clone(),
            plans: PlanCatalog::defaults(),
            as_admin: Some(who.into()),
            os_user: None,
            admin_label: who.into(),
            engine: Default::default(),
            send: Default::default(),
            keymap: Default::default(),
        };
        options.engine.backends.endpoints = Endpoints::single(&self.base);
        options.engine.backends.app_key = Some(APP_KEY.into());
        options
    }

    /// The console as `who`, on Acme's files in All Files (read as its worker would).
    fn app(&self, who: &str) -> App {
        let mut app = App::new("lib".into(), who.into(), Theme { color: false });
        app.apply_view(load_view(&self.options(who)).unwrap());
        app.focus = PaneId::Accounts;
        let mut effects = vec![];
        while app.scoped_account() != Some(ACME) {
            effects.extend(app.handle_key(key('j')));
        }
        app.focus = PaneId::Files;
        self.serve(&mut app, who, effects);
        assert_eq!(app.files.rows.len(), 2);
        app
    }

    fn serve(&self, app: &mut App, who: &str, effects: Vec<Effect>) -> Vec<Effect> {
        let mut lib = Library::open(&self.data, PlanCatalog::defaults()).unwrap();
        let actor = lib.actor(Some(who), None).unwrap();
        serve_now(app, &mut lib, &actor, effects)
    }

    /// Run the send the keys asked for, as the event loop does (off the UI task), feeding its
    /// progress back; then end it in the app.
    fn run(&self, app: &mut App, who: &str, effects: Vec<Effect>) -> Vec<ExportEvent> {
        let [Effect::Send(job)] = &effects[..] else {
            panic!("{effects:?}")
        };
        let events = std::sync::Mutex::new(Vec::new());
        let outcome = sending::run(&self.options(who), self.rt.handle(), job.clone(), &|e| {
            events.lock().unwrap().push(e)
        });
        let events = events.into_inner().unwrap();
        for event in events.clone() {
            app.send_progress(event);
        }
        assert!(app.sending.is_some(), "the footer follows the send");
        app.send_finished(job, outcome);
        assert!(app.sending.is_none());
        events
    }

    /// Uploads another file named `name` (other bytes) to Acme; its id.
    fn upload_other(&self, name: &str) -> FileId {
        let dir = self.dir.path().join("other");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), png(9)).unwrap();
        let mut lib = Library::open(&self.data, PlanCatalog::defaults()).unwrap();
        let owner = lib.actor(Some(OWNER), None).unwrap();
        let before: Vec<FileId> = self.files().iter().map(|f| f.id).collect();
        smartimage::import::upload::upload(
            &mut lib,
            &owner,
            ACME,
            &[dir],
            UploadOptions::default(),
            |_| {},
        )
        .unwrap();
        let after = self.files();
        after.iter().find(|f| !before.contains(&f.id)).unwrap().id
    }

    fn downloads(&self) -> PathBuf {
        self.emulator.account_dir(DBX).unwrap().join(DOWNLOADS)
    }

    fn files(&self) -> Vec<FileRecord> {
        let lib = Library::open(&self.data, PlanCatalog::defaults()).unwrap();
        let op = lib.actor(Some(OPERATOR), None).unwrap();
        lib.list_files(&op, &FileFilter::default()).unwrap()
    }

    /// (actor, action, detail) of the export and share rows, oldest first.
    fn sending_audit(&self) -> Vec<(String, String, String)> {
        let lib = Library::open(&self.data, PlanCatalog::defaults()).unwrap();
        let op = lib.actor(Some(OPERATOR), None).unwrap();
        let mut rows: Vec<_> = lib
            .audit(&op, 100)
            .unwrap()
            .into_iter()
            .filter(|e| e.action == "export" || e.action == "share")
            .map(|e| (e.actor, e.action, e.detail.unwrap_or_default()))
            .collect();
        rows.reverse();
        rows
    }

    fn cli_stderr(&self, who: &str, args: &[&str]) -> String {
        let out = Command::cargo_bin("smartimage")
            .unwrap()
            .env_remove("SMARTIMAGE_ADMIN")
            .env_remove("SMARTIMAGE_DATA_DIR")
            .arg("--data-dir")
            .arg(&self.data)
            .args(["--as", who])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3), "{out:?}");
        String::from_utf8(out.stderr).unwrap()
    }
}

fn key(c: char) -> KeyEvent {
    let shift = if c.is_ascii_uppercase() {
        KeyModifiers::SHIFT
    } else {
        KeyModifiers::NONE
    };
    KeyEvent::new(KeyCode::Char(c), shift)
}

fn enter() -> KeyEvent {
    KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn hash(path: &Path) -> String {
    content_hash_of_file(path).unwrap().0
}

#[test]
fn send_marked_files_then_again_renamed_share_twice_one_link_all_audited() {
    let setup = Setup::new();
    let untouched = setup.files();
    let mut app = setup.app(OWNER);

    // Space marks both files; X opens Send, which says what goes where.
    app.handle_key(key(' '));
    app.handle_key(key(' '));
    assert_eq!(app.handle_key(key('X')), vec![]);
    let Some(Dialog::Send(dialog)) = &app.dialog else {
        panic!("no Send dialog: {:?}", app.dialog.is_some())
    };
    assert_eq!(dialog.what, "2 marked files");
    assert_eq!(dialog.destination(), format!("/{DOWNLOADS}"));
    // Esc cancels with nothing done.
    assert_eq!(
        app.handle_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)),
        vec![]
    );
    assert!(app.dialog.is_none());
    assert!(names_in(&setup.downloads()).is_empty());

    app.handle_key(key('X'));
    for c in "Picks".chars() {
        app.handle_key(key(c));
    }
    let effects = app.handle_key(enter());
    let events = setup.run(&mut app, OWNER, effects);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, ExportEvent::Planned { files: 2, .. })),
        "{events:?}"
    );
    let Some(Dialog::Sent(sent)) = &app.dialog else {
        panic!("no Sent dialog")
    };
    assert!(
        sent.lines[0].starts_with("Sent 2 files (")
            && sent.lines[0].ends_with(&format!("to /{DOWNLOADS}/Picks")),
        "{:?}",
        sent.lines
    );
    let picks = setup.downloads().join("Picks");
    assert_eq!(names_in(&picks), ["a.png", "b.png"]);
    for name in ["a.png", "b.png"] {
        assert_eq!(
            hash(&picks.join(name)),
            hash(&setup.sources.join(name)),
            "{name}"
        );
    }

    // The same again: the same bytes are left as they are (Dropbox's add mode), no copies.
    app.dialog = None;
    app.handle_key(key('X'));
    for c in "Picks".chars() {
        app.handle_key(key(c));
    }
    let effects = app.handle_key(enter());
    setup.run(&mut app, OWNER, effects);
    assert_eq!(names_in(&picks), ["a.png", "b.png"]);
    assert_eq!(setup.files(), untouched, "a send never changes the library");

    // Other bytes under a taken name (nothing marked: the highlighted file goes): renamed
    // beside it, the first copy untouched.
    app.dialog = None;
    app.handle_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)); // clear the marks
    let other = setup.upload_other("a.png");
    let effects = app.files_reload();
    setup.serve(&mut app, OWNER, effects);
    app.files.cursor = app.files.rows.iter().position(|f| f.id == other).unwrap();
    app.handle_key(key('X'));
    let Some(Dialog::Send(dialog)) = &app.dialog else {
        panic!("no Send dialog")
    };
    assert_eq!(dialog.what, "a.png");
    assert_eq!(dialog.selection, OutgoingSelection::Ids(vec![other]));
    for c in "Picks".chars() {
        app.handle_key(key(c));
    }
    let effects = app.handle_key(enter());
    setup.run(&mut app, OWNER, effects);
    assert_eq!(names_in(&picks), ["a (1).png", "a.png", "b.png"]);
    assert_eq!(
        hash(&picks.join("a.png")),
        hash(&setup.sources.join("a.png"))
    );
    assert_eq!(
        hash(&picks.join("a (1).png")),
        hash(&setup.dir.path().join("other").join("a.png"))
    );
    let library_before = setup.files();

    // L shares the highlighted file: a link, shown with its QR code; again, the same link.
    app.dialog = None;
    // The highlighted file is the other a.png: its copy in Dropbox is the renamed one.
    assert_eq!(app.files.selected().unwrap().id, other);
    let effects = app.handle_key(key('L'));
    setup.run(&mut app, OWNER, effects);
    let Some(Dialog::Share(first)) = &app.dialog else {
        panic!("no Share dialog")
    };
    assert!(first.url.starts_with("http"), "{}", first.url);
    assert!(first.created);
    assert!(first.qr.is_some(), "the link is drawn as a QR code");
    assert_eq!(first.path, format!("/{DOWNLOADS}/Picks/a (1).png"));
    let url = first.url.clone();
    app.dialog = None;
    let effects = app.handle_key(key('L'));
    setup.run(&mut app, OWNER, effects);
    let Some(Dialog::Share(again)) = &app.dialog else {
        panic!("no Share dialog")
    };
    assert_eq!(again.url, url);
    assert!(!again.created);

    // Audited as the CLI's verbs are; the library is as it was.
    let audit = setup.sending_audit();
    let actions: Vec<(&str, &str)> = audit
        .iter()
        .map(|(who, what, _)| (who.as_str(), what.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            (OWNER, "export"),
            (OWNER, "export"),
            (OWNER, "export"),
            (OWNER, "share"),
            (OWNER, "share")
        ]
    );
    assert!(
        audit[0].2.starts_with("sent 2 of 2 files") && audit[0].2.ends_with("/Picks"),
        "{audit:?}"
    );
    assert_eq!(setup.files(), library_before);
    drop(setup.dir);
}

#[test]
fn star_under_the_collection_filter_sends_the_collection_into_its_subfolder() {
    let setup = Setup::new();
    let mut app = setup.app(OWNER);
    let effects = app.handle_key(key('o')); // the collection filter: Summer
    setup.serve(&mut app, OWNER, effects);
    assert_eq!(app.files.collection.as_deref(), Some("Summer"));
    let effects = app.handle_key(key('*'));
    setup.serve(&mut app, OWNER, effects);
    app.handle_key(key('X'));
    let Some(Dialog::Send(dialog)) = &app.dialog else {
        panic!("no Send dialog")
    };
    assert_eq!(
        dialog.selection,
        OutgoingSelection::Collection("Summer".into())
    );
    assert_eq!(dialog.what, "all 2 files of the collection Summer");
    assert_eq!(dialog.destination(), format!("/{DOWNLOADS}/Summer"));
    let effects = app.handle_key(enter());
    setup.run(&mut app, OWNER, effects);
    assert_eq!(
        names_in(&setup.downloads().join("Summer")),
        ["a.png", "b.png"]
    );
    // L with the collection marked shares its folder.
    app.dialog = None;
    let effects = app.handle_key(key('L'));
    setup.run(&mut app, OWNER, effects);
    let Some(Dialog::Share(link)) = &app.dialog else {
        panic!("no Share dialog")
    };
    assert_eq!(link.path, format!("/{DOWNLOADS}/Summer"));

    // One unticked: everything matching less it, into the folder typed (no collection folder).
    app.dialog = None;
    app.handle_key(key('g'));
    let unticked = app.files.selected().unwrap().name.clone();
    let effects = app.handle_key(key(' '));
    setup.serve(&mut app, OWNER, effects);
    app.handle_key(key('X'));
    let Some(Dialog::Send(dialog)) = &app.dialog else {
        panic!("no Send dialog")
    };
    assert_eq!(dialog.what, "all 1 file matching in Summer");
    assert!(
        matches!(&dialog.selection, OutgoingSelection::Matching { exclude, .. } if exclude.len() == 1),
        "{:?}",
        dialog.selection
    );
    for c in "Less one".chars() {
        app.handle_key(key(c));
    }
    let effects = app.handle_key(enter());
    setup.run(&mut app, OWNER, effects);
    let sent = names_in(&setup.downloads().join("Less one"));
    assert_eq!(sent.len(), 1);
    assert_ne!(sent[0], unticked);
}

#[test]
fn an_admin_without_the_right_gets_the_clis_sentence_and_nothing_is_sent() {
    let setup = Setup::new();
    let mut app = setup.app(ADMIN);
    let id = app.files.selected().unwrap().id.to_string();
    let cli = setup.cli_stderr(ADMIN, &["export", "--account", ACME, &id]);
    for c in ['X', 'L'] {
        app.dialog = None;
        assert_eq!(app.handle_key(key(c)), vec![], "{c}: nothing runs");
        let Some(Dialog::Notice { title, text }) = &app.dialog else {
            panic!("{c}: no notice")
        };
        assert_eq!(title, "Not allowed");
        assert!(cli.contains(text.as_str()), "{c}: {text:?} vs {cli:?}");
        assert!(text.contains("may not send files"), "{text}");
    }
    // Even if a Send were run as Ada (a stale console), the engine refuses it the same way.
    let job = SendJob::Export(smartimage::export::ExportRequest {
        account: ACME.into(),
        selection: OutgoingSelection::Ids(vec![id.parse().unwrap()]),
        subfolder: None,
    });
    let refused = sending::run(&setup.options(ADMIN), setup.rt.handle(), job, &|_| {}).unwrap_err();
    assert!(cli.contains(&refused), "{refused:?} vs {cli:?}");
    // Nothing to send is said, not sent.
    assert!(!matches!(
        sending::run(
            &setup.options(OWNER),
            setup.rt.handle(),
            SendJob::Export(smartimage::export::ExportRequest {
                account: ACME.into(),
                selection: OutgoingSelection::Ids(vec![]),
                subfolder: None,
            }),
            &|_| {}
        ),
        Ok(SendDone::Exported(_))
    ));
    assert!(names_in(&setup.downloads()).is_empty());
    assert!(setup.sending_audit().is_empty());
}
