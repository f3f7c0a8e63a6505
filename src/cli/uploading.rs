//! `smartimage upload`: files and folder trees from this machine's disk into All Files, under
//! the same rules as Dropbox imports. The source files are only ever read.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use smartimage::import::skip::is_system_file;
use smartimage::library::LibraryError;
use smartimage::terminal_text::escape_for_terminal;

use super::organise::FileJson;
use super::output::{bytes, json};
use super::{Context, Failure, Outcome};

/// Exit code when the upload ran but some files were refused (documented in README).
pub const EXIT_SOME_REJECTED: u8 = 4;

#[derive(Serialize)]
struct Refused {
    path: String,
    kind: String,
    detail: String,
}

#[derive(Serialize)]
struct UploadReport<'a> {
    uploaded: Vec<FileJson<'a>>,
    rejected: Vec<Refused>,
    failed: Vec<Refused>,
}

/// Every regular file under `paths`; folders are walked, symlinks inside them are not followed
/// (a link loop or a link out of the tree cannot pull in what was not asked for).
fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Failure> {
    let mut out = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path)
            .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
        if meta.is_dir() {
            walk(path, &mut out)
                .map_err(|e| Failure::runtime(format!("cannot read {}: {e}", path.display())))?;
        } else if meta.is_file() {
            out.push(path.clone());
        } else {
            return Err(Failure::usage(format!(
                "{} is neither a file nor a folder",
                path.display()
            )));
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let kind = entry.file_type()?;
        let name = entry.file_name();
        if is_system_file(&name.to_string_lossy()) {
            continue;
        }
        if kind.is_dir() {
            walk(&entry.path(), out)?;
        } else if kind.is_file() {
            out.push(entry.path());
        }
    }
    Ok(())
}

pub fn upload(cx: &mut Context, account: &str, paths: &[PathBuf], as_json: bool) -> Outcome {
    let actor = cx.actor()?;
    // Permission and account first: nothing is read before the answer is yes.
    let target = cx.library.account(account)?;
    actor.check(smartimage::library::permissions::Right::Organise(&target))?;
    let files = collect_files(paths)?;
    let bar = (!as_json && std::io::stdout().is_terminal()).then(|| {
        let bar = ProgressBar::new(files.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("[{bar:30}] {pos}/{len} files {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar
    });
    let say = |line: String| match &bar {
        Some(bar) => bar.println(line),
        None if !as_json => println!("{line}"),
        None => {}
    };
    let mut uploaded = Vec::new();
    let (mut rejected, mut failed) = (Vec::new(), Vec::new());
    if let Some(bar) = &bar {
        bar.set_message("reading and storing…");
    }
    let mut denied = None;
    cx.library
        .add_local_files(&actor, account, &files, |path, outcome| {
            let shown = escape_for_terminal(&path.display().to_string()).into_owned();
            match outcome {
                Ok(record) => {
                    say(format!(
                        "uploaded  {shown}  ({}) as file {}",
                        bytes(record.size),
                        record.id
                    ));
                    uploaded.push(record);
                }
                Err(LibraryError::Refused(refusal)) => {
                    say(format!("rejected  {shown}: {refusal}"));
                    rejected.push(Refused {
                        path: path.display().to_string(),
                        kind: refusal.kind().as_str().into(),
                        detail: refusal.to_string(),
                    });
                }
                Err(e @ LibraryError::PermissionDenied(_)) => denied = Some(e),
                Err(e) => {
                    say(format!("failed    {shown}: {e}"));
                    failed.push(Refused {
                        path: path.display().to_string(),
                        kind: "unknown".into(),
                        detail: e.to_string(),
                    });
                }
            }
            if let Some(bar) = &bar {
                bar.inc(1);
            }
        })?;
    if let Some(e) = denied {
        return Err(e.into());
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let total_bytes: u64 = uploaded.iter().map(|f| f.size).sum();
    let (rejected_count, failed_count) = (rejected.len(), failed.len());
    if as_json {
        json(&UploadReport {
            uploaded: uploaded.iter().map(FileJson::from).collect(),
            rejected,
            failed,
        })?;
    } else {
        println!(
            "Uploaded {} file(s) ({}) to {:?}; {rejected_count} rejected, {failed_count} failed. The source files were not changed.",
            uploaded.len(),
            bytes(total_bytes),
            target.name,
        );
    }
    if failed_count > 0 {
        return Err(Failure::runtime(format!(
            "{failed_count} file(s) could not be uploaded"
        )));
    }
    if rejected_count > 0 {
        return Err(Failure {
            message: format!("{rejected_count} file(s) were rejected"),
            code: EXIT_SOME_REJECTED,
        });
    }
    Ok(())
}
