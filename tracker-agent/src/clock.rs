//! Watches the host clock against the receiver's. The receiver's time is the truth for fixes;
//! the host clock only dates fixes from receivers that send no date. A host clock that jumps
//! (a bad RTC after a reboot, NTP stepping it) is logged and counted, and changes nothing else.

use chrono::{DateTime, Duration, Utc};

/// A change in the host-minus-receiver offset beyond this is a jump, not drift or latency.
const JUMP: Duration = Duration::seconds(60);

#[derive(Debug, Default)]
pub struct ClockWatch {
    offset: Option<Duration>,
}

impl ClockWatch {
    /// Compares the host clock with a fix dated by the receiver; returns the jump if the host
    /// clock moved by more than a minute relative to the receiver since the last fix.
    pub fn observe(&mut self, host_now: DateTime<Utc>, receiver_t: DateTime<Utc>) -> Option<Duration> {
        let offset = host_now - receiver_t;
        let previous = self.offset.replace(offset)?;
        let jump = offset - previous;
        (jump.abs() > JUMP).then_some(jump)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_steady_clock_is_quiet_and_a_jump_is_reported_once() {
        let mut watch = ClockWatch::default();
        let t0 = DateTime::from_timestamp(1_764_000_000, 0).unwrap();
        let receiver = |s: i64| t0 + Duration::seconds(s);
        // The host runs 2 s behind, with some latency.
        assert_eq!(watch.observe(receiver(0) - Duration::seconds(2), receiver(0)), None);
        assert_eq!(watch.observe(receiver(1) - Duration::milliseconds(1700), receiver(1)), None);
        // NTP steps the host clock forward by an hour.
        let jumped = receiver(2) + Duration::hours(1);
        assert_eq!(
            watch.observe(jumped, receiver(2)),
            Some(Duration::hours(1) + Duration::milliseconds(1700))
        );
        assert_eq!(watch.observe(receiver(3) + Duration::hours(1), receiver(3)), None);
    }
}
