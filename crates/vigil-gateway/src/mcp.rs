//! What the gateway checks and notes of the MCP messages in a request body, after the one strict
//! reading of [`crate::jsonrpc`]: JSON-RPC batches (refused for the protocol versions that
//! removed them, 2025-06-18 on; read element by element for 2025-03-26 and older), the
//! `Mcp-Method`, `Mcp-Name` and `Mcp-Param-*` headers of the 2026-07-28 transport (each must say
//! what the body says, else 400 with JSON-RPC error -32020; a parameter header that names no
//! argument is forwarded as it is), and, for each `tools/call`, its tool, the SHA-256 of its
//! arguments (for the audit) and its secrets (for `[gateway.scan]`).

use crate::body::{self, Body};
use base64::Engine as _;
use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue};
use http::{Response, StatusCode};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// JSON-RPC error of a header that does not match the body (MCP 2026-07-28).
pub const HEADER_MISMATCH: i64 = -32020;

/// JSON-RPC "Invalid Request".
pub const INVALID_REQUEST: i64 = -32600;

/// The first protocol version without JSON-RPC batches.
const NO_BATCHES: &str = "2025-06-18";

/// The first protocol version whose clients mirror the body into `Mcp-*` headers.
const MIRRORED_HEADERS: &str = "2026-07-28";

/// Prefix of the headers that mirror tool arguments.
const PARAM_PREFIX: &str = "mcp-param-";

/// One JSON-RPC message as far as the checks need it.
#[derive(Debug, Deserialize)]
pub struct Message<'a> {
    /// Its id (absent or null: a notification, or a response to one).
    #[serde(borrow, default)]
    pub id: Option<&'a RawValue>,
    /// Its method.
    #[serde(borrow, default)]
    pub method: Option<Cow<'a, str>>,
    /// Its params, as written.
    #[serde(borrow, default)]
    params: Option<&'a RawValue>,
}

/// `params` of a message that has an object there.
#[derive(Debug, Default, Deserialize)]
pub struct Params<'a> {
    /// `name` (tools/call, prompts/get).
    #[serde(borrow, default)]
    pub name: Option<Cow<'a, str>>,
    /// `uri` (resources/read, resources/subscribe, resources/unsubscribe).
    #[serde(borrow, default)]
    pub uri: Option<Cow<'a, str>>,
    /// `arguments`, as written.
    #[serde(borrow, default)]
    pub arguments: Option<&'a RawValue>,
}

impl<'a> Message<'a> {
    /// Its params when they are an object (anything else reads as none).
    pub fn params(&self) -> Params<'a> {
        self.params
            .filter(|p| p.get().starts_with('{'))
            .and_then(|p| serde_json::from_str(p.get()).ok())
            .unwrap_or_default()
    }

    /// Whether it is a `tools/call`, or a method spelled like it but for case, whitespace or
    /// control characters (refused, and audited as the call an upstream could read it as).
    pub fn is_tool_call(&self) -> bool {
        self.method.as_deref().is_some_and(|m| {
            m == "tools/call" || crate::jsonrpc::near_known(m) == Some("tools/call")
        })
    }
}

/// A body's messages, each with its own bytes.
#[derive(Debug)]
pub struct Messages<'a> {
    /// The body is a batch.
    pub batch: bool,
    /// Each message and its bytes.
    pub items: Vec<(Message<'a>, &'a str)>,
}

/// Reads the messages of a body that [`crate::jsonrpc::inspect`] accepted (`None` for a body
/// that is not JSON-RPC: nothing to check).
pub fn messages(body: &[u8]) -> Option<Messages<'_>> {
    let text = std::str::from_utf8(body).ok()?;
    let first = text.trim_start().as_bytes().first()?;
    match first {
        b'{' => {
            let m: Message = serde_json::from_str(text).ok()?;
            Some(Messages {
                batch: false,
                items: vec![(m, text)],
            })
        }
        b'[' => {
            let raw: Vec<&RawValue> = serde_json::from_str(text).ok()?;
            let mut items = Vec::with_capacity(raw.len());
            for r in raw {
                items.push((serde_json::from_str(r.get()).ok()?, r.get()));
            }
            Some(Messages { batch: true, items })
        }
        _ => None,
    }
}

