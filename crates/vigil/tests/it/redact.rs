//! `vigil redact` through the binary: a bot's log with a token of every built-in rule, .env and
//! process values, JSON lines and a 2 MiB line goes in; no secret comes out, every other byte
//! does, and a line shows while the input is still open.

use crate::common;

use common::{expect_exit, token, vigil, write};
use regex::Regex;
use std::io::{BufRead as _, Write as _};
use std::process::Stdio;
use vigil_scan::examples::{expand, Gen};
use vigil_scan::Ruleset;

/// Every built-in rule's examples, expanded: (text, secret).
fn examples(seed: u64) -> Vec<(String, String)> {
    let mut gen = Gen::new(seed);
    let mut out = Vec::new();
    for r in &Ruleset::builtin().rules {
        for t in &r.spec.examples {
            let ex = expand(t, &mut gen).expect("template");
            let secret = ex.text[ex.secret.clone()].to_owned();
            out.push((ex.text, secret));
        }
    }
    out
}

/// `text` with each of `secrets` removed (the longest first). A private-key block loses its
/// key text only: its line breaks and END marker stay.
fn without(text: &str, secrets: &[String]) -> String {
    let mut s: Vec<&String> = secrets.iter().collect();
    s.sort_by_key(|x| std::cmp::Reverse(x.len()));
    let mut t = text.to_owned();
    for x in s {
        let kept = match x.rsplit_once('\n') {
            Some((key, end)) if end.starts_with("-----END") => {
                format!("{}{end}", "\n".repeat(key.matches('\n').count() + 1))
            }
            _ => String::new(),
        };
        t = t.replace(x.as_str(), &kept);
    }
    t
}

fn unredacted(out: &str) -> String {
    Regex::new(r"\[REDACTED:[A-Za-z0-9_:.-]+\]")
        .unwrap()
        .replace_all(out, "")
        .into_owned()
}

/// Asserts two long texts are equal, showing only where they first differ.
fn assert_same(got: &str, want: &str) {
    if got == want {
        return;
    }
    let at = got
        .bytes()
        .zip(want.bytes())
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(want.len()));
    let from = at.saturating_sub(80);
    panic!(
        "texts differ at byte {at} (lengths {} and {}):\n got: {:?}\nwant: {:?}",
        got.len(),
        want.len(),
        &got[from..(at + 80).min(got.len())],
        &want[from..(at + 80).min(want.len())]
    );
}

#[test]
fn no_secret_survives_and_every_other_byte_does() {
    let dir = tempfile::tempdir().unwrap();
    let bot_secret = format!("bot-{}", "k7Qz".repeat(6));
    let proc_secret = format!("proc-{}", "Wm3x".repeat(5));
    write(
        dir.path(),
        ".env",
        format!("BOT_SIGNING_KEY={bot_secret}\nNODE_ENV=production\nLOG_LEVEL=info\n"),
    );
    let mut secrets = vec![bot_secret.clone(), proc_secret.clone()];
    let mut log = String::new();
    for (i, (text, secret)) in examples(11).into_iter().enumerate() {
        log.push_str(&format!(
            "2026-11-29T10:00:{:02}Z INFO bot: connecting\n",
            i % 60
        ));
        log.push_str(&text);
        log.push('\n');
        secrets.push(secret);
    }
    log.push_str(&format!("INFO signing with {bot_secret} for production\n"));
    log.push_str(&format!("DEBUG worker env {proc_secret}; level info\n"));
    // A 2 MiB line with secrets at its start, across the 1 MiB mark and at its end.
    let gh = common::token("«ghp_{alnum:30}{ghcrc}»", 77);
    secrets.push(gh.clone());
    let filler = "lorem ipsum dolor sit amet ".repeat(40_000);
    let long = format!(
        "{gh} {} token {gh} {} {gh}\n",
        &filler[..1_048_000],
        &filler[..1_048_000]
    );
    log.push_str(&long);
    log.push_str("last line without a newline");

    let out = vigil(dir.path())
        .args([
            "redact",
            "--env-file",
            ".env",
            "--from-env",
            "WORKER_SECRET",
        ])
        .env("WORKER_SECRET", &proc_secret)
        .write_stdin(log.clone())
        .output()
        .unwrap();
    expect_exit(&out, 0);
    let text = String::from_utf8(out.stdout).unwrap();
    for s in &secrets {
        assert!(
            !text.contains(s.as_str()),
            "a secret survived: {}…",
            &s[..6.min(s.len())]
        );
    }
    assert!(text.contains("[REDACTED:env:BOT_SIGNING_KEY]"));
    assert!(text.contains("[REDACTED:env:WORKER_SECRET]"));
    assert!(
        text.contains("for production\n"),
        "short or word-like values are kept"
    );
    assert_same(&unredacted(&text), &without(&log, &secrets));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("redacted"), "{stderr}");
    assert!(!stderr.contains(&bot_secret));
}

