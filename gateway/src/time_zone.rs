//! Which time zone a move's times are shown in: the plan's `time_zone`, or the server's
//! `[moves] default_time_zone` (`move_settings.rs`). Answers carry it as `time_zone`; every time in them stays UTC.

use convoy_core::time_zone::{self, Tz};
use serde_json::Value;

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
}
