//! The file system under one directory handle: every path is resolved from the handle opened
//! once on the store's `files/` folder, never from a path string that was checked earlier.
//!
//! On Linux each lookup is one `openat2` with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
//! RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV`: the kernel refuses any `..` that climbs out, every
//! symbolic link (even one that stays inside) and every mount crossing, atomically with the open.
//! Where `openat2` is missing (old kernels, seccomp filters) the same rules hold one component at a
//! time: `openat(dir, name, O_NOFOLLOW | O_DIRECTORY)` from the handle, each folder checked to be
//! on the root's device. After opening, a file must be a regular file with one link on the
//! root's device.

use crate::error::MemoryError;
use crate::name::RelPath;
use rustix::fs::{self, AtFlags, FileType, Mode, OFlags, ResolveFlags, Stat};
use rustix::io::Errno;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// How paths are resolved under the root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolve {
    /// `openat2` with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | …` (Linux 5.6+), falling back to
    /// [`Resolve::Walk`] if the kernel refuses the call.
    Openat2,
    /// One component at a time with `O_NOFOLLOW`.
    Walk,
}

/// The directory handle on the root and its device.
#[derive(Debug)]
pub struct Root {
    dir: OwnedFd,
    dev: u64,
    openat2: AtomicBool,
}

const RESOLVE: ResolveFlags = ResolveFlags::BENEATH
    .union(ResolveFlags::NO_SYMLINKS)
    .union(ResolveFlags::NO_MAGICLINKS)
    .union(ResolveFlags::NO_XDEV);

/// A file opened under the root, checked to be regular, with one link, on the root's device.
#[derive(Debug)]
pub struct Opened {
    /// The open file.
    pub fd: OwnedFd,
    /// Its status.
    pub stat: Stat,
}

/// What a directory entry is, looked at without following it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (never followed).
    Symlink,
    /// A FIFO, socket or device.
    Other,
}

impl Kind {
    /// `file`, `dir`, `symlink`, `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Dir => "dir",
            Kind::Symlink => "symlink",
            Kind::Other => "other",
        }
    }

    fn of(st: &Stat) -> Kind {
        match FileType::from_raw_mode(st.st_mode) {
            FileType::RegularFile => Kind::File,
            FileType::Directory => Kind::Dir,
            FileType::Symlink => Kind::Symlink,
            _ => Kind::Other,
        }
    }
}

/// Maps a resolution error to the store's typed error.
pub fn resolve_error(e: Errno, path: &str) -> MemoryError {
    match e {
        Errno::LOOP => MemoryError::Symlink { path: path.into() },
        Errno::XDEV => MemoryError::OutsideRoot {
            path: path.into(),
            reason: "crosses a mount point or climbs out".into(),
        },
        Errno::NOENT | Errno::NOTDIR => MemoryError::NotFound { path: path.into() },
        // What `open` says of a UNIX socket (and of a device with no driver).
        Errno::NXIO => MemoryError::NotAFile {
            path: path.into(),
            kind: "a socket or device",
        },
        other => MemoryError::io(path, other.into()),
    }
}

fn stat_dev(st: &Stat) -> u64 {
    st.st_dev
}

