//! `container-privileged`: a container with every privilege of the host.
//!
//! ## What it finds
//! `docker run --privileged`, `--cap-add ALL|SYS_ADMIN`, `--pid host`, `--security-opt
//! seccomp=unconfined` (AppArmor, SELinux label, system paths alike), `--device /dev/mem` (or
//! a disk), and the same in compose: `privileged: true`, `cap_add: [ALL|SYS_ADMIN]`,
//! `pid: host`, `security_opt`, `devices`.
//!
//! ## Why it matters
//! A privileged container can mount the host's disks and load kernel modules: escaping it is a
//! formality, so the server inside is as powerful as root on the host.

use super::common::{compose_items, services};
use super::{fx, Check, Cx, Emit, Family, Rule};
use vigil_report::Severity;

pub(crate) static RULE: Rule = Rule {
    id: "container-privileged",
    family: Family::Containers,
    severity: Severity::Error,
    summary: "A container runs privileged or with CAP_SYS_ADMIN",
    fix: "Drop --privileged and cap_add ALL/SYS_ADMIN; add only the single capability the service needs",
    check: Check::File(check),
    examples: &[
        fx(".mcp.json", r#"{"mcpServers": {"shell": {"command": "docker", "args": ["run", "-i", "--rm", «"--privileged", "ghcr.io/acme/mcp-shell:1.0.0"]}}}"#),
        fx("docker-compose.yml", "services:\n  stt:\n    image: ghcr.io/acme/stt:1.4.2\n    privileged: «true\n"),
        fx(".mcp.json", r#"{"mcpServers": {"shell": {"command": "sh", "args": ["-c", «"docker run --privileged -v /:/host ghcr.io/acme/mcp-shell:1.0.0"]}}}"#),
        fx(".mcp.json", r#"{"mcpServers": {"shell": {"command": "cmd", "args": ["/c", "docker", "run", «"--privileged", "ghcr.io/acme/mcp-shell:1.0.0"]}}}"#),
        fx("docker-compose.yml", "services:\n  stt:\n    image: ghcr.io/acme/stt:1.4.2\n    pid: «host\n    security_opt:\n      - «seccomp:unconfined\n    devices:\n      - «/dev/mem:/dev/mem\n"),
        fx(".mcp.json", r#"{"mcpServers": {"shell": {"command": "docker", "args": ["run", "--pid", «"host", "--security-opt", «"seccomp=unconfined", "--device", «"/dev/sda", "ghcr.io/acme/mcp-shell:1.0.0"]}}}"#),
    ],
    counterexamples: &[
        fx(".mcp.json", r#"{"mcpServers": {"shell": {"command": "docker", "args": ["run", "-i", "--rm", "--cap-drop", "ALL", "ghcr.io/acme/mcp-shell:1.0.0"]}}}"#),
        fx("docker-compose.yml", "services:\n  stt:\n    image: ghcr.io/acme/stt:1.4.2\n    privileged: false\n    cap_add: [NET_BIND_SERVICE]\n    security_opt: [\"no-new-privileges:true\"]\n    devices: [\"/dev/snd:/dev/snd\"]\n"),
    ],
};

fn check(cx: &Cx<'_>, out: &mut Emit<'_>) {
    for s in cx.servers {
        if let Some(r) = s.docker_run() {
            for &i in &r.privileged {
                out.at(
                    s.argv[i].1.span,
                    s.launch_key.join("args"),
                    format!("`{}` runs its container with `{}`", s.name, s.argv[i].0),
                );
            }
        }
    }
    for (name, svc, key) in services(&cx.doc.root) {
        if let Some(p) = svc.get("privileged").filter(|p| p.as_bool() == Some(true)) {
            out.at(
                p.span,
                key.join("privileged"),
                format!("service `{name}` is privileged"),
            );
        }
        if let Some(p) = svc.get("pid").filter(|p| p.as_str() == Some("host")) {
            out.at(
                p.span,
                key.join("pid"),
                format!("service `{name}` shares the host's process namespace (pid: host)"),
            );
        }
        for (opt, node) in svc
            .get("security_opt")
            .map(compose_items)
            .unwrap_or_default()
        {
            if crate::rules::common::unconfined(&opt) {
                out.at(
                    node.span,
                    key.join("security_opt"),
                    format!("service `{name}` runs with `{opt}`"),
                );
            }
        }
        for (dev, node) in svc.get("devices").map(compose_items).unwrap_or_default() {
            if crate::rules::common::host_device(&dev) {
                out.at(
                    node.span,
                    key.join("devices"),
                    format!("service `{name}` is given the host device `{dev}`"),
                );
            }
        }
        for (cap, node) in svc.get("cap_add").map(compose_items).unwrap_or_default() {
            if matches!(
                cap.to_ascii_uppercase().as_str(),
                "ALL" | "SYS_ADMIN" | "CAP_SYS_ADMIN"
            ) {
                out.at(
                    node.span,
                    key.join("cap_add"),
                    format!("service `{name}` adds capability {cap}"),
                );
            }
        }
    }
}
