//! Track files: GPX 1.1, GeoJSON, KML 2.2 and CSV, written while the fixes stream out of the
//! store (a day at 10 Hz never sits whole in memory): the gateway's track downloads and move
//! exports use these writers.
//!
//! The writers are pure: [`ExportWriter`] takes vehicles and their fixes in fix-time order and
//! appends bytes. A vehicle's track is cut into segments where its data has a gap (two fixes
//! more than [`GAP_AFTER_S`] seconds apart, as the replay's gaps):
//!
//! | format | a vehicle | a segment | a fix |
//! |---|---|---|---|
//! | GPX 1.1 | `<trk>` named by it | `<trkseg>` | `<trkpt>` with `<ele>`, `<time>`, `<fix>`, `<sat>`, `<hdop>`; speed and course in Garmin's `TrackPointExtension` v2, the sequence number and marks in Convoy's own namespace |
//! | KML 2.2 | `<Folder>` named by it | `<Placemark>` with a `<gx:MultiTrack>` | `<when>` and `<gx:coord>` of a `<gx:Track>` |
//! | GeoJSON | | | a Point `Feature` whose properties are the wire position, the vehicle and the marks |
//! | CSV | | | a row; the header names the columns |
//!
//! GeoJSON is one Point per fix rather than a line per vehicle: each feature is complete as it
//! is written, so the file streams, every fix keeps its time and speed, and a one-fix segment
//! is still valid GeoJSON (a LineString needs two positions). A KML `<gx:Track>` lists all its
//! times before its coordinates, so a long segment is written as several tracks of at most
//! [`kml::MAX_TRACK_FIXES`] fixes in one `<gx:MultiTrack>` that joins them.
//!
//! Every time is UTC. A move's export names the move's time zone (the zone its page shows
//! times in) where the format has a place for it: GPX in `<metadata><extensions>` as
//! `<convoy:time_zone>`, GeoJSON as the collection's `time_zone` member; KML and CSV have no
//! such place (KML's description, written by the gateway, says it in words; CSV says nothing).
//!
//! A simplified track (`simplify_m`) is cut at the gaps of the whole track first and each piece
//! thinned on its own ([`write_segments`]): kept fixes far apart in time are not a gap.
//!
//! Coordinates are written with Rust's shortest round-trip formatting: they read back exactly.

mod csv;
mod geojson;
mod gpx;
mod kml;
mod xml;

use chrono::{DateTime, Utc};
use convoy_core::VehicleId;
use convoy_store::StoredPosition;

use crate::stops::GAP_AFTER_S;

pub use csv::row as csv_row;

/// Appends formatted text (writing to a `Vec` cannot fail).
fn put(out: &mut Vec<u8>, text: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = out.write_fmt(text);
}

/// A file format for tracks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Gpx,
    GeoJson,
    Kml,
    Csv,
}

impl ExportFormat {
    /// The names [`ExportFormat::parse`] knows, for messages.
    pub const NAMES: &'static str = "gpx, geojson, kml or csv";

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "gpx" => Some(ExportFormat::Gpx),
            "geojson" => Some(ExportFormat::GeoJson),
            "kml" => Some(ExportFormat::Kml),
            "csv" => Some(ExportFormat::Csv),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Gpx => "gpx",
            ExportFormat::GeoJson => "geojson",
            ExportFormat::Kml => "kml",
            ExportFormat::Csv => "csv",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Gpx => "application/gpx+xml",
            ExportFormat::GeoJson => "application/geo+json",
            ExportFormat::Kml => "application/vnd.google-earth.kml+xml",
            ExportFormat::Csv => "text/csv; charset=utf-8; header=present",
        }
    }

    /// The file name extension, without the dot.
    pub fn extension(self) -> &'static str {
        self.as_str()
    }

    fn writer(self) -> Box<dyn FormatWriter> {
        match self {
            ExportFormat::Gpx => Box::new(gpx::Gpx),
            ExportFormat::GeoJson => Box::<geojson::GeoJson>::default(),
            ExportFormat::Kml => Box::<kml::Kml>::default(),
            ExportFormat::Csv => Box::new(csv::Csv),
        }
    }
}

/// What a file says about itself (escaped by each writer as its format needs).
#[derive(Clone, Debug, PartialEq)]
pub struct ExportMeta {
    /// The move's name, or the vehicle's id for a single track.
    pub title: String,
    /// What the file holds: move, vehicles, range.
    pub description: String,
    pub generated_at: DateTime<Utc>,
    /// The IANA time zone of the move exported (`None` for a vehicle's track): named, never
    /// applied, since every time in a file stays UTC.
    pub time_zone: Option<String>,
}

