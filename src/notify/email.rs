//! Email over SMTP: `smtp://host[:port]` speaks STARTTLS when the server offers it — and must,
//! when credentials are set (a server that offers no STARTTLS then is an error: credentials
//! never go in clear text); `smtps://host[:port]` is TLS from the first byte. Plain text, one
//! message per recipient, with the delivery's stable `Message-ID`.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::{SendError, read_secret_file};

/// How long one SMTP conversation may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

/// `[notify.email]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailSettings {
    pub smtp_url: String,
    pub from: String,
    pub username: Option<String>,
    /// A `0600` file holding the SMTP password.
    pub password_file: Option<PathBuf>,
    /// PEM certificates trusted besides the system's (a relay with its own CA).
    pub ca_file: Option<PathBuf>,
}

/// How to reach the server, from `smtp_url`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Endpoint {
    implicit_tls: bool,
    host: String,
    port: u16,
}

fn endpoint(url: &str) -> Result<Endpoint, String> {
    const WHAT: &str = "notify.email.smtp_url must be smtp://HOST[:PORT] or smtps://HOST[:PORT]";
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("{WHAT}; {url:?}: {e}"))?;
    let implicit_tls = match parsed.scheme() {
        "smtp" => false,
        "smtps" => true,
        _ => return Err(format!("{WHAT}; got {url:?}")),
    };
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!(
            "{WHAT}, without credentials in it (use username and password_file)"
        ));
    }
    let host = parsed
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| format!("{WHAT}; {url:?} names no host"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = parsed
        .port()
        .unwrap_or(if implicit_tls { 465 } else { 587 });
    Ok(Endpoint {
        implicit_tls,
        host,
        port,
    })
}

impl EmailSettings {
    /// What a config file can get wrong: the URL, the addresses, the password file's mode.
    pub fn check(&self) -> Result<(), String> {
        endpoint(&self.smtp_url)?;
        self.from
            .parse::<Mailbox>()
            .map_err(|e| format!("notify.email.from {:?} is not an address: {e}", self.from))?;
        if self.password_file.is_some() != self.username.is_some() {
            return Err(
                "notify.email: username and password_file go together (both, or neither)".into(),
            );
        }
        if let Some(path) = &self.password_file {
            read_secret_file(path, "SMTP password")?;
        }
        if let Some(path) = &self.ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| format!("cannot read notify.email.ca_file {}: {e}", path.display()))?;
            Certificate::from_pem(&pem).map_err(|e| {
                format!(
                    "notify.email.ca_file {} is not a PEM certificate: {e}",
                    path.display()
                )
            })?;
        }
        Ok(())
    }

    fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, SendError> {
        let endpoint = endpoint(&self.smtp_url).map_err(SendError::permanent)?;
        let mut tls = TlsParameters::builder(endpoint.host.clone());
        if let Some(path) = &self.ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| SendError::transient(format!("cannot read the SMTP CA file: {e}")))?;
            let cert = Certificate::from_pem(&pem)
                .map_err(|e| SendError::transient(format!("the SMTP CA file: {e}")))?;
            tls = tls.add_root_certificate(cert);
        }
        let tls = tls
            .build_rustls()
            .map_err(|e| SendError::transient(format!("TLS settings: {e}")))?;
        let credentials = match (&self.username, &self.password_file) {
            (Some(user), Some(path)) => {
                let password =
                    read_secret_file(path, "SMTP password").map_err(SendError::transient)?;
                Some(Credentials::new(user.clone(), password))
            }
            _ => None,
        };
        let mode = if endpoint.implicit_tls {
            Tls::Wrapper(tls)
        } else if credentials.is_some() {
            // Never credentials in clear text: no STARTTLS, no login.
            Tls::Required(tls)
        } else {
            Tls::Opportunistic(tls)
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(endpoint.host)
            .port(endpoint.port)
            .tls(mode)
            .timeout(Some(SMTP_TIMEOUT));
        if let Some(credentials) = credentials {
            builder = builder.credentials(credentials);
        }
        Ok(builder.build())
    }

    /// Send one message; `Ok` once the server accepted it.
    pub async fn send(
        &self,
        to: &str,
        message_id: &str,
        subject: &str,
        body: &str,
    ) -> Result<(), SendError> {
        let from: Mailbox = self
            .from
            .parse()
            .map_err(|e| SendError::permanent(format!("the from address: {e}")))?;
        let to: Mailbox = to
            .parse()
            .map_err(|e| SendError::permanent(format!("the address {to:?}: {e}")))?;
        let message = Message::builder()
            .message_id(Some(message_id.to_owned()))
            .from(from)
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_owned())
            .map_err(|e| SendError::permanent(format!("cannot build the message: {e}")))?;
        let transport = self.transport()?;
        match transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::permanent(format!(
                "the mail server refused it: {e}"
            ))),
            Err(e) => Err(SendError::transient(format!("mail server: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_name_the_tls_mode_and_default_ports() {
        assert_eq!(
            endpoint("smtp://mail.example.com").unwrap(),
            Endpoint {
                implicit_tls: false,
                host: "mail.example.com".into(),
                port: 587
            }
        );
        let wrapped = endpoint("smtps://mail.example.com").unwrap();
        assert!(wrapped.implicit_tls);
        assert_eq!(wrapped.port, 465);
        assert_eq!(endpoint("smtp://127.0.0.1:2525").unwrap().port, 2525);
        assert_eq!(endpoint("smtp://[::1]:25").unwrap().host, "::1");
        for bad in [
            "http://mail.example.com",
            "mail.example.com",
            "smtp://user:secret@mail.example.com",
            "",
        ] {
            assert!(endpoint(bad).is_err(), "{bad}");
        }
    }
}
