//! The MCP face of the store (the official Rust SDK, `rmcp`): seven tools with JSON Schemas,
//! typed errors as MCP tool errors (`isError: true` with `{"error": code, "message": …}`), over
//! stdio or Streamable HTTP.
//!
//! On HTTP every request is authenticated before the SDK sees it ([`crate::auth`]); the SDK then
//! checks `Host` against the allowed hosts and `Origin` against the allowed origins (DNS
//! rebinding), and hands the verified principal to the tool through the request's extensions.

use crate::auth::{Authenticator, Principal, Via};
use crate::error::MemoryError;
use crate::store::{Actor, Store};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ErrorData, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
    ToolAnnotations,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ServerHandler, ServiceExt};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio_util::sync::CancellationToken;

/// Cancelled to stop [`serve_http`].
pub type Shutdown = CancellationToken;

/// The tools' handler: one store, and on stdio the operator's `--principal`.
#[derive(Debug, Clone)]
pub struct MemoryServer {
    store: Arc<Store>,
    operator: Option<String>,
    inline: bool,
}

impl MemoryServer {
    /// A handler over `store`; `operator` is the principal of every call that carries none
    /// (stdio), `None` on HTTP, where every request carries a verified one.
    pub fn new(store: Arc<Store>, operator: Option<String>) -> MemoryServer {
        MemoryServer {
            store,
            operator,
            inline: false,
        }
    }

    /// Runs each tool on the calling thread instead of Tokio's blocking pool: for one client on
    /// a single-threaded runtime (stdio), where a hand-off per call costs more than the call.
    pub fn inline(mut self) -> MemoryServer {
        self.inline = true;
        self
    }
}

fn schema(v: Value) -> Arc<Map<String, Value>> {
    match v {
        Value::Object(m) => Arc::new(m),
        _ => unreachable!("schemas are objects"),
    }
}

fn path_prop(what: &str) -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": 1024,
           "description": format!("{what}, relative to the memory root, `/`-separated (no `..`, no absolute paths)")})
}

fn cursor_prop() -> Value {
    json!({"type": "string", "maxLength": 4096,
           "description": "The cursor a `result_truncated` error returned, to continue"})
}

fn tool(name: &'static str, description: &'static str, input: Value, read_only: bool) -> Tool {
    let mut t = Tool::new(name, description, schema(input));
    let mut a = ToolAnnotations::new();
    a.read_only_hint = Some(read_only);
    a.open_world_hint = Some(false);
    if !read_only {
        a.destructive_hint = Some(name != "memory_append");
    }
    t.annotations = Some(a);
    t
}

/// The seven tools with their input schemas (built once).
pub fn tools() -> &'static [Tool] {
    static TOOLS: std::sync::OnceLock<Vec<Tool>> = std::sync::OnceLock::new();
    TOOLS.get_or_init(build_tools)
}

