//! The gateway's Prometheus metrics.

use prometheus::{IntCounterVec, Opts, Registry};

#[derive(Clone)]
pub struct GatewayMetrics {
    pub logins: IntCounterVec,
    pub plans_rejected: IntCounterVec,
    /// Requests for stored history (track files, exports, replays, reports) refused as bad
    /// input, by reason (see `move_span::HISTORY_REJECTION_REASONS`).
    pub history_rejected: IntCounterVec,
    /// Phones' reports over HTTP refused, by source (`owntracks_http`, `osmand`) and reason (the
    /// decoders' `PHONE_ERROR_REASONS` and `phones::PHONE_REFUSAL_REASONS`).
    pub phone_refused: IntCounterVec,
    /// Legal hold requests refused, by reason (`holds::refusal_reasons`).
    pub holds_rejected: IntCounterVec,
    /// Requests to end or cancel a move refused, by reason (`move_end::MOVE_END_REFUSAL_REASONS`).
    pub move_ends_refused: IntCounterVec,
    /// Edits of a move's plan refused, by reason (`move_edit::refusal_reasons`).
    pub move_edits_refused: IntCounterVec,
    /// Alert history queries refused as bad input, by reason
    /// (`alert_history::ALERT_QUERY_REJECTION_REASONS`).
    pub alert_queries_rejected: IntCounterVec,
    /// Requests to list, add or change people refused, by reason
    /// (`people_admin::PEOPLE_REFUSAL_REASONS`).
    pub people_refused: IntCounterVec,
    /// Requests to register or change vehicles refused, by reason
    /// (`vehicles_admin::VEHICLE_REFUSAL_REASONS`).
    pub vehicles_refused: IntCounterVec,
    /// Daily reports refused, by reason (`daily_report::DAILY_REPORT_REFUSAL_REASONS`).
    pub daily_reports_refused: IntCounterVec,
    /// Base-map tile requests refused, by reason (`basemap::BASEMAP_REFUSAL_REASONS`).
    pub basemap_refused: IntCounterVec,
    /// Requests to change a move's seals or record a checkpoint refused, by reason
    /// (`seals::SEAL_REFUSAL_REASONS`).
    pub seals_refused: IntCounterVec,
}

