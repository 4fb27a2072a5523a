//! `--discover`: the MCP clients' configuration files in their usual places for this OS
//! (from each client's documentation and snyk/agent-scan's list), and the project files of the
//! current folder. Only files that exist are returned.

use std::path::{Path, PathBuf};

/// Where to look: the home folder and, on Windows, `%APPDATA%`.
#[derive(Debug, Clone, Default)]
pub struct Places {
    /// `$HOME` (`%USERPROFILE%`).
    pub home: Option<PathBuf>,
    /// `%APPDATA%` (Windows), or `~/Library/Application Support` (macOS), or
    /// `$XDG_CONFIG_HOME`/`~/.config` (elsewhere).
    pub config: Option<PathBuf>,
    /// The project folder (the working directory).
    pub project: PathBuf,
    /// `$CODEX_HOME` (Codex's folder; default `~/.codex`).
    pub codex_home: Option<PathBuf>,
    /// `$CLAUDE_CONFIG_DIR` (Claude Code's folder holding `.claude.json`; default the home).
    pub claude_config_dir: Option<PathBuf>,
}

impl Places {
    /// From the process environment.
    pub fn from_env() -> Self {
        // A variable set to the empty string is unset.
        let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        let home = var("HOME")
            .or_else(|| var("USERPROFILE"))
            .map(PathBuf::from);
        let config = if cfg!(windows) {
            var("APPDATA").map(PathBuf::from)
        } else if cfg!(target_os = "macos") {
            home.as_ref().map(|h| h.join("Library/Application Support"))
        } else {
            // XDG Base Directory spec: an empty or relative value is ignored (a relative one
            // would point into whatever folder lint runs in, a repository's own files).
            std::env::var_os("XDG_CONFIG_HOME")
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .or_else(|| home.as_ref().map(|h| h.join(".config")))
        };
        Places {
            home,
            config,
            project: PathBuf::from("."),
            codex_home: var("CODEX_HOME").map(PathBuf::from),
            claude_config_dir: var("CLAUDE_CONFIG_DIR").map(PathBuf::from),
        }
    }
}

/// Every candidate path, existing or not.
pub fn candidates(p: &Places) -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Some(h) = &p.home {
        for rel in [
            ".claude.json",
            ".cursor/mcp.json",
            ".codeium/windsurf/mcp_config.json",
            ".gemini/settings.json",
            ".continue/config.yaml",
            ".continue/config.json",
            ".codex/config.toml",
            ".config/zed/settings.json",
        ] {
            v.push(h.join(rel));
        }
        v.extend(list(&h.join(".continue/mcpServers")));
    }
    if let Some(c) = &p.codex_home {
        v.push(c.join("config.toml"));
    }
    if let Some(c) = &p.claude_config_dir {
        v.push(c.join(".claude.json"));
    }
    if let Some(c) = &p.config {
        for rel in [
            "Claude/claude_desktop_config.json",
            "Code/User/mcp.json",
            "Code/User/settings.json",
            "Code - Insiders/User/mcp.json",
            "VSCodium/User/mcp.json",
            "Zed/settings.json",
            "zed/settings.json",
        ] {
            v.push(c.join(rel));
        }
        // VS Code profiles keep their own mcp.json.
        for app in ["Code", "Code - Insiders", "VSCodium"] {
            for prof in list(&c.join(app).join("User/profiles")) {
                v.push(prof.join("mcp.json"));
            }
        }
    }
    for rel in [
        ".mcp.json",
        ".cursor/mcp.json",
        ".vscode/mcp.json",
        ".gemini/settings.json",
        ".zed/settings.json",
        ".vscode/settings.json",
        ".codex/config.toml",
        ".continue/config.yaml",
        ".continue/config.json",
        "docker-compose.yml",
        "docker-compose.yaml",
        "docker-compose.override.yml",
        "docker-compose.override.yaml",
        "compose.yml",
        "compose.yaml",
        "compose.override.yml",
        "compose.override.yaml",
    ] {
        v.push(p.project.join(rel));
    }
    v.extend(list(&p.project.join(".continue/mcpServers")));
    v
}

/// The entries of a folder; a folder that exists but cannot be listed is returned itself, so
/// the run reports it (a walk of it fails) instead of passing over what it may hold.
fn list(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(r) => r.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) if absent(&e) => Vec::new(),
        Err(_) => vec![dir.to_owned()],
    };
    v.sort();
    v
}

/// Whether an error says the path is not there (as opposed to there but unreadable).
fn absent(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
    )
}

/// The candidates that exist, without duplicates, and those that cannot be told to exist or
/// not (a client's folder the user cannot read, `chmod 000 ~/.cursor`): linting them reports
/// them unreadable, so the run is incomplete rather than silently clean.
pub fn discover(p: &Places) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for c in candidates(p) {
        let keep = match std::fs::metadata(&c) {
            // A folder is a candidate only as [`list`] returns one it could not list.
            Ok(m) => m.is_file() || (m.is_dir() && std::fs::read_dir(&c).is_err()),
            Err(e) => !absent(&e),
        };
        if keep && seen.insert(c.clone()) {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_exists_under_home_config_and_project() {
        let d = tempfile::TempDir::new().unwrap();
        let home = d.path().join("home");
        let proj = d.path().join("proj");
        for f in [
            home.join(".cursor/mcp.json"),
            home.join(".continue/mcpServers/a.yaml"),
            proj.join(".vscode/mcp.json"),
            home.join(".config/Claude/claude_desktop_config.json"),
            home.join(".config/Code/User/profiles/abc123/mcp.json"),
            d.path().join("codex/config.toml"),
            d.path().join("claude/.claude.json"),
            proj.join(".vscode/settings.json"),
            proj.join("docker-compose.override.yml"),
        ] {
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(&f, "{}").unwrap();
        }
        let p = Places {
            home: Some(home.clone()),
            config: Some(home.join(".config")),
            project: proj.clone(),
            codex_home: Some(d.path().join("codex")),
            claude_config_dir: Some(d.path().join("claude")),
        };
        let got = discover(&p);
        assert_eq!(got.len(), 9, "{got:?}");
        assert!(got.contains(&home.join(".config/Code/User/profiles/abc123/mcp.json")));
        assert!(got.contains(&home.join(".config/Claude/claude_desktop_config.json")));
    }
}
