//! `vigil scan` end to end through the real binary: a planted tree found in full with no
//! placeholder reported, exit codes, every report format (SARIF checked against the official
//! schema), baselines, ignore files, stdin, and inputs that must not crash it.

use crate::common;

use common::*;
use std::process::Command as Std;
use tempfile::TempDir;

struct Planted {
    dir: TempDir,
    secrets: Vec<String>,
}

/// A tree with real-shaped secrets (made now, from templates) and placeholders that must stay quiet.
fn planted() -> Planted {
    let dir = TempDir::new().unwrap();
    let r = dir.path();
    let s = |t: &str, seed| token(t, seed);
    let discord = s("«{b64digits:18}.{b64url:6}.{b64url:38}»", 1);
    let openai = s("«sk-proj-{b64url:74}T3BlbkFJ{b64url:74}»", 2);
    let anthropic = s("«sk-ant-api03-{b64url:93}AA»", 3);
    let github = s("«ghp_{alnum:30}{ghcrc}»", 4);
    let akia = s("«AKIA{upper32:16}»", 5);
    let aws_secret = s("«{b64:40}»", 6);
    let db_pw = s("«{alnum:24}»", 7);
    let jwt_secret = s("«{alnum:44}»", 8);
    let slack = s(
        "«https://hooks.slack.com/services/T{uppernum:10}/B{uppernum:10}/{alnum:24}»",
        9,
    );
    let discord2 = s("«{b64digits:19}.{b64url:6}.{b64url:27}»", 10);
    let pem = s(
        "«-----BEGIN OPENSSH PRIVATE KEY-----\n{pem}\n-----END OPENSSH PRIVATE KEY-----»",
        11,
    );
    let jwt = s("«{jwt}»", 12);
    let groq = s("«gsk_{alnum:52}»", 13);
    write(
        r,
        ".env",
        format!(
            "# bot\nDISCORD_TOKEN={discord}\nOPENAI_API_KEY={openai}\nANTHROPIC_API_KEY={anthropic}\nGITHUB_TOKEN={github}\n\
             AWS_ACCESS_KEY_ID={akia}\nAWS_SECRET_ACCESS_KEY={aws_secret}\nDATABASE_URL=postgres://app:{db_pw}@db:5432/app\n\
             MCP_JWT_SECRET={jwt_secret}\n"
        ),
    );
    write(
        r,
        "bots/voice/config.py",
        format!("slack_webhook = \"{slack}\"\nclient.run('{discord2}')\n"),
    );
    write(r, "keys/deploy.pem", format!("{pem}\n"));
    write(
        r,
        "mcp/client.json",
        format!("{{\"headers\": {{\"Authorization\": \"Bearer {jwt}\"}}}}\n"),
    );
    write(
        r,
        "placeholders/.env.example",
        "OPENAI_API_KEY=${OPENAI_API_KEY}\nDISCORD_TOKEN=<TOKEN>\nGROQ_API_KEY=your-groq-api-key-here\nMCP_JWT_SECRET=changeme\n\
         SLACK_BOT_TOKEN=xoxb-xxxxxxxxxxxx\nAWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\nOPENAI_API_KEY=sk-proj-your-key-here\n\
         API_KEY=OPENAI_API_KEY\nDB_PASSWORD=aaaaaaaaaaaaaaaaaaaa\nDATABASE_URL=postgres://user:password@localhost/db\n",
    );
    write(r, "ignored/.gitignore", "secret.txt\n");
    write(r, "ignored/secret.txt", format!("GROQ_API_KEY={groq}\n"));
    let secrets = vec![
        discord, openai, anthropic, github, akia, aws_secret, db_pw, jwt_secret, slack, discord2,
        pem, jwt, groq,
    ];
    Planted { dir, secrets }
}

fn expected(with_ignored: bool) -> Vec<(String, String, u64)> {
    let mut e: Vec<(String, String, u64)> = [
        (".env", "discord-bot-token", 2),
        (".env", "openai-api-key", 3),
        (".env", "anthropic-api-key", 4),
        (".env", "github-pat", 5),
        (".env", "aws-access-token", 6),
        (".env", "aws-secret-access-key", 7),
        (".env", "database-url-password", 8),
        (".env", "generic-api-key", 9),
        ("bots/voice/config.py", "slack-webhook-url", 1),
        ("bots/voice/config.py", "discord-bot-token", 2),
        ("keys/deploy.pem", "private-key", 1),
        ("mcp/client.json", "jwt", 1),
    ]
    .iter()
    .map(|(f, r, l)| (f.to_string(), r.to_string(), *l))
    .collect();
    if with_ignored {
        e.push(("ignored/secret.txt".into(), "groq-api-key".into(), 1));
    }
    e.sort();
    e
}

#[test]
fn planted_tree_is_found_in_full_and_no_placeholder_is_reported() {
    let p = planted();
    let out = run(p.dir.path(), &["scan", ".", "--format", "json"]);
    expect_exit(&out, 1);
    assert_eq!(triples(&json(&out)), expected(false));
    let out = run(p.dir.path(), &["scan", "--no-ignore", "-f", "json"]);
    assert_eq!(triples(&json(&out)), expected(true));
}

#[test]
fn secrets_never_reach_stdout_or_stderr_unless_asked() {
    let p = planted();
    for format in ["text", "json", "sarif", "csv", "junit"] {
        let out = run(
            p.dir.path(),
            &["scan", "--no-ignore", "-v", "--format", format],
        );
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        for s in &p.secrets {
            let middle = &s[s.len() / 3..s.len() / 3 + 8];
            assert!(!all.contains(middle), "{format} leaked part of a secret");
        }
    }
    let out = run(
        p.dir.path(),
        &["scan", "--no-ignore", "-f", "json", "--show-secrets"],
    );
    let shown: Vec<String> = json(&out)
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["secret"].as_str().unwrap().to_owned())
        .collect();
    for s in &p.secrets {
        assert!(
            shown.contains(s),
            "--show-secrets must print every secret in full"
        );
    }
}

#[test]
fn json_findings_carry_every_documented_field() {
    let p = planted();
    let out = run(p.dir.path(), &["scan", "-f", "json"]);
    let v = json(&out);
    let f = v
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "github-pat")
        .unwrap();
    assert_eq!(f["file"], ".env");
    assert_eq!(f["line"], 5);
    assert_eq!(f["column"], 14);
    assert_eq!(f["fingerprint"], ".env:github-pat:5");
    assert_eq!(f["hash"].as_str().unwrap().len(), 32);
    assert!(f["entropy"].as_f64().unwrap() > 4.0);
    let secret = f["secret"].as_str().unwrap();
    assert!(
        secret.starts_with("ghp_") && secret.contains('…') && secret.chars().count() == 9,
        "{secret}"
    );
}

