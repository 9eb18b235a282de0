//! The web page: what it is told about the site (base-map tiles).

use serde::{Deserialize, Serialize};

/// Settings the web page reads at start.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebSettings {
    /// The base map's tile URL template (`https://…/{z}/{x}/{y}.png`); none: no base map, the
    /// routes, zones and vehicles are still drawn.
    #[serde(default)]
    pub tile_url: Option<String>,
    /// The attribution the tile provider requires, shown on the map.
    #[serde(default)]
    pub tile_attribution: Option<String>,
}

impl WebSettings {
    pub fn validate(&self) -> anyhow::Result<()> {
        if let Some(url) = &self.tile_url {
            let scheme_ok = url.starts_with("https://") || url.starts_with("http://") || url.starts_with('/');
            anyhow::ensure!(
                scheme_ok && ["{z}", "{x}", "{y}"].iter().all(|p| url.contains(p)),
                "tile_url must be an http(s) URL or a path with {{z}}, {{x}} and {{y}}"
            );
        }
        Ok(())
    }
}
