//! `unpinned-package`: a server started from a package registry without an exact version.
//!
//! ## What it finds
//! `npx -y pkg`, `pkg@latest`, `pkg@^1`, `bunx`/`pnpm dlx`/`npm exec` likewise, `uvx pkg`,
//! `pipx run pkg` and `uv tool run pkg` without `==1.2.3` (or `@1.2.3`); npm's `pkg@1.2` is a
//! range. Deno's `npm:`/`jsr:` packages and URL scripts, `go run pkg@latest`; `corepack pnpm
//! dlx pkg`. npx's options end at its package: what follows is the server's (`-p` there is
//! no package).
//!
//! ## Why it matters
//! Every start downloads whatever the registry serves that day: one compromised release (or a
//! new owner) runs with the user's files and tokens.

use super::common::{is_pinned, launched_packages};
use super::{fx, Check, Cx, Emit, Family, Rule};
use vigil_report::Severity;

pub(crate) static RULE: Rule = Rule {
    id: "unpinned-package",
    family: Family::Launchers,
    severity: Severity::Warning,
    summary: "A server runs a registry package without an exact version",
    fix: "Pin the version: npx -y pkg@1.2.3, uvx pkg==1.2.3",
    check: Check::File(check),
    examples: &[
        fx("claude_desktop_config.json", r#"{"mcpServers": {"fs": {"command": "npx", "args": ["-y", «"@modelcontextprotocol/server-filesystem", "/srv/data"]}}}"#),
        fx(".continue/mcpServers/pw.yaml", "name: Playwright\nversion: 0.0.1\nschema: v1\nmcpServers:\n  - name: Browser\n    command: npx\n    args:\n      - «\"@playwright/mcp@latest\"\n"),
        fx(".mcp.json", r#"{"mcpServers": {"fetch": {"command": "uvx", "args": [«"mcp-server-fetch"]}}}"#),
        fx(".mcp.json", r#"{"mcpServers": {"fetch": {"command": «"npx -y some-mcp-server", "args": []}}}"#),
        fx("claude_desktop_config.json", r#"{"mcpServers": {"fs": {"command": "cmd", "args": ["/c", "npx", "-y", «"@modelcontextprotocol/server-filesystem", "C:\\data"]}}}"#),
        fx(".mcp.json", r#"{"mcpServers": {"fetch": {"command": "bash", "args": ["-lc", «"exec uvx mcp-server-fetch"]}}}"#),
        fx(".mcp.json", r#"{"mcpServers": {"x": {"command": "npx", "args": ["-y", «"https://codeload.github.com/acme/mcp-x/tar.gz/main"]}}}"#),
        fx(".mcp.json", r#"{"mcpServers": {"a": {"command": "npx", "args": ["-y", "-p", "a@1.0.0", "-p", «"evilpkg", "a"]},
  "b": {"command": "uv", "args": ["run", "--with", «"evilpkg", "server.py"]}, "c": {"command": "uvx", "args": [«"--with=httpx==0.28.1,rich", "mcp-x==1.0.0"]},
  "d": {"command": "deno", "args": ["run", "-A", «"npm:mcp-pkg"]}}}"#),
        // npm reads a partial version as a range (black-box tester, session 12: F5).
        fx(".mcp.json", r#"{"mcpServers": {"a": {"command": "npx", "args": ["-y", «"pkg@1.2"]}, "b": {"command": "npx", "args": ["-y", «"@scope/pkg@2025.4"]},
  "c": {"command": "npx", "args": ["-y", «"pkg@1"]}, "d": {"command": "npx", "args": ["-y", «"pkg@~1.2.3"]}}}"#),
        // Ranges that start with a full version (black-box tester, session 12 round 5: F12).
        fx(".mcp.json", r#"{"mcpServers": {"a": {"command": "npx", "args": ["-y", «"pkg@1.2.3-0 - 2"]}, "b": {"command": "npx", "args": ["-y", «"pkg@1.2.3 || 2.0.0"]},
  "c": {"command": "npx", "args": ["-y", «"pkg@1.2.3 <2"]}, "d": {"command": "npx", "args": ["-y", «"pkg@1.2.x"]}}}"#),
        // Deno's JSR packages and URL scripts, `go run …@latest` (F14).
        fx(".mcp.json", r#"{"mcpServers": {"a": {"command": "deno", "args": ["run", "-A", «"jsr:@scope/pkg"]}, "b": {"command": "deno", "args": ["run", "--allow-net", «"https://deno.land/x/mod/main.ts"]},
  "c": {"command": "go", "args": ["run", «"github.com/acme/mcp-x/cmd/server@latest"]}, "d": {"command": "deno", "args": ["run", "-A", «"jsr:@scope/pkg@^1.2.0/cli"]}}}"#),
        // corepack's package managers (black-box tester, session 14 round 9: F9).
        fx(".mcp.json", r#"{"mcpServers": {"a": {"command": "corepack", "args": ["pnpm", "dlx", «"pkg"]}, "b": {"command": "corepack", "args": ["yarn", "dlx", «"pkg@latest"]}}}"#),
    ],
    counterexamples: &[
        // An exact alias, and a server's own `-p` after the package (black-box tester,
        // session 14 round 9: F3, F9).
        fx(".mcp.json", r#"{"mcpServers": {"a": {"command": "npx", "args": ["-y", "pkg@npm:other@1.0.0"]}, "b": {"command": "npx", "args": ["-y", "pkg@1.0.0", "-p", "other"]},
  "c": {"command": "corepack", "args": ["pnpm", "dlx", "pkg@1.0.0"]}, "d": {"command": "npx", "args": ["-y", "some-mysql-mcp@1.0.0", "-u", "root", "-p", "x"]}}}"#),
        fx("claude_desktop_config.json", r#"{"mcpServers": {"fs": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem@2025.8.21", "/srv/data"]},
  "fetch": {"command": "uvx", "args": ["mcp-server-fetch==2025.4.7"]}, "local": {"command": "node", "args": ["build/index.js"]}}}"#),
        fx(".mcp.json", r#"{"mcpServers": {"a": {"command": "npx", "args": ["-y", "pkg@v1.2.3"]}, "b": {"command": "uvx", "args": ["pkg===1.0"]},
  "c": {"command": "cmd", "args": ["/c", "npx", "-y", "@modelcontextprotocol/server-filesystem@2025.8.21", "C:\\data"]},
  "d": {"command": "npx", "args": ["-y", "https://codeload.github.com/acme/mcp-x/tar.gz/0f3c9a1b2d4e5f60718293a4b5c6d7e8f9012345"]},
  "e": {"command": "npx", "args": ["-y", "https://registry.npmjs.org/mcp-x/-/mcp-x-1.2.3.tgz"]},
  "f": {"command": "uv", "args": ["run", "--with", "httpx==0.28.1", "server.py"]}, "g": {"command": "deno", "args": ["run", "-A", "npm:@scope/mcp-pkg@1.2.3/cli"]},
  "h": {"command": "npx", "args": ["-y", "pkg@1.2.3-rc.1"]}, "i": {"command": "deno", "args": ["run", "-A", "jsr:@scope/pkg@1.2.3/cli", "--url", "https://api.example.com"]},
  "j": {"command": "deno", "args": ["run", "-A", "https://deno.land/x/mod@1.2.3/main.ts"]}, "k": {"command": "go", "args": ["run", "github.com/acme/mcp-x/cmd/server@v1.4.2"]},
  "l": {"command": "go", "args": ["run", "./cmd/server"]}, "m": {"command": "deno", "args": ["run", "-A", "main.ts"]}}}"#),
    ],
};

