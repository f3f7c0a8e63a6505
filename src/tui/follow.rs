//! The store follower: one live path for whatever engine runs — this console's own or another
//! process's (ARCHITECTURE.md, "Engines and consoles"). On a read connection of its own it asks
//! SQLite every [`POLL`] whether any other connection committed (`PRAGMA data_version`, no
//! table read) and only then reads: the event log since the last row it saw, turned into the
//! `EngineEvent`s the console renders; the engine status rows (also every second without a
//! commit, to age heartbeats); and, at most every [`REFRESH_EVERY`], a nudge to read the panes
//! again. An idle library costs a pragma ten times a second and draws nothing.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::import::events::EngineEvent;
use crate::import::feed;
use crate::import::lock::EngineLock;
use crate::import::publish::now_ms;
use crate::library::Library;
use crate::library::model::AccountId;
use crate::library::policy::PlanCatalog;
use crate::library::store::engine_events::{self, EventRow};
use crate::library::store::engine_status;

use super::engine_state::EnginesSeen;

/// How often the follower asks whether anything was committed.
pub const POLL: Duration = Duration::from_millis(100);
/// Engine rows are read at least this often, so a dead engine's heartbeat ages on screen.
pub const ROWS_EVERY: Duration = Duration::from_secs(1);
/// The panes are read again at most this often while changes keep coming.
pub const REFRESH_EVERY: Duration = Duration::from_millis(500);
/// Notifications that do not get through are looked at at most this often.
pub const NOTICES_EVERY: Duration = Duration::from_secs(3);
/// Events replayed on opening, so the queue shows what happened lately.
pub const HISTORY: i64 = 200;
/// Log rows read per query.
const BATCH: usize = 500;

/// What the follower tells the console.
#[derive(Clone, Debug, PartialEq)]
pub enum Followed {
    /// The last [`HISTORY`] events, once, on opening.
    History(Vec<EngineEvent>),
    /// New events of the log (for the accounts the admin may see).
    Events(Vec<EngineEvent>),
    /// The engine rows, and whether the engine lock is taken.
    Engines(EnginesSeen),
    /// Something changed in the library: read the panes again.
    Changed,
    /// Notifications that do not get through, as the admin may see them (`None`: all well).
    Notices(Option<String>),
}

/// Who follows, and where.
#[derive(Clone, Debug)]
pub struct FollowOptions {
    pub data_dir: PathBuf,
    pub plans: PlanCatalog,
    pub as_admin: Option<String>,
    pub os_user: Option<String>,
}

/// What the follower saw last: the last log row, and what moved since the panes were read.
pub struct Follower {
    options: FollowOptions,
    library: Library,
    /// Accounts whose events the admin may see (`None`: all, an operator).
    visible: Option<HashSet<AccountId>>,
    seq: i64,
    data_version: i64,
    /// The newest log row, audit row and file: what moves when anything worth a new read
    /// happens (a heartbeat moves none of them).
    fingerprint: (i64, i64, i64),
    changed: bool,
    refreshed: Option<Instant>,
    rows_read: Option<Instant>,
    /// What was last said about notifications that do not get through, and when it was read.
    notices: Option<String>,
    notices_read: Option<Instant>,
}

impl Follower {
    pub fn open(options: FollowOptions) -> Result<Follower, String> {
        let library = Library::open_existing(&options.data_dir, options.plans.clone())
            .map_err(|e| e.to_string())?;
        let mut follower = Follower {
            options,
            library,
            visible: Some(HashSet::new()),
            seq: 0,
            data_version: 0,
            fingerprint: (0, 0, 0),
            changed: false,
            refreshed: None,
            rows_read: None,
            notices: None,
            notices_read: None,
        };
        follower.read_rights();
        follower.data_version =
            engine_events::data_version(follower.conn()).map_err(|e| e.to_string())?;
        follower.fingerprint =
            engine_events::fingerprint(follower.conn()).map_err(|e| e.to_string())?;
        Ok(follower)
    }

    fn conn(&self) -> &Connection {
        self.library.store().connection()
    }

    /// The admin's accounts, again (rights change through audited actions).
    fn read_rights(&mut self) {
        let actor = self.library.actor(
            self.options.as_admin.as_deref(),
            self.options.os_user.as_deref(),
        );
        self.visible = match actor {
            Ok(actor) => actor
                .visible_accounts()
                .map(|ids| ids.into_iter().collect()),
            // An admin removed meanwhile sees nothing.
            Err(_) => Some(HashSet::new()),
        };
    }

