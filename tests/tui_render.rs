//! What the console draws, on a `TestBackend`: each pane, dialog and the help overlay at 80x24,
//! 120x40 and 200x60, with colour and with `NO_COLOR`, from a small library that went through one real
//! import pass (a synced folder, three plans, imports and failures).

use smartimage::library::ids::{FileId, ItemId};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};
use smartimage::dropbox::local::LocalSettings;
use smartimage::import::engine::{EngineSettings, ImportEngine};
use smartimage::import::events::EngineEvent;
use smartimage::import::linking;
use smartimage::library::Library;
use smartimage::library::actions::AdminGrant;
use smartimage::library::policy::{ErrorKind, PlanCatalog, PlanOverride};
use smartimage::tui::app::serve_now;
use smartimage::tui::app::{App, Effect, EngineStatus, ErrorRow, PaneId};
use smartimage::tui::theme::Theme;
use smartimage::tui::{ConsoleOptions, layout, load_view};

const OPERATOR: &str = "operator@demo.smartimage.test";
const OWNER: &str = "owner@demo.smartimage.test";
/// An owner of Bakery only.
const BAKER: &str = "baker@demo.smartimage.test";
/// Every time shown is this one, so snapshots do not depend on the clock.
const FIXED_TIME: i64 = 1_795_000_000;
const SMALL: (u16, u16) = (80, 24);
const LARGE: (u16, u16) = (120, 40);
const HUGE: (u16, u16) = (200, 60);
/// Issue 18: every pane and dialog is shot at these three sizes, in colour and without.
const SIZES: [(u16, u16); 3] = [SMALL, LARGE, HUGE];

fn plans() -> PlanCatalog {
    let mut overrides = BTreeMap::new();
    overrides.insert(
        "tiny".to_string(),
        PlanOverride {
            storage_limit_bytes: Some(10_000),
            video_bytes_per_month: Some(3_000),
            max_video_bytes: Some(2_000),
        },
    );
    PlanCatalog::with_overrides(&overrides).unwrap()
}

fn png(seed: u32, len: usize) -> Vec<u8> {
    let mut b =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    b.extend(seed.to_be_bytes());
    b.resize(len.max(b.len()), (seed % 251) as u8);
    b
}

fn mp4(len: usize) -> Vec<u8> {
    let mut b = b"\0\0\0\x18ftypisom\0\0\0\0isommp41".to_vec();
    b.resize(len.max(b.len()), 0);
    b
}

fn exe() -> Vec<u8> {
    let mut b = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xFF\xFF\x00\x00".to_vec();
    b.resize(300, 0);
    b
}

fn fast_local() -> LocalSettings {
    LocalSettings {
        stable_for: Duration::from_millis(20),
        rescan_every: Duration::from_secs(1),
    }
}

struct DemoLike {
    _dir: tempfile::TempDir,
    data: PathBuf,
    events: Vec<EngineEvent>,
}

