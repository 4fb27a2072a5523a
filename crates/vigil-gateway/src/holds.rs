//! The holds a client's listing puts on a pinned server's tools, kept until an operator approves
//! that server's listing again.
//!
//! A tool a client's `tools/list` answer gave with a definition that is not the approved one (or
//! gave twice) is *held*: its calls are refused whatever the gateway's own fetch gets, since an
//! upstream may answer the gateway and its clients differently. A hold is made under the
//! server's approval count in the lock file as it is when the hold is made
//! ([`vigil_core::pin::LockFile::approval`]) and lasts until that count goes up: a `touch`, a
//! copy of the same file or another server's approval releases nothing, and neither does a lock
//! file that went missing, unreadable or back to an older copy (its count is lower: fail
//! closed).
//!
//! - **One store per lock file and server** in the process ([`Holds::shared`]): every route
//!   pinning to the same server, and the gateway a SIGHUP reload builds, use the same holds, so
//!   a listing answered during a reload holds in the new gateway too.
//! - **Kept beside the lock file** ([`held_path`], `tools.lock.held`, `0600`): a listing's new holds are
//!   written (one write) before the listing goes on (a release in the background, a burst
//!   being one write of the last state), merged with what another process wrote there under
//!   the same approval (the later approval's holds win), and read back at start
//!   ([`Holds::restore`]): a restart releases nothing. A file that is not one the gateway
//!   wrote stops it from starting.
//! - **Shared between processes**: every check looks at the file's stamp (one `stat`, skipped
//!   while the folder's watch tells no change: [`crate::watch`]) and takes up what another
//!   gateway process sharing the lock file held ([`Holds::refresh`]).
//! - **Bounded**: past [`MAX_HELD`] names (or a name over [`MAX_NAME`] bytes) every tool of the
//!   server is held, which fails closed; past [`LOGGED`] holds they are no longer logged each.

use crate::tools::FileStamp;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// The most tool names held one by one; past it every tool of the server is held.
pub const MAX_HELD: usize = 1024;
/// The longest tool name held by name (bytes); a longer one holds every tool of the server.
pub const MAX_NAME: usize = 512;
/// Holds logged one by one (per store); later ones are counted in one line.
pub const LOGGED: usize = 64;

/// The file beside a lock file where the holds are kept (`tools.lock` → `tools.lock.held`),
/// beside the file the lock file's path leads to (links and `..` resolved).
pub fn held_path(lock: &Path) -> PathBuf {
    let mut s = vigil_core::fsx::resolved(lock).into_os_string();
    s.push(".held");
    s.into()
}

/// The held file: per server name, its holds.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct HeldFile {
    /// Server name (as in the lock file) → its holds.
    #[serde(deserialize_with = "once_each")]
    servers: BTreeMap<String, HeldServer>,
}

/// The servers of a held file, each named once (a name given twice is a file the gateway did not
/// write: which holds count cannot be told).
fn once_each<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, HeldServer>, D::Error> {
    struct Servers;
    impl<'de> serde::de::Visitor<'de> for Servers {
        type Value = BTreeMap<String, HeldServer>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("servers, each named once")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut servers = BTreeMap::new();
            while let Some((name, held)) = map.next_entry::<String, HeldServer>()? {
                if servers.contains_key(&name) {
                    return Err(serde::de::Error::custom(format_args!(
                        "server {:?} given twice",
                        name.escape_debug().to_string()
                    )));
                }
                servers.insert(name, held);
            }
            Ok(servers)
        }
    }
    d.deserialize_map(Servers)
}

/// One server's holds in the held file.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct HeldServer {
    /// The server's approval count the holds were made under.
    approval: u64,
    /// Every tool of the server is held.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    all: bool,
    /// The tools held by name (always written, also when empty).
    tools: BTreeSet<String>,
}

