//! JSON and JSONC through `jsonc-parser`: its scanner's tokens (which carry byte ranges) go
//! straight into the tree ([`fast`]); a file the fast path does not take whole (any error, a
//! deep nesting) is read again through `jsonc-parser`'s AST, which decides and words the error.

use super::{one_line, SyntaxError};
use crate::node::{Member, Node, Span, Value};
use jsonc_parser::ast;

/// What the AST reader accepts: JSON with comments and trailing commas (VS Code's JSONC), and
/// nothing looser.
fn ast_options() -> jsonc_parser::ParseOptions {
    jsonc_parser::ParseOptions {
        allow_comments: true,
        allow_trailing_commas: true,
        allow_loose_object_property_names: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    }
}

/// Parses JSON with comments and trailing commas (JSONC, as VS Code, Cursor and Zed read
/// their files), and nothing looser: unquoted keys, single quotes, missing commas, hex or
/// non-finite numbers are errors, as `JSON.parse` in the other clients says.
pub(super) fn parse(text: &str) -> Result<Node, SyntaxError> {
    if let Some(root) = fast::parse(text) {
        return Ok(root);
    }
    let opts = ast_options();
    let collect = jsonc_parser::CollectOptions::default();
    let parsed = jsonc_parser::parse_to_ast(text, &collect, &opts).map_err(|e| SyntaxError {
        line: e.line_display(),
        column: e.column_display(),
        message: one_line(&e.kind().to_string()),
    })?;
    Ok(match parsed.value {
        Some(v) => convert(&v),
        None => Node::new(Span::default(), Value::Null),
    })
}

fn span(r: jsonc_parser::common::Range) -> Span {
    Span::new(r.start, r.end)
}

fn convert(v: &ast::Value<'_>) -> Node {
    match v {
        ast::Value::StringLit(s) => Node::new(span(s.range), Value::String(s.value.to_string())),
        ast::Value::NumberLit(n) => Node::new(span(n.range), Value::Number(n.value.to_owned())),
        ast::Value::BooleanLit(b) => Node::new(span(b.range), Value::Bool(b.value)),
        ast::Value::NullKeyword(n) => Node::new(span(n.range), Value::Null),
        ast::Value::Array(a) => Node::new(
            span(a.range),
            Value::Array(a.elements.iter().map(convert).collect()),
        ),
        ast::Value::Object(o) => Node::new(
            span(o.range),
            Value::Object(
                o.properties
                    .iter()
                    .map(|p| {
                        let (key, key_span) = match &p.name {
                            ast::ObjectPropName::String(s) => (s.value.to_string(), span(s.range)),
                            ast::ObjectPropName::Word(w) => (w.value.to_owned(), span(w.range)),
                        };
                        Member {
                            key,
                            key_span,
                            value: convert(&p.value),
                        }
                    })
                    .collect(),
            ),
        ),
    }
}

/// The tree built from `jsonc-parser`'s tokens, without its AST in between (no second tree,
/// no conversion pass). It accepts a subset of what [`parse`]'s AST reading accepts (strict
/// JSONC: comments, trailing commas, nothing looser; at most [`fast::MAX_DEPTH`] levels) and
/// builds the same tree; for anything else it returns `None` and the AST reading decides.
mod fast {
    use crate::node::{Member, Node, Span, Value};
    use jsonc_parser::tokens::Token;
    use jsonc_parser::{Scanner, ScannerOptions};

    /// Deeper documents go to the AST reading (whose limit counts objects, arrays and
    /// properties: 512).
    pub(super) const MAX_DEPTH: usize = 200;

    pub(super) fn parse(text: &str) -> Option<Node> {
        let opts = ScannerOptions {
            allow_single_quoted_strings: false,
            allow_hexadecimal_numbers: false,
            allow_unary_plus_numbers: false,
            allow_bare_decimal_point_numbers: false,
            allow_non_finite_numbers: false,
            allow_extended_string_escapes: false,
        };
        let mut sc = Scanner::new(text, &opts);
        let root = match next(&mut sc)? {
            None => Node::new(Span::default(), Value::Null),
            Some(t) => value(&mut sc, t, 0)?,
        };
        // One root value only.
        match next(&mut sc)? {
            None => Some(root),
            Some(_) => None,
        }
    }

