//! The web page: its static files, embedded in the binary (the server runs with nothing else
//! installed and no CDN), served with a strict Content-Security-Policy, and what it is told
//! about the site (base-map tiles).
//!
//! The page is plain HTML, CSS and ES modules with no build step; Leaflet is vendored under
//! `web/vendor/leaflet/` (see its SOURCE.txt). All data is rendered with DOM APIs, and the
//! policy forbids inline scripts, so a vehicle id, note or zone name holding HTML stays text.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::openapi::public;
use crate::state::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(public(routes!(index))).routes(public(routes!(asset)))
}

/// Settings the web page reads at start.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebSettings {
    /// The base map's tile URL template (`https://…/{z}/{x}/{y}.png`); none: no base map, the
    /// routes, zones and vehicles are still drawn.
    #[serde(default)]
    #[schema(required = true)]
    pub tile_url: Option<String>,
    /// The attribution the tile provider requires, shown on the map.
    #[serde(default)]
    #[schema(required = true)]
    pub tile_attribution: Option<String>,
    /// What the base map's tiles are drawn in: `wgs84` (OpenStreetMap and most others), or
    /// `gcj02` (AMap/Gaode and Tencent, in China), for which the page shifts what it draws
    /// (vehicles, tracks, routes, zones) and takes clicks back, so they line up with the roads.
    /// For display only: every stored fix, rule and export stays WGS-84.
    #[serde(default)]
    #[schema(required = true)]
    pub coordinates: MapCoordinates,
    /// A base map served by this server from a file: an OpenStreetMap extract (`.osm.pbf`,
    /// `.osm`, `.osm.gz`) whose streets Convoy draws, or a raster MBTiles archive. Exclusive
    /// with `tile_url`. Read at start (`convoy_basemap`); never told to the page.
    #[serde(default, skip_serializing)]
    #[schema(ignore)]
    pub base_map: Option<std::path::PathBuf>,
}

/// What the page is told about the site's map (`GET /api/v1/me`'s `web`): the settings it
/// always had, and the base map to draw.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PageWeb {
    /// As `[web] tile_url` says (null with a base map served from a file: see `base_map`).
    #[schema(required = true)]
    pub tile_url: Option<String>,
    #[schema(required = true)]
    pub tile_attribution: Option<String>,
    pub coordinates: MapCoordinates,
    pub base_map: crate::basemap::BaseMapView,
}

impl PageWeb {
    pub fn of(web: &WebSettings, base_map: Option<&convoy_basemap::BaseMap>) -> Self {
        Self {
            tile_url: web.tile_url.clone(),
            tile_attribution: web.tile_attribution.clone(),
            coordinates: web.coordinates,
            base_map: crate::basemap::BaseMapView::of(web, base_map),
        }
    }
}

/// The coordinate system of a base map's tiles (`[web] coordinates`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MapCoordinates {
    #[default]
    Wgs84,
    Gcj02,
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
        anyhow::ensure!(
            self.tile_url.is_none() || self.base_map.is_none(),
            "tile_url and base_map are exclusive: the base map is either another server's tiles or a file of this one"
        );
        Ok(())
    }

    /// The source the page's images may come from besides its own origin: the tile server's
    /// origin, with Leaflet's `{s}` subdomain placeholder as a wildcard. None for a tile path
    /// on this server, or a URL too odd to put in a policy (then tiles are simply blocked and
    /// the map shows its plain background).
    fn tile_source(&self) -> Option<String> {
        let url = self.tile_url.as_deref()?;
        let (scheme, rest) = url.split_once("://")?;
        let host = rest.split('/').next()?.replace("{s}", "*");
        let host_ok = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '*' | '[' | ']'));
        host_ok.then(|| format!("{scheme}://{host}"))
    }

    /// The Content-Security-Policy of the page: its own scripts and styles only (no inline
    /// script), images from itself, `data:` and the tile server, connections to its own origin
    /// only (`'self'` covers the live feed's `ws:`/`wss:` to the same host and port in CSP
    /// Level 3; a bare `ws: wss:` would let a script reach any host), no frames, no plugins.
    pub fn content_security_policy(&self) -> String {
        let tiles = self.tile_source().map(|s| format!(" {s}")).unwrap_or_default();
        format!(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:{tiles}; \
             connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
             form-action 'self'; frame-ancestors 'none'"
        )
    }
}

