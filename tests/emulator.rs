#![cfg(feature = "emulator")]
//! The Dropbox emulator, driven over HTTP with reqwest exactly as our client will drive it.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use smartimage::dropbox::arg_header::{decode_api_result, encode_api_arg};
use smartimage::dropbox::content_hash::content_hash;
use smartimage::dropbox::emulator::{
    AccountConfig, AuthCodeConfig, Emulator, EmulatorConfig, EmulatorHandle, FaultConfig,
    TlsConfig, pkce_challenge,
};
use smartimage::dropbox::wire::{FileMetadata, ListFolderResult, Metadata};

const ACME: &str = "dbid:AAAacme";
const BETA: &str = "dbid:AAAbeta";
const ACME_TOKEN: &str = "acme-token";
const BETA_TOKEN: &str = "beta-token";
const ACME_REFRESH: &str = "acme-refresh";

struct Fixture {
    base: String,
    handle: EmulatorHandle,
    http: reqwest::Client,
    /// `None` when the test owns the root (to restart over it).
    _root: Option<tempfile::TempDir>,
}

fn base_config(root: PathBuf) -> EmulatorConfig {
    let mut config = EmulatorConfig::new(root)
        .with_account(
            AccountConfig::new(ACME, "admin@acme.test", "Ada Acme")
                .with_access_token(ACME_TOKEN)
                .with_refresh_token(ACME_REFRESH),
        )
        .with_account(
            AccountConfig::new(BETA, "bob@beta.test", "Bob Beta").with_access_token(BETA_TOKEN),
        );
    // 30 s of longpoll become 30 ms.
    config.longpoll_time_scale = 0.001;
    config
}

async fn fixture() -> Fixture {
    fixture_with(|_| {}).await
}

async fn fixture_with(adjust: impl FnOnce(&mut EmulatorConfig)) -> Fixture {
    let root = tempfile::tempdir().unwrap();
    let mut config = base_config(root.path().to_path_buf());
    adjust(&mut config);
    let (base, handle) = Emulator::start(config).await.unwrap();
    Fixture {
        base,
        handle,
        http: reqwest::Client::new(),
        _root: Some(root),
    }
}

/// An emulator over a root the test keeps.
async fn fixture_on(root: &std::path::Path) -> Fixture {
    let (base, handle) = Emulator::start(base_config(root.to_path_buf()))
        .await
        .unwrap();
    Fixture {
        base,
        handle,
        http: reqwest::Client::new(),
        _root: None,
    }
}

impl Fixture {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn rpc_raw(&self, token: &str, route: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url(&format!("/2/{route}")))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    async fn rpc_as(&self, token: &str, route: &str, body: Value) -> (StatusCode, Value) {
        let response = self.rpc_raw(token, route, &body).await;
        let status = response.status();
        let text = response.text().await.unwrap();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    async fn rpc(&self, route: &str, body: Value) -> (StatusCode, Value) {
        self.rpc_as(ACME_TOKEN, route, body).await
    }

    async fn ok(&self, route: &str, body: Value) -> Value {
        let (status, value) = self.rpc(route, body).await;
        assert_eq!(status, StatusCode::OK, "{route}: {value}");
        value
    }

    async fn upload_arg(&self, arg: Value, bytes: &[u8]) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.url("/2/files/upload"))
            .bearer_auth(ACME_TOKEN)
            .header("Content-Type", "application/octet-stream")
            .header("Dropbox-API-Arg", encode_api_arg(&arg).unwrap())
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn upload(&self, path: &str, bytes: &[u8]) -> FileMetadata {
        let (status, value) = self.upload_arg(json!({"path": path}), bytes).await;
        assert_eq!(status, StatusCode::OK, "upload {path}: {value}");
        serde_json::from_value(value).unwrap()
    }

    async fn download_with(&self, path: &str, range: Option<&str>) -> reqwest::Response {
        let mut request = self
            .http
            .post(self.url("/2/files/download"))
            .bearer_auth(ACME_TOKEN)
            .header(
                "Dropbox-API-Arg",
                encode_api_arg(&json!({"path": path})).unwrap(),
            );
        if let Some(range) = range {
            request = request.header("Range", range);
        }
        request.send().await.unwrap()
    }

    /// Body and parsed `Dropbox-API-Result` of a successful download.
    async fn download(&self, path: &str) -> (Vec<u8>, FileMetadata) {
        let response = self.download_with(path, None).await;
        assert_eq!(response.status(), StatusCode::OK);
        let result = result_header(&response);
        (response.bytes().await.unwrap().to_vec(), result)
    }

    async fn list(&self, path: &str, recursive: bool) -> ListFolderResult {
        let value = self
            .ok(
                "files/list_folder",
                json!({"path": path, "recursive": recursive}),
            )
            .await;
        serde_json::from_value(value).unwrap()
    }

    async fn continue_from(&self, cursor: &str) -> ListFolderResult {
        let value = self
            .ok("files/list_folder/continue", json!({"cursor": cursor}))
            .await;
        serde_json::from_value(value).unwrap()
    }

    async fn post_form(&self, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.url("/oauth2/token"))
            .form(form)
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap())
    }

    async fn longpoll(&self, body: Value) -> (StatusCode, Value) {
        // The notify host takes no Authorization header.
        let response = self
            .http
            .post(self.url("/2/files/list_folder/longpoll"))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn admin(&self, path: &str, body: Value) -> StatusCode {
        self.http
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap()
            .status()
    }

    fn acme_dir(&self) -> PathBuf {
        self.handle.account_dir(ACME).unwrap()
    }
}

fn result_header(response: &reqwest::Response) -> FileMetadata {
    let header = response
        .headers()
        .get("Dropbox-API-Result")
        .expect("Dropbox-API-Result header");
    decode_api_result(header.to_str().expect("ASCII-safe header")).unwrap()
}

fn paths_of(entries: &[Metadata]) -> Vec<(&'static str, String)> {
    entries
        .iter()
        .map(|entry| {
            let kind = match entry {
                Metadata::File(_) => "file",
                Metadata::Folder(_) => "folder",
                Metadata::Deleted(_) => "deleted",
                Metadata::Unknown(_) => "unknown",
            };
            (kind, entry.path_lower().unwrap_or_default().to_owned())
        })
        .collect()
}

