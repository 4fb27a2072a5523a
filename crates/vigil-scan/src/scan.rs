//! One call for every kind of scan: [`scan`] takes resolved [`ScanSettings`] and a [`Target`]
//! (paths, a reader, git history, the index) and returns a [`ScanOutcome`]: the findings, what
//! was read and skipped, the warnings met, and the one-line summary. Suppressions and reports
//! come after (`suppress`, `report`).
//!
//! The outcome is also the one place that says whether a scan could look at everything
//! ([`ScanOutcome::completeness`]): what Vigil chose not to read (binary, over the size limit,
//! ignored) is a skip, counted; what it could not read (a file, a folder, a git object, a
//! damaged archive or member) or stopped reading (an archive nested too deep or past a bomb
//! limit, decoding past its budget), and a scan of paths that read no file at all, are reasons
//! the scan is incomplete, which fails it unless `--allow-incomplete` is given
//! ([`ScanSettings::verdict`]).

use crate::content::{ContentTally, GapKind};
use crate::finding::Finding;
use crate::git::{self, DateError, GitError, GitStats, HistoryOptions, PushRange};
use crate::settings::ScanSettings;
use crate::source::{self, Outcome};
use std::fmt;
use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use vigil_core::size::human;
use vigil_core::Origin;
use vigil_report::{Completeness, Gap, Skipped};

/// What to scan.
pub enum Target<'a> {
    /// The settings' roots: files and directories.
    Paths,
    /// One stream, reported under `name` (`-` for stdin).
    Reader {
        /// The name findings carry.
        name: &'a str,
        /// The bytes.
        reader: Box<dyn Read + 'a>,
    },
    /// Commits of a repository.
    History(History),
    /// What `git commit` would record: the index against HEAD, new lines only.
    Staged {
        /// The repository (or a path inside it).
        repo: PathBuf,
    },
}

/// Which commits of a repository to scan.
#[derive(Debug, Clone)]
pub struct History {
    /// The repository (or a path inside it; bare repositories too).
    pub repo: PathBuf,
    /// Which part of history.
    pub scope: Scope,
    /// Only commits authored at or after this date (`2026-01-31` or RFC 3339), as given to
    /// `--since`.
    pub since: Option<String>,
    /// Also every object no ref reaches (`--all-objects`).
    pub all_objects: bool,
    /// Use and update the history cache under the git folder (off: `--no-cache`).
    pub cache: bool,
}

impl History {
    /// Every commit reachable from any ref.
    pub fn all(repo: impl Into<PathBuf>) -> Self {
        History {
            repo: repo.into(),
            scope: Scope::All,
            since: None,
            all_objects: false,
            cache: false,
        }
    }
}

/// A part of history.
#[derive(Debug, Clone)]
pub enum Scope {
    /// Every commit reachable from any ref.
    All,
    /// The history of one branch (or any revision), `--branch`.
    Branch(String),
    /// `A..B`: reachable from B, not from A, `--range`.
    Range(String),
    /// What a push sends.
    Push(PushRange),
}

/// A scan that could not run (unreadable inputs are counted and warned about instead).
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The repository, a revision or the walk failed.
    #[error(transparent)]
    Git(#[from] GitError),
    /// `--since` is not a date.
    #[error(transparent)]
    Date(#[from] DateError),
    /// The settings could not be resolved again (distrusting the discovered configuration).
    #[error(transparent)]
    Settings(Box<crate::settings::SettingsError>),
    /// Ignore rules excluded every file of a folder given to scan: nothing was read, which is
    /// not a clean scan.
    #[error("{}: nothing was scanned: ignore rules (.gitignore, .ignore, git's excludes) exclude all {files} file(s) here; scan with --no-ignore, or name the files to scan", path.display())]
    NothingScanned {
        /// The folder.
        path: PathBuf,
        /// How many files it holds.
        files: u64,
    },
    /// The reader failed.
    #[error("reading {name}: {error}")]
    Reader {
        /// The reader's name (`stdin` for `-`).
        name: String,
        /// Why.
        error: std::io::Error,
    },
}

/// Counts of a files (or stdin) scan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileTally {
    /// Files scanned.
    pub files: u64,
    /// Bytes scanned.
    pub bytes: u64,
    /// Files skipped as binary.
    pub binary: u64,
    /// Files skipped as larger than the limit.
    pub too_large: u64,
    /// Entries that could not be read.
    pub unreadable: u64,
    /// Files ignore rules kept out; `None` when ignore rules were off or nothing was walked.
    pub ignored: Option<u64>,
    /// Symbolic links a directory walk did not follow (no `--follow-symlinks`).
    pub symlinks: u64,
    /// FIFOs, sockets and devices a directory walk passed over.
    pub special: u64,
}

/// What a scan read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scanned {
    /// Files, directories or a stream.
    Files(FileTally),
    /// Commits.
    History(GitStats),
    /// The index.
    Index(GitStats),
}

