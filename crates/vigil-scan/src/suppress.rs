//! Findings the user already knows about, dropped before reporting: `.gitleaksignore` files
//! (beside the scanned directories and in the working directory) and the baseline the settings
//! name. [`Suppressions::discover`] finds and reads them once; [`Suppressions::apply`] filters.
//!
//! In a scan of paths, an ignore file applies only to findings under its own folder, and an
//! entry matches a finding's path as shown (`a/.env`) or relative to that folder (`.env`, what
//! gitleaks writes when run there), so `vigil scan b a` never lets `a/.gitleaksignore` silence
//! `b/.env`. A baseline matches the path as shown or relative to the source root (the git work
//! tree, else the working directory), the path [`Suppressions::baseline_findings`] records.

use crate::baseline::{Baseline, BaselineError, BaselineWarning, Known};
use crate::finding::Finding;
use crate::settings::{in_dir, ScanSettings};
use std::path::{Path, PathBuf};
use vigil_report::srcroot;

/// The ignore files and baseline of a scan.
#[derive(Debug, Default)]
pub struct Suppressions {
    /// The `.gitleaksignore` files read, canonical.
    pub ignore_files: Vec<PathBuf>,
    /// Per ignore file: the folders it was found in (as named, for [`Named::Paths`]) and what
    /// it lists.
    known: Vec<(Vec<PathBuf>, Known)>,
    baseline: Option<Baseline>,
    /// What to tell the user about them (an old baseline format).
    pub warnings: Vec<BaselineWarning>,
}

/// How the findings given to [`Suppressions::apply`] name their files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Named {
    /// As the user named the paths scanned (relative to the working directory, or absolute):
    /// each ignore file applies under its own folder.
    Paths,
    /// Relative to a repository's work tree (history, the index): every ignore file applies.
    Repository,
}

/// How many findings each kind of suppression dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Suppressed {
    /// By a `.gitleaksignore` fingerprint or hash.
    pub ignored: usize,
    /// By the baseline.
    pub baselined: usize,
}

impl Suppressions {
    /// Reads the `.gitleaksignore` files beside the scanned directories and in the settings'
    /// working directory, and the baseline the settings name (none when recording one).
    pub fn discover(settings: &ScanSettings) -> Result<Self, BaselineError> {
        Self::discover_except(settings, &[])
    }

    /// The `.gitleaksignore` files and the baseline [`Suppressions::discover`] would read.
    pub fn files(settings: &ScanSettings) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = Vec::new();
        for (_, canon) in Self::ignore_files_in(settings) {
            if !files.contains(&canon) {
                files.push(canon);
            }
        }
        files.extend(settings.baseline.iter().cloned());
        files
    }

    /// Each folder an ignore file is looked for in (the scanned directories and the settings'
    /// working directory) that holds one, with the file, canonical.
    fn ignore_files_in(settings: &ScanSettings) -> Vec<(PathBuf, PathBuf)> {
        let dirs = settings
            .roots
            .iter()
            .filter(|p| p.is_dir())
            .cloned()
            .chain([settings.cwd.clone()]);
        dirs.filter_map(|d| {
            let f = in_dir(&d, ".gitleaksignore");
            f.is_file()
                .then(|| (d, f.canonicalize().unwrap_or_else(|_| f.clone())))
        })
        .collect()
    }

    /// [`Suppressions::discover`] without the files in `skip` (those the scanned changes
    /// modify, as [`Suppressions::files`] named them).
    pub fn discover_except(
        settings: &ScanSettings,
        skip: &[PathBuf],
    ) -> Result<Self, BaselineError> {
        let mut s = Suppressions::default();
        let folders = Self::ignore_files_in(settings);
        for f in Self::files(settings) {
            if skip.contains(&f) {
                continue;
            }
            if settings.baseline.as_ref() == Some(&f) {
                let (base, warnings) = Baseline::load(&f)?;
                s.baseline = Some(base);
                s.warnings = warnings;
            } else {
                let mut known = Known::default();
                known.load_ignore_file(&f)?;
                let dirs = folders
                    .iter()
                    .filter(|(_, c)| *c == f)
                    .map(|(d, _)| d.clone())
                    .collect();
                s.known.push((dirs, known));
                s.ignore_files.push(f);
            }
        }
        Ok(s)
    }

    /// Drops the findings an ignore file lists, then those the baseline holds. `named` says how
    /// the findings name their files: for [`Named::Paths`], an ignore file applies only under
    /// its own folder (paths are resolved from the process's working directory).
    pub fn apply(&self, findings: &mut Vec<Finding>, named: Named) -> Suppressed {
        let places = match named {
            Named::Paths => Some(Places::here()),
            Named::Repository => None,
        };
        let before = findings.len();
        if !self.known.is_empty() {
            findings.retain(|f| !self.ignores(f, places.as_ref()));
        }
        let ignored = before - findings.len();
        let before = findings.len();
        if let Some(b) = &self.baseline {
            findings.retain(|f| {
                !(b.contains(f)
                    || places
                        .as_ref()
                        .and_then(|p| p.in_source_root(f))
                        .is_some_and(|file| b.contains_as(f, &file)))
            });
        }
        Suppressed {
            ignored,
            baselined: before - findings.len(),
        }
    }

    /// Whether an ignore file lists `f`: any of them for findings in a repository; for paths,
    /// one whose folder holds the file, by the path as shown or relative to that folder.
    fn ignores(&self, f: &Finding, places: Option<&Places>) -> bool {
        let Some(places) = places else {
            return self.known.iter().any(|(_, k)| k.contains(f));
        };
        let outer = f.outer_file();
        // Asked of the file system once per finding, not once per ignore file and folder.
        if !places.dot_dot_as_written(outer) {
            return false;
        }
        let members = &f.file[outer.len()..];
        self.known.iter().any(|(dirs, k)| {
            dirs.iter().any(|d| match places.below(outer, d) {
                None => false,
                Some(rel) => k.contains(f) || k.contains_as(f, &format!("{rel}{members}")),
            })
        })
    }

    /// The findings as a baseline records them: for [`Named::Paths`], each file relative to
    /// the source root (the git work tree, else the working directory) when it is inside it, so
    /// a baseline written anywhere in a repository applies from any folder of it.
    pub fn baseline_findings(findings: &[Finding], named: Named) -> Vec<Finding> {
        let places = (named == Named::Paths).then(Places::here);
        findings
            .iter()
            .map(|f| {
                let mut f = f.clone();
                if let Some(file) = places.as_ref().and_then(|p| p.in_source_root(&f)) {
                    f.file = file;
                }
                f
            })
            .collect()
    }
}

