//! `vigil seal find`: where a leaked plaintext (on stdin) is stored, matched by keyed
//! fingerprint in stores and in the env files' fingerprint index; nothing is decrypted.

use super::{read_plaintext, ring};
use anyhow::Context as _;
use clap::Args;
use std::path::PathBuf;
use vigil_core::ExitStatus;
use vigil_seal::index::Index;
use vigil_seal::store::{Mode, Store};

/// Arguments of `vigil seal find`.
#[derive(Debug, Args)]
pub struct FindArgs {
    /// A store to search (repeatable).
    #[arg(long, value_name = "FILE")]
    pub db: Vec<PathBuf>,
    /// An env file to search (repeatable; uses the index in .vigil/ of the working directory).
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_files: Vec<PathBuf>,
}

/// Runs `vigil seal find`.
pub fn run(a: FindArgs) -> anyhow::Result<ExitStatus> {
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
        let (index, _) = Index::load(std::path::Path::new("."))?;
        for f in &a.env_files {
            let shown = f.display().to_string();
            let text =
                std::fs::read_to_string(f).with_context(|| format!("{shown}: cannot read"))?;
            for b in vigil_seal::envfile::parse(&shown, &text)?.bindings() {
                let Some(v) = &b.value else { continue };
                let Some(fp) = index.get(v) else { continue };
                if vigil_seal::fingerprint(&ring, &fp.kid, leaked.as_bytes())
                    .is_ok_and(|mine| &mine == fp)
                {
                    hits.push(format!("{shown}:{} {}", b.line, b.key));
                }
            }
        }
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
