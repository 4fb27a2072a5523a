//! `vigil token`: mint, verify and inspect the JWTs that guard MCP servers, print the ring's
//! JWKS, and check the JWT configuration. One file per subcommand; this one holds what they
//! share: loading `[token]`, the environment lookup, reading a token, the clock.

mod check_config;
mod inspect;
mod jwks;
mod mint;
mod verify;

pub use super::OutputFormat;

use crate::cli::GlobalArgs;
use anyhow::Context as _;
use clap::{Args, Subcommand};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};
use vigil_core::{Config, ExitStatus};
use vigil_token::config::{env_lookup, ConfigProblem, Overrides};
use vigil_token::{KeyRing, Policy, TokenSection};

/// Arguments of `vigil token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: TokenCommand,
}

/// The `vigil token` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Mint a token signed with the ring's current key; prints only the token.
    Mint(mint::MintArgs),
    /// Verify a token against the key ring and policy; prints its claims and time left.
    Verify(verify::VerifyArgs),
    /// Decode a token WITHOUT verifying it (for debugging).
    Inspect(inspect::InspectArgs),
    /// Print the public JWKS of the ring's asymmetric keys.
    Jwks(jwks::JwksArgs),
    /// The JWT configuration compliance gate: strong, distinct secrets; no dev bypass in production.
    CheckConfig(check_config::CheckConfigArgs),
}

/// Where the keys come from, shared by `mint`, `verify` and `jwks`.
#[derive(Debug, Args, Default)]
pub struct KeyArgs {
    /// Read the HMAC secret from this variable [default: [token] secret_env, MCP_JWT_SECRET].
    #[arg(long, value_name = "NAME")]
    pub secret_env: Option<String>,
    /// Use this key instead of the configured ring: a PEM key (private to mint; public needs
    /// --alg) or a file holding an HMAC secret.
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// Algorithm of the secret or key file (HS256, ES256, EdDSA, RS256, …).
    #[arg(long, value_name = "ALG")]
    pub alg: Option<String>,
    /// Key id to put in the header (with --key-file).
    #[arg(long, value_name = "KID")]
    pub kid: Option<String>,
    /// Read variables from this .env file before the process environment (repeatable).
    #[arg(long, value_name = "FILE")]
    pub env_file: Vec<PathBuf>,
}

/// Runs a `vigil token` subcommand.
pub fn run(g: &GlobalArgs, args: TokenArgs) -> anyhow::Result<ExitStatus> {
    match args.command {
        TokenCommand::Mint(a) => mint::run(g, a),
        TokenCommand::Verify(a) => verify::run(g, a),
        TokenCommand::Inspect(a) => inspect::run(a),
        TokenCommand::Jwks(a) => jwks::run(g, a),
        TokenCommand::CheckConfig(a) => check_config::run(g, a),
    }
}

/// `vigil.toml` and its `[token]` section, with the directory relative paths start from.
pub struct Loaded {
    /// The file (or an empty configuration).
    pub config: Config,
    /// `[token]`.
    pub section: TokenSection,
    /// Where relative key paths start.
    pub base: PathBuf,
}

/// Loads `[token]` from `--config` or `./vigil.toml`, `${VAR}` read from the environment.
pub fn load(g: &GlobalArgs) -> anyhow::Result<Loaded> {
    load_with(g, &[])
}

/// Loads `[token]` with `${VAR}` read from these `--env-file`s first, then the environment.
pub fn load_with(g: &GlobalArgs, env_files: &[PathBuf]) -> anyhow::Result<Loaded> {
    let config = Config::discover(g.config.as_deref(), Path::new("."))?;
    config.check_sections(super::SECTIONS)?;
    let lookup = env_lookup(env_files).map_err(|p| anyhow::anyhow!("{}: {}", p.key, p.message))?;
    let section: TokenSection = config.section_with("token", &lookup)?;
    let base = config
        .path()
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_default();
    Ok(Loaded {
        config,
        section,
        base,
    })
}

impl Loaded {
    /// Turns a `[token]` problem into an error that names the file and line (or the flag).
    pub fn problem(&self, p: ConfigProblem) -> anyhow::Error {
        if p.key.starts_with("token") {
            self.config.key_error(&p.key, &p.message).into()
        } else {
            anyhow::anyhow!("{}: {}", p.key, p.message)
        }
    }

    /// The key ring and policy for these key arguments.
    pub fn ring(&self, k: &KeyArgs) -> anyhow::Result<(KeyRing, Policy)> {
        let lookup = env_lookup(&k.env_file).map_err(|p| self.problem(p))?;
        let overrides = Overrides {
            secret_env: k.secret_env.clone(),
            key_file: k.key_file.clone(),
            alg: k.alg.clone(),
            kid: k.kid.clone(),
        };
        let ring = self
            .section
            .ring(&self.base, &lookup, &overrides)
            .map_err(|p| self.problem(p))?;
        let policy = self.section.policy().map_err(|p| self.problem(p))?;
        if ring.keys().is_empty() && ring.jwks().is_none() {
            let var = k.secret_env.as_deref().unwrap_or(self.section.secret_env());
            anyhow::bail!(
                "no key: set {var} (or use --secret-env, --key-file, [token] keys or [token] jwks)"
            );
        }
        Ok((ring, policy))
    }
}

/// The token from the argument, or stdin when it is `-` or absent. Surrounding space and a
/// `Bearer ` prefix are removed; the token is registered for log redaction.
pub fn read_token(arg: Option<&str>) -> anyhow::Result<String> {
    let raw = match arg {
        Some(t) if t != "-" => t.to_owned(),
        _ => {
            let mut s = String::new();
            std::io::stdin()
                .take(1 << 20)
                .read_to_string(&mut s)
                .context("reading the token from stdin")?;
            s
        }
    };
    let t = raw.trim();
    let t = t
        .strip_prefix("Bearer ")
        .or_else(|| t.strip_prefix("bearer "))
        .unwrap_or(t)
        .trim()
        .to_owned();
    if t.is_empty() {
        anyhow::bail!("no token given (pass it as an argument or on stdin)");
    }
    vigil_core::redact::register(&t);
    Ok(t)
}

/// Seconds since the epoch now, or the `--at` time.
pub fn now(at: Option<&str>) -> anyhow::Result<u64> {
    match at {
        None => Ok(SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs()),
        Some(s) => {
            if let Ok(n) = s.parse::<u64>() {
                return Ok(n);
            }
            let t = humantime::parse_rfc3339_weak(s).with_context(|| {
                format!("--at: `{s}` is neither seconds since the epoch nor an RFC 3339 time")
            })?;
            Ok(t.duration_since(UNIX_EPOCH)?.as_secs())
        }
    }
}

/// An RFC 3339 rendering of seconds since the epoch.
pub fn rfc3339(secs: i64) -> String {
    if secs < 0 {
        return secs.to_string();
    }
    match UNIX_EPOCH.checked_add(std::time::Duration::from_secs(secs as u64)) {
        Some(t) if secs < 253_402_300_800 => humantime::format_rfc3339_seconds(t).to_string(),
        _ => secs.to_string(),
    }
}
