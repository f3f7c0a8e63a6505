//! `files/download`: the file's metadata in `Dropbox-API-Result` (ASCII-safe),
//! the bytes streamed from disk in chunks, HTTP Range → 206, and the download faults (broken
//! connection, short body, wrong announced hash).

use std::io::{self, SeekFrom};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::mpsc;

use super::faults::DownloadFault;
use super::http::{API_RESULT_HEADER, header_arg, internal_error, refused};
use super::routes::authorize;
use super::{Freshness, Shared, lock};
use crate::dropbox::arg_header::encode_api_arg;
use crate::dropbox::wire::{DownloadArg, DownloadError, FileMetadata};

const ROUTE: &str = "files/download";
const CHUNK_BYTES: usize = 64 * 1024;
/// Chunks buffered between the disk reader and the connection.
const CHUNKS_IN_FLIGHT: usize = 4;

/// A satisfiable byte range: `start` and `len` within the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ByteRange {
    start: u64,
    len: u64,
}

/// Parses `bytes=a-b`, `bytes=a-` and `bytes=-n` (the three forms clients send).
/// `Ok(None)`: no usable Range header (serve everything); `Err(())`: unsatisfiable.
fn parse_range(value: &str, size: u64) -> Result<Option<ByteRange>, ()> {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        // Multipart ranges are not supported; like many servers, ignore the header.
        return Ok(None);
    }
    let Some((first, last)) = spec.split_once('-') else {
        return Ok(None);
    };
    let number = |text: &str| text.trim().parse::<u64>().map_err(|_| ());
    let (start, end_inclusive) = match (first.trim().is_empty(), last.trim().is_empty()) {
        (true, false) => {
            let suffix = number(last)?;
            if suffix == 0 || size == 0 {
                return Err(());
            }
            (size.saturating_sub(suffix), size - 1)
        }
        (false, true) => (number(first)?, size.saturating_sub(1)),
        (false, false) => (number(first)?, number(last)?.min(size.saturating_sub(1))),
        (true, true) => return Ok(None),
    };
    if start >= size || end_inclusive < start {
        return Err(());
    }
    Ok(Some(ByteRange {
        start,
        len: end_inclusive - start + 1,
    }))
}

/// Body chunks produced by a disk-reading task.
struct ChunkStream(mpsc::Receiver<io::Result<Bytes>>);

