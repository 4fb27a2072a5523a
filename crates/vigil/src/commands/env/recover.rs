//! `vigil env recover`: finish or undo a rotation that was interrupted (a crash, `kill -9`), as
//! one writing command. vigil-env's `Project::open` with `Access::Write` checks the journal
//! first (not tracked by git, `.vigil/` private, entries only for this project's env files and
//! Vigil's state files) and refuses one Vigil did not write; `check` and `status` never recover.

use super::{open, Access};
use crate::cli::GlobalArgs;
use vigil_core::ExitStatus;
use vigil_env::txn::Recovery;

/// Runs `vigil env recover`.
pub(super) fn run(g: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    let p = open(g, Access::Write)?;
    if p.recovery == Recovery::Nothing && !g.quiet {
        eprintln!("vigil: no interrupted rotation; nothing to do");
    }
    Ok(ExitStatus::Success)
}
