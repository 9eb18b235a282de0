//! The server's signed record, with the real `convoy` binary: the key made at the first start
//! (0600) and shown by `convoy key show`, the audit head signed at start and stop (in the store
//! and on the head file's lines), `convoy audit verify` checking every signature, and what the
//! database's owner can do without the key: change a signature, or rebuild the chain and
//! re-sign it with a key of their own (caught with `--server-key`). Then, on PostgreSQL: a
//! retention purge's signed destruction record (counts per vehicle, what a hold kept), listed by
//! the API, verified, caught when edited; and a key rotation after which old signatures still
//! verify.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use common::served::{add_admin, Served};
use common::*;
use convoy_core::signing::{PublicKey, SecretKey};
use convoy_core::{Position, VehicleId};
use convoy_store::{
    AuditFilter, AuditHead, AuditSignature, IngestWrite, LegalHold, Retention, Store, VehiclePositions,
};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

/// `convoy ARGS` (storage flags included by the caller): its exit code and output.
fn convoy(args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_convoy")).args(args).output().unwrap();
    let text =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.code().unwrap(), text)
}

/// The public key `convoy key show` prints for the data directory.
fn shown_key(data: &Path, database: Option<&str>) -> PublicKey {
    let mut args = vec!["key", "show", "--data-dir", data.to_str().unwrap()];
    if let Some(database) = database {
        args.extend(["--database", database]);
    }
    let (code, output) = convoy(&args);
    assert_eq!(code, 0, "{output}");
    let key = PublicKey::parse(output.lines().next().unwrap()).unwrap();
    assert!(output.contains(&format!("key id {}", key.id())), "{output}");
    key
}

