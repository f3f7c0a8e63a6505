//! Where All Files reads and writes: threads of their own, each with its own library
//! connection, so the UI task never waits on the disk. Window reads and counts are coalesced —
//! only the newest one pending is served (typing "hero" fast reads once, not four times).

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};

use rusqlite::InterruptHandle;

use crate::library::browse::FileOrder;
use crate::library::ids::FileId;
use crate::library::organise::FileFilter;
use crate::library::permissions::Actor;
use crate::library::policy::PlanCatalog;
use crate::library::store::StoreError;
use crate::library::store::file_pages::{Cursor, PageStart};
use crate::library::store::name_index::NameHits;
use crate::library::{Library, LibraryError};

use super::names::{self, NameSlot};
use super::preview::{self, PreviewReply};
use super::{Anchor, CountPurpose, FilesReply, FilesRequest, RestoreSelection, TrashJob};
use crate::tui::dialogs::collections::EditData;

/// Who reads: the library, and the admin the console acts as.
#[derive(Clone, Debug)]
pub struct WorkerOptions {
    pub data_dir: PathBuf,
    pub plans: PlanCatalog,
    pub as_admin: Option<String>,
    pub os_user: Option<String>,
}

impl WorkerOptions {
    pub(super) fn open(&self) -> Result<Library, String> {
        Library::open_existing(&self.data_dir, self.plans.clone()).map_err(|e| e.to_string())
    }

    fn actor(&self, library: &Library) -> Result<Actor, String> {
        library
            .actor(self.as_admin.as_deref(), self.os_user.as_deref())
            .map_err(|e| e.to_string())
    }
}

/// SQLite page cache of the lanes that only read (windows, counts), of the one that writes
/// (edits, batch adds: a million-row insert wants room) and of the preview lane.
pub const READ_CACHE_KIB: i64 = 8 * 1024;
pub const WRITE_CACHE_KIB: i64 = 32 * 1024;
const PREVIEW_CACHE_KIB: i64 = 1024;

/// Stops the statement running on a lane's connection (set once the lane's library is open).
type Interrupt = Arc<Mutex<Option<InterruptHandle>>>;

/// Sends requests to the worker threads; they end when this is dropped. Window reads and counts
/// have threads (and connections) of their own, so a newer one can cancel a stale one that is
/// still running — those connections never write, so a cancel can never undo a change.
pub struct FilesWorker {
    windows: Sender<FilesRequest>,
    windows_interrupt: Interrupt,
    counts: Sender<FilesRequest>,
    counts_interrupt: Interrupt,
    pages: Sender<FilesRequest>,
    previews: Sender<FilesRequest>,
}

impl FilesWorker {
    pub fn spawn(
        options: WorkerOptions,
        reply: impl Fn(FilesReply) + Send + Sync + 'static,
    ) -> std::io::Result<FilesWorker> {
        let reply: Arc<dyn Fn(FilesReply) + Send + Sync> = Arc::new(reply);
        let slot = Arc::new(NameSlot::default());
        // The name index is built once the first window has been served (not to slow the
        // first frame), and kept up until the windows lane — holding `wake` — ends.
        let (wake, woken) = mpsc::channel();
        {
            let (options, slot) = (options.clone(), slot.clone());
            std::thread::Builder::new()
                .name("files-names".into())
                .spawn(move || names::build_and_refresh(options, slot, woken))?;
        }
        let start = |name: &str,
                     cache_kib: i64,
                     interrupt: Interrupt,
                     wake: Option<Sender<()>>|
         -> std::io::Result<Sender<FilesRequest>> {
            let (tx, rx) = mpsc::channel();
            let lane = Lane {
                options: options.clone(),
                reply: reply.clone(),
                cache_kib,
                interrupt,
                names: slot.clone(),
                wake,
            };
            std::thread::Builder::new()
                .name(name.into())
                .spawn(move || run(lane, rx))?;
            Ok(tx)
        };
        let windows_interrupt = Interrupt::default();
        let counts_interrupt = Interrupt::default();
        Ok(FilesWorker {
            windows: start(
                "files-windows",
                READ_CACHE_KIB,
                windows_interrupt.clone(),
                Some(wake),
            )?,
            windows_interrupt,
            counts: start(
                "files-counts",
                READ_CACHE_KIB,
                counts_interrupt.clone(),
                None,
            )?,
            counts_interrupt,
            pages: start("files-pages", WRITE_CACHE_KIB, Interrupt::default(), None)?,
            previews: start(
                "files-previews",
                PREVIEW_CACHE_KIB,
                Interrupt::default(),
                None,
            )?,
        })
    }

