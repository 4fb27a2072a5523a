//! `vigil env` end to end: rotation read back by python-dotenv, crash tests (an abort at every
//! step of the protocol, and real `kill -9`), concurrent rotations, dual secrets that the token
//! key ring honours, checks (text, JSON, SARIF against the official schema), the ledger.

mod common;

use common::{expect_exit, json, python_with, run, sarif_schema, vigil, write};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command as StdCommand;
use std::time::Duration;
use tempfile::TempDir;

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
        // The next vigil env command finishes or undoes the transaction.
        let check = run(dir.path(), &["env", "check"]);
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

    // Real kill -9 at moments spread over a whole rotation, each step slowed so the kill lands
    // mid-way: first time one full run, then kill at 5%, 15%, … 95% of that.
    let rotate = || {
        let mut c = StdCommand::new(env!("CARGO_BIN_EXE_vigil"));
        c.current_dir(dir.path())
            .args(["env", "rotate", "--tokens", "AUTH_TOKEN", "--write"])
            .env("VIGIL_TEST_STEP_DELAY_MS", "4")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        c
    };
    let t = std::time::Instant::now();
    assert!(rotate().status().unwrap().success());
    let full = t.elapsed();
    for (f, t) in files.iter().zip(&texts) {
        std::fs::write(dir.path().join(f), t).unwrap();
    }
    let (mut undone, mut finished) = (0, 0);
    for tenth in 0..10u32 {
        let mut child = rotate().spawn().unwrap();
        std::thread::sleep(full * (2 * tenth + 1) / 20);
        let _ = child.kill();
        let _ = child.wait();
        let check = run(dir.path(), &["env", "check"]);
        expect_exit(&check, 0);
        let s = stderr(&check);
        undone += s.contains("undid a rotation") as u32;
        finished += s.contains("finished a rotation") as u32;
        if assert_consistent(dir.path(), &files, &texts, &old) {
            for (f, t) in files.iter().zip(&texts) {
                std::fs::write(dir.path().join(f), t).unwrap();
            }
        }
    }
    assert!(undone > 0 && finished > 0, "kills landed in both halves ({undone} undone, {finished} finished; a full run took {full:?})");
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
    let git = |args: &[&str]| {
        let s = StdCommand::new("git")
            .current_dir(d)
            .args(args)
            .output()
            .unwrap();
        assert!(s.status.success(), "git {args:?}: {}", stderr(&s));
    };
    git(&["init", "-q"]);
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
        "services/c/.env.other",
        format!("DRIFT_SECRET={}\n", value(30, 32)),
    );
    write(
        d,
        "services/d/.env.other",
        format!("DRIFT_SECRET={}\n", value(30, 32)),
    );
    write(
        d,
        "services/e/.env.other",
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
    git(&["add", ".env"]);
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
        ("services/c/.env.other", 0, "not_ignored"),
        ("services/c/.env.other", 1, "inconsistent"),
        ("services/d/.env.other", 0, "not_ignored"),
        ("services/d/.env.other", 1, "inconsistent"),
        ("services/e/.env.other", 0, "not_ignored"),
        ("services/e/.env.other", 1, "inconsistent"),
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
    let s = StdCommand::new("git")
        .current_dir(d)
        .args(["init", "-q"])
        .output()
        .unwrap();
    assert!(s.status.success());
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
            (".env.example".into(), "example".into(), true),
            (".env.production".into(), "production".into(), false),
            ("config/app.env".into(), "app".into(), false),
        ]
    );
    // [env] files replaces the default globs.
    write(d, "vigil.toml", "[env]\nfiles = [\"config/*.env\"]\n");
    let out = run(d, &["env", "check", "--format", "json"]);
    assert_eq!(
        files(&out),
        [("config/app.env".to_owned(), "app".to_owned(), false)]
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