#[test]
fn exit_codes_follow_the_contract() {
    let clean = TempDir::new().unwrap();
    write(clean.path(), "README.md", "nothing to see\n");
    vigil(clean.path()).args(["scan", "."]).assert().code(0);
    let p = planted();
    vigil(p.dir.path()).args(["scan", "."]).assert().code(1);
    vigil(p.dir.path())
        .args(["scan", ".", "--exit-code", "7"])
        .assert()
        .code(7);
    vigil(p.dir.path())
        .args(["scan", ".", "--exit-code", "0"])
        .assert()
        .code(0);
    let out = run(p.dir.path(), &["scan", "--format", "yaml"]);
    expect_exit(&out, 2);
    // A path that is not there is an input error (issue 20): exit 2, one line naming it.
    let out = run(p.dir.path(), &["scan", "no/such/dir"]);
    expect_exit(&out, 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("vigil: no/such/dir: cannot scan"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn sarif_is_valid_against_the_official_schema() {
    let p = planted();
    let out = run(
        p.dir.path(),
        &[
            "scan",
            "--no-ignore",
            "--format",
            "sarif",
            "--report-path",
            "out.sarif",
        ],
    );
    expect_exit(&out, 1);
    let report = p.dir.path().join("out.sarif");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let results = v["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 13);
    let rules = v["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    for r in results {
        let i = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[i]["id"], r["ruleId"]);
    }
    let py = python_with("jsonschema", "jsonschema");
    let schema = sarif_schema();
    let check = Std::new(py)
        .args(["-c", "import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))); print('valid')"])
        .arg(&report)
        .arg(&schema)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "SARIF invalid: {}",
        String::from_utf8_lossy(&check.stderr)
    );
}

/// Reports count columns in UTF-16 code units (SARIF's default `columnKind`, what code scanning
/// and editors highlight by), as `vigil lint` does; on an ASCII line they are bytes (bb-scan-s9
/// F14: SARIF's columns were bytes).
#[test]
fn sarif_columns_count_utf16_code_units_after_non_ascii_text() {
    let dir = TempDir::new().unwrap();
    let key = token("«sk-or-v1-{hex:64}»", 5);
    // "é" is 2 bytes and 1 unit, "😀" 4 bytes and 2 units: the key starts at byte 16, unit 13.
    write(dir.path(), "notes.txt", format!("# é 😀 key: {key}\n"));
    let sarif = run(dir.path(), &["scan", "notes.txt", "-f", "sarif"]);
    expect_exit(&sarif, 1);
    let v: serde_json::Value = serde_json::from_slice(&sarif.stdout).unwrap();
    let region = &v["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startColumn"], 13, "{region}");
    assert_eq!(region["endColumn"], 13 + key.len(), "{region}");
    let out = run(dir.path(), &["scan", "notes.txt", "-f", "json"]);
    let f = &json(&out)[0];
    assert_eq!(f["column"], 13, "{f}");
    assert_eq!(f["end_column"], 13 + key.len(), "{f}");
    // The same key on an ASCII line: units are bytes.
    write(dir.path(), "notes.txt", format!("# e :) key: {key}\n"));
    let out = run(dir.path(), &["scan", "notes.txt", "-f", "json"]);
    assert_eq!(json(&out)[0]["column"], 13);
    // A UTF-8 byte-order mark is not counted (editors do not show it).
    write(
        dir.path(),
        "notes.txt",
        format!("\u{feff}# e :) key: {key}\n"),
    );
    let sarif = run(dir.path(), &["scan", "notes.txt", "-f", "sarif"]);
    let v: serde_json::Value = serde_json::from_slice(&sarif.stdout).unwrap();
    assert_eq!(v["runs"][0]["columnKind"], "utf16CodeUnits");
    let region = &v["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startColumn"], 13, "{region}");
}

#[test]
fn csv_and_junit_reports_parse() {
    let p = planted();
    let csv = run(p.dir.path(), &["scan", "-f", "csv"]);
    let xml = run(p.dir.path(), &["scan", "--report-format", "junit"]);
    let check = Std::new("python3")
        .args([
            "-c",
            "import csv,sys,io,xml.etree.ElementTree as ET\n\
             rows=list(csv.DictReader(io.StringIO(open(sys.argv[1]).read())))\n\
             root=ET.fromstring(open(sys.argv[2]).read())\n\
             print(len(rows), root.find('testsuite').get('failures'), len(list(root.iter('testcase'))), len(set(r['fingerprint'] for r in rows)))",
        ])
        .arg(write(p.dir.path(), "r.csv", &csv.stdout))
        .arg(write(p.dir.path(), "r.xml", &xml.stdout))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert_eq!(said.trim(), "12 12 12 12");
}

