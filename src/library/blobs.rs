//! Content-addressed blob store: `blobs/ab/<sha256>`, written through a temp file, fsync'd,
//! renamed into place, directory fsync'd. A crash at any instant leaves either no blob or a
//! complete, correct one; leftovers in `tmp/` (spread over `tmp/00`..`tmp/ff`, see `temp_area`)
//! are swept by [`BlobStore::remove_temp_files`].
//!
//! One fan-out level, as git's object store: 256 directories, ~4,000 blobs each at a million
//! files (ext4's hashed directories look names up in constant time at that size). The first
//! layout had two levels (`ab/cd/`), which made a fresh store create a directory for
//! almost every blob — measured as the largest system-time cost of importing 10,000 small files.
//! A store in that layout is moved over when it is opened ([`BlobStore::open`]).

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tempfile::TempPath;

use crate::pipelined_hash::PipelinedHasher;
use temp_area::TempArea;
pub use writers_lock::WritersLock;

mod identity;
mod temp_area;
mod writers_lock;
pub use identity::BlobStoreIdentity;

/// Capacity of the writer's buffer. Downloads arrive in small network chunks; batching them into
/// large writes keeps syscall overhead out of the way so a put runs at disk speed.
const WRITE_BUFFER_BYTES: usize = 1024 * 1024;
/// The smallest buffer a writer gets, however small the blob is expected to be.
const MIN_WRITE_BUFFER_BYTES: usize = 8 * 1024;
/// Read size when streaming a source file in or rehashing a stored blob. Large enough to amortise
/// syscalls, small enough that memory stays flat whatever the file size.
const STREAM_CHUNK_BYTES: usize = 1024 * 1024;
/// Every this many bytes on file, ask the kernel to start writing them to disk, so the disk works
/// while we hash and the fsync in `commit` waits only for the tail (and a 1 GB video does not
/// pile up as dirty page cache).
const WRITEBACK_CHUNK_BYTES: u64 = 4 * 1024 * 1024;
/// Length of a sha256 digest written as lowercase hex.
const SHA256_HEX_LEN: usize = 64;
/// Hex digits of the fan-out level: `ab/<hash>`, 256 directories, each holding 1/256 of the blobs.
const FAN_OUT_DIGITS: usize = 2;
/// Directory under the root that holds in-flight writes; on the same filesystem as the blobs so
/// the final rename is atomic.
const TEMP_DIR_NAME: &str = "tmp";
/// A file in the root saying the store is in the one-level layout, so opening a store does not
/// list every blob looking for the old one.
const LAYOUT_MARKER: &str = "LAYOUT";
const LAYOUT_MARKER_TEXT: &[u8] = b"one fan-out level: ab/<sha256>\n";
/// Mode of a blob file: the data dir's group may read it (the umask still applies).
const BLOB_FILE_MODE: u32 = 0o660;
/// Prefix of temp file names, so a sweep removes only what this module created.
const TEMP_FILE_PREFIX: &str = ".blob-";

/// A blob that is durably stored: its content hash (64 lowercase hex digits) and size in bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Blob {
    pub sha256: String,
    pub size: u64,
}

/// Outcome of rehashing a stored blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobCheck {
    Ok { size: u64 },
    Missing,
    Corrupt { actual_sha256: String },
}

/// What [`BlobStore::inventory`] found on disk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    pub blobs: usize,
    /// Entries in the blob tree that are not blobs of this store (wrong name or wrong place).
    /// They are never deleted: someone put them there, an admin has to decide.
    pub foreign: Vec<PathBuf>,
}

/// A directory of blobs. Cheap to clone; all state lives on disk but for a note of which
/// fan-out directories are known to be durable.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
    temp: TempArea,
    /// Fan-out directories (by their first byte) whose own entry in the root is durable:
    /// present when the root was synced at open, or created and synced by this process. A blob
    /// renamed into one of them needs only that directory synced, not the root as well.
    durable_dirs: Arc<[AtomicBool; 256]>,
}

