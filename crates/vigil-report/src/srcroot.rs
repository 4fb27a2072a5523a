//! Paths as SARIF's `%SRCROOT%` wants them: relative to the root of the source tree (the git
//! work tree holding the current folder, else the current folder), never `../`. A file outside
//! that root gets an absolute `file://` URI, which SARIF readers take as it is.

use crate::Report;
use std::path::{Component, Path, PathBuf};

/// The root `%SRCROOT%` stands for when the check ran in `cwd`: the nearest folder at or above
/// `cwd` holding `.git` (a folder, or a file in a linked worktree or submodule), else `cwd`.
pub fn source_root(cwd: &Path) -> PathBuf {
    let cwd = std::fs::canonicalize(cwd).unwrap_or_else(|_| cwd.to_owned());
    cwd.ancestors()
        .find(|d| std::fs::symlink_metadata(d.join(".git")).is_ok())
        .map_or_else(|| cwd.clone(), Path::to_owned)
}

/// `path` (as a report shows it, relative to `cwd` or absolute) relative to `root` with `/`
/// separators, or, when it is outside `root`, an absolute `file://` URI (percent-encoded).
/// Both `cwd` and `root` should be canonical (see [`source_root`]); `path` is resolved
/// lexically, as the user wrote it.
pub fn relative_to_root(path: &str, cwd: &Path, root: &Path) -> String {
    let joined = normalize(&cwd.join(path));
    match joined.strip_prefix(root) {
        Ok(rel) if rel.as_os_str().is_empty() => ".".to_owned(),
        Ok(rel) => rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"),
        Err(_) => file_uri(&joined),
    }
}

/// Every file path of `report` made [`relative_to_root`] (diagnostics with a scope, such as
/// a probed URL, and paths that already are URIs are left alone).
pub fn rebase(report: &mut Report, cwd: &Path, root: &Path) {
    for d in &mut report.diagnostics {
        if let Some(p) = &mut d.location.path {
            if p.contains("://") || p == "-" {
                continue;
            }
            *p = relative_to_root(p, cwd, root);
        }
    }
}

/// `.` and `..` resolved without touching the filesystem (a path as the user wrote it).
pub fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// An absolute path as a `file://` URI.
fn file_uri(p: &Path) -> String {
    let mut o = String::from("file://");
    for b in p.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b) {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_from_a_subfolder_are_relative_to_the_root() {
        let root = Path::new("/r");
        let cwd = Path::new("/r/a/b");
        assert_eq!(
            relative_to_root("../../f1/.mcp.json", cwd, root),
            "f1/.mcp.json"
        );
        assert_eq!(relative_to_root("x/./y.json", cwd, root), "a/b/x/y.json");
        assert_eq!(relative_to_root("/r/c.json", cwd, root), "c.json");
        assert_eq!(
            relative_to_root("../../../o t.json", cwd, root),
            "file:///o%20t.json"
        );
    }
}
