//! The entry point of the fuzz target `mqtt_packets` (`fuzz/fuzz_targets/mqtt_packets.rs`),
//! public for that target and for the corpus replay test (`tests/fuzz_corpus.rs`), so the test
//! runs exactly what the fuzzer ran. Not an API.

use super::packet::{ClientPacket, Framer, PacketError};
use super::MAX_CONNECT_BYTES;
use crate::embedded::MAX_PACKET_BYTES;

/// The size of one read from a client's connection (the framer reserves this much).
const READ: usize = 8 * 1024;

/// What the door read of a client's bytes.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct MqttOutcome {
    /// Whole packets read, up to the first malformed one.
    pub packets: Vec<ClientPacket>,
    /// Why reading stopped before the end (the door closes the connection then).
    pub refused: Option<PacketError>,
}

/// Any bytes as what a client sends to the MQTT front door: cut into packets in reads of
/// 8 KiB (the first packet under the CONNECT size limit, later ones under the packet size
/// limit, as after a login) and each packet parsed, up to the first error. Never panics; a
/// packet parsed is encoded and parsed back unchanged.
pub fn mqtt_packets(data: &[u8]) -> MqttOutcome {
    let mut framer = Framer::new(MAX_CONNECT_BYTES);
    let mut outcome = MqttOutcome::default();
    for read in data.chunks(READ) {
        framer.push(read);
        loop {
            let frame = match framer.next_frame() {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(e) => {
                    outcome.refused = Some(e);
                    return outcome;
                }
            };
            framer.set_max_remaining(MAX_PACKET_BYTES);
            match ClientPacket::parse(&frame) {
                Ok(packet) => {
                    let mut again = Framer::new(usize::MAX);
                    again.push(&packet.encode());
                    let frame = again.next_frame().expect("a packet encoded frames").expect("whole");
                    assert_eq!(ClientPacket::parse(&frame).as_ref(), Ok(&packet));
                    outcome.packets.push(packet);
                }
                Err(e) => {
                    outcome.refused = Some(e);
                    return outcome;
                }
            }
        }
    }
    outcome
}
