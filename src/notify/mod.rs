//! Notifications (issue #23): the sender that delivers what the outbox holds — email over
//! SMTP (`email.rs`, lettre with rustls) and a signed JSON webhook (`webhook.rs`). What is
//! queued, for whom, is decided in `library::notifications` by whoever changes the state that
//! causes it; this module only sends (`sender.rs`), beside the engine on a task of its own, so
//! a failing mail server never slows or stops an import.

pub mod email;
pub mod sender;
pub mod webhook;

use std::time::Duration;

use crate::library::notifications::Queueing;

pub use email::EmailSettings;
pub use sender::{Sender, TestOutcome};
pub use webhook::WebhookSettings;

/// Where notifications go (config `[notify]`). The default sends nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NotifySettings {
    pub min_interval: Option<Duration>,
    pub email: Option<EmailSettings>,
    pub webhook: Option<WebhookSettings>,
}

impl NotifySettings {
    /// What the engine queues for these settings.
    pub fn queueing(&self) -> Queueing {
        let defaults = Queueing::default();
        Queueing {
            email: self.email.is_some(),
            webhook: self.webhook.is_some(),
            min_interval: self.min_interval.unwrap_or(defaults.min_interval),
        }
    }

    pub fn enabled(&self) -> bool {
        self.email.is_some() || self.webhook.is_some()
    }
}

/// Why one delivery did not go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendError {
    /// The server refused it for good (a permanent SMTP reply, a 4xx answer): not retried.
    pub permanent: bool,
    pub message: String,
}

impl SendError {
    pub fn transient(message: impl Into<String>) -> SendError {
        SendError {
            permanent: false,
            message: message.into(),
        }
    }
    pub fn permanent(message: impl Into<String>) -> SendError {
        SendError {
            permanent: true,
            message: message.into(),
        }
    }
}

/// A secret file (SMTP password, webhook secret): it must be readable by its owner only
/// (`0600` or stricter), since it is a credential. Returns its content without the trailing
/// newline.
pub fn read_secret_file(path: &std::path::Path, what: &str) -> Result<String, String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path)
        .map_err(|e| format!("cannot read the {what} file {}: {e}", path.display()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "the {what} file {} is mode {mode:04o}; it holds a credential and must be readable by \
             its owner only (chmod 600 {})",
            path.display(),
            path.display()
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the {what} file {}: {e}", path.display()))?;
    let secret = text.trim_end_matches(['\r', '\n']).to_owned();
    if secret.is_empty() {
        return Err(format!("the {what} file {} is empty", path.display()));
    }
    Ok(secret)
}
