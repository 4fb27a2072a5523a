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
use std::io::Write;
use std::path::{Path, PathBuf};
use vigil_core::ExitStatus;
use vigil_seal::{Context, Fernet, KeyRing, KeySource, Plaintext};

/// Arguments of `vigil seal`.
#[derive(Debug, Args)]
pub(crate) struct SealArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: SealCommand,
}

/// The `vigil seal` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum SealCommand {
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
pub(crate) fn run(g: &GlobalArgs, args: SealArgs) -> anyhow::Result<ExitStatus> {
    match args.command {
        SealCommand::Keygen(a) => keygen::run(a),
        SealCommand::Encrypt(a) => crypt::encrypt(a),
        SealCommand::Decrypt(a) => crypt::decrypt(g, a),
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
pub(crate) enum ValueFormat {
    /// `vseal:v1:…`, bound to a context.
    #[default]
    Vseal,
    /// A Fernet token, as Python's `cryptography` makes (binds no context).
    Fernet,
}

/// Where a Fernet key comes from.
#[derive(Debug, Args, Clone)]
pub(crate) struct FernetArgs {
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
    pub(crate) fn fernet(&self) -> anyhow::Result<Fernet> {
        let source: KeySource = self.fernet_key_from.parse()?;
        let value = zeroize::Zeroizing::new(std::env::var(&self.fernet_env).map_err(|_| {
            anyhow::anyhow!(
                "`{}` is not set (it must hold the Fernet key or master secret)",
                self.fernet_env
            )
        })?);
        Fernet::from_secret(&value, &source).with_context(|| self.what())
    }

    fn what(&self) -> String {
        format!(
            "{} (--fernet-key-from {})",
            self.fernet_env, self.fernet_key_from
        )
    }

    /// The Fernet keys to encrypt with: a weak key or master secret (not random, empty, a known
    /// default, guessable) is refused.
    pub(crate) fn fernet_to_encrypt(&self) -> anyhow::Result<Fernet> {
        let f = self.fernet()?;
        if let Some(w) = f.weakness() {
            anyhow::bail!("{}: {w}; refusing to encrypt under it", self.what());
        }
        Ok(f)
    }

    /// The Fernet keys to decrypt with: a weak one still opens what it sealed (that is how data
    /// gets off it), with a warning.
    pub(crate) fn fernet_to_decrypt(&self, g: &GlobalArgs) -> anyhow::Result<Fernet> {
        let f = self.fernet()?;
        if let (Some(w), false) = (f.weakness(), g.quiet) {
            eprintln!(
                "vigil: warning: {}: {w}; tokens under it are only as safe as that: move them to a strong key",
                self.what()
            );
        }
        Ok(f)
    }
}

/// The key ring from the environment.
pub(crate) fn ring() -> anyhow::Result<KeyRing> {
    Ok(KeyRing::from_env()?)
}

/// A context from `--context` options (each `name=value,…`).
pub(crate) fn context(specs: &[String]) -> anyhow::Result<Context> {
    let mut c = Context::new();
    for s in specs {
        c.extend_from_spec(s)?;
    }
    Ok(c)
}

/// Whether an `--in`/`--out` path means stdin/stdout.
fn is_dash(p: &Path) -> bool {
    p.as_os_str() == "-"
}

/// The plaintext to seal: with `--in FILE`, the file's exact bytes; with `--in -`, stdin's exact
/// bytes; without `--in`, stdin without one final newline (which `echo` and here-strings add).
/// At most [`vigil_seal::value::MAX_PLAINTEXT`] bytes are taken; more is refused after reading
/// one byte past the limit.
pub(crate) fn read_plaintext(path: Option<&Path>) -> anyhow::Result<Plaintext> {
    let limit = vigil_seal::value::MAX_PLAINTEXT;
    let bytes = match path {
        Some(p) if !is_dash(p) => {
            let f = std::fs::File::open(p)
                .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", p.display()))?;
            vigil_seal::input::read_limited(f, limit, &p.display().to_string())?
        }
        Some(_) => vigil_seal::input::read_limited(std::io::stdin().lock(), limit, "stdin")?,
        None => {
            // Room for the line end that is dropped.
            let too_large = || vigil_seal::SealError::InputTooLarge {
                what: "stdin".into(),
                limit,
            };
            let mut b =
                vigil_seal::input::read_limited(std::io::stdin().lock(), limit + 2, "stdin")
                    .map_err(|e| match e {
                        vigil_seal::SealError::InputTooLarge { .. } => too_large(),
                        e => e,
                    })?;
            if b.ends_with(b"\n") {
                b.pop();
                if b.ends_with(b"\r") {
                    b.pop();
                }
            }
            if b.len() > limit {
                return Err(too_large().into());
            }
            b
        }
    };
    Ok(Plaintext::new(bytes))
}

/// Text (a sealed value or token) from a file or stdin (`-` or no path), trimmed; at most
/// `limit` bytes, and UTF-8 (the error names where it came from).
pub(crate) fn read_text(path: Option<&Path>, limit: usize) -> anyhow::Result<String> {
    let (what, bytes) = match path {
        Some(p) if !is_dash(p) => {
            let f = std::fs::File::open(p)
                .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", p.display()))?;
            let what = p.display().to_string();
            let b = vigil_seal::input::read_limited(f, limit, &what)?;
            (what, b)
        }
        _ => (
            "stdin".to_owned(),
            vigil_seal::input::read_limited(std::io::stdin().lock(), limit, "stdin")?,
        ),
    };
    let s = String::from_utf8(bytes).map_err(|_| {
        anyhow::anyhow!("{what}: not UTF-8 text (a sealed value or Fernet token is ASCII)")
    })?;
    Ok(s.trim().to_owned())
}

/// Writes bytes to `--out` (atomically, `0600`; `-` is stdout) or to stdout. A symbolic link is
/// refused: writing through it would replace, and make private, whatever file it points to.
pub(crate) fn write_out(path: Option<&Path>, bytes: &[u8]) -> anyhow::Result<()> {
    match path {
        Some(p) if !is_dash(p) => {
            if std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink()) {
                anyhow::bail!(
                    "{}: is a symbolic link; refused (writing through it would replace the file it points to): give the real path, or - for stdout",
                    p.display()
                );
            }
            vigil_core::fsx::write_private(p, bytes)
                .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", p.display()))
        }
        _ => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes).context("stdout")?;
            out.flush().context("stdout")
        }
    }
}

