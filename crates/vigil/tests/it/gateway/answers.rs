//! Regression tests for what was left of the session-6 re-test of `vigil gateway` (bb-gw-s6 #8
//! and #10): the upstream's response headers are scanned for secrets like its bodies (redacted,
//! or dropped when the secret is in a header's name), and an SSE answer the gateway cuts (not
//! UTF-8) reaches the client as an answer that says why, with or without `Content-Length`, never
//! as a connection closed without a word. Real HTTP on loopback through the `vigil` binary.

use super::*;
use std::net::SocketAddr;

/// A GitHub classic token (valid checksum), built at run time.
fn ghp(seed: u64) -> String {
    common::token("GITHUB_TOKEN=«ghp_{alnum:30}{ghcrc}»", seed)
}

/// A bare HTTP/1.1 upstream: for each request it answers the bytes `answer(x-case header)` (a
/// whole HTTP answer: head, framing and body as given) and closes the connection.
pub(super) async fn raw_upstream<F>(answer: F) -> SocketAddr
where
    F: Fn(&str) -> Vec<u8> + Send + Sync + 'static,
{
    let answer = std::sync::Arc::new(answer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break p + 4;
                    }
                    match s.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
                let field = |name: &str| {
                    head.lines()
                        .find_map(|l| l.strip_prefix(name))
                        .map(|v| v.trim().to_owned())
                };
                let length: usize = field("content-length:")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                while buf.len() < head_end + length {
                    match s.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let case = field("x-case:").unwrap_or_default();
                let _ = s.write_all(&answer(&case)).await;
                let _ = s.shutdown().await;
            });
        }
    });
    addr
}

/// An HTTP answer with these extra header lines and body, framed by `Content-Length`.
pub(super) fn with_length(content_type: &str, headers: &[String], body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    )
    .into_bytes();
    for h in headers {
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// The same answer chunked (one chunk).
fn chunked(content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n{:x}\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out.extend_from_slice(b"\r\n0\r\n\r\n");
    out
}

fn utf16le(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// Sends a request; the status, headers and body (status 0 when no answer came at all).
pub(super) async fn send(
    url: &str,
    method: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, http::HeaderMap, String) {
    let mut b = http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let req = b
        .body(http_body_util::Full::new(bytes::Bytes::from(body.to_owned())).boxed())
        .unwrap();
    let Ok(resp) = gw::client().request(req).await else {
        return (0, http::HeaderMap::new(), String::new());
    };
    let (parts, mut body) = resp.into_parts();
    let mut got = Vec::new();
    while let Some(f) = body.frame().await {
        match f {
            Ok(f) => {
                if let Ok(d) = f.into_data() {
                    got.extend_from_slice(&d);
                }
            }
            Err(_) => {
                got.extend_from_slice(b"<cut>");
                break;
            }
        }
    }
    (
        parts.status.as_u16(),
        parts.headers,
        String::from_utf8_lossy(&got).into_owned(),
    )
}

// bb-gw-s6 #8: a secret in the upstream's response headers (`X-Debug`, `WWW-Authenticate`,
// `Link`, `Location`) reached the client in clear while the body was redacted. Every header is
// scanned now: redacted in place, dropped when the secret is its name, counted and alerted like
// a result; with `results = "log"` only counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_in_the_upstreams_response_headers_are_redacted_and_counted() {
    let pat = ghp(81);
    // Header names arrive lowercased: a lowercase key shape as one.
    let key = common::token("OPENROUTER_API_KEY=«sk-or-v1-{hex:64}»", 83);
    let (p, k) = (pat.clone(), key.clone());
    let addr = raw_upstream(move |_| {
        let result =
            r#"{"jsonrpc":"2.0","id":3,"result":{"content":[{"type":"text","text":"ok"}]}}"#;
        with_length(
            "application/json",
            &[
                format!("x-debug: tok {p}"),
                format!("www-authenticate: Bearer {p}"),
                format!("link: <http://x.example/?t={p}>; rel=\"next\""),
                format!("location: /steal?token={p}"),
                format!("x-{k}: 1"),
                "x-plain: eu-west-1".to_owned(),
            ],
            result.as_bytes(),
        )
    })
    .await;
    let dir = TempDir::new().unwrap();
    let cfg = format!(
        "[gateway]\nlisten = \"127.0.0.1:8443\"\n\n\
         [[gateway.routes]]\npath = \"/mcp/fs\"\nupstream = \"http://{addr}/mcp\"\naudience = \"fs\"\n"
    );
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let auth = bearer(&token("fs", "alice"));
    let call_body = r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}"#;
    let h = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
        ("accept", MCP),
    ];
    let (status, headers, body) = send(&gw.url("/mcp/fs"), "POST", &h, call_body).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"ok\""), "{body}");
    let shown: Vec<String> = headers
        .iter()
        .map(|(k, v)| format!("{k}: {}", String::from_utf8_lossy(v.as_bytes())))
        .collect();
    let all = shown.join("\n");
    assert!(!all.contains(&pat), "{all}");
    assert!(!all.contains(&pat[4..]), "{all}");
    assert_eq!(headers["x-debug"], "tok [REDACTED:github-pat]");
    // The upstream's challenge is not the client's business on a route the gateway
    // authenticates: it is dropped (its resource_metadata could send a client anywhere).
    assert!(!headers.contains_key("www-authenticate"), "{all}");
    assert!(
        headers["link"]
            .to_str()
            .unwrap()
            .contains("[REDACTED:github-pat]"),
        "{all}"
    );
    assert!(
        headers["location"]
            .to_str()
            .unwrap()
            .contains("[REDACTED:github-pat]"),
        "{all}"
    );
    // A secret as a header's name: the header is gone. Clean headers are untouched.
    assert!(!all.contains(&key), "{all}");
    assert_eq!(headers["x-plain"], "eu-west-1");

    let (_, _, metrics) = call("GET", &gw.url("/metrics"), &[], "").await;
    assert!(
        metrics.contains(
            "vigil_gateway_secrets_total{route=\"/mcp/fs\",place=\"response_header\",rule=\"github-pat\"} 1"
        ),
        "{metrics}"
    );
    assert!(gw.wait_log("secret in a tool result"));
    assert!(!gw.log_text().contains(&pat));
    drop(gw);

    // `results = "log"`: counted, not changed.
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(
        dir.path(),
        &format!("{cfg}\n[gateway.scan]\nresults = \"log\"\n"),
        &[],
    );
    let (status, headers, _) = send(&gw.url("/mcp/fs"), "POST", &h, call_body).await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-debug"], format!("tok {pat}"));
    assert!(!headers.contains_key("www-authenticate"));
    let (_, _, metrics) = call("GET", &gw.url("/metrics"), &[], "").await;
    assert!(
        metrics.contains("place=\"response_header\",rule=\"github-pat\"} 1"),
        "{metrics}"
    );
}

