//! A gitleaks user's `.gitleaks.toml` works unchanged: custom rules with every field, per-rule
//! and global allowlists (regexes, regexTarget, paths, stopwords, condition), `[extend]`
//! (useDefault, path, disabledRules), inline `gitleaks:allow`, and auto-detection.

mod common;

use common::*;
use tempfile::TempDir;

const CONFIG: &str = r#"
title = "voice lab rules"

[extend]
useDefault = true
path = "base.toml"
disabledRules = ["generic-api-key"]

[[rules]]
id = "orchestrator-token"
description = "Orchestrator auth token"
regex = '''(?i)orch_auth_token\s*[=:]\s*["']?(orch_[a-z0-9]{32})'''
secretGroup = 1
entropy = 3.0
keywords = ["orch_auth_token"]
path = '''(^|/)\.env$'''
tags = ["internal", "orchestrator"]

  [[rules.allowlists]]
  description = "staging tokens are public"
  regexTarget = "line"
  regexes = ['''#\s*STAGING''']

  [[rules.allowlists]]
  description = "fixtures, but only fixture tokens"
  condition = "AND"
  paths = ['''^fixtures/''']
  stopwords = ["fixture"]

[[rules]]
id = "mcp-live-key"
description = "MCP live key"
regex = '''mcp_live_[A-Za-z0-9]{24}'''
secretGroup = 0
keywords = ["mcp_live_"]

  [[rules.allowlists]]
  regexTarget = "match"
  regexes = ['''^mcp_live_TEST''']

[allowlist]
description = "global"
paths = ['''^vendor/''']
regexes = ['''^orch_0000''']
stopwords = ["dummyvalue"]
"#;

const BASE: &str = r#"
[[rules]]
id = "internal-service-token"
description = "Internal service token"
regex = '''svc_tok_[a-f0-9]{40}'''
keywords = ["svc_tok_"]
"#;

fn orch(seed: u64) -> String {
    token("«orch_{lowernum:32}»", seed)
}

fn tree() -> TempDir {
    let d = TempDir::new().unwrap();
    let r = d.path();
    write(r, "rules/team.toml", CONFIG);
    write(r, "rules/base.toml", BASE);
    let fixture_tok = format!("orch_fixture{}", &orch(3)[12..]);
    let env = [
        format!("ORCH_AUTH_TOKEN={}", orch(1)),
        format!("ORCH_AUTH_TOKEN={} # STAGING", orch(2)),
        format!("SERVICE_KEY={}", token("«mcp_live_{alnum:24}»", 4)),
        format!("SERVICE_KEY={}", token("«mcp_live_TEST{alnum:20}»", 5)),
        format!("MCP_JWT_SECRET={}", token("«{alnum:44}»", 6)),
        format!("GITHUB_TOKEN={}", token("«ghp_{alnum:30}{ghcrc}»", 7)),
        format!("INTERNAL={}", token("«svc_tok_{hex:40}»", 8)),
        format!("ORCH_AUTH_TOKEN=orch_dummyvalue{}", &orch(9)[15..]),
        format!(
            "GITHUB_TOKEN={} # gitleaks:allow",
            token("«ghp_{alnum:30}{ghcrc}»", 10)
        ),
        format!("ORCH_AUTH_TOKEN=orch_0000{}", &orch(11)[9..]),
    ]
    .join("\n");
    write(r, ".env", env + "\n");
    write(r, "config.yml", format!("ORCH_AUTH_TOKEN: {}\n", orch(12)));
    write(
        r,
        "fixtures/.env",
        format!(
            "ORCH_AUTH_TOKEN={fixture_tok}\nORCH_AUTH_TOKEN={}\n",
            orch(13)
        ),
    );
    write(r, "other/.env", format!("ORCH_AUTH_TOKEN={fixture_tok}\n"));
    write(r, "vendor/.env", format!("ORCH_AUTH_TOKEN={}\n", orch(14)));
    d
}

fn found(out: &std::process::Output) -> Vec<String> {
    triples(&json(out))
        .into_iter()
        .map(|(f, r, l)| format!("{f}:{r}:{l}"))
        .collect()
}

