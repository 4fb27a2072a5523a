//! `input-not-password`: a VS Code `inputs` entry that prompts for a secret without
//! `"password": true`.
//!
//! ## What it finds
//! A `promptString` input whose id or description names a key, token, secret or password and
//! that lacks `"password": true`.
//!
//! ## Why it matters
//! Without it VS Code shows the secret as it is typed and may keep it where ordinary settings
//! go; with it the value is masked and stored in the secret storage.

use super::{fx, Check, Cx, Emit, Family, Rule};
use crate::input::Kind;
use crate::node::{KeyPath, Node};
use crate::secrets::is_secret_name;
use vigil_report::Severity;

pub(crate) static RULE: Rule = Rule {
    id: "input-not-password",
    family: Family::Credentials,
    severity: Severity::Warning,
    summary: "A VS Code input prompts for a secret without \"password\": true",
    fix:
        "Add \"password\": true to the input so VS Code masks it and keeps it in its secret storage",
    check: Check::File(check),
    examples: &[
        fx(
            ".vscode/mcp.json",
            r#"{"inputs": [«{"type": "promptString", "id": "github-token", "description": "GitHub token"}],
  "servers": {"gh": {"type": "http", "url": "https://api.githubcopilot.com/mcp/", "headers": {"Authorization": "Bearer ${input:github-token}"}}}}"#,
        ),
        fx(
            ".vscode/mcp.json",
            r#"{"inputs": [«{"type": "promptString", "id": "x", "description": "Value for the server"}],
  "servers": {"gh": {"command": "gh-mcp", "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "${input:x}"}}}}"#,
        ),
        fx(
            "team/bot.code-workspace",
            r#"{"folders": [{"path": "."}], "settings": {"mcp": {"inputs": [«{"type": "promptString", "id": "api-key", "description": "API key"}],
  "servers": {"api": {"type": "http", "url": "https://mcp.example.com/mcp", "headers": {"Authorization": "Bearer ${input:api-key}"}}}}}}"#,
        ),
    ],
    counterexamples: &[fx(
        ".vscode/mcp.json",
        r#"{"inputs": [{"type": "promptString", "id": "github-token", "description": "GitHub token", "password": true},
  {"type": "promptString", "id": "region", "description": "Region"}],
  "servers": {"gh": {"type": "http", "url": "https://api.githubcopilot.com/mcp/", "headers": {"Authorization": "Bearer ${input:github-token}"}}}}"#,
    )],
};

fn check(cx: &Cx<'_>, out: &mut Emit<'_>) {
    for (list, base) in input_lists(cx) {
        inputs(cx, list, &base, out);
    }
}

/// Every VS Code input list of a document (`mcp.json`'s `inputs`, `settings.json`'s
/// `mcp.inputs`, a workspace's `settings.mcp.inputs`) with its key path.
pub(crate) fn input_lists<'a>(cx: &Cx<'a>) -> Vec<(&'a Node, KeyPath)> {
    if cx.doc.kind != Kind::VsCode {
        return Vec::new();
    }
    [
        &["inputs"][..],
        &["mcp", "inputs"],
        &["settings", "mcp", "inputs"],
    ]
    .into_iter()
    .filter_map(|path| {
        let list = cx.doc.root.path(path)?;
        Some((
            list,
            KeyPath(path.iter().map(|s| (*s).to_owned()).collect()),
        ))
    })
    .collect()
}

/// Whether an input asks for a secret: its id or description names one, or its
/// `${input:id}` feeds a secret's place.
pub(crate) fn asks_for_secret(cx: &Cx<'_>, input: &Node) -> bool {
    let id = input.get("id").and_then(Node::as_str).unwrap_or("");
    let desc = input
        .get("description")
        .and_then(Node::as_str)
        .unwrap_or("");
    is_secret_name(id)
        || desc.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| {
            is_secret_name(w) || w.eq_ignore_ascii_case("key") || w.eq_ignore_ascii_case("pat")
        })
        || feeds_secret(cx, id)
}

fn inputs(cx: &Cx<'_>, list: &Node, base: &KeyPath, out: &mut Emit<'_>) {
    for (i, input) in list.elements().iter().enumerate() {
        let id = input.get("id").and_then(Node::as_str).unwrap_or("");
        let secretish = asks_for_secret(cx, input);
        if secretish && input.get("password").and_then(Node::as_bool) != Some(true) {
            out.at(
                input.span,
                base.join(i.to_string()),
                format!("input `{id}` asks for a secret but is not a password input"),
            );
        }
    }
}

/// Whether `${input:id}` is used where a secret goes: under a secret's name (an env variable, a
/// header) or in an `Authorization`-style value.
fn feeds_secret(cx: &Cx<'_>, id: &str) -> bool {
    if id.is_empty() {
        return false;
    }
    let reference = format!("${{input:{id}}}");
    cx.strings.iter().any(|s| {
        s.node.as_str().is_some_and(|v| v.contains(&reference))
            && (is_secret_name(s.last_key())
                || s.node
                    .as_str()
                    .is_some_and(|v| crate::secrets::strip_scheme(v.trim()) != v.trim()))
    })
}
