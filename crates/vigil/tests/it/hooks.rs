//! `vigil hook install` where git really looks for hooks, proven by real `git commit` and `git
//! push` runs: plain `.git/hooks`, `core.hooksPath`, husky v9 and lefthook (both from npm), a
//! linked worktree, the pre-commit framework (from PyPI); existing hooks keep running (chained).

use crate::common;

use common::{expect_exit, git, git_output, run, token, write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tempfile::TempDir;

/// Runs git in `dir` (the shared test setup: `vigil` on the PATH, HOME inside the test); its
/// output, whatever the exit.
fn git_out(dir: &Path, args: &[&str]) -> Output {
    git_output(dir, args, &[])
}

fn repo() -> TempDir {
    let dir = TempDir::new().unwrap();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    write(dir.path(), "README.md", "# bot\n");
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "initial"]);
    dir
}

fn slack(seed: u64) -> String {
    token("xoxb-{digits:12}-{digits:13}-{alnum:24}", seed)
}

/// Stages a file holding a secret and tries to commit it: the hook must refuse. Then stages a
/// clean change instead, which must commit.
fn secret_is_blocked_and_clean_commits_pass(dir: &Path, seed: u64) {
    write(dir, "leak.py", format!("TOKEN = '{}'\n", slack(seed)));
    git(dir, &["add", "leak.py"]);
    let out = git_out(dir, &["commit", "-q", "-m", "leak"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the secret was committed: {err}");
    assert!(err.contains("1 finding(s) in the index"), "{err}");
    git(dir, &["rm", "-q", "--cached", "leak.py"]);
    std::fs::remove_file(dir.join("leak.py")).unwrap();
    write(dir, "notes.txt", format!("clean {seed}\n"));
    git(dir, &["add", "notes.txt"]);
    git(dir, &["commit", "-q", "-m", "clean"]);
}

fn executable(p: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn plain_hooks_run_and_chain_to_the_hooks_already_there() {
    let dir = repo();
    let d = dir.path();
    let hooks = d.join(".git/hooks");
    executable(
        &hooks.join("pre-commit"),
        "#!/bin/sh\necho old >> ran-old-pre-commit\n",
    );
    executable(&hooks.join("pre-push"), "#!/bin/sh\ncat >> pushed-refs\n");
    let out = run(d, &["hook", "install", "--pre-push"]);
    expect_exit(&out, 0);
    // Twice is the same as once: the old hook is chained once, not to Vigil's own hook.
    expect_exit(&run(d, &["hook", "install", "--pre-push"]), 0);
    secret_is_blocked_and_clean_commits_pass(d, 1);
    assert_eq!(
        std::fs::read_to_string(d.join("ran-old-pre-commit")).unwrap(),
        "old\n",
        "the hook that was there ran once, after vigil"
    );
    // pre-push: the old hook still gets git's refs on stdin; a pushed secret is refused.
    let remote = TempDir::new().unwrap();
    git(remote.path(), &["init", "-q", "--bare"]);
    git(
        d,
        &["remote", "add", "origin", remote.path().to_str().unwrap()],
    );
    git(d, &["push", "-q", "origin", "main"]);
    let refs = std::fs::read_to_string(d.join("pushed-refs")).unwrap();
    assert!(refs.starts_with("refs/heads/main "), "{refs:?}");
    write(d, "later.py", format!("TOKEN = '{}'\n", slack(2)));
    git(d, &["add", "later.py"]);
    git(d, &["commit", "-q", "--no-verify", "-m", "sneaky"]);
    let out = git_out(d, &["push", "-q", "origin", "main"]);
    assert!(!out.status.success(), "the secret was pushed");
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 finding(s)"));
}

#[test]
fn core_hooks_path_is_where_the_hook_goes() {
    let dir = repo();
    let d = dir.path();
    git(d, &["config", "core.hooksPath", ".githooks"]);
    let out = run(d, &["hook", "install"]);
    expect_exit(&out, 0);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(".githooks/pre-commit"), "{err}");
    // bb-git-s9 F3: what the pre-commit hook never sees is said.
    assert!(
        err.contains("merge, cherry-pick, rebase and am record commits without it"),
        "{err}"
    );
    assert!(!d.join(".git/hooks/pre-commit").exists());
    secret_is_blocked_and_clean_commits_pass(d, 3);
    // A hooks path that is a file cannot hold hooks: refused, nothing written.
    write(d, "not-a-dir", "x\n");
    git(d, &["config", "core.hooksPath", "not-a-dir"]);
    let out = run(d, &["hook", "install"]);
    expect_exit(&out, 2);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not-a-dir"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_linked_worktree_uses_the_shared_hooks() {
    let dir = repo();
    let d = dir.path();
    let wt = d.join("wt");
    git(d, &["worktree", "add", "-q", "-b", "feature", "wt"]);
    let out = run(&wt, &["hook", "install"]);
    expect_exit(&out, 0);
    assert!(d.join(".git/hooks/pre-commit").exists());
    // Named as the common folder's hooks, not through `.git/worktrees/wt/../..`.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("worktrees/") && err.contains(".git/hooks"),
        "{err}"
    );
    secret_is_blocked_and_clean_commits_pass(&wt, 4);
    // The main worktree is protected by the same hook.
    secret_is_blocked_and_clean_commits_pass(d, 5);
}

/// bb-git-s7 #10: with `extensions.worktreeConfig`, a linked worktree's own `config.worktree`
/// may point `core.hooksPath` elsewhere: git then runs no vigil there, and `hook install` from
/// the main worktree says so (exit 2, naming it) instead of reporting every worktree protected.
#[test]
fn a_per_worktree_hooks_path_is_reported_unprotected() {
    let dir = repo();
    let d = dir.path();
    let wt = d.join("w1-wt");
    git(d, &["worktree", "add", "-q", "-b", "feature", "w1-wt"]);
    git(d, &["config", "extensions.worktreeConfig", "true"]);
    let elsewhere = TempDir::new().unwrap();
    git(
        &wt,
        &[
            "config",
            "--worktree",
            "core.hooksPath",
            elsewhere.path().to_str().unwrap(),
        ],
    );
    let out = run(d, &["hook", "install", "--pre-push"]);
    let err = String::from_utf8_lossy(&out.stderr);
    expect_exit(&out, 2);
    assert!(err.contains("NOT PROTECTED"), "{err}");
    assert!(err.contains("w1-wt"), "{err}");
    // The main worktree itself is protected.
    secret_is_blocked_and_clean_commits_pass(d, 6);
    // Once the worktree's own setting is gone, every worktree is.
    git(&wt, &["config", "--worktree", "--unset", "core.hooksPath"]);
    expect_exit(&run(d, &["hook", "install", "--pre-push"]), 0);
    secret_is_blocked_and_clean_commits_pass(&wt, 7);
}

/// husky and lefthook from npm, pinned, installed once under target/.
fn npm_bin() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("test-deps/hook-managers");
    std::fs::create_dir_all(&dir).unwrap();
    let lock = std::fs::File::create(dir.join("npm.lock")).unwrap();
    lock.lock().unwrap();
    let bin = dir.join("node_modules/.bin");
    if !bin.join("husky").exists() || !bin.join("lefthook").exists() {
        std::fs::write(
            dir.join("package.json"),
            "{\"name\":\"hook-managers\",\"private\":true}\n",
        )
        .unwrap();
        let out = Command::new("npm")
            .current_dir(&dir)
            .args([
                "install",
                "-E",
                "--no-audit",
                "--no-fund",
                "--ignore-scripts",
                "husky@9.1.7",
                "lefthook@2.2.1",
            ])
            .output()
            .expect("npm runs");
        assert!(
            out.status.success(),
            "npm install failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    bin
}

#[test]
fn husky_v9_gets_the_command_in_its_own_hook_file() {
    let bin = npm_bin();
    let dir = repo();
    let d = dir.path();
    let out = Command::new(bin.join("husky"))
        .current_dir(d)
        .env("HOME", d)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(git(d, &["config", "core.hooksPath"]), ".husky/_");
    write(d, ".husky/pre-commit", "echo husky >> ran-husky\n");
    write(d, ".husky/pre-push", "cat >> husky-pushed\n");
    let generated = |d: &Path| -> Vec<(String, String)> {
        let mut v: Vec<_> = std::fs::read_dir(d.join(".husky/_"))
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read_to_string(e.path()).unwrap(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let before = generated(d);
    let out = run(d, &["hook", "install", "--pre-push"]);
    expect_exit(&out, 0);
    assert_eq!(
        generated(d),
        before,
        "husky's generated .husky/_ is untouched"
    );
    let hook = std::fs::read_to_string(d.join(".husky/pre-commit")).unwrap();
    assert!(hook.contains("vigil scan --staged"), "{hook}");
    assert!(hook.contains("echo husky >> ran-husky"), "{hook}");
    assert!(d.join(".husky/pre-push").exists());
    secret_is_blocked_and_clean_commits_pass(d, 6);
    assert_eq!(
        std::fs::read_to_string(d.join("ran-husky")).unwrap(),
        "husky\n"
    );
    // pre-push: the rest of the husky file still reads git's refs; a pushed secret is refused.
    let remote = TempDir::new().unwrap();
    git(remote.path(), &["init", "-q", "--bare"]);
    git(
        d,
        &["remote", "add", "origin", remote.path().to_str().unwrap()],
    );
    git(d, &["push", "-q", "origin", "main"]);
    let refs = std::fs::read_to_string(d.join("husky-pushed")).unwrap();
    assert!(refs.starts_with("refs/heads/main "), "{refs:?}");
    write(d, "later.py", format!("TOKEN = '{}'\n", slack(9)));
    git(d, &["add", "later.py"]);
    git(d, &["commit", "-q", "--no-verify", "-m", "sneaky"]);
    let out = git_out(d, &["push", "-q", "origin", "main"]);
    assert!(!out.status.success(), "the secret was pushed");
}

#[test]
fn lefthook_gets_a_command_in_lefthook_yml() {
    let bin = npm_bin();
    let dir = repo();
    let d = dir.path();
    let yml = "# team hooks\npre-commit:\n  parallel: false\n  commands:\n    hello:\n      run: echo lefthook >> ran-lefthook\n";
    write(d, "lefthook.yml", yml);
    let out = Command::new(bin.join("lefthook"))
        .current_dir(d)
        .arg("install")
        .env("HOME", d)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(d, &["hook", "install"]);
    expect_exit(&out, 0);
    let edited = std::fs::read_to_string(d.join("lefthook.yml")).unwrap();
    assert!(
        edited.starts_with("# team hooks\npre-commit:\n"),
        "{edited}"
    );
    assert!(
        edited.contains("run: echo lefthook >> ran-lefthook"),
        "{edited}"
    );
    assert!(edited.contains("run: vigil scan --staged"), "{edited}");
    // The git hook is lefthook's own, untouched.
    let hook = std::fs::read_to_string(d.join(".git/hooks/pre-commit")).unwrap();
    assert!(
        hook.contains("lefthook") && !hook.contains("vigil"),
        "{hook}"
    );
    // lefthook from node_modules: put its binary on the PATH the hook sees.
    let lefthook_path = |d: &Path, args: &[&str]| -> Output {
        let vigil = assert_cmd::cargo::cargo_bin("vigil");
        Command::new("git")
            .current_dir(d)
            .args(args)
            .env(
                "PATH",
                format!(
                    "{}:{}:{}",
                    vigil.parent().unwrap().display(),
                    bin.display(),
                    std::env::var("PATH").unwrap()
                ),
            )
            .env("HOME", d)
            .env("GIT_AUTHOR_NAME", "T")
            .env("GIT_AUTHOR_EMAIL", "t@example.org")
            .env("GIT_COMMITTER_NAME", "T")
            .env("GIT_COMMITTER_EMAIL", "t@example.org")
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    write(d, "leak.py", format!("TOKEN = '{}'\n", slack(7)));
    git(d, &["add", "leak.py"]);
    let out = lefthook_path(d, &["commit", "-q", "-m", "leak"]);
    assert!(
        !out.status.success(),
        "the secret was committed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    git(d, &["rm", "-q", "--cached", "leak.py"]);
    std::fs::remove_file(d.join("leak.py")).unwrap();
    write(d, "notes.txt", "clean\n");
    git(d, &["add", "notes.txt", "lefthook.yml"]);
    let out = lefthook_path(d, &["commit", "-q", "-m", "clean"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        d.join("ran-lefthook").exists(),
        "the team's command still runs"
    );
    // Twice is once.
    expect_exit(&run(d, &["hook", "install"]), 0);
    let again = std::fs::read_to_string(d.join("lefthook.yml")).unwrap();
    assert_eq!(again.matches("vigil scan --staged").count(), 1, "{again}");
    // pre-push: lefthook hands vigil git's remote and URL (`{1}`, `{2}`), so the pushed remote
    // is asked what it has: a new clean branch scans its one new commit, with no warning.
    // (Not protected until lefthook installs its pre-push hook: exit 2 until then.)
    expect_exit(&run(d, &["hook", "install", "--pre-push"]), 2);
    let out = Command::new(bin.join("lefthook"))
        .current_dir(d)
        .arg("install")
        .env("HOME", d)
        .output()
        .unwrap();
    assert!(out.status.success());
    expect_exit(&run(d, &["hook", "install", "--pre-push"]), 0);
    let remote = TempDir::new().unwrap();
    git(remote.path(), &["init", "-q", "--bare"]);
    git(
        d,
        &["remote", "add", "origin", remote.path().to_str().unwrap()],
    );
    git(d, &["add", "lefthook.yml"]);
    let out = lefthook_path(d, &["commit", "-q", "-m", "pre-push too"]);
    assert!(out.status.success());
    let out = lefthook_path(d, &["push", "-q", "--no-verify", "origin", "main"]);
    assert!(out.status.success());
    git(d, &["checkout", "-q", "-b", "topic"]);
    write(d, "notes.txt", "clean, again\n");
    git(d, &["add", "notes.txt"]);
    let out = lefthook_path(d, &["commit", "-q", "-m", "topic"]);
    assert!(out.status.success());
    let out = lefthook_path(d, &["push", "-q", "origin", "topic"]);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{all}");
    assert!(all.contains("in 1 commit(s)"), "{all}");
    assert!(!all.contains("could not ask the remote"), "{all}");
    // A lefthook configuration Vigil cannot edit safely is refused with the lines to add.
    let other = repo();
    write(other.path(), "lefthook.toml", "[pre-commit]\n");
    let out = run(other.path(), &["hook", "install"]);
    expect_exit(&out, 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("lefthook.toml") && err.contains("vigil scan --staged"),
        "{err}"
    );
}

#[test]
fn pre_commit_framework_users_get_the_config_entry() {
    let dir = repo();
    let d = dir.path();
    let config = "repos:\n  - repo: local\n    hooks:\n      - id: hello\n        name: hello\n        entry: sh -c 'echo pc >> ran-pre-commit'\n        language: system\n        pass_filenames: false\n";
    write(d, ".pre-commit-config.yaml", config);
    git(d, &["add", ".pre-commit-config.yaml"]);
    git(d, &["commit", "-q", "-m", "pre-commit"]);
    let out = run(d, &["hook", "install", "--pre-push"]);
    // Nothing protects the repository until the entry is added: said, and exit 2.
    expect_exit(&out, 2);
    let entry = String::from_utf8_lossy(&out.stdout).into_owned();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nothing was installed"), "{err}");
    assert!(
        entry.contains("- id: vigil\n") && entry.contains("- id: vigil-pre-push\n"),
        "{entry}"
    );
    // A `repo: local` entry: nothing to fetch, `vigil` from the PATH.
    assert!(entry.contains("- repo: local\n"), "{entry}");
    assert!(!entry.contains("example.invalid"), "{entry}");
    assert_eq!(
        git(d, &["status", "--porcelain"]),
        "",
        "nothing was written"
    );
    assert!(!d.join(".git/hooks/pre-commit").exists());

    // The entry, pasted under `repos:`, works with the real pre-commit.
    let py = common::python_with("pre_commit", "pre-commit");
    let items: String = entry
        .lines()
        .filter(|l| !l.starts_with("repos:") && !l.trim_start().starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    write(d, ".pre-commit-config.yaml", format!("{config}{items}"));
    let pc = |args: &[&str]| {
        let out = Command::new(&py)
            .current_dir(d)
            .args(["-m", "pre_commit"])
            .args(args)
            .env("HOME", d)
            .env("PRE_COMMIT_HOME", d.join(".cache-pc"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    pc(&[
        "install",
        "--hook-type",
        "pre-commit",
        "--hook-type",
        "pre-push",
    ]);
    write(d, ".gitignore", ".cache-pc/\nran-pre-commit\n");
    git(d, &["add", ".pre-commit-config.yaml", ".gitignore"]);
    secret_is_blocked_and_clean_commits_pass(d, 8);
    assert!(d.join("ran-pre-commit").exists());
    // bb-git-s8 #1: a token added and deleted again before the push leaves no file in the
    // pushed diff; without `always_run` pre-commit skipped the pre-push hook and it was pushed.
    let bare = tempfile::TempDir::new().unwrap();
    git(bare.path(), &["init", "-q", "--bare"]);
    git(
        d,
        &["remote", "add", "origin", bare.path().to_str().unwrap()],
    );
    git(d, &["push", "-q", "origin", "HEAD:refs/heads/main"]);
    write(
        d,
        "t.txt",
        format!("{}\n", token("GITHUB_TOKEN=«ghp_{alnum:30}{ghcrc}»", 808)),
    );
    git(d, &["add", "t.txt"]);
    git(d, &["commit", "-q", "--no-verify", "-m", "add"]);
    git(d, &["rm", "-q", "t.txt"]);
    git(d, &["commit", "-q", "--no-verify", "-m", "remove"]);
    let out = git_out(d, &["push", "-q", "origin", "HEAD:refs/heads/main"]);
    assert!(
        !out.status.success(),
        "pushed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    git(d, &["reset", "-q", "--hard", "HEAD~2"]);
    // Once configured, install says so.
    let out = run(d, &["hook", "install"]);
    expect_exit(&out, 0);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------------------------------------
// Black-box report on issue 15 (h15-blackbox.md): C, F, P (husky v8, -q).
// ---------------------------------------------------------------------------------------------

/// C: a private key committed in two steps (all but its last line, then the last line) is
/// refused by the real pre-commit hook at the second step: the whole new blob is scanned, and
/// a finding is kept unless HEAD's version of the file already held that very secret.
#[test]
fn a_private_key_committed_in_two_steps_is_refused() {
    let dir = repo();
    let d = dir.path();
    expect_exit(&run(d, &["hook", "install"]), 0);
    let key = token(
        "«-----BEGIN OPENSSH PRIVATE KEY-----\n{pem}\n-----END OPENSSH PRIVATE KEY-----»",
        501,
    );
    let lines: Vec<&str> = key.lines().collect();
    let (head, last) = lines.split_at(lines.len() - 1);
    write(d, "k.pem", format!("{}\n", head.join("\n")));
    git(d, &["add", "k.pem"]);
    // Whether or not the hook refuses the incomplete key, it lands in HEAD.
    git(d, &["commit", "-q", "--no-verify", "-m", "1"]);
    write(d, "k.pem", format!("{}\n{}\n", head.join("\n"), last[0]));
    git(d, &["add", "k.pem"]);
    let out = git_out(d, &["commit", "-q", "-m", "2"]);
    assert!(!out.status.success(), "the completed key was committed");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("private-key"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A change elsewhere in a file whose secret HEAD already holds does not block.
    git(d, &["commit", "-q", "--no-verify", "-m", "2"]);
    write(d, "k.pem", format!("{key}\n# rotated, see issue 12\n"));
    git(d, &["add", "k.pem"]);
    git(d, &["commit", "-q", "-m", "3"]);
}

/// F: husky v9 with a linked worktree: the worktree has no `.husky/_`, so git runs nothing
/// there. `vigil hook install` says so (exit 2, naming the worktree and the fix), from the main
/// worktree and from the linked one; once husky has run in the worktree, it protects it.
#[test]
fn husky_in_a_linked_worktree_is_reported_until_it_is_protected() {
    let bin = npm_bin();
    let dir = repo();
    let d = dir.path();
    let husky = |at: &Path| {
        let out = Command::new(bin.join("husky"))
            .current_dir(at)
            .env("HOME", d)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    husky(d);
    write(d, ".husky/pre-commit", "echo husky >> ran-husky\n");
    write(d, ".gitignore", "ran-husky\n");
    git(d, &["add", "-A"]);
    git(d, &["commit", "-q", "-m", "husky"]);
    git(d, &["worktree", "add", "-q", "-b", "feature", "wt"]);
    let wt = d.join("wt");
    let out = run(d, &["hook", "install"]);
    expect_exit(&out, 2);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains(&wt.display().to_string()) && e.contains("npx husky"),
        "{e}"
    );
    // Committed, so the worktree's own .husky/pre-commit runs vigil once husky is set up there.
    git(d, &["add", ".husky/pre-commit"]);
    git(d, &["commit", "-q", "-m", "vigil hook"]);
    git(&wt, &["merge", "-q", "main"]);
    let out = run(&wt, &["hook", "install"]);
    expect_exit(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("npx husky"));
    husky(&wt);
    let out = run(&wt, &["hook", "install"]);
    expect_exit(&out, 0);
    secret_is_blocked_and_clean_commits_pass(&wt, 502);
    secret_is_blocked_and_clean_commits_pass(d, 503);
}

/// P: husky v8 (`core.hooksPath` = `.husky`, hooks sourcing `.husky/_/husky.sh`) gets the
/// command in its own tracked hook file, as v9 does: never renamed, never chained.
#[test]
fn husky_v8_gets_the_command_in_its_own_hook_file() {
    let dir = repo();
    let d = dir.path();
    write(d, ".husky/_/husky.sh", "#!/usr/bin/env sh\n# husky v8\n");
    write(d, ".husky/_/.gitignore", "*\n");
    executable(
        &d.join(".husky/pre-commit"),
        "#!/usr/bin/env sh\n. \"$(dirname -- \"$0\")/_/husky.sh\"\n\necho v8 >> ran-v8\n",
    );
    write(d, ".gitignore", "ran-v8\n");
    git(d, &["config", "core.hooksPath", ".husky"]);
    git(d, &["add", "-A"]);
    git(d, &["commit", "-q", "-m", "husky v8"]);
    let out = run(d, &["hook", "install"]);
    expect_exit(&out, 0);
    assert!(!d.join(".husky/pre-commit.vigil-chained").exists());
    let hook = std::fs::read_to_string(d.join(".husky/pre-commit")).unwrap();
    assert!(hook.starts_with("#!/usr/bin/env sh\n"), "{hook}");
    assert!(
        hook.contains("vigil scan --staged") && hook.contains("echo v8 >> ran-v8"),
        "{hook}"
    );
    git(d, &["add", ".husky/pre-commit"]);
    secret_is_blocked_and_clean_commits_pass(d, 504);
    assert!(d.join("ran-v8").exists());
    // -q: nothing on stderr when all went well.
    let out = run(d, &["-q", "hook", "install"]);
    expect_exit(&out, 0);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

/// P: `-q` silences what `hook install` did (chatter on stderr); the hook is installed all the
/// same and works.
#[test]
fn quiet_hook_install_says_nothing_and_still_protects() {
    let dir = repo();
    let d = dir.path();
    let out = run(d, &["-q", "hook", "install"]);
    expect_exit(&out, 0);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    secret_is_blocked_and_clean_commits_pass(d, 9);
}

/// bb-git-s8 #1: the pre-commit framework's pre-push hook, with the entry `hook install`
/// prints (real pre-commit from PyPI, real pushes to a bare remote). b) An orphan branch that is
/// not checked out: pre-commit sets no range (its "all files" case) and vigil scanned `HEAD`.
/// c) `PRE_COMMIT_FROM_REF` derived from a stale remote-tracking ref (the branch was deleted on
/// the remote) hid a secret the remote no longer has. e) A hook that lost git's stdin while a
/// remote is named scanned `HEAD` only. Each is refused now; an entry without `always_run` is
/// named by `hook install`.
#[test]
fn the_pre_commit_frameworks_pre_push_hook_fails_closed() {
    let dir = repo();
    let d = dir.path();
    let bare = TempDir::new().unwrap();
    git(bare.path(), &["init", "-q", "--bare"]);
    git(
        d,
        &["remote", "add", "origin", bare.path().to_str().unwrap()],
    );
    write(d, ".pre-commit-config.yaml", "repos: []\n");
    let printed = run(d, &["hook", "install", "--pre-push"]);
    let entry = String::from_utf8_lossy(&printed.stdout).into_owned();
    assert!(entry.contains("always_run: true"), "{entry}");
    let items: String = entry
        .lines()
        .filter(|l| !l.starts_with("repos:") && !l.trim_start().starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    // Without `always_run`, `hook install` names the gap.
    let no_always_run: String = items
        .lines()
        .filter(|l| !l.contains("always_run"))
        .map(|l| format!("{l}\n"))
        .collect();
    write(
        d,
        ".pre-commit-config.yaml",
        format!("repos:\n{no_always_run}"),
    );
    write(d, ".gitignore", ".cache-pc/\n");
    let py = common::python_with("pre_commit", "pre-commit");
    let pc = |args: &[&str]| {
        let out = Command::new(&py)
            .current_dir(d)
            .args(["-m", "pre_commit"])
            .args(args)
            .env("HOME", d)
            .env("PRE_COMMIT_HOME", d.join(".cache-pc"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    pc(&[
        "install",
        "--hook-type",
        "pre-commit",
        "--hook-type",
        "pre-push",
    ]);
    let out = run(d, &["hook", "install", "--pre-push"]);
    expect_exit(&out, 2);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("has no `always_run: true`"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    write(d, ".pre-commit-config.yaml", format!("repos:\n{items}"));
    expect_exit(&run(d, &["hook", "install", "--pre-push"]), 0);
    git(d, &["add", "-A"]);
    git(d, &["commit", "-q", "-m", "pre-commit"]);
    git(d, &["push", "-q", "origin", "main"]);
    let ghp = |seed: u64| token("ghp_{alnum:30}{ghcrc}", seed);
    let branches = || git(bare.path(), &["branch", "--list"]);

    // b) An orphan branch, main checked out.
    git(d, &["checkout", "-q", "--orphan", "o3"]);
    git(d, &["rm", "-rqf", "--cached", "."]);
    write(d, "t.txt", format!("v={}\n", ghp(811)));
    git(d, &["add", "t.txt"]);
    git(d, &["commit", "-q", "--no-verify", "-m", "orphan"]);
    std::fs::remove_file(d.join("t.txt")).unwrap();
    git(d, &["checkout", "-q", "-f", "main"]);
    let out = git_out(d, &["push", "origin", "o3"]);
    assert!(
        !out.status.success(),
        "the orphan branch was pushed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!branches().contains("o3"));

    // c) A stale remote-tracking ref: `old` (with a secret) was pushed, then deleted and
    // collected on the remote; origin/old stays here. A branch built on it re-sends it.
    git(d, &["checkout", "-q", "-b", "old"]);
    write(d, "s.txt", format!("v={}\n", ghp(812)));
    git(d, &["add", "s.txt"]);
    git(d, &["commit", "-q", "--no-verify", "-m", "secret"]);
    git(d, &["push", "-q", "--no-verify", "origin", "old"]);
    git(bare.path(), &["update-ref", "-d", "refs/heads/old"]);
    git(bare.path(), &["reflog", "expire", "--expire=now", "--all"]);
    git(bare.path(), &["gc", "-q", "--prune=now"]);
    assert!(git(d, &["branch", "-r"]).contains("origin/old"));
    git(d, &["checkout", "-q", "-b", "f2"]);
    write(d, "x.txt", "x\n");
    git(d, &["add", "x.txt"]);
    git(d, &["commit", "-q", "--no-verify", "-m", "x"]);
    let out = git_out(d, &["push", "origin", "f2"]);
    assert!(
        !out.status.success(),
        "the secret was re-sent: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!branches().contains("f2"));
    // An update whose remote commit the remote does advertise still scans only the new part.
    git(d, &["checkout", "-q", "main"]);
    write(d, "y.txt", "y\n");
    git(d, &["add", "y.txt"]);
    git(d, &["commit", "-q", "--no-verify", "-m", "y"]);
    let out = git_out(d, &["push", "-q", "origin", "main"]);
    assert!(
        out.status.success(),
        "a clean update is refused: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // e) A hook that got no stdin (a lefthook entry without `use_stdin`) while the remote is
    // named: every local branch is scanned, never `HEAD` alone.
    let out = common::vigil(d)
        .args(["scan", "--pre-push", "--remote", "origin", "--remote-url"])
        .arg(bare.path())
        .write_stdin("")
        .output()
        .unwrap();
    expect_exit(&out, 1);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("got no push input"), "{err}");
    assert!(err.contains("2 finding(s)"), "{err}");

    // f) `pre-commit run --from-ref A --to-ref B` (CI) runs the `--staged` entry: it scans the
    // range instead of a clean index.
    let out = common::vigil(d)
        .args(["scan", "--staged"])
        .env("PRE_COMMIT_FROM_REF", git(d, &["rev-parse", "main"]))
        .env("PRE_COMMIT_TO_REF", git(d, &["rev-parse", "f2"]))
        .output()
        .unwrap();
    expect_exit(&out, 1);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is scanned instead of the index"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// bb-git-s8 #7: a submodule's commits are pushed by `git push --recurse-submodules` with the
/// submodule's own hooks (`.git/modules/<name>/hooks`), and committed there with them: `hook
/// install` in the superproject said nothing. Each submodule without vigil is named now
/// (`NOT PROTECTED`, exit 2); `vigil hook install` run inside it protects it.
#[test]
fn hook_install_names_submodules_it_does_not_protect() {
    let sub = repo();
    let dir = repo();
    let d = dir.path();
    git(
        d,
        &[
            "-c",
            "protocol.file.allow=always",
            "submodule",
            "add",
            "-q",
            sub.path().to_str().unwrap(),
            "sub",
        ],
    );
    git(d, &["commit", "-q", "-m", "submodule"]);
    let out = run(d, &["hook", "install", "--pre-push"]);
    expect_exit(&out, 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("NOT PROTECTED") && err.contains("a submodule"),
        "{err}"
    );
    assert!(err.contains("/sub"), "{err}");
    expect_exit(&run(&d.join("sub"), &["hook", "install", "--pre-push"]), 0);
    assert!(d.join(".git/modules/sub/hooks/pre-push").is_file());
    expect_exit(&run(d, &["hook", "install", "--pre-push"]), 0);
}
