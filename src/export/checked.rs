//! What a front end runs for an admin (the CLI's `export` and `share`, the console's Send and
//! Share): the right to send is checked before Dropbox is opened, so a denial never reaches
//! the network; then the account's backend is opened and the export or share runs (it checks
//! again and writes the audit row).

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc::UnboundedSender;

use super::backends::open_backend;
use super::engine::{ExportError, ExportSummary, export};
use super::events::ExportEvent;
use super::request::{ExportRequest, ShareRequest};
use super::share::{ShareOutcome, share};
use crate::dropbox::sending::SendSettings;
use crate::import::backends::BackendSettings;
use crate::library::Library;
use crate::library::permissions::Actor;

/// Checks, opens the account's Dropbox and sends the request's files.
pub async fn export_checked(
    library: Library,
    actor: &Actor,
    request: &ExportRequest,
    backends: &BackendSettings,
    send: &SendSettings,
    events: &UnboundedSender<ExportEvent>,
) -> Result<ExportSummary, ExportError> {
    library.account_for_sending(actor, &request.account)?;
    let library = Arc::new(Mutex::new(library));
    let backend = open_backend(&library, &request.account, backends)?;
    export(&library, actor, request, &backend, send, events).await
}

/// Checks, opens the account's Dropbox and creates (or reuses) the shared link.
pub async fn share_checked(
    library: Library,
    actor: &Actor,
    request: &ShareRequest,
    backends: &BackendSettings,
    send: &SendSettings,
    events: &UnboundedSender<ExportEvent>,
) -> Result<ShareOutcome, ExportError> {
    library.account_for_sending(actor, &request.account)?;
    let library = Arc::new(Mutex::new(library));
    let backend = open_backend(&library, &request.account, backends)?;
    share(&library, actor, request, &backend, send, events).await
}
