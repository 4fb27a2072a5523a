//! `vigil hook install`: run `vigil scan --staged` before every commit (and, with `--pre-push`,
//! `vigil scan --pre-push` before every push), installed where git really looks for hooks and
//! the way the repository's hook manager (husky, lefthook, pre-commit) wants them. The logic is
//! `vigil_scan::hooks`; this file maps arguments and says what was done.

use crate::cli::GlobalArgs;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use vigil_core::logging::printable;
use vigil_core::ExitStatus;
use vigil_scan::hooks::{self, Hook, Installed, Options};

/// Arguments of `vigil hook`.
#[derive(Debug, Args)]
pub(crate) struct HookArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: HookCommand,
}

/// The `vigil hook` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum HookCommand {
    /// Install the pre-commit (and with --pre-push the pre-push) hook where git runs hooks.
    Install(InstallArgs),
}

/// Arguments of `vigil hook install`.
#[derive(Debug, Args)]
pub(crate) struct InstallArgs {
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

/// Runs `vigil hook`. Exit 2 when, afterwards, some worktree of the repository still commits
/// (or pushes) without vigil: what was done is said (unless `-q`), and what is missing always.
pub(crate) fn run(g: &GlobalArgs, args: HookArgs) -> anyhow::Result<ExitStatus> {
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
        report(&done, g.quiet)?;
    }
    if !a.pre_push && !g.quiet {
        // bb-git-s9 F3: commits made without `git commit` never meet the pre-commit hook.
        eprintln!(
            "vigil: note: git runs the pre-commit hook for `git commit` only; merge, cherry-pick, rebase and am record commits without it: add --pre-push to check them before they leave"
        );
    }
    let missing = hooks::unprotected(&a.repo, &opts.hooks)?;
    for m in &missing {
        eprintln!(
            "vigil: NOT PROTECTED: git runs no vigil before a {} in {}: {}; fix: {}",
            m.hook.action(),
            printable(&m.worktree.display().to_string()),
            printable(&m.why),
            printable(&m.fix)
        );
    }
    Ok(if missing.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Error
    })
}

/// `eprintln!` with control characters of the names in it escaped.
macro_rules! say {
    ($($t:tt)*) => {
        eprintln!("{}", printable(&format!($($t)*)))
    };
}

/// Says what was done (nothing with `quiet`: the data, a pre-commit entry, still goes to
/// stdout). Whether git runs it is said by [`hooks::unprotected`].
fn report(done: &Installed, quiet: bool) -> anyhow::Result<()> {
    if quiet {
        if let Installed::PreCommit {
            entry,
            configured: false,
            ..
        } = done
        {
            print!("{entry}");
        }
        return Ok(());
    }
    match done {
        Installed::Script {
            hook,
            path,
            chained,
            backup,
        } => {
            say!(
                "vigil: installed {}: git runs `{}` before every {}",
                path.display(),
                hook.command(),
                hook.action()
            );
            if let Some(c) = chained {
                say!(
                    "vigil: the hook that was there is kept as {} and runs after vigil",
                    c.display()
                );
            }
            if let Some(b) = backup {
                say!(
                    "vigil: the hook that was there is kept as {} and no longer runs (--force)",
                    b.display()
                );
            }
        }
        Installed::Husky {
            hook,
            path,
            added,
            active: _,
        } => {
            if *added {
                say!(
                    "vigil: added `{}` first in {} (husky runs it before every {})",
                    hook.command(),
                    path.display(),
                    hook.action()
                );
            } else {
                say!(
                    "vigil: {} already runs `{}`",
                    path.display(),
                    hook.command()
                );
            }
        }
        Installed::Lefthook {
            hook,
            config,
            added,
            active: _,
        } => {
            if *added {
                say!(
                    "vigil: added the command `vigil` ({}) to {} under {}",
                    hook.command(),
                    config.display(),
                    hook.name()
                );
            } else {
                say!(
                    "vigil: {} already runs `{}`",
                    config.display(),
                    hook.command()
                );
            }
        }
        Installed::PreCommit {
            config,
            entry,
            configured,
            active: _,
        } => {
            if *configured {
                say!(
                    "vigil: {} already runs vigil's hooks; nothing to do",
                    config.display()
                );
            } else {
                print!("{entry}");
                say!(
                    "vigil: pre-commit manages this repository's hooks, so nothing was installed: add the entry above to {} (under `repos:`), then run `pre-commit install --hook-type pre-commit --hook-type pre-push`",
                    config.display()
                );
            }
        }
    }
    Ok(())
}
