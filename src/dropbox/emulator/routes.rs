//! The `/2/…` routes: authentication, argument decoding, then one store call each.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::download::download;
use super::http::{
    auth_error, bad_request, bearer_token, header_arg, internal_error, json_ok, refused,
    require_octet_stream, route_error, rpc_arg, void_arg,
};
use super::lock;
use super::{Freshness, Shared};
use crate::dropbox::wire::{
    AccountType, CreateFolderArg, CreateFolderError, CreateFolderResult, DELETE_BATCH_MAX_ENTRIES,
    DeleteArg, DeleteBatchArg, DeleteBatchLaunch, DeleteError, DeleteResult, FullAccount,
    GetMetadataArg, GetMetadataError, LONGPOLL_JITTER_MAX_SECS, LONGPOLL_TIMEOUT_MAX_SECS,
    LONGPOLL_TIMEOUT_MIN_SECS, ListFolderArg, ListFolderContinueArg, ListFolderLongpollArg,
    ListFolderLongpollResult, Name, PollArg, RelocationArg, RelocationError, RelocationResult,
    RootInfo, UploadArg, UploadError, WriteError, timestamp,
};

/// How often a waiting longpoll looks at the disk for files dropped in directly.
const LONGPOLL_RESCAN_TICK: Duration = Duration::from_millis(200);

pub fn api_routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/2/users/get_current_account", post(get_current_account))
        .route("/2/files/list_folder", post(list_folder))
        .route("/2/files/list_folder/continue", post(list_folder_continue))
        .route(
            "/2/files/list_folder/get_latest_cursor",
            post(list_folder_get_latest_cursor),
        )
        .route("/2/files/list_folder/longpoll", post(longpoll))
        .route("/2/files/get_metadata", post(get_metadata))
        .route("/2/files/download", post(download))
        .route("/2/files/upload", post(upload))
        .route("/2/files/create_folder_v2", post(create_folder))
        .route("/2/files/delete_v2", post(delete))
        .route("/2/files/move_v2", post(move_entry))
        .route("/2/files/delete_batch", post(delete_batch))
        .route("/2/files/delete_batch/check", post(delete_batch_check))
}

pub async fn unknown_route(uri: Uri) -> Response {
    (
        StatusCode::NOT_FOUND,
        format!("Unknown API function: {:?}", uri.path()),
    )
        .into_response()
}

/// The account behind the request's bearer token, or the 400/401 Dropbox would answer.
pub fn authorize(shared: &Shared, route: &str, headers: &HeaderMap) -> Result<String, Response> {
    let token = bearer_token(route, headers)?;
    lock(&shared.tokens).check(token).map_err(auth_error)
}

async fn get_current_account(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    const ROUTE: &str = "users/get_current_account";
    let account_id = authorize(&shared, ROUTE, &headers)?;
    void_arg(ROUTE, &headers, &body)?;
    let (index, account) = shared
        .config
        .accounts
        .iter()
        .enumerate()
        .find(|(_, account)| account.account_id == account_id)
        .ok_or_else(|| internal_error("token for an unconfigured account"))?;
    Ok(json_ok(&full_account(index, account)))
}

fn full_account(index: usize, account: &super::AccountConfig) -> FullAccount {
    const FIRST_NAMESPACE_ID: usize = 3_000_000;
    let (given, surname) = account
        .display_name
        .split_once(' ')
        .unwrap_or((account.display_name.as_str(), ""));
    let abbreviated: String = account
        .display_name
        .split_whitespace()
        .filter_map(|word| word.chars().next())
        .collect();
    let namespace_id = (FIRST_NAMESPACE_ID + index).to_string();
    FullAccount {
        account_id: account.account_id.clone(),
        name: Name {
            given_name: given.to_owned(),
            surname: surname.to_owned(),
            familiar_name: given.to_owned(),
            display_name: account.display_name.clone(),
            abbreviated_name: abbreviated,
        },
        email: account.email.clone(),
        email_verified: true,
        profile_photo_url: None,
        disabled: false,
        country: None,
        locale: "en".to_owned(),
        referral_link: "https://db.tt/emulator".to_owned(),
        team: None,
        team_member_id: None,
        is_paired: false,
        account_type: AccountType::Basic,
        root_info: RootInfo::User {
            root_namespace_id: namespace_id.clone(),
            home_namespace_id: namespace_id,
            home_path: None,
        },
    }
}

async fn list_folder(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    const ROUTE: &str = "files/list_folder";
    let account = authorize(&shared, ROUTE, &headers)?;
    let arg: ListFolderArg = rpc_arg(ROUTE, &headers, &body)?;
    shared
        .with_account(account, Freshness::Always, move |store, account| {
            store.list_folder(account, &arg)
        })
        .await?
        .map(|result| json_ok(&result))
        .map_err(|refusal| refused(ROUTE, refusal, |error| error))
}

