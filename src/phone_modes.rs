//! Switching people's OwnTracks phones between move mode and quiet mode over MQTT: a phone that
//! belongs to a person is told to report often while a move that person escorts is running and
//! to report nothing otherwise. The command is published retained on the phone's own
//! `owntracks/USER/DEVICE/cmd` (the only topic it may subscribe to), so a phone that was off
//! at the moment of the switch gets it when it connects. Ingest refuses fixes outside the
//! person's moves whatever the phone does: this only spares the phone, and the person, the
//! reporting.

use std::collections::HashMap;
use std::time::Duration;

use convoy_alerts::service::MqttTarget;
use convoy_core::phone::owntracks::command_topic;
use convoy_registry::phones::{owntracks_monitoring_command, Monitoring, Tracking};
use convoy_store::{DeviceKind, Store};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio_util::sync::CancellationToken;

/// How often the phones' modes are checked against their people's moves: a move's start or
/// end reaches its phones within this.
pub const CHECK_EVERY: Duration = Duration::from_secs(30);

/// Runs until `shutdown`: checks every [`CHECK_EVERY`], and publishes a phone's command when its
/// mode changes, and every phone's again after each (re)connection to the broker.
pub async fn run(store: Store, target: MqttTarget, shutdown: CancellationToken) -> anyhow::Result<()> {
    let mut options = MqttOptions::new(target.client_id.clone(), target.host.clone(), target.port);
    options.set_keep_alive(Duration::from_secs(15));
    if let Some(user) = &target.username {
        options.set_credentials(user.clone(), target.password.clone().unwrap_or_default());
    }
    let (client, mut eventloop) = AsyncClient::new(options, 1_000);
    // What each phone was last told, by topic; emptied at every connection, so all are told again.
    let mut told: HashMap<String, Monitoring> = HashMap::new();
    let mut check = tokio::time::interval(CHECK_EVERY);
    let mut backoff = Duration::from_millis(200);
    loop {
        tokio::select! {
            event = eventloop.poll() => match event {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    backoff = Duration::from_millis(200);
                    told.clear();
                    switch_phones(&store, &client, &mut told).await;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(error = %e, retry_in = ?backoff, "phone mode publisher lost the broker");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        () = shutdown.cancelled() => return Ok(()),
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            },
            _ = check.tick() => switch_phones(&store, &client, &mut told).await,
            () = shutdown.cancelled() => return Ok(()),
        }
    }
}

/// Publishes the command of every person's OwnTracks phone whose mode is not the one it was
/// last told.
async fn switch_phones(store: &Store, client: &AsyncClient, told: &mut HashMap<String, Monitoring>) {
    let devices = match store.devices().await {
        Ok(devices) => devices,
        Err(e) => return tracing::warn!(error = %e, "cannot read the phones to switch their modes"),
    };
    let phones: Vec<_> =
        devices.iter().filter(|d| d.kind == DeviceKind::OwnTracks && d.person.is_some()).collect();
    if phones.is_empty() {
        return;
    }
    // Every move's crew once for all the phones, not once per phone.
    let crews = match store.move_crews().await {
        Ok(crews) => crews,
        Err(e) => return tracing::warn!(error = %e, "cannot read the moves to switch people's phones"),
    };
    let now = chrono::Utc::now();
    for device in phones {
        let mode = match Tracking::among(store, device, &crews).await {
            Ok(tracking) if tracking.at(now) => Monitoring::Move,
            Ok(_) => Monitoring::Quiet,
            Err(e) => return tracing::warn!(error = %e, "cannot read a person's moves to switch their phone"),
        };
        let topic = command_topic(&device.name, device.owntracks_device.as_deref().unwrap_or_default());
        if told.get(&topic) == Some(&mode) {
            continue;
        }
        let payload = owntracks_monitoring_command(mode).to_string();
        match client.try_publish(topic.clone(), QoS::AtLeastOnce, true, payload) {
            Ok(()) => {
                tracing::info!(phone = %device.source(), ?mode, "phone told its reporting mode");
                told.insert(topic, mode);
            }
            Err(e) => tracing::warn!(error = %e, "phone mode not published: the client's queue is full"),
        }
    }
}