impl GatewayMetrics {
    pub fn new(registry: &Registry) -> prometheus::Result<Self> {
        let metrics = Self {
            logins: IntCounterVec::new(
                Opts::new("convoy_gateway_logins_total", "Logins by outcome"),
                &["outcome"],
            )?,
            plans_rejected: IntCounterVec::new(
                Opts::new("convoy_gateway_plans_rejected_total", "Move plans refused, by reason"),
                &["reason"],
            )?,
            history_rejected: IntCounterVec::new(
                Opts::new(
                    "convoy_gateway_history_requests_rejected_total",
                    "Requests for exports, replays and reports refused as bad input, by reason",
                ),
                &["reason"],
            )?,
            phone_refused: IntCounterVec::new(
                Opts::new(
                    "convoy_gateway_phone_refused_total",
                    "Phones' reports over HTTP refused (or, outside their person's moves, not stored), by source and reason",
                ),
                &["source", "reason"],
            )?,
            holds_rejected: IntCounterVec::new(
                Opts::new("convoy_gateway_holds_rejected_total", "Legal hold requests refused, by reason"),
                &["reason"],
            )?,
            move_ends_refused: IntCounterVec::new(
                Opts::new(
                    "convoy_gateway_move_ends_refused_total",
                    "Requests to end or cancel a move refused, by reason",
                ),
                &["reason"],
            )?,
            move_edits_refused: IntCounterVec::new(
                Opts::new("convoy_gateway_move_edits_refused_total", "Edits of a move's plan refused, by reason"),
                &["reason"],
            )?,
            alert_queries_rejected: IntCounterVec::new(
                Opts::new(
                    "convoy_gateway_alert_queries_rejected_total",
                    "Alert history queries refused as bad input, by reason",
                ),
                &["reason"],
            )?,
            people_refused: IntCounterVec::new(
                Opts::new(
                    "convoy_gateway_people_refused_total",
                    "Requests to list, add or change people (or one's own password) refused, by reason",
                ),
                &["reason"],
            )?,
            vehicles_refused: IntCounterVec::new(
                Opts::new(
                    "convoy_gateway_vehicles_refused_total",
                    "Requests to register or change vehicles refused, by reason",
                ),
                &["reason"],
            )?,
            daily_reports_refused: IntCounterVec::new(
                Opts::new("convoy_gateway_daily_reports_refused_total", "Daily reports refused, by reason"),
                &["reason"],
            )?,
            basemap_refused: IntCounterVec::new(
                Opts::new("convoy_gateway_basemap_refused_total", "Base-map tile requests refused, by reason"),
                &["reason"],
            )?,
            seals_refused: IntCounterVec::new(
                Opts::new(
                    "convoy_gateway_seals_refused_total",
                    "Requests to change a move's seals or record a seal checkpoint refused, by reason",
                ),
                &["reason"],
            )?,
        };
        registry.register(Box::new(metrics.logins.clone()))?;
        registry.register(Box::new(metrics.phone_refused.clone()))?;
        for source in ["owntracks_http", "osmand"] {
            let reasons =
                convoy_core::phone::PHONE_ERROR_REASONS.iter().chain(crate::phones::PHONE_REFUSAL_REASONS);
            for reason in reasons {
                metrics.phone_refused.with_label_values(&[source, reason]);
            }
        }
        registry.register(Box::new(metrics.plans_rejected.clone()))?;
        for reason in convoy_core::plan::PLAN_REJECTION_REASONS {
            metrics.plans_rejected.with_label_values(&[reason]);
        }
        registry.register(Box::new(metrics.history_rejected.clone()))?;
        for reason in convoy_history::HISTORY_REJECTION_REASONS {
            metrics.history_rejected.with_label_values(&[reason]);
        }
        registry.register(Box::new(metrics.holds_rejected.clone()))?;
        for reason in crate::holds::refusal_reasons() {
            metrics.holds_rejected.with_label_values(&[reason]);
        }
        registry.register(Box::new(metrics.move_ends_refused.clone()))?;
        for reason in crate::move_end::MOVE_END_REFUSAL_REASONS {
            metrics.move_ends_refused.with_label_values(&[reason]);
        }
        registry.register(Box::new(metrics.move_edits_refused.clone()))?;
        for reason in crate::move_edit::refusal_reasons() {
            metrics.move_edits_refused.with_label_values(&[reason]);
        }
        registry.register(Box::new(metrics.alert_queries_rejected.clone()))?;
        for reason in crate::alert_history::ALERT_QUERY_REJECTION_REASONS {
            metrics.alert_queries_rejected.with_label_values(&[reason]);
        }
        registry.register(Box::new(metrics.people_refused.clone()))?;
        for reason in crate::people_admin::PEOPLE_REFUSAL_REASONS {
            metrics.people_refused.with_label_values(&[reason]);
        }
        registry.register(Box::new(metrics.vehicles_refused.clone()))?;
        for reason in crate::vehicles_admin::VEHICLE_REFUSAL_REASONS {
            metrics.vehicles_refused.with_label_values(&[reason]);
        }
        registry.register(Box::new(metrics.daily_reports_refused.clone()))?;
        for reason in crate::daily_report::DAILY_REPORT_REFUSAL_REASONS {
            metrics.daily_reports_refused.with_label_values(&[reason]);
        }
        registry.register(Box::new(metrics.basemap_refused.clone()))?;
        for reason in crate::basemap::BASEMAP_REFUSAL_REASONS {
            metrics.basemap_refused.with_label_values(&[reason]);
        }
        registry.register(Box::new(metrics.seals_refused.clone()))?;
        for reason in crate::seals::SEAL_REFUSAL_REASONS {
            metrics.seals_refused.with_label_values(&[reason]);
        }
        for outcome in ["ok", "refused", "throttled"] {
            metrics.logins.with_label_values(&[outcome]);
        }
        Ok(metrics)
    }
}
