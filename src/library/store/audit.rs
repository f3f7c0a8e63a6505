//! The audit trail: who did what to which target, and when. Written in the same transaction
//! as the change it describes, so the two can never disagree.

use super::cached::CachedStatements;
use rusqlite::{Connection, params};

use crate::library::model::{AccountId, AdminId, AuditEntry};

pub struct AuditEvent<'a> {
    pub at: i64,
    pub actor: Option<AdminId>,
    pub actor_email: &'a str,
    pub action: &'a str,
    pub account: Option<AccountId>,
    pub target: &'a str,
    pub detail: Option<&'a str>,
}

pub fn record(c: &Connection, e: &AuditEvent<'_>) -> rusqlite::Result<()> {
    c.execute_cached(
        "INSERT INTO audit(at, actor, actor_email, action, account, target, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            e.at,
            e.actor,
            e.actor_email,
            e.action,
            e.account,
            e.target,
            e.detail
        ],
    )?;
    Ok(())
}

/// Newest first; `accounts = None` means every row (operators), else rows of those accounts.
pub fn list(
    c: &Connection,
    accounts: Option<&[AccountId]>,
    limit: u32,
) -> rusqlite::Result<Vec<AuditEntry>> {
    let filter = match accounts {
        None => String::new(),
        Some(ids) => format!(
            "WHERE au.account IN ({})",
            ids.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        ),
    };
    let mut stmt = c.prepare(&format!(
        "SELECT au.id, au.at, au.actor_email, au.action, a.name, au.target, au.detail
         FROM audit au LEFT JOIN accounts a ON a.id = au.account
         {filter} ORDER BY au.id DESC LIMIT ?1"
    ))?;
    stmt.query_map([limit], |r| {
        Ok(AuditEntry {
            id: r.get(0)?,
            at: r.get(1)?,
            actor: r.get(2)?,
            action: r.get(3)?,
            account: r.get(4)?,
            target: r.get(5)?,
            detail: r.get(6)?,
        })
    })?
    .collect()
}
