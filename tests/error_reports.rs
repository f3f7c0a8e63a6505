//! The error report in each account folder, end to end on both backends (a synced folder and
//! the Dropbox API emulator): one current `Smartimage upload errors.txt` listing exactly the
//! files failing there, never imported, counted or listed itself — after a relink, under
//! another name, beside reports of earlier versions, or edited by the customer.

#![cfg(feature = "emulator")]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use smartimage::dropbox::api::Endpoints;
use smartimage::dropbox::emulator::{AccountConfig, Emulator, EmulatorConfig, EmulatorHandle};
use smartimage::dropbox::local::LocalSettings;
use smartimage::import::backends::BackendSettings;
use smartimage::import::engine::{EngineSettings, ImportEngine};
use smartimage::import::events::{EngineEvent, PassSummary};
use smartimage::import::linking;
use smartimage::import::report::{REPORT_FILE_NAME, REPORT_NAME_STEM};
use smartimage::library::Library;
use smartimage::library::actions::AdminGrant;
use smartimage::library::model::FileRecord;
use smartimage::library::organise::FileFilter;
use smartimage::library::policy::{PlanCatalog, PlanOverride};
use smartimage::library::store::links::LinkState;

#[path = "support/api_link.rs"]
mod api_link;
use api_link::link_through_emulator;

const OPERATOR: &str = "op@example.com";
const OWNER: &str = "owner@example.com";
const DBX: &str = "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc";
const APP_KEY: &str = "report-app-key";
/// Accounts: "Acme" on the team plan; "Tiny", whose 10,000 bytes of storage a test can fill.
const ACCOUNTS: [(&str, &str); 2] = [("Acme", "team"), ("Tiny", "tiny")];

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

fn exe() -> Vec<u8> {
    let mut b = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xFF\xFF\x00\x00".to_vec();
    b.resize(300, 0);
    b
}

/// What reports of earlier versions looked like (no signature), listing `listed`.
fn legacy_report(account: &str, listed: &str) -> Vec<u8> {
    format!(
        "Smartimage upload errors\n========================\n\nAccount: {account}\nPlan:    team\n\
         Time:    2026-01-01T00:00:00Z (UTC)\n\n1 file could not be uploaded to Smartimage from \
         this Dropbox folder. It was left in this folder untouched; nothing was uploaded for it.\n\n\
         Unsupported file type (1)\n-------------------------\nWhat to do: convert it.\n\n  * {listed}\n"
    )
    .into_bytes()
}

/// The paths a report lists.
fn listed(report: &str) -> Vec<String> {
    let mut paths: Vec<String> = report
        .lines()
        .filter_map(|l| l.strip_prefix("  * "))
        .map(str::to_owned)
        .collect();
    paths.sort();
    paths
}

fn fast_local() -> LocalSettings {
    LocalSettings {
        stable_for: Duration::from_millis(20),
        rescan_every: Duration::from_secs(1),
    }
}

/// A library with the two accounts, linked to a synced folder or to the emulator.
struct Site {
    _dir: tempfile::TempDir,
    data: PathBuf,
    /// The Dropbox on disk: the synced folder, or the emulator's copy of the account.
    root: PathBuf,
    api: Option<(String, EmulatorHandle, tempfile::TempDir)>,
}

impl Site {
    async fn synced() -> Site {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("Dropbox");
        std::fs::create_dir_all(&root).unwrap();
        Site::with_accounts(dir, root, None).await
    }

    async fn api() -> Site {
        let emulator_root = tempfile::tempdir().unwrap();
        let mut config = EmulatorConfig::new(emulator_root.path())
            .with_account(AccountConfig::new(DBX, OWNER, "Owner Example"));
        config.longpoll_time_scale = 0.001;
        config.delete_batch_in_progress_polls = 1;
        let (base, handle) = Emulator::start(config).await.unwrap();
        let root = handle.account_dir(DBX).unwrap();
        let dir = tempfile::tempdir().unwrap();
        Site::with_accounts(dir, root, Some((base, handle, emulator_root))).await
    }

