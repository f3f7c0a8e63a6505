//! `smartimage upload`: files and folder trees from this machine's disk into All Files, under
//! the same rules as Dropbox imports. The source files are only ever read; bytes the account
//! already has, and links (unless followed), are skipped and said so.

use smartimage::library::ids::FileId;
use std::io::IsTerminal;
use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use smartimage::import::upload::{self, CollectError, Collected};
use smartimage::library::LibraryError;
use smartimage::library::local_source::{LocalUpload, SkipReason, UploadOptions};
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

/// A path left out: `reason` is `SkipReason::as_str`, `file` the file already holding its
/// bytes (a duplicate) or null.
#[derive(Serialize)]
struct Skipped {
    path: String,
    reason: &'static str,
    detail: String,
    file: Option<FileId>,
}

impl Skipped {
    fn new(path: &std::path::Path, reason: &SkipReason) -> Skipped {
        Skipped {
            path: path.display().to_string(),
            reason: reason.as_str(),
            detail: reason.to_string(),
            file: reason.existing_file(),
        }
    }
}

#[derive(Serialize)]
struct UploadReport<'a> {
    uploaded: Vec<FileJson<'a>>,
    rejected: Vec<Refused>,
    failed: Vec<Refused>,
    skipped: Vec<Skipped>,
}

/// The files `paths` mean (shared with the console's Upload… dialog).
fn collect_files(paths: &[PathBuf], follow_symlinks: bool) -> Result<Collected, Failure> {
    upload::collect_files(paths, follow_symlinks).map_err(|e| match e {
        CollectError::Walk { .. } => Failure::runtime(e.to_string()),
        _ => Failure::usage(e.to_string()),
    })
}

pub fn upload(
    cx: &mut Context,
    account: &str,
    paths: &[PathBuf],
    options: UploadOptions,
    as_json: bool,
    notify: &smartimage::library::notifications::Queueing,
) -> Outcome {
    let actor = cx.actor()?;
    // Permission and account first: nothing is read before the answer is yes.
    let target = cx.library.account(account)?;
    actor.check(smartimage::library::permissions::Right::Organise(&target))?;
    let Collected {
        files,
        skipped: left_out,
    } = collect_files(paths, options.follow_symlinks)?;
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
    let skip_line = |shown: &str, reason: &SkipReason| format!("skipped   {shown}: {reason}");
    // Links left out while collecting come first, then each file as its batch lands.
    let mut skipped: Vec<Skipped> = left_out
        .iter()
        .map(|(path, reason)| {
            let shown = escape_for_terminal(&path.display().to_string()).into_owned();
            say(skip_line(&shown, reason));
            Skipped::new(path, reason)
        })
        .collect();
    if let Some(bar) = &bar {
        bar.set_message("reading and storing…");
    }
    let mut denied = None;
    cx.library
        .add_local_files(&actor, account, &files, options, |path, outcome| {
            let shown = escape_for_terminal(&path.display().to_string()).into_owned();
            match outcome {
                Ok(LocalUpload::Skipped(reason)) => {
                    say(skip_line(&shown, &reason));
                    skipped.push(Skipped::new(path, &reason));
                }
                Ok(LocalUpload::Stored(record)) => {
                    say(format!(
                        "uploaded  {shown}  ({}) as file {}",
                        bytes(record.size),
                        record.id
                    ));
                    uploaded.push(*record);
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
    if !uploaded.is_empty() {
        // Sent by the next sender that runs (serve, import --watch, a console).
        if let Err(error) = cx.library.queue_plan_warnings(account, notify) {
            eprintln!("smartimage: could not look at the plan's usage for its warnings: {error}");
        }
    }
    let total_bytes: u64 = uploaded.iter().map(|f| f.size).sum();
    let (rejected_count, failed_count) = (rejected.len(), failed.len());
    let skipped_count = skipped.len();
    if as_json {
        json(&UploadReport {
            uploaded: uploaded.iter().map(FileJson::from).collect(),
            rejected,
            failed,
            skipped,
        })?;
    } else {
        println!(
            "Uploaded {} file(s) ({}) to {:?}; {skipped_count} skipped, {rejected_count} rejected, {failed_count} failed. The source files were not changed.",
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
