//! The emulated Dropbox namespaces. Each account's app folder is a real directory,
//! `<root>/<account_id>/`, holding the files under their display names; this module keeps the
//! index Dropbox would have (lower-cased keys, ids, revs, content hashes), a change journal for
//! cursors, and old revisions in `<root>/.emulator/revisions/`. Files that tests drop into the
//! directories directly are picked up by [`Store::rescan`].

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::watch;

use super::config::EmulatorConfig;
use super::ids::IdSource;
use super::listing::CursorRecord;
use super::paths::{self, ApiPath, Target};
use super::writes::BatchJob;
use crate::dropbox::wire::{
    DeletedMetadata, FileMetadata, FolderMetadata, LookupError, Metadata, WriteConflictError,
    WriteError,
};

/// Where the emulator keeps what is not part of any account folder.
const STATE_DIR: &str = ".emulator";
const REVISIONS_DIR: &str = "revisions";
const TEMP_DIR: &str = "tmp";
const INDEX_DIR: &str = "index";

/// What survives a restart: ids and revisions (cursors and jobs do not; clients see `reset`
/// and `invalid_async_job_id`, as after a Dropbox-side expiry).
#[derive(Debug, Default, Serialize, Deserialize)]
struct SavedIndex {
    entries: BTreeMap<String, Entry>,
    revisions: HashMap<String, Revision>,
}

/// Why a call could not be answered with its route's typed error.
#[derive(Debug)]
pub enum Refusal<E> {
    /// A typed route error: HTTP 409.
    Route(E),
    /// Malformed request: HTTP 400 with this plain-text explanation.
    BadRequest(String),
    /// The emulator's own disk failed: HTTP 500.
    Io(io::Error),
}

impl<E> From<io::Error> for Refusal<E> {
    fn from(error: io::Error) -> Self {
        Refusal::Io(error)
    }
}

pub type Outcome<T, E> = Result<T, Refusal<E>>;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FileState {
    pub rev: String,
    pub size: u64,
    pub content_hash: String,
    pub modified: OffsetDateTime,
    /// What the uploader said in `client_modified`; `None` (files dropped on disk, uploads
    /// without it) reports `modified`, as Dropbox does.
    #[serde(default)]
    pub client_modified: Option<OffsetDateTime>,
    /// Disk mtime when last indexed; a different one makes the scanner re-hash.
    pub mtime: SystemTime,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Entry {
    pub display: String,
    pub id: String,
    /// Inode of the live file or directory: a path that vanished and an inode that reappears
    /// under another name is a rename, so the id survives it.
    pub inode: u64,
    /// `None` for folders.
    pub file: Option<FileState>,
}

impl Entry {
    pub fn is_folder(&self) -> bool {
        self.file.is_none()
    }

    pub fn name(&self) -> &str {
        self.display.rsplit('/').next().unwrap_or_default()
    }

    pub fn metadata(&self, lower: &str) -> Metadata {
        match &self.file {
            Some(file) => Metadata::File(self.file_metadata(lower, file)),
            None => Metadata::Folder(self.folder_metadata(lower)),
        }
    }

    pub fn file_metadata(&self, lower: &str, file: &FileState) -> FileMetadata {
        FileMetadata {
            name: self.name().to_owned(),
            id: self.id.clone(),
            path_lower: Some(lower.to_owned()),
            path_display: Some(self.display.clone()),
            rev: file.rev.clone(),
            size: file.size,
            client_modified: file.client_modified.unwrap_or(file.modified),
            server_modified: file.modified,
            content_hash: Some(file.content_hash.clone()),
            is_downloadable: true,
            escaped_name: false,
        }
    }

    pub fn folder_metadata(&self, lower: &str) -> FolderMetadata {
        FolderMetadata {
            name: self.name().to_owned(),
            id: self.id.clone(),
            path_lower: Some(lower.to_owned()),
            path_display: Some(self.display.clone()),
        }
    }
}

/// One past revision of a file. `stored == None` means it is the live file's current rev.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Revision {
    pub metadata: FileMetadata,
    pub stored: Option<PathBuf>,
}

/// One journal line: this path changed (appeared, was modified or vanished).
#[derive(Clone, Debug)]
pub struct Change {
    pub lower: String,
    pub display: String,
}

impl Change {
    /// The `deleted` entry for this path, once nothing lives there any more.
    pub fn tombstone(&self) -> Metadata {
        Metadata::Deleted(DeletedMetadata {
            name: self
                .display
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned(),
            path_lower: Some(self.lower.clone()),
            path_display: Some(self.display.clone()),
        })
    }
}

