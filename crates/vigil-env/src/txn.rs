//! A multi-file transaction that survives a crash at any point: every file ends with all its old
//! bytes or all its new bytes, and all files agree.
//!
//! Under an exclusive lock on `.vigil/env.lock`:
//! 1. the journal `.vigil/env-journal.json` is written in state `prepared` (paths and SHA-256 of
//!    old and new contents only, never values);
//! 2. each new content goes to `<file>.vigil-tmp` beside its file (created `0600` with `O_EXCL`,
//!    then given the file's owner, group and mode before any byte is written), fsynced;
//! 3. with `--backup`, each old content is copied under `.vigil/backup/` (files `0600`, folders
//!    `0700`: they are copies of secrets);
//! 4. the journal moves to `committed`: the commit point;
//! 5. each temp file is renamed over its file, and the directories are fsynced;
//! 6. older backups are removed and the journal is deleted.
//!
//! An error before the commit point removes the temp files and the journal at once.
//!
//! **Where the state lives.** Lock, journal and backups are in `.vigil/` at the *state root*:
//! the top level of the git work tree the project root is in (the nearest folder holding
//! `.git`), else the project root itself ([`state_root`]). So two configurations whose roots
//! differ but whose files overlap (`app/vigil.toml` and `--config outer.toml`) take the same
//! lock and see the same journal. `.vigil/` is created `0700` (with a `.gitignore` that keeps
//! the lock, the journal and the backups out of commits; the ledger is meant to be committed)
//! and only by a command that writes ([`lock`]); readers take a shared lock on an existing lock
//! file ([`lock_shared`]) and never create anything. A `.vigil/` that is a link, another user's
//! or writable by others is refused.
//!
//! **Recovery** ([`recover`], [`recover_for`]) runs only in a command that writes, under the
//! exclusive lock, and trusts nothing in the journal: the journal is refused if git tracks it
//! (a journal is never meant to come from a repository), if it or `.vigil/` is a link, another
//! user's or writable by others, and if any entry names a file that is not one of the
//! project's env files or Vigil's own state files, a temp file of another name than
//! `<file>.vigil-tmp`, or a backup folder outside `.vigil/backup/`. Then it finishes a
//! `committed` journal (renames what is left) and rolls back a `prepared` one (deletes the temp
//! files; no file was touched). A file whose bytes match neither side (edited by hand since) is
//! left alone and reported with the way out (check it, then delete the journal); every other
//! file is finished all the same. Stale temp files of the journal itself are removed.
//!
//! Crash tests drive this through `VIGIL_TEST_FAULT_AFTER=k` (abort the process at the k-th
//! step) and `VIGIL_TEST_STEP_DELAY_MS` (slow each step so a real `kill -9` lands mid-way).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The state directory under the state root ([`state_root`]).
pub const STATE_DIR: &str = ".vigil";
/// Files of Vigil's own under a `.vigil/` folder that a journal may replace: the rotation
/// ledger and vigil-seal's index.
pub const STATE_FILES: &[&str] = &["rotation.toml", "seal-index.json"];
/// What `.vigil/.gitignore` keeps out of commits: the lock, the journal (and its temp files),
/// backups and temp files. The ledger (`rotation.toml`) is meant to be committed.
const GITIGNORE: &str = "# Written by vigil: never commit these (copies of secrets, lock, journal).\nenv.lock\nenv-journal.json\n.*.vigil-tmp-*\n*.vigil-tmp\nbackup/\n";
const JOURNAL: &str = "env-journal.json";
const LOCK: &str = "env.lock";
const BACKUP: &str = "backup";
/// Suffix of temp files.
pub const TMP_SUFFIX: &str = ".vigil-tmp";
/// Hash recorded for a file that does not exist.
const ABSENT: &str = "absent";

