//! Regression tests for the black-box attack report on `vigil gateway` (gw-blackbox A–O): each
//! attack as the report sent it, over real HTTP on loopback through the `vigil` binary.

use super::*;

/// A token signed with the test secret carrying exactly `claims` (mint itself refuses the odd
/// subjects some of these tests need).
fn raw_token(claims: serde_json::Value) -> String {
    let key = jsonwebtoken::EncodingKey::from_secret(secret().as_bytes());
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &key,
    )
    .unwrap()
}

fn claims(sub: Option<&str>) -> serde_json::Value {
    let mut c = serde_json::json!({"aud": "filesystem", "iat": now(), "exp": now() + 600});
    if let Some(s) = sub {
        c["sub"] = s.into();
    }
    c
}

const LIST: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;

/// `[gateway.scan]` switched off: with no tool rules and no audit, a route reads no MCP message
/// and may tunnel a WebSocket.
pub(super) const SCAN_OFF: &str = "\n[gateway.scan]\narguments = \"off\"\nresults = \"off\"\n";

// A (high): only WebSocket upgrades are tunnelled; h2c, any other protocol and incomplete
// WebSocket requests are refused before the upstream sees them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrades_other_than_websocket_are_refused_and_never_tunnelled() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(dir.path(), &hardened(&up, "", ""), &[]);
    let t = token("filesystem", "mallory");
    for (what, extra) in [
        (
            "h2c",
            "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n",
        ),
        ("foo", "Connection: Upgrade\r\nUpgrade: foo\r\n"),
        (
            "websocket without Connection: upgrade",
            "Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n",
        ),
        (
            "websocket without its key",
            "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n",
        ),
        (
            "websocket and h2c settings",
            "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: websocket\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n",
        ),
        ("h2c settings alone", "Connection: HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n"),
    ] {
        let req = format!(
            "GET /mcp/filesystem/ok HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {t}\r\n{extra}Connection: close\r\n\r\n"
        );
        let answer = gw::raw(gw.addr, req.as_bytes()).await;
        assert_eq!(gw::raw_status(&answer), 400, "{what}: {answer}");
        assert!(answer.contains("upgrade_refused"), "{what}: {answer}");
    }
    assert!(up.seen().is_empty(), "the upstream got {:?}", up.seen());
    // A real WebSocket upgrade is still tunnelled where the gateway reads no MCP message.
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(dir.path(), &hardened(&up, SCAN_OFF, ""), &[]);
    let req = format!(
        "GET /mcp/filesystem/ws HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {t}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    let mut s = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 1024];
    let n = s.read(&mut buf).await.unwrap();
    let head = String::from_utf8_lossy(&buf[..n]);
    assert_eq!(gw::raw_status(&head), 101, "{head}");
}

// bb-gw-s7 #1 (fail-open): a WebSocket tunnel would carry tool calls and results past tool
// rules, secret scanning and the audit; a route with any of them refuses the upgrade, and the
// upstream never sees the request. A route without them still tunnels (above).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_upgrade_is_refused_where_the_gateway_reads_mcp_messages() {
    let up = Upstream::start().await;
    let t = token("filesystem", "mallory");
    for (what, extra, routes) in [
        (
            "tool rules",
            "",
            "[[gateway.routes.tools]]\nname = \"delete_*\"\nscopes = [\"fs:write\"]\n",
        ),
        ("scanning", "\n[gateway.scan]\narguments = \"block\"\n", ""),
        (
            "audit",
            "\n[gateway.audit]\npath = \"tools.jsonl\"\nflush_interval = \"20ms\"\n",
            "",
        ),
    ] {
        let dir = TempDir::new().unwrap();
        let gw = Gateway::start(dir.path(), &hardened(&up, extra, routes), &[]);
        let req = format!(
            "GET /mcp/filesystem/ws HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {t}\r\nConnection: Upgrade, close\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        let answer = gw::raw(gw.addr, req.as_bytes()).await;
        assert_eq!(gw::raw_status(&answer), 400, "{what}: {answer}");
        assert!(answer.contains("upgrade_refused"), "{what}: {answer}");
    }
    assert!(up.seen().is_empty(), "the upstream got {:?}", up.seen());
}

