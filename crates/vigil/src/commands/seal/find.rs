//! `vigil seal find`: where a leaked plaintext (on stdin) is stored, matched by keyed
//! fingerprint in stores and in the env files' fingerprint index; nothing is decrypted.

use super::{read_plaintext, ring};
use crate::cli::GlobalArgs;
use clap::Args;
use std::path::PathBuf;
use vigil_core::ExitStatus;
use vigil_seal::store::{Mode, Store};

/// Arguments of `vigil seal find`.
#[derive(Debug, Args)]
pub struct FindArgs {
    /// A store to search (repeatable).
    #[arg(long, value_name = "FILE")]
    pub db: Vec<PathBuf>,
    /// An env file to search (repeatable; uses the fingerprint index in the project's .vigil/).
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_files: Vec<PathBuf>,
}

/// Runs `vigil seal find`.
pub fn run(g: &GlobalArgs, a: FindArgs) -> anyhow::Result<ExitStatus> {
    if a.db.is_empty() && a.env_files.is_empty() {
        anyhow::bail!("say where to look: --db FILE and/or --env-file FILE");
    }
    let ring = ring()?;
    let leaked = read_plaintext(None)?;
    let mut hits = Vec::new();
    for db in &a.db {
        let s = Store::open(db, Mode::Existing)?;
        for h in s.find(&ring, leaked.as_bytes())? {
            hits.push(format!("{}: {h}", db.display()));
        }
    }
    if !a.env_files.is_empty() {
        hits.extend(vigil_seal::envfile::find(
            &ring,
            &super::root(g)?,
            &a.env_files,
            leaked.as_bytes(),
        )?);
    }
    for h in &hits {
        println!("{h}");
    }
    Ok(if hits.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}
