//! One pass over one link: list what changed, journal it, import each new file (admit, download,
//! verify, commit), delete what was committed from Dropbox, and bring the folder's error report
//! up to date (`current_report`).
//! Every step that changes state is journaled before the next one starts, so a crash at any
//! point leaves each file in Dropbox, in the library, or both — never neither, never twice.

use crate::library::ids::{BatchId, ItemId, ReservationId};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use time::OffsetDateTime;

use crate::dropbox::backend::{BackendError, DropboxBackend};
use crate::dropbox::wire::{DeleteArg, FileMetadata, Metadata};
use crate::import::current_report;
use crate::import::events::{EngineEvent, EventSink, ItemRef, PassSummary};
use crate::import::metadata_fill;
use crate::import::report::{self, is_report_name};
use crate::import::retry_policy::{RetryPolicy, TransientVerdict};
use crate::import::skip::is_passed_over;
use crate::import::transfer::{ReadSeek, ServerPart, TransferError, download_to_blob};
use crate::library::Library;
use crate::library::blobs::BlobStore;
use crate::library::error::LibraryError;
use crate::library::formats::{self, Detection};
use crate::library::ingest::{BatchOrigin, Committed};
use crate::library::model::{Account, DropboxOrigin, FileId, NewFile, Source};
use crate::library::policy::{AdmitError, ErrorKind, Plan};
use crate::library::store::blob_table;
use crate::library::store::import_items::{
    self as journal, Fault, ImportItem, ItemState, Sighting,
};
use crate::library::store::links::{self, LinkId, LinkRecord};
use crate::library::store::people;
use crate::library::store::quota::{self, ReserveError};

/// Entries per `delete_batch` call (Dropbox allows 1000).
pub const DELETE_BATCH_SIZE: usize = 1000;
/// How the engine registers in the registry of live processes.
pub const ENGINE_ROLE: &str = "engine";
/// Downloads in one try of a file (a few seconds apart). A try that still fails is tried again
/// in a later pass (`retry_policy`); only a persistent failure is reported to the customer.
pub const MAX_DOWNLOAD_ATTEMPTS: u32 = 3;
/// First pause between download attempts of one try; doubles each time.
const RETRY_PAUSE: Duration = Duration::from_millis(500);
/// Files admitted in one transaction at most.
const ADMIT_CHUNK: usize = 32;
/// Files committed together at most: one pair of file-system syncs and one transaction each.
const COMMIT_BATCH_MAX: usize = 256;
/// How long the committer waits for more ready files before committing what it has.
const COMMIT_GATHER: Duration = Duration::from_millis(25);
/// Items in flight per link at least (admitted, downloading, or waiting for their batch), so
/// batches can fill even with few download slots — twice a batch, so the next batch fills
/// while one is being made durable instead of every item waiting on its syncs.
const MIN_ITEMS_IN_FLIGHT: usize = 2 * COMMIT_BATCH_MAX;

/// A downloaded, checked file waiting for its batch commit.
struct CommitRequest {
    pending: crate::library::blobs::PendingBlob,
    new: NewFile,
    detection: Detection,
    reservation: ReservationId,
    item: ItemId,
    reply: tokio::sync::oneshot::Sender<Result<FileId, CommitFailure>>,
}

/// Why a batch commit did not take a file.
enum CommitFailure {
    /// The blob store failed (our server's fault): the file was journaled for a later try.
    Server { detail: String, retry_at: i64 },
    /// The library failed: the pass stops.
    Library(String),
}

/// Everything a pass needs that outlives it.
#[derive(Clone)]
pub struct PassContext {
    pub library: Arc<Mutex<Library>>,
    pub blobs: BlobStore,
    pub events: EventSink,
    pub workers: usize,
    /// Set on shutdown: items not yet started stay queued for the next run.
    pub shutdown: Arc<std::sync::atomic::AtomicBool>,
    /// Links paused, unlinked or blocked while their pass runs (by any process): like a
    /// shutdown for that link alone — what is in flight finishes, nothing new starts.
    pub stopped_links: Arc<std::sync::RwLock<std::collections::HashSet<LinkId>>>,
    /// Download slots shared by every link: `workers` files move at once in all.
    pub download_slots: Arc<tokio::sync::Semaphore>,
    /// One library operation at a time waits for a blocking thread: without this gate, hundreds
    /// of in-flight items each park a blocking thread on the library mutex, and every file
    /// pays for the thread wake-ups.
    pub db_gate: Arc<tokio::sync::Semaphore>,
    /// Remove the folders the deletes emptied, where the backend can do it safely.
    pub remove_emptied_folders: bool,
    /// When failed tries are tried again, and when a failure is told to the customer.
    pub retry: RetryPolicy,
    /// What is queued for notifications (nothing when no channel is configured).
    pub notify: crate::library::notifications::Queueing,
    /// `[import] duplicates = "skip"`: a file whose bytes its account already has (outside
    /// the trash) is not added, and is removed from Dropbox like an import.
    pub skip_duplicates: bool,
}

