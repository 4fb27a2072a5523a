//! `vigil lint` end to end: one configuration of each supported client (built from the
//! clients' documented examples), a voice manifest, a tools/list snapshot, a compose stack and a
//! Discord bot, in a clean and a faulty version; every planted problem reported at its file and
//! line, nothing in the clean ones. Faulty files are templates: `{alnum:32}`-style secrets are
//! generated here and `⟦rule⟧` marks the line a finding of `rule` must be on. Also: SARIF
//! against the official schema, redaction, exit codes, `[lint]`, `--pin`, `--discover`, and
//! `--probe` against a real `vigil gateway` and a deliberately bad server.

mod common;

use common::{expect_exit, json, run, vigil};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use tempfile::TempDir;
use vigil_scan::examples::{expand, Gen};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/lint-clients")
}

/// Expands `{class:N}`, `{today}` and strips `⟦rule⟧` markers, recording (line, rule).
fn instantiate(text: &str, seed: u64) -> (String, Vec<(usize, String)>) {
    let tpl = regex::Regex::new(
        r"\{(alnum|alpha|hex|digits|b64url|b64digits|lowernum)(?::(\d+))?\}|\{today\}",
    )
    .unwrap();
    let mut gen = Gen::new(seed);
    let today = {
        let out = std::process::Command::new("date")
            .arg("+%F")
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let text = tpl.replace_all(text, |c: &regex::Captures<'_>| {
        if &c[0] == "{today}" {
            today.clone()
        } else {
            let e = expand(&c[0], &mut gen).unwrap();
            e.text
        }
    });
    let marker = regex::Regex::new(r"\s*⟦([a-z0-9-]+)⟧").unwrap();
    let mut planted = Vec::new();
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        for c in marker.captures_iter(line) {
            planted.push((i + 1, c[1].to_owned()));
        }
        out.push_str(&marker.replace_all(line, ""));
        out.push('\n');
    }
    (out, planted)
}

/// Copies a fixture tree into `dest`, instantiated; returns every planted (file, line, rule).
fn materialize(src: &Path, dest: &Path) -> BTreeSet<(String, u64, String)> {
    let mut planted = BTreeSet::new();
    let mut stack = vec![src.to_owned()];
    let mut seed = 1;
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let rel = p.strip_prefix(src).unwrap().to_string_lossy().into_owned();
            seed += 1;
            let (text, marks) = instantiate(&std::fs::read_to_string(&p).unwrap(), seed);
            common::write(dest, &rel, text);
            for (line, rule) in marks {
                planted.insert((rel.clone(), line as u64, rule));
            }
        }
    }
    planted
}

