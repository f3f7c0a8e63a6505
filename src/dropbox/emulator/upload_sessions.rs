//! Upload sessions (`files/upload_session/start`, `/append_v2`, `/finish`, `/finish_batch_v2`):
//! each session's bytes collect in a file under the emulator's temp directory with a running
//! content hash; a finish commits them exactly like `files/upload` (write modes, autorename).
//! Offsets are checked as Dropbox does: a cursor that does not match the bytes held is
//! `incorrect_offset` with the `correct_offset` to resume from, and nothing is appended.

use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;

use super::http::{bad_request, header_arg, json_ok, refused, require_octet_stream, rpc_arg};
use super::lock;
use super::routes::authorize;
use super::state::{Outcome, Refusal, Store};
use super::writes::{CommitRequest, WrittenContent};
use super::{Freshness, Shared};
use crate::dropbox::content_hash::{ContentHasher, content_hash};
use crate::dropbox::wire::{
    FINISH_BATCH_MAX_ENTRIES, FileMetadata, UPLOAD_MAX_BYTES, UploadSessionAppendArg,
    UploadSessionAppendError, UploadSessionCursor, UploadSessionFinishArg,
    UploadSessionFinishBatchArg, UploadSessionFinishBatchResult,
    UploadSessionFinishBatchResultEntry, UploadSessionFinishError, UploadSessionLookupError,
    UploadSessionOffsetError, UploadSessionStartArg, UploadSessionStartError,
    UploadSessionStartResult, WriteError, timestamp,
};

const SESSION_ID_PREFIX: &str = "pid_upload_session:";
const SESSION_TEMP_PREFIX: &str = "session-";

/// One open session: whose it is, where its bytes are, how many, and their running hash.
#[derive(Debug)]
pub struct UploadSession {
    account: String,
    bytes: PathBuf,
    offset: u64,
    closed: bool,
    hasher: ContentHasher,
}

/// Sessions by id.
pub type Sessions = HashMap<String, UploadSession>;

/// Why bytes could not be added to a session; each route wraps it in its own error type.
enum AddRefusal {
    Lookup(UploadSessionLookupError),
    ContentHashMismatch,
}

impl Store {
    pub fn start_session(
        &mut self,
        account_id: &str,
        arg: &UploadSessionStartArg,
        content: &[u8],
    ) -> Outcome<String, UploadSessionStartError> {
        if content.len() as u64 > UPLOAD_MAX_BYTES {
            return Err(Refusal::Route(UploadSessionStartError::PayloadTooLarge));
        }
        if arg
            .content_hash
            .as_ref()
            .is_some_and(|sent| *sent != content_hash(content))
        {
            return Err(Refusal::Route(UploadSessionStartError::ContentHashMismatch));
        }
        let session_id = self.ids.opaque(SESSION_ID_PREFIX);
        let bytes = self.temp_dir.join(self.ids.opaque(SESSION_TEMP_PREFIX));
        fs::write(&bytes, content)?;
        let mut hasher = ContentHasher::new();
        hasher.update(content);
        self.sessions.insert(
            session_id.clone(),
            UploadSession {
                account: account_id.to_owned(),
                bytes,
                offset: content.len() as u64,
                closed: arg.close,
                hasher,
            },
        );
        Ok(session_id)
    }

    /// Appends `content` at `cursor`, if the cursor names this account's open session at
    /// exactly the bytes it holds.
    fn add_to_session(
        &mut self,
        account_id: &str,
        cursor: &UploadSessionCursor,
        content: &[u8],
        sent_hash: Option<&str>,
        close: bool,
    ) -> Outcome<(), AddRefusal> {
        let lookup = |error| Refusal::Route(AddRefusal::Lookup(error));
        let session = self
            .sessions
            .get_mut(&cursor.session_id)
            .filter(|session| session.account == account_id)
            .ok_or_else(|| lookup(UploadSessionLookupError::NotFound))?;
        if cursor.offset != session.offset {
            return Err(lookup(UploadSessionLookupError::IncorrectOffset(
                UploadSessionOffsetError {
                    correct_offset: session.offset,
                },
            )));
        }
        if session.closed && !content.is_empty() {
            return Err(lookup(UploadSessionLookupError::Closed));
        }
        if content.len() as u64 > UPLOAD_MAX_BYTES {
            return Err(lookup(UploadSessionLookupError::PayloadTooLarge));
        }
        if sent_hash.is_some_and(|sent| sent != content_hash(content)) {
            return Err(Refusal::Route(AddRefusal::ContentHashMismatch));
        }
        if !content.is_empty() {
            let mut file = OpenOptions::new().append(true).open(&session.bytes)?;
            file.write_all(content)?;
            session.hasher.update(content);
            session.offset += content.len() as u64;
        }
        session.closed |= close;
        Ok(())
    }

