//! `vigil token inspect`: decode a token WITHOUT verifying it, say so loudly, and point out what
//! verification would refuse (alg none, no exp, expired, duplicate keys…).

use super::{read_token, OutputFormat};
use clap::Args;
use serde_json::json;
use std::io::IsTerminal as _;
use vigil_core::ExitStatus;
use vigil_token::inspect::{inspect, WARNING};

/// Arguments of `vigil token inspect`.
#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// The token; `-` or nothing reads it from stdin.
    pub token: Option<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

/// Runs `vigil token inspect`.
pub(super) fn run(args: InspectArgs) -> anyhow::Result<ExitStatus> {
    let token = read_token(args.token.as_deref())?;
    let i = inspect(&token, vigil_token::time::now()?)?;
    let loud = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    if loud {
        eprintln!("\x1b[1;31m{WARNING}\x1b[0m");
    } else {
        eprintln!("{WARNING}");
    }
    match args.format {
        OutputFormat::Text => {
            println!("header: {}", serde_json::to_string_pretty(&i.header)?);
            println!("claims: {}", serde_json::to_string_pretty(&i.claims)?);
            for n in &i.notes {
                println!("note: {n}");
            }
        }
        OutputFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "verified": false,
                "warning": WARNING,
                "header": i.header,
                "claims": i.claims,
                "notes": i.notes,
            }))?
        ),
    }
    Ok(ExitStatus::Success)
}