    async fn with_accounts(
        dir: tempfile::TempDir,
        root: PathBuf,
        api: Option<(String, EmulatorHandle, tempfile::TempDir)>,
    ) -> Site {
        let site = Site {
            data: dir.path().join("data"),
            _dir: dir,
            root,
            api,
        };
        let mut lib = site.library();
        lib.init(OPERATOR, None, None).unwrap();
        let op = lib.actor(Some(OPERATOR), None).unwrap();
        for (name, plan) in ACCOUNTS {
            lib.add_account(&op, name, plan).unwrap();
        }
        let grant = AdminGrant {
            email: OWNER.into(),
            owner_of: ACCOUNTS.iter().map(|(name, _)| name.to_string()).collect(),
            ..AdminGrant::default()
        };
        lib.add_admin(&op, &grant).unwrap();
        drop(lib);
        for (name, _) in ACCOUNTS {
            site.link(name).await;
        }
        site
    }

    fn library(&self) -> Library {
        Library::open(&self.data, plans()).unwrap()
    }

    async fn link(&self, account: &str) {
        let mut lib = self.library();
        let owner = lib.actor(Some(OWNER), None).unwrap();
        match &self.api {
            None => {
                linking::link_local_folder(&mut lib, &owner, account, &self.root, fast_local())
                    .await
                    .unwrap();
            }
            Some((base, handle, _)) => {
                link_through_emulator(&mut lib, &owner, account, (base, handle), DBX, APP_KEY)
                    .await;
            }
        }
    }

    /// Unlink and link again, as an admin does to switch or repair a link.
    async fn relink(&self, account: &str) {
        {
            let mut lib = self.library();
            let owner = lib.actor(Some(OWNER), None).unwrap();
            lib.set_link_state(&owner, account, LinkState::Unlinked)
                .unwrap();
        }
        self.link(account).await;
    }

    fn folder(&self, account: &str) -> PathBuf {
        self.root.join(account)
    }

    fn drop_file(&self, account: &str, rel: &str, bytes: &[u8]) {
        let path = self.folder(account).join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    fn settings(&self) -> EngineSettings {
        let mut backends = match &self.api {
            None => BackendSettings::default(),
            Some((base, _, _)) => BackendSettings {
                endpoints: Endpoints::single(base),
                app_key: Some(APP_KEY.into()),
                ..BackendSettings::default()
            },
        };
        backends.local = fast_local();
        EngineSettings {
            workers: 2,
            backends,
            ..EngineSettings::default()
        }
    }

    async fn pass(&self) -> (PassSummary, Vec<EngineEvent>) {
        match &self.api {
            // What changed on the emulator's disk becomes Dropbox changes.
            Some((_, handle, _)) => handle.rescan().unwrap(),
            // The synced folder imports files left alone for a moment.
            None => tokio::time::sleep(Duration::from_millis(60)).await,
        }
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let (engine, _) = ImportEngine::start(self.library(), self.settings(), tx).unwrap();
        let (summary, problems) = engine.run_once(None).await.unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        drop(engine);
        let mut events = Vec::new();
        while let Ok(e) = rx.try_recv() {
            events.push(e);
        }
        (summary, events)
    }

    fn files(&self, account: &str) -> Vec<FileRecord> {
        let lib = self.library();
        let op = lib.actor(Some(OPERATOR), None).unwrap();
        let filter = FileFilter {
            account: Some(account.into()),
            ..FileFilter::default()
        };
        lib.list_files(&op, &filter).unwrap()
    }

    /// `errors list`: the paths failing in the account, sorted.
    fn failing(&self, account: &str) -> Vec<String> {
        let lib = self.library();
        let owner = lib.actor(Some(OWNER), None).unwrap();
        let mut paths: Vec<String> = lib
            .import_failures(&owner, Some(account))
            .unwrap()
            .into_iter()
            .map(|f| f.path)
            .collect();
        paths.sort();
        paths
    }

    fn report(&self, account: &str) -> Option<String> {
        std::fs::read_to_string(self.folder(account).join(REPORT_FILE_NAME)).ok()
    }

    /// Names in the account folder that look like reports, sorted.
    fn reports_on_disk(&self, account: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.folder(account))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(REPORT_NAME_STEM))
            .collect();
        names.sort();
        names
    }

    fn read(&self, account: &str, rel: &str) -> Vec<u8> {
        std::fs::read(self.folder(account).join(rel)).unwrap()
    }

    /// The console's error log (paths, sorted) once `app` has applied a fresh library read.
    fn console_errors(&self, app: &mut smartimage::tui::app::App) -> Vec<String> {
        let options = smartimage::tui::ConsoleOptions {
            data_dir: self.data.clone(),
            plans: plans(),
            as_admin: Some(OWNER.into()),
            os_user: None,
            admin_label: OWNER.into(),
            engine: EngineSettings::default(),
            send: Default::default(),
            keymap: Default::default(),
        };
        app.apply_view(smartimage::tui::load_view(&options).unwrap());
        let mut paths: Vec<String> = app.errors.rows.iter().map(|e| e.path.clone()).collect();
        paths.sort();
        paths
    }
}

