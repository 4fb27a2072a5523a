//! `debug-logging-enabled`: logging switched to a level that writes requests.
//!
//! ## What it finds
//! `LOG_LEVEL=debug|trace|verbose|silly|all` (and `*_LOG_LEVEL`, `RUST_LOG`), `DEBUG=*`,
//! `NODE_DEBUG=…`, `LOG_BODIES`, `LOG_REQUESTS` or `LOG_PAYLOADS` on, `--debug`, `--verbose`,
//! `--trace`, `--log-level debug`, and a manifest's `logging.level: debug` or
//! `log_arguments: true`.
//!
//! ## Why it matters
//! Debug logs of MCP servers and bots carry tool arguments, transcripts and tokens; the design
//! asks that sensitive data is never logged.

use super::common::{compose_items, services};
use super::{fx, Check, Cx, Emit, Family, Rule};
use crate::node::{loose, KeyPath, Span};
use vigil_report::Severity;

pub(crate) static RULE: Rule = Rule {
    id: "debug-logging-enabled",
    family: Family::Manifest,
    severity: Severity::Warning,
    summary: "Debug or request logging is on, which writes arguments and tokens to logs",
    fix: "Log at info (LOG_LEVEL=info) and log tool names, not arguments or bodies",
    check: Check::File(check),
    examples: &[
        fx(".cursor/mcp.json", r#"{"mcpServers": {"db": {"command": "npx", "args": ["-y", "mcp-postgres@1.0.2"], "env": {"LOG_LEVEL": «"debug"}}}}"#),
        fx("voice-manifest.json", r#"{"logging": {"log_arguments": «true}, "mcp": {"servers": {}}}"#),
        fx("docker-compose.yml", "services:\n  orchestrator:\n    image: ghcr.io/acme/orch:2.0.1\n    environment:\n      - «DEBUG=*\n"),
        fx(".mcp.json", r#"{"mcpServers": {"a": {"command": "a-mcp", "args": [«"--verbose"], "env": {"LOG_LEVEL": «"verbose", "NODE_DEBUG": «"http"}}}}"#),
    ],
    counterexamples: &[fx(".cursor/mcp.json", r#"{"mcpServers": {"db": {"command": "npx", "args": ["-y", "mcp-postgres@1.0.2", "--log-level", "info"], "env": {"LOG_LEVEL": "info", "DEBUG": "false", "NODE_DEBUG": ""}}}}"#)],
};

fn noisy(name: &str, value: &str) -> bool {
    let k = loose(name);
    if !noisy_name(&k) {
        return false;
    }
    let v = value.trim().to_ascii_lowercase();
    let level = k == "loglevel" || k.ends_with("loglevel") || k == "rustlog" || k == "level";
    // Levels below info: `debug`, `trace`, and the `verbose`/`silly`/`all` of npm, winston
    // and log4js.
    let low = v.contains("debug")
        || v.contains("trace")
        || matches!(v.as_str(), "verbose" | "silly" | "all" | "finest");
    (level && low)
        // Node's core debug output (`NODE_DEBUG=http,tls`) writes requests and headers.
        || (k == "nodedebug" && !v.is_empty() && !matches!(v.as_str(), "0" | "false" | "off" | "no"))
        || (k == "debug" && (v == "*" || v.contains(":*") || v == "true" || v == "1"))
        || ((k.contains("logbod")
            || k.contains("logrequest")
            || k.contains("logpayload")
            || k == "logarguments"
            || k == "logargs")
            && matches!(v.as_str(), "true" | "1" | "yes" | "on"))
}

/// Whether a key (read loosely: [`loose`]) is one whose value [`noisy`] judges: a log level,
/// `NODE_DEBUG`, `DEBUG`, or a switch that logs bodies, requests, payloads or arguments.
fn noisy_name(k: &str) -> bool {
    k.ends_with("loglevel")
        || k == "rustlog"
        || k == "level"
        || k == "nodedebug"
        || k == "debug"
        || k.contains("logbod")
        || k.contains("logrequest")
        || k.contains("logpayload")
        || k == "logarguments"
        || k == "logargs"
}

fn check(cx: &Cx<'_>, out: &mut Emit<'_>) {
    let hit = |span: Span, key: &KeyPath, what: &str, out: &mut Emit<'_>| {
        out.at(
            span,
            key,
            format!("`{what}` turns on logging that can record arguments and tokens"),
        );
    };
    for s in cx.servers {
        for m in &s.env {
            if let Some(v) = m.value.scalar_text() {
                if noisy(&m.key, &v) {
                    hit(
                        m.value.span,
                        &s.launch_key.join("env").join(m.key.clone()),
                        &format!("{}={v}", m.key),
                        out,
                    );
                }
            }
        }
        let argv = &s.argv;
        for (i, (a, node)) in argv.iter().enumerate().skip(1) {
            let next = argv.get(i + 1).map(|x| x.0.as_str()).unwrap_or("");
            let on = matches!(a.as_str(), "--debug" | "--verbose" | "--trace")
                || a.strip_prefix("--log-level=")
                    .is_some_and(|v| noisy("log_level", v))
                || (a == "--log-level" && noisy("log_level", next));
            if on {
                hit(node.span, &s.launch_key.join("args"), a, out);
            }
        }
    }
    if cx.doc.kind == crate::input::Kind::VoiceManifest {
        if let Some(l) = cx.doc.root.get("logging") {
            for m in l.members() {
                if let Some(v) = m.value.scalar_text() {
                    if noisy(&m.key, &v) {
                        hit(
                            m.value.span,
                            &KeyPath(vec!["logging".into(), m.key.clone()]),
                            &format!("{}: {v}", m.key),
                            out,
                        );
                    }
                }
            }
        }
    }
    if cx.doc.kind == crate::input::Kind::Compose {
        for (_, svc, key) in services(&cx.doc.root) {
            let Some(env) = svc.get("environment") else {
                continue;
            };
            for (i, (text, node)) in compose_items(env).into_iter().enumerate() {
                if let Some((k, v)) = text.split_once('=') {
                    if noisy(k, v) {
                        let key = if env.is_array() {
                            key.join("environment").join(i.to_string())
                        } else {
                            key.join("environment").join(k)
                        };
                        hit(node.span, &key, &text, out);
                    }
                }
            }
        }
    }
}
