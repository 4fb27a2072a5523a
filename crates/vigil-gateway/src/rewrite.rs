//! The response rewriter: every JSON-RPC message an upstream answers with (an `application/json`
//! body, whole or a batch, or each event of a `text/event-stream`, as it streams) passes a
//! per-request list of [`Hook`]s that may leave it, change it or drop it. A message is parsed
//! only when some hook wants it and re-serialised only when a hook changed it; a request
//! without hooks never builds a [`Rewriter`], so the plain path costs nothing.
//!
//! Fail closed: a JSON body over the message limit, an SSE event over it, a compressed body, a
//! message that is not JSON (while a hook is active), and an answer that is not UTF-8 (a
//! `charset` other than `utf-8`, a UTF-16/32 byte-order mark, invalid UTF-8 or a NUL byte, as
//! UTF-16 and UTF-32 text has for every ASCII letter) never reaches the client as it was: MCP
//! messages are UTF-8 JSON, and a hook that reads bytes as UTF-8 would not see inside another
//! encoding that a client may still decode.
//!
//! ```
//! use serde_json::Value;
//! use std::sync::Arc;
//! use vigil_gateway::rewrite::{Action, Hook, RequestInfo, Rewriter};
//!
//! /// Removes every `secret` field of a result.
//! struct Strip;
//! impl Hook for Strip {
//!     fn wants(&self, _req: &RequestInfo, raw: &[u8]) -> bool {
//!         raw.windows(8).any(|w| w == b"\"secret\"")
//!     }
//!     fn message(&self, _req: &RequestInfo, msg: &mut Value) -> Action {
//!         let result = msg.get_mut("result").and_then(Value::as_object_mut);
//!         match result.and_then(|r| r.remove("secret")) {
//!             Some(_) => Action::Changed,
//!             None => Action::Keep,
//!         }
//!     }
//! }
//! let rw = Rewriter::new(RequestInfo::default(), vec![Arc::new(Strip)], 1 << 20);
//! let out = rw.message(br#"{"jsonrpc":"2.0","id":1,"result":{"secret":1,"ok":true}}"#);
//! assert_eq!(out.bytes().unwrap(), br#"{"id":1,"jsonrpc":"2.0","result":{"ok":true}}"#);
//! ```

use crate::body::{self, Body, BoxError};
use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use serde_json::Value;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// The largest JSON answer or SSE event the gateway reads when a hook is active (8 MiB).
pub const MAX_MESSAGE: usize = 8 << 20;

/// What the rewriter knows of the request whose answer it rewrites (what a hook may decide
/// on): the route, the JSON-RPC method and tool of the request (from the gateway's one strict
/// parse), the JSON-RPC id and the client's MCP protocol version.
#[derive(Debug, Clone, Default)]
pub struct RequestInfo {
    /// Index of the route in the settings.
    pub route: usize,
    /// The request's JSON-RPC method (`tools/list`, `tools/call`, …), `None` for a GET stream.
    pub method: Option<String>,
    /// The tool of a `tools/call`.
    pub tool: Option<String>,
    /// The client's `MCP-Protocol-Version` (or the one its `initialize` asked for).
    pub protocol: Option<String>,
    /// The request's body as forwarded (read only when a stream must be cut, for the id the
    /// gateway's own error answer carries).
    pub body: RequestBody,
}

/// A request body, kept for the rare answer that needs it; its `Debug` shows only its length
/// (it may hold a secret).
#[derive(Clone, Default)]
pub struct RequestBody(pub Bytes);

impl std::fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RequestBody({} bytes)", self.0.len())
    }
}

impl RequestInfo {
    /// The id of the request, as written, when its body is one JSON-RPC request (not a
    /// notification, not a batch).
    fn request_id(&self) -> Option<String> {
        let ms = crate::mcp::messages(&self.body.0)?;
        match ms.items.as_slice() {
            [(m, _)] if !ms.batch && m.method.is_some() => {
                m.id.filter(|id| id.get() != "null")
                    .map(|id| id.get().to_owned())
            }
            _ => None,
        }
    }
}

/// What a hook did with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Left it as it was.
    Keep,
    /// Changed it in place: it is re-serialised.
    Changed,
    /// The client must not see it: a JSON batch loses the element, an SSE stream the event's
    /// data (its `id`/`retry` fields stay, so resumption still works), and a single JSON message
    /// becomes a 502.
    Drop,
    /// No part of the answer may reach the client as it stands (a redaction that would read
    /// two ways): a JSON answer becomes a 502, an SSE stream is cut with an error answer to
    /// the request.
    Withhold,
}

/// A step every message of an answer passes, in the order the hooks were given.
///
/// A hook first sees the raw bytes ([`Hook::wants`]: a cheap test, e.g. a substring search),
/// and only when some hook wants the message is it parsed, once, into a [`serde_json::Value`]
/// that every hook gets in turn ([`Hook::message`]). A batch answer's elements are handed
/// over one by one.
pub trait Hook: Send + Sync {
    /// Whether this hook needs to see the message whose bytes are `raw` (default: always).
    fn wants(&self, _req: &RequestInfo, _raw: &[u8]) -> bool {
        true
    }
    /// Looks at one JSON-RPC message; may change it in place (then say [`Action::Changed`]) or
    /// drop it.
    fn message(&self, req: &RequestInfo, msg: &mut Value) -> Action;
    /// Looks at one line of an SSE event that is not its data (a comment, an `id`, `event`,
    /// `retry` or unknown field) and returns its replacement (empty: the line is dropped) when
    /// the client must not see it as it is (default: kept).
    fn text(&self, _req: &RequestInfo, _line: &[u8]) -> Option<Vec<u8>> {
        None
    }
    /// Looks at a whole answer that is neither JSON nor SSE (whatever its `Content-Type`
    /// said) and returns its replacement when the client must not see it as it is (default:
    /// kept).
    fn unread(&self, _req: &RequestInfo, _body: &[u8]) -> Option<Vec<u8>> {
        None
    }
    /// Looks at the answer's headers before its body is read, and may change them in place
    /// (default: left as they are).
    fn headers(&self, _req: &RequestInfo, _headers: &mut http::HeaderMap) {}
    /// Whether an answer labelled neither JSON nor SSE must be read for this hook (default:
    /// yes; a hook that only watches says no, and such an answer then streams through).
    fn guards(&self) -> bool {
        true
    }
    /// Whether a JSON answer must be read for this hook (default: yes). A hook that only
    /// watches for notifications says no: those come on event streams, and a JSON answer
    /// then streams through unread when no other hook reads it.
    fn reads_json(&self) -> bool {
        true
    }
}

/// A message after the hooks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rewritten {
    /// No hook changed it: the original bytes go on.
    Unchanged,
    /// Its new bytes.
    Changed(Vec<u8>),
    /// Dropped by a hook.
    Dropped,
    /// Withheld by a hook ([`Action::Withhold`]): the whole answer must not go on.
    Withheld,
    /// Not JSON, while a hook wanted to read it: it must not reach the client as it is.
    NotJson,
}

impl Rewritten {
    /// The new bytes, when changed.
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Rewritten::Changed(b) => Some(b),
            _ => None,
        }
    }
}

/// The hooks of one request and the largest message (JSON body or SSE event) it reads.
#[derive(Clone)]
pub struct Rewriter {
    info: Arc<RequestInfo>,
    hooks: Arc<[Arc<dyn Hook>]>,
    limit: usize,
    on_refused: Option<Arc<Refusals>>,
    /// Longest time the hooks may take over one large JSON answer (read off the request
    /// workers); past it the answer is refused.
    budget: std::time::Duration,
    /// Whose turns of the large-scan pool the hooks' work off the workers takes.
    share: crate::scan::Share,
    /// How long an answer read whole (JSON, or a label the gateway does not read) may take to
    /// arrive once its head did; past it, 504 (tester 159: headers, then a stalled body, held a
    /// client 200 s on a 2 s route).
    body_timeout: Option<std::time::Duration>,
}

