//! What `vigil gateway audit verify` concludes about a log: the hash chain's own problems plus
//! what a gateway log must also be (begun by a genesis line, never emptied under a head, holding
//! a recorded anchor), as typed findings with stable codes for JSON.

use crate::audit::{is_genesis, verify, AuditKey};
use std::path::{Path, PathBuf};
use vigil_core::chain::{ChainError, Problem, Verification};

/// What the caller knows about the log beyond its files.
#[derive(Debug, Clone, Default)]
pub struct Expectations {
    /// The log is known to be new: an empty log without a head is not a problem.
    pub new: bool,
    /// A head recorded elsewhere earlier that the trusted chain must still hold.
    pub anchor: Option<Anchor>,
}

/// A head recorded elsewhere: `SEQ:HASH` (64 hex digits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// The line's sequence number.
    pub seq: u64,
    /// The line's hash, 64 hex digits.
    pub hash: String,
}

/// An anchor that is not `SEQ:HASH`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not SEQ:HASH (64 hex digits)")]
pub struct AnchorError(String);

impl std::str::FromStr for Anchor {
    type Err = AnchorError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.split_once(':')
            .and_then(|(s, hash)| Some((s.parse::<u64>().ok()?, hash)))
            .filter(|(_, hash)| hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(|(seq, hash)| Anchor {
                seq,
                hash: hash.to_owned(),
            })
            .ok_or_else(|| AnchorError(text.escape_debug().to_string()))
    }
}

/// One thing wrong with a gateway audit log.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Finding {
    /// A problem of the hash chain itself (an edit, deletion, reordering, cut-off tail, head).
    #[error("{0}")]
    Chain(Problem),
    /// The log is empty and its head is missing: a log emptied with its head deleted looks the
    /// same as a new one.
    #[error("the log is empty and its head file {} is missing or unreadable: a log emptied with its head deleted looks the same (pass --new if this log is known to be new)", head.display())]
    EmptyWithoutHead {
        /// The head file looked for.
        head: PathBuf,
    },
    /// The log is empty but has a head: a gateway log begins with its genesis line.
    #[error("the log is empty, but a gateway audit log begins with its genesis line: it was reset (or begun by an older Vigil)")]
    Reset,
    /// Line 1 reads back as a chain line but is not a genesis line.
    #[error("line 1 is not a genesis line (\"event\":\"genesis\", seq 1), but a gateway begins every log with one: the log was begun by something else (a new chain after its files were deleted, or an older Vigil) or its beginning was cut away")]
    NoGenesis,
    /// Lines fail their hash and no key was given: they may have been written with one.
    #[error("lines do not verify without a key: if {var} was set when the log was written, verify with it set")]
    KeyMissing {
        /// The variable that holds the key.
        var: &'static str,
    },
    /// Every line fails its hash and no key was given: a keyed log read without its key (one
    /// finding, not one per line), or a log edited throughout.
    #[error("none of the {lines} lines of the log verifies without a key: the log was written with {var} set (verify with it set), or every line was edited")]
    KeyedLog {
        /// The variable that holds the key.
        var: &'static str,
        /// How many lines failed.
        lines: usize,
    },
    /// The recorded anchor is not in the trusted chain.
    #[error("seq {seq} with the recorded hash is not in the verified chain (the log was rolled back or rewritten)")]
    AnchorMissing {
        /// The anchor's sequence number.
        seq: u64,
    },
}

impl Finding {
    /// A stable code for JSON output.
    pub fn code(&self) -> &'static str {
        match self {
            Finding::Chain(p) => p.code(),
            Finding::EmptyWithoutHead { .. } => "head_missing",
            Finding::Reset => "reset",
            Finding::NoGenesis => "no_genesis",
            Finding::KeyMissing { .. } | Finding::KeyedLog { .. } => "key",
            Finding::AnchorMissing { .. } => "anchor_missing",
        }
    }
}

/// A verified gateway audit log and what is wrong with it.
#[derive(Debug)]
pub struct Verdict {
    /// The chain's verification (lines, records, head, trusted prefix, keyed).
    pub verification: Verification,
    /// Every finding: the chain's problems first, then the gateway's own expectations.
    pub findings: Vec<Finding>,
}

impl Verdict {
    /// Nothing wrong.
    pub fn is_intact(&self) -> bool {
        self.findings.is_empty()
    }

    /// The genesis line as `SEQ:HASH`, when line 1 is one.
    pub fn genesis(&self) -> Option<String> {
        self.verification
            .records
            .first()
            .filter(|r| r.seq == 1 && is_genesis(&r.fields))
            .map(|r| format!("{}:{}", r.seq, r.hash))
    }

    /// The head as `SEQ:HASH`, when it was read.
    pub fn head(&self) -> Option<String> {
        self.verification
            .head
            .as_ref()
            .map(|h| format!("{}:{}", h.seq, h.hash))
    }
}

/// Verifies the gateway audit log `log` against `head` (with the key it was written with, if
/// any) and judges it as a gateway log: see [`Finding`].
pub fn judge(
    log: &Path,
    head: &Path,
    key: Option<&AuditKey>,
    expect: &Expectations,
) -> Result<Verdict, ChainError> {
    let v = verify(log, head, key)?;
    // Without a key, a keyed log fails every line's hash: said once, not once per line.
    let edited = |p: &Problem| matches!(p, Problem::Edited { seq: Some(_), .. });
    let keyed_unread = key.is_none()
        && v.lines > 0
        && v.problems.iter().filter(|p| edited(p)).count() as u64 == v.lines;
    let mut findings: Vec<Finding> = v
        .problems
        .iter()
        .filter(|p| !(keyed_unread && edited(p)))
        .cloned()
        .map(Finding::Chain)
        .collect();
    if keyed_unread {
        findings.push(Finding::KeyedLog {
            var: crate::audit::KEY_ENV,
            lines: v.lines as usize,
        });
    }
    if v.head.is_none() && v.lines == 0 && !expect.new {
        findings.push(Finding::EmptyWithoutHead {
            head: head.to_path_buf(),
        });
    }
    if v.head.is_some() && v.lines == 0 {
        findings.push(Finding::Reset);
    }
    // A gateway begins every log with its genesis line: a first line that reads back as a
    // chain line but is not one was begun by something else (a chain begun again after both
    // files were deleted, an older Vigil), or the log's beginning was cut away.
    if let Some(r) = v.records.first().filter(|r| r.line == 1) {
        if !(r.seq == 1 && is_genesis(&r.fields)) {
            findings.push(Finding::NoGenesis);
        }
    }
    if key.is_none()
        && !keyed_unread
        && v.problems
            .iter()
            .any(|p| matches!(p, Problem::Edited { .. }))
    {
        findings.push(Finding::KeyMissing {
            var: crate::audit::KEY_ENV,
        });
    }
    if let Some(a) = &expect.anchor {
        if !v.anchored(a.seq, &a.hash) {
            findings.push(Finding::AnchorMissing { seq: a.seq });
        }
    }
    Ok(Verdict {
        verification: v,
        findings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_are_seq_colon_64_hex_digits() {
        let hash = "ab".repeat(32);
        let a: Anchor = format!("7:{hash}").parse().unwrap();
        assert_eq!((a.seq, a.hash.as_str()), (7, hash.as_str()));
        for bad in [
            "7",
            "x:ab",
            &format!("7:{}", "ab".repeat(31)),
            &format!("7:{}", "zz".repeat(32)),
        ] {
            assert!(bad.parse::<Anchor>().is_err(), "{bad}");
        }
    }
}
