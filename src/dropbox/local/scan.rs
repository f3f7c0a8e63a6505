//! Finding things under the root: case-insensitive lookup of one path, and the tree walk that
//! produces a listing. Both go through `fs_at`, so symlinks are skipped, never followed.

use std::collections::{BTreeMap, HashMap};
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::fs_at;
use super::identity::{
    ctime_of, escape_name, file_metadata, folder_metadata, is_ignored_name, join_path,
};
use crate::dropbox::wire::Metadata;

/// Deeper folders are not walked (a loop of bind mounts or a hostile tree cannot exhaust us).
const MAX_DEPTH: usize = 128;

/// The canonical root and a descriptor every lookup starts from.
pub struct Root {
    pub path: PathBuf,
    pub fd: OwnedFd,
}

impl Root {
    pub fn open(path: &Path) -> io::Result<Root> {
        let path = path.canonicalize()?;
        let fd = fs_at::open_dir_path(&path)?;
        Ok(Root { path, fd })
    }

    /// Belt and braces on top of the `openat` chain: the kernel's idea of where `fd` is must be
    /// under the root (it could have been moved out while we held it).
    pub fn contains(&self, fd: &OwnedFd) -> bool {
        fs_at::path_of(fd.as_raw_fd()).is_none_or(|path| path.starts_with(&self.path))
    }
}

/// An entry found by path: its parent folder (open), its on-disk name and its `lstat`.
pub struct Located {
    pub parent: OwnedFd,
    pub name: OsString,
    /// The on-disk name as text (every listed name is UTF-8).
    pub name_text: String,
    pub display_path: String,
    pub stat: libc::stat,
}

impl Located {
    pub fn metadata(&self) -> Option<Metadata> {
        if fs_at::is_dir(&self.stat) {
            Some(Metadata::Folder(folder_metadata(
                &self.display_path,
                &self.name_text,
                &self.stat,
            )))
        } else if fs_at::is_regular(&self.stat) {
            Some(Metadata::File(file_metadata(
                &self.display_path,
                &self.name_text,
                &self.stat,
            )))
        } else {
            None
        }
    }
}

fn is_symlink(stat: &libc::stat) -> bool {
    stat.st_mode & libc::S_IFMT == libc::S_IFLNK
}

fn is_vanished(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::ENOENT | libc::ENOTDIR | libc::ELOOP)
    )
}

/// Which of several names differing only in case stands for their common `path_lower`: an
/// all-lower-case name first (a lookup by `path_lower` finds it exactly), then byte order. The
/// listing and the lookup both use it, so the entry listed is the file served and deleted, and
/// once that one is gone the other appears as a change.
fn case_collision_order(a: &str, b: &str) -> std::cmp::Ordering {
    let not_lower = |name: &str| name.to_lowercase() != name;
    (not_lower(a), a).cmp(&(not_lower(b), b))
}