#[test]
fn baseline_reports_only_new_findings_even_when_lines_move() {
    let p = planted();
    let r = p.dir.path();
    vigil(r)
        .args(["scan", ".", "--baseline-write", "base.json"])
        .assert()
        .code(0);
    // Move everything down three lines and add one new secret.
    let env = std::fs::read_to_string(r.join(".env")).unwrap();
    let fresh = token("«sk-or-v1-{hex:64}»", 77);
    std::fs::write(
        r.join(".env"),
        format!("\n\n\n{env}OPENROUTER_API_KEY={fresh}\n"),
    )
    .unwrap();
    let out = run(r, &["scan", ".", "--baseline", "base.json", "-f", "json"]);
    expect_exit(&out, 1);
    assert_eq!(
        triples(&json(&out)),
        vec![(".env".to_string(), "openrouter-api-key".to_string(), 13)]
    );
    std::fs::write(r.join("bad.json"), "{ not json").unwrap();
    let out = run(r, &["scan", ".", "--baseline", "bad.json"]);
    expect_exit(&out, 2);
    assert!(
        String::from_utf8_lossy(&out.stderr).starts_with("vigil: bad.json: line 1"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn gitleaksignore_fingerprints_and_inline_allow_comments_suppress() {
    let p = planted();
    let r = p.dir.path();
    write(
        r,
        ".gitleaksignore",
        "# known\n.env:github-pat:5\nkeys/deploy.pem:private-key:1\n",
    );
    let env = std::fs::read_to_string(r.join(".env")).unwrap();
    let env = env.replace("@db:5432/app\n", "@db:5432/app # gitleaks:allow\n");
    std::fs::write(r.join(".env"), env).unwrap();
    let out = run(r, &["scan", ".", "-f", "json"]);
    let got: Vec<String> = triples(&json(&out))
        .into_iter()
        .map(|(f, rule, l)| format!("{f}:{rule}:{l}"))
        .collect();
    assert!(!got.contains(&".env:github-pat:5".to_string()));
    assert!(!got.contains(&"keys/deploy.pem:private-key:1".to_string()));
    assert!(!got.contains(&".env:database-url-password:8".to_string()));
    assert_eq!(got.len(), 9, "{got:?}");
}

#[test]
fn stdin_is_scanned_with_dash() {
    let dir = TempDir::new().unwrap();
    let key = token("«sk-or-v1-{hex:64}»", 3);
    let out = vigil(dir.path())
        .args(["scan", "-", "-f", "json"])
        .write_stdin(format!("first\nkey: {key}\n"))
        .output()
        .unwrap();
    expect_exit(&out, 1);
    assert_eq!(
        triples(&json(&out)),
        vec![("-".to_string(), "openrouter-api-key".to_string(), 2)]
    );
}

#[test]
fn awkward_inputs_are_counted_or_warned_never_fatal() {
    let dir = TempDir::new().unwrap();
    let r = dir.path();
    let key = token("«sk-or-v1-{hex:64}»", 21);
    write(r, "empty.txt", "");
    let mut bin = vec![0u8, 1, 2, 3, 0, 0];
    bin.extend_from_slice(key.as_bytes());
    write(r, "blob.bin", bin);
    let mut latin1 = b"caf\xe9 \xff\xfe key=".to_vec();
    latin1.extend_from_slice(key.as_bytes());
    latin1.extend_from_slice(b"\n\xc3\x28\n");
    write(r, "latin1.txt", latin1);
    // Sparse: 24 MiB of zeros, read in chunks (nothing is skipped for its size).
    let huge = std::fs::File::create(r.join("huge.log")).unwrap();
    huge.set_len(24 << 20).unwrap();
    std::os::unix::fs::symlink(r.join("loop"), r.join("loop/self")).ok();
    std::fs::create_dir(r.join("loop")).unwrap();
    std::os::unix::fs::symlink(r, r.join("loop/self")).unwrap();
    let out = run(r, &["scan", ".", "-f", "json", "--follow-symlinks"]);
    let err = String::from_utf8_lossy(&out.stderr);
    expect_exit(&out, 1);
    assert_eq!(
        triples(&json(&out)),
        vec![
            ("blob.bin".to_string(), "openrouter-api-key".to_string(), 1),
            (
                "latin1.txt".to_string(),
                "openrouter-api-key".to_string(),
                1
            )
        ]
    );
    assert!(err.contains("skipped 0 binary, 0 over 10 MiB"), "{err}");
    assert!(err.contains("2 binary read by printable runs"), "{err}");
    assert!(err.contains("1 over 10 MiB read in chunks"), "{err}");
    assert!(
        err.to_lowercase().contains("loop"),
        "symlink loop should be warned about: {err}"
    );
}

#[test]
fn unreadable_files_are_warned_about_by_name() {
    let dir = TempDir::new().unwrap();
    let r = dir.path();
    write(r, "ok.txt", "fine\n");
    let locked = write(r, "locked.env", "X=1\n");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    std::fs::set_permissions(r, std::fs::Permissions::from_mode(0o755)).unwrap();
    // Root reads everything; drop to `nobody` so the permission bits apply. The binary is copied
    // beside the data so `nobody` can run it wherever the checkout lives.
    let bin = r.join("vigil-under-test");
    std::fs::copy(assert_cmd::cargo::cargo_bin("vigil"), &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let is_root = Std::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    let mut cmd = if is_root {
        let mut c = Std::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin);
        c
    } else {
        Std::new(&bin)
    };
    let out = cmd
        .current_dir(r)
        .env("NO_COLOR", "1")
        .args(["scan", "."])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    // A file that could not be read makes the scan incomplete: never clean (issue 20).
    expect_exit(&out, 2);
    assert!(err.contains("locked.env: cannot read"), "{err}");
    assert!(err.contains("1 unreadable"), "{err}");
    // The reason once, in the report; one line on stderr says the scan is incomplete.
    assert!(
        err.contains(
            "incomplete scan: 1 reason(s) (the reasons are in the report on stdout); exit 2"
        ),
        "{err}"
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("incomplete: 1 file(s) or folder(s) could not be read"),
        "{err}"
    );
    let out = cmd
        .args(["--allow-incomplete", "-f", "sarif"])
        .output()
        .unwrap();
    expect_exit(&out, 0);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let inv = &v["runs"][0]["invocations"][0];
    assert_eq!(inv["executionSuccessful"], false, "{v}");
    assert_eq!(
        inv["toolExecutionNotifications"][0]["descriptor"]["id"],
        "unreadable"
    );
}

#[test]
fn the_repository_itself_scans_clean() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = run(&root, &["scan", "."]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Mode bits of a file.
fn mode(p: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_baseline_hides_only_the_secret_it_recorded() {
    let dir = TempDir::new().unwrap();
    let r = dir.path();
    let (a, b) = (
        token("«ghp_{alnum:30}{ghcrc}»", 40),
        token("«ghp_{alnum:30}{ghcrc}»", 1040),
    );
    assert_ne!(a, b);
    write(r, "bot.py", format!("gh = \"{a}\"\n"));
    expect_exit(&run(r, &["scan", "bot.py"]), 1);
    expect_exit(
        &run(r, &["scan", "bot.py", "--baseline-write", "base.json"]),
        0,
    );
    let out = run(r, &["scan", "bot.py", "--baseline", "base.json"]);
    expect_exit(&out, 0);
    // The summary says what the baseline held back.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("0 finding(s) in") && err.contains("; 1 known finding(s) not shown"),
        "{err}"
    );
    // A different secret on the very same line is a new finding.
    write(r, "bot.py", format!("gh = \"{b}\"\n"));
    let out = run(
        r,
        &["scan", "bot.py", "--baseline", "base.json", "-f", "json"],
    );
    expect_exit(&out, 1);
    assert_eq!(
        triples(&json(&out)),
        vec![("bot.py".to_string(), "github-pat".to_string(), 1)]
    );
    // The baseline holds salted hashes only: not the secret, not its unsalted content hash, and
    // a second baseline of the same finding has another salt and so other hashes.
    write(r, "bot.py", format!("gh = \"{a}\"\n"));
    expect_exit(
        &run(r, &["scan", "bot.py", "--baseline-write", "again.json"]),
        0,
    );
    let (one, two) = (
        std::fs::read_to_string(r.join("base.json")).unwrap(),
        std::fs::read_to_string(r.join("again.json")).unwrap(),
    );
    let unsalted = vigil_scan::finding::content_hash("github-pat", "bot.py", &a);
    for text in [&one, &two] {
        assert!(!text.contains(&a) && !text.contains(&a[4..20]), "{text}");
        assert!(!text.contains(&unsalted), "{text}");
    }
    let hashes = |t: &str| -> Vec<String> {
        let v: serde_json::Value = serde_json::from_str(t).unwrap();
        let salt = v["salt"].as_str().expect("a salt").to_owned();
        assert!(salt.len() >= 32, "{salt}");
        let mut h: Vec<String> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["hash"].as_str().unwrap().to_owned())
            .collect();
        h.push(salt);
        h
    };
    let (h1, h2) = (hashes(&one), hashes(&two));
    assert_eq!(h1.len(), 2);
    assert!(h1.iter().all(|h| !h2.contains(h)), "{h1:?} {h2:?}");
    expect_exit(&run(r, &["scan", "bot.py", "--baseline", "again.json"]), 0);
}

#[test]
fn old_and_gitleaks_baselines_match_the_secret_or_are_refused() {
    let dir = TempDir::new().unwrap();
    let r = dir.path();
    let (a, b) = (
        token("«ghp_{alnum:30}{ghcrc}»", 42),
        token("«ghp_{alnum:30}{ghcrc}»", 1042),
    );
    write(r, "bot.py", format!("gh = \"{a}\"\n"));
    // A baseline written before salting: a JSON report whose `hash` is the unsalted content hash.
    let old = serde_json::json!([{
        "rule": "github-pat", "file": "bot.py", "line": 1,
        "fingerprint": "bot.py:github-pat:1",
        "hash": vigil_scan::finding::content_hash("github-pat", "bot.py", &a),
    }]);
    write(r, "old.json", old.to_string());
    // gitleaks's JSON report, secret in clear (its default) and redacted (`--redact`).
    let gl = |secret: &str| {
        serde_json::json!([{
            "RuleID": "github-pat", "File": "bot.py", "StartLine": 1, "Secret": secret,
            "Fingerprint": "bot.py:github-pat:1",
        }])
        .to_string()
    };
    write(r, "gitleaks.json", gl(&a));
    write(r, "redacted.json", gl("REDACTED"));
    for base in ["old.json", "gitleaks.json"] {
        let out = run(r, &["scan", "bot.py", "--baseline", base]);
        expect_exit(&out, 0);
    }
    let out = run(r, &["scan", "bot.py", "--baseline", "old.json"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--baseline-write"),
        "an unsalted baseline is read with a warning to rewrite it: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    write(r, "bot.py", format!("gh = \"{b}\"\n"));
    for base in ["old.json", "gitleaks.json"] {
        let out = run(r, &["scan", "bot.py", "--baseline", base]);
        expect_exit(&out, 1);
    }
    let out = run(r, &["scan", "bot.py", "--baseline", "redacted.json"]);
    expect_exit(&out, 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("vigil: redacted.json: finding [0]") && err.contains("redacted"),
        "{err}"
    );
}

#[test]
fn reports_with_secrets_in_clear_are_private() {
    let p = planted();
    let r = p.dir.path();
    expect_exit(
        &run(r, &["scan", ".", "-f", "json", "-o", "redacted.json"]),
        1,
    );
    assert_eq!(mode(&r.join("redacted.json")), 0o644);
    // A report that was public before becomes private when it holds secrets.
    write(r, "old.sarif", "{}");
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(r.join("old.sarif"), std::fs::Permissions::from_mode(0o644)).unwrap();
    for format in ["sarif", "csv", "junit", "text"] {
        let out = run(
            r,
            &[
                "scan",
                ".",
                "-f",
                format,
                "--show-secrets",
                "-o",
                "old.sarif",
            ],
        );
        expect_exit(&out, 1);
        assert_eq!(mode(&r.join("old.sarif")), 0o600, "{format}");
    }
    // New folders for it are private too.
    let out = run(
        r,
        &[
            "scan",
            ".",
            "-f",
            "json",
            "--show-secrets",
            "-o",
            "out/shown.json",
        ],
    );
    expect_exit(&out, 1);
    assert_eq!(mode(&r.join("out/shown.json")), 0o600);
    assert_eq!(mode(&r.join("out")), 0o700);
}

#[test]
fn the_summary_counts_ignored_files_and_names_ignored_env_files() {
    let p = planted();
    let r = p.dir.path();
    // Only ignored/secret.txt is ignored: counted, no hint.
    let out = run(r, &["scan", "."]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("1 ignored by ignore rules"), "{err}");
    assert!(!err.contains("--no-ignore"), "{err}");
    // Ignored env files: counted and named, with the flag that scans them.
    write(r, ".gitignore", ".env.local\nsecrets/\n");
    write(r, ".env.local", "PORT=1\n");
    write(r, "secrets/prod.env", "PORT=2\n");
    write(r, "secrets/notes.txt", "hello\n");
    let out = run(r, &["scan", "."]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("4 ignored by ignore rules"), "{err}");
    assert!(
        err.contains("2 look like env files (.env.local, secrets/prod.env)")
            && err.contains("--no-ignore"),
        "{err}"
    );
    let out = run(r, &["scan", ".", "--no-ignore"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("ignored by"), "{err}");
}

/// A gzip of 1 GiB of zeros, built without deflating a gigabyte: one MiB of zeros deflated and
/// flushed (a chunk that refers back only to itself), that chunk 1,024 times, a final empty
/// block, then gzip's trailer (the CRC-32 of 1 GiB of zeros, combined chunk by chunk).
fn gzip_of_a_gibibyte_of_zeros() -> Vec<u8> {
    use std::io::Write as _;
    let mib = vec![0u8; 1 << 20];
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(&mib).unwrap();
    e.flush().unwrap();
    let chunk = e.get_ref().clone();
    let mut one = crc32fast::Hasher::new();
    one.update(&mib);
    let mut crc = crc32fast::Hasher::new();
    let mut gz = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    for _ in 0..1024 {
        gz.extend_from_slice(&chunk);
        crc.combine(&one);
    }
    gz.extend_from_slice(&[0x03, 0x00]);
    gz.extend_from_slice(&crc.finalize().to_le_bytes());
    gz.extend_from_slice(&(1u32 << 30).to_le_bytes());
    gz
}

/// 42.zip's shape: `levels` levels of zips of 16 zips each, the innermost holding 16 files of
/// 2 MiB of zeros (16^levels files, 2 MiB each, in a few kilobytes).
fn nested_zip_bomb(levels: usize) -> Vec<u8> {
    use std::io::Write as _;
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let zeros = vec![0u8; 2 << 20];
    let mut inner: Option<Vec<u8>> = None;
    for _ in 0..levels {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for i in 0..16 {
            match &inner {
                None => {
                    w.start_file(format!("{i}.bin"), opts).unwrap();
                    w.write_all(&zeros).unwrap();
                }
                Some(z) => {
                    w.start_file(format!("{i}.zip"), opts).unwrap();
                    w.write_all(z).unwrap();
                }
            }
        }
        inner = Some(w.finish().unwrap().into_inner());
    }
    inner.unwrap()
}

/// The reasons of an incomplete JSON report's closing status.
fn reasons(out: &std::process::Output) -> Vec<(String, String)> {
    let v = json(out);
    let status = v.as_array().unwrap().last().unwrap().clone();
    assert_eq!(status["incomplete"], true, "{v}");
    status["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["gap"].as_str().unwrap().to_owned(),
                r["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn bombs_are_stopped_by_their_limits_with_the_reason_in_the_report() {
    let dir = TempDir::new().unwrap();
    let r = dir.path();
    let gz = gzip_of_a_gibibyte_of_zeros();
    assert!(gz.len() < 2 << 20, "{} bytes", gz.len());
    // It is what it says: gzip, zeros.
    let mut head = vec![0u8; 8 << 20];
    std::io::Read::read_exact(&mut flate2::read::GzDecoder::new(&gz[..]), &mut head).unwrap();
    assert!(head.iter().all(|&b| b == 0));
    write(r, "dist/zeros.gz", &gz);
    write(r, "dist/42.zip", nested_zip_bomb(5));
    write(r, "README.md", "nothing here\n");

    // Default depth 2: 42.zip's third level is not opened (256 zips), the gzip stops at its
    // ratio; the report says both, and the scan fails.
    let out = run(r, &["scan", ".", "-f", "json"]);
    expect_exit(&out, 2);
    let got = reasons(&out);
    assert!(
        got.iter().any(|(g, m)| g == "truncated"
            && m.starts_with(
                "256 archive(s) nested deeper than --max-archive-depth 2 were not opened"
            )
            && m.contains("dist/42.zip!0.zip!0.zip (depth 3)")),
        "{got:?}"
    );
    assert!(
        got.iter().any(|(g, m)| g == "truncated"
            && m.contains("stopped by a limit against decompression bombs")
            && m.contains("dist/zeros.gz: expands more than 100 times")),
        "{got:?}"
    );
    // Deeper: every level opens until the first 2 MiB of zeros trips the ratio.
    let out = run(
        r,
        &[
            "scan",
            "dist/42.zip",
            "-f",
            "json",
            "--max-archive-depth",
            "9",
        ],
    );
    expect_exit(&out, 2);
    let got = reasons(&out);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0]
            .1
            .contains("dist/42.zip!0.zip!0.zip!0.zip!0.zip: expands more than 100 times"),
        "{got:?}"
    );
    // The byte and entry limits, each named when it is the one that stops.
    write(
        r,
        "vigil.toml",
        "[scan]\nmax_archive_ratio = 100000\nmax_archive_size = \"16MiB\"\n",
    );
    let out = run(r, &["scan", ".", "-f", "json", "--max-archive-depth", "9"]);
    expect_exit(&out, 2);
    let got = reasons(&out);
    assert_eq!(got.len(), 1, "{got:?}");
    // Past the ratio limit the gigabyte of zeros is a member over the size limit: read (in
    // chunks, never skipped for its size: bb-scan-s9 F2) until the byte limit stops it too.
    assert!(
        got[0]
            .1
            .starts_with("2 archive(s) stopped by a limit against decompression bombs")
            && got[0]
                .1
                .contains("dist/42.zip!0.zip!0.zip!0.zip!0.zip: unpacks to more than 16 MiB")
            && got[0]
                .1
                .contains("dist/zeros.gz: unpacks to more than 16 MiB"),
        "{got:?}"
    );
    write(
        r,
        "vigil.toml",
        "[scan]\nmax_archive_ratio = 100000\nmax_archive_entries = 40\n",
    );
    let out = run(
        r,
        &[
            "scan",
            "dist/42.zip",
            "-f",
            "json",
            "--max-archive-depth",
            "9",
        ],
    );
    expect_exit(&out, 2);
    let got = reasons(&out);
    assert!(got[0].1.contains("holds more than 40 entries"), "{got:?}");
    // What a limit stopped is named in the report (stderr says once that the scan is
    // incomplete), and --allow-incomplete only changes the exit.
    std::fs::remove_file(r.join("vigil.toml")).unwrap();
    let out = run(r, &["scan", "dist/zeros.gz", "--allow-incomplete"]);
    expect_exit(&out, 0);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("incomplete scan: 1 reason(s) (the reasons are in the report on stdout); --allow-incomplete: exiting as if complete"),
        "{err}"
    );
    assert!(!err.contains("stopped by a limit"), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("incomplete: 1 archive(s) stopped"));
}

#[test]
fn the_neighbours_inline_markers_are_honoured_and_counted() {
    use base64::Engine as _;
    let dir = TempDir::new().unwrap();
    let r = dir.path();
    let gh = token("«ghp_{alnum:30}{ghcrc}»", 130);
    let or = token("«sk-or-v1-{hex:64}»", 131);
    let slack = token("«xoxb-{digits:12}-{digits:13}-{alnum:24}»", 132);
    let pem = token(
        "«-----BEGIN OPENSSH PRIVATE KEY-----\n{pem}\n-----END OPENSSH PRIVATE KEY-----»",
        133,
    );
    let kept = token("«gsk_{alnum:52}»", 134);
    // detect-secrets's same-line and next-line markers, gitleaks's, and a marked line holding
    // an encoded secret; one secret unmarked.
    write(
        r,
        ".env",
        format!("GITHUB_TOKEN={gh}  # pragma: allowlist secret\nGROQ_API_KEY={kept}\n"),
    );
    write(
        r,
        "config.py",
        format!("# pragma: allowlist nextline secret\nOPENROUTER = \"{or}\"\n"),
    );
    write(
        r,
        "bot.js",
        format!("const slack = \"{slack}\"; // gitleaks:allow\n"),
    );
    write(
        r,
        "keys.rs",
        format!(
            "const K: &str = \"{}\"; // pragma: allowlist secret\n",
            base64::engine::general_purpose::STANDARD.encode(&pem)
        ),
    );
    let out = run(r, &["scan", ".", "-f", "json"]);
    expect_exit(&out, 1);
    assert_eq!(
        triples(&json(&out)),
        [(".env".to_owned(), "groq-api-key".to_owned(), 2)]
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("; 4 allowed by marker"), "{err}");
    let out = run(r, &["scan", ".", "-f", "sarif"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["runs"][0]["invocations"][0]["properties"]["skipped"]["allowed_by_marker"],
        4
    );
    let md = String::from_utf8_lossy(&run(r, &["scan", ".", "-f", "markdown"]).stdout).into_owned();
    assert!(md.contains("Skipped: 4 allowed by marker."), "{md}");
    // A marker on another line (not the one before) allows nothing.
    write(
        r,
        "config.py",
        format!("# pragma: allowlist nextline secret\n\nOPENROUTER = \"{or}\"\n"),
    );
    let out = run(r, &["scan", "config.py", "-f", "json"]);
    expect_exit(&out, 1);
}

#[test]
fn twilio_keys_are_found_by_shape_after_bearer_or_in_an_authorization_header() {
    let dir = TempDir::new().unwrap();
    let r = dir.path();
    let sk = token("«SK{hex:32}»", 140);
    write(
        r,
        "calls.sh",
        format!("curl -s https://voice.example/v1/calls \\\n  -H 'Authorization: Bearer {sk}' \\\n  -d to=+15550100\n"),
    );
    write(
        r,
        "client.json",
        format!("{{\"headers\": {{\"Authorization\": \"{sk}\"}}}}\n"),
    );
    write(r, "build.txt", format!("artifact {sk}\n"));
    let out = run(r, &["scan", ".", "-f", "json"]);
    expect_exit(&out, 1);
    assert_eq!(
        triples(&json(&out)),
        [
            ("calls.sh".to_owned(), "twilio-api-key".to_owned(), 2),
            ("client.json".to_owned(), "twilio-api-key".to_owned(), 1),
        ],
        "the bare shape in build.txt proves nothing"
    );
}

#[test]
fn the_generic_rule_knows_files_whose_values_are_never_secrets() {
    let dir = TempDir::new().unwrap();
    let r = dir.path();
    let value = token("«{alnum:32}»", 150);
    let hex40 = token("«{hex:40}»", 151);
    let line = format!("api_secret = \"{value}\"\n");
    // The same assignment is a finding in code, and not in files that hold values by design.
    write(r, "src/settings.py", &line);
    for f in [
        "Cargo.lock",
        "web/package-lock.json",
        "uv.lock",
        "icons/key.svg",
        ".secrets.baseline",
    ] {
        write(r, f, &line);
    }
    write(
        r,
        "dist/app.min.js",
        format!("var a=1;{}token:\"{value}\"\n", "x=1;".repeat(300)),
    );
    write(r, "src/app.js", format!("const token = \"{value}\";\n"));
    // Digests: in a scanner's report, and under a digest key anywhere.
    write(
        r,
        "reports/gitleaks-report.json",
        format!("[{{\"Secret\": \"{hex40}\"}}]\n"),
    );
    write(
        r,
        "manifest.json",
        format!("{{\"hashed_secret\": \"{hex40}\"}}\n"),
    );
    write(
        r,
        "config.json",
        format!("{{\"client_secret\": \"{hex40}\"}}\n"),
    );
    let out = run(r, &["scan", ".", "-f", "json"]);
    expect_exit(&out, 1);
    assert_eq!(
        triples(&json(&out)),
        [
            ("config.json".to_owned(), "generic-api-key".to_owned(), 1),
            ("src/app.js".to_owned(), "generic-api-key".to_owned(), 1),
            (
                "src/settings.py".to_owned(),
                "generic-api-key".to_owned(),
                1
            ),
        ]
    );
}

#[test]
fn a_scan_of_paths_that_reads_no_file_is_not_clean() {
    let dir = TempDir::new().unwrap();
    let r = dir.path();
    // Nothing at all, then only what is skipped: never "clean".
    let out = run(r, &["scan", ".", "-f", "json"]);
    expect_exit(&out, 2);
    let v = json(&out);
    assert_eq!(
        v.as_array().unwrap().last().unwrap()["reasons"][0]["gap"],
        "nothing-scanned"
    );
    write(r, "sub/.ignore", "*\n");
    write(r, "sub/app.log", "hello\n");
    let out = run(r, &["scan", "sub"]);
    expect_exit(&out, 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nothing was scanned"), "{err}");
    // One file is enough, a binary one too: its printable runs are read.
    write(r, "logo.png", [0x89u8, b'P', b'N', b'G', 0, 0, 0, 13]);
    expect_exit(&run(r, &["scan", "logo.png"]), 0);
    // stdin is one input however it looks.
    let out = vigil(r)
        .args(["scan", "-"])
        .write_stdin(Vec::<u8>::new())
        .output()
        .unwrap();
    expect_exit(&out, 0);
}

#[test]
fn decoding_stops_at_its_budget_and_says_so() {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let dir = TempDir::new().unwrap();
    let r = dir.path();
    // 256 KiB of lines that are base64 of base64 of text: decoding two levels deep would scan
    // about 1.3 times the file, more than the budget (the file's own size).
    let line = b64(&b64(
        "the quick brown fox jumps over the lazy dog, again and again",
    ));
    let body: String =
        std::iter::repeat_n(format!("{line}\n"), 256 * 1024 / (line.len() + 1)).collect();
    write(r, "vectors.txt", &body);
    let out = run(r, &["scan", ".", "-f", "json"]);
    expect_exit(&out, 2);
    let v = json(&out);
    let status = v.as_array().unwrap().last().unwrap();
    assert_eq!(status["reasons"][0]["gap"], "truncated", "{status}");
    assert!(
        status["reasons"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with(
                "decoding stopped at its budget (the file's own size) in 1 file(s): vectors.txt"
            ),
        "{status}"
    );
    // One level costs less than the file, but what it decodes is base64 again, not looked
    // at: incomplete too, for that reason (black-box finding 8).
    let out = run(r, &["scan", ".", "--max-decode-depth", "1", "-f", "json"]);
    expect_exit(&out, 2);
    let v = json(&out);
    let status = v.as_array().unwrap().last().unwrap();
    assert!(
        status["reasons"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("1 file(s) hold text encoded more than --max-decode-depth 1 times"),
        "{status}"
    );
    expect_exit(
        &run(
            r,
            &["scan", ".", "--max-decode-depth", "1", "--allow-incomplete"],
        ),
        0,
    );
}

#[test]
fn archives_are_recognised_by_their_bytes_not_their_names() {
    use std::io::Write as _;
    let dir = TempDir::new().unwrap();
    let r = dir.path();
    let work = TempDir::new().unwrap();
    let w = work.path();
    // A `docker save` image: a tar of layers named by digest, each layer a tar without extension.
    let gh = token("«ghp_{alnum:30}{ghcrc}»", 140);
    write(w, "layer/app/.env", format!("GITHUB_TOKEN={gh}\n"));
    let digest = "3f4a9c1d0e8b7a6f5e4d3c2b1a09f8e7d6c5b4a3928170f6e5d4c3b2a1908f7e";
    let tar = |cwd: &std::path::Path, out: &std::path::Path, what: &str| {
        let st = Std::new("tar")
            .current_dir(cwd)
            .arg("cf")
            .arg(out)
            .arg(what)
            .status()
            .unwrap();
        assert!(st.success());
    };
    std::fs::create_dir_all(w.join(format!("image/{digest}"))).unwrap();
    tar(
        &w.join("layer"),
        &w.join(format!("image/{digest}/layer")),
        "app",
    );
    write(w, "image/manifest.json", "[]\n");
    tar(&w.join("image"), &r.join("image"), ".");
    // Java, .NET and Android packages are zips; a gzip without a name; a text file named .zip.
    let zip = |member: &str, body: String| {
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        z.start_file(member, opts).unwrap();
        z.write_all(body.as_bytes()).unwrap();
        z.finish().unwrap().into_inner()
    };
    let groq = token("«gsk_{alnum:52}»", 141);
    let or = token("«sk-or-v1-{hex:64}»", 142);
    let slack = token("«xoxb-{digits:12}-{digits:13}-{alnum:24}»", 143);
    write(
        r,
        "libs/app.jar",
        zip(
            "BOOT-INF/classes/application.properties",
            format!("groq.key={groq}\n"),
        ),
    );
    write(
        r,
        "pkgs/Bot.1.0.0.nupkg",
        zip(
            "content/appsettings.json",
            format!("{{\"OpenRouter\": \"{or}\"}}\n"),
        ),
    );
    write(
        r,
        "app-release.apk",
        zip("assets/config.txt", format!("SLACK_BOT_TOKEN={slack}\n")),
    );
    let anthropic = token("«sk-ant-api03-{b64url:93}AA»", 144);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(format!("ANTHROPIC_API_KEY={anthropic}\n").as_bytes())
        .unwrap();
    write(r, "blobs/sha256-0a1b2c", gz.finish().unwrap());
    let groq2 = token("«gsk_{alnum:52}»", 145);
    write(r, "notes.zip", format!("GROQ_API_KEY={groq2}\n"));

    let out = run(r, &["scan", ".", "-f", "json"]);
    expect_exit(&out, 1);
    let v = json(&out);
    let mut got: Vec<(String, String, serde_json::Value)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_owned(),
                f["rule"].as_str().unwrap().to_owned(),
                f["archive_path"].clone(),
            )
        })
        .collect();
    got.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let layer = format!("./{digest}/layer");
    assert_eq!(
        got,
        vec![
            (
                "app-release.apk!assets/config.txt".to_owned(),
                "slack-bot-token".to_owned(),
                serde_json::json!(["assets/config.txt"])
            ),
            (
                // A gzip whose name does not end in .gz holds one member named `-`.
                "blobs/sha256-0a1b2c!-".to_owned(),
                "anthropic-api-key".to_owned(),
                serde_json::json!(["-"])
            ),
            (
                format!("image!{layer}!app/.env"),
                "github-pat".to_owned(),
                serde_json::json!([layer, "app/.env"])
            ),
            (
                "libs/app.jar!BOOT-INF/classes/application.properties".to_owned(),
                "groq-api-key".to_owned(),
                serde_json::json!(["BOOT-INF/classes/application.properties"])
            ),
            (
                "notes.zip".to_owned(),
                "groq-api-key".to_owned(),
                serde_json::Value::Null
            ),
            (
                "pkgs/Bot.1.0.0.nupkg!content/appsettings.json".to_owned(),
                "openrouter-api-key".to_owned(),
                serde_json::json!(["content/appsettings.json"])
            ),
        ]
    );
    // Depth 1 opens the image but not the layer inside it, and says so.
    let out = run(
        r,
        &["scan", "image", "-f", "json", "--max-archive-depth", "1"],
    );
    expect_exit(&out, 2);
    let got = reasons(&out);
    assert!(
        got.iter().any(|(g, m)| g == "truncated"
            && m.contains("nested deeper than --max-archive-depth 1")
            && m.contains(&format!("image!{layer}"))),
        "{got:?}"
    );
    // Depth 0 opens no archive: a gap too, never a silent pass.
    let out = run(r, &["scan", "libs/app.jar", "--max-archive-depth", "0"]);
    expect_exit(&out, 2);
}

#[test]
fn escaped_text_is_decoded_and_a_missing_path_is_not_clean() {
    let dir = TempDir::new().unwrap();
    let r = dir.path();
    let gh = token("«ghp_{alnum:30}{ghcrc}»", 150);
    let or = token("«sk-or-v1-{hex:64}»", 151);
    // JSON's \u escapes and Python's \x escapes of every character.
    let u: String = gh.chars().map(|c| format!("\\u{:04x}", c as u32)).collect();
    let x: String = or.bytes().map(|b| format!("\\x{b:02x}")).collect();
    write(r, "config.json", format!("{{\"token\": \"{u}\"}}\n"));
    write(r, "bot.py", format!("KEY = b\"{x}\"\n"));
    let out = run(r, &["scan", ".", "-f", "json"]);
    expect_exit(&out, 1);
    let v = json(&out);
    let mut got: Vec<(String, String, u64, u64, serde_json::Value)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_owned(),
                f["rule"].as_str().unwrap().to_owned(),
                f["line"].as_u64().unwrap(),
                f["column"].as_u64().unwrap(),
                f["decoded"].clone(),
            )
        })
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        got,
        vec![
            (
                "bot.py".to_owned(),
                "openrouter-api-key".to_owned(),
                1,
                9,
                serde_json::json!(["escapes"])
            ),
            (
                "config.json".to_owned(),
                "github-pat".to_owned(),
                1,
                12,
                serde_json::json!(["escapes"])
            ),
        ]
    );
    // A path that is not there: the scan could not look, so it is not clean; to stdout, an
    // input error on one line; in a report file, the reasons.
    let out = run(r, &["scan", "bot.py", "no-such-dir"]);
    expect_exit(&out, 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("vigil: no-such-dir: cannot scan"), "{err}");
    let out = run(r, &["scan", "no-such-dir", "-f", "json", "-o", "gap.json"]);
    expect_exit(&out, 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("incomplete scan: 2 reason(s) (the reasons are in gap.json); exit 2"),
        "{err}"
    );
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(r.join("gap.json")).unwrap()).unwrap();
    let status = v.as_array().unwrap().last().unwrap();
    let got: Vec<&str> = status["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["gap"].as_str().unwrap())
        .collect();
    assert_eq!(got, ["unreadable", "nothing-scanned"]);
    // --allow-incomplete: the report still says so, only the exit changes.
    let out = run(
        r,
        &["scan", "no-such-dir", "--allow-incomplete", "-f", "sarif"],
    );
    expect_exit(&out, 0);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["runs"][0]["invocations"][0]["executionSuccessful"], false,
        "{v}"
    );
}

