//! The tamper-evident audit of tool calls (`[gateway.audit]`): one line per `tools/call` in
//! vigil-core's hash chain (the one `vigil memory` keeps), with its head in a file of its own.
//! A request only hands its line to a queue; one background thread per configuration takes
//! what has queued up (waiting at most `flush_interval` for more), appends it as one batch and
//! flushes log and head to disk once per batch, so no request ever waits on an fsync. A chain
//! that does not verify at start, or a writer that failed or fell too far behind, makes the
//! gateway refuse tool calls (503) rather than run calls it cannot record: the audit fails closed.
//!
//! **A reset is not a new log.** A new log begins with a genesis line (seq 1: a random nonce and
//! the time), so a gateway audit log is never empty: an empty log (whatever its head says) was
//! reset, and neither starts the gateway nor verifies. With `VIGIL_GATEWAY_AUDIT_KEY` set, the
//! chain is keyed (HMAC-SHA256 under a key derived from it, kept apart from the log): whoever
//! can write the log but lacks the key cannot write a line that verifies, a genesis line
//! included, so a log replaced by a new one is found; what they can still do is cut the log
//! back to an earlier genuine state (down to its genesis line alone), which only a head recorded
//! elsewhere finds (`audit verify --anchor SEQ:HASH`; the gateway logs the genesis `1:<hash>`
//! when it begins a log). Without a key, a writer can also rewrite the whole log with fresh
//! hashes: only an anchor finds that.

#[cfg(test)]
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use vigil_core::chain::{Chain, ChainError, ChainKey, Verification};

use crate::config::AuditSettings;

/// Lines written in one batch at most.
const MAX_BATCH: usize = 4096;

/// Lines queued at most before tool calls are refused (the disk does not keep up).
const MAX_QUEUED: usize = 100_000;

/// One tool call, as the audit records it.
#[derive(Debug, Clone)]
pub struct Line {
    /// When the request arrived.
    pub time: SystemTime,
    /// The token's subject (`-` without one).
    pub subject: String,
    /// The client's IP.
    pub client_ip: String,
    /// The route label.
    pub route: String,
    /// The tool called.
    pub tool: String,
    /// SHA-256 (hex) of the call's `arguments` as sent (the JSON text; `null` when absent).
    pub arguments_sha256: String,
    /// `forwarded`, `blocked_secret`, `refused`, …
    pub outcome: &'static str,
    /// The HTTP status answered.
    pub status: u16,
    /// Time from request head to response head.
    pub latency: Duration,
}

/// Writes `s` as a JSON string.
fn push_json_str(out: &mut String, s: &str) {
    // serde_json's escaping, without a `Value` per field.
    let mut buf = Vec::with_capacity(s.len() + 2);
    let _ = serde_json::to_writer(&mut buf, s);
    out.push_str(std::str::from_utf8(&buf).unwrap_or("\"\""));
}

impl Line {
    /// The line's fields as the members of a JSON object, in the order of their names (the
    /// bytes [`Line::fields`] gives through a map), written without a map or a `Value` each.
    #[cfg(test)]
    fn members(&self) -> String {
        self.members_with(&as_written(&self.tool), &as_written(&self.subject))
    }

    /// [`Line::members`] with the tool's name as already redacted (see [`ToolNames`]).
    fn members_with(&self, tool: &str, subject: &str) -> String {
        use std::fmt::Write as _;
        let mut out = String::with_capacity(320);
        out.push_str("\"arguments_sha256\":");
        push_json_str(&mut out, &self.arguments_sha256);
        out.push_str(",\"client_ip\":");
        push_json_str(&mut out, &self.client_ip);
        out.push_str(",\"latency_ms\":");
        let mut n = Vec::new();
        let _ = serde_json::to_writer(&mut n, &self.latency_ms());
        out.push_str(std::str::from_utf8(&n).unwrap_or("0"));
        out.push_str(",\"outcome\":");
        push_json_str(&mut out, self.outcome);
        out.push_str(",\"route\":");
        push_json_str(&mut out, &self.route);
        let _ = write!(out, ",\"status\":{}", self.status);
        out.push_str(",\"subject\":");
        // From the token, chosen by whoever minted it: through the logs' redactor too.
        push_json_str(&mut out, subject);
        let _ = write!(
            out,
            ",\"time\":\"{}\"",
            humantime::format_rfc3339_millis(self.time)
        );
        out.push_str(",\"tool\":");
        // Client-chosen: through the same redactor as the logs (a secret used as a name).
        push_json_str(&mut out, tool);
        out
    }

