//! File metadata on the engine's side: read for each batch the pass commits, and filled in
//! while the engine is idle for the files that have none (imported before metadata was read,
//! or whose row a crash lost), batch by batch, resumable: a file with a row is done.

use std::path::PathBuf;

use crate::import::pass::PassContext;
use crate::library::metadata::{self, Extracted};
use crate::library::model::FileId;

/// Files the idle fill-in reads per turn (one turn per engine tick while nothing downloads).
pub const FILL_BATCH: usize = 32;
/// After the fill-in found nothing to read, it looks again after this many ticks.
pub const FILL_RESCAN_TICKS: u32 = 600;

/// Read the metadata of `files` (id, blob path) off the async workers, each within its budget,
/// and record it in one transaction. Never an error: a failure is logged, and the fill-in
/// reads those files later.
pub(crate) async fn read_and_record(cx: &PassContext, files: Vec<(FileId, Option<PathBuf>)>) {
    if files.is_empty() {
        return;
    }
    let read = tokio::task::spawn_blocking(move || {
        let (ids, paths): (Vec<FileId>, Vec<Option<PathBuf>>) = files.into_iter().unzip();
        let extracted = metadata::extract_files_within(&paths, metadata::BUDGET);
        ids.into_iter()
            .zip(extracted)
            .collect::<Vec<(FileId, Extracted)>>()
    })
    .await;
    let Ok(read) = read else {
        tracing::warn!("metadata extraction panicked; the files are read again later");
        return;
    };
    if let Err(error) = cx.db(move |lib| lib.record_metadata(&read)).await {
        tracing::warn!(%error, "could not record file metadata; it is read again later");
    }
}

/// The metadata of files a pass just committed (id, blob sha256).
pub(crate) async fn read_committed(cx: &PassContext, files: Vec<(FileId, String)>) {
    if !metadata::enabled() {
        return;
    }
    let with_paths = files
        .into_iter()
        .map(|(id, sha256)| (id, cx.blobs.path_of(&sha256)))
        .collect();
    read_and_record(cx, with_paths).await;
}

/// Where the idle fill-in is: the last file id it handled, and how long it rests once done.
#[derive(Debug, Default)]
pub struct FillIn {
    after: FileId,
    resting: u32,
}

impl FillIn {
    /// One turn: the next [`FILL_BATCH`] files without metadata, read and recorded. Returns how
    /// many were read. Call only while the engine is idle.
    pub(crate) async fn turn(&mut self, cx: &PassContext) -> usize {
        if !metadata::enabled() {
            return 0;
        }
        if self.resting > 0 {
            self.resting -= 1;
            return 0;
        }
        let after = self.after;
        let batch = match cx
            .db(move |lib| lib.files_without_metadata(after, FILL_BATCH))
            .await
        {
            Ok(batch) => batch,
            Err(error) => {
                tracing::debug!(%error, "could not list files without metadata");
                return 0;
            }
        };
        let Some(last) = batch.last().map(|(id, _)| *id) else {
            // Done: from the start again later (rows a crash lost, files a pass could not read).
            self.after = FileId(0);
            self.resting = FILL_RESCAN_TICKS;
            return 0;
        };
        let n = batch.len();
        read_and_record(cx, batch).await;
        self.after = last;
        tracing::debug!(files = n, up_to = last.get(), "metadata filled in");
        n
    }
}
