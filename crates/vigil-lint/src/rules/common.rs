//! Helpers several rules share: walking a tree's strings with their key paths, finding the
//! string at an offset, reading URLs, deciding whether a server is remote.

use crate::config::Settings;
use crate::model::Server;
use crate::node::{KeyPath, Node, Value};

/// Calls `f` with every string of `root` and its key path.
pub(crate) fn strings<'a>(root: &'a Node, f: &mut dyn FnMut(&KeyPath, &'a Node)) {
    let mut path = Vec::new();
    root.walk_strings(&mut path, &mut |p, n| f(&KeyPath(p.to_vec()), n));
}

/// The innermost string node containing byte `offset`, with its key path. The child whose span
/// holds `offset` is found by binary search first (children are in document order), so one
/// lookup per scan hit stays cheap in a file of thousands of servers (a walk of every node per
/// hit made lint quadratic in its findings); where it holds nothing, every child is walked.
pub(crate) fn string_at(root: &Node, offset: usize) -> Option<(KeyPath, &Node)> {
    fn holds(n: &Node, offset: usize) -> bool {
        n.span.start <= offset && offset < n.span.end.max(n.span.start + 1)
    }
    /// The child at `k` found by binary search, if its span holds `offset`.
    fn child<T>(items: &[T], node: impl Fn(&T) -> &Node, offset: usize) -> Option<usize> {
        let k = items.partition_point(|c| node(c).span.end.max(node(c).span.start + 1) <= offset);
        items.get(k).filter(|c| holds(node(c), offset)).map(|_| k)
    }
    /// The first child, in order, under which `offset` is found (`quick` tried first): every
    /// child is tried when the quick one holds nothing, as a parser may leave a collection's
    /// span short of its items (YAML block sequences).
    fn first<'a>(
        count: usize,
        quick: Option<usize>,
        seg: impl Fn(usize) -> String,
        node: impl Fn(usize) -> &'a Node,
        offset: usize,
        path: &mut Vec<String>,
    ) -> Option<&'a Node> {
        quick.into_iter().chain(0..count).find_map(|i| {
            path.push(seg(i));
            let r = go(node(i), offset, path);
            if r.is_none() {
                path.pop();
            }
            r
        })
    }
    fn go<'a>(n: &'a Node, offset: usize, path: &mut Vec<String>) -> Option<&'a Node> {
        match &n.value {
            Value::String(_) if holds(n, offset) => Some(n),
            Value::Array(items) => first(
                items.len(),
                child(items, |c| c, offset),
                |i| i.to_string(),
                |i| &items[i],
                offset,
                path,
            ),
            Value::Object(members) => first(
                members.len(),
                child(members, |m| &m.value, offset),
                |i| members[i].key.clone(),
                |i| &members[i].value,
                offset,
                path,
            ),
            _ => None,
        }
    }
    let mut path = Vec::new();
    go(root, offset, &mut path).map(|n| (KeyPath(path), n))
}

/// A URL with a scheme and a host, as the `url` crate reads it (the WHATWG URL standard, as
/// Node's `URL` in Claude Desktop, Cursor and VS Code does: `http:host/x`, `http:/host`,
/// `http:\\host\x` and tabs inside are all `http://host/x`).
pub(crate) fn parse_url(s: &str) -> Option<url::Url> {
    let s = s.trim();
    if s.len() > 4096 || !(s.contains("://") || special_scheme(s)) {
        return None;
    }
    url::Url::parse(s).ok().filter(|u| u.host_str().is_some())
}

/// Whether `hay` holds `needle` (ASCII), ignoring ASCII case: what lowercasing `hay` and
/// searching would say, without the copy.
pub(crate) fn contains_nocase(hay: &str, needle: &str) -> bool {
    hay.as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// Whether `s` starts with a scheme the WHATWG standard reads without `//` (`http:`,
/// `https:`, `ws:`, `wss:`), in any case.
pub(crate) fn special_scheme(s: &str) -> bool {
    ["http:", "https:", "ws:", "wss:"]
        .iter()
        .any(|p| s.get(..p.len()).is_some_and(|x| x.eq_ignore_ascii_case(p)))
}

/// The URL a string of a configuration may hold, as a client would read it: the string
/// itself, or the value of an option written `--name=URL` (`--url=…`, `--registry=…`); tabs and
/// line breaks inside are dropped (WHATWG does). `None` when it cannot be a URL.
pub(crate) fn url_candidate(text: &str) -> Option<std::borrow::Cow<'_, str>> {
    // Both `://` and a special scheme need a `:` (dropping tabs and line breaks adds none):
    // most strings have none and are refused at once.
    memchr::memchr(b':', text.as_bytes())?;
    let mut t = text.trim_matches(|c: char| c <= ' ');
    if t.starts_with('-') {
        t = t.split_once('=')?.1.trim_matches(|c: char| c <= ' ');
    }
    let t: std::borrow::Cow<'_, str> = if t.bytes().any(|b| matches!(b, b'\t' | b'\n' | b'\r')) {
        t.replace(['\t', '\n', '\r'], "").into()
    } else {
        t.into()
    };
    (t.contains("://") || special_scheme(&t)).then_some(t)
}

/// The host of a URL, without brackets.
pub(crate) fn host(u: &url::Url) -> String {
    u.host_str()
        .unwrap_or("")
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase()
}

/// Whether a server is reached over the network at a host that is neither loopback nor in
/// `allowed_hosts`.
pub(crate) fn is_remote(s: &Server<'_>, settings: &Settings) -> bool {
    s.parsed_url()
        .is_some_and(|u| !settings.is_trusted_host(&host(u)))
}

