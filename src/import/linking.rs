//! Linking an account to Dropbox: make sure its folder exists (named after the account), then
//! record the link. Permission is checked before anything is touched, in Dropbox or here.

use std::path::Path;
use std::sync::Arc;

use crate::dropbox::api::{ApiClient, ClientConfig};
use crate::dropbox::auth::{OAuthClient, Pkce, TokenSource, authorize_url_at};
use crate::dropbox::backend::{BackendError, DropboxBackend};
use crate::dropbox::folder_name::{downloads_folder_path, folder_path_for};
use crate::dropbox::local::{LocalFolder, LocalSettings};
use crate::dropbox::token_file;
use crate::import::backends::BackendSettings;
use crate::library::Library;
use crate::library::error::LibraryError;
use crate::library::permissions::Actor;
use crate::library::store::links::{BackendKind, LinkRecord, NewConnection};

/// Where API token files live, inside the data dir.
pub const TOKEN_DIR: &str = "tokens";

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error(transparent)]
    Library(#[from] LibraryError),
    #[error("Dropbox: {0}")]
    Dropbox(#[from] BackendError),
    #[error("{0}")]
    Setup(String),
}

impl LinkError {
    pub fn exit_code(&self) -> i32 {
        match self {
            LinkError::Library(e) => e.exit_code(),
            LinkError::Dropbox(_) => crate::library::error::EXIT_RUNTIME_FAILURE,
            LinkError::Setup(_) => crate::library::error::EXIT_BAD_USAGE,
        }
    }
}

/// Refuses an account folder that is another account's downloads folder on the same Dropbox:
/// importing from it would take in (and delete) what that account sent out.
fn refuse_a_downloads_folder(
    library: &Library,
    dropbox_account_id: &str,
    folder_path: &str,
) -> Result<(), LinkError> {
    let live = crate::library::store::links::live_links(library.store().connection())
        .map_err(LibraryError::from)?;
    match live.iter().find(|other| {
        other.dropbox_account_id == dropbox_account_id
            && downloads_folder_path(&other.folder_path).to_lowercase()
                == folder_path.to_lowercase()
    }) {
        Some(other) => Err(LinkError::Setup(format!(
            "the Dropbox folder {folder_path:?} is where {:?} sends files back to; importing from it \
             would take them in; rename this account",
            other.account_name
        ))),
        None => Ok(()),
    }
}

/// Link `account` to a Dropbox-synced folder on this machine.
pub async fn link_local_folder(
    library: &mut Library,
    actor: &Actor,
    account: &str,
    root: &Path,
    settings: LocalSettings,
) -> Result<LinkRecord, LinkError> {
    let account = library.account_for_linking(actor, account)?;
    let folder = LocalFolder::open(root, settings).map_err(|e| {
        LinkError::Setup(format!(
            "{} cannot be used as the synced Dropbox folder: {e}",
            root.display()
        ))
    })?;
    let who = folder.current_account().await?;
    let folder_path = folder_path_for(&account.name);
    refuse_a_downloads_folder(library, &who.account_id, &folder_path)?;
    folder.ensure_folder(&folder_path).await?;
    let root_text = folder.root().to_string_lossy().into_owned();
    let connection = NewConnection {
        dropbox_account_id: &who.account_id,
        email: who.email.as_deref(),
        backend: BackendKind::Local,
        token_ref: None,
        root_path: Some(&root_text),
        authorized_by: actor.admin.id,
    };
    Ok(library.record_link(actor, &account, &connection, &folder_path)?)
}

/// The first half of the API flow: the page the admin opens, and the secret to finish with.
pub struct ApiLinkStart {
    pub url: String,
    pub pkce: Pkce,
}

pub fn start_api_link(app_key: &str, authorize_base: &str) -> Result<ApiLinkStart, LinkError> {
    let pkce = Pkce::generate().map_err(|e| LinkError::Setup(e.to_string()))?;
    let url = authorize_url_at(authorize_base, app_key, pkce.challenge(), None);
    Ok(ApiLinkStart { url, pkce })
}

/// The second half: trade the pasted code for tokens, store them (0600), create the account
/// folder, record the link.
pub async fn finish_api_link(
    library: &mut Library,
    actor: &Actor,
    account: &str,
    code: &str,
    start: &ApiLinkStart,
    app_key: &str,
    settings: &BackendSettings,
) -> Result<LinkRecord, LinkError> {
    let account = library.account_for_linking(actor, account)?;
    let http = reqwest::Client::builder()
        .build()
        .map_err(|e| LinkError::Setup(e.to_string()))?;
    let oauth = OAuthClient::new(http, &settings.endpoints.oauth, app_key);
    let tokens = oauth
        .exchange_code(code, start.pkce.verifier())
        .await
        .map_err(BackendError::from)?;
    let source = Arc::new(TokenSource::new(oauth, tokens));
    let probe_pacer = settings.pacers.for_account("linking");
    let client = ApiClient::new(
        ClientConfig::with_endpoints(settings.endpoints.clone()),
        source.clone(),
        probe_pacer,
    )
    .map_err(|e| LinkError::Setup(e.to_string()))?;
    let who = client.current_account().await?;
    refuse_a_downloads_folder(library, &who.account_id, &folder_path_for(&account.name))?;
    let token_ref = format!("{TOKEN_DIR}/{}.json", safe_file_stem(&who.account_id));
    let token_dir = library.data_dir().join(TOKEN_DIR);
    // Only the owner may even list the token files.
    std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
        .create(&token_dir)
        .map_err(|e| LinkError::Setup(format!("cannot create {}: {e}", token_dir.display())))?;
    let token_path = library.data_dir().join(&token_ref);
    token_file::save_tokens(&token_path, &source.snapshot().await)
        .map_err(|e| LinkError::Setup(e.to_string()))?;
    let folder_path = folder_path_for(&account.name);
    client.ensure_folder(&folder_path).await?;
    let connection = NewConnection {
        dropbox_account_id: &who.account_id,
        email: who.email.as_deref(),
        backend: BackendKind::Api,
        token_ref: Some(&token_ref),
        root_path: None,
        authorized_by: actor.admin.id,
    };
    Ok(library.record_link(actor, &account, &connection, &folder_path)?)
}

/// Rename an account and move its Dropbox folder to the new name. The folder moves first; if
/// the library then refuses, it is moved back. Refused while an import engine runs on this
/// library (it would keep listing the old folder).
pub async fn rename_account(
    library: &mut Library,
    actor: &Actor,
    old: &str,
    new: &str,
    settings: &BackendSettings,
) -> Result<crate::library::model::Account, LinkError> {
    let (account, new_name) = library.check_rename(actor, old, new)?;
    let _engine = crate::import::lock::EngineLock::acquire(library.data_dir())
        .map_err(|e| LinkError::Setup(e.to_string()))?;
    let link = crate::library::store::links::live_link_of(library.store().connection(), account.id)
        .map_err(LibraryError::from)?;
    let Some(link) = link else {
        return Ok(library.rename_account(actor, old, &new_name, None)?);
    };
    let new_folder = folder_path_for(&new_name);
    refuse_a_downloads_folder(library, &link.dropbox_account_id, &new_folder)?;
    if new_folder == link.folder_path {
        return Ok(library.rename_account(actor, old, &new_name, None)?);
    }
    let backend = crate::import::backends::AnyBackend::open(&link, settings, library.data_dir())?;
    match backend.move_entry(&link.folder_path, &new_folder).await {
        Ok(_) => {}
        // The folder was removed in Dropbox: the new one is simply made.
        Err(BackendError::NotFound { .. }) => {
            backend.ensure_folder(&new_folder).await?;
        }
        Err(BackendError::Conflict { .. }) => {
            return Err(LinkError::Setup(format!(
                "Dropbox already has a folder {new_folder:?}; move or rename it there first, then rename the account"
            )));
        }
        Err(e) => return Err(e.into()),
    }
    match library.rename_account(
        actor,
        old,
        &new_name,
        Some((&link.folder_path, &new_folder)),
    ) {
        Ok(renamed) => Ok(renamed),
        Err(e) => {
            let _ = backend.move_entry(&new_folder, &link.folder_path).await;
            Err(e.into())
        }
    }
}

/// A file name made from an account id (`dbid:AAB-x` → `dbid_AAB-x`).
fn safe_file_stem(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