#[test]
fn every_gitleaks_field_is_honoured() {
    let d = tree();
    let out = run(
        d.path(),
        &["scan", ".", "--config", "rules/team.toml", "-f", "json"],
    );
    expect_exit(&out, 1);
    assert_eq!(
        found(&out),
        vec![
            ".env:github-pat:6",
            ".env:internal-service-token:7",
            ".env:mcp-live-key:3",
            ".env:orchestrator-token:1",
            "fixtures/.env:orchestrator-token:2",
            "other/.env:orchestrator-token:1",
        ]
    );
    let v = json(&out);
    let orch = v
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "orchestrator-token")
        .unwrap();
    assert_eq!(
        orch["tags"],
        serde_json::json!(["internal", "orchestrator"])
    );
    assert_eq!(orch["column"], 17);
}

#[test]
fn custom_rules_without_extend_replace_the_defaults() {
    let d = tree();
    let only = CONFIG.replace("[extend]\nuseDefault = true\npath = \"base.toml\"\ndisabledRules = [\"generic-api-key\"]\n", "");
    write(d.path(), ".gitleaks.toml", only);
    // Auto-detected beside the scanned directory.
    let out = run(d.path(), &["scan", ".", "-f", "json"]);
    let got = found(&out);
    assert!(
        got.iter()
            .all(|f| f.contains("orchestrator-token") || f.contains("mcp-live-key")),
        "{got:?}"
    );
    assert_eq!(got.len(), 4, "{got:?}");
}

#[test]
fn a_bad_regex_names_file_line_and_key() {
    let d = tree();
    let bad = CONFIG.replace(
        "regex = '''mcp_live_[A-Za-z0-9]{24}'''",
        "regex = '''mcp_live_[A-Za-z0-9{24}'''",
    );
    write(d.path(), "rules/bad.toml", bad);
    let out = run(d.path(), &["scan", ".", "--config", "rules/bad.toml"]);
    expect_exit(&out, 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    let line = CONFIG
        .lines()
        .position(|l| l.starts_with("regex = '''mcp_live_"))
        .unwrap()
        + 1;
    assert!(
        err.starts_with(&format!(
            "vigil: rules/bad.toml:{line}: rules[1].regex: invalid regex (mcp-live-key)"
        )),
        "{err}"
    );
}

#[test]
fn vigil_toml_scan_section_adds_rules_and_allowlists_to_the_builtins() {
    let d = tree();
    write(
        d.path(),
        "vigil.toml",
        "[scan]\nmax_file_size = \"1MiB\"\n\n[[scan.rules]]\nid = \"internal-service-token\"\nregex = '''svc_tok_[a-f0-9]{40}'''\nkeywords = [\"svc_tok_\"]\n\n[scan.allowlist]\npaths = ['''^(fixtures|other|vendor)/''']\n",
    );
    let out = run(d.path(), &["scan", ".", "-f", "json"]);
    let got = found(&out);
    assert!(
        got.contains(&".env:internal-service-token:7".to_string()),
        "{got:?}"
    );
    assert!(got.contains(&".env:github-pat:6".to_string()), "{got:?}");
    assert!(
        got.contains(&".env:generic-api-key:5".to_string()),
        "{got:?}"
    );
    assert!(
        got.iter()
            .all(|f| !f.starts_with("fixtures/") && !f.starts_with("vendor/")),
        "{got:?}"
    );
}

#[test]
fn vigil_toml_errors_name_file_line_and_key() {
    let d = tree();
    write(
        d.path(),
        "vigil.toml",
        "# settings\n[scan]\nmax_file_size = \"1MiB\"\nmax_size = 3\n",
    );
    let out = run(d.path(), &["scan", "."]);
    expect_exit(&out, 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("vigil: vigil.toml:4: scan.max_size: unknown field `max_size`"),
        "{err}"
    );
    write(
        d.path(),
        "vigil.toml",
        "[scan]\nexit_code = \"hunter2-ish\"\n",
    );
    let err = String::from_utf8_lossy(&run(d.path(), &["scan", "."]).stderr).into_owned();
    assert!(
        err.starts_with("vigil: vigil.toml:2: scan.exit_code: wrong type"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
    write(d.path(), "vigil.toml", "[scna]\nx = 1\n");
    let err = String::from_utf8_lossy(&run(d.path(), &["scan", "."]).stderr).into_owned();
    assert!(
        err.starts_with("vigil: vigil.toml:1: scna: unknown section"),
        "{err}"
    );
}
