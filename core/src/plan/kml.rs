//! A route and zones from a KML 2.2 file.
//!
//! - The route is the first `<LineString><coordinates>` of the file (`lon,lat[,alt]` tuples
//!   separated by white space; altitudes are dropped).
//! - A `<Placemark>` whose `<ExtendedData>` has `<Data name="kind"><value>forbidden</value></Data>`
//!   (or origin, destination, allowed_stop; `<SchemaData><SimpleData name="kind">` works too)
//!   is a zone named by the placemark's `<name>`: each of its `<Polygon>`s (outer boundary, and
//!   inner boundaries as holes), or its `<Point>` with a `radius_m` data value as a circle.
//!   Placemarks without a `kind` are not zones and are ignored.
//!
//! Elements are matched by local name, so namespace prefixes do not matter.

use super::error::{shorten, PlanError};
use super::validate::{LonLat, ZoneGeometry, ZoneInput};
use super::xml::{local_name, XmlEvent, XmlReader};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tag {
    Kml,
    Placemark,
    PlacemarkName,
    ExtendedData,
    Data,
    DataValue,
    SchemaData,
    SimpleData,
    LineString,
    Polygon,
    OuterBoundary,
    InnerBoundary,
    LinearRing,
    Point,
    Coordinates,
    Other,
}

#[derive(Default)]
struct PolygonBuilder {
    outer: Option<Vec<LonLat>>,
    inner: Vec<Vec<LonLat>>,
}

#[derive(Default)]
struct Placemark {
    name: Option<String>,
    /// `(name, value)` of its data items.
    data: Vec<(String, String)>,
    /// The name of the `<Data>` or `<SimpleData>` being read.
    data_name: Option<String>,
    polygons: Vec<PolygonBuilder>,
    /// The polygon being read.
    polygon: Option<PolygonBuilder>,
    points: Vec<LonLat>,
}

