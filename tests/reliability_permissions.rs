//! The permission matrix: every headless verb that touches an account, run as each kind of
//! admin — operator, owner of the account, admin an owner delegated, plain admin, owner of
//! *another* account — each case on its own copy of one library. Allowed cases exit 0 and (when
//! they change something) leave an audit row naming the actor; denied cases exit 3, name the
//! missing right, and change nothing at all (every table compared before and after).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;

const OP: &str = "op@example.com";
const OWNER: &str = "owner@example.com";
const DELEGATE: &str = "delegate@example.com";
const ADMIN: &str = "admin@example.com";
const OTHER: &str = "other-owner@example.com";
const ROLES: [(&str, &str); 5] = [
    ("operator", OP),
    ("owner", OWNER),
    ("delegated admin", DELEGATE),
    ("plain admin", ADMIN),
    ("owner of another account", OTHER),
];
const EXIT_DENIED: i32 = 3;

fn run(root: &Path, actor: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_smartimage"))
        .env_remove("SMARTIMAGE_ADMIN")
        .env("NO_COLOR", "1")
        .current_dir(root)
        .arg("--data-dir")
        .arg(root.join("data"))
        .args(["--as", actor])
        .args(args)
        .output()
        .unwrap()
}

fn must(out: Output) -> Output {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Accounts Acme (the one under test) and Bakery; an operator; Acme's owner, a delegated admin
/// and a plain admin; Bakery's owner. Acme is linked to a synced folder and has one imported
/// file and one failed file.
fn base(root: &Path) {
    let data = root.join("data");
    let dropbox = root.join("Dropbox");
    std::fs::create_dir_all(dropbox.join("Acme")).unwrap();
    must(
        Command::new(env!("CARGO_BIN_EXE_smartimage"))
            .arg("--data-dir")
            .arg(&data)
            .args(["init", "--operator", OP, "--os-user", "nobody"])
            .output()
            .unwrap(),
    );
    for args in [
        &["account", "add", "Acme", "--plan", "team"][..],
        &["account", "add", "Bakery", "--plan", "team"],
        &["admin", "add", OWNER, "--owner", "Acme"],
        &["admin", "add", DELEGATE, "--admin", "Acme"],
        &["admin", "add", ADMIN, "--admin", "Acme"],
        &["admin", "add", OTHER, "--owner", "Bakery"],
    ] {
        must(run(root, OP, args));
    }
    must(run(
        root,
        OWNER,
        &["delegate", DELEGATE, "--account", "Acme"],
    ));
    must(run(
        root,
        OWNER,
        &["link", "--account", "Acme", "--local-folder", "Dropbox"],
    ));
    let mut png =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    png.resize(500, 7);
    std::fs::write(dropbox.join("Acme/photo.png"), &png).unwrap();
    std::fs::write(
        dropbox.join("Acme/setup.jpg"),
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xFF\xFF\x00\x00",
    )
    .unwrap();
    std::fs::write(root.join("upload.png"), &png[..400]).unwrap();
    std::thread::sleep(Duration::from_millis(2_200));
    must(run(root, OWNER, &["import", "--once"]));
    // File 2 (batch 2, an upload) waits in the trash; file 1 is batch 1, the import.
    must(run(
        root,
        OWNER,
        &["upload", "--account", "Acme", "upload.png"],
    ));
    must(run(root, OWNER, &["files", "delete", "2", "--yes"]));
}

/// Every row of every table, as text: equal before and after means nothing changed.
fn snapshot(root: &Path) -> String {
    let conn = rusqlite::Connection::open_with_flags(
        root.join("data/library.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = String::new();
    for table in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                Ok((0..columns)
                    .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                    .collect::<Vec<_>>()
                    .join("|"))
            })
            .unwrap();
        for row in rows {
            out.push_str(&format!("{table}: {}\n", row.unwrap()));
        }
    }
    out
}

