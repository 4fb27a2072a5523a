//! The least a gateway that checks each MCP request can do on hyper, as a second floor under
//! `bench/gateway.sh`'s Vigil rows (`hyper_checked`): [`floor`](./floor.rs)'s shape (a thread per
//! core, each with its own single-threaded tokio runtime, hyper's HTTP/1 server and client, one
//! upstream connection per client connection) plus only the checks every request on a plain
//! Vigil route must pass, each done the cheapest way the gateway's own library allows:
//!
//! - a per-IP rate limit (the gateway's [`Limiter`], as nginx's `limit_req`);
//! - the bearer token verified once (`vigil-token`, HS256, audience `filesystem`) and then found
//!   in a per-thread set of accepted tokens (the gateway keeps a richer cache);
//! - the body read whole and read once by the strict JSON-RPC reading
//!   ([`vigil_gateway::jsonrpc::inspect`]: duplicate keys, case twins, batches);
//! - `Authorization` not forwarded;
//! - one access-log line per request, buffered per thread and written in 32 KiB blocks (as
//!   nginx's `buffer=32k`).
//!
//! Nothing else: no header rules, no answer read, no metrics, no security headers, no
//! credential checks, no sessions. What this costs per request over [`floor`](./floor.rs) is a
//! lower bound on what any hyper gateway pays for the checks issue 22's plain row holds.
//!
//! ```sh
//! MCP_JWT_SECRET=… cargo run --release -p vigil-gateway --example floor_checked -- 127.0.0.1:8080 127.0.0.1:9000 2 access.log
//! ```

use bytes::Bytes;
use http_body_util::{BodyExt, Either, Empty, Full};
use hyper::body::Incoming;
use hyper::header::AUTHORIZATION;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::cell::RefCell;
use std::collections::HashSet;
use std::convert::Infallible;
use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use vigil_gateway::rate::local::Limiter;
use vigil_token::{Algorithm, Key, KeyRing, Policy, Verifier};

/// nginx's `buffer=32k`.
const LOG_BLOCK: usize = 32 * 1024;

type Body = Either<Incoming, Either<Full<Bytes>, Empty<Bytes>>>;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(listen), Some(upstream)) = (args.first(), args.get(1)) else {
        let _ = writeln!(
            std::io::stderr(),
            "usage: floor_checked LISTEN UPSTREAM [THREADS] [ACCESS_LOG]  (MCP_JWT_SECRET set)"
        );
        std::process::exit(2);
    };
    let listen: SocketAddr = listen.parse().expect("LISTEN is an address");
    let upstream: SocketAddr = upstream.parse().expect("UPSTREAM is an address");
    let threads: usize = args
        .get(2)
        .map_or(2, |t| t.parse().expect("THREADS is a number"));
    let log_path = args.get(3).map_or("access.log", String::as_str).to_owned();
    let secret = std::env::var("MCP_JWT_SECRET").expect("MCP_JWT_SECRET is set");
    let mut ring = KeyRing::new();
    ring.push(
        Key::hmac("MCP_JWT_SECRET", secret.as_bytes(), Algorithm::HS256).expect("an HMAC key"),
    );
    let verifier = Arc::new(Verifier::new(
        ring,
        Policy {
            audiences: vec!["filesystem".to_owned()],
            ..Policy::default()
        },
    ));
    let listener = std::net::TcpListener::bind(listen).expect("bind LISTEN");
    listener.set_nonblocking(true).expect("non-blocking");
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let l = listener.try_clone().expect("listener");
            let v = verifier.clone();
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log_path)
                .expect("open ACCESS_LOG");
            std::thread::spawn(move || serve(l, upstream, v, log))
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
}

/// One worker's checks: its limiter, its accepted tokens, its log buffer.
struct Checks {
    verifier: Arc<Verifier>,
    limiter: Limiter<IpAddr>,
    accepted: RefCell<HashSet<Box<str>, foldhash::fast::RandomState>>,
    log: RefCell<(Vec<u8>, std::fs::File)>,
}

