//! Verbs that connect accounts to Dropbox: link (synced folder or API), unlink, pause, resume.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use smartimage::config::Config;
use smartimage::dropbox::api::Endpoints;
use smartimage::dropbox::auth::DROPBOX_AUTHORIZE_URL;
use smartimage::import::backends::BackendSettings;
use smartimage::import::linking::{self, LinkError};
use smartimage::library::store::links::{LinkRecord, LinkState};

use super::{Context, Failure, Outcome};

pub const APP_KEY_ENV: &str = "SMARTIMAGE_DROPBOX_APP_KEY";

impl From<LinkError> for Failure {
    fn from(e: LinkError) -> Self {
        Failure {
            message: e.to_string(),
            code: e.exit_code() as u8,
        }
    }
}

pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::runtime(format!("cannot start the async runtime: {e}")))
}

/// Backend settings from the config file (and the environment for the app key).
pub fn backend_settings(config: &Config, app_key_flag: Option<String>) -> BackendSettings {
    let mut settings = BackendSettings::default();
    if let Some(base) = &config.dropbox.endpoint {
        settings.endpoints = Endpoints::single(base);
    }
    settings.app_key = app_key_flag
        .or_else(|| std::env::var(APP_KEY_ENV).ok().filter(|k| !k.is_empty()))
        .or_else(|| config.dropbox.app_key.clone());
    settings
}

fn describe(link: &LinkRecord) -> String {
    format!(
        "{:?} is linked to {}; its folder there is {:?}",
        link.account_name,
        link.place(),
        link.folder_path
    )
}

pub fn link(
    cx: &mut Context,
    config: &Config,
    account: &str,
    local_folder: Option<PathBuf>,
    app_key: Option<String>,
) -> Outcome {
    let actor = cx.actor()?;
    // Refuse before any prompt or network call.
    cx.library.account_for_linking(&actor, account)?;
    let rt = runtime()?;
    let link = match local_folder {
        Some(root) => rt.block_on(linking::link_local_folder(
            &mut cx.library,
            &actor,
            account,
            &root,
            Default::default(),
        ))?,
        None => {
            let settings = backend_settings(config, app_key);
            let app_key = settings.app_key.clone().ok_or_else(|| {
                Failure::usage(format!(
                    "linking through the Dropbox API needs the app key: pass --app-key KEY, set {APP_KEY_ENV}, or set [dropbox] app_key in the config file"
                ))
            })?;
            let start = linking::start_api_link(&app_key, DROPBOX_AUTHORIZE_URL)?;
            println!(
                "1. Open this page in a browser and allow access (sign in as the Dropbox account to link):\n\n   {}\n",
                start.url
            );
            let _ = open::that_detached(&start.url);
            print!("2. Paste the code Dropbox shows: ");
            let _ = std::io::stdout().flush();
            let mut code = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut code)
                .map_err(|e| Failure::runtime(format!("cannot read the code: {e}")))?;
            if code.trim().is_empty() {
                return Err(Failure::usage("no code was pasted; nothing was linked"));
            }
            if !std::io::stdin().is_terminal() {
                println!();
            }
            rt.block_on(linking::finish_api_link(
                &mut cx.library,
                &actor,
                account,
                code.trim(),
                &start,
                &app_key,
                &settings,
            ))?
        }
    };
    println!("{}", describe(&link));
    println!(
        "Files dropped into that folder are imported by `smartimage import` (or the console)."
    );
    Ok(())
}

pub fn set_state(cx: &mut Context, account: &str, state: LinkState) -> Outcome {
    let actor = cx.actor()?;
    let link = cx.library.set_link_state(&actor, account, state)?;
    let what = match state {
        LinkState::Unlinked => {
            "unlinked from Dropbox; files already imported stay in All Files, nothing in Dropbox was touched"
        }
        LinkState::Paused => "paused: nothing is imported until it is resumed",
        _ => "resumed",
    };
    println!("{:?} is {what}", link.account_name);
    Ok(())
}

/// `account rename`: the account and its Dropbox folder.
pub fn rename_account(cx: &mut Context, config: &Config, old: &str, new: &str) -> Outcome {
    let actor = cx.actor()?;
    let settings = backend_settings(config, None);
    let account = runtime()?.block_on(linking::rename_account(
        &mut cx.library,
        &actor,
        old,
        new,
        &settings,
    ))?;
    println!("Renamed {old:?} to {:?}", account.name);
    if let Some(link) =
        smartimage::library::store::links::live_link_of(cx.library.store().connection(), account.id)
            .map_err(|e| Failure::runtime(e.to_string()))?
    {
        println!("Its Dropbox folder is now {:?}", link.folder_path);
    }
    Ok(())
}
