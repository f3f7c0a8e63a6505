//! The notification outbox (migration V10): one row per delivery — an email to one address,
//! or one webhook POST — written in (or right after) the transaction of the change that causes
//! it, and sent by whichever sender claims it. A row is `pending` until a sender claims it
//! (`sending`, naming the claiming process), then `sent`, or `pending` again with its error and
//! a later `not_before_ms` (retried with backoff), or `failed` when the server refused it for
//! good. A claim whose process died goes back to `pending`: delivery is at least once, and the
//! stable `message_id` (`Message-ID`, the webhook's `id`) lets a receiver drop a repeat.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::library::liveness::{self, ProcessIdentity};
use crate::library::model::{AccountId, AdminId};

/// A delivery to queue.
#[derive(Clone, Debug)]
pub struct NewDelivery<'a> {
    pub event_id: &'a str,
    pub message_id: &'a str,
    pub kind: &'a str,
    pub account: Option<AccountId>,
    /// `email` or `webhook`.
    pub channel: &'a str,
    /// The address (email); `None` for the webhook.
    pub recipient: Option<&'a str>,
    pub subject: &'a str,
    /// Plain text (email) or the JSON body (webhook).
    pub body: &'a str,
    pub created_ms: i64,
    pub not_before_ms: i64,
}

/// A delivery as stored.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Delivery {
    pub id: i64,
    pub event_id: String,
    pub message_id: String,
    pub kind: String,
    pub account: Option<AccountId>,
    pub account_name: Option<String>,
    pub channel: String,
    pub recipient: Option<String>,
    pub subject: String,
    #[serde(skip)]
    pub body: String,
    pub created_ms: i64,
    pub not_before_ms: i64,
    pub state: String,
    pub attempts: u32,
    pub sent_ms: Option<i64>,
    pub last_error: Option<String>,
}

const COLUMNS: &str = "o.id, o.event_id, o.message_id, o.kind, o.account, a.name, o.channel,
    o.recipient, o.subject, o.body, o.created_ms, o.not_before_ms, o.state, o.attempts,
    o.sent_ms, o.last_error";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Delivery> {
    Ok(Delivery {
        id: r.get(0)?,
        event_id: r.get(1)?,
        message_id: r.get(2)?,
        kind: r.get(3)?,
        account: r.get(4)?,
        account_name: r.get(5)?,
        channel: r.get(6)?,
        recipient: r.get(7)?,
        subject: r.get(8)?,
        body: r.get(9)?,
        created_ms: r.get(10)?,
        not_before_ms: r.get(11)?,
        state: r.get(12)?,
        attempts: r.get::<_, i64>(13)? as u32,
        sent_ms: r.get(14)?,
        last_error: r.get(15)?,
    })
}

pub fn insert(c: &Connection, d: &NewDelivery<'_>) -> rusqlite::Result<i64> {
    c.execute(
        "INSERT INTO outbox(event_id, message_id, kind, account, channel, recipient, subject, body,
                            created_ms, not_before_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            d.event_id,
            d.message_id,
            d.kind,
            d.account,
            d.channel,
            d.recipient,
            d.subject,
            d.body,
            d.created_ms,
            d.not_before_ms
        ],
    )?;
    Ok(c.last_insert_rowid())
}

