//! Moving one file's bytes from Dropbox into the blob store: streamed (memory stays flat on
//! huge files), verified by the backend's `VerifiedBody`, hashed with sha256 by the blob
//! writer. The result is a pending blob: made durable and visible later, with its batch.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use tokio_util::io::SyncIoBridge;

use crate::dropbox::backend::{BackendError, Download};
use crate::dropbox::wire::FileMetadata;
use crate::import::events::{EngineEvent, EventSink};
use crate::library::blobs::{BlobStore, PendingBlob};
use crate::library::store::import_items::ItemId;

/// Copy buffer: large enough for throughput, small enough to keep memory flat.
const COPY_BUFFER: usize = 1024 * 1024;
/// A small file gets a buffer its own size (plus room to see the end in the same read):
/// zeroing a 1 MiB buffer for every 30 KiB file cost more than copying the file.
const MIN_COPY_BUFFER: usize = 16 * 1024;
/// Progress events per file at most this often (the console samples them).
const PROGRESS_EVERY: Duration = Duration::from_millis(200);

#[derive(Debug)]
pub enum TransferError {
    /// Dropbox's side, worth another attempt at once: a reset, a short or corrupt body, a file
    /// changing while read.
    Retryable(String),
    /// Dropbox's side, not worth an attempt at once (it may pass later).
    Fatal(String),
    /// Our own server's side: the blob store could not take the bytes (disk full, permissions,
    /// read-only). Never the customer's fault, never told to them; the error keeps its kind
    /// (and, for the admins' log, the temp path).
    Server(io::Error),
}

/// The part of our own server that failed a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerPart {
    /// The library's blob store (the data disk).
    BlobStore,
    /// The folder the Dropbox desktop client syncs on this server (a `--local-folder` link).
    SyncedFolder,
}

impl TransferError {
    /// For the admin's error log: what went wrong on the server, without the server's paths.
    pub fn server_detail(part: ServerPart, error: &io::Error) -> String {
        let what = match error.kind() {
            io::ErrorKind::StorageFull => "the data disk is full".to_owned(),
            io::ErrorKind::QuotaExceeded => "the data disk's quota is used up".to_owned(),
            io::ErrorKind::FileTooLarge => "a file size limit of the server was reached".to_owned(),
            io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
            io::ErrorKind::ReadOnlyFilesystem => "the blob store is read-only".to_owned(),
            other => other.to_string(),
        };
        let (failed, fix) = match part {
            ServerPart::BlobStore => (
                "the library's blob store could not take the file",
                "the data disk (free space, permissions)",
            ),
            ServerPart::SyncedFolder => (
                "the synced Dropbox folder on this server could not be read",
                "the synced folder's permissions or disk",
            ),
        };
        format!(
            "Server error: {failed} ({what}). It waits in Dropbox and is tried again \
             automatically; fix {fix}."
        )
    }
}

impl From<BackendError> for TransferError {
    fn from(e: BackendError) -> Self {
        if e.is_retryable() {
            TransferError::Retryable(e.to_string())
        } else {
            TransferError::Fatal(e.to_string())
        }
    }
}

/// What the inspection of a downloaded file reads from: the bytes in memory, or its temp file.
pub trait ReadSeek: io::Read + io::Seek {}
impl<R: io::Read + io::Seek> ReadSeek for R {}

/// Stream `download` into a new blob. Runs the blocking copy off the async workers.
///
/// `held` (a download slot) is dropped as soon as the whole body has arrived and passed the
/// backend's checks: making the blob durable (with its batch) needs the disk, not the
/// connection, so the next download need not wait for it.
///
/// `inspect` then reads the finished file on the same blocking thread (the importer sniffs
/// the format there): one thread hop per file instead of two. It reads the bytes still in
/// memory when the file came in one read, its temp file otherwise. Its own result is handed back
/// as is, apart from transfer errors.
pub async fn download_to_blob<H, T, F>(
    download: Download,
    blobs: BlobStore,
    item: ItemId,
    events: EventSink,
    held: H,
    inspect: F,
) -> Result<(PendingBlob, FileMetadata, io::Result<T>), TransferError>
where
    H: Send + 'static,
    T: Send + 'static,
    F: FnOnce(&mut dyn ReadSeek) -> io::Result<T> + Send + 'static,
{
    let metadata = download.metadata;
    let total = metadata.size;
    let body = download.body;
    let outcome =
        tokio::task::spawn_blocking(move || -> Result<(PendingBlob, io::Result<T>), Side> {
            let mut reader = SyncIoBridge::new(body);
            let mut writer = blobs.writer_for_size(total).map_err(Side::Server)?;
            let mut buffer = vec![0u8; copy_buffer_len(total)];
            let mut copied: u64 = 0;
            let mut chunks = 0;
            let mut last_progress = Instant::now();
            loop {
                let n = match reader.read(&mut buffer) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(Side::Dropbox(e)),
                };
                writer.write_all(&buffer[..n]).map_err(Side::Server)?;
                copied += n as u64;
                chunks += 1;
                if last_progress.elapsed() >= PROGRESS_EVERY {
                    last_progress = Instant::now();
                    let _ = events.send(EngineEvent::Progress {
                        item,
                        bytes: copied,
                        total,
                    });
                }
            }
            // Every byte is in and verified (the verifier fails the last read otherwise): the slot
            // goes back; the blob becomes durable later, with its batch (`BlobStore::commit_batch`).
            drop(held);
            let blob = writer.finish_unsynced().map_err(Side::Server)?;
            // A file that came in one read is still whole in the buffer: inspect it there
            // rather than open and read it again (most files of a batch of photos are small).
            let inspected = match usize::try_from(copied) {
                Ok(len) if chunks <= 1 => inspect(&mut io::Cursor::new(&buffer[..len])),
                _ => std::fs::File::open(blob.temp_path()).and_then(|mut file| inspect(&mut file)),
            };
            Ok((blob, inspected))
        })
        .await
        .map_err(|e| {
            TransferError::Server(io::Error::other(format!("download task failed: {e}")))
        })?;
    match outcome {
        Ok((blob, inspected)) => Ok((blob, metadata, inspected)),
        Err(Side::Server(e)) => Err(TransferError::Server(e)),
        // The verifier reports a short, long, corrupt or changing body as InvalidData.
        Err(Side::Dropbox(e))
            if matches!(
                e.kind(),
                io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof
            ) =>
        {
            Err(TransferError::Retryable(e.to_string()))
        }
        Err(Side::Dropbox(e)) if is_network(&e) => Err(TransferError::Retryable(e.to_string())),
        Err(Side::Dropbox(e)) => Err(TransferError::Fatal(format!(
            "the download from Dropbox failed: {e}"
        ))),
    }
}

/// Which end of the copy failed: reading what Dropbox sends, or writing our blob store.
enum Side {
    Dropbox(io::Error),
    Server(io::Error),
}

fn copy_buffer_len(expected_size: u64) -> usize {
    usize::try_from(expected_size)
        .unwrap_or(usize::MAX)
        .saturating_add(1)
        .clamp(MIN_COPY_BUFFER, COPY_BUFFER)
}

fn is_network(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::TimedOut
            | io::ErrorKind::Other
    )
}
