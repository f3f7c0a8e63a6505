//! The error log of Dropbox imports, scoped to what an admin may see, and retrying from it.
//! It holds files that failed (what the customer's report lists), files waiting for their
//! next automatic try, and files an admin queued for a retry — from any process: the retry is
//! written to the journal, and the engine that runs takes it at its next tick.

use crate::library::ids::{ItemId, LinkId};
use crate::library::store::cached::CachedStatements;
use serde::Serialize;

use crate::library::actions::{Library, event, now};
use crate::library::error::{LibraryError, Result};
use crate::library::permissions::{Actor, Right};
use crate::library::policy::ErrorKind;
use crate::library::store::audit;
use crate::library::store::engine_commands::{self, CommandKind};
use crate::library::store::import_items::{self as journal, ImportItem, ItemState};
use crate::library::store::links;

#[derive(Clone, Debug, Serialize)]
pub struct FailureEntry {
    pub id: ItemId,
    pub account: String,
    pub path: String,
    pub size: u64,
    pub kind: ErrorKind,
    pub detail: String,
    pub format: Option<String>,
    pub attempts: u32,
    pub reported: bool,
    /// `Failed`, `Retrying` (from `next_attempt_at`) or `QueuedForRetry`.
    pub state: ItemState,
    pub next_attempt_at: Option<i64>,
    /// Where the TXT report that lists it is, in the account's Dropbox folder.
    #[serde(skip_serializing)]
    pub report_path: Option<String>,
    pub updated_at: i64,
}

impl FailureEntry {
    fn from_item(account: String, item: ImportItem, report_path: Option<String>) -> Self {
        FailureEntry {
            id: item.id,
            account,
            path: item.path,
            size: item.size,
            kind: item
                .error_kind
                .as_deref()
                .and_then(ErrorKind::parse)
                .unwrap_or(ErrorKind::Unknown),
            detail: item.error_detail.unwrap_or_default(),
            format: item.format,
            attempts: item.attempts,
            reported: item.report.is_some(),
            state: item.state,
            next_attempt_at: match item.state {
                ItemState::Retrying => item.next_attempt_at,
                // As soon as an engine runs.
                ItemState::QueuedForRetry => Some(item.updated_at),
                _ => None,
            },
            report_path,
            updated_at: item.updated_at,
        }
    }
}

/// The Dropbox path of report `id`.
fn report_path(c: &rusqlite::Connection, id: i64) -> rusqlite::Result<Option<String>> {
    use rusqlite::OptionalExtension;
    c.query_row_cached(
        "SELECT dropbox_path FROM reports WHERE id = ?1",
        [id],
        |r| r.get(0),
    )
    .optional()
}

impl Library {
    /// Failed imports the actor may see (of one account, or all theirs), newest first.
    pub fn import_failures(
        &self,
        actor: &Actor,
        account: Option<&str>,
    ) -> Result<Vec<FailureEntry>> {
        let accounts = match account {
            Some(name) => {
                let a = self.account(name)?;
                actor.check(Right::ViewAccount(&a))?;
                Some(vec![a.id])
            }
            None => actor.visible_accounts(),
        };
        let c = self.store.connection();
        journal::failures(c, accounts.as_deref())?
            .into_iter()
            .map(|(account, item)| {
                let report_path = match item.report {
                    Some(id) => report_path(c, id)?,
                    None => None,
                };
                Ok(FailureEntry::from_item(account, item, report_path))
            })
            .collect()
    }

    /// Queue failed (and retrying) imports for a retry: the given items, or every such item of
    /// the account(s). Durable: whichever engine runs takes them. Returns how many were queued.
    pub fn retry_failures(
        &mut self,
        actor: &Actor,
        account: Option<&str>,
        items: &[ItemId],
    ) -> Result<usize> {
        let visible = self.import_failures(actor, account)?;
        let chosen: Vec<&FailureEntry> = if items.is_empty() {
            visible.iter().collect()
        } else {
            let unknown: Vec<String> = items
                .iter()
                .filter(|id| !visible.iter().any(|f| f.id == **id))
                .map(|id| id.to_string())
                .collect();
            if !unknown.is_empty() {
                return Err(LibraryError::NotFound(format!(
                    "no failed import with id {} that you may retry (see `smartimage errors list`)",
                    unknown.join(", ")
                )));
            }
            visible.iter().filter(|f| items.contains(&f.id)).collect()
        };
        let mut accounts: Vec<&str> = chosen.iter().map(|f| f.account.as_str()).collect();
        accounts.sort_unstable();
        accounts.dedup();
        let at = now().unix_timestamp();
        let mut total = 0;
        for name in accounts {
            let account = self.account(name)?;
            actor.check(Right::Organise(&account))?;
            let ids: Vec<ItemId> = chosen
                .iter()
                .filter(|f| f.account == name)
                .map(|f| f.id)
                .collect();
            let link_ids: Vec<LinkId> = links::live_links(self.store.connection())?
                .into_iter()
                .filter(|l| l.account == account.id)
                .map(|l| l.id)
                .collect();
            let at_ms = at * 1000;
            let by = actor.admin.email.clone();
            total += self.store.transaction(|tx| -> Result<usize> {
                let n = journal::retry(tx, &link_ids, Some(&ids), at)?;
                // The one command path: whichever engine runs wakes the link at its next tick.
                for link in &link_ids {
                    engine_commands::submit(tx, &by, CommandKind::Retry, Some(*link), at_ms)?;
                }
                let detail = format!("{n} item(s)");
                audit::record(
                    tx,
                    &event(
                        actor,
                        at,
                        "import.retry",
                        Some(account.id),
                        &account.name,
                        Some(&detail),
                    ),
                )?;
                Ok(n)
            })?;
        }
        Ok(total)
    }
}
