//! `serve --systemd-unit`: the systemd unit that runs `serve` as a hardened service. The text
//! is built by a pure function ([`unit_text`]); what it needs from the machine (this binary,
//! the data dir's group, the linked synced folders) is gathered by [`UnitInputs::gather`].

use std::fmt::Write as _;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use smartimage::dropbox::folder_name::downloads_folder_path;
use smartimage::library::store::links::{self, BackendKind};

use smartimage::config::Config;

use crate::cli::{Failure, Outcome, open_library};

/// The user and group the unit runs as unless told otherwise.
pub const DEFAULT_USER: &str = "smartimage";
/// systemd restarts a service whose `WATCHDOG=1` is this late.
const WATCHDOG_SEC: u32 = 30;
/// `serve` stops within 10 s of SIGTERM; systemd waits this long before SIGKILL.
const TIMEOUT_STOP_SEC: u32 = 15;

/// Everything the unit says that depends on this machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitInputs {
    pub exe: PathBuf,
    pub data_dir: PathBuf,
    /// `--config FILE`, when one was given (else the service user's default file).
    pub config: Option<PathBuf>,
    pub user: String,
    pub group: String,
    /// Folders the engine writes besides the data dir: each synced folder's account folder
    /// (imports delete from it, reports are written in it) and its downloads folder (start-up
    /// sweeps what a killed export left there).
    pub synced_folders: Vec<PathBuf>,
    /// Why the synced folders could not be listed, if they could not.
    pub note: Option<String>,
}

impl UnitInputs {
    pub fn gather(
        data_dir: &Path,
        config_path: Option<&Path>,
        config: &Config,
        user: Option<String>,
    ) -> Result<UnitInputs, Failure> {
        let exe = std::env::current_exe()
            .map_err(|e| Failure::runtime(format!("cannot find this program's path: {e}")))?;
        let data_dir = absolute(data_dir)?;
        let (synced_folders, note) = match synced_folders(&data_dir, config) {
            Ok(folders) => (folders, None),
            Err(why) => (Vec::new(), Some(why)),
        };
        Ok(UnitInputs {
            exe,
            group: group_of(&data_dir).unwrap_or_else(|| DEFAULT_USER.to_owned()),
            data_dir,
            config: config_path.map(absolute).transpose()?,
            user: user.unwrap_or_else(|| DEFAULT_USER.to_owned()),
            synced_folders,
            note,
        })
    }
}

/// `serve --systemd-unit`: print the unit and exit, without starting an engine.
pub fn print(
    data_dir: &Path,
    config_path: Option<&Path>,
    config: &Config,
    user: Option<String>,
) -> Outcome {
    let inputs = UnitInputs::gather(data_dir, config_path, config, user)?;
    print!("{}", unit_text(&inputs));
    Ok(())
}

fn absolute(path: &Path) -> Result<PathBuf, Failure> {
    std::path::absolute(path)
        .map_err(|e| Failure::runtime(format!("cannot make {} absolute: {e}", path.display())))
}

/// The account folders (and their downloads folders) of every live link to a synced folder.
fn synced_folders(data_dir: &Path, config: &Config) -> Result<Vec<PathBuf>, String> {
    let library = open_library(data_dir, config).map_err(|f| f.message)?;
    let live = links::live_links(library.store().connection()).map_err(|e| e.to_string())?;
    let mut folders = Vec::new();
    for link in live.iter().filter(|l| l.backend == BackendKind::Local) {
        let Some(root) = link.root_path.as_deref() else {
            continue;
        };
        for folder in [
            link.folder_path.clone(),
            downloads_folder_path(&link.folder_path),
        ] {
            let path = Path::new(root).join(folder.trim_start_matches('/'));
            if !folders.contains(&path) {
                folders.push(path);
            }
        }
    }
    Ok(folders)
}

/// The name of the group owning `dir`: the admins' group, which the service must share.
fn group_of(dir: &Path) -> Option<String> {
    let gid = std::fs::metadata(dir).ok()?.gid();
    let mut group: libc::group = unsafe { std::mem::zeroed() };
    let mut buffer = vec![0 as libc::c_char; 16 * 1024];
    let mut found: *mut libc::group = std::ptr::null_mut();
    // SAFETY: every pointer is to live storage of the stated size; the name is copied out of
    // `buffer` before it goes away.
    let status = unsafe {
        libc::getgrgid_r(
            gid,
            &mut group,
            buffer.as_mut_ptr(),
            buffer.len(),
            &mut found,
        )
    };
    if status != 0 || found.is_null() || group.gr_name.is_null() {
        return None;
    }
    let name = unsafe { std::ffi::CStr::from_ptr(group.gr_name) };
    Some(name.to_string_lossy().into_owned())
}

