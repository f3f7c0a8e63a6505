//! The real binary in a real terminal (tmux, 120x40): the console opens on a demo library,
//! shows its panes and help, moves focus, quits on `q` and gives the shell its screen back.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// How long the console may take to show something.
const SCREEN_DEADLINE: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(100);

struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux runs")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "console"]).stdout)
            .into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "console"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    /// Poll the screen until `ready` holds, or fail with what was on it.
    fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + SCREEN_DEADLINE;
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "waited {SCREEN_DEADLINE:?} for {what}; the screen was:\n{screen}"
            );
            std::thread::sleep(POLL);
        }
    }

    fn in_alternate_screen(&self) -> bool {
        let out = self.run(&["display-message", "-p", "-t", "console", "#{alternate_on}"]);
        String::from_utf8_lossy(&out.stdout).trim() == "1"
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}

fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn console_opens_shows_help_moves_focus_and_restores_the_terminal_on_quit() {
    if !tmux_available() {
        assert!(
            std::env::var_os("CI").is_none(),
            "tmux is required for this test on CI"
        );
        eprintln!("skipping: tmux is not installed");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_smartimage");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let made = Command::new(bin)
        .args(["demo", "--headless", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");

    let tmux = Tmux {
        socket: format!("smartimage-test-{}", std::process::id()),
    };
    let shell_marker = "console-done";
    let command = format!(
        "{} --data-dir {} --as operator@demo.smartimage.test; echo {shell_marker}",
        shell_quote(Path::new(bin)),
        shell_quote(&data)
    );
    let started = tmux.run(&[
        "-f",
        "/dev/null",
        "new-session",
        "-d",
        "-s",
        "console",
        "-x",
        "120",
        "-y",
        "40",
        "sh",
        "-c",
        &format!("{command}; exec sh"),
    ]);
    assert!(started.status.success(), "{started:?}");

    let screen = tmux.wait_for("the four panes", |s| {
        ["Accounts", "Dropbox queue", "All Files", "Error log"]
            .iter()
            .all(|t| s.contains(t))
            && s.contains("Acme Marketing")
    });
    assert!(screen.contains("operator@demo.smartimage.test"), "{screen}");
    assert!(tmux.in_alternate_screen());

    tmux.keys(&["?"]);
    tmux.wait_for("the help overlay", |s| {
        s.contains("Keys") && s.contains("retry the selected file")
    });
    tmux.keys(&["?"]);
    tmux.wait_for("the help to close", |s| {
        !s.contains("retry the selected file")
    });

    tmux.keys(&["Tab", "Tab", "Tab"]);
    tmux.wait_for("the Error log's keys in the footer", |s| {
        s.lines()
            .last_non_empty()
            .is_some_and(|l| l.contains("retry"))
    });

    tmux.keys(&["q"]);
    let screen = tmux.wait_for("the shell", |s| s.contains(shell_marker));
    assert!(!screen.contains("Dropbox queue"), "{screen}");
    assert!(
        !tmux.in_alternate_screen(),
        "the alternate screen was left on"
    );
}

trait LastNonEmpty<'a> {
    fn last_non_empty(self) -> Option<&'a str>;
}

impl<'a, I: DoubleEndedIterator<Item = &'a str>> LastNonEmpty<'a> for I {
    fn last_non_empty(mut self) -> Option<&'a str> {
        self.rfind(|l| !l.trim().is_empty())
    }
}

fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}
