//! Dropbox connections (who we reach Dropbox as) and links (an account's folder on one
//! connection, with its change cursor and state). Plain data: the library does not speak Dropbox.

use super::cached::CachedStatements;
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::library::model::{AccountId, AdminId};

pub use crate::library::ids::{ConnectionId, LinkId};

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    Active,
    Paused,
    NeedsReauth,
    Error,
    Unlinked,
}

impl LinkState {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkState::Active => "active",
            LinkState::Paused => "paused",
            LinkState::NeedsReauth => "needs_reauth",
            LinkState::Error => "error",
            LinkState::Unlinked => "unlinked",
        }
    }
    pub fn parse(s: &str) -> Option<LinkState> {
        [
            LinkState::Active,
            LinkState::Paused,
            LinkState::NeedsReauth,
            LinkState::Error,
            LinkState::Unlinked,
        ]
        .into_iter()
        .find(|state| state.as_str() == s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendKind {
    Api,
    Local,
}

impl BackendKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Api => "api",
            BackendKind::Local => "local",
        }
    }
}

/// A link with its connection, as the engine and the console need it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LinkRecord {
    pub id: LinkId,
    pub account: AccountId,
    pub account_name: String,
    pub connection: ConnectionId,
    pub backend: BackendKind,
    pub dropbox_account_id: String,
    pub dropbox_email: Option<String>,
    /// Token file reference (API backend) — a name, never the secret.
    pub token_ref: Option<String>,
    /// The synced folder on disk (local backend).
    pub root_path: Option<String>,
    pub folder_path: String,
    pub authorized_by: Option<AdminId>,
    #[serde(skip)]
    pub cursor: Option<String>,
    pub state: LinkState,
    pub state_detail: Option<String>,
}

impl LinkRecord {
    /// Where the link's files come from, for a sentence: "the synced folder /srv/Dropbox",
    /// "the Dropbox of ada@example.com".
    pub fn place(&self) -> String {
        match (&self.root_path, &self.dropbox_email) {
            (Some(root), _) => format!("the synced folder {root}"),
            (None, Some(email)) => format!("the Dropbox of {email}"),
            (None, None) => format!("Dropbox account {}", self.dropbox_account_id),
        }
    }
}

pub struct NewConnection<'a> {
    pub dropbox_account_id: &'a str,
    pub email: Option<&'a str>,
    pub backend: BackendKind,
    pub token_ref: Option<&'a str>,
    pub root_path: Option<&'a str>,
    pub authorized_by: AdminId,
}

/// Find or create the connection for this Dropbox account (one per account and backend).
pub fn upsert_connection(
    c: &Connection,
    n: &NewConnection<'_>,
    now: i64,
) -> rusqlite::Result<ConnectionId> {
    c.execute_cached(
        "INSERT INTO dropbox_connections(dropbox_account_id, email, backend, token_ref, root_path, authorized_by, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(backend, dropbox_account_id) DO UPDATE SET
            email = coalesce(excluded.email, email),
            token_ref = coalesce(excluded.token_ref, token_ref),
            root_path = coalesce(excluded.root_path, root_path)",
        params![n.dropbox_account_id, n.email, n.backend.as_str(), n.token_ref, n.root_path, n.authorized_by, now],
    )?;
    c.query_row_cached(
        "SELECT id FROM dropbox_connections WHERE backend = ?1 AND dropbox_account_id = ?2",
        params![n.backend.as_str(), n.dropbox_account_id],
        |r| r.get(0),
    )
}

pub fn insert_link(
    c: &Connection,
    account: AccountId,
    connection: ConnectionId,
    folder_path: &str,
    by: AdminId,
    now: i64,
) -> rusqlite::Result<LinkId> {
    c.execute_cached(
        "INSERT INTO links(account, connection, folder_path, authorized_by, state, created_at)
         VALUES (?1, ?2, ?3, ?4, 'active', ?5)",
        params![account, connection, folder_path, by, now],
    )?;
    Ok(LinkId(c.last_insert_rowid()))
}

