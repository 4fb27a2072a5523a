//! One request through the gateway, as a line of stages: own endpoints → request head (one
//! `Host`, one `Mcp-Session-Id`) → route (dot-segments resolved, ambiguous spellings refused, the
//! longest prefix) → Origin/CORS → per-IP limit → request checks (one `Authorization`, no
//! upgrade but WebSocket, an accepted `MCP-Protocol-Version`, no compressed body)
//! → token → per-subject limit → body (read whole, within the limit and timeout, and parsed
//! strictly once) → upstream. Each stage is a function that returns [`Flow::Next`] with what it
//! found, or [`Flow::Reply`] with the answer to send instead; whichever stage answers, the answer
//! then passes [`finish`]: CORS headers, security headers, metrics and one access-log line
//! (route, status, latency, subject, client IP, JSON-RPC method and tool only). A new stage
//! returns its refusal and `finish` does the rest.

use crate::auth::{self, Principal};
use crate::body::{self, Body};
use crate::client_ip::client_ip;
use crate::config::{Cors, Route};
use crate::cors::{self, Verdict};
use crate::endpoints;
use crate::gateway::Gateway;
use crate::jsonrpc;
use crate::metrics::{Limit, Reason};
use crate::path;
use crate::proxy::{self, Forwarded};
use crate::worker::{mine, Local, Worker};
use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::request::Parts;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::{Body as _, Incoming};
use hyper::upgrade::OnUpgrade;
use std::borrow::Cow;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

const MCP_PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
/// The session a request acts in.
const MCP_SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
/// Where a resumed event stream starts.
const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

/// What a stage decides.
pub(crate) enum Flow<T = ()> {
    /// Go on to the next stage, with what this one found.
    Next(T),
    /// Answer with this instead; [`finish`] completes it.
    Reply(Response<Body>),
}

/// The value a stage went on with, or, when it answered, that answer out of the pipeline.
macro_rules! next {
    ($flow:expr) => {
        match $flow {
            Flow::Next(v) => v,
            Flow::Reply(r) => return r,
        }
    };
}

/// The client end of a connection, with its IP already written out (once per connection, not
/// per request).
#[derive(Debug)]
pub struct Peer {
    /// Socket address of the client (or of the proxy in front).
    pub addr: SocketAddr,
    ip_text: HeaderValue,
}

impl Peer {
    /// The peer at `addr`.
    pub fn new(addr: SocketAddr) -> Self {
        Peer {
            addr,
            ip_text: ip_header(addr.ip()),
        }
    }
}

fn ip_header(ip: IpAddr) -> HeaderValue {
    HeaderValue::from_str(&ip.to_string()).unwrap_or_else(|_| HeaderValue::from_static("-"))
}

/// The client's IP, and as text.
struct Client {
    ip: IpAddr,
    text: HeaderValue,
}

/// One request on its way: what every stage reads (the configuration, the worker's own state,
/// the client, the time) and what [`finish`] reports (route, subject, JSON-RPC method and tool,
/// the browser policy that judged the request).
struct Exchange<'g> {
    gw: &'g Arc<Gateway>,
    worker: &'g Worker,
    client: Client,
    /// The connection comes from a loopback address (the dev bypass serves only such).
    local: bool,
    /// Seconds since the epoch.
    now: u64,
    /// Route label, `(gateway)` for the gateway's own endpoints.
    route: Option<&'g str>,
    subject: Option<String>,
    method: Option<String>,
    tool: Option<String>,
    /// The body's one `tools/call`, as the strict reading found it.
    call: Option<jsonrpc::Call>,
    /// The CORS policy that judged the request's `Origin` and the allowed origin, when a
    /// browser is allowed to read the answer.
    cors: Option<(&'g Cors, HeaderValue)>,
    /// The tool calls of the body, for the audit.
    calls: Vec<crate::calls::Noted>,
    /// What the gateway did with them when it answered them itself.
    outcome: Option<&'static str>,
    /// The request went to the upstream.
    forwarded: bool,
    /// Hooks the upstream's answer passes (see [`crate::rewrite`]); none: it streams untouched.
    hooks: Vec<Arc<dyn crate::rewrite::Hook>>,
    /// When the wait on the upstream ends, once the gateway waited on it for this request
    /// (reading its tools): the forward gets what is left of the route's timeout (tester 158:
    /// a silent upstream held a `tools/list` three timeouts).
    deadline: Option<Instant>,
}

/// Serves one request with the configuration `gw`, on the worker `worker`.
pub(crate) async fn handle(
    gw: Local,
    worker: Arc<Worker>,
    peer: Arc<Peer>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let start = Instant::now();
    let wall = SystemTime::now();
    let ip = client_ip(peer.addr.ip(), req.headers(), &gw.settings.trusted_proxies);
    let client = Client {
        ip,
        text: if ip == peer.addr.ip() {
            peer.ip_text.clone()
        } else {
            ip_header(ip)
        },
    };
    let http_method = req.method().clone();
    let mut ex = Exchange {
        gw: &gw,
        worker: &worker,
        local: peer.addr.ip().is_loopback() && ip.is_loopback(),
        client,
        now: crate::alerts::unix_secs(wall),
        route: None,
        subject: None,
        method: None,
        tool: None,
        call: None,
        cors: None,
        calls: Vec::new(),
        outcome: None,
        forwarded: false,
        hooks: Vec::new(),
        deadline: None,
    };
    // Boxed for the reason `forward` is (below): hyper moves this future into place, and an
    // inline pipeline would make it 3 KB instead of under 1 KB.
    let resp = Box::pin(pipeline(&mut ex, req)).await;
    Ok(finish(ex, &http_method, start, wall, resp))
}

