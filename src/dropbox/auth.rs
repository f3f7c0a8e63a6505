//! OAuth 2 for the Dropbox link: the PKCE no-redirect code flow (the admin opens
//! the authorize URL and pastes the code back), refresh tokens, and the [`TokenSource`] every
//! API call asks for a bearer token. Secrets never show in `Debug`, `Display` or errors.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::dropbox::api::RetryPolicy;
use crate::dropbox::backend::BackendError;
use crate::dropbox::token_file;
use crate::dropbox::wire::{OAuthError, TokenResponse};

/// Where the admin's browser authorizes the app.
pub const DROPBOX_AUTHORIZE_URL: &str = "https://www.dropbox.com/oauth2/authorize";
/// Refresh this long before the access token expires, as the Python SDK does.
pub const PROACTIVE_REFRESH_WINDOW: Duration = Duration::from_secs(300);
/// RFC 7636 §4.1 bounds of a code verifier.
pub const PKCE_VERIFIER_MIN_LEN: usize = 43;
pub const PKCE_VERIFIER_MAX_LEN: usize = 128;
/// 96 random bytes are exactly 128 base64url characters, the longest verifier allowed.
const PKCE_VERIFIER_RANDOM_BYTES: usize = 96;
const OAUTH_TOKEN_PATH: &str = "/oauth2/token";
const INVALID_GRANT: &str = "invalid_grant";
const REDACTED: &str = "[redacted]";

/// A token or verifier. Shows as `[redacted]`; call [`Secret::expose`] where it must go on the
/// wire or to disk.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({REDACTED})")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// What a link keeps to call Dropbox: the short-lived access token, when it expires, and the
/// long-lived refresh token (absent for a fixed token, which then cannot be renewed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    pub access_token: Secret,
    #[serde(with = "time::serde::timestamp")]
    pub expires_at: OffsetDateTime,
    #[serde(default)]
    pub refresh_token: Option<Secret>,
    #[serde(default)]
    pub account_id: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
}

impl Tokens {
    /// The tokens of a code exchange received at `now`.
    pub fn from_exchange(response: TokenResponse, now: OffsetDateTime) -> Result<Self, TokenError> {
        let refresh_token = response
            .refresh_token
            .ok_or(TokenError::MissingRefreshToken)?;
        Ok(Tokens {
            access_token: Secret(response.access_token),
            expires_at: now + Duration::from_secs(response.expires_in),
            refresh_token: Some(Secret(refresh_token)),
            account_id: response.account_id,
            scope: response.scope,
        })
    }

    /// A token that is used as is and never refreshed (tests, the emulator, legacy tokens).
    pub fn fixed(access_token: impl Into<String>) -> Self {
        Tokens {
            access_token: Secret(access_token.into()),
            expires_at: OffsetDateTime::now_utc() + Duration::from_secs(100 * 365 * 24 * 3600),
            refresh_token: None,
            account_id: None,
            scope: None,
        }
    }

    /// Take a refresh answer; Dropbox sends no new refresh token, so the old one stays.
    pub fn apply_refresh(&mut self, response: TokenResponse, now: OffsetDateTime) {
        self.access_token = Secret(response.access_token);
        self.expires_at = now + Duration::from_secs(response.expires_in);
        if let Some(refresh_token) = response.refresh_token {
            self.refresh_token = Some(Secret(refresh_token));
        }
        if response.scope.is_some() {
            self.scope = response.scope;
        }
    }

    /// Expires within `window` of `now` (or already has).
    pub fn expires_within(&self, window: Duration, now: OffsetDateTime) -> bool {
        self.expires_at - now <= window
    }
}

/// A PKCE pair: the verifier stays with us, the challenge goes into the authorize URL.
#[derive(Clone, Debug)]
pub struct Pkce {
    verifier: Secret,
    challenge: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PkceError {
    #[error(
        "a PKCE verifier must be {PKCE_VERIFIER_MIN_LEN} to {PKCE_VERIFIER_MAX_LEN} characters long, not {0}"
    )]
    BadLength(usize),
    #[error("a PKCE verifier may only contain A-Z, a-z, 0-9, '-', '.', '_' and '~'")]
    BadCharacter,
    #[error("the operating system could not provide randomness for PKCE: {0}")]
    NoRandomness(getrandom::Error),
}

