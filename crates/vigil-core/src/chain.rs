//! An append-only, hash-chained log of JSON lines whose head (last `seq` and hash) is kept in a
//! separate file, so an edited, deleted, reordered, inserted or cut-off line is detected.
//!
//! Each line is one JSON object: `{"seq":N,"prev":"<hex>",…fields…,"hash":"<hex>"}`. `hash` is
//! the SHA-256 of the exact bytes of the line without its `,"hash":"…"` suffix (closed with `}`),
//! so verification never depends on how a JSON library orders or spaces keys; `prev` is the
//! previous line's `hash` (64 zeros for the first). After every append the head file records
//! `{"seq":N,"hash":"<hex>"}` (in one of two slots, written in place, so a torn write loses only
//! the newer): a log cut off after its last line, or rewritten whole with fresh hashes, no longer
//! ends where the head says.
//!
//! **Keyed or plain.** A plain chain hashes with SHA-256: it detects any edit that does not
//! recompute every hash after it, but whoever can write the log and its head can rewrite both
//! consistently. A keyed chain ([`Chain::with_key`]) uses HMAC-SHA256 under a key kept apart
//! from the log: without the key no line can be forged or re-hashed, so a whole-log rewrite is
//! found (every line fails). What no chain alone detects is a rollback to an earlier, genuine
//! state (log and head cut back together): compare the head with one recorded elsewhere
//! ([`Verification::anchored`]).
//!
//! **Fails closed on the whole log.** A session re-checks what changed since this process last
//! saw the log: nothing when the file is as it left it; only the new lines when the bytes it
//! verified are unchanged (another writer appended); the whole chain otherwise. A break
//! anywhere, not only at the tail, refuses the append.
//!
//! Appends are serialised across threads (a mutex) and processes (`flock` on the log file), and
//! are crash-safe: a line written without its head update is adopted by the next append once its
//! hash and link check out; a torn last line (no newline) that the head never confirmed is cut
//! away. A chain that does not check out is never appended to: [`Chain::append`] fails closed.
//!
//! ```
//! use vigil_core::chain::Chain;
//! let dir = std::env::temp_dir().join(format!("vigil-chain-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let chain = Chain::new(dir.join("audit.jsonl"), dir.join("audit.head"));
//! let mut fields = serde_json::Map::new();
//! fields.insert("tool".into(), "memory_write".into());
//! assert_eq!(chain.append(&fields).unwrap().seq, 1);
//! assert_eq!(chain.append(&fields).unwrap().seq, 2);
//! assert!(chain.verify().unwrap().is_intact());
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The `prev` of the first line: 64 zeros.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Names every line sets itself; callers' fields may not use them.
pub const RESERVED: &[&str] = &["seq", "prev", "hash"];

/// Bytes per head slot (the head file holds two).
const HEAD_SLOT: usize = 128;

/// The longest line read back (a line is a few hundred bytes; more is corruption).
const MAX_LINE: usize = 1 << 20;

/// Why the log could not be read or appended to.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// An I/O error on one of the files.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A caller's field uses a name the chain sets itself.
    #[error("field `{0}` is reserved by the log")]
    Reserved(String),
    /// The head file is not `{"seq":N,"hash":"…"}`.
    #[error("{0}: the head file is unreadable (run the audit verification)")]
    BadHead(PathBuf),
    /// The log and its head disagree in a way no crash explains: nothing is appended.
    #[error(
        "{path}: the log does not end where its head says ({detail}); run the audit verification"
    )]
    Diverged {
        /// The log file.
        path: PathBuf,
        /// What disagrees.
        detail: String,
    },
    /// The log no longer holds a line this process wrote or verified (see
    /// [`Chain::refusing_rollback`]): it was cut back, replaced or deleted while in use.
    #[error(
        "{path}: the log no longer holds seq {seq}, which this process wrote or verified (it was \
         cut back, replaced or deleted while in use); nothing is appended until it does again: \
         run the audit verification"
    )]
    RolledBack {
        /// The log file.
        path: PathBuf,
        /// The `seq` of the last line this process wrote or verified.
        seq: u64,
    },
}

/// The key of a keyed chain: 32 bytes, used as an HMAC-SHA256 key.
#[derive(Clone)]
pub struct ChainKey([u8; 32]);

impl ChainKey {
    /// A key from 32 bytes (derive them, e.g. with HKDF, from a secret kept apart from the log).
    pub fn new(bytes: [u8; 32]) -> ChainKey {
        ChainKey(bytes)
    }
}

impl std::fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChainKey([REDACTED])")
    }
}

impl Drop for ChainKey {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.0.zeroize();
    }
}

/// The head: the last line's `seq` and `hash`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Sequence number of the last line (1-based).
    pub seq: u64,
    /// Its hash, lowercase hex.
    pub hash: String,
}

/// One line as read back.
#[derive(Debug, Clone)]
pub struct Record {
    /// 1-based line number in the file.
    pub line: u64,
    /// `seq`.
    pub seq: u64,
    /// `prev`.
    pub prev: String,
    /// `hash` as written.
    pub hash: String,
    /// Every field, `seq`, `prev` and `hash` included.
    pub fields: Map<String, Value>,
}

/// What [`Chain::append`] wrote.
#[derive(Debug, Clone)]
pub struct Appended {
    /// The new line's `seq`.
    pub seq: u64,
    /// Its hash.
    pub hash: String,
}

/// One problem [`Chain::verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A line whose hash does not match its bytes, or that is not a chain line at all.
    Edited {
        /// 1-based line number.
        line: u64,
        /// Its `seq`, when readable.
        seq: Option<u64>,
    },
    /// Sequence numbers that appear nowhere in the log: deleted lines.
    Deleted {
        /// First missing `seq`.
        from: u64,
        /// Last missing `seq`.
        to: u64,
    },
    /// A line that stands out of its place (its `seq` is lower than the line before it).
    Reordered {
        /// 1-based line number.
        line: u64,
        /// Its `seq`.
        seq: u64,
    },
    /// The same `seq` twice.
    Duplicated {
        /// 1-based line number of the second one.
        line: u64,
        /// The `seq`.
        seq: u64,
    },
    /// A line whose `prev` is not the hash of the line before it (a line inserted, or one
    /// before it rewritten with a fresh hash).
    BrokenLink {
        /// 1-based line number.
        line: u64,
        /// Its `seq`.
        seq: u64,
    },
    /// The last line has no newline: a write that never finished.
    TornTail {
        /// 1-based line number.
        line: u64,
    },
    /// The log ends before the head: lines were cut off its end.
    TailCut {
        /// Last `seq` in the log (0 when empty).
        log_seq: u64,
        /// `seq` the head records.
        head_seq: u64,
    },
    /// The log goes on past the head (a line written without its head update).
    HeadBehind {
        /// Last `seq` in the log.
        log_seq: u64,
        /// `seq` the head records.
        head_seq: u64,
    },
    /// The line at the head's `seq` has another hash: the log was rewritten.
    HeadMismatch {
        /// The `seq`.
        seq: u64,
    },
    /// Lines exist but the head file does not.
    HeadMissing,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Edited { line, seq: Some(s) } => write!(
                f,
                "line {line} (seq {s}): edited (its hash does not match its content), or the \
                 audit key is missing or wrong"
            ),
            Problem::Edited { line, seq: None } => {
                write!(f, "line {line}: edited (not a chain line)")
            }
            Problem::Deleted { from, to } if from == to => write!(f, "seq {from}: deleted"),
            Problem::Deleted { from, to } => write!(f, "seq {from}..{to}: deleted"),
            Problem::Reordered { line, seq } => {
                write!(f, "line {line} (seq {seq}): out of order (reordered)")
            }
            Problem::Duplicated { line, seq } => write!(f, "line {line} (seq {seq}): duplicated"),
            Problem::BrokenLink { line, seq } => write!(
                f,
                "line {line} (seq {seq}): does not link to the line before (inserted or rewritten)"
            ),
            Problem::TornTail { line } => write!(f, "line {line}: torn (no newline)"),
            Problem::TailCut { log_seq, head_seq } => write!(
                f,
                "the log ends at seq {log_seq} but its head records seq {head_seq}: the tail was cut off"
            ),
            Problem::HeadBehind { log_seq, head_seq } => write!(
                f,
                "the log goes on to seq {log_seq} past its head (seq {head_seq})"
            ),
            Problem::HeadMismatch { seq } => write!(
                f,
                "seq {seq}: the line's hash is not the one the head records (the log was rewritten)"
            ),
            Problem::HeadMissing => write!(f, "the head file is missing"),
        }
    }
}