/// What is told of each answer the rewriter refuses (the reason: `too_large`, `compressed`,
/// `not_utf8`, `withheld`), e.g. to count it.
pub type Refusals = dyn Fn(&'static str) + Send + Sync;

/// Marks a response the rewriter made in place of the upstream's answer (with the reason), so
/// the request's audit line and metrics can say so.
#[derive(Debug, Clone, Copy)]
pub struct AnswerRefused(pub &'static str);

impl std::fmt::Debug for Rewriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rewriter")
            .field("hooks", &self.hooks.len())
            .field("limit", &self.limit)
            .finish()
    }
}

impl Rewriter {
    /// The hooks `hooks` for the answer to the request `info`; a JSON body or SSE event over
    /// `limit` bytes fails closed.
    pub fn new(info: RequestInfo, hooks: Vec<Arc<dyn Hook>>, limit: usize) -> Self {
        Rewriter {
            info: Arc::new(info),
            hooks: hooks.into(),
            limit,
            on_refused: None,
            budget: std::time::Duration::from_secs(5),
            share: crate::scan::Share::Client(std::net::IpAddr::from([0, 0, 0, 0])),
            body_timeout: None,
        }
    }

    /// How long an answer the rewriter reads whole may take to arrive after its head (default:
    /// no bound); past it the client gets 504 `upstream_timeout`.
    pub fn body_within(mut self, timeout: std::time::Duration) -> Self {
        self.body_timeout = Some(timeout);
        self
    }

    /// The body of an answer read whole, in time and within the limit; else the refusal.
    async fn read_in_time(&self, inner: Body) -> Result<Bytes, Response<Body>> {
        let read = read_whole(inner, self.limit);
        let got = match self.body_timeout {
            Some(d) => match tokio::time::timeout(d, read).await {
                Ok(got) => got,
                Err(_) => {
                    return Err(self.refusal(
                        "timeout",
                        crate::body::error(
                            StatusCode::GATEWAY_TIMEOUT,
                            "upstream_timeout",
                            "the upstream did not finish its answer in time",
                        ),
                    ))
                }
            },
            None => read.await,
        };
        got.ok_or_else(|| {
            self.refusal(
                "too_large",
                refused("the upstream's answer is too large or was cut short"),
            )
        })
    }

    /// The share (the requesting subject, or client) whose turns of the large-scan pool the
    /// hooks' work off the workers takes (see [`crate::scan::Share`]).
    pub fn for_share(mut self, share: crate::scan::Share) -> Self {
        self.share = share;
        self
    }

    /// The longest time the hooks may take over a piece of an answer over
    /// [`crate::scan::INLINE_SCAN`] bytes (a JSON or text answer whole, the events a stream
    /// delivers together), which they read on tokio's blocking pool, not on the request's
    /// worker (default 5 s); past it the answer is refused (`scan_budget`, 502) or the stream
    /// cut.
    pub fn within(mut self, budget: std::time::Duration) -> Self {
        self.budget = budget;
        self
    }

    /// Calls `f` with the reason of each answer this rewriter refuses (also a stream it cuts).
    pub fn on_refused(mut self, f: Arc<Refusals>) -> Self {
        self.on_refused = Some(f);
        self
    }

    fn told(&self, why: &'static str) {
        if let Some(f) = &self.on_refused {
            f(why);
        }
    }

    fn refusal(&self, why: &'static str, resp: Response<Body>) -> Response<Body> {
        self.told(why);
        let mut resp = resp;
        resp.extensions_mut().insert(AnswerRefused(why));
        resp
    }

    /// What the rewriter knows of the request.
    pub fn info(&self) -> &RequestInfo {
        &self.info
    }

    /// One JSON-RPC message (or batch) through the hooks.
    pub fn message(&self, raw: &[u8]) -> Rewritten {
        if !self.hooks.iter().any(|h| h.wants(&self.info, raw)) {
            return Rewritten::Unchanged;
        }
        // A message a check reads is read one way only: with a key given twice (or twice once
        // case is folded), the check would judge one reading and a client act on another.
        let Some(mut v) = std::str::from_utf8(raw)
            .ok()
            .and_then(crate::jsonrpc::one_reading)
        else {
            return Rewritten::NotJson;
        };
        let changed = match &mut v {
            Value::Array(items) => {
                let (mut changed, mut withheld) = (false, false);
                items.retain_mut(|m| match self.run(m) {
                    Action::Keep => true,
                    Action::Changed => {
                        changed = true;
                        true
                    }
                    Action::Drop => {
                        changed = true;
                        false
                    }
                    Action::Withhold => {
                        withheld = true;
                        false
                    }
                });
                if withheld {
                    return Rewritten::Withheld;
                }
                changed
            }
            m => match self.run(m) {
                Action::Keep => false,
                Action::Changed => true,
                Action::Drop => return Rewritten::Dropped,
                Action::Withhold => return Rewritten::Withheld,
            },
        };
        if changed {
            Rewritten::Changed(serde_json::to_vec(&v).unwrap_or_default())
        } else {
            Rewritten::Unchanged
        }
    }

    fn run(&self, m: &mut Value) -> Action {
        let mut out = Action::Keep;
        for h in self.hooks.iter() {
            match h.message(&self.info, m) {
                Action::Keep => {}
                Action::Changed => out = Action::Changed,
                Action::Drop => return Action::Drop,
                Action::Withhold => return Action::Withhold,
            }
        }
        out
    }

    /// An upstream answer through the hooks: a JSON body is read whole (within the limit) and
    /// rewritten, an SSE body is rewritten event by event as it streams. An answer labelled
    /// otherwise (another media type, none, or two `Content-Type`s) is read whole and taken by
    /// its content: JSON, or SSE, rewritten the same way; anything else is refused when a hook
    /// guards the answer (a 502, or the upstream's error status with the gateway's own body),
    /// and passes as it is when the hooks only watch. A compressed body, or one over the limit,
    /// becomes a 502.
    pub fn response(
        self,
        resp: Response<Body>,
    ) -> Pin<Box<dyn std::future::Future<Output = Response<Body>> + Send>> {
        Box::pin(self.respond(resp))
    }

    async fn respond(self, mut resp: Response<Body>) -> Response<Body> {
        for h in self.hooks.iter() {
            h.headers(&self.info, resp.headers_mut());
        }
        if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
            // A WebSocket tunnel: its body is the connection, not an answer.
            return resp;
        }
        let mut labels = resp.headers().get_all(header::CONTENT_TYPE).iter();
        let label = match (labels.next(), labels.next()) {
            (Some(v), None) => media(v.as_bytes()),
            // None, or two that a client may read either way.
            _ => None,
        };
        let guarded = self.hooks.iter().any(|h| h.guards());
        if label.is_none() && !guarded {
            return resp;
        }
        if resp
            .headers()
            .get_all(header::CONTENT_ENCODING)
            .iter()
            .any(|v| !v.as_bytes().eq_ignore_ascii_case(b"identity"))
        {
            return self.refusal(
                "compressed",
                refused("the upstream compressed an answer the gateway must read"),
            );
        }
        if resp
            .headers()
            .get_all(header::CONTENT_TYPE)
            .iter()
            .any(|v| !utf8_charset(v.as_bytes()))
        {
            let status = resp.status();
            return self.refusal("not_utf8", not_utf8(status));
        }
        if matches!(label, Some(Media::Json)) && !self.hooks.iter().any(|h| h.reads_json()) {
            return resp;
        }
        let (mut parts, inner) = resp.into_parts();
        match label {
            Some(Media::Json) => {
                let bytes = match self.read_in_time(inner).await {
                    Ok(b) => b,
                    Err(refusal) => return refusal,
                };
                if !clean_utf8(&bytes) {
                    return self.refusal("not_utf8", not_utf8(parts.status));
                }
                let checked = if bytes.len() <= crate::scan::INLINE_SCAN {
                    Some(self.json_body(bytes))
                } else {
                    // A large answer: the hooks (the secret scan) run off the request workers.
                    let rw = self.clone();
                    crate::scan::off_worker(self.budget, self.share.clone(), move || {
                        rw.json_body(bytes)
                    })
                    .await
                };
                let Some(checked) = checked else {
                    return self.refusal(
                        "scan_budget",
                        refused(
                            "the gateway could not check the upstream's answer within its budget",
                        ),
                    );
                };
                let Some(bytes) = checked else {
                    return self.refusal(
                        "withheld",
                        refused("the gateway withheld the upstream's answer"),
                    );
                };
                // An answer passed as it came keeps its one `Content-Length`, which says its
                // length already; any other gets its own.
                if !says_length(&parts.headers, bytes.len()) {
                    parts
                        .headers
                        .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
                }
                Response::from_parts(parts, body::full(bytes))
            }
            None => {
                // Fail closed: a label the gateway does not read must not let a result or a
                // tool list by unread. The content says what it is.
                let bytes = match self.read_in_time(inner).await {
                    Ok(b) => b,
                    Err(refusal) => return refusal,
                };
                // Whatever it is, it is read as UTF-8: UTF-16 or UTF-32 text (with a
                // byte-order mark or without, when its NULs give it away) is refused.
                if !clean_utf8(&bytes) {
                    return self.refusal("not_utf8", not_utf8(parts.status));
                }
                let text = bytes.trim_ascii_start();
                if text.starts_with(BOM) {
                    // A byte-order mark hides from the reading below what a client that drops
                    // it (an SSE or JSON decoder) reads as a message: fail closed.
                    return self.refusal("withheld", withheld(parts.status));
                }
                let whole = if bytes.len() <= crate::scan::INLINE_SCAN {
                    Some(self.unlabelled(bytes))
                } else {
                    // A large answer (text included): the hooks run off the request workers,
                    // within the budget (bb-gw-s9 S2).
                    let rw = self.clone();
                    crate::scan::off_worker(self.budget, self.share.clone(), move || {
                        rw.unlabelled(bytes)
                    })
                    .await
                };
                let bytes = match whole {
                    Some(Some(b)) => b,
                    Some(None) => return self.refusal("withheld", withheld(parts.status)),
                    None => return self.refusal(
                        "scan_budget",
                        refused(
                            "the gateway could not check the upstream's answer within its budget",
                        ),
                    ),
                };
                parts
                    .headers
                    .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
                Response::from_parts(parts, body::full(bytes))
            }
            Some(Media::EventStream) => {
                parts.headers.remove(header::CONTENT_LENGTH);
                let sse = SseRewrite {
                    inner,
                    rw: self,
                    buf: BytesMut::new(),
                    ended: false,
                    bad: None,
                    started: false,
                    pending: None,
                    inner_done: false,
                    inline: 0,
                };
                Response::from_parts(parts, sse.boxed())
            }
        }
    }
}