impl BlobStore {
    /// Opens (creating if needed) a store rooted at `root`; a store in the old two-level layout
    /// is moved to the current one first.
    pub fn open(root: &Path) -> io::Result<BlobStore> {
        let temp = TempArea::open(root.join(TEMP_DIR_NAME))?;
        // Commits sync the tree from the root down; the root's own entry in its parent is made
        // durable here, once, in case this call just created it.
        let parent = match root.parent() {
            Some(parent) if parent.as_os_str().is_empty() => Path::new("."),
            Some(parent) => parent,
            None => root,
        };
        let store = BlobStore {
            root: root.to_path_buf(),
            temp,
            durable_dirs: Arc::new(std::array::from_fn(|_| AtomicBool::new(false))),
        };
        let marker = root.join(LAYOUT_MARKER);
        if !marker.exists() {
            store.move_legacy_layout()?;
            // The marker's own entry becomes durable with the root's sync below; a crash before
            // that only means the (by then empty) search for the old layout runs again.
            fs::write(&marker, LAYOUT_MARKER_TEXT).context("writing", &marker)?;
        }
        // All 256 fan-out directories exist from the start (a store soon has a blob in each):
        // the first blobs need no `mkdir` and no sync of the root on the way in. Best effort:
        // someone who may only read the store can still open it; a write makes what it needs.
        let mut present: Vec<u8> = list_dir(root)?
            .iter()
            .filter_map(|entry| fan_out_dir_name(entry).ok().flatten())
            .filter_map(|name| u8::from_str_radix(&name, 16).ok())
            .collect();
        if present.len() < 256 {
            for index in 0..=u8::MAX {
                if !present.contains(&index)
                    && create_dir_if_missing(&root.join(format!("{index:02x}"))).is_ok()
                {
                    present.push(index);
                }
            }
        }
        // Every fan-out directory there now has a durable entry once the root is synced below.
        sync_dirs([root, parent])?;
        for index in present {
            store.durable_dirs[usize::from(index)].store(true, Ordering::Relaxed);
        }
        Ok(store)
    }

    /// Makes the name of a blob just renamed into `leaf_dir` durable: that directory, and the
    /// root too unless the directory's own entry is known durable already.
    fn sync_new_name(&self, leaf_dir: &Path, sha256: &str) -> io::Result<()> {
        sync_dir(leaf_dir)?;
        let slot = u8::from_str_radix(&sha256[..FAN_OUT_DIGITS], 16)
            .map(|index| &self.durable_dirs[usize::from(index)]);
        match slot {
            Ok(known) if known.load(Ordering::Relaxed) => Ok(()),
            Ok(known) => {
                sync_dir(&self.root)?;
                known.store(true, Ordering::Relaxed);
                Ok(())
            }
            Err(_) => sync_dir(&self.root),
        }
    }

