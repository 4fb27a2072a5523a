//! `container-host-network`: a container on the host's network.
//!
//! ## What it finds
//! `docker run --network host` (`--net=host`) and compose `network_mode: host`.
//!
//! ## Why it matters
//! The container then reaches every service bound to the host's loopback (databases, admin
//! ports, the gateway's upstreams) and its own ports listen on every interface.

use super::common::services;
use super::{fx, Check, Cx, Emit, Family, Rule};
use vigil_report::Severity;

pub(crate) static RULE: Rule = Rule {
    id: "container-host-network",
    family: Family::Containers,
    severity: Severity::Error,
    summary: "A container shares the host's network",
    fix: "Use a bridge network and publish only the ports needed, on 127.0.0.1",
    check: Check::File(check),
    examples: &[
        fx(".vscode/mcp.json", r#"{"servers": {"x": {"type": "stdio", "command": "docker", "args": ["run", "-i", "--rm", «"--network=host", "ghcr.io/acme/mcp-x:1.0.0"]}}}"#),
        fx("compose.yaml", "services:\n  redis:\n    image: redis:7.4.1\n    network_mode: «host\n"),
        // A default (black-box tester, session 12 round 5: F9).
        fx("compose.yaml", "services:\n  redis:\n    image: redis:7.4.1\n    network_mode: «${NET:-host}\n"),
        // A nested default (black-box tester, session 12 round 6: F5).
        fx("compose.yaml", "services:\n  redis:\n    image: redis:7.4.1\n    network_mode: «\"${NET:-${NET2:-host}}\"\n"),
    ],
    counterexamples: &[fx("compose.yaml", "services:\n  redis:\n    image: redis:7.4.1\n    networks: [backend]\nnetworks:\n  backend: {}\n")],
};

fn check(cx: &Cx<'_>, out: &mut Emit<'_>) {
    for s in cx.servers {
        if let Some(r) = s.docker_run() {
            for &i in &r.host_network {
                out.at(
                    s.argv[i].1.span,
                    s.launch_key.join("args"),
                    format!("`{}` runs its container on the host network", s.name),
                );
            }
        }
    }
    for (name, svc, key) in services(&cx.doc.root) {
        if let Some(n) = svc
            .get("network_mode")
            // `${NET:-host}` is judged by its default.
            .filter(|n| n.as_str().map(super::common::with_defaults).as_deref() == Some("host"))
        {
            out.at(
                n.span,
                key.join("network_mode"),
                format!("service `{name}` uses the host network"),
            );
        }
    }
}
