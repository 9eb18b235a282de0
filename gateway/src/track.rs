//! `GET /api/v1/vehicles/{id}/track`: a vehicle's stored fixes in fix-time order, streamed as
//! they are read (a day at 10 Hz never sits whole in memory), or simplified for display; as
//! JSON, or as a GPX, GeoJSON, KML or CSV download (`format`, see `export.rs`).

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use convoy_core::position::format_time;
use convoy_core::simplify::simplify_indices;
use convoy_core::{Ability, Position, VehicleId};
use convoy_store::StoredPosition;
use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit;
use crate::error::ApiError;
use crate::export;
use crate::extract::ClientAddr;
use crate::extract::{ApiQuery, Authenticated};
use crate::openapi::{requires, BadRequest, NotFound, ServiceUnavailable, UnprocessableEntity};
use crate::schemas;
use crate::state::AppState;
use convoy_history::export::{split_at_gaps, write_segments, ExportFormat, ExportMeta};
use convoy_history::{Span, TrackFix};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(requires(Ability::Track, routes!(vehicle_track)))
}

/// The most fixes a simplified track may be built from (about 28 hours at 10 Hz); simplifying
/// needs the whole track in memory.
const MAX_SIMPLIFIED_FIXES: usize = 1_000_000;
/// The longest range one track request reads: streamed, it costs no memory, but a bounded
/// request keeps one person from reading the whole history in one go.
const MAX_TRACK_DAYS: i64 = 31;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct TrackQuery {
    /// Fixes at or after this fix time.
    #[param(value_type = Option<schemas::Time>)]
    from: Option<DateTime<Utc>>,
    /// Fixes before this fix time; after `from`.
    #[param(value_type = Option<schemas::Time>)]
    to: Option<DateTime<Utc>>,
    /// The file format; `json` by default.
    #[param(pattern = "^(json|geojson|gpx|kml|csv)$", default = "json")]
    format: Option<String>,
    /// Douglas-Peucker tolerance for display, in metres.
    #[param(exclusive_minimum = 0)]
    simplify_m: Option<f64>,
}

/// A vehicle's track as JSON, as [`vehicle_track`] streams it (the schema only).
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // a schema only
pub(crate) struct Track {
    #[schema(value_type = schemas::VehicleId)]
    vehicle: String,
    #[schema(value_type = Vec<schemas::StoredFix>)]
    positions: Vec<serde_json::Value>,
}