#[test]
fn placeholders_stay_quiet_once_decoded() {
    let dir = TempDir::new().unwrap();
    let r = dir.path();
    // astral-sh/uv's wheel.rs test URL: a percent-encoded SigV4 scope, decoded by the scanner.
    write(
        r,
        "wheel.rs",
        "        let url_str = \"https://foo.r2.cloudflarestorage.com/bar/pyfory-0.12.0.dev0-cp312-cp312-linux_aarch64.whl?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=foo%2Fauto%2Fs3%2Faws4_request&X-Amz-Date=20250623T043147Z&X-Amz-Expires=604800&X-Amz-SignedHeaders=host&X-Amz-Signature=bar\";\n",
    );
    let out = run(r, &["scan", ".", "-f", "json"]);
    expect_exit(&out, 0);
    // The same query holding a real-looking secret is still found once decoded.
    let key = token("«{alnum:32}»", 160);
    write(
        r,
        "client.rs",
        format!("let u = \"https://api.example.org/v1?x=1%26api_key%3D{key}%26page%3D2\";\n"),
    );
    let out = run(r, &["scan", ".", "-f", "json"]);
    expect_exit(&out, 1);
    let v = json(&out);
    assert_eq!(v[0]["file"], "client.rs", "{v}");
    assert_eq!(v[0]["decoded"], serde_json::json!(["percent"]), "{v}");
}