fn file_entry<'a>(entries: &'a [Metadata], lower: &str) -> &'a FileMetadata {
    entries
        .iter()
        .find_map(|entry| match entry {
            Metadata::File(file) if file.path_lower.as_deref() == Some(lower) => Some(file),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no file {lower} in {entries:?}"))
}

fn is_rev(rev: &str) -> bool {
    rev.len() >= 9
        && rev
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

// ----- account and authentication -------------------------------------------------------------

#[tokio::test]
async fn current_account_comes_from_the_config_with_null_or_empty_body() {
    let emu = fixture().await;
    let account = emu.ok("users/get_current_account", Value::Null).await;
    assert_eq!(account["account_id"], ACME);
    assert_eq!(account["email"], "admin@acme.test");
    assert_eq!(account["name"]["display_name"], "Ada Acme");
    assert_eq!(account["name"]["abbreviated_name"], "AA");
    let empty = emu
        .http
        .post(emu.url("/2/users/get_current_account"))
        .bearer_auth(BETA_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), StatusCode::OK);
    assert_eq!(empty.json::<Value>().await.unwrap()["account_id"], BETA);
}

#[tokio::test]
async fn a_form_body_on_a_void_route_is_a_plain_text_400() {
    let emu = fixture().await;
    let response = emu
        .http
        .post(emu.url("/2/users/get_current_account"))
        .bearer_auth(ACME_TOKEN)
        .form(&[("a", "b")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("Content-Type"));
}

#[tokio::test]
async fn unknown_token_is_401_invalid_access_token_and_missing_auth_is_400() {
    let emu = fixture().await;
    let (status, body) = emu
        .rpc_as("nope", "users/get_current_account", Value::Null)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"][".tag"], "invalid_access_token");
    assert!(
        body["error_summary"]
            .as_str()
            .unwrap()
            .starts_with("invalid_access_token/")
    );
    let response = emu
        .http
        .post(emu.url("/2/files/list_folder"))
        .json(&json!({"path": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn accounts_do_not_see_each_others_files() {
    let emu = fixture().await;
    emu.upload("/Acme/secret.txt", b"acme only").await;
    let (status, value) = emu
        .rpc_as(
            BETA_TOKEN,
            "files/list_folder",
            json!({"path": "", "recursive": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(value["entries"], json!([]));
    let (status, value) = emu
        .rpc_as(
            BETA_TOKEN,
            "files/get_metadata",
            json!({"path": "/Acme/secret.txt"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(value["error"]["path"][".tag"], "not_found");
}

// ----- upload, metadata, listing ---------------------------------------------------------------

#[tokio::test]
async fn upload_gives_real_hash_hex_rev_and_case_preserving_paths() {
    let emu = fixture().await;
    let bytes = b"hello dropbox";
    let file = emu.upload("/Acme/Photo.JPG", bytes).await;
    assert_eq!(file.name, "Photo.JPG");
    assert_eq!(file.path_lower.as_deref(), Some("/acme/photo.jpg"));
    assert_eq!(file.path_display.as_deref(), Some("/Acme/Photo.JPG"));
    assert_eq!(file.size, bytes.len() as u64);
    assert_eq!(
        file.content_hash.as_deref(),
        Some(content_hash(bytes).as_str())
    );
    assert!(is_rev(&file.rev), "{}", file.rev);
    assert!(file.id.starts_with("id:"));
    let on_disk = std::fs::read(emu.acme_dir().join("Acme/Photo.JPG")).unwrap();
    assert_eq!(on_disk, bytes);

    // Any casing finds it; a new file in the folder keeps the folder's stored casing.
    let found = emu
        .ok("files/get_metadata", json!({"path": "/ACME/photo.jpg"}))
        .await;
    assert_eq!(found[".tag"], "file");
    assert_eq!(found["path_display"], "/Acme/Photo.JPG");
    let other = emu.upload("/ACME/other.txt", b"x").await;
    assert_eq!(other.path_display.as_deref(), Some("/Acme/other.txt"));
}

#[tokio::test]
async fn get_metadata_by_id_and_of_deleted_paths() {
    let emu = fixture().await;
    let file = emu.upload("/a.txt", b"a").await;
    let by_id = emu.ok("files/get_metadata", json!({"path": file.id})).await;
    assert_eq!(by_id["path_lower"], "/a.txt");
    emu.ok("files/delete_v2", json!({"path": "/a.txt"})).await;
    let (status, gone) = emu
        .rpc("files/get_metadata", json!({"path": "/a.txt"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        gone["error"],
        json!({".tag": "path", "path": {".tag": "not_found"}})
    );
    assert!(
        gone["error_summary"]
            .as_str()
            .unwrap()
            .starts_with("path/not_found/")
    );
    let tombstone = emu
        .ok(
            "files/get_metadata",
            json!({"path": "/a.txt", "include_deleted": true}),
        )
        .await;
    assert_eq!(tombstone[".tag"], "deleted");
    let (status, _) = emu.rpc("files/get_metadata", json!({"path": ""})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn recursive_listing_puts_parents_first_and_pages_by_limit() {
    let emu = fixture().await;
    for name in ["b.txt", "a.txt", "sub/c.txt", "sub/deeper/d.txt"] {
        emu.upload(&format!("/Acme/{name}"), name.as_bytes()).await;
    }
    let all = emu.list("", true).await;
    assert!(!all.has_more);
    let paths = paths_of(&all.entries);
    assert_eq!(paths.len(), 7, "{paths:?}");
    for (index, (_, path)) in paths.iter().enumerate() {
        let parent = &path[..path.rfind('/').unwrap()];
        if !parent.is_empty() {
            let parent_at = paths.iter().position(|(_, p)| p == parent).unwrap();
            assert!(parent_at < index, "{parent} after {path}");
        }
    }
    let flat = emu.list("/acme", false).await;
    assert_eq!(
        paths_of(&flat.entries),
        vec![
            ("file", "/acme/a.txt".to_owned()),
            ("file", "/acme/b.txt".to_owned()),
            ("folder", "/acme/sub".to_owned()),
        ]
    );

    let first = emu
        .ok(
            "files/list_folder",
            json!({"path": "", "recursive": true, "limit": 3}),
        )
        .await;
    let mut page: ListFolderResult = serde_json::from_value(first).unwrap();
    let mut collected = page.entries.clone();
    let mut pages = 1;
    while page.has_more {
        assert_eq!(page.entries.len(), 3);
        page = emu.continue_from(&page.cursor).await;
        collected.extend(page.entries.clone());
        pages += 1;
    }
    assert_eq!(pages, 3);
    assert_eq!(paths_of(&collected), paths);
}

#[tokio::test]
async fn continue_reports_additions_changes_and_deletions_once() {
    let emu = fixture().await;
    emu.upload("/Acme/keep.txt", b"keep").await;
    let changed = emu.upload("/Acme/change.txt", b"v1").await;
    emu.upload("/Acme/remove.txt", b"bye").await;
    let start = emu.list("", true).await;

    emu.upload("/Acme/new.txt", b"new").await;
    let (status, _) = emu
        .upload_arg(
            json!({"path": "/Acme/change.txt", "mode": "overwrite"}),
            b"v2",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    emu.ok("files/delete_v2", json!({"path": "/Acme/remove.txt"}))
        .await;

    let delta = emu.continue_from(&start.cursor).await;
    assert!(!delta.has_more);
    let mut paths = paths_of(&delta.entries);
    paths.sort();
    assert_eq!(
        paths,
        vec![
            ("deleted", "/acme/remove.txt".to_owned()),
            ("file", "/acme/change.txt".to_owned()),
            ("file", "/acme/new.txt".to_owned()),
        ]
    );
    let modified = file_entry(&delta.entries, "/acme/change.txt");
    assert_eq!(modified.id, changed.id, "id survives a new revision");
    assert_ne!(modified.rev, changed.rev);
    assert_eq!(
        modified.content_hash.as_deref(),
        Some(content_hash(b"v2").as_str())
    );

    let quiet = emu.continue_from(&delta.cursor).await;
    assert!(quiet.entries.is_empty() && !quiet.has_more);
    // Cursors are values: the old one still yields the same deltas.
    let replay = emu.continue_from(&start.cursor).await;
    assert_eq!(replay.entries.len(), 3);
}

#[tokio::test]
async fn deleting_a_folder_reports_its_contents_as_deleted() {
    let emu = fixture().await;
    emu.upload("/Acme/sub/a.txt", b"a").await;
    let start = emu.list("", true).await;
    let deleted = emu
        .ok("files/delete_v2", json!({"path": "/acme/SUB"}))
        .await;
    assert_eq!(deleted["metadata"][".tag"], "folder");
    assert!(!emu.acme_dir().join("Acme/sub").exists());
    let delta = emu.continue_from(&start.cursor).await;
    let paths = paths_of(&delta.entries);
    assert!(
        paths.contains(&("deleted", "/acme/sub".to_owned())),
        "{paths:?}"
    );
    assert!(
        paths.contains(&("deleted", "/acme/sub/a.txt".to_owned())),
        "{paths:?}"
    );
}

#[tokio::test]
async fn list_folder_typed_errors_and_malformed_requests() {
    let emu = fixture().await;
    emu.upload("/file.txt", b"f").await;
    let (status, body) = emu
        .rpc("files/list_folder", json!({"path": "/missing"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        body["error"],
        json!({".tag": "path", "path": {".tag": "not_found"}})
    );
    let (status, body) = emu
        .rpc("files/list_folder", json!({"path": "/file.txt"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["path"][".tag"], "not_folder");
    let (status, body) = emu.rpc("files/list_folder", json!({"path": "/"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.as_str().unwrap().contains("empty string"));
    let (status, _) = emu
        .rpc("files/list_folder", json!({"path": "", "limit": 0}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let bad_json = emu
        .http
        .post(emu.url("/2/files/list_folder"))
        .bearer_auth(ACME_TOKEN)
        .header("Content-Type", "application/json")
        .body("{\"path\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_json.status(), StatusCode::BAD_REQUEST);
    assert!(
        bad_json
            .text()
            .await
            .unwrap()
            .contains("could not decode input as JSON")
    );
    let wrong_type = emu
        .http
        .post(emu.url("/2/files/list_folder"))
        .bearer_auth(ACME_TOKEN)
        .header("Content-Type", "text/plain")
        .body("{\"path\": \"\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_type.status(), StatusCode::BAD_REQUEST);
    assert!(wrong_type.text().await.unwrap().contains("Content-Type"));
}

#[tokio::test]
async fn latest_cursor_sees_only_later_changes() {
    let emu = fixture().await;
    emu.upload("/Acme/old.txt", b"old").await;
    let latest = emu
        .ok(
            "files/list_folder/get_latest_cursor",
            json!({"path": "/acme", "recursive": true}),
        )
        .await;
    assert!(latest.get("entries").is_none());
    emu.upload("/Acme/new.txt", b"new").await;
    let delta = emu.continue_from(latest["cursor"].as_str().unwrap()).await;
    assert_eq!(
        paths_of(&delta.entries),
        vec![("file", "/acme/new.txt".to_owned())]
    );
}

#[tokio::test]
async fn unknown_cursor_is_reset() {
    let emu = fixture().await;
    let (status, body) = emu
        .rpc("files/list_folder/continue", json!({"cursor": "AAEbogus"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"], json!({".tag": "reset"}));
    assert!(
        body["error_summary"]
            .as_str()
            .unwrap()
            .starts_with("reset/")
    );
}

#[tokio::test]
async fn continue_on_a_deleted_folder_is_a_path_error() {
    let emu = fixture().await;
    emu.ok("files/create_folder_v2", json!({"path": "/Acme"}))
        .await;
    let listing = emu.list("/acme", true).await;
    emu.ok("files/delete_v2", json!({"path": "/Acme"})).await;
    let (status, body) = emu
        .rpc(
            "files/list_folder/continue",
            json!({"cursor": listing.cursor}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["path"][".tag"], "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_uploads_and_listings_stay_consistent() {
    let emu = fixture().await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..24 {
        let (http, base) = (emu.http.clone(), emu.base.clone());
        tasks.spawn(async move {
            let route = if i % 4 == 0 { "list_folder" } else { "upload" };
            let request = http
                .post(format!("{base}/2/files/{route}"))
                .bearer_auth(ACME_TOKEN);
            let request = if route == "upload" {
                request
                    .header("Content-Type", "application/octet-stream")
                    .header(
                        "Dropbox-API-Arg",
                        encode_api_arg(&json!({"path": format!("/Par/{i:02}.txt")})).unwrap(),
                    )
                    .body(format!("{i}"))
            } else {
                request.json(&json!({"path": "", "recursive": true}))
            };
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            let body: Value = response.json().await.unwrap();
            body["id"].as_str().map(str::to_owned)
        });
    }
    let mut ids: Vec<String> = tasks.join_all().await.into_iter().flatten().collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 18, "every uploaded file got its own id");
    let listing = emu.list("/par", false).await;
    assert_eq!(listing.entries.len(), 18);
}

// ----- files put on disk directly ----------------------------------------------------------

#[tokio::test]
async fn files_dropped_on_disk_appear_and_changes_are_noticed() {
    let emu = fixture().await;
    let dir = emu.acme_dir().join("Acme");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("Dropped.jpg"), b"jpeg bytes").unwrap();
    std::fs::write(dir.join(".DS_Store"), b"junk").unwrap();
    let listing = emu.list("", true).await;
    assert_eq!(
        paths_of(&listing.entries),
        vec![
            ("folder", "/acme".to_owned()),
            ("file", "/acme/dropped.jpg".to_owned())
        ]
    );
    let dropped = file_entry(&listing.entries, "/acme/dropped.jpg").clone();
    assert_eq!(
        dropped.content_hash.as_deref(),
        Some(content_hash(b"jpeg bytes").as_str())
    );

    std::fs::write(dir.join("Dropped.jpg"), b"other, longer jpeg bytes").unwrap();
    std::fs::rename(dir.join("Dropped.jpg"), dir.join("Renamed.jpg")).unwrap();
    std::fs::write(dir.join("second.png"), b"png").unwrap();
    emu.handle.rescan().unwrap();
    let delta = emu.continue_from(&listing.cursor).await;
    let mut paths = paths_of(&delta.entries);
    paths.sort();
    assert_eq!(
        paths,
        vec![
            ("deleted", "/acme/dropped.jpg".to_owned()),
            ("file", "/acme/renamed.jpg".to_owned()),
            ("file", "/acme/second.png".to_owned()),
        ]
    );
    let renamed = file_entry(&delta.entries, "/acme/renamed.jpg");
    assert_eq!(renamed.id, dropped.id, "id survives a rename on disk");
    assert_ne!(renamed.rev, dropped.rev);
}

#[tokio::test]
async fn downloads_see_dropped_files_at_once_unless_rescans_are_limited_to_listings() {
    let eager = fixture().await;
    std::fs::write(eager.acme_dir().join("fresh.txt"), b"fresh").unwrap();
    let (bytes, _) = eager.download("/fresh.txt").await;
    assert_eq!(bytes, b"fresh");

    let lazy = fixture_with(|config| config.rescan_on_every_call = false).await;
    std::fs::write(lazy.acme_dir().join("fresh.txt"), b"fresh").unwrap();
    let response = lazy.download_with("/fresh.txt", None).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    lazy.list("", true).await;
    let (bytes, _) = lazy.download("/fresh.txt").await;
    assert_eq!(bytes, b"fresh");
}

#[tokio::test]
async fn admin_rescan_endpoint_picks_up_new_files() {
    let emu = fixture_with(|config| config.rescan_on_every_call = false).await;
    std::fs::write(emu.acme_dir().join("late.txt"), b"late").unwrap();
    let (status, _) = emu
        .rpc("files/get_metadata", json!({"path": "/late.txt"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "not looked at yet");
    assert_eq!(
        emu.admin("/__emulator/rescan", json!({})).await,
        StatusCode::OK
    );
    let found = emu
        .ok("files/get_metadata", json!({"path": "/late.txt"}))
        .await;
    assert_eq!(found["content_hash"], content_hash(b"late"));
}

#[tokio::test]
async fn ids_and_revisions_survive_a_restart_over_the_same_root() {
    let root = tempfile::tempdir().unwrap();
    let first = fixture_on(root.path()).await;
    let old = first.upload("/keep.txt", b"old").await;
    let (_, new) = first
        .upload_arg(json!({"path": "/keep.txt", "mode": "overwrite"}), b"new")
        .await;
    first.handle.shutdown().await.unwrap();

    let second = fixture_on(root.path()).await;
    let now = second
        .ok("files/get_metadata", json!({"path": "/keep.txt"}))
        .await;
    assert_eq!(now["id"], old.id.as_str());
    assert_eq!(now["rev"], new["rev"]);
    let (bytes, _) = second.download(&format!("rev:{}", old.rev)).await;
    assert_eq!(bytes, b"old");
}

// ----- download ------------------------------------------------------------------------------

#[tokio::test]
async fn download_streams_bytes_with_a_matching_result_header() {
    let emu = fixture().await;
    // Bigger than one 4 MiB hash block and many stream chunks.
    let bytes: Vec<u8> = (0..5 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let uploaded = emu.upload("/Acme/café.bin", &bytes).await;
    let response = emu.download_with("/acme/CAFÉ.bin", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let raw_header = response.headers()["Dropbox-API-Result"].as_bytes().to_vec();
    assert!(
        raw_header.is_ascii(),
        "Dropbox-API-Result must be ASCII-safe"
    );
    assert!(
        String::from_utf8(raw_header)
            .unwrap()
            .contains("caf\\u00e9.bin")
    );
    assert_eq!(response.content_length(), Some(bytes.len() as u64));
    let result = result_header(&response);
    let body = response.bytes().await.unwrap();
    assert_eq!(body.len(), bytes.len());
    assert_eq!(Some(content_hash(&body)), result.content_hash);
    assert_eq!(result.rev, uploaded.rev);
    assert_eq!(result.name, "café.bin");
}

#[tokio::test]
async fn download_errors_are_typed() {
    let emu = fixture().await;
    emu.ok("files/create_folder_v2", json!({"path": "/dir"}))
        .await;
    let missing = emu.download_with("/nope.txt", None).await;
    assert_eq!(missing.status(), StatusCode::CONFLICT);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(
        body["error"],
        json!({".tag": "path", "path": {".tag": "not_found"}})
    );
    let folder = emu.download_with("/dir", None).await;
    assert_eq!(folder.status(), StatusCode::CONFLICT);
    let body: Value = folder.json().await.unwrap();
    assert_eq!(body["error"]["path"][".tag"], "not_file");
}

#[tokio::test]
async fn older_revisions_download_by_rev() {
    let emu = fixture().await;
    let first = emu.upload("/r.txt", b"first").await;
    let (status, second) = emu
        .upload_arg(json!({"path": "/r.txt", "mode": "overwrite"}), b"second")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(second["rev"], first.rev);
    let (old, meta) = emu.download(&format!("rev:{}", first.rev)).await;
    assert_eq!(old, b"first");
    assert_eq!(meta.rev, first.rev);
    let (current, _) = emu.download("/r.txt").await;
    assert_eq!(current, b"second");
    let by_rev = emu
        .ok(
            "files/get_metadata",
            json!({"path": format!("rev:{}", first.rev)}),
        )
        .await;
    assert_eq!(by_rev["content_hash"], content_hash(b"first"));
    // A deleted file's last revision stays downloadable by rev.
    emu.ok("files/delete_v2", json!({"path": "/r.txt"})).await;
    let (last, _) = emu
        .download(&format!("rev:{}", second["rev"].as_str().unwrap()))
        .await;
    assert_eq!(last, b"second");
}

#[tokio::test]
async fn range_requests_answer_206_with_the_slice() {
    let emu = fixture().await;
    emu.upload("/digits.txt", b"0123456789").await;
    for (range, expected, content_range) in [
        ("bytes=2-5", &b"2345"[..], "bytes 2-5/10"),
        ("bytes=7-", &b"789"[..], "bytes 7-9/10"),
        ("bytes=-3", &b"789"[..], "bytes 7-9/10"),
    ] {
        let response = emu.download_with("/digits.txt", Some(range)).await;
        assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(response.headers()["Content-Range"], content_range);
        assert_eq!(result_header(&response).size, 10);
        assert_eq!(response.bytes().await.unwrap(), expected, "{range}");
    }
    let beyond = emu.download_with("/digits.txt", Some("bytes=10-")).await;
    assert_eq!(beyond.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(beyond.headers()["Content-Range"], "bytes */10");
}

// ----- upload modes --------------------------------------------------------------------------

#[tokio::test]
async fn add_conflicts_autorename_picks_the_next_free_name_and_same_bytes_are_a_no_op() {
    let emu = fixture().await;
    let original = emu.upload("/Acme/report.txt", b"one").await;

    let (status, body) = emu
        .upload_arg(json!({"path": "/Acme/report.txt"}), b"two")
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"][".tag"], "path");
    assert_eq!(
        body["error"]["reason"],
        json!({".tag": "conflict", "conflict": {".tag": "file"}})
    );
    assert!(
        body["error_summary"]
            .as_str()
            .unwrap()
            .starts_with("path/conflict/file/")
    );

    for expected in ["report (1).txt", "report (2).txt"] {
        let (status, renamed) = emu
            .upload_arg(
                json!({"path": "/acme/REPORT.txt", "mode": "add", "autorename": true}),
                expected.as_bytes(),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(renamed["name"], expected);
        assert_eq!(renamed["path_display"], format!("/Acme/{expected}"));
    }

    let (status, same) = emu
        .upload_arg(
            json!({"path": "/Acme/report.txt", "autorename": true}),
            b"one",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        same["rev"], original.rev,
        "identical content writes nothing"
    );
    assert_eq!(same["name"], "report.txt");
    let listing = emu.list("/acme", false).await;
    assert_eq!(listing.entries.len(), 3);
}

#[tokio::test]
async fn overwrite_and_update_modes() {
    let emu = fixture().await;
    let first = emu.upload("/u.txt", b"1").await;
    let (status, second) = emu
        .upload_arg(json!({"path": "/u.txt", "mode": "overwrite"}), b"2")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(second["id"], first.id);
    let (status, stale) = emu
        .upload_arg(
            json!({"path": "/u.txt", "mode": {".tag": "update", "update": first.rev}}),
            b"3",
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(stale["error"]["reason"]["conflict"][".tag"], "file");
    let (status, third) = emu
        .upload_arg(
            json!({"path": "/u.txt", "mode": {".tag": "update", "update": second["rev"]}}),
            b"3",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{third}");
    let (bytes, _) = emu.download("/u.txt").await;
    assert_eq!(bytes, b"3");
}

#[tokio::test]
async fn upload_checks_content_hash_content_type_and_file_ancestors() {
    let emu = fixture().await;
    let (status, body) = emu
        .upload_arg(
            json!({"path": "/h.txt", "content_hash": content_hash(b"other")}),
            b"mine",
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"][".tag"], "content_hash_mismatch");
    let (status, _) = emu
        .upload_arg(
            json!({"path": "/h.txt", "content_hash": content_hash(b"mine")}),
            b"mine",
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = emu
        .upload_arg(json!({"path": "/h.txt/inner.txt"}), b"x")
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["reason"]["conflict"][".tag"], "file_ancestor");

    let json_upload = emu
        .http
        .post(emu.url("/2/files/upload"))
        .bearer_auth(ACME_TOKEN)
        .header("Content-Type", "application/json")
        .header("Dropbox-API-Arg", r#"{"path":"/j.txt"}"#)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(json_upload.status(), StatusCode::BAD_REQUEST);
}

// ----- folders and deletes -------------------------------------------------------------------

#[tokio::test]
async fn create_folder_then_conflict_in_any_case() {
    let emu = fixture().await;
    let created = emu
        .ok(
            "files/create_folder_v2",
            json!({"path": "/Acme Marketing", "autorename": false}),
        )
        .await;
    assert_eq!(created["metadata"]["name"], "Acme Marketing");
    assert!(
        created["metadata"].get(".tag").is_none(),
        "FolderMetadata carries no tag"
    );
    assert!(emu.acme_dir().join("Acme Marketing").is_dir());
    let (status, body) = emu
        .rpc("files/create_folder_v2", json!({"path": "/ACME marketing"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        body["error"],
        json!({".tag": "path", "path": {".tag": "conflict", "conflict": {".tag": "folder"}}})
    );
    assert!(
        body["error_summary"]
            .as_str()
            .unwrap()
            .starts_with("path/conflict/folder/")
    );
    let renamed = emu
        .ok(
            "files/create_folder_v2",
            json!({"path": "/Acme Marketing", "autorename": true}),
        )
        .await;
    assert_eq!(renamed["metadata"]["name"], "Acme Marketing (1)");
}

#[tokio::test]
async fn delete_with_a_stale_parent_rev_is_refused_and_the_file_stays() {
    let emu = fixture().await;
    let old = emu.upload("/d.txt", b"old").await;
    let (_, new) = emu
        .upload_arg(json!({"path": "/d.txt", "mode": "overwrite"}), b"new")
        .await;
    let (status, body) = emu
        .rpc(
            "files/delete_v2",
            json!({"path": "/d.txt", "parent_rev": old.rev}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        body["error"],
        json!({".tag": "path_write", "path_write": {".tag": "conflict", "conflict": {".tag": "file"}}})
    );
    assert!(emu.acme_dir().join("d.txt").exists());
    let (bytes, _) = emu.download("/d.txt").await;
    assert_eq!(bytes, b"new");

    let deleted = emu
        .ok(
            "files/delete_v2",
            json!({"path": "/D.TXT", "parent_rev": new["rev"]}),
        )
        .await;
    assert_eq!(deleted["metadata"][".tag"], "file");
    assert_eq!(deleted["metadata"]["rev"], new["rev"]);
    assert!(!emu.acme_dir().join("d.txt").exists());
    let (status, body) = emu.rpc("files/delete_v2", json!({"path": "/d.txt"})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        body["error"],
        json!({".tag": "path_lookup", "path_lookup": {".tag": "not_found"}})
    );
}

#[tokio::test]
async fn delete_batch_runs_async_and_check_reports_each_entry() {
    let emu = fixture().await;
    let a = emu.upload("/b/a.txt", b"a").await;
    emu.upload("/b/c.txt", b"c").await;
    let launch = emu
        .ok(
            "files/delete_batch",
            json!({"entries": [
                {"path": "/b/a.txt", "parent_rev": a.rev},
                {"path": "/b/missing.txt"},
                {"path": "/b/c.txt", "parent_rev": a.rev},
            ]}),
        )
        .await;
    assert_eq!(launch[".tag"], "async_job_id");
    let job = launch["async_job_id"].as_str().unwrap().to_owned();
    let first = emu
        .ok("files/delete_batch/check", json!({"async_job_id": job}))
        .await;
    assert_eq!(first, json!({".tag": "in_progress"}));
    let done = emu
        .ok("files/delete_batch/check", json!({"async_job_id": job}))
        .await;
    assert_eq!(done[".tag"], "complete");
    let entries = done["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0][".tag"], "success");
    assert_eq!(entries[0]["metadata"]["path_lower"], "/b/a.txt");
    assert_eq!(
        entries[1],
        json!({".tag": "failure", "failure": {".tag": "path_lookup", "path_lookup": {".tag": "not_found"}}})
    );
    assert_eq!(entries[2]["failure"][".tag"], "path_write");
    assert!(!emu.acme_dir().join("b/a.txt").exists());
    assert!(emu.acme_dir().join("b/c.txt").exists());

    let (status, body) = emu
        .rpc(
            "files/delete_batch/check",
            json!({"async_job_id": "dbjid:nope"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"][".tag"], "invalid_async_job_id");
    let (status, _) = emu
        .rpc_as(
            BETA_TOKEN,
            "files/delete_batch/check",
            json!({"async_job_id": job}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "jobs belong to their account");
}

// ----- hostile names -------------------------------------------------------------------------

#[tokio::test]
async fn hostile_names_round_trip_through_header_escapes() {
    let emu = fixture().await;
    let nfc = "caf\u{e9}.txt";
    let nfd = "cafe\u{301}.txt";
    let long_name = format!("{}.txt", "\u{e9}".repeat(125)); // 250 + 4 bytes
    assert!(long_name.len() <= 255);
    let names = [
        "smile \u{1F600}.txt".to_owned(),
        "ctrl\u{1}\u{7}\u{1f}.txt".to_owned(),
        "del\u{7f}.txt".to_owned(),
        nfc.to_owned(),
        nfd.to_owned(),
        "  spaced  ".to_owned(),
        "quote\"back\\slash.txt".to_owned(),
        "日本語.txt".to_owned(),
        long_name,
        "x".repeat(255),
    ];
    for (index, name) in names.iter().enumerate() {
        let path = format!("/Hostile/{name}");
        let arg = encode_api_arg(&json!({"path": path})).unwrap();
        assert!(arg.is_ascii());
        if name.contains('\u{1F600}') {
            assert!(arg.contains("\\ud83d\\ude00"), "{arg}");
        }
        let content = format!("content {index}");
        let uploaded = emu.upload(&path, content.as_bytes()).await;
        assert_eq!(&uploaded.name, name);
        assert_eq!(uploaded.path_display.as_deref(), Some(path.as_str()));
        let (bytes, result) = emu.download(&path).await;
        assert_eq!(bytes, content.as_bytes(), "{name:?}");
        assert_eq!(&result.name, name);
    }
    // NFC and NFD are different names: two files.
    let listing = emu.list("/hostile", false).await;
    assert_eq!(listing.entries.len(), names.len());
    let listed: Vec<&str> = listing.entries.iter().filter_map(Metadata::name).collect();
    assert!(listed.contains(&nfc) && listed.contains(&nfd));

    let (status, body) = emu
        .upload_arg(json!({"path": format!("/{}", "x".repeat(256))}), b"x")
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["reason"][".tag"], "malformed_path");
}

#[tokio::test]
async fn raw_utf8_in_the_arg_header_is_refused_unless_allowed() {
    let strict = fixture().await;
    let raw = reqwest::header::HeaderValue::from_bytes("{\"path\":\"/é.txt\"}".as_bytes()).unwrap();
    let response = strict
        .http
        .post(strict.url("/2/files/upload"))
        .bearer_auth(ACME_TOKEN)
        .header("Content-Type", "application/octet-stream")
        .header("Dropbox-API-Arg", raw.clone())
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("non-ASCII"));

    let lenient = fixture_with(|config| config.allow_raw_utf8_arg = true).await;
    let response = lenient
        .http
        .post(lenient.url("/2/files/upload"))
        .bearer_auth(ACME_TOKEN)
        .header("Content-Type", "application/octet-stream")
        .header("Dropbox-API-Arg", raw)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap()["name"], "é.txt");
}

#[tokio::test]
async fn a_lone_surrogate_escape_is_a_bad_request() {
    let emu = fixture().await;
    let response = emu
        .http
        .post(emu.url("/2/files/download"))
        .bearer_auth(ACME_TOKEN)
        .header("Dropbox-API-Arg", r#"{"path":"/\ud83d.txt"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

// ----- OAuth token endpoint ------------------------------------------------------------------

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

#[tokio::test]
async fn pkce_code_exchange_gives_tokens_that_work_and_a_code_works_once() {
    let emu = fixture().await;
    emu.handle.register_code(AuthCodeConfig {
        code: "code-1".into(),
        account_id: ACME.into(),
        code_challenge: Some(pkce_challenge(VERIFIER)),
    });
    let (status, body) = emu
        .post_form(&[
            ("grant_type", "authorization_code"),
            ("code", "code-1"),
            ("client_id", "app"),
            (
                "code_verifier",
                "a-different-verifier-that-is-long-enough-0123456789",
            ),
        ])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");

    let (status, granted) = emu
        .post_form(&[
            ("grant_type", "authorization_code"),
            ("code", "code-1"),
            ("client_id", "app"),
            ("code_verifier", VERIFIER),
        ])
        .await;
    assert_eq!(status, StatusCode::OK, "{granted}");
    assert_eq!(granted["token_type"], "bearer");
    assert_eq!(granted["account_id"], ACME);
    assert_eq!(granted["expires_in"], 4 * 60 * 60);
    assert!(granted["refresh_token"].is_string());
    let access = granted["access_token"].as_str().unwrap();
    let (status, account) = emu
        .rpc_as(access, "users/get_current_account", Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(account["account_id"], ACME);

    let (status, reused) = emu
        .post_form(&[
            ("grant_type", "authorization_code"),
            ("code", "code-1"),
            ("code_verifier", VERIFIER),
        ])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(reused["error"], "invalid_grant");
}

#[tokio::test]
async fn codes_registered_over_http_and_bad_grants() {
    let emu = fixture().await;
    assert_eq!(
        emu.admin(
            "/__emulator/codes",
            json!({"code": "plain", "account_id": BETA})
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(
        emu.admin(
            "/__emulator/codes",
            json!({"code": "x", "account_id": "dbid:nobody"})
        )
        .await,
        StatusCode::BAD_REQUEST
    );
    let (status, granted) = emu
        .post_form(&[("grant_type", "authorization_code"), ("code", "plain")])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(granted["account_id"], BETA);
    let (status, body) = emu
        .post_form(&[
            ("grant_type", "authorization_code"),
            ("code", "never-issued"),
        ])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let (status, body) = emu
        .post_form(&[("grant_type", "refresh_token"), ("refresh_token", "forged")])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let (status, body) = emu.post_form(&[("grant_type", "password")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "unsupported_grant_type");
}

#[tokio::test]
async fn expired_access_token_is_401_until_refreshed() {
    let emu = fixture_with(|config| config.token_ttl_secs = 1).await;
    let (status, granted) = emu
        .post_form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", ACME_REFRESH),
            ("client_id", "app"),
        ])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(granted["expires_in"], 1);
    assert!(
        granted.get("refresh_token").is_none(),
        "refresh keeps the old refresh token"
    );
    let access = granted["access_token"].as_str().unwrap().to_owned();
    let (status, _) = emu
        .rpc_as(&access, "users/get_current_account", Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK);

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, body) = emu
        .rpc_as(&access, "users/get_current_account", Value::Null)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"][".tag"], "expired_access_token");
    assert!(
        body["error_summary"]
            .as_str()
            .unwrap()
            .starts_with("expired_access_token/")
    );

    let (_, refreshed) = emu
        .post_form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", ACME_REFRESH),
        ])
        .await;
    let fresh = refreshed["access_token"].as_str().unwrap();
    assert_ne!(fresh, access);
    let (status, _) = emu
        .rpc_as(fresh, "users/get_current_account", Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn early_expiry_fault_expires_live_tokens_of_one_account() {
    let emu = fixture().await;
    assert_eq!(
        emu.admin("/__emulator/expire_tokens", json!({"account_id": ACME}))
            .await,
        StatusCode::OK
    );
    let (status, body) = emu.rpc("users/get_current_account", Value::Null).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"][".tag"], "expired_access_token");
    let (status, _) = emu
        .rpc_as(BETA_TOKEN, "users/get_current_account", Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK, "the other account is untouched");
}

#[tokio::test]
async fn token_endpoint_wants_a_form_and_checks_a_configured_client_id() {
    let emu = fixture_with(|config| config.client_id = Some("app-key".into())).await;
    let response = emu
        .http
        .post(emu.url("/oauth2/token"))
        .json(&json!({"grant_type": "refresh_token"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );
    let (status, body) = emu
        .post_form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", ACME_REFRESH),
            ("client_id", "other"),
        ])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_client");
    let (status, _) = emu
        .post_form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", ACME_REFRESH),
            ("client_id", "app-key"),
        ])
        .await;
    assert_eq!(status, StatusCode::OK);
}

// ----- longpoll ------------------------------------------------------------------------------

#[tokio::test]
async fn longpoll_times_out_without_changes_in_scaled_time() {
    let emu = fixture().await;
    let listing = emu.list("", true).await;
    let started = Instant::now();
    let (status, body) = emu
        .longpoll(json!({"cursor": listing.cursor, "timeout": 30}))
        .await;
    let waited = started.elapsed();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"changes": false}));
    assert!(waited >= Duration::from_millis(30), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
}

#[tokio::test]
async fn longpoll_returns_as_soon_as_the_folder_changes() {
    // Real-time scale: without a change this would block for 30 s.
    let emu = fixture_with(|config| {
        config.longpoll_time_scale = 1.0;
        config.longpoll_backoff_secs = Some(5);
    })
    .await;
    emu.ok("files/create_folder_v2", json!({"path": "/watched"}))
        .await;
    emu.ok("files/create_folder_v2", json!({"path": "/other"}))
        .await;
    let listing = emu.list("/watched", true).await;
    let poll = emu.longpoll(json!({"cursor": listing.cursor.clone(), "timeout": 30}));
    let change = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        // A change outside the cursor's folder does not wake it …
        emu.upload("/other/x.txt", b"x").await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        // … a change inside does.
        emu.upload("/watched/y.txt", b"y").await;
    };
    let started = Instant::now();
    let ((status, body), ()) = tokio::time::timeout(Duration::from_secs(10), async {
        tokio::join!(poll, change)
    })
    .await
    .expect("longpoll should return on the change");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"changes": true, "backoff": 5}));
    assert!(started.elapsed() >= Duration::from_millis(200));
    let delta = emu.continue_from(&listing.cursor).await;
    assert_eq!(
        paths_of(&delta.entries),
        vec![("file", "/watched/y.txt".to_owned())]
    );
}

#[tokio::test]
async fn longpoll_notices_files_dropped_on_disk() {
    let emu = fixture_with(|config| config.longpoll_time_scale = 1.0).await;
    let listing = emu.list("", true).await;
    let dir = emu.acme_dir();
    let poll = emu.longpoll(json!({"cursor": listing.cursor, "timeout": 30}));
    let drop_file = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        std::fs::write(dir.join("dropped.txt"), b"d").unwrap();
    };
    let ((status, body), ()) = tokio::time::timeout(Duration::from_secs(10), async {
        tokio::join!(poll, drop_file)
    })
    .await
    .expect("longpoll should notice the file");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["changes"], true);
}

#[tokio::test]
async fn longpoll_validates_timeout_and_cursor() {
    let emu = fixture().await;
    let listing = emu.list("", true).await;
    for timeout in [29, 481] {
        let (status, _) = emu
            .longpoll(json!({"cursor": listing.cursor, "timeout": timeout}))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "timeout {timeout}");
    }
    let (status, body) = emu
        .longpoll(json!({"cursor": "AAEunknown", "timeout": 30}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"][".tag"], "reset");
    // Pending changes answer at once, even with the default timeout.
    emu.upload("/now.txt", b"n").await;
    let (status, body) = emu.longpoll(json!({"cursor": listing.cursor})).await;
    assert_eq!(
        (status, body["changes"].as_bool()),
        (StatusCode::OK, Some(true))
    );
}

// ----- faults --------------------------------------------------------------------------------

#[tokio::test]
async fn every_nth_call_is_rate_limited_with_retry_after() {
    let emu = fixture_with(|config| {
        config.faults.rate_limit_every = Some(3);
        config.faults.rate_limit_retry_after_secs = 7;
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let response = emu
            .rpc_raw(ACME_TOKEN, "users/get_current_account", &Value::Null)
            .await;
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(response.headers()["Retry-After"], "7");
            assert!(response.headers().contains_key("X-Dropbox-Request-Id"));
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"]["reason"][".tag"], "too_many_requests");
            assert_eq!(body["error"]["retry_after"], 7);
            assert!(
                body["error_summary"]
                    .as_str()
                    .unwrap()
                    .starts_with("too_many_requests/")
            );
        }
        statuses.push(status.as_u16());
    }
    assert_eq!(statuses, vec![200, 200, 429, 200, 200, 429]);
}

#[tokio::test]
async fn plain_text_429_write_contention_and_5xx_via_the_admin_endpoint() {
    let emu = fixture().await;
    assert_eq!(
        emu.admin(
            "/__emulator/faults",
            json!({"rate_limit_every": 1, "rate_limit_plain_text": true})
        )
        .await,
        StatusCode::OK
    );
    let response = emu
        .rpc_raw(ACME_TOKEN, "files/list_folder", &json!({"path": ""}))
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["Retry-After"], "1");
    assert!(
        response.headers()["Content-Type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );

    emu.handle.set_faults(FaultConfig {
        rate_limit_every: Some(1),
        rate_limit_write_operations: true,
        ..FaultConfig::default()
    });
    let (status, body) = emu.rpc("files/delete_v2", json!({"path": "/x"})).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["error"]["reason"][".tag"], "too_many_write_operations");

    emu.admin(
        "/__emulator/faults",
        json!({"server_error_every": 2, "server_error_status": 503}),
    )
    .await;
    let (first, _) = emu.rpc("files/list_folder", json!({"path": ""})).await;
    let (second, _) = emu.rpc("files/list_folder", json!({"path": ""})).await;
    assert_eq!(
        (first, second),
        (StatusCode::OK, StatusCode::SERVICE_UNAVAILABLE)
    );

    emu.admin("/__emulator/faults", json!({})).await;
    let (status, _) = emu.rpc("files/list_folder", json!({"path": ""})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = emu.rpc("files/list_folder", json!({"path": ""})).await;
    assert_eq!(status, StatusCode::OK, "an empty plan clears the faults");
    assert_eq!(
        emu.admin("/__emulator/faults", json!({"no_such_fault": 1}))
            .await,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn write_contention_is_a_per_route_409() {
    let emu = fixture().await;
    emu.upload("/w/a.txt", b"a").await;
    emu.handle.set_faults(FaultConfig {
        write_contention_every: Some(1),
        ..FaultConfig::default()
    });
    let (status, body) = emu.upload_arg(json!({"path": "/w/b.txt"}), b"b").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["reason"][".tag"], "too_many_write_operations");
    let (status, body) = emu
        .rpc("files/create_folder_v2", json!({"path": "/w2"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["path"][".tag"], "too_many_write_operations");
    let (status, body) = emu
        .rpc("files/delete_v2", json!({"path": "/w/a.txt"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"][".tag"], "too_many_write_operations");
    let launch = emu
        .ok(
            "files/delete_batch",
            json!({"entries": [{"path": "/w/a.txt"}]}),
        )
        .await;
    let job = launch["async_job_id"].clone();
    emu.ok("files/delete_batch/check", json!({"async_job_id": job}))
        .await;
    let done = emu
        .ok("files/delete_batch/check", json!({"async_job_id": job}))
        .await;
    assert_eq!(
        done["entries"][0]["failure"][".tag"],
        "too_many_write_operations"
    );
    // Reads are not writes, and nothing was written or deleted.
    let (bytes, _) = emu.download("/w/a.txt").await;
    assert_eq!(bytes, b"a");
    assert_eq!(emu.list("", true).await.entries.len(), 2);
}

#[tokio::test]
async fn delete_batch_refuses_more_than_1000_entries() {
    let emu = fixture().await;
    let entries: Vec<Value> = (0..1001)
        .map(|i| json!({"path": format!("/f{i}")}))
        .collect();
    let (status, _) = emu
        .rpc("files/delete_batch", json!({"entries": entries}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn latency_slows_every_call() {
    let emu = fixture_with(|config| config.faults.latency_ms = 150).await;
    let started = Instant::now();
    emu.ok("users/get_current_account", Value::Null).await;
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn dropped_connection_breaks_the_body_mid_download() {
    let emu = fixture().await;
    let bytes = vec![7u8; 1024 * 1024];
    emu.upload("/big.bin", &bytes).await;
    emu.handle.set_faults(FaultConfig {
        drop_download_every: Some(2),
        ..FaultConfig::default()
    });
    let (intact, _) = emu.download("/big.bin").await;
    assert_eq!(intact, bytes);
    let response = emu.download_with("/big.bin", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.content_length(), Some(bytes.len() as u64));
    assert!(
        response.bytes().await.is_err(),
        "the body must fail part-way"
    );
}

#[tokio::test]
async fn truncated_download_ends_cleanly_but_short() {
    let emu = fixture().await;
    let bytes = vec![1u8; 300_000];
    emu.upload("/t.bin", &bytes).await;
    emu.handle.set_faults(FaultConfig {
        truncate_download_every: Some(1),
        ..FaultConfig::default()
    });
    let (body, result) = emu.download("/t.bin").await;
    assert_eq!(result.size, bytes.len() as u64);
    assert_eq!(body.len(), bytes.len() / 2, "only a size check can notice");
}

#[tokio::test]
async fn wrong_content_hash_is_announced_on_schedule() {
    let emu = fixture().await;
    let uploaded = emu.upload("/w.txt", b"the real bytes").await;
    emu.handle.set_faults(FaultConfig {
        wrong_content_hash_every: Some(2),
        ..FaultConfig::default()
    });
    let (_, honest) = emu.download("/w.txt").await;
    assert_eq!(honest.content_hash, uploaded.content_hash);
    let (body, lying) = emu.download("/w.txt").await;
    assert_eq!(body, b"the real bytes");
    let announced = lying.content_hash.unwrap();
    assert_eq!(announced.len(), 64);
    assert_ne!(Some(announced), uploaded.content_hash);
}

#[tokio::test]
async fn a_file_saved_again_mid_download_keeps_the_old_revision_for_that_download() {
    let emu = fixture().await;
    let original = emu.upload("/m.txt", b"version one").await;
    let listing = emu.list("", true).await;
    emu.handle.set_faults(FaultConfig {
        change_during_download_every: Some(1),
        ..FaultConfig::default()
    });
    let (body, served) = emu.download("/m.txt").await;
    assert_eq!(body, b"version one");
    assert_eq!(served.rev, original.rev);
    assert_eq!(served.content_hash, Some(content_hash(&body)));
    emu.handle.set_faults(FaultConfig::default());

    let now = emu
        .ok("files/get_metadata", json!({"path": "/m.txt"}))
        .await;
    assert_ne!(now["rev"], original.rev.as_str());
    assert_eq!(now["id"], original.id.as_str());
    let (status, _) = emu
        .rpc(
            "files/delete_v2",
            json!({"path": "/m.txt", "parent_rev": served.rev}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "the served revision is no longer current"
    );
    let delta = emu.continue_from(&listing.cursor).await;
    assert_eq!(
        file_entry(&delta.entries, "/m.txt").rev,
        now["rev"].as_str().unwrap()
    );
}

// ----- the binary ----------------------------------------------------------------------------

#[tokio::test]
async fn binary_prints_its_address_and_serves_configured_accounts() {
    use std::io::BufRead;
    let root = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dropbox-emulator"))
        .arg("--root")
        .arg(root.path())
        .args(["--account", "dbid:AAAcli:cli@example.test:Cli User"])
        .args(["--token", "dbid:AAAcli=cli-token"])
        .args(["--rate-limit-every", "2"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let first_line = std::io::BufReader::new(stdout)
        .lines()
        .next()
        .unwrap()
        .unwrap();
    let base = first_line
        .strip_prefix("listening on ")
        .expect("first line names the address")
        .to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let http = reqwest::Client::new();
    let mut statuses = Vec::new();
    for _ in 0..2 {
        let response = http
            .post(format!("{base}/2/users/get_current_account"))
            .bearer_auth("cli-token")
            .send()
            .await
            .unwrap();
        statuses.push(response.status());
        if response.status() == StatusCode::OK {
            let account: Value = response.json().await.unwrap();
            assert_eq!(account["email"], "cli@example.test");
            assert_eq!(account["name"]["display_name"], "Cli User");
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        statuses,
        vec![StatusCode::OK, StatusCode::TOO_MANY_REQUESTS]
    );
    assert!(root.path().join("dbid:AAAcli").is_dir());
}

#[tokio::test]
async fn a_code_for_an_unknown_account_is_a_config_error() {
    let root = tempfile::tempdir().unwrap();
    let mut config = base_config(root.path().to_path_buf());
    config.codes.push(AuthCodeConfig {
        code: "c".into(),
        account_id: "dbid:ghost".into(),
        code_challenge: None,
    });
    let error = Emulator::start(config).await.err().expect("refused");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    assert!(error.to_string().contains("dbid:ghost"));
}

#[tokio::test]
async fn config_file_in_toml_sets_accounts_and_faults() {
    let root = tempfile::tempdir().unwrap();
    let config_path = root.path().join("emulator.toml");
    std::fs::write(
        &config_path,
        format!(
            r#"root = {:?}
token_ttl_secs = 60
[[accounts]]
account_id = "dbid:AAAtoml"
email = "toml@example.test"
display_name = "Toml Person"
access_tokens = ["toml-token"]
[faults]
server_error_every = 1
"#,
            root.path().join("data")
        ),
    )
    .unwrap();
    let config = EmulatorConfig::load(&config_path).unwrap();
    assert_eq!(config.accounts[0].account_id, "dbid:AAAtoml");
    assert_eq!(config.faults.server_error_every, Some(1));
    let (base, _handle) = Emulator::start(config).await.unwrap();
    let response = reqwest::Client::new()
        .post(format!("{base}/2/users/get_current_account"))
        .bearer_auth("toml-token")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

// ----- HTTPS ---------------------------------------------------------------------------------

/// A test CA and a server certificate it signed for `127.0.0.1` and `localhost`, as PEM files.
struct TestPki {
    dir: tempfile::TempDir,
    ca_pem: String,
}

impl TestPki {
    fn new() -> Self {
        use rcgen::{
            BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair,
            KeyUsagePurpose,
        };
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "smartimage emulator test CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let leaf_key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap()
            .signed_by(&leaf_key, &ca)
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cert.pem"), leaf.pem()).unwrap();
        std::fs::write(dir.path().join("key.pem"), leaf_key.serialize_pem()).unwrap();
        Self {
            dir,
            ca_pem: ca.pem(),
        }
    }

    fn tls_config(&self) -> TlsConfig {
        TlsConfig {
            cert: self.dir.path().join("cert.pem"),
            key: self.dir.path().join("key.pem"),
        }
    }

    fn client(&self) -> reqwest::Client {
        let ca = reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).unwrap();
        reqwest::Client::builder()
            .tls_certs_only([ca])
            .build()
            .unwrap()
    }
}

#[tokio::test]
async fn https_serves_the_api_to_clients_trusting_the_ca_only() {
    let pki = TestPki::new();
    let root = tempfile::tempdir().unwrap();
    let mut config = base_config(root.path().to_path_buf());
    config.tls = Some(pki.tls_config());
    let (base, _handle) = Emulator::start(config).await.unwrap();
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    let http = pki.client();

    let account: Value = http
        .post(format!("{base}/2/users/get_current_account"))
        .bearer_auth(ACME_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(account["account_id"], ACME);

    let bytes = b"over TLS".repeat(10_000);
    let uploaded: FileMetadata = http
        .post(format!("{base}/2/files/upload"))
        .bearer_auth(ACME_TOKEN)
        .header("Content-Type", "application/octet-stream")
        .header(
            "Dropbox-API-Arg",
            encode_api_arg(&json!({"path": "/Tls/caf\u{e9}.bin"})).unwrap(),
        )
        .body(bytes.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        uploaded.content_hash.as_deref(),
        Some(content_hash(&bytes).as_str())
    );
    let response = http
        .post(format!("{base}/2/files/download"))
        .bearer_auth(ACME_TOKEN)
        .header(
            "Dropbox-API-Arg",
            encode_api_arg(&json!({"path": "/tls/CAF\u{c9}.bin"})).unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(result_header(&response).rev, uploaded.rev);
    assert_eq!(response.bytes().await.unwrap(), bytes);

    // The usual trust store does not know the test CA, and plain HTTP gets no answer.
    let untrusting = reqwest::Client::new()
        .post(format!("{base}/2/users/get_current_account"))
        .bearer_auth(ACME_TOKEN)
        .send()
        .await;
    assert!(untrusting.is_err(), "{untrusting:?}");
    let plain = reqwest::Client::new()
        .post(base.replace("https://", "http://") + "/2/users/get_current_account")
        .bearer_auth(ACME_TOKEN)
        .timeout(Duration::from_secs(15))
        .send()
        .await;
    assert!(plain.is_err(), "{plain:?}");
}

#[tokio::test]
async fn https_refuses_to_start_without_a_usable_certificate() {
    let pki = TestPki::new();
    let root = tempfile::tempdir().unwrap();
    let mut missing = base_config(root.path().to_path_buf());
    missing.tls = Some(TlsConfig {
        cert: pki.dir.path().join("nope.pem"),
        key: pki.tls_config().key,
    });
    let error = Emulator::start(missing).await.err().expect("refused");
    assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
    assert!(error.to_string().contains("nope.pem"), "{error}");

    let mut swapped = base_config(root.path().to_path_buf());
    swapped.tls = Some(TlsConfig {
        cert: pki.tls_config().key,
        key: pki.tls_config().cert,
    });
    let error = Emulator::start(swapped).await.err().expect("refused");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput, "{error}");
}

#[tokio::test]
async fn binary_serves_https_with_tls_flags() {
    use std::io::BufRead;
    let pki = TestPki::new();
    let tls = pki.tls_config();
    let root = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dropbox-emulator"))
        .arg("--root")
        .arg(root.path())
        .args(["--account", "dbid:AAAtls:tls@example.test:Tls User"])
        .args(["--token", "dbid:AAAtls=tls-token"])
        .arg("--tls-cert")
        .arg(&tls.cert)
        .arg("--tls-key")
        .arg(&tls.key)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let first_line = std::io::BufReader::new(stdout)
        .lines()
        .next()
        .unwrap()
        .unwrap();
    let base = first_line
        .strip_prefix("listening on ")
        .expect("first line names the address")
        .to_owned();
    let response = pki
        .client()
        .post(format!("{base}/2/users/get_current_account"))
        .bearer_auth("tls-token")
        .send()
        .await;
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    let account: Value = response.unwrap().json().await.unwrap();
    assert_eq!(account["email"], "tls@example.test");
}

#[test]
fn binary_wants_both_tls_flags() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_dropbox-emulator"))
        .args(["--root", "/nonexistent", "--tls-cert", "cert.pem"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--tls-key"), "{stderr}");
}

// ----- found by the Python SDK fidelity test (tests/sdk_fidelity) ----------------------------

#[tokio::test]
async fn upload_keeps_the_client_modified_it_was_given() {
    let emu = fixture().await;
    let (status, value) = emu
        .upload_arg(
            json!({"path": "/Acme/dated.txt", "client_modified": "2026-01-02T03:04:05Z"}),
            b"dated",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{value}");
    assert_eq!(value["client_modified"], "2026-01-02T03:04:05Z");
    assert_ne!(value["server_modified"], "2026-01-02T03:04:05Z");
    let listed = emu.list("/acme", false).await;
    let file = file_entry(&listed.entries, "/acme/dated.txt");
    assert_eq!(
        file.client_modified,
        time::macros::datetime!(2026-01-02 03:04:05 UTC)
    );
    let (_, downloaded) = emu.download("/acme/dated.txt").await;
    assert_eq!(downloaded.client_modified, file.client_modified);

    // Without it, client_modified is the upload time, like server_modified.
    let plain = emu.upload("/Acme/plain.txt", b"plain").await;
    assert_eq!(plain.client_modified, plain.server_modified);

    let (status, value) = emu
        .upload_arg(
            json!({"path": "/Acme/bad.txt", "client_modified": "yesterday"}),
            b"bad",
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{value}");
    assert!(
        value.as_str().unwrap().contains("client_modified"),
        "{value}"
    );
}

#[test]
fn sdk_valid_account_ids_are_forty_characters() {
    assert!(AccountConfig::new(&format!("dbid:{}", "A".repeat(35)), "e", "n").has_sdk_valid_id());
    assert!(!AccountConfig::new(ACME, "e", "n").has_sdk_valid_id());
}

#[tokio::test]
async fn list_folder_include_deleted_adds_tombstones_in_scope_only() {
    let emu = fixture().await;
    emu.upload("/Acme/kept.txt", b"k").await;
    emu.upload("/Acme/Gone.txt", b"g").await;
    emu.upload("/Acme/Old/inner.txt", b"i").await;
    emu.upload("/Elsewhere/gone-too.txt", b"e").await;
    for path in ["/acme/gone.txt", "/acme/old", "/elsewhere/gone-too.txt"] {
        emu.ok("files/delete_v2", json!({ "path": path })).await;
    }
    // Deleted and made again: alive, no tombstone.
    emu.upload("/Acme/Old/inner.txt", b"again").await;

    let listed = emu
        .ok(
            "files/list_folder",
            json!({"path": "/acme", "recursive": true, "include_deleted": true}),
        )
        .await;
    let result: ListFolderResult = serde_json::from_value(listed).unwrap();
    assert_eq!(
        paths_of(&result.entries),
        vec![
            ("folder", "/acme".to_owned()),
            ("deleted", "/acme/gone.txt".to_owned()),
            ("file", "/acme/kept.txt".to_owned()),
            ("folder", "/acme/old".to_owned()),
            ("file", "/acme/old/inner.txt".to_owned()),
        ]
    );
    let Metadata::Deleted(gone) = &result.entries[1] else {
        panic!("{:?}", result.entries[1]);
    };
    assert_eq!(gone.path_display.as_deref(), Some("/Acme/Gone.txt"));
    assert_eq!(gone.name, "Gone.txt");

    let without = emu.list("/acme", true).await;
    assert!(
        paths_of(&without.entries)
            .iter()
            .all(|(kind, _)| *kind != "deleted")
    );
}
