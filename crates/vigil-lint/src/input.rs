//! What an input is, decided by its name first and its shape second: which MCP client's
//! configuration, a voice manifest, a saved `tools/list` result, a compose stack, an env file or
//! a Discord bot's source. Names decide the syntax and the client; a JSON, YAML or TOML file with
//! an unknown name is read only when its top-level keys have a known shape.

use crate::node::Node;
use crate::parse::Syntax;
use std::path::Path;

/// The kinds of input `vigil lint` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Claude Desktop's `claude_desktop_config.json` (`mcpServers`).
    ClaudeDesktop,
    /// Claude Code's project `.mcp.json` (`mcpServers`).
    ClaudeCode,
    /// Claude Code's `~/.claude.json` (`mcpServers`, and per project under `projects`).
    ClaudeUser,
    /// Cursor's `.cursor/mcp.json` (`mcpServers`).
    Cursor,
    /// VS Code's `mcp.json` (`servers` and `inputs`), the `mcp` key of its `settings.json`, or a
    /// `*.code-workspace` file's `settings.mcp`.
    VsCode,
    /// Windsurf's `mcp_config.json` (`mcpServers`, remote servers as `serverUrl`).
    Windsurf,
    /// Zed's `settings.json` (`context_servers`).
    Zed,
    /// Continue's `config.yaml`/`config.json` and `.continue/mcpServers/*` (`mcpServers` list).
    Continue,
    /// Gemini CLI's `settings.json` (`mcpServers`, remote servers as `httpUrl`).
    Gemini,
    /// OpenAI Codex's `config.toml` (`[mcp_servers.NAME]`).
    Codex,
    /// Any other JSON with an `mcpServers` object (Cline, Roo, LM Studio…).
    McpJson,
    /// A voice manifest: `mcp.servers`, `privacy`, tools.
    VoiceManifest,
    /// A saved MCP `tools/list` result (`tools`, or a JSON-RPC response with `result.tools`).
    ToolsList,
    /// A Docker Compose file.
    Compose,
    /// A `.env` file (read for Discord intents and permissions only).
    EnvFile,
    /// Python, JavaScript or TypeScript source (read for Discord intents, permissions and invite
    /// URLs only).
    Source,
    /// A JSON, YAML or TOML file of another kind that names Discord intents or permissions.
    BotConfig,
}

impl Kind {
    /// A stable name (reports, `--discover`'s list).
    pub fn name(self) -> &'static str {
        match self {
            Kind::ClaudeDesktop => "claude-desktop",
            Kind::ClaudeCode => "claude-code",
            Kind::ClaudeUser => "claude-code-user",
            Kind::Cursor => "cursor",
            Kind::VsCode => "vscode",
            Kind::Windsurf => "windsurf",
            Kind::Zed => "zed",
            Kind::Continue => "continue",
            Kind::Gemini => "gemini-cli",
            Kind::Codex => "codex",
            Kind::McpJson => "mcp-json",
            Kind::VoiceManifest => "voice-manifest",
            Kind::ToolsList => "tools-list",
            Kind::Compose => "compose",
            Kind::EnvFile => "env",
            Kind::Source => "source",
            Kind::BotConfig => "bot-config",
        }
    }

    /// Whether this kind lists MCP servers.
    pub fn has_servers(self) -> bool {
        !matches!(
            self,
            Kind::ToolsList | Kind::Compose | Kind::EnvFile | Kind::Source | Kind::BotConfig
        )
    }
}

/// What a path's name says, before its content is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guess {
    /// The name is a client's own file: this kind, in this syntax.
    Named(Kind, Syntax),
    /// A structured file of unknown purpose: read it if its shape is known.
    Shape(Syntax),
    /// An env file.
    Env,
    /// Source code.
    Source,
    /// Not something `vigil lint` reads.
    No,
}

/// Lowercased `/`-separated path, for matching names and folders.
fn norm(path: &Path) -> String {
    path.to_string_lossy()
        .replace('\\', "/")
        .to_ascii_lowercase()
}