#[test]
fn json_lines_stay_json_without_their_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = String::new();
    let mut secrets = Vec::new();
    for (text, secret) in examples(5) {
        let line = serde_json::json!({"level": "info", "msg": text, "n": 1});
        log.push_str(&line.to_string());
        log.push('\n');
        secrets.push(secret);
    }
    let out = vigil(dir.path())
        .args(["redact", "--json"])
        .write_stdin(log.clone())
        .output()
        .unwrap();
    expect_exit(&out, 0);
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = 0;
    for (line, original) in text.lines().zip(log.lines()) {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not JSON after redaction ({e}): {line}"));
        assert_eq!(v["level"], "info");
        assert_eq!(v["n"], 1);
        assert!(line.starts_with("{\"level\""), "key order kept: {line}");
        let _ = original;
        lines += 1;
    }
    assert_eq!(lines, log.lines().count());
    for s in &secrets {
        // In JSON a secret's newlines and quotes are escaped: compare its escaped form too.
        let escaped = serde_json::to_string(s).unwrap();
        let escaped = &escaped[1..escaped.len() - 1];
        assert!(
            !text.contains(escaped),
            "a secret survived: {}…",
            &s[..6.min(s.len())]
        );
    }
}

/// JSON mode reads the lines together as text mode does: a Kubernetes name/value pair (two
/// lines of YAML between JSON lines) is redacted in both modes, every other byte kept.
#[test]
fn json_mode_reads_a_pair_over_two_lines() {
    let dir = tempfile::tempdir().unwrap();
    let value = token("«{alnum:20}»", 7);
    let log = format!(
        "{{\"level\":\"info\"}}\nenv:\n  - name: DB_PASSWORD\n    value: \"{value}\"\n{{\"n\":1}}\n"
    );
    for mode in [&["redact"][..], &["redact", "--json"][..]] {
        let out = vigil(dir.path())
            .args(mode)
            .write_stdin(log.clone())
            .output()
            .unwrap();
        expect_exit(&out, 0);
        let text = String::from_utf8(out.stdout).unwrap();
        assert_eq!(
            text,
            log.replace(&value, "[REDACTED:name-value-secret]"),
            "{mode:?}"
        );
    }
}

#[test]
fn pii_is_pseudonymised_stably() {
    let dir = tempfile::tempdir().unwrap();
    let log = "user <@123456789012345678> from 198.51.100.7 wrote alice@example.org\n\
               again <@123456789012345678> and <@!223456789012345678> from 198.51.100.7, +44 20 7946 0958\n\
               at 2026-11-29 12:30:45 nothing else\n";
    let out = vigil(dir.path())
        .args(["redact", "--pii", "-q"])
        .write_stdin(log)
        .output()
        .unwrap();
    expect_exit(&out, 0);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "user <@user#1> from ip#1 wrote email#1\n\
         again <@user#1> and <@!user#2> from ip#1, phone#1\n\
         at 2026-11-29 12:30:45 nothing else\n"
    );
    assert!(out.stderr.is_empty());
}

