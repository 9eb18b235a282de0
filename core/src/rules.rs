//! The rule settings: thresholds of every alert rule. Defaults come from the server's config and
//! each move may override any of them (`"rules": {...}` in its plan).

use serde::{Deserialize, Serialize};

/// Thresholds of the alert rules. Times are in seconds of fix time, distances in metres, speeds
/// in metres per second.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuleSettings {
    /// `off_route` opens after this long outside the corridor...
    pub off_route_after_s: f64,
    /// ...and at least this many consecutive fixes outside it.
    pub off_route_min_fixes: u32,
    /// `off_route` resolves after this long back inside.
    pub off_route_resolve_after_s: f64,
    /// A vehicle slower than this is stopped.
    pub stop_speed_mps: f64,
    /// A vehicle that stays within this radius over `stop_after_s` is stopped, whatever its
    /// reported speed (a parked receiver's drift).
    pub stop_radius_m: f64,
    /// `unplanned_stop` opens after a stop this long outside every allowed place.
    pub stop_after_s: f64,
    /// `signal_lost` opens after this long without any message (server clock).
    pub signal_lost_after_s: f64,
    /// `gnss_lost` opens after the agent reports no fix for this long while online.
    pub gnss_lost_after_s: f64,
    /// The move's speed limit; `None` turns `overspeed` off.
    pub speed_limit_mps: Option<f64>,
    /// `overspeed` opens after this long above the limit...
    pub overspeed_after_s: f64,
    /// ...and resolves only after this long at or under the limit less
    /// `overspeed_resolve_margin_mps`, without a fix above that in between.
    pub overspeed_resolve_after_s: f64,
    /// How far under the limit a vehicle must be for its time to count towards resolving.
    pub overspeed_resolve_margin_mps: f64,
    /// Zone edges: a fix counts as having entered a zone once it is this far inside the edge,
    /// and as having left it once it is this far outside (less for a zone too small for it:
    /// see the engine's zone rules). 0 takes the edge itself both ways.
    pub zone_edge_margin_m: f64,
    /// `convoy_broken`: the escort vehicle farther than this from its cargo vehicle...
    pub escort_max_distance_m: f64,
    /// ...for this long while the cargo vehicle moves.
    pub convoy_broken_after_s: f64,
    /// Changes decided from fixes that arrived this much later than they were taken are marked
    /// late: recorded, but no notifier rings for them.
    pub late_after_s: f64,
}

impl Default for RuleSettings {
    fn default() -> Self {
        RuleSettings {
            off_route_after_s: 30.0,
            off_route_min_fixes: 3,
            off_route_resolve_after_s: 15.0,
            stop_speed_mps: 1.5,
            stop_radius_m: 25.0,
            stop_after_s: 300.0,
            signal_lost_after_s: 120.0,
            gnss_lost_after_s: 60.0,
            speed_limit_mps: None,
            overspeed_after_s: 10.0,
            // A truck held at its limit by traffic or cruise control wavers a few km/h about it,
            // and speeds derived from positions (phones, the OsmAnd protocol) waver more: 2 m/s
            // (7.2 km/h) under the limit is clearly slower, not noise. 30 s rides out what
            // does not end a stretch of fast driving (braking behind a car, a bend, a lane
            // change: seconds), while a real slowdown (a town, a jam, a stop) lasts longer.
            overspeed_resolve_after_s: 30.0,
            overspeed_resolve_margin_mps: 2.0,
            // A good receiver's fixes scatter 2-5 m, a phone's 5-15 m: 10 m keeps a vehicle
            // driving along an edge from crossing it back and forth on noise alone, and costs an
            // entry alert about a second of driving.
            zone_edge_margin_m: 10.0,
            escort_max_distance_m: 1000.0,
            convoy_broken_after_s: 60.0,
            late_after_s: 120.0,
        }
    }
}

/// A rule override that cannot apply.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("rules: {0}")]
pub struct RuleSettingsError(String);

