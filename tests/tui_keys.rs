//! `App::handle_key` and `App::apply_engine` case by case: keys in, state and effects out. No
//! terminal.

use smartimage::library::ids::{FileId, ItemId, LinkId, ProcessId};
use std::collections::HashMap;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use smartimage::import::events::{EngineCommand, EngineEvent, ItemRef, PassSummary};
use smartimage::library::policy::ErrorKind;
use smartimage::library::store::engine_commands::CommandKind;
use smartimage::library::store::engine_status::{EngineRow, Published};
use smartimage::tui::actions::ConsoleAction;
use smartimage::tui::app::{App, Effect, EngineStatus, ErrorRow, LibraryView, PaneId, QueueState};
use smartimage::tui::engine_state::EnginesSeen;
use smartimage::tui::engines::CommandUpdate;
use smartimage::tui::host::NotHosted;
use smartimage::tui::keymap::{Action, BINDINGS, Binding, Scope};
use smartimage::tui::theme::Theme;

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn ch(c: char) -> KeyEvent {
    key(KeyCode::Char(c))
}

fn app() -> App {
    App::new("lib".into(), "op@example.com".into(), Theme { color: true })
}

fn error(item: i64, account: &str, at: i64) -> ErrorRow {
    ErrorRow {
        item: ItemId(item),
        account: account.into(),
        path: format!("{account}/file{item}.exe"),
        size: 300,
        kind: ErrorKind::UnsupportedFormat,
        detail: "not a supported format".into(),
        at,
        retrying: false,
        state: smartimage::library::store::import_items::ItemState::Failed,
        next_attempt_at: None,
        report: None,
        upload: false,
    }
}

fn app_with_errors() -> App {
    let mut app = app();
    app.view = LibraryView {
        links: HashMap::from([("Acme".to_string(), LinkId(7))]),
        ..LibraryView::default()
    };
    app.errors.rows = vec![
        error(3, "Acme", 30),
        error(2, "Bakery", 20),
        error(1, "Acme", 10),
    ];
    app.focus = PaneId::Errors;
    app
}

fn item(id: i64, account: &str) -> ItemRef {
    ItemRef {
        item: ItemId(id),
        link: LinkId(7),
        account: account.into(),
        path: format!("{account}/photo{id}.jpg"),
        size: 1000,
    }
}

#[test]
fn tab_and_shift_tab_cycle_the_panes_and_digits_jump() {
    let mut app = app();
    assert_eq!(app.focus, PaneId::Accounts);
    app.handle_key(key(KeyCode::Tab));
    assert_eq!(app.focus, PaneId::Queue);
    app.handle_key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT));
    app.handle_key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT));
    assert_eq!(app.focus, PaneId::Errors);
    app.handle_key(ch('3'));
    assert_eq!(app.focus, PaneId::Files);
    app.handle_key(ch('l'));
    assert_eq!(app.focus, PaneId::Errors);
}

#[test]
fn q_and_ctrl_c_quit_and_ctrl_z_suspends() {
    let mut app = app();
    assert_eq!(app.handle_key(ch('q')), vec![Effect::Quit]);
    assert_eq!(
        app.handle_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
        vec![Effect::Quit]
    );
    assert_eq!(
        app.handle_key(KeyEvent::new(KeyCode::Char('z'), KeyModifiers::CONTROL)),
        vec![Effect::Suspend]
    );
}

#[test]
fn question_mark_opens_help_and_any_other_key_closes_it() {
    let mut app = app();
    app.handle_key(KeyEvent::new(KeyCode::Char('?'), KeyModifiers::SHIFT));
    assert!(app.help);
    assert_eq!(app.handle_key(key(KeyCode::Tab)), vec![]);
    assert!(!app.help);
    assert_eq!(
        app.focus,
        PaneId::Accounts,
        "the closing key does nothing else"
    );
    app.handle_key(ch('?'));
    app.handle_key(ch('?'));
    assert!(!app.help);
}

#[test]
fn movement_stays_inside_the_list() {
    let mut app = app_with_errors();
    app.handle_key(ch('k'));
    assert_eq!(app.errors.cursor, 0);
    app.handle_key(ch('j'));
    app.handle_key(key(KeyCode::Down));
    app.handle_key(ch('j'));
    assert_eq!(app.errors.cursor, 2);
    app.handle_key(ch('g'));
    assert_eq!(app.errors.cursor, 0);
    app.handle_key(KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT));
    assert_eq!(app.errors.cursor, 2);
    app.handle_key(key(KeyCode::PageUp));
    assert_eq!(app.errors.cursor, 0);
    app.handle_key(key(KeyCode::PageDown));
    assert_eq!(app.errors.cursor, 2);
}

