//! The API's one error: a status and `{"error": "...", "reason": "..."}`, from whatever failed.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use convoy_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// An error as the API shows it: a status and `{"error": "..."}`. Internal details are logged,
/// not shown.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    /// A short label for programs (as in the rejection counters), where there is one.
    reason: Option<&'static str>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into(), reason: None }
    }

    pub(crate) fn with_reason(mut self, reason: &'static str) -> Self {
        self.reason = Some(reason);
        self
    }

    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    pub(crate) fn reason(&self) -> Option<&'static str> {
        self.reason
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        if e.is_refused_value() {
            tracing::warn!(error = %e, "the database refused a value of a request");
            return Self::new(
                StatusCode::BAD_REQUEST,
                "a value of the request cannot be stored or searched for (a NUL byte, or out of range)",
            )
            .with_reason("refused_value");
        }
        tracing::error!(error = %e, "store error while serving a request");
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "storage is unavailable; try again")
    }
}

impl From<convoy_history::HistoryError> for ApiError {
    fn from(e: convoy_history::HistoryError) -> Self {
        use convoy_history::HistoryError;
        match e {
            HistoryError::Refused { message, reason } => {
                let status = if reason == "too_many_positions" {
                    StatusCode::PAYLOAD_TOO_LARGE
                } else {
                    StatusCode::BAD_REQUEST
                };
                Self::new(status, message).with_reason(reason)
            }
            HistoryError::StoredPlan => Self::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
            HistoryError::Store(e) => e.into(),
        }
    }
}

/// The body of every error answer.
#[derive(Serialize, ToSchema)]
#[schema(as = Error)]
pub(crate) struct ErrorBody {
    /// What is wrong, for a person.
    error: String,
    /// A short label for programs, as in the rejection counters (e.g. `route_too_short`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    reason: Option<&'static str>,
}

/// The reason of a refusal, left in the answer's extensions for whatever counts refusals
/// (`move_span::count_refusal` for the history routes): it sees extractors' refusals too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RefusalReason(pub &'static str);

impl RefusalReason {
    /// The reason a refused answer is counted by: the one its handler gave, or `bad_request` for
    /// a 400, 413 or 415 that has none (the JSON extractor's). `None` for anything else: a 401
    /// or 403 is no one's input about the resource.
    pub(crate) fn of(response: &Response) -> Option<&'static str> {
        match response.extensions().get::<RefusalReason>() {
            Some(RefusalReason(reason)) => Some(*reason),
            None => match response.status() {
                StatusCode::BAD_REQUEST
                | StatusCode::PAYLOAD_TOO_LARGE
                | StatusCode::UNSUPPORTED_MEDIA_TYPE => Some("bad_request"),
                _ => None,
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { error: self.message, reason: self.reason };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(reason) = self.reason {
            response.extensions_mut().insert(RefusalReason(reason));
        }
        response
    }
}
