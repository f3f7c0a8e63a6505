//! The crash suite: real `smartimage import --once` processes, importing mixed files from a
//! synced folder *and* from the Dropbox API emulator at the same time, are killed with SIGKILL
//! at seeded random moments — and, for a share of the runs, from inside one of their own store
//! transactions (statements applied, commit not yet written: a power cut of the store). After
//! every kill the suite checks that nothing is gone from Dropbox whose exact bytes are not in the
//! library with a verified blob; after the last kill two clean runs must finish the job and leave
//! every file in exactly one place, every row with its blob, and no blob without a row.
//!
//! `cargo test --test reliability_crash` runs a small configuration in seconds. The long run:
//!
//! ```sh
//! SMARTIMAGE_CRASH_POINTS=60 SMARTIMAGE_CRASH_WAVE=40 SMARTIMAGE_CRASH_SEED=7 \
//!     cargo test --test reliability_crash -- --nocapture
//! ```

use std::collections::{BTreeMap, HashMap, HashSet};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use smartimage::dropbox::emulator::{AccountConfig, Emulator, EmulatorConfig};
use smartimage::import::linking::link_local_folder;
use smartimage::import::report::{REPORT_FILE_NAME, REPORT_NAME_STEM};
use smartimage::library::Library;
use smartimage::library::actions::AdminGrant;
use smartimage::library::blobs::BlobCheck;
use smartimage::library::policy::PlanCatalog;
use smartimage::library::store::crash_point::KILL_IN_TRANSACTION_ENV;

#[path = "support/api_link.rs"]
mod api_link;
use api_link::link_through_emulator;

const OPERATOR: &str = "op@example.com";
const OWNER: &str = "owner@example.com";
const DBX: &str = "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc";
const APP_KEY: &str = "crash-app-key";
const LOCAL_ACCOUNT: &str = "Synced";
const API_ACCOUNT: &str = "Over API";

/// Small defaults keep `cargo test` fast; the documented long run raises them.
const DEFAULT_KILL_POINTS: usize = 6;
const DEFAULT_WAVE: usize = 12;
const DEFAULT_SEED: u64 = 20_261_127;
/// A run is killed at a random moment in this window after its start (ms)...
const KILL_WINDOW_MS: (u64, u64) = (3, 2_500);
/// ...or, every third kill point, inside its Nth store transaction, N drawn from this range.
const TRANSACTION_KILL_RANGE: (u64, u64) = (1, 30);
/// Runs that end before their kill are retried; give up after this many per kill point.
const ATTEMPTS_PER_POINT: usize = 6;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// splitmix64: the schedule and the files follow from the seed alone.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    fn fill(&mut self, out: &mut Vec<u8>, len: usize) {
        while out.len() < len {
            out.extend_from_slice(&self.next().to_le_bytes());
        }
        out.truncate(len);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Imported,
    StaysInDropbox,
}

struct Original {
    account: &'static str,
    rel: String,
    bytes: Vec<u8>,
    sha256: String,
    expect: Expect,
}

impl Original {
    fn dropbox_path(&self) -> String {
        format!("/{}/{}", self.account, self.rel)
    }
}

fn sha_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One file of a mixed kind and size; a tenth are bigger (0.2–1.5 MB) so kills land mid-download.
fn mixed_file(rng: &mut Rng, n: usize) -> (String, Vec<u8>, Expect) {
    let big = rng.range(0, 9) == 0;
    let len = if big {
        rng.range(200_000, 1_500_000)
    } else {
        rng.range(500, 60_000)
    } as usize;
    let folder = format!("wave/d{}/e{}", rng.range(0, 3), rng.range(0, 2));
    let (name, mut bytes, expect) = match rng.range(0, 9) {
        0..=3 => (
            format!("img{n:04}.png"),
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89"
                .to_vec(),
            Expect::Imported,
        ),
        4 | 5 => (
            format!("photo{n:04}.jpg"),
            b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00".to_vec(),
            Expect::Imported,
        ),
        6 => (
            format!("clip{n:04}.mp4"),
            b"\0\0\0\x18ftypisom\0\0\0\0isommp41".to_vec(),
            Expect::Imported,
        ),
        7 => (
            format!("doc{n:04}.pdf"),
            b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec(),
            Expect::Imported,
        ),
        8 => (
            format!("setup{n:04}.jpg"),
            b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xFF\xFF\x00\x00".to_vec(),
            Expect::StaysInDropbox,
        ),
        _ => (
            format!("empty{n:04}.png"),
            Vec::new(),
            Expect::StaysInDropbox,
        ),
    };
    if !bytes.is_empty() {
        bytes.extend_from_slice(&(n as u64).to_be_bytes());
        rng.fill(&mut bytes, len.max(64));
    }
    (format!("{folder}/{name}"), bytes, expect)
}