impl Root {
    /// Opens the handle on `dir` (which must be a real directory, not a link to one).
    pub fn open(dir: &Path, mode: Resolve) -> std::io::Result<Root> {
        let fd = fs::open(
            dir,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let st = fs::fstat(&fd)?;
        Ok(Root {
            dir: fd,
            dev: stat_dev(&st),
            openat2: AtomicBool::new(mode == Resolve::Openat2),
        })
    }

    /// The device the root lives on.
    pub fn dev(&self) -> u64 {
        self.dev
    }

    /// Which resolution is in use now.
    pub fn mode(&self) -> Resolve {
        if self.openat2.load(Ordering::Relaxed) {
            Resolve::Openat2
        } else {
            Resolve::Walk
        }
    }

    /// Opens `rel` (relative, checked components) with `flags`, never following a link.
    fn open_rel(&self, rel: &RelPath, flags: OFlags) -> Result<OwnedFd, MemoryError> {
        let shown = rel.as_string();
        let path = if rel.is_root() {
            ".".to_owned()
        } else {
            shown.clone()
        };
        if self.openat2.load(Ordering::Relaxed) {
            for _ in 0..8 {
                match fs::openat2(&self.dir, path.as_str(), flags, Mode::empty(), RESOLVE) {
                    Ok(fd) => return Ok(fd),
                    // A rename raced the lookup: the kernel asks us to try again.
                    Err(Errno::AGAIN) | Err(Errno::INTR) => continue,
                    Err(Errno::NOSYS) | Err(Errno::PERM) | Err(Errno::INVAL) => {
                        self.openat2.store(false, Ordering::Relaxed);
                        break;
                    }
                    Err(Errno::NOTDIR) => return Err(self.classify(rel)),
                    Err(e) => return Err(resolve_error(e, &shown)),
                }
            }
        }
        self.walk(rel, flags)
    }

    /// The error for a lookup that met something other than a folder on the way (`ENOTDIR`; a
    /// link opened with `O_DIRECTORY | O_NOFOLLOW` reports that too): `symlink` when a link is in
    /// the way, else `not_found`. Only chooses the error; nothing is opened through what it finds.
    fn classify(&self, rel: &RelPath) -> MemoryError {
        let shown = rel.as_string();
        let dir_flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let Ok(mut cur) = fs::openat(&self.dir, ".", dir_flags, Mode::empty()) else {
            return MemoryError::NotFound { path: shown };
        };
        for comp in rel.parts() {
            match fs::statat(&cur, comp.as_str(), AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) if Kind::of(&st) == Kind::Symlink => {
                    return MemoryError::Symlink { path: shown }
                }
                Ok(st) if Kind::of(&st) == Kind::Dir => {}
                _ => return MemoryError::NotFound { path: shown },
            }
            match fs::openat(&cur, comp.as_str(), dir_flags, Mode::empty()) {
                Ok(fd) => cur = fd,
                Err(_) => return MemoryError::NotFound { path: shown },
            }
        }
        MemoryError::NotFound { path: shown }
    }

    /// The portable resolution: one component at a time from the handle, `O_NOFOLLOW` each,
    /// every folder on the root's device.
    fn walk(&self, rel: &RelPath, flags: OFlags) -> Result<OwnedFd, MemoryError> {
        let shown = rel.as_string();
        let dir_flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let mut cur = fs::openat(&self.dir, ".", dir_flags, Mode::empty())
            .map_err(|e| resolve_error(e, &shown))?;
        let n = rel.parts().len();
        for (i, comp) in rel.parts().iter().enumerate() {
            let last = i + 1 == n;
            let f = if last {
                flags | OFlags::NOFOLLOW
            } else {
                dir_flags
            };
            let next = fs::openat(&cur, comp.as_str(), f, Mode::empty()).map_err(|e| match e {
                Errno::NOTDIR | Errno::LOOP => self.classify(rel),
                e => resolve_error(e, &shown),
            })?;
            let st = fs::fstat(&next).map_err(|e| MemoryError::io(shown.clone(), e.into()))?;
            if stat_dev(&st) != self.dev {
                return Err(resolve_error(Errno::XDEV, &shown));
            }
            cur = next;
        }
        Ok(cur)
    }

    /// Opens the directory `rel` (the root when empty).
    pub fn dir(&self, rel: &RelPath) -> Result<OwnedFd, MemoryError> {
        self.open_rel(
            rel,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        )
    }

