//! `vigil seal run --env-file F -- cmd args…`: starts `cmd` (replacing this process) with the
//! env files' values in its environment, sealed ones decrypted in memory; nothing is written to
//! disk, and every `VIGIL_SEAL_*` variable is removed from the child's environment.

use super::{context, ring};
use crate::cli::GlobalArgs;
use anyhow::Context as _;
use clap::Args;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use vigil_core::ExitStatus;
use vigil_seal::envfile::{environment_of, open_all};
use vigil_seal::ring::VAR_PREFIX;

/// Arguments of `vigil seal run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// An env file to load (repeatable; later files win).
    #[arg(long = "env-file", required = true, value_name = "FILE")]
    pub env_files: Vec<PathBuf>,
    /// Let the files' values replace variables already set (by default those are kept, as
    /// dotenv and dotenvx do).
    #[arg(long = "override")]
    pub override_env: bool,
    /// The environment the values are bound to [default: from each file's name].
    #[arg(long, value_name = "NAME")]
    pub environment: Option<String>,
    /// Further fields the values were bound to with `seal env --context`.
    #[arg(long, value_name = "NAME=VALUE,…")]
    pub context: Vec<String>,
    /// The command and its arguments.
    #[arg(required = true, last = true, value_name = "CMD")]
    pub command: Vec<std::ffi::OsString>,
}

/// Runs `vigil seal run`.
pub fn run(g: &GlobalArgs, a: RunArgs) -> anyhow::Result<ExitStatus> {
    let ring = ring()?;
    let extra = context(&a.context)?;
    let mut values = Vec::new();
    for f in &a.env_files {
        let shown = f.display().to_string();
        let text = std::fs::read_to_string(f).with_context(|| format!("{shown}: cannot read"))?;
        let env = match &a.environment {
            Some(e) => e.clone(),
            None => environment_of(f)?,
        };
        values.extend(open_all(&ring, &shown, &text, &env, &extra)?);
    }
    drop(ring);
    let (prog, args) = a.command.split_first().expect("clap requires a command");
    let mut cmd = std::process::Command::new(prog);
    cmd.args(args);
    for (k, _) in std::env::vars_os() {
        if k.as_bytes().starts_with(VAR_PREFIX.as_bytes()) {
            cmd.env_remove(&k);
        }
    }
    let mut kept = Vec::new();
    for (k, v) in &values {
        if v.as_bytes().contains(&0) {
            anyhow::bail!(
                "`{k}`: the value holds a NUL byte and cannot be passed in an environment"
            );
        }
        if !a.override_env && std::env::var_os(k).is_some() {
            if !kept.contains(k) {
                kept.push(k.clone());
            }
            continue;
        }
        cmd.env(k, std::ffi::OsStr::from_bytes(v.as_bytes()));
    }
    if !kept.is_empty() && !g.quiet {
        eprintln!(
            "vigil: kept the environment's own {} (use --override to use the files' values)",
            kept.join(", ")
        );
    }
    drop(values);
    let err = cmd.exec();
    eprintln!("vigil: {}: cannot run: {err}", prog.to_string_lossy());
    Ok(ExitStatus::Custom(
        if err.kind() == std::io::ErrorKind::NotFound {
            127
        } else {
            126
        },
    ))
}
