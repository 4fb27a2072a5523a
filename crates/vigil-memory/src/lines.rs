//! The stdio transport: newline-delimited JSON-RPC read and checked line by line, and each
//! accepted message handed to the SDK (`rmcp`) as its typed value, with no pipe and no second
//! parse in between. A line that is not JSON gets a parse error (-32700), one that is not a
//! JSON-RPC message of a client an invalid-request error (-32600), a line over [`MAX_LINE`]
//! bytes an invalid-request error (its bytes are skipped, never buffered), so a client never
//! waits for an answer that will not come. When the input closes, every request already read
//! is answered before the SDK is told.

use rmcp::model::{ClientJsonRpcMessage, JsonRpcMessage, RequestId, ServerJsonRpcMessage};
use rmcp::service::RoleServer;
use rmcp::transport::Transport;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};

/// The longest line read (the SDK's own stdio limit): a longer one is answered with
/// -32600 and skipped.
pub const MAX_LINE: usize = 16 << 20;

/// How long a closed input waits for the answers to requests already read.
const DRAIN: Duration = Duration::from_secs(120);

/// What the filter reads of a line that is not a client message: its id, so the error answer
/// names it. Every other member is skipped unread; only a JSON object deserialises.
#[derive(serde::Deserialize)]
struct Head {
    #[serde(default)]
    id: Option<Value>,
}

/// The JSON-RPC error line for a line that is not a JSON-RPC message.
fn rpc_error(id: Value, code: i64, message: &str) -> Vec<u8> {
    let mut v = serde_json::to_vec(&json!({
        "jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}
    }))
    .expect("json serialises");
    v.push(b'\n');
    v
}

/// The answer to a line that the SDK's message type does not accept.
fn refusal(text: &[u8]) -> Vec<u8> {
    match serde_json::from_slice::<Head>(text) {
        Ok(h) => rpc_error(h.id.unwrap_or(Value::Null), -32600, "Invalid Request"),
        Err(_) => match serde_json::from_slice::<serde::de::IgnoredAny>(text) {
            Err(_) => rpc_error(Value::Null, -32700, "Parse error"),
            Ok(_) => rpc_error(Value::Null, -32600, "Invalid Request"),
        },
    }
}

/// Methods of the MCP specification: one the SDK could only take as a custom request had
/// parameters that do not fit it (`"arguments": "str"` in `tools/call`).
const STANDARD_METHODS: &[&str] = &[
    "initialize",
    "ping",
    "tools/call",
    "tools/list",
    "resources/list",
    "resources/read",
    "resources/templates/list",
    "resources/subscribe",
    "resources/unsubscribe",
    "prompts/list",
    "prompts/get",
    "completion/complete",
    "logging/setLevel",
];

/// The -32602 answer to a request of a standard method whose parameters do not fit it (the
/// SDK would answer "method not found").
fn bad_params(m: &ClientJsonRpcMessage) -> Option<Vec<u8>> {
    let JsonRpcMessage::Request(r) = m else {
        return None;
    };
    let rmcp::model::ClientRequest::CustomRequest(c) = &r.request else {
        return None;
    };
    STANDARD_METHODS.contains(&c.method.as_str()).then(|| {
        rpc_error(
            serde_json::to_value(&r.id).unwrap_or(Value::Null),
            -32602,
            &format!("Invalid params: not the parameters of {}", c.method),
        )
    })
}

/// The output side: bytes are queued whole under the lock, then written; a write cut short
/// (a cancelled future) leaves the rest queued for the next flush, so lines never interleave.
struct Out<W> {
    w: W,
    buf: Vec<u8>,
}

impl<W: AsyncWrite + Unpin> Out<W> {
    async fn flush(&mut self) -> std::io::Result<()> {
        while !self.buf.is_empty() {
            let n = self.w.write(&self.buf).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            self.buf.drain(..n);
        }
        self.w.flush().await
    }
}

/// What the reading and the answering sides share.
struct Shared<W> {
    out: tokio::sync::Mutex<Out<W>>,
    /// Requests read and not yet answered.
    pending: std::sync::Mutex<HashSet<RequestId>>,
    answered: tokio::sync::Notify,
    /// The output failed: nobody is left to answer.
    broken: AtomicBool,
}

impl<W: AsyncWrite + Unpin> Shared<W> {
    fn pending(&self) -> std::sync::MutexGuard<'_, HashSet<RequestId>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn flush_out(&self) -> std::io::Result<()> {
        let r = self.out.lock().await.flush().await;
        if r.is_err() {
            self.broken.store(true, Ordering::Relaxed);
            self.answered.notify_waiters();
        }
        r
    }
}

/// How a bounded line read ended.
enum Line {
    /// A whole line (or the last bytes before the end of input) is in the buffer.
    Whole,
    /// The line was longer than [`MAX_LINE`]; its bytes are dropped.
    TooLong,
    /// End of input (or a read error).
    End,
}

/// The checked newline-delimited JSON-RPC transport for `rmcp`'s server (see the module doc).
pub struct CheckedLines<R, W> {
    input: BufReader<R>,
    line: Vec<u8>,
    /// Dropping the rest of a line over the limit.
    skipping: bool,
    /// An error answer not yet queued for output, or queued and its write cut short (a
    /// cancelled `receive`): finished by the next `receive`.
    reply: Vec<u8>,
    unflushed: bool,
    /// The input ended: the deadline for answering what was read.
    draining: Option<tokio::time::Instant>,
    shared: Arc<Shared<W>>,
}

