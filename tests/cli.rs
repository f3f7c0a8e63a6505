//! The scripting contract, verb by verb: outputs, JSON shapes, exit codes (0 ok, 1 runtime
//! failure, 2 bad usage, 3 permission denied) and the audit rows mutations leave behind.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use smartimage::library::Library;
use smartimage::library::ids::{FileId, LinkId};
use smartimage::library::model::{DropboxOrigin, NewFile, Source};
use smartimage::library::policy::PlanCatalog;
use smartimage::library::store::{Store, files, people};

const OPERATOR: &str = "op@example.com";
const ACME_OWNER: &str = "olivia@acme.test";
const ACME_ADMIN: &str = "ada@acme.test";
const BAKERY_OWNER: &str = "ben@bakery.test";

struct Lib {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Lib {
    fn empty() -> Lib {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data");
        Lib { _dir: dir, path }
    }

    /// Operator, Acme Marketing (team) with an owner and a plain admin, Basic Bakery with an owner.
    fn with_people() -> Lib {
        let lib = Lib::empty();
        lib.ok(
            None,
            &[
                "init",
                "--operator",
                OPERATOR,
                "--os-user",
                "nobody-in-tests",
            ],
        );
        lib.ok(
            Some(OPERATOR),
            &["account", "add", "Acme Marketing", "--plan", "team"],
        );
        lib.ok(
            Some(OPERATOR),
            &["account", "add", "Basic Bakery", "--plan", "basic"],
        );
        lib.ok(
            Some(OPERATOR),
            &["admin", "add", ACME_OWNER, "--owner", "Acme Marketing"],
        );
        lib.ok(
            Some(OPERATOR),
            &["admin", "add", ACME_ADMIN, "--admin", "Acme Marketing"],
        );
        lib.ok(
            Some(OPERATOR),
            &["admin", "add", BAKERY_OWNER, "--owner", "Basic Bakery"],
        );
        lib
    }

    fn cmd(&self, actor: Option<&str>, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("smartimage").unwrap();
        cmd.env_remove("SMARTIMAGE_ADMIN")
            .env_remove("SMARTIMAGE_DATA_DIR");
        cmd.arg("--data-dir").arg(&self.path);
        if let Some(email) = actor {
            cmd.args(["--as", email]);
        }
        cmd.args(args);
        cmd
    }

    fn ok(&self, actor: Option<&str>, args: &[&str]) -> String {
        let out = self
            .cmd(actor, args)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).unwrap()
    }

    fn fails(&self, actor: Option<&str>, args: &[&str], code: i32, says: &str) {
        self.cmd(actor, args)
            .assert()
            .code(code)
            .stderr(predicate::str::contains(says));
    }

    fn json(&self, actor: Option<&str>, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(actor, args)).unwrap()
    }

    fn library(&self) -> Library {
        Library::open(&self.path, PlanCatalog::defaults()).unwrap()
    }

    /// A direct upload through the library (the upload verb is its own issue).
    fn upload(&self, actor: &str, account: &str, name: &str, bytes: &[u8]) -> FileId {
        let src = self.path.parent().unwrap().join(name);
        std::fs::write(&src, bytes).unwrap();
        let mut library = self.library();
        let who = library.actor(Some(actor), None).unwrap();
        library.add_local_file(&who, account, &src).unwrap().id
    }

    /// A file row as the import engine will write it: source Dropbox, with its origin.
    fn dropbox_file(&self, account: &str, name: &str, rev: &str) -> FileId {
        let mut store = Store::open(&self.path.join("library.sqlite3")).unwrap();
        store
            .transaction(|tx| -> rusqlite::Result<FileId> {
                let acct = people::account_by_name(tx, account)?.unwrap();
                tx.execute(
                    "INSERT OR IGNORE INTO dropbox_connections(id, dropbox_account_id, backend, created_at) VALUES (1, 'dbid:t', 'local', 0)",
                    [],
                )?;
                tx.execute(
                    "INSERT OR IGNORE INTO links(id, account, connection, folder_path, created_at) VALUES (?1, ?1, 1, ?2, 0)",
                    rusqlite::params![acct.id, format!("/{account}")],
                )?;
                let new = NewFile {
                    batch: None,
                    account: acct.id,
                    name: name.into(),
                    size: 1234,
                    kind: "image".into(),
                    format: "JPEG image".into(),
                    mime: "image/jpeg".into(),
                    sha256: "a".repeat(64),
                    source: Source::Dropbox,
                    uploaded_by: None,
                    imported_at: 1_790_000_000,
                    dropbox: Some(DropboxOrigin {
                        link: LinkId(acct.id.get()),
                        path: format!("/{account}/{name}"),
                        id: format!("id:{name}"),
                        rev: rev.into(),
                        content_hash: "b".repeat(64),
                    }),
                };
                files::insert_file(tx, &new, None)
            })
            .unwrap()
    }
}

fn png_bytes() -> Vec<u8> {
    let mut b =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    b.extend_from_slice(
        b"\0\0\0\x0bIDATx\x9cc\xf8\x0f\0\0\x01\x01\x00\x05\x18\xd8N\0\0\0\0IEND\xaeB`\x82",
    );
    b
}

fn names(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v[key].as_str().unwrap().to_owned())
        .collect()
}

fn audit_actions(lib: &Lib) -> Vec<String> {
    names(&lib.json(Some(OPERATOR), &["audit", "--json"]), "action")
}

