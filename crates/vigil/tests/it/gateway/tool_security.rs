//! Security inside the door: secrets in tool-call arguments blocked before the upstream and
//! secrets in results redacted (JSON and SSE, streamed), with the official TypeScript and Python
//! SDKs; the hash-chained audit of tool calls and `vigil gateway audit verify` catching edits,
//! deletions, reorders and a cut-off tail; the MCP protocol checks (2026-07-28 mirrored headers,
//! batches by protocol version).

use super::*;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

/// A GitHub classic token (valid checksum), built at run time.
fn ghp(seed: u64) -> String {
    common::token("GITHUB_TOKEN=«ghp_{alnum:30}{ghcrc}»", seed)
}

fn mcp_headers<'a>(auth: &'a str, version: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("authorization", auth),
        ("content-type", "application/json"),
        ("accept", MCP),
        ("mcp-protocol-version", version),
    ]
}

fn tool_call(id: u64, tool: &str, text: &str) -> String {
    serde_json::json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": tool, "arguments": {"text": text}}})
    .to_string()
}

fn tool_calls_seen(up: &Upstream) -> usize {
    up.seen()
        .iter()
        .filter(|s| String::from_utf8_lossy(&s.body).contains("tools/call"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_github_token_in_tool_arguments_is_blocked_before_the_upstream() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(dir.path(), &config(&up, "", ""), &[]);
    let t = token("filesystem", "mallory");
    let auth = bearer(&t);
    let url = gw.url("/mcp/filesystem");
    let secret = ghp(1);
    let h = mcp_headers(&auth, "2025-11-25");

    // Plain, glued to a JSON escape, or spelled with one: still found.
    let spelled = format!(
        r#"{{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{{"name":"echo","arguments":{{"text":"\u0067{}"}}}}}}"#,
        &secret[1..]
    );
    for sent in [
        tool_call(7, "echo", &format!("please use {secret} for the push")),
        tool_call(7, "echo", &format!("push it\n{secret}")),
        spelled,
    ] {
        let (status, _, body) = call("POST", &url, &h, &sent).await;
        assert_eq!(status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["id"], 7);
        assert_eq!(v["result"]["isError"], true, "{body}");
        assert!(v["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("hold a secret"));
        assert!(!body.contains(&secret));
    }
    // A secret in a parameter header is one in the call.
    let (status, _, body) = call(
        "POST",
        &url,
        &[h.clone(), vec![("mcp-param-note", secret.as_str())]].concat(),
        &tool_call(8, "echo", "hello"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.contains("\"isError\":true"), "{body}");
    assert_eq!(tool_calls_seen(&up), 0, "the upstream never saw the calls");

    // A clean call goes through (a JSON answer: the test upstream holds an SSE one open).
    let mut json_only = h.clone();
    json_only[2] = ("accept", "application/json");
    let (status, _, body) = call("POST", &url, &json_only, &tool_call(9, "echo", "hello")).await;
    assert_eq!(status, 200);
    assert!(
        body.contains("hello") && !body.contains("isError"),
        "{body}"
    );
    assert_eq!(tool_calls_seen(&up), 1);

    let (_, _, metrics) = call("GET", &gw.url("/metrics"), &[], "").await;
    assert!(
        metrics.contains(
            "vigil_gateway_secrets_total{route=\"/mcp/filesystem\",place=\"arguments\",rule=\"github-pat\"} 3"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("place=\"header\",rule=\"github-pat\"} 1"));
    assert!(metrics.contains("vigil_gateway_alerts_total{alert=\"secret_in_arguments\"} 1"));
    assert!(gw.wait_log("secret in a tool call"));
    assert!(!gw.log_text().contains(&secret), "never logged in clear");
    assert!(!gw.log_text().contains(&secret[4..20]));
}

/// `arguments = "redact"`: a secret in a value goes on redacted; a redaction that would change
/// what the call is (a secret used as the id, or as keys that then read alike) blocks the call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redacting_arguments_never_sends_a_call_other_than_the_one_written() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(
        dir.path(),
        &config(&up, "", "[gateway.scan]\narguments = \"redact\"\n"),
        &[],
    );
    let auth = bearer(&token("filesystem", "mallory"));
    let url = gw.url("/mcp/filesystem");
    let mut h = mcp_headers(&auth, "2025-11-25");
    h[2] = ("accept", "application/json");
    let (a, b) = (ghp(21), ghp(22));

    let (status, _, body) =
        call("POST", &url, &h, &tool_call(5, "echo", &format!("use {a}"))).await;
    assert_eq!(status, 200, "{body}");
    let seen = up.seen();
    let sent = String::from_utf8_lossy(&seen.last().expect("forwarded").body).into_owned();
    assert!(
        sent.contains("[REDACTED:github-pat]") && !sent.contains(&a),
        "{sent}"
    );
    assert_eq!(tool_calls_seen(&up), 1);
    // Tester 142: a copy of a value read as a secret only beside its name, spelled with a `\u`
    // escape elsewhere, goes up redacted too (built here: no secret in this file).
    let v: String = ["Zq8v", "R2mK", "4pL9", "sT6w", "Hy3b", "Nc7x"].concat();
    let escaped = format!(
        r#"{{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{{"name":"echo","arguments":{{"a":"\u{:04x}{}","b":"password = \"{v}\""}}}}}}"#,
        v.as_bytes()[0],
        &v[1..]
    );
    let (status, _, body) = call("POST", &url, &h, &escaped).await;
    assert_eq!(status, 200, "{body}");
    let seen = up.seen();
    let sent = String::from_utf8_lossy(&seen.last().expect("forwarded").body).into_owned();
    assert!(!sent.contains(&v[1..]), "{sent}");
    assert_eq!(sent.matches("[REDACTED:").count(), 2, "{sent}");
    assert_eq!(tool_calls_seen(&up), 2);

    let as_keys = format!(
        r#"{{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{{"name":"echo","arguments":{{"{a}":1,"{b}":2}}}}}}"#
    );
    let as_id = format!(
        r#"{{"jsonrpc":"2.0","id":"{a}","method":"tools/call","params":{{"name":"echo","arguments":{{"text":"hi"}}}}}}"#
    );
    // The refusal answers the id the client sent (its own value, so it can match the answer).
    // Tester 141, finding 5: a secret as the progress token (how the client tells its
    // progress notifications apart) is no value a redaction may change either.
    let as_progress = format!(
        r#"{{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{{"name":"echo","arguments":{{"text":"hi"}},"_meta":{{"progressToken":"{a}"}}}}}}"#
    );
    for sent in [as_keys, as_id, as_progress] {
        let (status, _, body) = call("POST", &url, &h, &sent).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("hold a secret"), "{body}");
        assert!(!body.contains(&b), "{body}");
    }
    assert_eq!(
        tool_calls_seen(&up),
        2,
        "none of these calls reached the upstream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_holding_a_github_token_reaches_the_client_redacted_in_json_and_sse() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    // Arguments only logged, so the echo tool can hand the token back in its result.
    let gw = Gateway::start(
        dir.path(),
        &config(&up, "", "[gateway.scan]\narguments = \"log\"\n"),
        &[],
    );
    let t = token("filesystem", "alice");
    let auth = bearer(&t);
    let url = gw.url("/mcp/filesystem");
    let secret = ghp(2);
    let text = format!("the key is {secret}.");

    // A JSON answer.
    let json_only = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
        ("accept", "application/json"),
    ];
    let (status, _, body) = call("POST", &url, &json_only, &tool_call(1, "echo", &text)).await;
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains(&secret), "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v["result"]["content"][0]["text"],
        "the key is [REDACTED:github-pat]."
    );
    assert_eq!(tool_calls_seen(&up), 1, "log mode let the call through");

    // An SSE answer: the first event streams before the upstream sends the one holding the
    // token (nothing buffers the stream), and that one arrives redacted.
    let mut req = http::Request::builder().method("POST").uri(&url);
    for (k, v) in mcp_headers(&auth, "2025-11-25") {
        req = req.header(k, v);
    }
    let resp = gw::client()
        .request(
            req.body(http_body_util::Full::new(tool_call(2, "echo", &text).into()).boxed())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut stream = resp.into_body();
    let first = tokio::time::timeout(Duration::from_secs(5), stream.frame())
        .await
        .expect("the first event arrives while the upstream holds the last")
        .unwrap()
        .unwrap()
        .into_data()
        .unwrap();
    assert!(String::from_utf8_lossy(&first).contains("notifications/progress"));
    up.release.notify_one();
    let rest = String::from_utf8_lossy(&stream.collect().await.unwrap().to_bytes()).into_owned();
    assert!(!rest.contains(&secret), "{rest}");
    assert!(rest.contains("[REDACTED:github-pat]"), "{rest}");
    let data = rest.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
    let v: serde_json::Value = serde_json::from_str(data).unwrap();
    assert_eq!(v["id"], 2);

    let (_, _, metrics) = call("GET", &gw.url("/metrics"), &[], "").await;
    assert!(
        metrics.contains("place=\"results\",rule=\"github-pat\"} 2"),
        "{metrics}"
    );
    assert!(metrics.contains("place=\"arguments\",rule=\"github-pat\"} 2"));
    assert!(metrics.contains("vigil_gateway_alerts_total{alert=\"secret_in_result\"} 1"));
    assert!(!gw.log_text().contains(&secret));
}

/// Runs an SDK client (`node mcp-client.mjs` or the Python one) on `spec`; its JSON output.
fn run_client(mut cmd: Command, spec: &serde_json::Value) -> serde_json::Value {
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
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "client printed no JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_sdks_see_secret_calls_blocked_and_secret_results_redacted() {
    let sdk = gw::sdk_dir();
    let leaked = ghp(3);
    let server =
        gw::SdkServer::start_script_env(&sdk, "sdk-secrets-server.mjs", &[("LEAK_TOKEN", &leaked)]);
    let dir = TempDir::new().unwrap();
    let cfg = format!(
        "[gateway]\n\n[gateway.audit]\npath = \"audit/tools.jsonl\"\n\n[[gateway.routes]]\npath = \"/mcp/sdk\"\nupstream = \"http://127.0.0.1:{}/mcp\"\n",
        server.port
    );
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let sent = ghp(4);
    let spec = serde_json::json!({
        "http": {"url": gw.url("/mcp/sdk"), "headers": {"Authorization": bearer(&token("sdk", "nia"))}},
        "calls": [
            {"tool": "send", "arguments": {"text": format!("here is my token {sent}")}},
            {"tool": "leak", "arguments": {}},
            {"tool": "send", "arguments": {"text": "nothing secret"}},
        ],
    });
    let ts = run_client(
        {
            let mut c = Command::new("node");
            c.arg("mcp-client.mjs").current_dir(&sdk);
            c
        },
        &spec,
    );
    let py = run_client(
        {
            let mut c = Command::new(common::python_with("mcp", "mcp==2.3.0"));
            c.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/memory/mcp_client.py"));
            c
        },
        &spec,
    );
    for (sdk_name, out) in [("typescript", &ts), ("python", &py)] {
        let r = &out["results"];
        assert!(r.is_array(), "{sdk_name}: {out}");
        assert_eq!(r[0]["isError"], true, "{sdk_name}: {out}");
        assert!(r[0]["text"].as_str().unwrap().contains("hold a secret"));
        assert_eq!(r[1]["isError"], false, "{sdk_name}: {out}");
        assert_eq!(
            r[1]["text"], "the deploy key is [REDACTED:github-pat], keep it safe",
            "{sdk_name}"
        );
        assert_eq!(r[2]["text"], "sent 14 characters", "{sdk_name}");
        assert!(!out.to_string().contains(&leaked) && !out.to_string().contains(&sent));
    }
    let (_, _, seen) = call(
        "GET",
        &format!("http://127.0.0.1:{}/calls-seen", server.port),
        &[],
        "",
    )
    .await;
    assert_eq!(
        seen, r#"{"send":2,"leak":2}"#,
        "the secret-bearing calls never reached the server"
    );
    // Six tool calls audited, the chain intact.
    let log = dir.path().join("audit/tools.jsonl");
    let lines = wait_lines(&log, 6);
    let outcomes: Vec<&str> = lines
        .iter()
        .map(|l| l["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes.iter().filter(|o| **o == "blocked_secret").count(),
        2,
        "{outcomes:?}"
    );
    let o = common::run(
        dir.path(),
        &["gateway", "audit", "verify", "audit/tools.jsonl"],
    );
    common::expect_exit(&o, 0);
}

/// The audit log's lines once it holds `n` of them and its head confirms the last.
/// The tool-call lines of an audit log (its genesis line left out) once at least `n` are there
/// and its head confirms them.
pub(crate) fn wait_lines(log: &Path, n: usize) -> Vec<serde_json::Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let all: Vec<serde_json::Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        let head = std::fs::read_to_string(format!("{}.head", log.display())).unwrap_or_default();
        let confirmed = head.contains(&format!("\"seq\":{}", all.len()));
        let lines: Vec<serde_json::Value> = all
            .into_iter()
            .filter(|l| l["event"] != "genesis")
            .collect();
        if lines.len() >= n && confirmed {
            return lines;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{} audit lines of {n}",
            lines.len()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_calls_are_audited_and_verify_catches_edits_deletions_reorders_and_cuts() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(
        dir.path(),
        &config(
            &up,
            "",
            "[gateway.audit]\npath = \"tools.jsonl\"\nflush_interval = \"20ms\"\n",
        ),
        &[],
    );
    let t = token("filesystem", "alice");
    let auth = bearer(&t);
    let url = gw.url("/mcp/filesystem");
    let json_only = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
        ("accept", "application/json"),
    ];
    for i in 0..4 {
        let (status, _, _) = call(
            "POST",
            &url,
            &json_only,
            &tool_call(i, "echo", &format!("call {i}")),
        )
        .await;
        assert_eq!(status, 200);
    }
    let secret = ghp(5);
    let (status, _, _) = call("POST", &url, &json_only, &tool_call(9, "echo", &secret)).await;
    assert_eq!(status, 200);
    // Not a tool call: not audited.
    let (status, _, _) = call(
        "POST",
        &url,
        &json_only,
        r#"{"jsonrpc":"2.0","id":10,"method":"tools/list"}"#,
    )
    .await;
    assert_eq!(status, 200);
    let log = dir.path().join("tools.jsonl");
    let lines = wait_lines(&log, 5);
    assert_eq!(lines.len(), 5);
    let first = &lines[0];
    // Line 1 is the log's genesis line.
    assert_eq!(first["seq"], 2);
    assert_eq!(first["subject"], "alice");
    assert_eq!(first["client_ip"], "127.0.0.1");
    assert_eq!(first["route"], "/mcp/filesystem");
    assert_eq!(first["tool"], "echo");
    assert_eq!(first["outcome"], "forwarded");
    assert_eq!(first["status"], 200);
    assert!(first["latency_ms"].as_f64().unwrap() > 0.0);
    assert!(first["time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        first["arguments_sha256"],
        vigil_core::chain::sha256_hex(br#"{"text":"call 0"}"#)
    );
    assert_eq!(lines[1]["prev"], first["hash"]);
    assert_eq!(lines[4]["outcome"], "blocked_secret");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        !text.contains(&secret),
        "the audit holds a hash, never arguments"
    );
    drop(gw);

    let verify = |name: &str, body: &str| {
        let d = dir.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("tools.jsonl"), body).unwrap();
        std::fs::copy(
            dir.path().join("tools.jsonl.head"),
            d.join("tools.jsonl.head"),
        )
        .unwrap();
        let o = common::run(&d, &["gateway", "audit", "verify", "tools.jsonl"]);
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };
    let (code, out) = verify("intact", &text);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("intact: 6 lines"), "{out}");
    assert!(out.contains("genesis 1:"), "{out}");
    let rows: Vec<&str> = text.lines().collect();
    let join = |v: Vec<&str>| v.iter().map(|l| format!("{l}\n")).collect::<String>();

    let edited = text.replacen("\"status\":200", "\"status\":201", 1);
    let (code, out) = verify("edited", &edited);
    assert_eq!(code, Some(1));
    assert!(out.contains("line 2 (seq 2): edited"), "{out}");

    let (code, out) = verify("cut", &join(rows[..4].to_vec()));
    assert_eq!(code, Some(1));
    assert!(out.contains("the tail was cut off"), "{out}");

    let mut deleted = rows.clone();
    deleted.remove(2);
    let (code, out) = verify("deleted", &join(deleted));
    assert_eq!(code, Some(1));
    assert!(out.contains("seq 3: deleted"), "{out}");

    let mut reordered = rows.clone();
    reordered.swap(1, 2);
    let (code, out) = verify("reordered", &join(reordered));
    assert_eq!(code, Some(1));
    assert!(out.contains("out of order"), "{out}");

    let o = common::run(dir.path(), &["gateway", "audit", "verify", "missing.jsonl"]);
    common::expect_exit(&o, 2);

    // A log that no longer verifies keeps the gateway from starting.
    std::fs::write(&log, &edited).unwrap();
    let cfg = config(&up, "", "[gateway.audit]\npath = \"tools.jsonl\"\n");
    std::fs::write(dir.path().join("vigil.toml"), &cfg).unwrap();
    let o = common::vigil(dir.path())
        .args(["gateway", "--listen", "127.0.0.1:0"])
        .env("MCP_JWT_SECRET", gw::secret())
        .output()
        .unwrap();
    common::expect_exit(&o, 2);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("gateway.audit.path"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mirrored_headers_must_match_the_body_and_batches_follow_the_protocol_version() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(dir.path(), &config(&up, "", ""), &[]);
    let t = token("filesystem", "alice");
    let auth = bearer(&t);
    let url = gw.url("/mcp/filesystem");
    let base = mcp_headers(&auth, "2026-07-28");
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut h = base.clone();
        h.push(("accept", "application/json"));
        h.remove(2);
        h.extend_from_slice(extra);
        h
    };
    let body = tool_call(1, "echo", "hi");
    for bad in [
        with(&[("mcp-method", "tools/list"), ("mcp-name", "echo")]),
        with(&[("mcp-method", "tools/call"), ("mcp-name", "delete_file")]),
        with(&[("mcp-name", "echo")]),
        with(&[
            ("mcp-method", "tools/call"),
            ("mcp-name", "echo"),
            ("mcp-param-text", "bye"),
        ]),
    ] {
        let (status, _, answer) = call("POST", &url, &bad, &body).await;
        assert_eq!(status, 400, "{bad:?}: {answer}");
        let v: serde_json::Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(v["error"]["code"], -32020, "{answer}");
        assert_eq!(v["id"], 1);
    }
    assert_eq!(
        tool_calls_seen(&up),
        0,
        "mismatched calls never reach the upstream"
    );
    let good = with(&[
        ("mcp-method", "tools/call"),
        ("mcp-name", "echo"),
        ("mcp-param-text", "hi"),
        ("mcp-param-trace", "abc123"),
    ]);
    let (status, _, answer) = call("POST", &url, &good, &body).await;
    assert_eq!(status, 200, "{answer}");
    let seen = up.seen();
    let last = seen.last().unwrap();
    assert_eq!(
        last.headers["mcp-param-trace"], "abc123",
        "unknown parameter headers pass"
    );
    assert_eq!(last.headers["mcp-method"], "tools/call");

    // Batches: refused from 2025-06-18 on, read element by element for 2025-03-26.
    let batch = format!(
        "[{},{}]",
        tool_call(1, "echo", "one"),
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#
    );
    for v in ["2025-06-18", "2025-11-25", "2026-07-28"] {
        let (status, _, answer) = call("POST", &url, &mcp_headers(&auth, v), &batch).await;
        assert_eq!(status, 400, "{v}: {answer}");
        assert!(answer.contains("-32600"), "{answer}");
    }
    let before = up.seen().len();
    let secret = ghp(6);
    let mixed = format!(
        "[{},{}]",
        tool_call(1, "echo", "fine"),
        tool_call(2, "echo", &format!("and {secret}"))
    );
    let (status, _, answer) = call("POST", &url, &mcp_headers(&auth, "2025-03-26"), &mixed).await;
    assert_eq!(status, 200, "{answer}");
    let v: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(v[0]["id"], 1);
    assert_eq!(v[0]["error"]["code"], -32600);
    assert_eq!(v[1]["id"], 2);
    assert_eq!(v[1]["result"]["isError"], true);
    assert!(!answer.contains(&secret));
    assert_eq!(
        up.seen().len(),
        before,
        "the batch never reached the upstream"
    );
    let (status, _, _) = call("POST", &url, &mcp_headers(&auth, "2025-03-26"), &batch).await;
    assert_eq!(status, 200);
    assert_eq!(up.seen().len(), before + 1, "a clean batch goes through");

    let (_, _, metrics) = call("GET", &gw.url("/metrics"), &[], "").await;
    assert!(metrics.contains("vigil_gateway_protocol_refusals_total{reason=\"header_mismatch\"} 4"));
    assert!(metrics.contains("vigil_gateway_protocol_refusals_total{reason=\"batch\"} 3"));
}

/// An upstream that answers as the request's `x-case` header says: a tool result holding
/// `secret`, or a tool list naming `delete_file`, under a `Content-Type` that does not say
/// what the body is (or in SSE fields other than `data`).
async fn mislabelling_upstream(secret: String) -> std::net::SocketAddr {
    use http_body_util::Full;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let secret = secret.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(
                    move |req: http::Request<hyper::body::Incoming>| {
                        let secret = secret.clone();
                        async move {
                            let case = req
                                .headers()
                                .get("x-case")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("")
                                .to_owned();
                            let result = format!(
                                r#"{{"jsonrpc":"2.0","id":1,"result":{{"content":[{{"type":"text","text":"key {secret}"}}]}}}}"#
                            );
                            let list = r#"{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo","inputSchema":{"type":"object"}},{"name":"delete_file","inputSchema":{"type":"object"}}]}}"#;
                            let (status, labels, body): (u16, Vec<&str>, String) = match case.as_str() {
                            "plain" => (200, vec!["text/plain"], result),
                            "octet" => (200, vec!["application/octet-stream"], result),
                            "json-and-plain" => (200, vec!["application/json, text/plain"], result),
                            "none" => (200, vec![], result),
                            "two-labels" => (200, vec!["text/event-stream", "application/json"], result),
                            "sse-as-plain" => (
                                200,
                                vec!["text/plain"],
                                format!("event: message\ndata: {result}\n\n"),
                            ),
                            "sse-fields" => (
                                200,
                                vec!["text/event-stream"],
                                format!(": {secret}\nid: {secret}\nevent: {secret}\ndata: {result}\n\n"),
                            ),
                            "garbage" => (200, vec!["text/plain"], format!("oops {secret}")),
                            "error" => (404, vec!["text/plain"], format!("no session {secret}")),
                            "list" => (200, vec!["text/plain"], list.to_owned()),
                            "list-escaped" => (
                                200,
                                vec!["application/json"],
                                list.replace("\"tools\"", "\"\\u0074ools\""),
                            ),
                            _ => (500, vec![], String::new()),
                        };
                            let mut r = http::Response::builder().status(status);
                            for l in labels {
                                r = r.header("content-type", l);
                            }
                            Ok::<_, std::convert::Infallible>(
                                r.body(Full::new(bytes::Bytes::from(body))).unwrap(),
                            )
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_and_tool_lists_are_read_whatever_the_upstream_labels_them() {
    let secret = ghp(6);
    let addr = mislabelling_upstream(secret.clone()).await;
    let dir = TempDir::new().unwrap();
    let cfg = format!(
        "[gateway]\nlisten = \"127.0.0.1:8443\"\n\n[[gateway.routes]]\npath = \"/mcp/fs\"\n\
         upstream = \"http://{addr}/mcp\"\naudience = \"fs\"\n\
         [[gateway.routes.tools]]\nname = \"delete_*\"\nscopes = [\"fs:write\"]\n"
    );
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let url = gw.url("/mcp/fs");
    let auth = bearer(&token("fs", "alice"));
    let send = |case: &'static str, body: String| {
        let (url, auth) = (url.clone(), auth.clone());
        async move {
            call(
                "POST",
                &url,
                &[
                    ("authorization", auth.as_str()),
                    ("content-type", "application/json"),
                    ("accept", MCP),
                    ("x-case", case),
                ],
                &body,
            )
            .await
        }
    };
    let a_call = tool_call(1, "echo", "hi");
    // JSON or SSE under another label, no label or two: read by content, and redacted.
    for case in [
        "plain",
        "octet",
        "json-and-plain",
        "none",
        "two-labels",
        "sse-as-plain",
    ] {
        let (status, _, body) = send(case, a_call.clone()).await;
        assert_eq!(status, 200, "{case}: {body}");
        assert!(!body.contains(&secret), "{case}: {body}");
        assert!(body.contains("key [REDACTED:github-pat]"), "{case}: {body}");
    }
    // A real event stream: its comments, ids and event names are redacted too.
    let (status, _, body) = send("sse-fields", a_call.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains(&secret), "{body}");
    for line in [
        ": [REDACTED:github-pat]",
        "id: [REDACTED:github-pat]",
        "event: [REDACTED:github-pat]",
    ] {
        assert!(body.lines().any(|l| l == line), "{line}: {body}");
    }
    assert!(body.contains("key [REDACTED:github-pat]"), "{body}");
    // Neither JSON nor SSE: scanned as text and redacted; an error status stays.
    let (status, _, body) = send("garbage", a_call.clone()).await;
    assert_eq!(
        (status.as_u16(), body.as_str()),
        (200, "oops [REDACTED:github-pat]")
    );
    let (status, _, body) = send("error", a_call.clone()).await;
    assert_eq!(
        (status.as_u16(), body.as_str()),
        (404, "no session [REDACTED:github-pat]")
    );
    // A tool list under text/plain, or with `tools` spelled with an escape, is filtered.
    let list = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#.to_owned();
    for case in ["list", "list-escaped"] {
        let (status, _, body) = send(case, list.clone()).await;
        assert_eq!(status, 200, "{case}: {body}");
        assert!(
            body.contains("echo") && !body.contains("delete_file"),
            "{case}: {body}"
        );
    }
    assert!(!gw.log_text().contains(&secret));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emptied_audit_log_whose_head_is_gone_neither_verifies_nor_starts() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let cfg = config(&up, "", "[gateway.audit]\npath = \"tools.jsonl\"\n");
    let log = dir.path().join("tools.jsonl");
    let head = dir.path().join("tools.jsonl.head");
    // A new log: the gateway begins it with its genesis line, and says so.
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    assert!(gw.wait_log("beginning a new audit log"));
    drop(gw);
    assert!(head.is_file());
    let verify = |args: &[&str]| {
        let o = common::run(
            dir.path(),
            &[&["gateway", "audit", "verify", "tools.jsonl"], args].concat(),
        );
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };
    let (code, out) = verify(&[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("intact: 1 lines, head 1:"), "{out}");

    // Emptied, its head deleted: not intact unless the operator says the log is new.
    std::fs::write(&log, "").unwrap();
    std::fs::remove_file(&head).unwrap();
    let (code, out) = verify(&[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("head file") && out.contains("--new"), "{out}");
    let (code, out) = verify(&["--new"]);
    assert_eq!(code, Some(0), "{out}");
    // The gateway refuses to start on it.
    std::fs::write(dir.path().join("vigil.toml"), &cfg).unwrap();
    let o = common::vigil(dir.path())
        .args(["gateway", "--listen", "127.0.0.1:0"])
        .env("MCP_JWT_SECRET", gw::secret())
        .output()
        .unwrap();
    common::expect_exit(&o, 2);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("gateway.audit.path") && err.contains("is empty and its head file"),
        "{err}"
    );
    // Removing the empty log begins a new one.
    std::fs::remove_file(&log).unwrap();
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    assert!(gw.wait_log("beginning a new audit log"));
}
