//! `convoy hold`: legal holds from the command line, for operators who script them. The same
//! checks as `POST /api/v1/holds` (`convoy_registry::holds`), each place and release recorded in
//! the audit log as `cli:USER`, who is also the hold's placer or releaser.

use chrono::{DateTime, Utc};
use clap::Subcommand;
use convoy_registry::holds::{place_hold, release_hold, HoldRequest, HoldScope};
use convoy_store::HoldRecord;
use serde_json::json;

use crate::{audit_cli, cli_actor, StorageArgs};

#[derive(Subcommand, Debug)]
pub enum HoldCommand {
    /// Place a legal hold: the positions it covers survive retention until it is released.
    /// Prints the hold's id.
    #[command(group(clap::ArgGroup::new("scope").required(true).args(["move_id", "vehicle", "all_vehicles"])))]
    Place {
        /// On a move: its vehicles, over its window unless --from and --to are given.
        #[arg(long = "move")]
        move_id: Option<String>,
        /// On one registered vehicle (with --from and --to).
        #[arg(long)]
        vehicle: Option<String>,
        /// On every vehicle (with --from and --to).
        #[arg(long)]
        all_vehicles: bool,
        /// Positions with fix times from here (RFC 3339)...
        #[arg(long, requires = "to")]
        from: Option<DateTime<Utc>>,
        /// ...to here, not included.
        #[arg(long, requires = "from")]
        to: Option<DateTime<Utc>>,
        /// Why the data is kept.
        #[arg(long)]
        reason: String,
        /// A case or claim number.
        #[arg(long, default_value = "")]
        reference: String,
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// List the holds, the most recently placed first: one JSON object a line.
    List {
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Release a hold: its positions are subject to retention again.
    Release {
        id: i64,
        /// Why the data need no longer be kept.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        storage: StorageArgs,
    },
}

pub async fn run(command: HoldCommand) -> anyhow::Result<()> {
    match command {
        HoldCommand::Place { move_id, vehicle, all_vehicles, from, to, reason, reference, storage } => {
            let scope = match (move_id, vehicle, all_vehicles) {
                (Some(id), _, _) => HoldScope::Move(id),
                (_, Some(name), _) => HoldScope::Vehicle(name),
                _ => HoldScope::AllVehicles,
            };
            let request = HoldRequest { scope, range: from.zip(to), reason, reference };
            let store = storage.open().await?;
            let (id, hold) = place_hold(&store, request, &cli_actor(), Utc::now()).await?;
            let detail = json!({
                "move": hold.move_id,
                "vehicles": hold.vehicles.as_ref().map(|v| v.iter().map(|v| v.as_str()).collect::<Vec<_>>()),
                "from": hold.from,
                "to": hold.to,
                "reason": hold.reason,
                "reference": hold.reference,
            });
            audit_cli(&store, "hold.place", &format!("hold:{id}"), detail).await?;
            eprintln!(
                "Hold {id} placed: positions from {} to {} are kept until it is released.",
                hold.from, hold.to
            );
            println!("{id}");
            Ok(())
        }
        HoldCommand::List { storage } => {
            let store = storage.open().await?;
            for record in store.legal_holds().await? {
                println!("{}", hold_json(&record));
            }
            Ok(())
        }
        HoldCommand::Release { id, reason, storage } => {
            let store = storage.open().await?;
            let record = release_hold(&store, id, &reason, &cli_actor(), Utc::now()).await?;
            let reason = record.release.as_ref().map(|r| r.reason.as_str());
            audit_cli(&store, "hold.release", &format!("hold:{id}"), json!({ "reason": reason })).await?;
            eprintln!("Hold {id} released.");
            Ok(())
        }
    }
}

/// A hold as `GET /api/v1/holds` shows it.
fn hold_json(record: &HoldRecord) -> serde_json::Value {
    let hold = &record.hold;
    let release = record.release.as_ref();
    json!({
        "id": record.id,
        "move": hold.move_id,
        "vehicles": hold.vehicles.as_ref().map(|v| v.iter().map(|v| v.as_str()).collect::<Vec<_>>()),
        "from": hold.from,
        "to": hold.to,
        "reason": hold.reason,
        "reference": hold.reference,
        "placed_by": hold.created_by,
        "placed_at": record.created_at,
        "active": release.is_none(),
        "released_at": release.map(|r| r.at),
        "released_by": release.map(|r| r.by.as_str()),
        "release_reason": release.map(|r| r.reason.as_str()),
    })
}
