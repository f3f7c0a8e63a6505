//! `smartimage serve`, the engine as a service, through the real binary: it imports and logs
//! plain lines to stderr, speaks the systemd notify protocol, stops cleanly on SIGTERM,
//! reloads its config on SIGHUP, waits in standby while another engine holds the library, and
//! prints its systemd unit. And `import --watch` stops cleanly when its terminal hangs up.

#[path = "support/site.rs"]
mod site;

use std::io::{BufRead, BufReader, Read};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use site::{ACCOUNT, OWNER, Site, png};

/// Generous: the assertion is what happens, not how fast on a busy machine.
const WAIT: Duration = Duration::from_secs(30);
const WATCHING: &str = "watching linked Dropbox folders";

/// A running `smartimage` whose output (stderr for `serve`, stdout for `import`) is collected
/// line by line as it comes.
struct Running {
    child: Child,
    output: Arc<Mutex<String>>,
    what: String,
}

impl Running {
    fn start(site: &Site, args: &[&str], envs: &[(&str, &str)]) -> Running {
        let mut command = site.command(OWNER, args);
        command
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("JOURNAL_STREAM")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in envs {
            command.env(key, value);
        }
        let mut child = command.spawn().unwrap();
        let output = Arc::new(Mutex::new(String::new()));
        let stdout: Box<dyn Read + Send> = Box::new(child.stdout.take().unwrap());
        let stderr: Box<dyn Read + Send> = Box::new(child.stderr.take().unwrap());
        for stream in [stdout, stderr] {
            let output = output.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let mut output = output.lock().unwrap();
                    output.push_str(&line);
                    output.push('\n');
                }
            });
        }
        Running {
            child,
            output,
            what: args.join(" "),
        }
    }

    fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    fn wait_for(&self, text: &str) {
        let started = Instant::now();
        while !self.output().contains(text) {
            assert!(
                started.elapsed() < WAIT,
                "`{}` did not say {text:?}; it said:\n{}",
                self.what,
                self.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill(2) on our own child's pid; it has not been reaped (we still own it).
        assert_eq!(
            unsafe { libc::kill(self.child.id() as libc::pid_t, signal) },
            0
        );
    }

    fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    fn wait_exit(&mut self) -> ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the readers take the last lines.
                std::thread::sleep(Duration::from_millis(100));
                return status;
            }
            assert!(
                started.elapsed() < WAIT,
                "`{}` did not exit; it said:\n{}",
                self.what,
                self.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, and it ends with exit 0.
    fn stop(mut self) -> String {
        self.signal(libc::SIGTERM);
        let status = self.wait_exit();
        assert_eq!(status.code(), Some(0), "{}", self.output());
        self.output()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn drop_file(site: &Site, name: &str, seed: u32) -> std::path::PathBuf {
    let path = site.dropbox.join(ACCOUNT).join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, png(seed, 2_000)).unwrap();
    path
}

fn wait_gone(path: &Path) {
    let started = Instant::now();
    while path.exists() {
        assert!(
            started.elapsed() < WAIT,
            "{} was never imported",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn serve_imports_dropped_files_and_logs_plain_lines_to_stderr() {
    let site = Site::linked("");
    let serve = Running::start(&site, &["serve"], &[]);
    serve.wait_for(WATCHING);
    let dropped = drop_file(&site, "beach.png", 1);
    wait_gone(&dropped);
    serve.wait_for("imported  /Acme/beach.png");
    serve.wait_for("removed   /Acme/beach.png from Dropbox");
    let log = serve.stop();
    assert!(
        !log.contains('\x1b'),
        "no terminal escapes in a log:\n{log}"
    );
    assert!(log.contains(" INFO "), "{log}");
    assert!(log.lines().last().unwrap().ends_with("stopped"), "{log}");
    // Not under journald: every line is stamped, RFC 3339 UTC.
    let first = log.lines().next().unwrap();
    assert!(
        first.starts_with("20") && first.split(' ').next().unwrap().ends_with('Z'),
        "{first}"
    );
    let files = site.ok(OWNER, &["files", "list", "--json"]);
    assert!(files.contains("beach.png"), "{files}");
}

#[test]
fn a_file_name_cannot_write_terminal_escapes_into_the_log() {
    let site = Site::linked("");
    let serve = Running::start(&site, &["serve"], &[]);
    serve.wait_for(WATCHING);
    // An escape sequence, and a right-to-left override that would show "png.exe" as "exe.png".
    let dropped = drop_file(&site, "red\x1b[31m\u{202e}gnp.exe.png", 5);
    wait_gone(&dropped);
    serve.wait_for("imported  /Acme/red\\u{1b}[31m\\u{202e}gnp.exe.png");
    let log = serve.stop();
    assert!(!log.contains(['\x1b', '\u{202e}']), "{log}");
}

#[test]
fn under_journald_lines_carry_no_timestamp() {
    let site = Site::linked("");
    let serve = Running::start(&site, &["serve"], &[("JOURNAL_STREAM", "8:1234")]);
    serve.wait_for(WATCHING);
    let log = serve.stop();
    for line in log.lines() {
        assert!(line.trim_start().starts_with("INFO "), "{line}");
    }
}

/// The datagrams systemd would get, as one string each.
struct NotifySocket {
    socket: UnixDatagram,
    path: std::path::PathBuf,
    received: Vec<String>,
}

impl NotifySocket {
    fn bind(dir: &Path) -> NotifySocket {
        let path = dir.join("notify.sock");
        let socket = UnixDatagram::bind(&path).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        NotifySocket {
            socket,
            path,
            received: Vec::new(),
        }
    }

    /// Waits for a datagram with a line starting with `prefix`; returns that line.
    fn wait_for(&mut self, prefix: &str, within: Duration) -> String {
        let started = Instant::now();
        let mut buffer = [0u8; 4096];
        loop {
            if let Some(line) = self
                .received
                .iter()
                .flat_map(|d| d.lines())
                .find(|l| l.starts_with(prefix))
            {
                return line.to_owned();
            }
            assert!(
                started.elapsed() < within,
                "no {prefix:?} in {:?}",
                self.received
            );
            if let Ok(n) = self.socket.recv(&mut buffer) {
                self.received
                    .push(String::from_utf8_lossy(&buffer[..n]).into_owned());
            }
        }
    }

    fn forget(&mut self) {
        self.received.clear();
    }
}

#[test]
fn serve_tells_systemd_ready_status_watchdog_and_stopping() {
    let site = Site::linked("");
    let mut systemd = NotifySocket::bind(&site.root);
    let socket = systemd.path.display().to_string();
    let serve = Running::start(
        &site,
        &["serve"],
        &[("NOTIFY_SOCKET", &socket), ("WATCHDOG_USEC", "2000000")],
    );
    systemd.wait_for("READY=1", WAIT);
    let status = systemd.wait_for("STATUS=watching", WAIT);
    assert_eq!(
        status,
        "STATUS=watching 1 linked folder(s); 0 imported today"
    );
    systemd.forget();
    // Half of WATCHDOG_USEC is a second; allow for a busy machine.
    systemd.wait_for("WATCHDOG=1", Duration::from_secs(4));
    let dropped = drop_file(&site, "count.png", 2);
    wait_gone(&dropped);
    systemd.wait_for("STATUS=watching 1 linked folder(s); 1 imported today", WAIT);
    systemd.forget();
    serve.signal(libc::SIGTERM);
    systemd.wait_for("STOPPING=1", WAIT);
    serve.stop();
}

#[test]
fn a_second_serve_waits_in_standby_and_takes_over_when_the_first_stops() {
    let site = Site::linked("");
    // The holder is a terminal's `import --watch`; it stops as an SSH hang-up stops it.
    let mut first = Running::start(&site, &["import", "--watch"], &[]);
    first.wait_for(WATCHING);
    let mut second = Running::start(&site, &["serve"], &[]);
    second.wait_for("standby: another engine holds this library (pid ");
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        second.is_running(),
        "standby is not an exit:\n{}",
        second.output()
    );
    assert_eq!(
        second.output().matches("standby:").count(),
        1,
        "told once:\n{}",
        second.output()
    );
    assert!(!second.output().contains(WATCHING));
    // `status` lists both: the watch engine running, the service waiting.
    let status = site.run(site::OPERATOR, &["status", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let states: Vec<(String, String)> = report["engines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["mode"].as_str().unwrap().into(),
                e["state"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        states.contains(&("serve".into(), "standby".into()))
            && states.contains(&("watch".into(), "running".into())),
        "{states:?}"
    );
    assert_eq!(status.status.code(), Some(0), "the watch engine is healthy");
    first.signal(libc::SIGHUP);
    assert_eq!(first.wait_exit().code(), Some(0), "{}", first.output());
    second.wait_for(WATCHING);
    let dropped = drop_file(&site, "after.png", 3);
    wait_gone(&dropped);
    second.wait_for("imported  /Acme/after.png");
    second.stop();
}

#[test]
fn sigterm_in_standby_exits_0() {
    let site = Site::linked("");
    let first = Running::start(&site, &["serve"], &[]);
    first.wait_for(WATCHING);
    let second = Running::start(&site, &["serve"], &[]);
    second.wait_for("standby:");
    second.stop();
    first.stop();
}

#[test]
fn sighup_reloads_a_good_config_and_keeps_the_old_one_when_it_is_bad() {
    let site = Site::linked("");
    let good = std::fs::read_to_string(&site.config).unwrap();
    let mut serve = Running::start(&site, &["serve"], &[]);
    serve.wait_for(WATCHING);

    std::fs::write(&site.config, format!("{good}download_workers = 0\n")).unwrap();
    serve.signal(libc::SIGHUP);
    serve.wait_for("ERROR cannot reload the configuration; keeping the settings in use");
    assert!(serve.is_running(), "{}", serve.output());
    assert!(!serve.output().contains("reloaded"), "{}", serve.output());

    std::fs::write(&site.config, format!("{good}download_workers = 2\n")).unwrap();
    serve.signal(libc::SIGHUP);
    serve.wait_for("reloaded the configuration: import.download_workers, ");
    serve.wait_for("(changed: import.download_workers)");
    // The engine runs again with the new settings.
    let dropped = drop_file(&site, "reloaded.png", 4);
    wait_gone(&dropped);
    serve.wait_for("imported  /Acme/reloaded.png");
    let log = serve.stop();
    assert_eq!(log.matches(WATCHING).count(), 2, "{log}");
}

#[test]
fn import_watch_stops_cleanly_on_a_hang_up() {
    let site = Site::linked("");
    let mut watch = Running::start(&site, &["import", "--watch"], &[]);
    watch.wait_for(WATCHING);
    watch.signal(libc::SIGHUP);
    assert_eq!(watch.wait_exit().code(), Some(0), "{}", watch.output());
    watch.wait_for("stopping: finishing files in flight");
}

#[test]
fn import_watch_waits_in_standby_instead_of_failing() {
    let site = Site::linked("");
    let serve = Running::start(&site, &["serve"], &[]);
    serve.wait_for(WATCHING);
    let mut watch = Running::start(&site, &["import", "--watch"], &[]);
    watch.wait_for("standby: another engine holds this library (pid ");
    std::thread::sleep(Duration::from_millis(500));
    assert!(watch.is_running(), "{}", watch.output());
    serve.stop();
    watch.wait_for(WATCHING);
    watch.stop();
}

#[test]
fn the_systemd_unit_is_hardened_and_may_write_the_synced_folder() {
    let site = Site::linked("");
    let unit = site.ok(OWNER, &["serve", "--systemd-unit", "--user", "photos"]);
    let data = std::path::absolute(&site.data).unwrap();
    for expected in [
        "Type=notify".to_owned(),
        format!(
            "ExecStart={} --data-dir {} --config {} serve",
            env!("CARGO_BIN_EXE_smartimage"),
            data.display(),
            site.config.display()
        ),
        "ExecReload=/bin/kill -HUP $MAINPID".to_owned(),
        "WatchdogSec=30".to_owned(),
        "User=photos".to_owned(),
        "ProtectSystem=strict".to_owned(),
        "ProtectHome=read-only".to_owned(),
        "NoNewPrivileges=yes".to_owned(),
        "PrivateTmp=yes".to_owned(),
        "UMask=0007".to_owned(),
        format!("ReadWritePaths={}", data.display()),
        format!("ReadWritePaths=-{}", site.dropbox.join(ACCOUNT).display()),
    ] {
        assert!(
            unit.lines().any(|l| l == expected),
            "no {expected:?} in\n{unit}"
        );
    }
    assert!(!unit.contains("# note:"), "{unit}");
}

#[test]
fn the_systemd_unit_is_printed_even_without_a_library() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_smartimage"))
        .arg("--data-dir")
        .arg(dir.path().join("none"))
        .args(["serve", "--systemd-unit"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let unit = String::from_utf8(out.stdout).unwrap();
    assert!(
        unit.contains("\n# note: the linked synced folders could not be read ("),
        "{unit}"
    );
    assert!(
        unit.contains("User=smartimage\nGroup=smartimage\n"),
        "{unit}"
    );
}
