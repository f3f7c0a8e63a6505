//! A folder kept in sync by the Dropbox desktop client (e.g. `~/Dropbox/Apps/Smartimage`), used
//! as a `DropboxBackend`: paths are app-folder style and case-insensitive, ids come from inodes,
//! revs from (inode, size, mtime), and changes from inotify plus a slow rescan.
//!
//! Safety first: every access walks from the root's descriptor with `openat(O_NOFOLLOW)`, so
//! symlinks are never followed and nothing outside the root is read, listed or deleted; a file is
//! reported only once it has been left alone for `stable_for`; a download fails if the file
//! changes while it is read; a delete happens only at exactly the imported rev.
//!
//! Choices worth knowing:
//! - Cursors name snapshots held in memory (bounded, see `cursors.rs`): a restart or an evicted
//!   cursor is a `CursorReset` and the engine lists again; its unique `(link, id, rev)` key keeps
//!   that from importing anything twice.
//! - The rev leaves out the ctime, so a rename or chmod keeps it (as the id is kept); the
//!   stability window does use the ctime, which no program can set back.
//! - A hard-linked file (nlink > 1) is treated like any other: its bytes are what the admin put
//!   in the folder, and deleting it only unlinks the name inside the root, so any other name,
//!   inside or outside, keeps the data. (The kernel's `protected_hardlinks`, on by default,
//!   already stops a user linking in a file they could not read and write themselves.)
//! - A name that is not UTF-8 is listed escaped (`FileMetadata::escaped_name`, `\xNN` for each
//!   byte that is not text) so the import can report it; lookups match only names that are
//!   text, so it is never downloaded or deleted.
//! - Folders are removed only by `remove_emptied_folders` (`emptied.rs`), and only when empty.

mod cursors;
mod download;
mod emptied;
mod errors;
mod fs_at;
mod identity;
mod leftovers;
mod lookup;
mod scan;
mod send;
mod watch;
mod write;

pub use send::sharing_needs_the_api;

use std::collections::HashSet;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use sha2::{Digest, Sha256};

use self::cursors::{CursorState, CursorStore, Listing, Snapshot, diff, has_changes};
use self::download::{ChangeGuardedFile, Fingerprint};
use self::errors::{io_error, not_found, refused};
use self::identity::{MalformedPath, Target, file_metadata, parse_target, rev_of};
use self::scan::{FolderCache, Root};
use self::watch::ChangeWatcher;
use crate::dropbox::backend::{
    AccountInfo, BackendError, BackendResult, ChangeWait, Download, DropboxBackend,
};
use crate::dropbox::verified_body::VerifiedBody;
use crate::dropbox::wire::{
    DeleteArg, FileMetadata, FolderMetadata, ListFolderResult, Metadata, WriteMode,
};

/// A file still being written is not reported until it has been left alone this long.
pub const DEFAULT_STABLE_FOR: Duration = Duration::from_secs(2);
/// The safety-net full rescan while waiting for changes.
pub const DEFAULT_RESCAN_EVERY: Duration = Duration::from_secs(60);
/// Scans while waiting are at least this far apart, so a file being written costs a few scans,
/// not one per inotify event (clamped to `stable_for / 2`).
const MAX_SCAN_GAP_AFTER_EVENT: Duration = Duration::from_millis(250);
const MIN_SCAN_GAP_AFTER_EVENT: Duration = Duration::from_millis(5);
/// Hex characters of the root's hash in the account id.
const ACCOUNT_HASH_HEX: usize = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalSettings {
    /// A file is reported only once its inode has not changed (no write, truncate, utime,
    /// rename) for this long: the ctime, which no program can set back, must be this old.
    pub stable_for: Duration,
    /// Full rescan interval while waiting, for changes inotify missed (overflow, NFS, …).
    pub rescan_every: Duration,
}

impl Default for LocalSettings {
    fn default() -> Self {
        LocalSettings {
            stable_for: DEFAULT_STABLE_FOR,
            rescan_every: DEFAULT_RESCAN_EVERY,
        }
    }
}

