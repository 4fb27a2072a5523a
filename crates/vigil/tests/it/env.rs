//! `vigil env` end to end: rotation read back by python-dotenv, crash tests (an abort at every
//! step of the protocol, and real `kill -9`), concurrent rotations, dual secrets that the token
//! key ring honours, checks (text, JSON, SARIF against the official schema), the ledger.

use crate::common;

use common::{expect_exit, git, git_init, json, python_with, run, sarif_schema, vigil};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command as StdCommand;
use std::time::Duration;
use tempfile::TempDir;

/// Writes a file as a careful user keeps env files: `0600` (a `0644` file holding a secret is
/// `env check`'s `loose_mode`, tested on its own).
fn write(root: &Path, rel: &str, body: impl AsRef<[u8]>) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = common::write(root, rel, body);
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p
}

/// A random-looking value of `n` alphanumerics, made at run time from a seed.
fn value(seed: u64, n: usize) -> String {
    let abc = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            abc[(x % 62) as usize] as char
        })
        .collect()
}

/// One service file with every construct python-dotenv reads, holding `token` as AUTH_TOKEN.
fn service_file(i: usize, token: &str) -> String {
    let eol = if i.is_multiple_of(3) { "\r\n" } else { "\n" };
    let quote = match i % 3 {
        0 => format!("AUTH_TOKEN={token}"),
        1 => format!("export AUTH_TOKEN='{token}' # shared by every service"),
        _ => format!("AUTH_TOKEN=\"{token}\""),
    };
    let lines = [
        format!("# service {i}"),
        String::new(),
        format!("SERVICE_NAME=svc-{i}"),
        quote,
        "GREETING=\"hello\\nworld\\t!\"".to_owned(),
        "MULTI=\"line one\nline two\"".to_owned(),
        "LITERAL='keep $HOME and \\'quotes\\''".to_owned(),
        "REF=${SERVICE_NAME}-suffix".to_owned(),
        format!("OTHER_SECRET={}", value(1000 + i as u64, 40)),
        "EMPTY=".to_owned(),
    ];
    let mut s = lines.join(eol);
    if i.is_multiple_of(2) {
        s.push_str(eol);
    }
    s
}

/// A project of `n` service files sharing one AUTH_TOKEN, plus a template.
fn project(dir: &Path, n: usize, token: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for i in 0..n {
        let rel = format!("services/s{i:02}/.env.service");
        write(dir, &rel, service_file(i, token));
        paths.push(rel);
    }
    write(dir, ".env.example", "AUTH_TOKEN=\nSERVICE_NAME=svc\n");
    paths
}