// B: client-IP and forwarding headers, in any spelling and any number, never reach the
// upstream; L: nor does `Expect` or a token in `?access_token=`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_ip_and_forwarding_headers_never_reach_the_upstream() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(dir.path(), &hardened(&up, "", ""), &[]);
    let t = token("filesystem", "mallory");
    let spoofed = [
        "X-Real-IP",
        "True-Client-IP",
        "CF-Connecting-IP",
        "X-Client-IP",
        "X-Cluster-Client-IP",
        "Fastly-Client-IP",
        "Client-IP",
        "X-Originating-IP",
        "X-Original-URL",
        "X-Rewrite-URL",
        "Via",
        "Proxy-Connection",
        "True_Client_IP",
        "X_Real_IP",
    ];
    // RFC 6750's query parameter, in two spellings (built here: no token-shaped text in source).
    let (name, upper) = ("access_token", "ACCESS_TOKEN");
    let mut req = format!(
        "GET /mcp/filesystem/who?{name}={}&x=1&{upper}={} HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {t}\r\nConnection: close\r\n",
        "q".repeat(3),
        "z"
    );
    for h in spoofed {
        req.push_str(&format!("{h}: 10.0.0.4\r\n{h}: 10.0.0.5\r\n"));
    }
    req.push_str("\r\n");
    let answer = gw::raw(gw.addr, req.as_bytes()).await;
    assert_eq!(gw::raw_status(&answer), 200, "{answer}");
    let seen = up.seen().pop().unwrap();
    for h in spoofed {
        assert!(
            !seen.headers.contains_key(h.to_ascii_lowercase().as_str()),
            "{h} reached the upstream: {:?}",
            seen.headers
        );
    }
    assert_eq!(seen.headers["x-forwarded-for"], "127.0.0.1");
    assert_eq!(
        seen.uri, "/mcp/who?x=1",
        "the token in the query was forwarded"
    );
    // `Expect: 100-continue` is answered by the gateway, never sent upstream.
    let body = LIST;
    let req = format!(
        "POST /mcp/filesystem HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {t}\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let answer = gw::raw(gw.addr, req.as_bytes()).await;
    assert!(answer.contains("200 OK"), "{answer}");
    assert!(!up.seen().pop().unwrap().headers.contains_key("expect"));
}

// C: the dev bypass serves loopback clients only: never one that came through a proxy (a
// forwarding header, or trusted_proxies set), and only `1` or `true` switch it on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_bypass_serves_only_loopback_clients_never_through_a_proxy() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(dir.path(), &config(&up, "", ""), &[("MCP_DEV_BYPASS", "1")]);
    let url = gw.url("/mcp/filesystem/x");
    assert_eq!(call("GET", &url, &[], "").await.0, 200);
    for h in [
        "x-forwarded-for",
        "forwarded",
        "x-real-ip",
        "x_forwarded_for",
    ] {
        let (s, _, _) = call("GET", &url, &[(h, "203.0.113.9")], "").await;
        assert_eq!(s, 401, "{h}");
    }
    drop(gw);
    let gw = Gateway::start(
        dir.path(),
        &config(&up, "", "trusted_proxies = [\"127.0.0.1/32\"]"),
        &[("MCP_DEV_BYPASS", "1")],
    );
    assert!(gw.wait_log("MCP_DEV_BYPASS is ignored: trusted_proxies is set"));
    let url = gw.url("/mcp/filesystem/x");
    assert_eq!(call("GET", &url, &[], "").await.0, 401);
    let (s, _, _) = call("GET", &url, &[("x-forwarded-for", "203.0.113.9")], "").await;
    assert_eq!(s, 401);
    drop(gw);
    for value in ["yes", " 1", "on"] {
        let gw = Gateway::start(
            dir.path(),
            &config(&up, "", ""),
            &[("MCP_DEV_BYPASS", value)],
        );
        assert!(
            gw.wait_log("MCP_DEV_BYPASS is ignored: only 1 or true"),
            "{value:?}"
        );
        assert_eq!(
            call("GET", &gw.url("/mcp/filesystem/x"), &[], "").await.0,
            401
        );
    }
}