/// The stages in their order; the first that answers ends the line.
async fn pipeline(ex: &mut Exchange<'_>, req: Request<Incoming>) -> Response<Body> {
    let http_method = req.method().clone();
    // A stage that can finish without waiting is called as a plain function; its async part
    // (and the move of its future into this one) only when it must wait.
    gateway_cors(ex, &req);
    if endpoints::is_own(req.uri().path()) {
        next!(own_endpoints(ex, &req).await);
    }
    next!(request_head(&req));
    let (route, forward_path) = next!(find_route(ex, &req));
    next!(origin(ex, route, &req));
    next!(match per_ip_now(ex, route) {
        Some(flow) => flow,
        None => per_ip_shared(ex, route).await,
    });
    next!(request_headers(ex.gw, req.method(), req.headers()));
    let principal = next!(match authenticate_now(ex, route, req.headers()) {
        Auth::Decided(flow) => flow,
        Auth::Verify(token) => authenticate(ex, route, req.headers(), token).await,
    });
    next!(match per_subject_now(ex, route, principal.as_ref()) {
        Some(flow) => flow,
        None => per_subject_shared(ex, route, principal.as_ref()).await,
    });
    let session = next!(session(route, principal.as_ref(), &req));
    let (mut parts, bytes, upgrade) = next!(request_body(ex, route, req).await);
    next!(tunnel_allowed(ex.gw, route, upgrade.is_some()));
    // The credentials the gateway hands this route's upstream never come back to the client;
    // nor does a client send one of them, or of the gateway's own secrets, up (tester 158:
    // the signing key and another route's credential went out in a tool's arguments).
    if let Some(c) = &ex.gw.credentials[route.index] {
        // In the body, a header or the target (tester 159: `X-Note: <signing key>`, `?k=…`).
        // As written, escaped, percent-encoded, hex- or base64-encoded, wrapped
        // (`Credentials::in_request`); in a header's name too (tester 161: `X-<key>: 1`).
        // `Authorization` is never forwarded (the upstream gets no client token), and it is
        // the longest header of most requests: not read.
        let in_header = parts.headers.iter().any(|(k, v)| {
            k != header::AUTHORIZATION
                && (c.in_request(v.as_bytes()) || c.in_header_name(k.as_str()))
        });
        let in_target = || {
            parts.uri.path_and_query().is_some_and(|t| {
                c.in_request(t.as_str().as_bytes())
                    || (t.as_str().contains('+')
                        && c.in_request(crate::sessions::decode(t.as_str()).as_bytes()))
            })
        };
        let place = if in_header {
            Some("header")
        } else if in_target() {
            Some("target")
        } else if c.in_request(&bytes) {
            Some("arguments")
        } else {
            None
        };
        if let Some(place) = place {
            ex.gw.metrics.count_secrets(
                &route.label,
                place,
                &[crate::credentials::RULE.to_owned()],
            );
            tracing::warn!(
                route = %route.label,
                place,
                "a request holds a credential the gateway holds (a route's header or env value, or one of the gateway's own secrets): refused"
            );
            ex.outcome = Some("refused_credential");
            // The client's own names may spell it (tester 165: a key cut into groups as a
            // tool's name reached the access log): not logged.
            for name in [&mut ex.tool, &mut ex.method] {
                if name.is_some() {
                    *name = Some("[REDACTED]".to_owned());
                }
            }
            return body::error(
                StatusCode::BAD_REQUEST,
                "credential_in_request",
                "the request holds a credential the gateway keeps; it is never sent upstream",
            );
        }
        ex.hooks
            .push(Arc::new(crate::credentials::CredentialHook::new(
                c.clone(),
                ex.gw.metrics.clone(),
                &route.label,
            )));
    }
    if route.webhook.is_some() {
        next!(webhook(ex, route, &parts.method, &parts.headers, &bytes).await);
    }
    // A webhook delivery is not JSON-RPC: no tool-call checks, no result hooks.
    let bytes = if route.webhook.is_some() {
        bytes
    } else {
        // Per-tool scopes, the tool catalog, argument validation and pins first; then the
        // protocol checks, secrets in the call, and its audit line.
        if ex.gw.mcp_routes[route.index].is_some() {
            next!(tool_checks(ex, route, principal.as_ref(), &parts, &bytes).await);
        }
        next!(
            crate::calls::stage(
                &mut crate::calls::Context {
                    gw: ex.gw,
                    route,
                    subject: ex.subject.as_deref(),
                    ip: ex.client.ip,
                    now: ex.now,
                    method: ex.method.as_deref(),
                    call: ex.call.as_ref(),
                    calls: &mut ex.calls,
                    outcome: &mut ex.outcome,
                    hooks: &mut ex.hooks,
                },
                &mut parts.headers,
                bytes,
            )
            .await
        )
    };
    ex.forwarded = true;
    // Boxed: the forwarding future is the largest of the stages (2.6 KB), and every await of
    // an inline future moves it twice, and the whole request's future (which would hold it)
    // again when hyper takes it. On the heap it is moved once (issue 22, session 19: 23 KB of
    // `memmove` per request before, 5% of the gateway's CPU).
    let resp = Box::pin(forward(
        ex,
        route,
        forward_path,
        principal,
        parts,
        bytes,
        upgrade,
    ))
    .await;
    match session {
        Some(s) => s.answered(&http_method, resp),
        None => resp,
    }
}

/// The session a request on an HTTP route with tokens acts in (see [`crate::sessions`]): 404
/// when it is not one the token's subject opened through the gateway.
fn session<'g>(
    route: &'g Route,
    principal: Option<&Principal>,
    req: &Request<Incoming>,
) -> Flow<Option<Session<'g>>> {
    if route.webhook.is_some() || route.stdio.is_some() {
        // A stdio route's own server binds its sessions.
        return Flow::Next(None);
    }
    let Ok(asked) = crate::sessions::named(req.headers(), req.uri().query()) else {
        return Flow::Reply(bad_request(
            "ambiguous_session",
            "the request names more than one session (Mcp-Session-Id, sessionId, session_id), or one in a form frameworks read differently",
        ));
    };
    let Some(p) = principal else {
        // A route without tokens (`auth = false`) never acts in a session bound to a subject
        // on another route to the same upstream.
        if asked
            .as_deref()
            .is_some_and(crate::sessions::bound_anywhere)
        {
            return Flow::Reply(crate::sessions::not_found());
        }
        return Flow::Next(None);
    };
    let s = Session {
        route,
        subject: crate::sessions::holder(p.subject.as_deref(), req.headers()),
        asked,
    };
    if let Some(id) = &s.asked {
        if !crate::sessions::allowed(&route.label, id, &s.subject) {
            return Flow::Reply(crate::sessions::not_found());
        }
    }
    Flow::Next(Some(s))
}

/// A request's session, for binding what the upstream answers.
struct Session<'g> {
    route: &'g Route,
    subject: String,
    asked: Option<String>,
}

impl Session<'_> {
    /// The upstream's answer `resp` to a `method` request: a session it opens is bound to the
    /// subject (503 when the gateway holds too many), one it ends forgotten, and a legacy
    /// stream watched for its `endpoint`.
    fn answered(self, method: &Method, resp: Response<Body>) -> Response<Body> {
        if let Err(why) = crate::sessions::answered(
            &self.route.label,
            &self.subject,
            method,
            self.asked.as_deref(),
            resp.status(),
            resp.headers(),
        ) {
            return crate::sessions::unbound(why, &self.route.label);
        }
        let stream = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
        if method != Method::GET || self.asked.is_some() || !stream {
            return resp;
        }
        let (parts, body) = resp.into_parts();
        let watched = crate::sessions::Watch::new(
            body,
            Arc::from(self.route.label.as_str()),
            self.subject,
            crate::sessions::Mount::of(self.route),
        );
        Response::from_parts(parts, BodyExt::boxed(watched))
    }
}

/// The stage every answer passes, whichever stage made it: the CORS headers of the policy that
/// judged the request (so a browser can read a 429's `Retry-After` or a 401's challenge), the
/// security headers, the request metrics and the access-log line.
fn finish(
    mut ex: Exchange<'_>,
    http_method: &Method,
    start: Instant,
    wall: SystemTime,
    mut resp: Response<Body>,
) -> Response<Body> {
    if let Some((policy, origin)) = ex.cors {
        cors::decorate(policy, origin, resp.headers_mut());
    }
    ex.gw.security.apply(resp.headers_mut());
    if resp
        .extensions()
        .get::<crate::rewrite::AnswerRefused>()
        .is_some()
    {
        ex.outcome = ex.outcome.or(Some("refused_answer"));
    }
    let status = resp.status().as_u16();
    let elapsed = start.elapsed();
    let route = ex.route.unwrap_or("-");
    if let (Some(audit), false) = (&ex.gw.audit, ex.calls.is_empty()) {
        let outcome = ex
            .outcome
            .unwrap_or(if ex.forwarded { "forwarded" } else { "refused" });
        for c in std::mem::take(&mut ex.calls) {
            audit.record(crate::audit::Line {
                time: wall,
                subject: ex.subject.clone().unwrap_or_else(|| "-".into()),
                client_ip: ex.client.text.to_str().unwrap_or("-").to_owned(),
                route: route.to_owned(),
                tool: c.tool,
                arguments_sha256: c.arguments_sha256,
                outcome,
                status,
                latency: elapsed,
            });
        }
    }
    ex.gw.metrics.request_done(
        &mut mine(&ex.worker.metrics),
        route,
        status,
        elapsed.as_secs_f64(),
    );
    ex.worker.log.record(
        wall,
        &crate::access_log::Entry {
            route,
            status,
            latency: elapsed,
            subject: ex.subject.as_deref().unwrap_or("-"),
            client_ip: ex.client.text.to_str().unwrap_or("-"),
            http_method: http_method.as_str(),
            rpc_method: ex.method.as_deref().unwrap_or("-"),
            tool: ex.tool.as_deref().unwrap_or("-"),
            outcome: ex.outcome,
        },
    );
    resp
}

