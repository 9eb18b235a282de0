//! Writes seed-* files into fuzz/corpus/{wire_message,spool_segment,mqtt_packets}/ from a real
//! receiver log (fuzz/corpus/nmea_stream/seed-dotmorten-NmeaSampleData-head.txt), through the
//! agent's own decoder, wire format, signing, spool and MQTT client's encoder.

use std::fs;
use std::path::Path;

use bytes::BytesMut;
use chrono::DateTime;
use convoy_agent::decoder::Decoder;
use convoy_agent::epoch::Epoch;
use convoy_agent::spool::{Spool, SpoolConfig};
use convoy_core::move_windows::windows_topic;
use convoy_core::signing::{BatchSignature, SecretKey, GENESIS};
use convoy_core::topics::{positions_topic, status_topic};
use convoy_core::{Position, PositionBatch, VehicleId};
use rumqttc::{Connect, Disconnect, PingReq, PubAck, Publish, QoS, Subscribe};

fn main() -> anyhow::Result<()> {
    let corpus = Path::new("corpus");
    let log = fs::read(corpus.join("nmea_stream/seed-dotmorten-NmeaSampleData-head.txt"))?;
    let vehicle = VehicleId::new("truck-07")?;
    let positions = fixes(&log);
    anyhow::ensure!(positions.len() >= 10, "the log gave {} fixes", positions.len());

    // Wire batches as the agent publishes them: unsigned, signed, one fix; and a status.
    let wire = corpus.join("wire_message");
    fs::create_dir_all(&wire)?;
    let unsigned = PositionBatch::new(vehicle.clone(), positions[..10].to_vec());
    fs::write(wire.join("seed-batch-unsigned.json"), unsigned.encode())?;
    let one = PositionBatch::new(vehicle.clone(), positions[..1].to_vec());
    fs::write(wire.join("seed-batch-one-fix.json"), one.encode())?;
    let key = SecretKey::generate();
    let mut signed = PositionBatch::new(vehicle.clone(), positions[..5].to_vec());
    signed.signed = Some(BatchSignature::sign(&key, &vehicle, &GENESIS, &signed.positions)?.0);
    fs::write(wire.join("seed-batch-signed.json"), signed.encode())?;
    let status = serde_json::json!({"v":1,"vehicle":"truck-07","state":"online","t":"2026-12-08T00:00:00.000Z",
        "version":"0.1.0","uptime_s":30,"gnss":"fix","spool_depth":0,"spool_oldest_age_s":null,"spool_dropped":0,
        "fixes":10,"thinned":0,"privacy":"always","move_windows":0,"withheld":0,"windows_rejected":0,"no_fix_epochs":0,
        "serial_errors":0,"clock_jumps":0,"nmea_rejected":{"bad_checksum":0,"no_checksum":0,"too_long":0,"not_ascii":0,"unparsable":0},
        "signing":format!("ed25519:{}", key.public().id())});
    fs::write(wire.join("seed-status.json"), status.to_string())?;

    // A spool segment as the agent's spool writes it.
    let dir = tempfile::tempdir()?;
    let (mut spool, _) = Spool::open(dir.path(), &vehicle, SpoolConfig::default())?;
    for p in &positions[..10] {
        spool.append(p)?;
    }
    spool.sync()?;
    drop(spool);
    let spooled = corpus.join("spool_segment");
    fs::create_dir_all(&spooled)?;
    for entry in fs::read_dir(dir.path())? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "seg") {
            fs::write(spooled.join("seed-segment-10-fixes.seg"), fs::read(&path)?)?;
        }
    }

    // What the agent's MQTT client sends: a login, a subscription to its move windows, a
    // batch, an acknowledgement, a ping, a goodbye; and a status on its own.
    let mqtt = corpus.join("mqtt_packets");
    fs::create_dir_all(&mqtt)?;
    let mut session = BytesMut::new();
    let mut connect = Connect::new("convoy-agent-truck-07");
    connect.set_login("truck-07", "a-vehicle-password");
    connect.write(&mut session)?;
    // rumqttc numbers packets as it sends them (its state machine); 1 as the first would be.
    let mut subscribe = Subscribe::new(windows_topic(&vehicle), QoS::AtLeastOnce);
    subscribe.pkid = 1;
    subscribe.write(&mut session)?;
    let mut publish = Publish::new(positions_topic(&vehicle), QoS::AtLeastOnce, signed.encode());
    publish.pkid = 2;
    publish.write(&mut session)?;
    PubAck::new(7).write(&mut session)?;
    PingReq.write(&mut session)?;
    Disconnect.write(&mut session)?;
    fs::write(mqtt.join("seed-agent-session.bin"), &session)?;
    let mut status_only = BytesMut::new();
    connect.write(&mut status_only)?;
    let mut publish = Publish::new(status_topic(&vehicle), QoS::AtLeastOnce, status.to_string());
    publish.pkid = 2;
    publish.retain = true;
    publish.write(&mut status_only)?;
    fs::write(mqtt.join("seed-agent-status.bin"), &status_only)?;
    Ok(())
}

/// The log's fixes, numbered from 1, as the agent's publisher turns them into positions.
fn fixes(log: &[u8]) -> Vec<Position> {
    let now = DateTime::from_timestamp(1_780_000_000, 0).unwrap();
    let mut decoder = Decoder::new();
    let mut epochs = Vec::new();
    decoder.push(log, now, |e| epochs.push(e));
    epochs.extend(decoder.flush(now));
    epochs
        .into_iter()
        .filter_map(|e| match e {
            Epoch::Fix(fix) => Some(fix),
            Epoch::NoFix => None,
        })
        .zip(1..)
        .map(|(fix, seq)| Position {
            seq,
            t: fix.t,
            lat: fix.lat,
            lon: fix.lon,
            alt_m: fix.alt_m,
            speed_mps: fix.speed_mps,
            course_deg: fix.course_deg,
            fix: Some(fix.fix),
            sats: fix.sats,
            hdop: fix.hdop,
            accuracy_m: None,
        })
        .collect()
}