fn found(v: &serde_json::Value) -> BTreeSet<(String, u64, String)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_owned(),
                f["line"].as_u64().unwrap_or(0),
                f["rule"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn every_client_clean_config_is_clean() {
    let dir = TempDir::new().unwrap();
    let planted = materialize(&fixtures().join("clean"), dir.path());
    assert!(planted.is_empty());
    let out = run(dir.path(), &["lint", ".", "-f", "json"]);
    expect_exit(&out, 0);
    assert_eq!(json(&out), serde_json::json!([]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("16 file(s) linted, 0 finding(s)"), "{err}");
}

#[test]
fn every_planted_problem_is_reported_at_its_file_and_line_and_nothing_else() {
    let dir = TempDir::new().unwrap();
    let planted = materialize(&fixtures().join("faulty"), dir.path());
    let out = run(dir.path(), &["lint", ".", "-f", "json"]);
    expect_exit(&out, 1);
    let got = found(&json(&out));
    let missing: Vec<_> = planted.difference(&got).collect();
    let extra: Vec<_> = got.difference(&planted).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing: {missing:#?}\nunexpected: {extra:#?}"
    );
    // Every file rule is planted somewhere.
    let rules: BTreeSet<&str> = planted.iter().map(|(_, _, r)| r.as_str()).collect();
    for r in vigil_lint::rules::ALL {
        if let vigil_lint::rules::Check::File(_) = r.check {
            assert!(rules.contains(r.id), "no planted {}", r.id);
        }
    }
}

#[test]
fn secrets_are_redacted_unless_shown_and_sarif_is_valid() {
    let dir = TempDir::new().unwrap();
    materialize(&fixtures().join("faulty"), dir.path());
    let text = std::fs::read_to_string(dir.path().join(".cursor/mcp.json")).unwrap();
    let secret = text
        .split("\"GITHUB_PERSONAL_ACCESS_TOKEN\": \"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(secret.len(), 40);
    for fmt in ["text", "json", "sarif", "junit", "csv"] {
        let out = run(dir.path(), &["lint", ".", "-f", fmt]);
        expect_exit(&out, 1);
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains(&secret),
            "{fmt} shows the secret"
        );
        assert!(!String::from_utf8_lossy(&out.stderr).contains(&secret));
    }
    let out = run(dir.path(), &["lint", ".", "-f", "json", "--show-secrets"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(&secret));

    let out = run(
        dir.path(),
        &["lint", ".", "-f", "sarif", "-o", "lint.sarif"],
    );
    expect_exit(&out, 1);
    let py = common::python_with("jsonschema", "jsonschema");
    let v = std::process::Command::new(py)
        .args(["-c", "import json,sys,jsonschema\nd=json.load(open(sys.argv[2]))\njsonschema.validate(d, json.load(open(sys.argv[1])))\nprint(len(d['runs'][0]['results']))"])
        .arg(common::sarif_schema())
        .arg(dir.path().join("lint.sarif"))
        .output()
        .unwrap();
    assert!(
        v.status.success(),
        "SARIF invalid: {}",
        String::from_utf8_lossy(&v.stderr)
    );
    let n: usize = String::from_utf8_lossy(&v.stdout).trim().parse().unwrap();
    assert!(n > 40, "{n} results");
    let out = run(dir.path(), &["lint", ".", "-f", "junit"]);
    let junit = String::from_utf8_lossy(&out.stdout);
    assert!(
        junit.contains("<testsuite") && junit.contains("hardcoded-credential"),
        "{junit}"
    );
}

#[test]
fn text_reports_name_file_line_and_column() {
    let dir = TempDir::new().unwrap();
    common::write(dir.path(), ".mcp.json", "{\n  \"mcpServers\": {\n    \"api\": {\"type\": \"http\", \"url\": \"http://mcp.example.com/mcp\",\n      \"headers\": {\"Authorization\": \"Bearer ${TOKEN}\"}}}}\n");
    let out = run(dir.path(), &["lint"]);
    expect_exit(&out, 1);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        ".mcp.json:3:36: `mcpServers.api.url` sends traffic to mcp.example.com over plain http [plaintext-transport]\n"
    );
}

#[test]
fn exit_codes_severity_and_bad_input() {
    let dir = TempDir::new().unwrap();
    common::write(
        dir.path(),
        "a/.mcp.json",
        r#"{"mcpServers": {"fetch": {"command": "uvx", "args": ["mcp-server-fetch"]}}}"#,
    );
    // A warning fails at the default threshold (warning), not with --severity error.
    expect_exit(&run(dir.path(), &["lint", "a"]), 1);
    expect_exit(&run(dir.path(), &["lint", "a", "--severity", "error"]), 0);
    // A client file that does not parse: exit 2, file, line and column.
    common::write(
        dir.path(),
        "b/.vscode/mcp.json",
        "{\n  \"servers\": {\n    \"x\": [1,\n}\n",
    );
    let out = run(dir.path(), &["lint", "b"]);
    expect_exit(&out, 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("vigil: b/.vscode/mcp.json:4:"), "{err}");
    // A file named explicitly that lint does not read.
    common::write(dir.path(), "notes.txt", "hello");
    let out = run(dir.path(), &["lint", "notes.txt"]);
    expect_exit(&out, 2);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("notes.txt: not an input vigil lint reads")
    );
    // A missing path.
    expect_exit(&run(dir.path(), &["lint", "nope"]), 2);
    // Unknown files in a walk are skipped: package.json, a YAML that is not compose.
    common::write(
        dir.path(),
        "c/package.json",
        r#"{"name": "x", "dependencies": {}}"#,
    );
    common::write(dir.path(), "c/ci.yml", "on: push\njobs: {}\n");
    let out = run(dir.path(), &["lint", "c"]);
    expect_exit(&out, 0);
}

#[test]
fn lint_settings_switch_rules_off_change_severities_and_name_bad_keys() {
    let dir = TempDir::new().unwrap();
    common::write(
        dir.path(),
        ".mcp.json",
        r#"{"mcpServers": {"fetch": {"command": "uvx", "args": ["mcp-server-fetch"]}, "api": {"type": "http", "url": "http://mcp.internal/mcp", "headers": {"Authorization": "Bearer ${T}"}}}}"#,
    );
    let out = run(dir.path(), &["lint", "-f", "json"]);
    let mut rules: Vec<String> = json(&out)
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_owned())
        .collect();
    rules.sort();
    assert_eq!(rules, ["plaintext-transport", "unpinned-package"]);
    common::write(dir.path(), "vigil.toml", "[lint]\nallowed_hosts = [\"mcp.internal\"]\n\n[lint.severity]\n\"unpinned-package\" = \"note\"\n");
    let out = run(dir.path(), &["lint", "-f", "json"]);
    expect_exit(&out, 0);
    let v = json(&out);
    assert_eq!(v[0]["rule"], "unpinned-package");
    assert_eq!(v[0]["severity"], "note");
    assert_eq!(v.as_array().unwrap().len(), 1);
    common::write(
        dir.path(),
        "vigil.toml",
        "[lint]\ndisable = [\"unpinned-package\"]\nallowed_hosts = [\"mcp.internal\"]\n",
    );
    expect_exit(&run(dir.path(), &["lint"]), 0);
    common::write(
        dir.path(),
        "vigil.toml",
        "[lint]\n\ndisable = [\"no-such-rule\"]\n",
    );
    let out = run(dir.path(), &["lint"]);
    expect_exit(&out, 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("vigil.toml:3: lint.disable[0]: unknown rule `no-such-rule`"),
        "{err}"
    );
    common::write(
        dir.path(),
        "vigil.toml",
        "[lint.discord]\nintents = [\"guilds\", \"telepathy\"]\n",
    );
    let err = String::from_utf8_lossy(&run(dir.path(), &["lint"]).stderr).into_owned();
    assert!(
        err.contains("lint.discord.intents[1]: unknown intent `telepathy`"),
        "{err}"
    );
}

