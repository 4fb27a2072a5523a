//! Helpers shared by the CLI tests: run the real binary, build token-shaped strings at run time,
//! and find the external validators (Python's jsonschema, the official SARIF schema from npm).

#![allow(dead_code)]

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use std::process::Output;
use vigil_scan::examples::{expand, Gen};

mod deps;
mod git;
#[allow(unused_imports)] // Each test binary uses some of them.
pub(crate) use deps::{python_with, sarif_schema, wheel_folder};
pub(crate) use git::{checked, commit_all, git, git_command, git_init, git_output};

/// The `vigil` binary under test, with logs and colour fixed.
pub(crate) fn vigil(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("vigil").expect("binary built");
    c.current_dir(dir)
        .env_remove("VIGIL_CONFIG")
        .env_remove("VIGIL_LOG")
        .env("NO_COLOR", "1")
        // The history cache's signing key: never the user's own cache folder.
        .env(
            "XDG_CACHE_HOME",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/xdg-cache"),
        );
    c
}

/// A token from a template (see crates/vigil-scan/rules/README.md), deterministic per seed.
pub(crate) fn token(template: &str, seed: u64) -> String {
    let ex = expand(template, &mut Gen::new(seed)).expect("template");
    ex.text[ex.secret].to_owned()
}

/// Writes a file, creating parent directories.
pub(crate) fn write(root: &Path, rel: &str, body: impl AsRef<[u8]>) -> PathBuf {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, body).unwrap();
    p
}

/// Parses stdout as JSON.
pub(crate) fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// (file, rule, line, secret) of every finding of a `--show-secrets` JSON report (its
/// incomplete-scan entries left out), sorted.
pub(crate) fn findings_with_secrets(out: &Output) -> Vec<(String, String, u64, String)> {
    let mut v: Vec<_> = json(out)
        .as_array()
        .expect("array")
        .iter()
        .filter(|f| f.get("rule").is_some())
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_owned(),
                f["rule"].as_str().unwrap().to_owned(),
                f["line"].as_u64().unwrap(),
                f["secret"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    v.sort();
    v
}

/// (file, rule, line) of every finding in a JSON report, sorted.
pub(crate) fn triples(v: &serde_json::Value) -> Vec<(String, String, u64)> {
    let mut t: Vec<_> = v
        .as_array()
        .expect("array")
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_owned(),
                f["rule"].as_str().unwrap().to_owned(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect();
    t.sort();
    t
}

/// Runs `vigil ARGS` in `dir` and returns its output.
pub(crate) fn run(dir: &Path, args: &[&str]) -> Output {
    vigil(dir).args(args).output().expect("vigil runs")
}

/// Asserts the exit code, showing stderr when it differs.
pub(crate) fn expect_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A `vigil` run as one text for a snapshot: the exit code, then stdout, then stderr, with every
/// occurrence of `root` (the test's temporary folder) shown as `[ROOT]` (uv's `uv_snapshot!`).
pub(crate) fn snapshot_text(out: &Output, root: &Path) -> String {
    let root = root.display().to_string();
    let clean = |bytes: &[u8]| String::from_utf8_lossy(bytes).replace(&root, "[ROOT]");
    format!(
        "exit code: {}\n----- stdout -----\n{}----- stderr -----\n{}",
        out.status
            .code()
            .map_or_else(|| "signal".to_owned(), |c| c.to_string()),
        clean(&out.stdout),
        clean(&out.stderr),
    )
}

/// Snapshots a `vigil` run (exit code, stdout, stderr; the temporary folder as `[ROOT]`):
/// `vigil_snapshot!("name", output, root)`.
macro_rules! vigil_snapshot {
    ($name:expr, $out:expr, $root:expr) => {
        insta::assert_snapshot!($name, $crate::common::snapshot_text(&$out, $root))
    };
}
pub(crate) use vigil_snapshot;