/// A Dropbox-synced folder on disk, as a Dropbox backend. Cheap to clone (shared state).
#[derive(Clone)]
pub struct LocalFolder {
    inner: Arc<Inner>,
}

struct Inner {
    root: Root,
    settings: LocalSettings,
    account_id: String,
    cursors: Mutex<CursorStore>,
    /// Started by the first wait for changes, not on open: a one-off pass (`import --once`)
    /// never waits, and a recursive watch would have the kernel queue an event for every read,
    /// rename and delete the import itself does.
    watcher: OnceLock<ChangeWatcher>,
    /// What scans left out and have already logged.
    noted: Mutex<HashSet<String>>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn malformed(path: &str, error: MalformedPath) -> BackendError {
    refused(&format!("path/malformed_path/ {path:?}: {}", error.0))
}

impl LocalFolder {
    /// Opens the synced folder at `root`, which must be an existing directory.
    pub fn open(root: &Path, settings: LocalSettings) -> io::Result<LocalFolder> {
        let root = Root::open(root).map_err(|error| {
            io::Error::new(error.kind(), format!("{}: {error}", root.display()))
        })?;
        let account_id = format!(
            "local:{}",
            &hex(&Sha256::digest(root.path.as_os_str().as_encoded_bytes()))[..ACCOUNT_HASH_HEX]
        );
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let instance_seed = format!("{account_id}-{}-{nanos}", std::process::id());
        let instance = hex(&Sha256::digest(instance_seed.as_bytes())[..6]);
        let inner = Inner {
            root,
            settings,
            account_id,
            cursors: Mutex::new(CursorStore::new(instance)),
            watcher: OnceLock::new(),
            noted: Mutex::new(HashSet::new()),
        };
        Ok(LocalFolder {
            inner: Arc::new(inner),
        })
    }

    /// The canonical path of the synced folder.
    pub fn root(&self) -> &Path {
        &self.inner.root.path
    }

    pub fn settings(&self) -> LocalSettings {
        self.inner.settings
    }

    /// Removes the temp files killed writes left in the folder at `folder` and below (only
    /// ours, only a dead writer's: see `leftovers.rs`); how many went. Blocking: for start-up
    /// recovery, which runs before any async work (sends use
    /// [`remove_leftovers`](crate::dropbox::sending::DropboxSender::remove_leftovers)).
    pub fn remove_leftovers_blocking(&self, folder: &str) -> BackendResult<usize> {
        self.inner.remove_leftovers(folder)
    }

    /// Runs blocking file-system work off the async threads.
    async fn blocking<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Inner) -> BackendResult<T> + Send + 'static,
    ) -> BackendResult<T> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || job(&inner))
            .await
            .map_err(|error| BackendError::Transient {
                detail: format!("local folder task failed: {error}"),
            })?
    }
}

impl Inner {
    fn watcher(&self) -> &ChangeWatcher {
        self.watcher
            .get_or_init(|| ChangeWatcher::start(&self.root.path))
    }

    fn cursors(&self) -> std::sync::MutexGuard<'_, CursorStore> {
        self.cursors.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn list(&self, path: &str, recursive: bool) -> BackendResult<ListFolderResult> {
        let target = parse_target(path).map_err(|error| malformed(path, error))?;
        if matches!(target, Target::Rev(_)) {
            return Err(refused(&format!(
                "path/malformed_path/ cannot list a revision: {path:?}"
            )));
        }
        let components = self.components_of(target)?.ok_or_else(|| not_found(path))?;
        let listing = Listing {
            components,
            recursive,
        };
        let scan = self.scan(&listing)?.ok_or_else(|| not_found(path))?;
        let entries: Vec<Metadata> = scan.entries.values().cloned().collect();
        let snapshot = Snapshot {
            listing: Arc::new(listing),
            entries: Arc::new(scan.entries),
        };
        Ok(self.cursors().paginate(entries, snapshot))
    }

