//! The fault matrix: one test per kind of trouble Dropbox (or the machine) can throw at an
//! import, each run through the real engine against the Dropbox API emulator. Every cell checks
//! the same thing at the end of every pass — nothing is gone from Dropbox whose bytes are not in
//! the library behind a row with a verified blob — and that, once the fault is gone, every file
//! is imported exactly once. RELIABILITY.md maps each cell (and the older client-level tests
//! that cover the same faults one call at a time).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use smartimage::dropbox::api::{Endpoints, RetryPolicy as ClientRetryPolicy};
use smartimage::dropbox::emulator::{
    AccountConfig, AuthCodeConfig, CallFault, Emulator, EmulatorConfig, EmulatorHandle,
    FaultConfig, ServedCall,
};
use smartimage::import::backends::BackendSettings;
use smartimage::import::engine::{EngineSettings, ImportEngine};
use smartimage::import::events::{EngineEvent, PassSummary};
use smartimage::import::linking::{finish_api_link, start_api_link};
use smartimage::import::report::REPORT_NAME_STEM;
use smartimage::import::retry_policy::RetryPolicy;
use smartimage::library::Library;
use smartimage::library::actions::AdminGrant;
use smartimage::library::blobs::BlobCheck;
use smartimage::library::ids::ItemId;
use smartimage::library::policy::PlanCatalog;
use smartimage::library::store::links::LinkState;

#[path = "support/api_link.rs"]
mod api_link;
#[path = "support/prerequisite.rs"]
mod prerequisite;
use api_link::link_through_emulator;

const OPERATOR: &str = "op@example.com";
const OWNER: &str = "owner@example.com";
const DBX: &str = "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc";
const APP_KEY: &str = "fault-app-key";
const ACCOUNT: &str = "Acme";

fn png(seed: u32, len: usize) -> Vec<u8> {
    let mut b =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    let mut x = seed.wrapping_mul(2_654_435_761) | 1;
    while b.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b.push(x as u8);
    }
    b
}

fn sha_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

struct Rig {
    _dir: tempfile::TempDir,
    data: PathBuf,
    base: String,
    handle: EmulatorHandle,
    /// Every version of every file ever put into Dropbox: relative path, contents, and whether
    /// the user has since replaced or removed it (then its fate is theirs, not ours).
    versions: Mutex<Vec<(String, Vec<u8>, bool)>>,
    /// The engine's retry policy for in-process passes.
    retry: Mutex<RetryPolicy>,
}

impl Rig {
    async fn start() -> Rig {
        Self::start_with(|_| {}).await
    }

