//! Phones as trackers over HTTP: OwnTracks in HTTP mode (`POST /api/v1/phones/owntracks` on the
//! API's listener, [`owntracks`]) and Traccar Client's OsmAnd protocol on a listener of its own
//! (`[phones] osmand_listen`, [`osmand`]); and, for admins, registering phones and handing out
//! their setup ([`admin`], with the import link and QR codes of [`setup`]).
//!
//! Both take a phone's report the same way: the phone's credentials (checked with
//! `convoy_registry::verify_phone_secret`, as much work for an unknown phone as for a known
//! one), the report decoded by `convoy_core::phone`, the privacy rule (a person's phone is
//! tracked only within that person's running moves: other fixes are refused, counted, and never
//! stored, not even as dead letters), then the positions committed through the server's
//! [`PhoneIntake`] before anything is answered: the apps take an answer as "delivered".
//!
//! Every refusal is counted in `convoy_gateway_phone_refused_total{source, reason}`
//! (`source` is `owntracks_http` or `osmand`; the reasons are [`PHONE_REFUSAL_REASONS`]). No
//! position, secret or URL path is logged.
//!
//! Wrong secrets are not held back by the login throttle: a phone's secret is 143 random bits,
//! which no number of guesses finds, and the throttle's hold on an address would let one phone
//! with a stale secret behind a mobile carrier's shared address (CGNAT) refuse every other
//! phone behind it, whose fixes would then be lost (OwnTracks drops a fix whatever the answer).
//! A wrong secret costs one database read and one HMAC.

pub(crate) mod admin;
pub mod intake;
pub(crate) mod osmand;
pub(crate) mod owntracks;
pub mod setup;

use std::time::{Duration, Instant};

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use convoy_core::phone::PhoneFix;
use convoy_store::{Device, StoreError, VehiclePositions};

use crate::error::ApiError;
use crate::state::AppState;

pub use intake::PhoneIntake;
pub use setup::{owntracks_import_link, qr_svg};

/// Reasons a phone's report is refused besides the decoders' (`PHONE_ERROR_REASONS`).
pub const PHONE_REFUSAL_REASONS: &[&str] = &[
    "no_credentials",
    "wrong_credentials",
    "device_mismatch",
    "outside_moves",
    "unsupported_media_type",
    "refused_value",
    "store_unavailable",
];

/// Which intake a refusal is counted for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    OwnTracksHttp,
    OsmAnd,
}

impl Source {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Source::OwnTracksHttp => "owntracks_http",
            Source::OsmAnd => "osmand",
        }
    }
}

/// A refused report: counted when it is made, answered as the API answers errors.
#[derive(Debug)]
pub(crate) struct Refused {
    status: StatusCode,
    reason: &'static str,
    message: String,
}

impl Refused {
    pub(crate) fn new(
        state: &AppState,
        source: Source,
        status: StatusCode,
        reason: &'static str,
        message: impl Into<String>,
    ) -> Self {
        state.metrics.phone_refused.with_label_values(&[source.label(), reason]).inc();
        Refused { status, reason, message: message.into() }
    }

    /// A bad report: 413 when too large, 400 otherwise, with the decoder's reason.
    pub(crate) fn bad_report(state: &AppState, source: Source, e: &convoy_core::phone::PhoneError) -> Self {
        let status = match e {
            convoy_core::phone::PhoneError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        };
        Self::new(state, source, status, e.reason(), e.to_string())
    }

    /// No credentials, or wrong ones: 401, with how to authenticate (HTTP Basic for OwnTracks;
    /// the OsmAnd listener has no header to offer, its secret being in the URL).
    pub(crate) fn unauthorized(state: &AppState, source: Source, reason: &'static str) -> Self {
        let message = match source {
            Source::OwnTracksHttp => "wrong or missing phone user name or secret",
            Source::OsmAnd => "wrong or missing phone secret or device id",
        };
        Self::new(state, source, StatusCode::UNAUTHORIZED, reason, message)
    }

    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let basic = self.status == StatusCode::UNAUTHORIZED;
        let mut response = ApiError::new(self.status, self.message).with_reason(self.reason).into_response();
        if basic {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"convoy\""),
            );
        }
        response
    }
}

