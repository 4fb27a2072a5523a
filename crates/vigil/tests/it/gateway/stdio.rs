//! stdio MCP servers behind the gateway: the pinned npm `server-everything`, run by the gateway
//! with only the variables its route lists, served as Streamable HTTP to the official
//! TypeScript and Python SDK clients with the gateway's token check in front; a child killed
//! mid-call gives that call an error and the next call a fresh process.

use super::*;

/// A random value for a listed variable (never a constant in the source).
fn random_hex() -> String {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).unwrap();
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn stdio_config(processes: &str) -> String {
    let entry = gw::server_everything();
    format!(
        "[gateway]\nlisten = \"127.0.0.1:8443\"\n\n[[gateway.routes]]\npath = \"/mcp/everything\"\n\
         audience = \"everything\"\ncommand = [\"node\", \"{}\", \"stdio\"]\n\
         env = {{ GREETING = \"hello\", SE_API_KEY = \"${{SE_API_KEY}}\" }}\n\
         stdio = {{ processes = \"{processes}\", max_processes = 4 }}\n",
        entry.display()
    )
}

/// The JSON-RPC answer in a Streamable HTTP body (JSON, or the `data:` of an SSE event).
fn answer(body: &str) -> serde_json::Value {
    if let Ok(v) = serde_json::from_str(body) {
        return v;
    }
    body.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<serde_json::Value>(d.trim()).ok())
        .find(|v| v.get("id").is_some())
        .unwrap_or_else(|| panic!("no JSON-RPC answer in {body}"))
}