    async fn start_with(adjust: impl FnOnce(&mut EmulatorConfig)) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let mut config = EmulatorConfig::new(dir.path().join("emulator"))
            .with_account(AccountConfig::new(DBX, OWNER, "Owner"));
        config.longpoll_time_scale = 0.001;
        adjust(&mut config);
        let (base, handle) = Emulator::start(config).await.unwrap();
        let data = dir.path().join("data");
        let mut lib = Library::open(&data, PlanCatalog::defaults()).unwrap();
        lib.init(OPERATOR, None, None).unwrap();
        let op = lib.actor(Some(OPERATOR), None).unwrap();
        lib.add_account(&op, ACCOUNT, "team").unwrap();
        lib.add_admin(
            &op,
            &AdminGrant {
                email: OWNER.into(),
                owner_of: vec![ACCOUNT.into()],
                ..AdminGrant::default()
            },
        )
        .unwrap();
        let owner = lib.actor(Some(OWNER), None).unwrap();
        let rig = Rig {
            _dir: dir,
            data,
            base,
            handle,
            versions: Mutex::new(Vec::new()),
            retry: Mutex::new(RetryPolicy::default()),
        };
        link_through_emulator(
            &mut lib,
            &owner,
            ACCOUNT,
            (&rig.base, &rig.handle),
            DBX,
            APP_KEY,
        )
        .await;
        rig
    }

    fn backend_settings(&self) -> BackendSettings {
        BackendSettings {
            endpoints: Endpoints::single(&self.base),
            app_key: Some(APP_KEY.into()),
            ..BackendSettings::default()
        }
    }

    fn library(&self) -> Library {
        Library::open(&self.data, PlanCatalog::defaults()).unwrap()
    }

    fn folder(&self) -> PathBuf {
        self.handle.account_dir(DBX).unwrap().join(ACCOUNT)
    }

    /// Put a file into Dropbox the way a client does: whole, then renamed into place.
    fn put(&self, rel: &str, bytes: &[u8]) {
        let path = self.folder().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let tmp = path.with_extension("partial~");
        std::fs::write(&tmp, bytes).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        let mut versions = self.versions.lock().unwrap();
        for v in versions.iter_mut().filter(|v| v.0 == rel) {
            v.2 = true;
        }
        versions.push((rel.to_owned(), bytes.to_vec(), false));
    }

    /// The user deletes a file from Dropbox.
    fn remove(&self, rel: &str) {
        std::fs::remove_file(self.folder().join(rel)).unwrap();
        let mut versions = self.versions.lock().unwrap();
        for v in versions.iter_mut().filter(|v| v.0 == rel) {
            v.2 = true;
        }
    }

    fn put_batch(&self, count: u32, len: usize) {
        for i in 0..count {
            self.put(
                &format!("in/f{i:02}.png"),
                &png(i + 1, len + i as usize * 97),
            );
        }
    }

    fn in_dropbox(&self, rel: &str) -> Option<Vec<u8>> {
        std::fs::read(self.folder().join(rel)).ok()
    }

    fn engine_settings(&self) -> EngineSettings {
        EngineSettings {
            workers: 2,
            backends: self.backend_settings(),
            retry: *self.retry.lock().unwrap(),
            ..EngineSettings::default()
        }
    }

    fn set_retry(&self, policy: RetryPolicy) {
        *self.retry.lock().unwrap() = policy;
    }

    /// The journal's state, next try and transient tries of every waiting or failed item.
    fn waiting(&self) -> Vec<(String, String, Option<i64>, u32)> {
        let lib = self.library();
        let mut stmt = lib
            .store()
            .connection()
            .prepare(
                "SELECT path, state, next_attempt_at, transient_tries FROM import_items
                 WHERE state IN ('failed', 'retrying', 'queued_for_retry') ORDER BY path",
            )
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// Waits until every retrying item's next try is due.
    async fn wait_until_due(&self) {
        let latest = self.waiting().iter().filter_map(|w| w.2).max().unwrap_or(0);
        loop {
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            if now >= latest {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// One engine pass; `during` sees each event as it happens (to strike mid-pass).
    async fn pass_with(
        &self,
        mut during: impl FnMut(&EngineEvent) + Send + 'static,
    ) -> (PassSummary, Vec<EngineEvent>, Vec<(String, String)>) {
        self.handle.rescan().unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let (engine, _) = ImportEngine::start(self.library(), self.engine_settings(), tx).unwrap();
        let watcher = tokio::spawn(async move {
            let mut seen = Vec::new();
            while let Some(event) = rx.recv().await {
                during(&event);
                seen.push(event);
            }
            seen
        });
        let (summary, problems) = engine.run_once(None).await.unwrap();
        drop(engine);
        let events = watcher.await.unwrap();
        self.check_nothing_lost();
        (summary, events, problems)
    }

    async fn pass(&self) -> (PassSummary, Vec<EngineEvent>, Vec<(String, String)>) {
        self.pass_with(|_| {}).await
    }

    fn rows(&self) -> Vec<(String, String)> {
        let lib = self.library();
        let mut stmt = lib
            .store()
            .connection()
            .prepare("SELECT dropbox_path, sha256 FROM files")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// Every version ever put into Dropbox is still there, or its bytes are in the library
    /// under its path with a blob that verifies. Every row's blob verifies.
    fn check_nothing_lost(&self) {
        let lib = self.library();
        let rows = self.rows();
        for (path, sha) in &rows {
            assert!(
                matches!(lib.blobs().verify(sha).unwrap(), BlobCheck::Ok { .. }),
                "{path}: row without an intact blob"
            );
        }
        let mut latest: HashMap<String, Vec<u8>> = HashMap::new();
        for (rel, bytes, superseded) in self.versions.lock().unwrap().iter() {
            if *superseded {
                continue;
            }
            latest.insert(rel.clone(), bytes.clone());
            let still_there = self.in_dropbox(rel).as_deref() == Some(&bytes[..]);
            let imported = rows
                .iter()
                .any(|(path, sha)| *path == format!("/{ACCOUNT}/{rel}") && *sha == sha_hex(bytes));
            assert!(
                still_there || imported,
                "{rel} (sha256 {}) is neither in Dropbox nor in the library: LOST",
                sha_hex(bytes)
            );
        }
        for (rel, bytes) in latest {
            if let Some(now) = self.in_dropbox(&rel) {
                assert_eq!(now, bytes, "{rel} altered in Dropbox");
            }
        }
        self.reports();
    }

    /// Our reports in the account folder (never more than one: the current report).
    fn reports(&self) -> Vec<String> {
        let reports: Vec<String> = std::fs::read_dir(self.folder())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with(REPORT_NAME_STEM))
            .collect();
        assert!(
            reports.len() <= 1,
            "one report per folder at most: {reports:?}"
        );
        reports
    }

    /// After the fault: the latest version of every file is in the library exactly once and
    /// gone from Dropbox; nothing fails, so there is no report (one written while files failed
    /// is gone); no leftover.
    fn assert_all_imported_once(&self) {
        assert!(
            self.reports().is_empty(),
            "nothing fails, yet a report stays: {:?}",
            self.reports()
        );
        let rows = self.rows();
        let mut latest: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        for (rel, bytes, superseded) in self.versions.lock().unwrap().iter() {
            if !superseded {
                latest.insert(rel.clone(), bytes.clone());
            }
        }
        for (rel, bytes) in &latest {
            let path = format!("/{ACCOUNT}/{rel}");
            let sha = sha_hex(bytes);
            let copies = rows.iter().filter(|r| r.0 == path && r.1 == sha).count();
            assert_eq!(copies, 1, "{rel} must be in the library exactly once");
            assert!(self.in_dropbox(rel).is_none(), "{rel} still in Dropbox");
        }
    }

    fn link_state(&self) -> String {
        self.library()
            .store()
            .connection()
            .query_row("SELECT state FROM links", [], |r| r.get(0))
            .unwrap()
    }
}

fn failures(events: &[EngineEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            EngineEvent::Failed { item, detail, .. } => Some(format!("{}: {detail}", item.path)),
            _ => None,
        })
        .collect()
}

/// Files whose try failed for a reason that may pass (not told to the customer).
fn retries(events: &[EngineEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            EngineEvent::Retrying { item, detail, .. } => Some(format!("{}: {detail}", item.path)),
            _ => None,
        })
        .collect()
}

/// A retry policy short enough for a test: the default number of tries, over a few seconds.
fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        min_spread: Duration::from_secs(3),
        ..RetryPolicy::default()
    }
}

// ----- what the emulator served -----------------------------------------------------------------
//
// A fault cell proves something only if its fault fired and the client answered it as specified.
// These read the emulator's own log (when each call arrived, when it was answered, what it was
// sent) rather than timing the client from outside.

/// Every call the emulator answered with `fault` in `calls` (at least one: a fault that never
/// fired tests nothing) — each also counted in the emulator's tally.
fn served_with(calls: &[ServedCall], fault: CallFault, tallied: u64) -> Vec<&ServedCall> {
    let served: Vec<&ServedCall> = calls.iter().filter(|c| c.fault == fault).collect();
    assert!(
        !served.is_empty(),
        "no call was answered with {fault:?}: the fault never fired ({} calls)",
        calls.len()
    );
    assert_eq!(served.len() as u64, tallied, "log and tally disagree");
    served
}

/// The first later attempt of the same call (same route and argument) as `answer`.
fn retry_of<'a>(calls: &'a [ServedCall], answer: &ServedCall) -> Option<&'a ServedCall> {
    calls
        .iter()
        .find(|c| c.call == answer.call && c.arrived > answer.arrived)
}

/// Every 429 in `calls` was retried, and its retry reached the emulator no sooner than `wait`
/// after the 429 was answered. Returns how many 429s were served.
fn assert_each_429_waited_out(
    calls: &[ServedCall],
    tallied: u64,
    wait: impl Fn(&ServedCall) -> Duration,
) -> usize {
    let limits = served_with(calls, CallFault::RateLimited, tallied);
    for limit in &limits {
        assert_eq!(limit.status, 429, "{limit:?}");
        let retry = retry_of(calls, limit)
            .unwrap_or_else(|| panic!("{} was never tried again after its 429", limit.path));
        let waited = retry.arrived.duration_since(limit.answered);
        assert!(
            waited >= wait(limit),
            "{} came back {waited:?} after its 429, before the {:?} it had to wait",
            limit.path,
            wait(limit)
        );
    }
    limits.len()
}

