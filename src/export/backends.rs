//! Sending through whichever Dropbox a link uses, and opening it for an account.

use std::sync::{Arc, Mutex};

use crate::dropbox::backend::BackendResult;
use crate::dropbox::sending::{
    DropboxSender, OutgoingFile, SendProgress, SendSettings, SentFile, SharedLink,
};
use crate::import::backends::{AnyBackend, BackendSettings};
use crate::library::Library;
use crate::library::model::Account;
use crate::library::store::links::{self, LinkRecord};

use super::engine::ExportError;

impl DropboxSender for AnyBackend {
    async fn send_files(
        &self,
        files: Vec<OutgoingFile>,
        settings: &SendSettings,
        progress: SendProgress,
    ) -> BackendResult<Vec<BackendResult<SentFile>>> {
        match self {
            AnyBackend::Local(b) => b.send_files(files, settings, progress).await,
            AnyBackend::Api(b) => b.send_files(files, settings, progress).await,
        }
    }

    async fn share(&self, path: &str) -> BackendResult<SharedLink> {
        match self {
            AnyBackend::Local(b) => b.share(path).await,
            AnyBackend::Api(b) => b.share(path).await,
        }
    }

    fn can_share(&self) -> BackendResult<()> {
        match self {
            AnyBackend::Local(b) => b.can_share(),
            AnyBackend::Api(b) => b.can_share(),
        }
    }

    async fn remove_leftovers(&self, folder: &str) -> BackendResult<usize> {
        match self {
            AnyBackend::Local(b) => b.remove_leftovers(folder).await,
            AnyBackend::Api(b) => b.remove_leftovers(folder).await,
        }
    }
}

/// The account's live link, or why there is none.
pub fn live_link(library: &Library, account: &Account) -> Result<LinkRecord, ExportError> {
    links::live_link_of(library.store().connection(), account.id)
        .map_err(|error| ExportError::Library(error.into()))?
        .ok_or_else(|| ExportError::NotLinked {
            account: account.name.clone(),
        })
}

/// Opens the Dropbox backend of `account_name`'s link (the actor's rights are checked by
/// [`export`](super::export) and [`share`](super::share)).
pub fn open_backend(
    library: &Arc<Mutex<Library>>,
    account_name: &str,
    settings: &BackendSettings,
) -> Result<AnyBackend, ExportError> {
    let guard = library
        .lock()
        .map_err(|_| ExportError::Internal("the library lock is poisoned".into()))?;
    let account = guard.account(account_name)?;
    let link = live_link(&guard, &account)?;
    Ok(AnyBackend::open(&link, settings, guard.data_dir())?)
}
