//! `vigil memory`: the real binary driven by the official MCP clients (Python SDK from PyPI,
//! TypeScript SDK from npm) over stdio and Streamable HTTP; the attack suite through the tools;
//! who may call on `--listen`; two writer processes; crashes; `audit verify` and `log`.

use crate::common;
use crate::gw;

use common::{expect_exit, run};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn vigil_bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("vigil")
}

fn python() -> PathBuf {
    common::python_with("mcp", "mcp==2.3.0")
}

/// A folder holding `@modelcontextprotocol/sdk` from npm and this folder's client script.
fn sdk_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("test-deps/mcp-sdk");
    std::fs::create_dir_all(&dir).unwrap();
    let lock = std::fs::File::create(dir.join(".lock")).unwrap();
    lock.lock().unwrap();
    if !dir
        .join("node_modules/@modelcontextprotocol/sdk/package.json")
        .exists()
    {
        let out = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
            .arg(&dir)
            .arg("@modelcontextprotocol/sdk@1.32.2")
            .output()
            .expect("npm is installed");
        assert!(
            out.status.success(),
            "npm install failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/memory");
    std::fs::copy(here.join("mcp-client.mjs"), dir.join("mcp-client.mjs")).unwrap();
    dir
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/memory")
        .join(name)
}

/// Runs the Python SDK client on `spec`; its JSON output.
fn run_py(spec: &Value) -> Value {
    run_client(Command::new(python()).arg(script("mcp_client.py")), spec)
}

/// Runs the TypeScript SDK client on `spec`; its JSON output.
fn run_ts(spec: &Value) -> Value {
    let dir = sdk_dir();
    run_client(
        Command::new("node").arg("mcp-client.mjs").current_dir(dir),
        spec,
    )
}

fn run_client(cmd: &mut Command, spec: &Value) -> Value {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("client starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(spec.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "client printed no JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(
        v.get("error").is_none(),
        "client failed: {v}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    v
}

fn stdio_spec(root: &Path, principal: &str, calls: Vec<Value>) -> Value {
    json!({
        "stdio": {"command": vigil_bin(), "args": ["memory", "serve", "--root", root, "--stdio", "--principal", principal]},
        "calls": calls,
    })
}

fn http_spec(url: &str, token: &str, calls: Vec<Value>) -> Value {
    json!({"http": {"url": url, "headers": {"Authorization": format!("Bearer {token}")}}, "calls": calls})
}

fn call(tool: &str, arguments: Value) -> Value {
    json!({"tool": tool, "arguments": arguments})
}

/// The secret tests sign with: random per run.
fn secret() -> String {
    use std::sync::OnceLock;
    static S: OnceLock<String> = OnceLock::new();
    S.get_or_init(|| {
        let mut b = [0u8; 32];
        getrandom::fill(&mut b).unwrap();
        b.iter().map(|x| format!("{x:02x}")).collect()
    })
    .clone()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn key(secret: &str) -> vigil_token::Key {
    vigil_token::Key::hmac("test", secret.as_bytes(), vigil_token::Algorithm::HS256).unwrap()
}

/// A client token for `aud`/`sub`, signed with `secret`.
fn token_with(secret: &str, aud: &str, sub: &str) -> String {
    let req = vigil_token::MintRequest {
        audiences: vec![aud.to_owned()],
        subject: Some(sub.to_owned()),
        issuer: None,
        ttl: 900,
        claims: Default::default(),
    };
    vigil_token::mint(&key(secret), &req, now(), 86_400).unwrap()
}

/// A running `vigil memory serve --listen`.
struct Listening {
    child: Child,
    addr: std::net::SocketAddr,
}

impl Drop for Listening {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Listening {
    fn start(dir: &Path, root: &Path, config: &str, env: &[(&str, &str)]) -> Listening {
        std::fs::write(dir.join("vigil.toml"), config).unwrap();
        let mut cmd = Command::new(vigil_bin());
        cmd.current_dir(dir)
            .args(["--log-format", "json", "memory", "serve", "--root"])
            .arg(root)
            .args(["--listen", "127.0.0.1:0"])
            .env_remove("VIGIL_CONFIG")
            .env("MCP_JWT_SECRET", secret())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if !sent {
                    let v: Value = serde_json::from_str(&line).unwrap_or_default();
                    let f = v.get("fields").unwrap_or(&v);
                    if let Some(a) = f.get("address").and_then(Value::as_str) {
                        let _ = tx.send(Ok(a.parse().unwrap()));
                        sent = true;
                        continue;
                    }
                    let _ = tx.send(Err(line));
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        loop {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(Ok(addr)) => return Listening { child, addr },
                Ok(Err(line)) => seen.push(line),
                Err(_) => {
                    let _ = child.kill();
                    panic!("memory server did not start: {seen:?}");
                }
            }
        }
    }

    fn url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }
}

/// One raw HTTP/1.1 POST of an `initialize` request with these headers; the status code.
fn raw_post(addr: std::net::SocketAddr, host: &str, headers: &[(&str, &str)]) -> u16 {
    raw_post_to(addr, "/mcp", host, headers)
}

/// [`raw_post`] to another path.
fn raw_post_to(
    addr: std::net::SocketAddr,
    path: &str,
    host: &str,
    headers: &[(&str, &str)],
) -> u16 {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "1"}}})
    .to_string();
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(&body);
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(req.as_bytes()).unwrap();
    let mut line = String::new();
    BufReader::new(&mut s).read_line(&mut line).unwrap();
    line.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {line:?}"))
}

/// Calls that use every tool once, and the checks on their results.
fn every_tool_calls() -> Vec<Value> {
    let long: String = (0..12_000).map(|i| format!("fact {i}\n")).collect();
    vec![
        call(
            "memory_write",
            json!({"path": "people/alice.md", "content": "likes tea\n"}),
        ),
        call(
            "memory_append",
            json!({"path": "people/alice.md", "content": "dislikes coffee\n"}),
        ),
        call("memory_read", json!({"path": "people/alice.md"})),
        call("memory_list", json!({"dir": "people"})),
        call("memory_search", json!({"query": "COFFEE"})),
        call("memory_history", json!({"path": "people/alice.md"})),
        call(
            "memory_write",
            json!({"path": "people/alice.md", "content": "x", "expected_version": "0".repeat(64)}),
        ),
        call("memory_write", json!({"path": "long.md", "content": long})),
        call("memory_read", json!({"path": "long.md"})),
        call("memory_delete", json!({"path": "people/alice.md"})),
        call("memory_read", json!({"path": "people/alice.md"})),
        call("memory_read", json!({"path": "../outside.md"})),
        call("memory_list", json!({})),
    ]
}

fn check_every_tool(out: &Value, principal: &str) {
    let names: Vec<&str> = out["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "memory_read",
            "memory_write",
            "memory_append",
            "memory_list",
            "memory_search",
            "memory_delete",
            "memory_history"
        ]
    );
    for t in out["tools"].as_array().unwrap() {
        assert_eq!(t["inputSchema"]["type"], "object", "{t}");
        assert_eq!(t["inputSchema"]["additionalProperties"], false, "{t}");
    }
    let r = out["results"].as_array().unwrap();
    let ok = |i: usize| {
        assert!(!r[i]["isError"].as_bool().unwrap(), "call {i}: {}", r[i]);
        &r[i]["structured"]
    };
    let err = |i: usize| {
        assert!(r[i]["isError"].as_bool().unwrap(), "call {i}: {}", r[i]);
        r[i]["structured"]["error"].as_str().unwrap().to_owned()
    };
    let v1 = ok(0)["version"].as_str().unwrap().to_owned();
    assert_eq!(v1.len(), 64);
    let v2 = ok(1)["version"].as_str().unwrap().to_owned();
    assert_eq!(ok(2)["content"], "likes tea\ndislikes coffee\n");
    assert_eq!(ok(2)["version"], v2.as_str());
    assert_eq!(ok(3)["entries"][0]["name"], "alice.md");
    assert_eq!(ok(4)["matches"][0]["line"], 2);
    let changes = ok(5)["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[0]["principal"], principal);
    assert_eq!(changes[1]["tool"], "memory_append");
    assert_eq!(changes[1]["sha256"], v2.as_str());
    assert_eq!(err(6), "conflict");
    assert_eq!(r[6]["structured"]["found"], v2.as_str());
    ok(7);
    assert_eq!(err(8), "result_truncated");
    let partial = &r[8]["structured"]["partial"];
    assert_eq!(partial["content"].as_str().unwrap().len(), 64 * 1024);
    assert!(r[8]["structured"]["cursor"].as_str().unwrap().contains('@'));
    ok(9);
    assert_eq!(err(10), "not_found");
    assert_eq!(err(11), "outside_root");
    let top: Vec<&str> = ok(12)["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(top, ["long.md", "people"]);
}

#[test]
fn the_python_sdk_drives_every_tool_over_stdio() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("mem");
    let out = run_py(&stdio_spec(&root, "familiar", every_tool_calls()));
    check_every_tool(&out, "familiar");
    let o = run(t.path(), &["memory", "audit", "verify", "--root", "mem"]);
    expect_exit(&o, 0);
}

