//! Sources of bytes to scan: directory trees (parallel, `.gitignore`-aware, via the `ignore`
//! crate), single files, and stdin. Binary, oversized and unreadable inputs are counted, never
//! fatal.

use crate::finding::Finding;
use crate::ruleset::Ruleset;
use ignore::{WalkBuilder, WalkState};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// How to walk.
#[derive(Debug, Clone)]
pub struct WalkOptions {
    /// Ignore `.gitignore`, `.ignore` and git excludes.
    pub no_ignore: bool,
    /// Skip files larger than this many bytes.
    pub max_file_size: u64,
    /// Follow symbolic links (loops are reported, not followed forever).
    pub follow_symlinks: bool,
    /// Worker threads (0 = one per core).
    pub threads: usize,
}

impl Default for WalkOptions {
    fn default() -> Self {
        WalkOptions {
            no_ignore: false,
            max_file_size: 10 << 20,
            follow_symlinks: false,
            threads: 0,
        }
    }
}

/// Counts of what a scan read and passed over.
#[derive(Debug, Default)]
pub struct Stats {
    /// Files scanned.
    pub files: AtomicU64,
    /// Bytes scanned.
    pub bytes: AtomicU64,
    /// Files skipped as binary.
    pub binary: AtomicU64,
    /// Files skipped as larger than `max_file_size`.
    pub too_large: AtomicU64,
    /// Entries that could not be read (each also produced a warning).
    pub unreadable: AtomicU64,
}

impl Stats {
    /// Total files passed over for any reason.
    pub fn skipped(&self) -> u64 {
        self.binary.load(Ordering::Relaxed)
            + self.too_large.load(Ordering::Relaxed)
            + self.unreadable.load(Ordering::Relaxed)
    }
}

/// The result of scanning some sources.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Findings, sorted by file, line, column, rule.
    pub findings: Vec<Finding>,
    /// What was read and skipped.
    pub stats: Stats,
    /// One line per problem met (unreadable file, symlink loop), never containing file content.
    pub warnings: Vec<String>,
}

/// How many leading bytes decide whether a file is binary.
const BINARY_PROBE: usize = 8000;

/// Whether the buffer looks binary (a NUL byte early on).
pub fn is_binary(data: &[u8]) -> bool {
    memchr::memchr(0, &data[..data.len().min(BINARY_PROBE)]).is_some()
}

/// Scans files and directories. `progress` is called with the byte count of each file read.
pub fn scan_paths(
    rules: &Ruleset,
    roots: &[PathBuf],
    opts: &WalkOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Outcome {
    let stats = Stats::default();
    let findings = Mutex::new(Vec::new());
    let warnings = Mutex::new(Vec::new());
    for root in roots {
        let warn = |w: String| warnings.lock().unwrap_or_else(|e| e.into_inner()).push(w);
        let meta = match std::fs::metadata(root) {
            Ok(m) => m,
            Err(e) => {
                stats.unreadable.fetch_add(1, Ordering::Relaxed);
                warn(format!("{}: cannot read: {e}", root.display()));
                continue;
            }
        };
        if meta.is_file() {
            let shown = display_path(root);
            scan_file(
                rules,
                root,
                &shown,
                meta.len(),
                opts,
                &stats,
                &findings,
                &warn,
                progress,
            );
            continue;
        }
        let mut b = WalkBuilder::new(root);
        b.hidden(false)
            .git_ignore(!opts.no_ignore)
            .git_exclude(!opts.no_ignore)
            .git_global(!opts.no_ignore)
            .ignore(!opts.no_ignore)
            .parents(!opts.no_ignore)
            .require_git(false)
            .follow_links(opts.follow_symlinks)
            .threads(opts.threads)
            .filter_entry(|e| e.file_name() != ".git");
        b.build_parallel().run(|| {
            Box::new(|entry| {
                let entry = match entry {
                    Ok(e) => e,
                    Err(e) => {
                        stats.unreadable.fetch_add(1, Ordering::Relaxed);
                        warn(one_line(&e.to_string()));
                        return WalkState::Continue;
                    }
                };
                let Some(ft) = entry.file_type() else {
                    return WalkState::Continue;
                };
                if !ft.is_file() {
                    return WalkState::Continue;
                }
                let path = entry.path();
                let rel = path.strip_prefix(root).unwrap_or(path);
                let shown = display_path(rel);
                let len = entry.metadata().map(|m| m.len()).unwrap_or(0);
                scan_file(
                    rules, path, &shown, len, opts, &stats, &findings, &warn, progress,
                );
                WalkState::Continue
            })
        });
    }
    let mut findings = findings.into_inner().unwrap_or_else(|e| e.into_inner());
    sort(&mut findings);
    let mut warnings = warnings.into_inner().unwrap_or_else(|e| e.into_inner());
    warnings.sort();
    Outcome {
        findings,
        stats,
        warnings,
    }
}

/// Scans standard input as one file named `-`.
pub fn scan_reader(rules: &Ruleset, name: &str, mut r: impl Read) -> std::io::Result<Outcome> {
    let mut data = Vec::new();
    r.read_to_end(&mut data)?;
    let out = Outcome::default();
    let mut findings = Vec::new();
    out.stats.files.fetch_add(1, Ordering::Relaxed);
    out.stats
        .bytes
        .fetch_add(data.len() as u64, Ordering::Relaxed);
    rules.scan_bytes(name, None, &data, &mut findings);
    sort(&mut findings);
    Ok(Outcome { findings, ..out })
}

/// Sorts findings into report order.
pub fn sort(f: &mut [Finding]) {
    f.sort_by(|a, b| {
        (&a.file, a.line, a.column, &a.rule).cmp(&(&b.file, b.line, b.column, &b.rule))
    });
}

#[allow(clippy::too_many_arguments)]
fn scan_file(
    rules: &Ruleset,
    path: &Path,
    shown: &str,
    len: u64,
    opts: &WalkOptions,
    stats: &Stats,
    findings: &Mutex<Vec<Finding>>,
    warn: &(dyn Fn(String) + Sync),
    progress: &(dyn Fn(u64) + Sync),
) {
    if len > opts.max_file_size {
        stats.too_large.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) => {
            stats.unreadable.fetch_add(1, Ordering::Relaxed);
            warn(format!("{shown}: cannot read: {e}"));
            return;
        }
    };
    if data.len() as u64 > opts.max_file_size {
        stats.too_large.fetch_add(1, Ordering::Relaxed);
        return;
    }
    if is_binary(&data) {
        stats.binary.fetch_add(1, Ordering::Relaxed);
        return;
    }
    stats.files.fetch_add(1, Ordering::Relaxed);
    stats.bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
    let mut local = Vec::new();
    rules.scan_bytes(shown, None, &data, &mut local);
    if !local.is_empty() {
        findings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(local);
    }
    progress(data.len() as u64);
}

/// A path as reported: forward slashes, no leading `./`.
pub fn display_path(p: &Path) -> String {
    let s = p.to_string_lossy().replace('\\', "/");
    let s = s.strip_prefix("./").unwrap_or(&s);
    if s.is_empty() {
        ".".to_owned()
    } else {
        s.to_owned()
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
