//! `convoy key`: the server's signing key (`convoy::server_key`). `show` prints its public key
//! and key id, to publish or hand to auditors (`convoy audit verify --server-key`); `rotate`
//! makes a new one, keeps the old file beside it, and records the new public key in the store,
//! valid from now (the old stays there: past signatures verify). A running server signs with
//! the new key from its next start.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use convoy::config::ServerConfigFile;
use convoy_store::Store;

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Print the server's public key (`ed25519:…`) and its key id.
    Show {
        #[command(flatten)]
        storage: crate::StorageArgs,
        /// TOML configuration file, for `[audit] signing_key_file`.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Make a new signing key (the old one is kept as `FILE.OLDKEYID`) and record its public
    /// key in the store.
    Rotate {
        #[command(flatten)]
        storage: crate::StorageArgs,
        /// TOML configuration file, for `[audit] signing_key_file` and the database.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

pub async fn run(command: KeyCommand) -> anyhow::Result<()> {
    match command {
        KeyCommand::Show { storage, config } => {
            let file = ServerConfigFile::load_or_default(config.as_deref())?;
            let config = storage.into_config_file(file).resolve()?;
            let key = convoy::server_key::load(&config.signing_key_file)?;
            println!("{}", key.public());
            println!("key id {}", key.public().id());
            Ok(())
        }
        KeyCommand::Rotate { storage, config } => {
            let file = ServerConfigFile::load_or_default(config.as_deref())?;
            let config = storage.into_config_file(file).resolve()?;
            // The store first: a rotation it cannot record is not made.
            let store = Store::open(&config.database)
                .await
                .with_context(|| format!("opening {}", config.database))?;
            let rotated = convoy::server_key::rotate(&config.signing_key_file)?;
            let public = rotated.new.public();
            store
                .add_server_key(&public, chrono::Utc::now())
                .await
                .context("the new key is made, but its public key could not be recorded in the store")?;
            let old = rotated.old.as_ref().map(|(key, kept)| (key.public().id().to_string(), kept));
            let detail = serde_json::json!({
                "key_id": public.id().to_string(),
                "public_key": public.to_string(),
                "old_key_id": old.as_ref().map(|(id, _)| id),
            });
            crate::audit_cli(&store, "server_key.rotate", &public.id().to_string(), detail).await?;
            if let Some((id, kept)) = old {
                eprintln!("The old key {id} is kept as {}.", kept.display());
            }
            eprintln!("A running server signs with the new key from its next start.");
            println!("{public}");
            println!("key id {}", public.id());
            Ok(())
        }
    }
}
