//! `vigil purge`: take leaked secrets out of git history. `plan` writes a git-filter-repo
//! `--replace-text` file from a history scan (or a saved JSON report) and prints the steps;
//! `apply` runs git-filter-repo on a mirror clone, re-scans that clone's whole history and fails
//! unless nothing is left. Vigil never pushes; and purging does not un-leak: rotate first. The
//! work is `vigil_scan::purge`; this file maps arguments and prints.

use crate::cli::GlobalArgs;
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use vigil_core::ExitStatus;
use vigil_scan::purge::{self, Replacements};
use vigil_scan::{ConfigSource, History, ScanFlags, ScanSettings, Target};

/// Arguments of `vigil purge`.
#[derive(Debug, Args)]
pub(crate) struct PurgeArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: PurgeCommand,
}

/// The `vigil purge` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum PurgeCommand {
    /// Write the replacements file and print the purge procedure.
    Plan(PlanArgs),
    /// Run git-filter-repo on a mirror clone and prove its history clean (never pushes).
    Apply(ApplyArgs),
}

/// Arguments of `vigil purge plan`.
#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    /// The repository whose history to scan.
    #[arg(default_value = ".")]
    pub repo: PathBuf,
    /// Use the findings of this JSON report (written with --show-secrets) instead of scanning.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Where to write the replacements (mode 0600: it holds the secrets): outside the working
    /// tree or in a git-ignored folder [default: .git/vigil/purge-replacements.txt].
    #[arg(short = 'o', long, value_name = "FILE")]
    pub replacements: Option<PathBuf>,
}

/// Arguments of `vigil purge apply`.
#[derive(Debug, Args)]
pub(crate) struct ApplyArgs {
    /// A mirror clone (`git clone --mirror URL DIR`) to rewrite.
    #[arg(long, value_name = "DIR")]
    pub mirror: PathBuf,
    /// The replacements file from `vigil purge plan` [default: the one it wrote for the
    /// repository here, .git/vigil/purge-replacements.txt].
    #[arg(long, value_name = "FILE")]
    pub replacements: Option<PathBuf>,
}

/// Runs `vigil purge`.
pub(crate) fn run(g: &GlobalArgs, args: PurgeArgs) -> anyhow::Result<ExitStatus> {
    match args.command {
        PurgeCommand::Plan(a) => plan(g, a),
        PurgeCommand::Apply(a) => apply(g, a),
    }
}

/// The scan settings for `repo`: its configuration, no flags.
fn settings(g: &GlobalArgs, repo: &Path) -> anyhow::Result<ScanSettings> {
    let config = ConfigSource {
        explicit: g.config.as_deref(),
        sections: super::SECTIONS,
    };
    let roots = [repo.to_owned()];
    Ok(ScanSettings::resolve(
        config,
        Path::new("."),
        &roots,
        &ScanFlags::default(),
    )?)
}

fn plan(g: &GlobalArgs, a: PlanArgs) -> anyhow::Result<ExitStatus> {
    let target = purge::replacements_path(a.replacements.as_deref(), &a.repo)?;
    // Refused before any scan: the file must never land where `git add` picks it up.
    purge::check_place(&target)?;
    let replacements = match &a.report {
        Some(r) => Replacements::from_report(r)?,
        None => {
            let s = settings(g, &a.repo)?;
            let history = Target::History(History::all(&a.repo));
            Replacements::from_findings(&vigil_scan::scan(&s, history, &|_| {})?.findings)
        }
    };
    if replacements.is_empty() {
        if !g.quiet {
            eprintln!("vigil: no secret in history; nothing to purge");
        }
        return Ok(ExitStatus::Success);
    }
    let file = replacements.write(&target)?;
    let file = file.display();
    println!(
        "Purge plan: {} secret(s) in {} commit(s). Replacements: {file}",
        replacements.secret_count(),
        replacements.commit_count(),
    );
    println!();
    println!("0. Rotate every one of these secrets first: purging history does not un-leak them.");
    println!("1. git clone --mirror <repository URL> purge.git");
    println!("2. vigil purge apply --mirror purge.git --replacements {file}");
    println!("     (runs: git -C purge.git filter-repo --replace-text {file} --force,");
    println!("      then re-scans purge.git's whole history and fails unless nothing is left)");
    println!("3. Review: git -C purge.git log --stat; compare with the original.");
    println!("4. git -C purge.git push --force --mirror   (Vigil never pushes; coordinate: every clone must be re-cloned)");
    println!("5. Delete {file} and purge.git; ask your host to drop cached views and pull requests refs.");
    println!("6. In every clone kept, delete .git/vigil/history-cache (what `scan --git --cache` learned: places, no secret)");
    println!("   and any backup of .git: both still describe the old history.");
    Ok(ExitStatus::Success)
}

fn apply(g: &GlobalArgs, a: ApplyArgs) -> anyhow::Result<ExitStatus> {
    let replacements = purge::replacements_path(a.replacements.as_deref(), Path::new("."))?;
    let done = purge::apply(&a.mirror, &replacements, &settings(g, &a.mirror)?)?;
    let mirror = a.mirror.display();
    if !done.left.is_empty() {
        for f in &done.left {
            let commit = f.commit.as_deref().unwrap_or("?");
            eprintln!(
                "vigil: still in history: {}:{} {} @ {commit}",
                f.file, f.line, f.rule
            );
        }
        eprintln!(
            "vigil: {} finding(s) left after the purge; do not push",
            done.left.len()
        );
        return Ok(ExitStatus::Failure);
    }
    if !g.quiet {
        eprintln!(
            "vigil: history of {mirror} is clean ({} commits re-scanned). Review it, then: git -C {mirror} push --force --mirror",
            done.commits
        );
    }
    Ok(ExitStatus::Success)
}
