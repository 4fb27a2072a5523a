//! Where `vigil purge plan` may put its replacements file, which holds every leaked secret in
//! clear: never where `git add` would pick it up. The default is inside the repository's git
//! folder (`.git/vigil/`), which no commit ever holds; a path the user chooses must be outside any
//! working tree or in a folder git ignores.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The default replacements file of the repository at (or above) `repo`.
pub const DEFAULT_NAME: &str = "vigil/purge-replacements.txt";

/// Why a replacements file cannot go somewhere.
#[derive(Debug, thiserror::Error)]
pub enum PlaceError {
    /// Inside a working tree and not ignored: a `git add -A` would commit the secrets.
    #[error("{path}: inside the working tree of {worktree} and not git-ignored, so a `git add` would commit every secret in it; write it outside the working tree, or into a git-ignored folder (the default, without -o, is inside .git)")]
    Tracked {
        /// The file.
        path: String,
        /// The working tree.
        worktree: String,
    },
    /// `git check-ignore` could not say.
    #[error("{path}: cannot tell whether git ignores it ({message})")]
    Unknown {
        /// The file.
        path: String,
        /// What git said.
        message: String,
    },
    /// The repository could not be opened.
    #[error(transparent)]
    Git(#[from] crate::git::GitError),
}

/// The default replacements file for the repository at or above `repo`: inside its (common) git
/// folder, outside every working tree.
pub fn default_replacements(repo: &Path) -> Result<PathBuf, crate::git::GitError> {
    Ok(crate::git::open(repo)?.common_dir().join(DEFAULT_NAME))
}

/// Checks that `path` is a safe place for a file of secrets: not inside a working tree, or
/// inside one but in the git folder or a git-ignored folder (as `git check-ignore` says, which
/// knows every `.gitignore`, `info/exclude` and `core.excludesFile`).
pub fn check_place(path: &Path) -> Result<(), PlaceError> {
    let shown = path.display().to_string();
    let absolute = std::path::absolute(path).map_err(|e| PlaceError::Unknown {
        path: shown.clone(),
        message: e.to_string(),
    })?;
    // The nearest folder that exists: the file and its new folders may not exist yet.
    let anc = existing_ancestor(&absolute);
    let existing = std::fs::canonicalize(anc).map_err(|e| PlaceError::Unknown {
        path: shown.clone(),
        message: e.to_string(),
    })?;
    let Ok(repo) = gix::discover(&existing) else {
        return Ok(()); // not in any repository
    };
    let Some(worktree) = repo.workdir().and_then(|w| std::fs::canonicalize(w).ok()) else {
        return Ok(()); // a bare repository has no working tree
    };
    let rest = absolute.strip_prefix(anc).unwrap_or(Path::new(""));
    let real = existing.join(rest);
    let inside_git = [repo.git_dir(), repo.common_dir()]
        .iter()
        .filter_map(|d| std::fs::canonicalize(d).ok())
        .any(|d| real.starts_with(d));
    if inside_git || !real.starts_with(&worktree) {
        return Ok(());
    }
    let rel = real.strip_prefix(&worktree).unwrap_or(&real);
    let out = Command::new("git")
        .arg("-C")
        .arg(&worktree)
        .args(["check-ignore", "-q", "--"])
        .arg(rel)
        .output()
        .map_err(|e| PlaceError::Unknown {
            path: shown.clone(),
            message: format!("running git: {e}"),
        })?;
    match out.status.code() {
        Some(0) => Ok(()),
        Some(1) => Err(PlaceError::Tracked {
            path: shown,
            worktree: worktree.display().to_string(),
        }),
        _ => Err(PlaceError::Unknown {
            path: shown,
            message: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        }),
    }
}

/// The nearest ancestor of `p` (itself excluded) that exists.
fn existing_ancestor(p: &Path) -> &Path {
    p.ancestors()
        .skip(1)
        .find(|a| a.is_dir())
        .unwrap_or(Path::new("/"))
}