/// The gateway-wide browser policy's verdict on the request's `Origin`, for an answer made
/// before a route is found (a route's own policy replaces it in [`origin`]).
fn gateway_cors(ex: &mut Exchange<'_>, req: &Request<Incoming>) {
    let gw = ex.gw;
    if let Verdict::Allowed(o) = cors::judge(&gw.settings.cors, req.method(), req.headers()) {
        ex.cors = Some((&gw.settings.cors, o));
    }
}

/// `/healthz`, `/readyz`, `/metrics` and the RFC 9728 metadata, answered here under the
/// gateway-wide browser policy (as are 404s and other answers outside any route).
async fn own_endpoints(ex: &mut Exchange<'_>, req: &Request<Incoming>) -> Flow {
    match endpoints::answer(ex.gw, req.uri().path(), ex.client.ip, req.headers()).await {
        Some(r) => {
            ex.route = Some("(gateway)");
            Flow::Reply(r)
        }
        None => Flow::Next(()),
    }
}

/// The route of the request's host and resolved path (400 for a path refused or leading out of
/// its route, 404 for none), and the resolved path when resolving changed it.
fn find_route<'g>(
    ex: &mut Exchange<'g>,
    req: &Request<Incoming>,
) -> Flow<(&'g Route, Option<String>)> {
    let gw = ex.gw;
    let normal = match path::normalise(req.uri().path()) {
        Ok(n) => n,
        Err(e) => return Flow::Reply(bad_request("bad_path", &e.to_string())),
    };
    // An absolute-form target names the host itself (`request_head` refused a `Host` that
    // says otherwise).
    let host = req.uri().host().or_else(|| {
        req.headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
    });
    let route = match (gw.route(host, &normal.path), normal.lowest) {
        (Some(r), Some(lowest)) if lowest < path::depth(&r.prefix) => None,
        (Some(r), _) => Some(r),
        (None, None) => {
            return Flow::Reply(body::error(
                StatusCode::NOT_FOUND,
                "not_found",
                "no route for this path",
            ))
        }
        (None, Some(_)) => None,
    };
    let Some(route) = route else {
        return Flow::Reply(bad_request(
            "bad_path",
            "the path's dot-segments lead out of its route",
        ));
    };
    ex.route = Some(&route.label);
    let forward_path = match normal.path {
        Cow::Owned(p) => Some(p),
        Cow::Borrowed(_) => None,
    };
    Flow::Next((route, forward_path))
}

/// The route's browser policy from here on: an `Origin` not on its list (or two) is refused
/// (403), a preflight answered (204).
fn origin<'g>(ex: &mut Exchange<'g>, route: &'g Route, req: &Request<Incoming>) -> Flow {
    ex.cors = None;
    match cors::judge(&route.cors, req.method(), req.headers()) {
        Verdict::Refused => Flow::Reply(body::error(
            StatusCode::FORBIDDEN,
            "origin_not_allowed",
            "this Origin may not call this route",
        )),
        Verdict::Preflight(o) => {
            let (status, headers) = cors::preflight(&route.cors, o);
            let mut r = Response::new(body::empty());
            *r.status_mut() = status;
            *r.headers_mut() = headers;
            Flow::Reply(r)
        }
        Verdict::Allowed(o) => {
            ex.cors = Some((&route.cors, o));
            Flow::Next(())
        }
        Verdict::NoOrigin => Flow::Next(()),
    }
}

/// Counts the request for the per-IP alert, then the route's per-IP limit (429) when it is
/// kept in this process; `None`: the limit is shared through Redis ([`per_ip_shared`]).
fn per_ip_now(ex: &mut Exchange<'_>, route: &Route) -> Option<Flow> {
    let (gw, ip) = (ex.gw, ex.client.ip);
    gw.alerts.request(&mut mine(&ex.worker.alerts), ip, ex.now);
    let verdict = match &gw.ip_limits[route.index] {
        None => Ok(()),
        Some(l) => l.check_now(&ip)?,
    };
    Some(match verdict {
        Ok(()) => Flow::Next(()),
        Err(wait) => Flow::Reply(rate_limited(gw, &route.label, Limit::Ip, wait)),
    })
}

/// The route's per-IP limit shared through Redis (429), after [`per_ip_now`].
async fn per_ip_shared(ex: &mut Exchange<'_>, route: &Route) -> Flow {
    let (gw, ip) = (ex.gw, ex.client.ip);
    if let Some(l) = &gw.ip_limits[route.index] {
        if let Err(wait) = l.check(&ip).await {
            return Flow::Reply(rate_limited(gw, &route.label, Limit::Ip, wait));
        }
    }
    Flow::Next(())
}

/// The refusal of a request head the router and an upstream could read differently: TRACE,
/// TRACK, CONNECT or a method with a lower-case letter (405); no `Host` in HTTP/1.1, two of them,
/// one that is no host and port, an absolute-form target whose authority is not its `Host`, two
/// `Mcp-Session-Id`s, `Content-Type`s or `Last-Event-ID`s (400).
fn request_head(req: &Request<Incoming>) -> Flow {
    // TRACE (and IIS's TRACK) echoes the request as the upstream got it (the gateway's own
    // headers with it); CONNECT asks for a tunnel; neither is MCP. A method with a lower-case
    // letter (`trace`, `Post`) is one servers that compare methods without case (Express) read
    // as its upper-case twin, which the gateway's checks did not see.
    let m = req.method().as_str();
    if m.bytes().any(|b| b.is_ascii_lowercase()) || ["TRACE", "TRACK", "CONNECT"].contains(&m) {
        let mut r = body::error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "TRACE, TRACK, CONNECT and methods in lower case are not accepted",
        );
        r.headers_mut().insert(
            header::ALLOW,
            HeaderValue::from_static("GET, POST, DELETE, OPTIONS, HEAD"),
        );
        return Flow::Reply(r);
    }
    // One walk over the headers, not a lookup per name.
    let (mut hosts, mut sessions, mut types, mut event_ids) = (0u32, 0u32, 0u32, 0u32);
    let mut host = None;
    for (k, v) in req.headers() {
        if k == header::HOST {
            hosts += 1;
            host = host.or(Some(v));
        } else if k == MCP_SESSION_ID {
            sessions += 1;
        } else if k == header::CONTENT_TYPE {
            types += 1;
        } else if k == LAST_EVENT_ID {
            event_ids += 1;
        }
    }
    if hosts > 1 {
        return Flow::Reply(bad_request(
            "ambiguous_host",
            "the request carries two Host headers",
        ));
    }
    // One host name or address and an optional port: a list (`a, b`), a path or a port out of
    // range is something the router and an upstream (or a framework reading
    // `X-Forwarded-Host`) could read differently.
    if host.is_some_and(|h| !plain_host(h.as_bytes())) {
        return Flow::Reply(bad_request(
            "bad_host",
            "the Host header is not one host name or address with an optional port",
        ));
    }
    match (host, req.uri().authority()) {
        (None, None) if req.version() == http::Version::HTTP_11 => {
            return Flow::Reply(bad_request(
                "missing_host",
                "an HTTP/1.1 request needs a Host header",
            ))
        }
        (Some(h), Some(a)) if !same_authority(h.as_bytes(), a, req.uri().scheme_str()) => {
            return Flow::Reply(bad_request(
                "ambiguous_host",
                "the request target's authority is not its Host header",
            ))
        }
        _ => {}
    }
    for (count, what) in [
        (sessions, "Mcp-Session-Id"),
        (types, "Content-Type"),
        (event_ids, "Last-Event-ID"),
    ] {
        if count > 1 {
            return Flow::Reply(bad_request(
                "ambiguous_header",
                &format!("the request carries two {what} headers"),
            ));
        }
    }
    Flow::Next(())
}