    /// The last [`HISTORY`] events; following starts after them.
    pub fn history(&mut self) -> rusqlite::Result<Vec<EngineEvent>> {
        self.seq = engine_events::seq_before_last(self.conn(), HISTORY)?;
        self.new_events()
    }

    /// Events after the last one seen, oldest first, for the admin's accounts.
    fn new_events(&mut self) -> rusqlite::Result<Vec<EngineEvent>> {
        let mut events = vec![];
        loop {
            let rows = engine_events::since(self.conn(), self.seq, BATCH)?;
            let full = rows.len() == BATCH;
            for row in &rows {
                self.seq = row.seq;
                if self.may_see(row)
                    && let Some(event) = feed::to_event(row)
                {
                    events.push(event);
                }
            }
            if !full {
                return Ok(events);
            }
        }
    }

    /// Rows without an account (progress, a changed file kept) name an item only: they change
    /// nothing unless the item is in the admin's queue already.
    fn may_see(&self, row: &EventRow) -> bool {
        match (&self.visible, row.account_id) {
            (None, _) | (_, None) => true,
            (Some(ids), Some(account)) => ids.contains(&account),
        }
    }

    /// One look at the store: what to tell the console now.
    pub fn poll(&mut self, now: Instant) -> rusqlite::Result<Vec<Followed>> {
        let mut out = vec![];
        let version = engine_events::data_version(self.conn())?;
        let committed = version != self.data_version;
        if committed {
            self.data_version = version;
            let print = engine_events::fingerprint(self.conn())?;
            if print != self.fingerprint {
                if print.1 != self.fingerprint.1 {
                    self.read_rights();
                }
                self.fingerprint = print;
                self.changed = true;
                let events = self.new_events()?;
                if !events.is_empty() {
                    out.push(Followed::Events(events));
                }
            }
        }
        if committed || self.rows_read.is_none_or(|at| now - at >= ROWS_EVERY) {
            self.rows_read = Some(now);
            out.push(Followed::Engines(self.engines()?));
        }
        if self.changed && self.refreshed.is_none_or(|at| now - at >= REFRESH_EVERY) {
            self.changed = false;
            self.refreshed = Some(now);
            out.push(Followed::Changed);
        }
        // A sender's failed try changes only the outbox: looked at after commits, at most
        // every few seconds.
        if (committed || self.notices_read.is_none())
            && self.notices_read.is_none_or(|at| now - at >= NOTICES_EVERY)
        {
            self.notices_read = Some(now);
            let notices = self.notices();
            if notices != self.notices {
                self.notices = notices.clone();
                out.push(Followed::Notices(notices));
            }
        }
        Ok(out)
    }

    /// Notifications that do not get through, for this admin (`None` for admins who see none).
    fn notices(&self) -> Option<String> {
        let actor = self
            .library
            .actor(
                self.options.as_admin.as_deref(),
                self.options.os_user.as_deref(),
            )
            .ok()?;
        self.library.notification_trouble(&actor).ok().flatten()
    }

    fn engines(&self) -> rusqlite::Result<EnginesSeen> {
        let rows = engine_status::engines(self.conn())?;
        let now_ms = now_ms();
        // The lock is asked only when no row answers (asking takes it for an instant).
        let answered = rows
            .iter()
            .any(|r| r.is_fresh(now_ms) && r.published.state != "standby");
        let lock_held = (!answered).then(|| EngineLock::is_held(&self.options.data_dir));
        Ok(EnginesSeen {
            rows,
            lock_held,
            now_ms,
        })
    }
}

