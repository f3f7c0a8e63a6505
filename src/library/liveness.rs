//! Is a process still alive? A process is named by its host, the boot it runs in, its pid and
//! its start time (so a pid reused after it died is not mistaken for it). On this host and
//! boot the kernel answers exactly (`/proc/PID/stat`); for another host only a heartbeat can.

use std::sync::OnceLock;

/// A process, as the registry of live processes records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessIdentity {
    pub host: String,
    pub boot_id: String,
    pub pid: u32,
    /// Start time in clock ticks since boot (`/proc/PID/stat`, field 22).
    pub started: u64,
}

/// This process.
pub fn current() -> &'static ProcessIdentity {
    static CURRENT: OnceLock<ProcessIdentity> = OnceLock::new();
    CURRENT.get_or_init(|| {
        let pid = std::process::id();
        ProcessIdentity {
            host: host_name(),
            boot_id: boot_id(),
            pid,
            started: start_time(pid).unwrap_or(0),
        }
    })
}

/// `Some(alive)` for a process of this host and boot; `None` when only a heartbeat can tell.
pub fn is_alive_here(process: &ProcessIdentity) -> Option<bool> {
    let me = current();
    if process.host != me.host {
        return None;
    }
    if process.boot_id != me.boot_id {
        return Some(false); // the machine restarted since
    }
    Some(start_time(process.pid) == Some(process.started))
}

fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    let after_name = &stat[stat.rfind(')')? + 1..];
    // Fields 3, 4, … follow; the start time is field 22, the 20th after the name.
    after_name.split_whitespace().nth(19)?.parse().ok()
}

fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `len` bytes into the buffer we own.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    if ok {
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_dead_child_or_another_boot_is_not() {
        let me = current().clone();
        assert!(me.started > 0);
        assert_eq!(is_alive_here(&me), Some(true));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let child_id = child.id();
        let started = start_time(child_id);
        child.wait().unwrap();
        let dead = ProcessIdentity {
            pid: child_id,
            started: started.unwrap_or(1),
            ..me.clone()
        };
        assert_eq!(is_alive_here(&dead), Some(false), "a reaped child is gone");
        let reused = ProcessIdentity {
            started: me.started + 1,
            ..me.clone()
        };
        assert_eq!(
            is_alive_here(&reused),
            Some(false),
            "same pid, another start: not us"
        );
        let rebooted = ProcessIdentity {
            boot_id: "another boot".into(),
            ..me.clone()
        };
        assert_eq!(is_alive_here(&rebooted), Some(false));
        let elsewhere = ProcessIdentity {
            host: format!("{}-elsewhere", me.host),
            ..me
        };
        assert_eq!(is_alive_here(&elsewhere), None);
    }
}
