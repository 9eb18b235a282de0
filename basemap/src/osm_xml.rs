//! OpenStreetMap's XML format (`.osm`, or gzipped `.osm.gz`), read with `quick-xml` as a stream:
//! only the nodes' places and the kept ways stay in memory.

use std::io::BufRead;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use crate::osm::Collector;
use crate::Error;

/// The way being read: its tags and node ids, until its end tag.
#[derive(Default)]
struct OpenWay {
    tags: Vec<(String, String)>,
    refs: Vec<i64>,
}

pub(crate) fn read(input: impl BufRead) -> Result<Collector, Error> {
    let mut reader = Reader::from_reader(input);
    let mut collector = Collector::default();
    let mut buf = Vec::new();
    let mut way: Option<OpenWay> = None;
    let mut saw_osm = false;
    let mut ended = false;
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| Error::new(format!("not a readable OpenStreetMap XML file: {e}")))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                // A `<way/>` with nothing inside ends where it starts: nothing to keep.
                let opens = matches!(event, Event::Start(_));
                let attrs = attributes(e);
                match e.name().as_ref() {
                    b"osm" => saw_osm = true,
                    b"node" => {
                        let number =
                            |k: &str| attrs.iter().find(|(a, _)| a == k).and_then(|(_, v)| v.parse().ok());
                        if let (Some(id), Some(lat), Some(lon)) = (number("id"), number("lat"), number("lon"))
                        {
                            collector.node(id as i64, lat, lon);
                        }
                    }
                    b"way" if opens => way = Some(OpenWay::default()),
                    b"nd" => {
                        if let (Some(w), Some((_, r))) =
                            (way.as_mut(), attrs.iter().find(|(k, _)| k == "ref"))
                        {
                            w.refs.extend(r.parse::<i64>().ok());
                        }
                    }
                    b"tag" => {
                        if let Some(w) = way.as_mut() {
                            let get = |k: &str| attrs.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone());
                            if let (Some(k), Some(v)) = (get("k"), get("v")) {
                                w.tags.push((k, v));
                            }
                        }
                    }
                    _ => {}
                }
            }
            Event::End(e) if e.name().as_ref() == b"way" => close_way(&mut collector, &mut way),
            Event::End(e) if e.name().as_ref() == b"osm" => ended = true,
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !saw_osm {
        return Err(Error::new("not an OpenStreetMap XML file (no <osm> element)"));
    }
    if !ended {
        return Err(Error::new("a truncated OpenStreetMap XML file (it stops before </osm>)"));
    }
    Ok(collector)
}

fn close_way(collector: &mut Collector, way: &mut Option<OpenWay>) {
    if let Some(w) = way.take() {
        collector.way(w.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())), w.refs.into_iter());
    }
}

/// The element's attributes as text; a malformed one is left out.
fn attributes(e: &BytesStart) -> Vec<(String, String)> {
    e.attributes()
        .flatten()
        .map(|a| {
            let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
            let value = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map(|v| v.into_owned())
                .unwrap_or_default();
            (key, value)
        })
        .collect()
}