/// Where paths as shown are: the process's working directory (absolute, named as path text
/// names it) and the source root.
struct Places {
    cwd: PathBuf,
    root: PathBuf,
}

impl Places {
    fn here() -> Self {
        let cwd = std::env::current_dir()
            .and_then(std::fs::canonicalize)
            .unwrap_or_default();
        let root = srcroot::source_root(&cwd);
        let text = |p: &Path| PathBuf::from(crate::source::display_path(p));
        Places {
            cwd: text(&cwd),
            root: text(&root),
        }
    }

    /// `path` (as shown) relative to `folder` (as named from the working directory), if it is
    /// inside it; resolved lexically, as the user wrote both (the caller checks that its `..`
    /// lead there: [`Places::dot_dot_as_written`]).
    fn below(&self, path: &str, folder: &Path) -> Option<String> {
        let folder = srcroot::normalize(
            &self
                .cwd
                .join(PathBuf::from(crate::source::display_path(folder))),
        );
        let rel = srcroot::relative_to_root(path, &self.cwd, &folder);
        (!rel.starts_with("file://")).then_some(rel)
    }

    /// The file of `f` relative to the source root, archive members kept (`None` for stdin or
    /// a file outside the root).
    fn in_source_root(&self, f: &Finding) -> Option<String> {
        let outer = f.outer_file();
        if outer == "-" {
            return None;
        }
        if !self.dot_dot_as_written(outer) {
            return None;
        }
        let rel = srcroot::relative_to_root(outer, &self.cwd, &self.root);
        (!rel.starts_with("file://")).then(|| format!("{rel}{}", &f.file[outer.len()..]))
    }

    /// Whether `path` (as shown) names the file its text names with `..` resolved: a `..` after
    /// a symbolic link leads elsewhere (`lnk/../b` is `a/b` when `lnk` is `a/sub`), and an
    /// entry for `b/…` must not hide that file (tester 127: a baseline and an ignore file did).
    fn dot_dot_as_written(&self, path: &str) -> bool {
        if !path.split('/').any(|c| c == "..") {
            return true;
        }
        let full = self.cwd.join(path);
        match (
            std::fs::canonicalize(&full),
            std::fs::canonicalize(srcroot::normalize(&full)),
        ) {
            (Ok(real), Ok(text)) => real == text,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{ConfigSource, ScanFlags};
    use crate::source::display_path;
    use crate::{scan, Target};

    #[test]
    fn ignore_files_then_the_baseline_drop_known_findings() {
        let d = tempfile::TempDir::new().unwrap();
        let r = d.path();
        let key = |seed| {
            crate::examples::expand("«sk-or-v1-{hex:64}»", &mut crate::examples::Gen::new(seed))
                .unwrap()
                .text
        };
        let (a, b, c) = (key(1), key(2), key(3));
        std::fs::write(r.join("a.txt"), format!("k: {a}\n")).unwrap();
        std::fs::write(r.join("b.txt"), format!("k: {b}\n")).unwrap();
        std::fs::write(
            r.join(".gitleaksignore"),
            "# known\na.txt:openrouter-api-key:1\n",
        )
        .unwrap();
        let src = ConfigSource {
            explicit: None,
            sections: &["scan"],
        };
        let resolve =
            |flags: &ScanFlags| ScanSettings::resolve(src, r, &[r.to_owned()], flags).unwrap();
        // Record b.txt's finding as the baseline.
        let write = ScanFlags {
            baseline_write: Some(r.join("base.json")),
            ..ScanFlags::default()
        };
        let s = resolve(&write);
        let mut found = scan(&s, Target::Paths, &|_| {}).unwrap().findings;
        let sup = Suppressions::discover(&s).unwrap();
        assert_eq!(
            sup.ignore_files.len(),
            1,
            "beside the root and in cwd: read once"
        );
        assert_eq!(
            sup.apply(&mut found, Named::Paths),
            Suppressed {
                ignored: 1,
                baselined: 0
            }
        );
        Baseline::write(&r.join("base.json"), &found).unwrap();
        // A new secret in c.txt: the only one left.
        std::fs::write(r.join("c.txt"), format!("k: {c}\n")).unwrap();
        let use_it = ScanFlags {
            baseline: Some(r.join("base.json")),
            ..ScanFlags::default()
        };
        let s = resolve(&use_it);
        let mut found = scan(&s, Target::Paths, &|_| {}).unwrap().findings;
        let sup = Suppressions::discover(&s).unwrap();
        assert_eq!(
            sup.apply(&mut found, Named::Paths),
            Suppressed {
                ignored: 1,
                baselined: 1
            }
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].file, display_path(&r.join("c.txt")));
    }
}