/// The digest of `account` still held back (never tried, not claimed): its event id and when
/// it may go. A newer digest replaces it, keeping both.
pub fn held_digest(c: &Connection, account: AccountId) -> rusqlite::Result<Option<(String, i64)>> {
    c.query_row(
        "SELECT event_id, max(not_before_ms) FROM outbox
          WHERE account = ?1 AND kind = 'digest' AND state = 'pending' AND attempts = 0
          GROUP BY event_id ORDER BY max(created_ms) DESC LIMIT 1",
        [account],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
}

/// Drop every row of an event that was never tried (a held digest being replaced).
pub fn delete_untried_event(c: &Connection, event_id: &str) -> rusqlite::Result<usize> {
    c.execute(
        "DELETE FROM outbox WHERE event_id = ?1 AND state = 'pending' AND attempts = 0",
        [event_id],
    )
}

/// When the last digest of `account` was due to go (queued, held or sent).
pub fn last_digest_ms(c: &Connection, account: AccountId) -> rusqlite::Result<Option<i64>> {
    c.query_row(
        "SELECT max(not_before_ms) FROM outbox WHERE account = ?1 AND kind = 'digest'",
        [account],
        |r| r.get(0),
    )
}

/// Record `mark` once; true when it is new (the thing it marks is to be told now).
pub fn mark_once(c: &Connection, mark: &str, now_ms: i64) -> rusqlite::Result<bool> {
    Ok(c.execute(
        "INSERT OR IGNORE INTO notify_marks(mark, at_ms) VALUES (?1, ?2)",
        params![mark, now_ms],
    )? == 1)
}

/// Claim up to `limit` deliveries that are due, for this process.
pub fn claim_due(c: &Connection, now_ms: i64, limit: u32) -> rusqlite::Result<Vec<Delivery>> {
    let me = liveness::current();
    let ids: Vec<i64> = c
        .prepare(
            "UPDATE outbox SET state = 'sending', claim_host = ?1, claim_boot = ?2, claim_pid = ?3,
                    claim_started = ?4, claimed_ms = ?5
              WHERE id IN (SELECT id FROM outbox
                            WHERE state = 'pending' AND not_before_ms <= ?5
                            ORDER BY not_before_ms, id LIMIT ?6)
              RETURNING id",
        )?
        .query_map(
            params![
                me.host,
                me.boot_id,
                me.pid,
                me.started as i64,
                now_ms,
                limit
            ],
            |r| r.get(0),
        )?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(d) = by_id(c, id)? {
            out.push(d);
        }
    }
    out.sort_by_key(|d| d.id);
    Ok(out)
}

pub fn by_id(c: &Connection, id: i64) -> rusqlite::Result<Option<Delivery>> {
    c.query_row(
        &format!("SELECT {COLUMNS} FROM outbox o LEFT JOIN accounts a ON a.id = o.account WHERE o.id = ?1"),
        [id],
        from_row,
    )
    .optional()
}

/// Claims of processes that died (this host says so), or older than `stale_before_ms`
/// (another host's, or hung), go back to `pending`. Returns how many.
pub fn release_dead_claims(c: &Connection, stale_before_ms: i64) -> rusqlite::Result<usize> {
    let claims: Vec<(i64, ProcessIdentity, i64)> = c
        .prepare(
            "SELECT id, claim_host, claim_boot, claim_pid, claim_started, claimed_ms FROM outbox
              WHERE state = 'sending'",
        )?
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                ProcessIdentity {
                    host: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                    boot_id: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                    pid: r.get::<_, Option<i64>>(3)?.unwrap_or(0) as u32,
                    started: r.get::<_, Option<i64>>(4)?.unwrap_or(0) as u64,
                },
                r.get::<_, Option<i64>>(5)?.unwrap_or(0),
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut released = 0;
    for (id, process, claimed_ms) in claims {
        let dead = liveness::is_alive_here(&process) == Some(false) || claimed_ms < stale_before_ms;
        if dead {
            released += c.execute(
                "UPDATE outbox SET state = 'pending', claim_host = NULL, claim_boot = NULL,
                        claim_pid = NULL, claim_started = NULL, claimed_ms = NULL
                  WHERE id = ?1 AND state = 'sending'",
                [id],
            )?;
        }
    }
    Ok(released)
}

pub fn mark_sent(c: &Connection, id: i64, now_ms: i64) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE outbox SET state = 'sent', sent_ms = ?2, attempts = attempts + 1, last_error = NULL
          WHERE id = ?1",
        params![id, now_ms],
    )?;
    Ok(())
}

/// A try failed: back to `pending`, tried again from `next_ms`.
pub fn mark_retry(c: &Connection, id: i64, error: &str, next_ms: i64) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE outbox SET state = 'pending', attempts = attempts + 1, last_error = ?2,
                not_before_ms = ?3, claim_host = NULL, claim_boot = NULL, claim_pid = NULL,
                claim_started = NULL, claimed_ms = NULL
          WHERE id = ?1",
        params![id, error, next_ms],
    )?;
    Ok(())
}

