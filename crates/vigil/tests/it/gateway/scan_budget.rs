//! Large secret scans run off the request workers and within a budget (bb-gw-s8 N5): two calls
//! whose arguments are 900 KB of JWT-shaped text (the slowest text for the rules) no longer
//! stall `/healthz` and every other route, and a scan past `[gateway.scan] budget` refuses the
//! call (413) instead of sending it unscanned.

use super::*;

/// A `tools/call` whose one argument is `n` bytes of JWT-shaped text.
fn jwt_shaped_call(n: usize) -> String {
    let text: String = "eyJhbGciOiJIUzI1NiJ9.".repeat(n / 21 + 1)[..n].to_owned();
    format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"echo","arguments":{{"text":"{text}"}}}}}}"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_answered_while_large_scans_run() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let cfg = hardened(&up, "[gateway.scan]\nbudget = \"60s\"\n", "");
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let t = token("filesystem", "alice");
    let body = jwt_shaped_call(900_000);
    let mut pending = Vec::new();
    for _ in 0..2 {
        let mut s = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
        let head = format!(
            "POST /mcp/filesystem HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {t}\r\n\
             Content-Type: application/json\r\nAccept: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).await.unwrap();
        // The body is far larger than the socket buffers: once written, the gateway has read
        // (nearly) all of it, and its scan begins.
        s.write_all(body.as_bytes()).await.unwrap();
        pending.push(tokio::spawn(async move {
            let mut answer = Vec::new();
            let _ = s.read_to_end(&mut answer).await;
            String::from_utf8_lossy(&answer).into_owned()
        }));
    }
    let (status, _, _) = call("GET", &gw.url("/healthz"), &[], "").await;
    assert_eq!(status, 200);
    assert!(
        pending.iter().all(|p| !p.is_finished()),
        "health was answered only after the large scans"
    );
    for p in pending {
        let answer = p.await.unwrap();
        // Scanned (forwarded, or blocked as a JWT), or past the budget on a slow machine.
        assert!(
            answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.1 413"),
            "{}",
            &answer[..answer.len().min(300)]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_past_its_budget_refuses_the_call_and_sends_nothing() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let cfg = hardened(
        &up,
        "[gateway.scan]\nbudget = \"1ms\"\n\n[gateway.audit]\npath = \"tools.jsonl\"\nflush_interval = \"20ms\"\n",
        "",
    );
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let auth = bearer(&token("filesystem", "alice"));
    let (status, _, body) = call(
        "POST",
        &gw.url("/mcp/filesystem"),
        &[
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
            ("accept", "application/json"),
        ],
        &jwt_shaped_call(300_000),
    )
    .await;
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("scan_budget"), "{body}");
    assert!(
        up.seen().iter().all(|s| s.method != "POST"),
        "the upstream got the call"
    );
    assert!(gw.wait_log("could not be scanned within [gateway.scan] budget"));
    let lines = super::tool_security::wait_lines(&dir.path().join("tools.jsonl"), 1);
    assert_eq!(lines[0]["outcome"], "refused_scan_budget", "{lines:?}");
    // A small call is scanned on the worker as before, whatever the budget.
    let (status, _, body) = call(
        "POST",
        &gw.url("/mcp/filesystem"),
        &[
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
            ("accept", "application/json"),
        ],
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

// The result side: a large JSON answer is scanned off the workers within the same budget; past
// it the client gets the gateway's 502, never the answer unscanned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_answer_past_the_budget_is_refused_and_within_it_passes() {
    let up = Upstream::start().await;
    let call_of = |gw: &Gateway| {
        let url = gw.url("/mcp/filesystem");
        async move {
            let auth = bearer(&token("filesystem", "alice"));
            call(
                "POST",
                &url,
                &[
                    ("authorization", auth.as_str()),
                    ("content-type", "application/json"),
                    ("accept", "application/json"),
                ],
                &jwt_shaped_call(300_000),
            )
            .await
        }
    };
    for (budget, want) in [("1ms", 502), ("120s", 200)] {
        // JSON here; an SSE stream below.
        let dir = TempDir::new().unwrap();
        let cfg = hardened(
            &up,
            &format!("[gateway.scan]\narguments = \"off\"\nbudget = \"{budget}\"\n"),
            "",
        );
        let gw = Gateway::start(dir.path(), &cfg, &[]);
        let (status, _, body) = call_of(&gw).await;
        assert_eq!(status, want, "{budget}: {}", &body[..body.len().min(300)]);
        if want == 502 {
            assert!(body.contains("within its budget"), "{body}");
        } else {
            assert!(
                body.contains("eyJhbGciOiJIUzI1NiJ9."),
                "the answer passed whole"
            );
        }
    }
}

// An SSE event over 2 KiB is checked off the workers too: past the budget the stream is cut with
// the gateway's error for the call; within it the event arrives whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_sse_event_past_the_budget_cuts_the_stream_and_within_it_passes() {
    let up = Upstream::start().await;
    for (budget, cut) in [("1ms", true), ("120s", false)] {
        let dir = TempDir::new().unwrap();
        let cfg = hardened(
            &up,
            &format!("[gateway.scan]\narguments = \"off\"\nbudget = \"{budget}\"\n"),
            "",
        );
        let gw = Gateway::start(dir.path(), &cfg, &[]);
        let auth = bearer(&token("filesystem", "alice"));
        // The streamed answer's last event is sent once released.
        up.release.notify_one();
        let (status, _, body) = call(
            "POST",
            &gw.url("/mcp/filesystem"),
            &[
                ("authorization", auth.as_str()),
                ("content-type", "application/json"),
                ("accept", MCP),
            ],
            &jwt_shaped_call(300_000),
        )
        .await;
        assert_eq!(status, 200);
        assert!(
            body.contains("notifications/progress"),
            "the small event passed"
        );
        if cut {
            assert!(
                body.contains("within the gateway's budget") && body.contains("-32603"),
                "{}",
                &body[..body.len().min(400)]
            );
            assert!(
                !body.contains("eyJhbGciOiJIUzI1NiJ9.eyJ"),
                "the event was not sent"
            );
        } else {
            assert!(
                body.contains("eyJhbGciOiJIUzI1NiJ9."),
                "the event passed whole"
            );
            assert!(!body.contains("within the gateway's budget"));
        }
    }
}