#[test]
fn declared_discord_intents_and_permissions_are_accepted() {
    let dir = TempDir::new().unwrap();
    common::write(
        dir.path(),
        "bot.py",
        "import discord\nintents = discord.Intents.none()\nintents.message_content = True\n",
    );
    expect_exit(&run(dir.path(), &["lint"]), 1);
    common::write(
        dir.path(),
        "vigil.toml",
        "[lint.discord]\nintents = [\"guilds\", \"guild_voice_states\", \"message_content\"]\n",
    );
    expect_exit(&run(dir.path(), &["lint"]), 0);
}

#[test]
fn pinning_ignores_key_order_and_reports_a_flipped_annotation() {
    let dir = TempDir::new().unwrap();
    let tools = |rm: &str| {
        format!(
        "{{\"server\": \"files\", \"tools\": [\n{{\"name\": \"ls\", \"description\": \"Lists.\", \"inputSchema\": {{\"type\": \"object\", \"additionalProperties\": false}}}},\n{rm}\n]}}\n"
    )
    };
    let rm = r#"{"name": "rm", "description": "Deletes.", "annotations": {"destructiveHint": true, "readOnlyHint": false}, "inputSchema": {"type": "object", "properties": {"path": {"type": "string"}}}}"#;
    common::write(dir.path(), "tools.json", tools(rm));
    let out = run(dir.path(), &["lint", "tools.json", "--pin", "tools.lock"]);
    expect_exit(&out, 0);
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("pinned 2 tool(s) of 1 server(s) in tools.lock"));
    let lock: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("tools.lock")).unwrap()).unwrap();
    assert!(lock["servers"]["files"]["tools"]["rm"]["hash"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));

    // Same tools, keys reordered and an unpinned field added: nothing to report.
    let reordered = r#"{"inputSchema": {"properties": {"path": {"type": "string"}}, "type": "object"}, "_meta": {"v": 2}, "annotations": {"readOnlyHint": false, "destructiveHint": true}, "description": "Deletes.", "name": "rm"}"#;
    common::write(dir.path(), "tools.json", tools(reordered));
    let out = run(
        dir.path(),
        &["lint", "tools.json", "--pin", "tools.lock", "-f", "json"],
    );
    expect_exit(&out, 0);
    assert_eq!(json(&out), serde_json::json!([]));

    // A flipped destructiveHint is a rug pull, reported on the tool's line.
    let flipped = rm.replace("\"destructiveHint\": true", "\"destructiveHint\": false");
    common::write(dir.path(), "tools.json", tools(&flipped));
    let out = run(
        dir.path(),
        &["lint", "tools.json", "--pin", "tools.lock", "-f", "json"],
    );
    expect_exit(&out, 1);
    let v = json(&out);
    assert_eq!(v.as_array().unwrap().len(), 1, "{v:#}");
    assert_eq!(v[0]["rule"], "tool-changed");
    assert_eq!(v[0]["line"], 3);
    assert!(v[0]["text"].as_str().unwrap().contains("(annotations)"));

    // Removed and added tools; --update-pins records the new set.
    common::write(dir.path(), "tools.json", "{\"server\": \"files\", \"tools\": [{\"name\": \"cat\", \"description\": \"Prints.\", \"inputSchema\": {\"type\": \"object\", \"additionalProperties\": false}}]}\n");
    let out = run(
        dir.path(),
        &[
            "lint",
            "tools.json",
            "--pin",
            "tools.lock",
            "-f",
            "json",
            "--update-pins",
        ],
    );
    expect_exit(&out, 1);
    let got: BTreeSet<String> = json(&out)
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["rule"].as_str().unwrap(),
                f["key"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            "tool-added files.cat",
            "tool-removed files.ls",
            "tool-removed files.rm"
        ]
        .map(String::from)
        .into_iter()
        .collect()
    );
    let out = run(dir.path(), &["lint", "tools.json", "--pin", "tools.lock"]);
    expect_exit(&out, 0);

    // A lock file that is not one: exit 2 with its line.
    common::write(
        dir.path(),
        "bad.lock",
        "{\n  \"version\": 1,\n  \"servers\": 3\n}\n",
    );
    let out = run(dir.path(), &["lint", "tools.json", "--pin", "bad.lock"]);
    expect_exit(&out, 2);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bad.lock:"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn discover_finds_client_files_in_their_usual_places() {
    let dir = TempDir::new().unwrap();
    let home = dir.path().join("home");
    common::write(
        &home,
        ".cursor/mcp.json",
        r#"{"mcpServers": {"a": {"url": "http://mcp.example.com/mcp", "headers": {"Authorization": "Bearer ${T}"}}}}"#,
    );
    common::write(&home, ".gemini/settings.json", r#"{"mcpServers": {}}"#);
    let work = dir.path().join("work");
    common::write(
        &work,
        ".vscode/mcp.json",
        r#"{"servers": {"b": {"type": "stdio", "command": "node", "args": ["x.js"]}}}"#,
    );
    let out = vigil(&work)
        .args(["lint", "--discover", "-f", "json"])
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .output()
        .unwrap();
    expect_exit(&out, 1);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--discover found 3 file(s)"), "{err}");
    let v = json(&out);
    assert_eq!(v[0]["rule"], "plaintext-transport");
    assert!(v[0]["file"]
        .as_str()
        .unwrap()
        .ends_with("home/.cursor/mcp.json"));
}

