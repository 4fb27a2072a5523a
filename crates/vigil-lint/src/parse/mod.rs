//! Parsers that keep positions, one per syntax, all producing [`crate::node::Node`]s:
//! `jsonc-parser` for JSON and JSONC (comments and trailing commas, as VS Code and Zed write
//! them), `serde-saphyr` for YAML, `toml_edit` for TOML. A syntax error names its line and
//! column.

mod json;
mod toml;
mod yaml;

use crate::node::Node;

/// A syntax an input is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Syntax {
    /// JSON, with comments and trailing commas allowed.
    Json,
    /// YAML (the first document).
    Yaml,
    /// TOML.
    Toml,
}

/// Why a file did not parse: where, and what the parser said (never a value from the file).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct SyntaxError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The parser's message.
    pub message: String,
}

/// Parses `text` as `syntax`. An empty document is `null`.
pub fn parse(syntax: Syntax, text: &str) -> Result<Node, SyntaxError> {
    match syntax {
        Syntax::Json => json::parse(text),
        Syntax::Yaml => yaml::parse(text),
        Syntax::Toml => toml::parse(text),
    }
}

/// One line of a message: parser messages may span lines or quote the input at length.
fn one_line(message: &str) -> String {
    let first = message.lines().next().unwrap_or("").trim();
    let mut s: String = first.chars().take(160).collect();
    if s.is_empty() {
        s = "syntax error".into();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lines::LineIndex;
    use crate::node::Value;

    fn pos(text: &str, n: &Node) -> (usize, usize) {
        LineIndex::new(text).position(n.span.start)
    }

    #[test]
    fn jsonc_keeps_positions_comments_and_trailing_commas() {
        let t =
            "{\n  // servers\n  \"servers\": {\n    \"a\": { \"url\": \"http://x\", },\n  },\n}\n";
        let n = parse(Syntax::Json, t).unwrap();
        let url = n.path(&["servers", "a", "url"]).unwrap();
        assert_eq!(url.as_str(), Some("http://x"));
        assert_eq!(pos(t, url), (4, 19));
        let m = n.get("servers").unwrap().member("a").unwrap();
        assert_eq!(LineIndex::new(t).position(m.key_span.start), (4, 5));
    }

    #[test]
    fn yaml_keeps_positions() {
        let t = "services:\n  redis:\n    image: redis\n    ports:\n      - \"6379:6379\"\n    privileged: true\n";
        let n = parse(Syntax::Yaml, t).unwrap();
        let port = &n.path(&["services", "redis", "ports"]).unwrap().elements()[0];
        assert_eq!(port.as_str(), Some("6379:6379"));
        assert_eq!(pos(t, port).0, 5);
        let p = n.path(&["services", "redis", "privileged"]).unwrap();
        assert_eq!(p.value, Value::Bool(true));
        assert_eq!(pos(t, p), (6, 17));
        let m = n.get("services").unwrap().member("redis").unwrap();
        assert_eq!(LineIndex::new(t).position(m.key_span.start), (2, 3));
    }

    #[test]
    fn toml_keeps_positions() {
        let t = "[mcp_servers.gh]\ncommand = \"npx\"\nargs = [\"-y\", \"pkg\"]\nenv = { TOKEN = \"x\" }\n";
        let n = parse(Syntax::Toml, t).unwrap();
        let a = &n.path(&["mcp_servers", "gh", "args"]).unwrap().elements()[1];
        assert_eq!(a.as_str(), Some("pkg"));
        assert_eq!(pos(t, a), (3, 15));
        let tok = n.path(&["mcp_servers", "gh", "env", "TOKEN"]).unwrap();
        assert_eq!(pos(t, tok), (4, 17));
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        let e = parse(Syntax::Json, "{\n  \"a\": [1,\n").unwrap_err();
        assert!(e.line >= 2, "{e}");
        let e = parse(Syntax::Yaml, "a: [1,\nb: }\n").unwrap_err();
        assert!(e.line >= 1, "{e}");
        let e = parse(Syntax::Toml, "a = 1\nb = \n").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
    }
}
