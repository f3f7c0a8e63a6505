//! The tmux harness of the end-to-end console tests: a private tmux server per test, keys in,
//! the screen out, waits on screen text (never fixed sleeps). Each test crate that includes it
//! uses a part of it.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// What the shell prints once the console has exited.
pub const SHELL_MARKER: &str = "console-done";

/// How long the console may take to show something.
pub const SCREEN_DEADLINE: Duration = Duration::from_secs(30);
pub const POLL: Duration = Duration::from_millis(100);
pub struct Tmux {
    pub socket: String,
}

impl Tmux {
    pub fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux runs")
    }

    /// A 120x40 session named `console` running an interactive shell with job control, as
    /// over SSH (Ctrl-Z and `fg` work as for real), once its prompt is up.
    pub fn start_shell(&self) {
        self.start_shell_in("console");
    }

    /// Another session of the same server, `name`, like [`Tmux::start_shell`]'s (two consoles
    /// side by side).
    pub fn start_shell_in(&self, name: &str) {
        let new_session = if self.run(&["list-sessions"]).status.success() {
            vec!["new-session"]
        } else {
            vec!["-f", "/dev/null", "new-session"]
        };
        let mut args = new_session;
        args.extend([
            "-d",
            "-s",
            name,
            "-x",
            "120",
            "-y",
            "40",
            "env",
            "PS1=$ ",
            "bash",
            "--norc",
            "--noprofile",
            "-i",
        ]);
        let started = self.run(&args);
        assert!(started.status.success(), "{started:?}");
        self.wait_for_in(name, "the shell prompt", |s| s.contains('$'));
    }

    pub fn screen(&self) -> String {
        self.screen_in("console")
    }

    pub fn screen_in(&self, name: &str) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", name]).stdout).into_owned()
    }

    /// The screen with its escape sequences (colours, reverse video).
    pub fn styled_screen(&self) -> String {
        String::from_utf8_lossy(
            &self
                .run(&["capture-pane", "-p", "-e", "-t", "console"])
                .stdout,
        )
        .into_owned()
    }

    pub fn keys(&self, keys: &[&str]) {
        self.keys_in("console", keys);
    }

    pub fn keys_in(&self, name: &str, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", name];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    /// Type text as it is (spaces and all).
    pub fn type_text(&self, text: &str) {
        self.run(&["send-keys", "-t", "console", "-l", text]);
    }

    /// Poll the screen until `ready` holds, or fail with what was on it.
    pub fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        self.wait_for_in("console", what, ready)
    }

    pub fn wait_for_in(&self, name: &str, what: &str, ready: impl Fn(&str) -> bool) -> String {
        self.wait_within(name, SCREEN_DEADLINE, what, ready)
    }

    /// Like [`Tmux::wait_for_in`], with a deadline of the test's own (a promise of time).
    pub fn wait_within(
        &self,
        name: &str,
        deadline: Duration,
        what: &str,
        ready: impl Fn(&str) -> bool,
    ) -> String {
        let until = Instant::now() + deadline;
        loop {
            let screen = self.screen_in(name);
            if ready(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < until,
                "waited {deadline:?} in {name} for {what}; the screen was:\n{screen}"
            );
            std::thread::sleep(POLL);
        }
    }

    /// The console's process: the only child of the pane's shell.
    pub fn console_pid(&self) -> i32 {
        let out = self.run(&["display-message", "-p", "-t", "console", "#{pane_pid}"]);
        let shell = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let children =
            std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).unwrap();
        children
            .split_whitespace()
            .next()
            .expect("the console runs under the pane's shell")
            .parse()
            .unwrap()
    }

    pub fn in_alternate_screen(&self) -> bool {
        let out = self.run(&["display-message", "-p", "-t", "console", "#{alternate_on}"]);
        String::from_utf8_lossy(&out.stdout).trim() == "1"
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}

pub fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `p` quoted for a POSIX shell.
pub fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}
