//! The trash and import undo: `files delete|restore`, `trash list|empty`, `import
//! history|undo`. Destructive verbs say how many files and how big before acting, take
//! `--dry-run`, and need `--yes` when standard input is not a terminal (exit 2 without it).

use smartimage::library::ids::{BatchId, FileId};
use std::io::{BufRead, IsTerminal, Write};

use clap::Subcommand;
use serde::Serialize;
use smartimage::library::organise::FileFilter;
use smartimage::library::store::batches::BatchSummary;
use smartimage::library::trash::{DEFAULT_HISTORY_LIMIT, TrashOutcome, TrashSelection};

use super::organise::{FileJson, SourceArg, print_files};
use super::output::{bytes, json, table, timestamp};
use super::{Context, Failure, Outcome};

#[derive(Subcommand, Debug)]
pub enum TrashCommand {
    /// Files in the trash, newest first (they still count against storage)
    List {
        #[arg(long, value_name = "NAME")]
        account: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Delete trashed files for good, freeing their storage (owners and operators)
    Empty {
        /// Only this account's trash [default: every account you may empty]
        #[arg(long, value_name = "NAME")]
        account: Option<String>,
        /// Only files trashed more than this many days ago
        #[arg(long, value_name = "DAYS")]
        older_than: Option<u64>,
        /// Say what would be deleted; delete nothing
        #[arg(long)]
        dry_run: bool,
        /// Do not ask (required when standard input is not a terminal)
        #[arg(long)]
        yes: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum ImportAction {
    /// Import passes and uploads (batches), newest first
    History {
        #[arg(long, value_name = "NAME")]
        account: Option<String>,
        /// At most this many batches
        #[arg(long, default_value_t = DEFAULT_HISTORY_LIMIT)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Move every file of a batch to the trash in one step (nothing goes back to Dropbox)
    Undo {
        /// The batch (see `smartimage import history`)
        #[arg(value_name = "BATCH")]
        batch: BatchId,
        /// Say what would move; move nothing
        #[arg(long)]
        dry_run: bool,
        /// Do not ask (required when standard input is not a terminal)
        #[arg(long)]
        yes: bool,
        #[arg(long)]
        json: bool,
    },
}

/// `files delete`: by ids, or every file matching the filters.
pub struct DeleteArgs {
    pub ids: Vec<FileId>,
    pub account: Option<String>,
    pub source: Option<SourceArg>,
    pub collection: Option<String>,
    pub dry_run: bool,
    pub yes: bool,
    pub json: bool,
}

/// Ask before a destructive step: `--yes` answers; on a terminal the admin does; otherwise
/// nothing happens (exit 2).
fn confirm(question: &str, yes: bool) -> Outcome {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Failure::usage(format!(
            "{question} — not confirmed: standard input is not a terminal, so pass --yes to \
             confirm (or --dry-run to see what would happen); nothing was changed"
        )));
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Failure::runtime(format!("cannot read the answer: {e}")))?;
    match answer.trim().to_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => Err(Failure::usage("not confirmed; nothing was changed")),
    }
}

fn how_many(o: &TrashOutcome) -> String {
    let accounts: Vec<String> = o
        .accounts
        .iter()
        .map(|a| format!("{:?}: {}, {}", a.account, a.files, bytes(a.bytes)))
        .collect();
    format!(
        "{} file(s), {}{}",
        o.files,
        bytes(o.bytes),
        if accounts.len() > 1 {
            format!(" ({})", accounts.join("; "))
        } else {
            String::new()
        }
    )
}

fn report(o: &TrashOutcome, as_json: bool, done: &str, would: &str) -> Outcome {
    if as_json {
        return json(o);
    }
    let verb = if o.dry_run { would } else { done };
    println!("{verb} {}", how_many(o));
    if o.unchanged > 0 {
        println!("{} file(s) were already there", o.unchanged);
    }
    Ok(())
}

pub fn delete(cx: &mut Context, args: DeleteArgs) -> Outcome {
    let actor = cx.actor()?;
    let by_filter = args.account.is_some() || args.source.is_some() || args.collection.is_some();
    let selection = match (args.ids.is_empty(), by_filter) {
        (false, false) => TrashSelection::Ids(args.ids),
        (true, true) => TrashSelection::Matching(FileFilter {
            account: args.account,
            source: args.source.map(Into::into),
            collection: args.collection,
            ..FileFilter::default()
        }),
        (false, true) => {
            return Err(Failure::usage(
                "name the files by FILE_ID... or by --account/--source/--collection, not both",
            ));
        }
        (true, false) => {
            return Err(Failure::usage(
                "name the files to delete: FILE_ID... or --account NAME / --source / --collection NAME",
            ));
        }
    };
    let preview = cx.library.trash_files(&actor, &selection, true)?;
    if args.dry_run || preview.files == 0 {
        return report(
            &preview,
            args.json,
            "Moved to the trash:",
            "Would move to the trash:",
        );
    }
    confirm(
        &format!(
            "Move {} to the trash? They still count against storage until the trash is emptied",
            how_many(&preview)
        ),
        args.yes,
    )?;
    let done = cx.library.trash_files(&actor, &selection, false)?;
    report(
        &done,
        args.json,
        "Moved to the trash:",
        "Would move to the trash:",
    )
}

pub fn restore(cx: &mut Context, ids: &[FileId], dry_run: bool, as_json: bool) -> Outcome {
    if ids.is_empty() {
        return Err(Failure::usage("name the files to restore: FILE_ID..."));
    }
    let actor = cx.actor()?;
    let done = cx.library.restore_files(&actor, ids, dry_run)?;
    report(&done, as_json, "Restored:", "Would restore:")
}

pub fn trash(cx: &mut Context, command: TrashCommand) -> Outcome {
    let actor = cx.actor()?;
    match command {
        TrashCommand::List { account, json: j } => {
            let files = cx.library.list_trash(&actor, account.as_deref())?;
            if j {
                return json(&files.iter().map(FileJson::from).collect::<Vec<_>>());
            }
            print_files(&files, true);
            Ok(())
        }
        TrashCommand::Empty {
            account,
            older_than,
            dry_run,
            yes,
            json: j,
        } => {
            let preview = cx
                .library
                .empty_trash(&actor, account.as_deref(), older_than, true)?;
            if dry_run || preview.files == 0 {
                return report(&preview, j, "Deleted for good:", "Would delete for good:");
            }
            confirm(
                &format!(
                    "Delete {} for good? Their storage is freed; this cannot be undone",
                    how_many(&preview)
                ),
                yes,
            )?;
            let done = cx
                .library
                .empty_trash(&actor, account.as_deref(), older_than, false)?;
            report(&done, j, "Deleted for good:", "Would delete for good:")
        }
    }
}

/// The stable JSON shape of a batch (README "JSON output").
#[derive(Serialize)]
struct BatchJson<'a> {
    batch: BatchId,
    account: &'a str,
    source: &'a str,
    started_at: String,
    started_by: Option<&'a str>,
    files: u64,
    bytes: u64,
    trashed: u64,
}

