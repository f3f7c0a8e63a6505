//! The token endpoint, the test-control endpoints under `/__emulator/` and the middleware that
//! injects latency, 429s and 5xx before a `/2/…` route runs and logs every call it answered.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::body::Body;
use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::call_log::ServedCall;
use super::config::AuthCodeConfig;
use super::faults::{CallFault, FaultConfig};
use super::http::{API_ARG_HEADER, json_ok, json_with_status};
use super::{Shared, lock};
use crate::dropbox::wire::{ApiErrorBody, OAuthError, RateLimitError};

const API_PREFIX: &str = "/2/";
const ADMIN_PREFIX: &str = "/__emulator/";
const REQUEST_ID_HEADER: &str = "x-dropbox-request-id";
/// Bodies up to this size (RPC arguments, token forms) are hashed into a call's identity; a
/// bigger one is an upload, which names itself in `Dropbox-API-Arg`.
const IDENTITY_BODY_LIMIT: usize = 64 * 1024;

pub fn admin_routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/oauth2/token", post(token))
        .route("/__emulator/faults", post(set_faults).get(get_faults))
        .route("/__emulator/codes", post(register_code))
        .route("/__emulator/rescan", post(rescan))
        .route("/__emulator/expire_tokens", post(expire_tokens))
}

fn oauth_failure(error: OAuthError) -> Response {
    json_with_status(StatusCode::BAD_REQUEST, &error)
}

async fn token(
    State(shared): State<Arc<Shared>>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return oauth_failure(OAuthError {
            error: "invalid_request".into(),
            error_description: Some("expected an application/x-www-form-urlencoded body".into()),
        });
    };
    match lock(&shared.tokens).grant(&form) {
        Ok(granted) => json_ok(&granted),
        Err(error) => oauth_failure(error),
    }
}

fn admin_bad_request(message: String) -> Response {
    (StatusCode::BAD_REQUEST, message).into_response()
}

async fn set_faults(
    State(shared): State<Arc<Shared>>,
    faults: Result<Json<FaultConfig>, JsonRejection>,
) -> Response {
    match faults {
        Ok(Json(faults)) => {
            lock(&shared.faults).replace(faults.clone());
            json_ok(&faults)
        }
        Err(rejection) => admin_bad_request(rejection.body_text()),
    }
}

async fn get_faults(State(shared): State<Arc<Shared>>) -> Response {
    json_ok(lock(&shared.faults).config())
}

async fn register_code(
    State(shared): State<Arc<Shared>>,
    code: Result<Json<AuthCodeConfig>, JsonRejection>,
) -> Response {
    let code = match code {
        Ok(Json(code)) => code,
        Err(rejection) => return admin_bad_request(rejection.body_text()),
    };
    let mut tokens = lock(&shared.tokens);
    if !tokens.knows_account(&code.account_id) {
        return admin_bad_request(format!("unknown account {:?}", code.account_id));
    }
    tokens.register_code(code);
    json_ok(&serde_json::json!({}))
}

async fn rescan(State(shared): State<Arc<Shared>>) -> Response {
    match shared.with_store(|store| store.rescan_all()).await {
        Ok(()) => json_ok(&serde_json::json!({})),
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpireTokens {
    #[serde(default)]
    account_id: Option<String>,
}

async fn expire_tokens(
    State(shared): State<Arc<Shared>>,
    request: Result<Json<ExpireTokens>, JsonRejection>,
) -> Response {
    let request = match request {
        Ok(Json(request)) => request,
        Err(rejection) => return admin_bad_request(rejection.body_text()),
    };
    lock(&shared.tokens).expire_now(request.account_id.as_deref());
    json_ok(&serde_json::json!({}))
}

/// Latency for API and token calls; the every-Nth 429/5xx schedule for `/2/…` calls; a
/// request id on every Dropbox response.
pub async fn inject_faults(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    static REQUEST_COUNTER: AtomicU64 = AtomicU64::new(1);
    let arrived = Instant::now();
    let path = request.uri().path().to_owned();
    if path.starts_with(ADMIN_PREFIX) {
        return next.run(request).await;
    }
    let number = lock(&shared.calls).arrive(&path);
    let (request, call) = call_identity(request).await;
    let is_api = path.starts_with(API_PREFIX);
    let (latency, fault, plan) = {
        let mut faults = lock(&shared.faults);
        let fault = if is_api {
            faults.next_call()
        } else {
            CallFault::None
        };
        (faults.config().latency(), fault, faults.config().clone())
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let mut response = match fault {
        CallFault::None => next.run(request).await,
        CallFault::RateLimited => rate_limited(&plan),
        CallFault::ServerError => server_error(&plan),
    };
    let id = REQUEST_COUNTER.fetch_add(1, Ordering::Relaxed);
    if let Ok(value) = HeaderValue::from_str(&format!("emu{id:016x}")) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    let retry_after = response
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok());
    lock(&shared.calls).record(
        number,
        ServedCall {
            arrived,
            answered: Instant::now(),
            path,
            call,
            status: response.status().as_u16(),
            fault,
            retry_after,
        },
    );
    response
}

/// What makes a call the same call when it is retried: its path and its `Dropbox-API-Arg`, or
/// its body when that is small (read here and handed on unchanged), as a short hash.
async fn call_identity(request: Request) -> (Request, String) {
    let mut hasher = Sha256::new();
    hasher.update(request.uri().path().as_bytes());
    if let Some(arg) = request.headers().get(API_ARG_HEADER) {
        hasher.update(b"\narg\n");
        hasher.update(arg.as_bytes());
        return (request, short_hex(hasher));
    }
    let small = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok())
        .is_some_and(|len| len <= IDENTITY_BODY_LIMIT);
    if !small {
        return (request, short_hex(hasher));
    }
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, IDENTITY_BODY_LIMIT).await {
        Ok(bytes) => {
            hasher.update(b"\nbody\n");
            hasher.update(&bytes);
            (
                Request::from_parts(parts, Body::from(bytes)),
                short_hex(hasher),
            )
        }
        // The body broke off while being read: the route would have failed reading it too.
        Err(_) => (Request::from_parts(parts, Body::empty()), short_hex(hasher)),
    }
}

fn short_hex(hasher: Sha256) -> String {
    hasher.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn rate_limited(plan: &FaultConfig) -> Response {
    let reason = plan.rate_limit_reason();
    let retry_after = plan.rate_limit_retry_after_secs;
    let mut response = if plan.rate_limit_plain_text {
        (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "too_many_requests",
        )
            .into_response()
    } else {
        json_with_status(
            StatusCode::TOO_MANY_REQUESTS,
            &ApiErrorBody::new(RateLimitError {
                reason,
                retry_after,
            }),
        )
    };
    if !plan.rate_limit_without_retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    }
    response
}

fn server_error(plan: &FaultConfig) -> Response {
    let status =
        StatusCode::from_u16(plan.server_error_status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "emulated server error",
    )
        .into_response()
}
