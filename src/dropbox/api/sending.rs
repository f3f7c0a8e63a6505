//! Sending files into Dropbox over the API: one small file by
//! `files/upload` streamed from disk; a big one through an upload session (`start`,
//! `append_v2`, `finish`); many at once through sessions filled in parallel and committed by
//! `finish_batch_v2`, one commit in flight per account. Every commit is `add` + `autorename`,
//! and what Dropbox reports back must match the size and content hash of what was sent.
//! Memory stays flat: at most one chunk per file in flight. A file with a sha256 is checked
//! before it can be committed: `files/upload` hashes it before sending (and sends its content
//! hash, so Dropbox refuses a body that changed after); a session hashes as it reads and
//! never sends the closing chunk of a file that does not match, nor finishes its session.

use std::sync::Arc;

use futures::StreamExt;
use tokio::io::AsyncReadExt;

use super::ApiClient;
use super::transport::{CallError, CallSpec, EndpointError, FileBody};
use crate::dropbox::backend::{BackendError, BackendResult};
use crate::dropbox::content_hash::{ContentHasher, content_hash};
use crate::dropbox::sending::{
    DropboxSender, OutgoingFile, SendProgress, SendSettings, SentFile, SentVia, SharedLink,
    SourceCheck, check_sent, damaged_source, hashes_of_file, short_or_changed,
};
use crate::dropbox::wire::sharing::{SHARED_LINK_FOLDER_TAG, SharedLinkAlreadyExistsMetadata};
use crate::dropbox::wire::{
    CommitInfo, CreateSharedLinkWithSettingsArg, CreateSharedLinkWithSettingsError,
    FINISH_BATCH_MAX_ENTRIES, FileMetadata, ListSharedLinksArg, ListSharedLinksResult, LookupError,
    SharedLinkMetadata, UploadArg, UploadError, UploadSessionAppendArg, UploadSessionAppendError,
    UploadSessionCursor, UploadSessionFinishArg, UploadSessionFinishBatchArg,
    UploadSessionFinishBatchResult, UploadSessionFinishBatchResultEntry, UploadSessionFinishError,
    UploadSessionStartArg, UploadSessionStartResult, WriteError, WriteMode, error_summary,
};

/// A file's bytes all in a closed session, with the hash of everything sent.
struct FilledSession {
    cursor: UploadSessionCursor,
    content_hash: String,
    calls: u32,
}

fn write_error(write: &WriteError, summary: String) -> BackendError {
    match write {
        WriteError::Conflict { .. } => BackendError::Conflict { summary },
        WriteError::InsufficientSpace => BackendError::InsufficientSpace { summary },
        _ => BackendError::Refused {
            status: 409,
            summary,
        },
    }
}

fn finish_error(error: &UploadSessionFinishError, summary: String) -> BackendError {
    match error {
        UploadSessionFinishError::Path { path } => write_error(path, summary),
        // A lost or expired session, or bytes that were not all there: send the file again.
        UploadSessionFinishError::LookupFailed { .. }
        | UploadSessionFinishError::ContentHashMismatch
        | UploadSessionFinishError::TooManyWriteOperations => {
            BackendError::Transient { detail: summary }
        }
        _ => BackendError::Refused {
            status: 409,
            summary,
        },
    }
}

fn backend_or(
    error: CallError,
    route_error: impl FnOnce(EndpointError) -> BackendError,
) -> BackendError {
    match error {
        CallError::Backend(error) => error,
        CallError::Endpoint(endpoint) => route_error(endpoint),
    }
}

/// Session data calls change nothing in the namespace until the commit, so they are not paced
/// as writes (no gap, no write gate: they run in parallel); the commit is.
fn session_data_call(mut spec: CallSpec) -> CallSpec {
    spec.write = false;
    spec
}

/// Reads up to `want` bytes (fewer only at the end of the file).
async fn read_chunk(file: &mut tokio::fs::File, want: u64) -> std::io::Result<Vec<u8>> {
    let mut chunk = Vec::with_capacity(want as usize);
    (&mut *file).take(want).read_to_end(&mut chunk).await?;
    Ok(chunk)
}

