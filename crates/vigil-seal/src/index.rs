//! The fingerprints of sealed `.env` values, `.vigil/seal-index.json`: for each value (keyed by
//! the SHA-256 of its sealed text) the key it is under and its keyed fingerprint. No secret is
//! in it. Written in the same transaction as the env files, so it never disagrees with them in a
//! way that matters: an entry whose value is gone is simply never looked up.

use crate::error::{Result, SealError};
use crate::value::Fingerprint;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The index file, under the project's `.vigil/` folder.
pub const FILE: &str = "seal-index.json";

/// Fingerprints by value digest.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Index {
    version: u32,
    values: BTreeMap<String, Fingerprint>,
}

impl Index {
    /// The index's path under `root`.
    pub fn path(root: &Path) -> PathBuf {
        root.join(vigil_env::txn::STATE_DIR).join(FILE)
    }

    /// Loads the index (empty when absent) and the bytes it was read from.
    pub fn load(root: &Path) -> Result<(Index, Option<Vec<u8>>)> {
        let path = Self::path(root);
        match std::fs::read(&path) {
            Ok(b) => {
                let i: Index = serde_json::from_slice(&b).map_err(|e| SealError::Env {
                    path: path.display().to_string(),
                    line: e.line(),
                    message: format!("unreadable fingerprint index: {e}"),
                })?;
                Ok((i, Some(b)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((
                Index {
                    version: 1,
                    values: BTreeMap::new(),
                },
                None,
            )),
            Err(e) => Err(SealError::io(&path, e)),
        }
    }

    /// Records a sealed value's fingerprint.
    pub fn insert(&mut self, sealed: &str, fp: Fingerprint) {
        self.values.insert(crate::store::digest(sealed), fp);
    }

    /// Forgets a sealed value.
    pub fn remove(&mut self, sealed: &str) {
        self.values.remove(&crate::store::digest(sealed));
    }

    /// The fingerprint recorded for a sealed value.
    pub fn get(&self, sealed: &str) -> Option<&Fingerprint> {
        self.values.get(&crate::store::digest(sealed))
    }

    /// The JSON text.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).expect("index serializes");
        v.push(b'\n');
        v
    }
}