// D: every body is one JSON-RPC message or batch, read strictly: no prefix a lenient parser
// skips, no media type, lets one pass unread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_body_is_one_strictly_read_json_rpc_message_whatever_its_prefix() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(dir.path(), &hardened(&up, "", ""), &[]);
    let auth = bearer(&token("filesystem", "mallory"));
    let smuggled = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call","params":{"name":"delete_everything"}}"#;
    for prefix in ["\x0c", "\x0b", "\u{a0}", "\u{2028}", ")]}'\n", "\x1c", "x"] {
        for ct in [Some("text/plain"), None, Some("application/json")] {
            let mut h = vec![("authorization", auth.as_str())];
            if let Some(ct) = ct {
                h.push(("content-type", ct));
            }
            let (s, _, answer) = call(
                "POST",
                &gw.url("/mcp/filesystem"),
                &h,
                &format!("{prefix}{smuggled}"),
            )
            .await;
            assert_eq!(s, 400, "{prefix:?} as {ct:?}: {answer}");
        }
    }
    // A scalar is JSON but no message; another media type is not JSON-RPC at all.
    let (s, _, _) = call(
        "POST",
        &gw.url("/mcp/filesystem"),
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        "\"tools/call\"",
    )
    .await;
    assert_eq!(s, 400);
    for ct in [
        "application/octet-stream",
        "application/x-www-form-urlencoded",
        "text/html",
    ] {
        let (s, _, answer) = call(
            "POST",
            &gw.url("/mcp/filesystem"),
            &[("authorization", &auth), ("content-type", ct)],
            smuggled,
        )
        .await;
        assert_eq!(s, 415, "{ct}: {answer}");
    }
    assert!(up.seen().is_empty(), "the upstream got {:?}", up.seen());
    // JSON whitespace in front is JSON: parsed, and passed.
    let (s, _, _) = call(
        "POST",
        &gw.url("/mcp/filesystem"),
        &[("authorization", &auth), ("content-type", "text/plain")],
        &format!(" \r\n\t{LIST}"),
    )
    .await;
    assert_eq!(s, 200);
}

// E: `..%3b`, overlong UTF-8 escapes and empty segments are refused, as `..;` is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encoded_dot_parameters_overlong_escapes_and_empty_segments_are_refused() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(dir.path(), &hardened(&up, "", ""), &[]);
    let t = token("filesystem", "mallory");
    for path in [
        "/mcp/filesystem/x/..%3b/..%3b/etc/passwd",
        "/mcp/filesystem/x/..%3B/etc/passwd",
        "/mcp/filesystem/x/.%3bjsessionid/y",
        "/mcp/filesystem/%c0%ae%c0%ae/x",
        "/mcp/filesystem/%ff",
        "/mcp/filesystem//x",
        "/mcp//filesystem/x",
    ] {
        let req =
            format!("GET {path} HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {t}\r\nConnection: close\r\n\r\n");
        let answer = gw::raw(gw.addr, req.as_bytes()).await;
        assert_eq!(gw::raw_status(&answer), 400, "{path}: {answer}");
    }
    assert!(up.seen().is_empty(), "the upstream got {:?}", up.seen());
    // Valid UTF-8 escapes still pass.
    let req = format!(
        "GET /mcp/filesystem/caf%C3%A9 HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {t}\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(gw::raw_status(&gw::raw(gw.addr, req.as_bytes()).await), 200);
}

