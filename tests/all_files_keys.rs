//! All Files keys, case by case, without a terminal or a library: what each key does to the
//! state and which reads or writes it asks for.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use smartimage::library::ids::BatchId;
use smartimage::library::ids::{AccountId, CollectionId, FileId, ItemId, LinkId};
use smartimage::library::model::{FileRecord, Source};
use smartimage::library::organise::{BatchAddOutcome, FileFilter, FileSelection};
use smartimage::library::store::SortKey;
use smartimage::library::store::files::TrashFilter;
use smartimage::library::trash::{TrashOutcome, TrashSelection};
use smartimage::tui::all_files::{
    Anchor, CountPurpose, FilesReply, FilesRequest, Marked, RestoreSelection, TrashJob,
};
use smartimage::tui::app::{App, Effect, PaneId};
use smartimage::tui::dialogs::Dialog;
use smartimage::tui::dialogs::collections::EditData;
use smartimage::tui::panes::files::title as files_title;
use smartimage::tui::theme::Theme;

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn ch(c: char) -> KeyEvent {
    key(KeyCode::Char(c))
}

fn file(id: i64, name: &str) -> FileRecord {
    FileRecord {
        id: FileId(id),
        account: AccountId(1),
        account_name: "Acme".into(),
        name: name.into(),
        size: 100 * id as u64,
        kind: "image".into(),
        format: "PNG image".into(),
        mime: "image/png".into(),
        sha256: format!("{id:064x}"),
        source: Source::Dropbox,
        uploaded_by: Some("ann@example.com".into()),
        imported_at: 1_795_000_000,
        dropbox_path: Some(format!("/Acme/{name}")),
        collections: vec![],
        trashed_at: None,
        duplicate_of: None,
        batch: None,
        taken: None,
        camera: None,
        taken_sort: "2026-11-18T08:26:40".into(),
    }
}

fn requests(effects: &[Effect]) -> Vec<&FilesRequest> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Files(r) => Some(r),
            _ => None,
        })
        .collect()
}

fn window_seq(effects: &[Effect]) -> u64 {
    requests(effects)
        .iter()
        .find_map(|r| match r {
            FilesRequest::Window { seq, .. } => Some(*seq),
            _ => None,
        })
        .expect("a window read")
}

fn window_filter(effects: &[Effect]) -> FileFilter {
    requests(effects)
        .iter()
        .find_map(|r| match r {
            FilesRequest::Window { filter, .. } => Some(filter.clone()),
            _ => None,
        })
        .expect("a window read")
}

/// The console on All Files with `n` rows read (the whole list).
fn app_with(n: i64) -> App {
    let mut app = App::new(
        "lib".into(),
        "ann@example.com".into(),
        Theme { color: true },
    );
    app.focus = PaneId::Files;
    app.files.viewport.set(5);
    let effects = app.files_start();
    deliver(
        &mut app,
        &effects,
        (1..=n).map(|i| file(i, &format!("f{i:03}.png"))).collect(),
    );
    app
}

fn deliver(app: &mut App, effects: &[Effect], rows: Vec<FileRecord>) -> Vec<Effect> {
    let seq = window_seq(effects);
    app.apply_files(FilesReply::Window {
        seq,
        rows,
        anchor_index: 0,
        at_start: true,
        at_end: true,
        fuzzy: false,
    })
}

#[test]
fn s_cycles_the_sort_and_capital_s_reverses_it_each_reading_from_the_top() {
    let mut app = app_with(3);
    assert_eq!(app.files.order.sort, SortKey::Imported);
    let effects = app.handle_key(ch('s'));
    assert_eq!(app.files.order.sort, SortKey::Name);
    assert!(!app.files.order.descending, "names read A to Z");
    assert!(matches!(
        requests(&effects)[0],
        FilesRequest::Window {
            anchor: Anchor::First,
            ..
        }
    ));
    app.handle_key(ch('S'));
    assert!(app.files.order.descending);
    for expected in [
        SortKey::Size,
        SortKey::Kind,
        SortKey::Taken,
        SortKey::Imported,
    ] {
        app.handle_key(ch('s'));
        assert_eq!(app.files.order.sort, expected);
    }
}

