//! `vigil scan [PATH...]`: find secrets in files, directories and stdin, and report them.

use crate::cli::{GlobalArgs, LogFormatArg};
use crate::output::{use_color, Progress};
use anyhow::{bail, Context as _};
use clap::{Args, ValueEnum};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Instant;
use vigil_core::{Config, ExitStatus};
use vigil_scan::baseline::Known;
use vigil_scan::config::{parse_size, ScanSection, SizeValue};
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
        mut findings,
        stats,
        ..
    } = outcome;

    let mut known = Known::default();
    for f in ignore_files(&args.paths) {
        known.load_ignore_file(&f)?;
    }
    if !known.is_empty() {
        findings.retain(|f| !known.contains(f));
    }

    let ctx = Context {
        rules: &rules,
        show_secrets: args.show_secrets,
        color: false,
        version: env!("CARGO_PKG_VERSION"),
    };
    if let Some(path) = &args.baseline_write {
        let mut buf = Vec::new();
        report::write(Format::Json, &findings, &ctx, &mut buf)?;
        vigil_core::fsx::atomic_write(path, &buf)
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
        let mut base = Known::default();
        base.load_baseline(&b)?;
        findings.retain(|f| !base.contains(f));
    }

    let format: Format = args.format.into();
    match &args.report_path {
        Some(p) => {
            let mut buf = Vec::new();
            report::write(format, &findings, &ctx, &mut buf)?;
            vigil_core::fsx::atomic_write(p, &buf)
                .with_context(|| format!("{}: cannot write report", p.display()))?;
        }
        None => {
            let color = format == Format::Text && use_color(g.color, &std::io::stdout());
            let ctx = Context { color, ..ctx };
            let mut out = std::io::stdout().lock();
            match report::write(format, &findings, &ctx, &mut out).and_then(|_| out.flush()) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                r => r?,
            }
        }
    }

    let secs = started.elapsed().as_secs_f64();
    let bytes = stats.bytes.load(Ordering::Relaxed);
    let (files, binary, large, unreadable) = (
        stats.files.load(Ordering::Relaxed),
        stats.binary.load(Ordering::Relaxed),
        stats.too_large.load(Ordering::Relaxed),
        stats.unreadable.load(Ordering::Relaxed),
    );
    if matches!(g.log_format, LogFormatArg::Json) {
        tracing::info!(
            findings = findings.len(),
            files,
            bytes,
            seconds = secs,
            binary,
            too_large = large,
            unreadable,
            "scan finished"
        );
    } else if !g.quiet {
        eprintln!(
            "vigil: {} finding(s) in {files} file(s), {:.1} MiB in {secs:.2} s ({:.0} MiB/s); skipped {binary} binary, {large} over {}, {unreadable} unreadable",
            findings.len(),
            bytes as f64 / 1048576.0,
            bytes as f64 / 1048576.0 / secs.max(1e-6),
            human(max),
        );
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

/// Picks the rules: `--config` (a gitleaks file or a vigil.toml), else `vigil.toml [scan]` in the
/// working directory, else `.gitleaks.toml` beside the first scanned directory or here, else the
/// built-in rules.
fn load_rules(g: &GlobalArgs, paths: &[PathBuf]) -> anyhow::Result<(Ruleset, ScanSection)> {
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
    let file: ConfigFile = cfg.root()?;
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
    let section: ScanSection = cfg.section("scan")?;
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