impl Problem {
    /// A stable code for JSON output.
    pub fn code(&self) -> &'static str {
        match self {
            Problem::Edited { .. } => "edited",
            Problem::Deleted { .. } => "deleted",
            Problem::Reordered { .. } => "reordered",
            Problem::Duplicated { .. } => "duplicated",
            Problem::BrokenLink { .. } => "broken_link",
            Problem::TornTail { .. } => "torn_tail",
            Problem::TailCut { .. } => "tail_cut",
            Problem::HeadBehind { .. } => "head_behind",
            Problem::HeadMismatch { .. } => "head_mismatch",
            Problem::HeadMissing => "head_missing",
        }
    }
}

/// The outcome of [`Chain::verify`].
#[derive(Debug, Clone)]
pub struct Verification {
    /// Lines read.
    pub lines: u64,
    /// Records whose own hash checks out, in file order.
    pub records: Vec<Record>,
    /// The head file, if present and readable.
    pub head: Option<Head>,
    /// Every problem, in file order, then the head's.
    pub problems: Vec<Problem>,
    /// The highest `seq` up to which the chain is whole: lines `1..=trusted` are in order, each
    /// hash checks out, each links to the one before, and the head confirms it (0 when nothing
    /// can be trusted, e.g. the head's line was rewritten). Lines past it must not be believed.
    pub trusted: u64,
    /// Whether the lines were checked with a key (HMAC-SHA256) or plain SHA-256.
    pub keyed: bool,
}

impl Verification {
    /// No problem at all.
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }

    /// Whether the line `seq` with `hash` (a head recorded elsewhere earlier) is part of the
    /// trusted chain: the log has not been rolled back or rewritten before it.
    pub fn anchored(&self, seq: u64, hash: &str) -> bool {
        seq <= self.trusted
            && self
                .records
                .iter()
                .any(|r| r.seq == seq && r.hash.eq_ignore_ascii_case(hash))
    }

    /// The record of `seq`, if its line reads back and lies within [`Verification::trusted`].
    pub fn is_trusted(&self, seq: u64) -> bool {
        seq <= self.trusted
    }
}

/// The chain locked for appending (see [`Chain::session`]); unlocked on drop.
#[derive(Debug)]
pub struct Session<'a> {
    chain: &'a Chain,
    /// The log, locked; handed back to the chain's state when the session ends.
    file: Option<File>,
    head: Option<Head>,
    guard: std::sync::MutexGuard<'a, State>,
}

impl Session<'_> {
    /// The head the next line extends.
    pub fn head(&self) -> Option<&Head> {
        self.head.as_ref()
    }

    /// Appends one line holding `fields`; the session may append again.
    pub fn append(&mut self, fields: &Map<String, Value>) -> Result<Appended, ChainError> {
        if let Some(k) = fields.keys().find(|k| RESERVED.contains(&k.as_str())) {
            return Err(ChainError::Reserved(k.clone()));
        }
        let file = self.file.as_mut().expect("a live session holds the log");
        let state = &mut *self.guard;
        let (a, line) = self
            .chain
            .append_locked(file, &mut state.head, &self.head, fields)?;
        if let Some(k) = state.known.as_mut() {
            k.extend(line.as_bytes(), a.seq, &a.hash);
            k.ctime = ctime_of(file);
        }
        self.head = Some(Head {
            seq: a.seq,
            hash: a.hash.clone(),
        });
        self.chain.remember(state, self.head.clone());
        Ok(a)
    }

    /// Appends one line per map of `batch` in one write, with one flush to disk for the whole
    /// batch (the log, then the head) instead of one per line: for writers that gather lines
    /// (the gateway's audit) and must not pay an fsync per line. Returns the last line's head.
    pub fn append_batch(
        &mut self,
        batch: &[Map<String, Value>],
    ) -> Result<Option<Appended>, ChainError> {
        if let Some(k) = batch
            .iter()
            .flat_map(|f| f.keys())
            .find(|k| RESERVED.contains(&k.as_str()))
        {
            return Err(ChainError::Reserved(k.clone()));
        }
        let members: Vec<String> = batch.iter().map(members_of).collect();
        self.append_batch_members(&members)
    }

    /// [`Session::append_batch`] for a writer that writes each line's fields itself rather
    /// than build a map per line: each item is the members of one JSON object (`"key":value`
    /// pairs joined by commas, no braces), none of them a reserved name; the caller
    /// guarantees that shape (verification reads every line back as an object).
    pub fn append_batch_members(
        &mut self,
        batch: &[String],
    ) -> Result<Option<Appended>, ChainError> {
        let (mut seq, mut prev) = match &self.head {
            Some(h) => (h.seq, h.hash.clone()),
            None => (0, GENESIS.to_owned()),
        };
        let mut text = std::mem::take(&mut self.guard.text.0);
        text.clear();
        for members in batch {
            seq += 1;
            let hash = push_line(self.chain.key.as_ref(), seq, &prev, members, &mut text);
            text.push('\n');
            prev = hash;
        }
        if batch.is_empty() {
            return Ok(None);
        }
        let chain = self.chain;
        let file = self.file.as_mut().expect("a live session holds the log");
        let state = &mut *self.guard;
        file.write_all(text.as_bytes()).map_err(io(&chain.log))?;
        if chain.fsync {
            file.sync_data().map_err(io(&chain.log))?;
        }
        let head = Head { seq, hash: prev };
        chain.write_head(&mut state.head, &head)?;
        if let Some(k) = state.known.as_mut() {
            k.extend(text.as_bytes(), seq, &head.hash);
            k.ctime = ctime_of(file);
        }
        let a = Appended {
            seq,
            hash: head.hash.clone(),
        };
        chain.remember(state, Some(head.clone()));
        if text.capacity() <= TEXT_KEPT {
            state.text = Scratch(text);
        }
        self.head = Some(head);
        Ok(Some(a))
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        if let Some(f) = self.file.take() {
            // Kept open for the next session, which checks it is still the file at the path.
            if f.unlock().is_ok() {
                self.guard.log = Some(f);
            }
        }
    }
}

/// A hash-chained log: the log file and its head file.
#[derive(Debug)]
pub struct Chain {
    log: PathBuf,
    head: PathBuf,
    fsync: bool,
    key: Option<ChainKey>,
    /// Whether a log that no longer holds the last line this process wrote or verified is
    /// refused ([`Chain::refusing_rollback`]).
    floor: bool,
    /// The log as this process last verified or wrote it, and the log and head files kept
    /// open between sessions (behind the append lock).
    lock: Mutex<State>,
}

/// What a chain keeps between sessions: what it verified, and its two files, open. A kept file
/// is used again only while the path still names it (same device and inode, a regular file,
/// not a link): a log or head replaced, deleted or swapped for a link is opened afresh, as
/// before, so every check still applies to the file at the path.
#[derive(Debug, Default)]
pub struct State {
    known: Option<Known>,
    log: Option<File>,
    head: Option<File>,
    /// The last line this process wrote or found at the end of a checked log (with
    /// [`Chain::refusing_rollback`]): every later log must still hold it.
    floor: Option<Head>,
    /// The text of the last batch written, its memory kept for the next one: a gateway writes a
    /// batch of thousands of lines ten times a second, and a fresh megabyte each time is a
    /// page fault per page.
    text: Scratch,
}