// ----- rate limits ------------------------------------------------------------------------------

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out_and_everything_is_imported_once() {
    let rig = Rig::start().await;
    rig.put_batch(6, 3_000);
    rig.handle.set_faults(FaultConfig {
        rate_limit_every: Some(3),
        rate_limit_retry_after_secs: 1,
        ..FaultConfig::default()
    });
    let before = rig.handle.calls().len();
    let (summary, events, problems) = rig.pass().await;
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(summary.imported, 6, "{summary:?} {:?}", failures(&events));
    let limits = assert_each_429_waited_out(
        &rig.handle.calls()[before..],
        rig.handle.faults_served().rate_limits,
        |limit| {
            assert_eq!(
                limit.retry_after,
                Some(1),
                "the 429 said how long: {limit:?}"
            );
            Duration::from_secs(1)
        },
    );
    eprintln!("{limits} 429s with Retry-After: 1, each waited out");
    rig.assert_all_imported_once();
}

#[tokio::test]
async fn a_429_without_retry_after_backs_off_on_its_own_and_everything_is_imported_once() {
    let rig = Rig::start().await;
    rig.put_batch(3, 3_000);
    // A plain-text 429 without the header: nothing says how long to wait.
    rig.handle.set_faults(FaultConfig {
        rate_limit_every: Some(4),
        rate_limit_plain_text: true,
        rate_limit_without_retry_after: true,
        ..FaultConfig::default()
    });
    let before = rig.handle.calls().len();
    let (summary, events, problems) = rig.pass().await;
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(summary.imported, 3, "{summary:?} {:?}", failures(&events));
    // The client's own fallback: the first wait of a call, doubling on repeats.
    let fallback = ClientRetryPolicy::default().rate_limit_fallback_wait(1);
    let limits = assert_each_429_waited_out(
        &rig.handle.calls()[before..],
        rig.handle.faults_served().rate_limits,
        |limit| {
            assert_eq!(limit.retry_after, None, "the 429 named no wait: {limit:?}");
            fallback
        },
    );
    eprintln!("{limits} 429s without Retry-After, each followed by a wait of {fallback:?} or more");
    rig.assert_all_imported_once();
}

// ----- server errors ----------------------------------------------------------------------------

/// 5xx answers a burst serves before Dropbox recovers.
const BURST_ERRORS: u64 = 3;

