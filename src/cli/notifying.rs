//! Notifications from the command line: `notify status [--json]`, `notify test [--account]`,
//! and the sender started beside an engine (`serve`, `import --watch`) or after `import
//! --once`, which delivers what its pass queued before it exits.

use std::path::Path;
use std::time::Duration;

use clap::Subcommand;
use smartimage::config::Config;
use smartimage::library::actions::DATABASE_FILE;
use smartimage::notify::Sender;
use smartimage::terminal_text::escape_for_terminal;
use tokio::sync::watch;

use super::linking::runtime;
use super::output::{json, table, timestamp};
use super::{Context, Failure, Outcome};

/// How long `import --once` waits for what its pass queued to be delivered.
pub const ONCE_DELIVERY_WAIT: Duration = Duration::from_secs(10);
/// Rows `notify status` lists.
const STATUS_ROWS: u32 = 50;

#[derive(Subcommand, Debug)]
pub enum NotifyCommand {
    /// What was queued, sent and is failing (with the last error); owners see their accounts'
    /// notifications, operators all
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Send a test notification now: to an account's owners (and the admin who linked it), or
    /// to the operators; and to the webhook. Exit 0 when every server accepted it, 1 otherwise
    Test {
        #[arg(long, value_name = "NAME")]
        account: Option<String>,
    },
}

/// `on` or `off`, for `admin notify` and `account notify`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Switch {
    On,
    Off,
}

pub fn notify(cx: &mut Context, config: &Config, command: NotifyCommand) -> Outcome {
    let actor = cx.actor()?;
    match command {
        NotifyCommand::Status { json: as_json } => {
            let status = cx.library.notification_status(&actor, STATUS_ROWS)?;
            if as_json {
                return json(&status);
            }
            println!(
                "{} queued, {} sent, {} failing (retried), {} failed",
                status.queued, status.sent, status.failing, status.failed
            );
            let rows: Vec<Vec<String>> = status
                .deliveries
                .iter()
                .map(|d| {
                    vec![
                        d.id.to_string(),
                        timestamp(d.created_ms / 1000),
                        d.kind.clone(),
                        d.account_name
                            .clone()
                            .unwrap_or_else(|| "(operators)".into()),
                        d.recipient.clone().unwrap_or_else(|| "webhook".into()),
                        match (&d.state[..], &d.last_error) {
                            ("pending", Some(_)) => format!("failing ({} tries)", d.attempts),
                            (state, _) => state.to_owned(),
                        },
                        escape_for_terminal(d.last_error.as_deref().unwrap_or("")).into_owned(),
                    ]
                })
                .collect();
            if !rows.is_empty() {
                table(
                    &[
                        "ID",
                        "QUEUED (UTC)",
                        "WHAT",
                        "ACCOUNT",
                        "TO",
                        "STATE",
                        "LAST ERROR",
                    ],
                    &rows,
                );
            }
            Ok(())
        }
        NotifyCommand::Test { account } => {
            let settings = config.notify.settings();
            let (event, ids) =
                cx.library
                    .queue_test_notice(&actor, &settings.queueing(), account.as_deref())?;
            let sender = Sender::new(&cx.library.data_dir().join(DATABASE_FILE), settings);
            let rt = runtime()?;
            let outcome = rt
                .block_on(sender.send_now(ids))
                .map_err(|e| Failure::runtime(format!("cannot read the outbox: {e}")))?;
            for to in &outcome.accepted {
                println!("accepted: {to} (event {event})");
            }
            for (to, why) in &outcome.refused {
                println!("NOT sent: {to}: {}", escape_for_terminal(why));
            }
            if outcome.refused.is_empty() && !outcome.accepted.is_empty() {
                Ok(())
            } else {
                Err(Failure::runtime(format!(
                    "{} of {} test notification(s) were not accepted",
                    outcome.refused.len(),
                    outcome.refused.len() + outcome.accepted.len()
                )))
            }
        }
    }
}

/// The sender of a running engine: sends until the returned switch is set (or dropped).
pub fn spawn_sender(data_dir: &Path, config: &Config) -> Option<watch::Sender<bool>> {
    let settings = config.notify.settings();
    if !settings.enabled() {
        return None;
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let sender = Sender::new(&data_dir.join(DATABASE_FILE), settings);
    tokio::spawn(sender.run(stop_rx));
    Some(stop_tx)
}

/// After `import --once`: deliver what is due (its pass's notices among them), waiting up to
/// [`ONCE_DELIVERY_WAIT`]; what is left stays in the outbox for the next run.
pub fn deliver_after_once(data_dir: &Path, config: &Config, since_ms: i64) {
    let settings = config.notify.settings();
    if !settings.enabled() {
        return;
    }
    let sender = Sender::new(&data_dir.join(DATABASE_FILE), settings);
    let Ok(rt) = runtime() else {
        return;
    };
    match rt.block_on(sender.drain(since_ms, ONCE_DELIVERY_WAIT)) {
        Ok(0) => {}
        Ok(left) => println!(
            "{left} notification(s) not delivered yet ({}); they stay queued for the next run (smartimage notify status)",
            escape_for_terminal(
                &sender
                    .last_error()
                    .unwrap_or_else(|| "still sending".into())
            )
        ),
        Err(e) => eprintln!(
            "smartimage: warning: notifications: cannot read the outbox: {}",
            escape_for_terminal(&e)
        ),
    }
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Tell the operators that the engine stopped by itself (`serve`).
pub fn engine_stopped_unexpectedly(data_dir: &Path, config: &Config) {
    let Ok(library) = super::open_library(data_dir, config) else {
        return;
    };
    let queued = smartimage::library::notifications::tell_operators(
        library.store().connection(),
        &config.notify.settings().queueing(),
        "engine",
        "Smartimage: the import engine stopped unexpectedly",
        "The import engine of `smartimage serve` stopped by itself and is being restarted. If \
         this repeats, look at the service's log (journalctl -u smartimage) and `smartimage \
         status`.\n",
    );
    if let Err(error) = queued {
        tracing::warn!(%error, "could not queue the operators' notification");
    }
}
