//! The parts of an input the rules look at, found once per document: its MCP servers (however
//! the client spells them: `mcpServers`, `servers`, `context_servers`, `mcp.servers`,
//! `mcp_servers`, Continue's list) with their command line, environment, URL, headers and
//! authentication, and the tools it declares or saved.

use crate::input::{tools_of, Kind};
use crate::node::{KeyPath, Member, Node};

/// One configured MCP server.
#[derive(Debug, Clone)]
pub struct Server<'a> {
    /// Its name.
    pub name: String,
    /// The key path of its object.
    pub key: KeyPath,
    /// Its object.
    pub node: &'a Node,
    /// The command line: the command, then each argument, with the node each came from (a
    /// command written as one string with spaces is split, every part pointing at it).
    pub argv: Vec<(String, &'a Node)>,
    /// `NAME=value` assignments a launcher or shell passes to the program before it
    /// (`env K=V cmd`, `sh -c "K=V cmd"`), with their nodes.
    pub assignments: Vec<(String, &'a Node)>,
    /// `env` entries.
    pub env: Vec<&'a Member>,
    /// The URL member (`url`, `serverUrl`, `httpUrl`, `endpoint`).
    pub url: Option<&'a Member>,
    /// Header entries (`headers`, `http_headers`, `requestOptions.headers`).
    pub headers: Vec<&'a Member>,
    /// The authentication member (`authentication`, `auth`, `oauth`, `oauth2`).
    pub auth: Option<&'a Member>,
    /// Its `tools` array, if it declares tools.
    pub tools: Option<&'a Node>,
    /// Key path of the object holding `command`/`args`/`env` (Continue's `transport`, Zed's
    /// `command` object), for messages.
    pub launch_key: KeyPath,
    /// The URL, parsed on first use ([`Server::parsed_url`]).
    pub(crate) parsed_url: std::cell::OnceCell<Option<url::Url>>,
    /// The command line read as `docker run`, on first use ([`Server::docker_run`]).
    pub(crate) docker: std::cell::OnceCell<Option<crate::rules::common::DockerRun>>,
}

impl Server<'_> {
    /// The URL text.
    pub fn url_text(&self) -> Option<&str> {
        self.url.and_then(|m| m.value.as_str())
    }

    /// The command line read as `docker run` (or `podman run`), read once for the container
    /// rules.
    pub(crate) fn docker_run(&self) -> Option<&crate::rules::common::DockerRun> {
        self.docker
            .get_or_init(|| crate::rules::common::docker_run(&self.argv))
            .as_ref()
    }

    /// The URL parsed as the rules read it (see `rules::common::parse_url`), parsed once.
    pub fn parsed_url(&self) -> Option<&url::Url> {
        self.parsed_url
            .get_or_init(|| self.url_text().and_then(crate::rules::common::parse_url))
            .as_ref()
    }

    /// The command's file name (`npx` for `/usr/local/bin/npx`, `npx.cmd`).
    pub fn program(&self) -> Option<String> {
        self.argv.first().map(|(c, _)| program_name(c))
    }
}

/// The file name of a command, lowercased, without a Windows extension.
pub fn program_name(cmd: &str) -> String {
    let base = cmd
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(cmd)
        .to_ascii_lowercase();
    for ext in [".cmd", ".exe", ".bat", ".ps1"] {
        if let Some(b) = base.strip_suffix(ext) {
            return b.to_owned();
        }
    }
    base
}

/// A command line written as one string, split as a POSIX shell would (`shlex`); text that
/// does not split (an open quote) falls back to whitespace.
pub(crate) fn shell_words(text: &str) -> Vec<String> {
    shlex::split(text)
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| text.split_whitespace().map(str::to_owned).collect())
}