#[test]
fn init_creates_the_operator_once() {
    let lib = Lib::empty();
    let out = lib.ok(
        None,
        &["init", "--operator", OPERATOR, "--os-user", "someone"],
    );
    assert!(out.contains(OPERATOR) && out.contains("someone"), "{out}");
    lib.fails(
        None,
        &["init", "--operator", "second@example.com"],
        2,
        "already initialized",
    );
    lib.fails(
        None,
        &["init", "--operator", "not-an-email"],
        2,
        "not a usable email",
    );
}

#[test]
fn verbs_before_init_say_how_to_start() {
    let lib = Lib::empty();
    lib.fails(
        Some(OPERATOR),
        &["account", "list"],
        2,
        "smartimage init --operator",
    );
}

#[test]
fn the_admin_bound_to_the_os_user_acts_without_as() {
    let lib = Lib::empty();
    let me = lib.ok(None, &["init", "--operator", OPERATOR]);
    assert!(me.contains("bound to OS user"), "{me}");
    lib.ok(None, &["account", "add", "Acme", "--plan", "team"]);
    let list = lib.json(None, &["account", "list", "--json"]);
    assert_eq!(names(&list, "name"), vec!["Acme"]);
}

#[test]
fn environment_variables_name_the_data_dir_and_the_admin() {
    let lib = Lib::with_people();
    let mut cmd = Command::cargo_bin("smartimage").unwrap();
    cmd.env("SMARTIMAGE_DATA_DIR", &lib.path)
        .env("SMARTIMAGE_ADMIN", ACME_OWNER);
    let out = cmd
        .args(["account", "list", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let list: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(names(&list, "name"), vec!["Acme Marketing"]);
}

#[test]
fn unknown_or_missing_actor_is_denied() {
    let lib = Lib::with_people();
    lib.fails(
        Some("stranger@example.com"),
        &["account", "list"],
        3,
        "not an admin of this library",
    );
    lib.fails(
        None,
        &["account", "list"],
        3,
        "no admin is bound to the OS user",
    );
}

#[test]
fn account_add_validates_names_and_plans_and_changes_nothing_on_error() {
    let lib = Lib::with_people();
    lib.fails(
        Some(OPERATOR),
        &["account", "add", "acme MARKETING", "--plan", "team"],
        2,
        "already exists",
    );
    lib.fails(
        Some(OPERATOR),
        &["account", "add", "New", "--plan", "platinum"],
        2,
        "no plan named",
    );
    lib.fails(
        Some(OPERATOR),
        &["account", "add", "   ", "--plan", "team"],
        2,
        "empty",
    );
    lib.fails(
        Some(OPERATOR),
        &["account", "add", &"x".repeat(81), "--plan", "team"],
        2,
        "limit is 80",
    );
    lib.fails(
        Some(OPERATOR),
        &["account", "add", "Evil\u{1b}[2J", "--plan", "team"],
        2,
        "U+001B",
    );
    let list = lib.json(Some(OPERATOR), &["account", "list", "--json"]);
    assert_eq!(names(&list, "name"), vec!["Acme Marketing", "Basic Bakery"]);
}

#[test]
fn only_operators_create_accounts_and_change_plans() {
    let lib = Lib::with_people();
    lib.fails(
        Some(ACME_OWNER),
        &["account", "add", "Mine", "--plan", "team"],
        3,
        "only operators create accounts",
    );
    lib.fails(
        Some(ACME_OWNER),
        &[
            "account",
            "set-plan",
            "Acme Marketing",
            "--plan",
            "multi-brand",
        ],
        3,
        "not an operator",
    );
    let out = lib.ok(
        Some(OPERATOR),
        &[
            "account",
            "set-plan",
            "Acme Marketing",
            "--plan",
            "multi-brand",
        ],
    );
    assert!(out.contains("multi-brand"), "{out}");
    let list = lib.json(Some(OPERATOR), &["account", "list", "--json"]);
    assert_eq!(list[0]["plan"], "multi-brand");
    assert!(audit_actions(&lib).contains(&"account.set-plan".to_string()));
}

#[test]
fn account_list_json_has_a_stable_shape_and_is_scoped_to_the_actor() {
    let lib = Lib::with_people();
    let list = lib.json(Some(ACME_ADMIN), &["account", "list", "--json"]);
    let accounts = list.as_array().unwrap();
    assert_eq!(accounts.len(), 1, "an admin sees only their accounts");
    let acme = &accounts[0];
    for key in [
        "id",
        "name",
        "plan",
        "created_at",
        "storage_used_bytes",
        "storage_limit_bytes",
        "video_used_bytes_this_month",
        "video_bytes_per_month",
        "owners",
        "admins",
        "delegates",
    ] {
        assert!(acme.get(key).is_some(), "missing {key} in {acme}");
    }
    assert_eq!(acme["storage_limit_bytes"], 200u64 << 30);
    assert_eq!(acme["owners"], serde_json::json!([ACME_OWNER]));
    let all = lib.json(Some(OPERATOR), &["account", "list", "--json"]);
    assert_eq!(all.as_array().unwrap().len(), 2);
}

#[test]
fn owners_add_admins_to_their_own_account_only() {
    let lib = Lib::with_people();
    lib.ok(
        Some(ACME_OWNER),
        &["admin", "add", "new@acme.test", "--admin", "Acme Marketing"],
    );
    lib.fails(
        Some(ACME_OWNER),
        &["admin", "add", "x@acme.test", "--admin", "Basic Bakery"],
        3,
        "not an owner of \"Basic Bakery\"",
    );
    lib.fails(
        Some(ACME_ADMIN),
        &["admin", "add", "y@acme.test", "--admin", "Acme Marketing"],
        3,
        "not an owner",
    );
    lib.fails(
        Some(ACME_OWNER),
        &["admin", "add", "z@acme.test", "--operator"],
        3,
        "not an operator",
    );
    lib.fails(
        Some(ACME_OWNER),
        &["admin", "add", "loner@acme.test"],
        3,
        "not an operator",
    );
    lib.fails(
        Some(OPERATOR),
        &["admin", "add", "bad email"],
        2,
        "not a usable email",
    );
    lib.fails(
        Some(OPERATOR),
        &["admin", "add", "q@x.test", "--admin", "Nowhere"],
        2,
        "no account named",
    );
    lib.ok(
        Some(OPERATOR),
        &["admin", "add", "u1@x.test", "--os-user", "u1"],
    );
    lib.fails(
        Some(OPERATOR),
        &["admin", "add", "u2@x.test", "--os-user", "u1"],
        2,
        "already bound",
    );
    let admins = lib.json(Some(OPERATOR), &["admin", "list", "--json"]);
    let emails = names(&admins, "email");
    assert!(emails.contains(&"new@acme.test".to_string()));
    assert!(
        !emails.contains(&"x@acme.test".to_string()),
        "a denied add leaves nothing behind"
    );
    let seen_by_owner = names(
        &lib.json(Some(BAKERY_OWNER), &["admin", "list", "--json"]),
        "email",
    );
    assert_eq!(
        seen_by_owner,
        vec![BAKERY_OWNER],
        "owners see admins of their accounts only"
    );
}

#[test]
fn owners_grant_and_revoke_dropbox_delegation() {
    let lib = Lib::with_people();
    lib.fails(
        Some(ACME_ADMIN),
        &["delegate", ACME_ADMIN, "--account", "Acme Marketing"],
        3,
        "only its owners grant",
    );
    lib.fails(
        Some(OPERATOR),
        &["delegate", ACME_ADMIN, "--account", "Acme Marketing"],
        3,
        "not an owner",
    );
    lib.fails(
        Some(BAKERY_OWNER),
        &["delegate", ACME_ADMIN, "--account", "Acme Marketing"],
        3,
        "not an owner",
    );
    lib.fails(
        Some(ACME_OWNER),
        &["delegate", BAKERY_OWNER, "--account", "Acme Marketing"],
        2,
        "is not an admin of",
    );
    lib.fails(
        Some(ACME_OWNER),
        &["delegate", "ghost@x.test", "--account", "Acme Marketing"],
        2,
        "is not an admin of this library",
    );
    let out = lib.ok(
        Some(ACME_OWNER),
        &["delegate", ACME_ADMIN, "--account", "Acme Marketing"],
    );
    assert!(out.contains("may now link Dropbox"), "{out}");
    let again = lib.ok(
        Some(ACME_OWNER),
        &["delegate", ACME_ADMIN, "--account", "acme marketing"],
    );
    assert!(again.contains("nothing changed"), "{again}");
    let list = lib.json(Some(ACME_OWNER), &["account", "list", "--json"]);
    assert_eq!(list[0]["delegates"], serde_json::json!([ACME_ADMIN]));
    lib.ok(
        Some(ACME_OWNER),
        &[
            "delegate",
            ACME_ADMIN,
            "--account",
            "Acme Marketing",
            "--revoke",
        ],
    );
    let list = lib.json(Some(ACME_OWNER), &["account", "list", "--json"]);
    assert_eq!(list[0]["delegates"], serde_json::json!([]));
    let actions = audit_actions(&lib);
    assert!(
        actions.contains(&"delegation.grant".to_string())
            && actions.contains(&"delegation.revoke".to_string())
    );
}

#[test]
fn files_list_json_shape_and_filters() {
    let lib = Lib::with_people();
    let uploaded = lib.upload(ACME_ADMIN, "Acme Marketing", "logo.png", &png_bytes());
    let from_dropbox = lib.dropbox_file("Acme Marketing", "beach.jpg", "0123456789a");
    lib.dropbox_file("Basic Bakery", "bread.jpg", "0123456789b");
    let all = lib.json(Some(ACME_ADMIN), &["files", "list", "--json"]);
    let list = all.as_array().unwrap();
    assert_eq!(
        list.len(),
        2,
        "an admin sees only their accounts' files: {all}"
    );
    let png = list.iter().find(|f| f["id"] == uploaded.get()).unwrap();
    for key in [
        "id",
        "account",
        "name",
        "size",
        "kind",
        "format",
        "mime",
        "sha256",
        "source",
        "uploaded_by",
        "collections",
        "dropbox_path",
        "imported_at",
    ] {
        assert!(png.get(key).is_some(), "missing {key} in {png}");
    }
    assert_eq!(png["kind"], "image");
    assert_eq!(png["mime"], "image/png");
    assert_eq!(png["source"], "upload");
    assert_eq!(png["size"], png_bytes().len());
    assert_eq!(png["uploaded_by"], ACME_ADMIN);
    assert!(png["imported_at"].as_str().unwrap().ends_with('Z'));
    let dropbox = lib.json(
        Some(ACME_ADMIN),
        &["files", "list", "--source", "dropbox", "--json"],
    );
    assert_eq!(dropbox.as_array().unwrap().len(), 1);
    assert_eq!(dropbox[0]["id"], from_dropbox.get());
    assert_eq!(dropbox[0]["dropbox_path"], "/Acme Marketing/beach.jpg");
    lib.fails(
        Some(ACME_ADMIN),
        &["files", "list", "--account", "Basic Bakery"],
        3,
        "not an admin of",
    );
    let op_all = lib.json(Some(OPERATOR), &["files", "list", "--json"]);
    assert_eq!(op_all.as_array().unwrap().len(), 3);
    let human = lib.ok(Some(ACME_ADMIN), &["files", "list"]);
    assert!(
        human.contains("Dropbox upload") && human.contains("logo.png"),
        "{human}"
    );
}

#[test]
fn collection_add_by_source_and_by_id_without_duplicates() {
    let lib = Lib::with_people();
    let a = lib.dropbox_file("Acme Marketing", "a.jpg", "0000000001");
    let b = lib.dropbox_file("Acme Marketing", "b.jpg", "0000000002");
    let up = lib.upload(ACME_OWNER, "Acme Marketing", "logo.png", &png_bytes());
    let bakery = lib.dropbox_file("Basic Bakery", "c.jpg", "0000000003");

    let out = lib.json(
        Some(ACME_ADMIN),
        &[
            "collection",
            "add",
            "--account",
            "Acme Marketing",
            "--collection",
            "Summer",
            "--create",
            "--source",
            "dropbox",
            "--json",
        ],
    );
    assert_eq!(
        (
            out["created"].clone(),
            out["added"].clone(),
            out["already_in_collection"].clone()
        ),
        (true.into(), 2.into(), 0.into())
    );
    let again = lib.json(
        Some(ACME_ADMIN),
        &[
            "collection",
            "add",
            "--account",
            "Acme Marketing",
            "--collection",
            "summer",
            "--source",
            "dropbox",
            "--json",
        ],
    );
    assert_eq!(
        (
            again["added"].clone(),
            again["already_in_collection"].clone()
        ),
        (0.into(), 2.into())
    );

    let text = lib.ok(
        Some(ACME_ADMIN),
        &[
            "collection",
            "add",
            "--account",
            "Acme Marketing",
            "--collection",
            "Summer",
            &up.to_string(),
            &a.to_string(),
        ],
    );
    assert!(
        text.contains("Added 1 file(s)") && text.contains("1 already there"),
        "{text}"
    );

    lib.fails(
        Some(ACME_ADMIN),
        &[
            "collection",
            "add",
            "--account",
            "Acme Marketing",
            "--collection",
            "Summer",
            &bakery.to_string(),
            &b.to_string(),
        ],
        2,
        "no file with id",
    );
    lib.fails(
        Some(ACME_ADMIN),
        &[
            "collection",
            "add",
            "--account",
            "Acme Marketing",
            "--collection",
            "SUMMER",
            "--create",
            "1",
        ],
        2,
        "already has a collection",
    );
    lib.fails(
        Some(ACME_ADMIN),
        &[
            "collection",
            "add",
            "--account",
            "Acme Marketing",
            "--collection",
            "Winter",
            "1",
        ],
        2,
        "pass --create",
    );
    lib.fails(
        Some(ACME_ADMIN),
        &[
            "collection",
            "add",
            "--account",
            "Basic Bakery",
            "--collection",
            "X",
            "--create",
            "--source",
            "dropbox",
        ],
        3,
        "not an admin of",
    );
    lib.fails(
        Some(ACME_ADMIN),
        &[
            "collection",
            "add",
            "--account",
            "Acme Marketing",
            "--collection",
            "X",
            "--create",
        ],
        2,
        "name the files",
    );

    let cols = lib.json(Some(ACME_ADMIN), &["collection", "list", "--json"]);
    assert_eq!(names(&cols, "name"), vec!["Summer"]);
    assert_eq!(cols[0]["files"], 3);
    assert_eq!(cols[0]["account"], "Acme Marketing");
    lib.fails(
        Some(ACME_ADMIN),
        &["collection", "list", "--account", "Basic Bakery"],
        3,
        "not an admin of",
    );
    let bakery_cols = lib.json(Some(BAKERY_OWNER), &["collection", "list", "--json"]);
    assert_eq!(
        bakery_cols,
        serde_json::json!([]),
        "collections are scoped to the actor"
    );
    let in_summer = lib.json(
        Some(ACME_ADMIN),
        &["files", "list", "--collection", "Summer", "--json"],
    );
    let mut ids: Vec<FileId> = in_summer
        .as_array()
        .unwrap()
        .iter()
        .map(|f| FileId(f["id"].as_i64().unwrap()))
        .collect();
    ids.sort();
    assert_eq!(ids, vec![a, b, up]);
    assert_eq!(in_summer[0]["collections"], serde_json::json!(["Summer"]));
    let actions = audit_actions(&lib);
    assert!(
        actions.contains(&"collection.create".to_string())
            && actions.contains(&"collection.add".to_string())
    );
}

#[test]
fn audit_is_for_operators_and_owners_of_their_accounts() {
    let lib = Lib::with_people();
    lib.ok(
        Some(ACME_OWNER),
        &["delegate", ACME_ADMIN, "--account", "Acme Marketing"],
    );
    let all = lib.json(Some(OPERATOR), &["audit", "--json"]);
    let first = &all[0];
    for key in ["id", "at", "actor", "action", "account", "target", "detail"] {
        assert!(first.get(key).is_some(), "missing {key} in {first}");
    }
    assert_eq!(first["action"], "delegation.grant");
    assert_eq!(first["actor"], ACME_OWNER);
    let owner_view = lib.json(Some(BAKERY_OWNER), &["audit", "--json"]);
    assert!(
        owner_view
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["account"] == "Basic Bakery"),
        "{owner_view}"
    );
    lib.fails(Some(ACME_ADMIN), &["audit"], 3, "owns no account");
}

#[test]
fn an_unwritable_data_dir_is_a_clear_runtime_failure() {
    let lib = Lib::empty();
    let file = lib.path.parent().unwrap().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let mut cmd = Command::cargo_bin("smartimage").unwrap();
    cmd.arg("--data-dir")
        .arg(file.join("sub"))
        .args(["init", "--operator", OPERATOR]);
    cmd.assert()
        .code(1)
        .stderr(predicate::str::contains("cannot create the data directory"));
}

#[test]
fn a_corrupt_library_is_reported_and_left_as_it_was() {
    let lib = Lib::empty();
    std::fs::create_dir_all(&lib.path).unwrap();
    let db = lib.path.join("library.sqlite3");
    let junk = vec![0x5au8; 4096];
    std::fs::write(&db, &junk).unwrap();
    lib.fails(Some(OPERATOR), &["account", "list"], 1, "damaged");
    assert_eq!(std::fs::read(&db).unwrap(), junk);
}

#[test]
fn bad_usage_exits_two() {
    let lib = Lib::with_people();
    lib.cmd(Some(OPERATOR), &["account", "frobnicate"])
        .assert()
        .code(2);
    lib.cmd(Some(OPERATOR), &["files", "list", "--source", "fax"])
        .assert()
        .code(2);
    let mut cmd = Command::cargo_bin("smartimage").unwrap();
    cmd.args(["--config", "/nonexistent/config.toml", "plans"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("config file"));
}

#[test]
fn plans_lists_the_catalogue_with_config_overrides() {
    let lib = Lib::empty();
    std::fs::create_dir_all(&lib.path).unwrap();
    let config = lib.path.join("config.toml");
    std::fs::write(&config, "[plans.basic]\nstorage_limit_bytes = 1000\n").unwrap();
    let mut cmd = Command::cargo_bin("smartimage").unwrap();
    let out = cmd
        .arg("--config")
        .arg(&config)
        .args(["plans", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let plans: Value = serde_json::from_slice(&out).unwrap();
    let basic = plans
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "basic")
        .unwrap();
    assert_eq!(basic["storage_limit_bytes"], 1000);
    assert_eq!(basic["video_bytes_per_month"], 0);
    assert_eq!(
        names(&plans, "name"),
        vec!["basic", "multi-brand", "team", "trial"]
    );
}

fn demo(dir: &Path) -> assert_cmd::assert::Assert {
    let mut cmd = Command::cargo_bin("smartimage").unwrap();
    cmd.env_remove("SMARTIMAGE_ADMIN")
        .arg("--data-dir")
        .arg(dir)
        .args(["demo", "--headless"])
        .assert()
}

#[test]
fn demo_makes_three_accounts_with_owners_and_a_delegate_and_can_be_remade() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let out = String::from_utf8(demo(&data).success().get_output().stdout.clone()).unwrap();
    for text in [
        "Acme Marketing",
        "Basic Bakery",
        "Trial Studio",
        "basic",
        "(delegated)",
        "Imported 12 file(s)",
        "4 failed and stayed in Dropbox",
        "video_on_basic_plan",
        "video_too_large",
        "contains a Windows executable",
        "ZIP archive",
    ] {
        assert!(out.contains(text), "missing {text:?} in\n{out}");
    }
    demo(&data).success();
    let lib = Lib {
        _dir: tempfile::tempdir().unwrap(),
        path: data,
    };
    let list = lib.json(
        Some("operator@demo.smartimage.test"),
        &["account", "list", "--json"],
    );
    assert_eq!(
        list.as_array().unwrap().len(),
        3,
        "a second run starts fresh"
    );
    let files = lib.json(
        Some("operator@demo.smartimage.test"),
        &["files", "list", "--source", "dropbox", "--json"],
    );
    assert_eq!(
        files.as_array().unwrap().len(),
        12,
        "and imports the same again, once"
    );
    let errors = lib.json(
        Some("operator@demo.smartimage.test"),
        &["errors", "list", "--json"],
    );
    let kinds: std::collections::BTreeSet<String> = errors
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    let expected: std::collections::BTreeSet<String> = [
        "unsupported_format",
        "video_on_basic_plan",
        "video_too_large",
    ]
    .map(String::from)
    .into();
    assert_eq!(kinds, expected);
    assert!(
        errors
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["reported"] == true)
    );
}

#[test]
fn demo_refuses_a_directory_that_is_not_a_demo() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("precious.txt"), "keep me").unwrap();
    demo(dir.path())
        .code(2)
        .stderr(predicate::str::contains("not a demo library"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("precious.txt")).unwrap(),
        "keep me"
    );
}

