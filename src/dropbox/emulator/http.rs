//! How requests are read and answered the way Dropbox does: JSON
//! or header arguments with their Content-Type rules, 400 plain text for malformed calls, 401
//! JSON `AuthError`s and 409 JSON route errors with an `error_summary`.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::state::Refusal;
use crate::dropbox::arg_header::decode_api_result;
use crate::dropbox::wire::{ApiErrorBody, AuthError};

pub const API_ARG_HEADER: &str = "dropbox-api-arg";
pub const API_RESULT_HEADER: &str = "dropbox-api-result";
const BEARER_PREFIX: &str = "Bearer ";
const JSON: &str = "application/json";
const OCTET_STREAM: &str = "application/octet-stream";
/// Browsers' CORS workaround; Dropbox accepts it in place of both JSON and octet-stream.
const CORS_HACK: &str = "text/plain; charset=dropbox-cors-hack";

pub fn json_ok<T: Serialize>(value: &T) -> Response {
    json_with_status(StatusCode::OK, value)
}

pub fn json_with_status<T: Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => (status, [(header::CONTENT_TYPE, JSON)], body).into_response(),
        Err(error) => internal_error(&error.to_string()),
    }
}

/// 409 with `{"error_summary": …, "error": …}`.
pub fn route_error<E: Serialize>(error: E) -> Response {
    json_with_status(StatusCode::CONFLICT, &ApiErrorBody::new(error))
}

pub fn auth_error(error: AuthError) -> Response {
    json_with_status(StatusCode::UNAUTHORIZED, &ApiErrorBody::new(error))
}

/// 400 plain text, worded like Dropbox's.
pub fn bad_request(route: &str, message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("Error in call to API function \"{route}\": {message}"),
    )
        .into_response()
}

pub fn internal_error(message: &str) -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("emulator failure: {message}"),
    )
        .into_response()
}

/// Maps a store outcome's failure; `wrap` turns the store's error into the route's error type.
pub fn refused<E, R: Serialize>(
    route: &str,
    refusal: Refusal<E>,
    wrap: impl FnOnce(E) -> R,
) -> Response {
    match refusal {
        Refusal::Route(error) => route_error(wrap(error)),
        Refusal::BadRequest(message) => bad_request(route, &message),
        Refusal::Io(error) => internal_error(&error.to_string()),
    }
}

pub fn bearer_token<'a>(route: &str, headers: &'a HeaderMap) -> Result<&'a str, Response> {
    let value = headers.get(header::AUTHORIZATION).ok_or_else(|| {
        bad_request(
            route,
            "Must provide HTTP header \"Authorization\" or URL parameter \"authorization\".",
        )
    })?;
    value
        .to_str()
        .ok()
        .and_then(|text| text.strip_prefix(BEARER_PREFIX))
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or_else(|| {
            bad_request(
                route,
                "Invalid authorization value in HTTP header \"Authorization\": expected \"Bearer <token>\".",
            )
        })
}

fn media_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).trim().to_owned())
}

fn is_json(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(JSON))
        || content_type.eq_ignore_ascii_case(CORS_HACK)
}

fn bad_content_type(route: &str, found: Option<&str>, expected: &[&str]) -> Response {
    let expected: Vec<String> = expected.iter().map(|e| format!("{e:?}")).collect();
    bad_request(
        route,
        &format!(
            "Bad HTTP \"Content-Type\" header: {:?}.  Expecting one of {}.",
            found.unwrap_or(""),
            expected.join(", ")
        ),
    )
}

/// The JSON argument of an RPC route.
pub fn rpc_arg<T: DeserializeOwned>(
    route: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<T, Response> {
    let content_type = media_type(headers);
    if !content_type.as_deref().is_some_and(is_json) {
        return Err(bad_content_type(
            route,
            content_type.as_deref(),
            &[JSON, CORS_HACK],
        ));
    }
    serde_json::from_slice(body).map_err(|error| {
        bad_request(
            route,
            &format!("request body: could not decode input as JSON: {error}"),
        )
    })
}

/// A route whose argument is Stone `Void`: no body at all, or JSON `null`.
pub fn void_arg(route: &str, headers: &HeaderMap, body: &Bytes) -> Result<(), Response> {
    match media_type(headers) {
        None if body.is_empty() => Ok(()),
        Some(content_type) if is_json(&content_type) => {
            let text = String::from_utf8_lossy(body);
            if text.trim().is_empty() || text.trim() == "null" {
                Ok(())
            } else {
                Err(bad_request(
                    route,
                    "request body: expected null, this route takes no argument",
                ))
            }
        }
        None => Err(bad_request(route, "a body was sent without a Content-Type")),
        Some(other) => Err(bad_content_type(route, Some(&other), &[JSON])),
    }
}

/// Upload bodies must be declared as bytes.
pub fn require_octet_stream(route: &str, headers: &HeaderMap) -> Result<(), Response> {
    let content_type = media_type(headers);
    match content_type.as_deref() {
        Some(found)
            if found.eq_ignore_ascii_case(OCTET_STREAM)
                || found.eq_ignore_ascii_case(CORS_HACK) =>
        {
            Ok(())
        }
        other => Err(bad_content_type(route, other, &[OCTET_STREAM, CORS_HACK])),
    }
}

/// The `Dropbox-API-Arg` header as JSON. `\uXXXX` escapes (surrogate pairs included) are
/// decoded by the JSON parser; raw non-ASCII bytes are refused unless `allow_raw_utf8`.
pub fn header_arg<T: DeserializeOwned>(
    route: &str,
    headers: &HeaderMap,
    allow_raw_utf8: bool,
) -> Result<T, Response> {
    let value = headers
        .get(API_ARG_HEADER)
        .ok_or_else(|| bad_request(route, "Missing required header \"Dropbox-API-Arg\"."))?;
    let text = header_text(value, allow_raw_utf8).ok_or_else(|| {
        bad_request(
            route,
            "HTTP header \"Dropbox-API-Arg\": non-ASCII bytes; escape every character outside printable ASCII as \\uXXXX.",
        )
    })?;
    decode_api_result(text).map_err(|error| {
        bad_request(
            route,
            &format!("HTTP header \"Dropbox-API-Arg\": could not decode input as JSON: {error}"),
        )
    })
}

fn header_text(value: &HeaderValue, allow_raw_utf8: bool) -> Option<&str> {
    let bytes = value.as_bytes();
    if bytes
        .iter()
        .all(|byte| (b' '..=b'~').contains(byte) || *byte == b'\t')
    {
        return std::str::from_utf8(bytes).ok();
    }
    allow_raw_utf8
        .then(|| std::str::from_utf8(bytes).ok())
        .flatten()
}