/// What a scan found and read.
#[derive(Debug)]
pub struct ScanOutcome {
    /// Findings in report order.
    pub findings: Vec<Finding>,
    /// What was read and skipped.
    pub read: Scanned,
    /// One line per problem met (an unreadable file, a symlink loop), never file content.
    pub warnings: Vec<String>,
    /// Ignored files that look like env files, as reported paths.
    pub ignored_env: Vec<String>,
    /// How long the scan took.
    pub elapsed: Duration,
    /// The size limit it ran with (for the summary).
    pub max_file_size: u64,
    /// Archives, members, decodings, inline markers, and what could not be finished.
    pub content: ContentTally,
    /// The archive depth it ran with (for the reasons).
    pub max_archive_depth: u8,
    /// The decode depth it ran with (for the reasons).
    pub max_decode_depth: u8,
    /// Whether files were asked for (a scan of paths, or of a whole history): reading none is
    /// then a gap.
    pub expects_files: bool,
    /// The watched configuration files (repository-relative) the scanned changes modify.
    pub touched: Vec<String>,
    /// The settings the scan ran with when the discovered configuration was distrusted.
    pub distrusted: Option<Box<ScanSettings>>,
    /// `.gitleaksignore` files and the baseline that the scanned changes modify: not applied,
    /// since a change must not mark its own secrets as known.
    pub distrusted_suppressions: Vec<PathBuf>,
    /// Of those, the `.gitleaksignore` files whose working-tree version differs from the one
    /// at the base of the scanned changes (another branch checked out, an unstaged or untracked
    /// edit): not applied either, since only what the base holds may decide for the changes.
    pub off_base_suppressions: Vec<PathBuf>,
    /// Matches the configuration's allowlists dropped, and files its path allowlists skipped.
    pub allowlisted: (u64, u64),
    /// The configuration file those allowlists are in.
    pub allowlist_file: Option<String>,
}

/// Scans a target with the settings. `progress` is called with the byte count of each file or
/// blob read (files, directories and history).
pub fn scan(
    settings: &ScanSettings,
    target: Target<'_>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<ScanOutcome, ScanError> {
    scan_with(settings, target, &|p| {
        if let git::Progress::Blob(n) = p {
            progress(n)
        }
    })
}

/// [`scan`], told also of each run of commits a history scan compares ([`git::Progress`]).
///
/// A scan of changes (`--staged`, a range, a push, `--since`) that modifies the discovered
/// configuration file is run again with [`ScanSettings::distrusting`]: a change must not
/// weaken the scan of itself. When a base commit of the changes (a push's remote commit, a
/// range's start, `HEAD` for the index) holds another configuration than the working tree, the
/// scan also runs with the base's, and the findings of both are reported (`base_config`).
/// [`ScanOutcome::settings`] then gives the settings that applied.
pub fn scan_with(
    settings: &ScanSettings,
    target: Target<'_>,
    progress: &(dyn Fn(git::Progress) + Sync),
) -> Result<ScanOutcome, ScanError> {
    let changes = match &target {
        Target::Staged { repo } => Some((repo.clone(), None)),
        Target::History(h)
            if h.since.is_some() || matches!(h.scope, Scope::Range(_) | Scope::Push(_)) =>
        {
            Some((h.repo.clone(), Some(h.clone())))
        }
        _ => None,
    };
    // The discovered configuration and the files its `[extend] path` pulls in.
    let mut watch: Vec<String> = match (&changes, &settings.discovered) {
        (Some((repo, _)), Some(file)) if !settings.distrusted => std::iter::once(file)
            .chain(&settings.extended)
            .filter_map(|f| git::repo_relative(repo, f))
            .collect(),
        _ => Vec::new(),
    };
    // The ignore files and the baseline are watched too: one the changes modify is not applied.
    let suppression_files: Vec<(String, PathBuf)> = match &changes {
        Some((repo, _)) => crate::suppress::Suppressions::files(settings)
            .into_iter()
            .filter_map(|f| git::repo_relative(repo, &f).map(|r| (r, f)))
            .collect(),
        None => Vec::new(),
    };
    watch.extend(suppression_files.iter().map(|(r, _)| r.clone()));
    // A file named with `--config` applies as it is; that the changes edit it is said.
    let named: Option<(String, PathBuf)> = match (&changes, settings.explicit_config_path()) {
        (Some((repo, _)), Some(p)) => git::repo_relative(repo, p).map(|r| (r, p.to_owned())),
        _ => None,
    };
    watch.extend(named.iter().map(|(r, _)| r.clone()));
    let from_subfolder = match &target {
        Target::History(h) => subfolder_warning(settings, &h.repo),
        Target::Staged { repo } => subfolder_warning(settings, repo),
        _ => None,
    };
    let mut outcome = scan_target(settings, target, progress, &watch)?;
    outcome.warnings.extend(from_subfolder);
    if let Some((r, p)) = &named {
        if outcome.touched.contains(r) {
            outcome.touched.retain(|t| t != r);
            outcome.warnings.push(format!(
                "{}: named with --config, it applies as it is, although the scanned changes modify it",
                p.display()
            ));
        }
    }
    let distrusted_suppressions: Vec<PathBuf> = suppression_files
        .iter()
        .filter(|(r, _)| outcome.touched.contains(r))
        .map(|(_, f)| f.clone())
        .collect();
    outcome
        .touched
        .retain(|t| !suppression_files.iter().any(|(r, _)| r == t));
    outcome.distrusted_suppressions = distrusted_suppressions.clone();
    let again = |changes: &(PathBuf, Option<History>)| match &changes.1 {
        Some(h) => Target::History(h.clone()),
        None => Target::Staged {
            repo: changes.0.clone(),
        },
    };
    if let (Some(c), false) = (&changes, outcome.touched.is_empty()) {
        let distrusted = settings
            .distrusting()
            .map_err(|e| ScanError::Settings(Box::new(e)))?;
        let mut second = scan_target(&distrusted, again(c), progress, &[])?;
        second
            .warnings
            .splice(0..0, distrusted.warnings.iter().cloned());
        second.touched = std::mem::take(&mut outcome.touched);
        second.distrusted = Some(Box::new(distrusted));
        second.distrusted_suppressions = distrusted_suppressions;
        outcome = second;
    }
    // The configuration at the base of the changes applies too: a change cannot delete or
    // weaken it, nor can a checkout of another branch swap it (`base_config`).
    let bases = match &outcome.read {
        Scanned::History(st) | Scanned::Index(st) => st.bases.clone(),
        Scanned::Files(_) => Vec::new(),
    };
    // A `.gitleaksignore` decides for the changes only as their base holds it: the working
    // tree's copy (another branch checked out, an unstaged or untracked edit) must not.
    if let Some(c) = changes.as_ref().filter(|_| !suppression_files.is_empty()) {
        let opened = git::open(&c.0).ok();
        for (rel, file) in &suppression_files {
            if settings.baseline.as_ref() == Some(file)
                || outcome.distrusted_suppressions.contains(file)
            {
                continue;
            }
            let here = std::fs::read(file).ok();
            let differs = bases.iter().any(|b| {
                let at = if b == git::NO_BASE {
                    None
                } else {
                    opened
                        .as_ref()
                        .and_then(|r| git::files_at(r, b, std::slice::from_ref(rel)))
                        .and_then(|mut v| v.pop())
                        .flatten()
                };
                at != here
            });
            if differs {
                outcome.distrusted_suppressions.push(file.clone());
                outcome.off_base_suppressions.push(file.clone());
            }
        }
    }
    if let (Some(c), false, false) = (&changes, bases.is_empty(), settings.explicit_config()) {
        let (at_bases, warnings) = crate::base_config::differing(settings, &c.0, &bases);
        outcome.warnings.extend(warnings);
        let mut merged: Option<ScanOutcome> = None;
        for b in at_bases {
            let mut o = scan_target(&b.settings, again(c), progress, &[])?;
            let short = crate::base_config::short_name(&b.commit);
            o.warnings.splice(0..0, b.settings.warnings.iter().cloned());
            o.warnings.push(format!(
                "the configuration at the base of the scanned changes ({short}) differs from the working tree's: the scan ran with both, the findings of each are reported, and the base's settings apply"
            ));
            o.distrusted = Some(Box::new(b.settings));
            merged = Some(match merged {
                None => o,
                Some(m) => merge(m, o),
            });
        }
        if let Some(mut m) = merged {
            m.touched = std::mem::take(&mut outcome.touched);
            m.distrusted_suppressions = std::mem::take(&mut outcome.distrusted_suppressions);
            m.off_base_suppressions = std::mem::take(&mut outcome.off_base_suppressions);
            outcome = merge(m, outcome);
        }
    }
    crate::meta::mask_paths(&mut outcome.findings);
    Ok(outcome)
}