#[test]
fn the_typescript_sdk_drives_every_tool_over_stdio() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("mem");
    let out = run_ts(&stdio_spec(&root, "familiar", every_tool_calls()));
    check_every_tool(&out, "familiar");
}

#[test]
fn the_python_sdk_drives_every_tool_over_streamable_http() {
    let t = tempfile::tempdir().unwrap();
    let server = Listening::start(t.path(), &t.path().join("mem"), "", &[]);
    let token = token_with(&secret(), "memory", "alice");
    let out = run_py(&http_spec(&server.url(), &token, every_tool_calls()));
    check_every_tool(&out, "alice");
}

#[test]
fn the_typescript_sdk_drives_every_tool_over_streamable_http() {
    let t = tempfile::tempdir().unwrap();
    let server = Listening::start(t.path(), &t.path().join("mem"), "", &[]);
    let token = token_with(&secret(), "memory", "bob");
    let out = run_ts(&http_spec(&server.url(), &token, every_tool_calls()));
    check_every_tool(&out, "bob");
}

#[test]
fn listen_refuses_missing_forged_and_header_only_requests() {
    let t = tempfile::tempdir().unwrap();
    let gateway_secret = {
        let mut b = [0u8; 32];
        getrandom::fill(&mut b).unwrap();
        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
    };
    let config = "[memory]\nallowed_origins = [\"http://localhost:6274\"]\n\n\
                  [memory.assertion]\nissuer = \"vigil-gateway\"\nsecret_env = \"GW_ASSERTION_SECRET\"\n";
    let server = Listening::start(
        t.path(),
        &t.path().join("mem"),
        config,
        &[("GW_ASSERTION_SECRET", &gateway_secret)],
    );
    let host = server.addr.to_string();
    let addr = server.addr;
    let good = token_with(&secret(), "memory", "alice");
    let bearer = |t: &str| format!("Bearer {t}");
    let assertion = |k: &str, aud: &str, sub: &str, iat: u64, ttl: u64| {
        vigil_token::mint_assertion(&key(k), "vigil-gateway", aud, sub, iat, ttl).unwrap()
    };
    // Accepted: the client's own token, a fresh assertion from the trusted gateway.
    assert_eq!(
        raw_post(addr, &host, &[("Authorization", &bearer(&good))]),
        200
    );
    let a = assertion(&gateway_secret, "memory", "carol", now(), 30);
    assert_eq!(
        raw_post(addr, &host, &[("Authorization", &bearer(&a))]),
        200
    );
    // Refused: no token, only X-Vigil-Subject, forged or stale or misdirected tokens/assertions.
    assert_eq!(raw_post(addr, &host, &[]), 401);
    assert_eq!(raw_post(addr, &host, &[("X-Vigil-Subject", "alice")]), 401);
    assert_eq!(
        raw_post(
            addr,
            &host,
            &[("X-Vigil-Subject", "alice"), ("X-Vigil-Audience", "memory")]
        ),
        401
    );
    let forged_token = token_with("not-the-secret-not-the-secret-00", "memory", "alice");
    assert_eq!(
        raw_post(addr, &host, &[("Authorization", &bearer(&forged_token))]),
        401
    );
    let wrong_aud = token_with(&secret(), "filesystem", "alice");
    assert_eq!(
        raw_post(addr, &host, &[("Authorization", &bearer(&wrong_aud))]),
        401
    );
    let forged = assertion(
        "an-attacker-key-an-attacker-key!",
        "memory",
        "carol",
        now(),
        30,
    );
    assert_eq!(
        raw_post(addr, &host, &[("Authorization", &bearer(&forged))]),
        401
    );
    let stale = assertion(&gateway_secret, "memory", "carol", now() - 600, 30);
    assert_eq!(
        raw_post(addr, &host, &[("Authorization", &bearer(&stale))]),
        401
    );
    let long = assertion(&gateway_secret, "memory", "carol", now(), 290);
    assert_eq!(
        raw_post(addr, &host, &[("Authorization", &bearer(&long))]),
        401
    );
    let other = assertion(&gateway_secret, "git", "carol", now(), 30);
    assert_eq!(
        raw_post(addr, &host, &[("Authorization", &bearer(&other))]),
        401
    );
    // A client token signed with the gateway's key is not an assertion, and vice versa.
    let by_gw = token_with(&gateway_secret, "memory", "carol");
    assert_eq!(
        raw_post(addr, &host, &[("Authorization", &bearer(&by_gw))]),
        401
    );
    let by_client_key = assertion(&secret(), "memory", "carol", now(), 30);
    assert_eq!(
        raw_post(addr, &host, &[("Authorization", &bearer(&by_client_key))]),
        401
    );
    // DNS rebinding: a foreign Host or Origin is refused even with a good token.
    let auth = bearer(&good);
    assert_eq!(
        raw_post(addr, "evil.example", &[("Authorization", &auth)]),
        403
    );
    assert_eq!(
        raw_post(
            addr,
            &host,
            &[("Authorization", &auth), ("Origin", "http://evil.example")]
        ),
        403
    );
    assert_eq!(
        raw_post(
            addr,
            &host,
            &[
                ("Authorization", &auth),
                ("Origin", "http://localhost:6274")
            ]
        ),
        200
    );
    // The principal the audit log records is the assertion's subject, not a header's. A gateway
    // signs one assertion per request (each is accepted once), so each request carries its own.
    let fresh = || bearer(&assertion(&gateway_secret, "memory", "carol", now(), 30));
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "1"}}})
    .to_string();
    let a1 = fresh();
    let h = [
        ("Authorization", a1.as_str()),
        ("X-Vigil-Subject", "mallory"),
    ];
    let (status, id) = raw_http(addr, "POST", "/mcp", &host, &h, &init);
    assert_eq!(status, 200);
    let id = id.expect("a session");
    for (n, body) in [
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "memory_write", "arguments": {"path": "who.md", "content": "x"}}}),
    ]
    .iter()
    .enumerate()
    {
        let a = fresh();
        let h = [
            ("Authorization", a.as_str()),
            ("X-Vigil-Subject", "mallory"),
            ("Mcp-Session-Id", id.as_str()),
            ("MCP-Protocol-Version", "2025-06-18"),
        ];
        let status = raw_http(addr, "POST", "/mcp", &host, &h, &body.to_string()).0;
        assert!(status == 200 || status == 202, "{n}: {status}");
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let o = run(t.path(), &["memory", "log", "--root", "mem", "-f", "json"]);
        let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
        if let Some(c) = v
            .as_array()
            .and_then(|a| a.iter().find(|c| c["path"] == "who.md"))
        {
            assert_eq!(c["principal"], "carol", "{c}");
            break;
        }
        assert!(Instant::now() < deadline, "no write recorded: {v}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn attacks_through_the_mcp_tools_are_refused_with_typed_errors() {
    use std::os::unix::fs::symlink;
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("mem");
    let outside = t.path().join("outside");
    let evil = t.path().join("mem-evil");
    for d in [&outside, &evil] {
        std::fs::create_dir_all(d).unwrap();
        std::fs::write(d.join("secret"), "canary").unwrap();
    }
    // Create the store, then plant links, a hard link and a full folder in it.
    run_py(&stdio_spec(
        &root,
        "setup",
        vec![call(
            "memory_write",
            json!({"path": "a/b/c/x.md", "content": "x"}),
        )],
    ));
    let files = root.join("files");
    for (i, d) in ["", "a/", "a/b/", "a/b/c/"].iter().enumerate() {
        symlink(&outside, files.join(format!("{d}dl{i}"))).unwrap();
        symlink(outside.join("secret"), files.join(format!("{d}fl{i}"))).unwrap();
    }
    std::fs::hard_link(outside.join("secret"), files.join("hard.md")).unwrap();
    std::fs::create_dir(files.join("full")).unwrap();
    for i in 0..1000 {
        std::fs::write(files.join(format!("full/{i:04}.md")), "").unwrap();
    }
    let evil_abs = evil.join("secret").display().to_string();
    let log_abs = root.join("state/audit.jsonl").display().to_string();
    let mut cases: Vec<(Value, &str)> = Vec::new();
    let mut every = |path: &str, want: &'static str| {
        cases.push((call("memory_read", json!({"path": path})), want));
        cases.push((
            call("memory_write", json!({"path": path, "content": "pwned"})),
            want,
        ));
        cases.push((
            call("memory_append", json!({"path": path, "content": "pwned"})),
            want,
        ));
        cases.push((call("memory_delete", json!({"path": path})), want));
    };
    for p in [
        "../outside/secret",
        "a/../../outside/secret",
        "a/b/c/../../../../outside/secret",
        "%2e%2e/outside/secret",
        "..%2Foutside%2Fsecret",
        "\u{FF0E}\u{FF0E}/outside/secret",
        "/etc/passwd",
        &evil_abs,
        "../mem-evil/secret",
        "../state/audit.jsonl",
        "../state/audit.head",
        "../state/lock",
        "../tmp/x",
        &log_abs,
    ] {
        every(p, "outside_root");
    }
    for (i, d) in ["", "a/", "a/b/", "a/b/c/"].iter().enumerate() {
        every(&format!("{d}dl{i}/secret"), "symlink");
        every(&format!("{d}fl{i}"), "symlink");
    }
    every("hard.md", "hard_link");
    for p in [
        "nul\u{0}x",
        "ctl\u{1}x",
        "new\nline",
        "CON",
        "nul.md",
        "COM1",
        "lpt1.txt",
    ] {
        every(p, "invalid_name");
    }
    cases.push((call("memory_list", json!({"dir": "dl0"})), "symlink"));
    cases.push((call("memory_list", json!({"dir": "a/b/dl2"})), "symlink"));
    cases.push((
        call("memory_search", json!({"query": "canary", "dir": "a/dl1"})),
        "symlink",
    ));
    cases.push((
        call(
            "memory_write",
            json!({"path": "big.md", "content": "x".repeat(300 * 1024)}),
        ),
        "too_large",
    ));
    cases.push((
        call(
            "memory_write",
            json!({"path": "full/1000.md", "content": "x"}),
        ),
        "too_many_files",
    ));
    cases.push((
        call("memory_write", json!({"path": "Twin.md", "content": "x"})),
        "ok",
    ));
    cases.push((
        call("memory_write", json!({"path": "twin.md", "content": "x"})),
        "name_collision",
    ));
    cases.push((
        call(
            "memory_write",
            json!({"path": "caf\u{e9}.md", "content": "nfc"}),
        ),
        "ok",
    ));
    cases.push((call("memory_read", json!({"path": "cafe\u{301}.md"})), "ok"));
    cases.push((
        call(
            "memory_write",
            json!({"path": "x.md", "content": "x", "extra": 1}),
        ),
        "invalid_arguments",
    ));
    // Things that look like escapes but are plain names stay inside.
    cases.push((
        call("memory_write", json!({"path": "a..b.md", "content": "x"})),
        "ok",
    ));
    let calls: Vec<Value> = cases.iter().map(|(c, _)| c.clone()).collect();
    let out = run_py(&stdio_spec(&root, "mallory", calls));
    let results = out["results"].as_array().unwrap();
    let mut wrong = Vec::new();
    for ((c, want), r) in cases.iter().zip(results) {
        let got = if r["isError"].as_bool().unwrap() {
            r["structured"]["error"].as_str().unwrap_or("?").to_owned()
        } else {
            "ok".to_owned()
        };
        if got != *want {
            wrong.push(format!("{c} gave {got}, want {want}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(results[results.len() - 3]["structured"]["content"], "nfc");
    for d in [&outside, &evil] {
        let names: Vec<_> = std::fs::read_dir(d).unwrap().collect();
        assert_eq!(names.len(), 1);
        assert_eq!(std::fs::read_to_string(d.join("secret")).unwrap(), "canary");
    }
    assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 3);
}

#[test]
fn two_processes_appending_1000_lines_each_end_with_2000() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("mem");
    // Durability is not what this test is about: without fsync it takes seconds, not a minute.
    std::fs::write(t.path().join("vigil.toml"), "[memory]\nfsync = false\n").unwrap();
    let spawn = |who: &'static str| {
        let calls: Vec<Value> = (0..1000)
            .map(|i| {
                call(
                    "memory_append",
                    json!({"path": "shared.md", "content": format!("{who} {i}\n")}),
                )
            })
            .collect();
        let mut spec = stdio_spec(&root, who, calls);
        spec["stdio"]["cwd"] = json!(t.path());
        std::thread::spawn(move || run_py(&spec))
    };
    let (a, b) = (spawn("alice"), spawn("bob"));
    for out in [a.join().unwrap(), b.join().unwrap()] {
        let failed: Vec<_> = out["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["isError"].as_bool().unwrap())
            .collect();
        assert!(failed.is_empty(), "{failed:?}");
    }
    let text = std::fs::read_to_string(root.join("files/shared.md")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2000);
    for who in ["alice", "bob"] {
        let mine: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|l| l.starts_with(who))
            .collect();
        let want: Vec<String> = (0..1000).map(|i| format!("{who} {i}")).collect();
        assert_eq!(mine, want, "{who}'s lines lost or out of order");
    }
    let o = run(
        t.path(),
        &["memory", "audit", "verify", "--root", "mem", "-f", "json"],
    );
    expect_exit(&o, 0);
    assert_eq!(common::json(&o)["records"], 2000);
}

#[test]
fn a_stale_expected_version_gets_conflict_between_two_clients() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("mem");
    let first = run_py(&stdio_spec(
        &root,
        "alice",
        vec![call(
            "memory_write",
            json!({"path": "beliefs.md", "content": "v1"}),
        )],
    ));
    let v1 = first["results"][0]["structured"]["version"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = run_ts(&stdio_spec(
        &root,
        "bob",
        vec![
            call(
                "memory_write",
                json!({"path": "beliefs.md", "content": "bob's", "expected_version": v1}),
            ),
            call(
                "memory_write",
                json!({"path": "beliefs.md", "content": "late", "expected_version": v1}),
            ),
            call("memory_read", json!({"path": "beliefs.md"})),
        ],
    ));
    let r = &out["results"];
    assert_eq!(r[0]["isError"], false);
    assert_eq!(r[1]["isError"], true);
    assert_eq!(r[1]["structured"]["error"], "conflict");
    assert_eq!(r[2]["structured"]["content"], "bob's");
}

/// Speaks raw JSON-RPC to `vigil memory serve --stdio` (for crash tests: no SDK needed to die).
fn raw_stdio_write(root: &Path, fault: &str, content: &str) -> std::process::ExitStatus {
    let mut child = Command::new(vigil_bin())
        .args(["memory", "serve", "--root"])
        .arg(root)
        .args(["--stdio", "--principal", "crash"])
        .env("VIGIL_TEST_MEMORY_FAULT", fault)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let msgs = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "memory_write", "arguments": {"path": "notes/state.md", "content": content}}}),
    ];
    for m in msgs {
        writeln!(stdin, "{m}").unwrap();
    }
    // Until the write's answer (or the end of output, when the process died).
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let Ok(line) = line else { break };
        if serde_json::from_str::<Value>(&line).is_ok_and(|v| v["id"] == 2) {
            break;
        }
    }
    drop(stdin);
    child.wait().unwrap()
}

