//! Credentials: bearer tokens per account, expiring access tokens, refresh tokens and
//! authorization codes with optional PKCE.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::config::{AuthCodeConfig, EmulatorConfig};
use super::ids::IdSource;
use crate::dropbox::wire::{AuthError, OAuthError, TokenResponse};

const ACCESS_TOKEN_PREFIX: &str = "sl.emu-";
const REFRESH_TOKEN_PREFIX: &str = "emu-refresh-";
const TOKEN_TYPE: &str = "bearer";
/// The scopes our app asks for.
const GRANTED_SCOPES: &str =
    "account_info.read files.content.read files.content.write files.metadata.read";

const GRANT_AUTHORIZATION_CODE: &str = "authorization_code";
const GRANT_REFRESH_TOKEN: &str = "refresh_token";

#[derive(Clone, Debug)]
struct AccessToken {
    account: String,
    /// `None`: a configured long-lived token.
    expires_at: Option<Instant>,
}

#[derive(Debug)]
pub struct Tokens {
    access: HashMap<String, AccessToken>,
    refresh: HashMap<String, String>,
    codes: HashMap<String, AuthCodeConfig>,
    uids: HashMap<String, String>,
    ttl: Duration,
    client_id: Option<String>,
    ids: IdSource,
}

fn oauth_error(error: &str, description: &str) -> OAuthError {
    OAuthError {
        error: error.to_owned(),
        error_description: Some(description.to_owned()),
    }
}

impl Tokens {
    pub fn new(config: &EmulatorConfig) -> Self {
        let mut tokens = Self {
            access: HashMap::new(),
            refresh: HashMap::new(),
            codes: HashMap::new(),
            uids: HashMap::new(),
            ttl: config.token_ttl(),
            client_id: config.client_id.clone(),
            ids: IdSource::new(),
        };
        const FIRST_UID: usize = 1000;
        for (index, account) in config.accounts.iter().enumerate() {
            for token in &account.access_tokens {
                tokens.access.insert(
                    token.clone(),
                    AccessToken {
                        account: account.account_id.clone(),
                        expires_at: None,
                    },
                );
            }
            for token in &account.refresh_tokens {
                tokens
                    .refresh
                    .insert(token.clone(), account.account_id.clone());
            }
            tokens
                .uids
                .insert(account.account_id.clone(), (FIRST_UID + index).to_string());
        }
        for code in &config.codes {
            tokens.register_code(code.clone());
        }
        tokens
    }

    /// Every access and refresh token known (tokens are never forgotten, only expired).
    pub fn issued(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .access
            .keys()
            .chain(self.refresh.keys())
            .cloned()
            .collect();
        all.sort();
        all
    }

    pub fn knows_account(&self, account_id: &str) -> bool {
        self.uids.contains_key(account_id)
    }

    /// The account a bearer token belongs to, or the 401 error Dropbox would give.
    pub fn check(&self, token: &str) -> Result<String, AuthError> {
        let access = self
            .access
            .get(token)
            .ok_or(AuthError::InvalidAccessToken)?;
        if access
            .expires_at
            .is_some_and(|deadline| Instant::now() >= deadline)
        {
            return Err(AuthError::ExpiredAccessToken);
        }
        Ok(access.account.clone())
    }

    pub fn register_code(&mut self, code: AuthCodeConfig) {
        self.codes.insert(code.code.clone(), code);
    }

    /// Early expiry: every access token of `account_id` (all accounts when `None`), including
    /// configured long-lived ones, is expired from now on.
    pub fn expire_now(&mut self, account_id: Option<&str>) {
        let now = Instant::now();
        for token in self.access.values_mut() {
            if account_id.is_none_or(|account| account == token.account) {
                token.expires_at = Some(now);
            }
        }
    }

    fn issue(&mut self, account: &str) -> (String, u64) {
        let token = self.ids.opaque(ACCESS_TOKEN_PREFIX);
        self.access.insert(
            token.clone(),
            AccessToken {
                account: account.to_owned(),
                expires_at: Some(Instant::now() + self.ttl),
            },
        );
        (token, self.ttl.as_secs())
    }

    /// `/oauth2/token`: exchange a code or refresh an access token.
    pub fn grant(&mut self, form: &HashMap<String, String>) -> Result<TokenResponse, OAuthError> {
        let field = |name: &str| form.get(name).map(String::as_str);
        if let Some(expected) = &self.client_id
            && field("client_id") != Some(expected.as_str())
        {
            return Err(oauth_error("invalid_client", "unknown client_id"));
        }
        match field("grant_type") {
            Some(GRANT_AUTHORIZATION_CODE) => {
                let code = field("code")
                    .ok_or_else(|| oauth_error("invalid_request", "no \"code\" parameter"))?;
                let registered = self.codes.get(code).ok_or_else(|| {
                    oauth_error("invalid_grant", "code doesn't exist or has expired")
                })?;
                if let Some(challenge) = &registered.code_challenge {
                    let verifier = field("code_verifier").ok_or_else(|| {
                        oauth_error("invalid_grant", "missing code_verifier for a PKCE code")
                    })?;
                    if pkce_challenge(verifier) != *challenge {
                        return Err(oauth_error("invalid_grant", "invalid code verifier"));
                    }
                }
                // A code is good for one exchange.
                let registered = self.codes.remove(code).expect("looked up above");
                let account = registered.account_id;
                let (access_token, expires_in) = self.issue(&account);
                let refresh_token = self.ids.opaque(REFRESH_TOKEN_PREFIX);
                self.refresh.insert(refresh_token.clone(), account.clone());
                Ok(TokenResponse {
                    access_token,
                    token_type: TOKEN_TYPE.to_owned(),
                    expires_in,
                    refresh_token: Some(refresh_token),
                    scope: Some(GRANTED_SCOPES.to_owned()),
                    uid: self.uids.get(&account).cloned(),
                    account_id: Some(account),
                })
            }
            Some(GRANT_REFRESH_TOKEN) => {
                let refresh_token = field("refresh_token").ok_or_else(|| {
                    oauth_error("invalid_request", "no \"refresh_token\" parameter")
                })?;
                let account =
                    self.refresh.get(refresh_token).cloned().ok_or_else(|| {
                        oauth_error("invalid_grant", "refresh token is malformed")
                    })?;
                let (access_token, expires_in) = self.issue(&account);
                // No new refresh token: clients keep theirs.
                Ok(TokenResponse {
                    access_token,
                    token_type: TOKEN_TYPE.to_owned(),
                    expires_in,
                    refresh_token: None,
                    scope: None,
                    uid: None,
                    account_id: None,
                })
            }
            Some(_) => Err(oauth_error(
                "unsupported_grant_type",
                "grant_type must be authorization_code or refresh_token",
            )),
            None => Err(oauth_error(
                "invalid_request",
                "no \"grant_type\" parameter",
            )),
        }
    }
}

/// S256: base64url without padding of SHA-256 over the verifier's ASCII.
pub fn pkce_challenge(verifier: &str) -> String {
    base64url_no_pad(&Sha256::digest(verifier.as_bytes()))
}

fn base64url_no_pad(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let group = chunk.iter().enumerate().fold(0u32, |acc, (i, byte)| {
            acc | u32::from(*byte) << (16 - 8 * i)
        });
        let sextets = chunk.len() + 1;
        for i in 0..sextets {
            out.push(ALPHABET[((group >> (18 - 6 * i)) & 0x3f) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_matches_rfc_4648_vectors_without_padding() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64url_no_pad(input.as_bytes()), expected);
        }
        assert_eq!(base64url_no_pad(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn pkce_challenge_matches_rfc_7636_example() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