/// Run from a subfolder of the repository (a hook manager's `root:`, a CI step), the
/// `vigil.toml` at the repository's top is not read, nor is the base's: said, when there is one
/// and the working directory has none.
fn subfolder_warning(settings: &ScanSettings, repo: &std::path::Path) -> Option<String> {
    if settings.explicit_config() {
        return None;
    }
    let root = git::work_root(repo)?;
    let cwd = std::fs::canonicalize(&settings.cwd).ok()?;
    let top = root.join(vigil_core::config::DEFAULT_FILE);
    (cwd != root
        && cwd.starts_with(&root)
        && top.is_file()
        && !cwd.join(vigil_core::config::DEFAULT_FILE).is_file())
    .then(|| {
        format!(
            "{}: not read, since the scan runs in a subfolder ({}); run it from the repository's top, or name the file with --config",
            top.display(),
            cwd.display()
        )
    })
}

/// `primary` with the findings of `other` it lacks, and both one's warnings; `primary`'s
/// settings, counts and suppressions stand.
fn merge(mut primary: ScanOutcome, other: ScanOutcome) -> ScanOutcome {
    type Key = (Option<String>, String, String, usize, usize, usize, usize);
    let key = |f: &Finding| -> Key {
        (
            f.commit.clone(),
            f.file.clone(),
            f.rule.clone(),
            f.line,
            f.column,
            f.end_line,
            f.end_column,
        )
    };
    let have: std::collections::HashSet<Key> = primary.findings.iter().map(key).collect();
    primary.findings.extend(
        other
            .findings
            .into_iter()
            .filter(|f| !have.contains(&key(f))),
    );
    primary
        .findings
        .sort_by(|a, b| (&a.file, a.line, &a.commit).cmp(&(&b.file, b.line, &b.commit)));
    for w in other.warnings {
        if !primary.warnings.contains(&w) {
            primary.warnings.push(w);
        }
    }
    primary
}

