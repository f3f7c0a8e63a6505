//! Hashing beside the I/O: a stream is hashed inline while it is small, and on a helper thread
//! once it is large, so one core reads or writes while the other hashes. A single stream's
//! hash cannot be split, but it need not wait for the I/O either. Used by the blob store
//! (SHA-256) and by the download verifier (Dropbox content hash).

use std::io;
use std::sync::mpsc::{Receiver, SendError, SyncSender, sync_channel};
use std::thread::JoinHandle;

/// Past this many bytes a stream is hashed on its own thread (a thread per small file would
/// cost more than it saves).
pub const PIPELINE_AFTER_BYTES: u64 = 4 * 1024 * 1024;
/// Chunks in flight to the hashing thread (bounds the memory one stream can hold).
const PIPELINE_DEPTH: usize = 4;
/// Bytes gathered before a chunk goes to the hashing thread. Network reads arrive in pieces of
/// 8-64 KiB; handing each over on its own cost a thread wake-up per piece.
const PIPE_CHUNK_BYTES: usize = 1024 * 1024;

/// Anything that digests a byte stream.
pub trait StreamHasher: Clone + Send + 'static {
    fn feed(&mut self, bytes: &[u8]);
}

impl StreamHasher for sha2::Sha256 {
    fn feed(&mut self, bytes: &[u8]) {
        sha2::Digest::update(self, bytes);
    }
}

#[derive(Debug)]
pub enum PipelinedHasher<H: StreamHasher> {
    Inline {
        hasher: H,
        fed: u64,
    },
    Piped {
        /// Bytes not yet handed over (up to `PIPE_CHUNK_BYTES`).
        gathering: Vec<u8>,
        chunks: SyncSender<Vec<u8>>,
        /// Emptied chunks come back for reuse, so large streams do not fault in fresh pages.
        spare: Receiver<Vec<u8>>,
        worker: JoinHandle<H>,
    },
    Finished,
}

impl<H: StreamHasher> PipelinedHasher<H> {
    pub fn new(hasher: H) -> Self {
        PipelinedHasher::Inline { hasher, fed: 0 }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            PipelinedHasher::Inline { hasher, fed } => {
                hasher.feed(bytes);
                *fed += bytes.len() as u64;
                if *fed >= PIPELINE_AFTER_BYTES {
                    self.start_pipeline();
                }
            }
            PipelinedHasher::Piped {
                gathering,
                chunks,
                spare,
                ..
            } => {
                let mut bytes = bytes;
                while !bytes.is_empty() {
                    let take = bytes.len().min(PIPE_CHUNK_BYTES - gathering.len());
                    gathering.extend_from_slice(&bytes[..take]);
                    bytes = &bytes[take..];
                    if gathering.len() == PIPE_CHUNK_BYTES {
                        let mut next = spare.try_recv().unwrap_or_default();
                        next.clear();
                        next.reserve(PIPE_CHUNK_BYTES);
                        send_chunk(chunks, std::mem::replace(gathering, next));
                    }
                }
            }
            PipelinedHasher::Finished => {}
        }
    }

    fn start_pipeline(&mut self) {
        let PipelinedHasher::Inline { hasher, fed } =
            std::mem::replace(self, PipelinedHasher::Finished)
        else {
            return;
        };
        let (chunks, inbox) = sync_channel::<Vec<u8>>(PIPELINE_DEPTH);
        let (recycle, spare) = sync_channel::<Vec<u8>>(PIPELINE_DEPTH);
        let mut moved = hasher.clone();
        let spawned = std::thread::Builder::new()
            .name("stream-hash".into())
            .spawn(move || {
                for chunk in inbox {
                    moved.feed(&chunk);
                    let _ = recycle.try_send(chunk);
                }
                moved
            });
        *self = match spawned {
            Ok(worker) => PipelinedHasher::Piped {
                gathering: Vec::with_capacity(PIPE_CHUNK_BYTES),
                chunks,
                spare,
                worker,
            },
            // No thread to be had: keep hashing inline.
            Err(_) => PipelinedHasher::Inline { hasher, fed },
        };
    }

    /// The hasher with every byte fed, ready to finalize.
    pub fn finish(self) -> io::Result<H> {
        match self {
            PipelinedHasher::Inline { hasher, .. } => Ok(hasher),
            PipelinedHasher::Piped {
                gathering,
                chunks,
                worker,
                ..
            } => {
                if !gathering.is_empty() {
                    send_chunk(&chunks, gathering);
                }
                drop(chunks);
                worker
                    .join()
                    .map_err(|_| io::Error::other("the hashing thread panicked"))
            }
            PipelinedHasher::Finished => Err(io::Error::other("hash already finished")),
        }
    }
}

fn send_chunk(chunks: &SyncSender<Vec<u8>>, chunk: Vec<u8>) {
    if let Err(SendError(chunk)) = chunks.send(chunk) {
        // The worker is gone (it panicked); `finish` reports it.
        drop(chunk);
    }
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;

    #[test]
    fn inline_and_piped_streams_hash_like_one_shot() {
        for len in [
            0usize,
            10,
            PIPELINE_AFTER_BYTES as usize - 1,
            PIPELINE_AFTER_BYTES as usize * 2 + 17,
        ] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let mut hasher = PipelinedHasher::new(Sha256::new());
            // Pieces smaller and larger than the gathered chunk, ending mid-chunk.
            for (i, chunk) in data.chunks(300_001).enumerate() {
                for piece in chunk.chunks(if i % 2 == 0 {
                    8_192
                } else {
                    3 * PIPE_CHUNK_BYTES
                }) {
                    hasher.update(piece);
                }
            }
            let piped = matches!(hasher, PipelinedHasher::Piped { .. });
            assert_eq!(piped, len as u64 >= PIPELINE_AFTER_BYTES, "len {len}");
            assert_eq!(
                hasher.finish().unwrap().finalize(),
                Sha256::digest(&data),
                "len {len}"
            );
        }
    }
}