#[test]
fn a_crash_mid_write_leaves_the_old_or_the_new_content_and_the_log_agrees() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("mem");
    let file = root.join("files/notes/state.md");
    let old = "old ".repeat(10_000);
    let new = "new ".repeat(10_000);
    assert!(raw_stdio_write(&root, "none", &old).success() || file.exists());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), old);
    // Dies before the rename: the old content stays, the temp file is cleaned, nothing logged.
    for fault in ["after-temp", "after-journal"] {
        let st = raw_stdio_write(&root, fault, &new);
        assert!(!st.success(), "{fault}: the process should have aborted");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), old, "{fault}");
        let o = run(
            t.path(),
            &["memory", "audit", "verify", "--root", "mem", "-f", "json"],
        );
        expect_exit(&o, 0);
        assert_eq!(common::json(&o)["records"], 1, "{fault}");
    }
    // Dies after the rename, before the audit line: the new content. `audit verify` is
    // read-only: it notes the pending write (exit 0) and leaves it to the next writer.
    let st = raw_stdio_write(&root, "after-rename", &new);
    assert!(!st.success());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), new);
    let o = run(
        t.path(),
        &["memory", "audit", "verify", "--root", "mem", "-f", "json"],
    );
    expect_exit(&o, 0);
    let v = common::json(&o);
    assert_eq!(v["records"], 1);
    assert!(
        v["notes"][0].as_str().unwrap().contains("not yet logged"),
        "{v}"
    );
    // The next writer records it, then makes its own change.
    assert!(raw_stdio_write(&root, "none", &new).success());
    assert_eq!(std::fs::read_dir(root.join("tmp")).unwrap().count(), 0);
    let o = run(
        t.path(),
        &["memory", "audit", "verify", "--root", "mem", "-f", "json"],
    );
    expect_exit(&o, 0);
    assert_eq!(common::json(&o)["records"], 3);
    let o = run(
        t.path(),
        &[
            "memory",
            "log",
            "--root",
            "mem",
            "notes/state.md",
            "-f",
            "json",
        ],
    );
    expect_exit(&o, 0);
    let changes = common::json(&o);
    assert_eq!(changes.as_array().unwrap().len(), 3);
    assert_eq!(changes[1]["principal"], "crash");
    assert_eq!(changes[1]["length"], new.len());
}

