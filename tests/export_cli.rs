#![cfg(feature = "emulator")]
//! `smartimage export` and `smartimage share` as a script runs them: the real binary, a real
//! library, a synced folder and the Dropbox API emulator; exit codes of the scripting contract.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use smartimage::dropbox::emulator::{AccountConfig, Emulator, EmulatorConfig};
use smartimage::library::Library;
use smartimage::library::policy::PlanCatalog;

#[path = "support/api_link.rs"]
mod api_link;
use api_link::link_through_emulator;

const OPERATOR: &str = "op@example.com";
const OWNER: &str = "owner@example.com";
const HELPER: &str = "helper@example.com";
const ACCOUNT: &str = "Acme";
const DBX: &str = "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc";
const APP_KEY: &str = "cli-app-key";

struct Cli {
    dir: tempfile::TempDir,
    config: Option<PathBuf>,
}

impl Cli {
    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn cmd(&self, actor: &str, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("smartimage").unwrap();
        cmd.env_remove("SMARTIMAGE_ADMIN")
            .env_remove("SMARTIMAGE_DATA_DIR")
            .env_remove("SMARTIMAGE_DROPBOX_APP_KEY");
        if let Some(config) = &self.config {
            cmd.arg("--config").arg(config);
        }
        cmd.arg("--data-dir")
            .arg(self.data())
            .args(["--as", actor])
            .args(args);
        cmd
    }

