//! The routes the importer uses, each with its 409 errors mapped to what the
//! engine should do about them.

use std::io;
use std::time::Duration;

use futures::TryStreamExt;
use tokio_util::io::StreamReader;

use super::transport::{
    API_RESULT_HEADER, CallError, CallSpec, ENDPOINT_ERROR_STATUS, EndpointError, Host,
    NOT_SENT_STATUS,
};
use super::{ApiClient, longpoll_request_timeout};
use crate::dropbox::arg_header::decode_api_result;
use crate::dropbox::backend::{
    AccountInfo, BackendError, BackendResult, ChangeWait, Download, DropboxBackend,
};
use crate::dropbox::content_hash::content_hash;
use crate::dropbox::verified_body::VerifiedBody;
use crate::dropbox::wire::{
    CreateFolderArg, CreateFolderError, CreateFolderResult, DELETE_BATCH_MAX_ENTRIES, DeleteArg,
    DeleteBatchArg, DeleteBatchError, DeleteBatchJobStatus, DeleteBatchLaunch,
    DeleteBatchResultEntry, DeleteError, DownloadArg, DownloadError, FileMetadata, FolderMetadata,
    FullAccount, GetMetadataArg, GetMetadataError, LIST_FOLDER_LIMIT_MAX, ListFolderArg,
    ListFolderContinueArg, ListFolderContinueError, ListFolderError, ListFolderLongpollArg,
    ListFolderLongpollError, ListFolderLongpollResult, ListFolderResult, LookupError, Metadata,
    PollArg, RelocationArg, RelocationError, RelocationResult, UPLOAD_MAX_BYTES, UploadArg,
    UploadError, WriteConflictError, WriteError, WriteMode, error_summary,
};

/// What a route makes of its 409 (the rest of the errors are already sorted by `transport`).
fn endpoint_or(
    error: CallError,
    route_error: impl FnOnce(EndpointError) -> BackendError,
) -> BackendError {
    match error {
        CallError::Backend(error) => error,
        CallError::Endpoint(endpoint) => route_error(endpoint),
    }
}

fn lookup_error(lookup: &LookupError, path: &str, endpoint: &EndpointError) -> BackendError {
    match lookup {
        LookupError::NotFound => BackendError::NotFound {
            path: path.to_owned(),
        },
        _ => endpoint.refused(),
    }
}

/// `summary` is Dropbox's `error_summary`, or ours for batch entries, which carry none.
fn write_error(write: &WriteError, summary: String, rate_limit_wait: Duration) -> BackendError {
    match write {
        WriteError::Conflict { .. } => BackendError::Conflict { summary },
        WriteError::InsufficientSpace => BackendError::InsufficientSpace { summary },
        WriteError::TooManyWriteOperations => BackendError::RateLimited {
            retry_after: rate_limit_wait,
        },
        _ => BackendError::Refused {
            status: ENDPOINT_ERROR_STATUS,
            summary,
        },
    }
}

impl ApiClient {
    async fn download_response(&self, path: &str) -> Result<reqwest::Response, CallError> {
        let spec = CallSpec::download(
            "files/download",
            &DownloadArg {
                path: path.to_owned(),
            },
        )?;
        self.execute(&spec, |response| async move { Ok(response) })
            .await
    }