#[derive(Debug)]
pub struct Namespace {
    pub dir: PathBuf,
    pub revisions_dir: PathBuf,
    index_file: PathBuf,
    pub entries: BTreeMap<String, Entry>,
    pub by_id: HashMap<String, String>,
    pub revisions: HashMap<String, Revision>,
    pub journal: Vec<Change>,
    /// Carries `journal.len()`; longpolls wait on it.
    pub journal_len: watch::Sender<usize>,
}

impl Namespace {
    pub fn disk_path(&self, display: &str) -> PathBuf {
        self.dir.join(display.trim_start_matches('/'))
    }

    pub fn record(&mut self, lower: &str, display: &str) {
        self.journal.push(Change {
            lower: lower.to_owned(),
            display: display.to_owned(),
        });
        self.journal_len.send_replace(self.journal.len());
    }

    pub fn insert(&mut self, lower: String, entry: Entry) {
        self.by_id.insert(entry.id.clone(), lower.clone());
        self.entries.insert(lower.clone(), entry);
        self.note_change(&lower);
    }

    /// Journals the entry at `lower` as changed; a file's current revision becomes
    /// downloadable by `rev:`.
    pub fn note_change(&mut self, lower: &str) {
        let entry = &self.entries[lower];
        if let Some(file) = &entry.file {
            self.revisions.insert(
                file.rev.clone(),
                Revision {
                    metadata: entry.file_metadata(lower, file),
                    stored: None,
                },
            );
        }
        let display = entry.display.clone();
        self.record(lower, &display);
    }

    /// Drops an entry from the index (not from disk) and journals it. The current revision is
    /// forgotten unless the caller already moved it into the revisions directory.
    pub fn remove(&mut self, lower: &str) -> Option<Entry> {
        let entry = self.entries.remove(lower)?;
        self.by_id.remove(&entry.id);
        if let Some(file) = &entry.file
            && self
                .revisions
                .get(&file.rev)
                .is_some_and(|revision| revision.stored.is_none())
        {
            self.revisions.remove(&file.rev);
        }
        self.record(lower, &entry.display);
        Some(entry)
    }

    /// Lower-cased keys of `lower` and everything below it, deepest first.
    pub fn subtree(&self, lower: &str) -> Vec<String> {
        let prefix = format!("{lower}/");
        let mut keys: Vec<String> = self
            .entries
            .keys()
            .filter(|key| *key == lower || key.starts_with(&prefix))
            .cloned()
            .collect();
        keys.sort_by_key(|key| std::cmp::Reverse(key.len()));
        keys
    }

    /// Resolves a lookup target to the key of an existing entry.
    pub fn lookup(&self, target: &Target) -> Result<String, LookupError> {
        match target {
            Target::Root => Err(LookupError::NotFound),
            Target::Path(path) => {
                let lower = path.lower();
                self.entries
                    .contains_key(&lower)
                    .then_some(lower)
                    .ok_or(LookupError::NotFound)
            }
            Target::Id(id) => self.by_id.get(id).cloned().ok_or(LookupError::NotFound),
            Target::Rev(_) => Err(LookupError::MalformedPath {
                malformed_path: Some("a revision is not a path here".to_owned()),
            }),
        }
    }

    /// The path a write to `path` lands on: existing ancestors keep their display casing, and
    /// an ancestor that is a file is a `file_ancestor` conflict. Desktop junk names are
    /// `disallowed_name`: Dropbox never stores them, and the scanner would
    /// drop them from the index on the next listing, so accepting them would lose the write.
    pub fn write_path(&self, path: &ApiPath) -> Result<ApiPath, WriteError> {
        if path
            .components()
            .iter()
            .any(|component| paths::is_ignored_name(component))
        {
            return Err(WriteError::DisallowedName);
        }
        let mut components: Vec<String> = Vec::with_capacity(path.components().len());
        for (depth, component) in path.components().iter().enumerate() {
            let mut candidate = components.clone();
            candidate.push(component.clone());
            let lower = paths::lower_of(&paths::join(&candidate));
            let is_last = depth + 1 == path.components().len();
            match self.entries.get(&lower) {
                Some(entry) if !is_last && !entry.is_folder() => {
                    return Err(WriteError::Conflict {
                        conflict: WriteConflictError::FileAncestor,
                    });
                }
                Some(entry) => components.push(entry.name().to_owned()),
                None => components.push(component.clone()),
            }
        }
        Ok(ApiPath::from_components(components))
    }

