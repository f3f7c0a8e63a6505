//! After an import the library's blob is the only copy of a file (Dropbox's is deleted): no
//! sequence of admin actions, crashes or restores may delete it. Driven through the real
//! binary, as an admin following the tool's own advice would: back up, restore an older
//! database, start a new one beside the blob store, open an empty or read-only one.

#[path = "support/prerequisite.rs"]
mod prerequisite;
#[path = "support/site.rs"]
mod site;

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use sha2::{Digest, Sha256};
use site::{ACCOUNT, ADMIN, OPERATOR, OWNER, Site};

/// `check`'s exit status when it found problems.
const EXIT_PROBLEMS: i32 = 5;

/// A linked library (`support/site.rs`) with what these tests ask of it.
struct Lib(Site);

impl std::ops::Deref for Lib {
    type Target = Site;
    fn deref(&self) -> &Site {
        &self.0
    }
}

impl Lib {
    fn linked() -> Lib {
        Lib(Site::linked(""))
    }

    /// Exits with `code`; returns stdout and stderr together.
    fn exits(&self, code: i32, actor: &str, args: &[&str]) -> String {
        let out = self.run(actor, args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(code), "{args:?}: {text}");
        text
    }

    /// Drops `n` distinct PNGs into Acme's folder; returns their sha256s.
    fn drop_pngs(&self, first: u32, n: u32) -> BTreeSet<String> {
        let folder = self.dropbox.join(ACCOUNT);
        std::fs::create_dir_all(&folder).unwrap();
        (first..first + n)
            .map(|i| {
                let bytes = site::png(i, 600 + i as usize);
                std::fs::write(folder.join(format!("shot-{i}.png")), &bytes).unwrap();
                hex(&Sha256::digest(&bytes))
            })
            .collect()
    }

    fn import(&self) {
        // The synced folder imports a file once it has been still for its stable time.
        std::thread::sleep(std::time::Duration::from_millis(120));
        self.ok(OWNER, &["import", "--once"]);
    }