/// Whether `Host` names the authority of an absolute-form target: the same text (without
/// regard to case), or the same host where one side leaves out the scheme's default port
/// (`http://gw:80/x` with `Host: gw`).
fn same_authority(host: &[u8], target: &http::uri::Authority, scheme: Option<&str>) -> bool {
    let default = match scheme {
        Some(s) if s.eq_ignore_ascii_case("https") => b":443".as_slice(),
        _ => b":80".as_slice(),
    };
    let bare = |a: &[u8]| -> Vec<u8> {
        let a = a.to_ascii_lowercase();
        match a.strip_suffix(default) {
            Some(rest) => rest.to_vec(),
            None => a,
        }
    };
    bare(host) == bare(target.as_str().as_bytes())
}

/// Whether a `Host` value is one host and an optional port: a name of letters, digits, `.`,
/// `-` and `_`, or an IPv4 address, or an IPv6 address in brackets; then `:` and 1 to 5 digits
/// up to 65535.
fn plain_host(h: &[u8]) -> bool {
    let (name, port) = match h.strip_prefix(b"[") {
        Some(rest) => match rest.iter().position(|&b| b == b']') {
            Some(end) => {
                let inside = &rest[..end];
                if inside.is_empty()
                    || !inside
                        .iter()
                        .all(|b| b.is_ascii_hexdigit() || matches!(b, b':' | b'.'))
                {
                    return false;
                }
                (&h[..end + 2], &rest[end + 1..])
            }
            None => return false,
        },
        None => match h.iter().position(|&b| b == b':') {
            Some(colon) => (&h[..colon], &h[colon..]),
            None => (h, &h[h.len()..]),
        },
    };
    let name_ok = !name.is_empty()
        && (name.starts_with(b"[")
            || name
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')));
    let port_ok = match port {
        [] => true,
        [b':', digits @ ..] => {
            (1..=5).contains(&digits.len())
                && digits.iter().all(u8::is_ascii_digit)
                && std::str::from_utf8(digits)
                    .ok()
                    .and_then(|d| d.parse::<u32>().ok())
                    .is_some_and(|p| p <= 65535)
        }
        _ => false,
    };
    name_ok && port_ok
}

/// The refusal of what the gateway and an upstream could read differently: two `Authorization`
/// headers, an upgrade to anything but WebSocket (`h2c` would tunnel requests the gateway never
/// sees), an `MCP-Protocol-Version` that is not an accepted revision (or given twice), and a
/// compressed body (the gateway must read the JSON-RPC message the upstream runs).
fn request_headers(gw: &Gateway, method: &Method, h: &HeaderMap) -> Flow {
    // One walk over the headers for what the checks below count (each `get_all` would hash
    // and probe again); the checks run in the same order as they read.
    let (mut connection, mut upgrade, mut auth, mut versions, mut encoded) =
        (false, false, 0u32, 0u32, false);
    let mut version = None;
    for (k, v) in h {
        if k == header::CONNECTION {
            connection = true;
        } else if k == header::UPGRADE || k == proxy::HTTP2_SETTINGS {
            upgrade = true;
        } else if k == header::AUTHORIZATION {
            auth += 1;
        } else if k == MCP_PROTOCOL_VERSION {
            versions += 1;
            version = version.or(Some(v));
        } else if k == header::CONTENT_ENCODING {
            let coding = v.as_bytes().trim_ascii();
            encoded |= !(coding.is_empty() || coding.eq_ignore_ascii_case(b"identity"));
        }
    }
    if let Some(name) = connection
        .then(|| connection_names_read_header(h))
        .flatten()
    {
        return Flow::Reply(bad_request(
            "ambiguous_header",
            &format!(
                "Connection names {name}, which the gateway reads: the upstream would not get it"
            ),
        ));
    }
    if upgrade {
        if let Err(e) = proxy::upgrade_asked(method, h) {
            return Flow::Reply(bad_request("upgrade_refused", &e.to_string()));
        }
    }
    if auth > 1 {
        return Flow::Reply(bad_request(
            "ambiguous_authorization",
            "the request carries two authorization headers",
        ));
    }
    if versions > 1 {
        return Flow::Reply(bad_request(
            "unsupported_protocol_version",
            "the request carries two MCP-Protocol-Version headers; send one",
        ));
    }
    if let Some(v) = version {
        let accepted = gw
            .settings
            .protocol_versions
            .iter()
            .any(|a| a.as_bytes() == v.as_bytes());
        if !accepted {
            return Flow::Reply(bad_request(
                "unsupported_protocol_version",
                &format!(
                    "MCP-Protocol-Version must be one accepted protocol version: {}",
                    gw.settings.protocol_versions.join(", ")
                ),
            ));
        }
    }
    if encoded {
        return Flow::Reply(body::error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "compressed_body",
            "compressed request bodies are not accepted",
        ));
    }
    Flow::Next(())
}

/// A header the gateway reads end to end (the body's media type, the session, the protocol
/// version, any `Mcp-*`, `Accept`, `Origin`, `Last-Event-ID`) that `Connection` names: as a
/// hop-by-hop header it is dropped before the upstream, which then reads the request otherwise
/// than the gateway checked it (no `MCP-Protocol-Version`: 2025-03-26 rules).
fn connection_names_read_header(h: &HeaderMap) -> Option<String> {
    h.get_all(header::CONNECTION)
        .iter()
        .flat_map(|v| v.as_bytes().split(|b| *b == b','))
        .map(|t| {
            String::from_utf8_lossy(t.trim_ascii())
                .to_ascii_lowercase()
                .replace('_', "-")
        })
        .find(|n| {
            n.starts_with("mcp-")
                || matches!(
                    n.as_str(),
                    "content-type" | "content-encoding" | "accept" | "origin" | "last-event-id"
                )
        })
}

/// What [`authenticate_now`] decided, or the token it leaves to verify.
enum Auth<'h> {
    /// Decided: who the request acts for, or the refusal.
    Decided(Flow<Option<Principal>>),
    /// A token this worker has not accepted before: verify it ([`authenticate`]).
    Verify(&'h str),
}