impl ApiClient {
    /// One `files/upload`, the body streamed from the file; the hashes are taken first, so a
    /// damaged file is refused before a byte goes out and Dropbox can refuse a body that
    /// changed after (its content hash goes with it).
    async fn upload_from_disk(
        &self,
        file: &OutgoingFile,
        progress: Arc<dyn Fn(u64) + Send + Sync>,
    ) -> BackendResult<SentFile> {
        let source = file.source.clone();
        let hashes = tokio::task::spawn_blocking(move || hashes_of_file(&source))
            .await
            .map_err(|error| BackendError::Transient {
                detail: format!("hashing task failed: {error}"),
            })??;
        if file
            .sha256
            .as_deref()
            .is_some_and(|sha| !sha.eq_ignore_ascii_case(&hashes.sha256))
        {
            return Err(damaged_source(file, &hashes.sha256, hashes.size));
        }
        if hashes.size != file.size {
            return Err(short_or_changed(file, hashes.size));
        }
        let hash = hashes.content_hash;
        let arg = UploadArg {
            path: file.destination.clone(),
            mode: WriteMode::Add,
            autorename: true,
            mute: false,
            strict_conflict: false,
            content_hash: Some(hash.clone()),
        };
        let mut spec = CallSpec::upload("files/upload", &arg, Vec::new())?;
        spec.file_body = Some(FileBody {
            path: file.source.clone(),
            len: file.size,
            progress: Some(progress),
        });
        let metadata: FileMetadata = {
            let _write = self.pacer.write_turn().await;
            self.rpc(spec).await.map_err(|error| {
                backend_or(error, |endpoint| match endpoint.typed::<UploadError>() {
                    Some(UploadError::Path { reason, .. }) => {
                        write_error(&reason, endpoint.summary.clone())
                    }
                    // Changed between hashing and sending.
                    Some(UploadError::ContentHashMismatch) => BackendError::Transient {
                        detail: endpoint.summary.clone(),
                    },
                    _ => endpoint.refused(),
                })
            })?
        };
        check_sent(file, &hash, &metadata)?;
        Ok(SentFile {
            metadata,
            via: SentVia::Upload,
        })
    }