#[test]
fn lint_never_starts_a_configured_server() {
    let dir = TempDir::new().unwrap();
    let marker = dir.path().join("started");
    common::write(
        dir.path(),
        ".mcp.json",
        format!(
            r#"{{"mcpServers": {{"evil": {{"command": "sh", "args": ["-c", "touch {}"]}}}}}}"#,
            marker.display()
        ),
    );
    common::write(dir.path(), "docker-compose.yml", format!("services:\n  x:\n    image: alpine:3.20\n    command: [\"sh\", \"-c\", \"touch {}\"]\n", marker.display()));
    let out = run(dir.path(), &["lint"]);
    expect_exit(&out, 0);
    assert!(!marker.exists(), "lint ran a configured command");
}

mod gw;

/// A fresh CA and a certificate for 127.0.0.1 (`cert.pem`, `key.pem` in `dir`); returns the
/// CA file's path.
fn make_cert(dir: &Path) -> PathBuf {
    let openssl = |args: &[&str]| {
        let st = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "openssl {args:?}");
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "1",
                "-subj",
                "/CN=vigil lint test CA",
            ],
        ]
        .concat(),
    );
    openssl(
        &[
            &["req", "-x509", "-CA", "ca.pem", "-CAkey", "ca.key"][..],
            &ec,
            &[
                "-keyout",
                "key.pem",
                "-out",
                "cert.pem",
                "-days",
                "1",
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
                "-addext",
                "basicConstraints=critical,CA:FALSE",
                "-addext",
                "extendedKeyUsage=serverAuth",
            ],
        ]
        .concat(),
    );
    dir.join("ca.pem")
}