/// Who the request acts for, on a route that needs a token: a token this worker accepted
/// before, else one verified now for the route's audience, issuer, scopes and claims (401/403
/// with a challenge); `MCP_DEV_BYPASS` lets a refused one through as `dev-bypass`. What needs
/// no verification now is decided here; a new token is left to [`authenticate`].
fn authenticate_now<'h>(ex: &mut Exchange<'_>, route: &Route, h: &'h HeaderMap) -> Auth<'h> {
    if !route.auth || route.webhook.is_some() {
        // A webhook's signature is checked once its body is read.
        return Auth::Decided(Flow::Next(None));
    }
    let (gw, now) = (ex.gw, ex.now);
    let verdict = match auth::bearer(h) {
        Ok(Some(token)) => {
            match mine(&ex.worker.tokens).get(gw.generation, route.index, token, now) {
                Some(p) => Ok(p),
                None => return Auth::Verify(token),
            }
        }
        Ok(None) => Err(auth::missing()),
        Err(r) => Err(r),
    };
    Auth::Decided(concluded(ex, route, h, verdict))
}

/// Verifies `token` (not seen by this worker before), remembers it when accepted, and
/// concludes as [`authenticate_now`] does.
async fn authenticate(
    ex: &mut Exchange<'_>,
    route: &Route,
    h: &HeaderMap,
    token: &str,
) -> Flow<Option<Principal>> {
    let (gw, now) = (ex.gw, ex.now);
    let v = verify(ex.gw, route, token, now).await;
    if let Ok(p) = &v {
        // Once per verification, not per remembered hit.
        gw.metrics.token_ttl.observe(p.expires_in as f64);
        mine(&ex.worker.tokens).put(gw.generation, route.index, token, p, now);
    }
    concluded(ex, route, h, v)
}

/// The request's principal from a verdict on its token, or its refusal.
fn concluded(
    ex: &mut Exchange<'_>,
    route: &Route,
    h: &HeaderMap,
    verdict: Result<Principal, auth::Refusal>,
) -> Flow<Option<Principal>> {
    let (gw, ip, now) = (ex.gw, ex.client.ip, ex.now);
    match verdict {
        Ok(p) => {
            gw.alerts.token_seen(
                &mut mine(&ex.worker.alerts),
                p.subject.as_deref().unwrap_or(""),
                p.expires_in,
                p.lifetime,
                ip,
                now,
            );
            ex.subject = p.subject.clone();
            Flow::Next(Some(p))
        }
        Err(refusal) if gw.bypass.is_some() && ex.local && !proxy::came_through_proxy(h) => {
            gw.metrics.bypassed.inc();
            tracing::warn!(
                route = %route.label,
                client_ip = %ip,
                reason = refusal.reason,
                "MCP_DEV_BYPASS: request let through without a valid token"
            );
            let p = Principal {
                subject: Some("dev-bypass".into()),
                expires_in: 0,
                lifetime: None,
                scopes: crate::auth::no_scopes(),
            };
            ex.subject = p.subject.clone();
            Flow::Next(Some(p))
        }
        Err(refusal) => {
            gw.metrics
                .auth_failures
                .get_or_create(&Reason {
                    reason: refusal.reason.into(),
                })
                .inc();
            gw.alerts.auth_failure(ip, now);
            let mut r = body::error(
                refusal.status,
                refusal.error.map_or("unauthorized", |e| e.as_str()),
                &refusal.description,
            );
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                refusal.challenge(&gw.resource_metadata(route)),
            );
            Flow::Reply(r)
        }
    }
}

/// `auth::check` of `token` for `route`. A JWKS URL may be fetched again on an unknown `kid`
/// (blocking I/O, up to its timeout), so with one the check runs on tokio's blocking pool and
/// the worker's other connections go on meanwhile.
async fn verify(
    gw: &Arc<Gateway>,
    route: &Route,
    token: &str,
    now: u64,
) -> Result<Principal, auth::Refusal> {
    if let Some(issuer) = &route.oidc {
        return crate::oidc::verify(issuer, route, token, now).await;
    }
    if !gw.verifier.ring().jwks().is_some_and(|j| j.is_remote()) {
        return auth::check(
            &gw.verifier,
            gw.default_issuer.as_deref(),
            route,
            token,
            now,
        );
    }
    let (gw, index, token) = (Arc::clone(gw), route.index, token.to_owned());
    tokio::task::spawn_blocking(move || {
        let route = &gw.settings.routes[index];
        auth::check(
            &gw.verifier,
            gw.default_issuer.as_deref(),
            route,
            &token,
            now,
        )
    })
    .await
    .unwrap_or_else(|_| {
        Err(auth::Refusal::invalid(
            "unverified",
            "the token could not be verified",
        ))
    })
}

/// The route's per-subject limit (429), for a request that acts for someone, when it is kept
/// in this process; `None`: the limit is shared through Redis ([`per_subject_shared`]).
fn per_subject_now(
    ex: &mut Exchange<'_>,
    route: &Route,
    principal: Option<&Principal>,
) -> Option<Flow> {
    let gw = ex.gw;
    let (Some(p), Some(l)) = (principal, &gw.subject_limits[route.index]) else {
        return Some(Flow::Next(()));
    };
    // Tokens without a subject share one bucket.
    let key = p.subject.clone().unwrap_or_default();
    Some(match l.check_now(&key)? {
        Ok(()) => Flow::Next(()),
        Err(wait) => Flow::Reply(rate_limited(gw, &route.label, Limit::Subject, wait)),
    })
}

/// The route's per-subject limit shared through Redis (429), after [`per_subject_now`].
async fn per_subject_shared(
    ex: &mut Exchange<'_>,
    route: &Route,
    principal: Option<&Principal>,
) -> Flow {
    let gw = ex.gw;
    if let (Some(p), Some(l)) = (principal, &gw.subject_limits[route.index]) {
        let key = p.subject.clone().unwrap_or_default();
        if let Err(wait) = l.check(&key).await {
            return Flow::Reply(rate_limited(gw, &route.label, Limit::Subject, wait));
        }
    }
    Flow::Next(())
}