    fn list_continue(&self, cursor: &str) -> BackendResult<ListFolderResult> {
        let state = self
            .cursors()
            .get(cursor)
            .ok_or(BackendError::CursorReset)?;
        let snapshot = match state {
            CursorState::Pages {
                pending,
                offset,
                then,
            } => return Ok(self.cursors().page(pending, offset, then)),
            CursorState::Caught(snapshot) => snapshot,
        };
        let listed = identity::join_path(&snapshot.listing.components);
        let scan = self
            .scan(&snapshot.listing)?
            .ok_or_else(|| not_found(&listed))?;
        let (changes, now) = diff(&snapshot.entries, &scan);
        if changes.is_empty() {
            return Ok(ListFolderResult {
                entries: Vec::new(),
                cursor: cursor.to_owned(),
                has_more: false,
            });
        }
        let next = Snapshot {
            listing: snapshot.listing,
            entries: Arc::new(now),
        };
        Ok(self.cursors().paginate(changes, next))
    }

    /// Opens the file for a download and takes its metadata from the open descriptor.
    fn open_for_download(
        &self,
        path: &str,
    ) -> BackendResult<(std::fs::File, FileMetadata, libc::stat)> {
        let located = self.locate(path)?.ok_or_else(|| not_found(path))?;
        if fs_at::is_dir(&located.stat) {
            return Err(refused(&format!("path/not_file/ {path:?} is a folder")));
        }
        if !self.root.contains(&located.parent) {
            return Err(not_found(path));
        }
        let file = match fs_at::open_file_at(&located.parent, &located.name) {
            Ok(file) => file,
            // ELOOP: swapped for a symlink since the lookup.
            Err(error) if matches!(error.raw_os_error(), Some(libc::ENOENT | libc::ELOOP)) => {
                return Err(not_found(path));
            }
            Err(error) => return Err(io_error(path, error)),
        };
        let stat = fs_at::stat_fd(file.as_raw_fd()).map_err(|error| io_error(path, error))?;
        // The lookup checked the id or rev on the name; the open descriptor must be that same
        // inode (not one swapped in since), and for `rev:` still at that revision.
        let swapped = stat.st_dev != located.stat.st_dev || stat.st_ino != located.stat.st_ino;
        let rev_moved_on =
            matches!(parse_target(path), Ok(Target::Rev(rev)) if rev_of(&stat) != rev);
        if !fs_at::is_regular(&stat) || swapped || rev_moved_on {
            return Err(not_found(path));
        }
        Ok((
            file,
            file_metadata(&located.display_path, &located.name_text, &stat),
            stat,
        ))
    }

    /// Deletes a batch in order, one result per entry. A large batch is split in two halves
    /// deleted side by side: unlinking is mostly kernel time, and the last batches of an
    /// import run after every file is copied, when a second core has nothing else to do.
    /// Entries come in path order, so the halves mostly work in different folders.
    fn delete_all(&self, entries: &[DeleteArg]) -> Vec<BackendResult<Metadata>> {
        let delete_run = |run: &[DeleteArg]| {
            let mut folders = FolderCache::default();
            run.iter()
                .map(|entry| self.delete_one(entry, &mut folders))
                .collect::<Vec<_>>()
        };
        if entries.len() < PARALLEL_DELETE_MIN {
            return delete_run(entries);
        }
        let (first, second) = entries.split_at(entries.len() / 2);
        std::thread::scope(|scope| {
            let other = std::thread::Builder::new()
                .name("local-delete".into())
                .spawn_scoped(scope, || delete_run(second));
            let mut results = delete_run(first);
            match other {
                Ok(handle) => match handle.join() {
                    Ok(rest) => results.extend(rest),
                    Err(panic) => std::panic::resume_unwind(panic),
                },
                // No thread to be had: the second half here, after the first.
                Err(_) => results.extend(delete_run(second)),
            }
            results
        })
    }

    fn delete_one(&self, entry: &DeleteArg, folders: &mut FolderCache) -> BackendResult<Metadata> {
        let located = self
            .locate_with(&entry.path, folders)?
            .ok_or_else(|| not_found(&entry.path))?;
        write::delete_exact(&self.root, located, entry.parent_rev.as_deref())
    }

