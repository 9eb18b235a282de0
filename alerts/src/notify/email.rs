//! The e-mail notifier: one plain-text message per alert change through an SMTP relay (lettre,
//! tokio, rustls with ring; STARTTLS when configured).
//!
//! An SMTP 5xx answer is final; a 4xx answer, a connection error, a TLS error or a timeout is
//! retried.

use std::time::Duration;

use convoy_core::alert::AlertMessage;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::retry::AttemptError;
use super::transport::error_chain;

pub(super) struct EmailSettings<'a> {
    pub host: &'a str,
    pub port: u16,
    pub from: &'a str,
    pub to: &'a [String],
    pub username: Option<&'a str>,
    pub password: Option<&'a str>,
    pub starttls: bool,
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
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(settings.host)?
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

    pub(super) async fn attempt(&self, message: &AlertMessage) -> Result<String, AttemptError> {
        let mut builder = Message::builder().from(self.from.clone()).subject(subject(message));
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        let email = builder
            .header(ContentType::TEXT_PLAIN)
            .body(body(message))
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

/// `[Convoy] off_route open: truck-07 (move m1)`
pub(super) fn subject(message: &AlertMessage) -> String {
    format!(
        "[Convoy] {} {}: {} (move {})",
        message.kind.as_str(),
        message.state.as_str(),
        message.vehicle,
        one_line(&message.move_id)
    )
}

fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// The fields one per line, then the message as JSON.
pub(super) fn body(message: &AlertMessage) -> String {
    let position = match (message.lat, message.lon) {
        (Some(lat), Some(lon)) => format!("{lat:.6}, {lon:.6}"),
        _ => "unknown".to_string(),
    };
    let detail = if message.detail.is_null() {
        "-".to_string()
    } else {
        serde_json::to_string_pretty(&message.detail).unwrap_or_else(|_| message.detail.to_string())
    };
    let json = serde_json::to_string_pretty(message).unwrap_or_default();
    format!(
        "Alert:    {kind}\nState:    {state}\nVehicle:  {vehicle}\nMove:     {move_id}\nTime:     {t}\nPosition: {position}\nAlert id: {id}\nDetail:   {detail}\n\nAs JSON:\n{json}\n",
        kind = message.kind.as_str(),
        state = message.state.as_str(),
        vehicle = message.vehicle,
        move_id = one_line(&message.move_id),
        t = message.t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        id = one_line(&message.id),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use convoy_core::alert::{AlertKind, AlertState};
    use convoy_core::vehicle::VehicleId;

    fn message() -> AlertMessage {
        AlertMessage {
            v: 1,
            id: "a1".into(),
            kind: AlertKind::OffRoute,
            state: AlertState::Open,
            vehicle: VehicleId::new("truck-07").unwrap(),
            move_id: "m1".into(),
            t: "2026-11-28T09:15:02Z".parse().unwrap(),
            lat: Some(48.1),
            lon: Some(11.5),
            detail: serde_json::json!({"since": "2026-11-28T09:14:32.000Z"}),
            late: false,
        }
    }

    #[test]
    fn subject_names_kind_state_vehicle_and_move() {
        assert_eq!(subject(&message()), "[Convoy] off_route open: truck-07 (move m1)");
    }

    #[test]
    fn body_has_the_fields_and_the_json() {
        let text = body(&message());
        assert!(text.contains("Vehicle:  truck-07"), "{text}");
        assert!(text.contains("Time:     2026-11-28T09:15:02.000Z"), "{text}");
        assert!(text.contains("Position: 48.100000, 11.500000"), "{text}");
        assert!(text.contains("\"kind\": \"off_route\""), "{text}");
    }

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
            timeout: Duration::from_secs(1),
        };
        assert!(Email::new(settings("not an address", &[])).is_err());
        assert!(Email::new(settings("convoy@example.org", &[])).is_err());
    }
}
