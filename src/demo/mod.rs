//! `convoy demo`: the whole product in one process with nothing installed. An embedded broker,
//! SQLite under the data directory, the server, and three simulated vehicles whose agents read
//! NMEA from pseudo-terminals exactly as from a serial port, on a planned move along a real
//! drive through Munich (out and back).
//!
//! The vehicles follow a script that repeats every 30 minutes, so every rule shows within the
//! first ten: `truck-01` leaves its origin (`zone_exit`), takes a 400 m detour at once
//! (`off_route` about a minute in, through a forbidden zone: `zone_enter`), and later loses its
//! GNSS fix for two minutes (`gnss_lost`); `truck-02` halts six minutes outside every allowed
//! place (`unplanned_stop`); `escort-1`, escorting `truck-01`, goes silent for four minutes
//! (`signal_lost`, and `convoy_broken` as its truck drives on without it). `escort-2`, with
//! `truck-02`, has no agent: its driver's phone reports it through OwnTracks (`phone.rs`).

mod phone;
pub mod simulator;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use convoy_agent::config::BrokerAddress;
use convoy_agent::AgentConfig;
use convoy_core::{Role, VehicleId};
use convoy_store::Store;
use tokio_util::sync::CancellationToken;

use crate::config::{BrokerChoice, ServerConfig};
use crate::pty::PtyPair;
use simulator::{Route, Script, Span};

/// The demo's vehicles and their scripts (seconds from the start; see [`Script`]).
fn vehicles() -> [(&'static str, Script); 3] {
    [
        (
            "truck-01",
            Script {
                offset_s: 0,
                detour: Some(DETOUR),
                no_fix: Some(Span::new(600, 120)),
                ..Default::default()
            },
        ),
        ("escort-1", Script { offset_s: 25, silent: Some(Span::new(240, 240)), ..Default::default() }),
        ("truck-02", Script { offset_s: 300, halt: Some(Span::new(60, 360)), ..Default::default() }),
    ]
}

/// The escort car that reports through a phone, and the truck it escorts (just behind it).
const PHONE_ESCORT: &str = "escort-2";
const PHONE_USER: &str = "escort2-phone";
const PHONE_DEVICE: &str = "phone";
fn phone_escort_script() -> Script {
    Script { offset_s: 292, halt: Some(Span::new(60, 360)), ..Default::default() }
}

/// `truck-01`'s detour.
const DETOUR: Span = Span::new(20, 120);
/// The demo's people: one of each role but the dispatcher's (the admin can do that too).
const DEMO_USER: &str = "admin";
const DEMO_ESCORT: &str = "escort";
const DEMO_AUDITOR: &str = "auditor";
const DEMO_MOVE: &str = "Demo: data centre move, Munich";
/// How far behind the road the demo's auditor reads (production: an hour by default).
const DEMO_AUDITOR_DELAY_MINUTES: u32 = 2;

#[derive(Clone, Debug)]
pub struct DemoOptions {
    pub data_dir: PathBuf,
    pub http_listen: SocketAddr,
}

/// Runs the demo until Ctrl-C (or SIGTERM).
pub async fn run(options: DemoOptions) -> anyhow::Result<()> {
    let demo = start(&options, CancellationToken::new()).await?;
    let logins: String =
        demo.logins.iter().map(|(user, password)| format!("\n  {user:<8} {password}")).collect();
    say(&format!(
        "Convoy demo is running.\n  map:  http://{}/\n  API:  http://{}/api/v1/openapi.json\n  data: {}\nLog in as (user, password):{logins}\nPress Ctrl-C to stop.",
        demo.http_addr,
        demo.http_addr,
        options.data_dir.display(),
    ));
    crate::server::stop_requested().await?;
    say("Stopping...");
    demo.stop().await
}

/// Prints a line for the person at the terminal; a closed standard output (the demo piped into
/// `head`) is no reason to stop.
fn say(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}").and_then(|()| out.flush());
}

/// A running demo.
pub struct Demo {
    pub http_addr: SocketAddr,
    /// The demo's people and their passwords: admin, escort (assigned to the move), auditor.
    pub logins: Vec<(&'static str, String)>,
    server: crate::server::RunningServer,
    /// Stops the server; cancelled only once the vehicles are stopped.
    server_shutdown: CancellationToken,
    agents: Vec<tokio::task::JoinHandle<anyhow::Result<()>>>,
    /// Stops the simulated receivers and the agents.
    vehicles_shutdown: CancellationToken,
}

impl Demo {
    /// Stops the vehicles first (each agent sends what it has spooled, reports itself offline
    /// and says goodbye to the broker, which is still there), then the server.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.vehicles_shutdown.cancel();
        let mut stopped = Ok(());
        for agent in self.agents {
            let result = agent.await.map_err(anyhow::Error::from).and_then(|r| r);
            if let Err(e) = result {
                stopped = stopped.and(Err(e));
            }
        }
        self.server_shutdown.cancel();
        let server = self.server.wait().await;
        stopped.and(server)
    }
}