#[test]
fn slash_filters_names_as_you_type_and_drops_stale_answers() {
    let mut app = app_with(3);
    app.handle_key(ch('/'));
    assert!(app.files.typing);
    let first = app.handle_key(ch('h'));
    assert_eq!(window_filter(&first).name_contains.as_deref(), Some("h"));
    let second = app.handle_key(ch('q'));
    assert_eq!(window_filter(&second).name_contains.as_deref(), Some("hq"));
    // 'q' went into the field: the console did not quit.
    assert!(!second.contains(&Effect::Quit));
    // The answer for "h" comes after the one for "hq": dropped.
    deliver(&mut app, &second, vec![file(9, "hq.png")]);
    deliver(&mut app, &first, vec![file(8, "h.png"), file(9, "hq.png")]);
    assert_eq!(app.files.rows.len(), 1);
    assert_eq!(app.files.rows[0].name, "hq.png");
    app.handle_key(key(KeyCode::Enter));
    assert!(!app.files.typing);
    assert_eq!(app.files.name.value(), "hq");
    // Esc in the field clears the filter.
    app.handle_key(ch('/'));
    let cleared = app.handle_key(key(KeyCode::Esc));
    assert_eq!(window_filter(&cleared).name_contains, None);
}

#[test]
fn d_t_and_the_title_show_the_filters_and_the_count() {
    let mut app = app_with(3);
    let effects = app.handle_key(ch('d'));
    assert_eq!(window_filter(&effects).source, Some(Source::Dropbox));
    let effects = app.handle_key(ch('t'));
    assert_eq!(
        window_filter(&effects).kind,
        Some(smartimage::library::formats::FileKind::Image)
    );
    let count = deliver(&mut app, &effects, vec![file(1, "a.png")]);
    let seq = requests(&count)
        .iter()
        .find_map(|r| match r {
            FilesRequest::Count { seq, .. } => Some(*seq),
            _ => None,
        })
        .expect("rows first, then the count");
    app.apply_files(FilesReply::Count {
        seq,
        count: 1234,
        purpose: CountPurpose::Matching,
    });
    let title = smartimage::tui::panes::files::title(&app.files);
    assert!(title.contains("1,234 files"), "{title}");
    assert!(title.contains("Dropbox uploads"), "{title}");
    assert!(title.contains("kind image"), "{title}");
}

#[test]
fn o_needs_an_account_because_collections_belong_to_one() {
    let mut app = app_with(3);
    assert!(app.handle_key(ch('o')).is_empty());
    assert!(
        app.files
            .notice
            .as_deref()
            .unwrap()
            .contains("Accounts pane")
    );
}

#[test]
fn space_marks_and_moves_v_marks_a_range_star_marks_the_filter_esc_clears() {
    let mut app = app_with(10);
    app.handle_key(ch(' '));
    assert_eq!(app.files.cursor, 1);
    assert_eq!(app.files.marked.count(), Some(1));
    app.handle_key(ch('v'));
    app.handle_key(ch('j'));
    app.handle_key(ch('j'));
    app.handle_key(ch('v'));
    assert_eq!(
        app.files.marked,
        Marked::Ids([1, 2, 3, 4].map(FileId).into())
    );
    app.handle_key(key(KeyCode::Esc));
    assert_eq!(app.files.marked, Marked::Nothing);
    app.handle_key(ch('d'));
    let effects = app.handle_key(ch('*'));
    let Marked::Matching { filter, count, .. } = &app.files.marked else {
        panic!("* marks the filter");
    };
    assert_eq!(filter.source, Some(Source::Dropbox));
    assert_eq!(*count, None, "counted by the store, not by ids");
    assert!(matches!(
        requests(&effects)[0],
        FilesRequest::Count {
            purpose: CountPurpose::Marked,
            ..
        }
    ));
}

#[test]
fn moving_past_the_window_reads_more_around_the_first_visible_row() {
    let mut app = App::new("lib".into(), "a".into(), Theme { color: true });
    app.focus = PaneId::Files;
    app.files.viewport.set(5);
    let start = app.files_start();
    let seq = window_seq(&start);
    app.apply_files(FilesReply::Window {
        seq,
        rows: (1..=15).map(|i| file(i, &format!("f{i:03}"))).collect(),
        anchor_index: 0,
        at_start: true,
        at_end: false,
        fuzzy: false,
    });
    let mut asked = None;
    for _ in 0..15 {
        let effects = app.handle_key(ch('j'));
        if let Some(FilesRequest::Window { anchor, .. }) = requests(&effects).first() {
            asked = Some((*anchor).clone());
            break;
        }
    }
    let Some(Anchor::At(cursor)) = asked else {
        panic!("no read as the window's end came near");
    };
    assert_eq!(cursor.id, app.files.rows[app.files.top].id);
}

