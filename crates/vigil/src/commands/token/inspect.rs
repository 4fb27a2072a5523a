//! `vigil token inspect`: decode a token WITHOUT verifying it, say so loudly, and point out what
//! verification would refuse (alg none, no exp, expired, duplicate keys…).

use super::{read_token, rfc3339, OutputFormat};
use clap::Args;
use serde_json::{json, Value};
use std::io::IsTerminal as _;
use vigil_core::ExitStatus;
use vigil_token::parts;
use vigil_token::rejection::human;

/// Arguments of `vigil token inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The token; `-` or nothing reads it from stdin.
    pub token: Option<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

const WARNING: &str = "NOT VERIFIED: decoded without checking the signature or any claim; anyone can forge these contents. Use `vigil token verify`.";

/// Runs `vigil token inspect`.
pub fn run(args: InspectArgs) -> anyhow::Result<ExitStatus> {
    let token = read_token(args.token.as_deref())?;
    let split = parts::split(&token).map_err(|r| anyhow::anyhow!("{r}"))?;
    let decode = |part: &str, what: &str| -> anyhow::Result<(Vec<u8>, Value)> {
        let bytes = parts::b64(part, what).map_err(|r| anyhow::anyhow!("{r}"))?;
        let value = serde_json::from_slice(&bytes)
            .map_err(|_| anyhow::anyhow!("malformed token: {what} is not JSON"))?;
        Ok((bytes, value))
    };
    let (hbytes, header) = decode(split.header, "header")?;
    let (cbytes, claims) = decode(split.claims, "claims")?;
    let mut notes = Vec::new();
    if let Err(r) = parts::header(&hbytes) {
        notes.push(r.to_string());
    }
    match parts::claims(&cbytes) {
        Err(r) => notes.push(r.to_string()),
        Ok(c) => {
            let now = super::now(None)? as i64;
            match c.exp {
                None => {
                    notes.push("no `exp`: verification refuses tokens that never expire".into())
                }
                Some(e) if e <= now => notes.push(format!(
                    "expired {} ago (at {})",
                    human((now - e) as u64),
                    rfc3339(e)
                )),
                Some(e) => notes.push(format!(
                    "expires in {} (at {})",
                    human((e - now) as u64),
                    rfc3339(e)
                )),
            }
            if let Some(n) = c.nbf.filter(|n| *n > now) {
                notes.push(format!("not valid before {}", rfc3339(n)));
            }
        }
    }
    if header
        .get("alg")
        .and_then(Value::as_str)
        .is_some_and(|a| a.eq_ignore_ascii_case("none"))
    {
        notes.push("alg `none`: an unsigned token; verification always refuses it".into());
    }
    for h in ["jku", "x5u", "jwk", "x5c"] {
        if header.get(h).is_some() {
            notes.push(format!(
                "`{h}` header present: Vigil never fetches or trusts keys named by a token"
            ));
        }
    }
    if split.signature.is_empty() {
        notes.push("no signature".into());
    }
    let loud = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    if loud {
        eprintln!("\x1b[1;31m{WARNING}\x1b[0m");
    } else {
        eprintln!("{WARNING}");
    }
    match args.format {
        OutputFormat::Text => {
            println!("header: {}", serde_json::to_string_pretty(&header)?);
            println!("claims: {}", serde_json::to_string_pretty(&claims)?);
            for n in &notes {
                println!("note: {n}");
            }
        }
        OutputFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "verified": false,
                "warning": WARNING,
                "header": header,
                "claims": claims,
                "notes": notes,
            }))?
        ),
    }
    Ok(ExitStatus::Success)
}