    pub fn append_to_session(
        &mut self,
        account_id: &str,
        arg: &UploadSessionAppendArg,
        content: &[u8],
    ) -> Outcome<(), UploadSessionAppendError> {
        if self
            .sessions
            .get(&arg.cursor.session_id)
            .is_some_and(|session| session.closed && session.offset == arg.cursor.offset)
        {
            return Err(Refusal::Route(UploadSessionAppendError::Closed));
        }
        self.add_to_session(
            account_id,
            &arg.cursor,
            content,
            arg.content_hash.as_deref(),
            arg.close,
        )
        .map_err(|refusal| match refusal {
            Refusal::Route(AddRefusal::ContentHashMismatch) => {
                Refusal::Route(UploadSessionAppendError::ContentHashMismatch)
            }
            Refusal::Route(AddRefusal::Lookup(lookup)) => Refusal::Route(append_error(lookup)),
            Refusal::BadRequest(message) => Refusal::BadRequest(message),
            Refusal::Io(error) => Refusal::Io(error),
        })
    }

    /// Adds the last bytes (if any), then commits the session as a file. `require_closed` is
    /// the batch rule: every session must have been closed by its last start/append.
    pub fn finish_session(
        &mut self,
        account_id: &str,
        arg: &UploadSessionFinishArg,
        content: &[u8],
        require_closed: bool,
    ) -> Outcome<FileMetadata, UploadSessionFinishError> {
        let lookup_failed = |lookup_failed| {
            Refusal::Route(UploadSessionFinishError::LookupFailed { lookup_failed })
        };
        if require_closed
            && self
                .sessions
                .get(&arg.cursor.session_id)
                .is_some_and(|session| session.account == account_id && !session.closed)
        {
            return Err(lookup_failed(UploadSessionLookupError::NotClosed));
        }
        self.add_to_session(
            account_id,
            &arg.cursor,
            content,
            arg.content_hash.as_deref(),
            false,
        )
        .map_err(|refusal| match refusal {
            Refusal::Route(AddRefusal::ContentHashMismatch) => {
                Refusal::Route(UploadSessionFinishError::ContentHashMismatch)
            }
            Refusal::Route(AddRefusal::Lookup(lookup)) => lookup_failed(lookup),
            Refusal::BadRequest(message) => Refusal::BadRequest(message),
            Refusal::Io(error) => Refusal::Io(error),
        })?;
        let client_modified = arg
            .commit
            .client_modified
            .as_deref()
            .map(timestamp::parse)
            .transpose()
            .map_err(|error| Refusal::BadRequest(format!("commit.client_modified: {error}")))?;
        // A finished session is gone, whatever the commit makes of it.
        let Some(session) = self.sessions.remove(&arg.cursor.session_id) else {
            return Err(lookup_failed(UploadSessionLookupError::NotFound));
        };
        let written = WrittenContent {
            temp: session.bytes.clone(),
            size: session.offset,
            content_hash: session.hasher.finalize(),
        };
        let request = CommitRequest {
            path: &arg.commit.path,
            mode: &arg.commit.mode,
            autorename: arg.commit.autorename,
            client_modified,
        };
        let committed = self.commit_written(account_id, &request, written);
        let _ = fs::remove_file(&session.bytes);
        committed.map_err(|refusal| match refusal {
            Refusal::Route(WriteError::TooManyWriteOperations) => {
                Refusal::Route(UploadSessionFinishError::TooManyWriteOperations)
            }
            Refusal::Route(path) => Refusal::Route(UploadSessionFinishError::Path { path }),
            Refusal::BadRequest(message) => Refusal::BadRequest(message),
            Refusal::Io(error) => Refusal::Io(error),
        })
    }
}