/// Why the held file cannot be read (the gateway does not start on it: releasing its holds would
/// let a tool a client was shown unapproved be called).
#[derive(Debug, thiserror::Error)]
pub enum HeldError {
    /// The file cannot be read.
    #[error("{path}: {error}")]
    Read {
        /// The held file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// The file is not a hold list written by the gateway.
    #[error("{path}:{line}:{column}: not a list of held tools written by vigil gateway ({error}); remove this file, then review the server's listing again (vigil gateway pin --route ROUTE) and approve the digest that review prints")]
    Parse {
        /// The held file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the reader said.
        error: String,
    },
}

/// Reads the held file at `path` (`None` when there is none).
fn read(path: &Path) -> Result<Option<HeldFile>, HeldError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(HeldError::Read {
                path: path.to_owned(),
                error,
            })
        }
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| HeldError::Parse {
            path: path.to_owned(),
            line: e.line(),
            column: e.column(),
            error: e
                .to_string()
                .split(" at line ")
                .next()
                .unwrap_or("")
                .to_owned(),
        })
}

/// What the held file beside `lock` keeps for `server` under approval `approval` (the server's
/// count in the lock file now): whether every tool is held, and the names held. `None` when
/// nothing is held (holds under an earlier approval are released).
pub fn kept(
    lock: &Path,
    server: &str,
    approval: u64,
) -> Result<Option<(bool, Vec<String>)>, HeldError> {
    let Some(mut file) = read(&held_path(lock))? else {
        return Ok(None);
    };
    Ok(file
        .servers
        .remove(server)
        .filter(|s| s.approval >= approval && (s.all || !s.tools.is_empty()))
        .map(|s| (s.all, s.tools.into_iter().collect())))
}

/// The approval count the held file beside `lock` records for `server` (its holds were made
/// under it), when it records one: an approval must count past it to release them.
pub fn held_approval(lock: &Path, server: &str) -> Option<u64> {
    read(&held_path(lock))
        .ok()
        .flatten()?
        .servers
        .get(server)
        .map(|s| s.approval)
}

/// The holds of one server of one lock file.
#[derive(Debug)]
pub struct Holds {
    /// The held file.
    path: PathBuf,
    /// The server's name in the lock file.
    server: String,
    state: Mutex<State>,
    /// [`Holds::restore`] ran (once per store, whatever the number of routes and reloads).
    restored: AtomicBool,
    /// A background write is under way.
    persisting: AtomicBool,
    /// The holds changed since the last write began.
    dirty: AtomicBool,
    /// Holds were made that [`Holds::flush`] has not written yet.
    unwritten: AtomicBool,
    /// The held file as last read, and the watch's mark it was looked at under.
    seen: Mutex<(Option<FileStamp>, Option<crate::watch::Mark>)>,
    /// The held file's folder's watch: a check looks at the file (`stat`) only when it changed.
    watch: crate::watch::Watched,
    /// Held files beside a route's lock path as spelled, where that path leads elsewhere (it
    /// became a link while a gateway ran, which kept its holds there), and whether they were
    /// taken up yet ([`Holds::restore`]). Each is written a copy of the held file too, for the
    /// day the link is replaced by the file itself.
    beside: Mutex<BTreeMap<PathBuf, bool>>,
}

/// What is held, under which approval.
#[derive(Debug, Default)]
struct State {
    approval: u64,
    all: bool,
    names: HashSet<String>,
    /// Holds logged so far (under this approval).
    logged: usize,
}

impl State {
    fn is_empty(&self) -> bool {
        !self.all && self.names.is_empty()
    }
}

/// Stores by lock file and server.
type Stores = HashMap<(PathBuf, String), Weak<Holds>>;

/// The stores of the process.
static STORES: Mutex<Option<Stores>> = Mutex::new(None);

/// Serializes this process's writes of held files (servers may share one).
static WRITES: Mutex<()> = Mutex::new(());