fn scan_target(
    settings: &ScanSettings,
    target: Target<'_>,
    progress: &(dyn Fn(git::Progress) + Sync),
    watch: &[String],
) -> Result<ScanOutcome, ScanError> {
    let allowlisted_before = settings.rules.allowlisted();
    let bytes = |n: u64| progress(git::Progress::Blob(n));
    let progress_bytes: &(dyn Fn(u64) + Sync) = &bytes;
    let started = Instant::now();
    let max = settings.max_file_size;
    let copts = settings.content_options();
    // A whole history with no commit is an empty (or wrongly named) repository, not a clean one.
    let expects_files = match &target {
        Target::Paths => true,
        Target::History(h) => matches!(h.scope, Scope::All) && h.since.is_none(),
        _ => false,
    };
    let (findings, read, warnings, ignored_env, content) = match target {
        Target::Paths => {
            let out = source::scan_paths(
                &settings.rules,
                &settings.roots,
                &settings.walk_options(),
                progress_bytes,
            );
            if let Some((path, files)) = out.unscanned.first() {
                return Err(ScanError::NothingScanned {
                    path: path.clone(),
                    files: *files,
                });
            }
            let tally = tally(&out, !settings.no_ignore);
            let content = out
                .stats
                .content
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            (
                out.findings,
                Scanned::Files(tally),
                out.warnings,
                out.ignored_env,
                content,
            )
        }
        Target::Reader { name, reader } => {
            let out = source::scan_reader_with(&settings.rules, &copts, name, reader).map_err(
                |error| ScanError::Reader {
                    name: if name == "-" {
                        "stdin".into()
                    } else {
                        name.to_owned()
                    },
                    error,
                },
            )?;
            let tally = tally(&out, false);
            let content = out
                .stats
                .content
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            (
                out.findings,
                Scanned::Files(tally),
                out.warnings,
                Vec::new(),
                content,
            )
        }
        Target::Staged { repo } => {
            if settings.paths_given {
                git::check_git_dir(&repo)?;
            }
            let (findings, mut stats) =
                git::scan_staged_watching(&repo, &settings.rules, &copts, watch)?;
            let content = std::mem::take(&mut stats.content);
            (
                findings,
                Scanned::Index(stats),
                Vec::new(),
                Vec::new(),
                content,
            )
        }
        Target::History(h) => {
            if settings.paths_given {
                git::check_git_dir(&h.repo)?;
            }
            let mut opts = HistoryOptions {
                max_blob_size: max,
                threads: settings.threads,
                content: copts,
                all_objects: h.all_objects,
                cache: h.cache,
                watch: watch.to_vec(),
                ..HistoryOptions::default()
            };
            match &h.scope {
                Scope::All => {}
                Scope::Branch(b) => opts.branch = Some(b.clone()),
                Scope::Range(r) => opts.range = Some(r.clone()),
                Scope::Push(p) => p.apply_to(&mut opts),
            }
            if let Some(s) = &h.since {
                opts.since = Some(git::parse_since(s, || Origin::Flag("--since".into()))?);
            }
            let (findings, mut stats) =
                git::scan_history_progress(&h.repo, &settings.rules, &opts, progress)?;
            let content = std::mem::take(&mut stats.content);
            let mut warnings: Vec<String> = stats
                .push_unverified
                .iter()
                .map(|why| format!("could not ask the remote what it has ({why}): every commit of the new ref(s) not reachable from the replaced remote commits is scanned"))
                .collect();
            if opts.local_refs {
                warnings.push("the hook got no push input from git although a remote was named (a hook manager that does not pass git's stdin on, e.g. a lefthook entry without `use_stdin: true`): every local branch and tag, and HEAD, was scanned against what the remote has".to_owned());
            }
            (
                findings,
                Scanned::History(stats),
                warnings,
                Vec::new(),
                content,
            )
        }
    };
    let touched = match &read {
        Scanned::History(st) | Scanned::Index(st) => st.touched.clone(),
        Scanned::Files(_) => Vec::new(),
    };
    let now = settings.rules.allowlisted();
    let allowlisted = (now.0 - allowlisted_before.0, now.1 - allowlisted_before.1);
    let allowlist_file = match &settings.rules_from {
        crate::settings::RulesFrom::Gitleaks(p) | crate::settings::RulesFrom::VigilToml(p) => {
            Some(p.display().to_string())
        }
        crate::settings::RulesFrom::Builtin => None,
    };
    Ok(ScanOutcome {
        touched,
        distrusted: None,
        distrusted_suppressions: Vec::new(),
        off_base_suppressions: Vec::new(),
        allowlisted,
        allowlist_file,
        findings,
        read,
        warnings,
        ignored_env,
        elapsed: started.elapsed(),
        max_file_size: max,
        content,
        max_archive_depth: copts.max_archive_depth,
        max_decode_depth: copts.max_decode_depth,
        expects_files,
    })
}

/// What a scan ends with, for a command to print: the report (none when a baseline was
/// recorded), what to warn about, one line per reason the scan is incomplete, and the exit
/// status.
pub struct Finished {
    /// The outcome, its findings filtered (for the summary and the log event).
    pub outcome: ScanOutcome,
    /// Findings reported (after ignore files and the baseline).
    pub found: usize,
    /// Findings the ignore files and the baseline knew, so not reported.
    pub suppressed: usize,
    /// The report to render, unless a baseline was recorded instead.
    pub report: Option<vigil_report::Report>,
    /// Where the findings were recorded as a baseline (`--baseline-write`).
    pub baseline_written: Option<PathBuf>,
    /// Warnings about the ignore files and baseline.
    pub warnings: Vec<String>,
    /// One line per reason the scan is incomplete, then what `--allow-incomplete` did.
    pub incomplete: Vec<String>,
    /// The exit status.
    pub status: vigil_core::ExitStatus,
}

