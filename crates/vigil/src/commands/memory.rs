//! `vigil memory`: the agent memory store. `serve` runs the MCP server (stdio or Streamable
//! HTTP), `audit verify` checks the audit chain and the files against it, `log` answers "when
//! did this file change, and who changed it".

use super::OutputFormat;
use crate::cli::GlobalArgs;
use anyhow::{bail, Context as _};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;
use vigil_core::{Config, ExitStatus};
use vigil_memory::auth::Authenticator;
use vigil_memory::config::AssertionSection;
use vigil_memory::server::{self, HttpSettings};
use vigil_memory::{MemorySection, Store};
use vigil_token::config::env_lookup;
use vigil_token::{AssertionVerifier, Key, KeyRing, Verifier};

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

struct Loaded {
    config: Config,
    section: MemorySection,
}

fn load(g: &GlobalArgs) -> anyhow::Result<Loaded> {
    let config = Config::discover(g.config.as_deref(), Path::new("."))?;
    config.check_sections(super::SECTIONS)?;
    let section: MemorySection = config.section("memory")?;
    Ok(Loaded { config, section })
}

fn open(g: &GlobalArgs, root: &Path, create: bool) -> anyhow::Result<(Loaded, Store)> {
    let loaded = load(g)?;
    let limits = loaded
        .section
        .limits()
        .map_err(|p| loaded.config.key_error(&p.key, &p.message))?;
    if !create && !root.join(vigil_memory::store::FILES).is_dir() {
        bail!("{}: not a memory store (no files/ folder)", root.display());
    }
    let store = Store::open(root, limits)?;
    Ok((loaded, store))
}

fn serve(g: &GlobalArgs, a: ServeArgs) -> anyhow::Result<ExitStatus> {
    let (loaded, store) = open(g, &a.root, true)?;
    let store = Arc::new(store);
    let Some(listen) = a.listen else {
        let Some(principal) = a.principal.filter(|p| !p.trim().is_empty()) else {
            bail!("--stdio needs --principal NAME: the name the audit log records for every write");
        };
        tracing::info!(root = %a.root.display(), principal = %principal, "vigil memory serving on stdio");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(server::serve_stdio(store, principal))?;
        return Ok(ExitStatus::Success);
    };
    let addr: std::net::SocketAddr = listen
        .parse()
        .with_context(|| format!("--listen: `{listen}` is not an address like 127.0.0.1:8787"))?;
    if !addr.ip().is_loopback() {
        bail!(
            "--listen: {addr} is not a loopback address; the memory server speaks plain HTTP, so put \
             `vigil gateway` (TLS, rate limits) in front of it and listen on 127.0.0.1"
        );
    }
    let auth = authenticator(g, &loaded, &a.env_file)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let s = &loaded.section;
    let settings = HttpSettings {
        allowed_hosts: s
            .allowed_hosts
            .clone()
            .unwrap_or_else(|| vec!["127.0.0.1".into(), "localhost".into(), "::1".into()]),
        allowed_origins: s.allowed_origins.clone().unwrap_or_default(),
        max_body: (store.limits().max_file_size as usize)
            .saturating_mul(6)
            .saturating_add(64 * 1024),
    };
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let bound = listener.local_addr()?;
        tracing::info!(address = %bound, root = %a.root.display(), "vigil memory listening on {bound}");
        let shutdown = server::Shutdown::new();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            stop.cancel();
        });
        #[cfg(unix)]
        {
            let stop = shutdown.clone();
            tokio::spawn(async move {
                if let Ok(mut s) =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                {
                    s.recv().await;
                    stop.cancel();
                }
            });
        }
        server::serve_http(store, Arc::new(auth), listener, settings, shutdown).await?;
        anyhow::Ok(())
    })?;
    Ok(ExitStatus::Success)
}

/// Client tokens from `[token]` (audience `[memory] audience`) and gateway assertions from
/// `[memory.assertion]`.
fn authenticator(
    g: &GlobalArgs,
    loaded: &Loaded,
    env_files: &[PathBuf],
) -> anyhow::Result<Authenticator> {
    let token = super::token::load(g)?;
    let lookup = env_lookup(env_files).map_err(|p| token.problem(p))?;
    let ring = token
        .section
        .ring(&token.base, &lookup, &Default::default())
        .map_err(|p| token.problem(p))?;
    let policy = token.section.policy().map_err(|p| token.problem(p))?;
    let tokens =
        (!ring.keys().is_empty() || ring.jwks().is_some()).then(|| Verifier::new(ring, policy));
    let audience = loaded.section.audience();
    let assertions = match &loaded.section.assertion {
        None => None,
        Some(a) => Some(assertion_verifier(
            loaded,
            &token.base,
            a,
            audience,
            &lookup,
        )?),
    };
    Authenticator::new(tokens, audience, assertions).map_err(anyhow::Error::msg)
}

