//! The base map Convoy serves from a file on its own machine (`[web] base_map`), so no third
//! party learns where the fleet is watched: an OpenStreetMap extract whose streets Convoy draws
//! itself (as small JSON vector tiles, [`StreetMap`]), or a raster MBTiles archive served tile
//! by tile ([`MbTiles`]).
//!
//! Reading outside data returns an [`Error`] naming what is wrong; it never panics (tested on
//! garbage and truncated files).

mod class;
mod geometry;
mod grid;
mod mbtiles;
mod osm;
mod osm_pbf;
mod osm_xml;
mod streets;

use std::path::Path;

pub use class::Class;
pub use mbtiles::{MbTiles, RasterFormat};
pub use streets::{Area, Line, StreetMap, StreetTile, EXTENT};

/// The attribution every map made from OpenStreetMap data must show (ODbL).
pub const OSM_ATTRIBUTION: &str = "© OpenStreetMap contributors";

/// The deepest zoom a tile is served at.
pub const MAX_ZOOM: u8 = 22;

/// Why a base map could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Error(String);

impl Error {
    pub(crate) fn new(reason: impl Into<String>) -> Self {
        Self(reason.into())
    }
}

/// A base map read at start.
#[derive(Debug)]
pub enum BaseMap {
    /// Streets of an OpenStreetMap extract, drawn by the page from vector tiles.
    Streets(StreetMap),
    /// A raster MBTiles archive, served as it is.
    Tiles(MbTiles),
}

impl BaseMap {
    /// Reads the file at `path`, by its name: `.osm.pbf` (or `.pbf`), `.osm`, `.osm.gz`,
    /// `.mbtiles`. The error names the file and says what is wrong with it.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let shown = path.display();
        let name = path.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
        let read =
            || std::fs::File::open(path).map_err(|e| Error::new(format!("{shown}: cannot open it: {e}")));
        let result = if name.ends_with(".pbf") {
            StreetMap::read_pbf(std::io::BufReader::new(read()?)).map(Self::Streets)
        } else if name.ends_with(".osm") {
            StreetMap::read_xml(std::io::BufReader::new(read()?)).map(Self::Streets)
        } else if name.ends_with(".osm.gz") {
            let unzipped = flate2::read::MultiGzDecoder::new(read()?);
            StreetMap::read_xml(std::io::BufReader::new(unzipped)).map(Self::Streets)
        } else if name.ends_with(".mbtiles") {
            read()?;
            MbTiles::open(path).map(Self::Tiles)
        } else {
            return Err(Error::new(format!(
                "{shown}: not a map archive Convoy reads: name an OpenStreetMap extract \
                 (.osm.pbf, .osm, .osm.gz) or a raster MBTiles archive (.mbtiles)"
            )));
        };
        result.map_err(|e| Error::new(format!("{shown}: {e}")))
    }
}

/// Whether `(z, x, y)` names a tile of the web's tiling scheme (XYZ, row 0 at the north).
pub fn valid_tile(z: u8, x: u32, y: u32) -> bool {
    z <= MAX_ZOOM && u64::from(x) < (1u64 << z) && u64::from(y) < (1u64 << z)
}