// ---------------------------------------------------------------------------------------------
// Black-box report on issue 15 (h15-blackbox.md): E, H, I, P.
// ---------------------------------------------------------------------------------------------

fn slack_token(seed: u64) -> String {
    token("«xoxb-{digits:12}-{digits:13}-{alnum:24}»", seed)
}

/// E: in a git work tree, files git tracks are scanned whatever an ignore rule says (ignore
/// rules prune only untracked files), and a scan that reads nothing where files are is exit 2.
#[test]
fn tracked_files_are_scanned_whatever_the_ignore_rules_say() {
    let dir = TempDir::new().unwrap();
    let r = dir.path();
    git(r, &["init", "-q", "-b", "main"]);
    write(r, "config.py", format!("SLACK = '{}'\n", slack_token(301)));
    write(r, "README.md", "# bot\n");
    git(r, &["add", "-A"]);
    git(r, &["commit", "-q", "-m", "one"]);
    write(r, ".gitignore", "config.py\n");
    let out = run(r, &["scan", ".", "-f", "json"]);
    expect_exit(&out, 1);
    assert_eq!(
        triples(&json(&out)),
        vec![("config.py".into(), "slack-bot-token".into(), 1)]
    );
    // A committed `.ignore` that ignores everything.
    write(r, ".ignore", "*\n");
    git(r, &["add", "-f", ".ignore", ".gitignore"]);
    git(r, &["commit", "-q", "-m", "ignore all"]);
    let out = run(r, &["scan", "."]);
    expect_exit(&out, 1);
    let out = run(r, &["scan", "--no-ignore", "."]);
    expect_exit(&out, 1);
    // Outside git: every file excluded by ignore rules is not a clean scan.
    let plain = TempDir::new().unwrap();
    let p = plain.path();
    write(p, ".ignore", "*\n");
    write(p, "config.py", format!("SLACK = '{}'\n", slack_token(302)));
    let out = run(p, &["scan", "."]);
    expect_exit(&out, 2);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("nothing was scanned") && e.contains("--no-ignore"),
        "{e}"
    );
    assert_eq!(e.trim().lines().count(), 1, "{e}");
    // An empty folder read no file either: issue 20's model makes that an incomplete scan
    // (exit 2, reason `nothing-scanned`), which --allow-incomplete accepts.
    let empty = TempDir::new().unwrap();
    let out = run(empty.path(), &["scan", "."]);
    expect_exit(&out, 2);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("incomplete scan: 1 reason(s)"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("incomplete: no file was scanned"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    expect_exit(&run(empty.path(), &["scan", ".", "--allow-incomplete"]), 0);
}

/// H: a report or replacements file with secrets in clear is never written through a link
/// (the check applies to what is really written).
#[test]
fn reports_with_secrets_are_never_written_through_a_link() {
    let p = planted();
    let r = p.dir.path();
    let victim = write(r, "legacy/notes.txt", "my notes\n");
    std::fs::create_dir_all(r.join("out")).unwrap();
    std::os::unix::fs::symlink("../legacy/notes.txt", r.join("out/link.txt")).unwrap();
    let out = run(
        r,
        &[
            "scan",
            ".",
            "--show-secrets",
            "-f",
            "json",
            "-o",
            "out/link.txt",
        ],
    );
    expect_exit(&out, 2);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("out/link.txt") && e.contains("link"), "{e}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "my notes\n");
    assert!(std::fs::symlink_metadata(r.join("out/link.txt"))
        .unwrap()
        .file_type()
        .is_symlink());
    // A device the user names is still written in place.
    let out = run(
        r,
        &[
            "scan",
            ".",
            "--show-secrets",
            "-f",
            "json",
            "-o",
            "/dev/null",
        ],
    );
    expect_exit(&out, 1);
}

/// I: baseline entries are a deliberately slow salted hash (Argon2id), never a fast SHA-256 a
/// guesser could run offline; reports' `hash` is not the cheap unsalted content hash either,
/// and an older baseline still matches, with a warning to rewrite it.
#[test]
fn baselines_and_report_hashes_are_no_cheap_oracle() {
    let dir = TempDir::new().unwrap();
    let r = dir.path();
    let weak = "Summer2024xWinter7";
    write(r, "app.py", format!("password = \"{weak}\"\n"));
    let out = run(r, &["scan", "app.py", "-f", "json"]);
    expect_exit(&out, 1);
    let v = json(&out);
    let f = &v[0];
    let rule = f["rule"].as_str().unwrap().to_owned();
    let cheap = vigil_scan::finding::content_hash(&rule, "app.py", weak);
    assert_ne!(
        f["hash"].as_str().unwrap(),
        cheap,
        "the report's hash is the cheap oracle"
    );
    // The report hash is the slow one, the same in every run and format: SARIF's `vigil/v2`
    // fingerprint stays stable for code scanning.
    let slow = vigil_scan::baseline::report_hash(&rule, "app.py", weak);
    assert_eq!(f["hash"].as_str().unwrap(), slow);
    for _ in 0..2 {
        let out = run(r, &["scan", "app.py", "-f", "sarif"]);
        expect_exit(&out, 1);
        let s = json(&out);
        let fp = &s["runs"][0]["results"][0]["partialFingerprints"];
        assert_eq!(fp["vigil/v2"].as_str(), Some(slow.as_str()), "{fp}");
        assert_eq!(
            fp["gitleaks/fingerprint"],
            format!("app.py:{rule}:1"),
            "{fp}"
        );
    }
    let out = run(r, &["scan", "app.py", "-f", "csv"]);
    expect_exit(&out, 1);
    assert!(String::from_utf8_lossy(&out.stdout).contains(&slow));
    expect_exit(
        &run(r, &["scan", "app.py", "--baseline-write", "base.json"]),
        0,
    );
    let b: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(r.join("base.json")).unwrap()).unwrap();
    assert_eq!(b["vigil_baseline"], 3, "{b}");
    assert!(b["kdf"].as_str().unwrap().starts_with("argon2id"), "{b}");
    let salt = b["salt"].as_str().unwrap();
    let entry = b["findings"][0]["hash"].as_str().unwrap();
    // Not the former fast format (SHA-256 over salt, tag, rule, file, secret).
    let fast = {
        use sha2::Digest as _;
        let mut h = sha2::Sha256::new();
        for part in [salt, "vigil-baseline-v2", rule.as_str(), "app.py", weak] {
            h.update(part.as_bytes());
            h.update([0u8]);
        }
        h.finalize()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    assert_ne!(entry, fast);
    expect_exit(&run(r, &["scan", "app.py", "--baseline", "base.json"]), 0);
    write(r, "app.py", format!("password = \"{weak}8\"\n"));
    expect_exit(&run(r, &["scan", "app.py", "--baseline", "base.json"]), 1);
    // A format-2 baseline (fast salted hashes) still matches, with a warning to rewrite it.
    write(r, "app.py", format!("password = \"{weak}\"\n"));
    let v2 = serde_json::json!({
        "vigil_baseline": 2, "salt": salt,
        "findings": [{"rule": rule, "file": "app.py", "line": 1, "hash": fast}],
    });
    write(r, "v2.json", v2.to_string());
    let out = run(r, &["scan", "app.py", "--baseline", "v2.json"]);
    expect_exit(&out, 0);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--baseline-write"));
}

/// P: file names with control characters are escaped in the human report and the summary.
#[test]
fn file_names_with_control_characters_are_escaped() {
    let dir = TempDir::new().unwrap();
    let r = dir.path();
    write(
        r,
        "evil\x1b[2J\nname.py",
        format!("SLACK = '{}'\n", slack_token(303)),
    );
    let out = run(r, &["scan", "."]);
    expect_exit(&out, 1);
    let o = String::from_utf8_lossy(&out.stdout);
    assert!(!o.contains('\x1b'), "{o:?}");
    assert!(o.contains("evil\\u{1b}[2J\\nname.py"), "{o:?}");
}

/// Black-box finding 11: one long line of `token=` (2.4 MB took 14 s, 9 MB never finished) and
/// 300,000 lines of a PEM header alone (9.9 s) now cost work in proportion to their size (the
/// counts are checked in vigil-scan's `work_grows_linearly_on_long_repetitive_input`); here the
/// scan of each, with a real token after the repetition, finishes and finds that token.
#[test]
fn long_repetitive_lines_are_scanned_through() {
    let dir = TempDir::new().unwrap();
    let r = dir.path();
    let gh = token("«ghp_{alnum:30}{ghcrc}»", 2011);
    write(
        r,
        "tokens.txt",
        format!("{}\nGITHUB_TOKEN={gh}\n", "token=".repeat(700_000)),
    );
    write(
        r,
        "headers.pem",
        format!(
            "{}GITHUB_TOKEN={gh}\n",
            "-----BEGIN PRIVATE KEY-----\n".repeat(300_000)
        ),
    );
    let out = run(r, &["scan", ".", "-f", "json"]);
    expect_exit(&out, 1);
    assert_eq!(
        triples(&json(&out)),
        vec![
            ("headers.pem".into(), "github-pat".into(), 300_001),
            ("tokens.txt".into(), "github-pat".into(), 2),
        ],
        "a file of PEM headers holds no key"
    );
}

/// Black-box finding 8: a secret encoded more times than `--max-decode-depth` is not silently
/// passed: the scan is incomplete (exit 2, as an archive nested too deep), naming the file and
/// the flag; a deeper `--max-decode-depth` finds the secret, with its decoding chain.
#[test]
fn a_decode_chain_past_the_depth_is_incomplete() {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let dir = TempDir::new().unwrap();
    let r = dir.path();
    let gh = token("«ghp_{alnum:30}{ghcrc}»", 2012);
    write(
        r,
        "blob.txt",
        format!("data = \"{}\"\n", b64(&b64(&b64(&gh)))),
    );
    let out = run(r, &["scan", ".", "--max-decode-depth", "2", "-f", "json"]);
    expect_exit(&out, 2);
    let v = json(&out);
    let status = v.as_array().unwrap().last().unwrap();
    assert_eq!(status["reasons"][0]["gap"], "truncated", "{status}");
    assert_eq!(
        status["reasons"][0]["message"],
        "1 file(s) hold text encoded more than --max-decode-depth 2 times, not decoded further: blob.txt",
        "{status}"
    );
    let text = run(r, &["scan", ".", "--max-decode-depth", "2"]);
    expect_exit(&text, 2);
    // The reason in the text report, once; stderr says once that the scan is incomplete.
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("--max-decode-depth 2"),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );
    assert!(
        String::from_utf8_lossy(&text.stderr).contains("incomplete scan: 1 reason(s)"),
        "{}",
        String::from_utf8_lossy(&text.stderr)
    );
    let out = run(r, &["scan", ".", "--max-decode-depth", "3", "-f", "json"]);
    expect_exit(&out, 1);
    let v = json(&out);
    assert_eq!(v[0]["rule"], "github-pat", "{v}");
    // Every layer is named, repeats too (bb-scan-s6 W3).
    assert_eq!(
        v[0]["decoded"],
        serde_json::json!(["base64", "base64", "base64"]),
        "{v}"
    );
    // Three encodings are within the default depth (3): found, complete.
    let out = run(r, &["scan", ".", "-f", "json"]);
    expect_exit(&out, 1);
    assert_eq!(json(&out)[0]["rule"], "github-pat");
}