/// The server refused it for good (a permanent SMTP error, a 4xx answer from the webhook).
pub fn mark_failed(c: &Connection, id: i64, error: &str) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ?2
          WHERE id = ?1",
        params![id, error],
    )?;
    Ok(())
}

/// Deliveries not yet sent whose time has come (pending and due, or being sent).
pub fn due_count(c: &Connection, now_ms: i64, created_since_ms: i64) -> rusqlite::Result<u64> {
    c.query_row(
        "SELECT count(*) FROM outbox
          WHERE created_ms >= ?2
            AND (state = 'sending' OR (state = 'pending' AND not_before_ms <= ?1))",
        params![now_ms, created_since_ms],
        |r| r.get::<_, i64>(0).map(|n| n as u64),
    )
}

/// Newest deliveries first, all or those of `accounts` (operator rows have no account and are
/// left out then).
pub fn list(
    c: &Connection,
    accounts: Option<&[AccountId]>,
    limit: u32,
) -> rusqlite::Result<Vec<Delivery>> {
    let mut stmt = c.prepare(&format!(
        "SELECT {COLUMNS} FROM outbox o LEFT JOIN accounts a ON a.id = o.account
          ORDER BY o.id DESC"
    ))?;
    let rows = stmt.query_map([], from_row)?;
    let mut out = Vec::new();
    for row in rows {
        let row = row?;
        let visible = match accounts {
            None => true,
            Some(ids) => row.account.is_some_and(|a| ids.contains(&a)),
        };
        if visible {
            out.push(row);
            if out.len() >= limit as usize {
                break;
            }
        }
    }
    Ok(out)
}

/// The latest delivery failures (not sent, with an error), newest first.
pub fn failing(c: &Connection, limit: u32) -> rusqlite::Result<Vec<Delivery>> {
    let mut stmt = c.prepare(&format!(
        "SELECT {COLUMNS} FROM outbox o LEFT JOIN accounts a ON a.id = o.account
          WHERE o.state IN ('pending', 'failed') AND o.last_error IS NOT NULL
          ORDER BY o.id DESC LIMIT ?1"
    ))?;
    stmt.query_map([limit], from_row)?.collect()
}

pub fn set_admin_email(c: &Connection, admin: AdminId, on: bool) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE admins SET notify_email = ?2 WHERE id = ?1",
        params![admin, on],
    )?;
    Ok(())
}

pub fn set_account_notify(c: &Connection, account: AccountId, on: bool) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE accounts SET notify = ?2 WHERE id = ?1",
        params![account, on],
    )?;
    Ok(())
}

pub fn account_notify(c: &Connection, account: AccountId) -> rusqlite::Result<bool> {
    c.query_row(
        "SELECT notify FROM accounts WHERE id = ?1",
        [account],
        |r| r.get(0),
    )
    .optional()
    .map(|on| on.unwrap_or(false))
}

/// The addresses an account's notifications go to: its owners and the admin who authorized
/// its live link, less the admins who turned email off; nobody when the account's owners
/// turned its notifications off.
/// `asked_for` (a test) ignores the account's switch, not the admins'.
pub fn account_recipients(
    c: &Connection,
    account: AccountId,
    asked_for: bool,
) -> rusqlite::Result<Vec<String>> {
    if !asked_for && !account_notify(c, account)? {
        return Ok(Vec::new());
    }
    c.prepare(
        "SELECT DISTINCT ad.email FROM admins ad
          WHERE ad.notify_email = 1
            AND (ad.id IN (SELECT admin FROM memberships WHERE account = ?1 AND role = 'owner')
                 OR ad.id IN (SELECT authorized_by FROM links
                               WHERE account = ?1 AND state <> 'unlinked'
                                 AND authorized_by IS NOT NULL))
          ORDER BY ad.email COLLATE NOCASE",
    )?
    .query_map([account], |r| r.get(0))?
    .collect()
}

/// The operators' addresses, less those who turned email off.
pub fn operator_recipients(c: &Connection) -> rusqlite::Result<Vec<String>> {
    c.prepare(
        "SELECT email FROM admins WHERE is_operator = 1 AND notify_email = 1
          ORDER BY email COLLATE NOCASE",
    )?
    .query_map([], |r| r.get(0))?
    .collect()
}