/// Ends a scan as every command does: the settings that applied ([`ScanOutcome::settings`]),
/// their ignore files and baseline applied ([`crate::Suppressions`]), the baseline recorded if
/// asked, the report built for `format`, and the verdict (exit 2 when incomplete unless
/// `--allow-incomplete`).
pub fn finish(
    resolved: &ScanSettings,
    mut outcome: ScanOutcome,
    format: vigil_report::Format,
    version: &str,
) -> Result<Finished, crate::baseline::BaselineError> {
    let distrusted = outcome.distrusted.take();
    let settings = distrusted.as_deref().unwrap_or(resolved);
    outcome.scrub(&settings.rules);
    let suppressions =
        crate::Suppressions::discover_except(settings, &outcome.distrusted_suppressions)?;
    let mut warnings: Vec<String> = suppressions
        .warnings
        .iter()
        .map(|w| w.to_string())
        .collect();
    for f in &outcome.off_base_suppressions {
        warnings.push(format!(
            "{}: this version is not the one at the base of the scanned changes (another branch checked out, or an edit not committed), so it does not apply to this scan",
            vigil_core::logging::printable(&f.display().to_string())
        ));
    }
    for f in outcome
        .distrusted_suppressions
        .iter()
        .filter(|f| !outcome.off_base_suppressions.contains(f))
    {
        warnings.push(format!(
            "{}: the scanned changes modify this file, so it does not apply to this scan (a change cannot mark its own secrets as known)",
            vigil_core::logging::printable(&f.display().to_string())
        ));
    }
    // Files and stdin are named as the user named them; history and the index by their path in
    // the repository.
    let named = match outcome.read {
        Scanned::Files(_) => crate::suppress::Named::Paths,
        Scanned::History(_) | Scanned::Index(_) => crate::suppress::Named::Repository,
    };
    let before = outcome.findings.len();
    suppressions.apply(&mut outcome.findings, named);
    let found = outcome.findings.len();
    let mut done = Finished {
        found,
        suppressed: before - found,
        report: None,
        baseline_written: None,
        warnings,
        incomplete: Vec::new(),
        status: vigil_core::ExitStatus::Success,
        outcome,
    };
    if let Some(path) = &settings.baseline_write {
        let completeness = done.outcome.completeness();
        if !completeness.is_complete() && !settings.allow_incomplete {
            let mut reason = completeness
                .reasons
                .first()
                .map(ToString::to_string)
                .unwrap_or_default();
            if completeness.reasons.len() > 1 {
                reason.push_str(&format!(", and {} more", completeness.reasons.len() - 1));
            }
            // What the reasons name (unreadable paths) is in the warnings: shown before the
            // refusal, as a finished scan shows them.
            for w in done.outcome.warnings.iter().chain(&done.warnings) {
                tracing::warn!("{w}");
            }
            return Err(crate::baseline::BaselineError::Incomplete {
                path: path.clone(),
                reason,
            });
        }
        let recorded = crate::Suppressions::baseline_findings(&done.outcome.findings, named);
        crate::baseline::Baseline::write(path, &recorded)?;
        done.baseline_written = Some(path.clone());
        return Ok(done);
    }
    let completeness = done.outcome.completeness();
    for r in &completeness.reasons {
        done.incomplete.push(format!("incomplete scan: {r}"));
    }
    if !completeness.is_complete() && settings.allow_incomplete {
        done.incomplete
            .push("--allow-incomplete: exiting as if complete".into());
    }
    done.status = settings.verdict(found, &completeness);
    let mut report = crate::report::build_for(
        format,
        &settings.rules,
        &done.outcome.findings,
        completeness,
        version,
    );
    if format == vigil_report::Format::Sarif && named == crate::suppress::Named::Paths {
        // SARIF's `%SRCROOT%` is the source tree's root (the git work tree, else this folder),
        // as for `vigil lint`: `services/bot/.env` from anywhere in the repository.
        if let Ok(cwd) = std::env::current_dir().and_then(std::fs::canonicalize) {
            let root = vigil_report::srcroot::source_root(&cwd);
            vigil_report::srcroot::rebase(&mut report, &cwd, &root);
        }
    }
    done.report = Some(report);
    Ok(done)
}

fn tally(out: &Outcome, walked_with_ignores: bool) -> FileTally {
    let n = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    FileTally {
        files: n(&out.stats.files),
        bytes: n(&out.stats.bytes),
        binary: n(&out.stats.binary),
        too_large: n(&out.stats.too_large),
        unreadable: n(&out.stats.unreadable),
        ignored: walked_with_ignores.then(|| n(&out.stats.ignored)),
        symlinks: n(&out.stats.symlinks),
        special: n(&out.stats.special),
    }
}

impl ScanOutcome {
    /// The settings that applied: `resolved`, or those distrusting the discovered
    /// configuration when the scanned changes modify it (their exit code, baseline, limits).
    pub fn settings<'s>(&'s self, resolved: &'s ScanSettings) -> &'s ScanSettings {
        self.distrusted.as_deref().unwrap_or(resolved)
    }

