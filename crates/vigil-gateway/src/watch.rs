//! Changes to a file told by the kernel (inotify on its folder), so that a check that finds
//! nothing changed skips its `stat`.
//!
//! Every call on a pinned route looks at two files, the lock file and the held file beside it:
//! a `stat` of each, with its path walk, per call. A [`Watched`] file's [`Watched::mark`] reads
//! the kernel's queue of its folder's events without waiting (one `read` that finds nothing when
//! nothing happened) and gives a mark that moves when an event names the file (or cannot tell
//! which file it was about), and at least once a second. A check keeps the mark its last `stat`
//! was made under and looks again only when the mark moved.
//!
//! No window: the kernel queues an event before the write, rename or removal that caused it
//! returns, so a change another process made before it answered its client is in the queue when
//! that client's next request is checked here. Where the kernel cannot vouch, there is no mark
//! and every check looks, as without a watch: no inotify (or no watch left to add), the folder
//! moved or removed, the file a symbolic link (its target may be elsewhere). A folder above it
//! renamed and replaced is seen within the second (each look once a second compares the
//! folder's identity). Not seen by a folder's watch, as by no `stat` either: a network file
//! system's changes from another machine.

use rustix::fs::inotify::{self, ReadFlags, WatchFlags};
use std::collections::HashMap;
use std::ffi::OsString;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::Instant;

/// When a look at a file was made: the generation of its folder's changes that named it, and
/// the second (since the process started). Equal marks: nothing about the file changed between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    generation: u64,
    second: u64,
}

/// One folder's watch, shared by every file watched in it.
#[derive(Debug)]
struct Folder {
    fd: OwnedFd,
    /// Device and inode of the folder watched.
    id: (u64, u64),
    /// Events read so far, per file name (0: none yet), and events naming no file counted in
    /// `any`; under one lock with the reads, so a thread that finds the queue empty because
    /// another thread just read it waits for that thread's count.
    counts: Mutex<Counts>,
    /// The watch ended (the folder moved or was removed, the file system unmounted, a read
    /// failed): no mark from now on.
    broken: AtomicBool,
}

#[derive(Debug, Default)]
struct Counts {
    any: u64,
    names: HashMap<OsString, u64>,
}

/// The process's folder watches (one inotify instance per folder), by canonical path.
static FOLDERS: LazyLock<Mutex<HashMap<PathBuf, Weak<Folder>>>> = LazyLock::new(Default::default);

/// The start of the marks' seconds.
static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);

impl Folder {
    /// The watch of folder `dir` (canonical), shared; `None` when it cannot be watched.
    fn of(dir: &Path) -> Option<Arc<Folder>> {
        let mut all = FOLDERS.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(f) = all.get(dir).and_then(Weak::upgrade) {
            if !f.broken.load(Ordering::Acquire) {
                return Some(f);
            }
        }
        all.retain(|_, w| w.strong_count() > 0);
        let fd =
            inotify::init(inotify::CreateFlags::CLOEXEC | inotify::CreateFlags::NONBLOCK).ok()?;
        inotify::add_watch(
            &fd,
            dir,
            WatchFlags::MODIFY
                | WatchFlags::ATTRIB
                | WatchFlags::CLOSE_WRITE
                | WatchFlags::CREATE
                | WatchFlags::DELETE
                | WatchFlags::MOVED_FROM
                | WatchFlags::MOVED_TO
                | WatchFlags::DELETE_SELF
                | WatchFlags::MOVE_SELF
                | WatchFlags::ONLYDIR,
        )
        .ok()?;
        // Taken after the watch is in place: a folder replaced in between is caught by the
        // first once-a-second comparison.
        let m = std::fs::metadata(dir).ok()?;
        let f = Arc::new(Folder {
            fd,
            id: (m.dev(), m.ino()),
            counts: Mutex::default(),
            broken: AtomicBool::new(false),
        });
        all.insert(dir.to_owned(), Arc::downgrade(&f));
        Some(f)
    }

    /// Reads every queued event; the count of events that may concern file `name` (the events
    /// naming it, and those naming no file), or `None` once the watch ended.
    fn count(&self, name: &OsString) -> Option<u64> {
        if self.broken.load(Ordering::Acquire) {
            return None;
        }
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 4096];
        let mut events = inotify::Reader::new(&self.fd, &mut buf);
        loop {
            match events.next() {
                Ok(e) => {
                    let ended = ReadFlags::IGNORED
                        | ReadFlags::DELETE_SELF
                        | ReadFlags::MOVE_SELF
                        | ReadFlags::UNMOUNT;
                    if e.events().intersects(ended) {
                        self.broken.store(true, Ordering::Release);
                        return None;
                    }
                    match e.file_name() {
                        // Only the names a file was watched under are counted; a busy folder
                        // (an audit log beside the lock file) moves no mark.
                        Some(n) => {
                            let n = std::ffi::OsStr::from_bytes(n.to_bytes());
                            if let Some(c) = counts.names.get_mut(n) {
                                *c += 1;
                            }
                        }
                        // The queue overflowed (events lost), or an event on the folder
                        // itself: it may concern any file.
                        None => counts.any += 1,
                    }
                }
                Err(rustix::io::Errno::AGAIN) => break,
                Err(rustix::io::Errno::INTR) => continue,
                Err(_) => {
                    self.broken.store(true, Ordering::Release);
                    return None;
                }
            }
        }
        Some(counts.any + counts.names.get(name).copied().unwrap_or(0))
    }
}