fn read(dir: &Path, rel: &str) -> String {
    std::fs::read_to_string(dir.join(rel)).unwrap()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The AUTH_TOKEN of a service file, as the service would read it.
fn token_of(text: &str) -> String {
    vigil_env::Document::parse(text)
        .unwrap()
        .get("AUTH_TOKEN")
        .unwrap()
        .to_owned()
}

const PY_VALUES: &str = r#"
import sys, json
from dotenv import dotenv_values
print(json.dumps({p: dotenv_values(p, interpolate=False) for p in sys.argv[1:]}))
"#;

fn dotenv(
    python: &Path,
    dir: &Path,
    files: &[String],
) -> BTreeMap<String, BTreeMap<String, Option<String>>> {
    let out = StdCommand::new(python)
        .current_dir(dir)
        .args(["-c", PY_VALUES])
        .args(files)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn rotation_is_read_back_by_python_dotenv_with_every_other_value_unchanged() {
    let python = python_with("dotenv", "python-dotenv");
    let dir = TempDir::new().unwrap();
    let old = value(1, 32);
    let files = project(dir.path(), 6, &old);
    let before = dotenv(&python, dir.path(), &files);
    for f in &files {
        assert_eq!(
            before[f]["AUTH_TOKEN"].as_deref(),
            Some(old.as_str()),
            "python-dotenv reads the fixture"
        );
    }
    let texts: Vec<String> = files.iter().map(|f| read(dir.path(), f)).collect();

    // Dry run: a redacted diff, nothing written.
    let out = run(dir.path(), &["env", "rotate", "--tokens", "AUTH_TOKEN"]);
    expect_exit(&out, 0);
    assert!(stdout(&out).contains("AUTH_TOKEN"), "{}", stdout(&out));
    assert!(!stdout(&out).contains(&old), "values are redacted");
    assert!(stderr(&out).contains("dry run: 6 file(s) would change"));
    for (f, t) in files.iter().zip(&texts) {
        assert_eq!(&read(dir.path(), f), t);
    }

    let out = run(
        dir.path(),
        &[
            "env",
            "rotate",
            "--tokens",
            "AUTH_TOKEN",
            "--length",
            "48",
            "--write",
        ],
    );
    expect_exit(&out, 0);
    assert!(!stdout(&out).contains(&old) && !stderr(&out).contains(&old));
    let after = dotenv(&python, dir.path(), &files);
    let new = after[&files[0]]["AUTH_TOKEN"].clone().unwrap();
    assert_eq!(new.len(), 48);
    assert_ne!(new, old);
    assert!(new.bytes().all(|b| b.is_ascii_alphanumeric()));
    for f in &files {
        let mut want = before[f].clone();
        want.insert("AUTH_TOKEN".into(), Some(new.clone()));
        assert_eq!(
            after[f], want,
            "{f}: only AUTH_TOKEN changed, as python-dotenv reads it"
        );
    }
    // Byte for byte, outside the token the files are unchanged (CRLF, comments, quotes, export).
    for (f, t) in files.iter().zip(&texts) {
        assert_eq!(read(dir.path(), f).replace(&new, &old), *t);
    }
    // The template keeps its placeholder; the ledger holds no value.
    assert_eq!(
        read(dir.path(), ".env.example"),
        "AUTH_TOKEN=\nSERVICE_NAME=svc\n"
    );
    let ledger = read(dir.path(), ".vigil/rotation.toml");
    assert!(
        ledger.contains("[secrets.AUTH_TOKEN]") && !ledger.contains(&new) && !ledger.contains(&old)
    );
    let out = run(dir.path(), &["env", "check"]);
    expect_exit(&out, 0);
}

/// Asserts the crash-consistency invariant on the project: every service file holds the same
/// AUTH_TOKEN, either the old one (all files byte-identical to before) or a new one (each file
/// identical to before but for the token), and no temp file or journal is left.
fn assert_consistent(dir: &Path, files: &[String], texts: &[String], old: &str) -> bool {
    let tokens: Vec<String> = files.iter().map(|f| token_of(&read(dir, f))).collect();
    let first = tokens[0].clone();
    assert!(
        tokens.iter().all(|t| *t == first),
        "mixed tokens after recovery: {} distinct",
        {
            let mut d = tokens.clone();
            d.sort();
            d.dedup();
            d.len()
        }
    );
    for (f, t) in files.iter().zip(texts) {
        assert_eq!(
            read(dir, f).replace(&first, old),
            *t,
            "{f}: other bytes changed"
        );
        assert!(
            !dir.join(format!("{f}.vigil-tmp")).exists(),
            "{f}: temp file left"
        );
    }
    assert!(
        !dir.join(".vigil/env-journal.json").exists(),
        "journal left"
    );
    first != old
}

#[test]
fn a_crash_at_any_step_leaves_all_old_or_all_new() {
    let dir = TempDir::new().unwrap();
    let old = value(2, 32);
    let files = project(dir.path(), 50, &old);
    let texts: Vec<String> = files.iter().map(|f| read(dir.path(), f)).collect();
    // Steps: journal (1), 51 temp files (50 + ledger), journal committed (1), 51 renames,
    // cleanup (1): 105. Abort at each phase boundary and in the middle of each phase.
    let mut rotated = 0;
    let mut kept = 0;
    for k in [1, 2, 3, 26, 51, 52, 53, 54, 55, 56, 80, 104, 105, 106] {
        let mut c = vigil(dir.path());
        c.args(["env", "rotate", "--tokens", "AUTH_TOKEN", "--write"])
            .env("VIGIL_TEST_FAULT_AFTER", k.to_string());
        let out = c.output().unwrap();
        if k <= 105 {
            assert_ne!(out.status.code(), Some(0), "k={k}: the process was aborted");
        }
        // `vigil env recover` (a writing command) finishes or undoes the transaction; a
        // read-only command refuses to act on it.
        let pending = dir.path().join(".vigil/env-journal.json").exists();
        assert!(
            pending || k >= 105,
            "k={k}: the journal is left for recovery"
        );
        expect_exit(
            &run(dir.path(), &["env", "check"]),
            if pending { 2 } else { 0 },
        );
        let check = run(dir.path(), &["env", "recover"]);
        expect_exit(&check, 0);
        let changed = assert_consistent(dir.path(), &files, &texts, &old);
        if changed {
            rotated += 1;
            // Reset to the old token for the next round (the fixture's bytes).
            for (f, t) in files.iter().zip(&texts) {
                std::fs::write(dir.path().join(f), t).unwrap();
            }
        } else {
            kept += 1;
        }
        let s = stderr(&check);
        if (53..=105).contains(&k) {
            assert!(
                changed,
                "k={k}: after the commit point the rotation is finished"
            );
            if k <= 104 {
                assert!(
                    s.contains("finished a rotation interrupted after its commit point"),
                    "k={k}: {s}"
                );
            }
        } else if k <= 52 {
            assert!(!changed, "k={k}: before the commit point nothing changes");
            assert!(
                s.contains("undid a rotation interrupted before its commit point"),
                "k={k}: {s}"
            );
        }
    }
    assert!(rotated > 0 && kept > 0);

    // Real kill -9 at moments spread over a whole rotation, each step slowed (4 ms) so a kill
    // lands mid-way: once the rotation has begun (its journal is there), after a delay that
    // grows by a quarter each time, until kills have landed before and after the commit point.
    // (A fixed share of one timed run failed on a loaded host: the timed run was slow, every
    // kill came after the next runs had finished.)
    let rotate = || {
        let mut c = StdCommand::new(env!("CARGO_BIN_EXE_vigil"));
        c.current_dir(dir.path())
            .args(["env", "rotate", "--tokens", "AUTH_TOKEN", "--write"])
            .env("VIGIL_TEST_STEP_DELAY_MS", "4")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        c
    };
    assert!(rotate().status().unwrap().success());
    for (f, t) in files.iter().zip(&texts) {
        std::fs::write(dir.path().join(f), t).unwrap();
    }
    let journal = dir.path().join(".vigil/env-journal.json");
    let (mut undone, mut finished, mut tries) = (0, 0, 0);
    let mut delay = std::time::Duration::from_millis(5);
    while (undone == 0 || finished == 0 || tries < 10) && tries < 40 {
        tries += 1;
        let mut child = rotate().spawn().unwrap();
        let begun = std::time::Instant::now();
        while !journal.exists()
            && child.try_wait().unwrap().is_none()
            && begun.elapsed() < std::time::Duration::from_secs(30)
        {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
        let check = run(dir.path(), &["env", "recover"]);
        expect_exit(&check, 0);
        let s = stderr(&check);
        undone += s.contains("undid a rotation") as u32;
        finished += s.contains("finished a rotation") as u32;
        if assert_consistent(dir.path(), &files, &texts, &old) {
            for (f, t) in files.iter().zip(&texts) {
                std::fs::write(dir.path().join(f), t).unwrap();
            }
        }
        delay = delay * 5 / 4;
    }
    assert!(
        undone > 0 && finished > 0,
        "kills landed in both halves ({undone} undone, {finished} finished in {tries} kills)"
    );
}

#[test]
fn concurrent_rotations_one_wins_the_other_fails_clearly() {
    let dir = TempDir::new().unwrap();
    let old = value(3, 32);
    let files = project(dir.path(), 20, &old);
    let texts: Vec<String> = files.iter().map(|f| read(dir.path(), f)).collect();
    let second = std::thread::spawn({
        let d = dir.path().to_path_buf();
        move || {
            std::thread::sleep(Duration::from_millis(300));
            run(&d, &["env", "rotate", "--tokens", "AUTH_TOKEN", "--write"])
        }
    });
    let slow = StdCommand::new(env!("CARGO_BIN_EXE_vigil"))
        .current_dir(dir.path())
        .args(["env", "rotate", "--tokens", "AUTH_TOKEN", "--write"])
        .env("VIGIL_TEST_STEP_DELAY_MS", "20")
        .output();
    let slow = slow.unwrap();
    let second = second.join().unwrap();
    expect_exit(&slow, 0);
    expect_exit(&second, 2);
    let e = stderr(&second);
    assert!(
        e.contains("another `vigil env` command is changing these files"),
        "{e}"
    );
    assert!(e.contains("held by pid"), "{e}");
    assert_eq!(e.trim().lines().count(), 1);
    assert!(assert_consistent(dir.path(), &files, &texts, &old));
}

#[test]
fn dual_rotation_keeps_old_tokens_valid_until_retired() {
    let dir = TempDir::new().unwrap();
    let jwt = value(4, 44);
    write(
        dir.path(),
        ".env",
        format!(
            "MCP_JWT_SECRET={jwt}\nWEBHOOK_SECRET_DEFAULT={}\nWEBHOOK_SECRET_BACKUP=\n",
            value(5, 40)
        ),
    );
    let minted = {
        let out = run(
            dir.path(),
            &["token", "mint", "--aud", "memory", "--env-file", ".env"],
        );
        expect_exit(&out, 0);
        stdout(&out).trim().to_owned()
    };
    let out = run(
        dir.path(),
        &[
            "env",
            "rotate",
            "--dual",
            "MCP_JWT_SECRET,WEBHOOK_SECRET",
            "--write",
        ],
    );
    expect_exit(&out, 0);
    let text = read(dir.path(), ".env");
    let doc = vigil_env::Document::parse(&text).unwrap();
    assert_eq!(
        doc.get("MCP_JWT_SECRET_PREVIOUS"),
        Some(jwt.as_str()),
        "{text}"
    );
    assert_ne!(doc.get("MCP_JWT_SECRET"), Some(jwt.as_str()));
    assert_eq!(
        doc.get("WEBHOOK_SECRET_BACKUP"),
        Some(value(5, 40).as_str())
    );
    let lines: Vec<&str> = text.lines().map(|l| l.split('=').next().unwrap()).collect();
    assert_eq!(
        lines,
        [
            "MCP_JWT_SECRET",
            "MCP_JWT_SECRET_PREVIOUS",
            "WEBHOOK_SECRET_DEFAULT",
            "WEBHOOK_SECRET_BACKUP"
        ]
    );
    // The token key ring reads both: the old token still verifies, with the previous secret.
    let v = run(
        dir.path(),
        &[
            "token",
            "verify",
            "--format",
            "json",
            "--env-file",
            ".env",
            &minted,
        ],
    );
    expect_exit(&v, 0);
    assert_eq!(json(&v)["key"]["label"], "MCP_JWT_SECRET_PREVIOUS");
    // Retire once traffic has moved: the old token stops working.
    let out = run(dir.path(), &["env", "retire", "MCP_JWT_SECRET", "--write"]);
    expect_exit(&out, 0);
    assert!(read(dir.path(), ".env").contains("MCP_JWT_SECRET_PREVIOUS=\n"));
    let v = run(
        dir.path(),
        &[
            "token",
            "verify",
            "--format",
            "json",
            "--env-file",
            ".env",
            &minted,
        ],
    );
    expect_exit(&v, 1);
    assert_eq!(json(&v)["reason"], "bad_signature");
    let out = run(dir.path(), &["env", "retire", "MCP_JWT_SECRET", "--write"]);
    expect_exit(&out, 2);
    assert!(stderr(&out).contains("MCP_JWT_SECRET_PREVIOUS (nothing to retire)"));
}

#[test]
fn check_reports_every_kind_of_problem_in_text_json_and_valid_sarif() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    git(d, &["init", "-q"]);
    write(d, ".gitignore", "services/*/.env.service\n.vigil/\n");
    write(d, "vigil.toml", "[env]\ntokens = [\"AUTH_TOKEN\"]\n");
    write(
        d,
        "services/a/.env.service",
        format!("AUTH_TOKEN={}\n", value(6, 32)),
    );
    write(
        d,
        "services/b/.env.service",
        format!("AUTH_TOKEN={}\n", value(7, 32)),
    );
    // Per-service secrets may differ; a value shared by some files and not by another has drifted.
    for (s, v) in [("a", 20), ("b", 21)] {
        let p = format!("services/{s}/.env.service");
        let t = read(d, &p);
        write(d, &p, format!("{t}OWN_DB_PASSWORD={}\n", value(v, 32)));
    }
    write(
        d,
        "services/c/.env.worker",
        format!("DRIFT_SECRET={}\n", value(30, 32)),
    );
    write(
        d,
        "services/d/.env.worker",
        format!("DRIFT_SECRET={}\n", value(30, 32)),
    );
    write(
        d,
        "services/e/.env.worker",
        format!("DRIFT_SECRET={}\n", value(31, 32)),
    );
    write(
        d,
        ".env.production",
        format!(
            "DB_PASSWORD=hunter2\nMCP_DEV_BYPASS=1\nAPI_KEY=your-api-key-here\nSESSION_SECRET={}\n",
            "ab".repeat(16)
        ),
    );
    write(d, ".env.example", format!("AUTH_TOKEN={}\n", value(8, 32)));
    write(d, ".env", "PORT=8080\n");
    git(d, &["add", ".env"]);
    let out = run(d, &["env", "check", "--format", "json"]);
    expect_exit(&out, 1);
    let v = json(&out);
    let got: Vec<(String, u64, String)> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["file"].as_str().unwrap().to_owned(),
                p["line"].as_u64().unwrap(),
                p["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let want: Vec<(String, u64, String)> = [
        (".env", 0, "tracked"),
        (".env.example", 1, "template_real_value"),
        (".env.production", 0, "not_ignored"),
        (".env.production", 1, "weak"),
        (".env.production", 2, "dev_bypass"),
        (".env.production", 3, "placeholder"),
        (".env.production", 4, "weak"),
        ("services/a/.env.service", 1, "inconsistent"),
        ("services/b/.env.service", 1, "inconsistent"),
        ("services/c/.env.worker", 0, "not_ignored"),
        ("services/c/.env.worker", 1, "inconsistent"),
        ("services/d/.env.worker", 0, "not_ignored"),
        ("services/d/.env.worker", 1, "inconsistent"),
        ("services/e/.env.worker", 0, "not_ignored"),
        ("services/e/.env.worker", 1, "inconsistent"),
    ]
    .iter()
    .map(|(f, l, c)| (f.to_string(), *l, c.to_string()))
    .collect();
    assert_eq!(got, want);
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        !all.contains("hunter2") && !all.contains(&value(6, 32)),
        "values never printed"
    );

    let text = run(d, &["env", "check"]);
    expect_exit(&text, 1);
    insta::assert_snapshot!("env_check_text", stdout(&text));

    let sarif = run(d, &["env", "check", "--format", "sarif"]);
    expect_exit(&sarif, 1);
    let file = d.join("out.sarif");
    std::fs::write(&file, &sarif.stdout).unwrap();
    let python = python_with("jsonschema", "jsonschema");
    let ok = StdCommand::new(python)
        .args(["-c", "import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))"])
        .arg(&file)
        .arg(sarif_schema())
        .output()
        .unwrap();
    assert!(ok.status.success(), "SARIF invalid: {}", stderr(&ok));
    assert_eq!(
        json(&sarif)["runs"][0]["results"].as_array().unwrap().len(),
        15
    );
    let csv = run(d, &["env", "check", "--format", "csv"]);
    expect_exit(&csv, 1);
    assert_eq!(
        String::from_utf8_lossy(&csv.stdout).lines().count(),
        16,
        "a header and one row per problem"
    );
}

#[test]
fn status_ages_secrets_against_their_schedules() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    write(
        d,
        ".env",
        format!(
            "MCP_JWT_SECRET={}\nDISCORD_BOT_TOKEN={}\nDEPLOY_SSH_KEY={}\nPORT=1\n",
            value(9, 44),
            value(10, 60),
            value(11, 50)
        ),
    );
    write(
        d,
        "vigil.toml",
        "[env.schedules]\n\"DISCORD_BOT_TOKEN\" = \"10 days\"\n",
    );
    let out = run(d, &["env", "status", "--format", "json"]);
    expect_exit(&out, 0);
    let states: Vec<(String, String, String)> = json(&out)
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().into(),
                r["state"].as_str().unwrap().into(),
                r["schedule"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            (
                "DEPLOY_SSH_KEY".into(),
                "untracked".into(),
                "annually".into()
            ),
            (
                "DISCORD_BOT_TOKEN".into(),
                "untracked".into(),
                "10 days".into()
            ),
            (
                "MCP_JWT_SECRET".into(),
                "untracked".into(),
                "monthly".into()
            ),
        ]
    );
    expect_exit(
        &run(
            d,
            &[
                "env",
                "rotate",
                "--tokens",
                "MCP_JWT_SECRET,DISCORD_BOT_TOKEN",
                // A bot token is issued by Discord: rotated here only on request.
                "--allow-provider-keys",
                "--write",
            ],
        ),
        0,
    );
    // Age the ledger: the JWT secret was rotated 40 days ago (monthly: overdue), the bot token
    // 5 days ago (10 days: due within a week).
    let ledger = read(d, ".vigil/rotation.toml");
    let ago = |days: u64| {
        humantime::format_rfc3339_seconds(
            std::time::SystemTime::now() - Duration::from_secs(days * 86_400),
        )
        .to_string()
    };
    let mut lines = Vec::new();
    let mut section = String::new();
    for l in ledger.lines() {
        if l.starts_with('[') {
            section = l.to_owned();
        }
        if l.starts_with("rotated_at") {
            let days = if section.contains("MCP_JWT_SECRET") {
                40
            } else {
                5
            };
            lines.push(format!("rotated_at = \"{}\"", ago(days)));
        } else {
            lines.push(l.to_owned());
        }
    }
    write(d, ".vigil/rotation.toml", lines.join("\n"));
    let out = run(d, &["env", "status", "--format", "json"]);
    expect_exit(&out, 1);
    let rows = json(&out);
    let by: BTreeMap<String, (String, i64)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().into(),
                (
                    r["state"].as_str().unwrap().into(),
                    r["due_in_days"].as_i64().unwrap_or(999),
                ),
            )
        })
        .collect();
    assert_eq!(by["MCP_JWT_SECRET"], ("overdue".into(), -10));
    assert_eq!(by["DISCORD_BOT_TOKEN"], ("due_soon".into(), 5));
    assert_eq!(by["DEPLOY_SSH_KEY"].0, "untracked");
    // A value changed by hand is noticed through the salted hash.
    let env = read(d, ".env");
    let bot = vigil_env::Document::parse(&env)
        .unwrap()
        .get("DISCORD_BOT_TOKEN")
        .unwrap()
        .to_owned();
    write(d, ".env", env.replace(&bot, &value(12, 60)));
    let out = run(d, &["env", "status"]);
    expect_exit(&out, 1);
    assert!(
        stdout(&out)
            .lines()
            .any(|l| l.starts_with("DISCORD_BOT_TOKEN") && l.contains("changed")),
        "{}",
        stdout(&out)
    );
    assert!(stderr(&out).contains("1 overdue"));
}

#[test]
fn bad_input_is_one_line_with_file_and_line_and_nothing_changes() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let good = format!("AUTH_TOKEN={}\n", value(13, 32));
    write(d, "a/.env.service", &good);
    let bad = format!("AUTH_TOKEN={}\nBROKEN='never closed\n", value(13, 32));
    write(d, "b/.env.service", &bad);
    let out = run(d, &["env", "rotate", "--tokens", "AUTH_TOKEN", "--write"]);
    expect_exit(&out, 2);
    let e = stderr(&out);
    assert!(e.starts_with("vigil: b/.env.service:2: "), "{e}");
    assert_eq!(e.trim().lines().count(), 1);
    assert!(
        !e.contains("never closed"),
        "the line's content is not quoted"
    );
    assert_eq!(read(d, "a/.env.service"), good);
    assert_eq!(read(d, "b/.env.service"), bad);
    std::fs::remove_file(d.join("b/.env.service")).unwrap();
    for (args, want) in [
        (
            vec!["env", "rotate", "--tokens", "NOPE"],
            "NOPE is not set in any env file",
        ),
        (vec!["env", "rotate"], "say what to rotate"),
        (
            vec![
                "env",
                "rotate",
                "--tokens",
                "AUTH_TOKEN",
                "--charset",
                "custom:ab#",
            ],
            "--charset: character `#`",
        ),
        (
            vec!["env", "rotate", "--tokens", "AUTH_TOKEN", "--length", "8"],
            "--length: 8 is outside",
        ),
    ] {
        let out = run(d, &args);
        expect_exit(&out, 2);
        assert!(stderr(&out).contains(want), "{args:?}: {}", stderr(&out));
    }
    write(d, "vigil.toml", "[env]\nlength = 40\nfiels = []\n");
    let out = run(d, &["env", "check"]);
    expect_exit(&out, 2);
    assert!(
        stderr(&out).starts_with("vigil: vigil.toml:3: env.fiels: unknown field"),
        "{}",
        stderr(&out)
    );
}