/// Memory for a batch's text; its `Debug` shows only the size.
#[derive(Default)]
struct Scratch(String);

impl std::fmt::Debug for Scratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Scratch({} bytes)", self.0.capacity())
    }
}

/// A batch's text memory kept for the next batch up to this size.
const TEXT_KEPT: usize = 8 << 20;

/// The last line each log (by path) was seen to end with by a writer refusing rollback in this
/// process ([`Chain::refusing_rollback`]).
fn floors() -> &'static Mutex<std::collections::HashMap<PathBuf, Head>> {
    static FLOORS: std::sync::OnceLock<Mutex<std::collections::HashMap<PathBuf, Head>>> =
        std::sync::OnceLock::new();
    FLOORS.get_or_init(Default::default)
}

/// Whether `path` (not followed) still names the open file `f`.
fn same_file(f: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::symlink_metadata(path), f.metadata()) {
        (Ok(p), Ok(m)) => p.file_type().is_file() && p.dev() == m.dev() && p.ino() == m.ino(),
        _ => false,
    }
}

/// What this process knows to be verified: the log's first `len` bytes (whole lines), their
/// digest, and the last of those lines.
#[derive(Debug, Clone)]
pub struct Known {
    ino: u64,
    len: u64,
    ctime: (i64, i64),
    digest: Sha256,
    last: Option<(u64, String)>,
}

impl Known {
    fn extend(&mut self, bytes: &[u8], seq: u64, hash: &str) {
        self.digest.update(bytes);
        self.len += bytes.len() as u64;
        self.last = Some((seq, hash.to_owned()));
    }
}

fn ctime_of(f: &File) -> (i64, i64) {
    use std::os::unix::fs::MetadataExt;
    f.metadata().map_or((0, 0), |m| (m.ctime(), m.ctime_nsec()))
}

/// Opens without following a link at the last component.
fn nofollow(o: &mut OpenOptions) -> &mut OpenOptions {
    o.custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
}

fn read_nofollow(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut f = nofollow(OpenOptions::new().read(true)).open(path)?;
    let mut v = Vec::new();
    f.read_to_end(&mut v)?;
    Ok(v)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ChainError + '_ {
    move |source| ChainError::Io {
        path: path.to_owned(),
        source,
    }
}

/// SHA-256 of `bytes` as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// `bytes` as lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

fn is_hash(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A checked line: `seq`, `prev`, `hash` and every field.
pub type Parsed = (u64, String, String, Map<String, Value>);

/// The hash of a line's body: HMAC-SHA256 under `key`, or SHA-256.
fn digest_hex(key: Option<&ChainKey>, body: &[u8]) -> String {
    match key {
        None => sha256_hex(body),
        Some(k) => {
            let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&k.0).expect("any key length");
            m.update(body);
            hex(&m.finalize().into_bytes())
        }
    }
}

/// Checks one line of a plain chain (without its newline): its hash suffix, its bytes, and its
/// `seq` and `prev`. `Err` carries the `seq` when it could be read.
pub fn parse_line(text: &str) -> Result<Parsed, Option<u64>> {
    parse_line_with(None, text)
}

/// [`parse_line`] for a chain keyed with `key` (`None`: plain).
pub fn parse_line_with(key: Option<&ChainKey>, text: &str) -> Result<Parsed, Option<u64>> {
    let seq_of = |t: &str| {
        serde_json::from_str::<Map<String, Value>>(t)
            .ok()
            .and_then(|m| m.get("seq").and_then(Value::as_u64))
    };
    const TAIL: usize = r#","hash":""}"#.len() + 64;
    if text.len() < TAIL || !text.ends_with("\"}") {
        return Err(seq_of(text));
    }
    let cut = text.len() - TAIL;
    let (body_part, suffix) = text.split_at(cut);
    let Some(hash) = suffix
        .strip_prefix(r#","hash":""#)
        .and_then(|s| s.strip_suffix("\"}"))
    else {
        return Err(seq_of(text));
    };
    if !is_hash(hash) {
        return Err(seq_of(text));
    }
    let body = format!("{body_part}}}");
    if digest_hex(key, body.as_bytes()) != hash {
        return Err(seq_of(text));
    }
    let fields: Map<String, Value> = serde_json::from_str(text).map_err(|_| None)?;
    let seq = fields.get("seq").and_then(Value::as_u64).ok_or(None)?;
    let prev = fields
        .get("prev")
        .and_then(Value::as_str)
        .filter(|p| is_hash(p))
        .ok_or(Some(seq))?
        .to_owned();
    Ok((seq, prev, hash.to_owned(), fields))
}

/// The members of a JSON object holding `fields` (`"key":value` joined by commas).
fn members_of(fields: &Map<String, Value>) -> String {
    let mut out = String::new();
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&Value::String(k.clone()).to_string());
        out.push(':');
        out.push_str(&v.to_string());
    }
    out
}

/// Builds one line (without newline) and its hash.
fn build_line(
    key: Option<&ChainKey>,
    seq: u64,
    prev: &str,
    fields: &Map<String, Value>,
) -> (String, String) {
    let mut body = String::new();
    let hash = push_line(key, seq, prev, &members_of(fields), &mut body);
    (body, hash)
}