#[test]
fn only_owners_and_delegated_admins_link_dropbox() {
    let lib = Lib::with_people();
    let dropbox = lib.path.parent().unwrap().join("Dropbox");
    std::fs::create_dir_all(&dropbox).unwrap();
    let folder = dropbox.to_str().unwrap();
    let link = [
        "link",
        "--account",
        "Acme Marketing",
        "--local-folder",
        folder,
    ];
    lib.fails(Some(ACME_ADMIN), &link, 3, "may not link Dropbox");
    lib.fails(Some(OPERATOR), &link, 3, "may not link Dropbox");
    lib.fails(Some(BAKERY_OWNER), &link, 3, "may not link Dropbox");
    lib.ok(
        Some(ACME_OWNER),
        &["delegate", ACME_ADMIN, "--account", "Acme Marketing"],
    );
    let out = lib.ok(Some(ACME_ADMIN), &link);
    assert!(
        out.contains("its folder there is \"/Acme Marketing\""),
        "{out}"
    );
    assert!(
        dropbox.join("Acme Marketing").is_dir(),
        "the account folder is made"
    );
    lib.fails(Some(ACME_OWNER), &link, 2, "already linked");
    lib.fails(
        Some(ACME_OWNER),
        &["link", "--account", "Acme Marketing"],
        2,
        "--local-folder",
    );
    assert!(audit_actions(&lib).contains(&"link".to_string()));
}

