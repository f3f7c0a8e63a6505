//! What an admin asks of the console beyond moving around: link, unlink, pause, delegate,
//! retry. Each runs off the UI task through the same library and engine-layer functions the CLI
//! verbs call (`cli/linking.rs`, `cli/people.rs`, `cli/importing.rs`), so permissions, checks
//! and audit rows are the CLI's exactly. The outcome comes back as one sentence.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::import::events::EngineEvent;
use crate::import::linking::{self, ApiLinkStart};
use crate::import::upload;
use crate::library::Library;
use crate::library::local_source::UploadOptions;
use crate::library::store::import_items::ItemId;
use crate::library::store::links::{LinkRecord, LinkState};

use super::ConsoleOptions;
use super::error::ConsoleError;

/// Text that must never reach a log or a debug print (the Dropbox authorization code).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsoleAction {
    /// `smartimage link --account A --local-folder DIR`
    LinkFolder { account: String, root: PathBuf },
    /// The second half of `smartimage link --account A --api`: the code the admin pasted.
    FinishApiLink { account: String, code: Secret },
    /// `smartimage unlink|pause|resume --account A`
    SetLinkState { account: String, state: LinkState },
    /// `smartimage delegate EMAIL --account A [--revoke]`
    Delegate {
        account: String,
        email: String,
        revoke: bool,
    },
    /// `smartimage retry --account A [ITEM_ID...]` (no ids = all of the account's failures).
    Retry { account: String, items: Vec<ItemId> },
    /// `smartimage upload --account A PATH...`; each file is reported as an engine event.
    Upload {
        account: String,
        paths: Vec<PathBuf>,
    },
}

impl ConsoleAction {
    /// What the footer says while it runs.
    pub fn in_progress(&self) -> String {
        match self {
            ConsoleAction::LinkFolder { account, .. } => format!("linking {account}…"),
            ConsoleAction::FinishApiLink { account, .. } => {
                format!("linking {account} through Dropbox…")
            }
            ConsoleAction::SetLinkState { account, state } => {
                format!("{} {account}…", state_verb(*state))
            }
            ConsoleAction::Delegate {
                account,
                email,
                revoke,
            } => {
                if *revoke {
                    format!("revoking {email} for {account}…")
                } else {
                    format!("delegating {account} to {email}…")
                }
            }
            ConsoleAction::Retry { account, .. } => format!("retrying failures of {account}…"),
            ConsoleAction::Upload { account, .. } => format!("uploading to {account}…"),
        }
    }

    /// Whether the engine should look at its links again once this succeeded.
    pub fn wakes_engine(&self) -> bool {
        !matches!(
            self,
            ConsoleAction::Delegate { .. } | ConsoleAction::Upload { .. }
        )
    }
}

fn state_verb(state: LinkState) -> &'static str {
    match state {
        LinkState::Unlinked => "unlinking",
        LinkState::Paused => "pausing",
        _ => "resuming",
    }
}

/// API links started (URL shown) and waiting for their code, by account. The PKCE verifier
/// stays here, off the UI state, and is used once.
#[derive(Clone, Default)]
pub struct ApiLinkSessions {
    started: Arc<Mutex<HashMap<String, ApiLinkStart>>>,
}

impl ApiLinkSessions {
    pub fn insert(&self, account: &str, start: ApiLinkStart) {
        if let Ok(mut started) = self.started.lock() {
            started.insert(account.to_owned(), start);
        }
    }

    fn take(&self, account: &str) -> Option<ApiLinkStart> {
        self.started.lock().ok()?.remove(account)
    }

    pub fn forget(&self, account: &str) {
        let _ = self.take(account);
    }
}

/// Run `action` as the console's admin. Blocking (disk, and Dropbox for links): call it from
/// `spawn_blocking`. `Ok` is the sentence to show; `Err` says what went wrong and what to do.
/// Logged (the code of an API link shows as `Secret(…)`). An upload reports each file to
/// `events`, as the engine reports imports.
pub fn run(
    options: &ConsoleOptions,
    sessions: &ApiLinkSessions,
    runtime: &tokio::runtime::Handle,
    action: ConsoleAction,
    events: &dyn Fn(EngineEvent),
) -> Result<String, ConsoleError> {
    tracing::info!(?action, "console action");
    let outcome = run_unlogged(options, sessions, runtime, action, events);
    match &outcome {
        Ok(message) => tracing::info!(%message, "console action done"),
        Err(why) => tracing::warn!(%why, "console action failed"),
    }
    outcome
}