/// Appends one line (without newline) with these object members to `out`; returns its hash.
fn push_line(
    key: Option<&ChainKey>,
    seq: u64,
    prev: &str,
    members: &str,
    out: &mut String,
) -> String {
    use std::fmt::Write as _;
    let start = out.len();
    let _ = write!(out, r#"{{"seq":{seq},"prev":"{prev}""#);
    if !members.is_empty() {
        out.push(',');
        out.push_str(members);
    }
    out.push('}');
    let hash = digest_hex(key, &out.as_bytes()[start..]);
    out.pop();
    out.push_str(r#","hash":""#);
    out.push_str(&hash);
    out.push_str("\"}");
    hash
}

impl Chain {
    /// A chain over `log` and its `head` file (neither need exist yet). Every append is
    /// fsynced unless [`Chain::with_fsync`] says otherwise.
    pub fn new(log: impl Into<PathBuf>, head: impl Into<PathBuf>) -> Chain {
        Chain {
            log: log.into(),
            head: head.into(),
            fsync: true,
            key: None,
            floor: false,
            lock: Mutex::new(State::default()),
        }
    }

    /// Keys the chain: every line's hash becomes an HMAC-SHA256 under `key`, so nobody without
    /// the key can write a line that verifies. `None` keeps plain SHA-256. A log is verified
    /// with the key it was written with.
    pub fn with_key(mut self, key: Option<ChainKey>) -> Chain {
        self.key = key;
        self
    }

    /// Makes a long-lived writer refuse a log that went back: once a session has checked or
    /// extended the log, every later session requires the log to still hold that last line
    /// (same `seq`, same hash). A log cut back to an earlier state (with its head), replaced, or
    /// deleted with its head while this process uses it is refused
    /// ([`ChainError::RolledBack`]) instead of being extended as if nothing happened, and a
    /// deleted log is not created again. Lines appended by other writers are taken as before.
    ///
    /// What the process wrote or checked is remembered per log path for the life of the process,
    /// so a second writer over the same log (the gateway builds one on every reload) starts from
    /// it: a log cut back or deleted and then reloaded is refused too.
    pub fn refusing_rollback(mut self) -> Chain {
        self.floor = true;
        let seen = floors()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&self.log)
            .cloned();
        self.lock.get_mut().unwrap_or_else(|p| p.into_inner()).floor = seen;
        self
    }

    /// Records `head` as the last line of this chain's log this process knows (see
    /// [`Chain::refusing_rollback`]).
    fn remember(&self, state: &mut State, head: Option<Head>) {
        if !self.floor {
            return;
        }
        if let Some(h) = &head {
            floors()
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(self.log.clone(), h.clone());
        }
        state.floor = head;
    }

    /// Whether the chain is keyed.
    pub fn is_keyed(&self) -> bool {
        self.key.is_some()
    }

    /// HMAC-SHA256 of `bytes` under the chain's key, kept apart from the lines' hashes by
    /// `domain` (so a MAC made for one use never verifies as a line or as another use), as
    /// lowercase hex; `None` for a plain chain. For records that travel beside the log (a
    /// writer's crash journal) and must come from a holder of the key.
    pub fn mac(&self, domain: &str, bytes: &[u8]) -> Option<String> {
        let k = self.key.as_ref()?;
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&k.0).expect("any key length");
        m.update(domain.as_bytes());
        m.update(&[0]);
        m.update(bytes);
        Some(hex(&m.finalize().into_bytes()))
    }

    /// Whether each append is flushed to disk (the log, the head and its directory) before it
    /// returns.
    pub fn with_fsync(mut self, fsync: bool) -> Chain {
        self.fsync = fsync;
        self
    }

    /// The log file.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The head file.
    pub fn head_path(&self) -> &Path {
        &self.head
    }

    /// The head file's content, if it exists: the newer of its two slots that reads back whole.
    pub fn head(&self) -> Result<Option<Head>, ChainError> {
        let text = match read_nofollow(&self.head) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(&self.head)(e)),
        };
        self.parse_head(&text)
    }

    /// The head through the kept head file (`slot`, checked against the path when the session
    /// began), or by path when none is kept.
    fn head_in(&self, slot: &Option<File>) -> Result<Option<Head>, ChainError> {
        use std::os::unix::fs::FileExt;
        let Some(f) = slot else {
            return self.head();
        };
        let mut buf = [0u8; 2 * HEAD_SLOT];
        let mut n = 0;
        loop {
            match f.read_at(&mut buf[n..], n as u64) {
                Ok(0) => break,
                Ok(k) => {
                    n += k;
                    if n == buf.len() {
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io(&self.head)(e)),
            }
        }
        if n == buf.len() && f.metadata().map_err(io(&self.head))?.len() > n as u64 {
            // Longer than two slots: read it whole, as by path.
            return self.head();
        }
        if n == 0 {
            return Ok(None);
        }
        self.parse_head(&buf[..n])
    }

    fn parse_head(&self, text: &[u8]) -> Result<Option<Head>, ChainError> {
        let parse = |slot: &[u8]| -> Option<Head> {
            let v: Value = serde_json::from_slice(slot.trim_ascii()).ok()?;
            let seq = v.get("seq").and_then(Value::as_u64)?;
            let hash = v
                .get("hash")
                .and_then(Value::as_str)
                .filter(|h| is_hash(h))?;
            Some(Head {
                seq,
                hash: hash.to_owned(),
            })
        };
        text.chunks(HEAD_SLOT)
            .filter_map(parse)
            .max_by_key(|h| h.seq)
            .map(Some)
            .ok_or_else(|| ChainError::BadHead(self.head.clone()))
    }

    /// Locks the chain (threads and processes), rolls a crash forward and checks that the
    /// chain can be extended; the session appends under that one lock. A caller that must not act
    /// unless the log can record it opens a session first, acts, then appends.
    pub fn session(&self) -> Result<Session<'_>, ChainError> {
        let mut guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let state = &mut *guard;
        let mut file = match state.log.take() {
            Some(f) if same_file(&f, &self.log) => f,
            _ => {
                // Not the file at the path any more (or never opened): what was known of it
                // is void too.
                state.known = None;
                // A log this process already wrote or checked is never created again.
                let floor = state.floor.as_ref().filter(|_| self.floor);
                nofollow(
                    OpenOptions::new()
                        .read(true)
                        .append(true)
                        .create(floor.is_none())
                        .mode(0o600),
                )
                .open(&self.log)
                .map_err(|e| match floor {
                    Some(f) if e.kind() == std::io::ErrorKind::NotFound => ChainError::RolledBack {
                        path: self.log.clone(),
                        seq: f.seq,
                    },
                    _ => io(&self.log)(e),
                })?
            }
        };
        if !state
            .head
            .as_ref()
            .is_some_and(|f| same_file(f, &self.head))
        {
            state.head = None;
        }
        file.lock().map_err(io(&self.log))?;
        let floor = state.floor.clone().filter(|_| self.floor);
        let checked = self
            .check_whole(&mut file, &mut state.known, floor.as_ref())
            .and_then(|bytes| {
                let fresh = if bytes.is_none() {
                    state.known.as_ref().and_then(|k| k.last.clone())
                } else {
                    None
                };
                Ok((self.recover(&mut file, &mut state.head, fresh)?, bytes))
            });
        match checked {
            Ok((head, bytes)) => {
                if let Some(bytes) = bytes {
                    state.known = self.known_from(&file, &bytes);
                }
                if head.is_some() {
                    self.remember(state, head.clone());
                }
                Ok(Session {
                    chain: self,
                    file: Some(file),
                    head,
                    guard,
                })
            }
            Err(e) => {
                state.known = None;
                state.head = None;
                let _ = file.unlock();
                Err(e)
            }
        }
    }

    /// Under the lock: checks what changed in the log since this process last saw it. Nothing
    /// read when the file is as it was; only the new lines when the verified bytes are unchanged;
    /// the whole chain otherwise (only a crash's traces, a torn last line or a line past the
    /// head, are let through, for [`Chain::recover`]). Returns the bytes read, if any.
    fn check_whole(
        &self,
        file: &mut File,
        known: &mut Option<Known>,
        floor: Option<&Head>,
    ) -> Result<Option<Vec<u8>>, ChainError> {
        use std::os::unix::fs::MetadataExt;
        let m = file.metadata().map_err(io(&self.log))?;
        let ctime = (m.ctime(), m.ctime_nsec());
        if let Some(k) = known.as_ref() {
            if k.ino == m.ino() && k.len == m.len() && k.ctime == ctime {
                return Ok(None);
            }
        }
        let mut bytes = Vec::with_capacity(m.len() as usize);
        file.seek(SeekFrom::Start(0)).map_err(io(&self.log))?;
        file.read_to_end(&mut bytes).map_err(io(&self.log))?;
        let diverged = |detail: String| ChainError::Diverged {
            path: self.log.clone(),
            detail,
        };
        if let Some(k) = known.take() {
            let same = k.ino == m.ino()
                && bytes.len() as u64 >= k.len
                && k.digest.clone().finalize()[..] == Sha256::digest(&bytes[..k.len as usize])[..];
            if same {
                // Another writer appended: the new whole lines must continue the chain.
                let mut last = k.last.clone();
                let rest = &bytes[k.len as usize..];
                let whole = rest.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
                for raw in rest[..whole]
                    .split(|b| *b == b'\n')
                    .filter(|l| !l.is_empty())
                {
                    let parsed = std::str::from_utf8(raw)
                        .map_err(|_| None)
                        .and_then(|t| parse_line_with(self.key.as_ref(), t));
                    let (want_seq, want_prev) = match &last {
                        Some((s, h)) => (s + 1, h.as_str()),
                        None => (1, GENESIS),
                    };
                    match parsed {
                        Ok((seq, prev, hash, _)) if seq == want_seq && prev == want_prev => {
                            last = Some((seq, hash));
                        }
                        _ => {
                            return Err(diverged(format!(
                                "seq {want_seq} is not the line that follows"
                            )))
                        }
                    }
                }
                return Ok(Some(bytes));
            }
        }
        let v = self.verify_bytes(&bytes, self.head());
        if let Some(f) = floor.filter(|f| f.seq > 0) {
            if !v.records.iter().any(|r| r.seq == f.seq && r.hash == f.hash) {
                return Err(ChainError::RolledBack {
                    path: self.log.clone(),
                    seq: f.seq,
                });
            }
        }
        // A crash's traces are for `recover`: a torn last line, a line past the head, the first
        // line written before its head.
        let crash_trace = |p: &Problem| match p {
            Problem::HeadBehind { .. } | Problem::TornTail { .. } => true,
            Problem::HeadMissing => v.lines <= 1,
            _ => false,
        };
        if let Some(p) = v.problems.iter().find(|p| !crash_trace(p)) {
            return Err(diverged(p.to_string()));
        }
        Ok(Some(bytes))
    }

    /// What this process knows after a check: the file as it is now, if its bytes are a prefix
    /// of `bytes` ending at a line boundary.
    fn known_from(&self, file: &File, bytes: &[u8]) -> Option<Known> {
        use std::os::unix::fs::MetadataExt;
        let m = file.metadata().ok()?;
        let len = m.len() as usize;
        if len > bytes.len() || (len > 0 && bytes[len - 1] != b'\n') {
            return None;
        }
        let prefix = &bytes[..len];
        let last = prefix
            .strip_suffix(b"\n")
            .and_then(|b| b.rsplit(|c| *c == b'\n').next())
            .and_then(|l| std::str::from_utf8(l).ok())
            .and_then(|l| parse_line_with(self.key.as_ref(), l).ok())
            .map(|(seq, _, hash, _)| (seq, hash));
        if len > 0 && last.is_none() {
            return None;
        }
        let mut digest = Sha256::new();
        digest.update(prefix);
        Some(Known {
            ino: m.ino(),
            len: len as u64,
            ctime: (m.ctime(), m.ctime_nsec()),
            digest,
            last,
        })
    }

    /// Begins a new, empty chain: creates the log (empty) and records a head of no lines
    /// (`seq` 0), so that this log emptied later with its head deleted is not taken for a new
    /// one. Refuses (`Diverged`) when the log or its head already exists.
    pub fn begin(&self) -> Result<(), ChainError> {
        if self.head()?.is_some() || std::fs::symlink_metadata(&self.log).is_ok() {
            return Err(ChainError::Diverged {
                path: self.log.clone(),
                detail: "a log or head is already there".into(),
            });
        }
        nofollow(OpenOptions::new().write(true).create_new(true).mode(0o600))
            .open(&self.log)
            .map_err(io(&self.log))?;
        // Not kept: the first session opens and checks both files as they are.
        self.write_head(
            &mut None,
            &Head {
                seq: 0,
                hash: GENESIS.to_owned(),
            },
        )
    }

    /// Checks that the chain can be extended ([`Chain::session`] without appending) and returns
    /// its head.
    pub fn ready(&self) -> Result<Option<Head>, ChainError> {
        Ok(self.session()?.head.clone())
    }

    /// Appends one line holding `fields` (after `seq` and `prev`, in the map's order) and moves
    /// the head to it. Refuses to extend a chain whose end does not match its head.
    pub fn append(&self, fields: &Map<String, Value>) -> Result<Appended, ChainError> {
        self.session()?.append(fields)
    }

    fn append_locked(
        &self,
        file: &mut File,
        head_file: &mut Option<File>,
        head: &Option<Head>,
        fields: &Map<String, Value>,
    ) -> Result<(Appended, String), ChainError> {
        let (seq, prev) = match head {
            Some(h) => (h.seq + 1, h.hash.as_str()),
            None => (1, GENESIS),
        };
        let (mut line, hash) = build_line(self.key.as_ref(), seq, prev, fields);
        line.push('\n');
        file.write_all(line.as_bytes()).map_err(io(&self.log))?;
        if self.fsync {
            file.sync_data().map_err(io(&self.log))?;
        }
        self.write_head(
            head_file,
            &Head {
                seq,
                hash: hash.clone(),
            },
        )?;
        Ok((Appended { seq, hash }, line))
    }

    /// Under the lock: the head to extend, after rolling forward a line whose head update was
    /// lost and cutting a torn line the head never confirmed. `fresh` is the last line of a log
    /// this process verified and that has not changed since: when the head names it, nothing
    /// more is read.
    fn recover(
        &self,
        file: &mut File,
        head_file: &mut Option<File>,
        fresh: Option<(u64, String)>,
    ) -> Result<Option<Head>, ChainError> {
        let head = self.head_in(head_file)?;
        if let (Some(h), Some((seq, hash))) = (&head, &fresh) {
            if h.seq == *seq && h.hash == *hash {
                return Ok(head);
            }
        }
        let len = file.metadata().map_err(io(&self.log))?.len();
        let diverged = |detail: String| ChainError::Diverged {
            path: self.log.clone(),
            detail,
        };
        if len == 0 {
            return match head {
                None => Ok(None),
                // A chain begun empty ([`Chain::begin`]).
                Some(h) if h.seq == 0 => Ok(Some(h)),
                Some(h) => Err(diverged(format!(
                    "the log is empty, the head records seq {}",
                    h.seq
                ))),
            };
        }
        let (tail, tail_start) = read_tail(file, len).map_err(io(&self.log))?;
        let mut lines: Vec<&str> = tail.split('\n').collect();
        // `tail` starts at a line boundary; the last element is "" when the file ends in '\n'.
        let torn = lines.pop().filter(|t| !t.is_empty());
        let last = lines.last().copied();
        let key = self.key.as_ref();
        let last_parsed = last.map(|l| parse_line_with(key, l));
        let matches = |h: &Head| matches!(&last_parsed, Some(Ok((seq, _, hash, _))) if *seq == h.seq && *hash == h.hash);
        let before_last = || {
            if lines.len() >= 2 {
                lines.get(lines.len() - 2).map(|l| parse_line_with(key, l))
            } else {
                None
            }
        };
        let head = match head {
            Some(h) if matches(&h) => Some(h),
            // A line appended whose head update was lost: adopt it if it extends the head.
            Some(h) => match &last_parsed {
                Some(Ok((seq, prev, hash, _))) if *seq == h.seq + 1 && *prev == h.hash => {
                    let confirmed = matches!(before_last(), Some(Ok((s, _, hh, _))) if s == h.seq && hh == h.hash)
                        || h.seq == 0;
                    if !confirmed {
                        return Err(diverged(format!("seq {} is not in the log", h.seq)));
                    }
                    let adopted = Head {
                        seq: *seq,
                        hash: hash.clone(),
                    };
                    self.write_head(head_file, &adopted)?;
                    Some(adopted)
                }
                _ => {
                    return Err(diverged(format!(
                        "its last line is not seq {} with the recorded hash",
                        h.seq
                    )))
                }
            },
            None => match (&last_parsed, lines.len()) {
                // The first line ever, written before the head was: adopt it.
                (Some(Ok((1, prev, hash, _))), 1) if prev == GENESIS && tail_start == 0 => {
                    let adopted = Head {
                        seq: 1,
                        hash: hash.clone(),
                    };
                    self.write_head(head_file, &adopted)?;
                    Some(adopted)
                }
                (None, _) => None,
                _ => return Err(diverged("the head file is missing".into())),
            },
        };
        if let Some(t) = torn {
            // Never confirmed by the head: an unfinished write. Cut it away.
            let keep = len - t.len() as u64;
            file.set_len(keep).map_err(io(&self.log))?;
        }
        Ok(head)
    }

    /// Writes the head into slot `seq % 2` of the head file, in place (no new file per append):
    /// a write torn by a crash spoils only that slot, and the other still holds the head before
    /// it, which the next append rolls forward from the log.
    /// The head file is kept open in `kept` (checked against the path when each session
    /// begins).
    fn write_head(&self, kept: &mut Option<File>, head: &Head) -> Result<(), ChainError> {
        use std::os::unix::fs::FileExt;
        let mut slot = format!("{{\"seq\":{},\"hash\":\"{}\"}}", head.seq, head.hash).into_bytes();
        slot.resize(HEAD_SLOT - 1, b' ');
        slot.push(b'\n');
        if kept.is_none() {
            *kept = Some(
                nofollow(
                    OpenOptions::new()
                        .read(true)
                        .write(true)
                        .create(true)
                        .truncate(false)
                        .mode(0o600),
                )
                .open(&self.head)
                .map_err(io(&self.head))?,
            );
        }
        let f = kept.as_ref().expect("opened above");
        let offset = (head.seq % 2) * HEAD_SLOT as u64;
        f.write_all_at(&slot, offset).map_err(io(&self.head))?;
        if self.fsync {
            f.sync_data().map_err(io(&self.head))?;
        }
        Ok(())
    }

    /// Every line whose own hash checks out, in file order (no link or head checks: see
    /// [`Chain::verify`]). A missing log is empty.
    pub fn records(&self) -> Result<Vec<Record>, ChainError> {
        Ok(self.verify()?.records)
    }

    /// Recomputes the whole chain and compares its end with the head: every edited, deleted,
    /// reordered, duplicated or inserted line, a torn or cut-off tail, a rewritten log.
    pub fn verify(&self) -> Result<Verification, ChainError> {
        let bytes = match read_nofollow(&self.log) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io(&self.log)(e)),
        };
        Ok(self.verify_bytes(&bytes, self.head()))
    }

    fn verify_bytes(&self, bytes: &[u8], head: Result<Option<Head>, ChainError>) -> Verification {
        let head_missing = matches!(head, Ok(None));
        let head = head.ok().flatten();
        let mut problems = Vec::new();
        let mut records: Vec<Record> = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        let mut max_seq = 0u64;
        let mut prev_hash: Option<String> = None;
        let mut prev_seq = 0u64;
        let mut lines = 0u64;
        let ends_clean = bytes.is_empty() || bytes.ends_with(b"\n");
        let text_lines: Vec<&[u8]> = {
            let mut v: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
            if ends_clean {
                v.pop();
            }
            v
        };
        let count = text_lines.len();
        for (i, raw) in text_lines.into_iter().enumerate() {
            let line = i as u64 + 1;
            lines = line;
            if i + 1 == count && !ends_clean {
                problems.push(Problem::TornTail { line });
                break;
            }
            let parsed = std::str::from_utf8(raw)
                .map_err(|_| None)
                .and_then(|t| parse_line_with(self.key.as_ref(), t));
            match parsed {
                Err(seq) => {
                    problems.push(Problem::Edited { line, seq });
                    // The next line cannot link to an unknown hash; do not report it twice.
                    prev_hash = None;
                    if let Some(s) = seq {
                        seen.insert(s);
                        max_seq = max_seq.max(s);
                        prev_seq = s;
                    }
                }
                Ok((seq, prev, hash, fields)) => {
                    if !seen.insert(seq) {
                        problems.push(Problem::Duplicated { line, seq });
                    } else if seq < prev_seq {
                        problems.push(Problem::Reordered { line, seq });
                    } else if let Some(ph) = &prev_hash {
                        if seq == prev_seq + 1 && *ph != prev {
                            problems.push(Problem::BrokenLink { line, seq });
                        }
                    } else if line == 1 && seq == 1 && prev != GENESIS {
                        problems.push(Problem::BrokenLink { line, seq });
                    }
                    max_seq = max_seq.max(seq);
                    prev_seq = seq;
                    prev_hash = Some(hash.clone());
                    records.push(Record {
                        line,
                        seq,
                        prev,
                        hash,
                        fields,
                    });
                }
            }
        }
        // Sequence numbers never seen: deleted lines (a run of them is one problem).
        let mut run: Option<(u64, u64)> = None;
        let mut deleted = Vec::new();
        for s in 1..=max_seq {
            if seen.contains(&s) {
                if let Some(r) = run.take() {
                    deleted.push(r);
                }
            } else {
                run = Some(match run {
                    Some((a, _)) => (a, s),
                    None => (s, s),
                });
            }
        }
        if let Some(r) = run {
            deleted.push(r);
        }
        problems.extend(
            deleted
                .into_iter()
                .map(|(from, to)| Problem::Deleted { from, to }),
        );
        match &head {
            None if head_missing && lines > 0 => problems.push(Problem::HeadMissing),
            None if lines > 0 => problems.push(Problem::HeadMismatch { seq: max_seq }),
            None => {}
            Some(h) => {
                if max_seq < h.seq {
                    problems.push(Problem::TailCut {
                        log_seq: max_seq,
                        head_seq: h.seq,
                    });
                } else {
                    match records.iter().find(|r| r.seq == h.seq) {
                        Some(r) if r.hash == h.hash => {}
                        Some(_) => problems.push(Problem::HeadMismatch { seq: h.seq }),
                        None if h.seq == 0 => {}
                        // The head's line is unreadable (edited): already reported.
                        None => {}
                    }
                    if max_seq > h.seq {
                        problems.push(Problem::HeadBehind {
                            log_seq: max_seq,
                            head_seq: h.seq,
                        });
                    }
                }
            }
        }
        // The whole prefix: in order, linked from the genesis, and confirmed by the head.
        let mut whole = 0u64;
        let mut expect = GENESIS.to_owned();
        for r in &records {
            if r.seq != whole + 1 || r.prev != expect {
                break;
            }
            whole = r.seq;
            expect = r.hash.clone();
        }
        let trusted = match &head {
            Some(h) if h.seq <= whole => {
                let ok = h.seq == 0 || records.iter().any(|r| r.seq == h.seq && r.hash == h.hash);
                if ok {
                    h.seq
                } else {
                    0
                }
            }
            _ => 0,
        };
        Verification {
            lines,
            records,
            head,
            problems,
            trusted,
            keyed: self.key.is_some(),
        }
    }
}

