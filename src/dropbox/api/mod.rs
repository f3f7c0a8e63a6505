//! The Dropbox HTTP API v2 client (a thin typed client over reqwest + rustls).
//! `transport` sends one call with pacing, auth and retries; `routes` implements the
//! [`DropboxBackend`](crate::dropbox::backend::DropboxBackend) routes on top of it.

mod retry;
mod routes;
mod sending;
mod transport;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use retry::RetryPolicy;

use crate::dropbox::auth::TokenSource;
use crate::dropbox::pacer::Pacer;
use crate::dropbox::wire::LONGPOLL_JITTER_MAX_SECS;

/// Dropbox's hosts.
pub const DROPBOX_API_BASE: &str = "https://api.dropboxapi.com";
pub const DROPBOX_CONTENT_BASE: &str = "https://content.dropboxapi.com";
pub const DROPBOX_NOTIFY_BASE: &str = "https://notify.dropboxapi.com";
pub const DROPBOX_OAUTH_BASE: &str = "https://api.dropboxapi.com";
/// Python SDK's default socket timeout: no byte for this long means the call failed.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(100);
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Extra time on top of the longpoll timeout and Dropbox's up to 90 s jitter.
const LONGPOLL_GRACE: Duration = Duration::from_secs(15);

/// Base URLs (scheme and host, optionally a port, no trailing `/2/`) of each Dropbox host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
    pub api: String,
    pub content: String,
    pub notify: String,
    /// Serves `/oauth2/token`.
    pub oauth: String,
}

impl Default for Endpoints {
    fn default() -> Self {
        Endpoints {
            api: DROPBOX_API_BASE.into(),
            content: DROPBOX_CONTENT_BASE.into(),
            notify: DROPBOX_NOTIFY_BASE.into(),
            oauth: DROPBOX_OAUTH_BASE.into(),
        }
    }
}

impl Endpoints {
    /// Every host on one base URL, e.g. `http://127.0.0.1:8080` for the emulator.
    pub fn single(base: &str) -> Self {
        let base = base.trim_end_matches('/').to_owned();
        Endpoints {
            api: base.clone(),
            content: base.clone(),
            notify: base.clone(),
            oauth: base,
        }
    }
}

#[derive(Clone, Debug)]
pub struct ClientConfig {
    pub endpoints: Endpoints,
    pub retry: RetryPolicy,
    pub connect_timeout: Duration,
    /// Longest silence while reading an answer (longpolls get their own, longer limit).
    pub read_timeout: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            endpoints: Endpoints::default(),
            retry: RetryPolicy::default(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            read_timeout: DEFAULT_READ_TIMEOUT,
        }
    }
}

impl ClientConfig {
    pub fn with_endpoints(endpoints: Endpoints) -> Self {
        ClientConfig {
            endpoints,
            ..ClientConfig::default()
        }
    }
}

/// A client for one Dropbox link. Clients of the same Dropbox account share one [`Pacer`]
/// (and usually one [`TokenSource`]).
pub struct ApiClient {
    http: reqwest::Client,
    /// Without a read timeout: a longpoll is silent by design; it gets a per-request limit.
    notify_http: reqwest::Client,
    endpoints: Endpoints,
    retry: RetryPolicy,
    tokens: Arc<TokenSource>,
    pacer: Arc<Pacer>,
}

impl fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiClient")
            .field("endpoints", &self.endpoints)
            .field("pacer", &self.pacer)
            .finish()
    }
}

impl ApiClient {
    pub fn new(
        config: ClientConfig,
        tokens: Arc<TokenSource>,
        pacer: Arc<Pacer>,
    ) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .build()?;
        let notify_http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .build()?;
        Ok(ApiClient {
            http,
            notify_http,
            endpoints: config.endpoints,
            retry: config.retry,
            tokens,
            pacer,
        })
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// The account's rate gate (for `rate_limited_until` in the UI).
    pub fn pacer(&self) -> &Arc<Pacer> {
        &self.pacer
    }

    pub fn tokens(&self) -> &Arc<TokenSource> {
        &self.tokens
    }
}

/// The whole-request limit of a longpoll with `timeout_secs`: the server may answer up to 90 s
/// after the timeout.
pub fn longpoll_request_timeout(timeout_secs: u64) -> Duration {
    Duration::from_secs(timeout_secs + LONGPOLL_JITTER_MAX_SECS) + LONGPOLL_GRACE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longpoll_waits_past_dropbox_jitter() {
        assert!(longpoll_request_timeout(30) >= Duration::from_secs(120));
        assert!(longpoll_request_timeout(480) >= Duration::from_secs(570));
    }

    #[test]
    fn single_endpoint_serves_every_host() {
        let endpoints = Endpoints::single("http://127.0.0.1:9/");
        assert_eq!(endpoints.api, "http://127.0.0.1:9");
        assert_eq!(endpoints.notify, endpoints.oauth);
        assert_eq!(Endpoints::default().notify, "https://notify.dropboxapi.com");
    }
}
