//! An admin setting a phone up on the Phones view, and the phone reporting with what it was given.

use crate::*;

/// An admin sets a phone up on the page (#/phones): a name holding HTML is refused and shown as
/// text; an OwnTracks phone registered for the HTTP endpoint the page offers shows the QR code
/// the API drew (which reads back as the import link) and its secret, and downloads as
/// NAME.otrc. A location POSTed as the app would, with what that file says, is stored; once the
/// page removed the phone, the same report is refused. A dispatcher is offered no Phones view.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_admin_sets_a_phone_up_on_the_page_and_the_phone_reports_with_its_otrc_in_chromium() {
    let shots = screenshots_dir("phones");
    let work = tempfile::tempdir().unwrap();
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    convoy_registry::add_user(&server.store, DISPATCHER_USER, Role::Dispatcher, DISPATCHER_PASSWORD)
        .await
        .unwrap();
    let token = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    register_vehicle(&server, "escort-car").await;
    let config = json!({
        "base": server.url("/"),
        "admin": { "user": ADMIN_USER, "password": ADMIN_PASSWORD },
        "dispatcher": { "user": DISPATCHER_USER, "password": DISPATCHER_PASSWORD },
        "phone": { "name": "anna-phone", "device": "pixel", "vehicle": "escort-car", "html_name": PHONE_NAME },
    });
    let mut browser = BrowserScript::start("phones.mjs", config, work.path(), &shots);
    let otrc_path = work.path().join("anna-phone.otrc");
    let taken = Utc::now().trunc_subsecs(0) - TimeSpan::seconds(30);
    let mut answers = Vec::new();
    // The API's list while the phone is registered (the page removes it before the end).
    let mut listed = Value::Null;
    let report = tokio::time::timeout(Duration::from_secs(300), async {
        while let Some(what) = browser.next_need().await {
            match what.as_str() {
                "report" => {
                    listed = server.get_json("/api/v1/phones", &token).await.1;
                    answers.push(report_as_owntracks(&otrc_path, taken).await);
                }
                "report again" => answers.push(report_as_owntracks(&otrc_path, taken).await),
                _ => panic!("phones.mjs needs something unknown: {what}"),
            }
            browser.done(&what).await;
        }
        browser.report().await
    })
    .await
    .expect("the browser session finishes within 5 minutes");
    let steps = &report["steps"];

    // The admin is offered the view; it opens with the HTTP endpoint of this very server.
    let nav = steps["open"]["nav"].as_array().unwrap();
    assert!(nav.iter().any(|item| item == "Phones"), "{nav:?}");
    assert_eq!(steps["open"]["endpoint"], server.url("/api/v1/phones/owntracks"));
    assert_eq!(steps["open"]["traccar"]["endpoint"], "", "no Traccar listener here: {}", steps["open"]);
    assert!(steps["open"]["traccar"]["hint"].as_str().unwrap().contains("is off"), "{}", steps["open"]);
    assert_eq!(steps["open"]["rows"], 0);

    // HTML in the name: refused by the API, the refusal shown as text, nothing registered.
    let refused = &steps["html_name_refused"];
    assert_eq!(refused["status"], 400);
    // The API quotes the name as Rust does (`\"` for its quotes); the markup is there as text.
    assert!(refused["message"].as_str().unwrap().contains("<img src=x onerror="), "{refused}");
    assert_eq!(refused["elements_in_message"], 0);
    assert_eq!(refused["injected_script_ran"], false);
    assert_eq!((refused["rows"].as_u64(), refused["setup_shown"].as_bool()), (Some(0), Some(false)));

    // Registered: the image the page shows reads back (rqrr) as the import link; the secret is
    // shown once.
    let registered = &steps["register"];
    let answer = &registered["answer"];
    assert_eq!(registered["status"], 201, "{answer}");
    let link = answer["import_link"].as_str().unwrap();
    let shown = registered["qr_src"].as_str().unwrap().strip_prefix("data:image/svg+xml;base64,").unwrap();
    let shown = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(shown).unwrap()).unwrap();
    assert_eq!(shown, answer["qr_svg"].as_str().unwrap());
    assert_eq!(common::qr::read_qr_svg(&shown), link);
    assert!(registered["qr_width"].as_u64().unwrap() > 100, "the browser drew it: {registered}");
    assert_eq!(registered["import_link"], link);
    assert_eq!(registered["secret"], answer["secret"]);
    assert!(registered["once"].as_str().unwrap().starts_with("Shown once"), "{registered}");
    assert_eq!(
        registered["row"],
        json!(["OwnTracks", "anna-phone", "pixel", "escort-car", "—", registered["row"][5], "Remove"])
    );
    // The list never shows a secret or its hash.
    assert_eq!(listed["phones"].as_array().unwrap().len(), 1, "{listed}");
    assert!(!listed.to_string().contains(answer["secret"].as_str().unwrap()), "{listed}");
    assert!(!listed.to_string().contains("hash"), "{listed}");

    // The downloaded .otrc is the API's configuration, and the import link holds exactly it.
    assert_eq!(steps["download_otrc"]["file_name"], "anna-phone.otrc");
    let otrc: Value = serde_json::from_str(&std::fs::read_to_string(&otrc_path).unwrap()).unwrap();
    assert_eq!(otrc, answer["configuration"]);
    assert_eq!(convoy_gateway::phones::owntracks_import_link(&otrc), link);
    assert_eq!(
        (otrc["mode"].as_i64(), otrc["url"].as_str()),
        (Some(3), Some(server.url("/api/v1/phones/owntracks").as_str()))
    );
    assert_eq!(otrc["password"], answer["secret"]);

    // The phone reported with what the file says: stored as the vehicle's fix.
    assert_eq!(answers[0], 200);
    let (_, track) = server.get_json("/api/v1/vehicles/escort-car/track", &token).await;
    let positions = track["positions"].as_array().unwrap();
    assert_eq!(positions.len(), 1, "{track}");
    assert_eq!((positions[0]["lat"].as_f64(), positions[0]["lon"].as_f64()), (Some(48.1371), Some(11.5754)));
    assert_eq!(time(&positions[0]["t"]), taken);

    // Removed on the page (after a confirmation): the same report is refused.
    assert!(steps["remove"]["question"]
        .as_str()
        .unwrap()
        .starts_with("Remove the OwnTracks phone anna-phone?"));
    assert_eq!(steps["remove"]["rows"], 0);
    assert_eq!(answers[1], 401);
    let (_, audit) = server.get_json(&format!("/api/v1/audit?actor={ADMIN_USER}"), &token).await;
    let actions: Vec<&str> =
        audit["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for action in ["phones.view", "phone.add", "phone.remove"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }

    // A dispatcher has no Phones view, not even by its address (the API refuses them too:
    // tests/authorization.rs).
    let dispatcher = &steps["dispatcher"];
    assert!(!dispatcher["nav"].as_array().unwrap().iter().any(|n| n == "Phones"), "{dispatcher}");
    assert_eq!(
        (dispatcher["landed"].as_str(), dispatcher["phone_forms"].as_u64()),
        (Some("#/live"), Some(0))
    );
    server.stop().await;
}

/// A name the page sends to the API as it was typed: HTML, which no phone name may hold.
const PHONE_NAME: &str = "<img src=x onerror=\"window.__convoy_xss=true\">";

/// POSTs a location as OwnTracks in HTTP mode does, with the URL, user, password and device
/// of the configuration file at `otrc` (HTTP Basic, X-Limit-U/D); returns the answer's status.
async fn report_as_owntracks(otrc: &Path, taken: DateTime<Utc>) -> u16 {
    let config: Value = serde_json::from_str(&std::fs::read_to_string(otrc).unwrap()).unwrap();
    let (user, device) = (config["username"].as_str().unwrap(), config["deviceId"].as_str().unwrap());
    let location = json!({
        "_type": "location", "lat": 48.1371, "lon": 11.5754, "acc": 15, "tid": config["tid"],
        "tst": taken.timestamp(), "topic": format!("owntracks/{user}/{device}"),
    });
    let response = reqwest::Client::new()
        .post(config["url"].as_str().unwrap())
        .basic_auth(user, config["password"].as_str())
        .header("X-Limit-U", user)
        .header("X-Limit-D", device)
        .json(&location)
        .send()
        .await
        .unwrap();
    response.status().as_u16()
}
