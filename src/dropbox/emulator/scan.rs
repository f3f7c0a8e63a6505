//! The scanner: makes an account's index match its directory, so files that tests (or an
//! admin with a synced folder) put there directly become Dropbox entries with ids, revs and
//! content hashes. A path that vanished while its inode reappears elsewhere is a rename and
//! keeps its id.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::ids::IdSource;
use super::paths;
use super::state::{Entry, FileState, Namespace, timestamp_of};
use crate::dropbox::content_hash::ContentHasher;

const HASH_READ_CHUNK: usize = 64 * 1024;

impl Namespace {
    /// Makes the index match the directory: new, changed and vanished files and folders.
    pub fn rescan(&mut self, ids: &mut IdSource) -> io::Result<()> {
        let mut found: BTreeMap<String, Found> = BTreeMap::new();
        scan_dir(&self.dir, "", &mut found)?;

        let mut vanished: HashMap<u64, Entry> = HashMap::new();
        let gone: Vec<String> = self
            .entries
            .iter()
            .filter(|(lower, entry)| {
                found
                    .get(*lower)
                    .is_none_or(|disk| disk.is_dir != entry.is_folder())
            })
            .map(|(lower, _)| lower.clone())
            .collect();
        for lower in gone {
            if let Some(entry) = self.remove(&lower) {
                vanished.insert(entry.inode, entry);
            }
        }

        for (lower, disk) in found {
            let disk_path = self.dir.join(&disk.relative);
            let Some(entry) = self.entries.get_mut(&lower) else {
                let id = match vanished.remove(&disk.inode) {
                    Some(old) if old.is_folder() == disk.is_dir => old.id,
                    _ => ids.file_id(),
                };
                let file = if disk.is_dir {
                    None
                } else {
                    Some(FileState {
                        rev: ids.rev(),
                        size: disk.size,
                        content_hash: hash_file(&disk_path)?,
                        modified: timestamp_of(disk.mtime),
                        client_modified: None,
                        mtime: disk.mtime,
                    })
                };
                let entry = Entry {
                    display: disk.display,
                    id,
                    inode: disk.inode,
                    file,
                };
                self.insert(lower, entry);
                continue;
            };
            // A case-only rename on disk: Dropbox does not report those.
            entry.display = disk.display;
            let same_inode = std::mem::replace(&mut entry.inode, disk.inode) == disk.inode;
            let Some(file) = entry.file.as_mut() else {
                continue;
            };
            if same_inode && file.size == disk.size && file.mtime == disk.mtime {
                continue;
            }
            let content_hash = hash_file(&disk_path)?;
            file.size = disk.size;
            file.mtime = disk.mtime;
            if content_hash == file.content_hash {
                continue;
            }
            // Changed behind the emulator's back: the old bytes are gone for good.
            let old_rev = std::mem::replace(&mut file.rev, ids.rev());
            file.content_hash = content_hash;
            file.modified = timestamp_of(disk.mtime);
            file.client_modified = None;
            self.revisions.remove(&old_rev);
            self.note_change(&lower);
        }
        Ok(())
    }
}

/// A file or directory seen on disk.
#[derive(Debug)]
struct Found {
    display: String,
    relative: PathBuf,
    is_dir: bool,
    inode: u64,
    size: u64,
    mtime: SystemTime,
}

/// Walks `dir` in name order. Names that are not UTF-8, symlinks, desktop junk and names that
/// collide case-insensitively with one seen before are skipped (Dropbox cannot hold them).
fn scan_dir(
    dir: &Path,
    display_prefix: &str,
    found: &mut BTreeMap<String, Found>,
) -> io::Result<()> {
    let mut names: Vec<(String, fs::Metadata)> = Vec::new();
    for item in fs::read_dir(dir)? {
        let item = item?;
        let Ok(name) = item.file_name().into_string() else {
            continue;
        };
        let metadata = item.metadata()?;
        if metadata.file_type().is_symlink() || paths::is_ignored_name(&name) {
            continue;
        }
        names.push((name, metadata));
    }
    names.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, metadata) in names {
        let display = format!("{display_prefix}/{name}");
        let lower = paths::lower_of(&display);
        if found.contains_key(&lower) {
            continue;
        }
        let is_dir = metadata.is_dir();
        found.insert(
            lower,
            Found {
                display: display.clone(),
                relative: PathBuf::from(display.trim_start_matches('/')),
                is_dir,
                inode: metadata.ino(),
                size: metadata.len(),
                mtime: metadata.modified()?,
            },
        );
        if is_dir {
            scan_dir(&dir.join(&name), &display, found)?;
        }
    }
    Ok(())
}

pub fn hash_file(path: &Path) -> io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = ContentHasher::new();
    let mut buffer = vec![0u8; HASH_READ_CHUNK];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            return Ok(hasher.finalize());
        }
        hasher.update(&buffer[..read]);
    }
}
