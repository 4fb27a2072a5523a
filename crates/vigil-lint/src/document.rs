//! One input, parsed: its path as reported, its kind, its text, its tree and its line index.
//! Parsing decides the kind (name first, then shape); a file whose name is a client's own but
//! whose text does not parse is an error naming its line and column.

use crate::input::{by_shape, guess, Guess, Kind, SHAPE_MARKERS};
use crate::lines::LineIndex;
use crate::node::{Node, Span, Value};
use crate::parse::{parse, SyntaxError};
use std::path::Path;

/// A parsed input.
#[derive(Debug, Clone)]
pub struct Document {
    /// The path as reports show it.
    pub path: String,
    /// What it is.
    pub kind: Kind,
    /// Its text.
    pub text: String,
    /// Its tree (`null` for env files and source code, which rules read as text).
    pub root: Node,
    /// Offsets to lines.
    pub lines: LineIndex,
}

/// Why an input could not be read as what its name says it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    /// It did not parse.
    #[error("{path}:{error}")]
    Syntax {
        /// The file.
        path: String,
        /// Where and why.
        error: SyntaxError,
    },
    /// It is not UTF-8.
    #[error("{path}: not UTF-8 text")]
    NotText {
        /// The file.
        path: String,
    },
    /// It is UTF-16 (with or without a byte-order mark): clients may read it, lint does not.
    #[error("{path}: not UTF-8 text (it is UTF-16; save it as UTF-8 to lint it)")]
    Utf16 {
        /// The file.
        path: String,
    },
    /// It nests deeper than the parsers go.
    #[error("{path}: too deeply nested to parse; not linted")]
    TooDeep {
        /// The file.
        path: String,
    },
}

/// A parse error of the file shown as `shown`: too deeply nested, or a syntax error.
fn syntax_error(shown: &str, error: SyntaxError) -> DocumentError {
    if too_deep(&error) {
        DocumentError::TooDeep {
            path: shown.to_owned(),
        }
    } else {
        DocumentError::Syntax {
            path: shown.to_owned(),
            error,
        }
    }
}

/// Whether a parser's message says the input nests too deeply (the parsers' recursion limits).
fn too_deep(e: &SyntaxError) -> bool {
    let m = e.message.to_ascii_lowercase();
    m.contains("nesting depth") || m.contains("recursion limit") || m.contains("too deep")
}

/// Keys that only an MCP client's configuration or a tools snapshot holds.
const STRONG_MARKERS: &[&str] = &[
    "\"mcpServers\"",
    "mcpServers:",
    "\"mcp_servers\"",
    "[mcp_servers",
    "\"context_servers\"",
    "\"modelContextProtocolServers\"",
    "\"inputSchema\"",
];

/// The syntax error of a file that [`Document::from_text`] passed over as not an input: a file
/// named on the command line with a JSON, YAML or TOML name that does not parse is reported
/// with its line and column, not as "not an input".
pub fn named_syntax_error(path: &Path, shown: &str, text: &str) -> Option<DocumentError> {
    match guess(path) {
        Guess::Shape(syntax) => parse(syntax, strip_bom(text))
            .err()
            .map(|e| syntax_error(shown, e)),
        _ => None,
    }
}

impl Document {
    /// Reads `bytes` that came from `path` (shown as `shown`). `Ok(None)`: not an input
    /// `vigil lint` reads (an unknown name with an unknown shape, or an unrelated source file).
    pub fn from_bytes(
        path: &Path,
        shown: &str,
        bytes: Vec<u8>,
    ) -> Result<Option<Document>, DocumentError> {
        let g = guess(path);
        if g == Guess::No {
            return Ok(None);
        }
        let text = String::from_utf8(bytes).map_err(|_| DocumentError::NotText {
            path: shown.to_owned(),
        })?;
        Self::from_text(path, shown, text)
    }

    /// [`Document::from_bytes`] for text.
    pub fn from_text(
        path: &Path,
        shown: &str,
        text: String,
    ) -> Result<Option<Document>, DocumentError> {
        let syntax_err = |error: SyntaxError| syntax_error(shown, error);
        let (kind, root) = match guess(path) {
            Guess::No => return Ok(None),
            Guess::Named(kind, syntax) => {
                let root = parse(syntax, strip_bom(&text)).map_err(syntax_err)?;
                let kind = refine(kind, &root, path);
                (kind, root)
            }
            Guess::Shape(syntax) => {
                let finder =
                    |m: &str| memchr::memmem::find(text.as_bytes(), m.as_bytes()).is_some();
                if !SHAPE_MARKERS.iter().any(|m| finder(m)) {
                    return Ok(None);
                }
                // A file of unknown purpose that does not parse is not ours to judge, unless it
                // nests too deeply to tell: then the run is incomplete.
                // One that names MCP servers or tool schemas is a client's file that its client
                // would refuse too: the error is reported (fail closed), not skipped.
                let root = match parse(syntax, strip_bom(&text)) {
                    Ok(root) => root,
                    Err(e) if too_deep(&e) => return Err(syntax_err(e)),
                    Err(e) if STRONG_MARKERS.iter().any(|m| finder(m)) => {
                        return Err(syntax_err(e))
                    }
                    Err(_) => return Ok(None),
                };
                match by_shape(&root, path) {
                    Some(k) => (k, root),
                    None => return Ok(None),
                }
            }
            Guess::Env => {
                if !mentions_nocase(&text, &["discord", "intents", "permissions"]) {
                    return Ok(None);
                }
                (Kind::EnvFile, Node::new(Span::default(), Value::Null))
            }
            Guess::Source => {
                if !mentions(
                    &text,
                    &[
                        "discord",
                        "Discord",
                        "DISCORD",
                        "Intents",
                        "intents",
                        "generateInvite",
                        "oauth_url",
                        "PermissionFlagsBits",
                    ],
                ) {
                    return Ok(None);
                }
                (Kind::Source, Node::new(Span::default(), Value::Null))
            }
        };
        let lines = LineIndex::new(&text);
        Ok(Some(Document {
            path: shown.to_owned(),
            kind,
            text,
            root,
            lines,
        }))
    }