/// One file of the page, embedded at build time.
struct Asset {
    /// The path under `/assets/` (and under `gateway/web/`).
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! assets {
    ($($path:literal => $content_type:expr),* $(,)?) => {
        &[$(Asset { path: $path, content_type: $content_type, body: include_bytes!(concat!("../web/", $path)) }),*]
    };
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";
const PNG: &str = "image/png";

/// Every file of the page. A test checks that each file under `gateway/web/` is listed.
const ASSETS: &[Asset] = assets![
    "index.html" => HTML,
    "css/app.css" => CSS,
    "css/print.css" => CSS,
    "js/main.js" => JS,
    "js/api.js" => JS,
    "js/error_text.js" => JS,
    "js/dom.js" => JS,
    "js/format.js" => JS,
    "js/roles.js" => JS,
    "js/map.js" => JS,
    "js/colours.js" => JS,
    "js/label_fit.js" => JS,
    "js/gcj02.js" => JS,
    "js/streets.js" => JS,
    "js/street_style.js" => JS,
    "js/feed.js" => JS,
    "js/live.js" => JS,
    "js/progress.js" => JS,
    "js/alerts.js" => JS,
    "js/audit.js" => JS,
    "js/setup.js" => JS,
    "js/replay.js" => JS,
    "js/exports.js" => JS,
    "js/report.js" => JS,
    "js/moves.js" => JS,
    "js/move_edit.js" => JS,
    "js/plan_form.js" => JS,
    "js/time_zones.js" => JS,
    "js/phones.js" => JS,
    "js/holds.js" => JS,
    "js/seals.js" => JS,
    "js/seal_form.js" => JS,
    "js/history.js" => JS,
    "js/daily.js" => JS,
    "js/daily_format.js" => JS,
    "js/people.js" => JS,
    "js/vehicles.js" => JS,
    "js/agent_status.js" => JS,
    "js/vehicle_keys.js" => JS,
    "js/password.js" => JS,
    "js/when.js" => JS,
    "js/lang/phones.js" => JS,
    "js/i18n.js" => JS,
    "js/lang/common.js" => JS,
    "js/lang/live.js" => JS,
    "js/lang/alerts.js" => JS,
    "js/lang/replay.js" => JS,
    "js/lang/history.js" => JS,
    "js/lang/format.js" => JS,
    "js/lang/errors.js" => JS,
    "js/lang/moves.js" => JS,
    "js/lang/people.js" => JS,
    "js/lang/vehicles.js" => JS,
    "js/lang/holds.js" => JS,
    "js/lang/seals.js" => JS,
    "js/lang/audit.js" => JS,
    "vendor/leaflet/leaflet.js" => JS,
    "vendor/leaflet/leaflet.css" => CSS,
    "vendor/leaflet/LICENSE" => TEXT,
    "vendor/leaflet/SOURCE.txt" => TEXT,
    "vendor/leaflet/images/layers.png" => PNG,
    "vendor/leaflet/images/layers-2x.png" => PNG,
    "vendor/leaflet/images/marker-icon.png" => PNG,
    "vendor/leaflet/images/marker-icon-2x.png" => PNG,
    "vendor/leaflet/images/marker-shadow.png" => PNG,
];

fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

/// `GET /`: the page.
#[utoipa::path(
    get,
    path = "/",
    tag = "system",
    operation_id = "webPage",
    summary = "The web page",
    description = "The page itself holds no data; it logs in with `POST /api/v1/login`. Served with a strict Content-Security-Policy.",
    responses((status = 200, description = "The page.", content_type = "text/html; charset=utf-8", body = String)),
)]
pub(crate) async fn index(State(state): State<AppState>) -> Response {
    // The page is always embedded: its absence would fail the build.
    serve(&state.web, find("index.html").expect("index.html is embedded"))
}

