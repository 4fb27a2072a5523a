//! Harness for the gateway tests: a small MCP upstream (Streamable HTTP: JSON and SSE answers,
//! a GET stream, DELETE, a WebSocket echo) on loopback, the real `vigil gateway` process, a
//! webhook receiver, HTTP clients, and tokens minted at run time.

#![allow(dead_code)]

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::channel::Channel;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// A streaming test body.
pub(crate) type TBody = http_body_util::combinators::BoxBody<Bytes, Infallible>;

fn full(b: impl Into<Bytes>) -> TBody {
    Full::new(b.into()).boxed()
}

/// One request as the upstream saw it.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    /// Method.
    pub method: String,
    /// Path and query.
    pub uri: String,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
}

/// The test MCP server.
pub(crate) struct Upstream {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Every request it received.
    pub seen: Arc<Mutex<Vec<Seen>>>,
    /// Lets a streamed answer send its last event.
    pub release: Arc<Notify>,
}

impl Upstream {
    /// Starts the server on a free loopback port.
    pub(crate) async fn start() -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let release = Arc::new(Notify::new());
        let (s2, r2) = (seen.clone(), release.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (seen, release) = (s2.clone(), r2.clone());
                tokio::spawn(async move {
                    let svc = service_fn(move |req| upstream(req, seen.clone(), release.clone()));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .with_upgrades()
                        .await;
                });
            }
        });
        Upstream {
            addr,
            seen,
            release,
        }
    }

    /// The requests seen so far.
    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn sse(release: Arc<Notify>, first: String, last: String) -> Response<TBody> {
    let (mut tx, body) = Channel::<Bytes, Infallible>::new(4);
    tokio::spawn(async move {
        let _ = tx
            .send_data(Bytes::from(format!("event: message\ndata: {first}\n\n")))
            .await;
        release.notified().await;
        let _ = tx
            .send_data(Bytes::from(format!("event: message\ndata: {last}\n\n")))
            .await;
    });
    Response::builder()
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
        .body(body.boxed())
        .unwrap()
}

async fn upstream(
    mut req: Request<Incoming>,
    seen: Arc<Mutex<Vec<Seen>>>,
    release: Arc<Notify>,
) -> Result<Response<TBody>, Infallible> {
    let upgrade = req
        .headers()
        .contains_key("upgrade")
        .then(|| hyper::upgrade::on(&mut req));
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    seen.lock().unwrap().push(Seen {
        method: parts.method.to_string(),
        uri: parts.uri.to_string(),
        headers: parts.headers.clone(),
        body: body.clone(),
    });
    if let Some(on) = upgrade {
        tokio::spawn(async move {
            if let Ok(io) = on.await {
                let mut io = TokioIo::new(io);
                let (mut r, mut w) = tokio::io::split(&mut io);
                let _ = tokio::io::copy(&mut r, &mut w).await;
            }
        });
        return Ok(Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header("connection", "upgrade")
            .header("upgrade", "websocket")
            .body(full(""))
            .unwrap());
    }
    let path = parts.uri.path();
    if path.ends_with("/slow") {
        tokio::time::sleep(Duration::from_millis(800)).await;
        return Ok(Response::new(full("slow done")));
    }
    match parts.method.as_str() {
        "DELETE" => {
            return Ok(Response::builder()
                .status(StatusCode::NO_CONTENT)
                .body(full(""))
                .unwrap())
        }
        "GET" => {
            let wants_sse = parts
                .headers
                .get("accept")
                .is_some_and(|a| a.to_str().unwrap_or("").contains("text/event-stream"));
            if wants_sse {
                return Ok(sse(
                    release,
                    r#"{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"hello"}}"#.into(),
                    r#"{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"bye"}}"#.into(),
                ));
            }
            // `…/echo-key`: the path with the `X-Upstream-Key` it was sent, as a server that
            // prints its request would answer.
            if path.ends_with("/echo-key") {
                let v = parts
                    .headers
                    .get("x-upstream-key")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                return Ok(Response::new(full(format!("GET {} {v}", parts.uri))));
            }
            return Ok(Response::new(full(format!("GET {}", parts.uri))));
        }
        _ => {}
    }
    let msg: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let id = msg["id"].clone();
    let method = msg["method"].as_str().unwrap_or("");
    let result = match method {
        "initialize" => serde_json::json!({
            "protocolVersion": "2025-06-18",
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "test-upstream", "version": "1.0.0"}
        }),
        "tools/list" => serde_json::json!({"tools": [{
            "name": "echo", "description": "echo text",
            "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}}
        }]}),
        "tools/call" => {
            // `{h:NAME}` stands for the value of the request header NAME and `{signing-key}` for
            // the gateway's signing secret, as a tool that prints its headers or environment
            // would answer them (a client may not send them up itself).
            let mut text = msg["params"]["arguments"]["text"]
                .as_str()
                .unwrap_or("")
                .replace("{signing-key}", &secret());
            while let Some(at) = text.find("{h:") {
                let Some(end) = text[at..].find('}') else {
                    break;
                };
                let name = text[at + 3..at + end].to_owned();
                let value = parts
                    .headers
                    .get(name.as_str())
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                text.replace_range(at..at + end + 1, &value);
            }
            let done = serde_json::json!({"jsonrpc": "2.0", "id": id,
                "result": {"content": [{"type": "text", "text": text}]}});
            let streamed = parts
                .headers
                .get("accept")
                .is_some_and(|a| a.to_str().unwrap_or("").contains("text/event-stream"));
            if streamed {
                let progress = serde_json::json!({"jsonrpc": "2.0", "method": "notifications/progress",
                    "params": {"progressToken": 1, "progress": 50, "total": 100}});
                return Ok(sse(release, progress.to_string(), done.to_string()));
            }
            return Ok(json_response(done));
        }
        m if m.starts_with("notifications/") => {
            return Ok(Response::builder()
                .status(StatusCode::ACCEPTED)
                .body(full(""))
                .unwrap())
        }
        _ => serde_json::json!({}),
    };
    let mut r = json_response(serde_json::json!({"jsonrpc": "2.0", "id": id, "result": result}));
    if method == "initialize" {
        r.headers_mut()
            .insert("mcp-session-id", "sess-0123".parse().unwrap());
    }
    Ok(r)
}