fn audit_rows(root: &Path) -> Vec<(String, String)> {
    let conn = rusqlite::Connection::open(root.join("data/library.sqlite3")).unwrap();
    conn.prepare(
        "SELECT admins.email, audit.action FROM audit JOIN admins ON admins.id = audit.actor \
         ORDER BY audit.id",
    )
    .unwrap()
    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// A fresh copy of the base library (and its synced folder, relinked to the copy).
fn copy_of(base: &Path, into: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(base)
        .arg(into)
        .status()
        .unwrap();
    assert!(status.success());
}

struct Case {
    verb: &'static [&'static str],
    allowed: &'static [&'static str],
    /// Changes the library when allowed (so an audit row must name the actor).
    audited: bool,
}

const ALL: &[&str] = &[OP, OWNER, DELEGATE, ADMIN, OTHER];
const ACME_VIEWERS: &[&str] = &[OP, OWNER, DELEGATE, ADMIN];
/// Owners and admins of Acme: who move its files to the trash, restore them, undo its imports.
const ACME_MEMBERS: &[&str] = &[OWNER, DELEGATE, ADMIN];

const CASES: &[Case] = &[
    Case {
        verb: &["account", "add", "Cafe", "--plan", "team"],
        allowed: &[OP],
        audited: true,
    },
    Case {
        verb: &["account", "set-plan", "Acme", "--plan", "basic"],
        allowed: &[OP],
        audited: true,
    },
    Case {
        verb: &["account", "rename", "Acme", "Acme Global"],
        allowed: &[OP],
        audited: true,
    },
    Case {
        verb: &["account", "list", "--json"],
        allowed: ALL,
        audited: false,
    },
    Case {
        verb: &["admin", "add", "new@example.com", "--admin", "Acme"],
        allowed: &[OP, OWNER],
        audited: true,
    },
    Case {
        verb: &["admin", "add", "new@example.com", "--owner", "Acme"],
        allowed: &[OP, OWNER],
        audited: true,
    },
    Case {
        verb: &["admin", "add", "new@example.com"],
        allowed: &[OP],
        audited: true,
    },
    Case {
        verb: &["admin", "add", "new@example.com", "--operator"],
        allowed: &[OP],
        audited: true,
    },
    Case {
        verb: &["admin", "list", "--json"],
        allowed: ALL,
        audited: false,
    },
    Case {
        verb: &["delegate", ADMIN, "--account", "Acme"],
        allowed: &[OWNER],
        audited: true,
    },
    Case {
        verb: &["delegate", DELEGATE, "--account", "Acme", "--revoke"],
        allowed: &[OWNER],
        audited: true,
    },
    Case {
        verb: &["link", "--account", "Bakery", "--local-folder", "Dropbox"],
        allowed: &[OTHER],
        audited: true,
    },
    Case {
        verb: &["resume", "--account", "Acme"],
        allowed: &[OWNER, DELEGATE],
        audited: true,
    },
    Case {
        verb: &["unlink", "--account", "Acme"],
        allowed: &[OWNER, DELEGATE],
        audited: true,
    },
    Case {
        verb: &["pause", "--account", "Acme"],
        allowed: &[OWNER, DELEGATE],
        audited: true,
    },
    Case {
        verb: &["import", "--once", "--account", "Acme"],
        allowed: ACME_VIEWERS,
        audited: false,
    },
    Case {
        verb: &["errors", "list", "--account", "Acme", "--json"],
        allowed: ACME_VIEWERS,
        audited: false,
    },
    Case {
        verb: &["retry", "--account", "Acme"],
        allowed: ACME_VIEWERS,
        audited: true,
    },
    Case {
        verb: &["upload", "--account", "Acme", "upload.png"],
        allowed: ACME_VIEWERS,
        audited: true,
    },
    Case {
        verb: &["files", "list", "--account", "Acme", "--json"],
        allowed: ACME_VIEWERS,
        audited: false,
    },
    Case {
        verb: &["collection", "list", "--account", "Acme", "--json"],
        allowed: ACME_VIEWERS,
        audited: false,
    },
    Case {
        verb: &[
            "collection",
            "add",
            "--account",
            "Acme",
            "--collection",
            "Launch",
            "--create",
            "--source",
            "dropbox",
        ],
        allowed: ACME_VIEWERS,
        audited: true,
    },
    Case {
        verb: &["audit", "--json"],
        allowed: &[OP, OWNER, OTHER],
        audited: false,
    },
    Case {
        verb: &["files", "delete", "1", "--yes"],
        allowed: ACME_MEMBERS,
        audited: true,
    },
    Case {
        verb: &[
            "files",
            "delete",
            "--account",
            "Acme",
            "--source",
            "dropbox",
            "--yes",
        ],
        allowed: ACME_MEMBERS,
        audited: true,
    },
    Case {
        verb: &["files", "restore", "2"],
        allowed: ACME_MEMBERS,
        audited: true,
    },
    Case {
        verb: &["import", "undo", "1", "--yes"],
        allowed: ACME_MEMBERS,
        audited: true,
    },
    Case {
        verb: &["import", "history", "--account", "Acme", "--json"],
        allowed: ACME_VIEWERS,
        audited: false,
    },
    Case {
        verb: &["trash", "list", "--account", "Acme", "--json"],
        allowed: ACME_VIEWERS,
        audited: false,
    },
    Case {
        verb: &["trash", "empty", "--account", "Acme", "--yes"],
        allowed: &[OP, OWNER],
        audited: true,
    },
];

