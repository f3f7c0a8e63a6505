//! The request and response examples of Dropbox's API documentation (the "crib", copied here),
//! pinned: requests we build must equal the crib's JSON, responses in the crib must parse and
//! (where we also emit them) re-serialize unchanged. Elided values (`…`) are filled in with
//! concrete ones; everything else is the crib's text.

use serde_json::{Value, json};
use time::macros::datetime;

use super::*;
use crate::dropbox::arg_header::{decode_api_result, encode_api_arg};

const HASH: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("crib text is valid JSON")
}

/// Parses `text` as `T`, serializes it again and requires the same JSON value.
fn assert_round_trip<T>(text: &str) -> T
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    let typed: T = serde_json::from_str(text).expect("crib text parses as the typed shape");
    assert_eq!(
        serde_json::to_value(&typed).unwrap(),
        parse(text),
        "re-serialized {text}"
    );
    typed
}

fn crib_file_entry() -> &'static str {
    r#"{".tag":"file","name":"a.jpg","path_lower":"/acme/a.jpg","path_display":"/Acme/a.jpg",
      "id":"id:abc","client_modified":"2026-01-02T03:04:05Z","server_modified":"2026-01-02T03:04:06Z",
      "rev":"015f1a2b3c4d5e6f7","size":1234,"is_downloadable":true,"content_hash":"<64 hex>"}"#
}

#[test]
fn list_folder_request() {
    let arg = ListFolderArg {
        recursive: true,
        include_non_downloadable_files: false,
        limit: Some(LIST_FOLDER_LIMIT_MAX),
        ..ListFolderArg::new("/acme")
    };
    assert_eq!(
        serde_json::to_value(&arg).unwrap(),
        parse(
            r#"{"path":"/acme","recursive":true,"include_non_downloadable_files":false,"limit":2000}"#
        )
    );
}

#[test]
fn list_folder_response() {
    let text = format!(
        r#"{{"entries":[{}],"cursor":"AAE…","has_more":false}}"#,
        crib_file_entry()
    );
    let result: ListFolderResult = assert_round_trip(&text);
    assert!(!result.has_more);
    let Metadata::File(file) = &result.entries[0] else {
        panic!("expected a file entry, got {:?}", result.entries[0]);
    };
    assert_eq!(file.id, "id:abc");
    assert_eq!(file.rev, "015f1a2b3c4d5e6f7");
    assert_eq!(file.size, 1234);
    assert_eq!(file.client_modified, datetime!(2026-01-02 03:04:05 UTC));
    assert_eq!(file.server_modified, datetime!(2026-01-02 03:04:06 UTC));
    assert_eq!(file.content_hash.as_deref(), Some("<64 hex>"));
}

#[test]
fn list_folder_not_found() {
    let text = r#"{"error_summary":"path/not_found/..","error":{".tag":"path","path":{".tag":"not_found"}}}"#;
    let body: ApiErrorBody<ListFolderError> = assert_round_trip(text);
    assert_eq!(
        body.error,
        ListFolderError::Path {
            path: LookupError::NotFound
        }
    );
    assert_eq!(
        ApiErrorBody::new(body.error.clone()),
        body,
        "emulator builds the same body"
    );
}

