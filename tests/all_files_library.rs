//! All Files through the library, as the console uses it: pages scoped by permission, the
//! pencil's collection edit in one transaction, and batch adds of a whole filter.

use smartimage::library::Library;
use smartimage::library::LibraryError;
use smartimage::library::actions::AdminGrant;
use smartimage::library::browse::FileOrder;
use smartimage::library::model::FileRecord;
use smartimage::library::organise::{FileFilter, FileSelection};
use smartimage::library::permissions::Actor;
use smartimage::library::policy::PlanCatalog;
use smartimage::library::store::SortKey;
use smartimage::library::store::file_pages::PageStart;

const OPERATOR: &str = "op@example.com";
const ANN: &str = "ann@example.com";

struct Fixture {
    _dir: tempfile::TempDir,
    lib: Library,
    acme: Vec<FileRecord>,
    other: Vec<FileRecord>,
}

fn png(seed: u8) -> Vec<u8> {
    let mut b =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    b.resize(200, seed);
    b
}

/// Acme (Ann owns it) with four files, Other (Ann is not an admin) with two.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let mut lib = Library::open(&dir.path().join("data"), PlanCatalog::default()).unwrap();
    lib.init(OPERATOR, None, None).unwrap();
    let op = lib.actor(Some(OPERATOR), None).unwrap();
    lib.add_account(&op, "Acme", "team").unwrap();
    lib.add_account(&op, "Other", "team").unwrap();
    let grant = AdminGrant {
        email: ANN.into(),
        owner_of: vec!["Acme".into()],
        ..AdminGrant::default()
    };
    lib.add_admin(&op, &grant).unwrap();
    let mut upload = |account: &str, names: &[&str]| -> Vec<FileRecord> {
        names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let path = dir.path().join(name);
                std::fs::write(&path, png(i as u8)).unwrap();
                lib.add_local_file(&op, account, &path).unwrap()
            })
            .collect()
    };
    let acme = upload(
        "Acme",
        &["hero.png", "poster.png", "Héros été.png", "logo.png"],
    );
    let other = upload("Other", &["secret.png", "hero-other.png"]);
    Fixture {
        _dir: dir,
        lib,
        acme,
        other,
    }
}

fn ann(lib: &Library) -> Actor {
    lib.actor(Some(ANN), None).unwrap()
}

fn names(files: &[FileRecord]) -> Vec<&str> {
    files.iter().map(|f| f.name.as_str()).collect()
}

#[test]
fn an_admin_pages_only_the_accounts_they_administer() {
    let f = fixture();
    let ann = ann(&f.lib);
    let order = FileOrder {
        sort: SortKey::Name,
        descending: false,
    };
    let all = f
        .lib
        .file_page(&ann, &FileFilter::default(), order, &PageStart::First, 50)
        .unwrap();
    assert_eq!(
        names(&all),
        ["hero.png", "Héros été.png", "logo.png", "poster.png"]
    );
    let filter = FileFilter {
        name_contains: Some("HÉROS ÉT".into()),
        ..FileFilter::default()
    };
    let found = f
        .lib
        .file_page(&ann, &filter, order, &PageStart::First, 50)
        .unwrap();
    assert_eq!(names(&found), ["Héros été.png"]);
    let other = FileFilter {
        account: Some("Other".into()),
        ..FileFilter::default()
    };
    let denied = f
        .lib
        .file_page(&ann, &other, order, &PageStart::First, 50)
        .unwrap_err();
    assert!(
        matches!(denied, LibraryError::PermissionDenied(_)),
        "{denied}"
    );
    assert!(matches!(
        f.lib.file_record(&ann, f.other[0].id),
        Err(LibraryError::PermissionDenied(_))
    ));
}

#[test]
fn the_pencil_sets_exactly_the_ticked_collections_and_audits_each_change() {
    let mut f = fixture();
    let ann = ann(&f.lib);
    let hero = f.acme[0].id;
    let first = f
        .lib
        .set_file_collections(&ann, hero, &[], &["Launch".into(), "Press".into()])
        .unwrap();
    assert_eq!(first.created, ["Launch", "Press"]);
    let cols = f.lib.collections_of(&ann, f.acme[0].account).unwrap();
    let launch = cols.iter().find(|c| c.name == "Launch").unwrap().id;
    let second = f
        .lib
        .set_file_collections(&ann, hero, &[launch], &[])
        .unwrap();
    assert_eq!(second.removed_from, ["Press"]);
    assert!(second.added_to.is_empty());
    assert_eq!(
        f.lib.file_record(&ann, hero).unwrap().collections,
        ["Launch"]
    );
    let op = f.lib.actor(Some(OPERATOR), None).unwrap();
    let actions: Vec<String> = f
        .lib
        .audit(&op, 50)
        .unwrap()
        .into_iter()
        .filter(|a| a.action.starts_with("collection."))
        .map(|a| format!("{} {}", a.action, a.target))
        .collect();
    assert_eq!(
        actions,
        [
            "collection.remove Press",
            "collection.add Press",
            "collection.create Press",
            "collection.add Launch",
            "collection.create Launch",
        ]
    );
}