const LINK_SELECT: &str = "SELECT l.id, l.account, a.name, l.connection, dc.backend, dc.dropbox_account_id,
        dc.email, dc.token_ref, dc.root_path, l.folder_path, l.authorized_by, l.cursor, l.state, l.state_detail
    FROM links l
    JOIN accounts a ON a.id = l.account
    JOIN dropbox_connections dc ON dc.id = l.connection";

fn link_from_row(r: &Row<'_>) -> rusqlite::Result<LinkRecord> {
    let backend: String = r.get(4)?;
    let state: String = r.get(12)?;
    Ok(LinkRecord {
        id: r.get(0)?,
        account: r.get(1)?,
        account_name: r.get(2)?,
        connection: r.get(3)?,
        backend: if backend == "api" {
            BackendKind::Api
        } else {
            BackendKind::Local
        },
        dropbox_account_id: r.get(5)?,
        dropbox_email: r.get(6)?,
        token_ref: r.get(7)?,
        root_path: r.get(8)?,
        folder_path: r.get(9)?,
        authorized_by: r.get(10)?,
        cursor: r.get(11)?,
        state: LinkState::parse(&state).unwrap_or(LinkState::Error),
        state_detail: r.get(13)?,
    })
}

pub fn link_by_id(c: &Connection, id: LinkId) -> rusqlite::Result<Option<LinkRecord>> {
    c.query_row(
        &format!("{LINK_SELECT} WHERE l.id = ?1"),
        [id],
        link_from_row,
    )
    .optional()
}

/// The account's link that is not unlinked, if any.
pub fn live_link_of(c: &Connection, account: AccountId) -> rusqlite::Result<Option<LinkRecord>> {
    c.query_row(
        &format!("{LINK_SELECT} WHERE l.account = ?1 AND l.state <> 'unlinked'"),
        [account],
        link_from_row,
    )
    .optional()
}

/// Every link that is not unlinked, by account name.
pub fn live_links(c: &Connection) -> rusqlite::Result<Vec<LinkRecord>> {
    let mut stmt = c.prepare(&format!(
        "{LINK_SELECT} WHERE l.state <> 'unlinked' ORDER BY a.name COLLATE NOCASE"
    ))?;
    stmt.query_map([], link_from_row)?.collect()
}

/// Every link, unlinked ones too (what happened today may be theirs), by id.
pub fn all_links(c: &Connection) -> rusqlite::Result<Vec<LinkRecord>> {
    let mut stmt = c.prepare(&format!("{LINK_SELECT} ORDER BY l.id"))?;
    stmt.query_map([], link_from_row)?.collect()
}

pub fn set_cursor(c: &Connection, link: LinkId, cursor: Option<&str>) -> rusqlite::Result<()> {
    c.execute_cached(
        "UPDATE links SET cursor = ?2 WHERE id = ?1",
        params![link, cursor],
    )?;
    Ok(())
}

pub fn set_state(
    c: &Connection,
    link: LinkId,
    state: LinkState,
    detail: Option<&str>,
) -> rusqlite::Result<()> {
    c.execute_cached(
        "UPDATE links SET state = ?2, state_detail = ?3 WHERE id = ?1",
        params![link, state.as_str(), detail],
    )?;
    Ok(())
}

/// Remember, before uploading it, the report we are about to write: if the process dies after
/// the upload and before [`complete_report`], the scanner still knows the file at that path is
/// ours and never imports it.
pub fn insert_report_intent(
    c: &Connection,
    link: LinkId,
    dropbox_path: &str,
    now: i64,
) -> rusqlite::Result<i64> {
    c.execute_cached(
        "INSERT INTO reports(link, dropbox_path, created_at) VALUES (?1, ?2, ?3)",
        params![link, dropbox_path, now],
    )?;
    Ok(c.last_insert_rowid())
}

