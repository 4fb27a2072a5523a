//! `vigil seal check [PATH]`: SQLite files tracked by git that hold a seal store or user data
//! (the policy: "SQLite database files containing user data should not be committed").

use crate::cli::GlobalArgs;
use clap::Args;
use std::path::PathBuf;
use vigil_core::ExitStatus;

/// Arguments of `vigil seal check`.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// The repository (or a folder in it).
    #[arg(default_value = ".", value_name = "PATH")]
    pub path: PathBuf,
}

/// Runs `vigil seal check`.
pub(super) fn run(g: &GlobalArgs, a: CheckArgs) -> anyhow::Result<ExitStatus> {
    let found = vigil_seal::check::tracked_databases(&a.path)?;
    let mut n = 0;
    for t in &found {
        if t.reported() {
            n += 1;
            println!("{}: tracked by git, holds {}", t.path, t.describe());
        } else if !g.quiet {
            eprintln!(
                "{}: tracked SQLite file with no rows (not reported)",
                t.path
            );
        }
    }
    if n > 0 {
        eprintln!("{n} tracked SQLite file(s) with data: `git rm --cached` them, add them to .gitignore, and purge them from history (`vigil purge`)");
        Ok(ExitStatus::Failure)
    } else {
        Ok(ExitStatus::Success)
    }
}