fn sqlite_exec(data: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(data.join("convoy.db")).unwrap();
    conn.execute_batch(sql).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_signs_its_audit_head_and_verify_catches_a_changed_signature_or_a_re_signed_chain() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    add_admin(&data, "admin-key", "a long enough admin password");
    let server = Served::spawn(&data, &dir.path().join("server.log"), &[]);
    server.ready().await;
    server.wait_for_log("audit log head").await;
    let key_file = data.join("server-signing.key");
    assert_eq!(std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777, 0o600);
    let real = shown_key(&data, None);
    let login = reqwest::Client::new()
        .post(server.url("/api/v1/login"))
        .json(&json!({ "username": "admin-key", "password": "a long enough admin password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let token = login.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string();
    let keys = reqwest::Client::new()
        .get(server.url("/api/v1/server/keys"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(keys["keys"].as_array().unwrap().len(), 1, "{keys}");
    assert_eq!(keys["keys"][0]["public_key"], real.to_string(), "{keys}");
    assert!(server.stop().success());

    // Signed at start and at stop: on the head file's lines and in the store.
    let text = std::fs::read_to_string(data.join("audit-head.log")).unwrap();
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split(' ').collect()).collect();
    assert_eq!(lines.len(), 2, "{text}");
    for line in &lines {
        assert_eq!(line.len(), 3, "TIME SEQ:HASH KEYID:SIG: {text}");
        assert!(line[2].starts_with(&format!("{}:", real.id())), "{text}");
    }
    let store = Store::open(&format!("sqlite://{}", data.join("convoy.db").display())).await.unwrap();
    let signatures = store.audit_signatures().await.unwrap();
    assert_eq!(signatures.len(), 2, "{signatures:?}");
    let last = signatures[1].clone();
    assert_eq!(format!("{}:{}", last.seq, last.hash), lines[1][1]);
    assert_eq!(last.file_field(), lines[1][2]);

    let database = format!("sqlite://{}", data.join("convoy.db").display());
    let verify = |extra: &[&str]| {
        let mut args = vec!["audit", "verify", "--database", database.as_str()];
        args.extend(extra);
        convoy(&args)
    };
    let (code, output) = verify(&[]);
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("signed record intact"), "{output}");
    assert!(output.contains("2 audit head signatures"), "{output}");
    let real_text = real.to_string();
    let (code, output) = verify(&["--server-key", &real_text]);
    assert_eq!(code, 0, "{output}");

    // The database's owner changes a signature: another one, then one that is not a signature.
    let other = AuditSignature::sign(
        &SecretKey::generate(),
        &AuditHead { seq: last.seq, hash: last.hash.clone() },
        Utc::now(),
    )
    .unwrap()
    .signature;
    sqlite_exec(
        &data,
        &format!(
            "DROP TRIGGER audit_signatures_no_update; DROP TRIGGER audit_signatures_no_delete;
             UPDATE audit_signatures SET signature = '{other}' WHERE seq = {}",
            last.seq
        ),
    );
    let (code, output) = verify(&[]);
    assert_eq!(code, 1, "{output}");
    assert!(
        output.contains(&format!("signed record BROKEN: audit signature of entry {}", last.seq))
            && output.contains("does not verify"),
        "{output}"
    );
    sqlite_exec(
        &data,
        &format!("UPDATE audit_signatures SET signature = 'c2hvcnQ=' WHERE seq = {}", last.seq),
    );
    let (code, output) = verify(&[]);
    assert_eq!(code, 1, "{output}");
    assert!(output.contains("its signature does not read"), "{output}");
    sqlite_exec(
        &data,
        &format!("UPDATE audit_signatures SET signature = '{}' WHERE seq = {}", last.signature, last.seq),
    );
    assert_eq!(verify(&[]).0, 0);

    // The owner rewrites the last entry, rebuilds the chain's hash from it, removes the
    // server's signatures of the old heads and signs the new head with a key of their own,
    // which they add to server_keys: the database alone now holds together...
    let mut entry = store
        .audit_entries(&AuditFilter { after_seq: Some(last.seq - 1), limit: 1, ..Default::default() })
        .await
        .unwrap()
        .remove(0);
    entry.from_addr = Some("203.0.113.9".into());
    entry.hash = entry.computed_hash();
    sqlite_exec(
        &data,
        &format!(
            "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;
             UPDATE audit_log SET from_addr = '203.0.113.9', hash = '{hash}' WHERE seq = {seq};
             UPDATE audit_head SET hash = '{hash}';
             DELETE FROM audit_signatures WHERE seq = {seq};",
            hash = entry.hash,
            seq = entry.seq
        ),
    );
    let forger = SecretKey::generate();
    store.add_server_key(&forger.public(), Utc::now() - Duration::days(1)).await.unwrap();
    store.sign_audit_head(&forger, Utc::now()).await.unwrap();
    let (code, output) = verify(&[]);
    assert_eq!(code, 0, "with the keys the database lists, the forgery holds: {output}");
    // ...but not against the server's key obtained separately.
    let (code, output) = verify(&["--server-key", &real_text]);
    assert_eq!(code, 1, "{output}");
    assert!(
        output.contains(&format!("audit signature of entry {}", entry.seq))
            && output.contains(&format!(
                "signed by key \"{}\", which is not one of the keys given",
                forger.public().id()
            )),
        "{output}"
    );
    // The head file's last line, signed by the real key, does not sign the rewritten entry.
    let head_file = data.join("audit-head.log");
    let (code, output) = verify(&["--head-file", head_file.to_str().unwrap()]);
    assert_eq!(code, 1, "{output}");
    assert!(
        output.contains(&format!("head file BROKEN: its last line's signature of entry {}", entry.seq)),
        "{output}"
    );
    // With every signature removed, nothing holds under the real key: that fails too.
    sqlite_exec(&data, "DELETE FROM audit_signatures");
    let (code, output) = verify(&["--server-key", &real_text]);
    assert_eq!(code, 1, "{output}");
    assert!(output.contains("no audit head signature holds under the keys given"), "{output}");
}

#[test]
fn the_server_refuses_to_start_with_a_key_others_may_read_or_that_does_not_read_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    add_admin(&data, "admin-key", "a long enough admin password");
    let key_file = data.join("server-signing.key");
    std::fs::write(&key_file, SecretKey::generate().to_file_text()).unwrap();
    let serve = || {
        let (http, mqtt) = (convoy_testkit::free_port(), convoy_testkit::free_port());
        convoy(&[
            "serve",
            "--data-dir",
            data.to_str().unwrap(),
            "--http-listen",
            &format!("127.0.0.1:{http}"),
            "--mqtt-listen",
            &format!("127.0.0.1:{mqtt}"),
        ])
    };
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, output) = serve();
    assert_ne!(code, 0, "{output}");
    assert!(output.contains(&key_file.display().to_string()) && output.contains("other users"), "{output}");
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(&key_file, "convoy-ed25519-secret:short\n").unwrap();
    let (code, output) = serve();
    assert_ne!(code, 0, "{output}");
    assert!(output.contains(&key_file.display().to_string()) && output.contains("does not read"), "{output}");
}

fn fix(seq: u64, t: DateTime<Utc>) -> Position {
    Position::bare(seq, t, 48.16, 11.56)
}

/// Runs the server's housekeeping with a 30-day retention and `key` until it has recorded a
/// purge after `after`.
async fn signed_retention_run(store: &Store, key: &SecretKey, after: DateTime<Utc>) {
    let stop = CancellationToken::new();
    let housekeeping = tokio::spawn(convoy_store::run_signed_housekeeping(
        store.clone(),
        convoy_store::Housekeeping {
            retention: Some(Retention { days: 30 }),
            every: StdDuration::from_secs(3600),
            head_file: None,
            signing_key: Some(key.clone()),
        },
        stop.clone(),
    ));
    eventually(StdDuration::from_secs(30), "a retention purge", || async {
        store.purges(1).await.unwrap().into_iter().find(|p| p.ran_at > after)
    })
    .await;
    stop.cancel();
    housekeeping.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purge_writes_a_signed_destruction_record_and_a_rotated_key_keeps_old_signatures_valid() {
    let server = TestServer::start(Backend::Postgres, BrokerKind::Embedded).await;
    let store = server.store.clone();
    let data = server.config.data_dir.clone();
    let database = server.config.database.clone();
    let now = Utc::now().trunc_subsecs(0);
    // Two vehicles' fixes 45, 40 and 35 days old and one of yesterday; a hold keeps truck-07's
    // of 40 days ago.
    let vehicles = ["truck-07", "van-3"];
    let positions = vehicles
        .iter()
        .map(|id| VehiclePositions {
            vehicle: VehicleId::new(*id).unwrap(),
            positions: [45, 40, 35, 1]
                .iter()
                .enumerate()
                .map(|(i, d)| fix(i as u64, now - Duration::days(*d)))
                .collect(),
            source: None,
            chain: None,
        })
        .collect();
    for id in vehicles {
        convoy_registry::register_vehicle(&store, &VehicleId::new(id).unwrap()).await.unwrap();
    }
    store.write_ingest(&IngestWrite { positions, ..Default::default() }).await.unwrap();
    let hold = LegalHold {
        vehicles: Some(vec![VehicleId::new("truck-07").unwrap()]),
        move_id: None,
        from: now - Duration::days(41),
        to: now - Duration::days(39),
        reason: "accident inquiry".into(),
        reference: "INQ-7".into(),
        created_by: ADMIN_USER.into(),
    };
    let hold_id = store.add_legal_hold(&hold, now).await.unwrap();
    let key = convoy::server_key::load(&server.config.signing_key_file).unwrap();
    let old_public = key.public();
    assert_eq!(shown_key(&data, Some(&database)), old_public);
    signed_retention_run(&store, &key, Utc::now()).await;

    // Listed by the API, with what was deleted per vehicle and what the hold kept.
    let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let (status, body) = server.get_json("/api/v1/retention/purges", &admin).await;
    assert_eq!(status, 200, "{body}");
    let newest = &body["purges"][0];
    let record = &newest["record"];
    assert_eq!(newest["key_id"], old_public.id().to_string(), "{newest}");
    assert_eq!(record["retention_days"], 30, "{record}");
    assert_eq!(record["positions_deleted"], 5, "{record}");
    assert_eq!(
        record["vehicles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| (v["vehicle"].clone(), v["positions"].clone()))
            .collect::<Vec<_>>(),
        vec![(json!("truck-07"), json!(2)), (json!("van-3"), json!(3))],
        "{record}"
    );
    assert_eq!(record["held_by"], json!([{ "hold": hold_id, "positions": 1 }]), "{record}");
    assert_eq!(record["positions_held"], 1, "{record}");
    let deleted_from: DateTime<Utc> = serde_json::from_value(record["deleted_from"].clone()).unwrap();
    assert_eq!(deleted_from, now - Duration::days(45), "{record}");
    // The signature is over the signed text's bytes.
    let signature = convoy_core::signing::Signature::parse(newest["signature"].as_str().unwrap()).unwrap();
    old_public
        .verify(
            convoy_core::signing::Purpose::Destruction,
            newest["signed_text"].as_str().unwrap().as_bytes(),
            &signature,
        )
        .unwrap();
    // The purge's audit entry names its record.
    let filter = AuditFilter { action: Some("retention.purge".into()), limit: 100, ..Default::default() };
    let entries = store.audit_entries(&filter).await.unwrap();
    let entry = entries.iter().max_by_key(|e| e.seq).unwrap();
    assert_eq!(entry.detail_json()["destruction_record"], newest["id"], "{}", entry.detail);

    let verify = |extra: &[&str]| {
        let mut args = vec!["audit", "verify", "--database", database.as_str()];
        args.extend(extra);
        convoy(&args)
    };
    let old_text = old_public.to_string();
    let (code, output) = verify(&["--server-key", &old_text]);
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("signed record intact"), "{output}");

    // A rotation: a new key file, the old kept beside it, the new public key in the store.
    let (code, output) =
        convoy(&["key", "rotate", "--data-dir", data.to_str().unwrap(), "--database", &database]);
    assert_eq!(code, 0, "{output}");
    let new_key = convoy::server_key::load(&server.config.signing_key_file).unwrap();
    assert_ne!(new_key.public(), old_public);
    let kept = data.join(format!("server-signing.key.{}", old_public.id()));
    assert_eq!(convoy::server_key::load(&kept).unwrap().public(), old_public);
    let (status, keys) = server.get_json("/api/v1/server/keys", &admin).await;
    assert_eq!(status, 200);
    let ids: Vec<&str> =
        keys["keys"].as_array().unwrap().iter().map(|k| k["key_id"].as_str().unwrap()).collect();
    assert_eq!(ids, [old_public.id().to_string(), new_key.public().id().to_string()], "{keys}");
    store.sign_audit_head(&new_key, Utc::now()).await.unwrap();
    let new_text = new_key.public().to_string();
    let (code, output) = verify(&[]);
    assert_eq!(code, 0, "old and new signatures verify under the stored keys: {output}");
    let (code, output) = verify(&["--server-key", &old_text, "--server-key", &new_text]);
    assert_eq!(code, 0, "{output}");
    let (code, output) = verify(&["--server-key", &new_text]);
    assert_eq!(code, 1, "the old key's signatures need the old key: {output}");

    // An edited destruction record is caught, by its id.
    let client = tokio_postgres::connect(&database, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(client.1);
    let id = newest["id"].as_i64().unwrap();
    client
        .0
        .batch_execute(&format!(
            "ALTER TABLE destruction_records DISABLE TRIGGER destruction_records_append_only;
             UPDATE destruction_records SET record = replace(record, '\"positions_deleted\":5', '\"positions_deleted\":4')
             WHERE id = {id};"
        ))
        .await
        .unwrap();
    let (code, output) = verify(&[]);
    assert_eq!(code, 1, "{output}");
    assert!(
        output.contains(&format!("signed record BROKEN: destruction record {id}"))
            && output.contains("does not verify"),
        "{output}"
    );
    server.stop().await;
}