/// The project of a file (`--config`'s folder, else the nearest `vigil.toml` or git work tree
/// above the file): where `.vigil/` (the env lock, journal and fingerprint index) lives, and the
/// environment model that places env files. Its `vigil.toml` may hold only known sections.
pub(crate) fn project(g: &GlobalArgs, file: &Path) -> anyhow::Result<vigil_seal::Project> {
    project_if_any(g, file)?.ok_or_else(|| vigil_seal::project::no_project(file).into())
}

/// [`project`], or `None` for a file in no project (no `vigil.toml`, no git work tree above it,
/// no `--config`). A project whose `vigil.toml` is broken is an error, never `None`.
pub(crate) fn project_if_any(
    g: &GlobalArgs,
    file: &Path,
) -> anyhow::Result<Option<vigil_seal::Project>> {
    let Some(config) = vigil_seal::project::find_config(g.config.as_deref(), file)? else {
        return Ok(None);
    };
    config.check_sections(crate::commands::SECTIONS)?;
    Ok(Some(vigil_seal::Project::new(&config)?))
}

/// The one project of several env files, each placed in it (`environment` overrides the
/// environment their paths give). Files of two projects are refused: one run, one lock.
pub(crate) fn project_of_files(
    g: &GlobalArgs,
    files: &[PathBuf],
    environment: Option<&str>,
) -> anyhow::Result<(vigil_seal::Project, Vec<vigil_seal::Placed>)> {
    let first = files.first().context("no env file given")?;
    let p = project(g, first)?;
    for f in files {
        if !p.contains(f) {
            anyhow::bail!(
                "{}: in another project than {} (root {}); give the files of one project per run",
                f.display(),
                first.display(),
                p.root().display()
            );
        }
    }
    let placed = p.place_all(files, environment)?;
    Ok((p, placed))
}
