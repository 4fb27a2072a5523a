//! YAML: most files are read straight from the event stream of `granit-parser` (the parser
//! `serde-saphyr` uses), which keeps each event's byte span; any document that uses what only
//! `serde-saphyr` resolves the way users expect (anchors, aliases, merge keys, tags, duplicate
//! keys, several documents, very deep or large documents, a syntax error) is read again through
//! `serde-saphyr`, where every node is a [`serde_saphyr::Spanned`] value. Both give the same
//! tree: plain scalars that may be typed (numbers, booleans, null) are resolved by
//! `serde-saphyr` itself. Anchors and aliases are resolved within `serde-saphyr`'s default
//! budget, and duplicate keys are refused.

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
    // Both readers give a typed key as its value (`y:` as `true`, `1e3:` as `1000`); it is
    // then named as written, as Compose and the clients name it (a service `y` is `y`;
    // black-box tester, session 15 round 12: F8). The event reader says whether it met one.
    let (mut root, typed_keys) = match fast::read(text) {
        Some(read) => read,
        None => (slow(text)?, true),
    };
    if typed_keys {
        keys_as_written(&mut root, text, 0);
    }
    Ok(root)
}

/// A plain YAML key that reads as a boolean or number (`y`, `on`, `no`, `1e3`), renamed as
/// written in a tree `serde-saphyr` read, as the event reader names it.
fn keys_as_written(n: &mut Node, text: &str, depth: usize) {
    if depth > 256 {
        return;
    }
    match &mut n.value {
        Value::Object(members) => {
            for m in members.iter_mut() {
                if let Some(raw) = text
                    .get(m.key_span.start..m.key_span.end)
                    .map(str::trim)
                    .filter(|raw| *raw != m.key)
                {
                    let plain = !raw.starts_with(['"', '\'', '?', '&', '*', '!']);
                    let typed =
                        matches!(m.key.as_str(), "true" | "false") || m.key.parse::<f64>().is_ok();
                    if plain
                        && typed
                        && raw != m.key
                        && !raw.is_empty()
                        && !raw.contains(['\n', ':'])
                    {
                        m.key = raw.to_owned();
                    }
                }
                keys_as_written(&mut m.value, text, depth + 1);
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|i| keys_as_written(i, text, depth + 1)),
        _ => {}
    }
}

/// Through `serde-saphyr`'s `Spanned` values.
fn slow(text: &str) -> Result<Node, SyntaxError> {
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

/// The event-stream reader: `None` whenever the document needs `serde-saphyr` (see the module
/// comment), so the two readers never disagree.
mod fast {
    use super::Yaml;
    use crate::node::{Member, Node, Span, Value};
    use granit_parser::{Event, Parser, ScalarStyle, StrInput};
    use std::borrow::Cow;

    /// Deeper than this, `serde-saphyr`'s budget decides (its `max_depth` is 64).
    const MAX_DEPTH: usize = 60;
    /// More nodes than this, `serde-saphyr`'s budget decides (its `max_nodes` is 250,000).
    const MAX_NODES: usize = 200_000;
    /// Larger texts are left to `serde-saphyr` (its scalar-bytes budget is 64 MiB).
    const MAX_TEXT: usize = 16 << 20;

    type Events<'a> = Parser<'a, StrInput<'a>>;

    struct Reader<'a> {
        events: Events<'a>,
        nodes: usize,
        /// Whether a mapping key read as a boolean or number.
        typed_keys: bool,
    }

    /// The document's tree, or `None` to read it through `serde-saphyr`.
    #[cfg(test)]
    pub(super) fn parse(text: &str) -> Option<Node> {
        read(text).map(|(root, _)| root)
    }

    /// The document's tree and whether a mapping key read as a boolean or number, or `None`
    /// to read it through `serde-saphyr`.
    pub(super) fn read(text: &str) -> Option<(Node, bool)> {
        if text.len() > MAX_TEXT {
            return None;
        }
        // The options `serde-saphyr` gives the parser with its default budget and options.
        let budget = serde_saphyr::Budget::default();
        let mut options = granit_parser::Options::default();
        options.strict_indentation = false;
        options.bom_inside_document_as_content = false;
        options.emit_comments = false;
        options.emit_anchor_events = false;
        options.emit_unresolved_aliases = false;
        options.simple_key_max_lookahead = budget.simple_key_max_lookahead;
        options.flow_nesting_limit = budget.flow_nesting_limit;
        options.block_nesting_limit = options
            .block_nesting_limit
            .max(budget.max_depth.saturating_add(1));
        let mut r = Reader {
            events: Parser::new_from_str_with_options(text, options),
            nodes: 0,
            typed_keys: false,
        };
        if !matches!(r.next()?.0, Event::StreamStart) {
            return None;
        }
        if !matches!(r.next()?.0, Event::DocumentStart(..)) {
            return None;
        }
        let first = r.next()?;
        let root = r.node(first, 0)?;
        if !matches!(r.next()?.0, Event::DocumentEnd) {
            return None;
        }
        // One document only (several are refused by `serde-saphyr`, with its message).
        if !matches!(r.next()?.0, Event::StreamEnd) {
            return None;
        }
        Some((root, r.typed_keys))
    }

    impl<'a> Reader<'a> {
        fn next(&mut self) -> Option<(Event<'a>, Span)> {
            let (ev, sp) = self.events.next()?.ok()?;
            let start = sp.start.byte_offset()?;
            let end = sp.end.byte_offset()?;
            Some((ev, Span::new(start, end)))
        }

        fn node(&mut self, (ev, span): (Event<'a>, Span), depth: usize) -> Option<Node> {
            self.nodes += 1;
            if depth > MAX_DEPTH || self.nodes > MAX_NODES {
                return None;
            }
            let value = match ev {
                Event::Scalar(v, style, 0, None) => scalar(v, style)?,
                Event::SequenceStart(_, 0, None) => {
                    let mut items = Vec::new();
                    loop {
                        let e = self.next()?;
                        if matches!(e.0, Event::SequenceEnd) {
                            break;
                        }
                        items.push(self.node(e, depth + 1)?);
                    }
                    Value::Array(items)
                }
                Event::MappingStart(_, 0, None) => {
                    let mut members: Vec<Member> = Vec::new();
                    loop {
                        let (k, key_span) = self.next()?;
                        let key = match k {
                            Event::MappingEnd => break,
                            Event::Scalar(v, style, 0, None) => {
                                self.nodes += 1;
                                // `<<` is a merge key for `serde-saphyr`.
                                if style == ScalarStyle::Plain && v == "<<" {
                                    return None;
                                }
                                match scalar(v, style)? {
                                    Value::String(s) => s,
                                    Value::Number(s) => {
                                        self.typed_keys = true;
                                        s
                                    }
                                    Value::Bool(b) => {
                                        self.typed_keys = true;
                                        b.to_string()
                                    }
                                    Value::Null => String::new(),
                                    Value::Array(_) | Value::Object(_) => return None,
                                }
                            }
                            // A key that is a collection, an alias or tagged.
                            _ => return None,
                        };
                        // Duplicate keys are refused by `serde-saphyr`, with its message.
                        if members.iter().any(|m| m.key == key) {
                            return None;
                        }
                        let e = self.next()?;
                        let value = self.node(e, depth + 1)?;
                        members.push(Member {
                            key,
                            key_span,
                            value,
                        });
                    }
                    Value::Object(members)
                }
                // Aliases, anchors, tags, anything else.
                _ => return None,
            };
            Some(Node::new(span, value))
        }
    }

    /// A scalar's value as `serde-saphyr` reads it into an untyped value: quoted and block
    /// scalars are strings; a plain scalar that could be typed is resolved by `serde-saphyr`
    /// itself (YAML 1.1 booleans, integers in every radix, floats, null).
    fn scalar(v: Cow<'_, str>, style: ScalarStyle) -> Option<Value> {
        if style != ScalarStyle::Plain {
            return Some(Value::String(v.into_owned()));
        }
        let b = v.as_bytes();
        let Some(&first) = b.first() else {
            return Some(Value::Null);
        };
        let maybe_typed = matches!(first, b'0'..=b'9' | b'+' | b'-' | b'.' | b'~')
            || (b.len() <= 8
                && [
                    "y", "n", "yes", "no", "true", "false", "on", "off", "null", "inf", "nan",
                    "infinity",
                ]
                .iter()
                .any(|w| v.eq_ignore_ascii_case(w)))
            || first.is_ascii_whitespace()
            || b.last().is_some_and(u8::is_ascii_whitespace);
        if !maybe_typed {
            return Some(Value::String(v.into_owned()));
        }
        // The same few values (`30s`, `8080:80`, `1`) come back in file after file: each
        // thread remembers how `serde-saphyr` read them (a pure function of the text).
        thread_local! {
            static TYPED: std::cell::RefCell<std::collections::HashMap<String, Option<Value>>> =
                std::cell::RefCell::new(std::collections::HashMap::new());
        }
        const MEMO_KEY_MAX: usize = 64;
        const MEMO_MAX: usize = 4096;
        if v.len() > MEMO_KEY_MAX {
            return typed(&v);
        }
        TYPED.with_borrow_mut(|memo| {
            if let Some(known) = memo.get(v.as_ref()) {
                return known.clone();
            }
            let got = typed(&v);
            if memo.len() >= MEMO_MAX {
                memo.clear();
            }
            memo.insert(v.into_owned(), got.clone());
            got
        })
    }

    /// A plain scalar that may be typed, read alone by `serde-saphyr`.
    fn typed(v: &str) -> Option<Value> {
        match serde_saphyr::from_str::<Yaml>(v).ok()? {
            Yaml::Null => Some(Value::Null),
            Yaml::Bool(b) => Some(Value::Bool(b)),
            Yaml::Number(n) => Some(Value::Number(n)),
            // The same text read alone must read as itself, or the document goes the slow way.
            Yaml::String(s) if s == v => Some(Value::String(s)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The event reader gives what `serde-saphyr` gives (values, types, key and value spans),
    /// or steps aside.
    fn same(text: &str) -> bool {
        let slow = slow(text);
        match fast::parse(text) {
            Some(fast) => {
                assert_eq!(Ok(&fast), slow.as_ref(), "{text}");
                true
            }
            None => false,
        }
    }

    #[test]
    fn the_event_reader_agrees_with_serde_saphyr() {
        let fast = [
            "a: 1\nb: -2\nc: 0x1F\nd: 0o17\ne: 1.5\nf: 1e3\nj: +7\n",
            "a: yes\nb: No\nc: on\nd: OFF\ne: y\nf: n\ng: true\nh: False\n",
            "a: ~\nb: null\nc: NULL\nd:\ne: ''\nf: \"\"\n",
            "a: 0127\nb: 1_000\nc: 0X1F\nd: -0\ne: 12:30\nf: 1.2.3\ng: 8080:8080\nh: 0.0.0.0:80:80\n",
            "a: 'it''s'\nb: \"tab\\tq\\u00e9\"\nc: |\n  one\n  two\nd: >\n  folded\n  text\ne: |-\n  x\n",
            "services:\n  redis:\n    image: redis:7\n    ports:\n      - \"6379:6379\"\n      - 127.0.0.1:80:80\n    privileged: true\n    environment:\n      - A=1\n      - B=${X}\n",
            "1: a\ntrue: b\n~: c\n2.5: d\n0x10: e\n",
            "flow: {a: 1, b: [x, 'y', 2, {c: d}]}\nempty: {}\nnone: []\n",
            "plain: multi\n  line words\nurl: http://example.com/a?b=c#frag\nkey with spaces: v # comment\n",
            "---\na: 1\n...\n",
            "- 1\n- a\n- - nested\n  - 2\n- k: v\n",
            "é: ünï\nemoji: \"😀\"\n",
            "just a scalar\n",
            "42\n",
        ];
        for t in fast {
            assert!(same(t), "event reader stepped aside: {t}");
        }
        // Either reader may answer these (serde-saphyr refuses non-finite untyped floats, the
        // event reader then steps aside): they must agree when both do.
        for t in [
            "a: .inf\n",
            "a: -.inf\n",
            "a: .nan\n",
            "a: 1e999\n",
            "a: -0x1\n",
            "a: -\n",
        ] {
            let _ = same(t);
        }
        // What only serde-saphyr resolves (or refuses) is left to it.
        let slow_only = [
            "a: &x 1\nb: *x\n",
            "base: &b {x: 1}\nd:\n  <<: *b\n  y: 2\n",
            "a: !!str 1\n",
            "a: 1\na: 2\n",
            "a: 1\n---\nb: 2\n",
            "a: [1,\nb: }\n",
            "? [a]\n: 1\n",
            "yes: 1\ntrue: 2\n",
        ];
        for t in slow_only {
            assert!(!same(t), "{t}");
        }
        // Deep nesting: serde-saphyr's budget decides.
        let deep = "[".repeat(100) + &"]".repeat(100);
        assert!(!same(&deep));
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn the_event_reader_agrees_on_the_client_fixtures() {
        let root =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../vigil/tests/lint-clients");
        let mut n = 0;
        for side in ["clean", "faulty"] {
            for f in ["docker-compose.yml", ".continue/config.yaml"] {
                let text = std::fs::read_to_string(root.join(side).join(f)).unwrap();
                // Faulty files are templates (`{alnum:32}`, markers) that may not parse: the
                // two readers must still agree wherever the event reader answers.
                if same(&text) && side == "clean" {
                    n += 1;
                }
            }
        }
        assert_eq!(n, 2);
    }
}