impl Rewriter {
    /// A whole JSON body through the hooks; `None` when it must not reach the client.
    fn json_body(&self, bytes: Bytes) -> Option<Bytes> {
        match self.message(&bytes) {
            Rewritten::Unchanged => Some(bytes),
            Rewritten::Changed(b) => Some(Bytes::from(b)),
            Rewritten::Dropped | Rewritten::Withheld | Rewritten::NotJson => None,
        }
    }

    /// A whole answer labelled neither JSON nor SSE (UTF-8, checked), through the hooks by
    /// its content: JSON, SSE (event by event), or text (each hook's [`Hook::unread`]); `None`
    /// when it must not reach the client.
    fn unlabelled(&self, bytes: Bytes) -> Option<Bytes> {
        let text = bytes.trim_ascii_start();
        if text.is_empty() {
            Some(bytes)
        } else if matches!(text.first(), Some(b'{' | b'[')) {
            self.json_body(bytes)
        } else if looks_like_sse(&bytes) {
            let (mut out, bad) = self.events(&bytes, true);
            if let Some(bad) = bad {
                self.told(bad.reason());
                out.extend_from_slice(&closing(&self.info, &bad.message(self.limit)));
            }
            Some(Bytes::from(out))
        } else {
            // Neither: text (a plain GET answer, an error page), which each hook may still
            // change (the result scan redacts a secret in it).
            let mut cur = bytes;
            for h in self.hooks.iter() {
                if let Some(r) = h.unread(&self.info, &cur) {
                    cur = Bytes::from(r);
                }
            }
            Some(cur)
        }
    }

    /// Complete SSE events (the last one may lack its blank line when `last`), event by event,
    /// through the hooks: what goes on, and why it stops early (an event whose data is not
    /// JSON while a hook wanted to read it: bb-gw-s9 S5).
    fn events(&self, buf: &[u8], last: bool) -> (Vec<u8>, Option<Bad>) {
        let mut out = Vec::with_capacity(buf.len());
        let mut start = 0;
        while let Some(end) = event_end(&buf[start..], last) {
            let ev = &buf[start..start + end];
            match rewrite_event(self, ev) {
                Event::Same => out.extend_from_slice(ev),
                Event::New(new) => out.extend_from_slice(&new),
                Event::NotJson => return (out, Some(Bad::NotJson)),
                Event::Withheld => return (out, Some(Bad::Withheld)),
            }
            start += end;
        }
        (out, None)
    }

    /// The lines of an event that are not data, each through every hook's
    /// [`Hook::text`]: `(line index, replacement)` for those that change.
    fn other_lines(&self, ev: &[u8]) -> Vec<(usize, Vec<u8>)> {
        let mut changed = Vec::new();
        for (i, line) in lines(ev).enumerate() {
            if line.is_empty() || field(line).is_some_and(|(n, _)| n == b"data") {
                continue;
            }
            let mut cur: Option<Vec<u8>> = None;
            for h in self.hooks.iter() {
                if let Some(r) = h.text(&self.info, cur.as_deref().unwrap_or(line)) {
                    cur = Some(r);
                }
            }
            if let Some(c) = cur {
                changed.push((i, c));
            }
        }
        changed
    }
}

/// Whether a body not labelled `text/event-stream` is one: every line blank, a comment, or a
/// `data`, `id`, `event` or `retry` field, with some data.
fn looks_like_sse(b: &[u8]) -> bool {
    let mut data = false;
    for line in lines(b) {
        match field(line) {
            None => {}
            Some((n, _)) if n == b"data" => data = true,
            Some((n, _)) if n == b"id" || n == b"event" || n == b"retry" => {}
            Some(_) => return false,
        }
    }
    data
}

/// The answer to an upstream answer that looks like JSON but that the hooks withheld (or that
/// does not parse while a hook wants it): a 502 for a success, else the upstream's status (a
/// client acts on a 404 or 401) with the gateway's own body.
fn withheld(status: StatusCode) -> Response<Body> {
    let message = "the gateway withheld the upstream's answer";
    if status.is_success() || status.is_informational() {
        refused(message)
    } else {
        body::error(status, "upstream_answer_withheld", message)
    }
}

/// Whether a `Content-Type` value names no charset, or UTF-8 (`utf-8`, `utf8`, any case, quoted
/// or not), and has no RFC 2231 `charset*` parameter.
pub(crate) fn utf8_charset(v: &[u8]) -> bool {
    v.split(|b| *b == b';').skip(1).all(|param| {
        let Some(eq) = param.iter().position(|b| *b == b'=') else {
            return true;
        };
        let name = param[..eq].trim_ascii();
        if !name.eq_ignore_ascii_case(b"charset") {
            // RFC 2231's `charset*=utf-7''…` (and `charset*0`): no MCP client sends one, and
            // a reader that honours it decodes what the gateway read as UTF-8.
            return !(name.len() > 7 && name[..7].eq_ignore_ascii_case(b"charset"));
        }
        let value = param[eq + 1..].trim_ascii();
        let value = value
            .strip_prefix(b"\"")
            .and_then(|v| v.strip_suffix(b"\""))
            .unwrap_or(value);
        value.eq_ignore_ascii_case(b"utf-8") || value.eq_ignore_ascii_case(b"utf8")
    })
}

/// Whether bytes are UTF-8 without a NUL: a UTF-16 or UTF-32 byte-order mark is not UTF-8, and
/// UTF-16 or UTF-32 text without one has a NUL beside every ASCII character.
pub(crate) fn clean_utf8(b: &[u8]) -> bool {
    !b.contains(&0) && std::str::from_utf8(b).is_ok()
}

/// The answer to an upstream answer that is not UTF-8: a 502 for a success, else the upstream's
/// status with the gateway's own body.
fn not_utf8(status: StatusCode) -> Response<Body> {
    let message = "the upstream's answer is not UTF-8 (MCP messages are UTF-8 JSON)";
    if status.is_success() || status.is_informational() {
        refused(message)
    } else {
        body::error(status, "upstream_answer_withheld", message)
    }
}

