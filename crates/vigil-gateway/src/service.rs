//! One request through the gateway, in order: own endpoints → path (dot-segments resolved,
//! ambiguous spellings refused) → route → Origin/CORS → per-IP limit → request checks (one
//! `Authorization`, an accepted `MCP-Protocol-Version`, no compressed body) → token →
//! per-subject limit → body (read whole, within the limit and timeout, and parsed strictly once)
//! → upstream. Every answer, the gateway's own refusals included, then passes [`finish`]: CORS
//! headers, security headers, metrics and one access-log line (route, status, latency, subject,
//! client IP, JSON-RPC method and tool only).

use crate::access_log;
use crate::auth::{self, Principal};
use crate::body::{self, Body};
use crate::client_ip::client_ip;
use crate::config::Cors;
use crate::cors::{self, Verdict};
use crate::endpoints;
use crate::gateway::{Gateway, UpstreamClient};
use crate::jsonrpc;
use crate::metrics::{Reason, RouteKind};
use crate::path;
use crate::proxy::{self, Forwarded};
use crate::token_cache;
use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::{Body as _, Incoming};
use std::borrow::Cow;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

const MCP_PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");

/// What [`finish`] needs to know about a request once its answer is ready.
#[derive(Default)]
struct Exchange<'g> {
    /// Route label, `(gateway)` for the gateway's own endpoints.
    route: Option<&'g str>,
    subject: Option<String>,
    method: Option<String>,
    tool: Option<String>,
    /// The CORS policy that judged the request's `Origin` and the allowed origin, when a
    /// browser is allowed to read the answer.
    cors: Option<(&'g Cors, HeaderValue)>,
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
pub(crate) struct Client {
    pub ip: IpAddr,
    pub text: HeaderValue,
}

/// Serves one request.
pub async fn handle(
    gw: crate::server::Local,
    client: UpstreamClient,
    peer: Arc<Peer>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let gw: &Gateway = &gw;
    let start = Instant::now();
    let wall = SystemTime::now();
    let ip = client_ip(peer.addr.ip(), req.headers(), &gw.settings.trusted_proxies);
    let who = Client {
        ip,
        text: if ip == peer.addr.ip() {
            peer.ip_text.clone()
        } else {
            ip_header(ip)
        },
    };
    let now = crate::alerts::unix_secs(wall);
    let http_method = req.method().clone();
    let mut ex = Exchange::default();
    let resp = pipeline(gw, &client, &who, now, req, &mut ex).await;
    Ok(finish(gw, &who, &http_method, start, wall, ex, resp))
}

/// The stage every answer passes, whichever stage made it: the CORS headers of the policy that
/// judged the request (so a browser can read a 429's `Retry-After` or a 401's challenge), the
/// security headers, the request metrics and the access-log line.
fn finish(
    gw: &Gateway,
    who: &Client,
    http_method: &Method,
    start: Instant,
    wall: SystemTime,
    ex: Exchange<'_>,
    mut resp: Response<Body>,
) -> Response<Body> {
    if let Some((policy, origin)) = ex.cors {
        cors::decorate(policy, origin, resp.headers_mut());
    }
    gw.security.apply(resp.headers_mut());
    let status = resp.status().as_u16();
    let elapsed = start.elapsed();
    let route = ex.route.unwrap_or("-");
    gw.metrics
        .request_done(route, status, elapsed.as_secs_f64());
    access_log::record(
        wall,
        &access_log::Entry {
            route,
            status,
            latency: elapsed,
            subject: ex.subject.as_deref().unwrap_or("-"),
            client_ip: who.text.to_str().unwrap_or("-"),
            http_method: http_method.as_str(),
            rpc_method: ex.method.as_deref().unwrap_or("-"),
            tool: ex.tool.as_deref().unwrap_or("-"),
        },
    );
    resp
}

/// A 429 with `Retry-After`, counted.
pub(crate) fn too_many(gw: &Gateway, route: &str, kind: &str, wait: Duration) -> Response<Body> {
    gw.metrics
        .rate_limited
        .get_or_create(&RouteKind {
            route: route.to_owned(),
            kind: kind.into(),
        })
        .inc();
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let mut r = body::error(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        &format!("too many requests; retry in {}s", secs.max(1)),
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    r
}

fn bad_request(code: &str, message: &str) -> Response<Body> {
    body::error(StatusCode::BAD_REQUEST, code, message)
}

/// The refusal of what the gateway and an upstream could read differently: two `Authorization`
/// headers, an `MCP-Protocol-Version` that is not an accepted revision (or given twice), and a
/// compressed body (the gateway must read the JSON-RPC message the upstream runs).
fn check_headers(gw: &Gateway, h: &http::HeaderMap) -> Option<Response<Body>> {
    let mut auth = h.get_all(header::AUTHORIZATION).iter();
    if auth.next().is_some() && auth.next().is_some() {
        return Some(bad_request(
            "ambiguous_authorization",
            "the request carries two authorization headers",
        ));
    }
    let mut versions = h.get_all(MCP_PROTOCOL_VERSION).iter();
    if let Some(v) = versions.next() {
        let accepted = gw
            .settings
            .protocol_versions
            .iter()
            .any(|a| a.as_bytes() == v.as_bytes());
        if !accepted || versions.next().is_some() {
            return Some(bad_request(
                "unsupported_protocol_version",
                &format!(
                    "MCP-Protocol-Version must be one accepted protocol version: {}",
                    gw.settings.protocol_versions.join(", ")
                ),
            ));
        }
    }
    if h.get_all(header::CONTENT_ENCODING)
        .iter()
        .any(|v| !v.as_bytes().eq_ignore_ascii_case(b"identity"))
    {
        return Some(body::error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "compressed_body",
            "compressed request bodies are not accepted",
        ));
    }
    None
}

/// The request body, read whole within the limit and the body timeout: the answer to send
/// instead when it is too large (413), malformed (400: a chunk size that overflows, a body
/// cut short) or too slow (408). Nothing reaches the upstream before this returns.
async fn read_body(gw: &Gateway, incoming: Incoming) -> Result<Bytes, Response<Body>> {
    if incoming.is_end_stream() {
        return Ok(Bytes::new());
    }
    let limit = gw.settings.body_limit;
    let limited = Limited::new(incoming, usize::try_from(limit).unwrap_or(usize::MAX));
    match tokio::time::timeout(gw.settings.body_timeout, limited.collect()).await {
        Ok(Ok(c)) => Ok(c.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(too_large(limit)),
        Ok(Err(_)) => Err(bad_request(
            "bad_request",
            "the request body is malformed or was cut short",
        )),
        Err(_) => Err(body::error(
            StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
            "the request body was not sent in time",
        )),
    }
}

fn too_large(limit: u64) -> Response<Body> {
    body::error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        &format!("request bodies are limited to {limit} bytes"),
    )
}

async fn pipeline<'g>(
    gw: &'g Gateway,
    client: &UpstreamClient,
    who: &Client,
    now: u64,
    mut req: Request<Incoming>,
    ex: &mut Exchange<'g>,
) -> Response<Body> {
    // Answers outside any route (404s, the gateway's own endpoints) follow the gateway-wide
    // browser policy.
    if let Verdict::Allowed(o) = cors::judge(&gw.settings.cors, req.method(), req.headers()) {
        ex.cors = Some((&gw.settings.cors, o));
    }
    if let Some(r) = endpoints::answer(gw, req.uri().path(), who.ip, req.headers()).await {
        ex.route = Some("(gateway)");
        return r;
    }
    let (route, forward_path) = {
        let normal = match path::normalise(req.uri().path()) {
            Ok(n) => n,
            Err(e) => return bad_request("bad_path", &e.to_string()),
        };
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| req.uri().host());
        let route = match (gw.route(host, &normal.path), normal.lowest) {
            (Some(r), Some(lowest)) if lowest < path::depth(&r.prefix) => None,
            (Some(r), _) => Some(r),
            (None, None) => {
                return body::error(StatusCode::NOT_FOUND, "not_found", "no route for this path")
            }
            (None, Some(_)) => None,
        };
        let Some(route) = route else {
            return bad_request("bad_path", "the path's dot-segments lead out of its route");
        };
        let forward_path = match normal.path {
            Cow::Owned(p) => Some(p),
            Cow::Borrowed(_) => None,
        };
        (route, forward_path)
    };
    ex.route = Some(&route.label);

    // From here on the route's browser policy decides.
    ex.cors = None;
    match cors::judge(&route.cors, req.method(), req.headers()) {
        Verdict::Refused => {
            return body::error(
                StatusCode::FORBIDDEN,
                "origin_not_allowed",
                "this Origin may not call this route",
            )
        }
        Verdict::Preflight(o) => {
            let (status, headers) = cors::preflight(&route.cors, o);
            let mut r = Response::new(body::empty());
            *r.status_mut() = status;
            *r.headers_mut() = headers;
            return r;
        }
        Verdict::Allowed(o) => ex.cors = Some((&route.cors, o)),
        Verdict::NoOrigin => {}
    }

    let ip = who.ip;
    gw.alerts.request(ip, now);
    if let Some(l) = &gw.ip_limits[route.index] {
        if let Err(wait) = l.check(&ip).await {
            return too_many(gw, &route.label, "ip", wait);
        }
    }
    if let Some(r) = check_headers(gw, req.headers()) {
        return r;
    }

    let principal = if route.auth {
        let verdict = match auth::bearer(req.headers()) {
            Ok(Some(token)) => match token_cache::get(gw.generation, route.index, token, now) {
                Some(p) => Ok(p),
                None => {
                    let v = auth::check(
                        &gw.verifier,
                        gw.default_issuer.as_deref(),
                        route,
                        token,
                        now,
                    );
                    if let Ok(p) = &v {
                        // Once per verification, not per remembered hit.
                        gw.metrics.token_ttl.observe(p.expires_in as f64);
                        token_cache::put(gw.generation, route.index, token, p, now);
                    }
                    v
                }
            },
            Ok(None) => Err(auth::missing()),
            Err(r) => Err(r),
        };
        match verdict {
            Ok(p) => {
                gw.alerts
                    .token_seen(&p.subject, p.expires_in, p.lifetime, ip, now);
                Some(p)
            }
            Err(refusal) if gw.bypass => {
                gw.metrics.bypassed.inc();
                tracing::warn!(
                    route = %route.label,
                    client_ip = %ip,
                    reason = refusal.reason,
                    "MCP_DEV_BYPASS: request let through without a valid token"
                );
                Some(Principal {
                    subject: "dev-bypass".into(),
                    expires_in: 0,
                    lifetime: None,
                })
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
                    refusal.error.unwrap_or("unauthorized"),
                    &refusal.description,
                );
                r.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    refusal.challenge(&gw.resource_metadata(route)),
                );
                return r;
            }
        }
    } else {
        None
    };
    if let Some(p) = &principal {
        ex.subject = Some(p.subject.clone());
        if let Some(l) = &gw.subject_limits[route.index] {
            if let Err(wait) = l.check(&p.subject).await {
                return too_many(gw, &route.label, "subject", wait);
            }
        }
    }

    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > gw.settings.body_limit) {
        return too_large(gw.settings.body_limit);
    }
    let upgrade = req
        .headers()
        .contains_key(header::UPGRADE)
        .then(|| hyper::upgrade::on(&mut req));
    let (mut parts, incoming) = req.into_parts();
    let mut bytes = match read_body(gw, incoming).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| jsonrpc::is_json_media_type(v.as_bytes()));
    if !bytes.is_empty() || json {
        match jsonrpc::inspect(&bytes, json) {
            Ok(d) => {
                ex.method = d.method;
                ex.tool = d.tool;
                if d.bom > 0 {
                    bytes = bytes.slice(d.bom..);
                }
            }
            Err(a) => return bad_request("ambiguous_body", &a.to_string()),
        }
    }
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
        ip: who.text.clone(),
        subject: principal.as_ref().map(|p| p.subject.as_str()),
        host: parts.headers.get(header::HOST).cloned(),
        path: forward_path,
    };
    let req = Request::from_parts(parts, body);
    proxy::forward(gw, client, route, req, upgrade, who).await
}
