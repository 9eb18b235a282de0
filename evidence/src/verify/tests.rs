//! A signed bundle made here with `core::signing` (as a truck and the server would), verified,
//! then tampered with line by line: each tamper is caught and named. Most tampers re-sign the
//! manifest with the tamperer's own key, so only the chain's checks can catch them.

use chrono::{DateTime, Duration, TimeZone, Utc};
use convoy_core::signing::{BatchSignature, ChainHash, PublicKey, SecretKey, GENESIS};
use convoy_core::{Position, VehicleId};
use convoy_history::evidence::lines::*;
use convoy_history::evidence::{BundleWriter, Section};
use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::{json, Value};
use std::io::{Read, Write};

use super::verify;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap()
}

fn truck() -> VehicleId {
    VehicleId::new("truck-01").unwrap()
}

/// 20 fixes at 1 Hz along the route, signed in batches of 5 (heads at seqs 5, 10, 15, 20).
/// `skip` leaves seqs out (a gap the server recorded).
fn signed_bundle(truck_key: &SecretKey, server_key: &SecretKey, skip: &[u64]) -> Vec<u8> {
    let mut w = BundleWriter::new();
    let exported_at = t0() + Duration::seconds(30);
    w.line(
        Section::Bundle,
        &BundleLine {
            format: convoy_history::evidence::FORMAT.into(),
            move_id: "m1".into(),
            exported_at,
            exported_by: "admin".into(),
            from: t0(),
            until: exported_at,
            cut: false,
            rules: Default::default(),
        },
    );
    let plan = json!({"name": "Test", "vehicles": ["truck-01", "van-02"],
        "route": {"type": "LineString", "coordinates": [[1.50, 42.5], [1.60, 42.5]]},
        "corridor_m": 150, "window": {"from": "2026-12-07T09:00:00Z", "to": "2026-12-07T10:00:00Z"}});
    w.line(
        Section::Plan,
        &PlanLine {
            id: "m1".into(),
            name: "Test".into(),
            version: 1,
            created_at: t0() - Duration::hours(1),
            created_by: "admin".into(),
            ended_at: None,
            cancelled: false,
            plan: plan.clone(),
        },
    );
    w.line(
        Section::PlanVersion,
        &PlanVersionLine { version: 1, at: t0(), by: "admin".into(), changes: vec![], team: None, plan },
    );
    let public = truck_key.public();
    w.line(
        Section::VehicleKey,
        &VehicleKeyLine {
            vehicle: truck(),
            key: public.id(),
            public_key: public,
            valid_from: t0() - Duration::days(1),
        },
    );
    let fixes: Vec<Position> = (1..=20u64)
        .map(|s| Position::bare(s, t0() + Duration::seconds(s as i64), 42.5, 1.50 + s as f64 * 1e-4))
        .collect();
    // The truck links and signs the fixes it sends: a fix dropped from its spool is never
    // hashed, and the next one links to the one before it.
    let mut prev = GENESIS;
    let mut lines = Vec::new();
    for batch in fixes.chunks(5) {
        let sent: Vec<Position> = batch.iter().filter(|p| !skip.contains(&p.seq)).cloned().collect();
        let (signed, head) = BatchSignature::sign(truck_key, &truck(), &prev, &sent).unwrap();
        w.line(Section::SignedHead, &signed.head(&truck(), &sent).unwrap());
        let mut link_prev = prev;
        for p in &sent {
            lines.push(FixLine {
                vehicle: truck(),
                position: p.clone(),
                received_at: p.t + Duration::seconds(1),
                late: false,
                implausible: None,
                prev: Some(link_prev),
                source: None,
            });
            link_prev = convoy_core::signing::link(&link_prev, &truck(), p);
        }
        prev = head;
    }
    for line in &lines {
        w.line(Section::Fix, line);
    }
    let van = VehicleId::new("van-02").unwrap();
    for s in 1..=3u64 {
        let p = Position::bare(s, t0() + Duration::seconds(s as i64), 42.5, 1.5 + s as f64 * 1e-4);
        w.line(
            Section::Fix,
            &FixLine {
                vehicle: van.clone(),
                position: p.clone(),
                received_at: p.t + Duration::seconds(1),
                late: false,
                implausible: None,
                prev: None,
                source: None,
            },
        );
    }
    for (s, dropped) in [(0, 0), (12, 3)] {
        w.line(
            Section::AgentStatus,
            &AgentStatusLine {
                vehicle: truck(),
                received_at: t0() + Duration::seconds(s),
                status: json!({"state": "online", "gnss": "fix", "spool_dropped": dropped}).to_string(),
            },
        );
    }
    w.line(
        Section::Alert,
        &json!({"id": "integrity-1", "vehicle": "truck-01", "kind": "integrity", "zone": null, "state": "acknowledged",
            "opened_t": t0(), "cleared_t": null, "late": false, "lat": null, "lon": null, "detail": {},
            "transitions": [{"state": "acknowledged", "at": t0() + Duration::seconds(20), "by": "ops", "note": "seen"}]}),
    );
    // A seal seen broken at unloading: its checkpoint and the alert it opened.
    let unloading = t0() + Duration::seconds(15);
    w.line(
        Section::Alert,
        &json!({"id": "seal-1", "vehicle": "truck-01", "kind": "seal", "zone": "SL-7", "state": "open",
            "opened_t": unloading, "cleared_t": null, "late": false, "lat": 42.5, "lon": 1.5,
            "detail": {"stage": "unloading", "state": "broken"}, "transitions": []}),
    );
    w.line(
        Section::SealCheckpoint,
        &json!({"id": 3, "stage": "unloading", "vehicle": "truck-01", "at": unloading, "by": "escort", "note": null,
            "fix": {"t": unloading, "seq": 15, "lat": 42.5, "lon": 1.5},
            "seals": [{"seal_id": "s1", "number": "SL-7", "label": "Rack 3", "state": "broken", "note": "cut"},
                      {"seal_id": "s2", "number": "SL-8", "label": "Box", "state": "intact", "note": null}]}),
    );
    let ack = convoy_store::AuditEntry {
        seq: 7,
        at: t0() + Duration::milliseconds(20_004),
        actor: Some("ops".into()),
        action: "alert.ack".into(),
        target: "integrity-1".into(),
        from_addr: Some("127.0.0.1".into()),
        detail: json!({"note": "seen"}).to_string(),
        prev_hash: "0".repeat(64),
        hash: String::new(),
    };
    let ack = convoy_store::AuditEntry { hash: ack.computed_hash(), ..ack };
    w.line(Section::Audit, &AuditLine::of(&ack));
    w.line(Section::Report, &ReportLine { report: json!({"vehicles": []}) });
    let mut file = w.take();
    file.extend(w.finish(server_key));
    file
}

