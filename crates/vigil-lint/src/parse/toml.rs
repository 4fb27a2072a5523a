//! TOML through `toml_edit`'s immutable document, whose items keep their spans.

use super::{one_line, SyntaxError};
use crate::lines::LineIndex;
use crate::node::{Member, Node, Span, Value};
use toml_edit::{ImDocument, Item, Table, Value as TValue};

/// Parses a TOML document.
pub(super) fn parse(text: &str) -> Result<Node, SyntaxError> {
    let doc = ImDocument::parse(text).map_err(|e| {
        let (line, column) = e
            .span()
            .map_or((1, 1), |s| LineIndex::new(text).position(s.start));
        SyntaxError {
            line,
            column,
            message: one_line(e.message()),
        }
    })?;
    Ok(table(doc.as_table(), Span::default()))
}

fn sp(r: Option<std::ops::Range<usize>>) -> Span {
    r.map_or_else(Span::default, |r| Span::new(r.start, r.end))
}

fn table(t: &Table, fallback: Span) -> Node {
    let span = t.span().map_or(fallback, |r| Span::new(r.start, r.end));
    let members = t
        .iter()
        .filter_map(|(k, item)| {
            let key = t.key(k)?;
            let key_span = sp(key.span());
            item_node(item, key_span).map(|value| Member {
                key: k.to_owned(),
                key_span,
                value,
            })
        })
        .collect();
    Node::new(span, Value::Object(members))
}

fn item_node(item: &Item, key_span: Span) -> Option<Node> {
    Some(match item {
        Item::None => return None,
        Item::Value(v) => value(v),
        Item::Table(t) => table(t, key_span),
        Item::ArrayOfTables(a) => Node::new(
            sp(a.span()),
            Value::Array(a.iter().map(|t| table(t, key_span)).collect()),
        ),
    })
}

fn value(v: &TValue) -> Node {
    let span = sp(v.span());
    let value = match v {
        TValue::String(s) => Value::String(s.value().clone()),
        TValue::Integer(i) => Value::Number(i.value().to_string()),
        TValue::Float(f) => Value::Number(f.value().to_string()),
        TValue::Boolean(b) => Value::Bool(*b.value()),
        TValue::Datetime(d) => Value::String(d.value().to_string()),
        TValue::Array(a) => Value::Array(a.iter().map(value).collect()),
        TValue::InlineTable(t) => Value::Object(
            t.iter()
                .filter_map(|(k, v)| {
                    let key = t.key(k)?;
                    Some(Member {
                        key: k.to_owned(),
                        key_span: sp(key.span()),
                        value: value(v),
                    })
                })
                .collect(),
        ),
    };
    Node::new(span, value)
}
