//! Security that understands MCP, against the official TypeScript SDK server (JSON and SSE
//! answers): per-tool scopes (403 `insufficient_scope`, `tools/list` filtered), arguments
//! validated before the upstream sees them (the upstream's own request log shows nothing), and
//! tool pinning (a rug pull held until `vigil gateway pin --approve`).

use super::*;
use serde_json::{json, Value};

/// The tools server of `tests/gw/tools-server.mjs`, answering JSON or SSE.
fn tools_server(mode: &str) -> gw::Server {
    let sdk = gw::sdk_dir();
    gw::SdkServer::start_script(&sdk, &["tools-server.mjs", mode])
}

fn route_config(port: u16, extra: &str, route_extra: &str) -> String {
    format!(
        "[gateway]\nlisten = \"127.0.0.1:8443\"\n{extra}\n\n[[gateway.routes]]\npath = \"/mcp/fs\"\n\
         upstream = \"http://127.0.0.1:{port}/mcp\"\naudience = \"fs\"\n{route_extra}\n"
    )
}

/// The JSON-RPC message of an answer (a JSON body, or the data of the SSE event that answers).
fn message(body: &str) -> Value {
    if let Ok(v) = serde_json::from_str(body) {
        return v;
    }
    body.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .find(|v| v.get("id").is_some())
        .unwrap_or_else(|| panic!("no JSON-RPC answer in {body}"))
}

/// A client session through the gateway at `version`.
struct Client {
    url: String,
    auth: String,
    version: &'static str,
    session: Option<String>,
}

