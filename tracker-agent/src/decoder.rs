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