impl Holds {
    /// The holds of server `server` of the lock file `lock`: the one store of the process
    /// while any route or gateway still uses it, else a new, empty one.
    pub fn shared(lock: &Path, server: &str) -> Arc<Holds> {
        let spelled = {
            let mut s = std::path::absolute(lock)
                .unwrap_or_else(|_| lock.to_owned())
                .into_os_string();
            s.push(".held");
            PathBuf::from(s)
        };
        let lock = vigil_core::fsx::resolved(lock);
        let key = (lock.clone(), server.to_owned());
        let mut stores = STORES.lock().unwrap_or_else(|e| e.into_inner());
        let stores = stores.get_or_insert_with(HashMap::new);
        let h = match stores.get(&key).and_then(Weak::upgrade) {
            Some(h) => h,
            None => {
                stores.retain(|_, w| w.strong_count() > 0);
                Arc::new(Holds::new(&lock, server))
            }
        };
        // Whether the store is new or another route's (a reload after the path became a link
        // finds the store of a route that names the file itself): the holds kept beside the
        // path as spelled are taken up at the next restore.
        if spelled != h.path {
            h.beside
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(spelled)
                .or_insert(false);
        }
        stores.insert(key, Arc::downgrade(&h));
        h
    }

    /// A store of its own for `server` of the lock file `lock` (as another process has).
    fn new(lock: &Path, server: &str) -> Holds {
        let path = held_path(lock);
        Holds {
            watch: crate::watch::Watched::new(&path),
            path,
            server: server.to_owned(),
            state: Mutex::default(),
            restored: AtomicBool::new(false),
            persisting: AtomicBool::new(false),
            dirty: AtomicBool::new(false),
            unwritten: AtomicBool::new(false),
            seen: Mutex::new((None, None)),
            beside: Mutex::default(),
        }
    }

    /// Takes up the holds the held file keeps for this server under approval `approval` (the
    /// server's count in the lock file now); holds made under an earlier approval are released.
    /// Once per store: a reload that shares it reads nothing.
    pub fn restore(self: &Arc<Self>, approval: u64) -> Result<(), HeldError> {
        // Holds kept beside a lock path as spelled that now leads to another file: taken up
        // (once each) and written beside that file, also when the store was restored before.
        let from_beside = {
            let mut beside = self.beside.lock().unwrap_or_else(|e| e.into_inner());
            let mut taken = None;
            for (path, done) in beside.iter_mut().filter(|(_, done)| !**done) {
                if let Some(t) = self.take(read(path)?, approval) {
                    taken = Some(t);
                }
                *done = true;
            }
            taken
        };
        if from_beside.is_some() {
            self.persist();
        }
        // The held file itself: once per store (a reload that shares it reads nothing).
        let from_file = if self.restored.load(Ordering::Acquire) {
            None
        } else {
            let stamp = self.stamp();
            let file = read(&self.path)?;
            *self.seen.lock().unwrap_or_else(|e| e.into_inner()) = (stamp, None);
            self.restored.store(true, Ordering::Release);
            self.take(file, approval)
        };
        if let Some((names, all)) = from_file.or(from_beside) {
            tracing::warn!(
                server = %self.server.escape_debug(),
                tools = names,
                all,
                file = %self.path.display(),
                "tools a client was given unapproved stay held until the server's listing is approved again"
            );
        }
        Ok(())
    }

