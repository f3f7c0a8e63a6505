//! Where things live and the optional config file. Every key is optional; the defaults are
//! documented in README.md ("Configuration").

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use crate::import::engine::DEFAULT_DOWNLOAD_WORKERS;
use crate::library::policy::{PlanCatalog, PlanOverride};

pub const DATA_DIR_ENV: &str = "SMARTIMAGE_DATA_DIR";
pub const CONFIG_FILE_NAME: &str = "config.toml";

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Per-plan overrides of the built-in catalogue, keyed by plan name.
    #[serde(default)]
    pub plans: BTreeMap<String, PlanOverride>,
    #[serde(default)]
    pub import: ImportSettings,
    #[serde(default)]
    pub dropbox: DropboxSettings,
    #[serde(default)]
    pub export: ExportConfig,
    /// Console key overrides: action name → a key or a list of keys (checked when the console
    /// opens, by `tui::keymap_config`).
    #[serde(default)]
    pub keys: BTreeMap<String, KeyList>,
    /// Email and webhook notifications (README.md, "Notifications").
    #[serde(default)]
    pub notify: NotifyConfig,
    /// The trash (README.md, "Trash, undo and duplicates").
    #[serde(default)]
    pub trash: TrashConfig,
}

/// `[trash]`: how long a file stays in the trash before the engine deletes it for good.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TrashConfig {
    pub purge_after_days: u64,
}

impl Default for TrashConfig {
    fn default() -> Self {
        TrashConfig {
            purge_after_days: crate::library::trash::DEFAULT_PURGE_AFTER_DAYS,
        }
    }
}

/// `[import] duplicates`: what an import does with a file whose bytes its account already has
/// (outside the trash).
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Duplicates {
    /// Import it: both rows stay, the newer marked a duplicate of the older.
    #[default]
    Keep,
    /// Record it as already in the library (queue and audit) and remove it from Dropbox.
    Skip,
}

/// `[notify]`: how often an account may get a digest, and where notices go.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// At most one digest of failures per account this often (default 15).
    pub min_interval_mins: Option<u64>,
    pub email: Option<EmailConfig>,
    pub webhook: Option<WebhookConfig>,
}

/// `[notify.email]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// `smtp://host[:port]` (STARTTLS when offered, required with credentials) or
    /// `smtps://host[:port]` (implicit TLS).
    pub smtp_url: String,
    pub from: String,
    pub username: Option<String>,
    /// A `0600` file holding the password.
    pub password_file: Option<PathBuf>,
    /// PEM certificates trusted besides the system's.
    pub ca_file: Option<PathBuf>,
}

/// `[notify.webhook]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub url: String,
    /// A `0600` file holding the HMAC secret for `X-Smartimage-Signature`.
    pub secret_file: Option<PathBuf>,
}

impl NotifyConfig {
    /// The sender's settings.
    pub fn settings(&self) -> crate::notify::NotifySettings {
        crate::notify::NotifySettings {
            min_interval: self
                .min_interval_mins
                .map(|m| std::time::Duration::from_secs(m * 60)),
            email: self.email.as_ref().map(|e| crate::notify::EmailSettings {
                smtp_url: e.smtp_url.clone(),
                from: e.from.clone(),
                username: e.username.clone(),
                password_file: e.password_file.clone(),
                ca_file: e.ca_file.clone(),
            }),
            webhook: self
                .webhook
                .as_ref()
                .map(|w| crate::notify::WebhookSettings {
                    url: w.url.clone(),
                    secret_file: w.secret_file.clone(),
                }),
        }
    }

    fn check(&self) -> Result<(), String> {
        let settings = self.settings();
        if let Some(email) = &settings.email {
            email.check()?;
        }
        if let Some(webhook) = &settings.webhook {
            webhook.check()?;
        }
        Ok(())
    }
}

/// One key (`quit = "x"`) or several (`quit = ["x", "F10"]`).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum KeyList {
    One(String),
    Many(Vec<String>),
}

impl ImportSettings {
    /// When failed tries are tried again, and when a transient failure is persistent.
    pub fn retry_policy(&self) -> crate::import::retry_policy::RetryPolicy {
        crate::import::retry_policy::RetryPolicy {
            transient_attempts: self.transient_attempts.max(1),
            min_spread: std::time::Duration::from_secs(self.transient_spread_secs),
        }
    }
}

impl Config {
    /// The `[keys]` section as action name → keys.
    pub fn key_overrides(&self) -> BTreeMap<String, Vec<String>> {
        self.keys
            .iter()
            .map(|(action, keys)| {
                let keys = match keys {
                    KeyList::One(k) => vec![k.clone()],
                    KeyList::Many(ks) => ks.clone(),
                };
                (action.clone(), keys)
            })
            .collect()
    }
}

