//! `container-host-mount`: a container given the host's root, system folders or a home.
//!
//! ## What it finds
//! `-v /:/host`, `-v $HOME:/data`, `--mount src=/etc,…`, and compose `volumes` whose source is
//! `/`, `/etc`, `/root`, `/home`, a home directory, `/proc`, `/sys` (or inside them), `/dev` (or
//! a disk or memory in it), `/var/lib/docker`,
//! `/srv`, `/opt`, `/usr`, `/mnt`, or a credential folder (`~/.ssh`, `.aws`, `.gnupg`, `.kube`,
//! `.docker`, `.config/gcloud`, `.npmrc`, `.pypirc`, `.git-credentials`, `.config/gh`) anywhere,
//! `/etc/shadow`, `/etc/kubernetes`, `/var/lib/kubelet` (a named volume by its bound device).
//!
//! ## Why it matters
//! A server that can read `/` can read every key and token on the machine; one that can write it
//! owns the machine.

use super::common::{compose_items, compose_mount_source, is_host_path, is_socket_file, services};
use super::{fx, Check, Cx, Emit, Family, Rule};
use vigil_report::Severity;

pub(crate) static RULE: Rule = Rule {
    id: "container-host-mount",
    family: Family::Containers,
    severity: Severity::Error,
    summary: "A container mounts the host's root, a system folder or a home directory",
    fix: "Mount only the project folder the server needs, read-only where possible (-v ./data:/data:ro)",
    check: Check::File(check),
    examples: &[
        fx(".mcp.json", r#"{"mcpServers": {"fs": {"command": "docker", "args": ["run", "-i", "--rm", "-v", «"/:/host", "ghcr.io/acme/mcp-fs:1.0.0"]}}}"#),
        fx("docker-compose.yml", "services:\n  mcp-files:\n    image: ghcr.io/acme/mcp-fs:1.0.0\n    volumes:\n      - «/home/alice:/data\n"),
        // Credential folders and system roots (black-box tester, session 12: F11).
        fx("docker-compose.yml", "services:\n  a:\n    image: ghcr.io/acme/a:1.0.0\n    volumes:\n      - «~/.ssh:/root/.ssh:ro\n      - «/root/.ssh:/k\n      - «/home/me/.aws:/aws\n      - «/srv:/srv\n      - «/opt/:/opt\n      - «${HOME}/.config/gcloud:/g\n      - «$HOME/.kube/config:/kube\n"),
        fx(".mcp.json", r#"{"mcpServers": {"a": {"command": "docker", "args": ["run", "-v", «"${HOME}/.docker:/d", "-v", «"/home/bob/.gnupg:/g", "ghcr.io/acme/a:1.0.0"]}}}"#),
        // System credentials, cluster state, package-registry tokens (black-box tester,
        // session 12 round 5: F8).
        fx("docker-compose.yml", "services:\n  a:\n    image: ghcr.io/acme/a:1.0.0\n    volumes:\n      - «/etc/shadow:/s\n      - «/etc/kubernetes:/k\n      - «/var/lib/kubelet:/k2\n      - «~/.npmrc:/n\n      - «~/.pypirc:/p\n      - «~/.git-credentials:/g\n      - «~/.config/gh:/gh\n      - «hostetc:/h\nvolumes:\n  hostetc:\n    driver_opts: {type: none, o: bind, device: /etc/kubernetes/pki}\n"),
        // Inside `/sys` and `/proc`, a disk under `/dev` (black-box tester, session 14 round 9:
        // F6).
        fx("docker-compose.yml", "services:\n  a:\n    image: ghcr.io/acme/a:1.0.0\n    volumes:\n      - «/sys/fs/cgroup:/c:rw\n      - «/proc/sys:/p\n      - «/dev/sda1:/d\n"),
    ],
    counterexamples: &[fx("docker-compose.yml", "services:\n  mcp-files:\n    image: ghcr.io/acme/mcp-fs:1.0.0\n    volumes:\n      - ./data:/data:ro\n      - cache:/cache\n      - /srv/app/data:/data2\n      - /opt/models:/models:ro\n      - ./ssh-notes:/notes\n      - /dev/shm:/dev/shm\n      - /dev/snd:/dev/snd\nvolumes:\n  cache: {}\n")],
};

fn check(cx: &Cx<'_>, out: &mut Emit<'_>) {
    for s in cx.servers {
        if let Some(r) = s.docker_run() {
            for (i, src) in &r.mounts {
                let i = *i;
                if is_host_path(src) && !is_socket_file(src) {
                    out.at(
                        s.argv[i].1.span,
                        s.launch_key.join("args"),
                        format!("`{}` mounts the host's `{src}`", s.name),
                    );
                }
            }
        }
    }
    for (name, svc, key) in services(&cx.doc.root) {
        for (v, node) in svc.get("volumes").map(compose_items).unwrap_or_default() {
            let src = compose_mount_source(&cx.doc.root, &v);
            let src = src.as_str();
            if is_host_path(src) && !is_socket_file(src) {
                out.at(
                    node.span,
                    key.join("volumes"),
                    format!("service `{name}` mounts the host's `{src}`"),
                );
            }
        }
    }
}
