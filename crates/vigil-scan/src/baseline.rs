//! Baselines and ignore files: findings already known are not reported again. A baseline is a
//! JSON report (Vigil's or gitleaks's); `.gitleaksignore` lists fingerprints, one per line.

use crate::finding::Finding;
use std::collections::HashSet;
use std::path::Path;

/// Known findings, by content hash and by fingerprint.
#[derive(Debug, Default)]
pub struct Known {
    hashes: HashSet<String>,
    fingerprints: HashSet<String>,
}

/// A baseline or ignore file that could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct BaselineError {
    /// The file.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl Known {
    /// Reads a baseline: a JSON array of findings with `hash` (Vigil) or `Fingerprint` (gitleaks).
    pub fn load_baseline(&mut self, path: &Path) -> Result<(), BaselineError> {
        let err = |m: String| BaselineError {
            path: path.display().to_string(),
            message: m,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| err(format!("line {}: not JSON: {e}", e.line())))?;
        let arr = v
            .as_array()
            .ok_or_else(|| err("expected a JSON array of findings".into()))?;
        for (i, f) in arr.iter().enumerate() {
            let hash = f.get("hash").and_then(|h| h.as_str());
            let fp = f
                .get("fingerprint")
                .or_else(|| f.get("Fingerprint"))
                .and_then(|h| h.as_str());
            if hash.is_none() && fp.is_none() {
                return Err(err(format!(
                    "finding [{i}] has neither `hash` nor `fingerprint`"
                )));
            }
            if let Some(h) = hash {
                self.hashes.insert(h.to_owned());
            }
            if let Some(fp) = fp {
                self.fingerprints.insert(fp.to_owned());
            }
        }
        Ok(())
    }

    /// Reads a `.gitleaksignore`: fingerprints (`file:rule:line`, or `commit:file:rule:line`),
    /// or content hashes; `#` comments and blank lines are skipped.
    pub fn load_ignore_file(&mut self, path: &Path) -> Result<(), BaselineError> {
        let text = std::fs::read_to_string(path).map_err(|e| BaselineError {
            path: path.display().to_string(),
            message: format!("cannot read: {e}"),
        })?;
        for line in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            if line.contains(':') {
                self.fingerprints.insert(line.to_owned());
            } else {
                self.hashes.insert(line.to_owned());
            }
        }
        Ok(())
    }

    /// Whether a finding is already known.
    pub fn contains(&self, f: &Finding) -> bool {
        self.hashes.contains(&f.hash) || self.fingerprints.contains(&f.fingerprint)
    }

    /// Whether nothing is known (so filtering can be skipped).
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty() && self.fingerprints.is_empty()
    }
}