#[test]
fn import_errors_retry_pause_and_unlink_from_the_command_line() {
    let lib = Lib::with_people();
    let dropbox = lib.path.parent().unwrap().join("Dropbox");
    std::fs::create_dir_all(&dropbox).unwrap();
    lib.ok(
        Some(BAKERY_OWNER),
        &[
            "link",
            "--account",
            "Basic Bakery",
            "--local-folder",
            dropbox.to_str().unwrap(),
        ],
    );
    lib.fails(
        Some(OPERATOR),
        &["import", "--once", "--account", "Acme Marketing"],
        2,
        "not linked",
    );
    let mp4 = b"\0\0\0\x18ftypisom\0\0\0\0isommp41 a short clip".to_vec();
    std::fs::write(dropbox.join("Basic Bakery/clip.mp4"), mp4).unwrap();
    std::fs::write(dropbox.join("Basic Bakery/logo.png"), png_bytes()).unwrap();
    // The synced folder reports a file once it has been still for 2 s.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let out = lib.ok(Some(BAKERY_OWNER), &["import", "--once"]);
    assert!(
        out.contains("Imported 1 file(s)") && out.contains("1 failed"),
        "{out}"
    );
    let errors = lib.json(Some(BAKERY_OWNER), &["errors", "list", "--json"]);
    let e = &errors[0];
    for key in [
        "id",
        "account",
        "path",
        "size",
        "kind",
        "format",
        "detail",
        "attempts",
        "reported",
        "failed_at",
    ] {
        assert!(e.get(key).is_some(), "missing {key} in {e}");
    }
    assert_eq!(e["kind"], "video_on_basic_plan");
    assert_eq!(e["path"], "/Basic Bakery/clip.mp4");
    assert_eq!(e["reported"], true);
    let acme_view = lib.json(Some(ACME_OWNER), &["errors", "list", "--json"]);
    assert_eq!(
        acme_view,
        serde_json::json!([]),
        "errors are scoped to the actor's accounts"
    );
    let id = e["id"].to_string();
    lib.fails(
        Some(ACME_OWNER),
        &["retry", &id],
        2,
        "no failed import with id",
    );
    let out = lib.ok(Some(BAKERY_OWNER), &["retry", &id]);
    assert!(out.contains("1 failed import(s) queued again"), "{out}");
    lib.ok(Some(BAKERY_OWNER), &["pause", "--account", "Basic Bakery"]);
    let paused = lib.ok(Some(BAKERY_OWNER), &["import", "--once"]);
    assert!(
        paused.contains("Imported 0 file(s)"),
        "a paused link is left alone: {paused}"
    );
    lib.ok(Some(BAKERY_OWNER), &["resume", "--account", "Basic Bakery"]);
    let again = lib.ok(Some(BAKERY_OWNER), &["import", "--once"]);
    assert!(
        again.contains("1 failed"),
        "the retried file is tried again: {again}"
    );
    lib.ok(Some(BAKERY_OWNER), &["unlink", "--account", "Basic Bakery"]);
    let files = lib.json(Some(BAKERY_OWNER), &["files", "list", "--json"]);
    assert_eq!(
        files.as_array().unwrap().len(),
        1,
        "unlinking keeps imported files"
    );
    assert!(
        dropbox.join("Basic Bakery/clip.mp4").exists(),
        "and touches nothing in Dropbox"
    );
}