    /// Reads `text` as a `kind` file in `syntax`, whatever its name and shape say (a compose
    /// file named by another one's `extends.file` or `include`).
    pub fn from_text_as(
        shown: &str,
        text: String,
        kind: Kind,
        syntax: crate::parse::Syntax,
    ) -> Result<Document, DocumentError> {
        let root = parse(syntax, strip_bom(&text)).map_err(|error| syntax_error(shown, error))?;
        let lines = LineIndex::new(&text);
        Ok(Document {
            path: shown.to_owned(),
            kind,
            text,
            root,
            lines,
        })
    }

    /// The files a compose file makes part of its stack: each service's `extends.file` and the
    /// top-level `include` entries (a string, or `path` as a string or a list), as written.
    pub fn compose_references(&self) -> Vec<String> {
        if self.kind != Kind::Compose {
            return Vec::new();
        }
        let mut out = Vec::new();
        if let Some(services) = self.root.get("services") {
            for m in services.members() {
                if let Some(f) = m.value.path(&["extends", "file"]).and_then(Node::as_str) {
                    out.push(f.to_owned());
                }
            }
        }
        for item in self
            .root
            .get("include")
            .map(Node::elements)
            .unwrap_or_default()
        {
            match (item.as_str(), item.get("path")) {
                (Some(p), _) => out.push(p.to_owned()),
                (None, Some(p)) => match p.as_str() {
                    Some(one) => out.push(one.to_owned()),
                    None => out.extend(
                        p.elements()
                            .iter()
                            .filter_map(|e| e.as_str().map(str::to_owned)),
                    ),
                },
                _ => {}
            }
        }
        out.retain(|p| !p.trim().is_empty());
        out
    }

    /// [`Document::region`] of many spans at once (linear in the text and the spans, however
    /// many share a line).
    pub fn regions(&self, spans: &[Span]) -> Vec<(usize, usize, usize, usize)> {
        let offsets: Vec<usize> = spans
            .iter()
            .flat_map(|s| [s.start, s.end.max(s.start)])
            .collect();
        let at = self.lines.positions_utf16(&self.text, &offsets);
        at.chunks_exact(2)
            .map(|p| (p[0].0, p[0].1, p[1].0, p[1].1))
            .collect()
    }

    /// `(line, column)` of a span's start and end, columns in UTF-16 code units.
    pub fn region(&self, span: Span) -> (usize, usize, usize, usize) {
        let (l, c) = self.lines.position_utf16(&self.text, span.start);
        let (el, ec) = self
            .lines
            .position_utf16(&self.text, span.end.max(span.start));
        (l, c, el, ec)
    }
}

fn strip_bom(t: &str) -> &str {
    t.strip_prefix('\u{feff}').unwrap_or(t)
}

fn mentions(text: &str, words: &[&str]) -> bool {
    words
        .iter()
        .any(|w| memchr::memmem::find(text.as_bytes(), w.as_bytes()).is_some())
}

/// Whether `text` holds one of `words` (ASCII, compared without case: `Discord.com`).
fn mentions_nocase(text: &str, words: &[&str]) -> bool {
    aho_corasick::AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(words)
        .is_ok_and(|a| a.is_match(text))
}

/// A named file whose content says more: a VS Code `settings.json` or a JSON called like a
/// client's that holds a manifest (`mcp.servers` with `privacy`) stays what its name says; a
/// `.continue` file with only tools is a tools list.
fn refine(kind: Kind, root: &Node, path: &Path) -> Kind {
    match kind {
        Kind::McpJson | Kind::ClaudeCode if root.get("mcpServers").is_none() => {
            by_shape(root, path).unwrap_or(kind)
        }
        _ => kind,
    }
}

/// Whether a syntax is structured (and so has a tree).
pub fn is_structured(kind: Kind) -> bool {
    !matches!(kind, Kind::EnvFile | Kind::Source)
}
