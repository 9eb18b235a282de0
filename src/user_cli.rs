//! `convoy user`: people from the command line, for operators who script them. The same checks
//! as the API (`convoy_registry::people`, the store's last-admin rule), each change recorded in
//! the audit log as `cli:USER`. No password is ever an argument: a new one comes from a file or
//! a prompt, and a reset one is printed once.

use anyhow::{bail, Context};
use clap::Subcommand;
use convoy_core::Role;
use convoy_store::{PersonChange, PersonChanged, Store};
use serde_json::json;
use std::path::PathBuf;

use crate::{audit_cli, prompt_password, StorageArgs};

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Add a person with a role; the password comes from --password-file or a prompt.
    Add {
        name: String,
        #[arg(long)]
        role: Role,
        #[arg(long)]
        password_file: Option<PathBuf>,
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// List the people: one JSON object a line, as `GET /api/v1/users` shows them.
    List {
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Change a person's role (the last enabled admin keeps theirs).
    Role {
        name: String,
        role: Role,
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Disable a person: they cannot log in, and every token of theirs ends at once.
    Disable {
        name: String,
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Enable a disabled person: they may log in again with their password.
    Enable {
        name: String,
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Give a person a new random password, printed once on standard output; their sessions end.
    ResetPassword {
        name: String,
        #[command(flatten)]
        storage: StorageArgs,
    },
}

pub async fn run(command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add { name, role, password_file, storage } => {
            let password = match password_file {
                Some(path) => std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?
                    .trim_end_matches(['\r', '\n'])
                    .to_string(),
                None => prompt_password()?,
            };
            let store = storage.open().await?;
            convoy_registry::add_user(&store, &name, role, &password).await?;
            audit_cli(&store, "user.add", &name, json!({ "role": role.as_str() })).await?;
            eprintln!("User {name} added with role {role}.");
            Ok(())
        }
        UserCommand::List { storage } => {
            let store = storage.open().await?;
            audit_cli(&store, "users.view", "users", json!({})).await?;
            for person in store.people().await? {
                let line = json!({
                    "name": person.name,
                    "role": person.role,
                    "disabled": person.disabled,
                    "created_at": person.created_at,
                    "last_login_at": person.last_login_at,
                });
                println!("{line}");
            }
            Ok(())
        }
        UserCommand::Role { name, role, storage } => {
            let store = storage.open().await?;
            let (before, _) = change(&store, &name, PersonChange::Role(role)).await?;
            audit_cli(&store, "user.role", &name, json!({ "from": before, "to": role })).await?;
            eprintln!("User {name} is now {role} (was {before}).");
            Ok(())
        }
        UserCommand::Disable { name, storage } => {
            let store = storage.open().await?;
            let (_, revoked) = change(&store, &name, PersonChange::Disabled(true)).await?;
            audit_cli(&store, "user.disable", &name, json!({ "revoked": revoked })).await?;
            eprintln!("User {name} disabled; {revoked} session(s) ended.");
            Ok(())
        }
        UserCommand::Enable { name, storage } => {
            let store = storage.open().await?;
            change(&store, &name, PersonChange::Disabled(false)).await?;
            audit_cli(&store, "user.enable", &name, json!({})).await?;
            eprintln!("User {name} enabled.");
            Ok(())
        }
        UserCommand::ResetPassword { name, storage } => {
            let store = storage.open().await?;
            let Some((password, revoked)) = convoy_registry::reset_password(&store, &name).await? else {
                bail!("no such user: {name}");
            };
            audit_cli(&store, "user.reset_password", &name, json!({ "revoked": revoked })).await?;
            eprintln!("User {name} has a new password (shown once); {revoked} session(s) ended.");
            println!("{password}");
            Ok(())
        }
    }
}

/// Applies a change; the role before it and how many tokens ended, or why it was refused.
async fn change(store: &Store, name: &str, change: PersonChange) -> anyhow::Result<(Role, u64)> {
    match store.change_person(name, &change).await? {
        PersonChanged::Changed { before, revoked } => Ok((before.role, revoked)),
        PersonChanged::NoSuchPerson => bail!("no such user: {name}"),
        PersonChanged::LastAdmin => {
            bail!("refused (last_admin): this would leave no enabled admin; make another person admin first")
        }
    }
}
