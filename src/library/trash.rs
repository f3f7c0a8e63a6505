//! The trash, import batches and their undo, as permission-checked, audited actions (issue
//! #22). Moving files to the trash and restoring them is for the owners and admins of their
//! account; deleting trashed files for good (`trash empty`, the engine's purge after
//! `[trash] purge_after_days`) is for its owners and operators, and is the one deliberate way a
//! file leaves the library: its row goes, the store's triggers free its quota and release its
//! blob in the blob table, and garbage collection deletes the blob later (`custody.rs`).
//! Trashed files still count against storage until then.

use crate::library::ids::BatchId;
use std::collections::BTreeMap;

use serde::Serialize;

use crate::library::actions::{Library, event, now};
use crate::library::error::{LibraryError, Result};
use crate::library::model::{Account, AccountId, FileId, FileRecord};
use crate::library::organise::{FileFilter, ListScope};
use crate::library::permissions::{Actor, Right};
use crate::library::store::audit::{self, AuditEvent};
use crate::library::store::batches::{self, BatchSummary};
use crate::library::store::files::{self, TrashFilter};
use crate::library::store::people;
use crate::library::store::trash::{self, Moved};

/// Days a file stays in the trash before the engine deletes it, when the config does not say.
pub const DEFAULT_PURGE_AFTER_DAYS: u64 = 30;
/// Batches `import history` shows when no limit is asked for.
pub const DEFAULT_HISTORY_LIMIT: u32 = 50;
const DAY_SECS: i64 = 86_400;

/// Which files to move to the trash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrashSelection {
    Ids(Vec<FileId>),
    /// Every file outside the trash matching a filter (`--account`, `--source`, `--collection`).
    Matching(FileFilter),
    /// Every file outside the trash matching a filter, less some (the console's "select all"
    /// with files unticked).
    MatchingExcept(FileFilter, Vec<FileId>),
}

/// What a trash action did (or, with `dry_run`, would do), per account.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct TrashOutcome {
    pub dry_run: bool,
    pub files: u64,
    pub bytes: u64,
    pub accounts: Vec<AccountTotals>,
    /// Files named that were already where the action would put them (in the trash for a
    /// delete, outside it for a restore).
    pub unchanged: u64,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct AccountTotals {
    pub account: String,
    pub files: u64,
    pub bytes: u64,
}

impl TrashOutcome {
    fn from_totals(
        dry_run: bool,
        totals: &[(AccountId, Moved)],
        names: &BTreeMap<AccountId, String>,
    ) -> TrashOutcome {
        let mut out = TrashOutcome {
            dry_run,
            ..TrashOutcome::default()
        };
        for (account, moved) in totals {
            out.files += moved.files;
            out.bytes += moved.bytes;
            out.accounts.push(AccountTotals {
                account: names.get(account).cloned().unwrap_or_default(),
                files: moved.files,
                bytes: moved.bytes,
            });
        }
        out
    }
}

/// Who the engine's purge is in the audit trail.
pub const ENGINE_ACTOR: &str = "smartimage engine";

impl Library {
    fn account_names(&self) -> Result<BTreeMap<AccountId, String>> {
        Ok(people::list_accounts(self.store.connection())?
            .into_iter()
            .map(|a| (a.id, a.name))
            .collect())
    }

    fn account_by_id(&self, id: AccountId) -> Result<Account> {
        people::account_by_id(self.store.connection(), id)?
            .ok_or_else(|| LibraryError::NotFound(format!("account #{id}")))
    }

    /// The files named by id: every one must exist (else nothing happens and the unknown ids
    /// are named). Whether the actor may act on them is the caller's check, by account.
    fn named_files(&self, ids: &[FileId]) -> Result<Vec<FileRecord>> {
        let mut unique = ids.to_vec();
        unique.sort_unstable();
        unique.dedup();
        let mut found = Vec::with_capacity(unique.len());
        let mut missing = Vec::new();
        for id in unique {
            match files::file_by_id(self.store.connection(), id)? {
                Some(f) => found.push(f),
                None => missing.push(id.to_string()),
            }
        }
        if !missing.is_empty() {
            return Err(LibraryError::NotFound(format!(
                "no file with id {}; nothing was changed",
                missing.join(", ")
            )));
        }
        Ok(found)
    }

