//! What an emulator run is made of: where the account folders live, which Dropbox accounts and
//! credentials exist, how long issued tokens live, longpoll timing and the faults to inject.
//! Loadable from TOML or JSON so the binary and in-process tests share one shape.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::faults::FaultConfig;

/// Dropbox issues four-hour access tokens today; tests usually shorten this.
pub const DEFAULT_TOKEN_TTL_SECS: u64 = 4 * 60 * 60;

/// How many `delete_batch/check` polls answer `in_progress` before `complete`, so clients
/// exercise their polling loop by default.
pub const DEFAULT_BATCH_IN_PROGRESS_POLLS: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmulatorConfig {
    /// Account folders are `<root>/<account_id>/…`; emulator bookkeeping (old revisions, temp
    /// files) lives in `<root>/.emulator/`.
    pub root: PathBuf,
    #[serde(default)]
    pub accounts: Vec<AccountConfig>,
    /// Authorization codes redeemable at `/oauth2/token` from the start.
    #[serde(default)]
    pub codes: Vec<AuthCodeConfig>,
    /// When set, `/oauth2/token` requires this `client_id` (the app key).
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default = "default_token_ttl_secs")]
    pub token_ttl_secs: u64,
    /// Multiplies every longpoll wait: 1.0 is real time, 0.001 turns 30 s into 30 ms.
    #[serde(default = "default_time_scale")]
    pub longpoll_time_scale: f64,
    /// Adds Dropbox's random 0–90 s to longpoll waits. Off for tests.
    #[serde(default)]
    pub longpoll_jitter: bool,
    /// `backoff` to put into every longpoll result, if any.
    #[serde(default)]
    pub longpoll_backoff_secs: Option<u64>,
    #[serde(default = "default_batch_polls")]
    pub delete_batch_in_progress_polls: u32,
    /// Accept raw UTF-8 bytes in `Dropbox-API-Arg` (Dropbox reportedly does; only the escaped
    /// form is documented, so the default is strict to catch clients that forget to escape).
    #[serde(default)]
    pub allow_raw_utf8_arg: bool,
    /// Look at the disk before every call (files dropped in directly are seen at once). List
    /// calls, longpolls and `POST /__emulator/rescan` always look; turn this off for
    /// benchmarks with many files, where a walk per call would dominate.
    #[serde(default = "default_true")]
    pub rescan_on_every_call: bool,
    #[serde(default)]
    pub faults: FaultConfig,
    /// Serve HTTPS with this certificate instead of plain HTTP (SDKs that force `https://`,
    /// such as the official Python SDK).
    #[serde(default)]
    pub tls: Option<TlsConfig>,
}

/// PEM files for HTTPS: `cert` holds the chain, leaf first; `key` a PKCS#8, PKCS#1 or SEC1
/// private key.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn default_true() -> bool {
    true
}

fn default_token_ttl_secs() -> u64 {
    DEFAULT_TOKEN_TTL_SECS
}

fn default_time_scale() -> f64 {
    1.0
}

fn default_batch_polls() -> u32 {
    DEFAULT_BATCH_IN_PROGRESS_POLLS
}

impl EmulatorConfig {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            accounts: Vec::new(),
            codes: Vec::new(),
            client_id: None,
            token_ttl_secs: DEFAULT_TOKEN_TTL_SECS,
            longpoll_time_scale: default_time_scale(),
            longpoll_jitter: false,
            longpoll_backoff_secs: None,
            delete_batch_in_progress_polls: DEFAULT_BATCH_IN_PROGRESS_POLLS,
            allow_raw_utf8_arg: false,
            rescan_on_every_call: true,
            faults: FaultConfig::default(),
            tls: None,
        }
    }

    pub fn with_account(mut self, account: AccountConfig) -> Self {
        self.accounts.push(account);
        self
    }

    /// Reads a `.json` file as JSON and anything else as TOML.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)?;
        let is_json = path.extension().is_some_and(|ext| ext == "json");
        Ok(if is_json {
            serde_json::from_str(&text)?
        } else {
            toml::from_str(&text)?
        })
    }

    /// Codes and accounts must agree before anything is served.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let known = |id: &str| self.accounts.iter().any(|account| account.account_id == id);
        match self.codes.iter().find(|code| !known(&code.account_id)) {
            Some(code) => Err(ConfigError::UnknownAccount(code.account_id.clone())),
            None => Ok(()),
        }
    }

    pub fn token_ttl(&self) -> Duration {
        Duration::from_secs(self.token_ttl_secs)
    }

    /// A Dropbox-side wait of `secs` seconds in this run's time scale.
    pub fn scaled(&self, secs: f64) -> Duration {
        Duration::from_secs_f64((secs * self.longpoll_time_scale).max(0.0))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the emulator config: {0}")]
    Read(#[from] std::io::Error),
    #[error("emulator config is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("emulator config is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("an authorization code names {0:?}, which is not a configured account")]
    UnknownAccount(String),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    /// `dbid:…`
    pub account_id: String,
    pub email: String,
    pub display_name: String,
    /// Long-lived access tokens accepted from the start (they never expire on their own).
    #[serde(default)]
    pub access_tokens: Vec<String>,
    /// Refresh tokens accepted from the start.
    #[serde(default)]
    pub refresh_tokens: Vec<String>,
}

/// Dropbox account ids (`users_common.AccountId`) are exactly this long, `dbid:` included;
/// the official SDKs refuse other lengths when they parse an account.
pub const ACCOUNT_ID_LEN: usize = 40;

impl AccountConfig {
    /// Whether SDKs that validate ids (Python's `dropbox`) will accept this one. The emulator
    /// serves any id; short ones keep our own tests readable.
    pub fn has_sdk_valid_id(&self) -> bool {
        self.account_id.chars().count() == ACCOUNT_ID_LEN
    }

    pub fn new(account_id: &str, email: &str, display_name: &str) -> Self {
        Self {
            account_id: account_id.to_owned(),
            email: email.to_owned(),
            display_name: display_name.to_owned(),
            access_tokens: Vec::new(),
            refresh_tokens: Vec::new(),
        }
    }

    pub fn with_access_token(mut self, token: &str) -> Self {
        self.access_tokens.push(token.to_owned());
        self
    }

    pub fn with_refresh_token(mut self, token: &str) -> Self {
        self.refresh_tokens.push(token.to_owned());
        self
    }
}

/// An authorization code as the browser page would have shown it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthCodeConfig {
    pub code: String,
    pub account_id: String,
    /// base64url-no-pad SHA-256 of the PKCE verifier; when set, `code_verifier` must match.
    #[serde(default)]
    pub code_challenge: Option<String>,
}
