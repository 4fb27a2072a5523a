//! Findings the user already knows about, dropped before reporting: `.gitleaksignore` files
//! (beside the scanned directories and in the working directory) and the baseline the settings
//! name. [`Suppressions::discover`] finds and reads them once; [`Suppressions::apply`] filters.

use crate::baseline::{Baseline, BaselineError, BaselineWarning, Known};
use crate::finding::Finding;
use crate::settings::{in_dir, ScanSettings};
use std::path::PathBuf;

/// The ignore files and baseline of a scan.
#[derive(Debug, Default)]
pub struct Suppressions {
    /// The `.gitleaksignore` files read, canonical.
    pub ignore_files: Vec<PathBuf>,
    known: Known,
    baseline: Option<Baseline>,
    /// What to tell the user about them (an old baseline format).
    pub warnings: Vec<BaselineWarning>,
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
        let dirs = settings
            .roots
            .iter()
            .filter(|p| p.is_dir())
            .cloned()
            .chain([settings.cwd.clone()]);
        for d in dirs {
            let f = in_dir(&d, ".gitleaksignore");
            if f.is_file() {
                let canon = f.canonicalize().unwrap_or(f);
                if !files.contains(&canon) {
                    files.push(canon);
                }
            }
        }
        files.extend(settings.baseline.iter().cloned());
        files
    }

    /// [`Suppressions::discover`] without the files in `skip` (those the scanned changes
    /// modify, as [`Suppressions::files`] named them).
    pub fn discover_except(
        settings: &ScanSettings,
        skip: &[PathBuf],
    ) -> Result<Self, BaselineError> {
        let mut s = Suppressions::default();
        for f in Self::files(settings) {
            if skip.contains(&f) {
                continue;
            }
            if settings.baseline.as_ref() == Some(&f) {
                let (base, warnings) = Baseline::load(&f)?;
                s.baseline = Some(base);
                s.warnings = warnings;
            } else {
                s.known.load_ignore_file(&f)?;
                s.ignore_files.push(f);
            }
        }
        Ok(s)
    }

    /// Drops the findings an ignore file lists, then those the baseline holds.
    pub fn apply(&self, findings: &mut Vec<Finding>) -> Suppressed {
        let before = findings.len();
        if !self.known.is_empty() {
            findings.retain(|f| !self.known.contains(f));
        }
        let ignored = before - findings.len();
        let before = findings.len();
        if let Some(b) = &self.baseline {
            findings.retain(|f| !b.contains(f));
        }
        Suppressed {
            ignored,
            baselined: before - findings.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{ConfigSource, ScanFlags};
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
            sup.apply(&mut found),
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
            sup.apply(&mut found),
            Suppressed {
                ignored: 1,
                baselined: 1
            }
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].file, "c.txt");
    }
}