    /// Looks at the held file (one `stat`, when its folder's watch tells a change or a second
    /// passed) and, when it changed, takes up what another gateway
    /// process (an old one still answering while a new one starts, or a replica) held there
    /// (`approval`: the server's count now, asked only then). Such a process writes a hold
    /// before the listing that made it reaches its client ([`Holds::hold`]), so a call that
    /// client sends here next is judged with it. A file that no longer reads holds every tool
    /// of the server (fail closed).
    pub fn refresh(&self, approval: impl FnOnce() -> u64) {
        // Held while the file is read and taken up: a thread that finds the new stamp seen
        // judges its call with what the file holds, not with the holds of the approval before
        // (which it would release) while another thread is still reading (tester 149).
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        // The `stat` is skipped while the folder's watch tells no change (taken before it).
        let mark = self.watch.mark();
        if mark.is_some() && seen.1 == mark {
            return;
        }
        let stamp = self.stamp();
        let mark = self.watch.vouch(mark);
        if seen.0 == stamp {
            seen.1 = mark;
            return;
        }
        *seen = (stamp, mark);
        let approval = approval();
        match read(&self.path) {
            Ok(file) => {
                if let Some((names, all)) = self.take(file, approval) {
                    tracing::warn!(
                        server = %self.server.escape_debug(),
                        tools = names,
                        all,
                        "another gateway process held tools of this server; they are held here too until its listing is approved again"
                    );
                }
            }
            Err(e) => {
                let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
                if state.approval < approval {
                    *state = State {
                        approval,
                        ..State::default()
                    };
                }
                state.all = true;
                state.names.clear();
                drop(state);
                tracing::warn!(error = %e, "the tools held beside the lock file no longer read; every tool of the server is held until its listing is approved again");
            }
        }
    }

    /// The held file's stamp now (`None` when there is none).
    fn stamp(&self) -> Option<FileStamp> {
        std::fs::metadata(&self.path)
            .ok()
            .map(|m| FileStamp::of(&m))
    }

    /// Takes up what `file` holds for this server under approval `approval` or a later one;
    /// the number of names held then and whether all are, when it held anything.
    fn take(&self, file: Option<HeldFile>, approval: u64) -> Option<(usize, bool)> {
        let kept = file?.servers.remove(&self.server)?;
        if kept.approval < approval || (!kept.all && kept.tools.is_empty()) {
            return None;
        }
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.approval < kept.approval {
            *state = State {
                approval: kept.approval,
                ..State::default()
            };
        }
        let before = (state.all, state.names.len());
        state.all |= kept.all;
        for name in kept.tools {
            add(&mut state, &name);
        }
        (before != (state.all, state.names.len())).then(|| (state.names.len(), state.all))
    }