/// `ListFolderGetLatestCursorResult`; our client has no use for it, so it is not in `wire`.
#[derive(serde::Serialize)]
struct LatestCursor {
    cursor: String,
}

async fn list_folder_get_latest_cursor(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    const ROUTE: &str = "files/list_folder/get_latest_cursor";
    let account = authorize(&shared, ROUTE, &headers)?;
    let arg: ListFolderArg = rpc_arg(ROUTE, &headers, &body)?;
    shared
        .with_account(account, Freshness::Always, move |store, account| {
            store.latest_cursor(account, &arg)
        })
        .await?
        .map(|cursor| json_ok(&LatestCursor { cursor }))
        .map_err(|refusal| refused(ROUTE, refusal, |error| error))
}

async fn list_folder_continue(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    const ROUTE: &str = "files/list_folder/continue";
    let account = authorize(&shared, ROUTE, &headers)?;
    let arg: ListFolderContinueArg = rpc_arg(ROUTE, &headers, &body)?;
    shared
        .with_account(account, Freshness::Always, move |store, account| {
            store.list_folder_continue(account, &arg.cursor)
        })
        .await?
        .map(|result| json_ok(&result))
        .map_err(|refusal| refused(ROUTE, refusal, |error| error))
}

/// No Authorization header (notify host, `auth = "noauth"`): the cursor names the account.
async fn longpoll(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    const ROUTE: &str = "files/list_folder/longpoll";
    let arg: ListFolderLongpollArg = rpc_arg(ROUTE, &headers, &body)?;
    if !(LONGPOLL_TIMEOUT_MIN_SECS..=LONGPOLL_TIMEOUT_MAX_SECS).contains(&arg.timeout) {
        return Err(bad_request(
            ROUTE,
            &format!(
                "timeout: {} is not within {LONGPOLL_TIMEOUT_MIN_SECS}..={LONGPOLL_TIMEOUT_MAX_SECS}",
                arg.timeout
            ),
        ));
    }
    let answer = |changes: bool| {
        json_ok(&ListFolderLongpollResult {
            changes,
            backoff: shared.config.longpoll_backoff_secs,
        })
    };
    let (account, changed) = cursor_has_changes(&shared, &arg.cursor).await?;
    if changed {
        return Ok(answer(true));
    }
    let mut journal = lock(&shared.store).namespaces[&account]
        .journal_len
        .subscribe();
    let wait_secs = arg.timeout as f64 + jitter_secs(shared.config.longpoll_jitter);
    let deadline = tokio::time::Instant::now() + shared.config.scaled(wait_secs);
    loop {
        let tick = tokio::time::Instant::now() + LONGPOLL_RESCAN_TICK;
        tokio::select! {
            _ = journal.changed() => {}
            _ = tokio::time::sleep_until(deadline.min(tick)) => {
                let account = account.clone();
                shared
                    .with_store(move |store| store.rescan(&account))
                    .await
                    .map_err(|error| internal_error(&error.to_string()))?;
            }
        }
        if cursor_has_changes(&shared, &arg.cursor).await?.1 {
            return Ok(answer(true));
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(answer(false));
        }
    }
}

async fn cursor_has_changes(shared: &Shared, cursor: &str) -> Result<(String, bool), Response> {
    let cursor = cursor.to_owned();
    shared
        .with_store(move |store| store.cursor_has_changes(&cursor))
        .await
        .map_err(route_error)
}

/// Dropbox adds up to 90 s at random; the clock's nanoseconds are random enough.
fn jitter_secs(enabled: bool) -> f64 {
    if !enabled {
        return 0.0;
    }
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or_default();
    f64::from(nanos % 1_000_000) / 1_000_000.0 * LONGPOLL_JITTER_MAX_SECS as f64
}

async fn get_metadata(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    const ROUTE: &str = "files/get_metadata";
    let account = authorize(&shared, ROUTE, &headers)?;
    let arg: GetMetadataArg = rpc_arg(ROUTE, &headers, &body)?;
    if arg.path.is_empty() || arg.path == "/" {
        return Err(bad_request(ROUTE, "path: The root folder is unsupported."));
    }
    shared
        .with_account(account, Freshness::IfConfigured, move |store, account| {
            store.metadata(account, &arg.path, arg.include_deleted)
        })
        .await?
        .map(|metadata| json_ok(&metadata))
        .map_err(|path| route_error(GetMetadataError::Path { path }))
}

