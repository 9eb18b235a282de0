//! The store's part of the daily report: alerts counted by vehicle and kind over a span, on
//! every backend. (Its fixes are the tracks the suite tests already.)

use super::*;
use convoy_store::AlertCount;

async fn alerts_are_counted_by_vehicle_and_kind_over_a_span(f: Fixture) {
    let alerts = [
        AlertRecord { kind: AlertKind::OffRoute, ..an_alert("a-1", "m-1", "truck-07", 0) },
        AlertRecord { kind: AlertKind::OffRoute, ..an_alert("a-2", "m-1", "truck-07", 60) },
        an_alert("a-3", "m-1", "truck-07", 120),
        AlertRecord { kind: AlertKind::Overspeed, ..an_alert("a-4", "m-2", "escort-1", 180) },
        // Opened at the span's end: the next span's.
        AlertRecord { kind: AlertKind::Overspeed, ..an_alert("a-5", "m-2", "truck-07", 3600) },
    ];
    for alert in &alerts {
        f.store.open_alert(alert).await.unwrap();
    }
    // A resolved alert still counts: it was opened in the span.
    f.store.resolve_alert("a-2", "ana", None, t0() + Duration::seconds(90)).await.unwrap();
    let count = |v: &str, kind, count| AlertCount { vehicle: vehicle(v), kind, count };
    let (from, to) = (t0(), t0() + Duration::hours(1));
    assert_eq!(
        f.store.alert_counts(from, to, None).await.unwrap(),
        [
            count("escort-1", AlertKind::Overspeed, 1),
            count("truck-07", AlertKind::OffRoute, 2),
            count("truck-07", AlertKind::ZoneEnter, 1),
        ]
    );
    assert_eq!(
        f.store.alert_counts(from, to, Some(&vehicle("escort-1"))).await.unwrap(),
        [count("escort-1", AlertKind::Overspeed, 1)]
    );
    let later = f.store.alert_counts(to, to + Duration::hours(1), None).await.unwrap();
    assert_eq!(later, [count("truck-07", AlertKind::Overspeed, 1)], "`from` inclusive, `to` exclusive");
    let none = f.store.alert_counts(from, to, Some(&vehicle("truck-99"))).await.unwrap();
    assert_eq!(none, []);
}

every_backend!(alerts_are_counted_by_vehicle_and_kind_over_a_span);
