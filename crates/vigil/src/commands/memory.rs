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
pub(crate) struct MemoryArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: MemoryCommand,
}

/// The `vigil memory` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum MemoryCommand {
    /// Serve the store as an MCP server (stdio, or Streamable HTTP with verified principals).
    Serve(ServeArgs),
    /// The audit log.
    Audit(AuditArgs),
    /// Recorded changes: time, principal, tool, size and version of each.
    Log(LogArgs),
}

/// `vigil memory serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
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
pub(crate) struct AuditArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: AuditCommand,
}

/// The `vigil memory audit` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Recompute the hash chain and every file's hash; exit 1 on any edit, deletion, reordering
    /// or cut-off tail. Read-only: what a crash left (finished by the next write) is noted.
    Verify(VerifyArgs),
    /// Record every file whose state the log does not account for (edited, planted or deleted
    /// outside the store) as it is now, under --principal: the step that lets writes go on
    /// after `audit verify` found such files, or after the log was deleted.
    Accept(AcceptArgs),
}

/// `vigil memory audit accept`.
#[derive(Debug, Args)]
pub(crate) struct AcceptArgs {
    /// The store's folder.
    #[arg(long, value_name = "DIR")]
    pub root: PathBuf,
    /// Who takes responsibility for the files as they are (recorded in the log).
    #[arg(long, value_name = "NAME")]
    pub principal: String,
}

/// `vigil memory audit verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The store's folder.
    #[arg(long, value_name = "DIR")]
    pub root: PathBuf,
    /// A head recorded earlier elsewhere (`SEQ:HASH`, as printed by a previous run): the log
    /// must still hold that line in its verified chain (detects a rollback or a rewrite).
    #[arg(long, value_name = "SEQ:HASH")]
    pub head: Option<String>,
    /// Seconds to wait for the writer lock (held by a server writing) before giving up, exit 2.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub wait: u64,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    pub format: OutputFormat,
}

