//! What a user sees from the `vigil` command itself: help lists only working subcommands,
//! version, completions, JSON logs, and the text report (insta snapshots).

mod common;

use common::*;
use tempfile::TempDir;

#[test]
fn help_lists_only_working_subcommands() {
    let dir = TempDir::new().unwrap();
    let out = vigil(dir.path()).arg("help").output().unwrap();
    expect_exit(&out, 0);
    insta::assert_snapshot!("help", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn version_and_completions() {
    let dir = TempDir::new().unwrap();
    let v = vigil(dir.path()).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&v.stdout).trim(),
        format!("vigil {}", env!("CARGO_PKG_VERSION"))
    );
    for (shell, marker) in [
        ("bash", "_vigil()"),
        ("zsh", "#compdef vigil"),
        ("fish", "complete -c vigil"),
    ] {
        let out = run(dir.path(), &["completions", shell]);
        expect_exit(&out, 0);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(marker), "{shell}");
        assert!(
            text.contains("scan"),
            "{shell} completes the scan subcommand"
        );
    }
    let out = run(dir.path(), &["completions", "tcsh"]);
    expect_exit(&out, 2);
}

#[test]
fn json_logs_are_json_lines_and_redacted() {
    let dir = TempDir::new().unwrap();
    let key = token("«sk-or-v1-{hex:64}»", 8);
    write(dir.path(), ".env", format!("OPENROUTER_API_KEY={key}\n"));
    let out = run(
        dir.path(),
        &["--log-format", "json", "-v", "scan", ".", "-f", "json"],
    );
    expect_exit(&out, 1);
    let err = String::from_utf8_lossy(&out.stderr);
    let mut messages = Vec::new();
    for line in err.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        messages.push(
            v["fields"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
        if v["fields"]["message"] == "scan finished" {
            assert_eq!(v["fields"]["findings"], 1);
            assert_eq!(v["fields"]["files"], 1);
        }
    }
    assert!(messages.contains(&"scan finished".to_owned()), "{err}");
    assert!(messages.contains(&"rules loaded".to_owned()), "{err}");
    assert!(!err.contains(&key[12..40]));
}

#[test]
fn text_report_snapshot() {
    let dir = TempDir::new().unwrap();
    let r = dir.path();
    write(
        r,
        "bot/.env",
        format!(
            "# Discord voice bot\nDISCORD_TOKEN={}\nDEEPGRAM_API_KEY={}\n",
            token("«{b64digits:18}.{b64url:6}.{b64url:38}»", 31),
            token("«{hex:40}»", 32)
        ),
    );
    write(r, "mcp/servers.json", format!("{{\"memory\": {{\"url\": \"https://mcp.example/memory\", \"headers\": {{\"Authorization\": \"Bearer {}\"}}}}}}\n", token("«{jwt}»", 33)));
    let out = run(r, &["scan", "."]);
    expect_exit(&out, 1);
    insta::assert_snapshot!("text_report", String::from_utf8_lossy(&out.stdout));
    let quiet = run(r, &["scan", ".", "-q"]);
    assert!(quiet.stderr.is_empty(), "--quiet prints nothing on stderr");
}