fn run_unlogged(
    options: &ConsoleOptions,
    sessions: &ApiLinkSessions,
    runtime: &tokio::runtime::Handle,
    action: ConsoleAction,
    events: &dyn Fn(EngineEvent),
) -> Result<String, ConsoleError> {
    let mut library = Library::open_existing(&options.data_dir, options.plans.clone())
        .map_err(|e| ConsoleError::OpenLibrary(e.to_string()))?;
    let actor = library
        .actor(options.as_admin.as_deref(), options.os_user.as_deref())
        .map_err(|e| ConsoleError::UnknownAdmin(e.to_string()))?;
    match action {
        ConsoleAction::LinkFolder { account, root } => {
            let link = runtime
                .block_on(linking::link_local_folder(
                    &mut library,
                    &actor,
                    &account,
                    &root,
                    options.engine.backends.local,
                ))
                .map_err(|e| ConsoleError::Link(e.to_string()))?;
            Ok(describe(&link))
        }
        ConsoleAction::FinishApiLink { account, code } => {
            let start = sessions
                .take(&account)
                .ok_or_else(|| ConsoleError::LinkNotStarted {
                    account: account.clone(),
                })?;
            let settings = &options.engine.backends;
            let app_key = settings
                .app_key
                .clone()
                .ok_or(ConsoleError::MissingAppKey)?;
            let link = runtime.block_on(linking::finish_api_link(
                &mut library,
                &actor,
                &account,
                code.expose().trim(),
                &start,
                &app_key,
                settings,
            ));
            match link {
                Ok(link) => Ok(describe(&link)),
                Err(e) => {
                    // A wrong or mistyped code: the same page takes another one.
                    sessions.insert(&account, start);
                    Err(code_refused(&e).unwrap_or_else(|| ConsoleError::Link(e.to_string())))
                }
            }
        }
        ConsoleAction::SetLinkState { account, state } => {
            let link = library
                .set_link_state(&actor, &account, state)
                .map_err(|e| ConsoleError::Refused(e.to_string()))?;
            Ok(match state {
                LinkState::Unlinked => format!(
                    "{} is unlinked; its files stay in All Files, nothing in Dropbox was touched",
                    link.account_name
                ),
                LinkState::Paused => format!(
                    "{} is paused: nothing is imported until it is resumed",
                    link.account_name
                ),
                _ => format!("{} is resumed", link.account_name),
            })
        }
        ConsoleAction::Delegate {
            account,
            email,
            revoke,
        } => {
            let changed = library
                .delegate(&actor, &email, &account, revoke)
                .map_err(|e| ConsoleError::Refused(e.to_string()))?;
            Ok(match (revoke, changed) {
                (false, true) => format!("{email} may now link Dropbox for {account}"),
                (false, false) => format!("{email} was already delegated for {account}"),
                (true, true) => format!("{email} may no longer link Dropbox for {account}"),
                (true, false) => format!("{email} had no delegation for {account}"),
            })
        }
        ConsoleAction::Retry { account, items } => {
            let n = library
                .retry_failures(&actor, Some(&account), &items)
                .map_err(|e| ConsoleError::Refused(e.to_string()))?;
            Ok(format!("{n} failed import(s) of {account} queued again"))
        }
        ConsoleAction::Upload { account, paths } => {
            // The CLI's defaults: duplicates skipped, links not followed.
            let done = upload::upload(
                &mut library,
                &actor,
                &account,
                &paths,
                UploadOptions::default(),
                events,
            )
            .map_err(ConsoleError::Upload)?;
            Ok(format!(
                "uploaded {} file(s) ({}) to {account}; {} skipped (already in the library, or links), {} rejected, {} failed (see the error log); the source files were not changed",
                done.uploaded,
                super::text::bytes(done.uploaded_bytes),
                done.skipped,
                done.rejected,
                done.failed
            ))
        }
    }
}

/// What to tell an admin whose authorization code Dropbox refused, in one sentence: the
/// library's error says the link must be authorized again, which is not what happened (the
/// full error goes to the log). `None` for any other failure.
fn code_refused(error: &linking::LinkError) -> Option<ConsoleError> {
    use crate::dropbox::backend::BackendError;
    let linking::LinkError::Dropbox(BackendError::NeedsReauth { .. }) = error else {
        return None;
    };
    tracing::warn!(%error, "Dropbox refused the authorization code");
    Some(ConsoleError::CodeRefused)
}

/// Without an app key there is no API link to start.
pub fn missing_app_key() -> String {
    ConsoleError::MissingAppKey.to_string()
}

fn describe(link: &LinkRecord) -> String {
    format!(
        "{} is linked to {}; its folder there is {}",
        link.account_name,
        link.place(),
        link.folder_path
    )
}

/// Start the API flow for `account`: the page to open. The verifier is kept in `sessions`.
pub fn start_api_link(
    options: &ConsoleOptions,
    sessions: &ApiLinkSessions,
    account: &str,
) -> Result<String, ConsoleError> {
    let app_key = options
        .engine
        .backends
        .app_key
        .as_deref()
        .ok_or(ConsoleError::MissingAppKey)?;
    let start = linking::start_api_link(app_key, crate::dropbox::auth::DROPBOX_AUTHORIZE_URL)
        .map_err(|e| ConsoleError::Link(e.to_string()))?;
    let url = start.url.clone();
    sessions.insert(account, start);
    Ok(url)
}

/// Whether a browser could open here: a graphical session. Over plain SSH a launcher would
/// find no browser (or start a text one on our terminal), so the URL and QR code must do.
pub fn can_open_a_browser() -> bool {
    cfg!(target_os = "macos")
        || ["DISPLAY", "WAYLAND_DISPLAY"]
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|v| !v.is_empty()))
}
