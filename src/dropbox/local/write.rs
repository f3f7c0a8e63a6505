//! Changing the synced folder: creating folders, uploading the report file, and deleting exactly
//! the revision that was imported. Every write goes to a hidden temporary name first (ignored by
//! the scanner and by Dropbox, see `leftovers.rs`) and is renamed into place, so no half file is
//! ever visible.

use std::ffi::OsStr;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};

use super::errors::{conflict, io_error, not_found, refused};
use super::fs_at;
use super::identity::{
    MAX_NAME_BYTES, file_metadata, folder_metadata, is_ignored_name, join_path, rev_of,
};
use super::leftovers::{
    DELETING_PURPOSE, UPLOAD_PURPOSE, create_temporary, sweep_dir, temporary_name,
};
use super::scan::{Located, Root, find_child};
use crate::dropbox::backend::{BackendError, BackendResult};
use crate::dropbox::wire::{FileMetadata, FolderMetadata, Metadata, WriteMode};

/// How many ` (n)` suffixes autorename tries before giving up.
const MAX_AUTORENAME: u32 = 10_000;

fn same_inode(a: &libc::stat, b: &libc::stat) -> bool {
    a.st_dev == b.st_dev && a.st_ino == b.st_ino
}

/// Opens (creating what is missing) the folder at `components`, matching existing folders
/// case-insensitively. A file in the way is a conflict.
pub fn ensure_folder_chain(
    root: &Root,
    components: &[String],
) -> BackendResult<(OwnedFd, Vec<String>, libc::stat)> {
    let mut dir =
        fs_at::open_dir_at(&root.fd, OsStr::new(".")).map_err(|error| io_error("", error))?;
    let mut display: Vec<String> = Vec::with_capacity(components.len());
    let mut stat = fs_at::stat_fd(dir.as_raw_fd()).map_err(|error| io_error("", error))?;
    for component in components {
        let here = format!("{}/{component}", join_path(&display));
        if is_ignored_name(component) {
            return Err(refused(&format!(
                "path/disallowed_name/ {here:?} is a name Dropbox does not store"
            )));
        }
        let found = find_child(&dir, component).map_err(|error| io_error(&here, error))?;
        let name = match found {
            Some((_, name, found_stat)) if fs_at::is_dir(&found_stat) => name,
            Some(_) => {
                return Err(conflict(&format!(
                    "path/conflict/file/ {here:?} is a file, not a folder"
                )));
            }
            None => match fs_at::mkdir_at(&dir, OsStr::new(component)) {
                Ok(()) => component.clone(),
                // Someone made it meanwhile: fine, if it is a folder (open_dir_at checks).
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => component.clone(),
                Err(error) => return Err(io_error(&here, error)),
            },
        };
        dir =
            fs_at::open_dir_at(&dir, OsStr::new(&name)).map_err(|error| io_error(&here, error))?;
        stat = fs_at::stat_fd(dir.as_raw_fd()).map_err(|error| io_error(&here, error))?;
        display.push(name);
    }
    Ok((dir, display, stat))
}

pub fn ensure_folder(root: &Root, components: &[String]) -> BackendResult<FolderMetadata> {
    let (_, display, stat) = ensure_folder_chain(root, components)?;
    let name = display.last().cloned().unwrap_or_default();
    Ok(folder_metadata(&join_path(&display), &name, &stat))
}

/// `name (1).txt`, `name (2).txt`, …: the suffix goes before the extension.
fn numbered_name(name: &str, number: u32) -> String {
    match name.rfind('.') {
        Some(dot) if dot > 0 => format!("{} ({number}){}", &name[..dot], &name[dot..]),
        _ => format!("{name} ({number})"),
    }
}