/// The end of the file from a line boundary: at least the last two lines (for crash
/// recovery), and the offset it starts at.
fn read_tail(file: &mut File, len: u64) -> std::io::Result<(String, u64)> {
    let mut want: u64 = 8192;
    loop {
        let start = len.saturating_sub(want);
        file.seek(SeekFrom::Start(start))?;
        let mut buf = Vec::with_capacity((len - start) as usize);
        file.take(len - start).read_to_end(&mut buf)?;
        // Newlines, not counting a final one: we need two complete lines after a boundary.
        let body = buf.strip_suffix(b"\n").unwrap_or(&buf);
        let newlines = body.iter().filter(|b| **b == b'\n').count();
        if start == 0 || newlines >= 3 || want as usize >= 2 * MAX_LINE {
            let cut = if start == 0 {
                0
            } else {
                buf.iter().position(|b| *b == b'\n').map_or(0, |p| p + 1)
            };
            let text = String::from_utf8_lossy(&buf[cut..]).into_owned();
            return Ok((text, start + cut as u64));
        }
        want *= 4;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("vigil-chain-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn fields(n: u64) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("tool".into(), "memory_write".into());
        m.insert("path".into(), format!("notes/{n}.md").into());
        m
    }

    fn chain_of(dir: &Path, n: u64) -> Chain {
        let c = Chain::new(dir.join("log.jsonl"), dir.join("head.json")).with_fsync(false);
        for i in 0..n {
            c.append(&fields(i)).unwrap();
        }
        c
    }

    #[test]
    fn a_batch_is_the_same_chain_as_single_appends() {
        let dir = scratch("batch");
        let c = chain_of(&dir, 2);
        let batch: Vec<_> = (2..5).map(fields).collect();
        let a = c.session().unwrap().append_batch(&batch).unwrap().unwrap();
        assert_eq!(a.seq, 5);
        assert!(c.session().unwrap().append_batch(&[]).unwrap().is_none());
        c.append(&fields(5)).unwrap();
        let v = c.verify().unwrap();
        assert!(v.is_intact(), "{:?}", v.problems);
        assert_eq!((v.records.len(), v.trusted), (6, 6));
        // Another process's view (no memory of what this one wrote) agrees.
        let other = Chain::new(dir.join("log.jsonl"), dir.join("head.json"));
        assert!(other.verify().unwrap().is_intact());
        assert_eq!(other.ready().unwrap().unwrap().seq, 6);
        let mut bad = fields(9);
        bad.insert("seq".into(), 1.into());
        assert!(matches!(
            c.session().unwrap().append_batch(&[bad]),
            Err(ChainError::Reserved(_))
        ));
    }

    fn lines(c: &Chain) -> Vec<String> {
        std::fs::read_to_string(c.log_path())
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn put(c: &Chain, lines: &[String]) {
        let mut t = lines.join("\n");
        t.push('\n');
        std::fs::write(c.log_path(), t).unwrap();
    }

    fn codes(c: &Chain) -> Vec<&'static str> {
        c.verify()
            .unwrap()
            .problems
            .iter()
            .map(|p| p.code())
            .collect()
    }

    #[test]
    fn appends_link_and_verify() {
        let dir = scratch("ok");
        let c = chain_of(&dir, 5);
        let v = c.verify().unwrap();
        assert!(v.is_intact(), "{:?}", v.problems);
        assert_eq!(v.records.len(), 5);
        assert_eq!(v.records[0].prev, GENESIS);
        assert_eq!(v.records[1].prev, v.records[0].hash);
        assert_eq!(v.head.unwrap().seq, 5);
        assert_eq!(v.records[2].fields["path"], "notes/2.md");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_edited_line_is_found() {
        let dir = scratch("edit");
        let c = chain_of(&dir, 5);
        let mut l = lines(&c);
        l[2] = l[2].replace("notes/2.md", "notes/X.md");
        put(&c, &l);
        assert_eq!(codes(&c), ["edited"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_edited_line_with_a_recomputed_hash_breaks_the_next_link() {
        let dir = scratch("rehash");
        let c = chain_of(&dir, 5);
        let mut l = lines(&c);
        let r = parse_line(&l[2]).unwrap();
        let mut f = r.3.clone();
        for k in RESERVED {
            f.remove(*k);
        }
        f.insert("path".into(), "notes/forged.md".into());
        l[2] = build_line(None, r.0, &r.1, &f).0;
        put(&c, &l);
        assert_eq!(codes(&c), ["broken_link"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_deleted_line_is_found() {
        let dir = scratch("delete");
        let c = chain_of(&dir, 5);
        let mut l = lines(&c);
        l.remove(1);
        put(&c, &l);
        assert_eq!(codes(&c), ["deleted"]);
        assert_eq!(
            c.verify().unwrap().problems[0],
            Problem::Deleted { from: 2, to: 2 }
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_reordered_pair_is_found() {
        let dir = scratch("reorder");
        let c = chain_of(&dir, 5);
        let mut l = lines(&c);
        l.swap(1, 2);
        put(&c, &l);
        let v = c.verify().unwrap();
        assert!(
            v.problems.contains(&Problem::Reordered { line: 3, seq: 2 }),
            "{:?}",
            v.problems
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn kept_files_are_dropped_when_the_path_names_another_file_or_a_link() {
        let dir = scratch("kept");
        let c = chain_of(&dir, 3);
        // Replaced by a copy without its last line (a new inode, same size class): the kept
        // log is not used, the copy is checked and refused.
        let l = lines(&c);
        let copy = dir.join("copy");
        std::fs::write(&copy, l[..2].join("\n") + "\n").unwrap();
        std::fs::rename(&copy, c.log_path()).unwrap();
        assert!(matches!(
            c.append(&fields(9)),
            Err(ChainError::Diverged { .. })
        ));
        // Put back whole, then the head swapped for a link to a forged one: refused, not
        // written through the kept file.
        let whole = dir.join("whole");
        std::fs::write(&whole, l.join("\n") + "\n").unwrap();
        std::fs::rename(&whole, c.log_path()).unwrap();
        assert_eq!(c.append(&fields(4)).unwrap().seq, 4);
        let real = dir.join("real-head");
        std::fs::rename(c.head_path(), &real).unwrap();
        std::os::unix::fs::symlink(&real, c.head_path()).unwrap();
        assert!(c.append(&fields(5)).is_err());
        std::fs::remove_file(c.head_path()).unwrap();
        std::fs::rename(&real, c.head_path()).unwrap();
        assert_eq!(c.append(&fields(5)).unwrap().seq, 5);
        assert!(c.verify().unwrap().is_intact());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_writer_refusing_rollback_never_extends_a_log_that_went_back() {
        let dir = scratch("floor");
        let c = Chain::new(dir.join("log.jsonl"), dir.join("head.json"))
            .with_fsync(false)
            .refusing_rollback();
        for i in 0..2 {
            c.append(&fields(i)).unwrap();
        }
        let (log1, head1) = (
            std::fs::read(c.log_path()).unwrap(),
            std::fs::read(c.head_path()).unwrap(),
        );
        for i in 2..5 {
            c.append(&fields(i)).unwrap();
        }
        let (log5, head5) = (
            std::fs::read(c.log_path()).unwrap(),
            std::fs::read(c.head_path()).unwrap(),
        );
        // Log and head put back together to an earlier genuine state: it verifies, but this
        // writer wrote seq 5 and refuses.
        std::fs::write(c.log_path(), &log1).unwrap();
        std::fs::write(c.head_path(), &head1).unwrap();
        assert!(c.verify().unwrap().is_intact());
        assert!(matches!(
            c.append(&fields(9)),
            Err(ChainError::RolledBack { seq: 5, .. })
        ));
        // Both files deleted: not begun again (no new log without a genesis of its own).
        std::fs::remove_file(c.log_path()).unwrap();
        std::fs::remove_file(c.head_path()).unwrap();
        assert!(matches!(
            c.append(&fields(9)),
            Err(ChainError::RolledBack { seq: 5, .. })
        ));
        assert!(!c.log_path().exists());
        // A new log begun by someone else is not the one written either.
        let other = Chain::new(c.log_path(), c.head_path()).with_fsync(false);
        other.append(&fields(7)).unwrap();
        assert!(matches!(
            c.append(&fields(9)),
            Err(ChainError::RolledBack { seq: 5, .. })
        ));
        // Put back as it was: written again; another writer's appends are taken.
        std::fs::write(c.log_path(), &log5).unwrap();
        std::fs::write(c.head_path(), &head5).unwrap();
        assert_eq!(c.append(&fields(5)).unwrap().seq, 6);
        assert_eq!(other.append(&fields(6)).unwrap().seq, 7);
        assert_eq!(c.append(&fields(7)).unwrap().seq, 8);
        assert!(c.verify().unwrap().is_intact());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// bb-gw-s10 F1/F2: the gateway builds a new writer on every reload; a log cut back (or
    /// deleted) before the reload is refused by the new writer too, since the process remembers
    /// what it wrote to that path.
    #[test]
    fn a_new_writer_in_the_same_process_remembers_what_the_last_one_wrote() {
        let dir = scratch("floor-reload");
        let open = || {
            Chain::new(dir.join("log.jsonl"), dir.join("head.json"))
                .with_fsync(false)
                .refusing_rollback()
        };
        let c = open();
        c.append(&fields(0)).unwrap();
        let (log1, head1) = (
            std::fs::read(c.log_path()).unwrap(),
            std::fs::read(c.head_path()).unwrap(),
        );
        for i in 1..4 {
            c.append(&fields(i)).unwrap();
        }
        drop(c);
        std::fs::write(dir.join("log.jsonl"), &log1).unwrap();
        std::fs::write(dir.join("head.json"), &head1).unwrap();
        let reloaded = open();
        assert!(matches!(
            reloaded.append(&fields(9)),
            Err(ChainError::RolledBack { seq: 4, .. })
        ));
        std::fs::remove_file(dir.join("log.jsonl")).unwrap();
        std::fs::remove_file(dir.join("head.json")).unwrap();
        assert!(matches!(
            open().append(&fields(9)),
            Err(ChainError::RolledBack { seq: 4, .. })
        ));
        assert!(!dir.join("log.jsonl").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_cut_off_tail_is_found_and_never_extended() {
        let dir = scratch("cut");
        let c = chain_of(&dir, 5);
        let mut l = lines(&c);
        l.truncate(3);
        put(&c, &l);
        assert_eq!(
            c.verify().unwrap().problems,
            [Problem::TailCut {
                log_seq: 3,
                head_seq: 5
            }]
        );
        assert!(matches!(
            c.append(&fields(7)),
            Err(ChainError::Diverged { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_log_rewritten_whole_is_found_by_its_head() {
        let dir = scratch("rewrite");
        let c = chain_of(&dir, 3);
        let head = std::fs::read(c.head_path()).unwrap();
        std::fs::remove_file(c.log_path()).unwrap();
        std::fs::remove_file(c.head_path()).unwrap();
        let forged = Chain::new(c.log_path(), c.head_path()).with_fsync(false);
        for i in 10..13 {
            forged.append(&fields(i)).unwrap();
        }
        std::fs::write(c.head_path(), head).unwrap();
        assert_eq!(codes(&c), ["head_mismatch"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_line_without_its_head_update_is_adopted() {
        let dir = scratch("adopt");
        let c = chain_of(&dir, 3);
        let head = std::fs::read(c.head_path()).unwrap();
        c.append(&fields(3)).unwrap();
        std::fs::write(c.head_path(), head).unwrap(); // as if the crash came before the head
        assert_eq!(codes(&c), ["head_behind"]);
        assert_eq!(c.append(&fields(4)).unwrap().seq, 5);
        assert!(c.verify().unwrap().is_intact());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_torn_last_line_is_cut_away() {
        let dir = scratch("torn");
        let c = chain_of(&dir, 2);
        let mut f = OpenOptions::new().append(true).open(c.log_path()).unwrap();
        f.write_all(br#"{"seq":3,"prev":"ab"#).unwrap();
        assert_eq!(codes(&c), ["torn_tail"]);
        assert_eq!(c.append(&fields(2)).unwrap().seq, 3);
        assert!(c.verify().unwrap().is_intact());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn reserved_fields_are_refused_and_strings_are_escaped() {
        let dir = scratch("reserved");
        let c = chain_of(&dir, 0);
        let mut m = Map::new();
        m.insert("seq".into(), 9.into());
        assert!(matches!(c.append(&m), Err(ChainError::Reserved(_))));
        let mut m = Map::new();
        m.insert("path".into(), "a\"b\n,\"hash\":\"x".into());
        c.append(&m).unwrap();
        let v = c.verify().unwrap();
        assert!(v.is_intact());
        assert_eq!(v.records[0].fields["path"], "a\"b\n,\"hash\":\"x");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn threads_append_without_losing_a_line() {
        let dir = scratch("threads");
        let c = std::sync::Arc::new(chain_of(&dir, 0));
        let hs: Vec<_> = (0..4)
            .map(|t| {
                let c = c.clone();
                std::thread::spawn(move || {
                    for i in 0..50 {
                        c.append(&fields(t * 100 + i)).unwrap();
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        let v = c.verify().unwrap();
        assert!(v.is_intact());
        assert_eq!(v.records.len(), 200);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_keyed_chain_finds_a_log_rewritten_whole_with_fresh_hashes() {
        let dir = scratch("keyed");
        let key = || Some(ChainKey::new([7u8; 32]));
        let c = Chain::new(dir.join("log.jsonl"), dir.join("head.json"))
            .with_fsync(false)
            .with_key(key());
        for i in 0..3 {
            c.append(&fields(i)).unwrap();
        }
        assert!(c.verify().unwrap().is_intact());
        // Someone without the key rewrites log and head consistently (plain SHA-256).
        std::fs::remove_file(c.log_path()).unwrap();
        std::fs::remove_file(c.head_path()).unwrap();
        let forged = Chain::new(c.log_path(), c.head_path()).with_fsync(false);
        for i in 10..13 {
            forged.append(&fields(i)).unwrap();
        }
        assert!(forged.verify().unwrap().is_intact());
        let v = c.verify().unwrap();
        assert_eq!(v.trusted, 0);
        assert_eq!(
            v.problems.iter().filter(|p| p.code() == "edited").count(),
            3,
            "{:?}",
            v.problems
        );
        // And the keyed chain refuses to extend it.
        let fresh = Chain::new(c.log_path(), c.head_path()).with_key(key());
        assert!(matches!(
            fresh.append(&fields(9)),
            Err(ChainError::Diverged { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_break_in_the_middle_refuses_appends_live_and_after_a_restart() {
        for (tag, edit) in [
            ("mid-edit", 0usize),
            ("mid-delete", 1),
            ("mid-swap", 2),
            ("mid-dup", 3),
        ] {
            let dir = scratch(tag);
            let c = chain_of(&dir, 6);
            let mut l = lines(&c);
            match edit {
                0 => l[2] = l[2].replace("notes/2.md", "notes/Y.md"),
                1 => {
                    l.remove(2);
                }
                2 => l.swap(2, 3),
                _ => {
                    let d = l[2].clone();
                    l.insert(3, d);
                }
            }
            put(&c, &l);
            // The live instance (it wrote the log) and a fresh one both refuse.
            assert!(
                matches!(c.append(&fields(9)), Err(ChainError::Diverged { .. })),
                "{tag}"
            );
            let fresh = Chain::new(c.log_path(), c.head_path()).with_fsync(false);
            assert!(
                matches!(fresh.append(&fields(9)), Err(ChainError::Diverged { .. })),
                "{tag}"
            );
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }

    #[test]
    fn another_writers_appends_are_taken_without_a_full_recheck_and_checked() {
        let dir = scratch("two");
        let a = chain_of(&dir, 2);
        let b = Chain::new(a.log_path(), a.head_path()).with_fsync(false);
        for i in 0..3 {
            b.append(&fields(10 + i)).unwrap();
            a.append(&fields(20 + i)).unwrap();
        }
        let v = a.verify().unwrap();
        assert!(v.is_intact(), "{:?}", v.problems);
        assert_eq!(v.trusted, 8);
        // A head recorded elsewhere is found while the chain holds it; a rollback loses it.
        let h4 = v.records[3].hash.clone();
        assert!(v.anchored(4, &h4));
        assert!(!v.anchored(4, GENESIS));
        let mut l = lines(&a);
        l.truncate(3);
        put(&a, &l);
        let head = format!("{{\"seq\":3,\"hash\":\"{}\"}}", v.records[2].hash);
        std::fs::write(a.head_path(), format!("{head:<127}\n{head:<127}\n")).unwrap();
        let rolled = a.verify().unwrap();
        assert!(rolled.is_intact(), "{:?}", rolled.problems);
        assert!(!rolled.anchored(4, &h4));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn links_are_never_followed_for_the_log_or_its_head() {
        let dir = scratch("links");
        let victim = dir.join("victim");
        std::fs::write(&victim, "keep").unwrap();
        std::os::unix::fs::symlink(&victim, dir.join("log.jsonl")).unwrap();
        let c = Chain::new(dir.join("log.jsonl"), dir.join("head.json")).with_fsync(false);
        assert!(c.append(&fields(1)).is_err());
        std::fs::remove_file(dir.join("log.jsonl")).unwrap();
        std::os::unix::fs::symlink(&victim, dir.join("head.json")).unwrap();
        assert!(c.append(&fields(1)).is_err());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