/// The compose `services` of a document, name and node.
pub(crate) fn services(root: &Node) -> Vec<(&str, &Node, KeyPath)> {
    root.get("services")
        .map(|s| {
            s.members()
                .iter()
                .filter(|m| m.value.is_object())
                .map(|m| {
                    (
                        m.key.as_str(),
                        &m.value,
                        KeyPath(vec!["services".into(), m.key.clone()]),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A compose `command` or `entrypoint` as words: a list's items, or a string read as shell
/// words (each pointing at the node it came from).
pub(crate) fn compose_argv(n: &Node) -> Vec<(String, &Node)> {
    match n.as_str() {
        Some(text) => crate::model::shell_words(text)
            .into_iter()
            .map(|w| (w, n))
            .collect(),
        None => compose_items(n),
    }
}

/// A compose list or map of strings as `(text, node)` pairs (`environment`, `volumes`,
/// `ports`, `cap_add`); map entries become `KEY=value`.
pub(crate) fn compose_items(n: &Node) -> Vec<(String, &Node)> {
    match &n.value {
        Value::Array(items) => items
            .iter()
            .filter_map(|i| match i.scalar_text() {
                Some(t) => Some((t, i)),
                None => i.get("source").and_then(Node::as_str).map(|src| {
                    let target = i.get("target").and_then(Node::as_str).unwrap_or("");
                    (format!("{src}:{target}"), i)
                }),
            })
            .collect(),
        Value::Object(members) => members
            .iter()
            .map(|m| {
                (
                    format!("{}={}", m.key, m.value.scalar_text().unwrap_or_default()),
                    &m.value,
                )
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The package a launcher runs: `npx -y pkg@1.2.3`, `bunx pkg`, `pnpm dlx pkg`, `npm exec pkg`,
/// `uvx pkg==1.2.3`, `uvx --from SPEC cmd`, `pipx run pkg`, `uv tool run pkg`: the index in
/// `argv`, the spec, and whether it is an npm (`true`) or Python package.
pub(crate) fn launched_package(argv: &[(String, &Node)]) -> Option<(usize, String, bool)> {
    let prog = crate::model::program_name(argv.first()?.0.as_str());
    // `corepack pnpm dlx pkg`, `corepack yarn dlx pkg`: the package manager corepack starts
    // (black-box tester, session 14 round 9: F9).
    if prog == "corepack" {
        return launched_package(&argv[1..]).map(|(i, spec, npm)| (i + 1, spec, npm));
    }
    let sub = |i: usize| argv.get(i).map(|a| a.0.as_str());
    let (npm, start) = match prog.as_str() {
        "npx" | "bunx" | "pnpx" => (true, 1),
        "npm" if matches!(sub(1), Some("exec" | "x")) => (true, 2),
        "pnpm" | "yarn" if sub(1) == Some("dlx") => (true, 2),
        "bun" if sub(1) == Some("x") => (true, 2),
        "uvx" => (false, 1),
        "uv" if sub(1) == Some("tool") && sub(2) == Some("run") => (false, 3),
        "pipx" if sub(1) == Some("run") => (false, 2),
        _ => return None,
    };
    let mut i = start;
    while i < argv.len() {
        let a = argv[i].0.as_str();
        if a == "--" {
            i += 1;
            continue;
        }
        if (npm && matches!(a, "-p" | "--package")) || (!npm && matches!(a, "--from" | "--spec")) {
            return argv.get(i + 1).map(|s| (i + 1, s.0.clone(), npm));
        }
        if let Some(v) = a
            .strip_prefix("--package=")
            .or_else(|| a.strip_prefix("--from="))
        {
            return Some((i, v.to_owned(), npm));
        }
        if a.starts_with('-') {
            // Flags that take a value.
            if matches!(
                a,
                "--python"
                    | "-p"
                    | "--with"
                    | "--index-url"
                    | "--index"
                    | "-c"
                    | "--call"
                    | "--registry"
                    | "--cache"
                    | "--userconfig"
            ) && !npm
                || matches!(
                    a,
                    "-c" | "--call" | "--registry" | "--cache" | "--userconfig"
                ) && npm
            {
                i += 2;
            } else {
                i += 1;
            }
            continue;
        }
        return Some((i, a.to_owned(), npm));
    }
    None
}

/// Every package a launcher installs: [`launched_package`]'s, every further npm `-p`/
/// `--package`, uv's and pipx's `--with` (also `uv run --with`, comma lists included), and
/// Deno's `npm:` specifiers; each with its index in `argv` and whether it is an npm package.
pub(crate) fn launched_packages(argv: &[(String, &Node)]) -> Vec<(usize, String, bool)> {
    if argv
        .first()
        .is_some_and(|a| crate::model::program_name(&a.0) == "corepack")
    {
        return launched_packages(&argv[1..])
            .into_iter()
            .map(|(i, spec, npm)| (i + 1, spec, npm))
            .collect();
    }
    let mut out: Vec<(usize, String, bool)> = launched_package(argv).into_iter().collect();
    let Some(first) = argv.first() else {
        return out;
    };
    let prog = crate::model::program_name(first.0.as_str());
    let sub = |i: usize| argv.get(i).map(|a| a.0.as_str());
    // npm's launchers read their own options up to the package (or `--`); what follows is the
    // server's: `npx -y pkg@1.0.0 -u root -p <password>` installs one package (black-box
    // tester, session 14 round 9: F3).
    let npm_start = match prog.as_str() {
        "npx" | "bunx" | "pnpx" => 1,
        _ => 2,
    };
    let npm_end = {
        let mut k = npm_start;
        while let Some(a) = sub(k) {
            if a == "--" || !a.starts_with('-') {
                break;
            }
            k += if matches!(
                a,
                "-p" | "--package" | "-c" | "--call" | "--registry" | "--cache" | "--userconfig"
            ) {
                2
            } else {
                1
            };
        }
        k
    };
    let npm = match prog.as_str() {
        "npx" | "bunx" | "pnpx" => Some(true),
        "npm" if matches!(sub(1), Some("exec" | "x")) => Some(true),
        "pnpm" | "yarn" if sub(1) == Some("dlx") => Some(true),
        "uvx" | "uv" | "pipx" => Some(false),
        _ => None,
    };
    let mut push = |i: usize, spec: &str, npm: bool| {
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if !out.iter().any(|(j, s, _)| *j == i && s == part) {
                out.push((i, part.to_owned(), npm));
            }
        }
    };
    for (i, (a, _)) in argv.iter().enumerate().skip(1) {
        let a = a.as_str();
        if a == "--" && npm.is_none() {
            break;
        }
        match npm {
            Some(true) if i >= npm_end => break,
            Some(true) => {
                if matches!(a, "-p" | "--package") {
                    if let Some(v) = sub(i + 1) {
                        push(i + 1, v, true);
                    }
                } else if let Some(v) = a.strip_prefix("--package=") {
                    push(i, v, true);
                }
            }
            Some(false) => {
                if matches!(a, "--with" | "-w") {
                    if let Some(v) = sub(i + 1) {
                        push(i + 1, v, false);
                    }
                } else if let Some(v) = a.strip_prefix("--with=") {
                    push(i, v, false);
                }
            }
            None if prog == "deno" => {
                // `npm:pkg@1.2.3/sub/path`, `jsr:@scope/pkg@1.2.3/mod.ts`: the package is
                // before the path; JSR's versions are written as npm's.
                if let Some(v) = a.strip_prefix("npm:").or_else(|| a.strip_prefix("jsr:")) {
                    let v = v.strip_prefix('/').unwrap_or(v);
                    let slashes = if v.starts_with('@') { 1 } else { 0 };
                    let cut = v.match_indices('/').nth(slashes).map(|(k, _)| k);
                    let spec = cut.map_or(v, |k| &v[..k]);
                    push(i, spec, true);
                }
            }
            None => {}
        }
    }
    // `deno run [flags] https://deno.land/x/mod/main.ts`: the script is a download, judged as a
    // package URL (it names a version, `mod@1.2.3`, or it is unpinned); `go run pkg@latest`.
    let script = |from: usize, valued: &[&str]| -> Option<usize> {
        let mut k = from;
        while let Some(a) = sub(k) {
            if a == "--" {
                return (k + 1 < argv.len()).then_some(k + 1);
            }
            if !a.starts_with('-') {
                return Some(k);
            }
            k += if !a.contains('=') && valued.contains(&a) {
                2
            } else {
                1
            };
        }
        None
    };
    if prog == "deno" && matches!(sub(1), Some("run" | "serve")) {
        let valued = [
            "-c",
            "--config",
            "--import-map",
            "--lock",
            "--cert",
            "--location",
            "--seed",
            "--v8-flags",
            "--env-file",
            "--inspect",
        ];
        if let Some(k) = script(2, &valued) {
            let a = argv[k].0.as_str();
            if (a.starts_with("https://") || a.starts_with("http://"))
                && !out.iter().any(|(j, _, _)| *j == k)
            {
                out.push((k, a.to_owned(), false));
            }
        }
    }
    if prog == "go" && sub(1) == Some("run") {
        let valued = [
            "-C",
            "-o",
            "-p",
            "-tags",
            "-ldflags",
            "-gcflags",
            "-mod",
            "-modfile",
            "-exec",
            "-overlay",
            "-pgo",
            "-toolexec",
            "-asmflags",
            "-buildmode",
            "-compiler",
            "-gccgoflags",
            "-installsuffix",
            "-pkgdir",
        ];
        if let Some(k) = script(2, &valued) {
            let a = argv[k].0.as_str();
            if a.contains('@') && !a.contains("://") {
                out.push((k, a.to_owned(), false));
            }
        }
    }
    out
}

/// Whether a package spec names one exact version: `pkg@1.2.3`, `@s/pkg@1.2.3-rc.1`,
/// `pkg==1.2.3`, `pkg@<commit>` for git sources.
pub(crate) fn is_pinned(spec: &str, npm: bool) -> bool {
    let version = if npm {
        let body = spec.strip_prefix('@').unwrap_or(spec);
        match body.split_once('@') {
            // An alias (`pkg@npm:other@1.2.3`) is pinned as what it installs.
            Some((_, v)) if v.starts_with("npm:") => return is_pinned(&v[4..], true),
            Some((_, v)) => v,
            None => return false,
        }
    } else if let Some((_, v)) = spec.split_once("==") {
        // `===` is PEP 440's arbitrary equality: exact too.
        v.strip_prefix('=').unwrap_or(v)
    } else if let Some((_, v)) = spec.rsplit_once('@').filter(|_| !spec.contains("://")) {
        v
    } else {
        return false;
    };
    // `v1.2.3` names one version as exactly as `1.2.3`.
    let version = version.strip_prefix('v').unwrap_or(version);
    // One version is one word of semver's characters: a space (`1.2.3-0 - 2`, `>=1 <2`), `||`,
    // `^`, `~`, `*` or a comparison makes a range.
    if !version
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+' | b'_'))
    {
        return false;
    }
    let core = version.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    // npm reads `pkg@1.2` and `pkg@2025.4` as ranges (`1.2.x`): only a full `x.y.z` (with an
    // exact prerelease) is one version; PEP 440's `==1.2` is `1.2.0` exactly.
    (if npm {
        parts.len() == 3
    } else {
        parts.len() >= 2
    }) && parts
        .iter()
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// A security option that switches a confinement off: `seccomp=unconfined`,
/// `apparmor:unconfined`, `label=disable`, `systempaths=unconfined`.
pub(crate) fn unconfined(opt: &str) -> bool {
    let o = opt.to_ascii_lowercase().replace(':', "=");
    matches!(
        o.as_str(),
        "seccomp=unconfined" | "apparmor=unconfined" | "label=disable" | "systempaths=unconfined"
    )
}

/// A host device that gives the container the machine: physical memory, I/O ports, disks, or
/// the whole of `/dev` (black-box tester, session 14 round 9: F6).
pub(crate) fn host_device(spec: &str) -> bool {
    let dev = spec.split(':').next().unwrap_or("").trim();
    let dev = if dev.len() > 1 {
        dev.trim_end_matches('/')
    } else {
        dev
    };
    matches!(dev, "/dev" | "/dev/mem" | "/dev/kmem" | "/dev/port")
        || [
            "/dev/sd",
            "/dev/nvme",
            "/dev/vd",
            "/dev/xvd",
            "/dev/hd",
            "/dev/disk",
            "/dev/block",
            "/dev/mapper",
            "/dev/dm-",
            "/dev/md",
            "/dev/mmcblk",
            "/dev/loop",
        ]
        .iter()
        .any(|p| dev.starts_with(p))
}

/// What a `docker run` (or `podman run`) command line asks for, by index into `argv`.
#[derive(Debug, Clone, Default)]
pub(crate) struct DockerRun {
    /// `--privileged`, `--cap-add ALL`, `--cap-add SYS_ADMIN`, `--pid host`, `--ipc host`,
    /// `--userns host`, `--uts host`, an unconfined `--security-opt`, a host memory or disk
    /// `--device`.
    pub privileged: Vec<usize>,
    /// `--network host`, `--net=host`.
    pub host_network: Vec<usize>,
    /// Mount sources (`-v SRC:DST`, `--mount type=bind,src=SRC,…`).
    pub mounts: Vec<(usize, String)>,
    /// Published ports (`-p 8080:8080`).
    pub ports: Vec<(usize, String)>,
    /// The image.
    pub image: Option<usize>,
}

/// The options of `docker run` (and `docker container create`) that take a value, from
/// Docker's CLI reference, with Podman's and nerdctl's own.
const RUN_VALUED: &[&str] = &[
    "-a",
    "--attach",
    "--add-host",
    "--annotation",
    "--blkio-weight",
    "--blkio-weight-device",
    "--cap-add",
    "--cap-drop",
    "--cgroup-parent",
    "--cgroupns",
    "--cidfile",
    "--cpu-count",
    "--cpu-percent",
    "--cpu-period",
    "--cpu-quota",
    "--cpu-rt-period",
    "--cpu-rt-runtime",
    "-c",
    "--cpu-shares",
    "--cpus",
    "--cpuset-cpus",
    "--cpuset-mems",
    "--detach-keys",
    "--device",
    "--device-cgroup-rule",
    "--device-read-bps",
    "--device-read-iops",
    "--device-write-bps",
    "--device-write-iops",
    "--dns",
    "--dns-opt",
    "--dns-option",
    "--dns-search",
    "--domainname",
    "--entrypoint",
    "-e",
    "--env",
    "--env-file",
    "--expose",
    "--gpus",
    "--group-add",
    "--health-cmd",
    "--health-interval",
    "--health-retries",
    "--health-start-interval",
    "--health-start-period",
    "--health-timeout",
    "-h",
    "--hostname",
    "--io-maxbandwidth",
    "--io-maxiops",
    "--ip",
    "--ip6",
    "--ipc",
    "--isolation",
    "--kernel-memory",
    "-l",
    "--label",
    "--label-file",
    "--link",
    "--link-local-ip",
    "--log-driver",
    "--log-opt",
    "--mac-address",
    "-m",
    "--memory",
    "--memory-reservation",
    "--memory-swap",
    "--memory-swappiness",
    "--mount",
    "--name",
    "--network",
    "--net",
    "--network-alias",
    "--net-alias",
    "--oom-score-adj",
    "--pid",
    "--pids-limit",
    "--platform",
    "-p",
    "--publish",
    "--pull",
    "--restart",
    "--runtime",
    "--security-opt",
    "--shm-size",
    "--stop-signal",
    "--stop-timeout",
    "--storage-opt",
    "--sysctl",
    "--tmpfs",
    "--ulimit",
    "-u",
    "--user",
    "--userns",
    "--uts",
    "-v",
    "--volume",
    "--volume-driver",
    "--volumes-from",
    "-w",
    "--workdir",
    // Podman and nerdctl.
    "--arch",
    "--authfile",
    "--cert-dir",
    "--cgroup-conf",
    "--cgroups",
    "--chrootdirs",
    "--conmon-pidfile",
    "--creds",
    "--decryption-key",
    "--env-merge",
    "--gidmap",
    "--group-entry",
    "--health-log-destination",
    "--health-max-log-count",
    "--health-max-log-size",
    "--health-on-failure",
    "--health-startup-cmd",
    "--health-startup-interval",
    "--health-startup-retries",
    "--health-startup-success",
    "--health-startup-timeout",
    "--hostuser",
    "--hosts-file",
    "--image-volume",
    "--init-path",
    "--mask",
    "--os",
    "--passwd-entry",
    "--personality",
    "--pidfile",
    "--pod",
    "--pod-id-file",
    "--preserve-fd",
    "--preserve-fds",
    "--rdt-class",
    "--requires",
    "--retry",
    "--retry-delay",
    "--sdnotify",
    "--seccomp-policy",
    "--secret",
    "--shm-size-systemd",
    "--subgidname",
    "--subuidname",
    "--systemd",
    "--timeout",
    "--tz",
    "--uidmap",
    "--umask",
    "--unmask",
    "--unsetenv",
    "--variant",
    "--namespace",
    "--snapshotter",
    "--cni-path",
    "--cosign-key",
    "--verify",
];

/// The switches of `docker run` (and Podman's): known, so that any other option is unknown.
const RUN_SWITCHES: &[&str] = &[
    "-d",
    "--detach",
    "-i",
    "--interactive",
    "-t",
    "--tty",
    "--rm",
    "--privileged",
    "-P",
    "--publish-all",
    "--read-only",
    "--init",
    "--no-healthcheck",
    "--oom-kill-disable",
    "--disable-content-trust",
    "-q",
    "--quiet",
    "--sig-proxy",
    "--use-api-socket",
    "--help",
    "--env-host",
    "--http-proxy",
    "--no-hosts",
    "--read-only-tmpfs",
    "--replace",
    "--rootfs",
    "--tls-verify",
    "--rmi",
];

/// Options before the subcommand that take a value: Docker's (`--context`, `-H`, `--config`,
/// `--log-level`, the TLS files) and Podman's.
const GLOBAL_VALUED: &[&str] = &[
    "-c",
    "--context",
    "-H",
    "--host",
    "--config",
    "-l",
    "--log-level",
    "--tlscacert",
    "--tlscert",
    "--tlskey",
    "--connection",
    "--url",
    "--identity",
    "--root",
    "--runroot",
    "--runtime",
    "--storage-driver",
    "--storage-opt",
    "--tmpdir",
    "--cgroup-manager",
    "--conmon",
    "--events-backend",
    "--hooks-dir",
    "--module",
    "--network-cmd-path",
    "--network-config-dir",
    "--volumepath",
    "--imagestore",
    "--ssh",
    "--address",
    "-a",
    "--namespace",
    "-n",
    "--snapshotter",
    "--cni-path",
    "--data-root",
    "--host-gateway-ip",
];

/// A `--cap-add` value that gives the container the machine: `ALL`, `SYS_ADMIN`, and the
/// capabilities with a known escape of their own: `SYS_MODULE` (load a kernel module),
/// `SYS_RAWIO` (raw memory and disk), `DAC_READ_SEARCH` (open any host file by handle, the
/// "shocker" escape) (black-box tester, session 15 round 11: F11).
pub(crate) fn strong_capability(cap: &str) -> bool {
    cap.split(',').any(|c| {
        let c = c.trim().to_ascii_uppercase();
        matches!(
            c.strip_prefix("CAP_").unwrap_or(&c),
            "ALL" | "SYS_ADMIN" | "SYS_MODULE" | "SYS_RAWIO" | "DAC_READ_SEARCH"
        )
    })
}

/// Parses a `docker run` command line (also `podman`, `nerdctl`, `docker container run`,
/// `docker container create`, with global options such as `--context x` or `-H unix:///…`
/// before the subcommand). An option it does not know may take a value or not: the line is
/// read both ways and what either reading finds is reported (a linter that cannot tell fails
/// closed).
pub(crate) fn docker_run(argv: &[(String, &Node)]) -> Option<DockerRun> {
    let first = argv.first()?;
    // Cheap refusals first: most command lines are `npx …`, `uvx …`, `node …`.
    let f = first.0.as_str();
    if !(contains_nocase(f, "docker")
        || contains_nocase(f, "podman")
        || contains_nocase(f, "nerdctl"))
    {
        return None;
    }
    let prog = crate::model::program_name(f);
    if !matches!(prog.as_str(), "docker" | "podman" | "nerdctl") {
        return None;
    }
    // Global options, then `run`, `container run` or `create`.
    let mut i = 1;
    let mut after_unknown = false;
    let mut container = false;
    loop {
        let a = argv.get(i)?.0.as_str();
        if a.starts_with('-') {
            let flag = a.split_once('=').map_or(a, |(f, _)| f);
            let inline = a.contains('=');
            if !inline && GLOBAL_VALUED.contains(&flag) {
                i += 2;
                after_unknown = false;
            } else {
                after_unknown = !inline
                    && !matches!(
                        flag,
                        "-D" | "--debug" | "--tls" | "--tlsverify" | "--remote" | "-r"
                    );
                i += 1;
            }
            continue;
        }
        match a {
            "container" if !container => container = true,
            "run" | "create" => break,
            // The value of an option this parser does not know.
            _ if after_unknown && !container => after_unknown = false,
            _ => return None,
        }
        i += 1;
    }
    i += 1;
    let (mut r, unknown) = run_options(argv, i, false);
    if unknown {
        // Read again with every unknown option taking a value: whatever that reading finds
        // after it is reported too.
        let (r2, _) = run_options(argv, i, true);
        for v in r2.privileged {
            if !r.privileged.contains(&v) {
                r.privileged.push(v);
            }
        }
        for v in r2.host_network {
            if !r.host_network.contains(&v) {
                r.host_network.push(v);
            }
        }
        for v in r2.mounts {
            if !r.mounts.contains(&v) {
                r.mounts.push(v);
            }
        }
        for v in r2.ports {
            if !r.ports.contains(&v) {
                r.ports.push(v);
            }
        }
    }
    Some(r)
}

/// Reads `docker run`'s options from `argv[start..]` up to the image; whether an option it
/// does not know was met. `unknown_valued`: such an option takes the next argument.
fn run_options(argv: &[(String, &Node)], start: usize, unknown_valued: bool) -> (DockerRun, bool) {
    let mut r = DockerRun::default();
    let mut unknown = false;
    let mut i = start;
    while i < argv.len() {
        let a = argv[i].0.as_str();
        if a == "--" {
            r.image = (i + 1 < argv.len()).then_some(i + 1);
            break;
        }
        if !a.starts_with('-') || a == "-" {
            r.image = Some(i);
            break;
        }
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if a.starts_with("--") => (f, Some(v.to_owned())),
            _ => short_cluster(a, RUN_VALUED),
        };
        let known = RUN_VALUED.contains(&flag) || RUN_SWITCHES.contains(&flag) || {
            // A cluster of known switches (`-it`, `-dit`).
            let body = a.strip_prefix('-').filter(|b| !b.starts_with('-'));
            body.is_some_and(|b| {
                b.chars()
                    .all(|c| RUN_SWITCHES.contains(&format!("-{c}").as_str()))
            })
        };
        if !known {
            unknown = true;
        }
        let takes = inline.is_none()
            && (RUN_VALUED.contains(&flag) || (!known && unknown_valued && a.starts_with("--")));
        let (vi, value) = match inline {
            Some(v) => (i, v),
            None if takes => (
                i + 1,
                argv.get(i + 1).map(|x| x.0.clone()).unwrap_or_default(),
            ),
            None => (i, String::new()),
        };
        let host = value.eq_ignore_ascii_case("host");
        match flag {
            "--privileged" if !value.eq_ignore_ascii_case("false") => r.privileged.push(i),
            "--cap-add" if strong_capability(&value) => r.privileged.push(vi),
            "--pid" | "--ipc" | "--userns" | "--uts" | "--cgroupns" if host => {
                r.privileged.push(vi)
            }
            "--security-opt" if unconfined(&value) => r.privileged.push(vi),
            "--device" if host_device(&value) => r.privileged.push(vi),
            "--network" | "--net" if host => r.host_network.push(vi),
            "-v" | "--volume" => r.mounts.push((vi, mount_source(&value).to_owned())),
            "--mount" => {
                let src = value
                    .split(',')
                    .find_map(|kv| {
                        kv.strip_prefix("source=")
                            .or_else(|| kv.strip_prefix("src="))
                    })
                    .unwrap_or("");
                r.mounts.push((vi, with_defaults(src)));
            }
            "-p" | "--publish" => r.ports.push((vi, value)),
            _ => {}
        }
        i = if takes { i + 2 } else { i + 1 };
    }
    (r, unknown)
}

/// A single-dash argument as the Docker CLI (pflag) reads it: `-v=SRC`, `-vSRC`, and a
/// cluster of switches ending in a valued one (`-itv SRC`, `-itvSRC`). Returns the valued
/// flag and its inline value, or the argument itself when it holds no valued flag.
fn short_cluster<'a>(a: &'a str, valued: &[&'static str]) -> (&'a str, Option<String>) {
    let Some(chars) = a.strip_prefix('-').filter(|c| !c.starts_with('-')) else {
        return (a, None);
    };
    for (j, c) in chars.char_indices() {
        let short = format!("-{c}");
        if let Some(f) = valued.iter().find(|v| **v == short) {
            let rest = &chars[j + c.len_utf8()..];
            let value =
                (!rest.is_empty()).then(|| rest.strip_prefix('=').unwrap_or(rest).to_owned());
            return (f, value);
        }
        if !c.is_ascii_alphabetic() {
            break;
        }
    }
    (a, None)
}

/// The source of a volume spec (`SRC:DST[:opts]`), with a `${VAR:-default}` (or
/// `${VAR-default}`) read as its default, as compose and a shell use it when `VAR` is unset;
/// a `:` inside `${…}` does not end the source.
pub(crate) fn mount_source(spec: &str) -> String {
    let mut depth = 0usize;
    let b = spec.as_bytes();
    let mut end = spec.len();
    let mut k = 0;
    while k < b.len() {
        match b[k] {
            b'$' if b.get(k + 1) == Some(&b'{') => {
                depth += 1;
                k += 1;
            }
            b'}' if depth > 0 => depth -= 1,
            // `C:\Users\…` keeps its drive.
            b':' if depth == 0
                && !(k == 1
                    && b[0].is_ascii_alphabetic()
                    && matches!(b.get(2), Some(b'\\' | b'/'))) =>
            {
                end = k;
                break;
            }
            _ => {}
        }
        k += 1;
    }
    with_defaults(&spec[..end])
}

/// `${VAR:-default}` and `${VAR-default}` replaced by their defaults, nested ones too
/// (`${NET:-${NET2:-host}}` is `host`, as Compose resolves it with both unset); other text
/// unchanged: [`crate::compose_env::resolve`] knowing no variable.
pub(crate) fn with_defaults(s: &str) -> String {
    crate::compose_env::resolve(s, &|_| None)
}

/// Whether a mount source is the Docker (or Podman, containerd, CRI-O, cri-dockerd) socket
/// itself, or Docker's Windows named pipe (`\\.\pipe\docker_engine`, `//./pipe/docker_engine`).
pub(crate) fn is_socket_file(src: &str) -> bool {
    let s = src
        .trim()
        .trim_end_matches(['/', '\\'])
        .to_ascii_lowercase();
    [
        "docker.sock",
        "podman.sock",
        "containerd.sock",
        "crio.sock",
        "cri-dockerd.sock",
        "dockershim.sock",
        "buildkitd.sock",
        "pipe/docker_engine",
        "pipe\\docker_engine",
    ]
    .iter()
    .any(|f| s.ends_with(f))
}

/// A compose volume's host source: [`mount_source`], and for a named volume declared at the
/// top level with a bind `device` (`driver_opts: {type: none, o: bind, device: /var/run}`),
/// that device.
pub(crate) fn compose_mount_source(root: &Node, spec: &str) -> String {
    let src = mount_source(spec);
    if src.is_empty() || src.contains(['/', '\\', '~', '$', '.']) {
        return src;
    }
    root.get("volumes")
        .and_then(|v| v.get(&src))
        .and_then(|v| v.get("driver_opts"))
        .and_then(|o| o.get("device"))
        .and_then(Node::as_str)
        .map_or(src, with_defaults)
}

/// Whether a mount source is the container engine's socket or a folder that holds it: `/`,
/// `/var`, `/run`, `/var/run`, `/run/docker`, `/run/podman`, `/run/containerd`, a rootless
/// user's `/run/user/UID` (`$XDG_RUNTIME_DIR`).
pub(crate) fn is_socket(src: &str) -> bool {
    if is_socket_file(src) {
        return true;
    }
    let s = src.trim().to_ascii_lowercase();
    let t = s.trim_end_matches('/');
    let parts: Vec<&str> = t
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    let rooted = s.starts_with('/');
    (rooted
        && matches!(
            parts.as_slice(),
            [] | ["var"]
                | ["run"]
                | ["var", "run"]
                | [
                    "run" | "var",
                    "docker" | "podman" | "containerd" | "crio" | "cri-dockerd"
                ]
                | [
                    "var",
                    "run",
                    "docker" | "podman" | "containerd" | "crio" | "cri-dockerd"
                ]
                | ["run", "user", _]
                | ["run", "user", _, "docker" | "podman"]
        ))
        || matches!(t, "$xdg_runtime_dir" | "${xdg_runtime_dir}")
}

/// Whether a mount source is a folder of credentials: `~/.ssh`, `/root/.ssh`, `/home/*/.ssh`,
/// `.aws`, `.gnupg`, `.kube`, `.docker`, `.azure`, `.config/gcloud` (or anything inside one).
pub(crate) fn is_credential_dir(src: &str) -> bool {
    let s = src.trim().to_ascii_lowercase();
    let parts: Vec<&str> = s.split(['/', '\\']).collect();
    parts.iter().enumerate().any(|(k, p)| {
        matches!(
            *p,
            ".ssh"
                | ".aws"
                | ".gnupg"
                | ".kube"
                | ".docker"
                | ".azure"
                | ".netrc"
                | ".pgpass"
                | ".npmrc"
                | ".pypirc"
                | ".git-credentials"
                | ".yarnrc"
                | ".yarnrc.yml"
                | ".cargo"
                | ".terraform.d"
                | ".vault-token"
        ) || (*p == ".config"
            && matches!(
                parts.get(k + 1),
                Some(&"gcloud" | &"gh" | &"hub" | &"doctl" | &"op" | &"rclone")
            ))
    })
}

/// Whether a mount source exposes the host: `/`, `/etc`, `/root`, `/home`, a home directory,
/// `/proc`, `/sys`, `/dev`, `/boot`, `/var/lib/docker`, the system's program and data roots
/// (`/srv`, `/opt`, `/usr`, `/lib`, `/bin`, `/sbin`, `/mnt`, `/media`), and credential folders.
pub(crate) fn is_host_path(src: &str) -> bool {
    let t = src.trim().trim_end_matches('/');
    crate::rules::filesystem_root_too_broad_check(src)
        || matches!(
            t,
            "/etc"
                | "/proc"
                | "/sys"
                | "/dev"
                | "/boot"
                | "/var/lib/docker"
                | "/var"
                | "/usr"
                | "/srv"
                | "/opt"
                | "/lib"
                | "/lib64"
                | "/bin"
                | "/sbin"
                | "/mnt"
                | "/media"
                | "/var/lib"
                | "/var/log"
        )
        // The kernel's interfaces (`/sys/fs/cgroup`, `/proc/sys`) and the machine's disks
        // and memory (black-box tester, session 14 round 9: F6).
        || t.starts_with("/sys/")
        || t.starts_with("/proc/")
        || t.starts_with("/boot/")
        || (t.starts_with("/dev/") && host_device(t))
        // System credentials and cluster state, and anything inside them.
        || [
            "/etc/shadow",
            "/etc/gshadow",
            "/etc/sudoers",
            "/etc/ssh",
            "/etc/kubernetes",
            "/etc/docker",
            "/etc/ssl/private",
            "/var/lib/kubelet",
            "/var/lib/etcd",
            "/var/lib/rancher",
            "/root",
        ]
        .iter()
        .any(|p| t == *p || t.strip_prefix(p).is_some_and(|r| r.starts_with('/')))
        || is_credential_dir(src)
}

/// A published port with no host address (or `0.0.0.0`/`::`) listens on every interface.
pub(crate) fn publishes_everywhere(spec: &str) -> bool {
    let s = spec.trim();
    if let Some(rest) = s.strip_prefix('[') {
        // [::1]:8080:80
        let host = rest.split(']').next().unwrap_or("");
        return host.is_empty() || host == "::" || host == "0:0:0:0:0:0:0:0";
    }
    let parts: Vec<&str> = s.split(':').collect();
    match parts.len() {
        1 | 2 => true,
        _ => {
            let h = parts[0];
            h.is_empty() || h == "0.0.0.0"
        }
    }
}

/// A property name of a tool's schemas (see [`tool_property_names`]).
pub(crate) struct PropertyName<'a> {
    /// The name.
    pub(crate) name: &'a str,
    /// Where the name is written.
    pub(crate) span: crate::node::Span,
    /// The path to it inside the tool.
    path: Vec<crate::node::Seg<'a>>,
}

impl PropertyName<'_> {
    /// Its full key path (made only for a finding).
    pub(crate) fn key(&self, tool: &crate::model::Tool<'_>) -> KeyPath {
        let mut full = tool.key.clone();
        full.0.extend(crate::node::key_path(&self.path).0);
        full
    }
}

/// The property names of a tool's schemas (every member of a `properties` or
/// `patternProperties` object, at any depth up to 64): the model reads them as it reads the
/// descriptions, so they are text to judge. The walk allocates only for the names it returns.
pub(crate) fn tool_property_names<'a>(t: &crate::model::Tool<'a>) -> Vec<PropertyName<'a>> {
    use crate::node::Seg;
    fn walk<'a>(n: &'a Node, at: &mut Vec<Seg<'a>>, out: &mut Vec<PropertyName<'a>>) {
        if at.len() > 64 {
            return;
        }
        for m in n.members() {
            at.push(Seg::Key(m.key.as_str()));
            if matches!(m.key.as_str(), "properties" | "patternProperties") {
                for p in m.value.members() {
                    let mut path = at.clone();
                    path.push(Seg::Key(p.key.as_str()));
                    out.push(PropertyName {
                        name: p.key.as_str(),
                        span: p.key_span,
                        path,
                    });
                }
            }
            walk(&m.value, at, out);
            at.pop();
        }
        for (i, e) in n.elements().iter().enumerate() {
            at.push(Seg::Index(i));
            walk(e, at, out);
            at.pop();
        }
    }
    let mut out = Vec::new();
    walk(t.node, &mut Vec::new(), &mut out);
    out
}

/// Every string of a tool (name, title, description, annotations, schema descriptions); each
/// string's full key path is made only when a finding needs it ([`ToolKey`]).
pub(crate) fn tool_strings<'a, 't>(t: &'t crate::model::Tool<'a>) -> ToolStrings<'a, 't> {
    ToolStrings {
        tool: &t.key,
        strings: crate::node::Strings::collect_unbounded(t.node),
    }
}

/// The strings of a tool, see [`tool_strings`].
pub(crate) struct ToolStrings<'a, 't> {
    tool: &'t KeyPath,
    strings: crate::node::Strings<'a>,
}

impl<'a> ToolStrings<'a, '_> {
    /// Each string with its key, depth first.
    pub(crate) fn iter(&'a self) -> impl Iterator<Item = (ToolKey<'a>, &'a Node)> + 'a {
        self.strings.all().into_iter().map(move |s| {
            (
                ToolKey {
                    tool: self.tool,
                    path: s.path,
                },
                s.node,
            )
        })
    }
}

/// A tool string's key path: the tool's own, then the path inside the tool.
#[derive(Clone, Copy)]
pub(crate) struct ToolKey<'a> {
    tool: &'a KeyPath,
    path: &'a [crate::node::Seg<'a>],
}

impl ToolKey<'_> {
    /// Whether the last step is the object key `key`.
    pub(crate) fn ends_with_key(&self, key: &str) -> bool {
        matches!(self.path.last(), Some(crate::node::Seg::Key(k)) if *k == key)
    }

    /// The full key path.
    pub(crate) fn full(&self) -> KeyPath {
        let mut full = self.tool.clone();
        full.0.extend(crate::node::key_path(self.path).0);
        full
    }
}

impl std::fmt::Display for ToolKey<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.full().fmt(f)
    }
}

