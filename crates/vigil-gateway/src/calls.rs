//! The request stage that reads the MCP messages of a body, after its strict reading and before
//! the upstream: batches refused for the protocol versions that removed them (each element of an
//! allowed one checked like a message of its own), the mirrored `Mcp-*` headers of 2026-07-28
//! checked against the body ([`crate::mcp`]), each `tools/call` noted for the audit (tool and
//! SHA-256 of its arguments), its arguments and `Mcp-Param-*` headers scanned for secrets
//! (`[gateway.scan] arguments`: blocked, redacted, or logged), and tool calls refused (503) while
//! the audit cannot record them. Costs nothing for a body without tool calls or `Mcp-*` headers.

use crate::alerts::AlertKind;
use crate::body::Body;
use crate::config::{ArgumentsMode, Route};
use crate::gateway::Gateway;
use crate::mcp::{self, Mismatch};
use crate::metrics::Reason;
use crate::scan::Scanned;
use crate::service::Flow;
use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::{Response, StatusCode};
use std::net::IpAddr;

/// The 2026-07-28 headers that mirror the body's method and tool name.
const MCP_METHOD: HeaderName = HeaderName::from_static("mcp-method");
/// See [`MCP_METHOD`].
const MCP_NAME: HeaderName = HeaderName::from_static("mcp-name");
/// The protocol version a request says it speaks.
const MCP_PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");

/// One `tools/call` of a request, as the audit records it.
#[derive(Debug, Clone)]
pub(crate) struct Noted {
    /// The tool.
    pub tool: String,
    /// SHA-256 (hex) of its `arguments` as sent.
    pub arguments_sha256: String,
}

/// What the stage reads and notes of the exchange.
pub(crate) struct Context<'a, 'g> {
    pub(crate) gw: &'g std::sync::Arc<Gateway>,
    pub(crate) route: &'g Route,
    pub(crate) subject: Option<&'a str>,
    pub(crate) ip: IpAddr,
    pub(crate) now: u64,
    /// The method(s) the strict reading found.
    pub(crate) method: Option<&'a str>,
    /// The body's one `tools/call`, as the strict reading found it.
    pub(crate) call: Option<&'a crate::jsonrpc::Call>,
    pub(crate) calls: &'a mut Vec<Noted>,
    pub(crate) outcome: &'a mut Option<&'static str>,
    /// Hooks the answer passes.
    pub(crate) hooks: &'a mut Vec<std::sync::Arc<dyn crate::rewrite::Hook>>,
}

/// Notes every `tools/call` of `bytes` for the audit (tool, SHA-256 of its arguments), when
/// there is an audit and nothing was noted yet: a call the gateway refuses before [`stage`]
/// (scope, validation, catalog, pin, batch) is audited like one it forwards.
pub(crate) fn note(gw: &Gateway, bytes: &[u8], calls: &mut Vec<Noted>) {
    if gw.audit.is_none() || !calls.is_empty() {
        return;
    }
    if let Some(ms) = mcp::messages(bytes) {
        note_messages(&ms, calls);
    }
}

fn note_messages(ms: &mcp::Messages<'_>, calls: &mut Vec<Noted>) {
    for (m, _) in ms.items.iter().filter(|(m, _)| m.is_tool_call()) {
        let p = m.params();
        let args = p.arguments.map_or("null", |a| a.get());
        calls.push(Noted {
            tool: p.name.as_deref().unwrap_or("-").to_owned(),
            arguments_sha256: vigil_core::chain::sha256_hex(args.as_bytes()),
        });
    }
}

