//! Sources of bytes to scan: directory trees (parallel, `.gitignore`-aware, via the `ignore`
//! crate), single files, and stdin, each buffer handed to the content scanner (`content.rs`:
//! archives, decoding, binary content by its printable runs); a file over `max_file_size` is
//! read in overlapping chunks instead of whole. Unreadable inputs are counted, never fatal, and
//! make the scan incomplete (`scan.rs`).
//!
//! Ignore rules prune only what git does not track: in a git work tree, every file of the index
//! under a scanned folder is scanned whatever a `.gitignore` or `.ignore` says (a file committed
//! before it was ignored is still in every clone). A folder whose files are all excluded by
//! ignore rules is reported ([`Outcome::unscanned`]): a scan that read nothing is not clean.

use crate::content::{self, ContentOptions, ContentTally};
use crate::finding::Finding;
use crate::ruleset::Ruleset;
use ignore::{WalkBuilder, WalkState};
use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// How to walk.
#[derive(Debug, Clone)]
pub struct WalkOptions {
    /// Ignore `.gitignore`, `.ignore` and git excludes.
    pub no_ignore: bool,
    /// Read files larger than this many bytes in overlapping chunks rather than whole.
    pub max_file_size: u64,
    /// Follow symbolic links (loops are reported, not followed forever).
    pub follow_symlinks: bool,
    /// Worker threads (0 = one per core).
    pub threads: usize,
    /// Decoding and archive depths and limits.
    pub content: ContentOptions,
}