#[test]
fn audit_verify_and_log_on_the_command_line() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("mem");
    run_py(&stdio_spec(
        &root,
        "familiar",
        vec![
            call(
                "memory_write",
                json!({"path": "people/alice.md", "content": "likes tea\n"}),
            ),
            call(
                "memory_append",
                json!({"path": "people/alice.md", "content": "now likes coffee\n"}),
            ),
            call(
                "memory_write",
                json!({"path": "people/bob.md", "content": "quiet\n"}),
            ),
            call("memory_write", json!({"path": "misc.md", "content": "x"})),
        ],
    ));
    let o = run(t.path(), &["memory", "audit", "verify", "--root", "mem"]);
    expect_exit(&o, 0);
    assert!(String::from_utf8_lossy(&o.stdout).contains("intact: 4 log lines"));
    // When did the beliefs about Alice change, and who changed them?
    let o = run(
        t.path(),
        &["memory", "log", "--root", "mem", "people/alice.md"],
    );
    expect_exit(&o, 0);
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(
        text.contains("familiar") && text.contains("memory_append"),
        "{text}"
    );
    assert!(!text.contains("coffee"), "content reached the log");
    let o = run(
        t.path(),
        &["memory", "log", "--root", "mem", "people", "-f", "json"],
    );
    assert_eq!(common::json(&o).as_array().unwrap().len(), 3);
    let o = run(
        t.path(),
        &[
            "memory", "log", "--root", "mem", "--since", "1h", "-f", "json",
        ],
    );
    assert_eq!(common::json(&o).as_array().unwrap().len(), 4);
    let o = run(
        t.path(),
        &[
            "memory",
            "log",
            "--root",
            "mem",
            "--since",
            "2999-01-01",
            "-f",
            "json",
        ],
    );
    assert_eq!(common::json(&o).as_array().unwrap().len(), 0);
    // An edited file, then an edited log line, a deleted one, a reordered pair, a cut tail.
    let verify = |t: &Path| {
        let o = run(
            t,
            &["memory", "audit", "verify", "--root", "mem", "-f", "json"],
        );
        expect_exit(&o, 1);
        let v = common::json(&o);
        let codes: Vec<String> = v["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["code"].as_str().unwrap().to_owned())
            .collect();
        codes
    };
    std::fs::write(root.join("files/people/bob.md"), "loud\n").unwrap();
    assert_eq!(verify(t.path()), ["edited"]);
    std::fs::write(root.join("files/people/bob.md"), "quiet\n").unwrap();
    let log = root.join("state/audit.jsonl");
    let original = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = original.lines().collect();
    let put = |l: Vec<String>| std::fs::write(&log, l.join("\n") + "\n").unwrap();
    let owned = || lines.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut l = owned();
    l[1] = l[1].replace("familiar", "stranger");
    put(l);
    assert!(verify(t.path()).contains(&"edited".to_owned()));
    let mut l = owned();
    l.remove(1);
    put(l);
    assert!(verify(t.path()).contains(&"deleted".to_owned()));
    let mut l = owned();
    l.swap(1, 2);
    put(l);
    assert!(verify(t.path()).contains(&"reordered".to_owned()));
    let mut l = owned();
    l.pop();
    put(l);
    assert_eq!(verify(t.path())[0], "tail_cut");
    std::fs::write(&log, &original).unwrap();
    let o = run(t.path(), &["memory", "audit", "verify", "--root", "mem"]);
    expect_exit(&o, 0);
}

#[test]
fn serve_refuses_what_it_cannot_do_safely() {
    let t = tempfile::tempdir().unwrap();
    let o = run(t.path(), &["memory", "serve", "--root", "mem", "--stdio"]);
    expect_exit(&o, 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--principal"));
    let o = run(
        t.path(),
        &["memory", "serve", "--root", "mem", "--listen", "0.0.0.0:0"],
    );
    expect_exit(&o, 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("loopback"));
    // --listen with no key at all: nothing to verify principals with.
    let o = common::vigil(t.path())
        .args([
            "memory",
            "serve",
            "--root",
            "mem",
            "--listen",
            "127.0.0.1:0",
        ])
        .env_remove("MCP_JWT_SECRET")
        .output()
        .unwrap();
    expect_exit(&o, 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("no key"));
    // A folder that is not a store is not taken over.
    std::fs::create_dir(t.path().join("notes")).unwrap();
    std::fs::write(t.path().join("notes/todo.md"), "x").unwrap();
    let o = run(
        t.path(),
        &[
            "memory",
            "serve",
            "--root",
            "notes",
            "--stdio",
            "--principal",
            "p",
        ],
    );
    expect_exit(&o, 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a memory store"));
    // Unknown [memory] keys are errors with file and line.
    std::fs::write(t.path().join("vigil.toml"), "[memory]\nmax_file_sise = 1\n").unwrap();
    let o = run(t.path(), &["memory", "audit", "verify", "--root", "mem"]);
    expect_exit(&o, 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("vigil.toml:2"));
}

// ---- regressions from the black-box test ----

/// A `vigil memory serve --stdio` driven line by line.
struct Raw {
    child: Child,
    stdin: Option<std::process::ChildStdin>,
    out: std::sync::mpsc::Receiver<Value>,
    stderr: std::sync::mpsc::Receiver<String>,
}

impl Raw {
    fn start(root: &Path, principal: &str, extra: &[&str], env: &[(&str, &str)]) -> Raw {
        let mut cmd = Command::new(vigil_bin());
        cmd.args(extra)
            .args(["memory", "serve", "--root"])
            .arg(root)
            .args(["--stdio", "--principal", principal])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, out) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(serde_json::from_str(&line).unwrap_or(Value::String(line)));
            }
        });
        let err = child.stderr.take().unwrap();
        let (etx, stderr) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                let _ = etx.send(line);
            }
        });
        let mut r = Raw {
            stdin: child.stdin.take(),
            child,
            out,
            stderr,
        };
        r.line(&json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}).to_string());
        r.reply(0);
        r.line(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string());
        r
    }

    fn line(&mut self, text: &str) {
        let s = self.stdin.as_mut().unwrap();
        s.write_all(text.as_bytes()).unwrap();
        s.write_all(b"\n").unwrap();
        s.flush().unwrap();
    }

    fn send(&mut self, id: u64, tool: &str, arguments: Value) {
        self.line(
            &json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                    "params": {"name": tool, "arguments": arguments}})
            .to_string(),
        );
    }

    fn reply(&mut self, id: u64) -> Value {
        loop {
            let v = self
                .out
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("no reply to {id}"));
            if v["id"] == id {
                return v;
            }
        }
    }

    /// A tool call's structured result and whether it is an error.
    fn call(&mut self, id: u64, tool: &str, arguments: Value) -> (Value, bool) {
        self.send(id, tool, arguments);
        let r = self.reply(id);
        let res = &r["result"];
        (
            res["structuredContent"].clone(),
            res["isError"].as_bool().unwrap_or(false),
        )
    }

    fn close(mut self) -> (Vec<Value>, String) {
        drop(self.stdin.take());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status}");
        // Until the reader thread has passed on everything the process wrote (it ends at EOF).
        let rest: Vec<Value> = self.out.iter().collect();
        let err: Vec<String> = self.stderr.iter().collect();
        (rest, err.join("\n"))
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write_some(root: &Path, principal: &str, n: u64) {
    let mut r = Raw::start(root, principal, &[], &[]);
    for i in 0..n {
        let (v, err) = r.call(
            i + 1,
            "memory_write",
            json!({"path": format!("n/{i}.md"), "content": format!("note {i}\n")}),
        );
        assert!(!err, "{v}");
    }
    r.close();
}

#[test]
fn links_in_state_and_unsafe_store_folders_are_refused_at_start() {
    use std::os::unix::fs::PermissionsExt;
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("mem");
    write_some(&root, "alice", 1);
    let victim = t.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    for name in ["usage", "pending.json", "lock"] {
        let p = root.join("state").join(name);
        let saved = std::fs::read(&p).unwrap();
        std::fs::remove_file(&p).unwrap();
        std::os::unix::fs::symlink(&victim, &p).unwrap();
        let o = run(
            t.path(),
            &["memory", "serve", "--root", "mem", "--principal", "a"],
        );
        expect_exit(&o, 2);
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("symbolic link"),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        std::fs::remove_file(&p).unwrap();
        std::fs::write(&p, saved).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    for dir in ["", "state", "files", "tmp"] {
        let p = root.join(dir);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o777)).unwrap();
        let o = run(
            t.path(),
            &["memory", "serve", "--root", "mem", "--principal", "a"],
        );
        expect_exit(&o, 2);
        let e = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(e.contains("group or others"), "{dir}: {e}");
        assert_eq!(e.trim().lines().count(), 1, "{e}");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let o = run(t.path(), &["memory", "audit", "verify", "--root", "mem"]);
    expect_exit(&o, 0);
}

#[test]
fn an_empty_audit_key_is_refused_not_taken_for_a_plain_store() {
    // An unset `${VIGIL_MEMORY_AUDIT_KEY}` in a client config gives an empty value: it must
    // not quietly mean an unkeyed store (bb-mem-s5b #1).
    let t = tempfile::tempdir().unwrap();
    let mut r = Raw::start(&t.path().join("mem"), "alice", &[], &[]);
    assert!(
        !r.call(1, "memory_write", json!({"path": "a.md", "content": "x"}))
            .1
    );
    r.close();
    for args in [
        &["memory", "serve", "--root", "mem2", "--principal", "alice"][..],
        &["memory", "audit", "verify", "--root", "mem"][..],
        &["memory", "log", "--root", "mem"][..],
    ] {
        let o = common::vigil(t.path())
            .args(args)
            .env("VIGIL_MEMORY_AUDIT_KEY", "")
            .write_stdin("")
            .output()
            .unwrap();
        expect_exit(&o, 2);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains("VIGIL_MEMORY_AUDIT_KEY"), "{err}");
        assert!(err.contains("set but empty"), "{err}");
    }
    assert!(!t.path().join("mem2").exists());
}