// Issue 15: scope, environments, defaults, file modes, dry runs, skipped files, status.

fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// The value of `key` in a file, as a service reads it.
fn get(d: &Path, rel: &str, key: &str) -> String {
    vigil_env::Document::parse(&read(d, rel))
        .unwrap()
        .get(key)
        .unwrap_or_else(|| panic!("{rel}: no {key}"))
        .to_owned()
}

/// The env files `env check --format json` saw: (path, environment).
fn seen(out: &std::process::Output) -> Vec<(String, String)> {
    json(out)["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_owned(),
                f["environment"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// (file, line, code) of every problem `env check --format json` reported.
fn problems(out: &std::process::Output) -> Vec<(String, u64, String)> {
    json(out)["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["file"].as_str().unwrap().to_owned(),
                p["line"].as_u64().unwrap(),
                p["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Every path under `d` (links not followed) with its mode, owner, bytes (or link target) and
/// modification time: a dry run must leave all of it as it was.
fn tree(d: &Path) -> BTreeMap<String, (u32, u32, Vec<u8>, i64, i64)> {
    use std::os::unix::fs::MetadataExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![d.to_path_buf()];
    while let Some(p) = stack.pop() {
        let m = std::fs::symlink_metadata(&p).unwrap();
        let body = if m.file_type().is_symlink() {
            std::fs::read_link(&p)
                .unwrap()
                .into_os_string()
                .into_encoded_bytes()
        } else if m.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                stack.push(e.unwrap().path());
            }
            Vec::new()
        } else {
            std::fs::read(&p).unwrap()
        };
        let rel = p.strip_prefix(d).unwrap().display().to_string();
        out.insert(rel, (m.mode(), m.uid(), body, m.mtime(), m.mtime_nsec()));
    }
    out
}

/// [`tree`] without what taking the lock creates (`.vigil/`, its lock file, the root folder's
/// modification time): what a refused `--write` must leave as it was.
fn files_tree(d: &Path) -> BTreeMap<String, (u32, u32, Vec<u8>, i64, i64)> {
    let mut t = tree(d);
    t.remove("");
    t.remove(".vigil");
    t.remove(".vigil/env.lock");
    t
}

#[test]
fn configured_env_files_in_a_gitignored_folder_are_rotated_and_checked() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    git_init(d);
    write(d, ".gitignore", "secrets/\n.vigil/\n");
    write(d, "vigil.toml", "[env]\nfiles = [\"secrets/*.env\"]\n");
    write(
        d,
        "secrets/prod.env",
        format!("AUTH_TOKEN={}\n", value(40, 32)),
    );
    write(
        d,
        "secrets/staging.env",
        format!("AUTH_TOKEN={}\n", value(41, 32)),
    );
    let out = run(d, &["env", "check", "--format", "json"]);
    expect_exit(&out, 0);
    assert_eq!(
        seen(&out),
        [
            ("secrets/prod.env".to_owned(), "production".to_owned()),
            ("secrets/staging.env".into(), "staging".into()),
        ],
        "files named in [env] files are in scope although git ignores their folder"
    );
    let out = run(d, &["env", "rotate", "--tokens", "AUTH_TOKEN", "--write"]);
    expect_exit(&out, 0);
    let (p, s) = (
        get(d, "secrets/prod.env", "AUTH_TOKEN"),
        get(d, "secrets/staging.env", "AUTH_TOKEN"),
    );
    assert_ne!(p, value(40, 32));
    assert_ne!(s, value(41, 32));
    assert_ne!(p, s, "two environments never share a new value");
}

#[test]
fn discovery_never_descends_into_dependency_folders_even_without_a_gitignore() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    for f in [
        ".env",
        "services/bot/.env",
        "node_modules/pkg/.env",
        ".venv/lib/python3.12/site-packages/pkg/.env",
        "vendor/github.com/acme/lib/.env",
        "target/debug/build/x/.env",
        "web/node_modules/left-pad/.env.production",
    ] {
        write(d, f, "PORT=1\n");
    }
    let out = run(d, &["env", "check", "--format", "json"]);
    expect_exit(&out, 0);
    assert_eq!(
        seen(&out),
        [
            (".env".to_owned(), "default".to_owned()),
            ("services/bot/.env".into(), "default".into()),
        ]
    );
    // Named in [env] files, a file inside such a folder is in scope.
    write(
        d,
        "vigil.toml",
        "[env]\nfiles = [\"/.env\", \"vendor/github.com/acme/lib/.env\"]\n",
    );
    let out = run(d, &["env", "check", "--format", "json"]);
    expect_exit(&out, 0);
    assert_eq!(
        seen(&out),
        [
            (".env".to_owned(), "default".to_owned()),
            ("vendor/github.com/acme/lib/.env".into(), "default".into()),
        ]
    );
}

#[test]
fn a_symlinked_env_file_is_written_through_and_never_replaced() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let old = value(42, 32);
    write(d, ".env", format!("AUTH_TOKEN={old}\n"));
    write(
        d,
        "config/bot.secrets",
        format!("AUTH_TOKEN={old}\nPORT=2\n"),
    );
    std::fs::create_dir_all(d.join("services/bot")).unwrap();
    std::os::unix::fs::symlink("../../config/bot.secrets", d.join("services/bot/.env")).unwrap();
    let out = run(d, &["env", "rotate", "--tokens", "AUTH_TOKEN", "--write"]);
    expect_exit(&out, 0);
    let link = d.join("services/bot/.env");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link stays a link"
    );
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        Path::new("../../config/bot.secrets")
    );
    let new = get(d, ".env", "AUTH_TOKEN");
    assert_ne!(new, old);
    assert_eq!(
        read(d, "config/bot.secrets"),
        format!("AUTH_TOKEN={new}\nPORT=2\n"),
        "written through to the link's target"
    );

    // A hard link cannot be written through: replacing one name would leave the other with the
    // old value. Refused, nothing changes.
    write(d, "config/api.secrets", format!("AUTH_TOKEN={new}\n"));
    std::fs::create_dir_all(d.join("services/api")).unwrap();
    std::fs::hard_link(d.join("config/api.secrets"), d.join("services/api/.env")).unwrap();
    let before = files_tree(d);
    let out = run(d, &["env", "rotate", "--tokens", "AUTH_TOKEN", "--write"]);
    expect_exit(&out, 2);
    assert!(
        stderr(&out).contains("services/api/.env: has 2 hard links"),
        "{}",
        stderr(&out)
    );
    assert_eq!(files_tree(d), before);
    std::fs::remove_file(d.join("services/api/.env")).unwrap();

    // A link that would put one file into two environments is refused; nothing changes.
    std::os::unix::fs::symlink(".env", d.join(".env.prod")).unwrap();
    let before = files_tree(d);
    for args in [
        &["env", "rotate", "--tokens", "AUTH_TOKEN", "--write"][..],
        &["env", "check"][..],
    ] {
        let out = run(d, args);
        expect_exit(&out, 2);
        let e = stderr(&out);
        assert_eq!(e.trim().lines().count(), 1, "{e}");
        assert!(
            e.contains(".env.prod") && e.contains("production") && e.contains("default"),
            "{e}"
        );
    }
    assert_eq!(files_tree(d), before);
}

#[test]
fn encrypted_values_are_never_rotated_into_plaintext() {
    let b64 = |seed: u64, n: usize| {
        let mut s = value(seed, n);
        s.push_str("==");
        s
    };
    let sops = format!(
        "ENC[AES256_GCM,data:{},iv:{},tag:{},type:str]",
        b64(43, 42),
        b64(44, 22),
        b64(45, 22)
    );
    let dotenvx = format!("\"encrypted:B{}\"", b64(46, 120));
    let seal = format!("vseal:v1:k1:{}", value(47, 80));
    for (tool, sealed) in [("SOPS", sops), ("dotenvx", dotenvx), ("vigil seal", seal)] {
        let dir = TempDir::new().unwrap();
        let d = dir.path();
        write(d, ".env", format!("PORT=1\nAUTH_TOKEN={sealed}\n"));
        write(
            d,
            "services/bot/.env",
            format!("AUTH_TOKEN={}\n", value(48, 32)),
        );
        let before = files_tree(d);
        for args in [
            &["env", "rotate", "--tokens", "AUTH_TOKEN", "--write"][..],
            &["env", "rotate", "--dual", "AUTH_TOKEN", "--write"][..],
        ] {
            let out = run(d, args);
            expect_exit(&out, 2);
            let e = stderr(&out);
            assert_eq!(e.trim().lines().count(), 1, "{tool}: {e}");
            assert!(
                e.contains(".env:2")
                    && e.contains("AUTH_TOKEN")
                    && e.contains(tool)
                    && e.contains("plaintext"),
                "{tool}: {e}"
            );
        }
        assert_eq!(files_tree(d), before, "{tool}: nothing written");
    }
}

#[test]
fn each_environment_gets_its_own_value_and_its_services_share_it() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let (jwt, tok) = (value(50, 44), value(51, 32));
    let both = format!("MCP_JWT_SECRET={jwt}\nAUTH_TOKEN={tok}\n");
    let production = [
        ".env.prod",
        "services/bot/.env.prod",
        ".env.production.local",
    ];
    let staging = [".env.stage", "services/bot/.env.staging"];
    let default = [".env", ".env.bot", ".env.voice", "services/tts/.env"];
    for f in production.iter().chain(&staging).chain(&default) {
        write(d, f, &both);
    }
    write(d, ".env.example", "MCP_JWT_SECRET=\nAUTH_TOKEN=\n");
    let out = run(d, &["env", "check", "--format", "json"]);
    let mut envs = seen(&out);
    envs.sort();
    let mut want: Vec<(String, String)> = production
        .iter()
        .map(|f| (f.to_string(), "production".to_owned()))
        .chain(staging.iter().map(|f| (f.to_string(), "staging".into())))
        .chain(default.iter().map(|f| (f.to_string(), "default".into())))
        .chain([(".env.example".to_owned(), "default".to_owned())])
        .collect();
    want.sort();
    assert_eq!(envs, want);

    let out = run(
        d,
        &[
            "env",
            "rotate",
            "--tokens",
            "MCP_JWT_SECRET,AUTH_TOKEN",
            "--write",
        ],
    );
    expect_exit(&out, 0);
    let mut per_env: BTreeMap<&str, (String, String)> = BTreeMap::new();
    for (name, files) in [
        ("production", &production[..]),
        ("staging", &staging[..]),
        ("default", &default[..]),
    ] {
        let first = (
            get(d, files[0], "MCP_JWT_SECRET"),
            get(d, files[0], "AUTH_TOKEN"),
        );
        for f in files {
            assert_eq!(
                (get(d, f, "MCP_JWT_SECRET"), get(d, f, "AUTH_TOKEN")),
                first,
                "{f}: every service of {name} shares its environment's new values"
            );
        }
        per_env.insert(name, first);
    }
    let mut all: Vec<&String> = per_env.values().flat_map(|(a, b)| [a, b]).collect();
    assert!(!all.contains(&&jwt) && !all.contains(&&tok));
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 6, "one new value per environment per secret");
    assert_eq!(read(d, ".env.example"), "MCP_JWT_SECRET=\nAUTH_TOKEN=\n");

    // What the other commands make of it: no problem anywhere.
    let out = run(d, &["token", "check-config", "--format", "json"]);
    expect_exit(&out, 0);
    let v = json(&out);
    let names: Vec<&str> = v["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(names, ["default", "production", "staging"]);
    expect_exit(&run(d, &["env", "check"]), 0);
}

