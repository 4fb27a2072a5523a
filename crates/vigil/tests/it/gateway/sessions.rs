//! MCP sessions of HTTP upstreams bound to the token subject that opened them (bb-gw-s7 #7):
//! a Streamable HTTP `Mcp-Session-Id` of the official TypeScript SDK server, and a legacy
//! HTTP+SSE `sessionId` of the SDK's `SSEServerTransport`, answer only their opener; another
//! subject (or an id the gateway never saw handed out) gets 404, and the upstream never sees it.

use super::*;

const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamable_http_session_answers_only_the_subject_that_opened_it() {
    let sdk = gw::sdk_dir();
    let server = gw::SdkServer::start(&sdk);
    let dir = TempDir::new().unwrap();
    let cfg = format!(
        "[gateway]\n\n[[gateway.routes]]\npath = \"/mcp/sdk\"\nupstream = \"http://127.0.0.1:{}/mcp\"\n",
        server.port
    );
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let url = gw.url("/mcp/sdk");
    let (alice, bob) = (bearer(&token("sdk", "alice")), bearer(&token("sdk", "bob")));
    let head = |auth: &str, session: Option<&str>| {
        let mut h = vec![
            ("authorization".to_owned(), auth.to_owned()),
            ("content-type".to_owned(), "application/json".to_owned()),
            ("accept".to_owned(), MCP.to_owned()),
            ("mcp-protocol-version".to_owned(), "2025-06-18".to_owned()),
        ];
        if let Some(s) = session {
            h.push(("mcp-session-id".to_owned(), s.to_owned()));
        }
        h
    };
    let send = |method: &'static str, h: Vec<(String, String)>, body: &'static str| {
        let url = url.clone();
        async move {
            let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            call(method, &url, &h, body).await
        }
    };
    let (status, headers, body) = send("POST", head(&alice, None), INIT).await;
    assert_eq!(status, 200, "{body}");
    let session = headers["mcp-session-id"].to_str().unwrap().to_owned();
    let (status, _, _) = send(
        "POST",
        head(&alice, Some(&session)),
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
    )
    .await;
    assert_eq!(status, 202);

    // bob, with a valid token of his own, cannot call, listen or close in alice's session.
    let call_add = r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add","arguments":{"a":40,"b":2}}}"#;
    let (status, _, body) = send("POST", head(&bob, Some(&session)), call_add).await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("session_not_found"), "{body}");
    let (status, _, _) = send("GET", head(&bob, Some(&session)), "").await;
    assert_eq!(status, 404, "bob cannot hold alice's standalone stream");
    let (status, _, _) = send("DELETE", head(&bob, Some(&session)), "").await;
    assert_eq!(status, 404, "bob cannot end alice's session");

    // alice's session is untouched.
    let (status, _, body) = send("POST", head(&alice, Some(&session)), call_add).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"42\""), "{body}");

    // An id the gateway never saw the upstream hand out is no session of anyone's.
    let (status, _, _) = send(
        "POST",
        head(&alice, Some("00000000-0000-4000-8000-000000000000")),
        call_add,
    )
    .await;
    assert_eq!(status, 404);

    // alice ends it; it is then gone for her too.
    let (status, _, _) = send("DELETE", head(&alice, Some(&session)), "").await;
    assert!(status.is_success(), "{status}");
    let (status, _, _) = send("POST", head(&alice, Some(&session)), call_add).await;
    assert_eq!(status, 404);
    assert!(gw.wait_log("\"status\":404"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legacy_sse_session_answers_only_the_subject_that_opened_it() {
    let sdk = gw::sdk_dir();
    let server = gw::SdkServer::start_script(&sdk, &["sdk-legacy-server.mjs"]);
    let dir = TempDir::new().unwrap();
    let cfg = format!(
        "[gateway]\n\n[[gateway.routes]]\npath = \"/mcp/legacy\"\nupstream = \"http://127.0.0.1:{}\"\n",
        server.port
    );
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let (alice, bob) = (
        bearer(&token("legacy", "alice")),
        bearer(&token("legacy", "bob")),
    );
    let req = http::Request::builder()
        .uri(gw.url("/mcp/legacy/sse"))
        .header("authorization", &alice)
        .header("accept", "text/event-stream")
        .body(http_body_util::Full::new(bytes::Bytes::new()).boxed())
        .unwrap();
    let resp = gw::client().request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let mut stream = resp.into_body();
    let mut text = String::new();
    while !text.contains("\n\n") {
        let frame = tokio::time::timeout(Duration::from_secs(10), stream.frame())
            .await
            .expect("the endpoint event arrives")
            .unwrap()
            .unwrap();
        if let Ok(d) = frame.into_data() {
            text.push_str(&String::from_utf8_lossy(&d));
        }
    }
    assert!(text.starts_with("event: endpoint"), "{text}");
    let id = text
        .split("sessionId=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let post = |auth: String, query: String, body: &'static str| {
        let url = gw.url(&format!("/mcp/legacy/messages?{query}"));
        async move {
            call(
                "POST",
                &url,
                &[
                    ("authorization", &auth),
                    ("content-type", "application/json"),
                ],
                body,
            )
            .await
        }
    };
    let ping = r#"{"jsonrpc":"2.0","id":777,"method":"ping"}"#;
    // bob cannot inject an answer under an id alice's client waits for, in any spelling.
    for q in [
        format!("sessionId={id}"),
        format!("%73essionId={id}"),
        format!("x=1&session_id={id}&sessionId={id}"),
    ] {
        let (status, _, body) = post(bob.clone(), q.clone(), ping).await;
        assert_eq!(status, 404, "{q}: {body}");
    }
    // bb-gw-s8 N1: nor by naming two sessions (one checked, the other read by the server) or
    // one in a framework's array form: 400, the upstream never asked.
    for q in [
        format!("session_id=other&sessionId={id}"),
        format!("sessionId%5B%5D={id}"),
        format!("sessionId[0]={id}"),
    ] {
        let (status, _, body) = post(bob.clone(), q.clone(), ping).await;
        assert_eq!(status, 400, "{q}: {body}");
        assert!(body.contains("ambiguous_session"), "{q}: {body}");
    }
    // alice can; the answer comes on her stream.
    let (status, _, body) = post(alice.clone(), format!("sessionId={id}"), ping).await;
    assert_eq!(status.as_u16(), 202, "{body}");
    let mut text = String::new();
    while !text.contains("777") {
        let frame = tokio::time::timeout(Duration::from_secs(10), stream.frame())
            .await
            .expect("the answer arrives on alice's stream")
            .unwrap()
            .unwrap();
        if let Ok(d) = frame.into_data() {
            text.push_str(&String::from_utf8_lossy(&d));
        }
    }
    // A session id nobody was handed.
    let (status, _, _) = post(alice, "sessionId=forged".into(), ping).await;
    assert_eq!(status, 404);
}