    pub fn target_of_write(&self, raw: &str) -> Result<ApiPath, WriteError> {
        match paths::parse_target(raw) {
            Ok(Target::Path(path)) => self.write_path(&path),
            Ok(Target::Id(id)) => match self.by_id.get(&id) {
                Some(lower) => {
                    let display = &self.entries[lower].display;
                    Ok(ApiPath::from_components(
                        display.split('/').skip(1).map(str::to_owned).collect(),
                    ))
                }
                None => Err(WriteError::MalformedPath {
                    malformed_path: Some(format!("unknown id {id}")),
                }),
            },
            Ok(Target::Root | Target::Rev(_)) => Err(WriteError::MalformedPath {
                malformed_path: Some("not a writable path".to_owned()),
            }),
            Err(reason) => Err(WriteError::MalformedPath {
                malformed_path: Some(reason),
            }),
        }
    }

    /// Creates the missing ancestors of `path` as folders (Dropbox does the same on upload).
    pub fn ensure_parents(&mut self, path: &ApiPath, ids: &mut IdSource) -> io::Result<()> {
        let Some(parent) = path.parent() else {
            return Ok(());
        };
        for depth in 1..=parent.components().len() {
            let ancestor = ApiPath::from_components(parent.components()[..depth].to_vec());
            let lower = ancestor.lower();
            if self.entries.contains_key(&lower) {
                continue;
            }
            let display = ancestor.display();
            let disk = self.disk_path(&display);
            fs::create_dir_all(&disk)?;
            let inode = fs::metadata(&disk)?.ino();
            let entry = Entry {
                display,
                id: ids.file_id(),
                inode,
                file: None,
            };
            self.insert(lower, entry);
        }
        Ok(())
    }
}

/// A saved index, minus revisions whose bytes are gone; unreadable or missing means "start
/// from the disk alone" (every file then gets a new id).
fn load_index(path: &std::path::Path) -> SavedIndex {
    let Some(mut saved) = fs::read(path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<SavedIndex>(&bytes).ok())
    else {
        return SavedIndex::default();
    };
    saved
        .revisions
        .retain(|_, revision| revision.stored.as_ref().is_none_or(|kept| kept.exists()));
    saved
}

