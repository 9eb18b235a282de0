//! `convoy demo`: the whole product in one process with nothing installed. An embedded broker,
//! SQLite under the data directory, the server, and three simulated vehicles whose agents read
//! NMEA from pseudo-terminals exactly as from a serial port, on a planned move on Andorra's real
//! roads (out and back): from a depot in Santa Coloma to a data centre in Encamp, along the CG-1
//! and CG-2 (`andorra.rs` reads the route, derived from the OpenStreetMap extract: ODbL,
//! © OpenStreetMap contributors).
//!
//! The vehicles follow a script that repeats every 30 minutes, so every rule shows within the
//! first ten: `truck-01` leaves its origin (`zone_exit`), turns the wrong way at once, up the
//! Avinguda d'Enclar and back down Carrer Prat Salit (`off_route` about a minute in, through a
//! forbidden zone: `zone_enter`), and later loses its GNSS fix for two minutes (`gnss_lost`);
//! `truck-02` halts six minutes at a roadside of the CG-1 outside every allowed place
//! (`unplanned_stop`); `escort-1`, escorting `truck-01`, goes silent for four minutes
//! (`signal_lost`, and `convoy_broken` as its truck drives on without it); each vehicle drives
//! the CG-2's 80 km/h stretch above the move's 70 km/h (`overspeed`). `escort-2`, with
//! `truck-02`, has no agent: its driver's phone reports it through OwnTracks (`phone.rs`).

pub mod andorra;
mod custody;
mod phone;
pub mod receiver_noise;
pub mod simulator;
mod timetable;

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
use andorra::RouteFile;
use receiver_noise::ReceiverNoise;
use simulator::{Route, Script, Span};

/// The demo's road: the route file (its places) and the route the vehicles drive on it.
#[derive(Clone, Debug)]
pub struct DemoRoad {
    pub file: RouteFile,
    pub route: Route,
}

impl DemoRoad {
    pub fn andorra() -> anyhow::Result<Self> {
        let file = RouteFile::andorra()?;
        let route = Route::andorra(&file)?;
        Ok(DemoRoad { file, route })
    }
}

/// The demo's vehicles and their scripts (seconds from the start; see [`Script`]). Each
/// receiver has its own errors (a fixed seed: the demo is the same every run).
fn vehicles(road: &DemoRoad) -> [(&'static str, Script); 3] {
    [
        (
            "truck-01",
            Script {
                offset_s: 0,
                detour: Some(DETOUR),
                no_fix: Some(Span::new(600, 120)),
                noise: Some(ReceiverNoise::new(1)),
                ..Default::default()
            },
        ),
        (
            "escort-1",
            Script {
                offset_s: ESCORT_1_OFFSET_S,
                silent: Some(Span::new(240, 240)),
                noise: Some(ReceiverNoise::new(2)),
                ..Default::default()
            },
        ),
        (
            "truck-02",
            Script {
                offset_s: truck_02_offset_s(road),
                halt: Some(HALT),
                noise: Some(ReceiverNoise::new(3)),
                ..Default::default()
            },
        ),
    ]
}

/// `escort-1` leads `truck-01`, but waits at the depot this long (negative: seconds behind)
/// while the truck sets off: the truck's wrong turn costs it more than that, so the escort is
/// just ahead of it again once it is back on the road.
const ESCORT_1_OFFSET_S: i64 = -30;

/// `truck-02` sets off this far along the route that its halt stands at the route file's
/// roadside.
fn truck_02_offset_s(road: &DemoRoad) -> i64 {
    simulator::offset_to_halt_at(road.route.time_out_nearest(road.file.halt()), HALT)
}

/// The escort car that reports through a phone, and the truck it escorts (just behind it).
const PHONE_ESCORT: &str = "escort-2";
const PHONE_USER: &str = "escort2-phone";
const PHONE_DEVICE: &str = "phone";
fn phone_escort_script(road: &DemoRoad) -> Script {
    Script {
        offset_s: truck_02_offset_s(road) - 8,
        halt: Some(HALT),
        noise: Some(ReceiverNoise::new(4)),
        ..Default::default()
    }
}

/// `truck-01`'s detour: on Andorra's route, its real side street decides when it leaves the
/// road (about 10 s in) and comes back (about 2:20).
const DETOUR: Span = Span::new(20, 120);
/// `truck-02`'s (and its escort's) halt.
const HALT: Span = Span::new(60, 360);
/// The demo's people: one of each role but the dispatcher's (the admin can do that too).
const DEMO_USER: &str = "admin";
const DEMO_ESCORT: &str = "escort";
const DEMO_AUDITOR: &str = "auditor";
const DEMO_MOVE: &str = "Demo: data centre move, Andorra";
/// The move's speed limit, in m/s (70 km/h): an escorted heavy load keeps under the road's
/// limit, so the CG-2's 80 km/h stretch is where the trucks, at the road's speed, break it.
const DEMO_SPEED_LIMIT_MPS: f64 = 70.0 / 3.6;
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
        "Convoy demo is running.\n  map:  http://{}/\n  API:  http://{}/api/v1/openapi.json\n  data: {}\nLog in as (user, password):{logins}\n{}\nPress Ctrl-C to stop.",
        demo.http_addr,
        demo.http_addr,
        options.data_dir.display(),
        demo.watch_alerts(),
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
    /// The embedded broker's plain listener.
    pub mqtt_addr: SocketAddr,
    /// The alert observer's password file (its user name is `observer:DEMO_OBSERVER`).
    pub observer_password_file: PathBuf,
    server: crate::server::RunningServer,
    /// Stops the server; cancelled only once the vehicles are stopped.
    server_shutdown: CancellationToken,
    agents: Vec<tokio::task::JoinHandle<anyhow::Result<()>>>,
    /// Stops the simulated receivers and the agents.
    vehicles_shutdown: CancellationToken,
}