impl Placemark {
    fn data(&self, name: &str) -> Option<&str> {
        self.data.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// The route points and zones of a KML file.
pub(super) fn route_and_zones(body: &[u8]) -> Result<(Vec<LonLat>, Vec<ZoneInput>), PlanError> {
    let mut xml = XmlReader::new(body, "KML")?;
    let mut stack: Vec<Tag> = Vec::new();
    let mut text = String::new();
    let mut route: Option<Vec<LonLat>> = None;
    let mut zones: Vec<ZoneInput> = Vec::new();
    let mut placemark: Option<Placemark> = None;
    let mut placemarks = 0usize;
    loop {
        match xml.next()? {
            XmlEvent::Start(element) => {
                let name = local_name(&element);
                let parent = stack.last().copied();
                let tag = match (parent, name) {
                    (None, b"kml") => Tag::Kml,
                    (None, _) => {
                        return Err(PlanError::malformed(format!(
                            "the body is not a KML file: its root element is <{}>, not <kml>",
                            String::from_utf8_lossy(name)
                        )))
                    }
                    (_, b"Placemark") if placemark.is_none() => {
                        placemark = Some(Placemark::default());
                        placemarks += 1;
                        Tag::Placemark
                    }
                    (Some(Tag::Placemark), b"name") => Tag::PlacemarkName,
                    (Some(Tag::Placemark), b"ExtendedData") => Tag::ExtendedData,
                    (Some(Tag::ExtendedData), b"Data") => Tag::Data,
                    (Some(Tag::Data), b"value") => Tag::DataValue,
                    (Some(Tag::ExtendedData), b"SchemaData") => Tag::SchemaData,
                    (Some(Tag::SchemaData), b"SimpleData") => Tag::SimpleData,
                    (_, b"LineString") => Tag::LineString,
                    (_, b"Polygon") if placemark.is_some() => Tag::Polygon,
                    (Some(Tag::Polygon), b"outerBoundaryIs") => Tag::OuterBoundary,
                    (Some(Tag::Polygon), b"innerBoundaryIs") => Tag::InnerBoundary,
                    (Some(Tag::OuterBoundary | Tag::InnerBoundary), b"LinearRing") => Tag::LinearRing,
                    (_, b"Point") if placemark.is_some() => Tag::Point,
                    (Some(Tag::LineString | Tag::LinearRing | Tag::Point), b"coordinates") => {
                        Tag::Coordinates
                    }
                    _ => Tag::Other,
                };
                match tag {
                    Tag::Data | Tag::SimpleData => {
                        let data_name = xml.attribute(&element, b"name")?;
                        if let Some(placemark) = placemark.as_mut() {
                            placemark.data_name = data_name;
                        }
                    }
                    Tag::Polygon => {
                        if let Some(placemark) = placemark.as_mut() {
                            placemark.polygon = Some(PolygonBuilder::default());
                        }
                    }
                    _ => {}
                }
                text.clear();
                stack.push(tag);
            }
            XmlEvent::Text(piece) => {
                if matches!(
                    stack.last(),
                    Some(Tag::PlacemarkName | Tag::DataValue | Tag::SimpleData | Tag::Coordinates)
                ) {
                    text.push_str(&piece);
                }
            }
            XmlEvent::End => {
                let tag = stack.pop();
                let parent = stack.last().copied();
                match tag {
                    Some(Tag::Coordinates) => match parent {
                        Some(Tag::LineString) if route.is_none() => {
                            route = Some(tuples(&text, &|| "the route's <LineString>".to_string())?);
                        }
                        Some(Tag::LinearRing) => {
                            let outer = stack.len() >= 2 && stack[stack.len() - 2] == Tag::OuterBoundary;
                            let what = || {
                                format!(
                                    "placemark {placemarks} {}: a <LinearRing>",
                                    placemark_name(placemark.as_ref())
                                )
                            };
                            let ring = tuples(&text, &what)?;
                            if let Some(polygon) = placemark.as_mut().and_then(|p| p.polygon.as_mut()) {
                                if outer && polygon.outer.is_none() {
                                    polygon.outer = Some(ring);
                                } else {
                                    polygon.inner.push(ring);
                                }
                            }
                        }
                        Some(Tag::Point) => {
                            let what = || {
                                format!(
                                    "placemark {placemarks} {}: the <Point>",
                                    placemark_name(placemark.as_ref())
                                )
                            };
                            let points = tuples(&text, &what)?;
                            let [point] = points[..] else {
                                return Err(PlanError::malformed(format!(
                                    "{} has {} coordinates; a point has one",
                                    what(),
                                    points.len()
                                )));
                            };
                            if let Some(placemark) = placemark.as_mut() {
                                placemark.points.push(point);
                            }
                        }
                        _ => {}
                    },
                    Some(Tag::PlacemarkName) => {
                        if let Some(placemark) = placemark.as_mut() {
                            placemark.name = Some(text.trim().to_string());
                        }
                    }
                    Some(Tag::DataValue | Tag::SimpleData) => {
                        if let Some(placemark) = placemark.as_mut() {
                            if let Some(name) = placemark.data_name.take() {
                                placemark.data.push((name, text.trim().to_string()));
                            }
                        }
                    }
                    Some(Tag::Polygon) => {
                        if let Some(placemark) = placemark.as_mut() {
                            if let Some(polygon) = placemark.polygon.take() {
                                placemark.polygons.push(polygon);
                            }
                        }
                    }
                    Some(Tag::Placemark) => {
                        if let Some(done) = placemark.take() {
                            zones.extend(placemark_zones(done, &xml)?);
                        }
                    }
                    _ => {}
                }
                text.clear();
            }
            XmlEvent::Eof => break,
        }
    }
    Ok((route.unwrap_or_default(), zones))
}

fn placemark_name(placemark: Option<&Placemark>) -> String {
    match placemark.and_then(|p| p.name.as_deref()) {
        Some(name) => format!("{:?}", shorten(name, 60)),
        None => String::new(),
    }
}

/// The zones a finished placemark makes: none without a `kind`.
fn placemark_zones(placemark: Placemark, xml: &XmlReader<'_>) -> Result<Vec<ZoneInput>, PlanError> {
    let Some(kind) = placemark.data("kind").map(str::to_string) else {
        return Ok(Vec::new());
    };
    let radius_m = match placemark.data("radius_m") {
        None => None,
        Some(value) => Some(value.parse::<f64>().map_err(|_| {
            PlanError::malformed(format!(
                "the {} file: placemark {}: radius_m {:?} is not a number",
                xml.format(),
                placemark_name(Some(&placemark)),
                shorten(value, 40)
            ))
        })?),
    };
    let mut zones = Vec::new();
    for polygon in placemark.polygons.iter() {
        let rings = match &polygon.outer {
            Some(outer) => std::iter::once(outer.clone()).chain(polygon.inner.iter().cloned()).collect(),
            None => Vec::new(),
        };
        zones.push(ZoneInput {
            name: placemark.name.clone(),
            kind: Some(kind.clone()),
            geometry: ZoneGeometry::Polygon(rings),
        });
    }
    for center in placemark.points.iter() {
        zones.push(ZoneInput {
            name: placemark.name.clone(),
            kind: Some(kind.clone()),
            geometry: ZoneGeometry::Circle { center: *center, radius_m },
        });
    }
    if zones.is_empty() {
        zones.push(ZoneInput {
            name: placemark.name.clone(),
            kind: Some(kind),
            geometry: ZoneGeometry::Other("neither a <Polygon> nor a <Point>".to_string()),
        });
    }
    Ok(zones)
}

/// `lon,lat[,alt]` tuples separated by white space (white space next to a comma is tolerated).
fn tuples(text: &str, what: &dyn Fn() -> String) -> Result<Vec<LonLat>, PlanError> {
    let mut cleaned = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if space && c != ',' && !cleaned.is_empty() && !cleaned.ends_with(',') {
            cleaned.push(' ');
        }
        space = false;
        cleaned.push(c);
    }
    cleaned
        .split(' ')
        .filter(|tuple| !tuple.is_empty())
        .enumerate()
        .map(|(index, tuple)| {
            let numbers: Option<Vec<f64>> = tuple.split(',').map(|n| n.parse::<f64>().ok()).collect();
            match numbers.as_deref() {
                Some([lon, lat]) | Some([lon, lat, _]) => Ok([*lon, *lat]),
                _ => Err(PlanError::malformed(format!(
                    "{}: coordinate {} {:?} is not longitude,latitude[,altitude]",
                    what(),
                    index + 1,
                    shorten(tuple, 60)
                ))),
            }
        })
        .collect()
}