/// A transaction problem. Never holds file contents.
#[derive(Debug, thiserror::Error)]
pub enum TxnError {
    /// Another process holds the lock.
    #[error("another `vigil env` command is changing these files (lock {path} held{by}); try again when it has finished")]
    Locked {
        /// The lock file.
        path: String,
        /// ` by pid N` when known.
        by: String,
    },
    /// A file changed between planning and committing: nothing was written.
    #[error("{path}: changed by something else since the plan was made; nothing was written: run the command again")]
    Changed {
        /// The file.
        path: String,
    },
    /// During recovery, a file matches neither the old nor the new content the journal
    /// recorded (edited by hand, or by a program that took no lock). Every other file of the
    /// transaction is finished; this one is left as it is, and so is the journal.
    #[error("{path}: matches neither the old nor the new content recorded by an interrupted transaction, so it was changed by something else since; left as it is. If the file is right as it is, delete {journal} (and {path}{TMP_SUFFIX} if present) to clear the transaction")]
    Conflict {
        /// The file.
        path: String,
        /// The journal to delete once the file is right.
        journal: String,
    },
    /// A file with several hard links: replacing it would leave the other names with the old
    /// content.
    #[error("{path}: has {links} hard links; a rotation replaces the file and would leave the other names with the old value: refused (use a symbolic link, which is written through)")]
    HardLinked {
        /// The file.
        path: String,
        /// How many names it has.
        links: u64,
    },
    /// A path that is not UTF-8: the journal records paths as JSON text, which cannot hold it,
    /// and a transaction that cannot be journaled is not begun.
    #[error("{path}: the name is not UTF-8, and the rotation journal records names as text; nothing was written: rename the file or folder")]
    NotUtf8Path {
        /// The path, with the bytes that are not UTF-8 shown as U+FFFD.
        path: String,
    },
    /// An I/O failure, with the path.
    #[error("{path}: {error}")]
    Io {
        /// The path.
        path: String,
        /// Why (said in the message, not chained, so it is said once).
        error: std::io::Error,
    },
    /// The journal cannot be read.
    #[error(
        "{path}: unreadable journal ({message}); inspect it and the *.vigil-tmp files by hand"
    )]
    Journal {
        /// The journal path.
        path: String,
        /// Why.
        message: String,
    },
    /// `.vigil/` (or the journal) may have been written by someone else: a link, another
    /// user's, or writable by others.
    #[error("{path}: {why}; Vigil keeps its lock, journal and backups only in a folder of its own (mode 0700, owned by you): remove it, or fix its owner and mode")]
    Untrusted {
        /// The folder or file.
        path: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The journal is tracked by git: it came with the repository, not from an interrupted
    /// rotation here.
    #[error("{path}: tracked by git; a journal records an interrupted rotation on this machine and never comes from a repository, so it is not trusted: remove it (git rm --cached {rel}; rm {rel}) and commit")]
    TrackedJournal {
        /// The journal.
        path: String,
        /// Its path relative to the work tree.
        rel: String,
    },
    /// A journal entry Vigil would never have written.
    #[error("{journal}: entry {index} ({path}): {why}; the journal is not trusted and nothing was changed: inspect it, then delete it")]
    Foreign {
        /// The journal.
        journal: String,
        /// 0-based index of the entry.
        index: usize,
        /// The path the entry names.
        path: String,
        /// What is wrong with it.
        why: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TxnError + '_ {
    move |error| TxnError::Io {
        path: path.display().to_string(),
        error,
    }
}

/// One file to change: its path and the exact old and new bytes (`None` old: the file is new).
#[derive(Clone)]
pub struct Change {
    /// Path (absolute, or relative to the working directory).
    pub path: PathBuf,
    /// The bytes the plan was made from.
    pub old: Option<Vec<u8>>,
    /// The bytes to write.
    pub new: Vec<u8>,
}

impl std::fmt::Debug for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Change")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Where a transaction is: before or after its commit point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Phase {
    /// Temp files and backups may exist; no file has changed.
    Prepared,
    /// The commit point has passed: every file gets its new content.
    Committed,
}

#[derive(Debug, Serialize, Deserialize)]
struct Journal {
    version: u32,
    state: Phase,
    backup: Option<PathBuf>,
    entries: Vec<Entry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    path: PathBuf,
    tmp: PathBuf,
    old: String,
    new: String,
}

/// What [`recover`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovery {
    /// No interrupted transaction.
    Nothing,
    /// A transaction interrupted before its commit point was undone; no file had changed.
    RolledBack(usize),
    /// A transaction interrupted after its commit point was finished.
    RolledForward(usize),
}

/// The exclusive project lock; released on drop.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

