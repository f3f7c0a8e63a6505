//! One HTTP exchange with Dropbox, with everything Dropbox asks of a client around it: the account's
//! pacer, a bearer token (refreshed once on `expired_access_token`), waits on rate limits that
//! hold the whole account, jittered retries of server trouble, and errors sorted into
//! [`BackendError`]s. Route-specific 409 bodies are handed back for the route to interpret.

use std::future::Future;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::ApiClient;
use crate::dropbox::auth::Secret;
use crate::dropbox::backend::BackendError;
use crate::dropbox::wire::{ApiErrorBody, AuthError};

const REQUEST_ID_HEADER: &str = "x-dropbox-request-id";
pub(super) const API_ARG_HEADER: &str = "Dropbox-API-Arg";
pub(super) const API_RESULT_HEADER: &str = "Dropbox-API-Result";
const JSON: &str = "application/json";
const OCTET_STREAM: &str = "application/octet-stream";
/// A Void argument goes as JSON `null`, like the Python and Rust SDKs send it.
const VOID_BODY: &[u8] = b"null";
/// Tags that mean "slow down" wherever they appear in an error.
const RATE_LIMIT_TAGS: [&str; 2] = ["too_many_requests", "too_many_write_operations"];
/// The `status` of a `Refused` for a request that was never sent (it could not be encoded).
pub(super) const NOT_SENT_STATUS: u16 = 0;
/// The status of every route (endpoint) error.
pub(super) const ENDPOINT_ERROR_STATUS: u16 = StatusCode::CONFLICT.as_u16();
/// Error bodies are logged and kept only this long.
const MAX_ERROR_TEXT: usize = 500;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Host {
    Api,
    Content,
    Notify,
}

/// A 409: the route's own error, still as raw JSON, with Dropbox's summary kept verbatim.
#[derive(Debug)]
pub(super) struct EndpointError {
    pub summary: String,
    pub error: Value,
}

impl EndpointError {
    /// The error as the route's typed union; `None` if it does not parse.
    pub fn typed<E: DeserializeOwned>(&self) -> Option<E> {
        serde_json::from_value(self.error.clone()).ok()
    }

    /// Anything the route does not single out: refused, summary verbatim.
    pub fn refused(&self) -> BackendError {
        BackendError::Refused {
            status: ENDPOINT_ERROR_STATUS,
            summary: self.summary.clone(),
        }
    }
}

#[derive(Debug)]
pub(super) enum CallError {
    Backend(BackendError),
    Endpoint(EndpointError),
}

impl From<BackendError> for CallError {
    fn from(error: BackendError) -> Self {
        CallError::Backend(error)
    }
}

/// Everything needed to (re)build one request; built afresh for every attempt.
pub(super) struct CallSpec {
    pub route: &'static str,
    pub host: Host,
    pub authenticated: bool,
    pub content_type: Option<&'static str>,
    pub body: Vec<u8>,
    pub api_arg: Option<String>,
    pub timeout: Option<Duration>,
    /// Changes state in Dropbox: paced at the account's write gap. Reads go at the read gap.
    pub write: bool,
    /// Streams the body from a file instead of `body` (opened afresh for every attempt).
    pub file_body: Option<FileBody>,
}

/// `len` bytes of the file at `path` from its start, sent as they are read.
#[derive(Clone)]
pub(super) struct FileBody {
    pub path: std::path::PathBuf,
    pub len: u64,
    /// Told how many bytes of this attempt have gone out so far.
    pub progress: Option<std::sync::Arc<dyn Fn(u64) + Send + Sync>>,
}

impl CallSpec {
    pub fn rpc(route: &'static str, arg: Option<&impl Serialize>) -> Result<Self, BackendError> {
        let body = match arg {
            Some(arg) => serde_json::to_vec(arg).map_err(|error| unencodable(route, error))?,
            None => VOID_BODY.to_vec(),
        };
        Ok(CallSpec {
            route,
            host: Host::Api,
            authenticated: true,
            content_type: Some(JSON),
            body,
            api_arg: None,
            timeout: None,
            write: false,
            file_body: None,
        })
    }

    /// Marks the call as state-changing (paced like a write).
    pub fn write(mut self) -> Self {
        self.write = true;
        self
    }