    /// Moves blobs of the old layout (`ab/cd/<sha256>`) to `ab/<sha256>`. Each move is one
    /// rename on the same file system, so a crash leaves every blob under one of its two names
    /// and the next open finishes the job. Nothing that is not a blob of ours is touched: it
    /// stays where it is and [`BlobStore::inventory`] reports it as foreign.
    fn move_legacy_layout(&self) -> io::Result<()> {
        let mut moved_any = false;
        for top in list_dir(&self.root)? {
            let Some(ab) = fan_out_dir_name(&top)? else {
                continue;
            };
            for mid in list_dir(&top.path())? {
                let Some(cd) = fan_out_dir_name(&mid)? else {
                    continue;
                };
                for leaf in list_dir(&mid.path())? {
                    let name = leaf.file_name();
                    let Some(sha256) = name.to_str().filter(|name| {
                        is_sha256_hex(name)
                            && name[..FAN_OUT_DIGITS] == ab
                            && name[FAN_OUT_DIGITS..2 * FAN_OUT_DIGITS] == cd
                    }) else {
                        continue;
                    };
                    if !leaf
                        .file_type()
                        .context("inspecting", leaf.path())?
                        .is_file()
                    {
                        continue;
                    }
                    let target = blob_path(&self.root, sha256);
                    if target.exists() {
                        // Moved before a crash, or stored again since. Only a copy whose bytes
                        // match its name may replace what is there; one that does not stays
                        // where it is, for an admin (reported as foreign).
                        let mut old = File::open(leaf.path()).context("opening", leaf.path())?;
                        let (actual, _) = hash_stream(&mut old).context("reading", leaf.path())?;
                        if actual != sha256 {
                            continue;
                        }
                    }
                    fs::rename(leaf.path(), &target)
                        .context("moving blob to the one-level layout", &target)?;
                    moved_any = true;
                }
                // Only an empty directory goes; anything else in it stays for an admin.
                match fs::remove_dir(mid.path()) {
                    Ok(()) => moved_any = true,
                    Err(e) if e.kind() == io::ErrorKind::DirectoryNotEmpty => {}
                    Err(e) => return Err(e).context("removing old blob directory", mid.path()),
                }
            }
        }
        if moved_any {
            sync_file_system(&self.root)?;
        }
        Ok(())
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Starts a new blob. Nothing is visible in the store until [`BlobWriter::commit`].
    pub fn writer(&self) -> io::Result<BlobWriter> {
        self.writer_for_size(WRITE_BUFFER_BYTES as u64)
    }

    /// A writer whose buffer fits a blob of about `expected_size` bytes (a wrong guess costs
    /// only speed): small files do not each pay for a 1 MiB buffer.
    pub fn writer_for_size(&self, expected_size: u64) -> io::Result<BlobWriter> {
        let capacity = usize::try_from(expected_size)
            .unwrap_or(usize::MAX)
            .clamp(MIN_WRITE_BUFFER_BYTES, WRITE_BUFFER_BYTES);
        let temp_dir = self.temp.next_dir()?;
        let (file, temp) = tempfile::Builder::new()
            .prefix(TEMP_FILE_PREFIX)
            // Readable by the data dir's group (tempfile's default is the owner alone).
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(BLOB_FILE_MODE))
            .tempfile_in(&temp_dir)
            .context("creating blob temp file in", &temp_dir)?
            .into_parts();
        Ok(BlobWriter {
            out: BufWriter::with_capacity(capacity, file),
            temp,
            hashing: PipelinedHasher::new(Sha256::new()),
            size: 0,
            writeback_started: 0,
            store: self.clone(),
        })
    }

    pub fn put_bytes(&self, bytes: &[u8]) -> io::Result<Blob> {
        let mut writer = self.writer()?;
        writer.write_all(bytes)?;
        writer.commit()
    }