/// Whether `headers` hold one `Content-Length`, and it is `len` written plainly.
fn says_length(headers: &http::HeaderMap, len: usize) -> bool {
    let mut all = headers.get_all(header::CONTENT_LENGTH).iter();
    match (all.next(), all.next()) {
        (Some(v), None) => {
            let b = v.as_bytes();
            !b.is_empty()
                && b.len() <= 20
                && b.iter().all(u8::is_ascii_digit)
                && (b.len() == 1 || b[0] != b'0')
                && std::str::from_utf8(b)
                    .ok()
                    .and_then(|t| t.parse::<usize>().ok())
                    == Some(len)
        }
        _ => false,
    }
}

/// A body read whole, `None` when it is over `limit` bytes or fails.
async fn read_whole(mut b: Body, limit: usize) -> Option<Bytes> {
    // Most answers come in one frame: kept as it is, not copied.
    let mut first: Option<Bytes> = None;
    let mut out = BytesMut::new();
    while let Some(frame) = b.frame().await {
        if let Ok(d) = frame.ok()?.into_data() {
            let len = first.as_ref().map_or(0, Bytes::len) + out.len();
            if len + d.len() > limit {
                return None;
            }
            match first.take() {
                None if out.is_empty() => first = Some(d),
                None => out.extend_from_slice(&d),
                Some(f) => {
                    out.extend_from_slice(&f);
                    out.extend_from_slice(&d);
                }
            }
        }
        // The whole `Content-Length` arrived: no need to wait for the body to say so.
        if b.is_end_stream() {
            break;
        }
    }
    Some(first.unwrap_or_else(|| out.freeze()))
}

fn refused(message: &str) -> Response<Body> {
    body::error(StatusCode::BAD_GATEWAY, "upstream_answer_refused", message)
}

enum Media {
    Json,
    EventStream,
}

fn media(v: &[u8]) -> Option<Media> {
    let essence = v
        .split(|b| *b == b';')
        .next()
        .unwrap_or_default()
        .trim_ascii();
    if crate::jsonrpc::is_json_media_type(v) {
        Some(Media::Json)
    } else if essence.eq_ignore_ascii_case(b"text/event-stream") {
        Some(Media::EventStream)
    } else {
        None
    }
}

/// Why an SSE stream was cut.
#[derive(Debug, thiserror::Error)]
#[error("an event of the upstream's stream is over {0} bytes")]
pub struct EventTooLarge(pub usize);

/// Why an SSE stream was cut: an event that is not UTF-8 (or holds a NUL).
#[derive(Debug, thiserror::Error)]
#[error("an event of the upstream's stream is not UTF-8")]
pub struct EventNotUtf8;

/// Why an SSE stream was cut: it starts with a byte-order mark, or a line of it is a JSON
/// message, not a field (JSON labelled `text/event-stream`), which the gateway would not read.
#[derive(Debug, thiserror::Error)]
#[error("the upstream's stream is not SSE as its Content-Type says")]
pub struct NotSse;

/// The UTF-8 byte-order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Whether no line of an event is a JSON message (after whitespace or a byte-order mark): an
/// SSE reader skips such a line as an unknown field, one that takes the body by its content
/// reads it as the message it is. Nor may a line hold a character that a reader splitting
/// lines as Python's `str.splitlines` does takes for a line break ([`other_break`]), left in it
/// after [`escape_breaks`]: that reader (httpx, under the MCP Python SDK's SSE client) would
/// read fields the gateway did not (tester 153: `event: message\u{2028}data: {…}` carried a
/// tool list past the pins).
fn is_sse(ev: &[u8]) -> bool {
    lines(ev).all(|line| {
        let mut l = line.trim_ascii_start();
        while let Some(rest) = l.strip_prefix(BOM) {
            l = rest.trim_ascii_start();
        }
        !matches!(l.first(), Some(b'{' | b'[')) && other_break(line).is_none()
    })
}

/// Where the first character of `line` is that Python's `str.splitlines` (httpx's line
/// decoder) takes for a line break and SSE does not (VT, FF, the separators U+001C–U+001E,
/// U+0085, U+2028, U+2029), and its length in bytes.
fn other_break(line: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    while i < line.len() {
        match line[i] {
            0x0b | 0x0c | 0x1c..=0x1e => return Some((i, 1)),
            0xc2 if line.get(i + 1) == Some(&0x85) => return Some((i, 2)),
            0xe2 if line.get(i + 1) == Some(&0x80)
                && matches!(line.get(i + 2), Some(0xa8 | 0xa9)) =>
            {
                return Some((i, 3))
            }
            _ => i += 1,
        }
    }
    None
}

/// `ev` with U+0085, U+2028 and U+2029 in its data lines written as JSON escapes (`\u2028`):
/// inside a JSON string (the only place JSON lets them be) that is the same string to every
/// reader, and no reader splits the line there. `None` when there are none. VT, FF and
/// U+001C–U+001E are never JSON outside an escape: [`is_sse`] refuses them.
fn escape_breaks(ev: &[u8]) -> Option<Vec<u8>> {
    let mut out: Option<Vec<u8>> = None;
    let mut at = 0;
    let mut rest = ev;
    while !rest.is_empty() {
        let end = rest
            .iter()
            .position(|b| *b == b'\n' || *b == b'\r')
            .unwrap_or(rest.len());
        let line = &rest[..end];
        if field(line).is_some_and(|(n, _)| n == b"data") {
            let mut from = 0;
            while let Some((i, n)) = other_break(&line[from..]) {
                let i = from + i;
                let escape: &[u8] = match &line[i..i + n] {
                    [0xc2, 0x85] => b"\\u0085",
                    [0xe2, 0x80, 0xa8] => b"\\u2028",
                    [0xe2, 0x80, 0xa9] => b"\\u2029",
                    _ => {
                        from = i + n;
                        continue;
                    }
                };
                let o = out.get_or_insert_with(|| Vec::with_capacity(ev.len() + 16));
                o.extend_from_slice(&ev[at..(ev.len() - rest.len()) + i]);
                o.extend_from_slice(escape);
                at = ev.len() - rest.len() + i + n;
                from = i + n;
            }
        }
        rest = &rest[(end + 1).min(rest.len())..];
    }
    let mut o = out?;
    o.extend_from_slice(&ev[at..]);
    Some(o)
}

/// An SSE body rewritten event by event.
struct SseRewrite {
    inner: Body,
    rw: Rewriter,
    /// Bytes of the event not yet complete.
    buf: BytesMut,
    ended: bool,
    /// An event was not UTF-8, or the stream is not SSE as it says: the stream ends after what
    /// came before it.
    bad: Option<Bad>,
    /// The stream's first bytes were looked at (a byte-order mark there is refused).
    started: bool,
    /// Events whose hooks run off the request workers (`scan::off_worker`): nothing after
    /// them goes on (nor is read from upstream) until they are done.
    pending: Option<PendingEvents>,
    /// The upstream's body has ended.
    inner_done: bool,
    /// Bytes of events read by the hooks on the worker since this body last let the worker
    /// go (returned `Pending`): past [`crate::scan::INLINE_SCAN`], the next events go off the
    /// worker, so a stream of many small events never holds it (bb-gw-s9 S2).
    inline: usize,
}

/// Events on their way through the hooks on tokio's blocking pool: `None` when past the
/// budget, else what goes on and why the stream stops there ([`Rewriter::events`]).
struct PendingEvents {
    work: tokio::task::JoinHandle<Option<(Vec<u8>, Option<Bad>)>>,
}

/// Why a stream is cut.
#[derive(Debug, Clone, Copy)]
enum Bad {
    NotUtf8,
    NotSse,
    TooLarge,
    Budget,
    /// An event's data is not JSON while a hook wanted to read it.
    NotJson,
    /// A hook withheld an event's message (its redaction would read two ways).
    Withheld,
}