fn append_error(lookup: UploadSessionLookupError) -> UploadSessionAppendError {
    match lookup {
        UploadSessionLookupError::NotFound => UploadSessionAppendError::NotFound,
        UploadSessionLookupError::IncorrectOffset(offset) => {
            UploadSessionAppendError::IncorrectOffset(offset)
        }
        UploadSessionLookupError::Closed => UploadSessionAppendError::Closed,
        UploadSessionLookupError::PayloadTooLarge => UploadSessionAppendError::PayloadTooLarge,
        UploadSessionLookupError::TooLarge => UploadSessionAppendError::TooLarge,
        _ => UploadSessionAppendError::Other,
    }
}

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/2/files/upload_session/start", post(start))
        .route("/2/files/upload_session/append_v2", post(append))
        .route("/2/files/upload_session/finish", post(finish))
        .route(
            "/2/files/upload_session/finish_batch_v2",
            post(finish_batch),
        )
}

async fn start(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    const ROUTE: &str = "files/upload_session/start";
    let account = authorize(&shared, ROUTE, &headers)?;
    require_octet_stream(ROUTE, &headers)?;
    let arg: UploadSessionStartArg = header_arg(ROUTE, &headers, shared.config.allow_raw_utf8_arg)?;
    shared
        .with_account(account, Freshness::IfConfigured, move |store, account| {
            store.start_session(account, &arg, &body)
        })
        .await?
        .map(|session_id| json_ok(&UploadSessionStartResult { session_id }))
        .map_err(|refusal| refused(ROUTE, refusal, |error| error))
}

async fn append(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    const ROUTE: &str = "files/upload_session/append_v2";
    let account = authorize(&shared, ROUTE, &headers)?;
    require_octet_stream(ROUTE, &headers)?;
    let arg: UploadSessionAppendArg =
        header_arg(ROUTE, &headers, shared.config.allow_raw_utf8_arg)?;
    shared
        .with_account(account, Freshness::IfConfigured, move |store, account| {
            store.append_to_session(account, &arg, &body)
        })
        .await?
        .map(|()| json_ok(&serde_json::Value::Null))
        .map_err(|refusal| refused(ROUTE, refusal, |error| error))
}

async fn finish(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    const ROUTE: &str = "files/upload_session/finish";
    let account = authorize(&shared, ROUTE, &headers)?;
    require_octet_stream(ROUTE, &headers)?;
    let arg: UploadSessionFinishArg =
        header_arg(ROUTE, &headers, shared.config.allow_raw_utf8_arg)?;
    if lock(&shared.faults).next_write_contended() {
        return Err(super::http::route_error(
            UploadSessionFinishError::TooManyWriteOperations,
        ));
    }
    shared
        .with_account(account, Freshness::IfConfigured, move |store, account| {
            store.finish_session(account, &arg, &body, false)
        })
        .await?
        .map(|metadata| json_ok(&metadata))
        .map_err(|refusal| refused(ROUTE, refusal, |error| error))
}

/// Commits every entry now (the v2 route answers synchronously), one result per entry.
async fn finish_batch(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    const ROUTE: &str = "files/upload_session/finish_batch_v2";
    let account = authorize(&shared, ROUTE, &headers)?;
    let arg: UploadSessionFinishBatchArg = rpc_arg(ROUTE, &headers, &body)?;
    if arg.entries.len() > FINISH_BATCH_MAX_ENTRIES {
        return Err(bad_request(
            ROUTE,
            &format!("entries: more than {FINISH_BATCH_MAX_ENTRIES} items"),
        ));
    }
    let contended = lock(&shared.faults).next_write_contended();
    let entries = shared
        .with_account(account, Freshness::IfConfigured, move |store, account| {
            arg.entries
                .iter()
                .map(|entry| {
                    if contended {
                        return UploadSessionFinishBatchResultEntry::Failure {
                            failure: UploadSessionFinishError::TooManyWriteOperations,
                        };
                    }
                    match store.finish_session(account, entry, &[], true) {
                        Ok(metadata) => UploadSessionFinishBatchResultEntry::Success(metadata),
                        Err(Refusal::Route(failure)) => {
                            UploadSessionFinishBatchResultEntry::Failure { failure }
                        }
                        Err(Refusal::BadRequest(_)) | Err(Refusal::Io(_)) => {
                            UploadSessionFinishBatchResultEntry::Failure {
                                failure: UploadSessionFinishError::Other,
                            }
                        }
                    }
                })
                .collect::<Vec<_>>()
        })
        .await?;
    Ok(json_ok(&UploadSessionFinishBatchResult { entries }))
}
