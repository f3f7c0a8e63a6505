//! All Files as drawn, from the demo library (`smartimage demo --headless`): the pane filtered to
//! Dropbox uploads with marks, the edit dialog, its collection picker (filtered, naming a new
//! collection), batch add to a new collection (named, confirmed, saved) — at 80x24 and 120x40,
//! with colour and `NO_COLOR`, each on its own copy of the demo library.

use smartimage::library::ids::{FileId, ItemId};
use std::path::{Path, PathBuf};
use std::process::Command;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use smartimage::library::Library;
use smartimage::library::organise::{FileFilter, FileSelection};
use smartimage::library::policy::PlanCatalog;
use smartimage::library::store::SortKey;
use smartimage::tui::app::serve_now;
use smartimage::tui::app::{App, Effect, EngineStatus, PaneId};
use smartimage::tui::dialogs::Dialog;
use smartimage::tui::dialogs::collections::BatchTarget;
use smartimage::tui::theme::Theme;
use smartimage::tui::{ConsoleOptions, layout, load_view};

const OPERATOR: &str = "operator@demo.smartimage.test";
const FIXED_TIME: i64 = 1_795_000_000;
/// What a row's `duplicate_of` is pinned to on screen.
const PINNED_ID: FileId = FileId(42);
const SIZES: [(u16, u16); 3] = [(80, 24), (120, 40), (200, 60)];

fn demo() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let made = Command::new(env!("CARGO_BIN_EXE_smartimage"))
        .args(["demo", "--headless", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    (dir, data)
}

struct Console {
    app: App,
    library: Library,
    admin: &'static str,
}

impl Console {
    fn open(data: &Path, theme: Theme) -> Console {
        Console::open_as(data, theme, OPERATOR)
    }

    fn open_as(data: &Path, theme: Theme, admin: &'static str) -> Console {
        let library = Library::open(data, PlanCatalog::default()).unwrap();
        let mut app = App::new("/srv/smartimage".into(), admin.into(), theme);
        app.engine = EngineStatus::Watching;
        let options = ConsoleOptions {
            data_dir: data.to_path_buf(),
            plans: PlanCatalog::default(),
            as_admin: Some(admin.into()),
            os_user: None,
            admin_label: admin.into(),
            engine: Default::default(),
            send: Default::default(),
            keymap: Default::default(),
        };
        let mut view = load_view(&options).unwrap();
        // The synced folder is a temporary dir: pinned, so snapshots hold.
        for a in &mut view.accounts {
            if let Some(d) = &mut a.dropbox {
                d.dropbox_account = "/srv/Dropbox".into();
            }
        }
        app.apply_view(view);
        for e in &mut app.errors.rows {
            e.at = FIXED_TIME;
        }
        app.errors.rows.sort_by(|a, b| a.path.cmp(&b.path));
        let mut console = Console {
            app,
            library,
            admin,
        };
        console.app.files.order.sort = SortKey::Name;
        console.app.files.order.descending = false;
        console.app.focus = PaneId::Accounts;
        // Acme Marketing: collections belong to one account.
        console.key(KeyCode::Down);
        console.app.focus = PaneId::Files;
        console
    }

    fn settle(&mut self, effects: Vec<Effect>) {
        let actor = self.library.actor(Some(self.admin), None).unwrap();
        serve_now(&mut self.app, &mut self.library, &actor, effects);
        for f in &mut self.app.files.rows {
            f.imported_at = FIXED_TIME;
            if f.trashed_at.is_some() {
                f.trashed_at = Some(FIXED_TIME + 3600);
            }
            // The demo imports in parallel: ids differ from run to run.
            if f.duplicate_of.is_some() {
                f.duplicate_of = Some(PINNED_ID);
            }
        }
        if let Some(Dialog::Edit(d)) = &mut self.app.dialog {
            d.data.file.imported_at = FIXED_TIME;
        }
    }

    fn key(&mut self, code: KeyCode) {
        let effects = self.app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
        self.settle(effects);
    }

    fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            self.key(KeyCode::Char(c));
        }
    }

    /// Snapshots the screen at both sizes; returns the screens' text.
    fn snapshot(&self, name: &str, theme: Theme) -> Vec<String> {
        let mode = if theme.color { "colour" } else { "no_color" };
        let mut screens = Vec::new();
        for (w, h) in SIZES {
            let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
            terminal.draw(|f| layout::draw(f, &self.app)).unwrap();
            if !theme.color {
                for cell in terminal.backend().buffer().content() {
                    assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset), "{cell:?}");
                }
            }
            insta::assert_snapshot!(format!("{name}_{w}x{h}_{mode}"), terminal.backend());
            screens.push(terminal.backend().to_string());
        }
        screens
    }
}

