//! `convoy vehicle`: vehicles from the command line, for operators who script them. The same
//! steps as the API, each change recorded in the audit log as `cli:USER`. A password is never an
//! argument and never in the audit log: a new one is printed once on standard output.

use anyhow::bail;
use clap::Subcommand;
use convoy_core::VehicleId;
use serde_json::json;

use crate::{audit_cli, StorageArgs};

#[derive(Subcommand, Debug)]
pub enum VehicleCommand {
    /// Register a vehicle and print its MQTT password (shown once).
    Add {
        id: String,
        /// Print `{"id","password"}` as JSON (for scripts such as deploy/mosquitto-passwd.sh).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// List the vehicles: one JSON object a line, `{"id","disabled"}`.
    List {
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Give a vehicle a new random MQTT password, printed once; the old one is refused from the
    /// vehicle's next connect to the embedded broker.
    RotatePassword {
        id: String,
        /// Print `{"id","password"}` as JSON (for deploy/mosquitto-passwd.sh).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Disable a vehicle: the embedded broker refuses it and closes it within 10 s; its
    /// positions stay.
    Disable {
        id: String,
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Enable a disabled vehicle: its agent may log in again with its password.
    Enable {
        id: String,
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// A vehicle's public keys, which its signed tracks are verified with.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Register a vehicle's public key (the text `convoy-agent keygen` printed), valid from a
    /// time (default now) after its newest key's: a rotation keeps the old key for the past.
    Add {
        vehicle: String,
        #[arg(long)]
        public_key: String,
        /// RFC 3339.
        #[arg(long)]
        valid_from: Option<String>,
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// List a vehicle's keys, oldest first: one JSON object a line.
    List {
        vehicle: String,
        #[command(flatten)]
        storage: StorageArgs,
    },
}

pub async fn run(command: VehicleCommand) -> anyhow::Result<()> {
    match command {
        VehicleCommand::Add { id, json, storage } => {
            let id = VehicleId::new(id)?;
            let store = storage.open().await?;
            let password = convoy_registry::register_vehicle(&store, &id).await?;
            audit_cli(&store, "vehicle.add", id.as_str(), json!({})).await?;
            eprintln!("Vehicle {id} registered. Its MQTT password is shown once; give it to the agent:");
            print_password(&id, &password, json);
            Ok(())
        }
        VehicleCommand::List { storage } => {
            let store = storage.open().await?;
            audit_cli(&store, "vehicles.view", "vehicles", json!({})).await?;
            let disabled = store.disabled_vehicles().await?;
            for id in store.vehicle_ids().await? {
                println!("{}", json!({ "id": id.as_str(), "disabled": disabled.contains(&id) }));
            }
            Ok(())
        }
        VehicleCommand::RotatePassword { id, json, storage } => {
            let id = VehicleId::new(id)?;
            let store = storage.open().await?;
            let Some(password) = convoy_registry::rotate_vehicle_password(&store, &id).await? else {
                bail!("no such vehicle: {id}");
            };
            audit_cli(&store, "vehicle.rotate_password", id.as_str(), json!({})).await?;
            eprintln!("Vehicle {id} has a new MQTT password (shown once); the old one is refused from its next connect:");
            print_password(&id, &password, json);
            Ok(())
        }
        VehicleCommand::Disable { id, storage } => set_disabled(id, storage, true).await,
        VehicleCommand::Enable { id, storage } => set_disabled(id, storage, false).await,
        VehicleCommand::Key { command } => run_key(command).await,
    }
}

async fn run_key(command: KeyCommand) -> anyhow::Result<()> {
    match command {
        KeyCommand::Add { vehicle, public_key, valid_from, storage } => {
            let vehicle = VehicleId::new(vehicle)?;
            let key = convoy_core::signing::PublicKey::parse(public_key.trim())?;
            let valid_from = match valid_from {
                None => chrono::Utc::now(),
                Some(text) => chrono::DateTime::parse_from_rfc3339(&text)
                    .map_err(|e| anyhow::anyhow!("--valid-from is not an RFC 3339 time: {e}"))?
                    .with_timezone(&chrono::Utc),
            };
            let store = storage.open().await?;
            let key = convoy_store::VehicleKey {
                vehicle: vehicle.clone(),
                key,
                valid_from,
                registered_at: chrono::Utc::now(),
                registered_by: crate::cli_actor(),
            };
            match store.add_vehicle_key(&key).await? {
                convoy_store::KeyAdded::Added => {}
                convoy_store::KeyAdded::UnknownVehicle => bail!("no such vehicle: {vehicle}"),
                convoy_store::KeyAdded::KeyExists => bail!("key {} is already registered", key.key_id()),
                convoy_store::KeyAdded::NotAfterCurrent { current } => {
                    bail!("--valid-from must be after the vehicle's newest key's, {}", current.to_rfc3339())
                }
            }
            let detail = json!({ "key_id": key.key_id().to_string(), "valid_from": key.valid_from });
            audit_cli(&store, "vehicle.key_add", vehicle.as_str(), detail).await?;
            eprintln!(
                "Key {} registered for vehicle {vehicle}, valid from {}.",
                key.key_id(),
                valid_from.to_rfc3339()
            );
            Ok(())
        }
        KeyCommand::List { vehicle, storage } => {
            let vehicle = VehicleId::new(vehicle)?;
            let store = storage.open().await?;
            if !store.vehicle_registered(&vehicle).await? {
                bail!("no such vehicle: {vehicle}");
            }
            audit_cli(&store, "vehicle.keys_view", vehicle.as_str(), json!({})).await?;
            for key in store.vehicle_keys(&vehicle).await? {
                println!(
                    "{}",
                    json!({
                        "key_id": key.key_id().to_string(),
                        "public_key": key.key.to_string(),
                        "valid_from": key.valid_from,
                        "registered_at": key.registered_at,
                        "registered_by": key.registered_by,
                    })
                );
            }
            Ok(())
        }
    }
}

fn print_password(id: &VehicleId, password: &str, json: bool) {
    if json {
        println!("{}", json!({ "id": id.as_str(), "password": password }));
    } else {
        println!("{password}");
    }
}

async fn set_disabled(id: String, storage: StorageArgs, disabled: bool) -> anyhow::Result<()> {
    let id = VehicleId::new(id)?;
    let store = storage.open().await?;
    let Some(before) = store.set_vehicle_disabled(&id, disabled).await? else {
        bail!("no such vehicle: {id}");
    };
    let changed = before != disabled;
    let (action, word) =
        if disabled { ("vehicle.disable", "disabled") } else { ("vehicle.enable", "enabled") };
    audit_cli(&store, action, id.as_str(), json!({ "changed": changed })).await?;
    if changed {
        eprintln!("Vehicle {id} {word}.");
    } else {
        eprintln!("Vehicle {id} was {word} already; nothing changed.");
    }
    Ok(())
}
