//! Direct upload from this machine's disk, shared by `smartimage upload` and the console's
//! Upload… dialog: which files a set of paths means, what they add up to, and an upload that
//! reports each file as [`EngineEvent`]s so front ends show it like any import. The source files
//! are only ever read.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};

use crate::library::ids::ItemId;
use crate::library::local_source::{LocalUpload, SkipReason, UploadOptions, link_skip};
use crate::library::permissions::Actor;
use crate::library::policy::ErrorKind;
use crate::library::{Library, LibraryError};

use super::events::{EngineEvent, UploadRef};
use super::skip::is_system_file;

/// Why `collect_files` stopped.
#[derive(Debug)]
pub enum CollectError {
    /// A path that was asked for cannot be read (missing, no permission).
    Unreadable {
        path: PathBuf,
        error: std::io::Error,
    },
    /// A path that was asked for is a device, socket or the like.
    NotAFileOrFolder(PathBuf),
    /// A folder inside the tree could not be listed.
    Walk {
        path: PathBuf,
        error: std::io::Error,
    },
}

impl std::fmt::Display for CollectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CollectError::Unreadable { path, error } | CollectError::Walk { path, error } => {
                write!(f, "cannot read {}: {error}", path.display())
            }
            CollectError::NotAFileOrFolder(path) => {
                write!(f, "{} is neither a file nor a folder", path.display())
            }
        }
    }
}

impl std::error::Error for CollectError {}

/// What a set of paths means to an upload: the files to read, in order, and what was left out
/// and why (links, unless followed).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Collected {
    pub files: Vec<PathBuf>,
    pub skipped: Vec<(PathBuf, SkipReason)>,
}

/// Every regular file under `paths`; folders are walked (sorted, system files such as
/// `.DS_Store` skipped). A symbolic link — named in `paths` or met in a tree — is skipped with
/// its reason unless `follow_symlinks`; followed, a link never leads into `/proc`, `/sys` or
/// `/dev`, nor to a folder it is inside (a cycle). The rule is [`link_skip`]'s, the one
/// `Library::add_local_files` applies.
pub fn collect_files(paths: &[PathBuf], follow_symlinks: bool) -> Result<Collected, CollectError> {
    let mut out = Collected::default();
    for path in paths {
        let unreadable = |error| CollectError::Unreadable {
            path: path.clone(),
            error,
        };
        if let Some(reason) = link_skip(path, follow_symlinks).map_err(unreadable)? {
            out.skipped.push((path.clone(), reason));
            continue;
        }
        let meta = std::fs::metadata(path).map_err(unreadable)?;
        if meta.is_dir() {
            let mut walk = Walk {
                follow_symlinks,
                ancestors: Vec::new(),
                out: &mut out,
            };
            walk.dir(path).map_err(|error| CollectError::Walk {
                path: path.clone(),
                error,
            })?;
        } else if meta.is_file() {
            out.files.push(path.clone());
        } else {
            return Err(CollectError::NotAFileOrFolder(path.clone()));
        }
    }
    Ok(out)
}

/// One folder tree being walked.
struct Walk<'a> {
    follow_symlinks: bool,
    /// The folders from the top to the one being listed, resolved (only when following links:
    /// otherwise no walk can come back round).
    ancestors: Vec<PathBuf>,
    out: &'a mut Collected,
}

impl Walk<'_> {
    fn dir(&mut self, dir: &Path) -> std::io::Result<()> {
        if self.follow_symlinks {
            let resolved = std::fs::canonicalize(dir)?;
            if self.ancestors.contains(&resolved) {
                self.out
                    .skipped
                    .push((dir.to_path_buf(), SkipReason::LinkCycle));
                return Ok(());
            }
            self.ancestors.push(resolved);
        }
        let listed = self.entries(dir);
        if self.follow_symlinks {
            self.ancestors.pop();
        }
        listed
    }

    fn entries(&mut self, dir: &Path) -> std::io::Result<()> {
        let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name();
            if is_system_file(&name.to_string_lossy()) {
                continue;
            }
            let path = entry.path();
            let mut kind = entry.file_type()?;
            if kind.is_symlink() {
                if let Some(reason) = link_skip(&path, self.follow_symlinks)? {
                    self.out.skipped.push((path, reason));
                    continue;
                }
                kind = std::fs::metadata(&path)?.file_type();
            }
            if kind.is_dir() {
                self.dir(&path)?;
            } else if kind.is_file() {
                self.out.files.push(path);
            }
        }
        Ok(())
    }
}

/// What an upload of some paths would take.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UploadPreview {
    pub files: u64,
    pub bytes: u64,
    /// The first few files, as given or found.
    pub first: Vec<PathBuf>,
}

/// How many files `preview` names.
pub const PREVIEW_NAMES: usize = 5;