    /// Files (or distinct blobs) and bytes scanned, and commits walked for history scans.
    pub fn counts(&self) -> (u64, u64, Option<u64>) {
        match &self.read {
            Scanned::Files(t) => (t.files, t.bytes, None),
            Scanned::History(s) => (s.blobs as u64, s.bytes, Some(s.commits as u64)),
            Scanned::Index(s) => (s.blobs as u64, s.bytes, None),
        }
    }

    /// What the scan skipped, and whether it covered everything (the module documentation says
    /// what is a skip and what is a gap). Archive members count with files in the skips.
    pub fn completeness(&self) -> Completeness {
        let ct = &self.content;
        let mut skipped = match &self.read {
            Scanned::Files(t) => Skipped {
                binary: t.binary,
                too_large: t.too_large,
                unreadable: t.unreadable,
                ignored: t.ignored.unwrap_or(0),
                symlinks: t.symlinks,
                special: t.special,
                ..Skipped::default()
            },
            Scanned::History(s) | Scanned::Index(s) => Skipped {
                binary: s.skipped as u64,
                unreadable: (s.unreadable + s.missing) as u64,
                ..Skipped::default()
            },
        };
        skipped.allowed_by_marker = ct.allowed_by_marker;
        let mut c = Completeness {
            reasons: Vec::new(),
            skipped,
        };
        match &self.read {
            Scanned::Files(t) => {
                if t.unreadable > 0 {
                    // Named in the report itself: `-q` hides the warnings, and a report read
                    // later must say which inputs it lacks (at most five here).
                    let named: Vec<&str> = self
                        .warnings
                        .iter()
                        .filter(|w| w.contains(": cannot read: "))
                        .map(String::as_str)
                        .take(5)
                        .collect();
                    let more = if (named.len() as u64) < t.unreadable {
                        " (the others are named in the warnings)"
                    } else {
                        ""
                    };
                    c.gap_count(
                        Gap::Unreadable,
                        t.unreadable,
                        format!(
                            "{} file(s) or folder(s) could not be read{}{}{more}",
                            t.unreadable,
                            if named.is_empty() { "" } else { ": " },
                            named.join("; ")
                        ),
                    );
                }
                if self.expects_files && t.files == 0 {
                    c.gap(
                        Gap::NothingScanned,
                        format!(
                            "no file was scanned ({} binary, {} over {}, {} unreadable, {} ignored)",
                            t.binary,
                            t.too_large,
                            human(self.max_file_size),
                            t.unreadable,
                            t.ignored.unwrap_or(0)
                        ),
                    );
                }
            }
            Scanned::History(s) | Scanned::Index(s) => {
                if self.expects_files && s.commits == 0 && s.blobs == 0 {
                    c.gap(
                        Gap::NothingScanned,
                        "no commit was scanned: no ref or HEAD names a commit (an empty repository?)"
                            .to_owned(),
                    );
                }
                let named = if s.named.is_empty() {
                    String::new()
                } else {
                    let more = if s.missing + s.unreadable > s.named.len() {
                        ", …"
                    } else {
                        ""
                    };
                    format!(": {}{more}", s.named.join(", "))
                };
                if s.missing > 0 {
                    let why = if s.partial_clone {
                        "this is a partial clone; `git fetch --refetch` or a full clone brings them"
                    } else {
                        "deleted or never fetched"
                    };
                    // One list names both kinds: with corrupt objects too, the line says so
                    // (tester helper-119 #3: a corrupt ref read as "missing").
                    let and_corrupt = if s.unreadable > 0 {
                        format!(", and {} that could not be read (corrupt)", s.unreadable)
                    } else {
                        String::new()
                    };
                    c.gap_count(
                        Gap::Unreadable,
                        s.missing as u64,
                        format!(
                            "{} git object(s) missing from this clone ({why}){and_corrupt}{named}",
                            s.missing
                        ),
                    );
                }
                if s.unreadable > 0 {
                    c.gap_count(
                        Gap::Unreadable,
                        s.unreadable as u64,
                        format!(
                            "{} git object(s) could not be read (corrupt){}",
                            s.unreadable,
                            if s.missing > 0 {
                                " (named with the missing ones above)"
                            } else {
                                named.as_str()
                            }
                        ),
                    );
                }
                if !s.not_commits.is_empty() {
                    c.gap_count(
                        Gap::Unsupported,
                        s.not_commits.len() as u64,
                        format!(
                            "{} ref(s) name a tree or a blob, which no commit holds; --all-objects scans them: {}",
                            s.not_commits.len(),
                            s.not_commits
                                .iter()
                                .take(5)
                                .cloned()
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    );
                }
                if s.shallow > 0 {
                    c.gap_count(
                        Gap::Truncated,
                        s.shallow as u64,
                        format!(
                            "shallow clone: history before {} boundary commit(s) is not in this clone (`git fetch --unshallow` brings it)",
                            s.shallow
                        ),
                    );
                }
                if s.walk_stopped > 0 {
                    c.gap_count(
                        Gap::Truncated,
                        s.walk_stopped as u64,
                        format!(
                            "the history walk stopped early on {} line(s) of history (a commit could not be read)",
                            s.walk_stopped
                        ),
                    );
                }
            }
        }
        let eg = |k: GapKind| {
            let e = ct.examples_of(k);
            if e.is_empty() {
                String::new()
            } else {
                format!(": {}", e.join(", "))
            }
        };
        if ct.too_deep > 0 {
            c.gap_count(
                Gap::Truncated,
                ct.too_deep,
                format!(
                    "{} archive(s) nested deeper than --max-archive-depth {} were not opened{}",
                    ct.too_deep,
                    self.max_archive_depth,
                    eg(GapKind::TooDeep)
                ),
            );
        }
        if ct.limited > 0 {
            c.gap_count(
                Gap::Truncated,
                ct.limited,
                format!(
                    "{} archive(s) stopped by a limit against decompression bombs{}",
                    ct.limited,
                    eg(GapKind::Limited)
                ),
            );
        }
        if ct.corrupt > 0 {
            c.gap_count(
                Gap::Unreadable,
                ct.corrupt,
                format!(
                    "{} archive(s) could not be read{}",
                    ct.corrupt,
                    eg(GapKind::Corrupt)
                ),
            );
        }
        if ct.unsupported > 0 {
            c.gap_count(
                Gap::Unsupported,
                ct.unsupported,
                format!(
                    "{} archive member(s) in a form Vigil cannot read{}",
                    ct.unsupported,
                    eg(GapKind::Unsupported)
                ),
            );
        }
        if ct.decode_too_deep > 0 {
            c.gap_count(
                Gap::Truncated,
                ct.decode_too_deep,
                format!(
                    "{} file(s) hold text encoded more than --max-decode-depth {} times, not decoded further{}",
                    ct.decode_too_deep,
                    self.max_decode_depth,
                    eg(GapKind::DecodeTooDeep)
                ),
            );
        }
        if ct.archive_too_large > 0 {
            c.gap_count(
                Gap::Truncated,
                ct.archive_too_large,
                format!(
                    "{} archive(s) over --max-file-size {} were not opened (their bytes were scanned as binary){}",
                    ct.archive_too_large,
                    human(self.max_file_size),
                    eg(GapKind::ArchiveTooLarge)
                ),
            );
        }
        if ct.decode_stopped > 0 {
            c.gap_count(
                Gap::Truncated,
                ct.decode_stopped,
                format!(
                    "decoding stopped at its budget (the file's own size) in {} file(s){}",
                    ct.decode_stopped,
                    eg(GapKind::DecodeStopped)
                ),
            );
        }
        c
    }

    /// The one-line summary: what was read, how fast, what was skipped and why (archive members
    /// skipped count with files).
    pub fn summary(&self) -> Summary<'_> {
        Summary(self)
    }

