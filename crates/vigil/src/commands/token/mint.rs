//! `vigil token mint`: a token for one MCP server, signed with the ring's current key.

use super::{load, KeyArgs};
use crate::cli::GlobalArgs;
use anyhow::{bail, Context as _};
use clap::Args;
use vigil_core::ExitStatus;
use vigil_token::MintRequest;

/// Arguments of `vigil token mint`.
#[derive(Debug, Args)]
pub struct MintArgs {
    /// Audience: the server the token is for (filesystem, memory, git, vector…); repeatable.
    #[arg(long, required = true, value_name = "AUD")]
    pub aud: Vec<String>,
    /// Lifetime: seconds or 15m, 1h… (at most [token] max_ttl, 1 day by default).
    #[arg(long, default_value = "900", value_name = "DURATION")]
    pub ttl: String,
    /// Subject (who the token is for).
    #[arg(long, value_name = "SUB")]
    pub sub: Option<String>,
    /// An extra claim, KEY=VALUE; VALUE is read as JSON when it parses, else as a string.
    #[arg(long = "claim", value_name = "KEY=VALUE")]
    pub claims: Vec<String>,
    /// Mint even with a weak or well-known default secret (local development only; warns).
    #[arg(long)]
    pub allow_weak_secret: bool,
    /// Where the key comes from.
    #[command(flatten)]
    pub keys: KeyArgs,
}

/// Runs `vigil token mint`.
pub fn run(g: &GlobalArgs, args: MintArgs) -> anyhow::Result<ExitStatus> {
    let loaded = load(g)?;
    let (ring, policy) = loaded.ring(&args.keys)?;
    let ttl = vigil_core::duration::parse(&args.ttl)
        .map_err(|m| anyhow::anyhow!("--ttl: {m}"))?
        .as_secs();
    if !policy.audiences.is_empty() {
        for a in &args.aud {
            if !policy.audiences.contains(a) {
                bail!(
                    "--aud: `{a}` is not one of the configured audiences ({})",
                    policy.audiences.join(", ")
                );
            }
        }
    }
    let mut claims = serde_json::Map::new();
    for c in &args.claims {
        let (k, v) = c.split_once('=').with_context(|| {
            format!(
                "--claim: `{k}` is not KEY=VALUE",
                k = c.split('=').next().unwrap_or("")
            )
        })?;
        let value =
            serde_json::from_str(v).unwrap_or_else(|_| serde_json::Value::String(v.to_owned()));
        claims.insert(k.to_owned(), value);
    }
    let key = ring
        .current()
        .context("no key in the ring can sign (the previous secret and public keys only verify)")?;
    for w in vigil_token::compliance::refuse_weak([key], args.allow_weak_secret)? {
        tracing::warn!(
            "{w}: minting anyway (--allow-weak-secret); never use it outside development"
        );
    }
    let req = MintRequest {
        audiences: args.aud,
        subject: args.sub,
        issuer: policy.issuer.clone(),
        ttl,
        claims,
    };
    let token = vigil_token::mint(key, &req, super::now(None)?, policy.max_ttl)?;
    tracing::info!(key = %key.label, aud = ?req.audiences, ttl, "token minted");
    println!("{token}");
    Ok(ExitStatus::Success)
}
