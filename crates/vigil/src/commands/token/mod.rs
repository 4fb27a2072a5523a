//! `vigil token`: mint, verify and inspect the JWTs that guard MCP servers, print the ring's
//! JWKS, and check the JWT configuration. One file per subcommand; this one holds what they
//! share: the key flags, loading `[token]` (vigil-token's `TokenSettings`), reading a token.

mod check_config;
mod inspect;
mod jwks;
mod mint;
mod verify;

pub(crate) use super::OutputFormat;

use crate::cli::GlobalArgs;
use anyhow::Context as _;
use clap::{Args, Subcommand};
use std::io::Read as _;
use std::path::PathBuf;
use vigil_core::ExitStatus;
use vigil_token::{Overrides, TokenSettings};

/// Arguments of `vigil token`.
#[derive(Debug, Args)]
pub(crate) struct TokenArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: TokenCommand,
}

/// The `vigil token` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
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
pub(crate) struct KeyArgs {
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
pub(crate) fn run(g: &GlobalArgs, args: TokenArgs) -> anyhow::Result<ExitStatus> {
    match args.command {
        TokenCommand::Mint(a) => mint::run(g, a),
        TokenCommand::Verify(a) => verify::run(g, a),
        TokenCommand::Inspect(a) => inspect::run(a),
        TokenCommand::Jwks(a) => jwks::run(g, a),
        TokenCommand::CheckConfig(a) => check_config::run(g, a),
    }
}

impl KeyArgs {
    /// The flags that override `[token]`.
    pub(crate) fn overrides(&self) -> Overrides {
        Overrides {
            secret_env: self.secret_env.clone(),
            key_file: self.key_file.clone(),
            alg: self.alg.clone(),
            kid: self.kid.clone(),
        }
    }
}

/// Refuses a flag's value that holds a secret: the value of a key of the ring or of another
/// variable named as a secret, or a token of a shape the scan rules know. A token's claims are
/// read by whoever holds it, and refusals quote what they refuse.
pub(crate) fn refuse_secret_flag(flag: &str, text: &str) -> anyhow::Result<()> {
    // As written, or percent-, hex- or base64-encoded (tester 161: `--claim note=<base64 of
    // the key>` minted a token that hands its holder the key).
    // The same values as the raw check: registered secrets and the environment's variables
    // named as credentials (tester 162: `UP_KEY` as base64 passed).
    let encoded = || {
        let mut secrets = vigil_core::redact::registered_secrets();
        secrets.extend(vigil_core::redact::secret_env_values());
        // A matcher that cannot be built refuses the flag: the check is never skipped.
        vigil_gateway::credentials::Credentials::new(secrets.iter().map(String::as_str))
            .map_or(true, |c| c.is_some_and(|c| c.in_request(text.as_bytes())))
    };
    if vigil_core::redact::holds_secret_value(text) || encoded() {
        anyhow::bail!("{flag}: holds the value of a secret (a signing key of the ring or another secret Vigil read), as written or encoded; a token's claims are readable by whoever holds it");
    }
    if crate::output::mask(text) != text {
        anyhow::bail!("{flag}: holds what reads as a credential (a token of a known shape, or `password=…`); a token's claims are readable by whoever holds it");
    }
    Ok(())
}

/// `[token]` from `--config` or `./vigil.toml`, `${VAR}` (and secrets) read from these
/// `--env-file`s first, then the environment.
pub(crate) fn settings(g: &GlobalArgs, env_files: &[PathBuf]) -> anyhow::Result<TokenSettings> {
    Ok(TokenSettings::load(&super::project_config(g)?, env_files)?)
}

/// The token from the argument, or stdin (at most 1 MiB) when it is `-` or absent.
pub(crate) fn read_token(arg: Option<&str>) -> anyhow::Result<String> {
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
    Ok(vigil_token::input::token_from_text(&raw)?)
}
