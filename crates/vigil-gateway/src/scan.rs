//! Secrets in tool calls and results (`[gateway.scan]`): vigil-scan's rules, built once per
//! configuration, run on each `tools/call` message (arguments), on `Mcp-Param-*` header values
//! and on each JSON-RPC message of a result as it streams. A message is redacted as JSON (every
//! string, keys too, read with its escapes undone, so `\u0067hp_…` is seen; the message stays
//! valid JSON with `[REDACTED:<rule>]` in place of each secret), and what was found is reported
//! by rule id only: a secret never reaches a log line, a metric label, an alert or an error.

use crate::config::{ArgumentsMode, ResultsMode, ScanPolicy};
use vigil_scan::redact::{RedactOptions, Redactor};
use vigil_scan::Ruleset;

/// Decodings followed inside a message (base64, hex, percent, escapes): one level, so an agent
/// that base64-encodes a token to send it out is still caught, at a bounded cost per message.
const DECODE_DEPTH: u8 = 1;

/// The rules and the policy of one configuration.
pub struct Scanner {
    rules: Ruleset,
    /// What to do with what is found.
    pub policy: ScanPolicy,
    /// Sets of answer headers (as [`header_text`] writes them) that were scanned and held no
    /// secret: an upstream answers with the same few again and again, and only the exact same
    /// bytes are taken as clean.
    clean_headers:
        std::sync::Mutex<std::collections::HashSet<Vec<u8>, foldhash::fast::RandomState>>,
}

/// Header sets remembered as clean at most (then forgotten all at once).
const CLEAN_HEADERS: usize = 512;

/// The headers of an answer as one text to scan (`name: value` lines), without the values that
/// cannot hold a secret by their grammar: a `Content-Length` of digits, an IMF-fixdate `Date`.
fn header_text(headers: &http::HeaderMap) -> Vec<u8> {
    let mut text = Vec::with_capacity(256);
    for (k, v) in headers.iter() {
        let b = v.as_bytes();
        // The session id is the client's own handle for its session, which the gateway binds
        // and the client sends back: never redacted (a placeholder would be every client's).
        let inert = k.as_str() == "mcp-session-id"
            || (k == http::header::CONTENT_LENGTH
                && !b.is_empty()
                && b.len() <= 20
                && b.iter().all(u8::is_ascii_digit))
            || (k == http::header::DATE && imf_fixdate(b));
        if inert {
            continue;
        }
        text.extend_from_slice(k.as_str().as_bytes());
        text.extend_from_slice(b": ");
        text.extend_from_slice(b);
        text.push(b'\n');
    }
    text
}

/// Whether `b` is an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110 §5.6.7): 29 bytes
/// whose letters, digits and separators each stand where the grammar puts them.
fn imf_fixdate(b: &[u8]) -> bool {
    const SHAPE: &[u8; 29] = b"Aaa, 00 Aaa 0000 00:00:00 GMT";
    b.len() == 29
        && b.iter().zip(SHAPE).all(|(c, s)| match s {
            b'A' => c.is_ascii_uppercase(),
            b'a' => c.is_ascii_lowercase(),
            b'0' => c.is_ascii_digit(),
            _ => c == s,
        })
}

impl std::fmt::Debug for Scanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scanner")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// What one scan found: the rule ids (sorted, once each) and, when asked, the message with every
/// secret replaced.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Scanned {
    /// Rule ids of the secrets found (`github-pat`, …), never the secrets.
    pub rules: Vec<String>,
    /// The message, redacted (only when something was found).
    pub redacted: Option<Vec<u8>>,
}

impl Scanned {
    /// Whether anything was found.
    pub fn found(&self) -> bool {
        !self.rules.is_empty()
    }
}

impl Scanner {
    /// The built-in rules under `policy`; `None` when scanning is off altogether.
    pub fn new(policy: ScanPolicy) -> Option<Scanner> {
        policy.any().then(|| Scanner {
            rules: Ruleset::builtin(),
            policy,
            clean_headers: Default::default(),
        })
    }

    /// Whether call arguments are scanned.
    pub fn arguments(&self) -> bool {
        self.policy.arguments != ArgumentsMode::Off
    }

    /// Whether results are scanned.
    pub fn results(&self) -> bool {
        self.policy.results != ResultsMode::Off
    }

