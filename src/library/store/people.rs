//! Accounts, admins, memberships and delegations.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::library::model::{Account, AccountId, Admin, AdminId, Membership, Role};

fn account_from_row(r: &Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        id: r.get(0)?,
        name: r.get(1)?,
        plan: r.get(2)?,
        created_at: r.get(3)?,
    })
}

const ACCOUNT_COLUMNS: &str = "id, name, plan, created_at";

pub fn insert_account(
    c: &Connection,
    name: &str,
    plan: &str,
    now: i64,
) -> rusqlite::Result<AccountId> {
    c.execute(
        "INSERT INTO accounts(name, plan, created_at) VALUES (?1, ?2, ?3)",
        params![name, plan, now],
    )?;
    let id = AccountId(c.last_insert_rowid());
    c.execute(
        "INSERT INTO storage_usage(account, bytes) VALUES (?1, 0)",
        [id],
    )?;
    Ok(id)
}

pub fn account_by_name(c: &Connection, name: &str) -> rusqlite::Result<Option<Account>> {
    c.query_row(
        &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE name = ?1"),
        [name],
        account_from_row,
    )
    .optional()
}

pub fn account_by_id(c: &Connection, id: AccountId) -> rusqlite::Result<Option<Account>> {
    c.query_row(
        &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ?1"),
        [id],
        account_from_row,
    )
    .optional()
}

pub fn list_accounts(c: &Connection) -> rusqlite::Result<Vec<Account>> {
    let mut stmt = c.prepare(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY name COLLATE NOCASE"
    ))?;
    stmt.query_map([], account_from_row)?.collect()
}

pub fn set_plan(c: &Connection, account: AccountId, plan: &str) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE accounts SET plan = ?2 WHERE id = ?1",
        params![account, plan],
    )?;
    Ok(())
}

fn admin_from_row(r: &Row<'_>) -> rusqlite::Result<Admin> {
    Ok(Admin {
        id: r.get(0)?,
        email: r.get(1)?,
        name: r.get(2)?,
        os_user: r.get(3)?,
        is_operator: r.get(4)?,
    })
}

const ADMIN_COLUMNS: &str = "id, email, name, os_user, is_operator";

pub struct NewAdmin<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub os_user: Option<&'a str>,
    pub is_operator: bool,
}

pub fn insert_admin(c: &Connection, admin: &NewAdmin<'_>, now: i64) -> rusqlite::Result<AdminId> {
    c.execute(
        "INSERT INTO admins(email, name, os_user, is_operator, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![admin.email, admin.name, admin.os_user, admin.is_operator, now],
    )?;
    Ok(AdminId(c.last_insert_rowid()))
}

pub fn admin_by_email(c: &Connection, email: &str) -> rusqlite::Result<Option<Admin>> {
    c.query_row(
        &format!("SELECT {ADMIN_COLUMNS} FROM admins WHERE email = ?1"),
        [email],
        admin_from_row,
    )
    .optional()
}

pub fn admin_by_os_user(c: &Connection, os_user: &str) -> rusqlite::Result<Option<Admin>> {
    c.query_row(
        &format!("SELECT {ADMIN_COLUMNS} FROM admins WHERE os_user = ?1"),
        [os_user],
        admin_from_row,
    )
    .optional()
}

pub fn admin_by_id(c: &Connection, id: AdminId) -> rusqlite::Result<Option<Admin>> {
    c.query_row(
        &format!("SELECT {ADMIN_COLUMNS} FROM admins WHERE id = ?1"),
        [id],
        admin_from_row,
    )
    .optional()
}

pub fn list_admins(c: &Connection) -> rusqlite::Result<Vec<Admin>> {
    let mut stmt = c.prepare(&format!(
        "SELECT {ADMIN_COLUMNS} FROM admins ORDER BY email COLLATE NOCASE"
    ))?;
    stmt.query_map([], admin_from_row)?.collect()
}

/// Give `admin` a role in `account` (replacing an earlier role).
pub fn set_membership(
    c: &Connection,
    admin: AdminId,
    account: AccountId,
    role: Role,
) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO memberships(admin, account, role) VALUES (?1, ?2, ?3)
         ON CONFLICT(admin, account) DO UPDATE SET role = excluded.role",
        params![admin, account, role.as_str()],
    )?;
    Ok(())
}

fn membership_from_row(r: &Row<'_>) -> rusqlite::Result<Membership> {
    let role: String = r.get(4)?;
    Ok(Membership {
        account: r.get(0)?,
        account_name: r.get(1)?,
        admin: r.get(2)?,
        admin_email: r.get(3)?,
        role: Role::parse(&role).unwrap_or(Role::Admin),
        delegated: r.get(5)?,
    })
}

const MEMBERSHIP_SELECT: &str = "SELECT m.account, a.name, m.admin, ad.email, m.role,
        EXISTS (SELECT 1 FROM delegations d WHERE d.account = m.account AND d.admin = m.admin)
    FROM memberships m
    JOIN accounts a ON a.id = m.account
    JOIN admins ad ON ad.id = m.admin";

pub fn memberships_of_admin(c: &Connection, admin: AdminId) -> rusqlite::Result<Vec<Membership>> {
    let mut stmt = c.prepare(&format!(
        "{MEMBERSHIP_SELECT} WHERE m.admin = ?1 ORDER BY a.name COLLATE NOCASE"
    ))?;
    stmt.query_map([admin], membership_from_row)?.collect()
}

pub fn memberships_of_account(
    c: &Connection,
    account: AccountId,
) -> rusqlite::Result<Vec<Membership>> {
    let mut stmt = c.prepare(&format!(
        "{MEMBERSHIP_SELECT} WHERE m.account = ?1 ORDER BY m.role DESC, ad.email COLLATE NOCASE"
    ))?;
    stmt.query_map([account], membership_from_row)?.collect()
}

pub fn set_delegation(
    c: &Connection,
    account: AccountId,
    admin: AdminId,
    granted_by: AdminId,
    now: i64,
) -> rusqlite::Result<bool> {
    let changed = c.execute(
        "INSERT OR IGNORE INTO delegations(account, admin, granted_by, granted_at) VALUES (?1, ?2, ?3, ?4)",
        params![account, admin, granted_by, now],
    )?;
    Ok(changed > 0)
}

pub fn remove_delegation(
    c: &Connection,
    account: AccountId,
    admin: AdminId,
) -> rusqlite::Result<bool> {
    let changed = c.execute(
        "DELETE FROM delegations WHERE account = ?1 AND admin = ?2",
        params![account, admin],
    )?;
    Ok(changed > 0)
}
