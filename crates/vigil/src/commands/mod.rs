//! Dispatch: one file per subcommand, each turning its arguments into library calls.

pub mod completions;
pub mod env;
pub mod gateway;
pub mod hook;
pub mod memory;
pub mod purge;
pub mod scan;
pub mod token;

/// The sections `vigil.toml` may have, one per command that reads it.
pub const SECTIONS: &[&str] = &["scan", "env", "token", "gateway", "memory"];

use crate::cli::{Cli, Command};
use clap::ValueEnum;
use vigil_core::ExitStatus;

/// Runs the chosen subcommand.
pub fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    match cli.command {
        Command::Scan(args) => scan::run(&cli.global, args),
        Command::Env(args) => env::run(&cli.global, args),
        Command::Hook(args) => hook::run(args),
        Command::Purge(args) => purge::run(&cli.global, args),
        Command::Token(args) => token::run(&cli.global, args),
        Command::Gateway(args) => gateway::run(&cli.global, args),
        Command::Memory(args) => memory::run(&cli.global, args),
        Command::Completions(args) => completions::run(args),
    }
}

/// `--format` of the subcommands that print text or one JSON document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    /// Human text.
    #[default]
    Text,
    /// One JSON document.
    Json,
}
