//! stdio MCP servers behind the gateway: a route with `command` (and `env`, `cwd`) instead of
//! `upstream`. The gateway serves the route's upstream itself, as Streamable HTTP (rmcp's
//! server, on a loopback port only the gateway can use: every request must carry a random key
//! the gateway adds), and bridges each MCP session to a child process speaking MCP on stdio
//! (rmcp's client). So the route keeps every stage of the gateway (token, scopes, limits, body
//! checks, log) in front of a local-only server.
//!
//! The child starts with an empty environment plus the route's `env` only, and its own working
//! folder; its stderr is logged line by line through the redactor (vigil-scan's rules too, see
//! [`crate::logs`]); a stdout line that is not a JSON-RPC message is reported (logged, redacted
//! the same way, and counted) and never reaches the client. Processes are capped per route
//! (`max_processes`) and per token subject (`max_per_subject`, default a quarter of
//! `max_processes`), killed after `idle_timeout` unused, and a process
//! that died is replaced on the next request, after a back-off that doubles with each crash in
//! a row (250 ms to 16 s). Which process serves a request is `processes`: `session` (one per MCP
//! session: the child's notifications reach its client), `shared` (one for the route) or
//! `subject` (one per token subject). A session is usable only by the token subject that
//! opened it.

use rmcp::model::{
    ClientConfig as ClientInfo, ClientNotification, ClientRequest, ErrorData,
    ServerConfig as ServerInfo, ServerNotification, ServerRequest, ServerResult,
};
use rmcp::service::{NotificationContext, Peer, RequestContext, RoleClient, RoleServer};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;
use vigil_core::duration;

/// The header carrying the key of the gateway's own loopback listener.
pub const KEY_HEADER: &str = "x-vigil-stdio-key";

/// `[gateway.routes.stdio]`: how processes are shared and bounded.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StdioSection {
    /// `session` (default), `shared` or `subject`.
    pub processes: Option<String>,
    /// Most processes of this route at once (default 8).
    pub max_processes: Option<usize>,
    /// Most processes one token subject may hold at once (default a quarter of
    /// `max_processes`, at least 1), so one client cannot take them all.
    pub max_per_subject: Option<usize>,
    /// A process unused this long is stopped (default 10m).
    #[serde(default, deserialize_with = "duration::deserialize_opt")]
    pub idle_timeout: Option<Duration>,
}

/// Which process serves a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mapping {
    /// One per MCP session.
    Session,
    /// One for the whole route.
    Shared,
    /// One per token subject.
    Subject,
}

impl Mapping {
    /// The setting as written in vigil.toml (a stdio route's `processes`).
    pub fn as_str(self) -> &'static str {
        match self {
            Mapping::Session => "session",
            Mapping::Shared => "shared",
            Mapping::Subject => "subject",
        }
    }
}

/// Why a stdio route is refused.
#[derive(Debug, thiserror::Error)]
pub enum StdioProblem {
    /// An empty command.
    #[error("is empty: give the program and its arguments, e.g. [\"npx\", \"-y\", \"@modelcontextprotocol/server-everything@2025.7.29\"]")]
    Empty,
    /// The program is not found on the gateway's PATH.
    #[error("`{0}` is not found on PATH (give its absolute path)")]
    NotFound(String),
    /// A variable the gateway keeps to itself.
    #[error("{0} is one of the gateway's secrets and is never passed to a child")]
    Secret(String),
    /// A variable whose value holds one of the gateway's secrets (under another name, or
    /// inside a longer value).
    #[error(
        "{var} would carry the value of {what}; the gateway's secrets are never passed to a child"
    )]
    SecretValue {
        /// The child's variable.
        var: String,
        /// Whose value it holds (`MCP_JWT_SECRET`, `the webhook secret WEBHOOK_SECRET_DEFAULT of route /hooks/gh`).
        what: String,
    },
    /// A credential variable whose value every MCP request carries (`jsonrpc`): every request
    /// on the route would be refused as holding it (tester 165).
    #[error("{var} is a credential whose value is text every MCP request carries (a JSON-RPC or MCP word); every request would be refused as holding it: use the real credential")]
    CommonCredential {
        /// The child's variable.
        var: String,
    },
    /// A `command` argument holding one of the gateway's secrets.
    #[error("would carry the value of {what}; the gateway's secrets are never passed to a child")]
    SecretArgument {
        /// Whose value it holds.
        what: String,
    },
    /// Not a variable name.
    #[error("`{0}` is not a variable name")]
    VariableName(String),
    /// A NUL byte, which no program argument or environment value can carry (the child could
    /// never be started: said at start, not at the first request).
    #[error("holds a NUL byte, which no program argument or environment value can carry")]
    Nul,
    /// `cwd` is not a folder.
    #[error("is not a folder")]
    Cwd,
    /// An unknown `processes`.
    #[error("must be \"session\", \"shared\" or \"subject\"")]
    Processes,
    /// `max_processes` of 0.
    #[error("must be at least 1")]
    MaxProcesses,
    /// `max_per_subject` of 0 or over `max_processes`.
    #[error("must be between 1 and max_processes")]
    MaxPerSubject,
    /// `idle_timeout` of 0.
    #[error("must be at least 1s")]
    Idle,
    /// `command` and `upstream` together.
    #[error("a route has either upstream or command, not both")]
    WithUpstream,
}