/// The stage: the body to forward (redacted when `[gateway.scan] arguments = "redact"` found a
/// secret), or the gateway's answer.
pub(crate) async fn stage(
    cx: &mut Context<'_, '_>,
    headers: &mut HeaderMap,
    bytes: Bytes,
) -> Flow<Bytes> {
    let gw = cx.gw;
    // A result may come in any answer: to the call, on a stream resumed with GET, or as an
    // event of another request's stream (the client takes it by its id).
    if let Some(h) = crate::scan::ResultHook::new(gw, cx.route.index, cx.subject, cx.ip) {
        cx.hooks.push(std::sync::Arc::new(h));
    }
    // `Mcp-Method` and `Mcp-Name` mirror the body from 2026-07-28 on, where they are checked;
    // from an older client they are checked against nothing, so an upstream that routes by
    // them whatever the version never gets them.
    // One walk over the headers for the version and the mirrors, not a lookup of each.
    let (mut version, mut mirrors) = (None, false);
    for (k, v) in headers.iter() {
        if k == MCP_PROTOCOL_VERSION {
            version = version.or(Some(v.clone()));
        } else if k == MCP_METHOD || k == MCP_NAME {
            mirrors = true;
        }
    }
    let version = version.as_ref().and_then(|v| v.to_str().ok());
    if mirrors && !mcp::mirrors_headers(version) {
        headers.remove(MCP_METHOD);
        headers.remove(MCP_NAME);
    }
    let Some(method) = cx.method else {
        return Flow::Next(bytes);
    };
    let batch = method.starts_with('[');
    if batch && !mcp::batches_allowed(version) {
        refused(gw, "batch");
        note(gw, &bytes, cx.calls);
        *cx.outcome = Some("refused_batch");
        return Flow::Reply(mcp::rpc_error(
            StatusCode::BAD_REQUEST,
            None,
            mcp::INVALID_REQUEST,
            "JSON-RPC batches are not accepted for this protocol version",
        ));
    }
    let mirrored = mcp::mirrors_headers(version);
    let has_params = mcp::param_values(headers).next().is_some();
    let has_call = method.contains("tools/call");
    let scanner = gw.scanner.as_deref().filter(|s| s.arguments());
    if !(mirrored || has_params || (has_call && (scanner.is_some() || gw.audit.is_some()))) {
        return Flow::Next(bytes);
    }
    // One tools/call without headers to check against it: what the strict reading found is
    // all this stage needs (the body is not read again). Otherwise its messages are read.
    let single = cx.call.filter(|_| !mirrored && !has_params);
    let read;
    // Each message: whether it is a tool call, and its bytes.
    let items: Vec<(bool, &[u8])>;
    let batch;
    match single {
        Some(call) => {
            if gw.audit.is_some() && cx.calls.is_empty() {
                let args = call.arguments.clone().and_then(|r| bytes.get(r));
                cx.calls.push(Noted {
                    tool: call.name.as_deref().unwrap_or("-").to_owned(),
                    arguments_sha256: vigil_core::chain::sha256_hex(args.unwrap_or(b"null")),
                });
            }
            items = vec![(true, &bytes[..])];
            batch = false;
            read = None;
        }
        None => {
            let Some(ms) = mcp::messages(&bytes) else {
                return Flow::Next(bytes);
            };
            note_messages(&ms, cx.calls);
            if !ms.batch {
                let (m, _) = &ms.items[0];
                let p = m.params();
                let checked = if mirrored {
                    mcp::check_mirrored(headers, m, &p)
                } else {
                    Ok(())
                };
                let checked = checked.and_then(|()| {
                    if has_params && m.is_tool_call() {
                        mcp::check_params(headers, &p)
                    } else {
                        Ok(())
                    }
                });
                if let Err(e) = checked {
                    return Flow::Reply(mismatch(cx, m.id, &e));
                }
            }
            items = ms
                .items
                .iter()
                .map(|(m, t)| (m.is_tool_call(), t.as_bytes()))
                .collect();
            batch = ms.batch;
            read = Some(ms);
        }
    }
    if !cx.calls.is_empty() && gw.audit.as_ref().is_some_and(|a| !a.ready()) {
        *cx.outcome = Some("audit_unavailable");
        return Flow::Reply(crate::body::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "audit_unavailable",
            "the audit log cannot record tool calls right now",
        ));
    }
    let Some(scanner) = scanner else {
        return Flow::Next(bytes);
    };
    let mode = scanner.policy.arguments;
    // Parameter headers travel with the call: a secret there is one in the arguments.
    let mut header_rules = Vec::new();
    if has_params {
        let mut redacted_headers = Vec::new();
        for (k, v) in headers
            .iter()
            .filter(|(k, _)| k.as_str().starts_with("mcp-param-"))
        {
            let rules = scanner.header(v.as_bytes());
            if !rules.is_empty() {
                redacted_headers.push(k.clone());
                header_rules.extend(rules);
            }
        }
        if !header_rules.is_empty() {
            found(cx, "header", &header_rules);
            if mode == ArgumentsMode::Redact {
                for k in redacted_headers {
                    if let Some(v) = headers.get(&k) {
                        let red = scanner.message(v.as_bytes()).redacted;
                        let new = red.and_then(|r| HeaderValue::from_bytes(&r).ok());
                        match new {
                            Some(n) => headers.insert(k, n),
                            None => headers.remove(k),
                        };
                    }
                }
            }
        }
    }
    let mut blocked = vec![false; items.len()];
    let mut redacted: Vec<Option<Vec<u8>>> = vec![None; items.len()];
    let mut any = !header_rules.is_empty();
    // The tool calls of the body are scanned as one unit: on the request's worker when they
    // are small together, else off the workers in one turn of the caller's share, within
    // `[gateway.scan] budget`: past it the body is refused, never sent unscanned (bb-gw-s8
    // N5). A batch of many small calls is one large scan (bb-gw-s9 S2).
    let calls: Vec<usize> = (0..items.len()).filter(|&i| items[i].0).collect();
    let size: usize = calls.iter().map(|&i| items[i].1.len()).sum();
    let scanned: Vec<Scanned> = if size <= crate::scan::INLINE_SCAN {
        calls.iter().map(|&i| scanner.message(items[i].1)).collect()
    } else {
        let texts: Vec<Vec<u8>> = calls.iter().map(|&i| items[i].1.to_vec()).collect();
        let shared = gw.scanner.clone().expect("scanning is on");
        let share = crate::scan::Share::of(cx.subject, cx.ip);
        let within = crate::scan::off_worker(scanner.policy.budget, share, move || {
            texts.iter().map(|t| shared.message(t)).collect()
        })
        .await;
        match within {
            Some(got) => got,
            None => {
                *cx.outcome = Some("refused_scan_budget");
                tracing::warn!(
                    route = %cx.route.label,
                    bytes = size,
                    budget_ms = scanner.policy.budget.as_millis() as u64,
                    "a tool call's arguments could not be scanned within [gateway.scan] budget; refused"
                );
                return Flow::Reply(crate::body::error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "scan_budget",
                    "the arguments of this tool call could not be scanned for secrets within the gateway's budget; the call was not sent",
                ));
            }
        }
    };
    for (i, got) in calls.into_iter().zip(scanned) {
        if got.found() {
            any = true;
            found(cx, "arguments", &got.rules);
            blocked[i] = true;
            redacted[i] = got.redacted;
        }
    }
    if !header_rules.is_empty() {
        // The headers belong to the one call of a non-batch body.
        blocked[0] = true;
    }
    if !any {
        return Flow::Next(bytes);
    }
    // Redacting, each message holding a secret is redacted as it reads with its escapes undone
    // (re-written by serde_json): a copy of a secret spelled with `\u` escapes is then the
    // same bytes as the secret, and redacted with it (tester 142). One that then holds none is
    // blocked.
    let mut unredactable = false;
    if mode == ArgumentsMode::Redact {
        for i in 0..items.len() {
            if redacted[i].is_some() {
                redacted[i] = serde_json::from_slice::<serde_json::Value>(items[i].1)
                    .ok()
                    .and_then(|v| serde_json::to_vec(&v).ok())
                    .and_then(|plain| scanner.message(&plain).redacted);
                unredactable |= redacted[i].is_none();
            }
        }
    }
    // A redaction that would change what the call is (its id, method or tool: a secret used
    // as one) or make it read two ways (secrets used as keys, each now `[REDACTED:…]`) is no
    // call the client sent: the call is blocked instead.
    let mode = if mode == ArgumentsMode::Redact
        && (unredactable
            || !(0..items.len()).all(|i| {
                redacted[i]
                    .as_deref()
                    .is_none_or(|r| keeps_frame(items[i].1, r))
            })) {
        ArgumentsMode::Block
    } else {
        mode
    };
    match mode {
        ArgumentsMode::Off | ArgumentsMode::Log => Flow::Next(bytes),
        ArgumentsMode::Redact => {
            *cx.outcome = Some("redacted_secret");
            if !batch {
                return Flow::Next(redacted[0].take().map_or(bytes, Bytes::from));
            }
            let mut out = Vec::with_capacity(bytes.len());
            out.push(b'[');
            for (i, (_, raw)) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                match &redacted[i] {
                    Some(r) => out.extend_from_slice(r),
                    None => out.extend_from_slice(raw),
                }
            }
            out.push(b']');
            Flow::Next(Bytes::from(out))
        }
        ArgumentsMode::Block => {
            *cx.outcome = Some("blocked_secret");
            let text = "Vigil gateway: the arguments of this tool call hold a secret; the call was not sent.";
            // The messages as read (a single call's id is read only now, to answer it).
            let ms = match read {
                Some(ms) => ms,
                None => match mcp::messages(&bytes) {
                    Some(ms) => ms,
                    None => return Flow::Reply(json(mcp::tool_error(None, text))),
                },
            };
            if !ms.batch {
                let (m, _) = &ms.items[0];
                if m.id.is_none() {
                    return Flow::Reply(crate::body::typed(
                        StatusCode::ACCEPTED,
                        "application/json",
                        Bytes::new(),
                    ));
                }
                return Flow::Reply(json(mcp::tool_error(m.id, text)));
            }
            let mut parts = Vec::new();
            for (i, (m, _)) in ms.items.iter().enumerate() {
                let Some(id) = m.id else { continue };
                if m.method.is_none() {
                    continue;
                }
                parts.push(if blocked[i] {
                    mcp::tool_error(Some(id), text)
                } else {
                    format!(
                        r#"{{"jsonrpc":"2.0","id":{},"error":{{"code":{},"message":"not sent: another call of this batch holds a secret"}}}}"#,
                        id.get(),
                        mcp::INVALID_REQUEST
                    )
                });
            }
            Flow::Reply(json(format!("[{}]", parts.join(","))))
        }
    }
}