/// `GET /assets/{*path}`: a script, style sheet or image of the page.
#[utoipa::path(
    get,
    path = "/assets/{*path}",
    tag = "system",
    operation_id = "webAsset",
    summary = "A script, style sheet or image of the web page",
    description = "`path` may hold slashes (`js/main.js`, `vendor/leaflet/leaflet.css`); the files are embedded in the binary.",
    params(("path" = String, Path, description = "The file's path under the page's assets.", min_length = 1)),
    responses(
        (status = 200, description = "The file, with its content type.", content_type = "*/*", body = Vec<u8>),
        (status = 404, response = crate::openapi::NotFound),
    ),
)]
pub(crate) async fn asset(State(state): State<AppState>, Path(path): Path<String>) -> Response {
    match find(&path) {
        Some(asset) => serve(&state.web, asset),
        None => ApiError::new(StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}

fn serve(web: &WebSettings, asset: &Asset) -> Response {
    let mut response = asset.body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // A new binary may bring new files under the same names: always revalidate.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if asset.content_type == HTML {
        // The tile source comes from a validated setting; a value a header cannot carry falls
        // back to the policy without tiles.
        let policy = HeaderValue::from_str(&web.content_security_policy()).unwrap_or_else(|_| {
            HeaderValue::from_str(&WebSettings::default().content_security_policy())
                .expect("the default policy is a valid header value")
        });
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_of_the_page_is_embedded_once_with_a_known_type() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
        let mut on_disk = Vec::new();
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    on_disk.push(path.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/"));
                }
            }
        }
        on_disk.sort();
        let mut embedded: Vec<String> = ASSETS.iter().map(|a| a.path.to_string()).collect();
        embedded.sort();
        assert_eq!(embedded, on_disk, "gateway/web/ and the ASSETS list differ");
        for asset in ASSETS {
            let ext = asset.path.rsplit('.').next().unwrap();
            let expected = match ext {
                "html" => HTML,
                "js" => JS,
                "css" => CSS,
                "png" => PNG,
                _ => TEXT,
            };
            assert_eq!(asset.content_type, expected, "{}", asset.path);
        }
    }

    /// The page shows a refusal in Chinese by its reason code (js/error_text.js): every reason
    /// the admin routes give has a text in js/lang/errors.js.
    #[test]
    fn every_refusal_reason_of_the_admin_routes_has_a_text_in_the_page() {
        let catalogue = ASSETS.iter().find(|a| a.path == "js/lang/errors.js").expect("embedded");
        let text = std::str::from_utf8(catalogue.body).unwrap();
        let reasons = [
            crate::people_admin::PEOPLE_REFUSAL_REASONS,
            crate::vehicles_admin::VEHICLE_REFUSAL_REASONS,
            &crate::move_end::MOVE_END_REFUSAL_REASONS,
            &crate::move_edit::MOVE_EDIT_REFUSAL_REASONS,
            &convoy_core::plan::PLAN_REJECTION_REASONS,
            convoy_registry::holds::HOLD_REFUSAL_REASONS,
            &["bad_name", "bad_endpoint", "unknown_vehicle", "unknown_person", "already_exists"], // phones/admin.rs
        ];
        for reason in reasons.concat() {
            // Each text in both languages (tests/web/i18n.test.mjs checks they pair up).
            let key = format!("'reason.{reason}':");
            assert_eq!(text.matches(&key).count(), 2, "{reason} has no text in js/lang/errors.js");
        }
    }

    #[test]
    fn the_policy_allows_the_tile_server_and_nothing_inline() {
        let none = WebSettings::default().content_security_policy();
        assert!(none.contains("script-src 'self';"), "{none}");
        assert!(!none.contains("unsafe-inline"), "{none}");
        assert!(none.contains("img-src 'self' data: blob:;"), "{none}");
        assert!(none.contains("connect-src 'self';"), "{none}");
        assert!(!none.contains("ws:") && !none.contains("wss:"), "no WebSocket to any host: {none}");

        let osm = WebSettings {
            tile_url: Some("https://{s}.tile.example.org/{z}/{x}/{y}.png".into()),
            ..Default::default()
        };
        assert!(osm
            .content_security_policy()
            .contains("img-src 'self' data: blob: https://*.tile.example.org;"));
        let local = WebSettings { tile_url: Some("/tiles/{z}/{x}/{y}.png".into()), ..Default::default() };
        assert_eq!(local.content_security_policy(), none);
        let odd = WebSettings { tile_url: Some("https://a b\"c/{z}/{x}/{y}".into()), ..Default::default() };
        assert_eq!(odd.content_security_policy(), none, "an odd host is left out, not pasted in");
    }
}
