//! The one tree every input becomes: JSON, JSONC, YAML and TOML are parsed by position-keeping
//! parsers into [`Node`]s that carry the byte span they were written at, so every rule can name
//! the file, line and column of what it reports.

use std::fmt;

/// Byte offsets into the file's text: `start` inclusive, `end` exclusive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end`.
    pub fn new(start: usize, end: usize) -> Self {
        Span {
            start,
            end: end.max(start),
        }
    }
}

/// A value with where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Where the value is (for strings, including quotes).
    pub span: Span,
    /// The value.
    pub value: Value,
}

/// One key of an object, with where the key itself was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// The key.
    pub key: String,
    /// Where the key is.
    pub key_span: Span,
    /// Its value.
    pub value: Node,
}

/// The data model shared by JSON, YAML and TOML.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`, YAML `~`, an empty YAML value.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as written (TOML dates are kept as strings).
    Number(String),
    /// A string.
    String(String),
    /// A sequence.
    Array(Vec<Node>),
    /// A mapping, in file order (duplicate keys kept).
    Object(Vec<Member>),
}

impl Node {
    /// A node.
    pub fn new(span: Span, value: Value) -> Self {
        Node { span, value }
    }

    /// The members of an object.
    pub fn members(&self) -> &[Member] {
        match &self.value {
            Value::Object(m) => m,
            _ => &[],
        }
    }

    /// The elements of an array.
    pub fn elements(&self) -> &[Node] {
        match &self.value {
            Value::Array(a) => a,
            _ => &[],
        }
    }

    /// The member named `key` (the last one, as JSON readers keep the last duplicate).
    pub fn member(&self, key: &str) -> Option<&Member> {
        self.members().iter().rev().find(|m| m.key == key)
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.member(key).map(|m| &m.value)
    }

    /// The value of the first of `keys` present, compared without case, `-` and `_`.
    pub fn get_loose(&self, keys: &[&str]) -> Option<&Member> {
        self.members().iter().rev().find(|m| {
            keys.iter()
                .any(|want| loose_last_alike(&m.key, want) && loose_eq(&m.key, want))
        })
    }

    /// The value at a path of keys.
    pub fn path(&self, keys: &[&str]) -> Option<&Node> {
        keys.iter().try_fold(self, |n, k| n.get(k))
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, if this is one (YAML's and env files' `"true"` strings too).
    pub fn as_bool(&self) -> Option<bool> {
        match &self.value {
            Value::Bool(b) => Some(*b),
            // Compared without case and without a lowercase copy (asked of every value).
            Value::String(s) => {
                let is = |words: &[&str]| words.iter().any(|w| s.eq_ignore_ascii_case(w));
                // YAML 1.1's `y` and `n` too: Compose reads `privileged: y` as true
                // (black-box tester, session 15 round 11: F7).
                if is(&["true", "yes", "on", "1", "y"]) {
                    Some(true)
                } else if is(&["false", "no", "off", "0", "n"]) {
                    Some(false)
                } else {
                    None
                }
            }
            // `NODE_TLS_REJECT_UNAUTHORIZED: 0` in JSON, TOML or YAML is what Node reads.
            Value::Number(n) if n.trim() == "0" => Some(false),
            Value::Number(n) if n.trim() == "1" => Some(true),
            _ => None,
        }
    }

    /// Whether this is an object.
    pub fn is_object(&self) -> bool {
        matches!(self.value, Value::Object(_))
    }

    /// Whether this is an array.
    pub fn is_array(&self) -> bool {
        matches!(self.value, Value::Array(_))
    }

    /// The scalar as text (strings as they are, numbers as written, booleans, `null`).
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Null => Some(String::new()),
            _ => None,
        }
    }

    /// The value as JSON (for hashing tools; positions dropped). Numbers that do not parse as
    /// JSON numbers stay strings.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Number(n) => serde_json::from_str::<serde_json::Number>(n)
                .map(J::Number)
                .unwrap_or_else(|_| J::String(n.clone())),
            Value::String(s) => J::String(s.clone()),
            Value::Array(a) => J::Array(a.iter().map(Node::to_json).collect()),
            Value::Object(m) => J::Object(
                m.iter()
                    .map(|m| (m.key.clone(), m.value.to_json()))
                    .collect(),
            ),
        }
    }

    /// Every string in this subtree, with the dotted key path to it, depth first.
    pub fn walk_strings<'a>(
        &'a self,
        path: &mut Vec<String>,
        f: &mut dyn FnMut(&[String], &'a Node),
    ) {
        match &self.value {
            Value::String(_) => f(path, self),
            Value::Array(a) => {
                for (i, n) in a.iter().enumerate() {
                    path.push(i.to_string());
                    n.walk_strings(path, f);
                    path.pop();
                }
            }
            Value::Object(m) => {
                for m in m {
                    path.push(m.key.clone());
                    m.value.walk_strings(path, f);
                    path.pop();
                }
            }
            _ => {}
        }
    }
}

