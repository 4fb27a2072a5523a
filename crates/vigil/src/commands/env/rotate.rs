//! `vigil env rotate`: new random values for tokens, in every env file at once, as one
//! crash-safe transaction; `--dual` moves the current value to the previous variable first.

use super::{open, print_plan, Access, ApplyArgs};
use crate::cli::GlobalArgs;
use clap::Args;
use vigil_core::ExitStatus;
use vigil_env::rotate::RotationRequest;

/// Arguments of `vigil env rotate`.
#[derive(Debug, Args)]
pub(crate) struct RotateArgs {
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
    /// Rotate only in this environment (repeatable): the others keep their value.
    #[arg(long = "environment", value_name = "NAME")]
    pub environments: Vec<String>,
    /// Also rotate names that look issued by a provider (OPENAI_API_KEY, DISCORD_BOT_TOKEN…):
    /// only for a value the provider does not check.
    #[arg(long)]
    pub allow_provider_keys: bool,
    /// Dry run or write, backup, showing values.
    #[command(flatten)]
    pub apply: ApplyArgs,
}

/// Runs `vigil env rotate`.
pub(super) fn run(g: &GlobalArgs, args: RotateArgs) -> anyhow::Result<ExitStatus> {
    let access = if args.apply.write {
        Access::Write
    } else {
        Access::ReadOnly
    };
    let p = open(g, access)?;
    let rotation = p.plan_rotation(&RotationRequest {
        tokens: args.tokens,
        dual: args.dual,
        length: args.length,
        charset: args.charset,
        environments: args.environments,
        allow_provider_keys: args.allow_provider_keys,
    })?;
    let plan = &rotation.plan;
    print_plan(plan, args.apply.show_secrets)?;
    let shapes: Vec<String> = rotation
        .shapes
        .iter()
        .map(|s| {
            format!(
                "{}: {} characters, {:.0} bits, one value per environment ({})",
                s.name,
                s.length,
                s.bits,
                s.environments.join(", ")
            )
        })
        .collect();
    if !args.apply.write {
        if g.quiet {
            return Ok(ExitStatus::Success);
        }
        eprintln!(
            "dry run: {} file(s) would change ({}); add --write to apply",
            plan.files.len(),
            shapes.join("; ")
        );
        return Ok(ExitStatus::Success);
    }
    p.commit(plan, args.apply.backup)?;
    let names: Vec<&str> = plan.values.keys().map(String::as_str).collect();
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