    fn remove_emptied_folders(&self, within: &str, folders: &[String]) -> BackendResult<usize> {
        let within = match parse_target(within).map_err(|error| malformed(within, error))? {
            Target::Path(components) => components,
            _ => {
                return Err(refused(&format!(
                    "path/malformed_path/ {within:?} is not a path"
                )));
            }
        };
        let folders = folders
            .iter()
            .filter_map(|folder| match parse_target(folder) {
                Ok(Target::Path(components)) => Some(components),
                _ => None,
            })
            .collect();
        Ok(emptied::remove_emptied(&self.root, &within, folders))
    }

    fn remove_leftovers(&self, folder: &str) -> BackendResult<usize> {
        let components = Inner::components_for_write(folder)?;
        leftovers::sweep_tree(&self.root, &components)
    }

    fn components_for_write(path: &str) -> BackendResult<Vec<String>> {
        match parse_target(path).map_err(|error| malformed(path, error))? {
            Target::Path(components) if !components.is_empty() => Ok(components),
            _ => Err(refused(&format!(
                "path/malformed_path/ {path:?} is not a path below the root"
            ))),
        }
    }
}

/// A delete batch at least this long is deleted by two threads (see `Inner::delete_all`).
const PARALLEL_DELETE_MIN: usize = 64;

/// The monotonic instant of the wall-clock time `at` (now, if `at` has passed).
fn instant_of(at: SystemTime) -> Instant {
    Instant::now() + at.duration_since(SystemTime::now()).unwrap_or_default()
}

impl DropboxBackend for LocalFolder {
    async fn current_account(&self) -> BackendResult<AccountInfo> {
        Ok(AccountInfo {
            account_id: self.inner.account_id.clone(),
            email: None,
            display_name: format!("Dropbox folder {}", self.inner.root.path.display()),
        })
    }

    async fn ensure_folder(&self, path: &str) -> BackendResult<FolderMetadata> {
        let components = Inner::components_for_write(path)?;
        self.blocking(move |inner| write::ensure_folder(&inner.root, &components))
            .await
    }

    async fn move_entry(&self, from: &str, to: &str) -> BackendResult<Metadata> {
        let from = Inner::components_for_write(from)?;
        let to = Inner::components_for_write(to)?;
        self.blocking(move |inner| write::move_top_folder(&inner.root, &from, &to))
            .await
            .map(Metadata::Folder)
    }

    async fn list_folder(&self, path: &str, recursive: bool) -> BackendResult<ListFolderResult> {
        let path = path.to_owned();
        self.blocking(move |inner| inner.list(&path, recursive))
            .await
    }

    async fn list_folder_continue(&self, cursor: &str) -> BackendResult<ListFolderResult> {
        let cursor = cursor.to_owned();
        self.blocking(move |inner| inner.list_continue(&cursor))
            .await
    }

    async fn wait_for_changes(&self, cursor: &str, timeout: Duration) -> BackendResult<ChangeWait> {
        const CHANGED: ChangeWait = ChangeWait {
            changes: true,
            backoff: None,
        };
        let deadline = tokio::time::Instant::now() + timeout;
        let state = self.inner.cursors().get(cursor);
        let snapshot = match state.ok_or(BackendError::CursorReset)? {
            CursorState::Pages { .. } => return Ok(CHANGED),
            CursorState::Caught(snapshot) => snapshot,
        };
        let settings = self.inner.settings;
        let settle =
            (settings.stable_for / 2).clamp(MIN_SCAN_GAP_AFTER_EVENT, MAX_SCAN_GAP_AFTER_EVENT);
        // Subscribed before the first scan below, so a change after that scan wakes us.
        let mut events = self.inner.watcher().subscribe();
        loop {
            if let Some(events) = events.as_mut() {
                events.borrow_and_update();
            }
            let old = snapshot.clone();
            let (changed, next_stable_at) = self
                .blocking(move |inner| {
                    Ok(match inner.scan(&old.listing)? {
                        // The listed folder itself is gone: `continue` will say so.
                        None => (true, None),
                        Some(scan) => (has_changes(&old.entries, &scan), scan.next_stable_at),
                    })
                })
                .await?;
            if changed {
                return Ok(CHANGED);
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(ChangeWait {
                    changes: false,
                    backoff: None,
                });
            }
            let mut wake = deadline.min(now + settings.rescan_every);
            if let Some(at) = next_stable_at {
                wake = wake.min(instant_of(at).into());
            }
            match events.as_mut() {
                Some(receiver) => tokio::select! {
                    () = tokio::time::sleep_until(wake) => {}
                    changed = receiver.changed() => match changed {
                        Ok(()) => tokio::time::sleep_until(deadline.min(tokio::time::Instant::now() + settle)).await,
                        Err(_) => events = None,
                    },
                },
                None => tokio::time::sleep_until(wake).await,
            }
        }
    }