    /// Holds tool `name` under approval `approval` (the server's count in the lock file as it is
    /// now, read when the hold is made: an approval that landed while the listing was judged
    /// does not release it). [`Holds::flush`] writes it, before the listing that made it goes
    /// on to its client.
    pub fn hold(self: &Arc<Self>, name: &str, approval: u64) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.approval < approval {
            *state = State {
                approval,
                ..State::default()
            };
        }
        let (was_all, before) = (state.all, state.names.len());
        add(&mut state, name);
        if state.all == was_all && state.names.len() == before {
            return;
        }
        state.logged += 1;
        let logged = state.logged;
        let all = state.all && !was_all;
        // Marked while the state is locked: a thread that finds this hold made (and so shows
        // nothing of the tool) finds it unwritten too, and its flush waits for the write.
        self.unwritten.store(true, Ordering::Release);
        drop(state);
        if all {
            tracing::warn!(
                server = %self.server.escape_debug(),
                "a listing for a client had more tools unapproved than the gateway holds by name (or a name too long to keep; shown or hidden by the pins); every tool of the server is held until its listing is approved again"
            );
        } else if logged <= LOGGED {
            tracing::warn!(
                tool = %name.escape_debug(),
                server = %self.server.escape_debug(),
                "a listing for a client had a tool whose definition is not the approved one (or had it twice; shown or hidden by the pins); its calls are held until the server's listing is approved again"
            );
        } else if logged == LOGGED + 1 {
            tracing::warn!(
                server = %self.server.escape_debug(),
                "more tools are held than are logged one by one; vigil gateway pin --route … names them"
            );
        }
    }

    /// Writes the holds made since the last write to the held file now, or waits for a write
    /// under way that has them: once this returns, another gateway process sharing the lock
    /// file refuses their calls ([`Holds::refresh`]). Called once per listing, before it goes on
    /// to the client (not in the background: a client that lists through this process and
    /// calls through another must find the hold there).
    pub fn flush(&self) {
        // Under the process's write lock: when another thread took the flag, its write (which
        // holds the lock throughout) has finished once the lock is had here.
        let _one = WRITES.lock().unwrap_or_else(|e| e.into_inner());
        if self.unwritten.swap(false, Ordering::AcqRel) {
            let mut r = self.write_locked();
            // A moment's failure (the folder renamed away and back, tester 154: ENOENT for
            // ~10 ms) is tried again for about 60 ms before the listing goes on without the
            // file (held in this process only, logged).
            for wait in [2, 4, 8, 16, 32] {
                if r.is_ok() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(wait));
                r = self.write_locked();
            }
            self.written(r);
        }
    }

    /// Whether every tool of the server is held (whatever the approval now).
    pub fn all(&self) -> bool {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).all
    }

    /// Whether nothing is held (whatever the approval now).
    pub fn is_empty(&self) -> bool {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// Whether tool `name` is held under approval `approval` (the server's count now). Holds
    /// made under an earlier approval are released here (logged, and the held file rewritten);
    /// a lower count (the lock file missing, unreadable or an older copy) releases nothing.
    pub fn held(self: &Arc<Self>, name: &str, approval: u64) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.is_empty() {
            return false;
        }
        if state.approval < approval {
            let released = state.names.len();
            let all = state.all;
            *state = State {
                approval,
                ..State::default()
            };
            drop(state);
            tracing::info!(
                server = %self.server.escape_debug(),
                tools = released,
                all,
                "the server's listing was approved again: the tools held are released"
            );
            self.persist();
            return false;
        }
        state.all || state.names.contains(name)
    }

    /// Writes the holds: now when there is no runtime, else in the background, one write at a
    /// time with the latest state.
    fn persist(self: &Arc<Self>) {
        self.dirty.store(true, Ordering::Release);
        if self.persisting.swap(true, Ordering::AcqRel) {
            return;
        }
        let me = Arc::clone(self);
        let write = move || loop {
            me.dirty.store(false, Ordering::Release);
            me.written(me.write());
            me.persisting.store(false, Ordering::Release);
            if !me.dirty.load(Ordering::Acquire) || me.persisting.swap(true, Ordering::AcqRel) {
                break;
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(h) => {
                h.spawn_blocking(write);
            }
            Err(_) => write(),
        }
    }

    /// Logs a failed write of the held file (each one: a write is made only when the holds
    /// changed, and each failure is a hold other processes do not see; tester 154).
    fn written(&self, result: std::io::Result<()>) {
        if let Err(e) = result {
            tracing::warn!(file = %self.path.display(), error = %e, "the tools held cannot be written beside the lock file; a restart would release them (a reload keeps them), and other gateway processes sharing the lock file do not see them");
        }
    }

    /// Writes this server's holds into the held file, keeping other servers' and merging
    /// another process's holds of this server under the same approval; removes the file when
    /// nothing is held there.
    fn write(&self) -> std::io::Result<()> {
        let _one = WRITES.lock().unwrap_or_else(|e| e.into_inner());
        self.write_locked()
    }

    /// [`Holds::write`], the process's write lock held by the caller.
    fn write_locked(&self) -> std::io::Result<()> {
        // Other gateway processes writing the same file: one read-merge-write at a time (an
        // advisory lock on the folder, released when the handle closes).
        let folder = self
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        // A folder that is gone (renamed away) is not made again here: an operator putting the
        // real one back would move it inside the new one (tester 155). The write fails, and is
        // tried again, then logged.
        if !folder.is_dir() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "the lock file's folder is not there",
            ));
        }
        let _across = std::fs::File::open(folder).and_then(|f| f.lock().map(|()| f));
        let mine = {
            let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
            HeldServer {
                approval: s.approval,
                all: s.all,
                tools: s.names.iter().cloned().collect(),
            }
        };
        // A file another writer left unreadable is replaced (this process read it at start).
        let mut file = read(&self.path).ok().flatten().unwrap_or_default();
        let merged = match file.servers.remove(&self.server) {
            Some(other) if other.approval == mine.approval => HeldServer {
                approval: mine.approval,
                all: mine.all || other.all,
                tools: mine.tools.union(&other.tools).cloned().collect(),
            },
            // Another writer saw a later approval: its holds are the current ones.
            Some(other) if other.approval > mine.approval => other,
            _ => mine,
        };
        if merged.all || !merged.tools.is_empty() {
            file.servers.insert(self.server.clone(), merged);
        }
        // A copy beside each path a route spells that leads here through a link: when the
        // link is replaced by the file itself, that path's held file has the holds (tester 151).
        let copies: Vec<PathBuf> = self
            .beside
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect();
        if file.servers.is_empty() {
            for p in std::iter::once(&self.path).chain(&copies) {
                match std::fs::remove_file(p) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
            return Ok(());
        }
        let mut text = serde_json::to_string_pretty(&file).map_err(std::io::Error::other)?;
        text.push('\n');
        vigil_core::fsx::write_private(&self.path, text.as_bytes())?;
        for p in &copies {
            vigil_core::fsx::write_private(p, text.as_bytes())?;
        }
        Ok(())
    }
}

