//! What a direct upload reads from this machine's disk, decided one way for every caller (the
//! `upload` verb, the console's Upload…, `Library::add_local_file`): a symbolic link is not
//! followed unless asked, and then never into `/proc`, `/sys` or `/dev`; a file whose bytes the
//! account already has is skipped unless a copy is asked for.

use std::fmt;
use std::fs::File;
use std::io;
use std::path::Path;

use serde::Serialize;

use crate::library::model::{FileId, FileRecord};

/// Where a followed link never leads: the kernel's and the devices' state, not anyone's files
/// (reading `/dev/zero` never ends; `/proc/self/environ` holds secrets).
pub const SYSTEM_FOLDERS: [&str; 3] = ["/proc", "/sys", "/dev"];

/// How a direct upload treats what it is given. The default is the safe one: duplicates are
/// skipped, links are not followed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UploadOptions {
    /// Store a file even when the account already has its bytes (a second copy).
    pub allow_duplicates: bool,
    /// Follow symbolic links (never into [`SYSTEM_FOLDERS`], never round a cycle).
    pub follow_symlinks: bool,
}

/// What became of one file of a direct upload that did not fail.
#[derive(Clone, Debug, PartialEq)]
pub enum LocalUpload {
    /// Stored as this new file (boxed: a skip is small).
    Stored(Box<FileRecord>),
    /// Not read into the library, for this reason.
    Skipped(SkipReason),
}

/// Why an upload left a path out. Not a failure: a run that only skips succeeds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// The account already has these bytes, as this file (any row of the account counts).
    Duplicate(FileId),
    /// A symbolic link, and links are not followed.
    Symlink,
    /// A link that resolves into `/proc`, `/sys` or `/dev` (never followed).
    SystemFolder,
    /// A link to a folder it is inside: following it would never end.
    LinkCycle,
    /// A link whose target is missing (or a loop of links).
    BrokenLink,
}

impl SkipReason {
    /// The stable name scripts see (`upload --json`'s `reason`).
    pub fn as_str(&self) -> &'static str {
        match self {
            SkipReason::Duplicate(_) => "duplicate",
            SkipReason::Symlink => "symlink",
            SkipReason::SystemFolder => "system_folder",
            SkipReason::LinkCycle => "link_cycle",
            SkipReason::BrokenLink => "broken_link",
        }
    }

    /// The file already holding these bytes, for a duplicate.
    pub fn existing_file(&self) -> Option<FileId> {
        match self {
            SkipReason::Duplicate(id) => Some(*id),
            _ => None,
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Duplicate(id) => write!(f, "already in the library (file {id})"),
            SkipReason::Symlink => {
                f.write_str("symbolic link, not followed (use --follow-symlinks)")
            }
            SkipReason::SystemFolder => {
                f.write_str("symbolic link into /proc, /sys or /dev, never followed")
            }
            SkipReason::LinkCycle => {
                f.write_str("symbolic link to a folder it is inside (a cycle), not followed")
            }
            SkipReason::BrokenLink => {
                f.write_str("symbolic link to nothing (its target is missing), skipped")
            }
        }
    }
}

/// Why the symbolic link at `path` is left out; `None` when `path` is not a link, or is one
/// to follow. Only the last component counts: a path through a linked folder the user named
/// (`/home` on another disk) is theirs to name.
pub fn link_skip(path: &Path, follow: bool) -> io::Result<Option<SkipReason>> {
    if !std::fs::symlink_metadata(path)?.file_type().is_symlink() {
        return Ok(None);
    }
    if !follow {
        return Ok(Some(SkipReason::Symlink));
    }
    match std::fs::canonicalize(path) {
        Ok(target) if in_system_folder(&target) => Ok(Some(SkipReason::SystemFolder)),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound || is_link_loop(&e) => {
            Ok(Some(SkipReason::BrokenLink))
        }
        Err(e) => Err(e),
    }
}

/// Is `resolved` (a canonical path) inside one of [`SYSTEM_FOLDERS`]?
pub fn in_system_folder(resolved: &Path) -> bool {
    SYSTEM_FOLDERS
        .iter()
        .any(|folder| resolved.starts_with(folder))
}

#[cfg(unix)]
fn is_link_loop(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ELOOP)
}

#[cfg(not(unix))]
fn is_link_loop(_e: &io::Error) -> bool {
    false
}

/// Open a source file to read. Not following links, a link swapped in since it was checked
/// is refused by the kernel (`O_NOFOLLOW`), not read.
pub(crate) fn open_source(path: &Path, follow: bool) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    if !follow {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW);
    }
    #[cfg(not(unix))]
    let _ = follow;
    options.open(path)
}

/// The sha256 of a source file's bytes (read in full).
pub(crate) fn source_sha256(path: &Path, follow: bool) -> io::Result<String> {
    let mut file = open_source(path, follow)?;
    crate::library::blobs::sha256_of(&mut file).map(|(sha256, _)| sha256)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_folders_are_whole_components() {
        assert!(in_system_folder(Path::new("/proc/self/environ")));
        assert!(in_system_folder(Path::new("/dev")));
        assert!(!in_system_folder(Path::new("/processing/a.png")));
        assert!(!in_system_folder(Path::new("/home/sys/a.png")));
    }

    #[cfg(unix)]
    #[test]
    fn links_are_skipped_unless_followed_and_never_into_proc() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.png");
        std::fs::write(&file, b"x").unwrap();
        let link = dir.path().join("link.png");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        let proc_link = dir.path().join("environ");
        std::os::unix::fs::symlink("/proc/self/environ", &proc_link).unwrap();
        let dangling = dir.path().join("gone");
        std::os::unix::fs::symlink(dir.path().join("missing"), &dangling).unwrap();

        assert_eq!(link_skip(&file, false).unwrap(), None);
        assert_eq!(link_skip(&link, false).unwrap(), Some(SkipReason::Symlink));
        assert_eq!(link_skip(&link, true).unwrap(), None);
        assert_eq!(
            link_skip(&proc_link, true).unwrap(),
            Some(SkipReason::SystemFolder)
        );
        assert_eq!(
            link_skip(&dangling, true).unwrap(),
            Some(SkipReason::BrokenLink)
        );
        assert!(open_source(&link, false).is_err(), "O_NOFOLLOW");
        assert!(open_source(&link, true).is_ok());
    }
}