#[test]
fn check_finds_drift_inside_an_environment_and_one_value_in_two_environments() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let tok = value(52, 32);
    for f in [".env", ".env.bot", ".env.voice"] {
        write(d, f, format!("AUTH_TOKEN={tok}\n"));
    }
    write(d, ".env.prod", format!("AUTH_TOKEN={}\n", value(53, 32)));
    expect_exit(&run(d, &["env", "check"]), 0);
    // The voice service alone gets another token: the bot and the voice service now disagree.
    write(d, ".env.voice", format!("AUTH_TOKEN={}\n", value(54, 32)));
    let out = run(d, &["env", "check", "--format", "json"]);
    expect_exit(&out, 1);
    assert_eq!(
        problems(&out),
        [
            (".env".to_owned(), 1, "inconsistent".to_owned()),
            (".env.bot".into(), 1, "inconsistent".into()),
            (".env.voice".into(), 1, "inconsistent".into()),
        ]
    );
    // Two services alone: an AUTH_TOKEN is the services' shared token, so two values are drift.
    std::fs::remove_file(d.join(".env")).unwrap();
    let out = run(d, &["env", "check", "--format", "json"]);
    expect_exit(&out, 1);
    assert_eq!(
        problems(&out),
        [
            (".env.bot".to_owned(), 1, "inconsistent".to_owned()),
            (".env.voice".into(), 1, "inconsistent".into()),
        ]
    );
    write(d, ".env", format!("AUTH_TOKEN={tok}\n"));
    // Production holding the default environment's token is a problem too.
    write(d, ".env.voice", format!("AUTH_TOKEN={tok}\n"));
    write(d, ".env.prod", format!("AUTH_TOKEN={tok}\n"));
    let out = run(d, &["env", "check", "--format", "json"]);
    expect_exit(&out, 1);
    let got = problems(&out);
    assert!(
        got.contains(&(
            ".env.prod".to_owned(),
            1,
            "shared_across_environments".to_owned()
        )),
        "{got:?}"
    );
    assert!(!format!("{}{}", stdout(&out), stderr(&out)).contains(&tok));
}

#[test]
fn a_file_the_model_cannot_place_is_refused_with_the_line_to_add() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let tok = value(55, 32);
    write(d, ".env", format!("AUTH_TOKEN={tok}\n"));
    write(d, ".env.blue", format!("AUTH_TOKEN={tok}\n"));
    let before = files_tree(d);
    for args in [
        &["env", "check"][..],
        &["env", "rotate", "--tokens", "AUTH_TOKEN", "--write"][..],
        &["env", "status"][..],
        &["token", "check-config"][..],
    ] {
        let out = run(d, args);
        expect_exit(&out, 2);
        let e = stderr(&out);
        assert_eq!(e.trim().lines().count(), 1, "{args:?}: {e}");
        assert!(
            e.starts_with("vigil: .env.blue: ")
                && e.contains("[env.environments]")
                && e.contains("blue = [\".env.blue\"]"),
            "{args:?}: {e}"
        );
    }
    assert_eq!(files_tree(d), before);
    // Its own environment: its own value.
    write(
        d,
        "vigil.toml",
        "[env.environments]\nblue = [\".env.blue\"]\n",
    );
    expect_exit(
        &run(d, &["env", "rotate", "--tokens", "AUTH_TOKEN", "--write"]),
        0,
    );
    assert_ne!(
        get(d, ".env", "AUTH_TOKEN"),
        get(d, ".env.blue", "AUTH_TOKEN")
    );
    // A service of the default environment: the default environment's value.
    write(
        d,
        "vigil.toml",
        "[env.environments]\ndefault = [\".env.blue\"]\n",
    );
    expect_exit(
        &run(d, &["env", "rotate", "--tokens", "AUTH_TOKEN", "--write"]),
        0,
    );
    assert_eq!(
        get(d, ".env", "AUTH_TOKEN"),
        get(d, ".env.blue", "AUTH_TOKEN")
    );
    // Globs place whole layouts.
    write(d, "deploy/live/app.env", format!("AUTH_TOKEN={tok}\n"));
    write(
        d,
        "vigil.toml",
        "[env.environments]\ndefault = [\".env.blue\"]\nproduction = [\"deploy/live/*.env\"]\n",
    );
    let out = run(d, &["env", "check", "--format", "json"]);
    assert!(
        seen(&out).contains(&("deploy/live/app.env".to_owned(), "production".to_owned())),
        "{}",
        stdout(&out)
    );
}

#[test]
fn rotated_defaults_pass_every_vigil_check() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    write(
        d,
        ".env",
        format!(
            "MCP_JWT_SECRET={}\nWEBHOOK_SECRET_DEFAULT={}\nWEBHOOK_SECRET_BACKUP=\nDB_PASSWORD={}\nAUTH_TOKEN={}\n",
            value(56, 44),
            value(57, 32),
            value(58, 32),
            value(59, 32)
        ),
    );
    for _ in 0..3 {
        expect_exit(
            &run(
                d,
                &[
                    "env",
                    "rotate",
                    "--tokens",
                    "MCP_JWT_SECRET,DB_PASSWORD,AUTH_TOKEN",
                    "--write",
                ],
            ),
            0,
        );
        expect_exit(
            &run(d, &["env", "rotate", "--dual", "WEBHOOK_SECRET", "--write"]),
            0,
        );
        assert!(get(d, ".env", "MCP_JWT_SECRET").len() >= 48);
        let out = run(d, &["token", "check-config", ".env"]);
        expect_exit(&out, 0);
        assert_eq!(stdout(&out), "");
        expect_exit(&run(d, &["env", "check"]), 0);
    }
    // A length that would fall short of `token check-config` for a JWT secret is refused.
    let out = run(
        d,
        &[
            "env",
            "rotate",
            "--tokens",
            "MCP_JWT_SECRET",
            "--length",
            "32",
        ],
    );
    expect_exit(&out, 2);
    assert!(stderr(&out).contains("256"), "{}", stderr(&out));
}