/// What the name of `path` says.
pub fn guess(path: &Path) -> Guess {
    let p = norm(path);
    let name = p.rsplit('/').next().unwrap_or(&p);
    let has = |dir: &str| p.contains(dir) || p.starts_with(dir.trim_start_matches('/'));
    let syntax =
        if name.ends_with(".json") || name.ends_with(".jsonc") || name.ends_with(".code-workspace")
        {
            Some(Syntax::Json)
        } else if name.ends_with(".yaml") || name.ends_with(".yml") {
            Some(Syntax::Yaml)
        } else if name.ends_with(".toml") {
            Some(Syntax::Toml)
        } else {
            None
        };
    let named = |k| Guess::Named(k, syntax.unwrap_or(Syntax::Json));
    match name {
        "claude_desktop_config.json" => return named(Kind::ClaudeDesktop),
        ".mcp.json" => return named(Kind::ClaudeCode),
        ".claude.json" => return named(Kind::ClaudeUser),
        "mcp_config.json" if has("windsurf/") || has(".codeium/") => return named(Kind::Windsurf),
        "mcp.json" if has(".cursor/") => return named(Kind::Cursor),
        "mcp.json" if has(".vscode/") || has("code/user/") || has("code - insiders/user/") => {
            return named(Kind::VsCode)
        }
        "settings.json" if has(".vscode/") || has("code/user/") => return named(Kind::VsCode),
        // A multi-root workspace: `settings.mcp` (and `mcp`) hold servers and inputs.
        n if n.ends_with(".code-workspace") => return named(Kind::VsCode),
        "settings.json" if has("zed/") || has(".zed/") => return named(Kind::Zed),
        "settings.json" if has(".gemini/") || has("gemini-cli/") => return named(Kind::Gemini),
        "config.toml" if has(".codex/") => return named(Kind::Codex),
        "config.yaml" | "config.yml" | "config.json" if has(".continue/") => {
            return named(Kind::Continue)
        }
        _ => {}
    }
    if has(".continue/mcpservers/") && syntax.is_some() {
        return named(Kind::Continue);
    }
    if is_compose_name(name) {
        return Guess::Named(Kind::Compose, Syntax::Yaml);
    }
    if name == ".env" || name.starts_with(".env.") || name.ends_with(".env") {
        return Guess::Env;
    }
    const SOURCE: &[&str] = &[
        ".py", ".js", ".mjs", ".cjs", ".ts", ".mts", ".cts", ".jsx", ".tsx",
    ];
    if SOURCE.iter().any(|e| name.ends_with(e))
        && !name.ends_with(".d.ts")
        && !name.contains(".min.")
    {
        return Guess::Source;
    }
    match syntax {
        Some(s) => Guess::Shape(s),
        None => Guess::No,
    }
}

/// `docker-compose.yml`, `compose.yaml`, `docker-compose.prod.yml`, `compose.override.yaml`.
pub fn is_compose_name(name: &str) -> bool {
    (name.starts_with("docker-compose") || name.starts_with("compose"))
        && (name.ends_with(".yml") || name.ends_with(".yaml"))
}

/// Keys whose presence makes a structured file worth parsing; files without any are skipped
/// unread by the shape check.
pub const SHAPE_MARKERS: &[&str] = &[
    "mcpServers",
    "mcp_servers",
    "context_servers",
    "servers",
    "modelContextProtocolServers",
    "inputSchema",
    // A `tools/list` result whose tools have no `inputSchema` (bare, or JSON-RPC's
    // `result.tools`): its descriptions are still read.
    "tools",
    "services",
    "intents",
    "permissions",
];

/// The kind of a structured file of unknown name, from its top-level keys.
pub fn by_shape(root: &Node, path: &Path) -> Option<Kind> {
    let p = norm(path);
    if root.get("mcpServers").is_some_and(Node::is_object) {
        return Some(if root.get("projects").is_some() {
            Kind::ClaudeUser
        } else if p.rsplit('/').next() == Some("mcp_config.json") {
            // Windsurf's file name, copied out of `~/.codeium/windsurf` (a team's shared copy).
            Kind::Windsurf
        } else {
            Kind::McpJson
        });
    }
    if root.get("mcpServers").is_some_and(Node::is_array)
        || root
            .path(&["experimental", "modelContextProtocolServers"])
            .is_some()
    {
        return Some(Kind::Continue);
    }
    if root.get("projects").is_some_and(|p| {
        p.members()
            .iter()
            .any(|m| m.value.get("mcpServers").is_some())
    }) {
        return Some(Kind::ClaudeUser);
    }
    if root.get("context_servers").is_some_and(Node::is_object) {
        return Some(Kind::Zed);
    }
    if root.get("mcp_servers").is_some_and(Node::is_object) {
        return Some(Kind::Codex);
    }
    if root.path(&["mcp", "servers"]).is_some_and(Node::is_object) {
        return Some(Kind::VoiceManifest);
    }
    if root.get("servers").is_some_and(|s| {
        s.is_object()
            && !s.members().is_empty()
            && s.members().iter().all(|m| {
                m.value.get("command").is_some()
                    || m.value.get("url").is_some()
                    || m.value.get("type").is_some()
            })
    }) {
        return Some(Kind::VsCode);
    }
    if tools_of(root).is_some() {
        return Some(Kind::ToolsList);
    }
    if root.get("services").is_some_and(|s| {
        s.is_object()
            && s.members()
                .iter()
                .any(|m| m.value.get("image").is_some() || m.value.get("build").is_some())
    }) && (p.ends_with(".yml") || p.ends_with(".yaml"))
    {
        return Some(Kind::Compose);
    }
    if mentions_discord_settings(root) {
        return Some(Kind::BotConfig);
    }
    None
}