fn lines_of(file: &[u8]) -> Vec<Value> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(file).read_to_string(&mut text).unwrap();
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// The lines written back as a bundle whose manifest `key` signs (the tamperer's).
fn rewritten(lines: &[Value], key: &SecretKey) -> Vec<u8> {
    let mut w = BundleWriter::new();
    for line in lines {
        let mut line = line.clone();
        let section = Section::parse(line["section"].as_str().unwrap()).unwrap();
        if section == Section::Manifest {
            continue;
        }
        line.as_object_mut().unwrap().remove("section");
        w.line(section, &line);
    }
    let mut file = w.take();
    file.extend(w.finish(key));
    file
}

/// The lines recompressed as they are (the manifest left as it was).
fn recompressed(lines: &[Value]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    for line in lines {
        enc.write_all(format!("{line}\n").as_bytes()).unwrap();
    }
    enc.finish().unwrap()
}

fn fix_index(lines: &[Value], seq: u64) -> usize {
    lines.iter().position(|l| l["section"] == "fix" && l["vehicle"] == "truck-01" && l["seq"] == seq).unwrap()
}

struct Keys {
    truck: SecretKey,
    server: SecretKey,
    tamperer: SecretKey,
}

fn keys() -> Keys {
    Keys { truck: SecretKey::generate(), server: SecretKey::generate(), tamperer: SecretKey::generate() }
}

fn failures_of(file: &[u8], server: Option<&PublicKey>) -> Vec<String> {
    let verdict = verify(file, server);
    assert_eq!(verdict.exit_code(), 1, "{verdict}");
    assert!(verdict.to_string().contains("VERDICT: does not hold"));
    verdict.failures
}

fn has(failures: &[String], text: &str) -> bool {
    failures.iter().any(|f| f.contains(text))
}

#[test]
fn an_intact_signed_bundle_holds_with_and_without_the_server_key() {
    let k = keys();
    let file = signed_bundle(&k.truck, &k.server, &[]);
    let verdict = verify(&file[..], None);
    assert_eq!(verdict.exit_code(), 0, "{verdict}");
    let text = verdict.to_string();
    assert!(text.contains("VERDICT: holds"), "{text}");
    assert!(text.contains("truck-01: 20 fixes, signed: 20 covered by 4 signed heads"), "{text}");
    assert!(text.contains("van-02: 3 fixes, UNSIGNED"), "{text}");
    assert!(text.contains(&format!("signed by a key in the file ({}", k.server.public().id())), "{text}");
    let verdict = verify(&file[..], Some(&k.server.public()));
    assert_eq!(verdict.exit_code(), 0, "{verdict}");
    assert!(verdict.to_string().contains("(the server key given)"));
}