/// Commands that run the rest of their line after options (and a fixed count of positional
/// operands): name, options that take the next word as their value, operands before the
/// command (`timeout 10 cmd`, `chrt 10 cmd`, `taskset 0x3 cmd`).
const WRAPPERS: &[(&str, &[&str], usize)] = &[
    ("nice", &["-n", "--adjustment"], 0),
    (
        "ionice",
        &[
            "-c",
            "-n",
            "-p",
            "-P",
            "-u",
            "--class",
            "--classdata",
            "--pid",
            "--pgid",
            "--uid",
        ],
        0,
    ),
    ("timeout", &["-s", "-k", "--signal", "--kill-after"], 1),
    (
        "stdbuf",
        &["-i", "-o", "-e", "--input", "--output", "--error"],
        0,
    ),
    (
        "chrt",
        &[
            "-T",
            "-P",
            "-D",
            "--sched-runtime",
            "--sched-period",
            "--sched-deadline",
        ],
        1,
    ),
    ("taskset", &[], 1),
    ("setsid", &[], 0),
    ("time", &["-f", "-o", "--format", "--output"], 0),
    (
        "unshare",
        &[
            "-S", "-G", "-R", "-w", "--setuid", "--setgid", "--root", "--wd",
        ],
        0,
    ),
    ("firejail", &[], 0),
    ("nohup", &[], 0),
    ("caffeinate", &["-t", "-w"], 0),
    (
        "xargs",
        &[
            "-I",
            "-n",
            "-P",
            "-d",
            "-E",
            "-L",
            "-s",
            "-a",
            "--arg-file",
            "--delimiter",
            "--max-args",
            "--max-procs",
            "--max-lines",
            "--max-chars",
            "--process-slot-var",
            "--eof",
            "--replace",
        ],
        0,
    ),
];

/// Where the command a [`WRAPPERS`] entry runs starts in `argv`.
fn generic_wrapper(prog: &str, argv: &[(String, &Node)]) -> Option<usize> {
    let (_, takes_value, operands) = WRAPPERS.iter().find(|w| w.0 == prog)?;
    let mut k = 1;
    while let Some((a, _)) = argv.get(k) {
        if a == "--" {
            k += 1;
            break;
        }
        if takes_value.contains(&a.as_str()) {
            k += 2;
        } else if a.starts_with('-') && a.len() > 1 {
            k += 1;
        } else {
            break;
        }
    }
    Some(k + operands)
}

/// The command a wrapper runs, so launchers are judged by what really starts: `cmd /c npx …`
/// (the usual Windows form), `sh -c "docker run …"`, `bash -lc …`, `powershell -Command …`,
/// `env K=V cmd …`, `exec cmd …`, `sudo -E cmd …`, `doas cmd …`, nested up to eight deep. A script string is split with `shlex`; each part
/// keeps pointing at the node it came from.
pub fn unwrap_launcher(argv: Vec<(String, &Node)>) -> Vec<(String, &Node)> {
    unwrap_launcher_keeping(argv).0
}

/// A command line: each word with the node it came from.
pub type Argv<'a> = Vec<(String, &'a Node)>;

/// Whether a word is a shell assignment (`NAME=value`, as `env` and a shell's prefix take it).
pub fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(n, _)| {
        n.bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    })
}