    /// Download style: the argument rides in `Dropbox-API-Arg`, the body is empty.
    pub fn download(route: &'static str, arg: &impl Serialize) -> Result<Self, BackendError> {
        Ok(CallSpec {
            route,
            host: Host::Content,
            authenticated: true,
            content_type: None,
            body: Vec::new(),
            api_arg: Some(encode_arg(route, arg)?),
            timeout: None,
            write: false,
            file_body: None,
        })
    }

    /// Upload style: argument in `Dropbox-API-Arg`, the bytes as an octet stream.
    pub fn upload(
        route: &'static str,
        arg: &impl Serialize,
        bytes: Vec<u8>,
    ) -> Result<Self, BackendError> {
        Ok(CallSpec {
            route,
            host: Host::Content,
            authenticated: true,
            content_type: Some(OCTET_STREAM),
            body: bytes,
            api_arg: Some(encode_arg(route, arg)?),
            timeout: None,
            write: true,
            file_body: None,
        })
    }
}

fn encode_arg(route: &str, arg: &impl Serialize) -> Result<String, BackendError> {
    crate::dropbox::arg_header::encode_api_arg(arg).map_err(|error| unencodable(route, error))
}

fn unencodable(route: &str, error: serde_json::Error) -> BackendError {
    BackendError::Refused {
        status: NOT_SENT_STATUS,
        summary: format!("cannot encode the {route} argument: {error}"),
    }
}

/// What one failed attempt tells the retry loop.
enum Verdict {
    Fail(CallError),
    Transient(String),
    /// Slow down; `Some` when Dropbox named the wait.
    RateLimited(Option<Duration>),
    ExpiredToken(String),
}

impl ApiClient {
    fn url(&self, host: Host, route: &str) -> String {
        let base = match host {
            Host::Api => &self.endpoints.api,
            Host::Content => &self.endpoints.content,
            Host::Notify => &self.endpoints.notify,
        };
        format!("{}/2/{route}", base.trim_end_matches('/'))
    }

    /// An RPC call: JSON (or `null`) in, JSON out.
    pub(super) async fn rpc<R: DeserializeOwned>(&self, spec: CallSpec) -> Result<R, CallError> {
        let route = spec.route;
        let bytes = self
            .execute(&spec, |response| async move {
                response
                    .bytes()
                    .await
                    .map_err(|error| format!("reading the answer: {}", error.without_url()))
            })
            .await?;
        serde_json::from_slice(&bytes).map_err(|error| {
            CallError::Backend(BackendError::Transient {
                detail: format!("unexpected answer from {route}: {error}"),
            })
        })
    }

    /// Sends the call until it succeeds or a verdict says stop; `on_success` turns a 2xx response
    /// into the result, and may itself report a transient failure (a body cut short).
    pub(super) async fn execute<T, F, Fut>(
        &self,
        spec: &CallSpec,
        mut on_success: F,
    ) -> Result<T, CallError>
    where
        F: FnMut(Response) -> Fut,
        Fut: Future<Output = Result<T, String>>,
    {
        let mut failed_attempts = 0u32;
        let mut rate_limit_waits = 0u32;
        let mut fallback_waits = 0u32;
        let mut refreshed = false;
        loop {
            if spec.write {
                self.pacer.wait_turn().await;
            } else {
                self.pacer.wait_read_turn().await;
            }
            let token = if spec.authenticated {
                Some(
                    self.tokens
                        .access_token()
                        .await
                        .map_err(BackendError::from)?,
                )
            } else {
                None
            };
            let request = self
                .build(spec, token.as_ref())
                .map_err(|error| CallError::Backend(BackendError::Io(error)))?;
            let verdict = match request.send().await {
                Ok(response) if response.status().is_success() => {
                    match on_success(response).await {
                        Ok(value) => return Ok(value),
                        Err(detail) => Verdict::Transient(detail),
                    }
                }
                Ok(response) => classify(spec.route, response).await,
                Err(error) => Verdict::Transient(error.without_url().to_string()),
            };
            match verdict {
                Verdict::Fail(error) => return Err(error),
                Verdict::ExpiredToken(detail) => match token {
                    Some(rejected) if !refreshed => {
                        refreshed = true;
                        self.tokens
                            .refresh_rejected(&rejected)
                            .await
                            .map_err(BackendError::from)?;
                    }
                    _ => return Err(BackendError::NeedsReauth { detail }.into()),
                },
                Verdict::RateLimited(named) => {
                    let wait = named.unwrap_or_else(|| {
                        fallback_waits += 1;
                        self.retry.rate_limit_fallback_wait(fallback_waits)
                    });
                    self.pacer.hold_for(wait);
                    rate_limit_waits += 1;
                    if rate_limit_waits > self.retry.rate_limit_waits {
                        return Err(BackendError::RateLimited { retry_after: wait }.into());
                    }
                    tracing::info!(
                        route = spec.route,
                        ?wait,
                        "Dropbox rate limit: holding calls on this account"
                    );
                }
                Verdict::Transient(detail) => {
                    failed_attempts += 1;
                    tracing::warn!(route = spec.route, attempt = failed_attempts, %detail, "Dropbox call failed");
                    if failed_attempts >= self.retry.transient_attempts {
                        let detail = format!(
                            "{} failed {failed_attempts} times; last: {detail}",
                            spec.route
                        );
                        return Err(BackendError::Transient { detail }.into());
                    }
                    tokio::time::sleep(self.retry.transient_backoff(failed_attempts)).await;
                }
            }
        }
    }