/// Black-box finding 9: UTF-16 text (LE or BE, with or without a byte-order mark), common for
/// Windows `.reg`, `.ps1` and `.config` files, is read as text, not skipped as binary: in
/// files and in git history. Findings say they were decoded from UTF-16.
#[test]
fn utf16_text_is_decoded_and_scanned() {
    let dir = TempDir::new().unwrap();
    let r = dir.path();
    let gh = token("«ghp_{alnum:30}{ghcrc}»", 2013);
    let text = format!("Windows Registry Editor Version 5.00\r\n\"Token\"=\"{gh}\"\r\n");
    let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
    write(r, "le.reg", &le);
    write(r, "le-bom.reg", [&[0xFF, 0xFE][..], &le].concat());
    write(r, "be-bom.ps1", [&[0xFE, 0xFF][..], &be].concat());
    write(r, "be.config", &be);
    // Real binary stays binary.
    write(
        r,
        "app.bin",
        [0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    );
    let out = run(r, &["scan", ".", "-f", "json"]);
    expect_exit(&out, 1);
    let v = json(&out);
    let found: Vec<(String, u64)> = triples(&v)
        .into_iter()
        .map(|(f, rule, line)| {
            assert_eq!(rule, "github-pat");
            (f, line)
        })
        .collect();
    assert_eq!(
        found,
        vec![
            ("be-bom.ps1".into(), 2),
            ("be.config".into(), 2),
            ("le-bom.reg".into(), 2),
            ("le.reg".into(), 2),
        ]
    );
    for f in v
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f.get("rule").is_some())
    {
        assert_eq!(f["decoded"], serde_json::json!(["utf-16"]), "{f}");
    }
    let summary = run(r, &["scan", "."]);
    let err = String::from_utf8_lossy(&summary.stderr);
    assert!(err.contains("4 read as UTF-16 or UTF-32"), "{err}");
    assert!(err.contains("1 binary read by printable runs"), "{err}");
    // In history too.
    let g = TempDir::new().unwrap();
    let g = g.path();
    git(g, &["init", "-q", "-b", "main"]);
    write(g, "u.txt", &le);
    git(g, &["add", "-A"]);
    git(g, &["commit", "-q", "-m", "utf16"]);
    let out = run(g, &["scan", "--git", "-f", "json"]);
    expect_exit(&out, 1);
    let v = json(&out);
    assert_eq!(v[0]["file"], "u.txt", "{v}");
    assert_eq!(v[0]["rule"], "github-pat", "{v}");
}

