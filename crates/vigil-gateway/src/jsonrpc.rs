//! The one reading of a request body the gateway makes: strict, whole, and whatever the body's
//! size or declared media type, so what the access log (and, later, per-tool authorization) says
//! a message is equals what a strict upstream executes. A body that looks like JSON (after an
//! optional UTF-8 BOM) or is declared JSON must be valid JSON; in a JSON-RPC message a key
//! repeated at the envelope level (`method`, `params`, `id`, …) or inside `params` (`name`, …)
//! makes it ambiguous (parsers keep the first or the last), so it is refused, as are UTF-16/32
//! bodies (read as JSON by some upstreams, as bytes by the gateway). Only the method and the
//! tool's name are kept: never arguments, never results (the design's privacy rule).

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// What a body says, as far as the log (and authorization) may know.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Described {
    /// The JSON-RPC method (for a batch, the methods joined by `,`).
    pub method: Option<String>,
    /// The tool of `tools/call` (for a batch, the tools joined by `,`).
    pub tool: Option<String>,
    /// Bytes of a UTF-8 byte-order mark to drop before forwarding, so every upstream reads the
    /// same message (Python's `json.loads` skips a BOM, JavaScript's `JSON.parse` fails on it).
    pub bom: usize,
    /// The body's `tools/call` when it is one message (not a batch), as the upstream reads it:
    /// what the tool checks, the audit and the argument scan need, without reading it again.
    pub call: Option<Call>,
}

/// The one `tools/call` of a body, as read by [`inspect`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Call {
    /// `params.name` as written (unescaped, not clipped); `None` when there is none.
    pub name: Option<String>,
    /// Where `params.arguments` is written, in the body after its byte-order mark; `None` when
    /// the call has none.
    pub arguments: Option<std::ops::Range<usize>>,
}

/// Why a body is refused (400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Ambiguous {
    /// Declared or shaped like JSON, but not valid JSON (or nested over 128 levels).
    #[error("the body is not valid JSON")]
    Invalid,
    /// A key given twice at the JSON-RPC level.
    #[error("the key `{0}` appears twice in a JSON-RPC message")]
    Duplicate(String),
    /// JSON in UTF-16 or UTF-32.
    #[error("JSON bodies must be UTF-8")]
    NotUtf8,
    /// `method` or `params.name` that is not a string.
    #[error("`{0}` must be a string")]
    NotString(&'static str),
    /// Valid JSON, but neither a JSON-RPC message (an object) nor a batch (an array).
    #[error("the body is not a JSON-RPC message or batch")]
    NotMessage,
    /// A method that is not an MCP method but differs from one only by case, surrounding
    /// whitespace or control characters (`TOOLS/CALL`, `tools/call `): an upstream that folds or
    /// trims it would run what the gateway's checks never saw.
    #[error("the method is not `{0}` but differs from it only by case, width, whitespace, invisible or combining characters, or slashes")]
    Method(&'static str),
    /// A batch inside a batch (JSON-RPC batches hold messages only).
    #[error("a JSON-RPC batch holds messages, not another batch")]
    NestedBatch,
    /// `[]`: JSON-RPC 2.0 calls an empty batch an invalid request; an upstream answers it with
    /// an error, with nothing, or reads it as a batch it never finishes.
    #[error("an empty JSON-RPC batch is not a request")]
    EmptyBatch,
    /// A string escape that decoders read differently (a lone UTF-16 surrogate, `\ud800`):
    /// one replaces it, one keeps it, one refuses, and the gateway's scan reads it as none of
    /// them (a token split by one passes).
    #[error("`{0}` holds a lone UTF-16 surrogate escape, which decoders read differently")]
    Surrogate(&'static str),
    /// A value nested deeper than the gateway's JSON reader goes (128 levels).
    #[error("`{0}` is nested deeper than 128 levels")]
    TooDeep(&'static str),
    /// An `id` that is a number no 64-bit float holds (`1e400`, 400 digits, `1e-400`) or a
    /// fraction that reads as zero (`0.0`): parsers read it as infinity, as a big integer, as
    /// `0`, `0.0` or not at all, so the answer's id may not be the request's.
    #[error("`id` is a number no 64-bit float holds (or a fraction reading as zero), which parsers read differently")]
    IdOutOfRange,
    /// A key that is another key of the same object (or a JSON-RPC key) once case is folded
    /// (`Name` beside `name`, `METHOD`, `paramſ`): parsers that compare keys without case (Go's
    /// `encoding/json`) read the one the gateway did not check.
    #[error("the key `{0}` is another key once case is folded, as some JSON parsers read keys")]
    CaseTwin(String),
}

/// Reads `body` once. `declared_json`: its `Content-Type` says JSON. A body that neither looks
/// like JSON nor is declared JSON is opaque (nothing described).
pub fn inspect(body: &[u8], declared_json: bool) -> Result<Described, Ambiguous> {
    let bom = if body.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let rest = &body[bom..];
    let opaque = Described {
        bom,
        ..Described::default()
    };
    if rest.is_empty() {
        return Ok(opaque);
    }
    if bom == 0 && wide(rest) {
        // UTF-16/32, as Python's json.detect_encoding would read it: JSON-shaped ones are refused.
        let first = rest
            .iter()
            .find(|b| !matches!(b, 0 | 0xFE | 0xFF | b' ' | b'\t' | b'\n' | b'\r'));
        return if declared_json || matches!(first, Some(b'{' | b'[')) {
            Err(Ambiguous::NotUtf8)
        } else {
            Ok(opaque)
        };
    }
    let first = rest
        .iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
    if !declared_json && !matches!(first, Some(b'{' | b'[')) {
        return Ok(opaque);
    }
    let message = matches!(first, Some(b'{' | b'['));
    let mut found = Found::default();
    // Text that is not UTF-8 is not JSON; checked once for the whole body (the reader then
    // takes every string as it is, not checking each again).
    let Ok(text) = std::str::from_utf8(rest) else {
        return Err(Ambiguous::Invalid);
    };
    found.base = text.as_ptr() as usize;
    found.len = text.len();
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = Top(&mut found).deserialize(&mut de).and_then(|()| de.end());
    if parsed.is_err() {
        return Err(found.refusal.unwrap_or(Ambiguous::Invalid));
    }
    if !message {
        return Err(Ambiguous::NotMessage);
    }
    // A batch shows as `[a,b]`, never as one name (`,`, `[` and `]` in a name are escaped).
    let batch = found.batch;
    let join = |mut v: Vec<String>| match v.len() {
        0 => None,
        _ if batch => Some(format!("[{}]", v.join(","))),
        _ => v.pop().filter(|_| v.is_empty()),
    };
    Ok(Described {
        method: join(found.methods),
        tool: join(found.tools),
        bom,
        call: found.call.filter(|_| !batch),
    })
}

/// Whether `b` is UTF-16 or UTF-32 by Python's `json.detect_encoding` rule: a UTF-16/32 BOM,
/// or a NUL among the first two bytes.
fn wide(b: &[u8]) -> bool {
    b.starts_with(&[0xFF, 0xFE])
        || b.starts_with(&[0xFE, 0xFF])
        || b.starts_with(&[0, 0, 0xFE, 0xFF])
        || (b.len() >= 2 && (b[0] == 0 || b[1] == 0))
}

/// What the parse has found so far.
#[derive(Default)]
struct Found {
    /// The body is a batch.
    batch: bool,
    methods: Vec<String>,
    tools: Vec<String>,
    /// The last `tools/call` read (kept for a body of one message).
    call: Option<Call>,
    /// Address of the text read: where a value borrowed from it starts is its offset.
    base: usize,
    /// Length of the text read.
    len: usize,
    /// Why the parse stopped, when the reason is not a syntax error.
    refusal: Option<Ambiguous>,
}

/// Keys of a JSON-RPC message and of its `params` that matter, and the rest.
enum Key<'de> {
    Jsonrpc,
    Id,
    Method,
    Params,
    Result,
    Error,
    Name,
    Arguments,
    Meta,
    Other(Cow<'de, str>),
}

impl Key<'_> {
    fn bit(&self) -> Option<u16> {
        Some(match self {
            Key::Jsonrpc => 1,
            Key::Id => 2,
            Key::Method => 4,
            Key::Params => 8,
            Key::Result => 16,
            Key::Error => 32,
            Key::Name => 64,
            Key::Arguments => 128,
            Key::Meta => 256,
            Key::Other(_) => return None,
        })
    }

    fn name(&self) -> &str {
        match self {
            Key::Jsonrpc => "jsonrpc",
            Key::Id => "id",
            Key::Method => "method",
            Key::Params => "params",
            Key::Result => "result",
            Key::Error => "error",
            Key::Name => "name",
            Key::Arguments => "arguments",
            Key::Meta => "_meta",
            Key::Other(s) => s,
        }
    }
}

/// Reads a key without copying it (unless it holds escapes and is not one of ours).
struct KeySeed;

impl<'de> Visitor<'de> for KeySeed {
    type Value = Key<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
        Ok(known(v).unwrap_or(Key::Other(Cow::Borrowed(v))))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Key<'de>, E> {
        Ok(known(v).unwrap_or_else(|| Key::Other(Cow::Owned(v.to_owned()))))
    }
}

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key<'de>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Key<'de>, D::Error> {
        d.deserialize_str(self)
    }
}

