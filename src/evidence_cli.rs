//! `convoy evidence`: a move's evidence bundle exported from the store (the writer the HTTP
//! route uses, `convoy_history::evidence`), and any bundle verified offline
//! (`convoy_evidence::verify`).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use convoy_core::position::format_time;
use convoy_core::signing::PublicKey;
use convoy_history::evidence::{export_move, ExportRequest};
use convoy_history::MoveHistory;
use convoy_store::Store;
use serde_json::json;

use crate::{audit_cli, cli_actor, StorageArgs};

#[derive(Subcommand, Debug)]
pub enum EvidenceCommand {
    /// Write a move's evidence bundle (gzip JSON Lines, signed with the server's key in the
    /// data directory) to a file.
    Export {
        /// The move's id.
        #[arg(long = "move")]
        move_id: String,
        /// Where to write it (e.g. move-ID.convoy-evidence.jsonl.gz).
        #[arg(long)]
        out: PathBuf,
        /// TOML configuration file, for the rule settings and time zone defaults.
        #[arg(long)]
        config: Option<PathBuf>,
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Check a bundle with nothing but the file: exits 0 if everything holds, 1 if something
    /// does not, 2 if the file is not a bundle.
    Verify {
        file: PathBuf,
        /// The server's public key (`ed25519:…`), obtained separately: only a manifest signed
        /// by it holds.
        #[arg(long)]
        server_key: Option<String>,
    },
}

pub async fn run(command: EvidenceCommand) -> anyhow::Result<()> {
    match command {
        EvidenceCommand::Export { move_id, out, config, storage } => {
            let file = convoy::config::ServerConfigFile::load_or_default(config.as_deref())?;
            let config = storage.into_config_file(file).resolve()?;
            let store = Store::open(&config.database)
                .await
                .with_context(|| format!("opening {}", config.database))?;
            // The server's own key (made, and its public key recorded, if the server never ran).
            let key = convoy::server::server_signing_key(&config, &store).await?;
            export(&store, &config, &key, &move_id, &out).await
        }
        EvidenceCommand::Verify { file, server_key } => {
            let key = server_key
                .map(|text| PublicKey::parse(&text).map_err(|e| anyhow::anyhow!("--server-key: {e}")))
                .transpose()?;
            let reader = std::fs::File::open(&file).with_context(|| format!("opening {}", file.display()))?;
            let verdict = convoy_evidence::verify(std::io::BufReader::new(reader), key.as_ref());
            print!("{verdict}");
            std::process::exit(verdict.exit_code());
        }
    }
}

async fn export(
    store: &Store,
    config: &convoy::config::ServerConfig,
    key: &convoy_core::signing::SecretKey,
    move_id: &str,
    out: &std::path::Path,
) -> anyhow::Result<()> {
    let record = store.move_record(move_id).await?.ok_or_else(|| anyhow::anyhow!("no move {move_id:?}"))?;
    let history = MoveHistory::of(record, &config.rules)?;
    let now = chrono::Utc::now();
    let span = history.span(None, None, now)?;
    let detail = json!({ "from": format_time(&span.from), "until": format_time(&span.to), "cut": false, "file": out.display().to_string() });
    audit_cli(store, "evidence.export", move_id, detail).await?;
    let report = convoy_gateway::report_json(store, &config.moves, &history, span, None).await?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(out)
        .with_context(|| format!("creating {}", out.display()))?;
    let mut failed = None;
    let request = ExportRequest {
        history: &history,
        server_rules: &config.rules,
        span,
        exported_by: cli_actor(),
        exported_at: now,
        cut: false,
        report,
    };
    let sink = |bytes: Vec<u8>| {
        let written = file.write_all(&bytes);
        let ok = written.is_ok();
        if let Err(e) = written {
            failed = Some(e);
        }
        std::future::ready(ok)
    };
    let result = export_move(store, request, key, sink).await;
    if let Some(e) = failed {
        return Err(e).with_context(|| format!("writing {}", out.display()));
    }
    result?;
    file.sync_all()?;
    println!("wrote {} (server key {})", out.display(), key.public());
    Ok(())
}