/// A demo library with two collections in Acme Marketing, hero.jpg in one, so the picker has
/// boxes to show ticked and not.
fn demo_with_collections() -> (tempfile::TempDir, PathBuf) {
    let (dir, data) = demo();
    let mut lib = Library::open(&data, PlanCatalog::default()).unwrap();
    let op = lib.actor(Some(OPERATOR), None).unwrap();
    let hero = FileSelection::Matching {
        filter: FileFilter {
            name_contains: Some("hero".into()),
            ..FileFilter::default()
        },
        exclude: vec![],
    };
    lib.add_to_collection(&op, "Acme Marketing", "Campaign 2026", true, &hero)
        .unwrap();
    lib.add_to_collection(
        &op,
        "Acme Marketing",
        "Press",
        true,
        &FileSelection::Ids(vec![]),
    )
    .unwrap();
    (dir, data)
}

/// Acme Marketing's collections and how many files each holds.
fn collections(data: &Path) -> Vec<(String, u64)> {
    let lib = Library::open(data, PlanCatalog::default()).unwrap();
    let op = lib.actor(Some(OPERATOR), None).unwrap();
    let mut all: Vec<(String, u64)> = lib
        .list_collections(&op, Some("Acme Marketing"))
        .unwrap()
        .into_iter()
        .map(|(_, c)| (c.name, c.file_count))
        .collect();
    all.sort();
    all
}

#[test]
fn the_pane_the_dialogs_and_the_confirmation_at_both_sizes() {
    let mut screens: Vec<Vec<String>> = Vec::new();
    for theme in [Theme { color: true }, Theme { color: false }] {
        // Each theme on its own library: the batch add below is saved, and the other theme must
        // not start from its result.
        let (_dir, data) = demo_with_collections();
        let mut c = Console::open(&data, theme);
        let mut shown = Vec::new();
        c.key(KeyCode::Char('d'));
        c.key(KeyCode::Char(' '));
        c.key(KeyCode::Char(' '));
        shown.extend(c.snapshot("all_files_dropbox_marked", theme));

        c.key(KeyCode::Up);
        c.key(KeyCode::Char('e'));
        assert!(matches!(c.app.dialog, Some(Dialog::Edit(_))));
        shown.extend(c.snapshot("all_files_edit", theme));

        // The picker: filter the collections, then name a new one (the edit is cancelled).
        c.key(KeyCode::Char('/'));
        c.type_text("pr");
        c.key(KeyCode::Enter);
        c.key(KeyCode::Down);
        c.key(KeyCode::Enter);
        c.type_text("Spring launch");
        shown.extend(c.snapshot("all_files_picker_new_collection", theme));
        c.key(KeyCode::Esc);
        c.key(KeyCode::Esc);
        assert!(c.app.dialog.is_none());

        // Batch add to a new collection: *New collection…* is the last entry of the picker.
        c.key(KeyCode::Char('*'));
        c.key(KeyCode::Char('c'));
        let Some(Dialog::Batch(batch)) = &c.app.dialog else {
            panic!("no batch dialog");
        };
        assert!(!batch.picker.on_new(), "the picker starts on a collection");
        c.key(KeyCode::End);
        c.key(KeyCode::Enter);
        c.type_text("Dropbox picks");
        shown.extend(c.snapshot("all_files_batch_new_collection_named", theme));
        c.key(KeyCode::Enter);
        let Some(Dialog::Batch(batch)) = &c.app.dialog else {
            panic!("the batch dialog closed before its confirmation");
        };
        assert_eq!(
            batch.target,
            Some(BatchTarget {
                collection: "Dropbox picks".into(),
                create: true,
            })
        );
        shown.extend(c.snapshot("all_files_batch_confirm", theme));
        assert_eq!(
            collections(&data),
            vec![("Campaign 2026".into(), 1), ("Press".into(), 0)],
            "nothing is saved before the confirmation"
        );

        c.key(KeyCode::Enter);
        assert!(c.app.dialog.is_none());
        shown.extend(c.snapshot("all_files_batch_added", theme));
        assert_eq!(
            collections(&data),
            vec![
                ("Campaign 2026".into(), 1),
                ("Dropbox picks".into(), 6),
                ("Press".into(), 0)
            ],
            "the six Dropbox uploads went into the new collection, and only there"
        );
        screens.push(shown);
    }
    assert_eq!(
        screens[0], screens[1],
        "with and without colour, the same library shows the same text"
    );
}