fn build_tools() -> Vec<Tool> {
    vec![
        tool(
            "memory_read",
            "Read a memory file. Returns its content and version (SHA-256); a file longer than the \
             result cap comes in parts: the `result_truncated` error carries the first part and a \
             cursor for the next call.",
            json!({"type": "object", "additionalProperties": false, "required": ["path"],
                   "properties": {"path": path_prop("The file"), "cursor": cursor_prop()}}),
            true,
        ),
        tool(
            "memory_write",
            "Create or replace a memory file. With `expected_version` (from memory_read) the write \
             happens only if nobody changed the file since (else `conflict`); `\"\"` means the file \
             must not exist yet.",
            json!({"type": "object", "additionalProperties": false, "required": ["path", "content"],
                   "properties": {"path": path_prop("The file"),
                                  "content": {"type": "string", "description": "The new content (UTF-8 text)"},
                                  "expected_version": {"type": "string", "maxLength": 64,
                                      "description": "The version the file must still have"}}}),
            false,
        ),
        tool(
            "memory_append",
            "Append text to a memory file (creating it). Appends from several agents are never lost.",
            json!({"type": "object", "additionalProperties": false, "required": ["path", "content"],
                   "properties": {"path": path_prop("The file"),
                                  "content": {"type": "string", "description": "Text to add at the end"}}}),
            false,
        ),
        tool(
            "memory_list",
            "List a memory directory (the root when `dir` is empty or absent): names, kinds, sizes.",
            json!({"type": "object", "additionalProperties": false,
                   "properties": {"dir": {"type": "string", "maxLength": 1024,
                                          "description": "The directory, relative to the memory root"},
                                  "cursor": cursor_prop()}}),
            true,
        ),
        tool(
            "memory_search",
            "Find lines containing `query` (case-insensitive) in the memory files under `dir`.",
            json!({"type": "object", "additionalProperties": false, "required": ["query"],
                   "properties": {"query": {"type": "string", "minLength": 1, "maxLength": 1024},
                                  "dir": {"type": "string", "maxLength": 1024,
                                          "description": "Only under this directory"},
                                  "cursor": cursor_prop()}}),
            true,
        ),
        tool(
            "memory_delete",
            "Delete a memory file (or an empty directory).",
            json!({"type": "object", "additionalProperties": false, "required": ["path"],
                   "properties": {"path": path_prop("The file or empty directory")}}),
            false,
        ),
        tool(
            "memory_history",
            "Every recorded change of a memory file, oldest first: time, principal, tool, size and \
             version, from the audit log.",
            json!({"type": "object", "additionalProperties": false, "required": ["path"],
                   "properties": {"path": path_prop("The file"), "cursor": cursor_prop()}}),
            true,
        ),
    ]
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PathArgs {
    path: String,
    cursor: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WriteArgs {
    path: String,
    content: String,
    expected_version: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AppendArgs {
    path: String,
    content: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListArgs {
    #[serde(default)]
    dir: String,
    cursor: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchArgs {
    query: String,
    #[serde(default)]
    dir: String,
    cursor: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteArgs {
    path: String,
}

/// What a tool call ended with.
enum Outcome {
    Done(Value),
    /// A page cut at the result cap: the partial result and its cursor.
    Truncated(Value, String),
    Failed(MemoryError),
    BadArgs(String),
}

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("results serialise")
}

fn paged<T: serde::Serialize>(
    r: Result<T, MemoryError>,
    cursor: impl Fn(&T) -> Option<String>,
) -> Outcome {
    match r {
        Ok(page) => match cursor(&page) {
            Some(c) => Outcome::Truncated(to_value(&page), c),
            None => Outcome::Done(to_value(&page)),
        },
        Err(e) => Outcome::Failed(e),
    }
}

fn args<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, Outcome> {
    serde_json::from_value(v).map_err(|e| Outcome::BadArgs(e.to_string()))
}

/// Runs one tool on the store (blocking file I/O: call it off the async threads).
fn dispatch(store: &Store, tool: &str, arguments: Value, principal: &str) -> Option<Outcome> {
    let who = Actor { principal, tool };
    let run = || -> Result<Outcome, Outcome> {
        Ok(match tool {
            "memory_read" => {
                let a: PathArgs = args(arguments)?;
                paged(store.read(&a.path, a.cursor.as_deref()), |p| {
                    p.cursor.clone()
                })
            }
            "memory_write" => {
                let a: WriteArgs = args(arguments)?;
                if a.expected_version.as_ref().is_some_and(|v| v.len() > 64) {
                    return Err(Outcome::BadArgs(
                        "expected_version: longer than 64 characters (a version is a SHA-256)"
                            .into(),
                    ));
                }
                paged(
                    store.write(who, &a.path, &a.content, a.expected_version.as_deref()),
                    |_| None,
                )
            }
            "memory_append" => {
                let a: AppendArgs = args(arguments)?;
                paged(store.append(who, &a.path, &a.content), |_| None)
            }
            "memory_list" => {
                let a: ListArgs = args(arguments)?;
                paged(store.list(&a.dir, a.cursor.as_deref()), |p| {
                    p.cursor.clone()
                })
            }
            "memory_search" => {
                let a: SearchArgs = args(arguments)?;
                paged(store.search(&a.query, &a.dir, a.cursor.as_deref()), |p| {
                    p.cursor.clone()
                })
            }
            "memory_delete" => {
                let a: DeleteArgs = args(arguments)?;
                paged(store.delete(who, &a.path), |_| None)
            }
            "memory_history" => {
                let a: PathArgs = args(arguments)?;
                paged(store.history(&a.path, a.cursor.as_deref()), |p| {
                    p.cursor.clone()
                })
            }
            _ => return Err(Outcome::BadArgs(String::new())),
        })
    };
    if !tools().iter().any(|t| t.name == tool) {
        return None;
    }
    Some(run().unwrap_or_else(|o| o))
}

/// The MCP result for an outcome: success, or a tool error whose structured content is
/// `{"error": code, "message": …}` (plus `cursor` and `partial` for `result_truncated`, `found`
/// for `conflict`).
fn result(outcome: Outcome, limit: u64, root: &str) -> (CallToolResult, &'static str) {
    match outcome {
        Outcome::Done(v) => (CallToolResult::structured(v), "ok"),
        Outcome::Truncated(partial, cursor) => {
            let e = MemoryError::ResultTruncated {
                what: partial
                    .get("path")
                    .or_else(|| partial.get("dir"))
                    .or_else(|| partial.get("query"))
                    .and_then(Value::as_str)
                    .unwrap_or("result")
                    .to_owned(),
                limit,
                cursor: cursor.clone(),
            };
            (
                CallToolResult::structured_error(json!({
                    "error": e.code(), "message": e.to_string(), "cursor": cursor, "partial": partial,
                })),
                "result_truncated",
            )
        }
        Outcome::Failed(e) => {
            // Never show the agent where the store lives on the host.
            let message = if root.is_empty() {
                e.to_string()
            } else {
                e.to_string().replace(root, "<store>")
            };
            let mut v = json!({"error": e.code(), "message": message});
            if let MemoryError::Conflict { found, .. } = &e {
                // What to pass as `expected_version` to retry: `""` when there is no file.
                let found = if found == "absent" {
                    ""
                } else {
                    found.as_str()
                };
                v["found"] = found.into();
            }
            if let MemoryError::TooLarge { size, limit, .. } = &e {
                v["size"] = (*size).into();
                v["limit"] = (*limit).into();
            }
            (CallToolResult::structured_error(v), e.code())
        }
        Outcome::BadArgs(m) => (
            CallToolResult::structured_error(
                json!({"error": "invalid_arguments", "message": format!("invalid arguments: {m}")}),
            ),
            "invalid_arguments",
        ),
    }
}

impl ServerHandler for MemoryServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("vigil-memory", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "A memory store of text files. Paths are relative to the memory root. Every write \
                 is audited with your identity. Errors are typed: outside_root, symlink, too_large, \
                 too_many_files, result_truncated (continue with the cursor), not_found, conflict \
                 (re-read and retry), invalid_name, name_collision, too_deep, store_full.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(tools().to_vec()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        tools().iter().find(|t| t.name == name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let principal = context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|p| p.extensions.get::<Principal>().cloned())
            .or_else(|| {
                self.operator.clone().map(|subject| Principal {
                    subject,
                    via: Via::Operator,
                })
            });
        let Some(principal) = principal else {
            return Ok(CallToolResult::structured_error(
                json!({"error": "unauthenticated", "message": "no verified principal"}),
            )
            .into());
        };
        let name = request.name.to_string();
        let arguments = Value::Object(request.arguments.unwrap_or_default());
        let store = self.store.clone();
        let limit = store.limits().max_result_size;
        let subject = principal.subject.clone();
        let tool = name.clone();
        let outcome = if self.inline {
            dispatch(&store, &tool, arguments, &subject)
        } else {
            tokio::task::spawn_blocking(move || dispatch(&store, &tool, arguments, &subject))
                .await
                .map_err(|e| ErrorData::internal_error(e.to_string(), None))?
        };
        let Some(outcome) = outcome else {
            return Err(ErrorData::invalid_params(
                format!("unknown tool `{}`", crate::name::shown(&name)),
                None,
            ));
        };
        let root = self.store.root().display().to_string();
        let (r, code) = result(outcome, limit, &root);
        tracing::info!(tool = %crate::name::shown(&name), principal = %principal.subject, outcome = code, "memory tool call");
        Ok(r.into())
    }
}

/// Serves the tools on stdin/stdout until the client closes them. Meant for a single-threaded
/// runtime: one client, each call run in place, the pipes driven by the reactor.
pub async fn serve_stdio(store: Arc<Store>, principal: String) -> std::io::Result<()> {
    let (stdin, stdout) = rmcp::transport::io::stdio_pipes();
    serve_lines(store, principal, stdin, stdout).await
}

/// The tools over newline-delimited JSON-RPC on `input`/`output` (stdio). Every line is checked
/// before the SDK sees it ([`crate::lines::CheckedLines`]): one that is not JSON gets a parse
/// error (-32700), one that is not a JSON-RPC message an invalid-request error (-32600), so a
/// client never waits for an answer that will not come. When `input` closes, every request
/// already read is answered before the server stops.
pub async fn serve_lines<R, W>(
    store: Arc<Store>,
    principal: String,
    input: R,
    output: W,
) -> std::io::Result<()>
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
    W: tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let server = MemoryServer::new(store, Some(principal)).inline();
    match server
        .serve(crate::lines::CheckedLines::new(input, output))
        .await
    {
        Ok(running) => running
            .waiting()
            .await
            .map(|_| ())
            .map_err(std::io::Error::other),
        // A client that closes stdin before initializing (a probe, a cancelled start) is not
        // an error: nothing was asked, nothing is owed.
        Err(rmcp::service::ServerInitializeError::ConnectionClosed(_)) => {
            tracing::debug!("stdin closed before the client initialized");
            Ok(())
        }
        Err(e) => Err(std::io::Error::other(e)),
    }
}

/// How the server speaks, with what it needs for that: resolved from the flags by
/// [`crate::MemorySettings::transport`], which owns every refusal to start.
#[derive(Debug)]
pub enum Transport {
    /// MCP on stdin/stdout; every write is recorded under the operator's `principal`.
    Stdio {
        /// `--principal`.
        principal: String,
    },
    /// Streamable HTTP on a loopback address; every request proves its principal.
    Http {
        /// The loopback address (port 0 picks a free one).
        addr: SocketAddr,
        /// Verifies bearer tokens and gateway assertions.
        auth: Arc<Authenticator>,
        /// Host and Origin allow-lists, body limit.
        settings: HttpSettings,
    },
}

/// Why the server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The async runtime could not be built.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    /// The address cannot be listened on.
    #[error("cannot listen on {addr}: {error}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        error: std::io::Error,
    },
    /// The transport failed (stdin/stdout, the listening socket).
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Serves `store` on `transport` until the client closes stdin (stdio) or the process gets
/// SIGINT or SIGTERM (HTTP). On HTTP it logs `vigil memory listening on ADDR` with the bound
/// `address` field once it accepts connections. Blocks the calling thread.
pub fn run(store: Store, transport: Transport) -> Result<(), ServeError> {
    let store = Arc::new(store);
    match transport {
        Transport::Stdio { principal } => {
            tracing::info!(root = %store.root().display(), principal = %principal, "vigil memory serving on stdio");
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(ServeError::Runtime)?;
            rt.block_on(serve_stdio(store, principal))?;
        }
        Transport::Http {
            addr,
            auth,
            settings,
        } => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_err(ServeError::Runtime)?;
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|error| ServeError::Bind { addr, error })?;
                let bound = listener.local_addr()?;
                tracing::info!(address = %bound, root = %store.root().display(), "vigil memory listening on {bound}");
                let shutdown = Shutdown::new();
                stop_on_signals(shutdown.clone());
                serve_http(store, auth, listener, settings, shutdown).await?;
                Ok::<_, ServeError>(())
            })?;
        }
    }
    Ok(())
}

