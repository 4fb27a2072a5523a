//! `vigil scan` end to end through the real binary: a planted tree found in full with no
//! placeholder reported, exit codes, every report format (SARIF checked against the official
//! schema), baselines, ignore files, stdin, and inputs that must not crash it.

mod common;

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
    let out = run(p.dir.path(), &["scan", "no/such/dir"]);
    expect_exit(&out, 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("vigil: no/such/dir: cannot scan"), "{err}");
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
    let huge = std::fs::File::create(r.join("huge.log")).unwrap();
    huge.set_len(1 << 30).unwrap();
    std::os::unix::fs::symlink(r.join("loop"), r.join("loop/self")).ok();
    std::fs::create_dir(r.join("loop")).unwrap();
    std::os::unix::fs::symlink(r, r.join("loop/self")).unwrap();
    let out = run(r, &["scan", ".", "-f", "json", "--follow-symlinks"]);
    let err = String::from_utf8_lossy(&out.stderr);
    expect_exit(&out, 1);
    assert_eq!(
        triples(&json(&out)),
        vec![(
            "latin1.txt".to_string(),
            "openrouter-api-key".to_string(),
            1
        )]
    );
    assert!(err.contains("skipped 1 binary, 1 over 10 MiB"), "{err}");
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
    expect_exit(&out, 0);
    assert!(err.contains("locked.env: cannot read"), "{err}");
    assert!(err.contains("1 unreadable"), "{err}");
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
    expect_exit(&run(r, &["scan", "bot.py", "--baseline", "base.json"]), 0);
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

// ---------------------------------------------------------------------------------------------
// Black-box report on issue 15 (h15-blackbox.md): E, H, I, P.
// ---------------------------------------------------------------------------------------------

fn git_in(d: &std::path::Path, args: &[&str]) {
    let out = Std::new("git")
        .current_dir(d)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", d)
        .env("GIT_AUTHOR_NAME", "T")
        .env("GIT_AUTHOR_EMAIL", "t@example.org")
        .env("GIT_COMMITTER_NAME", "T")
        .env("GIT_COMMITTER_EMAIL", "t@example.org")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn slack_token(seed: u64) -> String {
    token("«xoxb-{digits:12}-{digits:13}-{alnum:24}»", seed)
}

/// E: in a git work tree, files git tracks are scanned whatever an ignore rule says (ignore
/// rules prune only untracked files), and a scan that reads nothing where files are is exit 2.
#[test]
fn tracked_files_are_scanned_whatever_the_ignore_rules_say() {
    let dir = TempDir::new().unwrap();
    let r = dir.path();
    git_in(r, &["init", "-q", "-b", "main"]);
    write(r, "config.py", format!("SLACK = '{}'\n", slack_token(301)));
    write(r, "README.md", "# bot\n");
    git_in(r, &["add", "-A"]);
    git_in(r, &["commit", "-q", "-m", "one"]);
    write(r, ".gitignore", "config.py\n");
    let out = run(r, &["scan", ".", "-f", "json"]);
    expect_exit(&out, 1);
    assert_eq!(
        triples(&json(&out)),
        vec![("config.py".into(), "slack-bot-token".into(), 1)]
    );
    // A committed `.ignore` that ignores everything.
    write(r, ".ignore", "*\n");
    git_in(r, &["add", "-f", ".ignore", ".gitignore"]);
    git_in(r, &["commit", "-q", "-m", "ignore all"]);
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
    // An empty folder is simply clean.
    let empty = TempDir::new().unwrap();
    expect_exit(&run(empty.path(), &["scan", "."]), 0);
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