/// One path as a word of a unit file: `%` is a specifier and `$` a variable to systemd, and a
/// path with spaces ("Acme Marketing") must be quoted. `prefix` (`-`: may be missing) goes
/// inside the quotes, where systemd reads it.
fn unit_word(prefix: &str, path: &Path) -> String {
    let text = path
        .display()
        .to_string()
        .replace('%', "%%")
        .replace('$', "$$");
    let word = format!("{prefix}{text}");
    if word.contains(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '\\') {
        format!("\"{}\"", word.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        word
    }
}

/// The unit file for `inputs`.
pub fn unit_text(inputs: &UnitInputs) -> String {
    let mut exec = format!(
        "{} --data-dir {}",
        unit_word("", &inputs.exe),
        unit_word("", &inputs.data_dir)
    );
    if let Some(config) = &inputs.config {
        let _ = write!(exec, " --config {}", unit_word("", config));
    }
    exec.push_str(" serve");
    let mut text = String::new();
    let mut line = |l: &str| {
        text.push_str(l);
        text.push('\n');
    };
    line("# Written by `smartimage serve --systemd-unit`; install it as");
    line("# /etc/systemd/system/smartimage.service (README.md, \"Running as a service\").");
    line("[Unit]");
    line("Description=Smartimage import engine (Dropbox to the library)");
    line("Wants=network-online.target");
    line("After=network-online.target");
    line("");
    line("[Service]");
    line("Type=notify");
    line(&format!("ExecStart={exec}"));
    // SIGHUP reloads the config ([import], [dropbox] and plan keys); README.md lists them.
    line("ExecReload=/bin/kill -HUP $MAINPID");
    line(&format!("WatchdogSec={WATCHDOG_SEC}"));
    line("Restart=on-failure");
    line("KillSignal=SIGTERM");
    line(&format!("TimeoutStopSec={TIMEOUT_STOP_SEC}"));
    line(&format!("User={}", inputs.user));
    line(&format!("Group={}", inputs.group));
    line("UMask=0007");
    line("Environment=SMARTIMAGE_LOG=info");
    line("NoNewPrivileges=yes");
    line("PrivateTmp=yes");
    line("ProtectSystem=strict");
    // Synced folders usually live under /home: readable everywhere, writable where listed.
    line("ProtectHome=read-only");
    line(&format!(
        "ReadWritePaths={}",
        unit_word("", &inputs.data_dir)
    ));
    if let Some(note) = &inputs.note {
        let note = note.replace('\n', " ");
        line(&format!(
            "# note: the linked synced folders could not be read ({note}); add a ReadWritePaths= line for each, or run this again once the library opens"
        ));
    }
    for folder in &inputs.synced_folders {
        // `-`: a folder that is gone must not keep the engine (and every other link) down.
        line(&format!("ReadWritePaths={}", unit_word("-", folder)));
    }
    line("");
    line("[Install]");
    line("WantedBy=multi-user.target");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> UnitInputs {
        UnitInputs {
            exe: PathBuf::from("/usr/local/bin/smartimage"),
            data_dir: PathBuf::from("/srv/smartimage"),
            config: None,
            user: "smartimage".into(),
            group: "admins".into(),
            synced_folders: vec![
                PathBuf::from("/home/ada/Dropbox/Apps/Smartimage/Acme Marketing"),
                PathBuf::from("/home/ada/Dropbox/Apps/Smartimage/Acme Marketing (from Smartimage)"),
            ],
            note: None,
        }
    }

    #[test]
    fn the_unit_is_a_hardened_notify_service_on_this_binary_and_data_dir() {
        let text = unit_text(&inputs());
        for expected in [
            "Type=notify\n",
            "ExecStart=/usr/local/bin/smartimage --data-dir /srv/smartimage serve\n",
            "ExecReload=/bin/kill -HUP $MAINPID\n",
            "WatchdogSec=30\n",
            "Restart=on-failure\n",
            "KillSignal=SIGTERM\n",
            "TimeoutStopSec=15\n",
            "User=smartimage\n",
            "Group=admins\n",
            "UMask=0007\n",
            "Environment=SMARTIMAGE_LOG=info\n",
            "NoNewPrivileges=yes\n",
            "PrivateTmp=yes\n",
            "ProtectSystem=strict\n",
            "ProtectHome=read-only\n",
            "ReadWritePaths=/srv/smartimage\n",
            "ReadWritePaths=\"-/home/ada/Dropbox/Apps/Smartimage/Acme Marketing\"\n",
            "ReadWritePaths=\"-/home/ada/Dropbox/Apps/Smartimage/Acme Marketing (from Smartimage)\"\n",
            "WantedBy=multi-user.target\n",
        ] {
            assert!(text.contains(expected), "no {expected:?} in\n{text}");
        }
        assert!(!text.contains("# note:"), "{text}");
    }

    #[test]
    fn a_library_that_cannot_be_read_still_gets_a_unit_with_a_note() {
        let text = unit_text(&UnitInputs {
            synced_folders: Vec::new(),
            note: Some("no library".into()),
            ..inputs()
        });
        assert!(text.contains("ReadWritePaths=/srv/smartimage\n"), "{text}");
        assert!(text.contains("# note: the linked synced folders could not be read (no library)"));
    }

    #[test]
    fn paths_are_quoted_and_escaped_for_systemd() {
        assert_eq!(unit_word("", Path::new("/a/b")), "/a/b");
        assert_eq!(unit_word("-", Path::new("/a b")), "\"-/a b\"");
        assert_eq!(unit_word("", Path::new("/100%/$x")), "/100%%/$$x");
        assert_eq!(
            unit_word("", Path::new("/say \"hi\"")),
            "\"/say \\\"hi\\\"\""
        );
        let with_config = unit_text(&UnitInputs {
            config: Some(PathBuf::from("/etc/smartimage/config.toml")),
            ..inputs()
        });
        assert!(with_config.contains(
            "ExecStart=/usr/local/bin/smartimage --data-dir /srv/smartimage --config /etc/smartimage/config.toml serve\n"
        ));
    }
}