    fn latency_ms(&self) -> f64 {
        (self.latency.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0
    }

    #[cfg(test)]
    fn fields(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert(
            "time".into(),
            humantime::format_rfc3339_millis(self.time)
                .to_string()
                .into(),
        );
        m.insert("subject".into(), as_written(&self.subject).into());
        m.insert("client_ip".into(), self.client_ip.clone().into());
        m.insert("route".into(), self.route.clone().into());
        m.insert("tool".into(), as_written(&self.tool).into());
        m.insert(
            "arguments_sha256".into(),
            self.arguments_sha256.clone().into(),
        );
        m.insert("outcome".into(), self.outcome.into());
        m.insert("status".into(), self.status.into());
        m.insert("latency_ms".into(), self.latency_ms().into());
        m
    }
}

/// The variable whose value keys the audit chain (HMAC-SHA256) when set.
pub const KEY_ENV: &str = "VIGIL_GATEWAY_AUDIT_KEY";

/// The audit chain's key: HKDF-SHA256 of the secret in [`KEY_ENV`]. Compared in constant time;
/// never printed.
#[derive(Clone)]
pub struct AuditKey([u8; 32]);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey([REDACTED])")
    }
}

impl PartialEq for AuditKey {
    fn eq(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq;
        bool::from(self.0.ct_eq(&other.0))
    }
}

impl Eq for AuditKey {}

impl Drop for AuditKey {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.0.zeroize();
    }
}

/// Why the audit key is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditKeyProblem {
    /// Set but empty (an unset `${VAR}` must not quietly mean an unkeyed log).
    #[error("is set but empty")]
    Empty,
    /// Shorter than 32 characters, or one character repeated.
    #[error("is too short to key the audit log with (at least 32 random characters, e.g. from `vigil env rotate`)")]
    Short,
    /// Equal to another of the gateway's secrets (named), which others may hold.
    #[error(
        "must not hold the value of {0} (anyone holding that value could forge a keyed audit log)"
    )]
    Shared(String),
}

impl AuditKey {
    /// The key derived from `secret` (the value of [`KEY_ENV`]).
    pub fn from_secret(secret: &str) -> Result<AuditKey, AuditKeyProblem> {
        if secret.is_empty() {
            return Err(AuditKeyProblem::Empty);
        }
        vigil_core::redact::register(secret);
        if secret.len() < 32 || secret.chars().all(|c| secret.starts_with(c)) {
            return Err(AuditKeyProblem::Short);
        }
        let hk = hkdf::Hkdf::<sha2::Sha256>::new(Some(b"vigil-gateway-audit"), secret.as_bytes());
        let mut key = [0u8; 32];
        hk.expand(b"audit-chain-hmac-sha256-v1", &mut key)
            .expect("32 bytes is a valid HKDF length");
        Ok(AuditKey(key))
    }

    fn chain_key(&self) -> ChainKey {
        ChainKey::new(self.0)
    }
}

/// Why the audit log cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The chain does not verify or cannot be opened.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The writer thread could not start.
    #[error("cannot start the audit writer: {0}")]
    Thread(std::io::Error),
    /// The log is empty and its head is gone: a log emptied with its head deleted looks
    /// exactly so, and nothing tells it from a new one.
    #[error(
        "{log}: the audit log is empty and its head file {head} is missing (a log emptied and \
         its head deleted looks like this); restore the head, or remove the empty log to begin \
         a new one"
    )]
    Emptied {
        /// The log file.
        log: PathBuf,
        /// The head file.
        head: PathBuf,
    },
    /// The log's first line is not a genesis line: a gateway begins every log with one, so
    /// this log was begun by something else (a chain begun again after both files were deleted,
    /// or an older Vigil), or its beginning was cut away.
    #[error(
        "{log}: line 1 of the audit log is not a genesis line (`\"event\":\"genesis\"`, seq 1), \
         but a gateway begins every log with one: it was begun by something else or its \
         beginning was cut away; run the audit verification, keep the log elsewhere and remove \
         it and its head to begin a new one"
    )]
    NoGenesis {
        /// The log file.
        log: PathBuf,
    },
    /// The log is empty but its head is there: a gateway audit log begins with its genesis
    /// line, so it was reset (or begun by a Vigil before that line).
    #[error(
        "{log}: the audit log is empty, but a gateway audit log begins with its genesis line: it \
         was reset (or begun by an older Vigil); remove the log and its head {head} to begin a new one"
    )]
    Reset {
        /// The log file.
        log: PathBuf,
        /// The head file.
        head: PathBuf,
    },
}

