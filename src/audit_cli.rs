//! `convoy audit verify`: the audit log's chain, and the server's signed record over it (the
//! signatures of its head and the purges' destruction records).

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use convoy_core::signing::PublicKey;
use convoy_store::{Store, TrustedKeys};

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Check that no entry of the audit log was changed, removed or reordered, that every
    /// signature of its head and every destruction record holds, and print its head (SEQ:HASH):
    /// keep it outside the database and pass it later as --expect-head to prove the newest
    /// entries were not cut off. Exits with 1 if anything does not hold.
    Verify {
        /// A head printed by an earlier verify: the log must still contain it unchanged.
        #[arg(long, value_name = "SEQ:HASH", conflicts_with = "head_file")]
        expect_head: Option<convoy_store::AuditHead>,
        /// The server's audit head file (or a copy kept elsewhere): the log must still contain
        /// the last head recorded there, unchanged.
        #[arg(long, value_name = "FILE")]
        head_file: Option<PathBuf>,
        /// Trust only this server public key (`ed25519:…`, from `convoy key show`, obtained
        /// separately), not the keys the database lists; repeat it for keys used before a
        /// rotation.
        #[arg(long = "server-key", value_name = "ed25519:KEY", value_parser = parse_public_key)]
        server_keys: Vec<PublicKey>,
        #[command(flatten)]
        storage: crate::StorageArgs,
    },
}

fn parse_public_key(text: &str) -> Result<PublicKey, String> {
    PublicKey::parse(text).map_err(|e| e.to_string())
}

pub async fn run(command: AuditCommand) -> anyhow::Result<()> {
    let AuditCommand::Verify { expect_head, head_file, server_keys, storage } = command;
    let mut file_signature = None;
    let expect_head = match head_file {
        Some(path) => {
            let text =
                std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            let (_, head, signature) = convoy_store::last_audit_head_line(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            eprintln!("The last head recorded in {} is {head}.", path.display());
            file_signature = signature;
            Some(head)
        }
        None => expect_head,
    };
    let given = !server_keys.is_empty();
    let trusted = if given { TrustedKeys::Given(server_keys) } else { TrustedKeys::Stored };
    let store = storage.open().await?;
    let chain_holds = verify_chain(&store, expect_head.as_ref()).await?;
    let mut signatures_hold = verify_signed_record(&store, &trusted, given).await?;
    if let Some(signature) = &file_signature {
        match store.check_audit_signature(&trusted, signature).await.context("reading the audit log")? {
            Ok(()) => println!("the head file's last line is signed by key {} and holds", signature.key_id),
            Err(why) => {
                println!("head file BROKEN: its last line's signature of entry {}: {why}", signature.seq);
                signatures_hold = false;
            }
        }
    }
    if !(chain_holds && signatures_hold) {
        std::process::exit(1);
    }
    Ok(())
}

/// Checks the audit log's chain and prints what it found; whether it holds.
async fn verify_chain(store: &Store, expect_head: Option<&convoy_store::AuditHead>) -> anyhow::Result<bool> {
    let verdict = store.verify_audit(expect_head).await.context("reading the audit log")?;
    match &verdict.problem {
        None => {
            println!("audit log intact: {} entries, head {}", verdict.entries, verdict.head);
            Ok(true)
        }
        Some(problem) => {
            println!("audit log BROKEN: {problem}");
            println!("({} entries verified before it, up to {})", verdict.entries, verdict.head);
            Ok(false)
        }
    }
}

/// Checks the server's signatures and prints what holds and what does not; whether all hold.
async fn verify_signed_record(store: &Store, trusted: &TrustedKeys, given: bool) -> anyhow::Result<bool> {
    let verdict = store.verify_signed_record(trusted).await.context("reading the signed record")?;
    match trusted {
        TrustedKeys::Stored => println!(
            "server keys: those the database lists (pass --server-key to trust only keys obtained separately)"
        ),
        TrustedKeys::Given(keys) => {
            let ids: Vec<String> = keys.iter().map(|k| k.id().to_string()).collect();
            println!("server keys: only {} (given)", ids.join(", "));
        }
    }
    let newest = verdict.newest_signed_seq.map_or("none".to_string(), |seq| format!("entry {seq}"));
    println!(
        "signed record checked: {} audit head signatures (newest signed head that holds: {newest}), {} destruction records",
        verdict.audit_signatures, verdict.destruction_records
    );
    let head = store.audit_head().await.context("reading the audit log")?;
    let mut problems = verdict.problems.clone();
    match verdict.newest_signed_seq {
        Some(seq) if seq < head.seq => {
            println!(
                "entries {} to {} are chained but not signed yet (the server signs hourly)",
                seq + 1,
                head.seq
            )
        }
        // Checking against keys obtained separately proves nothing if nothing is signed: the
        // signatures were removed, or the server never had a key.
        None if given && head.seq > 0 => problems.push(format!(
            "no audit head signature holds under the keys given, and the log has {} entries",
            head.seq
        )),
        _ => {}
    }
    if problems.is_empty() {
        println!("signed record intact");
        return Ok(true);
    }
    for problem in &problems {
        println!("signed record BROKEN: {problem}");
    }
    Ok(false)
}