/// Count the files under `paths` and their size (reads metadata only), as the console uploads
/// them: links not followed.
pub fn preview(paths: &[PathBuf]) -> Result<UploadPreview, CollectError> {
    let files = collect_files(paths, false)?.files;
    let bytes = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    Ok(UploadPreview {
        files: files.len() as u64,
        bytes,
        first: files.into_iter().take(PREVIEW_NAMES).collect(),
    })
}

/// Upload files are numbered below zero so their rows never meet a Dropbox import item's.
static NEXT_UPLOAD: AtomicI64 = AtomicI64::new(-1);

fn next_upload_id() -> ItemId {
    ItemId(NEXT_UPLOAD.fetch_sub(1, Ordering::Relaxed))
}

/// How an upload ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UploadSummary {
    pub uploaded: u64,
    pub uploaded_bytes: u64,
    /// Left out with a reason: already in the library, or a link.
    pub skipped: u64,
    pub rejected: u64,
    pub failed: u64,
}

/// Upload the files under `paths` to `account` through [`Library::add_local_files`]: every
/// file is announced as [`EngineEvent::UploadQueued`] first, then each one is reported as
/// stored, skipped or refused (with its reason). A permission denial or a store failure that
/// stops the whole upload is the `Err`.
pub fn upload(
    library: &mut Library,
    actor: &Actor,
    account: &str,
    paths: &[PathBuf],
    options: UploadOptions,
    mut events: impl FnMut(EngineEvent),
) -> Result<UploadSummary, String> {
    // Permission and account first: nothing is read before the answer is yes.
    let target = library.account(account).map_err(|e| e.to_string())?;
    actor
        .check(crate::library::permissions::Right::Organise(&target))
        .map_err(|e| e.to_string())?;
    let collected = collect_files(paths, options.follow_symlinks).map_err(|e| e.to_string())?;
    let upload_ref = |file: &Path| UploadRef {
        upload: next_upload_id(),
        account: target.name.clone(),
        path: file.display().to_string(),
        size: std::fs::metadata(file).map(|m| m.len()).unwrap_or(0),
    };
    let mut summary = UploadSummary::default();
    for (path, reason) in collected.skipped {
        let upload = upload_ref(&path);
        events(EngineEvent::UploadQueued(upload.clone()));
        summary.skipped += 1;
        events(EngineEvent::UploadSkipped { upload, reason });
    }
    let files = collected.files;
    // By path, in order: a file named twice (a folder and a file in it) is read twice, as
    // the CLI does, and each of its rows gets its own outcome (the second: a duplicate).
    let mut refs: HashMap<PathBuf, VecDeque<UploadRef>> = HashMap::new();
    for file in &files {
        let upload = upload_ref(file);
        events(EngineEvent::UploadQueued(upload.clone()));
        refs.entry(file.clone()).or_default().push_back(upload);
    }
    let mut denied = None;
    library
        .add_local_files(actor, &target.name, &files, options, |path, outcome| {
            let Some(upload) = refs.get_mut(path).and_then(VecDeque::pop_front) else {
                return;
            };
            match outcome {
                Ok(LocalUpload::Stored(record)) => {
                    summary.uploaded += 1;
                    summary.uploaded_bytes += record.size;
                    events(EngineEvent::Uploaded {
                        upload,
                        file: record.id,
                    });
                }
                Ok(LocalUpload::Skipped(reason)) => {
                    summary.skipped += 1;
                    events(EngineEvent::UploadSkipped { upload, reason });
                }
                Err(LibraryError::PermissionDenied(e)) => denied = Some(e.to_string()),
                Err(LibraryError::Refused(refusal)) => {
                    summary.rejected += 1;
                    events(EngineEvent::UploadRefused {
                        upload,
                        kind: refusal.kind(),
                        detail: refusal.to_string(),
                    });
                }
                Err(e) => {
                    summary.failed += 1;
                    events(EngineEvent::UploadRefused {
                        upload,
                        kind: ErrorKind::Unknown,
                        detail: e.to_string(),
                    });
                }
            }
        })
        .map_err(|e| e.to_string())?;
    if let Some(why) = denied {
        return Err(why);
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_are_walked_in_order_without_system_files_and_preview_adds_sizes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("b.jpg"), b"12345").unwrap();
        std::fs::write(dir.path().join(".DS_Store"), b"x").unwrap();
        std::fs::write(dir.path().join("sub/a.png"), b"123").unwrap();
        let files = collect_files(&[dir.path().to_path_buf()], false)
            .unwrap()
            .files;
        assert_eq!(
            files,
            vec![dir.path().join("b.jpg"), dir.path().join("sub/a.png")]
        );
        let p = preview(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!((p.files, p.bytes), (2, 8));
        assert!(matches!(
            collect_files(&[dir.path().join("missing")], false),
            Err(CollectError::Unreadable { .. })
        ));
    }

    #[test]
    fn upload_ids_are_negative_and_never_repeat() {
        let (a, b) = (next_upload_id(), next_upload_id());
        assert!(a < ItemId(0) && b < a);
    }
}