    /// Streams `src` into the store; memory use does not depend on the file's size.
    pub fn put_file(&self, src: &Path) -> io::Result<Blob> {
        let mut source = File::open(src).context("opening the file to store", src)?;
        let expected = source
            .metadata()
            .map_or(STREAM_CHUNK_BYTES as u64, |m| m.len());
        let mut writer = self.writer_for_size(expected)?;
        // One read past the end finds it; a small file does not zero a 1 MiB chunk.
        let chunk_len = usize::try_from(expected)
            .unwrap_or(usize::MAX)
            .saturating_add(1)
            .clamp(MIN_WRITE_BUFFER_BYTES, STREAM_CHUNK_BYTES);
        let mut chunk = vec![0; chunk_len];
        loop {
            let n = match source.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e).context("reading", src),
            };
            writer.write_all(&chunk[..n])?;
        }
        writer.commit()
    }

    /// Where the blob with this hash lives (whether or not it exists), or `None` if `sha256` is
    /// not 64 lowercase hex digits — a path is never built from anything else.
    pub fn path_of(&self, sha256: &str) -> Option<PathBuf> {
        is_sha256_hex(sha256).then(|| blob_path(&self.root, sha256))
    }

    /// Where `blob` lives, or `None` if its hash is malformed (the fields are public).
    pub fn path(&self, blob: &Blob) -> Option<PathBuf> {
        self.path_of(&blob.sha256)
    }

    /// True if a regular file is stored under this hash (a symlink does not count: the store
    /// only trusts files it wrote).
    pub fn contains(&self, sha256: &str) -> bool {
        self.path_of(sha256)
            .is_some_and(|path| matches!(existing_file_len(&path), Ok(Some(_))))
    }

    /// Opens a stored blob for reading. (Named apart from [`BlobStore::open`], which opens the
    /// store.)
    pub fn open_blob(&self, sha256: &str) -> io::Result<File> {
        let path = self.checked_path(sha256)?;
        File::open(&path).context("opening blob", &path)
    }

    /// Opens a stored blob for reading after rehashing it (streaming, through the same open
    /// file) and finding its bytes are its name; the file is back at its start. A blob whose
    /// bytes are not its name is an `InvalidData` error saying so.
    pub fn open_verified(&self, sha256: &str) -> io::Result<File> {
        let path = self.checked_path(sha256)?;
        let mut file = File::open(&path).context("opening blob", &path)?;
        let (actual, size) = hash_stream(&mut file).context("reading blob", &path)?;
        if actual != sha256 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "blob {sha256} is damaged: its {size} bytes hash to {actual} ({})",
                    path.display()
                ),
            ));
        }
        file.seek(io::SeekFrom::Start(0))
            .context("reading blob", &path)?;
        Ok(file)
    }

    /// Rehashes the stored content (streaming) and compares it with its name.
    pub fn verify(&self, sha256: &str) -> io::Result<BlobCheck> {
        let path = self.checked_path(sha256)?;
        let mut file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(BlobCheck::Missing),
            Err(e) => return Err(e).context("opening blob", &path),
        };
        let (actual, size) = hash_stream(&mut file).context("reading blob", &path)?;
        Ok(if actual == sha256 {
            BlobCheck::Ok { size }
        } else {
            BlobCheck::Corrupt {
                actual_sha256: actual,
            }
        })
    }

    /// Makes a batch of pending blobs durable and visible: one sync puts every byte on disk
    /// before any blob gets its final name, a second makes the names durable. A crash before
    /// the end leaves temp files (removed at start-up) or complete blobs no row references yet
    /// (collected); never a visible name over bytes that are not on disk.
    pub fn commit_batch(&self, pending: Vec<PendingBlob>) -> io::Result<Vec<Blob>> {
        if pending.is_empty() {
            return Ok(Vec::new());
        }
        if let [_] = pending.as_slice() {
            // One blob: its own fsync is cheaper than syncing the whole file system twice.
            let PendingBlob { blob, temp } = pending.into_iter().next().expect("one blob");
            return self.commit_one(blob, temp, false).map(|blob| vec![blob]);
        }
        sync_file_system(&self.root)?;
        let mut committed = Vec::with_capacity(pending.len());
        for PendingBlob { blob, temp } in pending {
            let target = blob_path(&self.root, &blob.sha256);
            if existing_file_len(&target)? != Some(blob.size) {
                create_dir_if_missing(target.parent().unwrap_or(&self.root))?;
                temp.persist(&target)
                    .map_err(|e| e.error)
                    .context("moving blob into place at", &target)?;
            }
            committed.push(blob);
        }
        sync_file_system(&self.root)?;
        for blob in &committed {
            if let Ok(index) = u8::from_str_radix(&blob.sha256[..FAN_OUT_DIGITS], 16) {
                self.durable_dirs[usize::from(index)].store(true, Ordering::Relaxed);
            }
        }
        Ok(committed)
    }

    /// A written blob made durable on its own: fsync of its bytes (unless the caller did),
    /// rename, directory sync. If the store holds these bytes already, the temp file just goes.
    fn commit_one(&self, blob: Blob, temp: TempPath, bytes_synced: bool) -> io::Result<Blob> {
        let target = blob_path(&self.root, &blob.sha256);
        let leaf_dir = target.parent().unwrap_or(&self.root);
        // A file of the wrong size under this name is damaged; the rename below replaces it.
        if existing_file_len(&target)? != Some(blob.size) {
            if !bytes_synced {
                File::open(&temp)
                    .and_then(|file| file.sync_all())
                    .context("syncing blob temp file", &temp)?;
            }
            create_dir_if_missing(leaf_dir)?;
            temp.persist(&target)
                .map_err(|e| e.error)
                .context("moving blob into place at", &target)?;
        }
        // Also for a blob that was there: a concurrent writer may have renamed it in without
        // having made its name durable yet, and we are about to report it as stored.
        self.sync_new_name(leaf_dir, &blob.sha256)?;
        Ok(blob)
    }

    /// For a writer outside the import engine (an upload): held from before its first blob until
    /// its last row is committed, so crash recovery never takes its temp files or its blobs for
    /// leftovers (see `writers_lock`). Waits while a clean-up runs.
    pub fn writing(&self) -> io::Result<WritersLock> {
        writers_lock::share(&self.writers_lock_path())
    }

    /// For crash recovery: the right to sweep temp files and orphan blobs, or `None` at once
    /// while any writer holds [`Self::writing`].
    pub fn try_cleaning(&self) -> io::Result<Option<WritersLock>> {
        writers_lock::try_exclusive(&self.writers_lock_path())
    }

    fn writers_lock_path(&self) -> PathBuf {
        self.root
            .join(TEMP_DIR_NAME)
            .join(writers_lock::WRITERS_LOCK)
    }

    /// Crash recovery: deletes the temp files of writes that never committed. Call it at start-up
    /// before any writer of this process exists, holding [`Self::try_cleaning`] — it cannot
    /// tell a live writer's file from a dead one's.
    pub fn remove_temp_files(&self) -> io::Result<usize> {
        self.temp.remove_files(TEMP_FILE_PREFIX)
    }

    /// The temp files of writes in flight (or left by a crash, until [`Self::remove_temp_files`]).
    pub fn temp_files(&self) -> io::Result<Vec<PathBuf>> {
        self.temp.files(TEMP_FILE_PREFIX)
    }

    /// Lists every blob on disk (`visit` gets each hash) and what in the blob tree is not a
    /// blob of this store. Deletes nothing: what may go is the metadata store's decision
    /// (`store::blob_table`), never this listing's.
    pub fn inventory(&self, mut visit: impl FnMut(&str)) -> io::Result<Inventory> {
        let mut inventory = Inventory::default();
        self.walk(|entry| {
            match entry {
                StoredEntry::Foreign(path) => inventory.foreign.push(path),
                StoredEntry::Blob { sha256, .. } => {
                    inventory.blobs += 1;
                    visit(&sha256);
                }
            }
            Ok(())
        })?;
        Ok(inventory)
    }

    /// Deletes one blob's bytes: the bytes it freed, or `None` when it was not there. Only for
    /// a blob the metadata store released, in the transaction that forgets it.
    pub fn remove(&self, sha256: &str) -> io::Result<Option<u64>> {
        let path = self.checked_path(sha256)?;
        let size = match fs::symlink_metadata(&path) {
            Ok(metadata) => metadata.len(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).context("inspecting", &path),
        };
        match fs::remove_file(&path) {
            Ok(()) => Ok(Some(size)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).context("removing blob", &path),
        }
    }

    /// Fails with `InvalidInput` rather than building a path from a malformed hash.
    fn checked_path(&self, sha256: &str) -> io::Result<PathBuf> {
        self.path_of(sha256).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("not a sha256 (64 lowercase hex digits): {sha256:?}"),
            )
        })
    }

    /// Visits every entry of the fan-out tree (not `tmp/`), classifying it as a blob or foreign.
    fn walk(&self, mut visit: impl FnMut(StoredEntry) -> io::Result<()>) -> io::Result<()> {
        for top in list_dir(&self.root)? {
            let name = top.file_name();
            if name == TEMP_DIR_NAME || name == LAYOUT_MARKER || identity::is_its_file(&name) {
                continue;
            }
            let Some(ab) = fan_out_dir_name(&top)? else {
                visit(StoredEntry::Foreign(top.path()))?;
                continue;
            };
            for leaf in list_dir(&top.path())? {
                let path = leaf.path();
                let file_type = leaf.file_type().context("inspecting", &path)?;
                let name = leaf.file_name();
                let sha256 = name
                    .to_str()
                    .filter(|name| is_sha256_hex(name) && name[..FAN_OUT_DIGITS] == ab);
                match sha256 {
                    Some(sha256) if file_type.is_file() => {
                        visit(StoredEntry::Blob {
                            sha256: sha256.to_owned(),
                        })?;
                    }
                    _ => visit(StoredEntry::Foreign(path))?,
                }
            }
        }
        Ok(())
    }
}

