//! The Dropbox API client against a mock server: exact request shapes of every route, and how
//! it behaves when Dropbox rate-limits, fails, expires tokens or sends a broken download.

use std::fmt::Write as _;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use smartimage::dropbox::api::{ApiClient, ClientConfig, Endpoints, RetryPolicy};
use smartimage::dropbox::arg_header::encode_api_arg;
use smartimage::dropbox::auth::{OAuthClient, Secret, TokenSource, Tokens};
use smartimage::dropbox::backend::{BackendError, DropboxBackend};
use smartimage::dropbox::content_hash::content_hash;
use smartimage::dropbox::pacer::Pacer;
use smartimage::dropbox::token_file::load_tokens;
use smartimage::dropbox::wire::{DeleteArg, Metadata, WriteMode};
use tokio::io::AsyncReadExt;
use wiremock::matchers::{bearer_token, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TOKEN: &str = "sl.TEST-ACCESS-TOKEN-0123";
const APP_KEY: &str = "app-key-1";

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        transient_attempts: 3,
        backoff_base: Duration::from_millis(1),
        backoff_cap: Duration::from_millis(5),
        rate_limit_fallback: Duration::from_millis(50),
        rate_limit_fallback_cap: Duration::from_millis(200),
        rate_limit_waits: 5,
        batch_poll_first: Duration::from_millis(5),
        batch_poll_cap: Duration::from_millis(20),
        batch_poll_give_up: Duration::from_secs(5),
    }
}

fn config(server: &MockServer) -> ClientConfig {
    ClientConfig {
        retry: fast_retry(),
        ..ClientConfig::with_endpoints(Endpoints::single(&server.uri()))
    }
}

fn client_with(server: &MockServer, tokens: TokenSource, pacer: Arc<Pacer>) -> ApiClient {
    ApiClient::new(config(server), Arc::new(tokens), pacer).unwrap()
}

fn client(server: &MockServer) -> ApiClient {
    client_with(
        server,
        TokenSource::fixed(TOKEN),
        Arc::new(Pacer::new(Duration::from_millis(1))),
    )
}

fn oauth(server: &MockServer) -> OAuthClient {
    OAuthClient::new(reqwest::Client::new(), &server.uri(), APP_KEY).with_retry(fast_retry())
}

/// Tokens that expire in an hour (so no proactive refresh) with a refresh token.
fn refreshable(access: &str) -> Tokens {
    let mut tokens = Tokens::fixed(access);
    tokens.expires_at = time::OffsetDateTime::now_utc() + Duration::from_secs(3600);
    tokens.refresh_token = Some(Secret::new("REFRESH-TOKEN-SECRET"));
    tokens
}

fn file_json(path_display: &str, bytes: &[u8]) -> Value {
    json!({
        "name": path_display.rsplit('/').next().unwrap(),
        "id": "id:abc",
        "path_lower": path_display.to_lowercase(),
        "path_display": path_display,
        "rev": "015f1a2b3c4d5e6f7",
        "size": bytes.len(),
        "client_modified": "2026-01-02T03:04:05Z",
        "server_modified": "2026-01-02T03:04:06Z",
        "content_hash": content_hash(bytes),
        "is_downloadable": true
    })
}

fn tagged_file(path_display: &str) -> Value {
    let mut value = file_json(path_display, b"x");
    value[".tag"] = json!("file");
    value
}

fn folder_json(path_display: &str) -> Value {
    json!({"name": path_display.rsplit('/').next().unwrap(), "id": "id:folder",
           "path_lower": path_display.to_lowercase(), "path_display": path_display})
}

fn error_409(summary: &str, error: Value) -> ResponseTemplate {
    ResponseTemplate::new(409).set_body_json(json!({"error_summary": summary, "error": error}))
}

fn expired_401() -> ResponseTemplate {
    ResponseTemplate::new(401)
        .set_body_json(json!({"error_summary": "expired_access_token/..", "error": {".tag": "expired_access_token"}}))
}

async fn requests_to(server: &MockServer, route: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|request| request.url.path() == route)
        .collect()
}

fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .headers
        .get(name)
        .map(|value| value.to_str().unwrap())
}

fn body_json(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap()
}

// ----------------------------------------------------------------------------------------------
// Happy paths and exact request shapes

