//! What a user sees from the `vigil` command itself: help lists only working subcommands,
//! version, completions, JSON logs, and the text report (insta snapshots).

use crate::common;

use common::*;
use std::process::Output;
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

/// Runs `vigil ARGS` in `dir` with a stdout whose reader is already gone (every write gets
/// EPIPE), and returns its output (stdout empty).
fn with_closed_stdout(dir: &std::path::Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("vigil"));
    c.current_dir(dir)
        .args(args)
        .env_remove("VIGIL_CONFIG")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .stdout(writer)
        .stderr(std::process::Stdio::piped());
    for (k, v) in envs {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[test]
fn a_closed_stdout_is_a_quiet_normal_exit() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let secret = token("{alnum:64}", 51);
    write(
        d,
        ".env",
        "ORCH_AUTH_TOKEN=abcdefghijklmnopqrstuvwxyz012345\n",
    );
    write(
        d,
        ".env.bot",
        "ORCH_AUTH_TOKEN=abcdefghijklmnopqrstuvwxyz012345\n",
    );
    write(
        d,
        "vigil.toml",
        "[gateway]\nlisten = \"127.0.0.1:0\"\n\n[[gateway.routes]]\npath = \"/mcp/filesystem\"\nupstream = \"http://127.0.0.1:9\"\n",
    );
    let env = [("MCP_JWT_SECRET", secret.as_str())];
    let minted = vigil(d)
        .args([
            "token",
            "mint",
            "--aud",
            "filesystem",
            "--sub",
            "a",
            "--ttl",
            "900",
        ])
        .env("MCP_JWT_SECRET", &secret)
        .output()
        .unwrap();
    expect_exit(&minted, 0);
    let tok = String::from_utf8_lossy(&minted.stdout).trim().to_owned();
    // A history with a secret, for `purge plan`.
    let repo = TempDir::new().unwrap();
    let g = |args: &[&str]| {
        let s = std::process::Command::new("git")
            .current_dir(repo.path())
            .args(args)
            .env("HOME", repo.path())
            .env("GIT_AUTHOR_NAME", "T")
            .env("GIT_AUTHOR_EMAIL", "t@example.org")
            .env("GIT_COMMITTER_NAME", "T")
            .env("GIT_COMMITTER_EMAIL", "t@example.org")
            .status()
            .unwrap();
        assert!(s.success());
    };
    g(&["init", "-q", "-b", "main"]);
    write(
        repo.path(),
        "bot.py",
        format!(
            "T = '{}'\n",
            token("xoxb-{digits:12}-{digits:13}-{alnum:24}", 52)
        ),
    );
    g(&["add", "-A"]);
    g(&["commit", "-q", "-m", "leak"]);
    let outside = TempDir::new().unwrap();
    let repl = outside.path().join("repl.txt");
    let repo_arg = repo.path().to_str().unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec!["completions", "bash"],
        vec!["--help"],
        vec!["purge", "plan", repo_arg, "-o", repl.to_str().unwrap()],
        vec!["env", "status"],
        vec!["env", "check"],
        vec!["env", "rotate", "--tokens", "ORCH_AUTH_TOKEN"],
        // `token mint` is not here: a token nobody read is lost, exit 2 (tester 158; see
        // `a_stdout_the_shell_closed_is_refused_and_dev_null_is_not`).
        vec!["token", "verify", "--aud", "filesystem", &tok],
        vec!["token", "inspect", &tok],
        vec!["gateway", "check"],
    ];
    for args in &cases {
        let out = with_closed_stdout(d, args, &env);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !err.contains("panicked")
                && !err.contains("Broken pipe")
                && !err.contains("os error 32"),
            "{args:?}: {err}"
        );
        assert!(
            matches!(out.status.code(), Some(0) | Some(1)),
            "{args:?} exited {:?}: {err}",
            out.status.code()
        );
    }
    // A scan keeps its verdict: the reader went away, the secret is still there.
    let out = with_closed_stdout(repo.path(), &["scan", ".", "-f", "json"], &[]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    // And a real shell pipeline into `head`.
    let sh = std::process::Command::new("bash")
        .current_dir(d)
        .arg("-c")
        .arg(format!(
            "set -o pipefail; '{}' completions bash | head -1",
            assert_cmd::cargo::cargo_bin("vigil").display()
        ))
        .output()
        .unwrap();
    assert_eq!(
        sh.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&sh.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&sh.stdout).lines().count(), 1);
    assert!(
        sh.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&sh.stderr)
    );
}