    async fn download(&self, path: &str) -> BackendResult<Download> {
        let path = path.to_owned();
        let (file, metadata, stat) = self
            .blocking(move |inner| inner.open_for_download(&path))
            .await?;
        let display = metadata.path_display.clone().unwrap_or_default();
        let guarded = ChangeGuardedFile::new(file, Fingerprint::of(&stat), display);
        // No content hash to expect for a local file: the size and the change guard verify it.
        let body = VerifiedBody::new(guarded, metadata.size, None);
        Ok(Download {
            metadata,
            body: Box::pin(body),
        })
    }

    async fn delete_batch(
        &self,
        entries: Vec<DeleteArg>,
    ) -> BackendResult<Vec<BackendResult<Metadata>>> {
        self.blocking(move |inner| Ok(inner.delete_all(&entries)))
            .await
    }

    async fn remove_emptied_folders(
        &self,
        within: &str,
        folders: Vec<String>,
    ) -> BackendResult<usize> {
        let within = within.to_owned();
        self.blocking(move |inner| inner.remove_emptied_folders(&within, &folders))
            .await
    }

    async fn upload(
        &self,
        path: &str,
        bytes: Vec<u8>,
        mode: WriteMode,
        autorename: bool,
    ) -> BackendResult<FileMetadata> {
        let components = Inner::components_for_write(path)?;
        self.blocking(move |inner| {
            write::upload(&inner.root, &components, &bytes, &mode, autorename)
        })
        .await
    }

    async fn get_metadata(&self, path: &str) -> BackendResult<Option<Metadata>> {
        let path = path.to_owned();
        self.blocking(move |inner| {
            if path.is_empty() {
                return Err(refused(
                    "path/malformed_path/ get_metadata is not supported on the root",
                ));
            }
            Ok(inner.locate(&path)?.and_then(|located| located.metadata()))
        })
        .await
    }
}

impl crate::dropbox::sending::DropboxSender for LocalFolder {
    async fn send_files(
        &self,
        files: Vec<crate::dropbox::sending::OutgoingFile>,
        _settings: &crate::dropbox::sending::SendSettings,
        progress: crate::dropbox::sending::SendProgress,
    ) -> BackendResult<Vec<BackendResult<crate::dropbox::sending::SentFile>>> {
        // One at a time: the disk, not the calls, is what limits a local copy.
        let mut results = Vec::with_capacity(files.len());
        for (index, file) in files.into_iter().enumerate() {
            let components = match Inner::components_for_write(&file.destination) {
                Ok(components) => components,
                Err(error) => {
                    results.push(Err(error));
                    continue;
                }
            };
            let progress = progress.clone();
            results.push(
                self.blocking(move |inner| {
                    send::send_file(&inner.root, &components, &file, &|bytes| {
                        progress(index, bytes)
                    })
                })
                .await,
            );
        }
        Ok(results)
    }

    async fn share(&self, _path: &str) -> BackendResult<crate::dropbox::sending::SharedLink> {
        Err(send::sharing_needs_the_api())
    }

    fn can_share(&self) -> BackendResult<()> {
        Err(send::sharing_needs_the_api())
    }

    async fn remove_leftovers(&self, folder: &str) -> BackendResult<usize> {
        let folder = folder.to_owned();
        self.blocking(move |inner| inner.remove_leftovers(&folder))
            .await
    }
}