#[tokio::test]
async fn current_account_sends_null_with_json_content_type_and_bearer() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/2/users/get_current_account"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "account_id": "dbid:AAH", "email": "franz@example.com", "email_verified": true,
            "name": {"given_name": "Franz", "surname": "F", "familiar_name": "Franz",
                     "display_name": "Franz F", "abbreviated_name": "FF"},
            "disabled": false, "locale": "en", "referral_link": "https://db.tt/x", "is_paired": false,
            "account_type": {".tag": "basic"},
            "root_info": {".tag": "user", "root_namespace_id": "1", "home_namespace_id": "1"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let account = client(&server).current_account().await.unwrap();
    assert_eq!(account.account_id, "dbid:AAH");
    assert_eq!(account.email.as_deref(), Some("franz@example.com"));
    assert_eq!(account.display_name, "Franz F");
    let request = &requests_to(&server, "/2/users/get_current_account").await[0];
    assert_eq!(request.body, b"null");
    assert_eq!(header(request, "content-type"), Some("application/json"));
    assert_eq!(
        header(request, "authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
}

#[tokio::test]
async fn ensure_folder_creates_a_missing_folder() {
    let server = MockServer::start().await;
    Mock::given(path("/2/files/create_folder_v2"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"metadata": folder_json("/Acme")})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let folder = client(&server).ensure_folder("/Acme").await.unwrap();
    assert_eq!(folder.path_display.as_deref(), Some("/Acme"));
    let request = &requests_to(&server, "/2/files/create_folder_v2").await[0];
    assert_eq!(
        body_json(request),
        json!({"path": "/Acme", "autorename": false})
    );
    assert_eq!(header(request, "content-type"), Some("application/json"));
}

#[tokio::test]
async fn ensure_folder_reads_back_an_existing_folder() {
    let server = MockServer::start().await;
    Mock::given(path("/2/files/create_folder_v2"))
        .respond_with(error_409(
            "path/conflict/folder/..",
            json!({".tag": "path", "path": {".tag": "conflict", "conflict": {".tag": "folder"}}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let mut existing = folder_json("/ACME");
    existing[".tag"] = json!("folder");
    Mock::given(path("/2/files/get_metadata"))
        .respond_with(ResponseTemplate::new(200).set_body_json(existing))
        .expect(1)
        .mount(&server)
        .await;
    let folder = client(&server).ensure_folder("/acme").await.unwrap();
    assert_eq!(folder.id, "id:folder");
    assert_eq!(folder.path_display.as_deref(), Some("/ACME"));
    let lookup = &requests_to(&server, "/2/files/get_metadata").await[0];
    assert_eq!(body_json(lookup), json!({"path": "/acme"}));
}

#[tokio::test]
async fn ensure_folder_where_a_file_stands_is_a_conflict() {
    let server = MockServer::start().await;
    Mock::given(path("/2/files/create_folder_v2"))
        .respond_with(error_409(
            "path/conflict/file/..",
            json!({".tag": "path", "path": {".tag": "conflict", "conflict": {".tag": "file"}}}),
        ))
        .mount(&server)
        .await;
    let error = client(&server).ensure_folder("/acme").await.unwrap_err();
    assert!(
        matches!(&error, BackendError::Conflict { summary } if summary == "path/conflict/file/.."),
        "{error:?}"
    );
}

#[tokio::test]
async fn list_folder_asks_for_a_recursive_downloadable_listing_of_2000() {
    let server = MockServer::start().await;
    Mock::given(path("/2/files/list_folder"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "entries": [tagged_file("/Acme/a.jpg")], "cursor": "AAE1", "has_more": true
        })))
        .expect(1)
        .mount(&server)
        .await;
    let page = client(&server).list_folder("/acme", true).await.unwrap();
    assert_eq!(page.cursor, "AAE1");
    assert!(page.has_more);
    assert!(matches!(&page.entries[0], Metadata::File(file) if file.name == "a.jpg"));
    let request = &requests_to(&server, "/2/files/list_folder").await[0];
    assert_eq!(
        body_json(request),
        json!({"path": "/acme", "recursive": true, "include_non_downloadable_files": false, "limit": 2000})
    );
}

#[tokio::test]
async fn list_folder_continue_sends_the_cursor_and_maps_reset() {
    let server = MockServer::start().await;
    Mock::given(path("/2/files/list_folder/continue"))
        .and(wiremock::matchers::body_json(json!({"cursor": "good"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "entries": [{".tag": "deleted", "name": "gone.jpg", "path_lower": "/acme/gone.jpg"}],
            "cursor": "next", "has_more": false
        })))
        .mount(&server)
        .await;
    Mock::given(path("/2/files/list_folder/continue"))
        .and(wiremock::matchers::body_json(json!({"cursor": "stale"})))
        .respond_with(error_409("reset/..", json!({".tag": "reset"})))
        .mount(&server)
        .await;
    let api = client(&server);
    let page = api.list_folder_continue("good").await.unwrap();
    assert_eq!(page.cursor, "next");
    assert!(matches!(&page.entries[0], Metadata::Deleted(_)));
    assert!(matches!(
        api.list_folder_continue("stale").await,
        Err(BackendError::CursorReset)
    ));
}

#[tokio::test]
async fn longpoll_goes_without_authorization_and_returns_backoff() {
    let server = MockServer::start().await;
    Mock::given(path("/2/files/list_folder/longpoll"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"changes": false, "backoff": 60})),
        )
        .expect(2)
        .mount(&server)
        .await;
    let api = client(&server);
    let wait = api
        .wait_for_changes("AAE1", Duration::from_secs(5))
        .await
        .unwrap();
    assert!(!wait.changes);
    assert_eq!(wait.backoff, Some(Duration::from_secs(60)));
    api.wait_for_changes("AAE1", Duration::from_secs(3600))
        .await
        .unwrap();
    let requests = requests_to(&server, "/2/files/list_folder/longpoll").await;
    for request in &requests {
        assert_eq!(
            header(request, "authorization"),
            None,
            "longpoll must not carry the token"
        );
    }
    assert_eq!(
        body_json(&requests[0]),
        json!({"cursor": "AAE1", "timeout": 30}),
        "clamped up to 30 s"
    );
    assert_eq!(
        body_json(&requests[1]),
        json!({"cursor": "AAE1", "timeout": 480}),
        "clamped down to 480 s"
    );
}

#[tokio::test]
async fn longpoll_reset_means_list_again() {
    let server = MockServer::start().await;
    Mock::given(path("/2/files/list_folder/longpoll"))
        .respond_with(error_409("reset/..", json!({".tag": "reset"})))
        .mount(&server)
        .await;
    let result = client(&server)
        .wait_for_changes("old", Duration::from_secs(30))
        .await;
    assert!(
        matches!(result, Err(BackendError::CursorReset)),
        "{result:?}"
    );
}

#[tokio::test]
async fn longpoll_outlasts_the_ordinary_read_timeout() {
    let server = MockServer::start().await;
    let slow = Duration::from_millis(600);
    Mock::given(path("/2/files/list_folder/longpoll"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"changes": true}))
                .set_delay(slow),
        )
        .mount(&server)
        .await;
    Mock::given(path("/2/files/get_metadata"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(tagged_file("/a"))
                .set_delay(slow),
        )
        .mount(&server)
        .await;
    let config = ClientConfig {
        read_timeout: Duration::from_millis(150),
        ..config(&server)
    };
    let api = ApiClient::new(
        config,
        Arc::new(TokenSource::fixed(TOKEN)),
        Arc::new(Pacer::default()),
    )
    .unwrap();
    let wait = api
        .wait_for_changes("c", Duration::from_secs(30))
        .await
        .unwrap();
    assert!(wait.changes);
    // The same silence on an ordinary call is a timeout, retried and then given up.
    let error = api.get_metadata("/a").await.unwrap_err();
    assert!(matches!(error, BackendError::Transient { .. }), "{error:?}");
}

#[tokio::test]
async fn download_escapes_the_arg_and_streams_a_verified_body() {
    let server = MockServer::start().await;
    let bytes = b"\x89PNG fake image bytes".repeat(1000);
    let result_header = encode_api_arg(&file_json("/Acme/😀 café.png", &bytes)).unwrap();
    Mock::given(path("/2/files/download"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("Dropbox-API-Result", result_header.as_str())
                .set_body_bytes(bytes.clone()),
        )
        .expect(1)
        .mount(&server)
        .await;
    let mut download = client(&server).download("/acme/😀 café.png").await.unwrap();
    assert_eq!(download.metadata.name, "😀 café.png");
    assert_eq!(download.metadata.size, bytes.len() as u64);
    let mut received = Vec::new();
    download.body.read_to_end(&mut received).await.unwrap();
    assert_eq!(received, bytes);
    let request = &requests_to(&server, "/2/files/download").await[0];
    assert_eq!(
        header(request, "dropbox-api-arg"),
        Some(r#"{"path":"/acme/\ud83d\ude00 caf\u00e9.png"}"#)
    );
    assert!(request.body.is_empty());
    assert_eq!(
        header(request, "authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
}

async fn download_error(announced: Value, body: Vec<u8>) -> io::Error {
    let server = MockServer::start().await;
    Mock::given(path("/2/files/download"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header(
                    "Dropbox-API-Result",
                    encode_api_arg(&announced).unwrap().as_str(),
                )
                .set_body_bytes(body),
        )
        .mount(&server)
        .await;
    let mut download = client(&server).download("/a.jpg").await.unwrap();
    let mut received = Vec::new();
    download.body.read_to_end(&mut received).await.unwrap_err()
}

#[tokio::test]
async fn a_download_shorter_than_announced_ends_in_an_error() {
    let whole = b"0123456789".repeat(100);
    let error = download_error(file_json("/a.jpg", &whole), whole[..500].to_vec()).await;
    assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    assert!(error.to_string().contains("500 of 1000"), "{error}");
}

#[tokio::test]
async fn a_download_with_the_wrong_content_hash_ends_in_an_error() {
    let sent = b"what the server sent".to_vec();
    let mut announced = file_json("/a.jpg", &sent);
    announced["content_hash"] = json!(content_hash(b"what dropbox stored!"));
    let error = download_error(announced, sent).await;
    assert!(
        error.to_string().contains("content hash mismatch"),
        "{error}"
    );
}

#[tokio::test]
async fn a_connection_cut_mid_download_ends_in_an_error() {
    // A raw server: promises 1000 bytes, sends 10, hangs up.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let whole = vec![7u8; 1000];
    let announced = encode_api_arg(&file_json("/a.bin", &whole)).unwrap();
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = vec![0u8; 4096];
        let _ = socket.read(&mut request).await.unwrap();
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nDropbox-API-Result: {announced}\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        );
        socket.write_all(head.as_bytes()).await.unwrap();
        socket.write_all(&whole[..10]).await.unwrap();
        socket.shutdown().await.unwrap();
    });
    let endpoints = Endpoints::single(&format!("http://{address}"));
    let config = ClientConfig {
        retry: fast_retry(),
        ..ClientConfig::with_endpoints(endpoints)
    };
    let api = ApiClient::new(
        config,
        Arc::new(TokenSource::fixed(TOKEN)),
        Arc::new(Pacer::default()),
    )
    .unwrap();
    let mut download = api.download("/a.bin").await.unwrap();
    let mut received = Vec::new();
    let result = download.body.read_to_end(&mut received).await;
    assert!(
        result.is_err(),
        "a cut connection must not look like a clean end ({} bytes)",
        received.len()
    );
}

#[tokio::test]
async fn download_of_a_missing_file_is_not_found() {
    let server = MockServer::start().await;
    Mock::given(path("/2/files/download"))
        .respond_with(error_409(
            "path/not_found/..",
            json!({".tag": "path", "path": {".tag": "not_found"}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let result = client(&server).download("/gone.jpg").await;
    assert!(
        matches!(&result, Err(BackendError::NotFound { path }) if path == "/gone.jpg"),
        "{:?}",
        result.err()
    );
}

#[tokio::test]
async fn upload_sends_octets_with_mode_autorename_and_content_hash() {
    let server = MockServer::start().await;
    let report = "Smartimage upload errors\n• café.mov: over the video allotment\n"
        .as_bytes()
        .to_vec();
    Mock::given(path("/2/files/upload"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(file_json("/Acme/report é.txt", &report)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let uploaded = client(&server)
        .upload("/Acme/report é.txt", report.clone(), WriteMode::Add, true)
        .await
        .unwrap();
    assert_eq!(uploaded.rev, "015f1a2b3c4d5e6f7");
    let request = &requests_to(&server, "/2/files/upload").await[0];
    assert_eq!(
        header(request, "content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(request.body, report);
    let arg = header(request, "dropbox-api-arg").unwrap();
    assert!(
        arg.is_ascii() && arg.contains(r"report \u00e9.txt"),
        "{arg}"
    );
    assert_eq!(
        serde_json::from_str::<Value>(arg).unwrap(),
        json!({"path": "/Acme/report é.txt", "mode": "add", "autorename": true, "content_hash": content_hash(&report)})
    );
}

#[tokio::test]
async fn get_metadata_answers_none_for_a_missing_path() {
    let server = MockServer::start().await;
    Mock::given(path("/2/files/get_metadata"))
        .and(wiremock::matchers::body_json(json!({"path": "/here.jpg"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(tagged_file("/here.jpg")))
        .mount(&server)
        .await;
    Mock::given(path("/2/files/get_metadata"))
        .and(wiremock::matchers::body_json(json!({"path": "/gone.jpg"})))
        .respond_with(error_409(
            "path/not_found/..",
            json!({".tag": "path", "path": {".tag": "not_found"}}),
        ))
        .mount(&server)
        .await;
    let api = client(&server);
    assert!(matches!(
        api.get_metadata("/here.jpg").await.unwrap(),
        Some(Metadata::File(_))
    ));
    assert_eq!(api.get_metadata("/gone.jpg").await.unwrap(), None);
}

// ----------------------------------------------------------------------------------------------
// delete_batch

fn success_entry(path: &str) -> Value {
    json!({".tag": "success", "metadata": tagged_file(path)})
}

#[tokio::test]
async fn delete_batch_polls_an_async_job_until_complete() {
    let server = MockServer::start().await;
    Mock::given(path("/2/files/delete_batch"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({".tag": "async_job_id", "async_job_id": "dbjid:1"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/2/files/delete_batch/check"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({".tag": "in_progress"})))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/2/files/delete_batch/check"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({".tag": "complete", "entries": [
            success_entry("/a/1.jpg"),
            {".tag": "failure", "failure": {".tag": "path_lookup", "path_lookup": {".tag": "not_found"}}},
            {".tag": "failure", "failure": {".tag": "path_write", "path_write": {".tag": "conflict", "conflict": {".tag": "file"}}}},
            {".tag": "failure", "failure": {".tag": "too_many_write_operations"}},
            {".tag": "failure", "failure": {".tag": "path_write", "path_write": {".tag": "disallowed_name"}}}
        ]})))
        .with_priority(2)
        .mount(&server)
        .await;
    let entries: Vec<DeleteArg> = (1..=5)
        .map(|i| DeleteArg {
            path: format!("/a/{i}.jpg"),
            parent_rev: Some(format!("01234567{i}")),
        })
        .collect();
    let retry = RetryPolicy {
        rate_limit_fallback: Duration::from_secs(30),
        rate_limit_fallback_cap: Duration::from_secs(60),
        ..fast_retry()
    };
    let config = ClientConfig {
        retry,
        ..config(&server)
    };
    let api = ApiClient::new(
        config,
        Arc::new(TokenSource::fixed(TOKEN)),
        Arc::new(Pacer::default()),
    )
    .unwrap();
    let results = api.delete_batch(entries).await.unwrap();
    assert_eq!(results.len(), 5);
    assert!(
        api.pacer().rate_limit_remaining() > Some(Duration::from_secs(20)),
        "an entry's too_many_write_operations holds the account"
    );
    assert!(matches!(&results[0], Ok(Metadata::File(file)) if file.name == "1.jpg"));
    assert!(matches!(&results[1], Err(BackendError::NotFound { path }) if path == "/a/2.jpg"));
    assert!(
        matches!(&results[2], Err(BackendError::Conflict { summary }) if summary == "path_write/conflict/file/..")
    );
    assert!(matches!(&results[3], Err(BackendError::RateLimited { .. })));
    assert!(
        matches!(&results[4], Err(BackendError::Refused { status: 409, summary }) if summary == "path_write/disallowed_name/..")
    );
    let launch = &requests_to(&server, "/2/files/delete_batch").await[0];
    assert_eq!(
        body_json(launch)["entries"][0],
        json!({"path": "/a/1.jpg", "parent_rev": "012345671"})
    );
    let checks = requests_to(&server, "/2/files/delete_batch/check").await;
    assert_eq!(checks.len(), 3, "two in_progress answers, then complete");
    assert!(
        checks
            .iter()
            .all(|check| body_json(check) == json!({"async_job_id": "dbjid:1"}))
    );
}

/// Completes every batch at once, one success per requested entry.
struct CompleteEveryEntry;

impl Respond for CompleteEveryEntry {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let arg = body_json(request);
        let entries: Vec<Value> = arg["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| success_entry(entry["path"].as_str().unwrap()))
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({".tag": "complete", "entries": entries}))
    }
}

#[tokio::test]
async fn delete_batch_splits_more_than_1000_entries() {
    let server = MockServer::start().await;
    Mock::given(path("/2/files/delete_batch"))
        .respond_with(CompleteEveryEntry)
        .expect(3)
        .mount(&server)
        .await;
    let entries: Vec<DeleteArg> = (0..2500)
        .map(|i| DeleteArg {
            path: format!("/a/{i}.jpg"),
            parent_rev: None,
        })
        .collect();
    let results = client(&server).delete_batch(entries).await.unwrap();
    assert_eq!(results.len(), 2500);
    for (i, result) in results.iter().enumerate() {
        let expected = format!("/a/{i}.jpg");
        assert!(
            matches!(result, Ok(metadata) if metadata.path_lower() == Some(expected.as_str())),
            "entry {i}"
        );
    }
    let sizes: Vec<usize> = requests_to(&server, "/2/files/delete_batch")
        .await
        .iter()
        .map(|request| body_json(request)["entries"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, vec![1000, 1000, 500]);
}

#[tokio::test]
async fn a_batch_that_fails_part_way_keeps_the_answers_it_has() {
    let server = MockServer::start().await;
    Mock::given(path("/2/files/delete_batch"))
        .respond_with(CompleteEveryEntry)
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/2/files/delete_batch"))
        .respond_with(ResponseTemplate::new(400).set_body_string("bad batch"))
        .with_priority(2)
        .mount(&server)
        .await;
    let entries = |n| -> Vec<DeleteArg> {
        (0..n)
            .map(|i| DeleteArg {
                path: format!("/a/{i}.jpg"),
                parent_rev: None,
            })
            .collect()
    };
    let api = client(&server);
    let results = api.delete_batch(entries(1500)).await.unwrap();
    assert_eq!(results.len(), 1500);
    assert!(results[..1000].iter().all(Result::is_ok));
    assert!(
        results[1000..]
            .iter()
            .all(|result| matches!(result, Err(BackendError::Refused { status: 400, .. })))
    );
    // When nothing was deleted, the whole call fails.
    let first_fails = api.delete_batch(entries(10)).await;
    assert!(
        matches!(first_fails, Err(BackendError::Refused { status: 400, .. })),
        "{first_fails:?}"
    );
}

// ----------------------------------------------------------------------------------------------
// Rate limits, server trouble, and errors that must not be retried

#[tokio::test]
async fn a_429_with_retry_after_holds_every_call_on_the_account() {
    let server = MockServer::start().await;
    Mock::given(path("/2/files/list_folder"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1").set_body_json(json!({
            "error_summary": "too_many_requests/..", "error": {"reason": {".tag": "too_many_requests"}, "retry_after": 1}
        })))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/2/files/list_folder"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"entries": [], "cursor": "c", "has_more": false})),
        )
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(path("/2/files/get_metadata"))
        .respond_with(ResponseTemplate::new(200).set_body_json(tagged_file("/b")))
        .mount(&server)
        .await;
    let pacer = Arc::new(Pacer::new(Duration::from_millis(1)));
    // Two links on the same Dropbox account share the pacer.
    let first = client_with(&server, TokenSource::fixed(TOKEN), pacer.clone());
    let second = client_with(&server, TokenSource::fixed(TOKEN), pacer.clone());
    let start = Instant::now();
    let listing =
        tokio::spawn(async move { first.list_folder("", true).await.map(|_| start.elapsed()) });
    // Wait (without assuming how fast the machine is) until the 429 has set the hold.
    wait_until("the 429 to set the hold", || async {
        pacer.rate_limited_until().is_some()
    })
    .await;
    let held_until = pacer.rate_limited_until().expect("the hold is in force");
    let hold = held_until.duration_since(tokio::time::Instant::from_std(start));
    assert!(hold >= Duration::from_millis(950), "held for {hold:?}");
    let other = second.get_metadata("/b").await.unwrap();
    assert!(other.is_some());
    assert!(
        tokio::time::Instant::now() >= held_until,
        "the other link went ahead {:?} before the hold ended",
        held_until - tokio::time::Instant::now()
    );
    let listed_after = listing.await.unwrap().unwrap();
    assert!(
        listed_after >= Duration::from_millis(950),
        "retried after {listed_after:?}"
    );
    assert_eq!(requests_to(&server, "/2/files/list_folder").await.len(), 2);
}

#[tokio::test]
async fn a_text_429_waits_its_retry_after() {
    let server = MockServer::start().await;
    Mock::given(path("/2/files/get_metadata"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "1")
                .set_body_string("Too many requests"),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/2/files/get_metadata"))
        .respond_with(ResponseTemplate::new(200).set_body_json(tagged_file("/b")))
        .with_priority(2)
        .mount(&server)
        .await;
    let start = Instant::now();
    assert!(client(&server).get_metadata("/b").await.unwrap().is_some());
    assert!(
        start.elapsed() >= Duration::from_millis(950),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn a_json_429_without_header_waits_its_retry_after_field() {
    let server = MockServer::start().await;
    Mock::given(path("/2/files/get_metadata"))
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({
            "error_summary": "too_many_requests/..", "error": {"reason": {".tag": "too_many_requests"}, "retry_after": 1}
        })))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/2/files/get_metadata"))
        .respond_with(ResponseTemplate::new(200).set_body_json(tagged_file("/b")))
        .with_priority(2)
        .mount(&server)
        .await;
    let start = Instant::now();
    assert!(client(&server).get_metadata("/b").await.unwrap().is_some());
    assert!(
        start.elapsed() >= Duration::from_millis(950),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn too_many_write_operations_in_a_409_is_retried_like_a_429() {
    let server = MockServer::start().await;
    Mock::given(path("/2/files/upload"))
        .respond_with(error_409(
            "path/too_many_write_operations/..",
            json!({".tag": "path", "reason": {".tag": "too_many_write_operations"}, "upload_session_id": "s"}),
        ))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/2/files/upload"))
        .respond_with(ResponseTemplate::new(200).set_body_json(file_json("/r.txt", b"r")))
        .with_priority(2)
        .mount(&server)
        .await;
    let start = Instant::now();
    client(&server)
        .upload("/r.txt", b"r".to_vec(), WriteMode::Add, true)
        .await
        .unwrap();
    // Fallback waits of 50 ms, then 100 ms (fast_retry), since no Retry-After was given.
    assert!(
        start.elapsed() >= Duration::from_millis(140),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(requests_to(&server, "/2/files/upload").await.len(), 3);
}

#[tokio::test]
async fn endless_rate_limits_end_in_rate_limited() {
    let server = MockServer::start().await;
    Mock::given(path("/2/files/get_metadata"))
        .respond_with(ResponseTemplate::new(429).set_body_string("slow down"))
        .mount(&server)
        .await;
    let result = client(&server).get_metadata("/b").await;
    assert!(
        matches!(result, Err(BackendError::RateLimited { .. })),
        "{result:?}"
    );
    assert_eq!(
        requests_to(&server, "/2/files/get_metadata").await.len(),
        fast_retry().rate_limit_waits as usize + 1
    );
}

#[tokio::test]
async fn a_burst_of_server_errors_is_retried_to_success() {
    let server = MockServer::start().await;
    Mock::given(path("/2/files/list_folder/continue"))
        .respond_with(ResponseTemplate::new(503).set_body_string("upstream unavailable"))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/2/files/list_folder/continue"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"entries": [], "cursor": "c2", "has_more": false})),
        )
        .with_priority(2)
        .mount(&server)
        .await;
    let page = client(&server).list_folder_continue("c1").await.unwrap();
    assert_eq!(page.cursor, "c2");
    assert_eq!(
        requests_to(&server, "/2/files/list_folder/continue")
            .await
            .len(),
        3
    );
}

#[tokio::test]
async fn server_errors_forever_end_as_transient_after_the_attempt_cap() {
    let server = MockServer::start().await;
    Mock::given(path("/2/files/list_folder/continue"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let result = client(&server).list_folder_continue("c1").await;
    assert!(
        matches!(&result, Err(error @ BackendError::Transient { .. }) if error.is_retryable()),
        "{result:?}"
    );
    let attempts = requests_to(&server, "/2/files/list_folder/continue")
        .await
        .len();
    assert_eq!(attempts, fast_retry().transient_attempts as usize);
}

#[tokio::test]
async fn a_400_is_refused_with_its_text_and_never_retried() {
    let server = MockServer::start().await;
    let text = "Error in call to API function \"files/list_folder\": request body: unknown field";
    Mock::given(path("/2/files/list_folder"))
        .respond_with(ResponseTemplate::new(400).set_body_string(text))
        .expect(1)
        .mount(&server)
        .await;
    let result = client(&server).list_folder("", false).await;
    assert!(
        matches!(&result, Err(BackendError::Refused { status: 400, summary }) if summary == text),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_403_is_refused_and_never_retried() {
    let server = MockServer::start().await;
    Mock::given(path("/2/files/get_metadata"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "error_summary": "no_permission/..", "error": {".tag": "no_permission"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let result = client(&server).get_metadata("/x").await;
    assert!(
        matches!(&result, Err(BackendError::Refused { status: 403, summary }) if summary == "no_permission/.."),
        "{result:?}"
    );
}

#[tokio::test]
async fn endpoint_errors_map_to_not_found_conflict_space_or_refused_with_the_summary_kept() {
    let server = MockServer::start().await;
    Mock::given(path("/2/files/list_folder"))
        .respond_with(error_409(
            "path/not_found/...",
            json!({".tag": "path", "path": {".tag": "not_found"}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/2/files/upload"))
        .and(wiremock::matchers::header_regex("dropbox-api-arg", "conflict"))
        .respond_with(error_409(
            "path/conflict/file/..",
            json!({".tag": "path", "reason": {".tag": "conflict", "conflict": {".tag": "file"}}, "upload_session_id": "s"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/2/files/upload"))
        .and(wiremock::matchers::header_regex("dropbox-api-arg", "full"))
        .respond_with(error_409(
            "path/insufficient_space/..",
            json!({".tag": "path", "reason": {".tag": "insufficient_space"}, "upload_session_id": "s"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/2/files/download"))
        .respond_with(error_409(
            "path/restricted_content/.;3",
            json!({".tag": "path", "path": {".tag": "restricted_content"}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let api = client(&server);
    let listed = api.list_folder("/acme", true).await;
    assert!(
        matches!(&listed, Err(BackendError::NotFound { path }) if path == "/acme"),
        "{listed:?}"
    );
    let conflict = api
        .upload("/conflict.txt", b"x".to_vec(), WriteMode::Add, false)
        .await;
    assert!(
        matches!(&conflict, Err(BackendError::Conflict { summary }) if summary == "path/conflict/file/.."),
        "{conflict:?}"
    );
    let full = api
        .upload("/full.txt", b"x".to_vec(), WriteMode::Add, false)
        .await;
    assert!(
        matches!(&full, Err(BackendError::InsufficientSpace { .. })),
        "{full:?}"
    );
    let restricted = api.download("/blocked.mp4").await.err();
    assert!(
        matches!(&restricted, Some(BackendError::Refused { status: 409, summary }) if summary == "path/restricted_content/.;3"),
        "{restricted:?}"
    );
}

// ----------------------------------------------------------------------------------------------
// Tokens

#[tokio::test]
async fn an_expired_token_is_refreshed_once_and_the_call_retried() {
    let server = MockServer::start().await;
    Mock::given(path("/2/files/get_metadata"))
        .and(bearer_token("sl.OLD"))
        // Both calls are sent with the old token before either 401 comes back.
        .respond_with(expired_401().set_delay(Duration::from_millis(300)))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(path("/2/files/get_metadata"))
        .and(bearer_token("sl.NEW"))
        .respond_with(ResponseTemplate::new(200).set_body_json(tagged_file("/b")))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(path("/oauth2/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(
                    json!({"access_token": "sl.NEW", "token_type": "bearer", "expires_in": 14400}),
                )
                // Slow enough that the second caller's 401 arrives while the refresh runs.
                .set_delay(Duration::from_millis(200)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let tokens = TokenSource::new(oauth(&server), refreshable("sl.OLD"));
    let api = Arc::new(client_with(
        &server,
        tokens,
        Arc::new(Pacer::new(Duration::from_millis(1))),
    ));
    let (a, b) = tokio::join!(api.get_metadata("/b"), api.get_metadata("/b"));
    assert!(a.unwrap().is_some() && b.unwrap().is_some());
    let refresh = &requests_to(&server, "/oauth2/token").await[0];
    let form: Vec<(String, String)> = url_form(&refresh.body)
        .into_iter()
        .filter(|(key, _)| key != "refresh_token")
        .collect();
    assert_eq!(
        form,
        vec![
            ("grant_type".to_string(), "refresh_token".to_string()),
            ("client_id".to_string(), APP_KEY.to_string())
        ]
    );
    assert!(
        url_form(&refresh.body).contains(&("refresh_token".into(), "REFRESH-TOKEN-SECRET".into()))
    );
    assert_eq!(
        header(refresh, "content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let kept = api.tokens().snapshot().await;
    assert_eq!(kept.access_token.expose(), "sl.NEW");
    assert_eq!(
        kept.refresh_token.unwrap().expose(),
        "REFRESH-TOKEN-SECRET",
        "the old refresh token stays"
    );
}

fn url_form(body: &[u8]) -> Vec<(String, String)> {
    reqwest::Url::parse(&format!("http://x/?{}", String::from_utf8_lossy(body)))
        .unwrap()
        .query_pairs()
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect()
}

#[tokio::test]
async fn a_token_close_to_expiry_is_refreshed_before_the_call() {
    let server = MockServer::start().await;
    Mock::given(path("/oauth2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "sl.FRESH", "token_type": "bearer", "expires_in": 14400}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/2/files/get_metadata"))
        .and(bearer_token("sl.FRESH"))
        .respond_with(ResponseTemplate::new(200).set_body_json(tagged_file("/b")))
        .expect(2)
        .mount(&server)
        .await;
    let mut tokens = refreshable("sl.ALMOST-EXPIRED");
    tokens.expires_at = time::OffsetDateTime::now_utc() + Duration::from_secs(100);
    let dir = tempfile::tempdir().unwrap();
    let token_path = dir.path().join("dropbox-token.json");
    let source = TokenSource::new(oauth(&server), tokens).persist_to(&token_path);
    let api = client_with(&server, source, Arc::new(Pacer::default()));
    api.get_metadata("/b").await.unwrap();
    api.get_metadata("/b").await.unwrap();
    let saved = load_tokens(&token_path).unwrap();
    assert_eq!(saved.access_token.expose(), "sl.FRESH");
    assert_eq!(
        saved.refresh_token.unwrap().expose(),
        "REFRESH-TOKEN-SECRET"
    );
    let mode = std::fs::metadata(&token_path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[tokio::test]
async fn a_failing_early_refresh_keeps_using_the_still_valid_token() {
    let server = MockServer::start().await;
    Mock::given(path("/oauth2/token"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    Mock::given(path("/2/files/get_metadata"))
        .and(bearer_token("sl.STILL-VALID"))
        .respond_with(ResponseTemplate::new(200).set_body_json(tagged_file("/b")))
        .expect(1)
        .mount(&server)
        .await;
    let mut tokens = refreshable("sl.STILL-VALID");
    tokens.expires_at = time::OffsetDateTime::now_utc() + Duration::from_secs(100);
    let api = client_with(
        &server,
        TokenSource::new(oauth(&server), tokens),
        Arc::new(Pacer::default()),
    );
    assert!(api.get_metadata("/b").await.unwrap().is_some());
    let refreshes = requests_to(&server, "/oauth2/token").await.len();
    assert_eq!(
        refreshes,
        fast_retry().transient_attempts as usize,
        "the token endpoint is retried before giving up"
    );
}

#[tokio::test]
async fn a_token_endpoint_hiccup_is_retried() {
    let server = MockServer::start().await;
    Mock::given(path("/oauth2/token"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/oauth2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "sl.A", "token_type": "bearer", "expires_in": 14400}),
        ))
        .with_priority(2)
        .mount(&server)
        .await;
    let refreshed = oauth(&server)
        .refresh(&Secret::new("REFRESH-TOKEN-SECRET"))
        .await
        .unwrap();
    assert_eq!(refreshed.access_token, "sl.A");
    assert_eq!(requests_to(&server, "/oauth2/token").await.len(), 2);
}

#[tokio::test]
async fn a_token_source_from_a_file_saves_refreshes_back() {
    let server = MockServer::start().await;
    Mock::given(path("/oauth2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "sl.NEW", "token_type": "bearer", "expires_in": 14400}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let token_path = dir.path().join("link.json");
    smartimage::dropbox::token_file::save_tokens(&token_path, &refreshable("sl.OLD")).unwrap();
    let source = TokenSource::from_file(oauth(&server), &token_path).unwrap();
    let fresh = source
        .refresh_rejected(&Secret::new("sl.OLD"))
        .await
        .unwrap();
    assert_eq!(fresh.expose(), "sl.NEW");
    assert_eq!(
        load_tokens(&token_path).unwrap().access_token.expose(),
        "sl.NEW"
    );
    std::fs::set_permissions(&token_path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let refused = TokenSource::from_file(oauth(&server), &token_path).unwrap_err();
    assert!(refused.to_string().contains("chmod 600"), "{refused}");
}

#[tokio::test]
async fn a_refused_refresh_means_reauthorize() {
    let server = MockServer::start().await;
    Mock::given(path("/2/files/get_metadata"))
        .respond_with(expired_401())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/oauth2/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant", "error_description": "refresh token has been revoked"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let api = client_with(
        &server,
        TokenSource::new(oauth(&server), refreshable("sl.OLD")),
        Arc::new(Pacer::default()),
    );
    let result = api.get_metadata("/b").await;
    assert!(
        matches!(&result, Err(BackendError::NeedsReauth { detail }) if detail.contains("invalid_grant")),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_second_401_after_refreshing_means_reauthorize() {
    let server = MockServer::start().await;
    Mock::given(path("/2/files/get_metadata"))
        .respond_with(expired_401())
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(path("/oauth2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "sl.NEW", "token_type": "bearer", "expires_in": 14400}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let api = client_with(
        &server,
        TokenSource::new(oauth(&server), refreshable("sl.OLD")),
        Arc::new(Pacer::default()),
    );
    let result = api.get_metadata("/b").await;
    assert!(
        matches!(result, Err(BackendError::NeedsReauth { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn an_invalid_token_is_not_refreshed() {
    let server = MockServer::start().await;
    Mock::given(path("/2/files/get_metadata"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error_summary": "invalid_access_token/..", "error": {".tag": "invalid_access_token"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/oauth2/token"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let api = client_with(
        &server,
        TokenSource::new(oauth(&server), refreshable("sl.OLD")),
        Arc::new(Pacer::default()),
    );
    let result = api.get_metadata("/b").await;
    assert!(
        matches!(&result, Err(BackendError::NeedsReauth { detail }) if detail == "invalid_access_token/.."),
        "{result:?}"
    );
}

#[tokio::test]
async fn exchanging_a_code_posts_the_verifier_and_no_secret() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "sl.A", "token_type": "bearer", "expires_in": 14400, "refresh_token": "R1",
            "scope": "files.content.read", "uid": "1", "account_id": "dbid:AAH"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let verifier = Secret::new("v".repeat(64));
    let tokens = oauth(&server)
        .exchange_code(" the-code \n", &verifier)
        .await
        .unwrap();
    assert_eq!(tokens.refresh_token.unwrap().expose(), "R1");
    assert_eq!(tokens.account_id.as_deref(), Some("dbid:AAH"));
    let request = &requests_to(&server, "/oauth2/token").await[0];
    assert_eq!(
        url_form(&request.body),
        vec![
            ("grant_type".to_string(), "authorization_code".to_string()),
            ("code".to_string(), "the-code".to_string()),
            ("client_id".to_string(), APP_KEY.to_string()),
            ("code_verifier".to_string(), "v".repeat(64)),
        ]
    );
}

#[tokio::test]
async fn exchanging_a_used_code_asks_to_authorize_again() {
    let server = MockServer::start().await;
    Mock::given(path("/oauth2/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_grant"})))
        .expect(1)
        .mount(&server)
        .await;
    let error = oauth(&server)
        .exchange_code("used", &Secret::new("v".repeat(64)))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            smartimage::dropbox::auth::TokenError::Reauthorize { .. }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn revoking_sends_a_void_call_with_the_token() {
    let server = MockServer::start().await;
    Mock::given(path("/2/auth/token/revoke"))
        .and(bearer_token(TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_raw("null", "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    client(&server).revoke_token().await.unwrap();
    let request = &requests_to(&server, "/2/auth/token/revoke").await[0];
    assert_eq!(request.body, b"null");
}

#[tokio::test]
async fn writes_on_one_account_go_one_at_a_time_while_reads_go_ahead() {
    let server = MockServer::start().await;
    // An upload answered only after the test is over: while it is in flight, what else reaches
    // Dropbox is what the account's write gate lets through. No stopwatch is involved.
    Mock::given(path("/2/files/upload"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(file_json("/r.txt", b"r"))
                .set_delay(NEVER_WITHIN_THE_TEST),
        )
        .mount(&server)
        .await;
    Mock::given(path("/2/files/get_metadata"))
        .respond_with(ResponseTemplate::new(200).set_body_json(tagged_file("/b")))
        .mount(&server)
        .await;
    let pacer = Arc::new(Pacer::new(Duration::from_millis(1)));
    let first = Arc::new(client_with(
        &server,
        TokenSource::fixed(TOKEN),
        pacer.clone(),
    ));
    let second = Arc::new(client_with(&server, TokenSource::fixed(TOKEN), pacer));
    let upload = |api: &Arc<ApiClient>, name: &'static str| {
        let api = Arc::clone(api);
        tokio::spawn(async move { api.upload(name, b"r".to_vec(), WriteMode::Add, true).await })
    };
    let a = upload(&first, "/r.txt");
    wait_until("the first upload reaches Dropbox", || async {
        requests_to(&server, "/2/files/upload").await.len() == 1
    })
    .await;
    let b = upload(&second, "/s.txt");
    // The read goes ahead while the first upload is in flight and the second waits for it.
    let found = tokio::time::timeout(PATIENCE, second.get_metadata("/b"))
        .await
        .expect("a read waited for the writes");
    assert!(found.unwrap().is_some());
    assert!(!a.is_finished() && !b.is_finished());
    assert_eq!(
        requests_to(&server, "/2/files/upload").await.len(),
        1,
        "a second upload reached Dropbox while the first was in flight"
    );
    a.abort();
    b.abort();
}

/// A response delay longer than any test: the call is still in flight when the test ends.
const NEVER_WITHIN_THE_TEST: Duration = Duration::from_secs(600);
/// How long something that should happen at once is given, however slow the machine.
const PATIENCE: Duration = Duration::from_secs(30);

/// Polls `done` until it holds; fails after [`PATIENCE`].
async fn wait_until<F, Fut>(what: &str, done: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !done().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "waited {PATIENCE:?} for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

// ----------------------------------------------------------------------------------------------
// Secrets stay secret

/// Collects every tracing event and span field as text.
struct Capture(Arc<Mutex<String>>);

struct FieldText<'a>(&'a mut String);

impl tracing::field::Visit for FieldText<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={value:?} ", field.name());
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        span.record(&mut FieldText(&mut self.0.lock().unwrap()));
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        values.record(&mut FieldText(&mut self.0.lock().unwrap()));
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut text = self.0.lock().unwrap();
        let _ = write!(text, "\n{} ", event.metadata().target());
        event.record(&mut FieldText(&mut text));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[tokio::test]
async fn tokens_never_appear_in_errors_or_logs() {
    let logs = Arc::new(Mutex::new(String::new()));
    let _guard = tracing::subscriber::set_default(Capture(logs.clone()));
    let server = MockServer::start().await;
    Mock::given(path("/2/files/get_metadata"))
        .respond_with(expired_401())
        .mount(&server)
        .await;
    Mock::given(path("/2/files/list_folder"))
        .respond_with(
            ResponseTemplate::new(500)
                .insert_header("X-Dropbox-Request-Id", "req-7f3a")
                .set_body_string("boom"),
        )
        .mount(&server)
        .await;
    Mock::given(path("/2/files/download"))
        .respond_with(ResponseTemplate::new(400).set_body_string("bad request"))
        .mount(&server)
        .await;
    Mock::given(path("/oauth2/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_grant"})))
        .mount(&server)
        .await;
    let api = client_with(
        &server,
        TokenSource::new(oauth(&server), refreshable(TOKEN)),
        Arc::new(Pacer::default()),
    );
    let mut shown = String::new();
    let errors = [
        api.get_metadata("/a").await.unwrap_err(),
        api.list_folder("", true).await.unwrap_err(),
        api.download("/a").await.err().unwrap(),
    ];
    for error in &errors {
        let _ = write!(shown, "{error} {error:?} ");
    }
    let _ = write!(shown, "{api:?} {:?}", api.tokens().snapshot().await);
    let logs = logs.lock().unwrap().clone();
    assert!(
        logs.contains("req-7f3a"),
        "the request id is logged: {logs}"
    );
    assert!(
        logs.contains("Dropbox answered with an error"),
        "the test must see the log lines: {logs}"
    );
    for secret in [TOKEN, "REFRESH-TOKEN-SECRET"] {
        assert!(
            !shown.contains(secret),
            "{secret} leaked into errors: {shown}"
        );
        assert!(!logs.contains(secret), "{secret} leaked into logs: {logs}");
    }
}