/// `vigil` started in `dir` with `args`, its stdin and stdout piped: (the child, its stdin, its
/// stdout read by lines), for tests that write while reading.
fn streaming(
    dir: &std::path::Path,
    args: &[&str],
) -> (
    std::process::Child,
    std::process::ChildStdin,
    std::io::BufReader<std::process::ChildStdout>,
) {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("vigil"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let reader = std::io::BufReader::new(child.stdout.take().unwrap());
    (child, stdin, reader)
}

#[test]
fn a_line_is_shown_while_the_input_stays_open() {
    let dir = tempfile::tempdir().unwrap();
    let gh = common::token("«ghp_{alnum:30}{ghcrc}»", 3);
    let (mut child, mut stdin, mut reader) = streaming(dir.path(), &["redact", "-q"]);
    writeln!(stdin, "ready {gh}").unwrap();
    stdin.flush().unwrap();
    // Read the line while stdin is still open: redact must not wait for more input.
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert_eq!(line, "ready [REDACTED:github-pat]\n");
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

/// Tester F2: a Kubernetes name/value pair whose two lines arrive in two reads (`docker logs
/// -f`, a pause between them) is still one pair, in text and JSON mode.
#[test]
fn a_pair_over_two_reads_is_one_pair() {
    let dir = tempfile::tempdir().unwrap();
    let pw = common::token("«{alnum:20}»", 4);
    // Tester 127 F2: a name line over 4 KiB dropped the pairing.
    let long = " ".repeat(5000);
    for (mode, lead) in [("", ""), ("--json", ""), ("", long.as_str())] {
        let mut args = vec!["redact", "-q"];
        if !mode.is_empty() {
            args.push(mode);
        }
        let (mut child, mut stdin, mut reader) = streaming(dir.path(), &args);
        writeln!(stdin, "{lead}- name: DB_PASSWORD").unwrap();
        stdin.flush().unwrap();
        // The name line is written out before the value line is sent: two reads for certain.
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert_eq!(line, format!("{lead}- name: DB_PASSWORD\n"), "{mode}");
        writeln!(stdin, "  value: \"{pw}\"").unwrap();
        drop(stdin);
        line.clear();
        reader.read_line(&mut line).unwrap();
        assert_eq!(
            line, "  value: \"[REDACTED:name-value-secret]\"\n",
            "{mode}"
        );
        assert!(child.wait().unwrap().success());
    }
}

#[test]
fn a_missing_variable_or_env_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = vigil(dir.path())
        .args(["redact", "--from-env", "NOPE_NOT_SET"])
        .env_remove("NOPE_NOT_SET")
        .write_stdin("x\n")
        .output()
        .unwrap();
    expect_exit(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("NOPE_NOT_SET"));
    assert!(out.stdout.is_empty(), "nothing passes unfiltered");
    let out = vigil(dir.path())
        .args(["redact", "--env-file", "missing.env"])
        .write_stdin("x\n")
        .output()
        .unwrap();
    expect_exit(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.env"));
}

#[test]
fn a_repository_gitleaks_file_adds_rules_and_never_removes_the_builtin_ones() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        ".gitleaks.toml",
        "[[rules]]\nid = \"acme\"\nregex = '''acme_[0-9a-f]{16}'''\n\n[allowlist]\nregexes = ['''ghp_''']\n",
    );
    let gh = common::token("«ghp_{alnum:30}{ghcrc}»", 9);
    let acme = format!("acme_{}", "0f1e2d3c4b5a6978");
    let out = vigil(dir.path())
        .args(["redact", "-q"])
        .write_stdin(format!("\x1b[35m{gh}\x1b[39m and {acme}\n"))
        .output()
        .unwrap();
    expect_exit(&out, 0);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains(&gh), "{text}");
    assert!(!text.contains(&acme), "{text}");
}