fn drop_file(dropbox: &Path, rel: &str, bytes: &[u8]) {
    let path = dropbox.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// Acme (team), Bakery (basic: no video), Tiny (nearly full); one import pass.
fn demo_like() -> DemoLike {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let dropbox = dir.path().join("Dropbox");
    std::fs::create_dir_all(&dropbox).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut lib = Library::open(&data, plans()).unwrap();
    lib.init(OPERATOR, Some("Demo Operator"), None).unwrap();
    let op = lib.actor(Some(OPERATOR), None).unwrap();
    for (name, plan) in [("Acme", "team"), ("Bakery", "basic"), ("Tiny", "tiny")] {
        lib.add_account(&op, name, plan).unwrap();
    }
    let grant = AdminGrant {
        email: OWNER.into(),
        owner_of: vec!["Acme".into(), "Bakery".into(), "Tiny".into()],
        ..AdminGrant::default()
    };
    lib.add_admin(&op, &grant).unwrap();
    let baker = AdminGrant {
        email: BAKER.into(),
        owner_of: vec!["Bakery".into()],
        ..AdminGrant::default()
    };
    lib.add_admin(&op, &baker).unwrap();
    let owner = lib.actor(Some(OWNER), None).unwrap();
    for name in ["Acme", "Bakery", "Tiny"] {
        rt.block_on(linking::link_local_folder(
            &mut lib,
            &owner,
            name,
            &dropbox,
            fast_local(),
        ))
        .unwrap();
    }
    drop(lib);
    drop_file(&dropbox, "Acme/launch/hero.png", &png(1, 40_000));
    drop_file(&dropbox, "Acme/launch/poster.png", &png(2, 25_000));
    drop_file(&dropbox, "Acme/setup.exe", &exe());
    drop_file(&dropbox, "Bakery/cake-video.mp4", &mp4(1_500));
    drop_file(&dropbox, "Bakery/bread.png", &png(3, 5_000));
    drop_file(&dropbox, "Tiny/logo.png", &png(4, 8_000));
    std::thread::sleep(Duration::from_millis(80));
    let mut settings = EngineSettings {
        workers: 1,
        ..EngineSettings::default()
    };
    settings.backends.local = fast_local();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let (engine, _) =
        ImportEngine::start(Library::open(&data, plans()).unwrap(), settings, tx).unwrap();
    let (_, problems) = rt.block_on(engine.run_once(None)).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    drop(engine);
    let mut events = Vec::new();
    while let Ok(e) = rx.try_recv() {
        events.push(e);
    }
    DemoLike {
        _dir: dir,
        data,
        events,
    }
}

fn options_as(data: &Path, who: &str) -> ConsoleOptions {
    ConsoleOptions {
        data_dir: data.to_path_buf(),
        plans: plans(),
        as_admin: Some(who.into()),
        os_user: None,
        admin_label: who.into(),
        engine: EngineSettings::default(),
        send: Default::default(),
        keymap: Default::default(),
    }
}

/// The console's state after start-up and the pass, with times pinned.
fn app(demo: &DemoLike, theme: Theme) -> App {
    app_as(demo, theme, OPERATOR)
}

fn app_as(demo: &DemoLike, theme: Theme, who: &str) -> App {
    let mut app = App::new("/srv/smartimage".into(), who.into(), theme);
    app.engine = EngineStatus::Watching;
    let mut view = load_view(&options_as(&demo.data, who)).unwrap();
    // The synced folder is a temporary dir: pinned, as times are, so snapshots hold.
    for a in &mut view.accounts {
        if let Some(d) = &mut a.dropbox {
            d.dropbox_account = "/srv/Dropbox".into();
        }
    }
    assert_eq!(app.apply_view(view), vec![]);
    // Files of one pass are committed concurrently, in no fixed order: sort by name.
    app.files.order.sort = smartimage::library::store::SortKey::Name;
    app.files.order.descending = false;
    let start = app.files_start();
    settle(&mut app, &demo.data, start);
    for e in demo.events.clone() {
        app.apply_engine(e);
    }
    let acme_link = app.view.links["Acme"];
    app.apply_engine(EngineEvent::RateLimited {
        link: acme_link,
        wait: Duration::from_secs(42),
    });
    for e in &mut app.errors.rows {
        e.at = FIXED_TIME;
    }
    app.errors.rows.sort_by(|a, b| a.path.cmp(&b.path));
    app
}

/// Serve All Files' reads at once (as its worker would), with times pinned.
fn settle(app: &mut App, data: &Path, effects: Vec<Effect>) -> Vec<Effect> {
    let mut lib = Library::open(data, plans()).unwrap();
    let actor = lib.actor(Some(OPERATOR), None).unwrap();
    let others = serve_now(app, &mut lib, &actor, effects);
    for f in &mut app.files.rows {
        f.imported_at = FIXED_TIME;
    }
    others
}

fn render(app: &App, (w, h): (u16, u16)) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| layout::draw(f, app)).unwrap();
    terminal
}

fn press(app: &mut App, code: KeyCode) {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
}