    pub fn send(&self, request: FilesRequest) {
        let (lane, cancel) = match request {
            FilesRequest::Window { .. } => (&self.windows, Some(&self.windows_interrupt)),
            FilesRequest::Count {
                purpose: CountPurpose::Matching,
                ..
            } => (&self.counts, Some(&self.counts_interrupt)),
            // Never on the counts lane: a matching count's cancel must not take it down too.
            FilesRequest::Count { .. } => (&self.pages, None),
            FilesRequest::Preview(_) => (&self.previews, None),
            _ => (&self.pages, None),
        };
        // Whatever that lane is reading now is stale: this request replaces it.
        if let Some(slot) = cancel
            && let Ok(handle) = slot.lock()
            && let Some(handle) = handle.as_ref()
        {
            handle.interrupt();
        }
        // The thread only stops when the library cannot be opened; it said so already.
        let _ = lane.send(request);
    }
}

/// One worker thread: what it reads with, and where its answers go.
struct Lane {
    options: WorkerOptions,
    reply: Arc<dyn Fn(FilesReply) + Send + Sync>,
    cache_kib: i64,
    interrupt: Interrupt,
    names: Arc<NameSlot>,
    /// Tells the name index's builder to start (after this lane's first answer).
    wake: Option<Sender<()>>,
}

fn run(lane: Lane, inbox: Receiver<FilesRequest>) {
    let Lane {
        options,
        reply,
        cache_kib,
        interrupt,
        names,
        wake,
    } = lane;
    let mut library = match options.open() {
        Ok(library) => {
            // Negative = KiB. The OS keeps the file's pages anyway; four full-size caches
            // would double the console's memory on a big library.
            let _ = library
                .store()
                .connection()
                .pragma_update(None, "cache_size", -cache_kib);
            if let Ok(mut slot) = interrupt.lock() {
                *slot = Some(library.store().connection().get_interrupt_handle());
            }
            library
        }
        Err(why) => {
            reply(FilesReply::Failed(format!(
                "cannot open the library: {why}"
            )));
            return;
        }
    };
    while let Ok(first) = inbox.recv() {
        let mut batch = vec![first];
        batch.extend(inbox.try_iter());
        for request in coalesce(batch) {
            let answer = match options.actor(&library) {
                Ok(actor) => {
                    serve_among(&mut library, &actor, Some(&names), request, &mut |early| {
                        reply(early)
                    })
                }
                Err(why) => Some(FilesReply::Failed(why)),
            };
            if let Some(answer) = answer {
                reply(answer);
            }
        }
        if let Some(wake) = &wake {
            // Sent after every batch; the builder only waits for the first.
            let _ = wake.send(());
        }
    }
}

/// Drop window reads and counts that a newer one of the same kind replaces.
pub fn coalesce(batch: Vec<FilesRequest>) -> Vec<FilesRequest> {
    let last_window = batch
        .iter()
        .rposition(|r| matches!(r, FilesRequest::Window { .. }));
    let last_count = |purpose: CountPurpose| {
        batch
            .iter()
            .rposition(|r| matches!(r, FilesRequest::Count { purpose: p, .. } if *p == purpose))
    };
    let (last_matching, last_marked) = (
        last_count(CountPurpose::Matching),
        last_count(CountPurpose::Marked),
    );
    batch
        .into_iter()
        .enumerate()
        .filter(|(i, r)| match r {
            FilesRequest::Window { .. } => Some(*i) == last_window,
            FilesRequest::Count { purpose, .. } => {
                Some(*i)
                    == match purpose {
                        CountPurpose::Matching => last_matching,
                        CountPurpose::Marked => last_marked,
                    }
            }
            _ => true,
        })
        .map(|(_, r)| r)
        .collect()
}

/// Answer one request (blocking). Everything goes through the permission-checked library.
/// `early` gets a first answer that is ready before the whole one (see
/// [`FilesReply::NoSubstringMatch`]).
pub fn serve(
    library: &mut Library,
    actor: &Actor,
    request: FilesRequest,
    early: &mut dyn FnMut(FilesReply),
) -> Option<FilesReply> {
    serve_among(library, actor, None, request, early)
}

