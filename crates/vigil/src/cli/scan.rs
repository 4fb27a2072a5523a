//! `vigil scan`'s arguments (clap derive) and their mapping to `vigil-scan`'s flags and target,
//! kept apart from the command as uv keeps its arguments in `uv-cli`.

use crate::output::FormatArg;
use clap::Args;
use std::io::IsTerminal as _;
use std::path::PathBuf;
use vigil_scan::git::PushRange;
use vigil_scan::{History, ScanFlags, ScanSettings, Scope, Target};

/// Arguments of `vigil scan`.
#[derive(Debug, Args)]
pub(crate) struct ScanArgs {
    /// Files or directories to scan; `-` reads stdin [default: .].
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
    /// Read files and blobs larger than this in overlapping 8 MiB chunks rather than whole (e.g.
    /// 10MiB, 500KB); nothing is skipped for its size, an archive this large is not opened (a gap)
    /// [default: 10MiB].
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
    /// Decodings to follow one inside the other (base64, hex, percent, escapes); 0 turns
    /// decoding off [default: 3].
    #[arg(long, value_name = "N")]
    pub max_decode_depth: Option<u8>,
    /// Archives to open one inside the other (zip, jar, whl, tar, tar.gz, gz); 0 leaves them
    /// closed [default: 2].
    #[arg(long, value_name = "N")]
    pub max_archive_depth: Option<u8>,
    /// Exit as if the scan were complete when it could not read everything (the report still
    /// says what it missed).
    #[arg(long)]
    pub allow_incomplete: bool,
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
    /// With --git: also every commit and blob of the object database that no ref reaches
    /// (force-pushed, dropped stashes, reflog-only, never committed), reported `unreachable`.
    #[arg(long, requires = "git", conflicts_with_all = ["branch", "range", "since"])]
    pub all_objects: bool,
    /// With --git: read and update the history cache (what earlier scans of this repository
    /// learned, kept under its git folder; a cached scan reports what an uncached one does).
    /// Off by default and never used by the hooks (README, "Incremental scans").
    #[arg(long, requires = "git", conflicts_with_all = ["all_objects", "pre_push", "staged"])]
    pub cache: bool,
    /// Scan what `git commit` is about to record (the index against HEAD), new lines only.
    #[arg(long, conflicts_with = "pre_push")]
    pub staged: bool,
    /// Scan the commits a push would send (git's pre-push stdin, pre-commit's
    /// PRE_COMMIT_FROM_REF/TO_REF, or else HEAD minus what its upstream remote has).
    #[arg(long)]
    pub pre_push: bool,
    /// With --pre-push: the remote pushed to (the hook's `$1`); a new ref excludes only the
    /// commits this remote advertises.
    #[arg(long, value_name = "NAME", requires = "pre_push")]
    pub remote: Option<String>,
    /// With --pre-push: the URL pushed to (the hook's `$2`), asked what it has.
    #[arg(long, value_name = "URL", requires = "pre_push")]
    pub remote_url: Option<String>,
}

impl ScanArgs {
    /// The flags `vigil-scan` resolves into settings.
    pub(crate) fn flags(&self) -> ScanFlags {
        ScanFlags {
            max_file_size: self.max_file_size.clone(),
            no_ignore: self.no_ignore,
            follow_symlinks: self.follow_symlinks,
            threads: self.threads,
            exit_code: self.exit_code,
            baseline: self.baseline.clone(),
            baseline_write: self.baseline_write.clone(),
            max_decode_depth: self.max_decode_depth,
            max_archive_depth: self.max_archive_depth,
            allow_incomplete: self.allow_incomplete,
            paths_given: !self.paths.is_empty(),
        }
    }

    /// What to scan: stdin, the paths, the index or a history (for `--pre-push`, the range the
    /// hook's stdin names).
    pub(crate) fn target(&self, s: &ScanSettings) -> anyhow::Result<Target<'static>> {
        // One repository per history, index or push scan: a second path would be left out.
        if (self.git || self.staged || self.pre_push) && self.paths.len() > 1 {
            anyhow::bail!(
                "--git, --staged and --pre-push scan one repository: give one path, not {}",
                self.paths.len()
            );
        }
        let scope = match (&self.branch, &self.range) {
            _ if self.pre_push => {
                let mut stdin = std::io::stdin().lock();
                let input = (!std::io::stdin().is_terminal()).then_some(&mut stdin as _);
                Scope::Push(PushRange::from_hook(
                    &|k| std::env::var(k).ok(),
                    input,
                    self.remote.as_deref(),
                    self.remote_url.as_deref(),
                )?)
            }
            (Some(b), _) => Scope::Branch(b.clone()),
            (_, Some(r)) => Scope::Range(r.clone()),
            _ => Scope::All,
        };
        // `pre-commit run --from-ref A --to-ref B` (CI) runs the commit-stage entry with a clean
        // index: `--staged` scans the range pre-commit names instead (its pre-push hook sets
        // `PRE_COMMIT_REMOTE_NAME` too, and never runs the `--staged` entry).
        let pre_commit_range = || -> Option<String> {
            let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
            if var("PRE_COMMIT_REMOTE_NAME").is_some() {
                return None;
            }
            Some(format!(
                "{}..{}",
                var("PRE_COMMIT_FROM_REF")?,
                var("PRE_COMMIT_TO_REF")?
            ))
        };
        Ok(match () {
            _ if self.staged => match pre_commit_range() {
                Some(range) => {
                    tracing::warn!(
                        "pre-commit names the range {range} (PRE_COMMIT_FROM_REF/TO_REF): it is scanned instead of the index"
                    );
                    Target::History(History {
                        repo: s.repo(),
                        scope: Scope::Range(range),
                        since: None,
                        all_objects: false,
                        cache: false,
                    })
                }
                None => Target::Staged { repo: s.repo() },
            },
            _ if self.git || self.pre_push => Target::History(History {
                repo: s.repo(),
                scope,
                since: self.since.clone(),
                all_objects: self.all_objects,
                cache: self.cache,
            }),
            _ if s.reads_stdin() => Target::Reader {
                name: "-",
                reader: Box::new(std::io::stdin().lock()),
            },
            _ => Target::Paths,
        })
    }
}
