//! `vigil completions SHELL`: print a completion script for bash, zsh, fish, elvish or PowerShell.

use clap::{Args, CommandFactory};
use clap_complete::Shell;
use vigil_core::ExitStatus;

/// Arguments of `vigil completions`.
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Writes the script to stdout.
pub(crate) fn run(args: CompletionsArgs) -> anyhow::Result<ExitStatus> {
    let mut cmd = crate::cli::Cli::command();
    // Into memory first: clap_complete panics when its writer fails (a closed pipe).
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "vigil", &mut script);
    std::io::Write::write_all(&mut std::io::stdout().lock(), &script)?;
    Ok(ExitStatus::Success)
}