/// One format's way of writing the parts of a file. Every method appends to `out`.
trait FormatWriter: Send {
    fn start(&mut self, out: &mut Vec<u8>, meta: &ExportMeta);
    fn start_vehicle(&mut self, _out: &mut Vec<u8>, _vehicle: &VehicleId) {}
    fn start_segment(&mut self, _out: &mut Vec<u8>, _vehicle: &VehicleId) {}
    fn fix(&mut self, out: &mut Vec<u8>, vehicle: &VehicleId, fix: &StoredPosition);
    fn end_segment(&mut self, _out: &mut Vec<u8>) {}
    fn end_vehicle(&mut self, _out: &mut Vec<u8>) {}
    fn finish(&mut self, out: &mut Vec<u8>);
}

/// Writes a file of tracks: [`ExportWriter::start`], then for each vehicle
/// [`ExportWriter::vehicle`] and its fixes in fix-time order, then [`ExportWriter::finish`].
pub struct ExportWriter {
    format: Box<dyn FormatWriter>,
    vehicle: Option<VehicleId>,
    /// The fix time of the vehicle's previous fix, while a segment is open.
    last_t: Option<DateTime<Utc>>,
}

impl ExportWriter {
    pub fn start(format: ExportFormat, meta: &ExportMeta, out: &mut Vec<u8>) -> Self {
        let mut format = format.writer();
        format.start(out, meta);
        ExportWriter { format, vehicle: None, last_t: None }
    }

    /// Ends the previous vehicle's track, if any, and begins `vehicle`'s.
    pub fn vehicle(&mut self, out: &mut Vec<u8>, vehicle: &VehicleId) {
        self.end_vehicle(out);
        self.format.start_vehicle(out, vehicle);
        self.vehicle = Some(vehicle.clone());
    }

    /// The current vehicle's next fix; a new segment begins after a gap.
    pub fn fix(&mut self, out: &mut Vec<u8>, fix: &StoredPosition) {
        let new_segment = self.last_t.is_some_and(|last| is_gap(last, fix.position.t));
        self.fix_in(out, fix, new_segment);
    }

    /// The current vehicle's next fix, beginning a new segment if `new_segment` (a vehicle's
    /// first fix always does): for a track whose segments were found before it was thinned,
    /// where fixes far apart in time need not be a gap.
    pub fn fix_in(&mut self, out: &mut Vec<u8>, fix: &StoredPosition, new_segment: bool) {
        let Some(vehicle) = &self.vehicle else {
            debug_assert!(false, "a fix before any vehicle");
            return;
        };
        if self.last_t.is_none() {
            self.format.start_segment(out, vehicle);
        } else if new_segment {
            self.format.end_segment(out);
            self.format.start_segment(out, vehicle);
        }
        self.format.fix(out, vehicle, fix);
        self.last_t = Some(fix.position.t);
    }

    pub fn finish(mut self, out: &mut Vec<u8>) {
        self.end_vehicle(out);
        self.format.finish(out);
    }

    fn end_vehicle(&mut self, out: &mut Vec<u8>) {
        if self.vehicle.take().is_some() {
            if self.last_t.take().is_some() {
                self.format.end_segment(out);
            }
            self.format.end_vehicle(out);
        }
    }
}

/// A whole file from tracks already in memory, cut at gaps as a stream is.
#[cfg(test)]
pub fn write_all(
    format: ExportFormat,
    meta: &ExportMeta,
    tracks: &[(VehicleId, Vec<StoredPosition>)],
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut writer = ExportWriter::start(format, meta, &mut out);
    for (vehicle, fixes) in tracks {
        writer.vehicle(&mut out, vehicle);
        for fix in fixes {
            writer.fix(&mut out, fix);
        }
    }
    writer.finish(&mut out);
    out
}

/// One vehicle's whole file from its segments (a simplified track: each segment simplified
/// on its own, so the gaps stay where the data had them).
pub fn write_segments(
    format: ExportFormat,
    meta: &ExportMeta,
    vehicle: &VehicleId,
    segments: &[Vec<StoredPosition>],
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut writer = ExportWriter::start(format, meta, &mut out);
    writer.vehicle(&mut out, vehicle);
    for segment in segments {
        for (n, fix) in segment.iter().enumerate() {
            writer.fix_in(&mut out, fix, n == 0);
        }
    }
    writer.finish(&mut out);
    out
}

/// Whether two consecutive fixes at `before` and `after` have a data gap between them.
fn is_gap(before: DateTime<Utc>, after: DateTime<Utc>) -> bool {
    after - before > chrono::Duration::seconds(GAP_AFTER_S)
}

/// A track, in fix-time order, cut where its data has gaps.
pub fn split_at_gaps(fixes: Vec<StoredPosition>) -> Vec<Vec<StoredPosition>> {
    let mut segments: Vec<Vec<StoredPosition>> = Vec::new();
    for fix in fixes {
        match segments.last_mut() {
            Some(segment) if segment.last().is_some_and(|last| !is_gap(last.position.t, fix.position.t)) => {
                segment.push(fix)
            }
            _ => segments.push(vec![fix]),
        }
    }
    segments
}