/// Whether a package URL names one version (`pkg-1.2.3.tgz`) or a commit (7 to 40 hex digits
/// as a path segment), rather than a branch (`/tar.gz/main`).
fn url_names_version(spec: &str) -> bool {
    static VERSION: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?:^|[^0-9])v?\d+\.\d+(?:\.\d+)?(?:[-.+][0-9A-Za-z.]+)?(?:\.t(?:ar\.)?gz|\.zip|\.whl)?$")
            .expect("version pattern")
    });
    let path = spec.split(['?', '#']).next().unwrap_or(spec);
    path.split('/').skip(3).any(|seg| {
        ((7..=40).contains(&seg.len())
            && seg.bytes().all(|b| b.is_ascii_hexdigit())
            && seg.bytes().any(|b| b.is_ascii_digit()))
            || VERSION.is_match(seg)
    })
}

fn check(cx: &Cx<'_>, out: &mut Emit<'_>) {
    for s in cx.servers {
        for (i, spec, npm) in launched_packages(&s.argv) {
            if spec.starts_with("http://") || spec.starts_with("https://") {
                // A tarball by URL: fixed only when the URL names a version or a commit.
                if !url_names_version(&spec) {
                    let node = s.argv[i].1;
                    out.at(
                        node.span,
                        s.launch_key.join("args"),
                        format!(
                            "`{}` runs a package from a URL that names no version or commit",
                            s.name
                        ),
                    );
                }
                continue;
            }
            if spec.starts_with("git+")
                || spec.starts_with("github:")
                || spec.contains("://")
                || spec.starts_with('.')
                || spec.starts_with('/')
            {
                continue; // unpinned-git-source's, or a local path (`jsr:`, not npm)
            }
            if !is_pinned(&spec, npm) {
                let node = s.argv[i].1;
                out.at(
                    node.span,
                    s.launch_key.join("args"),
                    format!("`{}` runs `{spec}` without an exact version", s.name),
                );
            }
        }
    }
}
