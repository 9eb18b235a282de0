//! OpenStreetMap's PBF format (`.osm.pbf`, what Geofabrik and `osmium extract` write), read
//! with the `osmpbf` crate.

use std::io::Read;

use osmpbf::{Element, ElementReader};

use crate::osm::Collector;
use crate::Error;

pub(crate) fn read(reader: impl Read + Send) -> Result<Collector, Error> {
    let mut collector = Collector::default();
    ElementReader::new(reader)
        .for_each(|element| match element {
            Element::Node(n) => collector.node(n.id(), n.lat(), n.lon()),
            Element::DenseNode(n) => collector.node(n.id(), n.lat(), n.lon()),
            Element::Way(w) => collector.way(w.tags(), w.refs()),
            Element::Relation(_) => {}
        })
        .map_err(|e| Error::new(format!("not a readable OpenStreetMap PBF file: {e}")))?;
    Ok(collector)
}