/// [`unwrap_launcher`], with the `NAME=value` assignments it passes over (`env K=V cmd`,
/// `sudo K=V cmd`, a shell's `K=V cmd`) kept aside: the rules judge them as the program's
/// environment (black-box tester, session 15 round 11: F3).
pub fn unwrap_launcher_keeping(argv: Argv<'_>) -> (Argv<'_>, Argv<'_>) {
    let mut argv = argv;
    let mut kept = Vec::new();
    for _ in 0..8 {
        // A shell's prefix assignments (`OPENAI_API_KEY=… node a.js`).
        let lead = argv.iter().take_while(|(a, _)| is_assignment(a)).count();
        if lead > 0 && lead < argv.len() {
            let rest = argv.split_off(lead);
            kept.append(&mut argv);
            argv = rest;
        }
        let Some(prog) = argv.first().map(|(c, _)| program_name(c)) else {
            break;
        };
        let rest = match prog.as_str() {
            "cmd" => argv
                .iter()
                .position(|(a, _)| matches!(a.to_ascii_lowercase().as_str(), "/c" | "/k" | "/r"))
                .map(|i| i + 1),
            "sh" | "bash" | "zsh" | "dash" | "ash" | "ksh" | "fish" => argv
                .iter()
                .skip(1)
                .position(|(a, _)| a.starts_with('-') && !a.starts_with("--") && a.contains('c'))
                .map(|i| i + 2),
            "powershell" | "pwsh" => argv
                .iter()
                .skip(1)
                .position(|(a, _)| {
                    matches!(
                        a.to_ascii_lowercase().as_str(),
                        "-c" | "-command" | "/c" | "/command"
                    )
                })
                .map(|i| i + 2),
            "env" | "exec" | "nohup" => argv
                .iter()
                .skip(1)
                .position(|(a, _)| !a.contains('=') && !a.starts_with('-'))
                .map(|i| i + 1),
            // `sudo -u bot -E docker run …`, `doas -u bot docker run …`: the options that
            // take a value are skipped with it; `VAR=x` assignments too.
            "sudo" | "doas" | "run0" => {
                let mut k = 1;
                while let Some((a, _)) = argv.get(k) {
                    if a == "--" {
                        k += 1;
                        break;
                    }
                    if matches!(
                        a.as_str(),
                        "-u" | "-g"
                            | "-C"
                            | "-D"
                            | "-h"
                            | "-p"
                            | "-r"
                            | "-t"
                            | "-T"
                            | "-U"
                            | "--user"
                            | "--group"
                            | "--close-from"
                            | "--chdir"
                            | "--host"
                            | "--prompt"
                            | "--role"
                            | "--type"
                            | "--command-timeout"
                            | "--other-user"
                    ) {
                        k += 2;
                    } else if a.starts_with('-') || (a.contains('=') && k > 0) {
                        k += 1;
                    } else {
                        break;
                    }
                }
                Some(k)
            }
            p => generic_wrapper(p, &argv),
        };
        let Some(start) = rest.filter(|s| *s < argv.len()) else {
            break;
        };
        let tail: Vec<(String, &Node)> = argv.split_off(start);
        kept.extend(
            argv.iter()
                .skip(1)
                .filter(|(a, _)| is_assignment(a))
                .cloned(),
        );
        let single_script = !matches!(
            prog.as_str(),
            "env" | "exec" | "nohup" | "sudo" | "doas" | "run0"
        ) && !WRAPPERS.iter().any(|w| w.0 == prog)
            && tail.len() == 1
            || matches!(
                prog.as_str(),
                "sh" | "bash" | "zsh" | "dash" | "ash" | "ksh" | "fish"
            );
        argv = if single_script {
            // `sh -c SCRIPT [name args…]`: the script is one string; `cmd /c` and PowerShell
            // take the rest of the line, often as one string too.
            let (script, node) = tail[0].clone();
            let mut v: Vec<(String, &Node)> = shell_words(&script)
                .into_iter()
                .map(|p| (p, node))
                .collect();
            if !matches!(
                prog.as_str(),
                "sh" | "bash" | "zsh" | "dash" | "ash" | "ksh" | "fish"
            ) {
                v.extend(tail.into_iter().skip(1));
            }
            v
        } else {
            tail
        };
    }
    (argv, kept)
}

/// One tool a document declares (a manifest's server) or saved (`tools/list`).
#[derive(Debug, Clone)]
pub struct Tool<'a> {
    /// The server it belongs to (a manifest's server name, or the snapshot's name).
    pub server: String,
    /// Its `name`.
    pub name: String,
    /// Its object.
    pub node: &'a Node,
    /// Key path of its object.
    pub key: KeyPath,
}