// F: the log escapes what a client chose in method and tool, never deletes it, and marks a
// batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn methods_and_tools_are_escaped_in_the_log_and_batches_are_marked() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(dir.path(), &hardened(&up, "", ""), &[]);
    let auth = bearer(&token("filesystem", "mallory"));
    let send = |body: String| {
        let auth = auth.clone();
        let url = gw.url("/mcp/filesystem");
        async move {
            let (s, _, _) = call(
                "POST",
                &url,
                &[
                    ("authorization", &auth),
                    ("content-type", "application/json"),
                ],
                &body,
            )
            .await;
            assert_eq!(s, 200, "{body}");
        }
    };
    let tool = |name: &str| {
        serde_json::json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name": name}})
            .to_string()
    };
    send(tool("read\u{0}rm")).await;
    send(tool("read file")).await;
    send(tool("rm\u{202e}\u{200b}")).await;
    send(tool("\u{1b}[31mrm")).await;
    send(format!(
        "[{},{}]",
        serde_json::json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a"}}),
        serde_json::json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"rm"}})
    ))
    .await;
    send(tool("a,rm")).await;
    for logged in [
        r#""tool":"read\\u0000rm""#,
        r#""tool":"read\\u0020file""#,
        r#""tool":"rm\\u202e\\u200b""#,
        r#""tool":"\\u001b\\u005b31mrm""#,
        r#""rpc_method":"[tools/call,tools/call]","tool":"[a,rm]""#,
        r#""tool":"a\\u002crm""#,
    ] {
        assert!(gw.wait_log(logged), "{logged} not in\n{}", gw.log_text());
    }
}

// G: a subject the upstream could read differently (or not at all) is refused; a token without
// one sends no X-Vigil-Subject; mint refuses such subjects and empty audiences.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subjects_that_are_not_clean_header_values_are_refused() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(dir.path(), &hardened(&up, "", ""), &[]);
    let url = gw.url("/mcp/filesystem/x");
    for sub in [
        "a\r\nb",
        "a\u{0}b",
        "a\u{7f}",
        "\u{1b}[31m",
        "  admin  ",
        "admin\t",
        "",
        "ad\u{202e}min",
    ] {
        let t = raw_token(claims(Some(sub)));
        let (s, h, _) = call("GET", &url, &[("authorization", &bearer(&t))], "").await;
        assert_eq!(s, 401, "{sub:?}");
        let challenge = h["www-authenticate"].to_str().unwrap();
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
        assert!(challenge.contains("subject"), "{challenge}");
    }
    assert!(up.seen().is_empty());
    let t = raw_token(claims(None));
    let (s, _, _) = call("GET", &url, &[("authorization", &bearer(&t))], "").await;
    assert_eq!(s, 200);
    assert!(!up.seen()[0].headers.contains_key("x-vigil-subject"));
    let t = raw_token(claims(Some("-")));
    let (s, _, _) = call("GET", &url, &[("authorization", &bearer(&t))], "").await;
    assert_eq!(s, 200);
    assert_eq!(up.seen()[1].headers["x-vigil-subject"], "-");
    drop(gw);
    for args in [
        &["token", "mint", "--aud", "filesystem", "--sub", "a\r\nb"][..],
        &["token", "mint", "--aud", "filesystem", "--sub", " admin"],
        &["token", "mint", "--aud", "", "--sub", "alice"],
    ] {
        let out = common::vigil(dir.path())
            .args(args)
            .env("MCP_JWT_SECRET", secret())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr_of(&out));
        assert!(out.stdout.is_empty(), "{args:?} printed a token");
    }
}

