//! CSV (RFC 4180): a header row, then a row per fix in vehicle order and then fix-time order,
//! lines ending in CRLF. An absent value is an empty field; a field with a comma, a quote or a
//! line break is quoted, its quotes doubled.
//!
//! Spreadsheets run a cell that begins with `=`, `+`, `-`, `@`, a tab or a CR as a formula
//! (CSV injection): such a field is written with a `'` before it (OWASP's rule), which shows the
//! text as text. A field that is a plain number (`-33.8`, `1e-7`) is not a formula and is kept
//! as it is, so negative coordinates stay numbers. Of the columns, only the vehicle id comes
//! from outside, and it may begin with `-` (`[A-Za-z0-9._-]`); every field is guarded all the
//! same, so a column added later is too.

use convoy_core::position::format_time;
use convoy_core::VehicleId;
use convoy_store::StoredPosition;

use super::{ExportMeta, FormatWriter};

/// The columns, in order.
pub(super) const HEADER: [&str; 14] = [
    "vehicle",
    "seq",
    "t",
    "lat",
    "lon",
    "speed_mps",
    "course_deg",
    "alt_m",
    "hdop",
    "sats",
    "fix",
    "late",
    "implausible",
    "received_at",
];

pub(super) struct Csv;

/// `text` as one CSV field, neutralised if a spreadsheet would take it for a formula.
fn field(out: &mut Vec<u8>, text: &str) {
    let guarded;
    let text = if is_formula(text) {
        guarded = format!("'{text}");
        &guarded
    } else {
        text
    };
    if text.contains([',', '"', '\r', '\n']) {
        out.push(b'"');
        out.extend_from_slice(text.replace('"', "\"\"").as_bytes());
        out.push(b'"');
    } else {
        out.extend_from_slice(text.as_bytes());
    }
}

/// Whether a spreadsheet would read `text` as a formula: it begins with one of OWASP's
/// characters and is not a plain number.
fn is_formula(text: &str) -> bool {
    text.starts_with(['=', '+', '-', '@', '\t', '\r']) && !is_plain_number(text)
}

/// `[+-]digits[.digits][e[+-]digits]`, what Rust writes for an f64 or an integer.
fn is_plain_number(text: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e.strip_prefix(['+', '-']).unwrap_or(e))),
        None => (unsigned, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((whole, fraction)) => digits(whole) && digits(fraction),
        None => digits(mantissa),
    };
    mantissa_ok && exponent.is_none_or(digits)
}

fn optional(value: Option<impl ToString>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// One CSV record of `fields`, each quoted where needed and guarded against formulas, ended by
/// CRLF: for other CSV files (the alert history) written by the same rules.
pub fn row(out: &mut Vec<u8>, fields: &[String]) {
    for (n, text) in fields.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        field(out, text);
    }
    out.extend_from_slice(b"\r\n");
}

impl FormatWriter for Csv {
    fn start(&mut self, out: &mut Vec<u8>, _meta: &ExportMeta) {
        row(out, &HEADER.map(str::to_string));
    }

    fn fix(&mut self, out: &mut Vec<u8>, vehicle: &VehicleId, fix: &StoredPosition) {
        let p = &fix.position;
        row(
            out,
            &[
                vehicle.to_string(),
                p.seq.to_string(),
                format_time(&p.t),
                p.lat.to_string(),
                p.lon.to_string(),
                optional(p.speed_mps),
                optional(p.course_deg),
                optional(p.alt_m),
                optional(p.hdop),
                optional(p.sats),
                optional(p.fix.map(|f| f.as_str())),
                fix.late.to_string(),
                optional(fix.implausible.map(|r| r.as_str())),
                format_time(&fix.received_at),
            ],
        );
    }

    fn finish(&mut self, _out: &mut Vec<u8>) {}
}

#[cfg(test)]
pub(crate) mod reader {
    //! An RFC 4180 reader, to read exports back in tests.