fn themes() -> [(&'static str, Theme); 2] {
    [
        ("colour", Theme { color: true }),
        ("no_color", Theme { color: false }),
    ]
}

fn no_colour_anywhere(buffer: &Buffer) {
    for cell in buffer.content() {
        assert_eq!(cell.fg, Color::Reset, "{cell:?}");
        assert_eq!(cell.bg, Color::Reset, "{cell:?}");
    }
}

/// Snapshots `app` at 80x24, 120x40 and 200x60 as `{name}_{w}x{h}_{theme}`; without colour,
/// checks that none is drawn.
fn snapshot_at_every_size(app: &App, name: &str, theme: Theme) {
    for (w, h) in SIZES {
        let terminal = render(app, (w, h));
        insta::assert_snapshot!(
            format!("{name}_{w}x{h}_{}", theme_name(theme)),
            terminal.backend()
        );
        if !theme.color {
            no_colour_anywhere(terminal.backend().buffer());
        }
    }
}

/// The console as it opens (`grid`) and with each pane focused, at every size: at 80x24 the
/// focused pane alone under the tab strip, from 120x40 all four with the focused one marked.
#[test]
fn panes_at_every_size_in_colour_and_without() {
    let demo = demo_like();
    for (_, theme) in themes() {
        let mut app = app(&demo, theme);
        snapshot_at_every_size(&app, "grid", theme);
        for pane in PaneId::ALL {
            app.focus = pane;
            let name = pane.title().to_lowercase().replace(' ', "_");
            snapshot_at_every_size(&app, &name, theme);
        }
    }
}

#[test]
fn help_overlay_lists_every_binding_at_every_size() {
    let demo = demo_like();
    for (mode, theme) in themes() {
        let mut app = app(&demo, theme);
        press(&mut app, KeyCode::Char('?'));
        for size in SIZES {
            // Every binding is on some page of the overlay (it scrolls where they do not fit).
            let mut seen = String::new();
            for _ in 0..20 {
                seen.push_str(&render(&app, size).backend().to_string());
                press(&mut app, KeyCode::PageDown);
            }
            for b in smartimage::tui::keymap::BINDINGS {
                assert!(seen.contains(b.help), "help misses {:?}\n{seen}", b.help);
            }
            press(&mut app, KeyCode::Home);
            let terminal = render(&app, size);
            insta::assert_snapshot!(
                format!("help_{}x{}_{mode}", size.0, size.1),
                terminal.backend()
            );
            if !theme.color {
                no_colour_anywhere(terminal.backend().buffer());
            }
        }
    }
}

#[test]
fn enter_shows_the_selected_error_in_full() {
    let demo = demo_like();
    for (_, theme) in themes() {
        let mut app = app(&demo, theme);
        app.focus = PaneId::Errors;
        press(&mut app, KeyCode::Enter);
        assert!(app.errors.detail);
        snapshot_at_every_size(&app, "error_detail", theme);
    }
}

#[test]
fn selecting_an_account_scopes_queue_files_and_errors() {
    let demo = demo_like();
    let mut app = app(&demo, Theme { color: true });
    assert_eq!(app.error_rows().len(), 2);
    press(&mut app, KeyCode::Down); // Acme
    press(&mut app, KeyCode::Down); // Bakery
    assert_eq!(app.scoped_account(), Some("Bakery"));
    assert!(app.error_rows().iter().all(|e| e.account == "Bakery"));
    assert!(app.queue_rows().iter().all(|r| r.account == "Bakery"));
    assert_eq!(app.error_rows().len(), 1);
    let effects = app.files_start();
    settle(&mut app, &demo.data, effects);
    assert!(app.files.rows.iter().all(|f| f.account_name == "Bakery"));
    assert_eq!(app.files.rows.len(), 1);
}

#[test]
fn colour_marks_focus_selection_warnings_and_failures() {
    let demo = demo_like();
    let app = app(&demo, Theme { color: true });
    let terminal = render(&app, LARGE);
    let buffer = terminal.backend().buffer();
    let find = |text: &str| -> (u16, u16) {
        for y in 0..buffer.area.height {
            let line: String = (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol().to_string())
                .collect();
            if let Some(i) = line.find(text) {
                let x = line[..i].chars().count() as u16;
                return (x, y);
            }
        }
        panic!("{text:?} not on screen");
    };
    // The focused pane's title is cyan and bold.
    let (x, y) = find("1 Accounts");
    assert_eq!(buffer[(x, y)].fg, Color::Cyan);
    assert!(buffer[(x, y)].modifier.contains(Modifier::BOLD));
    // The selected row ("All accounts") is reverse video.
    let (x, y) = find("All accounts (3)");
    assert!(buffer[(x, y)].modifier.contains(Modifier::REVERSED));
    // Tiny is at 80 % of its storage: a yellow warning gauge.
    let (x, y) = find(" 80%");
    assert_eq!(buffer[(x + 1, y)].fg, Color::Yellow);
    // Failed files are red in the queue.
    let (x, y) = find("✗ unsupported format");
    assert_eq!(buffer[(x, y)].fg, Color::Red);
    // The rate-limit countdown is shown.
    find("resuming in 42 s");
}

#[test]
fn hostile_names_are_shown_escaped_never_sent_to_the_terminal() {
    let mut app = App::new(
        "/srv/smartimage".into(),
        OPERATOR.into(),
        Theme { color: true },
    );
    app.errors.rows = vec![smartimage::tui::app::ErrorRow {
        item: ItemId(1),
        account: "Acme".into(),
        path: "/Acme/\u{1b}]52;c;cGF3bmVk\u{7}evil\u{202e}gnp.exe".into(),
        size: 10,
        kind: ErrorKind::UnsupportedFormat,
        detail: "\u{1b}[2J wiped".into(),
        at: FIXED_TIME,
        retrying: false,
        state: smartimage::library::store::import_items::ItemState::Failed,
        next_attempt_at: None,
        report: None,
        upload: false,
    }];
    app.focus = PaneId::Errors;
    for detail in [false, true] {
        app.errors.detail = detail;
        // Wide enough that the row keeps the escaped middle of the path and its detail.
        let terminal = render(&app, HUGE);
        for cell in terminal.backend().buffer().content() {
            assert!(
                !cell
                    .symbol()
                    .chars()
                    .any(|c| c.is_control() || c == '\u{202e}'),
                "{cell:?}"
            );
        }
        assert!(terminal.backend().to_string().contains("\\u{1b}"));
    }
}

#[test]
fn a_late_read_for_another_account_does_not_show_its_files() {
    let demo = demo_like();
    let mut app = app(&demo, Theme { color: true });
    press(&mut app, KeyCode::Down); // Acme
    let acme = app.files_start();
    press(&mut app, KeyCode::Down); // Bakery, while the Acme read is still out
    let bakery = app.files_start();
    // The Acme answer comes last; it is dropped.
    settle(&mut app, &demo.data, bakery);
    settle(&mut app, &demo.data, acme);
    assert_eq!(app.scoped_account(), Some("Bakery"));
    assert!(!app.files.rows.is_empty());
    assert!(app.files.rows.iter().all(|f| f.account_name != "Acme"));
}

/// An authorize URL as Dropbox's would look, with a fixed challenge (a real one is random).
const FIXED_AUTHORIZE_URL: &str = "https://www.dropbox.com/oauth2/authorize?client_id=abcdefghijklmno&response_type=code&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&token_access_type=offline";

fn select(app: &mut App, account: &str) {
    app.focus = PaneId::Accounts;
    press(app, KeyCode::Char('g'));
    while app.scoped_account() != Some(account) {
        press(app, KeyCode::Char('j'));
    }
}

/// The Accounts pane's dialogs, the API link's QR code and a denial, at every size, with
/// colour and without.
#[test]
fn account_dialogs_at_every_size_in_colour_and_without() {
    use smartimage::library::store::links::LinkState;
    use smartimage::tui::dialogs::Dialog;
    let demo = demo_like();
    {
        let mut lib = Library::open(&demo.data, plans()).unwrap();
        let op = lib.actor(Some(OPERATOR), None).unwrap();
        for email in ["ada@demo.smartimage.test", "dan@demo.smartimage.test"] {
            let grant = AdminGrant {
                email: email.into(),
                admin_of: vec!["Acme".into()],
                ..AdminGrant::default()
            };
            lib.add_admin(&op, &grant).unwrap();
        }
        let owner = lib.actor(Some(OWNER), None).unwrap();
        lib.set_link_state(&owner, "Bakery", LinkState::Unlinked)
            .unwrap();
    }
    type Open = fn(&mut App);
    let cases: [(&str, &str, Open); 8] = [
        ("link_folder", OWNER, |app| {
            select(app, "Bakery");
            press(app, KeyCode::Char('f'));
            assert!(matches!(app.dialog, Some(Dialog::LinkFolder { .. })));
            // The suggestion is the test's temporary folder: show a fixed one.
            app.dialog = Some(Dialog::link_folder(
                "Bakery",
                Some("~/Dropbox/Apps/Smartimage"),
            ));
        }),
        ("api_link", OWNER, |app| {
            select(app, "Bakery");
            app.api_link_started("Bakery", Ok(FIXED_AUTHORIZE_URL.into()));
            for c in "abc".chars() {
                press(app, KeyCode::Char(c));
            }
        }),
        ("confirm_unlink", OWNER, |app| {
            select(app, "Acme");
            press(app, KeyCode::Char('u'));
        }),
        ("confirm_pause", OWNER, |app| {
            select(app, "Acme");
            press(app, KeyCode::Char('p'));
        }),
        ("api_link_wrong_code", OWNER, |app| {
            select(app, "Bakery");
            app.api_link_started("Bakery", Ok(FIXED_AUTHORIZE_URL.into()));
            for c in "abc".chars() {
                press(app, KeyCode::Char(c));
            }
            let effects = app.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
            let [Effect::Run(finish)] = &effects[..] else {
                panic!("{effects:?}")
            };
            app.action_finished(
                finish,
                Err(smartimage::tui::error::ConsoleError::Link(
                    "Dropbox refused the code: it is wrong or was used already".into(),
                )),
            );
        }),
        ("link_folder_matches", OWNER, |app| {
            select(app, "Bakery");
            let mut dialog = Dialog::link_folder("Bakery", Some("~/Dropbox/Ap"));
            dialog.path_completed(
                "~/Dropbox/Ap",
                "~/Dropbox/App".into(),
                vec!["Apps/".into(), "Appendix/".into()],
            );
            app.dialog = Some(dialog);
        }),
        ("delegate", OWNER, |app| {
            select(app, "Acme");
            press(app, KeyCode::Char('d'));
            press(app, KeyCode::Char('j'));
        }),
        ("denied", OPERATOR, |app| {
            select(app, "Acme");
            press(app, KeyCode::Char('f'));
        }),
    ];
    for (_, theme) in themes() {
        for (name, who, open) in cases {
            let mut app = app_as(&demo, theme, who);
            open(&mut app);
            assert!(app.dialog.is_some(), "{name}: no dialog");
            snapshot_at_every_size(&app, &format!("dialog_{name}"), theme);
        }
    }
}

/// Only the 16 ANSI colours are used, so 16-colour terminals show the palette as meant.
#[test]
fn every_colour_drawn_is_one_of_the_16_ansi_colours() {
    let demo = demo_like();
    let mut app = app_as(&demo, Theme { color: true }, OWNER);
    app.api_link_started("Bakery", Ok(FIXED_AUTHORIZE_URL.into()));
    for size in [SMALL, LARGE] {
        let terminal = render(&app, size);
        for cell in terminal.backend().buffer().content() {
            for colour in [cell.fg, cell.bg] {
                assert!(
                    !matches!(colour, Color::Rgb(..) | Color::Indexed(_)),
                    "{cell:?}"
                );
            }
        }
    }
}

/// Upload… in All Files: what a pasted folder holds, Tab's matches, and *All accounts*, at every
/// size, with colour and without.
#[test]
fn upload_dialog_at_every_size_in_colour_and_without() {
    use smartimage::import::upload::UploadPreview;
    use smartimage::tui::app::Effect;
    use smartimage::tui::dialogs::Dialog;
    let demo = demo_like();
    // A paste (files dropped on the terminal), answered as the event loop would answer it.
    fn pasted(
        app: &mut App,
        text: &str,
        candidates: &[&str],
        preview: Result<UploadPreview, String>,
    ) {
        let effects = app.handle_paste(text);
        let [Effect::UploadLookup { text: asked, .. }] = &effects[..] else {
            panic!("{effects:?}")
        };
        let asked = asked.clone();
        app.upload_looked_up(
            &asked,
            asked.clone(),
            candidates.iter().map(|c| c.to_string()).collect(),
            preview,
        );
    }
    fn shoot() -> UploadPreview {
        UploadPreview {
            files: 7,
            bytes: 48_234_112,
            first: [
                "a-roof.jpg",
                "b-yard.jpg",
                "c-\u{1b}[2Jhall.png",
                "d-kitchen.heic",
                "e-walk.mov",
            ]
            .iter()
            .map(|n| format!("/srv/shoots/2026 spring/{n}").into())
            .collect(),
        }
    }
    type Open = fn(&mut App);
    let cases: [(&str, Open); 4] = [
        ("upload", |app| {
            select(app, "Acme");
            pasted(app, "'/srv/shoots/2026 spring'", &[], Ok(shoot()));
        }),
        ("upload_matches", |app| {
            select(app, "Acme");
            app.focus = PaneId::Files;
            press(app, KeyCode::Char('u'));
            pasted(
                app,
                "/srv/shoots/2026",
                &["2026 spring/", "2026 summer/", "2026-notes.txt"],
                Ok(UploadPreview::default()),
            );
        }),
        ("upload_missing", |app| {
            select(app, "Acme");
            pasted(
                app,
                "/srv/nope",
                &[],
                Err("cannot read /srv/nope: No such file or directory (os error 2)".into()),
            );
        }),
        ("upload_all_accounts", |app| {
            app.focus = PaneId::Files;
            press(app, KeyCode::Char('u'));
            for c in "/srv/shoots/".chars() {
                press(app, KeyCode::Char(c));
            }
        }),
    ];
    for (_, theme) in themes() {
        for (name, open) in cases {
            let mut app = app(&demo, theme);
            open(&mut app);
            assert!(
                matches!(app.dialog, Some(Dialog::Upload(_))),
                "{name}: no dialog"
            );
            snapshot_at_every_size(&app, &format!("dialog_{name}"), theme);
        }
    }
}

/// A Dropbox shared link as Dropbox would make it (a fixed one: real ones are random).
const FIXED_SHARE_URL: &str = "https://www.dropbox.com/scl/fi/k3j9x2m4p7q8r1s5t6u0v/hero.png?rlkey=a1b2c3d4e5f6g7h8i9j0k1l2m&dl=0";

/// All Files' Send to Dropbox (two marked files, a subfolder typed), what a send did (one file
/// failed) and a shared link with its QR code, at every size, with colour and without.
#[test]
fn send_and_share_dialogs_at_every_size_in_colour_and_without() {
    use smartimage::dropbox::sending::{SentVia, SharedLink};
    use smartimage::export::ShareOutcome;
    use smartimage::export::engine::{ExportSummary, FailedSummary, SentSummary};
    use smartimage::export::{ExportRequest, ShareRequest, ShareTarget};
    use smartimage::library::outgoing::OutgoingSelection;
    use smartimage::tui::dialogs::Dialog;
    use smartimage::tui::dialogs::send::SentDialog;
    use smartimage::tui::sending::{SendDone, SendJob};
    let demo = demo_like();
    type Open = fn(&mut App, &Path);
    let cases: [(&str, Open); 3] = [
        ("send", |app, data| {
            select(app, "Acme");
            let effects = app.files_start();
            settle(app, data, effects);
            app.focus = PaneId::Files;
            press(app, KeyCode::Char(' '));
            press(app, KeyCode::Char(' '));
            assert_eq!(
                app.handle_key(KeyEvent::new(KeyCode::Char('X'), KeyModifiers::SHIFT)),
                vec![]
            );
            for c in "Launch/Week 1".chars() {
                press(app, KeyCode::Char(c));
            }
        }),
        ("sent", |app, _| {
            let job = SendJob::Export(ExportRequest {
                account: "Acme".into(),
                selection: OutgoingSelection::Ids(vec![FileId(1), FileId(2)]),
                subfolder: Some("Launch".into()),
            });
            let summary = ExportSummary {
                account: "Acme".into(),
                folder: "/Acme (from Smartimage)/Launch".into(),
                sent: vec![SentSummary {
                    file_id: FileId(1),
                    name: "hero.png".into(),
                    path: "/Acme (from Smartimage)/Launch/hero.png".into(),
                    size: 40_000,
                    content_hash: None,
                    via: SentVia::LocalCopy,
                }],
                failed: vec![FailedSummary {
                    file_id: FileId(2),
                    name: "poster.png".into(),
                    reason: "Dropbox is full (insufficient_space); free some space".into(),
                    damaged_blob: None,
                }],
                bytes_sent: 40_000,
            };
            app.send_finished(&job, Ok(SendDone::Exported(summary)));
            // The demo's links are synced folders, which cannot share; an API link can.
            let Some(Dialog::Sent(sent)) = &mut app.dialog else {
                panic!("no Sent dialog")
            };
            assert!(sent.share.is_none(), "a synced folder cannot share");
            sent.share = Some(SentDialog::share_folder(
                "Acme",
                "/Acme (from Smartimage)/Launch",
            ));
        }),
        ("share", |app, _| {
            let job = SendJob::Share(ShareRequest {
                account: "Acme".into(),
                target: ShareTarget::File(FileId(1)),
            });
            let shared = ShareOutcome {
                account: "Acme".into(),
                path: "/Acme (from Smartimage)/hero.png".into(),
                link: SharedLink {
                    url: FIXED_SHARE_URL.into(),
                    path_lower: None,
                    is_folder: false,
                    created: true,
                },
            };
            app.send_finished(&job, Ok(SendDone::Shared(shared)));
        }),
    ];
    for (_, theme) in themes() {
        for (name, open) in cases {
            let mut app = app_as(&demo, theme, OWNER);
            open(&mut app, &demo.data);
            assert!(
                matches!(
                    app.dialog,
                    Some(Dialog::Send(_) | Dialog::Sent(_) | Dialog::Share(_))
                ),
                "{name}: no dialog"
            );
            snapshot_at_every_size(&app, &format!("dialog_{name}"), theme);
        }
    }
}

/// The title bar says whose engine this console watches — in full at 80 columns, whatever
/// the library path, admin and scope take — and, when none runs, the footer offers the key
/// that starts one here.
#[test]
fn the_title_bar_says_whose_engine_runs_never_cut_at_80_columns() {
    use smartimage::tui::engine_state::EngineWho;
    let demo = demo_like();
    let who = EngineWho {
        mode: "watch".into(),
        host: "media-server-01".into(),
        pid: 123_456,
        os_user: "smartimage".into(),
        started_at: FIXED_TIME,
    };
    let states = [
        ("this_console", EngineStatus::Watching),
        ("elsewhere", EngineStatus::Elsewhere(Some(who.clone()))),
        ("silent", EngineStatus::Silent(who, 12)),
        ("none", EngineStatus::NoEngine),
    ];
    for ((name, status), (mode, theme)) in states
        .into_iter()
        .flat_map(|state| themes().map(|theme| (state.clone(), theme)))
    {
        let mut app = app(&demo, theme);
        app.engine = status;
        for size in SIZES {
            let terminal = render(&app, size);
            let screen = terminal.backend().to_string();
            let title = screen.lines().next().unwrap();
            assert!(
                title.contains(&app.engine.label()),
                "cut off at {size:?}: {title}"
            );
            let footer = screen.lines().last().unwrap();
            assert_eq!(
                footer.contains("H host the engine here"),
                app.engine == EngineStatus::NoEngine,
                "{footer}"
            );
            insta::assert_snapshot!(
                format!("engine_{name}_{}x{}_{mode}", size.0, size.1),
                terminal.backend()
            );
            if !theme.color {
                no_colour_anywhere(terminal.backend().buffer());
            }
        }
    }
}

/// Today's totals are the store's: a console opened later shows what every engine did today,
/// not a count from zero.
#[test]
fn the_queue_shows_todays_totals_from_the_store() {
    let demo = demo_like();
    let mut app = App::new(
        "/srv/smartimage".into(),
        OPERATOR.into(),
        Theme { color: false },
    );
    app.engine = EngineStatus::Watching;
    app.apply_view(load_view(&options_as(&demo.data, OPERATOR)).unwrap());
    assert!(app.queue.rows.is_empty(), "no event seen by this console");
    app.focus = PaneId::Queue;
    let screen = render(&app, SMALL).backend().to_string();
    assert!(
        screen.contains("today 4 imported (76.2 KiB) · 2 failed · 4 removed"),
        "{screen}"
    );
    // An owner of Bakery alone sees Bakery's.
    let view = load_view(&options_as(&demo.data, BAKER)).unwrap();
    assert_eq!((view.today.imported, view.today.failed), (1, 1));
}

fn theme_name(theme: Theme) -> &'static str {
    if theme.color { "colour" } else { "no_color" }
}

