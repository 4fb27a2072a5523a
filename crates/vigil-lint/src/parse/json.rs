//! JSON and JSONC through `jsonc-parser`'s AST, whose nodes carry byte ranges.

use super::{one_line, SyntaxError};
use crate::node::{Member, Node, Span, Value};
use jsonc_parser::ast;

/// Parses JSON with comments and trailing commas (JSONC, as VS Code, Cursor and Zed read
/// their files), and nothing looser: unquoted keys, single quotes, missing commas, hex or
/// non-finite numbers are errors, as `JSON.parse` in the other clients says.
pub(super) fn parse(text: &str) -> Result<Node, SyntaxError> {
    let opts = jsonc_parser::ParseOptions {
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
    };
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