/// Starts the server, the simulated receivers and their agents. They run until
/// [`Demo::stop`], or until `shutdown` is cancelled; either way the vehicles stop before the
/// server (so no agent loses its broker on the way out), which stops in [`Demo::stop`].
/// The demo's base map: OpenStreetMap's roads of Andorra (ODbL; `data/osm/SOURCE.txt`).
const DEMO_BASE_MAP: &[u8] = include_bytes!("../../data/osm/andorra.osm.pbf");

pub async fn start(options: &DemoOptions, shutdown: CancellationToken) -> anyhow::Result<Demo> {
    let data_dir = &options.data_dir;
    convoy_agent::private_files::create_private_dir(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    // The embedded broker cannot take port 0: pick a free loopback port for it.
    let mqtt_listen: SocketAddr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0")?;
        probe.local_addr()?
    };
    let mut config = ServerConfig::new(
        data_dir.clone(),
        format!("sqlite://{}", data_dir.join("convoy.db").display()),
        BrokerChoice::Embedded { listen: mqtt_listen },
        options.http_listen,
    );
    // The auditor reads the record behind the road, as in production, but two minutes behind
    // rather than an hour, so that a newcomer sees the replay fill within the demo's first minutes.
    config.access.auditor_delay_minutes = DEMO_AUDITOR_DELAY_MINUTES;
    // Real streets under the fleet, drawn by Convoy from an extract built into the binary.
    config.base_map = Some(crate::base_map::BaseMapSource::EmbeddedPbf(DEMO_BASE_MAP));
    // Not a child of `shutdown`: the server outlives the vehicles (see `Demo::stop`).
    let server_shutdown = CancellationToken::new();
    let server = crate::server::start(&config, server_shutdown.clone()).await?;
    let mut logins = Vec::new();
    for (user, role) in [(DEMO_USER, Role::Admin), (DEMO_ESCORT, Role::Escort), (DEMO_AUDITOR, Role::Auditor)]
    {
        logins.push((user, demo_login(&server.store, data_dir, user, role).await?));
    }

    let route = Route::munich()?;
    let vehicles_shutdown = shutdown.child_token();
    let mut agents = Vec::new();
    let mut passwords = Vec::new();
    for (id, _) in vehicles() {
        passwords.push(demo_vehicle(&server.store, data_dir, &VehicleId::new(id)?).await?);
    }
    let phone_secret = demo_phone(&server.store, data_dir).await?;
    demo_move(&server.store, &route).await?;
    for ((id, script), vehicle_password) in vehicles().into_iter().zip(passwords) {
        let vehicle = VehicleId::new(id)?;
        let pty = PtyPair::open()?;
        let serial = pty.slave_path.clone();
        let (route, stop) = (route.clone(), vehicles_shutdown.clone());
        let silent = script.silent;
        // The thread owns the pair, so the terminal lives as long as its receiver.
        std::thread::Builder::new()
            .name(format!("receiver-{id}"))
            .spawn(move || simulator::drive(route, script, &pty.master, stop))?;
        let agent = AgentConfig {
            serial,
            baud: 9600,
            broker: BrokerAddress::plain("127.0.0.1", mqtt_listen.port()),
            username: Some(id.to_string()),
            password: Some(vehicle_password),
            state_dir: data_dir.join("agents").join(id),
            max_batch_fixes: 200,
            spool: Default::default(),
            heartbeat: None,
            metrics_file: None,
            privacy: convoy_agent::privacy::Privacy::Always,
            vehicle,
        };
        agents.push(tokio::spawn(run_agent(agent, silent, vehicles_shutdown.child_token())));
    }
    let phone = phone::DemoPhone {
        http: server.http_addr,
        user: PHONE_USER.into(),
        device: PHONE_DEVICE.into(),
        secret: phone_secret,
    };
    let phone_task =
        phone::report(phone, route.clone(), phone_escort_script(), vehicles_shutdown.child_token());
    agents.push(tokio::spawn(async move {
        phone_task.await;
        Ok(())
    }));
    Ok(Demo { http_addr: server.http_addr, logins, server, server_shutdown, agents, vehicles_shutdown })
}