/// Every server of a document of `kind`.
pub fn servers(kind: Kind, root: &Node) -> Vec<Server<'_>> {
    let mut out = Vec::new();
    let root_key = KeyPath::default();
    match kind {
        Kind::VsCode => {
            if let Some(s) = root.get("servers") {
                object_servers(s, &root_key.join("servers"), &mut out);
            }
            if let Some(s) = root.path(&["mcp", "servers"]) {
                object_servers(s, &root_key.join("mcp").join("servers"), &mut out);
            }
            // A `*.code-workspace` file's settings.
            if let Some(s) = root.path(&["settings", "mcp", "servers"]) {
                let k = root_key.join("settings").join("mcp").join("servers");
                object_servers(s, &k, &mut out);
            }
        }
        Kind::VoiceManifest => {
            if let Some(s) = root.path(&["mcp", "servers"]) {
                object_servers(s, &root_key.join("mcp").join("servers"), &mut out);
            }
        }
        Kind::Zed => {
            if let Some(s) = root.get("context_servers") {
                object_servers(s, &root_key.join("context_servers"), &mut out);
            }
        }
        Kind::Codex => {
            if let Some(s) = root.get("mcp_servers") {
                object_servers(s, &root_key.join("mcp_servers"), &mut out);
            }
        }
        Kind::Continue => {
            match root.get("mcpServers") {
                Some(list) if list.is_array() => {
                    for (i, s) in list.elements().iter().enumerate() {
                        out.push(server(
                            listed_name(s, i),
                            root_key.join("mcpServers").join(i.to_string()),
                            s,
                        ));
                    }
                }
                Some(obj) => object_servers(obj, &root_key.join("mcpServers"), &mut out),
                None => {}
            }
            if let Some(list) = root.path(&["experimental", "modelContextProtocolServers"]) {
                let k = root_key
                    .join("experimental")
                    .join("modelContextProtocolServers");
                for (i, s) in list.elements().iter().enumerate() {
                    out.push(server(listed_name(s, i), k.join(i.to_string()), s));
                }
            }
            // A `.continue/mcpServers/x.json` may hold one server's object alone.
            if out.is_empty() && (root.get("command").is_some() || root.get("url").is_some()) {
                let name = root
                    .get("name")
                    .and_then(Node::as_str)
                    .map_or_else(|| "(file)".to_owned(), str::to_owned);
                out.push(server(name, root_key.clone(), root));
            }
        }
        Kind::ClaudeUser => {
            if let Some(s) = root.get("mcpServers") {
                object_servers(s, &root_key.join("mcpServers"), &mut out);
            }
            if let Some(projects) = root.get("projects") {
                for p in projects.members() {
                    if let Some(s) = p.value.get("mcpServers") {
                        let k = root_key
                            .join("projects")
                            .join(p.key.clone())
                            .join("mcpServers");
                        object_servers(s, &k, &mut out);
                    }
                }
            }
        }
        k if k.has_servers() => {
            if let Some(s) = root.get("mcpServers") {
                object_servers(s, &root_key.join("mcpServers"), &mut out);
            }
        }
        _ => {}
    }
    out
}

/// The name of a server in a list: its `name`, else `#i`.
fn listed_name(s: &Node, i: usize) -> String {
    s.get("name")
        .and_then(Node::as_str)
        .map_or_else(|| format!("#{i}"), str::to_owned)
}

fn object_servers<'a>(obj: &'a Node, key: &KeyPath, out: &mut Vec<Server<'a>>) {
    for m in obj.members() {
        if m.value.is_object() {
            out.push(server(m.key.clone(), key.join(m.key.clone()), &m.value));
        }
    }
}

