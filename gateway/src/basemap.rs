//! The base map served from a file on this server (`[web] base_map`): the streets of an
//! OpenStreetMap extract as JSON vector tiles (`GET /basemap/streets/{z}/{x}/{y}`), or the tiles
//! of a raster MBTiles archive (`GET /basemap/tiles/{z}/{x}/{y}`), read by `convoy-basemap`.
//!
//! These paths carry no fleet data, only the configured region's public map, so they are
//! served without a token, like the page's own files (Leaflet's image tiles cannot send a
//! bearer token), and are not written to the audit log (a map view asks for dozens of tiles;
//! none says anything about a move). Refused requests are counted by reason
//! (`convoy_gateway_basemap_refused_total`).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use convoy_basemap::{BaseMap, OSM_ATTRIBUTION};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::openapi::{public, BadRequest, NotFound};
use crate::state::AppState;
use crate::web::WebSettings;

/// Every reason a tile request is refused for.
pub const BASEMAP_REFUSAL_REASONS: [&str; 4] = ["bad_tile", "no_base_map", "not_in_archive", "unreadable"];

/// The paths the page's tile layer asks (Leaflet's templates).
const STREETS_URL: &str = "/basemap/streets/{z}/{x}/{y}";
const TILES_URL: &str = "/basemap/tiles/{z}/{x}/{y}";

/// How long a browser may keep a tile: the map changes only with the file, at a restart.
const CACHE: &str = "public, max-age=3600";

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(public(routes!(street_tile))).routes(public(routes!(raster_tile)))
}

/// What the page draws under the fleet, in `GET /api/v1/me`'s `web.base_map`.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct BaseMapView {
    /// `none` (a plain background), `tiles` (raster images: an MBTiles archive on this server,
    /// or `[web] tile_url`), or `streets` (vector tiles of an OpenStreetMap extract, drawn by
    /// the page).
    #[schema(example = "streets")]
    pub kind: BaseMapKind,
    /// The tile URL template (`{z}`, `{x}`, `{y}`); null for `none`.
    #[schema(required = true, example = "/basemap/streets/{z}/{x}/{y}")]
    pub url: Option<String>,
    /// What the map must show as its source (always "© OpenStreetMap contributors" for an
    /// extract); null when none is known.
    #[schema(required = true)]
    pub attribution: Option<String>,
    pub min_zoom: u8,
    pub max_zoom: u8,
    /// `[west, south, east, north]` in degrees where the map has data; null when unknown.
    #[schema(required = true)]
    pub bounds: Option<[f64; 4]>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BaseMapKind {
    None,
    Tiles,
    Streets,
}

impl BaseMapView {
    /// The base map of these settings and this loaded file (none when `[web] base_map` is unset).
    pub fn of(web: &WebSettings, base_map: Option<&BaseMap>) -> Self {
        match base_map {
            Some(BaseMap::Streets(streets)) => Self {
                kind: BaseMapKind::Streets,
                url: Some(STREETS_URL.into()),
                attribution: Some(OSM_ATTRIBUTION.into()),
                min_zoom: 0,
                max_zoom: 19,
                bounds: Some(streets.bounds()),
            },
            Some(BaseMap::Tiles(archive)) => Self {
                kind: BaseMapKind::Tiles,
                url: Some(TILES_URL.into()),
                attribution: web.tile_attribution.clone().or_else(|| archive.attribution.clone()),
                min_zoom: archive.min_zoom.unwrap_or(0),
                max_zoom: archive.max_zoom.unwrap_or(19),
                bounds: archive.bounds,
            },
            None => match &web.tile_url {
                Some(url) => Self {
                    kind: BaseMapKind::Tiles,
                    url: Some(url.clone()),
                    attribution: web.tile_attribution.clone(),
                    min_zoom: 0,
                    max_zoom: 19,
                    bounds: None,
                },
                None => Self {
                    kind: BaseMapKind::None,
                    url: None,
                    attribution: None,
                    min_zoom: 0,
                    max_zoom: 19,
                    bounds: None,
                },
            },
        }
    }
}