impl Pkce {
    /// A fresh 128-character verifier from the OS random source.
    pub fn generate() -> Result<Self, PkceError> {
        let mut random = [0u8; PKCE_VERIFIER_RANDOM_BYTES];
        getrandom::fill(&mut random).map_err(PkceError::NoRandomness)?;
        Self::from_verifier(URL_SAFE_NO_PAD.encode(random))
    }

    pub fn from_verifier(verifier: impl Into<String>) -> Result<Self, PkceError> {
        let verifier = verifier.into();
        if !(PKCE_VERIFIER_MIN_LEN..=PKCE_VERIFIER_MAX_LEN).contains(&verifier.len()) {
            return Err(PkceError::BadLength(verifier.len()));
        }
        if !verifier.bytes().all(is_verifier_byte) {
            return Err(PkceError::BadCharacter);
        }
        let challenge = code_challenge(&verifier);
        Ok(Pkce {
            verifier: Secret(verifier),
            challenge,
        })
    }

    pub fn verifier(&self) -> &Secret {
        &self.verifier
    }

    pub fn challenge(&self) -> &str {
        &self.challenge
    }
}

/// RFC 7636 "unreserved" characters.
fn is_verifier_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// `S256`: base64url without padding of SHA-256 of the verifier's ASCII bytes.
pub fn code_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The page the admin opens to link Dropbox. Without `redirect_uri` Dropbox shows the code on the
/// page for the admin to paste back.
pub fn authorize_url(app_key: &str, challenge: &str, state: Option<&str>) -> String {
    authorize_url_at(DROPBOX_AUTHORIZE_URL, app_key, challenge, state)
}

/// [`authorize_url`] on another host (an emulator).
pub fn authorize_url_at(
    authorize_base: &str,
    app_key: &str,
    challenge: &str,
    state: Option<&str>,
) -> String {
    let mut params = vec![
        ("client_id", app_key),
        ("response_type", "code"),
        ("token_access_type", "offline"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ];
    if let Some(state) = state {
        params.push(("state", state));
    }
    match reqwest::Url::parse_with_params(authorize_base, &params) {
        Ok(url) => url.into(),
        // Only a malformed base can fail; show it rather than panic.
        Err(_) => format!("{authorize_base}?invalid-authorize-base"),
    }
}

/// Failures of the token endpoint.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The code or refresh token is no longer accepted (`invalid_grant`): the admin must link again.
    #[error(
        "Dropbox no longer accepts this authorization ({detail}); authorize the Dropbox link again"
    )]
    Reauthorize { detail: String },
    #[error("Dropbox returned no refresh token; authorize again (offline access is required)")]
    MissingRefreshToken,
    #[error("the Dropbox token endpoint refused the request (HTTP {status}): {detail}")]
    Refused { status: u16, detail: String },
    #[error("temporary failure at the Dropbox token endpoint: {detail}")]
    Transient { detail: String },
}

impl From<TokenError> for BackendError {
    fn from(error: TokenError) -> Self {
        match error {
            TokenError::Transient { detail } => BackendError::Transient { detail },
            other => BackendError::NeedsReauth {
                detail: other.to_string(),
            },
        }
    }
}

/// Talks to `<oauth>/oauth2/token` as a PKCE app: form posts, no client secret.
#[derive(Clone)]
pub struct OAuthClient {
    http: reqwest::Client,
    token_url: String,
    app_key: String,
    retry: RetryPolicy,
}

impl fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthClient")
            .field("token_url", &self.token_url)
            .field("app_key", &self.app_key)
            .finish()
    }
}

