//! All Files for the console: pages, counts and one file's details, scoped to the accounts the
//! admin may see — the same rules `files list` follows.

use crate::library::ids::AccountId;
use std::sync::Arc;

use crate::library::actions::Library;
use crate::library::error::{LibraryError, Result};
use crate::library::model::{Collection, FileId, FileRecord};
use crate::library::organise::FileFilter;
use crate::library::permissions::{Actor, Right};
use crate::library::store::collections as coll;
use crate::library::store::file_pages::{self, PageStart};
use crate::library::store::name_index::NameHits;
use crate::library::store::{SortKey, files, people};

/// How All Files is sorted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileOrder {
    pub sort: SortKey,
    pub descending: bool,
}

impl Library {
    /// One page of files matching `filter`, in `order`, from `start`.
    pub fn file_page(
        &self,
        actor: &Actor,
        filter: &FileFilter,
        order: FileOrder,
        start: &PageStart,
        limit: u32,
    ) -> Result<Vec<FileRecord>> {
        self.file_page_among(actor, filter, order, start, limit, None)
    }

    /// [`Library::file_page`], told by the name index which files' names can contain the
    /// filter's text (`None`: read as usual).
    pub fn file_page_among(
        &self,
        actor: &Actor,
        filter: &FileFilter,
        order: FileOrder,
        start: &PageStart,
        limit: u32,
        name_hits: Option<Arc<NameHits>>,
    ) -> Result<Vec<FileRecord>> {
        let mut query = self.file_query(actor, filter)?;
        query.name_hits = name_hits;
        query.sort = order.sort;
        query.descending = order.descending;
        Ok(file_pages::page(
            self.store.connection(),
            &query,
            start,
            limit,
        )?)
    }

    /// How many files match `filter`, less `exclude`.
    pub fn count_matching(
        &self,
        actor: &Actor,
        filter: &FileFilter,
        exclude: &[FileId],
    ) -> Result<u64> {
        self.count_matching_among(actor, filter, exclude, None)
    }

    /// [`Library::count_matching`] with the name index's hits (see [`Library::file_page_among`]).
    pub fn count_matching_among(
        &self,
        actor: &Actor,
        filter: &FileFilter,
        exclude: &[FileId],
        name_hits: Option<Arc<NameHits>>,
    ) -> Result<u64> {
        let mut query = self.file_query(actor, filter)?;
        query.exclude = exclude.to_vec();
        query.name_hits = name_hits;
        Ok(file_pages::count(self.store.connection(), &query)?)
    }

    /// One file, if the actor may see its account.
    pub fn file_record(&self, actor: &Actor, id: FileId) -> Result<FileRecord> {
        let c = self.store.connection();
        let missing = || LibraryError::NotFound(format!("there is no file with id {id}"));
        let file = files::file_by_id(c, id)?.ok_or_else(missing)?;
        let account = people::account_by_id(c, file.account)?.ok_or_else(missing)?;
        actor.check(Right::ViewAccount(&account))?;
        Ok(file)
    }

    /// The collections of the account with this id, by name.
    pub fn collections_of(&self, actor: &Actor, account: AccountId) -> Result<Vec<Collection>> {
        let c = self.store.connection();
        let account = people::account_by_id(c, account)?
            .ok_or_else(|| LibraryError::NotFound(format!("there is no account #{account}")))?;
        actor.check(Right::ViewAccount(&account))?;
        Ok(coll::list_collections(c, Some(&[account.id]))?)
    }
}
