//! `vigil seal env FILE… --keys A,B [--write]`: seals chosen values of env files in place, each
//! bound to its file's environment and key; every other byte stays (`envfile::seal_files`).

use super::{context, ring};
use crate::cli::GlobalArgs;
use clap::Args;
use std::path::PathBuf;
use vigil_core::ExitStatus;
use vigil_seal::envfile::{seal_files, FilePlan};

/// Arguments of `vigil seal env`.
#[derive(Debug, Args)]
pub(crate) struct EnvArgs {
    /// The env files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The keys whose values to seal, comma-separated.
    #[arg(long, required = true, value_delimiter = ',', value_name = "A,B")]
    pub keys: Vec<String>,
    /// Apply (without it, print what would change and touch nothing).
    #[arg(long)]
    pub write: bool,
    /// The environment the values are bound to [default: where vigil env places each file:
    /// [env.environments], its name, its folders].
    #[arg(long, value_name = "NAME")]
    pub environment: Option<String>,
    /// Further fields to bind the values to (then `seal run` needs the same), name=value,…
    #[arg(long, value_name = "NAME=VALUE,…")]
    pub context: Vec<String>,
}

/// Runs `vigil seal env`.
pub(super) fn run(g: &GlobalArgs, a: EnvArgs) -> anyhow::Result<ExitStatus> {
    let ring = ring()?;
    let extra = context(&a.context)?;
    let (project, placed) = super::project_of_files(g, &a.files, a.environment.as_deref())?;
    let files = seal_files(&ring, &project, &placed, &a.keys, &extra, a.write)?;
    let mut changed = 0;
    let did = if a.write { "sealed" } else { "would be sealed" };
    for FilePlan { placed, plan } in &files {
        let shown = placed.path.display();
        let environment = &placed.environment;
        for s in &plan.sealed {
            println!(
                "{shown}:{} {} {did} (environment {environment}, key {}, fingerprint {})",
                s.line, s.key, s.fingerprint.kid, s.fingerprint.hex
            );
        }
        for s in &plan.skipped {
            println!("{shown}:{} {} left as it is: {}", s.line, s.key, s.reason);
        }
        changed += usize::from(plan.new != plan.old);
    }
    if changed == 0 {
        if !g.quiet {
            eprintln!("nothing to seal");
        }
    } else if !a.write {
        eprintln!("dry run: {changed} file(s) would change; add --write to apply");
    } else if !g.quiet {
        eprintln!("sealed values in {changed} file(s)");
    }
    Ok(ExitStatus::Success)
}
