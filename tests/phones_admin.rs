//! Setting phones up through the admin API (`GET`/`POST /api/v1/phones`, `DELETE
//! /api/v1/phones/{kind}/{name}`), against a real server on PostgreSQL.
//!
//! What a phone's owner is handed must work as given: the OwnTracks import link decodes to the
//! configuration, whose secret logs the phone in; each QR code, read back by a decoder of its
//! own (rqrr, `common::qr`), is the link or the Traccar server URL. Bad input is refused with a
//! reason and registers nothing. Who may call the routes at all is the authorisation matrix's
//! (tests/authorization.rs); here, that a refused dispatcher changes nothing.

mod common;

use base64::Engine as _;
use common::qr::read_qr_svg;
use common::*;
use convoy_core::Role;
use serde_json::{json, Value};

const DISPATCHER_USER: &str = "dispatcher-phones";
const DISPATCHER_PASSWORD: &str = "a long enough dispatcher password";

/// Calls the phones' admin routes with a token.
struct Admin<'a> {
    server: &'a TestServer,
    token: String,
}

impl Admin<'_> {
    /// `POST /api/v1/phones` with `body` as JSON; the status and the answer.
    async fn register(&self, body: &Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, "/api/v1/phones", Some(("application/json", body.to_string()))).await
    }

    async fn list(&self) -> Value {
        let (status, list) = self.server.get_json("/api/v1/phones", &self.token).await;
        assert_eq!(status, 200, "{list}");
        list
    }

    async fn remove(&self, kind: &str, name: &str) -> u16 {
        self.send(reqwest::Method::DELETE, &format!("/api/v1/phones/{kind}/{name}"), None).await.0
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<(&str, String)>) -> (u16, Value) {
        let mut request =
            reqwest::Client::new().request(method, self.server.url(path)).bearer_auth(&self.token);
        if let Some((content_type, body)) = body {
            request = request.header("content-type", content_type).body(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

/// The configuration an OwnTracks import link holds: `inline=` percent-decoded, then standard
/// base64, as the apps read it.
fn configuration_in(link: &str) -> Value {
    let inline = link
        .strip_prefix("owntracks:///config?inline=")
        .unwrap_or_else(|| panic!("not an import link: {link}"));
    let base64 = inline.replace("%2B", "+").replace("%2F", "/").replace("%3D", "=");
    let json = base64::engine::general_purpose::STANDARD.decode(base64).unwrap();
    serde_json::from_slice(&json).unwrap()
}

/// POSTs a location as OwnTracks in HTTP mode does with `configuration` (its URL, HTTP Basic
/// login and X-Limit headers); the answer's status.
async fn report(configuration: &Value) -> u16 {
    let (user, device) =
        (configuration["username"].as_str().unwrap(), configuration["deviceId"].as_str().unwrap());
    let tst = chrono::Utc::now().timestamp() - 5;
    let location = json!({ "_type": "location", "lat": 48.1371, "lon": 11.5754, "tst": tst });
    reqwest::Client::new()
        .post(configuration["url"].as_str().unwrap())
        .basic_auth(user, configuration["password"].as_str())
        .header("X-Limit-U", user)
        .header("X-Limit-D", device)
        .json(&location)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_registers_lists_and_removes_phones_and_each_setup_works_as_handed_out() {
    let server = TestServer::start(Backend::Postgres, BrokerKind::Embedded).await;
    register_vehicle(&server, "escort-car").await;
    let admin = Admin { token: server.login(ADMIN_USER, ADMIN_PASSWORD).await, server: &server };
    let endpoint = server.url("/api/v1/phones/owntracks");

    // OwnTracks over HTTP, the vehicle's own phone.
    let (status, setup) = admin
        .register(&json!({
            "kind": "owntracks", "name": "car-phone", "device": "pixel", "vehicle": "escort-car",
            "endpoint": endpoint,
        }))
        .await;
    assert_eq!(status, 201, "{setup}");
    let phone = &setup["phone"];
    assert_eq!(
        (&phone["kind"], &phone["name"], &phone["device"], &phone["vehicle"], &phone["person"]),
        (&json!("owntracks"), &json!("car-phone"), &json!("pixel"), &json!("escort-car"), &Value::Null)
    );
    let secret = setup["secret"].as_str().unwrap();
    assert!(secret.len() >= 20, "{secret}");
    let link = setup["import_link"].as_str().unwrap();
    let car_phone = configuration_in(link);
    assert_eq!(car_phone, setup["configuration"], "the link holds the configuration shown");
    assert_eq!(car_phone["_type"], "configuration");
    assert_eq!(
        (car_phone["username"].as_str(), car_phone["password"].as_str()),
        (Some("car-phone"), Some(secret))
    );
    assert_eq!((car_phone["deviceId"].as_str(), car_phone["mode"].as_i64()), (Some("pixel"), Some(3)));
    assert_eq!(car_phone["url"].as_str(), Some(endpoint.as_str()));
    assert_eq!(read_qr_svg(setup["qr_svg"].as_str().unwrap()), link);
    assert!(setup.get("server_url").is_none(), "{setup}");
    // The phone, set up as told, reports and is stored for its vehicle.
    assert_eq!(report(&car_phone).await, 200);
    let (_, track) = server.get_json("/api/v1/vehicles/escort-car/track", &admin.token).await;
    assert_eq!(track["positions"].as_array().map(Vec::len), Some(1), "{track}");

    // OwnTracks over MQTT, a person's phone: the app is told the broker and its command topic.
    let (status, setup) = admin
        .register(&json!({
            "kind": "owntracks", "name": "ana-phone", "device": "iphone", "vehicle": "escort-car",
            "person": ESCORT_USER, "endpoint": "mqtts://convoy.example.com:8883",
        }))
        .await;
    assert_eq!(status, 201, "{setup}");
    assert_eq!(setup["phone"]["person"], ESCORT_USER);
    let link = setup["import_link"].as_str().unwrap();
    let configuration = configuration_in(link);
    assert_eq!(
        (&configuration["mode"], &configuration["host"], &configuration["port"], &configuration["tls"]),
        (&json!(0), &json!("convoy.example.com"), &json!(8883), &json!(true))
    );
    assert_eq!(configuration["password"], setup["secret"]);
    assert_eq!(configuration["subTopic"], "owntracks/ana-phone/iphone/cmd");
    assert_eq!(read_qr_svg(setup["qr_svg"].as_str().unwrap()), link);

    // Traccar Client: the server URL holds the secret; no OwnTracks configuration.
    let (status, setup) = admin
        .register(&json!({
            "kind": "traccar", "name": "862345678901234", "vehicle": "escort-car",
            "endpoint": "https://convoy.example.com:5055/",
        }))
        .await;
    assert_eq!(status, 201, "{setup}");
    let server_url = setup["server_url"].as_str().unwrap();
    assert_eq!(server_url, format!("https://convoy.example.com:5055/{}", setup["secret"].as_str().unwrap()));
    assert_eq!(read_qr_svg(setup["qr_svg"].as_str().unwrap()), server_url);
    assert!(setup.get("configuration").is_none() && setup.get("import_link").is_none(), "{setup}");
    let traccar_secret = setup["secret"].as_str().unwrap().to_string();

    // A name taken: 409, the first phone's secret unchanged.
    let (status, answer) = admin
        .register(&json!({
            "kind": "owntracks", "name": "car-phone", "device": "other", "vehicle": "escort-car",
            "endpoint": endpoint,
        }))
        .await;
    assert_eq!((status, answer["reason"].as_str()), (409, Some("already_exists")), "{answer}");
    assert_eq!(report(&car_phone).await, 200);

    // The list: by kind and name, with no secret nor any hash of one.
    let list = admin.list().await;
    assert_eq!(list["traccar_listener"], Value::Null, "no [phones] osmand_listen here: {list}");
    let names: Vec<(&str, &str)> = list["phones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["kind"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    assert_eq!(
        names,
        [("owntracks", "ana-phone"), ("owntracks", "car-phone"), ("traccar", "862345678901234")]
    );
    let text = list.to_string();
    assert!(!text.contains(secret) && !text.contains(&traccar_secret) && !text.contains("argon"), "{list}");
    assert!(list["phones"].as_array().unwrap().iter().all(|p| p.get("secret_hash").is_none()), "{list}");

    // Removed: the app keeps what it imported, but its login stops working; removed again, or
    // of a kind that does not exist, 404.
    assert_eq!(admin.remove("owntracks", "car-phone").await, 204);
    assert_eq!(report(&car_phone).await, 401);
    assert_eq!(admin.remove("owntracks", "car-phone").await, 404);
    assert_eq!(admin.remove("pager", "ana-phone").await, 404);
    assert_eq!(admin.list().await["phones"].as_array().unwrap().len(), 2);

    // Every call is in the audit log, by the admin, naming the phone.
    let (_, audit) = server.get_json(&format!("/api/v1/audit?actor={ADMIN_USER}"), &admin.token).await;
    let entries: Vec<(&str, &str)> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["target"].as_str().unwrap()))
        .collect();
    for entry in [
        ("phone.add", "owntracks:car-phone"),
        ("phone.add", "owntracks:ana-phone"),
        ("phone.add", "traccar:862345678901234"),
        ("phones.view", "phones"),
        ("phone.remove", "owntracks:car-phone"),
    ] {
        assert!(entries.contains(&entry), "{entry:?} in {entries:?}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_registrations_are_refused_with_a_reason_and_register_nothing() {
    let server = TestServer::start(Backend::Postgres, BrokerKind::Embedded).await;
    register_vehicle(&server, "escort-car").await;
    let admin = Admin { token: server.login(ADMIN_USER, ADMIN_PASSWORD).await, server: &server };
    let endpoint = server.url("/api/v1/phones/owntracks");
    let good = json!({
        "kind": "owntracks", "name": "anna-phone", "device": "pixel", "vehicle": "escort-car",
        "endpoint": endpoint,
    });
    let with = |field: &str, value: Value| {
        let mut body = good.clone();
        body[field] = value;
        body
    };
    let without = |field: &str| {
        let mut body = good.clone();
        body.as_object_mut().unwrap().remove(field);
        body
    };
    let traccar = json!({ "kind": "traccar", "name": "8623", "vehicle": "escort-car", "endpoint": "https://x.example:5055" });
    let mut traccar_with_device = traccar.clone();
    traccar_with_device["device"] = json!("pixel");

    // (what, body, status, reason, a part of the message)
    let cases: Vec<(&str, Value, u16, Option<&str>, &str)> = vec![
        ("an unknown kind", with("kind", json!("pager")), 400, None, "unknown variant"),
        ("a name with a space", with("name", json!("anna phone")), 400, Some("bad_name"), "anna phone"),
        ("a name holding HTML", with("name", json!("<b>x</b>")), 400, Some("bad_name"), "<b>x</b>"),
        ("a name too long", with("name", json!("n".repeat(65))), 400, Some("bad_name"), "nnnn"),
        (
            "a vehicle's id as the name",
            with("name", json!("escort-car")),
            400,
            Some("bad_name"),
            "escort-car",
        ),
        ("no device for OwnTracks", without("device"), 400, Some("bad_name"), "device id"),
        ("a device for Traccar", traccar_with_device, 400, Some("bad_name"), "no device id"),
        (
            "an endpoint of another scheme",
            with("endpoint", json!("ftp://x.example/")),
            400,
            Some("bad_endpoint"),
            "ftp://",
        ),
        (
            "an MQTT endpoint without a port",
            with("endpoint", json!("mqtts://x.example")),
            400,
            Some("bad_endpoint"),
            "HOST:PORT",
        ),
        (
            "an endpoint with a space",
            with("endpoint", json!("https://x.example/a b")),
            400,
            Some("bad_endpoint"),
            "cannot carry",
        ),
        (
            "an endpoint too long",
            with("endpoint", json!(format!("https://x.example/{}", "a".repeat(512)))),
            400,
            Some("bad_endpoint"),
            "512 bytes",
        ),
        ("no endpoint", without("endpoint"), 400, None, "endpoint"),
        ("an unknown field", with("secret", json!("my own")), 400, None, "unknown field"),
        (
            "an unknown vehicle",
            with("vehicle", json!("no-such-car")),
            422,
            Some("unknown_vehicle"),
            "no-such-car",
        ),
        (
            "an unknown person",
            with("person", json!("nobody-here")),
            422,
            Some("unknown_person"),
            "nobody-here",
        ),
    ];
    for (what, body, status, reason, says) in cases {
        let (got, answer) = admin.register(&body).await;
        assert_eq!((got, answer["reason"].as_str()), (status, reason), "{what}: {answer}");
        let message = answer["error"].as_str().unwrap_or_else(|| panic!("{what}: no message in {answer}"));
        assert!(message.contains(says), "{what}: {message:?} should say {says:?}");
    }

    // Not JSON, or not said to be: 400 and 415.
    let (got, answer) = admin
        .send(reqwest::Method::POST, "/api/v1/phones", Some(("application/json", "{\"kind\":".into())))
        .await;
    assert_eq!(got, 400, "{answer}");
    let (got, answer) =
        admin.send(reqwest::Method::POST, "/api/v1/phones", Some(("text/plain", good.to_string()))).await;
    assert_eq!(got, 415, "{answer}");

    // A body over 16 KiB is not read: 413.
    let (got, answer) = admin.register(&with("device", json!("d".repeat(17 * 1024)))).await;
    assert_eq!((got, answer["reason"].as_str()), (413, Some("too_large")), "{answer}");

    // A dispatcher may not register one.
    convoy_registry::add_user(&server.store, DISPATCHER_USER, Role::Dispatcher, DISPATCHER_PASSWORD)
        .await
        .unwrap();
    let dispatcher =
        Admin { token: server.login(DISPATCHER_USER, DISPATCHER_PASSWORD).await, server: &server };
    let (got, answer) = dispatcher.register(&good).await;
    assert_eq!(got, 403, "{answer}");

    // None of it registered anything; the good request still does.
    assert_eq!(admin.list().await["phones"], json!([]));
    assert_eq!(admin.register(&good).await.0, 201);
    assert_eq!(admin.register(&traccar).await.0, 201);
    assert_eq!(admin.list().await["phones"].as_array().unwrap().len(), 2);
    server.stop().await;
}
