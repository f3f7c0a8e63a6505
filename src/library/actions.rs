//! `Library`: the Smartimage library opened at a data dir, and the permission-checked, audited
//! actions on accounts, admins and delegation. The CLI and the console both go through here.

use std::path::{Path, PathBuf};

use serde::Serialize;
use time::OffsetDateTime;

use crate::library::blobs::BlobStore;
use crate::library::error::{LibraryError, Result};
use crate::library::model::{Account, AccountId, Admin, AdminId, AuditEntry, Membership, Role};
use crate::library::names::{validate_email, validate_name};
use crate::library::permissions::{Actor, Right};
use crate::library::policy::{Plan, PlanCatalog, Usage};
use crate::library::store::audit::{self, AuditEvent};
use crate::library::store::people::{self, NewAdmin};
use crate::library::store::processes::{self, ProcessId};
use crate::library::store::{Store, is_unique_violation, quota};

pub const DATABASE_FILE: &str = "library.sqlite3";
pub const BLOB_DIR: &str = "blobs";
/// Audit rows shown when no limit is asked for.
pub const DEFAULT_AUDIT_LIMIT: u32 = 200;

pub struct Library {
    pub(crate) store: Store,
    pub(crate) blobs: BlobStore,
    pub(crate) plans: PlanCatalog,
    data_dir: PathBuf,
    /// This process in the registry of live processes, once it holds quota (`holder`).
    process: Option<ProcessId>,
}

/// An account with what an admin needs to see about it.
#[derive(Clone, Debug, Serialize)]
pub struct AccountSummary {
    #[serde(flatten)]
    pub account: Account,
    pub storage_used_bytes: u64,
    pub storage_limit_bytes: u64,
    pub video_used_bytes_this_month: u64,
    pub video_bytes_per_month: u64,
    pub owners: Vec<String>,
    pub admins: Vec<String>,
    pub delegates: Vec<String>,
    /// The account's Dropbox link, if any.
    pub dropbox: Option<DropboxLinkSummary>,
}

#[derive(Clone, Debug, Serialize)]
pub struct DropboxLinkSummary {
    pub state: crate::library::store::links::LinkState,
    pub state_detail: Option<String>,
    pub folder: String,
    /// `api` or `local` (a synced folder).
    pub backend: crate::library::store::links::BackendKind,
    pub dropbox_account: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct AdminSummary {
    #[serde(flatten)]
    pub admin: Admin,
    pub memberships: Vec<Membership>,
}

/// What `admin add` should create or grant.
#[derive(Clone, Debug, Default)]
pub struct AdminGrant {
    pub email: String,
    pub name: Option<String>,
    pub os_user: Option<String>,
    pub operator: bool,
    pub owner_of: Vec<String>,
    pub admin_of: Vec<String>,
}

impl Drop for Library {
    /// A process that ends normally leaves the registry (a killed one is found dead later).
    fn drop(&mut self) {
        if let Some(id) = self.process.take() {
            let _ = processes::deregister(self.store.connection(), id);
        }
    }
}

pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

impl Library {
    /// Open the library in `data_dir`, creating the directory and database if needed.
    pub fn open(data_dir: &Path, plans: PlanCatalog) -> Result<Library> {
        crate::library::privacy::create_private_dir(data_dir)
            .map_err(|e| LibraryError::io("cannot create the data directory", data_dir, e))?;
        let database = data_dir.join(DATABASE_FILE);
        let new = !database.exists();
        let store = Store::open(&database)?;
        if new {
            // SQLite makes its files 0644 (less the umask): the admins' group must write the
            // database, and its journal files copy the database's mode.
            crate::library::privacy::share_with_group(&database)
                .map_err(|e| LibraryError::io("cannot set the database's mode", &database, e))?;
        }
        Library::with_store(data_dir, store, plans)
    }

