//! `container-docker-socket`: the Docker socket mounted into a container.
//!
//! ## What it finds
//! `-v /var/run/docker.sock:…` and compose volumes of `docker.sock` (or Podman's socket), a
//! folder holding it (`/`, `/var/run`, `/run`, `/run/user/UID`), and a `${VAR:-…docker.sock}`
//! default; Docker's Windows pipe (`\\.\pipe\docker_engine`, compose `type: npipe`), CRI-O's,
//! cri-dockerd's and buildkit's sockets, a named volume bound (`driver_opts.device`) to one.
//!
//! ## Why it matters
//! Whoever talks to the socket can start a privileged container with the host's disk mounted:
//! it is root on the host.

use super::common::{compose_items, compose_mount_source, is_socket, services};
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
        // Windows' pipe, a named volume bound to /var/run, CRI-O's socket (black-box tester,
        // session 12 round 5: F7).
        fx("docker-compose.yml", "services:\n  a:\n    image: ghcr.io/acme/a:2.0.1\n    volumes:\n      - «type: npipe\n        source: \\\\.\\pipe\\docker_engine\n        target: \\\\.\\pipe\\docker_engine\n      - «runsock:/var/run/docker.sock\n      - «/var/run/crio/crio.sock:/c.sock\n      - data:/data\nvolumes:\n  data: {}\n  runsock:\n    driver_opts: {type: none, o: bind, device: /var/run}\n"),
        fx(".mcp.json", r#"{"mcpServers": {"d": {"command": "docker", "args": ["run", "-v", «"\\\\.\\pipe\\docker_engine:\\\\.\\pipe\\docker_engine", "-v", «"//./pipe/docker_engine://./pipe/docker_engine", "-v", «"/run/containerd/containerd.sock:/c", "ghcr.io/acme/d:1.0.0"]}}}"#),
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
            // A named pipe (`type: npipe`) is Docker's Windows engine pipe in practice.
            let npipe = node.get("type").and_then(crate::node::Node::as_str) == Some("npipe");
            if npipe || is_socket(&compose_mount_source(&cx.doc.root, &v)) {
                out.at(
                    node.span,
                    key.join("volumes"),
                    format!("service `{name}` mounts the container engine's socket"),
                );
            }
        }
    }
}
