//! `vigil env retire NAME`: once traffic uses the new value of a dual secret, empty its previous
//! variable (`WEBHOOK_SECRET_BACKUP`, `MCP_JWT_SECRET_PREVIOUS`) everywhere, as one transaction.

use super::{commit, open, print_plan};
use crate::cli::GlobalArgs;
use clap::Args;
use vigil_core::ExitStatus;
use vigil_env::rotate::plan_retire;

/// Arguments of `vigil env retire`.
#[derive(Debug, Args)]
pub struct RetireArgs {
    /// Dual secrets whose previous value to clear (WEBHOOK_SECRET, MCP_JWT_SECRET…).
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,
    /// Apply (without it, print what would change).
    #[arg(long)]
    pub write: bool,
    /// Keep a copy of the old files under .vigil/backup/ until the next successful rotation.
    #[arg(long)]
    pub backup: bool,
    /// Print values in full (redacted by default).
    #[arg(long)]
    pub show_secrets: bool,
}

/// Runs `vigil env retire`.
pub fn run(g: &GlobalArgs, args: RetireArgs) -> anyhow::Result<ExitStatus> {
    let p = open(g)?;
    let plan = plan_retire(&p.files, &args.names, &p.section)?;
    print_plan(&plan, args.show_secrets);
    if !args.write {
        eprintln!(
            "dry run: {} file(s) would change; add --write to apply",
            plan.files.len()
        );
        return Ok(ExitStatus::Success);
    }
    commit(&p, &plan, args.backup, false)?;
    if !g.quiet {
        eprintln!(
            "retired the previous value of {} in {} file(s)",
            args.names.join(", "),
            plan.files.len()
        );
    }
    Ok(ExitStatus::Success)
}
