//! `vigil seal`: encryption at rest for the secrets a bot keeps for its users. One file per
//! subcommand; this one holds what they share: the key ring, contexts, plaintext in and out, the
//! Fernet key options and the project root. All logic is in `vigil-seal`.

mod check;
mod crypt;
mod env;
mod find;
mod keygen;
mod migrate;
mod rotate;
mod run;
mod store;

use crate::cli::GlobalArgs;
use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use vigil_core::{Config, ExitStatus};
use vigil_seal::{Context, Fernet, KeyRing, KeySource, Plaintext};

/// Arguments of `vigil seal`.
#[derive(Debug, Args)]
pub struct SealArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: SealCommand,
}

/// The `vigil seal` subcommands.
#[derive(Debug, Subcommand)]
pub enum SealCommand {
    /// Print a new key line for VIGIL_SEAL_KEYS (or a Fernet key).
    Keygen(keygen::KeygenArgs),
    /// Seal a value from stdin (or --in) for a context; prints the sealed value.
    Encrypt(crypt::EncryptArgs),
    /// Open a sealed value from stdin (or --in) with its context; prints the plaintext.
    Decrypt(crypt::DecryptArgs),
    /// Per-user secrets in a SQLite store: put, get, list, rm.
    Store(store::StoreArgs),
    /// Seal chosen values of .env files in place (dry run unless --write).
    Env(env::EnvArgs),
    /// Run a command with the sealed values of .env files decrypted into its environment.
    Run(run::RunArgs),
    /// Re-encrypt every value under the primary key; report key ids no longer used.
    Rotate(rotate::RotateArgs),
    /// Convert a Fernet column of an application table to sealed values (or back).
    Migrate(migrate::MigrateArgs),
    /// Find where a leaked plaintext (stdin) is stored, by keyed fingerprint; exit 1 if found.
    Find(find::FindArgs),
    /// Report SQLite files tracked by git that hold a seal store or user data; exit 1 if any.
    Check(check::CheckArgs),
}

/// Runs a `vigil seal` subcommand.
pub fn run(g: &GlobalArgs, args: SealArgs) -> anyhow::Result<ExitStatus> {
    match args.command {
        SealCommand::Keygen(a) => keygen::run(a),
        SealCommand::Encrypt(a) => crypt::encrypt(a),
        SealCommand::Decrypt(a) => crypt::decrypt(a),
        SealCommand::Store(a) => store::run(g, a),
        SealCommand::Env(a) => env::run(g, a),
        SealCommand::Run(a) => run::run(g, a),
        SealCommand::Rotate(a) => rotate::run(g, a),
        SealCommand::Migrate(a) => migrate::run(g, a),
        SealCommand::Find(a) => find::run(g, a),
        SealCommand::Check(a) => check::run(g, a),
    }
}

/// `--format` of encrypt and decrypt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ValueFormat {
    /// `vseal:v1:…`, bound to a context.
    #[default]
    Vseal,
    /// A Fernet token, as Python's `cryptography` makes (binds no context).
    Fernet,
}

/// Where a Fernet key comes from.
#[derive(Debug, Args, Clone)]
pub struct FernetArgs {
    /// Environment variable holding the Fernet key (or the master secret, with --fernet-key-from).
    #[arg(long, value_name = "VAR", default_value = "FERNET_KEY")]
    pub fernet_env: String,
    /// How the variable becomes a key: key (a Fernet key; several comma-separated act like
    /// MultiFernet), sha256 (base64url(SHA-256(secret))), or pbkdf2:<salt>:<iterations>
    /// (PBKDF2-HMAC-SHA256; salt as text, or b64:… / hex:…).
    #[arg(long, value_name = "HOW", default_value = "key")]
    pub fernet_key_from: String,
}

impl FernetArgs {
    /// The Fernet keys.
    pub fn fernet(&self) -> anyhow::Result<Fernet> {
        let source: KeySource = self.fernet_key_from.parse()?;
        let value = zeroize::Zeroizing::new(std::env::var(&self.fernet_env).map_err(|_| {
            anyhow::anyhow!(
                "`{}` is not set (it must hold the Fernet key or master secret)",
                self.fernet_env
            )
        })?);
        Fernet::from_secret(&value, &source).with_context(|| {
            format!(
                "{} (--fernet-key-from {})",
                self.fernet_env, self.fernet_key_from
            )
        })
    }
}

/// The key ring from the environment.
pub fn ring() -> anyhow::Result<KeyRing> {
    Ok(KeyRing::from_env()?)
}

/// A context from `--context` options (each `name=value,…`).
pub fn context(specs: &[String]) -> anyhow::Result<Context> {
    let mut c = Context::new();
    for s in specs {
        c.extend_from_spec(s)?;
    }
    Ok(c)
}

/// The plaintext to seal: the file's exact bytes, or stdin without one final newline (which
/// `echo` and here-strings add).
pub fn read_plaintext(path: Option<&Path>) -> anyhow::Result<Plaintext> {
    match path {
        Some(p) => {
            Ok(Plaintext::new(std::fs::read(p).with_context(|| {
                format!("{}: cannot read", p.display())
            })?))
        }
        None => {
            let mut b = Vec::new();
            std::io::stdin().read_to_end(&mut b).context("stdin")?;
            if b.ends_with(b"\n") {
                b.pop();
                if b.ends_with(b"\r") {
                    b.pop();
                }
            }
            Ok(Plaintext::new(b))
        }
    }
}

/// Text (a sealed value or token) from a file or stdin, trimmed.
pub fn read_text(path: Option<&Path>) -> anyhow::Result<String> {
    let mut s = String::new();
    match path {
        Some(p) => {
            s = std::fs::read_to_string(p)
                .with_context(|| format!("{}: cannot read", p.display()))?
        }
        None => {
            std::io::stdin().read_to_string(&mut s).context("stdin")?;
        }
    }
    Ok(s.trim().to_owned())
}

/// Writes bytes to `--out` (atomically, `0600`) or to stdout.
pub fn write_out(path: Option<&Path>, bytes: &[u8]) -> anyhow::Result<()> {
    match path {
        Some(p) => vigil_core::fsx::write_private(p, bytes)
            .with_context(|| format!("{}: cannot write", p.display())),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes).context("stdout")?;
            out.flush().context("stdout")
        }
    }
}

/// The project root (the directory of `vigil.toml`, else the working directory): where
/// `.vigil/` (the env lock, journal and fingerprint index) lives.
pub fn root(g: &GlobalArgs) -> anyhow::Result<PathBuf> {
    let config = Config::discover(g.config.as_deref(), Path::new("."))?;
    let dir = config
        .path()
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::canonicalize(dir)
        .with_context(|| format!("{}: cannot open the project directory", dir.display()))
}