    /// Scans one JSON-RPC message (or any JSON text): the rules found and the redacted message.
    pub fn message(&self, msg: &[u8]) -> Scanned {
        let mut r = Redactor::new(
            vec![&self.rules],
            RedactOptions {
                json: true,
                max_decode_depth: DECODE_DEPTH,
                ..RedactOptions::default()
            },
        );
        let mut out = Vec::with_capacity(msg.len());
        // One line, whatever newlines the message holds between its tokens.
        r.redact(msg, &mut out);
        let rules: Vec<String> = r.stats().by_label.keys().cloned().collect();
        if rules.is_empty() {
            return Scanned::default();
        }
        if !msg.ends_with(b"\n") && out.ends_with(b"\n") {
            out.pop();
        }
        Scanned {
            rules,
            redacted: Some(out),
        }
    }

    /// Whether a result message may hold a secret, the cheap way when it can be: a message
    /// without `\u` or `\/` escapes is scanned as text (the rules, their escape view, one level
    /// of decoding, the structural detectors), which sees every string as JSON mode would
    /// without rebuilding it; only a message that hides letters behind such escapes, or where
    /// the text scan found something, pays for the JSON reading ([`Scanner::message`]).
    pub fn may_hold(&self, msg: &[u8]) -> bool {
        let hidden = memchr::memchr_iter(b'\\', msg)
            .any(|i| matches!(msg.get(i + 1), Some(b'u' | b'/' | b'x')));
        if hidden {
            return self.message(msg).found();
        }
        // Whether the text scan would replace anything (what [`Scanner::text`] would find,
        // without writing the redacted copy it would then throw away).
        Redactor::new(
            vec![&self.rules],
            RedactOptions {
                max_decode_depth: DECODE_DEPTH,
                ..RedactOptions::default()
            },
        )
        .finds(msg)
    }

    /// Scans text that is not JSON (an SSE comment, `id` or `event` line): the rules found and
    /// the redacted text (only when something was found).
    pub fn text(&self, text: &[u8]) -> Scanned {
        let mut r = Redactor::new(
            vec![&self.rules],
            RedactOptions {
                max_decode_depth: DECODE_DEPTH,
                ..RedactOptions::default()
            },
        );
        let mut out = Vec::with_capacity(text.len());
        r.redact(text, &mut out);
        let rules: Vec<String> = r.stats().by_label.keys().cloned().collect();
        if rules.is_empty() {
            return Scanned::default();
        }
        Scanned {
            rules,
            redacted: Some(out),
        }
    }

    /// The rules a header value (as sent, or its `=?base64?…?=` form decoded) holds a secret of.
    pub fn header(&self, value: &[u8]) -> Vec<String> {
        let mut r = Redactor::new(
            vec![&self.rules],
            RedactOptions {
                max_decode_depth: DECODE_DEPTH,
                ..RedactOptions::default()
            },
        );
        let mut sink = Vec::new();
        r.redact(value, &mut sink);
        if let Some(decoded) = crate::mcp::decode_header_value(value) {
            if decoded.as_ref() != value {
                sink.clear();
                r.redact(&decoded, &mut sink);
            }
        }
        r.stats().by_label.keys().cloned().collect()
    }
}

/// Messages up to this size are scanned on the request's worker (a few milliseconds at worst);
/// larger ones on tokio's blocking pool, so no worker (nor `/healthz` on it) waits on them. The
/// size is that of what one request or answer asks to scan at once: a batch's tool calls
/// together, the events an answer's stream delivers together.
pub const INLINE_SCAN: usize = 2048;

/// Whom a large scan is done for: its turns are shared out by this, so one token holder (or,
/// without a token, one client address) can never hold every turn while others wait.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Share {
    /// A token's subject (or the gateway's name for a token without one).
    Subject(std::sync::Arc<str>),
    /// A client without a subject, by its address.
    Client(std::net::IpAddr),
}

impl Share {
    /// The share of a request of `subject` (when it has one) from `ip`.
    pub fn of(subject: Option<&str>, ip: std::net::IpAddr) -> Share {
        match subject {
            Some(s) => Share::Subject(std::sync::Arc::from(s)),
            None => Share::Client(ip),
        }
    }
}

