//! Which fields of a plan an edit changes, by the names the plan document gives them (a
//! window's two ends apart): what a plan version records, and what decides whether a move
//! that has started may take the edit.

use super::MovePlan;

/// The fields a move may still change once its window has started (beside its team, which is
/// not part of the plan): when it ends, and the language its alerts are sent in.
pub const EDITABLE_ONCE_STARTED: [&str; 2] = ["window.to", "language"];

/// The fields that differ between two plans, in the plan document's order: `name`, `vehicles`,
/// `escorts`, `route`, `corridor_m`, `zones`, `window.from`, `window.to`, `rules`, `time_zone`, `language`.
/// (`time_zone` is not in [`EDITABLE_ONCE_STARTED`]: the times a team has read and written
/// down since the start would be shown differently.)
pub fn changed_fields(old: &MovePlan, new: &MovePlan) -> Vec<&'static str> {
    let (old_window, new_window) = (old.window, new.window);
    [
        ("name", old.name != new.name),
        ("vehicles", old.vehicles != new.vehicles),
        ("escorts", old.escorts != new.escorts),
        ("route", old.route != new.route),
        ("corridor_m", old.corridor_m != new.corridor_m),
        ("zones", old.zones != new.zones),
        ("window.from", old_window.map(|w| w.from) != new_window.map(|w| w.from)),
        ("window.to", old_window.map(|w| w.to) != new_window.map(|w| w.to)),
        ("rules", old.rules != new.rules),
        ("time_zone", old.time_zone != new.time_zone),
        ("language", old.language != new.language),
    ]
    .into_iter()
    .filter(|(_, changed)| *changed)
    .map(|(field, _)| field)
    .collect()
}

/// Of `changes`, those a move that has started may not take.
pub fn refused_once_started<'a>(changes: &[&'a str]) -> Vec<&'a str> {
    changes.iter().copied().filter(|field| !EDITABLE_ONCE_STARTED.contains(field)).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn plan(document: serde_json::Value) -> MovePlan {
        MovePlan::from_json(document.to_string().as_bytes()).unwrap()
    }

    fn base() -> serde_json::Value {
        json!({
            "name": "Data centre",
            "vehicles": ["truck-07", "escort-1"],
            "escorts": {"truck-07": "escort-1"},
            "route": {"type": "LineString", "coordinates": [[11.5, 48.1], [11.6, 48.2]]},
            "corridor_m": 150,
            "window": {"from": "2026-11-28T09:00:00Z", "to": "2026-11-28T18:00:00Z"}
        })
    }

    #[test]
    fn the_same_plan_changes_nothing_and_each_field_is_named() {
        assert_eq!(changed_fields(&plan(base()), &plan(base())), Vec::<&str>::new());
        let mut edited = base();
        edited["name"] = json!("Data centre, second run");
        edited["corridor_m"] = json!(300);
        edited["route"]["coordinates"][1] = json!([11.7, 48.2]);
        edited["window"]["to"] = json!("2026-11-28T20:00:00Z");
        let changes = changed_fields(&plan(base()), &plan(edited));
        assert_eq!(changes, ["name", "route", "corridor_m", "window.to"]);
        assert_eq!(refused_once_started(&changes), ["name", "route", "corridor_m"]);
    }

    #[test]
    fn once_started_only_the_end_may_change() {
        let mut later = base();
        later["window"]["to"] = json!("2026-11-28T21:00:00.000Z");
        let changes = changed_fields(&plan(base()), &plan(later));
        assert_eq!(changes, ["window.to"]);
        assert!(refused_once_started(&changes).is_empty());

        let mut no_window = base();
        no_window.as_object_mut().unwrap().remove("window");
        let changes = changed_fields(&plan(base()), &plan(no_window));
        assert_eq!(refused_once_started(&changes), ["window.from"]);
        let mut rules = base();
        rules["rules"] = json!({"off_route_after_s": 60});
        assert_eq!(changed_fields(&plan(base()), &plan(rules)), ["rules"]);
    }
}