/// The request body, read whole within the limit and the body timeout before the upstream sees
/// a byte (413 too large, 400 malformed or cut short, 408 too slow), then read once, strictly,
/// as JSON-RPC when it is not empty (400 for what is not one JSON-RPC message or batch, or could
/// be read two ways; 415 for a media type that is not JSON; a UTF-8 BOM is dropped). Goes on with the head, the body and the client's upgrade, if it asked for one.
async fn request_body(
    ex: &mut Exchange<'_>,
    route: &Route,
    mut req: Request<Incoming>,
) -> Flow<(Parts, Bytes, Option<OnUpgrade>)> {
    let gw = ex.gw;
    let limit = gw.settings.body_limit;
    // One walk over the headers for the length, the upgrade and the media type (`request_head`
    // refused two `Content-Type`s, so the first is the one).
    let (mut length, mut upgrading, mut media) = (None, false, None);
    for (k, v) in req.headers() {
        if k == header::CONTENT_LENGTH {
            length = length.or(Some(v));
        } else if k == header::UPGRADE {
            upgrading = true;
        } else if k == header::CONTENT_TYPE {
            media = media.or(Some(v.clone()));
        }
    }
    let declared = length
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Flow::Reply(too_large(limit));
    }
    let upgrade = upgrading.then(|| hyper::upgrade::on(&mut req));
    let (parts, incoming) = req.into_parts();
    let mut bytes = if incoming.is_end_stream() {
        Bytes::new()
    } else {
        let limited = Limited::new(incoming, usize::try_from(limit).unwrap_or(usize::MAX));
        match tokio::time::timeout(gw.settings.body_timeout, limited.collect()).await {
            Ok(Ok(c)) => c.to_bytes(),
            Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
                return Flow::Reply(too_large(limit))
            }
            Ok(Err(_)) => {
                return Flow::Reply(bad_request(
                    "bad_request",
                    "the request body is malformed or was cut short",
                ))
            }
            Err(_) => {
                return Flow::Reply(body::error(
                    StatusCode::REQUEST_TIMEOUT,
                    "body_timeout",
                    "the request body was not sent in time",
                ))
            }
        }
    };
    // Every body is one JSON-RPC message or batch, read strictly: a body the gateway let pass
    // unread (a form feed, an XSSI prefix or a non-JSON media type in front of it) is one a
    // lenient upstream may still run. JSON, `text/plain` (sent by lenient clients) or no media
    // type; any other is 415.
    let media = media.as_ref().map(HeaderValue::as_bytes);
    let json = media.is_some_and(jsonrpc::is_json_media_type);
    // MCP messages are UTF-8: the gateway reads every body as UTF-8, so a `charset` naming
    // another (UTF-7, UTF-16, Latin-1, in any spelling) would let an upstream that decodes by
    // it read a message the gateway never checked.
    if route.webhook.is_none() && media.is_some_and(|v| !crate::rewrite::utf8_charset(v)) {
        crate::calls::note(gw, &bytes, &mut ex.calls);
        if !ex.calls.is_empty() {
            ex.outcome = Some("refused_body");
        }
        return Flow::Reply(body::error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_charset",
            "request bodies are UTF-8: a Content-Type charset other than utf-8 is refused",
        ));
    }
    // A webhook delivery is the sender's JSON, not JSON-RPC; its signature covers its bytes.
    if (!bytes.is_empty() || json) && route.webhook.is_none() {
        if !bytes.is_empty() && !json && media.is_some_and(|m| !jsonrpc::is_text_plain(m)) {
            return Flow::Reply(body::error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "request bodies are JSON-RPC: application/json (or text/plain, or no Content-Type)",
            ));
        }
        match jsonrpc::inspect(&bytes, true) {
            Ok(d) => {
                ex.method = d.method;
                ex.tool = d.tool;
                ex.call = d.call;
                if d.bom > 0 {
                    bytes = bytes.slice(d.bom..);
                }
            }
            Err(a) => {
                // A tool call the strict reading refuses (a `name` that is not a string, a key
                // given twice) is audited like any other refused call.
                crate::calls::note(gw, &bytes, &mut ex.calls);
                if !ex.calls.is_empty() {
                    ex.outcome = Some("refused_body");
                }
                return Flow::Reply(bad_request("ambiguous_body", &a.to_string()));
            }
        }
    }
    Flow::Next((parts, bytes, upgrade))
}

/// A WebSocket tunnel carries messages the gateway never reads: refused (400 `upgrade_refused`)
/// on a route whose policy must see every MCP message — tool rules, validation or pins, secret
/// scanning, the audit — so a client cannot step around them by asking for an upgrade.
fn tunnel_allowed(gw: &Gateway, route: &Route, upgrade: bool) -> Flow {
    let reads_messages =
        gw.mcp_routes[route.index].is_some() || gw.scanner.is_some() || gw.audit.is_some();
    if upgrade && reads_messages {
        return Flow::Reply(bad_request(
            "upgrade_refused",
            "this route reads every MCP message (tool rules, secret scanning or the audit): a WebSocket tunnel would carry them unread; use Streamable HTTP",
        ));
    }
    Flow::Next(())
}

