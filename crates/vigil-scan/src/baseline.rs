//! Baselines and ignore files: findings already known are not reported again.
//!
//! A baseline matches the secret's own content, never its place: each entry is a salted hash of
//! rule, file and secret, so a moved line stays known and a different secret on a baselined line
//! is new. The baseline is committed, so its hash is made deliberately slow: Argon2id
//! ([`KDF`]: 8 MiB of memory, about 10 ms of one core per guess) keyed with a random salt per
//! baseline, so a guess of a weak secret costs an attacker that much work for each
//! baseline and each entry; it is computed only for findings whose rule and file some entry
//! names, so scans stay fast. Older files are read too, with a warning to rewrite them: format
//! 2 (fast salted SHA-256), Vigil's first format (a JSON report; its unsalted `hash` is used,
//! never the fingerprint) and gitleaks's JSON report (matched by its `Secret`; a report written
//! with `--redact` cannot be matched by content and is refused).
//!
//! A report's `hash` ([`report_hash`]) identifies a finding across moved lines (SARIF's
//! `vigil/v2` fingerprint, `.gitleaksignore` content lines); it must be the same on every machine,
//! so it cannot be keyed with a secret, and it is made slow instead (Argon2id, 4 MiB, 1 pass):
//! confirming a guess from a report costs milliseconds, not nanoseconds.
//!
//! `.gitleaksignore` keeps gitleaks's meaning: a fingerprint (`file:rule:line`, with `commit:`
//! first for history) ignores whatever that rule finds on that line; a line without `:` is a
//! content hash from a report.

use crate::finding::{content_hash, Finding};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// The baseline format this version writes.
pub const FORMAT: u32 = 3;

/// The key derivation of format 3 entries, as written in the file: Argon2id (version 0x13) with
/// 8 MiB of memory, 1 pass, 1 lane: about 10 ms of one core per hash on this project's machine
/// (BENCHMARKS.md), against microseconds for a SHA-256.
pub const KDF: &str = "argon2id m=8192 t=1 p=1";

/// Argon2id parameters (memory in KiB, passes, lanes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cost {
    m: u32,
    t: u32,
    p: u32,
}

/// What a report's `hash` costs (fixed: it must be the same everywhere).
const REPORT_COST: Cost = Cost {
    m: 4096,
    t: 1,
    p: 1,
};
/// The public salt of reports' hashes.
const REPORT_SALT: &[u8] = b"vigil-report-hash-v2";

impl Cost {
    /// Reads `argon2id m=… t=… p=…`, refusing costs a baseline has no business asking for
    /// (a committed file must not make every scan spend gigabytes or minutes).
    fn parse(text: &str) -> Option<Cost> {
        let rest = text.strip_prefix("argon2id ")?;
        let mut c = Cost { m: 0, t: 0, p: 0 };
        for part in rest.split_whitespace() {
            let (k, v) = part.split_once('=')?;
            let v: u32 = v.parse().ok()?;
            match k {
                "m" => c.m = v,
                "t" => c.t = v,
                "p" => c.p = v,
                _ => return None,
            }
        }
        ((1024..=65536).contains(&c.m) && (1..=10).contains(&c.t) && (1..=4).contains(&c.p))
            .then_some(c)
    }

    /// Argon2id of rule, file and secret under `salt`, 16 bytes in hex.
    fn hash(self, salt: &[u8], rule: &str, file: &str, secret: &str) -> String {
        let params = argon2::Params::new(self.m, self.t, self.p, Some(16))
            .expect("costs are checked when read");
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut input = zeroize::Zeroizing::new(Vec::with_capacity(
            rule.len() + file.len() + secret.len() + 2,
        ));
        for (i, part) in [rule, file, secret].iter().enumerate() {
            if i > 0 {
                input.push(0);
            }
            input.extend_from_slice(part.as_bytes());
        }
        let mut out = [0u8; 16];
        argon
            .hash_password_into(&input, salt, &mut out)
            .expect("salt of 16 bytes or more, output of 16 bytes");
        hex(&out)
    }
}

/// The hash a report shows for a finding (`hash` in JSON and CSV, SARIF's `vigil/v2`
/// fingerprint): Argon2id (4 MiB, 1 pass) of rule, file and secret under a fixed public salt.
/// Stable on every machine; slow enough that a report is no cheap oracle for guessing a weak
/// secret.
pub fn report_hash(rule: &str, file: &str, secret: &str) -> String {
    REPORT_COST.hash(REPORT_SALT, rule, file, secret)
}