/// Cancels `shutdown` on SIGINT (Ctrl-C) or SIGTERM.
fn stop_on_signals(shutdown: Shutdown) {
    let stop = shutdown.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        stop.cancel();
    });
    #[cfg(unix)]
    tokio::spawn(async move {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
            shutdown.cancel();
        }
    });
}

/// How the HTTP server admits requests.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// `Host` values accepted (the SDK's DNS-rebinding check).
    pub allowed_hosts: Vec<String>,
    /// Browser `Origin`s accepted; any other `Origin` is refused (none by default).
    pub allowed_origins: Vec<String>,
    /// Largest request body.
    pub max_body: usize,
    /// Most open sessions; a new one past it gets 503.
    pub max_sessions: usize,
    /// A session unused this long is closed.
    pub session_idle: std::time::Duration,
}

/// A JSON error response.
fn http_error(status: http::StatusCode, code: &str, message: &str) -> http::Response<Body> {
    http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(
            Full::new(Bytes::from(
                json!({"error": code, "message": message}).to_string(),
            ))
            .boxed(),
        )
        .expect("a valid response")
}

/// The path MCP is served on.
pub const MCP_PATH: &str = "/mcp";

const SESSION_HEADER: &str = "mcp-session-id";

type Body = http_body_util::combinators::BoxBody<Bytes, std::convert::Infallible>;

