//! `container-privileged`: a container with every privilege of the host.
//!
//! ## What it finds
//! `docker run --privileged`, `--cap-add ALL|SYS_ADMIN|SYS_MODULE|SYS_RAWIO|DAC_READ_SEARCH`, `--pid|--ipc|--userns|--uts host`, `--security-opt
//! seccomp=unconfined` (AppArmor, SELinux label, system paths alike), `--device /dev/mem` (or
//! a disk), and the same in compose: `privileged: true`, `cap_add` of the same,
//! `pid`/`ipc`/`userns_mode`/`uts: host`, `security_opt`, `devices`. The command line is read
//! through `sudo`, `doas`, `env`, shells, and Docker's global options (`--context`, `-H`).
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
        fx("docker-compose.yml", "services:\n  stt:\n    image: ghcr.io/acme/stt:1.4.2\n    privileged: «\"y\"\n"),
        fx("docker-compose.yml", "services:\n  a:\n    image: ghcr.io/acme/a:1.4.2\n    cap_add: [«SYS_MODULE]\n  b:\n    image: ghcr.io/acme/b:1.4.2\n    cap_add: [«CAP_DAC_READ_SEARCH]\n  c:\n    image: ghcr.io/acme/c:1.4.2\n    cap_add: [«sys_rawio]\n"),
        fx(".mcp.json", r#"{"mcpServers": {"shell": {"command": "sh", "args": ["-c", «"docker run --privileged -v /:/host ghcr.io/acme/mcp-shell:1.0.0"]}}}"#),
        fx(".mcp.json", r#"{"mcpServers": {"shell": {"command": "cmd", "args": ["/c", "docker", "run", «"--privileged", "ghcr.io/acme/mcp-shell:1.0.0"]}}}"#),
        fx("docker-compose.yml", "services:\n  stt:\n    image: ghcr.io/acme/stt:1.4.2\n    pid: «host\n    security_opt:\n      - «seccomp:unconfined\n    devices:\n      - «/dev/mem:/dev/mem\n"),
        fx(".mcp.json", r#"{"mcpServers": {"shell": {"command": "docker", "args": ["run", "--pid", «"host", "--security-opt", «"seccomp=unconfined", "--device", «"/dev/sda", "ghcr.io/acme/mcp-shell:1.0.0"]}}}"#),
        // Value-taking options the parser must know, else their value is read as the image
        // (black-box tester, session 12: F1).
        fx(".mcp.json", r#"{"mcpServers": {"a": {"command": "docker", "args": ["run", "--volumes-from", "data", "--network-alias", "x", "--health-cmd", "true", "--stop-signal", "SIGTERM", "--cidfile", "/tmp/c", "--runtime", "runc", "--annotation", "a=b", "-a", "stdout", «"--privileged", "ghcr.io/acme/a:1.0.0"]},
  "b": {"command": "docker", "args": ["run", "--some-future-option", "v", «"--privileged", "ghcr.io/acme/b:1.0.0"]}}}"#),
        // Global options before `run`, and `sudo`/`doas`/`env` in front (F2).
        fx(".mcp.json", r#"{"mcpServers": {"a": {"command": "docker", "args": ["--context", "x", "-H", "unix:///x", "--log-level", "debug", "run", «"--privileged", "ghcr.io/acme/a:1.0.0"]},
  "b": {"command": "sudo", "args": ["-E", "-u", "root", "docker", "run", «"--privileged", "ghcr.io/acme/b:1.0.0"]},
  "c": {"command": "doas", "args": ["env", "A=1", "docker", "--config", "/c", "container", "run", «"--cap-add=SYS_ADMIN", "ghcr.io/acme/c:1.0.0"]},
  "d": {"command": "sh", "args": ["-c", «"sudo docker -c prod run --privileged ghcr.io/acme/d:1.0.0"]}}}"#),
        // Host namespaces (F11).
        fx(".mcp.json", r#"{"mcpServers": {"a": {"command": "docker", "args": ["run", «"--ipc=host", "--userns", «"host", «"--uts=host", "--security-opt", «"apparmor=unconfined", "ghcr.io/acme/a:1.0.0"]}}}"#),
        // Generic wrappers in front of docker (black-box tester, session 12 round 5: F6).
        fx(".mcp.json", r#"{"mcpServers": {"a": {"command": "nice", "args": ["-n", "10", "docker", "run", «"--privileged", "ghcr.io/acme/a:1.0.0"]},
  "b": {"command": "timeout", "args": ["-k", "5", "10", "docker", "run", «"--privileged", "ghcr.io/acme/b:1.0.0"]},
  "c": {"command": "ionice", "args": ["-c", "2", "nohup", "stdbuf", "-o", "L", "chrt", "10", "docker", "run", «"--privileged", "ghcr.io/acme/c:1.0.0"]},
  "d": {"command": "taskset", "args": ["-c", "0,1", "setsid", "time", "-f", "%e", "unshare", "-S", "0", "xargs", "-n", "1", "docker", "run", «"--privileged", "ghcr.io/acme/d:1.0.0"]}}}"#),
        fx("docker-compose.yml", "services:\n  stt:\n    image: ghcr.io/acme/stt:1.4.2\n    ipc: «host\n    userns_mode: «host\n    cap_add: [«ALL]\n"),
        // The whole of `/dev` (black-box tester, session 14 round 9: F6).
        fx("docker-compose.yml", "services:\n  a:\n    image: ghcr.io/acme/a:1.4.2\n    devices: [«\"/dev:/dev\"]\n"),
        fx(".mcp.json", r#"{"mcpServers": {"a": {"command": "docker", "args": ["run", "--device", «"/dev:/dev", "ghcr.io/acme/a:1.0.0"]}, "b": {"command": "docker", "args": ["run", «"--device=/dev/", "ghcr.io/acme/b:1.0.0"]}}}"#),
    ],
    counterexamples: &[
        fx(".mcp.json", r#"{"mcpServers": {"shell": {"command": "docker", "args": ["run", "-i", "--rm", "--cap-drop", "ALL", "ghcr.io/acme/mcp-shell:1.0.0"]}}}"#),
        fx("docker-compose.yml", "services:\n  stt:\n    image: ghcr.io/acme/stt:1.4.2\n    privileged: false\n    cap_add: [NET_BIND_SERVICE]\n    security_opt: [\"no-new-privileges:true\"]\n    devices: [\"/dev/snd:/dev/snd\"]\n    ipc: shareable\n"),
        // After the image, options are the server's own.
        fx(".mcp.json", r#"{"mcpServers": {"a": {"command": "sudo", "args": ["-u", "bot", "docker", "--context", "x", "run", "--health-cmd", "--privileged", "--ipc", "private", "ghcr.io/acme/a:1.0.0", "--privileged"]}}}"#),
        fx(".mcp.json", r#"{"mcpServers": {"a": {"command": "timeout", "args": ["10", "docker", "run", "ghcr.io/acme/a:1.0.0", "--privileged"]}}}"#),
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
        for ns in ["pid", "ipc", "userns_mode", "uts", "cgroup"] {
            if let Some(p) = svc
                .get(ns)
                .filter(|p| p.as_str().is_some_and(|v| v.eq_ignore_ascii_case("host")))
            {
                out.at(
                    p.span,
                    key.join(ns),
                    format!("service `{name}` shares the host's namespace ({ns}: host)"),
                );
            }
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
            if crate::rules::common::strong_capability(&cap) {
                out.at(
                    node.span,
                    key.join("cap_add"),
                    format!("service `{name}` adds capability {cap}"),
                );
            }
        }
    }
}