/// Runs a vehicle's agent; during its script's silent span the agent is stopped (the vehicle
/// is out of reach: nothing from it, not even its health reports), then started again.
async fn run_agent(
    config: AgentConfig,
    silent: Option<Span>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let Some(silent) = silent else {
        return convoy_agent::run(config, shutdown).await;
    };
    let started = tokio::time::Instant::now();
    let at = |second: u64| started + std::time::Duration::from_secs(second);
    for cycle in 0.. {
        let cycle_start = cycle * simulator::CYCLE_S;
        // A child: the agent also stops on its own, for the silent span.
        let agent_shutdown = shutdown.child_token();
        let mut agent = tokio::spawn(convoy_agent::run(config.clone(), agent_shutdown.clone()));
        tokio::select! {
            _ = tokio::time::sleep_until(at(cycle_start + silent.start_s)) => {}
            () = shutdown.cancelled() => return agent.await?,
            result = &mut agent => return result?,
        }
        agent_shutdown.cancel();
        agent.await??;
        tokio::select! {
            _ = tokio::time::sleep_until(at(cycle_start + silent.start_s + silent.duration_s)) => {}
            () = shutdown.cancelled() => return Ok(()),
        }
    }
    Ok(())
}

/// The demo's move: the drive out and back as the planned route, the depot at its start as
/// origin, the far end as destination, a rest area where the drive stops at lights, and a
/// forbidden zone beside the road where `truck-01`'s detour passes.
async fn demo_move(store: &Store, route: &Route) -> anyhow::Result<()> {
    if store.moves().await?.iter().any(|m| m.name == DEMO_MOVE) {
        return Ok(());
    }
    let plan = demo_plan(route);
    let plan = convoy_core::plan::MovePlan::from_json(&serde_json::to_vec(&plan)?)
        .map_err(|e| anyhow::anyhow!("the demo's plan: {e}"))?;
    let record = convoy_registry::store_new_move(store, &plan, DEMO_USER).await?;
    store.set_move_team(&record.id, &[DEMO_ESCORT.to_string()]).await?;
    Ok(())
}

/// The demo move's plan (see [`demo_move`]).
fn demo_plan(route: &Route) -> serde_json::Value {
    let points = route.points();
    let out_and_back: Vec<[f64; 2]> =
        points.iter().chain(points.iter().rev().skip(1)).map(|p| [p.x(), p.y()]).collect();
    let circle = |name: &str, kind: &str, at: geo::Point, radius_m: f64| {
        serde_json::json!({
            "type": "Feature",
            "geometry": { "type": "Point", "coordinates": [at.x(), at.y()] },
            "properties": { "name": name, "kind": kind, "radius_m": radius_m },
        })
    };
    let detour_middle = Script { detour: Some(DETOUR), ..Default::default() }
        .position(route, DETOUR.start_s + DETOUR.duration_s / 2);
    serde_json::json!({
        "name": DEMO_MOVE,
        "vehicles": vehicles().iter().map(|(id, _)| *id).chain([PHONE_ESCORT]).collect::<Vec<_>>(),
        "escorts": { "truck-01": "escort-1", "truck-02": PHONE_ESCORT },
        "route": { "type": "LineString", "coordinates": out_and_back },
        "corridor_m": 150,
        "zones": { "type": "FeatureCollection", "features": [
            circle("Depot (origin)", "origin", points[0], 120.0),
            circle("Data centre (destination)", "destination", points[points.len() - 1], 120.0),
            circle("Rest area", "allowed_stop", points[407], 80.0),
            circle("Restricted site", "forbidden", detour_middle, 250.0),
        ]},
        "rules": { "speed_limit_mps": 27.8 },
        // Munich's: the page shows the move's times there, whatever the viewer's zone.
        "time_zone": "Europe/Berlin",
    })
}

/// A demo person's password: made at random the first time, kept (readable by the owner only)
/// in the data directory so the next run prints the same login. No password is built in.
async fn demo_login(store: &Store, data_dir: &Path, user: &str, role: Role) -> anyhow::Result<String> {
    let file = data_dir.join(format!("demo-login-{user}.txt"));
    if let Ok(password) = std::fs::read_to_string(&file) {
        return Ok(password.trim().to_string());
    }
    let password = convoy_registry::credentials::random_password();
    convoy_registry::add_user(store, user, role, &password).await.with_context(|| {
        format!("creating the demo user (if {} was deleted, start with a new data directory)", file.display())
    })?;
    write_private(&file, &password)?;
    Ok(password)
}

