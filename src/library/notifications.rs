//! What is told to whom, queued in the outbox (`store/outbox.rs`) in the transaction of the
//! change that causes it; `notify::Sender` sends it. Account notices (a digest of failures,
//! a plan warning, a link to authorize again) go to the account's owners and the admin who
//! authorized its link; operator notices (an engine that stopped, a condition of this server)
//! go to the operators. Nothing is queued when no channel is configured.
//!
//! Each notice is one event with a stable id: one email row per address (`Message-ID`
//! `<event.hash@smartimage>`) and one webhook row (`id`). A notice's text names only its own
//! account and the files the customer's report lists: never a token, a server path or another
//! account.

use std::time::Duration;

use rusqlite::Connection;
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::library::error::{LibraryError, Result};
use crate::library::model::{Account, AccountId};
use crate::library::permissions::{Actor, Right};
use crate::library::policy::{Plan, Usage};
use crate::library::store::outbox::{self, Delivery, NewDelivery};
use crate::library::store::{people, quota};

/// `[notify] min_interval_mins` when the config does not say.
pub const DEFAULT_MIN_INTERVAL: Duration = Duration::from_secs(15 * 60);
/// The domain of our `Message-ID`s.
pub const MESSAGE_ID_DOMAIN: &str = "smartimage";

/// Which channels exist (the sender's settings are in `notify`), and how often an account may
/// get a digest. The default queues nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queueing {
    pub email: bool,
    pub webhook: bool,
    pub min_interval: Duration,
}

impl Default for Queueing {
    fn default() -> Self {
        Queueing {
            email: false,
            webhook: false,
            min_interval: DEFAULT_MIN_INTERVAL,
        }
    }
}

impl Queueing {
    pub fn enabled(&self) -> bool {
        self.email || self.webhook
    }
}

/// One failed file as the webhook lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FailedEntry {
    pub path: String,
    pub kind: String,
    pub detail: String,
}

/// What to tell: the email's subject and text (the webhook's `text` too), and for a digest
/// the failed files.
#[derive(Clone, Debug)]
pub struct Notice {
    /// `digest`, `plan`, `reauth`, `engine`, `server_error`, `test`.
    pub kind: String,
    pub account: Option<Account>,
    pub subject: String,
    pub text: String,
    pub failed: Vec<FailedEntry>,
}

#[derive(Serialize)]
struct WebhookBody<'a> {
    id: &'a str,
    event: &'a str,
    account: Option<&'a str>,
    at: String,
    text: &'a str,
    failed: &'a [FailedEntry],
}

fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// A new event id: 128 random bits, hex.
pub fn new_event_id() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // No randomness: the time and pid still make it unique enough for one library.
        let seed = format!("{}-{}", now_ms(), std::process::id());
        bytes.copy_from_slice(&Sha256::digest(seed.as_bytes())[..16]);
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The `Message-ID` of the email of `event` to `address` (stable: a retry repeats it).
pub fn message_id(event: &str, address: &str) -> String {
    let hash = Sha256::digest(address.to_lowercase().as_bytes());
    let short: String = hash[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("<{event}.{short}@{MESSAGE_ID_DOMAIN}>")
}

/// Who gets the notice by email.
fn recipients(c: &Connection, notice: &Notice, asked_for: bool) -> rusqlite::Result<Vec<String>> {
    match &notice.account {
        Some(account) => outbox::account_recipients(c, account.id, asked_for),
        None => outbox::operator_recipients(c),
    }
}

/// Queue `notice` on every configured channel, to go from `not_before_ms`, under `event_id`.
/// Returns how many deliveries were queued.
fn insert_event(
    c: &Connection,
    q: &Queueing,
    notice: &Notice,
    event_id: &str,
    created_ms: i64,
    not_before_ms: i64,
    asked_for: bool,
) -> rusqlite::Result<usize> {
    if let Some(account) = &notice.account
        && !asked_for
        && !outbox::account_notify(c, account.id)?
    {
        return Ok(0);
    }
    let mut queued = 0;
    if q.email {
        for address in recipients(c, notice, asked_for)? {
            let id = message_id(event_id, &address);
            outbox::insert(
                c,
                &NewDelivery {
                    event_id,
                    message_id: &id,
                    kind: &notice.kind,
                    account: notice.account.as_ref().map(|a| a.id),
                    channel: "email",
                    recipient: Some(&address),
                    subject: &notice.subject,
                    body: &notice.text,
                    created_ms,
                    not_before_ms,
                },
            )?;
            queued += 1;
        }
    }
    if q.webhook {
        let at = OffsetDateTime::from_unix_timestamp(created_ms / 1000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
            .format(&Rfc3339)
            .unwrap_or_default();
        let body = serde_json::to_string(&WebhookBody {
            id: event_id,
            event: &notice.kind,
            account: notice.account.as_ref().map(|a| a.name.as_str()),
            at,
            text: &notice.text,
            failed: &notice.failed,
        })
        .unwrap_or_default();
        outbox::insert(
            c,
            &NewDelivery {
                event_id,
                message_id: event_id,
                kind: &notice.kind,
                account: notice.account.as_ref().map(|a| a.id),
                channel: "webhook",
                recipient: None,
                subject: &notice.subject,
                body: &body,
                created_ms,
                not_before_ms,
            },
        )?;
        queued += 1;
    }
    Ok(queued)
}

/// Queue `notice` now; returns its event id when anything was queued.
pub fn queue(c: &Connection, q: &Queueing, notice: &Notice) -> rusqlite::Result<Option<String>> {
    if !q.enabled() {
        return Ok(None);
    }
    let event = new_event_id();
    let now = now_ms();
    Ok((insert_event(c, q, notice, &event, now, now, false)? > 0).then_some(event))
}

/// Queue an account's digest of failures, at most one per `min_interval`: a digest that comes
/// sooner is held back until the interval has passed, and a newer one replaces a held one
/// (same event id: nothing of it was sent yet). Returns the event id.
pub fn queue_digest(
    c: &Connection,
    q: &Queueing,
    notice: &Notice,
) -> rusqlite::Result<Option<String>> {
    let Some(account) = &notice.account else {
        return Ok(None);
    };
    if !q.enabled() {
        return Ok(None);
    }
    let now = now_ms();
    let interval = q.min_interval.as_millis() as i64;
    let (event, not_before) = match outbox::held_digest(c, account.id)? {
        Some((event, not_before)) => {
            outbox::delete_untried_event(c, &event)?;
            (event, not_before)
        }
        None => {
            let not_before = outbox::last_digest_ms(c, account.id)?
                .map_or(now, |last| (last + interval).max(now));
            (new_event_id(), not_before)
        }
    };
    Ok((insert_event(c, q, notice, &event, now, not_before, false)? > 0).then_some(event))
}

impl crate::library::Library {
    /// Queue the plan warnings that storing files outside an import pass (an upload) made
    /// due; the pass checks its own. Returns the events queued.
    pub fn queue_plan_warnings(&mut self, account: &str, q: &Queueing) -> Result<Vec<String>> {
        if !q.enabled() {
            return Ok(Vec::new());
        }
        let account = self.account(account)?;
        let plan = self.plan(&account.plan)?.clone();
        let now = OffsetDateTime::now_utc();
        self.store_mut().transaction(|tx| -> Result<Vec<String>> {
            Ok(check_plan(tx, q, &account, &plan, now)?)
        })
    }
}

/// Plan warnings for `account` crossing 75 % and 100 % of storage or of this month's video
/// allotment: each crossing once per month.
pub fn check_plan(
    c: &Connection,
    q: &Queueing,
    account: &Account,
    plan: &Plan,
    now: OffsetDateTime,
) -> rusqlite::Result<Vec<String>> {
    if !q.enabled() {
        return Ok(Vec::new());
    }
    let usage: Usage = quota::stored(c, account.id, now)?;
    let month = quota::video_month_key(now);
    let mut queued = Vec::new();
    let resources = [
        (
            "storage",
            "storage",
            usage.storage_bytes,
            plan.storage_limit_bytes,
        ),
        (
            "video",
            "this month's video allotment",
            usage.video_bytes_this_month,
            plan.video_bytes_per_month,
        ),
    ];
    for (key, what, used, limit) in resources {
        if limit == 0 {
            continue;
        }
        let percent = (u128::from(used) * 100 / u128::from(limit)) as u64;
        // The highest threshold crossed; the lower one is marked with it (no stale 75 % later).
        let Some(threshold) = [100u64, 75].into_iter().find(|t| percent >= *t) else {
            continue;
        };
        let mark = format!("plan:{}:{key}:{threshold}:{month}", account.id);
        let lower = format!("plan:{}:{key}:75:{month}", account.id);
        if threshold == 100 {
            outbox::mark_once(c, &lower, now_ms())?;
        }
        if !outbox::mark_once(c, &mark, now_ms())? {
            continue;
        }
        let human = |n: u64| bytesize::ByteSize::b(n).display().iec().to_string();
        let subject = format!(
            "Smartimage: {:?} has used {threshold} % of its {what}",
            account.name
        );
        let text = format!(
            "The Smartimage account {:?} (plan {}) has used {percent} % of its {what}: {} of {}.\n\n{}\n",
            account.name,
            plan.name,
            human(used),
            human(limit),
            if threshold >= 100 {
                "New files that need more are refused and stay in Dropbox, listed in the folder's \
                 error report. Free up space in All Files or move the account to a larger plan."
            } else {
                "Free up space in All Files, or move the account to a larger plan, before imports \
                 start failing."
            }
        );
        let notice = Notice {
            kind: "plan".into(),
            account: Some(account.clone()),
            subject,
            text,
            failed: Vec::new(),
        };
        if let Some(event) = queue(c, q, &notice)? {
            queued.push(event);
        }
    }
    Ok(queued)
}

/// The account's link needs authorizing again.
pub fn link_needs_reauth(
    c: &Connection,
    q: &Queueing,
    account: AccountId,
) -> rusqlite::Result<Option<String>> {
    let Some(account) = people::account_by_id(c, account)? else {
        return Ok(None);
    };
    let notice = Notice {
        kind: "reauth".into(),
        subject: format!(
            "Smartimage: the Dropbox link of {:?} needs authorizing again",
            account.name
        ),
        text: format!(
            "Dropbox no longer accepts the authorization of the Smartimage account {:?}: nothing \
             is imported from its folder until an owner (or a delegated admin) links it again \
             (smartimage link --account NAME --api, or the console's Link dialog). Files dropped \
             meanwhile wait in Dropbox.\n",
            account.name
        ),
        account: Some(account),
        failed: Vec::new(),
    };
    queue(c, q, &notice)
}

/// Tell the operators (an engine that stopped, a condition of this server). `text` must hold
/// no secret and no path of this server.
pub fn tell_operators(
    c: &Connection,
    q: &Queueing,
    kind: &str,
    subject: &str,
    text: &str,
) -> rusqlite::Result<Option<String>> {
    queue(
        c,
        q,
        &Notice {
            kind: kind.into(),
            account: None,
            subject: subject.into(),
            text: text.into(),
            failed: Vec::new(),
        },
    )
}

/// Tell the operators that this server could not store downloaded files (the blob store
/// failed: a full disk, permissions, a read-only mount) — at most once per `min_interval`, so a
/// failing disk never sends one message per batch. The files wait in Dropbox and are retried.
pub fn server_could_not_store(
    c: &Connection,
    q: &Queueing,
    files: usize,
    now: OffsetDateTime,
) -> rusqlite::Result<Option<String>> {
    if !q.enabled() {
        return Ok(None);
    }
    let window = (q.min_interval.as_secs() as i64).max(60);
    let mark = format!("server:store:{}", now.unix_timestamp().div_euclid(window));
    if !outbox::mark_once(c, &mark, now_ms())? {
        return Ok(None);
    }
    tell_operators(
        c,
        q,
        "server_error",
        "Smartimage: this server could not store imported files",
        &format!(
            "The import engine could not store {files} downloaded file(s) in the library's blob              store (a full disk, permissions or a read-only mount). Nothing was lost: the files              stay in Dropbox and are tried again automatically. The engine's log says what              failed; `smartimage check` looks at the library.\n"
        ),
    )
}

/// What `notify status` shows: the deliveries the actor may see, newest first.
#[derive(Clone, Debug, Serialize)]
pub struct OutboxStatus {
    pub queued: u64,
    pub sent: u64,
    pub failing: u64,
    pub failed: u64,
    pub deliveries: Vec<Delivery>,
}

impl crate::library::Library {
    /// An admin turns email notifications off or on for themselves (operators for anyone).
    pub fn set_admin_email_notify(&mut self, actor: &Actor, email: &str, on: bool) -> Result<()> {
        let admin = people::admin_by_email(self.store.connection(), email)?
            .ok_or_else(|| LibraryError::NotFound(format!("no admin {email:?}")))?;
        if admin.id != actor.admin.id && !actor.is_operator() {
            return Err(LibraryError::PermissionDenied(format!(
                "{} may turn email off or on only for themselves",
                actor.admin.email
            )));
        }
        let at = OffsetDateTime::now_utc().unix_timestamp();
        let detail = if on { "on" } else { "off" };
        self.store.transaction(|tx| -> Result<()> {
            outbox::set_admin_email(tx, admin.id, on)?;
            crate::library::store::audit::record(
                tx,
                &crate::library::actions::event(
                    actor,
                    at,
                    "admin.notify",
                    None,
                    &admin.email,
                    Some(detail),
                ),
            )?;
            Ok(())
        })
    }

    /// An account's owners turn its notifications off or on.
    pub fn set_account_notify(&mut self, actor: &Actor, account: &str, on: bool) -> Result<()> {
        let account = self.account(account)?;
        actor.check(Right::NotifySettings(&account))?;
        let at = OffsetDateTime::now_utc().unix_timestamp();
        let detail = if on { "on" } else { "off" };
        self.store.transaction(|tx| -> Result<()> {
            outbox::set_account_notify(tx, account.id, on)?;
            crate::library::store::audit::record(
                tx,
                &crate::library::actions::event(
                    actor,
                    at,
                    "account.notify",
                    Some(account.id),
                    &account.name,
                    Some(detail),
                ),
            )?;
            Ok(())
        })
    }

    /// The outbox as `actor` may see it: operators all of it, owners their accounts' rows.
    /// What the console says while notifications do not get through: how many of those the
    /// actor may see (operators all, owners their accounts') and the newest error. `None`
    /// when all is well or the actor sees no notifications.
    pub fn notification_trouble(&self, actor: &Actor) -> Result<Option<String>> {
        let mine = |account: Option<AccountId>| match account {
            None => actor.is_operator(),
            Some(id) => {
                actor.is_operator()
                    || actor
                        .memberships
                        .iter()
                        .any(|m| m.account == id && m.role == crate::library::model::Role::Owner)
            }
        };
        let seen: Vec<String> = outbox::troubled(self.store.connection())?
            .into_iter()
            .filter(|(account, _)| mine(*account))
            .map(|(_, error)| error)
            .collect();
        Ok(seen.first().map(|newest| {
            format!(
                "notifications: {} not delivered ({newest}); see `smartimage notify status`",
                seen.len()
            )
        }))
    }

    pub fn notification_status(&self, actor: &Actor, limit: u32) -> Result<OutboxStatus> {
        let owned: Vec<AccountId> = actor
            .memberships
            .iter()
            .filter(|m| m.role == crate::library::model::Role::Owner)
            .map(|m| m.account)
            .collect();
        if !actor.is_operator() && owned.is_empty() {
            return Err(LibraryError::PermissionDenied(format!(
                "{} is neither an operator nor an owner of an account; only they see notifications",
                actor.admin.email
            )));
        }
        let scope = (!actor.is_operator()).then_some(owned.as_slice());
        let all = outbox::list(self.store.connection(), scope, u32::MAX)?;
        let count = |f: &dyn Fn(&Delivery) -> bool| all.iter().filter(|d| f(d)).count() as u64;
        Ok(OutboxStatus {
            queued: count(&|d| {
                matches!(d.state.as_str(), "pending" | "sending") && d.last_error.is_none()
            }),
            sent: count(&|d| d.state == "sent"),
            failing: count(&|d| d.state == "pending" && d.last_error.is_some()),
            failed: count(&|d| d.state == "failed"),
            deliveries: all.into_iter().take(limit as usize).collect(),
        })
    }

    /// Queue a test notice: to the account's recipients (owners, operators), or to the
    /// operators. Returns its event id and the delivery ids.
    pub fn queue_test_notice(
        &mut self,
        actor: &Actor,
        q: &Queueing,
        account: Option<&str>,
    ) -> Result<(String, Vec<i64>)> {
        let account = match account {
            Some(name) => {
                let account = self.account(name)?;
                if !(actor.is_operator()
                    || actor.role_in(account.id) == Some(crate::library::model::Role::Owner))
                {
                    return Err(LibraryError::PermissionDenied(format!(
                        "{} is not an owner of {:?}; only its owners (or an operator) send it a test",
                        actor.admin.email, account.name
                    )));
                }
                Some(account)
            }
            None => {
                actor.check(Right::Maintain)?;
                None
            }
        };
        if !q.enabled() {
            return Err(LibraryError::InvalidInput(
                "no notification channel is configured ([notify.email] or [notify.webhook] in \
                 the config file)"
                    .into(),
            ));
        }
        let notice = Notice {
            kind: "test".into(),
            subject: match &account {
                Some(a) => format!("Smartimage: a test notification for {:?}", a.name),
                None => "Smartimage: a test notification".into(),
            },
            text: format!(
                "This is a test, sent by {} with `smartimage notify test`. Notifications reach \
                 this address.\n",
                actor.admin.email
            ),
            account,
            failed: Vec::new(),
        };
        let c = self.store.connection();
        let event = new_event_id();
        let now = now_ms();
        // A test goes even to an account whose notifications are off: it was asked for.
        let queued = insert_test(c, q, &notice, &event, now)?;
        if queued.is_empty() {
            return Err(LibraryError::InvalidInput(
                "nobody to send it to: no recipient has email on (and no webhook is configured)"
                    .into(),
            ));
        }
        Ok((event, queued))
    }
}

fn insert_test(
    c: &Connection,
    q: &Queueing,
    notice: &Notice,
    event: &str,
    now: i64,
) -> rusqlite::Result<Vec<i64>> {
    let before: i64 = c.query_row("SELECT coalesce(max(id), 0) FROM outbox", [], |r| r.get(0))?;
    insert_event(c, q, notice, event, now, now, true)?;
    c.prepare("SELECT id FROM outbox WHERE id > ?1 AND event_id = ?2 ORDER BY id")?
        .query_map(rusqlite::params![before, event], |r| r.get(0))?
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::policy::PlanCatalog;
    use crate::library::store::Store;

    fn deliveries(c: &Connection, kind: &str) -> Vec<Delivery> {
        outbox::list(c, None, 100)
            .unwrap()
            .into_iter()
            .filter(|d| d.kind == kind)
            .collect()
    }

    #[test]
    fn a_failing_blob_store_is_told_to_operators_once_per_interval() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).unwrap();
        let c = store.connection();
        let q = Queueing {
            webhook: true,
            min_interval: Duration::from_secs(15 * 60),
            ..Queueing::default()
        };
        let now = OffsetDateTime::now_utc();
        assert!(server_could_not_store(c, &q, 3, now).unwrap().is_some());
        assert!(
            server_could_not_store(c, &q, 5, now).unwrap().is_none(),
            "one message per interval, not per batch"
        );
        let later = now + time::Duration::minutes(16);
        assert!(server_could_not_store(c, &q, 1, later).unwrap().is_some());
        let told = deliveries(c, "server_error");
        assert_eq!(told.len(), 2);
        assert!(told.iter().all(|d| d.account.is_none()), "to operators");
        assert!(
            server_could_not_store(c, &Queueing::default(), 1, later + time::Duration::hours(1))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn a_plan_warning_goes_once_per_crossing_and_month() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).unwrap();
        let c = store.connection();
        let id = people::insert_account(c, "Acme", "trial", 0).unwrap();
        let account = people::account_by_id(c, id).unwrap().unwrap();
        let plan = PlanCatalog::defaults().get("trial").unwrap().clone();
        let q = Queueing {
            webhook: true,
            ..Queueing::default()
        };
        let now = OffsetDateTime::now_utc();
        let set_used = |bytes: u64| {
            c.execute(
                "UPDATE storage_usage SET bytes = ?2 WHERE account = ?1",
                rusqlite::params![id, bytes as i64],
            )
            .unwrap();
        };
        let limit = plan.storage_limit_bytes;
        set_used(limit / 2);
        assert!(check_plan(c, &q, &account, &plan, now).unwrap().is_empty());
        set_used(limit / 4 * 3);
        assert_eq!(check_plan(c, &q, &account, &plan, now).unwrap().len(), 1);
        assert!(
            check_plan(c, &q, &account, &plan, now).unwrap().is_empty(),
            "once"
        );
        set_used(limit);
        assert_eq!(check_plan(c, &q, &account, &plan, now).unwrap().len(), 1);
        assert!(check_plan(c, &q, &account, &plan, now).unwrap().is_empty());
        let sent = deliveries(c, "plan");
        assert_eq!(sent.len(), 2);
        assert!(sent.iter().any(|d| d.subject.contains("100 %")));
        // Nothing is queued without a channel.
        assert!(
            check_plan(c, &Queueing::default(), &account, &plan, now)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn an_account_turned_off_gets_nothing_but_a_test_it_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).unwrap();
        let c = store.connection();
        let id = people::insert_account(c, "Acme", "trial", 0).unwrap();
        let account = people::account_by_id(c, id).unwrap().unwrap();
        let q = Queueing {
            webhook: true,
            ..Queueing::default()
        };
        let notice = Notice {
            kind: "digest".into(),
            account: Some(account),
            subject: "s".into(),
            text: "t".into(),
            failed: Vec::new(),
        };
        outbox::set_account_notify(c, id, false).unwrap();
        assert_eq!(queue_digest(c, &q, &notice).unwrap(), None);
        let test = Notice {
            kind: "test".into(),
            ..notice.clone()
        };
        assert_eq!(insert_test(c, &q, &test, "e", 0).unwrap().len(), 1);
        outbox::set_account_notify(c, id, true).unwrap();
        let first = queue_digest(c, &q, &notice).unwrap().unwrap();
        // Not sent yet: a newer digest replaces it, keeping its id and its time.
        let second = queue_digest(c, &q, &notice).unwrap().unwrap();
        assert_eq!(first, second);
        assert_eq!(deliveries(c, "digest").len(), 1);
        // Once it went, the next one waits for the interval.
        let sent = deliveries(c, "digest")[0].id;
        outbox::mark_sent(c, sent, now_ms()).unwrap();
        let third = queue_digest(c, &q, &notice).unwrap().unwrap();
        assert_ne!(first, third);
        let held: Vec<Delivery> = deliveries(c, "digest")
            .into_iter()
            .filter(|d| d.state == "pending")
            .collect();
        assert_eq!(held.len(), 1, "{held:?}");
        assert!(held[0].not_before_ms >= held[0].created_ms + 15 * 60 * 1000 - 1000);
    }
}
