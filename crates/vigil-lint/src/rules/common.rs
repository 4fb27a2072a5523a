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
    let mut out: Vec<(usize, String, bool)> = launched_package(argv).into_iter().collect();
    let Some(first) = argv.first() else {
        return out;
    };
    let prog = crate::model::program_name(first.0.as_str());
    let sub = |i: usize| argv.get(i).map(|a| a.0.as_str());
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
                if let Some(v) = a.strip_prefix("npm:") {
                    // `npm:pkg@1.2.3/sub/path`: the package is before the path.
                    let slashes = if v.starts_with('@') { 1 } else { 0 };
                    let cut = v.match_indices('/').nth(slashes).map(|(k, _)| k);
                    let spec = cut.map_or(v, |k| &v[..k]);
                    push(i, spec, true);
                }
            }
            None => {}
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
    let core = version.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() >= 2
        && parts
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

/// A host device that gives the container the machine: physical memory, I/O ports, disks.
pub(crate) fn host_device(spec: &str) -> bool {
    let dev = spec.split(':').next().unwrap_or("");
    matches!(dev, "/dev/mem" | "/dev/kmem" | "/dev/port")
        || [
            "/dev/sd",
            "/dev/nvme",
            "/dev/vd",
            "/dev/xvd",
            "/dev/hd",
            "/dev/disk",
        ]
        .iter()
        .any(|p| dev.starts_with(p))
}

/// What a `docker run` (or `podman run`) command line asks for, by index into `argv`.
#[derive(Debug, Clone, Default)]
pub(crate) struct DockerRun {
    /// `--privileged`, `--cap-add ALL`, `--cap-add SYS_ADMIN`, `--pid host`, an unconfined
    /// `--security-opt`, a host memory or disk `--device`.
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

/// Parses a `docker run` command line.
pub(crate) fn docker_run(argv: &[(String, &Node)]) -> Option<DockerRun> {
    let first = argv.first()?;
    // `run` or `container run` must follow: asked first, it spares most command lines the
    // program name's lowercase copy (six rules ask of every server).
    if !matches!(argv.get(1).map(|a| a.0.as_str()), Some("container" | "run")) {
        return None;
    }
    let prog = crate::model::program_name(first.0.as_str());
    if !matches!(prog.as_str(), "docker" | "podman" | "nerdctl") {
        return None;
    }
    let mut i = 1;
    if argv.get(i).is_some_and(|a| a.0 == "container") {
        i += 1;
    }
    if argv.get(i).is_none_or(|a| a.0 != "run") {
        return None;
    }
    i += 1;
    const VALUED: &[&str] = &[
        "-e",
        "--env",
        "-v",
        "--volume",
        "--mount",
        "-p",
        "--publish",
        "--name",
        "--network",
        "--net",
        "-w",
        "--workdir",
        "-u",
        "--user",
        "--entrypoint",
        "--env-file",
        "-l",
        "--label",
        "--cap-add",
        "--cap-drop",
        "--add-host",
        "--device",
        "--hostname",
        "-h",
        "--memory",
        "-m",
        "--cpus",
        "--platform",
        "--pull",
        "--restart",
        "--log-driver",
        "--log-opt",
        "--tmpfs",
        "--security-opt",
        "--ulimit",
        "--ipc",
        "--pid",
        "--gpus",
        "--userns",
        "--dns",
        "--expose",
        "--shm-size",
    ];
    let mut r = DockerRun::default();
    while i < argv.len() {
        let a = argv[i].0.as_str();
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if a.starts_with("--") => (f, Some(v.to_owned())),
            _ => short_cluster(a, VALUED),
        };
        if !a.starts_with('-') {
            r.image = Some(i);
            break;
        }
        let takes = VALUED.contains(&flag) && inline.is_none();
        let (vi, value) = match inline {
            Some(v) => (i, v),
            None if takes => (
                i + 1,
                argv.get(i + 1).map(|x| x.0.clone()).unwrap_or_default(),
            ),
            None => (i, String::new()),
        };
        match flag {
            "--privileged" => r.privileged.push(i),
            "--cap-add"
                if matches!(
                    value.to_ascii_uppercase().as_str(),
                    "ALL" | "SYS_ADMIN" | "CAP_SYS_ADMIN"
                ) =>
            {
                r.privileged.push(vi)
            }
            "--pid" if value == "host" => r.privileged.push(vi),
            "--security-opt" if unconfined(&value) => r.privileged.push(vi),
            "--device" if host_device(&value) => r.privileged.push(vi),
            "--network" | "--net" if value == "host" => r.host_network.push(vi),
            "-v" | "--volume" => r
                .mounts
                .push((vi, value.split(':').next().unwrap_or("").to_owned())),
            "--mount" => {
                let src = value
                    .split(',')
                    .find_map(|kv| {
                        kv.strip_prefix("source=")
                            .or_else(|| kv.strip_prefix("src="))
                    })
                    .unwrap_or("");
                r.mounts.push((vi, src.to_owned()));
            }
            "-p" | "--publish" => r.ports.push((vi, value)),
            _ => {}
        }
        i = if takes { i + 2 } else { i + 1 };
    }
    Some(r)
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

/// Whether a mount source is the Docker (or Podman) socket.
pub(crate) fn is_socket(src: &str) -> bool {
    let s = src.to_ascii_lowercase();
    s.ends_with("docker.sock") || s.ends_with("podman.sock") || s.ends_with("containerd.sock")
}

/// Whether a mount source exposes the host: `/`, `/etc`, `/root`, `/home`, a home directory,
/// `/proc`, `/sys`, `/dev`, `/boot`, `/var/lib/docker`.
pub(crate) fn is_host_path(src: &str) -> bool {
    let t = src.trim().trim_end_matches('/');
    crate::rules::filesystem_root_too_broad_check(src)
        || matches!(
            t,
            "/etc" | "/proc" | "/sys" | "/dev" | "/boot" | "/var/lib/docker" | "/var" | "/usr"
        )
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
