//! `smartimage status`: what runs on this library, read from the store (engines publish there
//! every second). Exit 0 when an engine is healthy, 5 when none runs, 6 when only stale rows
//! are left — like `systemctl is-active`, so a monitor needs no parsing.

use serde::Serialize;
use smartimage::library::engine_view::{EngineOverview, EngineView, Health, PendingView};
use smartimage::library::ids::CommandId;
use smartimage::library::store::engine_events::DayTotals;
use smartimage::terminal_text::escape_for_terminal;

use super::output::{bytes, json, timestamp};
use super::{Context, Failure, Outcome};

/// No engine runs on the library.
pub const EXIT_NO_ENGINE: u8 = 5;
/// Engines have rows, but none has published lately (hung, or died unseen).
pub const EXIT_STALE: u8 = 6;

/// The plain block fits a terminal this wide.
const WIDTH: usize = 80;

#[derive(Serialize)]
struct StatusJson<'a> {
    engines: Vec<EngineJson<'a>>,
    today: &'a DayTotals,
    pending_commands: Vec<CommandJson<'a>>,
    health: Health,
}

#[derive(Serialize)]
struct EngineJson<'a> {
    host: &'a str,
    pid: u32,
    os_user: &'a str,
    mode: &'a str,
    state: &'a str,
    started_at: String,
    heartbeat_age_ms: i64,
    healthy: bool,
    links: &'a [smartimage::library::engine_view::LinkView],
    in_flight: &'a [smartimage::library::engine_view::FlightView],
    rate_bps: u64,
}

#[derive(Serialize)]
struct CommandJson<'a> {
    id: CommandId,
    kind: &'a str,
    by: &'a str,
    given_at: String,
}

fn to_json(overview: &EngineOverview) -> StatusJson<'_> {
    StatusJson {
        engines: overview
            .engines
            .iter()
            .map(|e| EngineJson {
                host: &e.host,
                pid: e.pid,
                os_user: &e.os_user,
                mode: &e.mode,
                state: &e.state,
                started_at: timestamp(e.started_at),
                heartbeat_age_ms: e.heartbeat_age_ms,
                healthy: e.healthy,
                links: &e.links,
                in_flight: &e.in_flight,
                rate_bps: e.rate_bps,
            })
            .collect(),
        today: &overview.today,
        pending_commands: overview
            .pending_commands
            .iter()
            .map(|c| CommandJson {
                id: c.id,
                kind: c.kind.as_str(),
                by: &c.by,
                given_at: timestamp(c.given_at_ms.div_euclid(1000)),
            })
            .collect(),
        health: overview.health,
    }
}

pub fn status(cx: &Context, as_json: bool) -> Outcome {
    let actor = cx.actor()?;
    let overview = cx.library.engine_overview(&actor)?;
    if as_json {
        json(&to_json(&overview))?;
    } else {
        let now_ms = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
        for line in plain(&overview, now_ms) {
            println!("{}", escape_for_terminal(&line));
        }
    }
    verdict(&overview)
}

/// The exit code, with a sentence for stderr.
fn verdict(overview: &EngineOverview) -> Outcome {
    match overview.health {
        Health::Running => Ok(()),
        Health::None => Err(Failure {
            message: "no import engine runs on this library (start one: smartimage import --watch, or open the console)".into(),
            code: EXIT_NO_ENGINE,
        }),
        Health::Stale => Err(Failure {
            message: format!(
                "no engine has published for {} s: it hung or died (see its host and pid above)",
                overview
                    .engines
                    .iter()
                    .map(|e| e.heartbeat_age_ms)
                    .min()
                    .unwrap_or(0)
                    / 1000
            ),
            code: EXIT_STALE,
        }),
    }
}

/// The human block: one paragraph per engine, then today and the pending commands.
fn plain(overview: &EngineOverview, now_ms: i64) -> Vec<String> {
    let mut lines = Vec::new();
    if overview.engines.is_empty() {
        lines.push("engine     none runs on this library".to_owned());
    }
    for engine in &overview.engines {
        lines.extend(engine_lines(engine));
    }
    let t = &overview.today;
    lines.push(format!(
        "today      {} found, {} imported ({}), {} removed from Dropbox,",
        t.discovered,
        t.imported,
        bytes(t.imported_bytes),
        t.removed
    ));
    lines.push(format!(
        "  (UTC)    {} failed, {} retrying",
        t.failed, t.retrying
    ));
    for command in &overview.pending_commands {
        lines.push(clip(&command_line(command, now_ms)));
    }
    lines
}

fn engine_lines(e: &EngineView) -> Vec<String> {
    let health = if e.healthy { "" } else { " STALE" };
    let mut lines = vec![
        clip(&format!(
            "engine     {} ({}){health}, pid {} on {} as {}",
            e.state, e.mode, e.pid, e.host, e.os_user
        )),
        format!(
            "  since    {}; heartbeat {} ago",
            timestamp(e.started_at),
            age(e.heartbeat_age_ms)
        ),
    ];
    let accounts: Vec<&str> = e.links.iter().map(|l| l.account.as_str()).collect();
    lines.push(clip(&format!(
        "  links    {}",
        if accounts.is_empty() {
            "none".to_owned()
        } else {
            accounts.join(", ")
        }
    )));
    lines.push(format!("  rate     {}/s", bytes(e.rate_bps)));
    for f in &e.in_flight {
        let done = format!(
            "{} / {} ({}%)",
            bytes(f.bytes),
            bytes(f.total),
            percent(f.bytes, f.total)
        );
        let head = format!("  file     {}  ", f.account);
        // The path gives way: the account and the bytes are what one looks for.
        let room = WIDTH.saturating_sub(head.chars().count() + done.chars().count() + 2);
        lines.push(format!("{head}{}  {done}", tail(&f.path, room)));
    }
    lines
}

