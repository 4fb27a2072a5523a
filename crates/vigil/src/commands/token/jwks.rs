//! `vigil token jwks`: the public JWKS of the ring's asymmetric keys, to publish for the servers
//! (or the gateway) that verify tokens minted here.

use super::{settings, KeyArgs};
use crate::cli::GlobalArgs;
use clap::Args;
use vigil_core::ExitStatus;

/// Arguments of `vigil token jwks`.
#[derive(Debug, Args)]
pub(crate) struct JwksArgs {
    /// Where the keys come from.
    #[command(flatten)]
    pub keys: KeyArgs,
}

/// Runs `vigil token jwks`.
pub(super) fn run(g: &GlobalArgs, args: JwksArgs) -> anyhow::Result<ExitStatus> {
    let (ring, _) = settings(g, &args.keys.env_file)?.keys(&args.keys.overrides())?;
    println!("{}", serde_json::to_string_pretty(&ring.public_set()?)?);
    Ok(ExitStatus::Success)
}
