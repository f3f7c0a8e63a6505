//! Sending files from this machine into Dropbox, and sharing what was sent: the second
//! interface a backend may offer besides [`DropboxBackend`](crate::dropbox::backend::DropboxBackend).
//! The API client uploads (`files/upload` up to a threshold, upload sessions above it, and
//! `finish_batch_v2` for many files); the synced folder copies atomically. Either way a clash
//! is renamed (`name (1).ext`), never overwritten, and identical content already at the target
//! is left as it is, as Dropbox's `add` mode does. A file sent with a sha256
//! has the bytes actually read checked against it before anything is committed: a damaged
//! copy is refused ([`BackendError::DamagedSource`]), never sent.

use std::future::Future;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::dropbox::backend::{BackendError, BackendResult};
use crate::dropbox::content_hash::ContentHasher;
use crate::dropbox::wire::{FileMetadata, UPLOAD_MAX_BYTES};

/// Bytes per upload-session call: big enough for throughput, small enough to keep memory flat
/// (one chunk per file in flight). A multiple of the 4 MiB content-hash block.
pub const DEFAULT_CHUNK_BYTES: u64 = 8 * 1024 * 1024;
/// Files sent at once when many go in one batch.
pub const DEFAULT_PARALLEL_SENDS: usize = 4;
/// Read buffer when hashing or copying a local file.
const READ_BUFFER: usize = 1024 * 1024;

/// One file to send: its bytes on this machine and where it goes (an app-folder path).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingFile {
    pub source: PathBuf,
    pub size: u64,
    /// What the bytes read from `source` must hash to (lowercase hex), when the caller knows:
    /// a library blob's name. Checked before the file is committed in Dropbox.
    pub sha256: Option<String>,
    pub destination: String,
}

/// How a file got there, for progress lines and for tests that must know a session was used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SentVia {
    /// One `files/upload` call.
    Upload,
    /// An upload session of `calls` data calls, finished on its own.
    Session { calls: u32 },
    /// An upload session committed with others by `finish_batch_v2`.
    Batch { calls: u32 },
    /// Copied into a synced folder.
    LocalCopy,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentFile {
    pub metadata: FileMetadata,
    pub via: SentVia,
}

/// Knobs of sending; the defaults follow Dropbox's limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendSettings {
    /// A single file up to this size goes in one `files/upload`; above it, an upload session.
    /// At most [`UPLOAD_MAX_BYTES`].
    pub session_threshold: u64,
    pub chunk_bytes: u64,
    pub parallel: usize,
}

impl Default for SendSettings {
    fn default() -> Self {
        SendSettings {
            session_threshold: UPLOAD_MAX_BYTES,
            chunk_bytes: DEFAULT_CHUNK_BYTES,
            parallel: DEFAULT_PARALLEL_SENDS,
        }
    }
}

impl SendSettings {
    /// The settings with every knob inside what Dropbox accepts.
    pub fn clamped(&self) -> SendSettings {
        SendSettings {
            session_threshold: self.session_threshold.min(UPLOAD_MAX_BYTES),
            chunk_bytes: self.chunk_bytes.clamp(1, UPLOAD_MAX_BYTES),
            parallel: self.parallel.max(1),
        }
    }
}

/// Called with (index of the file in the request, bytes of it sent so far).
pub type SendProgress = Arc<dyn Fn(usize, u64) + Send + Sync>;

/// A shared link to something in Dropbox.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SharedLink {
    pub url: String,
    pub path_lower: Option<String>,
    pub is_folder: bool,
    /// `false` when the link already existed and was reused.
    pub created: bool,
}

pub trait DropboxSender: Send + Sync {
    /// Sends every file; one result per file, in order. An `Err` of the whole call means
    /// nothing could be tried (e.g. the link needs re-authorizing).
    fn send_files(
        &self,
        files: Vec<OutgoingFile>,
        settings: &SendSettings,
        progress: SendProgress,
    ) -> impl Future<Output = BackendResult<Vec<BackendResult<SentFile>>>> + Send;

    /// A shared link to the file or folder at `path`: the existing one if there is one.
    fn share(&self, path: &str) -> impl Future<Output = BackendResult<SharedLink>> + Send;

    /// Whether [`share`](Self::share) can work at all, asked before anything is written (a
    /// synced folder cannot make shared links).
    fn can_share(&self) -> BackendResult<()>;

    /// Removes what an earlier send, killed midway, left in the tree at `folder` (temp files
    /// of ours only, never anyone else's); how many went. Nothing to do where a send leaves
    /// nothing behind (upload sessions never finished are dropped by Dropbox).
    fn remove_leftovers(&self, folder: &str) -> impl Future<Output = BackendResult<usize>> + Send;
}

/// The Dropbox content hash, sha256 and size of a local file, read once in a streaming way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileHashes {
    pub content_hash: String,
    pub sha256: String,
    pub size: u64,
}