#[utoipa::path(
    get,
    path = "/api/v1/vehicles/{id}/track",
    tag = "vehicles",
    operation_id = "vehicleTrack",
    summary = "A vehicle's stored fixes in fix-time order",
    description = "Without `from` and `to`, the last 24 hours; an auditor reads fixes at least `auditor_delay_minutes` old (the server's `[access]` setting, 60 by default): the range ends there; `to` must be after `from` and at most 31 days later (400 otherwise). Streamed as read; with `simplify_m`, simplified (Douglas-Peucker) from at most 1,000,000 fixes (more: 422, ask for a shorter range). Recorded in the audit log.",
    params(("id" = schemas::VehicleId, Path, description = "The vehicle's id."), TrackQuery),
    responses(
        (
            status = 200,
            description = "The track.",
            content(
                (Track = "application/json"),
                (String = "application/geo+json"),
                (String = "application/gpx+xml"),
                (String = "application/vnd.google-earth.kml+xml"),
                (String = "text/csv"),
            ),
        ),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn vehicle_track(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(from_addr): ClientAddr,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<TrackQuery>,
) -> Result<Response, ApiError> {
    user.require(Ability::Track)?;
    let id = VehicleId::new(id).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    // `None`: the JSON track.
    let format = match query.format.as_deref() {
        None | Some("json") => None,
        other => Some(export::requested_format(other, "json, ")?),
    };
    let to = query.to.unwrap_or_else(Utc::now);
    let from = match query.from {
        Some(from) => from,
        None => to.checked_sub_signed(Duration::days(1)).ok_or_else(|| {
            ApiError::new(StatusCode::BAD_REQUEST, "to is too far in the past").with_reason("bad_range")
        })?,
    };
    let refuse = |message: String, reason: &'static str| {
        ApiError::new(StatusCode::BAD_REQUEST, message).with_reason(reason)
    };
    if from >= to {
        return Err(refuse("from must be before to".into(), "bad_range"));
    }
    if to - from > Duration::days(MAX_TRACK_DAYS) {
        let message = format!(
            "the range is {} days long; at most {MAX_TRACK_DAYS} days are read at once: ask for it a month at a time",
            (to - from).num_days()
        );
        return Err(refuse(message, "range_too_long"));
    }
    if let Some(tolerance) = query.simplify_m {
        if !(tolerance > 0.0 && tolerance.is_finite()) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "simplify_m must be a positive number of metres",
            ));
        }
    }
    if !state.store.vehicle_registered(&id).await? {
        return Err(ApiError::new(StatusCode::NOT_FOUND, format!("no vehicle {id}")));
    }
    // An auditor reads behind the road: the range ends at the newest fix they may read.
    let Span { from, to } = state.access.readable(user.0.role, Span { from, to }, Utc::now());
    if let Some(format) = format {
        let detail = serde_json::json!({
            "format": format.as_str(), "from": from, "to": to, "simplify_m": query.simplify_m,
        });
        audit::record(&state, Some(&user.0.name), from_addr, "export.download", id.as_str(), detail).await?;
        return file_track(&state, format, id, Span { from, to }, query.simplify_m).await;
    }
    let detail = serde_json::json!({ "from": from, "to": to, "simplify_m": query.simplify_m });
    audit::record(&state, Some(&user.0.name), from_addr, "track.view", id.as_str(), detail).await?;

    let mut fixes = state.store.track_stream(&id, from, to);
    // A vehicle id is [A-Za-z0-9._-]: nothing to escape.
    let head = Bytes::from(format!("{{\"vehicle\":\"{id}\",\"positions\":["));
    let body = match query.simplify_m {
        None => {
            let mut first = true;
            let items = stream::poll_fn(move |cx| fixes.poll_recv(cx)).map(move |fix| {
                let bytes = fix_json(&fix?, first);
                first = false;
                Ok::<_, convoy_store::StoreError>(bytes)
            });
            Body::from_stream(
                stream::once(async { Ok(head) }).chain(items).chain(stream::once(async { Ok(tail()) })),
            )
        }
        Some(tolerance) => {
            let mut track = Vec::new();
            while let Some(fix) = fixes.recv().await {
                track.push(fix?);
                if track.len() > MAX_SIMPLIFIED_FIXES {
                    let message = format!(
                        "more than {MAX_SIMPLIFIED_FIXES} fixes to simplify: ask for a shorter range"
                    );
                    return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message));
                }
            }
            let positions: Vec<Position> = track.iter().map(|f| f.position.clone()).collect();
            let mut json = head.to_vec();
            for (n, index) in simplify_indices(&positions, tolerance).into_iter().enumerate() {
                json.extend_from_slice(&fix_json(&track[index], n == 0));
            }
            json.extend_from_slice(&tail());
            Body::from(json)
        }
    };
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// The track as a file to download, streamed, or simplified first.
async fn file_track(
    state: &AppState,
    format: ExportFormat,
    id: VehicleId,
    span: Span,
    simplify_m: Option<f64>,
) -> Result<Response, ApiError> {
    let meta = ExportMeta {
        title: id.to_string(),
        description: format!("Vehicle {id} from {} to {}", format_time(&span.from), format_time(&span.to)),
        generated_at: Utc::now(),
        time_zone: None,
    };
    let stem = format!("{id}-{}", span.from.format("%Y%m%dT%H%M%SZ"));
    let body = match simplify_m {
        None => export::stream_tracks(state.store.clone(), format, meta, vec![id], span),
        Some(tolerance) => {
            let segments = simplified_segments(state, &id, span, tolerance).await?;
            Body::from(write_segments(format, &meta, &id, &segments))
        }
    };
    Ok(export::attachment(format, &stem, body))
}

/// A track cut at its data gaps, each segment simplified to `tolerance` metres (simplifying
/// across a gap would hide it).
async fn simplified_segments(
    state: &AppState,
    id: &VehicleId,
    span: Span,
    tolerance: f64,
) -> Result<Vec<Vec<StoredPosition>>, ApiError> {
    let mut fixes = state.store.track_stream(id, span.from, span.to);
    let mut track = Vec::new();
    while let Some(fix) = fixes.recv().await {
        track.push(fix?);
        if track.len() > MAX_SIMPLIFIED_FIXES {
            let message =
                format!("more than {MAX_SIMPLIFIED_FIXES} fixes to simplify: ask for a shorter range");
            return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message));
        }
    }
    let simplify = |segment: Vec<StoredPosition>| {
        let positions: Vec<Position> = segment.iter().map(|f| f.position.clone()).collect();
        let mut keep = simplify_indices(&positions, tolerance).into_iter().peekable();
        let kept: Vec<StoredPosition> = segment
            .into_iter()
            .enumerate()
            .filter_map(|(index, fix)| keep.next_if_eq(&index).map(|_| fix))
            .collect();
        kept
    };
    Ok(split_at_gaps(track).into_iter().map(simplify).collect())
}

fn fix_json(fix: &StoredPosition, first: bool) -> Bytes {
    let view = TrackFix::of(fix);
    let mut bytes = if first { Vec::new() } else { vec![b','] };
    // A position of finite numbers always serialises.
    serde_json::to_writer(&mut bytes, &view).expect("a position serialises");
    Bytes::from(bytes)
}

fn tail() -> Bytes {
    Bytes::from_static(b"]}")
}
