//! What both OpenStreetMap readers (PBF and XML) build: node places by id, then each kept way
//! as a feature in Web Mercator, resolved as soon as it is read (extracts list nodes before
//! ways).

use std::collections::HashMap;

use crate::class::Class;
use crate::geometry::{mercator, Point};
use crate::Error;

/// A street or a building, in Web Mercator units (0..1 across the world, y down).
#[derive(Clone, Debug)]
pub(crate) struct Feature {
    pub class: Class,
    pub name: Option<String>,
    /// A line, or a closed ring for an area.
    pub points: Vec<Point>,
    /// (min x, min y, max x, max y).
    pub bbox: [f64; 4],
}

/// Gathers the features of one extract.
#[derive(Default)]
pub(crate) struct Collector {
    nodes: HashMap<i64, Point>,
    pub features: Vec<Feature>,
    /// (min lon, min lat, max lon, max lat) of the kept features' nodes.
    pub bounds: Option<[f64; 4]>,
}

impl Collector {
    pub fn node(&mut self, id: i64, lat: f64, lon: f64) {
        let in_range = (-85.06..=85.06).contains(&lat) && (-180.0..=180.0).contains(&lon);
        if in_range {
            self.nodes.insert(id, mercator(lon, lat));
        }
    }

    /// A way with its tags and node ids; kept when it is a street or a building.
    pub fn way<'a>(
        &mut self,
        tags: impl Iterator<Item = (&'a str, &'a str)>,
        refs: impl Iterator<Item = i64>,
    ) {
        let mut class = None;
        let mut name = None;
        for (key, value) in tags {
            match key {
                "highway" => class = Class::of_highway(value).or(class),
                "building" if class.is_none() && value != "no" => class = Some(Class::Building),
                "name" if !value.is_empty() => name = Some(value.chars().take(200).collect()),
                _ => {}
            }
        }
        let Some(class) = class else { return };
        // A node outside the extract (cut at its border) is left out of the line.
        let points: Vec<Point> = refs.filter_map(|id| self.nodes.get(&id).copied()).collect();
        let enough = if class == Class::Building { 4 } else { 2 };
        if points.len() < enough {
            return;
        }
        let mut bbox = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
        for p in &points {
            bbox = [bbox[0].min(p.x), bbox[1].min(p.y), bbox[2].max(p.x), bbox[3].max(p.y)];
        }
        let (west, north) = crate::geometry::lon_lat(Point { x: bbox[0], y: bbox[1] });
        let (east, south) = crate::geometry::lon_lat(Point { x: bbox[2], y: bbox[3] });
        self.bounds = Some(match self.bounds {
            None => [west, south, east, north],
            Some(b) => [b[0].min(west), b[1].min(south), b[2].max(east), b[3].max(north)],
        });
        self.features.push(Feature {
            class,
            name: if class == Class::Building { None } else { name },
            points,
            bbox,
        });
    }

    /// The features, or an error when the extract held none.
    pub fn finish(self) -> Result<(Vec<Feature>, [f64; 4]), Error> {
        match self.bounds {
            Some(bounds) if !self.features.is_empty() => Ok((self.features, bounds)),
            _ => {
                Err(Error::new("holds no streets or buildings (is it an OpenStreetMap extract of a region?)"))
            }
        }
    }
}