    /// Check `right` on every account in `accounts`.
    fn check_each(
        &self,
        actor: &Actor,
        accounts: impl IntoIterator<Item = AccountId>,
        right: &dyn for<'a> Fn(&'a Account) -> Right<'a>,
    ) -> Result<()> {
        let mut seen: Vec<AccountId> = accounts.into_iter().collect();
        seen.sort_unstable();
        seen.dedup();
        for id in seen {
            let account = self.account_by_id(id)?;
            actor.check(right(&account))?;
        }
        Ok(())
    }

    /// Move files to the trash in one transaction, audited per account. With `dry_run`,
    /// only says how many and how big.
    pub fn trash_files(
        &mut self,
        actor: &Actor,
        selection: &TrashSelection,
        dry_run: bool,
    ) -> Result<TrashOutcome> {
        let (ids, asked) = match selection {
            TrashSelection::Ids(ids) => {
                let named = self.named_files(ids)?;
                let asked = named.len() as u64;
                (named.into_iter().map(|f| f.id).collect::<Vec<_>>(), asked)
            }
            TrashSelection::Matching(filter) | TrashSelection::MatchingExcept(filter, _) => {
                let mut query = self.file_query(actor, filter)?;
                query.trash = TrashFilter::Live;
                if let TrashSelection::MatchingExcept(_, exclude) = selection {
                    query.exclude = exclude.clone();
                }
                let ids = trash::matching_ids(self.store.connection(), &query)?;
                let asked = ids.len() as u64;
                (ids, asked)
            }
        };
        let c = self.store.connection();
        let totals = trash::totals_of(c, &ids, false)?;
        // Every account the selection reaches, trashed files included: the right is the
        // same whether or not a file moves.
        let reached: Vec<AccountId> = totals
            .iter()
            .map(|(a, _)| *a)
            .chain(trash::totals_of(c, &ids, true)?.iter().map(|(a, _)| *a))
            .collect();
        self.check_each(actor, reached, &|a| Right::Trash(a))?;
        let names = self.account_names()?;
        let mut outcome = TrashOutcome::from_totals(dry_run, &totals, &names);
        outcome.unchanged = asked - outcome.files;
        if dry_run || outcome.files == 0 {
            return Ok(outcome);
        }
        let at = now().unix_timestamp();
        self.store.transaction(|tx| -> Result<()> {
            trash::trash(tx, &ids, Some(actor.admin.id), at)?;
            for (account, moved) in &totals {
                let detail = format!(
                    "{} file(s), {} bytes{}",
                    moved.files,
                    moved.bytes,
                    id_detail(&ids)
                );
                let target = names.get(account).map_or("", String::as_str);
                audit::record(
                    tx,
                    &event(
                        actor,
                        at,
                        "file.trash",
                        Some(*account),
                        target,
                        Some(&detail),
                    ),
                )?;
            }
            Ok(())
        })?;
        Ok(outcome)
    }

    /// Bring files back from the trash, with their collections.
    pub fn restore_files(
        &mut self,
        actor: &Actor,
        ids: &[FileId],
        dry_run: bool,
    ) -> Result<TrashOutcome> {
        let named = self.named_files(ids)?;
        self.check_each(actor, named.iter().map(|f| f.account), &|a| Right::Trash(a))?;
        let ids: Vec<FileId> = named.iter().map(|f| f.id).collect();
        let totals = trash::totals_of(self.store.connection(), &ids, true)?;
        let names = self.account_names()?;
        let mut outcome = TrashOutcome::from_totals(dry_run, &totals, &names);
        outcome.unchanged = named.len() as u64 - outcome.files;
        if dry_run || outcome.files == 0 {
            return Ok(outcome);
        }
        let at = now().unix_timestamp();
        self.store.transaction(|tx| -> Result<()> {
            trash::restore(tx, &ids)?;
            for (account, moved) in &totals {
                let detail = format!("{} file(s){}", moved.files, id_detail(&ids));
                let target = names.get(account).map_or("", String::as_str);
                audit::record(
                    tx,
                    &event(
                        actor,
                        at,
                        "file.restore",
                        Some(*account),
                        target,
                        Some(&detail),
                    ),
                )?;
            }
            Ok(())
        })?;
        Ok(outcome)
    }

    /// The files in the trash the actor may see (of one account), newest first.
    pub fn list_trash(&self, actor: &Actor, account: Option<&str>) -> Result<Vec<FileRecord>> {
        let filter = FileFilter {
            account: account.map(str::to_owned),
            ..FileFilter::default()
        };
        self.list_files_in(
            actor,
            &filter,
            ListScope {
                trash: TrashFilter::Trashed,
                ..ListScope::default()
            },
        )
    }

    /// Delete trashed files for good: of `account`, or of every account the actor may purge;
    /// only those trashed more than `older_than_days` ago when given. Audited per account.
    pub fn empty_trash(
        &mut self,
        actor: &Actor,
        account: Option<&str>,
        older_than_days: Option<u64>,
        dry_run: bool,
    ) -> Result<TrashOutcome> {
        let accounts: Vec<Account> = match account {
            Some(name) => {
                let account = self.account(name)?;
                actor.check(Right::Purge(&account))?;
                vec![account]
            }
            None => {
                let all = people::list_accounts(self.store.connection())?;
                let mine: Vec<Account> = all
                    .into_iter()
                    .filter(|a| actor.may(Right::Purge(a)))
                    .collect();
                if mine.is_empty() {
                    return Err(LibraryError::PermissionDenied(format!(
                        "{} is not an owner of any account; only owners (and operators) \
                         delete trashed files for good",
                        actor.admin.email
                    )));
                }
                mine
            }
        };
        let ids: Vec<AccountId> = accounts.iter().map(|a| a.id).collect();
        let before = older_than_days.map(|days| now().unix_timestamp() - days as i64 * DAY_SECS);
        let detail = match older_than_days {
            Some(days) => format!("trashed more than {days} day(s) ago"),
            None => "everything in the trash".to_owned(),
        };
        self.purge_where(
            Some(&ids),
            before,
            dry_run,
            AuditActor::Admin(actor),
            &detail,
        )
    }

    /// The engine's purge: files trashed more than `purge_after_days` ago, in every account,
    /// at `at` (unix seconds). Audited as the engine.
    pub fn purge_expired(&mut self, purge_after_days: u64, at: i64) -> Result<TrashOutcome> {
        let before = at - purge_after_days as i64 * DAY_SECS;
        let detail = format!("automatic: in the trash more than {purge_after_days} day(s)");
        self.purge_where(None, Some(before), false, AuditActor::Engine(at), &detail)
    }

    fn purge_where(
        &mut self,
        accounts: Option<&[AccountId]>,
        before: Option<i64>,
        dry_run: bool,
        by: AuditActor<'_>,
        detail: &str,
    ) -> Result<TrashOutcome> {
        let rows = trash::trashed_before(self.store.connection(), accounts, before)?;
        let mut per_account: BTreeMap<AccountId, (Vec<FileId>, Moved)> = BTreeMap::new();
        for (id, account, size) in rows {
            let entry = per_account.entry(account).or_default();
            entry.0.push(id);
            entry.1.files += 1;
            entry.1.bytes += size;
        }
        let totals: Vec<(AccountId, Moved)> = per_account
            .iter()
            .map(|(a, (_, m))| (*a, m.clone()))
            .collect();
        let names = self.account_names()?;
        let outcome = TrashOutcome::from_totals(dry_run, &totals, &names);
        if dry_run || outcome.files == 0 {
            return Ok(outcome);
        }
        let at = match by {
            AuditActor::Engine(at) => at,
            AuditActor::Admin(_) => now().unix_timestamp(),
        };
        // One transaction per account: its rows, its freed quota and released blobs, its
        // audit row land together.
        for (account, (ids, moved)) in &per_account {
            let target = names.get(account).map_or("", String::as_str);
            let detail = format!(
                "{} file(s), {} bytes deleted for good ({detail})",
                moved.files, moved.bytes
            );
            self.store.transaction(|tx| -> Result<()> {
                trash::purge(tx, ids)?;
                let row = match by {
                    AuditActor::Admin(actor) => event(
                        actor,
                        at,
                        "trash.purge",
                        Some(*account),
                        target,
                        Some(&detail),
                    ),
                    AuditActor::Engine(_) => AuditEvent {
                        at,
                        actor: None,
                        actor_email: ENGINE_ACTOR,
                        action: "trash.purge",
                        account: Some(*account),
                        target,
                        detail: Some(&detail),
                    },
                };
                audit::record(tx, &row)?;
                Ok(())
            })?;
        }
        Ok(outcome)
    }

    /// Import passes and uploads, newest first, of the accounts the actor may see (or one).
    pub fn import_history(
        &self,
        actor: &Actor,
        account: Option<&str>,
        limit: u32,
    ) -> Result<Vec<BatchSummary>> {
        let accounts = match account {
            Some(name) => {
                let account = self.account(name)?;
                actor.check(Right::ViewAccount(&account))?;
                Some(vec![account.id])
            }
            None => actor.visible_accounts(),
        };
        Ok(batches::history(
            self.store.connection(),
            accounts.as_deref(),
            limit,
        )?)
    }

    /// Move every file of a batch that is not in the trash yet to the trash, in one
    /// transaction. Nothing goes back to Dropbox.
    pub fn undo_import(
        &mut self,
        actor: &Actor,
        batch: BatchId,
        dry_run: bool,
    ) -> Result<TrashOutcome> {
        let summary = batches::summary(self.store.connection(), batch)?.ok_or_else(|| {
            LibraryError::NotFound(format!(
                "there is no import batch {batch} (see smartimage import history)"
            ))
        })?;
        let account = self.account_by_id(summary.account_id)?;
        actor.check(Right::Trash(&account))?;
        let ids = batches::live_files(self.store.connection(), batch)?;
        let totals = trash::totals_of(self.store.connection(), &ids, false)?;
        let names = self.account_names()?;
        let mut outcome = TrashOutcome::from_totals(dry_run, &totals, &names);
        outcome.unchanged = summary.files - outcome.files;
        if dry_run || outcome.files == 0 {
            return Ok(outcome);
        }
        let at = now().unix_timestamp();
        self.store.transaction(|tx| -> Result<()> {
            trash::trash(tx, &ids, Some(actor.admin.id), at)?;
            let detail = format!(
                "batch {batch} ({}): {} file(s), {} bytes to the trash",
                summary.source.as_str(),
                outcome.files,
                outcome.bytes
            );
            audit::record(
                tx,
                &event(
                    actor,
                    at,
                    "import.undo",
                    Some(account.id),
                    &account.name,
                    Some(&detail),
                ),
            )?;
            Ok(())
        })?;
        Ok(outcome)
    }
}

#[derive(Clone, Copy)]
enum AuditActor<'a> {
    Admin(&'a Actor),
    /// The engine, purging at this time.
    Engine(i64),
}

/// The ids of a short list, for the audit row (a long one is only counted).
fn id_detail(ids: &[FileId]) -> String {
    const SHOWN: usize = 20;
    if ids.len() > SHOWN {
        return String::new();
    }
    format!(
        ": #{}",
        ids.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", #")
    )
}