#[test]
fn a_live_reload_keeps_the_selected_file_and_the_scroll_position() {
    let mut app = app_with(8);
    for _ in 0..6 {
        app.handle_key(ch('j'));
    }
    let (selected, first_visible) = (
        app.files.selected().unwrap().id,
        app.files.rows[app.files.top].id,
    );
    let effects = app.files_reload();
    // Two new files sort in front.
    let mut rows: Vec<FileRecord> = vec![file(100, "new1"), file(101, "new2")];
    rows.extend((1..=8).map(|i| file(i, &format!("f{i:03}.png"))));
    let seq = window_seq(&effects);
    app.apply_files(FilesReply::Window {
        seq,
        rows,
        anchor_index: 2,
        at_start: true,
        at_end: true,
        fuzzy: false,
    });
    assert_eq!(app.files.selected().unwrap().id, selected);
    assert_eq!(app.files.rows[app.files.top].id, first_visible);
}

#[test]
fn at_the_head_of_the_list_new_files_show_up_on_top() {
    let mut app = app_with(3);
    app.handle_key(ch('j'));
    let effects = app.files_reload();
    let mut rows = vec![file(100, "new")];
    rows.extend((1..=3).map(|i| file(i, &format!("f{i:03}.png"))));
    deliver(&mut app, &effects, rows);
    assert_eq!(app.files.top, 0);
    assert_eq!(app.files.rows[0].id, FileId(100));
    assert_eq!(
        app.files.selected().unwrap().id,
        FileId(2),
        "the selected file stays selected"
    );
}

#[test]
fn e_opens_the_pencil_and_esc_cancels_without_a_write() {
    let mut app = app_with(3);
    let effects = app.handle_key(ch('e'));
    assert_eq!(
        requests(&effects),
        [&FilesRequest::OpenEdit { file: FileId(1) }]
    );
    app.apply_files(FilesReply::EditOpened(Box::new(EditData {
        file: file(1, "f001.png"),
        dimensions: Some((64, 32)),
        metadata: None,
        location_shown: false,
        collections: vec![],
    })));
    assert!(matches!(app.dialog, Some(Dialog::Edit(_))));
    // Start naming a new collection, then leave the name and cancel: nothing is sent.
    app.handle_key(key(KeyCode::Enter));
    for c in "Launch".chars() {
        assert!(requests(&app.handle_key(ch(c))).is_empty());
    }
    assert!(
        app.handle_key(key(KeyCode::Esc)).is_empty(),
        "Esc leaves the name"
    );
    assert!(app.dialog.is_some());
    let cancel = app.handle_key(key(KeyCode::Esc));
    assert!(cancel.is_empty());
    assert!(app.dialog.is_none());
}

#[test]
fn the_pencil_saves_the_ticked_and_new_collections_on_enter() {
    let mut app = app_with(3);
    app.handle_key(ch('e'));
    let collection = smartimage::library::model::Collection {
        id: CollectionId(7),
        account: AccountId(1),
        name: "Press".into(),
        file_count: 0,
        created_at: 0,
    };
    app.apply_files(FilesReply::EditOpened(Box::new(EditData {
        file: file(1, "f001.png"),
        dimensions: None,
        metadata: None,
        location_shown: false,
        collections: vec![collection],
    })));
    // Space ticks Press without saving; Enter on a typed new name adds it and saves both.
    assert!(app.handle_key(ch(' ')).is_empty());
    app.handle_key(ch('j'));
    app.handle_key(key(KeyCode::Enter));
    for c in "Launch".chars() {
        app.handle_key(ch(c));
    }
    let save = app.handle_key(key(KeyCode::Enter));
    assert_eq!(
        requests(&save),
        [&FilesRequest::SaveEdit {
            file: FileId(1),
            keep: vec![CollectionId(7)],
            create: vec!["Launch".into()],
        }]
    );
}

