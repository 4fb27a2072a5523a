//! `vigil seal rotate --db … --env-file …`: re-encrypts every value under the primary key (each
//! store in one SQLite transaction, env files through the `vigil-env` journal), then reports the
//! key ids no value uses any more.

use super::{context, ring};
use crate::cli::GlobalArgs;
use crate::commands::OutputFormat;
use clap::Args;
use std::path::PathBuf;
use vigil_core::ExitStatus;
use vigil_env::txn::Recovery;

/// Arguments of `vigil seal rotate`.
#[derive(Debug, Args)]
pub struct RotateArgs {
    /// A store to rotate (repeatable).
    #[arg(long, value_name = "FILE")]
    pub db: Vec<PathBuf>,
    /// An env file to rotate (repeatable).
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_files: Vec<PathBuf>,
    /// The environment the env values are bound to [default: from each file's name].
    #[arg(long, value_name = "NAME")]
    pub environment: Option<String>,
    /// Further fields the env values were bound to with `seal env --context`.
    #[arg(long, value_name = "NAME=VALUE,…")]
    pub context: Vec<String>,
    /// text or json.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

/// Runs `vigil seal rotate`.
pub fn run(g: &GlobalArgs, a: RotateArgs) -> anyhow::Result<ExitStatus> {
    if a.db.is_empty() && a.env_files.is_empty() {
        anyhow::bail!("say what to rotate: --db FILE and/or --env-file FILE");
    }
    let ring = ring()?;
    let root = super::root(g)?;
    let primary = ring.primary_id()?;
    let targets = vigil_seal::rotate::Targets {
        stores: a.db.clone(),
        env_files: a.env_files.clone(),
        environment: a.environment.clone(),
        extra: context(&a.context)?,
    };
    let r = vigil_seal::rotate::rotate(&ring, &root, &targets)?;
    match r.recovered {
        Some(Recovery::RolledBack(n)) => eprintln!("vigil: undid an env transaction interrupted before its commit point ({n} file(s) untouched)"),
        Some(Recovery::RolledForward(n)) => eprintln!("vigil: finished an env transaction interrupted after its commit point ({n} file(s))"),
        _ => {}
    }
    let shown_primary = if primary.starts_with(vigil_seal::kdf::PREFIX) {
        "the passphrase".to_owned()
    } else {
        primary.clone()
    };
    match a.format {
        OutputFormat::Json => {
            let v = serde_json::json!({
                "primary": shown_primary,
                "stores": r.stores.iter().map(|(p, c)| serde_json::json!({
                    "path": p.display().to_string(), "values": c.values, "rotated": c.rotated,
                })).collect::<Vec<_>>(),
                "env": {"values": r.env.values, "rotated": r.env.rotated},
                "unused_keys": r.unused,
            });
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        OutputFormat::Text => {
            for (p, c) in &r.stores {
                println!(
                    "{}: {} of {} value(s) re-encrypted under {shown_primary}",
                    p.display(),
                    c.rotated,
                    c.values
                );
            }
            if !a.env_files.is_empty() {
                println!(
                    "env files: {} of {} sealed value(s) re-encrypted under {shown_primary}",
                    r.env.rotated, r.env.values
                );
            }
            if r.unused.is_empty() {
                println!("every key in the ring is still used here");
            } else {
                println!(
                    "no longer used here: {} (remove from VIGIL_SEAL_KEYS once every store and file using them is rotated)",
                    r.unused.join(", ")
                );
            }
        }
    }
    Ok(ExitStatus::Success)
}