impl OAuthClient {
    /// `oauth_base` is `https://api.dropboxapi.com` for Dropbox itself.
    pub fn new(http: reqwest::Client, oauth_base: &str, app_key: impl Into<String>) -> Self {
        OAuthClient {
            http,
            token_url: format!("{}{OAUTH_TOKEN_PATH}", oauth_base.trim_end_matches('/')),
            app_key: app_key.into(),
            retry: RetryPolicy::default(),
        }
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Trade the code the admin pasted for tokens.
    pub async fn exchange_code(&self, code: &str, verifier: &Secret) -> Result<Tokens, TokenError> {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.trim()),
            ("client_id", &self.app_key),
            ("code_verifier", verifier.expose()),
        ];
        let response = self.post_form(&form).await?;
        Tokens::from_exchange(response, OffsetDateTime::now_utc())
    }

    /// A new access token; the answer carries no refresh token (keep the old one).
    pub async fn refresh(&self, refresh_token: &Secret) -> Result<TokenResponse, TokenError> {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
            ("client_id", &self.app_key),
        ];
        self.post_form(&form).await
    }

    async fn post_form(&self, form: &[(&str, &str)]) -> Result<TokenResponse, TokenError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let failure = match self.http.post(&self.token_url).form(form).send().await {
                Ok(response) => {
                    let status = response.status();
                    let body = match response.text().await {
                        Ok(body) => body,
                        Err(error) => {
                            self.retry_or_give_up(
                                attempt,
                                format!("reading the token answer: {}", error.without_url()),
                            )
                            .await?;
                            continue;
                        }
                    };
                    if status.is_success() {
                        return serde_json::from_str(&body).map_err(|error| TokenError::Refused {
                            status: status.as_u16(),
                            detail: format!("unreadable token answer: {error}"),
                        });
                    }
                    if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS
                    {
                        format!("HTTP {status}")
                    } else {
                        return Err(token_endpoint_refusal(status.as_u16(), &body));
                    }
                }
                Err(error) => error.without_url().to_string(),
            };
            self.retry_or_give_up(attempt, failure).await?;
        }
    }

    async fn retry_or_give_up(&self, attempt: u32, detail: String) -> Result<(), TokenError> {
        tracing::warn!(attempt, %detail, "Dropbox token endpoint failed");
        if attempt >= self.retry.transient_attempts {
            return Err(TokenError::Transient { detail });
        }
        tokio::time::sleep(self.retry.transient_backoff(attempt)).await;
        Ok(())
    }
}

/// A 4xx from the token endpoint; OAuth-style JSON, not Stone.
fn token_endpoint_refusal(status: u16, body: &str) -> TokenError {
    match serde_json::from_str::<OAuthError>(body) {
        Ok(oauth) => {
            let detail = match oauth.error_description {
                Some(description) => format!("{}: {description}", oauth.error),
                None => oauth.error.clone(),
            };
            if oauth.error == INVALID_GRANT {
                TokenError::Reauthorize { detail }
            } else {
                TokenError::Refused { status, detail }
            }
        }
        Err(_) => TokenError::Refused {
            status,
            detail: body.trim().to_owned(),
        },
    }
}

/// Hands out bearer tokens: refreshes shortly before expiry and when Dropbox says the token
/// expired. One refresh at a time — concurrent callers wait for it and share its result.
pub struct TokenSource {
    oauth: Option<OAuthClient>,
    tokens: tokio::sync::Mutex<Tokens>,
    /// Where refreshed tokens are saved, if anywhere.
    token_file: Option<PathBuf>,
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("oauth", &self.oauth)
            .field("token_file", &self.token_file)
            .finish()
    }
}

impl TokenSource {
    pub fn new(oauth: OAuthClient, tokens: Tokens) -> Self {
        TokenSource {
            oauth: Some(oauth),
            tokens: tokio::sync::Mutex::new(tokens),
            token_file: None,
        }
    }

