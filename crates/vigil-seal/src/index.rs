//! The fingerprints of sealed `.env` values, `<project root>/.vigil/seal-index.json`: for each
//! value put somewhere, where (the file, relative to the root, and the `.env` key), which value
//! (the SHA-256 of its sealed text), the key it is under and its keyed fingerprint. No secret is in
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

/// One sealed value's record: which value (the SHA-256 of its text), where it was put, and
/// its fingerprint. The same value in two files (two services of one environment) has two
/// records.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Record {
    /// The file it was put in, relative to the project root.
    pub file: PathBuf,
    /// The `.env` key it was put under.
    pub key: String,
    /// SHA-256 of the sealed text, hex.
    pub digest: String,
    /// Its key and keyed fingerprint.
    #[serde(flatten)]
    pub fingerprint: Fingerprint,
}

/// The records, sorted by file, key and digest.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Index {
    version: u32,
    values: Vec<Record>,
}

impl Default for Index {
    fn default() -> Self {
        Index {
            version: VERSION,
            values: Vec::new(),
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
        self.forget(file, key);
        self.values.push(Record {
            file: file.to_path_buf(),
            key: key.to_owned(),
            digest: crate::store::digest(sealed),
            fingerprint,
        });
        self.values.sort();
    }

    /// Forgets every record of `key` in `file`.
    pub fn forget(&mut self, file: &Path, key: &str) {
        self.values.retain(|r| !(r.file == file && r.key == key));
    }

    /// A record of a sealed value (any one: they share the key and fingerprint).
    pub fn get(&self, sealed: &str) -> Option<&Record> {
        let d = crate::store::digest(sealed);
        self.values.iter().find(|r| r.digest == d)
    }

    /// Whether the value is recorded under `key` in `file`.
    pub fn has(&self, sealed: &str, file: &Path, key: &str) -> bool {
        let d = crate::store::digest(sealed);
        self.values
            .iter()
            .any(|r| r.digest == d && r.file == file && r.key == key)
    }

    /// The keys of `file` recorded as sealed.
    pub fn sealed_keys(&self, file: &Path) -> BTreeSet<&str> {
        self.values
            .iter()
            .filter(|r| r.file == file)
            .map(|r| r.key.as_str())
            .collect()
    }

    /// The key ids that values recorded here and still in their files use, with where. Each
    /// recorded file is read once (through vigil-env's reader); a file that is gone, or no
    /// longer holds a recorded value, only makes the record stale. A file that cannot be read
    /// is an error: whether its values still need a key cannot be told.
    pub fn uses(&self, root: &Path) -> Result<Uses> {
        let mut by_file: BTreeMap<&Path, Vec<&Record>> = BTreeMap::new();
        for r in &self.values {
            by_file.entry(r.file.as_path()).or_default().push(r);
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
            for r in records {
                if let Some(b) = doc.bindings().iter().find(|b| {
                    b.key == r.key
                        && b.value
                            .as_deref()
                            .is_some_and(|v| crate::store::digest(v) == r.digest)
                }) {
                    out.entry(r.fingerprint.kid.clone())
                        .or_default()
                        .push(format!("{}:{} {}", file.display(), b.line, b.key));
                }
            }
        }
        Ok(out)
    }

    /// Every record.
    pub fn records(&self) -> &[Record] {
        &self.values
    }

    /// The JSON text.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).expect("index serializes");
        v.push(b'\n');
        v
    }
}