/// Reads `path` once, hashing it both ways (memory stays one buffer).
pub fn hashes_of_file(path: &Path) -> io::Result<FileHashes> {
    let mut file = std::fs::File::open(path)?;
    let mut content = ContentHasher::new();
    let mut sha = Sha256::new();
    let mut buffer = vec![0u8; READ_BUFFER];
    let mut size = 0u64;
    loop {
        let n = match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        content.update(&buffer[..n]);
        sha.update(&buffer[..n]);
        size += n as u64;
    }
    Ok(FileHashes {
        content_hash: content.finalize(),
        sha256: hex(&sha.finalize()),
        size,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Hashes what is read of a file being sent, to hold it against [`OutgoingFile::sha256`]
/// before the file is committed. Does nothing for a file sent without one.
pub struct SourceCheck {
    expected: Option<(String, Sha256)>,
    read: u64,
}

impl SourceCheck {
    pub fn new(file: &OutgoingFile) -> SourceCheck {
        SourceCheck {
            expected: file
                .sha256
                .as_ref()
                .map(|sha| (sha.to_ascii_lowercase(), Sha256::new())),
            read: 0,
        }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        if let Some((_, hasher)) = &mut self.expected {
            hasher.update(bytes);
        }
        self.read += bytes.len() as u64;
    }

    /// `Ok` when everything read (and nothing else) is what the file must hold.
    pub fn verify(&self, file: &OutgoingFile) -> BackendResult<()> {
        let Some((expected, hasher)) = &self.expected else {
            return Ok(());
        };
        let actual = hex(&hasher.clone().finalize());
        if actual == *expected && self.read == file.size {
            return Ok(());
        }
        Err(damaged_source(file, &actual, self.read))
    }
}

/// A file whose bytes read (`read` of them, hashing to `actual`) are not its sha256.
pub fn damaged_source(file: &OutgoingFile, actual: &str, read: u64) -> BackendError {
    BackendError::DamagedSource {
        path: file.source.clone(),
        detail: format!(
            "its {read} bytes hash to sha256 {actual}, not {} ({} bytes)",
            file.sha256.as_deref().unwrap_or("-"),
            file.size
        ),
    }
}

/// A file that ended before (or ran past) its size while being read: damaged when its bytes
/// were vouched for (a blob never changes), else changed meanwhile and worth another try.
pub fn short_or_changed(file: &OutgoingFile, read: u64) -> BackendError {
    match &file.sha256 {
        Some(_) => BackendError::DamagedSource {
            path: file.source.clone(),
            detail: format!("{read} bytes were read, {} expected", file.size),
        },
        None => changed_while_sending(file, read),
    }
}

/// The Dropbox content hash and size of a local file, read in a streaming way.
pub fn content_hash_of_file(path: &Path) -> io::Result<(String, u64)> {
    hashes_of_file(path).map(|hashes| (hashes.content_hash, hashes.size))
}

/// Dropbox must report back the bytes we sent: same size, same content hash.
pub fn check_sent(
    file: &OutgoingFile,
    sent_hash: &str,
    metadata: &FileMetadata,
) -> BackendResult<()> {
    let hash_matches = metadata
        .content_hash
        .as_deref()
        .is_none_or(|got| got == sent_hash);
    if metadata.size == file.size && hash_matches {
        return Ok(());
    }
    Err(BackendError::Refused {
        status: 0,
        summary: format!(
            "Dropbox stored {} ({} bytes, content hash {}) but {} bytes with content hash {sent_hash} were sent from {}",
            metadata
                .path_display
                .as_deref()
                .unwrap_or(&file.destination),
            metadata.size,
            metadata.content_hash.as_deref().unwrap_or("-"),
            file.size,
            file.source.display()
        ),
    })
}

/// The error for a file whose bytes changed on this machine while being sent.
pub fn changed_while_sending(file: &OutgoingFile, read: u64) -> BackendError {
    BackendError::Transient {
        detail: format!(
            "{} changed while being sent ({read} bytes read, {} expected)",
            file.source.display(),
            file.size
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dropbox::content_hash::content_hash;

    #[test]
    fn file_hash_matches_the_in_memory_hash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.bin");
        let bytes: Vec<u8> = (0..(5 * 1024 * 1024 + 17))
            .map(|i| (i % 251) as u8)
            .collect();
        std::fs::write(&path, &bytes).unwrap();
        let (hash, size) = content_hash_of_file(&path).unwrap();
        assert_eq!(hash, content_hash(&bytes));
        assert_eq!(size, bytes.len() as u64);
    }

    #[test]
    fn settings_stay_inside_dropbox_limits() {
        let wild = SendSettings {
            session_threshold: u64::MAX,
            chunk_bytes: 0,
            parallel: 0,
        };
        let clamped = wild.clamped();
        assert_eq!(clamped.session_threshold, UPLOAD_MAX_BYTES);
        assert_eq!(clamped.chunk_bytes, 1);
        assert_eq!(clamped.parallel, 1);
    }
}
