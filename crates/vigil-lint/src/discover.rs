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
}

impl Places {
    /// From the process environment.
    pub fn from_env() -> Self {
        let home = std::env::var_os("HOME")
            .or_else(|| std::env::var_os("USERPROFILE"))
            .map(PathBuf::from);
        let config = if cfg!(windows) {
            std::env::var_os("APPDATA").map(PathBuf::from)
        } else if cfg!(target_os = "macos") {
            home.as_ref().map(|h| h.join("Library/Application Support"))
        } else {
            std::env::var_os("XDG_CONFIG_HOME")
                .map(PathBuf::from)
                .or_else(|| home.as_ref().map(|h| h.join(".config")))
        };
        Places {
            home,
            config,
            project: PathBuf::from("."),
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
    }
    for rel in [
        ".mcp.json",
        ".cursor/mcp.json",
        ".vscode/mcp.json",
        ".gemini/settings.json",
        ".zed/settings.json",
        "docker-compose.yml",
        "docker-compose.yaml",
        "compose.yml",
        "compose.yaml",
    ] {
        v.push(p.project.join(rel));
    }
    v.extend(list(&p.project.join(".continue/mcpServers")));
    v
}

fn list(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// The candidates that exist, without duplicates.
pub fn discover(p: &Places) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    for c in candidates(p) {
        if c.is_file() && !out.contains(&c) {
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
        ] {
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(&f, "{}").unwrap();
        }
        let p = Places {
            home: Some(home.clone()),
            config: Some(home.join(".config")),
            project: proj.clone(),
        };
        let got = discover(&p);
        assert_eq!(got.len(), 4, "{got:?}");
        assert!(got.contains(&home.join(".config/Claude/claude_desktop_config.json")));
    }
}
