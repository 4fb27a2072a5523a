//! `vigil env rotate`: new random values for tokens, in every env file at once, as one
//! crash-safe transaction; `--dual` moves the current value to the previous variable first.

use super::{commit, open, print_plan, Access, ApplyArgs};
use crate::cli::GlobalArgs;
use anyhow::bail;
use clap::Args;
use vigil_core::ExitStatus;
use vigil_env::generate::{self, Generator};
use vigil_env::rotate::{plan_dual, plan_single};

/// Arguments of `vigil env rotate`.
#[derive(Debug, Args)]
pub struct RotateArgs {
    /// Tokens to rotate, comma-separated [default: [env] tokens].
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    pub tokens: Vec<String>,
    /// Dual secrets to rotate (WEBHOOK_SECRET: _DEFAULT moves to _BACKUP; MCP_JWT_SECRET: moves to
    /// MCP_JWT_SECRET_PREVIOUS), comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "NAME",
        conflicts_with = "tokens"
    )]
    pub dual: Vec<String>,
    /// Length of each new value [default: [env] length, else per kind: 64 for JWT and other
    /// signing secrets, 48 for the rest].
    #[arg(long, value_name = "N")]
    pub length: Option<usize>,
    /// Alphabet: alnum, hex, base64url, lower, or custom:CHARS [default: [env] charset, alnum].
    #[arg(long, value_name = "CHARSET")]
    pub charset: Option<String>,
    /// Dry run or write, backup, showing values.
    #[command(flatten)]
    pub apply: ApplyArgs,
}

/// Runs `vigil env rotate`.
pub fn run(g: &GlobalArgs, args: RotateArgs) -> anyhow::Result<ExitStatus> {
    let access = if args.apply.write {
        Access::Write
    } else {
        Access::ReadOnly
    };
    let p = open(g, access)?;
    let length = args.length.or(p.section.length);
    if let Some(length) = length {
        if !(16..=4096).contains(&length) {
            bail!("--length: {length} is outside 16..=4096 (48 or more is recommended)");
        }
    }
    let spec = args.charset.clone().or_else(|| p.section.charset.clone());
    let alphabet = spec
        .as_deref()
        .map(generate::charset)
        .transpose()
        .map_err(|m| anyhow::anyhow!("--charset: {m}"))?;
    let generator = Generator::new(length, alphabet, p.section.placeholder());
    let mut gen = |name: &str| generator.value(name);
    let plan = if !args.dual.is_empty() {
        plan_dual(&p.files, &args.dual, &p.section, &mut gen)?
    } else {
        let tokens = if args.tokens.is_empty() {
            p.section.tokens.clone().unwrap_or_default()
        } else {
            args.tokens.clone()
        };
        if tokens.is_empty() {
            bail!("say what to rotate: --tokens A,B, --dual NAME, or [env] tokens in vigil.toml");
        }
        plan_single(&p.files, &tokens, &p.section, &mut gen)?
    };
    for v in plan.values.values().flat_map(|m| m.values()) {
        vigil_core::redact::register(v.expose_secret());
    }
    print_plan(&plan, args.apply.show_secrets)?;
    let names: Vec<&str> = plan.values.keys().map(String::as_str).collect();
    let shapes: Vec<String> = plan
        .values
        .iter()
        .map(|(name, per_env)| {
            let (len, n) = generator.spec(name);
            let envs: Vec<&str> = per_env.keys().map(String::as_str).collect();
            format!(
                "{name}: {len} characters, {:.0} bits, one value per environment ({})",
                generate::bits(n, len),
                envs.join(", ")
            )
        })
        .collect();
    if !args.apply.write {
        eprintln!(
            "dry run: {} file(s) would change ({}); add --write to apply",
            plan.files.len(),
            shapes.join("; ")
        );
        return Ok(ExitStatus::Success);
    }
    commit(&p, &plan, args.apply.backup, true)?;
    tracing::info!(names = ?names, files = plan.files.len(), "rotation committed");
    if !g.quiet {
        eprintln!(
            "rotated {} in {} file(s); recorded in .vigil/rotation.toml",
            shapes.join("; "),
            plan.files.len()
        );
    }
    Ok(ExitStatus::Success)
}