/// Every call fails with `status` for a burst of `BURST_ERRORS` answers, then Dropbox recovers.
async fn server_error_burst(status: u16) {
    let rig = Arc::new(Rig::start().await);
    rig.put_batch(6, 5_000);
    rig.handle.set_faults(FaultConfig {
        server_error_every: Some(1),
        server_error_status: status,
        ..FaultConfig::default()
    });
    // Dropbox recovers once the burst has answered a few calls (counted, not timed: a slow
    // machine must not make the burst outlast every retry).
    let healer = {
        let rig = rig.clone();
        tokio::spawn(async move {
            while rig.handle.faults_served().server_errors < BURST_ERRORS {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            rig.handle.set_faults(FaultConfig::default());
        })
    };
    let before = rig.handle.calls().len();
    let (first, events, _) = rig.pass().await;
    healer.await.unwrap();
    // However the burst fell, nothing was lost (checked by `pass`); a failed file is retried
    // by an admin, a file the burst kept from being listed comes next pass.
    assert!(
        failures(&events).is_empty(),
        "a 5xx burst is no reason to fail a file: {:?}",
        failures(&events)
    );
    // The burst was served and ridden out: each call it hit was tried again (backing off, at
    // most the policy's attempts in all) and at least one got through once Dropbox recovered.
    let calls = rig.handle.calls()[before..].to_vec();
    let errors = served_with(
        &calls,
        CallFault::ServerError,
        rig.handle.faults_served().server_errors,
    );
    let attempts = ClientRetryPolicy::default().transient_attempts as usize;
    let mut recovered = 0;
    for error in &errors {
        assert_eq!(error.status, status, "{error:?}");
        let tries = calls.iter().filter(|c| c.call == error.call).count();
        assert!(
            tries <= attempts,
            "{} tried {tries} times, more than the {attempts} attempts allowed",
            error.path
        );
        match retry_of(&calls, error) {
            Some(retry) if retry.status < 300 => recovered += 1,
            Some(_) => {}
            // Given up only after every attempt failed.
            None => assert_eq!(
                calls
                    .iter()
                    .filter(|c| c.call == error.call && c.status == status)
                    .count(),
                attempts,
                "{} was dropped after a {status} without using its attempts",
                error.path
            ),
        }
    }
    assert!(
        recovered > 0,
        "no call hit by the burst was retried successfully: {errors:#?}"
    );
    eprintln!(
        "{} {status}s served, {recovered} calls retried through the burst",
        errors.len()
    );
    let (second, _, problems) = rig.pass().await;
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(first.imported + second.imported, 6, "{first:?} {second:?}");
    rig.assert_all_imported_once();
}

#[tokio::test]
async fn a_burst_of_500s_is_ridden_out() {
    server_error_burst(500).await;
}

#[tokio::test]
async fn a_burst_of_503s_is_ridden_out() {
    server_error_burst(503).await;
}

// ----- broken downloads -------------------------------------------------------------------------

async fn spoiled_downloads(fault: FaultConfig) {
    let rig = Rig::start().await;
    rig.set_retry(quick_retries());
    rig.put_batch(6, 200_000);
    rig.handle.set_faults(fault.clone());
    let (summary, events, problems) = rig.pass().await;
    assert!(problems.is_empty(), "{problems:?}");
    // The spoiled downloads were served (with fewer downloads than the schedule's period the
    // cell would test nothing).
    let served = rig.handle.faults_served();
    for (scheduled, count, what) in [
        (
            fault.drop_download_every,
            served.dropped_downloads,
            "dropped",
        ),
        (
            fault.truncate_download_every,
            served.truncated_downloads,
            "truncated",
        ),
        (
            fault.wrong_content_hash_every,
            served.wrong_content_hashes,
            "wrong-hash",
        ),
    ] {
        if scheduled.is_some() {
            assert!(count > 0, "no {what} download was served: {served:?}");
        }
    }
    // Retried downloads mostly succeed; a file unlucky three times in a row waits in Dropbox
    // (checked by `pass`) for its next try, and the customer is not told.
    assert_eq!(summary.imported + summary.retrying, 6, "{summary:?}");
    assert!(summary.imported >= 3, "{summary:?} {:?}", retries(&events));
    assert!(failures(&events).is_empty(), "{:?}", failures(&events));
    assert!(rig.reports().is_empty(), "{:?}", rig.reports());
    for retry in retries(&events) {
        assert!(retry.contains("could not be downloaded"), "{retry}");
    }
    // With Dropbox well again they are tried again when due, no admin needed.
    rig.handle.set_faults(FaultConfig::default());
    rig.wait_until_due().await;
    let (again, _, _) = rig.pass().await;
    assert_eq!(again.imported, summary.retrying, "{again:?}");
    assert!(rig.reports().is_empty(), "{:?}", rig.reports());
    rig.assert_all_imported_once();
    // Nothing half-downloaded was kept: every row's blob verified in `pass`, and the blob store
    // holds exactly one blob per row.
    let lib = rig.library();
    let on_disk = lib.blobs().inventory(|_| {}).unwrap();
    assert_eq!(on_disk.blobs, 6);
}

#[tokio::test]
async fn a_connection_dropped_mid_download_is_retried_and_nothing_partial_is_kept() {
    spoiled_downloads(FaultConfig {
        drop_download_every: Some(3),
        ..FaultConfig::default()
    })
    .await;
}

#[tokio::test]
async fn a_truncated_body_is_retried_and_never_committed() {
    spoiled_downloads(FaultConfig {
        truncate_download_every: Some(3),
        ..FaultConfig::default()
    })
    .await;
}

#[tokio::test]
async fn a_wrong_content_hash_is_retried_and_never_committed() {
    spoiled_downloads(FaultConfig {
        wrong_content_hash_every: Some(3),
        ..FaultConfig::default()
    })
    .await;
}

/// Dense faults: every download of two files is cut short. Each pass is one try (three
/// downloads a few seconds apart); the files wait in Dropbox between tries, are not tried before
/// their time, and reach the customer's report only once `transient_attempts` tries have failed
/// over at least the minimum spread (shortened here from 30 minutes to 4 seconds).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dense_transient_faults_reach_the_customer_only_after_every_try_over_the_minimum_spread() {
    const TRIES: u32 = 3;
    const SPREAD: Duration = Duration::from_secs(4);
    let rig = Rig::start().await;
    rig.set_retry(RetryPolicy {
        transient_attempts: TRIES,
        min_spread: SPREAD,
    });
    rig.put("in/a.png", &png(1, 50_135));
    rig.put("in/b.png", &png(2, 40_000));
    rig.handle.set_faults(FaultConfig {
        truncate_download_every: Some(1),
        ..FaultConfig::default()
    });
    let first_failure = Instant::now();
    let (first, events, problems) = rig.pass().await;
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!((first.failed, first.retrying), (0, 2), "{first:?}");
    assert!(failures(&events).is_empty(), "{:?}", failures(&events));
    assert!(rig.reports().is_empty(), "not told to the customer yet");
    // The admin sees them waiting, with the reason and the time of the next try.
    let errors = errors_json(&rig);
    assert_eq!(errors.len(), 2, "{errors:?}");
    for e in &errors {
        assert_eq!(e["state"], "retrying", "{e}");
        assert_eq!(e["kind"], "unknown", "{e}");
        assert_eq!(e["reported"], false, "{e}");
        assert!(e["next_attempt_at"].is_string(), "{e}");
        assert!(
            e["detail"]
                .as_str()
                .unwrap()
                .contains("download ended after"),
            "{e}"
        );
    }
    // Not before its time: a pass right away leaves them alone.
    let (early, _, _) = rig.pass().await;
    assert_eq!(
        (early.discovered, early.retrying, early.failed),
        (0, 0, 0),
        "{early:?}"
    );
    assert!(
        rig.waiting().iter().all(|w| w.3 == 1),
        "{:?}",
        rig.waiting()
    );

    let mut tries = 1;
    let (last, last_events) = loop {
        rig.wait_until_due().await;
        let (summary, events, _) = rig.pass().await;
        tries += 1;
        if summary.failed > 0 || tries > TRIES + 2 {
            break (summary, events);
        }
        assert_eq!(summary.retrying, 2, "try {tries}: {summary:?}");
        assert!(rig.reports().is_empty(), "try {tries}: not told yet");
    };
    assert_eq!(tries, TRIES, "persistent after exactly {TRIES} tries");
    assert!(
        first_failure.elapsed() >= SPREAD,
        "the tries spanned at least the minimum spread ({:?})",
        first_failure.elapsed()
    );
    assert_eq!(last.failed, 2, "{last:?}");
    for failure in failures(&last_events) {
        assert!(failure.contains("download ended after"), "{failure}");
        assert!(failure.contains("still failing after 3 tries"), "{failure}");
    }
    // Now, and only now, the customer's report lists them — and nothing of our server.
    let reports = rig.reports();
    assert_eq!(reports.len(), 1, "{reports:?}");
    let report = std::fs::read_to_string(rig.folder().join(&reports[0])).unwrap();
    assert!(
        report.contains("a.png") && report.contains("b.png"),
        "{report}"
    );
    assert_no_server_detail(&rig, &report);
    rig.check_nothing_lost();
}

/// `errors list --json` of the test's owner.
fn errors_json(rig: &Rig) -> Vec<serde_json::Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_smartimage"))
        .env_remove("SMARTIMAGE_ADMIN")
        .arg("--data-dir")
        .arg(&rig.data)
        .args(["--as", OWNER, "errors", "list", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    value.as_array().unwrap().clone()
}

/// Customer-facing text names nothing of the server: no path of the data dir, no host name.
fn assert_no_server_detail(rig: &Rig, text: &str) {
    let data = rig.data.to_string_lossy();
    assert!(!text.contains(data.as_ref()), "a server path: {text}");
    assert!(
        !text.contains("/blobs") && !text.contains(".blob-"),
        "{text}"
    );
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let host = host.trim();
    if host.len() >= 4 {
        assert!(!text.contains(host), "the host name {host}: {text}");
    }
}

// ----- authorization ----------------------------------------------------------------------------

#[tokio::test]
async fn an_access_token_expiring_mid_pass_is_refreshed_and_the_pass_goes_on() {
    let rig = Arc::new(Rig::start().await);
    rig.put_batch(8, 20_000);
    let expired = Arc::new(Mutex::new(false));
    let (summary, events, problems) = {
        let handle_rig = rig.clone();
        let expired = expired.clone();
        rig.pass_with(move |event| {
            if matches!(event, EngineEvent::Imported { .. }) {
                let mut done = expired.lock().unwrap();
                if !*done {
                    handle_rig.handle.expire_tokens(None);
                    *done = true;
                }
            }
        })
        .await
    };
    assert!(*expired.lock().unwrap(), "the token was expired mid-pass");
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(summary.imported, 8, "{summary:?} {:?}", failures(&events));
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, EngineEvent::LinkState { .. })),
        "the link stayed active"
    );
    assert_eq!(rig.link_state(), "active");
    rig.assert_all_imported_once();
}

