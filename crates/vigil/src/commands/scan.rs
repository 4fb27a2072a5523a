//! `vigil scan [PATH...]`: find secrets in files, directories and stdin, and report them.

use crate::cli::{GlobalArgs, LogFormatArg};
use crate::output::{use_color, Progress};
use anyhow::{bail, Context as _};
use clap::{Args, ValueEnum};
use std::io::Write;
use std::io::{IsTerminal as _, Read as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Instant;
use vigil_core::{Config, ExitStatus};
use vigil_scan::baseline::{Baseline, Known};
use vigil_scan::config::{parse_size, ScanSection, SizeValue};
use vigil_scan::git::{self, GitStats, HistoryOptions};
use vigil_scan::report::{self, Context, Format};
use vigil_scan::rule::ConfigFile;
use vigil_scan::ruleset::Origin;
use vigil_scan::source::{self, Outcome, WalkOptions};
use vigil_scan::Ruleset;

use super::SECTIONS;

/// Top-level keys of a gitleaks configuration file.
const GITLEAKS_KEYS: &[&str] = &[
    "title",
    "extend",
    "rules",
    "allowlist",
    "allowlists",
    "description",
];

/// Arguments of `vigil scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files or directories to scan; `-` reads stdin.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Report format.
    #[arg(short, long, visible_alias = "report-format", value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
    /// Write the report to this file instead of stdout.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub report_path: Option<PathBuf>,
    /// Print secrets in full in the report (they are redacted by default).
    #[arg(long)]
    pub show_secrets: bool,
    /// Scan files that .gitignore and .ignore exclude.
    #[arg(long)]
    pub no_ignore: bool,
    /// Skip files larger than this (e.g. 10MiB, 500KB) [default: 10MiB].
    #[arg(long, value_name = "SIZE")]
    pub max_file_size: Option<String>,
    /// Follow symbolic links (loops are reported and skipped).
    #[arg(long)]
    pub follow_symlinks: bool,
    /// Worker threads [default: one per core].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Exit code when findings are reported.
    #[arg(long, value_name = "N")]
    pub exit_code: Option<u8>,
    /// Report only findings not in this baseline (a JSON report from --baseline-write).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Record the current findings as a baseline and exit 0.
    #[arg(long, value_name = "FILE", conflicts_with = "baseline")]
    pub baseline_write: Option<PathBuf>,
    /// Scan the git history of the repository at PATH (every commit reachable from any ref).
    #[arg(long, conflicts_with_all = ["staged", "pre_push"])]
    pub git: bool,
    /// With --git: only the history of this branch (or any revision).
    #[arg(long, value_name = "REV", requires = "git", conflicts_with = "range")]
    pub branch: Option<String>,
    /// With --git: only commits authored at or after this date (2026-01-31 or RFC 3339).
    #[arg(long, value_name = "DATE", requires = "git")]
    pub since: Option<String>,
    /// With --git: only commits in A..B (reachable from B, not from A).
    #[arg(long, value_name = "A..B", requires = "git")]
    pub range: Option<String>,
    /// Scan what `git commit` is about to record (the index against HEAD), new lines only.
    #[arg(long, conflicts_with = "pre_push")]
    pub staged: bool,
    /// Scan the commits a push would send (git's pre-push stdin, pre-commit's
    /// PRE_COMMIT_FROM_REF/TO_REF, or else HEAD minus every remote-tracking branch).
    #[arg(long)]
    pub pre_push: bool,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Human text.
    Text,
    /// JSON array of findings.
    Json,
    /// SARIF 2.1.0.
    Sarif,
    /// CSV.
    Csv,
    /// JUnit XML.
    Junit,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Text => Format::Text,
            FormatArg::Json => Format::Json,
            FormatArg::Sarif => Format::Sarif,
            FormatArg::Csv => Format::Csv,
            FormatArg::Junit => Format::Junit,
        }
    }
}