impl Demo {
    /// How to watch the alerts from outside, as the banner prints it.
    pub fn watch_alerts(&self) -> String {
        format!(
            "Watch the alerts on MQTT (read-only observer {DEMO_OBSERVER:?}):\n  mosquitto_sub -h {} -p {} -u observer:{DEMO_OBSERVER} -P \"$(cat {})\" -t '{}' -v",
            self.mqtt_addr.ip(),
            self.mqtt_addr.port(),
            self.observer_password_file.display(),
            convoy_core::topics::ALERTS_FILTER,
        )
    }

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
    // A read-only observer, so that the alerts can be watched with mosquitto_sub.
    let observer_password_file = demo_observer_password(data_dir)?;
    config.mqtt_observers = crate::config::observer_accounts(&[crate::config::ObserverEntry {
        name: DEMO_OBSERVER.to_string(),
        password_file: observer_password_file.clone(),
    }])?;
    // Not a child of `shutdown`: the server outlives the vehicles (see `Demo::stop`).
    let server_shutdown = CancellationToken::new();
    let server = crate::server::start(&config, server_shutdown.clone()).await?;
    let mut logins = Vec::new();
    for (user, role) in [(DEMO_USER, Role::Admin), (DEMO_ESCORT, Role::Escort), (DEMO_AUDITOR, Role::Auditor)]
    {
        logins.push((user, demo_login(&server.store, data_dir, user, role).await?));
    }