#[tokio::test]
async fn a_revoked_refresh_token_sets_the_link_to_needs_reauth_and_nothing_is_lost() {
    let rig = Rig::start().await;
    rig.put_batch(4, 3_000);
    // Dropbox no longer honours the stored refresh token (the user revoked the app).
    let token_dir = rig.data.join("tokens");
    let token_file = std::fs::read_dir(&token_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = std::fs::read_to_string(&token_file).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let refresh = json
        .as_object_mut()
        .unwrap()
        .iter_mut()
        .find(|(k, _)| k.contains("refresh"))
        .map(|(_, v)| v)
        .expect("a refresh token field");
    *refresh = serde_json::Value::String("revoked-refresh-token".into());
    std::fs::write(&token_file, json.to_string()).unwrap();
    rig.handle.expire_tokens(None);

    let (summary, events, problems) = rig.pass().await;
    assert_eq!(summary.imported, 0);
    assert_eq!(rig.link_state(), LinkState::NeedsReauth.as_str());
    let said = events
        .iter()
        .find_map(|e| match e {
            EngineEvent::LinkState {
                state: LinkState::NeedsReauth,
                detail,
                ..
            } => detail.clone(),
            _ => None,
        })
        .expect("the console is told the link needs re-authorization");
    assert!(
        said.contains("relink the account"),
        "the message says what to do: {said}"
    );
    // The console shows the link's state and what to do.
    let options = smartimage::tui::ConsoleOptions {
        data_dir: rig.data.clone(),
        plans: PlanCatalog::defaults(),
        as_admin: Some(OWNER.into()),
        os_user: None,
        admin_label: OWNER.into(),
        engine: EngineSettings::default(),
        send: Default::default(),
        keymap: Default::default(),
    };
    let mut app = smartimage::tui::app::App::new(
        "/srv/smartimage".into(),
        OWNER.into(),
        smartimage::tui::theme::Theme { color: false },
    );
    app.apply_view(smartimage::tui::load_view(&options).unwrap());
    for event in events.clone() {
        app.apply_engine(event);
    }
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(240, 40)).unwrap();
    terminal
        .draw(|f| smartimage::tui::layout::draw(f, &app))
        .unwrap();
    let screen: String = terminal
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(
        screen.contains("needs_reauth"),
        "the console shows the state"
    );
    // The status line starts the sentence; at this width it is cut before "relink the account"
    // (noted in RELIABILITY.md for the console work).
    assert!(
        screen.contains("must be authorized again"),
        "the console says the link needs authorizing again"
    );
    assert_eq!(problems.len(), 1, "{problems:?}");
    for i in 0..4 {
        assert!(
            rig.in_dropbox(&format!("in/f{i:02}.png")).is_some(),
            "untouched"
        );
    }
    assert!(rig.rows().is_empty());
}

// ----- listings ---------------------------------------------------------------------------------

#[tokio::test]
async fn a_cursor_reset_lists_again_without_duplicating_anything() {
    let rig = Rig::start().await;
    rig.put_batch(3, 3_000);
    let (first, _, _) = rig.pass().await;
    assert_eq!(first.imported, 3);
    // Dropbox forgets the cursor (`reset`): the next continue/longpoll must start over.
    rig.library()
        .store()
        .connection()
        .execute("UPDATE links SET cursor = 'AAAforgottencursor'", [])
        .unwrap();
    rig.put("in/later.png", &png(99, 4_000));
    let (second, _, problems) = rig.pass().await;
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(second.imported, 1, "{second:?}");
    rig.assert_all_imported_once();
}

/// When the first download starts, every file not yet downloaded is saved again (or deleted) in Dropbox:
/// the listing the engine works from is now stale.
async fn strike_after_listing(change: bool) -> (Arc<Rig>, PassSummary, Vec<EngineEvent>) {
    let rig = Arc::new(Rig::start().await);
    for i in 0..8u32 {
        rig.put(&format!("in/f{i:02}.png"), &png(i + 1, 150_000));
    }
    // Slow calls down a little so the strike lands while most downloads are still to come.
    rig.handle.set_faults(FaultConfig {
        latency_ms: 10,
        ..FaultConfig::default()
    });
    let struck = Arc::new(Mutex::new(false));
    let started: Arc<Mutex<Vec<String>>> = Arc::default();
    let paths: Arc<Mutex<HashMap<ItemId, String>>> = Arc::default();
    let (summary, events, problems) = {
        let rig2 = rig.clone();
        let struck = struck.clone();
        rig.pass_with(move |event| {
            let rel = |p: &str| p.trim_start_matches(&format!("/{ACCOUNT}/")).to_owned();
            match event {
                EngineEvent::Discovered(item) => {
                    paths.lock().unwrap().insert(item.item, rel(&item.path));
                }
                EngineEvent::Progress { item, .. } | EngineEvent::Verifying { item } => {
                    if let Some(p) = paths.lock().unwrap().get(item) {
                        started.lock().unwrap().push(p.clone());
                    }
                    // The first download is under way: the listing is complete, and stale now.
                    let mut done = struck.lock().unwrap();
                    if *done {
                        return;
                    }
                    *done = true;
                    let started = started.lock().unwrap().clone();
                    for i in 0..8u32 {
                        let name = format!("in/f{i:02}.png");
                        if started.contains(&name) {
                            continue;
                        }
                        if change {
                            rig2.put(&name, &png(100 + i, 120_000));
                        } else {
                            rig2.remove(&name);
                        }
                    }
                }
                _ => {}
            }
        })
        .await
    };
    assert!(*struck.lock().unwrap());
    assert!(problems.is_empty(), "{problems:?}");
    assert!(failures(&events).is_empty(), "{:?}", failures(&events));
    (rig, summary, events)
}

#[tokio::test]
async fn a_file_changed_between_listing_and_download_stays_in_its_new_version() {
    let (rig, summary, _) = strike_after_listing(true).await;
    assert!(summary.kept_changed >= 1, "{summary:?}");
    // The new versions were never deleted (checked after the pass) and come next time.
    let (next, _, problems) = rig.pass().await;
    assert!(problems.is_empty(), "{problems:?}");
    assert!(next.imported >= summary.kept_changed, "{next:?}");
    rig.assert_all_imported_once();
}