    /// Open the library in `data_dir`, which must already be one: a missing, empty or foreign
    /// database is an error naming the file, and nothing is created (only `init` creates). A
    /// data dir or database this user cannot write is said to be read-only, not damaged.
    pub fn open_existing(data_dir: &Path, plans: PlanCatalog) -> Result<Library> {
        let database = data_dir.join(DATABASE_FILE);
        match std::fs::metadata(&database) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(LibraryError::NoLibrary {
                    data_dir: data_dir.to_path_buf(),
                    database,
                });
            }
            Err(e) => return Err(LibraryError::io("cannot read the library", &database, e)),
            Ok(meta) if meta.len() == 0 => return Err(LibraryError::EmptyDatabase { database }),
            Ok(_) => {}
        }
        for path in [data_dir, database.as_path()] {
            if !crate::library::privacy::writable(path) {
                return Err(LibraryError::ReadOnly {
                    path: path.to_path_buf(),
                    user: crate::library::privacy::current_user(),
                });
            }
        }
        let store = Store::open_existing(&database)?;
        Library::with_store(data_dir, store, plans)
    }

    fn with_store(data_dir: &Path, store: Store, plans: PlanCatalog) -> Result<Library> {
        let blob_root = data_dir.join(BLOB_DIR);
        let blobs = BlobStore::open(&blob_root)
            .map_err(|e| LibraryError::io("cannot open the blob store", &blob_root, e))?;
        Ok(Library {
            store,
            blobs,
            plans,
            data_dir: data_dir.to_path_buf(),
            process: None,
        })
    }

    /// This process as the holder of the quota it reserves: registered in the registry of
    /// live processes the first time (`store::processes`), so its reservations are freed by
    /// whoever needs them once it is dead, however it died.
    pub fn holder(&mut self, role: &str) -> Result<ProcessId> {
        if let Some(id) = self.process {
            return Ok(id);
        }
        let user = crate::library::privacy::current_user();
        let at = now().unix_timestamp();
        let id = self
            .store
            .transaction(|tx| processes::register(tx, role, &user, at))?;
        self.process = Some(id);
        Ok(id)
    }

    /// Says this process is alive (for processes on other hosts, which only a heartbeat tells).
    pub fn heartbeat(&self) -> Result<()> {
        if let Some(id) = self.process {
            processes::heartbeat(self.store.connection(), id, now().unix_timestamp())?;
        }
        Ok(())
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn plans(&self) -> &PlanCatalog {
        &self.plans
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    /// First-run setup: create the operator of an empty library.
    pub fn init(
        &mut self,
        email: &str,
        name: Option<&str>,
        os_user: Option<&str>,
    ) -> Result<Admin> {
        let email = validate_email(email)?;
        let name = match name {
            Some(n) => validate_name("admin name", n)?,
            None => email.split('@').next().unwrap_or(&email).to_owned(),
        };
        if !self.store.is_empty()? {
            return Err(LibraryError::AlreadyExists(format!(
                "the library in {} is already initialized; use `smartimage admin add` to add admins",
                self.data_dir.display()
            )));
        }
        let at = now().unix_timestamp();
        let id = self.store.transaction(|tx| -> Result<AdminId> {
            let new = NewAdmin {
                email: &email,
                name: &name,
                os_user,
                is_operator: true,
            };
            let id = people::insert_admin(tx, &new, at)?;
            audit::record(
                tx,
                &AuditEvent {
                    at,
                    actor: Some(id),
                    actor_email: &email,
                    action: "init",
                    account: None,
                    target: &email,
                    detail: Some("operator"),
                },
            )?;
            Ok(id)
        })?;
        self.admin_by_id(id)
    }

    fn admin_by_id(&self, id: AdminId) -> Result<Admin> {
        people::admin_by_id(self.store.connection(), id)?
            .ok_or_else(|| LibraryError::NotFound(format!("admin #{id} does not exist")))
    }

    /// Who is acting: `--as EMAIL` (or `SMARTIMAGE_ADMIN`), else the admin bound to this OS user.
    pub fn actor(&self, as_email: Option<&str>, os_user: Option<&str>) -> Result<Actor> {
        let c = self.store.connection();
        if self.store.is_empty()? {
            return Err(LibraryError::InvalidInput(format!(
                "the library in {} has no admins yet; run `smartimage init --operator EMAIL` first",
                self.data_dir.display()
            )));
        }
        let admin = match (as_email, os_user) {
            (Some(email), _) => people::admin_by_email(c, email.trim())?.ok_or_else(|| {
                LibraryError::PermissionDenied(format!("{email:?} is not an admin of this library"))
            })?,
            (None, Some(user)) => people::admin_by_os_user(c, user)?.ok_or_else(|| {
                LibraryError::PermissionDenied(format!(
                    "no admin is bound to the OS user {user:?}; pass --as EMAIL or set SMARTIMAGE_ADMIN"
                ))
            })?,
            (None, None) => {
                return Err(LibraryError::PermissionDenied(
                    "no acting admin: pass --as EMAIL or set SMARTIMAGE_ADMIN".into(),
                ));
            }
        };
        let memberships = people::memberships_of_admin(c, admin.id)?;
        Ok(Actor { admin, memberships })
    }

    pub fn account(&self, name: &str) -> Result<Account> {
        people::account_by_name(self.store.connection(), name.trim())?.ok_or_else(|| {
            LibraryError::NotFound(format!(
                "there is no account named {name:?}; `smartimage account list` shows them"
            ))
        })
    }

    pub fn plan(&self, name: &str) -> Result<&Plan> {
        self.plans.get(name).ok_or_else(|| {
            let known = self.plans.names().collect::<Vec<_>>().join(", ");
            LibraryError::InvalidInput(format!(
                "there is no plan named {name:?}; the plans are: {known}"
            ))
        })
    }

    pub fn add_account(&mut self, actor: &Actor, name: &str, plan: &str) -> Result<Account> {
        actor.check(Right::ManageAccounts)?;
        let name = validate_name("account name", name)?;
        let plan = self.plan(plan)?.name.clone();
        let at = now().unix_timestamp();
        let id = self.store.transaction(|tx| -> Result<AccountId> {
            let id = people::insert_account(tx, &name, &plan, at).map_err(|e| {
                if is_unique_violation(&e) {
                    LibraryError::AlreadyExists(format!(
                        "an account named {name:?} already exists (names are compared ignoring case)"
                    ))
                } else {
                    e.into()
                }
            })?;
            audit::record(tx, &self::event(actor, at, "account.add", Some(id), &name, Some(&format!("plan {plan}"))))?;
            Ok(id)
        })?;
        Ok(people::account_by_id(self.store.connection(), id)?.expect("account row just written"))
    }

    pub fn set_plan(&mut self, actor: &Actor, account: &str, plan: &str) -> Result<Account> {
        actor.check(Right::ManageAccounts)?;
        let account = self.account(account)?;
        let plan = self.plan(plan)?.name.clone();
        let at = now().unix_timestamp();
        self.store.transaction(|tx| -> Result<()> {
            people::set_plan(tx, account.id, &plan)?;
            let detail = format!("{} -> {plan}", account.plan);
            audit::record(
                tx,
                &event(
                    actor,
                    at,
                    "account.set-plan",
                    Some(account.id),
                    &account.name,
                    Some(&detail),
                ),
            )?;
            Ok(())
        })?;
        Ok(Account { plan, ..account })
    }

    /// Check a rename before anything moves: the right, the new name, no clash with another
    /// account (names compare ignoring case; a case-only rename of the same account is fine).
    pub fn check_rename(&self, actor: &Actor, old: &str, new: &str) -> Result<(Account, String)> {
        actor.check(Right::ManageAccounts)?;
        let account = self.account(old)?;
        let new = validate_name("account name", new)?;
        let clash = people::account_by_name(self.store.connection(), &new)?;
        if let Some(other) = clash.filter(|other| other.id != account.id) {
            return Err(LibraryError::AlreadyExists(format!(
                "an account named {:?} already exists (names are compared ignoring case)",
                other.name
            )));
        }
        Ok((account, new))
    }

    /// Rename an account. `folder` = (old, new) Dropbox folder path of its live link, already
    /// moved in Dropbox: the link, its journal and a fresh listing follow in the same transaction.
    pub fn rename_account(
        &mut self,
        actor: &Actor,
        old: &str,
        new: &str,
        folder: Option<(&str, &str)>,
    ) -> Result<Account> {
        let (account, new) = self.check_rename(actor, old, new)?;
        let at = now().unix_timestamp();
        self.store.transaction(|tx| -> Result<()> {
            tx.execute("UPDATE accounts SET name = ?2 WHERE id = ?1", rusqlite::params![account.id, new])?;
            if let Some((old_folder, new_folder)) = folder {
                tx.execute(
                    "UPDATE links SET folder_path = ?2, cursor = NULL WHERE account = ?1 AND state <> 'unlinked'",
                    rusqlite::params![account.id, new_folder],
                )?;
                // Journal paths follow the folder, so nothing already decided is tried again.
                tx.execute(
                    "UPDATE import_items SET path = ?2 || substr(path, length(?3) + 1)
                     WHERE link IN (SELECT id FROM links WHERE account = ?1)
                       AND lower(substr(path, 1, length(?3) + 1)) = lower(?3 || '/')",
                    rusqlite::params![account.id, new_folder, old_folder],
                )?;
            }
            let detail = format!("{} -> {new}", account.name);
            audit::record(tx, &event(actor, at, "account.rename", Some(account.id), &new, Some(&detail)))?;
            Ok(())
        })?;
        Ok(Account {
            name: new,
            ..account
        })
    }

    /// Accounts the actor may see, with usage against their plan.
    pub fn account_summaries(&self, actor: &Actor) -> Result<Vec<AccountSummary>> {
        let c = self.store.connection();
        let at = now();
        let mut out = Vec::new();
        for account in people::list_accounts(c)? {
            if !actor.may(Right::ViewAccount(&account)) {
                continue;
            }
            let Usage {
                storage_bytes,
                video_bytes_this_month,
            } = quota::stored(c, account.id, at)?;
            let plan = self.plans.get(&account.plan);
            let members = people::memberships_of_account(c, account.id)?;
            let pick = |f: &dyn Fn(&Membership) -> bool| {
                members
                    .iter()
                    .filter(|m| f(m))
                    .map(|m| m.admin_email.clone())
                    .collect()
            };
            out.push(AccountSummary {
                storage_used_bytes: storage_bytes,
                storage_limit_bytes: plan.map_or(0, |p| p.storage_limit_bytes),
                video_used_bytes_this_month: video_bytes_this_month,
                video_bytes_per_month: plan.map_or(0, |p| p.video_bytes_per_month),
                owners: pick(&|m| m.role == Role::Owner),
                admins: pick(&|m| m.role == Role::Admin),
                delegates: pick(&|m| m.delegated),
                dropbox: crate::library::store::links::live_link_of(c, account.id)?.map(|l| {
                    DropboxLinkSummary {
                        state: l.state,
                        state_detail: l.state_detail,
                        folder: l.folder_path,
                        backend: l.backend,
                        dropbox_account: l
                            .dropbox_email
                            .or(l.root_path)
                            .unwrap_or(l.dropbox_account_id),
                    }
                }),
                account,
            });
        }
        Ok(out)
    }

    /// Create an admin (or extend an existing one) with roles in accounts.
    pub fn add_admin(&mut self, actor: &Actor, grant: &AdminGrant) -> Result<AdminSummary> {
        let email = validate_email(&grant.email)?;
        if grant.operator || (grant.owner_of.is_empty() && grant.admin_of.is_empty()) {
            actor.check(Right::ManageAdmins)?;
        }
        let mut roles = Vec::new();
        for (names, role) in [
            (&grant.owner_of, Role::Owner),
            (&grant.admin_of, Role::Admin),
        ] {
            for name in names {
                let account = self.account(name)?;
                actor.check(Right::AddAdminTo(&account))?;
                roles.push((account, role));
            }
        }
        let name = match &grant.name {
            Some(n) => Some(validate_name("admin name", n)?),
            None => None,
        };
        let os_user = match grant.os_user.as_deref().map(str::trim) {
            Some("") => {
                return Err(LibraryError::InvalidInput(
                    "the OS user name is empty".into(),
                ));
            }
            Some(u) => Some(validate_name("OS user name", u)?),
            None => None,
        };
        let at = now().unix_timestamp();
        let id = self.store.transaction(|tx| -> Result<AdminId> {
            let existing = people::admin_by_email(tx, &email)?;
            let id = match existing {
                Some(admin) => {
                    if grant.name.is_some() || grant.os_user.is_some() || grant.operator {
                        return Err(LibraryError::AlreadyExists(format!(
                            "{email} is already an admin; only account roles can be added to an existing admin"
                        )));
                    }
                    admin.id
                }
                None => {
                    let display = name.clone().unwrap_or_else(|| email.split('@').next().unwrap_or(&email).to_owned());
                    let new = NewAdmin { email: &email, name: &display, os_user: os_user.as_deref(), is_operator: grant.operator };
                    let id = people::insert_admin(tx, &new, at).map_err(|e| {
                        if is_unique_violation(&e) {
                            LibraryError::AlreadyExists(format!(
                                "the OS user {:?} is already bound to another admin",
                                os_user.as_deref().unwrap_or("")
                            ))
                        } else {
                            e.into()
                        }
                    })?;
                    let detail = if grant.operator { "operator" } else { "admin" };
                    audit::record(tx, &event(actor, at, "admin.add", None, &email, Some(detail)))?;
                    id
                }
            };
            for (account, role) in &roles {
                people::set_membership(tx, id, account.id, *role)?;
                audit::record(tx, &event(actor, at, "membership.set", Some(account.id), &email, Some(role.as_str())))?;
            }
            Ok(id)
        })?;
        let admin = self.admin_by_id(id)?;
        let memberships = people::memberships_of_admin(self.store.connection(), id)?;
        Ok(AdminSummary { admin, memberships })
    }

    /// Admins the actor may see: everyone for operators, else admins sharing an account.
    pub fn admin_summaries(&self, actor: &Actor) -> Result<Vec<AdminSummary>> {
        let c = self.store.connection();
        let visible = actor.visible_accounts();
        let mut out = Vec::new();
        for admin in people::list_admins(c)? {
            let memberships: Vec<Membership> = people::memberships_of_admin(c, admin.id)?
                .into_iter()
                .filter(|m| visible.as_ref().is_none_or(|v| v.contains(&m.account)))
                .collect();
            if visible.is_none() || !memberships.is_empty() || admin.id == actor.admin.id {
                out.push(AdminSummary { admin, memberships });
            }
        }
        Ok(out)
    }

    /// Grant (or revoke) Dropbox-upload delegation. Returns whether anything changed.
    pub fn delegate(
        &mut self,
        actor: &Actor,
        email: &str,
        account: &str,
        revoke: bool,
    ) -> Result<bool> {
        let account = self.account(account)?;
        actor.check(Right::Delegate(&account))?;
        let c = self.store.connection();
        let admin = people::admin_by_email(c, email.trim())?.ok_or_else(|| {
            LibraryError::NotFound(format!("{email:?} is not an admin of this library"))
        })?;
        let role = people::memberships_of_admin(c, admin.id)?
            .into_iter()
            .find(|m| m.account == account.id)
            .map(|m| m.role);
        match role {
            None => {
                return Err(LibraryError::InvalidInput(format!(
                    "{} is not an admin of {:?}; an owner adds them first (smartimage admin add {} --admin {:?})",
                    admin.email, account.name, admin.email, account.name
                )));
            }
            Some(Role::Owner) if !revoke => {
                return Err(LibraryError::InvalidInput(format!(
                    "{} owns {:?} and may link Dropbox already; delegation is for admins",
                    admin.email, account.name
                )));
            }
            _ => {}
        }
        let at = now().unix_timestamp();
        self.store.transaction(|tx| -> Result<bool> {
            let changed = if revoke {
                people::remove_delegation(tx, account.id, admin.id)?
            } else {
                people::set_delegation(tx, account.id, admin.id, actor.admin.id, at)?
            };
            if changed {
                let action = if revoke {
                    "delegation.revoke"
                } else {
                    "delegation.grant"
                };
                audit::record(
                    tx,
                    &event(actor, at, action, Some(account.id), &admin.email, None),
                )?;
            }
            Ok(changed)
        })
    }

    /// The audit trail the actor may read, newest first.
    pub fn audit(&self, actor: &Actor, limit: u32) -> Result<Vec<AuditEntry>> {
        let c = self.store.connection();
        if actor.is_operator() {
            return Ok(audit::list(c, None, limit)?);
        }
        let owned: Vec<AccountId> = actor
            .memberships
            .iter()
            .filter(|m| m.role == Role::Owner)
            .map(|m| m.account)
            .collect();
        if owned.is_empty() {
            return Err(LibraryError::PermissionDenied(format!(
                "{} owns no account; only owners (of their accounts) and operators read the audit trail",
                actor.admin.email
            )));
        }
        Ok(audit::list(c, Some(&owned), limit)?)
    }
}

/// An audit event by `actor`.
pub(crate) fn event<'a>(
    actor: &'a Actor,
    at: i64,
    action: &'a str,
    account: Option<AccountId>,
    target: &'a str,
    detail: Option<&'a str>,
) -> AuditEvent<'a> {
    AuditEvent {
        at,
        actor: Some(actor.admin.id),
        actor_email: &actor.admin.email,
        action,
        account,
        target,
        detail,
    }
}
