//! The demo's phone: `escort-2`, the car escorting `truck-02`, has no agent box. Its driver's
//! phone reports it through OwnTracks in HTTP mode, as a real one would: a location every few
//! seconds with the phone's accuracy, posted to Convoy's own endpoint with the phone's login.

use std::net::SocketAddr;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::simulator::{Route, Script};

/// How often the phone reports (OwnTracks' move mode reports every few seconds).
const EVERY: Duration = Duration::from_secs(5);
/// The accuracy it reports, in metres: a phone in a car, not a survey receiver.
const ACCURACY_M: u32 = 12;

/// The phone's login and where it reports.
pub struct DemoPhone {
    pub http: SocketAddr,
    pub user: String,
    pub device: String,
    pub secret: String,
}

/// Posts the phone's location every [`EVERY`] until `stop`; a refused or failed post is logged
/// and the next one goes on (the app queues and retries; the demo's next report supersedes).
pub async fn report(phone: DemoPhone, route: Route, script: Script, stop: CancellationToken) {
    let client = reqwest::Client::new();
    let url = format!("http://{}/api/v1/phones/owntracks", phone.http);
    let started = tokio::time::Instant::now();
    let mut tick = tokio::time::interval(EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = stop.cancelled() => return,
        }
        let second = started.elapsed().as_secs();
        let here = script.position(&route, second);
        let location = serde_json::json!({
            "_type": "location",
            "lat": here.y(),
            "lon": here.x(),
            "tst": chrono::Utc::now().timestamp(),
            "acc": ACCURACY_M,
            "batt": 80,
            "tid": "e2",
            "t": "t",
        });
        let sent = client
            .post(&url)
            .basic_auth(&phone.user, Some(&phone.secret))
            .header("X-Limit-U", &phone.user)
            .header("X-Limit-D", &phone.device)
            .json(&location)
            .send()
            .await;
        match sent {
            Ok(answer) if answer.status().is_success() => {}
            Ok(answer) => tracing::warn!(status = %answer.status(), "the demo phone's report was refused"),
            Err(e) => tracing::debug!(error = %e, "the demo phone could not report"),
        }
    }
}