#[test]
fn backups_are_private_and_rotated_files_keep_their_mode_and_owner() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let old = value(60, 32);
    write(d, ".env", format!("AUTH_TOKEN={old}\n"));
    write(
        d,
        "services/bot/.env.service",
        format!("AUTH_TOKEN={old}\n"),
    );
    std::fs::set_permissions(d.join(".env"), std::fs::Permissions::from_mode(0o640)).unwrap();
    std::fs::set_permissions(
        d.join("services/bot/.env.service"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    // As root (the CI machine), also give the file another owner and group, as a deployment does.
    let root = std::fs::metadata(d).unwrap().uid() == 0;
    if root {
        std::os::unix::fs::chown(d.join(".env"), Some(4242), Some(4343)).unwrap();
    }
    let owner = |p: &str| {
        let m = std::fs::metadata(d.join(p)).unwrap();
        (m.uid(), m.gid())
    };
    let before = owner(".env");
    let out = run(
        d,
        &[
            "env",
            "rotate",
            "--tokens",
            "AUTH_TOKEN",
            "--write",
            "--backup",
        ],
    );
    expect_exit(&out, 0);
    assert_ne!(get(d, ".env", "AUTH_TOKEN"), old);
    assert_eq!(mode(&d.join(".env")), 0o640);
    assert_eq!(mode(&d.join("services/bot/.env.service")), 0o600);
    assert_eq!(owner(".env"), before, "the owner and group are kept");
    if root {
        assert_eq!(before, (4242, 4343));
    }
    assert_eq!(mode(&d.join(".vigil")), 0o700);
    assert_eq!(mode(&d.join(".vigil/backup")), 0o700);
    let stamp: Vec<_> = std::fs::read_dir(d.join(".vigil/backup"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(stamp.len(), 1);
    let b = &stamp[0];
    assert_eq!(mode(b), 0o700);
    assert_eq!(mode(&b.join("services")), 0o700);
    assert_eq!(mode(&b.join("services/bot")), 0o700);
    assert_eq!(mode(&b.join(".env")), 0o600);
    assert_eq!(mode(&b.join("services/bot/.env.service")), 0o600);
    assert_eq!(
        std::fs::read_to_string(b.join(".env")).unwrap(),
        format!("AUTH_TOKEN={old}\n")
    );
}

#[test]
fn a_dry_run_writes_nothing_at_all() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    write(
        d,
        ".env",
        format!(
            "AUTH_TOKEN={}\nWEBHOOK_SECRET_DEFAULT={}\nWEBHOOK_SECRET_BACKUP={}\n",
            value(61, 32),
            value(62, 32),
            value(63, 32)
        ),
    );
    write(d, ".env.bot", format!("AUTH_TOKEN={}\n", value(61, 32)));
    let dry: [&[&str]; 5] = [
        &["env", "rotate", "--tokens", "AUTH_TOKEN"],
        &["env", "rotate", "--dual", "WEBHOOK_SECRET"],
        &["env", "retire", "WEBHOOK_SECRET"],
        &["env", "check"],
        &["env", "status"],
    ];
    let before = tree(d);
    for args in dry {
        let out = run(d, args);
        assert!(out.status.code() != Some(2), "{args:?}: {}", stderr(&out));
        assert_eq!(tree(d), before, "{args:?} wrote into the project");
    }
    assert!(!d.join(".vigil").exists());
    // Once a rotation has written .vigil/, dry runs still touch nothing in it.
    expect_exit(
        &run(d, &["env", "rotate", "--tokens", "AUTH_TOKEN", "--write"]),
        0,
    );
    let before = tree(d);
    for args in dry {
        run(d, args);
        assert_eq!(tree(d), before, "{args:?} wrote into the project");
    }
}

#[test]
fn direnv_and_encrypted_env_files_are_skipped_with_one_warning_each() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    write(
        d,
        ".envrc",
        "use nix\nsource_env_if_exists .envrc.local\nexport API_HOST=localhost\nPATH_add bin\n",
    );
    write(
        d,
        ".env.gpg",
        [0x85u8, 0x01, 0x0c, 0x03, 0x00, 0xff, 0x9e, 0x41, 0x00, 0x07],
    );
    write(
        d,
        ".env.vault",
        format!(
            "#/----------------settings/metadata-----------------/\nDOTENV_VAULT_DEVELOPMENT=\"{}\"\n",
            value(64, 80)
        ),
    );
    write(d, ".env", format!("AUTH_TOKEN={}\n", value(65, 32)));
    for args in [
        &["env", "check"][..],
        &["env", "status"][..],
        &["env", "rotate", "--tokens", "AUTH_TOKEN"][..],
    ] {
        let out = run(d, args);
        expect_exit(&out, 0);
        let e = stderr(&out);
        for f in [".envrc", ".env.gpg", ".env.vault"] {
            let n = e
                .lines()
                .filter(|l| l.contains(&format!(" {f}:")) || l.contains(&format!(" {f} ")))
                .count();
            assert_eq!(n, 1, "{args:?}: one warning for {f}: {e}");
        }
    }
    // Named explicitly, a file is read, and what cannot be read is an error.
    write(d, "vigil.toml", "[env]\nfiles = [\".env\", \".envrc\"]\n");
    let out = run(d, &["env", "check"]);
    expect_exit(&out, 2);
    assert!(
        stderr(&out).starts_with("vigil: .envrc:1: "),
        "{}",
        stderr(&out)
    );
    write(d, "vigil.toml", "[env]\nfiles = [\".env\", \".env.gpg\"]\n");
    let out = run(d, &["env", "check"]);
    expect_exit(&out, 2);
    assert!(
        stderr(&out).starts_with("vigil: .env.gpg: "),
        "{}",
        stderr(&out)
    );
}

#[test]
fn status_keeps_an_overdue_secret_overdue_after_an_out_of_band_change() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    write(d, ".env", format!("MCP_JWT_SECRET={}\n", value(66, 44)));
    expect_exit(
        &run(
            d,
            &["env", "rotate", "--tokens", "MCP_JWT_SECRET", "--write"],
        ),
        0,
    );
    // Rotated 40 days ago (monthly: overdue), then changed by hand.
    let ago = humantime::format_rfc3339_seconds(
        std::time::SystemTime::now() - Duration::from_secs(40 * 86_400),
    );
    let ledger = read(d, ".vigil/rotation.toml")
        .lines()
        .map(|l| {
            if l.starts_with("rotated_at") {
                format!("rotated_at = \"{ago}\"")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    write(d, ".vigil/rotation.toml", ledger);
    write(d, ".env", format!("MCP_JWT_SECRET={}\n", value(67, 44)));
    let out = run(d, &["env", "status", "--format", "json"]);
    expect_exit(&out, 1);
    let row = &json(&out)[0];
    assert_eq!(row["name"], "MCP_JWT_SECRET");
    assert_eq!(row["state"], "overdue", "{row}");
    assert_eq!(row["changed"], true, "{row}");
    let out = run(d, &["env", "status"]);
    expect_exit(&out, 1);
    let line = stdout(&out)
        .lines()
        .find(|l| l.starts_with("MCP_JWT_SECRET"))
        .unwrap()
        .to_owned();
    assert!(
        line.contains("overdue") && line.contains("changed"),
        "{line}"
    );
    assert!(stderr(&out).contains("1 overdue"));
}

#[test]
fn a_twice_bound_key_shows_every_binding_in_the_preview() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    write(
        d,
        ".env",
        format!(
            "AUTH_TOKEN={}\nPORT=1\nexport AUTH_TOKEN='{}'\n",
            value(68, 32),
            value(69, 32)
        ),
    );
    let out = run(d, &["env", "rotate", "--tokens", "AUTH_TOKEN"]);
    expect_exit(&out, 0);
    let lines: Vec<String> = stdout(&out)
        .lines()
        .filter(|l| l.contains("AUTH_TOKEN"))
        .map(|l| l.trim().split(':').next().unwrap().to_owned())
        .collect();
    assert_eq!(lines, ["line 1", "line 3"], "{}", stdout(&out));
    let out = run(d, &["env", "rotate", "--tokens", "AUTH_TOKEN", "--write"]);
    expect_exit(&out, 0);
    let doc = vigil_env::Document::parse(&read(d, ".env")).unwrap();
    let vals: Vec<_> = doc
        .bindings()
        .iter()
        .filter(|b| b.key == "AUTH_TOKEN")
        .map(|b| b.value.clone().unwrap())
        .collect();
    assert_eq!(vals.len(), 2);
    assert_eq!(vals[0], vals[1], "both bindings get the new value");
}

#[test]
fn templates_get_placeholders_and_backups_last_until_the_next_rotation() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let old = value(14, 32);
    write(d, ".env", format!("AUTH_TOKEN={old}\n"));
    write(
        d,
        ".env.sample",
        format!("# copy to .env\nAUTH_TOKEN={}\n", value(15, 32)),
    );
    expect_exit(
        &run(
            d,
            &[
                "env",
                "rotate",
                "--tokens",
                "AUTH_TOKEN",
                "--write",
                "--backup",
            ],
        ),
        0,
    );
    assert_eq!(
        read(d, ".env.sample"),
        "# copy to .env\nAUTH_TOKEN=change-me\n"
    );
    let backups: Vec<_> = std::fs::read_dir(d.join(".vigil/backup"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(backups.len(), 1);
    assert_eq!(
        std::fs::read_to_string(backups[0].join(".env")).unwrap(),
        format!("AUTH_TOKEN={old}\n")
    );
    std::thread::sleep(Duration::from_millis(5));
    expect_exit(
        &run(
            d,
            &[
                "env",
                "rotate",
                "--tokens",
                "AUTH_TOKEN",
                "--write",
                "--backup",
            ],
        ),
        0,
    );
    let again: Vec<_> = std::fs::read_dir(d.join(".vigil/backup"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(again.len(), 1, "the older backup is gone");
    assert_ne!(again[0], backups[0]);
    expect_exit(
        &run(d, &["env", "rotate", "--tokens", "AUTH_TOKEN", "--write"]),
        0,
    );
    assert!(
        std::fs::read_dir(d.join(".vigil/backup"))
            .unwrap()
            .next()
            .is_none(),
        "a rotation without --backup clears old backups"
    );
}

#[test]
fn discovery_includes_gitignored_env_files_but_not_ignored_directories() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    git(d, &["init", "-q"]);
    write(
        d,
        ".gitignore",
        ".env\n.env.*\n!.env.example\nnode_modules/\nbuild/\n",
    );
    for f in [
        ".env",
        ".env.production",
        ".env.example",
        "config/app.env",
        "node_modules/pkg/.env",
        "build/.env",
        "src/main.rs",
        "docs/env.md",
    ] {
        write(d, f, "PORT=1\n");
    }
    let files = |out: &std::process::Output| -> Vec<(String, String, bool)> {
        json(out)["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["path"].as_str().unwrap().into(),
                    f["environment"].as_str().unwrap().into(),
                    f["template"].as_bool().unwrap(),
                )
            })
            .collect()
    };
    let out = run(d, &["env", "check", "--format", "json"]);
    assert_eq!(
        files(&out),
        [
            (".env".to_owned(), "default".to_owned(), false),
            (".env.example".into(), "default".into(), true),
            (".env.production".into(), "production".into(), false),
            ("config/app.env".into(), "default".into(), false),
        ]
    );
    // [env] files replaces the default globs.
    write(d, "vigil.toml", "[env]\nfiles = [\"config/*.env\"]\n");
    let out = run(d, &["env", "check", "--format", "json"]);
    assert_eq!(
        files(&out),
        [("config/app.env".to_owned(), "default".to_owned(), false)]
    );
    write(d, "vigil.toml", "[env]\nfiles = [\"config/[.env\"]\n");
    let out = run(d, &["env", "check"]);
    expect_exit(&out, 2);
    assert!(
        stderr(&out).starts_with("vigil: vigil.toml:2: env.files: "),
        "{}",
        stderr(&out)
    );
}

// ---------------------------------------------------------------------------------------------
// Black-box report on issue 15 (h15-blackbox.md): A, G, J, K, L, M, N, O, P.
// ---------------------------------------------------------------------------------------------

fn sha256_hex(bytes: &[u8]) -> String {
    vigil_env::txn::sha256(bytes)
}

/// A: a repository that commits `.vigil/env-journal.json` (and the "new" bytes for a file of
/// git's own) must never make any `vigil env` command rename, write or delete anything.
#[test]
fn a_journal_from_the_repository_never_touches_git_config() {
    let top = TempDir::new().unwrap();
    let t = top.path();
    let atk = t.join("atk");
    std::fs::create_dir_all(&atk).unwrap();
    git(&atk, &["init", "-q", "-b", "main"]);
    write(&atk, ".env", format!("AUTH_TOKEN={}\n", value(201, 40)));
    write(&atk, ".gitignore", ".env\n");
    git(&atk, &["add", "-A"]);
    git(&atk, &["commit", "-q", "-m", "bot"]);
    // What a fresh clone's .git/config will be, and the attacker's version of it.
    git(t, &["clone", "-q", "atk", "v"]);
    let config = std::fs::read(t.join("v/.git/config")).unwrap();
    std::fs::remove_dir_all(t.join("v")).unwrap();
    let marker = t.join("pwned");
    let mut evil = config.clone();
    evil.extend_from_slice(
        format!(
            "[core]\n\tfsmonitor = \"touch {}; false\"\n",
            marker.display()
        )
        .as_bytes(),
    );
    write(&atk, "evilconfig", &evil);
    for (name, path) in [
        ("rel", ".git/config".to_owned()),
        ("abs", t.join("v/.git/config").display().to_string()),
    ] {
        let journal = serde_json::json!({
            "version": 1,
            "state": "committed",
            "backup": null,
            "entries": [{
                "path": path,
                "tmp": "evilconfig",
                "old": sha256_hex(&config),
                "new": sha256_hex(&evil),
            }]
        });
        write(&atk, ".vigil/env-journal.json", journal.to_string());
        git(&atk, &["add", "-f", "-A"]);
        git(&atk, &["commit", "-q", "-m", name]);
        let _ = std::fs::remove_dir_all(t.join("v"));
        git(t, &["clone", "-q", "atk", "v"]);
        let v = t.join("v");
        for args in [
            &["env", "check"][..],
            &["env", "status"][..],
            &["env", "recover"][..],
            &["env", "rotate", "--tokens", "AUTH_TOKEN", "--write"][..],
            &["token", "check-config"][..],
        ] {
            let out = run(&v, args);
            expect_exit(&out, 2);
            let e = stderr(&out);
            assert!(e.contains("env-journal.json"), "{name} {args:?}: {e}");
            assert_eq!(e.trim().lines().count(), 1, "{name} {args:?}: {e}");
            assert_eq!(
                std::fs::read(v.join(".git/config")).unwrap(),
                config,
                "{name} {args:?} rewrote .git/config"
            );
            assert!(v.join("evilconfig").exists());
        }
        let e = stderr(&run(&v, &["env", "recover"]));
        assert!(e.contains("tracked by git"), "{e}");
        git(&v, &["status", "--porcelain"]);
        assert!(!marker.exists(), "the payload ran");
    }
}

/// A: a journal Vigil did not write (an entry for a file outside the project, a temp name of
/// another pattern, a backup folder elsewhere) is refused whole; read-only commands never
/// recover, and say which writing command does.
#[test]
fn journal_entries_outside_the_project_are_refused_and_checks_never_recover() {
    let top = TempDir::new().unwrap();
    let t = top.path();
    let d = t.join("bot");
    std::fs::create_dir_all(&d).unwrap();
    write(&d, ".env", format!("AUTH_TOKEN={}\n", value(202, 40)));
    let important = write(t, "important.txt", "keep me\n");
    let keep = write(t, "keep/file", "keep\n");
    let env_hash = sha256_hex(read(&d, ".env").as_bytes());
    let cases = [
        // A temp file outside the project would be deleted by a rollback.
        serde_json::json!({"version": 1, "state": "prepared", "backup": null, "entries": [
            {"path": d.join(".env"), "tmp": important, "old": env_hash, "new": "0"}]}),
        // A backup folder outside .vigil/backup would be removed whole.
        serde_json::json!({"version": 1, "state": "prepared", "backup": t.join("keep"), "entries": []}),
        // A file that is not an env file of this project would be overwritten.
        serde_json::json!({"version": 1, "state": "committed", "backup": null, "entries": [
            {"path": important, "tmp": format!("{}.vigil-tmp", important.display()),
             "old": sha256_hex(b"keep me\n"), "new": sha256_hex(b"x")}]}),
    ];
    for (i, j) in cases.iter().enumerate() {
        write(&d, ".vigil/env-journal.json", j.to_string());
        std::fs::write(format!("{}.vigil-tmp", important.display()), "x").unwrap();
        for args in [&["env", "status"][..], &["env", "check"][..]] {
            let out = run(&d, args);
            expect_exit(&out, 2);
            let e = stderr(&out);
            assert!(e.contains("vigil env recover"), "case {i} {args:?}: {e}");
        }
        let out = run(&d, &["env", "recover"]);
        expect_exit(&out, 2);
        assert!(
            stderr(&out).contains("env-journal.json"),
            "case {i}: {}",
            stderr(&out)
        );
        assert_eq!(
            std::fs::read_to_string(&important).unwrap(),
            "keep me\n",
            "case {i}"
        );
        assert_eq!(
            std::fs::read_to_string(&keep).unwrap(),
            "keep\n",
            "case {i}"
        );
        assert!(
            d.join(".vigil/env-journal.json").exists(),
            "case {i}: journal kept"
        );
    }
    // A journal Vigil wrote is recovered by `vigil env recover` (and by a --write).
    std::fs::remove_file(d.join(".vigil/env-journal.json")).unwrap();
    let mut c = vigil(&d);
    c.args(["env", "rotate", "--tokens", "AUTH_TOKEN", "--write"])
        .env("VIGIL_TEST_FAULT_AFTER", "2");
    assert_ne!(c.output().unwrap().status.code(), Some(0));
    expect_exit(&run(&d, &["env", "check"]), 2);
    let out = run(&d, &["env", "recover"]);
    expect_exit(&out, 0);
    assert!(
        stderr(&out).contains("undid a rotation"),
        "{}",
        stderr(&out)
    );
    expect_exit(&run(&d, &["env", "check"]), 0);
}

/// A: `.vigil/` open to others, or a link, is never trusted with a lock, a journal or backups.
#[test]
fn a_vigil_folder_open_to_others_or_a_link_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let top = TempDir::new().unwrap();
    let t = top.path();
    let d = t.join("bot");
    std::fs::create_dir_all(d.join(".vigil")).unwrap();
    write(&d, ".env", format!("AUTH_TOKEN={}\n", value(203, 40)));
    let before = read(&d, ".env");
    std::fs::set_permissions(d.join(".vigil"), std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = run(&d, &["env", "rotate", "--tokens", "AUTH_TOKEN", "--write"]);
    expect_exit(&out, 2);
    assert!(stderr(&out).contains(".vigil"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("writable by others"),
        "{}",
        stderr(&out)
    );
    assert_eq!(read(&d, ".env"), before);
    std::fs::remove_dir(d.join(".vigil")).unwrap();
    let shared = t.join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    std::os::unix::fs::symlink(&shared, d.join(".vigil")).unwrap();
    let out = run(&d, &["env", "rotate", "--tokens", "AUTH_TOKEN", "--write"]);
    expect_exit(&out, 2);
    assert!(stderr(&out).contains("link"), "{}", stderr(&out));
    assert_eq!(read(&d, ".env"), before);
    assert_eq!(std::fs::read_dir(&shared).unwrap().count(), 0);
    // Once fixed, a rotation writes .vigil/.gitignore: lock, journal and backups are never
    // committed (the ledger is).
    std::fs::remove_file(d.join(".vigil")).unwrap();
    git_init(&d);
    expect_exit(
        &run(
            &d,
            &[
                "env",
                "rotate",
                "--tokens",
                "AUTH_TOKEN",
                "--write",
                "--backup",
            ],
        ),
        0,
    );
    assert_eq!(mode(&d.join(".vigil")), 0o700);
    let status = git(
        &d,
        &["status", "--porcelain", "--untracked-files=all", ".vigil"],
    );
    assert!(status.contains(".vigil/rotation.toml"), "{status}");
    assert!(
        !status.contains("backup") && !status.contains("env.lock"),
        "{status}"
    );
}

/// G: files skipped by name are still checked for being tracked (a key file above all), and a
/// file named as encrypted that holds plaintext secrets is flagged.
#[test]
fn key_files_and_misnamed_plaintext_files_are_still_checked() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    git_init(d);
    write(d, ".gitignore", ".env.prod\n");
    write(d, ".env.prod", format!("AUTH_TOKEN={}\n", value(210, 40)));
    write(
        d,
        ".env.keys",
        format!(
            "#/ private decryption keys /\nDOTENV_PRIVATE_KEY_PRODUCTION={}\n",
            value(211, 64)
        ),
    );
    write(
        d,
        ".env.prod.enc",
        format!("DB_PASSWORD={}\n", value(212, 40)),
    );
    write(
        d,
        "secrets.enc.env",
        format!("API_SECRET={}\n", value(213, 40)),
    );
    git(
        d,
        &[
            "add",
            ".env.keys",
            ".env.prod.enc",
            "secrets.enc.env",
            ".gitignore",
        ],
    );
    let out = run(d, &["env", "check", "--format", "json"]);
    expect_exit(&out, 1);
    let got = problems(&out);
    for want in [
        (".env.keys", 0, "tracked"),
        (".env.prod.enc", 0, "tracked"),
        (".env.prod.enc", 1, "not_encrypted"),
        ("secrets.enc.env", 0, "tracked"),
        ("secrets.enc.env", 1, "not_encrypted"),
    ] {
        assert!(
            got.contains(&(want.0.to_owned(), want.1, want.2.to_owned())),
            "{want:?} missing from {got:?}"
        );
    }
    assert!(
        !got.iter()
            .any(|(f, _, c)| f == ".env.keys" && c == "not_encrypted"),
        "a key file is plaintext by nature: {got:?}"
    );
}

/// J: references to secrets kept elsewhere, names that are not secrets and provider-issued
/// credentials are never replaced with a random value.
#[test]
fn references_non_secrets_and_provider_keys_are_never_rotated() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let discord = common::token("«{b64digits:18}.{b64url:6}.{b64url:38}»", 220);
    let text = format!(
        "ORCH_AUTH_TOKEN=${{FROM_VAULT}}\nBOT_AUTH_TOKEN=op://prod/bot/token\nVOICE_AUTH_TOKEN=vault:secret/data/voice#token\nLOG_LEVEL=info\nMCP_DEV_BYPASS=0\nDISCORD_BOT_TOKEN={discord}\nOPENAI_API_KEY=sk-{}\nAPP_SECRET={}\n",
        value(221, 48),
        value(222, 40)
    );
    write(d, ".env", &text);
    for (name, want) in [
        ("ORCH_AUTH_TOKEN", "reference"),
        ("BOT_AUTH_TOKEN", "reference"),
        ("VOICE_AUTH_TOKEN", "reference"),
        ("LOG_LEVEL", "not a secret"),
        ("MCP_DEV_BYPASS", "not a secret"),
        ("DISCORD_BOT_TOKEN", "at the provider"),
        ("OPENAI_API_KEY", "at the provider"),
    ] {
        for write_flag in [false, true] {
            let mut args = vec!["env", "rotate", "--tokens", name];
            if write_flag {
                args.push("--write");
            }
            let out = run(d, &args);
            expect_exit(&out, 2);
            let e = stderr(&out);
            assert!(e.contains(name) && e.contains(want), "{name}: {e}");
            assert!(
                e.starts_with("vigil: .env:"),
                "{name}: names file and line: {e}"
            );
            assert_eq!(read(d, ".env"), text, "{name}");
        }
    }
    // A provider key is rotated only when asked for by name with the flag; a secret of the
    // project's own is rotated as before.
    let out = run(
        d,
        &[
            "env",
            "rotate",
            "--tokens",
            "OPENAI_API_KEY",
            "--allow-provider-keys",
        ],
    );
    expect_exit(&out, 0);
    expect_exit(
        &run(d, &["env", "rotate", "--tokens", "APP_SECRET", "--write"]),
        0,
    );
    assert_ne!(get(d, ".env", "APP_SECRET"), value(222, 40));
    assert_eq!(get(d, ".env", "ORCH_AUTH_TOKEN"), "${FROM_VAULT}");
}

/// K: two configurations whose roots differ but whose files overlap exclude each other.
#[test]
fn overlapping_configurations_share_one_lock() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    git_init(d);
    let old = value(230, 40);
    for f in ["app/.env", "app/.env.bot", "app/services/voice/.env"] {
        write(d, f, format!("AUTH_TOKEN={old}\n"));
    }
    write(d, "app/vigil.toml", "[env]\ntokens = [\"AUTH_TOKEN\"]\n");
    write(
        d,
        "outer.toml",
        "[env]\ntokens = [\"AUTH_TOKEN\"]\nfiles = [\"app/**/.env*\"]\n",
    );
    let app = d.join("app");
    let second = std::thread::spawn({
        let app = app.clone();
        move || {
            std::thread::sleep(Duration::from_millis(400));
            run(
                &app,
                &["--config", "../outer.toml", "env", "rotate", "--write"],
            )
        }
    });
    let slow = StdCommand::new(assert_cmd::cargo::cargo_bin("vigil"))
        .current_dir(&app)
        .args(["env", "rotate", "--write"])
        .env("VIGIL_TEST_STEP_DELAY_MS", "150")
        .output()
        .unwrap();
    let second = second.join().unwrap();
    expect_exit(&slow, 0);
    expect_exit(&second, 2);
    assert!(
        stderr(&second).contains("another `vigil env` command is changing these files"),
        "{}",
        stderr(&second)
    );
    let tokens: Vec<String> = ["app/.env", "app/.env.bot", "app/services/voice/.env"]
        .iter()
        .map(|f| get(d, f, "AUTH_TOKEN"))
        .collect();
    assert!(
        tokens.iter().all(|t| *t == tokens[0] && *t != old),
        "{tokens:?}"
    );
}