/// The MCP-aware checks of a route that has any (see [`crate::tools`]): per-tool scopes (403
/// `insufficient_scope`), the tool known to the gateway's view of the upstream, its pin, and
/// its arguments against its `inputSchema` (answered by the gateway, the upstream never asked);
/// `tools/list` answers filtered, `list_changed` notifications watched. A route without any
/// goes on at once.
async fn tool_checks(
    ex: &mut Exchange<'_>,
    route: &Route,
    principal: Option<&Principal>,
    parts: &Parts,
    bytes: &Bytes,
) -> Flow {
    use crate::config::ValidationMode;
    use crate::tools::{ListChanged, ListFilter, PinState};
    let gw = ex.gw;
    let Some(shared) = &gw.mcp_routes[route.index] else {
        return Flow::Next(());
    };
    let catalog = gw.catalogs[route.index].clone();
    if let Some(c) = &catalog {
        ex.hooks.push(Arc::new(ListChanged(c.clone())));
    }
    let have = principal.map_or_else(crate::auth::no_scopes, |p| p.scopes.clone());
    // Every answer is filtered, not only the answer to a tools/list: a tool list may come in
    // any message of any stream (an SSE answer to another request, a GET stream, a resumed
    // one), and the client takes it by its id.
    let listing = ex.method.as_deref() == Some("tools/list");
    let (view, lock) = match &catalog {
        Some(c) if listing => {
            ex.deadline = Some(Instant::now() + route.timeout);
            (c.view(gw).await, c.lock())
        }
        Some(c) => (c.current(), None),
        None => (None, None),
    };
    ex.hooks.push(Arc::new(ListFilter {
        scopes: (!route.tools.is_empty()).then(|| (shared.clone(), have.clone())),
        catalog: catalog.clone().map(|c| (c, view)),
        lock,
        gw: Some(gw.clone()),
    }));
    match ex.method.as_deref() {
        Some("tools/list") => Flow::Next(()),
        Some("tools/call") => {
            // The tool's name as the upstream reads it (the log's is escaped and clipped), and
            // its arguments, from the one strict reading (which refused a body that names
            // either twice): the body is not read again.
            let (name, at) = match &ex.call {
                Some(c) => (c.name.clone(), c.arguments.clone()),
                None => (None, None),
            };
            // The arguments as written (the strict reading checked the body is UTF-8 and that
            // the place lies in it; never assumed).
            let written = match at {
                None => None,
                Some(r) => match bytes.get(r.clone()).map(std::str::from_utf8) {
                    Some(Ok(t)) => Some((r.start, t)),
                    _ => {
                        refused_call(ex, route, bytes, "unreadable");
                        return Flow::Reply(bad_request(
                            "ambiguous_body",
                            "the arguments of this tools/call cannot be read",
                        ));
                    }
                },
            };
            // A call the gateway cannot read (a number out of a double's range, `1e400`) is
            // refused: its arguments would be checked as what they are not. Read into a value
            // only where a schema may check them, else only read through.
            let typed = catalog.is_some() && gw.settings.validation != ValidationMode::Off;
            let arguments = match written {
                None => Ok(None),
                // `null` is no arguments, as the SDKs read it.
                Some((_, t)) if typed => serde_json::from_str::<serde_json::Value>(t)
                    .map(|v| Some(v).filter(|v| !v.is_null())),
                Some((_, t)) => jsonrpc::readable(t).map(|()| None),
            };
            let arguments = match arguments {
                Ok(a) => a,
                Err(e) => {
                    refused_call(ex, route, bytes, "unreadable");
                    let start = written.map_or(0, |(s, _)| s);
                    return Flow::Reply(unreadable_call(&e, bytes, start));
                }
            };
            let Some(tool) = name else {
                // No name at all (no `params`, or none in it): checked against no tool, it
                // would pass every rule, while an upstream may find a name elsewhere
                // (`__proto__`, a default).
                refused_call(ex, route, bytes, "unreadable");
                return Flow::Reply(bad_request(
                    "ambiguous_body",
                    "a tools/call on this route must name its tool in params.name",
                ));
            };
            let missing = route
                .tool_scopes(&tool)
                .any(|need| !have.iter().any(|h| h == need));
            if missing {
                refused_call(ex, route, bytes, "scope");
                return Flow::Reply(insufficient_scope(gw, route, &tool));
            }
            let Some(c) = catalog else {
                return Flow::Next(());
            };
            let validation = gw.settings.validation;
            let enforce = validation == ValidationMode::Enforce || c.pins_enforce();
            ex.deadline = Some(Instant::now() + route.timeout);
            let view = match c.view(gw).await {
                Some(v) if !v.tools.contains_key(&tool) && !v.twice.contains(&tool) => {
                    c.for_unlisted(gw, v).await
                }
                v => v,
            };
            let Some(view) = view else {
                if enforce {
                    refused_call(ex, route, bytes, "tools_unavailable");
                    return Flow::Reply(body::error(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "tools_unavailable",
                        "the gateway cannot read the upstream's tools",
                    ));
                }
                return Flow::Next(());
            };
            let Some(known) = view.tools.get(&tool) else {
                let (reason, why) = if view.twice.contains(&tool) {
                    tracing::warn!(route = %route.label, tool = %tool.escape_debug(), "a call of a tool the upstream lists more than once");
                    ("listed_twice", format!(
                        "the upstream lists tool `{}` more than once; which definition it runs cannot be told, so its calls are refused",
                        shown(&tool)
                    ))
                } else {
                    ("unknown_tool", format!("unknown tool `{}`", shown(&tool)))
                };
                if enforce {
                    refused_call(ex, route, bytes, reason);
                    return Flow::Reply(tool_refusal(parts, bytes, &why));
                }
                return Flow::Next(());
            };
            // Not approved as the gateway read it, or as a client was last shown it.
            let held = c.pins_enforce() && c.shown_unpinned(&tool);
            if held || (c.pins_enforce() && known.pin != PinState::Pinned) {
                refused_call(ex, route, bytes, "pin");
                let why = if held {
                    format!(
                        "tool `{}` is held: its definition is not the approved one, or a client was given so many tools unapproved that every tool of the server is held; it is held until an operator approves the server's listing again",
                        shown(&tool)
                    )
                } else {
                    // Only the gateway's own fetch has it unapproved: refused while the
                    // upstream lists it so (tester 154: it was called held until approved).
                    format!(
                        "tool `{}` is not approved: the upstream lists it with a definition that is not the approved one (new or changed); its calls are refused until an operator approves it (vigil gateway pin reviews it)",
                        shown(&tool)
                    )
                };
                return Flow::Reply(tool_refusal(parts, bytes, &why));
            }
            if let Some(schema) = &known.schema {
                let why = match schema {
                    Err(e) => Some(e.to_string()),
                    // A schema is compiled only where validation is on, where the arguments
                    // were read into a value (`typed`); none, or `null`, is `{}`.
                    Ok(v) => crate::tools::invalid_arguments(
                        v,
                        arguments
                            .as_ref()
                            .unwrap_or(&serde_json::Value::Object(Default::default())),
                    ),
                };
                if let Some(why) = why {
                    tracing::warn!(route = %route.label, tool = %tool.escape_debug(), reason = %why, "tool arguments do not validate");
                    if validation == ValidationMode::Enforce {
                        refused_call(ex, route, bytes, "arguments");
                        return Flow::Reply(tool_refusal(parts, bytes, &why));
                    }
                }
            }
            Flow::Next(())
        }
        // Inside a batch neither a call's checks nor the filtering of a tools/list answer
        // (per-tool scopes, held tools) would apply: both are refused on such a route.
        Some(m) if m.starts_with('[') && (m.contains("tools/call") || m.contains("tools/list")) => {
            refused_call(ex, route, bytes, "batch");
            Flow::Reply(bad_request(
                "batched_tool_call",
                "tools/call and tools/list are not accepted inside a JSON-RPC batch on this route",
            ))
        }
        _ => Flow::Next(()),
    }
}

/// Counts a refusal of the MCP-aware checks and notes the body's tool calls for the audit,
/// with the refusal as their outcome.
fn refused_call(ex: &mut Exchange<'_>, route: &Route, bytes: &[u8], reason: &'static str) {
    ex.gw.metrics.count_tool_refusal(&route.label, reason);
    crate::calls::note(ex.gw, bytes, &mut ex.calls);
    ex.outcome = Some(match reason {
        "scope" => "refused_scope",
        "arguments" => "refused_arguments",
        "unknown_tool" => "refused_unknown_tool",
        "listed_twice" => "refused_listed_twice",
        "pin" => "refused_pin",
        "batch" => "refused_batch",
        "tools_unavailable" => "tools_unavailable",
        "unreadable" => "refused_unreadable",
        _ => "refused",
    });
}

/// The id of a `tools/call` the gateway answers itself.
#[derive(serde::Deserialize)]
struct CallId {
    #[serde(default)]
    id: serde_json::Value,
}

/// The id of the message `bytes` (null when it cannot be read).
fn call_id(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice::<CallId>(bytes).map_or(serde_json::Value::Null, |c| c.id)
}

/// 400 with JSON-RPC -32602 for a `tools/call` the gateway cannot read as typed JSON (its
/// message says where, never the value).
/// `e` is an error in the text that starts at byte `start` of `bytes` (the arguments): its
/// place is said in the whole body.
fn unreadable_call(e: &serde_json::Error, bytes: &[u8], start: usize) -> Response<Body> {
    let before = &bytes[..start.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + e.line();
    let column = match e.line() {
        1 => {
            before.len()
                - before
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |i| i + 1)
                + e.column()
        }
        _ => e.column(),
    };
    // The id as written (read without reading the numbers elsewhere in the body).
    let id = crate::mcp::messages(bytes)
        .and_then(|ms| ms.items.first().and_then(|(m, _)| m.id))
        .and_then(|id| serde_json::from_str::<serde_json::Value>(id.get()).ok())
        .unwrap_or(serde_json::Value::Null);
    let answer = serde_json::json!({"jsonrpc": "2.0", "id": id, "error": {
        "code": -32602,
        "message": format!(
            "Invalid params: the tools/call cannot be read ({}, line {} column {}); numbers must fit a 64-bit float",
            if e.to_string().starts_with("number out of range") {
                "a number out of range"
            } else {
                "a value of an unexpected type"
            },
            line,
            column
        ),
    }});
    body::typed(
        StatusCode::BAD_REQUEST,
        "application/json",
        answer.to_string(),
    )
}