/// Seconds a file in a synced folder must be left alone before it is imported.
pub const DEFAULT_SYNCED_FOLDER_STABLE_SECS: f64 = 2.0;

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ImportSettings {
    pub download_workers: usize,
    /// A file still being written into a synced folder is not imported until it has been
    /// unchanged this long.
    pub synced_folder_stable_secs: f64,
    /// Folders in a synced folder that the import emptied are removed (`rmdir`: only when
    /// empty, never the account folder). Over the API folders are always left alone.
    pub remove_emptied_folders: bool,
    /// No longer used: garbage collection deletes only blobs the store released, whatever
    /// their age (RELIABILITY.md). Accepted so an older config file still loads.
    #[serde(rename = "orphan_blob_grace_secs")]
    pub legacy_orphan_blob_grace_secs: Option<u64>,
    /// A transient Dropbox failure is reported to the customer only after this many tries…
    pub transient_attempts: u32,
    /// …spread over at least this many seconds (`retry_policy::TRANSIENT_MIN_SPREAD`; lower
    /// it only to test).
    pub transient_spread_secs: u64,
    /// What an import does with a copy of bytes its account already has.
    pub duplicates: Duplicates,
}

impl Default for ImportSettings {
    fn default() -> Self {
        ImportSettings {
            download_workers: DEFAULT_DOWNLOAD_WORKERS,
            synced_folder_stable_secs: DEFAULT_SYNCED_FOLDER_STABLE_SECS,
            remove_emptied_folders: true,
            legacy_orphan_blob_grace_secs: None,
            transient_attempts: crate::import::retry_policy::DEFAULT_TRANSIENT_ATTEMPTS,
            transient_spread_secs: crate::import::retry_policy::TRANSIENT_MIN_SPREAD.as_secs(),
            duplicates: Duplicates::Keep,
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DropboxSettings {
    /// The Dropbox app key used for linking (also `--app-key`, `SMARTIMAGE_DROPBOX_APP_KEY`).
    pub app_key: Option<String>,
    /// Speak to this base URL for every Dropbox host instead of Dropbox itself, OAuth
    /// included: the emulator in tests and benchmarks (`http://127.0.0.1:PORT`), or an
    /// on-premises proxy. Only `https://`, or `http://` on a loopback address
    /// ([`check_endpoint`]): the app key and refresh token go to it.
    pub endpoint: Option<String>,
}

/// Why an `[dropbox] endpoint` is refused, if it is: anything but `https://`, or `http://` to a
/// loopback address (`127.0.0.0/8`, `[::1]`, `localhost`), would send the app key, the
/// refresh token and every file in clear text to wherever it points.
pub fn check_endpoint(endpoint: &str) -> Result<(), String> {
    const WHAT: &str = "dropbox.endpoint must be an https:// URL, or http:// on a loopback \
                        address (127.0.0.1, [::1], localhost) for the Dropbox emulator";
    let url = reqwest::Url::parse(endpoint)
        .map_err(|e| format!("{WHAT}; {endpoint:?} is not a URL ({e})"))?;
    let host = url.host_str().unwrap_or_default();
    // An IPv6 host comes in brackets; an IP literal is parsed already (`0x7f.1` is 127.0.0.1).
    let loopback = match host.trim_start_matches('[').trim_end_matches(']').parse() {
        Ok(ip) => std::net::IpAddr::is_loopback(&ip),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    };
    match url.scheme() {
        "https" if !host.is_empty() => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err(format!(
            "{WHAT}; {endpoint:?} is plain http:// to another machine, which would send the app \
             key and the refresh token in clear text"
        )),
        _ => Err(format!("{WHAT}; got {endpoint:?}")),
    }
}

/// Sending files back to Dropbox (`smartimage export`, `share`).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ExportConfig {
    /// A single file up to this size goes in one `files/upload`; bigger ones in an upload
    /// session (Dropbox's limit for one upload, 150 MiB, is the most).
    pub session_threshold_bytes: u64,
    /// Bytes per upload-session call.
    pub chunk_bytes: u64,
    /// Files sent at once when many go in one batch.
    pub parallel_sends: usize,
}

impl Default for ExportConfig {
    fn default() -> Self {
        let defaults = crate::dropbox::sending::SendSettings::default();
        ExportConfig {
            session_threshold_bytes: defaults.session_threshold,
            chunk_bytes: defaults.chunk_bytes,
            parallel_sends: defaults.parallel,
        }
    }
}

impl ExportConfig {
    pub fn send_settings(&self) -> crate::dropbox::sending::SendSettings {
        crate::dropbox::sending::SendSettings {
            session_threshold: self.session_threshold_bytes,
            chunk_bytes: self.chunk_bytes,
            parallel: self.parallel_sends,
        }
        .clamped()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the config file {path} is not valid: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error(
        "no data directory given and no home directory to derive one from; pass --data-dir DIR or set {DATA_DIR_ENV}"
    )]
    NoDataDir,
}

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("com", "Smartimage", "smartimage")
}

/// `--data-dir`, else `SMARTIMAGE_DATA_DIR`, else the platform data dir.
pub fn resolve_data_dir(flag: Option<&Path>) -> Result<PathBuf, ConfigError> {
    if let Some(dir) = flag {
        return Ok(dir.to_path_buf());
    }
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    project_dirs()
        .map(|d| d.data_dir().to_path_buf())
        .ok_or(ConfigError::NoDataDir)
}

/// The default config file location (it need not exist).
pub fn default_config_path() -> Option<PathBuf> {
    project_dirs().map(|d| d.config_dir().join(CONFIG_FILE_NAME))
}

impl Config {
    /// Load `--config FILE` (which must exist), else the default file if present, else defaults.
    pub fn load(flag: Option<&Path>) -> Result<Config, ConfigError> {
        let (path, required) = match flag {
            Some(p) => (Some(p.to_path_buf()), true),
            None => (default_config_path(), false),
        };
        let Some(path) = path else {
            return Ok(Config::default());
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Config::parse(&text, &path),
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
                Ok(Config::default())
            }
            Err(source) => Err(ConfigError::Read { path, source }),
        }
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Invalid {
            path: path.to_path_buf(),
            message: e.message().to_owned(),
        })?;
        config.plan_catalog(path)?;
        if !(0.0..=3600.0).contains(&config.import.synced_folder_stable_secs) {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                message: "import.synced_folder_stable_secs must be between 0 and 3600".into(),
            });
        }
        if config.import.transient_attempts == 0 {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                message: "import.transient_attempts must be at least 1".into(),
            });
        }
        if config.trash.purge_after_days == 0 {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                message: "trash.purge_after_days must be at least 1".into(),
            });
        }
        if config.import.download_workers == 0 {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                message: "import.download_workers must be at least 1".into(),
            });
        }
        if let Some(endpoint) = &config.dropbox.endpoint {
            check_endpoint(endpoint).map_err(|message| ConfigError::Invalid {
                path: path.to_path_buf(),
                message,
            })?;
        }
        config
            .notify
            .check()
            .map_err(|message| ConfigError::Invalid {
                path: path.to_path_buf(),
                message,
            })?;
        Ok(config)
    }

    fn plan_catalog(&self, path: &Path) -> Result<PlanCatalog, ConfigError> {
        PlanCatalog::with_overrides(&self.plans).map_err(|e| ConfigError::Invalid {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// The plan catalogue: built-in defaults with this config's overrides.
    pub fn plans(&self) -> PlanCatalog {
        // Validated in `parse`; a default config has no overrides to fail on.
        PlanCatalog::with_overrides(&self.plans).unwrap_or_else(|_| PlanCatalog::defaults())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_config_means_all_defaults() {
        let c = Config::parse("", Path::new("c.toml")).unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.import.download_workers, DEFAULT_DOWNLOAD_WORKERS);
    }

    #[test]
    fn plan_overrides_are_partial() {
        let c = Config::parse(
            "[plans.basic]\nstorage_limit_bytes = 1000\n",
            Path::new("c.toml"),
        )
        .unwrap();
        let plans = c.plans();
        assert_eq!(plans.get("basic").unwrap().storage_limit_bytes, 1000);
        assert_eq!(plans.get("basic").unwrap().video_bytes_per_month, 0);
    }

    #[test]
    fn unknown_keys_and_zero_workers_are_rejected_with_the_file_name() {
        let err = Config::parse("colour = 3\n", Path::new("/etc/x.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/etc/x.toml"), "{err}");
        assert!(Config::parse("[import]\ndownload_workers = 0\n", Path::new("c.toml")).is_err());
        assert!(Config::parse("[trash]\npurge_after_days = 0\n", Path::new("c.toml")).is_err());
        assert_eq!(Config::default().trash.purge_after_days, 30);
        assert_eq!(Config::default().import.duplicates, Duplicates::Keep);
        let skip = Config::parse(
            "[import]\nduplicates = \"skip\"\n[trash]\npurge_after_days = 7\n",
            Path::new("c.toml"),
        )
        .unwrap();
        assert_eq!(skip.import.duplicates, Duplicates::Skip);
        assert_eq!(skip.trash.purge_after_days, 7);
        assert!(Config::parse("[import]\nduplicates = \"drop\"\n", Path::new("c.toml")).is_err());
    }

    #[test]
    fn emptied_folders_are_removed_unless_the_config_says_otherwise() {
        assert!(Config::default().import.remove_emptied_folders);
        let keep = Config::parse(
            "[import]\nremove_emptied_folders = false\n",
            Path::new("c.toml"),
        )
        .unwrap();
        assert!(!keep.import.remove_emptied_folders);
    }

    #[test]
    fn transient_attempts_default_to_six_over_half_an_hour_and_can_be_set() {
        let policy = Config::default().import.retry_policy();
        assert_eq!(policy.transient_attempts, 6);
        assert_eq!(policy.min_spread, std::time::Duration::from_secs(1800));
        let c = Config::parse(
            "[import]\ntransient_attempts = 3\ntransient_spread_secs = 5\n",
            Path::new("c.toml"),
        )
        .unwrap();
        assert_eq!(c.import.retry_policy().transient_attempts, 3);
        assert!(Config::parse("[import]\ntransient_attempts = 0\n", Path::new("c.toml")).is_err());
    }

    #[test]
    fn the_endpoint_is_https_or_plain_http_on_loopback_only() {
        for allowed in [
            "https://dropbox-proxy.example.com",
            "https://10.0.0.7:8443/dropbox",
            "http://127.0.0.1:8080",
            "http://127.9.9.9",
            "http://[::1]:9000",
            "http://localhost:8080",
            "http://LOCALHOST",
        ] {
            let text = format!("[dropbox]\nendpoint = \"{allowed}\"\n");
            assert!(
                Config::parse(&text, Path::new("c.toml")).is_ok(),
                "{allowed}"
            );
        }
        for refused in [
            "http://dropbox-proxy.example.com",
            "http://10.0.0.7:8080",
            "http://0.0.0.0:8080",
            "http://[::ffff:127.0.0.1]:8080",
            "http://localhost.example.com",
            "http://127.0.0.1.example.com",
            "ftp://127.0.0.1",
            "file:///tmp/dropbox",
            "127.0.0.1:8080",
            "not a url",
            "",
        ] {
            let text = format!("[dropbox]\nendpoint = \"{refused}\"\n");
            let err = Config::parse(&text, Path::new("/etc/smartimage.toml"))
                .expect_err(refused)
                .to_string();
            assert!(err.contains("/etc/smartimage.toml"), "{err}");
            assert!(
                err.contains("dropbox.endpoint must be an https:// URL"),
                "{err}"
            );
        }
    }

    #[test]
    fn notify_secret_files_must_be_private_and_urls_sane() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let password = dir.path().join("smtp-password");
        std::fs::write(&password, "hunter2\n").unwrap();
        std::fs::set_permissions(&password, std::fs::Permissions::from_mode(0o640)).unwrap();
        let text = format!(
            "[notify]\nmin_interval_mins = 5\n[notify.email]\nsmtp_url = \"smtp://127.0.0.1:2525\"\n\
             from = \"smartimage@example.com\"\nusername = \"u\"\npassword_file = {:?}\n",
            password.display().to_string()
        );
        let err = Config::parse(&text, Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("chmod 600"), "{err}");
        std::fs::set_permissions(&password, std::fs::Permissions::from_mode(0o600)).unwrap();
        let c = Config::parse(&text, Path::new("c.toml")).unwrap();
        let q = c.notify.settings().queueing();
        assert!(q.email && !q.webhook);
        assert_eq!(q.min_interval, std::time::Duration::from_secs(300));
        assert_eq!(
            Config::default().notify.settings().queueing().min_interval,
            std::time::Duration::from_secs(900)
        );
        let bad = "[notify.webhook]\nurl = \"http://hooks.example.com/x\"\n";
        assert!(Config::parse(bad, Path::new("c.toml")).is_err());
    }

    #[test]
    fn an_explicit_config_file_must_exist() {
        let err = Config::load(Some(Path::new("/nonexistent/smartimage.toml"))).unwrap_err();
        assert!(matches!(err, ConfigError::Read { .. }));
    }

    #[test]
    fn a_keys_section_takes_one_key_or_a_list() {
        let c = Config::parse(
            "[keys]\nquit = \"x\"\nretry_item = [\"r\", \"F5\"]\n",
            Path::new("c.toml"),
        )
        .unwrap();
        let keys = c.key_overrides();
        assert_eq!(keys["quit"], vec!["x".to_string()]);
        assert_eq!(keys["retry_item"], vec!["r".to_string(), "F5".to_string()]);
    }

    #[test]
    fn the_data_dir_flag_wins() {
        let dir = resolve_data_dir(Some(Path::new("/tmp/lib"))).unwrap();
        assert_eq!(dir, PathBuf::from("/tmp/lib"));
    }
}
