//! The command tree (clap derive): global flags shared by every subcommand, and one variant per
//! subcommand whose arguments live beside its implementation.

use clap::{Args, Parser, Subcommand, ValueEnum};

pub(crate) mod scan;
use std::path::PathBuf;

/// Vigil: find leaked secrets and keep AI-agent, bot and MCP-server stacks safe.
#[derive(Debug, Parser)]
#[command(name = "vigil", version, about, long_about = None, propagate_version = true)]
pub(crate) struct Cli {
    /// Flags every subcommand takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every subcommand takes.
#[derive(Debug, Args, Clone)]
pub(crate) struct GlobalArgs {
    /// Configuration file: a `vigil.toml`, or (for `scan`) a gitleaks `.gitleaks.toml`
    /// [default: ./vigil.toml if present].
    #[arg(long, global = true, env = "VIGIL_CONFIG", value_name = "FILE", value_parser = config_path)]
    pub config: Option<PathBuf>,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormatArg::Text)]
    pub log_format: LogFormatArg,
    /// Print only errors (no summary, no progress).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More log detail (-v debug, -vv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// When to use colour.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// `--config` / `VIGIL_CONFIG`: a path, never empty (an empty `VIGIL_CONFIG=` is a mistake to
/// name, not a request for the default).
fn config_path(v: &str) -> Result<PathBuf, String> {
    if v.trim().is_empty() {
        return Err(
            "empty (VIGIL_CONFIG set to nothing?): unset VIGIL_CONFIG, or name a vigil.toml".into(),
        );
    }
    Ok(PathBuf::from(v))
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum LogFormatArg {
    /// Human text.
    Text,
    /// JSON Lines.
    Json,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    /// Colour when the stream is a terminal and NO_COLOR is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Find secrets in files, directories or stdin.
    Scan(scan::ScanArgs),
    /// Install git hooks that scan before every commit (and push).
    Hook(crate::commands::hook::HookArgs),
    /// Remove leaked secrets from git history (plan, then apply on a mirror clone).
    Purge(crate::commands::purge::PurgeArgs),
    /// Copy stdin (or files) to stdout with every secret replaced: `bot 2>&1 | vigil redact`.
    Redact(crate::commands::redact::RedactArgs),
    /// Rotate, check and track the secrets in .env files.
    Env(crate::commands::env::EnvArgs),
    /// Mint, verify and inspect the JWTs that guard MCP servers; check the JWT configuration.
    Token(crate::commands::token::TokenArgs),
    /// Encrypt secrets at rest: a per-user SQLite store, sealed .env values, Fernet interop.
    Seal(crate::commands::seal::SealArgs),
    /// The authenticating gateway in front of MCP servers: JWT, rate limits, CORS, metrics.
    Gateway(crate::commands::gateway::GatewayArgs),
    /// Lint MCP configs, voice manifests, compose stacks and Discord bots; pin tools, probe.
    Lint(crate::commands::lint::LintArgs),
    /// The agent memory store a model cannot escape: serve it over MCP, verify its audit log.
    Memory(crate::commands::memory::MemoryArgs),
    /// Print a shell completion script.
    Completions(crate::commands::completions::CompletionsArgs),
}