    /// A token that is never refreshed; an expired one means re-authorize.
    pub fn fixed(access_token: impl Into<String>) -> Self {
        TokenSource {
            oauth: None,
            tokens: tokio::sync::Mutex::new(Tokens::fixed(access_token)),
            token_file: None,
        }
    }

    /// The tokens saved in `path` (refused unless mode 0600), saved back there on every refresh.
    pub fn from_file(
        oauth: OAuthClient,
        path: impl Into<PathBuf>,
    ) -> Result<Self, token_file::TokenFileError> {
        let path = path.into();
        let tokens = token_file::load_tokens(&path)?;
        Ok(TokenSource::new(oauth, tokens).persist_to(path))
    }

    /// Save every refreshed token set to this file (see `token_file`).
    pub fn persist_to(mut self, path: impl Into<PathBuf>) -> Self {
        self.token_file = Some(path.into());
        self
    }

    /// The current tokens (to save them after linking, for instance).
    pub async fn snapshot(&self) -> Tokens {
        self.tokens.lock().await.clone()
    }

    /// A token to send now; refreshed first if it expires within [`PROACTIVE_REFRESH_WINDOW`].
    pub async fn access_token(&self) -> Result<Secret, TokenError> {
        let mut tokens = self.tokens.lock().await;
        let renewable = tokens.refresh_token.is_some() && self.oauth.is_some();
        let now = OffsetDateTime::now_utc();
        if renewable && tokens.expires_within(PROACTIVE_REFRESH_WINDOW, now) {
            match self.refresh_locked(&mut tokens).await {
                Ok(()) => {}
                // The token still works for a while: use it, try again on the next call.
                Err(TokenError::Transient { detail }) if tokens.expires_at > now => {
                    tracing::warn!(%detail, "early Dropbox token refresh failed; using the current token");
                }
                Err(error) => return Err(error),
            }
        }
        Ok(tokens.access_token.clone())
    }

    /// Dropbox said `rejected` has expired. Refresh, unless another caller already replaced it
    /// while this one waited — then that newer token is the answer.
    pub async fn refresh_rejected(&self, rejected: &Secret) -> Result<Secret, TokenError> {
        let mut tokens = self.tokens.lock().await;
        if tokens.access_token != *rejected {
            return Ok(tokens.access_token.clone());
        }
        self.refresh_locked(&mut tokens).await?;
        Ok(tokens.access_token.clone())
    }

