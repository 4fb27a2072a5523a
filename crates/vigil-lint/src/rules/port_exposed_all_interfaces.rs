//! `port-exposed-all-interfaces`: an internal service published on every interface.
//!
//! ## What it finds
//! Compose `ports` of an internal service (orchestrator, TTS, STT, MCP servers, Redis, Postgres,
//! Qdrant… by service or image name; `[lint] internal_services` replaces the list) written
//! without a host address (`"8080:8080"`, `"6379"`) or on `0.0.0.0`, and `docker run -p` of an
//! MCP server likewise.
//!
//! ## Why it matters
//! Docker publishes such ports past the host firewall; Redis, Qdrant and internal APIs then
//! answer anyone on the network, usually without authentication.

use super::common::{publishes_everywhere, services};
use super::{fx, Check, Cx, Emit, Family, Rule};
use crate::node::Node;
use vigil_report::Severity;

pub(crate) static RULE: Rule = Rule {
    id: "port-exposed-all-interfaces",
    family: Family::Containers,
    severity: Severity::Error,
    summary: "An internal service publishes a port on every interface",
    fix: "Bind it to loopback (\"127.0.0.1:8080:8080\") or drop ports and reach it on the compose network",
    check: Check::File(check),
    examples: &[fx("docker-compose.yml", "services:\n  redis:\n    image: redis:7.4.1\n    ports:\n      - «\"6379:6379\"\n  tts:\n    image: ghcr.io/acme/tts:1.0.0\n    ports:\n      - «\"0.0.0.0:5002:5002\"\n")],
    counterexamples: &[fx("docker-compose.yml", "services:\n  redis:\n    image: redis:7.4.1\n    ports:\n      - \"127.0.0.1:6379:6379\"\n  gateway:\n    image: ghcr.io/acme/vigil:0.1.0\n    ports:\n      - \"8443:8443\"\n")],
};

fn internal(name: &str, image: &str, list: &[String]) -> bool {
    let repo = image.rsplit('/').next().unwrap_or(image);
    let repo = repo
        .split([':', '@'])
        .next()
        .unwrap_or(repo)
        .to_ascii_lowercase();
    let words = |s: &str| {
        s.to_ascii_lowercase()
            .split(['-', '_', '.'])
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let mut all = words(name);
    all.extend(words(&repo));
    all.iter().any(|w| list.iter().any(|l| l == w))
}

fn check(cx: &Cx<'_>, out: &mut Emit<'_>) {
    let list = &cx.settings.internal_services;
    for (name, svc, key) in services(&cx.doc.root) {
        let image = svc.get("image").and_then(Node::as_str).unwrap_or("");
        if !internal(name, image, list) {
            continue;
        }
        let Some(ports) = svc.get("ports") else {
            continue;
        };
        for p in ports.elements() {
            let everywhere = match p.scalar_text() {
                Some(t) => publishes_everywhere(&t),
                None => p
                    .get("host_ip")
                    .and_then(Node::as_str)
                    .is_none_or(|h| h == "0.0.0.0" || h == "::"),
            };
            if everywhere {
                let shown = p
                    .scalar_text()
                    .unwrap_or_else(|| "a long-syntax port".into());
                out.at(
                    p.span,
                    key.join("ports"),
                    format!("internal service `{name}` publishes {shown} on every interface"),
                );
            }
        }
    }
    for s in cx.servers {
        if let Some(r) = s.docker_run() {
            for (i, spec) in &r.ports {
                let i = *i;
                if publishes_everywhere(spec) {
                    out.at(
                        s.argv[i].1.span,
                        s.launch_key.join("args"),
                        format!("`{}` publishes {spec} on every interface", s.name),
                    );
                }
            }
        }
    }
}