    /// The next token that is not a comment; `None` on a scanner error.
    fn next<'a>(sc: &mut Scanner<'a>) -> Option<Option<Token<'a>>> {
        loop {
            match sc.scan() {
                Ok(Some(Token::CommentLine(_) | Token::CommentBlock(_))) => continue,
                Ok(t) => return Some(t),
                Err(_) => return None,
            }
        }
    }

    fn span(sc: &Scanner<'_>) -> Span {
        Span::new(sc.token_start(), sc.token_end())
    }

    fn value<'a>(sc: &mut Scanner<'a>, tok: Token<'a>, depth: usize) -> Option<Node> {
        let at = span(sc);
        let v = match tok {
            Token::String(s) => Value::String(s.into_owned()),
            Token::Number(n) => Value::Number(n.to_owned()),
            Token::Boolean(b) => Value::Bool(b),
            Token::Null => Value::Null,
            Token::OpenBrace if depth < MAX_DEPTH => return object(sc, at.start, depth + 1),
            Token::OpenBracket if depth < MAX_DEPTH => return array(sc, at.start, depth + 1),
            _ => return None,
        };
        Some(Node::new(at, v))
    }

    fn object<'a>(sc: &mut Scanner<'a>, start: usize, depth: usize) -> Option<Node> {
        let mut members = Vec::new();
        let mut tok = next(sc)?;
        loop {
            let key = match tok? {
                Token::CloseBrace => break,
                Token::String(k) => k.into_owned(),
                _ => return None,
            };
            let key_span = span(sc);
            if next(sc)?? != Token::Colon {
                return None;
            }
            let first = next(sc)??;
            let v = value(sc, first, depth)?;
            members.push(Member {
                key,
                key_span,
                value: v,
            });
            match next(sc)?? {
                // A trailing comma is allowed: the loop then sees `}`.
                Token::Comma => tok = next(sc)?,
                Token::CloseBrace => break,
                _ => return None,
            }
        }
        Some(Node::new(
            Span::new(start, sc.token_end()),
            Value::Object(members),
        ))
    }

    fn array<'a>(sc: &mut Scanner<'a>, start: usize, depth: usize) -> Option<Node> {
        let mut items = Vec::new();
        let mut tok = next(sc)?;
        loop {
            match tok? {
                Token::CloseBracket => break,
                t => items.push(value(sc, t, depth)?),
            }
            match next(sc)?? {
                Token::Comma => tok = next(sc)?,
                Token::CloseBracket => break,
                _ => return None,
            }
        }
        Some(Node::new(
            Span::new(start, sc.token_end()),
            Value::Array(items),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The AST reading alone, as before the fast path.
    fn by_ast(text: &str) -> Result<Node, SyntaxError> {
        let opts = ast_options();
        let parsed = jsonc_parser::parse_to_ast(text, &Default::default(), &opts).map_err(|e| {
            SyntaxError {
                line: e.line_display(),
                column: e.column_display(),
                message: one_line(&e.kind().to_string()),
            }
        })?;
        Ok(parsed
            .value
            .map_or(Node::new(Span::default(), Value::Null), |v| convert(&v)))
    }

    #[test]
    fn the_fast_path_builds_the_ast_readings_tree_or_steps_aside() {
        let deep = format!("{}{}", "[".repeat(300), "]".repeat(300));
        let deep_objects = format!("{}1{}", "{\"a\":".repeat(250), "}".repeat(250));
        for t in [
            "",
            "  // only a comment\n",
            "{}",
            "[]",
            "{\"a\": 1, \"b\": [true, false, null, -1.5e3, \"x\\ny\\u00e9\"], \"c\": {},}",
            "{\n  // c\n  \"servers\": {\"a\": {\"url\": \"http://x\", /* b */ },\n  },\n}\n",
            "[1, 2,]",
            "{\"a\": 1, \"a\": 2}",
            "\"just a string\"",
            "{,}",
            "[,]",
            "[1,,]",
            "{\"a\" 1}",
            "{\"a\": 1 \"b\": 2}",
            "[1 2]",
            "{a: 1}",
            "{'a': 1}",
            "[0x10]",
            "[+1]",
            "[.5]",
            "[NaN]",
            "[\"\\x41\"]",
            "{} {}",
            "{\"a\": }",
            "{\"a\": 1",
            "[1",
            "[1]]",
            "{\"a\": 1,}}",
            "nul",
            "[\"\\ud800\"]",
            deep.as_str(),
            deep_objects.as_str(),
        ] {
            let ast = by_ast(t);
            match fast::parse(t) {
                Some(n) => assert_eq!(Ok(n), ast, "{t}"),
                None => assert_eq!(parse(t), ast, "{t}"),
            }
        }
        // The fast path takes the client fixtures whole, with the AST reading's tree.
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../vigil/tests/lint-clients/clean");
        let mut stack = vec![root];
        let mut n = 0;
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "json") {
                    let t = std::fs::read_to_string(&p).unwrap();
                    let t = t.strip_prefix('\u{feff}').unwrap_or(&t);
                    assert_eq!(fast::parse(t).map(Ok), Some(by_ast(t)), "{}", p.display());
                    n += 1;
                }
            }
        }
        assert!(n >= 8, "{n}");
        // The fast path takes ordinary files whole.
        assert!(fast::parse(
            "{\"mcpServers\": {\"a\": {\"command\": \"x\", \"args\": [\"-y\"]}},}"
        )
        .is_some());
    }
}
