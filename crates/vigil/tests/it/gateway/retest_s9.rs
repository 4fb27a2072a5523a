//! Regression tests of the bb-gw-s9 black-box report (S2, S5, S10, the same-origin `Location`
//! of N7 and the N10 remainder), each through the `vigil` binary over loopback HTTP.

use super::answers::{raw_upstream, send, with_length};
use super::*;

/// `n` bytes of JWT-shaped text (the slowest text for the rules to scan).
fn jwt_text(n: usize) -> String {
    "eyJhbGciOiJIUzI1NiJ9.".repeat(n / 21 + 1)[..n].to_owned()
}

/// A `tools/call` with id `id` whose one argument is `text`.
fn call_of(id: usize, text: &str) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"echo","arguments":{{"text":"{text}"}}}}}}"#
    )
}

/// A JSON-RPC batch of `n` tool calls, each with `each` bytes of JWT-shaped text.
fn batch_of(n: usize, each: usize) -> String {
    let text = jwt_text(each);
    let calls: Vec<String> = (0..n).map(|i| call_of(i + 1, &text)).collect();
    format!("[{}]", calls.join(","))
}

/// Sends `body` as a POST to `path` on a connection of its own and returns the task that
/// reads the whole answer. The body is written before this returns: once it is far larger
/// than the socket buffers, the gateway has read (nearly) all of it.
async fn post_raw(
    gw: &Gateway,
    path: &str,
    token: &str,
    extra: &str,
    body: &str,
) -> tokio::task::JoinHandle<String> {
    let mut s = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nAccept: application/json\r\n{extra}\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body.as_bytes()).await.unwrap();
    tokio::spawn(async move {
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer).await;
        String::from_utf8_lossy(&answer).into_owned()
    })
}

const OLD_PROTOCOL: &str = "MCP-Protocol-Version: 2025-03-26\r\n";

// S2: the tool calls of a batch are one scan: small each, large together, they are scanned off
// the workers within `[gateway.scan] budget` (past it: 413, nothing sent), not on the worker
// without a budget. A small batch is scanned on the worker as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_small_calls_is_one_scan_within_the_budget() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(
        dir.path(),
        &hardened(&up, "[gateway.scan]\nbudget = \"1ms\"\n", ""),
        &[],
    );
    let t = token("filesystem", "bob");
    let big = post_raw(
        &gw,
        "/mcp/filesystem",
        &t,
        OLD_PROTOCOL,
        &batch_of(120, 1900),
    )
    .await;
    let answer = big.await.unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 413") && answer.contains("scan_budget"),
        "{}",
        &answer[..answer.len().min(300)]
    );
    assert!(
        up.seen().iter().all(|s| s.method != "POST"),
        "the upstream got the batch"
    );
    let small = format!("[{},{}]", call_of(1, "hi"), call_of(2, "there"));
    let answer = post_raw(&gw, "/mcp/filesystem", &t, OLD_PROTOCOL, &small)
        .await
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

// S2: with one worker, a batch of 450 small JWT-shaped calls (1 MB to scan) no longer holds the
// worker: `/healthz` is answered while it is being scanned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_answered_while_a_batch_of_small_calls_is_scanned() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start_args(
        dir.path(),
        &hardened(&up, "[gateway.scan]\nbudget = \"60s\"\n", ""),
        &[],
        &["--listen", "127.0.0.1:0", "--threads", "1"],
    );
    let t = token("filesystem", "bob");
    let batch = post_raw(
        &gw,
        "/mcp/filesystem",
        &t,
        OLD_PROTOCOL,
        &batch_of(450, 2000),
    )
    .await;
    let (status, _, _) = call("GET", &gw.url("/healthz"), &[], "").await;
    assert_eq!(status, 200);
    assert!(
        !batch.is_finished(),
        "health was answered only after the batch"
    );
    drop(gw);
}

// S2: the scanning turns are shared out by subject: bob's four large calls, slow to scan, take
// one turn at a time, and alice's large (quick) call is scanned and answered while all of his
// still wait, instead of queueing behind them until her budget runs out (413).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_subjects_large_calls_never_hold_another_subjects_scan() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(
        dir.path(),
        &hardened(&up, "[gateway.scan]\nbudget = \"60s\"\n", ""),
        &[],
    );
    let bob = token("filesystem", "bob");
    let mut pending = Vec::new();
    for _ in 0..4 {
        let body = call_of(1, &jwt_text(900_000));
        pending.push(post_raw(&gw, "/mcp/filesystem", &bob, "", &body).await);
    }
    let alice = bearer(&token("filesystem", "alice"));
    let (status, _, body) = call(
        "POST",
        &gw.url("/mcp/filesystem"),
        &[
            ("authorization", alice.as_str()),
            ("content-type", "application/json"),
            ("accept", "application/json"),
        ],
        &call_of(7, &"x".repeat(3000)),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("xxxx"), "{body}");
    assert!(
        pending.iter().all(|p| !p.is_finished()),
        "alice's call waited for bob's"
    );
    let (status, _, _) = call("GET", &gw.url("/healthz"), &[], "").await;
    assert_eq!(status, 200);
    drop(gw);
}