fn refused(refusal: &crate::auth::Refusal) -> http::Response<Body> {
    let challenge = if refusal.code == "missing_token" {
        "Bearer realm=\"vigil-memory\"".to_owned()
    } else {
        format!(
            "Bearer realm=\"vigil-memory\", error=\"invalid_token\", error_description=\"{}\"",
            refusal.code
        )
    };
    http::Response::builder()
        .status(http::StatusCode::UNAUTHORIZED)
        .header(http::header::WWW_AUTHENTICATE, challenge)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(
            Full::new(Bytes::from(
                json!({"error": refusal.code, "message": refusal.message}).to_string(),
            ))
            .boxed(),
        )
        .expect("a valid response")
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Serves the tools over Streamable HTTP on `listener` until `shutdown` is cancelled. Every
/// request must prove its principal ([`Authenticator`]).
pub async fn serve_http(
    store: Arc<Store>,
    auth: Arc<Authenticator>,
    listener: tokio::net::TcpListener,
    settings: HttpSettings,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(settings.allowed_hosts.clone())
        .with_allowed_origins(settings.allowed_origins.clone())
        .enforce_origin_validation()
        .with_max_request_body_bytes(settings.max_body)
        .with_cancellation_token(shutdown.child_token());
    let handler = MemoryServer::new(store, None);
    let mut manager = LocalSessionManager::default();
    manager.session_config.keep_alive = Some(settings.session_idle);
    let manager = Arc::new(manager);
    let mcp = StreamableHttpService::new(move || Ok(handler.clone()), manager.clone(), config);
    // Who opened each session: only that principal may use or close it.
    let owners: Arc<std::sync::Mutex<std::collections::HashMap<String, String>>> = Arc::default();
    let max_sessions = settings.max_sessions;
    loop {
        let (stream, _) = tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            r = listener.accept() => match r {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let (mcp, auth) = (mcp.clone(), auth.clone());
        let (manager, owners) = (manager.clone(), owners.clone());
        tokio::spawn(async move {
            let svc =
                hyper::service::service_fn(move |mut req: http::Request<hyper::body::Incoming>| {
                    let (mut mcp, auth) = (mcp.clone(), auth.clone());
                    let (manager, owners) = (manager.clone(), owners.clone());
                    async move {
                        let p = match auth.principal(req.headers(), unix_now()) {
                            Err(r) => {
                                tracing::warn!(code = r.code, "memory request refused");
                                return Ok(refused(&r));
                            }
                            Ok(p) => p,
                        };
                        if req.uri().path() != MCP_PATH {
                            return Ok(http_error(
                                http::StatusCode::NOT_FOUND,
                                "not_found",
                                "MCP is served at /mcp",
                            ));
                        }
                        let host_ok = req
                            .headers()
                            .get(http::header::HOST)
                            .and_then(|h| h.to_str().ok())
                            .is_some_and(|h| !h.contains(['@', '/', '\\', ' ']));
                        if !host_ok {
                            return Ok(http_error(
                                http::StatusCode::FORBIDDEN,
                                "forbidden_host",
                                "the Host header is not a host name",
                            ));
                        }
                        let session = req
                            .headers()
                            .get(SESSION_HEADER)
                            .and_then(|h| h.to_str().ok())
                            .map(str::to_owned);
                        let opening = session.is_none() && req.method() == http::Method::POST;
                        if opening && manager.sessions.read().await.len() >= max_sessions {
                            return Ok(http_error(
                                http::StatusCode::SERVICE_UNAVAILABLE,
                                "too_many_sessions",
                                "too many open sessions; close one or retry later",
                            ));
                        }
                        if let Some(id) = &session {
                            let owner = owners
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .get(id)
                                .cloned();
                            if owner.is_some_and(|o| o != p.subject) {
                                // Someone else's session: as if it did not exist.
                                return Ok(http_error(
                                    http::StatusCode::NOT_FOUND,
                                    "session_not_found",
                                    "no such session",
                                ));
                            }
                        }
                        let subject = p.subject.clone();
                        req.extensions_mut().insert(p);
                        let resp = tower_service::Service::call(&mut mcp, req).await?;
                        if session.is_none() {
                            if let Some(id) = resp
                                .headers()
                                .get(SESSION_HEADER)
                                .and_then(|h| h.to_str().ok())
                            {
                                let live: std::collections::HashSet<String> = manager
                                    .sessions
                                    .read()
                                    .await
                                    .keys()
                                    .map(|k| k.to_string())
                                    .collect();
                                let mut o = owners.lock().unwrap_or_else(|e| e.into_inner());
                                o.retain(|k, _| live.contains(k));
                                o.insert(id.to_owned(), subject);
                            }
                        }
                        Ok::<_, std::convert::Infallible>(resp)
                    }
                });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                .await;
        });
    }
}
