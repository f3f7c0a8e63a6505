//! The pencil: which collections one file is in, changed in one transaction — ticked ones
//! added, unticked ones left, new ones created — with an audit row per change.

use serde::Serialize;

use crate::library::actions::{Library, event, now};
use crate::library::error::{LibraryError, Result};
use crate::library::model::{CollectionId, FileId};
use crate::library::names::validate_name;
use crate::library::permissions::{Actor, Right};
use crate::library::store::collections as coll;
use crate::library::store::{audit, files, is_unique_violation, people};

/// What an edit changed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CollectionEdit {
    pub added_to: Vec<String>,
    pub removed_from: Vec<String>,
    pub created: Vec<String>,
}

impl Library {
    /// Put file `id` in exactly the collections `keep` (ids of its account's collections) plus
    /// new ones named in `create`. Nothing changes unless all of it does.
    pub fn set_file_collections(
        &mut self,
        actor: &Actor,
        id: FileId,
        keep: &[CollectionId],
        create: &[String],
    ) -> Result<CollectionEdit> {
        let c = self.store.connection();
        let missing = || LibraryError::NotFound(format!("there is no file with id {id}"));
        let file = files::file_by_id(c, id)?.ok_or_else(missing)?;
        let account = people::account_by_id(c, file.account)?.ok_or_else(missing)?;
        actor.check(Right::Organise(&account))?;
        let create = create
            .iter()
            .map(|n| validate_name("collection name", n))
            .collect::<Result<Vec<_>>>()?;
        let at = now().unix_timestamp();
        let by = actor.admin.id;
        let target = format!("file {id} {:?}", file.name);
        self.store.transaction(|tx| -> Result<CollectionEdit> {
            let collections = coll::list_collections(tx, Some(&[account.id]))?;
            if let Some(foreign) = keep.iter().find(|k| !collections.iter().any(|c| c.id == **k)) {
                return Err(LibraryError::NotFound(format!(
                    "collection #{foreign} is not one of {:?}'s collections; nothing was changed",
                    account.name
                )));
            }
            let now_in = coll::collections_of_file(tx, id)?;
            let mut edit = CollectionEdit::default();
            for name in &create {
                let new = coll::create_collection(tx, account.id, name, by, at).map_err(|e| {
                    if is_unique_violation(&e) {
                        LibraryError::AlreadyExists(format!(
                            "{:?} already has a collection named {name:?} (names are compared ignoring case); tick it instead",
                            account.name
                        ))
                    } else {
                        e.into()
                    }
                })?;
                audit::record(tx, &event(actor, at, "collection.create", Some(account.id), name, None))?;
                coll::add_files(tx, new, &[id], by, at)?;
                audit::record(tx, &event(actor, at, "collection.add", Some(account.id), name, Some(&target)))?;
                edit.created.push(name.clone());
                edit.added_to.push(name.clone());
            }
            for col in &collections {
                let wanted = keep.contains(&col.id);
                let there = now_in.contains(&col.id);
                if wanted && !there {
                    coll::add_files(tx, col.id, &[id], by, at)?;
                    audit::record(tx, &event(actor, at, "collection.add", Some(account.id), &col.name, Some(&target)))?;
                    edit.added_to.push(col.name.clone());
                } else if there && !wanted {
                    coll::remove_file(tx, col.id, id)?;
                    audit::record(tx, &event(actor, at, "collection.remove", Some(account.id), &col.name, Some(&target)))?;
                    edit.removed_from.push(col.name.clone());
                }
            }
            Ok(edit)
        })
    }
}