    /// Puts all of `file` into a new session, chunk by chunk, closing it with the last one.
    async fn fill_session(
        &self,
        file: &OutgoingFile,
        chunk_bytes: u64,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> BackendResult<FilledSession> {
        let mut source = tokio::fs::File::open(&file.source).await?;
        let mut whole = ContentHasher::new();
        // Checked before the chunk that closes the session goes out: a damaged file's session
        // is never closed nor finished, so nothing of it is ever committed.
        let mut check = SourceCheck::new(file);
        let first = read_chunk(&mut source, chunk_bytes.min(file.size.max(1))).await?;
        whole.update(&first);
        let mut offset = first.len() as u64;
        let start = UploadSessionStartArg {
            close: offset >= file.size,
            content_hash: Some(content_hash(&first)),
        };
        check.update(&first);
        if start.close {
            check.verify(file)?;
        }
        let started: UploadSessionStartResult = self
            .rpc(session_data_call(CallSpec::upload(
                "files/upload_session/start",
                &start,
                first,
            )?))
            .await
            .map_err(|error| backend_or(error, |endpoint| endpoint.refused()))?;
        progress(offset);
        let mut calls = 1;
        let mut closed = start.close;
        while !closed {
            let chunk = read_chunk(&mut source, chunk_bytes).await?;
            if chunk.is_empty() {
                return Err(short_or_changed(file, offset));
            }
            whole.update(&chunk);
            let len = chunk.len() as u64;
            closed = offset + len >= file.size;
            check.update(&chunk);
            if closed {
                check.verify(file)?;
            }
            let arg = UploadSessionAppendArg {
                cursor: UploadSessionCursor {
                    session_id: started.session_id.clone(),
                    offset,
                },
                close: closed,
                content_hash: Some(content_hash(&chunk)),
            };
            let appended: Result<serde_json::Value, CallError> = self
                .rpc(session_data_call(CallSpec::upload(
                    "files/upload_session/append_v2",
                    &arg,
                    chunk,
                )?))
                .await;
            match appended {
                Ok(_) => {}
                Err(CallError::Endpoint(endpoint)) => {
                    match endpoint.typed::<UploadSessionAppendError>() {
                        // A retried call whose first attempt did arrive: the bytes are in.
                        Some(UploadSessionAppendError::IncorrectOffset(at))
                            if at.correct_offset == offset + len => {}
                        _ => {
                            return Err(BackendError::Transient {
                                detail: format!(
                                    "upload session of {}: {}",
                                    file.destination, endpoint.summary
                                ),
                            });
                        }
                    }
                }
                Err(CallError::Backend(error)) => return Err(error),
            }
            offset += len;
            calls += 1;
            progress(offset);
        }
        let past_the_end = read_chunk(&mut source, 1).await?.len() as u64;
        if offset != file.size || past_the_end > 0 {
            return Err(short_or_changed(file, offset + past_the_end));
        }
        Ok(FilledSession {
            cursor: UploadSessionCursor {
                session_id: started.session_id,
                offset,
            },
            content_hash: whole.finalize(),
            calls,
        })
    }

    async fn send_by_session(
        &self,
        file: &OutgoingFile,
        chunk_bytes: u64,
        progress: Arc<dyn Fn(u64) + Send + Sync>,
    ) -> BackendResult<SentFile> {
        let filled = self.fill_session(file, chunk_bytes, &*progress).await?;
        let arg = UploadSessionFinishArg {
            cursor: filled.cursor.clone(),
            commit: CommitInfo::add_renaming(&file.destination),
            content_hash: None,
        };
        let metadata: FileMetadata = {
            let _write = self.pacer.write_turn().await;
            self.rpc(CallSpec::upload(
                "files/upload_session/finish",
                &arg,
                Vec::new(),
            )?)
            .await
            .map_err(|error| {
                backend_or(error, |endpoint| {
                    match endpoint.typed::<UploadSessionFinishError>() {
                        Some(typed) => finish_error(&typed, endpoint.summary.clone()),
                        None => endpoint.refused(),
                    }
                })
            })?
        };
        check_sent(file, &filled.content_hash, &metadata)?;
        Ok(SentFile {
            metadata,
            via: SentVia::Session {
                calls: filled.calls,
            },
        })
    }

    /// Fills a session per file (`parallel` at once), then commits them in batches.
    async fn send_batch(
        &self,
        files: &[OutgoingFile],
        settings: &SendSettings,
        progress: SendProgress,
    ) -> BackendResult<Vec<BackendResult<SentFile>>> {
        let chunk_bytes = settings.chunk_bytes;
        let filled: Vec<BackendResult<FilledSession>> =
            futures::stream::iter(files.iter().cloned().enumerate())
                .map(|(index, file)| {
                    let progress = Arc::clone(&progress);
                    async move {
                        let report = move |bytes: u64| progress(index, bytes);
                        self.fill_session(&file, chunk_bytes, &report).await
                    }
                })
                .buffered(settings.parallel)
                .collect()
                .await;
        let mut results: Vec<Option<BackendResult<SentFile>>> = Vec::with_capacity(files.len());
        let mut ready: Vec<(usize, FilledSession)> = Vec::new();
        for (index, outcome) in filled.into_iter().enumerate() {
            match outcome {
                Ok(session) => {
                    results.push(None);
                    ready.push((index, session));
                }
                Err(error) => results.push(Some(Err(error))),
            }
        }
        for chunk in ready.chunks(FINISH_BATCH_MAX_ENTRIES) {
            let arg = UploadSessionFinishBatchArg {
                entries: chunk
                    .iter()
                    .map(|(index, session)| UploadSessionFinishArg {
                        cursor: session.cursor.clone(),
                        commit: CommitInfo::add_renaming(&files[*index].destination),
                        content_hash: None,
                    })
                    .collect(),
            };
            // One batch commit in flight per account.
            let answered: Result<UploadSessionFinishBatchResult, CallError> = {
                let _write = self.pacer.write_turn().await;
                self.rpc(CallSpec::rpc("files/upload_session/finish_batch_v2", Some(&arg))?.write())
                    .await
            };
            let answer = match answered {
                Ok(answer) => answer,
                Err(error) => {
                    let error = backend_or(error, |endpoint| endpoint.refused());
                    for (index, _) in chunk {
                        results[*index] = Some(Err(BackendError::Transient {
                            detail: format!("finish_batch_v2 failed: {error}"),
                        }));
                    }
                    continue;
                }
            };
            let mut entries = answer.entries.into_iter();
            for (index, session) in chunk {
                let file = &files[*index];
                let result = match entries.next() {
                    Some(UploadSessionFinishBatchResultEntry::Success(metadata)) => {
                        check_sent(file, &session.content_hash, &metadata).map(|()| SentFile {
                            metadata,
                            via: SentVia::Batch {
                                calls: session.calls,
                            },
                        })
                    }
                    Some(UploadSessionFinishBatchResultEntry::Failure { failure }) => {
                        Err(finish_error(&failure, error_summary(&failure)))
                    }
                    None => Err(BackendError::Transient {
                        detail: format!("finish_batch_v2 gave no answer for {}", file.destination),
                    }),
                };
                results[*index] = Some(result);
            }
        }
        Ok(results
            .into_iter()
            .map(|result| {
                result.unwrap_or_else(|| {
                    Err(BackendError::Transient {
                        detail: "not committed".into(),
                    })
                })
            })
            .collect())
    }

    /// The existing direct link to `path` (after `shared_link_already_exists` without one).
    async fn existing_link(&self, path: &str) -> BackendResult<Option<SharedLinkMetadata>> {
        let arg = ListSharedLinksArg {
            path: Some(path.to_owned()),
            cursor: None,
            direct_only: Some(true),
        };
        let listed: ListSharedLinksResult = self
            .rpc(CallSpec::rpc("sharing/list_shared_links", Some(&arg))?)
            .await
            .map_err(|error| backend_or(error, |endpoint| endpoint.refused()))?;
        Ok(listed.links.into_iter().next())
    }
}

fn shared_link(link: SharedLinkMetadata, created: bool) -> SharedLink {
    SharedLink {
        is_folder: link.tag == SHARED_LINK_FOLDER_TAG,
        url: link.url,
        path_lower: link.path_lower,
        created,
    }
}

impl DropboxSender for ApiClient {
    async fn send_files(
        &self,
        files: Vec<OutgoingFile>,
        settings: &SendSettings,
        progress: SendProgress,
    ) -> BackendResult<Vec<BackendResult<SentFile>>> {
        let settings = settings.clamped();
        if let [file] = files.as_slice() {
            let report: Arc<dyn Fn(u64) + Send + Sync> = {
                let progress = Arc::clone(&progress);
                Arc::new(move |bytes| progress(0, bytes))
            };
            let sent = if file.size <= settings.session_threshold {
                self.upload_from_disk(file, report).await
            } else {
                self.send_by_session(file, settings.chunk_bytes, report)
                    .await
            };
            return Ok(vec![sent]);
        }
        self.send_batch(&files, &settings, progress).await
    }