/// The audit of one configuration: a queue and its writer.
#[derive(Debug)]
pub struct Audit {
    tx: mpsc::Sender<Msg>,
    state: Arc<State>,
}

/// What the writer thread is handed: a line, or a request to write what it holds now and say
/// how many lines it could not write (shutdown).
enum Msg {
    Line(Line),
    Flush(mpsc::SyncSender<usize>),
}

#[derive(Debug, Default)]
struct State {
    queued: AtomicUsize,
    failed: AtomicBool,
    /// Lines counted instead of queued (refusals while writing fails, or a full queue): the
    /// writer writes their number in a `lost` line, so an outage cannot grow memory.
    counted: AtomicU64,
    /// When the first of them was counted (Unix milliseconds; 0: none).
    counted_since: AtomicU64,
    /// A shutdown waits for the writer: it stops lingering for more lines.
    flushing: AtomicBool,
}

/// Whether a line's call reached the upstream (those are never only counted).
fn reached_upstream(outcome: &str) -> bool {
    matches!(outcome, "forwarded" | "redacted_secret" | "refused_answer")
}

fn unix_millis(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The file beside the head that says a run stopped with lines it could not write
/// (`<head>.pending`): written when a write fails, removed once the lines are written; a start
/// that finds it writes a `lost` line with its count.
pub fn pending_path(head: &std::path::Path) -> PathBuf {
    let mut p = head.as_os_str().to_owned();
    p.push(".pending");
    p.into()
}

/// What the pending file holds: how many lines, since when.
fn pending_text(count: u64, since: SystemTime) -> String {
    format!(
        "{{\"count\":{count},\"since\":\"{}\"}}\n",
        humantime::format_rfc3339_millis(since)
    )
}

/// Reads a pending file: its count and since (`None` when absent; a file that does not read
/// back still means lines were lost: count `null`).
fn read_pending(path: &std::path::Path) -> Option<(Option<u64>, Option<String>)> {
    let text = std::fs::read(path).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&text).unwrap_or_default();
    Some((
        v.get("count").and_then(serde_json::Value::as_u64),
        v.get("since")
            .and_then(serde_json::Value::as_str)
            .filter(|s| humantime::parse_rfc3339(s).is_ok())
            .map(str::to_owned),
    ))
}

/// Whether the log's first line is a genesis line (`seq` 1); the chain's own check verifies
/// its hash.
fn begins_with_genesis(log: &std::path::Path) -> Result<bool, AuditError> {
    use std::io::{BufRead, Read};
    let f = std::fs::File::open(log).map_err(|e| {
        AuditError::Chain(ChainError::Io {
            path: log.to_path_buf(),
            source: e,
        })
    })?;
    let mut first = Vec::new();
    std::io::BufReader::new(f.take(1 << 20))
        .read_until(b'\n', &mut first)
        .map_err(|e| {
            AuditError::Chain(ChainError::Io {
                path: log.to_path_buf(),
                source: e,
            })
        })?;
    let fields: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&first).unwrap_or_default();
    Ok(fields.get("seq").and_then(serde_json::Value::as_u64) == Some(1) && is_genesis(&fields))
}