    /// Opens the directory `rel`, creating missing folders (mode 0700) one at a time; `check`
    /// runs before each folder is created, with the parent's handle and the new name.
    pub fn dir_create(
        &self,
        rel: &RelPath,
        check: &mut dyn FnMut(&OwnedFd, &RelPath, &str) -> Result<(), MemoryError>,
    ) -> Result<OwnedFd, MemoryError> {
        match self.dir(rel) {
            Ok(fd) => return Ok(fd),
            // Missing somewhere on the way: create what is missing, one folder at a time.
            Err(MemoryError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
        let shown = rel.as_string();
        let dir_flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let mut cur = self.dir(&RelPath::root())?;
        let mut here = RelPath::root();
        for comp in rel.parts() {
            let next = match fs::openat(&cur, comp.as_str(), dir_flags, Mode::empty()) {
                Ok(fd) => fd,
                Err(Errno::NOENT) => {
                    check(&cur, &here, comp)?;
                    match fs::mkdirat(&cur, comp.as_str(), Mode::from_raw_mode(0o700)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(resolve_error(e, &shown)),
                    }
                    fs::openat(&cur, comp.as_str(), dir_flags, Mode::empty())
                        .map_err(|e| resolve_error(e, &shown))?
                }
                Err(Errno::NOTDIR) | Err(Errno::LOOP) => return Err(self.classify(rel)),
                Err(e) => return Err(resolve_error(e, &shown)),
            };
            let st = fs::fstat(&next).map_err(|e| MemoryError::io(shown.clone(), e.into()))?;
            if stat_dev(&st) != self.dev {
                return Err(resolve_error(Errno::XDEV, &shown));
            }
            cur = next;
            here = here.join(comp);
        }
        Ok(cur)
    }

    /// Opens the file `rel` for reading and checks it: regular, one link, the root's device.
    pub fn open_file(&self, rel: &RelPath) -> Result<Opened, MemoryError> {
        let fd = self.open_rel(
            rel,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
        )?;
        self.check_file(fd, &rel.as_string())
    }

    /// Opens `name` in the already opened directory `dir` for reading, with the same checks.
    pub fn open_in(&self, dir: &OwnedFd, name: &str, shown: &str) -> Result<Opened, MemoryError> {
        let fd = fs::openat(
            dir,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| resolve_error(e, shown))?;
        self.check_file(fd, shown)
    }

    fn check_file(&self, fd: OwnedFd, shown: &str) -> Result<Opened, MemoryError> {
        let stat = fs::fstat(&fd).map_err(|e| MemoryError::io(shown, e.into()))?;
        check_stat(&stat, self.dev, shown)?;
        Ok(Opened { fd, stat })
    }

    /// What `name` in `dir` is, without following it; `None` when absent.
    pub fn entry(
        &self,
        dir: &OwnedFd,
        name: &str,
        shown: &str,
    ) -> Result<Option<Stat>, MemoryError> {
        match fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(st)),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(resolve_error(e, shown)),
        }
    }
}

/// Checks an opened file's status: a regular file with one link on `dev`.
pub fn check_stat(st: &Stat, dev: u64, shown: &str) -> Result<(), MemoryError> {
    match Kind::of(st) {
        Kind::File => {}
        Kind::Symlink => return Err(MemoryError::Symlink { path: shown.into() }),
        Kind::Dir => {
            return Err(MemoryError::NotAFile {
                path: shown.into(),
                kind: "a directory",
            })
        }
        Kind::Other => {
            return Err(MemoryError::NotAFile {
                path: shown.into(),
                kind: "a FIFO, socket or device",
            })
        }
    }
    if stat_dev(st) != dev {
        return Err(MemoryError::OutsideRoot {
            path: shown.into(),
            reason: "on another device".into(),
        });
    }
    if st.st_nlink != 1 {
        return Err(MemoryError::HardLink {
            path: shown.into(),
            links: st.st_nlink,
        });
    }
    Ok(())
}

/// The kind of a status.
pub fn kind(st: &Stat) -> Kind {
    Kind::of(st)
}

/// Reads up to `limit` bytes of an open file (the whole file when it is smaller).
pub fn read_all(fd: &OwnedFd, limit: u64, shown: &str) -> Result<Vec<u8>, MemoryError> {
    let mut buf = Vec::with_capacity(limit.min(1 << 20) as usize);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        match rustix::io::read(fd.as_fd(), &mut chunk) {
            Ok(0) => return Ok(buf),
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if buf.len() as u64 > limit {
                    return Ok(buf);
                }
            }
            Err(Errno::INTR) => continue,
            Err(e) => return Err(MemoryError::io(shown, e.into())),
        }
    }
}

/// Writes all of `bytes` to `fd`.
pub fn write_all(fd: &OwnedFd, mut bytes: &[u8], shown: &str) -> Result<(), MemoryError> {
    while !bytes.is_empty() {
        match rustix::io::write(fd.as_fd(), bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(Errno::INTR) => continue,
            Err(e) => return Err(MemoryError::io(shown, e.into())),
        }
    }
    Ok(())
}

/// The names in an open directory (lossy UTF-8), `.` and `..` left out, unsorted.
pub fn names(dir: &OwnedFd, shown: &str) -> Result<Vec<String>, MemoryError> {
    let mut d = fs::Dir::read_from(dir).map_err(|e| MemoryError::io(shown, e.into()))?;
    let mut out = Vec::new();
    while let Some(entry) = d.read() {
        let entry = entry.map_err(|e| MemoryError::io(shown, e.into()))?;
        let name = entry.file_name().to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        // A name that is not UTF-8 (made outside the store) still counts against the caps; no
        // tool can ask for it by name.
        out.push(String::from_utf8_lossy(name).into_owned());
    }
    Ok(out)
}