#[test]
fn with_no_accounts_the_cursor_stays_on_all_accounts() {
    let mut app = app_with_errors();
    app.accounts.rows = vec![];
    app.focus = PaneId::Accounts;
    assert_eq!(app.handle_key(ch('j')), vec![], "no accounts to move to");
    assert_eq!(app.scoped_account(), None);
    assert_eq!(app.error_rows().len(), 3);
}

#[test]
fn r_retries_the_selected_failed_file_through_the_library_like_the_cli() {
    let mut app = app_with_errors();
    let effects = app.handle_key(ch('r'));
    assert_eq!(
        effects,
        vec![Effect::Run(ConsoleAction::Retry {
            account: "Acme".into(),
            items: vec![ItemId(3)]
        })]
    );
    assert!(app.errors.rows[0].retrying);
    assert!(!app.errors.rows[2].retrying);
}

#[test]
fn capital_r_retries_every_failed_file_of_the_account() {
    let mut app = app_with_errors();
    let effects = app.handle_key(KeyEvent::new(KeyCode::Char('R'), KeyModifiers::SHIFT));
    assert_eq!(
        effects,
        vec![Effect::Run(ConsoleAction::Retry {
            account: "Acme".into(),
            items: vec![]
        })]
    );
    assert!(app.errors.rows[0].retrying && app.errors.rows[2].retrying);
    assert!(
        !app.errors.rows[1].retrying,
        "another account's file is left alone"
    );
}

#[test]
fn retrying_without_a_link_says_so_instead_of_sending_anything() {
    let mut app = app_with_errors();
    app.handle_key(ch('j'));
    assert_eq!(app.handle_key(ch('r')), vec![]);
    assert!(app.last_problem.as_deref().unwrap().contains("Bakery"));
}

#[test]
fn enter_toggles_the_error_detail_and_esc_closes_it() {
    let mut app = app_with_errors();
    app.handle_key(key(KeyCode::Enter));
    assert!(app.errors.detail);
    app.handle_key(key(KeyCode::Enter));
    assert!(!app.errors.detail);
    app.handle_key(key(KeyCode::Enter));
    app.handle_key(key(KeyCode::Esc));
    assert!(!app.errors.detail);
}

#[test]
fn enter_means_nothing_outside_the_error_log() {
    let mut app = app_with_errors();
    app.focus = PaneId::Files;
    assert_eq!(app.handle_key(key(KeyCode::Enter)), vec![]);
    assert!(!app.errors.detail);
    assert_eq!(app.handle_key(ch('r')), vec![], "r is an Error log key");
}

#[test]
fn s_in_the_queue_asks_the_engine_to_scan_now() {
    // Hosting: the engine's own channel, at once, and a word in the status line.
    let mut app = app();
    app.engine = EngineStatus::Watching;
    app.focus = PaneId::Queue;
    assert_eq!(
        app.handle_key(ch('s')),
        vec![Effect::Engine(EngineCommand::ScanNow)]
    );
    assert_eq!(app.status.as_deref(), Some("scanning 0 linked folder(s)"));
}

#[test]
fn s_in_a_console_that_follows_asks_through_the_store_and_says_how_it_stands() {
    let mut app = app();
    app.engine = EngineStatus::Elsewhere(None);
    app.focus = PaneId::Queue;
    assert_eq!(
        app.handle_key(ch('s')),
        vec![Effect::AskEngine(CommandKind::Scan)]
    );
    assert_eq!(app.status.as_deref(), Some("scan asked — pending"));
    app.command_update(CommandUpdate::Asked(CommandKind::Scan));
    assert_eq!(app.status.as_deref(), Some("scan asked — pending"));
    app.dirty = false;
    app.command_update(CommandUpdate::Done {
        kind: CommandKind::Scan,
        ok: true,
        outcome: "scanning 2 linked folder(s) now".into(),
    });
    assert_eq!(app.status.as_deref(), Some("scanning 2 linked folder(s)"));
    assert!(app.dirty);

    // No engine: the command waits in the store for the next one, and the admin is told.
    app.engine = EngineStatus::NoEngine;
    assert_eq!(
        app.handle_key(ch('s')),
        vec![Effect::AskEngine(CommandKind::Scan)]
    );
    assert_eq!(
        app.status.as_deref(),
        Some("no engine running — the scan waits for the next engine")
    );
    app.command_update(CommandUpdate::Refused(
        CommandKind::Scan,
        "no library".into(),
    ));
    assert_eq!(
        app.last_problem.as_deref(),
        Some("scan not asked: no library")
    );
}

