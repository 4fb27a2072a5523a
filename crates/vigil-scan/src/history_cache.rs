//! What earlier history scans learned, per commit, so the next scan skips the walk, the tree
//! comparison and the blob reads of commits it already knows, and still reports their findings.
//!
//! One file per repository, `<git common dir>/vigil/history-cache` (never in a working tree,
//! where it could be committed and mark a leaked blob clean), written `0600` through a temp file
//! renamed into place. Per commit it holds the parents (the walk goes on from the cache without
//! reading the commit), the later of its two dates (`--since`), whether its message held a
//! finding, and where each finding reported at it lies: path, blob and position, never the secret.
//! A hit reads those few blobs again and reports the findings at those positions (a cache hit
//! can never turn a dirty history clean: a finding the blob no longer gives back at its position
//! makes the commit scanned afresh). Only commits read whole are kept: a missing or unreadable
//! object, a content gap or a shallow boundary keeps a commit out, and so does a path whose name
//! holds a finding (the file would hold it in clear). Commits the repository no longer holds are
//! dropped when the file is written.
//!
//! The file is keyed by Vigil's version and cache format, a hash of the ruleset and a hash of the
//! options that change what is found (size limit, decoding and archive depths and limits); a file
//! written under another key is ignored and replaced. It is signed with HMAC-SHA256 under a
//! per-user key kept outside the repository (`$XDG_CACHE_HOME/vigil/history-cache.key`, else
//! `~/.cache/vigil/…`, `0600`): a cache that fails its check (edited, truncated, or copied in
//! with a repository from someone else) is ignored whole. Concurrent runs each write a complete
//! file and rename it into place; the last one wins, merged with what was on disk, so a run can
//! lose another's entries (scanned again next time), never corrupt them.

use crate::content::ContentOptions;
use crate::finding::Finding;
use crate::Ruleset;
use gix::ObjectId;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Bumped whenever what a cached entry means changes (detection that finds differently with the
/// same version string is covered by this too).
/// 4: files are read behind their escapes, and tokens glued across rules are both kept (s20).
const FORMAT: u32 = 4;

/// The first line's tag.
const MAGIC: &str = "vigil-history-cache";

/// A cache file larger than this is not read (ignored, then replaced).
const MAX_FILE: u64 = 512 << 20;

/// A finding's place in its blob: what a re-scan of the blob must give back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Place {
    /// Rule id.
    pub(crate) rule: String,
    /// The reported file (with archive members).
    pub(crate) file: String,
    /// Line, column, end line, end column.
    pub(crate) at: [usize; 4],
    /// The decodings, outermost first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) decoded: Vec<String>,
}

impl Place {
    /// Where `f` is.
    pub(crate) fn of(f: &Finding) -> Self {
        Place {
            rule: f.rule.clone(),
            file: f.file.clone(),
            at: [f.line, f.column, f.end_line, f.end_column],
            decoded: f.decoded.iter().map(|e| e.as_str().to_owned()).collect(),
        }
    }

    /// Whether `f` is the finding at this place.
    pub(crate) fn is(&self, f: &Finding) -> bool {
        self.rule == f.rule
            && self.file == f.file
            && self.at == [f.line, f.column, f.end_line, f.end_column]
            && self.decoded.len() == f.decoded.len()
            && self
                .decoded
                .iter()
                .zip(&f.decoded)
                .all(|(a, b)| a == b.as_str())
    }
}

/// The findings reported at a commit in one of its blobs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Held {
    /// The path at that commit.
    pub(crate) path: String,
    /// The blob, hex.
    pub(crate) blob: String,
    /// Where each finding reported at the commit lies.
    pub(crate) places: Vec<Place>,
}

/// What a scan learned of one commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry {
    /// Parents, hex.
    #[serde(rename = "p")]
    pub(crate) parents: Vec<String>,
    /// The later of author and committer time.
    #[serde(rename = "t")]
    pub(crate) newest: i64,
    /// Whether its message held a finding (the message is scanned again on a hit).
    #[serde(rename = "m", default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) message: bool,
    /// Findings reported at it, by blob.
    #[serde(rename = "f", default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) found: Vec<Held>,
    /// Author time: with the parents, it orders this commit among the others, which decides
    /// where a finding reported once (a path, an archive's secret) is reported.
    #[serde(rename = "a", default)]
    pub(crate) time: i64,
    /// Paths it introduced whose text holds a finding. Always empty since format 3: a commit
    /// introducing such a path is not cached (the file would hold the secret in clear).
    #[serde(rename = "n", default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) paths: Vec<String>,
    /// Findings inside archives among the blobs it introduced, every one (an archive's secret
    /// is reported at the oldest commit holding it among those a scan walks, which may be
    /// this one).
    #[serde(rename = "z", default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) archives: Vec<Held>,
}