/// A validated stdio server: what to run, with what, how many.
pub struct Spec {
    /// The program (an absolute path).
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    env: Vec<(String, String)>,
    /// The working folder.
    pub cwd: Option<PathBuf>,
    /// Which process serves a request.
    pub mapping: Mapping,
    /// Most processes at once.
    pub max: usize,
    /// Most processes of one token subject at once.
    pub per_subject: usize,
    /// Idle time before a process is stopped.
    pub idle: Duration,
    /// The route's label, for logs.
    pub label: String,
}

impl std::fmt::Debug for Spec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spec")
            .field("program", &self.program)
            .field("args", &self.args)
            .field(
                "env",
                &self.env.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            )
            .field("mapping", &self.mapping)
            .finish_non_exhaustive()
    }
}

/// Which of the gateway's secret `values` (what each is, the value) `text` holds, whole,
/// inside a longer value, or hex- or base64-encoded; values under 8 bytes are not looked for
/// (ordinary text would match).
pub(crate) fn held_secret<'a>(
    text: &[u8],
    values: &'a [(String, vigil_core::Secret<String>)],
) -> Option<&'a String> {
    // Percent-encoded too, up to three levels (tester 168: the signing key `%XX`-encoded in a
    // route header, an env value or the upstream URL's path went up; a base64 key must be
    // encoded so to sit in a URL).
    let mut text = std::borrow::Cow::Borrowed(text);
    for _ in 0..4 {
        if let Some(what) = held_as_written(&text, values) {
            return Some(what);
        }
        if !text.contains(&b'%') {
            return None;
        }
        let decoded = crate::sessions::percent_decoded(&text, false);
        if decoded[..] == text[..] {
            return None;
        }
        text = std::borrow::Cow::Owned(decoded);
    }
    None
}

/// [`held_secret`] on `text` as it is.
fn held_as_written<'a>(
    text: &[u8],
    values: &'a [(String, vigil_core::Secret<String>)],
) -> Option<&'a String> {
    let holds = |form: &[u8]| text.windows(form.len()).any(|w| w == form);
    values.iter().find_map(|(what, sv)| {
        let sv = sv.expose_secret().as_bytes();
        // Hex- or base64-encoded too (tester 164: `X-Hex = "<hex of the signing key>"` went
        // up on every request, though a client sending it is refused).
        // And, for a value that is itself base64 or hex text, its bytes encoded either way
        // (tester 165: the key in the URL-safe alphabet, or hex of its bytes, went up).
        let encoded = || {
            sv.len() >= vigil_core::redact::ENCODED_MIN
                && std::iter::once(sv.to_vec())
                    .chain(
                        std::str::from_utf8(sv)
                            .map(crate::credentials::decoded_value)
                            .unwrap_or_default(),
                    )
                    .any(|bytes| {
                        vigil_core::redact::encoded_forms(&bytes)
                            .iter()
                            .any(|f| holds(f.as_bytes()))
                    })
        };
        (sv.len() >= 8 && (holds(sv) || encoded())).then_some(what)
    })
}