/// Dropbox timestamps have whole seconds.
pub fn timestamp_of(instant: SystemTime) -> OffsetDateTime {
    OffsetDateTime::from(instant)
        .replace_nanosecond(0)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Everything the emulator knows, behind one lock.
#[derive(Debug)]
pub struct Store {
    pub namespaces: HashMap<String, Namespace>,
    pub ids: IdSource,
    pub temp_dir: PathBuf,
    pub cursors: HashMap<String, CursorRecord>,
    pub jobs: HashMap<String, BatchJob>,
    pub batch_in_progress_polls: u32,
    /// Open upload sessions (in memory, like cursors and jobs).
    pub sessions: super::upload_sessions::Sessions,
    pub shared_links: super::sharing::SharedLinks,
}

impl Store {
    /// Creates the account folders that do not exist yet and indexes what is in them.
    pub fn open(config: &EmulatorConfig) -> io::Result<Self> {
        let state_dir = config.root.join(STATE_DIR);
        let temp_dir = state_dir.join(TEMP_DIR);
        fs::create_dir_all(&temp_dir)?;
        let mut store = Self {
            namespaces: HashMap::new(),
            ids: IdSource::new(),
            temp_dir,
            cursors: HashMap::new(),
            jobs: HashMap::new(),
            batch_in_progress_polls: config.delete_batch_in_progress_polls,
            sessions: Default::default(),
            shared_links: Default::default(),
        };
        for account in &config.accounts {
            let dir = config.root.join(&account.account_id);
            let revisions_dir = state_dir.join(REVISIONS_DIR).join(&account.account_id);
            fs::create_dir_all(&dir)?;
            fs::create_dir_all(&revisions_dir)?;
            let index_file = state_dir
                .join(INDEX_DIR)
                .join(format!("{}.json", account.account_id));
            let saved = load_index(&index_file);
            let by_id = saved
                .entries
                .iter()
                .map(|(lower, entry)| (entry.id.clone(), lower.clone()))
                .collect();
            let mut namespace = Namespace {
                dir,
                revisions_dir,
                index_file,
                entries: saved.entries,
                by_id,
                revisions: saved.revisions,
                journal: Vec::new(),
                journal_len: watch::Sender::new(0),
            };
            namespace.rescan(&mut store.ids)?;
            store
                .namespaces
                .insert(account.account_id.clone(), namespace);
        }
        Ok(store)
    }

    /// Writes every account's ids and revisions next to the folders, for the next start.
    pub fn save_index(&self) -> io::Result<()> {
        for namespace in self.namespaces.values() {
            let saved = SavedIndex {
                entries: namespace.entries.clone(),
                revisions: namespace.revisions.clone(),
            };
            if let Some(dir) = namespace.index_file.parent() {
                fs::create_dir_all(dir)?;
            }
            let json = serde_json::to_vec(&saved).map_err(io::Error::other)?;
            fs::write(&namespace.index_file, json)?;
        }
        Ok(())
    }

    /// Split borrow: one namespace plus the id source.
    pub fn namespace(&mut self, account_id: &str) -> (&mut Namespace, &mut IdSource) {
        let namespace = self
            .namespaces
            .get_mut(account_id)
            .expect("tokens only name configured accounts");
        (namespace, &mut self.ids)
    }

    pub fn rescan(&mut self, account_id: &str) -> io::Result<()> {
        let (namespace, ids) = self.namespace(account_id);
        namespace.rescan(ids)
    }

    pub fn rescan_all(&mut self) -> io::Result<()> {
        for namespace in self.namespaces.values_mut() {
            namespace.rescan(&mut self.ids)?;
        }
        Ok(())
    }

    /// Where `account_id`'s app folder lives on disk.
    pub fn account_dir(&self, account_id: &str) -> Option<PathBuf> {
        self.namespaces.get(account_id).map(|ns| ns.dir.clone())
    }

    /// Metadata for a lookup target, including past revisions (`rev:`) and, on request, the
    /// tombstone of a deleted path.
    pub fn metadata(
        &mut self,
        account_id: &str,
        raw: &str,
        include_deleted: bool,
    ) -> Result<Metadata, LookupError> {
        let (namespace, _) = self.namespace(account_id);
        let target = paths::parse_target(raw).map_err(|reason| LookupError::MalformedPath {
            malformed_path: Some(reason),
        })?;
        if let Target::Rev(rev) = &target {
            return namespace
                .revisions
                .get(rev)
                .map(|revision| Metadata::File(revision.metadata.clone()))
                .ok_or(LookupError::NotFound);
        }
        match namespace.lookup(&target) {
            Ok(lower) => Ok(namespace.entries[&lower].metadata(&lower)),
            Err(LookupError::NotFound) if include_deleted => {
                let Target::Path(path) = &target else {
                    return Err(LookupError::NotFound);
                };
                let lower = path.lower();
                namespace
                    .journal
                    .iter()
                    .rev()
                    .find(|change| change.lower == lower)
                    .map(Change::tombstone)
                    .ok_or(LookupError::NotFound)
            }
            Err(error) => Err(error),
        }
    }

    /// Opens the bytes of a file (or of one of its past revisions) for download. The open
    /// handle keeps serving this revision even if the file is replaced meanwhile.
    pub fn open_file(
        &mut self,
        account_id: &str,
        raw: &str,
    ) -> Result<(FileMetadata, File), Refusal<LookupError>> {
        let (namespace, _) = self.namespace(account_id);
        let target = paths::parse_target(raw).map_err(|reason| {
            Refusal::Route(LookupError::MalformedPath {
                malformed_path: Some(reason),
            })
        })?;
        if let Target::Rev(rev) = &target {
            let revision = namespace
                .revisions
                .get(rev)
                .ok_or(Refusal::Route(LookupError::NotFound))?;
            let disk = match &revision.stored {
                Some(stored) => stored.clone(),
                None => namespace.disk_path(
                    revision
                        .metadata
                        .path_display
                        .as_deref()
                        .unwrap_or_default(),
                ),
            };
            return Ok((revision.metadata.clone(), File::open(disk)?));
        }
        let lower = namespace.lookup(&target).map_err(Refusal::Route)?;
        let entry = &namespace.entries[&lower];
        let Some(file) = &entry.file else {
            return Err(Refusal::Route(LookupError::NotFile));
        };
        let metadata = entry.file_metadata(&lower, file);
        Ok((metadata, File::open(namespace.disk_path(&entry.display))?))
    }
}