#[test]
fn p_previews_the_selected_image_in_halfblocks_and_details_for_other_files() {
    let (_dir, data) = demo();
    let mut c = Console::open(&data, Theme { color: true });
    c.key(KeyCode::Char('/'));
    c.type_text("hero");
    c.key(KeyCode::Enter);
    assert_eq!(c.app.files.selected().unwrap().name, "hero.jpg");
    c.key(KeyCode::Char('p'));
    let id = c.app.files.selected().unwrap().id;
    assert!(
        matches!(c.app.files.previews.get(id), Some(Ok(_))),
        "decoded off the UI task and cached"
    );
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    c.app.focus = PaneId::Files;
    terminal.draw(|f| layout::draw(f, &c.app)).unwrap();
    let cells = terminal.backend().buffer().content();
    let blocks = cells.iter().filter(|cell| cell.symbol() == "▀").count();
    assert!(blocks > 50, "halfblocks drawn: {blocks}");
    assert!(terminal.backend().to_string().contains("Preview"));

    // A PDF gets its details instead.
    c.key(KeyCode::Char('/'));
    c.key(KeyCode::Esc);
    c.key(KeyCode::Char('/'));
    c.type_text("press-kit");
    c.key(KeyCode::Enter);
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    terminal.draw(|f| layout::draw(f, &c.app)).unwrap();
    let screen = terminal.backend().to_string();
    assert!(screen.contains("PDF"), "{screen}");
    assert!(
        !terminal
            .backend()
            .buffer()
            .content()
            .iter()
            .any(|c| c.symbol() == "▀"),
        "{screen}"
    );
}

const OWNER: &str = "olivia@acme.test";
const ADMIN: &str = "ada@acme.test";

/// The demo library where Acme Marketing also holds an uploaded copy of hero.jpg (a duplicate,
/// in an import batch of its own), and hero.jpg's metadata says how, when and where it was
/// taken. Returns hero.jpg's id and the copy's.
fn demo_with_duplicate() -> (tempfile::TempDir, PathBuf, FileId, FileId) {
    use smartimage::library::metadata::{Extracted, FileMetadata, Outcome};
    let (dir, data) = demo();
    let mut lib = Library::open(&data, PlanCatalog::default()).unwrap();
    let owner = lib.actor(Some(OWNER), None).unwrap();
    let hero = lib
        .list_files(
            &owner,
            &FileFilter {
                name_contains: Some("hero".into()),
                ..FileFilter::default()
            },
        )
        .unwrap()
        .remove(0);
    let copy = dir.path().join("hero-copy.jpg");
    std::fs::copy(lib.blobs().path_of(&hero.sha256).unwrap(), &copy).unwrap();
    let metadata = FileMetadata {
        width: Some(640),
        height: Some(400),
        orientation: Some(1),
        taken_at: Some("2026-06-12T14:03:22+02:00".into()),
        camera_make: Some("Canon".into()),
        camera_model: Some("Canon EOS R6".into()),
        lens: Some("RF24-105mm F4 L IS USM".into()),
        has_gps: Some(true),
        gps: Some((48.858_37, 2.294_481)),
        ..FileMetadata::default()
    };
    lib.record_metadata(&[(
        hero.id,
        Extracted {
            outcome: Outcome::Read,
            metadata,
        },
    )])
    .unwrap();
    drop(lib);
    let uploaded = Command::new(env!("CARGO_BIN_EXE_smartimage"))
        .args([
            "upload",
            "--account",
            "Acme Marketing",
            "--allow-duplicates",
        ])
        .args(["--as", OWNER, "--data-dir"])
        .arg(&data)
        .arg(&copy)
        .output()
        .unwrap();
    assert!(uploaded.status.success(), "{uploaded:?}");
    let lib = Library::open(&data, PlanCatalog::default()).unwrap();
    let copy = lib
        .list_files(
            &owner,
            &FileFilter {
                name_contains: Some("hero-copy".into()),
                ..FileFilter::default()
            },
        )
        .unwrap()
        .remove(0);
    assert_eq!(copy.duplicate_of, Some(hero.id));
    (dir, data, hero.id, copy.id)
}