fn json_response(v: serde_json::Value) -> Response<TBody> {
    Response::builder()
        .header("content-type", "application/json")
        .body(full(v.to_string()))
        .unwrap()
}

/// A webhook receiver: every POST body it gets.
pub(crate) struct Webhook {
    /// Its URL.
    pub url: String,
    /// Bodies received.
    pub got: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl Webhook {
    /// Starts it.
    pub(crate) async fn start() -> Webhook {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Vec::new()));
        let g2 = got.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let got = g2.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req: Request<Incoming>| {
                        let got = got.clone();
                        async move {
                            let b = req.into_body().collect().await.unwrap().to_bytes();
                            got.lock()
                                .unwrap()
                                .push(serde_json::from_slice(&b).unwrap_or_default());
                            Ok::<_, Infallible>(Response::new(full("")))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Webhook { url, got }
    }
}

/// A running `vigil gateway`.
pub(crate) struct Gateway {
    /// The process.
    pub child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its stderr lines (JSON logs), as they come.
    pub logs: Arc<Mutex<Vec<String>>>,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The secret tests sign with: random per run, never a constant in the source.
pub(crate) fn secret() -> String {
    use std::sync::OnceLock;
    static S: OnceLock<String> = OnceLock::new();
    S.get_or_init(|| {
        let mut b = [0u8; 32];
        getrandom::fill(&mut b).unwrap();
        b.iter().map(|x| format!("{x:02x}")).collect()
    })
    .clone()
}

impl Gateway {
    /// Starts `vigil gateway` in `dir` with `config` as vigil.toml and `MCP_JWT_SECRET` set.
    pub(crate) fn start(dir: &Path, config: &str, env: &[(&str, &str)]) -> Gateway {
        Self::start_args(dir, config, env, &["--listen", "127.0.0.1:0"])
    }

    /// Starts it with these extra arguments.
    pub(crate) fn start_args(
        dir: &Path,
        config: &str,
        env: &[(&str, &str)],
        args: &[&str],
    ) -> Gateway {
        Self::start_with(dir, config, env, &["--log-format", "json"], args)
    }

