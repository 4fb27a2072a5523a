//! `vigil seal run --env-file F -- cmd args…`: starts `cmd` (replacing this process) with the
//! env files' values in its environment, sealed ones decrypted in memory; nothing is written to
//! disk, and every `VIGIL_SEAL_*` variable is removed from the child's environment (and any
//! `--unset` one). Loader hooks from the files and sealed keys turned plaintext are refused
//! (`vigil_seal::run`).

use super::{context, ring};
use crate::cli::GlobalArgs;
use clap::Args;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use vigil_core::ExitStatus;
use vigil_seal::ring::VAR_PREFIX;
use vigil_seal::run::{values, Allow, Source};

/// Arguments of `vigil seal run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// An env file to load (repeatable; later files win).
    #[arg(long = "env-file", required = true, value_name = "FILE")]
    pub env_files: Vec<PathBuf>,
    /// Let the files' values replace variables already set (by default those are kept, as
    /// dotenv and dotenvx do).
    #[arg(long = "override")]
    pub override_env: bool,
    /// The environment the values are bound to [default: where vigil env places each file].
    /// With it, a file outside any project (a deployed copy) can be run.
    #[arg(long, value_name = "NAME")]
    pub environment: Option<String>,
    /// Further fields the values were bound to with `seal env --context`.
    #[arg(long, value_name = "NAME=VALUE,…")]
    pub context: Vec<String>,
    /// Let the files set this loader or interpreter hook (LD_PRELOAD, PYTHONPATH, NODE_OPTIONS,
    /// PATH…), refused by default (repeatable).
    #[arg(long = "allow-var", value_name = "NAME")]
    pub allow_var: Vec<String>,
    /// Let this key be plaintext although the fingerprint index records it as sealed
    /// (repeatable).
    #[arg(long = "allow-plaintext", value_name = "KEY")]
    pub allow_plaintext: Vec<String>,
    /// Remove this variable from the child's environment too (e.g. FERNET_KEY or a master
    /// secret the command no longer needs; repeatable).
    #[arg(long, value_name = "NAME")]
    pub unset: Vec<String>,
    /// The command and its arguments.
    #[arg(required = true, last = true, value_name = "CMD")]
    pub command: Vec<std::ffi::OsString>,
}

/// Runs `vigil seal run`.
pub(super) fn run(g: &GlobalArgs, a: RunArgs) -> anyhow::Result<ExitStatus> {
    let ring = ring()?;
    let extra = context(&a.context)?;
    // Each file in its project (for its placement and fingerprint index); with --environment a
    // file in no project is run all the same, without the index's check.
    let mut projects = Vec::new();
    for f in &a.env_files {
        match super::project_if_any(g, f)? {
            Some(p) => projects.push(Some(p)),
            None if a.environment.is_some() => projects.push(None),
            None => return Err(vigil_seal::project::no_project(f).into()),
        }
    }
    let mut sources = Vec::new();
    for (f, p) in a.env_files.iter().zip(&projects) {
        let placed = match p {
            Some(p) => p.place(f, a.environment.as_deref())?,
            None => vigil_seal::Placed {
                path: f.clone(),
                rel: f.clone(),
                environment: a.environment.clone().unwrap_or_default(),
            },
        };
        sources.push(Source {
            placed,
            project: p.as_ref(),
        });
    }
    let allow = Allow {
        vars: a.allow_var.clone(),
        plaintext: a.allow_plaintext.clone(),
    };
    let values = values(&ring, &sources, &extra, &allow)?;
    drop(ring);
    let (prog, args) = a.command.split_first().expect("clap requires a command");
    let mut cmd = std::process::Command::new(prog);
    cmd.args(args);
    for (k, _) in std::env::vars_os() {
        if k.as_bytes().starts_with(VAR_PREFIX.as_bytes()) {
            cmd.env_remove(&k);
        }
    }
    for k in &a.unset {
        cmd.env_remove(k);
    }
    let mut kept = Vec::new();
    for (k, v) in &values {
        if v.as_bytes().contains(&0) {
            anyhow::bail!(
                "`{k}`: the value holds a NUL byte and cannot be passed in an environment"
            );
        }
        if a.unset.contains(k) {
            continue;
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
