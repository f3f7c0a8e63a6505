//! Choosing what goes out of the library to Dropbox (export and share): permission-checked
//! (the same people who may link Dropbox), resolved to verified blobs on disk, and audited.
//! Reading only: sending files never changes a file or collection row.

use std::path::PathBuf;

use crate::library::actions::{Library, event, now};
use crate::library::error::{LibraryError, Result};
use crate::library::model::{Account, FileId, FileRecord};
use crate::library::organise::FileFilter;
use crate::library::permissions::{Actor, Right};
use crate::library::store::audit;
use crate::library::store::collections as coll;
use crate::library::store::files::{self, FileQuery};

/// Which files of one account go out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutgoingSelection {
    Ids(Vec<FileId>),
    Collection(String),
    /// A filter as All Files applies it (the account part is replaced by the account).
    Filter(FileFilter),
    /// Everything matching a filter less some files (the console's `*` with a few unticked).
    Matching {
        filter: FileFilter,
        exclude: Vec<FileId>,
    },
}

/// A file to send and where its bytes are.
#[derive(Clone, Debug)]
pub struct OutgoingItem {
    pub file: FileRecord,
    pub blob: PathBuf,
}

impl Library {
    /// The account, if the actor may send files to its Dropbox and share them.
    pub fn account_for_sending(&self, actor: &Actor, account: &str) -> Result<Account> {
        let account = self.account(account)?;
        actor.check(Right::SendToDropbox(&account))?;
        Ok(account)
    }

    /// The files of `selection`, each with its blob; `NotFound` names what is missing.
    pub fn outgoing_files(
        &self,
        actor: &Actor,
        account: &Account,
        selection: &OutgoingSelection,
    ) -> Result<Vec<OutgoingItem>> {
        actor.check(Right::SendToDropbox(account))?;
        let c = self.store.connection();
        let records = match selection {
            OutgoingSelection::Ids(ids) => {
                let mut records = Vec::with_capacity(ids.len());
                for id in ids {
                    match files::file_by_id(c, *id)? {
                        Some(file) if file.account == account.id => records.push(file),
                        _ => {
                            return Err(LibraryError::NotFound(format!(
                                "{:?} has no file #{id}",
                                account.name
                            )));
                        }
                    }
                }
                records
            }
            OutgoingSelection::Collection(name) => {
                let collection =
                    coll::collection_by_name(c, account.id, name.trim())?.ok_or_else(|| {
                        LibraryError::NotFound(format!(
                            "{:?} has no collection named {name:?}",
                            account.name
                        ))
                    })?;
                let query = FileQuery {
                    accounts: Some(vec![account.id]),
                    collection: Some(collection.id),
                    ..FileQuery::default()
                };
                files::list_files(c, &query)?
            }
            OutgoingSelection::Filter(filter) => {
                let filter = FileFilter {
                    account: Some(account.name.clone()),
                    ..filter.clone()
                };
                files::list_files(c, &self.file_query(actor, &filter)?)?
            }
            OutgoingSelection::Matching { filter, exclude } => {
                let filter = FileFilter {
                    account: Some(account.name.clone()),
                    ..filter.clone()
                };
                let query = FileQuery {
                    exclude: exclude.clone(),
                    ..self.file_query(actor, &filter)?
                };
                files::list_files(c, &query)?
            }
        };
        records
            .into_iter()
            .map(|file| {
                let blob = self
                    .blobs
                    .path_of(&file.sha256)
                    .filter(|path| path.is_file())
                    .ok_or_else(|| {
                    LibraryError::NotFound(format!(
                        "the bytes of file #{} ({:?}) are missing from the blob store; nothing was sent",
                        file.id, file.name
                    ))
                })?;
                Ok(OutgoingItem { file, blob })
            })
            .collect()
    }

    /// One audit row for an export or a share (`action` is `export` or `share`).
    pub fn record_sending(
        &mut self,
        actor: &Actor,
        account: &Account,
        action: &str,
        detail: &str,
    ) -> Result<()> {
        let at = now().unix_timestamp();
        self.store.transaction(|tx| -> Result<()> {
            audit::record(
                tx,
                &event(
                    actor,
                    at,
                    action,
                    Some(account.id),
                    &account.name,
                    Some(detail),
                ),
            )?;
            Ok(())
        })
    }
}