/// `UploadArg.client_modified`, which `wire::UploadArg` leaves out (our client never sends it)
/// but SDKs do; Dropbox reports it back in the file's metadata.
#[derive(serde::Deserialize)]
struct UploadArgExtra {
    #[serde(default)]
    client_modified: Option<String>,
}

async fn upload(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    const ROUTE: &str = "files/upload";
    let account = authorize(&shared, ROUTE, &headers)?;
    require_octet_stream(ROUTE, &headers)?;
    let arg: UploadArg = header_arg(ROUTE, &headers, shared.config.allow_raw_utf8_arg)?;
    let extra: UploadArgExtra = header_arg(ROUTE, &headers, shared.config.allow_raw_utf8_arg)?;
    let client_modified = extra
        .client_modified
        .as_deref()
        .map(timestamp::parse)
        .transpose()
        .map_err(|error| {
            bad_request(
                ROUTE,
                &format!("HTTP header \"Dropbox-API-Arg\": client_modified: {error}"),
            )
        })?;
    if write_contended(&shared) {
        return Err(route_error(UploadError::Path {
            reason: WriteError::TooManyWriteOperations,
            upload_session_id: String::new(),
        }));
    }
    shared
        .with_account(account, Freshness::IfConfigured, move |store, account| {
            store.upload(account, &arg, client_modified, &body)
        })
        .await?
        .map(|metadata| json_ok(&metadata))
        .map_err(|refusal| refused(ROUTE, refusal, |error| error))
}

async fn create_folder(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    const ROUTE: &str = "files/create_folder_v2";
    let account = authorize(&shared, ROUTE, &headers)?;
    let arg: CreateFolderArg = rpc_arg(ROUTE, &headers, &body)?;
    if write_contended(&shared) {
        return Err(route_error(CreateFolderError::Path {
            path: WriteError::TooManyWriteOperations,
        }));
    }
    shared
        .with_account(account, Freshness::IfConfigured, move |store, account| {
            store.create_folder(account, &arg)
        })
        .await?
        .map(|metadata| json_ok(&CreateFolderResult { metadata }))
        .map_err(|refusal| refused(ROUTE, refusal, |error| error))
}

async fn move_entry(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    const ROUTE: &str = "files/move_v2";
    let account = authorize(&shared, ROUTE, &headers)?;
    let arg: RelocationArg = rpc_arg(ROUTE, &headers, &body)?;
    if write_contended(&shared) {
        return Err(route_error(RelocationError::FromWrite {
            from_write: WriteError::TooManyWriteOperations,
        }));
    }
    shared
        .with_account(account, Freshness::IfConfigured, move |store, account| {
            store.move_entry(account, &arg)
        })
        .await?
        .map(|metadata| json_ok(&RelocationResult { metadata }))
        .map_err(|refusal| refused(ROUTE, refusal, |error| error))
}

async fn delete(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    const ROUTE: &str = "files/delete_v2";
    let account = authorize(&shared, ROUTE, &headers)?;
    let arg: DeleteArg = rpc_arg(ROUTE, &headers, &body)?;
    if write_contended(&shared) {
        return Err(route_error(DeleteError::TooManyWriteOperations));
    }
    shared
        .with_account(account, Freshness::IfConfigured, move |store, account| {
            store.delete(account, &arg)
        })
        .await?
        .map(|metadata| json_ok(&DeleteResult { metadata }))
        .map_err(|refusal| refused(ROUTE, refusal, |error| error))
}

async fn delete_batch(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    const ROUTE: &str = "files/delete_batch";
    let account = authorize(&shared, ROUTE, &headers)?;
    let arg: DeleteBatchArg = rpc_arg(ROUTE, &headers, &body)?;
    if arg.entries.len() > DELETE_BATCH_MAX_ENTRIES {
        return Err(bad_request(
            ROUTE,
            &format!("entries: more than {DELETE_BATCH_MAX_ENTRIES} items"),
        ));
    }
    let contended = write_contended(&shared);
    let async_job_id = shared
        .with_account(account, Freshness::IfConfigured, move |store, account| {
            store.delete_batch(account, &arg.entries, contended)
        })
        .await?;
    Ok(json_ok(&DeleteBatchLaunch::AsyncJobId { async_job_id }))
}

async fn delete_batch_check(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    const ROUTE: &str = "files/delete_batch/check";
    let account = authorize(&shared, ROUTE, &headers)?;
    let arg: PollArg = rpc_arg(ROUTE, &headers, &body)?;
    shared
        .with_account(account, Freshness::IfConfigured, move |store, account| {
            store.delete_batch_check(account, &arg.async_job_id)
        })
        .await?
        .map(|status| json_ok(&status))
        .map_err(route_error)
}

fn write_contended(shared: &Shared) -> bool {
    lock(&shared.faults).next_write_contended()
}