/// Names of Acme Marketing's files in the trash.
fn trashed(data: &Path) -> Vec<String> {
    let lib = Library::open(data, PlanCatalog::default()).unwrap();
    let owner = lib.actor(Some(OWNER), None).unwrap();
    let mut names: Vec<String> = lib
        .list_trash(&owner, Some("Acme Marketing"))
        .unwrap()
        .into_iter()
        .map(|f| f.name)
        .collect();
    names.sort();
    names
}

/// Issue #22 in the console: duplicates marked and filtered, the pencil's metadata, undoing an
/// upload's batch from the queue, the Trash view and restoring from it, deleting marked files
/// — each confirmation saying how many and how big — with the library agreeing at each step.
#[test]
fn duplicates_metadata_undo_trash_restore_and_delete_as_an_owner() {
    use smartimage::import::events::{EngineEvent, UploadRef};
    let mut screens: Vec<Vec<String>> = Vec::new();
    for theme in [Theme { color: true }, Theme { color: false }] {
        let (_dir, data, hero, copy) = demo_with_duplicate();
        let mut c = Console::open_as(&data, theme, OWNER);
        let mut shown = Vec::new();

        c.key(KeyCode::Char('='));
        let ids: Vec<FileId> = c.app.files.rows.iter().map(|f| f.id).collect();
        assert_eq!(ids, vec![copy], "only the copy is a duplicate");
        shown.extend(c.snapshot("all_files_duplicates", theme));
        c.key(KeyCode::Char('='));

        // The pencil on hero.jpg (second by name after banner.png; the copy sorts before it).
        c.key(KeyCode::Down);
        c.key(KeyCode::Down);
        c.key(KeyCode::Char('e'));
        let Some(Dialog::Edit(d)) = &c.app.dialog else {
            panic!("no pencil");
        };
        assert_eq!(d.data.file.id, hero);
        assert!(d.data.location_shown, "an owner sees where it was taken");
        let edit = c.snapshot("all_files_edit_metadata", theme);
        assert!(edit[1].contains("48.85837, 2.29448"), "{}", edit[1]);
        assert!(edit[1].contains("Canon EOS R6"), "{}", edit[1]);
        shown.extend(edit);
        c.key(KeyCode::Esc);

        // The upload of the copy, as the queue sees it: its batch is read from the library.
        let upload = UploadRef {
            upload: ItemId(-1),
            account: "Acme Marketing".into(),
            path: "/srv/in/hero-copy.jpg".into(),
            size: 10_157,
        };
        let effects = c
            .app
            .apply_engine(EngineEvent::UploadQueued(upload.clone()));
        c.settle(effects);
        let effects = c
            .app
            .apply_engine(EngineEvent::Uploaded { upload, file: copy });
        c.settle(effects);
        assert!(
            c.app.queue.rows[0].batch.is_some(),
            "the row's batch is read"
        );
        c.app.focus = PaneId::Queue;
        c.key(KeyCode::Char('U'));
        let Some(Dialog::Trash(confirm)) = &c.app.dialog else {
            panic!("no undo confirmation: {:?}", c.app.last_problem);
        };
        assert_eq!((confirm.outcome.files, confirm.outcome.bytes), (1, 10_157));
        shown.extend(c.snapshot("queue_undo_confirm", theme));
        assert_eq!(trashed(&data), Vec::<String>::new(), "not before Enter");
        c.key(KeyCode::Enter);
        assert!(c.app.dialog.is_none());
        assert_eq!(trashed(&data), vec!["hero-copy.jpg".to_owned()]);

        // The Trash view, and restoring from it.
        c.app.focus = PaneId::Files;
        c.key(KeyCode::Char('T'));
        assert_eq!(c.app.files.count, Some(1));
        shown.extend(c.snapshot("all_files_trash", theme));
        c.key(KeyCode::Char('R'));
        assert!(matches!(c.app.dialog, Some(Dialog::Trash(_))));
        shown.extend(c.snapshot("all_files_restore_confirm", theme));
        c.key(KeyCode::Enter);
        assert_eq!(trashed(&data), Vec::<String>::new());
        assert_eq!(c.app.files.count, Some(0));

        // Back in the library: mark two files, delete them.
        c.key(KeyCode::Char('T'));
        c.key(KeyCode::Char(' '));
        c.key(KeyCode::Char(' '));
        c.key(KeyCode::Char('D'));
        let Some(Dialog::Trash(confirm)) = &c.app.dialog else {
            panic!("no delete confirmation");
        };
        assert_eq!(confirm.outcome.files, 2);
        let confirm = c.snapshot("all_files_delete_confirm", theme);
        assert!(confirm[1].contains("Move 2 files"), "{}", confirm[1]);
        assert!(
            confirm[1].contains("still count against storage"),
            "{}",
            confirm[1]
        );
        shown.extend(confirm);
        c.key(KeyCode::Esc);
        assert!(c.app.dialog.is_none());
        assert_eq!(trashed(&data), Vec::<String>::new(), "Esc deletes nothing");
        c.key(KeyCode::Delete);
        c.key(KeyCode::Enter);
        assert_eq!(
            trashed(&data),
            vec!["banner.png".to_owned(), "hero-copy.jpg".to_owned()]
        );
        assert!(c.app.files.marked.is_empty());
        screens.push(shown);
    }
    assert_eq!(
        screens[0], screens[1],
        "with and without colour, the same library shows the same text"
    );
}

