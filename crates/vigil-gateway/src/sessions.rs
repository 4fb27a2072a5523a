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
    /// How many routes bind each id (a route without tokens refuses a bound id).
    ids: HashMap<String, usize>,
    serial: u64,
}

impl Table {
    fn unbind_id(&mut self, id: &str) {
        if let Some(n) = self.ids.get_mut(id) {
            *n -= 1;
            if *n == 0 {
                self.ids.remove(id);
            }
        }
    }

    fn forget(&mut self, key: &Key) {
        if let Some(o) = self.owners.remove(key) {
            self.unbind_id(&key.1);
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

    /// Binds `key` to `subject` (again, when it holds it already).
    fn bind(&mut self, key: Key, subject: &str, now: Instant) -> Result<u64, Unbound> {
        match self.owners.get(&key) {
            // An upstream that hands out an id another subject holds (a broken or hostile
            // one) never moves that session to this subject (bb-gw-s9 S10).
            Some(o) if o.subject != subject && now.duration_since(o.last) < IDLE => {
                return Err(Unbound::Taken);
            }
            Some(_) => self.forget(&key),
            None if self.owners.len() >= MAX => {
                self.expire(now);
                if self.owners.len() >= MAX {
                    return Err(Unbound::Full);
                }
            }
            None => {}
        }
        let slot = (key.0.clone(), subject.to_owned());
        let q = self.opened.entry(slot).or_default();
        q.push_back(key.1.clone());
        let oldest = (q.len() > PER_SUBJECT).then(|| q.pop_front()).flatten();
        if let Some(id) = oldest {
            if self.owners.remove(&(key.0.clone(), id.clone())).is_some() {
                self.unbind_id(&id);
            }
        }
        self.serial += 1;
        *self.ids.entry(key.1.clone()).or_default() += 1;
        self.owners.insert(
            key,
            Owner {
                subject: subject.to_owned(),
                last: now,
                serial: self.serial,
            },
        );
        Ok(self.serial)
    }
}

/// Why a session the upstream handed out was not bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unbound {
    /// The gateway holds as many sessions as it may.
    Full,
    /// Another subject holds that id on this route.
    Taken,
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

/// Every `sessionId`/`session_id` query parameter (name compared decoded, without case, and
/// with PHP's `_` for `.`, ` ` and `[`: every framework decodes it); a name that only starts so
/// (`sessionId[]`) is [`Ambiguous`].
fn query_sessions(query: &str) -> Result<Vec<String>, Ambiguous> {
    let mut out = Vec::new();
    for p in query.split(['&', ';']) {
        let (name, value) = p.split_once('=').unwrap_or((p, ""));
        // PHP reads `.`, a space and an unclosed `[` in a name as `_` (`session.id`, `session+id`
        // and `session[id` are its `session_id`; tester 158).
        let name: String = decode(name)
            .to_ascii_lowercase()
            .chars()
            .map(|c| if matches!(c, '.' | ' ' | '[') { '_' } else { c })
            .collect();
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

/// `s` percent-decoded (`+` read as a space), as query parsers read a name or value.
pub(crate) fn decode(s: &str) -> String {
    String::from_utf8_lossy(&percent_decoded(s.as_bytes(), true)).into_owned()
}

/// `bytes` with every `%XX` escape undone, and `+` read as a space when `plus_is_space` (a
/// query's names and values; a body or a header is no form, and keeps its `+`).
pub(crate) fn percent_decoded(bytes: &[u8], plus_is_space: bool) -> Vec<u8> {
    let hex = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push(h * 16 + l);
                i += 3;
            }
            (b'+', _, _) if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Whether `subject` may use the session `id` of the route `route` (and it is then marked
/// used): only the subject that opened it, and only while the gateway remembers it.
pub(crate) fn allowed(route: &str, id: &str, subject: &str) -> bool {
    let now = Instant::now();
    let key = (Arc::from(route), id.to_owned());
    let mut t = table();
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

/// Whether some route binds the session `id` to a subject: a route without tokens refuses it
/// (whoever reaches that route could act in another's session).
pub(crate) fn bound_anywhere(id: &str) -> bool {
    table().ids.contains_key(id)
}

/// Whom a token's sessions are bound to: its `sub`, or for a token without one, a fingerprint
/// of the token itself (SHA-256; a control character first, which no accepted `sub` holds), so
/// two sub-less tokens never share a session.
pub(crate) fn holder(subject: Option<&str>, headers: &HeaderMap) -> String {
    if let Some(s) = subject {
        return s.to_owned();
    }
    use sha2::Digest as _;
    // As the bearer check reads it: what follows the scheme, trimmed.
    let header = headers
        .get(http::header::AUTHORIZATION)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let token = header.split_once(' ').map_or("", |(_, t)| t.trim());
    let digest = sha2::Sha256::digest(token.as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\u{1}token:{hex}")
}

/// After the upstream answered a request of `subject` that named the session `asked` (if
/// any): a new `Mcp-Session-Id` in the answer is bound to the subject (`Err`: the table is
/// full, or another subject holds that id; the answer must not reach the client), and a
/// session the upstream ended (`DELETE` answered, or 404) is forgotten.
pub(crate) fn answered(
    route: &str,
    subject: &str,
    method: &Method,
    asked: Option<&str>,
    status: StatusCode,
    answer: &HeaderMap,
) -> Result<(), Unbound> {
    let given = answer
        .get(MCP_SESSION_ID)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .filter(|id| Some(id.as_str()) != asked && id.len() <= MAX_ID);
    let ended = asked.filter(|_| {
        status == StatusCode::NOT_FOUND || (method == Method::DELETE && status.is_success())
    });
    if given.is_none() && ended.is_none() {
        // Nothing to bind or forget: the table (shared by every worker) is not touched.
        return Ok(());
    }
    let route: Arc<str> = Arc::from(route);
    let mut t = table();
    if let Some(id) = ended {
        t.forget(&(route.clone(), id.to_owned()));
    }
    match given {
        Some(id) => t.bind((route, id), subject, Instant::now()).map(drop),
        None => Ok(()),
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

/// The answer in place of one whose session could not be bound: 503 when the gateway holds as
/// many sessions as it may, 502 when the upstream handed out an id another subject holds.
pub(crate) fn unbound(why: Unbound, route: &str) -> http::Response<crate::body::Body> {
    match why {
        Unbound::Full => crate::body::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_sessions",
            "the gateway holds as many sessions as it may; retry later",
        ),
        Unbound::Taken => {
            tracing::warn!(route, "{}", Refused::Taken.message());
            crate::body::error(
                StatusCode::BAD_GATEWAY,
                "session_taken",
                "the upstream handed out a session id that another subject holds; refused",
            )
        }
    }
}

/// Where a route's upstream is mounted: maps the path an upstream's `endpoint` event names
/// (its own) to the one a client must ask the gateway for.
#[derive(Debug, Clone)]
pub(crate) struct Mount {
    prefix: String,
    upstream_base: String,
    upstream_path: String,
    keep_prefix: bool,
}

/// Why a legacy stream is ended before its `endpoint` event reaches the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refused {
    /// An absolute URL to another origin, or a path outside the route's upstream path.
    Elsewhere,
    /// No `sessionId`/`session_id` (or two, or an array form): the gateway cannot bind it.
    Unbindable,
    /// The session table is full.
    Full,
    /// The upstream handed out an id another subject holds.
    Taken,
}

impl Refused {
    fn message(self) -> &'static str {
        match self {
            Refused::Elsewhere => "the upstream's legacy endpoint lies outside this route (another origin, or a path the route does not forward); stream ended",
            Refused::Unbindable => "the upstream's legacy endpoint names no sessionId or session_id the gateway can bind to the token's subject, or names other parameters or the session in its path; stream ended",
            Refused::Full => "too many sessions",
            Refused::Taken => "the upstream handed out a session id that another subject holds on this route; refused (the session stays with its subject)",
        }
    }
}

fn under<'p>(path: &'p str, base: &str) -> Option<&'p str> {
    let rest = path.strip_prefix(base)?;
    (base.is_empty() || rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

impl Mount {
    /// The mount of `route`.
    pub(crate) fn of(route: &crate::config::Route) -> Mount {
        Mount {
            prefix: route.prefix.clone(),
            upstream_base: route
                .upstream_base
                .trim_end_matches('/')
                .to_ascii_lowercase(),
            upstream_path: route.upstream_path.clone(),
            keep_prefix: route.keep_prefix,
        }
    }

    /// A `Location` the upstream answered with, as the client must follow it through the
    /// gateway: an absolute URL of the upstream's own origin, or an absolute path, rewritten
    /// into the route's prefix (`Some`); a relative reference as sent (`None`); `Err` when it
    /// lies outside what the route forwards (another origin, another path).
    pub(crate) fn location(&self, l: &str) -> Result<Option<String>, ()> {
        self.endpoint(l).map_err(drop)
    }

    /// The `endpoint` event's `data` as the client must use it: `Some` rewritten into the
    /// route's prefix (an absolute path, or a URL of the upstream's own origin), `None` when
    /// it stays as sent (a relative reference, which the client resolves against the stream's
    /// URL, already under the route).
    fn endpoint(&self, data: &str) -> Result<Option<String>, Refused> {
        // Resolved as clients resolve it (the WHATWG URL rules of browsers and Node, through the
        // `url` crate): leading spaces dropped, `\` read as `/`, `https:host` and `//host`
        // naming a host. Whatever lands on another origin is refused.
        let base =
            url::Url::parse(&format!("{}/", self.upstream_base)).map_err(|_| Refused::Elsewhere)?;
        let joined = base.join(data).map_err(|_| Refused::Elsewhere)?;
        if joined.origin() != base.origin() {
            return Err(Refused::Elsewhere);
        }
        // A plain relative reference (no scheme, no leading `/` or `\`, nothing a parser
        // drops) stays as sent: the client resolves it against the stream's URL, which is
        // already under the route.
        let head = data.split(['/', '?', '#']).next().unwrap_or("");
        let plain = !data.is_empty()
            && !head.contains(':')
            && !data.starts_with('/')
            && !data.bytes().any(|b| b == b'\\' || b <= b' ' || b == 0x7f);
        if plain {
            return Ok(None);
        }
        let mut target = joined.path().to_owned();
        if let Some(q) = joined.query() {
            target.push('?');
            target.push_str(q);
        }
        let cut = target.find(['?', '#']).unwrap_or(target.len());
        let (path, query) = target.split_at(cut);
        let rest = under(path, &self.upstream_path).ok_or(Refused::Elsewhere)?;
        let mut client = if self.keep_prefix {
            under(rest, &self.prefix).ok_or(Refused::Elsewhere)?;
            rest.to_owned()
        } else {
            format!("{}{rest}", self.prefix)
        };
        if client.is_empty() {
            client.push('/');
        }
        client.push_str(query);
        Ok((client != data).then_some(client))
    }
}

/// A legacy HTTP+SSE stream (the answer to a GET) watched for its `endpoint` event: held until
/// its first event is complete; an `endpoint` is rewritten into the route's prefix and its
/// `sessionId` bound to `subject` before the event reaches the client (one the gateway cannot
/// bind, or that points elsewhere, ends the stream), and forgotten when the stream ends.
pub(crate) struct Watch<B> {
    inner: B,
    route: Arc<str>,
    subject: String,
    mount: Mount,
    seen: Vec<u8>,
    watching: bool,
    ended: bool,
    bound: Option<(String, u64)>,
}

/// What the watch does with what it has seen so far.
#[derive(Debug, PartialEq, Eq)]
enum Look {
    /// Wait for more.
    Hold,
    /// Send these bytes on (watching is over).
    Release(Vec<u8>),
    /// End the stream.
    Refuse(Refused),
}

impl<B> Watch<B> {
    /// Watches `inner`, the stream of `subject` on `route` mounted as `mount`.
    pub(crate) fn new(inner: B, route: Arc<str>, subject: String, mount: Mount) -> Self {
        Watch {
            inner,
            route,
            subject,
            mount,
            seen: Vec::new(),
            watching: true,
            ended: false,
            bound: None,
        }
    }

    fn release(&mut self) -> Look {
        self.watching = false;
        Look::Release(std::mem::take(&mut self.seen))
    }

    /// Looks at the next bytes of the stream.
    fn look(&mut self, data: &[u8]) -> Look {
        self.seen.extend_from_slice(data);
        let text = String::from_utf8_lossy(&self.seen)
            .replace("\r\n", "\n")
            .replace('\r', "\n");
        // Complete events only (each ends with a blank line).
        let Some(end) = text.rfind("\n\n") else {
            return if self.seen.len() > WATCH {
                self.release()
            } else {
                Look::Hold
            };
        };
        for event in text[..end].split("\n\n") {
            let mut name = None;
            let mut data: Option<String> = None;
            for line in event.lines() {
                let (field, value) = line.split_once(':').unwrap_or((line, ""));
                let value = value.strip_prefix(' ').unwrap_or(value);
                match field {
                    "event" => name = Some(value),
                    "data" => data.get_or_insert_with(String::new).push_str(value),
                    _ => {}
                }
            }
            if name.is_none() && data.is_none() {
                // A comment (`: ping`): not an event.
                continue;
            }
            if name != Some("endpoint") {
                // The legacy transport's first event is its endpoint: this stream is another.
                return self.release();
            }
            let data = data.unwrap_or_default();
            let rewritten = match self.mount.endpoint(&data) {
                Ok(r) => r,
                Err(why) => return Look::Refuse(why),
            };
            let target = rewritten.as_deref().unwrap_or(&data);
            let query = target
                .split_once('?')
                .map(|(_, q)| q.split('#').next().unwrap_or(q));
            let ids = match query.map(query_sessions) {
                Some(Ok(mut ids)) => {
                    ids.sort();
                    ids.dedup();
                    ids
                }
                _ => Vec::new(),
            };
            let [id] = ids.as_slice() else {
                return Look::Refuse(Refused::Unbindable);
            };
            if id.is_empty() || id.len() > MAX_ID {
                return Look::Refuse(Refused::Unbindable);
            }
            // The session parameter must be the only place the endpoint could carry a session:
            // another parameter (`&sid=…`, `&session-id=…`) or the id in the path
            // (`/messages/<id>?sessionId=<id>`) may be what the upstream reads, and a client
            // could then name its own bound session in one place and another's in the other
            // (bb-gw-s9 S1). Such endpoints end the stream like one without a session.
            let path = target.split(['?', '#']).next().unwrap_or(target);
            let other_param = query.is_some_and(|q| {
                q.split(['&', ';']).filter(|p| !p.is_empty()).any(|p| {
                    let name = decode(p.split_once('=').map_or(p, |(n, _)| n)).to_ascii_lowercase();
                    name != "sessionid" && name != "session_id"
                })
            });
            if other_param || decode(path).contains(id.as_str()) {
                return Look::Refuse(Refused::Unbindable);
            }
            let key = (self.route.clone(), id.clone());
            match table().bind(key, &self.subject, Instant::now()) {
                Ok(serial) => self.bound = Some((id.clone(), serial)),
                Err(Unbound::Full) => return Look::Refuse(Refused::Full),
                Err(Unbound::Taken) => return Look::Refuse(Refused::Taken),
            }
            if let Some(new) = &rewritten {
                // The value as sent, on its one `data:` line, replaced in the raw bytes.
                let Some(at) = find(&self.seen, data.as_bytes()) else {
                    return Look::Refuse(Refused::Elsewhere);
                };
                self.seen
                    .splice(at..at + data.len(), new.bytes())
                    .for_each(drop);
            }
            return self.release();
        }
        if self.seen.len() > WATCH {
            return self.release();
        }
        Look::Hold
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
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
        if this.ended {
            return Poll::Ready(None);
        }
        loop {
            let polled = std::task::ready!(Pin::new(&mut this.inner).poll_frame(cx));
            if !this.watching {
                return Poll::Ready(polled);
            }
            match polled {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(d) => match this.look(&d) {
                        Look::Hold => continue,
                        Look::Release(b) => {
                            return Poll::Ready(Some(Ok(Frame::data(Bytes::from(b)))))
                        }
                        Look::Refuse(why) => {
                            this.watching = false;
                            this.ended = true;
                            this.seen.clear();
                            tracing::warn!(route = %this.route, "{}", why.message());
                            return Poll::Ready(Some(Err(why.message().into())));
                        }
                    },
                    // Trailers: whatever was held goes first, then the stream ends.
                    Err(_) => {
                        this.ended = true;
                        if let Look::Release(b) = this.release() {
                            return Poll::Ready(Some(Ok(Frame::data(Bytes::from(b)))));
                        }
                    }
                },
                None => {
                    this.ended = true;
                    if let Look::Release(b) = this.release() {
                        if !b.is_empty() {
                            return Poll::Ready(Some(Ok(Frame::data(Bytes::from(b)))));
                        }
                    }
                    return Poll::Ready(None);
                }
                other => return Poll::Ready(other),
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended || (self.seen.is_empty() && self.inner.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        if self.watching {
            SizeHint::default()
        } else {
            self.inner.size_hint()
        }
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
        let open =
            |subject: &str| answered(&route, subject, &Method::POST, None, StatusCode::OK, &h);
        assert_eq!(open("alice"), Ok(()));
        assert!(allowed(&route, "s-1", "alice"));
        assert!(!allowed(&route, "s-1", "bob"));
        // bb-gw-s9 S10: an upstream that hands the same id to another subject never moves
        // the session; handed to the same subject again, it stays bound.
        assert_eq!(open("bob"), Err(Unbound::Taken));
        assert!(allowed(&route, "s-1", "alice"));
        assert!(!allowed(&route, "s-1", "bob"));
        assert_eq!(open("alice"), Ok(()));
        assert!(allowed(&route, "s-1", "alice"));
        assert!(!allowed(&route, "s-2", "alice"), "an id never handed out");
        assert!(!allowed("unit-b", "s-1", "alice"), "another route");
        let _ = answered(
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
            assert_eq!(
                answered(&route, "carol", &Method::POST, None, StatusCode::OK, &h),
                Ok(())
            );
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
        // Tester 158: PHP's spellings of `session_id`.
        for name in [
            "session.id",
            "session+id",
            "session%20id",
            "session[id",
            "Session.Id",
        ] {
            assert_eq!(q(&format!("{name}=abc")), Ok(Some("abc".into())), "{name}");
        }
        assert_eq!(q("session.id=b&sessionId=a"), Err(Ambiguous));
        assert_eq!(q("session[id]=a"), Err(Ambiguous));
        let mut h = HeaderMap::new();
        h.insert(MCP_SESSION_ID, http::HeaderValue::from_static("b"));
        assert_eq!(named(&h, Some("sessionId=a")), Err(Ambiguous));
        assert_eq!(named(&h, Some("sessionId=b")), Ok(Some("b".into())));
    }

    #[test]
    fn a_legacy_stream_binds_its_endpoint_and_forgets_it_when_it_ends() {
        let route: Arc<str> = "unit-d".into();
        let mount = Mount {
            prefix: "/mcp/legacy".into(),
            upstream_base: "http://127.0.0.1:9".into(),
            upstream_path: String::new(),
            keep_prefix: false,
        };
        let mut w = Watch::new((), route.clone(), "dora".into(), mount.clone());
        assert_eq!(
            w.look(b": ping\n\nevent: endpoint\r\ndata: /messages?sess"),
            Look::Hold
        );
        assert!(w.watching);
        assert_eq!(
            w.look(b"ionId=L-1\r\n\r\n"),
            Look::Release(
                b": ping\n\nevent: endpoint\r\ndata: /mcp/legacy/messages?sessionId=L-1\r\n\r\n"
                    .to_vec()
            )
        );
        assert!(!w.watching);
        assert!(allowed(&route, "L-1", "dora"));
        assert!(!allowed(&route, "L-1", "eve"));
        drop(w);
        assert!(!allowed(&route, "L-1", "dora"));
        // bb-gw-s8 N1(b): an endpoint without a session the gateway can bind ends the stream;
        // N13: one on another origin too.
        for data in [
            "/messages/abc",
            "/messages?sid=abc",
            "/m?sessionId=a&session_id=b",
            "http://evil.example/messages?sessionId=x",
            "//evil.example/messages?sessionId=x",
            // bb-gw-s9 S1: the session named twice, in another parameter or in the path.
            "/messages?sessionId=abc&sid=abc",
            "/messages?sessionId=abc&session-id=abc",
            "/messages/abc?sessionId=abc",
            "/messages?sessionId=abc&v=2",
            // bb-gw-s10 F3: what a WHATWG URL parser resolves to another host.
            "https:evil.example/messages?sessionId=x",
            "https:/evil.example/messages?sessionId=x",
            "\\\\evil.example/messages?sessionId=x",
            "/\\evil.example/messages?sessionId=x",
            " //evil.example/messages?sessionId=x",
            "\t//evil.example/messages?sessionId=x",
            "HTTP://EVIL.example/messages?sessionId=x",
            "http://127.0.0.1:9@evil.example/messages?sessionId=x",
            "http://127.0.0.1:99/messages?sessionId=x",
        ] {
            let mut w = Watch::new((), route.clone(), "dora".into(), mount.clone());
            let ev = format!("event: endpoint\ndata: {data}\n\n");
            assert!(matches!(w.look(ev.as_bytes()), Look::Refuse(_)), "{data}");
        }
        // A relative reference stays as sent; the upstream's own origin is rewritten (its
        // spellings too: case, the default port, `http:` with no slashes resolving onto it).
        assert_eq!(mount.endpoint("messages?sessionId=1"), Ok(None));
        for same in [
            "HTTP://127.0.0.1:9/messages?sessionId=1",
            "http:/messages?sessionId=1",
            "/x/../messages?sessionId=1",
        ] {
            assert_eq!(
                mount.endpoint(same),
                Ok(Some("/mcp/legacy/messages?sessionId=1".into())),
                "{same}"
            );
        }
        assert_eq!(
            mount.endpoint("http://127.0.0.1:9/messages?sessionId=1"),
            Ok(Some("/mcp/legacy/messages?sessionId=1".into()))
        );
        let nested = Mount {
            upstream_path: "/base".into(),
            ..mount.clone()
        };
        assert_eq!(
            nested.endpoint("/base/messages?sessionId=1"),
            Ok(Some("/mcp/legacy/messages?sessionId=1".into()))
        );
        assert_eq!(nested.endpoint("/other/messages"), Err(Refused::Elsewhere));
        // Another event first: not a legacy stream, passed on at once.
        let mut w = Watch::new((), route.clone(), "dora".into(), mount);
        assert_eq!(
            w.look(b"event: message\ndata: {}\n\n"),
            Look::Release(b"event: message\ndata: {}\n\n".to_vec())
        );
    }
}
