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
