//! `vigil token jwks`: the public JWKS of the ring's asymmetric keys, to publish for the servers
//! (or the gateway) that verify tokens minted here.

use super::{load_with, KeyArgs};
use crate::cli::GlobalArgs;
use clap::Args;
use vigil_core::ExitStatus;

/// Arguments of `vigil token jwks`.
#[derive(Debug, Args)]
pub struct JwksArgs {
    /// Where the keys come from.
    #[command(flatten)]
    pub keys: KeyArgs,
}

/// Runs `vigil token jwks`.
pub fn run(g: &GlobalArgs, args: JwksArgs) -> anyhow::Result<ExitStatus> {
    let loaded = load_with(g, &args.keys.env_file)?;
    let (ring, _) = loaded.ring(&args.keys)?;
    let keys: Vec<_> = ring.keys().iter().filter_map(|k| k.public_jwk()).collect();
    if keys.is_empty() {
        anyhow::bail!(
            "the ring has no asymmetric key to publish (HMAC secrets are never published)"
        );
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({ "keys": keys }))?
    );
    Ok(ExitStatus::Success)
}