// J: credentials in an upstream URL are refused at config time and never printed.
#[test]
fn upstream_urls_with_credentials_are_refused_without_printing_them() {
    let dir = TempDir::new().unwrap();
    let pass = format!("pw{}", &secret()[..12]);
    std::fs::write(
        dir.path().join("vigil.toml"),
        format!("[gateway]\n\n[[gateway.routes]]\npath = \"/mcp/fs\"\nupstream = \"http://user:{pass}@127.0.0.1:9002/base\"\n"),
    )
    .unwrap();
    for args in [
        &["gateway", "check"][..],
        &["gateway", "--listen", "127.0.0.1:0"],
    ] {
        let out = common::vigil(dir.path())
            .args(args)
            .env("MCP_JWT_SECRET", secret())
            .env_remove("MCP_DEV_BYPASS")
            .timeout(Duration::from_secs(20))
            .output()
            .unwrap();
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("gateway.routes[0].upstream"), "{err}");
        assert!(err.contains("credentials"), "{err}");
        assert!(!err.contains(&pass), "the password was printed: {err}");
    }
}

// L: heads the router and an upstream could read differently are refused; M: a claim
// mismatch is `invalid_token`, and the upstream's own CORS headers never reach the client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ambiguous_heads_are_refused_and_claims_are_invalid_token() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(
        dir.path(),
        &hardened(&up, "", "claims = { tenant = \"acme\" }"),
        &[],
    );
    let t = token("filesystem", "mallory");
    for (what, head) in [
        ("two hosts", format!("GET /mcp/filesystem/x HTTP/1.1\r\nHost: gw\r\nHost: other\r\nAuthorization: Bearer {t}\r\n")),
        ("absolute form", format!("GET http://other.example/mcp/filesystem/x HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {t}\r\n")),
        ("no host", format!("GET /mcp/filesystem/x HTTP/1.1\r\nAuthorization: Bearer {t}\r\n")),
        ("two sessions", format!("GET /mcp/filesystem/x HTTP/1.1\r\nHost: gw\r\nMcp-Session-Id: a\r\nMcp-Session-Id: b\r\nAuthorization: Bearer {t}\r\n")),
    ] {
        let answer = gw::raw(gw.addr, format!("{head}Connection: close\r\n\r\n").as_bytes()).await;
        assert_eq!(gw::raw_status(&answer), 400, "{what}: {answer}");
    }
    assert!(up.seen().is_empty(), "the upstream got {:?}", up.seen());
    let (s, h, _) = call(
        "GET",
        &gw.url("/mcp/filesystem/x"),
        &[("authorization", &bearer(&t))],
        "",
    )
    .await;
    assert_eq!(s, 401);
    assert!(h["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("error=\"invalid_token\""));
}

// H: a subject chosen to ping everyone reaches the webhook inert: no mentions allowed, Discord
// markup and Slack control sequences escaped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_alerts_never_ping_anyone_whatever_the_subject() {
    let up = Upstream::start().await;
    let hook = Webhook::start().await;
    let dir = TempDir::new().unwrap();
    let cfg = hardened(
        &up,
        &format!(
            "[gateway.alerts]\ntoken_expiry = \"30m\"\nwebhook_url = \"{}\"",
            hook.url
        ),
        "",
    );
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let sub = "@everyone <@&123> <!channel> `x` & done";
    let t = token_with(
        &secret(),
        "filesystem",
        sub,
        now() - 3000,
        3600,
        serde_json::json!({}),
    );
    let (s, _, _) = call(
        "GET",
        &gw.url("/mcp/filesystem/x"),
        &[("authorization", &bearer(&t))],
        "",
    )
    .await;
    assert_eq!(s, 200);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while hook.got.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let got = hook.got.lock().unwrap().clone();
    let post = got
        .iter()
        .find(|g| g["alert"]["alert"] == "token_expiring")
        .unwrap_or_else(|| panic!("no token_expiring post: {got:?}"));
    assert_eq!(post["allowed_mentions"], serde_json::json!({"parse": []}));
    let content = post["content"].as_str().unwrap();
    assert!(!content.contains("@everyone"), "{content}");
    assert!(!content.contains("<@&123>"), "{content}");
    assert!(content.contains("\\<@\u{200b}&123\\>"), "{content}");
    let text = post["text"].as_str().unwrap();
    assert!(text.contains("&lt;!channel&gt;"), "{text}");
    assert!(text.contains("&amp; done"), "{text}");
    assert!(!text.contains('<'), "{text}");
    // The alert itself keeps the subject as it was, for machines.
    assert_eq!(post["alert"]["subject"], sub);

    // bb-gw-s7 #5 / bb-gw-s8 N4: a secret in the subject never reaches the webhook in clear.
    let pat = common::token("GITHUB_TOKEN=«ghp_{alnum:30}{ghcrc}»", 77);
    let t = token_with(
        &secret(),
        "filesystem",
        &format!("u_{pat}"),
        now() - 3000,
        3600,
        serde_json::json!({}),
    );
    let (s, _, _) = call(
        "GET",
        &gw.url("/mcp/filesystem/x"),
        &[("authorization", &bearer(&t))],
        "",
    )
    .await;
    assert_eq!(s, 200);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while hook.got.lock().unwrap().len() < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let got = hook.got.lock().unwrap().clone();
    assert!(got.len() >= 2, "{got:?}");
    let all = serde_json::to_string(&got).unwrap();
    assert!(!all.contains(&pat), "{all}");
    assert!(all.contains("[REDACTED:github-pat]"), "{all}");
}

