//! A Dropbox API v2 emulator for tests and benchmarks (ARCHITECTURE.md, "Tests"): one HTTP (or, with `EmulatorConfig::tls`, HTTPS) listener serving the api, content and
//! notify hosts plus `/oauth2/token` by path, with several accounts whose app folders are real
//! directories, and deterministic fault injection.
//!
//! Routes: `users/get_current_account`, `files/list_folder` (+`/continue`,
//! `/get_latest_cursor`, `/longpoll`), `files/get_metadata`, `files/download`, `files/upload`,
//! `files/upload_session/{start,append_v2,finish,finish_batch_v2}`, `files/create_folder_v2`,
//! `files/delete_v2`, `files/delete_batch` (+`/check`), `sharing/create_shared_link_with_settings`,
//! `sharing/list_shared_links` and `/oauth2/token`; test controls under `/__emulator/` (faults, codes, rescan, expire_tokens).
//! For tests, the handle also tells what was served: every call answered, when, with which
//! status and fault (`calls`), a tally of the faults fired (`faults_served`) and every token
//! ever issued (`issued_tokens`).
//!
//! Choices where Dropbox is undocumented: a `parent_rev` mismatch is
//! `path_write/conflict/file`; an unsatisfiable Range is 416 with `Content-Range: bytes */N`.
//!
//! Checked against the official Python SDK (`dropbox==12.2.4`) over HTTPS by
//! `tests/sdk_fidelity/` (every response must also decode with the SDK's strict decoder). The
//! SDK needs 40-character account ids (`dbid:` + 35); the emulator serves shorter ones too.
//!
//! Known gaps: no copies, no concurrent upload sessions, no `finish_batch` (v1) or
//! `finish_batch/check`, no shared-link settings (every link is public, view-only), sessions and
//! links live in memory only; no `arg=`/`authorization=` URL parameters
//! or GET downloads; no scopes; ids survive on-disk renames only when the scanner can match
//! inodes; NFC and NFD spellings are distinct names; cursors and batch jobs live in memory only
//! (ids and revisions are saved on shutdown); a file changed on disk behind the emulator's back
//! loses its previous revision's bytes.

// Handlers and their helpers short-circuit with a ready `Response` as the error, the usual axum
// shape; boxing it would only add noise to a test double's request path.
#![allow(clippy::result_large_err)]

mod admin;
mod auth;
pub mod call_log;
pub mod config;
mod download;
pub mod faults;
mod http;
mod ids;
mod listing;
mod paths;
mod routes;
mod scan;
mod sharing;
mod state;
mod tls;
mod upload_sessions;
mod writes;

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use auth::pkce_challenge;
pub use call_log::ServedCall;
pub use config::{AccountConfig, AuthCodeConfig, ConfigError, EmulatorConfig, TlsConfig};
pub use faults::{CallFault, FaultConfig, FaultsServed};

use auth::Tokens;
use call_log::CallLog;
use faults::FaultState;
use state::Store;

/// When a route first looks at the disk for files placed there directly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Freshness {
    /// Listing routes: always.
    Always,
    /// Other routes: when `rescan_on_every_call` is on.
    IfConfigured,
}

/// State shared by all handlers. Store work runs on the blocking pool (it touches the disk).
#[derive(Debug)]
struct Shared {
    config: EmulatorConfig,
    store: Arc<Mutex<Store>>,
    tokens: Mutex<Tokens>,
    faults: Mutex<FaultState>,
    calls: Mutex<CallLog>,
}

/// A poisoned lock only means another request panicked; the data is still consistent enough
/// for a test double, so keep serving.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    async fn with_store<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Store) -> T + Send + 'static,
    ) -> T {
        let store = Arc::clone(&self.store);
        match tokio::task::spawn_blocking(move || work(&mut lock(&store))).await {
            Ok(value) => value,
            Err(join_error) => std::panic::resume_unwind(join_error.into_panic()),
        }
    }

    /// Runs `work` on the store for one account, after a rescan if `freshness` asks for one.
    async fn with_account<T: Send + 'static>(
        &self,
        account: String,
        freshness: Freshness,
        work: impl FnOnce(&mut Store, &str) -> T + Send + 'static,
    ) -> Result<T, axum::response::Response> {
        let rescan = freshness == Freshness::Always || self.config.rescan_on_every_call;
        self.with_store(move |store| {
            if rescan {
                store.rescan(&account)?;
            }
            Ok(work(store, &account))
        })
        .await
        .map_err(|error: io::Error| http::internal_error(&error.to_string()))
    }
}

pub struct Emulator;

