//! GPX 1.1: a `<trk>` per vehicle, a `<trkseg>` per stretch without a data gap, a `<trkpt>` per
//! fix. Speed and course go in Garmin's TrackPointExtension v2 (`gpxtpx:speed` in m/s,
//! `gpxtpx:course` in degrees), which mapping tools read; the sequence number and Convoy's
//! marks (late, implausible) in Convoy's own namespace, which they ignore.

use convoy_core::position::format_time;
use convoy_core::VehicleId;
use convoy_store::StoredPosition;

use super::xml::escape;
use super::{put, ExportMeta, FormatWriter};

pub(super) struct Gpx;

impl FormatWriter for Gpx {
    fn start(&mut self, out: &mut Vec<u8>, meta: &ExportMeta) {
        put(
            out,
            format_args!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
                 <gpx version=\"1.1\" creator=\"Convoy\" xmlns=\"http://www.topografix.com/GPX/1/1\" \
                 xmlns:gpxtpx=\"http://www.garmin.com/xmlschemas/TrackPointExtension/v2\" \
                 xmlns:convoy=\"urn:convoy:gpx:1\" \
                 xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
                 xsi:schemaLocation=\"http://www.topografix.com/GPX/1/1 http://www.topografix.com/GPX/1/1/gpx.xsd \
                 http://www.garmin.com/xmlschemas/TrackPointExtension/v2 https://www8.garmin.com/xmlschemas/TrackPointExtensionv2.xsd\">\n\
                 <metadata><name>{}</name><desc>{}</desc><time>{}</time>{}</metadata>\n",
                escape(&meta.title),
                escape(&meta.description),
                format_time(&meta.generated_at),
                match &meta.time_zone {
                    Some(zone) => format!("<extensions><convoy:time_zone>{}</convoy:time_zone></extensions>", escape(zone)),
                    None => String::new(),
                }
            ),
        );
    }

    fn start_vehicle(&mut self, out: &mut Vec<u8>, vehicle: &VehicleId) {
        put(out, format_args!("<trk><name>{}</name>", escape(vehicle.as_str())));
    }

    fn start_segment(&mut self, out: &mut Vec<u8>, _vehicle: &VehicleId) {
        out.extend_from_slice(b"\n<trkseg>\n");
    }

    fn fix(&mut self, out: &mut Vec<u8>, _vehicle: &VehicleId, fix: &StoredPosition) {
        let p = &fix.position;
        put(out, format_args!("<trkpt lat=\"{}\" lon=\"{}\">", p.lat, p.lon));
        // GPX's order: ele, time, ..., fix, sat, hdop, ..., extensions.
        if let Some(alt) = p.alt_m {
            put(out, format_args!("<ele>{alt}</ele>"));
        }
        put(out, format_args!("<time>{}</time>", format_time(&p.t)));
        if let Some(mode) = p.fix {
            put(out, format_args!("<fix>{}</fix>", mode.as_str()));
        }
        if let Some(sats) = p.sats {
            put(out, format_args!("<sat>{sats}</sat>"));
        }
        if let Some(hdop) = p.hdop {
            put(out, format_args!("<hdop>{hdop}</hdop>"));
        }
        out.extend_from_slice(b"<extensions>");
        if p.speed_mps.is_some() || p.course_deg.is_some() {
            out.extend_from_slice(b"<gpxtpx:TrackPointExtension>");
            if let Some(speed) = p.speed_mps {
                put(out, format_args!("<gpxtpx:speed>{speed}</gpxtpx:speed>"));
            }
            if let Some(course) = p.course_deg {
                put(out, format_args!("<gpxtpx:course>{course}</gpxtpx:course>"));
            }
            out.extend_from_slice(b"</gpxtpx:TrackPointExtension>");
        }
        put(out, format_args!("<convoy:seq>{}</convoy:seq>", p.seq));
        if fix.late {
            out.extend_from_slice(b"<convoy:late>true</convoy:late>");
        }
        if let Some(reason) = fix.implausible {
            put(out, format_args!("<convoy:implausible>{}</convoy:implausible>", reason.as_str()));
        }
        out.extend_from_slice(b"</extensions></trkpt>\n");
    }

    fn end_segment(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"</trkseg>\n");
    }

    fn end_vehicle(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"</trk>\n");
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"</gpx>\n");
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use convoy_core::plan::{MovePlan, PlanFields, RouteFormat};
    use proptest::prelude::*;

    use super::super::test_support::*;
    use super::super::{write_all, ExportFormat};
    use super::*;

    /// `(lat, lon, time)`.
    type PlaceTime = (f64, f64, DateTime<chrono::Utc>);

    fn gpx(tracks: &[(VehicleId, Vec<StoredPosition>)]) -> (String, Node) {
        let text = String::from_utf8(write_all(ExportFormat::Gpx, &meta(), tracks)).unwrap();
        let root = parse_xml(&text);
        (text, root)
    }

    /// `(lat, lon, time)` of each `<trkpt>` of each `<trkseg>`.
    fn segments_of(trk: &Node) -> Vec<Vec<PlaceTime>> {
        trk.children_named("trkseg")
            .map(|seg| {
                seg.children_named("trkpt")
                    .map(|pt| {
                        (
                            pt.attr("lat").parse().unwrap(),
                            pt.attr("lon").parse().unwrap(),
                            pt.child("time").text.parse().unwrap(),
                        )
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn every_field_of_a_fix_is_written() {
        let (text, root) = gpx(&[(vehicle("truck-07"), vec![fix(1, 0), fix(2, 1), fix(3, 2)])]);
        assert_eq!(root.name, "gpx");
        assert_eq!(root.attr("version"), "1.1");
        let trk = root.child("trk");
        assert_eq!(trk.child("name").text, "truck-07");
        let pt = trk.child("trkseg").child("trkpt");
        assert_eq!(pt.attr("lat"), "48.137154");
        assert_eq!(pt.attr("lon"), "11");
        assert_eq!(pt.child("ele").text, "519.5");
        assert_eq!(pt.child("time").text, "2026-11-28T09:00:00.000Z");
        assert_eq!(pt.child("fix").text, "3d");
        assert_eq!(pt.child("sat").text, "9");
        assert_eq!(pt.child("hdop").text, "0.9");
        let ext = pt.child("extensions");
        assert_eq!(ext.child("TrackPointExtension").child("speed").text, "12.4");
        assert_eq!(ext.child("TrackPointExtension").child("course").text, "87.5");
        assert_eq!(ext.child("seq").text, "1");
        assert!(text.contains("<convoy:late>true</convoy:late>"));
        assert!(text.contains("<convoy:implausible>too_fast</convoy:implausible>"));
    }

    #[test]
    fn a_fix_without_optional_fields_has_only_its_place_time_and_seq() {
        let (text, _) = gpx(&[(vehicle("v"), vec![bare(5, t0(), 1.5, -2.25)])]);
        assert!(
            text.contains(
                "<trkpt lat=\"1.5\" lon=\"-2.25\"><time>2026-11-28T09:00:00.000Z</time><extensions><convoy:seq>5</convoy:seq></extensions></trkpt>"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_data_gap_starts_a_new_segment() {
        let fixes = vec![fix(1, 0), fix(2, 30), fix(3, 61), fix(4, 62)];
        let (_, root) = gpx(&[(vehicle("v"), fixes)]);
        let segments = segments_of(root.child("trk"));
        assert_eq!(segments.iter().map(Vec::len).collect::<Vec<_>>(), vec![2, 2], "30 s is no gap, 31 s is");
    }

    #[test]
    fn the_title_is_escaped_and_reads_back() {
        let (text, root) = gpx(&[]);
        assert!(text.contains("&lt;A&amp;B&gt; &quot;north&quot; &apos;wing&apos;"), "{text}");
        assert_eq!(root.child("metadata").child("name").text, meta().title);
    }

    #[test]
    fn the_moves_time_zone_is_named_in_the_metadata_and_times_stay_utc() {
        let (text, _) = gpx(&[(vehicle("v"), vec![fix(1, 0)])]);
        let zone = "<extensions><convoy:time_zone>Asia/Shanghai</convoy:time_zone></extensions></metadata>";
        assert!(text.contains(zone), "{text}");
        assert!(text.contains("<time>2026-11-28T09:00:00.000Z</time>"), "{text}");
    }

    proptest! {
        /// Any tracks give a GPX file that reads back to the same vehicles, segments, times and
        /// coordinates, by a plain XML reader and by the plan's own GPX route reader.
        #[test]
        fn any_tracks_read_back(tracks in any_tracks()) {
            let (text, root) = gpx(&tracks);
            let trks: Vec<&Node> = root.children_named("trk").collect();
            prop_assert_eq!(trks.len(), tracks.len());
            for ((vehicle, fixes), trk) in tracks.iter().zip(&trks) {
                prop_assert_eq!(&trk.child("name").text, vehicle.as_str());
                let expected: Vec<Vec<PlaceTime>> = segments(fixes)
                    .iter()
                    .map(|s| s.iter().map(|f| (f.position.lat, f.position.lon, f.position.t)).collect())
                    .collect();
                prop_assert_eq!(segments_of(trk), expected);
            }
            let all: Vec<[f64; 2]> =
                tracks.iter().flat_map(|(_, f)| f.iter().map(|f| [f.position.lon, f.position.lat])).collect();
            if all.len() >= 2 && all.iter().any(|p| p != &all[0]) {
                let fields = PlanFields { name: "read back".into(), vehicles: vec!["v".into()], ..Default::default() };
                let plan = MovePlan::from_route_file(text.as_bytes(), RouteFormat::Gpx, &fields).unwrap();
                let read: Vec<[f64; 2]> = plan.route.coords().map(|c| [c.x, c.y]).collect();
                prop_assert_eq!(read.len(), all.len());
                for (a, b) in read.iter().zip(&all) {
                    prop_assert!((a[0] - b[0]).abs() < 1e-7 && (a[1] - b[1]).abs() < 1e-7);
                }
            }
        }
    }
}
