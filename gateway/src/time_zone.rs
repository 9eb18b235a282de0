//! Which time zone a move's times are shown in: the plan's `time_zone`, or the server's
//! `[moves] default_time_zone`. Answers carry it as `time_zone`; every time in them stays UTC.

use convoy_core::time_zone::{self, Tz};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// `[moves]`: what the server assumes of moves whose plan leaves it out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoveSettings {
    /// The zone of a plan without `time_zone` (an IANA name, checked at start). UTC unless
    /// configured: the server's own local zone is UTC in most containers and something else on
    /// a laptop, so taking it would show the same move differently on two machines without
    /// anyone having chosen it.
    #[serde(default = "utc", deserialize_with = "zone_by_name")]
    pub default_time_zone: Tz,
}

impl Default for MoveSettings {
    fn default() -> Self {
        MoveSettings { default_time_zone: time_zone::UTC }
    }
}

fn utc() -> Tz {
    time_zone::UTC
}

fn zone_by_name<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Tz, D::Error> {
    let name = String::deserialize(deserializer)?;
    time_zone::parse(&name).map_err(serde::de::Error::custom)
}

/// The zone of a move with this stored plan document: its own, or the default. (A stored plan
/// was checked as it came in; a name the bundled database no longer knows falls back too.)
pub(crate) fn of_plan(plan: &Value, default: Tz) -> Tz {
    plan.get("time_zone")
        .and_then(Value::as_str)
        .and_then(|name| time_zone::parse(name).ok())
        .unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_plan_names_its_zone_or_takes_the_default() {
        let berlin = time_zone::parse("Europe/Berlin").unwrap();
        assert_eq!(of_plan(&json!({"time_zone": "Asia/Shanghai"}), berlin).name(), "Asia/Shanghai");
        assert_eq!(of_plan(&json!({"name": "no zone"}), berlin), berlin);
    }

    #[test]
    fn the_setting_is_read_by_name_and_an_unknown_name_refused() {
        let read = |value: Value| serde_json::from_value::<MoveSettings>(value);
        let settings = read(json!({"default_time_zone": "Asia/Shanghai"})).unwrap();
        assert_eq!(settings.default_time_zone.name(), "Asia/Shanghai");
        assert_eq!(read(json!({})).unwrap(), MoveSettings::default());
        let error = read(json!({"default_time_zone": "Mars/Base"})).unwrap_err();
        assert!(error.to_string().contains("\"Mars/Base\" is not a known IANA time zone"), "{error}");
    }
}
