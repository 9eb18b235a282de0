//! From raw receiver bytes to epochs: the framer and the epoch assembler together, with a
//! count of what was set aside and why. This is everything the agent does to receiver output
//! before a fix gets its sequence number.

use chrono::{DateTime, Utc};

use crate::epoch::{Epoch, EpochAssembler, Skip};
use crate::framer::{Framed, Framer, Reject};

/// Why input was set aside, as counted in `convoy_agent_nmea_rejected_total{reason}`.
pub const REJECT_REASONS: [&str; 5] = ["bad_checksum", "no_checksum", "too_long", "not_ascii", "unparsable"];

#[derive(Debug, Default)]
pub struct Decoder {
    framer: Framer,
    assembler: EpochAssembler,
    /// Counts by index of [`REJECT_REASONS`].
    rejected: [u64; REJECT_REASONS.len()],
}

impl Decoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes bytes as they come; calls `out` with each completed epoch.
    pub fn push(&mut self, bytes: &[u8], now: DateTime<Utc>, mut out: impl FnMut(Epoch)) {
        let Self { framer, assembler, rejected } = self;
        framer.push(bytes, |framed| match framed {
            Framed::Sentence(sentence) => match assembler.push(&sentence, now) {
                Ok(Some(epoch)) => out(epoch),
                Ok(None) | Err(Skip::Ignored) => {}
                Err(Skip::Unparsable) => {
                    rejected[4] += 1;
                    tracing::debug!(%sentence, "NMEA sentence could not be decoded");
                }
            },
            Framed::Rejected(why) => {
                rejected[Reject::ALL.iter().position(|r| *r == why).unwrap_or(0)] += 1;
                tracing::debug!(reason = why.reason(), "NMEA input rejected");
            }
        });
    }

    /// Forgets a partial sentence, e.g. after the device was reopened.
    pub fn reset_framing(&mut self) {
        self.framer = Framer::new();
    }

    /// Completes the epoch in progress (the receiver paused or stopped).
    pub fn flush(&mut self, now: DateTime<Utc>) -> Option<Epoch> {
        self.assembler.flush(now)
    }

    /// How much was set aside, by reason, in the order of [`REJECT_REASONS`].
    pub fn rejected(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        REJECT_REASONS.iter().copied().zip(self.rejected.iter().copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_764_000_000, 0).unwrap()
    }

    /// A sentence with a correct checksum and arbitrary fields, so the fuzzing gets past the
    /// framer into the decoders.
    fn checksummed_sentence() -> impl Strategy<Value = String> {
        let talker =
            prop_oneof![Just("GP"), Just("GN"), Just("GL"), Just("GA"), Just("BD"), Just("QZ"), Just("EC")];
        let kind = prop_oneof![
            Just("GGA"),
            Just("RMC"),
            Just("GNS"),
            Just("GLL"),
            Just("VTG"),
            Just("ZDA"),
            Just("GSA"),
            Just("GSV")
        ];
        let field = proptest::string::string_regex("[0-9A-Z.+-]{0,12}").unwrap();
        (talker, kind, proptest::collection::vec(field, 0..20)).prop_map(|(talker, kind, fields)| {
            let body = format!("{talker}{kind},{}", fields.join(","));
            let checksum = body.bytes().fold(0u8, |a, b| a ^ b);
            format!("${body}*{checksum:02X}\r\n")
        })
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..512), 0..16)) {
            let mut decoder = Decoder::new();
            for chunk in &chunks {
                decoder.push(chunk, now(), |_| {});
            }
            decoder.flush(now());
        }

        #[test]
        fn arbitrary_checksummed_sentences_never_panic(sentences in proptest::collection::vec(checksummed_sentence(), 0..40)) {
            let mut decoder = Decoder::new();
            let mut fixes = 0;
            for s in &sentences {
                decoder.push(s.as_bytes(), now(), |e| if let Epoch::Fix(f) = e {
                    assert!(f.lat.is_finite() && f.lon.is_finite() && f.lat.abs() <= 90.0 && f.lon.abs() <= 180.0, "{f:?}");
                    fixes += 1;
                });
            }
            decoder.flush(now());
            prop_assert!(fixes <= sentences.len());
        }
    }
}
