//! `tool-input-unvalidated`: a tool whose input schema accepts anything.
//!
//! ## What it finds
//! A tool without `inputSchema`, a schema without `type`, an object schema with no `properties`
//! that does not set `additionalProperties: false`, or a property whose schema is empty.
//!
//! ## Why it matters
//! The design asks for validation on every tool input; a schema that accepts anything gives the
//! server nothing to check arguments against and the model nothing to stay within.

use super::{fx, Check, Cx, Emit, Family, Rule};
use crate::node::Node;
use vigil_report::Severity;

pub(crate) static RULE: Rule = Rule {
    id: "tool-input-unvalidated",
    family: Family::ToolPoisoning,
    severity: Severity::Warning,
    summary: "A tool's inputSchema is missing or accepts any input",
    fix: "Give every tool an inputSchema with typed properties (and additionalProperties: false)",
    check: Check::File(check),
    examples: &[fx(
        "tools.json",
        r#"{"tools": [«{"name": "run", "description": "Runs a query."},
  {"name": "find", "description": "Finds.", "inputSchema": {"type": "object", "properties": {"q": «{}}}},
  {"name": "any", "description": "Takes anything.", "inputSchema": «{"type": "object"}}]}"#,
    )],
    counterexamples: &[fx(
        "tools.json",
        r#"{"tools": [{"name": "find", "description": "Finds.", "inputSchema": {"type": "object", "properties": {"q": {"type": "string", "maxLength": 200}}, "required": ["q"]}},
  {"name": "now", "description": "Time.", "inputSchema": {"type": "object", "additionalProperties": false}}]}"#,
    )],
};

fn typed(s: &Node) -> bool {
    [
        "type", "enum", "const", "$ref", "anyOf", "oneOf", "allOf", "not",
    ]
    .iter()
    .any(|k| s.get(k).is_some())
}

fn check(cx: &Cx<'_>, out: &mut Emit<'_>) {
    for t in cx.tools {
        let Some(schema) = t
            .node
            .get("inputSchema")
            .or_else(|| t.node.get("input_schema"))
        else {
            out.at(
                t.node.span,
                &t.key,
                format!("tool `{}` has no inputSchema", t.name),
            );
            continue;
        };
        let key = t.key.join("inputSchema");
        if !schema.is_object() || !typed(schema) {
            out.at(
                schema.span,
                &key,
                format!("the inputSchema of `{}` has no type", t.name),
            );
            continue;
        }
        let props = schema.get("properties");
        let closed = schema
            .get("additionalProperties")
            .is_some_and(|a| a.as_bool() == Some(false) || a.is_object());
        if props.is_none_or(|p| p.members().is_empty())
            && !closed
            && schema.get("type").and_then(Node::as_str) == Some("object")
        {
            out.at(
                schema.span,
                &key,
                format!("the inputSchema of `{}` accepts any object", t.name),
            );
        }
        for p in props.map(Node::members).unwrap_or_default() {
            if p.value.is_object() && !typed(&p.value) {
                out.at(
                    p.value.span,
                    key.join("properties").join(p.key.clone()),
                    format!("property `{}` of `{}` accepts any value", p.key, t.name),
                );
            }
        }
    }
}