/// Whether a client of `version` may send a batch (`None`: no `MCP-Protocol-Version`, which the
/// transport reads as 2025-03-26).
pub fn batches_allowed(version: Option<&str>) -> bool {
    version.is_none_or(|v| v < NO_BATCHES)
}

/// Whether a client of `version` mirrors the body into `Mcp-Method`/`Mcp-Name`.
pub fn mirrors_headers(version: Option<&str>) -> bool {
    version.is_some_and(|v| v >= MIRRORED_HEADERS)
}

/// A header that does not say what the body says.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Mismatch {
    /// No `Mcp-Method` (or two).
    #[error("Mcp-Method is required once on every request of protocol 2026-07-28")]
    MissingMethod,
    /// `Mcp-Method` differs from `method`.
    #[error("the Mcp-Method header does not match the body's method")]
    Method,
    /// No `Mcp-Name` (or two) where the body names a tool, prompt or resource.
    #[error("Mcp-Name is required once when the body names a tool, prompt or resource")]
    MissingName,
    /// `Mcp-Name` differs from `params.name` or `params.uri`.
    #[error("the Mcp-Name header does not match the body's name")]
    Name,
    /// An `Mcp-Param-*` header differs from the argument it mirrors.
    #[error("the {0} header does not match the argument it mirrors")]
    Param(String),
}

/// A header value as the client meant it: the bytes, or those of a `=?base64?…?=` sentinel
/// (MCP's form for values that are not plain ASCII). `None` for a broken sentinel.
pub fn decode_header_value(v: &[u8]) -> Option<Cow<'_, [u8]>> {
    match v
        .strip_prefix(b"=?base64?")
        .and_then(|r| r.strip_suffix(b"?="))
    {
        Some(enc) => base64::engine::general_purpose::STANDARD
            .decode(enc)
            .ok()
            .map(Cow::Owned),
        None => Some(Cow::Borrowed(v)),
    }
}

fn one<'h>(h: &'h HeaderMap, name: &str) -> Result<Option<&'h HeaderValue>, ()> {
    let mut all = h.get_all(name).iter();
    let first = all.next();
    if all.next().is_some() {
        return Err(());
    }
    Ok(first)
}

/// The 2026-07-28 checks of one (non-batch) message: `Mcp-Method` is its method, `Mcp-Name` its
/// `params.name` (tools/call, prompts/get) or `params.uri` (resources/*), exactly.
pub fn check_mirrored(h: &HeaderMap, m: &Message, p: &Params) -> Result<(), Mismatch> {
    let method = one(h, "mcp-method").map_err(|()| Mismatch::MissingMethod)?;
    match (method, m.method.as_deref()) {
        (None, Some(_)) => return Err(Mismatch::MissingMethod),
        (Some(v), Some(b)) if v.as_bytes() == b.as_bytes() => {}
        (Some(_), _) => return Err(Mismatch::Method),
        (None, None) => {}
    }
    let named = match m.method.as_deref() {
        Some("tools/call" | "prompts/get") => p.name.as_deref(),
        Some("resources/read" | "resources/subscribe" | "resources/unsubscribe") => {
            p.uri.as_deref()
        }
        _ => None,
    };
    let name = one(h, "mcp-name").map_err(|()| Mismatch::MissingName)?;
    match (name, named) {
        (None, Some(_)) => Err(Mismatch::MissingName),
        (None, None) => Ok(()),
        (Some(v), Some(b)) => match decode_header_value(v.as_bytes()) {
            Some(d) if d.as_ref() == b.as_bytes() => Ok(()),
            _ => Err(Mismatch::Name),
        },
        (Some(_), None) => Err(Mismatch::Name),
    }
}

