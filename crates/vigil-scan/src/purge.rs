//! Taking leaked secrets out of git history with git-filter-repo.
//!
//! [`Replacements`] are the literals to replace, from a history scan ([`Replacements::from_findings`])
//! or a JSON report written with `--show-secrets` ([`Replacements::from_report`], read as typed
//! data: a report that says its secrets are redacted, or does not say, is refused). The file they
//! are written to holds every leaked secret in clear, so it never goes where `git add` would pick
//! it up: the default is inside the repository's git folder (`.git/vigil/`), which no commit ever
//! holds; a path the user chooses must be outside any working tree or in a folder git ignores
//! ([`check_place`]). [`apply`] runs git-filter-repo on a mirror clone only, then re-scans its
//! whole history.

use crate::finding::Finding;
use crate::scan::{scan, History, ScanError, Target};
use crate::settings::ScanSettings;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use vigil_core::Secret;
use vigil_report::read::{self, ReadError, SecretState};

/// What replaces each secret in history.
pub const REPLACEMENT: &str = "***REMOVED***";

/// A purge that cannot go ahead; nothing was rewritten.
#[derive(Debug, thiserror::Error)]
pub enum PurgeError {
    /// The replacements file may not go there.
    #[error(transparent)]
    Place(#[from] PlaceError),
    /// A repository could not be opened.
    #[error(transparent)]
    Git(#[from] crate::git::GitError),
    /// The history scan failed.
    #[error(transparent)]
    Scan(#[from] ScanError),
    /// A file could not be read.
    #[error("{}: cannot read: {error}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// A report that is not a Vigil JSON report.
    #[error("{}: {error}", path.display())]
    Report {
        /// The report.
        path: PathBuf,
        /// Why.
        error: ReadError,
    },
    /// A report entry without a secret.
    #[error("{}: finding {index}: no secret", path.display())]
    NoSecret {
        /// The report.
        path: PathBuf,
        /// 0-based index of the entry.
        index: usize,
    },
    /// A report entry whose secret is masked.
    #[error("{}: finding {index}: the secret is redacted; write the report with --show-secrets, or let `vigil purge plan` scan the history itself", path.display())]
    Redacted {
        /// The report.
        path: PathBuf,
        /// 0-based index of the entry.
        index: usize,
    },
    /// A report entry that does not say whether its secret is masked (an older Vigil's).
    #[error("{}: finding {index}: the report does not say whether the secret is redacted (an older Vigil wrote it); write it again with --show-secrets, or let `vigil purge plan` scan the history itself", path.display())]
    RedactionUnknown {
        /// The report.
        path: PathBuf,
        /// 0-based index of the entry.
        index: usize,
    },
    /// The replacements file could not be written.
    #[error("{}: cannot write: {error}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// No replacements file was named and there is no repository to find the default in.
    #[error(
        "no --replacements given and no repository here to find `vigil purge plan`'s file in: {0}"
    )]
    NoDefault(crate::git::GitError),
    /// The replacements file is not there.
    #[error("{}: cannot read the replacements (run `vigil purge plan` first): {error}", path.display())]
    Replacements {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// The repository to rewrite is not a mirror clone.
    #[error("{}: not a mirror clone ({why}); make one with `git clone --mirror URL DIR`: vigil purge rewrites only a mirror, never a working repository or the shared origin", path.display())]
    NotMirror {
        /// The repository.
        path: PathBuf,
        /// What it is instead.
        why: &'static str,
    },
    /// git-filter-repo is not on the PATH.
    #[error("git-filter-repo is not installed (apt-get install git-filter-repo, or pip install git-filter-repo)")]
    FilterRepoMissing,
    /// git-filter-repo could not be started.
    #[error("running git filter-repo: {0}")]
    FilterRepoStart(std::io::Error),
    /// git-filter-repo failed.
    #[error("git filter-repo failed ({status}); {} is left as filter-repo left it", mirror.display())]
    FilterRepoFailed {
        /// Its exit status.
        status: std::process::ExitStatus,
        /// The mirror.
        mirror: PathBuf,
    },
}

/// The secrets to take out of history, and the commits that hold them.
#[derive(Debug, Default)]
pub struct Replacements {
    /// Distinct secrets, sorted.
    secrets: Vec<Secret<String>>,
    /// Commits that introduced them.
    commits: BTreeSet<String>,
}

impl Replacements {
    /// The secrets of a history scan's findings.
    pub fn from_findings(findings: &[Finding]) -> Self {
        let mut r = Replacements::default();
        for f in findings {
            r.add(f.secret.clone(), f.commit.clone());
        }
        r.finish()
    }

    /// The secrets of a JSON report written with `--show-secrets`. An entry whose secret the
    /// report masks, or does not say, is refused: a masked value would replace nothing.
    pub fn from_report(path: &Path) -> Result<Self, PurgeError> {
        let text = std::fs::read_to_string(path).map_err(|error| PurgeError::Read {
            path: path.to_owned(),
            error,
        })?;
        let entries = read::json(&text).map_err(|error| PurgeError::Report {
            path: path.to_owned(),
            error,
        })?;
        let mut r = Replacements::default();
        for (index, e) in entries.iter().enumerate() {
            let at = || path.to_owned();
            match e.secret_state() {
                SecretState::Clear(s) => r.add(s.clone(), e.commit.clone()),
                SecretState::Redacted => return Err(PurgeError::Redacted { path: at(), index }),
                SecretState::Unknown => {
                    return Err(PurgeError::RedactionUnknown { path: at(), index })
                }
                SecretState::Absent => return Err(PurgeError::NoSecret { path: at(), index }),
            }
        }
        Ok(r.finish())
    }

    fn add(&mut self, secret: Secret<String>, commit: Option<String>) {
        self.secrets.push(secret);
        self.commits.extend(commit);
    }

    fn finish(mut self) -> Self {
        // Exposed to sort and deduplicate in memory; nothing is printed.
        self.secrets
            .sort_by(|a, b| a.expose_secret().cmp(b.expose_secret()));
        self.secrets.dedup_by(|a, b| a.ct_eq(b));
        self
    }

    /// Distinct secrets.
    pub fn secret_count(&self) -> usize {
        self.secrets.len()
    }

    /// Commits that hold them.
    pub fn commit_count(&self) -> usize {
        self.commits.len()
    }

    /// Whether there is nothing to purge.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// git-filter-repo's `--replace-text` file: one `literal:SECRET==>***REMOVED***` line per
    /// secret (per long line of a multi-line one, since replace-text works line by line).
    pub fn render(&self) -> Secret<String> {
        let mut body = String::from("# git filter-repo --replace-text file written by `vigil purge plan`. It holds secrets: delete it after use.\n");
        for s in &self.secrets {
            // Exposed on purpose: the replacements file must hold the literal secret.
            for l in literals(s.expose_secret()) {
                body.push_str(&format!("literal:{l}==>{REPLACEMENT}\n"));
            }
        }
        Secret::new(body)
    }

    /// Writes the replacements file, `0600` from the first byte (new folders `0700`), and
    /// returns its canonical path. Call [`check_place`] first.
    pub fn write(&self, path: &Path) -> Result<PathBuf, PurgeError> {
        let err = |error| PurgeError::Write {
            path: path.to_owned(),
            error,
        };
        vigil_core::fsx::write_private(path, self.render().expose_secret().as_bytes())
            .map_err(err)?;
        std::fs::canonicalize(path).map_err(err)
    }
}

/// The literals to replace for one secret: the secret, or for a multi-line one (a PEM key) each
/// of its long lines.
fn literals(secret: &str) -> Vec<String> {
    if !secret.contains('\n') {
        return vec![secret.to_owned()];
    }
    secret
        .lines()
        .map(str::trim)
        .filter(|l| l.len() >= 16 && !l.starts_with("-----"))
        .map(str::to_owned)
        .collect()
}

/// The replacements file to use: the one given, or `vigil purge plan`'s default for the
/// repository at or above `repo`.
pub fn replacements_path(given: Option<&Path>, repo: &Path) -> Result<PathBuf, PurgeError> {
    match given {
        Some(p) => Ok(p.to_owned()),
        None => default_replacements(repo).map_err(PurgeError::NoDefault),
    }
}

/// What [`apply`] left behind.
#[derive(Debug)]
pub struct Applied {
    /// Findings the re-scan still sees (empty: the history is clean).
    pub left: Vec<Finding>,
    /// Commits re-scanned.
    pub commits: usize,
}

/// Rewrites the mirror clone at `mirror` with git-filter-repo and the replacements file, then
/// re-scans its whole history with `settings`' rules. Refuses anything but a bare repository.
pub fn apply(
    mirror: &Path,
    replacements: &Path,
    settings: &ScanSettings,
) -> Result<Applied, PurgeError> {
    let repo = crate::git::open(mirror)?;
    if let Some(why) = not_a_mirror(&repo) {
        return Err(PurgeError::NotMirror {
            path: mirror.to_owned(),
            why,
        });
    }
    let replacements =
        std::fs::canonicalize(replacements).map_err(|error| PurgeError::Replacements {
            path: replacements.to_owned(),
            error,
        })?;
    let probe = Command::new("git")
        .args(["filter-repo", "--version"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        return Err(PurgeError::FilterRepoMissing);
    }
    let status = Command::new("git")
        .arg("-C")
        .arg(mirror)
        .args(["filter-repo", "--replace-text"])
        .arg(&replacements)
        .arg("--force")
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(PurgeError::FilterRepoStart)?;
    if !status.success() {
        return Err(PurgeError::FilterRepoFailed {
            status,
            mirror: mirror.to_owned(),
        });
    }
    let outcome = scan(settings, Target::History(History::all(mirror)), &|_| {})?;
    let commits = match &outcome.read {
        crate::scan::Scanned::History(s) => s.commits,
        _ => 0,
    };
    Ok(Applied {
        left: outcome.findings,
        commits,
    })
}

/// Why `repo` is not a mirror clone made by `git clone --mirror`, if it is not: a mirror is bare,
/// has a remote `origin` with `mirror = true` and fetches `+refs/*:refs/*`. A plain `git clone
/// --bare` (no `mirror`) may be what others push to; a bare repository without `origin` looks
/// like the origin itself. Both are refused: a purge rewrites every ref in place.
pub fn not_a_mirror(repo: &gix::Repository) -> Option<&'static str> {
    if !repo.is_bare() {
        return Some("it has a working tree");
    }
    let config = repo.config_snapshot();
    if config.string("remote.origin.url").is_none() {
        return Some(
            "a bare repository without a remote `origin`: it looks like the origin itself",
        );
    }
    if config.boolean("remote.origin.mirror") != Some(true) {
        return Some("a bare clone without `remote.origin.mirror = true`, as `git clone --bare` makes: others may push to it");
    }
    let fetch = config.strings("remote.origin.fetch").unwrap_or_default();
    if !fetch.iter().any(|f| f.as_slice() == b"+refs/*:refs/*") {
        return Some("its remote `origin` does not fetch `+refs/*:refs/*`");
    }
    None
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::examples::{expand, Gen};
    use vigil_report::{render, Format, RenderOptions};

    /// Findings of two secrets (one multi-line), from templates.
    fn findings() -> Vec<Finding> {
        let text = [
            "«ghp_{alnum:30}{ghcrc}»",
            "«-----BEGIN OPENSSH PRIVATE KEY-----\n{pem}\n-----END OPENSSH PRIVATE KEY-----»",
        ]
        .iter()
        .map(|t| expand(t, &mut Gen::new(7)).unwrap().text)
        .collect::<Vec<_>>()
        .join("\n");
        let mut out = Vec::new();
        crate::Ruleset::builtin().scan_bytes("a.txt", None, text.as_bytes(), &mut out);
        assert_eq!(out.len(), 2, "{out:?}");
        for f in &mut out {
            f.commit = Some("c0ffee".into());
        }
        out
    }

    fn report(show_secrets: bool) -> String {
        let f = findings();
        let r = crate::report::build(&crate::Ruleset::builtin(), &f, Default::default(), "0");
        let mut out = Vec::new();
        let opts = RenderOptions {
            show_secrets,
            ..RenderOptions::default()
        };
        render(Format::Json, &r, &opts, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_report_in_clear_gives_the_same_replacements_as_the_findings() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("r.json");
        std::fs::write(&path, report(true)).unwrap();
        let from_report = Replacements::from_report(&path).unwrap();
        let from_findings = Replacements::from_findings(&findings());
        assert_eq!(from_report.secret_count(), 2);
        assert_eq!(from_report.commit_count(), 1);
        let (a, b) = (from_report.render(), from_findings.render());
        assert_eq!(a.expose_secret(), b.expose_secret());
        // One line per long line of the PEM key, never its armour.
        let body = a.expose_secret();
        assert!(body.contains("literal:ghp_"), "{body}");
        assert_eq!(body.matches("==>***REMOVED***").count(), 1 + 8);
        assert!(!body.contains("BEGIN"));
    }

    #[test]
    fn masked_unknown_and_missing_secrets_are_refused() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("r.json");
        std::fs::write(&path, report(false)).unwrap();
        assert!(matches!(
            Replacements::from_report(&path),
            Err(PurgeError::Redacted { index: 0, .. })
        ));
        let mut v: serde_json::Value = serde_json::from_str(&report(true)).unwrap();
        v[1].as_object_mut().unwrap().remove("redacted");
        std::fs::write(&path, v.to_string()).unwrap();
        assert!(matches!(
            Replacements::from_report(&path),
            Err(PurgeError::RedactionUnknown { index: 1, .. })
        ));
        std::fs::write(&path, r#"[{"rule": "x"}]"#).unwrap();
        assert!(matches!(
            Replacements::from_report(&path),
            Err(PurgeError::NoSecret { index: 0, .. })
        ));
        std::fs::write(&path, "{}").unwrap();
        let e = Replacements::from_report(&path).unwrap_err().to_string();
        assert!(
            e.ends_with("r.json: not a JSON report (an array of findings)"),
            "{e}"
        );
    }
}