/// Issue 18: a refused upload's detail said a report would be written in Dropbox and that `r`
/// retries it; rows cut the file names off long paths; kinds were raw ids.
#[test]
fn a_refused_upload_s_detail_tells_the_truth_at_every_size() {
    let demo = demo_like();
    for theme in [Theme { color: true }, Theme { color: false }] {
        let mut app = app(&demo, theme);
        app.errors.rows.insert(
            0,
            ErrorRow {
                item: ItemId(9_001),
                account: "Acme".into(),
                path: "/srv/shoots/2026/autumn campaign/batch50/selects/img_0042.exe".into(),
                size: 300,
                kind: ErrorKind::UnsupportedFormat,
                detail: "not an image, video, audio or document format we keep".into(),
                at: FIXED_TIME,
                retrying: false,
                state: smartimage::library::store::import_items::ItemState::Failed,
                next_attempt_at: None,
                report: None,
                upload: true,
            },
        );
        app.focus = PaneId::Errors;
        for size in [SMALL, LARGE, HUGE] {
            let list = render(&app, size);
            let text = list.backend().to_string();
            assert!(
                text.contains("img_0042.exe"),
                "the file name is cut off:\n{text}"
            );
            insta::assert_snapshot!(
                format!(
                    "refused_upload_row_{}x{}_{}",
                    size.0,
                    size.1,
                    theme_name(theme)
                ),
                list.backend()
            );
        }
        press(&mut app, KeyCode::Enter);
        for size in [SMALL, LARGE, HUGE] {
            let terminal = render(&app, size);
            let text = terminal.backend().to_string();
            assert!(text.contains("upload it again"), "{text}");
            assert!(!text.contains("retries it"), "{text}");
            assert!(!text.contains("in the account's Dropbox"), "{text}");
            insta::assert_snapshot!(
                format!(
                    "refused_upload_detail_{}x{}_{}",
                    size.0,
                    size.1,
                    theme_name(theme)
                ),
                terminal.backend()
            );
        }
    }
}

