//! MCP sessions of HTTP upstreams bound to the token subject that opened them: a Streamable
//! HTTP `Mcp-Session-Id` (taken from the upstream's answer header) and a legacy HTTP+SSE
//! `sessionId` (taken from the `endpoint` event of the upstream's GET stream) answer only the
//! subject whose request opened them; another subject, or an id the gateway never saw the
//! upstream hand out (or that expired), gets 404 as for a session that does not exist. A client
//! that gets 404 starts a new session, as the MCP transport asks.
//!
//! Memory is bounded: a session ends with its `DELETE` (or an upstream 404 for it, or the end of
//! its legacy stream), one unused for [`IDLE`] is forgotten, one subject holds at most
//! [`PER_SUBJECT`] (opening one more forgets its oldest), and the gateway at most [`MAX`] (a new
//! one beyond that is refused with 503 until some expire). The table outlives configuration
//! reloads (a reload does not end the upstream's sessions); stdio routes bind their own.

use bytes::Bytes;
use http::header::HeaderName;
use http::{HeaderMap, Method, StatusCode};
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::sync::{Arc, LazyLock, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// A session unused this long is forgotten (its next request gets 404).
pub(crate) const IDLE: Duration = Duration::from_secs(24 * 3600);
/// Sessions one subject may hold on a route at once; the oldest goes first.
pub(crate) const PER_SUBJECT: usize = 256;
/// Sessions the gateway remembers at once.
pub(crate) const MAX: usize = 100_000;
/// Longest session id the gateway binds (an upstream's longer one is never usable through it).
const MAX_ID: usize = 1024;
/// How much of a legacy GET stream is watched for its `endpoint` event.
const WATCH: usize = 16 * 1024;

const MCP_SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");

/// A session: the route's label and the id.
type Key = (Arc<str>, String);

struct Owner {
    subject: String,
    last: Instant,
    /// Tells this binding apart from a later one of the same id (a legacy stream ending
    /// forgets only its own).
    serial: u64,
}

#[derive(Default)]
struct Table {
    owners: HashMap<Key, Owner>,
    /// Per route and subject, the ids in the order they were opened.
    opened: HashMap<(Arc<str>, String), VecDeque<String>>,
    serial: u64,
}

impl Table {
    fn forget(&mut self, key: &Key) {
        if let Some(o) = self.owners.remove(key) {
            let slot = (key.0.clone(), o.subject);
            if let Some(q) = self.opened.get_mut(&slot) {
                q.retain(|id| id != &key.1);
                if q.is_empty() {
                    self.opened.remove(&slot);
                }
            }
        }
    }

    fn expire(&mut self, now: Instant) {
        let old: Vec<Key> = self
            .owners
            .iter()
            .filter(|(_, o)| now.duration_since(o.last) >= IDLE)
            .map(|(k, _)| k.clone())
            .collect();
        for k in old {
            self.forget(&k);
        }
    }

    /// Binds `key` to `subject`; `None` when the table is full.
    fn bind(&mut self, key: Key, subject: &str, now: Instant) -> Option<u64> {
        if self.owners.contains_key(&key) {
            self.forget(&key);
        } else if self.owners.len() >= MAX {
            self.expire(now);
            if self.owners.len() >= MAX {
                return None;
            }
        }
        let slot = (key.0.clone(), subject.to_owned());
        let q = self.opened.entry(slot).or_default();
        q.push_back(key.1.clone());
        let oldest = (q.len() > PER_SUBJECT).then(|| q.pop_front()).flatten();
        if let Some(id) = oldest {
            self.owners.remove(&(key.0.clone(), id));
        }
        self.serial += 1;
        self.owners.insert(
            key,
            Owner {
                subject: subject.to_owned(),
                last: now,
                serial: self.serial,
            },
        );
        Some(self.serial)
    }
}

static TABLE: LazyLock<Mutex<Table>> = LazyLock::new(Default::default);

fn table() -> std::sync::MutexGuard<'static, Table> {
    TABLE.lock().unwrap_or_else(|e| e.into_inner())
}

/// A request that names more than one session, or names one in a form frameworks read
/// differently (`sessionId[]=`, `session_id.x=`): which one the upstream acts in cannot be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ambiguous;

/// The session a request names: its `Mcp-Session-Id`, or a `sessionId` (or `session_id`) query
/// parameter of the legacy transport's message endpoint. Every name it carries is read (an
/// upstream may read the header, one parameter or the other): two different ones, or a
/// parameter name with a suffix, are [`Ambiguous`].
pub(crate) fn named(headers: &HeaderMap, query: Option<&str>) -> Result<Option<String>, Ambiguous> {
    let mut ids: Vec<String> = headers
        .get_all(MCP_SESSION_ID)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    if let Some(q) = query {
        ids.extend(query_sessions(q)?);
    }
    ids.sort();
    ids.dedup();
    match ids.len() {
        0 => Ok(None),
        1 => Ok(ids.pop()),
        _ => Err(Ambiguous),
    }
}

