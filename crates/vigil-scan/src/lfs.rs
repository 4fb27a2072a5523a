//! Git LFS: a blob that is an LFS pointer stands for content git keeps outside the object
//! database (`<git common dir>/lfs/objects/`). That content is what `git push` uploads (git-lfs's
//! own pre-push hook sends it), so a history, staged or pre-push scan reads it too; a pointer whose
//! content is not on this machine, or whose content does not hash to its `oid`, is counted like a
//! missing or corrupt git object (the scan is incomplete), never passed over as the pointer text.

use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The largest pointer file git-lfs writes or reads (its spec: "less than 1024 bytes").
const MAX_POINTER: usize = 1024;

/// What an LFS pointer names: the SHA-256 of the content (64 lowercase hex digits) and its size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pointer {
    /// `oid sha256:<hex>`.
    pub(crate) oid: String,
    /// `size <bytes>`.
    pub(crate) size: u64,
}

/// Reads `data` as an LFS pointer (spec v1: a `version` line first, then `oid sha256:…` and
/// `size …` among `key value` lines, each ending in a newline), or `None` when it is not one.
pub(crate) fn pointer(data: &[u8]) -> Option<Pointer> {
    if data.len() >= MAX_POINTER
        || !(data.starts_with(b"version https://git-lfs.github.com/spec/")
            || data.starts_with(b"version https://hawser.github.com/spec/"))
    {
        return None;
    }
    let text = std::str::from_utf8(data).ok()?;
    let (mut oid, mut size) = (None, None);
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("oid sha256:") {
            if h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                oid = Some(h.to_owned());
            }
        } else if let Some(s) = line.strip_prefix("size ") {
            size = s.parse::<u64>().ok();
        }
    }
    Some(Pointer {
        oid: oid?,
        size: size?,
    })
}

/// Where git-lfs keeps the content of `oid` under a repository's common git folder.
pub(crate) fn object_path(common_dir: &Path, oid: &str) -> PathBuf {
    common_dir
        .join("lfs")
        .join("objects")
        .join(&oid[..2])
        .join(&oid[2..4])
        .join(oid)
}

/// What became of a pointer's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Read and scanned.
    Scanned,
    /// Not on this machine (never fetched, or pruned).
    Missing,
    /// Present, but its bytes do not hash to the pointer's `oid`, or could not be read.
    Corrupt,
}

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    digest: Sha256,
    read: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.digest.update(&buf[..n]);
        self.read += n as u64;
        Ok(n)
    }
}

/// Scans the content `p` names (`path` and `commit` as the pointer's), adding its findings to
/// `out`: whole when it fits `opts.max_file_size`, else in chunks, hashed as it is read.
/// Findings are kept only when the bytes hash to the pointer's `oid`.
#[allow(clippy::too_many_arguments)] // the content scan's own arguments, plus where and what
pub(crate) fn scan_object(
    common_dir: &Path,
    p: &Pointer,
    rules: &crate::ruleset::Ruleset,
    opts: &crate::content::ContentOptions,
    path: &str,
    commit: Option<&str>,
    out: &mut Vec<crate::finding::Finding>,
    tally: &mut crate::content::ContentTally,
) -> Outcome {
    let file = match std::fs::File::open(object_path(common_dir, &p.oid)) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Outcome::Missing,
        Err(_) => return Outcome::Corrupt,
    };
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return Outcome::Corrupt;
    }
    let mut r = Hashing {
        inner: file,
        digest: Sha256::new(),
        read: 0,
    };
    let mut found = Vec::new();
    let mut local = crate::content::ContentTally::default();
    if p.size <= opts.max_file_size {
        let mut data = Vec::with_capacity(usize::try_from(p.size).unwrap_or(0).min(64 << 20));
        if r.read_to_end(&mut data).is_err() {
            return Outcome::Corrupt;
        }
        crate::content::scan(rules, opts, path, commit, &data, &mut found, &mut local);
    } else if crate::content::scan_chunked(
        rules, opts, path, commit, &mut r, &mut found, &mut local,
    )
    .is_err()
    {
        return Outcome::Corrupt;
    }
    let hex = vigil_core::chain::hex(&r.digest.finalize());
    if hex != p.oid || r.read != p.size {
        return Outcome::Corrupt;
    }
    out.extend(found);
    tally.add(&local);
    Outcome::Scanned
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(oid: &str, size: &str) -> String {
        format!("version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {size}\n")
    }

    #[test]
    fn pointers_are_read_and_other_text_is_not() {
        let oid = "4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393";
        assert_eq!(
            pointer(text(oid, "12345").as_bytes()),
            Some(Pointer {
                oid: oid.into(),
                size: 12345
            })
        );
        assert_eq!(pointer(text(&oid.to_uppercase(), "1").as_bytes()), None);
        assert_eq!(pointer(text(&oid[..63], "1").as_bytes()), None);
        assert_eq!(pointer(text(oid, "x").as_bytes()), None);
        assert_eq!(pointer(b"version 1\noid sha256:00\n"), None);
        let mut long = text(oid, "1");
        long.push_str(&"x".repeat(MAX_POINTER));
        assert_eq!(pointer(long.as_bytes()), None);
        assert_eq!(
            object_path(Path::new("/r/.git"), oid),
            Path::new("/r/.git/lfs/objects/4d/7a").join(oid)
        );
    }
}