fn json(text: String) -> Response<Body> {
    crate::body::typed(StatusCode::OK, "application/json", Bytes::from(text))
}

fn refused(gw: &Gateway, reason: &str) {
    gw.metrics
        .protocol_refusals
        .get_or_create(&Reason {
            reason: reason.into(),
        })
        .inc();
}

fn mismatch(
    cx: &mut Context<'_, '_>,
    id: Option<&serde_json::value::RawValue>,
    e: &Mismatch,
) -> Response<Body> {
    refused(cx.gw, "header_mismatch");
    *cx.outcome = Some("header_mismatch");
    mcp::rpc_error(
        StatusCode::BAD_REQUEST,
        id,
        mcp::HEADER_MISMATCH,
        &e.to_string(),
    )
}

/// Counts, alerts and logs (by rule id only) secrets found in `place` of a call.
fn found(cx: &Context<'_, '_>, place: &str, rules: &[String]) {
    let gw = cx.gw;
    gw.metrics.count_secrets(&cx.route.label, place, rules);
    gw.alerts.secret(
        AlertKind::SecretInArguments,
        &cx.route.label,
        rules,
        cx.subject,
        cx.ip,
        cx.now,
    );
    tracing::warn!(
        route = %cx.route.label,
        place,
        rules = %rules.join(","),
        mode = gw.scanner.as_ref().map_or("off", |s| s.policy.arguments.as_str()),
        "secret in a tool call"
    );
}

/// Whether `redacted` is still the message `original` was but for its arguments: read one way
/// (no key given twice), and equal outside `params.arguments` (the id, method, tool name,
/// `_meta.progressToken`…: a secret there is no value a redaction may change).
fn keeps_frame(original: &[u8], redacted: &[u8]) -> bool {
    if crate::jsonrpc::inspect(redacted, true).is_err() {
        return false;
    }
    let frame = |bytes: &[u8]| {
        let mut v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
        if let Some(p) = v
            .get_mut("params")
            .and_then(serde_json::Value::as_object_mut)
        {
            p.remove("arguments");
        }
        Some(v)
    };
    matches!((frame(original), frame(redacted)), (Some(a), Some(b)) if a == b)
}