/// The `tools` array of a `tools/list` result (bare, as a JSON-RPC response's `result`, or the
/// array alone).
pub fn tools_of(root: &Node) -> Option<&Node> {
    // A bare array of tools (`jq .result.tools` saved to a file), each with its schema
    // (black-box tester, session 15 round 13: F8).
    if root.is_array() {
        let items = root.elements();
        let ok = !items.is_empty()
            && items.iter().all(|t| {
                t.get("name").and_then(Node::as_str).is_some() && t.get("inputSchema").is_some()
            });
        return ok.then_some(root);
    }
    let tools = root
        .get("tools")
        .or_else(|| root.path(&["result", "tools"]))?;
    let ok = tools.is_array()
        && tools.elements().iter().all(|t| {
            t.get("name").and_then(Node::as_str).is_some()
                && (t.get("inputSchema").is_some() || t.get("description").is_some())
        });
    ok.then_some(tools)
}

/// Whether a tree names Discord intents or permissions anywhere.
fn mentions_discord_settings(root: &Node) -> bool {
    fn walk(n: &Node, depth: usize) -> bool {
        depth < 16
            && n.members().iter().any(|m| {
                let k = m.key.to_ascii_lowercase();
                k == "intents"
                    || k.ends_with("_intents")
                    || ((k == "permissions" || k.ends_with("_permissions"))
                        && (m
                            .value
                            .scalar_text()
                            .is_some_and(|t| t.parse::<u64>().is_ok())))
                    || walk(&m.value, depth + 1)
            })
    }
    walk(root, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_decide_first() {
        let g = |p: &str| guess(Path::new(p));
        assert_eq!(
            g(".vscode/mcp.json"),
            Guess::Named(Kind::VsCode, Syntax::Json)
        );
        assert_eq!(
            g("a/.cursor/mcp.json"),
            Guess::Named(Kind::Cursor, Syntax::Json)
        );
        assert_eq!(
            g("/home/u/.codeium/windsurf/mcp_config.json"),
            Guess::Named(Kind::Windsurf, Syntax::Json)
        );
        assert_eq!(
            g("/home/u/.config/zed/settings.json"),
            Guess::Named(Kind::Zed, Syntax::Json)
        );
        assert_eq!(
            g(".gemini/settings.json"),
            Guess::Named(Kind::Gemini, Syntax::Json)
        );
        assert_eq!(
            g(".continue/config.yaml"),
            Guess::Named(Kind::Continue, Syntax::Yaml)
        );
        assert_eq!(
            g(".continue/mcpServers/pw.yaml"),
            Guess::Named(Kind::Continue, Syntax::Yaml)
        );
        assert_eq!(
            g("/h/.codex/config.toml"),
            Guess::Named(Kind::Codex, Syntax::Toml)
        );
        assert_eq!(
            g("deploy/docker-compose.prod.yml"),
            Guess::Named(Kind::Compose, Syntax::Yaml)
        );
        assert_eq!(
            g("team/project.code-workspace"),
            Guess::Named(Kind::VsCode, Syntax::Json)
        );
        assert_eq!(g(".env.bot"), Guess::Env);
        assert_eq!(g("bot/main.py"), Guess::Source);
        assert_eq!(g("package.json"), Guess::Shape(Syntax::Json));
        assert_eq!(g("README.md"), Guess::No);
    }
}
