//! Send to Dropbox and Share from All Files. The selection becomes an export request for one
//! account; the acting admin's right is checked with the library's own rule before a dialog
//! opens (so a denial reads as the CLI's), and the work runs off the UI task through the same
//! `export_checked`/`share_checked` the CLI verbs call, which check again and write the audit
//! row. The library is only read: a send never changes a file or a collection.

use crate::export::{ExportEvent, ExportSummary, ShareOutcome, export_checked, share_checked};
use crate::library::Library;
use crate::library::actions::AccountSummary;
use crate::library::organise::FileFilter;
use crate::library::store::links::BackendKind;

use super::ConsoleOptions;
use super::all_files::Marked;
use super::dialogs::send::SentDialog;
pub use super::dialogs::send::{SendJob, share_folder_hint};
use super::text::bytes;

/// Failed files a finished send lists one by one; the rest are counted.
pub const FAILURES_LISTED: usize = 6;

/// What it gave.
#[derive(Clone, Debug, PartialEq)]
pub enum SendDone {
    Exported(ExportSummary),
    Shared(ShareOutcome),
}

/// Run `job` as the console's admin. Blocking (Dropbox): call it from `spawn_blocking`. Each
/// event of the export engine goes to `events`; `Err` says what went wrong and what to do.
pub fn run(
    options: &ConsoleOptions,
    runtime: &tokio::runtime::Handle,
    job: SendJob,
    events: &dyn Fn(ExportEvent),
) -> Result<SendDone, String> {
    tracing::info!(?job, "console send");
    let outcome = run_unlogged(options, runtime, job, events);
    match &outcome {
        Ok(_) => tracing::info!("console send done"),
        Err(why) => tracing::warn!(%why, "console send failed"),
    }
    outcome
}

fn run_unlogged(
    options: &ConsoleOptions,
    runtime: &tokio::runtime::Handle,
    job: SendJob,
    events: &dyn Fn(ExportEvent),
) -> Result<SendDone, String> {
    let library = Library::open_existing(&options.data_dir, options.plans.clone())
        .map_err(|e| e.to_string())?;
    let actor = library
        .actor(options.as_admin.as_deref(), options.os_user.as_deref())
        .map_err(|e| e.to_string())?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let (backends, send) = (&options.engine.backends, &options.send);
    let actor = &actor;
    let work = async move {
        let done = match job {
            SendJob::Export(request) => {
                export_checked(library, actor, &request, backends, send, &tx)
                    .await
                    .map(SendDone::Exported)
            }
            SendJob::Share(request) => share_checked(library, actor, &request, backends, send, &tx)
                .await
                .map(SendDone::Shared),
        };
        // The relay below ends once the engine's sender is gone.
        drop(tx);
        done
    };
    let relay = async {
        while let Some(event) = rx.recv().await {
            events(event);
        }
    };
    let (done, ()) = runtime.block_on(async { tokio::join!(work, relay) });
    done.map_err(|e| e.to_string())
}

/// The files `*` marked are exactly a collection's (its filter on, nothing else, none unticked).
pub(crate) fn whole_collection(marked: &Marked) -> Option<&str> {
    let Marked::Matching {
        filter, exclude, ..
    } = marked
    else {
        return None;
    };
    let only_collection = FileFilter {
        account: filter.account.clone(),
        collection: filter.collection.clone(),
        ..FileFilter::default()
    };
    (exclude.is_empty() && *filter == only_collection)
        .then_some(filter.collection.as_deref())
        .flatten()
}

/// A filter as a person says it: `"hero", images, Dropbox uploads, in Summer`.
pub(crate) fn describe(filter: &FileFilter) -> String {
    let mut parts = vec![];
    if let Some(name) = &filter.name_contains {
        parts.push(if filter.name_fuzzy {
            format!("~{name:?}")
        } else {
            format!("{name:?}")
        });
    }
    if let Some(kind) = filter.kind {
        parts.push(format!("kind {}", kind.as_str()));
    }
    if filter.source.is_some() {
        parts.push("Dropbox uploads".into());
    }
    if let Some(collection) = &filter.collection {
        parts.push(format!("in {collection}"));
    }
    parts.join(", ")
}

pub(crate) fn plural(n: impl Into<u64>) -> &'static str {
    if n.into() == 1 { "" } else { "s" }
}

/// Shared links need the Dropbox API; a synced-folder link cannot make them.
pub(crate) fn can_share(summary: &AccountSummary) -> bool {
    summary
        .dropbox
        .as_ref()
        .is_some_and(|link| link.backend == BackendKind::Api)
}

/// What a finished send did; `shareable`: its folder may be shared from there.
pub(crate) fn sent_dialog(summary: &ExportSummary, shareable: bool) -> SentDialog {
    let (sent, failed) = (summary.sent.len(), summary.failed.len());
    let mut lines = vec![format!(
        "Sent {sent} file{} ({}) to {}",
        plural(sent as u64),
        bytes(summary.bytes_sent),
        summary.folder
    )];
    if failed > 0 {
        lines.push(format!(
            "{failed} file{} could not be sent; the library is unchanged:",
            plural(failed as u64)
        ));
        for file in summary.failed.iter().take(FAILURES_LISTED) {
            lines.push(format!("  {}: {}", file.name, file.reason));
        }
        if failed > FAILURES_LISTED {
            lines.push(format!(
                "  and {} more (see the log)",
                failed - FAILURES_LISTED
            ));
        }
    }
    SentDialog {
        title: if sent == 0 {
            "Not sent".into()
        } else {
            "Sent".into()
        },
        lines,
        failed: sent == 0,
        share: (sent > 0 && shareable)
            .then(|| SentDialog::share_folder(&summary.account, &summary.folder)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::formats::FileKind;

    #[test]
    fn a_filter_reads_as_a_person_says_it() {
        let filter = FileFilter {
            name_contains: Some("hero".into()),
            kind: Some(FileKind::Image),
            collection: Some("Summer".into()),
            ..FileFilter::default()
        };
        assert_eq!(describe(&filter), "\"hero\", kind image, in Summer");
    }
}