/// An admin of the account may delete, but sees no position; an operator who is not one of
/// its admins may not delete: the footer does not offer it, and the key is refused naming it.
#[test]
fn the_position_is_for_owners_and_delete_for_the_accounts_own_admins() {
    let (_dir, data, hero, _) = demo_with_duplicate();
    let mut c = Console::open_as(&data, Theme { color: false }, ADMIN);
    c.key(KeyCode::Down);
    c.key(KeyCode::Down);
    c.key(KeyCode::Char('e'));
    let Some(Dialog::Edit(d)) = &c.app.dialog else {
        panic!("no pencil");
    };
    assert_eq!(d.data.file.id, hero);
    assert!(!d.data.location_shown);
    let m = d.data.metadata.as_ref().unwrap();
    assert_eq!((m.has_gps, m.gps), (Some(true), None));
    let screen = draw(&c.app, 120, 40);
    assert!(
        screen.contains("yes (the position is for owners)"),
        "{screen}"
    );
    assert!(!screen.contains("48.85"), "{screen}");
    c.key(KeyCode::Esc);
    assert!(draw(&c.app, 200, 60).contains("D/Del delete"));

    let mut op = Console::open(&data, Theme { color: false });
    let footer = draw(&op.app, 200, 60);
    assert!(!footer.contains("delete"), "{footer}");
    op.key(KeyCode::Char('D'));
    let Some(Dialog::Notice { text, .. }) = &op.app.dialog else {
        panic!("not refused");
    };
    assert!(text.starts_with("Could not delete:"), "{text}");
    assert!(
        text.contains("only they move its files to the trash"),
        "{text}"
    );
    assert_eq!(trashed(&data), Vec::<String>::new());
}

fn draw(app: &App, w: u16, h: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| layout::draw(f, app)).unwrap();
    terminal.backend().to_string()
}