fn known(v: &str) -> Option<Key<'static>> {
    Some(match v {
        "jsonrpc" => Key::Jsonrpc,
        "id" => Key::Id,
        "method" => Key::Method,
        "params" => Key::Params,
        "result" => Key::Result,
        "error" => Key::Error,
        "name" => Key::Name,
        "arguments" => Key::Arguments,
        "_meta" => Key::Meta,
        _ => return None,
    })
}

/// Keys seen in one object: the usual ones as bits, others (case folded) in a list.
#[derive(Default)]
struct Seen {
    bits: u16,
    others: Vec<String>,
}

impl Seen {
    /// Notes `k`; false when it (or a key equal to it once case is folded) was already there.
    fn first(&mut self, k: &Key) -> bool {
        match k.bit() {
            Some(bit) => {
                let new = self.bits & bit == 0;
                self.bits |= bit;
                new
            }
            None => {
                let name = case_folded(k.name());
                if self.others.iter().any(|o| *o == *name) {
                    return false;
                }
                self.others.push(name.into_owned());
                true
            }
        }
    }
}

/// A key as parsers that compare keys without case read it (Go's `encoding/json` folds by
/// Unicode simple case folding: `K` (Kelvin) is `k`, `ſ` is `s`): upper case taken, then lower
/// case (`ı` and `I` are `i`, `ß` is `ss`). ASCII without capitals is its own fold.
fn case_folded(k: &str) -> Cow<'_, str> {
    if k.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
        return Cow::Borrowed(k);
    }
    Cow::Owned(
        k.chars()
            .flat_map(char::to_uppercase)
            .flat_map(char::to_lowercase)
            .collect(),
    )
}

/// The refusal of a key that is not one of the JSON-RPC or MCP keys ([`known`]) but reads as
/// one once case is folded (`METHOD`, `Name`, `paramſ`).
fn case_twin<E: serde::de::Error>(found: &mut Found, at: &str, key: &Key) -> Option<E> {
    let Key::Other(name) = key else {
        return None;
    };
    known(&case_folded(name))?;
    found.refusal = Some(Ambiguous::CaseTwin(format!("{at}{}", clip(name))));
    Some(E::custom("a key read as another"))
}

fn duplicate<E: serde::de::Error>(found: &mut Found, at: &str, key: &Key) -> E {
    found.refusal = Some(Ambiguous::Duplicate(format!("{at}{}", clip(key.name()))));
    E::custom("duplicate key")
}

/// A string value, turned into what is kept of it as it is read.
struct Str<F>(F);

impl<'de, T, F: FnOnce(&str) -> T> Visitor<'de> for Str<F> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
        Ok((self.0)(v))
    }
}

impl<'de, T, F: FnOnce(&str) -> T> DeserializeSeed<'de> for Str<F> {
    type Value = T;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        d.deserialize_str(self)
    }
}

/// The whole body: one message, a batch, or JSON that is not JSON-RPC.
struct Top<'f>(&'f mut Found);

/// The scalar visits of a visitor that only looks inside maps and arrays: a scalar is
/// accepted as it is.
macro_rules! accept_scalars {
    () => {
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
            Ok(())
        }
    };
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        message(self.0, map)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.0.batch = true;
        let mut any = false;
        while seq.next_element_seed(Message(&mut *self.0))?.is_some() {
            any = true;
        }
        if !any {
            self.0.refusal = Some(Ambiguous::EmptyBatch);
            return Err(serde::de::Error::custom("empty batch"));
        }
        Ok(())
    }
    accept_scalars!();
}

