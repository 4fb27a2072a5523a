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
use vigil_env::rotate::{Edit, Loaded, Plan};
use vigil_env::txn::{self, Lock, Recovery};
use vigil_env::{discover, Document, EnvSection};

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

/// The project: its root, `[env]`, the lock, and its env files.
pub struct Project {
    /// The directory of `vigil.toml` (or the working directory).
    pub root: PathBuf,
    /// The configuration.
    pub config: Config,
    /// `[env]`.
    pub section: EnvSection,
    /// The env files, parsed.
    pub files: Vec<Loaded>,
    _lock: Lock,
}

/// Opens the project: lock, recovery, discovery, parsing (a file that does not parse is an error
/// naming its line, and nothing is changed).
pub fn open(g: &GlobalArgs) -> anyhow::Result<Project> {
    let config = Config::discover(g.config.as_deref(), Path::new("."))?;
    config.check_sections(super::SECTIONS)?;
    let section: EnvSection = config.section("env")?;
    let dir = config
        .path()
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let root = std::fs::canonicalize(dir)
        .with_context(|| format!("{}: cannot open the project directory", dir.display()))?;
    let lock = txn::lock(&root)?;
    match txn::recover(&root)? {
        Recovery::Nothing => {}
        Recovery::RolledBack(n) => eprintln!(
            "vigil: undid a rotation interrupted before its commit point ({n} file(s) untouched)"
        ),
        Recovery::RolledForward(n) => {
            eprintln!("vigil: finished a rotation interrupted after its commit point ({n} file(s))")
        }
    }
    let found = discover::discover(&root, &section.file_globs())
        .map_err(|e| config.key_error("env.files", &e.message))?;
    let mut files = Vec::new();
    for f in found {
        let full = root.join(&f.path);
        let bytes =
            std::fs::read(&full).with_context(|| format!("{}: cannot read", f.path.display()))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| anyhow::anyhow!("{}: not UTF-8 text", f.path.display()))?;
        let doc = Document::parse(&text)
            .map_err(|e| anyhow::anyhow!("{}:{}: {}", f.path.display(), e.line, e.message))?;
        files.push(Loaded { file: f, doc });
    }
    tracing::debug!(files = files.len(), root = %root.display(), "env files loaded");
    Ok(Project {
        root,
        config,
        section,
        files,
        _lock: lock,
    })
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
        println!("{}", f.file.path.display());
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
        for (name, value) in &plan.values {
            let files = plan.holders.get(name).cloned().unwrap_or_default();
            l.record(name, value.expose_secret(), &at, files)?;
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