    /// Delete up to [`DELETE_BATCH_MAX_ENTRIES`] entries and wait for the job's answer.
    async fn delete_chunk(
        &self,
        entries: &[DeleteArg],
    ) -> BackendResult<Vec<BackendResult<Metadata>>> {
        // One batch in flight per account, from launch to its last poll.
        let _write = self.pacer.write_turn().await;
        let arg = DeleteBatchArg {
            entries: entries.to_vec(),
        };
        let launch: DeleteBatchLaunch = self
            .rpc(CallSpec::rpc("files/delete_batch", Some(&arg))?.write())
            .await
            .map_err(|error| endpoint_or(error, |endpoint| endpoint.refused()))?;
        let job_id = match launch {
            DeleteBatchLaunch::Complete { entries: results } => {
                return Ok(self.batch_results(entries, results));
            }
            DeleteBatchLaunch::AsyncJobId { async_job_id } => async_job_id,
            DeleteBatchLaunch::Other => {
                return Err(BackendError::Transient {
                    detail: "delete_batch answered with an unknown tag".into(),
                });
            }
        };
        let started = tokio::time::Instant::now();
        let mut poll = 0;
        loop {
            poll += 1;
            tokio::time::sleep(self.retry.batch_poll_wait(poll)).await;
            let arg = PollArg {
                async_job_id: job_id.clone(),
            };
            // `invalid_async_job_id` / `internal_error`: the state is unknown, so check and retry later.
            let status: DeleteBatchJobStatus = self
                .rpc(CallSpec::rpc("files/delete_batch/check", Some(&arg))?)
                .await
                .map_err(|error| {
                    endpoint_or(error, |endpoint| BackendError::Transient {
                        detail: format!("delete_batch/check: {}", endpoint.summary),
                    })
                })?;
            match status {
                DeleteBatchJobStatus::InProgress => {}
                DeleteBatchJobStatus::Complete { entries: results } => {
                    return Ok(self.batch_results(entries, results));
                }
                DeleteBatchJobStatus::Failed {
                    failed: DeleteBatchError::TooManyWriteOperations,
                } => {
                    return Err(BackendError::RateLimited {
                        retry_after: self.retry.rate_limit_fallback_wait(1),
                    });
                }
                DeleteBatchJobStatus::Failed { .. } | DeleteBatchJobStatus::Other => {
                    return Err(BackendError::Transient {
                        detail: format!("delete batch job {job_id} failed"),
                    });
                }
            }
            if started.elapsed() >= self.retry.batch_poll_give_up {
                return Err(BackendError::Transient {
                    detail: format!(
                        "delete batch job {job_id} still running after {:?}",
                        started.elapsed()
                    ),
                });
            }
        }
    }

    fn batch_results(
        &self,
        requested: &[DeleteArg],
        results: Vec<DeleteBatchResultEntry>,
    ) -> Vec<BackendResult<Metadata>> {
        let answered = results.len();
        let mut mapped: Vec<BackendResult<Metadata>> = requested
            .iter()
            .zip(results)
            .map(|(arg, result)| self.batch_entry(arg, result))
            .collect();
        // Namespace contention is the account's, not the entry's: every call backs off.
        if let Some(wait) = mapped.iter().find_map(|result| match result {
            Err(BackendError::RateLimited { retry_after }) => Some(*retry_after),
            _ => None,
        }) {
            self.pacer.hold_for(wait);
        }
        // A short answer leaves the rest undecided; they are retried later.
        for arg in &requested[answered.min(requested.len())..] {
            mapped.push(Err(BackendError::Transient {
                detail: format!("delete_batch gave no answer for {}", arg.path),
            }));
        }
        mapped
    }

    fn batch_entry(
        &self,
        arg: &DeleteArg,
        result: DeleteBatchResultEntry,
    ) -> BackendResult<Metadata> {
        let failure = match result {
            DeleteBatchResultEntry::Success { metadata } => return Ok(metadata),
            DeleteBatchResultEntry::Failure { failure } => failure,
        };
        let summary = error_summary(&failure);
        let rate_limit_wait = self.retry.rate_limit_fallback_wait(1);
        Err(match &failure {
            DeleteError::PathLookup {
                path_lookup: LookupError::NotFound,
            } => BackendError::NotFound {
                path: arg.path.clone(),
            },
            // A `parent_rev` that no longer matches lands here.
            DeleteError::PathWrite { path_write } => {
                write_error(path_write, summary, rate_limit_wait)
            }
            DeleteError::TooManyWriteOperations => BackendError::RateLimited {
                retry_after: rate_limit_wait,
            },
            _ => BackendError::Refused {
                status: ENDPOINT_ERROR_STATUS,
                summary,
            },
        })
    }
}