/// Runs a scan.
pub fn run(g: &GlobalArgs, args: ScanArgs) -> anyhow::Result<ExitStatus> {
    let started = Instant::now();
    for p in args.paths.iter().filter(|p| p.as_os_str() != "-") {
        if let Err(e) = std::fs::symlink_metadata(p) {
            bail!("{}: cannot scan: {e}", p.display());
        }
    }
    let (rules, section) = load_rules(g, &args.paths)?;
    tracing::debug!(rules = rules.rules.len(), "rules loaded");
    let max = match (&args.max_file_size, &section.max_file_size) {
        (Some(s), _) => parse_size(s).map_err(|e| anyhow::anyhow!("--max-file-size: {e}"))?,
        (None, Some(SizeValue::Bytes(b))) => *b,
        (None, Some(SizeValue::Text(t))) => {
            parse_size(t).map_err(|e| anyhow::anyhow!("scan.max_file_size: {e}"))?
        }
        (None, None) => 10 << 20,
    };
    let opts = WalkOptions {
        no_ignore: args.no_ignore || section.no_ignore.unwrap_or(false),
        max_file_size: max,
        follow_symlinks: args.follow_symlinks,
        threads: args.threads.unwrap_or(0),
    };
    if args.git || args.staged || args.pre_push {
        let repo = args
            .paths
            .first()
            .cloned()
            .unwrap_or_else(|| PathBuf::from("."));
        let (findings, stats) = git_scan(&rules, &args, &repo, max)?;
        let source = if args.staged {
            "the index".to_owned()
        } else {
            format!("{} commit(s)", stats.commits)
        };
        let summary = format!(
            "{source}, {} blob(s), {:.1} MiB; skipped {} binary or over {}, {} unreadable object(s)",
            stats.blobs,
            stats.bytes as f64 / 1048576.0,
            stats.skipped,
            human(max),
            stats.unreadable
        );
        let tally = Tally {
            files: stats.blobs as u64,
            bytes: stats.bytes,
            commits: Some(stats.commits as u64),
            summary,
        };
        return finish(g, &args, &rules, &section, findings, started, tally);
    }
    let progress = Progress::new(g.quiet);
    let outcome = if args.paths.iter().any(|p| p.as_os_str() == "-") {
        if args.paths.len() > 1 {
            bail!("`-` (stdin) cannot be combined with other paths");
        }
        source::scan_reader(&rules, "-", std::io::stdin().lock()).context("reading stdin")?
    } else {
        source::scan_paths(&rules, &args.paths, &opts, &|n| progress.inc(n))
    };
    progress.finish();
    for w in &outcome.warnings {
        tracing::warn!("{w}");
    }
    let Outcome {
        findings,
        stats,
        ignored_env,
        ..
    } = outcome;
    let secs = started.elapsed().as_secs_f64();
    let bytes = stats.bytes.load(Ordering::Relaxed);
    let (files, binary, large, unreadable) = (
        stats.files.load(Ordering::Relaxed),
        stats.binary.load(Ordering::Relaxed),
        stats.too_large.load(Ordering::Relaxed),
        stats.unreadable.load(Ordering::Relaxed),
    );
    let mut summary = format!(
        "{files} file(s), {:.1} MiB in {secs:.2} s ({:.0} MiB/s); skipped {binary} binary, {large} over {}, {unreadable} unreadable",
        bytes as f64 / 1048576.0,
        bytes as f64 / 1048576.0 / secs.max(1e-6),
        human(max),
    );
    if !opts.no_ignore && !args.paths.iter().any(|p| p.as_os_str() == "-") {
        summary.push_str(&format!(
            ", {} ignored by ignore rules",
            stats.ignored.load(Ordering::Relaxed)
        ));
        if !ignored_env.is_empty() {
            let mut names = ignored_env
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            if ignored_env.len() > 5 {
                names.push_str(", …");
            }
            summary.push_str(&format!(
                "; {} look like env files ({names}): add --no-ignore to scan them",
                ignored_env.len()
            ));
        }
    }
    let tally = Tally {
        files,
        bytes,
        commits: None,
        summary,
    };
    finish(g, &args, &rules, &section, findings, started, tally)
}

/// What a scan read, for the structured `scan finished` log event.
struct Tally {
    /// Files (or distinct blobs, for history scans) scanned.
    files: u64,
    /// Bytes scanned.
    bytes: u64,
    /// Commits walked, for history scans.
    commits: Option<u64>,
    /// The one-line summary printed on stderr.
    summary: String,
}