fn console() -> smartimage::tui::app::App {
    smartimage::tui::app::App::new(
        "/srv/smartimage".into(),
        OWNER.into(),
        smartimage::tui::theme::Theme { color: false },
    )
}

fn assert_untouched(site: &Site, account: &str, rel: &str, bytes: &[u8]) {
    assert_eq!(site.read(account, rel), bytes, "{rel} left as it was");
}

// ----- relinking --------------------------------------------------------------------------------

/// Regression: a relink imported our own report (and deleted it from Dropbox), and every file
/// still failing was listed once per link it had failed under.
async fn relinking_with_failures_in_the_folder(site: Site) {
    site.drop_file("Acme", "setup.jpg", &exe());
    site.drop_file(
        "Acme",
        "sub/archive.zip",
        b"PK\x03\x04 not much of an archive",
    );
    let (first, _) = site.pass().await;
    assert_eq!((first.failed, first.reports), (2, 1), "{first:?}");
    let failing = ["/Acme/setup.jpg", "/Acme/sub/archive.zip"];
    let mut app = console();
    assert_eq!(site.console_errors(&mut app), failing);
    for round in 0..2 {
        site.relink("Acme").await;
        let (after, events) = site.pass().await;
        assert_eq!(after.imported, 0, "round {round}: {after:?} {events:?}");
        assert!(site.files("Acme").is_empty(), "our report was imported");
        assert_eq!(site.reports_on_disk("Acme"), [REPORT_FILE_NAME]);
        assert_eq!(listed(&site.report("Acme").unwrap()), failing);
        assert_eq!(
            site.failing("Acme"),
            failing,
            "errors list: each failure once"
        );
        for e in events {
            app.apply_engine(e);
        }
        assert_eq!(
            site.console_errors(&mut app),
            failing,
            "the console's error log: each failure once"
        );
    }
}

#[tokio::test]
async fn relinking_a_synced_folder_with_failures_imports_no_report_and_lists_each_failure_once() {
    relinking_with_failures_in_the_folder(Site::synced().await).await;
}

#[tokio::test]
async fn relinking_over_the_api_with_failures_imports_no_report_and_lists_each_failure_once() {
    relinking_with_failures_in_the_folder(Site::api().await).await;
}

// ----- a report under another name --------------------------------------------------------------

