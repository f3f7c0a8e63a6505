//! All Files as drawn, from the demo library (`smartimage demo --headless`): the pane filtered to
//! Dropbox uploads with marks, the edit dialog, its collection picker (filtered, naming a new
//! collection), batch add to a new collection (named, confirmed, saved) — at 80x24 and 120x40,
//! with colour and `NO_COLOR`, each on its own copy of the demo library.

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
}

impl Console {
    fn open(data: &Path, theme: Theme) -> Console {
        let library = Library::open(data, PlanCatalog::default()).unwrap();
        let mut app = App::new("/srv/smartimage".into(), OPERATOR.into(), theme);
        app.engine = EngineStatus::Watching;
        let options = ConsoleOptions {
            data_dir: data.to_path_buf(),
            plans: PlanCatalog::default(),
            as_admin: Some(OPERATOR.into()),
            os_user: None,
            admin_label: OPERATOR.into(),
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
        let mut console = Console { app, library };
        console.app.files.order.sort = SortKey::Name;
        console.app.files.order.descending = false;
        console.app.focus = PaneId::Accounts;
        // Acme Marketing: collections belong to one account.
        console.key(KeyCode::Down);
        console.app.focus = PaneId::Files;
        console
    }

    fn settle(&mut self, effects: Vec<Effect>) {
        let actor = self.library.actor(Some(OPERATOR), None).unwrap();
        serve_now(&mut self.app, &mut self.library, &actor, effects);
        for f in &mut self.app.files.rows {
            f.imported_at = FIXED_TIME;
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
