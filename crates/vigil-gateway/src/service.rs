//! One request through the gateway, in order: own endpoints → route → Origin/CORS → per-IP limit
//! → token → per-subject limit → body limit → upstream; then security headers, metrics and one
//! access-log line (route, status, latency, subject, client IP, JSON-RPC method and tool only).

use crate::access_log;
use crate::auth::{self, Principal};
use crate::body::{self, Body};
use crate::client_ip::client_ip;
use crate::cors::{self, Verdict};
use crate::endpoints;
use crate::gateway::{Gateway, UpstreamClient};
use crate::jsonrpc;
use crate::metrics::{Reason, RouteKind};
use crate::proxy::{self, Forwarded};
use crate::token_cache;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// How long a client has to send a buffered (JSON) request body.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// What the access log says about a request.
#[derive(Default)]
struct Access {
    route: Option<String>,
    subject: Option<String>,
    method: Option<String>,
    tool: Option<String>,
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
    let mut access = Access::default();
    let mut resp = pipeline(gw, &client, &who, now, req, &mut access).await;
    gw.security.apply(resp.headers_mut());
    let status = resp.status().as_u16();
    let elapsed = start.elapsed();
    let route = access.route.as_deref().unwrap_or("-");
    gw.metrics
        .request_done(route, status, elapsed.as_secs_f64());
    access_log::record(
        wall,
        &access_log::Entry {
            route,
            status,
            latency: elapsed,
            subject: access.subject.as_deref().unwrap_or("-"),
            client_ip: who.text.to_str().unwrap_or("-"),
            http_method: http_method.as_str(),
            rpc_method: access.method.as_deref().unwrap_or("-"),
            tool: access.tool.as_deref().unwrap_or("-"),
        },
    );
    Ok(resp)
}

fn too_many(gw: &Gateway, route: &str, kind: &str, wait: Duration) -> Response<Body> {
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

async fn pipeline(
    gw: &Gateway,
    client: &UpstreamClient,
    who: &Client,
    now: u64,
    mut req: Request<Incoming>,
    access: &mut Access,
) -> Response<Body> {
    let path = req.uri().path().to_owned();
    if let Some(r) = endpoints::answer(gw, &path).await {
        access.route = Some("(gateway)".into());
        return r;
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().host())
        .map(str::to_owned);
    let Some(route) = gw.route(host.as_deref(), &path) else {
        return body::error(StatusCode::NOT_FOUND, "not_found", "no route for this path");
    };
    access.route = Some(route.label.clone());

    let origin = match cors::judge(&route.cors, req.method(), req.headers()) {
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
        Verdict::Allowed(o) => Some(o),
        Verdict::NoOrigin => None,
    };

    let ip = who.ip;
    gw.alerts.request(ip, now);
    if let Some(l) = &gw.ip_limits[route.index] {
        if let Err(wait) = l.check(&ip).await {
            return too_many(gw, &route.label, "ip", wait);
        }
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
                gw.alerts.token_seen(&p.subject, p.expires_in, now);
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
                if let Some(o) = origin {
                    cors::decorate(&route.cors, o, r.headers_mut());
                }
                return r;
            }
        }
    } else {
        None
    };
    if let Some(p) = &principal {
        access.subject = Some(p.subject.clone());
        if let Some(l) = &gw.subject_limits[route.index] {
            if let Err(wait) = l.check(&p.subject).await {
                return too_many(gw, &route.label, "subject", wait);
            }
        }
    }

    let limit = gw.settings.body_limit;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return body::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            &format!("request bodies are limited to {limit} bytes"),
        );
    }
    let upgrade = req
        .headers()
        .contains_key(header::UPGRADE)
        .then(|| hyper::upgrade::on(&mut req));
    let (parts, incoming) = req.into_parts();
    let is_json = parts.method == Method::POST
        && parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("application/json"));
    let limited = Limited::new(incoming, limit as usize);
    let body: Body = if is_json {
        // MCP messages are small: buffered, so the log can name the method and tool.
        match tokio::time::timeout(BODY_TIMEOUT, limited.collect()).await {
            Ok(Ok(c)) => {
                let bytes = c.to_bytes();
                let (m, t) = jsonrpc::describe(&bytes);
                access.method = m;
                access.tool = t;
                body::full(bytes)
            }
            Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
                return body::error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    &format!("request bodies are limited to {limit} bytes"),
                )
            }
            Ok(Err(_)) => {
                return body::error(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    "could not read the body",
                )
            }
            Err(_) => {
                return body::error(
                    StatusCode::REQUEST_TIMEOUT,
                    "body_timeout",
                    "the request body was not sent in time",
                )
            }
        }
    } else {
        limited.boxed()
    };
    let who = Forwarded {
        ip: who.text.clone(),
        subject: principal.as_ref().map(|p| p.subject.as_str()),
        host: parts.headers.get(header::HOST).cloned(),
    };
    let req = Request::from_parts(parts, body);
    let mut resp = proxy::forward(gw, client, route, req, upgrade, who).await;
    if let Some(o) = origin {
        cors::decorate(&route.cors, o, resp.headers_mut());
    }
    resp
}