impl Emulator {
    /// Serves `config` on 127.0.0.1 with a free port; returns `http://127.0.0.1:PORT`, or
    /// `https://…` when `config.tls` is set.
    pub async fn start(config: EmulatorConfig) -> io::Result<(String, EmulatorHandle)> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        Self::serve(config, listener).await
    }

    /// Serves `config` on an already bound listener.
    pub async fn serve(
        config: EmulatorConfig,
        listener: TcpListener,
    ) -> io::Result<(String, EmulatorHandle)> {
        config
            .validate()
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error))?;
        let address = listener.local_addr()?;
        // Certificate problems surface here, before anything is served.
        let tls = config.tls.as_ref().map(tls::server_config).transpose()?;
        let store = {
            let config = config.clone();
            tokio::task::spawn_blocking(move || Store::open(&config))
                .await
                .map_err(io::Error::other)??
        };
        let shared = Arc::new(Shared {
            tokens: Mutex::new(Tokens::new(&config)),
            faults: Mutex::new(FaultState::new(config.faults.clone())),
            calls: Mutex::new(CallLog::default()),
            store: Arc::new(Mutex::new(store)),
            config,
        });
        let app = router(Arc::clone(&shared));
        let (stop, stopped) = oneshot::channel::<()>();
        let stopped = async {
            let _ = stopped.await;
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let task = match tls {
            Some(tls) => {
                let listener = tls::TlsListener::new(listener, tls)?;
                tokio::spawn(async move {
                    let _ = axum::serve(listener, app)
                        .with_graceful_shutdown(stopped)
                        .await;
                })
            }
            None => tokio::spawn(async move {
                // Like Dropbox's front ends (and the TLS listener): no Nagle delay. Without it, a
                // response on a kept-alive connection waits for the client's delayed ACK (~40 ms
                // on Linux) before its last partial segment goes out.
                let listener = listener.tap_io(|tcp| {
                    let _ = tcp.set_nodelay(true);
                });
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(stopped)
                    .await;
            }),
        };
        let handle = EmulatorHandle {
            shared,
            task,
            stop: Some(stop),
        };
        Ok((format!("{scheme}://{address}"), handle))
    }
}

fn router(shared: Arc<Shared>) -> Router {
    /// Room for a maximal upload plus one byte, so the route itself can say
    /// `payload_too_large` for anything just over the limit.
    const BODY_LIMIT: usize = crate::dropbox::wire::UPLOAD_MAX_BYTES as usize + 1;
    routes::api_routes()
        .merge(upload_sessions::routes())
        .merge(sharing::routes())
        .merge(admin::admin_routes())
        .fallback(routes::unknown_route)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&shared),
            admin::inject_faults,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(shared)
}

/// Controls a running emulator; dropping it stops the server.
pub struct EmulatorHandle {
    shared: Arc<Shared>,
    task: JoinHandle<()>,
    stop: Option<oneshot::Sender<()>>,
}

impl EmulatorHandle {
    /// The directory holding `account_id`'s app folder: put files there to simulate a user
    /// dropping them into Dropbox (the emulator notices on the next list call or rescan).
    pub fn account_dir(&self, account_id: &str) -> Option<PathBuf> {
        lock(&self.shared.store).account_dir(account_id)
    }

    pub fn set_faults(&self, faults: FaultConfig) {
        lock(&self.shared.faults).replace(faults);
    }

    /// How many of each fault have been served since the emulator started.
    pub fn faults_served(&self) -> FaultsServed {
        lock(&self.shared.faults).served()
    }

    /// Every call answered so far (test controls aside), oldest first.
    pub fn calls(&self) -> Vec<ServedCall> {
        lock(&self.shared.calls).calls()
    }

    /// The paths of calls that have arrived and are not answered yet (e.g. a waiting longpoll).
    pub fn calls_in_flight(&self) -> Vec<String> {
        lock(&self.shared.calls).in_flight()
    }

    /// Every access and refresh token this emulator has ever issued or been configured with,
    /// expired and refused ones included: what a secrets check must look for.
    pub fn issued_tokens(&self) -> Vec<String> {
        lock(&self.shared.tokens).issued()
    }

    pub fn register_code(&self, code: AuthCodeConfig) {
        lock(&self.shared.tokens).register_code(code);
    }

    /// Expires the access tokens of one account (or all) right now.
    pub fn expire_tokens(&self, account_id: Option<&str>) {
        lock(&self.shared.tokens).expire_now(account_id);
    }

    pub fn rescan(&self) -> io::Result<()> {
        lock(&self.shared.store).rescan_all()
    }

    /// Stops accepting connections, waits for open ones to finish and saves the index (ids
    /// and revisions) so a restart over the same root keeps them.
    pub async fn shutdown(mut self) -> io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
        self.shared.with_store(|store| store.save_index()).await
    }

    /// Runs until the server task ends (for the binary).
    pub async fn wait(mut self) {
        let _ = (&mut self.task).await;
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}