/// A tool's text as the model reads it, for matching instructions and paths: HTML entities
/// decoded (`&lt;IMPORTANT&gt;`), NFKC-folded (fullwidth `＜ＩＭＰＯＲＴＡＮＴ＞`), invisible
/// characters dropped, and each non-ASCII letter that Unicode's confusables (UTS 39) say looks
/// like ASCII replaced by it (a Cyrillic `о` in "Ignоre").
pub(crate) fn as_read(s: &str) -> std::borrow::Cow<'_, str> {
    use unicode_normalization::UnicodeNormalization as _;
    if s.is_ascii() && !s.contains('&') {
        return std::borrow::Cow::Borrowed(s);
    }
    let decoded = decode_entities(s);
    let mut out = String::with_capacity(decoded.len());
    for c in decoded.nfkc() {
        if super::tool_invisible_unicode::invisible(c) {
            continue;
        }
        if c.is_ascii() {
            out.push(c);
            continue;
        }
        let mut buf = [0u8; 4];
        let skel: String = unicode_security::skeleton(c.encode_utf8(&mut buf)).collect();
        if !skel.is_empty() && skel.is_ascii() && skel.chars().count() == 1 {
            out.push_str(&skel);
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// `&lt;`, `&gt;`, `&amp;`, `&quot;`, `&apos;`, `&#60;`, `&#x3c;` decoded (repeatedly, so
/// `&amp;lt;` is `<` too, up to three rounds); other text unchanged.
fn decode_entities(s: &str) -> String {
    static ENTITY: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"(?i)&(?:(lt|gt|amp|quot|apos|sol|bsol|tilde|period)|#(\d{1,7})|#x([0-9a-f]{1,6}));?",
        )
        .expect("entity pattern")
    });
    let mut cur = s.to_owned();
    for _ in 0..3 {
        if !cur.contains('&') {
            break;
        }
        let next = ENTITY
            .replace_all(&cur, |c: &regex::Captures<'_>| {
                let ch = if let Some(n) = c.get(1) {
                    match n.as_str().to_ascii_lowercase().as_str() {
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "amp" => Some('&'),
                        "quot" => Some('"'),
                        "apos" => Some('\''),
                        "sol" => Some('/'),
                        "bsol" => Some('\\'),
                        "tilde" => Some('~'),
                        _ => Some('.'),
                    }
                } else if let Some(d) = c.get(2) {
                    d.as_str().parse::<u32>().ok().and_then(char::from_u32)
                } else {
                    c.get(3)
                        .and_then(|h| u32::from_str_radix(h.as_str(), 16).ok())
                        .and_then(char::from_u32)
                };
                ch.map_or_else(|| c[0].to_owned(), String::from)
            })
            .into_owned();
        if next == cur {
            break;
        }
        cur = next;
    }
    cur
}