/// A deliberately bad MCP endpoint: plain HTTP, no authentication, `*` with credentials, no
/// security headers, no rate limit. Counts the requests it gets and the JSON-RPC methods.
async fn bad_server() -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) {
    use http_body_util::BodyExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let s2 = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let seen = s2.clone();
            tokio::spawn(async move {
                let svc =
                    hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let seen = seen.clone();
                        async move {
                            let method = req.method().to_string();
                            let body = req
                                .into_body()
                                .collect()
                                .await
                                .map(|c| c.to_bytes())
                                .unwrap_or_default();
                            let rpc: serde_json::Value =
                                serde_json::from_slice(&body).unwrap_or_default();
                            seen.lock().unwrap().push(format!(
                                "{method} {}",
                                rpc["method"].as_str().unwrap_or("-")
                            ));
                            Ok::<_, std::convert::Infallible>(
                                http::Response::builder()
                                    .header("content-type", "application/json")
                                    .header("access-control-allow-origin", "*")
                                    .header("access-control-allow-credentials", "true")
                                    .body(http_body_util::Full::new(bytes::Bytes::from(
                                        r#"{"jsonrpc":"2.0","id":1,"result":{}}"#,
                                    )))
                                    .unwrap(),
                            )
                        }
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (addr, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_tells_a_vigil_gateway_from_a_bad_server() {
    let up = gw::Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let ca = make_cert(dir.path());
    let cfg = format!(
        "[gateway]\nlisten = \"127.0.0.1:8443\"\nauthorization_servers = [\"https://auth.example.com\"]\n\
         [gateway.tls]\ncert = \"cert.pem\"\nkey = \"key.pem\"\n\n[[gateway.routes]]\npath = \"/mcp/filesystem\"\n\
         upstream = \"http://{}/mcp\"\naudience = \"filesystem\"\ncors = {{ origins = [\"https://app.example.com\"] }}\n\
         rate_limit = {{ per_ip = \"60/minute\", burst = 3 }}\n",
        up.addr
    );
    let gateway = gw::Gateway::start(dir.path(), &cfg, &[]);
    let good = format!("https://{}/mcp/filesystem", gateway.addr);
    let (bad_addr, seen) = bad_server().await;
    let bad = format!("http://{bad_addr}/mcp");

    // The manifest both servers are meant to implement: one allowed origin.
    let work = TempDir::new().unwrap();
    let manifest = format!(
        r#"{{"mcp": {{"servers": {{
  "good": {{"url": "{good}", "headers": {{"Authorization": "Bearer ${{API_KEY}}"}}, "cors": {{"allow_origin": ["https://app.example.com"]}}}},
  "bad": {{"url": "{bad}", "headers": {{"Authorization": "Bearer ${{API_KEY}}"}}, "cors": {{"allow_origin": ["https://app.example.com"]}}}}}}}},
  "privacy": {{"data_retention": "30 days", "recording_consent": true, "pii_handling": "encrypt", "privacy_policy": "https://example.com/privacy"}},
  "security": {{"last_reviewed": "2999-01-01"}}}}"#
    );
    common::write(work.path(), "voice-manifest.json", manifest);
    let ca_arg = ca.display().to_string();
    let (w, g2, b2) = (work.path().to_owned(), good.clone(), bad.clone());
    let out = tokio::task::spawn_blocking(move || {
        run(
            &w,
            &[
                "lint",
                "voice-manifest.json",
                "--probe",
                &g2,
                "--probe",
                &b2,
                "--probe-burst",
                "10",
                "--probe-ca",
                &ca_arg,
                "-f",
                "json",
            ],
        )
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    expect_exit(&out, 1);
    let v = json(&out);
    let rules_of = |url: &str| -> BTreeSet<String> {
        v.as_array()
            .unwrap()
            .iter()
            .filter(|f| f["scope"] == url)
            .map(|f| f["rule"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        rules_of(&good),
        BTreeSet::new(),
        "the gateway passes every probe check: {v:#}\n{stderr}"
    );
    let want: BTreeSet<String> = [
        "probe-plaintext",
        "probe-no-auth",
        "probe-foreign-origin",
        "probe-cors-wildcard-credentials",
        "probe-cors-mismatch",
        "probe-no-csp",
        "probe-missing-security-headers",
        "probe-no-rate-limit",
    ]
    .map(String::from)
    .into_iter()
    .collect();
    assert_eq!(rules_of(&bad), want, "{v:#}");
    // Every probe finding lists the requests sent; stderr lists them for both endpoints.
    assert!(v[0]["requests"]
        .as_str()
        .unwrap()
        .contains("OPTIONS (foreign origin)"));
    assert!(stderr.contains(&format!("probed {good} with")), "{stderr}");
    assert!(
        stderr.contains("429 at #"),
        "the gateway's rate limit was seen: {stderr}"
    );
    // Bounded and read-only: 5 requests and a burst of 10, never tools/call, never a token.
    let got = seen.lock().unwrap().clone();
    assert_eq!(got.len(), 4 + 10, "{got:?}");
    assert!(
        got.iter()
            .all(|r| r.ends_with("initialize") || r.ends_with("ping") || r.ends_with(" -")),
        "{got:?}"
    );
    assert!(up
        .seen()
        .iter()
        .all(|s| !String::from_utf8_lossy(&s.body).contains("tools/call")));
    // An endpoint that cannot be reached: exit 2, the URL named.
    let w = work.path().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        run(
            &w,
            &[
                "lint",
                "voice-manifest.json",
                "--probe",
                "http://127.0.0.1:9/mcp",
            ],
        )
    })
    .await
    .unwrap();
    expect_exit(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("probe http://127.0.0.1:9/mcp:"));
}