/// Hex SHA-256 of bytes.
pub fn sha256(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn hash_of(path: &Path) -> Result<String, TxnError> {
    match fs::read(path) {
        Ok(b) => Ok(sha256(&b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ABSENT.into()),
        Err(e) => Err(io(path)(e)),
    }
}

static STEPS: AtomicU64 = AtomicU64::new(0);

/// One step of the protocol: where crash tests abort or slow the process.
fn step() {
    let n = STEPS.fetch_add(1, Ordering::SeqCst) + 1;
    if let Some(ms) = std::env::var("VIGIL_TEST_STEP_DELAY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
    if std::env::var("VIGIL_TEST_FAULT_AFTER")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        == Some(n)
    {
        std::process::abort();
    }
}

fn fsync_dir(dir: &Path) -> Result<(), TxnError> {
    let d = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    File::open(d).and_then(|f| f.sync_all()).map_err(io(d))
}

/// Where the transaction state of the project at `root` lives: the top level of the git work
/// tree `root` is in (the nearest folder, `root` included, that holds `.git`), else `root`.
/// Every configuration whose files are in one work tree shares it, and so one lock.
pub fn state_root(root: &Path) -> PathBuf {
    let root = full(root);
    root.ancestors()
        .find(|a| fs::symlink_metadata(a.join(".git")).is_ok())
        .unwrap_or(&root)
        .to_path_buf()
}

/// `path` canonical when it exists, else absolute: journal entries are absolute, so whatever
/// they are compared with must be too.
fn full(path: &Path) -> PathBuf {
    fs::canonicalize(path)
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

fn untrusted(path: &Path, why: &'static str) -> TxnError {
    TxnError::Untrusted {
        path: path.display().to_string(),
        why,
    }
}

/// The state folder of `root`, checked (not a link, ours, writable by no one else) and created
/// `0700` with its `.gitignore` when missing.
fn state_dir(root: &Path) -> Result<PathBuf, TxnError> {
    private_state_dir(&state_root(root).join(STATE_DIR))
}

/// The project's own `.vigil/` (where its ledger lives), checked and created like the state
/// folder; the same folder when the project root is the state root.
pub fn project_dir(root: &Path) -> Result<PathBuf, TxnError> {
    let d = private_state_dir(&root.join(STATE_DIR))?;
    ensure_gitignore(&d)?;
    Ok(d)
}

fn private_state_dir(d: &Path) -> Result<PathBuf, TxnError> {
    let d = d.to_path_buf();
    if let Some(why) = vigil_core::fsx::check_private_dir(&d).map_err(io(&d))? {
        return Err(untrusted(&d, why));
    }
    vigil_core::fsx::create_private_dir_all(&d).map_err(io(&d))?;
    Ok(d)
}

/// Writes `.vigil/.gitignore` when it is missing, once a transaction is about to write what
/// must never be committed (a journal, backups).
fn ensure_gitignore(dir: &Path) -> Result<(), TxnError> {
    let ignore = dir.join(".gitignore");
    if fs::symlink_metadata(&ignore).is_err() {
        vigil_core::fsx::atomic_write(&ignore, GITIGNORE.as_bytes()).map_err(io(&ignore))?;
    }
    Ok(())
}

/// The journal's path for the project at `root` (under its [`state_root`]).
pub fn journal_path(root: &Path) -> PathBuf {
    state_root(root).join(STATE_DIR).join(JOURNAL)
}

/// Whether an interrupted transaction waits for [`recover`].
pub fn pending(root: &Path) -> bool {
    fs::symlink_metadata(journal_path(root)).is_ok()
}

fn locked(path: &Path, file: &mut File) -> TxnError {
    let mut pid = String::new();
    let _ = file.read_to_string(&mut pid);
    let pid = pid.trim();
    TxnError::Locked {
        path: path.display().to_string(),
        by: if pid.is_empty() {
            String::new()
        } else {
            format!(" by pid {pid}")
        },
    }
}

/// A reader's lock: shared, on the lock file only if it exists (nothing is created), so that
/// a reader never sees a rotation half done. `None` when no rotation ever ran here.
pub fn lock_shared(root: &Path) -> Result<Option<Lock>, TxnError> {
    let path = state_root(root).join(STATE_DIR).join(LOCK);
    let mut file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(&path)(e)),
    };
    match file.try_lock_shared() {
        Ok(()) => Ok(Some(Lock { _file: file })),
        Err(fs::TryLockError::WouldBlock) => Err(locked(&path, &mut file)),
        Err(fs::TryLockError::Error(e)) => Err(io(&path)(e)),
    }
}

/// Takes the project lock, failing at once (not waiting) if another process holds it.
pub fn lock(root: &Path) -> Result<Lock, TxnError> {
    let path = state_dir(root)?.join(LOCK);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(io(&path))?;
    match file.try_lock() {
        Ok(()) => {
            let _ = file.set_len(0);
            let _ = write!(file, "{}", std::process::id());
            remove_stale_temps(path.parent().unwrap_or(Path::new(".")));
            Ok(Lock { _file: file })
        }
        Err(fs::TryLockError::WouldBlock) => Err(locked(&path, &mut file)),
        Err(fs::TryLockError::Error(e)) => Err(io(&path)(e)),
    }
}

/// Removes the temp files a crash left of Vigil's own state files (`.env-journal.json.vigil-tmp-
/// PID-N`, `.rotation.toml.vigil-tmp-PID-N`). Called under the exclusive lock, so no writer of
/// them is running.
fn remove_stale_temps(dir: &Path) {
    let Ok(list) = fs::read_dir(dir) else { return };
    for e in list.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let ours = name.starts_with('.')
            && name.contains(".vigil-tmp-")
            && (name.starts_with(&format!(".{JOURNAL}"))
                || STATE_FILES
                    .iter()
                    .any(|f| name.starts_with(&format!(".{f}"))));
        if ours && e.file_type().is_ok_and(|t| t.is_file()) {
            tracing::debug!(file = %name, "removing a stale temp file of an interrupted write");
            let _ = fs::remove_file(e.path());
        }
    }
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(TMP_SUFFIX);
    PathBuf::from(s)
}

/// The file a rename must replace: the target of a symbolic link (so the link stays a link and
/// the file it points to gets the new content), the path itself otherwise.
fn real_path(path: &Path) -> PathBuf {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
        }
        _ => path.to_path_buf(),
    }
}

