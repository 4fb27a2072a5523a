//! Dispatch: one file per subcommand, each turning its arguments into library calls.

pub(crate) mod completions;
pub(crate) mod env;
pub(crate) mod gateway;
pub(crate) mod hook;
pub(crate) mod lint;
pub(crate) mod memory;
pub(crate) mod purge;
pub(crate) mod redact;
pub(crate) mod scan;
pub(crate) mod seal;
pub(crate) mod token;

use crate::cli::{Cli, Command, GlobalArgs};
use clap::ValueEnum;
use std::path::Path;
use vigil_core::{Config, ExitStatus, Section as _};

/// The sections `vigil.toml` may have: the names the library crates registered for their
/// sections.
pub(crate) const SECTIONS: &[&str] = &[
    vigil_scan::config::ScanSection::NAME,
    vigil_env::EnvSection::NAME,
    vigil_token::TokenSection::NAME,
    vigil_memory::MemorySection::NAME,
    vigil_gateway::GatewaySection::NAME,
    vigil_lint::LintSection::NAME,
];

/// `vigil.toml` (`--config`, else `./vigil.toml`, else empty), with no section unknown.
pub(crate) fn config(g: &GlobalArgs) -> anyhow::Result<Config> {
    Ok(load_config(g)?)
}

/// [`config`] with its typed error (for a library that reads the configuration again, as the
/// gateway does on SIGHUP).
pub(crate) fn load_config(g: &GlobalArgs) -> Result<Config, vigil_core::ConfigError> {
    let config = Config::discover(g.config.as_deref(), Path::new("."))?;
    config.check_sections(SECTIONS)?;
    Ok(config)
}

/// The project's `vigil.toml`: `--config`, else the nearest `vigil.toml` here or in a parent
/// folder up to the git top level, else an empty one at that top level; no section unknown. Its
/// folder is the project root of `vigil env` and `vigil token` (vigil-env's root rule).
pub(crate) fn project_config(g: &GlobalArgs) -> anyhow::Result<Config> {
    let config = Config::discover_project(g.config.as_deref(), Path::new("."))?;
    config.check_sections(SECTIONS)?;
    Ok(config)
}

/// Runs the chosen subcommand.
pub(crate) fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    match cli.command {
        Command::Scan(args) => scan::run(&cli.global, args),
        Command::Env(args) => env::run(&cli.global, args),
        Command::Hook(args) => hook::run(&cli.global, args),
        Command::Purge(args) => purge::run(&cli.global, args),
        Command::Redact(args) => redact::run(&cli.global, args),
        Command::Token(args) => token::run(&cli.global, args),
        Command::Seal(args) => seal::run(&cli.global, args),
        Command::Gateway(args) => gateway::run(&cli.global, args),
        Command::Lint(args) => lint::run(&cli.global, args),
        Command::Memory(args) => memory::run(&cli.global, args),
        Command::Completions(args) => completions::run(args),
    }
}

/// Whether this command line may write files, not only stdout, or prints what cannot be had
/// again (a minted token). A closed stdout ends a read-only command quietly (exit 0, as
/// ripgrep does), but it can stop a writing one before its write (`env rotate --write | true`
/// used to rotate nothing and exit 0) or lose its product: `main` exits 2 for these.
pub(crate) fn may_write_files(command: &Command) -> bool {
    match command {
        Command::Scan(a) => a.baseline_write.is_some(),
        Command::Hook(_) => true,
        // `plan` writes its file before it prints; `apply` rewrites a mirror's history.
        Command::Purge(a) => matches!(a.command, purge::PurgeCommand::Apply(_)),
        Command::Env(a) => {
            matches!(
                &a.command,
                env::EnvCommand::Rotate(r) if r.apply.write
            ) || matches!(
                &a.command,
                env::EnvCommand::Retire(r) if r.apply.write
            ) || matches!(a.command, env::EnvCommand::Recover)
        }
        Command::Seal(a) => !matches!(
            a.command,
            seal::SealCommand::Decrypt(_)
                | seal::SealCommand::Find(_)
                | seal::SealCommand::Check(_)
                | seal::SealCommand::Run(_)
        ),
        Command::Gateway(a) => matches!(
            &a.command,
            Some(gateway::GatewayCommand::Pin(p)) if p.approve.is_some()
        ),
        Command::Lint(a) => a.pin.is_some(),
        Command::Memory(a) => matches!(
            &a.command,
            memory::MemoryCommand::Audit(m) if matches!(m.command, memory::AuditCommand::Accept(_))
        ),
        // A minted token is the command's product, handed to whoever reads stdout: a reader
        // that went away (`vigil token mint | kubectl create secret … ` failing) lost it.
        Command::Token(a) => matches!(a.command, token::TokenCommand::Mint(_)),
        Command::Redact(_) | Command::Completions(_) => false,
    }
}

/// `--format` of the subcommands that print text or one JSON document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum OutputFormat {
    /// Human text.
    #[default]
    Text,
    /// One JSON document.
    Json,
}