#[tokio::test]
async fn a_file_deleted_between_listing_and_download_is_dropped_without_an_error() {
    let (rig, summary, events) = strike_after_listing(false).await;
    assert!(
        summary.imported < 8,
        "some files were deleted under it: {summary:?}"
    );
    assert_eq!(summary.failed, 0);
    assert_eq!(summary.reports, 0, "no report for files the user removed");
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, EngineEvent::ReportWritten { .. }))
    );
    let rows = rig.rows();
    assert_eq!(rows.len() as u64, summary.imported);
    let left = std::fs::read_dir(rig.folder().join("in")).unwrap().count();
    assert_eq!(left, 0, "nothing left behind in Dropbox");
}

// ----- the machine ------------------------------------------------------------------------------

/// The CLI against the emulator, for cells that need a process of their own.
fn cli_config(rig: &Rig) -> PathBuf {
    let path = rig.data.parent().unwrap().join("config.toml");
    std::fs::write(
        &path,
        format!(
            "[import]\ntransient_spread_secs = 2\n\n[dropbox]\napp_key = \"{APP_KEY}\"\nendpoint = \"{}\"\n",
            rig.base
        ),
    )
    .unwrap();
    path
}

fn import_command(rig: &Rig, config: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_smartimage"));
    cmd.env_remove("SMARTIMAGE_ADMIN")
        .arg("--data-dir")
        .arg(&rig.data)
        .arg("--config")
        .arg(config)
        .args(["--as", OWNER, "import", "--once"])
        .stdin(Stdio::null());
    cmd
}