enum StoredEntry {
    Blob { sha256: String },
    Foreign(PathBuf),
}

/// An in-flight blob: bytes are hashed and counted as they are written to a temp file in
/// `tmp/`. Dropping it without [`commit`](BlobWriter::commit) removes the temp file.
#[derive(Debug)]
pub struct BlobWriter {
    out: BufWriter<File>,
    // Declared after `out` so that on drop the file is closed before the temp path deletes it
    // (required on platforms that cannot delete open files).
    temp: TempPath,
    /// SHA-256, on a second thread once the blob is large (`pipelined_hash`).
    hashing: PipelinedHasher<Sha256>,
    size: u64,
    /// Bytes from the start of the file for which writeback has been started.
    writeback_started: u64,
    store: BlobStore,
}

impl BlobWriter {
    /// Bytes accepted so far.
    pub fn bytes_written(&self) -> u64 {
        self.size
    }

    /// Ends the write without making anything durable: the bytes stay in the temp file (readable
    /// at [`PendingBlob::temp_path`]) until [`BlobStore::commit_batch`] syncs a whole batch at
    /// once. Many small files then share two file-system syncs instead of four fsyncs each.
    pub fn finish_unsynced(self) -> io::Result<PendingBlob> {
        let (file, blob, temp, _) = self.finish_writing()?;
        drop(file);
        Ok(PendingBlob { blob, temp })
    }

