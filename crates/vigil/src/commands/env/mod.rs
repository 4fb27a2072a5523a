//! `vigil env`: rotate, retire, check and track the secrets in the project's `.env` files. One
//! file per subcommand; this one holds what they share: opening the project (vigil-env's
//! `Project::open`: lock, recovery, discovery, parsing) and saying what it did, and the preview of
//! a plan.

mod check;
mod recover;
mod retire;
mod rotate;
mod status;

use crate::cli::GlobalArgs;
use clap::{Args, Subcommand};
use vigil_core::logging::printable;
use vigil_core::ExitStatus;
use vigil_env::rotate::{Edit, Plan};
use vigil_env::txn::Recovery;
use vigil_env::{Access, EnvSettings, Project};

/// Arguments of `vigil env`.
#[derive(Debug, Args)]
pub(crate) struct EnvArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: EnvCommand,
}

/// The `vigil env` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum EnvCommand {
    /// Give tokens new random values in every env file at once (dry run unless --write).
    Rotate(rotate::RotateArgs),
    /// Clear the previous value of dual secrets once traffic has moved (dry run unless --write).
    Retire(retire::RetireArgs),
    /// Find inconsistent, weak, placeholder, tracked and bypassed secrets; exit 1 on problems.
    Check(check::CheckArgs),
    /// Each secret's age against its rotation schedule; exit 1 when something is overdue.
    Status(status::StatusArgs),
    /// Finish or undo an interrupted rotation, once its journal is checked (only a writing
    /// command recovers; check and status refuse while one is pending).
    Recover,
}

/// What `rotate` and `retire` share: dry run or write, backup, showing values.
#[derive(Debug, Args)]
pub(crate) struct ApplyArgs {
    /// Apply (without it, print what would change and touch nothing).
    #[arg(long)]
    pub write: bool,
    /// Keep a copy of the old files under .vigil/backup/ until the next successful rotation.
    #[arg(long)]
    pub backup: bool,
    /// Print old and new values in full (redacted by default).
    #[arg(long)]
    pub show_secrets: bool,
}

/// Runs a `vigil env` subcommand.
pub(crate) fn run(g: &GlobalArgs, args: EnvArgs) -> anyhow::Result<ExitStatus> {
    match args.command {
        EnvCommand::Rotate(a) => rotate::run(g, a),
        EnvCommand::Retire(a) => retire::run(g, a),
        EnvCommand::Check(a) => check::run(g, a),
        EnvCommand::Status(a) => status::run(g, a),
        EnvCommand::Recover => recover::run(g),
    }
}

/// Opens the project for `access` and says what recovery did and which files were skipped.
pub(crate) fn open(g: &GlobalArgs, access: Access) -> anyhow::Result<Project> {
    let settings = EnvSettings::resolve(&super::project_config(g)?)?;
    let project = Project::open(settings, access)?;
    match project.recovery {
        Recovery::Nothing => {}
        Recovery::RolledBack(n) => eprintln!(
            "vigil: undid a rotation interrupted before its commit point ({n} file(s) untouched)"
        ),
        Recovery::RolledForward(n) => {
            eprintln!("vigil: finished a rotation interrupted after its commit point ({n} file(s))")
        }
    }
    crate::output::warn_skipped(&project.skipped);
    Ok(project)
}

fn shown(s: &vigil_core::Secret<String>, show: bool) -> String {
    if show {
        format!("'{}'", s.expose_secret())
    } else if s.expose_secret().is_empty() {
        "(empty)".into()
    } else {
        s.to_string()
    }
}

/// Prints a plan as a redacted diff, one block per file (names with control characters
/// escaped).
pub(crate) fn print_plan(plan: &Plan, show_secrets: bool) -> anyhow::Result<()> {
    for f in &plan.files {
        let env = if f.file.template {
            "template".to_owned()
        } else {
            format!("environment {}", f.file.environment)
        };
        println!(
            "{}",
            printable(&format!("{} ({env})", f.file.path.display()))
        );
        for Edit {
            key,
            line,
            old,
            new,
            what,
        } in &f.edits
        {
            let at = if *line == 0 {
                "new line".to_owned()
            } else {
                format!("line {line}")
            };
            let old = old
                .as_ref()
                .map(|o| shown(o, show_secrets))
                .unwrap_or_else(|| "(unset)".into());
            println!(
                "{}",
                printable(&format!(
                    "  {at}: {key}  {old} -> {}  ({what})",
                    shown(new, show_secrets)
                ))
            );
        }
    }
    Ok(())
}
