//! `vigil seal encrypt` and `decrypt`: one value through stdin/stdout or `--in`/`--out` (written
//! atomically, `0600`), as a context-bound `vseal:` value or a Fernet token.

use super::{context, read_plaintext, read_text, ring, write_out, FernetArgs, ValueFormat};
use crate::cli::GlobalArgs;
use anyhow::bail;
use clap::Args;
use std::path::PathBuf;
use vigil_core::ExitStatus;

/// Options encrypt and decrypt share.
#[derive(Debug, Args)]
pub(crate) struct CommonArgs {
    /// What the value is bound to: name=value pairs, e.g. user=alice,field=openrouter_key
    /// (required for vseal; Fernet binds none).
    #[arg(long, value_name = "NAME=VALUE,…")]
    pub context: Vec<String>,
    /// vseal (default) or fernet.
    #[arg(long, value_enum, default_value_t = ValueFormat::Vseal)]
    pub format: ValueFormat,
    /// Read from this file (its exact bytes; - is stdin's exact bytes) instead of stdin
    /// without its final newline.
    #[arg(long = "in", value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Write to this file (atomically, mode 0600; a symbolic link is refused; - is stdout)
    /// instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The Fernet key, for --format fernet.
    #[command(flatten)]
    pub fernet: FernetArgs,
}

/// Arguments of `vigil seal encrypt`.
#[derive(Debug, Args)]
pub(crate) struct EncryptArgs {
    /// Shared options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Arguments of `vigil seal decrypt`.
#[derive(Debug, Args)]
pub(crate) struct DecryptArgs {
    /// Shared options.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Fernet only: refuse tokens older than this (e.g. 15m, 1d); also checks clock skew.
    #[arg(long, value_name = "DURATION")]
    pub ttl: Option<String>,
}

fn check_context(c: &CommonArgs) -> anyhow::Result<vigil_seal::Context> {
    let ctx = context(&c.context)?;
    match c.format {
        ValueFormat::Vseal if ctx.is_empty() => {
            bail!("--context is required: what the value belongs to, e.g. --context user=alice,field=openrouter_key")
        }
        ValueFormat::Fernet if !ctx.is_empty() => {
            bail!("--context: a Fernet token cannot be bound to a context; drop --context or use the vseal format")
        }
        _ => Ok(ctx),
    }
}

/// Runs `vigil seal encrypt`.
pub(super) fn encrypt(a: EncryptArgs) -> anyhow::Result<ExitStatus> {
    let c = &a.common;
    let ctx = check_context(c)?;
    let out = match c.format {
        ValueFormat::Vseal => {
            let ring = ring()?;
            vigil_seal::seal(&ring, &ctx, read_plaintext(c.input.as_deref())?.as_bytes())?
        }
        ValueFormat::Fernet => {
            let f = c.fernet.fernet_to_encrypt()?;
            f.encrypt(read_plaintext(c.input.as_deref())?.as_bytes())?
        }
    };
    write_out(c.out.as_deref(), format!("{out}\n").as_bytes())?;
    Ok(ExitStatus::Success)
}

/// Runs `vigil seal decrypt`.
pub(super) fn decrypt(g: &GlobalArgs, a: DecryptArgs) -> anyhow::Result<ExitStatus> {
    let c = &a.common;
    let ctx = check_context(c)?;
    let p = match c.format {
        ValueFormat::Vseal => {
            if a.ttl.is_some() {
                bail!("--ttl applies to Fernet tokens only");
            }
            let ring = ring()?;
            let text = read_text(c.input.as_deref(), vigil_seal::value::MAX_TEXT)?;
            vigil_seal::open(&ring, &ctx, &text)?
        }
        ValueFormat::Fernet => {
            let ttl = a
                .ttl
                .as_deref()
                .map(vigil_core::duration::parse)
                .transpose()
                .map_err(|m| anyhow::anyhow!("--ttl: {m}"))?
                .map(|d| d.as_secs());
            let f = c.fernet.fernet_to_decrypt(g)?;
            let text = read_text(c.input.as_deref(), vigil_seal::fernet::MAX_TOKEN)?;
            f.decrypt(&text, ttl)?
        }
    };
    write_out(c.out.as_deref(), p.as_bytes())?;
    Ok(ExitStatus::Success)
}
