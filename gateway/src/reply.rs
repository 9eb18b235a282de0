//! A JSON answer of a typed body ([`Reply`]): what handlers return, and what the OpenAPI
//! document's schemas are derived from.
//!
//! The body goes out through a [`serde_json::Value`], whose objects keep their keys sorted: the
//! order every answer had when handlers built them with `json!`, whatever order a struct
//! declares its fields in (a flattened part included).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::error::ApiError;

/// A typed JSON body and its status (200 unless made with [`Reply::created`]).
pub(crate) struct Reply<T> {
    status: StatusCode,
    body: T,
}

impl<T> Reply<T> {
    pub(crate) fn ok(body: T) -> Self {
        Self { status: StatusCode::OK, body }
    }

    pub(crate) fn created(body: T) -> Self {
        Self { status: StatusCode::CREATED, body }
    }
}

impl<T: Serialize> IntoResponse for Reply<T> {
    fn into_response(self) -> Response {
        match serde_json::to_value(&self.body) {
            Ok(value) => (self.status, Json(value)).into_response(),
            Err(e) => {
                tracing::error!(error = %e, "an answer does not serialise");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "the answer could not be written")
                    .into_response()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Unsorted {
        zebra: u8,
        apple: u8,
    }

    #[tokio::test]
    async fn keys_come_out_sorted_as_json_wrote_them() {
        let response = Reply::created(Unsorted { zebra: 1, apple: 2 }).into_response();
        assert_eq!(response.status(), StatusCode::CREATED);
        let body = axum::body::to_bytes(response.into_body(), 1024).await.unwrap();
        assert_eq!(&body[..], br#"{"apple":2,"zebra":1}"#);
    }
}