/// The turns of large scans: at most one per core (two at least) at once, and at most half of
/// them (one at least) for one [`Share`]; a waiting scan is given the first free turn its share
/// may take, in the order they came. So a token holder who sends many large messages that are
/// slow to scan waits behind its own, and another holder's scan (or the gateway's answer to
/// it) is not held up by them (bb-gw-s9 S2).
struct Turns {
    slots: usize,
    per_share: usize,
    state: std::sync::Mutex<TurnState>,
}

#[derive(Default)]
struct TurnState {
    running: usize,
    by_share: std::collections::HashMap<Share, usize>,
    waiting: std::collections::VecDeque<(Share, tokio::sync::oneshot::Sender<Turn>)>,
}

/// A turn held: given back when dropped (when its scan ends).
struct Turn {
    turns: &'static Turns,
    share: Option<Share>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        if let Some(share) = self.share.take() {
            self.turns.give_back(share);
        }
    }
}

impl Turns {
    fn new(cores: usize) -> Turns {
        let slots = cores.max(2);
        Turns {
            slots,
            per_share: (slots / 2).max(1),
            state: Default::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TurnState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `share` may take a turn now.
    fn free_for(&self, st: &TurnState, share: &Share) -> bool {
        st.running < self.slots && st.by_share.get(share).copied().unwrap_or(0) < self.per_share
    }

    fn take(&'static self, st: &mut TurnState, share: &Share) -> Turn {
        st.running += 1;
        *st.by_share.entry(share.clone()).or_default() += 1;
        Turn {
            turns: self,
            share: Some(share.clone()),
        }
    }

    /// A turn for `share`, once one is free for it.
    async fn turn(&'static self, share: Share) -> Option<Turn> {
        let rx = {
            let mut st = self.lock();
            if self.free_for(&st, &share) {
                return Some(self.take(&mut st, &share));
            }
            let (tx, rx) = tokio::sync::oneshot::channel();
            st.waiting.push_back((share, tx));
            rx
        };
        rx.await.ok()
    }

    /// A turn of `share` ended: the first waiting scan that may take it now gets it (a
    /// waiter that gave up, past its budget, is passed over).
    fn give_back(&'static self, share: Share) {
        let mut st = self.lock();
        st.running -= 1;
        if let Some(n) = st.by_share.get_mut(&share) {
            *n -= 1;
            if *n == 0 {
                st.by_share.remove(&share);
            }
        }
        st.waiting.retain(|(_, tx)| !tx.is_closed());
        while st.running < self.slots {
            let Some(at) = st.waiting.iter().position(|(s, _)| self.free_for(&st, s)) else {
                break;
            };
            let (s, tx) = st.waiting.remove(at).expect("found above");
            let turn = self.take(&mut st, &s);
            if let Err(mut turn) = tx.send(turn) {
                // Its waiter gave up just now: the turn is undone here, under the lock.
                turn.share = None;
                st.running -= 1;
                if let Some(n) = st.by_share.get_mut(&s) {
                    *n -= 1;
                    if *n == 0 {
                        st.by_share.remove(&s);
                    }
                }
            }
        }
    }
}

/// The turns of every large scan of the process.
static TURNS: std::sync::LazyLock<Turns> = std::sync::LazyLock::new(|| {
    Turns::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
});

/// Runs `work` (a large scan) on tokio's blocking pool in a turn of `share` (see [`Share`]),
/// and waits for it at most `budget` (its turn included); `None` past it (the caller fails
/// closed). Work past its budget still runs to its end, holding its turn.
pub async fn off_worker<T: Send + 'static>(
    budget: std::time::Duration,
    share: Share,
    work: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let run = async move {
        let turn = TURNS.turn(share).await?;
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            work()
        })
        .await
        .ok()
    };
    tokio::time::timeout(budget, run).await.ok().flatten()
}

/// The [`Hook`](crate::rewrite::Hook) that scans each message of an answer to a tool call:
/// `[gateway.scan] results = "redact"` replaces each secret with `[REDACTED:<rule>]` (the
/// answer stays the JSON-RPC message it was), `"log"` only counts and alerts.
pub struct ResultHook {
    gw: std::sync::Arc<crate::gateway::Gateway>,
    scanner: std::sync::Arc<Scanner>,
    /// The route's index in the settings (its label is read only when a secret is found).
    route: usize,
    subject: Option<String>,
    ip: std::net::IpAddr,
}