/// Every `sessionId`/`session_id` query parameter (name compared decoded and without case:
/// every framework decodes it); a name that only starts so (`sessionId[]`) is [`Ambiguous`].
fn query_sessions(query: &str) -> Result<Vec<String>, Ambiguous> {
    let mut out = Vec::new();
    for p in query.split(['&', ';']) {
        let (name, value) = p.split_once('=').unwrap_or((p, ""));
        let name = decode(name).to_ascii_lowercase();
        let Some(base) = ["sessionid", "session_id"]
            .into_iter()
            .find(|b| name.starts_with(b))
        else {
            continue;
        };
        if name.len() != base.len() {
            return Err(Ambiguous);
        }
        out.push(decode(value));
    }
    Ok(out)
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether `subject` may use the session `id` of the route `route` (and it is then marked
/// used): only the subject that opened it, and only while the gateway remembers it.
pub(crate) fn allowed(route: &Arc<str>, id: &str, subject: &str) -> bool {
    let now = Instant::now();
    let mut t = table();
    let key = (route.clone(), id.to_owned());
    match t.owners.get_mut(&key) {
        Some(o) if now.duration_since(o.last) >= IDLE => {
            t.forget(&key);
            false
        }
        Some(o) if o.subject == subject => {
            o.last = now;
            true
        }
        _ => false,
    }
}

/// After the upstream answered a request of `subject` that named the session `asked` (if
/// any): a new `Mcp-Session-Id` in the answer is bound to the subject (`false`: the table is
/// full, the answer must not reach the client), and a session the upstream ended (`DELETE`
/// answered, or 404) is forgotten.
pub(crate) fn answered(
    route: &Arc<str>,
    subject: &str,
    method: &Method,
    asked: Option<&str>,
    status: StatusCode,
    answer: &HeaderMap,
) -> bool {
    let given = answer
        .get(MCP_SESSION_ID)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let mut t = table();
    if let Some(id) = asked {
        let ended =
            status == StatusCode::NOT_FOUND || (method == Method::DELETE && status.is_success());
        if ended {
            t.forget(&(route.clone(), id.to_owned()));
        }
    }
    match given {
        Some(id) if Some(id.as_str()) != asked && id.len() <= MAX_ID => t
            .bind((route.clone(), id), subject, Instant::now())
            .is_some(),
        _ => true,
    }
}

/// The 404 for a session the subject may not use (the same as for one that does not exist).
pub(crate) fn not_found() -> http::Response<crate::body::Body> {
    crate::body::error(
        StatusCode::NOT_FOUND,
        "session_not_found",
        "no such session for this token's subject; start a new one",
    )
}

/// The 503 when the gateway holds as many sessions as it may.
pub(crate) fn full() -> http::Response<crate::body::Body> {
    crate::body::error(
        StatusCode::SERVICE_UNAVAILABLE,
        "too_many_sessions",
        "the gateway holds as many sessions as it may; retry later",
    )
}

/// A legacy HTTP+SSE stream (the answer to a GET) watched for its `endpoint` event, whose
/// `sessionId` is bound to `subject` before the event reaches the client, and forgotten when
/// the stream ends.
pub(crate) struct Watch<B> {
    inner: B,
    route: Arc<str>,
    subject: String,
    seen: Vec<u8>,
    watching: bool,
    bound: Option<(String, u64)>,
}

impl<B> Watch<B> {
    /// Watches `inner`, the stream of `subject` on `route`.
    pub(crate) fn new(inner: B, route: Arc<str>, subject: String) -> Self {
        Watch {
            inner,
            route,
            subject,
            seen: Vec::new(),
            watching: true,
            bound: None,
        }
    }

    /// Looks at the next bytes of the stream; `false` when the session could not be bound.
    fn look(&mut self, data: &[u8]) -> bool {
        self.seen.extend_from_slice(data);
        let text = String::from_utf8_lossy(&self.seen)
            .replace("\r\n", "\n")
            .replace('\r', "\n");
        // Complete events only (each ends with a blank line).
        let Some(end) = text.rfind("\n\n") else {
            if self.seen.len() > WATCH {
                self.watching = false;
            }
            return true;
        };
        for event in text[..end].split("\n\n") {
            let mut name = "message";
            let mut data = String::new();
            for line in event.lines() {
                let (field, value) = line.split_once(':').unwrap_or((line, ""));
                let value = value.strip_prefix(' ').unwrap_or(value);
                match field {
                    "event" => name = value,
                    "data" => data.push_str(value),
                    _ => {}
                }
            }
            if name == "endpoint" {
                self.watching = false;
                let query = data.split_once('?').map(|(_, q)| q);
                if let Some(id) = query
                    .and_then(|q| query_sessions(q).ok())
                    .and_then(|ids| ids.into_iter().next())
                    .filter(|i| i.len() <= MAX_ID)
                {
                    let key = (self.route.clone(), id.clone());
                    match table().bind(key, &self.subject, Instant::now()) {
                        Some(serial) => self.bound = Some((id, serial)),
                        None => return false,
                    }
                }
                return true;
            }
        }
        if self.seen.len() > WATCH {
            self.watching = false;
        }
        true
    }
}

impl<B> Drop for Watch<B> {
    fn drop(&mut self) {
        if let Some((id, serial)) = self.bound.take() {
            let key = (self.route.clone(), id);
            let mut t = table();
            if t.owners.get(&key).is_some_and(|o| o.serial == serial) {
                t.forget(&key);
            }
        }
    }
}

impl<B> HttpBody for Watch<B>
where
    B: HttpBody<Data = Bytes, Error = crate::body::BoxError> + Unpin,
{
    type Data = Bytes;
    type Error = crate::body::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if this.watching {
                if let Some(d) = frame.data_ref() {
                    let d = d.clone();
                    if !this.look(&d) {
                        // Unbound, the session would be usable by nobody: end the stream.
                        return Poll::Ready(Some(Err("too many sessions".into())));
                    }
                }
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_answers_only_its_subject_and_ends_with_delete() {
        let route: Arc<str> = "unit-a".into();
        let mut h = HeaderMap::new();
        h.insert(MCP_SESSION_ID, "s-1".parse().unwrap());
        assert!(answered(
            &route,
            "alice",
            &Method::POST,
            None,
            StatusCode::OK,
            &h
        ));
        assert!(allowed(&route, "s-1", "alice"));
        assert!(!allowed(&route, "s-1", "bob"));
        assert!(!allowed(&route, "s-2", "alice"), "an id never handed out");
        assert!(!allowed(&"unit-b".into(), "s-1", "alice"), "another route");
        answered(
            &route,
            "alice",
            &Method::DELETE,
            Some("s-1"),
            StatusCode::OK,
            &HeaderMap::new(),
        );
        assert!(!allowed(&route, "s-1", "alice"));
    }

    #[test]
    fn one_subject_holds_a_bounded_number_of_sessions() {
        let route: Arc<str> = "unit-c".into();
        for i in 0..=PER_SUBJECT {
            let mut h = HeaderMap::new();
            h.insert(MCP_SESSION_ID, format!("c-{i}").parse().unwrap());
            assert!(answered(
                &route,
                "carol",
                &Method::POST,
                None,
                StatusCode::OK,
                &h
            ));
        }
        assert!(!allowed(&route, "c-0", "carol"), "the oldest is forgotten");
        assert!(allowed(&route, &format!("c-{PER_SUBJECT}"), "carol"));
        assert_eq!(
            table().opened[&(route.clone(), "carol".into())].len(),
            PER_SUBJECT
        );
    }

    #[test]
    fn the_legacy_session_id_is_read_in_every_spelling() {
        let none = HeaderMap::new();
        let q = |s: &str| named(&none, Some(s));
        assert_eq!(q("sessionId=abc"), Ok(Some("abc".into())));
        assert_eq!(q("x=1&session_id=a%2Db"), Ok(Some("a-b".into())));
        assert_eq!(q("%73essionid=q"), Ok(Some("q".into())));
        assert_eq!(q("other=1"), Ok(None));
        assert_eq!(q("sessionId=a&sessionId=a"), Ok(Some("a".into())));
        // bb-gw-s8 N1: two sessions named, or one in a framework's array form: ambiguous.
        assert_eq!(q("session_id=b&sessionId=a"), Err(Ambiguous));
        assert_eq!(q("sessionId%5B%5D=a"), Err(Ambiguous));
        assert_eq!(q("sessionId[0]=a"), Err(Ambiguous));
        let mut h = HeaderMap::new();
        h.insert(MCP_SESSION_ID, http::HeaderValue::from_static("b"));
        assert_eq!(named(&h, Some("sessionId=a")), Err(Ambiguous));
        assert_eq!(named(&h, Some("sessionId=b")), Ok(Some("b".into())));
    }

    #[test]
    fn a_legacy_stream_binds_its_endpoint_and_forgets_it_when_it_ends() {
        let route: Arc<str> = "unit-d".into();
        let mut w = Watch::new((), route.clone(), "dora".into());
        assert!(w.look(b": ping\n\nevent: endpoint\r\ndata: /messages?sess"));
        assert!(w.watching);
        assert!(w.look(b"ionId=L-1\r\n\r\n"));
        assert!(!w.watching);
        assert!(allowed(&route, "L-1", "dora"));
        assert!(!allowed(&route, "L-1", "eve"));
        drop(w);
        assert!(!allowed(&route, "L-1", "dora"));
    }
}