#[cfg(test)]
pub mod test_support {
    //! Tracks for the writers' tests.

    use chrono::{Duration, TimeZone};
    use convoy_core::plausibility::Implausible;
    use convoy_core::{FixMode, Position};
    use proptest::prelude::*;

    use super::*;

    pub fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0).unwrap()
    }

    pub fn meta() -> ExportMeta {
        ExportMeta {
            title: r#"Office move <A&B> "north" 'wing'"#.into(),
            description: "Move m1 & more".into(),
            generated_at: t0(),
            time_zone: Some("Asia/Shanghai".into()),
        }
    }

    /// One fix a second eastward from 11°E, 48°N, every optional field set.
    pub fn fix(seq: u64, second: i64) -> StoredPosition {
        StoredPosition {
            position: Position {
                seq,
                t: t0() + Duration::seconds(second),
                lat: 48.137154,
                lon: 11.0 + second as f64 * 0.000134,
                alt_m: Some(519.5),
                speed_mps: Some(12.4),
                course_deg: Some(87.5),
                fix: Some(FixMode::ThreeD),
                sats: Some(9),
                hdop: Some(0.9),
                accuracy_m: None,
            },
            late: seq == 2,
            implausible: (seq == 3).then_some(Implausible::TooFast),
            received_at: t0() + Duration::seconds(second + 1),
            source: None,
            prev_hash: None,
        }
    }

    /// A fix with no optional field.
    pub fn bare(seq: u64, t: DateTime<Utc>, lat: f64, lon: f64) -> StoredPosition {
        StoredPosition {
            position: Position::bare(seq, t, lat, lon),
            late: false,
            implausible: None,
            received_at: t,
            source: None,
            prev_hash: None,
        }
    }

    pub fn vehicle(name: &str) -> VehicleId {
        VehicleId::new(name).unwrap()
    }

    /// Any fix: coordinates anywhere, times to the millisecond, optional fields present or not.
    pub fn any_fix() -> impl Strategy<Value = (i64, Position)> {
        (
            (0i64..10_000_000, -90.0f64..=90.0, -180.0f64..=180.0),
            proptest::option::of(-400.0f64..9000.0),
            proptest::option::of(0.0f64..100.0),
            proptest::option::of(0.0f64..360.0),
            proptest::option::of(prop_oneof![Just(FixMode::TwoD), Just(FixMode::ThreeD)]),
            proptest::option::of(0u32..64),
            proptest::option::of(0.0f64..50.0),
        )
            .prop_map(|((millis, lat, lon), alt_m, speed_mps, course_deg, fix, sats, hdop)| {
                (
                    millis,
                    Position {
                        seq: 0,
                        t: t0(),
                        lat,
                        lon,
                        alt_m,
                        speed_mps,
                        course_deg,
                        fix,
                        sats,
                        hdop,
                        accuracy_m: None,
                    },
                )
            })
    }

    /// Up to three vehicles with up to 40 fixes each, in fix-time order with rising seqs.
    pub fn any_tracks() -> impl Strategy<Value = Vec<(VehicleId, Vec<StoredPosition>)>> {
        proptest::collection::vec(proptest::collection::vec((any_fix(), any::<bool>()), 0..40), 1..4)
            .prop_map(|vehicles| {
                vehicles
                    .into_iter()
                    .enumerate()
                    .map(|(n, fixes)| {
                        let mut fixes: Vec<StoredPosition> = fixes
                            .into_iter()
                            .map(|((millis, mut position), late)| {
                                position.t = t0() + Duration::milliseconds(millis);
                                StoredPosition {
                                    position,
                                    late,
                                    implausible: None,
                                    received_at: t0(),
                                    source: None,
                                    prev_hash: None,
                                }
                            })
                            .collect();
                        fixes.sort_by_key(|f| f.position.t);
                        for (seq, fix) in fixes.iter_mut().enumerate() {
                            fix.position.seq = seq as u64 + 1;
                        }
                        (VehicleId::new(format!("truck-{n}")).unwrap(), fixes)
                    })
                    .collect()
            })
    }

    /// An XML element as read back: local name, attributes, children, and its own text with
    /// references resolved.
    #[derive(Debug)]
    pub struct Node {
        pub name: String,
        pub attrs: Vec<(String, String)>,
        pub children: Vec<Node>,
        pub text: String,
    }

    impl Node {
        pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
            self.children.iter().filter(move |c| c.name == name)
        }

        pub fn child(&self, name: &str) -> &Node {
            self.children
                .iter()
                .find(|c| c.name == name)
                .unwrap_or_else(|| panic!("<{}> has no <{name}>", self.name))
        }

        pub fn attr(&self, name: &str) -> &str {
            self.attrs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).unwrap()
        }
    }

    /// Reads a whole XML document with quick-xml, refusing anything not well-formed.
    pub fn parse_xml(text: &str) -> Node {
        use quick_xml::events::Event;
        let mut reader = quick_xml::Reader::from_str(text);
        reader.config_mut().expand_empty_elements = true;
        reader.config_mut().check_end_names = true;
        let mut stack: Vec<Node> =
            vec![Node { name: String::new(), attrs: vec![], children: vec![], text: String::new() }];
        loop {
            match reader.read_event().unwrap() {
                Event::Start(start) => {
                    let attrs = start
                        .attributes()
                        .map(|a| {
                            let a = a.unwrap();
                            let value = a.normalized_value(quick_xml::XmlVersion::Implicit1_0).unwrap();
                            (
                                String::from_utf8(a.key.local_name().as_ref().to_vec()).unwrap(),
                                value.into_owned(),
                            )
                        })
                        .collect();
                    let name = String::from_utf8(start.local_name().as_ref().to_vec()).unwrap();
                    stack.push(Node { name, attrs, children: vec![], text: String::new() });
                }
                Event::End(_) => {
                    let node = stack.pop().unwrap();
                    stack.last_mut().unwrap().children.push(node);
                }
                Event::Text(text) => stack.last_mut().unwrap().text.push_str(&text.decode().unwrap()),
                Event::GeneralRef(reference) => {
                    let resolved = match reference.resolve_char_ref().unwrap() {
                        Some(c) => c.to_string(),
                        None => match reference.decode().unwrap().as_ref() {
                            "lt" => "<".into(),
                            "gt" => ">".into(),
                            "amp" => "&".into(),
                            "apos" => "'".into(),
                            "quot" => "\"".into(),
                            other => panic!("unknown entity {other}"),
                        },
                    };
                    stack.last_mut().unwrap().text.push_str(&resolved);
                }
                Event::Eof => break,
                _ => {}
            }
        }
        let mut document = stack.pop().unwrap();
        assert!(stack.is_empty(), "unclosed elements");
        assert_eq!(document.children.len(), 1, "one root element");
        document.children.pop().unwrap()
    }

    /// Splits a vehicle's fixes where the exports start a new segment.
    pub fn segments(fixes: &[StoredPosition]) -> Vec<Vec<&StoredPosition>> {
        let mut segments: Vec<Vec<&StoredPosition>> = Vec::new();
        for fix in fixes {
            let new = match segments.last().and_then(|s| s.last()) {
                None => true,
                Some(last) => fix.position.t - last.position.t > Duration::seconds(GAP_AFTER_S),
            };
            if new {
                segments.push(Vec::new());
            }
            segments.last_mut().unwrap().push(fix);
        }
        segments
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    #[test]
    fn formats_are_named_and_typed() {
        for format in [ExportFormat::Gpx, ExportFormat::GeoJson, ExportFormat::Kml, ExportFormat::Csv] {
            assert_eq!(ExportFormat::parse(format.as_str()), Some(format));
        }
        assert_eq!(ExportFormat::parse("shp"), None);
        assert_eq!(ExportFormat::parse("GPX"), None, "names are lower case, as documented");
        assert_eq!(ExportFormat::Kml.content_type(), "application/vnd.google-earth.kml+xml");
    }

    #[test]
    fn a_track_is_split_where_its_data_has_gaps() {
        let fixes = vec![fix(1, 0), fix(2, 30), fix(3, 61), fix(4, 200)];
        let seqs: Vec<Vec<u64>> =
            split_at_gaps(fixes).iter().map(|s| s.iter().map(|f| f.position.seq).collect()).collect();
        assert_eq!(seqs, vec![vec![1, 2], vec![3], vec![4]]);
        assert_eq!(split_at_gaps(vec![]), Vec::<Vec<StoredPosition>>::new());
    }

    #[test]
    fn thinned_segments_stay_as_given_though_their_fixes_are_far_apart() {
        let segments = vec![vec![fix(1, 0), fix(2, 600)], vec![fix(3, 700)]];
        let gpx =
            String::from_utf8(write_segments(ExportFormat::Gpx, &meta(), &vehicle("v"), &segments)).unwrap();
        assert_eq!(gpx.matches("<trkseg>").count(), 2, "{gpx}");
    }

    #[test]
    fn a_vehicle_without_fixes_still_appears_where_the_format_lists_vehicles() {
        let gpx =
            String::from_utf8(write_all(ExportFormat::Gpx, &meta(), &[(vehicle("idle-1"), vec![])])).unwrap();
        assert!(gpx.contains("<trk><name>idle-1</name></trk>"), "{gpx}");
        assert!(!gpx.contains("<trkseg>"));
    }
}