fn engine_row(mode: &str, updated_ms: i64, alive_here: Option<bool>) -> EngineRow {
    EngineRow {
        process: ProcessId(1),
        host: "box".into(),
        pid: 4242,
        os_user: "ann".into(),
        started_at: 1_795_000_000,
        updated_ms,
        published: Published {
            mode: mode.into(),
            state: "running".into(),
            ..Published::default()
        },
        alive_here,
    }
}

fn seen(rows: Vec<EngineRow>, lock_held: Option<bool>, now_ms: i64) -> EnginesSeen {
    EnginesSeen {
        rows,
        lock_held,
        now_ms,
    }
}

#[test]
fn engine_rows_say_whose_engine_runs_and_a_heartbeat_alone_draws_nothing() {
    let mut app = app();
    app.engine = EngineStatus::Elsewhere(None);
    app.dirty = false;
    app.apply_engines(seen(
        vec![engine_row("watch", 10_000, Some(true))],
        None,
        10_500,
    ));
    assert_eq!(
        app.engine.label(),
        "engine: import --watch on box, pid 4242, since 11:06"
    );
    assert!(app.dirty);
    // A second later: a new heartbeat, the same title bar — no frame.
    app.dirty = false;
    let mut row = engine_row("watch", 11_000, Some(true));
    row.published.rate_bps = 1_000;
    app.apply_engines(seen(vec![row], None, 11_500));
    assert!(!app.dirty, "a heartbeat alone is not a change on screen");
    // Killed: the lock is free, the process gone — no engine, and the host key is offered.
    app.apply_engines(seen(
        vec![engine_row("watch", 11_000, Some(false))],
        Some(false),
        12_000,
    ));
    assert_eq!(app.engine, EngineStatus::NoEngine);
    assert!(app.dirty);
    assert_eq!(app.host_offer().as_deref(), Some("H"));
    // Hung: alive, holding the lock, silent.
    app.apply_engines(seen(
        vec![engine_row("serve", 10_000, Some(true))],
        Some(true),
        22_000,
    ));
    assert_eq!(
        app.engine.label(),
        "engine: serve on box, pid 4242 not responding for 12 s"
    );
    assert_eq!(app.host_offer(), None);
}

#[test]
fn a_hosting_console_keeps_saying_so_whatever_the_rows_say() {
    let mut app = app();
    app.engine = EngineStatus::Watching;
    app.apply_engines(seen(vec![], Some(false), 0));
    assert_eq!(app.engine, EngineStatus::Watching);
    assert_eq!(app.engine.label(), "engine: this console");
    // Its engine stopped (a `stop` command): none runs.
    app.host_stopped();
    assert_eq!(app.engine, EngineStatus::NoEngine);
}

#[test]
fn h_hosts_the_engine_only_when_none_runs() {
    let mut app = app();
    app.engine = EngineStatus::Elsewhere(None);
    assert_eq!(app.handle_key(ch('H')), vec![]);
    assert!(
        app.status
            .as_deref()
            .unwrap()
            .contains("this console follows it")
    );
    app.engine = EngineStatus::NoEngine;
    assert_eq!(app.handle_key(ch('H')), vec![Effect::HostEngine]);
    assert_eq!(app.engine, EngineStatus::Starting);
    assert_eq!(app.host_offer(), None, "not offered while it starts");
    assert_eq!(app.host_started(Ok(())), vec![Effect::Refresh]);
    assert_eq!(app.engine, EngineStatus::Watching);
    assert_eq!(
        app.status.as_deref(),
        Some("this console runs the import engine")
    );
    // Another engine was quicker: not an error, that one is followed.
    app.engine = EngineStatus::NoEngine;
    app.handle_key(ch('H'));
    app.host_started(Err(NotHosted::Taken));
    assert_eq!(app.engine, EngineStatus::Elsewhere(None));
    assert_eq!(app.last_problem, None);
}