impl Audit {
    /// Opens the chain of `s` (checking that it verifies and can be extended) and starts its
    /// writer; `written` and `failures` count lines and failed batches.
    pub fn start(
        s: &AuditSettings,
        written: prometheus_client::metrics::counter::Counter,
        failures: prometheus_client::metrics::counter::Counter,
    ) -> Result<Audit, AuditError> {
        if let Some(dir) = s.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                AuditError::Chain(ChainError::Io {
                    path: dir.to_path_buf(),
                    source: e,
                })
            })?;
        }
        // The running gateway never extends a log that went back (cut back with its head,
        // replaced, or deleted with its head): it refuses tool calls until an operator acts.
        let chain = Chain::new(&s.path, &s.head)
            .with_key(s.key.as_ref().map(AuditKey::chain_key))
            .refusing_rollback();
        let log_len = match std::fs::symlink_metadata(&s.path) {
            Ok(m) => Some(m.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(AuditError::Chain(ChainError::Io {
                    path: s.path.clone(),
                    source: e,
                }))
            }
        };
        match (chain.head()?, log_len) {
            // A new log: it begins with its genesis line.
            (None, None) => {
                let genesis = chain.append(&genesis_fields())?;
                tracing::warn!(
                    audit = %s.path.display(),
                    head = %s.head.display(),
                    keyed = chain.is_keyed(),
                    genesis = %format!("{}:{}", genesis.seq, genesis.hash),
                    "beginning a new audit log (there was no log and no head here); keep its genesis elsewhere to find a reset later: vigil gateway audit verify {} --anchor {}:{}",
                    s.path.display(),
                    genesis.seq,
                    genesis.hash
                );
            }
            (None, Some(0)) => {
                return Err(AuditError::Emptied {
                    log: s.path.clone(),
                    head: s.head.clone(),
                })
            }
            (Some(_), Some(0)) => {
                return Err(AuditError::Reset {
                    log: s.path.clone(),
                    head: s.head.clone(),
                })
            }
            _ => {}
        }
        chain.ready()?;
        if !begins_with_genesis(&s.path)? {
            return Err(AuditError::NoGenesis {
                log: s.path.clone(),
            });
        }
        // The previous run stopped with lines it could not write: the gap goes into the chain.
        let pending = pending_path(&s.head);
        if let Some((count, since)) = read_pending(&pending) {
            let mut m = serde_json::Map::new();
            m.insert("count".into(), count.into());
            m.insert("event".into(), "lost".into());
            m.insert("reason".into(), "unwritten_at_stop".into());
            m.insert("since".into(), since.into());
            m.insert(
                "time".into(),
                humantime::format_rfc3339_millis(SystemTime::now())
                    .to_string()
                    .into(),
            );
            let a = chain.append(&m)?;
            tracing::error!(
                audit = %s.path.display(),
                lines = ?count,
                seq = a.seq,
                "the previous run stopped with audit lines it could not write; recorded as a lost line"
            );
            std::fs::remove_file(&pending).map_err(|e| {
                AuditError::Chain(ChainError::Io {
                    path: pending.clone(),
                    source: e,
                })
            })?;
        }
        let (tx, rx) = mpsc::channel::<Msg>();
        let state = Arc::new(State::default());
        let st = state.clone();
        let linger = s.flush_interval;
        let label = s.path.display().to_string();
        std::thread::Builder::new()
            .name("vigil-audit".into())
            .spawn(move || write_loop(chain, rx, st, linger, label, pending, written, failures))
            .map_err(AuditError::Thread)?;
        Ok(Audit { tx, state })
    }

    /// Whether a tool call may go on: the writer is healthy and keeps up.
    pub fn ready(&self) -> bool {
        !self.state.failed.load(Ordering::Relaxed)
            && self.state.queued.load(Ordering::Relaxed) < MAX_QUEUED
    }

    /// Writes what is queued now (after the in-flight requests of a shutdown) and waits at most
    /// `timeout`: the number of lines that could not be written, or `None` when the writer did
    /// not answer in time.
    pub fn flush(&self, timeout: Duration) -> Option<usize> {
        let (ack, done) = mpsc::sync_channel(1);
        self.state.flushing.store(true, Ordering::Relaxed);
        self.tx.send(Msg::Flush(ack)).ok()?;
        done.recv_timeout(timeout).ok()
    }

    /// Queues one line (never blocks). While writing fails, a call that never reached the
    /// upstream (a refusal) is only counted, as is any line past [`MAX_QUEUED`]: their number
    /// goes into a `lost` line, and memory stays bounded however long an outage lasts.
    pub fn record(&self, line: Line) {
        let st = &self.state;
        let count = st.queued.load(Ordering::Relaxed) >= MAX_QUEUED
            || (st.failed.load(Ordering::Relaxed) && !reached_upstream(line.outcome));
        if count {
            let _ = st.counted_since.compare_exchange(
                0,
                unix_millis(line.time).max(1),
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
            st.counted.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.state.queued.fetch_add(1, Ordering::Relaxed);
        if self.tx.send(Msg::Line(line)).is_err() {
            self.state.failed.store(true, Ordering::Relaxed);
        }
    }
}

/// The longest sleep while a batch fills (a shutdown is noticed after at most this).
const LINGER_STEP: Duration = Duration::from_millis(50);

/// How often lines kept after a failed write are tried again when no new line comes.
const RETRY: Duration = Duration::from_secs(1);

/// Lines kept at most while writing fails; the ones past it are counted in a `lost` line.
const MAX_KEPT: usize = 65_536;

/// The members of the line that says how many lines could not be kept while writing failed:
/// the gap is in the chain itself, so `audit verify` and every later anchor see it.
fn lost_members(count: u64, since: SystemTime) -> String {
    format!(
        "\"count\":{count},\"event\":\"lost\",\"reason\":\"not_kept\",\"since\":\"{}\",\"time\":\"{}\"",
        humantime::format_rfc3339_millis(since),
        humantime::format_rfc3339_millis(SystemTime::now())
    )
}

/// The most characters of a tool name or subject a line holds (a longer one is cut, with `…`
/// after it: a client's made-up name must not grow the log by a request body per call).
const LONGEST: usize = 256;

/// A tool name or subject as a line holds it: through the logs' redactor (a secret used as a
/// name), then cut to [`LONGEST`] characters (after redaction, so no part of a secret is kept).
fn as_written(text: &str) -> String {
    crate::logs::cut(vigil_core::redact::redact(text).into_owned(), LONGEST)
}

/// Tool names and subjects as the audit writes them (through the logs' redactor, which runs
/// vigil-scan's rules), remembered: a log holds the same few of each again and again.
#[derive(Default)]
struct ToolNames(std::collections::HashMap<String, String>);

impl ToolNames {
    /// Texts remembered at most (a client may make up a new name per call).
    const MAX: usize = 1024;

    fn redacted(&mut self, text: &str) -> String {
        if text.len() > LONGEST {
            // Not remembered: a client could make up many long names.
            return as_written(text);
        }
        if let Some(t) = self.0.get(text) {
            return t.clone();
        }
        let t = as_written(text);
        if self.0.len() >= Self::MAX {
            self.0.clear();
        }
        self.0.insert(text.to_owned(), t.clone());
        t
    }

    fn members(&mut self, line: &Line) -> String {
        let tool = self.redacted(&line.tool);
        let subject = self.redacted(&line.subject);
        line.members_with(&tool, &subject)
    }
}

#[allow(clippy::too_many_arguments)]
fn write_loop(
    chain: Chain,
    rx: mpsc::Receiver<Msg>,
    state: Arc<State>,
    linger: Duration,
    label: String,
    pending: PathBuf,
    written: prometheus_client::metrics::counter::Counter,
    failures: prometheus_client::metrics::counter::Counter,
) {
    // Lines taken from the queue and not yet written. A failed write keeps them, in order, and
    // they go first once writing works again: the call that met the failure was already on its
    // way, so its line must not vanish (the next calls are refused while `failed` is set).
    let mut batch: Vec<String> = Vec::new();
    let mut lost: Option<(u64, SystemTime)> = None;
    let mut names = ToolNames::default();
    let mut acks: Vec<mpsc::SyncSender<usize>> = Vec::new();
    let mut behind = false;
    let mut marked = false;
    // When writing began to fail (the kept lines are from then on).
    let mut failing_since: Option<SystemTime> = None;
    loop {
        let idle = batch.is_empty() && lost.is_none() && state.counted.load(Ordering::Relaxed) == 0;
        let first = if idle {
            match rx.recv() {
                Ok(m) => Some(m),
                Err(_) => return,
            }
        } else {
            match rx.recv_timeout(RETRY) {
                Ok(m) => Some(m),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    // This configuration is gone (a reload) while lines wait: the pending
                    // file (written at the failure) keeps their count for the next start.
                    let lines = batch.len() as u64
                        + lost.map_or(0, |(c, _)| c)
                        + state.counted.load(Ordering::Relaxed);
                    tracing::error!(
                        audit = %label,
                        lines,
                        pending = %pending.display(),
                        "the audit writer of a replaced configuration stops with lines it could not write; the next start records them as a lost line"
                    );
                    return;
                }
            }
        };
        let mut taken = 0;
        let mut take = |m: Msg, batch: &mut Vec<String>, acks: &mut Vec<_>| match m {
            Msg::Line(l) => {
                batch.push(names.members(&l));
                taken += 1;
            }
            Msg::Flush(a) => acks.push(a),
        };
        if let Some(first) = first {
            take(first, &mut batch, &mut acks);
            // The batch fills while this thread sleeps, then is taken at once: waiting on the
            // channel instead would wake this thread (a futex wake and a context switch on the
            // request's core) for every line. When the last batch was full the queue is behind,
            // so no sleep; nor when a shutdown waits.
            if !behind && acks.is_empty() {
                // In steps, so that a shutdown does not wait a long `flush_interval` out.
                let until = std::time::Instant::now() + linger;
                loop {
                    let now = std::time::Instant::now();
                    if now >= until || state.flushing.load(Ordering::Relaxed) {
                        break;
                    }
                    std::thread::sleep((until - now).min(LINGER_STEP));
                }
            }
        }
        let room = batch.len() + MAX_BATCH;
        while batch.len() < room {
            match rx.try_recv() {
                Ok(m) => take(m, &mut batch, &mut acks),
                Err(_) => break,
            }
        }
        state.queued.fetch_sub(taken, Ordering::Relaxed);
        behind = taken >= MAX_BATCH;
        let counted = state.counted.swap(0, Ordering::Relaxed);
        if counted > 0 {
            let since = state.counted_since.swap(0, Ordering::Relaxed);
            let since = SystemTime::UNIX_EPOCH + Duration::from_millis(since);
            let l = lost.get_or_insert((0, since));
            l.0 += counted;
            l.1 = l.1.min(since);
        }
        if batch.len() > MAX_KEPT {
            let over = (batch.len() - MAX_KEPT) as u64;
            batch.truncate(MAX_KEPT);
            lost.get_or_insert((0, SystemTime::now())).0 += over;
        }
        if batch.is_empty() && lost.is_none() {
            for a in acks.drain(..) {
                let _ = a.send(0);
            }
            continue;
        }
        if let Some((n, since)) = lost {
            batch.push(lost_members(n, since));
        }
        let n = batch.len();
        let result = chain
            .session()
            .and_then(|mut s| s.append_batch_members(&batch));
        match result {
            Ok(_) => {
                written.inc_by(n as u64);
                state.failed.store(false, Ordering::Relaxed);
                batch.clear();
                lost = None;
                failing_since = None;
                if marked {
                    // Written after all: nothing is pending any more.
                    marked = std::fs::remove_file(&pending)
                        .is_err_and(|e| e.kind() != std::io::ErrorKind::NotFound);
                }
            }
            Err(e) => {
                if lost.is_some() {
                    batch.pop(); // the `lost` line is made again, with the count then
                }
                failures.inc();
                state.failed.store(true, Ordering::Relaxed);
                tracing::error!(audit = %label, error = %e, lines = n, "audit lines could not be written (kept, written first once it works again); tool calls are refused until it works again");
                // Should the process end before they are written (a SIGKILL, a stop that
                // cannot write either), the next start writes a `lost` line with this count.
                let since = *failing_since.get_or_insert_with(SystemTime::now);
                let since = lost.map_or(since, |(_, s)| s.min(since));
                let count = batch.len() as u64 + lost.map_or(0, |(c, _)| c);
                match vigil_core::fsx::write_private(
                    &pending,
                    pending_text(count, since).as_bytes(),
                ) {
                    Ok(()) => marked = true,
                    Err(e) => tracing::error!(
                        audit = %label,
                        pending = %pending.display(),
                        error = %e,
                        "cannot record that audit lines are pending (a stop now would lose them without a trace)"
                    ),
                }
            }
        }
        for a in acks.drain(..) {
            let _ = a.send(batch.len());
        }
    }
}