/// The customer renames the report, or copies it elsewhere (a new file only its content marks
/// as ours), even into an account too full to take it: never imported, listed or counted.
async fn a_report_under_another_name(site: Site) {
    site.drop_file("Acme", "setup.jpg", &exe());
    site.drop_file("Tiny", "fill.png", &png(1, 9_500));
    site.drop_file("Tiny", "huge.png", &png(2, 12_000));
    let (first, _) = site.pass().await;
    assert_eq!(
        (first.imported, first.failed, first.reports),
        (1, 2, 2),
        "{first:?}"
    );
    let acme_report = site.report("Acme").unwrap().into_bytes();
    let tiny_report = site.report("Tiny").unwrap().into_bytes();
    std::fs::rename(
        site.folder("Acme").join(REPORT_FILE_NAME),
        site.folder("Acme").join("errors.txt"),
    )
    .unwrap();
    site.drop_file("Acme", "notes/copy of errors.txt", &acme_report);
    site.drop_file("Acme", "errors", &acme_report);
    // Tiny has no room for it: refused by the plan before any byte moves, still ours.
    site.drop_file("Tiny", "kept.txt", &tiny_report);

    let (second, events) = site.pass().await;
    assert_eq!(
        (second.imported, second.failed, second.discovered),
        (0, 0, 0),
        "{second:?} {events:?}"
    );
    assert!(site.files("Acme").is_empty(), "a report was imported");
    assert_eq!(site.files("Tiny").len(), 1);
    assert_eq!(site.failing("Acme"), ["/Acme/setup.jpg"]);
    assert_eq!(site.failing("Tiny"), ["/Tiny/huge.png"]);
    assert_untouched(&site, "Acme", "errors.txt", &acme_report);
    assert_untouched(&site, "Acme", "notes/copy of errors.txt", &acme_report);
    assert_untouched(&site, "Acme", "errors", &acme_report);
    assert_untouched(&site, "Tiny", "kept.txt", &tiny_report);
    // The renamed one is the customer's now; the folder has its current report again.
    assert_eq!(listed(&site.report("Acme").unwrap()), ["/Acme/setup.jpg"]);
    let (quiet, _) = site.pass().await;
    assert_eq!(quiet, PassSummary::default());
}

#[tokio::test]
async fn a_report_renamed_or_copied_in_a_synced_folder_is_known_by_its_signature_and_left_untouched()
 {
    a_report_under_another_name(Site::synced().await).await;
}

#[tokio::test]
async fn a_report_renamed_or_copied_over_the_api_is_known_by_its_signature_and_left_untouched() {
    a_report_under_another_name(Site::api().await).await;
}

// ----- the report follows the failures ----------------------------------------------------------

/// Regression: reports piled up, one per pass, and a file imported after a retry stayed listed.
async fn fixed_failures_drop_out(site: Site) {
    site.drop_file("Acme", "a.jpg", &exe());
    site.drop_file("Acme", "b.jpg", &exe());
    site.drop_file("Tiny", "fill.png", &png(1, 9_000));
    site.drop_file("Tiny", "promo.png", &png(2, 2_000));
    let (first, _) = site.pass().await;
    assert_eq!(
        (first.imported, first.failed, first.reports),
        (1, 3, 2),
        "{first:?}"
    );
    assert_eq!(
        listed(&site.report("Acme").unwrap()),
        ["/Acme/a.jpg", "/Acme/b.jpg"]
    );
    assert_eq!(listed(&site.report("Tiny").unwrap()), ["/Tiny/promo.png"]);

    // The customer removes one failing file; an admin gives Tiny room and retries its failure.
    std::fs::remove_file(site.folder("Acme").join("a.jpg")).unwrap();
    {
        let mut lib = site.library();
        let op = lib.actor(Some(OPERATOR), None).unwrap();
        lib.set_plan(&op, "Tiny", "team").unwrap();
        let owner = lib.actor(Some(OWNER), None).unwrap();
        assert_eq!(lib.retry_failures(&owner, Some("Tiny"), &[]).unwrap(), 1);
    }
    let (second, _) = site.pass().await;
    assert_eq!((second.imported, second.reports), (1, 1), "{second:?}");
    assert_eq!(site.reports_on_disk("Acme"), [REPORT_FILE_NAME]);
    assert_eq!(listed(&site.report("Acme").unwrap()), ["/Acme/b.jpg"]);
    assert!(
        site.reports_on_disk("Tiny").is_empty(),
        "nothing fails in Tiny any more"
    );

    // The last failure is replaced by a good file: no report at all.
    site.drop_file("Acme", "b.jpg", &png(3, 500));
    let (third, _) = site.pass().await;
    assert_eq!(third.imported, 1, "{third:?}");
    assert!(site.reports_on_disk("Acme").is_empty());
    assert!(site.failing("Acme").is_empty());
    let (quiet, _) = site.pass().await;
    assert_eq!(quiet, PassSummary::default());
}

#[tokio::test]
async fn in_a_synced_folder_a_fixed_failure_drops_out_of_the_report_which_goes_when_nothing_fails()
{
    fixed_failures_drop_out(Site::synced().await).await;
}

