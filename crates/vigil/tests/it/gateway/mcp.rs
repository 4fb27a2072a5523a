//! MCP traffic through the gateway: a Streamable HTTP session (JSON, SSE, GET streams, DELETE,
//! session headers) with the token kept at the gateway, WebSocket tunnels, the official
//! TypeScript SDK client and server, and upstream connections kept and replaced.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mcp_session_runs_through_the_gateway_and_the_token_stays_there() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(dir.path(), &config(&up, "", ""), &[]);
    let t = token("filesystem", "alice");
    let auth = bearer(&t);
    let url = gw.url("/mcp/filesystem");

    // initialize: JSON answer, session id back to the client.
    let (status, headers, body) = call(
        "POST",
        &url,
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
            ("accept", MCP),
            ("mcp-protocol-version", "2025-06-18"),
        ],
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["mcp-session-id"], "sess-0123");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(headers["content-security-policy"]
        .to_str()
        .unwrap()
        .starts_with("default-src 'none'"));
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["result"]["serverInfo"]["name"], "test-upstream");

    let session = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
        ("accept", MCP),
        ("mcp-session-id", "sess-0123"),
        ("mcp-protocol-version", "2025-06-18"),
    ];
    let (status, _, _) = call(
        "POST",
        &url,
        &session,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
    )
    .await;
    assert_eq!(status, 202);
    let (status, _, body) = call(
        "POST",
        &url,
        &session,
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.contains("\"echo\""));

    // tools/call answered as an SSE stream: the first event reaches the client while the
    // upstream still holds the last one, so nothing buffers the stream.
    let marker = "argument-that-must-not-be-logged";
    let mut req = http::Request::builder().method("POST").uri(&url);
    for (k, v) in session {
        req = req.header(k, v);
    }
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{{"name":"echo","arguments":{{"text":"{marker}"}}}}}}"#
    );
    let resp = gw::client()
        .request(
            req.body(http_body_util::Full::new(body.into()).boxed())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut stream = resp.into_body();
    let first = tokio::time::timeout(Duration::from_secs(5), stream.frame())
        .await
        .expect("first event arrives before the upstream finishes")
        .unwrap()
        .unwrap()
        .into_data()
        .unwrap();
    assert!(String::from_utf8_lossy(&first).contains("notifications/progress"));
    up.release.notify_one();
    let rest = stream.collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&rest).contains(marker));

    // GET opens a server stream; DELETE ends the session.
    let mut get = http::Request::builder()
        .uri(&url)
        .header("authorization", &auth)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", "sess-0123");
    get = get.header("last-event-id", "7");
    let resp = gw::client()
        .request(get.body(http_body_util::Empty::new().boxed()).unwrap())
        .await
        .unwrap();
    let mut stream = resp.into_body();
    let first = stream.frame().await.unwrap().unwrap().into_data().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("hello"));
    up.release.notify_one();
    drop(stream);
    let (status, _, _) = call(
        "DELETE",
        &url,
        &[("authorization", &auth), ("mcp-session-id", "sess-0123")],
        "",
    )
    .await;
    assert_eq!(status, 204);

    // The upstream saw the session headers and the gateway's identity headers, never the token.
    let seen = up.seen();
    assert!(seen.len() >= 6);
    for s in &seen {
        assert!(
            s.headers.get("authorization").is_none(),
            "token passed through"
        );
        assert_eq!(s.headers["x-vigil-subject"], "alice");
        assert_eq!(s.headers["x-vigil-audience"], "filesystem");
        assert_eq!(s.headers["x-forwarded-for"], "127.0.0.1");
        assert!(s.uri.starts_with("/mcp"), "prefix replaced: {}", s.uri);
    }
    assert!(seen
        .iter()
        .any(|s| s.headers.get("mcp-session-id").is_some()));
    assert!(seen
        .iter()
        .any(|s| s.headers.get("mcp-protocol-version").is_some()));
    assert!(seen
        .iter()
        .any(|s| s.headers.get("last-event-id").is_some()));

    // One access line per request, with method and tool, never arguments or the token.
    assert!(gw.wait_log("\"tool\":\"echo\""));
    let logs = gw.log_text();
    assert!(logs.contains("\"rpc_method\":\"tools/call\""));
    assert!(logs.contains("\"subject\":\"alice\""));
    assert!(!logs.contains(marker), "arguments logged");
    assert!(!logs.contains(&t), "token logged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_upgrades_are_tunnelled_after_auth() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    // Only where the gateway reads no MCP message (blackbox: refused otherwise).
    let gw = Gateway::start(dir.path(), &config(&up, "", super::blackbox::SCAN_OFF), &[]);
    let t = token("filesystem", "hal");
    let handshake = |auth: &str| {
        format!(
            "GET /mcp/filesystem/ws HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{auth}\r\n",
            gw.addr
        )
    };
    let mut s = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(handshake(&format!("Authorization: Bearer {t}\r\n")).as_bytes())
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).await.unwrap();
    let head = String::from_utf8_lossy(&buf[..n]).to_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(head.contains("upgrade: websocket"));
    s.write_all(b"ping through the tunnel").await.unwrap();
    let mut echo = vec![0u8; 23];
    tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut echo))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&echo, b"ping through the tunnel");
    // Without a token the upgrade never reaches the upstream.
    let before = up.seen().len();
    let mut s = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(handshake("").as_bytes()).await.unwrap();
    let n = s.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 401"));
    assert_eq!(up.seen().len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_typescript_sdk_client_and_server_work_through_the_gateway() {
    let sdk = gw::sdk_dir();
    let server = gw::SdkServer::start(&sdk);
    let dir = TempDir::new().unwrap();
    let cfg = format!(
        "[gateway]\n\n[[gateway.routes]]\npath = \"/mcp/sdk\"\nupstream = \"http://127.0.0.1:{}/mcp\"\n",
        server.port
    );
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let url = gw.url("/mcp/sdk");
    let client = |token: String| {
        let (sdk, url) = (sdk.clone(), url.clone());
        tokio::task::spawn_blocking(move || {
            std::process::Command::new("node")
                .arg("sdk-client.mjs")
                .arg(url)
                .arg(token)
                .current_dir(sdk)
                .output()
                .unwrap()
        })
    };
    let out = client(token("sdk", "nia")).await.unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stdout)));
    assert!(out.status.success(), "{v}");
    assert_eq!(v["tools"], serde_json::json!(["add"]));
    assert_eq!(v["result"]["content"][0]["text"], "42");
    assert_eq!(
        v["progress"],
        serde_json::json!([1]),
        "the progress event streamed through"
    );
    assert!(v["session"].as_str().is_some_and(|s| !s.is_empty()));

    let out = client(token("memory", "nia")).await.unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("wrong audience"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let (_, _, seen) = call(
        "GET",
        &format!("http://127.0.0.1:{}/authorization-seen", server.port),
        &[],
        "",
    )
    .await;
    assert_eq!(
        seen, "{\"count\":0}",
        "the upstream never saw a client token"
    );
    assert!(gw.wait_log("\"tool\":\"add\""));
    let (_, _, metrics) = call("GET", &gw.url("/metrics"), &[], "").await;
    assert!(metrics.contains("vigil_gateway_requests_total{route=\"/mcp/sdk\",status=\"401\"}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_connections_are_reused_and_one_closed_while_idle_is_replaced() {
    use std::sync::atomic::Ordering;
    let t = token("filesystem", "pat");
    let auth = bearer(&t);
    for close_after in [None, Some(Duration::from_millis(20))] {
        let (addr, conns) = counting_upstream(close_after).await;
        let dir = TempDir::new().unwrap();
        let cfg = format!(
            "[gateway]\nlisten = \"127.0.0.1:8443\"\n\n[[gateway.routes]]\npath = \"/mcp/filesystem\"\n\
             upstream = \"http://{addr}/mcp\"\naudience = \"filesystem\"\n"
        );
        // One worker, so every request draws on one pool.
        let gw = Gateway::start_args(
            dir.path(),
            &cfg,
            &[],
            &["--listen", "127.0.0.1:0", "--threads", "1"],
        );
        for i in 0..10 {
            let (status, _, body) = call(
                "GET",
                &gw.url("/mcp/filesystem/"),
                &[("authorization", &auth)],
                "",
            )
            .await;
            assert_eq!((status.as_u16(), body.as_str()), (200, "{}"), "request {i}");
            if close_after.is_some() {
                // Long enough for the upstream to have closed the pooled connection.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        let opened = conns.load(Ordering::SeqCst);
        match close_after {
            None => assert_eq!(opened, 1, "ten requests in a row share one connection"),
            Some(_) => assert_eq!(opened, 10, "each closed connection was replaced"),
        }
    }
}