/// bb-scan-s7 N4: a key block ate the line breaks of its lines (6 lines became 3, a CRLF copy
/// too, a YAML-indented block lost one). Only key text goes: every line break, prefix, indent,
/// the END marker and the lines of other writers stay where they were.
#[test]
fn a_key_block_keeps_every_line_and_byte_but_its_key_text() {
    let dir = tempfile::tempdir().unwrap();
    let body: Vec<String> = common::token("«{pem}»", 41)
        .split('\n')
        .map(str::to_owned)
        .collect();
    let (k1, k2) = (&body[0], &body[1]);
    let log = format!(
        "-----BEGIN RSA PRIVATE KEY-----\n{k1}\nINFO user alice logged in\n{k2}\n-----END RSA PRIVATE KEY-----\nc: 1\n"
    );
    let want = "[REDACTED:private-key]\n\nINFO user alice logged in\n\n-----END RSA PRIVATE KEY-----\nc: 1\n";
    let yaml = format!(
        "key: |\n  -----BEGIN RSA PRIVATE KEY-----\n  {k1}\n  {k2}\n  -----END RSA PRIVATE KEY-----\nnext: 1\n"
    );
    let yaml_want =
        "key: |\n  [REDACTED:private-key]\n  \n  \n  -----END RSA PRIVATE KEY-----\nnext: 1\n";
    for (input, want) in [
        (log.clone(), want.to_owned()),
        (log.replace('\n', "\r\n"), want.replace('\n', "\r\n")),
        (yaml, yaml_want.to_owned()),
    ] {
        let out = vigil(dir.path())
            .args(["redact", "-q"])
            .write_stdin(input.clone())
            .output()
            .unwrap();
        expect_exit(&out, 0);
        assert_eq!(String::from_utf8(out.stdout).unwrap(), want, "{input}");
    }
}