impl<'de> DeserializeSeed<'de> for Top<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// One message of a batch (an object; anything else makes the batch invalid).
struct Message<'f>(&'f mut Found);

impl<'de> Visitor<'de> for Message<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON-RPC message")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        message(self.0, map)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        self.0.refusal = Some(Ambiguous::NestedBatch);
        Err(serde::de::Error::custom("nested batch"))
    }
}

impl<'de> DeserializeSeed<'de> for Message<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// One JSON-RPC message: every key read once, the method and tool kept.
fn message<'de, A: MapAccess<'de>>(found: &mut Found, mut map: A) -> Result<(), A::Error> {
    let mut seen = Seen::default();
    let mut method = None;
    let mut tool = None;
    let mut arguments = None;
    while let Some(key) = map.next_key_seed(KeySeed)? {
        if let Some(e) = case_twin(found, "", &key) {
            return Err(e);
        }
        if !seen.first(&key) {
            return Err(duplicate(found, "", &key));
        }
        match key {
            Key::Method => {
                found.refusal = Some(Ambiguous::NotString("method"));
                let (m, near) = map.next_value_seed(Str(|v: &str| (clip(v), near_known(v))))?;
                found.refusal = None;
                if let Some(known) = near {
                    found.refusal = Some(Ambiguous::Method(known));
                    return Err(serde::de::Error::custom("method spelled near a known one"));
                }
                method = Some(m);
            }
            Key::Id => {
                if let Err(e) = map.next_value_seed(IdWalk) {
                    if e.to_string().starts_with("number out of range")
                        || e.to_string().starts_with(ZERO_FRACTION)
                    {
                        found.refusal = Some(Ambiguous::IdOutOfRange);
                    }
                    return Err(e);
                }
            }
            Key::Params => map.next_value_seed(Params {
                found: &mut *found,
                tool: &mut tool,
                arguments: &mut arguments,
            })?,
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
    }
    if let Some(m) = method {
        if m == "tools/call" {
            found.tools.extend(tool.as_deref().map(clip));
            found.call = Some(Call {
                name: tool,
                arguments,
            });
        }
        found.methods.push(m);
    }
    Ok(())
}

/// `params`: an object (its keys read once, `name` kept), an array, or null.
struct Params<'f> {
    found: &'f mut Found,
    /// `name`, as written.
    tool: &'f mut Option<String>,
    /// Where `arguments` is written in the text.
    arguments: &'f mut Option<std::ops::Range<usize>>,
}

impl<'de> Visitor<'de> for Params<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("params")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = Seen::default();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if let Some(e) = case_twin(self.found, "params.", &key) {
                return Err(e);
            }
            if !seen.first(&key) {
                return Err(duplicate(self.found, "params.", &key));
            }
            if matches!(key, Key::Name) {
                self.found.refusal = Some(Ambiguous::NotString("params.name"));
                *self.tool = Some(map.next_value_seed(Str(str::to_owned))?);
                self.found.refusal = None;
            } else if matches!(key, Key::Arguments | Key::Meta) {
                // What the tool runs with: a key twice at any depth is read one way by the
                // gateway's checks (the last) and may be read the other by the upstream.
                // Read as it is first (a number out of a double's range, `1e400`, is JSON the
                // tool checks answer for themselves), then walked for keys given twice.
                let raw: &'de serde_json::value::RawValue = map.next_value()?;
                if matches!(key, Key::Arguments) {
                    // A value read from the text is a slice of it (checked, never assumed).
                    let start = (raw.get().as_ptr() as usize).wrapping_sub(self.found.base);
                    if start > self.found.len || self.found.len - start < raw.get().len() {
                        return Err(serde::de::Error::custom("arguments read out of place"));
                    }
                    *self.arguments = Some(start..start + raw.get().len());
                }
                // A key can be given twice only in an object of two members or more, which
                // holds a `,` between them, and a string escape needs a `\`: a value without
                // either has nothing to walk for.
                if memchr::memchr2(b',', b'\\', raw.get().as_bytes()).is_none() {
                    continue;
                }
                let mut inner = Found::default();
                let mut de = serde_json::Deserializer::from_str(raw.get());
                // `_meta` too: `progressToken` given twice is read one way here and maybe the
                // other by the upstream.
                let at = if matches!(key, Key::Meta) {
                    "params._meta"
                } else {
                    "params.arguments"
                };
                let walked = Unique {
                    found: &mut inner,
                    at,
                    fold: true,
                }
                .deserialize(&mut de);
                let why = match (walked, inner.refusal) {
                    (Ok(()), _) => None,
                    (Err(_), Some(why)) => Some(why),
                    // A number out of a double's range stops the walk where it stands: a
                    // surrogate escape anywhere in the value is then refused unread (a pair,
                    // an emoji, next to such a number is rare; a lone one must not pass).
                    (Err(e), None) if e.to_string().starts_with("number out of range") => {
                        surrogate_escape(raw.get()).then_some(Ambiguous::Surrogate(at))
                    }
                    // Nested past what the reader goes (the value as a whole was read past it
                    // where it began nearer the top).
                    (Err(e), None) if e.to_string().starts_with("recursion limit exceeded") => {
                        Some(Ambiguous::TooDeep(at))
                    }
                    // Any other error of a value already read as JSON is a string escape
                    // the reader refuses: a lone surrogate.
                    (Err(_), None) => Some(Ambiguous::Surrogate(at)),
                };
                if let Some(why) = why {
                    self.found.refusal = Some(why);
                    return Err(serde::de::Error::custom("ambiguous arguments"));
                }
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Params<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// An upstream's JSON message as a value, when it reads one way only: no key twice in any
/// object, no lone surrogate escape, every number within a double's range, and no two keys
/// equal once case is folded where clients read keys into fields (the message, its `result`,
/// each tool of `result.tools`; Go's `encoding/json` matches those without case). A message a
/// check reads must be so: a client whose parser keeps the first of two `description`s would
/// see another tool than the one pinned. Data (a schema's `properties`, `_meta`) may hold `id`
/// and `ID`.
pub fn one_reading(json: &str) -> Option<serde_json::Value> {
    let mut found = Found::default();
    let mut de = serde_json::Deserializer::from_str(json);
    Unique {
        found: &mut found,
        at: "message",
        fold: false,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end())
    .ok()?;
    serde_json::from_str(json).ok().filter(|v| !case_twins(v))
}

/// The keys of a message a client reads into fields.
const MESSAGE_KEYS: &[&str] = &["jsonrpc", "id", "method", "params", "result", "error"];
/// The keys of a listing's `result` a client reads into fields.
const RESULT_KEYS: &[&str] = &["tools", "nextCursor", "_meta"];
/// The keys of a tool a client reads into fields (the pinned ones and the name).
const TOOL_KEYS: &[&str] = &[
    "name",
    "title",
    "description",
    "inputSchema",
    "outputSchema",
    "annotations",
    "icons",
    "execution",
    "_meta",
];

/// The keys of a tool's `annotations` a client reads into fields.
const ANNOTATION_KEYS: &[&str] = &[
    "title",
    "readOnlyHint",
    "destructiveHint",
    "idempotentHint",
    "openWorldHint",
];

/// Whether a message (or each of a batch) has two keys equal once case is folded among its
/// own, its `result`'s or a tool's of `result.tools`, or one key there that is not one of
/// those levels' keys but reads as one once case is folded (`Result`, `Tools`, `Annotations`,
/// `toolſ`: Go's `encoding/json` reads a lone `Annotations` as `annotations`, which the pins
/// and filters here would not see), or a `result.tools` that is not a list.
fn case_twins(v: &serde_json::Value) -> bool {
    use serde_json::Value;
    // Keys that fold to none of the level's keys (a vendor's `x-a` beside `X-A`) are no
    // client's fields: left alone (tester 149).
    let twins = |o: &serde_json::Map<String, Value>, known: &[&str]| {
        let mut seen = std::collections::HashSet::with_capacity(o.len());
        o.keys().any(|k| {
            let folded = case_folded(k);
            let Some(n) = known.iter().find(|n| n.eq_ignore_ascii_case(&folded)) else {
                return false;
            };
            *n != k || !seen.insert(*n)
        })
    };
    match v {
        Value::Array(items) => items.iter().any(case_twins),
        Value::Object(m) => {
            twins(m, MESSAGE_KEYS)
                || m.get("result").and_then(Value::as_object).is_some_and(|r| {
                    twins(r, RESULT_KEYS)
                        || r.get("tools").is_some_and(|ts| match ts {
                            Value::Array(ts) => ts.iter().filter_map(Value::as_object).any(|t| {
                                twins(t, TOOL_KEYS)
                                    || t.get("annotations")
                                        .and_then(Value::as_object)
                                        .is_some_and(|a| twins(a, ANNOTATION_KEYS))
                            }),
                            _ => true,
                        })
                })
        }
        _ => false,
    }
}

/// Reads JSON text whole as typed JSON does, keeping nothing: an error where a number is out
/// of a double's range (`1e400`), which [`inspect`] lets pass (no check of it reads numbers).
pub fn readable(json: &str) -> Result<(), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(json);
    Walk.deserialize(&mut de)?;
    de.end()
}