fn server(name: String, key: KeyPath, node: &Node) -> Server<'_> {
    // Continue's old JSON: the launch settings sit in `transport`; Zed's old form: `command`
    // is an object with `path`, `args`, `env`.
    let (launch, launch_key) = match (node.get("transport"), node.get("command")) {
        (Some(t), _) if t.is_object() => (t, key.join("transport")),
        (_, Some(c)) if c.is_object() => (c, key.join("command")),
        _ => (node, key.clone()),
    };
    let mut argv: Vec<(String, &Node)> = Vec::new();
    if let Some(c) = launch.get("command").or_else(|| launch.get("path")) {
        if let Some(text) = c.as_str() {
            // Without arguments (no `args`, or `"args": []`) a command with spaces is a whole
            // command line (`"npx -y pkg"`): clients that start it through a shell run it so.
            if launch.get("args").is_none_or(|a| a.elements().is_empty()) {
                argv.extend(shell_words(text).into_iter().map(|p| (p, c)));
            } else if !text.trim().is_empty() {
                argv.push((text.trim().to_owned(), c));
            }
        }
    }
    for a in launch.get("args").map(Node::elements).unwrap_or_default() {
        if let Some(t) = a.scalar_text() {
            argv.push((t, a));
        }
    }
    let (argv, assignments) = unwrap_launcher_keeping(argv);
    let env = launch
        .get("env")
        .map(|e| e.members().iter().collect())
        .unwrap_or_default();
    let url = launch
        .get_loose(&["url", "serverUrl", "httpUrl", "endpoint"])
        .or_else(|| node.get_loose(&["url", "serverUrl", "httpUrl", "endpoint"]))
        .filter(|m| m.value.as_str().is_some());
    let mut headers: Vec<&Member> = Vec::new();
    for h in [
        node.get("headers"),
        node.get("http_headers"),
        node.path(&["requestOptions", "headers"]),
        launch.get("headers"),
    ]
    .into_iter()
    .flatten()
    {
        for m in h.members() {
            if !headers.iter().any(|x| std::ptr::eq(*x, m)) {
                headers.push(m);
            }
        }
    }
    let auth = node
        .get_loose(&["authentication", "auth", "oauth", "oauth2"])
        .filter(|m| m.value.is_object() || m.value.as_str().is_some());
    Server {
        name,
        node,
        argv,
        assignments,
        env,
        url,
        headers,
        auth,
        tools: node.get("tools").filter(|t| t.is_array()),
        launch_key,
        key,
        parsed_url: std::cell::OnceCell::new(),
        docker: std::cell::OnceCell::new(),
    }
}

/// Every tool of a document: a `tools/list` snapshot's (named by its `server` key,
/// `serverInfo.name`, or `fallback`), and each manifest server's `tools`, plus a manifest's
/// top-level `tools`.
pub fn tools<'a>(
    kind: Kind,
    root: &'a Node,
    servers: &[Server<'a>],
    fallback: &str,
) -> Vec<Tool<'a>> {
    let mut out = Vec::new();
    let mut push = |server: &str, list: &'a Node, key: KeyPath| {
        for (i, t) in list.elements().iter().enumerate() {
            if let Some(name) = t.get("name").and_then(Node::as_str) {
                out.push(Tool {
                    server: server.to_owned(),
                    name: name.to_owned(),
                    node: t,
                    key: key.join(i.to_string()),
                });
            }
        }
    };
    if kind == Kind::ToolsList {
        if let Some(list) = tools_of(root) {
            let name = root
                .get("server")
                .and_then(Node::as_str)
                .or_else(|| root.path(&["serverInfo", "name"]).and_then(Node::as_str))
                .or_else(|| {
                    root.path(&["result", "serverInfo", "name"])
                        .and_then(Node::as_str)
                })
                .unwrap_or(fallback);
            let key = if root.is_array() {
                KeyPath(Vec::new())
            } else if root.get("tools").is_some() {
                KeyPath(vec!["tools".into()])
            } else {
                KeyPath(vec!["result".into(), "tools".into()])
            };
            push(name, list, key);
        }
        return out;
    }
    for s in servers {
        if let Some(list) = s.tools {
            push(&s.name, list, s.key.join("tools"));
        }
    }
    if kind == Kind::VoiceManifest {
        if let Some(list) = root.get("tools").filter(|t| t.is_array()) {
            push(fallback, list, KeyPath(vec!["tools".into()]));
        }
    }
    out
}