#[test]
fn an_unset_variable_only_matters_to_the_command_that_reads_it() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let secret = token("{alnum:64}", 53);
    let toml = "[scan]\nexit_code = 1\n\n[gateway]\nlisten = \"127.0.0.1:0\"\n\n[[gateway.routes]]\npath = \"/mcp/filesystem\"\nupstream = \"http://127.0.0.1:9\"\nheaders = { Authorization = \"Bearer ${VIGIL_TEST_FS_UPSTREAM}\" }\n";
    write(d, "vigil.toml", toml);
    write(d, "app.py", "print('hello')\n");
    write(d, ".env", "PORT=8080\n");
    // `scan` (the pre-commit hook's command) and `env` never read [gateway].
    let out = vigil(d)
        .args(["scan", "."])
        .env_remove("VIGIL_TEST_FS_UPSTREAM")
        .output()
        .unwrap();
    expect_exit(&out, 0);
    let out = vigil(d)
        .args(["env", "status"])
        .env_remove("VIGIL_TEST_FS_UPSTREAM")
        .output()
        .unwrap();
    expect_exit(&out, 0);
    // `gateway check` does, and says which variable and which key, in a readable sentence.
    let out = vigil(d)
        .args(["gateway", "check"])
        .env_remove("VIGIL_TEST_FS_UPSTREAM")
        .env("MCP_JWT_SECRET", &secret)
        .output()
        .unwrap();
    expect_exit(&out, 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("vigil: vigil.toml:10: ")
            && err.contains("environment variable VIGIL_TEST_FS_UPSTREAM is not set")
            && err.contains("gateway.routes[0].headers.Authorization")
            && !err.contains("REDACTED"),
        "{err}"
    );
    // Set by --env-file: expanded after the file is read.
    write(
        d,
        "upstream.env",
        format!("VIGIL_TEST_FS_UPSTREAM={}\n", token("{alnum:40}", 54)),
    );
    let out = vigil(d)
        .args(["gateway", "check", "--env-file", "upstream.env"])
        .env_remove("VIGIL_TEST_FS_UPSTREAM")
        .env("MCP_JWT_SECRET", &secret)
        .output()
        .unwrap();
    expect_exit(&out, 0);
}

// Issue 16: errors carry their origin; every .env file is read one way.

#[test]
fn errors_say_where_the_setting_was_written() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let secret = token("{alnum:48}", 161);
    let line = |out: &Output| {
        expect_exit(out, 2);
        let e = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(e.trim().lines().count(), 1, "{e}");
        e
    };
    // An --env-file: the file, then the line; never the line's content. Token and gateway
    // commands read it the same way.
    for args in [
        &["token", "mint", "--aud", "git", "--env-file", "absent.env"][..],
        &["gateway", "check", "--env-file", "absent.env"][..],
    ] {
        let e = line(&run(d, args));
        assert!(
            e.starts_with("vigil: absent.env: cannot read: "),
            "{args:?}: {e}"
        );
    }
    write(
        d,
        "bad.env",
        format!("MCP_JWT_SECRET={secret}\nBROKEN='never closed\n"),
    );
    let e = line(&run(
        d,
        &["token", "mint", "--aud", "git", "--env-file", "bad.env"],
    ));
    assert!(e.starts_with("vigil: bad.env:2: "), "{e}");
    assert!(!e.contains("never closed") && !e.contains(&secret), "{e}");
    // The same file given to check-config reads the same.
    let e = line(&run(d, &["token", "check-config", "production=bad.env"]));
    assert!(e.starts_with("vigil: bad.env:2: "), "{e}");
    // A flag is named as the flag; the same setting in vigil.toml by its key and line.
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    write(d, ".env", format!("AUTH_TOKEN={secret}\n"));
    let e = line(&run(
        d,
        &[
            "env",
            "rotate",
            "--tokens",
            "AUTH_TOKEN",
            "--charset",
            "emoji",
        ],
    ));
    assert!(e.starts_with("vigil: --charset: unknown charset"), "{e}");
    write(
        d,
        "vigil.toml",
        "[env]\n\ncharset = \"emoji\"\nlength = 8\n",
    );
    let e = line(&run(d, &["env", "rotate", "--tokens", "AUTH_TOKEN"]));
    assert!(
        e.starts_with("vigil: vigil.toml:4: env.length: 8 is outside"),
        "{e}"
    );
    let e = line(&run(
        d,
        &["env", "rotate", "--tokens", "AUTH_TOKEN", "--length", "48"],
    ));
    assert!(
        e.starts_with("vigil: vigil.toml:3: env.charset: unknown charset"),
        "{e}"
    );
    write(
        d,
        "vigil.toml",
        "[env.schedules]\n\"LEGACY_*\" = \"sometimes\"\n",
    );
    let e = line(&run(d, &["env", "status"]));
    assert!(
        e.starts_with("vigil: vigil.toml:2: env.schedules.LEGACY_*: `sometimes` is not a period"),
        "{e}"
    );
    write(d, "vigil.toml", "[token]\nsecret_alg = \"HS999\"\n");
    let mut c = vigil(d);
    c.args(["token", "mint", "--aud", "git"])
        .env("MCP_JWT_SECRET", &secret);
    let e = line(&c.output().unwrap());
    assert!(
        e.starts_with("vigil: vigil.toml:2: token.secret_alg: unknown algorithm `HS999`"),
        "{e}"
    );
    let mut c = vigil(d);
    c.args(["token", "mint", "--aud", "git", "--alg", "HS999"])
        .env("MCP_JWT_SECRET", &secret);
    let e = line(&c.output().unwrap());
    assert!(
        e.starts_with("vigil: --alg: unknown algorithm `HS999`"),
        "{e}"
    );
}