    /// Emits the structured `scan finished` event (for `--log-format json`) with `findings`
    /// reported.
    pub fn log_finished(&self, findings: usize) {
        let (files, bytes, commits) = self.counts();
        let seconds = self.elapsed.as_secs_f64();
        let summary = self.summary().to_string();
        match commits {
            Some(commits) => tracing::info!(
                findings,
                files,
                bytes,
                commits,
                seconds,
                summary,
                "scan finished"
            ),
            None => tracing::info!(findings, files, bytes, seconds, summary, "scan finished"),
        }
    }
}

impl ScanOutcome {
    /// Masks every secret the rules find in what the warnings, the summary and the reasons
    /// print: names of objects and files that could not be read, what could not be finished
    /// (tester helper-117 M1: a tar header's parse error quoted the `.env` line it was given).
    fn scrub(&mut self, rules: &crate::Ruleset) {
        let scrub = |v: &mut Vec<String>| {
            for s in v.iter_mut() {
                *s = crate::meta::scrub(rules, s);
            }
        };
        scrub(&mut self.warnings);
        for (_, e) in &mut self.content.examples {
            *e = crate::meta::scrub(rules, e);
        }
        if let Scanned::History(s) | Scanned::Index(s) = &mut self.read {
            scrub(&mut s.named);
            scrub(&mut s.not_commits);
            for (_, e) in &mut s.content.examples {
                *e = crate::meta::scrub(rules, e);
            }
        }
    }
}

/// [`ScanOutcome::summary`].
pub struct Summary<'a>(&'a ScanOutcome);

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = self.0;
        let max = human(o.max_file_size);
        let mib = |b: u64| b as f64 / 1048576.0;
        match &o.read {
            Scanned::History(s) | Scanned::Index(s) => {
                match &o.read {
                    Scanned::Index(_) => f.write_str("the index")?,
                    _ if s.cached > 0 => write!(
                        f,
                        "{} commit(s) ({} from the history cache)",
                        s.commits, s.cached
                    )?,
                    _ => write!(f, "{} commit(s)", s.commits)?,
                }
                write!(
                    f,
                    ", {} blob(s){}, {:.1} MiB; skipped {} binary or over {max}, {} missing, {} unreadable object(s)",
                    s.blobs,
                    // A cached commit's blobs are not read again, nor counted (nor what an
                    // allowlist skipped in them).
                    if s.cached > 0 { " read this run" } else { "" },
                    mib(s.bytes),
                    s.skipped,
                    s.missing,
                    s.unreadable
                )?;
                if s.shallow > 0 {
                    write!(f, "; shallow clone ({} boundary commit(s))", s.shallow)?;
                }
                if s.walk_stopped > 0 {
                    write!(f, "; walk stopped on {} line(s)", s.walk_stopped)?;
                }
                if s.unreachable > 0 {
                    write!(f, "; {} unreachable object(s) scanned", s.unreachable)?;
                }
                o.write_content(f)
            }
            Scanned::Files(t) => {
                let secs = o.elapsed.as_secs_f64();
                write!(
                    f,
                    "{} file(s), {:.1} MiB in {secs:.2} s ({:.0} MiB/s); skipped {} binary, {} over {max}, {} unreadable",
                    t.files,
                    mib(t.bytes),
                    mib(t.bytes) / secs.max(1e-6),
                    t.binary,
                    t.too_large,
                    t.unreadable,
                )?;
                if t.symlinks > 0 {
                    write!(
                        f,
                        ", {} symbolic link(s) not followed (--follow-symlinks)",
                        t.symlinks
                    )?;
                }
                if t.special > 0 {
                    write!(f, ", {} FIFO, socket or device file(s) not read", t.special)?;
                }
                let Some(ignored) = t.ignored else {
                    return o.write_content(f);
                };
                write!(f, ", {ignored} ignored by ignore rules")?;
                if !o.ignored_env.is_empty() {
                    let mut names = o
                        .ignored_env
                        .iter()
                        .take(5)
                        .map(|n| vigil_core::logging::printable(n).into_owned())
                        .collect::<Vec<_>>()
                        .join(", ");
                    if o.ignored_env.len() > 5 {
                        names.push_str(", …");
                    }
                    write!(
                        f,
                        "; {} look like env files ({names}): add --no-ignore to scan them",
                        o.ignored_env.len()
                    )?;
                }
                o.write_content(f)
            }
        }
    }
}

