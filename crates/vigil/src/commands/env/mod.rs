//! `vigil env`: rotate, retire, check and track the secrets in the project's `.env` files. One
//! file per subcommand; this one holds what they share: finding the project root, taking the
//! lock, finishing or undoing an interrupted rotation, loading the env files.

mod check;
mod retire;
mod rotate;
mod status;

use crate::cli::GlobalArgs;
use anyhow::Context as _;
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use vigil_core::{Config, ExitStatus};
use vigil_env::project::ProjectError;
use vigil_env::rotate::{Edit, Plan};
use vigil_env::txn::{self, Recovery};
pub use vigil_env::Access;
use vigil_env::EnvSection;

/// Arguments of `vigil env`.
#[derive(Debug, Args)]
pub struct EnvArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: EnvCommand,
}

/// The `vigil env` subcommands.
#[derive(Debug, Subcommand)]
pub enum EnvCommand {
    /// Give tokens new random values in every env file at once (dry run unless --write).
    Rotate(rotate::RotateArgs),
    /// Clear the previous value of dual secrets once traffic has moved (dry run unless --write).
    Retire(retire::RetireArgs),
    /// Find inconsistent, weak, placeholder, tracked and bypassed secrets; exit 1 on problems.
    Check(check::CheckArgs),
    /// Each secret's age against its rotation schedule; exit 1 when something is overdue.
    Status(status::StatusArgs),
}

/// What `rotate` and `retire` share: dry run or write, backup, showing values.
#[derive(Debug, Args)]
pub struct ApplyArgs {
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
pub fn run(g: &GlobalArgs, args: EnvArgs) -> anyhow::Result<ExitStatus> {
    match args.command {
        EnvCommand::Rotate(a) => rotate::run(g, a),
        EnvCommand::Retire(a) => retire::run(g, a),
        EnvCommand::Check(a) => check::run(g, a),
        EnvCommand::Status(a) => status::run(g, a),
    }
}

/// The project: `vigil.toml`, `[env]`, and the opened env files (with the lock they need).
pub struct Project {
    /// The configuration.
    pub config: Config,
    /// `[env]`.
    pub section: EnvSection,
    /// The env files, the lock, the root.
    pub env: vigil_env::Project,
}

impl std::ops::Deref for Project {
    type Target = vigil_env::Project;
    fn deref(&self) -> &vigil_env::Project {
        &self.env
    }
}

/// The project root: the folder of `vigil.toml` (or the working directory), canonical.
pub fn project_root(config: &Config) -> anyhow::Result<PathBuf> {
    let dir = config
        .path()
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::canonicalize(dir)
        .with_context(|| format!("{}: cannot open the project directory", dir.display()))
}

/// A library error as the one line the user sees (configuration problems name vigil.toml's line).
pub fn project_error(config: &Config, e: ProjectError) -> anyhow::Error {
    match e {
        ProjectError::Glob(g) => config.key_error("env.files", &g.message).into(),
        ProjectError::Model(m) => config
            .key_error(&m.key, &format!("`{}`: {}", m.glob, m.message))
            .into(),
        other => other.into(),
    }
}

/// Opens the project for `access` (a file that does not parse, or that the environment model
/// cannot place, is an error naming it, and nothing is changed). Prints one warning per skipped
/// file and what recovery did.
pub fn open(g: &GlobalArgs, access: Access) -> anyhow::Result<Project> {
    let config = Config::discover(g.config.as_deref(), Path::new("."))?;
    config.check_sections(super::SECTIONS)?;
    let section: EnvSection = config.section("env")?;
    let root = project_root(&config)?;
    let env =
        vigil_env::Project::open(&root, &section, access).map_err(|e| project_error(&config, e))?;
    match env.recovery {
        Recovery::Nothing => {}
        Recovery::RolledBack(n) => eprintln!(
            "vigil: undid a rotation interrupted before its commit point ({n} file(s) untouched)"
        ),
        Recovery::RolledForward(n) => {
            eprintln!("vigil: finished a rotation interrupted after its commit point ({n} file(s))")
        }
    }
    warn_skipped(&env.skipped);
    Ok(Project {
        config,
        section,
        env,
    })
}

/// One warning per file discovery left out.
pub fn warn_skipped(skipped: &[vigil_env::discover::Skipped]) {
    for s in skipped {
        tracing::warn!(
            "{}: {}; skipped (name it in [env] files to read it)",
            s.path.display(),
            s.reason
        );
    }
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

/// Prints a plan as a redacted diff, one block per file.
pub fn print_plan(plan: &Plan, show_secrets: bool) -> anyhow::Result<()> {
    for f in &plan.files {
        let env = if f.file.template {
            "template".to_owned()
        } else {
            format!("environment {}", f.file.environment)
        };
        println!("{} ({env})", f.file.path.display());
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
                "  {at}: {key}  {old} -> {}  ({what})",
                shown(new, show_secrets)
            );
        }
    }
    Ok(())
}

/// Commits a plan (and the ledger, when `ledger` is set) as one transaction.
pub fn commit(p: &Project, plan: &Plan, backup: bool, ledger: bool) -> anyhow::Result<()> {
    let mut changes: Vec<txn::Change> = plan
        .files
        .iter()
        .map(|f| txn::Change {
            path: p.root.join(&f.file.path),
            old: Some(f.old.clone().into_bytes()),
            new: f.new.clone().into_bytes(),
        })
        .collect();
    if ledger && !plan.values.is_empty() {
        let path = p.root.join(vigil_env::ledger::LEDGER);
        let (mut l, old) = vigil_env::ledger::Ledger::load_with_text(&p.root)?;
        let old = old.map(String::into_bytes);
        let at = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        for (name, values) in &plan.values {
            let files = plan.holders.get(name).cloned().unwrap_or_default();
            l.record(name, values, &at, files)?;
        }
        changes.push(txn::Change {
            path,
            old,
            new: l.to_text().into_bytes(),
        });
    }
    txn::commit(&p.root, &changes, backup)?;
    Ok(())
}