/// A value read through, every number as a number.
struct Walk;

/// Why an `id` that is a fraction reading as zero is refused (the error's text).
const ZERO_FRACTION: &str = "id: a fraction that reads as zero";

/// A message's `id` read through: as [`Walk`], but a number written as a fraction that reads
/// as zero (`1e-400`, which no 64-bit float holds, `0.0`, `-0`) is refused: parsers give it
/// back as `0`, `0.0` or `-0.0`, and the client may not know its answer.
struct IdWalk;

impl<'de> Visitor<'de> for IdWalk {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        Walk.visit_map(map)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        Walk.visit_seq(seq)
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<(), E> {
        if v == 0.0 {
            return Err(E::custom(ZERO_FRACTION));
        }
        Ok(())
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for IdWalk {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key::<IgnoredAny>()?.is_some() {
            map.next_value_seed(Walk)?;
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Walk)?.is_some() {}
        Ok(())
    }
    accept_scalars!();
}

impl<'de> DeserializeSeed<'de> for Walk {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// Whether JSON text holds a `\uD800`–`\uDFFF` escape (half of a UTF-16 surrogate pair).
fn surrogate_escape(json: &str) -> bool {
    let b = json.as_bytes();
    memchr::memchr_iter(b'\\', b).any(|i| {
        b.get(i + 1) == Some(&b'u')
            && b.get(i + 2).is_some_and(|c| c.eq_ignore_ascii_case(&b'd'))
            && b.get(i + 3)
                .is_some_and(|c| matches!(c, b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F'))
    })
}

/// A value read whole with every object's keys read once (a key given twice anywhere inside is
/// refused as [`Ambiguous::Duplicate`], named by its path).
struct Unique<'f> {
    found: &'f mut Found,
    at: &'static str,
    /// Keys equal once case is folded are the same key (a request's arguments); else only
    /// keys written alike are (data in an answer, where maps keep both).
    fold: bool,
}

impl<'de> Visitor<'de> for Unique<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // A short list for the usual few keys, a hash set once there are many.
        let mut few: Vec<Cow<'de, str>> = Vec::new();
        let mut many: Option<
            std::collections::HashSet<Cow<'de, str>, foldhash::fast::RandomState>,
        > = None;
        while let Some(raw) = map.next_key_seed(RawKey)? {
            // Keys equal once case is folded are one key to some parsers (Go's).
            let key = match case_folded(&raw) {
                Cow::Owned(f) if self.fold => Cow::Owned(f),
                _ => raw.clone(),
            };
            let twice = match &many {
                Some(set) => set.contains(&key),
                None => few.contains(&key),
            };
            if twice {
                self.found.refusal =
                    Some(Ambiguous::Duplicate(format!("{}.{}", self.at, clip(&raw))));
                return Err(serde::de::Error::custom("duplicate key"));
            }
            match &mut many {
                Some(set) => {
                    set.insert(key);
                }
                None if few.len() >= 16 => {
                    let mut set: std::collections::HashSet<_, _> = few.drain(..).collect();
                    set.insert(key);
                    many = Some(set);
                }
                None => few.push(key),
            }
            map.next_value_seed(Unique {
                found: &mut *self.found,
                at: self.at,
                fold: self.fold,
            })?;
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(Unique {
                found: &mut *self.found,
                at: self.at,
                fold: self.fold,
            })?
            .is_some()
        {}
        Ok(())
    }
    accept_scalars!();
}

impl<'de> DeserializeSeed<'de> for Unique<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// An object key as it reads (borrowed unless it holds escapes).
struct RawKey;

impl<'de> Visitor<'de> for RawKey {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
}

impl<'de> DeserializeSeed<'de> for RawKey {
    type Value = Cow<'de, str>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

/// The methods of MCP (requests and notifications, every protocol version).
const MCP_METHODS: &[&str] = &[
    "initialize",
    "ping",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "prompts/list",
    "prompts/get",
    "completion/complete",
    "logging/setLevel",
    "sampling/createMessage",
    "elicitation/create",
    "roots/list",
    "tasks/get",
    "tasks/list",
    "tasks/result",
    "tasks/cancel",
    "notifications/initialized",
    "notifications/cancelled",
    "notifications/progress",
    "notifications/message",
    "notifications/resources/updated",
    "notifications/resources/list_changed",
    "notifications/tools/list_changed",
    "notifications/prompts/list_changed",
    "notifications/roots/list_changed",
    "notifications/elicitation/complete",
    "notifications/tasks/status",
];

/// The MCP method `m` is not but reads as once it is folded the ways upstreams compare
/// methods: every control, format (U+00AD, U+200B, U+FEFF, tags…), separator (spaces of any
/// width), private-use or unassigned character dropped, NFKD applied and combining marks
/// dropped (full-width letters, `ſ`, `ĺ`), slash look-alikes (`∕`, `⁄`, `⧸`) read as `/`,
/// Unicode lower case taken (and NFKD again), and slashes at the ends or doubled inside removed
/// (`tools/call/`, `tools//call`).
pub(crate) fn near_known(m: &str) -> Option<&'static str> {
    if MCP_METHODS.contains(&m) {
        return None;
    }
    let folded = folded(m);
    let slashes: Vec<&str> = folded.split('/').filter(|p| !p.is_empty()).collect();
    let folded = slashes.join("/");
    MCP_METHODS
        .iter()
        .find(|k| k.to_lowercase() == folded)
        .copied()
}

/// A name as upstreams may compare it: every control, format (U+00AD, U+200B, U+FEFF, tags…),
/// separator (spaces of any width), private-use or unassigned character dropped, NFKD applied
/// and combining marks dropped (full-width letters, `ſ`, `ĺ`), slash look-alikes (`∕`, `⁄`, `⧸`)
/// read as `/`, Unicode case folded (upper case, then lower case: `ı` and `İ` are `i`, `ß` is
/// `ss`; and NFKD again). Plain ASCII lower case is its own fold and costs one look.
pub(crate) fn folded(m: &str) -> String {
    use unicode_general_category::{get_general_category, GeneralCategory as G};
    use unicode_normalization::UnicodeNormalization;
    if m.bytes()
        .all(|b| b.is_ascii_graphic() && !b.is_ascii_uppercase())
    {
        return m.to_owned();
    }
    let odd = |c: &char| {
        c.is_whitespace()
            || matches!(
                get_general_category(*c),
                G::Control
                    | G::Format
                    | G::SpaceSeparator
                    | G::LineSeparator
                    | G::ParagraphSeparator
                    | G::NonspacingMark
                    | G::SpacingMark
                    | G::EnclosingMark
                    | G::PrivateUse
                    | G::Surrogate
                    | G::Unassigned
            )
    };
    // Slash look-alikes an upstream may map to `/` (NFKD keeps them).
    let slash = |c: char| match c {
        '\u{2215}' | '\u{2044}' | '\u{29f8}' | '\u{2571}' | '\u{27cb}' => '/',
        c => c,
    };
    let kept: String = m.nfkd().filter(|c| !odd(c)).map(slash).collect();
    let lowered: String = kept
        .chars()
        .flat_map(char::to_uppercase)
        .flat_map(char::to_lowercase)
        .collect();
    lowered.nfkd().filter(|c| !odd(c)).collect()
}

/// Method and tool names as the log shows them: an identifier as it is; anything else escaped,
/// never deleted (what the upstream runs must be readable from the log): `\` as `\\`, `,`,
/// `[`, `]`, spaces, controls and every non-ASCII character as `\uXXXX` (`\u{XXXXX}` above the
/// BMP), cut after 64 characters with `…` (never written unescaped otherwise). A longer name
/// is redacted whole before it is cut ([`crate::logs`]), so a cut never leaves the head of a
/// long token where the log's redactor could no longer recognise it.
fn clip(s: &str) -> String {
    let plain = |c: char| c.is_ascii_graphic() && !matches!(c, '\\' | ',' | '[' | ']');
    if s.len() <= 64 && s.chars().all(plain) {
        return s.to_owned();
    }
    // Registered values (in any form `vigil_core::redact` knows, encoded too) and the scan's
    // rules (tester 164: a tool name holding a hex-encoded credential kept 31 of its 40
    // characters once cut).
    let redacted = if s.chars().nth(64).is_some() {
        match vigil_core::redact::redact(s) {
            std::borrow::Cow::Owned(r) => Some(r),
            std::borrow::Cow::Borrowed(_) => crate::logs::line(s),
        }
    } else {
        None
    };
    // The redactor's own `[REDACTED:<rule>]` marks are written as they are (tester 155: the
    // log showed `\u005bREDACTED:jwt\u005d`); the name's own brackets stay escaped.
    let marks: Vec<(usize, usize)> = match &redacted {
        Some(r) => r
            .match_indices("[REDACTED")
            .filter_map(|(at, _)| {
                let len = r[at..].find(']')? + 1;
                r[at + 1..at + len - 1]
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'-' | b'_'))
                    .then_some((at, at + len))
            })
            .collect(),
        None => Vec::new(),
    };
    let s = redacted.as_deref().unwrap_or(s);
    let mut out = String::with_capacity(s.len().min(64) + 8);
    let mut skip_to = 0;
    for (i, (at, c)) in s.char_indices().enumerate() {
        if at < skip_to {
            continue;
        }
        if i >= 64 {
            out.push('…');
            break;
        }
        if let Some(&(_, end)) = marks.iter().find(|(start, _)| *start == at) {
            out.push_str(&s[at..end]);
            skip_to = end;
            continue;
        }
        match c {
            '\\' => out.push_str("\\\\"),
            c if plain(c) => out.push(c),
            c if (c as u32) <= 0xFFFF => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    out
}

/// Whether a `Content-Type` value is `text/plain` (any case, any parameters), which lenient
/// MCP clients send JSON-RPC as.
pub fn is_text_plain(v: &[u8]) -> bool {
    let essence = v.split(|b| *b == b';').next().unwrap_or_default();
    essence.trim_ascii().eq_ignore_ascii_case(b"text/plain")
}

/// Whether a `Content-Type` value declares JSON (`application/json`, `…+json`, any case, any
/// parameters).
pub fn is_json_media_type(v: &[u8]) -> bool {
    let essence = v.split(|b| *b == b';').next().unwrap_or_default();
    let essence = essence.trim_ascii();
    essence.eq_ignore_ascii_case(b"application/json")
        || (essence.len() > 5 && essence[essence.len() - 5..].eq_ignore_ascii_case(b"+json"))
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_long_name_holding_a_token_is_logged_with_the_redactors_mark_as_written() {
        use base64::Engine as _;
        let b64 = |t: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(t);
        let jwt = format!(
            "{}.{}.{}",
            b64(r#"{"alg":"HS256","typ":"JWT"}"#),
            b64(r#"{"sub":"alice","aud":"filesystem","exp":4102444800}"#),
            b64("a signature of thirty-two bytes!")
        );
        let shown = clip(&jwt);
        assert!(shown.contains("[REDACTED:"), "{shown}");
        assert!(
            !shown.contains("u005b") && !shown.contains(&jwt[..20]),
            "{shown}"
        );
        // A short name's own brackets stay escaped.
        assert_eq!(clip("[x]"), "\\u005bx\\u005d");
    }
    use super::*;

    #[test]
    fn keys_equal_once_case_is_folded_are_refused() {
        let twins = [
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_x","Name":"delete_x","arguments":{}}}"#,
            r#"{"jsonrpc":"2.0","id":1,"METHOD":"tools/call","params":{"name":"delete_x","arguments":{}}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"ping","Method":"tools/call"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_x"},"paramſ":{"name":"delete_x"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"path":"ab"},"Arguments":{"path":"/etc/passwd"}}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"path":"ab","PATH":"/etc/passwd"}}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"o":{"kind":"a","\u212aind":"b"}}}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","extra":1,"EXTRA":2}}"#,
        ];
        for body in twins {
            let got = inspect(body.as_bytes(), true);
            assert!(
                matches!(got, Err(Ambiguous::CaseTwin(_) | Ambiguous::Duplicate(_))),
                "{body}: {got:?}"
            );
        }
        // Keys that differ otherwise, and capitals no other key shares, pass.
        let fine = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"Path":"a","path2":"b","URL":"u"}}}"#;
        assert!(inspect(fine.as_bytes(), true).is_ok());
    }

    #[test]
    fn a_name_folds_dotless_i_sharp_s_and_ligatures() {
        assert_eq!(folded("k\u{131}ll_x"), "kill_x");
        assert_eq!(folded("pa\u{df}_x"), "pass_x");
        assert_eq!(folded("\u{fb01}x_1"), "fix_1");
        assert_eq!(folded("\u{130}stanbul"), "istanbul");
    }

    /// A `tools/call` of `x` whose `arguments` (or `_meta`) is `value`.
    fn call_with(key: &str, value: &str) -> Vec<u8> {
        format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"x","{key}":{value}}}}}"#
        )
        .into_bytes()
    }

    #[test]
    fn a_lone_surrogate_escape_in_arguments_or_meta_is_refused() {
        for (key, at) in [("arguments", "params.arguments"), ("_meta", "params._meta")] {
            for value in [
                r#"{"k":"sk_live_ab\ud800cd"}"#,
                r#"{"k":"ab\udc00"}"#,
                r#"{"a\ud800":1,"a\udbff":2}"#,
                r#"{"deep":{"list":["x","\uD800"]}}"#,
                // A number out of range stops the walk: the escape after it is still seen.
                r#"{"n":1e400,"k":"\ud800"}"#,
            ] {
                assert_eq!(
                    inspect(&call_with(key, value), true).err(),
                    Some(Ambiguous::Surrogate(at)),
                    "{value}"
                );
            }
            // A pair (an emoji) is one character; a number out of range is for the tool checks.
            for value in [
                r#"{"k":"\ud83d\ude00"}"#,
                r#"{"n":1e400}"#,
                r#"{"k":"a\\ud800"}"#,
                r#"{"path":"README.md"}"#,
            ] {
                assert!(inspect(&call_with(key, value), true).is_ok(), "{value}");
            }
        }
    }

    #[test]
    fn a_tool_name_folds_as_upstreams_compare_it() {
        assert_eq!(folded("delete_x"), "delete_x");
        for odd in [
            " delete_x",
            "DELETE_X",
            "\u{200b}delete_x",
            "\u{ff44}elete_x",
            "dele\u{301}te_x",
            "delete_x\u{feff}",
        ] {
            assert_eq!(folded(odd), "delete_x", "{odd:?}");
        }
    }

    fn said(body: &[u8]) -> (Option<String>, Option<String>) {
        let d = inspect(body, false).unwrap();
        (d.method, d.tool)
    }

    #[test]
    fn a_single_call_is_kept_as_the_upstream_reads_it() {
        let long = "t".repeat(80);
        let body = format!(
            "\u{feff} {{\"params\":{{\"arguments\": {{\"p\":[1, \"\\u0061\"]}} ,\"name\":\"{long}\\u0021\"}},\"id\":1,\"method\":\"tools/call\"}}"
        );
        let d = inspect(body.as_bytes(), true).unwrap();
        let call = d.call.expect("one tools/call");
        // The name unescaped and whole (the log's is clipped).
        assert_eq!(call.name.as_deref(), Some(format!("{long}!").as_str()));
        assert!(d.tool.unwrap().ends_with('…'));
        // The arguments exactly as written, in the body after its byte-order mark.
        let text = &body[d.bom..];
        assert_eq!(&text[call.arguments.unwrap()], r#"{"p":[1, "\u0061"]}"#);
        // No arguments, no name, another method, a batch: nothing more, or nothing.
        let bare = inspect(br#"{"method":"tools/call","params":{}}"#, true).unwrap();
        assert_eq!(bare.call, Some(Call::default()));
        let list = inspect(br#"{"method":"tools/list","params":{"name":"x"}}"#, true).unwrap();
        assert_eq!(list.call, None);
        let batch = br#"[{"id":1,"method":"tools/call","params":{"name":"x","arguments":{}}}]"#;
        assert_eq!(inspect(batch, true).unwrap().call, None);
    }

    #[test]
    fn an_id_no_double_holds_and_arguments_too_deep_are_named() {
        let big = "9".repeat(400);
        for id in ["1e400", "-1e309", big.as_str()] {
            let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/list"}}"#);
            assert_eq!(
                inspect(body.as_bytes(), true).err(),
                Some(Ambiguous::IdOutOfRange),
                "{id}"
            );
        }
        for id in ["1e-400", "0.0", "-0.0", "-0", "0e5", "-1e-400"] {
            let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/list"}}"#);
            assert_eq!(
                inspect(body.as_bytes(), true).err(),
                Some(Ambiguous::IdOutOfRange),
                "{id}"
            );
        }
        for id in [
            "1",
            "0",
            "1.5e300",
            "1e-300",
            r#""x""#,
            "null",
            &"9".repeat(30),
        ] {
            let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/list"}}"#);
            assert!(inspect(body.as_bytes(), true).is_ok(), "{id}");
        }
        // Deep enough that the walk for keys given twice cannot follow: said so, not guessed.
        let deep = format!("{}{}", "[".repeat(127), "]".repeat(127));
        let value = format!(r#"{{"a":1,"b":{deep}}}"#);
        assert_eq!(
            inspect(&call_with("arguments", &value), true).err(),
            Some(Ambiguous::TooDeep("params.arguments"))
        );
    }

    #[test]
    fn a_message_with_a_key_twice_reads_two_ways() {
        for two in [
            r#"{"result":{"tools":[{"name":"t","description":"a","description":"b"}]}}"#,
            r#"{"result":{"tools":[{"name":"t","Name":"u"}]}}"#,
            r#"{"result":{"tools":[],"Tools":[{"name":"u"}]}}"#,
            // A lone key that reads as one a client knows once case is folded (tester 148).
            r#"{"result":{"tools":[{"name":"t","Annotations":{"readOnlyHint":true}}]}}"#,
            r#"{"result":{"tools":[{"name":"t","Title":"x"}]}}"#,
            r#"{"result":{"tools":[{"name":"t","_META":{}}]}}"#,
            // Inside a tool's annotations too (tester 149, A4).
            r#"{"result":{"tools":[{"name":"t","annotations":{"readOnlyHint":false,"ReadOnlyHint":true}}]}}"#,
            r#"{"result":{"tools":[{"name":"t","annotations":{"ReadOnlyHint":true}}]}}"#,
            r#"{"result":{"tools":[{"name":"t","outputſchema":{}}]}}"#,
            r#"{"jsonrpc":"2.0","id":2,"Result":{"tools":[{"name":"t"}]}}"#,
            r#"{"result":{"Tools":[{"name":"t"}]}}"#,
            r#"{"result":{"toolſ":[{"name":"t"}]}}"#,
            r#"{"result":{"tools":{"0":{"name":"t"}}}}"#,
            r#"{"id":1e400,"result":{}}"#,
            r#"{"result":{"text":"\ud800"}}"#,
        ] {
            assert!(one_reading(two).is_none(), "{two}");
        }
        for one in [
            r#"{"result":{"tools":[{"name":"t","description":"a"},{"name":"t2"}]}}"#,
            // Data may hold keys that differ by case only.
            r#"{"result":{"tools":[{"name":"t","inputSchema":{"properties":{"id":{},"ID":{}}},"_meta":{"a":1,"A":2}}]}}"#,
            r#"{"result":{"structuredContent":{"Id":1,"id":2}}}"#,
            r#"{"result":{"content":[],"isError":false}}"#,
            r#"{"result":{"tools":[{"name":"t","Vendor":1}],"nextCursor":"c"}}"#,
            // A vendor's keys that differ by case only are no client's fields (tester 149, A3).
            r#"{"result":{"tools":[{"name":"t","x-vendor":1,"X-Vendor":2,"annotations":{"x-a":1,"X-A":2}}]}}"#,
            r#"[{"id":1,"result":{}},{"id":2,"result":{}}]"#,
            r#"{"text":"\ud83d\ude00"}"#,
        ] {
            assert!(one_reading(one).is_some(), "{one}");
        }
    }

    #[test]
    fn numbers_past_a_double_are_unreadable() {
        for bad in [
            "1e400",
            r#"{"a":[{"n":-1e309}]}"#,
            &format!("[{}]", "9".repeat(400)),
        ] {
            let e = readable(bad).unwrap_err();
            assert!(
                e.to_string().starts_with("number out of range"),
                "{bad}: {e}"
            );
        }
        for good in [
            r#"{"a":[1.5e300,-2,"1e400",null,true]}"#,
            "{}",
            r#""\u00e9""#,
        ] {
            assert!(readable(good).is_ok(), "{good}");
        }
        assert!(readable("{} x").is_err());
    }

    #[test]
    fn only_method_and_tool_name_are_kept() {
        let body = br#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"/etc/secret"}}}"#;
        assert_eq!(
            said(body),
            (Some("tools/call".into()), Some("read_file".into()))
        );
        let batch = br#"[{"jsonrpc":"2.0","method":"notifications/initialized"},{"jsonrpc":"2.0","id":1,"method":"tools/list"}]"#;
        assert_eq!(
            said(batch).0.as_deref(),
            Some("[notifications/initialized,tools/list]")
        );
        assert_eq!(said(b"not json"), (None, None));
        // params before method, and a name outside tools/call, still come out right.
        let late = br#"{"params":{"name":"x","arguments":{}},"id":1,"method":"tools/call"}"#;
        assert_eq!(said(late), (Some("tools/call".into()), Some("x".into())));
        let other = br#"{"method":"prompts/get","params":{"name":"p"}}"#;
        assert_eq!(said(other), (Some("prompts/get".into()), None));
        assert_eq!(said(br#"{"id":1,"result":{}}"#), (None, None));
        let null = br#"{"params":null,"method":"ping"}"#;
        assert_eq!(said(null), (Some("ping".into()), None));
        // Escapes in keys are the keys they spell, as every JSON parser reads them.
        let escaped = br#"{"m\u0065thod":"tools/call","params":{"n\u0061me":"x"}}"#;
        assert_eq!(said(escaped), (Some("tools/call".into()), Some("x".into())));
    }

    #[test]
    fn ambiguous_bodies_are_refused_whatever_their_size() {
        let pad = "x".repeat(4096);
        for (body, why) in [
            (
                r#"{"method":"tools/list","method":"tools/call"}"#.to_owned(),
                Ambiguous::Duplicate("method".into()),
            ),
            (
                format!(
                    r#"{{"method":"tools/list","params":{{"arguments":{{"p":"{pad}"}}}},"method":"tools/call"}}"#
                ),
                Ambiguous::Duplicate("method".into()),
            ),
            (
                r#"{"method":"tools/call","params":{"name":"a","name":"b"}}"#.to_owned(),
                Ambiguous::Duplicate("params.name".into()),
            ),
            (
                r#"{"m\u0065thod":"a","method":"b"}"#.to_owned(),
                Ambiguous::Duplicate("method".into()),
            ),
            (
                r#"{"id":1,"id":2}"#.to_owned(),
                Ambiguous::Duplicate("id".into()),
            ),
            ("[]".to_owned(), Ambiguous::EmptyBatch),
            (" [ \n ] ".to_owned(), Ambiguous::EmptyBatch),
            (
                r#"{"x":1,"x":2}"#.to_owned(),
                Ambiguous::Duplicate("x".into()),
            ),
            (
                r#"[{"method":"a"},{"params":null,"params":[]}]"#.to_owned(),
                Ambiguous::Duplicate("params".into()),
            ),
            (r#"{"method":5}"#.to_owned(), Ambiguous::NotString("method")),
            (
                r#"{"method":"tools/call","params":{"name":7}}"#.to_owned(),
                Ambiguous::NotString("params.name"),
            ),
            (
                format!(
                    r#"{{"method":"tools/call","params":{{"name":"w","arguments":{{"c":"{pad}"#
                ),
                Ambiguous::Invalid,
            ),
            (
                r#"{"method":"ping"} trailing"#.to_owned(),
                Ambiguous::Invalid,
            ),
            (r#"[1, 2]"#.to_owned(), Ambiguous::Invalid),
        ] {
            assert_eq!(
                inspect(body.as_bytes(), false),
                Err(why.clone()),
                "{body:.80}"
            );
            assert_eq!(inspect(body.as_bytes(), true), Err(why), "{body:.80}");
        }
        // What the tool runs with, at any depth: the upstream may keep the other value.
        for (body, at) in [
            (
                r#"{"method":"tools/call","params":{"name":"w","arguments":{"n":11,"n":1}}}"#,
                "params.arguments.n",
            ),
            (
                r#"{"method":"tools/call","params":{"name":"w","arguments":{"a":[{"b":{"c":1,"\u0063":2}}]}}}"#,
                "params.arguments.c",
            ),
            (
                r#"{"method":"tools/call","params":{"name":"w","_meta":{"progressToken":1,"progressToken":2}}}"#,
                "params._meta.progressToken",
            ),
        ] {
            assert_eq!(
                inspect(body.as_bytes(), false),
                Err(Ambiguous::Duplicate(at.into())),
                "{body}"
            );
        }
        // The same key in two different objects is no duplicate.
        let two = br#"{"method":"tools/call","params":{"name":"w","arguments":{"a":{"k":1},"b":{"k":2}}}}"#;
        assert_eq!(said(two), (Some("tools/call".into()), Some("w".into())));
    }

    #[test]
    fn methods_spelled_near_a_known_one_are_refused() {
        for m in [
            "TOOLS/CALL",
            "tools/call ",
            " tools/list",
            r"tools/call\u0000",
            r"Tools/Call\t",
            "logging/setlevel",
            r"\u007ftools/call",
            // bb-gw-s8 N11: a precomposed accent, slash look-alikes.
            "tools/ca\u{13a}\u{13a}",
            "tools\u{2215}call",
            "tools\u{2044}call",
            "tools\u{29f8}call",
        ] {
            let body = format!(r#"{{"method":"{m}","params":{{"name":"x"}}}}"#);
            assert!(
                matches!(inspect(body.as_bytes(), false), Err(Ambiguous::Method(_))),
                "{m}"
            );
            let batch = format!(r#"[{{"method":"ping"}},{{"method":"{m}"}}]"#);
            assert!(
                matches!(inspect(batch.as_bytes(), false), Err(Ambiguous::Method(_))),
                "{m}"
            );
        }
        for m in [
            "tools/call",
            "logging/setLevel",
            "notifications/initialized",
            "my/own",
        ] {
            let body = format!(r#"{{"method":"{m}"}}"#);
            assert!(inspect(body.as_bytes(), false).is_ok(), "{m}");
        }
    }

    #[test]
    fn media_type_bom_and_encoding_are_handled() {
        let body = "\u{feff}{\"method\":\"tools/call\",\"params\":{\"name\":\"t\"}}";
        let d = inspect(body.as_bytes(), false).unwrap();
        assert_eq!(
            (d.method.as_deref(), d.tool.as_deref(), d.bom),
            (Some("tools/call"), Some("t"), 3)
        );
        let utf16: Vec<u8> = "{\"method\":\"tools/call\"}"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(inspect(&utf16, false), Err(Ambiguous::NotUtf8));
        let be: Vec<u8> = "{}".encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert_eq!(inspect(&be, false), Err(Ambiguous::NotUtf8));
        assert_eq!(inspect(b"\x00\x01binary", false), Ok(Described::default()));
        assert_eq!(inspect(b"plain text", false), Ok(Described::default()));
        assert_eq!(inspect(b"plain text", true), Err(Ambiguous::Invalid));
        assert_eq!(inspect(b"5", true), Err(Ambiguous::NotMessage));
        assert_eq!(inspect(b"\x0c{}", true), Err(Ambiguous::Invalid));
        assert!(is_json_media_type(b"Application/JSON"));
        assert!(is_json_media_type(b" application/json ; charset=utf-8"));
        assert!(is_json_media_type(b"application/vnd.api+JSON"));
        assert!(!is_json_media_type(b"text/plain"));
        assert!(!is_json_media_type(b"+json"));
    }
}