/// The child of `dir` whose name equals `wanted` ignoring case (the exact spelling first).
/// Symlinks, ignored names and non-UTF-8 names never match.
pub fn find_child(
    dir: &OwnedFd,
    wanted: &str,
) -> io::Result<Option<(OsString, String, libc::stat)>> {
    if is_ignored_name(wanted) {
        return Ok(None);
    }
    match fs_at::stat_at(dir, OsStr::new(wanted)) {
        Ok(stat) if !is_symlink(&stat) => {
            return Ok(Some((wanted.into(), wanted.to_owned(), stat)));
        }
        Ok(_) => {}
        Err(error) if is_vanished(&error) => {}
        Err(error) => return Err(error),
    }
    let wanted_lower = wanted.to_lowercase();
    let mut candidates: Vec<String> = fs_at::read_dir_at(dir)?
        .into_iter()
        .filter_map(|name| name.into_string().ok())
        .filter(|name| name.to_lowercase() == wanted_lower)
        .collect();
    candidates.sort_by(|a, b| case_collision_order(a, b));
    for name in candidates {
        match fs_at::stat_at(dir, OsStr::new(&name)) {
            Ok(stat) if !is_symlink(&stat) => return Ok(Some((name.clone().into(), name, stat))),
            Ok(_) => {}
            Err(error) if is_vanished(&error) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(None)
}

/// Opens the folder at `components` (case-insensitively); `None` if a component is missing or
/// is not a real folder. Returns the folder and its display path.
pub fn open_folder(
    root: &Root,
    components: &[String],
) -> io::Result<Option<(OwnedFd, Vec<String>)>> {
    let mut dir = fs_at::open_dir_at(&root.fd, OsStr::new("."))?;
    let mut display = Vec::with_capacity(components.len());
    for component in components {
        let Some((name, name_text, stat)) = find_child(&dir, component)? else {
            return Ok(None);
        };
        if !fs_at::is_dir(&stat) {
            return Ok(None);
        }
        dir = match fs_at::open_dir_at(&dir, &name) {
            Ok(child) => child,
            Err(error) if is_vanished(&error) => return Ok(None),
            Err(error) => return Err(error),
        };
        display.push(name_text);
    }
    Ok(Some((dir, display)))
}

/// Folders opened by one batch of lookups, by the components that named them. A
/// `delete_batch` names up to 1,000 files, mostly in a few folders: each folder is walked to
/// once (an open and a stat per level) instead of once per file. Live for one batch only, so
/// a folder moved later is not followed.
#[derive(Default)]
pub struct FolderCache(HashMap<Vec<String>, Option<(OwnedFd, Vec<String>)>>);

impl FolderCache {
    fn open(
        &mut self,
        root: &Root,
        components: &[String],
    ) -> io::Result<Option<(OwnedFd, Vec<String>)>> {
        if !self.0.contains_key(components) {
            let opened = open_folder(root, components)?;
            self.0.insert(components.to_vec(), opened);
        }
        match self.0.get(components) {
            Some(Some((dir, display))) => Ok(Some((dir.try_clone()?, display.clone()))),
            _ => Ok(None),
        }
    }
}

/// Finds the entry at `components` (not the root itself); `None` if anything is missing.
pub fn locate(
    root: &Root,
    components: &[String],
    folders: &mut FolderCache,
) -> io::Result<Option<Located>> {
    let Some((last, parents)) = components.split_last() else {
        return Ok(None);
    };
    let Some((parent, mut display)) = folders.open(root, parents)? else {
        return Ok(None);
    };
    let Some((name, name_text, stat)) = find_child(&parent, last)? else {
        return Ok(None);
    };
    display.push(name_text.clone());
    Ok(Some(Located {
        parent,
        name,
        name_text,
        display_path: join_path(&display),
        stat,
    }))
}

/// One walk of a folder: what may be reported, and what is still being written.
#[derive(Default)]
pub struct Scan {
    /// Stable files and folders by `path_lower`, in path order (parents before children).
    pub entries: BTreeMap<String, Metadata>,
    /// Files changed within the stability window, by `path_lower`.
    pub unstable: BTreeMap<String, Metadata>,
    /// When the first unstable file becomes stable, if nothing else touches it.
    pub next_stable_at: Option<SystemTime>,
    /// Things left out that an admin should hear about (a name differing only in case, …).
    pub skipped: Vec<String>,
}

/// What a walk needs to know besides the tree.
pub struct ScanRules {
    pub recursive: bool,
    pub stable_for: Duration,
    pub now: SystemTime,
}

fn changed_at(stat: &libc::stat) -> SystemTime {
    let (secs, nanos) = ctime_of(stat);
    let since_epoch = Duration::new(
        u64::try_from(secs).unwrap_or(0),
        u32::try_from(nanos).unwrap_or(0),
    );
    SystemTime::UNIX_EPOCH + since_epoch
}

/// Walks the folder at `components`; `None` if it does not exist (or is a file). A recursive
/// listing of a folder other than the root includes the folder itself, as Dropbox's does.
pub fn scan(root: &Root, components: &[String], rules: &ScanRules) -> io::Result<Option<Scan>> {
    let Some((dir, display)) = open_folder(root, components)? else {
        return Ok(None);
    };
    let mut scan = Scan::default();
    if rules.recursive
        && let Some(name) = display.last()
    {
        let stat = fs_at::stat_fd(dir.as_raw_fd())?;
        let path = join_path(&display);
        scan.entries.insert(
            path.to_lowercase(),
            Metadata::Folder(folder_metadata(&path, name, &stat)),
        );
    }
    walk(&dir, &join_path(&display), 0, rules, &mut scan, false)?;
    Ok(Some(scan))
}

/// One name in a folder being walked: as it is on disk, and as text.
struct Child {
    on_disk: OsString,
    text: String,
    /// `text` is the escaped form of a name that is not UTF-8, or lies below one.
    escaped: bool,
}

/// The names of `dir` a listing may report. A name that is not UTF-8, and every name below a
/// folder whose name is not (`below_escaped`), is shown escaped (`escape_name`): such a file
/// is listed, for the import to report it, never skipped in silence. Names that are text come
/// first, so if one spells the same as an escaped name, it is the one listed (and imported).
fn children(dir: &OwnedFd, below_escaped: bool) -> io::Result<Vec<Child>> {
    let mut names = Vec::new();
    for on_disk in fs_at::read_dir_at(dir)? {
        let (text, escaped) = match on_disk.to_str() {
            Some(text) if !below_escaped => (text.to_owned(), false),
            _ => (escape_name(on_disk.as_bytes()), true),
        };
        if !is_ignored_name(&text) {
            names.push(Child {
                on_disk,
                text,
                escaped,
            });
        }
    }
    names.sort_by(|a, b| {
        a.escaped
            .cmp(&b.escaped)
            .then_with(|| case_collision_order(&a.text, &b.text))
    });
    Ok(names)
}

/// Walks `dir`, shown as `folder`; `escaped` when `folder` holds an escaped name.
fn walk(
    dir: &OwnedFd,
    folder: &str,
    depth: usize,
    rules: &ScanRules,
    scan: &mut Scan,
    escaped: bool,
) -> io::Result<()> {
    for child in children(dir, escaped)? {
        let Child {
            on_disk,
            text: name,
            escaped,
        } = child;
        let stat = match fs_at::stat_at(dir, &on_disk) {
            Ok(stat) => stat,
            Err(error) if is_vanished(&error) => continue,
            Err(error) => {
                return Err(io::Error::new(
                    error.kind(),
                    format!("{folder}/{name}: {error}"),
                ));
            }
        };
        let path = format!("{folder}/{name}");
        let key = path.to_lowercase();
        if scan.entries.contains_key(&key) || scan.unstable.contains_key(&key) {
            // Dropbox cannot hold two names differing only in case: the one a lookup by
            // `path_lower` finds wins (see `case_collision_order`); the other waits its turn.
            scan.skipped.push(format!(
                "{path:?}: another name differs only in case; this one comes after it is gone"
            ));
            continue;
        }
        if fs_at::is_dir(&stat) {
            scan.entries
                .insert(key, Metadata::Folder(folder_metadata(&path, &name, &stat)));
            if !rules.recursive {
                continue;
            }
            if depth + 1 >= MAX_DEPTH {
                scan.skipped
                    .push(format!("{path:?}: deeper than {MAX_DEPTH} folders"));
                continue;
            }
            match fs_at::open_dir_at(dir, &on_disk) {
                Ok(child) => walk(&child, &path, depth + 1, rules, scan, escaped)?,
                Err(error) if is_vanished(&error) => {}
                Err(error) if error.kind() == io::ErrorKind::PermissionDenied => {
                    scan.skipped
                        .push(format!("{path:?}: cannot read the folder: {error}"));
                }
                Err(error) => return Err(io::Error::new(error.kind(), format!("{path}: {error}"))),
            }
        } else if fs_at::is_regular(&stat) {
            let mut file = file_metadata(&path, &name, &stat);
            file.escaped_name = escaped;
            let metadata = Metadata::File(file);
            let stable_at = changed_at(&stat) + rules.stable_for;
            if stable_at <= rules.now {
                scan.entries.insert(key, metadata);
            } else {
                scan.unstable.insert(key, metadata);
                scan.next_stable_at = Some(
                    scan.next_stable_at
                        .map_or(stable_at, |at| at.min(stable_at)),
                );
            }
        }
        // Symlinks, FIFOs, sockets and devices are not Dropbox content: skipped.
    }
    Ok(())
}
