//! The store: a folder of text files that a model reads and writes by path, kept under its root
//! by construction, capped, audited, and safe with several writers.
//!
//! Layout of `--root DIR` (created on first use, folders `0700`, files `0600`):
//!
//! | path | what | reachable by the tools |
//! | --- | --- | --- |
//! | `files/` | the memory itself | yes: every tool path is resolved beneath this handle |
//! | `tmp/` | temp files, created `O_EXCL` and renamed into `files/` | no |
//! | `state/audit.jsonl`, `state/audit.head` | the hash-chained audit log and its head | no |
//! | `state/lock`, `state/pending.json`, `state/usage` | writer lock, crash journal, total size | no |
//!
//! The root and its three folders must be real folders (not links) owned by the user running
//! the store and writable by nobody else; every file of `state/` is opened beneath a handle on
//! `state/` with `O_NOFOLLOW` and must be a regular file with one link. A store that breaks
//! these rules is refused at start.
//!
//! Total size: every file counts its bytes plus [`ENTRY_COST`], every folder [`ENTRY_COST`], so
//! empty files and folders cannot fill the disk; `state/usage` is recounted from `files/` when
//! the store opens, never trusted from a previous run.
//!
//! Writers take `state/lock` (`flock`, so two processes on one root take turns; readers never
//! wait). A write goes: temp file written (and fsynced) → journal `state/pending.json` → rename
//! over the target → audit line appended → journal removed. A crash leaves the old or the new
//! content, never a torn file; the next writer finishes the audit line of a rename that happened
//! or drops the journal of one that did not.

use crate::config::Limits;
use crate::error::MemoryError;
use crate::fsops::{self, Kind, Resolve, Root};
use crate::name::{self, collision_key, RelPath};
use rustix::fs::{self as rfs, AtFlags, FlockOperation, Mode, OFlags};
use rustix::io::Errno;
use serde::Serialize;
use serde_json::{Map, Value};
use std::fs::File;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;
use vigil_core::chain::{sha256_hex, Chain, ChainKey, Head, Problem, Record, Verification};

/// What a file or folder costs against `max_total_size` besides its bytes.
pub const ENTRY_COST: u64 = 512;

/// The folder the tools see.
pub const FILES: &str = "files";
/// Temp files.
pub const TMP: &str = "tmp";
/// Log, head, lock, journal.
pub const STATE: &str = "state";

/// Who is writing, and through which tool: what the audit log records.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    /// The verified principal (JWT `sub`, a gateway assertion's `sub`, or `--principal`).
    pub principal: &'a str,
    /// The tool or command (`memory_write`, …).
    pub tool: &'a str,
}

/// A file's content (or the part of it that fits the result cap).
#[derive(Debug, Clone, Serialize)]
pub struct ReadPage {
    /// The path, NFC.
    pub path: String,
    /// The content from `offset`.
    pub content: String,
    /// The file's version: SHA-256 of its whole content, hex.
    pub version: String,
    /// The file's size in bytes.
    pub size: u64,
    /// Where `content` starts.
    pub offset: u64,
    /// Set when the content was cut at the result cap: pass it as `cursor` to continue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// What a write, append or delete left behind.
#[derive(Debug, Clone, Serialize)]
pub struct Written {
    /// The path, NFC.
    pub path: String,
    /// The new version (absent after a delete).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The new size in bytes.
    pub size: u64,
    /// The audit line's `seq`.
    pub seq: u64,
}

/// One directory entry.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Its name.
    pub name: String,
    /// `file`, `dir`, `symlink` (never followed) or `other`.
    pub kind: &'static str,
    /// Size in bytes (files).
    pub size: u64,
}

/// A directory listing (or the part that fits the result cap).
#[derive(Debug, Clone, Serialize)]
pub struct ListPage {
    /// The directory, NFC (`""` for the root).
    pub dir: String,
    /// Entries sorted by name.
    pub entries: Vec<Entry>,
    /// Set when cut at the result cap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// One line that matched a search.
#[derive(Debug, Clone, Serialize)]
pub struct Match {
    /// The file.
    pub path: String,
    /// 1-based line number.
    pub line: u64,
    /// The line (at most 200 characters).
    pub text: String,
}

/// Search results (or the part that fits the result cap).
#[derive(Debug, Clone, Serialize)]
pub struct SearchPage {
    /// The query.
    pub query: String,
    /// Matches in path order, then line order.
    pub matches: Vec<Match>,
    /// Files looked at.
    pub files_searched: u64,
    /// Set when cut at the result cap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// One recorded change of a file.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// The audit line's `seq`.
    pub seq: u64,
    /// When (RFC 3339, UTC).
    pub time: String,
    /// Who.
    pub principal: String,
    /// Through which tool.
    pub tool: String,
    /// Which file.
    pub path: String,
    /// Its size afterwards, in bytes.
    pub length: u64,
    /// SHA-256 of its content afterwards (its version); `None` after a delete.
    pub sha256: Option<String>,
    /// Whether its log line lies within the verified chain (false: do not believe it).
    pub verified: bool,
}

/// A file's history (or the part that fits the result cap).
#[derive(Debug, Clone, Serialize)]
pub struct HistoryPage {
    /// The path.
    pub path: String,
    /// Changes, oldest first.
    pub changes: Vec<Change>,
    /// Set when cut at the result cap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// A disagreement between the files and the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileProblem {
    /// `edited`, `deleted`, `unrecorded`, `foreign`.
    pub code: &'static str,
    /// The file.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// `audit verify`: the chain's problems and the files'.
#[derive(Debug, Clone)]
pub struct AuditReport {
    /// The chain (what a crash leaves, and the next write finishes, is moved to `notes`).
    pub chain: Verification,
    /// The store's problems: a forged journal, a missing log, loose modes.
    pub store: Vec<AuditProblem>,
    /// What a crash left that the next write finishes (not problems).
    pub notes: Vec<String>,
    /// Files whose content is not what the log last recorded, or that it never recorded.
    pub files: Vec<FileProblem>,
    /// Files checked.
    pub files_checked: u64,
}

/// One problem `audit verify` reports: the log's (`edited`, `deleted`, `reordered`,
/// `tail_cut`, …) then the files'.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditProblem {
    /// The stable code.
    pub code: &'static str,
    /// A sentence naming the log line or the file.
    pub message: String,
}

impl AuditReport {
    /// Nothing wrong.
    pub fn is_intact(&self) -> bool {
        self.chain.is_intact() && self.store.is_empty() && self.files.is_empty()
    }

    /// Every problem, the chain's first, in the order they were found.
    pub fn problems(&self) -> Vec<AuditProblem> {
        let chain = self.chain.problems.iter().map(|p| AuditProblem {
            code: p.code(),
            message: format!("audit log: {p}"),
        });
        let files = self.files.iter().map(|f| AuditProblem {
            code: f.code,
            message: f.message.clone(),
        });
        chain
            .chain(self.store.iter().cloned())
            .chain(files)
            .collect()
    }
}

/// An open store.
#[derive(Debug)]
pub struct Store {
    root: PathBuf,
    files: Root,
    tmp: OwnedFd,
    state: PathBuf,
    state_dir: OwnedFd,
    chain: Chain,
    limits: Limits,
    lock: Mutex<File>,
    journal: Mutex<File>,
    usage: Mutex<File>,
    counter: AtomicU64,
    /// Opened to write (`serve`): recovers, tightens modes. A reader (`audit verify`, `log`)
    /// changes nothing.
    writer: bool,
    /// Each path's last recorded SHA-256 (`None`: deleted), as of the chain head `upto`.
    index: Mutex<Index>,
    /// Seals the paging cursors handed out, so only this run's own cursors are taken back.
    cursors: crate::cursor::Cursors,
}

/// The audit log folded to each path's last recorded version.
#[derive(Debug, Default)]
struct Index {
    built: bool,
    upto: Option<Head>,
    last: std::collections::HashMap<String, Option<String>>,
}

/// What a reader makes of the journal: notes, problems, and the version the file it names is
/// expected to have now.
type ReaderJudgement = (
    Vec<String>,
    Vec<AuditProblem>,
    Option<(String, Option<String>)>,
);

/// The domain of the crash journal's MAC (keyed stores).
const JOURNAL_MAC: &str = "vigil-memory-journal-v1";

/// What `state/pending.json` holds.
#[derive(Debug)]
enum Journal {
    /// Nothing pending.
    Empty,
    /// Cut short while being written: the rename never happened.
    Torn,
    /// Not one a writer of this store made (its MAC, or in a plain store its fields, do not
    /// check out): never completed.
    Unauthentic(String),
    /// A writer's record of the change it was making.
    Entry(Pending),
}

/// An interrupted change, as its writer recorded it before acting.
#[derive(Debug)]
struct Pending {
    /// The audit line's fields (time, principal, tool, path, length, sha256).
    fields: Map<String, Value>,
    /// The path's version before.
    old: Option<String>,
    /// The chain's head the line extends.
    prev: Option<Head>,
}

impl Pending {
    fn path(&self) -> &str {
        self.fields
            .get("path")
            .and_then(Value::as_str)
            .unwrap_or("")
    }
    fn sha256(&self) -> Option<String> {
        self.fields
            .get("sha256")
            .and_then(Value::as_str)
            .map(str::to_owned)
    }
    fn describe(&self) -> String {
        let s = |k: &str| {
            self.fields
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or("?")
                .escape_debug()
                .to_string()
        };
        format!(
            "{} of {} by {} at {}",
            s("tool"),
            s("path"),
            s("principal"),
            s("time")
        )
    }
}

/// What the journal means against the chain and the file now.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Applied (the file is the new version), not yet in the log: record it.
    Record,
    /// Already in the log: only clear the journal.
    Done,
    /// Never applied (the file is the old version): drop it.
    Drop,
    /// Fits neither: not a change a writer of this chain started.
    Inconsistent(String),
}

fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> MemoryError + '_ {
    move |e| MemoryError::io(path.display().to_string(), e)
}

fn create_dir(path: &Path) -> Result<(), MemoryError> {
    use std::os::unix::fs::DirBuilderExt;
    match std::fs::DirBuilder::new().mode(0o700).create(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let m = std::fs::symlink_metadata(path).map_err(io_at(path))?;
            if m.is_dir() {
                Ok(())
            } else {
                Err(MemoryError::io(
                    path.display().to_string(),
                    std::io::Error::other("exists and is not a directory (links are refused)"),
                ))
            }
        }
        Err(e) => Err(MemoryError::io(path.display().to_string(), e)),
    }
}

/// Opens (creating) `name` beneath the `state/` handle without following a link; it must be a
/// regular file with one link.
fn open_private(state: &OwnedFd, dir: &Path, name: &str) -> Result<File, MemoryError> {
    let p = dir.join(name);
    let fd = rfs::openat(
        state,
        name,
        OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )
    .map_err(|e| {
        let reason = if e == Errno::LOOP {
            std::io::Error::other(
                "is a symbolic link (refused: links in state/ are never followed)",
            )
        } else {
            e.into()
        };
        MemoryError::io(p.display().to_string(), reason)
    })?;
    let st = rfs::fstat(&fd).map_err(|e| MemoryError::io(p.display().to_string(), e.into()))?;
    if fsops::kind(&st) != Kind::File || st.st_nlink != 1 {
        return Err(MemoryError::io(
            p.display().to_string(),
            std::io::Error::other("not a regular file with one link (refused)"),
        ));
    }
    Ok(File::from(fd))
}

/// Refuses a store folder someone else could change under the server: not a real folder, not
/// owned by this user, or writable by group or others.
fn check_owned(path: &Path) -> Result<(), MemoryError> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::symlink_metadata(path).map_err(io_at(path))?;
    let why = if m.file_type().is_symlink() {
        Some("is a symbolic link (refused: give the real folder)".to_owned())
    } else if !m.is_dir() {
        Some("not a directory".to_owned())
    } else if m.uid() != rustix::process::geteuid().as_raw() {
        Some(format!(
            "owned by uid {}, not by this user (uid {}): refused, another user could change the store",
            m.uid(),
            rustix::process::geteuid().as_raw()
        ))
    } else if m.mode() & 0o022 != 0 {
        Some(format!(
            "mode {:o} lets group or others write it: refused (chmod 700 it)",
            m.mode() & 0o7777
        ))
    } else {
        None
    };
    match why {
        Some(w) => Err(MemoryError::UnsafeStore {
            path: path.display().to_string(),
            reason: w,
        }),
        None => Ok(()),
    }
}

/// Takes group and other access away from a store folder (`chmod 700`): a store created by
/// hand, or chmodded, does not stay readable by others.
fn tighten(path: &Path, mode: u32) -> Result<(), MemoryError> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let m = std::fs::symlink_metadata(path).map_err(io_at(path))?;
    if m.mode() & 0o077 != 0 && m.is_dir() {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(io_at(path))?;
    }
    Ok(())
}

/// `chmod 600` on an open file whose mode lets group or others in.
fn tighten_fd(f: &File, shown: &Path) -> Result<(), MemoryError> {
    let st = rfs::fstat(f).map_err(|e| MemoryError::io(shown.display().to_string(), e.into()))?;
    if st.st_mode & 0o077 != 0 {
        rfs::fchmod(f, Mode::from_raw_mode(0o600))
            .map_err(|e| MemoryError::io(shown.display().to_string(), e.into()))?;
    }
    Ok(())
}

