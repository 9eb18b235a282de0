//! KML 2.2 with Google's `gx:Track`: a `<Folder>` per vehicle, a `<Placemark>` per stretch
//! without a data gap, its fixes as the `<when>` and `<gx:coord>` of a `<gx:Track>`, so Google
//! Earth's time slider replays them. The sequence number, speed and course travel along as
//! `gx:SimpleArrayData` of the schema `convoy`.
//!
//! A `<gx:Track>` lists all its times, then all its coordinates, then its data arrays, so a
//! track is held until it is written: a stretch is cut into tracks of at most
//! [`MAX_TRACK_FIXES`] fixes, joined by their `<gx:MultiTrack>` (`gx:interpolate` 1).
//! Positions are clamped to the ground; the altitude in `<gx:coord>` is the fix's, or 0 when
//! it has none.

use std::fmt::Write as _;

use convoy_core::position::format_time;
use convoy_core::VehicleId;
use convoy_store::StoredPosition;

use super::xml::escape;
use super::{put, ExportMeta, FormatWriter};

/// The most fixes one `<gx:Track>` holds.
pub(super) const MAX_TRACK_FIXES: usize = 10_000;

/// The extra values of each fix, by name, as the schema declares them.
const ARRAYS: [(&str, &str); 3] = [("seq", "int"), ("speed_mps", "float"), ("course_deg", "float")];

#[derive(Default)]
pub(super) struct Kml {
    /// Stretches of the current vehicle so far.
    part: usize,
    whens: String,
    coords: String,
    /// One per entry of [`ARRAYS`].
    arrays: [String; 3],
    held: usize,
}

impl Kml {
    fn flush_track(&mut self, out: &mut Vec<u8>) {
        if self.held == 0 {
            return;
        }
        out.extend_from_slice(b"<gx:Track>\n");
        out.extend_from_slice(self.whens.as_bytes());
        out.extend_from_slice(self.coords.as_bytes());
        out.extend_from_slice(b"<ExtendedData><SchemaData schemaUrl=\"#convoy\">\n");
        for ((name, _), values) in ARRAYS.iter().zip(&self.arrays) {
            put(out, format_args!("<gx:SimpleArrayData name=\"{name}\">{values}</gx:SimpleArrayData>\n"));
        }
        out.extend_from_slice(b"</SchemaData></ExtendedData>\n</gx:Track>\n");
        self.whens.clear();
        self.coords.clear();
        self.arrays.iter_mut().for_each(String::clear);
        self.held = 0;
    }
}

fn value(text: &mut String, number: Option<impl std::fmt::Display>) {
    // Writing to a String cannot fail.
    let _ = match number {
        Some(n) => write!(text, "<gx:value>{n}</gx:value>"),
        None => write!(text, "<gx:value></gx:value>"),
    };
}

