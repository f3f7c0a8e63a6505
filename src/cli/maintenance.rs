//! Verbs that look after the library itself: `check` (and `check --adopt`) and `backup`.

use std::io::IsTerminal;
use std::path::Path;

use smartimage::import::lock::EngineLock;
use smartimage::library::check::{CheckOptions, CheckReport, PROBLEMS_LISTED_PER_KIND};

use super::output::{bytes, json};
use super::{Context, Failure, Outcome};

/// `check` found problems (1 stays "could not run").
pub const EXIT_PROBLEMS_FOUND: u8 = 5;

pub fn check(cx: &mut Context, read_data: bool, as_json: bool) -> Outcome {
    let actor = cx.actor()?;
    let options = CheckOptions {
        read_data,
        engine_running: EngineLock::is_held(cx.library.data_dir()),
    };
    let bar = (read_data && !as_json && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "re-hashing blobs {bar:30} {binary_bytes}/{binary_total_bytes} ({eta} left)",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let mut progress = |_done: u64, _all: u64, bytes_done: u64, bytes_all: u64| {
        if let Some(bar) = &bar {
            bar.set_length(bytes_all);
            bar.set_position(bytes_done);
        }
    };
    let report = cx.library.check(&actor, options, &mut progress)?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if as_json {
        json(&report)?;
    } else {
        print_check(&report);
    }
    if report.is_clean() {
        Ok(())
    } else {
        Err(Failure {
            message: format!(
                "check found {} problem(s); each line above says what to do",
                report.problems.len()
            ),
            code: EXIT_PROBLEMS_FOUND,
        })
    }
}

fn print_check(report: &CheckReport) {
    let t = &report.blob_table;
    println!(
        "Checked {} and {}{}: {} file row(s), {} blob(s) on disk ({} live, {} pinned, {} released).",
        report.database,
        report.blob_store,
        if report.read_data {
            format!(", re-hashing {}", bytes(report.bytes_read))
        } else {
            String::new()
        },
        report.files,
        report.blobs_on_disk,
        t.live,
        t.pinned,
        t.released
    );
    if report.is_clean() {
        println!("No problems found.");
        return;
    }
    let mut shown_of_kind = 0;
    let mut previous = None;
    let mut hidden = 0;
    for problem in &report.problems {
        if previous != Some(problem.kind) {
            if hidden > 0 {
                println!("  … and {hidden} more like it (--json lists them all)");
            }
            previous = Some(problem.kind);
            shown_of_kind = 0;
            hidden = 0;
        }
        shown_of_kind += 1;
        if shown_of_kind > PROBLEMS_LISTED_PER_KIND {
            hidden += 1;
            continue;
        }
        let kind = serde_json::to_value(problem.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        println!("{kind}: {}: {}", problem.subject, problem.detail);
        println!("  fix: {}", problem.fix);
    }
    if hidden > 0 {
        println!("  … and {hidden} more like it (--json lists them all)");
    }
}

pub fn adopt(cx: &mut Context, account: &str, as_json: bool) -> Outcome {
    let actor = cx.actor()?;
    let report = cx.library.adopt_unknown_blobs(&actor, account)?;
    if as_json {
        return json(&report);
    }
    match &report.collection {
        Some(collection) => println!(
            "Adopted {} file(s) ({}) into {:?}, collection {collection:?}, source \"recovered\".",
            report.adopted.len(),
            bytes(report.bytes),
            report.account
        ),
        None => println!("No blobs to adopt: the database knows every blob in the blob store."),
    }
    for file in &report.adopted {
        println!(
            "  file {}: {} ({}, {})",
            file.id,
            file.name,
            file.format,
            bytes(file.size)
        );
    }
    for sha256 in &report.corrupt {
        println!(
            "  not adopted: blob {sha256} no longer matches its name (its bytes changed on disk); \
             it was left where it is"
        );
    }
    println!("The blob store is bound to this database; the import engine may start.");
    Ok(())
}

pub fn backup(cx: &mut Context, to: &Path, as_json: bool) -> Outcome {
    let actor = cx.actor()?;
    let report = cx.library.backup(&actor, to)?;
    if as_json {
        return json(&report);
    }
    println!(
        "Backed up the library database to {} ({}, {} file row(s)).",
        report.path.display(),
        bytes(report.bytes),
        report.files
    );
    println!(
        "Back up {} too, with any file copy tool (its files never change). To restore: README, \
         \"Backup and restore\".",
        cx.library.blobs().root().display()
    );
    Ok(())
}
