//! The access log: one line per request (route, status, latency, subject, client IP, and for MCP
//! JSON-RPC the method and tool only), redacted, in the format of the other logs (text or JSON
//! Lines), chosen once for the server ([`AccessLog::new`]). Each worker collects its lines in a
//! buffer of its own (its [`Writer`]) and writes them to stderr in whole lines, at the latest
//! [`FLUSH_AFTER`] after the first one or as soon as [`FLUSH_BYTES`] are waiting (nginx's
//! `access_log … buffer= flush=`, Envoy's flush interval), so requests never queue for the stderr
//! lock and a busy worker makes one `write` per few hundred requests. Shutdown flushes every
//! buffer ([`AccessLog::flush_all`]); a crash loses at most the last [`FLUSH_AFTER`] of lines.

use std::fmt::Write as _;
use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The longest a line waits in a worker's buffer.
pub const FLUSH_AFTER: Duration = Duration::from_millis(100);
/// A buffer this full is written at once.
pub const FLUSH_BYTES: usize = 32 * 1024;

/// How access lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessFormat {
    /// No access log (`-q`, or a `VIGIL_LOG` filter that leaves out `vigil::access` at info).
    Off = 0,
    /// Text, like the other log lines.
    Text = 1,
    /// JSON Lines, the shape `tracing`'s JSON format gives the other log lines.
    Json = 2,
}

/// What one line says.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// Route label, `(gateway)` for the gateway's own endpoints, `-` when no route matched.
    pub route: &'a str,
    /// HTTP status sent.
    pub status: u16,
    /// Time from the request head to the response head.
    pub latency: Duration,
    /// Token subject, `-` without one.
    pub subject: &'a str,
    /// Client IP (after trusted-proxy resolution).
    pub client_ip: &'a str,
    /// HTTP method.
    pub http_method: &'a str,
    /// JSON-RPC method, `-` when the body was not JSON-RPC.
    pub rpc_method: &'a str,
    /// Tool name of `tools/call`, `-` otherwise.
    pub tool: &'a str,
    /// What the gateway's checks made of the request when they answered or changed it
    /// (`refused_pin`, `blocked_secret`, `refused_answer`, as in the audit log); not written
    /// when it went through untouched.
    pub outcome: Option<&'static str>,
}

/// One redacted line (with its newline) for `entry` at `at`. The fields a client chose (subject,
/// HTTP and JSON-RPC method, tool) pass the redactor one by one; the rest are numbers, an IP
/// and the route label from the configuration, and no field name is a credential word, so no
/// credential shape can form across fields.
pub fn line(format: AccessFormat, entry: &Entry<'_>, at: SystemTime) -> String {
    let mut s = String::with_capacity(256);
    push_line(
        &mut s,
        &mut Second::default(),
        &mut Memo::default(),
        format,
        entry,
        at,
    );
    s
}

/// Client-chosen field texts a worker has already redacted (subject, HTTP and JSON-RPC method,
/// tool): the same few come again and again, and each redaction runs vigil-scan's rules. The
/// answer for a text is the redactor's for as long as no secret value is registered (then all
/// are forgotten); at most [`MEMO`] texts of at most [`MEMO_LEN`] bytes are remembered (then
/// all are forgotten), a longer one is redacted each time.
#[derive(Default)]
struct Memo {
    generation: usize,
    known: std::collections::HashMap<Box<str>, Option<Box<str>>, foldhash::fast::RandomState>,
}

/// Texts a worker's memo holds at most.
const MEMO: usize = 1024;
/// The longest text a memo holds.
const MEMO_LEN: usize = 256;

impl Memo {
    /// Forgets every answer when a secret value was registered since the last line (one look
    /// at the registry per line, not per field).
    fn refresh(&mut self) {
        let now = vigil_core::redact::generation();
        if now != self.generation {
            self.known.clear();
            self.generation = now;
        }
    }

    fn redact<'t>(&mut self, text: &'t str) -> std::borrow::Cow<'t, str> {
        use std::borrow::Cow;
        use vigil_core::redact::redact;
        if text.len() > MEMO_LEN {
            return redact(text);
        }
        if let Some(known) = self.known.get(text) {
            return match known {
                None => Cow::Borrowed(text),
                Some(r) => Cow::Owned(r.to_string()),
            };
        }
        let r = redact(text);
        if self.known.len() >= MEMO {
            self.known.clear();
        }
        let kept = match &r {
            Cow::Borrowed(_) => None,
            Cow::Owned(o) => Some(Box::from(o.as_str())),
        };
        self.known.insert(Box::from(text), kept);
        r
    }
}