impl ScanOutcome {
    /// The summary's tail, each part only when it is not zero: archives and their members,
    /// decoded runs, findings allowed by inline markers.
    fn write_content(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.content;
        if c.archives > 0 {
            write!(
                f,
                "; {} archive(s) opened, {} member(s) scanned",
                c.archives, c.members
            )?;
        }
        if c.decoded > 0 {
            write!(f, "; {} encoded run(s) decoded", c.decoded)?;
        }
        if c.utf16 > 0 {
            write!(f, "; {} read as UTF-16 or UTF-32", c.utf16)?;
        }
        if c.binary + c.member_binary > 0 {
            write!(
                f,
                "; {} binary read by printable runs",
                c.binary + c.member_binary
            )?;
        }
        if c.chunked > 0 {
            write!(
                f,
                "; {} over {} read in chunks",
                c.chunked,
                human(self.max_file_size)
            )?;
        }
        if c.allowed_by_marker > 0 {
            write!(f, "; {} allowed by marker", c.allowed_by_marker)?;
        }
        let (found, files) = self.allowlisted;
        if found + files > 0 {
            let file = self
                .allowlist_file
                .as_deref()
                .unwrap_or("the configuration");
            write!(f, "; ")?;
            if found > 0 {
                write!(f, "{found} match(es) suppressed")?;
            }
            if files > 0 {
                let and = if found > 0 { " and " } else { "" };
                write!(f, "{and}{files} input(s) skipped")?;
            }
            write!(f, " by {file} allowlist")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{ConfigSource, ScanFlags};

    fn settings(roots: &[PathBuf]) -> ScanSettings {
        let src = ConfigSource {
            explicit: None,
            sections: &["scan"],
        };
        let cwd = tempfile::TempDir::new().unwrap();
        ScanSettings::resolve(src, cwd.path(), roots, &ScanFlags::default()).unwrap()
    }

    #[test]
    fn files_and_readers_give_the_same_findings_and_a_summary() {
        let d = tempfile::TempDir::new().unwrap();
        let key = crate::examples::expand("«sk-or-v1-{hex:64}»", &mut crate::examples::Gen::new(5))
            .unwrap()
            .text;
        let text = format!("x = 1\nkey: {key}\n");
        std::fs::write(d.path().join("a.txt"), &text).unwrap();
        std::fs::write(d.path().join(".gitignore"), "skipped.env\n").unwrap();
        std::fs::write(d.path().join("skipped.env"), "A=1\n").unwrap();
        let s = settings(&[d.path().to_owned()]);
        let files = scan(&s, Target::Paths, &|_| {}).unwrap();
        // Files are named as the root was: here, absolute.
        let a = source::display_path(&d.path().join("a.txt"));
        let stdin = scan(
            &s,
            Target::Reader {
                name: &a,
                reader: Box::new(text.as_bytes()),
            },
            &|_| {},
        )
        .unwrap();
        let spots = |o: &ScanOutcome| -> Vec<(String, usize, String)> {
            o.findings
                .iter()
                .map(|f| (f.file.clone(), f.line, f.rule.clone()))
                .collect()
        };
        assert_eq!(spots(&files), spots(&stdin));
        assert_eq!(
            spots(&files),
            [(a.clone(), 2, "openrouter-api-key".to_owned())]
        );
        let summary = files.summary().to_string();
        assert!(summary.starts_with("2 file(s), 0.0 MiB in "), "{summary}");
        assert!(
            summary.ends_with(
                &format!("skipped 0 binary, 0 over 10 MiB, 0 unreadable, 1 ignored by ignore rules; 1 look like env files ({}): add --no-ignore to scan them", source::display_path(&d.path().join("skipped.env")))
            ),
            "{summary}"
        );
        assert!(!stdin.summary().to_string().contains("ignored"));
        assert_eq!(files.completeness().skipped.ignored, 1);
        assert!(files.completeness().is_complete());
    }
}