#[test]
fn list_folder_continue() {
    let arg = ListFolderContinueArg {
        cursor: "AAE…".into(),
    };
    assert_eq!(
        serde_json::to_value(&arg).unwrap(),
        parse(r#"{"cursor":"AAE…"}"#)
    );
    let body: ApiErrorBody<ListFolderContinueError> =
        assert_round_trip(r#"{"error":{".tag":"reset"},"error_summary":"reset/.."}"#);
    assert_eq!(body.error, ListFolderContinueError::Reset);
    assert_eq!(body.error_summary, error_summary(&body.error));
}

#[test]
fn longpoll() {
    let arg = ListFolderLongpollArg::new("AAE…", 120);
    assert_eq!(
        serde_json::to_value(&arg).unwrap(),
        parse(r#"{"cursor":"AAE…","timeout":120}"#)
    );
    let result: ListFolderLongpollResult = assert_round_trip(r#"{"changes":false,"backoff":60}"#);
    assert_eq!(result.backoff, Some(60));
    let reset: ApiErrorBody<ListFolderLongpollError> =
        assert_round_trip(r#"{"error_summary":"reset/..","error":{".tag":"reset"}}"#);
    assert_eq!(reset.error, ListFolderLongpollError::Reset);
}

#[test]
fn download_arg_header_is_byte_exact() {
    let arg = DownloadArg {
        path: "/acme/café.jpg".into(),
    };
    assert_eq!(
        encode_api_arg(&arg).unwrap(),
        r#"{"path":"/acme/caf\u00e9.jpg"}"#
    );
}

#[test]
fn download_result_header() {
    let header = format!(
        r#"{{"name":"caf\u00e9.jpg","id":"id:abc","path_lower":"/acme/caf\u00e9.jpg",
        "client_modified":"2026-01-02T03:04:05Z","server_modified":"2026-01-02T03:04:06Z",
        "rev":"015f1a2b3c4d5e6f7","size":1234,"content_hash":"{HASH}"}}"#
    );
    let file: FileMetadata = decode_api_result(&header).unwrap();
    assert_eq!(file.name, "café.jpg");
    assert_eq!(file.path_lower.as_deref(), Some("/acme/café.jpg"));
    assert_eq!(file.size, 1234);
    assert!(file.is_downloadable);
    // What the emulator sends back must be header-safe and decode to the same metadata.
    let emitted = encode_api_arg(&file).unwrap();
    assert!(emitted.is_ascii() && emitted.contains(r#""name":"caf\u00e9.jpg""#));
    assert_eq!(decode_api_result::<FileMetadata>(&emitted).unwrap(), file);
}

#[test]
fn upload_arg_header_is_byte_exact() {
    let arg = UploadArg {
        path: "/acme/Smartimage upload errors 2026-11-27T13-00-00Z.txt".into(),
        mode: WriteMode::Add,
        autorename: true,
        mute: false,
        strict_conflict: false,
        content_hash: Some(HASH.into()),
    };
    assert_eq!(
        encode_api_arg(&arg).unwrap(),
        format!(
            r#"{{"path":"/acme/Smartimage upload errors 2026-11-27T13-00-00Z.txt","mode":"add","autorename":true,"content_hash":"{HASH}"}}"#
        )
    );
}

#[test]
fn upload_result_body() {
    let text = format!(
        r#"{{"name":"Smartimage upload errors 2026-11-27T13-00-00Z.txt","id":"id:r1","rev":"015f1a2b3c4d5e6f8",
        "client_modified":"2026-11-27T13:00:00Z","server_modified":"2026-11-27T13:00:01Z",
        "size":512,"is_downloadable":true,"content_hash":"{HASH}"}}"#
    );
    let file: FileMetadata = assert_round_trip(&text);
    assert_eq!(file.id, "id:r1");
}

#[test]
fn create_folder() {
    let arg = CreateFolderArg {
        path: "/acme".into(),
        autorename: false,
    };
    assert_eq!(
        serde_json::to_string(&arg).unwrap(),
        r#"{"path":"/acme","autorename":false}"#
    );

    let text =
        r#"{"metadata":{"name":"acme","path_lower":"/acme","path_display":"/acme","id":"id:…"}}"#;
    let result: CreateFolderResult = assert_round_trip(text);
    assert_eq!(result.metadata.name, "acme");
    let emitted = serde_json::to_value(&result).unwrap();
    assert!(
        emitted["metadata"].get(".tag").is_none(),
        "FolderMetadata carries no .tag"
    );

    let conflict = r#"{"error_summary":"path/conflict/folder/..","error":{".tag":"path","path":{".tag":"conflict","conflict":{".tag":"folder"}}}}"#;
    let body: ApiErrorBody<CreateFolderError> = assert_round_trip(conflict);
    assert_eq!(
        body.error,
        CreateFolderError::Path {
            path: WriteError::Conflict {
                conflict: WriteConflictError::Folder
            }
        }
    );
    assert_eq!(error_summary(&body.error), "path/conflict/folder/..");
}

#[test]
fn delete_v2() {
    let arg = DeleteArg {
        path: "/acme/a.jpg".into(),
        parent_rev: Some("015f1a2b3c4d5e6f7".into()),
    };
    assert_eq!(
        serde_json::to_string(&arg).unwrap(),
        r#"{"path":"/acme/a.jpg","parent_rev":"015f1a2b3c4d5e6f7"}"#
    );
    let result: DeleteResult =
        assert_round_trip(&format!(r#"{{"metadata":{}}}"#, crib_file_entry()));
    assert!(matches!(result.metadata, Metadata::File(_)));
}

#[test]
fn delete_batch_launch() {
    let arg = DeleteBatchArg {
        entries: vec![DeleteArg {
            path: "/acme/a.jpg".into(),
            parent_rev: Some("015f1a2b3c4d5e6f7".into()),
        }],
    };
    assert_eq!(
        serde_json::to_value(&arg).unwrap(),
        json!({"entries": [{"path": "/acme/a.jpg", "parent_rev": "015f1a2b3c4d5e6f7"}]})
    );
    let launched: DeleteBatchLaunch =
        assert_round_trip(r#"{".tag":"async_job_id","async_job_id":"dbjid:…"}"#);
    assert_eq!(
        launched,
        DeleteBatchLaunch::AsyncJobId {
            async_job_id: "dbjid:…".into()
        }
    );
    let finished: DeleteBatchLaunch = assert_round_trip(&format!(
        r#"{{".tag":"complete","entries":[{{".tag":"success","metadata":{}}}]}}"#,
        crib_file_entry()
    ));
    assert!(matches!(finished, DeleteBatchLaunch::Complete { ref entries } if entries.len() == 1));
}

#[test]
fn delete_batch_check() {
    let arg = PollArg {
        async_job_id: "dbjid:…".into(),
    };
    assert_eq!(
        serde_json::to_value(&arg).unwrap(),
        parse(r#"{"async_job_id":"dbjid:…"}"#)
    );
    let pending: DeleteBatchJobStatus = assert_round_trip(r#"{".tag":"in_progress"}"#);
    assert_eq!(pending, DeleteBatchJobStatus::InProgress);

    let text = format!(
        r#"{{".tag":"complete","entries":[{{".tag":"success","metadata":{}}},
        {{".tag":"failure","failure":{{".tag":"path_lookup","path_lookup":{{".tag":"not_found"}}}}}}]}}"#,
        crib_file_entry()
    );
    let status: DeleteBatchJobStatus = assert_round_trip(&text);
    let DeleteBatchJobStatus::Complete { entries } = status else {
        panic!("expected complete, got {status:?}");
    };
    assert!(
        matches!(&entries[0], DeleteBatchResultEntry::Success { metadata: Metadata::File(f) } if f.id == "id:abc")
    );
    let DeleteBatchResultEntry::Failure { failure } = &entries[1] else {
        panic!("expected a failure entry, got {:?}", entries[1]);
    };
    assert_eq!(
        *failure,
        DeleteError::PathLookup {
            path_lookup: LookupError::NotFound
        }
    );
    assert_eq!(error_summary(failure), "path_lookup/not_found/..");
}

#[test]
fn rate_limited() {
    let text = r#"{"error_summary":"too_many_write_operations/..","error":{"reason":{".tag":"too_many_write_operations"},"retry_after":5}}"#;
    let body: ApiErrorBody<RateLimitError> = assert_round_trip(text);
    assert_eq!(body.error.reason, RateLimitReason::TooManyWriteOperations);
    assert_eq!(body.error.retry_after, 5);
    assert_eq!(ApiErrorBody::new(body.error.clone()), body);
}

#[test]
fn expired_token() {
    let text =
        r#"{"error_summary":"expired_access_token/..","error":{".tag":"expired_access_token"}}"#;
    let body: ApiErrorBody<AuthError> = assert_round_trip(text);
    assert_eq!(body.error, AuthError::ExpiredAccessToken);
}

#[test]
fn token_refresh_response() {
    let token: TokenResponse =
        assert_round_trip(r#"{"access_token":"sl.…","token_type":"bearer","expires_in":14400}"#);
    assert_eq!(token.expires_in, 14400);
    assert_eq!(
        token.refresh_token, None,
        "a refresh answer brings no new refresh token"
    );
}

#[test]
fn unknown_entry_kinds_do_not_break_a_listing() {
    let text = format!(
        r#"{{"entries":[{{".tag":"symlink","name":"l","path_lower":"/acme/l","target":"/x"}},{}],
        "cursor":"AAE…","has_more":true,"new_field":1}}"#,
        crib_file_entry()
    );
    let result: ListFolderResult = serde_json::from_str(&text).unwrap();
    assert!(matches!(&result.entries[0], Metadata::Unknown(u) if u.tag == "symlink"));
    assert!(matches!(&result.entries[1], Metadata::File(_)));
}
