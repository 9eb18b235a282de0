//! `GET /api/v1/moves/{id}/export` and the streaming of track files: the writers are in
//! `convoy_history::export`; here the fixes are read from the store as the body is sent.

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use convoy_core::position::format_time;
use convoy_core::{Ability, VehicleId};
use convoy_history::export::{ExportFormat, ExportMeta, ExportWriter};
use convoy_history::{MoveHistory, Span};
use convoy_store::Store;
use futures_util::stream;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::mpsc;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::visible_move;
use crate::audit;
use crate::error::ApiError;
use crate::extract::ClientAddr;
use crate::extract::{ApiQuery, Authenticated};
use crate::openapi::{requires, BadRequest, NotFound, ServiceUnavailable};
use crate::schemas;
use crate::state::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(requires(Ability::Exports, routes!(move_export)))
}

/// A body is handed to the connection in pieces of about this many bytes.
const FLUSH_BYTES: usize = 64 * 1024;

/// The fixes of `vehicles` in `span`, read from the store and written in `format` as they
/// come. A store error midway ends the body early (the client sees a cut download) and is
/// logged.
pub(crate) fn stream_tracks(
    store: Store,
    format: ExportFormat,
    meta: ExportMeta,
    vehicles: Vec<VehicleId>,
    span: Span,
) -> Body {
    let (tx, mut rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::spawn(async move {
        let mut out = Vec::with_capacity(2 * FLUSH_BYTES);
        let mut writer = ExportWriter::start(format, &meta, &mut out);
        for vehicle in &vehicles {
            writer.vehicle(&mut out, vehicle);
            let mut fixes = store.track_stream(vehicle, span.from, span.to);
            while let Some(fix) = fixes.recv().await {
                match fix {
                    Ok(fix) => writer.fix(&mut out, &fix),
                    Err(e) => {
                        tracing::error!(error = %e, vehicle = %vehicle, "export cut short by a store error");
                        let _ = tx.send(Err(std::io::Error::other("storage failed during the export"))).await;
                        return;
                    }
                }
                if out.len() >= FLUSH_BYTES
                    && tx.send(Ok(Bytes::from(std::mem::take(&mut out)))).await.is_err()
                {
                    // The client went away.
                    return;
                }
            }
        }
        writer.finish(&mut out);
        let _ = tx.send(Ok(Bytes::from(out))).await;
    });
    Body::from_stream(stream::poll_fn(move |cx| rx.poll_recv(cx)))
}

/// A download: the format's content type and an attachment file name (`stem` plus the
/// format's extension; anything but `[A-Za-z0-9._-]` in it becomes `_`).
pub(crate) fn attachment(format: ExportFormat, stem: &str, body: Body) -> Response {
    let safe: String =
        stem.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }).collect();
    let disposition = format!("attachment; filename=\"{safe}.{}\"", format.extension());
    (
        [
            (header::CONTENT_TYPE, format.content_type().to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response()
}

/// The format a request asks for, or a 400 that names the ones there are.
pub(crate) fn requested_format(text: Option<&str>, also: &str) -> Result<ExportFormat, ApiError> {
    let names = format!("{also}{}", ExportFormat::NAMES);
    match text {
        None => Err(ApiError::new(StatusCode::BAD_REQUEST, format!("format is required: {names}"))
            .with_reason("bad_format")),
        Some(text) => ExportFormat::parse(text).ok_or_else(|| {
            let shown: String = text.chars().take(40).collect();
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("format {shown:?} is not supported; ask for {names}"),
            )
            .with_reason("bad_format")
        }),
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct MoveExportQuery {
    /// The file format (required).
    #[param(value_type = String, pattern = "^(gpx|geojson|kml|csv)$")]
    format: Option<String>,
    /// Only this vehicle of the move (it must be one of the move's vehicles).
    #[param(value_type = Option<schemas::VehicleId>)]
    vehicle: Option<String>,
    /// Fixes at or after this fix time.
    #[param(value_type = Option<schemas::Time>)]
    from: Option<DateTime<Utc>>,
    /// Fixes before this fix time; after `from`.
    #[param(value_type = Option<schemas::Time>)]
    to: Option<DateTime<Utc>>,
}

/// `GET /api/v1/moves/{id}/export?format=gpx|geojson|kml|csv&vehicle&from&to`: the move's
/// tracks (all its vehicles, or one) over its span, as a file.
#[utoipa::path(
    get,
    path = "/api/v1/moves/{id}/export",
    tag = "moves",
    operation_id = "exportMove",
    summary = "A move's tracks as a file: GPX, GeoJSON, KML or CSV",
    description = "Streamed; a vehicle's track is split into segments at data gaps (30 s without a fix). Covers the move's window narrowed by `from` and `to` (a range outside the move is 400); no length limit, as the file is streamed. An auditor reads fixes and alerts at least `auditor_delay_minutes` old (the server's `[access]` setting, 60 by default): the span ends there. Recorded in the audit log.",
    params(("id" = String, Path, description = "The move's id, e.g. `m20261128-3f9a1c0b7e21`."), MoveExportQuery),
    responses(
        (
            status = 200,
            description = "The file, as an attachment (`Content-Disposition: attachment; filename=\"move-ID.gpx\"`).",
            headers(("Content-Disposition" = String, description = "The file's name.")),
            content(
                (String = "application/gpx+xml"),
                (String = "application/geo+json"),
                (String = "application/vnd.google-earth.kml+xml"),
                (String = "text/csv"),
            ),
        ),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn move_export(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(client): ClientAddr,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<MoveExportQuery>,
) -> Result<Response, ApiError> {
    user.require(Ability::Exports)?;
    let state = &state;
    let format = requested_format(query.format.as_deref(), "")?;
    let history = MoveHistory::of(visible_move(state, &user.0, &id).await?, &state.rules)?;
    let vehicles = history.vehicles(query.vehicle.as_deref())?;
    let now = Utc::now();
    // An auditor reads behind the road: the span ends at the newest fix they may read.
    let span = state.access.readable(user.0.role, history.span(query.from, query.to, now)?, now);
    let detail = json!({
        "format": format.as_str(),
        "vehicle": query.vehicle,
        "from": format_time(&span.from),
        "to": format_time(&span.to),
    });
    audit::record(state, Some(&user.0.name), client, "export.download", &id, detail).await?;
    let names: Vec<&str> = vehicles.iter().map(VehicleId::as_str).collect();
    let zone = crate::time_zone::of_plan(&history.record.plan, state.moves.default_time_zone);
    let meta = ExportMeta {
        title: history.record.name.clone(),
        description: format!(
            "Move {} ({}): {} from {} to {} (times in UTC; the move's time zone is {})",
            history.record.id,
            history.record.name,
            names.join(", "),
            format_time(&span.from),
            format_time(&span.to),
            zone.name()
        ),
        generated_at: Utc::now(),
        time_zone: Some(zone.name().to_string()),
    };
    let stem = match &query.vehicle {
        Some(vehicle) => format!("move-{}-{vehicle}", history.record.id),
        None => format!("move-{}", history.record.id),
    };
    let body = stream_tracks(state.store.clone(), format, meta, vehicles, span);
    Ok(attachment(format, &stem, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_format_is_a_400_naming_the_known_ones() {
        let response = requested_format(Some("shp"), "json, ").unwrap_err().into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(requested_format(None, "").is_err());
    }

    #[test]
    fn an_attachment_name_keeps_only_safe_characters() {
        let response = attachment(ExportFormat::Gpx, "move-m1/../\"x\"", Body::empty());
        assert_eq!(
            response.headers()[header::CONTENT_DISPOSITION],
            "attachment; filename=\"move-m1_..__x_.gpx\""
        );
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/gpx+xml");
    }
}