impl ApiClient {
    /// Unlink: disable the access token, its refresh token and its siblings (`auth/token/revoke`).
    pub async fn revoke_token(&self) -> BackendResult<()> {
        let _: serde_json::Value = self
            .rpc(CallSpec::rpc("auth/token/revoke", None::<&()>)?.write())
            .await
            .map_err(|error| endpoint_or(error, |endpoint| endpoint.refused()))?;
        Ok(())
    }
}

/// A copy of `error` for each of several entries it applies to.
fn replicate(error: &BackendError) -> BackendError {
    match error {
        BackendError::NotFound { path } => BackendError::NotFound { path: path.clone() },
        BackendError::Conflict { summary } => BackendError::Conflict {
            summary: summary.clone(),
        },
        BackendError::CursorReset => BackendError::CursorReset,
        BackendError::RateLimited { retry_after } => BackendError::RateLimited {
            retry_after: *retry_after,
        },
        BackendError::NeedsReauth { detail } => BackendError::NeedsReauth {
            detail: detail.clone(),
        },
        BackendError::InsufficientSpace { summary } => BackendError::InsufficientSpace {
            summary: summary.clone(),
        },
        BackendError::Transient { detail } => BackendError::Transient {
            detail: detail.clone(),
        },
        BackendError::Refused { status, summary } => BackendError::Refused {
            status: *status,
            summary: summary.clone(),
        },
        BackendError::Io(io) => BackendError::Io(io::Error::new(io.kind(), io.to_string())),
        BackendError::Blocked { detail } => BackendError::Blocked {
            detail: detail.clone(),
        },
        BackendError::DamagedSource { path, detail } => BackendError::DamagedSource {
            path: path.clone(),
            detail: detail.clone(),
        },
    }
}

impl DropboxBackend for ApiClient {
    async fn current_account(&self) -> BackendResult<AccountInfo> {
        let account: FullAccount = self
            .rpc(CallSpec::rpc("users/get_current_account", None::<&()>)?)
            .await
            .map_err(|error| endpoint_or(error, |endpoint| endpoint.refused()))?;
        Ok(AccountInfo {
            account_id: account.account_id,
            email: Some(account.email),
            display_name: account.name.display_name,
        })
    }

    async fn ensure_folder(&self, path: &str) -> BackendResult<FolderMetadata> {
        let arg = CreateFolderArg {
            path: path.to_owned(),
            autorename: false,
        };
        let created: Result<CreateFolderResult, CallError> = {
            let _write = self.pacer.write_turn().await;
            self.rpc(CallSpec::rpc("files/create_folder_v2", Some(&arg))?.write())
                .await
        };
        let endpoint = match created {
            Ok(created) => return Ok(created.metadata),
            Err(CallError::Backend(error)) => return Err(error),
            Err(CallError::Endpoint(endpoint)) => endpoint,
        };
        match endpoint.typed::<CreateFolderError>() {
            // Already there (perhaps in another case): read it back for its id.
            Some(CreateFolderError::Path {
                path:
                    WriteError::Conflict {
                        conflict: WriteConflictError::Folder,
                    },
            }) => match self.get_metadata(path).await? {
                Some(Metadata::Folder(folder)) => Ok(folder),
                Some(_) => Err(BackendError::Conflict {
                    summary: endpoint.summary,
                }),
                None => Err(BackendError::Transient {
                    detail: format!("{path} conflicted on create but is not there"),
                }),
            },
            Some(CreateFolderError::Path { path: write }) => Err(write_error(
                &write,
                endpoint.summary.clone(),
                self.retry.rate_limit_fallback_wait(1),
            )),
            None => Err(endpoint.refused()),
        }
    }