#[test]
fn a_closed_stderr_never_turns_the_verdict_into_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let tok = common::token("«ghp_{alnum:30}{ghcrc}»", 5);
    std::fs::write(dir.path().join("a.env"), format!("GITHUB_TOKEN={tok}\n")).unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("vigil"))
        .args(["scan", "."])
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take()); // the reader has gone before the summary is written
    assert_eq!(child.wait().unwrap().code(), Some(1));
}

/// Tester 157: `vigil token mint >&-` exited 0 with the token lost (Rust's runtime puts a
/// read-write `/dev/null` where the shell closed stdout, and every write to it succeeds). A closed
/// stdout is refused with exit 2, as is a pipe whose reader went away; `>/dev/null`
/// (write-only) still runs.
#[test]
fn a_stdout_the_shell_closed_is_refused_and_dev_null_is_not() {
    let dir = TempDir::new().unwrap();
    let secret = token("{alnum:64}", 52);
    let vigil = assert_cmd::cargo::cargo_bin("vigil");
    let run_sh = |redirect: &str| {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "exec \"$0\" token mint --sub bot --aud mcp --ttl 1m {redirect}"
            ))
            .arg(&vigil)
            .current_dir(dir.path())
            .env_remove("VIGIL_CONFIG")
            .env("MCP_JWT_SECRET", &secret)
            .output()
            .unwrap()
    };
    let closed = run_sh(">&-");
    assert_eq!(closed.status.code(), Some(2), "{closed:?}");
    let e = String::from_utf8_lossy(&closed.stderr);
    assert!(e.starts_with("vigil: stdout was closed"), "{e}");
    let null = run_sh(">/dev/null");
    assert_eq!(null.status.code(), Some(0), "{null:?}");
    // A reader that went away (EPIPE) lost the token too (tester 158): exit 2, not 0.
    let gone = with_closed_stdout(
        dir.path(),
        &["token", "mint", "--sub", "bot", "--aud", "mcp"],
        &[("MCP_JWT_SECRET", secret.as_str())],
    );
    assert_eq!(gone.status.code(), Some(2), "{gone:?}");
    let open = run_sh("");
    assert_eq!(open.status.code(), Some(0), "{open:?}");
    assert_eq!(
        String::from_utf8_lossy(&open.stdout).matches('.').count(),
        2
    );
}

