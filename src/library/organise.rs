//! Listing files and organising them into collections, scoped to the accounts an admin may see.

use serde::Serialize;

use crate::library::actions::{Library, event, now};
use crate::library::error::{LibraryError, Result};
use crate::library::formats::FileKind;
use crate::library::model::{Account, AccountId, Collection, FileId, FileRecord, Source};
use crate::library::names::validate_name;
use crate::library::permissions::{Actor, Right};
use crate::library::store::audit;
use crate::library::store::collections as coll;
use crate::library::store::files::{self, FileQuery, SortKey, TrashFilter};
use crate::library::store::is_unique_violation;

/// Filters for `files list`, by name as people type them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileFilter {
    pub account: Option<String>,
    pub source: Option<Source>,
    pub collection: Option<String>,
    pub kind: Option<FileKind>,
    pub name_contains: Option<String>,
    /// Match `name_contains` fuzzily (its characters in order) instead of as a substring.
    pub name_fuzzy: bool,
    /// Only files from this camera (make and model, any case).
    pub camera: Option<String>,
    /// Only files taken on or after this day, and on or before `taken_to` (`YYYY-MM-DD`, the
    /// camera's clock). A file without a capture time is in no date range.
    pub taken_from: Option<String>,
    pub taken_to: Option<String>,
    /// The library (default) or the trash (the console's Trash view).
    pub trash: TrashFilter,
    /// Only duplicates (`store::files::DUPLICATE_OF`).
    pub duplicates_only: bool,
}

/// A day as `YYYY-MM-DD`, checked; `next` gives the day after (the exclusive end of a range).
fn day_bound(text: &str, what: &str, next: bool) -> Result<String> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let day = time::Date::parse(text.trim(), &format).map_err(|_| {
        LibraryError::InvalidInput(format!("{what} {text:?} is not a day like 2024-05-12"))
    })?;
    let day = if next {
        day.next_day().ok_or_else(|| {
            LibraryError::InvalidInput(format!("{what} {text:?} is past the last day there is"))
        })?
    } else {
        day
    };
    Ok(day.format(&format).unwrap_or_default())
}

/// Which side of the trash a listing shows, and whether only duplicates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListScope {
    pub trash: TrashFilter,
    /// Only files that are duplicates of an older file of their account
    /// (`store::files::DUPLICATE_OF`).
    pub duplicates_only: bool,
    /// The order (newest first); capture time and import time list newest first, the
    /// others A to Z and smallest first.
    pub sort: SortKey,
}

/// Which files a batch add takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileSelection {
    Ids(Vec<FileId>),
    /// Every file of the account from this source (held as a filter, not as ids).
    Source(Source),
    /// Every file of the account matching a filter, less some (the console's "select all").
    Matching {
        filter: FileFilter,
        exclude: Vec<FileId>,
    },
}

#[derive(Clone, Debug, Serialize)]
pub struct BatchAddOutcome {
    pub account: String,
    pub collection: String,
    pub created: bool,
    pub matched: u64,
    pub added: u64,
    pub already_in_collection: u64,
}

impl Library {
    fn visible_account(&self, actor: &Actor, name: &str) -> Result<Account> {
        let account = self.account(name)?;
        actor.check(Right::ViewAccount(&account))?;
        Ok(account)
    }