/// A key compared loosely: lowercase, without `-` and `_`.
pub fn loose(key: &str) -> String {
    // An ASCII key lowercases byte by byte (what `char::to_lowercase` does to ASCII).
    if key.is_ascii() {
        let mut out = String::with_capacity(key.len());
        out.extend(
            key.bytes()
                .filter(|c| !matches!(c, b'-' | b'_'))
                .map(|c| char::from(c.to_ascii_lowercase())),
        );
        return out;
    }
    key.chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether two keys are equal compared loosely (see [`loose`]), without allocating: ASCII bytes
/// are compared as they come, and only a key holding a non-ASCII character takes [`loose`]'s
/// Unicode path (`K`, the Kelvin sign, lowercases to an ASCII `k`). A difference found in the
/// ASCII bytes before any such character is final: both keys agree up to there.
#[inline]
pub fn loose_eq(a: &str, b: &str) -> bool {
    let (x, y) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    loop {
        while i < x.len() && matches!(x[i], b'-' | b'_') {
            i += 1;
        }
        while j < y.len() && matches!(y[j], b'-' | b'_') {
            j += 1;
        }
        match (x.get(i), y.get(j)) {
            (None, None) => return true,
            (Some(p), Some(q)) if p.is_ascii() && q.is_ascii() => {
                if !p.eq_ignore_ascii_case(q) {
                    return false;
                }
                i += 1;
                j += 1;
            }
            (Some(p), None) | (None, Some(p)) if p.is_ascii() => return false,
            _ => return loose(a) == loose(b),
        }
    }
}

/// A quick necessary test for [`loose_eq`]: the last character of a loose form is the key's
/// last one other than `-` and `_`, lowercased, so two ASCII last bytes that differ without
/// case settle it; anything else is left to [`loose_eq`].
#[inline]
fn loose_last_alike(a: &str, b: &str) -> bool {
    let last = |s: &str| s.bytes().rev().find(|c| !matches!(c, b'-' | b'_'));
    match (last(a), last(b)) {
        (Some(x), Some(y)) if x.is_ascii() && y.is_ascii() => x.eq_ignore_ascii_case(&y),
        _ => true,
    }
}

/// One step of a path into a tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seg<'a> {
    /// An object key.
    Key(&'a str),
    /// An array index.
    Index(usize),
}

/// A string of a tree and the path to it, collected once per document.
#[derive(Debug, Clone, Copy)]
pub struct StrAt<'a> {
    /// The path.
    pub path: &'a [Seg<'a>],
    /// The string's node.
    pub node: &'a Node,
}

impl StrAt<'_> {
    /// The last object key on the path.
    pub fn last_key(&self) -> &str {
        last_key(self.path)
    }

    /// The path as a [`KeyPath`].
    pub fn key(&self) -> KeyPath {
        key_path(self.path)
    }
}

/// The last object key of a path.
pub fn last_key<'a>(path: &[Seg<'a>]) -> &'a str {
    path.iter()
        .rev()
        .find_map(|s| match s {
            Seg::Key(k) => Some(*k),
            Seg::Index(_) => None,
        })
        .unwrap_or("")
}