    async fn refresh_locked(&self, tokens: &mut Tokens) -> Result<(), TokenError> {
        let (Some(oauth), Some(refresh_token)) = (&self.oauth, &tokens.refresh_token) else {
            return Err(TokenError::Reauthorize {
                detail: "the access token expired and cannot be refreshed".into(),
            });
        };
        let response = oauth.refresh(refresh_token).await?;
        tokens.apply_refresh(response, OffsetDateTime::now_utc());
        tracing::info!("Dropbox access token refreshed");
        if let Some(path) = &self.token_file {
            let (path, snapshot) = (path.clone(), tokens.clone());
            let saved =
                tokio::task::spawn_blocking(move || token_file::save_tokens(&path, &snapshot))
                    .await;
            match saved {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    tracing::warn!(%error, "could not save the refreshed Dropbox token")
                }
                Err(error) => tracing::warn!(%error, "could not save the refreshed Dropbox token"),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B. (The brief quoted `…K1t2URW…`; the RFC and `sha256sum | base64url`
    /// both give `…K1t8URW…`.)
    #[test]
    fn rfc_7636_appendix_b_challenge() {
        assert_eq!(
            code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn generated_verifiers_are_long_unreserved_and_distinct() {
        let first = Pkce::generate().unwrap();
        let second = Pkce::generate().unwrap();
        for pkce in [&first, &second] {
            let verifier = pkce.verifier().expose();
            assert!(
                (PKCE_VERIFIER_MIN_LEN..=PKCE_VERIFIER_MAX_LEN).contains(&verifier.len()),
                "{}",
                verifier.len()
            );
            assert!(verifier.bytes().all(is_verifier_byte), "{verifier}");
            assert_eq!(pkce.challenge(), code_challenge(verifier));
            assert!(!pkce.challenge().contains('='), "no padding");
        }
        assert_ne!(first.verifier(), second.verifier());
    }

    #[test]
    fn rejects_verifiers_of_bad_length_or_characters() {
        assert!(matches!(
            Pkce::from_verifier("a".repeat(42)),
            Err(PkceError::BadLength(42))
        ));
        assert!(matches!(
            Pkce::from_verifier("a".repeat(129)),
            Err(PkceError::BadLength(129))
        ));
        assert!(Pkce::from_verifier("a".repeat(43)).is_ok());
        assert!(Pkce::from_verifier("a".repeat(128)).is_ok());
        assert!(matches!(
            Pkce::from_verifier(format!("{}+", "a".repeat(50))),
            Err(PkceError::BadCharacter)
        ));
        assert!(Pkce::from_verifier(format!("{}-._~", "Az09".repeat(12))).is_ok());
    }

    #[test]
    fn authorize_url_asks_for_offline_pkce_without_redirect() {
        let url = reqwest::Url::parse(&authorize_url("app key&1", "CHAL", Some("st/ate"))).unwrap();
        assert_eq!(
            url.as_str().split('?').next().unwrap(),
            DROPBOX_AUTHORIZE_URL
        );
        let params: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let expected: Vec<(String, String)> = [
            ("client_id", "app key&1"),
            ("response_type", "code"),
            ("token_access_type", "offline"),
            ("code_challenge", "CHAL"),
            ("code_challenge_method", "S256"),
            ("state", "st/ate"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(params, expected);
        assert!(!url.as_str().contains("redirect_uri"));
        let without_state = authorize_url("k", "C", None);
        assert!(!without_state.contains("state="), "{without_state}");
    }

    #[test]
    fn secrets_and_tokens_are_redacted() {
        let mut tokens = Tokens::fixed("sl.ACCESS-SECRET");
        tokens.refresh_token = Some(Secret::new("REFRESH-SECRET"));
        let shown = format!(
            "{tokens:?} {} {:?}",
            tokens.access_token, tokens.access_token
        );
        assert!(
            !shown.contains("ACCESS-SECRET") && !shown.contains("REFRESH-SECRET"),
            "{shown}"
        );
        assert!(shown.contains(REDACTED));
        let pkce = Pkce::generate().unwrap();
        assert!(!format!("{pkce:?}").contains(pkce.verifier().expose()));
        let source = TokenSource::fixed("sl.ACCESS-SECRET");
        assert!(!format!("{source:?}").contains("ACCESS-SECRET"));
    }

    #[test]
    fn refresh_answer_keeps_the_old_refresh_token() {
        let now = OffsetDateTime::now_utc();
        let mut tokens = Tokens::fixed("old");
        tokens.refresh_token = Some(Secret::new("keep-me"));
        tokens.apply_refresh(
            TokenResponse {
                access_token: "new".into(),
                token_type: "bearer".into(),
                expires_in: 14400,
                refresh_token: None,
                scope: None,
                uid: None,
                account_id: None,
            },
            now,
        );
        assert_eq!(tokens.access_token.expose(), "new");
        assert_eq!(tokens.refresh_token.unwrap().expose(), "keep-me");
        assert_eq!(tokens.expires_at, now + Duration::from_secs(14400));
    }

    #[test]
    fn invalid_grant_means_reauthorize() {
        let error = token_endpoint_refusal(
            400,
            r#"{"error":"invalid_grant","error_description":"refresh token is invalid"}"#,
        );
        assert!(matches!(error, TokenError::Reauthorize { .. }), "{error:?}");
        assert!(matches!(
            BackendError::from(error),
            BackendError::NeedsReauth { .. }
        ));
        let other = token_endpoint_refusal(400, r#"{"error":"invalid_request"}"#);
        assert!(
            matches!(other, TokenError::Refused { status: 400, .. }),
            "{other:?}"
        );
    }
}