    let road = DemoRoad::andorra()?;
    let route = road.route.clone();
    let vehicles_shutdown = shutdown.child_token();
    let mut agents = Vec::new();
    let mut passwords = Vec::new();
    for (id, _) in vehicles(&road) {
        passwords.push(demo_vehicle(&server.store, data_dir, &VehicleId::new(id)?).await?);
    }
    let phone_secret = demo_phone(&server.store, data_dir).await?;
    let move_id = demo_move(&server.store, &road).await?;
    // Its sealed items, and their checkpoints at loading and at unloading each cycle (the
    // trucks stand at the far end for two minutes once the drive out is done).
    let seals = custody::list_seals(&server.store, &move_id).await?;
    let unloading_at_s = road.route.out_s().ceil() as u64 + 60;
    let checkpoints = custody::record_checkpoints(
        server.store.clone(),
        move_id,
        seals,
        DEMO_ESCORT,
        unloading_at_s,
        vehicles_shutdown.child_token(),
    );
    for ((id, script), vehicle_password) in vehicles(&road).into_iter().zip(passwords) {
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
            signing_key: Some(demo_signing_key(&server.store, data_dir, &vehicle).await?),
            time_reference: Default::default(),
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
        phone::report(phone, route.clone(), phone_escort_script(&road), vehicles_shutdown.child_token());
    agents.push(tokio::spawn(async move {
        phone_task.await;
        Ok(())
    }));
    agents.push(tokio::spawn(async move {
        checkpoints.await;
        Ok(())
    }));
    Ok(Demo {
        http_addr: server.http_addr,
        logins,
        mqtt_addr: mqtt_listen,
        observer_password_file,
        server,
        server_shutdown,
        agents,
        vehicles_shutdown,
    })
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
/// origin, the data centre at its end as destination, the car park beside the road as a rest
/// area, and a forbidden zone where `truck-01`'s detour passes.
async fn demo_move(store: &Store, road: &DemoRoad) -> anyhow::Result<String> {
    if let Some(existing) = store.moves().await?.into_iter().find(|m| m.name == DEMO_MOVE) {
        return Ok(existing.id);
    }
    let plan = demo_plan(road);
    let plan = convoy_core::plan::MovePlan::from_json(&serde_json::to_vec(&plan)?)
        .map_err(|e| anyhow::anyhow!("the demo's plan: {e}"))?;
    let record = convoy_registry::store_new_move(store, &plan, DEMO_USER).await?;
    store.set_move_team(&record.id, &[DEMO_ESCORT.to_string()]).await?;
    Ok(record.id)
}

/// The demo move's plan (see [`demo_move`]).
fn demo_plan(road: &DemoRoad) -> serde_json::Value {
    let places = &road.file;
    let points = places.points();
    let out_and_back: Vec<[f64; 2]> = places.out_and_back().iter().map(|p| [p.x(), p.y()]).collect();
    let circle = |name: &str, kind: &str, at: geo::Point, radius_m: f64| {
        serde_json::json!({
            "type": "Feature",
            "geometry": { "type": "Point", "coordinates": [at.x(), at.y()] },
            "properties": { "name": name, "kind": kind, "radius_m": radius_m },
        })
    };
    serde_json::json!({
        "name": DEMO_MOVE,
        "vehicles": vehicles(road).iter().map(|(id, _)| *id).chain([PHONE_ESCORT]).collect::<Vec<_>>(),
        "escorts": { "truck-01": "escort-1", "truck-02": PHONE_ESCORT },
        "route": { "type": "LineString", "coordinates": out_and_back },
        "corridor_m": CORRIDOR_M,
        "zones": { "type": "FeatureCollection", "features": [
            circle(&format!("{} (origin)", places.origin.name), "origin", points[0], ORIGIN_RADIUS_M),
            circle(
                &format!("{} (destination)", places.destination.name),
                "destination",
                points[points.len() - 1],
                DESTINATION_RADIUS_M,
            ),
            circle(
                &format!("Rest area ({})", places.rest_area.name),
                "allowed_stop",
                places.rest_area.point(),
                REST_AREA_RADIUS_M,
            ),
            circle(
                &places.forbidden.name,
                "forbidden",
                places.forbidden.point(),
                places.forbidden.radius_m.unwrap_or(100.0),
            ),
        ]},
        "rules": { "speed_limit_mps": DEMO_SPEED_LIMIT_MPS },
        // Andorra's: the page shows the move's times there, whatever the viewer's zone.
        "time_zone": "Europe/Andorra",
    })
}

/// How far either side of the route a vehicle may be.
const CORRIDOR_M: f64 = 150.0;
const ORIGIN_RADIUS_M: f64 = 120.0;
const DESTINATION_RADIUS_M: f64 = 120.0;
/// The car park and the road beside it.
const REST_AREA_RADIUS_M: f64 = 80.0;

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

/// A demo vehicle's signing key, as `convoy-agent keygen` makes one on a truck: made the first
/// time and kept in the data directory (0600), its public key registered with the vehicle, so
/// every batch its agent sends is signed and verified, and the move's evidence bundle proves
/// its track. Registered valid from 30 days back, so that fixes a spool kept from an earlier
/// run are signed by a key valid when they were taken.
async fn demo_signing_key(
    store: &Store,
    data_dir: &Path,
    vehicle: &VehicleId,
) -> anyhow::Result<convoy_core::signing::SecretKey> {
    let file = data_dir.join("agents").join(format!("{vehicle}.key"));
    let key = if file.exists() {
        convoy_agent::key_file::load(&file)?
    } else {
        convoy_agent::private_files::create_private_dir(&data_dir.join("agents"))?;
        convoy_agent::key_file::create(&file, false)?
    };
    let now = chrono::Utc::now();
    let registered = convoy_store::VehicleKey {
        vehicle: vehicle.clone(),
        key: key.public(),
        valid_from: now - chrono::Duration::days(30),
        registered_at: now,
        registered_by: "demo".to_string(),
    };
    match store.add_vehicle_key(&registered).await? {
        convoy_store::KeyAdded::Added | convoy_store::KeyAdded::KeyExists => Ok(key),
        other => anyhow::bail!("registering {vehicle}'s demo key: {other:?}"),
    }
}

/// The demo's alert observer: its name on the broker (`observer:alerts`).
pub const DEMO_OBSERVER: &str = "alerts";

/// The demo observer's password file: made at random the first time, kept (owner only) in the
/// data directory, read by the server as a `[[mqtt_observers]]` entry's `password_file`.
fn demo_observer_password(data_dir: &Path) -> anyhow::Result<PathBuf> {
    let file = data_dir.join("demo-observer.password");
    if !file.exists() {
        write_private(&file, &convoy_registry::credentials::random_password())?;
    }
    Ok(file)
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
mod tests;
