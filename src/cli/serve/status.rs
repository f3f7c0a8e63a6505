//! The one-line status `serve` reports to systemd (`systemctl status` shows it): what the
//! service is doing, how many linked folders it watches, how many files it imported today.
//! The line is pure ([`ServiceStatus::line`]); sending it is `notify`'s.

use std::time::{Duration, Instant};

use super::notify;

/// A changed status goes out at most this often (thousands of small imports would otherwise
/// send a datagram each); the service's refresh tick sends the latest one.
const MIN_GAP: Duration = Duration::from_secs(1);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    Starting,
    /// Another engine holds the library (it is named).
    Standby(String),
    Watching,
    Reloading,
    Stopping,
}

pub struct ServiceStatus {
    phase: Phase,
    active_links: usize,
    /// Files this service imported on `day` (UTC).
    imported_today: u64,
    day: time::Date,
    sent: String,
    sent_at: Option<Instant>,
}

impl ServiceStatus {
    pub fn new() -> ServiceStatus {
        ServiceStatus {
            phase: Phase::Starting,
            active_links: 0,
            imported_today: 0,
            day: today(),
            sent: String::new(),
            sent_at: None,
        }
    }

    pub fn line(&self) -> String {
        match &self.phase {
            Phase::Starting => "starting: recovering from any interrupted run".to_owned(),
            Phase::Standby(holder) => format!(
                "standby: another engine holds the library ({holder}); taking over when it stops"
            ),
            Phase::Watching => format!(
                "watching {} linked folder(s); {} imported today",
                self.active_links, self.imported_today
            ),
            Phase::Reloading => "reloading the configuration: restarting the engine".to_owned(),
            Phase::Stopping => "stopping: finishing files in flight".to_owned(),
        }
    }

    /// A new phase is told at once.
    pub fn set_phase(&mut self, phase: Phase) {
        self.phase = phase;
        self.publish(true);
    }

    pub fn set_active_links(&mut self, count: usize) {
        self.active_links = count;
    }

    pub fn imported(&mut self) {
        let day = today();
        if day != self.day {
            self.day = day;
            self.imported_today = 0;
        }
        self.imported_today += 1;
        self.publish(false);
    }

    /// Send the line if it changed (`now`, or once `MIN_GAP` passed since the last one).
    pub fn publish(&mut self, now: bool) {
        let line = self.line();
        if line == self.sent {
            return;
        }
        if !now && self.sent_at.is_some_and(|at| at.elapsed() < MIN_GAP) {
            return;
        }
        notify::status(&line);
        self.sent = line;
        self.sent_at = Some(Instant::now());
    }
}

fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_says_what_the_service_does() {
        let mut status = ServiceStatus::new();
        assert!(status.line().starts_with("starting"));
        status.phase = Phase::Standby("pid 7 of ada, since today".into());
        assert_eq!(
            status.line(),
            "standby: another engine holds the library (pid 7 of ada, since today); taking over when it stops"
        );
        status.phase = Phase::Watching;
        status.set_active_links(3);
        status.imported();
        status.imported();
        assert_eq!(
            status.line(),
            "watching 3 linked folder(s); 2 imported today"
        );
    }

    #[test]
    fn the_count_starts_again_each_day() {
        let mut status = ServiceStatus::new();
        status.phase = Phase::Watching;
        status.imported_today = 120;
        status.day = status.day.previous_day().unwrap();
        status.imported();
        assert!(
            status.line().ends_with("; 1 imported today"),
            "{}",
            status.line()
        );
    }
}
