//! A library driven through the real binary, as an admin at a shell would: a data dir, a
//! config file and a synced "Dropbox" folder in one temp dir, the operator, an account with its
//! owner and a plain admin, the account linked to the synced folder.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

pub const OPERATOR: &str = "op@example.com";
pub const OWNER: &str = "olivia@acme.test";
pub const ADMIN: &str = "ada@acme.test";
pub const ACCOUNT: &str = "Acme";

pub struct Site {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
    pub data: PathBuf,
    pub dropbox: PathBuf,
    pub config: PathBuf,
}

impl Site {
    /// `config` is appended to a config that makes synced files importable at once.
    pub fn linked(config: &str) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let site = Site {
            data: root.join("data"),
            dropbox: root.join("Dropbox"),
            config: root.join("config.toml"),
            root,
            _dir: dir,
        };
        std::fs::create_dir_all(&site.dropbox).unwrap();
        std::fs::write(
            &site.config,
            format!("[import]\nsynced_folder_stable_secs = 0.05\n{config}"),
        )
        .unwrap();
        site.people();
        let folder = site.dropbox.display().to_string();
        site.ok(
            OWNER,
            &["link", "--account", ACCOUNT, "--local-folder", &folder],
        );
        site
    }

    /// `init`, the account, its owner and its plain admin.
    pub fn people(&self) {
        self.ok(
            OPERATOR,
            &["init", "--operator", OPERATOR, "--os-user", "nobody-here"],
        );
        self.ok(OPERATOR, &["account", "add", ACCOUNT, "--plan", "team"]);
        self.ok(OPERATOR, &["admin", "add", OWNER, "--owner", ACCOUNT]);
        self.ok(OPERATOR, &["admin", "add", ADMIN, "--admin", ACCOUNT]);
    }

    /// The binary on this site's data dir and config, acting as `actor`.
    pub fn command(&self, actor: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_smartimage"));
        cmd.env_remove("SMARTIMAGE_ADMIN")
            .arg("--data-dir")
            .arg(&self.data)
            .arg("--config")
            .arg(&self.config)
            .args(["--as", actor])
            .args(args)
            .stdin(Stdio::null());
        cmd
    }

    pub fn run(&self, actor: &str, args: &[&str]) -> Output {
        self.command(actor, args).output().unwrap()
    }

    /// Succeeds; returns stdout.
    pub fn ok(&self, actor: &str, args: &[&str]) -> String {
        let out = self.run(actor, args);
        assert!(
            out.status.success(),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

/// A PNG-looking file of `len` bytes, different for each seed.
pub fn png(seed: u32, len: usize) -> Vec<u8> {
    let mut bytes =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    bytes.extend_from_slice(&seed.to_le_bytes());
    bytes.resize(len, (seed % 251) as u8);
    bytes
}