fn assertion_verifier(
    loaded: &Loaded,
    base: &Path,
    a: &AssertionSection,
    audience: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<AssertionVerifier> {
    let err = |key: &str, m: String| anyhow::Error::from(loaded.config.key_error(key, &m));
    let alg = match &a.alg {
        Some(s) => {
            Some(vigil_token::keyring::parse_alg(s).map_err(|m| err("memory.assertion.alg", m))?)
        }
        None => None,
    };
    let key = match (&a.public_key, &a.secret_env) {
        (Some(p), None) => Key::from_pem_files(None, alg, Some(&base.join(p)), None)
            .map_err(|e| err("memory.assertion.public_key", e.to_string()))?,
        (None, Some(var)) => {
            let Some(secret) = lookup(var).filter(|s| !s.is_empty()) else {
                return Err(err(
                    "memory.assertion.secret_env",
                    format!("{var} is not set"),
                ));
            };
            vigil_core::redact::register(&secret);
            if secret.len() < 32 {
                return Err(err(
                    "memory.assertion.secret_env",
                    format!("{var} is shorter than 32 bytes"),
                ));
            }
            Key::hmac(
                var,
                secret.as_bytes(),
                alg.unwrap_or(vigil_token::Algorithm::HS256),
            )
            .map_err(|e| err("memory.assertion.secret_env", e.to_string()))?
            .verify_only()
        }
        _ => {
            return Err(err(
                "memory.assertion",
                "give exactly one of public_key or secret_env".into(),
            ))
        }
    };
    let mut ring = KeyRing::new();
    ring.push(key);
    let max = a
        .max_lifetime
        .map_or(60, |d| d.as_secs())
        .min(vigil_token::assertion::MAX_LIFETIME);
    Ok(AssertionVerifier::new(
        ring,
        a.issuer.as_deref().unwrap_or("vigil-gateway"),
        a.audience.as_deref().unwrap_or(audience),
        max,
    ))
}

fn verify(g: &GlobalArgs, a: VerifyArgs) -> anyhow::Result<ExitStatus> {
    let (_, store) = open(g, &a.root, false)?;
    let report = store.verify()?;
    let mut problems: Vec<(String, String)> = report
        .chain
        .problems
        .iter()
        .map(|p| (p.code().to_owned(), format!("audit log: {p}")))
        .collect();
    problems.extend(
        report
            .files
            .iter()
            .map(|f| (f.code.to_owned(), f.message.clone())),
    );
    match a.format {
        OutputFormat::Json => {
            let v = serde_json::json!({
                "intact": report.is_intact(),
                "records": report.chain.records.len(),
                "head": report.chain.head.as_ref().map(|h| serde_json::json!({"seq": h.seq, "hash": h.hash})),
                "files_checked": report.files_checked,
                "problems": problems.iter().map(|(c, m)| serde_json::json!({"code": c, "message": m})).collect::<Vec<_>>(),
            });
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        OutputFormat::Text => {
            for (_, m) in &problems {
                println!("{m}");
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

fn parse_since(s: &str) -> anyhow::Result<SystemTime> {
    if let Ok(t) = humantime::parse_rfc3339_weak(s) {
        return Ok(t);
    }
    if let Ok(t) = humantime::parse_rfc3339_weak(&format!("{s} 00:00:00")) {
        return Ok(t);
    }
    let d = vigil_core::duration::parse(s).map_err(|_| {
        anyhow::anyhow!("--since: `{s}` is neither an RFC 3339 time nor a duration like 2h or 7d")
    })?;
    Ok(SystemTime::now() - d)
}

fn log(g: &GlobalArgs, a: LogArgs) -> anyhow::Result<ExitStatus> {
    let (_, store) = open(g, &a.root, false)?;
    let since = a.since.as_deref().map(parse_since).transpose()?;
    let path = match &a.path {
        Some(p) => Some(vigil_memory::name::dir_path(p)?.as_string()),
        None => None,
    };
    let changes = store.changes(path.as_deref().filter(|p| !p.is_empty()), since)?;
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
