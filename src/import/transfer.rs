//! Moving one file's bytes from Dropbox into the blob store: streamed (memory stays flat on
//! huge files), verified by the backend's `VerifiedBody`, hashed with sha256 by the blob
//! writer. The result is a pending blob: made durable and visible later, with its batch.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;
use tokio_util::io::SyncIoBridge;

use crate::dropbox::backend::{BackendError, Download};
use crate::dropbox::wire::FileMetadata;
use crate::import::events::EngineEvent;
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
    /// Worth another attempt: a reset, a short or corrupt body, a file changing while read.
    Retryable(String),
    /// Not worth retrying (disk full, blob store unusable).
    Fatal(String),
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
    events: UnboundedSender<EngineEvent>,
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
        tokio::task::spawn_blocking(move || -> io::Result<(PendingBlob, io::Result<T>)> {
            let mut reader = SyncIoBridge::new(body);
            let mut writer = blobs.writer_for_size(total)?;
            let mut buffer = vec![0u8; copy_buffer_len(total)];
            let mut copied: u64 = 0;
            let mut chunks = 0;
            let mut last_progress = Instant::now();
            loop {
                let n = match reader.read(&mut buffer) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                writer.write_all(&buffer[..n])?;
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
            let blob = writer.finish_unsynced()?;
            // A file that came in one read is still whole in the buffer: inspect it there
            // rather than open and read it again (most files of a batch of photos are small).
            let inspected = match usize::try_from(copied) {
                Ok(len) if chunks <= 1 => inspect(&mut io::Cursor::new(&buffer[..len])),
                _ => std::fs::File::open(blob.temp_path()).and_then(|mut file| inspect(&mut file)),
            };
            Ok((blob, inspected))
        })
        .await
        .map_err(|e| TransferError::Fatal(format!("download task failed: {e}")))?;
    match outcome {
        Ok((blob, inspected)) => Ok((blob, metadata, inspected)),
        // The verifier reports a short, long, corrupt or changing body as InvalidData.
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof
            ) =>
        {
            Err(TransferError::Retryable(e.to_string()))
        }
        Err(e) if is_network(&e) => Err(TransferError::Retryable(e.to_string())),
        Err(e) => Err(TransferError::Fatal(format!(
            "cannot store the download: {e}"
        ))),
    }
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