impl Client {
    async fn open(url: String, token: &str, version: &'static str) -> Client {
        let mut c = Client {
            url,
            auth: bearer(token),
            version,
            session: None,
        };
        let (status, headers, body) = c
            .post(&json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":version,"capabilities":{},"clientInfo":{"name":"t","version":"1"}}}))
            .await;
        assert_eq!(status, 200, "{body}");
        c.session = headers
            .get("mcp-session-id")
            .map(|v| v.to_str().unwrap().to_owned());
        let (status, _, _) = c
            .post(&json!({"jsonrpc":"2.0","method":"notifications/initialized"}))
            .await;
        assert_eq!(status, 202);
        c
    }

    async fn post(&self, msg: &Value) -> (http::StatusCode, http::HeaderMap, String) {
        let mut h = vec![
            ("authorization", self.auth.as_str()),
            ("content-type", "application/json"),
            ("accept", MCP),
            ("mcp-protocol-version", self.version),
        ];
        if let Some(s) = &self.session {
            h.push(("mcp-session-id", s));
        }
        call("POST", &self.url, &h, &msg.to_string()).await
    }

    async fn tools(&self) -> Vec<String> {
        let (status, _, body) = self
            .post(&json!({"jsonrpc":"2.0","id":2,"method":"tools/list"}))
            .await;
        assert_eq!(status, 200, "{body}");
        let mut names: Vec<String> = message(&body)["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    }

    async fn call_tool(
        &self,
        tool: &str,
        args: Value,
    ) -> (http::StatusCode, http::HeaderMap, Value) {
        let (status, headers, body) = self
            .post(&json!({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":tool,"arguments":args}}))
            .await;
        let v = if status == 200 {
            message(&body)
        } else {
            serde_json::from_str(&body).unwrap()
        };
        (status, headers, v)
    }
}

/// The tools/call requests the upstream received, by tool name.
async fn upstream_calls(port: u16) -> Vec<String> {
    let (_, _, body) = call("GET", &format!("http://127.0.0.1:{port}/log"), &[], "").await;
    let log: Vec<Value> = serde_json::from_str(&body).unwrap();
    log.iter()
        .filter(|e| e["method"] == "tools/call")
        .map(|e| e["tool"].as_str().unwrap_or("").to_owned())
        .collect()
}

fn scoped(scope: &str) -> String {
    token_with(
        &secret(),
        "fs",
        "alice",
        now(),
        900,
        json!({ "scope": scope }),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_needs_its_scope_and_is_hidden_from_tokens_without_it_in_json_and_sse() {
    for mode in ["json", "sse"] {
        let up = tools_server(mode);
        let dir = TempDir::new().unwrap();
        let cfg = route_config(
            up.port,
            "",
            "[[gateway.routes.tools]]\nname = \"delete_*\"\nscopes = [\"fs:write\"]\n",
        );
        let gw = Gateway::start(dir.path(), &cfg, &[]);
        let url = gw.url("/mcp/fs");

        let reader = Client::open(url.clone(), &scoped("fs:read"), "2025-11-25").await;
        assert_eq!(reader.tools().await, ["read_file"], "{mode}");
        let (status, headers, body) = reader
            .call_tool("delete_file", json!({"path": "/srv/a"}))
            .await;
        assert_eq!(status, 403, "{mode}: {body}");
        let challenge = headers["www-authenticate"].to_str().unwrap();
        assert!(
            challenge.contains("error=\"insufficient_scope\""),
            "{challenge}"
        );
        assert!(challenge.contains("scope=\"fs:write\""), "{challenge}");
        assert!(
            challenge.contains("resource_metadata=\"http://127.0.0.1:8443/.well-known/oauth-protected-resource/mcp/fs\"")
                || challenge.contains("/.well-known/oauth-protected-resource/mcp/fs\""),
            "{challenge}"
        );
        let (status, _, v) = reader
            .call_tool("read_file", json!({"path": "/srv/a"}))
            .await;
        assert_eq!(status, 200);
        assert_eq!(v["result"]["content"][0]["text"], "contents of /srv/a");
        assert_eq!(upstream_calls(up.port).await, ["read_file"], "{mode}");

        let writer = Client::open(url.clone(), &scoped("fs:read fs:write"), "2025-11-25").await;
        assert_eq!(writer.tools().await, ["delete_file", "read_file"], "{mode}");
        let (status, _, v) = writer
            .call_tool("delete_file", json!({"path": "/srv/a"}))
            .await;
        assert_eq!(status, 200);
        assert_eq!(v["result"]["content"][0]["text"], "deleted /srv/a");

        // The protected-resource metadata names the scope.
        let (_, _, body) = call(
            "GET",
            &gw.url("/.well-known/oauth-protected-resource/mcp/fs"),
            &[],
            "",
        )
        .await;
        let meta: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(meta["scopes_supported"], json!(["fs:write"]));

        // A tools/list inside a batch (2025-03-26 still has batches) is refused: its answer
        // would reach the client unfiltered.
        let auth = format!("Bearer {}", scoped("fs:read"));
        let (status, _, body) = call(
            "POST",
            &url,
            &[
                ("authorization", auth.as_str()),
                ("content-type", "application/json"),
                ("accept", "application/json, text/event-stream"),
                ("mcp-protocol-version", "2025-03-26"),
            ],
            r#"[{"jsonrpc":"2.0","id":1,"method":"tools/list"}]"#,
        )
        .await;
        assert_eq!(status, 400, "{mode}: {body}");
        assert!(body.contains("batch"), "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_typed_arguments_are_answered_by_the_gateway_and_never_reach_the_upstream() {
    let up = tools_server("sse");
    let dir = TempDir::new().unwrap();
    let cfg = route_config(up.port, "[gateway.validation]\nmode = \"enforce\"\n", "");
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let url = gw.url("/mcp/fs");
    let t = token("fs", "alice");

    // 2025-11-25: a tool result with isError, naming path and keyword, never the value.
    let c = Client::open(url.clone(), &t, "2025-11-25").await;
    let (status, _, v) = c.call_tool("read_file", json!({"path": 4_242_424})).await;
    assert_eq!(status, 200);
    assert_eq!(v["id"], 7);
    assert_eq!(v["result"]["isError"], true, "{v}");
    let text = v["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("/path") && text.contains("`type`"), "{text}");
    assert!(
        !text.contains("4242424"),
        "the value is never echoed: {text}"
    );

    // Older clients: JSON-RPC -32602.
    let old = Client::open(url.clone(), &t, "2025-06-18").await;
    let (_, _, v) = old.call_tool("read_file", json!({})).await;
    assert_eq!(v["error"]["code"], -32602, "{v}");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("`required`"));

    // A tool the upstream does not list is refused too.
    let (_, _, v) = c.call_tool("format_disk", json!({})).await;
    assert_eq!(v["result"]["isError"], true, "{v}");

    // The upstream's request log shows none of them; a valid call goes through.
    assert!(upstream_calls(up.port).await.is_empty());
    let (_, _, v) = c.call_tool("read_file", json!({"path": "/srv/b"})).await;
    assert_eq!(
        v["result"]["content"][0]["text"], "contents of /srv/b",
        "{v}"
    );
    assert_eq!(upstream_calls(up.port).await, ["read_file"]);
    assert!(!gw.log_text().contains("4242424"), "arguments logged");
}

/// `vigil gateway pin` in `dir` with these flags: exit code and stdout.
fn pin(dir: &std::path::Path, args: &[&str]) -> (i32, String) {
    let out = common::vigil(dir)
        .args(["gateway", "pin", "--route", "/mcp/fs"])
        .args(args)
        // Pinning only asks the upstream: it needs no key to verify tokens with.
        .env_remove("MCP_JWT_SECRET")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &stderr_of(&out),
    )
}

/// Reviews the route's tools, then approves the listing the review showed (by its digest).
fn approve(dir: &std::path::Path) -> (i32, String) {
    let (_, review) = pin(dir, &[]);
    let Some(digest) = review.split("--approve ").nth(1).map(str::trim) else {
        return (-1, review);
    };
    pin(dir, &["--approve", digest])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rug_pull_is_held_until_an_operator_approves_it() {
    let up = tools_server("json");
    let dir = TempDir::new().unwrap();
    let cfg = route_config(up.port, "", "pins = \"tools.lock\"\n");
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let url = gw.url("/mcp/fs");
    let t = token("fs", "alice");

    // Nothing approved yet: every tool is new, so held.
    let c = Client::open(url.clone(), &t, "2025-11-25").await;
    assert!(c.tools().await.is_empty());
    let (_, _, v) = c.call_tool("read_file", json!({"path": "/srv/a"})).await;
    assert_eq!(v["result"]["isError"], true, "{v}");
    let (code, out) = pin(dir.path(), &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("+ read_file (new)") && out.contains("+ delete_file (new)"),
        "{out}"
    );
    let (code, out) = approve(dir.path());
    assert_eq!(code, 0, "{out}");
    let lock: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("tools.lock")).unwrap())
            .unwrap();
    assert!(lock["servers"]["fs"]["tools"]["read_file"]["hash"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    assert_eq!(c.tools().await, ["delete_file", "read_file"]);
    let (_, _, v) = c.call_tool("read_file", json!({"path": "/srv/a"})).await;
    assert_eq!(
        v["result"]["content"][0]["text"], "contents of /srv/a",
        "{v}"
    );

    // The server changes read_file's description and annotations.
    call(
        "POST",
        &format!("http://127.0.0.1:{}/rug-pull", up.port),
        &[],
        "",
    )
    .await;
    let c = Client::open(url.clone(), &t, "2025-11-25").await;
    assert_eq!(c.tools().await, ["delete_file"]);
    let before = upstream_calls(up.port).await.len();
    let (_, _, v) = c.call_tool("read_file", json!({"path": "/srv/a"})).await;
    assert_eq!(v["result"]["isError"], true, "{v}");
    assert!(v["result"]["content"][0]["text"]
        .as_str()
        .unwrap()
        .contains("not the approved one"));
    assert_eq!(upstream_calls(up.port).await.len(), before);
    assert!(gw.wait_log("tool_changed"));
    // The alert's line may be written a moment after the event's: waited for too.
    assert!(
        gw.wait_log("read_file of server fs changed its description, annotations"),
        "{}",
        gw.log_text()
    );

    // The operator looks at the diff, then approves it.
    let (code, out) = pin(dir.path(), &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("~ read_file (changed: description, annotations)"),
        "{out}"
    );
    assert!(
        out.contains("id_rsa"),
        "the new description is shown: {out}"
    );
    let (code, _) = approve(dir.path());
    assert_eq!(code, 0);
    assert_eq!(c.tools().await, ["delete_file", "read_file"]);
    let (_, _, v) = c.call_tool("read_file", json!({"path": "/srv/c"})).await;
    assert_eq!(
        v["result"]["content"][0]["text"], "contents of /srv/c",
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_sdk_at_2026_07_28_sees_only_callable_tools_and_its_invalid_call_is_refused() {
    let py = common::python_with("mcp", "mcp==2.3.0");
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut cmd = std::process::Command::new(&py);
    cmd.arg(here.join("gw/tools_server.py"));
    let up = gw::SdkServer::start_command(cmd);
    let dir = TempDir::new().unwrap();
    let cfg = route_config(
        up.port,
        "[gateway.validation]\nmode = \"enforce\"\n",
        "[[gateway.routes.tools]]\nname = \"delete_*\"\nscopes = [\"fs:write\"]\n",
    );
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let spec = json!({
        "url": gw.url("/mcp/fs"),
        "headers": {"Authorization": bearer(&scoped("fs:read"))},
        "calls": [
            {"tool": "read_file", "arguments": {"path": 4_242_424}},
            {"tool": "read_file", "arguments": {"path": "/srv/a"}},
        ],
    });
    let mut child = std::process::Command::new(&py)
        .arg(here.join("gw/tools_client.py"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(spec.to_string().as_bytes())
        .unwrap();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let got: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stdout)));
    let names: Vec<&str> = got["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("{got}"))
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(names, ["read_file"], "{got}");
    assert_eq!(got["version"], "2026-07-28", "{got}");
    assert_eq!(got["results"][0]["isError"], true, "{got}");
    assert!(got["results"][0]["text"]
        .as_str()
        .unwrap()
        .contains("/path"));
    assert_eq!(got["results"][1]["isError"], false, "{got}");
    assert_eq!(got["results"][1]["text"], "contents of /srv/a");
    // The upstream saw the client's 2026-07-28 requests and one tools/call only.
    let (_, _, body) = call("GET", &format!("http://127.0.0.1:{}/log", up.port), &[], "").await;
    let log: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert!(log.iter().any(|e| e["version"] == "2026-07-28"), "{body}");
    assert_eq!(upstream_calls(up.port).await, ["read_file"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_tool_calls_are_audited_and_counted_with_their_reason() {
    let up = tools_server("json");
    let dir = TempDir::new().unwrap();
    let cfg = route_config(
        up.port,
        "[gateway.validation]\nmode = \"enforce\"\n\n[gateway.audit]\npath = \"tools.jsonl\"\nflush_interval = \"20ms\"\n",
        "pins = \"tools.lock\"\n[[gateway.routes.tools]]\nname = \"delete_*\"\nscopes = [\"fs:write\"]\n",
    );
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let url = gw.url("/mcp/fs");
    let c = Client::open(url.clone(), &scoped("fs:read"), "2025-11-25").await;
    // Not approved yet: held by its pin.
    let (_, _, v) = c.call_tool("read_file", json!({"path": "/srv/a"})).await;
    assert_eq!(v["result"]["isError"], true, "{v}");
    let (code, out) = approve(dir.path());
    assert_eq!(code, 0, "{out}");
    // Missing scope, wrong-typed argument, unknown tool.
    let (status, _, _) = c.call_tool("delete_file", json!({"path": "/srv/a"})).await;
    assert_eq!(status, 403);
    let (_, _, v) = c.call_tool("read_file", json!({"path": 7})).await;
    assert_eq!(v["result"]["isError"], true, "{v}");
    let (_, _, v) = c.call_tool("format_disk", json!({})).await;
    assert_eq!(v["result"]["isError"], true, "{v}");
    // A call inside a batch.
    let auth = format!("Bearer {}", scoped("fs:read"));
    let (status, _, _) = call(
        "POST",
        &url,
        &[
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
            ("accept", MCP),
            ("mcp-protocol-version", "2025-03-26"),
        ],
        r#"[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_file","arguments":{"path":"/srv/b"}}}]"#,
    )
    .await;
    assert_eq!(status, 400);
    // And one that goes through.
    let (_, _, v) = c.call_tool("read_file", json!({"path": "/srv/a"})).await;
    assert_eq!(v["result"]["content"][0]["text"], "contents of /srv/a");

    let lines = super::tool_security::wait_lines(&dir.path().join("tools.jsonl"), 6);
    let seen: Vec<(&str, &str, u64)> = lines
        .iter()
        .map(|l| {
            (
                l["tool"].as_str().unwrap(),
                l["outcome"].as_str().unwrap(),
                l["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("read_file", "refused_pin", 200),
            ("delete_file", "refused_scope", 403),
            ("read_file", "refused_arguments", 200),
            ("format_disk", "refused_unknown_tool", 200),
            ("delete_file", "refused_batch", 400),
            ("read_file", "forwarded", 200),
        ]
    );
    assert!(lines.iter().all(|l| l["subject"] == "alice"));
    let (_, _, metrics) = call("GET", &gw.url("/metrics"), &[], "").await;
    for reason in ["pin", "scope", "arguments", "unknown_tool", "batch"] {
        assert!(
            metrics.contains(&format!(
                "vigil_gateway_tool_refusals_total{{route=\"/mcp/fs\",kind=\"{reason}\"}} 1"
            )),
            "{reason}: {metrics}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_changed_on_the_get_stream_refreshes_the_tools_before_the_next_call() {
    let up = tools_server("sse");
    let dir = TempDir::new().unwrap();
    let cfg = route_config(up.port, "", "pins = \"tools.lock\"\n");
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let url = gw.url("/mcp/fs");
    let t = token("fs", "alice");
    let (code, out) = approve(dir.path());
    assert_eq!(code, 0, "{out}");
    let c = Client::open(url.clone(), &t, "2025-11-25").await;
    let (_, _, v) = c.call_tool("read_file", json!({"path": "/srv/a"})).await;
    assert_eq!(v["result"]["content"][0]["text"], "contents of /srv/a");

    // The session's GET stream, through the gateway.
    let req = http::Request::builder()
        .method("GET")
        .uri(&url)
        .header("authorization", bearer(&t))
        .header("accept", "text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .header("mcp-session-id", c.session.clone().unwrap())
        .body(http_body_util::Full::new(bytes::Bytes::new()).boxed())
        .unwrap();
    let resp = gw::client().request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let mut stream = resp.into_body();
    // The server changes read_file and announces it on that stream only.
    call(
        "POST",
        &format!("http://127.0.0.1:{}/rug-pull", up.port),
        &[],
        "",
    )
    .await;
    let mut seen = String::new();
    while !seen.contains("notifications/tools/list_changed") {
        let frame = tokio::time::timeout(Duration::from_secs(10), stream.frame())
            .await
            .expect("list_changed arrives on the GET stream")
            .expect("the stream stays open")
            .unwrap();
        if let Ok(d) = frame.into_data() {
            seen.push_str(&String::from_utf8_lossy(&d));
        }
    }
    // No tools/list in between: the notification alone made the gateway read the tools
    // again, so the changed tool is held at once (not after `tools_ttl`).
    let before = upstream_calls(up.port).await.len();
    let (_, _, v) = c.call_tool("read_file", json!({"path": "/srv/a"})).await;
    assert_eq!(v["result"]["isError"], true, "{v}");
    assert!(v["result"]["content"][0]["text"]
        .as_str()
        .unwrap()
        .contains("not the approved one"));
    assert_eq!(upstream_calls(up.port).await.len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stdio_route_reads_its_own_tool_list_with_the_listener_key_and_validates_calls() {
    let dir = TempDir::new().unwrap();
    let cfg = format!(
        "[gateway]\nlisten = \"127.0.0.1:8443\"\n\n[gateway.validation]\nmode = \"enforce\"\n\n\
         [[gateway.routes]]\npath = \"/mcp/everything\"\naudience = \"everything\"\n\
         command = [\"node\", \"{}\", \"stdio\"]\nstdio = {{ processes = \"shared\" }}\n",
        gw::server_everything().display()
    );
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let c = Client::open(
        gw.url("/mcp/everything"),
        &token("everything", "ana"),
        "2025-11-25",
    )
    .await;
    // The gateway's own tools/list went to the loopback listener with its key: had it not,
    // the listener would refuse it and every call would be 503 `tools_unavailable`.
    let (status, _, v) = c.call_tool("echo", json!({"message": 5})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["result"]["isError"], true, "{v}");
    let text = v["result"]["content"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("/message") && text.contains("`type`"),
        "{text}"
    );
    let (_, _, v) = c.call_tool("echo", json!({"message": "hi"})).await;
    assert_eq!(v["result"]["content"][0]["text"], "Echo: hi", "{v}");
}

/// Tester 157: an upstream that accepts and never answers held a tool call 91 s with a 30 s
/// timeout (the tool-list reading gave each of its requests the whole timeout, then the call
/// waited its own). The reading gets the route's timeout once, and the forward what is left of
/// it, so the call is refused (503) and a listing answered 504 after about one timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_upstream_costs_one_timeout_for_the_tool_list_not_one_per_request() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = held.clone();
    std::thread::spawn(move || {
        for c in silent.incoming().flatten() {
            keep.lock().unwrap().push(c);
        }
    });
    let dir = TempDir::new().unwrap();
    let cfg = route_config(
        port,
        "[gateway.validation]\nmode = \"enforce\"\n",
        "timeout = \"2s\"",
    );
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let (url, auth) = (gw.url("/mcp/fs"), bearer(&token("fs", "ana")));
    // The status of `body` posted, and how long the answer took.
    let post = |body: &'static str| {
        let (url, auth) = (url.clone(), auth.clone());
        async move {
            let started = std::time::Instant::now();
            let headers = [
                ("authorization", auth.as_str()),
                ("content-type", "application/json"),
                ("accept", "application/json, text/event-stream"),
                ("mcp-protocol-version", "2025-11-25"),
            ];
            let (status, _, answer) = call("POST", &url, &headers, body).await;
            (status, answer, started.elapsed())
        }
    };
    let (status, body, took) = post(
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file","arguments":{}}}"#,
    )
    .await;
    assert_eq!(status, 503, "{body}");
    // Two timeouts or more (initialize, then the list) was the old bound.
    assert!(took < std::time::Duration::from_millis(3_600), "{took:?}");
    assert!(!held.lock().unwrap().is_empty());
    // A `tools/list` waits for the reading, then is forwarded with what is left of the
    // timeout: 504 after about one timeout (tester 158: three).
    std::thread::sleep(std::time::Duration::from_millis(1_100)); // past the 1 s failure memory
    let (status, body, took) = post(r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#).await;
    assert_eq!(status, 504, "{body}");
    assert!(took < std::time::Duration::from_millis(3_600), "{took:?}");
}
