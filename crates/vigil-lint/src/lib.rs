//! Vigil's linter for the configuration of AI-agent, bot and MCP stacks: MCP client
//! configurations (Claude Desktop, Claude Code, Cursor, VS Code, Windsurf, Zed, Continue,
//! Gemini CLI, Codex), voice manifests, saved `tools/list` results, compose stacks and Discord
//! bots, checked offline against the design's security checklist, plus tool pinning
//! ([`pin`], the lock file the gateway enforces too) and a read-only live [`probe`].
//!
//! A run is: [`Settings::load`] (`[lint]` of `vigil.toml`) → [`Linter::run`] over paths (each
//! input parsed once by a position-keeping parser, every enabled rule run over it) →
//! optionally [`lint::pin_findings`] and [`lint::probe_findings`] → [`report::build`], which
//! `vigil-report` renders.
//!
//! ```
//! use vigil_lint::{Linter, Settings};
//! let linter = Linter::new(Settings::default());
//! let text = r#"{"mcpServers": {"api": {"type": "http", "url": "http://mcp.example.com/mcp"}}}"#;
//! let (_, findings, _) = linter.lint_text(".mcp.json".as_ref(), text).unwrap().unwrap();
//! let rules: Vec<&str> = findings.iter().map(|f| f.rule).collect();
//! assert_eq!(rules, ["plaintext-transport", "remote-without-auth"]);
//! assert_eq!(findings[0].region.0, 1);
//! ```

#![cfg_attr(test, allow(clippy::disallowed_methods))] // Unit tests write fixtures directly.

pub mod compose_env;
pub mod config;
pub mod discord;
pub mod discover;
pub mod document;
pub mod input;
pub mod lines;
pub mod lint;
pub mod model;
pub mod node;
pub mod parse;
/// Tool pinning (the lock file `vigil gateway` enforces too), shared from `vigil-core`.
pub use vigil_core::pin;
pub mod probe;
pub mod redact;
pub mod report;
pub mod rules;
pub mod secrets;

pub use config::{LintSection, Settings, SettingsError};
pub use lint::{Finding, InputError, Linter, Outcome};