#[test]
fn the_replayed_history_fills_the_queue_and_reads_the_library_once() {
    let mut app = app();
    let effects = app.apply_history(vec![
        EngineEvent::Discovered(item(1, "Acme")),
        EngineEvent::Failed {
            item: item(1, "Acme"),
            kind: ErrorKind::UnsupportedFormat,
            detail: "no".into(),
        },
        EngineEvent::Discovered(item(2, "Acme")),
        EngineEvent::LinkState {
            link: LinkId(7),
            account: "Acme".into(),
            state: smartimage::library::store::links::LinkState::Paused,
            detail: None,
        },
        EngineEvent::LinkState {
            link: LinkId(7),
            account: "Acme".into(),
            state: smartimage::library::store::links::LinkState::Active,
            detail: None,
        },
    ]);
    assert_eq!(effects, vec![Effect::Refresh]);
    assert_eq!(app.queue.rows.len(), 2);
    // The library read that follows has the errors as they are now: a failure of the past
    // that was dealt with meanwhile is not kept.
    app.apply_view(LibraryView::default());
    assert!(app.errors.rows.is_empty(), "{:?}", app.errors.rows);
}

#[test]
fn a_change_in_the_store_reads_the_panes_again() {
    let mut app = app();
    let effects = app.store_changed();
    assert_eq!(effects[0], Effect::Refresh);
    assert!(
        effects.iter().any(|e| matches!(e, Effect::Files(_))),
        "All Files too: {effects:?}"
    );
}

#[test]
fn queue_rows_follow_engine_events_newest_first() {
    let mut app = app();
    app.apply_engine(EngineEvent::Discovered(item(1, "Acme")));
    app.apply_engine(EngineEvent::Discovered(item(2, "Acme")));
    app.apply_engine(EngineEvent::Progress {
        item: ItemId(1),
        bytes: 400,
        total: 1000,
    });
    assert_eq!(app.queue.rows[0].item, ItemId(2));
    assert_eq!(
        app.queue.rows[1].state,
        QueueState::Downloading {
            bytes: 400,
            total: 1000
        }
    );
    app.apply_engine(EngineEvent::Imported {
        item: item(1, "Acme"),
        file: FileId(9),
    });
    app.apply_engine(EngineEvent::Failed {
        item: item(2, "Acme"),
        kind: ErrorKind::UnsupportedFormat,
        detail: "no".into(),
    });
    assert_eq!(app.queue.rows[1].state, QueueState::Imported);
    assert_eq!(
        app.queue.rows[0].state,
        QueueState::Failed(ErrorKind::UnsupportedFormat)
    );
    assert_eq!(app.totals.imported, 1);
    assert_eq!(
        app.errors.rows[0].item,
        ItemId(2),
        "a live failure enters the error log"
    );
}

#[test]
fn rate_limit_waits_count_down_on_the_tick_and_end() {
    let mut app = app();
    let start = Instant::now();
    app.tick(start);
    app.apply_engine(EngineEvent::RateLimited {
        link: LinkId(7),
        wait: Duration::from_secs(5),
    });
    let limit = app.queue.rate_limits[&LinkId(7)].clone();
    assert_eq!(app.seconds_left(&limit), 5);
    app.tick(start + Duration::from_secs(2));
    assert_eq!(app.seconds_left(&limit), 3);
    app.tick(start + Duration::from_secs(6));
    assert!(app.queue.rate_limits.is_empty());
}

#[test]
fn an_idle_tick_changes_nothing_visible() {
    let mut app = app();
    app.dirty = false;
    app.tick(Instant::now());
    assert!(!app.dirty, "no redraw while idle");
}

#[test]
fn every_binding_has_keys_a_label_and_help_and_no_two_bindings_in_force_together_share_a_key() {
    for b in BINDINGS {
        assert!(!b.keys.is_empty() && !b.label.is_empty() && !b.help.is_empty());
    }
    // Two bindings are in force together when they share a scope, or when either is global (a
    // pane's keys and the global ones both apply while the pane has focus). The one exception:
    // a pane's own key may be the key that closes overlays, since an open overlay takes every
    // key first and the two never compete.
    let together = |a: Scope, b: Scope| a == b || a == Scope::Global || b == Scope::Global;
    let closes_overlay = |b: &Binding| b.action == Action::CloseOverlay;
    let overlay_and_pane = |a: &Binding, b: &Binding| {
        (closes_overlay(a) && matches!(b.scope, Scope::Pane(_)))
            || (closes_overlay(b) && matches!(a.scope, Scope::Pane(_)))
    };
    let mut global_against_pane = 0;
    for (i, a) in BINDINGS.iter().enumerate() {
        for b in &BINDINGS[i + 1..] {
            let clash = a.keys.iter().any(|k| b.keys.contains(k));
            if a.scope != b.scope && together(a.scope, b.scope) {
                global_against_pane += 1;
            }
            assert!(
                !(clash && together(a.scope, b.scope) && !overlay_and_pane(a, b)),
                "{} ({:?}) and {} ({:?}) share a key",
                a.label,
                a.scope,
                b.label,
                b.scope
            );
        }
    }
    assert!(
        global_against_pane > 0,
        "no global binding was compared with a pane's"
    );
}