/// A demo vehicle's MQTT password, registered the first time and kept in the data directory.
async fn demo_vehicle(store: &Store, data_dir: &Path, vehicle: &VehicleId) -> anyhow::Result<String> {
    let file = data_dir.join("agents").join(format!("{vehicle}.password"));
    if let Ok(password) = std::fs::read_to_string(&file) {
        return Ok(password.trim().to_string());
    }
    let password = convoy_registry::register_vehicle(store, vehicle)
        .await
        .with_context(|| format!("registering demo vehicle {vehicle}"))?;
    write_private(&file, &password)?;
    Ok(password)
}

/// The demo escort car's phone: its vehicle and its OwnTracks login, registered the first time
/// (the secret kept in the data directory).
async fn demo_phone(store: &Store, data_dir: &Path) -> anyhow::Result<String> {
    let file = data_dir.join("agents").join(format!("{PHONE_USER}.secret"));
    if let Ok(secret) = std::fs::read_to_string(&file) {
        return Ok(secret.trim().to_string());
    }
    let vehicle = VehicleId::new(PHONE_ESCORT)?;
    demo_vehicle(store, data_dir, &vehicle).await?;
    let phone = convoy_registry::NewPhone {
        kind: convoy_store::DeviceKind::OwnTracks,
        name: PHONE_USER.into(),
        owntracks_device: Some(PHONE_DEVICE.into()),
        vehicle,
        person: None,
    };
    let (_, secret) = convoy_registry::register_phone(store, phone).await.with_context(|| {
        format!(
            "registering the demo phone (if {} was deleted, start with a new data directory)",
            file.display()
        )
    })?;
    write_private(&file, &secret)?;
    Ok(secret)
}