// O: the non-loopback weak-secret refusal names the variable (the log redactor used to eat it),
// an entropy estimate is never "-0 bits", and a template's placeholder sentence is a default.
#[test]
fn weak_secret_refusals_name_the_variable_everywhere() {
    let dir = TempDir::new().unwrap();
    std::fs::write(
        dir.path().join("vigil.toml"),
        "[gateway]\n\n[[gateway.routes]]\npath = \"/mcp/filesystem\"\nupstream = \"http://127.0.0.1:9\"\n",
    )
    .unwrap();
    // A template's placeholder sentence, built here (never a literal secret in the source).
    let placeholder = [
        "your",
        "secret",
        "key",
        "here",
        "change",
        "in",
        "production",
        "please",
        "32",
    ]
    .join("-");
    for (value, says) in [
        ("changeme", "MCP_JWT_SECRET is a well-known default"),
        ("zzzzzzzz", "MCP_JWT_SECRET has about 0 bits"),
        (
            placeholder.as_str(),
            "MCP_JWT_SECRET is a well-known default",
        ),
    ] {
        for args in [
            &[
                "gateway",
                "check",
                "--listen",
                "0.0.0.0:8443",
                "--allow-weak-secret",
            ][..],
            &["gateway", "check"],
        ] {
            let out = common::vigil(dir.path())
                .args(args)
                .env("MCP_JWT_SECRET", value)
                .env_remove("MCP_JWT_SECRET_PREVIOUS")
                .env_remove("MCP_DEV_BYPASS")
                .timeout(Duration::from_secs(20))
                .output()
                .unwrap();
            let err = stderr_of(&out);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
            assert!(err.contains(says), "{args:?}: {err}");
            assert!(
                !err.contains("REDACTED") && !err.contains("-0 bits"),
                "{err}"
            );
        }
    }
}

// K: on a wildcard listener /metrics is loopback-only unless opened on purpose, and a missing
// public_url is said at start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_on_a_wildcard_listener_default_to_loopback_and_public_url_is_asked_for() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start_args(
        dir.path(),
        &hardened(&up, "", ""),
        &[],
        &["--listen", "0.0.0.0:0"],
    );
    assert!(
        gw.wait_log("/metrics is served to loopback only"),
        "{}",
        gw.log_text()
    );
    assert!(gw.wait_log("add public_url"), "{}", gw.log_text());
    let port = gw.addr.port();
    let (s, _, _) = call("GET", &format!("http://127.0.0.1:{port}/metrics"), &[], "").await;
    assert_eq!(s, 200);
    // From this machine's own non-loopback address, when it has one: refused.
    let probe = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    if probe.connect("192.0.2.1:9").is_ok() {
        let ip = probe.local_addr().unwrap().ip();
        if !ip.is_loopback() && !ip.is_unspecified() {
            let (s, _, _) = call("GET", &format!("http://{ip}:{port}/metrics"), &[], "").await;
            assert_eq!(s, 403, "{ip}");
        }
    }
}