#[test]
fn a_quiet_engine_pass_draws_nothing_and_a_busy_one_refreshes() {
    let mut app = app();
    app.dirty = false;
    app.apply_engine(EngineEvent::PassStarted {
        link: LinkId(7),
        account: "Acme".into(),
    });
    let effects = app.apply_engine(EngineEvent::PassFinished {
        link: LinkId(7),
        account: "Acme".into(),
        summary: PassSummary::default(),
    });
    assert!(effects.is_empty());
    assert!(!app.dirty, "no redraw for a pass that found nothing");
    let effects = app.apply_engine(EngineEvent::PassFinished {
        link: LinkId(7),
        account: "Acme".into(),
        summary: PassSummary {
            discovered: 1,
            imported: 1,
            ..PassSummary::default()
        },
    });
    assert_eq!(effects, vec![Effect::Refresh]);
    assert!(app.dirty);
}

#[test]
fn a_quiet_event_never_hides_an_earlier_change_from_the_next_frame() {
    let mut app = app();
    app.dirty = false;
    assert_eq!(app.apply_view(LibraryView::default()), vec![]);
    app.apply_engine(EngineEvent::PassStarted {
        link: LinkId(7),
        account: "Acme".into(),
    });
    assert!(app.dirty);
}

#[test]
fn retrying_while_another_process_runs_the_engine_still_queues_the_file_in_the_library() {
    let mut app = app_with_errors();
    app.engine = EngineStatus::Unavailable("engine lock held".into());
    let effects = app.handle_key(ch('r'));
    assert!(matches!(
        effects[..],
        [Effect::Run(ConsoleAction::Retry { .. })]
    ));
    // Done: the library is read again; no engine here to wake.
    let action = ConsoleAction::Retry {
        account: "Acme".into(),
        items: vec![ItemId(3)],
    };
    let effects = app.action_finished(
        &action,
        Ok("1 failed import(s) of Acme queued again".into()),
    );
    assert_eq!(effects, vec![Effect::Refresh]);
    let status = app.status.as_deref().unwrap();
    assert!(
        status.contains("queued again") && status.contains("running elsewhere"),
        "{status}"
    );
}

/// A fault of our own server is shown to the admin as a `server_error` waiting for its next
/// try — in the queue and the error log — never counted as a failed file.
#[test]
fn a_server_error_shows_in_the_error_log_as_waiting_for_its_retry_not_as_failed() {
    let mut app = app();
    app.apply_engine(EngineEvent::Discovered(item(5, "Acme")));
    app.apply_engine(EngineEvent::Retrying {
        item: item(5, "Acme"),
        kind: ErrorKind::ServerError,
        detail: "Server error: the library's blob store could not take the file (the data disk is full).".into(),
        next_attempt_at: 1_800_000_000,
    });
    assert_eq!(app.totals.failed, 0);
    assert_eq!(app.totals.retrying, 1);
    assert_eq!(
        app.queue.rows[0].state,
        QueueState::Retrying(ErrorKind::ServerError)
    );
    let row = &app.errors.rows[0];
    assert_eq!(row.kind, ErrorKind::ServerError);
    assert_eq!(
        row.state,
        smartimage::library::store::import_items::ItemState::Retrying
    );
    assert_eq!(row.next_attempt_at, Some(1_800_000_000));
    // Imported at a later try: no longer an error.
    app.apply_engine(EngineEvent::Imported {
        item: item(5, "Acme"),
        file: FileId(9),
    });
    assert!(app.errors.rows.is_empty());
}

#[test]
fn a_refused_retry_opens_a_notice_and_the_rows_are_no_longer_marked() {
    let mut app = app_with_errors();
    app.handle_key(ch('R'));
    assert!(app.errors.rows[0].retrying);
    let action = ConsoleAction::Retry {
        account: "Acme".into(),
        items: vec![],
    };
    app.action_finished(
        &action,
        Err(smartimage::tui::error::ConsoleError::Refused(
            "ann is not an admin of \"Acme\"".into(),
        )),
    );
    assert!(!app.errors.rows[0].retrying);
    assert!(app.dialog.is_some());
    app.handle_key(key(KeyCode::Esc));
    assert!(app.dialog.is_none());
}