impl Spec {
    /// Validates a route's `command`, `env`, `cwd` and `stdio`; `base` is the folder relative
    /// paths start from, `secrets` the variables never passed on, `values` the gateway's
    /// secret values (what each is, and the value) that no variable may hold, whatever its name
    /// and wherever in its value. Errors carry their key.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        command: &[String],
        env: Option<&BTreeMap<String, String>>,
        cwd: Option<&str>,
        s: Option<&StdioSection>,
        base: &std::path::Path,
        secrets: &[&str],
        values: &[(String, vigil_core::Secret<String>)],
        label: &str,
    ) -> Result<Spec, crate::config::KeyedError<StdioProblem>> {
        Self::new_keyed(command, env, cwd, s, base, secrets, values, label)
            .map_err(|(key, problem)| crate::config::KeyedError { key, problem })
    }

    #[allow(clippy::too_many_arguments)]
    fn new_keyed(
        command: &[String],
        env: Option<&BTreeMap<String, String>>,
        cwd: Option<&str>,
        s: Option<&StdioSection>,
        base: &std::path::Path,
        secrets: &[&str],
        values: &[(String, vigil_core::Secret<String>)],
        label: &str,
    ) -> Result<Spec, (String, StdioProblem)> {
        // An argument holding a secret's value (by `${VAR}` or literally, whole or inside) would
        // show it to anyone on the host (`ps`) and to the child: refused like a variable.
        for (j, a) in command.iter().enumerate() {
            if let Some(what) = held_secret(a.as_bytes(), values) {
                return Err((
                    format!("command[{j}]"),
                    StdioProblem::SecretArgument { what: what.clone() },
                ));
            }
        }
        if let Some(j) = command.iter().position(|a| a.contains('\0')) {
            return Err((format!("command[{j}]"), StdioProblem::Nul));
        }
        let (program, args) = command
            .split_first()
            .ok_or(("command".to_owned(), StdioProblem::Empty))?;
        let program = resolve(program, base).ok_or_else(|| {
            (
                "command".to_owned(),
                StdioProblem::NotFound(program.clone()),
            )
        })?;
        let mut vars = Vec::new();
        for (k, v) in env.into_iter().flatten() {
            if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(("env".into(), StdioProblem::VariableName(k.clone())));
            }
            // Named after `env`: text after a `…SECRET: ` key would be masked by the redactor.
            if secrets.contains(&k.as_str()) {
                return Err(("env".into(), StdioProblem::Secret(k.clone())));
            }
            if v.contains('\0') {
                return Err((format!("env.{k}"), StdioProblem::Nul));
            }
            // A variable holding a secret's value under another name (or inside a longer
            // value, `${VAR}` in a URL) is the same secret.
            if let Some(what) = held_secret(v.as_bytes(), values) {
                return Err((
                    "env".into(),
                    StdioProblem::SecretValue {
                        var: k.clone(),
                        what: what.clone(),
                    },
                ));
            }
            // Only what is a credential (the rule of `env_values`): `PATH = "/usr/bin:/bin"`
            // registered became a credential of every route, refusing requests that named it
            // (tester 164).
            if is_credential(k, v) {
                if v.trim().len() >= vigil_core::redact::MIN_REGISTERED_LEN
                    && crate::credentials::common_word(v)
                {
                    return Err((
                        "env".into(),
                        StdioProblem::CommonCredential { var: k.clone() },
                    ));
                }
                if crate::credentials::reads_as_word(v) {
                    tracing::warn!(
                        variable = %k,
                        "a stdio server's variable named as a credential holds what reads as a word or a number: requests mentioning it are refused and answers masked"
                    );
                }
                vigil_core::redact::register(v);
            }
            vars.push((k.clone(), v.clone()));
        }
        let cwd = match cwd {
            Some(c) => {
                let p = base.join(c);
                if !p.is_dir() {
                    return Err(("cwd".to_owned(), StdioProblem::Cwd));
                }
                Some(p)
            }
            None => None,
        };
        let s = s.cloned().unwrap_or_default();
        let mapping = match s.processes.as_deref() {
            None | Some("session") => Mapping::Session,
            Some("shared") => Mapping::Shared,
            Some("subject") => Mapping::Subject,
            Some(_) => return Err(("stdio.processes".into(), StdioProblem::Processes)),
        };
        let max = s.max_processes.unwrap_or(8);
        if max == 0 {
            return Err(("stdio.max_processes".into(), StdioProblem::MaxProcesses));
        }
        let per_subject = s.max_per_subject.unwrap_or((max / 4).max(1));
        if per_subject == 0 || per_subject > max {
            return Err(("stdio.max_per_subject".into(), StdioProblem::MaxPerSubject));
        }
        let idle = s.idle_timeout.unwrap_or(Duration::from_secs(600));
        if idle.is_zero() {
            return Err(("stdio.idle_timeout".into(), StdioProblem::Idle));
        }
        Ok(Spec {
            program,
            args: args.to_vec(),
            env: vars,
            cwd,
            mapping,
            max,
            per_subject,
            idle,
            label: label.to_owned(),
        })
    }
}

/// A line of the child's output as logged: redacted whole first (the gateway's rules and
/// vigil-scan's, see [`crate::logs`]), then cut to `chars`, so a cut never leaves part of a
/// secret in view, then its control characters escaped.
/// Says that the matcher of registered secrets for log lines could not be built (logged here,
/// not in `credentials`: an event's file name beside its level reads as `credentials…:error…`
/// to the scan's generic rule, and the binary scans itself in the tests).
pub(crate) fn log_matcher_failed(e: &dyn std::fmt::Display) {
    tracing::error!(problem = %e, "cannot build the matcher of registered secrets for stdio log lines: secrets cut into groups there are not masked");
}

fn shown(line: &str, chars: usize) -> String {
    let head = match line.char_indices().nth(64 << 10) {
        Some((at, _)) => &line[..at],
        None => line,
    };
    let clean = vigil_core::redact::redact(head);
    let clean = match crate::credentials::mask_spread_registered(&clean) {
        Some(m) => std::borrow::Cow::Owned(m),
        None => clean,
    };
    let mut out: String = clean.chars().take(chars).collect();
    if out.len() < clean.len() || head.len() < line.len() {
        out.push('…');
    }
    // ESC and every other C0/C1 control escaped, like every other field: a child cannot drive
    // the terminal that shows the log.
    vigil_core::logging::printable(&out).into_owned()
}

impl Spec {
    /// The names of the child's variables (never their values).
    pub fn env_names(&self) -> Vec<&str> {
        self.env.iter().map(|(k, _)| k.as_str()).collect()
    }

    /// The values of the child's variables that are credentials (masked in its answers:
    /// [`crate::credentials`]): a variable whose name says it holds one (`*_KEY`, `*TOKEN*`,
    /// `*SECRET*`, `*PASS*`, `*AUTH*`, …), or a value that looks random (no path, 16 or more
    /// characters, letters and digits mixed). `PATH=/usr/bin:/bin` or `HOME=/var/lib/mcp` are
    /// not: masking them blanked every path in the answers (bb-gw-s9 S4).
    pub(crate) fn env_values(&self) -> impl Iterator<Item = &str> {
        self.env
            .iter()
            .filter(|(k, v)| is_credential(k, v))
            .map(|(_, v)| v.as_str())
    }
}