impl Bad {
    /// The reason counted and logged.
    fn reason(self) -> &'static str {
        match self {
            Bad::NotUtf8 => "not_utf8",
            Bad::NotSse => "not_sse",
            Bad::TooLarge => "too_large",
            Bad::Budget => "scan_budget",
            Bad::NotJson => "not_json",
            Bad::Withheld => "withheld",
        }
    }

    /// What the client is told (`limit`: the largest event read).
    fn message(self, limit: usize) -> String {
        match self {
            Bad::NotUtf8 => EventNotUtf8.to_string(),
            Bad::NotSse => NotSse.to_string(),
            Bad::TooLarge => EventTooLarge(limit).to_string(),
            Bad::Budget => "an event could not be checked within the gateway's budget".to_owned(),
            Bad::NotJson => "an event's data is not a JSON message that reads one way (not JSON, a key given twice, or a key that reads as another once case is folded)".to_owned(),
            Bad::Withheld => "the gateway withheld an event's message".to_owned(),
        }
    }
}

/// The last event of a stream the gateway cuts: for a request with an id, a JSON-RPC error
/// answer to it (-32603, so the client's call fails at once with the reason rather than wait);
/// otherwise (a GET stream, a notification) an SSE comment saying why.
fn closing(info: &RequestInfo, why: &str) -> Bytes {
    let message = format!("Vigil gateway: the upstream's stream was cut: {why}");
    match info.request_id() {
        Some(id) => {
            let message = serde_json::to_string(&message).unwrap_or_default();
            Bytes::from(format!(
                "event: message\ndata: {{\"jsonrpc\":\"2.0\",\"id\":{id},\"error\":{{\"code\":-32603,\"message\":{message}}}}}\n\n"
            ))
        }
        None => Bytes::from(format!(": {message}\n\n")),
    }
}

impl SseRewrite {
    /// Escapes, in the complete events at the start of `buf`, the line breaks only some
    /// readers see ([`escape_breaks`]), before anything reads them.
    fn escape_complete(&mut self, last: bool) {
        let b = &self.buf[..];
        if memchr::memchr2(0xc2, 0xe2, b).is_none() {
            return;
        }
        let mut start = 0;
        let mut new: Option<BytesMut> = None;
        while let Some(end) = event_end(&b[start..], last) {
            let ev = &b[start..start + end];
            match escape_breaks(ev) {
                Some(e) => new
                    .get_or_insert_with(|| BytesMut::from(&b[..start]))
                    .extend_from_slice(&e),
                None => {
                    if let Some(n) = &mut new {
                        n.extend_from_slice(ev);
                    }
                }
            }
            start += end;
        }
        if let Some(mut n) = new {
            n.extend_from_slice(&b[start..]);
            self.buf = n;
        }
    }

    /// The complete events at the start of `buf`, rewritten, and the rest kept. `last`: the
    /// stream ended (a final event without its blank line is complete then).
    fn drain(&mut self, last: bool) -> Bytes {
        self.escape_complete(last);
        let mut out = BytesMut::new();
        let mut start = 0;
        let buf = &self.buf[..];
        if !self.started {
            // A byte-order mark is dropped by an SSE client (WHATWG decoding), which then
            // reads the first line as a field: a reader that did not would let that event by
            // unread. Fail closed.
            if !last && buf.len() < BOM.len() && BOM.starts_with(buf) {
                return Bytes::new();
            }
            self.started = true;
            if buf.starts_with(BOM) {
                self.bad = Some(Bad::NotSse);
                return Bytes::new();
            }
        }
        // Each event is checked here (UTF-8, SSE); the hooks read the events on the worker
        // while they are small together, and off it (in one turn of the request's share, within
        // the budget) once they are not: the rest of what came, as one piece.
        let ok = |ev: &[u8]| -> Result<(), Bad> {
            if !clean_utf8(ev) {
                Err(Bad::NotUtf8)
            } else if !is_sse(ev) {
                Err(Bad::NotSse)
            } else {
                Ok(())
            }
        };
        while let Some(end) = event_end(&buf[start..], last) {
            let ev = &buf[start..start + end];
            if let Err(bad) = ok(ev) {
                self.bad = Some(bad);
                break;
            }
            if self.inline + ev.len() > crate::scan::INLINE_SCAN {
                // This event and the complete ones after it that pass the checks (one that
                // does not is met by the next drain, after them).
                let mut stop = start + end;
                while let Some(more) = event_end(&buf[stop..], last) {
                    if ok(&buf[stop..stop + more]).is_err() {
                        break;
                    }
                    stop += more;
                }
                let piece = Bytes::copy_from_slice(&buf[start..stop]);
                let rw = self.rw.clone();
                // The piece holds complete events only: its end is an event's end (a CR there
                // is a whole line end, not half of a CRLF still to come).
                let work =
                    crate::scan::off_worker(self.rw.budget, self.rw.share.clone(), move || {
                        rw.events(&piece, true)
                    });
                self.pending = Some(PendingEvents {
                    work: tokio::spawn(work),
                });
                start = stop;
                break;
            }
            self.inline += ev.len();
            match rewrite_event(&self.rw, ev) {
                Event::Same => out.extend_from_slice(ev),
                Event::New(new) => out.extend_from_slice(&new),
                Event::NotJson => {
                    self.bad = Some(Bad::NotJson);
                    break;
                }
                Event::Withheld => {
                    self.bad = Some(Bad::Withheld);
                    break;
                }
            }
            start += end;
        }
        let _ = self.buf.split_to(start);
        out.freeze()
    }
}

