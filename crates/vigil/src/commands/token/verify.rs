//! `vigil token verify`: check a token against the key ring and the policy; print its claims
//! and the time it has left, or the precise reason it is refused (exit code 1).

use super::{read_token, settings, KeyArgs, OutputFormat};
use crate::cli::GlobalArgs;
use clap::Args;
use serde_json::json;
use vigil_core::ExitStatus;
use vigil_token::key::alg_name;
use vigil_token::rejection::human;
use vigil_token::time::rfc3339;
use vigil_token::Verifier;

/// Arguments of `vigil token verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The token; `-` or nothing reads it from stdin (a `Bearer ` prefix is accepted).
    pub token: Option<String>,
    /// Accept only these audiences (repeatable) [default: [token] audiences; none = any].
    #[arg(long, value_name = "AUD")]
    pub aud: Vec<String>,
    /// Clock skew tolerated on exp/nbf/iat (seconds or 30s, 1m) [default: [token] leeway, 30s].
    #[arg(long, value_name = "DURATION")]
    pub leeway: Option<String>,
    /// Check validity at this time (seconds since the epoch or RFC 3339) instead of now.
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Verify even with a weak or well-known default secret in the key ring (a warning instead
    /// of exit 2); for development only.
    #[arg(long)]
    pub allow_weak_secret: bool,
    /// Where the keys come from.
    #[command(flatten)]
    pub keys: KeyArgs,
}

/// Runs `vigil token verify`.
pub(super) fn run(g: &GlobalArgs, args: VerifyArgs) -> anyhow::Result<ExitStatus> {
    let token = read_token(args.token.as_deref())?;
    let loaded = settings(g, &args.keys.env_file)?;
    let (ring, policy) = loaded.keys(&args.keys.overrides())?;
    // Quoted by a refusal (`expected …`): never a secret (tester 158).
    for a in &args.aud {
        super::refuse_secret_flag("--aud", a)?;
    }
    let policy = policy.with_flags(args.leeway.as_deref(), &args.aud)?;
    // A key anyone can guess (`changeme`, current or previous) proves nothing: refused as mint
    // and the gateway refuse it.
    for w in loaded.refuse_weak(&ring, args.allow_weak_secret)? {
        tracing::warn!("{w}: verifying anyway (--allow-weak-secret); anyone can sign such tokens");
    }
    let now = vigil_token::time::at(args.at.as_deref())?;
    let verifier = Verifier::new(ring, policy);
    match verifier.verify(&token, now) {
        Ok(v) => {
            let key = match (&v.key.kid, v.key.current) {
                (Some(kid), _) => format!("{} (kid {kid})", v.key.label),
                (None, true) => format!("{} (current)", v.key.label),
                (None, false) => format!(
                    "{} (previous: re-mint with the current key soon)",
                    v.key.label
                ),
            };
            let exp = v.claims.exp.unwrap_or(i64::MAX);
            match args.format {
                OutputFormat::Text => {
                    println!(
                        "valid: {} signed by {key}; expires in {} (at {})",
                        alg_name(v.alg),
                        human(v.expires_in),
                        rfc3339(exp)
                    );
                    println!("{}", serde_json::to_string_pretty(&v.claims)?);
                }
                OutputFormat::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({
                        "valid": true,
                        "alg": alg_name(v.alg),
                        "key": { "label": v.key.label, "kid": v.key.kid, "current": v.key.current },
                        "expires_in": v.expires_in,
                        "expires_at": rfc3339(exp),
                        "header": v.header,
                        "claims": v.claims,
                    }))?
                ),
            }
            tracing::debug!(key = %v.key.label, "token verified");
            Ok(ExitStatus::Success)
        }
        Err(r) => {
            match args.format {
                OutputFormat::Text => eprintln!("vigil: token rejected: {r}"),
                OutputFormat::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({
                        "valid": false,
                        "reason": r.code(),
                        "message": r.to_string(),
                    }))?
                ),
            }
            Ok(ExitStatus::Failure)
        }
    }
}