/// Filters by ignore files and baseline, writes the report, prints the summary, picks the exit code.
fn finish(
    g: &GlobalArgs,
    args: &ScanArgs,
    rules: &Ruleset,
    section: &ScanSection,
    mut findings: Vec<vigil_scan::finding::Finding>,
    started: Instant,
    tally: Tally,
) -> anyhow::Result<ExitStatus> {
    let mut known = Known::default();
    for f in ignore_files(&args.paths) {
        known.load_ignore_file(&f)?;
    }
    if !known.is_empty() {
        findings.retain(|f| !known.contains(f));
    }

    let ctx = Context {
        rules,
        show_secrets: args.show_secrets,
        color: false,
        version: env!("CARGO_PKG_VERSION"),
    };
    if let Some(path) = &args.baseline_write {
        // Rewriting a baseline keeps its salt, so its diff shows only what changed.
        let salt = match Baseline::salt_of(path) {
            Some(s) => s,
            None => Baseline::new_salt().context("drawing a baseline salt")?,
        };
        vigil_core::fsx::atomic_write(path, &Baseline::render(&findings, &salt))
            .with_context(|| format!("{}: cannot write baseline", path.display()))?;
        if !g.quiet {
            eprintln!(
                "vigil: recorded {} finding(s) in baseline {}",
                findings.len(),
                path.display()
            );
        }
        return Ok(ExitStatus::Success);
    }
    let baseline = args
        .baseline
        .clone()
        .or_else(|| section.baseline.as_ref().map(PathBuf::from));
    if let Some(b) = baseline {
        let (base, warnings) = Baseline::load(&b)?;
        for w in warnings {
            tracing::warn!("{w}");
        }
        findings.retain(|f| !base.contains(f));
    }

    let format: Format = args.format.into();
    match &args.report_path {
        Some(p) => {
            let mut buf = Vec::new();
            report::write(format, &findings, &ctx, &mut buf)?;
            // Secrets in clear: private from the first byte (0600, new folders 0700).
            let written = if args.show_secrets {
                vigil_core::fsx::write_private(p, &buf)
            } else {
                vigil_core::fsx::atomic_write(p, &buf)
            };
            written.with_context(|| format!("{}: cannot write report", p.display()))?;
        }
        None => {
            let color = format == Format::Text && use_color(g.color, &std::io::stdout());
            let ctx = Context { color, ..ctx };
            // Rendered first, so a closed stdout is one clean EPIPE (serializers wrap it). The
            // verdict (exit code) stands even when nobody reads the report.
            let mut buf = Vec::new();
            report::write(format, &findings, &ctx, &mut buf)?;
            let mut out = std::io::stdout().lock();
            match out.write_all(&buf).and_then(|_| out.flush()) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                r => r?,
            }
        }
    }

    if matches!(g.log_format, LogFormatArg::Json) {
        let seconds = started.elapsed().as_secs_f64();
        match tally.commits {
            Some(commits) => tracing::info!(
                findings = findings.len(),
                files = tally.files,
                bytes = tally.bytes,
                commits,
                seconds,
                summary = tally.summary,
                "scan finished"
            ),
            None => tracing::info!(
                findings = findings.len(),
                files = tally.files,
                bytes = tally.bytes,
                seconds,
                summary = tally.summary,
                "scan finished"
            ),
        }
    } else if !g.quiet {
        eprintln!("vigil: {} finding(s) in {}", findings.len(), tally.summary);
    }
    if findings.is_empty() {
        Ok(ExitStatus::Success)
    } else {
        Ok(match args.exit_code.or(section.exit_code) {
            None | Some(1) => ExitStatus::Failure,
            Some(c) => ExitStatus::Custom(c),
        })
    }
}

/// History, staged or pre-push scans.
fn git_scan(
    rules: &Ruleset,
    args: &ScanArgs,
    repo: &Path,
    max: u64,
) -> anyhow::Result<(Vec<vigil_scan::finding::Finding>, GitStats)> {
    if args.staged {
        return Ok(git::scan_staged(repo, rules, max)?);
    }
    let mut opts = HistoryOptions {
        branch: args.branch.clone(),
        range: args.range.clone(),
        max_blob_size: max,
        threads: args.threads.unwrap_or(0),
        ..HistoryOptions::default()
    };
    if let Some(s) = &args.since {
        let t = humantime::parse_rfc3339_weak(s)
            .or_else(|_| humantime::parse_rfc3339_weak(&format!("{s} 00:00:00")))
            .map_err(|_| {
                anyhow::anyhow!("--since: `{s}` is not a date (2026-01-31 or RFC 3339)")
            })?;
        opts.since = Some(t.duration_since(std::time::UNIX_EPOCH)?.as_secs() as i64);
    }
    if args.pre_push {
        push_range(&mut opts)?;
    }
    Ok(git::scan_history(repo, rules, &opts)?)
}

