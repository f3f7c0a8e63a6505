//! Verbs that send files back to Dropbox: `export` (files or a collection into the account's
//! downloads folder) and `share` (a Dropbox shared link, printed with a QR code on a terminal).

use smartimage::library::ids::FileId;
use std::collections::HashMap;
use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

use smartimage::config::Config;
use smartimage::export::engine::ExportError;
use smartimage::export::{
    ExportEvent, ExportRequest, ShareRequest, ShareTarget, export_checked, share_checked,
};
use smartimage::library::outgoing::OutgoingSelection;
use smartimage::qr_text::{QrPalette, qr_lines};
use smartimage::terminal_text::escape_for_terminal;
use tokio::sync::mpsc;

use super::linking::{backend_settings, runtime};
use super::output::{bytes, json};
use super::uploading::EXIT_SOME_REJECTED;
use super::{Context, Failure, Outcome};

impl From<ExportError> for Failure {
    fn from(e: ExportError) -> Self {
        Failure {
            message: e.to_string(),
            code: e.exit_code() as u8,
        }
    }
}

/// One line per event that matters to a person reading along.
fn event_line(event: &ExportEvent) -> Option<String> {
    let text = match event {
        ExportEvent::Planned {
            account,
            folder,
            files,
            bytes: total,
        } => format!(
            "sending   {files} files ({}) of {account:?} to {folder}",
            bytes(*total)
        ),
        ExportEvent::Sent { path, .. } => format!("sent      {path}"),
        ExportEvent::Retrying {
            name,
            attempt,
            reason,
            ..
        } => format!("retrying  {name} (attempt {attempt} failed: {reason})"),
        ExportEvent::Failed { name, reason, .. } => format!("failed    {name}: {reason}"),
        ExportEvent::Progress { .. } => return None,
    };
    Some(escape_for_terminal(&text).into_owned())
}

/// On a terminal: one bar for the bytes of the whole export, lines printed above it.
struct TotalBar {
    bar: ProgressBar,
    /// Bytes so far of each file in flight, by index.
    in_flight: HashMap<usize, u64>,
    done: u64,
}

impl TotalBar {
    fn new() -> TotalBar {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>6} [{bar:24}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix("sent");
        TotalBar {
            bar,
            in_flight: HashMap::new(),
            done: 0,
        }
    }

    fn update(&mut self, event: &ExportEvent) {
        match event {
            ExportEvent::Planned { bytes: total, .. } => self.bar.set_length(*total),
            ExportEvent::Progress { index, bytes, .. } => {
                self.in_flight.insert(*index, *bytes);
            }
            ExportEvent::Sent { index, .. } | ExportEvent::Failed { index, .. } => {
                self.done += self.in_flight.remove(index).unwrap_or_default();
            }
            ExportEvent::Retrying { index, .. } => {
                self.in_flight.remove(index);
            }
        }
        self.bar
            .set_position(self.done + self.in_flight.values().sum::<u64>());
    }
}

/// Prints events as they come (unless `quiet`), while `work` runs.
async fn with_events<T>(
    quiet: bool,
    work: impl FnOnce(mpsc::UnboundedSender<ExportEvent>) -> T,
) -> T::Output
where
    T: std::future::Future,
{
    let (events, mut inbox) = mpsc::unbounded_channel();
    let printer = tokio::spawn(async move {
        let on_terminal = !quiet && std::io::stdout().is_terminal();
        let mut total: Option<TotalBar> = None;
        while let Some(event) = inbox.recv().await {
            // A bar only once there is something to send (a share usually sends nothing).
            if on_terminal && total.is_none() && matches!(event, ExportEvent::Planned { .. }) {
                total = Some(TotalBar::new());
            }
            if let Some(total) = total.as_mut() {
                total.update(&event);
            }
            if !quiet && let Some(line) = event_line(&event) {
                match &total {
                    Some(total) => total.bar.println(line),
                    None => println!("{line}"),
                }
            }
        }
        if let Some(total) = total {
            total.bar.finish_and_clear();
        }
    });
    let outcome = work(events).await;
    let _ = printer.await;
    outcome
}

/// The right is checked before Dropbox is opened (by `export_checked`, as the console's Send).
pub fn export_files(
    cx: Context,
    config: &Config,
    account: &str,
    collection: Option<String>,
    ids: Vec<FileId>,
    to: Option<String>,
    as_json: bool,
) -> Outcome {
    let actor = cx.actor()?;
    let selection = match collection {
        Some(name) => OutgoingSelection::Collection(name),
        None => OutgoingSelection::Ids(ids),
    };
    let request = ExportRequest {
        account: account.to_owned(),
        selection,
        subfolder: to,
    };
    let backends = backend_settings(config, None);
    let settings = config.export.send_settings();
    let library = cx.library;
    let summary = runtime()?.block_on(with_events(as_json, |events| async move {
        export_checked(library, &actor, &request, &backends, &settings, &events).await
    }))?;
    if as_json {
        json(&summary)?;
    } else {
        println!(
            "Sent {} of {} files ({}) to {}",
            summary.sent.len(),
            summary.sent.len() + summary.failed.len(),
            bytes(summary.bytes_sent),
            escape_for_terminal(&summary.folder)
        );
    }
    match (summary.sent.is_empty(), summary.failed.is_empty()) {
        (_, true) => Ok(()),
        (true, false) => Err(Failure::runtime(format!(
            "no file could be sent to Dropbox; first reason: {}",
            summary.failed[0].reason
        ))),
        (false, false) => Err(Failure {
            message: format!(
                "{} files could not be sent (see above); the others are in Dropbox",
                summary.failed.len()
            ),
            code: EXIT_SOME_REJECTED,
        }),
    }
}

pub fn share_link(
    cx: Context,
    config: &Config,
    account: &str,
    target: ShareTarget,
    as_json: bool,
) -> Outcome {
    let actor = cx.actor()?;
    let request = ShareRequest {
        account: account.to_owned(),
        target,
    };
    let backends = backend_settings(config, None);
    let settings = config.export.send_settings();
    let library = cx.library;
    let outcome = runtime()?.block_on(with_events(as_json, |events| async move {
        share_checked(library, &actor, &request, &backends, &settings, &events).await
    }))?;
    if as_json {
        return json(&outcome);
    }
    println!("{}", escape_for_terminal(&outcome.link.url));
    if std::io::stdout().is_terminal()
        && let Some(lines) = qr_lines(&outcome.link.url, QrPalette::LightOnDark)
    {
        println!();
        for line in lines {
            println!("{line}");
        }
    }
    println!(
        "{} link to {}",
        if outcome.link.created {
            "New"
        } else {
            "Existing"
        },
        escape_for_terminal(&outcome.path)
    );
    Ok(())
}
