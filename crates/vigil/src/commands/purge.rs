//! `vigil purge`: take leaked secrets out of git history. `plan` writes a git-filter-repo
//! `--replace-text` file from a history scan (or a saved JSON report) and prints the steps;
//! `apply` runs git-filter-repo on a mirror clone, re-scans that clone's whole history and fails
//! unless nothing is left. Vigil never pushes; and purging does not un-leak: rotate first.

use super::scan::load_rules;
use crate::cli::GlobalArgs;
use anyhow::{bail, Context as _};
use clap::{Args, Subcommand};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use vigil_core::ExitStatus;
use vigil_scan::git::{self, HistoryOptions};
use vigil_scan::purge;

/// What replaces each secret in history.
pub const REPLACEMENT: &str = "***REMOVED***";

/// Arguments of `vigil purge`.
#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: PurgeCommand,
}

/// The `vigil purge` subcommands.
#[derive(Debug, Subcommand)]
pub enum PurgeCommand {
    /// Write the replacements file and print the purge procedure.
    Plan(PlanArgs),
    /// Run git-filter-repo on a mirror clone and prove its history clean (never pushes).
    Apply(ApplyArgs),
}

/// Arguments of `vigil purge plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
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
pub struct ApplyArgs {
    /// A mirror clone (`git clone --mirror URL DIR`) to rewrite.
    #[arg(long, value_name = "DIR")]
    pub mirror: PathBuf,
    /// The replacements file from `vigil purge plan` [default: the one it wrote for the
    /// repository here, .git/vigil/purge-replacements.txt].
    #[arg(long, value_name = "FILE")]
    pub replacements: Option<PathBuf>,
}

/// Runs `vigil purge`.
pub fn run(g: &GlobalArgs, args: PurgeArgs) -> anyhow::Result<ExitStatus> {
    match args.command {
        PurgeCommand::Plan(a) => plan(g, a),
        PurgeCommand::Apply(a) => apply(g, a),
    }
}

/// The literals to replace for one secret: the secret, or for a multi-line one (a PEM key) each
/// of its long lines, since replace-text works line by line.
fn literals(secret: &str) -> Vec<String> {
    if !secret.contains('\n') {
        return vec![secret.to_owned()];
    }
    secret
        .lines()
        .map(str::trim)
        .filter(|l| l.len() >= 16 && !l.starts_with("-----"))
        .map(str::to_owned)
        .collect()
}

