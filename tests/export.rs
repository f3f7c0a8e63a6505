#![cfg(feature = "emulator")]
//! Export and share end to end: library files sent to a linked Dropbox — the API emulator over
//! HTTP and a synced folder on disk — byte-identical, renamed on a clash, big files through an
//! upload session, shared links created once and reused, and nothing sent ever imported back.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use smartimage::dropbox::content_hash::content_hash;
use smartimage::dropbox::emulator::{
    AccountConfig, Emulator, EmulatorConfig, EmulatorHandle, FaultConfig,
};
use smartimage::dropbox::local::LocalSettings;
use smartimage::dropbox::sending::{SendSettings, SentVia};
use smartimage::export::engine::ExportError;
use smartimage::export::{
    ExportEvent, ExportRequest, ExportSummary, ShareOutcome, ShareRequest, ShareTarget, export,
    open_backend, share,
};
use smartimage::import::backends::BackendSettings;
use smartimage::import::engine::{EngineSettings, ImportEngine};
use smartimage::import::linking::link_local_folder;
use smartimage::library::Library;
use smartimage::library::LibraryError;
use smartimage::library::actions::AdminGrant;
use smartimage::library::model::FileRecord;
use smartimage::library::organise::{FileFilter, FileSelection};
use smartimage::library::outgoing::OutgoingSelection;
use smartimage::library::permissions::Actor;
use smartimage::library::policy::PlanCatalog;
use smartimage::library::store::links::{self, BackendKind, NewConnection};

#[path = "support/api_link.rs"]
mod api_link;
use api_link::link_through_emulator;

const OPERATOR: &str = "op@example.com";
const OWNER: &str = "owner@example.com";
const HELPER: &str = "helper@example.com";
const ACCOUNT: &str = "Acme Marketing";
const DOWNLOADS: &str = "Acme Marketing (from Smartimage)";
const DBX: &str = "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc";
const APP_KEY: &str = "test-app-key";

fn png(seed: u32, len: usize) -> Vec<u8> {
    let mut b =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    b.extend(seed.to_be_bytes());
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    while b.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b.push(x as u8);
    }
    b
}

fn mp4(seed: u32, len: usize) -> Vec<u8> {
    let mut b = b"\0\0\0\x18ftypisom\0\0\0\0isommp41".to_vec();
    b.extend(seed.to_be_bytes());
    b.resize(len.max(b.len()), (seed % 200) as u8 + 1);
    b
}

fn pdf(seed: u32) -> Vec<u8> {
    format!("%PDF-1.4\n% export test {seed}\n%%EOF\n").into_bytes()
}

/// A library with one account, its owner, and an admin the owner did not delegate.
struct TestLibrary {
    dir: tempfile::TempDir,
    data: PathBuf,
}

impl TestLibrary {
    fn new() -> TestLibrary {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let h = TestLibrary { dir, data };
        let mut lib = h.open();
        lib.init(OPERATOR, None, None).unwrap();
        let op = lib.actor(Some(OPERATOR), None).unwrap();
        lib.add_account(&op, ACCOUNT, "team").unwrap();
        for (email, owner) in [(OWNER, true), (HELPER, false)] {
            let grant = AdminGrant {
                email: email.into(),
                owner_of: if owner { vec![ACCOUNT.into()] } else { vec![] },
                admin_of: if owner { vec![] } else { vec![ACCOUNT.into()] },
                ..AdminGrant::default()
            };
            lib.add_admin(&op, &grant).unwrap();
        }
        h
    }

    fn open(&self) -> Library {
        Library::open(&self.data, PlanCatalog::default()).unwrap()
    }

    fn actor(&self, email: &str) -> Actor {
        self.open().actor(Some(email), None).unwrap()
    }

    /// Adds a file (uploaded from this machine) named `name` with `bytes`; returns its row.
    fn add(&self, name: &str, bytes: &[u8]) -> FileRecord {
        let source_dir = self.dir.path().join("sources").join(content_hash(bytes));
        std::fs::create_dir_all(&source_dir).unwrap();
        let source = source_dir.join(name);
        std::fs::write(&source, bytes).unwrap();
        let mut lib = self.open();
        lib.add_local_file(&self.actor(OWNER), ACCOUNT, &source)
            .unwrap()
    }

    fn collect(&self, collection: &str, files: &[&FileRecord]) {
        let ids = files.iter().map(|file| file.id).collect();
        self.open()
            .add_to_collection(
                &self.actor(OWNER),
                ACCOUNT,
                collection,
                true,
                &FileSelection::Ids(ids),
            )
            .unwrap();
    }

