//! A finding: which rule found what where, with the secret kept as a [`Secret`] so it is
//! redacted everywhere unless a report is asked to show it.

use serde::Serialize;
use sha2::{Digest, Sha256};
use vigil_core::Secret;
use vigil_report::Encoding;

/// One secret found at one location.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Rule id.
    pub rule: String,
    /// The rule's description.
    pub description: String,
    /// The path as the user named it: the scanned root and the path below it (`a/.env`,
    /// `../pkg/x.py`, absolute under an absolute root, `x.py` under `.`), relative to the work
    /// tree in history, `-` for stdin; bytes that are not UTF-8 as `\xNN`. Inside an archive,
    /// the archive's path and each member after a `!` (`dist/app.zip!config/.env`), and the
    /// lines are the member's.
    pub file: String,
    /// 1-based line of the secret's first byte.
    pub line: usize,
    /// 1-based column (in bytes) of the secret's first byte.
    pub column: usize,
    /// 1-based line of the secret's last byte.
    pub end_line: usize,
    /// 1-based column of the byte after the secret's end.
    pub end_column: usize,
    /// [`Finding::column`] and [`Finding::end_column`] counted in UTF-16 code units (what SARIF
    /// 2.1.0 and editors count), when the line before either holds non-ASCII text; `None`: the
    /// byte columns are those. Never serialized: JSON reports keep gitleaks's byte columns.
    #[serde(skip)]
    pub columns_utf16: Option<(usize, usize)>,
    /// The secret; serialized redacted.
    pub secret: Secret<String>,
    /// Shannon entropy of the secret.
    pub entropy: f64,
    /// The rule's tags.
    pub tags: Vec<String>,
    /// gitleaks-style fingerprint, `file:rule:line` (with `commit:` first for history).
    pub fingerprint: String,
    /// The fast content hash of rule, file and secret ([`content_hash`]), kept in memory only
    /// to match what older reports wrote (format-1 baselines, `.gitleaksignore` content lines);
    /// never serialized. Reports show [`crate::baseline::report_hash`] instead.
    #[serde(skip)]
    pub hash: String,
    /// The commit that introduced the secret (history scans).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The commit's author name (history scans).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// The commit's author email (history scans).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The commit's author date, RFC 3339 (history scans).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// The first line of the commit message (history scans).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The decodings the secret was found behind, outermost first (empty: found as written).
    /// The position is then the encoded text's.
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "encodings")]
    pub decoded: Vec<Encoding>,
    /// The archive members the secret was found in, outermost first (empty: not in an archive);
    /// [`Finding::file`] ends with them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub archive: Vec<String>,
    /// Found in an object no ref reaches (`--all-objects`): a force-pushed or dropped commit, a
    /// blob no commit holds.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unreachable: bool,
    /// Where the secret is when it is not in a file's content: a commit's or tag's metadata,
    /// a ref's name, a file's path ([`Finding::file`] then names that place).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place: Option<Place>,
}

/// A place in git (or a path) that holds a secret outside any file's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Place {
    /// A commit's message, author, committer or extra header: `commit <id> author`.
    Commit,
    /// An annotated tag's message, name or tagger: `tag <name> tagger`.
    Tag,
    /// A ref's name: `ref <name>` (the secret in it masked).
    Ref,
    /// A file's path (the secret in it masked): the file is named by its path.
    Path,
}

impl Place {
    /// The word reports show for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Place::Commit => "commit",
            Place::Tag => "tag",
            Place::Ref => "ref",
            Place::Path => "path",
        }
    }
}

fn encodings<S: serde::Serializer>(e: &[Encoding], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(e.iter().map(|e| e.as_str()))
}

impl Finding {
    /// The file on disk (or in the commit) that holds the secret: [`Finding::file`] without the
    /// archive members.
    pub fn outer_file(&self) -> &str {
        let mut f = self.file.as_str();
        for m in self.archive.iter().rev() {
            f = f
                .strip_suffix(m.as_str())
                .and_then(|f| f.strip_suffix('!'))
                .unwrap_or(f);
        }
        f
    }

    /// Builds the fingerprint and content hash from the other fields.
    pub fn seal(mut self) -> Self {
        self.reseal();
        self
    }

    /// [`Finding::seal`] in place, after a position changed.
    pub(crate) fn reseal(&mut self) {
        self.fingerprint = match &self.commit {
            Some(c) => format!("{c}:{}:{}:{}", self.file, self.rule, self.line),
            None => format!("{}:{}:{}", self.file, self.rule, self.line),
        };
        self.hash = content_hash(&self.rule, &self.file, self.secret.expose_secret());
    }
}

/// The content hash: the first 16 bytes of SHA-256 over a version tag, the rule, the file and the
/// secret, in hex. It identifies a finding across line moves without revealing the secret.
pub fn content_hash(rule: &str, file: &str, secret: &str) -> String {
    let mut h = Sha256::new();
    for part in ["vigil-finding-v1", rule, file, secret] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