fn press() -> smartimage::library::model::Collection {
    smartimage::library::model::Collection {
        id: CollectionId(7),
        account: AccountId(1),
        name: "Press".into(),
        file_count: 3,
        created_at: 0,
    }
}

fn open_pencil(collections: Vec<smartimage::library::model::Collection>) -> App {
    let mut app = app_with(3);
    app.handle_key(ch('e'));
    app.apply_files(FilesReply::EditOpened(Box::new(EditData {
        file: file(1, "f001.png"),
        dimensions: None,
        metadata: None,
        location_shown: false,
        collections,
    })));
    app
}

/// Issue 18: with no collections, New collection… → a name → Enter added `[x] Name (new)`
/// and reopened the name field; nothing ever saved.
#[test]
fn the_pencil_with_no_collections_adds_a_new_one_and_saves_on_enter() {
    let mut app = open_pencil(vec![]);
    app.handle_key(key(KeyCode::Enter));
    for c in "Portraits".chars() {
        app.handle_key(ch(c));
    }
    let save = app.handle_key(key(KeyCode::Enter));
    assert_eq!(
        requests(&save),
        [&FilesRequest::SaveEdit {
            file: FileId(1),
            keep: vec![],
            create: vec!["Portraits".into()],
        }]
    );
    // Refused (say the disk is full): the new collection is a row the cursor moves onto, and
    // Enter on it saves again.
    app.apply_files(FilesReply::Failed("disk full".into()));
    app.handle_key(ch('k'));
    let Some(Dialog::Edit(d)) = &app.dialog else {
        panic!("the dialog stays open")
    };
    assert!(
        d.picker.naming.is_none() && !d.picker.on_new(),
        "k moved up"
    );
    let again = app.handle_key(key(KeyCode::Enter));
    assert_eq!(
        requests(&again),
        [&FilesRequest::SaveEdit {
            file: FileId(1),
            keep: vec![],
            create: vec!["Portraits".into()],
        }]
    );
}

/// Issue 18: Enter on an existing collection said "nothing changed" unless Space came first.
#[test]
fn enter_on_an_existing_collection_adds_the_file_to_it() {
    let mut app = open_pencil(vec![press()]);
    let save = app.handle_key(key(KeyCode::Enter));
    assert_eq!(
        requests(&save),
        [&FilesRequest::SaveEdit {
            file: FileId(1),
            keep: vec![CollectionId(7)],
            create: vec![],
        }]
    );
}

#[test]
fn space_then_enter_on_the_same_collection_saves_the_untick() {
    let mut file_in_press = file(1, "f001.png");
    file_in_press.collections = vec!["Press".into()];
    let mut app = app_with(3);
    app.handle_key(ch('e'));
    app.apply_files(FilesReply::EditOpened(Box::new(EditData {
        file: file_in_press,
        dimensions: None,
        metadata: None,
        location_shown: false,
        collections: vec![press()],
    })));
    app.handle_key(ch(' '));
    let save = app.handle_key(key(KeyCode::Enter));
    assert_eq!(
        requests(&save),
        [&FilesRequest::SaveEdit {
            file: FileId(1),
            keep: vec![],
            create: vec![],
        }]
    );
}