impl Default for WalkOptions {
    fn default() -> Self {
        WalkOptions {
            no_ignore: false,
            max_file_size: 10 << 20,
            follow_symlinks: false,
            threads: 0,
            content: ContentOptions::default(),
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
    /// Files skipped as binary (none since binary files are read by their printable runs: see
    /// the content tally's `binary`).
    pub binary: AtomicU64,
    /// Files skipped as larger than `max_file_size` (none since such files are read in chunks:
    /// see the content tally's `chunked`).
    pub too_large: AtomicU64,
    /// Entries that could not be read (each also produced a warning).
    pub unreadable: AtomicU64,
    /// Files that `.gitignore`, `.ignore` or git's excludes kept out of the walk (counted by a
    /// second, read-nothing walk; zero with `no_ignore`).
    pub ignored: AtomicU64,
    /// Symbolic link loops met (warned about; what they lead to is scanned once anyway).
    pub loops: AtomicU64,
    /// Symbolic links a directory walk met and did not follow (without `follow_symlinks`).
    pub symlinks: AtomicU64,
    /// FIFOs, sockets and devices a directory walk met and did not read.
    pub special: AtomicU64,
    /// Archives, archive members, decodings, inline markers, and what could not be finished.
    pub content: Mutex<ContentTally>,
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
    /// Ignored files that look like env files (`.env`, `.env.*`, `*.env`; templates aside), as
    /// reported paths, sorted: the secrets a `.gitignore` hides from the scan.
    pub ignored_env: Vec<String>,
    /// Folders given to scan where ignore rules excluded every file (and how many): nothing was
    /// read there.
    pub unscanned: Vec<(PathBuf, u64)>,
}

/// The largest read buffer a thread keeps between files.
const KEEP_READ: usize = 16 << 20;

thread_local! {
    /// Per-thread buffer files are read into.
    static READ: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
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
    let mut ignored_env = Vec::new();
    let mut unscanned = Vec::new();
    // Nested roots (`vigil scan . src`) reach some files twice under one name: such a file is
    // read, reported and counted once. A file reached under two names (`a/../a` and `a`, a
    // link and its folder) is scanned under each: an allowlist, baseline or ignore entry for
    // one name must never hide the secret from the other.
    let reached: Option<Mutex<HashSet<String>>> = (roots.len() > 1).then(Default::default);
    for root in roots {
        let warn = |w: String| warnings.lock().unwrap_or_else(|e| e.into_inner()).push(w);
        let first_time = |shown: &str| {
            reached
                .as_ref()
                .is_none_or(|set| lock(set).insert(shown.to_owned()))
        };
        let meta = match std::fs::metadata(root) {
            Ok(m) => m,
            Err(e) => {
                stats.unreadable.fetch_add(1, Ordering::Relaxed);
                warn(format!("{}: cannot read: {e}", display_path(root)));
                continue;
            }
        };
        // A FIFO, socket or device named as an input would block or never end: never read,
        // and the scan is incomplete, naming it (as `vigil lint` does).
        if !meta.is_file() && !meta.is_dir() {
            stats.unreadable.fetch_add(1, Ordering::Relaxed);
            warn(format!(
                "{}: cannot read: not a regular file or folder (a FIFO, socket or device is never read)",
                display_path(root)
            ));
            continue;
        }
        if meta.is_file() {
            let shown = display_path(root);
            if !first_time(&shown) {
                continue;
            }
            scan_file(
                rules,
                root,
                (&shown, 0),
                Some(meta.len()),
                &mut Folder::default(),
                opts,
                &stats,
                &findings,
                &warn,
                progress,
            );
            continue;
        }
        let seen = AtomicU64::new(0);
        let seen_env = Mutex::new(HashSet::new());
        let seen_paths: Mutex<HashSet<PathBuf>> = Mutex::new(HashSet::new());
        walker(root, opts, opts.no_ignore).build_parallel().run(|| {
            // The folder of the files this thread reads, open while they are read: the one
            // thing its visitor owns; the rest is borrowed.
            let mut folder = Folder::default();
            let (stats, findings, seen, seen_env, seen_paths) =
                (&stats, &findings, &seen, &seen_env, &seen_paths);
            let (warn, first_time) = (&warn, &first_time);
            Box::new(move |entry| {
                let entry = match entry {
                    Ok(e) => e,
                    Err(e) => {
                        // A loop leads back to something scanned anyway; anything else is a
                        // part of the tree that was not read.
                        if is_loop(&e) {
                            stats.loops.fetch_add(1, Ordering::Relaxed);
                        } else {
                            stats.unreadable.fetch_add(1, Ordering::Relaxed);
                        }
                        warn(one_line(&e.to_string()));
                        return WalkState::Continue;
                    }
                };
                let Some(ft) = entry.file_type() else {
                    return WalkState::Continue;
                };
                if ft.is_symlink() {
                    // Not followed (a followed link has its target's type): a skip, counted
                    // once however many nested roots reach it.
                    if first_time(&display_path(entry.path())) {
                        stats.symlinks.fetch_add(1, Ordering::Relaxed);
                    }
                    return WalkState::Continue;
                }
                if !ft.is_file() {
                    // A FIFO, socket or device holds nothing at rest and may block a read:
                    // passed over, counted and shown in the summary.
                    if !ft.is_dir() && first_time(&display_path(entry.path())) {
                        stats.special.fetch_add(1, Ordering::Relaxed);
                    }
                    return WalkState::Continue;
                }
                let path = entry.path();
                let shown = display_path(path);
                let named = name_start(root, path, &shown);
                seen.fetch_add(1, Ordering::Relaxed);
                if !opts.no_ignore {
                    lock(seen_paths).insert(path.to_path_buf());
                }
                if looks_like_env(path) {
                    lock(seen_env).insert(shown.clone());
                }
                if !first_time(&shown) {
                    return WalkState::Continue;
                }
                scan_file(
                    rules,
                    path,
                    (&shown, named),
                    None,
                    &mut folder,
                    opts,
                    stats,
                    findings,
                    &warn,
                    progress,
                );
                WalkState::Continue
            })
        });
        if !opts.no_ignore {
            // Files git tracks are scanned whatever the ignore rules say.
            let seen_paths = seen_paths.into_inner().unwrap_or_else(|e| e.into_inner());
            let mut seen_env = seen_env.into_inner().unwrap_or_else(|e| e.into_inner());
            let mut folder = Folder::default();
            for path in tracked_under(root) {
                if seen_paths.contains(&path) {
                    continue;
                }
                let Ok(m) = std::fs::symlink_metadata(&path) else {
                    continue;
                };
                if !m.is_file() {
                    continue;
                }
                let shown = display_path(&path);
                let named = name_start(root, &path, &shown);
                seen.fetch_add(1, Ordering::Relaxed);
                if looks_like_env(&path) {
                    seen_env.insert(shown.clone());
                }
                if !first_time(&shown) {
                    continue;
                }
                scan_file(
                    rules,
                    &path,
                    (&shown, named),
                    Some(m.len()),
                    &mut folder,
                    opts,
                    &stats,
                    &findings,
                    &warn,
                    progress,
                );
            }
            let (all, env) = count_all(root, opts);
            let walked = seen.load(Ordering::Relaxed);
            stats
                .ignored
                .fetch_add(all.saturating_sub(walked), Ordering::Relaxed);
            if walked == 0 && all > 0 {
                unscanned.push((root.clone(), all));
            }
            ignored_env.extend(env.into_iter().filter(|p| !seen_env.contains(p)));
        }
    }
    let mut findings = findings.into_inner().unwrap_or_else(|e| e.into_inner());
    sort(&mut findings);
    let mut warnings = warnings.into_inner().unwrap_or_else(|e| e.into_inner());
    warnings.sort();
    ignored_env.sort();
    ignored_env.dedup();
    Outcome {
        findings,
        stats,
        warnings,
        ignored_env,
        unscanned,
    }
}

/// The files git tracks under `root` (as paths starting with `root`), when `root` is inside a
/// git work tree; nothing otherwise.
fn tracked_under(root: &Path) -> Vec<PathBuf> {
    let Ok(canonical) = std::fs::canonicalize(root) else {
        return Vec::new();
    };
    let Ok(repo) = gix::discover(&canonical) else {
        return Vec::new();
    };
    let Some(workdir) = repo.workdir().and_then(|w| std::fs::canonicalize(w).ok()) else {
        return Vec::new();
    };
    let Ok(index) = repo.index_or_empty() else {
        return Vec::new();
    };
    let Ok(under) = canonical.strip_prefix(&workdir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in index.entries() {
        if entry.stage_raw() != 0 || !entry.mode.to_tree_entry_mode().is_some_and(|m| m.is_blob()) {
            continue;
        }
        let Ok(rel) = gix::path::from_bstr(entry.path(&index)) else {
            continue;
        };
        if let Ok(inner) = rel.strip_prefix(under) {
            out.push(root.join(inner));
        }
    }
    out
}

/// The walker of a scan: hidden files included, `.git` skipped, ignore rules unless `no_ignore`.
fn walker(root: &Path, opts: &WalkOptions, no_ignore: bool) -> WalkBuilder {
    let mut b = WalkBuilder::new(root);
    b.hidden(false)
        .git_ignore(!no_ignore)
        .git_exclude(!no_ignore)
        .git_global(!no_ignore)
        .ignore(!no_ignore)
        .parents(!no_ignore)
        .require_git(false)
        .follow_links(opts.follow_symlinks)
        .threads(opts.threads)
        .filter_entry(|e| e.file_name() != ".git");
    b
}

/// Counts every file under `root` as if no ignore rule existed (reading none), and lists those
/// that look like env files. The scan's own count subtracted from it is what ignore rules kept
/// out: the `ignore` crate prunes ignored entries without reporting them.
fn count_all(root: &Path, opts: &WalkOptions) -> (u64, Vec<String>) {
    let all = AtomicU64::new(0);
    let env = Mutex::new(Vec::new());
    walker(root, opts, true).build_parallel().run(|| {
        Box::new(|entry| {
            if let Ok(e) = entry {
                if e.file_type().is_some_and(|t| t.is_file()) {
                    all.fetch_add(1, Ordering::Relaxed);
                    if looks_like_env(e.path()) {
                        lock(&env).push(display_path(e.path()));
                    }
                }
            }
            WalkState::Continue
        })
    });
    (
        all.into_inner(),
        env.into_inner().unwrap_or_else(|e| e.into_inner()),
    )
}

/// Whether a file name looks like an env file that holds real values (`.env`, `.env.local`,
/// `prod.env`), not a template (`.env.example`, `.sample`, `.template`, `.dist`).
pub fn looks_like_env(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let env = name == ".env" || name.starts_with(".env.") || name.ends_with(".env");
    let template = [".example", ".sample", ".template", ".dist"]
        .iter()
        .any(|t| name.ends_with(t));
    env && !template
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether a walk error is a symbolic link loop (possibly wrapped with its path or depth).
fn is_loop(e: &ignore::Error) -> bool {
    match e {
        ignore::Error::Loop { .. } => true,
        ignore::Error::WithPath { err, .. }
        | ignore::Error::WithDepth { err, .. }
        | ignore::Error::WithLineNumber { err, .. } => is_loop(err),
        ignore::Error::Partial(errs) => errs.iter().all(is_loop),
        _ => false,
    }
}

/// Scans standard input as one file named `-`, with the default content options.
pub fn scan_reader(rules: &Ruleset, name: &str, r: impl Read) -> std::io::Result<Outcome> {
    scan_reader_with(rules, &ContentOptions::default(), name, r)
}

/// Scans one stream as one file named `name` (`-` for stdin): archives are opened and encoded
/// text decoded as `opts` say.
pub fn scan_reader_with(
    rules: &Ruleset,
    opts: &ContentOptions,
    name: &str,
    mut r: impl Read,
) -> std::io::Result<Outcome> {
    let mut data = Vec::new();
    r.read_to_end(&mut data)?;
    let out = Outcome::default();
    let mut findings = Vec::new();
    let mut tally = ContentTally::default();
    // What is piped in is scanned whatever it looks like (`git diff`, a log with a NUL): binary
    // input by its printable runs.
    content::scan_any(rules, opts, name, None, &data, &mut findings, &mut tally);
    out.stats.files.fetch_add(1, Ordering::Relaxed);
    out.stats
        .bytes
        .fetch_add(data.len() as u64, Ordering::Relaxed);
    *lock(&out.stats.content) = tally;
    sort(&mut findings);
    Ok(Outcome { findings, ..out })
}

/// Sorts findings into report order.
pub fn sort(f: &mut [Finding]) {
    f.sort_by(|a, b| {
        (&a.file, a.line, a.column, &a.rule).cmp(&(&b.file, b.line, b.column, &b.rule))
    });
}

/// Where, in `shown` (the displayed `path`), the part below `root` starts: the part of a path
/// that the file's own name put there, scanned for secrets as text (a root's own name is the
/// user's choice, not a file of theirs, and would repeat in every path under it).
fn name_start(root: &Path, path: &Path, shown: &str) -> usize {
    let rel = path
        .strip_prefix(root)
        .map(display_path)
        .unwrap_or_default();
    if rel.is_empty() || rel == "." || !shown.ends_with(rel.as_str()) {
        return 0;
    }
    shown.len() - rel.len()
}

/// The folder the last file was opened in, kept open by one walking thread: the next file of
/// the same folder is opened relative to it, by its name alone. Opening by the whole path looks
/// up every folder on the way again, per file (4% of the scan's CPU, in the kernel's path walk,
/// on the benchmark's source trees). It resolves links as opening the path would; a folder that cannot
/// be opened this way (not Linux, no search permission) falls back to the whole path, so errors
/// read the same.
#[derive(Default)]
struct Folder {
    #[cfg(target_os = "linux")]
    open: Option<(PathBuf, rustix::fd::OwnedFd)>,
}

impl Folder {
    /// Opens `path` for reading.
    fn open(&mut self, path: &Path) -> std::io::Result<std::fs::File> {
        #[cfg(target_os = "linux")]
        if let (Some(parent), Some(name)) = (path.parent(), path.file_name()) {
            use rustix::fs::{Mode, OFlags};
            if !parent.as_os_str().is_empty() {
                if self.open.as_ref().is_none_or(|(p, _)| p != parent) {
                    self.open = None;
                    let dir = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
                    if let Ok(fd) = rustix::fs::open(parent, dir, Mode::empty()) {
                        self.open = Some((parent.to_path_buf(), fd));
                    }
                }
                if let Some((_, fd)) = &self.open {
                    let flags = OFlags::RDONLY | OFlags::CLOEXEC;
                    return match rustix::fs::openat(fd, name, flags, Mode::empty()) {
                        Ok(f) => Ok(std::fs::File::from(f)),
                        Err(e) => Err(e.into()),
                    };
                }
            }
        }
        std::fs::File::open(path)
    }
}

/// Scans one file shown as `shown.0`, whose name (scanned as text) starts at byte `shown.1`;
/// `len` is its size when the caller has it.
#[allow(clippy::too_many_arguments)]
fn scan_file(
    rules: &Ruleset,
    path: &Path,
    (shown, named): (&str, usize),
    len: Option<u64>,
    folder: &mut Folder,
    opts: &WalkOptions,
    stats: &Stats,
    findings: &Mutex<Vec<Finding>>,
    warn: &(dyn Fn(String) + Sync),
    progress: &(dyn Fn(u64) + Sync),
) {
    let copts = ContentOptions {
        max_file_size: opts.max_file_size,
        ..opts.content
    };
    // The path is text too (a file named after a key), whatever the file holds.
    let mut tally = ContentTally::default();
    let (prefix, name) = shown.split_at(named);
    let (_, named) = crate::meta::scan_name(
        rules,
        &copts,
        name,
        crate::finding::Place::Path,
        |n| format!("{prefix}{n}"),
        &mut tally,
    );
    if !named.is_empty() {
        findings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(named);
    }
    let mut local = Vec::new();
    let unreadable = |e: std::io::Error| {
        stats.unreadable.fetch_add(1, Ordering::Relaxed);
        warn(format!("{shown}: cannot read: {e}"));
    };
    // Opened once; its size, unless the caller knows it, from the open file (a walk's entry
    // would ask by path: one more lookup of every folder on the way, per file).
    let mut file = match folder.open(path) {
        Ok(f) => f,
        Err(e) => return unreadable(e),
    };
    let len = match len {
        Some(n) => n,
        None => match file.metadata() {
            Ok(m) => m.len(),
            Err(e) => return unreadable(e),
        },
    };
    let read = if len > opts.max_file_size {
        // Over the limit: read in overlapping chunks, never held whole.
        let scanned = content::scan_chunked(
            rules, &copts, shown, None, &mut file, &mut local, &mut tally,
        );
        match scanned {
            Ok(n) => n,
            Err(e) => return unreadable(e),
        }
    } else {
        // Read into a buffer kept per thread: fresh pages for every file cost more than
        // reading it. Through `take`, as `File`'s own `read_to_end` asks the size again
        // (`fstat` and `lseek`, two calls per file) when it is known.
        let mut data = READ.with_borrow_mut(std::mem::take);
        data.clear();
        let want = usize::try_from(len).unwrap_or(0);
        if data.capacity() < want {
            // A fresh buffer: growing the old one would copy all of it, though none is kept.
            data = Vec::with_capacity(want);
        }
        if let Err(e) = file.take(u64::MAX).read_to_end(&mut data) {
            return unreadable(e);
        }
        content::scan_any(rules, &copts, shown, None, &data, &mut local, &mut tally);
        let n = data.len() as u64;
        if data.capacity() <= KEEP_READ {
            READ.with_borrow_mut(|b| *b = data);
        }
        n
    };
    stats.files.fetch_add(1, Ordering::Relaxed);
    stats.bytes.fetch_add(read, Ordering::Relaxed);
    if tally != ContentTally::default() {
        lock(&stats.content).add(&tally);
    }
    if !local.is_empty() {
        findings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(local);
    }
    progress(read);
}

/// A path as reported: as the user named it (a root and what the walk found below it), with
/// forward slashes and no leading `./`; bytes that are not UTF-8 are shown as `\xNN`, as history
/// scans show them, so two names never become one.
pub fn display_path(p: &Path) -> String {
    #[cfg(not(windows))]
    let s = crate::git::path_text(p.as_os_str().as_encoded_bytes());
    #[cfg(windows)]
    let s = {
        let bytes: Vec<u8> = p
            .as_os_str()
            .as_encoded_bytes()
            .iter()
            .map(|&b| if b == b'\\' { b'/' } else { b })
            .collect();
        crate::git::path_text(&bytes)
    };
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
