//! A route from a GPX 1.0 / 1.1 file: the points of its first `<rte>` (`<rtept lat lon>`), or,
//! when it has no route points, those of its tracks (`<trk><trkseg><trkpt lat lon>`), every
//! segment of every track joined in file order. Elements are matched by local name, so a
//! namespace prefix (`<gpx:trkpt>`) does not matter; waypoints, times, elevations and extensions
//! are ignored.

use super::error::PlanError;
use super::validate::LonLat;
use super::xml::{local_name, XmlEvent, XmlReader};
use super::MAX_ROUTE_POINTS;

/// Where an element is, as far as the route is concerned.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tag {
    Gpx,
    /// The first route, whose points are read.
    FirstRte,
    /// A later route, ignored.
    OtherRte,
    Rtept,
    Trk,
    Trkseg,
    Trkpt,
    Other,
}

/// The route points of a GPX file, as `[longitude, latitude]`.
pub(super) fn route(body: &[u8]) -> Result<Vec<LonLat>, PlanError> {
    let mut xml = XmlReader::new(body, "GPX")?;
    let mut stack: Vec<Tag> = Vec::new();
    let mut routes = 0usize;
    let mut rte_points: Vec<LonLat> = Vec::new();
    let mut trk_points: Vec<LonLat> = Vec::new();
    loop {
        match xml.next()? {
            XmlEvent::Start(element) => {
                let name = local_name(&element);
                let tag = match (stack.last(), name) {
                    (None, b"gpx") => Tag::Gpx,
                    (None, _) => {
                        return Err(PlanError::malformed(format!(
                            "the body is not a GPX file: its root element is <{}>, not <gpx>",
                            String::from_utf8_lossy(name)
                        )))
                    }
                    (Some(Tag::Gpx), b"rte") => {
                        routes += 1;
                        if routes == 1 {
                            Tag::FirstRte
                        } else {
                            Tag::OtherRte
                        }
                    }
                    (Some(Tag::FirstRte), b"rtept") => Tag::Rtept,
                    (Some(Tag::Gpx), b"trk") => Tag::Trk,
                    (Some(Tag::Trk), b"trkseg") => Tag::Trkseg,
                    (Some(Tag::Trkseg), b"trkpt") => Tag::Trkpt,
                    _ => Tag::Other,
                };
                let points = match tag {
                    Tag::Rtept => Some(&mut rte_points),
                    Tag::Trkpt => Some(&mut trk_points),
                    _ => None,
                };
                if let Some(points) = points {
                    if points.len() >= MAX_ROUTE_POINTS {
                        return Err(PlanError::TooManyRoutePoints);
                    }
                    let what = || format!("GPX <{}> {}", String::from_utf8_lossy(name), points.len() + 1);
                    let lat = coordinate(&xml, &element, b"lat", &what)?;
                    let lon = coordinate(&xml, &element, b"lon", &what)?;
                    points.push([lon, lat]);
                }
                stack.push(tag);
            }
            XmlEvent::End => {
                stack.pop();
            }
            XmlEvent::Text(_) => {}
            XmlEvent::Eof => break,
        }
    }
    Ok(if rte_points.is_empty() { trk_points } else { rte_points })
}

/// A `lat` or `lon` attribute as a number (its range is judged later).
fn coordinate(
    xml: &XmlReader<'_>,
    element: &quick_xml::events::BytesStart<'_>,
    attribute: &[u8],
    what: &dyn Fn() -> String,
) -> Result<f64, PlanError> {
    let name = String::from_utf8_lossy(attribute);
    match xml.attribute(element, attribute)? {
        None => Err(PlanError::malformed(format!("{} has no {name} attribute", what()))),
        Some(value) => value.trim().parse::<f64>().map_err(|_| {
            PlanError::malformed(format!(
                "{}: {name}=\"{}\" is not a number",
                what(),
                super::error::shorten(&value, 40)
            ))
        }),
    }
}
