//! The real binary in a real terminal (tmux, 120x40): the console opens on a demo library,
//! shows its panes and help, moves focus, quits on `q` and gives the shell its screen back.

#[path = "support/prerequisite.rs"]
mod prerequisite;
#[path = "support/tmux.rs"]
mod tmux;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use tmux::{POLL, SCREEN_DEADLINE, SHELL_MARKER, Tmux, shell_quote, tmux_available};

/// A settled console must stay silent this long: a console that redraws on a timer (a clock, a
/// spinner, a tick that marks itself dirty) never does. How long it takes to settle is not timed.
const QUIET_WINDOW: Duration = Duration::from_secs(3);

/// A demo library and the console on it in a fresh tmux server at 120x40, panes on screen.
fn console_on_a_demo() -> Option<(Tmux, tempfile::TempDir)> {
    console_on_a_demo_with("")
}

/// Like [`console_on_a_demo`], with `env` ("NAME=value ") before the command.
fn console_on_a_demo_with(env: &str) -> Option<(Tmux, tempfile::TempDir)> {
    console_on_a_demo_as(env, "operator@demo.smartimage.test", |_| {})
}

/// The console as `who`, on a demo library `prepare` may change first (through the CLI).
fn console_on_a_demo_as(
    env: &str,
    who: &str,
    prepare: impl FnOnce(&Path),
) -> Option<(Tmux, tempfile::TempDir)> {
    if !tmux_available() {
        prerequisite::cannot_run("tmux is not installed");
        return None;
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
    prepare(&data);
    static SESSIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let tmux = Tmux {
        socket: format!(
            "smartimage-test-{}-{}",
            std::process::id(),
            SESSIONS.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ),
    };
    let command = format!(
        "{env}{} --data-dir {} --as {who}; echo {SHELL_MARKER}",
        shell_quote(Path::new(bin)),
        shell_quote(&data)
    );
    tmux.start_shell();
    tmux.keys(&[&command, "Enter"]);
    let screen = tmux.wait_for("the four panes", |s| {
        ["Accounts", "Dropbox queue", "All Files", "Error log"]
            .iter()
            .all(|t| s.contains(t))
            && s.contains("Acme Marketing")
    });
    assert!(screen.contains(who), "{screen}");
    assert!(tmux.in_alternate_screen());
    Some((tmux, dir))
}

/// Printed by the pane's shell once the console has exited.

#[test]
fn console_opens_shows_help_moves_focus_and_restores_the_terminal_on_quit() {
    let Some((tmux, _dir)) = console_on_a_demo() else {
        return;
    };
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
    let screen = tmux.wait_for("the shell", |s| s.contains(SHELL_MARKER));
    assert!(!screen.contains("Dropbox queue"), "{screen}");
    assert!(
        !tmux.in_alternate_screen(),
        "the alternate screen was left on"
    );
}

#[test]
fn sigterm_and_sighup_quit_and_restore_the_terminal() {
    for signal in [libc::SIGTERM, libc::SIGHUP] {
        let Some((tmux, _dir)) = console_on_a_demo() else {
            return;
        };
        let console = tmux.console_pid();
        // SAFETY: signalling the console process this test started.
        assert_eq!(unsafe { libc::kill(console, signal) }, 0);
        tmux.wait_for("the shell", |s| s.contains(SHELL_MARKER));
        assert!(
            !tmux.in_alternate_screen(),
            "signal {signal} left the alternate screen on"
        );
    }
}

#[test]
fn the_console_exits_when_its_terminal_goes_away() {
    // What happens when an SSH session drops: the terminal is gone, not politely closed.
    let Some((tmux, _dir)) = console_on_a_demo() else {
        return;
    };
    let console = tmux.console_pid();
    tmux.run(&["kill-server"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    // SAFETY: signal 0 only asks whether the process still exists.
    while unsafe { libc::kill(console, 0) } == 0 {
        // A zombie (exited, not yet reaped by its parent) counts as gone.
        let state = std::fs::read_to_string(format!("/proc/{console}/stat")).unwrap_or_default();
        if state.split_whitespace().nth(2) == Some("Z") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the console outlived its terminal"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn ctrl_z_gives_the_shell_its_screen_and_fg_brings_the_console_back() {
    let Some((tmux, _dir)) = console_on_a_demo() else {
        return;
    };
    tmux.keys(&["C-z"]);
    tmux.wait_for("the shell's job-control notice", |s| s.contains("Stopped"));
    assert!(
        !tmux.in_alternate_screen(),
        "Ctrl-Z left the alternate screen on"
    );
    tmux.keys(&["fg", "Enter"]);
    tmux.wait_for("the panes again", |s| {
        s.contains("Dropbox queue") && s.contains("Acme Marketing")
    });
    assert!(tmux.in_alternate_screen());
    tmux.keys(&["q"]);
    tmux.wait_for("the shell", |s| s.contains(SHELL_MARKER));
    assert!(!tmux.in_alternate_screen());
}

trait LastNonEmpty<'a> {
    fn last_non_empty(self) -> Option<&'a str>;
}

impl<'a, I: DoubleEndedIterator<Item = &'a str>> LastNonEmpty<'a> for I {
    fn last_non_empty(mut self) -> Option<&'a str> {
        self.rfind(|l| !l.trim().is_empty())
    }
}

#[test]
fn a_file_dropped_into_a_linked_folder_is_imported_live_and_listed() {
    let Some((tmux, dir)) = console_on_a_demo() else {
        return;
    };
    let before = tmux.wait_for("the engine and today's totals", |s| {
        s.contains("engine: this console") && imported_today(s).is_some()
    });
    let before = imported_today(&before).unwrap();
    let png =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89live";
    std::fs::write(
        dir.path().join("demo/Dropbox/Acme Marketing/live-drop.png"),
        png,
    )
    .unwrap();
    tmux.wait_for("the dropped file imported", |s| {
        s.lines()
            .any(|l| l.contains("live-drop") && l.contains("imported"))
    });
    // Today's totals are the store's: the demo's imports, and this one.
    tmux.wait_for("today's totals counting it", |s| {
        imported_today(s) == Some(before + 1)
    });
    tmux.wait_for("the file in All Files", |s| {
        s.lines()
            .any(|l| l.contains("live-drop.png") && l.contains("Dropbox"))
    });
}

/// The "today N imported" of the queue's totals line.
fn imported_today(screen: &str) -> Option<u64> {
    let after = &screen[screen.find("today ")? + "today ".len()..];
    let (number, rest) = after.split_once(' ')?;
    rest.starts_with("imported").then(|| number.parse().ok())?
}

#[test]
fn a_settled_console_writes_nothing_to_the_terminal() {
    let Some((tmux, dir)) = console_on_a_demo() else {
        return;
    };
    tmux.wait_for("the engine", |s| s.contains("engine: this console"));
    let log = dir.path().join("pane-output");
    tmux.run(&[
        "pipe-pane",
        "-o",
        "-t",
        "console",
        &format!("cat >> {}", shell_quote(&log)),
    ]);
    let written = || std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
    // Wait (as long as it takes) for a quiet window: the console may still be finishing its
    // start-up; once settled it must write nothing at all for QUIET_WINDOW.
    let deadline = Instant::now() + SCREEN_DEADLINE + QUIET_WINDOW;
    let (mut size, mut quiet_since) = (written(), Instant::now());
    while quiet_since.elapsed() < QUIET_WINDOW {
        assert!(
            Instant::now() < deadline,
            "the console never stopped drawing: {} bytes, none of it in answer to anything",
            written()
        );
        std::thread::sleep(POLL);
        if written() != size {
            (size, quiet_since) = (written(), Instant::now());
        }
    }
    tmux.keys(&["j"]);
    let deadline = Instant::now() + SCREEN_DEADLINE;
    while written() == size {
        assert!(
            Instant::now() < deadline,
            "a key press drew nothing (is the pipe working?)"
        );
        std::thread::sleep(POLL);
    }
}

/// The numeric parameters of every SGR sequence on the screen.
fn sgr_params(styled: &str) -> Vec<u16> {
    styled
        .split("\x1b[")
        .skip(1)
        .filter_map(|seq| seq.find('m').map(|end| &seq[..end]))
        .flat_map(|params| params.split(';').filter_map(|p| p.parse().ok()))
        .collect()
}

/// SGR parameters that set a foreground or background colour.
fn colour_codes(styled: &str) -> Vec<u16> {
    sgr_params(styled)
        .into_iter()
        .filter(|n| (30..=49).contains(n) && *n != 39 && *n != 49 || (90..=107).contains(n))
        .collect()
}

#[test]
fn no_color_draws_without_colours_and_selects_by_reverse_video() {
    let Some((tmux, _dir)) = console_on_a_demo_with("NO_COLOR=1 ") else {
        return;
    };
    tmux.wait_for("the engine", |s| s.contains("engine: this console"));
    let styled = tmux.styled_screen();
    assert_eq!(colour_codes(&styled), Vec::<u16>::new(), "{styled}");
    assert!(
        sgr_params(&styled).contains(&7),
        "no reverse video: {styled}"
    );
}

#[test]
fn with_colour_the_palette_is_used() {
    let Some((tmux, _dir)) = console_on_a_demo() else {
        return;
    };
    tmux.wait_for("the engine", |s| s.contains("engine: this console"));
    assert!(!colour_codes(&tmux.styled_screen()).is_empty());
}

#[test]
fn with_the_engine_running_elsewhere_the_console_says_so_and_still_shows_the_library() {
    let Some((tmux, dir)) = console_on_a_demo_with("") else {
        return;
    };
    // Quit this console, start a watcher that holds the engine lock, then open it again.
    tmux.keys(&["q"]);
    tmux.wait_for("the shell", |s| s.contains(SHELL_MARKER));
    let data = dir.path().join("demo");
    let mut watcher = StopOnDrop(
        Command::new(env!("CARGO_BIN_EXE_smartimage"))
            .arg("--data-dir")
            .arg(&data)
            .args(["--as", "operator@demo.smartimage.test", "import", "--watch"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut first_line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(watcher.0.stdout.as_mut().unwrap()),
        &mut first_line,
    )
    .unwrap();
    assert!(first_line.contains("watching"), "{first_line}");
    tmux.keys(&["clear", "Enter"]);
    tmux.keys(&[
        &format!(
            "{} --data-dir {} --as operator@demo.smartimage.test",
            shell_quote(Path::new(env!("CARGO_BIN_EXE_smartimage"))),
            shell_quote(&data)
        ),
        "Enter",
    ]);
    let screen = tmux.wait_for("the watcher named and the accounts", |s| {
        s.lines()
            .next()
            .is_some_and(|l| l.contains("engine: import --watch on"))
            && s.contains("Acme Marketing")
    });
    assert!(!screen.contains("engine off"), "{screen}");
    tmux.keys(&["q"]);
    drop(watcher);
    // The library is read without the engine: the demo's refused files are in the error log.
    let errors = pane(&screen, "4 Error log");
    assert!(
        errors.iter().any(|l| l.contains("setup.jpg")),
        "{errors:#?}\n{screen}"
    );
}

/// The lines inside the pane whose title contains `title` (between its box's borders), so a
/// check on one pane cannot be met by text in another.
fn pane(screen: &str, title: &str) -> Vec<String> {
    let lines: Vec<Vec<char>> = screen.lines().map(|l| l.chars().collect()).collect();
    let (top, left, right) = lines
        .iter()
        .enumerate()
        .find_map(|(row, line)| {
            let text: String = line.iter().collect();
            let at = text[..text.find(title)?].chars().count();
            let left = line[..at].iter().rposition(|&c| c == '┌')?;
            let right = at + line[at..].iter().position(|&c| c == '┐')?;
            Some((row, left, right))
        })
        .unwrap_or_else(|| panic!("no pane titled {title:?} on the screen:\n{screen}"));
    lines[top + 1..]
        .iter()
        .take_while(|line| line.get(left) != Some(&'└'))
        .map(|line| {
            line[(left + 1).min(line.len())..right.min(line.len())]
                .iter()
                .collect()
        })
        .collect()
}

/// A child process this test started, stopped (SIGTERM, then waited for) however the test ends.
struct StopOnDrop(std::process::Child);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        // SAFETY: signalling the child this test started, by its pid.
        unsafe {
            libc::kill(self.0.id() as i32, libc::SIGTERM);
        }
        let _ = self.0.wait();
    }
}

/// The demo CLI as the demo operator, for setting up and checking what the console did.
fn demo_cli(data: &Path, who: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_smartimage"))
        .arg("--data-dir")
        .arg(data)
        .args(["--as", who])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

const OLIVIA: &str = "olivia@acme.test";
const SECOND_ACCOUNT: &str = "Acme Labs";

impl Tmux {
    /// Move the Accounts pane's selection until the title bar names `account`.
    fn select_account(&self, account: &str) {
        self.keys(&["1", "g"]);
        self.wait_for("All accounts selected", |s| {
            s.lines()
                .next()
                .is_some_and(|l| l.contains("· All accounts "))
        });
        let title_names = |s: &str| {
            s.lines()
                .next()
                .is_some_and(|l| l.contains(&format!("· {account} ")))
        };
        for _ in 0..10 {
            let before = self.wait_for("the title bar", |s| !s.is_empty());
            if title_names(&before) {
                return;
            }
            let title = before.lines().next().unwrap_or_default().to_owned();
            self.keys(&["j"]);
            self.wait_for("the selection to move", |s| {
                s.lines().next().unwrap_or_default() != title
            });
        }
        panic!("{account} is not in the Accounts pane:\n{}", self.screen());
    }
}

#[test]
fn an_owner_watches_imports_and_errors_links_a_second_account_delegates_and_retries() {
    let Some((tmux, dir)) = console_on_a_demo_as("", OLIVIA, |data| {
        let op = "operator@demo.smartimage.test";
        demo_cli(
            data,
            op,
            &["account", "add", SECOND_ACCOUNT, "--plan", "team"],
        );
        demo_cli(
            data,
            op,
            &["admin", "add", OLIVIA, "--owner", SECOND_ACCOUNT],
        );
    }) else {
        return;
    };
    let data = dir.path().join("demo");
    let dropbox = data.join("Dropbox");
    tmux.wait_for("the engine", |s| s.contains("engine: this console"));

    // Imports arrive, and errors appear, live.
    let png =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89live";
    std::fs::write(dropbox.join("Acme Marketing/arrived.png"), png).unwrap();
    tmux.wait_for("the dropped file imported", |s| {
        s.lines()
            .any(|l| l.contains("arrived.png") && l.contains("imported"))
    });
    let mut exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xFF\xFF\x00\x00".to_vec();
    exe.resize(300, 0);
    std::fs::write(dropbox.join("Acme Marketing/disguised.jpg"), &exe).unwrap();
    tmux.wait_for("the failure in the queue and in the error log", |s| {
        pane(s, "4 Error log")
            .iter()
            .any(|l| l.contains("disguised") && l.contains("unsupport"))
            && pane(s, "2 Dropbox queue")
                .iter()
                .any(|l| l.contains("disguised"))
    });

    // Link the second account through the synced-folder flow, typing the path.
    tmux.select_account(SECOND_ACCOUNT);
    tmux.keys(&["f"]);
    tmux.wait_for("the folder dialog", |s| {
        s.contains("Link Acme Labs to a synced Dropbox folder")
    });
    tmux.keys(&["C-u"]);
    tmux.keys(&["-l", &dropbox.display().to_string()]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("the link made", |s| s.contains("Acme Labs is linked"));
    tmux.wait_for("the link in the Accounts pane", |s| {
        s.contains("Dropbox active /Acme Labs")
    });
    assert!(dropbox.join(SECOND_ACCOUNT).is_dir());
    // The running engine takes the new link: a file dropped there is imported.
    std::fs::write(dropbox.join("Acme Labs/first.png"), png).unwrap();
    tmux.wait_for("the second account's first import", |s| {
        s.lines()
            .any(|l| l.contains("first.png") && l.contains("imported"))
    });

    // Delegate an admin of Acme Marketing (Ada; Dan is delegated already).
    tmux.select_account("Acme Marketing");
    tmux.keys(&["d"]);
    tmux.wait_for("the admin picker", |s| {
        s.contains("Delegate Dropbox linking of Acme Marketing") && s.contains("ada@acme.test")
    });
    tmux.keys(&["Enter"]);
    tmux.wait_for("the delegation", |s| {
        s.contains("ada@acme.test may now link Dropbox")
    });

    // Retry the newest error of the account.
    tmux.keys(&["4", "g"]);
    tmux.wait_for("the Error log focused", |s| {
        s.lines()
            .last_non_empty()
            .is_some_and(|l| l.contains("retry"))
    });
    tmux.keys(&["r"]);
    tmux.wait_for("the retry", |s| s.contains("queued again"));

    tmux.keys(&["q"]);
    tmux.wait_for("the shell", |s| s.contains(SHELL_MARKER));
    assert!(!tmux.in_alternate_screen());

    // Everything went through the library as the CLI's verbs do, as Olivia.
    let audit = demo_cli(&data, OLIVIA, &["audit", "--json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&audit).unwrap();
    for (action, target) in [
        ("link", SECOND_ACCOUNT),
        ("delegation.grant", "ada@acme.test"),
        ("import.retry", "Acme Marketing"),
    ] {
        assert!(
            rows.iter()
                .any(|r| r["action"] == action && r["target"] == target && r["actor"] == OLIVIA),
            "no {action} of {target} by {OLIVIA} in {audit}"
        );
    }
    // The console logged to its file, not to the screen.
    let logs: Vec<_> = std::fs::read_dir(data.join("logs")).unwrap().collect();
    assert_eq!(logs.len(), 1, "{logs:?}");
    let log = std::fs::read_to_string(logs[0].as_ref().unwrap().path()).unwrap();
    assert!(
        log.contains("console opened") && log.contains("console action"),
        "{log}"
    );
}

/// Files dropped on the terminal arrive as a bracketed paste of their paths: the Upload…
/// dialog opens with them, Enter uploads, the file shows in the queue as an upload and in All
/// Files with the upload source, and `files list --source upload` lists it.
#[test]
fn a_pasted_path_is_uploaded_and_listed_with_the_upload_source() {
    let Some((tmux, dir)) = console_on_a_demo() else {
        return;
    };
    tmux.wait_for("the engine", |s| s.contains("engine: this console"));
    let drop = dir.path().join("dropped files");
    std::fs::create_dir_all(&drop).unwrap();
    let png =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89paste";
    let shot = drop.join("pasted shot.png");
    std::fs::write(&shot, png).unwrap();
    tmux.select_account("Acme Marketing");
    // As a terminal sends a dropped file: its quoted path, in a bracketed paste.
    let pasted = format!("{}\n", shell_quote(&shot));
    let set = tmux.run(&["set-buffer", "-b", "drop", "--", &pasted]);
    assert!(set.status.success(), "{set:?}");
    let paste = tmux.run(&["paste-buffer", "-p", "-d", "-b", "drop", "-t", "console"]);
    assert!(paste.status.success(), "{paste:?}");
    tmux.wait_for("the upload dialog with its count", |s| {
        s.contains("Upload to Acme Marketing") && s.contains("Takes 1 file(s)")
    });
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("the upload in the queue", |s| {
        s.lines()
            .any(|l| l.contains("imported") && l.contains("[upload]") && l.contains("shot.png"))
    });
    assert!(!screen.contains("Upload to"), "{screen}");
    tmux.wait_for("the uploaded file in All Files", |s| {
        s.lines().any(|l| {
            l.contains("pasted shot.png") && l.contains("upload") && !l.contains("[upload]")
        })
    });
    // The Dropbox-upload filter hides it (the queue still names it), and shows it again when off.
    let in_all_files = |s: &str| {
        s.lines()
            .any(|l| l.contains("pasted shot.png") && !l.contains("[upload]"))
    };
    tmux.keys(&["3"]);
    tmux.keys(&["d"]);
    tmux.wait_for(
        "All Files filtered to Dropbox uploads, without the upload",
        |s| s.contains("Dropbox uploads") && !in_all_files(s),
    );
    tmux.keys(&["d"]);
    tmux.wait_for("the upload back without the filter", |s| {
        !s.contains("Dropbox uploads") && in_all_files(s)
    });
    tmux.keys(&["q"]);
    tmux.wait_for("the shell", |s| s.contains(SHELL_MARKER));
    let listed = demo_cli(
        &dir.path().join("demo"),
        "operator@demo.smartimage.test",
        &["files", "list", "--json", "--source", "upload"],
    );
    let files: serde_json::Value = serde_json::from_str(&listed).unwrap();
    let names: Vec<_> = files
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap(), f["source"].as_str().unwrap()))
        .collect();
    assert_eq!(names, vec![("pasted shot.png", "upload")], "{listed}");
    assert_eq!(
        std::fs::read(&shot).unwrap(),
        png,
        "the source is untouched"
    );
}

/// Where the demo's synced folder for Acme Marketing is.
const DEMO_FOLDER: &str = "demo/Dropbox/Acme Marketing";
const OPERATOR: &str = "operator@demo.smartimage.test";
/// How soon a console must say the engine it followed is gone (SIGKILL).
const GONE_WITHIN: Duration = Duration::from_secs(6);

fn png_named(seed: &str) -> Vec<u8> {
    let mut png =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    png.extend(seed.as_bytes());
    png
}

/// `smartimage import --watch` on `data` in the background, its output in a file (read by
/// [`wait_for_output`]), stopped however the test ends.
/// The engine in another process (`import --watch`, `serve`), its output in `out`.
fn background_engine(data: &Path, out: &Path, args: &[&str]) -> StopOnDrop {
    let log = std::fs::File::create(out).unwrap();
    StopOnDrop(
        Command::new(env!("CARGO_BIN_EXE_smartimage"))
            .arg("--data-dir")
            .arg(data)
            .args(args)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    )
}

fn wait_for_output(out: &Path, what: &str) {
    let deadline = Instant::now() + SCREEN_DEADLINE;
    loop {
        let text = std::fs::read_to_string(out).unwrap_or_default();
        if text.contains(what) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no {what:?} from the watcher: {text}"
        );
        std::thread::sleep(POLL);
    }
}

/// A console as `who` on `data`, in the tmux session `name`.
fn open_console(tmux: &Tmux, name: &str, data: &Path, who: &str) {
    tmux.start_shell_in(name);
    let command = format!(
        "{} --data-dir {} --as {who}; echo {SHELL_MARKER}",
        shell_quote(Path::new(env!("CARGO_BIN_EXE_smartimage"))),
        shell_quote(data)
    );
    tmux.keys_in(name, &[&command, "Enter"]);
    tmux.wait_for_in(name, "the four panes", |s| {
        s.contains("Dropbox queue") && s.contains("Acme Marketing")
    });
}

fn title(screen: &str) -> &str {
    screen.lines().next().unwrap_or_default()
}

/// Issue #17: consoles follow the service (`serve`) — its imports, All Files, a scan and a
/// retry asked from a console — say when it dies, and one of them can take over.
#[test]
fn two_consoles_follow_a_background_engine_and_one_hosts_after_it_is_killed() {
    if !tmux_available() {
        prerequisite::cannot_run("tmux is not installed");
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
    demo_cli(
        &data,
        OPERATOR,
        &["admin", "add", OLIVIA, "--owner", "Acme Marketing"],
    );
    let out = dir.path().join("serve.log");
    let mut watcher = background_engine(&data, &out, &["serve"]);
    wait_for_output(&out, "watching");

    let tmux = Tmux {
        socket: format!("smartimage-test-{}-two-consoles", std::process::id()),
    };
    let consoles = [("console", OPERATOR), ("second", OLIVIA)];
    for (name, who) in consoles {
        open_console(&tmux, name, &data, who);
        let screen = tmux.wait_for_in(name, "the service in the title bar", |s| {
            title(s).contains("engine: serve on")
        });
        assert!(
            title(&screen).contains(&format!("pid {}", watcher.0.id())),
            "{screen}"
        );
    }

    // Imported by the watcher, shown live by both.
    let folder = dir.path().join(DEMO_FOLDER);
    std::fs::write(folder.join("followed.png"), png_named("followed")).unwrap();
    for (name, _) in consoles {
        tmux.wait_for_in(
            name,
            "the watcher's import in the queue and All Files",
            |s| {
                pane(s, "2 Dropbox queue")
                    .iter()
                    .any(|l| l.contains("followed") && l.contains("imported"))
                    && pane(s, "3 All Files")
                        .iter()
                        .any(|l| l.contains("followed.png"))
            },
        );
    }

    // `s` in one console: a command the watcher carries out.
    tmux.keys_in("second", &["2", "s"]);
    tmux.wait_for_in("second", "the watcher's scan in the status line", |s| {
        s.lines()
            .last_non_empty()
            .is_some_and(|l| l.contains("scanning") && l.contains("linked folder(s)"))
    });

    // `r` on Acme's failure in Olivia's console: the service tries it again (it fails again,
    // the file is still not a format we take), and the operator's console sees that try come
    // to the top of its queue.
    tmux.keys_in("second", &["4", "r"]);
    tmux.wait_for_in("console", "the retried failure on top of the queue", |s| {
        pane(s, "2 Dropbox queue").get(1).is_some_and(|l| {
            // A narrow queue marks a failure ✗ before its reason.
            (l.contains("failed") || l.contains("✗"))
                && l.contains("Acme")
                && !l.contains("followed")
        })
    });
    let log = std::fs::read_to_string(&out).unwrap();
    assert!(
        log.contains("command taken") && log.contains("retry"),
        "{log}"
    );

    // Killed: both say no engine runs, and offer to host one.
    // SAFETY: signalling the watcher this test started.
    unsafe {
        libc::kill(watcher.0.id() as i32, libc::SIGKILL);
    }
    let _ = watcher.0.wait();
    let killed = Instant::now();
    for (name, _) in consoles {
        tmux.wait_within(name, GONE_WITHIN, "no engine in the title bar", |s| {
            title(s).contains("no engine running — imports wait")
                && s.lines()
                    .last_non_empty()
                    .is_some_and(|l| l.contains("H host the engine here"))
        });
    }
    assert!(killed.elapsed() < GONE_WITHIN);

    // `H` in one: it hosts, the other follows it, and a new file is imported.
    tmux.keys_in("console", &["H"]);
    tmux.wait_for_in("console", "this console hosting", |s| {
        title(s).contains("engine: this console")
    });
    tmux.wait_for_in("second", "the first console's engine", |s| {
        title(s).contains("engine: console of")
    });
    std::fs::write(folder.join("after-kill.png"), png_named("after-kill")).unwrap();
    for (name, _) in consoles {
        tmux.wait_for_in(name, "the file dropped after the kill imported", |s| {
            pane(s, "2 Dropbox queue")
                .iter()
                .any(|l| l.contains("after-kill") && l.contains("imported"))
        });
    }
    for (name, _) in consoles {
        tmux.keys_in(name, &["q"]);
        tmux.wait_for_in(name, "the shell", |s| s.contains(SHELL_MARKER));
    }
}

/// Issue #17: a console that hosts the engine lets it go when it quits, and a `serve`
/// waiting in standby takes the library over.
#[test]
fn a_standby_watcher_takes_over_when_the_hosting_console_quits() {
    let Some((tmux, dir)) = console_on_a_demo() else {
        return;
    };
    tmux.wait_for("the console hosting", |s| {
        title(s).contains("engine: this console")
    });
    let data = dir.path().join("demo");
    let out = dir.path().join("serve.log");
    let watcher = background_engine(&data, &out, &["serve"]);
    wait_for_output(&out, "standby");
    tmux.keys(&["q"]);
    tmux.wait_for("the shell", |s| s.contains(SHELL_MARKER));
    // Reopened: the watcher runs the engine now, and imports.
    tmux.keys(&["clear", "Enter"]);
    tmux.keys(&[
        &format!(
            "{} --data-dir {} --as {OPERATOR}",
            shell_quote(Path::new(env!("CARGO_BIN_EXE_smartimage"))),
            shell_quote(&data)
        ),
        "Enter",
    ]);
    let screen = tmux.wait_for("the service in the title bar", |s| {
        title(s).contains("engine: serve on")
    });
    assert!(
        title(&screen).contains(&format!("pid {}", watcher.0.id())),
        "{screen}"
    );
    std::fs::write(
        dir.path().join(DEMO_FOLDER).join("taken-over.png"),
        png_named("taken-over"),
    )
    .unwrap();
    tmux.wait_for("the watcher's import", |s| {
        pane(s, "2 Dropbox queue")
            .iter()
            .any(|l| l.contains("taken-over") && l.contains("imported"))
    });
    tmux.keys(&["q"]);
}

/// Issue 18, walked as a new admin would: the pencil on an account with no collections makes
/// one and saves with Enter; a batch add puts marked files in it; `z` zooms All Files with its
/// preview; a refused upload's detail says what is true (no Dropbox report, no retry).
#[test]
fn the_pencil_a_batch_add_a_zoomed_preview_and_a_refused_upload() {
    let Some((tmux, dir)) = console_on_a_demo() else {
        return;
    };
    tmux.wait_for("the engine", |s| s.contains("engine: this console"));
    tmux.select_account("Acme Marketing");
    tmux.keys(&["3"]);
    tmux.wait_for("Acme's files", |s| {
        s.contains("3 All Files") && s.lines().any(|l| l.contains(".jpg") || l.contains(".png"))
    });
    // The pencil: no collections yet, so the cursor is on New collection….
    tmux.keys(&["e"]);
    tmux.wait_for("the pencil", |s| {
        s.contains(" Edit ") && s.contains("New collection…") && s.contains("Enter add & save")
    });
    tmux.keys(&["Enter"]);
    tmux.wait_for("the name field", |s| s.contains("New collection: "));
    tmux.type_text("Portraits");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the pencil saved and closed", |s| {
        !s.contains("Enter add & save") && s.contains("added to Portraits")
    });
    // Batch add: mark two files, c, Enter picks Portraits, Enter confirms.
    tmux.keys(&["g", "Space", "Space"]);
    tmux.wait_for("two marked", |s| s.contains("2 marked"));
    tmux.keys(&["c"]);
    tmux.wait_for("the batch picker", |s| {
        s.contains("to a collection of Acme Marketing") && s.contains("Portraits")
    });
    tmux.keys(&["Enter"]);
    tmux.wait_for("the confirmation", |s| s.contains("Enter/y add"));
    tmux.keys(&["Enter"]);
    tmux.wait_for("the batch added", |s| {
        s.contains("added") && s.contains("to Portraits in Acme Marketing")
    });
    // The preview, zoomed: All Files alone on the screen, the preview beside the names.
    tmux.keys(&["g", "p", "z"]);
    let zoomed = tmux.wait_for("All Files zoomed with its preview", |s| {
        s.contains(" Preview ") && !s.contains("1 Accounts") && !s.contains("4 Error log")
    });
    let preview_width = zoomed
        .lines()
        .find(|l| l.contains(" Preview "))
        .map(|l| {
            let from = l.find(" Preview ").unwrap_or(0);
            l[..from].chars().count()
        })
        .unwrap_or(0);
    assert!(
        preview_width < 60,
        "the preview starts at column {preview_width}: not the larger part\n{zoomed}"
    );
    tmux.keys(&["z"]);
    tmux.wait_for("the grid back", |s| {
        s.contains("1 Accounts") && s.contains("4 Error log")
    });
    // A refused upload: an executable is no format the library keeps.
    let exe = dir.path().join("tool.exe");
    let mut bytes = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xFF\xFF\x00\x00".to_vec();
    bytes.resize(300, 0);
    std::fs::write(&exe, bytes).unwrap();
    tmux.keys(&["p", "u"]);
    tmux.wait_for("the upload dialog", |s| {
        s.contains("Upload to Acme Marketing")
    });
    tmux.type_text(&shell_quote(&exe));
    tmux.keys(&["Tab"]);
    tmux.wait_for("the count", |s| s.contains("Takes 1 file(s)"));
    tmux.keys(&["Enter"]);
    tmux.keys(&["4"]);
    tmux.wait_for("the refusal in the error log", |s| {
        s.lines()
            .any(|l| l.contains("[upload]") && l.contains("tool.exe"))
    });
    tmux.keys(&["g", "Enter"]);
    let detail = tmux.wait_for("the refused upload's detail", |s| {
        s.contains("Refused") && s.contains("tool.exe")
    });
    assert!(detail.contains("upload it again"), "{detail}");
    assert!(detail.contains("never written in Dropbox"), "{detail}");
    assert!(!detail.contains("retries it"), "{detail}");
}

/// Issue 18: the demo named its Dropbox folder only after quitting, and quitting printed
/// `Error reading the log directory/files`.
#[test]
fn the_demo_names_its_dropbox_in_the_console_and_quits_cleanly() {
    if !tmux_available() {
        prerequisite::cannot_run("tmux is not installed");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_smartimage");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let tmux = Tmux {
        socket: format!("smartimage-test-{}-demo", std::process::id()),
    };
    tmux.start_shell();
    let command = format!(
        "{} demo --data-dir {}; echo {SHELL_MARKER}",
        shell_quote(Path::new(bin)),
        shell_quote(&data)
    );
    tmux.keys(&[&command, "Enter"]);
    let welcome = tmux.wait_for("the first-run notice", |s| {
        s.contains("The demo library") && s.contains("Acme Marketing")
    });
    assert!(
        welcome.contains("synced folder") && welcome.contains("/demo/Dropbox"),
        "the Dropbox folder is not named:\n{welcome}"
    );
    tmux.keys(&["Enter"]);
    tmux.wait_for("the notice closed", |s| !s.contains("The demo library"));
    tmux.keys(&["q"]);
    let shell = tmux.wait_for("the shell", |s| s.contains(SHELL_MARKER));
    assert!(
        !shell.contains("Error reading the log directory"),
        "{shell}"
    );
}