/// Compares two MACs in constant time.
fn same_mac(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Now, RFC 3339 with milliseconds, UTC.
fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

impl Store {
    /// Opens (creating if needed) the store at `root`, resolving paths with `openat2`.
    pub fn open(root: &Path, limits: Limits) -> Result<Store, MemoryError> {
        Self::open_with(root, limits, Resolve::Openat2)
    }

    /// Opens the store with a chosen resolution (tests use [`Resolve::Walk`] to check the
    /// portable path too).
    pub fn open_with(root: &Path, limits: Limits, mode: Resolve) -> Result<Store, MemoryError> {
        Self::open_keyed(root, limits, mode, None)
    }

    /// Opens the store to write, with its audit log keyed by `key` (HMAC-SHA256; `None`: plain
    /// SHA-256): finishes what a crash interrupted, tightens loose modes (folders `0700`, files
    /// `0600`).
    pub fn open_keyed(
        root: &Path,
        limits: Limits,
        mode: Resolve,
        key: Option<ChainKey>,
    ) -> Result<Store, MemoryError> {
        Self::open_inner(root, limits, mode, key, true)
    }

    /// Opens an existing store to read and verify only (`audit verify`, `log`): no crash
    /// recovery, no mode change, no temp-file cleanup; a pending journal is reported by
    /// [`Store::verify`], never completed.
    pub fn open_reader(
        root: &Path,
        limits: Limits,
        mode: Resolve,
        key: Option<ChainKey>,
    ) -> Result<Store, MemoryError> {
        Self::open_inner(root, limits, mode, key, false)
    }

    fn open_inner(
        root: &Path,
        limits: Limits,
        mode: Resolve,
        key: Option<ChainKey>,
        writer: bool,
    ) -> Result<Store, MemoryError> {
        if let Some(t) = root.to_str().filter(|t| t.starts_with('~')) {
            return Err(MemoryError::io(
                t,
                std::io::Error::other(
                    "a root starting with `~` (no shell expanded it): give an absolute path, \
                     e.g. /home/you/.familiar/alice",
                ),
            ));
        }
        if let Some(t) = root.to_str().filter(|t| t.contains('$')) {
            return Err(MemoryError::io(
                t,
                std::io::Error::other(
                    "a root holding `$` (no shell expanded the variable): give an absolute path, \
                     e.g. /home/you/.familiar/alice",
                ),
            ));
        }
        if std::fs::symlink_metadata(root).is_ok() {
            check_owned(root)?;
            let known = [FILES, TMP, STATE];
            let foreign = std::fs::read_dir(root)
                .map_err(io_at(root))?
                .filter_map(Result::ok)
                .any(|e| !known.contains(&e.file_name().to_string_lossy().as_ref()));
            if foreign && !root.join(FILES).is_dir() {
                return Err(MemoryError::io(
                    root.display().to_string(),
                    std::io::Error::other(
                        "not a memory store (it holds other files): use a new or empty directory, \
                         and put existing notes in its files/ folder",
                    ),
                ));
            }
        } else {
            vigil_core::fsx::create_private_dir_all(root).map_err(io_at(root))?;
        }
        for d in [FILES, TMP, STATE] {
            if writer {
                create_dir(&root.join(d))?;
            }
            check_owned(&root.join(d))?;
        }
        if writer {
            for d in [
                root.to_owned(),
                root.join(FILES),
                root.join(TMP),
                root.join(STATE),
            ] {
                tighten(&d, 0o700)?;
            }
        }
        let files = Root::open(&root.join(FILES), mode).map_err(io_at(&root.join(FILES)))?;
        let tmp = rfs::open(
            root.join(TMP),
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| MemoryError::io(root.join(TMP).display().to_string(), e.into()))?;
        let tmp_dev = rfs::fstat(&tmp)
            .map_err(|e| MemoryError::io(TMP, e.into()))?
            .st_dev;
        if tmp_dev != files.dev() {
            return Err(MemoryError::io(
                root.display().to_string(),
                std::io::Error::other("files/ and tmp/ are on different devices"),
            ));
        }
        let state = root.join(STATE);
        let state_dir = rfs::open(
            &state,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| MemoryError::io(state.display().to_string(), e.into()))?;
        let lock = open_private(&state_dir, &state, "lock")?;
        let journal = open_private(&state_dir, &state, "pending.json")?;
        let usage = open_private(&state_dir, &state, "usage")?;
        if writer {
            for f in [&lock, &journal, &usage] {
                tighten_fd(f, &state)?;
            }
        }
        for name in ["audit.jsonl", "audit.head"] {
            if let Ok(st) = rfs::statat(&state_dir, name, AtFlags::SYMLINK_NOFOLLOW) {
                if fsops::kind(&st) != Kind::File || st.st_nlink != 1 {
                    return Err(MemoryError::io(
                        state.join(name).display().to_string(),
                        std::io::Error::other("not a regular file with one link (refused)"),
                    ));
                }
                if writer && st.st_mode & 0o077 != 0 {
                    let fd = rfs::openat(
                        &state_dir,
                        name,
                        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                        Mode::empty(),
                    )
                    .map_err(|e| {
                        MemoryError::io(state.join(name).display().to_string(), e.into())
                    })?;
                    tighten_fd(&File::from(fd), &state)?;
                }
            }
        }
        let chain = Chain::new(state.join("audit.jsonl"), state.join("audit.head"))
            .with_fsync(limits.fsync)
            .with_key(key);
        let store = Store {
            root: root.to_owned(),
            files,
            tmp,
            state,
            state_dir,
            chain,
            limits,
            lock: Mutex::new(lock),
            journal: Mutex::new(journal),
            usage: Mutex::new(usage),
            counter: AtomicU64::new(0),
            writer,
            index: Mutex::new(Index::default()),
            cursors: crate::cursor::Cursors::new()
                .map_err(|e| MemoryError::io("random cursor key", e))?,
        };
        if writer {
            // Finish or forget what a crash interrupted, drop stale temp files, tighten loose
            // file modes, and recount the total size (a counter left by an earlier run is not
            // trusted).
            store.locked(|| {
                store.clean_temp()?;
                store.tighten_files()?;
                let total = store.recount()?;
                store.set_usage(total);
                Ok(())
            })?;
        }
        let _ = &store.state_dir;
        Ok(store)
    }

    /// The store's root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The caps in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// How paths are being resolved.
    pub fn resolve_mode(&self) -> Resolve {
        self.files.mode()
    }

    /// The audit chain.
    pub fn chain(&self) -> &Chain {
        &self.chain
    }

    // ---- reading ----

    /// Reads a file from `cursor` (or the start), at most `max_result_size` bytes of it.
    pub fn read(&self, path: &str, cursor: Option<&str>) -> Result<ReadPage, MemoryError> {
        let rel = name::file_path(path)?;
        let shown = rel.as_string();
        let opened = self.files.open_file(&rel)?;
        let bytes = fsops::read_all(&opened.fd, self.limits.max_file_size, &shown)?;
        if bytes.len() as u64 > self.limits.max_file_size {
            return Err(MemoryError::TooLarge {
                path: shown,
                size: opened.stat.st_size as u64,
                limit: self.limits.max_file_size,
            });
        }
        let version = sha256_hex(&bytes);
        let text = String::from_utf8(bytes).map_err(|_| MemoryError::NotText {
            path: shown.clone(),
        })?;
        let offset = match cursor {
            None | Some("") => 0,
            Some(c) => {
                let c = self
                    .cursors
                    .open("read", &shown, c)
                    .ok_or(MemoryError::BadCursor)?;
                let (v, off) = c.rsplit_once('@').ok_or(MemoryError::BadCursor)?;
                let off: usize = off.parse().map_err(|_| MemoryError::BadCursor)?;
                if v != version {
                    return Err(MemoryError::Conflict {
                        path: shown,
                        expected: v.chars().take(64).collect(),
                        found: version,
                    });
                }
                if off > text.len() || !text.is_char_boundary(off) {
                    return Err(MemoryError::BadCursor);
                }
                off
            }
        };
        let cap = self.limits.max_result_size as usize;
        let mut end = text.len().min(offset + cap);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let cursor = (end < text.len()).then(|| {
            self.cursors
                .seal("read", &shown, &format!("{version}@{end}"))
        });
        Ok(ReadPage {
            path: shown,
            content: text[offset..end].to_owned(),
            size: text.len() as u64,
            version,
            offset: offset as u64,
            cursor,
        })
    }

    /// Lists a directory (`""` for the root) from `cursor`.
    pub fn list(&self, dir: &str, cursor: Option<&str>) -> Result<ListPage, MemoryError> {
        let rel = name::dir_path(dir)?;
        let shown = rel.as_string();
        let fd = self.files.dir(&rel)?;
        // A cursor names its folder and the last entry handed out (`["dir","name"]`): one for
        // another folder is refused, never taken as a position here.
        let after: Option<String> = match cursor {
            None | Some("") => None,
            Some(c) => {
                let c = self
                    .cursors
                    .open("list", &shown, c)
                    .ok_or(MemoryError::BadCursor)?;
                let (d, n): (String, String) =
                    serde_json::from_str(c).map_err(|_| MemoryError::BadCursor)?;
                if d != shown {
                    return Err(MemoryError::BadCursor);
                }
                Some(n)
            }
        };
        let mut names = fsops::names(&fd, &shown)?;
        names.sort();
        let cap = self.limits.max_result_size as usize;
        let mut used = 0usize;
        let mut entries = Vec::new();
        let mut next = None;
        for n in names
            .into_iter()
            .filter(|n| after.as_deref().is_none_or(|c| n.as_str() > c))
        {
            let Some(st) = self.files.entry(&fd, &n, &shown)? else {
                continue;
            };
            let kind = fsops::kind(&st);
            let cost = n.len() + 48;
            if used + cost > cap && !entries.is_empty() {
                next = entries.last().map(|e: &Entry| {
                    let position = serde_json::json!([shown, e.name]).to_string();
                    self.cursors.seal("list", &shown, &position)
                });
                break;
            }
            used += cost;
            entries.push(Entry {
                size: if kind == Kind::File {
                    st.st_size as u64
                } else {
                    0
                },
                kind: kind.as_str(),
                name: n,
            });
        }
        Ok(ListPage {
            dir: shown,
            entries,
            cursor: next,
        })
    }

    /// Finds lines containing `query` (case-insensitive) in the files under `dir`.
    pub fn search(
        &self,
        query: &str,
        dir: &str,
        cursor: Option<&str>,
    ) -> Result<SearchPage, MemoryError> {
        if query.is_empty() || query.len() > 1024 {
            return Err(MemoryError::InvalidName {
                path: "query".into(),
                reason: "the query must have 1 to 1024 bytes".into(),
            });
        }
        let rel = name::dir_path(dir)?;
        // A cursor names its query and folder besides its position (`[query, dir, path,
        // line]`): one handed out for another search is refused.
        let after: Option<(Vec<String>, u64)> = match cursor {
            None | Some("") => None,
            Some(c) => {
                let c = self
                    .cursors
                    .open("search", query, c)
                    .ok_or(MemoryError::BadCursor)?;
                let (q, d, p, l): (String, String, String, u64) =
                    serde_json::from_str(c).map_err(|_| MemoryError::BadCursor)?;
                if q != query || d != rel.as_string() {
                    return Err(MemoryError::BadCursor);
                }
                Some((p.split('/').map(str::to_owned).collect(), l))
            }
        };
        let needle = query.to_lowercase();
        let fd = self.files.dir(&rel)?;
        let mut page = SearchPage {
            query: query.to_owned(),
            matches: Vec::new(),
            files_searched: 0,
            cursor: None,
        };
        let mut used = 0usize;
        self.search_dir(&fd, &rel, &needle, &after, &mut page, &mut used)?;
        if let Some(c) = page.cursor.take() {
            // search_dir leaves `[path, line]`; bind it to this call.
            let (p, l): (String, u64) = serde_json::from_str(&c).expect("made by search_dir");
            let position = serde_json::json!([query, rel.as_string(), p, l]).to_string();
            page.cursor = Some(self.cursors.seal("search", query, &position));
        }
        Ok(page)
    }

    fn search_dir(
        &self,
        fd: &OwnedFd,
        rel: &RelPath,
        needle: &str,
        after: &Option<(Vec<String>, u64)>,
        page: &mut SearchPage,
        used: &mut usize,
    ) -> Result<bool, MemoryError> {
        let shown = rel.as_string();
        let mut names = fsops::names(fd, &shown)?;
        names.sort();
        let cap = self.limits.max_result_size as usize;
        for n in names {
            let here = rel.join(&n);
            if let Some((p, _)) = after {
                // Skip whole subtrees and files that sort before the cursor's file.
                let prefix_of_cursor = p.len() > here.depth() && p[..here.depth()] == *here.parts();
                if here.parts() < p.as_slice() && !prefix_of_cursor {
                    continue;
                }
            }
            let Some(st) = self.files.entry(fd, &n, &shown)? else {
                continue;
            };
            match fsops::kind(&st) {
                Kind::Dir if here.depth() < self.limits.max_depth => {
                    let Ok(sub) = rfs::openat(
                        fd,
                        n.as_str(),
                        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                        Mode::empty(),
                    ) else {
                        continue;
                    };
                    if st.st_dev != self.files.dev() {
                        continue;
                    }
                    if self.search_dir(&sub, &here, needle, after, page, used)? {
                        return Ok(true);
                    }
                }
                Kind::File => {
                    let path = here.as_string();
                    let Ok(opened) = self.files.open_in(fd, &n, &path) else {
                        continue;
                    };
                    if opened.stat.st_size as u64 > self.limits.max_file_size {
                        continue;
                    }
                    let Ok(bytes) = fsops::read_all(&opened.fd, self.limits.max_file_size, &path)
                    else {
                        continue;
                    };
                    let Ok(text) = std::str::from_utf8(&bytes) else {
                        continue;
                    };
                    page.files_searched += 1;
                    let skip_to = match after {
                        Some((p, l)) if p.as_slice() == here.parts() => *l,
                        _ => 0,
                    };
                    for (i, line) in text.lines().enumerate() {
                        let no = i as u64 + 1;
                        if no <= skip_to || !line.to_lowercase().contains(needle) {
                            continue;
                        }
                        let clipped: String = line.chars().take(200).collect();
                        let cost = path.len() + clipped.len() + 40;
                        if *used + cost > cap && !page.matches.is_empty() {
                            let last = page.matches.last().expect("not empty");
                            page.cursor =
                                Some(serde_json::json!([last.path, last.line]).to_string());
                            return Ok(true);
                        }
                        *used += cost;
                        page.matches.push(Match {
                            path: path.clone(),
                            line: no,
                            text: clipped,
                        });
                    }
                }
                _ => {}
            }
        }
        Ok(false)
    }

    /// The recorded changes of `path`, oldest first, from `cursor`.
    pub fn history(&self, path: &str, cursor: Option<&str>) -> Result<HistoryPage, MemoryError> {
        let rel = name::file_path(path)?;
        let shown = rel.as_string();
        // `path@seq`: a cursor for another file is refused.
        let after: u64 = match cursor {
            None | Some("") => 0,
            Some(c) => match self
                .cursors
                .open("history", &shown, c)
                .and_then(|c| c.rsplit_once('@'))
            {
                Some((p, n)) if p == shown => n.parse().map_err(|_| MemoryError::BadCursor)?,
                _ => return Err(MemoryError::BadCursor),
            },
        };
        let (all, v) = self.changes_checked(Some(&shown), None)?;
        if let Some(p) = v.problems.first() {
            return Err(MemoryError::Untrusted {
                detail: p.to_string(),
            });
        }
        if v.lines == 0 && self.holds_files()? {
            return Err(MemoryError::Untrusted {
                detail: "it is missing or empty while files/ holds files".into(),
            });
        }
        let cap = self.limits.max_result_size as usize;
        let mut used = 0;
        let mut changes = Vec::new();
        let mut next = None;
        for c in all.into_iter().filter(|c| c.path == shown && c.seq > after) {
            let cost = 200 + c.principal.len();
            if used + cost > cap && !changes.is_empty() {
                next = changes.last().map(|l: &Change| {
                    self.cursors
                        .seal("history", &shown, &format!("{shown}@{}", l.seq))
                });
                break;
            }
            used += cost;
            changes.push(c);
        }
        Ok(HistoryPage {
            path: shown,
            changes,
            cursor: next,
        })
    }

    /// Every recorded change, optionally only of `path` (a file, or a folder and what is under
    /// it) and only from `since` on.
    pub fn changes(
        &self,
        path: Option<&str>,
        since: Option<SystemTime>,
    ) -> Result<Vec<Change>, MemoryError> {
        Ok(self.changes_checked(path, since)?.0)
    }

    /// [`Store::changes`] and the chain's verification: each change says whether its line lies
    /// within the verified chain; the verification lists what is wrong.
    pub fn changes_checked(
        &self,
        path: Option<&str>,
        since: Option<SystemTime>,
    ) -> Result<(Vec<Change>, Verification), MemoryError> {
        let mut v = self.chain.verify().map_err(MemoryError::Audit)?;
        settle(&mut v);
        let prefix = path.map(|p| format!("{p}/"));
        // Lines whose hash fails are shown too (never believed, never dropped): an
        // investigator must see the tampered record, or every line when the key is missing.
        let mut all: Vec<(u64, Change)> = v
            .records
            .iter()
            .filter_map(|r| change_of(r).map(|c| (r, c)))
            .map(|(r, mut c)| {
                c.verified = v.is_trusted(r.seq);
                (r.line, c)
            })
            .collect();
        all.extend(self.unverified_lines(&v));
        all.sort_by_key(|(line, _)| *line);
        let changes = all
            .into_iter()
            .map(|(_, c)| c)
            .filter(|c| match (path, &prefix) {
                (Some(p), Some(pre)) => c.path == p || c.path.starts_with(pre.as_str()),
                _ => true,
            })
            .filter(|c| match since {
                None => true,
                Some(t) => humantime::parse_rfc3339_weak(&c.time).is_ok_and(|ct| ct >= t),
            })
            .collect();
        Ok((changes, v))
    }

    /// The changes on the log lines `v` reports edited (their hash fails), read as they stand,
    /// with their line numbers; all unverified. A log that cannot be read again gives none.
    fn unverified_lines(&self, v: &Verification) -> Vec<(u64, Change)> {
        let edited: std::collections::BTreeSet<u64> = v
            .problems
            .iter()
            .filter_map(|p| match p {
                Problem::Edited { line, .. } => Some(*line),
                _ => None,
            })
            .collect();
        if edited.is_empty() {
            return Vec::new();
        }
        let Ok(fd) = rustix::fs::open(
            self.chain.log_path(),
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        ) else {
            return Vec::new();
        };
        let mut bytes = Vec::new();
        if std::io::Read::read_to_end(&mut File::from(fd), &mut bytes).is_err() {
            return Vec::new();
        }
        bytes
            .split(|b| *b == b'\n')
            .enumerate()
            .filter(|(i, _)| edited.contains(&(*i as u64 + 1)))
            .filter_map(|(i, raw)| {
                let fields: serde_json::Map<String, Value> = serde_json::from_slice(raw).ok()?;
                let r = Record {
                    line: i as u64 + 1,
                    seq: fields.get("seq").and_then(Value::as_u64).unwrap_or(0),
                    prev: String::new(),
                    hash: String::new(),
                    fields,
                };
                change_of(&r).map(|c| (r.line, c))
            })
            .collect()
    }

    // ---- writing ----

    /// Replaces (or creates) a file. With `expected_version`, only if the file's version is
    /// still that one (`""`: only if it does not exist yet); else [`MemoryError::Conflict`].
    pub fn write(
        &self,
        who: Actor<'_>,
        path: &str,
        content: &str,
        expected_version: Option<&str>,
    ) -> Result<Written, MemoryError> {
        self.mutate(who, path, |old, shown| {
            if let Some(want) = expected_version {
                let found = old.map(sha256_hex).unwrap_or_default();
                if want != found {
                    return Err(MemoryError::Conflict {
                        path: shown.into(),
                        expected: if want.is_empty() {
                            "absent".into()
                        } else {
                            want.chars().take(64).collect()
                        },
                        found: if found.is_empty() {
                            "absent".into()
                        } else {
                            found
                        },
                    });
                }
            }
            Ok(content.as_bytes().to_vec())
        })
    }

    /// Appends to a file (creating it).
    pub fn append(
        &self,
        who: Actor<'_>,
        path: &str,
        content: &str,
    ) -> Result<Written, MemoryError> {
        self.mutate(who, path, |old, _| {
            let mut v = Vec::with_capacity(old.map_or(0, <[u8]>::len) + content.len());
            if let Some(o) = old {
                v.extend_from_slice(o);
            }
            v.extend_from_slice(content.as_bytes());
            Ok(v)
        })
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, File>, MemoryError> {
        let g = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        rfs::flock(&*g, FlockOperation::LockExclusive)
            .map_err(|e| MemoryError::io("state/lock", e.into()))?;
        Ok(g)
    }

    fn unlock(g: std::sync::MutexGuard<'_, File>) {
        let _ = rfs::flock(&*g, FlockOperation::Unlock);
        drop(g);
    }

    /// Runs `f` holding the writer lock (after crash recovery).
    fn locked<T>(&self, f: impl FnOnce() -> Result<T, MemoryError>) -> Result<T, MemoryError> {
        if !self.writer {
            return Err(MemoryError::io(
                self.root.display().to_string(),
                std::io::Error::other("the store was opened read-only (audit verify, log)"),
            ));
        }
        let g = self.lock()?;
        let r = self.recover().and_then(|()| f());
        Self::unlock(g);
        r
    }

    fn mutate(
        &self,
        who: Actor<'_>,
        path: &str,
        make: impl FnOnce(Option<&[u8]>, &str) -> Result<Vec<u8>, MemoryError>,
    ) -> Result<Written, MemoryError> {
        let rel = name::file_path(path)?;
        let shown = rel.as_string();
        if rel.depth() > self.limits.max_depth {
            return Err(MemoryError::TooDeep {
                path: shown,
                limit: self.limits.max_depth,
            });
        }
        let fname = rel.name().expect("a file path has a name").to_owned();
        self.locked(|| {
            let mut new_dirs = 0u64;
            let parent = self
                .files
                .dir_create(&rel.parent(), &mut |dirfd, here, comp| {
                    self.check_new_entry(dirfd, &here.join(comp), comp)?;
                    new_dirs += 1;
                    let total = self.usage()? + new_dirs * ENTRY_COST;
                    if total > self.limits.max_total_size {
                        return Err(MemoryError::StoreFull {
                            size: total,
                            limit: self.limits.max_total_size,
                        });
                    }
                    Ok(())
                })?;
            let existing = self.files.entry(&parent, &fname, &shown)?;
            let old = match &existing {
                Some(st) => {
                    fsops::check_stat(st, self.files.dev(), &shown)?;
                    let opened = self.files.open_in(&parent, &fname, &shown)?;
                    let b = fsops::read_all(&opened.fd, self.limits.max_file_size, &shown)?;
                    if b.len() as u64 > self.limits.max_file_size {
                        // Already over the cap (planted): say how big it really is.
                        return Err(MemoryError::TooLarge {
                            path: shown,
                            size: opened.stat.st_size as u64,
                            limit: self.limits.max_file_size,
                        });
                    }
                    Some(b)
                }
                None => None,
            };
            let new = make(old.as_deref(), &shown)?;
            if new.len() as u64 > self.limits.max_file_size {
                return Err(MemoryError::TooLarge {
                    path: shown,
                    size: new.len() as u64,
                    limit: self.limits.max_file_size,
                });
            }
            if existing.is_none() {
                self.check_new_entry(&parent, &rel, &fname)?;
            }
            // What the entry costs before and after (a new file adds its entry cost; folders
            // created on the way were added as they were made).
            let old_cost = old.as_ref().map_or(0, |o| o.len() as u64 + ENTRY_COST);
            let new_cost = new.len() as u64 + ENTRY_COST;
            let usage = self.usage()? + new_dirs * ENTRY_COST;
            let total = usage - old_cost.min(usage) + new_cost;
            if new_dirs > 0 {
                self.set_usage(usage);
            }
            if total > self.limits.max_total_size && new_cost > old_cost {
                return Err(MemoryError::StoreFull {
                    size: total,
                    limit: self.limits.max_total_size,
                });
            }
            // The log must be able to record the change before it happens, and the file must be
            // as the log last recorded it.
            let mut session = self.chain.session().map_err(MemoryError::Audit)?;
            let head = session.head().cloned();
            let old_version = old.as_deref().map(sha256_hex);
            self.check_recorded(&shown, old_version.as_deref(), head.as_ref())?;
            let version = sha256_hex(&new);
            let tmp = self.temp_file(&new, &shown)?;
            fault("after-temp");
            let fields = record(who, &shown, new.len() as u64, Some(&version));
            self.journal(&fields, old_version, head.as_ref())?;
            fault("after-journal");
            if let Err(e) = rfs::renameat(&self.tmp, tmp.as_str(), &parent, fname.as_str()) {
                let _ = rfs::unlinkat(&self.tmp, tmp.as_str(), AtFlags::empty());
                let _ = self.clear_journal();
                return Err(MemoryError::io(shown, e.into()));
            }
            if self.limits.fsync {
                rfs::fsync(&parent).map_err(|e| MemoryError::io(shown.clone(), e.into()))?;
            }
            fault("after-rename");
            let a = session.append(&fields).map_err(MemoryError::Audit)?;
            drop(session);
            self.clear_journal()?;
            self.note_recorded(
                &shown,
                Some(version.clone()),
                Head {
                    seq: a.seq,
                    hash: a.hash,
                },
            );
            let seq = a.seq;
            self.set_usage(total);
            Ok(Written {
                path: shown,
                version: Some(version),
                size: new.len() as u64,
                seq,
            })
        })
    }

    /// Deletes a file, or an empty directory.
    pub fn delete(&self, who: Actor<'_>, path: &str) -> Result<Written, MemoryError> {
        let rel = name::file_path(path)?;
        let shown = rel.as_string();
        let fname = rel.name().expect("a file path has a name").to_owned();
        self.locked(|| {
            let parent = self.files.dir(&rel.parent())?;
            let Some(st) = self.files.entry(&parent, &fname, &shown)? else {
                return Err(MemoryError::NotFound { path: shown });
            };
            let mut session = self.chain.session().map_err(MemoryError::Audit)?;
            let head = session.head().cloned();
            if fsops::kind(&st) == Kind::Dir {
                let fields = record(who, &shown, 0, None);
                match rfs::unlinkat(&parent, fname.as_str(), AtFlags::REMOVEDIR) {
                    Ok(()) => {}
                    Err(Errno::NOTEMPTY) | Err(Errno::EXIST) => {
                        return Err(MemoryError::NotEmpty { path: shown })
                    }
                    Err(e) => return Err(fsops::resolve_error(e, &shown)),
                }
                let seq = session.append(&fields).map_err(MemoryError::Audit)?.seq;
                let usage = self.usage()?;
                self.set_usage(usage.saturating_sub(ENTRY_COST));
                return Ok(Written {
                    path: shown,
                    version: None,
                    size: 0,
                    seq,
                });
            }
            fsops::check_stat(&st, self.files.dev(), &shown)?;
            let opened = self.files.open_in(&parent, &fname, &shown)?;
            let old = fsops::read_all(&opened.fd, self.limits.max_file_size, &shown)?;
            let old_version = sha256_hex(&old);
            self.check_recorded(&shown, Some(&old_version), head.as_ref())?;
            let fields = record(who, &shown, 0, None);
            self.journal(&fields, Some(old_version), head.as_ref())?;
            rfs::unlinkat(&parent, fname.as_str(), AtFlags::empty())
                .map_err(|e| fsops::resolve_error(e, &shown))?;
            if self.limits.fsync {
                rfs::fsync(&parent).map_err(|e| MemoryError::io(shown.clone(), e.into()))?;
            }
            let a = session.append(&fields).map_err(MemoryError::Audit)?;
            drop(session);
            self.clear_journal()?;
            self.note_recorded(
                &shown,
                None,
                Head {
                    seq: a.seq,
                    hash: a.hash,
                },
            );
            let seq = a.seq;
            let usage = self.usage()?;
            self.set_usage(usage.saturating_sub(old.len() as u64 + ENTRY_COST));
            Ok(Written {
                path: shown,
                version: None,
                size: 0,
                seq,
            })
        })
    }

    /// Refuses a new entry `name` in `dir`: too deep, the directory full, or a name that collides
    /// with an entry there up to case or Unicode folding.
    fn check_new_entry(&self, dir: &OwnedFd, rel: &RelPath, name: &str) -> Result<(), MemoryError> {
        if rel.depth() > self.limits.max_depth {
            return Err(MemoryError::TooDeep {
                path: rel.as_string(),
                limit: self.limits.max_depth,
            });
        }
        let parent = rel.parent().as_string();
        let names = fsops::names(dir, &parent)?;
        let key = collision_key(name);
        if let Some(other) = names.iter().find(|n| collision_key(n) == key) {
            return Err(MemoryError::NameCollision {
                path: rel.as_string(),
                existing: rel.parent().join(other).as_string(),
            });
        }
        if names.len() as u64 >= self.limits.max_files_per_dir {
            return Err(MemoryError::TooManyFiles {
                path: if parent.is_empty() {
                    "/".into()
                } else {
                    parent
                },
                limit: self.limits.max_files_per_dir,
            });
        }
        Ok(())
    }

    /// A new temp file in `tmp/` holding `bytes` (fsynced when the policy says so).
    fn temp_file(&self, bytes: &[u8], shown: &str) -> Result<String, MemoryError> {
        for _ in 0..16 {
            let n = self.counter.fetch_add(1, Ordering::Relaxed);
            let name = format!("w-{}-{n}", std::process::id());
            let fd = match rfs::openat(
                &self.tmp,
                name.as_str(),
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o600),
            ) {
                Ok(fd) => fd,
                Err(Errno::EXIST) => continue,
                Err(e) => return Err(MemoryError::io(shown, e.into())),
            };
            let done = fsops::write_all(&fd, bytes, shown).and_then(|()| {
                if self.limits.fsync {
                    rfs::fdatasync(&fd).map_err(|e| MemoryError::io(shown, e.into()))
                } else {
                    Ok(())
                }
            });
            if let Err(e) = done {
                let _ = rfs::unlinkat(&self.tmp, name.as_str(), AtFlags::empty());
                return Err(e);
            }
            return Ok(name);
        }
        Err(MemoryError::io(
            shown,
            std::io::Error::other("no temp file name left"),
        ))
    }

    // ---- the audit side ----

    /// Records what is about to change, so a crash between the rename and the audit line is
    /// finished (or forgotten) by the next writer: the line's fields, the path's version before
    /// and the chain head the line will extend, then (keyed stores) a MAC under the audit key
    /// on a second line, so nobody without the key can leave a journal a writer would complete.
    /// The journal file is rewritten in place and emptied afterwards (no new inode per write);
    /// a torn journal means the rename never happened, since the journal is complete before it.
    fn journal(
        &self,
        fields: &Map<String, Value>,
        old: Option<String>,
        prev: Option<&Head>,
    ) -> Result<(), MemoryError> {
        use std::os::unix::fs::FileExt;
        let mut j = fields.clone();
        j.insert("old_sha256".into(), old.map_or(Value::Null, Value::String));
        j.insert("prev_seq".into(), prev.map_or(0, |h| h.seq).into());
        j.insert(
            "prev_hash".into(),
            prev.map_or(Value::Null, |h| Value::String(h.hash.clone())),
        );
        let mut bytes = serde_json::to_vec(&j).expect("a map serialises");
        if let Some(mac) = self.chain.mac(JOURNAL_MAC, &bytes) {
            bytes.push(b'\n');
            bytes.extend_from_slice(mac.as_bytes());
        }
        bytes.push(b'\n');
        let f = self.journal.lock().unwrap_or_else(|p| p.into_inner());
        let p = self.state.join("pending.json");
        f.write_all_at(&bytes, 0).map_err(io_at(&p))?;
        // No stale bytes of a longer, older record after this one.
        f.set_len(bytes.len() as u64).map_err(io_at(&p))?;
        if self.limits.fsync {
            f.sync_data().map_err(io_at(&p))?;
        }
        Ok(())
    }

    /// Marks the journal done by overwriting its first byte (`{`): what is left is no longer
    /// a JSON object, so recovery sees nothing pending. One `pwrite`, no truncation.
    fn clear_journal(&self) -> Result<(), MemoryError> {
        use std::os::unix::fs::FileExt;
        let f = self.journal.lock().unwrap_or_else(|p| p.into_inner());
        f.write_all_at(b" ", 0)
            .map_err(io_at(&self.state.join("pending.json")))
    }

    /// Reads and authenticates `state/pending.json` (never acts on it).
    fn read_journal(&self) -> Result<Journal, MemoryError> {
        use std::os::unix::fs::FileExt;
        let pending = {
            let p = self.state.join("pending.json");
            let f = self.journal.lock().unwrap_or_else(|p| p.into_inner());
            let len = f.metadata().map_err(io_at(&p))?.len();
            if len == 0 {
                return Ok(Journal::Empty);
            }
            let mut buf = vec![0u8; len.min(1 << 20) as usize];
            f.read_exact_at(&mut buf, 0).map_err(io_at(&p))?;
            buf
        };
        if pending.first() != Some(&b'{') {
            return Ok(Journal::Empty);
        }
        let Some(nl) = pending.iter().position(|b| *b == b'\n') else {
            // Torn: written before the rename, so the rename never happened.
            return Ok(Journal::Torn);
        };
        let body = &pending[..nl];
        let Ok(Value::Object(mut fields)) = serde_json::from_slice::<Value>(body) else {
            return Ok(Journal::Torn);
        };
        if let Some(want) = self.chain.mac(JOURNAL_MAC, body) {
            let rest = &pending[nl + 1..];
            let end = rest.iter().position(|b| *b == b'\n');
            let Some(end) = end else {
                return Ok(Journal::Torn);
            };
            let got = std::str::from_utf8(&rest[..end]).unwrap_or("");
            if !same_mac(got, &want) {
                return Ok(Journal::Unauthentic(
                    "its MAC does not check out under the audit key".into(),
                ));
            }
        }
        let old = match fields.remove("old_sha256") {
            Some(Value::String(h)) => Some(h),
            Some(Value::Null) => None,
            _ => return Ok(Journal::Unauthentic("no old_sha256".into())),
        };
        let prev_seq = fields.remove("prev_seq").and_then(|v| v.as_u64());
        let prev = match (prev_seq, fields.remove("prev_hash")) {
            (Some(0), Some(Value::Null)) => None,
            (Some(seq), Some(Value::String(hash))) if seq > 0 => Some(Head { seq, hash }),
            _ => return Ok(Journal::Unauthentic("no chain head".into())),
        };
        let p = Pending { fields, old, prev };
        if let Err(why) = self.plausible(&p) {
            return Ok(Journal::Unauthentic(why));
        }
        Ok(Journal::Entry(p))
    }

    /// What a writer of this store could have written: the fields every audit line has, a
    /// path and principal that pass the checks tools apply, a time not in the future.
    fn plausible(&self, p: &Pending) -> Result<(), String> {
        let keys: Vec<&str> = p.fields.keys().map(String::as_str).collect();
        let mut want = ["time", "principal", "tool", "path", "length", "sha256"];
        let mut got = keys.clone();
        want.sort_unstable();
        got.sort_unstable();
        if got != want {
            return Err("not the fields of an audit line".into());
        }
        let tool = p.fields.get("tool").and_then(Value::as_str).unwrap_or("");
        let deleting = tool == "memory_delete";
        if !["memory_write", "memory_append", "memory_delete"].contains(&tool) {
            return Err(format!("tool `{}` never journals", tool.escape_debug()));
        }
        if deleting != p.sha256().is_none() {
            return Err("a new version that does not fit its tool".into());
        }
        let principal = p.fields.get("principal").and_then(Value::as_str);
        if principal.is_none_or(|w| crate::auth::check_principal(w).is_err()) {
            return Err("a principal no writer accepts".into());
        }
        match name::file_path(p.path()) {
            Ok(rel) if rel.as_string() == p.path() => {}
            _ => return Err("a path no tool accepts".into()),
        }
        let time = p.fields.get("time").and_then(Value::as_str).unwrap_or("");
        match humantime::parse_rfc3339_weak(time) {
            Ok(t) if t <= SystemTime::now() + std::time::Duration::from_secs(300) => Ok(()),
            _ => Err("a time in the future or unreadable".into()),
        }
    }

    /// The version of `path` in `files/` now (`None`: absent or unreadable).
    fn version_now(&self, path: &str) -> Option<String> {
        name::file_path(path)
            .ok()
            .and_then(|rel| self.files.open_file(&rel).ok())
            .and_then(|o| fsops::read_all(&o.fd, u64::MAX, path).ok())
            .map(|b| sha256_hex(&b))
    }

    /// Judges a journal against the chain (its head, its records) and the file now: only a
    /// change a writer started from this very head, on the version the log last recorded for
    /// the path, is completed.
    fn judge(&self, p: &Pending, head: Option<&Head>, records: &[Record]) -> Verdict {
        let path = p.path();
        let recorded = records
            .iter()
            .filter(|r| r.seq <= p.prev.as_ref().map_or(0, |h| h.seq))
            .rfind(|r| r.fields.get("path").and_then(Value::as_str) == Some(path))
            .and_then(|r| r.fields.get("sha256").and_then(Value::as_str))
            .map(str::to_owned);
        if recorded != p.old {
            return Verdict::Inconsistent(format!(
                "it starts from a version of {} the log never recorded last",
                path.escape_debug()
            ));
        }
        let now = self.version_now(path);
        if head == p.prev.as_ref() {
            if now == p.sha256() {
                return Verdict::Record;
            }
            if now == p.old {
                return Verdict::Drop;
            }
            return Verdict::Inconsistent(format!(
                "{} is neither the version before nor after",
                path.escape_debug()
            ));
        }
        let next = p.prev.as_ref().map_or(1, |h| h.seq + 1);
        let line = records.iter().find(|r| r.seq == next);
        let same = line.is_some_and(|r| {
            r.prev
                == p.prev
                    .as_ref()
                    .map_or(vigil_core::chain::GENESIS, |h| h.hash.as_str())
                && p.fields.iter().all(|(k, v)| r.fields.get(k) == Some(v))
        });
        if same {
            Verdict::Done
        } else {
            Verdict::Inconsistent("the log has moved on from the head it names".into())
        }
    }

    /// Under the lock: finishes or forgets an interrupted write, removes stale temp files. A
    /// journal that is not authentic (no valid MAC in a keyed store, fields that do not fit
    /// the chain in a plain one) is dropped, never completed: the file it names then differs
    /// from the log, which `audit verify` reports and every tool refuses to write over.
    fn recover(&self) -> Result<(), MemoryError> {
        let journal = self.read_journal()?;
        let p = match journal {
            Journal::Empty => return Ok(()),
            Journal::Torn => {
                self.clear_journal()?;
                self.clean_temp()?;
                return Ok(());
            }
            Journal::Unauthentic(why) => {
                tracing::warn!("state/pending.json dropped, not completed: {why}");
                self.clear_journal()?;
                self.clean_temp()?;
                return Ok(());
            }
            Journal::Entry(p) => p,
        };
        let mut session = self.chain.session().map_err(MemoryError::Audit)?;
        let head = session.head().cloned();
        let records = self.chain.records().map_err(MemoryError::Audit)?;
        match self.judge(&p, head.as_ref(), &records) {
            Verdict::Record => {
                session.append(&p.fields).map_err(MemoryError::Audit)?;
            }
            Verdict::Done | Verdict::Drop => {}
            Verdict::Inconsistent(why) => {
                tracing::warn!("state/pending.json dropped, not completed: {why}");
            }
        }
        drop(session);
        self.clear_journal()?;
        self.clean_temp()?;
        // Recounted by the next write.
        let _ = self
            .usage
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .set_len(0);
        Ok(())
    }

    /// The last recorded version of `path` (`None` inside: recorded as deleted; outer `None`:
    /// never recorded), with the index brought up to the chain head `head` (rebuilt from the
    /// log when another writer moved it).
    fn recorded(
        &self,
        path: &str,
        head: Option<&Head>,
    ) -> Result<Option<Option<String>>, MemoryError> {
        let mut ix = self.index.lock().unwrap_or_else(|p| p.into_inner());
        if !ix.built || ix.upto.as_ref() != head {
            let mut last = std::collections::HashMap::new();
            for r in self.chain.records().map_err(MemoryError::Audit)? {
                if head.is_some_and(|h| r.seq > h.seq) {
                    break;
                }
                if let Some(p) = r.fields.get("path").and_then(Value::as_str) {
                    let h = r
                        .fields
                        .get("sha256")
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                    last.insert(p.to_owned(), h);
                }
            }
            *ix = Index {
                built: true,
                upto: head.cloned(),
                last,
            };
        }
        Ok(ix.last.get(path).cloned())
    }

    /// After an append: the index follows the new head.
    fn note_recorded(&self, path: &str, version: Option<String>, head: Head) {
        let mut ix = self.index.lock().unwrap_or_else(|p| p.into_inner());
        if ix.built {
            ix.last.insert(path.to_owned(), version);
            ix.upto = Some(head);
        }
    }

    /// Refuses a change over a file whose state is not what the log last recorded: edited or
    /// planted outside the store (`found` is its version now, `None`: absent), or deleted
    /// outside it. Also refuses every write while `files/` holds entries and the log holds
    /// none (the history was deleted): only `vigil memory audit accept` starts a new one.
    fn check_recorded(
        &self,
        shown: &str,
        found: Option<&str>,
        head: Option<&Head>,
    ) -> Result<(), MemoryError> {
        if head.is_none() && self.holds_files()? {
            return Err(MemoryError::Disagrees {
                detail: "the audit log is missing or empty but files/ holds files: writes \
                         are refused until `vigil memory audit accept` records them"
                    .into(),
            });
        }
        let recorded = self.recorded(shown, head)?;
        let why = match (found, recorded.as_ref()) {
            (Some(f), Some(Some(r))) if f == r => return Ok(()),
            (None, None) | (None, Some(None)) => return Ok(()),
            (Some(_), Some(Some(_))) => "edited outside the store",
            (Some(_), _) => "not written by the store (planted, or restored after a delete)",
            (None, Some(Some(_))) => "deleted outside the store",
        };
        Err(MemoryError::Disagrees {
            detail: format!(
                "{}: {why}, so its state is not the one last recorded; nothing was written \
                 (`vigil memory audit accept` takes the files as they are)",
                name::shown(shown)
            ),
        })
    }

    /// Under the lock: `chmod 600` every file and `chmod 700` every folder of `files/` that
    /// lets group or others in, each through a handle opened without following a link.
    fn tighten_files(&self) -> Result<(), MemoryError> {
        let mut loose = Vec::new();
        let fd = self.files.dir(&RelPath::root())?;
        self.walk(&fd, &RelPath::root(), &mut |rel, st| {
            let k = fsops::kind(st);
            if st.st_mode & 0o077 != 0 && matches!(k, Kind::File | Kind::Dir) {
                loose.push((rel.clone(), k));
            }
        })?;
        for (rel, k) in loose {
            let (fd, mode) = match k {
                Kind::Dir => (self.files.dir(&rel), 0o700),
                _ => (self.files.open_file(&rel).map(|o| o.fd), 0o600),
            };
            // A file that cannot be opened safely (a link swapped in) is left to verify.
            if let Ok(fd) = fd {
                rfs::fchmod(&fd, Mode::from_raw_mode(mode))
                    .map_err(|e| MemoryError::io(rel.as_string(), e.into()))?;
            }
        }
        Ok(())
    }

    /// Under the lock: temp files are only ever in use while it is held, so any left is stale.
    fn clean_temp(&self) -> Result<(), MemoryError> {
        for n in fsops::names(&self.tmp, TMP)? {
            let _ = rfs::unlinkat(&self.tmp, n.as_str(), AtFlags::empty());
        }
        Ok(())
    }

    /// Total bytes in `files/` (from `state/usage`, recounted when empty).
    fn usage(&self) -> Result<u64, MemoryError> {
        {
            use std::os::unix::fs::FileExt;
            let f = self.usage.lock().unwrap_or_else(|p| p.into_inner());
            let mut buf = [0u8; 24];
            let n = f.read_at(&mut buf, 0).unwrap_or(0);
            if let Some(v) = std::str::from_utf8(&buf[..n])
                .ok()
                .and_then(|t| t.trim().parse().ok())
            {
                return Ok(v);
            }
        }
        let total = self.recount()?;
        self.set_usage(total);
        Ok(total)
    }

    /// The total size counted from `files/`: every entry's [`ENTRY_COST`] plus files' bytes.
    fn recount(&self) -> Result<u64, MemoryError> {
        let mut total = 0;
        let fd = self.files.dir(&RelPath::root())?;
        self.walk(&fd, &RelPath::root(), &mut |_, st| {
            total += ENTRY_COST;
            if fsops::kind(st) == Kind::File {
                total += st.st_size as u64;
            }
        })?;
        Ok(total)
    }

    fn set_usage(&self, total: u64) {
        use std::os::unix::fs::FileExt;
        // Derived data (recounted when unreadable), so no fsync; padded so a shorter number
        // overwrites a longer one whole.
        let f = self.usage.lock().unwrap_or_else(|p| p.into_inner());
        let _ = f.write_all_at(format!("{total:<20}\n").as_bytes(), 0);
    }

    /// Every entry under `dir`, depth first, without following links.
    fn walk(
        &self,
        fd: &OwnedFd,
        rel: &RelPath,
        f: &mut dyn FnMut(&RelPath, &rfs::Stat),
    ) -> Result<(), MemoryError> {
        let shown = rel.as_string();
        let mut names = fsops::names(fd, &shown)?;
        names.sort();
        for n in names {
            let here = rel.join(&n);
            let Some(st) = self.files.entry(fd, &n, &shown)? else {
                continue;
            };
            f(&here, &st);
            if fsops::kind(&st) == Kind::Dir && st.st_dev == self.files.dev() {
                if let Ok(sub) = rfs::openat(
                    fd,
                    n.as_str(),
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                ) {
                    self.walk(&sub, &here, f)?;
                }
            }
        }
        Ok(())
    }

    /// Recomputes the audit chain and every file's hash: edited, deleted, reordered or cut-off
    /// log lines, and files whose content is not what the log last recorded.
    ///
    /// Read-only: it never appends, never completes a crash journal. It holds the writer lock
    /// throughout, so a write in flight (file renamed, line not yet appended) is never taken
    /// for an edit. What a crash leaves (a line past the head, a torn last line, a journal of a
    /// write that was applied but not yet logged) is a note, not a problem: the next write
    /// finishes it. A journal that is not authentic is a problem (`journal_forged`).
    pub fn verify(&self) -> Result<AuditReport, MemoryError> {
        let g = self.lock()?;
        let r = self.verify_locked();
        Self::unlock(g);
        r
    }

    /// [`Store::verify`], waiting at most `wait` for the writer lock: `on_wait` is called once
    /// if it is held; past `wait`, an error (a stuck writer must not hang a cron verify).
    pub fn verify_waiting(
        &self,
        wait: std::time::Duration,
        on_wait: impl FnOnce(),
    ) -> Result<AuditReport, MemoryError> {
        let g = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let deadline = std::time::Instant::now() + wait;
        let mut on_wait = Some(on_wait);
        loop {
            match rfs::flock(&*g, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => break,
                Err(rustix::io::Errno::WOULDBLOCK) => {
                    if let Some(f) = on_wait.take() {
                        f();
                    }
                    if std::time::Instant::now() >= deadline {
                        return Err(MemoryError::io(
                            "state/lock",
                            std::io::Error::new(
                                std::io::ErrorKind::TimedOut,
                                format!(
                                    "the writer lock is still held after {} s (a stuck or \
                                     stopped writer?); gave up",
                                    wait.as_secs()
                                ),
                            ),
                        ));
                    }
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                Err(e) => return Err(MemoryError::io("state/lock", e.into())),
            }
        }
        let r = self.verify_locked();
        Self::unlock(g);
        r
    }

    /// The chain's head as verified (after [`settle`]): the last trusted line.
    fn trusted_head(v: &Verification) -> Option<Head> {
        v.records
            .iter()
            .find(|r| r.seq == v.trusted && v.trusted > 0)
            .map(|r| Head {
                seq: r.seq,
                hash: r.hash.clone(),
            })
    }

    /// What the journal means, for a reader: notes, a problem, and the version the file it
    /// names is expected to have now (an applied write not yet logged).
    fn judge_for_reader(&self, chain: &Verification) -> Result<ReaderJudgement, MemoryError> {
        let mut notes = Vec::new();
        let mut problems = Vec::new();
        let mut expect = None;
        let forged = |message: String| AuditProblem {
            code: "journal_forged",
            message,
        };
        match self.read_journal()? {
            Journal::Empty => {}
            Journal::Torn => notes.push(
                "state/pending.json: a journal cut short by a crash before its write happened; \
                 nothing changed, the next write clears it"
                    .to_owned(),
            ),
            Journal::Unauthentic(why) => problems.push(forged(format!(
                "state/pending.json: not a journal a writer of this store made ({why}); it is \
                 never completed (the next write drops it)"
            ))),
            Journal::Entry(_) if !chain.is_intact() => {}
            Journal::Entry(p) => {
                match self.judge(&p, Self::trusted_head(chain).as_ref(), &chain.records) {
                    Verdict::Record => {
                        notes.push(format!(
                            "pending: {} was applied but not yet logged (the writer stopped); \
                             the next write records it",
                            p.describe()
                        ));
                        expect = Some((p.path().to_owned(), p.sha256()));
                    }
                    Verdict::Done => notes.push(format!(
                        "pending: the journal of {} (already logged); the next write clears it",
                        p.describe()
                    )),
                    Verdict::Drop => notes.push(format!(
                        "pending: {} stopped before it changed the file; the next write drops it",
                        p.describe()
                    )),
                    Verdict::Inconsistent(why) => problems.push(forged(format!(
                        "state/pending.json: {} does not fit the log ({why}); it is never \
                         completed",
                        p.describe()
                    ))),
                }
            }
        }
        Ok((notes, problems, expect))
    }

    /// Notes on what a crash left that the next write finishes (for `memory log`): never a
    /// change.
    pub fn crash_notes(&self) -> Result<Vec<String>, MemoryError> {
        let mut v = self.chain.verify().map_err(MemoryError::Audit)?;
        let mut notes = settle(&mut v);
        notes.extend(self.judge_for_reader(&v)?.0);
        Ok(notes)
    }

    /// Whether `files/` holds a file a tool could take over: a regular file with one link.
    /// Folders (a refused write may make them on its way; the log does not record them) and
    /// links, special files and hard-linked files (every tool refuses them) do not count.
    fn holds_files(&self) -> Result<bool, MemoryError> {
        let mut any = false;
        let fd = self.files.dir(&RelPath::root())?;
        self.walk(&fd, &RelPath::root(), &mut |_, st| {
            any |= fsops::kind(st) == Kind::File && st.st_nlink == 1;
        })?;
        Ok(any)
    }

    fn verify_locked(&self) -> Result<AuditReport, MemoryError> {
        let mut chain = self.chain.verify().map_err(MemoryError::Audit)?;
        let mut notes = settle(&mut chain);
        let (more, mut store, expect) = self.judge_for_reader(&chain)?;
        notes.extend(more);
        let mut last: std::collections::BTreeMap<String, Option<String>> = Default::default();
        for c in chain.records.iter().filter_map(change_of) {
            last.insert(c.path, c.sha256);
        }
        if let Some((path, version)) = expect {
            last.insert(path, version);
        }
        if chain.lines == 0 && self.holds_files()? {
            store.push(AuditProblem {
                code: "no_log",
                message: "audit log: missing or empty while files/ holds files (the history \
                          was deleted?); writes are refused until `vigil memory audit accept`"
                    .into(),
            });
        }
        for (path, shown) in [
            (self.root.clone(), 0o700),
            (self.root.join(FILES), 0o700),
            (self.root.join(TMP), 0o700),
            (self.state.clone(), 0o700),
            (self.state.join("audit.jsonl"), 0o600),
            (self.state.join("audit.head"), 0o600),
            (self.state.join("pending.json"), 0o600),
            (self.state.join("lock"), 0o600),
            (self.state.join("usage"), 0o600),
        ] {
            use std::os::unix::fs::MetadataExt;
            if let Ok(m) = std::fs::symlink_metadata(&path) {
                if m.mode() & 0o077 != 0 {
                    store.push(AuditProblem {
                        code: "loose_mode",
                        message: format!(
                            "{}: mode {:o} lets group or others in (the store keeps {shown:o}; \
                             `vigil memory serve` tightens it)",
                            path.display(),
                            m.mode() & 0o7777
                        ),
                    });
                }
            }
        }
        let mut files = Vec::new();
        let mut checked = 0u64;
        let mut seen = std::collections::BTreeSet::new();
        let fd = self.files.dir(&RelPath::root())?;
        let mut found: Vec<(RelPath, rfs::Stat)> = Vec::new();
        self.walk(&fd, &RelPath::root(), &mut |rel, st| {
            found.push((rel.clone(), *st))
        })?;
        for (rel, st) in found {
            let path = rel.as_string();
            match fsops::kind(&st) {
                Kind::Dir => {
                    if st.st_mode & 0o077 != 0 {
                        files.push(FileProblem {
                            code: "loose_mode",
                            message: format!(
                                "{path}/: mode {:o} lets group or others in (the store keeps \
                                 0700; `vigil memory serve` tightens it)",
                                st.st_mode & 0o7777
                            ),
                            path,
                        });
                    }
                    continue;
                }
                Kind::File => {}
                k => {
                    files.push(FileProblem {
                        code: "foreign",
                        message: format!(
                            "{path}: {} the store never made",
                            match k {
                                Kind::Symlink => "a symbolic link",
                                _ => "a special file (FIFO, socket or device)",
                            }
                        ),
                        path,
                    });
                    continue;
                }
            }
            checked += 1;
            seen.insert(path.clone());
            if st.st_mode & 0o077 != 0 {
                files.push(FileProblem {
                    code: "loose_mode",
                    message: format!(
                        "{path}: mode {:o} lets group or others in (the store keeps 0600; \
                         `vigil memory serve` tightens it)",
                        st.st_mode & 0o7777
                    ),
                    path: path.clone(),
                });
            }
            let hash = match self.files.open_file(&rel) {
                Ok(o) => fsops::read_all(&o.fd, u64::MAX, &path).map(|b| sha256_hex(&b))?,
                Err(e) => {
                    files.push(FileProblem {
                        code: "foreign",
                        message: format!("{e}"),
                        path,
                    });
                    continue;
                }
            };
            match last.get(&path) {
                None => files.push(FileProblem {
                    code: "unrecorded",
                    message: format!("{path}: no write of this file is in the audit log"),
                    path,
                }),
                Some(None) => files.push(FileProblem {
                    code: "unrecorded",
                    message: format!("{path}: the audit log says it was deleted"),
                    path,
                }),
                Some(Some(h)) if *h != hash => files.push(FileProblem {
                    code: "edited",
                    message: format!(
                        "{path}: edited outside the store (its SHA-256 is not the one last recorded)"
                    ),
                    path,
                }),
                Some(Some(_)) => {}
            }
        }
        for (path, h) in &last {
            if h.is_some() && !seen.contains(path) {
                // A recorded directory delete has no hash; a recorded file must still be there.
                files.push(FileProblem {
                    code: "deleted",
                    message: format!("{path}: deleted outside the store (the log says it exists)"),
                    path: path.clone(),
                });
            }
        }
        Ok(AuditReport {
            chain,
            store,
            notes,
            files,
            files_checked: checked,
        })
    }

    /// `vigil memory audit accept`: records every file whose state is not what the log last
    /// recorded (edited, planted, deleted outside the store) as it is now, one line each under
    /// `who` (tool `audit_accept`); the way to start a new log after the history was deleted,
    /// or to take notes put into `files/` by hand. Refused while the chain itself is broken.
    /// Links and special files are left for the operator to remove.
    pub fn accept(&self, who: Actor<'_>) -> Result<Vec<Written>, MemoryError> {
        self.locked(|| {
            let mut session = self.chain.session().map_err(MemoryError::Audit)?;
            let report = self.verify_locked()?;
            let mut done = Vec::new();
            for f in &report.files {
                let (length, version) = match f.code {
                    "edited" | "unrecorded" => {
                        let rel = name::file_path(&f.path)?;
                        let o = self.files.open_file(&rel)?;
                        let b = fsops::read_all(&o.fd, u64::MAX, &f.path)?;
                        (b.len() as u64, Some(sha256_hex(&b)))
                    }
                    "deleted" => (0, None),
                    _ => continue,
                };
                let fields = record(who, &f.path, length, version.as_deref());
                let a = session.append(&fields).map_err(MemoryError::Audit)?;
                done.push(Written {
                    path: f.path.clone(),
                    version,
                    size: length,
                    seq: a.seq,
                });
            }
            Ok(done)
        })
    }
}

/// Moves what an ordinary crash leaves in the log out of `v.problems` into notes, when that is
/// all that is wrong: a last line one past the head that links to it (the head update was
/// lost: trusted, as the next append adopts it), a torn last line (cut by the next append),
/// the first line written before the head. Anything else leaves `v` as it is.
pub fn settle(v: &mut Verification) -> Vec<String> {
    if v.problems.is_empty() {
        return Vec::new();
    }
    let mut trusted = v.trusted;
    let mut notes = Vec::new();
    let last = v.records.last();
    for p in &v.problems {
        match p {
            Problem::HeadBehind { log_seq, head_seq }
                if *log_seq == head_seq + 1
                    && v.trusted == *head_seq
                    && last.is_some_and(|r| {
                        r.seq == *log_seq && v.head.as_ref().is_some_and(|h| h.hash == r.prev)
                    }) =>
            {
                trusted = *log_seq;
                notes.push(format!(
                    "audit log: its last line (seq {log_seq}) is one past its head (seq \
                     {head_seq}): a writer stopped between the two; the next write moves the head"
                ));
            }
            Problem::TornTail { line } if *line == v.lines => notes.push(format!(
                "audit log: line {line} was cut short by a crash (never confirmed by the head); \
                 the next write removes it"
            )),
            Problem::HeadMissing
                if v.lines == 1
                    && last.is_some_and(|r| r.seq == 1 && r.prev == vigil_core::chain::GENESIS) =>
            {
                trusted = 1;
                notes.push(
                    "audit log: its first line was written, its head not yet; the next write \
                     writes the head"
                        .into(),
                );
            }
            _ => return Vec::new(),
        }
    }
    v.problems.clear();
    v.trusted = trusted;
    notes
}

/// Crash tests: `VIGIL_TEST_MEMORY_FAULT=after-temp|after-journal|after-rename` aborts the
/// process at that step of a write (read once).
fn fault(step: &str) {
    static FAULT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if FAULT
        .get_or_init(|| std::env::var("VIGIL_TEST_MEMORY_FAULT").ok())
        .as_deref()
        == Some(step)
    {
        std::process::abort();
    }
}

fn record(who: Actor<'_>, path: &str, length: u64, sha256: Option<&str>) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("time".into(), now_rfc3339().into());
    m.insert("principal".into(), who.principal.into());
    m.insert("tool".into(), who.tool.into());
    m.insert("path".into(), path.into());
    m.insert("length".into(), length.into());
    m.insert(
        "sha256".into(),
        sha256.map_or(Value::Null, |s| Value::String(s.into())),
    );
    m
}

fn change_of(r: &Record) -> Option<Change> {
    let s = |k: &str| r.fields.get(k).and_then(Value::as_str).map(str::to_owned);
    Some(Change {
        seq: r.seq,
        time: s("time")?,
        principal: s("principal")?,
        tool: s("tool")?,
        path: s("path")?,
        length: r.fields.get("length").and_then(Value::as_u64).unwrap_or(0),
        sha256: s("sha256"),
        verified: false,
    })
}
