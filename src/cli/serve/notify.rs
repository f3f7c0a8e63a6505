//! The systemd notify protocol (sd_notify(3)), spoken only when systemd started us with
//! `NOTIFY_SOCKET` (`Type=notify`): READY once the service is up, STATUS lines, RELOADING,
//! STOPPING, and WATCHDOG pings at half of `WATCHDOG_USEC`. Without the socket every call is
//! a no-op, so `serve` runs the same in a terminal.

use std::time::Duration;

use sd_notify::NotifyState;

fn send(states: &[NotifyState]) {
    if let Err(error) = sd_notify::notify(states) {
        // systemd gone or the socket unwritable: nothing to stop the engine for.
        tracing::debug!(%error, "could not notify systemd");
    }
}

/// The service is up (the engine started, or waits in standby): `systemctl start` returns.
pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

pub fn status(status: &str) {
    send(&[NotifyState::Status(status)]);
}

/// Reloading the configuration; `ready` follows when the engine runs again.
pub fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[NotifyState::Reloading, now]),
        Err(_) => send(&[NotifyState::Reloading]),
    }
}

pub fn stopping() {
    send(&[NotifyState::Stopping]);
}

/// Ping the watchdog at half its timeout, for as long as the runtime runs: a hung runtime
/// stops the pings and systemd restarts the service.
pub fn spawn_watchdog() -> Option<tokio::task::JoinHandle<()>> {
    let timeout = sd_notify::watchdog_enabled()?;
    let every = (timeout / 2).max(Duration::from_millis(1));
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            send(&[NotifyState::Watchdog]);
        }
    }))
}
