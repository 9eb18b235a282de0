//! The navigation content of one NMEA sentence, whatever its type and talker.
//!
//! Sentences are decoded with the `nmea` crate first. Where it refuses a sentence that real
//! receivers send (GGA with quality 9 or an empty quality, RMC with an odd variation field,
//! unknown talkers such as EC or GQ, sentences over its length limit), a tolerant reading of the
//! same fields takes over: the checksum was already verified by the framer, so a field that does
//! not parse is taken as absent rather than failing the whole sentence.

use chrono::{NaiveDate, NaiveTime};
use convoy_core::FixMode;
use nmea::sentences::gsa::GsaMode2;
use nmea::sentences::rmc::RmcStatusOfFix;
use nmea::sentences::FixType;
use nmea::ParseResult;

/// Knots to metres per second.
pub const KNOT_MPS: f64 = 1852.0 / 3600.0;

/// What one sentence says about the current epoch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Nav {
    /// The UTC time of fix, for sentences that carry one.
    pub time: Option<NaiveTime>,
    pub date: Option<NaiveDate>,
    /// Some(true) when the sentence reports a valid fix, Some(false) when it reports none.
    pub valid: Option<bool>,
    pub lat_lon: Option<(f64, f64)>,
    pub alt_m: Option<f64>,
    pub speed_mps: Option<f64>,
    pub course_deg: Option<f64>,
    pub sats: Option<u32>,
    pub hdop: Option<f64>,
    /// The fix dimension, from GSA.
    pub mode: Option<FixMode>,
}

/// Sentence types that carry navigation data.
const NAVIGATION: [&str; 7] = ["GGA", "RMC", "GNS", "GLL", "VTG", "ZDA", "GSA"];

/// A navigation sentence with nothing usable in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unreadable;

/// Reads a checksummed sentence. `Ok(None)`: not navigation data (satellites in view, AIS,
/// depth, proprietary).
pub fn read(sentence: &str) -> Result<Option<Nav>, Unreadable> {
    let Some(kind) = sentence_type(sentence) else { return Ok(None) };
    if !NAVIGATION.contains(&kind) {
        return Ok(None);
    }
    let mut nav = match nmea::parse_str(sentence) {
        Ok(parsed) => from_nmea(parsed),
        Err(_) => Some(tolerant(kind, sentence).ok_or(Unreadable)?),
    };
    // A position off the globe is no position, whatever the sentence claims.
    if let Some(nav) = &mut nav {
        nav.lat_lon = nav.lat_lon.filter(|(lat, lon)| lat.abs() <= 90.0 && lon.abs() <= 180.0);
    }
    Ok(nav)
}

/// `GGA` of `$GNGGA,...`; proprietary sentences (`$P...`) have no standard type.
fn sentence_type(sentence: &str) -> Option<&str> {
    let address = sentence.get(1..)?.split(',').next()?;
    if address.starts_with('P') || address.len() != 5 {
        return None;
    }
    address.get(2..5)
}

fn from_nmea(parsed: ParseResult) -> Option<Nav> {
    let nav = match parsed {
        ParseResult::GGA(gga) => {
            let valid = gga.fix_type.map(is_real_fix);
            Nav {
                time: gga.fix_time,
                valid,
                lat_lon: gga.latitude.zip(gga.longitude),
                alt_m: gga.altitude.map(widen),
                sats: gga.fix_satellites,
                hdop: gga.hdop.map(widen),
                ..Nav::default()
            }
        }
        ParseResult::RMC(rmc) => Nav {
            time: rmc.fix_time,
            date: rmc.fix_date,
            valid: Some(rmc.status_of_fix != RmcStatusOfFix::Invalid),
            lat_lon: rmc.lat.zip(rmc.lon),
            speed_mps: rmc.speed_over_ground.map(|k| widen(k) * KNOT_MPS),
            course_deg: rmc.true_course.map(widen),
            ..Nav::default()
        },
        ParseResult::GNS(gns) => Nav {
            time: gns.fix_time,
            valid: Some(!matches!(FixType::from(gns.faa_modes), FixType::Invalid)),
            lat_lon: gns.lat.zip(gns.lon),
            alt_m: gns.alt.map(widen),
            sats: Some(u32::from(gns.nsattelites)),
            hdop: gns.hdop.map(widen),
            ..Nav::default()
        },
        ParseResult::GLL(gll) => Nav {
            time: gll.fix_time,
            valid: Some(gll.valid),
            lat_lon: gll.latitude.zip(gll.longitude),
            ..Nav::default()
        },
        ParseResult::VTG(vtg) => Nav {
            speed_mps: vtg.speed_over_ground.map(|k| widen(k) * KNOT_MPS),
            course_deg: vtg.true_course.map(widen),
            ..Nav::default()
        },
        ParseResult::ZDA(zda) => Nav {
            time: zda.utc_time,
            date: match (zda.year, zda.month, zda.day) {
                (Some(y), Some(m), Some(d)) => {
                    NaiveDate::from_ymd_opt(i32::from(y), u32::from(m), u32::from(d))
                }
                _ => None,
            },
            ..Nav::default()
        },
        ParseResult::GSA(gsa) => Nav {
            mode: match gsa.mode2 {
                GsaMode2::Fix2D => Some(FixMode::TwoD),
                GsaMode2::Fix3D => Some(FixMode::ThreeD),
                GsaMode2::NoFix => None,
            },
            hdop: gsa.hdop.map(widen),
            ..Nav::default()
        },
        _ => return None,
    };
    Some(nav)
}