/// What a push sends: git's pre-push stdin (`<local ref> <local sha> <remote ref> <remote sha>`
/// lines), pre-commit's `PRE_COMMIT_FROM_REF`/`PRE_COMMIT_TO_REF`, or HEAD minus every
/// remote-tracking branch.
fn push_range(opts: &mut HistoryOptions) -> anyhow::Result<()> {
    const ZERO: &str = "0000000000000000000000000000000000000000";
    if let (Ok(from), Ok(to)) = (
        std::env::var("PRE_COMMIT_FROM_REF"),
        std::env::var("PRE_COMMIT_TO_REF"),
    ) {
        opts.tips.push(to);
        opts.hidden.push(from);
        return Ok(());
    }
    let mut input = String::new();
    if !std::io::stdin().is_terminal() {
        std::io::Read::read_to_string(&mut std::io::stdin().take(1 << 20), &mut input)
            .context("reading pre-push stdin")?;
    }
    for line in input.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != 4 {
            continue;
        }
        if f[1] == ZERO {
            continue; // a deletion sends nothing
        }
        opts.tips.push(f[1].to_owned());
        if f[3] != ZERO {
            opts.hidden.push(f[3].to_owned());
        }
    }
    if opts.tips.is_empty() {
        opts.tips.push("HEAD".into());
    }
    opts.hide_remotes = true;
    Ok(())
}

/// Picks the rules: `--config` (a gitleaks file or a vigil.toml), else `vigil.toml [scan]` in the
/// working directory, else `.gitleaks.toml` beside the first scanned directory or here, else the
/// built-in rules.
pub(crate) fn load_rules(
    g: &GlobalArgs,
    paths: &[PathBuf],
) -> anyhow::Result<(Ruleset, ScanSection)> {
    if let Some(p) = &g.config {
        let raw = Config::parse_patterns(p)?;
        if is_gitleaks(&raw) {
            return Ok((gitleaks(&raw)?, ScanSection::default()));
        }
        return vigil_toml(&Config::load(p)?);
    }
    let here = Path::new(vigil_core::config::DEFAULT_FILE);
    if here.is_file() {
        let cfg = Config::load(here)?;
        if cfg.has_section("scan") {
            return vigil_toml(&cfg);
        }
        cfg.check_sections(SECTIONS)?;
    }
    let mut candidates: Vec<PathBuf> = paths
        .iter()
        .filter(|p| p.is_dir())
        .take(1)
        .map(|p| p.join(".gitleaks.toml"))
        .collect();
    candidates.push(PathBuf::from(".gitleaks.toml"));
    for c in candidates {
        if c.is_file() {
            let raw = Config::parse_patterns(&c)?;
            tracing::debug!("using gitleaks configuration {}", c.display());
            return Ok((gitleaks(&raw)?, ScanSection::default()));
        }
    }
    Ok((Ruleset::builtin(), ScanSection::default()))
}

fn is_gitleaks(cfg: &Config) -> bool {
    let keys = cfg.keys();
    !keys.is_empty() && keys.iter().all(|k| GITLEAKS_KEYS.contains(k))
}

fn gitleaks(cfg: &Config) -> anyhow::Result<Ruleset> {
    let file = ConfigFile::from_document(cfg)?;
    Ok(Ruleset::from_config(
        &file,
        &Origin {
            config: cfg,
            prefix: "",
        },
    )?)
}

fn vigil_toml(cfg: &Config) -> anyhow::Result<(Ruleset, ScanSection)> {
    cfg.check_sections(SECTIONS)?;
    let section = ScanSection::load(cfg)?;
    let rules = Ruleset::from_config(
        &section.to_config_file(),
        &Origin {
            config: cfg,
            prefix: "scan.",
        },
    )?;
    Ok((rules, section))
}

/// `.gitleaksignore` files beside the scanned directories and in the working directory.
fn ignore_files(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    let dirs = paths
        .iter()
        .filter(|p| p.is_dir())
        .cloned()
        .chain([PathBuf::from(".")]);
    for d in dirs {
        let f = d.join(".gitleaksignore");
        if f.is_file() {
            let canon = f.canonicalize().unwrap_or(f);
            if !out.contains(&canon) {
                out.push(canon);
            }
        }
    }
    out
}

fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 && b % (1 << 30) == 0 => format!("{} GiB", b >> 30),
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} B"),
    }
}