#[test]
fn a_failed_edit_changes_nothing_not_even_the_new_collection() {
    let mut f = fixture();
    let ann = ann(&f.lib);
    let op = f.lib.actor(Some(OPERATOR), None).unwrap();
    f.lib
        .add_to_collection(&op, "Other", "Theirs", true, &FileSelection::Ids(vec![]))
        .unwrap();
    let theirs = f.lib.collections_of(&op, f.other[0].account).unwrap()[0].id;
    let err = f
        .lib
        .set_file_collections(&ann, f.acme[0].id, &[theirs], &["Mine".into()])
        .unwrap_err();
    assert!(matches!(err, LibraryError::NotFound(_)), "{err}");
    assert!(
        f.lib
            .collections_of(&ann, f.acme[0].account)
            .unwrap()
            .is_empty()
    );
    let denied = f
        .lib
        .set_file_collections(&ann, f.other[0].id, &[], &["Mine".into()])
        .unwrap_err();
    assert!(
        matches!(denied, LibraryError::PermissionDenied(_)),
        "{denied}"
    );
}

#[test]
fn select_all_is_a_filter_added_in_one_go_and_never_twice() {
    let mut f = fixture();
    let ann = ann(&f.lib);
    let filter = FileFilter {
        name_contains: Some("png".into()),
        ..FileFilter::default()
    };
    let selection = FileSelection::Matching {
        filter: filter.clone(),
        exclude: vec![f.acme[3].id],
    };
    let first = f
        .lib
        .add_to_collection(&ann, "Acme", "Everything", true, &selection)
        .unwrap();
    assert_eq!((first.matched, first.added), (3, 3));
    let again = f
        .lib
        .add_to_collection(&ann, "Acme", "Everything", false, &selection)
        .unwrap();
    assert_eq!(
        (again.matched, again.added, again.already_in_collection),
        (3, 0, 3)
    );
    assert_eq!(
        f.lib
            .count_matching(&ann, &filter, &[f.acme[3].id])
            .unwrap(),
        3
    );
    let denied = f
        .lib
        .add_to_collection(&ann, "Other", "Mine", true, &selection)
        .unwrap_err();
    assert!(
        matches!(denied, LibraryError::PermissionDenied(_)),
        "{denied}"
    );
}