/// The password of `user:password@host/…` written without a scheme: an image reference
/// (`user:pw@registry.example.com/img`: no registry reads it, but it is written in the file) or
/// a launcher's argument (`deploy:pw@mcp.example.com/sse`); the host has a dot or is
/// `localhost` (black-box tester, session 15 rounds 12 and 13).
pub(crate) fn schemeless_password(s: &str) -> Option<String> {
    let authority = s.split('/').next().unwrap_or(s);
    let (userinfo, host) = authority.rsplit_once('@')?;
    let (_, pw) = userinfo.split_once(':')?;
    let hosty = host.contains('.') || host.starts_with("localhost");
    (hosty
        && !pw.is_empty()
        && !userinfo.contains(char::is_whitespace)
        && !crate::secrets::is_reference(pw))
    .then(|| crate::redact::percent_decode(pw))
}

/// An image reference as messages show it: userinfo and path pieces that read as tokens masked.
pub(crate) fn shown_image(image: &str) -> String {
    let (head, rest) = match image.split_once('/') {
        Some((h, r)) => (h, Some(r)),
        None => (image, None),
    };
    let mut shown = match head.split_once('@') {
        Some((_, host)) if !head.contains("sha256") => format!("[REDACTED]@{host}"),
        _ => head.to_owned(),
    };
    for seg in rest.into_iter().flat_map(|r| r.split('/')) {
        let name = seg.split([':', '@']).next().unwrap_or(seg);
        shown.push('/');
        if crate::redact::is_secret_segment(name) || crate::secrets::looks_random(name) {
            shown.push_str(&seg.replacen(name, "[REDACTED]", 1));
        } else {
            shown.push_str(seg);
        }
    }
    shown
}