    async fn share(&self, path: &str) -> BackendResult<SharedLink> {
        let arg = CreateSharedLinkWithSettingsArg {
            path: path.to_owned(),
            settings: None,
        };
        let created: Result<SharedLinkMetadata, CallError> = {
            let _write = self.pacer.write_turn().await;
            self.rpc(CallSpec::rpc("sharing/create_shared_link_with_settings", Some(&arg))?.write())
                .await
        };
        let endpoint = match created {
            Ok(link) => return Ok(shared_link(link, true)),
            Err(CallError::Backend(error)) => return Err(error),
            Err(CallError::Endpoint(endpoint)) => endpoint,
        };
        match endpoint.typed::<CreateSharedLinkWithSettingsError>() {
            Some(CreateSharedLinkWithSettingsError::SharedLinkAlreadyExists {
                shared_link_already_exists:
                    Some(SharedLinkAlreadyExistsMetadata::Metadata { metadata }),
            }) => Ok(shared_link(*metadata, false)),
            Some(CreateSharedLinkWithSettingsError::SharedLinkAlreadyExists { .. }) => {
                match self.existing_link(path).await? {
                    Some(link) => Ok(shared_link(link, false)),
                    None => Err(BackendError::Transient {
                        detail: format!(
                            "Dropbox says {path} has a shared link but does not list it"
                        ),
                    }),
                }
            }
            Some(CreateSharedLinkWithSettingsError::Path {
                path: LookupError::NotFound,
            }) => Err(BackendError::NotFound {
                path: path.to_owned(),
            }),
            _ => Err(endpoint.refused()),
        }
    }

    fn can_share(&self) -> BackendResult<()> {
        Ok(())
    }

