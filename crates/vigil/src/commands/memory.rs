//! `vigil memory`: the agent memory store. `serve` runs the MCP server (stdio or Streamable
//! HTTP), `audit verify` checks the audit chain and the files against it, `log` answers "when
//! did this file change, and who changed it". Settings, refusals and serving live in
//! vigil-memory (`MemorySettings`, `server::run`); this file maps flags and prints.

use super::OutputFormat;
use crate::cli::GlobalArgs;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::time::SystemTime;
use vigil_core::ExitStatus;
use vigil_memory::{server, ChangeQuery, MemorySettings, Open, ServeFlags};

/// Arguments of `vigil memory`.
#[derive(Debug, Args)]
pub struct MemoryArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: MemoryCommand,
}

/// The `vigil memory` subcommands.
#[derive(Debug, Subcommand)]
pub enum MemoryCommand {
    /// Serve the store as an MCP server (stdio, or Streamable HTTP with verified principals).
    Serve(ServeArgs),
    /// The audit log.
    Audit(AuditArgs),
    /// Recorded changes: time, principal, tool, size and version of each.
    Log(LogArgs),
}

/// `vigil memory serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The store's folder (created if missing; the memory lives in its files/ folder).
    #[arg(long, value_name = "DIR")]
    pub root: PathBuf,
    /// Speak MCP on stdin/stdout (the default).
    #[arg(long, conflicts_with = "listen")]
    pub stdio: bool,
    /// Speak Streamable HTTP on this loopback address (`127.0.0.1:0` picks a free port).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// On stdio: who the audit log names for every write (required there).
    #[arg(long, value_name = "NAME", conflicts_with = "listen")]
    pub principal: Option<String>,
    /// Read variables (MCP_JWT_SECRET, …) from this .env file before the process environment.
    #[arg(long, value_name = "FILE")]
    pub env_file: Vec<PathBuf>,
}

/// `vigil memory audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: AuditCommand,
}

/// The `vigil memory audit` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the hash chain and every file's hash; exit 1 on any edit, deletion, reordering
    /// or cut-off tail.
    Verify(VerifyArgs),
}

/// `vigil memory audit verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The store's folder.
    #[arg(long, value_name = "DIR")]
    pub root: PathBuf,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    pub format: OutputFormat,
}

/// `vigil memory log`.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// The store's folder.
    #[arg(long, value_name = "DIR")]
    pub root: PathBuf,
    /// Only this file, or this folder and what is under it.
    pub path: Option<String>,
    /// Only changes since this time: RFC 3339 (`2026-11-01`, `2026-11-01T10:00:00Z`) or a
    /// duration ago (`2h`, `7d`).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    pub format: OutputFormat,
}

/// Runs a `vigil memory` subcommand.
pub fn run(g: &GlobalArgs, args: MemoryArgs) -> anyhow::Result<ExitStatus> {
    match args.command {
        MemoryCommand::Serve(a) => serve(g, a),
        MemoryCommand::Audit(AuditArgs {
            command: AuditCommand::Verify(a),
        }) => verify(g, a),
        MemoryCommand::Log(a) => log(g, a),
    }
}

fn serve(g: &GlobalArgs, a: ServeArgs) -> anyhow::Result<ExitStatus> {
    let settings = MemorySettings::resolve(&super::config(g)?, &a.env_file)?;
    let transport = settings.transport(&ServeFlags {
        listen: a.listen,
        principal: a.principal,
    })?;
    let store = settings.open(&a.root, Open::Create)?;
    server::run(store, transport)?;
    Ok(ExitStatus::Success)
}

fn verify(g: &GlobalArgs, a: VerifyArgs) -> anyhow::Result<ExitStatus> {
    let settings = MemorySettings::resolve(&super::config(g)?, &[])?;
    let report = settings.open(&a.root, Open::Existing)?.verify()?;
    let problems = report.problems();
    match a.format {
        OutputFormat::Json => {
            let v = serde_json::json!({
                "intact": report.is_intact(),
                "records": report.chain.records.len(),
                "head": report.chain.head.as_ref().map(|h| serde_json::json!({"seq": h.seq, "hash": h.hash})),
                "files_checked": report.files_checked,
                "problems": problems,
            });
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        OutputFormat::Text => {
            for p in &problems {
                println!("{}", p.message);
            }
            if !g.quiet {
                let head = report
                    .chain
                    .head
                    .as_ref()
                    .map_or("none".to_owned(), |h| format!("seq {}", h.seq));
                eprintln!(
                    "{}: {} log lines, head {head}, {} files checked, {} problem(s)",
                    if report.is_intact() {
                        "intact"
                    } else {
                        "NOT intact"
                    },
                    report.chain.records.len(),
                    report.files_checked,
                    problems.len()
                );
            }
        }
    }
    Ok(if report.is_intact() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

fn log(g: &GlobalArgs, a: LogArgs) -> anyhow::Result<ExitStatus> {
    let settings = MemorySettings::resolve(&super::config(g)?, &[])?;
    let store = settings.open(&a.root, Open::Existing)?;
    let query = ChangeQuery::from_flags(a.path.as_deref(), a.since.as_deref(), SystemTime::now())?;
    let changes = store.changes(query.path.as_deref(), query.since)?;
    match a.format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&changes)?),
        OutputFormat::Text => {
            for c in &changes {
                let version = c
                    .sha256
                    .as_deref()
                    .map_or("deleted".to_owned(), |h| h[..12].to_owned());
                println!(
                    "{}  {:<16} {:<14} {:>8} B  {version}  {}",
                    c.time, c.principal, c.tool, c.length, c.path
                );
            }
            if changes.is_empty() && !g.quiet {
                eprintln!("no recorded change");
            }
        }
    }
    Ok(ExitStatus::Success)
}
