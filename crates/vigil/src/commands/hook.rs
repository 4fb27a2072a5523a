//! `vigil hook install`: run `vigil scan --staged` before every commit (and, with `--pre-push`,
//! `vigil scan --pre-push` before every push), installed where git really looks for hooks and
//! the way the repository's hook manager (husky, lefthook, pre-commit) wants them. The logic is
//! `vigil_scan::hooks`; this file maps arguments and says what was done.

use clap::{Args, Subcommand};
use std::path::PathBuf;
use vigil_core::ExitStatus;
use vigil_scan::hooks::{self, Hook, Installed, Options};

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
    /// Install the pre-commit (and with --pre-push the pre-push) hook where git runs hooks.
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
    /// Replace a plain hook Vigil did not write (kept as <hook>.bak, no longer run) instead of
    /// chaining to it.
    #[arg(long)]
    pub force: bool,
}

/// Runs `vigil hook`.
pub fn run(args: HookArgs) -> anyhow::Result<ExitStatus> {
    let HookCommand::Install(a) = args.command;
    let mut wanted = vec![Hook::PreCommit];
    if a.pre_push {
        wanted.push(Hook::PrePush);
    }
    let opts = Options {
        hooks: wanted,
        force: a.force,
        pre_commit_repo: env!("CARGO_PKG_REPOSITORY").to_owned(),
        pre_commit_rev: format!("v{}", env!("CARGO_PKG_VERSION")),
    };
    for done in hooks::install(&a.repo, &opts)? {
        report(&done)?;
    }
    Ok(ExitStatus::Success)
}

/// Says what was done, and plainly when git will not run it yet.
fn report(done: &Installed) -> anyhow::Result<()> {
    match done {
        Installed::Script {
            hook,
            path,
            chained,
            backup,
        } => {
            eprintln!(
                "vigil: installed {}: git runs `{}` before every {}",
                path.display(),
                hook.command(),
                hook.action()
            );
            if let Some(c) = chained {
                eprintln!(
                    "vigil: the hook that was there is kept as {} and runs after vigil",
                    c.display()
                );
            }
            if let Some(b) = backup {
                eprintln!(
                    "vigil: the hook that was there is kept as {} and no longer runs (--force)",
                    b.display()
                );
            }
        }
        Installed::Husky {
            hook,
            path,
            added,
            active,
        } => {
            if *added {
                eprintln!(
                    "vigil: added `{}` first in {} (husky runs it before every {})",
                    hook.command(),
                    path.display(),
                    hook.action()
                );
            } else {
                eprintln!(
                    "vigil: {} already runs `{}`",
                    path.display(),
                    hook.command()
                );
            }
            if !active {
                eprintln!("vigil: husky has not generated its hooks in this clone, so git runs nothing yet: run `npx husky` (npm install does it)");
            }
        }
        Installed::Lefthook {
            hook,
            config,
            added,
            active,
        } => {
            if *added {
                eprintln!(
                    "vigil: added the command `vigil` ({}) to {} under {}",
                    hook.command(),
                    config.display(),
                    hook.name()
                );
            } else {
                eprintln!(
                    "vigil: {} already runs `{}`",
                    config.display(),
                    hook.command()
                );
            }
            if !active {
                eprintln!(
                    "vigil: lefthook's {} hook is not installed in this clone, so git runs nothing yet: run `lefthook install`",
                    hook.name()
                );
            }
        }
        Installed::PreCommit {
            config,
            entry,
            configured,
            active,
        } => {
            if *configured {
                eprintln!(
                    "vigil: {} already runs vigil's hooks; nothing to do",
                    config.display()
                );
            } else {
                print!("{entry}");
                eprintln!(
                    "vigil: pre-commit manages this repository's hooks, so nothing was installed: add the entry above to {} (under `repos:`), then run `pre-commit install --hook-type pre-commit --hook-type pre-push`",
                    config.display()
                );
            }
            if *configured && !active {
                eprintln!("vigil: pre-commit's git hook is not installed in this clone: run `pre-commit install --hook-type pre-commit --hook-type pre-push`");
            }
        }
    }
    Ok(())
}