/// A `tools/call` answered by the gateway, the way the client's protocol version expects: from
/// 2025-11-25 on a tool result with `isError` (the model reads why; `resultType` from
/// 2026-07-28 on), before it JSON-RPC -32602.
fn tool_refusal(parts: &Parts, bytes: &[u8], why: &str) -> Response<Body> {
    let id = call_id(bytes);
    let version = parts
        .headers
        .get(MCP_PROTOCOL_VERSION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("2025-03-26");
    let answer = if version >= "2025-11-25" {
        let mut a = serde_json::json!({"jsonrpc": "2.0", "id": id, "result": {
            "content": [{"type": "text", "text": format!("Refused by the gateway: {why}")}],
            "isError": true,
        }});
        if version >= "2026-07-28" {
            // The 2026-07-28 schema requires the result's type.
            a["result"]["resultType"] = "complete".into();
        }
        a
    } else {
        serde_json::json!({"jsonrpc": "2.0", "id": id, "error": {
            "code": -32602,
            "message": format!("Invalid params: {why}"),
        }})
    };
    body::typed(StatusCode::OK, "application/json", answer.to_string())
}

/// A tool's name as the gateway's answers show it: escaped, a secret in it redacted (a model
/// or agent that put a token there learns nothing new, and nothing logs it in clear), and cut
/// after 256 characters (a made-up name is not echoed whole).
fn shown(tool: &str) -> String {
    let escaped = tool.escape_debug().to_string();
    crate::logs::cut(crate::logs::line(&escaped).unwrap_or(escaped), 256)
}

/// 403 `insufficient_scope` for a tool, its challenge naming every scope the call needs.
fn insufficient_scope(gw: &Gateway, route: &Route, tool: &str) -> Response<Body> {
    let mut need: Vec<&str> = route.scopes.iter().map(String::as_str).collect();
    for s in route.tool_scopes(tool) {
        if !need.contains(&s) {
            need.push(s);
        }
    }
    let refusal = auth::Refusal {
        status: StatusCode::FORBIDDEN,
        error: Some(auth::BearerError::InsufficientScope),
        description: format!("the tool needs scope {}", need.join(" ")),
        reason: "scope",
        scope: Some(need.join(" ")),
    };
    gw.metrics
        .auth_failures
        .get_or_create(&Reason {
            reason: "tool_scope".into(),
        })
        .inc();
    let mut r = body::error(
        StatusCode::FORBIDDEN,
        "insufficient_scope",
        &refusal.description,
    );
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        refusal.challenge(&gw.resource_metadata(route)),
    );
    r
}

/// A webhook route's signature check, on the body as read (401, or 503 when the replay memory
/// is full), counting which secret matched or why none did.
async fn webhook(
    ex: &mut Exchange<'_>,
    route: &Route,
    method: &http::Method,
    headers: &HeaderMap,
    body: &[u8],
) -> Flow {
    let Some(hook) = &route.webhook else {
        return Flow::Next(());
    };
    let gw = ex.gw;
    // Deliveries are POSTs (GitHub's, Standard Webhooks'), and the method is not signed: a
    // signed body replayed as PUT or DELETE must not reach an upstream that routes by it.
    if method != http::Method::POST {
        let mut r = body::error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "webhook deliveries are POST requests",
        );
        r.headers_mut()
            .insert(header::ALLOW, http::HeaderValue::from_static("POST"));
        return Flow::Reply(r);
    }
    match hook.verify(headers, body, ex.now).await {
        Ok(secret) => {
            // The access log says which secret signed it (its name, never its value).
            ex.subject = Some(format!("webhook:{secret}"));
            gw.metrics
                .webhook_verified
                .get_or_create(&crate::metrics::RouteSecret {
                    route: route.label.clone(),
                    secret: secret.to_owned(),
                })
                .inc();
            Flow::Next(())
        }
        Err(refusal) => {
            gw.metrics
                .webhook_refused
                .get_or_create(&crate::metrics::RouteKind {
                    route: route.label.clone(),
                    kind: refusal.reason.to_owned(),
                })
                .inc();
            gw.alerts.auth_failure(ex.client.ip, ex.now);
            Flow::Reply(body::error(
                refusal.status,
                refusal.reason,
                refusal.description,
            ))
        }
    }
}

/// The last stage: the request as read goes to the route's upstream, and its answer comes back.
async fn forward(
    ex: &mut Exchange<'_>,
    route: &Route,
    forward_path: Option<String>,
    principal: Option<Principal>,
    mut parts: Parts,
    bytes: Bytes,
    upgrade: Option<OnUpgrade>,
) -> Response<Body> {
    let kept = (!ex.hooks.is_empty()).then(|| bytes.clone());
    let body = if bytes.is_empty() {
        body::empty()
    } else {
        // The body as read (chunked or not, a BOM dropped) goes up with its exact length.
        parts
            .headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
        body::full(bytes)
    };
    let who = Forwarded {
        ip: ex.client.text.clone(),
        subject: principal.as_ref().and_then(|p| p.subject.as_deref()),
        host: parts.headers.get(header::HOST).cloned(),
        path: forward_path,
        expires_in: principal.as_ref().map(|p| p.expires_in),
        deadline: ex.deadline,
    };
    if ex.hooks.is_empty() {
        let req = Request::from_parts(parts, body);
        return proxy::forward(ex.gw, &ex.worker.pool, route, req, upgrade, who).await;
    }
    // The answer is read: it must come uncompressed.
    parts.headers.insert(
        header::ACCEPT_ENCODING,
        HeaderValue::from_static("identity"),
    );
    let info = crate::rewrite::RequestInfo {
        route: route.index,
        method: ex.method.clone(),
        tool: ex.tool.clone(),
        protocol: parts
            .headers
            .get(MCP_PROTOCOL_VERSION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: crate::rewrite::RequestBody(kept.unwrap_or_default()),
    };
    let (gw, index) = (ex.gw.clone(), route.index);
    let budget = ex.gw.scanner.as_ref().map(|s| s.policy.budget);
    let rw = crate::rewrite::Rewriter::new(
        info,
        std::mem::take(&mut ex.hooks),
        crate::rewrite::MAX_MESSAGE,
    )
    .within(budget.unwrap_or(std::time::Duration::from_secs(5)))
    // What is left of the route's timeout when the gateway already waited on the upstream for
    // this request (reading its tools), the whole of it otherwise (review).
    .body_within(ex.deadline.map_or(route.timeout, |d| {
        d.saturating_duration_since(Instant::now())
            .min(route.timeout)
    }))
    .for_share(crate::scan::Share::of(
        principal.as_ref().and_then(|p| p.subject.as_deref()),
        ex.client.ip,
    ))
    .on_refused(Arc::new(move |why| {
        let label = &gw.settings.routes[index].label;
        gw.metrics
            .upstream_errors
            .get_or_create(&crate::metrics::RouteKind {
                route: label.clone(),
                kind: format!("answer_{why}"),
            })
            .inc();
        tracing::warn!(route = %label, reason = why, "the upstream's answer was refused");
    }));
    let req = Request::from_parts(parts, body);
    let resp = proxy::forward(ex.gw, &ex.worker.pool, route, req, upgrade, who).await;
    rw.response(resp).await
}

/// A 429 for `route`'s `kind` of limit, counted.
fn rate_limited(gw: &Gateway, route: &str, kind: Limit, wait: Duration) -> Response<Body> {
    gw.metrics.count_rate_limited(route, kind);
    body::too_many(wait)
}

fn bad_request(code: &str, message: &str) -> Response<Body> {
    body::error(StatusCode::BAD_REQUEST, code, message)
}

fn too_large(limit: u64) -> Response<Body> {
    body::error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        &format!("request bodies are limited to {limit} bytes"),
    )
}
