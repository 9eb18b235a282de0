//! Sends alert changes out: over MQTT on `convoy/v1/alerts/{vehicle}`, to the live feed, and to
//! the notifiers, each written in its move's language and time zone (the plan's, else the
//! server's `[moves]` defaults), which the announcer learns as the service reads each plan.

use std::collections::HashMap;
use std::time::Duration;

use convoy_core::alert::AlertMessage;
use convoy_core::language::Language;
use convoy_core::live::LiveEvent;
use convoy_core::plan::MovePlan;
use convoy_core::time_zone::Tz;
use convoy_core::topics::alerts_topic;
use rumqttc::{AsyncClient, QoS};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::notify::{Locale, Notifiers};
use crate::service::MqttTarget;

/// What the server assumes of a move whose plan names no language or time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocaleDefaults {
    pub language: Language,
    pub time_zone: Tz,
}

impl Default for LocaleDefaults {
    fn default() -> Self {
        LocaleDefaults { language: Language::English, time_zone: convoy_core::time_zone::UTC }
    }
}

impl LocaleDefaults {
    fn of(self, plan: &MovePlan) -> Locale {
        Locale {
            language: plan.language.unwrap_or(self.language),
            time_zone: plan.time_zone.unwrap_or(self.time_zone),
        }
    }
}

/// Sends alert changes out: MQTT, the live feed, the notifiers.
pub(crate) struct Announcer {
    pub mqtt: Option<AsyncClient>,
    pub live: broadcast::Sender<LiveEvent>,
    pub notifiers: Notifiers,
    pub defaults: LocaleDefaults,
    /// Each move's locale, by move id, as of the plan read last.
    pub locales: HashMap<String, Locale>,
}

impl Announcer {
    /// Notes how the alerts of the move with this plan are written (at its first reading and
    /// at each edit).
    pub fn learn(&mut self, move_id: &str, plan: &MovePlan) {
        self.locales.insert(move_id.to_string(), self.defaults.of(plan));
    }

    pub fn announce(&mut self, message: &AlertMessage) {
        tracing::info!(
            alert = %message.id,
            kind = message.kind.as_str(),
            state = message.state.as_str(),
            vehicle = %message.vehicle,
            late = message.late,
            "alert"
        );
        if let Some(client) = &self.mqtt {
            let payload = serde_json::to_vec(message).expect("an alert message serializes");
            if let Err(e) =
                client.try_publish(alerts_topic(&message.vehicle), QoS::AtLeastOnce, false, payload)
            {
                tracing::warn!(error = %e, alert = %message.id, "alert not published over MQTT: client queue full");
            }
        }
        // No live client is no error.
        let _ = self.live.send(LiveEvent::Alert { alert: message.clone() });
        // A move not read yet (an acknowledgement racing its creation) is written the default way.
        let locale = self
            .locales
            .get(&message.move_id)
            .copied()
            .unwrap_or(Locale { language: self.defaults.language, time_zone: self.defaults.time_zone });
        self.notifiers.notify_in(message, locale);
    }
}

pub(crate) fn start_mqtt(
    target: &MqttTarget,
    stop: CancellationToken,
) -> anyhow::Result<(AsyncClient, tokio::task::JoinHandle<()>)> {
    let mut options = target.options()?;
    options.set_keep_alive(Duration::from_secs(15));
    // Not a clean session: QoS 1 alerts queued while the broker is away go out when it returns.
    options.set_clean_session(false);
    let (client, mut eventloop) = AsyncClient::new(options, 10_000);
    let poller = tokio::spawn(async move {
        let mut backoff = Duration::from_millis(200);
        loop {
            let event = tokio::select! {
                event = eventloop.poll() => event,
                () = stop.cancelled() => return,
            };
            match event {
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_))) => {
                    backoff = Duration::from_millis(200);
                    tracing::info!("alert publisher connected to the broker");
                }
                Ok(rumqttc::Event::Outgoing(rumqttc::Outgoing::Disconnect)) => return,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, retry_in = ?backoff, "alert publisher lost the broker");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        () = stop.cancelled() => return,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
    });
    Ok((client, poller))
}