impl std::fmt::Debug for ResultHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResultHook")
            .field("route", &self.label())
            .finish_non_exhaustive()
    }
}

impl ResultHook {
    /// The hook for an answer on `route` to a request of `subject` from `ip`, when results are
    /// scanned at all.
    pub fn new(
        gw: &std::sync::Arc<crate::gateway::Gateway>,
        route: usize,
        subject: Option<&str>,
        ip: std::net::IpAddr,
    ) -> Option<ResultHook> {
        let scanner = gw.scanner.clone().filter(|s| s.results())?;
        Some(ResultHook {
            gw: gw.clone(),
            scanner,
            route,
            subject: subject.map(str::to_owned),
            ip,
        })
    }
}

impl ResultHook {
    /// The route's label.
    fn label(&self) -> &str {
        self.gw
            .settings
            .routes
            .get(self.route)
            .map_or("", |r| r.label.as_str())
    }

    /// Counts, alerts and logs (by rule id only) secrets found in a result.
    fn found(&self, rules: &[String]) {
        self.found_in("results", rules);
    }

    /// Counts (under `place`), alerts and logs (by rule id only) secrets found in an answer.
    fn found_in(&self, place: &str, rules: &[String]) {
        let gw = &self.gw;
        gw.metrics.count_secrets(self.label(), place, rules);
        gw.alerts.secret(
            crate::alerts::AlertKind::SecretInResult,
            self.label(),
            rules,
            self.subject.as_deref(),
            self.ip,
            crate::alerts::unix_secs(std::time::SystemTime::now()),
        );
        tracing::warn!(
            route = %self.label(),
            place,
            rules = %rules.join(","),
            mode = self.scanner.policy.results.as_str(),
            "secret in a tool result"
        );
    }
}

impl ResultHook {
    /// The answer's header names that hold a secret, with the rules found. A lower-cased name
    /// is scanned with its value; here the names are read upper-cased (an AWS key id is
    /// upper-case, and HTTP/1 names arrive lower-cased), all in one pass, and by shape: a
    /// piece of 20 or more letters and digits mixed (a lower-cased token whose checksum no
    /// longer matches), which no header name of a protocol has.
    fn secret_names(&self, headers: &http::HeaderMap) -> (Vec<http::HeaderName>, Vec<String>) {
        let shaped = |name: &str| {
            name.split(['-', '.', '_']).any(|piece| {
                piece.len() >= 20
                    && piece.bytes().any(|b| b.is_ascii_alphabetic())
                    && piece.bytes().any(|b| b.is_ascii_digit())
            })
        };
        let mut upper = Vec::new();
        for n in headers.keys() {
            upper.extend_from_slice(n.as_str().to_ascii_uppercase().as_bytes());
            upper.push(b'\n');
        }
        let any_upper = self.scanner.text(&upper).found();
        if !any_upper && !headers.keys().any(|n| shaped(n.as_str())) {
            return (Vec::new(), Vec::new());
        }
        let (mut names, mut rules) = (Vec::new(), Vec::new());
        for n in headers.keys() {
            let mut found = if any_upper {
                self.scanner
                    .text(n.as_str().to_ascii_uppercase().as_bytes())
                    .rules
            } else {
                Vec::new()
            };
            if found.is_empty() && shaped(n.as_str()) {
                found.push("secret-shaped-header-name".into());
            }
            if !found.is_empty() {
                names.push(n.clone());
                rules.extend(found);
            }
        }
        (names, rules)
    }
}

impl crate::rewrite::Hook for ResultHook {
    fn wants(&self, _req: &crate::rewrite::RequestInfo, raw: &[u8]) -> bool {
        self.scanner.may_hold(raw)
    }

