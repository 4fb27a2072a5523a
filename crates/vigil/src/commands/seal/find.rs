//! `vigil seal find`: where a leaked secret is stored, from a leaked text (stdin or `--in`): a
//! log line, a paste, a whole file. Each token-like piece of it (`vigil_seal::leak`) is matched
//! by keyed fingerprint against the stores and the fingerprint index of the env files' project;
//! nothing is decrypted.

use super::ring;
use crate::cli::GlobalArgs;
use clap::Args;
use std::path::PathBuf;
use vigil_core::ExitStatus;
use vigil_seal::store::{Mode, Store};

/// Most bytes of leaked text read.
pub(super) const MAX_LEAK: usize = 8 * 1024 * 1024;

/// Arguments of `vigil seal find`.
#[derive(Debug, Args)]
pub(crate) struct FindArgs {
    /// A store to search (repeatable).
    #[arg(long, value_name = "FILE")]
    pub db: Vec<PathBuf>,
    /// An env file to search (repeatable; uses the fingerprint index in its project's .vigil/).
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_files: Vec<PathBuf>,
    /// The leaked text (a log, a paste, a file; - is stdin) [default: stdin].
    #[arg(long = "in", value_name = "FILE")]
    pub input: Option<PathBuf>,
}

/// Runs `vigil seal find`.
pub(super) fn run(g: &GlobalArgs, a: FindArgs) -> anyhow::Result<ExitStatus> {
    if a.db.is_empty() && a.env_files.is_empty() {
        anyhow::bail!("say where to look: --db FILE and/or --env-file FILE");
    }
    let ring = ring()?;
    // Fingerprints need no placement: the files are only read, in their project's index.
    let env = match a.env_files.first() {
        None => None,
        Some(first) => {
            let p = super::project(g, first)?;
            let mut placed = Vec::new();
            for f in &a.env_files {
                if !p.contains(f) {
                    anyhow::bail!(
                        "{}: in another project than {} (root {}); give the files of one project per run",
                        f.display(),
                        first.display(),
                        p.root().display()
                    );
                }
                placed.push(vigil_seal::Placed {
                    path: f.clone(),
                    rel: f.clone(),
                    environment: String::new(),
                });
            }
            Some((p, placed))
        }
    };
    let stores =
        a.db.iter()
            .map(|db| Ok((db, Store::open(db, Mode::Existing)?)))
            .collect::<anyhow::Result<Vec<_>>>()?;
    let text = {
        let (what, r): (String, Box<dyn std::io::Read>) = match &a.input {
            Some(p) if p.as_os_str() != "-" => (
                p.display().to_string(),
                Box::new(
                    std::fs::File::open(p)
                        .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", p.display()))?,
                ),
            ),
            _ => ("stdin".into(), Box::new(std::io::stdin().lock())),
        };
        zeroize::Zeroizing::new(vigil_seal::input::read_limited(r, MAX_LEAK, &what)?)
    };
    let candidates = vigil_seal::leak::candidates(&text);
    let mut hits = Vec::new();
    for (db, s) in &stores {
        for h in s.find(&ring, &candidates)? {
            hits.push(format!("{}: {h}", db.display()));
        }
    }
    if let Some((project, placed)) = &env {
        hits.extend(vigil_seal::envfile::find(
            &ring,
            project,
            placed,
            &candidates,
        )?);
    }
    drop(candidates);
    for h in &hits {
        println!("{h}");
    }
    Ok(if hits.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}
