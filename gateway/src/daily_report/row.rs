//! One vehicle's line of the daily report, as JSON and as a CSV row.

use std::collections::BTreeMap;

use chrono::Duration;
use convoy_core::alert::AlertKind;
use convoy_core::position::format_time;
use convoy_core::VehicleId;
use convoy_history::day_summary::VehicleDay;
use convoy_history::stops::Stop;
use serde::Serialize;
use utoipa::ToSchema;

use crate::schemas;

/// What one vehicle did in the report's span.
#[derive(Serialize, ToSchema)]
pub(crate) struct DailyRow {
    #[schema(value_type = schemas::VehicleId)]
    vehicle: String,
    /// The first and last stored fix in the span; null without fixes (a vehicle listed for its
    /// alerts only).
    #[schema(value_type = Option<schemas::Time>, required = true)]
    first_fix: Option<String>,
    #[schema(value_type = Option<schemas::Time>, required = true)]
    last_fix: Option<String>,
    /// Every stored fix in the span, marked ones too.
    #[schema(minimum = 0)]
    fixes: u64,
    /// Fixes marked implausible: counted here, left out of everything else.
    #[schema(minimum = 0)]
    implausible_fixes: u64,
    /// Between consecutive fixes, not counting a parked receiver's drift inside stops; to the
    /// metre.
    #[schema(minimum = 0)]
    distance_m: f64,
    /// Covered time outside stops, in seconds.
    #[schema(minimum = 0)]
    moving_s: f64,
    /// The stops' lengths summed, in seconds.
    #[schema(minimum = 0)]
    stopped_s: f64,
    /// Stops of two minutes or more.
    #[schema(minimum = 0)]
    stops: u64,
    #[schema(required = true)]
    longest_stop: Option<LongestStop>,
    /// Silences of more than 30 s between consecutive fixes.
    #[schema(minimum = 0)]
    gaps: u64,
    /// Time between consecutive fixes no more than 30 s apart, in seconds.
    #[schema(minimum = 0)]
    covered_s: f64,
    /// `covered_s` over the span's length, 0 to 1 (four decimals).
    #[schema(minimum = 0, maximum = 1)]
    coverage: f64,
    /// Alerts of the vehicle opened in the span, by kind: every kind, 0 included.
    alerts: BTreeMap<String, u64>,
    #[schema(minimum = 0)]
    alerts_total: u64,
}

/// The longest stop of the span.
#[derive(Serialize, ToSchema)]
pub(crate) struct LongestStop {
    #[schema(value_type = schemas::Time)]
    from: String,
    #[schema(value_type = schemas::Time)]
    to: String,
    #[schema(minimum = 0)]
    duration_s: f64,
    #[schema(minimum = -90, maximum = 90)]
    lat: f64,
    #[schema(minimum = -180, maximum = 180)]
    lon: f64,
}

fn seconds(duration: Duration) -> f64 {
    duration.num_milliseconds() as f64 / 1000.0
}

impl DailyRow {
    /// The line of `vehicle`, which did `day` and opened `alerts` (by kind).
    pub(crate) fn of(vehicle: &VehicleId, day: VehicleDay, alerts: &BTreeMap<AlertKind, u64>) -> Self {
        let longest_stop = day.longest_stop.as_ref().map(|stop: &Stop| LongestStop {
            from: format_time(&stop.from),
            to: format_time(&stop.to),
            duration_s: seconds(stop.duration()),
            lat: stop.lat,
            lon: stop.lon,
        });
        DailyRow {
            vehicle: vehicle.to_string(),
            first_fix: day.first_fix.as_ref().map(format_time),
            last_fix: day.last_fix.as_ref().map(format_time),
            fixes: day.fixes,
            implausible_fixes: day.implausible_fixes,
            distance_m: day.distance_m.round(),
            moving_s: seconds(day.moving),
            stopped_s: seconds(day.stopped),
            stops: day.stops,
            longest_stop,
            gaps: day.gaps,
            covered_s: seconds(day.covered),
            coverage: (day.coverage * 10_000.0).round() / 10_000.0,
            alerts: AlertKind::ALL
                .iter()
                .map(|kind| (kind.as_str().to_string(), alerts.get(kind).copied().unwrap_or(0)))
                .collect(),
            alerts_total: alerts.values().sum(),
        }
    }

    /// Whether the vehicle has anything to report: a fix or an alert.
    pub(crate) fn has_anything(&self) -> bool {
        self.fixes > 0 || self.alerts_total > 0
    }