/// Follow on a thread of its own until `tell` says the console is gone. The history goes
/// first; a failed read is logged and tried again at the next poll.
pub fn spawn(
    options: FollowOptions,
    tell: impl Fn(Followed) -> bool + Send + 'static,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("store-follower".into())
        .spawn(move || {
            let mut follower = match Follower::open(options) {
                Ok(follower) => follower,
                Err(error) => {
                    tracing::warn!(%error, "cannot follow the library; the console shows no live engine");
                    return;
                }
            };
            match follower.history() {
                Ok(events) => {
                    if !tell(Followed::History(events)) {
                        return;
                    }
                }
                Err(error) => tracing::warn!(%error, "cannot read the engine's recent events"),
            }
            loop {
                match follower.poll(Instant::now()) {
                    Ok(out) => {
                        for followed in out {
                            if !tell(followed) {
                                return;
                            }
                        }
                    }
                    Err(error) => tracing::debug!(%error, "could not follow the library"),
                }
                std::thread::sleep(POLL);
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::actions::AdminGrant;
    use crate::library::ids::{ItemId, LinkId};
    use crate::library::store::Store;
    use crate::library::store::engine_commands::CommandKind;
    use crate::library::store::engine_status::Published;
    use crate::library::store::processes;

    const OPERATOR: &str = "op@follow.test";
    const OWNER: &str = "olivia@follow.test";

    /// A library with two linked accounts; OWNER is an owner of `acme` only.
    fn library() -> (tempfile::TempDir, FollowOptions) {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let mut lib = Library::open(&data, PlanCatalog::default()).unwrap();
        lib.init(OPERATOR, None, None).unwrap();
        let op = lib.actor(Some(OPERATOR), None).unwrap();
        let acme = lib.add_account(&op, "acme", "team").unwrap();
        let other = lib.add_account(&op, "other", "team").unwrap();
        let grant = AdminGrant {
            email: OWNER.into(),
            owner_of: vec!["acme".into()],
            ..AdminGrant::default()
        };
        lib.add_admin(&op, &grant).unwrap();
        lib.store()
            .connection()
            .execute_batch(&format!(
                "INSERT INTO dropbox_connections(id, dropbox_account_id, backend, created_at)
                     VALUES (1, 'dbid', 'local', 0);
                 INSERT INTO links(id, account, connection, folder_path, created_at)
                     VALUES (7, {}, 1, '/acme', 0), (8, {}, 1, '/other', 0);",
                acme.id, other.id
            ))
            .unwrap();
        let options = FollowOptions {
            data_dir: data,
            plans: PlanCatalog::default(),
            as_admin: Some(OWNER.into()),
            os_user: None,
        };
        (dir, options)
    }

    /// Another process's connection, as an engine elsewhere writes.
    fn elsewhere(options: &FollowOptions) -> Store {
        Store::open_existing(
            &options
                .data_dir
                .join(crate::library::actions::DATABASE_FILE),
        )
        .unwrap()
    }

    fn discover(store: &Store, id: i64, link: i64, path: &str) {
        store
            .connection()
            .execute(
                "INSERT INTO import_items(id, link, dropbox_id, rev, path, size, state, created_at, updated_at)
                 VALUES (?1, ?2, ?3, 'r1', ?4, 10, 'discovered', 0, 0)",
                rusqlite::params![ItemId(id), LinkId(link), format!("id:{id}"), path],
            )
            .unwrap();
    }

    fn events(out: &[Followed]) -> Vec<EngineEvent> {
        out.iter()
            .filter_map(|f| match f {
                Followed::Events(e) => Some(e.clone()),
                _ => None,
            })
            .flatten()
            .collect()
    }

    #[test]
    fn another_connections_journal_rows_come_as_events_of_the_admins_accounts_only() {
        let (_dir, options) = library();
        let writer = elsewhere(&options);
        discover(&writer, 1, 7, "/acme/old.png");
        let mut follower = Follower::open(options.clone()).unwrap();
        let history = follower.history().unwrap();
        assert!(
            matches!(&history[..], [EngineEvent::Discovered(i)] if i.path == "/acme/old.png"),
            "the recent past is replayed on opening: {history:?}"
        );
        let t0 = Instant::now();
        assert_eq!(follower.poll(t0).unwrap().len(), 1, "the engine rows, once");
        assert!(follower.poll(t0).unwrap().is_empty(), "nothing moved");

        discover(&writer, 2, 7, "/acme/new.png");
        discover(&writer, 3, 8, "/other/secret.png");
        writer
            .connection()
            .execute_batch("UPDATE import_items SET state = 'failed', error_kind = 'unsupported_format' WHERE id = 2")
            .unwrap();
        let out = follower.poll(t0 + POLL).unwrap();
        let seen = events(&out);
        assert!(
            matches!(&seen[..], [EngineEvent::Discovered(a), EngineEvent::Failed { item: b, .. }]
                if a.path == "/acme/new.png" && b.item == ItemId(2)),
            "{seen:?}"
        );
        assert!(out.contains(&Followed::Changed), "{out:?}");
        assert!(out.iter().any(|f| matches!(f, Followed::Engines(_))));
    }

    #[test]
    fn notifications_that_do_not_get_through_are_said_to_the_owner_they_concern() {
        let (_dir, options) = library();
        let writer = elsewhere(&options);
        let mut follower = Follower::open(options.clone()).unwrap();
        follower.history().unwrap();
        let t0 = Instant::now();
        follower.poll(t0).unwrap();
        let failing = |id: i64, account: &str, error: &str| {
            writer
                .connection()
                .execute(
                    "INSERT INTO outbox(id, event_id, message_id, kind, account, channel, subject,
                                        body, created_ms, not_before_ms, state, last_error)
                     VALUES (?1, ?2, ?2, 'digest', (SELECT id FROM accounts WHERE name = ?3),
                             'webhook', 's', 'b', 0, 0, 'pending', ?4)",
                    rusqlite::params![id, format!("e{id}"), account, error],
                )
                .unwrap();
        };
        // Another account's trouble is not this owner's to see.
        failing(1, "other", "connection refused");
        let out = follower.poll(t0 + NOTICES_EVERY).unwrap();
        assert!(
            !out.iter().any(|f| matches!(f, Followed::Notices(_))),
            "{out:?}"
        );
        failing(2, "acme", "server said 550");
        let out = follower.poll(t0 + 2 * NOTICES_EVERY).unwrap();
        let said = out.iter().find_map(|f| match f {
            Followed::Notices(Some(text)) => Some(text.clone()),
            _ => None,
        });
        let said = said.unwrap_or_else(|| panic!("{out:?}"));
        assert!(
            said.contains("1 not delivered") && said.contains("550"),
            "{said}"
        );
        // Delivered after all: the line goes.
        writer
            .connection()
            .execute_batch("UPDATE outbox SET state = 'sent', last_error = NULL WHERE id = 2")
            .unwrap();
        let out = follower.poll(t0 + 3 * NOTICES_EVERY).unwrap();
        assert!(out.contains(&Followed::Notices(None)), "{out:?}");
    }

    #[test]
    fn changes_are_read_again_at_most_twice_a_second_and_a_heartbeat_is_no_change() {
        let (_dir, options) = library();
        let mut writer = elsewhere(&options);
        let mut follower = Follower::open(options.clone()).unwrap();
        follower.history().unwrap();
        let t0 = Instant::now();
        follower.poll(t0).unwrap();

        // A command given from another console: an audited change.
        let mut other = Library::open_existing(&options.data_dir, PlanCatalog::default()).unwrap();
        let op = other.actor(Some(OPERATOR), None).unwrap();
        other.command_engine(&op, CommandKind::Scan, None).unwrap();
        let out = follower.poll(t0 + POLL).unwrap();
        assert!(out.contains(&Followed::Changed), "{out:?}");

        // Another change soon after waits for the half second to pass.
        discover(&writer, 4, 7, "/acme/b.png");
        let out = follower.poll(t0 + 2 * POLL).unwrap();
        assert_eq!(events(&out).len(), 1, "events are never held back");
        assert!(!out.contains(&Followed::Changed), "{out:?}");
        let out = follower.poll(t0 + POLL + REFRESH_EVERY).unwrap();
        assert!(out.contains(&Followed::Changed), "{out:?}");

        // An engine's heartbeat: its row is read, the panes are not.
        let process = writer
            .transaction(|tx| processes::register(tx, "engine", "ann", 0))
            .unwrap();
        let status = Published {
            mode: "serve".into(),
            state: "running".into(),
            ..Published::default()
        };
        writer
            .transaction_relaxed(|tx| engine_status::publish(tx, process, &status, now_ms()))
            .unwrap();
        let out = follower.poll(t0 + 2 * REFRESH_EVERY + POLL).unwrap();
        let [Followed::Engines(seen)] = &out[..] else {
            panic!("{out:?}")
        };
        assert_eq!(seen.rows[0].published.mode, "serve");
        assert_eq!(
            seen.lock_held, None,
            "a fresh row answers; the lock is not asked"
        );
    }
}
