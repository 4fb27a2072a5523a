//! Real git for the tests, one way: a fixed identity, no system or user configuration (`HOME` is
//! the test's folder), no inherited `GIT_DIR`, and the `vigil` under test first on `PATH` (hooks
//! call it).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A `git ARGS` command in `dir`, ready to run; add `.env(…)` for another identity or date.
pub(crate) fn git_command(dir: &Path, args: &[&str]) -> Command {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_vigil"));
    let path = format!(
        "{}:{}",
        bin.parent().expect("the binary's folder").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut c = Command::new("git");
    c.current_dir(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "T")
        .env("GIT_AUTHOR_EMAIL", "t@example.org")
        .env("GIT_COMMITTER_NAME", "T")
        .env("GIT_COMMITTER_EMAIL", "t@example.org")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .env_remove("GIT_DIR")
        .env_remove("VIGIL_CONFIG");
    c
}

/// Runs `git ARGS` in `dir` with `extra` environment; its output, whatever the exit.
pub(crate) fn git_output(dir: &Path, args: &[&str], extra: &[(&str, &str)]) -> Output {
    let mut c = git_command(dir, args);
    for (k, v) in extra {
        c.env(k, v);
    }
    c.output().expect("git runs")
}

/// Runs `git ARGS` in `dir`, which must succeed; its stdout, trimmed.
pub(crate) fn git(dir: &Path, args: &[&str]) -> String {
    checked(git_command(dir, args), args)
}

/// Runs a prepared git command, which must succeed; its stdout, trimmed.
pub(crate) fn checked(mut c: Command, args: &[&str]) -> String {
    let out = c.output().expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// `git init -b main` in `dir` (created if missing), with automatic gc off.
pub(crate) fn git_init(dir: &Path) {
    std::fs::create_dir_all(dir).expect("repository folder");
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["config", "gc.auto", "0"]);
}

/// Stages everything and commits it; the new commit's id.
pub(crate) fn commit_all(dir: &Path, msg: &str) -> String {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", msg]);
    git(dir, &["rev-parse", "HEAD"])
}
