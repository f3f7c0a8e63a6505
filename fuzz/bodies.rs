//! The fuzz targets' bodies, shared by the cargo-fuzz targets (`fuzz/fuzz_targets/*.rs`, on a
//! nightly toolchain) and the stable, seeded smoke run in `tests/reliability_fuzz.rs`. Each
//! takes arbitrary bytes and panics only on a real bug.

#![allow(dead_code)]

use smartimage::dropbox::arg_header::{decode_api_result, encode_api_arg};
use smartimage::dropbox::wire::{
    ApiErrorBody, DeleteBatchJobStatus, DownloadError, FileMetadata, FullAccount,
    ListFolderContinueError, ListFolderError, ListFolderLongpollResult, ListFolderResult, Metadata,
    OAuthError, RateLimitError, TokenResponse, UploadError,
};
use smartimage::import::report::{ErrorReport, FailedFile, is_report_content};
use smartimage::library::formats::{
    CATEGORY_UNKNOWN_TYPE, FORMAT_TABLE, Verdict, detect_by_name, detect_bytes, detect_reader,
};
use smartimage::library::metadata::{Outcome, extract_bytes};
use smartimage::library::policy::ErrorKind;

/// Decode, re-encode, decode again: the second decode must succeed and encode the same.
fn round_trip<T>(text: &str)
where
    T: serde::de::DeserializeOwned + serde::Serialize,
{
    if let Ok(value) = serde_json::from_str::<T>(text) {
        let again = serde_json::to_string(&value).expect("a decoded value encodes");
        let back: T = serde_json::from_str(&again).expect("our own encoding decodes");
        assert_eq!(
            serde_json::to_string(&back).unwrap(),
            again,
            "re-encoding is stable"
        );
    }
}

/// Dropbox response bodies and the `Dropbox-API-Result` header: whatever arrives, decoding
/// either fails cleanly or gives a value that survives a round trip.
pub fn dropbox_response(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    round_trip::<Metadata>(&text);
    round_trip::<FileMetadata>(&text);
    round_trip::<ListFolderResult>(&text);
    round_trip::<ListFolderLongpollResult>(&text);
    round_trip::<DeleteBatchJobStatus>(&text);
    round_trip::<TokenResponse>(&text);
    round_trip::<OAuthError>(&text);
    round_trip::<FullAccount>(&text);
    round_trip::<ApiErrorBody<RateLimitError>>(&text);
    round_trip::<ApiErrorBody<DownloadError>>(&text);
    round_trip::<ApiErrorBody<ListFolderError>>(&text);
    round_trip::<ApiErrorBody<ListFolderContinueError>>(&text);
    round_trip::<ApiErrorBody<UploadError>>(&text);
    round_trip::<ApiErrorBody<serde_json::Value>>(&text);
    // The header is read with the same decoder; the header form is printable ASCII.
    let _ = decode_api_result::<FileMetadata>(&text);
}

/// `Dropbox-API-Arg`: any string goes out as printable ASCII and comes back unchanged.
pub fn api_arg_round_trip(data: &[u8]) {
    let path = String::from_utf8_lossy(data).into_owned();
    let arg = serde_json::json!({ "path": path, "rev": path.chars().rev().collect::<String>() });
    let header = encode_api_arg(&arg).expect("any JSON value encodes");
    assert!(
        header.bytes().all(|b| (b' '..=b'~').contains(&b)),
        "not header-safe: {header:?}"
    );
    assert!(http_header_value_ok(&header));
    let back: serde_json::Value = decode_api_result(&header).expect("our header decodes");
    assert_eq!(back, arg);
}

fn http_header_value_ok(value: &str) -> bool {
    reqwest::header::HeaderValue::from_str(value).is_ok()
}

/// Format detection: never panics, the in-memory and the streamed reading agree, an empty
/// file is never supported, and a name alone never claims more than the name says.
pub fn format_detection(data: &[u8]) {
    let (name, content) = match data.split_first() {
        Some((&n, rest)) => {
            let n = (n as usize).min(rest.len());
            (String::from_utf8_lossy(&rest[..n]).into_owned(), &rest[n..])
        }
        None => (String::new(), data),
    };
    let by_bytes = detect_bytes(content, &name);
    let by_reader = detect_reader(std::io::Cursor::new(content), &name).expect("memory reads");
    assert_eq!(by_bytes, by_reader);
    if content.is_empty() {
        assert!(
            by_bytes.kind().is_none(),
            "an empty file is never supported"
        );
    }
    name_claims_no_more_than_the_name(&name);
}