/// bb-scan-s7 N2: UTF-16 and UTF-32 logs (what PowerShell 5's `>` writes; with or without a
/// byte-order mark, either byte order; one UTF-16 line in a UTF-8 log) passed through in clear.
/// Their secrets are redacted in their own encoding, every other byte kept, from a file, from
/// stdin and with `--json`.
#[test]
fn utf16_and_utf32_logs_are_redacted_in_their_own_encoding() {
    let dir = tempfile::tempdir().unwrap();
    let gh = common::token("«ghp_{alnum:30}{ghcrc}»", 5);
    let value = format!("Zq8xPlm2Wr7TvB4n{}", "Kd9YsC");
    write(dir.path(), ".env", format!("BOT_TOKEN={value}\n"));
    // A name/value pair over two lines too (tester F3: it passed `--json` in clear).
    let pw = common::token("«{alnum:20}»", 9);
    let text = format!(
        "INFO start é\r\nGITHUB_TOKEN={gh}\nBOT {value}\n- name: DB_PASSWORD\n  value: \"{pw}\""
    );
    let want = "INFO start é\r\nGITHUB_TOKEN=[REDACTED:github-pat]\nBOT [REDACTED:env:BOT_TOKEN]\n\
                - name: DB_PASSWORD\n  value: \"[REDACTED:name-value-secret]\"";
    let u16le = |s: &str| -> Vec<u8> { s.encode_utf16().flat_map(u16::to_le_bytes).collect() };
    let u16be = |s: &str| -> Vec<u8> { s.encode_utf16().flat_map(u16::to_be_bytes).collect() };
    let u32le = |s: &str| -> Vec<u8> { s.chars().flat_map(|c| (c as u32).to_le_bytes()).collect() };
    let u32be = |s: &str| -> Vec<u8> { s.chars().flat_map(|c| (c as u32).to_be_bytes()).collect() };
    let bom = |b: &[u8], s: &[u8]| [b, s].concat();
    type Encoder = Box<dyn Fn(&str) -> Vec<u8>>;
    let encoders: Vec<(&str, Encoder)> = vec![
        (
            "utf-16 bom",
            Box::new(move |s: &str| bom(&[0xFF, 0xFE], &u16le(s))),
        ),
        ("utf-16le", Box::new(u16le)),
        ("utf-16be", Box::new(u16be)),
        (
            "utf-16be bom",
            Box::new(move |s: &str| bom(&[0xFE, 0xFF], &u16be(s))),
        ),
        (
            "utf-32le bom",
            Box::new(move |s: &str| bom(&[0xFF, 0xFE, 0, 0], &u32le(s))),
        ),
        ("utf-32be", Box::new(u32be)),
        (
            "a utf-16 line in utf-8",
            Box::new(move |s: &str| {
                let (first, rest) = s.split_once('\n').unwrap();
                let (second, third) = rest.split_once('\n').unwrap();
                [
                    format!("{first}\n").into_bytes(),
                    u16le(&format!("{second}\r\n")),
                    third.as_bytes().to_vec(),
                ]
                .concat()
            }),
        ),
    ];
    for (name, enc) in &encoders {
        let input = enc(&text);
        let expected = enc(want);
        write(dir.path(), "wide.log", &input);
        for args in [
            vec!["redact", "-q", "--env-file", ".env", "wide.log"],
            vec!["redact", "-q", "--json", "--env-file", ".env", "wide.log"],
            vec!["redact", "-q", "--env-file", ".env"],
        ] {
            let out = vigil(dir.path())
                .args(&args)
                .write_stdin(input.clone())
                .output()
                .unwrap();
            expect_exit(&out, 0);
            assert!(
                out.stdout == expected,
                "{name} {args:?}: {:?}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
    }
}

/// bb-scan-s7 N6: a percent-encoded database URL lost its user and host with its password, an
/// HTTP Digest `response=` hash stayed in clear (the user name was taken instead), and a
/// JSON-escaped `postgres:\/\/` URL was not seen at all (by `scan` either).
#[test]
fn encoded_urls_and_digest_responses_lose_only_their_secret() {
    let dir = tempfile::tempdir().unwrap();
    let pw = format!("S3cr3tPassw0rd{}", "X");
    let response = "6629fae49393a05397450978507c4ef1";
    let log = format!(
        "u=postgres%3A%2F%2Fapp%3A{pw}%40db%3A5432/x\n\
         Authorization: Digest username=\"u\", realm=\"r\", nonce=\"abc\", response=\"{response}\"\n\
         {{\"u\":\"postgres:\\/\\/app:{pw}@db:5432\\/x\"}}\n"
    );
    let want = "u=postgres%3A%2F%2Fapp%3A[REDACTED:database-url-password]%40db%3A5432/x\n\
         Authorization: Digest username=\"u\", realm=\"r\", nonce=\"abc\", response=\"[REDACTED:authorization]\"\n\
         {\"u\":\"postgres:\\/\\/app:[REDACTED:database-url-password]@db:5432\\/x\"}\n";
    let out = vigil(dir.path())
        .args(["redact", "-q"])
        .write_stdin(log.clone())
        .output()
        .unwrap();
    expect_exit(&out, 0);
    assert_eq!(String::from_utf8(out.stdout).unwrap(), want);
    write(dir.path(), "app.log", &log);
    let out = vigil(dir.path())
        .args(["scan", "app.log", "-f", "json", "--show-secrets"])
        .output()
        .unwrap();
    expect_exit(&out, 1);
    let v = common::json(&out);
    let got: Vec<(u64, String, String)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["line"].as_u64().unwrap(),
                f["secret"].as_str().unwrap().to_owned(),
                f["decoded"][0].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (1, pw.clone(), "percent".to_owned()),
            (3, pw.clone(), "escapes".to_owned())
        ]
    );
}