    /// Flushes the buffer and finishes the hash: the bytes are in the temp file (not yet
    /// durable), and the blob's name is known.
    fn finish_writing(self) -> io::Result<(File, Blob, TempPath, BlobStore)> {
        let BlobWriter {
            out,
            temp,
            hashing,
            size,
            store,
            ..
        } = self;
        let hasher = hashing.finish().context("hashing blob temp file", &temp)?;
        // On any error, `temp` drops and removes the temp file.
        let file = out
            .into_inner()
            .map_err(io::IntoInnerError::into_error)
            .context("writing blob temp file", &temp)?;
        Ok((
            file,
            Blob {
                sha256: to_hex(&hasher.finalize()),
                size,
            },
            temp,
            store,
        ))
    }

    /// Makes the blob durable at its final path and returns it. If the store already holds the
    /// same content, the temp file is dropped and the existing blob returned.
    pub fn commit(self) -> io::Result<Blob> {
        let (file, blob, temp, store) = self.finish_writing()?;
        // The content must be on disk before the rename can make it visible; otherwise a crash
        // could leave a complete-looking name over missing data. Synced here, through the
        // descriptor still open, unless the store already holds these bytes.
        let target = blob_path(&store.root, &blob.sha256);
        let synced = existing_file_len(&target)? != Some(blob.size);
        if synced {
            file.sync_all().context("syncing blob temp file", &temp)?;
        }
        drop(file);
        store.commit_one(blob, temp, synced)
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self
            .out
            .write(buf)
            .context("writing blob temp file", &self.temp)?;
        // Hash only what was accepted: a short write must not put bytes in the hash twice.
        self.hashing.update(&buf[..n]);
        self.size += n as u64;
        let on_file = self.size - self.out.buffer().len() as u64;
        if on_file - self.writeback_started >= WRITEBACK_CHUNK_BYTES {
            start_writeback(
                self.out.get_ref(),
                self.writeback_started,
                on_file - self.writeback_started,
            );
            self.writeback_started = on_file;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out
            .flush()
            .context("writing blob temp file", &self.temp)
    }
}

/// A blob whose bytes are written and hashed but not yet durable nor visible. Dropping it
/// removes the temp file.
#[derive(Debug)]
pub struct PendingBlob {
    blob: Blob,
    temp: TempPath,
}

impl PendingBlob {
    pub fn blob(&self) -> &Blob {
        &self.blob
    }

    /// Where the bytes are until the batch commit (for checking them before they are kept).
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }
}

/// Flush every file and directory change of the file system holding `dir` to disk.
#[cfg(target_os = "linux")]
fn sync_file_system(dir: &Path) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let handle = File::open(dir).context("opening for a file-system sync", dir)?;
    // SAFETY: a valid descriptor for the duration of the call; the result is checked.
    if unsafe { libc::syncfs(handle.as_raw_fd()) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error()).context("syncing the file system of", dir)
    }
}