#[test]
fn a_recorded_gap_is_listed_with_its_duration_and_the_spool_drops_reported() {
    let k = keys();
    // Seq 12 never reached the server; the agent reported 3 fixes dropped at 09:00:12.
    let file = signed_bundle(&k.truck, &k.server, &[12]);
    let verdict = verify(&file[..], None);
    assert_eq!(verdict.exit_code(), 0, "{verdict}");
    let text = verdict.to_string();
    assert!(text.contains("gap after seq 11 before seq 13 (1 missing): 2.0 s"), "{text}");
    assert!(text.contains("spool drops then: yes"), "{text}");
}

#[test]
fn a_changed_coordinate_is_named_by_its_link_and_its_signed_head() {
    let k = keys();
    let mut lines = lines_of(&signed_bundle(&k.truck, &k.server, &[]));
    let i = fix_index(&lines, 7);
    lines[i]["lat"] = json!(42.6);
    let failures = failures_of(&rewritten(&lines, &k.tamperer), None);
    assert!(has(&failures, "truck-01 fix seq 8: does not link to seq 7"), "{failures:?}");
    assert!(
        has(&failures, "truck-01 fix seq 6: its chain hash does not match the signed head at seq 10 (a fix changed, removed, added or reordered between seq 6 and 10)"),
        "{failures:?}"
    );
    // Left with the server's manifest, the manifest names it too.
    let failures = failures_of(&recompressed(&lines), None);
    assert!(has(&failures, "manifest: its sha256"), "{failures:?}");
}

#[test]
fn a_removed_fix_is_named() {
    let k = keys();
    let mut lines = lines_of(&signed_bundle(&k.truck, &k.server, &[]));
    lines.remove(fix_index(&lines, 7));
    let failures = failures_of(&rewritten(&lines, &k.tamperer), None);
    assert!(
        has(
            &failures,
            "truck-01 fix seq 8: seq 7 is missing and seq 8 does not link to seq 6 (a fix removed"
        ),
        "{failures:?}"
    );
}

#[test]
fn two_swapped_fixes_are_named() {
    let k = keys();
    let mut lines = lines_of(&signed_bundle(&k.truck, &k.server, &[]));
    let i = fix_index(&lines, 7);
    lines.swap(i, i + 1);
    let failures = failures_of(&rewritten(&lines, &k.tamperer), None);
    assert!(has(&failures, "truck-01 fix seq 7 comes after seq 8"), "{failures:?}");
}

#[test]
fn an_added_fix_is_named() {
    let k = keys();
    let mut lines = lines_of(&signed_bundle(&k.truck, &k.server, &[]));
    let i = fix_index(&lines, 20);
    // A fix 21 linked properly to 20, as anyone can compute: but no head signs it.
    let mut added = lines[i].clone();
    let fix20: Position = serde_json::from_value(lines[i].clone()).unwrap();
    let prev20 = ChainHash::parse(lines[i]["prev"].as_str().unwrap()).unwrap();
    added["seq"] = json!(21);
    added["prev"] = json!(convoy_core::signing::link(&prev20, &truck(), &fix20).to_string());
    lines.insert(i + 1, added);
    let failures = failures_of(&rewritten(&lines, &k.tamperer), None);
    assert!(has(&failures, "truck-01 fixes seq 21 to 21 (1): covered by no signed head"), "{failures:?}");
    // A second fix 5 is named as added.
    let mut lines = lines_of(&signed_bundle(&k.truck, &k.server, &[]));
    let i = fix_index(&lines, 5);
    let copy = lines[i].clone();
    lines.insert(i + 1, copy);
    let failures = failures_of(&rewritten(&lines, &k.tamperer), None);
    assert!(has(&failures, "truck-01 fix seq 5 appears twice (a fix added)"), "{failures:?}");
}

#[test]
fn a_replaced_vehicle_key_is_named() {
    let k = keys();
    let mut lines = lines_of(&signed_bundle(&k.truck, &k.server, &[]));
    let i = lines.iter().position(|l| l["section"] == "vehicle_key").unwrap();
    let other = SecretKey::generate().public();
    lines[i]["key"] = json!(other.id().to_string());
    lines[i]["public_key"] = json!(other.to_string());
    let failures = failures_of(&rewritten(&lines, &k.tamperer), None);
    let expected = format!(
        "truck-01 signed head at seq 5: signed by key {}, but the vehicle's key valid at",
        k.truck.public().id()
    );
    assert!(has(&failures, &expected), "{failures:?}");
}