#[test]
fn c_asks_for_marks_then_an_account_then_confirms_how_many_go_where() {
    let mut app = app_with(3);
    assert!(app.handle_key(ch('c')).is_empty());
    assert!(
        app.files
            .notice
            .as_deref()
            .unwrap()
            .contains("mark files first")
    );
    app.handle_key(ch('*'));
    assert!(
        app.handle_key(ch('c')).is_empty(),
        "all accounts: which one?"
    );
    assert!(app.files.notice.as_deref().unwrap().contains("one account"));
    // Marks by id in one account need no scope.
    app.handle_key(key(KeyCode::Esc));
    app.handle_key(ch(' '));
    let open = app.handle_key(ch('c'));
    assert_eq!(
        requests(&open),
        [&FilesRequest::OpenBatch {
            account: "Acme".into()
        }]
    );
    app.apply_files(FilesReply::BatchOpened {
        account: "Acme".into(),
        collections: vec![],
    });
    app.handle_key(key(KeyCode::Enter)); // New collection…
    for c in "Picks".chars() {
        app.handle_key(ch(c));
    }
    app.handle_key(key(KeyCode::Enter));
    let Some(Dialog::Batch(d)) = &app.dialog else {
        panic!("the batch dialog");
    };
    assert_eq!(d.files, Some(1));
    assert!(d.target.as_ref().unwrap().create);
    let add = app.handle_key(ch('y'));
    assert_eq!(
        requests(&add),
        [&FilesRequest::BatchAdd {
            account: "Acme".into(),
            collection: "Picks".into(),
            create: true,
            selection: FileSelection::Ids(vec![FileId(1)]),
        }]
    );
    let after = app.apply_files(FilesReply::BatchAdded(BatchAddOutcome {
        account: "Acme".into(),
        collection: "Picks".into(),
        created: true,
        matched: 1,
        added: 1,
        already_in_collection: 0,
    }));
    assert!(app.dialog.is_none());
    assert_eq!(app.files.marked, Marked::Nothing);
    assert!(
        app.files
            .notice
            .as_deref()
            .unwrap()
            .contains("added 1 file to Picks (new)")
    );
    assert!(
        after.contains(&Effect::Refresh),
        "account usage is read again"
    );
}

#[test]
fn an_imported_file_reads_the_window_again() {
    let mut app = app_with(3);
    let effects = app.apply_engine(smartimage::import::events::EngineEvent::Imported {
        item: smartimage::import::events::ItemRef {
            item: ItemId(1),
            link: LinkId(7),
            account: "Acme".into(),
            path: "/Acme/new.png".into(),
            size: 10,
        },
        file: FileId(99),
    });
    assert!(
        matches!(
            requests(&effects).first(),
            Some(FilesRequest::Window {
                anchor: Anchor::First,
                ..
            })
        ),
        "{effects:?}"
    );
}

#[test]
fn ctrl_c_quits_even_from_the_name_field_and_dialogs() {
    let mut app = app_with(3);
    app.handle_key(ch('/'));
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(app.handle_key(ctrl_c), vec![Effect::Quit]);
    app.handle_key(key(KeyCode::Enter));
    app.handle_key(ch('e'));
    app.apply_files(FilesReply::EditOpened(Box::new(EditData {
        file: file(1, "f001.png"),
        dimensions: None,
        metadata: None,
        location_shown: false,
        collections: vec![],
    })));
    assert_eq!(
        app.handle_key(ch('q')),
        vec![],
        "q is just a key in a dialog"
    );
    assert_eq!(app.handle_key(ctrl_c), vec![Effect::Quit]);
}

#[test]
fn a_count_for_the_old_filters_is_dropped_when_it_comes_late() {
    let mut app = app_with(3);
    let reload = app.files_reload();
    let old_count = requests(&reload)
        .iter()
        .find_map(|r| match r {
            FilesRequest::Count { seq, .. } => Some(*seq),
            _ => None,
        })
        .unwrap();
    // The filter changes while that count is out; its answer comes before the new rows.
    let toggled = app.handle_key(ch('d'));
    app.apply_files(FilesReply::Count {
        seq: old_count,
        count: 999,
        purpose: CountPurpose::Matching,
    });
    assert_eq!(app.files.count, None);
    let more = deliver(&mut app, &toggled, vec![file(1, "a.png")]);
    assert!(
        requests(&more)
            .iter()
            .any(|r| matches!(r, FilesRequest::Count { .. })),
        "the new filters are counted"
    );
}

#[test]
fn a_name_nothing_contains_empties_the_rows_at_once_and_says_close_matches_are_coming() {
    let mut app = app_with(3);
    app.handle_key(ch('/'));
    let effects = app.handle_key(ch('q'));
    let seq = window_seq(&effects);
    app.apply_files(FilesReply::NoSubstringMatch { seq });
    assert!(app.files.rows.is_empty());
    assert!(app.files.seeking_fuzzy && app.files.loading);
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).unwrap();
    terminal
        .draw(|f| smartimage::tui::layout::draw(f, &app))
        .unwrap();
    let screen = terminal.backend().to_string();
    assert!(screen.contains("looking for close"), "{screen}");
    // The fuzzy answer (same read) replaces it.
    app.apply_files(FilesReply::Window {
        seq,
        rows: vec![file(9, "quay.png")],
        anchor_index: 0,
        at_start: true,
        at_end: true,
        fuzzy: true,
    });
    assert!(!app.files.seeking_fuzzy && !app.files.loading);
    assert_eq!(app.files.rows.len(), 1);
    // An early word for an older read is dropped.
    app.apply_files(FilesReply::NoSubstringMatch { seq: seq - 1 });
    assert_eq!(app.files.rows.len(), 1);
}