// M: the gateway owns CORS: an upstream's own `Access-Control-*` headers never reach a client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstreams_own_cors_headers_are_dropped() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let answer = "HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\nAccess-Control-Allow-Credentials: true\r\nAccess-Control-Expose-Headers: *\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
                let _ = s.write_all(answer.as_bytes()).await;
            });
        }
    });
    let dir = TempDir::new().unwrap();
    let cfg = format!(
        "[gateway]\nlisten = \"127.0.0.1:8443\"\n\n[[gateway.routes]]\npath = \"/mcp/filesystem\"\nupstream = \"http://{addr}/mcp\"\naudience = \"filesystem\"\n"
    );
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let t = token("filesystem", "mallory");
    let (s, h, _) = call(
        "GET",
        &gw.url("/mcp/filesystem/x"),
        &[
            ("authorization", &bearer(&t)),
            ("origin", "https://evil.example"),
        ],
        "",
    )
    .await;
    // An Origin not on the route's list is refused before the upstream...
    assert_eq!(s, 403);
    // ...and without one, the upstream's CORS headers are dropped.
    let (s, h2, _) = call(
        "GET",
        &gw.url("/mcp/filesystem/x"),
        &[("authorization", &bearer(&t))],
        "",
    )
    .await;
    assert_eq!(s, 200);
    for h in [&h, &h2] {
        assert!(
            !h.keys().any(|k| k.as_str().starts_with("access-control-")),
            "{h:?}"
        );
    }
}

// N: an idle keep-alive connection closed by header_timeout is not a slow request head; a head
// that does not arrive in time still is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_keep_alive_connections_are_not_counted_as_slow_heads() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(
        dir.path(),
        &hardened(&up, "header_timeout = \"1s\"", ""),
        &[],
    );
    let mut s = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // Idle: the gateway closes the connection after header_timeout.
    let closed = tokio::time::timeout(Duration::from_secs(8), async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the idle connection stayed open");
    // A head that never completes is counted.
    let mut slow = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: gw\r\nX-Slow: 1")
        .await
        .unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(8), slow.read(&mut buf)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, _, metrics) = call("GET", &gw.url("/metrics"), &[], "").await;
    assert!(
        metrics.contains("vigil_gateway_malformed_requests_total{reason=\"header_timeout\"} 1\n"),
        "{metrics}"
    );
}

// O: `gateway check` and the gateway refuse a previous secret equal to the current one, as
// check-config does.
#[test]
fn a_previous_secret_equal_to_the_current_one_is_refused() {
    let dir = TempDir::new().unwrap();
    std::fs::write(
        dir.path().join("vigil.toml"),
        "[gateway]\n\n[[gateway.routes]]\npath = \"/mcp/filesystem\"\nupstream = \"http://127.0.0.1:9\"\n",
    )
    .unwrap();
    for args in [
        &["gateway", "check"][..],
        &["gateway", "--listen", "127.0.0.1:0"],
    ] {
        let out = common::vigil(dir.path())
            .args(args)
            .env("MCP_JWT_SECRET", secret())
            .env("MCP_JWT_SECRET_PREVIOUS", secret())
            .env_remove("MCP_DEV_BYPASS")
            .timeout(Duration::from_secs(20))
            .output()
            .unwrap();
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("MCP_JWT_SECRET_PREVIOUS equals MCP_JWT_SECRET"),
            "{args:?}: {err}"
        );
        assert!(!err.contains(&secret()), "{err}");
    }
}