/// [`serve`], with the name index (when it is built) for one- and two-letter names.
pub fn serve_among(
    library: &mut Library,
    actor: &Actor,
    names: Option<&NameSlot>,
    request: FilesRequest,
    early: &mut dyn FnMut(FilesReply),
) -> Option<FilesReply> {
    let outcome = match request {
        FilesRequest::Window {
            seq,
            filter,
            order,
            anchor,
            before,
            after,
        } => match window(
            library,
            actor,
            names,
            Read {
                seq,
                filter: &filter,
                order,
                anchor: &anchor,
                before,
                after,
            },
            early,
        ) {
            Err(e) if cancelled(&e) => return None,
            other => other.map_err(|e| e.to_string()),
        },
        FilesRequest::Count {
            seq,
            filter,
            exclude,
            purpose,
        } => match library.count_matching_among(
            actor,
            &filter,
            &exclude,
            names::hits_for(names, &filter),
        ) {
            Err(e) if cancelled(&e) => return None,
            other => other
                .map(|count| FilesReply::Count {
                    seq,
                    count,
                    purpose,
                })
                .map_err(|e| e.to_string()),
        },
        FilesRequest::Range {
            filter,
            order,
            from,
            to,
        } => {
            let hits = names::hits_for(names, &filter);
            range(library, actor, &filter, hits, order, from, &to)
        }
        FilesRequest::OpenEdit { file } => library
            .file_details(actor, file)
            .and_then(|details| {
                let file = details.record;
                let collections = library.collections_of(actor, file.account)?;
                let dimensions = preview::previewable(&file)
                    .then(|| library.blobs().path_of(&file.sha256))
                    .flatten()
                    .and_then(|path| preview::dimensions(&path));
                Ok(FilesReply::EditOpened(Box::new(EditData {
                    file,
                    dimensions,
                    metadata: details.metadata.map(|m| m.metadata),
                    location_shown: details.location_shown,
                    collections,
                })))
            })
            .map_err(|e| e.to_string()),
        FilesRequest::OpenBatch { account } => library
            .account(&account)
            .and_then(|a| library.collections_of(actor, a.id))
            .map(|collections| FilesReply::BatchOpened {
                account,
                collections,
            })
            .map_err(|e| e.to_string()),
        FilesRequest::Collections { account } => library
            .account(&account)
            .and_then(|a| library.collections_of(actor, a.id))
            .map(|collections| FilesReply::Collections {
                account,
                collections,
            })
            .map_err(|e| e.to_string()),
        FilesRequest::SaveEdit { file, keep, create } => library
            .file_record(actor, file)
            .and_then(|record| {
                let edit = library.set_file_collections(actor, file, &keep, &create)?;
                Ok(FilesReply::Edited {
                    file: record.name,
                    edit,
                })
            })
            .map_err(|e| e.to_string()),
        FilesRequest::BatchAdd {
            account,
            collection,
            create,
            selection,
        } => library
            .add_to_collection(actor, &account, &collection, create, &selection)
            .map(FilesReply::BatchAdded)
            .map_err(|e| e.to_string()),
        FilesRequest::TrashPreview(job) => {
            return Some(match trash_job(library, actor, &job, true) {
                Ok(outcome) => FilesReply::TrashPreviewed { job, outcome },
                Err(why) => FilesReply::TrashRefused {
                    verb: job.verb(),
                    why,
                },
            });
        }
        FilesRequest::Trash(job) => {
            return Some(match trash_job(library, actor, &job, false) {
                Ok(outcome) => FilesReply::Trashed { job, outcome },
                Err(why) => FilesReply::TrashRefused {
                    verb: job.verb(),
                    why,
                },
            });
        }
        FilesRequest::Batches(asked) => {
            let found = asked
                .iter()
                .filter_map(|id| {
                    let file = library.file_record(actor, *id).ok()?;
                    Some((*id, file.batch?))
                })
                .collect();
            Ok(FilesReply::Batches { asked, found })
        }
        FilesRequest::Preview(request) => {
            let image =
                preview::decode_blob(library.blobs(), &request.sha256, request.size).map(Arc::new);
            Ok(FilesReply::Preview(PreviewReply {
                file: request.file,
                image,
            }))
        }
    };
    Some(outcome.unwrap_or_else(FilesReply::Failed))
}

/// Run (or with `dry_run`, only measure) a trash job through the library's checked, audited
/// actions — what `files delete`, `files restore` and `import undo` call.
fn trash_job(
    library: &mut Library,
    actor: &Actor,
    job: &TrashJob,
    dry_run: bool,
) -> Result<crate::library::trash::TrashOutcome, String> {
    let outcome = match job {
        TrashJob::Delete(selection) => library.trash_files(actor, selection, dry_run),
        TrashJob::Restore(RestoreSelection::Ids(ids)) => library.restore_files(actor, ids, dry_run),
        TrashJob::Restore(RestoreSelection::Matching { filter, exclude }) => {
            let scope = crate::library::organise::ListScope {
                trash: crate::library::store::files::TrashFilter::Trashed,
                ..Default::default()
            };
            library
                .list_files_in(actor, filter, scope)
                .and_then(|files| {
                    let ids: Vec<FileId> = files
                        .iter()
                        .map(|f| f.id)
                        .filter(|id| !exclude.contains(id))
                        .collect();
                    library.restore_files(actor, &ids, dry_run)
                })
        }
        TrashJob::Undo(batch) => library.undo_import(actor, *batch, dry_run),
    };
    outcome.map_err(|e| e.to_string())
}

