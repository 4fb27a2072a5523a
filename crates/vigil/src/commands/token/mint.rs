//! `vigil token mint`: a token for one MCP server, signed with the ring's current key.

use super::{settings, KeyArgs};
use crate::cli::GlobalArgs;
use clap::Args;
use vigil_core::ExitStatus;
use vigil_token::{MintFlags, MintRequest};

/// Arguments of `vigil token mint`.
#[derive(Debug, Args)]
pub(crate) struct MintArgs {
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
pub(super) fn run(g: &GlobalArgs, args: MintArgs) -> anyhow::Result<ExitStatus> {
    let loaded = settings(g, &args.keys.env_file)?;
    let (ring, policy) = loaded.keys(&args.keys.overrides())?;
    // Judged as given, before any message can quote them (tester 158: a refused `--aud`
    // holding a route credential was quoted in "is not one of the configured audiences").
    let flags = args
        .aud
        .iter()
        .map(|a| ("--aud", a.as_str()))
        .chain(args.sub.iter().map(|s| ("--sub", s.as_str())))
        .chain(args.claims.iter().map(|c| ("--claim", c.as_str())));
    for (flag, text) in flags {
        super::refuse_secret_flag(flag, text)?;
    }
    let req = MintRequest::from_flags(
        &MintFlags {
            audiences: args.aud,
            ttl: args.ttl,
            subject: args.sub,
            claims: args.claims,
        },
        &policy,
    )?;
    // A token's claims are read by whoever holds it: none may carry one of the gateway's or
    // the ring's secrets (tester 153: `--aud "$MCP_JWT_SECRET"` wrote the signing secret into
    // the token, and the gateway's route audience sent it upstream).
    let fields = req
        .audiences
        .iter()
        .map(|a| ("--aud", a.clone()))
        .chain(req.subject.iter().map(|s| ("--sub", s.clone())))
        .chain(req.issuer.iter().map(|i| ("[token] issuer", i.clone())))
        .chain(
            req.claims
                .iter()
                .map(|(k, v)| ("--claim", format!("{k}={v}"))),
        );
    // Also any value of a variable named as a secret (`VIGIL_GATEWAY_AUDIT_KEY` through
    // `[token] issuer = "${…}"`, tester 155): mint reads only the signing secrets itself.
    for (flag, text) in fields {
        super::refuse_secret_flag(flag, &text)?;
    }
    let key = ring.signer()?;
    // Every secret of the ring, the previous one too: it never signs here, but whoever holds a
    // weak previous secret can sign tokens the gateway accepts (as verify and check-config say).
    for w in loaded.refuse_weak(&ring, args.allow_weak_secret)? {
        tracing::warn!(
            "{w}: minting anyway (--allow-weak-secret); never use it outside development"
        );
    }
    let token = vigil_token::mint(key, &req, vigil_token::time::now()?, policy.max_ttl)?;
    tracing::info!(key = %key.label, aud = ?req.audiences, ttl = req.ttl, "token minted");
    println!("{token}");
    Ok(ExitStatus::Success)
}