fn write_journal(root: &Path, j: &Journal) -> Result<(), TxnError> {
    let dir = state_dir(root)?;
    ensure_gitignore(&dir)?;
    let path = dir.join(JOURNAL);
    // Every path was checked to be UTF-8 before the transaction began (`commit`); a journal
    // that still cannot be written as JSON is refused, never a panic.
    let text = serde_json::to_vec_pretty(j).map_err(|_| TxnError::NotUtf8Path {
        path: path.display().to_string(),
    })?;
    vigil_core::fsx::atomic_write(&path, &text).map_err(io(&path))
}

/// Commits `changes` as one transaction (the caller holds [`lock`] and ran [`recover`]).
/// With `backup`, the old contents are kept under `.vigil/backup/<n>/` until the next
/// successful commit.
pub fn commit(root: &Path, changes: &[Change], backup: bool) -> Result<(), TxnError> {
    // Re-check that nothing changed since the plan was made.
    let mut entries = Vec::new();
    for c in changes {
        let path = real_path(&std::path::absolute(&c.path).map_err(io(&c.path))?);
        if path.to_str().is_none() {
            return Err(TxnError::NotUtf8Path {
                path: c.path.display().to_string(),
            });
        }
        let old = c
            .old
            .as_deref()
            .map(sha256)
            .unwrap_or_else(|| ABSENT.into());
        if hash_of(&path)? != old {
            return Err(TxnError::Changed {
                path: c.path.display().to_string(),
            });
        }
        if let Ok(m) = fs::metadata(&path) {
            if m.nlink() > 1 {
                return Err(TxnError::HardLinked {
                    path: c.path.display().to_string(),
                    links: m.nlink(),
                });
            }
        }
        entries.push(Entry {
            tmp: tmp_path(&path),
            path,
            old,
            new: sha256(&c.new),
        });
    }
    let backup_dir = backup.then(|| {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        state_root(root)
            .join(STATE_DIR)
            .join(BACKUP)
            .join(stamp.to_string())
    });
    let mut journal = Journal {
        version: 1,
        state: Phase::Prepared,
        backup: backup_dir.clone(),
        entries,
    };
    write_journal(root, &journal)?;
    step();
    if let Err(e) = prepare(root, changes, &journal) {
        rollback(root, &journal);
        return Err(e);
    }
    journal.state = Phase::Committed;
    write_journal(root, &journal)?;
    step();
    finish(root, &journal)?;
    Ok(())
}