/// bb-all-s8 #2, #2b, #10: a URL password holding a raw `@` or `:` goes whole (parsers split at
/// the last `@`), with and without `--pii`; a bearer token in a query string or a form goes; a
/// short value named with `--from-env` or under a secret's name in `--env-file` is said, never
/// left in silence.
#[test]
fn url_passwords_with_at_signs_and_bearers_in_queries_lose_their_secret() {
    let dir = tempfile::tempdir().unwrap();
    let tok = common::token("«{alnum:40}»", 11);
    let (a, b) = (
        common::token("«{alnum:6}»", 12),
        common::token("«{alnum:10}»", 13),
    );
    let log = format!(
        "DATABASE_URL=postgres://app:{a}@{b}@db:5432/app\n\
         mysql://root:{a}@{b}@{a}@db/app\n\
         postgres://app:{a}:{b}@db:5432/app\n\
         https://user:{a}@{b}@host.example/x\n\
         GET /sse?authorization=Bearer%20{tok} HTTP/1.1\n\
         authorization=Bearer+{tok}\n"
    );
    let want = "DATABASE_URL=postgres://app:[REDACTED:database-url-password]@db:5432/app\n\
         mysql://root:[REDACTED:database-url-password]@db/app\n\
         postgres://app:[REDACTED:database-url-password]@db:5432/app\n\
         https://user:[REDACTED:url-password]@host.example/x\n\
         GET /sse?authorization=Bearer%20[REDACTED:authorization] HTTP/1.1\n\
         authorization=Bearer+[REDACTED:authorization]\n";
    let out = vigil(dir.path())
        .args(["redact", "-q"])
        .write_stdin(log.clone())
        .output()
        .unwrap();
    expect_exit(&out, 0);
    assert_eq!(String::from_utf8(out.stdout).unwrap(), want);
    // --pii never lets an e-mail-like run inside the password take the host with it.
    let out = vigil(dir.path())
        .args(["redact", "-q", "--pii"])
        .write_stdin(format!(
            "https://user:{a}@{b}@host.example/x\nbob@example.com\n"
        ))
        .output()
        .unwrap();
    expect_exit(&out, 0);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "https://user:[REDACTED:url-password]@host.example/x\nemail#1\n"
    );
    // scan sees the same secrets.
    write(dir.path(), "app.log", &log);
    let out = vigil(dir.path())
        .args(["scan", "app.log", "-f", "json", "--show-secrets"])
        .output()
        .unwrap();
    expect_exit(&out, 1);
    let v = common::json(&out);
    let got: Vec<(u64, String)> = v
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| Some((f["line"].as_u64()?, f["secret"].as_str()?.to_owned())))
        .collect();
    for (line, secret) in [
        (1, format!("{a}@{b}")),
        (2, format!("{a}@{b}@{a}")),
        (3, format!("{a}:{b}")),
        (5, tok.clone()),
        (6, tok.clone()),
    ] {
        assert!(
            got.contains(&(line, secret.clone())),
            "line {line}: {got:?}"
        );
    }
    // Short values named as secrets: a warning names the variable, never silence.
    let out = vigil(dir.path())
        .args(["redact", "--from-env", "PIN"])
        .env("PIN", "48213x")
        .write_stdin("pin is 48213x now\n")
        .output()
        .unwrap();
    expect_exit(&out, 0);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--from-env PIN: its value is shorter than 8 characters and is not redacted"),
        "{err}"
    );
    assert!(!err.contains("48213x"), "{err}");
    write(
        dir.path(),
        "short.env",
        "ADMIN_PASS=hunter2\nLOG_LEVEL=info\n",
    );
    let out = vigil(dir.path())
        .args(["redact", "--env-file", "short.env"])
        .write_stdin("x\n")
        .output()
        .unwrap();
    expect_exit(&out, 0);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("short.env:1: ADMIN_PASS is shorter than 8 characters"),
        "{err}"
    );
    assert!(
        !err.contains("LOG_LEVEL") && !err.contains("hunter2"),
        "{err}"
    );
}

/// bb-16-s8 F11: `vigil redact DIR` printed a summary and then "Is a directory (os error 21)"
/// without the name: one line, naming the folder, exit 2.
#[test]
fn a_folder_given_to_redact_is_one_line_naming_it() {
    let dir = tempfile::TempDir::new().unwrap();
    std::fs::create_dir(dir.path().join("logs")).unwrap();
    let out = common::run(dir.path(), &["redact", "logs"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("logs") && err.contains("folder"), "{err}");
}