/// Field-by-field reading of the sentence types the agent uses.
fn tolerant(kind: &str, sentence: &str) -> Option<Nav> {
    let body = sentence.get(1..)?.rsplit_once('*').map_or(sentence.get(1..)?, |(body, _)| body);
    let f: Vec<&str> = body.split(',').collect();
    let field = |i: usize| f.get(i).copied().filter(|s| !s.is_empty());
    let number = |i: usize| field(i).and_then(|s| s.parse::<f64>().ok()).filter(|v| v.is_finite());
    let position = |lat: usize, lon: usize| {
        Some((angle(field(lat)?, field(lat + 1)?)?, angle(field(lon)?, field(lon + 1)?)?))
    };
    let nav = match kind {
        "GGA" => Nav {
            time: field(1).and_then(time),
            // Quality 0 is no fix, 6 dead reckoning, 7 manual input, 8 a simulator: none is a
            // measured position. An empty quality says nothing; any other digit (9 included)
            // is a fix.
            valid: field(6).and_then(|q| q.parse::<u8>().ok()).map(|q| !matches!(q, 0 | 6 | 7 | 8)),
            lat_lon: position(2, 4),
            sats: field(7).and_then(|s| s.parse().ok()),
            hdop: number(8),
            alt_m: number(9),
            ..Nav::default()
        },
        "RMC" => Nav {
            time: field(1).and_then(time),
            valid: field(2).map(|s| s == "A"),
            lat_lon: position(3, 5),
            speed_mps: number(7).map(|k| k * KNOT_MPS),
            course_deg: number(8),
            date: field(9).and_then(|d| NaiveDate::parse_from_str(d, "%d%m%y").ok()),
            ..Nav::default()
        },
        "GNS" => Nav {
            time: field(1).and_then(time),
            // One mode letter per constellation; N is no fix. Any other letter is a fix.
            valid: field(6).map(|modes| modes.chars().any(|c| c != 'N')),
            lat_lon: position(2, 4),
            sats: field(7).and_then(|s| s.parse().ok()),
            hdop: number(8),
            alt_m: number(9),
            ..Nav::default()
        },
        "GLL" => Nav {
            time: field(5).and_then(time),
            valid: field(6).map(|s| s == "A"),
            lat_lon: position(1, 3),
            ..Nav::default()
        },
        "VTG" => Nav { course_deg: number(1), speed_mps: number(5).map(|k| k * KNOT_MPS), ..Nav::default() },
        "ZDA" => Nav {
            time: field(1).and_then(time),
            date: match (field(2), field(3), field(4)) {
                (Some(d), Some(m), Some(y)) => {
                    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
                }
                _ => None,
            },
            ..Nav::default()
        },
        "GSA" => Nav {
            mode: match field(2) {
                Some("2") => Some(FixMode::TwoD),
                Some("3") => Some(FixMode::ThreeD),
                _ => None,
            },
            hdop: number(16),
            ..Nav::default()
        },
        _ => return None,
    };
    let usable = nav.time.is_some()
        || nav.lat_lon.is_some()
        || nav.speed_mps.is_some()
        || nav.mode.is_some()
        || nav.date.is_some();
    usable.then_some(nav)
}

/// Whether a GGA fix quality is a measured position: not "invalid", not a dead-reckoning
/// estimate (the wire format cannot mark one yet), not typed in by hand or made up by the
/// receiver's simulator mode.
fn is_real_fix(quality: FixType) -> bool {
    !matches!(quality, FixType::Invalid | FixType::Estimated | FixType::Manual | FixType::Simulation)
}