pub(super) fn free_name(dir: &OwnedFd, name: &str, folder: &str) -> BackendResult<String> {
    for number in 1..=MAX_AUTORENAME {
        let candidate = numbered_name(name, number);
        if candidate.len() > MAX_NAME_BYTES {
            break;
        }
        let taken = find_child(dir, &candidate)
            .map_err(|error| io_error(&format!("{folder}/{candidate}"), error))?;
        if taken.is_none() {
            return Ok(candidate);
        }
    }
    Err(conflict(&format!(
        "path/conflict/file/ no free name for {folder}/{name}"
    )))
}

fn has_content(dir: &OwnedFd, name: &OsStr, stat: &libc::stat, bytes: &[u8]) -> io::Result<bool> {
    if stat.st_size as u64 != bytes.len() as u64 {
        return Ok(false);
    }
    let mut existing = Vec::with_capacity(bytes.len());
    fs_at::open_file_at(dir, name)?.read_to_end(&mut existing)?;
    Ok(existing == bytes)
}

/// Writes `bytes` under a temporary name, flushes, then renames it to `name` (replacing only
/// when asked). Returns the new file's metadata.
fn write_file(
    dir: &OwnedFd,
    folder: &str,
    name: &str,
    bytes: &[u8],
    replace: bool,
) -> BackendResult<FileMetadata> {
    let path = format!("{folder}/{name}");
    let (temporary, mut file) =
        create_temporary(dir, UPLOAD_PURPOSE).map_err(|error| io_error(&path, error))?;
    let written = (|| -> io::Result<libc::stat> {
        file.write_all(bytes)?;
        file.sync_all()?;
        let stat = fs_at::stat_fd(file.as_raw_fd())?;
        fs_at::rename_at(dir, &temporary, OsStr::new(name), replace)?;
        fs_at::sync_dir(dir)?;
        Ok(stat)
    })();
    match written {
        Ok(stat) => Ok(file_metadata(&path, name, &stat)),
        Err(error) => {
            let _ = fs_at::unlink_at(dir, &temporary);
            if error.kind() == io::ErrorKind::AlreadyExists {
                return Err(conflict(&format!(
                    "path/conflict/file/ {path:?} appeared while writing"
                )));
            }
            Err(io_error(&path, error))
        }
    }
}

/// The file name in `components` and its folder, made if missing (open, and as displayed),
/// with stale temp files of earlier writes there swept: where a new file goes. Refused as
/// Dropbox refuses: no name (the root) or a name it does not store.
pub(super) fn folder_to_write_in<'a>(
    root: &Root,
    components: &'a [String],
) -> BackendResult<(&'a String, OwnedFd, String)> {
    let Some((name, parents)) = components.split_last() else {
        return Err(refused("path/malformed_path/ cannot write to the root"));
    };
    if is_ignored_name(name) {
        return Err(refused(&format!(
            "path/disallowed_name/ {name:?} is a name Dropbox does not store"
        )));
    }
    let (dir, display, _) = ensure_folder_chain(root, parents)?;
    let folder = join_path(&display);
    sweep_dir(&dir, &folder);
    Ok((name, dir, folder))
}

/// Dropbox's `files/upload` write modes: absent target ⇒ written; folder ⇒
/// conflict; identical content ⇒ nothing written; otherwise by `mode` and `autorename`.
pub fn upload(
    root: &Root,
    components: &[String],
    bytes: &[u8],
    mode: &WriteMode,
    autorename: bool,
) -> BackendResult<FileMetadata> {
    let (name, dir, folder) = folder_to_write_in(root, components)?;
    let path = format!("{folder}/{name}");
    let existing = find_child(&dir, name).map_err(|error| io_error(&path, error))?;
    let Some((on_disk, on_disk_text, stat)) = existing else {
        return write_file(&dir, &folder, name, bytes, false);
    };
    if !fs_at::is_regular(&stat) {
        return Err(conflict(&format!(
            "path/conflict/folder/ {path:?} is a folder"
        )));
    }
    if has_content(&dir, &on_disk, &stat, bytes).map_err(|error| io_error(&path, error))? {
        return Ok(file_metadata(
            &format!("{folder}/{on_disk_text}"),
            &on_disk_text,
            &stat,
        ));
    }
    let may_replace = match mode {
        WriteMode::Add => false,
        WriteMode::Overwrite => true,
        WriteMode::Update(rev) if rev_of(&stat) == *rev => {
            return replace_exact(&dir, &folder, &on_disk, &on_disk_text, &stat, bytes);
        }
        WriteMode::Update(_) => false,
    };
    if may_replace {
        // Keep the existing spelling, as Dropbox keeps the existing path's case.
        write_file(&dir, &folder, &on_disk_text, bytes, true)
    } else if autorename {
        let free = free_name(&dir, name, &folder)?;
        write_file(&dir, &folder, &free, bytes, false)
    } else {
        Err(conflict(&format!("path/conflict/file/ {path:?} exists")))
    }
}