fn plan(g: &GlobalArgs, a: PlanArgs) -> anyhow::Result<ExitStatus> {
    let target = match &a.replacements {
        Some(p) => p.clone(),
        None => purge::default_replacements(&a.repo)?,
    };
    // Refused before any scan: the file must never land where `git add` picks it up.
    purge::check_place(&target)?;
    let mut secrets = BTreeSet::new();
    let mut commits = BTreeSet::new();
    match &a.report {
        Some(r) => {
            let text = std::fs::read_to_string(r)
                .with_context(|| format!("{}: cannot read", r.display()))?;
            let v: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| anyhow::anyhow!("{}: not a JSON report: {e}", r.display()))?;
            let list = v.as_array().with_context(|| {
                format!("{}: not a JSON report (an array of findings)", r.display())
            })?;
            for (i, f) in list.iter().enumerate() {
                let s = f["secret"]
                    .as_str()
                    .with_context(|| format!("{}: finding {i}: no secret", r.display()))?;
                if s.contains('…') || s.contains("[REDACTED]") || s == "***" {
                    bail!("{}: finding {i}: the secret is redacted; write the report with --show-secrets, or let `vigil purge plan` scan the history itself", r.display());
                }
                secrets.insert(s.to_owned());
                if let Some(c) = f["commit"].as_str() {
                    commits.insert(c.to_owned());
                }
            }
        }
        None => {
            let (rules, _) = load_rules(g, std::slice::from_ref(&a.repo))?;
            let (findings, _) = git::scan_history(&a.repo, &rules, &HistoryOptions::default())?;
            for f in findings {
                // Exposed on purpose: the replacements file must hold the literal secret.
                secrets.insert(f.secret.expose_secret().clone());
                if let Some(c) = f.commit {
                    commits.insert(c);
                }
            }
        }
    }
    if secrets.is_empty() {
        eprintln!("vigil: no secret in history; nothing to purge");
        return Ok(ExitStatus::Success);
    }
    let mut body = String::from("# git filter-repo --replace-text file written by `vigil purge plan`. It holds secrets: delete it after use.\n");
    for s in &secrets {
        for l in literals(s) {
            body.push_str(&format!("literal:{l}==>{REPLACEMENT}\n"));
        }
    }
    vigil_core::fsx::write_private(&target, body.as_bytes())
        .with_context(|| format!("{}: cannot write", target.display()))?;
    let file = std::fs::canonicalize(&target)?;
    println!(
        "Purge plan: {} secret(s) in {} commit(s). Replacements: {}",
        secrets.len(),
        commits.len(),
        file.display()
    );
    println!();
    println!("0. Rotate every one of these secrets first: purging history does not un-leak them.");
    println!("1. git clone --mirror <repository URL> purge.git");
    println!(
        "2. vigil purge apply --mirror purge.git --replacements {}",
        file.display()
    );
    println!(
        "     (runs: git -C purge.git filter-repo --replace-text {} --force,",
        file.display()
    );
    println!("      then re-scans purge.git's whole history and fails unless nothing is left)");
    println!("3. Review: git -C purge.git log --stat; compare with the original.");
    println!("4. git -C purge.git push --force --mirror   (Vigil never pushes; coordinate: every clone must be re-cloned)");
    println!(
        "5. Delete {} and purge.git; ask your host to drop cached views and pull requests refs.",
        file.display()
    );
    Ok(ExitStatus::Success)
}

fn apply(g: &GlobalArgs, a: ApplyArgs) -> anyhow::Result<ExitStatus> {
    let repo = git::open(&a.mirror)?;
    if !repo.is_bare() {
        bail!("{}: not a mirror clone (make one with `git clone --mirror URL DIR`); vigil purge never rewrites a working repository", a.mirror.display());
    }
    let given = match &a.replacements {
        Some(p) => p.clone(),
        None => purge::default_replacements(Path::new(".")).context(
            "no --replacements given and no repository here to find `vigil purge plan`'s file in",
        )?,
    };
    let replacements = std::fs::canonicalize(&given).with_context(|| {
        format!(
            "{}: cannot read the replacements (run `vigil purge plan` first)",
            given.display()
        )
    })?;
    let probe = Command::new("git")
        .args(["filter-repo", "--version"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        bail!("git-filter-repo is not installed (apt-get install git-filter-repo, or pip install git-filter-repo)");
    }
    let status = Command::new("git")
        .arg("-C")
        .arg(&a.mirror)
        .args(["filter-repo", "--replace-text"])
        .arg(&replacements)
        .arg("--force")
        .stdout(std::process::Stdio::null())
        .status()
        .context("running git filter-repo")?;
    if !status.success() {
        bail!(
            "git filter-repo failed ({status}); {} is left as filter-repo left it",
            a.mirror.display()
        );
    }
    let (rules, _) = load_rules(g, std::slice::from_ref(&a.mirror))?;
    let (left, stats) = git::scan_history(&a.mirror, &rules, &HistoryOptions::default())?;
    if !left.is_empty() {
        for f in &left {
            eprintln!(
                "vigil: still in history: {}:{} {} @ {}",
                f.file,
                f.line,
                f.rule,
                f.commit.as_deref().unwrap_or("?")
            );
        }
        eprintln!(
            "vigil: {} finding(s) left after the purge; do not push",
            left.len()
        );
        return Ok(ExitStatus::Failure);
    }
    eprintln!(
        "vigil: history of {} is clean ({} commits re-scanned). Review it, then: git -C {} push --force --mirror",
        a.mirror.display(),
        stats.commits,
        a.mirror.display()
    );
    Ok(ExitStatus::Success)
}