    fn files(&self) -> Vec<FileRecord> {
        let filter = FileFilter {
            account: Some(ACCOUNT.into()),
            ..FileFilter::default()
        };
        self.open().list_files(&self.actor(OWNER), &filter).unwrap()
    }

    /// (action, detail) of every audit row, newest first.
    fn audit_rows(&self) -> Vec<(String, String)> {
        self.open()
            .audit(&self.actor(OPERATOR), 100)
            .unwrap()
            .into_iter()
            .map(|row| (row.action, row.detail.unwrap_or_default()))
            .collect()
    }

    /// Flips one bit in the middle of `file`'s blob, as bit rot or a bad disk would.
    fn flip_a_bit(&self, file: &FileRecord) -> PathBuf {
        let blob = self.open().blobs().path_of(&file.sha256).unwrap();
        let mut bytes = std::fs::read(&blob).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x10;
        std::fs::write(&blob, &bytes).unwrap();
        blob
    }

    fn audit_actions(&self) -> Vec<String> {
        self.open()
            .audit(&self.actor(OPERATOR), 100)
            .unwrap()
            .into_iter()
            .map(|row| row.action)
            .collect()
    }
}

fn files_below(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.push(
                    path.strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// One linked Dropbox (emulator or synced folder) and how to reach its files on disk.
struct Linked {
    lib: TestLibrary,
    settings: BackendSettings,
    /// The app folder's root on disk (emulator account dir, or the synced folder).
    root: PathBuf,
    emulator: Option<EmulatorHandle>,
    _root_dir: tempfile::TempDir,
}

fn fast_local() -> LocalSettings {
    LocalSettings {
        stable_for: Duration::from_millis(20),
        rescan_every: Duration::from_secs(1),
    }
}

impl Linked {
    async fn api() -> Linked {
        let root_dir = tempfile::tempdir().unwrap();
        let config = EmulatorConfig::new(root_dir.path()).with_account(AccountConfig::new(
            DBX,
            OWNER,
            "Owner Example",
        ));
        let (base, handle) = Emulator::start(config).await.unwrap();
        let lib = TestLibrary::new();
        let mut library = lib.open();
        let settings = link_through_emulator(
            &mut library,
            &lib.actor(OWNER),
            ACCOUNT,
            (&base, &handle),
            DBX,
            APP_KEY,
        )
        .await;
        Linked {
            root: handle.account_dir(DBX).unwrap(),
            lib,
            settings,
            emulator: Some(handle),
            _root_dir: root_dir,
        }
    }

    async fn local() -> Linked {
        let root_dir = tempfile::tempdir().unwrap();
        let lib = TestLibrary::new();
        let mut library = lib.open();
        link_local_folder(
            &mut library,
            &lib.actor(OWNER),
            ACCOUNT,
            root_dir.path(),
            fast_local(),
        )
        .await
        .unwrap();
        let settings = BackendSettings {
            local: fast_local(),
            ..BackendSettings::default()
        };
        Linked {
            root: root_dir.path().canonicalize().unwrap(),
            lib,
            settings,
            emulator: None,
            _root_dir: root_dir,
        }
    }

    fn downloads(&self) -> PathBuf {
        self.root.join(DOWNLOADS)
    }

    async fn export_as(
        &self,
        email: &str,
        selection: OutgoingSelection,
        subfolder: Option<&str>,
        settings: &SendSettings,
    ) -> (Result<ExportSummary, ExportError>, Vec<ExportEvent>) {
        let library = Arc::new(Mutex::new(self.lib.open()));
        let backend = open_backend(&library, ACCOUNT, &self.settings).unwrap();
        let request = ExportRequest {
            account: ACCOUNT.into(),
            selection,
            subfolder: subfolder.map(str::to_owned),
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let outcome = export(
            &library,
            &self.lib.actor(email),
            &request,
            &backend,
            settings,
            &tx,
        )
        .await;
        drop(tx);
        let mut events = Vec::new();
        while let Some(event) = rx.recv().await {
            events.push(event);
        }
        (outcome, events)
    }

    async fn export(&self, selection: OutgoingSelection, subfolder: Option<&str>) -> ExportSummary {
        let (outcome, _) = self
            .export_as(OWNER, selection, subfolder, &SendSettings::default())
            .await;
        outcome.unwrap()
    }

    async fn share(&self, target: ShareTarget) -> Result<ShareOutcome, ExportError> {
        let library = Arc::new(Mutex::new(self.lib.open()));
        let backend = open_backend(&library, ACCOUNT, &self.settings).unwrap();
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let request = ShareRequest {
            account: ACCOUNT.into(),
            target,
        };
        share(
            &library,
            &self.lib.actor(OWNER),
            &request,
            &backend,
            &SendSettings::default(),
            &tx,
        )
        .await
    }

    /// One import pass over every link, as `smartimage import --once` runs it.
    async fn import_pass(&self) -> u64 {
        if let Some(handle) = &self.emulator {
            handle.rescan().unwrap();
        }
        tokio::time::sleep(Duration::from_millis(60)).await;
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let settings = EngineSettings {
            workers: 2,
            backends: self.settings.clone(),
            ..EngineSettings::default()
        };
        let (engine, _) = ImportEngine::start(self.lib.open(), settings, tx).unwrap();
        let (summary, problems) = engine.run_once(None).await.unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        summary.imported
    }
}

/// A collection of mixed files; returns (file, bytes) pairs.
fn mixed_collection(lib: &TestLibrary) -> Vec<(FileRecord, Vec<u8>)> {
    let contents = vec![
        ("beach.png", png(1, 70_000)),
        ("clip.mp4", mp4(2, 300_000)),
        ("brief.pdf", pdf(3)),
        ("tiny.png", png(4, 40)),
    ];
    let files: Vec<(FileRecord, Vec<u8>)> = contents
        .into_iter()
        .map(|(name, bytes)| (lib.add(name, &bytes), bytes))
        .collect();
    lib.collect(
        "Summer",
        &files.iter().map(|(file, _)| file).collect::<Vec<_>>(),
    );
    files
}

async fn collection_arrives_byte_identical(linked: Linked) {
    let files = mixed_collection(&linked.lib);
    let summary = linked
        .export(OutgoingSelection::Collection("Summer".into()), None)
        .await;
    assert!(summary.failed.is_empty(), "{:?}", summary.failed);
    assert_eq!(summary.folder, format!("/{DOWNLOADS}/Summer"));
    assert_eq!(summary.sent.len(), files.len());
    for (file, bytes) in &files {
        let on_disk = std::fs::read(linked.downloads().join("Summer").join(&file.name)).unwrap();
        assert_eq!(&on_disk, bytes, "{} differs", file.name);
        let sent = summary.sent.iter().find(|s| s.file_id == file.id).unwrap();
        assert_eq!(sent.path, format!("/{DOWNLOADS}/Summer/{}", file.name));
        if let Some(hash) = &sent.content_hash {
            assert_eq!(hash, &content_hash(bytes));
        }
    }
    // Nothing half-written or temporary is left beside them.
    assert_eq!(files_below(&linked.downloads()).len(), files.len());
    // Newest first: the outcome, and before it the row written before anything was sent (so a
    // send cut short still leaves a trace).
    let actions = linked.lib.audit_actions();
    let position = |action: &str| actions.iter().position(|a| a == action);
    assert!(
        position("export") < position("export start") && position("export").is_some(),
        "{actions:?}"
    );
}

async fn second_send_renames_and_never_overwrites(linked: Linked) {
    let first = png(10, 5_000);
    let other = png(11, 6_000);
    let a = linked.lib.add("photo.png", &first);
    let summary = linked
        .export(OutgoingSelection::Ids(vec![a.id]), Some("Picks"))
        .await;
    assert_eq!(
        summary.sent[0].path,
        format!("/{DOWNLOADS}/Picks/photo.png")
    );
    // The same bytes again: left as they are (Dropbox's add mode), no second copy.
    let again = linked
        .export(OutgoingSelection::Ids(vec![a.id]), Some("Picks"))
        .await;
    assert_eq!(again.sent[0].path, format!("/{DOWNLOADS}/Picks/photo.png"));
    // Other bytes under the same name: renamed, the first untouched.
    let b = linked.lib.add("photo.png", &other);
    let summary = linked
        .export(OutgoingSelection::Ids(vec![b.id]), Some("Picks"))
        .await;
    assert_eq!(
        summary.sent[0].path,
        format!("/{DOWNLOADS}/Picks/photo (1).png")
    );
    let picks = linked.downloads().join("Picks");
    assert_eq!(files_below(&picks), vec!["photo (1).png", "photo.png"]);
    assert_eq!(std::fs::read(picks.join("photo.png")).unwrap(), first);
    assert_eq!(std::fs::read(picks.join("photo (1).png")).unwrap(), other);
}

async fn nothing_exported_is_imported_back(linked: Linked) {
    let files = mixed_collection(&linked.lib);
    let before = linked.lib.files().len();
    linked
        .export(OutgoingSelection::Collection("Summer".into()), None)
        .await;
    assert_eq!(linked.import_pass().await, 0);
    assert_eq!(linked.lib.files().len(), before);
    // Still there: the import never listed (nor deleted) the downloads folder.
    assert_eq!(
        files_below(&linked.downloads().join("Summer")).len(),
        files.len()
    );
    // A file dropped into the import folder still is imported: the pass did run.
    std::fs::write(linked.root.join(ACCOUNT).join("new.png"), png(99, 900)).unwrap();
    assert_eq!(linked.import_pass().await, 1);
}

async fn denied_without_the_linking_right(linked: Linked) {
    let file = linked.lib.add("secret.png", &png(5, 500));
    let audit_before = linked.lib.audit_actions().len();
    let (outcome, _) = linked
        .export_as(
            HELPER,
            OutgoingSelection::Ids(vec![file.id]),
            None,
            &SendSettings::default(),
        )
        .await;
    let error = outcome.unwrap_err();
    assert!(
        matches!(
            error,
            ExportError::Library(LibraryError::PermissionDenied(_))
        ),
        "{error}"
    );
    assert_eq!(error.exit_code(), 3);
    assert!(error.to_string().contains("smartimage delegate"), "{error}");
    assert!(!linked.downloads().exists());
    assert_eq!(linked.lib.audit_actions().len(), audit_before);
}

async fn failed_export_leaves_the_library_untouched(linked: Linked) {
    let kept = linked.lib.add("kept.png", &png(6, 800));
    let lost = linked.lib.add("lost.png", &png(7, 900));
    linked.lib.collect("Set", &[&kept, &lost]);
    let blob = linked.lib.open().blobs().path_of(&lost.sha256).unwrap();
    std::fs::remove_file(&blob).unwrap();
    let before = linked.lib.files();
    let (outcome, _) = linked
        .export_as(
            OWNER,
            OutgoingSelection::Collection("Set".into()),
            None,
            &SendSettings::default(),
        )
        .await;
    let error = outcome.unwrap_err();
    assert!(
        error.to_string().contains("missing from the blob store"),
        "{error}"
    );
    assert_eq!(linked.lib.files(), before);
    assert!(files_below(&linked.downloads()).is_empty());
}

/// Export's verdict on a blob whose bytes no longer match its file: that file is refused,
/// named with its blob, audited, and nothing of it reaches Dropbox.
fn assert_refused_as_damaged(
    linked: &Linked,
    summary: &ExportSummary,
    file: &FileRecord,
    blob: &Path,
) {
    let failed = summary
        .failed
        .iter()
        .find(|failed| failed.file_id == file.id)
        .unwrap_or_else(|| panic!("{} was not refused: {summary:?}", file.name));
    assert!(
        failed.reason.contains(&format!("file #{}", file.id)),
        "{}",
        failed.reason
    );
    assert!(failed.reason.contains(&file.sha256), "{}", failed.reason);
    assert!(failed.reason.contains("damaged"), "{}", failed.reason);
    assert!(
        failed.reason.contains(&blob.display().to_string()),
        "{}",
        failed.reason
    );
    assert!(summary.sent.iter().all(|sent| sent.file_id != file.id));
    let refusals: Vec<String> = linked
        .lib
        .audit_rows()
        .into_iter()
        .filter(|(action, _)| action == "export refused")
        .map(|(_, detail)| detail)
        .collect();
    assert!(
        refusals
            .iter()
            .any(|detail| detail.contains(&format!("file #{}", file.id))
                && detail.contains(&file.sha256)),
        "{refusals:?}"
    );
    // Nothing of it in Dropbox, not even a temp file.
    assert!(
        files_below(&linked.downloads())
            .iter()
            .all(|name| !name.ends_with(&file.name) && !name.contains(".~")),
        "{:?}",
        files_below(&linked.downloads())
    );
}

async fn a_flipped_blob_is_refused_and_nothing_arrives(linked: Linked, settings: SendSettings) {
    let file = linked.lib.add("rot.mp4", &mp4(60, 300_000));
    let blob = linked.lib.flip_a_bit(&file);
    let (outcome, events) = linked
        .export_as(
            OWNER,
            OutgoingSelection::Ids(vec![file.id]),
            None,
            &settings,
        )
        .await;
    let summary = outcome.unwrap();
    assert!(summary.sent.is_empty(), "{summary:?}");
    assert_refused_as_damaged(&linked, &summary, &file, &blob);
    assert!(files_below(&linked.downloads()).is_empty());
    // Refused at once: a damaged blob is not worth another attempt.
    assert!(
        !events
            .iter()
            .any(|event| matches!(event, ExportEvent::Retrying { .. })),
        "{events:?}"
    );
    // The library is as it was.
    assert_eq!(linked.lib.files(), vec![file]);
}

async fn one_flipped_of_two_is_refused_the_other_sent(linked: Linked, settings: SendSettings) {
    let good_bytes = png(61, 90_000);
    let good = linked.lib.add("good.png", &good_bytes);
    let bad = linked.lib.add("bad.png", &png(62, 90_000));
    let blob = linked.lib.flip_a_bit(&bad);
    let (outcome, _) = linked
        .export_as(
            OWNER,
            OutgoingSelection::Ids(vec![good.id, bad.id]),
            None,
            &settings,
        )
        .await;
    let summary = outcome.unwrap();
    assert_eq!(summary.sent.len(), 1, "{summary:?}");
    assert_eq!(summary.sent[0].file_id, good.id);
    assert_refused_as_damaged(&linked, &summary, &bad, &blob);
    assert_eq!(files_below(&linked.downloads()), vec!["good.png"]);
    assert_eq!(
        std::fs::read(linked.downloads().join("good.png")).unwrap(),
        good_bytes
    );
}

/// Upload sessions in small chunks, so a file is several calls.
fn in_sessions() -> SendSettings {
    SendSettings {
        session_threshold: 1024,
        chunk_bytes: 16 * 1024,
        parallel: 2,
    }
}

mod api {
    use super::*;

    #[tokio::test]
    async fn a_flipped_blob_is_refused_before_its_upload() {
        a_flipped_blob_is_refused_and_nothing_arrives(Linked::api().await, SendSettings::default())
            .await;
    }

    #[tokio::test]
    async fn a_flipped_blob_is_refused_before_its_upload_session_is_finished() {
        let linked = Linked::api().await;
        a_flipped_blob_is_refused_and_nothing_arrives(linked, in_sessions()).await;
    }

    #[tokio::test]
    async fn one_flipped_blob_of_a_batch_is_refused_and_the_other_committed() {
        one_flipped_of_two_is_refused_the_other_sent(Linked::api().await, in_sessions()).await;
    }

    #[tokio::test]
    async fn a_collection_of_mixed_files_arrives_byte_identical() {
        collection_arrives_byte_identical(Linked::api().await).await;
    }

    #[tokio::test]
    async fn a_second_send_renames_rather_than_overwrites() {
        second_send_renames_and_never_overwrites(Linked::api().await).await;
    }

    #[tokio::test]
    async fn nothing_exported_is_imported_back() {
        super::nothing_exported_is_imported_back(Linked::api().await).await;
    }

    #[tokio::test]
    async fn an_admin_without_the_linking_right_is_denied() {
        denied_without_the_linking_right(Linked::api().await).await;
    }

    #[tokio::test]
    async fn a_failed_export_says_why_and_leaves_the_library_untouched() {
        failed_export_leaves_the_library_untouched(Linked::api().await).await;
    }

    #[tokio::test]
    async fn a_large_file_goes_through_an_upload_session() {
        let linked = Linked::api().await;
        let bytes = mp4(8, 3 * 1024 * 1024 + 4321);
        let file = linked.lib.add("film.mp4", &bytes);
        let settings = SendSettings {
            session_threshold: 1024 * 1024,
            chunk_bytes: 512 * 1024,
            parallel: 2,
        };
        let (outcome, events) = linked
            .export_as(
                OWNER,
                OutgoingSelection::Ids(vec![file.id]),
                None,
                &settings,
            )
            .await;
        let summary = outcome.unwrap();
        assert_eq!(summary.sent.len(), 1);
        let SentVia::Session { calls } = summary.sent[0].via else {
            panic!("not sent through a session: {:?}", summary.sent[0].via);
        };
        assert_eq!(calls, 7, "3 MiB + a bit in 512 KiB chunks");
        assert_eq!(
            summary.sent[0].content_hash.as_deref(),
            Some(content_hash(&bytes).as_str())
        );
        assert_eq!(
            std::fs::read(linked.downloads().join("film.mp4")).unwrap(),
            bytes
        );
        let progress: Vec<u64> = events
            .iter()
            .filter_map(|event| match event {
                ExportEvent::Progress { bytes, .. } => Some(*bytes),
                _ => None,
            })
            .collect();
        assert_eq!(progress.last(), Some(&(bytes.len() as u64)));
    }

    #[tokio::test]
    async fn many_files_are_committed_in_a_batch_through_rate_limits_and_server_errors() {
        let linked = Linked::api().await;
        let mut files = Vec::new();
        for seed in 0..12 {
            let bytes = png(100 + seed, 2_000 + seed as usize * 37);
            files.push((linked.lib.add(&format!("shot {seed}.png"), &bytes), bytes));
        }
        linked.emulator.as_ref().unwrap().set_faults(FaultConfig {
            rate_limit_every: Some(7),
            rate_limit_retry_after_secs: 1,
            server_error_every: Some(5),
            ..FaultConfig::default()
        });
        let ids = files.iter().map(|(file, _)| file.id).collect();
        let (outcome, _) = linked
            .export_as(
                OWNER,
                OutgoingSelection::Ids(ids),
                Some("Shots"),
                &SendSettings::default(),
            )
            .await;
        linked
            .emulator
            .as_ref()
            .unwrap()
            .set_faults(FaultConfig::default());
        let summary = outcome.unwrap();
        assert!(summary.failed.is_empty(), "{:?}", summary.failed);
        assert!(
            summary
                .sent
                .iter()
                .all(|sent| matches!(sent.via, SentVia::Batch { .. }))
        );
        for (file, bytes) in &files {
            let on_disk = std::fs::read(linked.downloads().join("Shots").join(&file.name)).unwrap();
            assert_eq!(&on_disk, bytes);
        }
    }

    #[tokio::test]
    async fn a_shared_link_is_created_once_and_reused() {
        let linked = Linked::api().await;
        let bytes = png(20, 3_000);
        let file = linked.lib.add("cover.png", &bytes);
        linked.collect_summer(&file);
        linked
            .export(OutgoingSelection::Collection("Summer".into()), None)
            .await;
        let first = linked
            .share(ShareTarget::Path("Summer/cover.png".into()))
            .await
            .unwrap();
        assert!(first.link.created);
        assert!(!first.link.is_folder);
        assert!(first.link.url.starts_with("https://"), "{}", first.link.url);
        let again = linked
            .share(ShareTarget::Path("Summer/cover.png".into()))
            .await
            .unwrap();
        assert!(!again.link.created);
        assert_eq!(again.link.url, first.link.url);
        // The library file finds its copy by content and shares the same link.
        let by_file = linked.share(ShareTarget::File(file.id)).await.unwrap();
        assert_eq!(by_file.link.url, first.link.url);
        let folder = linked
            .share(ShareTarget::Collection("Summer".into()))
            .await
            .unwrap();
        assert!(folder.link.is_folder);
        assert_eq!(folder.path, format!("/{DOWNLOADS}/Summer"));
        let shares = linked
            .lib
            .audit_actions()
            .iter()
            .filter(|action| *action == "share")
            .count();
        assert_eq!(shares, 4);
        // Outside the account's folders: refused.
        let error = linked
            .share(ShareTarget::Path("/Someone Else/x.png".into()))
            .await
            .unwrap_err();
        assert_eq!(error.exit_code(), 3, "{error}");
        // A collection never sent: says how to send it.
        let error = linked
            .share(ShareTarget::Collection("Winter".into()))
            .await
            .unwrap_err();
        assert!(error.to_string().contains("smartimage export"), "{error}");
    }

    #[tokio::test]
    async fn sharing_a_file_never_sent_sends_it_first() {
        let linked = Linked::api().await;
        let bytes = png(21, 1_234);
        let file = linked.lib.add("solo.png", &bytes);
        let shared = linked.share(ShareTarget::File(file.id)).await.unwrap();
        assert!(shared.link.created);
        assert_eq!(shared.path, format!("/{DOWNLOADS}/solo.png"));
        assert_eq!(
            std::fs::read(linked.downloads().join("solo.png")).unwrap(),
            bytes
        );
    }
}

impl Linked {
    fn collect_summer(&self, file: &FileRecord) {
        self.lib.collect("Summer", &[file]);
    }
}

mod synced_folder {
    use super::*;

    #[tokio::test]
    async fn a_flipped_blob_is_refused_and_never_placed() {
        a_flipped_blob_is_refused_and_nothing_arrives(
            Linked::local().await,
            SendSettings::default(),
        )
        .await;
    }

    #[tokio::test]
    async fn one_flipped_blob_of_two_is_refused_and_the_other_sent() {
        one_flipped_of_two_is_refused_the_other_sent(
            Linked::local().await,
            SendSettings::default(),
        )
        .await;
    }

    #[tokio::test]
    async fn a_flipped_blob_is_refused_even_when_its_bytes_are_already_there() {
        // The damaged bytes sit in the downloads folder already (copied by hand): still not
        // "sent", since they are not the file.
        let linked = Linked::local().await;
        let file = linked.lib.add("same.png", &png(63, 5_000));
        let blob = linked.lib.flip_a_bit(&file);
        std::fs::create_dir_all(linked.downloads()).unwrap();
        std::fs::copy(&blob, linked.downloads().join("same.png")).unwrap();
        let (outcome, _) = linked
            .export_as(
                OWNER,
                OutgoingSelection::Ids(vec![file.id]),
                None,
                &SendSettings::default(),
            )
            .await;
        let summary = outcome.unwrap();
        assert!(summary.sent.is_empty(), "{summary:?}");
        assert!(summary.failed[0].reason.contains(&file.sha256));
    }

    #[tokio::test]
    async fn sharing_a_file_checks_for_an_api_link_before_writing_anything() {
        let linked = Linked::local().await;
        let file = linked.lib.add("never sent.png", &png(31, 300));
        let before = files_below(&linked.root);
        let error = linked.share(ShareTarget::File(file.id)).await.unwrap_err();
        assert!(
            matches!(error, ExportError::SharingNeedsApi { .. }),
            "{error}"
        );
        let message = error.to_string();
        assert!(
            message.contains("shared links need an API link"),
            "{message}"
        );
        assert!(message.contains("--api"), "{message}");
        assert_eq!(error.exit_code(), 1);
        // Nothing written: no copy, no folder, no temp file.
        assert_eq!(files_below(&linked.root), before);
        assert!(!linked.downloads().exists());
        assert!(!linked.lib.audit_actions().contains(&"share".to_owned()));
    }

    #[tokio::test]
    async fn the_next_export_removes_the_temp_files_a_killed_one_left_and_nothing_else() {
        let linked = Linked::local().await;
        let leftovers = Leftovers::plant(&linked.downloads());
        let file = linked.lib.add("after.png", &png(64, 700));
        let summary = linked
            .export(OutgoingSelection::Ids(vec![file.id]), Some("Later"))
            .await;
        assert_eq!(summary.sent.len(), 1);
        leftovers.assert_only_ours_gone();
        assert!(linked.downloads().join("Later/after.png").exists());
    }

    #[tokio::test]
    async fn engine_start_removes_the_temp_files_a_killed_export_left_and_nothing_else() {
        let linked = Linked::local().await;
        let leftovers = Leftovers::plant(&linked.downloads());
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let settings = EngineSettings {
            backends: linked.settings.clone(),
            ..EngineSettings::default()
        };
        let (_engine, report) = ImportEngine::start(linked.lib.open(), settings, tx).unwrap();
        assert_eq!(report.export_temp_files_removed, 2, "{report:?}");
        leftovers.assert_only_ours_gone();
    }

    #[tokio::test]
    async fn a_filter_as_all_files_applies_it_selects_what_goes_out() {
        let linked = Linked::local().await;
        let picked = linked.lib.add("holiday beach.png", &png(40, 400));
        linked.lib.add("invoice.pdf", &pdf(41));
        let filter = FileFilter {
            name_contains: Some("beach".into()),
            ..FileFilter::default()
        };
        let summary = linked
            .export(OutgoingSelection::Filter(filter), Some("Search"))
            .await;
        assert_eq!(summary.sent.len(), 1);
        assert_eq!(summary.sent[0].file_id, picked.id);
        assert_eq!(
            files_below(&linked.downloads()),
            vec!["Search/holiday beach.png"]
        );
    }

    #[tokio::test]
    async fn a_collection_of_mixed_files_arrives_byte_identical() {
        collection_arrives_byte_identical(Linked::local().await).await;
    }

    #[tokio::test]
    async fn a_second_send_renames_rather_than_overwrites() {
        second_send_renames_and_never_overwrites(Linked::local().await).await;
    }

    #[tokio::test]
    async fn nothing_exported_is_imported_back() {
        super::nothing_exported_is_imported_back(Linked::local().await).await;
    }

    #[tokio::test]
    async fn an_admin_without_the_linking_right_is_denied() {
        denied_without_the_linking_right(Linked::local().await).await;
    }

    #[tokio::test]
    async fn a_failed_export_says_why_and_leaves_the_library_untouched() {
        failed_export_leaves_the_library_untouched(Linked::local().await).await;
    }

    #[tokio::test]
    async fn an_account_whose_folder_is_another_accounts_downloads_folder_cannot_import_it() {
        let linked = Linked::local().await;
        let mut library = linked.lib.open();
        let op = library.actor(Some(OPERATOR), None).unwrap();
        library.add_account(&op, DOWNLOADS, "team").unwrap();
        library
            .add_admin(
                &op,
                &AdminGrant {
                    email: OWNER.into(),
                    owner_of: vec![DOWNLOADS.into()],
                    ..AdminGrant::default()
                },
            )
            .unwrap();
        let owner = library.actor(Some(OWNER), None).unwrap();
        // Linking it is refused: its folder is where Acme Marketing sends files.
        let error = link_local_folder(&mut library, &owner, DOWNLOADS, &linked.root, fast_local())
            .await
            .unwrap_err();
        assert!(error.to_string().contains("sends files back"), "{error}");

        // A link made before that rule existed: the export refuses instead.
        let acme = library.account(ACCOUNT).unwrap();
        let acme_link = links::live_link_of(library.store().connection(), acme.id)
            .unwrap()
            .unwrap();
        let other = library.account(DOWNLOADS).unwrap();
        let root = linked.root.to_string_lossy().into_owned();
        let connection = NewConnection {
            dropbox_account_id: &acme_link.dropbox_account_id,
            email: None,
            backend: BackendKind::Local,
            token_ref: None,
            root_path: Some(&root),
            authorized_by: owner.admin.id,
        };
        library
            .record_link(&owner, &other, &connection, &format!("/{DOWNLOADS}"))
            .unwrap();
        let file = linked.lib.add("x.png", &png(50, 300));
        let (outcome, _) = linked
            .export_as(
                OWNER,
                OutgoingSelection::Ids(vec![file.id]),
                None,
                &SendSettings::default(),
            )
            .await;
        let error = outcome.unwrap_err();
        assert!(matches!(error, ExportError::FolderClash { .. }), "{error}");
        assert!(files_below(&linked.downloads()).is_empty());
    }

    #[tokio::test]
    async fn sharing_needs_the_api_and_says_so() {
        let linked = Linked::local().await;
        let file = linked.lib.add("cover.png", &png(30, 300));
        linked
            .export(OutgoingSelection::Ids(vec![file.id]), None)
            .await;
        let error = linked
            .share(ShareTarget::Path("cover.png".into()))
            .await
            .unwrap_err();
        assert!(
            error.to_string().contains("sharing needs the Dropbox API"),
            "{error}"
        );
        assert!(!linked.lib.audit_actions().contains(&"share".to_owned()));
    }
}

/// What a killed export leaves in the downloads folder (temp files of ours, at the top and in
/// a subfolder), beside files of the customer's that merely look like them and the temp file
/// of an export still running.
struct Leftovers {
    ours: Vec<PathBuf>,
    theirs: Vec<PathBuf>,
}

impl Leftovers {
    fn plant(downloads: &Path) -> Leftovers {
        // The pid of a process that has ended, as a killed export's has.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let live = std::process::id();
        let sub = downloads.join("Summer");
        std::fs::create_dir_all(&sub).unwrap();
        let ours = vec![
            downloads.join(format!(".~smartimage-export-{dead}-18c2a1b3f-0.tmp")),
            sub.join(format!(".~smartimage-export-{dead}-18c2a1b40-7.tmp")),
        ];
        let theirs = vec![
            // Customer files that look like ours.
            downloads.join(format!(".~smartimage-export-{dead}-18c2a1b3f-0.tmp.jpg")),
            downloads.join(format!("smartimage-export-{dead}-18c2a1b3f-0.tmp")),
            sub.join(format!(".~smartimage-export-{dead}-18c2a1b3f.tmp")),
            sub.join(".~smartimage-notes.tmp"),
            sub.join("photo.jpg"),
            // A delete's quarantine holds a customer's file: never ours to remove.
            downloads.join(format!(".~smartimage-deleting-{dead}-18c2a1b3f-0.tmp")),
            // An export running now (its pid is alive).
            sub.join(format!(".~smartimage-export-{live}-18c2a1b41-3.tmp")),
        ];
        for path in ours.iter().chain(&theirs) {
            std::fs::write(path, b"half a file").unwrap();
        }
        Leftovers { ours, theirs }
    }

    fn assert_only_ours_gone(&self) {
        for path in &self.ours {
            assert!(!path.exists(), "{} was left", path.display());
        }
        for path in &self.theirs {
            assert!(path.exists(), "{} was removed", path.display());
        }
    }
}
