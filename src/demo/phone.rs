//! The demo's phone: `escort-2`, the car escorting `truck-02`, has no agent box. Its driver's
//! phone reports it through OwnTracks in HTTP mode, as a real one would: a location every few
//! seconds with the phone's accuracy, speed and course, posted to Convoy's own endpoint with the
//! phone's login.

use std::net::SocketAddr;
use std::time::Duration;

use geo::{Bearing, Geodesic};
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

/// The phone's speed in km/h and course in degrees at `second`, as the app reports them (from
/// the platform's own speed, not from positions seconds apart, which cut across bends).
fn motion(route: &Route, script: &Script, second: u64) -> (u32, u32) {
    if second == 0 {
        return (0, 0);
    }
    let speed_kmh = (script.speed_mps(route, second) * 3.6).round() as u32;
    let (from, to) = (script.track(route, second - 1), script.track(route, second));
    let course_deg = Geodesic.bearing(from, to).rem_euclid(360.0).round() as u32 % 360;
    (speed_kmh, course_deg)
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
        let mut location = serde_json::json!({
            "_type": "location",
            "lat": here.y(),
            "lon": here.x(),
            "tst": chrono::Utc::now().timestamp(),
            "acc": ACCURACY_M,
            "batt": 80,
            "tid": "e2",
            "t": "t",
        });
        // The app's speed (km/h) and course (degrees) are whole numbers, left out when zero.
        let (speed_kmh, course_deg) = motion(&route, &script, second);
        if speed_kmh > 0 {
            location["vel"] = speed_kmh.into();
            location["cog"] = course_deg.into();
        }
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

#[cfg(test)]
mod tests {
    use super::super::{phone_escort_script, DemoRoad};
    use super::*;

    /// What the phone reports is the car's own motion: the speed the receivers would measure,
    /// in whole km/h, within a loaded truck's 80 km/h, and a course that follows the road.
    #[test]
    fn the_phone_reports_its_speed_and_course_as_the_app_does() {
        let road = DemoRoad::andorra().unwrap();
        let script = phone_escort_script(&road);
        assert_eq!(motion(&road.route, &script, 0), (0, 0));
        let mut moving = 0;
        for second in (1..1800).step_by(5) {
            let (speed_kmh, course_deg) = motion(&road.route, &script, second);
            let measured = script.speed_mps(&road.route, second) * 3.6;
            assert!((f64::from(speed_kmh) - measured).abs() <= 0.5, "{second}: {speed_kmh} vs {measured}");
            assert!(speed_kmh <= 81 && course_deg < 360, "{second}: {speed_kmh} km/h, {course_deg}°");
            if speed_kmh > 30 {
                moving += 1;
            }
        }
        assert!(moving > 50, "the phone reports driving speeds for much of the cycle: {moving}");
    }
}