/// A temp file for `path`'s new content: created `0600` with `O_EXCL` (a stale temp file is
/// removed first, never opened), then given the owner, group and mode `path` has (`0644` for a
/// new file) before the content is written, so the rename keeps them.
fn write_temp(path: &Path, tmp: &Path, bytes: &[u8]) -> Result<(), TxnError> {
    match fs::remove_file(tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(tmp)(e)),
    }
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(tmp)
        .map_err(io(tmp))?;
    match fs::metadata(path) {
        Ok(m) => {
            let mine = f.metadata().map_err(io(tmp))?;
            if (m.uid(), m.gid()) != (mine.uid(), mine.gid()) {
                std::os::unix::fs::fchown(&f, Some(m.uid()), Some(m.gid())).map_err(|e| {
                    TxnError::Io {
                        path: path.display().to_string(),
                        error: std::io::Error::new(
                            e.kind(),
                            format!(
                                "cannot keep the file's owner {}:{} ({e}); run as that user",
                                m.uid(),
                                m.gid()
                            ),
                        ),
                    }
                })?;
            }
            f.set_permissions(fs::Permissions::from_mode(m.mode() & 0o7777))
                .map_err(io(tmp))?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            f.set_permissions(fs::Permissions::from_mode(0o644))
                .map_err(io(tmp))?;
        }
        Err(e) => return Err(io(path)(e)),
    }
    f.write_all(bytes).map_err(io(tmp))?;
    f.sync_all().map_err(io(tmp))
}

/// Steps 2 and 3: temp files, then backups.
fn prepare(root: &Path, changes: &[Change], journal: &Journal) -> Result<(), TxnError> {
    for (c, e) in changes.iter().zip(&journal.entries) {
        write_temp(&e.path, &e.tmp, &c.new)?;
        step();
    }
    if let Some(dir) = &journal.backup {
        let state = state_root(root);
        let backups = state.join(STATE_DIR).join(BACKUP);
        vigil_core::fsx::create_private_dir_all(dir).map_err(io(dir))?;
        // A backup folder made by an older Vigil may be open to others: close it.
        if let Ok(m) = fs::metadata(&backups) {
            if m.mode() & 0o077 != 0 {
                fs::set_permissions(&backups, fs::Permissions::from_mode(0o700))
                    .map_err(io(&backups))?;
            }
        }
        for (c, e) in changes.iter().zip(&journal.entries) {
            let Some(old) = &c.old else { continue };
            let rel = e.path.strip_prefix(&state).unwrap_or(&e.path);
            let rel: PathBuf = rel
                .components()
                .filter(|c| matches!(c, std::path::Component::Normal(_)))
                .collect();
            let dest = dir.join(rel);
            vigil_core::fsx::write_private(&dest, old).map_err(io(&dest))?;
        }
        step();
    }
    Ok(())
}

/// Undoes a transaction before its commit point: temp files, backup and journal go; no file
/// had changed.
fn rollback(root: &Path, journal: &Journal) {
    for e in &journal.entries {
        let _ = fs::remove_file(&e.tmp);
    }
    if let Some(b) = &journal.backup {
        let _ = fs::remove_dir_all(b);
    }
    let _ = fs::remove_file(journal_path(root));
    let _ = fsync_dir(&state_root(root).join(STATE_DIR));
}

/// Renames what is left, fsyncs, prunes old backups, deletes the journal.
fn finish(root: &Path, journal: &Journal) -> Result<usize, TxnError> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    let mut conflict = None;
    for e in &journal.entries {
        let now = hash_of(&e.path)?;
        if now == e.new {
            let _ = fs::remove_file(&e.tmp);
        } else if now == e.old && hash_of(&e.tmp)? == e.new {
            fs::rename(&e.tmp, &e.path).map_err(io(&e.path))?;
            step();
        } else {
            // The others are finished all the same; this one waits for a person.
            conflict.get_or_insert_with(|| TxnError::Conflict {
                path: e.path.display().to_string(),
                journal: journal_path(root).display().to_string(),
            });
            continue;
        }
        let dir = e.path.parent().map(Path::to_path_buf).unwrap_or_default();
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    for d in &dirs {
        fsync_dir(d)?;
    }
    if let Some(c) = conflict {
        return Err(c);
    }
    let state = state_root(root).join(STATE_DIR);
    let backups = state.join(BACKUP);
    if let Ok(list) = fs::read_dir(&backups) {
        for b in list.flatten() {
            if journal.backup.as_deref() != Some(b.path().as_path()) {
                let _ = fs::remove_dir_all(b.path());
            }
        }
    }
    let jpath = state.join(JOURNAL);
    fs::remove_file(&jpath).map_err(io(&jpath))?;
    fsync_dir(&state)?;
    step();
    Ok(journal.entries.len())
}