#[test]
fn operators_rename_accounts_and_the_dropbox_folder_follows() {
    let lib = Lib::with_people();
    let dropbox = lib.path.parent().unwrap().join("Dropbox");
    std::fs::create_dir_all(&dropbox).unwrap();
    lib.ok(
        Some(ACME_OWNER),
        &[
            "link",
            "--account",
            "Acme Marketing",
            "--local-folder",
            dropbox.to_str().unwrap(),
        ],
    );
    lib.fails(
        Some(ACME_OWNER),
        &["account", "rename", "Acme Marketing", "Acme"],
        3,
        "only operators",
    );
    lib.fails(
        Some(OPERATOR),
        &["account", "rename", "Acme Marketing", "basic bakery"],
        2,
        "already exists",
    );
    let out = lib.ok(
        Some(OPERATOR),
        &["account", "rename", "Acme Marketing", "Acme Global"],
    );
    assert!(
        out.contains("\"Acme Global\"") && out.contains("/Acme Global"),
        "{out}"
    );
    assert!(dropbox.join("Acme Global").is_dir() && !dropbox.join("Acme Marketing").exists());
    let accounts = lib.json(Some(OPERATOR), &["account", "list", "--json"]);
    assert_eq!(accounts[0]["name"], "Acme Global");
    assert_eq!(accounts[0]["dropbox"]["folder"], "/Acme Global");
    assert!(audit_actions(&lib).contains(&"account.rename".to_string()));
}