#[test]
fn the_worker_answers_the_newest_window_and_a_cancelled_read_is_no_error() {
    use smartimage::tui::all_files::worker::{FilesWorker, WorkerOptions};
    use smartimage::tui::all_files::{Anchor, FilesReply, FilesRequest};
    let f = fixture();
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = FilesWorker::spawn(
        WorkerOptions {
            data_dir: f.lib.data_dir().to_path_buf(),
            plans: PlanCatalog::default(),
            as_admin: Some(ANN.into()),
            os_user: None,
        },
        move |reply| {
            let _ = tx.send(reply);
        },
    )
    .unwrap();
    let window = |seq: u64, name: &str| FilesRequest::Window {
        seq,
        filter: FileFilter {
            name_contains: Some(name.into()),
            ..FileFilter::default()
        },
        order: FileOrder::default(),
        anchor: Anchor::First,
        before: 0,
        after: 50,
    };
    for (seq, name) in [(1, "h"), (2, "he"), (3, "her"), (4, "hero")] {
        worker.send(window(seq, name));
    }
    loop {
        match rx.recv_timeout(std::time::Duration::from_secs(30)).unwrap() {
            FilesReply::Window { seq: 4, rows, .. } => {
                assert_eq!(names(&rows), ["hero.png"]);
                break;
            }
            FilesReply::Window { .. } => {}
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn a_name_nothing_contains_is_answered_at_once_then_its_close_matches_follow() {
    use smartimage::tui::all_files::worker::serve;
    use smartimage::tui::all_files::{Anchor, FilesReply, FilesRequest};
    let mut f = fixture();
    let ann = ann(&f.lib);
    let request = |name: &str| FilesRequest::Window {
        seq: 7,
        filter: FileFilter {
            name_contains: Some(name.into()),
            ..FileFilter::default()
        },
        order: FileOrder::default(),
        anchor: Anchor::First,
        before: 0,
        after: 50,
    };
    // "pstr" is in no name, but its letters are in "poster.png" in order.
    let mut early = vec![];
    let reply = serve(&mut f.lib, &ann, request("pstr"), &mut |r| early.push(r)).unwrap();
    assert!(
        matches!(early[..], [FilesReply::NoSubstringMatch { seq: 7 }]),
        "{early:?}"
    );
    let FilesReply::Window { rows, fuzzy, .. } = reply else {
        panic!("{reply:?}")
    };
    assert!(fuzzy);
    assert_eq!(names(&rows), ["poster.png"]);
    // A substring match answers once, with no early word.
    let mut early = vec![];
    let reply = serve(&mut f.lib, &ann, request("post"), &mut |r| early.push(r)).unwrap();
    assert!(early.is_empty(), "{early:?}");
    assert!(matches!(reply, FilesReply::Window { fuzzy: false, .. }));
}

#[test]
fn the_name_index_is_built_when_woken_and_keeps_up_with_new_files() {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use smartimage::tui::all_files::names::{self, NameSlot};
    use smartimage::tui::all_files::worker::{WorkerOptions, serve_among};
    use smartimage::tui::all_files::{Anchor, CountPurpose, FilesReply, FilesRequest};
    let mut f = fixture();
    let ann = ann(&f.lib);
    let slot = Arc::new(NameSlot::default());
    let (wake, woken) = std::sync::mpsc::channel();
    let builder = {
        let options = WorkerOptions {
            data_dir: f.lib.data_dir().to_path_buf(),
            plans: PlanCatalog::default(),
            as_admin: Some(ANN.into()),
            os_user: None,
        };
        let slot = slot.clone();
        std::thread::spawn(move || names::build_and_refresh(options, slot, woken))
    };
    let wait_until = |what: &str, done: &dyn Fn(&NameSlot) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !done(&slot) {
            assert!(Instant::now() < deadline, "{what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    std::thread::sleep(Duration::from_millis(100));
    assert!(slot.read().unwrap().is_none(), "built only once woken");
    wake.send(()).unwrap();
    wait_until("the index is built", &|s| s.read().unwrap().is_some());
    let filter = |name: &str| FileFilter {
        name_contains: Some(name.into()),
        ..FileFilter::default()
    };
    let read = |lib: &mut Library, name: &str| {
        let window = FilesRequest::Window {
            seq: 1,
            filter: filter(name),
            order: FileOrder::default(),
            anchor: Anchor::First,
            before: 0,
            after: 50,
        };
        let mut early = vec![];
        let reply = serve_among(lib, &ann, Some(&slot), window, &mut |r| early.push(r));
        let Some(FilesReply::Window { rows, fuzzy, .. }) = reply else {
            panic!("{reply:?}")
        };
        let count = FilesRequest::Count {
            seq: 2,
            filter: filter(name),
            exclude: vec![],
            purpose: CountPurpose::Matching,
        };
        let Some(FilesReply::Count { count, .. }) =
            serve_among(lib, &ann, Some(&slot), count, &mut |_| {})
        else {
            panic!("no count")
        };
        let early = matches!(early[..], [FilesReply::NoSubstringMatch { .. }]);
        let rows: Vec<String> = if fuzzy {
            vec![]
        } else {
            rows.into_iter().map(|r| r.name).collect()
        };
        (rows, count, early)
    };
    assert!(names::hits_for(Some(&slot), &filter("ÉR")).is_some());
    assert_eq!(
        read(&mut f.lib, "ÉR"),
        (vec!["Héros été.png".to_owned()], 1, false)
    );
    // Ann does not see Other's "secret.png": the index is only a candidate set.
    assert_eq!(read(&mut f.lib, "cr"), (vec![], 0, true));
    assert_eq!(read(&mut f.lib, "zq"), (vec![], 0, true));
    // A file added since is above the index's high-water mark: found all the same, then taken
    // into the index by the builder.
    let op = f.lib.actor(Some(OPERATOR), None).unwrap();
    let path = f.lib.data_dir().join("../zq-new.png");
    std::fs::write(&path, png(9)).unwrap();
    let added = f.lib.add_local_file(&op, "Acme", &path).unwrap();
    let above = names::hits_for(Some(&slot), &filter("zq")).unwrap().above;
    assert!(added.id > above);
    assert_eq!(
        read(&mut f.lib, "zq"),
        (vec!["zq-new.png".to_owned()], 1, false)
    );
    wait_until("the new file is indexed", &|s| {
        s.read().unwrap().as_ref().unwrap().high_water() >= added.id
    });
    let hits = names::hits_for(Some(&slot), &filter("zq")).unwrap();
    assert_eq!(hits.ids, vec![added.id]);
    assert_eq!(
        read(&mut f.lib, "zq"),
        (vec!["zq-new.png".to_owned()], 1, false)
    );
    // The builder ends with its last waker.
    drop(wake);
    builder.join().unwrap();
}