    fn ok(&self, actor: &str, args: &[&str]) -> String {
        let out = self.cmd(actor, args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn fails(&self, actor: &str, args: &[&str], code: i32) -> String {
        let out = self.cmd(actor, args).output().unwrap();
        assert_eq!(out.status.code(), Some(code), "{args:?}: {out:?}");
        String::from_utf8(out.stderr).unwrap()
    }

    /// Operator, account, owner and an undelegated admin; two images uploaded, in "Summer".
    fn new() -> Cli {
        let cli = Cli {
            dir: tempfile::tempdir().unwrap(),
            config: None,
        };
        Command::cargo_bin("smartimage")
            .unwrap()
            .env_remove("SMARTIMAGE_ADMIN")
            .arg("--data-dir")
            .arg(cli.data())
            .args(["init", "--operator", OPERATOR])
            .assert()
            .success();
        cli.ok(OPERATOR, &["account", "add", ACCOUNT, "--plan", "team"]);
        cli.ok(OPERATOR, &["admin", "add", OWNER, "--owner", ACCOUNT]);
        cli.ok(OPERATOR, &["admin", "add", HELPER, "--admin", ACCOUNT]);
        let sources = cli.dir.path().join("sources");
        std::fs::create_dir_all(&sources).unwrap();
        for (name, seed) in [("a.png", 1u8), ("b.png", 2)] {
            let mut png =
                b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89"
                    .to_vec();
            png.resize(500, seed);
            std::fs::write(sources.join(name), png).unwrap();
        }
        let sources = sources.to_str().unwrap().to_owned();
        cli.ok(OWNER, &["upload", "--account", ACCOUNT, &sources]);
        let files: serde_json::Value =
            serde_json::from_str(&cli.ok(OWNER, &["files", "list", "--json"])).unwrap();
        let ids: Vec<String> = files
            .as_array()
            .unwrap()
            .iter()
            .map(|file| file["id"].to_string())
            .collect();
        let mut args = vec![
            "collection",
            "add",
            "--account",
            ACCOUNT,
            "--collection",
            "Summer",
            "--create",
        ];
        args.extend(ids.iter().map(String::as_str));
        cli.ok(OWNER, &args);
        cli
    }
}

impl Cli {
    /// (id, sha256) of the uploaded file named `name`.
    fn file(&self, name: &str) -> (String, String) {
        let files: serde_json::Value =
            serde_json::from_str(&self.ok(OWNER, &["files", "list", "--json"])).unwrap();
        let file = files
            .as_array()
            .unwrap()
            .iter()
            .find(|file| file["name"] == name)
            .unwrap();
        (
            file["id"].to_string(),
            file["sha256"].as_str().unwrap().to_owned(),
        )
    }

    /// Flips one bit of the file's blob (`<data dir>/blobs/ab/<sha256>`), as bit rot would.
    fn flip_a_bit(&self, sha256: &str) {
        let blob = self.data().join("blobs").join(&sha256[..2]).join(sha256);
        let mut bytes = std::fs::read(&blob).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x01;
        std::fs::write(&blob, &bytes).unwrap();
    }

    fn link_synced_folder(&self) -> PathBuf {
        let dropbox = self.dir.path().join("Dropbox");
        std::fs::create_dir_all(&dropbox).unwrap();
        self.ok(
            OWNER,
            &[
                "link",
                "--account",
                ACCOUNT,
                "--local-folder",
                dropbox.to_str().unwrap(),
            ],
        );
        dropbox
    }

    /// The details of the `export refused` audit rows.
    fn refusals(&self) -> Vec<String> {
        let audit: serde_json::Value =
            serde_json::from_str(&self.ok(OPERATOR, &["audit", "--json"])).unwrap();
        audit
            .as_array()
            .unwrap()
            .iter()
            .filter(|row| row["action"] == "export refused")
            .map(|row| row["detail"].as_str().unwrap().to_owned())
            .collect()
    }
}

/// Every file below `dir`, as paths relative to it.
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            out.push(
                path.strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            );
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    out.sort();
    out
}

/// `a.png`'s blob flipped: exporting it alone is refused (exit 1) and nothing arrives; with
/// `b.png` beside it, `b.png` arrives and the export ends with exit 4. Both times the message
/// and an audit row name the file and its blob. `downloads` is where files land on disk.
fn a_flipped_blob_is_refused(cli: &Cli, downloads: &Path) {
    let (a, a_sha) = cli.file("a.png");
    let (b, _) = cli.file("b.png");
    cli.flip_a_bit(&a_sha);
    let alone = cli.fails(OWNER, &["export", "--account", ACCOUNT, &a], 1);
    assert!(alone.contains(&format!("file #{a}")), "{alone}");
    assert!(alone.contains(&a_sha), "{alone}");
    assert!(alone.contains("damaged"), "{alone}");
    assert!(
        !downloads.exists() || tree(downloads).is_empty(),
        "{:?}",
        tree(downloads)
    );
    let refusals = cli.refusals();
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert!(
        refusals[0].contains(&format!("file #{a}")) && refusals[0].contains(&a_sha),
        "{refusals:?}"
    );

    let out = cli
        .cmd(OWNER, &["export", "--account", ACCOUNT, &a, &b])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Sent 1 of 2 files"), "{stdout}");
    assert!(stdout.contains(&a_sha), "{stdout}");
    assert_eq!(tree(downloads), vec!["b.png"]);
    assert_eq!(cli.refusals().len(), 2);
}

#[test]
fn a_flipped_blob_is_refused_by_an_export_to_a_synced_folder() {
    let cli = Cli::new();
    let dropbox = cli.link_synced_folder();
    a_flipped_blob_is_refused(&cli, &dropbox.join("Acme (from Smartimage)"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flipped_blob_is_refused_by_an_export_over_the_api() {
    let mut cli = Cli::new();
    let root = tempfile::tempdir().unwrap();
    let config = EmulatorConfig::new(root.path()).with_account(AccountConfig::new(
        DBX,
        OWNER,
        "Owner Example",
    ));
    let (base, handle) = Emulator::start(config).await.unwrap();
    {
        let mut library = Library::open(&cli.data(), PlanCatalog::default()).unwrap();
        let owner = library.actor(Some(OWNER), None).unwrap();
        link_through_emulator(
            &mut library,
            &owner,
            ACCOUNT,
            (&base, &handle),
            DBX,
            APP_KEY,
        )
        .await;
    }
    let config = cli.dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!("[dropbox]\nendpoint = \"{base}\"\napp_key = \"{APP_KEY}\"\n"),
    )
    .unwrap();
    cli.config = Some(config);
    let downloads = handle
        .account_dir(DBX)
        .unwrap()
        .join("Acme (from Smartimage)");
    tokio::task::spawn_blocking(move || a_flipped_blob_is_refused(&cli, &downloads))
        .await
        .unwrap();
    drop(handle);
}

#[test]
fn share_file_over_a_synced_folder_is_refused_before_anything_is_written() {
    let cli = Cli::new();
    let dropbox = cli.link_synced_folder();
    let before = tree(&dropbox);
    let (a, _) = cli.file("a.png");
    let error = cli.fails(OWNER, &["share", "--account", ACCOUNT, "--file", &a], 1);
    assert!(error.contains("shared links need an API link"), "{error}");
    assert!(error.contains("--api"), "{error}");
    assert_eq!(tree(&dropbox), before);
    let audit = cli.ok(OPERATOR, &["audit", "--json"]);
    assert!(!audit.contains("\"share\""), "{audit}");
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn export_to_a_synced_folder_with_json_and_exit_codes() {
    let cli = Cli::new();
    let dropbox = cli.dir.path().join("Dropbox");
    std::fs::create_dir_all(&dropbox).unwrap();
    cli.ok(
        OWNER,
        &[
            "link",
            "--account",
            ACCOUNT,
            "--local-folder",
            dropbox.to_str().unwrap(),
        ],
    );
    let out = cli.ok(
        OWNER,
        &[
            "export",
            "--account",
            ACCOUNT,
            "--collection",
            "Summer",
            "--json",
        ],
    );
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["folder"], "/Acme (from Smartimage)/Summer");
    assert_eq!(summary["sent"].as_array().unwrap().len(), 2);
    assert_eq!(summary["failed"].as_array().unwrap().len(), 0);
    assert_eq!(
        names_in(&dropbox.join("Acme (from Smartimage)").join("Summer")),
        vec!["a.png", "b.png"]
    );

    // Plain output says where they went.
    let out = cli.ok(
        OWNER,
        &[
            "export",
            "--account",
            ACCOUNT,
            "--collection",
            "Summer",
            "--to",
            "Again",
        ],
    );
    assert!(out.contains("Sent 2 of 2 files"), "{out}");

    let denied = cli.fails(
        HELPER,
        &["export", "--account", ACCOUNT, "--collection", "Summer"],
        3,
    );
    assert!(denied.contains("may not send files"), "{denied}");
    let unknown = cli.fails(
        OWNER,
        &["export", "--account", ACCOUNT, "--collection", "Nope"],
        2,
    );
    assert!(unknown.contains("no collection named"), "{unknown}");
    cli.fails(OWNER, &["export", "--account", ACCOUNT], 2);

    let share = cli.fails(OWNER, &["share", "--account", ACCOUNT, "Summer/a.png"], 1);
    assert!(share.contains("sharing needs the Dropbox API"), "{share}");

    let audit = cli.ok(OPERATOR, &["audit", "--json"]);
    assert_eq!(audit.matches("\"export\"").count(), 2, "{audit}");
}

#[test]
fn export_unlinked_account_says_to_link_first() {
    let cli = Cli::new();
    let error = cli.fails(
        OWNER,
        &["export", "--account", ACCOUNT, "--collection", "Summer"],
        2,
    );
    assert!(error.contains("not linked to Dropbox"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn share_prints_the_url_and_reuses_the_link() {
    let mut cli = Cli::new();
    let root = tempfile::tempdir().unwrap();
    let config = EmulatorConfig::new(root.path()).with_account(AccountConfig::new(
        DBX,
        OWNER,
        "Owner Example",
    ));
    let (base, handle) = Emulator::start(config).await.unwrap();
    {
        let mut library = Library::open(&cli.data(), PlanCatalog::default()).unwrap();
        let owner = library.actor(Some(OWNER), None).unwrap();
        link_through_emulator(
            &mut library,
            &owner,
            ACCOUNT,
            (&base, &handle),
            DBX,
            APP_KEY,
        )
        .await;
    }
    let config = cli.dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[dropbox]\nendpoint = \"{base}\"\napp_key = \"{APP_KEY}\"\n[export]\nsession_threshold_bytes = 100\nchunk_bytes = 64\n"
        ),
    )
    .unwrap();
    cli.config = Some(config);
    let cli = std::sync::Arc::new(cli);
    let run = |args: &'static [&'static str]| {
        let cli = std::sync::Arc::clone(&cli);
        tokio::task::spawn_blocking(move || cli.ok(OWNER, args))
    };
    // Both files are over the 100-byte threshold of the config: sessions in 64-byte chunks.
    let out = run(&[
        "export",
        "--account",
        ACCOUNT,
        "--collection",
        "Summer",
        "--json",
    ])
    .await
    .unwrap();
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    for sent in summary["sent"].as_array().unwrap() {
        assert_eq!(sent["via"]["batch"]["calls"], 8, "{sent}");
    }
    let first = run(&["share", "--account", ACCOUNT, "Summer/a.png"])
        .await
        .unwrap();
    let url = first.lines().next().unwrap().to_owned();
    assert!(url.starts_with("https://"), "{first}");
    assert!(
        first.contains("New link to /Acme (from Smartimage)/Summer/a.png"),
        "{first}"
    );
    let again = run(&["share", "--account", ACCOUNT, "Summer/a.png", "--json"])
        .await
        .unwrap();
    let again: serde_json::Value = serde_json::from_str(&again).unwrap();
    assert_eq!(again["url"], url.as_str());
    assert_eq!(again["created"], false);
    drop(handle);
}
