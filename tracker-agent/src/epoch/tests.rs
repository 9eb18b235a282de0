use super::*;
use chrono::TimeZone;

/// Three epochs of a GlobalSat BU-353-S4 (from gpsd's regression log bu353s4.log).
const BU353S4: &[&str] = &[
    "$GPGGA,030719.000,3747.0873,S,17518.8938,E,1,08,1.1,59.9,M,23.7,M,,0000*7D",
    "$GPGSA,A,3,17,28,06,01,30,20,26,13,,,,,1.8,1.1,1.5*33",
    "$GPRMC,030719.000,A,3747.0873,S,17518.8938,E,0.69,181.39,311214,,,A*7D",
    "$GPGGA,030720.000,3747.0875,S,17518.8938,E,1,08,1.1,59.8,M,23.7,M,,0000*70",
    "$GPGSA,A,3,17,28,06,01,30,20,26,13,,,,,1.8,1.1,1.5*33",
    "$GPRMC,030720.000,A,3747.0875,S,17518.8938,E,1.15,181.39,311214,,,A*7B",
    "$GPGGA,030721.000,3747.0876,S,17518.8934,E,1,08,1.1,60.1,M,23.7,M,,0000*7D",
    "$GPGSV,3,1,12,17,72,207,32,28,59,095,31,06,35,347,25,01,29,132,23*7B",
    "$GPRMC,030721.000,A,3747.0876,S,17518.8934,E,0.89,181.39,311214,,,A*71",
];

fn host_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap()
}

fn run(sentences: &[&str], now: DateTime<Utc>) -> Vec<Epoch> {
    let mut assembler = EpochAssembler::new();
    let mut epochs = Vec::new();
    for s in sentences {
        if let Ok(Some(e)) = assembler.push(s, now) {
            epochs.push(e);
        }
    }
    epochs.extend(assembler.flush(now));
    epochs
}

fn fixes(epochs: &[Epoch]) -> Vec<&Fix> {
    epochs.iter().filter_map(|e| if let Epoch::Fix(f) = e { Some(f) } else { None }).collect()
}

#[test]
fn gga_rmc_and_gsa_of_one_time_make_one_fix() {
    let epochs = run(BU353S4, host_now());
    let fixes = fixes(&epochs);
    assert_eq!(fixes.len(), 3);
    let first = fixes[0];
    assert_eq!(first.t, Utc.with_ymd_and_hms(2014, 12, 31, 3, 7, 19).unwrap());
    // gpsd reports lat -37.784788333, lon 175.314896667 for this epoch.
    assert!((first.lat - -37.784788333).abs() < 1e-9, "{}", first.lat);
    assert!((first.lon - 175.314896667).abs() < 1e-9, "{}", first.lon);
    assert_eq!(first.alt_m, Some(59.9));
    assert_eq!(first.hdop, Some(1.1));
    assert_eq!(first.fix, FixMode::ThreeD);
    assert_eq!(first.sats, Some(8));
    assert!((first.speed_mps.unwrap() - 0.69 * crate::nav::KNOT_MPS).abs() < 1e-6);
    assert!((first.course_deg.unwrap() - 181.39).abs() < 1e-4);
    assert!(!first.date_from_host_clock);
    assert_eq!(fixes[2].t, Utc.with_ymd_and_hms(2014, 12, 31, 3, 7, 21).unwrap());
}

#[test]
fn an_epoch_without_a_fix_is_no_fix_and_not_a_position() {
    // Holux GM-210 before its first fix (gpsd's holux-gm-210.log): GGA quality 0, RMC V.
    let sentences = [
        "$GPGGA,012519.563,4131.7353,N,09336.8150,W,0,00,50.0,280.2,M,-31.6,M,0.0,0000*7D",
        "$GPGSA,A,1,,,,,,,,,,,,,50.0,50.0,50.0*05",
        "$GPRMC,012519.563,V,4131.7353,N,09336.8150,W,0.00,,050405,,*14",
        "$GPGGA,012520.563,4131.7353,N,09336.8150,W,0,00,50.0,280.2,M,-31.6,M,0.0,0000*77",
    ];
    assert_eq!(run(&sentences, host_now()), vec![Epoch::NoFix, Epoch::NoFix]);
}

