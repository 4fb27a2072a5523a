//! The rotation ledger, `.vigil/rotation.toml`: for each rotated secret its name, when it was
//! rotated, which files hold it, and per environment a salted SHA-256 of its value (each
//! environment has its own) so that a change made outside Vigil is noticed. No value is ever
//! stored.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The ledger file, relative to the project root.
pub const LEDGER: &str = ".vigil/rotation.toml";

/// The whole ledger.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ledger {
    /// Random salt of the hashes (hex), made on first write.
    #[serde(default)]
    pub salt: String,
    /// Name → record.
    #[serde(default)]
    pub secrets: BTreeMap<String, Record>,
}

/// One secret's record.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// RFC 3339 time of the last rotation.
    pub rotated_at: String,
    /// Salted hash of the one value of a ledger written before environments had their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// Environment → salted hash of the value it got.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub environments: BTreeMap<String, String>,
    /// Files that hold it.
    #[serde(default)]
    pub files: Vec<String>,
}

impl Record {
    /// The hash recorded for `environment`'s value, if any.
    pub fn hash_for(&self, environment: &str) -> Option<&str> {
        self.environments
            .get(environment)
            .or(self.hash.as_ref())
            .map(String::as_str)
    }
}

/// A ledger that cannot be read. Never holds a value from the file.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The file cannot be read.
    #[error("{}: {error}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why (said in the message, not chained).
        error: std::io::Error,
    },
    /// The file is not a ledger (TOML syntax, an unknown key, a wrong type).
    #[error("{}{}: {message}", path.display(), at(line))]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line, when TOML says it.
        line: Option<usize>,
        /// What TOML said.
        message: String,
    },
    /// The OS random source failed while making the ledger's salt.
    #[error("the OS random source failed: {0}")]
    Random(getrandom::Error),
}

fn at(line: &Option<usize>) -> String {
    line.map_or(String::new(), |l| format!(":{l}"))
}

impl Ledger {
    /// Reads the ledger under `root` (an absent file is an empty ledger).
    pub fn load(root: &Path) -> Result<Ledger, LedgerError> {
        Ok(Self::load_with_text(root)?.0)
    }

    /// The ledger and the bytes it was read from (`None` when there is no file), so a writer can
    /// commit the file against exactly what it read.
    pub fn load_with_text(root: &Path) -> Result<(Ledger, Option<String>), LedgerError> {
        let path = root.join(LEDGER);
        match std::fs::read_to_string(&path) {
            Ok(text) => match toml::from_str(&text) {
                Ok(l) => Ok((l, Some(text))),
                Err(e) => Err(LedgerError::Syntax {
                    line: e
                        .span()
                        .map(|s| vigil_core::config::line_of(&text, s.start)),
                    message: e.message().to_owned(),
                    path,
                }),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((Ledger::default(), None)),
            Err(error) => Err(LedgerError::Read { path, error }),
        }
    }

    /// The salted hash of a value of `name`.
    pub fn hash(&self, name: &str, value: &str) -> String {
        let mut h = Sha256::new();
        h.update(self.salt.as_bytes());
        h.update([0]);
        h.update(name.as_bytes());
        h.update([0]);
        h.update(value.as_bytes());
        h.finalize()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Records a rotation: `values` maps each environment to the value it got (making the salt
    /// on first use).
    pub fn record(
        &mut self,
        name: &str,
        values: &BTreeMap<String, vigil_core::Secret<String>>,
        at: &str,
        files: Vec<String>,
    ) -> Result<(), LedgerError> {
        if self.salt.is_empty() {
            let mut b = [0u8; 16];
            getrandom::fill(&mut b).map_err(LedgerError::Random)?;
            self.salt = b.iter().map(|x| format!("{x:02x}")).collect();
        }
        let environments = values
            .iter()
            .map(|(env, v)| (env.clone(), self.hash(name, v.expose_secret())))
            .collect();
        self.secrets.insert(
            name.to_owned(),
            Record {
                rotated_at: at.to_owned(),
                hash: None,
                environments,
                files,
            },
        );
        Ok(())
    }

    /// Records a rotation of `name` in some of its environments (`--environment`): the others
    /// keep their recorded hashes, and the record keeps its older rotation time (the secret
    /// is as old as its oldest value); the files are the union.
    pub fn record_partial(
        &mut self,
        name: &str,
        values: &BTreeMap<String, vigil_core::Secret<String>>,
        at: &str,
        files: Vec<String>,
    ) -> Result<(), LedgerError> {
        let old = self.secrets.get(name).cloned();
        self.record(name, values, at, files)?;
        if let (Some(old), Some(new)) = (old, self.secrets.get_mut(name)) {
            for (env, hash) in old.environments {
                new.environments.entry(env).or_insert(hash);
            }
            new.rotated_at = old.rotated_at;
            for f in old.files {
                if !new.files.contains(&f) {
                    new.files.push(f);
                }
            }
            new.files.sort();
        }
        Ok(())
    }

    /// The file's text.
    pub fn to_text(&self) -> String {
        format!(
            "# Written by `vigil env`: names, dates and salted hashes only, never a secret value.\n{}",
            toml::to_string_pretty(self).expect("ledger serializes")
        )
    }
}
