//! `convoy phone`: registering the phones that report a vehicle's positions through OwnTracks
//! or Traccar Client, and telling each how to reach Convoy.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use convoy_core::VehicleId;
use convoy_registry::phones::{owntracks_configuration, OsmAndBase, OwnTracksEndpoint};
use convoy_registry::{register_phone, NewPhone};
use convoy_store::DeviceKind;

use crate::{audit_cli, StorageArgs};

#[derive(Subcommand, Debug)]
pub enum PhoneCommand {
    /// Register an OwnTracks phone to a vehicle; prints its secret (shown once) and, with an
    /// endpoint, the app's configuration (.otrc) with everything filled in.
    AddOwntracks {
        /// The phone's OwnTracks user name: its login, one per phone.
        user: String,
        /// The app's device id (the last level of its topic `owntracks/USER/DEVICE`).
        #[arg(long)]
        device: String,
        /// The vehicle whose positions it reports (an escort car, a truck without an agent).
        #[arg(long)]
        vehicle: String,
        /// The person whose phone it is: it is then tracked only during the moves they escort.
        #[arg(long)]
        person: Option<String>,
        /// Where the app reports: mqtt://HOST:PORT, mqtts://HOST:PORT, or the https:// URL of
        /// /api/v1/phones/owntracks.
        #[arg(long)]
        endpoint: Option<String>,
        /// Write the configuration to this file (made 0600: it holds the secret).
        #[arg(long)]
        otrc: Option<PathBuf>,
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Register a Traccar Client phone (the OsmAnd protocol) to a vehicle; prints its secret
    /// (shown once) and the server URL to enter in the app.
    AddTraccar {
        /// The device identifier the app shows (and sends as `id`).
        id: String,
        #[arg(long)]
        vehicle: String,
        #[arg(long)]
        person: Option<String>,
        /// The phone listener's base URL, e.g. https://convoy.example.com:5055
        #[arg(long)]
        server_url: Option<String>,
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// List the registered phones.
    List {
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Remove a phone: its logins stop working at once; its stored fixes stay.
    Remove {
        /// owntracks or traccar
        kind: String,
        name: String,
        #[command(flatten)]
        storage: StorageArgs,
    },
}

pub async fn run(command: PhoneCommand) -> anyhow::Result<()> {
    match command {
        PhoneCommand::AddOwntracks { user, device, vehicle, person, endpoint, otrc, storage } => {
            let endpoint = endpoint.as_deref().map(OwnTracksEndpoint::parse).transpose()?;
            let store = storage.open().await?;
            let phone = NewPhone {
                kind: DeviceKind::OwnTracks,
                name: user,
                owntracks_device: Some(device),
                vehicle: VehicleId::new(vehicle)?,
                person,
            };
            let (device, secret) = register_phone(&store, phone).await?;
            let detail = serde_json::json!({ "kind": "owntracks", "vehicle": device.vehicle.as_str() });
            audit_cli(&store, "phone.add", &device.source(), detail).await?;
            eprintln!(
                "OwnTracks phone {} registered for vehicle {}. Its secret is shown once:",
                device.name, device.vehicle
            );
            println!("{secret}");
            if let Some(endpoint) = endpoint {
                let config =
                    serde_json::to_string_pretty(&owntracks_configuration(&device, &secret, &endpoint))?;
                match otrc {
                    Some(path) => {
                        write_private(&path, &config)?;
                        eprintln!(
                            "The app's configuration is in {} (import it in OwnTracks).",
                            path.display()
                        );
                    }
                    None => println!("{config}"),
                }
            }
            Ok(())
        }
        PhoneCommand::AddTraccar { id, vehicle, person, server_url, storage } => {
            let server_url = server_url.as_deref().map(OsmAndBase::parse).transpose()?;
            let store = storage.open().await?;
            let phone = NewPhone {
                kind: DeviceKind::Traccar,
                name: id,
                owntracks_device: None,
                vehicle: VehicleId::new(vehicle)?,
                person,
            };
            let (device, secret) = register_phone(&store, phone).await?;
            let detail = serde_json::json!({ "kind": "traccar", "vehicle": device.vehicle.as_str() });
            audit_cli(&store, "phone.add", &device.source(), detail).await?;
            eprintln!(
                "Traccar Client phone {} registered for vehicle {}. Its secret is shown once; it is \
                 the last part of the server URL the app is given:",
                device.name, device.vehicle
            );
            match server_url {
                Some(base) => println!("{}", base.server_url(&secret)),
                None => println!("{secret}"),
            }
            Ok(())
        }
        PhoneCommand::List { storage } => {
            let store = storage.open().await?;
            for device in store.devices().await? {
                println!(
                    "{}\t{}\t{}\t{}",
                    device.source(),
                    device.owntracks_device.as_deref().unwrap_or("-"),
                    device.vehicle,
                    device.person.as_deref().unwrap_or("-"),
                );
            }
            Ok(())
        }
        PhoneCommand::Remove { kind, name, storage } => {
            let kind = DeviceKind::parse(&kind).context("the kind is owntracks or traccar")?;
            let store = storage.open().await?;
            if !store.remove_device(kind, &name).await? {
                anyhow::bail!("no {} phone is named {name}", kind.as_str());
            }
            audit_cli(&store, "phone.remove", &format!("{}:{name}", kind.as_str()), serde_json::json!({}))
                .await?;
            eprintln!("Phone {}:{name} removed.", kind.as_str());
            Ok(())
        }
    }
}

fn write_private(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(text.as_bytes()).with_context(|| format!("writing {}", path.display()))
}