// S2: a text answer over 2 KiB is read off the workers within the budget too (past it: 502,
// never the answer unread), and many small SSE events that came together are one piece for the
// pool: past the budget the stream is cut with the gateway's error for the call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_answers_and_many_small_events_are_read_within_the_budget() {
    let text = jwt_text(300_000);
    let event = format!(
        "event: message\ndata: {{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{{\"data\":\"{}\"}}}}\n\n",
        jwt_text(1900)
    );
    let events = event.repeat(150);
    let addr = raw_upstream(move |case| match case {
        "text" => with_length("text/plain", &[], text.as_bytes()),
        _ => with_length("text/event-stream", &[], events.as_bytes()),
    })
    .await;
    let dir = TempDir::new().unwrap();
    let cfg = format!(
        "[gateway]\nlisten = \"127.0.0.1:8443\"\n\n[gateway.scan]\nbudget = \"1ms\"\n\n\
         [[gateway.routes]]\npath = \"/mcp/fs\"\nupstream = \"http://{addr}/mcp\"\naudience = \"fs\"\n"
    );
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let auth = bearer(&token("fs", "alice"));
    let ask = |case: &'static str| {
        let (url, auth) = (gw.url("/mcp/fs"), auth.clone());
        async move {
            let h = [
                ("authorization", auth.as_str()),
                ("content-type", "application/json"),
                ("accept", MCP),
                ("x-case", case),
            ];
            send(&url, "POST", &h, &call_of(5, "hi")).await
        }
    };
    let (status, _, body) = ask("text").await;
    assert_eq!(status, 502, "{}", &body[..body.len().min(300)]);
    assert!(body.contains("within its budget"), "{body}");
    let (status, _, body) = ask("events").await;
    assert_eq!(status, 200);
    assert!(
        body.contains("within the gateway's budget") && body.contains("-32603"),
        "{}",
        &body[..body.len().min(300)]
    );
    assert!(
        body.matches("notifications/message").count() < 150,
        "every event passed"
    );
}

// S5: an SSE event whose `data:` lines join into no JSON (they split a string), while the
// result scan wanted to read it, is no longer delivered empty: the stream ends with the
// gateway's JSON-RPC error answering the call, and the secret in it never arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_that_is_not_json_ends_the_stream_with_an_error_for_the_call() {
    let pat = common::token("GITHUB_TOKEN=«ghp_{alnum:30}{ghcrc}»", 95);
    let p = pat.clone();
    let addr = raw_upstream(move |_| {
        let body = format!(
            "event: message\ndata: {{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{{\"content\":[{{\"type\":\"text\",\"text\":\"a {p}\ndata: b\"}}]}}}}\n\n"
        );
        with_length("text/event-stream", &[], body.as_bytes())
    })
    .await;
    let dir = TempDir::new().unwrap();
    let cfg = format!(
        "[gateway]\nlisten = \"127.0.0.1:8443\"\n\n\
         [[gateway.routes]]\npath = \"/mcp/fs\"\nupstream = \"http://{addr}/mcp\"\naudience = \"fs\"\n"
    );
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let auth = bearer(&token("fs", "alice"));
    let h = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
        ("accept", MCP),
    ];
    let (status, _, body) = send(&gw.url("/mcp/fs"), "POST", &h, &call_of(5, "hi")).await;
    assert_eq!(status, 200);
    assert!(!body.contains(&pat[4..]), "{body}");
    let data = body
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .unwrap_or_else(|| panic!("no data: {body}"));
    let v: serde_json::Value = serde_json::from_str(data).unwrap();
    assert_eq!(v["id"], 5, "{body}");
    assert_eq!(v["error"]["code"], -32603, "{body}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not a JSON message"),
        "{body}"
    );
    assert!(gw.wait_log("the upstream's answer was refused"));
}

// S10: an upstream that hands one session id to two subjects never moves the session: the
// second subject's answer is refused (502) and the first keeps its session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_reusing_a_session_id_never_rebinds_it() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(dir.path(), &hardened(&up, "", ""), &[]);
    let url = gw.url("/mcp/filesystem");
    let post = |who: &'static str, session: Option<&'static str>, body: &'static str| {
        let (url, auth) = (url.clone(), bearer(&token("filesystem", who)));
        async move {
            let mut h = vec![
                ("authorization", auth.as_str()),
                ("content-type", "application/json"),
                ("accept", "application/json"),
            ];
            if let Some(s) = session {
                h.push(("mcp-session-id", s));
            }
            call("POST", &url, &h, body).await
        }
    };
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
    let list = r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#;
    let (status, headers, _) = post("alice", None, init).await;
    assert_eq!(status, 200);
    assert_eq!(headers["mcp-session-id"], "sess-0123");
    // The upstream hands bob the same id: refused, not bound to him.
    let (status, headers, body) = post("bob", None, init).await;
    assert_eq!(status.as_u16(), 502, "{body}");
    assert!(body.contains("session_taken"), "{body}");
    assert!(!headers.contains_key("mcp-session-id"));
    let (status, _, body) = post("alice", Some("sess-0123"), list).await;
    assert_eq!(status, 200, "alice keeps her session: {body}");
    let (status, _, _) = post("bob", Some("sess-0123"), list).await;
    assert_eq!(status.as_u16(), 404);
    // Handed to alice again (a new initialize), it stays hers.
    let (status, _, _) = post("alice", None, init).await;
    assert_eq!(status, 200);
    let (status, _, _) = post("alice", Some("sess-0123"), list).await;
    assert_eq!(status, 200);
    assert!(gw.wait_log("another subject holds"));
}