#[test]
fn the_mouse_is_off_until_m_and_then_scrolls_and_focuses() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut app = app_with_errors();
    let wheel = MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: 90,
        row: 30,
        modifiers: KeyModifiers::NONE,
    };
    assert_eq!(app.handle_mouse(wheel, Some(PaneId::Errors)), vec![]);
    assert_eq!(app.errors.cursor, 0, "mouse reports are ignored while off");
    assert_eq!(app.handle_key(ch('m')), vec![Effect::Mouse(true)]);
    app.handle_mouse(wheel, Some(PaneId::Errors));
    assert_eq!(app.errors.cursor, 1);
    let click = MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        ..wheel
    };
    app.handle_mouse(click, Some(PaneId::Queue));
    assert_eq!(app.focus, PaneId::Queue);
    assert_eq!(app.handle_key(ch('m')), vec![Effect::Mouse(false)]);
}

#[test]
fn a_click_finds_the_pane_under_it_in_the_grid_and_on_the_tab_strip() {
    use ratatui::layout::Rect;
    use smartimage::tui::layout::pane_at;
    let app = app();
    let big = Rect::new(0, 0, 120, 40);
    assert_eq!(pane_at(big, &app, 5, 5), Some(PaneId::Accounts));
    assert_eq!(pane_at(big, &app, 100, 5), Some(PaneId::Queue));
    assert_eq!(pane_at(big, &app, 5, 30), Some(PaneId::Files));
    assert_eq!(pane_at(big, &app, 100, 30), Some(PaneId::Errors));
    let small = Rect::new(0, 0, 80, 24);
    // " 1 Accounts   2 Dropbox queue   3 All Files   4 Error log" on row 1.
    assert_eq!(pane_at(small, &app, 20, 1), Some(PaneId::Queue));
    assert_eq!(pane_at(small, &app, 50, 1), Some(PaneId::Errors));
    assert_eq!(pane_at(small, &app, 10, 10), Some(PaneId::Accounts));
}

#[test]
fn the_queue_shows_each_link_s_rate_and_time_left() {
    let mut app = app();
    let start = Instant::now();
    app.tick(start);
    let mut big = item(1, "Acme");
    big.size = 10_000_000;
    app.apply_engine(EngineEvent::Discovered(big));
    app.apply_engine(EngineEvent::Progress {
        item: ItemId(1),
        bytes: 0,
        total: 10_000_000,
    });
    app.now = start + Duration::from_secs(2);
    app.apply_engine(EngineEvent::Progress {
        item: ItemId(1),
        bytes: 4_000_000,
        total: 10_000_000,
    });
    // 4 MB in 2 s: 2 MB/s, 6 MB left: 3 s.
    let rate = app.queue.throughput.rate(LinkId(7), app.now).unwrap();
    assert!((rate - 2_000_000.0).abs() < 1.0, "{rate}");
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).unwrap();
    terminal
        .draw(|f| smartimage::tui::layout::draw(f, &app))
        .unwrap();
    let screen = terminal.backend().to_string();
    assert!(
        screen.contains("Acme: 1 left (5.7 MiB) · 1.9 MiB/s · ETA 0:03"),
        "{screen}"
    );
    // The grid's queue pane is narrow: percentage, a short bar and the file's own rate.
    assert!(screen.contains(" 40% [#···] 1.9 MiB/s"), "{screen}");
}

#[test]
fn u_in_all_files_opens_upload_and_on_all_accounts_it_asks_for_an_account() {
    use smartimage::tui::dialogs::Dialog;
    let mut app = app();
    app.focus = PaneId::Queue;
    assert_eq!(app.handle_key(ch('u')), vec![]);
    assert!(app.dialog.is_none(), "u is All Files' key only");
    app.focus = PaneId::Files;
    assert_eq!(app.handle_key(ch('u')), vec![]);
    let Some(Dialog::Upload(dialog)) = &app.dialog else {
        panic!("no upload dialog")
    };
    assert_eq!(dialog.account, None);
    // Typed keys are text, and Enter without an account does not start anything.
    for c in "/srv/q".chars() {
        assert_eq!(app.handle_key(ch(c)), vec![]);
    }
    assert_eq!(app.handle_key(key(KeyCode::Enter)), vec![]);
    assert!(app.dialog.is_some());
    assert_eq!(app.handle_key(key(KeyCode::Esc)), vec![]);
    assert!(app.dialog.is_none());
}