/// Claim exactly these deliveries (a test being sent now), if they are pending.
pub fn claim_ids(c: &Connection, ids: &[i64], now_ms: i64) -> rusqlite::Result<Vec<Delivery>> {
    let me = liveness::current();
    let mut out = Vec::new();
    for &id in ids {
        let claimed = c.execute(
            "UPDATE outbox SET state = 'sending', claim_host = ?2, claim_boot = ?3, claim_pid = ?4,
                    claim_started = ?5, claimed_ms = ?6
              WHERE id = ?1 AND state = 'pending'",
            params![id, me.host, me.boot_id, me.pid, me.started as i64, now_ms],
        )?;
        if claimed == 1
            && let Some(d) = by_id(c, id)?
        {
            out.push(d);
        }
    }
    Ok(out)
}

/// Deliveries that are failing (to be tried again) or failed for good, newest first: the
/// account each is for (`None`: to operators) and its last error. Only those: a short list.
pub fn troubled(c: &Connection) -> rusqlite::Result<Vec<(Option<AccountId>, String)>> {
    let mut stmt = c.prepare_cached(
        "SELECT account, coalesce(last_error, '') FROM outbox
          WHERE state = 'failed' OR (state = 'pending' AND last_error IS NOT NULL)
          ORDER BY id DESC",
    )?;
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::store::Store;

    fn delivery(message_id: &str) -> NewDelivery<'_> {
        NewDelivery {
            event_id: "e1",
            message_id,
            kind: "test",
            account: None,
            channel: "email",
            recipient: Some("op@example.com"),
            subject: "s",
            body: "b",
            created_ms: 1_000,
            not_before_ms: 1_000,
        }
    }

    #[test]
    fn a_claimed_row_is_not_claimed_again_until_its_claimer_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).unwrap();
        let c = store.connection();
        insert(c, &delivery("<a@smartimage>")).unwrap();
        insert(c, &delivery("<b@smartimage>")).unwrap();
        assert!(
            insert(c, &delivery("<a@smartimage>")).is_err(),
            "ids are unique"
        );
        assert_eq!(claim_due(c, 999, 10).unwrap().len(), 0, "not due yet");
        let first = claim_due(c, 2_000, 1).unwrap();
        assert_eq!(first.len(), 1);
        let second = claim_due(c, 2_000, 10).unwrap();
        assert_eq!(second.len(), 1, "only the unclaimed one");
        assert_ne!(first[0].id, second[0].id);
        assert!(claim_due(c, 2_000, 10).unwrap().is_empty());
        // This process is alive and its claims are fresh: nothing goes back…
        assert_eq!(release_dead_claims(c, 0).unwrap(), 0);
        // …unless they are older than the stale limit.
        assert_eq!(release_dead_claims(c, i64::MAX).unwrap(), 2);
        // A try that failed waits for its backoff; a sent one is done.
        mark_retry(c, first[0].id, "refused", 5_000).unwrap();
        mark_sent(c, second[0].id, 2_500).unwrap();
        let again = claim_due(c, 4_999, 10).unwrap();
        assert!(again.is_empty(), "{again:?}");
        let again = claim_due(c, 5_000, 10).unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].attempts, 1);
        assert_eq!(
            again[0].message_id, "<a@smartimage>",
            "the same id on retry"
        );
        assert_eq!(by_id(c, second[0].id).unwrap().unwrap().state, "sent");
    }

    #[test]
    fn a_dead_claimers_rows_go_back_to_pending() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).unwrap();
        let c = store.connection();
        let id = insert(c, &delivery("<a@smartimage>")).unwrap();
        claim_due(c, 2_000, 10).unwrap();
        // Claimed by a process of this host and boot that no longer runs.
        c.execute("UPDATE outbox SET claim_started = claim_started + 1", [])
            .unwrap();
        assert_eq!(release_dead_claims(c, 0).unwrap(), 1);
        assert_eq!(by_id(c, id).unwrap().unwrap().state, "pending");
    }
}
