//! File writes that never leave a half-written file: temp file in the same directory, fsync,
//! rename over the target, fsync the directory. Every temp file is created `0600` with `O_EXCL`,
//! so no byte is ever readable by others on the way.
//!
//! - [`atomic_write`] (public files: reports without secrets, configuration files Vigil edits)
//!   gives the file the mode and owner the target had (or `0644` for a new file); a symlink's
//!   target is replaced, never the link; a device or FIFO (`/dev/stdout`) is written in place.
//! - [`write_private`], the one writer of copies of secrets (backups, reports with secrets in
//!   clear, purge replacements), keeps `0600` and never follows a link: a symbolic link at the
//!   target is refused (in a shared folder a planted link would send the secrets wherever it
//!   points, past any check made on the name), and so is anything but a regular file, a
//!   character device or a FIFO (`/dev/stdout`, `/dev/null`, a pipe the user named: written in
//!   place). Missing folders are created `0700`; a folder that exists keeps its mode.
//!
//! [`check_private_dir`] says whether a folder may hold Vigil's own state (locks, journals,
//! backups): a real folder (not a link), owned by this user, writable by no one else.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Who may read the file once it is in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Access {
    /// `0600`, whatever the target had: copies of secrets, reports with secrets in clear.
    Private,
    /// The target's own mode and owner; `0644` for a new file.
    Keep,
}

/// Writes `bytes` to `path` atomically, keeping the mode and owner of the file it replaces (a
/// new file gets `0644`). On any error the target is untouched.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write(path, bytes, Access::Keep)
}

/// Writes `bytes` to `path` atomically as a private file: mode `0600` from the first byte (the
/// temp file is created with that mode, never chmodded afterwards), whatever mode the target had.
/// Missing parent folders are created `0700`. For every file that may hold a secret in clear.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::FileTypeExt as _;
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "is a symbolic link; a file holding secrets is never written through a link (remove the link or choose another path)",
            ))
        }
        Ok(m) if m.is_file() || m.file_type().is_char_device() || m.file_type().is_fifo() => {}
        Ok(_) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "is not a regular file, a character device or a FIFO; refused",
            ))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_private_dir_all(parent)?;
    }
    write(path, bytes, Access::Private)
}

/// Why a folder cannot hold Vigil's private state, if it cannot: it is a symbolic link, not a
/// folder, owned by another user, or writable by its group or by others. `Ok(None)` when it
/// does not exist.
pub fn check_private_dir(dir: &Path) -> std::io::Result<Option<&'static str>> {
    let m = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(private_problem(&m, true))
}

/// Why a file cannot be trusted as Vigil's own private state (a journal): a link, not a
/// regular file, another user's, or writable by others.
pub fn check_private_file(path: &Path) -> std::io::Result<Option<&'static str>> {
    let m = std::fs::symlink_metadata(path)?;
    Ok(private_problem(&m, false))
}

fn private_problem(m: &std::fs::Metadata, dir: bool) -> Option<&'static str> {
    if m.file_type().is_symlink() {
        return Some("is a symbolic link");
    }
    if dir && !m.is_dir() {
        return Some("is not a folder");
    }
    if !dir && !m.is_file() {
        return Some("is not a regular file");
    }
    if m.uid() != rustix::process::geteuid().as_raw() {
        return Some("belongs to another user");
    }
    if m.mode() & 0o022 != 0 {
        return Some("is writable by others (group or world)");
    }
    None
}