    /// Nothing to remove: bytes in an upload session never finished are not a file in
    /// Dropbox, and Dropbox drops the session itself.
    async fn remove_leftovers(&self, _folder: &str) -> BackendResult<usize> {
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;
    use wiremock::matchers::{body_json, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::dropbox::api::{ClientConfig, Endpoints};
    use crate::dropbox::auth::TokenSource;
    use crate::dropbox::pacer::Pacer;

    fn link_json(url: &str) -> serde_json::Value {
        json!({
            ".tag": "file", "url": url, "name": "a.jpg", "path_lower": "/a (from smartimage)/a.jpg",
            "link_permissions": {
                "can_revoke": true, "visibility_policies": [], "can_set_expiry": false,
                "can_remove_expiry": false, "allow_download": true, "can_allow_download": true,
                "can_disallow_download": false, "allow_comments": true,
                "team_restricts_comments": false
            }
        })
    }

    async fn client(server: &MockServer) -> ApiClient {
        ApiClient::new(
            ClientConfig::with_endpoints(Endpoints::single(&server.uri())),
            Arc::new(TokenSource::fixed("token")),
            Arc::new(Pacer::new(std::time::Duration::ZERO)),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn an_existing_link_without_metadata_is_looked_up_directly() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/2/sharing/create_shared_link_with_settings"))
            .respond_with(ResponseTemplate::new(409).set_body_json(json!({
                "error_summary": "shared_link_already_exists/..",
                "error": {".tag": "shared_link_already_exists"}
            })))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/2/sharing/list_shared_links"))
            .and(body_json(
                json!({"path": "/A (from Smartimage)/a.jpg", "direct_only": true}),
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "links": [link_json("https://www.dropbox.com/scl/fi/x/a.jpg?dl=0")],
                "has_more": false
            })))
            .expect(1)
            .mount(&server)
            .await;
        let link = client(&server)
            .await
            .share("/A (from Smartimage)/a.jpg")
            .await
            .unwrap();
        assert!(!link.created);
        assert_eq!(link.url, "https://www.dropbox.com/scl/fi/x/a.jpg?dl=0");
    }

    #[tokio::test]
    async fn a_commit_reporting_other_bytes_is_an_error() {
        let server = MockServer::start().await;
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("a.jpg");
        std::fs::write(&source, b"our bytes").unwrap();
        Mock::given(method("POST"))
            .and(path("/2/files/upload"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "name": "a.jpg", "id": "id:1", "path_display": "/A/a.jpg", "rev": "0123456789",
                "size": 9, "client_modified": "2026-01-01T00:00:00Z",
                "server_modified": "2026-01-01T00:00:00Z", "content_hash": "0".repeat(64)
            })))
            .mount(&server)
            .await;
        let file = OutgoingFile {
            source,
            size: 9,
            sha256: None,
            destination: "/A/a.jpg".into(),
        };
        let results = client(&server)
            .await
            .send_files(vec![file], &SendSettings::default(), Arc::new(|_, _| {}))
            .await
            .unwrap();
        let error = results.into_iter().next().unwrap().unwrap_err();
        assert!(error.to_string().contains("were sent from"), "{error}");
    }

    #[tokio::test]
    async fn an_append_that_arrived_before_its_answer_was_lost_is_not_sent_twice() {
        let server = MockServer::start().await;
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("big.bin");
        let bytes: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&source, &bytes).unwrap();
        Mock::given(method("POST"))
            .and(path("/2/files/upload_session/start"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"session_id": "s1"})))
            .mount(&server)
            .await;
        // The first append's answer is lost (a 503); its retry finds the bytes already there.
        Mock::given(method("POST"))
            .and(path("/2/files/upload_session/append_v2"))
            .respond_with(ResponseTemplate::new(503))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/2/files/upload_session/append_v2"))
            .respond_with(ResponseTemplate::new(409).set_body_json(json!({
                "error_summary": "incorrect_offset/..",
                "error": {".tag": "incorrect_offset", "correct_offset": 2000}
            })))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/2/files/upload_session/append_v2"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!(null)))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/2/files/upload_session/finish"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "name": "big.bin", "id": "id:1", "path_display": "/A/big.bin", "rev": "0123456789",
                "size": 3000, "client_modified": "2026-01-01T00:00:00Z",
                "server_modified": "2026-01-01T00:00:00Z", "content_hash": content_hash(&bytes)
            })))
            .mount(&server)
            .await;
        let file = OutgoingFile {
            source,
            size: 3000,
            sha256: None,
            destination: "/A/big.bin".into(),
        };
        let settings = SendSettings {
            session_threshold: 100,
            chunk_bytes: 1000,
            parallel: 1,
        };
        let results = client(&server)
            .await
            .send_files(vec![file], &settings, Arc::new(|_, _| {}))
            .await
            .unwrap();
        let sent = results.into_iter().next().unwrap().unwrap();
        assert_eq!(sent.via, SentVia::Session { calls: 3 });
        let appends: Vec<u64> = server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|request| request.url.path().ends_with("append_v2"))
            .map(|request| {
                let arg = request
                    .headers
                    .get("dropbox-api-arg")
                    .unwrap()
                    .to_str()
                    .unwrap();
                serde_json::from_str::<UploadSessionAppendArg>(arg)
                    .unwrap()
                    .cursor
                    .offset
            })
            .collect();
        // 1000 sent (503), again (already there), then 2000 once.
        assert_eq!(appends, vec![1000, 1000, 2000]);
    }
}
