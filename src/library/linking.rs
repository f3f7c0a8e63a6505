//! Recording Dropbox links in the library: permission-checked and audited. Talking to Dropbox
//! happens above this layer (`import::linking`); here a link is data.

use crate::library::actions::{Library, event, now};
use crate::library::error::{LibraryError, Result};
use crate::library::model::Account;
use crate::library::permissions::{Actor, Right};
use crate::library::store::audit;
use crate::library::store::links::{self, LinkId, LinkRecord, LinkState, NewConnection};

impl Library {
    /// The account, if the actor may link Dropbox to it (owners and delegated admins).
    pub fn account_for_linking(&self, actor: &Actor, account: &str) -> Result<Account> {
        let account = self.account(account)?;
        actor.check(Right::LinkDropbox(&account))?;
        Ok(account)
    }

    /// Store a new link of `account` to `folder_path` on a Dropbox connection.
    pub fn record_link(
        &mut self,
        actor: &Actor,
        account: &Account,
        connection: &NewConnection<'_>,
        folder_path: &str,
    ) -> Result<LinkRecord> {
        actor.check(Right::LinkDropbox(account))?;
        let c = self.store.connection();
        if let Some(existing) = links::live_link_of(c, account.id)? {
            return Err(LibraryError::AlreadyExists(format!(
                "{:?} is already linked to Dropbox (folder {:?}); unlink it first",
                account.name, existing.folder_path
            )));
        }
        let at = now().unix_timestamp();
        let id = self.store.transaction(|tx| -> Result<LinkId> {
            let conn_id = links::upsert_connection(tx, connection, at)?;
            let clash = links::live_links(tx)?.into_iter().find(|l| {
                l.connection == conn_id && l.folder_path.to_lowercase() == folder_path.to_lowercase()
            });
            if let Some(other) = clash {
                return Err(LibraryError::AlreadyExists(format!(
                    "the Dropbox folder {folder_path:?} is already used by the account {:?}; rename one of the accounts",
                    other.account_name
                )));
            }
            let id = links::insert_link(tx, account.id, conn_id, folder_path, actor.admin.id, at)?;
            let detail = format!("{} {}", connection.backend.as_str(), folder_path);
            audit::record(tx, &event(actor, at, "link", Some(account.id), &account.name, Some(&detail)))?;
            Ok(id)
        })?;
        Ok(links::link_by_id(self.store.connection(), id)?.expect("link row just written"))
    }

    /// Unlink, pause or resume: the link row stays for the history of its files.
    pub fn set_link_state(
        &mut self,
        actor: &Actor,
        account: &str,
        state: LinkState,
    ) -> Result<LinkRecord> {
        let account = self.account(account)?;
        actor.check(Right::LinkDropbox(&account))?;
        let link = links::live_link_of(self.store.connection(), account.id)?.ok_or_else(|| {
            LibraryError::NotFound(format!("{:?} is not linked to Dropbox", account.name))
        })?;
        let at = now().unix_timestamp();
        let action = match state {
            LinkState::Unlinked => "unlink",
            LinkState::Paused => "link.pause",
            _ => "link.resume",
        };
        self.store.transaction(|tx| -> Result<()> {
            links::set_state(tx, link.id, state, None)?;
            audit::record(
                tx,
                &event(actor, at, action, Some(account.id), &account.name, None),
            )?;
            Ok(())
        })?;
        Ok(links::link_by_id(self.store.connection(), link.id)?.expect("link row exists"))
    }

    /// Links the actor may see.
    pub fn visible_links(&self, actor: &Actor) -> Result<Vec<LinkRecord>> {
        let visible = actor.visible_accounts();
        Ok(links::live_links(self.store.connection())?
            .into_iter()
            .filter(|l| visible.as_ref().is_none_or(|v| v.contains(&l.account)))
            .collect())
    }

    pub fn store_mut(&mut self) -> &mut crate::library::store::Store {
        &mut self.store
    }
}