/// Whether a named value (a variable, a route header) is a credential: its name says so, it
/// looks random, or it is a URL with userinfo (`postgres://app:pw@db/x` carries a password).
pub(crate) fn is_credential(name: &str, v: &str) -> bool {
    names_a_credential(name) || looks_random(v) || (v.contains("://") && v.contains('@'))
}

/// Whether a variable's name says it holds a credential.
fn names_a_credential(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "key",
        "token",
        "secret",
        "pass",
        "pwd",
        "auth",
        "cred",
        "cookie",
        "session",
        "private",
        "dsn",
        "signature",
        "cert",
    ]
    .iter()
    .any(|w| n.contains(w))
}

/// Whether a value looks like a random credential: 16 or more characters, no path separator or
/// space, letters and digits mixed.
fn looks_random(v: &str) -> bool {
    v.len() >= 16
        && !v.contains(['/', ' ', ':'])
        && v.bytes().any(|b| b.is_ascii_digit())
        && v.bytes().any(|b| b.is_ascii_alphabetic())
}

/// `program` as a path: a name without `/` is looked up on the gateway's PATH.
fn resolve(program: &str, base: &std::path::Path) -> Option<PathBuf> {
    if program.contains('/') {
        let p = base.join(program);
        return p.is_file().then_some(p);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// A route's processes.
struct Pool {
    spec: Arc<Spec>,
    live: Arc<AtomicUsize>,
    /// Live processes per token subject.
    subjects: Arc<Mutex<HashMap<String, usize>>>,
    shared: tokio::sync::Mutex<HashMap<String, Arc<Child>>>,
    all: Mutex<Vec<Weak<Child>>>,
    crashes: Mutex<(u32, Option<Instant>)>,
    metrics: Arc<crate::Metrics>,
}

/// One running child: its MCP client end and what it said at initialize.
struct Child {
    peer: Peer<RoleClient>,
    info: ServerInfo,
    last_used: Mutex<Instant>,
    exited: Arc<AtomicBool>,
    stop: CancellationToken,
    _service: rmcp::service::RunningService<RoleClient, ChildSide>,
}

impl Drop for Child {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Child {
    fn alive(&self) -> bool {
        !self.exited.load(Ordering::SeqCst) && !self.peer.is_transport_closed()
    }

    fn touch(&self) {
        *self.last_used.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
    }
}

/// The child's client end: its requests and notifications go to the session's client, when
/// the process serves one session.
struct ChildSide {
    info: ClientInfo,
    client: Option<Peer<RoleServer>>,
}

impl rmcp::Service<RoleClient> for ChildSide {
    async fn handle_request(
        &self,
        request: ServerRequest,
        _context: RequestContext<RoleClient>,
    ) -> Result<rmcp::model::ClientResult, ErrorData> {
        if let ServerRequest::PingRequest(_) = request {
            return Ok(rmcp::model::ClientResult::empty(()));
        }
        match &self.client {
            Some(peer) => peer
                .send_request(request)
                .await
                .map_err(|e| ErrorData::internal_error(format!("client: {e}"), None)),
            None => Err(ErrorData::method_not_found::<rmcp::model::PingRequestMethod>()),
        }
    }

    async fn handle_notification(
        &self,
        notification: ServerNotification,
        _context: NotificationContext<RoleClient>,
    ) -> Result<(), ErrorData> {
        if let Some(peer) = &self.client {
            let _ = peer.send_notification(notification).await;
        }
        Ok(())
    }

    fn get_info(&self) -> ClientInfo {
        self.info.clone()
    }
}

impl Pool {
    /// Starts a child for `subject` and initializes it with `init` (the client's own
    /// initialize), its messages going to `client`.
    async fn spawn(
        &self,
        init: ClientInfo,
        client: Option<Peer<RoleServer>>,
        subject: String,
    ) -> Result<Arc<Child>, ErrorData> {
        let spec = &self.spec;
        let wait = {
            let c = self.crashes.lock().unwrap_or_else(|e| e.into_inner());
            match c.1 {
                Some(t) if c.0 > 0 && t.elapsed() < Duration::from_secs(60) => {
                    Duration::from_millis(250 << (c.0 - 1).min(6))
                }
                _ => Duration::ZERO,
            }
        };
        if !wait.is_zero() {
            tracing::warn!(route = %spec.label, wait_ms = wait.as_millis() as u64, "the stdio server crashed recently; starting it again after a back-off");
            tokio::time::sleep(wait).await;
        }
        if self.live.fetch_add(1, Ordering::SeqCst) >= spec.max {
            self.live.fetch_sub(1, Ordering::SeqCst);
            return Err(ErrorData::internal_error(
                "the route's stdio server is at its process limit; retry later",
                None,
            ));
        }
        {
            let mut held = self.subjects.lock().unwrap_or_else(|e| e.into_inner());
            let n = held.entry(subject.clone()).or_default();
            if *n >= spec.per_subject {
                drop(held);
                self.live.fetch_sub(1, Ordering::SeqCst);
                return Err(ErrorData::internal_error(
                    "this subject holds as many of the route's stdio processes as it may; close a session or retry later",
                    None,
                ));
            }
            *n += 1;
        }
        // Gives back the subject's share (the process's slot is given back with it).
        let release = {
            let (subjects, live, subject) = (self.subjects.clone(), self.live.clone(), subject);
            move || {
                let mut held = subjects.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(n) = held.get_mut(&subject) {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        held.remove(&subject);
                    }
                }
                live.fetch_sub(1, Ordering::SeqCst);
            }
        };
        let mut cmd = tokio::process::Command::new(&spec.program);
        cmd.args(&spec.args)
            .env_clear()
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        if let Some(c) = &spec.cwd {
            cmd.current_dir(c);
        }
        let mut proc = match cmd.spawn() {
            Ok(p) => p,
            Err(e) => {
                release();
                tracing::error!(route = %spec.label, error = %e, "cannot start the stdio server");
                return Err(ErrorData::internal_error(
                    "the route's stdio server cannot be started",
                    None,
                ));
            }
        };
        let pid = proc.id().unwrap_or(0);
        let label = spec.label.clone();
        let (stdin, stdout, stderr) = (proc.stdin.take(), proc.stdout.take(), proc.stderr.take());
        let (Some(stdin), Some(stdout), Some(stderr)) = (stdin, stdout, stderr) else {
            release();
            return Err(ErrorData::internal_error("no stdio pipes", None));
        };
        tracing::info!(route = %label, pid, "stdio server started");
        // stderr: logged, through the redactor.
        let l = label.clone();
        tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                tracing::info!(route = %l, pid, stderr = %shown(&line, 2000), "stdio server stderr");
            }
        });
        // stdout: JSON-RPC messages go to the client end; anything else is reported.
        let (mut into_rmcp, from_child) = tokio::io::duplex(1 << 16);
        let (l, metrics) = (label.clone(), self.metrics.clone());
        tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if serde_json::from_str::<rmcp::model::ServerJsonRpcMessage>(&line).is_ok() {
                    if into_rmcp.write_all(line.as_bytes()).await.is_err()
                        || into_rmcp.write_all(b"\n").await.is_err()
                    {
                        break;
                    }
                } else if !line.trim().is_empty() {
                    metrics
                        .stdio_stray_output
                        .get_or_create(&crate::metrics::RouteLabel { route: l.clone() })
                        .inc();
                    tracing::warn!(route = %l, pid, line = %shown(&line, 200), "stdio server wrote a non-protocol line to stdout; ignored");
                }
            }
        });
        // The process: waited for, or killed when its Child goes or it is reaped.
        let exited = Arc::new(AtomicBool::new(false));
        let stop = CancellationToken::new();
        let (e, s, l) = (exited.clone(), stop.clone(), label.clone());
        tokio::spawn(async move {
            tokio::select! {
                status = proc.wait() => {
                    tracing::warn!(route = %l, pid, status = ?status.ok(), "stdio server exited");
                }
                _ = s.cancelled() => {
                    let _ = proc.kill().await;
                    tracing::info!(route = %l, pid, "stdio server stopped");
                }
            }
            e.store(true, Ordering::SeqCst);
            release();
        });
        let side = ChildSide { info: init, client };
        let service = match rmcp::serve_client(side, (from_child, stdin)).await {
            Ok(s) => s,
            Err(e) => {
                stop.cancel();
                self.crashed();
                tracing::error!(route = %label, pid, error = %e, "the stdio server did not initialize");
                return Err(ErrorData::internal_error(
                    "the route's stdio server did not initialize",
                    None,
                ));
            }
        };
        let peer = service.peer().clone();
        let Some(said) = service.peer_info() else {
            stop.cancel();
            return Err(ErrorData::internal_error("no server info", None));
        };
        let mut info = ServerInfo::new(said.capabilities.clone());
        info.protocol_version = said.protocol_version.clone();
        if let Some(i) = &said.server_info {
            info.server_info = i.clone();
        }
        info.instructions = said.instructions.clone();
        let child = Arc::new(Child {
            peer,
            info,
            last_used: Mutex::new(Instant::now()),
            exited,
            stop,
            _service: service,
        });
        let mut all = self.all.lock().unwrap_or_else(|e| e.into_inner());
        all.retain(|w| w.strong_count() > 0);
        all.push(Arc::downgrade(&child));
        Ok(child)
    }

    /// Notes a crash (for the back-off of the next start).
    fn crashed(&self) {
        let mut c = self.crashes.lock().unwrap_or_else(|e| e.into_inner());
        let recent = c.1.is_some_and(|t| t.elapsed() < Duration::from_secs(60));
        c.0 = if recent { c.0.saturating_add(1) } else { 1 };
        c.1 = Some(Instant::now());
    }

    /// Stops the processes unused for `idle`.
    fn reap(&self) {
        let all = self.all.lock().unwrap_or_else(|e| e.into_inner());
        for c in all.iter().filter_map(Weak::upgrade) {
            let idle = c
                .last_used
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .elapsed();
            if idle >= self.spec.idle && c.alive() {
                tracing::info!(route = %self.spec.label, "stopping an idle stdio server");
                c.stop.cancel();
            }
        }
    }
}

