//! Writes NMEA 0183 sentences as a receiver does: GGA, GSA and RMC with correct checksums.
//! The agent itself only reads NMEA; this is for simulated receivers (the demo, tests and
//! benchmarks), so that they speak exactly what the agent reads.

use chrono::{DateTime, Utc};

/// Metres per second to knots.
const MPS_KNOTS: f64 = 3600.0 / 1852.0;

/// One simulated receiver epoch.
#[derive(Clone, Debug)]
pub struct SimFix {
    pub t: DateTime<Utc>,
    pub lat: f64,
    pub lon: f64,
    pub alt_m: f64,
    pub speed_mps: f64,
    pub course_deg: f64,
    pub sats: u32,
    pub hdop: f64,
}

/// The GGA, GSA and RMC sentences of one epoch, each ending in CRLF.
pub fn epoch_sentences(fix: &SimFix) -> String {
    let time = fix.t.format("%H%M%S%.3f");
    let date = fix.t.format("%d%m%y");
    let (lat, ns) = angle(fix.lat, 2, 'N', 'S');
    let (lon, ew) = angle(fix.lon, 3, 'E', 'W');
    let gga = format!(
        "GPGGA,{time},{lat},{ns},{lon},{ew},1,{:02},{:.1},{:.1},M,47.0,M,,",
        fix.sats, fix.hdop, fix.alt_m
    );
    let gsa = format!(
        "GPGSA,A,3,02,05,07,09,13,15,18,20,,,,,{:.1},{:.1},{:.1}",
        fix.hdop * 1.6,
        fix.hdop,
        fix.hdop * 1.3
    );
    let rmc = format!(
        "GPRMC,{time},A,{lat},{ns},{lon},{ew},{:.2},{:.2},{date},,,A",
        fix.speed_mps * MPS_KNOTS,
        fix.course_deg
    );
    [gga, gsa, rmc].iter().map(|body| sentence(body)).collect()
}

/// `$body*hh\r\n`.
pub fn sentence(body: &str) -> String {
    let checksum = body.bytes().fold(0u8, |acc, b| acc ^ b);
    format!("${body}*{checksum:02X}\r\n")
}

/// Degrees as NMEA `dddmm.mmmmm` with its hemisphere letter, rounded to 1e-5 minutes (2 cm).
fn angle(value: f64, degree_digits: usize, positive: char, negative: char) -> (String, char) {
    let hemisphere = if value < 0.0 { negative } else { positive };
    let hundred_thousandths = (value.abs() * 60.0 * 100_000.0).round() as u64;
    let degrees = hundred_thousandths / 6_000_000;
    let minutes = hundred_thousandths % 6_000_000;
    (format!("{degrees:0degree_digits$}{:02}.{:05}", minutes / 100_000, minutes % 100_000), hemisphere)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::epoch::{Epoch, EpochAssembler};
    use crate::framer::{Framed, Framer};
    use chrono::TimeZone;

    #[test]
    fn the_agent_reads_back_what_the_simulator_writes() {
        let fix = SimFix {
            t: Utc.with_ymd_and_hms(2026, 11, 28, 23, 59, 59).unwrap(),
            lat: 48.163506629,
            lon: -11.564388282,
            alt_m: 519.4,
            speed_mps: 12.5,
            course_deg: 87.25,
            sats: 9,
            hdop: 0.9,
        };
        let mut framer = Framer::new();
        let mut sentences = Vec::new();
        framer.push(epoch_sentences(&fix).as_bytes(), |f| match f {
            Framed::Sentence(s) => sentences.push(s),
            Framed::Rejected(why) => panic!("rejected: {why:?}"),
        });
        assert_eq!(sentences.len(), 3);
        let mut assembler = EpochAssembler::new();
        for s in &sentences {
            assert_eq!(assembler.push(s, fix.t), Ok(None), "{s}");
        }
        let Some(Epoch::Fix(read)) = assembler.flush(fix.t) else { panic!("no fix") };
        assert_eq!(read.t, fix.t);
        assert!((read.lat - fix.lat).abs() < 1e-6 && (read.lon - fix.lon).abs() < 1e-6, "{read:?}");
        assert!((read.speed_mps.unwrap() - 12.5).abs() < 0.01);
        assert_eq!(read.sats, Some(9));
        assert!(!read.date_from_host_clock);
    }

    #[test]
    fn angles_never_print_sixty_minutes() {
        assert_eq!(angle(47.9999999999, 2, 'N', 'S'), ("4800.00000".to_string(), 'N'));
        assert_eq!(angle(-0.5, 3, 'E', 'W'), ("00030.00000".to_string(), 'W'));
    }
}