/// Why a link's pass stopped early.
#[derive(Debug, thiserror::Error)]
pub enum PassError {
    #[error(transparent)]
    Dropbox(#[from] BackendError),
    #[error(transparent)]
    Library(#[from] LibraryError),
    #[error("the library is unavailable: {0}")]
    Internal(String),
}

impl PassContext {
    /// Run a short library operation off the async workers.
    pub(crate) async fn db<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Library) -> Result<R, LibraryError> + Send + 'static,
    ) -> Result<R, PassError> {
        let library = self.library.clone();
        let turn = self
            .db_gate
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| PassError::Internal("the library gate closed".into()))?;
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            let mut guard = library
                .lock()
                .map_err(|_| PassError::Internal("a library task panicked".into()))?;
            f(&mut guard).map_err(PassError::from)
        })
        .await
        .map_err(|e| PassError::Internal(e.to_string()))?
    }

    pub(super) fn emit(&self, event: EngineEvent) {
        let _ = self.events.send(event);
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn last_component(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Run one pass of `link` against `backend`.
pub async fn run_pass<B: DropboxBackend>(
    cx: &PassContext,
    link: &LinkRecord,
    backend: &B,
) -> Result<PassSummary, PassError> {
    let (summary, outcome) = run_pass_counted(cx, link, backend).await;
    outcome.map(|()| summary)
}

/// Run one pass, and say what it did even when it stopped early: every file whose outcome was
/// announced (and printed) is counted, so a summary never contradicts the lines above it.
pub async fn run_pass_counted<B: DropboxBackend>(
    cx: &PassContext,
    link: &LinkRecord,
    backend: &B,
) -> (PassSummary, Result<(), PassError>) {
    let mut summary = PassSummary::default();
    let outcome = pass_into(cx, link, backend, &mut summary).await;
    (summary, outcome)
}

async fn pass_into<B: DropboxBackend>(
    cx: &PassContext,
    link: &LinkRecord,
    backend: &B,
    summary: &mut PassSummary,
) -> Result<(), PassError> {
    let link_id = link.id;
    let (account, plan) = cx
        .db(move |lib| {
            let c = lib.store().connection();
            let link = links::link_by_id(c, link_id)?
                .ok_or_else(|| LibraryError::NotFound(format!("link #{link_id}")))?;
            let account = people::account_by_id(c, link.account)?
                .ok_or_else(|| LibraryError::NotFound(format!("account #{}", link.account)))?;
            let plan = lib.plan(&account.plan)?.clone();
            Ok((account, plan))
        })
        .await?;
    cx.emit(EngineEvent::PassStarted {
        link: link.id,
        account: account.name.clone(),
    });
    summary.discovered += requeue_due_retries(cx, link, &account).await?;
    let (discovered, misnamed, reports_seen) = scan(cx, link, backend).await?;
    summary.discovered += discovered;
    summary.failed += misnamed;

    let pending = cx
        .db(move |lib| {
            Ok(journal::items_in_state(
                lib.store().connection(),
                link_id,
                ItemState::Discovered,
            )?)
        })
        .await?;
    let (commits, commit_inbox) = tokio::sync::mpsc::channel::<CommitRequest>(COMMIT_BATCH_MAX);
    let items = async {
        let outcomes: Vec<Result<ItemOutcome, PassError>> = futures::stream::iter(pending)
            // Admitted a chunk at a time: one transaction (and one trip to the library) per
            // chunk instead of per file; pulled lazily, so only items about to move hold quota.
            .chunks(ADMIT_CHUNK)
            .then(|chunk| {
                // Owned, so the future is `Send` for any lifetime (the engine spawns passes).
                let (cx, account, plan) = (cx.clone(), account.clone(), plan.clone());
                async move { admit_chunk(&cx, &account, &plan, chunk).await }
            })
            .flat_map(futures::stream::iter)
            .map(|(item, admission)| {
                import_item(
                    cx, link, &account, &plan, backend, item, admission, &commits,
                )
            })
            // Many more items than download slots: while some download, others are checked or
            // wait for their batch commit, and a freed slot always finds an admitted item.
            .buffer_unordered((cx.workers.max(1) * 4).max(MIN_ITEMS_IN_FLIGHT))
            .collect()
            .await;
        drop(commits);
        outcomes
    };
    // Whole delete batches go out while later files still download (the unlinks and Dropbox
    // calls overlap the copying); the rest is deleted after the last commit.
    let (deletable, mut deletable_rx) = tokio::sync::mpsc::channel::<()>(1);
    let early_deletes = async {
        let mut totals = (0, 0, 0);
        while deletable_rx.recv().await.is_some() {
            let (deleted, kept, batches) =
                delete_committed(cx, link, backend, DeleteScope::WholeBatches).await?;
            totals = (totals.0 + deleted, totals.1 + kept, totals.2 + batches);
        }
        Ok::<_, PassError>(totals)
    };
    let (outcomes, committed, early) =
        tokio::join!(items, committer(cx, commit_inbox, deletable), early_deletes);
    // Every outcome that was announced is counted before any error stops the pass.
    let mut first_error = None;
    for outcome in outcomes {
        match outcome {
            Ok(ItemOutcome::Imported(bytes)) => {
                summary.imported += 1;
                summary.imported_bytes += bytes;
            }
            Ok(ItemOutcome::Failed) => summary.failed += 1,
            Ok(ItemOutcome::Retrying) => summary.retrying += 1,
            Ok(ItemOutcome::KeptChanged) => summary.kept_changed += 1,
            // Queued by the scan before its content showed it is ours: not the customer's file.
            Ok(ItemOutcome::OurReport) => summary.discovered = summary.discovered.saturating_sub(1),
            Ok(ItemOutcome::Gone | ItemOutcome::Deferred) => {}
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if let Ok((deleted, kept, batches)) = &early {
        summary.deleted += deleted;
        summary.kept_changed += kept;
        summary.delete_batches += batches;
    }
    committed?;
    early?;
    if let Some(e) = first_error {
        return Err(e);
    }
    let (deleted, kept, batches) = delete_committed(cx, link, backend, DeleteScope::All).await?;
    summary.deleted += deleted;
    summary.kept_changed += kept;
    summary.delete_batches += batches;
    if current_report::bring_up_to_date(cx, link, &account, &plan, backend, reports_seen).await? {
        summary.reports += 1;
    }
    cx.emit(EngineEvent::PassFinished {
        link: link.id,
        account: account.name.clone(),
        summary: summary.clone(),
    });
    Ok(())
}

/// Items an admin queued for a retry (from any process) and items whose next try is due go
/// back to the queue, in one transaction. Returns how many.
async fn requeue_due_retries(
    cx: &PassContext,
    link: &LinkRecord,
    account: &Account,
) -> Result<u64, PassError> {
    let link_id = link.id;
    let due = cx
        .db(move |lib| {
            let at = now().unix_timestamp();
            lib.store_mut()
                .transaction(|tx| journal::take_due_retries(tx, link_id, at))
                .map_err(LibraryError::from)
        })
        .await?;
    for item in &due {
        cx.emit(EngineEvent::Discovered(ItemRef {
            item: item.id,
            link: link_id,
            account: account.name.clone(),
            path: item.path.clone(),
            size: item.size,
        }));
    }
    Ok(due.len() as u64)
}

/// Why a file whose name is not text (`FileMetadata::escaped_name`) cannot be imported.
fn invalid_name(path: &str) -> Refusal {
    Refusal {
        kind: ErrorKind::InvalidName,
        detail:
            "Its name, or the name of a folder it is in, is not valid text (UTF-8), so neither \
                 Dropbox nor Smartimage can store it; the bytes that are not text are shown as \
                 \\xNN. The file was left untouched."
                .to_owned(),
        format: Some(formats::detect_by_name(last_component(path)).format),
    }
}

/// List what changed (from the stored cursor, or everything), journal it with the new cursor in
/// one transaction. Returns how many items were queued; how many of them failed at once
/// because their name is not text (journaled as failed in the same transaction: such a file is
/// never downloaded or deleted, and reported once; a retried one fails here again: a synced
/// folder lists everything at each pass, and if the file is gone, its download finds nothing
/// and the item is `gone`); and the files named like our reports seen at the top of the
/// account folder (never queued; the report upkeep looks at them).
async fn scan<B: DropboxBackend>(
    cx: &PassContext,
    link: &LinkRecord,
    backend: &B,
) -> Result<(u64, u64, Vec<FileMetadata>), PassError> {
    let cursor = {
        let id = link.id;
        cx.db(
            move |lib| Ok(links::link_by_id(lib.store().connection(), id)?.and_then(|l| l.cursor)),
        )
        .await?
    };
    // A listing from the start holds every file there is: a failed file missing from it was
    // removed (a synced folder's cursor lives only as long as its process, so an `import --once`
    // never hears of deletions), and drops out of the failures.
    let (mut page, complete) = match cursor {
        Some(cursor) => match backend.list_folder_continue(&cursor).await {
            Err(BackendError::CursorReset) => (list_from_start(link, backend).await?, true),
            other => (other?, false),
        },
        None => (list_from_start(link, backend).await?, true),
    };
    let mut entries = std::mem::take(&mut page.entries);
    while page.has_more {
        page = backend.list_folder_continue(&page.cursor).await?;
        entries.append(&mut page.entries);
    }
    let cursor = page.cursor;
    let link_id = link.id;
    let folder_lower = link.folder_path.to_lowercase();
    let gone = if complete {
        failed_files_gone(cx, link_id, &entries, backend).await?
    } else {
        Vec::new()
    };
    let (queued, refs, misnamed, reports_seen) = cx
        .db(move |lib| {
            let at = now().unix_timestamp();
            let account_name = links::link_by_id(lib.store().connection(), link_id)?
                .map(|l| l.account_name)
                .unwrap_or_default();
            lib.store_mut()
                .transaction(|tx| -> Result<ScanJournaled, LibraryError> {
                    let mut refs = Vec::new();
                    let mut misnamed = Vec::new();
                    let mut reports_seen = Vec::new();
                    for entry in &entries {
                        match entry {
                            Metadata::File(file) => {
                                let Some(path) = inside_folder(file, &folder_lower) else {
                                    continue;
                                };
                                // Our reports, by name (whatever the database knows: a relink,
                                // a restored database) or by the id we wrote them as.
                                if is_passed_over(&file.name)
                                    || links::is_our_report(tx, link_id, &file.id, &path)?
                                {
                                    if is_report_name(&file.name) && at_top_of(file, &folder_lower)
                                    {
                                        reports_seen.push(file.clone());
                                    }
                                    continue;
                                }
                                let sighting = Sighting {
                                    link: link_id,
                                    dropbox_id: &file.id,
                                    rev: &file.rev,
                                    path: &path,
                                    size: file.size,
                                    content_hash: file.content_hash.as_deref(),
                                };
                                if let Some(item) = journal::record_sighting(tx, &sighting, at)? {
                                    let item_ref = ItemRef {
                                        item,
                                        link: link_id,
                                        account: account_name.clone(),
                                        path,
                                        size: file.size,
                                    };
                                    if file.escaped_name {
                                        let refusal = invalid_name(&item_ref.path);
                                        journal::mark_failed(
                                            tx,
                                            item,
                                            refusal.kind.as_str(),
                                            &refusal.detail,
                                            refusal.format.as_deref(),
                                            at,
                                        )?;
                                        misnamed.push((item_ref.clone(), refusal));
                                    }
                                    refs.push(item_ref);
                                }
                            }
                            Metadata::Deleted(deleted) => {
                                if let Some(path) = deleted.path_lower.as_deref() {
                                    journal::mark_gone_at_path(tx, link_id, path, at)?;
                                }
                            }
                            Metadata::Folder(_) | Metadata::Unknown(_) => {}
                        }
                    }
                    for item in &gone {
                        journal::set_state(tx, *item, ItemState::Gone, at)?;
                    }
                    // The cursor moves only together with the journal: a crash re-lists, never skips.
                    links::set_cursor(tx, link_id, Some(&cursor))?;
                    Ok((refs.len() as u64, refs, misnamed, reports_seen))
                })
        })
        .await?;
    for r in refs {
        cx.emit(EngineEvent::Discovered(r));
    }
    let failed = misnamed.len() as u64;
    for (item, refusal) in misnamed {
        cx.emit(EngineEvent::Failed {
            item,
            kind: refusal.kind,
            detail: refusal.detail,
        });
    }
    Ok((queued, failed, reports_seen))
}

/// True for a file directly in the account folder (where our reports are written).
fn at_top_of(file: &FileMetadata, folder_lower: &str) -> bool {
    file.path_lower
        .as_deref()
        .and_then(|lower| lower.strip_prefix(folder_lower))
        .and_then(|rest| rest.strip_prefix('/'))
        .is_some_and(|name| !name.is_empty() && !name.contains('/'))
}

/// What a scan journaled: items queued, their refs, those failed at once with why, and the
/// report-named files seen at the top of the folder.
type ScanJournaled = (
    u64,
    Vec<ItemRef>,
    Vec<(ItemRef, Refusal)>,
    Vec<FileMetadata>,
);

/// The display path of a file inside the link's folder (`None` for anything outside it).
fn inside_folder(file: &FileMetadata, folder_lower: &str) -> Option<String> {
    let lower = file.path_lower.as_deref()?;
    let prefix = format!("{folder_lower}/");
    if !lower.starts_with(&prefix) {
        return None;
    }
    Some(
        file.path_display
            .clone()
            .unwrap_or_else(|| lower.to_owned()),
    )
}

/// Failed items of the link that a listing from the start no longer holds, and that are
/// really gone: asked one by one, since a listing may leave out what is there (a synced folder
/// lists a file only once it has been still for a moment). A failed file the customer removed
/// or replaced drops out of the failures (and of the report).
async fn failed_files_gone<B: DropboxBackend>(
    cx: &PassContext,
    link_id: LinkId,
    entries: &[Metadata],
    backend: &B,
) -> Result<Vec<ItemId>, PassError> {
    let listed: std::collections::HashSet<(&str, &str)> = entries
        .iter()
        .filter_map(|entry| match entry {
            Metadata::File(file) => Some((file.id.as_str(), file.rev.as_str())),
            _ => None,
        })
        .collect();
    let failed = cx
        .db(move |lib| {
            Ok(journal::items_in_state(
                lib.store().connection(),
                link_id,
                ItemState::Failed,
            )?)
        })
        .await?;
    let mut gone = Vec::new();
    for item in failed {
        if listed.contains(&(item.dropbox_id.as_str(), item.rev.as_str())) {
            continue;
        }
        let still_there = match backend.get_metadata(&item.path).await? {
            Some(Metadata::File(file)) => file.id == item.dropbox_id && file.rev == item.rev,
            _ => false,
        };
        if !still_there {
            gone.push(item.id);
        }
    }
    Ok(gone)
}

async fn list_from_start<B: DropboxBackend>(
    link: &LinkRecord,
    backend: &B,
) -> Result<crate::dropbox::wire::ListFolderResult, BackendError> {
    match backend.list_folder(&link.folder_path, true).await {
        // The admin removed the account folder: make it again, then list it (empty).
        Err(BackendError::NotFound { .. }) => {
            backend.ensure_folder(&link.folder_path).await?;
            backend.list_folder(&link.folder_path, true).await
        }
        other => other,
    }
}

enum ItemOutcome {
    Imported(u64),
    /// One of our own reports under another name (its content said so): left where it is.
    OurReport,
    /// Not started because the engine is shutting down; still queued.
    Deferred,
    Failed,
    /// The try failed for a reason that may pass; journaled for a later try.
    Retrying,
    KeptChanged,
    Gone,
}

/// What stopped a file, with the sentence for the admin.
struct Refusal {
    kind: ErrorKind,
    detail: String,
    format: Option<String>,
}

impl From<AdmitError> for Refusal {
    fn from(e: AdmitError) -> Self {
        Refusal {
            kind: e.kind(),
            detail: e.to_string(),
            format: None,
        }
    }
}

/// What admission decided for one item, before any byte moved.
enum Admission {
    /// Quota reserved and the item claimed (state `downloading`).
    Admitted(quota::Reservation),
    /// The plan refuses the file as listed (size, kind, quota).
    Refused(AdmitError),
    /// Not started (shutting down, or an earlier item's admission failed); still queued.
    Deferred,
    /// The library failed; the pass stops.
    Failed(PassError),
}

/// Admits `chunk` in order in one relaxed transaction (it need not wait for the disk: recovery
/// releases import reservations and requeues claimed items after a crash).
async fn admit_chunk(
    cx: &PassContext,
    account: &Account,
    plan: &Plan,
    chunk: Vec<ImportItem>,
) -> Vec<(ImportItem, Admission)> {
    let link_stopped = chunk.first().is_some_and(|item| {
        cx.stopped_links
            .read()
            .is_ok_and(|stopped| stopped.contains(&item.link))
    });
    if link_stopped || cx.shutdown.load(std::sync::atomic::Ordering::SeqCst) {
        return chunk
            .into_iter()
            .map(|i| (i, Admission::Deferred))
            .collect();
    }
    let requests: Vec<(ItemId, String, u64, Detection)> = chunk
        .iter()
        .map(|item| {
            let name = last_component(&item.path).to_owned();
            let detection = formats::detect_by_name(&name);
            (item.id, name, item.size, detection)
        })
        .collect();
    let (account_id, plan) = (account.id, plan.clone());
    let decided = cx
        .db(move |lib| {
            let at = now();
            let holder = Some(lib.holder(ENGINE_ROLE)?);
            let decided = lib.store_mut().transaction_relaxed(|tx| {
                let mut decided = Vec::with_capacity(requests.len());
                for (item, name, size, detection) in &requests {
                    match quota::reserve(
                        tx, account_id, &plan, name, *size, detection, at, "import", holder,
                    ) {
                        Ok(r) => {
                            journal::start_attempt(tx, *item, at.unix_timestamp())?;
                            decided.push(Ok(r));
                        }
                        Err(ReserveError::Refused(e)) => decided.push(Err(e)),
                        Err(ReserveError::Sqlite(e)) => return Err(e),
                    }
                }
                Ok(decided)
            })?;
            Ok(decided)
        })
        .await;
    match decided {
        Ok(decided) => chunk
            .into_iter()
            .zip(decided)
            .map(|(item, d)| {
                let admission = match d {
                    Ok(r) => Admission::Admitted(r),
                    Err(e) => Admission::Refused(e),
                };
                (item, admission)
            })
            .collect(),
        Err(e) => {
            // Nothing of the chunk changed (the transaction rolled back): one item carries the
            // error so the pass stops; the others stay queued.
            let mut error = Some(e);
            chunk
                .into_iter()
                .map(|item| match error.take() {
                    Some(e) => (item, Admission::Failed(e)),
                    None => (item, Admission::Deferred),
                })
                .collect()
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn import_item<B: DropboxBackend>(
    cx: &PassContext,
    link: &LinkRecord,
    account: &Account,
    plan: &Plan,
    backend: &B,
    item: ImportItem,
    admission: Admission,
    commits: &tokio::sync::mpsc::Sender<CommitRequest>,
) -> Result<ItemOutcome, PassError> {
    let item_ref = ItemRef {
        item: item.id,
        link: link.id,
        account: account.name.clone(),
        path: item.path.clone(),
        size: item.size,
    };
    let name = last_component(&item.path).to_owned();
    let by_name = formats::detect_by_name(&name);
    let reservation = match admission {
        Admission::Admitted(r) => r,
        Admission::Deferred => return Ok(ItemOutcome::Deferred),
        Admission::Failed(e) => return Err(e),
        Admission::Refused(refusal) => {
            // A report of ours the customer renamed is refused like any file (a full account):
            // its content, not the refusal, decides — it is never listed as the customer's.
            if current_report::is_signed_report(backend, &item.path, &item.rev, item.size).await {
                return our_report(cx, item_ref, &item, None).await;
            }
            let mut refusal = Refusal::from(refusal);
            refusal.format = Some(by_name.format.clone());
            return fail(cx, item_ref, None, refusal).await;
        }
    };

    cx.emit(EngineEvent::Admitted { item: item.id });
    // Download into the blob store, retrying what is worth retrying. Each attempt takes one of
    // the download slots shared by all links, and gives it back once the bytes are in (before
    // the blob is made durable), or when the attempt fails (before any retry pause).
    let mut attempt = 0;
    let (blob, served, content) = loop {
        attempt += 1;
        let mut slot = Some(
            cx.download_slots
                .clone()
                .acquire_owned()
                .await
                .map_err(|_| PassError::Internal("download slots closed".into()))?,
        );
        let result = match backend.download(&item.path).await {
            Ok(download) if download.metadata.rev != item.rev => Err(Changed),
            Ok(download) => {
                // The content decides the format (sniffed as soon as the bytes are in).
                let name = name.clone();
                download_to_blob(
                    download,
                    cx.blobs.clone(),
                    item.id,
                    cx.events.clone(),
                    slot.take(),
                    // The content decides whether it is one of our reports (renamed): checked
                    // on the bytes downloaded, before anything is committed.
                    move |content| {
                        let ours = report::is_report_content(&read_head(
                            content,
                            report::SIGNATURE_WINDOW,
                        )?);
                        Ok((ours, formats::detect_reader(content, &name)?))
                    },
                )
                .await
                .map_err(Other)
            }
            Err(BackendError::NotFound { .. }) => Err(Missing),
            // The synced folder on this server could not be read: ours, not Dropbox's.
            Err(BackendError::Io(e)) => Err(LocalRead(e)),
            Err(e) => Err(Other(TransferError::from(e))),
        };
        drop(slot);
        match result {
            Ok(done) => break done,
            Err(Changed) => return keep_changed(cx, item.id, reservation.id).await,
            Err(Missing) => return gone(cx, item.id, reservation.id).await,
            Err(Other(TransferError::Retryable(_))) if attempt < MAX_DOWNLOAD_ATTEMPTS => {
                tokio::time::sleep(RETRY_PAUSE * 2u32.pow(attempt - 1)).await;
            }
            Err(Other(TransferError::Retryable(detail) | TransferError::Fatal(detail))) => {
                let fault = FailedTry {
                    fault: Fault::Transient,
                    detail: format!("The file could not be downloaded from Dropbox: {detail}"),
                    format: Some(by_name.format.clone()),
                };
                return retry_later(cx, item_ref, Some(reservation.id), fault).await;
            }
            Err(Other(TransferError::Server(error))) => {
                let part = ServerPart::BlobStore;
                return server_fault(cx, item_ref, Some(reservation.id), &by_name, part, error)
                    .await;
            }
            Err(LocalRead(error)) => {
                let part = ServerPart::SyncedFolder;
                return server_fault(cx, item_ref, Some(reservation.id), &by_name, part, error)
                    .await;
            }
        }
    };
    cx.emit(EngineEvent::Verifying { item: item.id });

    let (ours, content) = match content {
        Ok(found) => found,
        // Reading our own temp file back failed: the server's fault, not the file's.
        Err(error) => {
            let part = ServerPart::BlobStore;
            return server_fault(cx, item_ref, Some(reservation.id), &by_name, part, error).await;
        }
    };
    if ours {
        // Never committed: the pending blob goes with `blob`.
        drop(blob);
        return our_report(cx, item_ref, &item, Some(reservation.id)).await;
    }
    // A disguised file is refused, a video re-checked.
    if content.kind().is_none() {
        let refusal = unsupported_by_content(&name, &by_name, &content);
        return fail(cx, item_ref, Some(reservation.id), refusal).await;
    }
    let mut reservation_id = reservation.id;
    if content.kind() != by_name.kind() {
        let (account_id, plan, name2, size, detection) = (
            account.id,
            plan.clone(),
            name.clone(),
            blob.blob().size,
            content.clone(),
        );
        let readmitted = cx
            .db(move |lib| {
                let at = now();
                lib.release(reservation_id)?;
                let holder = Some(lib.holder(ENGINE_ROLE)?);
                match lib.store_mut().reserve(
                    account_id, &plan, &name2, size, &detection, at, "import", holder,
                ) {
                    Ok(r) => Ok(Ok(r.id)),
                    Err(ReserveError::Refused(e)) => Ok(Err(e)),
                    Err(ReserveError::Sqlite(e)) => Err(e.into()),
                }
            })
            .await?;
        match readmitted {
            Ok(id) => reservation_id = id,
            Err(e) => {
                let mut refusal = Refusal::from(e);
                refusal.format = Some(content.format.clone());
                return fail(cx, item_ref, None, refusal).await;
            }
        }
    }

    // Commit: the file row, the reservation released, the journal item committed — one transaction.
    let new = NewFile {
        batch: None,
        account: account.id,
        name: name.clone(),
        size: blob.blob().size,
        kind: content.kind().map_or("unknown", |k| k.as_str()).to_owned(),
        format: content.format.clone(),
        mime: content.mime.clone(),
        sha256: blob.blob().sha256.clone(),
        source: Source::Dropbox,
        uploaded_by: link.authorized_by,
        imported_at: now().unix_timestamp(),
        dropbox: Some(DropboxOrigin {
            link: link.id,
            path: item.path.clone(),
            id: item.dropbox_id.clone(),
            rev: served.rev.clone(),
            content_hash: served.content_hash.clone().unwrap_or_default(),
        }),
    };
    let size = blob.blob().size;
    let (reply, answer) = tokio::sync::oneshot::channel();
    let request = CommitRequest {
        pending: blob,
        new,
        detection: content,
        reservation: reservation_id,
        item: item.id,
        reply,
    };
    commits
        .send(request)
        .await
        .map_err(|_| PassError::Internal("the committer stopped".into()))?;
    let file = match answer
        .await
        .map_err(|_| PassError::Internal("the committer stopped".into()))?
    {
        Ok(file) => file,
        Err(CommitFailure::Library(detail)) => return Err(PassError::Internal(detail)),
        // Journaled for a later try (and its quota released) by the committer.
        Err(CommitFailure::Server { detail, retry_at }) => {
            cx.emit(EngineEvent::Retrying {
                item: item_ref,
                kind: ErrorKind::ServerError,
                detail,
                next_attempt_at: retry_at,
            });
            return Ok(ItemOutcome::Retrying);
        }
    };
    cx.emit(EngineEvent::Imported {
        item: item_ref,
        file,
    });
    Ok(ItemOutcome::Imported(size))
}

/// Commits ready files in batches: their blobs made durable together, then one transaction
/// for their rows, reservations and journal items. Files are deleted from Dropbox only after
/// this (at the end of the pass), so a crash anywhere here loses nothing.
async fn committer(
    cx: &PassContext,
    mut inbox: tokio::sync::mpsc::Receiver<CommitRequest>,
    deletable: tokio::sync::mpsc::Sender<()>,
) -> Result<(), PassError> {
    let mut since_signal = 0;
    // The pass's import batch, opened with the first file it commits (`import history`).
    let mut import_batch = None;
    while let Some(first) = inbox.recv().await {
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + COMMIT_GATHER;
        while batch.len() < COMMIT_BATCH_MAX {
            match tokio::time::timeout_at(deadline, inbox.recv()).await {
                Ok(Some(request)) => batch.push(request),
                _ => break,
            }
        }
        since_signal += batch.len();
        commit_batch(cx, batch, &mut import_batch).await?;
        if since_signal >= DELETE_BATCH_SIZE {
            // A full delete batch is durable; a signal already waiting covers it too.
            since_signal = 0;
            let _ = deletable.try_send(());
        }
    }
    Ok(())
}

async fn commit_batch(
    cx: &PassContext,
    batch: Vec<CommitRequest>,
    import_batch: &mut Option<BatchId>,
) -> Result<(), PassError> {
    let mut pendings = Vec::with_capacity(batch.len());
    let mut rows = Vec::with_capacity(batch.len());
    let mut waiting = Vec::with_capacity(batch.len());
    for request in batch {
        pendings.push(request.pending);
        rows.push((request.new, request.detection, request.reservation));
        waiting.push((request.item, request.reply));
    }
    // Pinned in the store before the blobs are renamed into place (`library::custody`); the
    // blob store's syncs run outside the library lock, as the downloads' admissions go on.
    let pins: Vec<(String, u64)> = pendings
        .iter()
        .map(|p| (p.blob().sha256.clone(), p.blob().size))
        .collect();
    let to_pin = pins.clone();
    let pinned = cx.db(move |lib| lib.pin_blobs(&to_pin)).await;
    let was_pinned = pinned.is_ok();
    let stored = match pinned {
        Err(e) => Err(BatchFailure::Library(format!(
            "cannot record the downloaded files: {e}"
        ))),
        Ok(()) => {
            let blobs = cx.blobs.clone();
            tokio::task::spawn_blocking(move || blobs.commit_batch(pendings))
                .await
                .map_err(|e| PassError::Internal(e.to_string()))?
                .map_err(BatchFailure::BlobStore)
        }
    };
    let items: Vec<ItemId> = waiting.iter().map(|(item, _)| *item).collect();
    let reservations: Vec<ReservationId> = rows
        .iter()
        .map(|(_, _, reservation)| *reservation)
        .collect();
    let outcome = match stored {
        Err(failure) => Err(failure),
        Ok(_) => {
            let items = items.clone();
            let (opened, skip) = (*import_batch, cx.skip_duplicates);
            let origin = BatchOrigin {
                account: rows[0].0.account,
                source: Source::Dropbox,
                link: rows[0].0.dropbox.as_ref().map(|o| o.link),
                by: rows[0].0.uploaded_by,
            };
            cx.db(move |lib| {
                lib.commit_files_with(&origin, opened, skip, &rows, |tx, index, landed| {
                    let (item, format, at) =
                        (items[index], &rows[index].1.format, now().unix_timestamp());
                    match landed {
                        Committed::New(file) => {
                            journal::mark_committed(tx, item, file, format, at)?
                        }
                        Committed::AlreadyThere(existing) => {
                            journal::mark_already_in_library(tx, item, existing, format, at)?
                        }
                    }
                    Ok(())
                })
            })
            .await
            .map_err(|e| BatchFailure::Library(e.to_string()))
        }
    };
    match outcome {
        Ok((landed, opened)) => {
            *import_batch = opened;
            // Only new rows have metadata to read (a skipped copy's bytes are the existing
            // file's, read already).
            let committed: Vec<(FileId, String)> = landed
                .iter()
                .zip(pins.into_iter().map(|(sha256, _)| sha256))
                .filter_map(|(landed, sha256)| match landed {
                    Committed::New(id) => Some((*id, sha256)),
                    Committed::AlreadyThere(_) => None,
                })
                .collect();
            for ((_, reply), landed) in waiting.into_iter().zip(landed) {
                let _ = reply.send(Ok(landed.id()));
            }
            // Read while the blobs are warm, once their items can go on to be deleted; never a
            // reason for the import to fail.
            metadata_fill::read_committed(cx, committed).await;
            Ok(())
        }
        Err(BatchFailure::BlobStore(error)) => {
            // Our disk failed, not the files: each waits in Dropbox for a later try (never
            // told to the customer), its quota and its pin given back; the pass goes on.
            tracing::warn!(%error, files = items.len(), "the blob store could not take a batch; retried later");
            let detail = TransferError::server_detail(ServerPart::BlobStore, &error);
            let (policy, unpins, recorded) = (cx.retry, pins.clone(), detail.clone());
            let notify = cx.notify.clone();
            let retry_at = cx
                .db(move |lib| {
                    let at = now().unix_timestamp();
                    lib.store_mut()
                        .transaction(|tx| -> Result<Vec<i64>, LibraryError> {
                            let mut retry_at = Vec::with_capacity(items.len());
                            for (item, reservation) in items.iter().zip(&reservations) {
                                quota::release(tx, *reservation)?;
                                let failed = FailedTry {
                                    fault: Fault::Server,
                                    detail: recorded.clone(),
                                    format: None,
                                };
                                match record_failed_try(tx, &policy, *item, &failed, at)? {
                                    TryOutcome::RetryAt(when) => retry_at.push(when),
                                    // A server fault is never final.
                                    TryOutcome::Failed { .. } => retry_at.push(at),
                                }
                            }
                            if was_pinned {
                                for (sha256, _) in &unpins {
                                    blob_table::unpin(tx, sha256, at)?;
                                }
                            }
                            crate::library::notifications::server_could_not_store(
                                tx,
                                &notify,
                                items.len(),
                                now(),
                            )?;
                            Ok(retry_at)
                        })
                })
                .await?;
            for ((_, reply), retry_at) in waiting.into_iter().zip(retry_at) {
                let _ = reply.send(Err(CommitFailure::Server {
                    detail: detail.clone(),
                    retry_at,
                }));
            }
            Ok(())
        }
        Err(BatchFailure::Library(detail)) => {
            // Back in the queue, quota given back: the next pass tries them again.
            let _ = cx
                .db(move |lib| {
                    lib.store_mut().transaction(|tx| -> rusqlite::Result<()> {
                        for (item, reservation) in items.iter().zip(&reservations) {
                            journal::set_state(
                                tx,
                                *item,
                                ItemState::Discovered,
                                now().unix_timestamp(),
                            )?;
                            quota::release(tx, *reservation)?;
                        }
                        if was_pinned {
                            let at = now().unix_timestamp();
                            for (sha256, _) in &pins {
                                blob_table::unpin(tx, sha256, at)?;
                            }
                        }
                        Ok(())
                    })?;
                    Ok(())
                })
                .await;
            for (_, reply) in waiting {
                let _ = reply.send(Err(CommitFailure::Library(detail.clone())));
            }
            Err(PassError::Internal(detail))
        }
    }
}

/// Why a batch could not be committed.
enum BatchFailure {
    /// Making the blobs durable failed: our disk.
    BlobStore(std::io::Error),
    /// The library failed.
    Library(String),
}

/// Why a download attempt did not produce a blob.
enum AttemptFailure {
    Changed,
    Missing,
    /// Reading a synced folder on this server failed (a local I/O error).
    LocalRead(std::io::Error),
    Other(TransferError),
}
use AttemptFailure::{Changed, LocalRead, Missing, Other};

fn unsupported_by_content(name: &str, by_name: &Detection, content: &Detection) -> Refusal {
    let category = match &content.verdict {
        formats::Verdict::Unsupported { category } => category.as_str(),
        formats::Verdict::Supported(_) => "",
    };
    let noun = |kind: formats::FileKind| match kind {
        formats::FileKind::Image => "image",
        formats::FileKind::Video => "video",
        formats::FileKind::Audio => "audio file",
        formats::FileKind::Document => "document",
        formats::FileKind::Design => "design file",
    };
    let detail = match by_name.kind() {
        Some(kind) if category == formats::CATEGORY_MISMATCH => {
            format!(
                "{name:?} contains plain text, not the {} its name suggests; Smartimage does not accept it.",
                noun(kind)
            )
        }
        Some(kind) if category == formats::CATEGORY_EMPTY => format!(
            "{name:?} is empty, not the {} its name suggests; Smartimage does not accept empty files.",
            noun(kind)
        ),
        Some(kind) => format!(
            "{name:?} contains {} ({category}), not the {} its name suggests; Smartimage does not accept it.",
            formats::format_in_sentence(&content.format),
            noun(kind)
        ),
        None => format!(
            "{name:?} is {} ({category}); Smartimage does not accept this format.",
            formats::format_in_sentence(&content.format)
        ),
    };
    Refusal {
        kind: ErrorKind::UnsupportedFormat,
        detail,
        format: Some(content.format.clone()),
    }
}

async fn fail(
    cx: &PassContext,
    item: ItemRef,
    reservation: Option<ReservationId>,
    refusal: Refusal,
) -> Result<ItemOutcome, PassError> {
    let (id, kind, detail, format) = (
        item.item,
        refusal.kind,
        refusal.detail.clone(),
        refusal.format.clone(),
    );
    cx.db(move |lib| {
        lib.store_mut().transaction(|tx| -> rusqlite::Result<()> {
            if let Some(r) = reservation {
                quota::release(tx, r)?;
            }
            journal::mark_failed(
                tx,
                id,
                kind.as_str(),
                &detail,
                format.as_deref(),
                now().unix_timestamp(),
            )
        })?;
        Ok(())
    })
    .await?;
    cx.emit(EngineEvent::Failed {
        item,
        kind: refusal.kind,
        detail: refusal.detail,
    });
    Ok(ItemOutcome::Failed)
}

/// The first `limit` bytes of `content` (fewer if it is shorter).
fn read_head(content: &mut dyn ReadSeek, limit: usize) -> std::io::Result<Vec<u8>> {
    use std::io::{Read, SeekFrom};
    content.seek(SeekFrom::Start(0))?;
    let mut head = Vec::with_capacity(limit);
    content.take(limit as u64).read_to_end(&mut head)?;
    Ok(head)
}

/// The item is one of our reports, renamed (found by its signature): it leaves the journal and
/// is remembered by its Dropbox id, in one transaction; the file stays in Dropbox untouched.
async fn our_report(
    cx: &PassContext,
    item: ItemRef,
    journaled: &ImportItem,
    reservation: Option<ReservationId>,
) -> Result<ItemOutcome, PassError> {
    let (id, link, path, dropbox_id) = (
        journaled.id,
        journaled.link,
        journaled.path.clone(),
        journaled.dropbox_id.clone(),
    );
    cx.db(move |lib| {
        lib.store_mut().transaction(|tx| -> rusqlite::Result<()> {
            if let Some(r) = reservation {
                quota::release(tx, r)?;
            }
            journal::forget_our_report(tx, id)?;
            links::record_found_report(tx, link, &path, &dropbox_id, now().unix_timestamp())
        })?;
        Ok(())
    })
    .await?;
    cx.emit(EngineEvent::OurReportLeft { item });
    Ok(ItemOutcome::OurReport)
}

/// A try that failed for a reason that may pass.
struct FailedTry {
    fault: Fault,
    /// For the admin (and, once a transient failure is persistent, for the customer).
    detail: String,
    format: Option<String>,
}

/// What a failed try means for its file.
enum TryOutcome {
    /// Tried again from this time (unix seconds).
    RetryAt(i64),
    /// A transient failure that persisted: failed, with this detail for the customer.
    Failed { detail: String },
}

/// In `tx`: journal a failed try of `item` — `retrying` with its next time, or, for a
/// transient failure still there after `transient_attempts` tries over the minimum spread,
/// `failed` (then, and only then, the customer's report lists it).
fn record_failed_try(
    tx: &rusqlite::Connection,
    policy: &RetryPolicy,
    item: ItemId,
    failed: &FailedTry,
    at: i64,
) -> rusqlite::Result<TryOutcome> {
    let Some(current) = journal::item(tx, item)? else {
        return Ok(TryOutcome::RetryAt(at));
    };
    let format = failed.format.as_deref();
    match failed.fault {
        Fault::Server => {
            let retry_at = policy.after_server_fault(current.server_faults + 1, at);
            journal::mark_retrying(
                tx,
                item,
                Fault::Server,
                ErrorKind::ServerError.as_str(),
                &failed.detail,
                format,
                retry_at,
                at,
            )?;
            Ok(TryOutcome::RetryAt(retry_at))
        }
        Fault::Transient => {
            let tries = current.transient_tries + 1;
            let first = current.first_transient_at.unwrap_or(at);
            match policy.after_transient(tries, first, at) {
                TransientVerdict::RetryAt(retry_at) => {
                    journal::mark_retrying(
                        tx,
                        item,
                        Fault::Transient,
                        ErrorKind::Unknown.as_str(),
                        &failed.detail,
                        format,
                        retry_at,
                        at,
                    )?;
                    Ok(TryOutcome::RetryAt(retry_at))
                }
                TransientVerdict::Persistent => {
                    let minutes = (at - first) / 60;
                    let detail = format!(
                        "{} (still failing after {tries} tries over {minutes} minute(s))",
                        failed.detail.trim_end_matches('.')
                    );
                    journal::mark_failed(
                        tx,
                        item,
                        ErrorKind::Unknown.as_str(),
                        &detail,
                        format,
                        at,
                    )?;
                    Ok(TryOutcome::Failed { detail })
                }
            }
        }
    }
}

/// A try failed for a reason that may pass: its quota goes back and the file is journaled for
/// a later try — or, once a transient failure has persisted, failed and reported.
async fn retry_later(
    cx: &PassContext,
    item: ItemRef,
    reservation: Option<ReservationId>,
    failed: FailedTry,
) -> Result<ItemOutcome, PassError> {
    let (id, policy) = (item.item, cx.retry);
    let kind = match failed.fault {
        Fault::Server => ErrorKind::ServerError,
        Fault::Transient => ErrorKind::Unknown,
    };
    let retrying_detail = failed.detail.clone();
    let outcome = cx
        .db(move |lib| {
            let at = now().unix_timestamp();
            lib.store_mut()
                .transaction(|tx| -> Result<TryOutcome, LibraryError> {
                    if let Some(r) = reservation {
                        quota::release(tx, r)?;
                    }
                    Ok(record_failed_try(tx, &policy, id, &failed, at)?)
                })
        })
        .await?;
    match outcome {
        TryOutcome::RetryAt(next_attempt_at) => {
            cx.emit(EngineEvent::Retrying {
                item,
                kind,
                detail: retrying_detail,
                next_attempt_at,
            });
            Ok(ItemOutcome::Retrying)
        }
        TryOutcome::Failed { detail } => {
            cx.emit(EngineEvent::Failed {
                item,
                kind: ErrorKind::Unknown,
                detail,
            });
            Ok(ItemOutcome::Failed)
        }
    }
}

/// Our server could not take the file (disk full, permissions, a read-only blob store): the
/// admin's log says so — without the server's paths — and the file waits for a later try.
async fn server_fault(
    cx: &PassContext,
    item: ItemRef,
    reservation: Option<ReservationId>,
    by_name: &Detection,
    part: ServerPart,
    error: std::io::Error,
) -> Result<ItemOutcome, PassError> {
    tracing::warn!(item = item.item.get(), path = %item.path, ?part, %error, "server error while importing; retried later");
    let failed = FailedTry {
        fault: Fault::Server,
        detail: TransferError::server_detail(part, &error),
        format: Some(by_name.format.clone()),
    };
    retry_later(cx, item, reservation, failed).await
}

async fn keep_changed(
    cx: &PassContext,
    item: ItemId,
    reservation: ReservationId,
) -> Result<ItemOutcome, PassError> {
    cx.db(move |lib| {
        lib.release(reservation)?;
        lib.store_mut().transaction(|tx| {
            journal::set_state(tx, item, ItemState::Superseded, now().unix_timestamp())
        })?;
        Ok(())
    })
    .await?;
    cx.emit(EngineEvent::KeptChanged { item });
    Ok(ItemOutcome::KeptChanged)
}

async fn gone(
    cx: &PassContext,
    item: ItemId,
    reservation: ReservationId,
) -> Result<ItemOutcome, PassError> {
    cx.db(move |lib| {
        lib.release(reservation)?;
        lib.store_mut().transaction(|tx| {
            journal::set_state(tx, item, ItemState::Gone, now().unix_timestamp())
        })?;
        Ok(())
    })
    .await?;
    Ok(ItemOutcome::Gone)
}

/// Delete from Dropbox exactly the revisions that are committed, in batches. A file that changed
/// since stays; a failed call leaves items committed for the next pass.
/// Which committed items a delete round takes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum DeleteScope {
    /// Only full `delete_batch` calls (during the pass: a partial one waits for more).
    WholeBatches,
    All,
}

async fn delete_committed<B: DropboxBackend>(
    cx: &PassContext,
    link: &LinkRecord,
    backend: &B,
    scope: DeleteScope,
) -> Result<(u64, u64, u64), PassError> {
    let link_id = link.id;
    let committed = cx
        .db(move |lib| {
            Ok(journal::items_in_state(
                lib.store().connection(),
                link_id,
                ItemState::Committed,
            )?)
        })
        .await?;
    let (mut deleted, mut kept, mut batches) = (0, 0, 0);
    for chunk in committed.chunks(DELETE_BATCH_SIZE) {
        if scope == DeleteScope::WholeBatches && chunk.len() < DELETE_BATCH_SIZE {
            break;
        }
        batches += 1;
        let entries = chunk
            .iter()
            .map(|i| DeleteArg {
                path: i.path.clone(),
                parent_rev: Some(i.rev.clone()),
            })
            .collect();
        let results = match backend.delete_batch(entries).await {
            Ok(results) => results,
            Err(e) => {
                tracing::warn!(link = link.id.get(), error = %e, "delete batch failed; will retry next pass");
                cx.emit(EngineEvent::LinkError {
                    link: link.id,
                    account: link.account_name.clone(),
                    detail: e.to_string(),
                });
                break;
            }
        };
        let mut updates = Vec::new();
        // Folders this batch deleted a file from (not those a file had already left).
        let mut emptied_from = std::collections::BTreeSet::new();
        for (item, result) in chunk.iter().zip(results) {
            if result.is_ok()
                && let Some((folder, _)) = item.path.rsplit_once('/')
            {
                emptied_from.insert(folder.to_owned());
            }
            match result {
                Ok(_) | Err(BackendError::NotFound { .. }) => {
                    updates.push((item.id, ItemState::Deleted));
                    deleted += 1;
                    cx.emit(EngineEvent::Deleted { item: item.id });
                }
                Err(BackendError::Conflict { .. }) => {
                    updates.push((item.id, ItemState::Superseded));
                    kept += 1;
                    cx.emit(EngineEvent::KeptChanged { item: item.id });
                }
                Err(e) => {
                    tracing::info!(item = item.id.get(), error = %e, "not deleted yet; retried next pass")
                }
            }
        }
        cx.db(move |lib| {
            let at = now().unix_timestamp();
            lib.store_mut()
                .transaction(|tx| -> Result<(), LibraryError> {
                    for (id, state) in &updates {
                        journal::set_state(tx, *id, *state, at)?;
                    }
                    Ok(())
                })
        })
        .await?;
        if cx.remove_emptied_folders && !emptied_from.is_empty() {
            remove_emptied_folders(link, backend, emptied_from.into_iter().collect()).await;
        }
    }
    Ok((deleted, kept, batches))
}

/// Removes the folders the deletes emptied (only where the backend can do it without risking
/// anything that arrived meanwhile: see `DropboxBackend::remove_emptied_folders`). Failing
/// costs nothing but a folder left behind, so it never stops the pass.
async fn remove_emptied_folders<B: DropboxBackend>(
    link: &LinkRecord,
    backend: &B,
    folders: Vec<String>,
) {
    match backend
        .remove_emptied_folders(&link.folder_path, folders)
        .await
    {
        Ok(0) => {}
        Ok(removed) => tracing::debug!(link = link.id.get(), removed, "removed emptied folders"),
        Err(e) => {
            tracing::warn!(link = link.id.get(), error = %e, "emptied folders were left in Dropbox")
        }
    }
}

#[cfg(test)]
mod tests;
