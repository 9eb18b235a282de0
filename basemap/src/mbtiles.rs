//! A raster MBTiles archive (1.3: SQLite with `metadata` and `tiles` tables, rows numbered from
//! the south as in TMS), served tile by tile. Vector archives are refused: the page draws
//! Convoy's own street tiles, not Mapbox vector tiles.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::Error;

/// The image format of a raster archive's tiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RasterFormat {
    Png,
    Jpeg,
    Webp,
}

impl RasterFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Webp => "image/webp",
        }
    }
}

/// An open raster MBTiles archive.
#[derive(Debug)]
pub struct MbTiles {
    db: Mutex<Connection>,
    pub format: RasterFormat,
    pub attribution: Option<String>,
    pub min_zoom: Option<u8>,
    pub max_zoom: Option<u8>,
    /// (west, south, east, north) in degrees, when the archive says.
    pub bounds: Option<[f64; 4]>,
}

impl MbTiles {
    /// Opens the archive read-only and checks it is a raster MBTiles.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let mut header = [0u8; 16];
        let file = std::fs::File::open(path).map_err(|e| Error::new(format!("cannot open it: {e}")))?;
        std::io::Read::read_exact(&mut &file, &mut header)
            .map_err(|_| Error::new("not an MBTiles archive (too short to be an SQLite database)"))?;
        if &header != b"SQLite format 3\0" {
            return Err(Error::new("not an MBTiles archive (not an SQLite database)"));
        }
        let db = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| Error::new(format!("not a readable MBTiles archive: {e}")))?;
        let damaged = |e: rusqlite::Error| Error::new(format!("not a readable MBTiles archive: {e}"));
        let quick_check: String = db.query_row("PRAGMA quick_check", [], |r| r.get(0)).map_err(damaged)?;
        if quick_check != "ok" {
            return Err(Error::new(format!("a damaged MBTiles archive (SQLite says: {quick_check})")));
        }
        let mut statement = db
            .prepare("SELECT name, value FROM metadata")
            .map_err(|e| Error::new(format!("not an MBTiles archive (no metadata table: {e})")))?;
        let metadata: Vec<(String, String)> = statement
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1).unwrap_or_default())))
            .and_then(|rows| rows.collect())
            .map_err(damaged)?;
        drop(statement);
        let get = |key: &str| metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v.trim().to_string());
        let format =
            match get("format").as_deref() {
                Some("png") => RasterFormat::Png,
                Some("jpg" | "jpeg") => RasterFormat::Jpeg,
                Some("webp") => RasterFormat::Webp,
                Some("pbf") => return Err(Error::new(
                    "a vector MBTiles archive (format pbf): Convoy serves raster MBTiles (png, jpg, webp) \
                     or draws the streets of an OpenStreetMap extract itself; use an .osm.pbf extract \
                     of the region or raster tiles",
                )),
                Some(other) => {
                    return Err(Error::new(format!("an MBTiles archive of an unknown format {other:?}")))
                }
                None => return Err(Error::new("an MBTiles archive without a format in its metadata")),
            };
        db.prepare("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles LIMIT 1")
            .map_err(|e| Error::new(format!("not an MBTiles archive (no tiles table: {e})")))?;
        let zoom = |key: &str| get(key).and_then(|v| v.parse::<u8>().ok()).filter(|z| *z <= crate::MAX_ZOOM);
        let bounds = get("bounds").and_then(|v| {
            let numbers: Vec<f64> = v.split(',').filter_map(|n| n.trim().parse().ok()).collect();
            <[f64; 4]>::try_from(numbers).ok()
        });
        Ok(Self {
            format,
            attribution: get("attribution").filter(|a| !a.is_empty()),
            min_zoom: zoom("minzoom"),
            max_zoom: zoom("maxzoom"),
            bounds,
            db: Mutex::new(db),
        })
    }

    /// The image of the tile `(z, x, y)` (XYZ, row 0 at the north), if the archive has it.
    pub fn tile(&self, z: u8, x: u32, y: u32) -> Result<Option<Vec<u8>>, Error> {
        let tms_row = (1u64 << z) - 1 - u64::from(y);
        let db = self.db.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        db.query_row(
            "SELECT tile_data FROM tiles WHERE zoom_level = ?1 AND tile_column = ?2 AND tile_row = ?3",
            rusqlite::params![z, x, tms_row as i64],
            |r| r.get::<_, Vec<u8>>(0),
        )
        .optional()
        .map_err(|e| Error::new(format!("reading the MBTiles archive: {e}")))
    }
}