#[cfg(not(target_os = "linux"))]
fn sync_file_system(_dir: &Path) -> io::Result<()> {
    // SAFETY: `sync` takes no arguments and cannot fail.
    unsafe { libc::sync() };
    Ok(())
}

fn blob_path(root: &Path, sha256: &str) -> PathBuf {
    root.join(&sha256[..FAN_OUT_DIGITS]).join(sha256)
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == SHA256_HEX_LEN && s.bytes().all(is_lower_hex)
}

fn is_lower_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}

/// The name of a fan-out directory entry if it is one (`ab`: a directory named by two
/// lowercase hex digits).
fn fan_out_dir_name(entry: &fs::DirEntry) -> io::Result<Option<String>> {
    let is_dir = entry
        .file_type()
        .context("inspecting", entry.path())?
        .is_dir();
    Ok(entry
        .file_name()
        .to_str()
        .filter(|name| is_dir && name.len() == FAN_OUT_DIGITS && name.bytes().all(is_lower_hex))
        .map(str::to_owned))
}

fn list_dir(dir: &Path) -> io::Result<Vec<fs::DirEntry>> {
    fs::read_dir(dir)
        .and_then(|entries| entries.collect())
        .context("listing", dir)
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        hex.push(char::from(DIGITS[usize::from(b >> 4)]));
        hex.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    hex
}

/// The sha256 (lowercase hex, as blobs are named) and length of everything `reader` yields.
pub(crate) fn sha256_of(reader: &mut impl Read) -> io::Result<(String, u64)> {
    hash_stream(reader)
}

fn hash_stream(reader: &mut impl Read) -> io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut chunk = vec![0; STREAM_CHUNK_BYTES];
    loop {
        match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&chunk[..n]);
                size += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok((to_hex(&hasher.finalize()), size))
}

/// Size of the regular file at `path`, or `None` if there is none (a symlink does not count).
fn existing_file_len(path: &Path) -> io::Result<Option<u64>> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_file() => Ok(Some(meta.len())),
        Ok(_) => Ok(None),
        // A non-directory in the way of a fan-out level means no blob either; creating the
        // directory then fails with the clearer message.
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(e).context("inspecting", path),
    }
}

/// Creates `dir` under an existing parent. Not `create_dir_all`: if the store root has vanished,
/// fail loudly rather than quietly start a new store there.
fn create_dir_if_missing(dir: &Path) -> io::Result<()> {
    match fs::create_dir(dir) {
        Ok(()) => Ok(()),
        // Something that is not a directory in the way would only surface later, as a rename
        // failing with "Not a directory"; name the real problem here.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(e).context("creating blob directory", dir),
    }
}

/// Asks the kernel to start writing `len` bytes at `offset` to disk now. Only a hint: errors are
/// ignored because the fsync in `commit` reports any real failure.
#[cfg(target_os = "linux")]
fn start_writeback(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    // SAFETY: a plain syscall on a descriptor that `file` keeps open for the duration of the
    // call; no memory is shared with the kernel.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE);
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_file: &File, _offset: u64, _len: u64) {}

fn sync_dirs<'a>(dirs: impl IntoIterator<Item = &'a Path>) -> io::Result<()> {
    dirs.into_iter().try_for_each(sync_dir)
}

/// A rename or a new entry is durable only once its directory is fsync'd.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .context("syncing directory", dir)
}

/// Elsewhere (Windows) a directory cannot be fsync'd through `File`; NTFS journals renames.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// Adds what we were doing, and on which path, to an I/O error; keeps its kind (callers match
/// on it). Gives messages like "writing blob temp file /x/tmp/.blob-1: No space left on device".
trait IoContext<T> {
    fn context(self, doing: &str, path: impl AsRef<Path>) -> io::Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn context(self, doing: &str, path: impl AsRef<Path>) -> io::Result<T> {
        self.map_err(|e| {
            let path = path.as_ref().display();
            io::Error::new(e.kind(), format!("{doing} {path}: {e}"))
        })
    }
}
#[cfg(test)]
mod tests;