/// One MCP session of the route's clients, bridged to its process.
struct Proxy {
    pool: Arc<Pool>,
    own: tokio::sync::Mutex<Option<Arc<Child>>>,
    init: Mutex<Option<ClientInfo>>,
}

impl Proxy {
    /// The process serving this request: the session's while alive, else per the mapping.
    async fn child(&self, ctx: &RequestContext<RoleServer>) -> Result<Arc<Child>, ErrorData> {
        let mut own = self.own.lock().await;
        if let Some(c) = own.as_ref().filter(|c| c.alive()) {
            return Ok(c.clone());
        }
        // A sessionless client never initializes: the child is initialized as the gateway.
        let init = self
            .init
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .unwrap_or_default();
        let pool = &self.pool;
        let child = match pool.spec.mapping {
            Mapping::Session => {
                if own.is_some() {
                    pool.crashed();
                }
                pool.spawn(init, Some(ctx.peer.clone()), subject(ctx))
                    .await?
            }
            Mapping::Shared | Mapping::Subject => {
                let key = if pool.spec.mapping == Mapping::Shared {
                    String::new()
                } else {
                    subject(ctx)
                };
                let mut map = pool.shared.lock().await;
                match map.get(&key).filter(|c| c.alive()) {
                    Some(c) => c.clone(),
                    None => {
                        if map.remove(&key).is_some() {
                            pool.crashed();
                        }
                        let who = if pool.spec.mapping == Mapping::Shared {
                            String::new()
                        } else {
                            key.clone()
                        };
                        let c = pool.spawn(init, None, who).await?;
                        map.insert(key, c.clone());
                        c
                    }
                }
            }
        };
        *own = Some(child.clone());
        Ok(child)
    }
}