/// L: a command run in a subfolder uses the project's vigil.toml (looked up to the git top
/// level) and rotates the whole project.
#[test]
fn a_subfolder_uses_the_projects_vigil_toml_and_root() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    git_init(d);
    let old = value(240, 40);
    write(d, "vigil.toml", "[env]\ntokens = [\"AUTH_TOKEN\"]\n");
    write(d, "services/voice/.env", format!("AUTH_TOKEN={old}\n"));
    write(d, "services/bot/.env", format!("AUTH_TOKEN={old}\n"));
    let voice = d.join("services/voice");
    let out = run(&voice, &["env", "rotate", "--write"]);
    expect_exit(&out, 0);
    let (a, b) = (
        get(d, "services/voice/.env", "AUTH_TOKEN"),
        get(d, "services/bot/.env", "AUTH_TOKEN"),
    );
    assert_ne!(a, old);
    assert_eq!(a, b, "every service of the project rotated together");
    assert!(d.join(".vigil/rotation.toml").exists());
    assert!(!voice.join(".vigil").exists());
    // Without any vigil.toml the git top level is the root.
    std::fs::remove_file(d.join("vigil.toml")).unwrap();
    let out = run(&voice, &["env", "check", "--format", "json"]);
    let paths: Vec<String> = seen(&out).into_iter().map(|(p, _)| p).collect();
    assert_eq!(paths, ["services/bot/.env", "services/voice/.env"]);
}

/// M: configured paths that match nothing, absolute paths, and a project without env files are
/// refused (exit 2, naming the key), never silently an empty check.
#[test]
fn configured_paths_that_match_nothing_and_empty_projects_are_refused() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    write(d, ".env.prod", format!("AUTH_TOKEN={}\n", value(250, 40)));
    for (files, want) in [
        ("[\"secrets/prod.env\"]", "secrets/prod.env"),
        ("[\".ENV.PROD\"]", ".ENV.PROD"),
        (
            &format!("[\"{}\"]", d.join(".env.prod").display()),
            "absolute",
        ),
    ] {
        write(d, "vigil.toml", format!("[env]\nfiles = {files}\n"));
        for args in [&["env", "check"][..], &["env", "status"][..]] {
            let out = run(d, args);
            expect_exit(&out, 2);
            let e = stderr(&out);
            assert!(e.starts_with("vigil: vigil.toml:2: env.files: "), "{e}");
            assert!(e.contains(want), "{e}");
        }
    }
    std::fs::remove_file(d.join("vigil.toml")).unwrap();
    std::fs::remove_file(d.join(".env.prod")).unwrap();
    for args in [&["env", "check"][..], &["env", "status"][..]] {
        let out = run(d, args);
        expect_exit(&out, 2);
        assert!(stderr(&out).contains("no env files"), "{}", stderr(&out));
    }
}

/// N: a rotation of some environments only (its files limited by a configuration, or by
/// `--environment`) is not "changed outside vigil" in the others.
#[test]
fn status_after_a_partial_rotation_is_not_changed() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    write(d, ".env", format!("MCP_JWT_SECRET={}\n", value(260, 64)));
    write(
        d,
        ".env.prod",
        format!("MCP_JWT_SECRET={}\n", value(261, 64)),
    );
    write(
        d,
        ".env.staging",
        format!("MCP_JWT_SECRET={}\n", value(262, 64)),
    );
    // Limited by a configuration used for that one run, then removed.
    write(
        d,
        "vigil.toml",
        "[env]\nfiles = [\".env.prod\", \".env.staging\"]\n",
    );
    let out = run(
        d,
        &["env", "rotate", "--tokens", "MCP_JWT_SECRET", "--write"],
    );
    expect_exit(&out, 0);
    std::fs::remove_file(d.join("vigil.toml")).unwrap();
    assert_eq!(
        get(d, ".env", "MCP_JWT_SECRET"),
        value(260, 64),
        "default untouched"
    );
    let out = run(d, &["env", "status", "--format", "json"]);
    expect_exit(&out, 0);
    assert_eq!(json(&out)[0]["changed"], false, "{}", stdout(&out));
    // Limited with --environment.
    let out = run(
        d,
        &[
            "env",
            "rotate",
            "--tokens",
            "MCP_JWT_SECRET",
            "--environment",
            "production",
            "--environment",
            "staging",
            "--write",
        ],
    );
    expect_exit(&out, 0);
    assert_eq!(get(d, ".env", "MCP_JWT_SECRET"), value(260, 64));
    let out = run(d, &["env", "status", "--format", "json"]);
    expect_exit(&out, 0);
    assert_eq!(json(&out)[0]["changed"], false, "{}", stdout(&out));
}