/// A file whose changes its folder's watch tells.
#[derive(Debug)]
pub struct Watched {
    /// The file as its route names it.
    path: PathBuf,
    /// Its name in its folder.
    name: OsString,
    /// The folder's canonical path.
    dir: PathBuf,
    /// The folder's watch (`None`: none could be made; every look `stat`s).
    folder: Option<Arc<Folder>>,
}

impl Watched {
    /// Watches `path` (as a route names it; its folder's links resolved, its own name kept).
    pub fn new(path: &Path) -> Watched {
        let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
        let name = abs.file_name().map(OsString::from).unwrap_or_default();
        let dir = abs
            .parent()
            .and_then(|d| std::fs::canonicalize(d).ok())
            .unwrap_or_default();
        let folder = (!name.is_empty() && !dir.as_os_str().is_empty())
            .then(|| Folder::of(&dir))
            .flatten();
        if let Some(f) = &folder {
            f.counts
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .names
                .entry(name.clone())
                .or_insert(0);
        }
        Watched {
            path: path.to_owned(),
            name,
            dir,
            folder,
        }
    }

    /// The mark now, to compare with the one a look was made under: take it before the look
    /// (`stat`), keep it with what the look found. `None`: the watch cannot vouch (look).
    pub fn mark(&self) -> Option<Mark> {
        let generation = self.folder.as_ref()?.count(&self.name)?;
        Some(Mark {
            generation,
            second: EPOCH.elapsed().as_secs(),
        })
    }

    /// The mark a look just made under `mark` may keep: `None` when the file is a symbolic
    /// link (what it leads to may change elsewhere) or the folder is no longer the one watched
    /// (a folder above it renamed and replaced; the watch then ends for every file in it).
    pub fn vouch(&self, mark: Option<Mark>) -> Option<Mark> {
        let mark = mark?;
        let folder = self.folder.as_ref()?;
        let link = std::fs::symlink_metadata(&self.path).is_ok_and(|m| m.file_type().is_symlink());
        let same = std::fs::metadata(&self.dir).is_ok_and(|m| (m.dev(), m.ino()) == folder.id);
        if !same {
            folder.broken.store(true, Ordering::Release);
        }
        (!link && same).then_some(mark)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("vigil-watch-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_change_to_the_file_moves_the_mark_and_others_in_the_folder_do_not() {
        let dir = scratch("mark");
        let lock = dir.join("tools.lock");
        std::fs::write(&lock, "{}").unwrap();
        let w = Watched::new(&lock);
        let m = w.mark();
        assert!(m.is_some());
        assert_eq!(w.vouch(m), m);
        // Another file of the folder (an audit log) moves nothing.
        std::fs::write(dir.join("audit.jsonl"), "x").unwrap();
        let again = w.mark();
        assert!(again == m || again.unwrap().second != m.unwrap().second);
        // A rename onto it, an in-place write, a removal: each moves it, at once.
        for change in 0..3 {
            let before = w.mark().unwrap();
            match change {
                0 => {
                    std::fs::write(dir.join("new"), "{\"a\":1}").unwrap();
                    std::fs::rename(dir.join("new"), &lock).unwrap();
                }
                1 => std::fs::write(&lock, "{\"a\":2}").unwrap(),
                _ => std::fs::remove_file(&lock).unwrap(),
            }
            assert_ne!(w.mark().unwrap().generation, before.generation, "{change}");
        }
    }

    #[test]
    fn a_link_or_a_folder_moved_away_cannot_be_vouched_for() {
        let dir = scratch("link");
        std::fs::create_dir_all(dir.join("other")).unwrap();
        std::fs::write(dir.join("other/real.lock"), "{}").unwrap();
        std::os::unix::fs::symlink("other/real.lock", dir.join("tools.lock")).unwrap();
        let w = Watched::new(&dir.join("tools.lock"));
        assert_eq!(w.vouch(w.mark()), None);

        let sub = dir.join("locks");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join("tools.lock"), "{}").unwrap();
        let w = Watched::new(&sub.join("tools.lock"));
        assert!(w.vouch(w.mark()).is_some());
        std::fs::rename(&sub, dir.join("locks.old")).unwrap();
        assert_eq!(w.mark(), None);
    }
}