/// The `Mcp-Param-*` headers of a `tools/call` against its arguments: a header whose name
/// (after the prefix, any case) is an argument's must carry that argument's value (a string as
/// it is, a number or boolean as written in JSON; none for null); a header that names no
/// argument is left to the upstream.
pub fn check_params(h: &HeaderMap, p: &Params) -> Result<(), Mismatch> {
    let mut names = h
        .keys()
        .filter(|k| k.as_str().starts_with(PARAM_PREFIX))
        .peekable();
    if names.peek().is_none() {
        return Ok(());
    }
    let args: serde_json::Map<String, serde_json::Value> = p
        .arguments
        .and_then(|a| serde_json::from_str(a.get()).ok())
        .unwrap_or_default();
    for k in names {
        let wanted = &k.as_str()[PARAM_PREFIX.len()..];
        let mut matching = args.iter().filter(|(a, _)| a.eq_ignore_ascii_case(wanted));
        let Some((_, value)) = matching.next() else {
            continue;
        };
        let mismatch = || Mismatch::Param(format!("Mcp-Param-{wanted}"));
        if matching.next().is_some() || h.get_all(k).iter().nth(1).is_some() {
            // Two arguments that differ only in case, or the header twice: ambiguous.
            return Err(mismatch());
        }
        let expected: Cow<str> = match value {
            serde_json::Value::String(s) => Cow::Borrowed(s),
            serde_json::Value::Number(n) => Cow::Owned(n.to_string()),
            serde_json::Value::Bool(b) => Cow::Owned(b.to_string()),
            _ => return Err(mismatch()),
        };
        let sent = h.get(k).map(|v| decode_header_value(v.as_bytes()));
        match sent {
            Some(Some(d)) if d.as_ref() == expected.as_bytes() => {}
            _ => return Err(mismatch()),
        }
    }
    Ok(())
}

/// The values of the `Mcp-Param-*` headers.
pub fn param_values(h: &HeaderMap) -> impl Iterator<Item = &HeaderValue> {
    h.iter()
        .filter(|(k, _)| k.as_str().starts_with(PARAM_PREFIX))
        .map(|(_, v)| v)
}