#[test]
fn a_missing_audit_key_says_so_once() {
    // bb-mem-s5b #4: one line, not the chain error printed twice, naming the key.
    let t = tempfile::tempdir().unwrap();
    let audit_key = secret() + "-audit";
    let env = [("VIGIL_MEMORY_AUDIT_KEY", audit_key.as_str())];
    let mut r = Raw::start(&t.path().join("mem"), "alice", &[], &env);
    assert!(
        !r.call(1, "memory_write", json!({"path": "a.md", "content": "x"}))
            .1
    );
    r.close();
    let o = run(
        t.path(),
        &[
            "memory",
            "audit",
            "accept",
            "--root",
            "mem",
            "--principal",
            "ops",
        ],
    );
    expect_exit(&o, 2);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(
        err.matches("does not end where its head says").count(),
        1,
        "{err}"
    );
    assert!(err.contains("audit key is missing or wrong"), "{err}");
}

#[test]
fn audit_verify_says_it_waits_for_the_writer_lock_and_gives_up() {
    // bb-mem-s5b #5: a held writer lock must not hang verify silently.
    let t = tempfile::tempdir().unwrap();
    let mut r = Raw::start(&t.path().join("mem"), "alice", &[], &[]);
    assert!(
        !r.call(1, "memory_write", json!({"path": "a.md", "content": "x"}))
            .1
    );
    r.close();
    let lock = std::fs::File::open(t.path().join("mem/state/lock")).unwrap();
    lock.lock().unwrap();
    let o = run(
        t.path(),
        &["memory", "audit", "verify", "--root", "mem", "--wait", "1"],
    );
    expect_exit(&o, 2);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        err.matches("waiting for the writer lock").count(),
        1,
        "{err}"
    );
    assert!(err.contains("gave up"), "{err}");
    lock.unlock().unwrap();
    let o = run(t.path(), &["memory", "audit", "verify", "--root", "mem"]);
    expect_exit(&o, 0);
    assert!(!String::from_utf8_lossy(&o.stderr).contains("waiting"));
}

#[test]
fn a_keyed_log_finds_a_consistent_rewrite_and_a_recorded_head_finds_a_rollback() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("mem");
    let audit_key = secret() + "-audit";
    let env = [("VIGIL_MEMORY_AUDIT_KEY", audit_key.as_str())];
    let mut r = Raw::start(&root, "alice", &[], &env);
    for i in 0..3u64 {
        assert!(
            !r.call(
                i + 1,
                "memory_write",
                json!({"path": "a.md", "content": format!("v{i}")})
            )
            .1
        );
    }
    r.close();
    let verify = |extra: &[&str], keyed: bool| {
        let mut c = common::vigil(t.path());
        c.args(["memory", "audit", "verify", "--root", "mem"])
            .args(extra);
        if keyed {
            c.env("VIGIL_MEMORY_AUDIT_KEY", &audit_key);
        }
        c.output().unwrap()
    };
    let o = verify(&[], true);
    expect_exit(&o, 0);
    assert!(String::from_utf8_lossy(&o.stdout).contains("keyed (HMAC-SHA256)"));
    // Rewrite log and head consistently with plain SHA-256 (all one can do without the key),
    // the principal changed to mallory.
    let log = root.join("state/audit.jsonl");
    let head = root.join("state/audit.head");
    let records: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    std::fs::remove_file(&log).unwrap();
    std::fs::remove_file(&head).unwrap();
    let forged = vigil_core::chain::Chain::new(&log, &head);
    for rec in &records {
        let mut m = rec.as_object().unwrap().clone();
        for k in ["seq", "prev", "hash"] {
            m.remove(k);
        }
        m.insert("principal".into(), "mallory".into());
        forged.append(&m).unwrap();
    }
    let o = verify(&[], true);
    expect_exit(&o, 1);
    assert!(String::from_utf8_lossy(&o.stdout).contains("edited"));
    // The server refuses to write on it.
    let mut r = Raw::start(&root, "alice", &[], &env);
    let (v, err) = r.call(9, "memory_write", json!({"path": "b.md", "content": "x"}));
    assert!(err && v["error"] == "audit", "{v}");
    assert!(
        !v["message"]
            .as_str()
            .unwrap()
            .contains(t.path().to_str().unwrap()),
        "{v}"
    );
    drop(r);

    // Plain log: a rollback (log and head cut back together) is consistent; the head recorded
    // before catches it.
    let root2 = t.path().join("mem2");
    write_some(&root2, "alice", 3);
    let o = common::vigil(t.path())
        .args(["memory", "audit", "verify", "--root", "mem2", "-f", "json"])
        .output()
        .unwrap();
    let anchor = serde_json::from_slice::<Value>(&o.stdout).unwrap()["anchor"]
        .as_str()
        .unwrap()
        .to_owned();
    let log2 = root2.join("state/audit.jsonl");
    let lines: Vec<String> = std::fs::read_to_string(&log2)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    std::fs::write(&log2, format!("{}\n{}\n", lines[0], lines[1])).unwrap();
    let h2: Value = serde_json::from_str(&lines[1]).unwrap();
    let slot = format!(
        "{{\"seq\":2,\"hash\":\"{}\"}}",
        h2["hash"].as_str().unwrap()
    );
    std::fs::write(
        root2.join("state/audit.head"),
        format!("{slot:<127}\n{slot:<127}\n"),
    )
    .unwrap();
    std::fs::remove_file(root2.join("files/n/2.md")).unwrap();
    let plain = |extra: &[&str]| {
        common::vigil(t.path())
            .args(["memory", "audit", "verify", "--root", "mem2"])
            .args(extra)
            .output()
            .unwrap()
    };
    expect_exit(&plain(&[]), 0);
    let o = plain(&["--head", &anchor]);
    expect_exit(&o, 1);
    assert!(String::from_utf8_lossy(&o.stdout).contains("rolled back"));
}

#[test]
fn a_log_broken_in_the_middle_refuses_writes_and_history_and_log_say_so() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("mem");
    write_some(&root, "alice", 4);
    let log = root.join("state/audit.jsonl");
    let text = std::fs::read_to_string(&log).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[1] = lines[1].replace("\"alice\"", "\"mallory\"");
    std::fs::write(&log, lines.join("\n") + "\n").unwrap();
    let mut r = Raw::start(&root, "alice", &[], &[]);
    let (v, err) = r.call(1, "memory_write", json!({"path": "z.md", "content": "x"}));
    assert!(err && v["error"] == "audit", "{v}");
    let (v, err) = r.call(2, "memory_history", json!({"path": "n/3.md"}));
    assert!(err && v["error"] == "audit", "{v}");
    drop(r);
    let o = run(t.path(), &["memory", "log", "--root", "mem"]);
    expect_exit(&o, 1);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.lines().filter(|l| l.ends_with("UNVERIFIED")).count() >= 2,
        "{out}"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("does not verify"));
    // The edited line itself is shown, marked, never dropped (bb-mem-s5b #2).
    assert_eq!(out.lines().count(), 4, "{out}");
    assert!(
        out.lines()
            .any(|l| l.contains("mallory") && l.ends_with("UNVERIFIED")),
        "{out}"
    );
    let o = run(t.path(), &["memory", "log", "--root", "mem", "-f", "json"]);
    expect_exit(&o, 1);
    let rows: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert!(
        rows.iter()
            .any(|r| r["principal"] == "mallory" && r["verified"] == false),
        "{rows:?}"
    );
}

#[test]
fn control_characters_and_long_principals_are_refused_at_the_boundary() {
    let t = tempfile::tempdir().unwrap();
    for p in ["p\u{1b}[2Jq", "evil\n{\"seq\":99}", "a\u{202e}b"] {
        let o = run(
            t.path(),
            &["memory", "serve", "--root", "mem", "--principal", p],
        );
        expect_exit(&o, 2);
        assert!(String::from_utf8_lossy(&o.stderr).contains("--principal"));
    }
    let long = "x".repeat(5000);
    let o = run(
        t.path(),
        &["memory", "serve", "--root", "mem", "--principal", &long],
    );
    expect_exit(&o, 2);
    let server = Listening::start(t.path(), &t.path().join("mem2"), "", &[]);
    let host = server.addr.to_string();
    for sub in ["evil\n{\"seq\":99}", "a\u{1b}[31mred", &long] {
        // `vigil_token::mint` refuses such subjects itself: sign the claims directly.
        let claims = json!({"aud": "memory", "sub": sub, "iat": now(), "exp": now() + 600,
                            "jti": format!("j-{}", sub.len())});
        let tok = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(secret().as_bytes()),
        )
        .unwrap();
        assert_eq!(
            raw_post(
                server.addr,
                &host,
                &[("Authorization", &format!("Bearer {tok}"))]
            ),
            401,
            "{sub:?}"
        );
    }
}