#[test]
fn dropped_files_pasted_with_no_dialog_open_the_upload_dialog_filled_in() {
    use smartimage::tui::dialogs::Dialog;
    let mut app = app();
    let effects = app.handle_paste("'/srv/My Photos/a.jpg' file:///srv/b%20c.png\n");
    assert_eq!(
        effects,
        vec![Effect::UploadLookup {
            text: "'/srv/My Photos/a.jpg' '/srv/b c.png'".into(),
            complete: false
        }]
    );
    let Some(Dialog::Upload(dialog)) = &app.dialog else {
        panic!("no upload dialog")
    };
    assert_eq!(
        dialog.paths(),
        vec![
            std::path::PathBuf::from("/srv/My Photos/a.jpg"),
            "/srv/b c.png".into()
        ]
    );
    // Blank pastes open nothing.
    let mut app2 = self::app();
    assert_eq!(app2.handle_paste(" \n"), vec![]);
    assert!(app2.dialog.is_none());
}

#[test]
fn upload_events_become_queue_rows_and_a_refusal_an_error_row_marked_as_uploads() {
    use smartimage::import::events::UploadRef;
    let mut app = app();
    let file = |n: i64| UploadRef {
        upload: ItemId(-n),
        account: "Acme".into(),
        path: format!("/srv/{n}.png"),
        size: 10,
    };
    app.apply_engine(EngineEvent::UploadQueued(file(1)));
    app.apply_engine(EngineEvent::UploadQueued(file(2)));
    assert_eq!(app.queue_rows().len(), 2);
    assert!(
        app.queue_rows()
            .iter()
            .all(|r| r.upload && r.state == QueueState::Waiting)
    );
    let effects = app.apply_engine(EngineEvent::Uploaded {
        upload: file(1),
        file: FileId(7),
    });
    // All Files reads its window again, as for an import, so the new file shows.
    assert!(
        effects.iter().any(|e| matches!(e, Effect::Files(_))),
        "{effects:?}"
    );
    app.apply_engine(EngineEvent::UploadRefused {
        upload: file(2),
        kind: ErrorKind::StorageLimit,
        detail: "over the storage limit".into(),
    });
    let state = |n: i64| {
        app.queue
            .rows
            .iter()
            .find(|r| r.item == ItemId(-n))
            .unwrap()
            .state
            .clone()
    };
    assert_eq!(state(1), QueueState::Imported);
    assert_eq!(state(2), QueueState::Failed(ErrorKind::StorageLimit));
    assert_eq!(app.totals.imported, 1);
    let errors = app.error_rows();
    assert_eq!(errors.len(), 1);
    assert!(errors[0].upload);
    assert_eq!(errors[0].detail, "over the storage limit");
}

#[test]
fn uploads_in_flight_get_a_line_per_account_apart_from_the_links_lines() {
    use ratatui::{Terminal, backend::TestBackend};
    use smartimage::import::events::UploadRef;
    let mut app = app();
    let upload = |n: i64, account: &str| UploadRef {
        upload: ItemId(-n),
        account: account.into(),
        path: format!("/srv/{n}.png"),
        size: 2048,
    };
    app.apply_engine(EngineEvent::UploadQueued(upload(1, "Acme")));
    app.apply_engine(EngineEvent::UploadQueued(upload(2, "Acme")));
    app.apply_engine(EngineEvent::UploadQueued(upload(3, "Zeta")));
    app.apply_engine(EngineEvent::Discovered(item(4, "Acme")));
    app.focus = PaneId::Queue;
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    terminal
        .draw(|f| smartimage::tui::layout::draw(f, &app))
        .unwrap();
    let screen: Vec<String> = terminal
        .backend()
        .buffer()
        .content()
        .chunks(120)
        .map(|row| row.iter().map(|c| c.symbol()).collect())
        .collect();
    let has = |text: &str| screen.iter().any(|line| line.contains(text));
    // Two uploads to Acme and one to Zeta are two lines, never merged into one fake link.
    assert!(has("Acme upload: 2 left (4.0 KiB)"), "{screen:#?}");
    assert!(has("Zeta upload: 1 left (2.0 KiB)"), "{screen:#?}");
    // The Dropbox link keeps its own line with a rate.
    assert!(has("Acme: 1 left (1000 B) · starting"), "{screen:#?}");
}

fn failure_entry(id: i64, path: &str) -> smartimage::library::import_log::FailureEntry {
    smartimage::library::import_log::FailureEntry {
        id: ItemId(id),
        account: "Acme".into(),
        path: path.into(),
        size: 300,
        kind: ErrorKind::UnsupportedFormat,
        detail: "not a supported format".into(),
        format: None,
        attempts: 1,
        reported: true,
        report_path: None,
        updated_at: 10 * id,
        state: smartimage::library::store::import_items::ItemState::Failed,
        next_attempt_at: None,
    }
}