/// Issue 18: `Esc` did not clear the `/` filter once the field was left.
#[test]
fn esc_clears_marks_first_then_the_name_filter() {
    let mut app = app_with(3);
    app.handle_key(ch('/'));
    let mut effects = vec![];
    for c in "f00".chars() {
        effects = app.handle_key(ch(c));
    }
    deliver(
        &mut app,
        &effects,
        (1..=3).map(|i| file(i, &format!("f{i:03}.png"))).collect(),
    );
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.files.name.value(), "f00");
    app.handle_key(ch(' '));
    app.handle_key(key(KeyCode::Esc));
    assert!(app.files.marked.is_empty(), "marks go first");
    assert_eq!(app.files.name.value(), "f00");
    let effects = app.handle_key(key(KeyCode::Esc));
    assert_eq!(app.files.name.value(), "");
    assert!(
        !requests(&effects).is_empty(),
        "the window is read again unfiltered"
    );
}

/// Issue 18: the wheel moved a leftover cursor instead of All Files' rows.
#[test]
fn the_mouse_wheel_scrolls_all_files_rows() {
    use crossterm::event::{MouseEvent, MouseEventKind};
    let mut app = app_with(3);
    app.handle_key(ch('m'));
    let wheel = |kind| MouseEvent {
        kind,
        column: 10,
        row: 10,
        modifiers: KeyModifiers::NONE,
    };
    app.handle_mouse(wheel(MouseEventKind::ScrollDown), Some(PaneId::Files));
    assert_eq!(app.files.cursor, 1);
    app.handle_mouse(wheel(MouseEventKind::ScrollUp), Some(PaneId::Files));
    assert_eq!(app.files.cursor, 0);
}

/// The pencil is the console's one open dialog (issue 18: two dialog systems): a paste goes
/// to it, not to an Upload… opened underneath, and the panes take no keys meanwhile.
#[test]
fn with_the_pencil_open_a_paste_opens_nothing_underneath() {
    let mut app = open_pencil(vec![press()]);
    app.handle_paste("/tmp/dropped.png");
    assert!(
        matches!(app.dialog, Some(Dialog::Edit(_))),
        "Upload… opened"
    );
    assert!(
        app.handle_key(ch('q')).is_empty(),
        "q is the dialog's, not quit"
    );
    assert!(matches!(app.dialog, Some(Dialog::Edit(_))));
}

// Issue #22: the Trash view, delete, restore, duplicates, undo an import batch.

fn trash_previews(effects: &[Effect]) -> Vec<TrashJob> {
    requests(effects)
        .iter()
        .filter_map(|r| match r {
            FilesRequest::TrashPreview(job) => Some(job.clone()),
            _ => None,
        })
        .collect()
}

fn outcome(files: u64) -> TrashOutcome {
    TrashOutcome {
        dry_run: true,
        files,
        bytes: files * 100,
        ..TrashOutcome::default()
    }
}

#[test]
fn capital_t_shows_the_trash_and_back_marks_dropped_and_equals_shows_duplicates_only() {
    let mut app = app_with(3);
    app.handle_key(ch(' '));
    let effects = app.handle_key(ch('T'));
    assert_eq!(window_filter(&effects).trash, TrashFilter::Trashed);
    assert!(app.files.marked.is_empty(), "marks were of the library");
    assert!(files_title(&app.files).contains("Trash"));
    let effects = app.handle_key(ch('T'));
    assert_eq!(window_filter(&effects).trash, TrashFilter::Live);
    assert!(!files_title(&app.files).contains("Trash"));

    let effects = app.handle_key(ch('='));
    assert!(window_filter(&effects).duplicates_only);
    assert!(files_title(&app.files).contains("duplicates"));
    let effects = app.handle_key(ch('='));
    assert!(!window_filter(&effects).duplicates_only);
}

