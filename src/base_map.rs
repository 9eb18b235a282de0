//! Where the server's base map comes from: `[web] base_map`, a file read at start, or the
//! demo's OpenStreetMap extract built into the binary. A file that cannot be read stops the
//! start, naming it, before anything is served.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use convoy_basemap::{BaseMap, StreetMap};

/// A base map to read at start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BaseMapSource {
    /// `[web] base_map`: an OpenStreetMap extract or a raster MBTiles archive.
    File(PathBuf),
    /// An OpenStreetMap extract in PBF built into the binary (the demo's).
    EmbeddedPbf(&'static [u8]),
}

impl BaseMapSource {
    /// Reads it (off the async workers: a region's extract takes a moment).
    pub async fn load(&self) -> anyhow::Result<Arc<BaseMap>> {
        let source = self.clone();
        let started = std::time::Instant::now();
        let map = tokio::task::spawn_blocking(move || match source {
            BaseMapSource::File(path) => BaseMap::open(&path).context("[web] base_map"),
            BaseMapSource::EmbeddedPbf(bytes) => {
                StreetMap::read_pbf(bytes).map(BaseMap::Streets).context("the built-in base map")
            }
        })
        .await??;
        match &map {
            BaseMap::Streets(streets) => tracing::info!(
                features = streets.len(),
                ms = started.elapsed().as_millis() as u64,
                "base map: streets of an OpenStreetMap extract"
            ),
            BaseMap::Tiles(tiles) => tracing::info!(format = ?tiles.format, "base map: raster MBTiles"),
        }
        Ok(Arc::new(map))
    }
}