impl<R: AsyncRead + Unpin, W: AsyncWrite + Unpin> CheckedLines<R, W> {
    /// The transport over `input` and `output`.
    pub fn new(input: R, output: W) -> Self {
        CheckedLines {
            input: BufReader::with_capacity(64 << 10, input),
            line: Vec::new(),
            skipping: false,
            reply: Vec::new(),
            unflushed: false,
            draining: None,
            shared: Arc::new(Shared {
                out: tokio::sync::Mutex::new(Out {
                    w: output,
                    buf: Vec::with_capacity(16 << 10),
                }),
                pending: std::sync::Mutex::default(),
                answered: tokio::sync::Notify::new(),
                broken: AtomicBool::new(false),
            }),
        }
    }

    /// Reads one line into `self.line` without letting it grow past [`MAX_LINE`]. Cancel-safe:
    /// a partial line stays in `self.line` for the next call.
    async fn read_line(&mut self) -> Line {
        loop {
            let (used, done) = {
                let got = match self.input.fill_buf().await {
                    Ok(b) => b,
                    Err(_) => return self.end(),
                };
                if got.is_empty() {
                    return self.end();
                }
                let nl = got.iter().position(|c| *c == b'\n');
                let take = nl.map_or(got.len(), |i| i + 1);
                if self.skipping {
                    if nl.is_some() {
                        self.skipping = false;
                    }
                    (take, None)
                } else if self.line.len() + take > MAX_LINE {
                    self.line.clear();
                    self.skipping = nl.is_none();
                    (take, Some(Line::TooLong))
                } else {
                    self.line.extend_from_slice(&got[..take]);
                    (take, nl.map(|_| Line::Whole))
                }
            };
            self.input.consume(used);
            if let Some(l) = done {
                return l;
            }
        }
    }

    /// The end of input: the last bytes without a newline are still a line.
    fn end(&mut self) -> Line {
        if self.line.is_empty() || self.skipping {
            Line::End
        } else {
            Line::Whole
        }
    }

    /// Queues an error answer and writes it (see [`CheckedLines::finish_reply`]).
    async fn answer(&mut self, bytes: Vec<u8>) {
        self.reply = bytes;
        self.finish_reply().await;
    }

    /// Queues `self.reply` whole and writes what is queued. Cancel-safe: what is not yet
    /// queued stays in `self.reply`, what is queued stays in the output buffer.
    async fn finish_reply(&mut self) {
        if !self.reply.is_empty() {
            self.shared.out.lock().await.buf.append(&mut self.reply);
            self.unflushed = true;
        }
        if self.unflushed {
            let _ = self.shared.flush_out().await;
            self.unflushed = false;
        }
    }
}

/// After the input closed: waits until every request read is answered (or the output failed,
/// or the deadline passed).
async fn drained<W: AsyncWrite + Unpin>(shared: Arc<Shared<W>>, deadline: tokio::time::Instant) {
    loop {
        let wait = shared.answered.notified();
        if shared.pending().is_empty() || shared.broken.load(Ordering::Relaxed) {
            return;
        }
        if tokio::time::timeout_at(deadline, wait).await.is_err() {
            return;
        }
    }
}

impl<R, W> Transport<RoleServer> for CheckedLines<R, W>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    type Error = std::io::Error;

    fn send(
        &mut self,
        item: ServerJsonRpcMessage,
    ) -> impl std::future::Future<Output = Result<(), Self::Error>> + Send + 'static {
        let shared = self.shared.clone();
        async move {
            let id = match &item {
                JsonRpcMessage::Response(r) => Some(r.id.clone()),
                JsonRpcMessage::Error(e) => e.id.clone(),
                _ => None,
            };
            let r = {
                let mut out = shared.out.lock().await;
                let start = out.buf.len();
                match serde_json::to_writer(&mut out.buf, &item) {
                    Ok(()) => {
                        out.buf.push(b'\n');
                        out.flush().await
                    }
                    Err(e) => {
                        out.buf.truncate(start);
                        Err(std::io::Error::other(e))
                    }
                }
            };
            if r.is_err() {
                shared.broken.store(true, Ordering::Relaxed);
            }
            if let Some(id) = id {
                shared.pending().remove(&id);
            }
            shared.answered.notify_waiters();
            r
        }
    }

    async fn receive(&mut self) -> Option<ClientJsonRpcMessage> {
        self.finish_reply().await;
        loop {
            if let Some(deadline) = self.draining {
                drained(self.shared.clone(), deadline).await;
                return None;
            }
            match self.read_line().await {
                Line::End => {
                    self.draining = Some(tokio::time::Instant::now() + DRAIN);
                    continue;
                }
                Line::TooLong => {
                    let e = rpc_error(
                        Value::Null,
                        -32600,
                        &format!("Invalid Request: a line longer than {MAX_LINE} bytes"),
                    );
                    self.answer(e).await;
                    continue;
                }
                Line::Whole => {}
            }
            let text = self.line.trim_ascii();
            if text.is_empty() {
                self.line.clear();
                continue;
            }
            match serde_json::from_slice::<ClientJsonRpcMessage>(text) {
                Ok(m) => {
                    self.line.clear();
                    if let Some(e) = bad_params(&m) {
                        self.answer(e).await;
                        continue;
                    }
                    if let JsonRpcMessage::Request(r) = &m {
                        self.shared.pending().insert(r.id.clone());
                    }
                    return Some(m);
                }
                Err(_) => {
                    let e = refusal(text);
                    self.line.clear();
                    self.answer(e).await;
                }
            }
        }
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        self.shared.flush_out().await
    }
}
