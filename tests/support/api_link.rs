//! Linking an account through the Dropbox API emulator the way an admin does (authorize URL,
//! PKCE, the code pasted back), for tests that need an API link to work against.

use smartimage::dropbox::emulator::{AuthCodeConfig, EmulatorHandle};
use smartimage::import::backends::BackendSettings;
use smartimage::import::linking::{finish_api_link, start_api_link};
use smartimage::library::Library;
use smartimage::library::permissions::Actor;

/// Links `account` to the emulator's Dropbox account `dropbox_id` as `actor`; returns the
/// settings that reach the emulator.
pub async fn link_through_emulator(
    library: &mut Library,
    actor: &Actor,
    account: &str,
    (base, emulator): (&str, &EmulatorHandle),
    dropbox_id: &str,
    app_key: &str,
) -> BackendSettings {
    let start = start_api_link(app_key, &format!("{base}/oauth2/authorize")).unwrap();
    emulator.register_code(AuthCodeConfig {
        code: "code".into(),
        account_id: dropbox_id.into(),
        code_challenge: Some(start.pkce.challenge().to_owned()),
    });
    let settings = BackendSettings {
        endpoints: smartimage::dropbox::api::Endpoints::single(base),
        app_key: Some(app_key.into()),
        ..BackendSettings::default()
    };
    finish_api_link(library, actor, account, "code", &start, app_key, &settings)
        .await
        .unwrap();
    settings
}