#[test]
fn upload_takes_a_tree_under_the_plan_rules_and_never_touches_the_source() {
    let lib = Lib::with_people();
    let src = lib.path.parent().unwrap().join("to-upload");
    std::fs::create_dir_all(src.join("photos/2026")).unwrap();
    std::fs::write(src.join("photos/logo.png"), png_bytes()).unwrap();
    let mut second = png_bytes();
    second.extend_from_slice(b"second image");
    std::fs::write(src.join("photos/2026/banner.png"), &second).unwrap();
    let mp4 = b"\0\0\0\x18ftypisom\0\0\0\0isommp41 a short clip".to_vec();
    std::fs::write(src.join("clip.mp4"), &mp4).unwrap();
    let mut exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xFF\xFF\x00\x00".to_vec();
    exe.resize(300, 0);
    std::fs::write(src.join("photos/setup.jpg"), &exe).unwrap();
    std::fs::write(src.join(".DS_Store"), b"junk").unwrap();
    let before: Vec<(String, Vec<u8>)> = [
        "photos/logo.png",
        "photos/2026/banner.png",
        "clip.mp4",
        "photos/setup.jpg",
    ]
    .iter()
    .map(|p| (p.to_string(), std::fs::read(src.join(p)).unwrap()))
    .collect();
    let src_arg = src.to_str().unwrap();

    lib.fails(
        Some(BAKERY_OWNER),
        &["upload", "--account", "Acme Marketing", src_arg],
        3,
        "not an admin of",
    );
    // Basic: the video is refused (no video on Basic), the executable named .jpg too.
    let out = lib
        .cmd(
            Some(BAKERY_OWNER),
            &["upload", "--account", "Basic Bakery", "--json", src_arg],
        )
        .assert()
        .code(4);
    let report: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(report["uploaded"].as_array().unwrap().len(), 2, "{report}");
    let kinds: Vec<&str> = report["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.len(), 2);
    assert!(
        kinds.contains(&"video_on_basic_plan") && kinds.contains(&"unsupported_format"),
        "{kinds:?}"
    );
    assert_eq!(report["uploaded"][0]["source"], "upload");
    assert_eq!(report["uploaded"][0]["uploaded_by"], BAKERY_OWNER);
    // Team takes the video; the executable is still refused.
    let text = lib
        .cmd(
            Some(ACME_ADMIN),
            &["upload", "--account", "Acme Marketing", src_arg],
        )
        .assert()
        .code(4);
    let text = String::from_utf8(text.get_output().stdout.clone()).unwrap();
    assert!(
        text.contains("Uploaded 3 file(s)") && text.contains("1 rejected"),
        "{text}"
    );
    for (rel, bytes) in &before {
        assert_eq!(
            &std::fs::read(src.join(rel)).unwrap(),
            bytes,
            "{rel} untouched"
        );
    }
    let uploads = lib.json(
        Some(OPERATOR),
        &["files", "list", "--source", "upload", "--json"],
    );
    assert_eq!(uploads.as_array().unwrap().len(), 5);
    let dropbox_only = lib.json(
        Some(OPERATOR),
        &["files", "list", "--source", "dropbox", "--json"],
    );
    assert_eq!(
        dropbox_only,
        serde_json::json!([]),
        "the Dropbox upload filter hides direct uploads"
    );
    let one = lib.ok(
        Some(ACME_ADMIN),
        &[
            "upload",
            "--account",
            "Acme Marketing",
            src.join("photos/logo.png").to_str().unwrap(),
        ],
    );
    // Its bytes are in Acme already (from the tree): skipped, named, nothing added.
    assert!(
        one.contains("Uploaded 0 file(s)")
            && one.contains("1 skipped")
            && one.contains("logo.png: already in the library (file "),
        "{one}"
    );
    assert!(audit_actions(&lib).contains(&"file.add".to_string()));
}

#[test]
fn a_large_upload_goes_in_batches_and_stops_exactly_at_the_storage_limit() {
    let lib = Lib::with_people();
    let src = lib.path.parent().unwrap().join("many");
    std::fs::create_dir_all(&src).unwrap();
    // 600 distinct PNGs of 100 bytes: more than two upload batches.
    for i in 0..600 {
        let mut png = png_bytes();
        png.resize(100, 0);
        png[90..98].copy_from_slice(&(i as u64).to_le_bytes());
        std::fs::write(src.join(format!("img{i:03}.png")), &png).unwrap();
    }
    let config = lib.path.join("config.toml");
    // Room for 450 of them (the Basic plan's other limits unchanged).
    std::fs::write(&config, "[plans.basic]\nstorage_limit_bytes = 45000\n").unwrap();
    let out = lib
        .cmd(
            Some(BAKERY_OWNER),
            &[
                "--config",
                config.to_str().unwrap(),
                "upload",
                "--account",
                "Basic Bakery",
                "--json",
                src.to_str().unwrap(),
            ],
        )
        .assert()
        .code(4);
    let report: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let uploaded = report["uploaded"].as_array().unwrap();
    let rejected = report["rejected"].as_array().unwrap();
    assert_eq!(
        (uploaded.len(), rejected.len()),
        (450, 150),
        "{}",
        rejected[0]
    );
    assert!(rejected.iter().all(|r| r["kind"] == "storage_limit"));
    // Every upload is a row with its audit row, and the sources are all still there.
    let listed = lib.json(
        Some(BAKERY_OWNER),
        &["files", "list", "--account", "Basic Bakery", "--json"],
    );
    assert_eq!(listed.as_array().unwrap().len(), 450);
    let audit = lib.json(Some(OPERATOR), &["audit", "--json", "--limit", "1000"]);
    let adds = names(&audit, "action")
        .iter()
        .filter(|a| *a == "file.add")
        .count();
    assert_eq!(adds, 450);
    assert_eq!(std::fs::read_dir(&src).unwrap().count(), 600);
}

/// `smartimage formats | head -1`: the reader closes the pipe early; the verb ends quietly
/// with a Unix tool's SIGPIPE status, not a panic and a backtrace.
#[test]
fn a_reader_that_closes_the_pipe_early_gets_no_panic() {
    // The pipe's reading end is closed before the process starts, so its first line meets a
    // closed pipe however the two are scheduled (closing it after `spawn` raced the child's
    // writes into the pipe's buffer on a busy machine).
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("smartimage"))
        .arg("formats")
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// A library with Acme Marketing linked to a synced folder, and a config file that makes the
/// folder report files after 50 ms (the default is 2 s) plus `extra` config lines.
fn linked_acme(extra: &str) -> (Lib, PathBuf, PathBuf) {
    let lib = Lib::with_people();
    let dropbox = lib.path.parent().unwrap().join("Dropbox");
    std::fs::create_dir_all(&dropbox).unwrap();
    lib.ok(
        Some(ACME_OWNER),
        &[
            "link",
            "--account",
            "Acme Marketing",
            "--local-folder",
            dropbox.to_str().unwrap(),
        ],
    );
    let config = lib.path.parent().unwrap().join("config.toml");
    std::fs::write(
        &config,
        format!("[import]\nsynced_folder_stable_secs = 0.05\n{extra}"),
    )
    .unwrap();
    (lib, dropbox.join("Acme Marketing"), config)
}

fn import_once(lib: &Lib, config: &Path) -> String {
    std::thread::sleep(std::time::Duration::from_millis(200));
    lib.ok(
        Some(ACME_OWNER),
        &["--config", config.to_str().unwrap(), "import", "--once"],
    )
}

/// The text of the account folder's TXT reports.
fn reports_in(folder: &Path) -> Vec<String> {
    std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            name.starts_with("Smartimage upload errors") && name.ends_with(".txt")
        })
        .map(|path| std::fs::read_to_string(path).unwrap())
        .collect()
}