struct Rig {
    _dir: tempfile::TempDir,
    data: PathBuf,
    config: PathBuf,
    synced_root: PathBuf,
    api_root: PathBuf,
}

impl Rig {
    fn folder(&self, account: &str) -> PathBuf {
        if account == LOCAL_ACCOUNT {
            self.synced_root.join(account)
        } else {
            self.api_root.join(account)
        }
    }

    fn in_dropbox(&self, o: &Original) -> Option<Vec<u8>> {
        std::fs::read(self.folder(o.account).join(&o.rel)).ok()
    }

    fn import(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_smartimage"));
        cmd.env_remove("SMARTIMAGE_ADMIN")
            .env_remove(KILL_IN_TRANSACTION_ENV)
            .arg("--data-dir")
            .arg(&self.data)
            .arg("--config")
            .arg(&self.config)
            .args(["--as", OWNER, "import", "--once"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        cmd
    }
}

/// A library with one account on a synced folder and one on the emulator (same owner).
fn rig(rt: &tokio::runtime::Runtime) -> (Rig, smartimage::dropbox::emulator::EmulatorHandle) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let synced_root = dir.path().join("Dropbox");
    std::fs::create_dir_all(&synced_root).unwrap();
    let mut emu = EmulatorConfig::new(dir.path().join("emulator"))
        .with_account(AccountConfig::new(DBX, OWNER, "Owner"));
    emu.longpoll_time_scale = 0.001;
    let (base, handle) = rt.block_on(Emulator::start(emu)).unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[import]\nsynced_folder_stable_secs = 0.05\n\
             download_workers = 4\n\n[dropbox]\napp_key = \"{APP_KEY}\"\nendpoint = \"{base}\"\n"
        ),
    )
    .unwrap();

    let mut lib = Library::open(&data, PlanCatalog::defaults()).unwrap();
    lib.init(OPERATOR, None, None).unwrap();
    let op = lib.actor(Some(OPERATOR), None).unwrap();
    lib.add_account(&op, LOCAL_ACCOUNT, "team").unwrap();
    lib.add_account(&op, API_ACCOUNT, "team").unwrap();
    lib.add_admin(
        &op,
        &AdminGrant {
            email: OWNER.into(),
            owner_of: vec![LOCAL_ACCOUNT.into(), API_ACCOUNT.into()],
            ..AdminGrant::default()
        },
    )
    .unwrap();
    let owner = lib.actor(Some(OWNER), None).unwrap();
    rt.block_on(link_local_folder(
        &mut lib,
        &owner,
        LOCAL_ACCOUNT,
        &synced_root,
        Default::default(),
    ))
    .unwrap();
    rt.block_on(link_through_emulator(
        &mut lib,
        &owner,
        API_ACCOUNT,
        (&base, &handle),
        DBX,
        APP_KEY,
    ));
    drop(lib);
    let api_root = handle.account_dir(DBX).unwrap();
    (
        Rig {
            _dir: dir,
            data,
            config,
            synced_root,
            api_root,
        },
        handle,
    )
}

