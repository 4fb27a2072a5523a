//! The fingerprints of sealed `.env` values, `<project root>/.vigil/seal-index.json`: for each
//! value (keyed by the SHA-256 of its sealed text) the key it is under, its keyed fingerprint,
//! and where it was put (the file, relative to the root, and the `.env` key). No secret is in
//! it. Written in the same transaction as the env files.
//!
//! Three things read it: `seal find` (fingerprints, without decrypting), `seal rotate` (which
//! key ids values anywhere in the project still use, not only in the files it was given) and
//! `seal run` (a key that was sealed and is plaintext now was changed by someone who could not
//! seal: refused). A record whose value is no longer in its file is stale and ignored.

use crate::error::{Result, SealError};
use crate::value::Fingerprint;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The index file, under the project's `.vigil/` folder.
pub const FILE: &str = "seal-index.json";
const VERSION: u32 = 2;

/// One sealed value's record.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Record {
    /// Its key and keyed fingerprint.
    #[serde(flatten)]
    pub fingerprint: Fingerprint,
    /// The file it was put in, relative to the project root.
    pub file: PathBuf,
    /// The `.env` key it was put under.
    pub key: String,
}

/// Records by value digest.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Index {
    version: u32,
    values: BTreeMap<String, Record>,
}

impl Default for Index {
    fn default() -> Self {
        Index {
            version: VERSION,
            values: BTreeMap::new(),
        }
    }
}

/// Where a key id is still used: `file:line KEY` of each value recorded under it that is still
/// in its file.
pub type Uses = BTreeMap<String, Vec<String>>;

impl Index {
    /// The index's path under `root`.
    pub fn path(root: &Path) -> PathBuf {
        root.join(vigil_env::txn::STATE_DIR).join(FILE)
    }

    /// Loads the index (`None` when there is none) and the bytes it was read from.
    pub fn load_existing(root: &Path) -> Result<Option<(Index, Vec<u8>)>> {
        let path = Self::path(root);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(SealError::io(&path, e)),
        };
        let bad = |line: usize, message: String| SealError::Env {
            path: path.display().to_string(),
            line,
            message,
        };
        let i: Index = serde_json::from_slice(&bytes)
            .map_err(|e| bad(e.line(), format!("unreadable fingerprint index: {e}")))?;
        if i.version != VERSION {
            return Err(bad(
                0,
                format!("fingerprint index version {} (this Vigil reads {VERSION}); delete it, then `vigil seal rotate --env-file …` on every sealed file records their values again", i.version),
            ));
        }
        Ok(Some((i, bytes)))
    }

    /// Loads the index (empty when absent) and the bytes it was read from.
    pub fn load(root: &Path) -> Result<(Index, Option<Vec<u8>>)> {
        Ok(match Self::load_existing(root)? {
            Some((i, b)) => (i, Some(b)),
            None => (Index::default(), None),
        })
    }

    /// Records a sealed value put under `key` in `file`. Older records of that file and key go:
    /// the value they describe has been replaced.
    pub fn insert(&mut self, sealed: &str, fingerprint: Fingerprint, file: &Path, key: &str) {
        self.values.retain(|_, r| !(r.file == file && r.key == key));
        self.values.insert(
            crate::store::digest(sealed),
            Record {
                fingerprint,
                file: file.to_path_buf(),
                key: key.to_owned(),
            },
        );
    }

    /// Forgets a sealed value.
    pub fn remove(&mut self, sealed: &str) {
        self.values.remove(&crate::store::digest(sealed));
    }

    /// Forgets every record of `key` in `file`.
    pub fn forget(&mut self, file: &Path, key: &str) {
        self.values.retain(|_, r| !(r.file == file && r.key == key));
    }

    /// The record of a sealed value.
    pub fn get(&self, sealed: &str) -> Option<&Record> {
        self.values.get(&crate::store::digest(sealed))
    }

    /// The keys of `file` recorded as sealed.
    pub fn sealed_keys(&self, file: &Path) -> BTreeSet<&str> {
        self.values
            .values()
            .filter(|r| r.file == file)
            .map(|r| r.key.as_str())
            .collect()
    }

    /// The key ids that values recorded here and still in their files use, with where. Each
    /// recorded file is read once (through vigil-env's reader); a file that is gone, or no
    /// longer holds a recorded value, only makes the record stale. A file that cannot be read
    /// is an error: whether its values still need a key cannot be told.
    pub fn uses(&self, root: &Path) -> Result<Uses> {
        let mut by_file: BTreeMap<&Path, Vec<(&String, &Record)>> = BTreeMap::new();
        for (digest, r) in &self.values {
            by_file
                .entry(r.file.as_path())
                .or_default()
                .push((digest, r));
        }
        let mut out = Uses::new();
        for (file, records) in by_file {
            let doc = match vigil_env::envfile::load_in(root, file) {
                Ok(d) => d,
                Err(vigil_env::EnvFileError::Read { error, .. })
                    if error.kind() == std::io::ErrorKind::NotFound =>
                {
                    continue
                }
                Err(e) => return Err(e.into()),
            };
            for (digest, r) in records {
                if let Some(b) = doc.bindings().iter().find(|b| {
                    b.key == r.key
                        && b.value
                            .as_deref()
                            .is_some_and(|v| crate::store::digest(v.trim()) == *digest)
                }) {
                    out.entry(r.fingerprint.kid.clone())
                        .or_default()
                        .push(format!("{}:{} {}", file.display(), b.line, b.key));
                }
            }
        }
        Ok(out)
    }

    /// Every record (digest, record), in digest order.
    pub fn records(&self) -> impl Iterator<Item = (&str, &Record)> {
        self.values.iter().map(|(d, r)| (d.as_str(), r))
    }

    /// The JSON text.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).expect("index serializes");
        v.push(b'\n');
        v
    }
}