#[test]
fn an_edited_alert_transition_breaks_the_manifest_and_misses_its_audit_entry() {
    let k = keys();
    let mut lines = lines_of(&signed_bundle(&k.truck, &k.server, &[]));
    let i = lines.iter().position(|l| l["section"] == "alert").unwrap();
    lines[i]["transitions"][0]["by"] = json!("someone-else");
    let failures = failures_of(&recompressed(&lines), Some(&k.server.public()));
    assert!(has(&failures, "manifest: its sha256"), "{failures:?}");
    assert!(
        has(&failures, "alert integrity-1: its transition alert.ack by someone-else at 2026-12-07T09:00:20+00:00 (note Some(\"seen\")) has no matching audit entry"),
        "{failures:?}"
    );
}

#[test]
fn a_manifest_signed_by_another_key_is_caught_with_the_server_key() {
    let k = keys();
    let lines = lines_of(&signed_bundle(&k.truck, &k.server, &[]));
    let resigned = rewritten(&lines, &k.tamperer);
    // Without the server's key, the verdict names the key to compare.
    let verdict = verify(&resigned[..], None);
    assert_eq!(verdict.exit_code(), 0);
    assert!(verdict
        .to_string()
        .contains(&format!("compare {} with the server's published key", k.tamperer.public().id())));
    let failures = failures_of(&resigned, Some(&k.server.public()));
    assert!(has(&failures, "not by the server's key"), "{failures:?}");
}

#[test]
fn a_truncated_file_and_miscounted_manifest_do_not_hold() {
    let k = keys();
    let file = signed_bundle(&k.truck, &k.server, &[]);
    let failures = failures_of(&file[..file.len() * 2 / 3], None);
    assert!(
        has(&failures, "the file is cut short") || has(&failures, "without its manifest"),
        "{failures:?}"
    );
    let mut lines = lines_of(&file);
    let last = lines.len() - 1;
    lines[last]["counts"]["fix"] = json!(99);
    let failures = failures_of(&recompressed(&lines), None);
    assert!(has(&failures, "manifest: its counts (agent_status 2"), "{failures:?}");
}

#[test]
fn what_is_not_a_bundle_exits_2_with_its_reason() {
    let k = keys();
    let not_a_bundle = |file: &[u8]| {
        let verdict = verify(file, None);
        assert_eq!(verdict.exit_code(), 2, "{verdict}");
        assert!(verdict.to_string().contains("VERDICT: not a bundle"));
        verdict.not_a_bundle.unwrap()
    };
    assert!(not_a_bundle(b"PK\x03\x04 a zip file").contains("not gzip"));
    assert!(not_a_bundle(&recompressed_text("hello\n")).contains("line 1 is not JSON"));
    let mut lines = lines_of(&signed_bundle(&k.truck, &k.server, &[]));
    lines[3]["section"] = json!("attachments");
    assert!(not_a_bundle(&recompressed(&lines)).contains("unknown section \"attachments\""));
    let mut lines = lines_of(&signed_bundle(&k.truck, &k.server, &[]));
    lines.swap(3, 4);
    assert!(not_a_bundle(&recompressed(&lines)).contains("out of order"));
    let huge = format!("{{\"section\":\"bundle\",\"x\":\"{}\"}}\n", "a".repeat(2 << 20));
    assert!(not_a_bundle(&recompressed_text(&huge)).contains("longer than"));
}

fn recompressed_text(text: &str) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(text.as_bytes()).unwrap();
    enc.finish().unwrap()
}

#[test]
fn a_changed_audit_entry_is_named() {
    let k = keys();
    let mut lines = lines_of(&signed_bundle(&k.truck, &k.server, &[]));
    let i = lines.iter().position(|l| l["section"] == "audit").unwrap();
    lines[i]["actor"] = json!("someone-else");
    let failures = failures_of(&rewritten(&lines, &k.tamperer), None);
    assert!(
        has(&failures, "audit entry 7 (alert.ack on integrity-1): its fields no longer give its hash"),
        "{failures:?}"
    );
}

#[test]
fn a_broken_seal_without_its_alert_or_an_alert_without_its_checkpoint_is_named() {
    let k = keys();
    let lines = lines_of(&signed_bundle(&k.truck, &k.server, &[]));
    let verdict = verify(&rewritten(&lines, &k.server)[..], None);
    assert!(verdict.to_string().contains("seals seen broken or missing: 1"), "{verdict}");

    let without_alert: Vec<Value> = lines.iter().filter(|l| l["id"] != "seal-1").cloned().collect();
    let failures = failures_of(&rewritten(&without_alert, &k.server), None);
    assert!(
        has(&failures, "seal SL-7: checkpoint 3 saw it broken or missing, but no seal alert"),
        "{failures:?}"
    );

    let mut mended = lines.clone();
    let at = mended.iter().position(|l| l["section"] == "seal_checkpoint").unwrap();
    mended[at]["seals"][0]["state"] = json!("intact");
    let failures = failures_of(&rewritten(&mended, &k.server), None);
    assert!(has(&failures, "alert seal-1: a seal alert for seal SL-7 without a checkpoint"), "{failures:?}");
}