/// The head file a log's head is kept in when none is named: `<log>.head`.
pub fn default_head(log: &std::path::Path) -> PathBuf {
    let mut h = log.as_os_str().to_owned();
    h.push(".head");
    h.into()
}

/// The fields of a log's first line: a random nonce (so no two logs begin alike) and the time.
fn genesis_fields() -> serde_json::Map<String, serde_json::Value> {
    let mut nonce = [0u8; 32];
    // Without randomness the line still begins the log; it is only less unique.
    let _ = getrandom::fill(&mut nonce);
    let mut m = serde_json::Map::new();
    m.insert("event".into(), "genesis".into());
    m.insert(
        "nonce".into(),
        nonce
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
            .into(),
    );
    m.insert(
        "time".into(),
        humantime::format_rfc3339_millis(SystemTime::now())
            .to_string()
            .into(),
    );
    m
}

/// Whether a record is a log's genesis line (not a tool call).
pub fn is_genesis(fields: &serde_json::Map<String, serde_json::Value>) -> bool {
    fields.get("event").and_then(serde_json::Value::as_str) == Some("genesis")
}

/// Verifies the audit log `log` against its head `head` (with the key it was written with, if
/// any): every edit, deletion, reordering, insertion or cut-off tail.
pub fn verify(
    log: &std::path::Path,
    head: &std::path::Path,
    key: Option<&AuditKey>,
) -> Result<Verification, ChainError> {
    Chain::new(log, head)
        .with_key(key.map(AuditKey::chain_key))
        .verify()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn line(i: u64) -> Line {
        Line {
            time: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + i),
            subject: "alice".into(),
            client_ip: "127.0.0.1".into(),
            route: "/mcp/fs".into(),
            tool: "read_file".into(),
            arguments_sha256: vigil_core::chain::sha256_hex(format!("{{\"i\":{i}}}").as_bytes()),
            outcome: "forwarded",
            status: 200,
            latency: Duration::from_micros(1234),
        }
    }

    #[test]
    fn long_names_are_cut_and_not_remembered() {
        assert_eq!(as_written("read_file"), "read_file");
        let long = "é".repeat(100_000);
        let cut = as_written(&long);
        assert_eq!(cut.chars().count(), LONGEST + 1);
        assert!(cut.ends_with('…') && cut.starts_with("éé"));
        let mut names = ToolNames::default();
        let mut l = line(1);
        l.tool = "x".repeat(5_000);
        assert!(names.members(&l).len() < 1_000);
        assert!(!names.0.contains_key(&l.tool), "a long name was remembered");
        l.tool = "read_file".into();
        names.members(&l);
        assert!(names.0.contains_key("read_file"));
    }

    #[test]
    fn members_are_the_bytes_a_map_gives() {
        let mut l = line(3);
        l.subject = "a\"b\\c\u{1}é".into();
        l.latency = Duration::from_micros(1500);
        let via_map = serde_json::to_string(&l.fields()).unwrap();
        assert_eq!(format!("{{{}}}", l.members()), via_map);
        l.latency = Duration::from_secs(2);
        let via_map = serde_json::to_string(&l.fields()).unwrap();
        assert_eq!(format!("{{{}}}", l.members()), via_map);
    }

    #[test]
    fn lines_are_written_in_batches_and_verify() {
        let dir = tempfile::tempdir().unwrap();
        let s = AuditSettings {
            path: dir.path().join("a/tools.jsonl"),
            head: dir.path().join("tools.head"),
            flush_interval: Duration::from_millis(5),
            origin: vigil_core::Origin::Flag("test".into()),
            key: None,
        };
        let (w, f) = (Default::default(), Default::default());
        let audit = Audit::start(&s, w, f).unwrap();
        for i in 0..50 {
            audit.record(line(i));
        }
        assert!(audit.ready());
        drop(audit);
        // The writer drains its queue when the sender goes; wait for it.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let v = verify(&s.path, &s.head, None).unwrap();
            // The head is written after the lines: wait for both.
            if v.records.len() == 51 && v.is_intact() {
                assert!(is_genesis(&v.records[0].fields));
                let r = &v.records[1].fields;
                assert_eq!(r["tool"], "read_file");
                assert_eq!(r["latency_ms"], 1.234);
                assert_eq!(r["time"], "2027-01-15T08:00:00.000Z");
                break;
            }
            assert!(Instant::now() < deadline, "lines not written");
            std::thread::sleep(Duration::from_millis(20));
        }
        // A chain that no longer verifies refuses to start.
        let text = std::fs::read_to_string(&s.path).unwrap();
        std::fs::write(&s.path, text.replacen("alice", "mallo", 1)).unwrap();
        assert!(Audit::start(&s, Default::default(), Default::default()).is_err());
    }
}