/// Puts `bytes` in place of `name` only if it is still the file `checked` (inode and rev), as
/// Dropbox's `update` write mode does: the new bytes are written and flushed under a temporary
/// name, the old file is renamed aside and checked there, and only then does the new one take
/// its name. A file changed at the last moment is put back (never replaced unseen): a conflict.
fn replace_exact(
    dir: &OwnedFd,
    folder: &str,
    name: &OsStr,
    name_text: &str,
    checked: &libc::stat,
    bytes: &[u8],
) -> BackendResult<FileMetadata> {
    let path = format!("{folder}/{name_text}");
    let (temporary, mut file) =
        create_temporary(dir, UPLOAD_PURPOSE).map_err(|error| io_error(&path, error))?;
    let staged = (|| -> io::Result<libc::stat> {
        file.write_all(bytes)?;
        file.sync_all()?;
        fs_at::stat_fd(file.as_raw_fd())
    })();
    let give_up = |error: BackendError| {
        let _ = fs_at::unlink_at(dir, &temporary);
        Err(error)
    };
    let stat = match staged {
        Ok(stat) => stat,
        Err(error) => return give_up(io_error(&path, error)),
    };
    // Held aside like a file being deleted: a crash here leaves it for a person, never swept.
    let aside = temporary_name(DELETING_PURPOSE);
    match fs_at::rename_at(dir, name, &aside, false) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return give_up(conflict(&format!(
                "path/conflict/file/ {path:?} went away while being replaced"
            )));
        }
        Err(error) => return give_up(io_error(&path, error)),
    }
    let moved = fs_at::stat_at(dir, &aside);
    let unchanged = moved
        .as_ref()
        .is_ok_and(|moved| same_inode(moved, checked) && rev_of(moved) == rev_of(checked));
    let placed = if unchanged {
        fs_at::rename_at(dir, &temporary, name, false)
    } else {
        Err(io::Error::other("changed"))
    };
    if let Err(error) = placed {
        put_back(dir, &aside, name, name_text, &path);
        return give_up(
            if unchanged && error.kind() != io::ErrorKind::AlreadyExists {
                io_error(&path, error)
            } else {
                conflict(&format!(
                    "path/conflict/file/ {path:?} changed while being replaced"
                ))
            },
        );
    }
    if let Err(error) = fs_at::unlink_at(dir, &aside) {
        tracing::warn!(path, ?aside, "could not remove the replaced file: {error}");
    }
    fs_at::sync_dir(dir).map_err(|error| io_error(&path, error))?;
    Ok(file_metadata(&path, name_text, &stat))
}

/// Returns a file renamed aside to `name` (or next to it, never over another).
fn put_back(dir: &OwnedFd, aside: &OsStr, name: &OsStr, name_text: &str, path: &str) {
    if fs_at::rename_at(dir, aside, name, false).is_err() {
        let beside = numbered_name(name_text, 1);
        if let Err(error) = fs_at::rename_at(dir, aside, OsStr::new(&beside), false) {
            tracing::error!(path, ?aside, "could not put back a file set aside: {error}");
        }
    }
}