/// A newer request cancelled this one (see [`FilesWorker::send`]): nobody waits for it.
fn cancelled(e: &LibraryError) -> bool {
    matches!(
        e,
        LibraryError::Store(StoreError::Sqlite(rusqlite::Error::SqliteFailure(f, _)))
            if f.code == rusqlite::ErrorCode::OperationInterrupted
    )
}

/// What a window read asks for.
struct Read<'a> {
    seq: u64,
    filter: &'a FileFilter,
    order: FileOrder,
    anchor: &'a Anchor,
    before: u32,
    after: u32,
}

fn window(
    library: &Library,
    actor: &Actor,
    names: Option<&NameSlot>,
    request: Read<'_>,
    early: &mut dyn FnMut(FilesReply),
) -> Result<FilesReply, LibraryError> {
    let Read {
        seq,
        filter,
        order,
        anchor,
        before,
        after,
    } = request;
    let read = |filter: &FileFilter,
                hits: Option<Arc<NameHits>>|
     -> Result<(Vec<_>, usize, bool, bool), LibraryError> {
        let page = |start: PageStart, limit: u32| {
            library.file_page_among(actor, filter, order, &start, limit, hits.clone())
        };
        Ok(match anchor {
            Anchor::First => {
                let rows = page(PageStart::First, after)?;
                let end = (rows.len() as u32) < after;
                (rows, 0, true, end)
            }
            Anchor::Last => {
                let rows = page(PageStart::Last, before)?;
                let start = (rows.len() as u32) < before;
                (rows, 0, start, true)
            }
            Anchor::At(cursor) => {
                let mut rows = page(PageStart::Before(cursor.clone()), before)?;
                let start = (rows.len() as u32) < before;
                let index = rows.len();
                let next = page(PageStart::At(cursor.clone()), after)?;
                let end = (next.len() as u32) < after;
                rows.extend(next);
                (rows, index, start, end)
            }
        })
    };
    let hits = names::hits_for(names, filter);
    let (mut rows, mut anchor_index, mut at_start, mut at_end) = read(filter, hits)?;
    let mut fuzzy = false;
    if rows.is_empty() && filter.name_contains.is_some() && !filter.name_fuzzy {
        // Nothing contains the text: say so at once, then show what matches it fuzzily (a walk
        // over every name, too slow to keep the keystroke waiting).
        early(FilesReply::NoSubstringMatch { seq });
        let loose = FileFilter {
            name_fuzzy: true,
            ..filter.clone()
        };
        let hits = names::hits_for(names, &loose);
        (rows, anchor_index, at_start, at_end) = read(&loose, hits)?;
        fuzzy = true;
    }
    Ok(FilesReply::Window {
        seq,
        rows,
        anchor_index,
        at_start,
        at_end,
        fuzzy,
    })
}

/// Rows needed per read while collecting a range.
const RANGE_PAGE: u32 = 4096;

fn range(
    library: &Library,
    actor: &Actor,
    filter: &FileFilter,
    hits: Option<Arc<NameHits>>,
    order: FileOrder,
    from: Cursor,
    to: &Cursor,
) -> Result<FilesReply, String> {
    let list = List {
        library,
        actor,
        filter,
        hits,
        order,
    };
    // The two ends may come in either order: walk from one; if the other never comes, it was
    // before it.
    let forward = list.walk_to(from.clone(), to)?;
    if forward.last() == Some(&to.id) {
        return Ok(FilesReply::Range(forward));
    }
    Ok(FilesReply::Range(list.walk_to(to.clone(), &from)?))
}

/// The list a range is collected from.
struct List<'a> {
    library: &'a Library,
    actor: &'a Actor,
    filter: &'a FileFilter,
    hits: Option<Arc<NameHits>>,
    order: FileOrder,
}

impl List<'_> {
    fn walk_to(&self, from: Cursor, to: &Cursor) -> Result<Vec<FileId>, String> {
        let (library, actor, filter, order) = (self.library, self.actor, self.filter, self.order);
        let mut ids = Vec::new();
        let mut start = PageStart::At(from);
        loop {
            let rows = library
                .file_page_among(actor, filter, order, &start, RANGE_PAGE, self.hits.clone())
                .map_err(|e| e.to_string())?;
            let Some(last) = rows.last() else { break };
            start = PageStart::After(Cursor::of(last, order.sort));
            for row in &rows {
                ids.push(row.id);
                if row.id == to.id {
                    return Ok(ids);
                }
            }
        }
        Ok(ids)
    }
}
