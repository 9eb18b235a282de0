//! `GET /api/v1/moves/{id}/evidence`: the move's evidence bundle (`convoy_history::evidence`),
//! streamed as it is read from the store and signed with the server's key. The bundle is
//! checked offline by `convoy evidence verify`; docs/EVIDENCE.md states its format.

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use convoy_core::position::format_time;
use convoy_core::Ability;
use convoy_history::evidence::{export_move, file_name, ExportRequest};
use convoy_history::MoveHistory;
use futures_util::stream;
use serde_json::json;
use tokio::sync::mpsc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::visible_move;
use crate::audit;
use crate::error::ApiError;
use crate::extract::{Authenticated, ClientAddr};
use crate::openapi::{requires, NotFound, ServiceUnavailable};
use crate::state::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(requires(Ability::Evidence, routes!(move_evidence)))
}

#[utoipa::path(
    get,
    path = "/api/v1/moves/{id}/evidence",
    tag = "moves",
    operation_id = "moveEvidence",
    summary = "The move's evidence bundle, to verify offline with `convoy evidence verify`",
    description = "One gzip-compressed JSON Lines file (docs/EVIDENCE.md): the plan and its versions, the vehicles' keys, every fix with its chain, the signed heads and gaps, the agents' reports, the alerts with every transition, the audit entries about the move, the report, and a manifest signed with the server's key. Streamed. An auditor's bundle stops at `auditor_delay_minutes` (the bundle's first line says `until` and `cut`). 503 when the server has no signing key. Recorded in the audit log (`evidence.export`) before the first byte.",
    params(("id" = String, Path, description = "The move's id, e.g. `m20261128-3f9a1c0b7e21`.")),
    responses(
        (
            status = 200,
            description = "The bundle, as an attachment (`move-ID.convoy-evidence.jsonl.gz`).",
            headers(("Content-Disposition" = String, description = "The file's name.")),
            content((String = "application/gzip")),
        ),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn move_evidence(
    State(state): State<AppState>,
    user: Authenticated,
    ClientAddr(client): ClientAddr,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    user.require(Ability::Evidence)?;
    let key = state.evidence_key.clone().ok_or_else(|| {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "the server has no signing key for evidence bundles")
            .with_reason("no_server_key")
    })?;
    let history = MoveHistory::of(visible_move(&state, &user.0, &id).await?, &state.rules)?;
    let now = Utc::now();
    let whole = history.span(None, None, now)?;
    // An auditor reads behind the road: the bundle's fixes stop at the newest they may read.
    let span = state.access.readable(user.0.role, whole, now);
    let cut = span != whole;
    let detail = json!({ "from": format_time(&span.from), "until": format_time(&span.to), "cut": cut });
    audit::record(&state, Some(&user.0.name), client, "evidence.export", &id, detail).await?;
    let newest = state.access.newest_for(user.0.role, now);
    let report = crate::report::build(&state.store, &state.moves, &history, span, newest).await?;
    let report = serde_json::to_value(report).unwrap_or_default();
    let (tx, mut rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let name = file_name(&id);
    let server_rules = state.rules.clone();
    let exported_by = user.0.name.clone();
    tokio::spawn(async move {
        let request = ExportRequest {
            history: &history,
            server_rules: &server_rules,
            span,
            exported_by,
            exported_at: now,
            cut,
            report,
        };
        let sink = |bytes: Vec<u8>| {
            let tx = tx.clone();
            async move { tx.send(Ok(Bytes::from(bytes))).await.is_ok() }
        };
        if let Err(e) = export_move(&state.store, request, &key, sink).await {
            tracing::error!(error = %e, move_id = %history.record.id, "evidence export cut short");
            let _ = tx.send(Err(std::io::Error::other("the export was cut short"))).await;
        }
    });
    let body = Body::from_stream(stream::poll_fn(move |cx| rx.poll_recv(cx)));
    Ok((
        [
            (header::CONTENT_TYPE, "application/gzip".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        body,
    )
        .into_response())
}