/// A baseline or ignore file that could not be used, naming the file (and the entry).
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// The file could not be read.
    #[error("{}: cannot read: {error}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// Not JSON.
    #[error("{}: line {line}: not JSON: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What the parser said.
        message: String,
    },
    /// A baseline of a later format.
    #[error("{}: baseline format {found} is newer than this Vigil reads ({FORMAT})", path.display())]
    Newer {
        /// The file.
        path: PathBuf,
        /// Its format number.
        found: u64,
    },
    /// A JSON object that is not a baseline, or a baseline that does not parse.
    #[error("{}: not a baseline ({problem})", path.display())]
    NotABaseline {
        /// The file.
        path: PathBuf,
        /// What is missing.
        problem: String,
    },
    /// JSON that is neither a baseline object nor a report array.
    #[error("{}: expected a baseline (a JSON object) or a JSON report", path.display())]
    Shape {
        /// The file.
        path: PathBuf,
    },
    /// A report entry with nothing that identifies its secret.
    #[error("{}: finding [{index}] has neither `hash` nor gitleaks's `RuleID`, `File` and `Secret`; a baseline matches the secret itself, never a file and line alone", path.display())]
    Unmatchable {
        /// The file.
        path: PathBuf,
        /// 0-based index of the entry.
        index: usize,
    },
    /// A gitleaks report entry whose secret is redacted.
    #[error("{}: finding [{index}]: the secret is redacted (gitleaks --redact), so it cannot be matched by content; a baseline never matches a file and line alone. Write one with `vigil scan --baseline-write`", path.display())]
    Redacted {
        /// The file.
        path: PathBuf,
        /// 0-based index of the entry.
        index: usize,
    },
    /// The scan that would be recorded did not look at everything: a baseline of it would
    /// accept as known only what it saw, and later scans would take the rest for new.
    #[error("{}: baseline not written: the scan is incomplete ({reason}); fix what it could not read, or pass --allow-incomplete to record it anyway", path.display())]
    Incomplete {
        /// The file not written.
        path: PathBuf,
        /// The first reason, and how many more.
        reason: String,
    },
    /// The baseline could not be written.
    #[error("{}: cannot write baseline: {error}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
}

/// Something about a baseline that works but should be fixed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BaselineWarning {
    /// Vigil's first format: unsalted content hashes.
    #[error("{}: an old baseline with unsalted hashes (a weak secret's could be guessed offline); rewrite it with `vigil scan --baseline-write {}`", path.display(), path.display())]
    Unsalted {
        /// The file.
        path: PathBuf,
    },
    /// Format 2: salted, but fast to compute.
    #[error("{}: an old baseline with fast salted hashes (a weak secret's could be guessed offline at billions per second); rewrite it with `vigil scan --baseline-write {}`", path.display(), path.display())]
    Fast {
        /// The file.
        path: PathBuf,
    },
}

/// Findings known from a baseline, matched by their content.
#[derive(Debug, Default)]
pub struct Baseline {
    /// This baseline's salt (hex), empty for a file without one.
    salt: String,
    /// Format 3: (rule, file) → the slow salted hashes of the secrets found there.
    slow: HashMap<(String, String), HashSet<String>>,
    /// Format 3's cost.
    cost: Option<Cost>,
    /// Salted fast hashes (format 2).
    salted: HashSet<String>,
    /// Unsalted content hashes ([`Finding::hash`]): Vigil's first format, and gitleaks entries
    /// whose secret is in clear (hashed here, in memory).
    unsalted: HashSet<String>,
}

/// The file Vigil writes: the format, the key derivation, the salt and one entry per finding.
#[derive(Debug, Serialize, Deserialize)]
struct File {
    /// The format number ([`FORMAT`]).
    vigil_baseline: u32,
    /// What this file is, for a reader of the repository.
    #[serde(default)]
    about: String,
    /// The key derivation of the hashes ([`KDF`]); absent in format 2 (SHA-256).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kdf: Option<String>,
    /// Random, hex; the key of every hash below.
    salt: String,
    /// One per known finding.
    findings: Vec<Entry>,
}

/// One known finding: where it was (for people) and its salted content hash (for matching).
#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    rule: String,
    file: String,
    line: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    commit: Option<String>,
    hash: String,
}