/// Appends [`line`]'s text to `s`; `second` caches the text of the last second written, `memo`
/// the redaction of client-chosen fields.
fn push_line(
    s: &mut String,
    second: &mut Second,
    memo: &mut Memo,
    format: AccessFormat,
    entry: &Entry<'_>,
    at: SystemTime,
) {
    memo.refresh();
    let (subject, http_method, rpc_method, tool) = (
        memo.redact(entry.subject),
        memo.redact(entry.http_method),
        memo.redact(entry.rpc_method),
        memo.redact(entry.tool),
    );
    let mut n = itoa::Buffer::new();
    let micros = entry.latency.as_micros();
    match format {
        AccessFormat::Off => return,
        AccessFormat::Text => {
            timestamp(s, second, at);
            s.push_str("  INFO request route=");
            quoted(s, entry.route, Quote::Debug);
            s.push_str(" status=");
            s.push_str(n.format(entry.status));
            s.push_str(" latency_ms=");
            millis(s, micros);
            s.push_str(" subject=");
            quoted(s, &subject, Quote::Debug);
            s.push_str(" client_ip=");
            s.push_str(entry.client_ip);
            s.push_str(" http_method=");
            s.push_str(&http_method);
            s.push_str(" rpc_method=");
            quoted(s, &rpc_method, Quote::Debug);
            s.push_str(" tool=");
            quoted(s, &tool, Quote::Debug);
            if let Some(o) = entry.outcome {
                s.push_str(" outcome=");
                s.push_str(o);
            }
        }
        AccessFormat::Json => {
            s.push_str(r#"{"timestamp":""#);
            timestamp(s, second, at);
            s.push_str(r#"","level":"INFO","fields":{"message":"request","route":"#);
            quoted(s, entry.route, Quote::Json);
            s.push_str(r#","status":"#);
            s.push_str(n.format(entry.status));
            s.push_str(r#","latency_ms":"#);
            millis(s, micros);
            s.push_str(r#","subject":"#);
            quoted(s, &subject, Quote::Json);
            s.push_str(r#","client_ip":""#);
            s.push_str(entry.client_ip);
            s.push_str(r#"","http_method":"#);
            quoted(s, &http_method, Quote::Json);
            s.push_str(r#","rpc_method":"#);
            quoted(s, &rpc_method, Quote::Json);
            s.push_str(r#","tool":"#);
            quoted(s, &tool, Quote::Json);
            if let Some(o) = entry.outcome {
                s.push_str(r#","outcome":""#);
                s.push_str(o);
                s.push('"');
            }
            s.push_str(r#"},"target":"vigil::access"}"#);
        }
    }
    s.push('\n');
}

/// How a string field is quoted.
#[derive(Clone, Copy)]
enum Quote {
    /// Rust's `{:?}`, as `tracing`'s text format prints string fields.
    Debug,
    /// A JSON string.
    Json,
}

/// Appends `v` quoted. Printable ASCII without `"` or `\` reads the same in both forms and is
/// copied as is; anything else goes through the escaper of its format.
fn quoted(s: &mut String, v: &str, q: Quote) {
    if v.bytes()
        .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\')
    {
        s.push('"');
        s.push_str(v);
        s.push('"');
        return;
    }
    match q {
        Quote::Debug => {
            let _ = write!(s, "{v:?}");
        }
        Quote::Json => s.push_str(&serde_json::to_string(v).unwrap_or_else(|_| "\"\"".into())),
    }
}

/// Appends `micros` as milliseconds with three decimals.
fn millis(s: &mut String, micros: u128) {
    s.push_str(itoa::Buffer::new().format(micros / 1000));
    s.push('.');
    padded(s, (micros % 1000) as u32, 3);
}

/// Appends `v` in `width` digits, zero-padded (`v` has at most `width` digits).
fn padded(s: &mut String, v: u32, width: usize) {
    let mut n = itoa::Buffer::new();
    let digits = n.format(v);
    for _ in digits.len()..width {
        s.push('0');
    }
    s.push_str(digits);
}

/// The RFC 3339 text of one whole second (without its `Z`), reused by every line of that
/// second.
struct Second {
    unix: u64,
    text: String,
}

impl Default for Second {
    fn default() -> Self {
        Second {
            unix: u64::MAX,
            text: String::new(),
        }
    }
}

/// RFC 3339 UTC with microseconds, as the other log lines print it.
fn timestamp(out: &mut String, second: &mut Second, at: SystemTime) {
    let d = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    if second.unix != d.as_secs() {
        let whole = UNIX_EPOCH + Duration::from_secs(d.as_secs());
        let mut f = humantime::format_rfc3339_seconds(whole).to_string();
        f.pop(); // the `Z`
        *second = Second {
            unix: d.as_secs(),
            text: f,
        };
    }
    out.push_str(&second.text);
    out.push('.');
    padded(out, d.subsec_micros(), 6);
    out.push('Z');
}

/// Lines waiting to be written, and whether a flush is already scheduled.
#[derive(Default)]
struct Pending {
    bytes: String,
    scheduled: bool,
    second: Second,
    memo: Memo,
}

type Shared = Arc<Mutex<Pending>>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn write_out(bytes: &mut String) {
    if bytes.is_empty() {
        return;
    }
    let _ = std::io::stderr().lock().write_all(bytes.as_bytes());
    bytes.clear();
}

/// The server's access log: its format, and every worker's buffer, so shutdown can flush them
/// all.
pub struct AccessLog {
    format: AccessFormat,
    buffers: Mutex<Vec<Shared>>,
}

impl std::fmt::Debug for AccessLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessLog")
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl AccessLog {
    /// An access log in `format` (`Off`: none).
    pub fn new(format: AccessFormat) -> Self {
        AccessLog {
            format,
            buffers: Mutex::new(Vec::new()),
        }
    }

    /// A buffer for one more worker.
    pub fn writer(&self) -> Writer {
        let pending = Shared::default();
        lock(&self.buffers).push(pending.clone());
        Writer {
            format: self.format,
            pending,
        }
    }

    /// Writes every worker's waiting lines (at shutdown).
    pub fn flush_all(&self) {
        for b in lock(&self.buffers).iter() {
            write_out(&mut lock(b).bytes);
        }
    }
}

/// One worker's end of the access log: its buffer.
pub struct Writer {
    format: AccessFormat,
    pending: Shared,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl Writer {
    /// Logs one request that arrived `at` (nothing when the log is off).
    pub fn record(&self, at: SystemTime, entry: &Entry<'_>) {
        if self.format == AccessFormat::Off {
            return;
        }
        let mut p = lock(&self.pending);
        let Pending {
            bytes,
            second,
            memo,
            ..
        } = &mut *p;
        push_line(bytes, second, memo, self.format, entry, at);
        if p.bytes.len() >= FLUSH_BYTES {
            write_out(&mut p.bytes);
        } else if !p.scheduled {
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => {
                    p.scheduled = true;
                    let mine = self.pending.clone();
                    rt.spawn(async move {
                        tokio::time::sleep(FLUSH_AFTER).await;
                        let mut p = lock(&mine);
                        p.scheduled = false;
                        write_out(&mut p.bytes);
                    });
                }
                // No runtime to flush later: write now.
                Err(_) => write_out(&mut p.bytes),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry<'a>(subject: &'a str, tool: &'a str) -> Entry<'a> {
        Entry {
            route: "/mcp/filesystem",
            status: 200,
            latency: Duration::from_micros(1534),
            subject,
            client_ip: "127.0.0.1",
            http_method: "POST",
            rpc_method: "tools/call",
            tool,
            outcome: None,
        }
    }

    #[test]
    fn text_and_json_lines_carry_the_fields() {
        let at = UNIX_EPOCH + Duration::new(1_795_000_000, 123_456_000);
        let t = line(AccessFormat::Text, &entry("alice", "read_file"), at);
        assert_eq!(
            t,
            "2026-11-18T11:06:40.123456Z  INFO request route=\"/mcp/filesystem\" status=200 latency_ms=1.534 subject=\"alice\" client_ip=127.0.0.1 http_method=POST rpc_method=\"tools/call\" tool=\"read_file\"\n"
        );
        let j = line(AccessFormat::Json, &entry("al\"ice", "read_file"), at);
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(v["timestamp"], "2026-11-18T11:06:40.123456Z");
        assert_eq!(v["target"], "vigil::access");
        assert_eq!(v["fields"]["subject"], "al\"ice");
        assert_eq!(v["fields"]["status"], 200);
        assert_eq!(v["fields"]["tool"], "read_file");
        assert!(j.ends_with("}\n"));
        // Anything but plain printable ASCII is escaped as each format escapes it.
        let odd = "b\\o\u{7}b \u{e9}\"x'";
        let t = line(AccessFormat::Text, &entry(odd, "-"), at);
        assert!(t.contains(&format!(" subject={odd:?} ")), "{t}");
        let j = line(AccessFormat::Json, &entry(odd, "-"), at);
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(v["fields"]["subject"], odd);
        assert_eq!(v["fields"]["latency_ms"].to_string(), "1.534");
        let slow = Entry {
            latency: Duration::from_micros(12_000_007),
            ..entry("a", "b")
        };
        assert!(line(AccessFormat::Text, &slow, at).contains(" latency_ms=12000.007 "));
        // A request the checks refused says so (a refusal of a tool call is a 200 answer).
        let refused = Entry {
            outcome: Some("refused_pin"),
            ..entry("a", "b")
        };
        assert!(
            line(AccessFormat::Text, &refused, at).ends_with(" tool=\"b\" outcome=refused_pin\n")
        );
        let j = line(AccessFormat::Json, &refused, at);
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(v["fields"]["outcome"], "refused_pin");
        assert!(!line(AccessFormat::Json, &entry("a", "b"), at).contains("outcome"));
    }

    #[test]
    fn lines_are_redacted() {
        let secretish = ["password", "=", "hunter2-correct-horse"].concat();
        let at = SystemTime::now();
        for f in [AccessFormat::Text, AccessFormat::Json] {
            let l = line(f, &entry(&secretish, "t"), at);
            assert!(!l.contains("hunter2-correct-horse"), "{l}");
            assert!(l.contains("[REDACTED]"), "{l}");
        }
    }
}