/// Tester 159: `token check-config` of a weak secret into a pipe whose reader had gone
/// (`| true`) exited 0, the CI gate passing. A command that writes no files runs on to its
/// verdict when stdout closes: 1 here, as `scan` keeps its own.
#[test]
fn a_closed_stdout_never_turns_a_failing_gate_into_success() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    write(d, "w.env", "MCP_JWT_SECRET=changeme\n");
    for format in ["text", "json"] {
        let out = with_closed_stdout(
            d,
            &["token", "check-config", "-f", format, "production=w.env"],
            &[],
        );
        assert_eq!(out.status.code(), Some(1), "{format}: {out:?}");
    }
    let out = with_closed_stdout(d, &["env", "check", "w.env"], &[]);
    assert_ne!(out.status.code(), Some(0), "{out:?}");
}

/// Bad input, whole: exit 2, nothing on stdout, one line on stderr naming the file, the line
/// and the key (the run recorded by `vigil_snapshot!`, the temporary folder as `[ROOT]`).
#[test]
fn a_bad_setting_is_one_line_naming_file_line_and_key() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    write(d, "vigil.toml", "[scan]\nmax_file_size = \"ten\"\n");
    write(d, "a.txt", "nothing here\n");
    let out = run(d, &["scan", "a.txt"]);
    common::vigil_snapshot!("bad_setting", out, d);
}

/// Tester 140, finding 2: `audit verify` of a tampered log into a pipe its reader had closed
/// (`| head -c 0`) exited 0, as a read-only command's closed stdout does: a verdict command
/// keeps its verdict, as `scan` does.
#[test]
fn a_closed_pipe_keeps_the_verdict_of_audit_verify() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    write(d, "tools.jsonl", "{\"seq\":1}\n");
    for reader in ["head -c 0", "true", "cat >/dev/null"] {
        let sh = std::process::Command::new("bash")
            .current_dir(d)
            .arg("-c")
            .arg(format!(
                "set -o pipefail; '{}' gateway audit verify tools.jsonl | {reader}",
                assert_cmd::cargo::cargo_bin("vigil").display()
            ))
            .output()
            .unwrap();
        assert_eq!(
            sh.status.code(),
            Some(1),
            "{reader}: {}",
            String::from_utf8_lossy(&sh.stderr)
        );
    }
}