impl Checks {
    /// Whether `req` carries a token the verifier accepts (verified once, then remembered).
    fn authorized(&self, req: &Request<Incoming>) -> bool {
        let Some(token) = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            return false;
        };
        if self.accepted.borrow().contains(token) {
            return true;
        }
        let now = vigil_token::time::now().unwrap_or(0);
        let ok = self.verifier.verify(token, now).is_ok();
        if ok {
            self.accepted.borrow_mut().insert(token.into());
        }
        ok
    }

    /// One access-log line; the buffer is written out when it holds a block.
    fn log(&self, ip: IpAddr, method: &str, status: u16, took: Duration, rpc: &str, tool: &str) {
        let mut log = self.log.borrow_mut();
        let (buf, file) = &mut *log;
        let _ = writeln!(
            buf,
            "{ip} {method} {status} {}us {rpc} {tool}",
            took.as_micros()
        );
        if buf.len() >= LOG_BLOCK {
            let _ = file.write_all(buf);
            buf.clear();
        }
    }
}

/// One worker: accepts from the shared listener and proxies each connection on its own runtime.
fn serve(
    listener: std::net::TcpListener,
    upstream: SocketAddr,
    verifier: Arc<Verifier>,
    log: std::fs::File,
) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let checks = Rc::new(Checks {
        verifier,
        // As the bench's gateways: a limit no client reaches.
        limiter: Limiter::new(Duration::from_nanos(600), 1000),
        accepted: RefCell::default(),
        log: RefCell::new((Vec::with_capacity(LOG_BLOCK + 512), log)),
    });
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
        loop {
            let Ok((stream, peer)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let checks = checks.clone();
            tokio::task::spawn_local(async move {
                let Ok(up) = tokio::net::TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = up.set_nodelay(true);
                let Ok((send, conn)) =
                    hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(up)).await
                else {
                    return;
                };
                tokio::task::spawn_local(conn);
                let send = Rc::new(Mutex::new(send));
                let service = service_fn(move |req: Request<Incoming>| {
                    let (send, checks) = (send.clone(), checks.clone());
                    async move {
                        let start = Instant::now();
                        let method = req.method().clone();
                        let (resp, rpc, tool) = checked(&checks, &send, peer.ip(), req).await;
                        checks.log(
                            peer.ip(),
                            method.as_str(),
                            resp.status().as_u16(),
                            start.elapsed(),
                            rpc.as_deref().unwrap_or("-"),
                            tool.as_deref().unwrap_or("-"),
                        );
                        Ok::<_, Infallible>(resp)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}

/// An answer the floor makes itself.
fn status(code: StatusCode) -> Response<Body> {
    let mut r = Response::new(Either::Right(Either::Right(Empty::new())));
    *r.status_mut() = code;
    r
}

/// The checks, then the forward: the answer, and the JSON-RPC method and tool for the log.
async fn checked(
    checks: &Checks,
    send: &Mutex<hyper::client::conn::http1::SendRequest<Full<Bytes>>>,
    ip: IpAddr,
    req: Request<Incoming>,
) -> (Response<Body>, Option<String>, Option<String>) {
    if checks.limiter.check(&ip).is_err() {
        return (status(StatusCode::TOO_MANY_REQUESTS), None, None);
    }
    if !checks.authorized(&req) {
        return (status(StatusCode::UNAUTHORIZED), None, None);
    }
    let (mut parts, body) = req.into_parts();
    let Ok(body) = http_body_util::Limited::new(body, 4 << 20).collect().await else {
        return (status(StatusCode::PAYLOAD_TOO_LARGE), None, None);
    };
    let bytes = body.to_bytes();
    let Ok(said) = vigil_gateway::jsonrpc::inspect(&bytes, true) else {
        return (status(StatusCode::BAD_REQUEST), None, None);
    };
    parts.headers.remove(AUTHORIZATION);
    let up = Request::from_parts(parts, Full::new(bytes));
    let resp = match send.lock().await.send_request(up).await {
        Ok(r) => r.map(Either::Left),
        Err(_) => status(StatusCode::BAD_GATEWAY),
    };
    (resp, said.method, said.tool)
}