#[test]
fn audit_verify_does_not_false_alarm_on_a_live_store() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("mem");
    write_some(&root, "alice", 1);
    let writer = {
        let root = root.clone();
        std::thread::spawn(move || {
            let mut r = Raw::start(&root, "w", &[], &[]);
            for i in 0..150u64 {
                let (v, err) = r.call(
                    i + 1,
                    "memory_write",
                    json!({"path": "own.md", "content": format!("{i}")}),
                );
                assert!(!err, "{v}");
            }
            r.close();
        })
    };
    let mut runs = 0;
    while !writer.is_finished() || runs < 3 {
        let o = run(t.path(), &["memory", "audit", "verify", "--root", "mem"]);
        expect_exit(&o, 0);
        runs += 1;
    }
    writer.join().unwrap();
}

/// One raw HTTP/1.1 request; status and the session header.
fn raw_http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    host: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Option<String>) {
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(req.as_bytes()).unwrap();
    let mut r = BufReader::new(&mut s);
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    let status = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut session = None;
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).unwrap() == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("mcp-session-id") {
                session = Some(v.trim().to_owned());
            }
        }
    }
    (status, session)
}

#[test]
fn http_sessions_are_capped_and_belong_to_their_principal() {
    let t = tempfile::tempdir().unwrap();
    let server = Listening::start(
        t.path(),
        &t.path().join("mem"),
        "[memory]\nmax_sessions = 2\n",
        &[],
    );
    let host = server.addr.to_string();
    let alice = format!("Bearer {}", token_with(&secret(), "memory", "alice"));
    let mallory = format!("Bearer {}", token_with(&secret(), "memory", "mallory"));
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "1"}}})
    .to_string();
    let a = &[("Authorization", alice.as_str())];
    let (s1, id1) = raw_http(server.addr, "POST", "/mcp", &host, a, &init);
    assert_eq!(s1, 200);
    let id1 = id1.expect("a session id");
    // Another principal cannot use or close alice's session.
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}).to_string();
    let m = [
        ("Authorization", mallory.as_str()),
        ("Mcp-Session-Id", id1.as_str()),
        ("MCP-Protocol-Version", "2025-06-18"),
    ];
    assert_eq!(
        raw_http(server.addr, "POST", "/mcp", &host, &m, &list).0,
        404
    );
    assert_eq!(
        raw_http(server.addr, "DELETE", "/mcp", &host, &m, "").0,
        404
    );
    let mine = [
        ("Authorization", alice.as_str()),
        ("Mcp-Session-Id", id1.as_str()),
        ("MCP-Protocol-Version", "2025-06-18"),
    ];
    assert_eq!(
        raw_http(server.addr, "POST", "/mcp", &host, &mine, &list).0,
        200
    );
    // The cap: a second session opens, a third is refused.
    assert_eq!(
        raw_http(server.addr, "POST", "/mcp", &host, a, &init).0,
        200
    );
    assert_eq!(
        raw_http(server.addr, "POST", "/mcp", &host, a, &init).0,
        503
    );
    // MCP lives at /mcp only; a Host with userinfo is refused.
    assert_eq!(
        raw_http(server.addr, "POST", "/other", &host, a, &init).0,
        404
    );
    let evil = format!("evil@{host}");
    assert_eq!(
        raw_http(server.addr, "POST", "/mcp", &evil, a, &init).0,
        403
    );
}

#[test]
fn empty_files_and_folders_count_against_the_total_cap_and_the_counter_is_recounted() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(
        t.path().join("vigil.toml"),
        "[memory]\nmax_total_size = \"4KiB\"\n",
    )
    .unwrap();
    let root = t.path().join("mem");
    let cfg = t.path().join("vigil.toml");
    let cfg = cfg.to_str().unwrap();
    let mut r = Raw::start(&root, "a", &["--config", cfg], &[]);
    let mut full = None;
    for i in 0..64u64 {
        let (v, err) = r.call(
            i + 1,
            "memory_write",
            json!({"path": format!("d{i}/e.md"), "content": ""}),
        );
        if err {
            assert_eq!(v["error"], "store_full", "{v}");
            full = Some(i);
            break;
        }
    }
    let full = full.expect("empty files and folders fill the store");
    assert!(full <= 4, "{full}");
    drop(r);
    // A counter reset to 0 is not believed: recounted at start.
    std::fs::write(root.join("state/usage"), "0").unwrap();
    let mut r = Raw::start(&root, "a", &["--config", cfg], &[]);
    let (v, err) = r.call(
        1,
        "memory_write",
        json!({"path": "big.md", "content": "x".repeat(3000)}),
    );
    assert!(err && v["error"] == "store_full", "{v}");
}

#[test]
fn content_stays_out_of_verbose_logs_and_a_principal_named_bot_logs_cleanly() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("mem");
    let marker = format!("MARK{}", &secret()[..12]);
    let mut r = Raw::start(&root, "alice-bot", &["-vv"], &[]);
    let (_, err) = r.call(
        1,
        "memory_write",
        json!({"path": "a.md", "content": marker}),
    );
    assert!(!err);
    let (_, logs) = r.close();
    assert!(!logs.contains(&marker), "{logs}");
    assert!(logs.contains("outcome=\"ok\""), "{logs}");
    assert!(!logs.contains("REDACTED"), "{logs}");
}

#[test]
fn a_replayed_or_jti_less_assertion_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let gw = secret() + "-gateway";
    let config = "[memory.assertion]\nissuer = \"vigil-gateway\"\nsecret_env = \"GW_SECRET\"\n";
    let server = Listening::start(
        t.path(),
        &t.path().join("mem"),
        config,
        &[("GW_SECRET", &gw)],
    );
    let host = server.addr.to_string();
    let a = vigil_token::mint_assertion(&key(&gw), "vigil-gateway", "memory", "carol", now(), 30)
        .unwrap();
    let h = format!("Bearer {a}");
    assert_eq!(raw_post(server.addr, &host, &[("Authorization", &h)]), 200);
    assert_eq!(raw_post(server.addr, &host, &[("Authorization", &h)]), 401);
}

#[test]
fn stdio_answers_garbage_lines_and_drains_pipelined_calls_on_close() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("mem");
    let mut r = Raw::start(&root, "alice", &[], &[]);
    r.line("this is not json");
    let v = r.out.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(v["error"]["code"], -32700, "{v}");
    r.line(r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"memory_read","arguments":{"path":"\udc80"}}}"#);
    let v = r.out.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(
        v.get("error").is_some() || v["result"]["isError"] == true,
        "{v}"
    );
    r.line(r#"{"jsonrpc":"2.0","id":8,"bogus":true}"#);
    let v = r.out.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(v["error"]["code"], -32600, "{v}");
    for i in 0..60u64 {
        r.send(
            100 + i,
            "memory_append",
            json!({"path": "log.md", "content": format!("{i}\n")}),
        );
    }
    let (rest, _) = r.close();
    let answered: std::collections::BTreeSet<u64> =
        rest.iter().filter_map(|v| v["id"].as_u64()).collect();
    assert_eq!(answered.len(), 60, "{} answered", answered.len());
    assert_eq!(
        std::fs::read_to_string(root.join("files/log.md"))
            .unwrap()
            .lines()
            .count(),
        60
    );
}

#[test]
fn conflict_on_a_missing_file_and_an_over_long_expected_version_answer_usefully() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("mem");
    let mut r = Raw::start(&root, "alice", &[], &[]);
    let (v, err) = r.call(
        1,
        "memory_write",
        json!({"path": "a.md", "content": "x", "expected_version": "0".repeat(64)}),
    );
    assert!(err && v["error"] == "conflict" && v["found"] == "", "{v}");
    let (v, err) = r.call(
        2,
        "memory_write",
        json!({"path": "a.md", "content": "x", "expected_version": "0".repeat(65)}),
    );
    assert!(err && v["error"] == "invalid_arguments", "{v}");
    // An over-cap file planted outside the tools reports its real size.
    std::fs::write(root.join("files/big.md"), "y".repeat(400_000)).unwrap();
    let (v, err) = r.call(
        3,
        "memory_append",
        json!({"path": "big.md", "content": "z"}),
    );
    assert!(
        err && v["error"] == "too_large" && v["size"] == 400_000,
        "{v}"
    );
}

/// A memory server on `--listen` that trusts only the gateway's assertions (its own
/// `MCP_JWT_SECRET` differs from the gateway's), and `vigil gateway` in front of it signing one
/// assertion per request.
fn memory_behind_the_gateway(dir: &Path, gw_secret: &str) -> (Listening, gw::Gateway) {
    let mem = dir.join("m");
    let gwd = dir.join("g");
    std::fs::create_dir_all(&mem).unwrap();
    std::fs::create_dir_all(&gwd).unwrap();
    let server = Listening::start(
        &mem,
        &dir.join("store"),
        "[memory.assertion]\nissuer = \"vigil-gateway\"\nsecret_env = \"GW_ASSERTION_SECRET\"\n",
        &[("GW_ASSERTION_SECRET", gw_secret)],
    );
    let config = format!(
        "[gateway]\n\n[[gateway.routes]]\npath = \"/mcp/memory\"\nupstream = \"http://{}/mcp\"\n\n\
         [gateway.routes.assertion]\nsecret_env = \"GW_ASSERTION_SECRET\"\n",
        server.addr
    );
    let g = gw::Gateway::start(&gwd, &config, &[("GW_ASSERTION_SECRET", gw_secret)]);
    (server, g)
}