impl Baseline {
    /// Reads a baseline. Returns it and the warnings to show (an old, unsalted format).
    pub fn load(path: &Path) -> Result<(Self, Vec<BaselineWarning>), BaselineError> {
        let at = || path.to_owned();
        let text = std::fs::read_to_string(path)
            .map_err(|error| BaselineError::Read { path: at(), error })?;
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| BaselineError::Syntax {
                path: at(),
                line: e.line(),
                message: e.to_string(),
            })?;
        if v.is_object() {
            let version = v.get("vigil_baseline").and_then(|n| n.as_u64());
            match version {
                Some(2 | 3) => {}
                Some(found) => return Err(BaselineError::Newer { path: at(), found }),
                None => {
                    return Err(BaselineError::NotABaseline {
                        path: at(),
                        problem: "no `vigil_baseline`".into(),
                    })
                }
            }
            let file: File =
                serde_json::from_value(v).map_err(|e| BaselineError::NotABaseline {
                    path: at(),
                    problem: format!("format {}: {e}", version.unwrap_or(0)),
                })?;
            if file.salt.len() < 32 {
                return Err(BaselineError::NotABaseline {
                    path: at(),
                    problem: "the salt is missing or too short".into(),
                });
            }
            if version == Some(2) {
                let salted = file.findings.into_iter().map(|e| e.hash).collect();
                return Ok((
                    Baseline {
                        salt: file.salt,
                        salted,
                        ..Baseline::default()
                    },
                    vec![BaselineWarning::Fast { path: at() }],
                ));
            }
            let cost = file.kdf.as_deref().and_then(Cost::parse).ok_or_else(|| {
                BaselineError::NotABaseline {
                    path: at(),
                    problem: format!(
                        "`kdf` must be `argon2id m=… t=… p=…` within 1-64 MiB, 1-10 passes, 1-4 lanes (this Vigil writes `{KDF}`)"
                    ),
                }
            })?;
            let mut slow: HashMap<(String, String), HashSet<String>> = HashMap::new();
            for e in file.findings {
                slow.entry((e.rule, e.file)).or_default().insert(e.hash);
            }
            return Ok((
                Baseline {
                    salt: file.salt,
                    slow,
                    cost: Some(cost),
                    ..Baseline::default()
                },
                Vec::new(),
            ));
        }
        let arr = v
            .as_array()
            .ok_or_else(|| BaselineError::Shape { path: at() })?;
        let mut base = Baseline::default();
        let mut old_vigil = false;
        for (index, f) in arr.iter().enumerate() {
            let s = |k: &str| f.get(k).and_then(|x| x.as_str());
            if let Some(h) = s("hash") {
                base.unsalted.insert(h.to_owned());
                old_vigil = true;
                continue;
            }
            let (Some(rule), Some(file)) = (s("RuleID"), s("File")) else {
                return Err(BaselineError::Unmatchable { path: at(), index });
            };
            match s("Secret") {
                Some(secret) if !is_redacted(secret) => {
                    base.unsalted.insert(content_hash(rule, file, secret));
                }
                _ => return Err(BaselineError::Redacted { path: at(), index }),
            }
        }
        let mut warnings = Vec::new();
        if old_vigil {
            warnings.push(BaselineWarning::Unsalted { path: at() });
        }
        Ok((base, warnings))
    }

    /// Whether a finding is in this baseline: the same secret, found by the same rule in the
    /// same file.
    pub fn contains(&self, f: &Finding) -> bool {
        self.contains_as(f, &f.file)
    }

    /// [`Baseline::contains`] for `f` as if found in `file` (the same file named from another
    /// folder).
    pub fn contains_as(&self, f: &Finding, file: &str) -> bool {
        let secret = f.secret.expose_secret();
        if let (Some(cost), Some(hashes)) =
            (self.cost, self.slow.get(&(f.rule.clone(), file.to_owned())))
        {
            // The slow hash, only for a finding some entry could match.
            let salt = self.salt.as_bytes();
            if hashes.contains(&cost.hash(salt, &f.rule, file, secret)) {
                return true;
            }
        }
        (!self.salted.is_empty()
            && self
                .salted
                .contains(&salted_hash(&self.salt, &f.rule, file, secret)))
            || (!self.unsalted.is_empty()
                && self.unsalted.contains(&content_hash(&f.rule, file, secret)))
    }

    /// The baseline file for `findings`, salted with `salt` (hex; see [`Baseline::new_salt`],
    /// or an existing baseline's, via [`Baseline::salt_of`], to keep its diff small).
    pub fn render(findings: &[Finding], salt: &str) -> Vec<u8> {
        let cost = Cost::parse(KDF).expect("the default cost parses");
        let hashes = parallel(findings, |f| {
            cost.hash(salt.as_bytes(), &f.rule, &f.file, f.secret.expose_secret())
        });
        let file = File {
            vigil_baseline: FORMAT,
            about: "Findings accepted by `vigil scan --baseline-write`: Argon2id hashes (salted, deliberately slow) of rule, file and secret, never a secret.".into(),
            kdf: Some(KDF.to_owned()),
            salt: salt.to_owned(),
            findings: findings
                .iter()
                .zip(hashes)
                .map(|(f, hash)| Entry {
                    rule: f.rule.clone(),
                    file: f.file.clone(),
                    line: f.line,
                    commit: f.commit.clone(),
                    hash,
                })
                .collect(),
        };
        let mut out = serde_json::to_vec_pretty(&file).expect("a baseline serializes");
        out.push(b'\n');
        out
    }

    /// A new random salt (128 bits from the OS, hex).
    pub fn new_salt() -> std::io::Result<String> {
        let mut b = [0u8; 16];
        getrandom::fill(&mut b).map_err(std::io::Error::other)?;
        Ok(hex(&b))
    }

    /// The salt of the format-2 baseline at `path`, if there is one.
    pub fn salt_of(path: &Path) -> Option<String> {
        match Self::load(path) {
            Ok((b, _)) if !b.salt.is_empty() => Some(b.salt),
            _ => None,
        }
    }

    /// Records `findings` as the baseline at `path`, atomically. Rewriting a baseline keeps its
    /// salt, so its diff shows only what changed; a new one gets a fresh salt.
    pub fn write(path: &Path, findings: &[Finding]) -> Result<(), BaselineError> {
        let write_err = |error| BaselineError::Write {
            path: path.to_owned(),
            error,
        };
        let salt = match Self::salt_of(path) {
            Some(s) => s,
            None => Self::new_salt().map_err(write_err)?,
        };
        vigil_core::fsx::atomic_write(path, &Self::render(findings, &salt)).map_err(write_err)
    }
}