// bb-gw-s6 #10: an SSE answer that is not UTF-8 and came with `Content-Length` ended in a
// connection closed without any HTTP answer (a chunked one in a 200 with an empty, cut body).
// Now the client always gets the head and, for a request with an id, the gateway's JSON-RPC
// error answering it (the call fails at once with the reason); a GET stream gets a comment
// saying why. Nothing of the refused event reaches the client either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sse_answer_cut_for_not_being_utf8_tells_the_client_why() {
    let pat = ghp(82);
    let p = pat.clone();
    let addr = raw_upstream(move |case| {
        let result = format!(
            r#"{{"jsonrpc":"2.0","id":9,"result":{{"content":[{{"type":"text","text":"key {p}"}}]}}}}"#
        );
        let event = format!("event: message\ndata: {result}\n\n");
        let mut later = b"event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\n\n".to_vec();
        later.extend(utf16le(&event));
        match case {
            "length" => with_length("text/event-stream", &[], &utf16le(&event)),
            "chunked" => chunked("text/event-stream", &utf16le(&event)),
            "later" => with_length("text/event-stream", &[], &later),
            _ => with_length("text/event-stream", &[], &[0xff, 0xfe, b'\n', b'\n']),
        }
    })
    .await;
    let dir = TempDir::new().unwrap();
    let cfg = format!(
        "[gateway]\nlisten = \"127.0.0.1:8443\"\n\n\
         [[gateway.routes]]\npath = \"/mcp/fs\"\nupstream = \"http://{addr}/mcp\"\naudience = \"fs\"\n"
    );
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let auth = bearer(&token("fs", "alice"));
    let call_body = r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}"#;
    for case in ["length", "chunked", "later"] {
        let h = [
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
            ("accept", MCP),
            ("x-case", case),
        ];
        let (status, headers, body) = send(&gw.url("/mcp/fs"), "POST", &h, call_body).await;
        assert_eq!(status, 200, "{case}: {body}");
        assert_eq!(headers["content-type"], "text/event-stream", "{case}");
        assert!(!body.contains("<cut>"), "{case}: {body}");
        assert!(
            !body.contains('\0') && !body.contains("key"),
            "{case}: {body}"
        );
        // The last event answers the call: a JSON-RPC error with its id, saying why.
        let last = body
            .trim_end()
            .rsplit("\n\n")
            .next()
            .and_then(|e| e.lines().find_map(|l| l.strip_prefix("data: ")))
            .unwrap_or_else(|| panic!("{case}: no data in {body}"));
        let v: serde_json::Value = serde_json::from_str(last).unwrap();
        assert_eq!(v["id"], 9, "{case}: {body}");
        assert_eq!(v["error"]["code"], -32603, "{case}: {body}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("not UTF-8"),
            "{case}: {body}"
        );
        if case == "later" {
            // What came before the bad event went on.
            assert!(body.contains("notifications/progress"), "{body}");
        }
    }
    // A GET stream (no request to answer): a comment says why, and the stream ends.
    let h = [
        ("authorization", auth.as_str()),
        ("accept", "text/event-stream"),
        ("x-case", "get"),
    ];
    let (status, _, body) = send(&gw.url("/mcp/fs"), "GET", &h, "").await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.starts_with(": Vigil gateway: the upstream's stream was cut")
            && body.contains("not UTF-8"),
        "{body}"
    );
    let (_, _, metrics) = call("GET", &gw.url("/metrics"), &[], "").await;
    assert!(
        metrics.contains(
            "vigil_gateway_upstream_errors_total{route=\"/mcp/fs\",kind=\"answer_not_utf8\"} 4"
        ),
        "{metrics}"
    );
    assert!(!gw.log_text().contains(&pat));
}