    /// The CSV header: [`Self::csv_fields`]'s names.
    pub(crate) fn csv_header() -> Vec<String> {
        let fixed = [
            "day",
            "from",
            "to",
            "vehicle",
            "first_fix",
            "last_fix",
            "fixes",
            "implausible_fixes",
            "distance_km",
            "moving_s",
            "stopped_s",
            "stops",
            "longest_stop_from",
            "longest_stop_to",
            "longest_stop_s",
            "longest_stop_lat",
            "longest_stop_lon",
            "gaps",
            "covered_s",
            "coverage",
            "alerts_total",
        ];
        let kinds = AlertKind::ALL.iter().map(|kind| format!("alerts_{}", kind.as_str()));
        fixed.iter().map(|name| name.to_string()).chain(kinds).collect()
    }

    /// The row's cells, in [`Self::csv_header`]'s order; the report's day and span first.
    pub(crate) fn csv_fields(&self, day: &str, from: &str, to: &str) -> Vec<String> {
        let text = |t: &Option<String>| t.clone().unwrap_or_default();
        let stop = self.longest_stop.as_ref();
        let mut fields = vec![
            day.to_string(),
            from.to_string(),
            to.to_string(),
            self.vehicle.clone(),
            text(&self.first_fix),
            text(&self.last_fix),
            self.fixes.to_string(),
            self.implausible_fixes.to_string(),
            format!("{:.3}", self.distance_m / 1000.0),
            self.moving_s.to_string(),
            self.stopped_s.to_string(),
            self.stops.to_string(),
            stop.map(|s| s.from.clone()).unwrap_or_default(),
            stop.map(|s| s.to.clone()).unwrap_or_default(),
            stop.map(|s| s.duration_s.to_string()).unwrap_or_default(),
            stop.map(|s| s.lat.to_string()).unwrap_or_default(),
            stop.map(|s| s.lon.to_string()).unwrap_or_default(),
            self.gaps.to_string(),
            self.covered_s.to_string(),
            self.coverage.to_string(),
            self.alerts_total.to_string(),
        ];
        fields.extend(AlertKind::ALL.iter().map(|kind| self.alerts[kind.as_str()].to_string()));
        fields
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn day() -> VehicleDay {
        let t = |s| Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap() + Duration::seconds(s);
        VehicleDay {
            first_fix: Some(t(0)),
            last_fix: Some(t(3600)),
            fixes: 3601,
            implausible_fixes: 1,
            distance_m: 41_234.56,
            moving: Duration::seconds(3000),
            stopped: Duration::milliseconds(500_500),
            stops: 2,
            longest_stop: Some(Stop { from: t(100), to: t(400), lat: 48.1, lon: -11.5 }),
            gaps: 1,
            covered: Duration::seconds(3500),
            coverage: 3500.0 / 86_400.0,
        }
    }

    #[test]
    fn a_row_rounds_to_the_metre_and_lists_every_alert_kind() {
        let alerts = BTreeMap::from([(AlertKind::Overspeed, 2), (AlertKind::OffRoute, 1)]);
        let row = DailyRow::of(&VehicleId::new("truck-01").unwrap(), day(), &alerts);
        let json = serde_json::to_value(&row).unwrap();
        assert_eq!(json["distance_m"], 41_235.0);
        assert_eq!(json["stopped_s"], 500.5);
        assert_eq!(json["coverage"], 0.0405);
        assert_eq!(json["alerts"].as_object().unwrap().len(), AlertKind::ALL.len());
        assert_eq!(
            (json["alerts"]["overspeed"].as_u64(), json["alerts"]["gnss_lost"].as_u64()),
            (Some(2), Some(0))
        );
        assert_eq!(json["alerts_total"], 3);
        assert_eq!(json["longest_stop"]["duration_s"], 300.0);
        assert!(row.has_anything());
    }

    #[test]
    fn csv_fields_match_the_header() {
        let row = DailyRow::of(&VehicleId::new("truck-01").unwrap(), day(), &BTreeMap::new());
        let fields = row.csv_fields("2026-12-01", "a", "b");
        let header = DailyRow::csv_header();
        assert_eq!(fields.len(), header.len());
        let cell = |name: &str| &fields[header.iter().position(|h| h == name).unwrap()];
        assert_eq!(cell("distance_km"), "41.235");
        assert_eq!(cell("longest_stop_lon"), "-11.5");
        assert_eq!(cell("alerts_overspeed"), "0");
        let empty = VehicleDay { fixes: 0, longest_stop: None, ..day() };
        let row = DailyRow::of(&VehicleId::new("v").unwrap(), empty, &BTreeMap::new());
        assert!(!row.has_anything());
        assert_eq!(row.csv_fields("d", "a", "b")[12], "", "no longest stop: empty cells");
    }
}
