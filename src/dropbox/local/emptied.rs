//! Removing the folders an import emptied. After the import deleted files, each folder they were
//! in goes if it is empty now, then its parent, and so on up to — never including — the account
//! folder; the first folder that is not empty ends the climb.
//!
//! `rmdir` is the emptiness check, so a file arriving at the same moment keeps its folder (the
//! kernel refuses, atomically), and nothing is ever deleted to make a folder empty: a folder
//! holding anything at all — a file that failed, a `.DS_Store` or `desktop.ini`, a partial file
//! of the Dropbox client, a killed smartimage's temp file — stays. (The Dropbox client syncs no
//! such system file, so one here was made on this server; it is not ours to delete.) Every step
//! walks from the root's descriptor without following a symlink, and `rmdir` of a symlink fails.

use std::io;

use super::fs_at;
use super::scan::{Root, find_child, open_folder};

/// Removes each of `folders` that is empty, then its parents while they are empty; never
/// `within` itself or anything not below it. Returns how many folders went. A folder that
/// cannot be removed for any other reason (permissions, a mount point) is logged and kept.
pub fn remove_emptied(root: &Root, within: &[String], folders: Vec<Vec<String>>) -> usize {
    let mut starts: Vec<Vec<String>> = folders
        .into_iter()
        .filter(|folder| is_below(folder, within))
        .collect();
    // Deepest first, so a parent is tried after every child the same batch emptied.
    starts.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    starts.dedup();
    let mut removed = 0;
    for mut folder in starts {
        while folder.len() > within.len() {
            match remove_if_empty(root, &folder) {
                Ok(true) => removed += 1,
                Ok(false) => break,
                Err(error) => {
                    tracing::warn!(
                        root = %root.path.display(),
                        folder = folder.join("/"),
                        "an emptied folder was left: {error}"
                    );
                    break;
                }
            }
            folder.pop();
        }
    }
    removed
}

/// Paths compare as Dropbox does, ignoring case.
fn is_below(folder: &[String], within: &[String]) -> bool {
    folder.len() > within.len()
        && folder
            .iter()
            .zip(within)
            .all(|(a, b)| a.to_lowercase() == b.to_lowercase())
}

/// `Ok(false)`: not empty, or not there (any more) as a real folder.
fn remove_if_empty(root: &Root, folder: &[String]) -> io::Result<bool> {
    let Some((name, parents)) = folder.split_last() else {
        return Ok(false);
    };
    let Some((parent, _)) = open_folder(root, parents)? else {
        return Ok(false);
    };
    if !root.contains(&parent) {
        return Ok(false);
    }
    let Some((on_disk, _, stat)) = find_child(&parent, name)? else {
        return Ok(false);
    };
    if !fs_at::is_dir(&stat) {
        return Ok(false);
    }
    match fs_at::rmdir_at(&parent, &on_disk) {
        Ok(()) => Ok(true),
        // Not empty (either errno), gone, or swapped for something that is not a folder.
        Err(error)
            if matches!(
                error.raw_os_error(),
                Some(libc::ENOTEMPTY | libc::EEXIST | libc::ENOENT | libc::ENOTDIR)
            ) =>
        {
            Ok(false)
        }
        Err(error) => Err(error),
    }
}