    /// The upstream's headers (`X-Debug: <token>`, `WWW-Authenticate: Bearer <token>`, a
    /// `Location` or `Link` URL holding one) are scanned as text, all in one pass first: with
    /// `redact`, a header whose value holds a secret keeps its name with the value redacted, and
    /// is dropped when the secret is in its name or the redacted value is no header value.
    fn headers(&self, _req: &crate::rewrite::RequestInfo, headers: &mut http::HeaderMap) {
        let text = header_text(headers);
        if text.is_empty() {
            return;
        }
        let clean = |s: &Scanner| {
            s.clean_headers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains(&text)
        };
        if clean(&self.scanner) {
            return;
        }
        let redact = self.scanner.policy.results == ResultsMode::Redact;
        // A secret in a header's name: the name arrives lower-cased (HTTP/1), so it is read in
        // both cases and by shape; the header is dropped (no value can stand for its name).
        let (named, mut rules) = self.secret_names(headers);
        let text = if named.is_empty() {
            text
        } else {
            if redact {
                for n in &named {
                    headers.remove(n);
                }
            }
            header_text(headers)
        };
        if !self.scanner.text(&text).found() {
            if !rules.is_empty() {
                rules.sort();
                rules.dedup();
                self.found_in("response_header", &rules);
                return;
            }
            let mut known = self
                .scanner
                .clean_headers
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if known.len() >= CLEAN_HEADERS {
                known.clear();
            }
            known.insert(text);
            return;
        }
        let names: Vec<http::HeaderName> = headers
            .keys()
            .filter(|n| n.as_str() != "mcp-session-id")
            .cloned()
            .collect();
        for name in names {
            let mut kept = Vec::new();
            let mut changed = false;
            for v in headers.get_all(&name) {
                let mut line = name.as_str().as_bytes().to_vec();
                line.extend_from_slice(b": ");
                line.extend_from_slice(v.as_bytes());
                let whole = self.scanner.text(&line);
                if !whole.found() {
                    kept.push(v.clone());
                    continue;
                }
                rules.extend(whole.rules);
                changed = true;
                let value = self.scanner.text(v.as_bytes());
                let redacted = value
                    .redacted
                    .and_then(|r| http::HeaderValue::from_bytes(&r).ok());
                if let Some(r) = redacted {
                    kept.push(r);
                }
            }
            if changed && redact {
                headers.remove(&name);
                for v in kept {
                    headers.append(name.clone(), v);
                }
            }
        }
        if rules.is_empty() {
            return;
        }
        rules.sort();
        rules.dedup();
        self.found_in("response_header", &rules);
    }

    fn unread(&self, _req: &crate::rewrite::RequestInfo, body: &[u8]) -> Option<Vec<u8>> {
        let got = self.scanner.text(body);
        if !got.found() {
            return None;
        }
        self.found(&got.rules);
        if self.scanner.policy.results != ResultsMode::Redact {
            return None;
        }
        got.redacted
    }

    fn text(&self, _req: &crate::rewrite::RequestInfo, line: &[u8]) -> Option<Vec<u8>> {
        let got = self.scanner.text(line);
        if !got.found() {
            return None;
        }
        self.found(&got.rules);
        if self.scanner.policy.results != ResultsMode::Redact {
            return None;
        }
        // A line still holding a line break would become two lines: drop it then.
        Some(
            got.redacted
                .filter(|r| !r.contains(&b'\n') && !r.contains(&b'\r'))
                .unwrap_or_default(),
        )
    }