    fn build(
        &self,
        spec: &CallSpec,
        token: Option<&Secret>,
    ) -> std::io::Result<reqwest::RequestBuilder> {
        let http = if spec.host == Host::Notify {
            &self.notify_http
        } else {
            &self.http
        };
        let mut request = http.post(self.url(spec.host, spec.route));
        if let Some(token) = token
            && let Ok(mut value) = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
        {
            // Keeps the token out of any Debug output of the request.
            value.set_sensitive(true);
            request = request.header(AUTHORIZATION, value);
        }
        if let Some(content_type) = spec.content_type {
            request = request.header(CONTENT_TYPE, content_type);
        }
        if let Some(arg) = &spec.api_arg {
            request = request.header(API_ARG_HEADER, arg);
        }
        if let Some(timeout) = spec.timeout {
            request = request.timeout(timeout);
        }
        match &spec.file_body {
            Some(file) => Ok(request
                .header(reqwest::header::CONTENT_LENGTH, file.len)
                .body(file_stream(file)?)),
            None => Ok(request.body(spec.body.clone())),
        }
    }
}

/// The file's first `len` bytes as a request body, read as the request goes out.
fn file_stream(file: &FileBody) -> std::io::Result<reqwest::Body> {
    use futures::StreamExt;
    use tokio::io::AsyncReadExt;
    let opened = std::fs::File::open(&file.path)?;
    let reader = tokio::fs::File::from_std(opened).take(file.len);
    let progress = file.progress.clone();
    let mut sent = 0u64;
    let stream = tokio_util::io::ReaderStream::new(reader).map(move |chunk| {
        if let (Ok(bytes), Some(progress)) = (&chunk, &progress) {
            sent += bytes.len() as u64;
            progress(sent);
        }
        chunk
    });
    Ok(reqwest::Body::wrap_stream(stream))
}