fn command_line(c: &PendingView, now_ms: i64) -> String {
    let target = c.account.as_deref().unwrap_or("all accounts");
    format!(
        "pending    {} ({target}) by {}, {} ago; command {}",
        c.kind.as_str(),
        c.by,
        age(now_ms - c.given_at_ms),
        c.id
    )
}

fn percent(bytes: u64, total: u64) -> u64 {
    if total == 0 {
        return 0;
    }
    (bytes.min(total) * 100) / total
}

/// "0.4 s", "12 s", "3 min", "2 h".
fn age(ms: i64) -> String {
    let ms = ms.max(0);
    match ms {
        0..10_000 => format!("{:.1} s", ms as f64 / 1000.0),
        10_000..120_000 => format!("{} s", ms / 1000),
        120_000..7_200_000 => format!("{} min", ms / 60_000),
        _ => format!("{} h", ms / 3_600_000),
    }
}

/// The last `room` characters of `text`, "…" first when cut.
fn tail(text: &str, room: usize) -> String {
    let n = text.chars().count();
    if n <= room || room == 0 {
        return text.to_owned();
    }
    let kept: String = text.chars().skip(n - room + 1).collect();
    format!("…{kept}")
}

/// A line cut at the width, "…" last when cut.
fn clip(line: &str) -> String {
    if line.chars().count() <= WIDTH {
        return line.to_owned();
    }
    let kept: String = line.chars().take(WIDTH - 1).collect();
    format!("{kept}…")
}

#[cfg(test)]
mod tests {
    use super::*;
    use smartimage::library::engine_view::{FlightView, LinkView};
    use smartimage::library::ids::{ItemId, LinkId};
    use smartimage::library::store::engine_commands::CommandKind;

    fn overview(engines: Vec<EngineView>, health: Health) -> EngineOverview {
        EngineOverview {
            engines,
            today: DayTotals::default(),
            pending_commands: vec![PendingView {
                id: CommandId(3),
                kind: CommandKind::Scan,
                by: "bob@x".into(),
                given_at_ms: 1_000,
                account: Some("Acme".into()),
            }],
            health,
        }
    }

    fn engine(healthy: bool) -> EngineView {
        EngineView {
            host: "host".into(),
            pid: 7,
            os_user: "u".into(),
            mode: "watch".into(),
            state: "running".into(),
            started_at: 0,
            heartbeat_age_ms: 400,
            healthy,
            links: vec![LinkView {
                id: LinkId(1),
                account: "Acme".into(),
            }],
            in_flight: vec![FlightView {
                item: ItemId(9),
                account: "Acme".into(),
                path: format!("/Acme/{}/clip.mov", "deep/".repeat(30)),
                bytes: 512,
                total: 2048,
            }],
            rate_bps: 1024,
        }
    }

    #[test]
    fn the_exit_code_follows_the_health() {
        let code = |o: &EngineOverview| verdict(o).err().map(|f| f.code);
        assert_eq!(code(&overview(vec![engine(true)], Health::Running)), None);
        assert_eq!(code(&overview(vec![], Health::None)), Some(EXIT_NO_ENGINE));
        assert_eq!(
            code(&overview(vec![engine(false)], Health::Stale)),
            Some(EXIT_STALE)
        );
    }

    #[test]
    fn the_plain_block_fits_80_columns_and_names_what_matters() {
        let lines = plain(&overview(vec![engine(true)], Health::Running), 6_000);
        let text = lines.join("\n");
        assert!(lines.iter().all(|l| l.chars().count() <= WIDTH), "{text}");
        assert!(text.contains("running (watch), pid 7 on host"), "{text}");
        assert!(text.contains("clip.mov  512 B / 2.0 KiB (25%)"), "{text}");
        assert!(
            text.contains("scan (Acme) by bob@x, 5.0 s ago; command 3"),
            "{text}"
        );
        let stale = plain(&overview(vec![engine(false)], Health::Stale), 0).join("\n");
        assert!(stale.contains("STALE"), "{stale}");
    }

    #[test]
    fn the_json_has_the_contract_keys() {
        let value =
            serde_json::to_value(to_json(&overview(vec![engine(true)], Health::Running))).unwrap();
        assert_eq!(value["health"], "running");
        assert_eq!(value["engines"][0]["started_at"], "1970-01-01T00:00:00Z");
        assert_eq!(
            value["pending_commands"][0]["given_at"],
            "1970-01-01T00:00:01Z"
        );
        assert_eq!(value["engines"][0]["in_flight"][0]["item"], 9);
    }
}