    fn dropbox_files(&self) -> usize {
        std::fs::read_dir(self.dropbox.join(ACCOUNT))
            .unwrap()
            .filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                name.to_string_lossy().ends_with(".png")
            })
            .count()
    }

    fn library_hashes(&self) -> BTreeSet<String> {
        let list: Value =
            serde_json::from_str(&self.ok(OPERATOR, &["files", "list", "--json"])).unwrap();
        list.as_array()
            .unwrap()
            .iter()
            .map(|f| f["sha256"].as_str().unwrap().to_owned())
            .collect()
    }

    fn blobs_on_disk(&self) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        for fan in std::fs::read_dir(self.data.join("blobs")).unwrap() {
            let fan = fan.unwrap();
            if fan.file_name().len() != 2 || !fan.file_type().unwrap().is_dir() {
                continue;
            }
            for blob in std::fs::read_dir(fan.path()).unwrap() {
                found.insert(blob.unwrap().file_name().to_string_lossy().into_owned());
            }
        }
        found
    }

    fn database(&self) -> PathBuf {
        self.data.join("library.sqlite3")
    }

    /// Puts `backup` in the database's place, as an admin restoring a copy would.
    fn restore(&self, backup: &Path) {
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(self.data.join(format!("library.sqlite3{suffix}")));
        }
        std::fs::copy(backup, self.database()).unwrap();
    }

    fn check_json(&self, code: i32) -> Value {
        let out = self.run(OPERATOR, &["check", "--json"]);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

fn problem_kinds(report: &Value) -> Vec<String> {
    report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap().to_owned())
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn restoring_an_older_backup_loses_no_file_and_adopt_brings_them_back() {
    let site = Lib::linked();
    let early = site.drop_pngs(0, 5);
    site.import();
    let backup = site.root.join("library-backup.sqlite3");
    let said = site.ok(OPERATOR, &["backup", "--to", &backup.display().to_string()]);
    assert!(said.contains("Backed up"), "{said}");
    let mode = std::fs::metadata(&backup).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "a backup is private");
    let late = site.drop_pngs(100, 10);
    site.import();
    assert_eq!(
        site.dropbox_files(),
        0,
        "all 15 left Dropbox: the blobs are the only copies"
    );
    let all: BTreeSet<String> = early.union(&late).cloned().collect();
    assert_eq!(site.library_hashes(), all);

    site.restore(&backup);
    assert_eq!(
        site.library_hashes(),
        early,
        "the restored database knows only the first 5"
    );
    // The engine refuses to start (and so to collect anything) on a database older than its
    // blob store, and says what to do.
    let refused = site.exits(1, OWNER, &["import", "--once"]);
    assert!(refused.contains("older than its blob store"), "{refused}");
    assert!(refused.contains("check --adopt"), "{refused}");
    assert_eq!(site.blobs_on_disk(), all, "no blob was deleted");

    let report = site.check_json(EXIT_PROBLEMS);
    let kinds = problem_kinds(&report);
    assert_eq!(
        kinds.iter().filter(|k| *k == "unknown_blob").count(),
        10,
        "{kinds:?}"
    );
    assert!(kinds.contains(&"older_database".to_owned()), "{kinds:?}");

    let adopted: Value = serde_json::from_str(&site.ok(
        OPERATOR,
        &["check", "--adopt", "--account", ACCOUNT, "--json"],
    ))
    .unwrap();
    assert_eq!(adopted["adopted"].as_array().unwrap().len(), 10);
    let collection = adopted["collection"].as_str().unwrap();
    assert!(collection.starts_with("Recovered "), "{collection}");
    assert_eq!(
        site.library_hashes(),
        all,
        "every file that left Dropbox is back"
    );
    let recovered: Value = serde_json::from_str(&site.ok(
        OPERATOR,
        &["files", "list", "--source", "recovered", "--json"],
    ))
    .unwrap();
    for file in recovered.as_array().unwrap() {
        let name = file["name"].as_str().unwrap();
        let sha = file["sha256"].as_str().unwrap();
        assert_eq!(name, format!("recovered-{}.png", &sha[..12]));
        assert_eq!(file["source"], "recovered");
        assert_eq!(file["collections"][0], collection);
    }
    site.check_json(0);
    site.ok(OWNER, &["import", "--once"]);
    assert_eq!(site.blobs_on_disk(), all);
    let audit = site.ok(OPERATOR, &["audit", "--json"]);
    assert!(audit.contains("check.adopt"), "{audit}");
}

#[test]
fn a_new_database_beside_an_old_blob_store_stops_the_engine_and_keeps_every_blob() {
    let site = Lib::linked();
    let imported = site.drop_pngs(0, 4);
    site.import();
    // "Move the damaged database aside and run init".
    std::fs::rename(site.database(), site.root.join("damaged.sqlite3")).unwrap();
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(site.data.join(format!("library.sqlite3{suffix}")));
    }
    site.people();
    let folder = site.dropbox.display().to_string();
    site.ok(
        OWNER,
        &["link", "--account", ACCOUNT, "--local-folder", &folder],
    );
    let refused = site.exits(1, OWNER, &["import", "--once"]);
    assert!(refused.contains("belongs to another library"), "{refused}");
    assert_eq!(site.blobs_on_disk(), imported);
    let kinds = problem_kinds(&site.check_json(EXIT_PROBLEMS));
    assert!(
        kinds.contains(&"foreign_blob_store".to_owned()),
        "{kinds:?}"
    );
    site.ok(OPERATOR, &["check", "--adopt", "--account", ACCOUNT]);
    assert_eq!(site.library_hashes(), imported);
    site.ok(OWNER, &["import", "--once"]);
}

