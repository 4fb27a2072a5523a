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
pub(crate) struct RotateArgs {
    /// A store to rotate (repeatable).
    #[arg(long, value_name = "FILE")]
    pub db: Vec<PathBuf>,
    /// An env file to rotate (repeatable).
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_files: Vec<PathBuf>,
    /// The environment the env values are bound to [default: where vigil env places each file].
    #[arg(long, value_name = "NAME")]
    pub environment: Option<String>,
    /// Further fields the env values were bound to with `seal env --context`.
    #[arg(long, value_name = "NAME=VALUE,…")]
    pub context: Vec<String>,
    /// Let this key be plaintext although the fingerprint index records it as sealed, and
    /// forget that record (repeatable).
    #[arg(long = "allow-plaintext", value_name = "KEY")]
    pub allow_plaintext: Vec<String>,
    /// text or json.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

/// Runs `vigil seal rotate`.
pub(super) fn run(g: &GlobalArgs, a: RotateArgs) -> anyhow::Result<ExitStatus> {
    if a.db.is_empty() && a.env_files.is_empty() {
        anyhow::bail!("say what to rotate: --db FILE and/or --env-file FILE");
    }
    let ring = ring()?;
    let primary = ring.primary_id()?;
    let (project, env_files) = if a.env_files.is_empty() {
        // Stores only: the project of the first store, when it is in one, so the index of its
        // env files is consulted before a key is called unused.
        (super::project_if_any(g, &a.db[0])?, Vec::new())
    } else {
        let (p, placed) = super::project_of_files(g, &a.env_files, a.environment.as_deref())?;
        (Some(p), placed)
    };
    let targets = vigil_seal::rotate::Targets {
        stores: a.db.clone(),
        env_files,
        extra: context(&a.context)?,
        allow_plaintext: a.allow_plaintext.clone(),
    };
    let r = vigil_seal::rotate::rotate(&ring, project.as_ref(), &targets)?;
    match r.recovered {
        Some(Recovery::RolledBack(n)) => eprintln!("vigil: undid an env transaction interrupted before its commit point ({n} file(s) untouched)"),
        Some(Recovery::RolledForward(n)) => eprintln!("vigil: finished an env transaction interrupted after its commit point ({n} file(s))"),
        _ => {}
    }
    let shown = |id: &str| {
        if id.starts_with(vigil_seal::kdf::PREFIX) {
            "the passphrase".to_owned()
        } else {
            id.to_owned()
        }
    };
    let shown_primary = shown(&primary);
    // Keys other than the primary that something still uses, with where.
    let still: Vec<(String, &Vec<String>)> = r
        .in_use
        .iter()
        .filter(|(k, _)| !ring.is_primary(k))
        .map(|(k, w)| (shown(k), w))
        .collect();
    let scope = match &r.index {
        Some(i) => format!(
            "the stores named and every sealed .env value recorded in {}",
            i.display()
        ),
        None => "the stores and files named (no fingerprint index consulted)".to_owned(),
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
                "still_used": still.iter().map(|(k, w)| serde_json::json!({"key": k, "by": w})).collect::<Vec<_>>(),
                "index": r.index.as_ref().map(|i| i.display().to_string()),
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
            for (k, w) in &still {
                println!(
                    "still used: {k} by {} (not re-encrypted: rotate those too)",
                    w.join(", ")
                );
            }
            if r.unused.is_empty() {
                println!("every key in the ring is still used");
            } else {
                let (pass, keys): (Vec<&String>, Vec<&String>) =
                    r.unused.iter().partition(|k| *k == "passphrase");
                let mut ways = Vec::new();
                if !keys.is_empty() {
                    ways.push(format!(
                        "{} from VIGIL_SEAL_KEYS",
                        keys.iter()
                            .map(|k| k.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                if !pass.is_empty() {
                    ways.push("VIGIL_SEAL_PASSPHRASE (unset it)".to_owned());
                }
                println!(
                    "no longer used: {} (checked: {scope}); remove {} once no store you did not name uses them",
                    r.unused.join(", "),
                    ways.join(" and ")
                );
            }
        }
    }
    Ok(ExitStatus::Success)
}