/// A path as a [`KeyPath`].
pub fn key_path(path: &[Seg<'_>]) -> KeyPath {
    KeyPath(
        path.iter()
            .map(|s| match s {
                Seg::Key(k) => (*k).to_owned(),
                Seg::Index(i) => i.to_string(),
            })
            .collect(),
    )
}

/// The strings of a tree with their paths, all paths in one buffer (one allocation per
/// document, not one per string).
#[derive(Debug, Default)]
pub struct Strings<'a> {
    arena: Vec<Seg<'a>>,
    items: Vec<(usize, usize, &'a Node)>,
}

impl<'a> Strings<'a> {
    /// Every string of `root` down to 64 levels, depth first.
    pub fn collect(root: &'a Node) -> Self {
        Self::collect_to(root, 64)
    }

    /// Every string of `root` at any depth, depth first (the parsers bound the depth).
    pub fn collect_unbounded(root: &'a Node) -> Self {
        Self::collect_to(root, usize::MAX)
    }

    fn collect_to(root: &'a Node, max_depth: usize) -> Self {
        fn go<'a>(
            n: &'a Node,
            path: &mut Vec<Seg<'a>>,
            out: &mut Strings<'a>,
            depth: usize,
            max_depth: usize,
        ) {
            if depth > max_depth {
                return;
            }
            match &n.value {
                Value::String(_) => {
                    let start = out.arena.len();
                    out.arena.extend_from_slice(path);
                    out.items.push((start, out.arena.len(), n));
                }
                Value::Array(a) => {
                    for (i, c) in a.iter().enumerate() {
                        path.push(Seg::Index(i));
                        go(c, path, out, depth + 1, max_depth);
                        path.pop();
                    }
                }
                Value::Object(m) => {
                    for m in m {
                        path.push(Seg::Key(&m.key));
                        go(&m.value, path, out, depth + 1, max_depth);
                        path.pop();
                    }
                }
                _ => {}
            }
        }
        let mut out = Strings::default();
        go(root, &mut Vec::with_capacity(16), &mut out, 0, max_depth);
        out
    }

    /// The strings, each with its path.
    pub fn all(&'a self) -> Vec<StrAt<'a>> {
        self.items
            .iter()
            .map(|(s, e, n)| StrAt {
                path: &self.arena[*s..*e],
                node: n,
            })
            .collect()
    }
}

/// A dotted path of keys (`mcpServers.github.headers.Authorization`), the `key` of a finding.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPath(pub Vec<String>);

impl KeyPath {
    /// The path with one more segment.
    pub fn join(&self, seg: impl Into<String>) -> KeyPath {
        let mut v = self.0.clone();
        v.push(seg.into());
        KeyPath(v)
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            if s.parse::<usize>().is_ok() {
                write!(f, "[{s}]")?;
            } else {
                if i > 0 {
                    f.write_str(".")?;
                }
                f.write_str(s)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The ASCII path of `loose` gives what the Unicode one gives.
        #[test]
        fn loose_ascii_path_agrees(a in "[ -~]{0,12}") {
            let unicode: String = a
                .chars()
                .filter(|c| *c != '-' && *c != '_')
                .flat_map(char::to_lowercase)
                .collect();
            proptest::prop_assert_eq!(loose(&a), unicode);
        }

        /// The last-character test never refuses keys whose loose forms are equal.
        #[test]
        fn loose_last_alike_keeps_every_match(a in "[aAkKnN_\\-\u{212A}\u{130}\u{1E9E}iß]{0,6}", b in "[aAkKnN_\\-\u{212A}\u{130}\u{1E9E}iß]{0,6}") {
            proptest::prop_assert!(loose_last_alike(&a, &b) || loose(&a) != loose(&b));
        }

        /// The allocation-free comparison agrees with comparing the loose forms, on keys mixing
        /// case, separators and characters whose lowercase is ASCII or longer (`K`, `İ`, `ẞ`).
        #[test]
        fn loose_eq_agrees_with_loose(a in "[aAkK_\\-\u{212A}\u{130}\u{1E9E}iß]{0,6}", b in "[aAkK_\\-\u{212A}\u{130}\u{1E9E}iß]{0,6}") {
            proptest::prop_assert_eq!(loose_eq(&a, &b), loose(&a) == loose(&b));
        }
    }

    #[test]
    fn key_paths_read_like_config_keys() {
        let p = KeyPath(vec![
            "mcpServers".into(),
            "gh".into(),
            "args".into(),
            "2".into(),
        ]);
        assert_eq!(p.to_string(), "mcpServers.gh.args[2]");
    }

    #[test]
    fn loose_keys_ignore_case_and_separators() {
        assert_eq!(loose("authorization_url"), loose("authorizationUrl"));
        assert_eq!(loose("Recording-Consent"), "recordingconsent");
    }
}