#[test]
fn every_verb_against_every_role_denies_exactly_what_it_should_and_audits_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let base_root = dir.path().join("base");
    std::fs::create_dir_all(&base_root).unwrap();
    base(&base_root);
    let before = snapshot(&base_root);
    let base_audit = audit_rows(&base_root).len();
    let (mut allowed, mut denied, mut audited) = (0, 0, 0);
    let mut n = 0;
    for case in CASES {
        for (role, actor) in ROLES {
            n += 1;
            let root: PathBuf = dir.path().join(format!("case{n}"));
            copy_of(&base_root, &root);
            let out = run(&root, actor, case.verb);
            let stderr = String::from_utf8_lossy(&out.stderr);
            let what = format!("{} as {role}", case.verb.join(" "));
            if case.allowed.contains(&actor) {
                assert_eq!(
                    out.status.code(),
                    Some(0),
                    "{what} must be allowed: {stderr}"
                );
                allowed += 1;
                let rows = audit_rows(&root);
                if case.audited {
                    let new: Vec<_> = rows[base_audit..].to_vec();
                    assert!(!new.is_empty(), "{what}: no audit row");
                    assert!(
                        new.iter().all(|(who, _)| who == actor),
                        "{what}: audit rows name someone else: {new:?}"
                    );
                    audited += 1;
                } else if case.verb[0] != "import" {
                    assert_eq!(rows.len(), base_audit, "{what}: a read wrote audit rows");
                }
            } else {
                assert_eq!(
                    out.status.code(),
                    Some(EXIT_DENIED),
                    "{what} must be denied: {stderr}"
                );
                assert!(stderr.contains("permission denied"), "{what}: {stderr}");
                assert!(
                    stderr.contains(actor),
                    "{what}: the message names who: {stderr}"
                );
                assert_eq!(
                    snapshot(&root),
                    before,
                    "{what}: a denied verb changed the library"
                );
                denied += 1;
            }
            std::fs::remove_dir_all(&root).unwrap();
        }
    }

    // Reads are scoped: the owner of another account sees nothing of Acme.
    let listing: Value = serde_json::from_slice(
        &must(run(&base_root, OTHER, &["account", "list", "--json"])).stdout,
    )
    .unwrap();
    let names: BTreeSet<&str> = listing
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, BTreeSet::from(["Bakery"]));
    let audit: Value =
        serde_json::from_slice(&must(run(&base_root, OTHER, &["audit", "--json"])).stdout).unwrap();
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .all(|row| row["account"].as_str() != Some("Acme")),
        "{audit}"
    );
    let files: Value =
        serde_json::from_slice(&must(run(&base_root, OTHER, &["files", "list", "--json"])).stdout)
            .unwrap();
    assert_eq!(files.as_array().unwrap().len(), 0, "{files}");
    // Someone the library does not know is refused outright.
    assert_eq!(
        run(&base_root, "stranger@example.com", &["files", "list"])
            .status
            .code(),
        Some(EXIT_DENIED)
    );
    eprintln!(
        "permission matrix: {} cases ({} verbs x {} roles): {allowed} allowed ({audited} with \
         their audit rows checked), {denied} denied with exit 3 and the library unchanged",
        CASES.len() * ROLES.len(),
        CASES.len(),
        ROLES.len()
    );
}
