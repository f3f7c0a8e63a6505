#![cfg(feature = "emulator")]
//! OUR Dropbox client (`ApiClient`, through the `DropboxBackend` trait) against the in-process
//! emulator: every trait operation, every fault the emulator can inject, and hostile names.
//!
//! Invariants checked throughout: a download that is short, cut off or corrupt never reads to a
//! clean end (its final read is an error), and a stale revision is never deleted.

use std::collections::HashSet;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use smartimage::dropbox::api::{ApiClient, ClientConfig, Endpoints, RetryPolicy};
use smartimage::dropbox::auth::{OAuthClient, Secret, TokenSource, Tokens};
use smartimage::dropbox::backend::{BackendError, Download, DropboxBackend};
use smartimage::dropbox::content_hash::content_hash;
use smartimage::dropbox::emulator::{
    AccountConfig, Emulator, EmulatorConfig, EmulatorHandle, FaultConfig,
};
use smartimage::dropbox::pacer::Pacer;
use smartimage::dropbox::wire::{DeleteArg, FileMetadata, Metadata, WriteMode};
use tokio::io::{AsyncRead, AsyncReadExt};

const ACME: &str = "dbid:AAAacme";
const ACME_TOKEN: &str = "acme-token";
const ACME_REFRESH: &str = "acme-refresh";
const APP_KEY: &str = "emu-app-key";

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        transient_attempts: 4,
        backoff_base: Duration::from_millis(2),
        backoff_cap: Duration::from_millis(10),
        rate_limit_fallback: Duration::from_millis(50),
        rate_limit_fallback_cap: Duration::from_millis(200),
        rate_limit_waits: 8,
        batch_poll_first: Duration::from_millis(5),
        batch_poll_cap: Duration::from_millis(20),
        batch_poll_give_up: Duration::from_secs(10),
    }
}

struct Env {
    base: String,
    handle: EmulatorHandle,
    api: ApiClient,
    _root: tempfile::TempDir,
}

fn emulator_config(root: &std::path::Path) -> EmulatorConfig {
    let mut config = EmulatorConfig::new(root).with_account(
        AccountConfig::new(ACME, "admin@acme.test", "Ada Acme")
            .with_access_token(ACME_TOKEN)
            .with_refresh_token(ACME_REFRESH),
    );
    // 30 s of longpoll become 30 ms unless a test says otherwise.
    config.longpoll_time_scale = 0.001;
    config
}

fn client(base: &str, tokens: TokenSource, retry: RetryPolicy) -> ApiClient {
    let config = ClientConfig {
        retry,
        ..ClientConfig::with_endpoints(Endpoints::single(base))
    };
    ApiClient::new(
        config,
        Arc::new(tokens),
        Arc::new(Pacer::new(Duration::from_millis(1))),
    )
    .unwrap()
}

async fn env() -> Env {
    env_with(|_| {}).await
}

async fn env_with(adjust: impl FnOnce(&mut EmulatorConfig)) -> Env {
    let root = tempfile::tempdir().unwrap();
    let mut config = emulator_config(root.path());
    adjust(&mut config);
    let (base, handle) = Emulator::start(config).await.unwrap();
    let api = client(&base, TokenSource::fixed(ACME_TOKEN), fast_retry());
    Env {
        base,
        handle,
        api,
        _root: root,
    }
}

/// Tokens valid for an hour (no proactive refresh) that can be refreshed at the emulator.
fn refreshable_source(base: &str) -> TokenSource {
    let mut tokens = Tokens::fixed(ACME_TOKEN);
    tokens.expires_at = time::OffsetDateTime::now_utc() + Duration::from_secs(3600);
    tokens.refresh_token = Some(Secret::new(ACME_REFRESH));
    let oauth = OAuthClient::new(reqwest::Client::new(), base, APP_KEY).with_retry(fast_retry());
    TokenSource::new(oauth, tokens)
}

/// Reads a download to its end the way a consumer does, chunk by chunk with tokio: the bytes
/// seen and how the stream ended (`Ok` = a clean end of file).
async fn read_through(mut body: Pin<Box<dyn AsyncRead + Send>>) -> (Vec<u8>, io::Result<()>) {
    let mut out = Vec::new();
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        match body.read(&mut buffer).await {
            Ok(0) => return (out, Ok(())),
            Ok(read) => out.extend_from_slice(&buffer[..read]),
            Err(error) => return (out, Err(error)),
        }
    }
}

async fn download_all(api: &ApiClient, path: &str) -> (FileMetadata, Vec<u8>) {
    let Download { metadata, body } = api.download(path).await.unwrap();
    let (bytes, end) = read_through(body).await;
    end.unwrap_or_else(|error| panic!("download of {path:?} failed: {error}"));
    (metadata, bytes)
}

async fn upload(api: &ApiClient, path: &str, bytes: &[u8]) -> FileMetadata {
    api.upload(path, bytes.to_vec(), WriteMode::Add, false)
        .await
        .unwrap_or_else(|error| panic!("upload of {path:?}: {error}"))
}

/// The whole listing: first page, then `continue` until `has_more` is false.
async fn list_all(api: &ApiClient, path: &str) -> (Vec<Metadata>, String, usize) {
    let mut page = api.list_folder(path, true).await.unwrap();
    let mut entries = std::mem::take(&mut page.entries);
    let mut pages = 1;
    while page.has_more {
        page = api.list_folder_continue(&page.cursor).await.unwrap();
        entries.append(&mut page.entries);
        pages += 1;
    }
    (entries, page.cursor, pages)
}

fn file_of(metadata: Option<Metadata>) -> FileMetadata {
    match metadata {
        Some(Metadata::File(file)) => file,
        other => panic!("expected a file, got {other:?}"),
    }
}