/// bb-16-s8 F2: `env rotate --write | true` printed its plan into a closed pipe, stopped before
/// writing, and exited 0: a rotation that did not happen looked done. A command that writes
/// files now fails (exit 2, one line) when its stdout is closed; read-only ones stay quiet.
#[test]
fn a_closed_stdout_never_turns_a_skipped_write_into_success() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let body = format!("ORCH_AUTH_TOKEN={}\n", token("{alnum:40}", 61));
    write(d, ".env", &body);
    let out = with_closed_stdout(
        d,
        &["env", "rotate", "--tokens", "ORCH_AUTH_TOKEN", "--write"],
        &[],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    let now = std::fs::read_to_string(d.join(".env")).unwrap();
    if now == body {
        // Not written: the run must say so, never exit 0.
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("stdout was closed"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    } else {
        assert!(matches!(out.status.code(), Some(0) | Some(1)), "{err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    // The dry run writes nothing: a closed stdout ends it quietly, as before.
    let out = with_closed_stdout(d, &["env", "rotate", "--tokens", "ORCH_AUTH_TOKEN"], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// bb-16-s8 F10: a token put where a name, a claim or a size belongs was quoted in full by the
/// error that refused it. Every error line goes through `vigil scan`'s rules first.
#[test]
fn an_error_that_quotes_a_misplaced_token_masks_it() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let pat = token("ghp_{alnum:30}{ghcrc}", 91);
    write(d, ".env", "ORCH_AUTH_TOKEN=x\n");
    write(
        d,
        "vigil.toml",
        format!("[scan]\nmax_file_size = \"{pat}\"\n"),
    );
    for args in [
        vec!["env", "rotate", "--tokens", pat.as_str()],
        vec!["scan", "."],
        vec!["token", "mint", "--aud", "x", "--claim", pat.as_str()],
    ] {
        let out = run(d, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(!err.contains(&pat[4..]), "{args:?}: {err}");
    }
}

/// bb-16-s8 F11: `gateway audit verify` on a folder said "no such audit log" although the path
/// exists: it says what the path is.
#[test]
fn audit_verify_names_a_path_that_is_not_a_file() {
    let dir = TempDir::new().unwrap();
    std::fs::create_dir(dir.path().join("audit")).unwrap();
    let out = run(dir.path(), &["gateway", "audit", "verify", "audit"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("not a regular file"), "{err}");
}

/// bb-16-s8 F9: `token verify` and `mint` took a previous secret equal to the current one
/// without a word, while `gateway check` and `check-config` refuse it: all four refuse it now.
#[test]
fn a_previous_secret_equal_to_the_current_one_is_refused_by_mint_and_verify() {
    let dir = TempDir::new().unwrap();
    let secret = token("{alnum:48}", 93);
    for args in [
        vec!["token", "mint", "--aud", "x", "--sub", "a"],
        vec!["token", "verify", "--aud", "x", "a.b.c"],
    ] {
        let out = vigil(dir.path())
            .args(&args)
            .env("MCP_JWT_SECRET", &secret)
            .env("MCP_JWT_SECRET_PREVIOUS", &secret)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("MCP_JWT_SECRET_PREVIOUS equals MCP_JWT_SECRET"),
            "{err}"
        );
        assert!(!err.contains(&secret));
    }
}

/// bb-16f-s8 F2–F5: a token written as `[token] secret_env` is refused without being quoted
/// (check-config printed it as the variable's name); `token mint` refuses a weak previous secret
/// as verify does (whoever holds it signs tokens the gateway accepts); an `--env-file` value is
/// named by its file and line, not as an environment variable; one remediation hint everywhere.
#[test]
fn token_names_weak_previous_secrets_and_their_sources_are_judged_alike() {
    let dir = TempDir::new().unwrap();
    let pat = token("ghp_{alnum:30}{ghcrc}", 101);
    let strong = token("{alnum:60}", 102);
    write(
        dir.path(),
        "vigil.toml",
        format!("[token]\nsecret_env = \"{pat}\"\n"),
    );
    for args in [
        vec!["token", "check-config"],
        vec!["token", "mint", "--aud", "x", "--sub", "a"],
    ] {
        let out = run(dir.path(), &args);
        let err = String::from_utf8_lossy(&out.stderr);
        let all = format!("{}{err}", String::from_utf8_lossy(&out.stdout));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {all}");
        assert!(
            err.contains("vigil.toml:2") && err.contains("looks like a secret"),
            "{err}"
        );
        assert!(!all.contains(&pat[4..]), "{args:?}: {all}");
    }
    let dir = TempDir::new().unwrap();
    write(
        dir.path(),
        "w.env",
        format!("MCP_JWT_SECRET={strong}\nMCP_JWT_SECRET_PREVIOUS=changeme\n"),
    );
    let out = run(
        dir.path(),
        &[
            "token",
            "mint",
            "--env-file",
            "w.env",
            "--aud",
            "x",
            "--sub",
            "a",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("MCP_JWT_SECRET_PREVIOUS is a well-known default value (generate one: openssl rand -base64 48)"),
        "{err}"
    );
    write(
        dir.path(),
        "w.env",
        format!("MCP_JWT_SECRET={strong}\nMCP_JWT_SECRET_PREVIOUS={strong}\n"),
    );
    for cmd in ["mint", "verify"] {
        let mut args = vec!["token", cmd, "--env-file", "w.env", "--aud", "x"];
        if cmd == "verify" {
            args.push("a.b.c");
        }
        let out = run(dir.path(), &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("w.env:2"), "{cmd}: {err}");
        assert!(!err.contains("(environment variable)"), "{cmd}: {err}");
    }
}

/// bb-16f-s8: a token given as a typed flag's value (`--length <tok>`) came back in clap's
/// "invalid value" error in full: usage errors are masked like every other error.
#[test]
fn a_usage_error_never_quotes_a_token() {
    let dir = TempDir::new().unwrap();
    let pat = token("ghp_{alnum:30}{ghcrc}", 97);
    for args in [
        vec!["env", "rotate", "--tokens", "X", "--length", pat.as_str()],
        vec!["scan", ".", "--exit-code", pat.as_str()],
    ] {
        let out = run(dir.path(), &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(!err.contains(&pat[4..]), "{args:?}: {err}");
    }
}

/// `--log-format json`: the error that ends a run is a JSON event on stderr like every log line
/// (it was the only plain-text line), still masked and still exit 2.
#[test]
fn errors_are_json_events_under_log_format_json() {
    let dir = TempDir::new().unwrap();
    let out = vigil(dir.path())
        .args(["--log-format", "json", "token", "mint", "--aud", "x"])
        .env_remove("MCP_JWT_SECRET")
        .env_remove("MCP_JWT_SECRET_PREVIOUS")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err.lines().last().expect("an error line");
    let event: serde_json::Value =
        serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {err}"));
    assert_eq!(event["level"], "ERROR", "{event}");
    assert!(
        event.to_string().contains("no key: set MCP_JWT_SECRET"),
        "{event}"
    );
}

/// bb-git-s9 F5: a configuration that names `/dev/zero` or a FIFO (`[extend] path`, or
/// `--config`) is refused at once with one line, never read until memory runs out or forever.
#[test]
fn a_configuration_file_that_is_not_a_regular_file_is_refused_at_once() {
    let dir = TempDir::new().unwrap();
    let fifo = dir.path().join("ff");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    for target in ["/dev/zero", "ff"] {
        write(
            dir.path(),
            ".gitleaks.toml",
            format!("[extend]\nuseDefault = true\npath = \"{target}\"\n"),
        );
        let out = run(dir.path(), &["scan", "."]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{target}: {err}");
        assert!(err.contains("not a regular file"), "{target}: {err}");
    }
}

/// Tester helper-123 (session 20): `gateway check` printed a key in the upstream URL's path,
/// in the public URL and as the audience in full; what it prints passes the log redactor.
#[test]
fn gateway_check_prints_no_secret_of_the_configuration() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let gh = token("«ghp_{alnum:30}{ghcrc}»", 3311);
    let discord = token("«{b64digits:18}.{b64url:6}.{b64url:38}»", 3312);
    write(
        d,
        "vigil.toml",
        format!(
            "[gateway]\nlisten = \"127.0.0.1:18444\"\n\n\
             [[gateway.routes]]\npath = \"/mcp/x\"\nupstream = \"http://127.0.0.1:9/{discord}/mcp\"\n"
        ),
    );
    let check = || {
        vigil(d)
            .args(["gateway", "check"])
            .env("MCP_JWT_SECRET", token("{alnum:48}", 3313))
            .output()
            .unwrap()
    };
    let out = check();
    expect_exit(&out, 0);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("route /mcp/x -> http://127.0.0.1:9/[REDACTED:discord-bot-token]/mcp"),
        "{text}"
    );
    for s in [&gh, &discord] {
        assert!(!text.contains(&s[s.len() - 12..]), "{text}");
    }
    // `public_url` is served to every client without a token: a token in it is refused
    // (tester 158; it was printed masked and then served as written).
    write(
        d,
        "vigil.toml",
        format!(
            "[gateway]\nlisten = \"127.0.0.1:18444\"\npublic_url = \"https://mcp.example.com/{gh}\"\n\n\
             [[gateway.routes]]\npath = \"/mcp/x\"\nupstream = \"http://127.0.0.1:9/mcp\"\n"
        ),
    );
    let out = check();
    expect_exit(&out, 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("gateway.public_url") && !err.contains(&gh[gh.len() - 12..]),
        "{err}"
    );
    // A route's path, host and audience are labels of logs and metrics (the host lowercased,
    // which no redactor reads back): one holding a secret is refused, naming the key only.
    let aws = token("«AKIA{upper32:16}»", 3314);
    for (key, line) in [
        ("audience", format!("audience = \"{discord}\"")),
        ("host", format!("host = \"{aws}.example.com\"")),
        ("path", format!("path = \"/mcp/{gh}\"")),
    ] {
        let route = if key == "path" {
            format!("{line}\nupstream = \"http://127.0.0.1:9/mcp\"\n")
        } else {
            format!("path = \"/mcp/x\"\nupstream = \"http://127.0.0.1:9/mcp\"\n{line}\n")
        };
        write(
            d,
            "vigil.toml",
            format!("[gateway]\nlisten = \"127.0.0.1:18444\"\n\n[[gateway.routes]]\n{route}"),
        );
        let out = check();
        expect_exit(&out, 2);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("gateway.routes[0].{key}")) && err.contains("holds a secret"),
            "{err}"
        );
        for s in [&gh, &discord, &aws] {
            let low = s.to_ascii_lowercase();
            assert!(
                !err.contains(&s[s.len() - 12..]) && !err.contains(&low[low.len() - 12..]),
                "{err}"
            );
        }
    }
}
