//! `vigil hook install`: a plain git hook that runs `vigil scan --staged` before every commit
//! (and, with `--pre-push`, `vigil scan --pre-push` before every push). A hook Vigil did not
//! write is never overwritten without `--force`, and then it is kept beside as `<hook>.bak`.

use anyhow::{bail, Context as _};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use vigil_core::ExitStatus;

/// The line that marks a hook as Vigil's.
const MARKER: &str = "# installed by `vigil hook install`";

/// Arguments of `vigil hook`.
#[derive(Debug, Args)]
pub struct HookArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: HookCommand,
}

/// The `vigil hook` subcommands.
#[derive(Debug, Subcommand)]
pub enum HookCommand {
    /// Write .git/hooks/pre-commit (and pre-push with --pre-push).
    Install(InstallArgs),
}

/// Arguments of `vigil hook install`.
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// The repository [default: the one containing the working directory].
    #[arg(default_value = ".")]
    pub repo: PathBuf,
    /// Also install a pre-push hook.
    #[arg(long)]
    pub pre_push: bool,
    /// Replace a hook Vigil did not write (it is kept as <hook>.bak).
    #[arg(long)]
    pub force: bool,
}

/// Runs `vigil hook`.
pub fn run(args: HookArgs) -> anyhow::Result<ExitStatus> {
    let HookCommand::Install(a) = args.command;
    let repo = vigil_scan::git::open(&a.repo)?;
    let hooks = repo.git_dir().join("hooks");
    std::fs::create_dir_all(&hooks)
        .with_context(|| format!("{}: cannot create", hooks.display()))?;
    let mut wanted = vec![("pre-commit", "vigil scan --staged")];
    if a.pre_push {
        wanted.push(("pre-push", "vigil scan --pre-push"));
    }
    for (name, _) in &wanted {
        let path = hooks.join(name);
        if let Ok(existing) = std::fs::read_to_string(&path) {
            if !existing.contains(MARKER) && !a.force {
                bail!(
                    "{}: a hook Vigil did not write is there; merge `vigil scan --staged` into it by hand, or use --force (it is kept as {name}.bak)",
                    path.display()
                );
            }
        }
    }
    for (name, command) in wanted {
        let path = hooks.join(name);
        if let Ok(existing) = std::fs::read_to_string(&path) {
            if !existing.contains(MARKER) {
                let bak = hooks.join(format!("{name}.bak"));
                std::fs::rename(&path, &bak)
                    .with_context(|| format!("{}: cannot keep the old hook", bak.display()))?;
                eprintln!("vigil: kept the previous {name} hook as {}", bak.display());
            }
        }
        let body = format!("#!/bin/sh\n{MARKER}\n# Refuses the {name} when vigil finds a secret; bypass once with --no-verify.\nexec {command}\n");
        vigil_core::fsx::atomic_write(&path, body.as_bytes())
            .with_context(|| format!("{}: cannot write", path.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
        }
        eprintln!("vigil: installed {}", path.display());
    }
    Ok(ExitStatus::Success)
}