/// bb-git-s8 #2: the project's own `vigil.toml` may turn a built-in rule off (it is obeyed), but
/// never in silence; a rule with a built-in's id is added beside it (`-custom`), with a warning.
#[test]
fn a_vigil_toml_that_turns_built_in_rules_off_says_so() {
    let dir = tempfile::TempDir::new().unwrap();
    let d = dir.path();
    common::write(
        d,
        "vigil.toml",
        "[scan.extend]\ndisabledRules = [\"github-pat\"]\n\n[[scan.rules]]\nid = \"aws-access-token\"\nregex = '''(nothing-matches-this)'''\n",
    );
    common::write(d, "a.txt", "nothing here\n");
    let out = common::run(d, &["scan", "."]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("disabledRules turns the built-in rules github-pat off"),
        "{err}"
    );
    assert!(
        err.contains("redefines the built-in rules aws-access-token (its versions are added as aws-access-token-custom)"),
        "{err}"
    );
}

/// Tester helper-117 H1: what an archive holds outside its members' bytes is scanned: a member's
/// name and a link's target (as names, masked where printed), a tar's pax records, a second tar
/// after the first (`cat a.tar b.tar`), bytes after a tar's end or a zip's end record, and a
/// zip's comments. Python's `tarfile` and `zipfile` build them.
#[test]
fn what_archives_hold_outside_their_members_is_scanned() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let t: Vec<String> = (0..8)
        .map(|i| token("ghp_{alnum:30}{ghcrc}", 4100 + i))
        .collect();
    let script = r#"
