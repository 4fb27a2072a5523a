//! YAML through `serde-saphyr`: every node is read as a [`serde_saphyr::Spanned`] value, whose
//! location gives the byte offset where it was written. Anchors and aliases are resolved by the
//! parser within its default budget, and duplicate keys are refused.

use super::{one_line, SyntaxError};
use crate::node::{Member, Node, Span, Value};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};
use std::fmt;

/// Parses a YAML file of one document (several are refused, as is a duplicate key).
pub(super) fn parse(text: &str) -> Result<Node, SyntaxError> {
    if text.trim().is_empty() {
        return Ok(Node::new(Span::default(), Value::Null));
    }
    let root: Spanned<Yaml> = serde_saphyr::from_str(text).map_err(|e| {
        let (line, column) = e
            .location()
            .map_or((1, 1), |l| (l.line() as usize, l.column() as usize));
        SyntaxError {
            line: line.max(1),
            column: column.max(1),
            message: one_line(&strip_location(&e.to_string())),
        }
    })?;
    Ok(node(text, root))
}

/// Drops the `error: line N column M:` prefix the message may carry (the error has its own
/// position) and the parser's advice to its programmers (which function or option to use),
/// which means nothing to a user.
fn strip_location(m: &str) -> String {
    static PREFIX: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"^(?:error:\s*)?(?:line \d+,? column \d+:?\s*)?").expect("prefix")
    });
    let first = m.lines().next().unwrap_or("");
    let mut out = PREFIX.replace(first, "").into_owned();
    if out.contains("budget breached") {
        // The parser's own wording (`budget breached: Nodes { nodes: 250001 }`) names its
        // internals; say what happened.
        out = "the YAML expands beyond vigil lint's size budget (anchors and aliases that multiply, a billion-laughs shape, or a very large document); not linted".to_owned();
    } else if out.contains("multiple YAML documents") {
        out = "several YAML documents (`---`) in one file; vigil lint reads one document per file"
            .to_owned();
    }
    for advice in [
        "; use from_str_multiple or from_str_multiple_with_options",
        ", set DuplicateKeyPolicy in Options if acceptable",
    ] {
        if let Some(i) = out.find(advice) {
            out.truncate(i);
        }
    }
    out
}

fn offset(text: &str, l: &Location) -> usize {
    if let Some(b) = l.span().byte_offset() {
        return (b as usize).min(text.len());
    }
    crate::lines::LineIndex::new(text).offset_of_char(text, l.line() as usize, l.column() as usize)
}

fn span(text: &str, l: &Location) -> Span {
    let start = offset(text, l);
    let len = l.span().byte_len().unwrap_or(0) as usize;
    Span::new(start, (start + len).min(text.len()))
}

fn node(text: &str, s: Spanned<Yaml>) -> Node {
    let sp = span(text, &s.referenced);
    let value = match s.value {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(b),
        Yaml::Number(n) => Value::Number(n),
        Yaml::String(v) => Value::String(v),
        Yaml::Seq(items) => Value::Array(items.into_iter().map(|i| node(text, i)).collect()),
        Yaml::Map(pairs) => Value::Object(
            pairs
                .into_iter()
                .map(|(k, v)| Member {
                    key: k.value,
                    key_span: span(text, &k.referenced),
                    value: node(text, v),
                })
                .collect(),
        ),
    };
    Node::new(sp, value)
}

/// A YAML value before positions become byte spans.
enum Yaml {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Seq(Vec<Spanned<Yaml>>),
    Map(Vec<(Spanned<String>, Spanned<Yaml>)>),
}

impl<'de> Deserialize<'de> for Yaml {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(YamlVisitor)
    }
}

struct YamlVisitor;

impl<'de> Visitor<'de> for YamlVisitor {
    type Value = Yaml;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Yaml, E> {
        Ok(Yaml::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Yaml, E> {
        Ok(Yaml::Number(v.to_string()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Yaml, E> {
        Ok(Yaml::Number(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Yaml, E> {
        Ok(Yaml::Number(v.to_string()))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Yaml, E> {
        Ok(Yaml::Number(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Yaml, E> {
        Ok(Yaml::Number(v.to_string()))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Yaml, E> {
        Ok(Yaml::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Yaml, E> {
        Ok(Yaml::String(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Yaml, E> {
        Ok(Yaml::String(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Yaml, E> {
        Ok(Yaml::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Yaml, E> {
        Ok(Yaml::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Yaml, D::Error> {
        Yaml::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Yaml, A::Error> {
        let mut v = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Yaml>>()? {
            v.push(item);
        }
        Ok(Yaml::Seq(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Yaml, A::Error> {
        let mut v = Vec::new();
        while let Some(k) = map.next_key::<Spanned<Key>>()? {
            let value = map.next_value::<Spanned<Yaml>>()?;
            let key = Spanned::new(k.value.0, k.referenced, k.defined);
            v.push((key, value));
        }
        Ok(Yaml::Map(v))
    }
}

/// A mapping key of any scalar type, as text.
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Yaml::deserialize(d)? {
            Yaml::String(s) | Yaml::Number(s) => Ok(Key(s)),
            Yaml::Bool(b) => Ok(Key(b.to_string())),
            Yaml::Null => Ok(Key(String::new())),
            Yaml::Seq(_) | Yaml::Map(_) => Err(de::Error::custom("a mapping key is not a scalar")),
        }
    }
}