/// Pseudo-random bytes (xorshift), so a half body and a whole one never hash alike.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// Calls `fault` with the client's pacer watched: returns the call's result, how long it took
/// and the longest rate-limit hold the pacer reported while it ran.
async fn watching_pacer<T: Send + 'static>(
    api: &Arc<ApiClient>,
    call: impl std::future::Future<Output = T> + Send + 'static,
) -> (T, Duration, Option<Duration>) {
    let started = Instant::now();
    let task = tokio::spawn(call);
    let mut longest: Option<Duration> = None;
    while !task.is_finished() {
        if let Some(remaining) = api.pacer().rate_limit_remaining() {
            longest = Some(longest.map_or(remaining, |seen| seen.max(remaining)));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let value = task.await.unwrap();
    (value, started.elapsed(), longest)
}

// ----- every trait operation -----------------------------------------------------------------

#[tokio::test]
async fn current_account_names_the_configured_account() {
    let env = env().await;
    let account = env.api.current_account().await.unwrap();
    assert_eq!(account.account_id, ACME);
    assert_eq!(account.email.as_deref(), Some("admin@acme.test"));
    assert_eq!(account.display_name, "Ada Acme");

    let stranger = client(&env.base, TokenSource::fixed("nobody"), fast_retry());
    let error = stranger.current_account().await.unwrap_err();
    assert!(
        matches!(error, BackendError::NeedsReauth { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn ensure_folder_creates_once_and_accepts_the_folder_in_another_case() {
    let env = env().await;
    let created = env.api.ensure_folder("/Acme Corp").await.unwrap();
    assert_eq!(created.name, "Acme Corp");
    assert_eq!(created.path_lower.as_deref(), Some("/acme corp"));

    let again = env.api.ensure_folder("/ACME CORP").await.unwrap();
    assert_eq!(again.id, created.id, "the existing folder, not a new one");
    assert_eq!(again.name, "Acme Corp", "Dropbox keeps the first casing");

    let nested = env
        .api
        .ensure_folder("/acme corp/Inbox/2026")
        .await
        .unwrap();
    assert_eq!(
        nested.path_display.as_deref(),
        Some("/Acme Corp/Inbox/2026")
    );

    upload(&env.api, "/Acme Corp/file.txt", b"a file").await;
    let error = env
        .api
        .ensure_folder("/Acme Corp/file.txt")
        .await
        .unwrap_err();
    assert!(matches!(error, BackendError::Conflict { .. }), "{error:?}");
}

#[tokio::test]
async fn recursive_listing_pages_past_2000_entries_parents_first() {
    let env = env().await;
    let dir = env.handle.account_dir(ACME).unwrap();
    const SUBFOLDERS: usize = 5;
    const FILES: usize = 2100;
    for sub in 0..SUBFOLDERS {
        std::fs::create_dir_all(dir.join(format!("Big/sub{sub}"))).unwrap();
    }
    for i in 0..FILES {
        let path = dir.join(format!("Big/sub{}/file{i:04}.jpg", i % SUBFOLDERS));
        std::fs::write(path, format!("bytes of {i}")).unwrap();
    }

    let (entries, _cursor, pages) = list_all(&env.api, "").await;
    assert_eq!(entries.len(), 1 + SUBFOLDERS + FILES);
    assert_eq!(pages, 2, "2000 per page, then the rest");
    let mut seen: HashSet<String> = HashSet::new();
    for entry in &entries {
        let lower = entry.path_lower().unwrap().to_owned();
        let parent = &lower[..lower.rfind('/').unwrap()];
        assert!(
            parent.is_empty() || seen.contains(parent),
            "{lower} came before its parent"
        );
        assert!(seen.insert(lower.clone()), "{lower} listed twice");
    }
    let files = entries
        .iter()
        .filter(|entry| matches!(entry, Metadata::File(_)))
        .count();
    assert_eq!(files, FILES);

    // A flat listing of one subfolder holds its files only.
    let flat = env.api.list_folder("/big/sub3", false).await.unwrap();
    assert_eq!(flat.entries.len(), FILES / SUBFOLDERS);
    assert!(!flat.has_more);
}

#[tokio::test]
async fn continue_reports_added_changed_and_deleted_then_nothing() {
    let env = env().await;
    let keep = upload(&env.api, "/In/keep.jpg", b"keep").await;
    let change = upload(&env.api, "/In/change.jpg", b"v1").await;
    let doomed = upload(&env.api, "/In/doomed.jpg", b"doomed").await;
    let (entries, cursor, _) = list_all(&env.api, "").await;
    assert_eq!(entries.len(), 4);

    let quiet = env.api.list_folder_continue(&cursor).await.unwrap();
    assert!(quiet.entries.is_empty() && !quiet.has_more);

    let added = upload(&env.api, "/In/added.jpg", b"new").await;
    let changed = env
        .api
        .upload(
            "/In/change.jpg",
            b"v2".to_vec(),
            WriteMode::Overwrite,
            false,
        )
        .await
        .unwrap();
    assert_ne!(changed.rev, change.rev);
    assert_eq!(changed.id, change.id, "an overwrite keeps the id");
    let deleted = env
        .api
        .delete_batch(vec![DeleteArg {
            path: "/In/doomed.jpg".into(),
            parent_rev: Some(doomed.rev.clone()),
        }])
        .await
        .unwrap();
    assert!(deleted[0].is_ok(), "{:?}", deleted[0]);
    // A file the user drops in (the emulator notices on the next listing call).
    let dir = env.handle.account_dir(ACME).unwrap();
    std::fs::write(dir.join("In/dropped.jpg"), b"dropped").unwrap();

    let delta = env.api.list_folder_continue(&quiet.cursor).await.unwrap();
    assert!(!delta.has_more);
    let mut saw = Vec::new();
    for entry in &delta.entries {
        match entry {
            Metadata::File(file) if file.id == added.id => saw.push("added"),
            Metadata::File(file) if file.id == change.id => {
                assert_eq!(file.rev, changed.rev);
                saw.push("changed");
            }
            Metadata::File(file) if file.name == "dropped.jpg" => {
                assert_eq!(
                    file.content_hash.as_deref(),
                    Some(&*content_hash(b"dropped"))
                );
                saw.push("dropped");
            }
            Metadata::Deleted(gone) if gone.path_lower.as_deref() == Some("/in/doomed.jpg") => {
                saw.push("deleted")
            }
            other => panic!("unexpected delta {other:?}"),
        }
    }
    saw.sort_unstable();
    assert_eq!(saw, ["added", "changed", "deleted", "dropped"]);
    assert!(
        !delta.entries.iter().any(|e| e.name() == Some(&keep.name)),
        "an untouched file is not reported"
    );

    let after = env.api.list_folder_continue(&delta.cursor).await.unwrap();
    assert!(after.entries.is_empty());
}

#[tokio::test]
async fn an_unknown_cursor_is_a_cursor_reset() {
    let env = env().await;
    let error = env
        .api
        .list_folder_continue("AAEnot-a-cursor")
        .await
        .unwrap_err();
    assert!(matches!(error, BackendError::CursorReset), "{error:?}");
    let error = env
        .api
        .wait_for_changes("AAEnot-a-cursor", Duration::from_secs(30))
        .await
        .unwrap_err();
    assert!(matches!(error, BackendError::CursorReset), "{error:?}");
    // The listed folder itself vanished: not found, not a silent empty delta.
    env.api.ensure_folder("/Gone").await.unwrap();
    let first = env.api.list_folder("/Gone", true).await.unwrap();
    env.api
        .delete_batch(vec![DeleteArg {
            path: "/Gone".into(),
            parent_rev: None,
        }])
        .await
        .unwrap();
    let error = env
        .api
        .list_folder_continue(&first.cursor)
        .await
        .unwrap_err();
    assert!(matches!(error, BackendError::NotFound { .. }), "{error:?}");
}

/// The longest longpoll Dropbox allows, in real time here: a waiter woken only by its timeout
/// would sleep through any test.
const LONGEST_LONGPOLL: Duration = Duration::from_secs(480);
/// How long something that should happen at once is given, however slow the machine.
const PATIENCE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn wait_for_changes_wakes_on_a_change_well_before_its_timeout() {
    let env = env_with(|config| config.longpoll_time_scale = 1.0).await;
    let api = Arc::new(env.api);
    let (_, cursor, _) = list_all(&api, "").await;
    let waiter = {
        let api = Arc::clone(&api);
        tokio::spawn(async move { api.wait_for_changes(&cursor, LONGEST_LONGPOLL).await })
    };
    // Once the longpoll is waiting at the emulator, a file arrives.
    let longpoll = "/2/files/list_folder/longpoll";
    let deadline = Instant::now() + PATIENCE;
    while !env.handle.calls_in_flight().iter().any(|p| p == longpoll) {
        assert!(
            Instant::now() < deadline,
            "the longpoll never reached the emulator"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    upload(&api, "/new.jpg", b"hello").await;
    let wait = tokio::time::timeout(PATIENCE, waiter)
        .await
        .expect("the longpoll slept through the change")
        .unwrap()
        .unwrap();
    assert!(wait.changes);
    assert_eq!(wait.backoff, None);
    // The emulator's own log: the longpoll was answered after the upload arrived, so by the
    // change (the upload's own answer may be logged a moment after the longpoll's).
    let calls = env.handle.calls();
    let call = |path: &str| calls.iter().rfind(|c| c.path == path).unwrap();
    assert!(
        call(longpoll).answered >= call("/2/files/upload").arrived,
        "{calls:#?}"
    );
}

#[tokio::test]
async fn wait_for_changes_times_out_in_scaled_time_and_passes_backoff_on() {
    // 30 s become 300 ms.
    let env = env_with(|config| {
        config.longpoll_time_scale = 0.01;
        config.longpoll_backoff_secs = Some(7);
    })
    .await;
    let (_, cursor, _) = list_all(&env.api, "").await;
    let timeout = Duration::from_secs(30);
    let wait = env.api.wait_for_changes(&cursor, timeout).await.unwrap();
    assert!(!wait.changes);
    assert_eq!(wait.backoff, Some(Duration::from_secs(7)));
    // The emulator's own log: it held the longpoll for the scaled time (300 ms), and answered
    // before the real 30 s were up.
    let calls = env.handle.calls();
    let longpoll = calls
        .iter()
        .rfind(|c| c.path == "/2/files/list_folder/longpoll")
        .unwrap();
    let held = longpoll.answered - longpoll.arrived;
    assert!(held >= timeout / 100, "{held:?}");
    assert!(held < timeout, "{held:?}: the wait was not scaled");
    // A timeout below Dropbox's minimum is raised to it (30 s → 300 ms here), not refused.
    let wait = env
        .api
        .wait_for_changes(&cursor, Duration::from_secs(1))
        .await
        .unwrap();
    assert!(!wait.changes);
}

#[tokio::test]
async fn download_hands_over_bytes_and_the_served_revision_also_by_rev() {
    let env = env().await;
    let v1 = noise(5 * 1024 * 1024 + 17, 1); // more than one 4 MiB hash block
    let first = upload(&env.api, "/Photos/Big.RAW", &v1).await;
    let (metadata, bytes) = download_all(&env.api, "/photos/big.raw").await;
    assert_eq!(bytes, v1);
    assert_eq!(metadata.rev, first.rev);
    assert_eq!(metadata.size, v1.len() as u64);
    assert_eq!(metadata.content_hash, Some(content_hash(&v1)));
    assert_eq!(metadata.path_display.as_deref(), Some("/Photos/Big.RAW"));

    let v2 = b"second version".to_vec();
    let second = env
        .api
        .upload("/Photos/Big.RAW", v2.clone(), WriteMode::Overwrite, false)
        .await
        .unwrap();
    let (metadata, bytes) = download_all(&env.api, "/Photos/Big.RAW").await;
    assert_eq!(
        (metadata.rev.as_str(), bytes.as_slice()),
        (second.rev.as_str(), &v2[..])
    );
    let (metadata, bytes) = download_all(&env.api, &format!("rev:{}", first.rev)).await;
    assert_eq!(metadata.rev, first.rev);
    assert!(bytes == v1, "rev: serves the old bytes");
    let (_, bytes) = download_all(&env.api, &second.id).await;
    assert_eq!(bytes, v2, "id: paths work too");

    let empty = upload(&env.api, "/empty.bin", b"").await;
    let (metadata, bytes) = download_all(&env.api, "/empty.bin").await;
    assert!(bytes.is_empty());
    assert_eq!(metadata.rev, empty.rev);

    let missing = env.api.download("/nope.jpg").await.err().unwrap();
    assert!(
        matches!(&missing, BackendError::NotFound { path } if path == "/nope.jpg"),
        "{missing:?}"
    );
    let folder = env.api.download("/Photos").await.err().unwrap();
    assert!(
        matches!(folder, BackendError::Refused { status: 409, .. }),
        "{folder:?}"
    );
}

#[tokio::test]
async fn delete_batch_deletes_matching_revs_and_never_a_stale_one() {
    let env = env().await;
    let a = upload(&env.api, "/In/a.jpg", b"a").await;
    let b_old = upload(&env.api, "/In/b.jpg", b"b1").await;
    let b_new = env
        .api
        .upload("/In/b.jpg", b"b2".to_vec(), WriteMode::Overwrite, false)
        .await
        .unwrap();
    let results = env
        .api
        .delete_batch(vec![
            DeleteArg {
                path: "/In/a.jpg".into(),
                parent_rev: Some(a.rev.clone()),
            },
            DeleteArg {
                path: "/In/b.jpg".into(),
                parent_rev: Some(b_old.rev.clone()),
            },
            DeleteArg {
                path: "/In/never-there.jpg".into(),
                parent_rev: Some(a.rev.clone()),
            },
        ])
        .await
        .unwrap();
    assert_eq!(results.len(), 3);
    assert!(
        matches!(&results[0], Ok(Metadata::File(file)) if file.rev == a.rev),
        "{:?}",
        results[0]
    );
    assert!(
        matches!(&results[1], Err(BackendError::Conflict { .. })),
        "{:?}",
        results[1]
    );
    assert!(
        matches!(&results[2], Err(BackendError::NotFound { .. })),
        "{:?}",
        results[2]
    );
    assert_eq!(env.api.get_metadata("/In/a.jpg").await.unwrap(), None);
    let b = file_of(env.api.get_metadata("/In/b.jpg").await.unwrap());
    assert_eq!(b.rev, b_new.rev, "the stale rev was not deleted");
    let (_, bytes) = download_all(&env.api, "/In/b.jpg").await;
    assert_eq!(bytes, b"b2");
}

#[tokio::test]
async fn upload_add_autorename_overwrite_and_update() {
    let env = env().await;
    let first = upload(&env.api, "/Reports/report.txt", b"one").await;
    assert_eq!(first.name, "report.txt");
    assert_eq!(first.content_hash, Some(content_hash(b"one")));

    let same = upload(&env.api, "/Reports/report.txt", b"one").await;
    assert_eq!(
        same.rev, first.rev,
        "identical bytes: nothing written, no conflict"
    );

    let conflict = env
        .api
        .upload(
            "/Reports/report.txt",
            b"two".to_vec(),
            WriteMode::Add,
            false,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(conflict, BackendError::Conflict { .. }),
        "{conflict:?}"
    );

    let renamed = env
        .api
        .upload("/Reports/report.txt", b"two".to_vec(), WriteMode::Add, true)
        .await
        .unwrap();
    assert_eq!(renamed.name, "report (1).txt");
    let renamed_again = env
        .api
        .upload(
            "/Reports/REPORT.txt",
            b"three".to_vec(),
            WriteMode::Add,
            true,
        )
        .await
        .unwrap();
    // The path names an existing file in another case: that file's casing is the name renamed.
    assert_eq!(renamed_again.name, "report (2).txt");

    let overwritten = env
        .api
        .upload(
            "/Reports/report.txt",
            b"four".to_vec(),
            WriteMode::Overwrite,
            false,
        )
        .await
        .unwrap();
    assert_eq!(overwritten.id, first.id);
    assert_ne!(overwritten.rev, first.rev);

    let stale_update = env
        .api
        .upload(
            "/Reports/report.txt",
            b"five".to_vec(),
            WriteMode::Update(first.rev.clone()),
            false,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(stale_update, BackendError::Conflict { .. }),
        "{stale_update:?}"
    );
    let updated = env
        .api
        .upload(
            "/Reports/report.txt",
            b"five".to_vec(),
            WriteMode::Update(overwritten.rev.clone()),
            false,
        )
        .await
        .unwrap();
    let (_, bytes) = download_all(&env.api, "/Reports/report.txt").await;
    assert_eq!(bytes, b"five");
    assert_eq!(
        file_of(env.api.get_metadata("/Reports/report.txt").await.unwrap()).rev,
        updated.rev
    );
    let (entries, _, _) = list_all(&env.api, "/Reports").await;
    let mut names: Vec<&str> = entries.iter().filter_map(Metadata::name).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["Reports", "report (1).txt", "report (2).txt", "report.txt"]
    );
}

#[tokio::test]
async fn get_metadata_of_a_file_a_folder_and_nothing() {
    let env = env().await;
    let file = upload(&env.api, "/Dir/File.JPG", b"jpg").await;
    let found = file_of(env.api.get_metadata("/dir/file.jpg").await.unwrap());
    assert_eq!(found, file);
    let by_id = file_of(env.api.get_metadata(&file.id).await.unwrap());
    assert_eq!(by_id.path_display.as_deref(), Some("/Dir/File.JPG"));
    assert!(matches!(
        env.api.get_metadata("/Dir").await.unwrap(),
        Some(Metadata::Folder(folder)) if folder.name == "Dir"
    ));
    assert_eq!(
        env.api.get_metadata("/Dir/missing.jpg").await.unwrap(),
        None
    );
    assert_eq!(env.api.get_metadata("/Nowhere/x").await.unwrap(), None);
}

// ----- faults ----------------------------------------------------------------------------------

async fn rate_limited_call_waits_and_succeeds(plain_text: bool) {
    let env = env().await;
    upload(&env.api, "/a.jpg", b"a").await;
    let api = Arc::new(env.api);
    env.handle.set_faults(FaultConfig {
        rate_limit_every: Some(2),
        rate_limit_retry_after_secs: 1,
        rate_limit_plain_text: plain_text,
        ..FaultConfig::default()
    });
    // Call 1 passes; call 2 (ours) is told to wait a second, its retry (call 3) passes.
    assert!(api.get_metadata("/a.jpg").await.unwrap().is_some());
    let call = {
        let api = Arc::clone(&api);
        async move { api.get_metadata("/a.jpg").await }
    };
    let (found, _, hold) = watching_pacer(&api, call).await;
    assert!(found.unwrap().is_some());
    let hold = hold.expect("the pacer reported the rate-limit hold");
    assert!(hold <= Duration::from_secs(1), "{hold:?}");
    assert_eq!(api.pacer().rate_limit_remaining(), None, "the hold is over");
    // The emulator's own log: one 429, and the retry came a full second after it was answered.
    assert_eq!(assert_429s_waited_out(&env.handle), 1);
}

/// Every 429 the emulator served was retried no sooner than its `Retry-After` after the 429
/// was answered, and no other call arrived in between either (the account was held). Returns
/// how many 429s were served; at least one.
fn assert_429s_waited_out(handle: &EmulatorHandle) -> usize {
    let calls = handle.calls();
    let limits: Vec<_> = calls.iter().filter(|c| c.status == 429).collect();
    assert!(!limits.is_empty(), "no 429 was served");
    assert_eq!(limits.len() as u64, handle.faults_served().rate_limits);
    for limit in &limits {
        let wait = Duration::from_secs(limit.retry_after.expect("Retry-After was sent"));
        assert!(
            calls
                .iter()
                .any(|c| c.call == limit.call && c.arrived > limit.answered),
            "{} was not tried again",
            limit.path
        );
        for later in calls.iter().filter(|c| c.arrived > limit.answered) {
            let after = later.arrived - limit.answered;
            assert!(
                after >= wait,
                "{} arrived {after:?} after a 429 that said to wait {wait:?}",
                later.path
            );
        }
    }
    limits.len()
}

#[tokio::test]
async fn a_json_429_with_retry_after_is_waited_out_and_the_pacer_shows_the_hold() {
    rate_limited_call_waits_and_succeeds(false).await;
}

#[tokio::test]
async fn a_text_429_with_retry_after_is_waited_out_and_the_pacer_shows_the_hold() {
    rate_limited_call_waits_and_succeeds(true).await;
}

#[tokio::test]
async fn a_rate_limit_holds_other_calls_on_the_account_too() {
    let env = env().await;
    upload(&env.api, "/a.jpg", b"a").await;
    let api = Arc::new(env.api);
    env.handle.set_faults(FaultConfig {
        rate_limit_every: Some(1),
        rate_limit_retry_after_secs: 1,
        ..FaultConfig::default()
    });
    let limited = {
        let api = Arc::clone(&api);
        tokio::spawn(async move { api.get_metadata("/a.jpg").await })
    };
    while api.pacer().rate_limit_remaining().is_none() {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    env.handle.set_faults(FaultConfig::default());
    // Another call on the same account waits for the hold, though its own answer would be fine:
    // nothing reaches the emulator before the 429's second is over.
    assert!(api.get_metadata("/a.jpg").await.unwrap().is_some());
    assert!(limited.await.unwrap().unwrap().is_some());
    assert_eq!(assert_429s_waited_out(&env.handle), 1);
}

#[tokio::test]
async fn endless_rate_limits_end_as_rate_limited() {
    let env = env().await;
    env.handle.set_faults(FaultConfig {
        rate_limit_every: Some(1),
        rate_limit_retry_after_secs: 0,
        ..FaultConfig::default()
    });
    let error = env.api.current_account().await.unwrap_err();
    assert!(
        matches!(error, BackendError::RateLimited { .. }),
        "{error:?}"
    );
    assert!(error.is_retryable());
}

#[tokio::test]
async fn every_other_call_failing_with_5xx_still_gets_everything_done() {
    let env = env().await;
    env.handle.set_faults(FaultConfig {
        server_error_every: Some(2),
        server_error_status: 503,
        ..FaultConfig::default()
    });
    let file = upload(&env.api, "/x/a.jpg", b"a").await;
    assert_eq!(env.api.current_account().await.unwrap().account_id, ACME);
    let (entries, _, _) = list_all(&env.api, "").await;
    assert_eq!(entries.len(), 2);
    let (_, bytes) = download_all(&env.api, "/x/a.jpg").await;
    assert_eq!(bytes, b"a");
    let results = env
        .api
        .delete_batch(vec![DeleteArg {
            path: "/x/a.jpg".into(),
            parent_rev: Some(file.rev),
        }])
        .await
        .unwrap();
    assert!(results[0].is_ok(), "{:?}", results[0]);
}

#[tokio::test]
async fn a_burst_of_server_errors_is_ridden_out() {
    let env = env().await;
    upload(&env.api, "/a.jpg", b"a").await;
    // Many attempts, each waiting up to 40 ms: the 5xx burst below ends long before they do.
    let patient = RetryPolicy {
        transient_attempts: 60,
        backoff_base: Duration::from_millis(20),
        backoff_cap: Duration::from_millis(40),
        ..fast_retry()
    };
    let api = Arc::new(client(&env.base, TokenSource::fixed(ACME_TOKEN), patient));
    env.handle.set_faults(FaultConfig {
        server_error_every: Some(1),
        server_error_status: 500,
        ..FaultConfig::default()
    });
    let call = {
        let api = Arc::clone(&api);
        tokio::spawn(async move { api.get_metadata("/a.jpg").await })
    };
    tokio::time::sleep(Duration::from_millis(250)).await;
    env.handle.set_faults(FaultConfig::default());
    assert!(call.await.unwrap().unwrap().is_some());

    // A burst that outlasts the attempts is a retryable transient failure.
    env.handle.set_faults(FaultConfig {
        server_error_every: Some(1),
        server_error_status: 502,
        ..FaultConfig::default()
    });
    let error = env.api.get_metadata("/a.jpg").await.unwrap_err();
    assert!(
        matches!(&error, BackendError::Transient { detail } if detail.contains("502")),
        "{error:?}"
    );
    assert!(error.is_retryable());
}

/// A download with `fault` on every call: returns how it ended and what it read.
async fn faulty_download(fault: FaultConfig) -> (Vec<u8>, io::Result<()>, FileMetadata, Vec<u8>) {
    let env = env().await;
    let content = noise(3 * 1024 * 1024 + 5, 7);
    upload(&env.api, "/In/photo.raw", &content).await;
    env.handle.set_faults(fault);
    let Download { metadata, body } = env.api.download("/In/photo.raw").await.unwrap();
    let (bytes, end) = read_through(body).await;
    // The file itself is untouched, and a clean download afterwards is whole.
    env.handle.set_faults(FaultConfig::default());
    let (_, again) = download_all(&env.api, "/In/photo.raw").await;
    assert!(again == content);
    (bytes, end, metadata, content)
}

#[tokio::test]
async fn a_connection_dropped_mid_download_never_reads_to_a_clean_end() {
    let (bytes, end, metadata, content) = faulty_download(FaultConfig {
        drop_download_every: Some(1),
        ..FaultConfig::default()
    })
    .await;
    assert_eq!(metadata.size, content.len() as u64);
    assert!(bytes.len() < content.len(), "only part arrived");
    assert!(content.starts_with(&bytes), "what arrived is a prefix");
    let error = end.expect_err("a cut-off download must end in an error, not EOF");
    assert!(
        matches!(
            error.kind(),
            io::ErrorKind::InvalidData | io::ErrorKind::Other
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_truncated_download_fails_its_final_read_with_invalid_data() {
    let (bytes, end, _, content) = faulty_download(FaultConfig {
        truncate_download_every: Some(1),
        ..FaultConfig::default()
    })
    .await;
    assert_eq!(bytes.len(), content.len() / 2);
    let error = end.expect_err("a short body must end in an error, not EOF");
    assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    assert!(error.to_string().contains("of 3145733 bytes"), "{error}");
}

#[tokio::test]
async fn a_wrong_content_hash_fails_the_final_read() {
    let (bytes, end, metadata, content) = faulty_download(FaultConfig {
        wrong_content_hash_every: Some(1),
        ..FaultConfig::default()
    })
    .await;
    assert!(bytes == content, "every byte arrived…");
    assert_ne!(metadata.content_hash, Some(content_hash(&content)));
    let error = end.expect_err("…but they do not match the announced hash");
    assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    assert!(
        error.to_string().contains("content hash mismatch"),
        "{error}"
    );
}

#[tokio::test]
async fn a_broken_download_copied_into_a_file_is_an_error_too() {
    let env = env().await;
    let content = noise(2 * 1024 * 1024, 3);
    upload(&env.api, "/a.raw", &content).await;
    for fault in [
        FaultConfig {
            drop_download_every: Some(1),
            ..FaultConfig::default()
        },
        FaultConfig {
            truncate_download_every: Some(1),
            ..FaultConfig::default()
        },
        FaultConfig {
            wrong_content_hash_every: Some(1),
            ..FaultConfig::default()
        },
    ] {
        env.handle.set_faults(fault.clone());
        let mut download = env.api.download("/a.raw").await.unwrap();
        let target = tempfile::NamedTempFile::new().unwrap();
        let mut file = tokio::fs::File::create(target.path()).await.unwrap();
        let copied = tokio::io::copy(&mut download.body, &mut file).await;
        assert!(
            copied.is_err(),
            "{fault:?} copied as if complete: {copied:?}"
        );
    }
}

#[tokio::test]
async fn a_file_saved_again_mid_download_keeps_its_new_revision() {
    let env = env().await;
    let content = noise(1024 * 1024, 11);
    let listed = upload(&env.api, "/In/edit.psd", &content).await;
    env.handle.set_faults(FaultConfig {
        change_during_download_every: Some(1),
        ..FaultConfig::default()
    });
    let (served, bytes) = download_all(&env.api, "/In/edit.psd").await;
    env.handle.set_faults(FaultConfig::default());
    assert_eq!(
        served.rev, listed.rev,
        "the download is of the revision it started with"
    );
    assert!(bytes == content);
    let now = file_of(env.api.get_metadata("/In/edit.psd").await.unwrap());
    assert_ne!(
        now.rev, served.rev,
        "the owner saved a new revision meanwhile"
    );

    let results = env
        .api
        .delete_batch(vec![DeleteArg {
            path: "/In/edit.psd".into(),
            parent_rev: Some(served.rev.clone()),
        }])
        .await
        .unwrap();
    assert!(
        matches!(&results[0], Err(BackendError::Conflict { .. })),
        "{:?}",
        results[0]
    );
    let still = file_of(env.api.get_metadata("/In/edit.psd").await.unwrap());
    assert_eq!(still.rev, now.rev, "the newer revision was not deleted");
}

#[tokio::test]
async fn an_expired_token_is_refreshed_at_the_emulator_and_the_call_succeeds() {
    let env = env().await;
    let api = client(&env.base, refreshable_source(&env.base), fast_retry());
    assert_eq!(api.current_account().await.unwrap().account_id, ACME);

    env.handle.expire_tokens(Some(ACME));
    let account = api.current_account().await.unwrap();
    assert_eq!(account.account_id, ACME);
    let first_refresh = api.tokens().snapshot().await.access_token;
    assert_ne!(
        first_refresh.expose(),
        ACME_TOKEN,
        "a fresh token was fetched"
    );

    // It happens again hours later: refreshed again, mid-download too.
    upload(&api, "/a.jpg", b"after refresh").await;
    env.handle.expire_tokens(Some(ACME));
    let (_, bytes) = download_all(&api, "/a.jpg").await;
    assert_eq!(bytes, b"after refresh");
    assert_ne!(api.tokens().snapshot().await.access_token, first_refresh);

    // A fixed token cannot be refreshed: the link needs authorizing again.
    env.handle.expire_tokens(Some(ACME));
    let fixed = client(&env.base, TokenSource::fixed(ACME_TOKEN), fast_retry());
    let error = fixed.current_account().await.unwrap_err();
    assert!(
        matches!(error, BackendError::NeedsReauth { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn short_lived_tokens_are_refreshed_before_they_expire() {
    // Dropbox's tokens live four hours; these live 60 s, inside the 5-minute early window.
    let env = env_with(|config| config.token_ttl_secs = 60).await;
    let api = client(&env.base, refreshable_source(&env.base), fast_retry());
    env.handle.expire_tokens(Some(ACME));
    assert!(api.current_account().await.is_ok());
    let issued = api.tokens().snapshot().await;
    assert!(issued.access_token.expose().starts_with("sl.emu-"));
    // The next call refreshes early (the token expires within the window) and still works.
    assert!(api.get_metadata("/nothing").await.unwrap().is_none());
    assert_ne!(
        api.tokens().snapshot().await.access_token,
        issued.access_token
    );
}

#[tokio::test]
async fn write_contention_on_single_writes_is_retried_transparently() {
    let env = env().await;
    env.handle.set_faults(FaultConfig {
        write_contention_every: Some(2),
        ..FaultConfig::default()
    });
    // Writes 2, 4, 6… meet a 409 too_many_write_operations; each is retried after a wait.
    for i in 0..4 {
        upload(&env.api, &format!("/w/{i}.jpg"), format!("{i}").as_bytes()).await;
    }
    env.api.ensure_folder("/w/sub").await.unwrap();
    env.handle.set_faults(FaultConfig::default());
    let (entries, _, _) = list_all(&env.api, "/w").await;
    assert_eq!(entries.len(), 6, "one folder, four files, one subfolder");
}

#[tokio::test]
async fn write_contention_on_delete_batch_deletes_nothing_and_the_retry_succeeds() {
    let env = env().await;
    let a = upload(&env.api, "/d/a.jpg", b"a").await;
    let b = upload(&env.api, "/d/b.jpg", b"b").await;
    let entries = vec![
        DeleteArg {
            path: "/d/a.jpg".into(),
            parent_rev: Some(a.rev.clone()),
        },
        DeleteArg {
            path: "/d/b.jpg".into(),
            parent_rev: Some(b.rev.clone()),
        },
    ];
    env.handle.set_faults(FaultConfig {
        write_contention_every: Some(1),
        ..FaultConfig::default()
    });
    // Every entry reports too_many_write_operations: retryable, the account holds, nothing gone.
    let results = env.api.delete_batch(entries.clone()).await.unwrap();
    assert_eq!(results.len(), 2);
    for result in &results {
        assert!(
            matches!(result, Err(error @ BackendError::RateLimited { .. }) if error.is_retryable()),
            "{result:?}"
        );
    }
    assert!(env.api.pacer().rate_limit_remaining().is_some());
    assert!(env.api.get_metadata("/d/a.jpg").await.unwrap().is_some());
    assert!(env.api.get_metadata("/d/b.jpg").await.unwrap().is_some());

    // The contention passes; the retried batch deletes both.
    env.handle.set_faults(FaultConfig::default());
    let results = env.api.delete_batch(entries).await.unwrap();
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(env.api.get_metadata("/d/a.jpg").await.unwrap(), None);
    assert_eq!(env.api.get_metadata("/d/b.jpg").await.unwrap(), None);
}

#[tokio::test]
async fn a_429_too_many_write_operations_on_delete_batch_is_retried_in_the_call() {
    let env = env().await;
    let a = upload(&env.api, "/d/a.jpg", b"a").await;
    env.handle.set_faults(FaultConfig {
        rate_limit_every: Some(2),
        rate_limit_write_operations: true,
        rate_limit_retry_after_secs: 0,
        ..FaultConfig::default()
    });
    assert!(env.api.get_metadata("/d/a.jpg").await.unwrap().is_some()); // call 1 passes
    let results = env
        .api
        .delete_batch(vec![DeleteArg {
            path: "/d/a.jpg".into(),
            parent_rev: Some(a.rev),
        }])
        .await
        .unwrap();
    assert!(results[0].is_ok(), "{:?}", results[0]);
    env.handle.set_faults(FaultConfig::default());
    assert_eq!(env.api.get_metadata("/d/a.jpg").await.unwrap(), None);
}

#[tokio::test]
async fn latency_slows_calls_and_a_silent_server_times_out_as_transient() {
    let env = env().await;
    upload(&env.api, "/a.jpg", b"a").await;
    env.handle.set_faults(FaultConfig {
        latency_ms: 150,
        ..FaultConfig::default()
    });
    let started = Instant::now();
    assert!(env.api.get_metadata("/a.jpg").await.unwrap().is_some());
    let (_, bytes) = download_all(&env.api, "/a.jpg").await;
    assert_eq!(bytes, b"a");
    assert!(started.elapsed() >= Duration::from_millis(300));

    // Longer than the client's read timeout: each attempt times out; the call fails retryably.
    let impatient = ApiClient::new(
        ClientConfig {
            retry: fast_retry(),
            read_timeout: Duration::from_millis(50),
            ..ClientConfig::with_endpoints(Endpoints::single(&env.base))
        },
        Arc::new(TokenSource::fixed(ACME_TOKEN)),
        Arc::new(Pacer::new(Duration::from_millis(1))),
    )
    .unwrap();
    let error = impatient.get_metadata("/a.jpg").await.unwrap_err();
    assert!(matches!(error, BackendError::Transient { .. }), "{error:?}");
}

/// Everything at once, the way an import pass uses the client: list, download every file and
/// verify it, delete exactly the revisions downloaded. Every download attempt that ends cleanly
/// must be the whole, correct file.
#[tokio::test]
async fn an_import_cycle_under_every_fault_at_once_loses_and_corrupts_nothing() {
    let env = env().await;
    let mut originals = Vec::new();
    for i in 0..8 {
        let content = noise(300 * 1024 + i * 1000, i as u64 + 100);
        let path = format!("/Acme/In/photo{i}.raw");
        upload(&env.api, &path, &content).await;
        originals.push((path.to_lowercase(), content));
    }
    env.handle.set_faults(FaultConfig {
        latency_ms: 2,
        rate_limit_every: Some(7),
        rate_limit_retry_after_secs: 0,
        server_error_every: Some(5),
        write_contention_every: Some(2),
        drop_download_every: Some(3),
        truncate_download_every: Some(4),
        wrong_content_hash_every: Some(5),
        ..FaultConfig::default()
    });
    let (entries, _, _) = list_all(&env.api, "/acme").await;
    let files: Vec<FileMetadata> = entries
        .into_iter()
        .filter_map(|entry| match entry {
            Metadata::File(file) => Some(file),
            _ => None,
        })
        .collect();
    assert_eq!(files.len(), originals.len());

    let mut broken_attempts = 0;
    let mut downloaded = Vec::new();
    for file in &files {
        let lower = file.path_lower.clone().unwrap();
        let expected = &originals.iter().find(|(path, _)| *path == lower).unwrap().1;
        let served = loop {
            let Download { metadata, body } = env.api.download(&lower).await.unwrap();
            let (bytes, end) = read_through(body).await;
            match end {
                Ok(()) => {
                    assert!(&bytes == expected, "{lower}: a clean end with wrong bytes");
                    break metadata;
                }
                Err(_) => broken_attempts += 1,
            }
        };
        downloaded.push(DeleteArg {
            path: lower,
            parent_rev: Some(served.rev),
        });
    }
    assert!(broken_attempts >= 3, "the download faults did strike");

    let mut pending = downloaded;
    for _round in 0..20 {
        if pending.is_empty() {
            break;
        }
        let results = env.api.delete_batch(pending.clone()).await.unwrap();
        pending = pending
            .into_iter()
            .zip(results)
            .filter_map(|(arg, result)| match result {
                Ok(_) | Err(BackendError::NotFound { .. }) => None,
                Err(error) if error.is_retryable() => Some(arg),
                Err(error) => panic!("{}: {error}", arg.path),
            })
            .collect();
    }
    assert!(pending.is_empty(), "not deleted: {pending:?}");
    env.handle.set_faults(FaultConfig::default());
    let (left, _, _) = list_all(&env.api, "/acme").await;
    assert!(
        left.iter().all(|entry| !matches!(entry, Metadata::File(_))),
        "{left:?}"
    );
}

// ----- hostile names ---------------------------------------------------------------------------

/// Names an admin's users may well produce. The emulator keeps names byte for byte (no Unicode
/// normalisation) and refuses only NUL, `/`, `.`/`..` and components over 255 bytes.
fn hostile_names() -> Vec<String> {
    let long_ascii = "x".repeat(255);
    let long_two_byte = format!("{}x", "\u{e9}".repeat(127)); // 254 + 1 bytes
    let long_emoji = format!("{}abc", "\u{1F600}".repeat(63)); // 252 + 3 bytes
    for name in [&long_ascii, &long_two_byte, &long_emoji] {
        assert_eq!(name.len(), 255);
    }
    vec![
        "ctrl\u{1}\u{7}\u{8}\u{1f}.jpg".into(),
        "tab\there\nnewline\rcr.jpg".into(),
        "del\u{7f}.jpg".into(),
        "ansi \u{1b}[31mred\u{1b}[0m.jpg".into(),
        "bidi \u{202e}gpj.exe".into(),
        "caf\u{e9}.jpg".into(),   // NFC
        "cafe\u{301}.jpg".into(), // NFD: a different name
        "smile \u{1F600}\u{1F469}\u{200D}\u{1F4BB}.jpg".into(),
        " leading space.jpg".into(),
        "trailing space.jpg ".into(),
        "  ".into(),
        "quote\"back\\slash'.jpg".into(),
        "日本語の写真.jpg".into(),
        "percent%20and+plus&amp;.jpg".into(),
        "zero\u{200b}width\u{feff}.jpg".into(),
        long_ascii,
        long_two_byte,
        long_emoji,
    ]
}

#[tokio::test]
async fn hostile_names_round_trip_through_our_client_unmangled() {
    let env = env().await;
    let names = hostile_names();
    let folder = "/Hostile \u{1b}[1m\u{202e}";
    let mut uploaded = Vec::new();
    for (index, name) in names.iter().enumerate() {
        let path = format!("{folder}/{name}");
        let content = format!("content #{index} of {name:?}").into_bytes();
        let metadata = upload(&env.api, &path, &content).await;
        assert_eq!(&metadata.name, name, "upload answer");
        assert_eq!(metadata.path_display.as_deref(), Some(path.as_str()));
        uploaded.push((name.clone(), path, content, metadata));
    }

    // Listed under exactly the names uploaded, NFC and NFD as two files.
    let (entries, cursor, _) = list_all(&env.api, "").await;
    let listed: HashSet<&str> = entries
        .iter()
        .filter(|entry| matches!(entry, Metadata::File(_)))
        .filter_map(Metadata::name)
        .collect();
    let expected: HashSet<&str> = names.iter().map(String::as_str).collect();
    assert_eq!(listed, expected);
    assert!(entries.iter().any(
        |entry| matches!(entry, Metadata::Folder(f) if f.path_display.as_deref() == Some(folder))
    ));

    for (name, path, content, metadata) in &uploaded {
        let (served, bytes) = download_all(&env.api, path).await;
        assert_eq!(&served.name, name, "download metadata of {name:?}");
        assert_eq!(served.rev, metadata.rev);
        assert_eq!(&bytes, content, "{name:?}");
        let (_, bytes) = download_all(&env.api, metadata.path_lower.as_deref().unwrap()).await;
        assert_eq!(&bytes, content, "by path_lower: {name:?}");
        let found = file_of(env.api.get_metadata(path).await.unwrap());
        assert_eq!(&found.name, name);
    }

    // Delete exactly the NFD one and the long ones: the NFC twin stays.
    let doomed: Vec<&(String, String, Vec<u8>, FileMetadata)> = uploaded
        .iter()
        .filter(|(name, ..)| {
            name.contains('\u{301}') || name.len() == 255 || name.contains('\u{1b}')
        })
        .collect();
    let results = env
        .api
        .delete_batch(
            doomed
                .iter()
                .map(|(_, path, _, metadata)| DeleteArg {
                    path: path.clone(),
                    parent_rev: Some(metadata.rev.clone()),
                })
                .collect(),
        )
        .await
        .unwrap();
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    for (name, path, ..) in &uploaded {
        let gone = doomed.iter().any(|(doomed_name, ..)| doomed_name == name);
        let present = env.api.get_metadata(path).await.unwrap().is_some();
        assert_eq!(present, !gone, "{name:?}");
    }
    let delta = env.api.list_folder_continue(&cursor).await.unwrap();
    let mut deleted: Vec<&str> = delta
        .entries
        .iter()
        .filter(|entry| matches!(entry, Metadata::Deleted(_)))
        .filter_map(Metadata::name)
        .collect();
    let mut doomed_names: Vec<&str> = doomed.iter().map(|(name, ..)| name.as_str()).collect();
    deleted.sort_unstable();
    doomed_names.sort_unstable();
    assert_eq!(deleted, doomed_names, "the deltas name them exactly");
}

#[tokio::test]
async fn names_the_emulator_refuses_are_refused_not_mangled() {
    let env = env().await;
    let too_long = format!("/{}", "x".repeat(256));
    let long_multibyte = format!("/{}", "\u{e9}".repeat(128)); // 256 bytes, 128 chars
    for path in [
        too_long.as_str(),
        long_multibyte.as_str(),
        "/a\0b.jpg",
        "/dot/../x.jpg",
    ] {
        let error = env
            .api
            .upload(path, b"x".to_vec(), WriteMode::Add, false)
            .await
            .unwrap_err();
        assert!(
            matches!(&error, BackendError::Refused { status: 409, summary } if summary.contains("malformed_path")),
            "{path:?}: {error:?}"
        );
    }
    let (entries, _, _) = list_all(&env.api, "").await;
    assert!(entries.is_empty(), "nothing was written: {entries:?}");
}

#[tokio::test]
async fn hostile_names_dropped_on_disk_are_listed_and_downloaded_as_they_are() {
    let env = env().await;
    let dir = env.handle.account_dir(ACME).unwrap();
    let names = hostile_names();
    for (index, name) in names.iter().enumerate() {
        std::fs::write(dir.join(name), format!("disk {index}")).unwrap();
    }
    let (entries, _, _) = list_all(&env.api, "").await;
    let listed: HashSet<&str> = entries.iter().filter_map(Metadata::name).collect();
    let expected: HashSet<&str> = names.iter().map(String::as_str).collect();
    assert_eq!(listed, expected);
    for (index, name) in names.iter().enumerate() {
        let (served, bytes) = download_all(&env.api, &format!("/{name}")).await;
        assert_eq!(&served.name, name);
        assert_eq!(bytes, format!("disk {index}").as_bytes());
    }
}

/// Dropbox never stores desktop junk: uploading it is refused outright, never
/// accepted and then silently missing from listings.
#[tokio::test]
async fn desktop_junk_names_are_refused_as_disallowed() {
    let env = env().await;
    upload(&env.api, "/In/keep.jpg", b"keep").await;
    for path in [
        "/In/Thumbs.db",
        "/In/desktop.ini",
        "/In/.DS_Store",
        "/.dropbox/x.jpg",
    ] {
        let error = env
            .api
            .upload(path, b"junk".to_vec(), WriteMode::Add, false)
            .await
            .unwrap_err();
        assert!(
            matches!(&error, BackendError::Refused { status: 409, summary } if summary.contains("disallowed_name")),
            "{path:?}: {error:?}"
        );
    }
    let error = env.api.ensure_folder("/In/.dropbox").await.unwrap_err();
    assert!(
        matches!(&error, BackendError::Refused { status: 409, summary } if summary.contains("disallowed_name")),
        "{error:?}"
    );
    let (entries, _, _) = list_all(&env.api, "").await;
    let names: Vec<&str> = entries.iter().filter_map(Metadata::name).collect();
    assert_eq!(names, ["In", "keep.jpg"]);
}

#[tokio::test]
async fn delete_batch_of_more_than_1000_entries_goes_in_chunks_in_order() {
    let env = env().await;
    let dir = env.handle.account_dir(ACME).unwrap();
    std::fs::create_dir_all(dir.join("many")).unwrap();
    const FILES: usize = 1003;
    for i in 0..FILES {
        std::fs::write(dir.join(format!("many/{i:04}.jpg")), format!("{i}")).unwrap();
    }
    let (entries, _, _) = list_all(&env.api, "/many").await;
    let mut files: Vec<FileMetadata> = entries
        .into_iter()
        .filter_map(|entry| match entry {
            Metadata::File(file) => Some(file),
            _ => None,
        })
        .collect();
    files.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(files.len(), FILES);
    // The last entry names a stale revision: it alone must survive, and answer in its place.
    let mut args: Vec<DeleteArg> = files
        .iter()
        .map(|file| DeleteArg {
            path: file.path_lower.clone().unwrap(),
            parent_rev: Some(file.rev.clone()),
        })
        .collect();
    args[FILES - 1].parent_rev = Some(files[0].rev.clone());
    let results = env.api.delete_batch(args).await.unwrap();
    assert_eq!(results.len(), FILES);
    for (file, result) in files.iter().zip(&results).take(FILES - 1) {
        assert!(
            matches!(result, Ok(Metadata::File(deleted)) if deleted.name == file.name),
            "{result:?}"
        );
    }
    assert!(matches!(
        &results[FILES - 1],
        Err(BackendError::Conflict { .. })
    ));
    let (left, _, _) = list_all(&env.api, "/many").await;
    let names: Vec<&str> = left.iter().filter_map(Metadata::name).collect();
    assert_eq!(names, ["many", "1002.jpg"]);
}

#[tokio::test]
async fn parallel_downloads_all_wait_out_a_rate_limit_and_arrive_whole() {
    let env = env().await;
    let mut contents = Vec::new();
    for i in 0..4u64 {
        let content = noise(512 * 1024, i + 40);
        upload(&env.api, &format!("/p/{i}.raw"), &content).await;
        contents.push(content);
    }
    let api = Arc::new(env.api);
    env.handle.set_faults(FaultConfig {
        rate_limit_every: Some(3),
        rate_limit_retry_after_secs: 1,
        ..FaultConfig::default()
    });
    let started = Instant::now();
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            let api = Arc::clone(&api);
            tokio::spawn(async move { download_all(&api, &format!("/p/{i}.raw")).await.1 })
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        assert!(task.await.unwrap() == contents[i], "download {i}");
    }
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "a 429 with Retry-After: 1 was waited out"
    );
    // Each 429 the downloads met was retried a full second after it was answered (downloads
    // already in flight when it came are let through).
    let calls = env.handle.calls();
    let limits: Vec<_> = calls.iter().filter(|c| c.status == 429).collect();
    assert!(!limits.is_empty(), "no 429 was served");
    for limit in limits {
        let retry = calls
            .iter()
            .find(|c| c.call == limit.call && c.arrived > limit.answered)
            .expect("the rate-limited download was tried again");
        assert!(retry.arrived - limit.answered >= Duration::from_secs(1));
    }
}