#[test]
fn a_zero_byte_or_missing_database_is_an_error_naming_it_and_nothing_is_created() {
    let site = Lib::linked();
    std::fs::write(site.database(), b"").unwrap();
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(site.data.join(format!("library.sqlite3{suffix}")));
    }
    let said = site.exits(1, OPERATOR, &["files", "list"]);
    assert!(said.contains("is empty (0 bytes)"), "{said}");
    assert!(
        said.contains(&site.database().display().to_string()),
        "{said}"
    );
    assert_eq!(
        std::fs::metadata(site.database()).unwrap().len(),
        0,
        "left as it was"
    );
    let said = site.exits(1, OPERATOR, &["init", "--operator", OPERATOR]);
    assert!(said.contains("is empty (0 bytes)"), "{said}");
    assert_eq!(std::fs::metadata(site.database()).unwrap().len(), 0);

    let nowhere = site.root.join("no-library-here");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_smartimage"))
        .args([
            "--data-dir",
            &nowhere.display().to_string(),
            "--as",
            OPERATOR,
        ])
        .args(["account", "list"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "the data dir named is not a library"
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("no library at"), "{said}");
    assert!(said.contains("smartimage init"), "{said}");
    assert!(
        !nowhere.exists(),
        "a read verb created {}",
        nowhere.display()
    );
}

#[test]
fn a_database_that_is_not_a_library_is_not_made_into_one() {
    let site = Lib::linked();
    let other = site.root.join("other");
    std::fs::create_dir_all(&other).unwrap();
    // An empty SQLite database (a header, no tables): some other tool's new file.
    let c = rusqlite::Connection::open(other.join("library.sqlite3")).unwrap();
    c.execute_batch("PRAGMA user_version = 0; VACUUM;").unwrap();
    drop(c);
    let before = std::fs::read(other.join("library.sqlite3")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_smartimage"))
        .args(["--data-dir", &other.display().to_string(), "--as", OPERATOR])
        .args(["files", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a Smartimage library"));
    assert_eq!(
        std::fs::read(other.join("library.sqlite3")).unwrap(),
        before
    );
}

#[test]
fn damage_advice_says_check_first_never_only_move_it_aside() {
    let site = Lib::linked();
    std::fs::write(site.database(), vec![0x42; 8192]).unwrap();
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(site.data.join(format!("library.sqlite3{suffix}")));
    }
    let said = site.exits(1, OPERATOR, &["files", "list"]);
    assert!(said.contains("damaged or not a database"), "{said}");
    assert!(said.contains("smartimage check"), "{said}");
    assert!(!said.contains("move it aside"), "{said}");
}

/// Runs the binary as `nobody` (the test runs as root in CI, for whom nothing is read-only).
fn as_nobody(site: &Site, args: &[&str]) -> Option<Output> {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Some(site.run(OPERATOR, args));
    }
    let binary = env!("CARGO_BIN_EXE_smartimage");
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
        .arg(binary)
        .arg("--data-dir")
        .arg(&site.data)
        .arg("--config")
        .arg(&site.config)
        .args(["--as", OPERATOR])
        .args(args)
        .output();
    match out {
        Ok(out) => Some(out),
        Err(e) => {
            prerequisite::cannot_run(&format!("setpriv could not run: {e}"));
            None
        }
    }
}

#[test]
fn a_read_only_data_dir_is_called_read_only_with_its_path_not_damaged() {
    let site = Lib::linked();
    let open = |p: &Path, mode| std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode));
    // Readable by everyone, writable by its owner alone.
    open(&site.root, 0o755).unwrap();
    open(&site.data, 0o755).unwrap();
    for entry in std::fs::read_dir(&site.data).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            open(&path, 0o644).unwrap();
        }
    }
    open(&site.config, 0o644).unwrap();
    let Some(out) = as_nobody(&site, &["files", "list"]) else {
        return;
    };
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("is read-only for"), "{said}");
    assert!(said.contains(&site.data.display().to_string()), "{said}");
    assert!(!said.contains("damaged"), "{said}");
}

