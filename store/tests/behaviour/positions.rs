//! Positions, tracks, dead letters and agent statuses.

use super::*;

pub(super) async fn stored_track(store: &Store, id: &str) -> Vec<StoredPosition> {
    let mut stream = store.track_stream(&vehicle(id), t0() - Duration::days(400), t0() + Duration::days(1));
    let mut track = Vec::new();
    while let Some(p) = stream.recv().await {
        track.push(p.unwrap());
    }
    track
}

pub(super) async fn whole_track(store: &Store, id: &str) -> Vec<Position> {
    store.track(&vehicle(id), t0() - Duration::days(1), t0() + Duration::days(1)).await.unwrap()
}

pub(super) async fn a_redelivered_position_is_stored_once(f: Fixture) {
    let write = write_of("truck-07", vec![position(1, 0), position(2, 1)]);
    let outcome = f.store.write_ingest(&write).await.unwrap();
    assert_eq!((outcome.inserted, outcome.duplicates), (2, 0));
    let again = write_of("truck-07", vec![position(2, 1), position(3, 2), position(3, 2)]);
    let outcome = f.store.write_ingest(&again).await.unwrap();
    assert_eq!((outcome.inserted, outcome.duplicates), (1, 2));
    let track = whole_track(&f.store, "truck-07").await;
    assert_eq!(track.iter().map(|p| p.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(track[0], position(1, 0), "every field comes back as written");
}

pub(super) async fn the_latest_position_never_moves_back_in_fix_time(f: Fixture) {
    f.store.write_ingest(&write_of("truck-07", vec![position(10, 10), position(9, 9)])).await.unwrap();
    // A backlog from an outage arrives after the live fix.
    f.store.write_ingest(&write_of("truck-07", vec![position(5, 5), position(6, 6)])).await.unwrap();
    f.store.write_ingest(&write_of("escort-1", vec![position(1, 3)])).await.unwrap();
    let latest = f.store.latest_positions().await.unwrap();
    let summary: Vec<_> = latest.iter().map(|l| (l.vehicle.as_str(), l.position.seq)).collect();
    assert_eq!(summary, vec![("escort-1", 1), ("truck-07", 10)]);
    assert_eq!(latest[1].position, position(10, 10));
    assert_eq!(latest[1].received_at, t0() + Duration::minutes(1));
    // The late fixes are still in the track, in fix-time order.
    let seqs: Vec<_> = whole_track(&f.store, "truck-07").await.iter().map(|p| p.seq).collect();
    assert_eq!(seqs, vec![5, 6, 9, 10]);
}

pub(super) async fn a_track_is_bounded_by_its_time_range(f: Fixture) {
    let positions = (0..10).map(|i| position(i, i as i64)).collect();
    f.store.write_ingest(&write_of("truck-07", positions)).await.unwrap();
    let from = t0() + Duration::seconds(3);
    let to = t0() + Duration::seconds(6);
    let part = f.store.track(&vehicle("truck-07"), from, to).await.unwrap();
    assert_eq!(part.iter().map(|p| p.seq).collect::<Vec<_>>(), vec![3, 4, 5]);
    assert!(whole_track(&f.store, "other").await.is_empty());
}

pub(super) async fn optional_fields_stay_absent(f: Fixture) {
    let bare = Position {
        alt_m: None,
        speed_mps: None,
        course_deg: None,
        fix: None,
        sats: None,
        hdop: None,
        accuracy_m: None,
        ..position(1, 0)
    };
    f.store.write_ingest(&write_of("truck-07", vec![bare.clone()])).await.unwrap();
    assert_eq!(whole_track(&f.store, "truck-07").await, vec![bare]);
}

pub(super) async fn dead_letters_keep_their_raw_bytes(f: Fixture) {
    let dead = DeadLetter {
        received_at: t0(),
        topic: "convoy/v1/vehicles/truck-07/positions".into(),
        payload: vec![0, 159, 146, 150, b'{'],
        reason: "malformed".into(),
        detail: "payload is not a v1 position batch".into(),
    };
    let write =
        IngestWrite { dead_letters: vec![dead.clone()], ..write_of("truck-07", vec![position(1, 0)]) };
    f.store.write_ingest(&write).await.unwrap();
    assert_eq!(f.store.dead_letters(10).await.unwrap(), vec![dead]);
    assert_eq!(whole_track(&f.store, "truck-07").await.len(), 1);
}

pub(super) async fn a_phones_fixes_keep_their_accuracy_and_source(f: Fixture) {
    let from_phone = Position { accuracy_m: Some(35.5), fix: None, sats: None, hdop: None, ..position(1, 0) };
    let write = IngestWrite {
        positions: vec![VehiclePositions {
            vehicle: vehicle("escort-1"),
            positions: vec![from_phone.clone()],
            source: Some("owntracks:anna-phone".into()),
            chain: None,
        }],
        ..IngestWrite::default()
    };
    f.store.write_ingest(&write).await.unwrap();
    f.store.write_ingest(&write_of("escort-1", vec![position(2, 1)])).await.unwrap();
    let stored = stored_track(&f.store, "escort-1").await;
    assert_eq!(stored[0].position, from_phone);
    assert_eq!(stored[0].source.as_deref(), Some("owntracks:anna-phone"));
    assert_eq!(stored[1].source, None, "the agent's fixes have no source");
    let latest = f.store.latest_positions().await.unwrap();
    assert_eq!(latest[0].position, position(2, 1));
    // A phone's fix as the latest keeps its accuracy there too.
    let newer = Position { seq: 9, accuracy_m: Some(12.0), ..position(9, 5) };
    let write = IngestWrite {
        positions: vec![VehiclePositions {
            vehicle: vehicle("escort-1"),
            positions: vec![newer.clone()],
            source: Some("traccar:48241179".into()),
            chain: None,
        }],
        ..IngestWrite::default()
    };
    f.store.write_ingest(&write).await.unwrap();
    assert_eq!(f.store.latest_positions().await.unwrap()[0].position, newer);
}

pub(super) async fn a_backlog_is_stored_marked_late(f: Fixture) {
    f.store.write_ingest(&write_of("truck-07", vec![position(10, 10)])).await.unwrap();
    f.store.write_ingest(&write_of("truck-07", vec![position(5, 5), position(6, 6)])).await.unwrap();
    f.store.write_ingest(&write_of("truck-07", vec![position(11, 11)])).await.unwrap();
    let marks: Vec<_> =
        stored_track(&f.store, "truck-07").await.iter().map(|p| (p.position.seq, p.late)).collect();
    assert_eq!(marks, vec![(5, true), (6, true), (10, false), (11, false)]);
}

pub(super) async fn an_implausible_fix_is_kept_raw_and_marked_but_never_becomes_the_live_position(
    f: Fixture,
) {
    // 0.05 degrees of latitude (about 5.5 km) in one second.
    let wild = Position { lat: position(2, 1).lat + 0.05, ..position(2, 1) };
    let write = write_of("truck-07", vec![position(1, 0), wild.clone(), position(3, 2)]);
    assert_eq!(f.store.write_ingest(&write).await.unwrap().inserted, 3);
    let track = stored_track(&f.store, "truck-07").await;
    assert_eq!(track[1].position, wild, "the raw values are kept");
    let marks: Vec<_> = track.iter().map(|p| p.implausible).collect();
    assert_eq!(marks, vec![None, Some(Implausible::TooFast), None]);
    // A wild fix as the newest one of a write does not become the live position either.
    let wild_last = Position { lat: position(4, 3).lat - 0.05, ..position(4, 3) };
    f.store.write_ingest(&write_of("truck-07", vec![wild_last])).await.unwrap();
    let latest = f.store.latest_positions().await.unwrap();
    assert_eq!(latest[0].position.seq, 3);
}

pub(super) async fn a_fix_older_than_the_retention_is_marked(f: Fixture) {
    let write = IngestWrite {
        oldest_kept: Some(t0() + Duration::seconds(5)),
        ..write_of("truck-07", vec![position(1, 0), position(9, 9)])
    };
    f.store.write_ingest(&write).await.unwrap();
    let marks: Vec<_> = stored_track(&f.store, "truck-07").await.iter().map(|p| p.implausible).collect();
    assert_eq!(marks, vec![Some(Implausible::OlderThanRetention), None]);
}

pub(super) async fn a_long_track_streams_whole_and_in_order(f: Fixture) {
    // More than two pages, written in reverse so the order comes from the query.
    let mut positions: Vec<_> = (0..4500).map(|i| position(i, i as i64)).collect();
    positions.reverse();
    for chunk in positions.chunks(1000) {
        f.store.write_ingest(&write_of("truck-07", chunk.to_vec())).await.unwrap();
    }
    let seqs: Vec<_> = stored_track(&f.store, "truck-07").await.iter().map(|p| p.position.seq).collect();
    assert_eq!(seqs, (0..4500).collect::<Vec<_>>());
    // Stopping early is fine: the reader goes away.
    let mut stream = f.store.track_stream(&vehicle("truck-07"), t0(), t0() + Duration::days(1));
    assert_eq!(stream.recv().await.unwrap().unwrap().position.seq, 0);
    drop(stream);
}

pub(super) async fn the_latest_agent_status_is_kept(f: Fixture) {
    let status = |minute: i64, json: &str| AgentStatus {
        vehicle: vehicle("truck-07"),
        received_at: t0() + Duration::minutes(minute),
        status_json: json.into(),
    };
    let first = IngestWrite { statuses: vec![status(0, r#"{"state":"online"}"#)], ..Default::default() };
    f.store.write_ingest(&first).await.unwrap();
    let second = IngestWrite { statuses: vec![status(1, r#"{"state":"offline"}"#)], ..Default::default() };
    f.store.write_ingest(&second).await.unwrap();
    assert_eq!(f.store.agent_statuses().await.unwrap(), vec![status(1, r#"{"state":"offline"}"#)]);
}

pub(super) async fn fresh_positions_are_the_clean_fixes_of_a_write_in_its_order(f: Fixture) {
    f.store.write_ingest(&write_of("truck-07", vec![position(10, 10)])).await.unwrap();
    // 0.05 degrees of latitude (about 5.5 km) in one second.
    let wild = Position { lat: position(12, 12).lat + 0.05, ..position(12, 12) };
    let batch = |id: &str, positions: Vec<Position>| VehiclePositions {
        vehicle: vehicle(id),
        positions,
        source: None,
        chain: None,
    };
    let write = IngestWrite {
        received_at: Some(t0() + Duration::minutes(2)),
        oldest_kept: Some(t0() - Duration::seconds(50)),
        positions: vec![
            batch("truck-07", vec![position(5, 5), position(11, 11)]),
            batch("escort-1", vec![position(0, -100), position(1, 3)]),
            batch("truck-07", vec![wild, position(13, 13)]),
        ],
        ..Default::default()
    };
    let outcome = f.store.write_ingest(&write).await.unwrap();
    assert_eq!(outcome.inserted, 6);
    let fresh: Vec<_> = outcome.fresh.iter().map(|(v, p)| (v.as_str(), p.seq)).collect();
    // Not seq 5 (late), escort's seq 0 (older than the retention) nor seq 12 (too fast).
    assert_eq!(fresh, vec![("truck-07", 11), ("escort-1", 1), ("truck-07", 13)]);
    assert_eq!(outcome.fresh[0].1, position(11, 11), "the whole fix");
    assert_eq!(outcome.received_at, t0() + Duration::minutes(2));

    // Without a stamp in the write, the outcome tells the one the store used, as stored.
    let unstamped = IngestWrite { received_at: None, ..write_of("bus-3", vec![position(1, 0)]) };
    let outcome = f.store.write_ingest(&unstamped).await.unwrap();
    assert_eq!(stored_track(&f.store, "bus-3").await[0].received_at, outcome.received_at);
    assert_eq!(outcome.fresh, vec![(vehicle("bus-3"), position(1, 0))]);
}

pub(super) async fn the_status_history_keeps_every_report_until_retention(f: Fixture) {
    let status = |id: &str, minutes: i64, json: &str| AgentStatus {
        vehicle: vehicle(id),
        received_at: t0() + Duration::minutes(minutes),
        status_json: json.into(),
    };
    let old = status("truck-07", -40 * 24 * 60, r#"{"state":"online","spool":0}"#);
    f.store.write_ingest(&IngestWrite { statuses: vec![old.clone()], ..Default::default() }).await.unwrap();
    let (online, offline) =
        (status("truck-07", 0, r#"{"state":"online"}"#), status("truck-07", 1, r#"{"state":"offline"}"#));
    let other = status("escort-1", 0, r#"{"state":"online"}"#);
    // A status beside positions, in the same write.
    let write = IngestWrite {
        statuses: vec![offline.clone(), other.clone(), online.clone()],
        ..write_of("truck-07", vec![position(1, 0)])
    };
    f.store.write_ingest(&write).await.unwrap();

    let truck = vehicle("truck-07");
    let history = |from: i64, to: i64| {
        f.store.status_history(&truck, t0() + Duration::days(from), t0() + Duration::days(to))
    };
    assert_eq!(history(-50, 1).await.unwrap(), vec![old.clone(), online.clone(), offline.clone()]);
    assert_eq!(history(-1, 1).await.unwrap(), vec![online.clone(), offline.clone()]);
    assert_eq!(
        f.store.status_history(&vehicle("truck-07"), t0(), t0() + Duration::minutes(1)).await.unwrap(),
        vec![online.clone()],
        "[from, to)"
    );
    assert_eq!(
        f.store.status_history(&vehicle("escort-1"), t0(), t0() + Duration::days(1)).await.unwrap(),
        vec![other.clone()]
    );
    // The latest table still holds one status per vehicle.
    assert_eq!(f.store.agent_statuses().await.unwrap().len(), 2);

    f.store.purge(t0() - Duration::days(30), t0()).await.unwrap();
    assert_eq!(history(-50, 1).await.unwrap(), vec![online, offline]);
}

pub(super) async fn the_newest_statuses_come_newest_first_up_to_a_limit(f: Fixture) {
    let status = |id: &str, minutes: i64| AgentStatus {
        vehicle: vehicle(id),
        received_at: t0() + Duration::minutes(minutes),
        status_json: format!(r#"{{"state":"online","uptime_s":{minutes}}}"#),
    };
    let truck: Vec<AgentStatus> = (0..5).map(|m| status("truck-07", m)).collect();
    let write =
        IngestWrite { statuses: [truck.clone(), vec![status("escort-1", 2)]].concat(), ..Default::default() };
    f.store.write_ingest(&write).await.unwrap();

    let truck_07 = vehicle("truck-07");
    let newest = |from: i64, to: i64, limit: u32| {
        f.store.newest_statuses(
            &truck_07,
            t0() + Duration::minutes(from),
            t0() + Duration::minutes(to),
            limit,
        )
    };
    let reversed: Vec<AgentStatus> = truck.iter().rev().cloned().collect();
    assert_eq!(newest(0, 60, 100).await.unwrap(), reversed);
    assert_eq!(newest(0, 60, 2).await.unwrap(), reversed[..2].to_vec(), "the newest two");
    assert_eq!(newest(1, 3, 100).await.unwrap(), vec![truck[2].clone(), truck[1].clone()], "[from, to)");
    assert!(newest(10, 60, 100).await.unwrap().is_empty());
    assert!(f
        .store
        .newest_statuses(&vehicle("bus-9"), t0(), t0() + Duration::hours(1), 100)
        .await
        .unwrap()
        .is_empty());
}