// N7 remainder: an absolute `Location` on the upstream's own origin is rewritten into the
// route's prefix (a client following it stays behind the gateway); one outside the route's
// upstream path is refused on a redirect and dropped elsewhere. A path passes as sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_same_origin_location_is_rewritten_into_the_route() {
    let origin = std::sync::Arc::new(std::sync::OnceLock::<String>::new());
    let o = origin.clone();
    let addr = raw_upstream(move |case| {
        let base = o.get().cloned().unwrap_or_default();
        let answer = |status: &str, location: String| {
            format!(
                "HTTP/1.1 {status}\r\nlocation: {location}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            )
            .into_bytes()
        };
        match case {
            "in" => answer("302 Found", format!("{base}/mcp/next?x=1")),
            "upper" => answer("307 Temporary Redirect", format!("{}/mcp/a", base.to_uppercase())),
            "out" => answer("302 Found", format!("{base}/admin")),
            "out200" => answer("200 OK", format!("{base}/admin")),
            "in201" => answer("201 Created", format!("{base}/mcp/items/7")),
            _ => answer("302 Found", "/mcp/next".to_owned()),
        }
    })
    .await;
    origin.set(format!("http://{addr}")).unwrap();
    let dir = TempDir::new().unwrap();
    let cfg = format!(
        "[gateway]\nlisten = \"127.0.0.1:8443\"\n\n\
         [[gateway.routes]]\npath = \"/mcp/fs\"\nupstream = \"http://{addr}/mcp\"\naudience = \"fs\"\n"
    );
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let auth = bearer(&token("fs", "alice"));
    let ask = |case: &'static str| {
        let (url, auth) = (gw.url("/mcp/fs"), auth.clone());
        async move {
            let h = [("authorization", auth.as_str()), ("x-case", case)];
            send(&url, "GET", &h, "").await
        }
    };
    let (status, headers, _) = ask("in").await;
    assert_eq!(status, 302);
    assert_eq!(headers["location"], "/mcp/fs/next?x=1");
    let (status, headers, _) = ask("upper").await;
    assert_eq!(status, 307);
    assert_eq!(headers["location"], "/mcp/fs/a");
    let (status, headers, body) = ask("out").await;
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("outside the route"), "{body}");
    assert!(!headers.contains_key("location"));
    let (status, headers, _) = ask("out200").await;
    assert_eq!(status, 200);
    assert!(!headers.contains_key("location"));
    let (status, headers, _) = ask("in201").await;
    assert_eq!(status, 201);
    assert_eq!(headers["location"], "/mcp/fs/items/7");
    let (status, headers, _) = ask("path").await;
    assert_eq!(status, 302);
    assert_eq!(headers["location"], "/mcp/next");
    assert!(gw.wait_log("redirected outside the route"));
}

// N10 remainder: headers that say whose request it is or where it came from (organisation,
// team, owner, client, peer, source, requester) never reach the upstream; `X-Requested-With`
// (sent by browsers' XHR) still does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organisation_team_and_peer_headers_never_reach_the_upstream() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(dir.path(), &hardened(&up, "", ""), &[]);
    let auth = bearer(&token("filesystem", "alice"));
    let spoofed = [
        "X-Requested-By",
        "X-Peer",
        "X-Src",
        "X-Org-Id",
        "X-Organization",
        "X-Team",
        "X-Owner",
        "X-Client",
        "X-Remote",
        "X-Member",
        "X-Person",
        "X-Client-Id",
        "X-Source",
    ];
    let mut headers = vec![
        ("authorization", auth.as_str()),
        ("x-request-id", "kept-1"),
        ("x-requested-with", "XMLHttpRequest"),
    ];
    headers.extend(spoofed.iter().map(|n| (*n, "mallory")));
    let (s, _, body) = call("GET", &gw.url("/mcp/filesystem/x"), &headers, "").await;
    assert_eq!(s, 200, "{body}");
    let seen = up.seen();
    let h = &seen.last().unwrap().headers;
    for name in spoofed {
        assert!(h.get(name).is_none(), "{name} reached the upstream");
    }
    assert!(!h.values().any(|v| v == "mallory"));
    assert_eq!(h["x-request-id"], "kept-1");
    assert_eq!(h["x-requested-with"], "XMLHttpRequest");
}