/// `vigil memory log`.
#[derive(Debug, Args)]
pub(crate) struct LogArgs {
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
pub(crate) fn run(g: &GlobalArgs, args: MemoryArgs) -> anyhow::Result<ExitStatus> {
    match args.command {
        MemoryCommand::Serve(a) => serve(g, a),
        MemoryCommand::Audit(AuditArgs {
            command: AuditCommand::Verify(a),
        }) => verify(g, a),
        MemoryCommand::Audit(AuditArgs {
            command: AuditCommand::Accept(a),
        }) => accept(g, a),
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

fn accept(g: &GlobalArgs, a: AcceptArgs) -> anyhow::Result<ExitStatus> {
    let settings = MemorySettings::resolve(&super::config(g)?, &[])?;
    let principal = a.principal.trim_matches(' ');
    if let Err(why) = vigil_memory::auth::check_principal(principal) {
        return Err(vigil_memory::SettingsError::bad_principal(why).into());
    }
    let store = settings.open(&a.root, Open::Existing)?;
    // A writer's open: finish what a crash left first, under the same rules as `serve`.
    drop(store);
    let store = settings.open(&a.root, Open::Create)?;
    let done = store.accept(vigil_memory::store::Actor {
        principal,
        tool: "audit_accept",
    })?;
    for w in &done {
        println!(
            "{}  {}",
            w.seq,
            if w.version.is_some() {
                format!("accepted {}", w.path.escape_debug())
            } else {
                format!("accepted the deletion of {}", w.path.escape_debug())
            }
        );
    }
    if !g.quiet {
        println!("{} file(s) recorded as they are", done.len());
    }
    Ok(ExitStatus::Success)
}

fn verify(g: &GlobalArgs, a: VerifyArgs) -> anyhow::Result<ExitStatus> {
    let settings = MemorySettings::resolve(&super::config(g)?, &[])?;
    let anchor = match a.head.as_deref() {
        None => None,
        Some(h) => Some(vigil_memory::settings::parse_head(h)?),
    };
    let report = settings.open(&a.root, Open::Existing)?.verify_waiting(
        std::time::Duration::from_secs(a.wait),
        || {
            eprintln!(
                "waiting for the writer lock (a server is writing; giving up after {} s)",
                a.wait
            );
        },
    )?;
    let mut problems = report.problems();
    if let Some((seq, hash)) = &anchor {
        if !report.chain.anchored(*seq, hash) {
            problems.push(vigil_memory::store::AuditProblem {
                code: "anchor_missing",
                message: format!(
                    "audit log: seq {seq} with the recorded hash is not in the verified chain \
                     (the log was rolled back or rewritten)"
                ),
            });
        }
    }
    let intact = problems.is_empty();
    let head_text = report
        .chain
        .head
        .as_ref()
        .map(|h| format!("{}:{}", h.seq, h.hash));
    match a.format {
        OutputFormat::Json => {
            let v = serde_json::json!({
                "intact": intact,
                "keyed": report.chain.keyed,
                "records": report.chain.records.len(),
                "head": report.chain.head.as_ref().map(|h| serde_json::json!({"seq": h.seq, "hash": h.hash})),
                "anchor": head_text,
                "files_checked": report.files_checked,
                "problems": problems,
                "notes": report.notes,
            });
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        OutputFormat::Text => {
            for p in &problems {
                println!("{}", p.message.escape_debug());
            }
            for n in &report.notes {
                println!("note: {}", n.escape_debug());
            }
            if !g.quiet {
                println!(
                    "{}: {} log lines, head {}, {} files checked, {} problem(s), {}",
                    if intact { "intact" } else { "NOT intact" },
                    report.chain.records.len(),
                    head_text.as_deref().unwrap_or("none"),
                    report.files_checked,
                    problems.len(),
                    if report.chain.keyed {
                        "keyed (HMAC-SHA256)"
                    } else {
                        "plain SHA-256 (not keyed: a whole-log rewrite needs --head to be found)"
                    }
                );
            }
        }
    }
    Ok(if intact {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

fn log(g: &GlobalArgs, a: LogArgs) -> anyhow::Result<ExitStatus> {
    let settings = MemorySettings::resolve(&super::config(g)?, &[])?;
    let store = settings.open(&a.root, Open::Existing)?;
    let query = ChangeQuery::from_flags(a.path.as_deref(), a.since.as_deref(), SystemTime::now())?;
    let (changes, v) = store.changes_checked(query.path.as_deref(), query.since)?;
    match a.format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&changes)?),
        OutputFormat::Text => {
            // Every field escaped: a name may not forge a row or reach the terminal raw.
            let e = |t: &str| t.escape_debug().to_string();
            // A principal prints plain only when it is printable ASCII without spaces; else it
            // is quoted with everything else escaped, so `bob   memory_delete` or a Cyrillic
            // `аlice` never pass for another row or another name.
            let who = |t: &str| {
                if !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic()) {
                    t.to_owned()
                } else {
                    let inner: String = t
                        .chars()
                        .map(|c| {
                            if c.is_ascii_graphic() || c == ' ' {
                                c.to_string()
                            } else {
                                c.escape_unicode().to_string()
                            }
                        })
                        .collect();
                    format!("\"{inner}\"")
                }
            };
            for c in &changes {
                let version = c
                    .sha256
                    .as_deref()
                    .map_or("deleted".to_owned(), |h| e(&h[..h.len().min(12)]));
                println!(
                    "{}  {:<16} {:<14} {:>8} B  {version}  {}{}",
                    e(&c.time),
                    who(&c.principal),
                    e(&c.tool),
                    c.length,
                    e(&c.path),
                    if c.verified { "" } else { "  UNVERIFIED" }
                );
            }
            if changes.is_empty() && !g.quiet {
                eprintln!("no recorded change");
            }
        }
    }
    for p in &v.problems {
        eprintln!("warning: audit log: {p}");
    }
    for n in store.crash_notes()? {
        eprintln!("note: {}", n.escape_debug());
    }
    if !v.problems.is_empty() {
        eprintln!(
            "the audit log does not verify: records marked UNVERIFIED (\"verified\": false) are not \
             to be believed; run `vigil memory audit verify`"
        );
        return Ok(ExitStatus::Failure);
    }
    Ok(ExitStatus::Success)
}
