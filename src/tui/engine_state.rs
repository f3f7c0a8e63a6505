//! Whose import engine this console watches, as the title bar says it: its own, another
//! process's (from that engine's status row, `store::engine_status`), one that stopped
//! answering, or none. Pure: the follower (`follow.rs`) reads the rows, this decides.

use crate::library::store::engine_status::EngineRow;

/// What the title bar names of an engine in another process. Only what it shows, so a
/// heartbeat or a new in-flight list does not count as a change (no frame for them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineWho {
    /// `serve`, `watch`, `console`, `once` (the status row's mode).
    pub mode: String,
    pub host: String,
    pub pid: u32,
    pub os_user: String,
    /// Unix seconds.
    pub started_at: i64,
}

impl EngineWho {
    pub fn of(row: &EngineRow) -> EngineWho {
        EngineWho {
            mode: row.published.mode.clone(),
            host: row.host.clone(),
            pid: row.pid,
            os_user: row.os_user.clone(),
            started_at: row.started_at,
        }
    }

    /// "serve on HOST, pid N".
    fn name(&self) -> String {
        let mode = match self.mode.as_str() {
            "watch" => "import --watch".to_owned(),
            "console" => format!("console of {}", self.os_user),
            "once" => "import --once".to_owned(),
            other => other.to_owned(),
        };
        format!("{mode} on {}, pid {}", self.host, self.pid)
    }
}

/// The engine rows of the library and whether the engine lock is taken, read together.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnginesSeen {
    pub rows: Vec<EngineRow>,
    /// `None`: not asked (a fresh row answered already).
    pub lock_held: Option<bool>,
    /// Unix milliseconds of the read, to age heartbeats.
    pub now_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EngineStatus {
    /// This console is starting an engine of its own.
    Starting,
    /// This console hosts the engine.
    Watching,
    /// Another process runs the engine (`None`: it holds the library but published no row
    /// yet — starting, or recovering).
    Elsewhere(Option<EngineWho>),
    /// The engine that runs stopped answering: its last heartbeat is this many seconds old.
    Silent(EngineWho, u64),
    /// No engine runs: imports wait until one starts (this console can host it).
    NoEngine,
    /// This console could not start an engine, for a reason other than another engine.
    Unavailable(String),
    /// This console's engine is finishing what is in flight.
    Stopping,
}

impl EngineStatus {
    pub fn label(&self) -> String {
        match self {
            EngineStatus::Starting => "engine: starting here".into(),
            EngineStatus::Watching => "engine: this console".into(),
            EngineStatus::Elsewhere(Some(who)) => {
                format!("engine: {}, since {}", who.name(), clock(who.started_at))
            }
            EngineStatus::Elsewhere(None) => "engine: another process".into(),
            EngineStatus::Silent(who, seconds) => {
                format!("engine: {} not responding for {seconds} s", who.name())
            }
            EngineStatus::NoEngine => "no engine running — imports wait".into(),
            EngineStatus::Unavailable(why) => format!("engine off: {why}"),
            EngineStatus::Stopping => "engine: stopping…".into(),
        }
    }

    /// This console runs (or is starting, or stopping) an engine of its own: the rows of
    /// other processes do not change what it says.
    pub fn hosting(&self) -> bool {
        matches!(
            self,
            EngineStatus::Starting | EngineStatus::Watching | EngineStatus::Stopping
        )
    }

    /// Some engine takes commands within about a second.
    pub fn running(&self) -> bool {
        matches!(self, EngineStatus::Watching | EngineStatus::Elsewhere(_))
    }

    /// What a console that does not host an engine says, from what it read.
    pub fn seen(seen: &EnginesSeen) -> EngineStatus {
        // A standby engine waits for the library: it runs nothing yet.
        let candidates = || seen.rows.iter().filter(|r| r.published.state != "standby");
        if let Some(row) = candidates().find(|r| r.is_fresh(seen.now_ms)) {
            return EngineStatus::Elsewhere(Some(EngineWho::of(row)));
        }
        // Alive (or on another host, where only the heartbeat tells) but silent: hung, or
        // cut off. A process this host knows is gone ran nothing.
        let silent = candidates().find(|r| r.alive_here != Some(false));
        match (silent, seen.lock_held) {
            (Some(row), held) if held == Some(true) || row.alive_here.is_none() => {
                let seconds = (seen.now_ms - row.updated_ms).max(0) / 1000;
                EngineStatus::Silent(EngineWho::of(row), seconds as u64)
            }
            (_, Some(true)) => EngineStatus::Elsewhere(None),
            _ => EngineStatus::NoEngine,
        }
    }
}

/// Unix seconds as "HH:MM" UTC, as every time in the console.
fn clock(unix: i64) -> String {
    let format = time::macros::format_description!("[hour]:[minute]");
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| "-".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::ids::ProcessId;
    use crate::library::store::engine_status::Published;

    fn row(mode: &str, updated_ms: i64, alive_here: Option<bool>) -> EngineRow {
        EngineRow {
            process: ProcessId(1),
            host: "box".into(),
            pid: 42,
            os_user: "ann".into(),
            started_at: 1_795_000_000,
            updated_ms,
            published: Published {
                mode: mode.into(),
                state: "running".into(),
                ..Published::default()
            },
            alive_here,
        }
    }

    fn seen(rows: Vec<EngineRow>, lock_held: Option<bool>, now_ms: i64) -> EngineStatus {
        EngineStatus::seen(&EnginesSeen {
            rows,
            lock_held,
            now_ms,
        })
    }

    #[test]
    fn a_fresh_row_names_the_engine_and_its_start() {
        let status = seen(vec![row("serve", 10_000, Some(true))], None, 12_000);
        assert_eq!(status.label(), "engine: serve on box, pid 42, since 11:06");
        let status = seen(vec![row("console", 10_000, Some(true))], None, 12_000);
        assert_eq!(
            status.label(),
            "engine: console of ann on box, pid 42, since 11:06"
        );
        let status = seen(vec![row("watch", 10_000, None)], None, 12_000);
        assert!(status.label().starts_with("engine: import --watch on box"));
        assert!(status.running());
    }

    #[test]
    fn a_killed_engine_is_no_engine_and_a_hung_one_is_silent() {
        // SIGKILL: the lock went with the process, which this host knows is gone.
        let status = seen(vec![row("serve", 10_000, Some(false))], Some(false), 11_000);
        assert_eq!(status, EngineStatus::NoEngine);
        assert_eq!(status.label(), "no engine running — imports wait");
        // Alive and holding the lock, but its heartbeat is 12 s old.
        let status = seen(vec![row("serve", 10_000, Some(true))], Some(true), 22_000);
        assert_eq!(
            status.label(),
            "engine: serve on box, pid 42 not responding for 12 s"
        );
        // On another host only the heartbeat tells.
        let status = seen(vec![row("serve", 10_000, None)], Some(false), 22_000);
        assert!(matches!(status, EngineStatus::Silent(_, 12)));
        // The lock taken without a row: an engine starting up.
        assert_eq!(seen(vec![], Some(true), 0), EngineStatus::Elsewhere(None));
        assert_eq!(seen(vec![], Some(false), 0), EngineStatus::NoEngine);
    }

    #[test]
    fn a_standby_engine_runs_nothing_yet() {
        let mut standby = row("serve", 10_000, Some(true));
        standby.published.state = "standby".into();
        assert_eq!(
            seen(vec![standby], Some(false), 10_500),
            EngineStatus::NoEngine
        );
    }
}