    fn message(
        &self,
        _req: &crate::rewrite::RequestInfo,
        msg: &mut serde_json::Value,
    ) -> crate::rewrite::Action {
        use crate::rewrite::Action;
        let Ok(text) = serde_json::to_vec(msg) else {
            return Action::Withhold;
        };
        let got = self.scanner.message(&text);
        if !got.found() {
            return Action::Keep;
        }
        self.found(&got.rules);
        if self.scanner.policy.results != ResultsMode::Redact {
            return Action::Keep;
        }
        // The redacted text is JSON (the redactor keeps it so); if it ever were not, or it
        // read two ways (secrets used as keys, now the same `[REDACTED:…]` key, or beside
        // one: a reader would keep one of their values), the client gets nothing rather than
        // the secret or an answer the upstream did not give.
        match got
            .redacted
            .and_then(|r| String::from_utf8(r).ok())
            .and_then(|r| crate::jsonrpc::one_reading(&r))
        {
            Some(v) => {
                *msg = v;
                Action::Changed
            }
            None => Action::Withhold,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scanner() -> Scanner {
        Scanner::new(ScanPolicy {
            arguments: ArgumentsMode::Block,
            results: ResultsMode::Redact,
            budget: std::time::Duration::from_secs(5),
        })
        .unwrap()
    }

    /// A GitHub token shape built at run time.
    fn token() -> String {
        use vigil_scan::examples::{expand, Gen};
        let ex = expand("«ghp_{alnum:30}{ghcrc}»", &mut Gen::new(7)).unwrap();
        ex.text[ex.secret].to_owned()
    }

    #[test]
    fn secrets_are_found_and_redacted_as_json_by_rule_only() {
        let s = scanner();
        let t = token();
        let msg = format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"w","arguments":{{"text":"push with {t} now"}}}}}}"#
        );
        let got = s.message(msg.as_bytes());
        assert_eq!(got.rules, ["github-pat"]);
        let red = String::from_utf8(got.redacted.unwrap()).unwrap();
        assert!(!red.contains(&t));
        let v: serde_json::Value = serde_json::from_str(&red).unwrap();
        assert_eq!(
            v["params"]["arguments"]["text"],
            "push with [REDACTED:github-pat] now"
        );
        // Escaped in JSON, or glued to an escape, it is still seen.
        let escaped = format!(r#"{{"text":"\u0067{}","more":"line\n{t}"}}"#, &t[1..]);
        let got = s.message(escaped.as_bytes());
        assert_eq!(got.rules, ["github-pat"]);
        let red = String::from_utf8(got.redacted.unwrap()).unwrap();
        assert!(!red.contains(&t[4..]), "{red}");
        // Nothing found: nothing changed, nothing reported.
        let clean =
            br#"{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"42"}]}}"#;
        assert_eq!(s.message(clean), Scanned::default());
    }

    #[test]
    fn answer_headers_are_scanned_but_for_a_plain_length_and_date() {
        let mut h = http::HeaderMap::new();
        h.insert("content-length", "155".parse().unwrap());
        h.insert("date", "Mon, 30 Nov 2026 11:00:00 GMT".parse().unwrap());
        h.insert("server", "nginx".parse().unwrap());
        assert_eq!(header_text(&h), b"server: nginx\n");
        // Anything else in their place is scanned like any header.
        h.insert("date", "AKIA, 30 Nov 2026 11:00:00 GMT".parse().unwrap());
        h.insert("content-length", "1x".parse().unwrap());
        let text = String::from_utf8(header_text(&h)).unwrap();
        assert!(text.contains("date: AKIA") && text.contains("content-length: 1x"));
    }

    #[tokio::test]
    async fn one_share_never_holds_every_turn_while_another_waits() {
        // bb-gw-s9 S2: two turns, at most one per share; the waiting scan whose share may
        // take a freed turn gets it, in the order they came.
        let turns: &'static Turns = Box::leak(Box::new(Turns::new(2)));
        let (bob, alice) = (Share::Subject("bob".into()), Share::Subject("alice".into()));
        let b1 = turns.turn(bob.clone()).await.unwrap();
        let b2 = tokio::spawn(turns.turn(bob.clone()));
        tokio::task::yield_now().await;
        assert!(!b2.is_finished(), "bob waits behind his own scan");
        let a1 = turns.turn(alice.clone()).await.unwrap();
        let a2 = tokio::spawn(turns.turn(alice.clone()));
        tokio::task::yield_now().await;
        // Alice's turn ends first: bob still holds one, so alice's next scan takes it.
        drop(a1);
        let a2 = a2.await.unwrap().unwrap();
        assert!(!b2.is_finished());
        drop(b1);
        let b2 = b2.await.unwrap().unwrap();
        // A waiter that gave up is passed over.
        let gone = tokio::time::timeout(std::time::Duration::ZERO, turns.turn(alice.clone()));
        assert!(gone.await.is_err());
        drop((a2, b2));
        let st = turns.lock();
        assert_eq!((st.running, st.by_share.len(), st.waiting.len()), (0, 0, 0));
    }

    #[test]
    fn header_values_are_scanned_as_sent_and_decoded() {
        use base64::Engine as _;
        let s = scanner();
        let t = token();
        assert_eq!(s.header(t.as_bytes()), ["github-pat"]);
        let enc = format!(
            "=?base64?{}?=",
            base64::engine::general_purpose::STANDARD.encode(format!("x {t}"))
        );
        assert_eq!(s.header(enc.as_bytes()), ["github-pat"]);
        assert!(s.header(b"eu-west-1").is_empty());
    }
}