#[test]
fn a_new_library_is_private_to_its_group_and_an_open_one_is_warned_about() {
    let site = Lib::linked();
    let site_mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    assert_eq!(
        site_mode(&site.data),
        0o2770,
        "data dir: group-shared, setgid, no others"
    );
    assert_eq!(
        site_mode(&site.database()),
        0o660,
        "database: its group writes it too, others nothing"
    );
    site.drop_pngs(0, 1);
    site.import();
    let blob = site.blobs_on_disk().into_iter().next().unwrap();
    let blob_path = site.data.join("blobs").join(&blob[..2]).join(&blob);
    assert_eq!(
        site_mode(&blob_path),
        0o660,
        "a blob: the admins' group may read it"
    );
    let quiet = site.run(OPERATOR, &["account", "list"]);
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains("warning"));

    std::fs::set_permissions(&site.data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = site.run(OPERATOR, &["account", "list"]);
    assert!(out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("open to every user"), "{said}");
    assert!(
        said.contains(&format!("chmod -R o-rwx {}", site.data.display())),
        "{said}"
    );
}

#[test]
fn check_reads_every_blob_with_read_data_and_finds_a_changed_byte() {
    let site = Lib::linked();
    site.drop_pngs(0, 3);
    site.import();
    site.check_json(0);
    let blob = site.blobs_on_disk().into_iter().next().unwrap();
    let path = site.data.join("blobs").join(&blob[..2]).join(&blob);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[40] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    site.check_json(0); // sizes only: the flip is not seen
    let out = site.run(OPERATOR, &["check", "--read-data", "--json"]);
    assert_eq!(out.status.code(), Some(EXIT_PROBLEMS));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(problem_kinds(&report), vec!["blob_corrupt"]);
    assert!(
        report["problems"][0]["subject"]
            .as_str()
            .unwrap()
            .contains(&blob)
    );
    std::fs::remove_file(&path).unwrap();
    let report = site.check_json(EXIT_PROBLEMS);
    assert_eq!(problem_kinds(&report), vec!["blob_missing"]);
    let human = site.exits(EXIT_PROBLEMS, OPERATOR, &["check"]);
    assert!(human.contains("blob_missing"), "{human}");
    assert!(human.contains("fix:"), "{human}");
}

#[test]
fn check_adopt_and_backup_are_for_operators() {
    let site = Lib::linked();
    let denied = site.exits(3, ADMIN, &["check"]);
    assert!(denied.contains("only operators"), "{denied}");
    site.exits(3, OWNER, &["check", "--adopt", "--account", ACCOUNT]);
    let backup = site.root.join("b.sqlite3").display().to_string();
    site.exits(3, OWNER, &["backup", "--to", &backup]);
    assert!(!Path::new(&backup).exists());
    site.ok(OPERATOR, &["backup", "--to", &backup]);
    let again = site.exits(2, OPERATOR, &["backup", "--to", &backup]);
    assert!(again.contains("already exists"), "{again}");
}

#[test]
fn leftovers_of_a_dead_process_are_listed_with_what_to_do() {
    let site = Lib::linked();
    site.drop_pngs(0, 1);
    site.import();
    // A temp file and a pinned blob with no row: an upload killed between the two.
    let lib = smartimage::library::Library::open_existing(
        &site.data,
        smartimage::library::policy::PlanCatalog::defaults(),
    )
    .unwrap();
    let mut writer = lib.blobs().writer().unwrap();
    std::io::Write::write_all(&mut writer, b"half").unwrap();
    std::mem::forget(writer);
    drop(lib);
    let kinds = problem_kinds(&site.check_json(EXIT_PROBLEMS));
    assert_eq!(kinds, vec!["leftover_temp_file"]);
    site.ok(OWNER, &["import", "--once"]);
    site.check_json(0);
}