    async fn move_entry(&self, from: &str, to: &str) -> BackendResult<Metadata> {
        let arg = RelocationArg {
            from_path: from.to_owned(),
            to_path: to.to_owned(),
            autorename: false,
            allow_ownership_transfer: false,
        };
        let moved: Result<RelocationResult, CallError> = {
            let _write = self.pacer.write_turn().await;
            self.rpc(CallSpec::rpc("files/move_v2", Some(&arg))?).await
        };
        let endpoint = match moved {
            Ok(moved) => return Ok(moved.metadata),
            Err(CallError::Backend(error)) => return Err(error),
            Err(CallError::Endpoint(endpoint)) => endpoint,
        };
        match endpoint.typed::<RelocationError>() {
            Some(RelocationError::FromLookup { from_lookup }) => {
                Err(lookup_error(&from_lookup, from, &endpoint))
            }
            Some(
                RelocationError::To { to: write }
                | RelocationError::FromWrite { from_write: write },
            ) => Err(write_error(
                &write,
                endpoint.summary.clone(),
                self.retry.rate_limit_fallback_wait(1),
            )),
            Some(_) | None => Err(endpoint.refused()),
        }
    }

    async fn list_folder(&self, path: &str, recursive: bool) -> BackendResult<ListFolderResult> {
        let arg = ListFolderArg {
            recursive,
            include_non_downloadable_files: false,
            limit: Some(LIST_FOLDER_LIMIT_MAX),
            ..ListFolderArg::new(path)
        };
        self.rpc(CallSpec::rpc("files/list_folder", Some(&arg))?)
            .await
            .map_err(|error| {
                endpoint_or(error, |endpoint| {
                    match endpoint.typed::<ListFolderError>() {
                        Some(ListFolderError::Path { path: lookup }) => {
                            lookup_error(&lookup, path, &endpoint)
                        }
                        _ => endpoint.refused(),
                    }
                })
            })
    }

    async fn list_folder_continue(&self, cursor: &str) -> BackendResult<ListFolderResult> {
        let arg = ListFolderContinueArg {
            cursor: cursor.to_owned(),
        };
        self.rpc(CallSpec::rpc("files/list_folder/continue", Some(&arg))?)
            .await
            .map_err(|error| {
                endpoint_or(error, |endpoint| {
                    match endpoint.typed::<ListFolderContinueError>() {
                        Some(ListFolderContinueError::Reset) => BackendError::CursorReset,
                        // The listed folder itself is gone.
                        Some(ListFolderContinueError::Path { path: lookup }) => {
                            lookup_error(&lookup, "(the listed folder)", &endpoint)
                        }
                        _ => endpoint.refused(),
                    }
                })
            })
    }

    async fn wait_for_changes(&self, cursor: &str, timeout: Duration) -> BackendResult<ChangeWait> {
        let arg = ListFolderLongpollArg::new(cursor, timeout.as_secs());
        let mut spec = CallSpec::rpc("files/list_folder/longpoll", Some(&arg))?;
        spec.host = Host::Notify;
        // `auth = "noauth"` in files.stone: the cursor is the credential.
        spec.authenticated = false;
        spec.timeout = Some(longpoll_request_timeout(arg.timeout));
        let result: ListFolderLongpollResult = self.rpc(spec).await.map_err(|error| {
            endpoint_or(error, |endpoint| {
                match endpoint.typed::<ListFolderLongpollError>() {
                    Some(ListFolderLongpollError::Reset) => BackendError::CursorReset,
                    _ => endpoint.refused(),
                }
            })
        })?;
        Ok(ChangeWait {
            changes: result.changes,
            backoff: result.backoff.map(Duration::from_secs),
        })
    }