/// The file's body (signed).
#[derive(Debug, Default, Serialize, Deserialize)]
struct Body {
    format: u32,
    version: String,
    rules: String,
    options: String,
    commits: BTreeMap<String, Entry>,
}

/// A loaded cache and what this scan adds to it.
pub(crate) struct HistoryCache {
    path: PathBuf,
    key: Vec<u8>,
    version: String,
    rules: String,
    options: String,
    known: HashMap<ObjectId, Entry>,
    added: BTreeMap<String, Entry>,
}

type HmacSha256 = Hmac<Sha256>;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A hash of what decides findings in a ruleset: every rule (pattern, keywords, entropy,
/// allowlists, windows, checks) and the global allowlists.
fn ruleset_hash(rules: &Ruleset) -> String {
    let mut h = Sha256::new();
    h.update(format!("{:?}\u{0}{:?}", rules.rules, rules.global).as_bytes());
    hex(&h.finalize())
}

/// A hash of the options that change what is found.
fn options_hash(content: &ContentOptions) -> String {
    let mut h = Sha256::new();
    h.update(format!("{content:?}").as_bytes());
    hex(&h.finalize())
}

/// The per-user signing key's file: `$XDG_CACHE_HOME/vigil/history-cache.key`, else
/// `$HOME/.cache/vigil/history-cache.key`.
fn key_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| Path::new(v).is_absolute())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| Path::new(v).is_absolute())
                .map(|h| PathBuf::from(h).join(".cache"))
        })?;
    Some(base.join("vigil").join("history-cache.key"))
}