#[tokio::test]
async fn over_the_api_a_fixed_failure_drops_out_of_the_report_which_goes_when_nothing_fails() {
    fixed_failures_drop_out(Site::api().await).await;
}

// ----- reports of earlier versions --------------------------------------------------------------

/// Earlier versions wrote a new `Smartimage upload errors <UTC time>.txt` per pass: ours are
/// deleted once the current report is in place (or nothing fails); a customer's file that only
/// borrows the name stays, and nothing named like a report is imported.
async fn earlier_reports_are_replaced(site: Site) {
    let old = |n: u32| format!("Smartimage upload errors 2026-01-0{n}T00-00-00Z.txt");
    site.drop_file("Acme", &old(1), &legacy_report("Acme", "/Acme/promo.mp4"));
    site.drop_file("Acme", &old(2), &legacy_report("Acme", "/Acme/setup.jpg"));
    let lookalike = b"My own list of things to fix.\n";
    site.drop_file("Acme", &old(3), lookalike);
    site.drop_file("Acme", "setup.jpg", &exe());
    // Nothing fails in Tiny: its old report goes too.
    site.drop_file("Tiny", &old(1), &legacy_report("Tiny", "/Tiny/promo.mp4"));
    let (summary, events) = site.pass().await;
    assert_eq!(
        (summary.imported, summary.failed, summary.discovered),
        (0, 1, 1),
        "{summary:?} {events:?}"
    );
    assert_eq!(
        site.reports_on_disk("Acme"),
        [old(3), REPORT_FILE_NAME.into()]
    );
    assert_untouched(&site, "Acme", &old(3), lookalike);
    assert_eq!(listed(&site.report("Acme").unwrap()), ["/Acme/setup.jpg"]);
    assert!(site.reports_on_disk("Tiny").is_empty());
    assert!(site.files("Acme").is_empty() && site.files("Tiny").is_empty());
    assert_eq!(site.failing("Acme"), ["/Acme/setup.jpg"]);
    let (quiet, _) = site.pass().await;
    assert_eq!(quiet, PassSummary::default());
}

#[tokio::test]
async fn in_a_synced_folder_reports_left_by_earlier_versions_are_replaced_by_the_current_one() {
    earlier_reports_are_replaced(Site::synced().await).await;
}

#[tokio::test]
async fn over_the_api_reports_left_by_earlier_versions_are_replaced_by_the_current_one() {
    earlier_reports_are_replaced(Site::api().await).await;
}

// ----- the customer's edits ---------------------------------------------------------------------

async fn an_edited_report_is_replaced(site: Site) {
    site.drop_file("Acme", "a.jpg", &exe());
    site.drop_file("Acme", "b.jpg", &exe());
    site.pass().await;
    let path = site.folder("Acme").join(REPORT_FILE_NAME);
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("\nMy notes: ask Bob about a.jpg\n");
    std::fs::write(&path, &text).unwrap();
    std::fs::remove_file(site.folder("Acme").join("a.jpg")).unwrap();
    let (summary, events) = site.pass().await;
    assert_eq!(
        (summary.reports, summary.imported, summary.discovered),
        (1, 0, 0),
        "{summary:?} {events:?}"
    );
    let report = site.report("Acme").unwrap();
    assert!(
        !report.contains("My notes"),
        "replaced, not merged:\n{report}"
    );
    assert_eq!(listed(&report), ["/Acme/b.jpg"]);
    assert_eq!(site.reports_on_disk("Acme"), [REPORT_FILE_NAME]);
    assert!(site.files("Acme").is_empty());
    assert_eq!(site.failing("Acme"), ["/Acme/b.jpg"]);
}

#[tokio::test]
async fn in_a_synced_folder_a_report_the_customer_edited_is_replaced_at_the_next_change_not_merged()
{
    an_edited_report_is_replaced(Site::synced().await).await;
}

#[tokio::test]
async fn over_the_api_a_report_the_customer_edited_is_replaced_at_the_next_change_not_merged() {
    an_edited_report_is_replaced(Site::api().await).await;
}