    async fn download(&self, path: &str) -> BackendResult<Download> {
        let response = self.download_response(path).await.map_err(|error| {
            endpoint_or(error, |endpoint| match endpoint.typed::<DownloadError>() {
                Some(DownloadError::Path { path: lookup }) => {
                    lookup_error(&lookup, path, &endpoint)
                }
                _ => endpoint.refused(),
            })
        })?;
        let header = response
            .headers()
            .get(API_RESULT_HEADER)
            .and_then(|value| value.to_str().ok())
            .ok_or_else(|| BackendError::Transient {
                detail: format!("download of {path} lacked {API_RESULT_HEADER}"),
            })?;
        let metadata: FileMetadata =
            decode_api_result(header).map_err(|error| BackendError::Transient {
                detail: format!("download of {path}: unreadable {API_RESULT_HEADER}: {error}"),
            })?;
        let stream = Box::pin(response.bytes_stream().map_err(io::Error::other));
        let body = VerifiedBody::new(
            StreamReader::new(stream),
            metadata.size,
            metadata.content_hash.clone(),
        );
        Ok(Download {
            metadata,
            body: Box::pin(body),
        })
    }

    async fn delete_batch(
        &self,
        entries: Vec<DeleteArg>,
    ) -> BackendResult<Vec<BackendResult<Metadata>>> {
        let mut results = Vec::with_capacity(entries.len());
        for chunk in entries.chunks(DELETE_BATCH_MAX_ENTRIES) {
            match self.delete_chunk(chunk).await {
                Ok(chunk_results) => results.extend(chunk_results),
                // Nothing happened yet: the whole call failed.
                Err(error) if results.is_empty() => return Err(error),
                // Earlier chunks are done; keep their answers and give the rest this error.
                Err(error) => {
                    tracing::warn!(%error, done = results.len(), "delete batch stopped part way");
                    while results.len() < entries.len() {
                        results.push(Err(replicate(&error)));
                    }
                    break;
                }
            }
        }
        Ok(results)
    }

    async fn upload(
        &self,
        path: &str,
        bytes: Vec<u8>,
        mode: WriteMode,
        autorename: bool,
    ) -> BackendResult<FileMetadata> {
        if bytes.len() as u64 > UPLOAD_MAX_BYTES {
            return Err(BackendError::Refused {
                status: NOT_SENT_STATUS,
                summary: format!(
                    "payload_too_large: {} bytes exceed the {UPLOAD_MAX_BYTES}-byte upload limit",
                    bytes.len()
                ),
            });
        }
        let arg = UploadArg {
            path: path.to_owned(),
            mode,
            autorename,
            mute: false,
            strict_conflict: false,
            content_hash: Some(content_hash(&bytes)),
        };
        let _write = self.pacer.write_turn().await;
        self.rpc(CallSpec::upload("files/upload", &arg, bytes)?)
            .await
            .map_err(|error| {
                endpoint_or(error, |endpoint| match endpoint.typed::<UploadError>() {
                    Some(UploadError::Path { reason, .. }) => write_error(
                        &reason,
                        endpoint.summary.clone(),
                        self.retry.rate_limit_fallback_wait(1),
                    ),
                    _ => endpoint.refused(),
                })
            })
    }

    async fn get_metadata(&self, path: &str) -> BackendResult<Option<Metadata>> {
        let arg = GetMetadataArg {
            path: path.to_owned(),
            include_deleted: false,
        };
        let found: Result<Metadata, CallError> = self
            .rpc(CallSpec::rpc("files/get_metadata", Some(&arg))?)
            .await;
        match found {
            Ok(metadata) => Ok(Some(metadata)),
            Err(CallError::Endpoint(endpoint)) => match endpoint.typed::<GetMetadataError>() {
                Some(GetMetadataError::Path {
                    path: LookupError::NotFound,
                }) => Ok(None),
                Some(GetMetadataError::Path { path: lookup }) => {
                    Err(lookup_error(&lookup, path, &endpoint))
                }
                None => Err(endpoint.refused()),
            },
            Err(CallError::Backend(error)) => Err(error),
        }
    }
}
