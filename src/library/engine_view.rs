//! What runs on the library, as one admin may see it (`smartimage status`): each engine's
//! status row with its links and files in flight named, today's totals and the commands no
//! engine has finished. An admin who is not an operator sees only the links, files, totals
//! and commands of the accounts they may view; the engines themselves (host, pid, heartbeat)
//! are shown to every admin, since whether importing runs at all concerns them all.

use crate::library::ids::CommandId;
use std::collections::HashMap;

use serde::Serialize;

use crate::library::actions::{Library, now};
use crate::library::error::Result;
use crate::library::model::AccountId;
use crate::library::permissions::Actor;
use crate::library::store::engine_commands::{self, Command, CommandKind};
use crate::library::store::engine_events::{self, DayTotals};
use crate::library::store::engine_status::{self, EngineRow};
use crate::library::store::import_items::{self, ItemId};
use crate::library::store::links::{self, LinkId};

/// Whether importing runs: like `systemctl is-active`, for scripts and monitoring.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// At least one engine published within `STALE_AFTER_MS`.
    Running,
    /// No engine has a status row.
    None,
    /// Rows, but none fresh: an engine hung, or died where this host cannot see it.
    Stale,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LinkView {
    pub id: LinkId,
    pub account: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FlightView {
    pub item: ItemId,
    pub account: String,
    pub path: String,
    pub bytes: u64,
    pub total: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EngineView {
    pub host: String,
    pub pid: u32,
    pub os_user: String,
    pub mode: String,
    pub state: String,
    /// Unix seconds.
    pub started_at: i64,
    pub heartbeat_age_ms: i64,
    pub healthy: bool,
    pub links: Vec<LinkView>,
    pub in_flight: Vec<FlightView>,
    pub rate_bps: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PendingView {
    pub id: CommandId,
    pub kind: CommandKind,
    pub by: String,
    /// Unix milliseconds.
    pub given_at_ms: i64,
    /// The account it is for (`None`: every account, or the whole engine).
    pub account: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EngineOverview {
    pub engines: Vec<EngineView>,
    pub today: DayTotals,
    pub pending_commands: Vec<PendingView>,
    pub health: Health,
}

/// A link's account, as the shaping needs it.
#[derive(Clone, Debug)]
pub struct LinkOwner {
    pub account_id: AccountId,
    pub account: String,
}

/// A journal item in flight: its link and path.
#[derive(Clone, Debug)]
pub struct ItemPlace {
    pub link: LinkId,
    pub path: String,
}

/// What the actor may see of accounts: `None` = all (operators).
fn may_see(visible: Option<&[AccountId]>, account: AccountId) -> bool {
    visible.is_none_or(|v| v.contains(&account))
}

/// One status row as `visible` may see it: links and files of other accounts left out (and
/// those whose link or item is no longer known, unless the actor sees everything).
pub fn shape_engine(
    row: &EngineRow,
    owners: &HashMap<LinkId, LinkOwner>,
    items: &HashMap<ItemId, ItemPlace>,
    visible: Option<&[AccountId]>,
    now_ms: i64,
) -> EngineView {
    let owner_of = |link: LinkId| -> Option<String> {
        match owners.get(&link) {
            Some(o) if may_see(visible, o.account_id) => Some(o.account.clone()),
            Some(_) => None,
            None => visible.is_none().then(String::new),
        }
    };
    let links = row
        .published
        .links
        .iter()
        .filter_map(|&id| owner_of(id).map(|account| LinkView { id, account }))
        .collect();
    let in_flight = row
        .published
        .in_flight
        .iter()
        .filter_map(|f| {
            let (account, path) = match items.get(&f.item) {
                Some(place) => (owner_of(place.link)?, place.path.clone()),
                None if visible.is_none() => (String::new(), String::new()),
                None => return None,
            };
            Some(FlightView {
                item: f.item,
                account,
                path,
                bytes: f.bytes,
                total: f.total,
            })
        })
        .collect();
    EngineView {
        host: row.host.clone(),
        pid: row.pid,
        os_user: row.os_user.clone(),
        mode: row.published.mode.clone(),
        state: row.published.state.clone(),
        started_at: row.started_at,
        heartbeat_age_ms: (now_ms - row.updated_ms).max(0),
        healthy: row.is_fresh(now_ms),
        links,
        in_flight,
        rate_bps: row.published.rate_bps,
    }
}

/// Running when any engine is healthy; stale when there are rows but none is; else none.
pub fn health(engines: &[EngineView]) -> Health {
    // An engine in standby imports nothing: it neither makes the library healthy nor stale.
    let working: Vec<&EngineView> = engines.iter().filter(|e| e.state != "standby").collect();
    if working.iter().any(|e| e.healthy) {
        Health::Running
    } else if working.is_empty() {
        Health::None
    } else {
        Health::Stale
    }
}

/// A command as `visible` may see it: one for another account's link is left out.
pub fn shape_command(
    command: Command,
    owners: &HashMap<LinkId, LinkOwner>,
    visible: Option<&[AccountId]>,
) -> Option<PendingView> {
    let account = match command.link {
        None => None,
        Some(link) => match owners.get(&link) {
            Some(o) if may_see(visible, o.account_id) => Some(o.account.clone()),
            Some(_) => return None,
            None if visible.is_none() => None,
            None => return None,
        },
    };
    Some(PendingView {
        id: command.id,
        kind: command.kind,
        by: command.actor,
        given_at_ms: command.at_ms,
        account,
    })
}

impl Library {
    /// The link of `account` that is not unlinked, if any (read-only, for the console's panes).
    pub fn live_link_of(&self, account: AccountId) -> Result<Option<links::LinkRecord>> {
        Ok(links::live_link_of(self.store.connection(), account)?)
    }

    /// Today's import totals over `links` (every link when `None`), as of `now` (unix seconds).
    pub fn today_totals(&self, links: Option<&[LinkId]>, now: i64) -> Result<DayTotals> {
        Ok(engine_events::today(self.store.connection(), links, now)?)
    }

    /// The engine status rows, stale ones too (read-only).
    pub fn engine_rows(&self) -> Result<Vec<EngineRow>> {
        Ok(engine_status::engines(self.store.connection())?)
    }

    /// What runs on this library, as `actor` may see it. Read-only: any admin may ask.
    pub fn engine_overview(&self, actor: &Actor) -> Result<EngineOverview> {
        let c = self.store.connection();
        let at = now();
        let now_ms = (at.unix_timestamp_nanos() / 1_000_000) as i64;
        let rows = engine_status::engines(c)?;
        let owners: HashMap<LinkId, LinkOwner> = links::all_links(c)?
            .into_iter()
            .map(|l| {
                let owner = LinkOwner {
                    account_id: l.account,
                    account: l.account_name,
                };
                (l.id, owner)
            })
            .collect();
        let mut items = HashMap::new();
        for flight in rows.iter().flat_map(|r| &r.published.in_flight) {
            // The file may have finished since the row was written: then it is not shown.
            if let Some(item) = import_items::item(c, flight.item)? {
                let place = ItemPlace {
                    link: item.link,
                    path: item.path,
                };
                items.insert(flight.item, place);
            }
        }
        let visible = actor.visible_accounts();
        let visible = visible.as_deref();
        let engines: Vec<EngineView> = rows
            .iter()
            .map(|row| shape_engine(row, &owners, &items, visible, now_ms))
            .collect();
        let today_links: Option<Vec<LinkId>> = visible.map(|v| {
            owners
                .iter()
                .filter(|(_, o)| v.contains(&o.account_id))
                .map(|(id, _)| *id)
                .collect()
        });
        let today = engine_events::today(c, today_links.as_deref(), at.unix_timestamp())?;
        let pending_commands = engine_commands::open(c)?
            .into_iter()
            .filter_map(|command| shape_command(command, &owners, visible))
            .collect();
        Ok(EngineOverview {
            health: health(&engines),
            engines,
            today,
            pending_commands,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::ids::ProcessId;
    use crate::library::store::engine_status::{InFlight, Published, STALE_AFTER_MS};

    const NOW: i64 = 1_000_000;

    fn row(updated_ms: i64, alive_here: Option<bool>) -> EngineRow {
        EngineRow {
            process: ProcessId(1),
            host: "h".into(),
            pid: 42,
            os_user: "u".into(),
            started_at: 10,
            updated_ms,
            published: Published {
                mode: "watch".into(),
                state: "running".into(),
                links: vec![LinkId(1), LinkId(2)],
                in_flight: vec![
                    InFlight {
                        item: ItemId(10),
                        bytes: 5,
                        total: 20,
                    },
                    InFlight {
                        item: ItemId(20),
                        bytes: 1,
                        total: 2,
                    },
                ],
                rate_bps: 7,
            },
            alive_here,
        }
    }

    fn owners() -> HashMap<LinkId, LinkOwner> {
        [(1, 100, "Acme"), (2, 200, "Globex")]
            .into_iter()
            .map(|(link, id, name)| {
                let owner = LinkOwner {
                    account_id: AccountId(id),
                    account: name.into(),
                };
                (LinkId(link), owner)
            })
            .collect()
    }

    fn items() -> HashMap<ItemId, ItemPlace> {
        [(10, 1, "/Acme/a.jpg"), (20, 2, "/Globex/b.jpg")]
            .into_iter()
            .map(|(item, link, path)| {
                let place = ItemPlace {
                    link: LinkId(link),
                    path: path.into(),
                };
                (ItemId(item), place)
            })
            .collect()
    }

    #[test]
    fn an_operator_sees_every_link_and_file_named() {
        let view = shape_engine(&row(NOW - 300, Some(true)), &owners(), &items(), None, NOW);
        let accounts: Vec<&str> = view.links.iter().map(|l| l.account.as_str()).collect();
        assert_eq!(accounts, ["Acme", "Globex"]);
        assert_eq!(view.in_flight.len(), 2);
        assert_eq!(view.in_flight[0].path, "/Acme/a.jpg");
        assert_eq!((view.heartbeat_age_ms, view.healthy), (300, true));
        assert_eq!(
            (view.mode.as_str(), view.pid, view.rate_bps),
            ("watch", 42, 7)
        );
    }

    #[test]
    fn an_admin_sees_only_the_links_and_files_of_their_accounts() {
        let view = shape_engine(
            &row(NOW, None),
            &owners(),
            &items(),
            Some(&[AccountId(100)]),
            NOW,
        );
        assert_eq!(
            view.links,
            [LinkView {
                id: LinkId(1),
                account: "Acme".into()
            }]
        );
        let paths: Vec<&str> = view.in_flight.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["/Acme/a.jpg"]);
        let unknown = shape_engine(
            &row(NOW, None),
            &HashMap::new(),
            &items(),
            Some(&[AccountId(100)]),
            NOW,
        );
        assert!(unknown.links.is_empty() && unknown.in_flight.is_empty());
    }

    #[test]
    fn health_comes_from_the_heartbeat_and_from_what_this_host_knows() {
        let shaped = |rows: &[EngineRow]| -> Vec<EngineView> {
            rows.iter()
                .map(|r| shape_engine(r, &owners(), &items(), None, NOW))
                .collect()
        };
        assert_eq!(health(&[]), Health::None);
        assert_eq!(
            health(&shaped(&[row(NOW - STALE_AFTER_MS, None)])),
            Health::Running
        );
        let old = row(NOW - STALE_AFTER_MS - 1, Some(true));
        assert_eq!(health(&shaped(std::slice::from_ref(&old))), Health::Stale);
        let gone = row(NOW, Some(false));
        assert_eq!(health(&shaped(std::slice::from_ref(&gone))), Health::Stale);
        assert_eq!(
            health(&shaped(&[old.clone(), row(NOW, Some(true))])),
            Health::Running,
            "one healthy engine is enough"
        );
        let mut standby = row(NOW, Some(true));
        standby.published.state = "standby".into();
        assert_eq!(
            health(&shaped(std::slice::from_ref(&standby))),
            Health::None,
            "a standby engine imports nothing"
        );
        assert_eq!(health(&shaped(&[standby, old])), Health::Stale);
    }

    #[test]
    fn commands_for_other_accounts_are_left_out() {
        let command = |id, link| Command {
            id: CommandId(id),
            at_ms: 5,
            actor: "bob@x".into(),
            kind: CommandKind::Scan,
            link,
            state: "pending".into(),
            outcome: None,
        };
        let seen: Vec<(CommandId, Option<String>)> = [
            command(1, None),
            command(2, Some(LinkId(1))),
            command(3, Some(LinkId(2))),
        ]
        .into_iter()
        .filter_map(|c| shape_command(c, &owners(), Some(&[AccountId(100)])))
        .map(|v| (v.id, v.account))
        .collect();
        assert_eq!(
            seen,
            [(CommandId(1), None), (CommandId(2), Some("Acme".into()))]
        );
        assert!(shape_command(command(3, Some(LinkId(2))), &owners(), None).is_some());
    }
}
