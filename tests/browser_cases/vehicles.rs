//! Vehicles administration on the page.

use crate::*;

/// Vehicle administration in Chromium: an admin registers a vehicle on the Vehicles view (its
/// password and agent configuration shown once, the configuration downloaded as a file), gives
/// it a new password and disables it, each after a confirmation, and reads the status history
/// of a vehicle whose real agent (on a pseudo-terminal) connected and stopped: its offline
/// report first, then its online one. The store and the audit log agree.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_admin_registers_rotates_and_disables_a_vehicle_on_the_page_in_chromium() {
    const VEHICLE: &str = "truck-page";
    let shots = screenshots_dir("vehicles");
    let work = tempfile::tempdir().unwrap();
    const AGENT_VEHICLE: &str = "truck-agent";
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    run_an_agent(&server, AGENT_VEHICLE).await;
    let public_key = convoy_core::signing::SecretKey::generate().public();
    let config = json!({
        "base": server.url("/"),
        "admin": { "user": ADMIN_USER, "password": ADMIN_PASSWORD },
        "vehicle": VEHICLE,
        "agent_vehicle": AGENT_VEHICLE,
        "public_key": public_key.to_string(),
        "key_id": public_key.id().to_string(),
    });
    let mut browser = BrowserScript::start("vehicles.mjs", config, work.path(), &shots);
    let report = tokio::time::timeout(Duration::from_secs(300), async {
        if let Some(what) = browser.next_need().await {
            panic!("vehicles.mjs needs something unknown: {what}");
        }
        browser.report().await
    })
    .await
    .expect("the browser session finishes within 5 minutes");
    let steps = &report["steps"];

    let open = &steps["open"];
    assert!(open["nav"].as_array().unwrap().iter().any(|n| n == "Vehicles"), "{open}");
    assert_eq!(open["hash"], "#/vehicles");
    let registered = &steps["register"];
    let first = registered["password"].as_str().unwrap();
    assert_eq!(first.len(), 24, "{registered}");
    assert_eq!(
        (registered["state"].as_str(), registered["last_seen"].as_str()),
        (Some("Enabled"), Some("never")),
        "{registered}"
    );
    assert_eq!(registered["file_name"], format!("convoy-agent-{VEHICLE}.toml"));
    let file = registered["file_text"].as_str().unwrap();
    assert_eq!(registered["config_shown"].as_str(), Some(file), "the file is the configuration shown");
    assert!(file.contains(&format!("vehicle = \"{VEHICLE}\"")) && !file.contains(first), "{file}");

    let rotated = &steps["rotate"];
    assert!(rotated["question"].as_str().unwrap().contains(VEHICLE), "asked first: {rotated}");
    let second = rotated["password"].as_str().unwrap();
    assert!(second.len() == 24 && second != first, "{rotated}");
    assert!(rotated["once"].as_str().unwrap().contains("Shown once"), "{rotated}");
    let disabled = &steps["disable"];
    assert!(disabled["question"].as_str().unwrap().starts_with(&format!("Disable {VEHICLE}?")), "{disabled}");
    assert_eq!(
        (&disabled["enable_buttons"], &disabled["passwords_shown"]),
        (&json!(1), &json!(0)),
        "{disabled}"
    );

    // The Keys part: unsigned before, the pasted key listed with its valid_from, signed after.
    let keys = &steps["keys"];
    assert_eq!(
        (keys["before"].as_str(), keys["after"].as_str()),
        (Some("unsigned"), Some(format!("signed ({})", public_key.id())).as_deref()),
        "{keys}"
    );
    assert!(keys["empty"].as_str().unwrap().contains("unsigned"), "{keys}");
    assert_eq!(keys["key_ids"], json!([public_key.id().to_string()]), "{keys}");
    assert!(!keys["valid_from"][0].as_str().unwrap().is_empty(), "{keys}");
    let stored = server.store.vehicle_keys(&convoy_core::VehicleId::new(VEHICLE).unwrap()).await.unwrap();
    assert_eq!(stored.iter().map(|k| k.key).collect::<Vec<_>>(), vec![public_key], "the store agrees");

    let status = &steps["status"];
    assert_eq!(status["heading"], format!("Agent status of {AGENT_VEHICLE}, last 24 hours"), "{status}");
    assert!(status["last_heard"].as_str().unwrap().starts_with("Last heard "), "{status}");
    let states = status["states"].as_array().unwrap();
    assert_eq!(
        (states.first(), states.last()),
        (Some(&json!("Offline")), Some(&json!("Online"))),
        "{status}"
    );
    assert!(status["receivers"].as_array().unwrap().iter().all(|r| [
        "Fix",
        "No fix",
        "No data from the receiver"
    ]
    .contains(&r.as_str().unwrap())));
    assert!(
        status["versions"].as_array().unwrap().iter().all(|v| v == env!("CARGO_PKG_VERSION")),
        "{status}"
    );
    assert!(status["spools"].as_array().unwrap().iter().all(|s| s != "—"), "{status}");

    // What the page did is what the store holds: the second password is the vehicle's, and it
    // is disabled.
    let store = &server.store;
    let id = convoy_core::VehicleId::new(VEHICLE).unwrap();
    let login = store.vehicle_login(&id).await.unwrap().unwrap();
    let stored = convoy_registry::vehicle_key::StoredVehicleHash::parse(&login.password_hash);
    assert!(stored.verify_fast(second) && !stored.verify_fast(first));
    assert!(login.disabled);
    let entries =
        store.audit_entries(&convoy_store::AuditFilter { limit: 1000, ..Default::default() }).await.unwrap();
    let actions: Vec<(&str, &str)> = entries
        .iter()
        .filter(|e| e.target == VEHICLE)
        .map(|e| (e.action.as_str(), e.actor.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(
        actions,
        [
            ("vehicle.add", ADMIN_USER),
            ("vehicle.rotate_password", ADMIN_USER),
            ("vehicle.disable", ADMIN_USER),
            // The Keys part: its list read, the key added, the list read again.
            ("vehicle.keys_view", ADMIN_USER),
            ("vehicle.key_add", ADMIN_USER),
            ("vehicle.keys_view", ADMIN_USER),
        ]
    );
    server.stop().await;
}

/// Registers `vehicle`, runs its real agent on a pseudo-terminal until its online report is
/// stored, and stops it, so its offline report follows.
async fn run_an_agent(server: &TestServer, vehicle: &str) {
    let (id, password) = register_vehicle(server, vehicle).await;
    let agent = TestAgent::start(&id, &password, server.mqtt);
    agent.feed(nmea(&receiver_epochs(Utc::now(), 3))).join().unwrap();
    let reports = |state: &'static str| {
        let id = id.clone();
        async move {
            let now = Utc::now();
            let stored = server.store.newest_statuses(&id, now - TimeSpan::hours(1), now, 10).await.unwrap();
            stored
                .first()
                .is_some_and(|s| s.status_json.contains(&format!("\"state\":\"{state}\"")))
                .then_some(())
        }
    };
    eventually(Duration::from_secs(20), "the agent's online report", || reports("online")).await;
    agent.stop().await;
    eventually(Duration::from_secs(20), "the agent's offline report", || reports("offline")).await;
}