    /// Turn a filter into a store query limited to what the actor may see.
    pub fn file_query(&self, actor: &Actor, filter: &FileFilter) -> Result<FileQuery> {
        let mut query = FileQuery {
            accounts: actor.visible_accounts(),
            source: filter.source,
            kind: filter.kind,
            name_contains: filter.name_contains.clone(),
            name_fuzzy: filter.name_fuzzy,
            camera: filter
                .camera
                .as_deref()
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned),
            taken_from: filter
                .taken_from
                .as_deref()
                .map(|d| day_bound(d, "--taken-from", false))
                .transpose()?,
            taken_before: filter
                .taken_to
                .as_deref()
                .map(|d| day_bound(d, "--taken-to", true))
                .transpose()?,
            trash: filter.trash,
            duplicates_only: filter.duplicates_only,
            ..FileQuery::default()
        };
        if let (Some(from), Some(before)) = (&query.taken_from, &query.taken_before)
            && from >= before
        {
            return Err(LibraryError::InvalidInput(format!(
                "--taken-from {} is after --taken-to {}",
                filter.taken_from.as_deref().unwrap_or_default(),
                filter.taken_to.as_deref().unwrap_or_default()
            )));
        }
        if let Some(name) = &filter.account {
            query.accounts = Some(vec![self.visible_account(actor, name)?.id]);
        }
        if let Some(name) = &filter.collection {
            let c = self.store.connection();
            let mut found: Vec<Collection> = coll::list_collections(c, query.accounts.as_deref())?
                .into_iter()
                .filter(|col| col.name.to_lowercase() == name.trim().to_lowercase())
                .collect();
            query.collection = match found.len() {
                0 => {
                    return Err(LibraryError::NotFound(format!(
                        "there is no collection named {name:?}"
                    )));
                }
                1 => Some(found.remove(0).id),
                _ => {
                    return Err(LibraryError::InvalidInput(format!(
                        "several accounts have a collection named {name:?}; add --account NAME"
                    )));
                }
            };
        }
        Ok(query)
    }

    /// Newest first.
    pub fn list_files(&self, actor: &Actor, filter: &FileFilter) -> Result<Vec<FileRecord>> {
        self.list_files_in(actor, filter, ListScope::default())
    }

    /// Newest first: the files in the library, or those in the trash, or only duplicates.
    pub fn list_files_in(
        &self,
        actor: &Actor,
        filter: &FileFilter,
        scope: ListScope,
    ) -> Result<Vec<FileRecord>> {
        let mut query = self.file_query(actor, filter)?;
        query.sort = scope.sort;
        query.descending = matches!(
            scope.sort,
            SortKey::Imported | SortKey::Taken | SortKey::Size
        );
        query.trash = scope.trash;
        query.duplicates_only = scope.duplicates_only;
        Ok(files::list_files(self.store.connection(), &query)?)
    }

    pub fn list_collections(
        &self,
        actor: &Actor,
        account: Option<&str>,
    ) -> Result<Vec<(String, Collection)>> {
        let accounts = match account {
            Some(name) => Some(vec![self.visible_account(actor, name)?.id]),
            None => actor.visible_accounts(),
        };
        let c = self.store.connection();
        let names: std::collections::HashMap<AccountId, String> =
            crate::library::store::people::list_accounts(c)?
                .into_iter()
                .map(|a| (a.id, a.name))
                .collect();
        Ok(coll::list_collections(c, accounts.as_deref())?
            .into_iter()
            .map(|col| (names.get(&col.account).cloned().unwrap_or_default(), col))
            .collect())
    }

    /// Add files to a collection (creating it when `create`), in one transaction. Files already
    /// in it are not added twice; ids of other accounts or unknown ids change nothing.
    pub fn add_to_collection(
        &mut self,
        actor: &Actor,
        account: &str,
        collection: &str,
        create: bool,
        selection: &FileSelection,
    ) -> Result<BatchAddOutcome> {
        let account = self.account(account)?;
        actor.check(Right::Organise(&account))?;
        let collection = validate_name("collection name", collection)?;
        let at = now().unix_timestamp();
        let by = actor.admin.id;
        // Selections held as a filter become one query of this account; a console filter's
        // own scope is checked as the actor's first.
        let query = match selection {
            FileSelection::Ids(_) => None,
            FileSelection::Source(source) => Some(FileQuery {
                source: Some(*source),
                ..FileQuery::default()
            }),
            FileSelection::Matching { filter, exclude } => Some(FileQuery {
                exclude: exclude.clone(),
                ..self.file_query(actor, filter)?
            }),
        }
        .map(|q| FileQuery {
            accounts: Some(vec![account.id]),
            ..q
        });
        self.store.transaction(|tx| -> Result<BatchAddOutcome> {
            let existing = coll::collection_by_name(tx, account.id, &collection)?;
            let (collection_id, collection_name, created) = match (existing, create) {
                (Some(col), false) => (col.id, col.name, false),
                (Some(col), true) => {
                    return Err(LibraryError::AlreadyExists(format!(
                        "{:?} already has a collection named {:?} (names are compared ignoring case); drop --create to add to it",
                        account.name, col.name
                    )));
                }
                (None, true) => {
                    let id = coll::create_collection(tx, account.id, &collection, by, at).map_err(|e| {
                        if is_unique_violation(&e) {
                            LibraryError::AlreadyExists(format!("a collection named {collection:?} already exists"))
                        } else {
                            e.into()
                        }
                    })?;
                    audit::record(tx, &event(actor, at, "collection.create", Some(account.id), &collection, None))?;
                    (id, collection.clone(), true)
                }
                (None, false) => {
                    return Err(LibraryError::NotFound(format!(
                        "{:?} has no collection named {collection:?}; pass --create to make it",
                        account.name
                    )));
                }
            };
            let (matched, added) = match (selection, &query) {
                (_, Some(query)) => {
                    let matched = files::count_files(tx, query)?;
                    (matched, coll::add_matching(tx, collection_id, query, by, at)?)
                }
                (FileSelection::Ids(ids), None) => {
                    let mut unique = ids.clone();
                    unique.sort_unstable();
                    unique.dedup();
                    let foreign: Vec<String> = unique
                        .iter()
                        .filter(|&&id| !matches!(files::file_by_id(tx, id), Ok(Some(f)) if f.account == account.id))
                        .map(|id| id.to_string())
                        .collect();
                    if !foreign.is_empty() {
                        return Err(LibraryError::NotFound(format!(
                            "no file with id {} in {:?}; nothing was added",
                            foreign.join(", "),
                            account.name
                        )));
                    }
                    (unique.len() as u64, coll::add_files(tx, collection_id, &unique, by, at)?)
                }
                (_, None) => (0, 0),
            };
            let detail = format!("{added} added, {} already there", matched - added);
            audit::record(tx, &event(actor, at, "collection.add", Some(account.id), &collection_name, Some(&detail)))?;
            Ok(BatchAddOutcome {
                account: account.name.clone(),
                collection: collection_name,
                created,
                matched,
                added,
                already_in_collection: matched - added,
            })
        })
    }
}