/// Creates `dir` and its missing parents with mode `0700` (folders that already exist keep theirs).
pub fn create_private_dir_all(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// The file `path` leads to, whether it exists or not: canonical when it exists, else absolute
/// with its links followed (a link to a file not made yet names that file) and its folder's
/// links and `..` resolved. Two spellings of one file give one path.
pub fn resolved(path: &Path) -> PathBuf {
    if let Ok(real) = std::fs::canonicalize(path) {
        return real;
    }
    let mut abs = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    for _ in 0..40 {
        let Ok(target) = std::fs::read_link(&abs) else {
            break;
        };
        abs = match abs.parent() {
            Some(dir) => dir.join(target),
            None => target,
        };
    }
    match (abs.parent(), abs.file_name()) {
        (Some(dir), Some(name)) => std::fs::canonicalize(dir)
            .map(|d| d.join(name))
            .unwrap_or(abs),
        _ => abs,
    }
}

fn write(path: &Path, bytes: &[u8], access: Access) -> std::io::Result<()> {
    match std::fs::metadata(path) {
        // A device or a pipe: renaming over it would replace it with a plain file.
        Ok(m) if !m.is_file() && !m.is_dir() => {
            let mut f = OpenOptions::new().write(true).open(path)?;
            return f.write_all(bytes);
        }
        _ => {}
    }
    let real: PathBuf = match std::fs::symlink_metadata(path) {
        // A link is written through, also to a file it names that is not made yet.
        Ok(m) if m.file_type().is_symlink() => resolved(path),
        _ => path.to_owned(),
    };
    let dir = match real.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = real
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let previous = std::fs::metadata(&real).ok();
    let (tmp, mut f) = create_temp(&dir, &name)?;
    let result = (|| {
        f.write_all(bytes)?;
        if access == Access::Keep {
            match &previous {
                Some(m) => {
                    if m.uid() != f.metadata()?.uid() || m.gid() != f.metadata()?.gid() {
                        std::os::unix::fs::fchown(&f, Some(m.uid()), Some(m.gid()))?;
                    }
                    f.set_permissions(std::fs::Permissions::from_mode(m.mode() & 0o7777))?;
                }
                None => f.set_permissions(std::fs::Permissions::from_mode(0o644))?,
            }
        }
        f.sync_all()?;
        std::fs::rename(&tmp, &real)?;
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A new `0600` temp file beside the target, created with `O_EXCL` (a name already taken, by a
/// stale temp file or a planted link, is never opened).
fn create_temp(dir: &Path, name: &str) -> std::io::Result<(PathBuf, File)> {
    let pid = std::process::id();
    let mut last = None;
    for attempt in 0..16u32 {
        let tmp = dir.join(format!(".{name}.vigil-tmp-{pid}-{attempt}"));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
        {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no temp file name left")))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::FileTypeExt;

    fn scratch(tag: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("vigil-fsx-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_link_to_a_file_not_made_yet_is_written_through() {
        let dir = scratch("dangling");
        std::os::unix::fs::symlink("real.lock", dir.join("link.lock")).unwrap();
        assert_eq!(
            super::resolved(&dir.join("link.lock")),
            dir.canonicalize().unwrap().join("real.lock")
        );
        super::atomic_write(&dir.join("link.lock"), b"one").unwrap();
        assert_eq!(std::fs::read(dir.join("real.lock")).unwrap(), b"one");
        assert!(std::fs::symlink_metadata(dir.join("link.lock"))
            .unwrap()
            .file_type()
            .is_symlink());
    }

    #[test]
    fn writes_and_replaces() {
        let dir = scratch("plain");
        let p = dir.join("out.json");
        super::atomic_write(&p, b"one").unwrap();
        super::atomic_write(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let leftovers = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(leftovers, 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_fifo_is_written_through_not_replaced() {
        let dir = scratch("fifo");
        let p = dir.join("pipe");
        assert!(std::process::Command::new("mkfifo")
            .arg(&p)
            .status()
            .unwrap()
            .success());
        let reader = {
            let p = p.clone();
            std::thread::spawn(move || std::fs::read(p).unwrap())
        };
        super::atomic_write(&p, b"report").unwrap();
        // Checked before joining: had the pipe been replaced, the reader would wait forever.
        assert!(std::fs::symlink_metadata(&p).unwrap().file_type().is_fifo());
        assert_eq!(reader.join().unwrap(), b"report");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_symlink_keeps_pointing_at_the_replaced_file() {
        let dir = scratch("link");
        let real = dir.join("real.json");
        let link = dir.join("link.json");
        std::fs::write(&real, b"old").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        super::atomic_write(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn private_files_are_0600_and_their_new_folders_0700() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("private");
        let p = dir.join("backup/deep/.env");
        super::write_private(&p, b"TOKEN=x").unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&p), 0o600);
        assert_eq!(mode(&dir.join("backup")), 0o700);
        assert_eq!(mode(&dir.join("backup/deep")), 0o700);
        // A world-readable file replaced privately becomes private.
        let q = dir.join("report.json");
        std::fs::write(&q, b"old").unwrap();
        std::fs::set_permissions(&q, std::fs::Permissions::from_mode(0o644)).unwrap();
        super::write_private(&q, b"new").unwrap();
        assert_eq!(mode(&q), 0o600);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_replaced_file_keeps_its_mode_and_a_new_one_is_0644() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("mode");
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let env = dir.join(".env");
        std::fs::write(&env, b"A=1").unwrap();
        std::fs::set_permissions(&env, std::fs::Permissions::from_mode(0o640)).unwrap();
        super::atomic_write(&env, b"A=2").unwrap();
        assert_eq!(mode(&env), 0o640);
        let fresh = dir.join("new.txt");
        super::atomic_write(&fresh, b"x").unwrap();
        assert_eq!(mode(&fresh), 0o644);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn private_writes_refuse_links_and_odd_files_and_private_dirs_are_checked() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("nolink");
        let victim = dir.join("victim");
        std::fs::write(&victim, b"mine").unwrap();
        let link = dir.join("link");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let e = super::write_private(&link, b"secrets").unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(std::fs::read(&victim).unwrap(), b"mine");
        assert!(super::write_private(&dir, b"x").is_err(), "a folder");
        super::write_private(std::path::Path::new("/dev/null"), b"x").unwrap();
        assert_eq!(super::check_private_dir(&dir.join("none")).unwrap(), None);
        let state = dir.join("state");
        super::create_private_dir_all(&state).unwrap();
        assert_eq!(super::check_private_dir(&state).unwrap(), None);
        std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(super::check_private_dir(&state)
            .unwrap()
            .unwrap()
            .contains("writable"));
        std::os::unix::fs::symlink(&state, dir.join("state-link")).unwrap();
        assert!(super::check_private_dir(&dir.join("state-link"))
            .unwrap()
            .unwrap()
            .contains("link"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_stale_temp_file_is_never_reused() {
        let dir = scratch("stale");
        let p = dir.join("out");
        let stale = dir.join(format!(".out.vigil-tmp-{}-0", std::process::id()));
        std::fs::write(&stale, b"someone else's").unwrap();
        super::write_private(&p, b"mine").unwrap();
        assert_eq!(std::fs::read(&stale).unwrap(), b"someone else's");
        assert_eq!(std::fs::read(&p).unwrap(), b"mine");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