/// A JSON-RPC error answer with this HTTP status.
pub fn rpc_error(
    status: StatusCode,
    id: Option<&RawValue>,
    code: i64,
    message: &str,
) -> Response<Body> {
    let id = id.map_or("null", RawValue::get);
    let message = serde_json::to_string(message).unwrap_or_default();
    let text =
        format!(r#"{{"jsonrpc":"2.0","id":{id},"error":{{"code":{code},"message":{message}}}}}"#);
    body::typed(status, "application/json", Bytes::from(text))
}

/// The JSON-RPC response that refuses one `tools/call` as a tool error the model reads
/// (`isError: true`), with `text`.
pub fn tool_error(id: Option<&RawValue>, text: &str) -> String {
    let id = id.map_or("null", RawValue::get);
    let text = serde_json::to_string(text).unwrap_or_default();
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"result":{{"content":[{{"type":"text","text":{text}}}],"isError":true}}}}"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    HeaderValue::from_str(v).unwrap(),
                )
            })
            .collect()
    }

    fn check(h: &[(&str, &str)], body: &str) -> Result<(), Mismatch> {
        let ms = messages(body.as_bytes()).unwrap();
        let (m, _) = &ms.items[0];
        let p = m.params();
        check_mirrored(&headers(h), m, &p)?;
        check_params(&headers(h), &p)
    }

    #[test]
    fn mirrored_headers_must_say_what_the_body_says() {
        let call = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"deploy","arguments":{"region":"eu-west-1","n":3,"dry":true}}}"#;
        let ok = [("mcp-method", "tools/call"), ("mcp-name", "deploy")];
        assert_eq!(check(&ok, call), Ok(()));
        assert_eq!(
            check(
                &[("mcp-method", "tools/list"), ("mcp-name", "deploy")],
                call
            ),
            Err(Mismatch::Method)
        );
        assert_eq!(
            check(
                &[("mcp-method", "tools/call"), ("mcp-name", "delete")],
                call
            ),
            Err(Mismatch::Name)
        );
        assert_eq!(
            check(&[("mcp-name", "deploy")], call),
            Err(Mismatch::MissingMethod)
        );
        assert_eq!(
            check(&[("mcp-method", "tools/call")], call),
            Err(Mismatch::MissingName)
        );
        assert_eq!(
            check(
                &[
                    ("mcp-method", "tools/call"),
                    ("mcp-method", "tools/call"),
                    ("mcp-name", "deploy")
                ],
                call
            ),
            Err(Mismatch::MissingMethod)
        );
        // Base64 sentinel for a name that is not plain ASCII.
        let named = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"résumé"}}"#;
        let enc = format!(
            "=?base64?{}?=",
            base64::engine::general_purpose::STANDARD.encode("résumé")
        );
        assert_eq!(
            check(&[("mcp-method", "tools/call"), ("mcp-name", &enc)], named),
            Ok(())
        );
        let read =
            r#"{"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"file:///a"}}"#;
        assert_eq!(
            check(
                &[("mcp-method", "resources/read"), ("mcp-name", "file:///a")],
                read
            ),
            Ok(())
        );
        assert_eq!(
            check(
                &[("mcp-method", "resources/read"), ("mcp-name", "file:///b")],
                read
            ),
            Err(Mismatch::Name)
        );
        let list = r#"{"jsonrpc":"2.0","id":3,"method":"tools/list"}"#;
        assert_eq!(check(&[("mcp-method", "tools/list")], list), Ok(()));
        assert_eq!(
            check(&[("mcp-method", "tools/list"), ("mcp-name", "x")], list),
            Err(Mismatch::Name)
        );
    }

    #[test]
    fn parameter_headers_match_their_argument_and_unknown_ones_pass() {
        let call = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"deploy","arguments":{"region":"eu-west-1","n":3,"dry":true,"none":null}}}"#;
        let base = [("mcp-method", "tools/call"), ("mcp-name", "deploy")];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut v = base.to_vec();
            v.extend_from_slice(extra);
            check(&v, call)
        };
        assert_eq!(
            with(&[
                ("mcp-param-region", "eu-west-1"),
                ("mcp-param-n", "3"),
                ("mcp-param-dry", "true")
            ]),
            Ok(())
        );
        assert_eq!(
            with(&[("mcp-param-region", "us-east-1")]),
            Err(Mismatch::Param("Mcp-Param-region".into()))
        );
        assert_eq!(
            with(&[("mcp-param-none", "x")]),
            Err(Mismatch::Param("Mcp-Param-none".into()))
        );
        assert_eq!(with(&[("mcp-param-trace", "abc")]), Ok(()));
    }

    #[test]
    fn batches_by_version() {
        assert!(batches_allowed(None));
        assert!(batches_allowed(Some("2025-03-26")));
        assert!(batches_allowed(Some("2024-11-05")));
        assert!(!batches_allowed(Some("2025-06-18")));
        assert!(!batches_allowed(Some("2026-07-28")));
        assert!(mirrors_headers(Some("2026-07-28")));
        assert!(!mirrors_headers(Some("2025-11-25")));
        let b = messages(br#"[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{"x":1}}},{"jsonrpc":"2.0","method":"notifications/initialized"}]"#).unwrap();
        assert!(b.batch);
        assert_eq!(b.items.len(), 2);
        assert!(b.items[0].0.is_tool_call());
        assert_eq!(b.items[0].0.params().arguments.unwrap().get(), r#"{"x":1}"#);
        assert!(b.items[1].0.id.is_none());
    }
}