/// Whether this machine lets us mount a tmpfs in a private mount namespace (root, or
/// unprivileged user namespaces).
fn can_mount_tmpfs() -> bool {
    Command::new("unshare")
        .args([
            "-r",
            "-m",
            "sh",
            "-c",
            "mount -t tmpfs -o size=64k none /mnt",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The data disk fills up under the blob store: a fault of our server, not of the customer's
/// files. Nothing goes into the customer's report, the admins' error log says `server_error`
/// (with no server path), the summary counts exactly the lines printed, and the files are
/// imported by themselves once there is room — no admin retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_while_writing_blobs_is_a_server_error_the_files_wait_and_come_in_once_it_clears()
 {
    const TMPFS_BYTES: u64 = 1_000_000;
    let rig = Rig::start().await;
    // Twelve files of ~300 kB: about three fit on the 1 MB "disk" the blobs live on.
    rig.put_batch(12, 300_000);
    let config = cli_config(&rig);
    let blobs = rig.data.join("blobs");
    let saved = rig.data.parent().unwrap().join("blobs-from-tmpfs");
    std::fs::create_dir_all(&saved).unwrap();
    let output = if can_mount_tmpfs() {
        // A real ENOSPC: the blob dir is a 1 MB tmpfs in a private mount namespace; what it held
        // at the end is copied out before the namespace (and the tmpfs) goes away.
        let cmd = import_command(&rig, &config);
        let mut script = format!(
            "mount -t tmpfs -o size={TMPFS_BYTES} none '{}' || exit 99; '{}'",
            blobs.display(),
            cmd.get_program().to_string_lossy()
        );
        for arg in cmd.get_args() {
            script.push_str(&format!(" '{}'", arg.to_string_lossy()));
        }
        script.push_str(&format!(
            "; rc=$?; cp -a '{}'/. '{}'/; exit $rc",
            blobs.display(),
            saved.display()
        ));
        let out = tokio::task::spawn_blocking(move || {
            Command::new("unshare")
                .args(["-r", "-m", "sh", "-c", &script])
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        assert_ne!(out.status.code(), Some(99), "tmpfs mount failed");
        // Put the disk's final contents where the library expects them.
        std::fs::remove_dir_all(&blobs).unwrap();
        std::fs::rename(&saved, &blobs).unwrap();
        ("tmpfs", out)
    } else {
        // No mount rights: the same failure from a per-process file size limit (EFBIG).
        let mut cmd = import_command(&rig, &config);
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                let limit = libc::rlimit {
                    rlim_cur: 250_000,
                    rlim_max: 250_000,
                };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap();
        ("file size limit", out)
    };
    let (how, out) = output;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    rig.check_nothing_lost();
    let imported = rig.rows().len();
    assert!(
        imported < 12,
        "{how}: the disk cannot hold every file ({imported} imported)\n{stdout}\n{stderr}"
    );
    // The summary counts exactly the lines printed above it.
    let lines = |prefix: &str| stdout.lines().filter(|l| l.starts_with(prefix)).count();
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("Imported "))
        .unwrap_or_else(|| panic!("no summary line\n{stdout}\n{stderr}"));
    let number_before = |words: &str| -> usize {
        let at = summary
            .find(words)
            .unwrap_or_else(|| panic!("{words:?} in {summary}"));
        summary[..at]
            .rsplit(|c: char| !c.is_ascii_digit())
            .find(|w| !w.is_empty())
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(lines("imported  "), imported, "{stdout}");
    assert_eq!(number_before(" file(s) ("), imported, "{summary}");
    assert_eq!(
        lines("failed    "),
        0,
        "a full disk fails no file\n{stdout}"
    );
    assert_eq!(number_before(" failed and stayed"), 0, "{summary}");
    assert_eq!(lines("retrying  "), 12 - imported, "{stdout}");
    assert_eq!(
        number_before(" wait in Dropbox"),
        12 - imported,
        "{summary}"
    );
    for line in stdout.lines().filter(|l| l.starts_with("retrying  ")) {
        assert!(line.contains("Server error"), "{line}");
        assert!(!line.contains("Dropbox:"), "not blamed on Dropbox: {line}");
    }
    // Nothing for the customer: no report in their folder.
    assert!(rig.reports().is_empty(), "{how}: {:?}", rig.reports());
    // The admins' error log: a server error per waiting file, no server path in it.
    let errors = errors_json(&rig);
    assert_eq!(
        errors.len(),
        12 - imported,
        "every file that did not fit is in the error log"
    );
    for e in &errors {
        assert_eq!(e["kind"], "server_error", "{e}");
        assert_eq!(e["state"], "retrying", "{e}");
        assert_eq!(e["reported"], false, "{e}");
        assert!(e["next_attempt_at"].is_string(), "{e}");
        let detail = e["detail"].as_str().unwrap();
        assert!(
            detail.contains("disk is full") || detail.contains("size limit"),
            "{how}: the reason names the disk: {detail}"
        );
        assert!(!detail.contains("Dropbox:"), "{detail}");
        assert_no_server_detail(&rig, detail);
    }
    // Room again (the small disk is gone): the files come in by themselves when due.
    rig.wait_until_due().await;
    let (again, events, problems) = rig.pass().await;
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(
        again.imported as usize,
        12 - imported,
        "{again:?} {:?}",
        retries(&events)
    );
    assert!(rig.reports().is_empty(), "{:?}", rig.reports());
    assert!(errors_json(&rig).is_empty());
    rig.assert_all_imported_once();
    eprintln!("disk full simulated with a {how}: {imported} of 12 fitted, the rest waited");
}

/// Another process holds the library's write lock for a moment (a backup, `sqlite3` opened by
/// hand): the engine waits and goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_locked_by_another_process_for_a_moment_is_waited_for() {
    // The lock is held by another process: python3's sqlite3 module.
    if prerequisite::require("python3", &["-c", "import sqlite3"]).is_none() {
        return;
    }
    let rig = Rig::start().await;
    rig.put_batch(4, 3_000);
    let db = rig.data.join("library.sqlite3");
    let mut holder = Command::new("python3")
        .arg("-c")
        .arg(
            "import sqlite3,sys,time\n\
             c=sqlite3.connect(sys.argv[1],isolation_level=None)\n\
             c.execute('BEGIN EXCLUSIVE')\nprint('locked',flush=True)\ntime.sleep(2)\n\
             c.execute('COMMIT')",
        )
        .arg(&db)
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 to hold the lock");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "locked");
    let started = Instant::now();
    let (summary, events, problems) = rig.pass().await;
    assert!(holder.wait().unwrap().success());
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(summary.imported, 4, "{summary:?} {:?}", failures(&events));
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "it did wait"
    );
    rig.assert_all_imported_once();
}

/// The lock is held longer than the store waits: the import stops with a message naming the
/// lock, and nothing is deleted from Dropbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_locked_for_good_stops_the_import_with_a_clear_error_and_nothing_deleted() {
    // The lock is held by another process: python3's sqlite3 module.
    if prerequisite::require("python3", &["-c", "import sqlite3"]).is_none() {
        return;
    }
    let rig = Rig::start().await;
    rig.put_batch(3, 3_000);
    let config = cli_config(&rig);
    let db = rig.data.join("library.sqlite3");
    let mut holder = Command::new("python3")
        .arg("-c")
        .arg(
            "import sqlite3,sys,time\n\
             c=sqlite3.connect(sys.argv[1],isolation_level=None)\n\
             c.execute('BEGIN EXCLUSIVE')\nprint('locked',flush=True)\ntime.sleep(60)",
        )
        .arg(&db)
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 to hold the lock");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    let mut cmd = import_command(&rig, &config);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    holder.kill().unwrap();
    holder.wait().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("locked"),
        "the message names the lock: {stderr}"
    );
    for i in 0..3 {
        assert!(rig.in_dropbox(&format!("in/f{i:02}.png")).is_some());
    }
    rig.check_nothing_lost();
}

/// Dropbox forgets every cursor while the engine watches (the emulator restarts: cursors do not
/// survive, ids and revisions do): the longpoll in flight fails, the next longpoll or continue
/// answers `reset`, and the engine lists again from the start — importing what is new, nothing
/// twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_longpoll_reset_while_watching_lists_again_without_duplicates() {
    const TOKEN: &str = "watch-access-token";
    const REFRESH: &str = "watch-refresh-token";
    let dir = tempfile::tempdir().unwrap();
    let config = {
        let mut c = EmulatorConfig::new(dir.path().join("emulator")).with_account(
            AccountConfig::new(DBX, OWNER, "Owner")
                .with_access_token(TOKEN)
                .with_refresh_token(REFRESH),
        );
        c.longpoll_time_scale = 0.01;
        c
    };
    let (base, handle) = Emulator::start(config.clone()).await.unwrap();
    let data = dir.path().join("data");
    let mut lib = Library::open(&data, PlanCatalog::defaults()).unwrap();
    lib.init(OPERATOR, None, None).unwrap();
    let op = lib.actor(Some(OPERATOR), None).unwrap();
    lib.add_account(&op, ACCOUNT, "team").unwrap();
    lib.add_admin(
        &op,
        &AdminGrant {
            email: OWNER.into(),
            owner_of: vec![ACCOUNT.into()],
            ..AdminGrant::default()
        },
    )
    .unwrap();
    let owner = lib.actor(Some(OWNER), None).unwrap();
    let settings = BackendSettings {
        endpoints: Endpoints::single(&base),
        app_key: Some(APP_KEY.into()),
        ..BackendSettings::default()
    };
    let start = start_api_link(APP_KEY, &format!("{base}/oauth2/authorize")).unwrap();
    handle.register_code(AuthCodeConfig {
        code: "code".into(),
        account_id: DBX.into(),
        code_challenge: Some(start.pkce.challenge().to_owned()),
    });
    finish_api_link(
        &mut lib, &owner, ACCOUNT, "code", &start, APP_KEY, &settings,
    )
    .await
    .unwrap();
    // Tokens the restarted emulator still honours (issued ones do not survive a restart).
    let token_path = std::fs::read_dir(data.join("tokens"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut tokens = smartimage::dropbox::token_file::load_tokens(&token_path).unwrap();
    tokens.access_token = smartimage::dropbox::auth::Secret::new(TOKEN);
    tokens.refresh_token = Some(smartimage::dropbox::auth::Secret::new(REFRESH));
    tokens.expires_at = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    smartimage::dropbox::token_file::save_tokens(&token_path, &tokens).unwrap();
    let folder = handle.account_dir(DBX).unwrap().join(ACCOUNT);
    for i in 0..3u32 {
        std::fs::write(folder.join(format!("before{i}.png")), png(i + 1, 2_000)).unwrap();
    }

    let engine_settings = EngineSettings {
        workers: 2,
        idle_wait: Duration::from_secs(1),
        backends: settings,
        ..EngineSettings::default()
    };
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let (engine, _) = ImportEngine::start(
        Library::open(&data, PlanCatalog::defaults()).unwrap(),
        engine_settings,
        tx,
    )
    .unwrap();
    let (commands, inbox) = tokio::sync::mpsc::unbounded_channel();
    let watching = tokio::spawn(Arc::new(engine).watch(inbox));
    let count = || -> i64 {
        Library::open(&data, PlanCatalog::defaults())
            .unwrap()
            .store()
            .connection()
            .query_row("SELECT count(*) FROM files", [], |r| r.get(0))
            .unwrap()
    };
    let wait_for = |n: i64| async move {
        let deadline = Instant::now() + Duration::from_secs(30);
        while count() < n {
            assert!(
                Instant::now() < deadline,
                "only {} of {n} imported",
                count()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    wait_for(3).await;
    let cursor_before: String = Library::open(&data, PlanCatalog::defaults())
        .unwrap()
        .store()
        .connection()
        .query_row("SELECT cursor FROM links", [], |r| r.get(0))
        .unwrap();

    // Restart Dropbox on the same address: every cursor is forgotten.
    let address = base.trim_start_matches("http://").to_owned();
    handle.shutdown().await.unwrap();
    let listener = tokio::net::TcpListener::bind(&address).await.unwrap();
    let (_, handle) = Emulator::serve(config, listener).await.unwrap();
    for i in 0..2u32 {
        std::fs::write(folder.join(format!("after{i}.png")), png(i + 10, 2_000)).unwrap();
    }
    handle.rescan().unwrap();
    wait_for(5).await;
    tokio::time::sleep(Duration::from_millis(500)).await; // a few more passes: still 5
    let _ = commands.send(smartimage::import::events::EngineCommand::Shutdown);
    watching.await.unwrap();

    let lib = Library::open(&data, PlanCatalog::defaults()).unwrap();
    let (rows, distinct, cursor_after): (i64, i64, String) = lib
        .store()
        .connection()
        .query_row(
            "SELECT (SELECT count(*) FROM files), (SELECT count(DISTINCT dropbox_path) FROM files), \
             (SELECT cursor FROM links)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((rows, distinct), (5, 5), "everything once");
    assert_ne!(
        cursor_after, cursor_before,
        "listed again with a new cursor"
    );
    assert_eq!(
        std::fs::read_dir(&folder).unwrap().count(),
        0,
        "nothing left in Dropbox"
    );
}

// ----- retries from anywhere ----------------------------------------------------------------------

/// The CLI against the rig's library with a plan too small for the test's file.
fn cli(rig: &Rig, config: &Path, actor: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_smartimage"))
        .env_remove("SMARTIMAGE_ADMIN")
        .arg("--data-dir")
        .arg(&rig.data)
        .arg("--config")
        .arg(config)
        .args(["--as", actor])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn state_of(rig: &Rig, path: &str) -> Option<String> {
    errors_json(rig)
        .iter()
        .find(|e| e["path"] == path)
        .map(|e| e["state"].as_str().unwrap().to_owned())
}

/// An admin retries a failed file from another process — the CLI, or a console that does not
/// host the engine — while `import --watch` runs and idles in a long Dropbox longpoll. The
/// retry is written to the journal, shows as `queued_for_retry` until an engine takes it, and
/// the running engine takes it at its next tick (not at its next Dropbox change).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_from_another_process_is_taken_by_the_running_watcher_within_seconds() {
    // Real-time longpolls: the watcher would not pass again for two minutes on its own.
    let rig = Rig::start_with(|c| c.longpoll_time_scale = 1.0).await;
    let config = rig.data.parent().unwrap().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[plans.tiny]\nstorage_limit_bytes = 10000\nvideo_bytes_per_month = 0\nmax_video_bytes = 0\n\n\
             [dropbox]\napp_key = \"{APP_KEY}\"\nendpoint = \"{}\"\n",
            rig.base
        ),
    )
    .unwrap();
    let ok = |out: std::process::Output| {
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    ok(cli(
        &rig,
        &config,
        OPERATOR,
        &["account", "set-plan", ACCOUNT, "--plan", "tiny"],
    ));
    rig.put("in/big.png", &png(5, 20_000));
    let path = format!("/{ACCOUNT}/in/big.png");
    ok(cli(&rig, &config, OWNER, &["import", "--once"]));
    assert_eq!(state_of(&rig, &path).as_deref(), Some("failed"));

    // No engine runs: the retry is not lost, it waits as queued_for_retry.
    let said = ok(cli(&rig, &config, OWNER, &["retry", "--account", ACCOUNT]));
    assert!(said.contains("1 failed import(s) queued again"), "{said}");
    assert_eq!(
        state_of(&rig, &path).as_deref(),
        Some("queued_for_retry"),
        "{:?}",
        errors_json(&rig)
    );

    // The watcher starts, takes the queued retry (still too big: failed again), then idles.
    let mut watcher = Command::new(env!("CARGO_BIN_EXE_smartimage"))
        .env_remove("SMARTIMAGE_ADMIN")
        .arg("--data-dir")
        .arg(&rig.data)
        .arg("--config")
        .arg(&config)
        .args(["--as", OWNER, "import", "--watch"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while state_of(&rig, &path).as_deref() != Some("failed") {
        assert!(Instant::now() < deadline, "{:?}", errors_json(&rig));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await; // well into its longpoll

    // The owner upgrades and retries from another process while the watcher runs.
    ok(cli(
        &rig,
        &config,
        OPERATOR,
        &["account", "set-plan", ACCOUNT, "--plan", "team"],
    ));
    let retried = Instant::now();
    ok(cli(&rig, &config, OWNER, &["retry", "--account", ACCOUNT]));
    // Until the engine takes it, it shows as queued for retry — never gone.
    match state_of(&rig, &path).as_deref() {
        Some("queued_for_retry") => {}
        None => assert_eq!(rig.rows().len(), 1, "gone from the log only once imported"),
        other => panic!("{other:?}"),
    }
    let deadline = retried + Duration::from_secs(10);
    while rig.rows().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the running watcher never took the retry: {:?}",
            errors_json(&rig)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let took = retried.elapsed();
    unsafe {
        libc::kill(watcher.id() as i32, libc::SIGTERM);
    }
    let out = tokio::task::spawn_blocking(move || {
        let status = watcher.wait().unwrap();
        let mut stdout = String::new();
        std::io::Read::read_to_string(watcher.stdout.as_mut().unwrap(), &mut stdout).unwrap();
        (status, stdout)
    })
    .await
    .unwrap();
    assert!(out.0.success(), "{out:?}");
    assert!(out.1.contains("imported  /Acme/in/big.png"), "{}", out.1);
    assert!(errors_json(&rig).is_empty());
    rig.assert_all_imported_once();
    eprintln!("the running watcher took the retry after {took:?}");
}
