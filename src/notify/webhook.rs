//! The webhook: one JSON POST per event (`{id, event, account, at, text, failed}`), signed
//! with `X-Smartimage-Signature: sha256=<hex HMAC-SHA256 of the body>` when a secret is set.

use std::path::PathBuf;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::{SendError, read_secret_file};

/// The header that carries the body's signature.
pub const SIGNATURE_HEADER: &str = "X-Smartimage-Signature";
/// How long one POST may take.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(20);

/// `[notify.webhook]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookSettings {
    pub url: String,
    /// A `0600` file holding the HMAC secret.
    pub secret_file: Option<PathBuf>,
}

/// `sha256=<hex>` of `body` under `secret`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

impl WebhookSettings {
    /// An `https://` URL, or `http://` on a loopback address (the body carries the customer's
    /// file names); the secret file's mode.
    pub fn check(&self) -> Result<(), String> {
        const WHAT: &str =
            "notify.webhook.url must be an https:// URL, or http:// on a loopback address";
        let url =
            reqwest::Url::parse(&self.url).map_err(|e| format!("{WHAT}; {:?}: {e}", self.url))?;
        let host = url.host_str().unwrap_or_default();
        let loopback = match host.trim_start_matches('[').trim_end_matches(']').parse() {
            Ok(ip) => std::net::IpAddr::is_loopback(&ip),
            Err(_) => host.eq_ignore_ascii_case("localhost"),
        };
        match url.scheme() {
            "https" if !host.is_empty() => {}
            "http" if loopback => {}
            _ => return Err(format!("{WHAT}; got {:?}", self.url)),
        }
        if let Some(path) = &self.secret_file {
            read_secret_file(path, "webhook secret")?;
        }
        Ok(())
    }

    /// POST `body`; `Ok` on a 2xx answer.
    pub async fn send(&self, client: &reqwest::Client, body: &str) -> Result<(), SendError> {
        let mut request = client
            .post(&self.url)
            .timeout(WEBHOOK_TIMEOUT)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_owned());
        if let Some(path) = &self.secret_file {
            let secret = read_secret_file(path, "webhook secret").map_err(SendError::transient)?;
            request = request.header(
                SIGNATURE_HEADER,
                signature(secret.as_bytes(), body.as_bytes()),
            );
        }
        let response = request
            .send()
            .await
            .map_err(|e| SendError::transient(format!("webhook: {}", e.without_url())))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else if status.is_client_error()
            && status != reqwest::StatusCode::REQUEST_TIMEOUT
            && status != reqwest::StatusCode::TOO_MANY_REQUESTS
        {
            Err(SendError::permanent(format!(
                "the webhook answered {status}"
            )))
        } else {
            Err(SendError::transient(format!(
                "the webhook answered {status}"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231, test case 2.
    #[test]
    fn the_signature_is_hex_hmac_sha256_of_the_body() {
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn the_url_is_https_or_loopback_http() {
        let check = |url: &str| {
            WebhookSettings {
                url: url.into(),
                secret_file: None,
            }
            .check()
        };
        assert!(check("https://hooks.example.com/x").is_ok());
        assert!(check("http://127.0.0.1:9000/hook").is_ok());
        assert!(check("http://hooks.example.com/x").is_err());
        assert!(check("ftp://127.0.0.1").is_err());
    }
}