/// Issue 18: `z` gives the focused pane the whole screen.
#[test]
fn z_zooms_a_pane_at_every_size() {
    let demo = demo_like();
    for theme in [Theme { color: true }, Theme { color: false }] {
        let mut app = app(&demo, theme);
        app.focus = PaneId::Queue;
        app.handle_key(KeyEvent::new(KeyCode::Char('z'), KeyModifiers::NONE));
        for size in [SMALL, LARGE, HUGE] {
            let terminal = render(&app, size);
            let text = terminal.backend().to_string();
            assert!(
                !text.contains("1 Accounts"),
                "only the queue shows:\n{text}"
            );
            insta::assert_snapshot!(
                format!("zoomed_queue_{}x{}_{}", size.0, size.1, theme_name(theme)),
                terminal.backend()
            );
        }
    }
}

/// The grid at 200x60: columns take the width (Kind and Collections in All Files, whole paths
/// in the queue and the error log).
#[test]
fn the_grid_uses_a_wide_terminal() {
    let demo = demo_like();
    for theme in [Theme { color: true }, Theme { color: false }] {
        let app = app(&demo, theme);
        let terminal = render(&app, HUGE);
        let text = terminal.backend().to_string();
        assert!(
            text.contains("Collections") && text.contains("Kind"),
            "{text}"
        );
        assert!(text.contains("unsupported format"), "{text}");
        // Its snapshot (`grid_200x60_*`) is taken with the other sizes' by
        // `panes_at_every_size_in_colour_and_without`.
    }
}

/// Issue 18: dialog keys were matched outside the keymap, so neither the footer nor `?`
/// could list them. An open dialog's keys are the footer's; help has them all.
#[test]
fn an_open_dialog_s_keys_are_the_footer_s_and_help_lists_every_dialog() {
    let demo = demo_like();
    let mut app = app(&demo, Theme { color: false });
    app.dialog = Some(smartimage::tui::dialogs::Dialog::confirm_pause("Acme"));
    let terminal = render(&app, SMALL);
    let text = terminal.backend().to_string();
    let footer = text.lines().last().unwrap();
    assert!(
        footer.contains("y/Enter yes") && footer.contains("n/Esc no"),
        "{footer}"
    );
    assert!(!footer.contains("Tab pane"), "{footer}");
    app.dialog = None;
    app.help = true;
    app.help_scroll = usize::MAX / 2;
    let terminal = render(&app, LARGE);
    let text = terminal.backend().to_string();
    assert!(
        text.contains("In dialogs") || text.contains("add & save"),
        "{text}"
    );
    assert!(text.contains("Shared link"), "{text}");
}