impl RuleSettings {
    /// These settings with a move's overrides (a JSON object of the fields above) applied.
    /// Unknown names, wrong types and out-of-range values are errors.
    pub fn with_overrides(
        &self,
        overrides: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Self, RuleSettingsError> {
        let mut merged = match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => unreachable!("RuleSettings serializes to an object"),
        };
        for (name, value) in overrides {
            merged.insert(name.clone(), value.clone());
        }
        let settings: RuleSettings = serde_json::from_value(serde_json::Value::Object(merged))
            .map_err(|e| RuleSettingsError(e.to_string()))?;
        settings.validate()?;
        Ok(settings)
    }

    /// Every threshold must be a finite, non-negative number; the few that must be positive are.
    pub fn validate(&self) -> Result<(), RuleSettingsError> {
        let values = [
            ("off_route_after_s", self.off_route_after_s),
            ("off_route_resolve_after_s", self.off_route_resolve_after_s),
            ("stop_speed_mps", self.stop_speed_mps),
            ("stop_radius_m", self.stop_radius_m),
            ("stop_after_s", self.stop_after_s),
            ("signal_lost_after_s", self.signal_lost_after_s),
            ("gnss_lost_after_s", self.gnss_lost_after_s),
            ("overspeed_after_s", self.overspeed_after_s),
            ("overspeed_resolve_after_s", self.overspeed_resolve_after_s),
            ("overspeed_resolve_margin_mps", self.overspeed_resolve_margin_mps),
            ("zone_edge_margin_m", self.zone_edge_margin_m),
            ("escort_max_distance_m", self.escort_max_distance_m),
            ("convoy_broken_after_s", self.convoy_broken_after_s),
            ("late_after_s", self.late_after_s),
        ];
        for (name, value) in values {
            if !(0.0..=1e7).contains(&value) {
                return Err(RuleSettingsError(format!(
                    "{name} must be between 0 and 10,000,000, not {value}"
                )));
            }
        }
        if let Some(limit) = self.speed_limit_mps {
            if !limit.is_finite() || limit <= 0.0 || limit > 1000.0 {
                return Err(RuleSettingsError(format!(
                    "speed_limit_mps must be above 0 and at most 1000, not {limit}"
                )));
            }
        }
        if self.signal_lost_after_s < 1.0 {
            return Err(RuleSettingsError("signal_lost_after_s must be at least 1".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn overrides_replace_only_what_they_name() {
        let base = RuleSettings::default();
        let merged =
            base.with_overrides(&object(json!({"stop_after_s": 120, "speed_limit_mps": 25}))).unwrap();
        assert_eq!(merged.stop_after_s, 120.0);
        assert_eq!(merged.speed_limit_mps, Some(25.0));
        assert_eq!(merged.off_route_after_s, base.off_route_after_s);
    }

    #[test]
    fn a_plan_written_before_the_clearing_rules_keeps_its_meaning_with_their_defaults() {
        let base = RuleSettings::default();
        let merged =
            base.with_overrides(&object(json!({"speed_limit_mps": 25, "overspeed_after_s": 5}))).unwrap();
        assert_eq!(merged.overspeed_resolve_after_s, 30.0);
        assert_eq!(merged.overspeed_resolve_margin_mps, 2.0);
        assert_eq!(merged.zone_edge_margin_m, 10.0);
        let server: RuleSettings =
            toml_like(json!({"overspeed_resolve_after_s": 0, "zone_edge_margin_m": 0}));
        assert_eq!((server.overspeed_resolve_after_s, server.zone_edge_margin_m), (0.0, 0.0));
        assert_eq!(server.overspeed_resolve_margin_mps, 2.0);
    }

    /// Settings read from a partial object, as the server's `[rules]` table is.
    fn toml_like(value: serde_json::Value) -> RuleSettings {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn unknown_names_wrong_types_and_bad_values_are_refused() {
        let base = RuleSettings::default();
        for bad in [
            json!({"stop_after": 120}),
            json!({"stop_after_s": "long"}),
            json!({"stop_after_s": -1}),
            json!({"overspeed_resolve_margin_mps": -2}),
            json!({"zone_edge_margin_m": 1e8}),
            json!({"speed_limit_mps": 0}),
            json!({"signal_lost_after_s": 0}),
        ] {
            assert!(base.with_overrides(&object(bad.clone())).is_err(), "{bad} was accepted");
        }
    }
}