/// Finishes or undoes an interrupted transaction (the caller holds [`lock`]), once the journal
/// passed every check of [`recover_for`]; entries may name only Vigil's state files and env
/// files (`.env`, `.env.*`, `*.env`) inside the state root.
pub fn recover(root: &Path) -> Result<Recovery, TxnError> {
    recover_checked(root, &|p: &Path| default_target(root, p))
}

/// [`recover`] for a project whose files are known: entries may name only one of `targets`
/// (the project's env files, as they are found: their real paths when they are links) and
/// Vigil's state files.
pub fn recover_for(root: &Path, targets: &[PathBuf]) -> Result<Recovery, TxnError> {
    let real: Vec<PathBuf> = targets.iter().map(|t| real_path(t)).collect();
    recover_checked(root, &|p: &Path| {
        real.iter().any(|t| t == p) || state_file(root, p)
    })
}

/// Whether `p` is one of Vigil's own state files: `<root or state root>/.vigil/<STATE_FILES>`.
fn state_file(root: &Path, p: &Path) -> bool {
    let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
    let in_state = |base: &Path| p.parent() == Some(base.join(STATE_DIR).as_path());
    name.is_some_and(|n| STATE_FILES.contains(&n.as_str()))
        && (in_state(&full(root)) || in_state(&state_root(root)))
}

/// The targets [`recover`] accepts without a list: state files, and env-file names inside the
/// state root.
fn default_target(root: &Path, p: &Path) -> bool {
    let env_name = p.file_name().is_some_and(|n| {
        let n = n.to_string_lossy();
        n == ".env" || n.starts_with(".env.") || n.ends_with(".env")
    });
    state_file(root, p) || (env_name && p.starts_with(state_root(root)))
}