#[test]
fn the_sdks_drive_every_tool_through_vigil_gateway_with_an_assertion_per_request() {
    let gw_secret = format!("gw-{}", secret().chars().rev().collect::<String>());
    for (name, client) in [
        ("python", run_py as fn(&Value) -> Value),
        ("typescript", run_ts),
    ] {
        let t = tempfile::tempdir().unwrap();
        let (server, g) = memory_behind_the_gateway(t.path(), &gw_secret);
        let subject = format!("{name}-agent");
        let token = gw::token("memory", &subject);
        let out = client(&http_spec(
            &g.url("/mcp/memory"),
            &token,
            every_tool_calls(),
        ));
        // The principal the store records is the subject the gateway verified.
        check_every_tool(&out, &subject);
        // The client's own token is not accepted by the store directly: only the gateway's
        // assertions are (the store's key ring does not hold the gateway's token secret).
        let host = server.addr.to_string();
        assert_eq!(
            raw_post(
                server.addr,
                &host,
                &[("Authorization", &format!("Bearer {token}"))]
            ),
            401
        );
        // A token without `sub` has nothing to assert: the gateway refuses it itself.
        let no_sub = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &json!({"aud": "memory", "iat": now(), "exp": now() + 600}),
            &jsonwebtoken::EncodingKey::from_secret(gw::secret().as_bytes()),
        )
        .unwrap();
        let gw_host = g.addr.to_string();
        assert_eq!(
            raw_post_to(
                g.addr,
                "/mcp/memory",
                &gw_host,
                &[("Authorization", &format!("Bearer {no_sub}"))]
            ),
            401
        );
        // `memory log` quotes a principal that is not plain printable ASCII.
        let o = run(
            &t.path().join("m"),
            &["memory", "log", "--root", "../store"],
        );
        expect_exit(&o, 0);
        assert!(String::from_utf8_lossy(&o.stdout).contains(&subject));
        drop(g);
    }
}

/// (extra route configuration, environment, the refusal's words).
type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);

#[test]
fn a_gateway_refuses_an_assertion_it_cannot_sign_safely() {
    let t = tempfile::tempdir().unwrap();
    let base = "[gateway]\n\n[[gateway.routes]]\npath = \"/mcp/memory\"\nupstream = \"http://127.0.0.1:9/mcp\"\n";
    let cases: [Case; 4] = [
        (
            "[gateway.routes.assertion]\nsecret_env = \"GW_A\"\n",
            &[],
            "GW_A is not set",
        ),
        (
            "[gateway.routes.assertion]\nsecret_env = \"GW_A\"\n",
            &[("GW_A", "changeme")],
            "too weak",
        ),
        (
            "auth = false\n[gateway.routes.assertion]\nsecret_env = \"GW_A\"\n",
            &[("GW_A", "x")],
            "no verified subject",
        ),
        (
            "[gateway.routes.assertion]\nsecret_env = \"GW_A\"\nlifetime = \"1h\"\n",
            &[],
            "between 1s and 5m",
        ),
    ];
    for (extra, env, want) in cases {
        std::fs::write(t.path().join("vigil.toml"), format!("{base}{extra}")).unwrap();
        let mut env: Vec<(&str, String)> = env.iter().map(|(k, v)| (*k, v.to_string())).collect();
        if want.contains("between") {
            env.push(("GW_A", format!("lt-{}", secret())));
        }
        let out = common::vigil(t.path())
            .args(["gateway", "check"])
            .env("MCP_JWT_SECRET", secret())
            .envs(env)
            .output()
            .unwrap();
        expect_exit(&out, 2);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{want}: {err}");
        assert!(err.contains("gateway.routes[0].assertion"), "{err}");
    }
    // --allow-weak-secret lets a weak assertion secret through on loopback only.
    std::fs::write(
        t.path().join("vigil.toml"),
        format!("{base}[gateway.routes.assertion]\nsecret_env = \"GW_A\"\n"),
    )
    .unwrap();
    for (listen, code) in [("0.0.0.0:8445", 2), ("127.0.0.1:8445", 0)] {
        let out = common::vigil(t.path())
            .args([
                "gateway",
                "check",
                "--allow-weak-secret",
                "--listen",
                listen,
            ])
            .env("MCP_JWT_SECRET", secret())
            .env("GW_A", "changeme")
            .output()
            .unwrap();
        expect_exit(&out, code);
        if code == 2 {
            assert!(String::from_utf8_lossy(&out.stderr).contains("too weak"));
        }
    }
}