/// Adds `name` to `state`'s holds, or holds everything past the bounds.
fn add(state: &mut State, name: &str) {
    if state.all || state.names.contains(name) {
        return;
    }
    if state.names.len() >= MAX_HELD || name.len() > MAX_NAME {
        state.all = true;
        state.names.clear();
        return;
    }
    state.names.insert(name.to_owned());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two gateway processes sharing a lock file: a hold one makes is on disk when its
    /// listing's `flush` returns, and the other refuses the tool at its next check, however
    /// soon.
    #[test]
    fn a_hold_is_seen_by_another_process_at_its_next_check() {
        let dir = tempfile::tempdir().unwrap();
        let lock = dir.path().join("tools.lock");
        let here = Arc::new(Holds::new(&lock, "fs"));
        let there = Arc::new(Holds::new(&lock, "fs"));
        here.restore(1).unwrap();
        there.restore(1).unwrap();
        there.refresh(|| 1);
        assert!(!there.held("delete_file", 1));
        here.hold("delete_file", 1);
        assert!(!held_path(&lock).exists(), "written once per listing");
        here.flush();
        assert!(held_path(&lock).exists());
        there.refresh(|| 1);
        assert!(there.held("delete_file", 1));
        assert!(!there.held("read_file", 1));
        // A second hold, at once: the file changed again and is read again.
        here.hold("move_file", 1);
        here.flush();
        there.refresh(|| 1);
        assert!(there.held("move_file", 1));
        // An approval (a count past the holds') releases them in both.
        assert!(!here.held("delete_file", 2));
        assert!(!there.held("move_file", 2));
    }

    /// A held file the gateway would not write (a server named twice, a server without its
    /// `tools`) is refused, naming the line.
    #[test]
    fn a_server_given_twice_or_without_its_tools_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tools.lock.held");
        let twice = "{\"servers\": {\n\"fs\": {\"approval\": 2, \"tools\": [\"a\"]},\n\"fs\": {\"approval\": 2, \"tools\": []}}}";
        std::fs::write(&path, twice).unwrap();
        let e = read(&path).unwrap_err().to_string();
        assert!(
            e.contains("tools.lock.held:3:") && e.contains("given twice"),
            "{e}"
        );
        std::fs::write(&path, "{\"servers\": {\"fs\": {\"approval\": 2}}}").unwrap();
        let e = read(&path).unwrap_err().to_string();
        assert!(e.contains("missing field `tools`"), "{e}");
        let good = "{\"servers\": {\"fs\": {\"approval\": 2, \"tools\": [\"a\"]}}}";
        std::fs::write(&path, good).unwrap();
        assert!(read(&path).unwrap().unwrap().servers["fs"]
            .tools
            .contains("a"));
    }
}
