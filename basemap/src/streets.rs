//! The street map of an OpenStreetMap extract: its features indexed in a grid, cut into vector
//! tiles of JSON (lines and areas in whole tile pixels, simplified for the zoom).

use std::io::{BufRead, Read};

use serde::Serialize;

use crate::class::Class;
use crate::geometry::{clip_line, clip_ring, simplify, to_pixels, Point, Rect};
use crate::grid::Grid;
use crate::osm::{Collector, Feature};
use crate::Error;

/// The width of a tile in its own pixels.
pub const EXTENT: u32 = 256;
/// How far past its edges a tile keeps geometry, in its pixels: a stroke crossing the edge is
/// drawn whole on both tiles.
const BUFFER: f64 = 8.0;
/// How far (in tile pixels) a simplified line may stray from the street.
const TOLERANCE: f64 = 0.5;

/// The streets and buildings of an extract.
#[derive(Debug)]
pub struct StreetMap {
    features: Vec<Feature>,
    grid: Grid,
    bounds: [f64; 4],
}

/// One tile of the street map.
#[derive(Debug, Serialize, PartialEq)]
pub struct StreetTile {
    pub z: u8,
    pub x: u32,
    pub y: u32,
    /// Coordinates run from 0 to `extent` across the tile (a little past it at the edges).
    pub extent: u32,
    /// Streets, the least important first (the order to draw them in).
    pub lines: Vec<Line>,
    /// Buildings.
    pub areas: Vec<Area>,
}

/// A street (or the part of it in the tile).
#[derive(Debug, Serialize, PartialEq)]
pub struct Line {
    pub class: Class,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `[x0, y0, x1, y1, …]` in tile pixels.
    pub points: Vec<i32>,
}

/// An area: a building's outline in the tile.
#[derive(Debug, Serialize, PartialEq)]
pub struct Area {
    pub class: Class,
    /// `[x0, y0, x1, y1, …]` in tile pixels, a ring.
    pub points: Vec<i32>,
}

impl StreetMap {
    /// Reads an extract in OpenStreetMap's PBF format.
    pub fn read_pbf(reader: impl Read + Send) -> Result<Self, Error> {
        Self::build(crate::osm_pbf::read(reader)?)
    }

    /// Reads an extract in OpenStreetMap's XML format.
    pub fn read_xml(reader: impl BufRead) -> Result<Self, Error> {
        Self::build(crate::osm_xml::read(reader)?)
    }

    fn build(collector: Collector) -> Result<Self, Error> {
        let (mut features, bounds) = collector.finish()?;
        // Drawing order, kept by the grid's queries (they return ids in order).
        features.sort_by_key(|f| f.class);
        let grid = Grid::new(features.iter().map(|f| f.bbox));
        Ok(Self { features, grid, bounds })
    }

    /// (west, south, east, north) in degrees: where the extract has streets.
    pub fn bounds(&self) -> [f64; 4] {
        self.bounds
    }

    /// How many streets and buildings it holds.
    pub fn len(&self) -> usize {
        self.grid.len()
    }

    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// The tile `(z, x, y)` (XYZ, checked by [`crate::valid_tile`]): empty outside the extract.
    pub fn tile(&self, z: u8, x: u32, y: u32) -> StreetTile {
        let scale = f64::from(EXTENT) * f64::from(1u32 << z.min(31));
        let to_tile = |p: &Point| Point {
            x: p.x * scale - f64::from(x * EXTENT),
            y: p.y * scale - f64::from(y * EXTENT),
        };
        let pad = BUFFER / scale;
        let size = f64::from(EXTENT) / scale;
        let (left, top) = (f64::from(x) * size, f64::from(y) * size);
        let query = [left - pad, top - pad, left + size + pad, top + size + pad];
        let edge = f64::from(EXTENT) + BUFFER;
        let rect = Rect { min: Point { x: -BUFFER, y: -BUFFER }, max: Point { x: edge, y: edge } };
        let mut tile = StreetTile { z, x, y, extent: EXTENT, lines: Vec::new(), areas: Vec::new() };
        for id in self.grid.query(query) {
            let feature = &self.features[id as usize];
            let b = feature.bbox;
            if feature.class.min_zoom() > z
                || b[2] < query[0]
                || b[0] > query[2]
                || b[3] < query[1]
                || b[1] > query[3]
            {
                continue;
            }
            let points: Vec<Point> = feature.points.iter().map(to_tile).collect();
            if feature.class == Class::Building {
                let ring = to_pixels(&clip_ring(&points, rect));
                if ring.len() >= 6 {
                    tile.areas.push(Area { class: feature.class, points: ring });
                }
                continue;
            }
            for part in clip_line(&points, rect) {
                let pixels = to_pixels(&simplify(&part, TOLERANCE));
                if pixels.len() >= 4 {
                    tile.lines.push(Line {
                        class: feature.class,
                        name: feature.name.clone(),
                        points: pixels,
                    });
                }
            }
        }
        tile
    }
}