/// Rows as the database holds them: path → (sha256, rev), several rows per path possible.
fn rows(data: &Path) -> Vec<(i64, String, String, String)> {
    let conn = rusqlite::Connection::open_with_flags(
        data.join("library.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT id, COALESCE(dropbox_path, ''), sha256, COALESCE(dropbox_rev, '') FROM files",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The invariant that must hold at *every* moment: a file missing from Dropbox has its exact
/// bytes in the library, behind a row, in a blob that verifies. New rows' blobs are verified once.
fn check_nothing_lost(rig: &Rig, originals: &[Original], verified: &mut HashSet<i64>) {
    let library = Library::open(&rig.data, PlanCatalog::defaults()).unwrap();
    let rows = rows(&rig.data);
    for (id, path, sha, _) in &rows {
        if verified.insert(*id) {
            assert!(
                matches!(library.blobs().verify(sha).unwrap(), BlobCheck::Ok { .. }),
                "row {id} ({path}) has no intact blob"
            );
        }
    }
    let by_path: HashMap<&str, Vec<&str>> = rows.iter().fold(HashMap::new(), |mut m, r| {
        m.entry(r.1.as_str()).or_default().push(r.2.as_str());
        m
    });
    for o in originals {
        match rig.in_dropbox(o) {
            Some(bytes) => assert_eq!(bytes, o.bytes, "{} changed in Dropbox", o.dropbox_path()),
            None => {
                let in_library = by_path.get(o.dropbox_path().as_str());
                assert!(
                    in_library.is_some_and(|shas| shas.contains(&o.sha256.as_str())),
                    "{} left Dropbox but its bytes are not in the library: LOST",
                    o.dropbox_path()
                );
            }
        }
    }
}

#[derive(Default, Debug)]
struct Figures {
    timed_kills: usize,
    transaction_kills: usize,
    runs_finished_before_kill: usize,
    files: usize,
    bytes: u64,
}

#[test]
fn sigkill_and_store_power_cuts_at_seeded_moments_lose_and_duplicate_nothing() {
    let points: usize = env_or("SMARTIMAGE_CRASH_POINTS", DEFAULT_KILL_POINTS);
    let wave: usize = env_or("SMARTIMAGE_CRASH_WAVE", DEFAULT_WAVE);
    let seed: u64 = env_or("SMARTIMAGE_CRASH_SEED", DEFAULT_SEED);
    let mut rng = Rng(seed);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (rig, _emulator) = rig(&rt);
    let mut originals: Vec<Original> = Vec::new();
    let mut figures = Figures::default();
    let mut verified = HashSet::new();
    let started = Instant::now();

    let mut kill_points = 0;
    while kill_points < points {
        let mut killed = false;
        for _attempt in 0..ATTEMPTS_PER_POINT {
            // Keep work queued on both backends: a new wave whenever little is left.
            let pending = originals
                .iter()
                .filter(|o| o.expect == Expect::Imported && rig.in_dropbox(o).is_some())
                .count();
            if pending < wave / 2 {
                let before = originals.len();
                drop_wave(&rig, &mut rng, &mut originals, wave);
                figures.bytes += originals[before..]
                    .iter()
                    .map(|o| o.bytes.len() as u64)
                    .sum::<u64>();
            }
            // Every third kill point is a power cut of the store.
            let in_transaction = kill_points % 3 == 2;
            let run_started = Instant::now();
            let mut cmd = rig.import();
            let delay = Duration::from_millis(rng.range(KILL_WINDOW_MS.0, KILL_WINDOW_MS.1));
            if in_transaction {
                let n = rng.range(TRANSACTION_KILL_RANGE.0, TRANSACTION_KILL_RANGE.1);
                cmd.env(KILL_IN_TRANSACTION_ENV, n.to_string());
                let out = cmd.output().unwrap();
                if out.status.signal() == Some(libc::SIGKILL) {
                    figures.transaction_kills += 1;
                    killed = true;
                } else {
                    assert!(
                        out.status.success(),
                        "import failed: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            } else {
                let mut child = cmd.stderr(Stdio::null()).spawn().unwrap();
                std::thread::sleep(delay);
                if child.try_wait().unwrap().is_none() {
                    child.kill().unwrap(); // SIGKILL
                    figures.timed_kills += 1;
                    killed = true;
                }
                let status = child.wait().unwrap();
                assert!(
                    killed || status.success(),
                    "import failed on its own: {status}"
                );
            }
            check_nothing_lost(&rig, &originals, &mut verified);
            if killed {
                break;
            }
            figures.runs_finished_before_kill += 1;
            eprintln!(
                "run ended by itself after {:?} (transaction kill: {in_transaction})",
                run_started.elapsed()
            );
        }
        assert!(killed, "no run lasted long enough to be killed");
        kill_points += 1;
    }

    // Two clean runs finish the job; the second must find nothing left to do.
    for _ in 0..2 {
        let out = rig.import().output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    check_nothing_lost(&rig, &originals, &mut verified);
    figures.files = originals.len();

    // Every file in exactly one place.
    let rows = rows(&rig.data);
    let mut per_path: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &rows {
        *per_path.entry(r.1.as_str()).or_default() += 1;
    }
    for o in &originals {
        let path = o.dropbox_path();
        let in_library = per_path.get(path.as_str()).copied().unwrap_or(0);
        match o.expect {
            Expect::Imported => {
                assert_eq!(in_library, 1, "{path} must be in the library exactly once");
                assert!(
                    rig.in_dropbox(o).is_none(),
                    "{path} imported but not deleted"
                );
            }
            Expect::StaysInDropbox => {
                assert_eq!(in_library, 0, "{path} must never be imported");
                assert_eq!(
                    rig.in_dropbox(o).as_deref(),
                    Some(&o.bytes[..]),
                    "{path} untouched"
                );
            }
        }
    }
    let known: HashSet<String> = originals.iter().map(Original::dropbox_path).collect();
    for r in &rows {
        assert!(
            known.contains(&r.1),
            "a row for something never dropped: {}",
            r.1
        );
    }

    // No blob without a row (recovery collected them), no temp file, nothing half-claimed.
    let library = Library::open(&rig.data, PlanCatalog::defaults()).unwrap();
    let referenced: HashSet<&str> = rows.iter().map(|r| r.2.as_str()).collect();
    let mut unreferenced = Vec::new();
    let on_disk = library
        .blobs()
        .inventory(|sha| {
            if !referenced.contains(sha) {
                unreferenced.push(sha.to_owned());
            }
        })
        .unwrap();
    assert!(
        unreferenced.is_empty(),
        "blobs without a row survived recovery: {unreferenced:?}"
    );
    assert_eq!(on_disk.blobs, referenced.len(), "every row's blob is there");
    assert!(on_disk.foreign.is_empty(), "{:?}", on_disk.foreign);
    let temp_files = library.blobs().temp_files().unwrap();
    assert!(temp_files.is_empty(), "temp files left: {temp_files:?}");
    let in_flight: i64 = library
        .store()
        .connection()
        .query_row(
            "SELECT count(*) FROM import_items WHERE state IN ('downloading', 'committed')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(in_flight, 0, "nothing left half-claimed or undeleted");
    let reports = assert_report_rule(&rig, &originals);
    eprintln!(
        "crash suite: seed {seed}, {kill_points} kill points survived ({} SIGKILL at a random \
         moment, {} inside a store transaction), {} runs ended before their kill; {} files \
         ({} MB) over a synced folder and the emulator, {} imported, {} left in Dropbox as \
         refused, {reports} reports; nothing lost, nothing duplicated; {:.1} s",
        figures.timed_kills,
        figures.transaction_kills,
        figures.runs_finished_before_kill,
        figures.files,
        figures.bytes / 1_000_000,
        rows.len(),
        originals
            .iter()
            .filter(|o| o.expect == Expect::StaysInDropbox)
            .count(),
        started.elapsed().as_secs_f64()
    );
}

/// Regression (found by the suite above): killed after uploading its TXT report and before
/// recording it, the engine used to import its own report on the next pass — and delete it from
/// Dropbox. The report is now recorded before the upload; this replays the state such a crash
/// leaves (the record without the uploaded file's id) and checks the report stays.
#[test]
fn a_report_uploaded_just_before_a_crash_is_never_imported() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (rig, _emulator) = rig(&rt);
    for account in [LOCAL_ACCOUNT, API_ACCOUNT] {
        let path = rig.folder(account).join("setup.jpg");
        std::fs::write(
            &path,
            b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xFF\xFF\x00\x00",
        )
        .unwrap();
    }
    std::thread::sleep(Duration::from_millis(70));
    assert!(rig.import().status().unwrap().success());
    let conn = rusqlite::Connection::open(rig.data.join("library.sqlite3")).unwrap();
    let reports: i64 = conn
        .query_row("SELECT count(*) FROM reports", [], |r| r.get(0))
        .unwrap();
    assert_eq!(reports, 2, "one report per account");
    // What a SIGKILL between the upload and its record leaves behind.
    conn.execute("UPDATE reports SET dropbox_id = NULL, rev = NULL", [])
        .unwrap();
    drop(conn);
    assert!(rig.import().status().unwrap().success());
    assert!(rows(&rig.data).is_empty(), "a report was imported");
    for account in [LOCAL_ACCOUNT, API_ACCOUNT] {
        assert_eq!(
            report_names(&rig, account),
            [REPORT_FILE_NAME],
            "{account}: the report stays in Dropbox"
        );
    }
}

/// The names in an account folder that look like our reports, sorted.
fn report_names(rig: &Rig, account: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(rig.folder(account))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(REPORT_NAME_STEM))
        .collect();
    names.sort();
    names
}

/// The report rule at rest: at most one report per account folder, `Smartimage upload
/// errors.txt`, listing exactly the files failing there (the refused originals still in
/// Dropbox); none where nothing fails. Returns how many reports there are.
fn assert_report_rule(rig: &Rig, originals: &[Original]) -> usize {
    let mut reports = 0;
    for account in [LOCAL_ACCOUNT, API_ACCOUNT] {
        let failing: std::collections::BTreeSet<String> = originals
            .iter()
            .filter(|o| o.account == account && o.expect == Expect::StaysInDropbox)
            .map(Original::dropbox_path)
            .collect();
        let names = report_names(rig, account);
        if failing.is_empty() {
            assert!(names.is_empty(), "{account}: a report with nothing failing");
            continue;
        }
        assert_eq!(names, [REPORT_FILE_NAME], "{account}: one current report");
        let text = std::fs::read_to_string(rig.folder(account).join(REPORT_FILE_NAME)).unwrap();
        let listed: std::collections::BTreeSet<String> = text
            .lines()
            .filter_map(|line| line.strip_prefix("  * "))
            .map(str::to_owned)
            .collect();
        assert_eq!(
            listed, failing,
            "{account}: the report lists what fails, exactly"
        );
        reports += 1;
    }
    reports
}

/// Drops `n` mixed files, alternating between the two accounts.
fn drop_wave(rig: &Rig, rng: &mut Rng, originals: &mut Vec<Original>, n: usize) {
    for _ in 0..n {
        let i = originals.len();
        let account = if i.is_multiple_of(2) {
            LOCAL_ACCOUNT
        } else {
            API_ACCOUNT
        };
        let (rel, bytes, expect) = mixed_file(rng, i);
        let path = rig.folder(account).join(&rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &bytes).unwrap();
        originals.push(Original {
            account,
            rel,
            sha256: sha_hex(&bytes),
            bytes,
            expect,
        });
    }
    // The synced folder imports a file only once it has been still for 50 ms.
    std::thread::sleep(Duration::from_millis(70));
}

/// An import run killed (SIGKILL) at a seeded moment, or left to finish if it ends first.
fn import_killed_at_random(rig: &Rig, rng: &mut Rng) {
    let mut child = rig.import().stderr(Stdio::null()).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(
        rng.range(KILL_WINDOW_MS.0, KILL_WINDOW_MS.1),
    ));
    let _ = child.kill();
    child.wait().unwrap();
}

fn smartimage(rig: &Rig, actor: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_smartimage"))
        .env_remove("SMARTIMAGE_ADMIN")
        .arg("--data-dir")
        .arg(&rig.data)
        .arg("--config")
        .arg(&rig.config)
        .args(["--as", actor])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// The admin's worst day: a backup taken while an import runs, more imports killed at random
/// (their files deleted from Dropbox), then the backup restored over the newer database. The
/// engine refuses to start on it; `check --adopt` brings back every file that left Dropbox since.
/// Nothing that ever left Dropbox is missing from the library by content, and `check` is clean.
#[test]
fn a_backup_restored_mid_run_then_adopted_loses_nothing() {
    let seed: u64 = env_or("SMARTIMAGE_CRASH_SEED", DEFAULT_SEED);
    let wave: usize = env_or("SMARTIMAGE_CRASH_WAVE", DEFAULT_WAVE);
    let mut rng = Rng(seed ^ 0x5EED_BAC0);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (rig, _emulator) = rig(&rt);
    let mut originals = Vec::new();
    let mut verified = HashSet::new();

    drop_wave(&rig, &mut rng, &mut originals, wave);
    import_killed_at_random(&rig, &mut rng);
    // The online backup, while an import is at work.
    drop_wave(&rig, &mut rng, &mut originals, wave);
    let mut running = rig.import().stderr(Stdio::null()).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(rng.range(5, 300)));
    let backup = rig.data.parent().unwrap().join("mid-run.sqlite3");
    let out = smartimage(
        &rig,
        OPERATOR,
        &["backup", "--to", backup.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    running.wait().unwrap();
    // More work after the backup: killed runs, then one that finishes.
    for _ in 0..3 {
        drop_wave(&rig, &mut rng, &mut originals, wave);
        import_killed_at_random(&rig, &mut rng);
        check_nothing_lost(&rig, &originals, &mut verified);
    }
    assert!(rig.import().output().unwrap().status.success());
    check_nothing_lost(&rig, &originals, &mut verified);
    let gone_since: Vec<&Original> = originals
        .iter()
        .filter(|o| rig.in_dropbox(o).is_none())
        .collect();
    assert!(!gone_since.is_empty(), "the runs imported nothing");

    // Restore the older database.
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(rig.data.join(format!("library.sqlite3{suffix}")));
    }
    std::fs::copy(&backup, rig.data.join("library.sqlite3")).unwrap();
    let refused = rig.import().output().unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("older than its blob store"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let adopted = smartimage(
        &rig,
        OPERATOR,
        &["check", "--adopt", "--account", LOCAL_ACCOUNT],
    );
    assert!(
        adopted.status.success(),
        "{}",
        String::from_utf8_lossy(&adopted.stderr)
    );
    for _ in 0..2 {
        let out = rig.import().output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // Nothing lost: every file that left Dropbox is in the library by content, intact.
    let library = Library::open_existing(&rig.data, PlanCatalog::defaults()).unwrap();
    let in_library: HashSet<String> = rows(&rig.data).into_iter().map(|r| r.2).collect();
    for o in &originals {
        match (o.expect, rig.in_dropbox(o)) {
            (Expect::StaysInDropbox, bytes) => {
                assert_eq!(bytes.as_deref(), Some(&o.bytes[..]), "{} untouched", o.rel)
            }
            (Expect::Imported, Some(_)) => panic!("{} still in Dropbox after clean runs", o.rel),
            (Expect::Imported, None) => {
                assert!(
                    in_library.contains(&o.sha256),
                    "{} left Dropbox and is not in the library: LOST",
                    o.dropbox_path()
                );
                assert!(matches!(
                    library.blobs().verify(&o.sha256).unwrap(),
                    BlobCheck::Ok { .. }
                ));
            }
        }
    }
    let check = smartimage(&rig, OPERATOR, &["check", "--read-data"]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    // The restored database knew neither the newer reports nor the newer failures: the folder
    // still holds one report of what fails, and no report was imported.
    assert_report_rule(&rig, &originals);
}