#[test]
fn without_any_date_the_host_clock_gives_it_and_says_so() {
    let ggas = [
        "$GPGGA,030719.000,3747.0873,S,17518.8938,E,1,08,1.1,59.9,M,23.7,M,,0000*7D",
        "$GPGGA,030720.000,3747.0875,S,17518.8938,E,1,08,1.1,59.8,M,23.7,M,,0000*70",
    ];
    let epochs = run(&ggas, Utc.with_ymd_and_hms(2026, 11, 28, 3, 8, 0).unwrap());
    let fixes = fixes(&epochs);
    assert_eq!(fixes.len(), 2);
    assert_eq!(fixes[0].t, Utc.with_ymd_and_hms(2026, 11, 28, 3, 7, 19).unwrap());
    assert!(fixes[0].date_from_host_clock && fixes[1].date_from_host_clock);
    assert_eq!(fixes[0].speed_mps, None);
}

#[test]
fn a_host_clock_just_past_midnight_puts_a_late_fix_on_the_previous_day() {
    let gga = ["$GPGGA,235959.000,3747.0873,S,17518.8938,E,1,08,1.1,59.9,M,23.7,M,,0000*70"];
    let epochs = run(&gga, Utc.with_ymd_and_hms(2026, 11, 29, 0, 0, 1).unwrap());
    assert_eq!(fixes(&epochs)[0].t, Utc.with_ymd_and_hms(2026, 11, 28, 23, 59, 59).unwrap());
}

#[test]
fn a_known_date_rolls_over_at_utc_midnight() {
    let sentences = [
        "$GPRMC,235959.000,A,3747.0873,S,17518.8938,E,0.69,181.39,311214,,,A*70",
        "$GPGGA,000000.000,3747.0873,S,17518.8938,E,1,08,1.1,59.9,M,23.7,M,,0000*71",
    ];
    let epochs = run(&sentences, host_now());
    let fixes = fixes(&epochs);
    assert_eq!(fixes[0].t, Utc.with_ymd_and_hms(2014, 12, 31, 23, 59, 59).unwrap());
    assert_eq!(fixes[1].t, Utc.with_ymd_and_hms(2015, 1, 1, 0, 0, 0).unwrap());
    assert!(!fixes[1].date_from_host_clock);
}

#[test]
fn sentences_that_are_not_navigation_are_ignored_and_broken_ones_reported() {
    let mut assembler = EpochAssembler::new();
    let gsv = "$GPGSV,3,1,12,17,72,207,32,28,59,095,31,06,35,347,25,01,29,132,23*7B";
    assert_eq!(assembler.push(gsv, host_now()), Err(Skip::Ignored));
    assert_eq!(assembler.push("$PGRME,15.0,M,45.0,M,25.0,M*00", host_now()), Err(Skip::Ignored));
    assert_eq!(
        assembler.push("!AIVDM,1,1,,A,13aEOK?P00PD2wVMdLDRhgvL289?,0*26", host_now()),
        Err(Skip::Ignored)
    );
    assert_eq!(assembler.push("$GPGGA,xx,yy*00", host_now()), Err(Skip::Unparsable));
}

#[test]
fn late_sentences_of_an_epoch_already_flushed_make_no_second_fix() {
    let mut assembler = EpochAssembler::new();
    assert_eq!(assembler.push(BU353S4[0], host_now()), Ok(None));
    assert!(matches!(assembler.flush(host_now()), Some(Epoch::Fix(_))));
    // The RMC of the same epoch arrives after the quiet flush.
    assert_eq!(assembler.push(BU353S4[2], host_now()), Ok(None));
    assert_eq!(assembler.flush(host_now()), None);
    // The next epoch is made as usual.
    assert_eq!(assembler.push(BU353S4[3], host_now()), Ok(None));
    assert!(matches!(assembler.flush(host_now()), Some(Epoch::Fix(_))));
}