impl HttpBody for SseRewrite {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        loop {
            if let Some(bad) = this.bad.take() {
                // Fail closed: what came before the event that is not UTF-8 (or not SSE, or too
                // large) went on; nothing after it does. The client is told why and the stream
                // ends (an error instead would take the answer's head with it when nothing had
                // been sent yet: the client would see the connection close without an answer).
                this.ended = true;
                this.buf.clear();
                this.pending = None;
                this.rw.told(bad.reason());
                let message = bad.message(this.rw.limit);
                return Poll::Ready(Some(Ok(Frame::data(closing(this.rw.info(), &message)))));
            }
            if let Some(p) = this.pending.as_mut() {
                let done = match std::future::Future::poll(Pin::new(&mut p.work), cx) {
                    Poll::Pending => {
                        this.inline = 0;
                        return Poll::Pending;
                    }
                    // A task that failed is a check that did not finish: fail closed.
                    Poll::Ready(done) => done.ok().flatten(),
                };
                this.pending = None;
                let Some((done, bad)) = done else {
                    // Fail closed: past the budget, the events and the rest of the stream go.
                    this.bad = Some(Bad::Budget);
                    continue;
                };
                let mut out = BytesMut::from(&done[..]);
                if let Some(bad) = bad {
                    // What came before the event that stopped the piece goes on; then the
                    // stream is cut.
                    this.bad = Some(bad);
                    this.buf.clear();
                    if !out.is_empty() {
                        return Poll::Ready(Some(Ok(Frame::data(out.freeze()))));
                    }
                    continue;
                }
                out.extend_from_slice(&this.drain(this.inner_done));
                if this.inner_done && this.pending.is_none() {
                    this.buf.clear();
                    this.ended = this.bad.is_none();
                }
                if !out.is_empty() {
                    return Poll::Ready(Some(Ok(Frame::data(out.freeze()))));
                }
                continue;
            }
            if this.ended {
                return Poll::Ready(None);
            }
            if this.inner_done {
                this.ended = true;
                continue;
            }
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Pending => {
                    this.inline = 0;
                    return Poll::Pending;
                }
                Poll::Ready(None) => {
                    this.inner_done = true;
                    let rest = this.drain(true);
                    if this.pending.is_none() {
                        this.buf.clear();
                        // With a refusal still to tell, the stream has not ended yet: the next
                        // poll sends the gateway's last event (before the upstream is polled
                        // again).
                        this.ended = this.bad.is_none();
                    }
                    if rest.is_empty() {
                        continue;
                    }
                    return Poll::Ready(Some(Ok(Frame::data(rest))));
                }
                Poll::Ready(Some(Err(e))) => {
                    this.ended = true;
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(Some(Ok(frame))) => {
                    let data = match frame.into_data() {
                        Ok(d) => d,
                        Err(frame) => return Poll::Ready(Some(Ok(frame))),
                    };
                    this.buf.extend_from_slice(&data);
                    let out = this.drain(false);
                    if this.bad.is_some() {
                        this.buf.clear();
                    } else if this.buf.len() > this.rw.limit {
                        // Fail closed: the stream ends here rather than let an unread event by.
                        this.buf.clear();
                        this.bad = Some(Bad::TooLarge);
                    }
                    if !out.is_empty() {
                        return Poll::Ready(Some(Ok(Frame::data(out))));
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

/// The length of the first complete event of `b` (through its blank line), if there is one.
/// Lines end in CRLF, LF or CR (the SSE grammar); a CR at the very end may be the first half of
/// a CRLF, so it waits for more unless the stream ended (`last`), when the rest is an event.
pub(crate) fn event_end(b: &[u8], last: bool) -> Option<usize> {
    let mut i = 0;
    let mut line_start = 0;
    while i < b.len() {
        let eol = match b[i] {
            b'\n' => 1,
            b'\r' if i + 1 < b.len() => {
                if b[i + 1] == b'\n' {
                    2
                } else {
                    1
                }
            }
            b'\r' if last => 1,
            b'\r' => return None,
            _ => {
                i += 1;
                continue;
            }
        };
        if i == line_start {
            return Some(i + eol);
        }
        i += eol;
        line_start = i;
    }
    (last && !b.is_empty()).then_some(b.len())
}

/// The lines of an event (terminators dropped).
pub(crate) fn lines(ev: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = ev;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (line, next) = match rest.iter().position(|b| *b == b'\n' || *b == b'\r') {
            Some(p) => {
                let skip = if rest[p] == b'\r' && rest.get(p + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                (&rest[..p], &rest[p + skip..])
            }
            None => (rest, &rest[rest.len()..]),
        };
        rest = next;
        Some(line)
    })
}

/// A field line split into name and value (one leading space of the value dropped); `None` for
/// a comment or blank line.
pub(crate) fn field(line: &[u8]) -> Option<(&[u8], &[u8])> {
    if line.is_empty() || line[0] == b':' {
        return None;
    }
    Some(match line.iter().position(|b| *b == b':') {
        Some(p) => {
            let v = &line[p + 1..];
            (&line[..p], v.strip_prefix(b" ").unwrap_or(v))
        }
        None => (line, &[][..]),
    })
}

/// The data of an event (its `data` lines joined by LF), `None` when it has none.
pub(crate) fn event_data(ev: &[u8]) -> Option<std::borrow::Cow<'_, [u8]>> {
    let mut data: Option<std::borrow::Cow<'_, [u8]>> = None;
    for (name, value) in lines(ev).filter_map(field) {
        if name != b"data" {
            continue;
        }
        data = Some(match data {
            None => std::borrow::Cow::Borrowed(value),
            Some(d) => {
                let mut v = d.into_owned();
                v.push(b'\n');
                v.extend_from_slice(value);
                std::borrow::Cow::Owned(v)
            }
        });
    }
    data
}

/// An event after the hooks.
enum Event {
    /// It goes on as it was.
    Same,
    /// Its new text.
    New(Vec<u8>),
    /// Its data is not JSON while a hook wanted to read it: neither it nor the rest of the
    /// stream goes on (an empty event in its place would leave the client waiting for its
    /// answer; bb-gw-s9 S5).
    NotJson,
    /// A hook withheld its message: the stream is cut as for [`Event::NotJson`] (the client
    /// is told, with an error answer to its request, rather than left waiting).
    Withheld,
}

/// An event with its data through the hooks: as it was, or its new text (the other fields kept
/// in order, the data on one line where the first data line was, or no data at all when
/// dropped); a message a hook withheld cuts the stream.
fn rewrite_event(rw: &Rewriter, ev: &[u8]) -> Event {
    // `None`: the data stays as it was; `Some(None)`: dropped; `Some(Some(b))`: replaced.
    let new = match event_data(ev) {
        // An empty priming event (an id for resumption) carries no message.
        Some(data) if !data.iter().all(u8::is_ascii_whitespace) => match rw.message(&data) {
            Rewritten::Unchanged => None,
            Rewritten::Changed(b) => Some(Some(b)),
            Rewritten::Dropped => Some(None),
            Rewritten::Withheld => return Event::Withheld,
            Rewritten::NotJson => return Event::NotJson,
        },
        _ => None,
    };
    // Comments, ids and event names reach the client too.
    let others = rw.other_lines(ev);
    if new.is_none() && others.is_empty() {
        return Event::Same;
    }
    let mut out = Vec::with_capacity(ev.len() + 16);
    let mut written = false;
    for (i, line) in lines(ev).enumerate() {
        if line.is_empty() {
            continue;
        }
        if field(line).is_some_and(|(n, _)| n == b"data") {
            match &new {
                None => {
                    out.extend_from_slice(line);
                    out.push(b'\n');
                }
                Some(_) if written => {}
                Some(new) => {
                    written = true;
                    if let Some(b) = new {
                        out.extend_from_slice(b"data: ");
                        out.extend_from_slice(b);
                        out.push(b'\n');
                    }
                }
            }
            continue;
        }
        match others.iter().find(|(at, _)| *at == i) {
            Some((_, r)) if r.is_empty() => {}
            Some((_, r)) => {
                out.extend_from_slice(r);
                out.push(b'\n');
            }
            None => {
                out.extend_from_slice(line);
                out.push(b'\n');
            }
        }
    }
    if out.is_empty() {
        return Event::New(Vec::new());
    }
    out.push(b'\n');
    Event::New(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_plain_content_length_equal_to_the_body_is_kept() {
        let with = |values: &[&str]| {
            let mut h = http::HeaderMap::new();
            for v in values {
                h.append(header::CONTENT_LENGTH, HeaderValue::from_str(v).unwrap());
            }
            h
        };
        assert!(says_length(&with(&["305"]), 305));
        assert!(says_length(&with(&["0"]), 0));
        for odd in [
            &["304"][..],
            &["0305"],
            &["+305"],
            &["305 "],
            &["305", "305"],
            &[],
            &["99999999999999999999999"],
        ] {
            assert!(!says_length(&with(odd), 305), "{odd:?}");
        }
    }

    struct Rename;
    impl Hook for Rename {
        fn wants(&self, _: &RequestInfo, raw: &[u8]) -> bool {
            raw.windows(3).any(|w| w == b"old")
        }
        fn message(&self, _: &RequestInfo, m: &mut Value) -> Action {
            if m.get("method").and_then(Value::as_str) == Some("drop/me") {
                return Action::Drop;
            }
            match m.pointer_mut("/result/name") {
                Some(v) if v == "old" => {
                    *v = Value::from("new");
                    Action::Changed
                }
                _ => Action::Keep,
            }
        }
    }

    fn rw(limit: usize) -> Rewriter {
        Rewriter::new(RequestInfo::default(), vec![Arc::new(Rename)], limit)
    }

    async fn through(rw: &Rewriter, ct: &str, chunks: Vec<&'static [u8]>) -> (u16, Vec<u8>) {
        let chunks = Chunks(chunks.into_iter().map(Bytes::from_static).collect());
        let mut resp = Response::new(chunks.boxed());
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
        let out = rw.clone().response(resp).await;
        let status = out.status().as_u16();
        let mut body = out.into_body();
        let mut got = Vec::new();
        while let Some(f) = body.frame().await {
            match f {
                Ok(f) => got.extend_from_slice(&f.into_data().unwrap()),
                Err(_) => {
                    got.extend_from_slice(b"<cut>");
                    break;
                }
            }
        }
        (status, got)
    }

    /// A body of these chunks, one frame each.
    struct Chunks(std::collections::VecDeque<Bytes>);

    impl HttpBody for Chunks {
        type Data = Bytes;
        type Error = BoxError;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
            Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
        }
    }

    #[tokio::test]
    async fn json_answers_are_rewritten_only_when_a_hook_changes_them() {
        let r = rw(1 << 10);
        let same = br#"{"jsonrpc":"2.0", "id":1,"result":{"name":"x"}}"#;
        assert_eq!(
            through(&r, "application/json", vec![same]).await,
            (200, same.to_vec())
        );
        let (s, b) = through(
            &r,
            "application/json; charset=utf-8",
            vec![br#"{"id":1,"result":{"name":"old"}}"#],
        )
        .await;
        assert_eq!(
            (s, b.as_slice()),
            (200, &br#"{"id":1,"result":{"name":"new"}}"#[..])
        );
        // A batch loses a dropped element.
        let (_, b) = through(
            &r,
            "application/json",
            vec![br#"[{"method":"drop/me","params":{"old":1}},{"id":2,"result":{"name":"old"}}]"#],
        )
        .await;
        assert_eq!(b, br#"[{"id":2,"result":{"name":"new"}}]"#);
        // Too large, or not JSON while a hook wants it: the client gets a 502.
        let big: &'static [u8] = Box::leak(
            format!("{{\"old\":\"{}\"}}", "x".repeat(2000))
                .into_bytes()
                .into_boxed_slice(),
        );
        assert_eq!(through(&r, "application/json", vec![big]).await.0, 502);
        assert_eq!(through(&r, "application/json", vec![b"old{"]).await.0, 502);
        // Under another label the content decides: JSON and SSE are rewritten, other text
        // goes to each hook's `unread` (kept by this one), JSON a hook must drop is withheld.
        let (s, b) = through(
            &r,
            "text/plain",
            vec![br#"{"id":1,"result":{"name":"old"}}"#],
        )
        .await;
        assert_eq!(
            (s, b.as_slice()),
            (200, &br#"{"id":1,"result":{"name":"new"}}"#[..])
        );
        let (s, b) = through(
            &r,
            "application/json, text/plain",
            vec![b"event: x\ndata: {\"id\":1,\"result\":{\"name\":\"old\"}}\n\n"],
        )
        .await;
        assert_eq!(
            (s, String::from_utf8(b).unwrap().as_str()),
            (
                200,
                "event: x\ndata: {\"id\":1,\"result\":{\"name\":\"new\"}}\n\n"
            )
        );
        assert_eq!(
            through(&r, "text/plain", vec![b"old{"]).await,
            (200, b"old{".to_vec())
        );
        assert_eq!(through(&r, "text/plain", vec![b"{\"old\""]).await.0, 502);
        // An empty answer has nothing to hide.
        assert_eq!(
            through(&r, "text/plain", vec![b""]).await,
            (200, Vec::new())
        );
        // Hooks that only watch let other answers by.
        struct Watch;
        impl Hook for Watch {
            fn message(&self, _: &RequestInfo, _: &mut Value) -> Action {
                Action::Keep
            }
            fn guards(&self) -> bool {
                false
            }
        }
        let w = Rewriter::new(RequestInfo::default(), vec![Arc::new(Watch)], 1 << 10);
        assert_eq!(
            through(&w, "text/plain", vec![b"old{"]).await,
            (200, b"old{".to_vec())
        );
    }

    /// Redacts `old` wherever it stands in a non-data line.
    struct Lines;
    impl Hook for Lines {
        fn wants(&self, _: &RequestInfo, _: &[u8]) -> bool {
            false
        }
        fn message(&self, _: &RequestInfo, _: &mut Value) -> Action {
            Action::Keep
        }
        fn text(&self, _: &RequestInfo, line: &[u8]) -> Option<Vec<u8>> {
            let t = String::from_utf8_lossy(line);
            if t.starts_with(": drop") {
                return Some(Vec::new());
            }
            t.contains("old")
                .then(|| t.replace("old", "[X]").into_bytes())
        }
    }

    #[tokio::test]
    async fn comments_ids_and_event_names_pass_the_hooks_too() {
        let r = Rewriter::new(RequestInfo::default(), vec![Arc::new(Lines)], 1 << 10);
        let (_, b) = through(
            &r,
            "text/event-stream",
            vec![b": old\nid: old-1\nevent: old\ndata: {\"a\":\"old\"}\n\n: drop me\nid: 2\n\n"],
        )
        .await;
        assert_eq!(
            String::from_utf8(b).unwrap(),
            ": [X]\nid: [X]-1\nevent: [X]\ndata: {\"a\":\"old\"}\n\nid: 2\n\n"
        );
    }

    #[tokio::test]
    async fn sse_events_are_rewritten_as_they_stream_and_oversized_ones_cut_the_stream() {
        let r = rw(256);
        let (_, b) = through(
            &r,
            "text/event-stream",
            vec![
                b": comment\n\nid: 1\ndata: {\"id\":1,\"result\":{\"na",
                b"me\":\"old\"}}\r\n\r\nevent: message\ndata: {\"method\":\"drop/me\",\"old\":1}\nid: 2\n\n",
                b"data: {\"id\":3,\n",
                b"data: \"result\":{}}\r\r",
                b"id: 9\ndata:\n\n",
            ],
        )
        .await;
        assert_eq!(
            String::from_utf8(b).unwrap(),
            ": comment\n\nid: 1\ndata: {\"id\":1,\"result\":{\"name\":\"new\"}}\n\nevent: message\nid: 2\n\ndata: {\"id\":3,\ndata: \"result\":{}}\r\rid: 9\ndata:\n\n"
        );
        let long: &'static [u8] = Box::leak(
            format!("data: {}", "o".repeat(300))
                .into_bytes()
                .into_boxed_slice(),
        );
        let (_, b) = through(
            &r,
            "text/event-stream",
            vec![b"data: {}\n\n", long, b"\n\n"],
        )
        .await;
        // The client is told why, in the stream, and the stream ends.
        assert_eq!(
            String::from_utf8(b).unwrap(),
            "data: {}\n\n: Vigil gateway: the upstream's stream was cut: an event of the upstream's stream is over 256 bytes\n\n"
        );
    }

    fn leak(v: Vec<u8>) -> &'static [u8] {
        Box::leak(v.into_boxed_slice())
    }

    fn utf16le(text: &str, bom: bool) -> Vec<u8> {
        let mut out = if bom { vec![0xFF, 0xFE] } else { Vec::new() };
        for u in text.encode_utf16() {
            out.extend_from_slice(&u.to_le_bytes());
        }
        out
    }

    #[tokio::test]
    async fn answers_that_are_not_utf8_are_refused_whatever_their_label() {
        let r = rw(1 << 12);
        let msg = r#"{"id":1,"result":{"name":"old"}}"#;
        for (label, body) in [
            ("application/json", utf16le(msg, true)),
            ("application/json", utf16le(msg, false)),
            ("text/plain", utf16le(msg, true)),
            ("application/json; charset=utf-16", msg.as_bytes().to_vec()),
            (
                "application/json; charset=\"UTF-16LE\"",
                msg.as_bytes().to_vec(),
            ),
            ("text/plain; charset=iso-8859-1", msg.as_bytes().to_vec()),
            ("text/event-stream; charset=utf-16", msg.as_bytes().to_vec()),
            ("text/plain", b"\xff\xfe\x00\x00{\x00\x00\x00".to_vec()),
            ("application/json", b"{\"a\":\"\xc3\"}".to_vec()),
        ] {
            let (status, got) = through(&r, label, vec![leak(body)]).await;
            assert_eq!(status, 502, "{label}: {got:?}");
        }
        // UTF-8, said so or not, passes.
        let (status, got) =
            through(&r, "application/json; Charset=UTF-8", vec![msg.as_bytes()]).await;
        assert_eq!(
            (status, got.as_slice()),
            (200, &br#"{"id":1,"result":{"name":"new"}}"#[..])
        );
        // An event stream is cut at its first event that is not UTF-8 (or holds a NUL).
        let mut second = b"data: ".to_vec();
        second.extend(utf16le(msg, false));
        second.extend_from_slice(b"\n\n");
        let (status, got) = through(
            &r,
            "text/event-stream",
            vec![
                b"data: {\"id\":0,\"result\":{}}\n\n",
                leak(second),
                b"data: {}\n\n",
            ],
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(
            String::from_utf8(got).unwrap(),
            "data: {\"id\":0,\"result\":{}}\n\n: Vigil gateway: the upstream's stream was cut: an event of the upstream's stream is not UTF-8\n\n"
        );
        let (_, got) = through(
            &r,
            "text/event-stream",
            vec![leak(utf16le(&format!("data: {msg}\n\n"), true))],
        )
        .await;
        assert_eq!(
            String::from_utf8(got).unwrap(),
            ": Vigil gateway: the upstream's stream was cut: an event of the upstream's stream is not UTF-8\n\n"
        );
        // The answer to a request with an id: the gateway answers it with a JSON-RPC error.
        let info = RequestInfo {
            body: RequestBody(Bytes::from_static(
                br#"{"jsonrpc":"2.0","id":"c-7","method":"tools/call","params":{"name":"x"}}"#,
            )),
            ..RequestInfo::default()
        };
        let r = Rewriter::new(info, vec![Arc::new(Rename)], 1 << 12);
        let (status, got) = through(
            &r,
            "text/event-stream",
            vec![leak(utf16le(&format!("data: {msg}\n\n"), false))],
        )
        .await;
        assert_eq!(status, 200);
        let got = String::from_utf8(got).unwrap();
        let data = got
            .strip_prefix("event: message\ndata: ")
            .and_then(|d| d.strip_suffix("\n\n"))
            .unwrap_or_else(|| panic!("{got}"));
        let v: Value = serde_json::from_str(data).unwrap();
        assert_eq!(v["id"], "c-7");
        assert_eq!(v["error"]["code"], -32603);
        assert!(v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not UTF-8"));
    }

    #[tokio::test]
    async fn an_event_whose_data_is_not_json_cuts_the_stream_visibly() {
        // bb-gw-s9 S5: two data lines that split a JSON string join into no JSON; a hook
        // wanted to read it, so the client is told, in place of an empty event.
        let r = rw(1 << 12);
        let (_, b) = through(
            &r,
            "text/event-stream",
            vec![
                b"data: {\"id\":0,\"result\":{}}\n\ndata: {\"old\":\"a\ndata: b\"}\n\ndata: {}\n\n",
            ],
        )
        .await;
        assert_eq!(
            String::from_utf8(b).unwrap(),
            "data: {\"id\":0,\"result\":{}}\n\n: Vigil gateway: the upstream's stream was cut: an event's data is not a JSON message that reads one way (not JSON, a key given twice, or a key that reads as another once case is folded)\n\n"
        );
        // No hook wants it: it passes as it came.
        let (_, b) = through(
            &r,
            "text/event-stream",
            vec![b"data: {\"x\":\"a\ndata: b\"}\n\n"],
        )
        .await;
        assert_eq!(b, b"data: {\"x\":\"a\ndata: b\"}\n\n");
    }

    #[tokio::test]
    async fn line_breaks_only_some_readers_see_are_escaped_in_data_or_cut_the_stream() {
        // Tester 153: `event: message<U+2028>data: {…}` is one `event` line to SSE and two lines
        // to httpx (`str.splitlines`), whose reader got a tool list the gateway never read.
        let r = rw(1 << 12);
        for sep in [
            "\u{2028}", "\u{2029}", "\u{85}", "\u{b}", "\u{c}", "\u{1c}", "\u{1d}", "\u{1e}",
        ] {
            let stream = format!(
                "data: {{\"id\":0,\"result\":{{}}}}\n\nevent: message{sep}data: {{\"id\":1}}\n\n"
            );
            let (_, b) = through(&r, "text/event-stream", vec![stream.leak().as_bytes()]).await;
            let b = String::from_utf8(b).unwrap();
            assert!(
                b.starts_with("data: {\"id\":0,\"result\":{}}\n\n: Vigil gateway: the upstream's stream was cut: the upstream's stream is not SSE"),
                "{sep:?}: {b}"
            );
        }
        // In a data line (a JSON string may hold them raw): escaped, the same string to JSON.
        let (_, b) = through(
            &r,
            "text/event-stream",
            vec![
                "data: {\"id\":0,\"result\":{\"t\":\"a\u{2028}b\u{85}c\u{2029}\"}}\n\n".as_bytes(),
            ],
        )
        .await;
        let b = String::from_utf8(b).unwrap();
        assert_eq!(
            b,
            "data: {\"id\":0,\"result\":{\"t\":\"a\\u2028b\\u0085c\\u2029\"}}\n\n"
        );
        let v: Value = serde_json::from_str(b.trim().strip_prefix("data: ").unwrap()).unwrap();
        assert_eq!(v["result"]["t"], "a\u{2028}b\u{85}c\u{2029}");
        // Split over two reads, the character is escaped whole.
        let (_, b) = through(
            &r,
            "text/event-stream",
            vec![b"data: {\"t\":\"a\xe2\x80", b"\xa8b\"}\n\n"],
        )
        .await;
        assert_eq!(b, b"data: {\"t\":\"a\\u2028b\"}\n\n");
    }

    /// Holds every message or text holding `slow` until the test lets it go (so a piece read
    /// off the worker is past any budget, whatever the machine's speed).
    struct Gate(std::sync::Mutex<std::sync::mpsc::Receiver<()>>);
    impl Gate {
        fn hold(&self, raw: &[u8]) {
            if raw.windows(4).any(|w| w == b"slow") {
                let _ = self.0.lock().unwrap().recv();
            }
        }
    }
    impl Hook for Gate {
        fn message(&self, _: &RequestInfo, m: &mut Value) -> Action {
            self.hold(m.to_string().as_bytes());
            Action::Keep
        }
        fn unread(&self, _: &RequestInfo, body: &[u8]) -> Option<Vec<u8>> {
            self.hold(body);
            None
        }
    }

    #[tokio::test]
    async fn many_small_events_are_read_off_the_worker_as_one_piece() {
        // bb-gw-s9 S2: events small each but large together are one piece for the pool,
        // within the budget; past it, the stream is cut after what the worker read.
        let (go, rx) = std::sync::mpsc::channel();
        let gate = Arc::new(Gate(std::sync::Mutex::new(rx)));
        let gated = |budget_ms: u64| {
            Rewriter::new(RequestInfo::default(), vec![gate.clone()], 1 << 16)
                .within(std::time::Duration::from_millis(budget_ms))
        };
        let first = format!("data: {{\"a\":\"{}\"}}\n\n", "o".repeat(1500));
        let slow = format!("data: {{\"slow\":\"{}\"}}\n\n", "o".repeat(1500));
        let chunk = leak(format!("{first}{slow}{slow}").into_bytes());
        let (_, b) = through(&gated(1), "text/event-stream", vec![chunk]).await;
        // Its two held events go (the turn they hold is given back).
        go.send(()).unwrap();
        go.send(()).unwrap();
        // The first event was read on the worker; the two after it were one piece.
        assert_eq!(
            String::from_utf8(b).unwrap(),
            format!("{first}: Vigil gateway: the upstream's stream was cut: an event could not be checked within the gateway's budget\n\n")
        );
        // Within the budget, every event arrives, in order (a piece's last event ending in
        // CR CR included).
        let r = rw(1 << 16);
        let (_, b) = through(&r, "text/event-stream", vec![chunk, b"data: {}\n\n"]).await;
        assert_eq!(
            String::from_utf8(b).unwrap(),
            format!("{first}{slow}{slow}data: {{}}\n\n")
        );
        let crcr = format!("{first}{}\r\rdata: {{", &slow[..slow.len() - 2]);
        let (_, b) = through(
            &r,
            "text/event-stream",
            vec![leak(crcr.clone().into_bytes()), b"}\n\n"],
        )
        .await;
        assert_eq!(String::from_utf8(b).unwrap(), format!("{crcr}}}\n\n"));
        // A text answer too large to read on the worker is read off it, within the budget.
        let text = leak(format!("slow {}", "o".repeat(4000)).into_bytes());
        let (status, _) = through(&gated(1), "text/plain", vec![text]).await;
        go.send(()).unwrap();
        assert_eq!(status, 502);
        let r = rw(1 << 16);
        assert_eq!(
            through(&r, "text/plain", vec![text]).await,
            (200, text.to_vec())
        );
    }

    #[test]
    fn event_boundaries_follow_the_sse_grammar() {
        assert_eq!(event_end(b"data: a\n\nrest", false), Some(9));
        assert_eq!(event_end(b"data: a\r\n\r\n", false), Some(11));
        assert_eq!(event_end(b"data: a\r\r", false), None);
        assert_eq!(event_end(b"data: a\r\r", true), Some(9));
        assert_eq!(event_end(b"data: a\r\rx", false), Some(9));
        assert_eq!(event_end(b"data: a\n", false), None);
        assert_eq!(event_end(b"data: a\n", true), Some(8));
        assert_eq!(
            event_data(b"data:x\ndata: y\nid: 1\n\n").as_deref(),
            Some(&b"x\ny"[..])
        );
    }
}
