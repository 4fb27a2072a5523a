//! `container-docker-socket`: the Docker socket mounted into a container.
//!
//! ## What it finds
//! `-v /var/run/docker.sock:…` and compose volumes of `docker.sock` (or Podman's socket), a
//! folder holding it (`/`, `/var/run`, `/run`, `/run/user/UID`), and a `${VAR:-…docker.sock}`
//! default.
//!
//! ## Why it matters
//! Whoever talks to the socket can start a privileged container with the host's disk mounted:
//! it is root on the host.

use super::common::{compose_items, is_socket, mount_source, services};
use super::{fx, Check, Cx, Emit, Family, Rule};
use vigil_report::Severity;

pub(crate) static RULE: Rule = Rule {
    id: "container-docker-socket",
    family: Family::Containers,
    severity: Severity::Error,
    summary: "The Docker socket is mounted into a container",
    fix: "Do not mount docker.sock; if a service must manage containers, put a socket proxy with an allow-list in front",
    check: Check::File(check),
    examples: &[
        fx("docker-compose.yml", "services:\n  orchestrator:\n    image: ghcr.io/acme/orch:2.0.1\n    volumes:\n      - «/var/run/docker.sock:/var/run/docker.sock\n"),
        fx(".mcp.json", r#"{"mcpServers": {"docker": {"command": "docker", "args": ["run", "-i", "--rm", "-v", «"/var/run/docker.sock:/var/run/docker.sock", "ghcr.io/acme/mcp-docker:1.0.0"]}}}"#),
        // A folder that holds the socket, or a default that names it (black-box tester,
        // session 12: F3).
        fx("docker-compose.yml", "services:\n  a:\n    image: ghcr.io/acme/a:2.0.1\n    volumes:\n      - «/var/run:/var/run\n      - «/run/:/host-run\n      - «${DOCKER_SOCK:-/var/run/docker.sock}:/x\n      - «type: bind\n        source: /run/user/1000\n        target: /r\n"),
        fx(".mcp.json", r#"{"mcpServers": {"docker": {"command": "docker", "args": ["run", "-i", "--rm", "-v", «"/var/run:/var/run", "--mount", «"type=bind,src=${SOCK-/run/docker.sock},dst=/s", "ghcr.io/acme/mcp-docker:1.0.0"]}}}"#),
    ],
    counterexamples: &[fx("docker-compose.yml", "services:\n  orchestrator:\n    image: ghcr.io/acme/orch:2.0.1\n    volumes:\n      - ./config:/config:ro\n      - ${DATA_DIR:-./data}:/data\n      - /run/secrets/app:/s:ro\n")],
};

fn check(cx: &Cx<'_>, out: &mut Emit<'_>) {
    for s in cx.servers {
        if let Some(r) = s.docker_run() {
            for (i, src) in &r.mounts {
                let i = *i;
                if is_socket(src) {
                    out.at(
                        s.argv[i].1.span,
                        s.launch_key.join("args"),
                        format!("`{}` mounts the container engine's socket", s.name),
                    );
                }
            }
        }
    }
    for (name, svc, key) in services(&cx.doc.root) {
        for (v, node) in svc.get("volumes").map(compose_items).unwrap_or_default() {
            if is_socket(&mount_source(&v)) {
                out.at(
                    node.span,
                    key.join("volumes"),
                    format!("service `{name}` mounts the container engine's socket"),
                );
            }
        }
    }
}