/// The report was written: where it landed and as which file, so the scanner never imports it.
pub fn complete_report(
    c: &Connection,
    report: i64,
    dropbox_path: &str,
    dropbox_id: &str,
    rev: &str,
) -> rusqlite::Result<()> {
    c.execute_cached(
        "UPDATE reports SET dropbox_path = ?2, dropbox_id = ?3, rev = ?4 WHERE id = ?1",
        params![report, dropbox_path, dropbox_id, rev],
    )?;
    Ok(())
}

/// A report we wrote (by its Dropbox id), or one we were writing when the process stopped (by
/// its path, compared case-insensitively like Dropbox does).
pub fn is_our_report(
    c: &Connection,
    link: LinkId,
    dropbox_id: &str,
    path: &str,
) -> rusqlite::Result<bool> {
    c.query_row_cached(
        "SELECT EXISTS (SELECT 1 FROM reports WHERE link = ?1 AND (dropbox_id = ?2 OR \
         (dropbox_id IS NULL AND lower(dropbox_path) = lower(?3))))",
        params![link, dropbox_id, path],
        |r| r.get(0),
    )
}

/// A row of the reports table: a report we wrote or are writing (`dropbox_id` still `None`: the
/// intent, durable before the upload), or one we found and keep recognising by its id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportRecord {
    pub id: i64,
    pub dropbox_path: String,
    pub dropbox_id: Option<String>,
    /// The revision we wrote, while we believe it is still there; `None` once we deleted it, or
    /// for a report we only recognise (renamed by the customer, left as it is).
    pub rev: Option<String>,
    pub created_at: i64,
}

/// The link's reports that may still be in its folder: intents, and reports written and not
/// retired. Oldest first.
pub fn open_reports(c: &Connection, link: LinkId) -> rusqlite::Result<Vec<ReportRecord>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, dropbox_path, dropbox_id, rev, created_at FROM reports
         WHERE link = ?1 AND (dropbox_id IS NULL OR rev IS NOT NULL) ORDER BY id",
    )?;
    stmt.query_map([link], |r| {
        Ok(ReportRecord {
            id: r.get(0)?,
            dropbox_path: r.get(1)?,
            dropbox_id: r.get(2)?,
            rev: r.get(3)?,
            created_at: r.get(4)?,
        })
    })?
    .collect()
}

/// Nothing of ours is at `dropbox_path` any more (deleted, replaced by a newer report, or found
/// not to be ours): intents there are dropped, written reports keep only their id, so a copy
/// the customer renamed is still recognised. `keep` is the report just written there.
pub fn retire_reports_at(
    c: &Connection,
    link: LinkId,
    dropbox_path: &str,
    keep: Option<i64>,
) -> rusqlite::Result<()> {
    let keep = keep.unwrap_or(-1);
    c.execute_cached(
        "DELETE FROM reports WHERE link = ?1 AND lower(dropbox_path) = lower(?2)
         AND dropbox_id IS NULL AND id <> ?3",
        params![link, dropbox_path, keep],
    )?;
    c.execute_cached(
        "UPDATE reports SET rev = NULL WHERE link = ?1 AND lower(dropbox_path) = lower(?2)
         AND id <> ?3",
        params![link, dropbox_path, keep],
    )?;
    Ok(())
}

/// A report of ours found under another name (its signature, checked after download): it stays
/// in Dropbox as the customer left it, and its id keeps the scanner from downloading it again.
pub fn record_found_report(
    c: &Connection,
    link: LinkId,
    dropbox_path: &str,
    dropbox_id: &str,
    now: i64,
) -> rusqlite::Result<()> {
    c.execute_cached(
        "INSERT INTO reports(link, dropbox_path, dropbox_id, rev, created_at)
         VALUES (?1, ?2, ?3, NULL, ?4)",
        params![link, dropbox_path, dropbox_id, now],
    )?;
    Ok(())
}

/// True when some link of this library wrote (or found) the file with this Dropbox id.
pub fn is_known_report_id(c: &Connection, dropbox_id: &str) -> rusqlite::Result<bool> {
    c.query_row_cached(
        "SELECT EXISTS (SELECT 1 FROM reports WHERE dropbox_id = ?1)",
        [dropbox_id],
        |r| r.get(0),
    )
}