/// `audit verify -f json` in `dir` on `mem`: exit code, problem codes, notes.
fn verify_json(dir: &Path, env: &[(&str, &str)]) -> (i32, Vec<String>, Vec<String>) {
    let mut c = common::vigil(dir);
    c.args(["memory", "audit", "verify", "--root", "mem", "-f", "json"]);
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().unwrap();
    let v = common::json(&o);
    let strings = |k: &str| -> Vec<String> {
        v[k].as_array()
            .map(|a| {
                a.iter()
                    .map(|p| p.get("code").unwrap_or(p).as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    (
        o.status.code().unwrap(),
        strings("problems"),
        strings("notes"),
    )
}

fn sha_hex(b: &[u8]) -> String {
    vigil_core::chain::sha256_hex(b)
}

#[test]
fn a_forged_crash_journal_is_never_completed_and_verify_and_log_never_append() {
    for keyed in [true, false] {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("mem");
        let audit_key = secret() + "-audit";
        let env: Vec<(&str, &str)> = if keyed {
            vec![("VIGIL_MEMORY_AUDIT_KEY", audit_key.as_str())]
        } else {
            vec![]
        };
        let mut r = Raw::start(&root, "alice-bot", &[], &env);
        assert!(
            !r.call(1, "memory_write", json!({"path": "a.md", "content": "v1"}))
                .1
        );
        r.close();
        let log = root.join("state/audit.jsonl");
        let before = std::fs::read(&log).unwrap();
        // Someone without the key edits a.md and leaves a journal naming alice-bot: every
        // field fits (the old version is the recorded one, a fresh time).
        std::fs::write(root.join("files/a.md"), "EVIL").unwrap();
        let head: Value = serde_json::from_slice(
            &std::fs::read(root.join("state/audit.head")).unwrap()[128..256],
        )
        .unwrap();
        let forged = json!({"time": "2026-11-30T04:56:00.000Z", "principal": "alice-bot",
            "tool": "memory_write", "path": "a.md", "length": 4, "sha256": sha_hex(b"EVIL"),
            "old_sha256": sha_hex(b"v1"), "prev_seq": head["seq"], "prev_hash": head["hash"]});
        // Keyed: a MAC line made without the key; plain: a principal no writer accepts.
        let text = if keyed {
            format!("{forged}\n{}\n", "0".repeat(64))
        } else {
            let mut f = forged.clone();
            f["principal"] = json!("admin\u{1b}[31m");
            format!("{f}\n")
        };
        std::fs::write(root.join("state/pending.json"), text).unwrap();
        let (code, problems, _) = verify_json(t.path(), &env);
        assert_eq!(code, 1, "keyed {keyed}: {problems:?}");
        assert!(
            problems.contains(&"journal_forged".to_owned()),
            "{problems:?}"
        );
        assert!(problems.contains(&"edited".to_owned()), "{problems:?}");
        let mut c = common::vigil(t.path());
        c.args(["memory", "log", "--root", "mem"])
            .envs(env.iter().copied());
        expect_exit(&c.output().unwrap(), 0);
        assert_eq!(
            std::fs::read(&log).unwrap(),
            before,
            "verify or log appended"
        );
        // The next writer drops the journal instead of completing it; the edit stays found,
        // and nothing is written over it.
        let mut r = Raw::start(&root, "carol", &[], &env);
        assert!(
            !r.call(1, "memory_write", json!({"path": "b.md", "content": "b"}))
                .1
        );
        let (v, err) = r.call(2, "memory_append", json!({"path": "a.md", "content": "x"}));
        assert!(err && v["error"] == "audit", "{v}");
        r.close();
        let (code, problems, _) = verify_json(t.path(), &env);
        assert_eq!((code, problems), (1, vec!["edited".to_owned()]));
        let lines = std::fs::read_to_string(&log).unwrap();
        assert_eq!(lines.lines().count(), 2);
        assert!(!lines.contains(&sha_hex(b"EVIL")));
    }
}

#[test]
fn tools_refuse_to_write_over_a_foreign_edit_until_audit_accept() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("mem");
    let mut r = Raw::start(&root, "bot", &[], &[]);
    assert!(
        !r.call(
            1,
            "memory_write",
            json!({"path": "f1.md", "content": "mine\n"})
        )
        .1
    );
    assert!(
        !r.call(
            2,
            "memory_write",
            json!({"path": "gone.md", "content": "x"})
        )
        .1
    );
    std::fs::write(root.join("files/f1.md"), "EVIL EDIT\n").unwrap();
    std::fs::write(root.join("files/bin.md"), [0xffu8, 0xfe]).unwrap();
    std::fs::remove_file(root.join("files/gone.md")).unwrap();
    for (id, tool, args) in [
        (
            3,
            "memory_append",
            json!({"path": "f1.md", "content": "note\n"}),
        ),
        (
            4,
            "memory_write",
            json!({"path": "f1.md", "content": "note\n"}),
        ),
        (5, "memory_delete", json!({"path": "f1.md"})),
        (
            6,
            "memory_append",
            json!({"path": "bin.md", "content": "note\n"}),
        ),
        (
            7,
            "memory_write",
            json!({"path": "gone.md", "content": "back"}),
        ),
    ] {
        let (v, err) = r.call(id, tool, args);
        assert!(err && v["error"] == "audit", "{tool}: {v}");
    }
    // Other files are still writable.
    assert!(
        !r.call(8, "memory_write", json!({"path": "g.md", "content": "g"}))
            .1
    );
    r.close();
    assert_eq!(
        std::fs::read_to_string(root.join("files/f1.md")).unwrap(),
        "EVIL EDIT\n"
    );
    let (code, problems, _) = verify_json(t.path(), &[]);
    assert_eq!(code, 1);
    for c in ["edited", "unrecorded", "deleted", "loose_mode"] {
        assert!(problems.contains(&c.to_owned()), "{problems:?}");
    }
    // The documented way on: an operator takes the files as they are.
    let o = run(
        t.path(),
        &[
            "memory",
            "audit",
            "accept",
            "--root",
            "mem",
            "--principal",
            "ops",
        ],
    );
    expect_exit(&o, 0);
    assert!(String::from_utf8_lossy(&o.stdout).contains("3 file(s)"));
    assert_eq!(verify_json(t.path(), &[]).0, 0);
    let mut r = Raw::start(&root, "bot", &[], &[]);
    assert!(
        !r.call(
            1,
            "memory_append",
            json!({"path": "f1.md", "content": "ok\n"})
        )
        .1
    );
    r.close();
    assert_eq!(verify_json(t.path(), &[]).0, 0);
}

#[test]
fn deleting_the_history_refuses_writes_and_history_until_audit_accept() {
    for what in ["log-and-head", "state"] {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("mem");
        write_some(&root, "bot", 2);
        if what == "state" {
            std::fs::remove_dir_all(root.join("state")).unwrap();
        } else {
            std::fs::remove_file(root.join("state/audit.jsonl")).unwrap();
            std::fs::remove_file(root.join("state/audit.head")).unwrap();
        }
        let mut r = Raw::start(&root, "bot", &[], &[]);
        let (v, err) = r.call(1, "memory_write", json!({"path": "x.md", "content": "x"}));
        assert!(err && v["error"] == "audit", "{what}: {v}");
        let (v, err) = r.call(2, "memory_history", json!({"path": "n/0.md"}));
        assert!(err && v["error"] == "audit", "{what}: {v}");
        r.close();
        let (code, problems, _) = verify_json(t.path(), &[]);
        assert_eq!(code, 1);
        assert!(problems.contains(&"no_log".to_owned()), "{problems:?}");
        let o = run(
            t.path(),
            &[
                "memory",
                "audit",
                "accept",
                "--root",
                "mem",
                "--principal",
                "ops",
            ],
        );
        expect_exit(&o, 0);
        let mut r = Raw::start(&root, "bot", &[], &[]);
        let (v, err) = r.call(1, "memory_write", json!({"path": "x.md", "content": "x"}));
        assert!(!err, "{v}");
        assert_eq!(v["seq"], 3);
        r.close();
        assert_eq!(verify_json(t.path(), &[]).0, 0);
    }
}

#[test]
fn a_crash_between_the_log_line_and_its_head_is_noted_not_called_tampering() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("mem");
    let mut r = Raw::start(&root, "bot", &[], &[]);
    assert!(
        !r.call(1, "memory_write", json!({"path": "a.md", "content": "1"}))
            .1
    );
    let head_after_one = std::fs::read(root.join("state/audit.head")).unwrap();
    assert!(
        !r.call(2, "memory_write", json!({"path": "a.md", "content": "2"}))
            .1
    );
    r.close();
    // As a kill -9 between the line and the head update leaves it.
    std::fs::write(root.join("state/audit.head"), &head_after_one).unwrap();
    let log = std::fs::read(root.join("state/audit.jsonl")).unwrap();
    let (code, problems, notes) = verify_json(t.path(), &[]);
    assert_eq!(code, 0, "{problems:?}");
    assert!(
        notes.iter().any(|n| n.contains("one past its head")),
        "{notes:?}"
    );
    let o = run(t.path(), &["memory", "log", "--root", "mem"]);
    expect_exit(&o, 0);
    assert!(!String::from_utf8_lossy(&o.stdout).contains("UNVERIFIED"));
    assert_eq!(
        std::fs::read(root.join("state/audit.head")).unwrap(),
        head_after_one
    );
    assert_eq!(std::fs::read(root.join("state/audit.jsonl")).unwrap(), log);
    let mut r = Raw::start(&root, "bot", &[], &[]);
    let (v, err) = r.call(1, "memory_history", json!({"path": "a.md"}));
    assert!(!err, "{v}");
    assert_eq!(v["changes"].as_array().unwrap().len(), 2);
    r.close();
}

#[test]
fn invisible_characters_tilde_roots_and_loose_modes() {
    use std::os::unix::fs::PermissionsExt;
    let t = tempfile::tempdir().unwrap();
    // A soft hyphen, an Arabic letter mark, a line separator, a Hangul filler, a trailing
    // no-break space: refused as principals, exit 2.
    for p in [
        "ad\u{AD}min",
        "a\u{61C}b",
        "a\u{2028}b",
        "\u{3164}",
        "bob\u{A0}",
    ] {
        let o = run(
            t.path(),
            &[
                "memory",
                "serve",
                "--root",
                "mem",
                "--stdio",
                "--principal",
                p,
            ],
        );
        expect_exit(&o, 2);
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("--principal"),
            "{p:?}"
        );
    }
    // `~` is not expanded when no shell runs: refused, nothing created.
    let o = run(
        t.path(),
        &[
            "memory",
            "serve",
            "--root",
            "~/.familiar/alice",
            "--principal",
            "p",
        ],
    );
    expect_exit(&o, 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains('~'));
    assert!(!t.path().join("~").exists());
    // Nor is `$HOME` or `${VAR}` (a client config run without a shell): refused (bb-mem-s5b #12).
    for root in ["$HOME/x", "${VIGIL_MEM}/alice", "x/$HOME"] {
        let o = run(
            t.path(),
            &["memory", "serve", "--root", root, "--principal", "p"],
        );
        expect_exit(&o, 2);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("no shell expanded"), "{err}");
    }
    assert!(!t.path().join("$HOME").exists());
    assert!(!t.path().join("x").exists());
    let root = t.path().join("mem");
    let mut r = Raw::start(&root, "bot", &[], &[]);
    for (i, p) in [
        "a\u{61C}b.md",
        "\u{180E}.md",
        "\u{3164}.md",
        "a\u{2028}b",
        "a\u{16FE4}b.md",
    ]
    .iter()
    .enumerate()
    {
        let (v, err) = r.call(
            i as u64 + 1,
            "memory_write",
            json!({"path": p, "content": "x"}),
        );
        assert!(err && v["error"] == "invalid_name", "{p:?}: {v}");
    }
    let (v, err) = r.call(
        9,
        "memory_write",
        json!({"path": "\u{3A3}.md", "content": "x"}),
    );
    assert!(!err, "{v}");
    let (v, err) = r.call(
        10,
        "memory_write",
        json!({"path": "\u{3C2}.md", "content": "x"}),
    );
    assert!(err && v["error"] == "name_collision", "{v}");
    r.close();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let chmod =
        |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    chmod(&root.join("state/audit.jsonl"), 0o644);
    chmod(&root, 0o755);
    chmod(&root.join("files/\u{3A3}.md"), 0o666);
    // A folder inside files/ is reported too (bb-mem-s5b #6).
    std::fs::create_dir(root.join("files/sub")).unwrap();
    chmod(&root.join("files/sub"), 0o777);
    let (code, problems, _) = verify_json(t.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(
        problems.iter().filter(|p| *p == "loose_mode").count(),
        4,
        "{problems:?}"
    );
    // verify changed nothing; a server tightens them at start.
    assert_eq!(mode(&root), 0o755);
    Raw::start(&root, "bot", &[], &[]).close();
    assert_eq!(mode(&root), 0o700);
    assert_eq!(mode(&root.join("state/audit.jsonl")), 0o600);
    assert_eq!(mode(&root.join("files/\u{3A3}.md")), 0o600);
    assert_eq!(mode(&root.join("files/sub")), 0o700);
    assert_eq!(verify_json(t.path(), &[]).0, 0);
}
