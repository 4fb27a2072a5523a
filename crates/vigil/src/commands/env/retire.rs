//! `vigil env retire NAME`: once traffic uses the new value of a dual secret, empty its previous
//! variable (`WEBHOOK_SECRET_BACKUP`, `MCP_JWT_SECRET_PREVIOUS`) everywhere, as one transaction.

use super::{open, print_plan, Access, ApplyArgs};
use crate::cli::GlobalArgs;
use clap::Args;
use vigil_core::ExitStatus;

/// Arguments of `vigil env retire`.
#[derive(Debug, Args)]
pub(crate) struct RetireArgs {
    /// Dual secrets whose previous value to clear (WEBHOOK_SECRET, MCP_JWT_SECRET…).
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,
    /// Dry run or write, backup, showing values.
    #[command(flatten)]
    pub apply: ApplyArgs,
}

/// Runs `vigil env retire`.
pub(super) fn run(g: &GlobalArgs, args: RetireArgs) -> anyhow::Result<ExitStatus> {
    let p = open(
        g,
        if args.apply.write {
            Access::Write
        } else {
            Access::ReadOnly
        },
    )?;
    let plan = p.plan_retire(&args.names)?;
    print_plan(&plan, args.apply.show_secrets)?;
    if !args.apply.write {
        if g.quiet {
            return Ok(ExitStatus::Success);
        }
        eprintln!(
            "dry run: {} file(s) would change; add --write to apply",
            plan.files.len()
        );
        return Ok(ExitStatus::Success);
    }
    p.commit(&plan, args.apply.backup)?;
    if !g.quiet {
        eprintln!(
            "retired the previous value of {} in {} file(s)",
            args.names.join(", "),
            plan.files.len()
        );
    }
    Ok(ExitStatus::Success)
}