import io, sys, tarfile, zipfile
t = sys.argv[1:]
def tar(items, **kw):
    b = io.BytesIO(); a = tarfile.open(fileobj=b, mode="w", **kw)
    for name, data, link in items:
        i = tarfile.TarInfo(name)
        if link:
            i.type = tarfile.SYMTYPE; i.linkname = link; a.addfile(i)
        else:
            i.size = len(data); a.addfile(i, io.BytesIO(data))
    a.close(); return b.getvalue()
ok = ("a.txt", b"hi\n", None)
open("concat.tar", "wb").write(tar([ok]) + tar([(".env", ("K=" + t[0] + "\n").encode(), None)]))
open("trailer.tar", "wb").write(tar([ok]) + ("K=" + t[1] + "\n").encode())
open("pax.tar", "wb").write(tar([ok], format=tarfile.PAX_FORMAT, pax_headers={"comment": "K=" + t[2]}))
open("name.tar", "wb").write(tar([("cfg/" + t[3] + ".txt", b"hi\n", None)]))
open("link.tar", "wb").write(tar([("l", b"", "/x/" + t[4])]))
def z(fn, after=b"", comment=None, name="a.txt"):
    b = io.BytesIO(); a = zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED); a.writestr(name, "hi\n")
    if comment: a.comment = comment.encode()
    a.close(); open(fn, "wb").write(b.getvalue() + after)
z("after.zip", after=("\nK=" + t[5] + "\n").encode())
z("comment.zip", comment="K=" + t[6])
z("name.zip", name="cfg/" + t[7] + ".txt")
"#;
    let st = Std::new("python3")
        .current_dir(d)
        .arg("-c")
        .arg(script)
        .args(&t)
        .status()
        .expect("python3 runs");
    assert!(st.success());
    let out = run(d, &["scan", ".", "-f", "json", "--show-secrets"]);
    expect_exit(&out, 1);
    // A name finding has no line: (file, secret) of every finding.
    let got: Vec<(String, String)> = json(&out)
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f.get("rule").is_some())
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_owned(),
                f["secret"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let masked = |s: &str| format!("{}…{}", &s[..4], &s[s.len() - 4..]);
    let mut want = vec![
        ("concat.tar!.env".to_owned(), t[0].clone()),
        ("trailer.tar!<after the end>".to_owned(), t[1].clone()),
        ("pax.tar!<headers>".to_owned(), t[2].clone()),
        (format!("name.tar!cfg/{}.txt", masked(&t[3])), t[3].clone()),
        (format!("link.tar!/x/{}", masked(&t[4])), t[4].clone()),
        ("after.zip!<after the end>".to_owned(), t[5].clone()),
        ("comment.zip!<comments>".to_owned(), t[6].clone()),
        (format!("name.zip!cfg/{}.txt", masked(&t[7])), t[7].clone()),
    ];
    want.sort();
    let mut got = got;
    got.sort();
    assert_eq!(got, want);
}