/// Sorts a non-2xx answer.
async fn classify(route: &'static str, response: Response) -> Verdict {
    let status = response.status();
    let headers = response.headers().clone();
    let request_id = header_text(&headers, REQUEST_ID_HEADER).unwrap_or_default();
    let body = match response.text().await {
        Ok(body) => body,
        Err(error) => {
            return Verdict::Transient(format!(
                "HTTP {status}, body unreadable: {}",
                error.without_url()
            ));
        }
    };
    let json: Option<ApiErrorBody> = serde_json::from_str(&body).ok();
    let summary = json
        .as_ref()
        .map(|json| json.error_summary.clone())
        .unwrap_or_else(|| clip(body.trim()));
    if status == StatusCode::CONFLICT {
        // Route errors (`not_found`, conflicts) are often expected answers, not trouble.
        tracing::info!(route, status = status.as_u16(), request_id, %summary, "Dropbox answered with an error");
    } else {
        tracing::warn!(route, status = status.as_u16(), request_id, %summary, "Dropbox answered with an error");
    }

    match status {
        StatusCode::UNAUTHORIZED => {
            let auth: Option<AuthError> = json
                .as_ref()
                .and_then(|json| serde_json::from_value(json.error.clone()).ok());
            let detail = if summary.is_empty() {
                format!("HTTP {status}")
            } else {
                summary
            };
            match auth {
                Some(AuthError::ExpiredAccessToken) => Verdict::ExpiredToken(detail),
                _ => Verdict::Fail(BackendError::NeedsReauth { detail }.into()),
            }
        }
        StatusCode::TOO_MANY_REQUESTS => Verdict::RateLimited(named_wait(&headers, json.as_ref())),
        StatusCode::CONFLICT => match json {
            Some(json) if mentions_rate_limit(&json.error) => {
                Verdict::RateLimited(named_wait(&headers, Some(&json)))
            }
            Some(json) => Verdict::Fail(CallError::Endpoint(EndpointError {
                summary: json.error_summary,
                error: json.error,
            })),
            None => Verdict::Fail(
                BackendError::Refused {
                    status: status.as_u16(),
                    summary,
                }
                .into(),
            ),
        },
        status if status.is_server_error() => {
            Verdict::Transient(format!("HTTP {status}: {summary}"))
        }
        // 400 is plain text naming the mistake; 403 and the rest carry a summary. Never retried.
        status => Verdict::Fail(
            BackendError::Refused {
                status: status.as_u16(),
                summary,
            }
            .into(),
        ),
    }
}

/// `Retry-After` header first, then the JSON `retry_after`.
fn named_wait(headers: &HeaderMap, json: Option<&ApiErrorBody>) -> Option<Duration> {
    let from_header = header_text(headers, RETRY_AFTER.as_str())
        .and_then(|text| text.trim().parse::<f64>().ok())
        .filter(|secs| secs.is_finite() && *secs >= 0.0)
        .map(Duration::from_secs_f64);
    from_header.or_else(|| {
        json.and_then(|json| json.error.get("retry_after"))
            .and_then(Value::as_u64)
            .map(Duration::from_secs)
    })
}

/// Whether any union tag in the error says "too many …" (the summary is never parsed).
fn mentions_rate_limit(error: &Value) -> bool {
    match error {
        Value::Object(object) => object.iter().any(|(key, value)| {
            (key == ".tag"
                && value
                    .as_str()
                    .is_some_and(|tag| RATE_LIMIT_TAGS.contains(&tag)))
                || mentions_rate_limit(value)
        }),
        _ => false,
    }
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

fn clip(text: &str) -> String {
    match text.char_indices().nth(MAX_ERROR_TEXT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_rate_limit_tags_at_any_depth() {
        assert!(mentions_rate_limit(
            &json!({".tag": "too_many_write_operations"})
        ));
        assert!(mentions_rate_limit(
            &json!({".tag": "path", "reason": {".tag": "too_many_write_operations"}})
        ));
        assert!(!mentions_rate_limit(
            &json!({".tag": "path", "path": {".tag": "not_found"}})
        ));
    }

    #[test]
    fn header_wait_wins_over_json() {
        let mut headers = HeaderMap::new();
        let body: ApiErrorBody = serde_json::from_value(json!({
            "error_summary": "too_many_requests/..", "error": {"reason": {".tag": "too_many_requests"}, "retry_after": 7}
        }))
        .unwrap();
        assert_eq!(
            named_wait(&headers, Some(&body)),
            Some(Duration::from_secs(7))
        );
        headers.insert(RETRY_AFTER, "2".parse().unwrap());
        assert_eq!(
            named_wait(&headers, Some(&body)),
            Some(Duration::from_secs(2))
        );
        assert_eq!(named_wait(&HeaderMap::new(), None), None);
    }

    #[test]
    fn long_error_text_is_clipped() {
        let long = "x".repeat(MAX_ERROR_TEXT * 2);
        assert_eq!(clip(&long).chars().count(), MAX_ERROR_TEXT + 1);
        assert_eq!(clip("short"), "short");
    }
}
