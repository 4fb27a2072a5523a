//! Dispatch: one file per subcommand, each turning its arguments into library calls.

pub mod completions;
pub mod scan;

use crate::cli::{Cli, Command};
use vigil_core::ExitStatus;

/// Runs the chosen subcommand.
pub fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    match cli.command {
        Command::Scan(args) => scan::run(&cli.global, args),
        Command::Completions(args) => completions::run(args),
    }
}