impl<'a> From<&'a BatchSummary> for BatchJson<'a> {
    fn from(b: &'a BatchSummary) -> Self {
        BatchJson {
            batch: b.batch,
            account: &b.account,
            source: b.source.as_str(),
            started_at: timestamp(b.started_at),
            started_by: b.started_by.as_deref(),
            files: b.files,
            bytes: b.bytes,
            trashed: b.trashed,
        }
    }
}

pub fn import_action(cx: &mut Context, action: ImportAction) -> Outcome {
    let actor = cx.actor()?;
    match action {
        ImportAction::History {
            account,
            limit,
            json: j,
        } => {
            let history = cx
                .library
                .import_history(&actor, account.as_deref(), limit)?;
            if j {
                return json(&history.iter().map(BatchJson::from).collect::<Vec<_>>());
            }
            let rows: Vec<Vec<String>> = history
                .iter()
                .map(|b| {
                    vec![
                        b.batch.to_string(),
                        b.account.clone(),
                        b.source.as_str().to_owned(),
                        timestamp(b.started_at),
                        b.files.to_string(),
                        bytes(b.bytes),
                        b.trashed.to_string(),
                    ]
                })
                .collect();
            table(
                &[
                    "BATCH",
                    "ACCOUNT",
                    "SOURCE",
                    "STARTED (UTC)",
                    "FILES",
                    "SIZE",
                    "IN TRASH",
                ],
                &rows,
            );
            Ok(())
        }
        ImportAction::Undo {
            batch,
            dry_run,
            yes,
            json: j,
        } => {
            let preview = cx.library.undo_import(&actor, batch, true)?;
            if dry_run || preview.files == 0 {
                return report(
                    &preview,
                    j,
                    "Moved to the trash:",
                    "Would move to the trash:",
                );
            }
            confirm(
                &format!(
                    "Undo import batch {batch}: move {} to the trash? Nothing goes back to Dropbox",
                    how_many(&preview)
                ),
                yes,
            )?;
            let done = cx.library.undo_import(&actor, batch, false)?;
            report(&done, j, "Moved to the trash:", "Would move to the trash:")
        }
    }
}