impl FormatWriter for Kml {
    fn start(&mut self, out: &mut Vec<u8>, meta: &ExportMeta) {
        put(
            out,
            format_args!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
                 <kml xmlns=\"http://www.opengis.net/kml/2.2\" xmlns:gx=\"http://www.google.com/kml/ext/2.2\">\n\
                 <Document><name>{}</name><description>{}</description>\n\
                 <Schema id=\"convoy\" name=\"convoy\">",
                escape(&meta.title),
                escape(&meta.description)
            ),
        );
        for (name, kind) in ARRAYS {
            put(out, format_args!("<gx:SimpleArrayField name=\"{name}\" type=\"{kind}\"/>"));
        }
        out.extend_from_slice(b"</Schema>\n");
    }

    fn start_vehicle(&mut self, out: &mut Vec<u8>, vehicle: &VehicleId) {
        self.part = 0;
        put(out, format_args!("<Folder><name>{}</name>\n", escape(vehicle.as_str())));
    }

    fn start_segment(&mut self, out: &mut Vec<u8>, vehicle: &VehicleId) {
        self.part += 1;
        put(
            out,
            format_args!(
                "<Placemark><name>{} part {}</name><gx:MultiTrack><altitudeMode>clampToGround</altitudeMode>\
                 <gx:interpolate>1</gx:interpolate>\n",
                escape(vehicle.as_str()),
                self.part
            ),
        );
    }

    fn fix(&mut self, out: &mut Vec<u8>, _vehicle: &VehicleId, fix: &StoredPosition) {
        let p = &fix.position;
        let _ = writeln!(self.whens, "<when>{}</when>", format_time(&p.t));
        let _ = writeln!(self.coords, "<gx:coord>{} {} {}</gx:coord>", p.lon, p.lat, p.alt_m.unwrap_or(0.0));
        value(&mut self.arrays[0], Some(p.seq));
        value(&mut self.arrays[1], p.speed_mps);
        value(&mut self.arrays[2], p.course_deg);
        self.held += 1;
        if self.held >= MAX_TRACK_FIXES {
            self.flush_track(out);
        }
    }

    fn end_segment(&mut self, out: &mut Vec<u8>) {
        self.flush_track(out);
        out.extend_from_slice(b"</gx:MultiTrack></Placemark>\n");
    }

    fn end_vehicle(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"</Folder>\n");
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"</Document>\n</kml>\n");
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use proptest::prelude::*;

    use super::super::test_support::*;
    use super::super::{write_all, ExportFormat};
    use super::*;

    /// `(time, lon, lat, alt)`.
    type TimedCoord = (DateTime<Utc>, f64, f64, f64);

    fn kml(tracks: &[(VehicleId, Vec<StoredPosition>)]) -> (String, Node) {
        let text = String::from_utf8(write_all(ExportFormat::Kml, &meta(), tracks)).unwrap();
        let root = parse_xml(&text);
        (text, root)
    }

    /// Each placemark's fixes as `(time, lon, lat, alt)`, its tracks joined.
    fn segments_of(folder: &Node) -> Vec<Vec<TimedCoord>> {
        folder
            .children_named("Placemark")
            .map(|placemark| {
                placemark
                    .child("MultiTrack")
                    .children_named("Track")
                    .flat_map(|track| {
                        let whens: Vec<DateTime<Utc>> =
                            track.children_named("when").map(|w| w.text.parse().unwrap()).collect();
                        let coords: Vec<Vec<f64>> = track
                            .children_named("coord")
                            .map(|c| c.text.split(' ').map(|n| n.parse().unwrap()).collect())
                            .collect();
                        assert_eq!(whens.len(), coords.len());
                        whens.into_iter().zip(coords).map(|(t, c)| (t, c[0], c[1], c[2])).collect::<Vec<_>>()
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn a_track_carries_times_coordinates_and_data() {
        let (_, root) = kml(&[(vehicle("truck-07"), vec![fix(1, 0), fix(2, 1)])]);
        assert_eq!(root.name, "kml");
        let folder = root.child("Document").child("Folder");
        assert_eq!(folder.child("name").text, "truck-07");
        let track = folder.child("Placemark").child("MultiTrack").child("Track");
        assert_eq!(track.child("when").text, "2026-11-28T09:00:00.000Z");
        assert_eq!(track.child("coord").text, "11 48.137154 519.5");
        let arrays: Vec<(&str, Vec<&str>)> = track
            .child("ExtendedData")
            .child("SchemaData")
            .children_named("SimpleArrayData")
            .map(|a| (a.attr("name"), a.children_named("value").map(|v| v.text.as_str()).collect()))
            .collect();
        assert_eq!(
            arrays,
            vec![
                ("seq", vec!["1", "2"]),
                ("speed_mps", vec!["12.4", "12.4"]),
                ("course_deg", vec!["87.5", "87.5"])
            ]
        );
    }

    #[test]
    fn a_data_gap_starts_a_new_placemark() {
        let (_, root) = kml(&[(vehicle("v"), vec![fix(1, 0), fix(2, 100), fix(3, 101)])]);
        let folder = root.child("Document").child("Folder");
        let names: Vec<&str> =
            folder.children_named("Placemark").map(|p| p.child("name").text.as_str()).collect();
        assert_eq!(names, vec!["v part 1", "v part 2"]);
    }

    #[test]
    fn a_long_stretch_is_cut_into_joined_tracks_without_losing_a_fix() {
        let fixes: Vec<StoredPosition> =
            (0..(MAX_TRACK_FIXES as i64 + 5)).map(|s| fix(s as u64 + 10, s)).collect();
        let (_, root) = kml(&[(vehicle("v"), fixes.clone())]);
        let folder = root.child("Document").child("Folder");
        let multi = folder.child("Placemark").child("MultiTrack");
        assert_eq!(multi.child("interpolate").text, "1");
        assert_eq!(multi.children_named("Track").count(), 2);
        let read = segments_of(folder);
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].len(), fixes.len());
        assert_eq!(read[0].last().unwrap().0, fixes.last().unwrap().position.t);
    }

    #[test]
    fn the_title_is_escaped_and_reads_back() {
        let (text, root) = kml(&[]);
        assert!(text.contains("&lt;A&amp;B&gt;"), "{text}");
        assert_eq!(root.child("Document").child("name").text, meta().title);
        assert_eq!(root.child("Document").child("description").text, "Move m1 & more");
    }

    proptest! {
        /// Any tracks give a KML file that reads back to the same vehicles, stretches, times,
        /// coordinates and altitudes.
        #[test]
        fn any_tracks_read_back(tracks in any_tracks()) {
            let (_, root) = kml(&tracks);
            let folders: Vec<&Node> = root.child("Document").children_named("Folder").collect();
            prop_assert_eq!(folders.len(), tracks.len());
            for ((vehicle, fixes), folder) in tracks.iter().zip(&folders) {
                prop_assert_eq!(&folder.child("name").text, vehicle.as_str());
                let expected: Vec<Vec<TimedCoord>> = segments(fixes)
                    .iter()
                    .map(|s| {
                        s.iter()
                            .map(|f| (f.position.t, f.position.lon, f.position.lat, f.position.alt_m.unwrap_or(0.0)))
                            .collect()
                    })
                    .collect();
                prop_assert_eq!(segments_of(folder), expected);
            }
        }
    }
}
