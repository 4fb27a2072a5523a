//! `vigil seal env FILE… --keys A,B [--write]`: seals chosen values of env files in place, each
//! bound to its file's environment and key; every other byte stays. Written through
//! `vigil-env`'s journalled transaction, with the fingerprint index.

use super::{context, ring};
use crate::cli::GlobalArgs;
use anyhow::Context as _;
use clap::Args;
use std::path::PathBuf;
use vigil_core::ExitStatus;
use vigil_env::txn;
use vigil_seal::envfile::{environment_of, seal_keys};
use vigil_seal::index::Index;

/// Arguments of `vigil seal env`.
#[derive(Debug, Args)]
pub struct EnvArgs {
    /// The env files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The keys whose values to seal, comma-separated.
    #[arg(long, required = true, value_delimiter = ',', value_name = "A,B")]
    pub keys: Vec<String>,
    /// Apply (without it, print what would change and touch nothing).
    #[arg(long)]
    pub write: bool,
    /// The environment the values are bound to [default: from each file's name].
    #[arg(long, value_name = "NAME")]
    pub environment: Option<String>,
    /// Further fields to bind the values to (then `seal run` needs the same), name=value,…
    #[arg(long, value_name = "NAME=VALUE,…")]
    pub context: Vec<String>,
}

/// Runs `vigil seal env`.
pub fn run(g: &GlobalArgs, a: EnvArgs) -> anyhow::Result<ExitStatus> {
    let ring = ring()?;
    let extra = context(&a.context)?;
    let root = super::root(g)?;
    let _lock = if a.write {
        let l = txn::lock(&root)?;
        txn::recover(&root)?;
        Some(l)
    } else {
        None
    };
    let (mut index, index_old) = Index::load(&root)?;
    let mut changes = Vec::new();
    for f in &a.files {
        let shown = f.display().to_string();
        let text = std::fs::read_to_string(f).with_context(|| format!("{shown}: cannot read"))?;
        let env = a.environment.clone().unwrap_or_else(|| environment_of(f));
        let plan = seal_keys(&ring, &shown, &text, &env, &a.keys, &extra)?;
        for s in &plan.sealed {
            println!(
                "{shown}:{} {} sealed (environment {env}, key {}, fingerprint {})",
                s.line, s.key, s.fingerprint.kid, s.fingerprint.hex
            );
            index.insert(&s.sealed, s.fingerprint.clone());
        }
        for s in &plan.skipped {
            println!("{shown}:{} {} left as it is: {}", s.line, s.key, s.reason);
        }
        if plan.new != plan.old {
            changes.push(txn::Change {
                path: f.clone(),
                old: Some(plan.old.into_bytes()),
                new: plan.new.into_bytes(),
            });
        }
    }
    if changes.is_empty() {
        if !g.quiet {
            eprintln!("nothing to seal");
        }
        return Ok(ExitStatus::Success);
    }
    if !a.write {
        eprintln!(
            "dry run: {} file(s) would change; add --write to apply",
            changes.len()
        );
        return Ok(ExitStatus::Success);
    }
    let n = changes.len();
    let new_index = index.to_bytes();
    if index_old.as_deref() != Some(&new_index[..]) {
        changes.push(txn::Change {
            path: Index::path(&root),
            old: index_old,
            new: new_index,
        });
    }
    txn::commit(&root, &changes, false)?;
    if !g.quiet {
        eprintln!("sealed values in {n} file(s)");
    }
    Ok(ExitStatus::Success)
}