/// Deciding from the name alone (before a byte is downloaded) says what the table says of the
/// name's last extension and nothing more: that row's format and verdict when the table lists
/// the extension, "unknown file type" (never supported) when it does not or there is none.
fn name_claims_no_more_than_the_name(name: &str) {
    let by_name = detect_by_name(name);
    let base = name.rsplit('/').next().unwrap_or(name);
    let extension = base
        .rfind('.')
        .filter(|&dot| dot > 0 && dot + 1 < base.len())
        .map(|dot| base[dot + 1..].to_ascii_lowercase());
    let listed = extension.as_deref().and_then(|ext| {
        FORMAT_TABLE
            .iter()
            .find(|row| row.extensions.contains(&ext))
    });
    match listed {
        Some(row) => {
            assert_eq!(by_name.format, row.name, "{name:?}");
            assert_eq!(by_name.verdict, row.verdict(), "{name:?}");
        }
        None => {
            assert_eq!(
                by_name.verdict,
                Verdict::Unsupported {
                    category: CATEGORY_UNKNOWN_TYPE.to_owned()
                },
                "{name:?} claims {:?} from a name the table does not list",
                by_name.format
            );
        }
    }
}

/// Characters a terminal must never receive raw from a report.
fn unsafe_for_terminal(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// The TXT report: any names and details render into text that is safe to `cat`, with one
/// entry per failed file.
pub fn report_writer(data: &[u8]) {
    let mut fields = data.split(|&b| b == 0xFF);
    let account = String::from_utf8_lossy(fields.next().unwrap_or_default()).into_owned();
    let mut failures = Vec::new();
    while let (Some(path), Some(detail)) = (fields.next(), fields.next()) {
        let k = path.first().copied().unwrap_or(0) as usize;
        failures.push(FailedFile {
            path: String::from_utf8_lossy(path).into_owned(),
            size: u64::from_le_bytes(
                detail
                    .iter()
                    .copied()
                    .chain(std::iter::repeat(0))
                    .take(8)
                    .collect::<Vec<u8>>()
                    .try_into()
                    .unwrap(),
            ),
            format: k
                .is_multiple_of(3)
                .then(|| String::from_utf8_lossy(detail).into_owned()),
            kind: ErrorKind::ALL[k % ErrorKind::ALL.len()],
            detail: String::from_utf8_lossy(detail).into_owned(),
        });
    }
    let report = ErrorReport {
        account,
        plan: "team".into(),
        changed_at: time::OffsetDateTime::from_unix_timestamp(1_795_000_000).unwrap(),
        failures: failures.clone(),
    };
    let text = report.render();
    assert!(
        is_report_content(text.as_bytes()),
        "the report carries its signature"
    );
    if let Some(c) = text.chars().find(|c| unsafe_for_terminal(*c)) {
        panic!("raw U+{:04X} in the report", c as u32);
    }
    assert_eq!(
        text.matches("\n  * ").count(),
        failures.len(),
        "one entry per failed file"
    );
}

/// File metadata extraction (`library::metadata`): whatever the bytes, it returns — no panic
/// escapes, no allocation aborts, no loop — within a second, and what it says is coherent:
/// `read` exactly when a field was read, positions on the globe, texts short and printable.
pub fn metadata_extraction(data: &[u8]) {
    let started = std::time::Instant::now();
    let got = extract_bytes(data);
    let took = started.elapsed();
    assert!(
        took < std::time::Duration::from_secs(1),
        "extraction took {took:?}"
    );
    let m = &got.metadata;
    assert_eq!(
        got.outcome == Outcome::Read,
        *m != Default::default(),
        "outcome {:?} with {m:?}",
        got.outcome
    );
    if let Some((lat, lon)) = m.gps {
        assert!(lat.abs() <= 90.0 && lon.abs() <= 180.0, "{lat}, {lon}");
        assert_eq!(m.has_gps, Some(true));
    }
    for text in [
        &m.camera_make,
        &m.camera_model,
        &m.lens,
        &m.video_codec,
        &m.taken_at,
    ]
    .into_iter()
    .flatten()
    {
        assert!(!text.is_empty() && text.chars().count() <= 128, "{text:?}");
        assert!(!text.chars().any(char::is_control), "{text:?}");
    }
    assert!(m.orientation.is_none_or(|o| (1..=8).contains(&o)));
    assert!(m.width.is_none_or(|w| w > 0) && m.height.is_none_or(|h| h > 0));
}