/// A tile of the street map (documentation of `convoy_basemap::StreetTile`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct StreetTile {
    z: u8,
    x: u32,
    y: u32,
    /// Coordinates run from 0 to `extent` across the tile (up to 8 past it at the edges).
    #[schema(example = 256)]
    extent: u32,
    /// Streets, in the order to draw them (the least important first).
    lines: Vec<StreetLine>,
    /// Buildings.
    areas: Vec<StreetArea>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct StreetLine {
    /// `motorway`, `trunk`, `primary`, `secondary`, `tertiary`, `minor` (residential,
    /// unclassified...), `service`, `track`, `path`.
    #[schema(example = "primary")]
    class: String,
    /// The street's name, when it has one.
    #[schema(nullable = false)]
    name: Option<String>,
    /// `[x0, y0, x1, y1, …]` in tile pixels.
    points: Vec<i32>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct StreetArea {
    #[schema(example = "building")]
    class: String,
    /// A ring, `[x0, y0, x1, y1, …]` in tile pixels.
    points: Vec<i32>,
}

#[utoipa::path(
    get,
    path = "/basemap/streets/{z}/{x}/{y}",
    tag = "system",
    operation_id = "streetTile",
    summary = "A vector tile of the streets of the server's OpenStreetMap extract",
    description = "The streets (by class, with their names) and buildings of `[web] base_map` in the tile (XYZ), clipped to it with an 8-pixel buffer, simplified for the zoom, as whole tile pixels; minor classes are left out at low zoom. An empty tile outside the extract. Carries no fleet data. 400 `bad_tile` for a tile that does not exist at its zoom (zoom at most 22); 404 `no_base_map` when the server's base map is not an extract. Refusals are counted by reason (`convoy_gateway_basemap_refused_total`).",
    params(
        ("z" = u8, Path, description = "Zoom, 0 to 22."),
        ("x" = u32, Path, description = "Column, from the west."),
        ("y" = u32, Path, description = "Row, from the north."),
    ),
    responses(
        (status = 200, description = "The tile.", body = StreetTile),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    ),
)]
pub(crate) async fn street_tile(
    State(state): State<AppState>,
    Path((z, x, y)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let refuse = refusal(&state);
    let (z, x, y) = tile_address(&z, &x, &y).ok_or_else(|| refuse(bad_tile(), "bad_tile"))?;
    let Some(BaseMap::Streets(streets)) = state.base_map.as_deref() else {
        return Err(refuse(
            ApiError::new(StatusCode::NOT_FOUND, "this server draws no streets"),
            "no_base_map",
        ));
    };
    let tile = streets.tile(z, x, y);
    let body = serde_json::to_vec(&tile)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(with_headers(body, "application/json"))
}

#[utoipa::path(
    get,
    path = "/basemap/tiles/{z}/{x}/{y}",
    tag = "system",
    operation_id = "rasterTile",
    summary = "A tile of the server's raster MBTiles archive",
    description = "The image of the tile (XYZ; the archive's TMS row is flipped) from `[web] base_map`, with the content type of the archive's format. Carries no fleet data. 400 `bad_tile` for a tile that does not exist at its zoom; 404 `not_in_archive` for one the archive lacks, `no_base_map` when the server's base map is not an MBTiles archive. Refusals are counted by reason (`convoy_gateway_basemap_refused_total`).",
    params(
        ("z" = u8, Path, description = "Zoom, 0 to 22."),
        ("x" = u32, Path, description = "Column, from the west."),
        ("y" = u32, Path, description = "Row, from the north."),
    ),
    responses(
        (status = 200, description = "The tile's image, in the archive's format.", content(
            (Vec<u8> = "image/png"), (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/webp"),
        )),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    ),
)]
pub(crate) async fn raster_tile(
    State(state): State<AppState>,
    Path((z, x, y)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let refuse = refusal(&state);
    let (z, x, y) = tile_address(&z, &x, &y).ok_or_else(|| refuse(bad_tile(), "bad_tile"))?;
    let archive = match state.base_map.clone() {
        Some(map) if matches!(*map, BaseMap::Tiles(_)) => map,
        _ => {
            return Err(refuse(
                ApiError::new(StatusCode::NOT_FOUND, "this server serves no tiles"),
                "no_base_map",
            ))
        }
    };
    // SQLite reads block: off the async workers.
    let read = tokio::task::spawn_blocking(move || match &*archive {
        BaseMap::Tiles(tiles) => {
            tiles.tile(z, x, y).map(|t| t.map(|bytes| (bytes, tiles.format.content_type())))
        }
        BaseMap::Streets(_) => Ok(None),
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    match read {
        Ok(Some((bytes, content_type))) => Ok(with_headers(bytes, content_type)),
        Ok(None) => {
            Err(refuse(ApiError::new(StatusCode::NOT_FOUND, "no such tile in the archive"), "not_in_archive"))
        }
        Err(e) => {
            tracing::warn!(error = %e, "reading a tile of the base map");
            Err(refuse(
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "the map archive could not be read"),
                "unreadable",
            ))
        }
    }
}

fn refusal(state: &AppState) -> impl Fn(ApiError, &'static str) -> ApiError + '_ {
    move |error, reason| {
        state.metrics.basemap_refused.with_label_values(&[reason]).inc();
        error.with_reason(reason)
    }
}

fn bad_tile() -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "no such tile: z 0 to 22, and x and y under 2^z")
}

/// `(z, x, y)` as numbers naming a tile of the web's grid.
fn tile_address(z: &str, x: &str, y: &str) -> Option<(u8, u32, u32)> {
    let (z, x, y) = (z.parse().ok()?, x.parse().ok()?, y.parse().ok()?);
    convoy_basemap::valid_tile(z, x, y).then_some((z, x, y))
}

fn with_headers(body: Vec<u8>, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(CACHE));
    response
}

/// The loaded base map, shared by the requests.
pub type SharedBaseMap = Option<Arc<BaseMap>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tile_address_is_three_numbers_inside_the_zoom_grid() {
        assert_eq!(tile_address("2", "3", "1"), Some((2, 3, 1)));
        assert_eq!(tile_address("2", "4", "1"), None);
        assert_eq!(tile_address("23", "0", "0"), None);
        assert_eq!(tile_address("x", "0", "0"), None);
        assert_eq!(tile_address("1", "-1", "0"), None);
    }

    #[test]
    fn an_external_tile_server_is_a_tiles_base_map_and_nothing_is_none() {
        let web =
            WebSettings { tile_url: Some("https://t.example/{z}/{x}/{y}.png".into()), ..Default::default() };
        let view = BaseMapView::of(&web, None);
        assert_eq!((view.kind, view.url.as_deref()), (BaseMapKind::Tiles, web.tile_url.as_deref()));
        assert_eq!(BaseMapView::of(&WebSettings::default(), None).kind, BaseMapKind::None);
    }
}