    /// Starts it with these global arguments (before `gateway`) and these gateway arguments.
    pub(crate) fn start_with(
        dir: &Path,
        config: &str,
        env: &[(&str, &str)],
        global: &[&str],
        args: &[&str],
    ) -> Gateway {
        std::fs::write(dir.join("vigil.toml"), config).unwrap();
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("vigil"));
        cmd.current_dir(dir)
            .args(global)
            .arg("gateway")
            .args(args)
            .env_remove("VIGIL_CONFIG")
            .env_remove("MCP_DEV_BYPASS")
            .env("MCP_JWT_SECRET", secret())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("vigil gateway starts");
        let stderr = child.stderr.take().unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let l2 = logs.clone();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if !sent {
                    if let Some(a) = listening(&line) {
                        let _ = tx.send(Some(a));
                        sent = true;
                    }
                }
                l2.lock().unwrap().push(line);
            }
            let _ = tx.send(None);
        });
        let addr = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(Some(a)) => a,
            _ => {
                let _ = child.kill();
                panic!("gateway did not start: {:?}", logs.lock().unwrap());
            }
        };
        Gateway { child, addr, logs }
    }

    /// `http://addr`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Log lines so far.
    pub(crate) fn log_text(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    /// Sends a signal to the process.
    pub(crate) fn signal(&self, sig: &str) {
        let s = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(s.success());
    }

    /// Waits for a log line containing `needle`.
    pub(crate) fn wait_log(&self, needle: &str) -> bool {
        self.wait_log_n(needle, 1)
    }

    /// Waits until `needle` has appeared `n` times in the log.
    pub(crate) fn wait_log_n(&self, needle: &str, n: usize) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.log_text().matches(needle).count() >= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

fn listening(line: &str) -> Option<SocketAddr> {
    if !line.starts_with('{') {
        // A text log line.
        let (_, addr) = line.split_once("vigil gateway listening on ")?;
        return addr.split_whitespace().next()?.parse().ok();
    }
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let fields = v.get("fields").unwrap_or(&v);
    fields.get("address")?.as_str()?.parse().ok()
}

/// A pooled HTTP client.
pub(crate) fn client(
) -> hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, TBody> {
    hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build_http()
}

/// Sends a request with these headers and body; returns status, headers and the whole body.
pub(crate) async fn call(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (StatusCode, HeaderMap, String) {
    let mut b = Request::builder().method(method).uri(url);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let resp = client()
        .request(b.body(full(body.to_owned())).unwrap())
        .await
        .expect("request sent");
    let (parts, body) = resp.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (
        parts.status,
        parts.headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

/// Seconds since the epoch.
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A token signed with `secret`, for `aud`, issued at `iat`, living `ttl` seconds.
pub(crate) fn token_with(
    secret: &str,
    aud: &str,
    sub: &str,
    iat: u64,
    ttl: u64,
    extra: serde_json::Value,
) -> String {
    let key =
        vigil_token::Key::hmac("test", secret.as_bytes(), vigil_token::Algorithm::HS256).unwrap();
    let req = vigil_token::MintRequest {
        audiences: vec![aud.to_owned()],
        subject: Some(sub.to_owned()),
        issuer: None,
        ttl,
        claims: extra.as_object().cloned().unwrap_or_default(),
    };
    vigil_token::mint(&key, &req, iat, 86_400).unwrap()
}

/// A valid 15-minute token for `aud` and `sub`.
pub(crate) fn token(aud: &str, sub: &str) -> String {
    token_with(&secret(), aud, sub, now(), 900, serde_json::json!({}))
}

/// `Bearer <token>`.
pub(crate) fn bearer(t: &str) -> String {
    format!("Bearer {t}")
}

/// A server process the tests started (redis-server, the SDK server), killed on drop.
pub(crate) struct Server {
    child: Child,
    /// Its port.
    pub port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A real `redis-server` on a free loopback port.
pub(crate) struct Redis;

impl Redis {
    /// Starts it (no persistence) and waits until it answers PING.
    // The child moves into `Redis`, whose Drop kills and waits for it.
    #[allow(clippy::zombie_processes)]
    pub(crate) fn start() -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed (.ci/run installs it)");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                use std::io::{Read, Write};
                let mut buf = [0u8; 7];
                if s.write_all(b"PING\r\n").is_ok()
                    && s.read_exact(&mut buf).is_ok()
                    && &buf == b"+PONG\r\n"
                {
                    return Server { child, port };
                }
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("redis-server did not start");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Server {
    /// `redis://127.0.0.1:port`.
    pub(crate) fn redis_url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

/// A folder holding `@modelcontextprotocol/sdk` from npm and the two SDK scripts of this folder.
pub(crate) fn sdk_dir() -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("test-deps/mcp-sdk");
    std::fs::create_dir_all(&dir).unwrap();
    let lock = std::fs::File::create(dir.join(".lock")).unwrap();
    lock.lock().unwrap();
    if !dir
        .join("node_modules/@modelcontextprotocol/sdk/package.json")
        .exists()
    {
        let out = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
            .arg(&dir)
            .arg("@modelcontextprotocol/sdk@1.32.2")
            .output()
            .expect("npm is installed");
        assert!(
            out.status.success(),
            "npm install failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gw");
    for f in [
        "sdk-server.mjs",
        "sdk-client.mjs",
        "sdk-secrets-server.mjs",
        "sdk-legacy-server.mjs",
        "sdk-legacy-client.mjs",
        "tools-server.mjs",
    ] {
        std::fs::copy(here.join(f), dir.join(f)).unwrap();
    }
    std::fs::copy(
        here.join("../memory/mcp-client.mjs"),
        dir.join("mcp-client.mjs"),
    )
    .unwrap();
    dir
}

/// The SDK server.
pub(crate) struct SdkServer;

impl SdkServer {
    /// Starts `node sdk-server.mjs` and reads its port.
    pub(crate) fn start(dir: &Path) -> Server {
        Self::start_script(dir, &["sdk-server.mjs"])
    }

    /// Starts `node` with these arguments (a script of [`sdk_dir`] first) and reads its port.
    pub(crate) fn start_script(dir: &Path, args: &[&str]) -> Server {
        let mut cmd = Command::new("node");
        cmd.args(args).current_dir(dir);
        Self::start_command(cmd)
    }

    /// Starts `node SCRIPT` with these variables and reads its port.
    pub(crate) fn start_script_env(dir: &Path, script: &str, env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new("node");
        cmd.arg(script).envs(env.iter().copied()).current_dir(dir);
        Self::start_command(cmd)
    }

    /// Starts `cmd`, a server that prints `{"port": N}` first, and reads its port.
    pub(crate) fn start_command(mut cmd: Command) -> Server {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the server's interpreter is installed");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&line).expect("the SDK server printed its port");
        Server {
            port: v["port"].as_u64().unwrap() as u16,
            child,
        }
    }
}

/// Sends `request` (raw bytes: any request line, headers and framing) on a new connection and
/// returns everything the gateway answers until it closes the connection or 10 s pass.
pub(crate) async fn raw(addr: SocketAddr, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let _ = s.write_all(request).await;
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut got)).await;
    String::from_utf8_lossy(&got).into_owned()
}

/// The status code of a raw HTTP/1.1 answer (0 when there is none).
pub(crate) fn raw_status(answer: &str) -> u16 {
    answer
        .strip_prefix("HTTP/1.1 ")
        .and_then(|r| r.get(..3))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// The pinned `@modelcontextprotocol/server-everything` (a stdio MCP server) from npm, installed
/// once under target/; the path of its entry script (`node <it> stdio` serves stdio).
pub(crate) fn server_everything() -> std::path::PathBuf {
    let dir =
        std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("test-deps/server-everything");
    std::fs::create_dir_all(&dir).unwrap();
    let lock = std::fs::File::create(dir.join(".lock")).unwrap();
    lock.lock().unwrap();
    let entry = dir.join("node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    if !entry.exists() {
        let out = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
            .arg(&dir)
            .arg("@modelcontextprotocol/server-everything@2025.7.29")
            .output()
            .expect("npm is installed");
        assert!(
            out.status.success(),
            "npm install failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    entry
}

/// The processes whose parent is `pid` (from /proc).
pub(crate) fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid …`: the comm may hold spaces, so read after its `)`.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(pid) {
            out.push(p);
        }
    }
    out
}