#[test]
fn delete_takes_the_marked_files_or_the_highlighted_one_and_asks_the_library_first() {
    let mut app = app_with(3);
    // Nothing marked: the highlighted file.
    let effects = app.handle_key(ch('D'));
    assert_eq!(
        trash_previews(&effects),
        vec![TrashJob::Delete(TrashSelection::Ids(vec![FileId(1)]))]
    );
    // Marked ones, by id (Del does the same as D).
    app.handle_key(ch(' '));
    app.handle_key(ch(' '));
    let effects = app.handle_key(key(KeyCode::Delete));
    assert_eq!(
        trash_previews(&effects),
        vec![TrashJob::Delete(TrashSelection::Ids(vec![
            FileId(1),
            FileId(2)
        ]))]
    );
    // Everything matching, less one unticked.
    app.handle_key(key(KeyCode::Esc));
    app.handle_key(ch('*'));
    app.handle_key(ch(' '));
    let effects = app.handle_key(ch('D'));
    let jobs = trash_previews(&effects);
    let [TrashJob::Delete(TrashSelection::MatchingExcept(filter, exclude))] = jobs.as_slice()
    else {
        panic!("{effects:?}");
    };
    assert_eq!(filter.trash, TrashFilter::Live);
    assert_eq!(exclude, &vec![FileId(3)]);
    assert!(
        app.dialog.is_none(),
        "no dialog before the library's answer"
    );
}

#[test]
fn the_confirmation_says_what_the_library_answered_enter_does_it_esc_does_not() {
    let mut app = app_with(3);
    let job = TrashJob::Delete(TrashSelection::Ids(vec![FileId(1)]));
    app.apply_files(FilesReply::TrashPreviewed {
        job: job.clone(),
        outcome: outcome(1),
    });
    assert!(matches!(app.dialog, Some(Dialog::Trash(_))));
    assert_eq!(app.handle_key(key(KeyCode::Esc)), vec![]);
    assert!(app.dialog.is_none(), "Esc cancels, nothing is written");

    app.apply_files(FilesReply::TrashPreviewed {
        job: job.clone(),
        outcome: outcome(1),
    });
    let effects = app.handle_key(key(KeyCode::Enter));
    assert_eq!(
        effects,
        vec![Effect::Files(FilesRequest::Trash(job.clone()))]
    );
    assert!(app.dialog.is_none());

    // Done: marks go, the window and the library view are read again.
    app.handle_key(ch(' '));
    let effects = app.apply_files(FilesReply::Trashed {
        job,
        outcome: outcome(1),
    });
    assert!(app.files.marked.is_empty());
    assert!(effects.contains(&Effect::Refresh));
    assert!(
        requests(&effects)
            .iter()
            .any(|r| matches!(r, FilesRequest::Window { .. }))
    );
    assert!(
        app.files
            .notice
            .as_deref()
            .unwrap()
            .contains("moved 1 file")
    );

    // Nothing to move: no dialog, a notice says why.
    app.apply_files(FilesReply::TrashPreviewed {
        job: TrashJob::Delete(TrashSelection::Ids(vec![FileId(2)])),
        outcome: outcome(0),
    });
    assert!(app.dialog.is_none());
    assert!(
        app.files
            .notice
            .as_deref()
            .unwrap()
            .contains("in the trash already")
    );

    // A refusal names the action refused.
    app.apply_files(FilesReply::TrashRefused {
        verb: "restore".into(),
        why: "ann@example.com is not an owner or admin of \"Acme\"".into(),
    });
    let Some(Dialog::Notice { text, .. }) = &app.dialog else {
        panic!("no notice");
    };
    assert!(text.starts_with("Could not restore:"), "{text}");
}

#[test]
fn restore_is_for_the_trash_view_and_delete_is_not() {
    let mut app = app_with(3);
    assert_eq!(app.handle_key(ch('R')), vec![]);
    assert!(app.files.notice.as_deref().unwrap().contains("Trash view"));
    let effects = app.handle_key(ch('T'));
    deliver(&mut app, &effects, vec![file(7, "gone.png")]);
    assert_eq!(app.handle_key(ch('D')), vec![]);
    assert!(app.files.notice.as_deref().unwrap().contains("R restores"));
    let effects = app.handle_key(ch('R'));
    assert_eq!(
        trash_previews(&effects),
        vec![TrashJob::Restore(RestoreSelection::Ids(vec![FileId(7)]))]
    );
    app.handle_key(ch('*'));
    let effects = app.handle_key(ch('R'));
    let jobs = trash_previews(&effects);
    let [TrashJob::Restore(RestoreSelection::Matching { filter, exclude })] = jobs.as_slice()
    else {
        panic!("{effects:?}");
    };
    assert_eq!(filter.trash, TrashFilter::Trashed);
    assert!(exclude.is_empty());
}

