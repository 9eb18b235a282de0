//! The e-mail notifier: one plain-text message per alert change through an SMTP relay (lettre,
//! tokio, rustls 0.23 with ring; STARTTLS when configured). With `ca_file` the relay's
//! certificate must chain to that CA alone (lettre's public roots are left out).
//!
//! An SMTP 5xx answer is final; a 4xx answer, a connection error, a TLS error or a timeout is
//! retried.

use std::time::Duration;

use anyhow::Context as _;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::retry::AttemptError;
use super::text::{self, Notice};
use super::transport::error_chain;

pub(super) struct EmailSettings<'a> {
    pub host: &'a str,
    pub port: u16,
    pub from: &'a str,
    pub to: &'a [String],
    pub username: Option<&'a str>,
    pub password: Option<&'a str>,
    pub starttls: bool,
    /// The CA that signed the relay's certificate (PEM), the only one trusted; `None`: the
    /// public roots built into lettre.
    pub ca_file: Option<&'a std::path::Path>,
    pub timeout: Duration,
}

pub(super) struct Email {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Vec<Mailbox>,
}

impl Email {
    pub(super) fn new(settings: EmailSettings<'_>) -> anyhow::Result<Email> {
        let from: Mailbox =
            settings.from.parse().map_err(|e| anyhow::anyhow!("from address {:?}: {e}", settings.from))?;
        if settings.to.is_empty() {
            anyhow::bail!("an e-mail notifier needs at least one address in `to`");
        }
        let to = settings
            .to
            .iter()
            .map(|address| {
                address.parse::<Mailbox>().map_err(|e| anyhow::anyhow!("to address {address:?}: {e}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        if settings.host.trim().is_empty() {
            anyhow::bail!("smtp_host must not be empty");
        }
        let builder = if settings.starttls {
            let builder = AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(settings.host)?;
            match settings.ca_file {
                Some(ca_file) => builder.tls(Tls::Required(pinned_ca(settings.host, ca_file)?)),
                None => builder,
            }
        } else if settings.ca_file.is_some() {
            anyhow::bail!("ca_file is for STARTTLS: set starttls = true");
        } else {
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(settings.host)
        };
        let mut builder = builder.port(settings.port).timeout(Some(settings.timeout));
        match (settings.username, settings.password) {
            (Some(username), Some(password)) => {
                if !settings.starttls {
                    tracing::warn!(
                        host = settings.host,
                        "e-mail notifier sends its SMTP password without TLS: set starttls = true"
                    );
                }
                builder = builder.credentials(Credentials::new(username.to_string(), password.to_string()));
            }
            (None, None) => {}
            _ => anyhow::bail!("set both username and password for SMTP authentication, or neither"),
        }
        Ok(Email { transport: builder.build(), from, to })
    }

    pub(super) async fn attempt(&self, notice: &Notice) -> Result<String, AttemptError> {
        let mut builder = Message::builder().from(self.from.clone()).subject(text::subject(notice));
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        let email = builder
            .header(ContentType::TEXT_PLAIN)
            .body(text::email_body(notice))
            .map_err(|e| AttemptError::fatal(format!("cannot build the e-mail: {e}")))?;
        match self.transport.send(email).await {
            Ok(response) => {
                let text: Vec<&str> = response.message().collect();
                Ok(format!("SMTP {} {}", response.code(), text.join(" ")).trim_end().to_string())
            }
            Err(error) if error.is_permanent() => {
                Err(AttemptError::fatal(format!("SMTP {}", error_chain(&error))))
            }
            Err(error) => Err(AttemptError::retry(format!("SMTP {}", error_chain(&error)))),
        }
    }
}

/// TLS to `host` trusting only the CA certificate(s) in `ca_file`.
fn pinned_ca(host: &str, ca_file: &std::path::Path) -> anyhow::Result<TlsParameters> {
    let pem = std::fs::read(ca_file).with_context(|| format!("reading ca_file {}", ca_file.display()))?;
    let ca = Certificate::from_pem(&pem).with_context(|| format!("ca_file {}", ca_file.display()))?;
    Ok(TlsParameters::builder(host.to_string())
        .certificate_store(CertificateStore::None)
        .add_root_certificate(ca)
        .build_rustls()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_at_start() {
        let settings = |from: &'static str, to: &'static [String]| EmailSettings {
            host: "localhost",
            port: 25,
            from,
            to,
            username: None,
            password: None,
            starttls: false,
            ca_file: None,
            timeout: Duration::from_secs(1),
        };
        assert!(Email::new(settings("not an address", &[])).is_err());
        assert!(Email::new(settings("convoy@example.org", &[])).is_err());
    }
}