#[test]
fn a_file_name_that_is_not_text_is_one_failure_shown_escaped_in_errors_and_the_report() {
    use std::os::unix::ffi::OsStrExt;
    let (lib, folder, config) = linked_acme("");
    let bad = folder.join(std::ffi::OsStr::from_bytes(b"caf\xe9.png"));
    std::fs::write(&bad, png_bytes()).unwrap();
    let out = import_once(&lib, &config);
    assert!(
        out.contains("Imported 0 file(s)") && out.contains("1 failed"),
        "{out}"
    );
    assert!(out.contains("/Acme Marketing/caf\\xE9.png"), "{out}");
    let errors = lib.json(Some(ACME_OWNER), &["errors", "list", "--json"]);
    let errors = errors.as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["kind"], "invalid_name");
    assert_eq!(errors[0]["path"], "/Acme Marketing/caf\\xE9.png");
    assert_eq!(errors[0]["reported"], true);
    let reports = reports_in(&folder);
    assert_eq!(reports.len(), 1);
    assert!(
        reports[0].contains("File name that is not valid text")
            && reports[0].contains("/Acme Marketing/caf\\xE9.png")
            && reports[0].contains("Rename the file"),
        "{}",
        reports[0]
    );
    assert_eq!(std::fs::read(&bad).unwrap(), png_bytes(), "left untouched");

    let again = import_once(&lib, &config);
    assert!(again.contains("0 failed"), "reported once: {again}");
    let errors = lib.json(Some(ACME_OWNER), &["errors", "list", "--json"]);
    assert_eq!(errors.as_array().unwrap().len(), 1);
    assert_eq!(reports_in(&folder).len(), 1);
    assert!(bad.exists());
}

#[test]
fn emptied_folders_go_unless_the_config_keeps_them() {
    let (lib, folder, config) = linked_acme("");
    std::fs::create_dir_all(folder.join("tree/2026/spring/raw")).unwrap();
    std::fs::write(folder.join("tree/2026/spring/raw/a.png"), png_bytes()).unwrap();
    let out = import_once(&lib, &config);
    assert!(out.contains("Imported 1 file(s)"), "{out}");
    assert!(!folder.join("tree").exists());
    assert!(folder.is_dir(), "the account folder stays");

    let (lib, folder, config) = linked_acme("remove_emptied_folders = false\n");
    std::fs::create_dir_all(folder.join("batch50")).unwrap();
    std::fs::write(folder.join("batch50/a.png"), png_bytes()).unwrap();
    let out = import_once(&lib, &config);
    assert!(out.contains("Imported 1 file(s)"), "{out}");
    assert!(folder.join("batch50").is_dir());
    assert_eq!(
        std::fs::read_dir(folder.join("batch50")).unwrap().count(),
        0
    );
}
