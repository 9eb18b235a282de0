//! The MQTT notifier: a QoS 1 publish of the alert's JSON on `{topic_prefix}/{vehicle}` of an
//! external broker. An attempt succeeds when the broker's PUBACK for it arrives.
//!
//! The connection is kept by a task of its own that reconnects with backoff. It uses a clean
//! session, so rumqttc never republishes behind the notifier's back: a publish that was not
//! acknowledged is retried by the notifier, as an attempt of its own.
//!
//! With `ca_file` it speaks MQTT over TLS, through the builder the agent and ingest use
//! (`convoy-tls-client`): the broker's certificate must chain to that CA.

use std::time::Duration;

use convoy_core::alert::AlertMessage;
use rumqttc::{AsyncClient, ConnectionError, Event, MqttOptions, Outgoing, Packet, QoS};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::retry::AttemptError;
use super::transport::error_chain;

pub(super) struct MqttSettings<'a> {
    pub host: &'a str,
    pub port: u16,
    pub topic_prefix: &'a str,
    pub client_id: &'a str,
    pub username: Option<&'a str>,
    pub password: Option<&'a str>,
    pub tls: Option<convoy_tls_client::TlsFiles>,
    pub timeout: Duration,
}

#[derive(Clone, Debug)]
struct Connection {
    connected: bool,
    /// Why it is not connected.
    error: String,
}

/// What the connection task reports to the notifier.
#[derive(Debug)]
enum Report {
    /// A publish went out with this packet id.
    Published(u16),
    /// The broker acknowledged this packet id.
    Acknowledged(u16),
    /// The DISCONNECT went out; the task has ended.
    Disconnected,
}

pub(super) struct Mqtt {
    client: AsyncClient,
    topic_prefix: String,
    timeout: Duration,
    connection: watch::Receiver<Connection>,
    reports: mpsc::Receiver<Report>,
    task: JoinHandle<()>,
}

impl Mqtt {
    pub(super) fn new(settings: MqttSettings<'_>) -> anyhow::Result<Mqtt> {
        let topic_prefix = settings.topic_prefix.trim_end_matches('/');
        if topic_prefix.is_empty() || topic_prefix.contains(['+', '#']) {
            anyhow::bail!("topic_prefix {:?} must be a topic without wildcards", settings.topic_prefix);
        }
        if settings.client_id.is_empty() {
            anyhow::bail!("client_id must not be empty");
        }
        if settings.host.trim().is_empty() {
            anyhow::bail!("host must not be empty");
        }
        let mut options = MqttOptions::new(settings.client_id, settings.host, settings.port);
        options.set_keep_alive(Duration::from_secs(30));
        options.set_clean_session(true);
        match (settings.username, settings.password) {
            (Some(username), Some(password)) => {
                options.set_credentials(username, password);
            }
            (None, None) => {}
            _ => anyhow::bail!("set both username and password, or neither"),
        }
        if let Some(files) = &settings.tls {
            options.set_transport(convoy_tls_client::mqtt_transport(files)?);
        }
        let (client, mut eventloop) = AsyncClient::new(options, 16);
        let (connection_tx, connection) =
            watch::channel(Connection { connected: false, error: "not connected yet".to_string() });
        // Only our own publishes produce reports, one at a time: a small buffer is plenty.
        let (reports_tx, reports) = mpsc::channel(64);
        let broker = format!("{}:{}", settings.host, settings.port);
        let task = tokio::spawn(async move {
            let mut wait = Duration::from_millis(250);
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        tracing::info!(%broker, "MQTT notifier connected");
                        wait = Duration::from_millis(250);
                        connection_tx.send_replace(Connection { connected: true, error: String::new() });
                    }
                    Ok(Event::Incoming(Packet::PubAck(ack))) => {
                        let _ = reports_tx.try_send(Report::Acknowledged(ack.pkid));
                    }
                    Ok(Event::Outgoing(Outgoing::Publish(pkid))) => {
                        let _ = reports_tx.try_send(Report::Published(pkid));
                    }
                    Ok(Event::Outgoing(Outgoing::Disconnect)) => {
                        let _ = reports_tx.try_send(Report::Disconnected);
                        break;
                    }
                    Ok(_) => {}
                    Err(ConnectionError::RequestsDone) => break,
                    Err(error) => {
                        let error = error_chain(&error);
                        if connection_tx.borrow().connected {
                            tracing::warn!(%broker, "MQTT notifier lost its connection: {error}");
                        }
                        connection_tx.send_replace(Connection { connected: false, error });
                        tokio::time::sleep(wait).await;
                        wait = (wait * 2).min(Duration::from_secs(10));
                    }
                }
            }
        });
        Ok(Mqtt {
            client,
            topic_prefix: topic_prefix.to_string(),
            timeout: settings.timeout,
            connection,
            reports,
            task,
        })
    }

    pub(super) async fn attempt(&mut self, message: &AlertMessage) -> Result<String, AttemptError> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let connected = tokio::time::timeout_at(deadline, self.connection.wait_for(|c| c.connected))
            .await
            .map(|r| r.is_ok());
        match connected {
            Ok(true) => {}
            Ok(false) => return Err(AttemptError::retry("the MQTT connection task has ended")),
            Err(_) => {
                let error = self.connection.borrow().error.clone();
                return Err(AttemptError::retry(format!("not connected to the broker: {error}")));
            }
        }
        // Forget what earlier, abandoned attempts left behind.
        while self.reports.try_recv().is_ok() {}
        let payload =
            serde_json::to_vec(message).map_err(|e| AttemptError::fatal(format!("cannot encode: {e}")))?;
        let topic = format!("{}/{}", self.topic_prefix, message.vehicle);
        self.client
            .try_publish(topic.as_str(), QoS::AtLeastOnce, false, payload)
            .map_err(|e| AttemptError::retry(format!("cannot publish: {}", error_chain(&e))))?;
        let mut packet_id = None;
        loop {
            match tokio::time::timeout_at(deadline, self.reports.recv()).await {
                Err(_) => {
                    let what = if packet_id.is_some() { "no PUBACK" } else { "publish not sent" };
                    return Err(AttemptError::retry(format!(
                        "{what} within {} ms",
                        self.timeout.as_millis()
                    )));
                }
                Ok(None) | Ok(Some(Report::Disconnected)) => {
                    return Err(AttemptError::retry("the MQTT connection task has ended"))
                }
                Ok(Some(Report::Published(pkid))) if packet_id.is_none() => packet_id = Some(pkid),
                Ok(Some(Report::Acknowledged(pkid))) if Some(pkid) == packet_id => {
                    return Ok(format!("PUBACK on {topic}"));
                }
                Ok(Some(_)) => {}
            }
        }
    }

    /// Disconnects politely, waiting a moment for the DISCONNECT to go out.
    pub(super) async fn close(mut self) {
        if self.client.try_disconnect().is_ok() && self.connection.borrow().connected {
            let _ = tokio::time::timeout(Duration::from_secs(1), async {
                while let Some(report) = self.reports.recv().await {
                    if matches!(report, Report::Disconnected) {
                        break;
                    }
                }
            })
            .await;
        }
        self.task.abort();
    }
}

impl Drop for Mqtt {
    fn drop(&mut self) {
        self.task.abort();
    }
}
