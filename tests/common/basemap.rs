//! Base maps for the tests: the project's OpenStreetMap extract of Andorra, and a tiny raster
//! MBTiles archive written as a tile server exports one, holding real PNG images.

use std::path::{Path, PathBuf};

use convoy::base_map::BaseMapSource;

/// `data/osm/andorra.osm.pbf`, the demo's extract.
pub fn andorra() -> PathBuf {
    super::data_path("osm/andorra.osm.pbf")
}

/// A place on Avinguda de Tarragona (a primary road through Andorra la Vella) and the tiles
/// holding it at zoom 16 (XYZ).
pub const TARRAGONA: (f64, f64) = (42.5025, 1.5140);
pub const TARRAGONA_Z16: (u8, u32, u32) = (16, 33043, 24204);

/// A real PNG image (one of Leaflet's), as a raster tile.
pub fn png() -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("gateway/web/vendor/leaflet/images/layers.png"))
        .unwrap()
}

/// The XYZ tile (zoom 2, column 2, row 1) of the archive [`raster_archive`] writes.
pub const RASTER_TILE: (u8, u32, u32) = (2, 2, 1);

/// Writes an MBTiles 1.3 archive of `format` at `path` with one tile, [`RASTER_TILE`] (stored
/// with its TMS row, counted from the south), whose image is [`png`].
pub fn raster_archive(path: &Path, format: &str) {
    let db = rusqlite::Connection::open(path).unwrap();
    db.execute_batch(
        "CREATE TABLE metadata (name TEXT, value TEXT);
         CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);
         CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);",
    )
    .unwrap();
    let metadata = [
        ("name", "test region"),
        ("format", format),
        ("minzoom", "0"),
        ("maxzoom", "4"),
        ("bounds", "1.40,42.42,1.80,42.66"),
        ("attribution", "© Test Maps Ltd"),
    ];
    for (name, value) in metadata {
        db.execute("INSERT INTO metadata VALUES (?1, ?2)", [name, value]).unwrap();
    }
    let (z, x, y) = RASTER_TILE;
    let tms_row = (1u32 << z) - 1 - y;
    db.execute("INSERT INTO tiles VALUES (?1, ?2, ?3, ?4)", rusqlite::params![z, x, tms_row, png()]).unwrap();
}

/// The configuration's base map for a file.
pub fn from_file(path: &Path) -> Option<BaseMapSource> {
    Some(BaseMapSource::File(path.to_path_buf()))
}