/// The subject the gateway verified (`X-Vigil-Subject`), or `""`.
fn subject(ctx: &RequestContext<RoleServer>) -> String {
    ctx.extensions
        .get::<http::request::Parts>()
        .and_then(|p| p.headers.get("x-vigil-subject"))
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Builds the request a handler method received back into the message the child gets, with
/// the client's `_meta` (progress tokens).
macro_rules! forward {
    ($self:ident, $ctx:ident, $variant:ident, $req:expr, $result:pat => $out:expr) => {{
        let mut request = $req;
        request.extensions.insert($ctx.meta.clone());
        let request = ClientRequest::$variant(request);
        match $self.forward(request, &$ctx).await? {
            $result => Ok($out),
            _ => Err(ErrorData::internal_error(
                "the stdio server answered another kind of result",
                None,
            )),
        }
    }};
}

impl Proxy {
    /// Sends `request` to this session's process; a process that died gives an error (and the
    /// next request a new process).
    async fn forward(
        &self,
        request: ClientRequest,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<ServerResult, ErrorData> {
        let c = self.child(ctx).await?;
        c.touch();
        let answer = c.peer.send_request(request).await;
        c.touch();
        answer.map_err(|e| {
            tracing::warn!(route = %self.pool.spec.label, error = %e, "stdio server request failed");
            ErrorData::internal_error("the stdio server failed before answering", None)
        })
    }

    async fn notify(&self, n: ClientNotification) {
        let c = self.own.lock().await.clone();
        if let Some(c) = c.filter(|c| c.alive()) {
            let _ = c.peer.send_notification(n).await;
        }
    }
}

/// A request with optional parameters, as received.
fn optional<M: Default>(
    params: Option<rmcp::model::PaginatedRequestParams>,
) -> rmcp::model::RequestOptionalParam<M, rmcp::model::PaginatedRequestParams> {
    let mut r = rmcp::model::RequestOptionalParam::with_param(Default::default());
    r.params = params;
    r
}

// Logging and resources/subscribe are deprecated by the 2026 revision but spoken by the
// stdio servers and clients of earlier ones.
#[allow(deprecated)]
impl rmcp::ServerHandler for Proxy {
    async fn initialize(
        &self,
        request: rmcp::model::InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::InitializeResult, ErrorData> {
        context.peer.set_peer_info(request.clone());
        *self.init.lock().unwrap_or_else(|e| e.into_inner()) = Some(request);
        let c = self.child(&context).await?;
        c.touch();
        Ok(c.info.clone())
    }

    async fn complete(
        &self,
        params: rmcp::model::CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::CompleteResult, ErrorData> {
        forward!(self, context, CompleteRequest, rmcp::model::Request::new(params), ServerResult::CompleteResult(r) => r)
    }

    async fn set_level(
        &self,
        params: rmcp::model::SetLevelRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        forward!(self, context, SetLevelRequest, rmcp::model::Request::new(params), ServerResult::EmptyResult(_) => ())
    }

    async fn get_prompt(
        &self,
        params: rmcp::model::GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::GetPromptResponse, ErrorData> {
        forward!(self, context, GetPromptRequest, rmcp::model::Request::new(params), ServerResult::GetPromptResult(r) => rmcp::model::GetPromptResponse::Complete(r))
    }

    async fn list_prompts(
        &self,
        params: Option<rmcp::model::PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ListPromptsResult, ErrorData> {
        forward!(self, context, ListPromptsRequest, optional(params), ServerResult::ListPromptsResult(r) => r)
    }

    async fn list_resources(
        &self,
        params: Option<rmcp::model::PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ListResourcesResult, ErrorData> {
        forward!(self, context, ListResourcesRequest, optional(params), ServerResult::ListResourcesResult(r) => r)
    }

    async fn list_resource_templates(
        &self,
        params: Option<rmcp::model::PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ListResourceTemplatesResult, ErrorData> {
        forward!(self, context, ListResourceTemplatesRequest, optional(params), ServerResult::ListResourceTemplatesResult(r) => r)
    }

    async fn read_resource(
        &self,
        params: rmcp::model::ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ReadResourceResponse, ErrorData> {
        forward!(self, context, ReadResourceRequest, rmcp::model::Request::new(params), ServerResult::ReadResourceResult(r) => rmcp::model::ReadResourceResponse::Complete(r))
    }

    async fn subscribe(
        &self,
        params: rmcp::model::SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        forward!(self, context, SubscribeRequest, rmcp::model::Request::new(params), ServerResult::EmptyResult(_) => ())
    }

    async fn unsubscribe(
        &self,
        params: rmcp::model::UnsubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        forward!(self, context, UnsubscribeRequest, rmcp::model::Request::new(params), ServerResult::EmptyResult(_) => ())
    }

    async fn call_tool(
        &self,
        params: rmcp::model::CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::CallToolResponse, ErrorData> {
        forward!(self, context, CallToolRequest, rmcp::model::Request::new(params), ServerResult::CallToolResult(r) => rmcp::model::CallToolResponse::Complete(r))
    }

    async fn list_tools(
        &self,
        params: Option<rmcp::model::PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ListToolsResult, ErrorData> {
        forward!(self, context, ListToolsRequest, optional(params), ServerResult::ListToolsResult(r) => r)
    }

    async fn on_cancelled(
        &self,
        params: rmcp::model::CancelledNotificationParam,
        _context: NotificationContext<RoleServer>,
    ) {
        self.notify(ClientNotification::CancelledNotification(
            rmcp::model::Notification::new(params),
        ))
        .await;
    }

    async fn on_progress(
        &self,
        params: rmcp::model::ProgressNotificationParam,
        _context: NotificationContext<RoleServer>,
    ) {
        self.notify(ClientNotification::ProgressNotification(
            rmcp::model::Notification::new(params),
        ))
        .await;
    }

    async fn on_initialized(&self, _context: NotificationContext<RoleServer>) {
        // The child had its own from the gateway's client end.
    }

    fn get_info(&self) -> rmcp::model::ServerConfig {
        // What the child said at initialize, once there is one.
        self.own
            .try_lock()
            .ok()
            .and_then(|o| o.as_ref().map(|c| c.info.clone()))
            .unwrap_or_default()
    }
}

/// The loopback listener serving one stdio route: its address and the key requests must carry.
pub struct Serving {
    /// Where it listens.
    pub addr: std::net::SocketAddr,
    /// The key (hex), sent by the gateway in [`KEY_HEADER`].
    pub key: String,
}

/// Starts serving `spec` on a loopback port until `stop` is cancelled.
pub async fn serve(
    spec: Arc<Spec>,
    metrics: Arc<crate::Metrics>,
    stop: CancellationToken,
) -> std::io::Result<Serving> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(std::io::Error::other)?;
    let key: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    vigil_core::redact::register(&key);
    let pool = Arc::new(Pool {
        spec: spec.clone(),
        live: Arc::new(AtomicUsize::new(0)),
        subjects: Default::default(),
        shared: Default::default(),
        all: Default::default(),
        crashes: Default::default(),
        metrics,
    });
    let host = addr.to_string();
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts([host.clone(), addr.ip().to_string()])
        .with_cancellation_token(stop.child_token());
    let mut manager = LocalSessionManager::default();
    manager.session_config.keep_alive = Some(spec.idle);
    let manager = Arc::new(manager);
    let p = pool.clone();
    let mcp = StreamableHttpService::new(
        move || {
            Ok(Proxy {
                pool: p.clone(),
                own: Default::default(),
                init: Default::default(),
            })
        },
        manager.clone(),
        config,
    );
    // Who opened each session (`X-Vigil-Subject`): only that subject may use or close it.
    let owners: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let reaper = pool.clone();
    let s = stop.clone();
    tokio::spawn(async move {
        let tick =
            (reaper.spec.idle / 4).clamp(Duration::from_millis(250), Duration::from_secs(30));
        loop {
            tokio::select! {
                _ = s.cancelled() => break,
                _ = tokio::time::sleep(tick) => reaper.reap(),
            }
        }
        // The route is gone (reload or shutdown): every process stops.
        for c in reaper
            .all
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter_map(Weak::upgrade)
        {
            c.stop.cancel();
        }
    });
    let k = key.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = tokio::select! {
                _ = stop.cancelled() => return,
                r = listener.accept() => match r {
                    Ok(s) => s,
                    Err(_) => continue,
                },
            };
            let _ = stream.set_nodelay(true);
            let (mcp, k) = (mcp.clone(), k.clone());
            let (manager, owners) = (manager.clone(), owners.clone());
            tokio::spawn(async move {
                let svc =
                    hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let mut mcp = mcp.clone();
                        let (manager, owners) = (manager.clone(), owners.clone());
                        let header = |n: &str| {
                            req.headers()
                                .get(n)
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_owned)
                        };
                        let subject = header("x-vigil-subject").unwrap_or_default();
                        let session = header("mcp-session-id");
                        let ok = req.headers().get(KEY_HEADER).is_some_and(|v| {
                            use subtle::ConstantTimeEq;
                            bool::from(v.as_bytes().ct_eq(k.as_bytes()))
                        });
                        async move {
                            if !ok {
                                use http_body_util::BodyExt;
                                let body = http_body_util::Full::new(bytes::Bytes::from_static(
                                    b"forbidden",
                                ))
                                .boxed();
                                let mut r = http::Response::new(body);
                                *r.status_mut() = http::StatusCode::FORBIDDEN;
                                return Ok::<_, std::convert::Infallible>(r);
                            }
                            if let Some(id) = &session {
                                let owner = owners
                                    .lock()
                                    .unwrap_or_else(|e| e.into_inner())
                                    .get(id)
                                    .cloned();
                                if owner.is_some_and(|o| o != subject) {
                                    // Another subject's session: as if it did not exist.
                                    use http_body_util::BodyExt;
                                    let body = http_body_util::Full::new(
                                        bytes::Bytes::from_static(b"no such session"),
                                    )
                                    .boxed();
                                    let mut r = http::Response::new(body);
                                    *r.status_mut() = http::StatusCode::NOT_FOUND;
                                    return Ok(r);
                                }
                            }
                            let r = tower_service::Service::call(&mut mcp, req).await?;
                            let opened = r
                                .headers()
                                .get("mcp-session-id")
                                .and_then(|v| v.to_str().ok())
                                .filter(|_| session.is_none());
                            if let Some(id) = opened {
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
                            Ok(r)
                        }
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    Ok(Serving { addr, key })
}

#[cfg(test)]
mod credential_tests {
    use super::*;

    /// bb-gw-s9 S4: `PATH`, `HOME` and other plain settings are not credentials (masking them
    /// blanked every path in the answers); secret names and random-looking values are.
    #[test]
    fn only_credentials_of_the_environment_are_masked() {
        assert!(!names_a_credential("PATH") && !looks_random("/usr/local/bin:/usr/bin:/bin"));
        assert!(!names_a_credential("HOME") && !looks_random("/var/lib/mcp"));
        assert!(!names_a_credential("GREETING") && !looks_random("hello world"));
        assert!(names_a_credential("GITHUB_TOKEN") && names_a_credential("db_password"));
        assert!(names_a_credential("SE_API_KEY"));
        assert!(looks_random("q8Zr3vN0aLx7Tt2Kd9"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    #[test]
    fn a_gateway_secret_is_found_in_a_value_in_any_alphabet_and_decoded() {
        // Tester 165: the key in the URL-safe alphabet, or hex of its bytes, went up.
        let bytes: Vec<u8> = (0u8..48)
            .map(|i| i.wrapping_mul(37).wrapping_add(251))
            .collect();
        let key = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let values = [(
            "MCP_JWT_SECRET".to_owned(),
            vigil_core::Secret::new(key.clone()),
        )];
        let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes);
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let text_hex: String = key.bytes().map(|b| format!("{b:02X}")).collect();
        let percent: String = key.bytes().map(|b| format!("%{b:02X}")).collect();
        let twice = percent.replace('%', "%25");
        for v in [
            key.clone(),
            url_safe,
            hex,
            text_hex,
            format!("k {key} x"),
            format!("http://h/{percent}"),
            twice,
        ] {
            assert!(held_secret(v.as_bytes(), &values).is_some(), "{v}");
        }
        assert!(held_secret(b"an ordinary value of the route", &values).is_none());
    }

    #[test]
    fn a_nul_in_an_argument_or_a_variable_is_refused_at_start() {
        let base = std::path::Path::new("/");
        let spec = |command: &[&str], env: &[(&str, &str)]| {
            let command: Vec<String> = command.iter().map(|s| (*s).to_owned()).collect();
            let env: BTreeMap<String, String> = env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            Spec::new(&command, Some(&env), None, None, base, &[], &[], "/mcp/x")
                .err()
                .map(|e| (e.key, e.problem.to_string()))
        };
        let (key, why) = spec(&["/bin/sh", "a\0b"], &[]).unwrap();
        assert_eq!(key, "command[1]");
        assert!(why.contains("NUL"), "{why}");
        let (key, _) = spec(&["/bin/sh"], &[("GREETING", "hi\0there")]).unwrap();
        assert_eq!(key, "env.GREETING");
        assert!(spec(&["/bin/sh"], &[("GREETING", "hi there")]).is_none());
    }

    #[test]
    fn a_line_for_the_log_loses_a_registered_value_cut_into_groups() {
        let key = ["9c96a0dcff07ec17", "03c9aa3fed554a48", "a5baef97983da9c0"];
        vigil_core::redact::register(&key.concat());
        let line = format!("CALL {} end", key.join(" "));
        let logged = shown(&line, 2000);
        assert!(
            !logged.contains(key[1]) && logged.ends_with(" end"),
            "{logged}"
        );
        assert_eq!(shown("an ordinary line", 2000), "an ordinary line");
    }
}