fn is_hash(s: &str) -> bool {
    s == ABSENT || (s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Whether git tracks `rel` in the work tree at `top` (`false` when git cannot say: no git, not
/// a work tree).
fn tracked(top: &Path, rel: &Path) -> bool {
    std::process::Command::new("git")
        .arg("-C")
        .arg(top)
        .args(["ls-files", "-z", "--"])
        .arg(rel)
        .stderr(std::process::Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success() && !o.stdout.is_empty())
}

/// Reads the journal and checks that Vigil could have written it here, before anything is
/// touched.
fn trusted_journal(
    root: &Path,
    allowed: &dyn Fn(&Path) -> bool,
) -> Result<Option<Journal>, TxnError> {
    let state = state_root(root);
    let dir = state.join(STATE_DIR);
    let jpath = dir.join(JOURNAL);
    if fs::symlink_metadata(&jpath).is_err() {
        return Ok(None);
    }
    let shown = jpath.display().to_string();
    if let Some(why) = vigil_core::fsx::check_private_dir(&dir).map_err(io(&dir))? {
        return Err(untrusted(&dir, why));
    }
    if let Some(why) = vigil_core::fsx::check_private_file(&jpath).map_err(io(&jpath))? {
        return Err(untrusted(&jpath, why));
    }
    let rel = Path::new(STATE_DIR).join(JOURNAL);
    if tracked(&state, &rel) {
        return Err(TxnError::TrackedJournal {
            path: shown,
            rel: rel.display().to_string(),
        });
    }
    let text = fs::read(&jpath).map_err(io(&jpath))?;
    let journal: Journal = serde_json::from_slice(&text).map_err(|e| TxnError::Journal {
        path: shown.clone(),
        message: e.to_string(),
    })?;
    let foreign = |index: usize, path: &Path, why: &str| TxnError::Foreign {
        journal: shown.clone(),
        index,
        path: path.display().to_string(),
        why: why.to_owned(),
    };
    if journal.version != 1 {
        return Err(TxnError::Journal {
            path: shown,
            message: format!("version {} (this Vigil writes 1)", journal.version),
        });
    }
    if let Some(b) = &journal.backup {
        let ok = b.parent() == Some(dir.join(BACKUP).as_path())
            && b.file_name()
                .is_some_and(|n| n.to_string_lossy().bytes().all(|c| c.is_ascii_digit()));
        if !ok {
            return Err(foreign(
                0,
                b,
                "the backup folder is not one Vigil makes (.vigil/backup/<time>)",
            ));
        }
    }
    for (i, e) in journal.entries.iter().enumerate() {
        if !e.path.is_absolute()
            || e.path
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err(foreign(i, &e.path, "not an absolute, normal path"));
        }
        if !allowed(&e.path) {
            return Err(foreign(
                i,
                &e.path,
                "not an env file of this project nor a state file of Vigil's",
            ));
        }
        if e.tmp != tmp_path(&e.path) {
            return Err(foreign(
                i,
                &e.tmp,
                "the temp file is not the one Vigil writes beside its file (<file>.vigil-tmp)",
            ));
        }
        if !is_hash(&e.old) || !is_hash(&e.new) {
            return Err(foreign(i, &e.path, "the hashes are not SHA-256"));
        }
    }
    Ok(Some(journal))
}

fn recover_checked(root: &Path, allowed: &dyn Fn(&Path) -> bool) -> Result<Recovery, TxnError> {
    let Some(journal) = trusted_journal(root, allowed)? else {
        return Ok(Recovery::Nothing);
    };
    let state = state_root(root).join(STATE_DIR);
    let jpath = state.join(JOURNAL);
    match journal.state {
        Phase::Committed => {
            let n = finish(root, &journal)?;
            tracing::debug!(
                files = n,
                "finished a rotation that was interrupted after its commit point"
            );
            Ok(Recovery::RolledForward(n))
        }
        Phase::Prepared => {
            for e in &journal.entries {
                match fs::symlink_metadata(&e.tmp) {
                    Ok(m) if m.is_file() => {
                        let _ = fs::remove_file(&e.tmp);
                    }
                    _ => {}
                }
                if hash_of(&e.path)? != e.old {
                    tracing::warn!(path = %e.path.display(), "changed since the interrupted rotation began; left as it is");
                }
            }
            if let Some(b) = &journal.backup {
                let _ = fs::remove_dir_all(b);
            }
            fs::remove_file(&jpath).map_err(io(&jpath))?;
            fsync_dir(&state)?;
            tracing::debug!(
                files = journal.entries.len(),
                "rolled back a rotation interrupted before its commit point"
            );
            Ok(Recovery::RolledBack(journal.entries.len()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A journal past its commit point whose first file was changed by something else since:
    /// recovery finishes the other file, keeps the journal, and says how to clear it.
    #[test]
    fn recovery_finishes_what_it_can_and_says_how_to_clear_a_conflict() {
        let dir = std::env::temp_dir().join(format!("vigil-txn-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join(STATE_DIR)).unwrap();
        let (a, b) = (dir.join(".env.a"), dir.join(".env.b"));
        fs::write(&a, "A=edited-by-hand\n").unwrap();
        fs::write(&b, "B=old\n").unwrap();
        fs::write(tmp_path(&b), "B=new\n").unwrap();
        let j = Journal {
            version: 1,
            state: Phase::Committed,
            backup: None,
            entries: vec![
                Entry {
                    path: a.clone(),
                    tmp: tmp_path(&a),
                    old: sha256(b"A=old\n"),
                    new: sha256(b"A=new\n"),
                },
                Entry {
                    path: b.clone(),
                    tmp: tmp_path(&b),
                    old: sha256(b"B=old\n"),
                    new: sha256(b"B=new\n"),
                },
            ],
        };
        write_journal(&dir, &j).unwrap();
        let e = recover(&dir).unwrap_err().to_string();
        let journal = journal_path(&dir).display().to_string();
        assert!(
            e.starts_with(&format!("{}: matches neither", a.display()))
                && e.contains(&format!("delete {journal}")),
            "{e}"
        );
        assert_eq!(fs::read_to_string(&b).unwrap(), "B=new\n");
        assert_eq!(fs::read_to_string(&a).unwrap(), "A=edited-by-hand\n");
        assert!(pending(&dir));
        // Following the advice clears it.
        fs::remove_file(journal_path(&dir)).unwrap();
        assert_eq!(recover(&dir).unwrap(), Recovery::Nothing);
        fs::remove_dir_all(&dir).unwrap();
    }
}