/// Regression: after a relink the error log kept the old link's rows beside the new link's,
/// one row per link a file had failed under.
#[test]
fn a_library_read_replaces_the_error_rows_it_no_longer_has() {
    let mut app = app();
    let view = |failures| LibraryView {
        failures,
        ..LibraryView::default()
    };
    let error_items = |app: &App| {
        let mut items: Vec<ItemId> = app.errors.rows.iter().map(|e| e.item).collect();
        items.sort();
        items
    };
    app.apply_view(view(vec![
        failure_entry(1, "/Acme/a.exe"),
        failure_entry(2, "/Acme/b.exe"),
    ]));
    // Relinked: the same files fail again as the new link's items 3 and 4.
    let failed = |id: i64, path: &str| EngineEvent::Failed {
        item: ItemRef {
            item: ItemId(id),
            link: LinkId(8),
            account: "Acme".into(),
            path: path.into(),
            size: 300,
        },
        kind: ErrorKind::UnsupportedFormat,
        detail: "not a supported format".into(),
    };
    app.apply_engine(failed(3, "/Acme/a.exe"));
    app.apply_view(view(vec![
        failure_entry(3, "/Acme/a.exe"),
        failure_entry(4, "/Acme/b.exe"),
    ]));
    assert_eq!(
        error_items(&app),
        [ItemId(3), ItemId(4)],
        "each failing file once"
    );
    // A failure a read taken just before it missed keeps its row, once.
    app.apply_engine(failed(5, "/Acme/c.exe"));
    let current = || {
        view(vec![
            failure_entry(3, "/Acme/a.exe"),
            failure_entry(4, "/Acme/b.exe"),
        ])
    };
    app.apply_view(current());
    assert_eq!(error_items(&app), [ItemId(3), ItemId(4), ItemId(5)]);
    // The next read no longer has it (removed, imported): it is gone from the log too.
    app.apply_view(current());
    assert_eq!(error_items(&app), [ItemId(3), ItemId(4)]);
}

/// Issue 18: `z` gives the focused pane the whole screen; `z` or `Esc` gives the others back.
#[test]
fn z_zooms_the_focused_pane_and_esc_or_z_comes_back() {
    let mut app = app();
    app.focus = PaneId::Queue;
    app.handle_key(ch('z'));
    assert!(app.zoom);
    app.handle_key(ch('z'));
    assert!(!app.zoom);
    app.handle_key(ch('z'));
    app.handle_key(key(KeyCode::Esc));
    assert!(!app.zoom);
}

/// Issue 18: notices stayed until something else replaced them.
#[test]
fn footer_notices_expire_a_few_seconds_after_they_last_changed_but_work_in_progress_stays() {
    let mut app = app();
    let t0 = Instant::now();
    app.status = Some("Acme is paused".into());
    app.tick(t0);
    app.tick(t0 + Duration::from_secs(2));
    assert!(app.status.is_some(), "still fresh");
    app.tick(t0 + smartimage::tui::app::NOTICE_TTL + Duration::from_secs(1));
    assert_eq!(app.status, None);
    assert!(app.dirty);
    app.status = Some("linking Acme…".into());
    let t1 = t0 + Duration::from_secs(60);
    app.tick(t1);
    app.tick(t1 + Duration::from_secs(60));
    assert_eq!(app.status.as_deref(), Some("linking Acme…"));
}

/// Issue 18: the authorize page could only be copied off the screen, borders and all.
#[test]
fn ctrl_y_in_the_authorize_dialog_copies_its_page_with_osc_52() {
    let mut app = app();
    let url = "https://www.dropbox.com/oauth2/authorize?client_id=k&code_challenge=c";
    app.api_link_started("Acme", Ok(url.into()));
    let effects = app.handle_key(KeyEvent::new(KeyCode::Char('y'), KeyModifiers::CONTROL));
    assert_eq!(effects, vec![Effect::Copy(url.into())]);
    assert!(app.dialog.is_some(), "the dialog stays for the code");
    // A plain y is typed into the code field.
    assert_eq!(app.handle_key(ch('y')), vec![]);
}

/// Issue 18: a refused upload's row must not read like an import that will be reported and
/// retried.
#[test]
fn a_refused_upload_is_not_retried_and_says_how_to_try_again() {
    let mut app = app_with_errors();
    app.errors.rows[0].upload = true;
    assert_eq!(app.handle_key(ch('r')), vec![]);
    let said = app.last_problem.clone().unwrap();
    assert!(said.contains("upload it again"), "{said}");
}