impl futures_core::Stream for ChunkStream {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

/// Sends `deliver` bytes of `file` from `start`, then, if `then_break`, an error that makes
/// the server abort the connection.
async fn pump(
    file: std::fs::File,
    start: u64,
    deliver: u64,
    then_break: bool,
    chunks: mpsc::Sender<io::Result<Bytes>>,
) {
    let mut file = tokio::fs::File::from_std(file);
    if let Err(error) = file.seek(SeekFrom::Start(start)).await {
        let _ = chunks.send(Err(error)).await;
        return;
    }
    let mut left = deliver;
    let mut buffer = vec![0u8; CHUNK_BYTES];
    while left > 0 {
        let want = buffer
            .len()
            .min(usize::try_from(left).unwrap_or(usize::MAX));
        match file.read(&mut buffer[..want]).await {
            Ok(0) => break,
            Ok(read) => {
                left -= read as u64;
                if chunks
                    .send(Ok(Bytes::copy_from_slice(&buffer[..read])))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            Err(error) => {
                let _ = chunks.send(Err(error)).await;
                return;
            }
        }
    }
    if then_break {
        let _ = chunks
            .send(Err(io::Error::other("emulated connection drop")))
            .await;
    }
}

/// A different, well-formed hash: every hex digit shifted by one.
fn spoil_hash(hash: &str) -> String {
    hash.chars()
        .map(|c| match c {
            '0'..='8' | 'a'..='e' => char::from(c as u8 + 1),
            '9' => 'a',
            _ => '0',
        })
        .collect()
}

pub async fn download(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    let account = authorize(&shared, ROUTE, &headers)?;
    let arg: DownloadArg = header_arg(ROUTE, &headers, shared.config.allow_raw_utf8_arg)?;
    let (mut metadata, file) = shared
        .with_account(
            account.clone(),
            Freshness::IfConfigured,
            move |store, account| store.open_file(account, &arg.path),
        )
        .await?
        .map_err(|refusal| refused(ROUTE, refusal, |path| DownloadError::Path { path }))?;
    let fault = lock(&shared.faults).next_download();
    let size = metadata.size;
    let range = match headers
        .get(header::RANGE)
        .and_then(|value| value.to_str().ok())
    {
        Some(value) => parse_range(value, size).map_err(|()| unsatisfiable(size))?,
        None => None,
    };
    if fault.change_during_download
        && let Some(lower) = metadata.path_lower.clone()
    {
        // The open handle keeps the old bytes; the new revision only shows up afterwards.
        let _ = shared
            .with_account(account, Freshness::IfConfigured, move |store, account| {
                store.save_new_version(account, &lower)
            })
            .await;
    }
    if fault.wrong_content_hash {
        metadata.content_hash = metadata.content_hash.as_deref().map(spoil_hash);
    }
    let served = range.unwrap_or(ByteRange {
        start: 0,
        len: size,
    });
    let broken = fault.drop_connection || fault.truncate;
    let deliver = if broken { served.len / 2 } else { served.len };

    let (chunks, receiver) = mpsc::channel(CHUNKS_IN_FLIGHT);
    tokio::spawn(pump(
        file,
        served.start,
        deliver,
        fault.drop_connection,
        chunks,
    ));
    let mut response = Response::new(Body::from_stream(ChunkStream(receiver)));
    *response.status_mut() = if range.is_some() {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(
        header::ETAG,
        header_value(&format!("\"{}\"", metadata.rev))?,
    );
    headers.insert(API_RESULT_HEADER, result_header(&metadata)?);
    if !fault_hides_length(fault) {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(served.len));
    }
    if range.is_some() {
        let end = served.start + served.len - 1;
        headers.insert(
            header::CONTENT_RANGE,
            header_value(&format!("bytes {}-{end}/{size}", served.start))?,
        );
    }
    Ok(response)
}

/// A clean short body is only a fault if nothing announces the real length.
fn fault_hides_length(fault: DownloadFault) -> bool {
    fault.truncate && !fault.drop_connection
}

fn header_value(text: &str) -> Result<HeaderValue, Response> {
    HeaderValue::from_str(text).map_err(|error| internal_error(&error.to_string()))
}

fn result_header(metadata: &FileMetadata) -> Result<HeaderValue, Response> {
    let json = encode_api_arg(metadata).map_err(|error| internal_error(&error.to_string()))?;
    header_value(&json)
}

/// 416 with `Content-Range: bytes */size`. Dropbox's answer is not documented; the Python SDK
/// only looks for "range/not_satisfiable" in the error text, so the body says that too.
fn unsatisfiable(size: u64) -> Response {
    let mut response = Response::new(Body::from("range/not_satisfiable/"));
    *response.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
    if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
        response.headers_mut().insert(header::CONTENT_RANGE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_client_range_forms_parse() {
        assert_eq!(
            parse_range("bytes=2-5", 10),
            Ok(Some(ByteRange { start: 2, len: 4 }))
        );
        assert_eq!(
            parse_range("bytes=7-", 10),
            Ok(Some(ByteRange { start: 7, len: 3 }))
        );
        assert_eq!(
            parse_range("bytes=-4", 10),
            Ok(Some(ByteRange { start: 6, len: 4 }))
        );
        assert_eq!(
            parse_range("bytes=5-99", 10),
            Ok(Some(ByteRange { start: 5, len: 5 }))
        );
    }

    #[test]
    fn ranges_outside_the_file_are_unsatisfiable() {
        assert_eq!(parse_range("bytes=10-", 10), Err(()));
        assert_eq!(parse_range("bytes=0-0", 0), Err(()));
        assert_eq!(parse_range("bytes=5-2", 10), Err(()));
        assert_eq!(parse_range("items=1-2", 10), Ok(None));
    }

    #[test]
    fn spoiled_hash_differs_everywhere_and_stays_hex() {
        let hash = "0123456789abcdef";
        let spoiled = spoil_hash(hash);
        assert_eq!(spoiled, "123456789abcdef0");
        assert!(hash.chars().zip(spoiled.chars()).all(|(a, b)| a != b));
    }
}