    /// The records of a CSV text whose every line ends in CRLF; panics on a malformed one.
    pub(crate) fn records(text: &str) -> Vec<Vec<String>> {
        let mut records = Vec::new();
        let mut record = Vec::new();
        let mut field = String::new();
        let mut chars = text.chars().peekable();
        let mut in_quotes = false;
        while let Some(c) = chars.next() {
            if in_quotes {
                match c {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    '"' => in_quotes = false,
                    c => field.push(c),
                }
                continue;
            }
            match c {
                '"' => {
                    assert!(field.is_empty(), "a quote inside an unquoted field");
                    in_quotes = true;
                }
                ',' => record.push(std::mem::take(&mut field)),
                '\r' => {
                    assert_eq!(chars.next(), Some('\n'), "CR without LF");
                    record.push(std::mem::take(&mut field));
                    records.push(std::mem::take(&mut record));
                }
                '\n' => panic!("a line ends in LF without CR"),
                c => field.push(c),
            }
        }
        assert!(!in_quotes, "unterminated quote");
        assert!(field.is_empty() && record.is_empty(), "the last record has no CRLF");
        records
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::test_support::*;
    use super::super::{write_all, ExportFormat};
    use super::*;

    fn csv(tracks: &[(VehicleId, Vec<StoredPosition>)]) -> Vec<Vec<String>> {
        reader::records(&String::from_utf8(write_all(ExportFormat::Csv, &meta(), tracks)).unwrap())
    }

    #[test]
    fn a_header_then_a_row_per_fix() {
        let records = csv(&[(vehicle("truck-07"), vec![fix(1, 0), fix(3, 2)])]);
        assert_eq!(records[0], HEADER.map(str::to_string));
        assert_eq!(
            records[1],
            [
                "truck-07",
                "1",
                "2026-11-28T09:00:00.000Z",
                "48.137154",
                "11",
                "12.4",
                "87.5",
                "519.5",
                "0.9",
                "9",
                "3d",
                "false",
                "",
                "2026-11-28T09:00:01.000Z"
            ]
        );
        assert_eq!(records[2][12], "too_fast");
        assert_eq!(records.len(), 3);
    }

    #[test]
    fn fields_with_commas_quotes_and_line_breaks_are_quoted() {
        let mut out = Vec::new();
        row(&mut out, &["a,b".into(), "say \"hi\"".into(), "two\r\nlines".into(), "plain".into()]);
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            "\"a,b\",\"say \"\"hi\"\"\",\"two\r\nlines\",plain\r\n"
        );
        assert_eq!(
            reader::records(std::str::from_utf8(&out).unwrap()),
            vec![vec!["a,b", "say \"hi\"", "two\r\nlines", "plain"]]
        );
    }

    #[test]
    fn fields_a_spreadsheet_would_run_get_a_quote_mark_and_numbers_stay_numbers() {
        let mut out = Vec::new();
        let cells = [
            "=HYPERLINK(\"x\")",
            "+1+1",
            "-A1",
            "@SUM(A1)",
            "\tx",
            "\rx",
            "-cmd",
            "-33.8",
            "+2",
            "1e-7",
            "-",
        ];
        row(&mut out, &cells.map(str::to_string));
        assert_eq!(
            reader::records(std::str::from_utf8(&out).unwrap()),
            vec![vec![
                "'=HYPERLINK(\"x\")",
                "'+1+1",
                "'-A1",
                "'@SUM(A1)",
                "'\tx",
                "'\rx",
                "'-cmd",
                "-33.8",
                "+2",
                "1e-7",
                "'-"
            ]]
        );
    }

    #[test]
    fn a_vehicle_id_beginning_with_a_dash_is_exported_as_text() {
        let records = csv(&[(vehicle("-A1"), vec![fix(1, 0)])]);
        assert_eq!(records[1][0], "'-A1");
    }

    proptest! {
        /// Whatever a field holds, no cell of the CSV begins with a formula character unless it
        /// is a plain number, and the text is the field's, behind a `'` when it was guarded.
        #[test]
        fn no_field_reads_as_a_formula(text in "[-=+@\t\r0-9a-zA-Z.,\"\n eE]{0,12}") {
            let mut out = Vec::new();
            row(&mut out, std::slice::from_ref(&text));
            let cell = reader::records(std::str::from_utf8(&out).unwrap()).remove(0).remove(0);
            let formula_start = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
            prop_assert!(!formula_start || cell.parse::<f64>().is_ok(), "{:?} from {:?}", cell, text);
            match cell.strip_prefix('\'') {
                Some(rest) if is_formula(&text) => prop_assert_eq!(rest, text.as_str()),
                _ => prop_assert_eq!(&cell, &text),
            }
        }

        /// Any f64 (coordinates, speeds) is written as a plain number, never guarded.
        #[test]
        fn numbers_are_never_guarded(value in any::<f64>().prop_filter("finite", |v| v.is_finite())) {
            prop_assert!(!is_formula(&value.to_string()));
        }

        /// Any tracks give CSV that reads back to every fix: coordinates exactly, times to the
        /// millisecond.
        #[test]
        fn any_tracks_read_back(tracks in any_tracks()) {
            let records = csv(&tracks);
            let expected: Vec<(&VehicleId, &StoredPosition)> =
                tracks.iter().flat_map(|(v, fixes)| fixes.iter().map(move |f| (v, f))).collect();
            prop_assert_eq!(records.len(), expected.len() + 1);
            for (record, (vehicle, fix)) in records[1..].iter().zip(expected) {
                prop_assert_eq!(record.len(), HEADER.len());
                prop_assert_eq!(&record[0], vehicle.as_str());
                prop_assert_eq!(record[1].parse::<u64>().unwrap(), fix.position.seq);
                prop_assert_eq!(record[2].parse::<chrono::DateTime<chrono::Utc>>().unwrap(), fix.position.t);
                prop_assert_eq!(record[3].parse::<f64>().unwrap(), fix.position.lat);
                prop_assert_eq!(record[4].parse::<f64>().unwrap(), fix.position.lon);
                prop_assert_eq!(record[5].parse::<f64>().ok(), fix.position.speed_mps);
                prop_assert_eq!(record[7].parse::<f64>().ok(), fix.position.alt_m);
                prop_assert_eq!(record[9].parse::<u32>().ok(), fix.position.sats);
            }
        }
    }
}