/// `work` over every item, on one thread per core, in order.
pub(crate) fn parallel<T: Sync, R: Send>(items: &[T], work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if items.len() < 2 || threads < 2 {
        return items.iter().map(work).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|c| s.spawn(|| c.iter().map(&work).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("hashing does not panic"))
            .collect()
    })
}

/// gitleaks writes `REDACTED` (`--redact`) or a prefix and `...` (`--redact=N`).
fn is_redacted(secret: &str) -> bool {
    secret.is_empty() || secret.contains("REDACTED") || secret.ends_with("...")
}

/// The first 16 bytes of SHA-256 over salt, a version tag, rule, file and secret, in hex.
fn salted_hash(salt: &str, rule: &str, file: &str, secret: &str) -> String {
    let mut h = Sha256::new();
    for part in [salt, "vigil-baseline-v2", rule, file, secret] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    hex(&h.finalize()[..16])
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Findings listed in `.gitleaksignore` files, by fingerprint or content hash (a report's
/// [`report_hash`], or the content hash of older reports).
#[derive(Debug, Default)]
pub struct Known {
    hashes: HashSet<String>,
    fingerprints: HashSet<String>,
}

impl Known {
    /// Reads a `.gitleaksignore`: fingerprints (`file:rule:line`, or `commit:file:rule:line`),
    /// or content hashes; `#` comments and blank lines are skipped.
    pub fn load_ignore_file(&mut self, path: &Path) -> Result<(), BaselineError> {
        let text = std::fs::read_to_string(path).map_err(|error| BaselineError::Read {
            path: path.to_owned(),
            error,
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

    /// Whether a finding is listed.
    pub fn contains(&self, f: &Finding) -> bool {
        self.fingerprints.contains(&f.fingerprint)
            || (!self.hashes.is_empty()
                && (self.hashes.contains(&f.hash)
                    || self.hashes.contains(&report_hash(
                        &f.rule,
                        &f.file,
                        f.secret.expose_secret(),
                    ))))
    }

    /// [`Known::contains`] for `f` as if found in `file` (the same file named from the ignore
    /// file's folder).
    pub fn contains_as(&self, f: &Finding, file: &str) -> bool {
        if file == f.file {
            return self.contains(f);
        }
        let fingerprint = match &f.commit {
            Some(c) => format!("{c}:{file}:{}:{}", f.rule, f.line),
            None => format!("{file}:{}:{}", f.rule, f.line),
        };
        let secret = f.secret.expose_secret();
        self.fingerprints.contains(&fingerprint)
            || (!self.hashes.is_empty()
                && (self.hashes.contains(&content_hash(&f.rule, file, secret))
                    || self.hashes.contains(&report_hash(&f.rule, file, secret))))
    }

    /// Whether nothing is listed (so filtering can be skipped).
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty() && self.fingerprints.is_empty()
    }
}
