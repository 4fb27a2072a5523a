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
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;
use vigil_core::chain::{sha256_hex, Chain, Record, Verification};

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
    /// The chain.
    pub chain: Verification,
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
        self.chain.is_intact() && self.files.is_empty()
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
        chain.chain(files).collect()
    }
}

/// An open store.
#[derive(Debug)]
pub struct Store {
    root: PathBuf,
    files: Root,
    tmp: OwnedFd,
    state: PathBuf,
    chain: Chain,
    limits: Limits,
    lock: Mutex<File>,
    journal: Mutex<File>,
    usage: Mutex<File>,
    counter: AtomicU64,
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

fn open_private(p: &Path) -> Result<File, MemoryError> {
    std::fs::OpenOptions::new()
        .mode(0o600)
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(p)
        .map_err(io_at(p))
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
        if root.exists() {
            let m = std::fs::symlink_metadata(root).map_err(io_at(root))?;
            if !m.is_dir() {
                return Err(MemoryError::io(
                    root.display().to_string(),
                    std::io::Error::other("not a directory"),
                ));
            }
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
            create_dir(&root.join(d))?;
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
        let lock_path = state.join("lock");
        let lock = std::fs::OpenOptions::new()
            .mode(0o600)
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(io_at(&lock_path))?;
        let state_journal = state.join("pending.json");
        let state_usage = state.join("usage");
        let chain = Chain::new(state.join("audit.jsonl"), state.join("audit.head"))
            .with_fsync(limits.fsync);
        let store = Store {
            root: root.to_owned(),
            files,
            tmp,
            state,
            chain,
            limits,
            lock: Mutex::new(lock),
            journal: Mutex::new(open_private(&state_journal)?),
            usage: Mutex::new(open_private(&state_usage)?),
            counter: AtomicU64::new(0),
        };
        // Finish or forget what a crash interrupted, and drop stale temp files.
        store.locked(|| store.clean_temp())?;
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
        let cursor = (end < text.len()).then(|| format!("{version}@{end}"));
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
        let mut names = fsops::names(&fd, &shown)?;
        names.sort();
        let cap = self.limits.max_result_size as usize;
        let mut used = 0usize;
        let mut entries = Vec::new();
        let mut next = None;
        for n in names
            .into_iter()
            .filter(|n| cursor.is_none_or(|c| c.is_empty() || n.as_str() > c))
        {
            let Some(st) = self.files.entry(&fd, &n, &shown)? else {
                continue;
            };
            let kind = fsops::kind(&st);
            let cost = n.len() + 48;
            if used + cost > cap && !entries.is_empty() {
                next = entries.last().map(|e: &Entry| e.name.clone());
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
        let after: Option<(Vec<String>, u64)> = match cursor {
            None | Some("") => None,
            Some(c) => {
                let (p, l): (String, u64) =
                    serde_json::from_str(c).map_err(|_| MemoryError::BadCursor)?;
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
        let after: u64 = match cursor {
            None | Some("") => 0,
            Some(c) => c.parse().map_err(|_| MemoryError::BadCursor)?,
        };
        let all = self.changes(Some(&shown), None)?;
        let cap = self.limits.max_result_size as usize;
        let mut used = 0;
        let mut changes = Vec::new();
        let mut next = None;
        for c in all.into_iter().filter(|c| c.path == shown && c.seq > after) {
            let cost = 200 + c.principal.len();
            if used + cost > cap && !changes.is_empty() {
                next = changes.last().map(|l: &Change| l.seq.to_string());
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
        let records = self.chain.records().map_err(MemoryError::Audit)?;
        let prefix = path.map(|p| format!("{p}/"));
        Ok(records
            .iter()
            .filter_map(change_of)
            .filter(|c| match (path, &prefix) {
                (Some(p), Some(pre)) => c.path == p || c.path.starts_with(pre.as_str()),
                _ => true,
            })
            .filter(|c| match since {
                None => true,
                Some(t) => humantime::parse_rfc3339_weak(&c.time).is_ok_and(|ct| ct >= t),
            })
            .collect())
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
            let parent = self
                .files
                .dir_create(&rel.parent(), &mut |dirfd, here, comp| {
                    self.check_new_entry(dirfd, &here.join(comp), comp)
                })?;
            let existing = self.files.entry(&parent, &fname, &shown)?;
            let old = match &existing {
                Some(st) => {
                    fsops::check_stat(st, self.files.dev(), &shown)?;
                    let opened = self.files.open_in(&parent, &fname, &shown)?;
                    let b = fsops::read_all(&opened.fd, self.limits.max_file_size, &shown)?;
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
            let old_len = old.as_ref().map_or(0, Vec::len) as u64;
            let usage = self.usage()?;
            let total = usage - old_len.min(usage) + new.len() as u64;
            if total > self.limits.max_total_size && new.len() as u64 > old_len {
                return Err(MemoryError::StoreFull {
                    size: total,
                    limit: self.limits.max_total_size,
                });
            }
            // The log must be able to record the change before it happens.
            let mut session = self.chain.session().map_err(MemoryError::Audit)?;
            let version = sha256_hex(&new);
            let tmp = self.temp_file(&new, &shown)?;
            fault("after-temp");
            let fields = record(who, &shown, new.len() as u64, Some(&version));
            self.journal(&fields, old.as_deref().map(sha256_hex))?;
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
            let seq = session.append(&fields).map_err(MemoryError::Audit)?.seq;
            drop(session);
            self.clear_journal()?;
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
            let fields = record(who, &shown, 0, None);
            self.journal(&fields, Some(sha256_hex(&old)))?;
            rfs::unlinkat(&parent, fname.as_str(), AtFlags::empty())
                .map_err(|e| fsops::resolve_error(e, &shown))?;
            if self.limits.fsync {
                rfs::fsync(&parent).map_err(|e| MemoryError::io(shown.clone(), e.into()))?;
            }
            let seq = session.append(&fields).map_err(MemoryError::Audit)?.seq;
            drop(session);
            self.clear_journal()?;
            let usage = self.usage()?;
            self.set_usage(usage.saturating_sub(old.len() as u64));
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
    /// finished (or forgotten) by the next writer. The journal file is rewritten in place and
    /// emptied afterwards (no new inode per write); a torn journal means the rename never
    /// happened, since the journal is complete before it.
    fn journal(&self, fields: &Map<String, Value>, old: Option<String>) -> Result<(), MemoryError> {
        use std::os::unix::fs::FileExt;
        let mut j = fields.clone();
        j.insert("old_sha256".into(), old.map_or(Value::Null, Value::String));
        let mut bytes = serde_json::to_vec(&j).expect("a map serialises");
        bytes.push(b'\n');
        let f = self.journal.lock().unwrap_or_else(|p| p.into_inner());
        let p = self.state.join("pending.json");
        f.write_all_at(&bytes, 0).map_err(io_at(&p))?;
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

    fn commit_direct(&self, fields: &Map<String, Value>) -> Result<u64, MemoryError> {
        self.chain
            .append(fields)
            .map(|a| a.seq)
            .map_err(MemoryError::Audit)
    }

    /// Under the lock: finishes or forgets an interrupted write, removes stale temp files.
    fn recover(&self) -> Result<(), MemoryError> {
        let pending = {
            use std::os::unix::fs::FileExt;
            let p = self.state.join("pending.json");
            let f = self.journal.lock().unwrap_or_else(|p| p.into_inner());
            let len = f.metadata().map_err(io_at(&p))?.len();
            if len == 0 {
                return Ok(());
            }
            let mut buf = vec![0u8; len.min(1 << 20) as usize];
            f.read_exact_at(&mut buf, 0).map_err(io_at(&p))?;
            buf
        };
        if pending.first() != Some(&b'{') {
            return Ok(());
        }
        // The first JSON value only: a longer journal written before may trail it.
        let Some(Ok(Value::Object(mut fields))) = serde_json::Deserializer::from_slice(&pending)
            .into_iter::<Value>()
            .next()
        else {
            // Torn: written before the rename, so the rename never happened.
            self.clear_journal()?;
            self.clean_temp()?;
            return Ok(());
        };
        fields.remove("old_sha256");
        let path = fields.get("path").and_then(Value::as_str).unwrap_or("");
        let want = fields
            .get("sha256")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let now = name::file_path(path)
            .ok()
            .and_then(|rel| self.files.open_file(&rel).ok())
            .and_then(|o| fsops::read_all(&o.fd, self.limits.max_file_size, path).ok())
            .map(|b| sha256_hex(&b));
        if !path.is_empty() && now == want {
            // The rename happened: record it (once: the chain may already hold it).
            let done = self
                .chain
                .records()
                .ok()
                .and_then(|r| r.last().map(|l| l.fields.clone()))
                .is_some_and(|last| {
                    ["path", "sha256", "time", "principal"]
                        .iter()
                        .all(|k| last.get(*k) == fields.get(*k))
                });
            if !done {
                self.commit_direct(&fields)?;
            }
        }
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
        let mut total = 0;
        let fd = self.files.dir(&RelPath::root())?;
        self.walk(&fd, &RelPath::root(), &mut |_, st| {
            if fsops::kind(st) == Kind::File {
                total += st.st_size as u64;
            }
        })?;
        self.set_usage(total);
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
    pub fn verify(&self) -> Result<AuditReport, MemoryError> {
        // Finish an interrupted write first, so a crash is not reported as an edit. A chain that
        // cannot be extended is reported below, not here.
        let _ = self.locked(|| Ok(()));
        let chain = self.chain.verify().map_err(MemoryError::Audit)?;
        let mut last: std::collections::BTreeMap<String, Option<String>> = Default::default();
        for c in chain.records.iter().filter_map(change_of) {
            last.insert(c.path, c.sha256);
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
                Kind::Dir => continue,
                Kind::File => {}
                k => {
                    files.push(FileProblem {
                        code: "foreign",
                        message: format!("{path}: a {} the store never made", k.as_str()),
                        path,
                    });
                    continue;
                }
            }
            checked += 1;
            seen.insert(path.clone());
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
            files,
            files_checked: checked,
        })
    }
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
    })
}