fn write_private(path: &Path, secret: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        convoy_agent::private_files::create_private_dir(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    writeln!(file, "{secret}")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::simulator::tests::{largest_changes, MEASURING_MPS2};
    use super::*;
    use geo::{Distance, Geodesic};

    /// Every vehicle of the script speeds up at most 2.5 m/s² and slows down at most 3.5 m/s²,
    /// detouring, halting and turning back at the ends of the road included. Over two cycles,
    /// but `truck-01` over the first only: the drive out and back takes longer than a cycle,
    /// so its later detours leave the road wherever it then is, at whatever speed.
    #[test]
    fn every_demo_vehicle_drives_as_a_loaded_truck_can() {
        let route = Route::munich().unwrap();
        let scripts = vehicles().into_iter().chain([(PHONE_ESCORT, phone_escort_script())]);
        for (id, script) in scripts {
            let cycles = if script.detour.is_some() { 1 } else { 2 };
            let v: Vec<f64> = (1..cycles * simulator::CYCLE_S).map(|s| script.speed_mps(&route, s)).collect();
            let (up, down) = largest_changes(&v);
            assert!(up <= simulator::ACCELERATION_MPS2 + MEASURING_MPS2, "{id} speeds up {up} m/s²");
            assert!(down <= simulator::DECELERATION_MPS2 + MEASURING_MPS2, "{id} slows down {down} m/s²");
        }
    }

    /// `truck-02` (and its escort) halt for six minutes where stopping is not planned: more
    /// than 100 m outside every allowed place of the demo's plan.
    #[test]
    fn the_scripted_halt_is_outside_every_allowed_place() {
        let route = Route::munich().unwrap();
        let points = route.points();
        let allowed = [(points[0], 120.0), (points[points.len() - 1], 120.0), (points[407], 80.0)];
        let (_, truck_02) = &vehicles()[2];
        for script in [truck_02.clone(), phone_escort_script()] {
            let halt = script.halt.unwrap();
            let at = script.track(&route, halt.start_s + 60);
            for (place, radius_m) in allowed {
                let d = Geodesic.distance(at, place);
                assert!(d > radius_m + 100.0, "halts {d} m from an allowed place");
            }
        }
    }
}

#[cfg(test)]
mod script_alerts {
    //! The demo's script through the rule engine, as the server would see it if every fix
    //! arrived at once: which alerts each vehicle raises, and when.

    use super::*;
    use chrono::{DateTime, Duration, Utc};
    use convoy_alerts::{Change, Engine, MoveSpec, RuleEvent};
    use convoy_core::alert::AlertKind;
    use convoy_core::rules::RuleSettings;
    use convoy_core::Position;

    fn t0() -> DateTime<Utc> {
        "2026-12-01T08:00:00Z".parse().unwrap()
    }

    /// Every vehicle's fixes for `seconds` from the start, as their receivers send them (none
    /// while silent or without a fix), fed to an engine in time order; the events.
    pub(super) fn run_script(seconds: u64) -> Vec<RuleEvent> {
        let route = Route::munich().unwrap();
        let plan =
            convoy_core::plan::MovePlan::from_json(&serde_json::to_vec(&demo_plan(&route)).unwrap()).unwrap();
        let mut engine = Engine::new(RuleSettings::default());
        let spec = MoveSpec { id: "demo".into(), plan, created_at: t0(), ended_at: None };
        engine.add_move(&spec).unwrap();
        let scripts: Vec<(&str, Script)> =
            vehicles().into_iter().chain([(PHONE_ESCORT, phone_escort_script())]).collect();
        let mut out = Vec::new();
        for second in 1..seconds {
            let t = t0() + Duration::seconds(second as i64);
            for (id, script) in &scripts {
                let phone = *id == PHONE_ESCORT;
                let vehicle = VehicleId::new(*id).unwrap();
                if script.has_no_fix(second) {
                    // Its agent reports the receiver without a fix.
                    let health = convoy_alerts::AgentHealth { online: true, has_fix: false };
                    engine.on_status(&vehicle, health, t + Duration::seconds(1), &mut out);
                    continue;
                }
                if script.is_silent(second) || (phone && second % 5 != 0) {
                    continue;
                }
                let here = script.position(&route, second);
                let speed = script.speed_mps(&route, second);
                let fix = Position {
                    seq: second,
                    t,
                    lat: here.y(),
                    lon: here.x(),
                    alt_m: None,
                    speed_mps: (!phone).then_some(speed),
                    course_deg: None,
                    fix: None,
                    sats: None,
                    hdop: None,
                    accuracy_m: phone.then_some(12.0),
                };
                engine.on_position(&vehicle, &fix, t + Duration::seconds(1), &mut out);
            }
            engine.tick(t, &mut out);
        }
        out
    }

    pub(super) fn summary(events: &[RuleEvent]) -> Vec<(String, AlertKind, Change, i64)> {
        events.iter().map(|e| (e.vehicle.to_string(), e.kind, e.change, (e.t - t0()).num_seconds())).collect()
    }

    /// Each vehicle's drive through the fast stretch (about 105 km/h against the move's
    /// 100 km/h) opens one `overspeed`, resolved once it slows down, each way: no flapping. The
    /// simulator drove it with its recording's steps, 15 and 29 m/s in turn, and the rule
    /// cleared at every dip (six alerts in the demo's first 14 minutes).
    #[test]
    fn the_demo_opens_overspeed_once_per_vehicle_and_pass_through_the_fast_stretch() {
        let events = summary(&run_script(simulator::CYCLE_S));
        for vehicle in ["truck-01", "escort-1", "truck-02", "escort-2"] {
            let changes: Vec<(Change, i64)> = events
                .iter()
                .filter(|(v, kind, _, _)| v == vehicle && *kind == AlertKind::Overspeed)
                .map(|(_, _, change, t)| (*change, *t))
                .collect();
            let opened: Vec<i64> =
                changes.iter().filter(|(c, _)| *c == Change::Opened).map(|(_, t)| *t).collect();
            // Out, and back (the way back ends past the cycle for the later ones).
            assert!((1..=2).contains(&opened.len()), "{vehicle}: {changes:?}");
            // Each opened alert stays open for the whole stretch: over a minute and a half.
            for pair in changes.windows(2) {
                if let [(Change::Opened, from), (Change::Cleared, to)] = pair {
                    assert!(to - from > 90, "{vehicle}: {changes:?}");
                }
            }
            // Apart by more than the fast stretch: a pass out and a pass back.
            assert!(opened.windows(2).all(|w| w[1] - w[0] > 600), "{vehicle}: {changes:?}");
        }
        // The script's table (README): truck-01 leaves the depot, detours through the
        // restricted site, and truck-02 halts.
        let first = |vehicle: &str, kind: AlertKind| {
            events.iter().find(|(v, k, c, _)| v == vehicle && *k == kind && *c == Change::Opened).map(|e| e.3)
        };
        assert!(first("truck-01", AlertKind::ZoneExit).is_some_and(|t| t < 30));
        assert!(first("truck-01", AlertKind::ZoneEnter).is_some_and(|t| (20..140).contains(&t)));
        assert!(first("truck-01", AlertKind::OffRoute).is_some_and(|t| (50..90).contains(&t)));
        assert!(first("truck-02", AlertKind::UnplannedStop).is_some_and(|t| (350..370).contains(&t)));
        assert!(first("truck-01", AlertKind::ConvoyBroken).is_some_and(|t| (400..480).contains(&t)));
        assert!(first("truck-01", AlertKind::GnssLost).is_some_and(|t| (650..720).contains(&t)));
    }
}