fn run_json(
    cmd: &mut std::process::Command,
    input: Option<&serde_json::Value>,
) -> serde_json::Value {
    use std::io::Write;
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("client starts");
    let mut stdin = child.stdin.take().unwrap();
    if let Some(i) = input {
        stdin.write_all(i.to_string().as_bytes()).unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().unwrap_or("")).unwrap_or_else(|_| {
        panic!(
            "client printed {text}; stderr {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_everything_on_stdio_serves_the_official_sdk_clients_with_only_its_listed_variables()
{
    let dir = TempDir::new().unwrap();
    let key = random_hex();
    // Results only logged: by default the gateway would (rightly) redact the key the child
    // prints, whenever the random value scores as a secret, and this test reads it back.
    let gw = Gateway::start(
        dir.path(),
        &format!(
            "{}\n[gateway.scan]\nresults = \"log\"\n",
            stdio_config("session")
        ),
        &[("SE_API_KEY", &key)],
    );
    let url = gw.url("/mcp/everything");
    let t = token("everything", "ana");

    // No token: the gateway refuses before any process sees the request.
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#;
    let (status, _, _) = call(
        "POST",
        &url,
        &[("content-type", "application/json"), ("accept", MCP)],
        init,
    )
    .await;
    assert_eq!(status, 401);

    // The TypeScript SDK: initialize, tools/list, tools/call add, DELETE.
    let ts = run_json(
        std::process::Command::new("node")
            .arg("sdk-client.mjs")
            .arg(&url)
            .arg(&t)
            .current_dir(gw::sdk_dir()),
        None,
    );
    assert!(ts.get("error").is_none(), "{ts}");
    let tools = ts["tools"].as_array().unwrap();
    for name in ["echo", "add", "printEnv"] {
        assert!(tools.iter().any(|x| x == name), "{ts}");
    }
    assert!(ts["result"].to_string().contains("42"), "{ts}");

    // The Python SDK: echo, then the child's whole environment.
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/memory/mcp_client.py");
    let py = run_json(
        std::process::Command::new(common::python_with("mcp", "mcp==2.3.0")).arg(script),
        Some(&serde_json::json!({
            "http": {"url": url, "headers": {"Authorization": format!("Bearer {t}")}},
            "calls": [
                {"tool": "echo", "arguments": {"message": "through the gateway"}},
                {"tool": "printEnv", "arguments": {}},
            ],
        })),
    );
    assert!(py.get("error").is_none(), "{py}");
    assert_eq!(
        py["results"][0]["text"], "Echo: through the gateway",
        "{py}"
    );
    let env: serde_json::Value =
        serde_json::from_str(py["results"][1]["text"].as_str().unwrap()).unwrap();
    let keys: Vec<&String> = env.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["GREETING", "SE_API_KEY"], "{env}");
    // A value the gateway hands the child is a credential: masked in the answer (bb-gw-s8,
    // s7 #6), as in the gateway's log.
    assert_eq!(env["SE_API_KEY"], "[REDACTED:upstream-credential]", "{env}");
    assert_eq!(env["GREETING"], "hello", "too short to be a credential");
    assert!(!py.to_string().contains(&key));
    assert!(!gw.log_text().contains(&key));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stdio_child_killed_mid_call_errors_that_call_and_the_next_call_gets_a_fresh_process() {
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(
        dir.path(),
        &stdio_config("session"),
        &[("SE_API_KEY", &random_hex())],
    );
    let url = gw.url("/mcp/everything");
    let auth = bearer(&token("everything", "ana"));
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#;
    let (status, headers, body) = call(
        "POST",
        &url,
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
            ("accept", MCP),
        ],
        init,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        answer(&body)["result"]["serverInfo"]["name"],
        "example-servers/everything"
    );
    let session = headers["mcp-session-id"].to_str().unwrap().to_owned();
    let h = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
        ("accept", MCP),
        ("mcp-session-id", session.as_str()),
        ("mcp-protocol-version", "2025-06-18"),
    ];
    let (status, _, _) = call(
        "POST",
        &url,
        &h,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
    )
    .await;
    assert_eq!(status, 202);
    // Another subject may not use (or close) this session.
    let other = bearer(&token("everything", "bob"));
    let mut theirs = h;
    theirs[0] = ("authorization", other.as_str());
    let ping = r#"{"jsonrpc":"2.0","id":9,"method":"tools/list"}"#;
    assert_eq!(call("POST", &url, &theirs, ping).await.0, 404);
    assert_eq!(call("DELETE", &url, &theirs, "").await.0, 404);
    let first = gw::children_of(gw.child.id());
    assert_eq!(first.len(), 1, "one process for the session: {first:?}");

    // A five-second call, and the process killed while it runs.
    let slow = r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"longRunningOperation","arguments":{"duration":5,"steps":5}}}"#;
    let (u, hh) = (url.clone(), h.map(|(k, v)| (k, v.to_owned())));
    let pending = tokio::spawn(async move {
        let hr: Vec<(&str, &str)> = hh.iter().map(|(k, v)| (*k, v.as_str())).collect();
        call("POST", &u, &hr, slow).await
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    let killed = std::process::Command::new("kill")
        .args(["-9", &first[0].to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let (_, _, body) = pending.await.unwrap();
    let got = answer(&body);
    assert!(
        got.get("error").is_some(),
        "the killed call must fail: {body}"
    );

    // The next call in the same session: a fresh process answers.
    let echo = r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"message":"again"}}}"#;
    let (status, _, body) = call("POST", &url, &h, echo).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        answer(&body)["result"]["content"][0]["text"],
        "Echo: again",
        "{body}"
    );
    let now = gw::children_of(gw.child.id());
    assert_eq!(now.len(), 1, "{now:?}");
    assert_ne!(now[0], first[0], "a fresh process");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_protocol_stdout_is_reported_and_never_reaches_the_client() {
    let node = String::from_utf8(
        std::process::Command::new("sh")
            .args(["-c", "command -v node"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_owned();
    let entry = gw::server_everything();
    let config = format!(
        "[gateway]\nlisten = \"127.0.0.1:8443\"\n\n[[gateway.routes]]\npath = \"/mcp/everything\"\n\
         command = [\"sh\", \"-c\", \"echo 'not json: hello from a chatty server'; exec {node} {} stdio\"]\n",
        entry.display()
    );
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(dir.path(), &config, &[]);
    let url = gw.url("/mcp/everything");
    let auth = bearer(&token("everything", "ana"));
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#;
    let (status, _, body) = call(
        "POST",
        &url,
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
            ("accept", MCP),
        ],
        init,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains("chatty"), "{body}");
    assert_eq!(
        answer(&body)["result"]["serverInfo"]["name"],
        "example-servers/everything"
    );
    assert!(gw.wait_log("non-protocol line"), "{}", gw.log_text());
    let (_, _, metrics) = call("GET", &gw.url("/metrics"), &[], "").await;
    assert!(
        metrics
            .contains("vigil_gateway_stdio_stray_output_lines_total{route=\"/mcp/everything\"} 1"),
        "{metrics}"
    );
}

#[test]
fn a_stdio_route_never_passes_the_token_secret_and_needs_a_program_that_exists() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let check = |route: &str| {
        std::fs::write(
            d.join("vigil.toml"),
            format!("[gateway]\n\n[[gateway.routes]]\npath = \"/mcp/x\"\n{route}\n"),
        )
        .unwrap();
        common::vigil(d)
            .args(["gateway", "check"])
            .env("MCP_JWT_SECRET", secret())
            .output()
            .unwrap()
    };
    let out = check("command = [\"node\"]\nenv = { MCP_JWT_SECRET = \"${MCP_JWT_SECRET}\" }");
    expect_exit(&out, 2);
    assert!(
        stderr_of(&out).contains("vigil.toml:6: gateway.routes[0].env: MCP_JWT_SECRET is one of the gateway's secrets and is never passed to a child"),
        "{}",
        stderr_of(&out)
    );
    assert!(!stderr_of(&out).contains(&secret()));
    // Under another name, or inside a longer value, it is the same secret.
    for env in [
        "env = { X = \"${MCP_JWT_SECRET}\" }",
        "env = { URL = \"https://u:${MCP_JWT_SECRET}@h/\" }",
    ] {
        let out = check(&format!("command = [\"node\"]\n{env}"));
        expect_exit(&out, 2);
        assert!(
            stderr_of(&out).contains("would carry the value of MCP_JWT_SECRET"),
            "{env}: {}",
            stderr_of(&out)
        );
        assert!(!stderr_of(&out).contains(&secret()));
    }
    let out = check("command = [\"no-such-program-here\"]");
    expect_exit(&out, 2);
    assert!(
        stderr_of(&out).contains("`no-such-program-here` is not found on PATH"),
        "{}",
        stderr_of(&out)
    );
    let out = check("command = [\"node\"]\nupstream = \"http://127.0.0.1:9\"");
    expect_exit(&out, 2);
    let out = check("command = [\"node\", \"server.js\"]");
    expect_exit(&out, 0);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("route /mcp/x -> stdio:/"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// `node`'s absolute path.
fn node_path() -> String {
    let out = std::process::Command::new("sh")
        .args(["-c", "command -v node"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn everything(stdio: &str) -> String {
    format!(
        "[gateway]\nlisten = \"127.0.0.1:8443\"\n\n[[gateway.routes]]\npath = \"/mcp/everything\"\n\
         audience = \"everything\"\ncommand = [\"{}\", \"{}\", \"stdio\"]\nstdio = {{ {stdio} }}\n",
        node_path(),
        gw::server_everything().display()
    )
}

fn headers<'a>(
    auth: &'a str,
    version: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut h = vec![
        ("authorization", auth),
        ("content-type", "application/json"),
        ("accept", MCP),
        ("mcp-protocol-version", version),
    ];
    h.extend_from_slice(extra);
    h
}

const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sessionless_client_is_served_by_a_shared_process_the_gateway_initialized() {
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(dir.path(), &everything("processes = \"shared\""), &[]);
    let url = gw.url("/mcp/everything");
    let auth = bearer(&token("everything", "ana"));
    // 2026-07-28: no initialize, no session; the method and name mirrored in headers.
    let echo = r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","arguments":{"message":"sessionless hello"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#;
    let h = headers(
        &auth,
        "2026-07-28",
        &[("mcp-method", "tools/call"), ("mcp-name", "echo")],
    );
    let (status, _, body) = call("POST", &url, &h, echo).await;
    assert_eq!(status, 200, "{body}");
    let v = answer(&body);
    assert!(
        v["result"]["content"][0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("sessionless hello")),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_are_capped_reaped_when_idle_and_restarted_after_a_back_off() {
    // The cap: one process for the route (one per subject); a second subject waits for it.
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(
        dir.path(),
        &everything("processes = \"subject\", max_processes = 1, idle_timeout = \"1s\""),
        &[],
    );
    let url = gw.url("/mcp/everything");
    let ana = bearer(&token("everything", "ana"));
    let bob = bearer(&token("everything", "bob"));
    let (status, h, body) = call("POST", &url, &headers(&ana, "2025-06-18", &[]), INIT).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("serverInfo"), "{body}");
    let first = h["mcp-session-id"].to_str().unwrap().to_owned();
    let (_, _, body) = call("POST", &url, &headers(&bob, "2025-06-18", &[]), INIT).await;
    assert!(body.contains("at its process limit"), "{body}");
    // Unused for idle_timeout: stopped, which frees the slot for bob.
    assert!(
        gw.wait_log("stopping an idle stdio server"),
        "{}",
        gw.log_text()
    );
    assert!(gw.wait_log("stdio server stopped"), "{}", gw.log_text());
    let (status, _, body) = call("POST", &url, &headers(&bob, "2025-06-18", &[]), INIT).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("serverInfo"), "{body}");
    assert_ne!(first, "", "ana had a session");
    drop(gw);

    // A server that dies at once: each new start waits twice as long as the one before.
    let dir = TempDir::new().unwrap();
    let config =
        "[gateway]\nlisten = \"127.0.0.1:8443\"\n\n[[gateway.routes]]\npath = \"/mcp/crash\"\n\
                  audience = \"everything\"\ncommand = [\"sh\", \"-c\", \"exit 3\"]\n";
    let gw = Gateway::start(dir.path(), config, &[]);
    let url = gw.url("/mcp/crash");
    for _ in 0..3 {
        let (_, _, body) = call("POST", &url, &headers(&ana, "2025-06-18", &[]), INIT).await;
        assert!(body.contains("did not initialize"), "{body}");
    }
    assert!(gw.wait_log("wait_ms\":500"), "{}", gw.log_text());
    let log = gw.log_text();
    let at = |n: &str| log.find(n).unwrap_or_else(|| panic!("{n} in {log}"));
    assert!(at("wait_ms\":250") < at("wait_ms\":500"), "{log}");
}