#[test]
fn the_queue_reads_an_imported_rows_batch_and_capital_u_undoes_it() {
    use smartimage::import::events::{EngineEvent, ItemRef};
    let mut app = app_with(1);
    let item = ItemRef {
        item: ItemId(9),
        link: LinkId(1),
        account: "Acme".into(),
        path: "/Acme/a.png".into(),
        size: 100,
    };
    app.apply_engine(EngineEvent::Discovered(item.clone()));
    app.focus = PaneId::Queue;
    assert_eq!(app.handle_key(ch('U')), vec![]);
    assert!(
        app.last_problem
            .as_deref()
            .unwrap()
            .contains("no import to undo")
    );

    let effects = app.apply_engine(EngineEvent::Imported {
        item,
        file: FileId(55),
    });
    assert!(effects.contains(&Effect::Files(FilesRequest::Batches(vec![FileId(55)]))));
    // One read at a time.
    assert!(
        !app.apply_engine(EngineEvent::Verifying { item: ItemId(9) })
            .iter()
            .any(|e| matches!(e, Effect::Files(FilesRequest::Batches(_))))
    );
    app.apply_files(FilesReply::Batches {
        asked: vec![FileId(55)],
        found: vec![(FileId(55), BatchId(4))],
    });
    assert_eq!(app.queue.rows[0].batch, Some(BatchId(4)));
    let effects = app.handle_key(ch('U'));
    assert_eq!(trash_previews(&effects), vec![TrashJob::Undo(BatchId(4))]);
}

/// Issue #22: `C` keeps the highlighted file's camera, `w` its capture day, then its month,
/// its year, then any time; a file that does not say is told so, and nothing is filtered.
#[test]
fn c_filters_by_this_files_camera_and_w_widens_its_capture_day_to_month_and_year() {
    let mut app = App::new(
        "lib".into(),
        "ann@example.com".into(),
        Theme { color: true },
    );
    app.focus = PaneId::Files;
    app.files.viewport.set(5);
    let effects = app.files_start();
    let mut shot = file(1, "shot.jpg");
    shot.camera = Some("Canon EOS R5".into());
    shot.taken = Some("2024-02-29T23:59:59".into());
    let rows = vec![shot, file(2, "notes.txt")];
    deliver(&mut app, &effects, rows.clone());

    let on = app.handle_key(ch('C'));
    assert_eq!(window_filter(&on).camera.as_deref(), Some("Canon EOS R5"));
    let title = smartimage::tui::panes::files::title(&app.files);
    assert!(title.contains("camera Canon EOS R5"), "{title}");
    let off = app.handle_key(ch('C'));
    assert_eq!(window_filter(&off).camera, None);
    deliver(&mut app, &off, rows.clone());

    let mut spans = vec![];
    let mut last = vec![];
    for _ in 0..4 {
        last = app.handle_key(ch('w'));
        let f = window_filter(&last);
        spans.push((f.taken_from, f.taken_to));
    }
    deliver(&mut app, &last, rows);
    let day = |s: &str| Some(s.to_owned());
    assert_eq!(
        spans,
        [
            (day("2024-02-29"), day("2024-02-29")),
            (day("2024-02-01"), day("2024-02-29")),
            (day("2024-01-01"), day("2024-12-31")),
            (None, None),
        ]
    );

    // The second file says nothing of either.
    app.handle_key(ch('j'));
    assert!(requests(&app.handle_key(ch('C'))).is_empty());
    assert!(
        app.files
            .notice
            .as_deref()
            .is_some_and(|n| n.contains("which camera")),
        "{:?}",
        app.files.notice
    );
    assert!(requests(&app.handle_key(ch('w'))).is_empty());
    assert_eq!(app.files.camera, None);
    assert_eq!(app.files.taken, None);
}