/// Reads the signing key, creating it (32 random bytes, `0600`, in a `0700` folder) the first
/// time. `None` when there is no place for it, when that place is inside `work_tree` (a key
/// there could be committed with the repository), or when it is not private: then there is no
/// cache.
fn signing_key(work_tree: Option<&Path>) -> Option<Vec<u8>> {
    let path = key_path()?;
    let dir = path.parent()?;
    if let Some(wt) = work_tree.and_then(|w| std::fs::canonicalize(w).ok()) {
        let mut base = dir;
        let inside = loop {
            if let Ok(b) = std::fs::canonicalize(base) {
                break b.starts_with(&wt);
            }
            match base.parent() {
                Some(p) => base = p,
                None => break false,
            }
        };
        if inside {
            tracing::warn!(
                path = %path.display(),
                "the history cache key would be inside the repository's working tree (where a commit could pick it up); scanning without the cache"
            );
            return None;
        }
    }
    let refuse = |why: &str| {
        tracing::warn!(
            path = %path.display(),
            "history cache key {why}; scanning without the cache"
        );
        None
    };
    if let Ok(Some(why)) = vigil_core::fsx::check_private_dir(dir) {
        return refuse(why);
    }
    match std::fs::symlink_metadata(&path) {
        Ok(_) => {
            if let Ok(Some(why)) = vigil_core::fsx::check_private_file(&path) {
                return refuse(why);
            }
            if let Ok(m) = std::fs::metadata(&path) {
                use std::os::unix::fs::PermissionsExt as _;
                if m.permissions().mode() & 0o077 != 0 {
                    return refuse("is readable by others");
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut k = [0u8; 32];
            if getrandom::fill(&mut k).is_err() {
                return None;
            }
            // Written whole beside it, then linked into place (which never replaces): of two
            // first runs at once, both use the key that got there first.
            let tmp = dir.join(format!("history-cache.key.{}", std::process::id()));
            if vigil_core::fsx::write_private(&tmp, hex(&k).as_bytes()).is_err() {
                return refuse("cannot be written");
            }
            let linked = std::fs::hard_link(&tmp, &path);
            let _ = std::fs::remove_file(&tmp);
            match linked {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(_) => return refuse("cannot be written"),
            }
        }
        Err(_) => return refuse("cannot be read"),
    }
    let text = std::fs::read_to_string(&path).ok()?;
    let text = text.trim();
    if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return refuse("is not a key Vigil wrote");
    }
    Some(text.as_bytes().to_vec())
}

impl HistoryCache {
    /// The cache of `repo` (in its common git folder), for these rules and options. `None` when
    /// no signing key can be had. A file that is missing, fails its check or was written under
    /// another key gives an empty cache (it is replaced on save).
    pub(crate) fn open(
        repo: &gix::Repository,
        rules: &Ruleset,
        content: &ContentOptions,
    ) -> Option<Self> {
        let key = signing_key(repo.workdir())?;
        // `.git/vigil` linked into the working tree would put the cache where a commit could
        // pick it up: no cache then.
        let folder = repo.common_dir().join("vigil");
        if let (Some(wt), Ok(git), Ok(dir)) = (
            repo.workdir().and_then(|w| std::fs::canonicalize(w).ok()),
            std::fs::canonicalize(repo.common_dir()),
            std::fs::canonicalize(&folder),
        ) {
            if dir.starts_with(&wt) && !dir.starts_with(&git) {
                tracing::warn!(
                    path = %folder.display(),
                    "the history cache's folder leads into the working tree; scanning without the cache"
                );
                return None;
            }
        }
        let mut cache = HistoryCache {
            path: folder.join("history-cache"),
            key,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            rules: ruleset_hash(rules),
            options: options_hash(content),
            known: HashMap::new(),
            added: BTreeMap::new(),
        };
        if let Some(body) = cache.read() {
            cache.known = body
                .commits
                .into_iter()
                .filter_map(|(id, e)| Some((ObjectId::from_hex(id.as_bytes()).ok()?, e)))
                .collect();
        }
        tracing::debug!(commits = cache.known.len(), "history cache loaded");
        Some(cache)
    }

    /// The file's body when it is there, passes its check and has this cache's key.
    fn read(&self) -> Option<Body> {
        let meta = std::fs::symlink_metadata(&self.path).ok()?;
        if !meta.is_file() || meta.len() > MAX_FILE {
            tracing::warn!(path = %self.path.display(), "history cache is not a regular file of a sane size; ignored");
            return None;
        }
        let data = std::fs::read(&self.path).ok()?;
        let nl = data.iter().position(|&b| b == b'\n');
        let verified = nl.and_then(|nl| {
            let head = std::str::from_utf8(&data[..nl]).ok()?;
            let tag = head.strip_prefix(MAGIC)?.strip_prefix(' ')?;
            let tag = decode_hex(tag)?;
            let mut mac = HmacSha256::new_from_slice(&self.key).ok()?;
            mac.update(&data[nl + 1..]);
            mac.verify_slice(&tag).ok()?;
            Some(&data[nl + 1..])
        });
        let Some(body) = verified else {
            tracing::warn!(path = %self.path.display(), "history cache fails its check (edited, or signed by another key); ignored");
            return None;
        };
        let body: Body = match serde_json::from_slice(body) {
            Ok(b) => b,
            Err(_) => {
                tracing::warn!(path = %self.path.display(), "history cache does not parse; ignored");
                return None;
            }
        };
        if body.format != FORMAT
            || body.version != self.version
            || body.rules != self.rules
            || body.options != self.options
        {
            tracing::debug!(
                path = %self.path.display(),
                "history cache written by another version, ruleset or options; ignored"
            );
            return None;
        }
        Some(body)
    }

    /// Whether nothing is known yet.
    pub(crate) fn is_empty(&self) -> bool {
        self.known.is_empty()
    }

    /// What is known of a commit.
    pub(crate) fn get(&self, id: &ObjectId) -> Option<&Entry> {
        self.known.get(id)
    }

    /// Records a commit this scan read whole.
    pub(crate) fn insert(&mut self, id: ObjectId, entry: Entry) {
        self.added.insert(id.to_string(), entry);
    }

    /// Writes what is known, what this scan added and what another run wrote meanwhile, when
    /// this scan added anything, without the commits the repository no longer holds (`exists`:
    /// a purged history leaves nothing of itself here). Errors are warnings: the scan stands
    /// without its cache.
    pub(crate) fn save(mut self, exists: impl Fn(ObjectId) -> bool) {
        if self.added.is_empty() && self.known.keys().all(|id| exists(*id)) {
            return;
        }
        let mut body = self.read().unwrap_or_default();
        body.format = FORMAT;
        body.version = std::mem::take(&mut self.version);
        body.rules = std::mem::take(&mut self.rules);
        body.options = std::mem::take(&mut self.options);
        for (id, e) in self.known.drain() {
            body.commits.entry(id.to_string()).or_insert(e);
        }
        body.commits.append(&mut self.added);
        body.commits
            .retain(|id, _| ObjectId::from_hex(id.as_bytes()).is_ok_and(&exists));
        let Ok(json) = serde_json::to_vec(&body) else {
            return;
        };
        let Ok(mut mac) = HmacSha256::new_from_slice(&self.key) else {
            return;
        };
        mac.update(&json);
        let mut out = format!("{MAGIC} {}\n", hex(&mac.finalize().into_bytes())).into_bytes();
        out.extend_from_slice(&json);
        match vigil_core::fsx::write_private(&self.path, &out) {
            Ok(()) => tracing::debug!(commits = body.commits.len(), "history cache saved"),
            Err(e) => {
                tracing::warn!(path = %self.path.display(), error = %e, "history cache not saved")
            }
        }
    }
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_refuses_odd_or_foreign_text() {
        assert_eq!(
            decode_hex(&hex(&[0, 1, 0xab, 0xff])),
            Some(vec![0, 1, 0xab, 0xff])
        );
        assert_eq!(decode_hex("abc"), None);
        assert_eq!(decode_hex("zz"), None);
    }
}