/// `hhmmss` with optional fractions.
fn time(text: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(text, "%H%M%S%.f").ok()
}

/// NMEA `dddmm.mmmm` with its hemisphere letter, to signed degrees.
fn angle(text: &str, hemisphere: &str) -> Option<f64> {
    let value: f64 = text.parse().ok()?;
    let degrees = (value / 100.0).trunc();
    let minutes = value - degrees * 100.0;
    if !(0.0..60.0).contains(&minutes) {
        return None;
    }
    let magnitude = degrees + minutes / 60.0;
    match hemisphere {
        "N" | "E" => Some(magnitude),
        "S" | "W" => Some(-magnitude),
        _ => None,
    }
}

/// The decoder gives some fields as `f32`; widen them by their decimal text, so `0.9` stays
/// `0.9` and does not become `0.8999999761581421`.
fn widen(value: f32) -> f64 {
    value.to_string().parse().unwrap_or(f64::from(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tolerant_reading_agrees_with_the_crate_on_ordinary_sentences() {
        for sentence in [
            "$GPGGA,030719.000,3747.0873,S,17518.8938,E,1,08,1.1,59.9,M,23.7,M,,0000*7D",
            "$GPRMC,030719.000,A,3747.0873,S,17518.8938,E,0.69,181.39,311214,,,A*7D",
            "$GNGLL,4111.59903,N,11156.54809,W,213712.000,A,A*50",
        ] {
            let kind = sentence_type(sentence).unwrap();
            let crate_nav = from_nmea(nmea::parse_str(sentence).unwrap()).unwrap();
            let own = tolerant(kind, sentence).unwrap();
            assert_eq!(own.time, crate_nav.time, "{sentence}");
            assert_eq!(own.valid, crate_nav.valid, "{sentence}");
            let ((a, b), (c, d)) = (own.lat_lon.unwrap(), crate_nav.lat_lon.unwrap());
            assert!((a - c).abs() < 1e-9 && (b - d).abs() < 1e-9, "{sentence}");
        }
    }

    #[test]
    fn what_the_crate_refuses_is_still_read() {
        // GGA quality 9 (some receivers' SBAS fix).
        let gga9 =
            read("$GPGGA,123519,4807.038,N,01131.000,E,9,08,0.9,545.4,M,46.9,M,,*4F").unwrap().unwrap();
        assert_eq!(gga9.valid, Some(true));
        assert!((gga9.lat_lon.unwrap().0 - 48.1173).abs() < 1e-9);
        // GGA with an empty quality field says nothing about validity.
        let empty =
            read("$GPGGA,123519,4807.038,N,01131.000,E,,08,0.9,545.4,M,46.9,M,,*76").unwrap().unwrap();
        assert_eq!(empty.valid, None);
        // An unknown talker (EC: electronic chart display).
        let gll = read("$ECGLL,5119.881,N,00125.169,E,164326,A,D*52").unwrap().unwrap();
        assert_eq!(gll.valid, Some(true));
        assert_eq!(gll.time, NaiveTime::from_hms_opt(16, 43, 26));
    }

    #[test]
    fn a_position_off_the_globe_is_dropped() {
        let nav = read(&checksummed("GPGGA,120000,9130.000,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"))
            .unwrap()
            .unwrap();
        assert_eq!(nav.lat_lon, None);
        let nav =
            read(&checksummed("GPRMC,120000,A,4807.038,N,18100.000,E,0.0,0.0,010126,,,A")).unwrap().unwrap();
        assert_eq!(nav.lat_lon, None);
    }

    fn checksummed(body: &str) -> String {
        format!("${body}*{:02X}", body.bytes().fold(0u8, |a, b| a ^ b))
    }

    #[test]
    fn other_sentences_are_not_navigation() {
        assert_eq!(read("$PGRME,15.0,M,45.0,M,25.0,M*00"), Ok(None));
        assert_eq!(read("!AIVDM,1,1,,A,13aEOK?P00PD2wVMdLDRhgvL289?,0*26"), Ok(None));
        assert_eq!(read("$GPGSV,3,1,12,17,72,207,32,28,59,095,31,06,35,347,25,01,29,132,23*7B"), Ok(None));
        assert_eq!(read("$SDDPT,2.4,,*53"), Ok(None));
        assert_eq!(read("$PQGSV,1,1,00*00"), Ok(None));
    }

    #[test]
    fn a_navigation_sentence_with_nothing_usable_is_an_error() {
        assert_eq!(read("$GPGGA,xx,yy*00"), Err(Unreadable));
    }
}