/// What became of a report's fixes.
#[derive(Debug, Default)]
pub(crate) struct Kept {
    /// Fixes committed (new or already stored).
    pub(crate) stored: usize,
    /// Fixes of a person's phone outside that person's moves: refused and counted.
    pub(crate) private: usize,
}

/// How long an OwnTracks report waits for the store to come back before it is refused (503), by
/// default ([`AppState::phone_store_patience`](crate::AppState::phone_store_patience)). Within
/// the listener's two minutes for an answer.
pub const STORE_PATIENCE: Duration = Duration::from_secs(60);

/// Where Traccar Client reports on this server: the port of `[phones] osmand_listen` as bound,
/// and whether it speaks TLS. The page fills a phone's endpoint from it with the host it was
/// reached at (the server cannot know the name phones reach it by).
#[derive(Debug, Clone, Copy, serde::Serialize, utoipa::ToSchema)]
pub struct TraccarListener {
    pub port: u16,
    pub tls: bool,
}
/// The first wait after a failed commit; it doubles up to [`MAX_STORE_BACKOFF`].
const FIRST_STORE_BACKOFF: Duration = Duration::from_millis(250);
const MAX_STORE_BACKOFF: Duration = Duration::from_secs(5);

/// Applies the privacy rule to `fixes` and commits those it keeps as `device`'s vehicle's, with
/// the phone as their source; nothing is answered before this returns. A store failure is
/// retried (the privacy rule's reads with it) as [`patiently`] says.
pub(crate) async fn keep(
    state: &AppState,
    source: Source,
    device: &Device,
    fixes: Vec<PhoneFix>,
    patience: Duration,
) -> Result<Kept, Refused> {
    if fixes.is_empty() {
        return Ok(Kept::default());
    }
    let kept = patiently(state, source, patience, || try_keep(state, device, &fixes)).await?;
    for _ in 0..kept.private {
        state.metrics.phone_refused.with_label_values(&[source.label(), "outside_moves"]).inc();
    }
    Ok(kept)
}

/// Runs `op` until it succeeds, retrying a store failure with backoff for `patience` before
/// refusing the report (503, `store_unavailable`). A value the database refuses is not retried
/// (400, `refused_value`).
pub(crate) async fn patiently<T, F, Fut>(
    state: &AppState,
    source: Source,
    patience: Duration,
    mut op: F,
) -> Result<T, Refused>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let started = Instant::now();
    let mut backoff = FIRST_STORE_BACKOFF;
    loop {
        match op().await {
            Ok(done) => return Ok(done),
            Err(e) if e.is_refused_value() => {
                tracing::warn!(source = source.label(), error = %e, "the database refused a phone's report");
                let message = "a value of the report cannot be stored";
                return Err(Refused::new(state, source, StatusCode::BAD_REQUEST, "refused_value", message));
            }
            Err(e) if started.elapsed() + backoff > patience => {
                tracing::error!(source = source.label(), error = %e, "a phone's report could not be stored");
                let message = "storage is unavailable; try again";
                return Err(Refused::new(
                    state,
                    source,
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    message,
                ));
            }
            Err(e) => {
                let retry_in_ms = backoff.as_millis() as u64;
                tracing::warn!(source = source.label(), error = %e, retry_in_ms, "a phone's report waits for the store");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_STORE_BACKOFF);
            }
        }
    }
}

async fn try_keep(state: &AppState, device: &Device, fixes: &[PhoneFix]) -> Result<Kept, StoreError> {
    let tracking = convoy_registry::phones::Tracking::of(&state.store, device).await?;
    let positions: Vec<_> =
        fixes.iter().filter(|f| tracking.at(f.position.t)).map(|f| f.position.clone()).collect();
    let kept = Kept { stored: positions.len(), private: fixes.len() - positions.len() };
    if !positions.is_empty() {
        state
            .phone_intake
            .store(VehiclePositions {
                vehicle: device.vehicle.clone(),
                positions,
                source: Some(device.source()),
                chain: None,
            })
            .await?;
    }
    Ok(kept)
}