/// Deletes the file at `located` only if it is still at `parent_rev`. The file is first renamed
/// to a hidden name in the same folder, and its inode and rev checked again there, so a file
/// swapped in at the last moment is put back instead of deleted.
pub fn delete_exact(
    root: &Root,
    located: Located,
    parent_rev: Option<&str>,
) -> BackendResult<Metadata> {
    let path = located.display_path.clone();
    if fs_at::is_dir(&located.stat) {
        return Err(refused(&format!(
            "path_lookup/not_file/ {path:?} is a folder; folders are never deleted"
        )));
    }
    if !fs_at::is_regular(&located.stat) || !root.contains(&located.parent) {
        return Err(not_found(&path));
    }
    let Some(parent_rev) = parent_rev else {
        return Err(refused(&format!(
            "path_write/ {path:?}: the local backend deletes only with parent_rev"
        )));
    };
    if rev_of(&located.stat) != parent_rev {
        return Err(conflict(&format!(
            "path_write/conflict/file/ {path:?} is no longer at rev {parent_rev}"
        )));
    }
    let quarantine = temporary_name(DELETING_PURPOSE);
    match fs_at::rename_at(&located.parent, &located.name, &quarantine, false) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Err(not_found(&path)),
        Err(error) => return Err(io_error(&path, error)),
    }
    let moved =
        fs_at::stat_at(&located.parent, &quarantine).map_err(|error| io_error(&path, error))?;
    if same_inode(&moved, &located.stat) && rev_of(&moved) == parent_rev {
        fs_at::unlink_at(&located.parent, &quarantine).map_err(|error| io_error(&path, error))?;
        return Ok(Metadata::File(file_metadata(
            &path,
            &located.name_text,
            &moved,
        )));
    }
    // Not the file we checked: put it back where it was (or next to it, never over another).
    if fs_at::rename_at(&located.parent, &quarantine, &located.name, false).is_err() {
        let aside = numbered_name(&located.name_text, 1);
        if let Err(error) =
            fs_at::rename_at(&located.parent, &quarantine, OsStr::new(&aside), false)
        {
            tracing::error!(
                path,
                ?quarantine,
                "could not restore a file changed during delete: {error}"
            );
        }
    }
    Err(conflict(&format!(
        "path_write/conflict/file/ {path:?} changed while being deleted"
    )))
}

/// Renames a folder at the top of the synced folder (an account's folder, when the account is
/// renamed). Never replaces anything: a different entry already at `to` is a conflict. A
/// case-only rename is allowed. Deeper moves are refused: nothing else needs them.
pub fn move_top_folder(
    root: &Root,
    from: &[String],
    to: &[String],
) -> BackendResult<FolderMetadata> {
    let ([from], [to]) = (from, to) else {
        return Err(refused(
            "only folders at the top of the synced folder can be moved",
        ));
    };
    if is_ignored_name(to) {
        return Err(refused(&format!(
            "path/disallowed_name/ {to:?} is a name Dropbox does not store"
        )));
    }
    let from_path = format!("/{from}");
    let to_path = format!("/{to}");
    let dir = fs_at::open_dir_at(&root.fd, OsStr::new(".")).map_err(|error| io_error("", error))?;
    let (from_name, _, stat) =
        match find_child(&dir, from).map_err(|error| io_error(&from_path, error))? {
            Some(found) if fs_at::is_dir(&found.2) => found,
            Some(_) => {
                return Err(conflict(&format!(
                    "from_write/ {from_path:?} is a file, not a folder"
                )));
            }
            None => return Err(not_found(&from_path)),
        };
    let existing = find_child(&dir, to).map_err(|error| io_error(&to_path, error))?;
    if existing.is_some_and(|(name, _, _)| name != from_name) {
        return Err(conflict(&format!(
            "to/conflict/folder/ {to_path:?} already exists"
        )));
    }
    fs_at::rename_at(&dir, &from_name, OsStr::new(to), false)
        .map_err(|error| io_error(&to_path, error))?;
    fs_at::sync_dir(&dir).map_err(|error| io_error("", error))?;
    Ok(folder_metadata(&to_path, to, &stat))
}