/// N: a rotation time that is garbage or in the future is an error naming the ledger line,
/// never `ok`.
#[test]
fn status_refuses_bad_or_future_ledger_dates() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    write(
        d,
        ".env.prod",
        format!("MCP_JWT_SECRET={}\n", value(263, 64)),
    );
    let out = run(
        d,
        &["env", "rotate", "--tokens", "MCP_JWT_SECRET", "--write"],
    );
    expect_exit(&out, 0);
    let ledger = read(d, ".vigil/rotation.toml");
    let line = ledger
        .lines()
        .position(|l| l.starts_with("rotated_at"))
        .unwrap()
        + 1;
    for bad in ["\"yesterday-ish\"", "\"2999-01-01T00:00:00Z\""] {
        let text: String = ledger
            .lines()
            .map(|l| {
                if l.starts_with("rotated_at") {
                    format!("rotated_at = {bad}\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        write(d, ".vigil/rotation.toml", text);
        let out = run(d, &["env", "status"]);
        expect_exit(&out, 2);
        let e = stderr(&out);
        assert!(
            e.starts_with("vigil: ") && e.contains(&format!(".vigil/rotation.toml:{line}: ")),
            "{e}"
        );
        assert!(e.contains("rotated_at"), "{e}");
    }
}

/// O: the dry run refuses a hard-linked file as --write does; production is production for
/// `env check` and `check-config` alike; --environment limits a rotation.
#[test]
fn dry_runs_refuse_hard_links_production_agrees_and_environment_filters() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    write(
        d,
        ".env.prod",
        format!("AUTH_TOKEN={}\nMCP_DEV_BYPASS=1\n", value(270, 40)),
    );
    std::fs::hard_link(d.join(".env.prod"), d.join("copy-of-prod")).unwrap();
    for write_flag in [false, true] {
        let mut args = vec!["env", "rotate", "--tokens", "AUTH_TOKEN"];
        if write_flag {
            args.push("--write");
        }
        let out = run(d, &args);
        expect_exit(&out, 2);
        assert!(stderr(&out).contains("hard links"), "{}", stderr(&out));
    }
    std::fs::remove_file(d.join("copy-of-prod")).unwrap();
    write(d, "vigil.toml", "[env]\nproduction = []\n");
    let out = run(d, &["env", "check", "--format", "json"]);
    expect_exit(&out, 1);
    assert!(problems(&out)
        .iter()
        .any(|(f, _, c)| f == ".env.prod" && c == "dev_bypass"));
    let out = run(d, &["token", "check-config", "--format", "json"]);
    assert!(stdout(&out).contains("dev_bypass"), "{}", stdout(&out));
    // --environment: only the files of the environments named.
    write(
        d,
        ".env.staging",
        format!("AUTH_TOKEN={}\n", value(271, 40)),
    );
    let out = run(
        d,
        &[
            "env",
            "rotate",
            "--tokens",
            "AUTH_TOKEN",
            "--environment",
            "staging",
            "--write",
        ],
    );
    expect_exit(&out, 0);
    assert_eq!(get(d, ".env.prod", "AUTH_TOKEN"), value(270, 40));
    assert_ne!(get(d, ".env.staging", "AUTH_TOKEN"), value(271, 40));
    let out = run(
        d,
        &[
            "env",
            "rotate",
            "--tokens",
            "AUTH_TOKEN",
            "--environment",
            "prodution",
        ],
    );
    expect_exit(&out, 2);
    assert!(
        stderr(&out).contains("production, staging"),
        "{}",
        stderr(&out)
    );
}

/// P: names with control characters are escaped in every human output; a charset error names
/// the character given; a config error about a credential-named key is not mangled by the
/// redactor; `-q` silences the chatter on stderr, never the data on stdout; stale journal temp
/// files are cleaned up; `.env.service` is the service "service"; env files over 8 MiB are
/// refused; `.env.prod-eu` is refused with the line to add.
#[test]
fn cosmetics_names_charsets_quiet_sizes_and_services() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let tok = value(280, 40);
    write(
        d,
        "services/a\nb\x1b[31m/.env",
        format!("AUTH_TOKEN={tok}\n"),
    );
    write(
        d,
        ".env.service",
        format!("AUTH_TOKEN={}\n", value(281, 40)),
    );
    let out = run(d, &["env", "check"]);
    let o = stdout(&out);
    assert!(!o.contains('\x1b'), "{o:?}");
    assert!(o.contains("services/a\\nb\\u{1b}[31m/.env"), "{o:?}");
    for l in o.lines() {
        assert!(
            l.starts_with(".env.service") || l.starts_with("services/a\\nb"),
            "{o:?}"
        );
    }
    let out = run(d, &["env", "rotate", "--tokens", "AUTH_TOKEN"]);
    assert!(
        !stdout(&out).contains('\x1b') && !stdout(&out).contains("a\nb"),
        "{}",
        stdout(&out)
    );
    let out = run(d, &["env", "check", "--format", "json"]);
    let files = json(&out)["files"].clone();
    let service = files
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == ".env.service")
        .unwrap()["service"]
        .clone();
    assert_eq!(service, "service");
    std::fs::remove_dir_all(d.join("services")).unwrap();

    let out = run(
        d,
        &[
            "env",
            "rotate",
            "--tokens",
            "AUTH_TOKEN",
            "--charset",
            "custom:aé",
        ],
    );
    expect_exit(&out, 2);
    assert!(stderr(&out).contains("`é`"), "{}", stderr(&out));

    write(d, "vigil.toml", "[env]\ntokens = \"AUTH_TOKEN\"\n");
    let out = run(d, &["env", "check"]);
    expect_exit(&out, 2);
    let e = stderr(&out);
    assert!(
        !e.contains("REDACTED") && e.contains("wrong type") && e.contains("env.tokens"),
        "{e}"
    );
    std::fs::remove_file(d.join("vigil.toml")).unwrap();

    let out = run(d, &["-q", "env", "rotate", "--tokens", "AUTH_TOKEN"]);
    expect_exit(&out, 0);
    assert_eq!(stderr(&out), "");
    assert!(stdout(&out).contains("AUTH_TOKEN"));

    std::fs::create_dir_all(d.join(".vigil")).unwrap();
    std::fs::set_permissions(
        d.join(".vigil"),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    write(d, ".vigil/.env-journal.json.vigil-tmp-4242-0", "{}");
    expect_exit(
        &run(d, &["env", "rotate", "--tokens", "AUTH_TOKEN", "--write"]),
        0,
    );
    assert!(!d.join(".vigil/.env-journal.json.vigil-tmp-4242-0").exists());

    write(
        d,
        ".env.prod-eu",
        format!("AUTH_TOKEN={}\n", value(282, 40)),
    );
    let out = run(d, &["env", "check"]);
    expect_exit(&out, 2);
    assert!(
        stderr(&out).contains("prod-eu = [\".env.prod-eu\"]"),
        "{}",
        stderr(&out)
    );
    std::fs::remove_file(d.join(".env.prod-eu")).unwrap();

    let mut big = format!("AUTH_TOKEN={}\n", value(283, 40));
    while big.len() <= 8 << 20 {
        big.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    write(d, ".env.bot", big);
    let out = run(d, &["env", "check"]);
    expect_exit(&out, 2);
    assert!(
        stderr(&out).starts_with("vigil: .env.bot: "),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("too large for an env file"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn env_check_and_token_check_config_agree_on_a_default_secret() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    write(
        d,
        ".env.production",
        "MCP_JWT_SECRET=changeme\nMCP_DEV_BYPASS=true\n",
    );
    write(d, ".env.staging", "MCP_JWT_SECRET=changeme\n");
    let codes = |args: &[&str], place: &str| {
        let out = run(d, args);
        expect_exit(&out, 1);
        let mut got: Vec<(String, String)> = json(&out)["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p[place].as_str().unwrap_or("").to_owned(),
                    p["code"].as_str().unwrap().to_owned(),
                )
            })
            .filter(|(_, c)| c != "not_ignored")
            .collect();
        got.sort();
        got
    };
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    assert_eq!(
        codes(&["env", "check", "--format", "json"], "file"),
        pairs(&[
            (".env.production", "dev_bypass"),
            (".env.production", "secret_default"),
            (".env.production", "shared_across_environments"),
            (".env.staging", "secret_default"),
            (".env.staging", "shared_across_environments"),
        ])
    );
    assert_eq!(
        codes(
            &["token", "check-config", "--format", "json"],
            "environment"
        ),
        pairs(&[
            ("production", "dev_bypass"),
            ("production", "secret_default"),
            ("production", "secret_shared"),
            ("staging", "secret_default"),
        ])
    );
}

fn chmod(p: &Path, m: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
}

/// bb-all-s7 #2, #4, #6, #7 and the dual half of #1: an env file that cannot be read fails the
/// run (never skipped into a clean check); a link out of the project is refused; a `0644` file
/// with secrets is `loose_mode`; `changeme` is not kept as the previous value; a secret Vigil
/// never rotated in production is `untracked`, not `ok`.
#[test]
fn what_a_new_user_met_fails_closed() {
    let dir = TempDir::new().unwrap();
    let d = dir.path().join("p");
    std::fs::create_dir_all(&d).unwrap();
    let d = d.as_path();
    git_init(d);
    write(d, ".gitignore", ".env*\n");
    let env = write(d, ".env", format!("ORCH_AUTH_TOKEN={}\n", value(1, 40)));
    chmod(&env, 0o600);
    // One Latin-1 byte in a comment, and a UTF-16 file: exit 2 naming the file and line.
    let mut latin = b"# caf\xe9\n".to_vec();
    latin.extend_from_slice(b"MCP_JWT_SECRET=changeme\nMCP_DEV_BYPASS=true\n");
    let prod = write(d, ".env.prod", &latin);
    chmod(&prod, 0o600);
    for args in [&["env", "check"][..], &["token", "check-config"][..]] {
        let out = run(d, args);
        expect_exit(&out, 2);
        assert!(
            stderr(&out).contains(".env.prod:1"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    let utf16: Vec<u8> = "\u{feff}MCP_JWT_SECRET=changeme\r\n"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    write(d, ".env.prod", utf16);
    expect_exit(&run(d, &["env", "check"]), 2);
    std::fs::remove_file(&prod).unwrap();

    // loose_mode: a 0644 file holding a secret, named; gone after chmod 600.
    chmod(&env, 0o644);
    let loose = |out: &std::process::Output| -> Vec<String> {
        json(out)["problems"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["code"] == "loose_mode")
            .map(|p| p["file"].as_str().unwrap().to_owned())
            .collect()
    };
    let out = run(d, &["env", "check", "--format", "json"]);
    expect_exit(&out, 1);
    assert_eq!(loose(&out), [".env"]);
    chmod(&env, 0o600);
    let out = run(d, &["env", "check", "--format", "json"]);
    assert!(loose(&out).is_empty());

    // bb-all-s8 #8: a key bound twice with two values: the first (what dotenvy runs with) is
    // named, since the other checks judge the last.
    write(
        d,
        ".env",
        format!(
            "ORCH_AUTH_TOKEN=changeme\nORCH_AUTH_TOKEN={}\n",
            value(9, 40)
        ),
    );
    let out = run(d, &["env", "check", "--format", "json"]);
    expect_exit(&out, 1);
    assert!(
        problems(&out).contains(&(".env".into(), 1, "duplicate_key".into())),
        "{:?}",
        problems(&out)
    );
    write(d, ".env", format!("ORCH_AUTH_TOKEN={}\n", value(1, 40)));

    // A committed link to a file outside the project: refused, the target untouched.
    let outside = write(
        dir.path(),
        "out/victim.env",
        format!("ORCH_AUTH_TOKEN={}\n", value(2, 40)),
    );
    let before = std::fs::read(&outside).unwrap();
    std::os::unix::fs::symlink("../out/victim.env", d.join(".env.bot")).unwrap();
    let out = run(
        d,
        &["env", "rotate", "--tokens", "ORCH_AUTH_TOKEN", "--write"],
    );
    expect_exit(&out, 2);
    assert!(stderr(&out).contains(".env.bot") && stderr(&out).contains("outside the project"));
    assert_eq!(std::fs::read(&outside).unwrap(), before);
    std::fs::remove_file(d.join(".env.bot")).unwrap();
    // bb-all-s8 #4: a `..` pattern in [env.environments] leads out of the project the same way.
    write(
        d,
        "vigil.toml",
        "[env.environments]\nproduction = [\"../out/*.env\"]\n",
    );
    let out = run(
        d,
        &["env", "rotate", "--tokens", "ORCH_AUTH_TOKEN", "--write"],
    );
    expect_exit(&out, 2);
    assert!(
        stderr(&out).contains("env.environments.production")
            && stderr(&out).contains("leads out of the project root"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(&outside).unwrap(), before);
    std::fs::remove_file(d.join("vigil.toml")).unwrap();

    // `rotate --dual` of `changeme`: the previous slot stays empty (its tokens stop at once).
    write(
        d,
        ".env",
        format!(
            "ORCH_AUTH_TOKEN={}\nMCP_JWT_SECRET=changeme\n",
            value(3, 40)
        ),
    );
    chmod(&env, 0o600);
    let out = run(d, &["env", "rotate", "--dual", "MCP_JWT_SECRET", "--write"]);
    expect_exit(&out, 0);
    assert_eq!(get(d, ".env", "MCP_JWT_SECRET_PREVIOUS"), "");
    assert_ne!(get(d, ".env", "MCP_JWT_SECRET"), "changeme");

    // A first rotation of staging only: production's value has an unknown age.
    std::fs::remove_file(&env).unwrap();
    for (f, seed) in [(".env.production", 4), (".env.staging", 5)] {
        let p = write(d, f, format!("ORCH_AUTH_TOKEN={}\n", value(seed, 40)));
        chmod(&p, 0o600);
    }
    let out = run(
        d,
        &[
            "env",
            "rotate",
            "--tokens",
            "ORCH_AUTH_TOKEN",
            "--environment",
            "staging",
            "--write",
        ],
    );
    expect_exit(&out, 0);
    let out = run(d, &["env", "status", "--format", "json"]);
    let rows = json(&out);
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "ORCH_AUTH_TOKEN")
        .unwrap();
    assert_eq!(row["state"], "untracked", "{row}");
    assert_eq!(
        row["never_rotated_in"],
        serde_json::json!(["production"]),
        "{row}"
    );
}

/// bb-all-s8 #1, #3, #4, #5, #8, #9: what a project's `vigil.toml` or env files could slip past
/// `env check`, `token check-config` and `env rotate`, each through the binary.
#[test]
fn what_a_vigil_toml_or_a_repeated_key_could_slip_past_the_checks() {
    let dir = TempDir::new().unwrap();
    let d = dir.path().join("p");
    std::fs::create_dir_all(&d).unwrap();
    let d = d.as_path();
    git_init(d);
    write(d, ".gitignore", ".env*\n");
    write(d, ".env", format!("ORCH_AUTH_TOKEN={}\n", value(1, 40)));
    let sibling = write(
        dir.path(),
        "w2/.env",
        format!("ORCH_AUTH_TOKEN={}\n", value(2, 40)),
    );
    let before = std::fs::read(&sibling).unwrap();

    // #1: a `..` pattern is refused by every command, naming the key, before anything is read
    // (no sibling project is walked or rewritten).
    for pattern in ["../w2/*", "../**/.env", "sub/../../w2/.env"] {
        write(
            d,
            "vigil.toml",
            format!("[env.environments]\nproduction = [\"{pattern}\"]\n"),
        );
        for args in [
            &["env", "rotate", "--tokens", "ORCH_AUTH_TOKEN", "--write"][..],
            &["env", "rotate", "--tokens", "ORCH_AUTH_TOKEN"][..],
            &["env", "check"][..],
            &["env", "status"][..],
            &["token", "check-config"][..],
        ] {
            let out = run(d, args);
            expect_exit(&out, 2);
            assert!(
                stderr(&out).contains("vigil.toml:2: env.environments.production")
                    && stderr(&out).contains("leads out of the project root"),
                "{args:?}: {}",
                stderr(&out)
            );
        }
    }
    // A linked folder on the path: refused too, by a dry run and by --write, target named.
    std::os::unix::fs::symlink("../w2", d.join("svc")).unwrap();
    write(
        d,
        "vigil.toml",
        "[env.environments]\nproduction = [\"svc/*\"]\n",
    );
    for args in [
        &["env", "rotate", "--tokens", "ORCH_AUTH_TOKEN", "--write"][..],
        &["env", "rotate", "--tokens", "ORCH_AUTH_TOKEN"][..],
        &["env", "check"][..],
        &["token", "check-config"][..],
    ] {
        let out = run(d, args);
        expect_exit(&out, 2);
        assert!(
            stderr(&out).contains("svc/.env") && stderr(&out).contains("outside the project"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    assert_eq!(std::fs::read(&sibling).unwrap(), before);
    std::fs::remove_file(d.join("svc")).unwrap();
    std::fs::remove_file(d.join("vigil.toml")).unwrap();

    // #5: a vigil.toml cannot place a production file in another environment.
    let strong = value(3, 64);
    write(
        d,
        ".env.production",
        format!("MCP_JWT_SECRET={strong}\nMCP_DEV_BYPASS=true\n"),
    );
    for glob in [".env.production", "*.production", ".env.prod*"] {
        write(
            d,
            "vigil.toml",
            format!("[env.environments]\nstaging = [\"{glob}\"]\n"),
        );
        for args in [&["env", "check"][..], &["token", "check-config"][..]] {
            let out = run(d, args);
            expect_exit(&out, 2);
            assert!(
                stderr(&out).contains(".env.production: its name places it in production, but [env.environments] staging lists it"),
                "{glob} {args:?}: {}",
                stderr(&out)
            );
        }
    }
    // Listing it under a production name is fine.
    write(
        d,
        "vigil.toml",
        "[env]\nproduction = [\"live\"]\n[env.environments]\nlive = [\".env.production\"]\n",
    );
    let out = run(d, &["env", "check", "--format", "json"]);
    expect_exit(&out, 1);
    assert!(problems(&out).contains(&(".env.production".into(), 2, "dev_bypass".into())));
    // `[env] files` that leaves an env file out says so.
    write(d, "vigil.toml", "[env]\nfiles = [\".env\"]\n");
    let out = run(d, &["env", "check"]);
    expect_exit(&out, 0);
    assert!(
        stderr(&out).contains(
            "env.files leaves out 1 env file(s) the default patterns find: .env.production"
        ),
        "{}",
        stderr(&out)
    );
    std::fs::remove_file(d.join("vigil.toml")).unwrap();

    // #4: a bypass flag on in the first binding of a repeated key is dev_bypass, in both gates;
    // a default in the first binding of the signing secret fails check-config.
    write(
        d,
        ".env.production",
        format!("MCP_JWT_SECRET={strong}\nMCP_DEV_BYPASS=true\nMCP_DEV_BYPASS=false\n"),
    );
    let out = run(d, &["env", "check", "--format", "json"]);
    expect_exit(&out, 1);
    assert!(problems(&out).contains(&(".env.production".into(), 2, "dev_bypass".into())));
    let out = run(d, &["token", "check-config", "--format", "json"]);
    expect_exit(&out, 1);
    assert!(stdout(&out).contains("dev_bypass"), "{}", stdout(&out));
    write(
        d,
        ".env.production",
        format!("MCP_JWT_SECRET=changeme\nMCP_JWT_SECRET={strong}\n"),
    );
    let out = run(d, &["token", "check-config", "--format", "json"]);
    expect_exit(&out, 1);
    assert!(stdout(&out).contains("secret_default"), "{}", stdout(&out));

    // #9: other spellings of a bypass flag, and values that are not a clear "off".
    for (line, flag) in [
        ("BYPASS_AUTH=true", "BYPASS_AUTH"),
        ("MCP_DEV_BYPASS=enabled", "MCP_DEV_BYPASS"),
    ] {
        write(
            d,
            ".env.production",
            format!("MCP_JWT_SECRET={strong}\n{line}\n"),
        );
        let out = run(d, &["env", "check"]);
        expect_exit(&out, 1);
        assert!(
            stdout(&out).contains(&format!("{flag} is on in a production file")),
            "{}",
            stdout(&out)
        );
    }
    write(
        d,
        ".env.production",
        format!("MCP_JWT_SECRET={strong}\nMCP_DEV_BYPASS=off\n"),
    );
    expect_exit(&run(d, &["env", "check"]), 0);

    // #3: a repeat cut short, or a walk, is weak (the exact multiples always were).
    let cut = |unit: &str, n: usize| unit.repeat(n / unit.len() + 1)[..n].to_owned();
    for weak in [
        cut("changeme", 67),
        cut("Password123!", 70),
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".to_owned(),
    ] {
        write(
            d,
            ".env.production",
            format!("MCP_JWT_SECRET={strong}\nDB_PASSWORD={weak}\n"),
        );
        let out = run(d, &["env", "check", "--format", "json"]);
        expect_exit(&out, 1);
        let got = problems(&out);
        assert!(
            got.contains(&(".env.production".into(), 2, "weak".into()))
                || got.contains(&(".env.production".into(), 2, "secret_default".into())),
            "{weak}: {got:?}"
        );
    }

    // #8: a default password inside a URL, and defaults under [token]'s own names.
    write(
        d,
        ".env.production",
        format!("MCP_JWT_SECRET={strong}\nDATABASE_URL=postgres://app:changeme@db/app\nREDIS_URL=redis://:password@redis:6379/0\nCACHE_URL=redis://:${{REDIS_PASSWORD}}@cache:6379\nQUEUE_URL=amqp://app:{}@mq/\n", value(4, 40)),
    );
    let out = run(d, &["env", "check", "--format", "json"]);
    expect_exit(&out, 1);
    let got = problems(&out);
    assert_eq!(
        got,
        [
            (".env.production".into(), 2, "secret_default".into()),
            (".env.production".into(), 3, "secret_default".into()),
        ],
        "{got:?}"
    );
    write(
        d,
        "vigil.toml",
        "[token]\nsecret_env = \"BOT_JWT\"\nprevious_secret_env = \"BOT_JWT_OLD\"\n",
    );
    write(
        d,
        ".env.production",
        format!("BOT_JWT={strong}\nBOT_JWT_OLD=changeme\n"),
    );
    let out = run(d, &["env", "check", "--format", "json"]);
    expect_exit(&out, 1);
    assert!(problems(&out).contains(&(".env.production".into(), 2, "secret_default".into())));
    std::fs::remove_file(d.join("vigil.toml")).unwrap();

    // #9: a FIFO at an env file's place is not read (it would block) and never passed over in
    // silence.
    std::fs::remove_file(d.join(".env.production")).unwrap();
    let fifo = d.join(".env.prod");
    let made = StdCommand::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    for args in [&["env", "check"][..], &["token", "check-config"][..]] {
        let out = run(d, args);
        assert!(
            stderr(&out).contains(".env.prod: not a regular file (a FIFO, socket or device)"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

/// bb-16-s8 F4: an env file under a folder whose name is not UTF-8 made `rotate --write` panic
/// while writing its journal (exit 101, a backtrace). It is refused before anything is written:
/// one line naming the file, exit 2, the file unchanged.
#[test]
fn a_non_utf8_folder_is_refused_before_a_rotation_begins() {
    use std::os::unix::ffi::OsStrExt;
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    common::git(d, &["init", "-q", "-b", "main"]);
    let sub = d.join(std::ffi::OsStr::from_bytes(b"svc\xff"));
    std::fs::create_dir(&sub).unwrap();
    let body = format!("ORCH_AUTH_TOKEN={}\n", common::token("{hex:48}", 81));
    #[allow(clippy::disallowed_methods)]
    std::fs::write(sub.join(".env"), &body).unwrap();
    let out = common::run(
        d,
        &["env", "rotate", "--tokens", "ORCH_AUTH_TOKEN", "--write"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        !err.contains("panicked") && err.contains("not UTF-8"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(sub.join(".env")).unwrap(), body);
}
