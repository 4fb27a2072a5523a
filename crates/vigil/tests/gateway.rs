//! `vigil gateway` end to end: the real binary between real HTTP clients and a small MCP server
//! on loopback. Auth (401/403 with RFC 6750 challenges, RFC 9728 metadata, no token passthrough),
//! MCP Streamable HTTP (JSON, SSE streamed unbuffered, GET streams, DELETE, session headers),
//! WebSocket tunnels, rate limits, CORS and Origin, health and metrics, alerts with a webhook,
//! access logs without arguments, config errors, insecure binds, dev bypass, SIGTERM draining,
//! SIGHUP reload, TLS termination (with HSTS, certificates reloaded on SIGHUP), and good clients
//! served through a flood of bad tokens and slow-loris clients.

mod common;
mod gw;

use common::{expect_exit, run};
use gw::{bearer, call, now, secret, token, token_with, Gateway, Upstream, Webhook};
use http_body_util::BodyExt;
use std::time::Duration;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn config(up: &Upstream, extra_route: &str, extra: &str) -> String {
    format!(
        "[gateway]\nlisten = \"127.0.0.1:8443\"\n{extra}\n\n[[gateway.routes]]\npath = \"/mcp/filesystem\"\n\
         upstream = \"http://{}/mcp\"\naudience = \"filesystem\"\n{extra_route}\n",
        up.addr
    )
}

const MCP: &str = "application/json, text/event-stream";

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
async fn bad_tokens_are_refused_with_a_challenge_and_metrics_count_them() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let old_secret = {
        let mut b = [0u8; 32];
        getrandom::fill(&mut b).unwrap();
        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
    };
    let cfg = config(&up, "", "")
        + "\n[[gateway.routes]]\npath = \"/mcp/git\"\nupstream = \"http://"
        + &up.addr.to_string()
        + "\"\nscopes = [\"git:read\"]\n";
    let gw = Gateway::start(
        dir.path(),
        &cfg,
        &[("MCP_JWT_SECRET_PREVIOUS", old_secret.as_str())],
    );
    let url = gw.url("/mcp/filesystem/x");
    let metadata = gw.url("/.well-known/oauth-protected-resource/mcp/filesystem");

    let (status, h, _) = call("GET", &url, &[], "").await;
    assert_eq!(status, 401);
    assert_eq!(
        h["www-authenticate"],
        format!("Bearer resource_metadata=\"{metadata}\"").as_str()
    );

    let forged = token_with(
        &"f".repeat(64),
        "filesystem",
        "mallory",
        now(),
        900,
        serde_json::json!({}),
    );
    let expired = token_with(
        &secret(),
        "filesystem",
        "alice",
        now() - 7200,
        900,
        serde_json::json!({}),
    );
    let wrong_aud = token("memory", "alice");
    let none = {
        use base64::Engine;
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.",
            e.encode(r#"{"alg":"none","typ":"JWT"}"#),
            e.encode(format!(
                r#"{{"aud":"filesystem","sub":"x","exp":{}}}"#,
                now() + 600
            ))
        )
    };
    for (t, reason) in [
        (forged.as_str(), "bad signature"),
        (expired.as_str(), "expired"),
        (wrong_aud.as_str(), "wrong audience"),
        (none.as_str(), "unsigned token"),
        ("not-a-jwt", "malformed"),
    ] {
        let (status, h, body) = call("GET", &url, &[("authorization", &bearer(t))], "").await;
        assert_eq!(status, 401, "{reason}: {body}");
        let c = h["www-authenticate"].to_str().unwrap();
        assert!(
            c.starts_with("Bearer error=\"invalid_token\", error_description=\""),
            "{c}"
        );
        assert!(c.contains(reason), "{reason} in {c}");
        assert!(
            c.ends_with(&format!("resource_metadata=\"{metadata}\"")),
            "{c}"
        );
    }
    let (status, h, _) = call("GET", &url, &[("authorization", "Basic dXNlcjpwdw==")], "").await;
    assert_eq!(status, 401);
    assert!(h["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("invalid_request"));

    // The previous secret still verifies during a rotation.
    let old = token_with(
        &old_secret,
        "filesystem",
        "bob",
        now(),
        900,
        serde_json::json!({}),
    );
    assert_eq!(
        call("GET", &url, &[("authorization", &bearer(&old))], "")
            .await
            .0,
        200
    );

    // Scopes: 403 insufficient_scope without, 200 with.
    let git = gw.url("/mcp/git/log");
    let plain = token("git", "carol");
    let (status, h, _) = call("GET", &git, &[("authorization", &bearer(&plain))], "").await;
    assert_eq!(status, 403);
    let c = h["www-authenticate"].to_str().unwrap();
    assert!(
        c.contains("error=\"insufficient_scope\"") && c.contains("scope=\"git:read\""),
        "{c}"
    );
    let scoped = token_with(
        &secret(),
        "git",
        "carol",
        now(),
        900,
        serde_json::json!({"scope": "git:read git:write"}),
    );
    assert_eq!(
        call("GET", &git, &[("authorization", &bearer(&scoped))], "")
            .await
            .0,
        200
    );

    // RFC 9728 metadata, health and metrics answer without a token.
    let (status, _, body) = call("GET", &metadata, &[], "").await;
    assert_eq!(status, 200);
    let m: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(m["resource"], gw.url("/mcp/filesystem"));
    assert_eq!(m["bearer_methods_supported"], serde_json::json!(["header"]));
    let git_meta: serde_json::Value = serde_json::from_str(
        &call(
            "GET",
            &gw.url("/.well-known/oauth-protected-resource/mcp/git"),
            &[],
            "",
        )
        .await
        .2,
    )
    .unwrap();
    assert_eq!(
        git_meta["scopes_supported"],
        serde_json::json!(["git:read"])
    );
    assert_eq!(call("GET", &gw.url("/healthz"), &[], "").await.0, 200);
    let (status, _, ready) = call("GET", &gw.url("/readyz"), &[], "").await;
    assert_eq!(status, 200, "{ready}");
    let (_, _, metrics) = call("GET", &gw.url("/metrics"), &[], "").await;
    for line in [
        "vigil_gateway_auth_failures_total{reason=\"missing\"} 1",
        "vigil_gateway_auth_failures_total{reason=\"bad_signature\"} 1",
        "vigil_gateway_auth_failures_total{reason=\"expired\"} 1",
        "vigil_gateway_auth_failures_total{reason=\"wrong_audience\"} 1",
        "vigil_gateway_auth_failures_total{reason=\"alg_none\"} 1",
        "vigil_gateway_auth_failures_total{reason=\"scope\"} 1",
        "vigil_gateway_requests_total{route=\"/mcp/filesystem\",status=\"401\"} 7",
        "vigil_gateway_requests_total{route=\"/mcp/filesystem\",status=\"200\"} 1",
        "vigil_gateway_token_time_to_expiry_seconds_count 2",
    ] {
        assert!(metrics.contains(line), "{line} missing from\n{metrics}");
    }
    assert!(metrics.contains("vigil_gateway_request_duration_seconds_bucket"));
    for t in [&forged, &expired, &old, &scoped] {
        assert!(!gw.log_text().contains(t.as_str()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_answer_429_at_the_configured_rate_and_not_before() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let cfg = config(
        &up,
        "rate_limit = { per_ip = \"60/minute\", burst = 3 }",
        "trusted_proxies = [\"127.0.0.1\"]\n[gateway.rate_limit]\nper_ip = \"5/minute\"",
    ) + &format!(
        "\n[[gateway.routes]]\npath = \"/mcp/memory\"\nupstream = \"http://{0}\"\n\
         \n[[gateway.routes]]\npath = \"/mcp/vector\"\nupstream = \"http://{0}\"\n\
         rate_limit = {{ per_subject = \"2/minute\" }}\n",
        up.addr
    );
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let mem = gw.url("/mcp/memory/x");
    let t = token("memory", "dana");
    let a = bearer(&t);
    // The default: 5 a minute per IP, the whole window as burst: five pass, the sixth waits.
    for i in 0..5 {
        let (s, _, b) = call("GET", &mem, &[("authorization", &a)], "").await;
        assert_eq!(s, 200, "request {i}: {b}");
    }
    let (s, h, _) = call("GET", &mem, &[("authorization", &a)], "").await;
    assert_eq!(s, 429);
    let wait: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=12).contains(&wait), "retry-after {wait}");
    // Another client IP (through the trusted proxy) has its own allowance.
    let other = [
        ("authorization", a.as_str()),
        ("x-forwarded-for", "203.0.113.5"),
    ];
    assert_eq!(call("GET", &mem, &other, "").await.0, 200);

    // The filesystem route: 60/minute with a burst of 3: three pass, the fourth waits about a
    // second, and one more passes once that second is over.
    let fs = gw.url("/mcp/filesystem/x");
    let ft = token("filesystem", "erin");
    let ip = [
        ("authorization", bearer(&ft)),
        ("x-forwarded-for", "198.51.100.1".to_owned()),
    ];
    let ip: Vec<(&str, &str)> = ip.iter().map(|(k, v)| (*k, v.as_str())).collect();
    for _ in 0..3 {
        assert_eq!(call("GET", &fs, &ip, "").await.0, 200);
    }
    let (s, h, _) = call("GET", &fs, &ip, "").await;
    assert_eq!(s, 429);
    assert_eq!(h["retry-after"], "1");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(call("GET", &fs, &ip, "").await.0, 200);
    // Per subject (2 a minute on /mcp/vector): a third request fails from any address.
    let vec_url = gw.url("/mcp/vector/q");
    let vt = bearer(&token("vector", "kim"));
    for ip in ["192.0.2.1", "192.0.2.2"] {
        assert_eq!(
            call(
                "GET",
                &vec_url,
                &[("authorization", &vt), ("x-forwarded-for", ip)],
                ""
            )
            .await
            .0,
            200
        );
    }
    let (s, _, body) = call(
        "GET",
        &vec_url,
        &[("authorization", &vt), ("x-forwarded-for", "192.0.2.3")],
        "",
    )
    .await;
    assert_eq!(s, 429, "{body}");

    let (_, _, metrics) = call("GET", &gw.url("/metrics"), &[], "").await;
    assert!(
        metrics.contains("vigil_gateway_rate_limited_total{route=\"/mcp/memory\",kind=\"ip\"} 1"),
        "{metrics}"
    );
    assert!(metrics
        .contains("vigil_gateway_rate_limited_total{route=\"/mcp/filesystem\",kind=\"ip\"} 1"));
    assert!(metrics
        .contains("vigil_gateway_rate_limited_total{route=\"/mcp/vector\",kind=\"subject\"} 1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsers_get_cors_for_allowed_origins_and_403_for_others() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let cfg = config(
        &up,
        "cors = { origins = [\"https://app.example\"], max_age = \"5m\" }",
        "allowed_origins = [\"http://localhost:6274\"]",
    );
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let url = gw.url("/mcp/filesystem");
    let (s, h, _) = call(
        "OPTIONS",
        &url,
        &[
            ("origin", "https://app.example"),
            ("access-control-request-method", "POST"),
            (
                "access-control-request-headers",
                "authorization, content-type, mcp-session-id",
            ),
        ],
        "",
    )
    .await;
    assert_eq!(s, 204);
    assert_eq!(h["access-control-allow-origin"], "https://app.example");
    assert!(h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .contains("mcp-session-id"));
    assert!(h["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
    assert_eq!(h["access-control-max-age"], "300");
    // DNS rebinding: a page from another origin is refused before auth.
    let (s, _, body) = call(
        "POST",
        &url,
        &[
            ("origin", "http://evil.example"),
            ("content-type", "application/json"),
        ],
        "{}",
    )
    .await;
    assert_eq!(s, 403);
    assert!(body.contains("origin_not_allowed"));
    let (s, _, _) = call(
        "OPTIONS",
        &url,
        &[
            ("origin", "http://evil.example"),
            ("access-control-request-method", "POST"),
        ],
        "",
    )
    .await;
    assert_eq!(s, 403);
    // Allowed origins (the route's and the gateway-wide one) get CORS headers on real answers.
    let t = token("filesystem", "fay");
    for origin in ["https://app.example", "http://localhost:6274"] {
        let (s, h, _) = call(
            "GET",
            &url,
            &[("origin", origin), ("authorization", &bearer(&t))],
            "",
        )
        .await;
        assert_eq!(s, 200);
        assert_eq!(h["access-control-allow-origin"], origin);
        assert_eq!(h["access-control-expose-headers"], "Mcp-Session-Id");
    }
    assert!(
        up.seen().iter().all(|s| s.method != "OPTIONS"),
        "preflights stay at the gateway"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_fire_once_per_window_and_reach_the_webhook_without_tokens() {
    let up = Upstream::start().await;
    let hook = Webhook::start().await;
    let dir = TempDir::new().unwrap();
    let cfg = config(
        &up,
        "",
        &format!(
            "[gateway.alerts]\nauth_failures_per_minute = 3\nauth_failures_per_ip_per_minute = 50\n\
             requests_per_ip_per_minute = 1000\ntoken_expiry = \"1h\"\nwebhook_url = \"{}\"",
            hook.url
        ),
    );
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let url = gw.url("/mcp/filesystem");
    let forged = token_with(
        &"0".repeat(64),
        "filesystem",
        "m",
        now(),
        900,
        serde_json::json!({}),
    );
    for _ in 0..6 {
        assert_eq!(
            call("GET", &url, &[("authorization", &bearer(&forged))], "")
                .await
                .0,
            401
        );
    }
    // A valid long-lived token now expiring within the hour fires token_expiring, once per
    // subject and window.
    let t = token_with(
        &secret(),
        "filesystem",
        "gus",
        now() - 3 * 3600 - 1800,
        4 * 3600,
        serde_json::json!({}),
    );
    for _ in 0..2 {
        assert_eq!(
            call("GET", &url, &[("authorization", &bearer(&t))], "")
                .await
                .0,
            200
        );
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while hook.got.lock().unwrap().len() < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = hook.got.lock().unwrap().clone();
    let kinds: Vec<&str> = got
        .iter()
        .map(|g| g["alert"]["alert"].as_str().unwrap())
        .collect();
    // Fired at most once per minute window; a window boundary during the test could repeat one.
    assert!(
        kinds.contains(&"auth_failures") && kinds.contains(&"token_expiring"),
        "{kinds:?}"
    );
    assert!(kinds.len() <= 4, "{kinds:?}");
    for g in &got {
        let text = g.to_string();
        assert!(g["content"]
            .as_str()
            .unwrap()
            .starts_with("[vigil gateway]"));
        assert_eq!(g["content"], g["text"]);
        assert!(
            !text.contains(&forged) && !text.contains(&t),
            "token in an alert"
        );
    }
    let (_, _, metrics) = call("GET", &gw.url("/metrics"), &[], "").await;
    assert!(
        metrics.contains("vigil_gateway_alerts_total{alert=\"auth_failures\"}"),
        "{metrics}"
    );
    assert!(gw.log_text().contains("\"alert\":\"auth_failures\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_upgrades_are_tunnelled_after_auth() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(dir.path(), &config(&up, "", ""), &[]);
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
async fn good_clients_are_served_through_a_bad_token_flood_and_slow_loris() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let cfg = config(
        &up,
        "",
        "trusted_proxies = [\"127.0.0.1\"]\nheader_timeout = \"2s\"",
    );
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let addr = gw.addr;
    // 64 slow-loris connections: a request head sent one byte every 300 ms, never finished.
    let mut loris = Vec::new();
    for _ in 0..64 {
        loris.push(tokio::spawn(async move {
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            let head = b"GET /mcp/filesystem HTTP/1.1\r\nHost: x\r\nX-Slow: ";
            let started = std::time::Instant::now();
            for b in head
                .iter()
                .chain(b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".iter())
            {
                if s.write_all(&[*b]).await.is_err() {
                    return started.elapsed();
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
                let mut probe = [0u8; 64];
                if let Ok(Ok(0)) =
                    tokio::time::timeout(Duration::from_millis(1), s.read(&mut probe)).await
                {
                    return started.elapsed();
                }
            }
            Duration::MAX
        }));
    }
    // Two flooders with forged tokens from many addresses (behind the trusted proxy).
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut flood = Vec::new();
    for f in 0..2u8 {
        let stop = stop.clone();
        let url = gw.url("/mcp/filesystem");
        flood.push(tokio::spawn(async move {
            let forged = token_with(
                &"e".repeat(64),
                "filesystem",
                "x",
                now(),
                900,
                serde_json::json!({}),
            );
            let a = bearer(&forged);
            let mut n = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && n < 5000 {
                let ip = format!("203.0.{f}.{}", n % 250);
                let (s, _, _) = call(
                    "GET",
                    &url,
                    &[("authorization", &a), ("x-forwarded-for", &ip)],
                    "",
                )
                .await;
                assert!(s == 401 || s == 429);
                n += 1;
            }
            n
        }));
    }
    let t = token("filesystem", "ivy");
    let a = bearer(&t);
    for i in 0..40 {
        let got = tokio::time::timeout(
            Duration::from_secs(3),
            call(
                "GET",
                &gw.url("/mcp/filesystem/ok"),
                &[("authorization", &a), ("x-forwarded-for", "198.51.100.77")],
                "",
            ),
        )
        .await
        .unwrap_or_else(|_| panic!("good request {i} starved"));
        assert_eq!(got.0, 200, "good request {i}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut bad = 0;
    for f in flood {
        bad += f.await.unwrap();
    }
    assert!(bad > 100, "the flood ran ({bad} requests)");
    // Slow heads are cut off at the 2 s header timeout, not left open.
    for l in loris {
        let lived = l.await.unwrap();
        assert!(
            lived < Duration::from_secs(6),
            "slow-loris connection lived {lived:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_in_flight_requests_and_sighup_reloads_on_open_connections() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let mut gw = Gateway::start(dir.path(), &config(&up, "", ""), &[]);
    let t = token("filesystem", "jo");
    let a = bearer(&t);

    // One kept-alive connection across the reload.
    let stream = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    // HTTP/1.1 on one connection: wait until it is ready, read each answer to its end.
    async fn status(
        sender: &mut hyper::client::conn::http1::SendRequest<http_body_util::Empty<bytes::Bytes>>,
        req: http::Request<http_body_util::Empty<bytes::Bytes>>,
    ) -> u16 {
        sender.ready().await.unwrap();
        let resp = sender.send_request(req).await.unwrap();
        let code = resp.status().as_u16();
        resp.into_body().collect().await.unwrap();
        code
    }
    let get = |path: &str| {
        http::Request::get(path)
            .header("host", "gw")
            .header("authorization", &a)
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .unwrap()
    };
    assert_eq!(status(&mut sender, get("/mcp/filesystem/a")).await, 200);
    assert_eq!(status(&mut sender, get("/mcp/tools/a")).await, 404);
    // Add a route and reload.
    let cfg = config(&up, "", "")
        + &format!(
            "\n[[gateway.routes]]\npath = \"/mcp/tools\"\nupstream = \"http://{}\"\n",
            up.addr
        );
    std::fs::write(dir.path().join("vigil.toml"), cfg).unwrap();
    gw.signal("HUP");
    assert!(gw.wait_log("configuration and keys reloaded"));
    let tools = token("tools", "jo");
    let req = http::Request::get("/mcp/tools/a")
        .header("host", "gw")
        .header("authorization", bearer(&tools))
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    assert_eq!(
        status(&mut sender, req).await,
        200,
        "same connection, new route"
    );

    // A broken configuration on reload keeps the running one.
    std::fs::write(dir.path().join("vigil.toml"), "[gateway]\nlisten = 5\n").unwrap();
    gw.signal("HUP");
    assert!(gw.wait_log("reload failed"));
    assert_eq!(status(&mut sender, get("/mcp/filesystem/b")).await, 200);

    // The token was accepted (and remembered) under the old rules; a reload that makes the route
    // require a scope applies to it at once.
    std::fs::write(
        dir.path().join("vigil.toml"),
        config(&up, "scopes = [\"fs:write\"]", ""),
    )
    .unwrap();
    gw.signal("HUP");
    assert!(gw.wait_log_n("configuration and keys reloaded", 2));
    assert_eq!(status(&mut sender, get("/mcp/filesystem/c")).await, 403);
    std::fs::write(dir.path().join("vigil.toml"), config(&up, "", "")).unwrap();
    gw.signal("HUP");
    assert!(gw.wait_log_n("configuration and keys reloaded", 3));
    assert_eq!(status(&mut sender, get("/mcp/filesystem/d")).await, 200);

    // SIGTERM while a slow request is in flight: it completes, then the process exits 0.
    let (slow_url, a2) = (gw.url("/mcp/filesystem/slow"), a.clone());
    let slow =
        tokio::spawn(async move { call("GET", &slow_url, &[("authorization", &a2)], "").await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    gw.signal("TERM");
    let (s, _, body) = slow.await.unwrap();
    assert_eq!((s.as_u16(), body.as_str()), (200, "slow done"));
    let status = tokio::task::spawn_blocking(move || {
        let st = gw.child.wait().unwrap();
        (st, gw)
    })
    .await
    .unwrap();
    assert!(status.0.success(), "{:?}", status.0);
    // Every request has its access line, the last one (written just before exit) included.
    let gw = status.1;
    let count = || {
        gw.log_text()
            .lines()
            .filter(|l| {
                l.contains("\"target\":\"vigil::access\"")
                    && l.contains("\"route\":\"/mcp/filesystem\"")
            })
            .count()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while count() < 5 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let (fs, lines) = (count(), gw.log_text());
    assert_eq!(fs, 5, "{lines}");
}

#[test]
fn check_validates_and_bad_configs_name_file_line_and_key() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let good = "[gateway]\nlisten = \"127.0.0.1:8443\"\n\n[[gateway.routes]]\npath = \"/mcp/filesystem\"\n\
                upstream = \"http://127.0.0.1:9001\"\naudience = \"filesystem\"\n\n\
                [gateway.rate_limit]\nper_ip = \"100/minute\"\n";
    std::fs::write(d.join("vigil.toml"), good).unwrap();
    let out = common::vigil(d)
        .args(["gateway", "check"])
        .env("MCP_JWT_SECRET", secret())
        .output()
        .unwrap();
    expect_exit(&out, 0);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("route /mcp/filesystem -> http://127.0.0.1:9001 audience=filesystem auth=bearer per_ip=100/60s burst 100"), "{text}");

    // No key at all: refused.
    let out = common::vigil(d)
        .args(["gateway", "check"])
        .env_remove("MCP_JWT_SECRET")
        .output()
        .unwrap();
    expect_exit(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("no key to verify tokens with (set MCP_JWT_SECRET"));

    for (text, want) in [
        (
            good.replace("100/minute", "lots"),
            "vigil.toml:10: gateway.rate_limit.per_ip: `lots` is not a rate",
        ),
        (
            good.replace("http://127.0.0.1:9001", "ftp://x"),
            "vigil.toml:6: gateway.routes[0].upstream: must be an http:// URL",
        ),
        (good.replace("audience =", "audiense ="), "vigil.toml:"),
        (
            good.replace("listen = \"127.0.0.1:8443\"", "listen = \"here\""),
            "vigil.toml:2: gateway.listen: not an address",
        ),
        (
            good.to_owned() + "\n[gateway.tls]\ncert = \"missing.pem\"\nkey = \"k.pem\"\n",
            "vigil.toml:13: gateway.tls.cert: ",
        ),
        (
            good.to_owned() + "\n[gateway.tls]\ncert = \"c.pem\"\n",
            "vigil.toml:12: gateway.tls.key: missing",
        ),
    ] {
        std::fs::write(d.join("vigil.toml"), &text).unwrap();
        let out = common::vigil(d)
            .args(["gateway", "check"])
            .env("MCP_JWT_SECRET", secret())
            .output()
            .unwrap();
        expect_exit(&out, 2);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with(&format!("vigil: {want}")), "{err}");
        if text.contains("audiense") {
            assert!(
                err.contains("gateway.routes[0]") && err.contains("unknown field `audiense`"),
                "{err}"
            );
        }
    }

    // A non-loopback listener with an unauthenticated route is refused unless asked for.
    let open = good.replace(
        "audience = \"filesystem\"",
        "audience = \"filesystem\"\nauth = false",
    );
    std::fs::write(d.join("vigil.toml"), &open).unwrap();
    let out = common::vigil(d)
        .args(["gateway", "check", "--listen", "0.0.0.0:8443"])
        .env("MCP_JWT_SECRET", secret())
        .output()
        .unwrap();
    expect_exit(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("gateway.routes[0].auth: route /mcp/filesystem has no authentication"));
    let out = common::vigil(d)
        .args([
            "gateway",
            "check",
            "--listen",
            "0.0.0.0:8443",
            "--allow-insecure-bind",
        ])
        .env("MCP_JWT_SECRET", secret())
        .output()
        .unwrap();
    expect_exit(&out, 0);
    let _ = run;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_bypass_works_only_on_loopback_and_says_so() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(dir.path(), &config(&up, "", ""), &[("MCP_DEV_BYPASS", "1")]);
    assert!(gw.wait_log("MCP_DEV_BYPASS is on"));
    let (s, _, _) = call("GET", &gw.url("/mcp/filesystem/x"), &[], "").await;
    assert_eq!(s, 200);
    assert!(gw.wait_log("MCP_DEV_BYPASS: request let through"));
    assert_eq!(up.seen()[0].headers["x-vigil-subject"], "dev-bypass");
    drop(gw);
    // On a non-loopback address the bypass is ignored (and said to be).
    let gw = Gateway::start_args(
        dir.path(),
        &config(&up, "", ""),
        &[("MCP_DEV_BYPASS", "1")],
        &["--listen", "0.0.0.0:0"],
    );
    assert!(gw.wait_log("MCP_DEV_BYPASS is ignored"));
    let url = format!("http://127.0.0.1:{}/mcp/filesystem/x", gw.addr.port());
    assert_eq!(call("GET", &url, &[], "").await.0, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_sharing_redis_enforce_one_limit() {
    let up = Upstream::start().await;
    let redis = gw::Redis::start();
    let cfg = config(
        &up,
        "",
        &format!(
            "[gateway.rate_limit]\nper_ip = \"7/minute\"\nbackend = \"redis\"\nurl = \"{}\"",
            redis.redis_url()
        ),
    );
    let (d1, d2) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let a = Gateway::start(d1.path(), &cfg, &[]);
    let b = Gateway::start(d2.path(), &cfg, &[]);
    let t = bearer(&token("filesystem", "lee"));
    // Alternating between the instances: seven pass in all, then both refuse.
    for i in 0..7 {
        let gw = if i % 2 == 0 { &a } else { &b };
        let (s, _, body) = call(
            "GET",
            &gw.url("/mcp/filesystem/x"),
            &[("authorization", &t)],
            "",
        )
        .await;
        assert_eq!(s, 200, "request {i}: {body}");
    }
    for gw in [&a, &b] {
        let (s, h, _) = call(
            "GET",
            &gw.url("/mcp/filesystem/x"),
            &[("authorization", &t)],
            "",
        )
        .await;
        assert_eq!(s, 429);
        let wait: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=9).contains(&wait), "retry-after {wait}");
    }
    // If Redis goes away, each instance keeps limiting on its own (and says so).
    drop(redis);
    let (s, _, _) = call(
        "GET",
        &a.url("/mcp/filesystem/x"),
        &[("authorization", &t)],
        "",
    )
    .await;
    assert_eq!(s, 200, "the local fallback starts with a fresh allowance");
    assert!(a.wait_log("redis rate limit unavailable"));

    // An unreachable Redis at start is a one-line error naming the key.
    let dir = TempDir::new().unwrap();
    let dead = cfg.replace(&format!("127.0.0.1:{}", redis_port(&cfg)), "127.0.0.1:1");
    std::fs::write(dir.path().join("vigil.toml"), dead).unwrap();
    let out = common::vigil(dir.path())
        .args(["gateway", "--listen", "127.0.0.1:0"])
        .env("MCP_JWT_SECRET", secret())
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    expect_exit(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr)
        .starts_with("vigil: gateway.rate_limit.url: cannot reach redis"));
}

fn redis_port(cfg: &str) -> String {
    let at = cfg.find("redis://127.0.0.1:").unwrap() + "redis://127.0.0.1:".len();
    cfg[at..].chars().take_while(char::is_ascii_digit).collect()
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

/// A fresh test CA and a server certificate for 127.0.0.1 signed by it (`cert.pem`, `key.pem` in
/// `dir`); returns the CA certificate, the only root the client trusts.
fn make_cert(dir: &std::path::Path) -> Vec<u8> {
    let openssl = |args: &[&str]| {
        let st = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "openssl {args:?}");
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &["-keyout", "ca.key", "-out", "ca.pem", "-days", "1"],
        ]
        .concat()
        .into_iter()
        .chain(["-subj", "/CN=vigil test CA"])
        .collect::<Vec<_>>(),
    );
    openssl(
        &[
            &["req", "-x509", "-CA", "ca.pem", "-CAkey", "ca.key"][..],
            &ec,
        ]
        .concat()
        .into_iter()
        .chain([
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-addext",
            "extendedKeyUsage=serverAuth",
        ])
        .collect::<Vec<_>>(),
    );
    std::fs::read(dir.join("ca.pem")).unwrap()
}

/// GET or POST over HTTPS trusting only `root`: status, headers and body.
fn https(
    root: &[u8],
    method: &str,
    url: &str,
    auth: Option<&str>,
) -> Result<(u16, http::HeaderMap, String), String> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let root = ureq::tls::Certificate::from_pem(root).unwrap();
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::Specific(std::sync::Arc::new(vec![
            root,
        ])))
        .build();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let mut resp = match method {
        "POST" => {
            let mut r = agent
                .post(url)
                .header("content-type", "application/json")
                .header("accept", "application/json, text/event-stream");
            if let Some(a) = auth {
                r = r.header("authorization", a);
            }
            r.send(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        }
        _ => agent.get(url).call(),
    }
    .map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    Ok((status, headers, body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_is_terminated_with_hsts_and_a_renewed_certificate_is_served_after_sighup() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let first = make_cert(dir.path());
    let gw = Gateway::start(
        dir.path(),
        &config(
            &up,
            "",
            "[gateway.tls]\ncert = \"cert.pem\"\nkey = \"key.pem\"\n",
        ),
        &[],
    );
    let base = format!("https://{}", gw.addr);
    let auth = bearer(&token("filesystem", "tess"));

    let (b, a) = (base.clone(), auth.clone());
    let (root, r2) = (first.clone(), first.clone());
    let (health, call_fs, meta) = tokio::task::spawn_blocking(move || {
        (
            https(&root, "GET", &format!("{b}/healthz"), None),
            https(&root, "POST", &format!("{b}/mcp/filesystem"), Some(&a)),
            https(
                &r2,
                "GET",
                &format!("{b}/.well-known/oauth-protected-resource/mcp/filesystem"),
                None,
            ),
        )
    })
    .await
    .unwrap();
    let (status, h, _) = health.unwrap();
    assert_eq!(status, 200);
    assert!(h["strict-transport-security"]
        .to_str()
        .unwrap()
        .starts_with("max-age="));
    let (status, _, _) = call_fs.unwrap();
    assert_eq!(status, 200);
    let seen = up.seen.lock().unwrap().last().unwrap().headers.clone();
    assert_eq!(seen["x-forwarded-proto"], "https");
    assert!(seen.get("authorization").is_none());
    let m: serde_json::Value = serde_json::from_str(&meta.unwrap().2).unwrap();
    assert_eq!(m["resource"], format!("{base}/mcp/filesystem"));

    // Plain HTTP on the TLS port is not served.
    let mut plain = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: gw\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut got)).await;
    assert!(!got.starts_with(b"HTTP/1.1 200"), "plain HTTP was served");

    // A renewed certificate (new key) is served after SIGHUP; the old one is no longer trusted.
    let second = make_cert(dir.path());
    gw.signal("HUP");
    assert!(gw.wait_log("configuration and keys reloaded"));
    let (b, s2, f2) = (base.clone(), second.clone(), first.clone());
    let (new_ok, old_refused) = tokio::task::spawn_blocking(move || {
        (
            https(&s2, "GET", &format!("{b}/healthz"), None),
            https(&f2, "GET", &format!("{b}/healthz"), None),
        )
    })
    .await
    .unwrap();
    assert_eq!(new_ok.unwrap().0, 200);
    assert!(old_refused.is_err(), "the old certificate is still served");
}

/// A bare HTTP/1.1 upstream answering every request head with `{}` (keep-alive, no
/// `Connection: close`). It counts the connections it accepts; with `close_after`, it closes each
/// connection that long after its first answer without a word, as an upstream's idle timeout does.
async fn counting_upstream(
    close_after: Option<Duration>,
) -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let conns = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = conns.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            counted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        buf.drain(..end + 4);
                        let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
                        if s.write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                        if let Some(after) = close_after {
                            tokio::time::sleep(after).await;
                            return;
                        }
                    }
                    match s.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
            });
        }
    });
    (addr, conns)
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

// ---- Issue 15: hardening found by a black-box attack on the gateway -----------------------

/// A config with routes for the hardening tests: `/mcp/filesystem` → `http://up/mcp`, plus
/// `routes` (more `[[gateway.routes]]` text) and `extra` (more `[gateway]` keys).
fn hardened(up: &Upstream, extra: &str, routes: &str) -> String {
    format!(
        "[gateway]\nlisten = \"127.0.0.1:8443\"\n{extra}\n\n[[gateway.routes]]\npath = \"/mcp/filesystem\"\n\
         upstream = \"http://{}/mcp\"\naudience = \"filesystem\"\n{routes}\n",
        up.addr
    )
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn weak_and_default_secrets_are_refused_by_the_gateway_its_check_and_mint() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("vigil.toml"),
        "[gateway]\n\n[[gateway.routes]]\npath = \"/mcp/filesystem\"\nupstream = \"http://127.0.0.1:9\"\n",
    )
    .unwrap();
    let run = |env: &[(&str, &str)], args: &[&str]| {
        let mut c = common::vigil(d);
        c.args(args)
            .env_remove("MCP_JWT_SECRET")
            .env_remove("MCP_JWT_SECRET_PREVIOUS")
            .env_remove("MCP_DEV_BYPASS")
            .timeout(Duration::from_secs(20));
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    let refused: [&[&str]; 5] = [
        &["gateway", "check"],
        &["gateway", "check", "--listen", "0.0.0.0:8443"],
        &["gateway", "--listen", "0.0.0.0:0"],
        &["gateway", "--listen", "127.0.0.1:0"],
        &["token", "mint", "--aud", "filesystem"],
    ];
    for weak in ["changeme", "a", "        ", "password123"] {
        let env = [("MCP_JWT_SECRET", weak)];
        for args in refused {
            let out = run(&env, args);
            expect_exit(&out, 2);
            let err = stderr_of(&out);
            assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
            assert!(err.contains("MCP_JWT_SECRET"), "{args:?}: {err}");
            if weak.trim().len() > 1 {
                assert!(!err.contains(weak), "the value is quoted: {err}");
            }
            assert!(out.stdout.is_empty(), "{args:?} printed something");
        }
        // --allow-weak-secret: never on a non-loopback listen address...
        for args in [
            &[
                "gateway",
                "check",
                "--listen",
                "0.0.0.0:8443",
                "--allow-weak-secret",
            ][..],
            &["gateway", "--listen", "0.0.0.0:0", "--allow-weak-secret"],
        ] {
            let out = run(&env, args);
            expect_exit(&out, 2);
            assert!(
                stderr_of(&out).contains("--allow-weak-secret"),
                "{}",
                stderr_of(&out)
            );
        }
        // ...on loopback it is accepted, with a warning.
        let out = run(&env, &["gateway", "check", "--allow-weak-secret"]);
        expect_exit(&out, 0);
        assert!(stderr_of(&out).contains("weak"), "{}", stderr_of(&out));
        let out = run(
            &env,
            &[
                "token",
                "mint",
                "--aud",
                "filesystem",
                "--allow-weak-secret",
            ],
        );
        expect_exit(&out, 0);
        assert!(stderr_of(&out).contains("weak"), "{}", stderr_of(&out));
    }
    // The previous secret verifies tokens too: a weak one is refused as well.
    let strong = secret();
    let out = run(
        &[
            ("MCP_JWT_SECRET", strong.as_str()),
            ("MCP_JWT_SECRET_PREVIOUS", "changeme"),
        ],
        &["gateway", "check"],
    );
    expect_exit(&out, 2);
    assert!(stderr_of(&out).contains("MCP_JWT_SECRET_PREVIOUS"));
    // A key file holding a weak secret is named by its path.
    std::fs::write(d.join("jwt.key"), "password123\n").unwrap();
    let out = run(
        &[],
        &[
            "token",
            "mint",
            "--aud",
            "filesystem",
            "--key-file",
            "jwt.key",
        ],
    );
    expect_exit(&out, 2);
    assert!(stderr_of(&out).contains("jwt.key"), "{}", stderr_of(&out));
    // A strong secret passes everywhere.
    let out = run(
        &[("MCP_JWT_SECRET", strong.as_str())],
        &["gateway", "check"],
    );
    expect_exit(&out, 0);
    let out = run(
        &[("MCP_JWT_SECRET", strong.as_str())],
        &["token", "mint", "--aud", "filesystem"],
    );
    expect_exit(&out, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_weak_secret_serves_only_on_loopback_when_allowed_and_says_so() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start_args(
        dir.path(),
        &hardened(&up, "", ""),
        &[("MCP_JWT_SECRET", "changeme")],
        &["--listen", "127.0.0.1:0", "--allow-weak-secret"],
    );
    assert!(gw.wait_log("weak"), "{}", gw.log_text());
    assert!(!gw.log_text().contains("changeme"));
    let t = token_with(
        "changeme",
        "filesystem",
        "dev",
        now(),
        900,
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_headers_cannot_be_spoofed_in_any_spelling_and_two_authorizations_are_refused() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    // The route injects a credential of its own: its `_` spelling is refused as well.
    let injected = secret()[..40].to_owned();
    let route = format!("headers = {{ X-Upstream-Key = \"{injected}\" }}");
    let gw = Gateway::start(dir.path(), &hardened(&up, "", &route), &[]);
    let auth = bearer(&token("filesystem", "alice"));
    let spoofed = [
        ("X_Vigil_Subject", "admin"),
        ("X-Vigil_Subject", "admin"),
        ("x_vigil_audience", "everything"),
        ("X_Forwarded_For", "6.6.6.6"),
        ("X-Forwarded_Host", "evil.example"),
        ("x_forwarded_proto", "https"),
        ("X_Real_IP", "6.6.6.6"),
        ("Transfer_Encoding", "chunked"),
        ("Content_Length", "5"),
        ("Proxy_Authorization", "Basic eDp5"),
        ("X_Upstream_Key", "attacker"),
    ];
    let mut headers = vec![("authorization", auth.as_str()), ("x_app_hint", "kept")];
    headers.extend(spoofed);
    let (s, _, body) = call("GET", &gw.url("/mcp/filesystem/x"), &headers, "").await;
    assert_eq!(s, 200, "{body}");
    let seen = up.seen();
    let h = &seen.last().unwrap().headers;
    for (name, _) in spoofed {
        let normal = name.to_ascii_lowercase().replace('_', "-");
        let spellings: Vec<&str> = h
            .keys()
            .map(|k| k.as_str())
            .filter(|k| k.replace('_', "-") == normal && k.contains('_'))
            .collect();
        assert!(spellings.is_empty(), "{spellings:?} reached the upstream");
    }
    assert_eq!(h.get_all("x-vigil-subject").iter().count(), 1);
    assert_eq!(h["x-vigil-subject"], "alice");
    assert_eq!(h["x-vigil-audience"], "filesystem");
    assert_eq!(h["x-forwarded-for"], "127.0.0.1");
    assert_eq!(h["x_app_hint"], "kept", "other underscore headers pass");
    assert_eq!(h.get_all("x-upstream-key").iter().count(), 1);
    assert_eq!(h["x-upstream-key"], injected.as_str());

    // Two Authorization headers are ambiguous: refused before anything reaches the upstream.
    let before = up.seen().len();
    let other = bearer(&token("filesystem", "mallory"));
    let (s, _, body) = call(
        "GET",
        &gw.url("/mcp/filesystem/x"),
        &[("authorization", &auth), ("authorization", &other)],
        "",
    )
    .await;
    assert_eq!(s, 400, "{body}");
    assert!(body.contains("authorization"), "{body}");
    assert_eq!(up.seen().len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_rpc_bodies_are_read_strictly_whatever_their_size_or_media_type() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(dir.path(), &hardened(&up, "", ""), &[]);
    let url = gw.url("/mcp/filesystem");
    let auth = bearer(&token("filesystem", "rpc"));
    let pad = "x".repeat(3000);
    let ambiguous = [
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call","params":{"name":"delete_all"}}"#.to_owned(),
        format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{{"name":"delete_all","arguments":{{"pad":"{pad}"}}}},"method":"tools/call"}}"#),
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"read_file","name":"delete_all"}}"#.to_owned(),
        format!(r#"{{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{{"name":"read_file","arguments":{{"pad":"{pad}"}},"name":"delete_all"}}}}"#),
        r#"{"jsonrpc":"2.0","id":3,"id":4,"method":"ping"}"#.to_owned(),
        r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"a"},"params":{"name":"b"}}"#.to_owned(),
        r#"[{"jsonrpc":"2.0","id":6,"method":"ping"},{"jsonrpc":"2.0","id":7,"method":"x","method":"tools/call"}]"#.to_owned(),
        // Not JSON once past the first bytes, small and large.
        r#"{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"x""#.to_owned(),
        format!(r#"{{"jsonrpc":"2.0","id":9,"method":"tools/list","params":{{"name":"x","arguments":{{"pad":"{pad}"}}}}}} trailing"#),
        r#"{"jsonrpc":"2.0","id":10,"method":5}"#.to_owned(),
    ];
    for (i, body) in ambiguous.iter().enumerate() {
        for ct in ["application/json", "text/plain"] {
            let before = up.seen().len();
            let (s, _, answer) = call(
                "POST",
                &url,
                &[
                    ("authorization", &auth),
                    ("content-type", ct),
                    ("accept", "application/json"),
                ],
                body,
            )
            .await;
            assert_eq!(s, 400, "body {i} as {ct}: {answer}");
            assert_eq!(up.seen().len(), before, "body {i} reached the upstream");
        }
    }
    // The same tools/call in every media type a lenient upstream accepts: parsed, logged, and
    // passed on (a BOM is dropped so every upstream reads the same message).
    let call_tool = |tool: &str, pad: &str| {
        format!(
            r#"{{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{{"name":"{tool}","arguments":{{"text":"{pad}"}}}}}}"#
        )
    };
    for (tool, ct, bom, pad) in [
        ("t_plain", Some("text/plain"), false, ""),
        ("t_upper", Some("Application/JSON"), false, ""),
        ("t_none", None, false, ""),
        ("t_bom", Some("application/json; charset=utf-8"), true, ""),
        (
            "t_big_plain",
            Some("text/plain;charset=UTF-8"),
            false,
            pad.as_str(),
        ),
        ("t_big_bom", None, true, pad.as_str()),
    ] {
        let body = format!(
            "{}{}",
            if bom { "\u{feff}" } else { "" },
            call_tool(tool, pad)
        );
        let mut headers = vec![
            ("authorization", auth.as_str()),
            ("accept", "application/json"),
        ];
        if let Some(ct) = ct {
            headers.push(("content-type", ct));
        }
        let (s, _, answer) = call("POST", &url, &headers, &body).await;
        assert_eq!(s, 200, "{tool}: {answer}");
        let got = up.seen().last().unwrap().body.clone();
        assert!(
            got.starts_with(b"{"),
            "{tool}: the upstream got {:?}",
            &got[..8]
        );
        assert!(
            gw.wait_log(&format!(
                "\"rpc_method\":\"tools/call\",\"tool\":\"{tool}\""
            )),
            "{tool} not logged: {}",
            gw.log_text()
        );
    }
    // Non-JSON bodies of other media types still pass untouched.
    let (s, _, _) = call(
        "POST",
        &gw.url("/mcp/filesystem/upload"),
        &[
            ("authorization", &auth),
            ("content-type", "application/octet-stream"),
        ],
        "plain bytes",
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(&up.seen().last().unwrap().body[..], b"plain bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_is_cached_terse_and_rate_limited_and_metrics_can_be_restricted() {
    use std::sync::atomic::Ordering;
    let (addr, conns) = counting_upstream(None).await;
    let route = format!(
        "\n\n[[gateway.routes]]\npath = \"/mcp/filesystem\"\nupstream = \"http://{addr}/mcp\"\n"
    );
    let dir = TempDir::new().unwrap();
    let cfg = format!("[gateway]\n{route}\n[gateway.rate_limit]\nper_ip = \"8/minute\"\n");
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let ready = gw.url("/readyz");
    for _ in 0..6 {
        let (s, _, body) = call("GET", &ready, &[], "").await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(body.trim(), r#"{"ready":true}"#);
        assert!(!body.contains(&addr.to_string()));
    }
    let probes = conns.load(Ordering::SeqCst);
    assert!(
        (1..=2).contains(&probes),
        "{probes} probes for 6 readiness checks"
    );
    // /readyz and /metrics answer under the per-IP limit (8 a minute here).
    assert_eq!(call("GET", &gw.url("/metrics"), &[], "").await.0, 200);
    assert_eq!(call("GET", &ready, &[], "").await.0, 200);
    for path in ["/readyz", "/metrics"] {
        let (s, h, _) = call("GET", &gw.url(path), &[], "").await;
        assert_eq!(s, 429, "{path}");
        assert!(h.contains_key("retry-after"));
    }
    drop(gw);

    // metrics_allow and a bearer token restrict /metrics; who may read it also sees which
    // upstream is (not) ready.
    let dir = TempDir::new().unwrap();
    let metrics_token = secret()[..48].to_owned();
    let cfg = format!(
        "[gateway]\nmetrics_allow = [\"10.0.0.0/8\"]\nmetrics_token = \"${{VIGIL_TEST_METRICS_TOKEN}}\"\n{route}"
    );
    let gw = Gateway::start(
        dir.path(),
        &cfg,
        &[("VIGIL_TEST_METRICS_TOKEN", metrics_token.as_str())],
    );
    let allowed = bearer(&metrics_token);
    let (s, _, body) = call("GET", &gw.url("/readyz"), &[], "").await;
    assert_eq!((s.as_u16(), body.trim()), (200, r#"{"ready":true}"#));
    let (s, _, body) = call(
        "GET",
        &gw.url("/readyz"),
        &[("authorization", &allowed)],
        "",
    )
    .await;
    assert_eq!(s, 200);
    assert!(body.contains(&addr.to_string()), "{body}");
    for auth in [None, Some("Bearer wrong-token")] {
        let h: Vec<(&str, &str)> = auth.map(|a| ("authorization", a)).into_iter().collect();
        let (s, _, body) = call("GET", &gw.url("/metrics"), &h, "").await;
        assert!(s == 401 || s == 403, "{s}: {body}");
        assert!(!body.contains("vigil_gateway_requests"));
    }
    let (s, _, body) = call(
        "GET",
        &gw.url("/metrics"),
        &[("authorization", &allowed)],
        "",
    )
    .await;
    assert_eq!(s, 200);
    assert!(body.contains("vigil_gateway_requests"));
    drop(gw);

    // metrics_allow alone: loopback allowed.
    let dir = TempDir::new().unwrap();
    let cfg = format!("[gateway]\nmetrics_allow = [\"127.0.0.1/32\"]\n{route}");
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let (s, _, body) = call("GET", &gw.url("/metrics"), &[], "").await;
    assert_eq!(s, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paths_are_normalised_and_never_leave_their_route() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let cfg = hardened(
        &up,
        "",
        &format!(
            "\n[[gateway.routes]]\npath = \"/mcp/memory\"\nupstream = \"http://{}\"\n",
            up.addr
        ),
    );
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let t = token("filesystem", "pat");
    let get = |path: &str| {
        format!(
            "GET {path} HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {t}\r\nConnection: close\r\n\r\n"
        )
    };
    let before = up.seen().len();
    for path in [
        "/mcp/filesystem/../../etc/passwd",
        "/mcp/filesystem/%2e%2e/%2E%2E/etc/passwd",
        "/mcp/filesystem/.%2e/.%2E/etc/passwd",
        "/mcp/filesystem/..",
        "/mcp/filesystem/../memory/x",
        "/mcp/filesystem/a/../../memory/x",
        "/mcp/filesystem/..%2f..%2fetc/passwd",
        "/mcp/filesystem/a%2Fb",
        "/mcp/filesystem/a%5cb",
        "/mcp/filesystem/a\\..\\..\\etc",
        "/mcp/filesystem/%252e%252e/etc",
        "/mcp/filesystem/a%252fb",
        "/mcp/filesystem/..;/..;/etc",
    ] {
        let answer = gw::raw(gw.addr, get(path).as_bytes()).await;
        assert_eq!(gw::raw_status(&answer), 400, "{path}: {answer}");
    }
    assert_eq!(
        up.seen().len(),
        before,
        "a refused path reached the upstream"
    );
    // Dot-segments that stay inside the route are resolved before forwarding.
    for (path, upstream_sees) in [
        ("/mcp/filesystem/a/./b/../c", "/mcp/a/c"),
        ("/mcp/filesystem/a/%2e%2e/d?q=1", "/mcp/d?q=1"),
        ("/mcp/filesystem/v1.2/file", "/mcp/v1.2/file"),
    ] {
        let answer = gw::raw(gw.addr, get(path).as_bytes()).await;
        assert_eq!(gw::raw_status(&answer), 200, "{path}: {answer}");
        assert_eq!(up.seen().last().unwrap().uri, upstream_sees);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_never_split_a_log_line() {
    let up = Upstream::start().await;
    let hook = Webhook::start().await;
    for format in ["text", "json"] {
        let dir = TempDir::new().unwrap();
        let cfg = hardened(
            &up,
            &format!(
                "[gateway.alerts]\ntoken_expiry = \"30m\"\nwebhook_url = \"{}\"",
                hook.url
            ),
            "",
        );
        let gw = Gateway::start_with(
            dir.path(),
            &cfg,
            &[],
            &["--log-format", format],
            &["--listen", "127.0.0.1:0"],
        );
        // An hour-long token with ten minutes left, whose subject carries a forged log line.
        let sub = "eve\r\n2026-01-01T00:00:00Z  INFO forged: admin logged in\n\u{7}";
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
        assert!(gw.wait_log("token_expiring"), "{}", gw.log_text());
        assert!(gw.wait_log("forged"), "{}", gw.log_text());
        let logs = gw.log_text();
        for line in logs.lines() {
            assert!(
                !line.contains("INFO forged") || line.contains("eve"),
                "a subject started its own log line: {line:?}"
            );
            assert!(!line.contains('\r') && !line.contains('\u{7}'), "{line:?}");
            if format == "json" {
                serde_json::from_str::<serde_json::Value>(line)
                    .unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_oversized_requests_are_refused_before_the_upstream_and_counted() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(dir.path(), &hardened(&up, "", ""), &[]);
    let t = token("filesystem", "max");
    let head = |te: &str| {
        format!(
            "POST /mcp/filesystem/upload HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {t}\r\n\
             Content-Type: application/octet-stream\r\n{te}\r\n"
        )
    };
    // A chunk size that overflows 64 bits.
    let overflow = format!(
        "{}FFFFFFFFFFFFFFFFFFFFF\r\nabc\r\n0\r\n\r\n",
        head("Transfer-Encoding: chunked\r\n")
    );
    let answer = gw::raw(gw.addr, overflow.as_bytes()).await;
    assert_eq!(gw::raw_status(&answer), 400, "{answer}");
    // 50 MB chunked: 413 before the upstream gets a byte.
    let mut s = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(head("Transfer-Encoding: chunked\r\n").as_bytes())
        .await
        .unwrap();
    let (mut r, mut w) = s.into_split();
    let writer = tokio::spawn(async move {
        let chunk = format!("10000\r\n{}\r\n", "z".repeat(0x10000));
        for _ in 0..(50 << 20) / 0x10000 {
            if w.write_all(chunk.as_bytes()).await.is_err() {
                return;
            }
        }
        let _ = w.write_all(b"0\r\n\r\n").await;
    });
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), r.read_to_end(&mut got)).await;
    writer.abort();
    let answer = String::from_utf8_lossy(&got);
    assert_eq!(gw::raw_status(&answer), 413, "{answer}");
    // A malformed request head, answered by hyper itself.
    let answer = gw::raw(gw.addr, b"GET /mcp/filesystem HTTP/1.1\r\nHost gw\r\n\r\n").await;
    assert_eq!(gw::raw_status(&answer), 400, "{answer}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(up.seen().is_empty(), "the upstream got {:?}", up.seen());
    let (_, _, metrics) = call("GET", &gw.url("/metrics"), &[], "").await;
    for line in [
        "vigil_gateway_requests_total{route=\"/mcp/filesystem\",status=\"400\"} 1",
        "vigil_gateway_requests_total{route=\"/mcp/filesystem\",status=\"413\"} 1",
        "vigil_gateway_malformed_requests_total{reason=\"bad_head\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} missing from\n{metrics}");
    }
    assert!(gw.wait_log("\"status\":413"), "{}", gw.log_text());
    assert!(gw.wait_log_n("\"status\":400", 2), "{}", gw.log_text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_versions_are_checked_and_two_origins_are_refused() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(
        dir.path(),
        &hardened(&up, "allowed_origins = [\"https://app.example\"]", ""),
        &[],
    );
    let url = gw.url("/mcp/filesystem");
    let auth = bearer(&token("filesystem", "vic"));
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
    let post = |extra: Vec<(&'static str, &'static str)>| {
        let (url, auth) = (url.clone(), auth.clone());
        async move {
            let mut h = vec![
                ("authorization", auth.as_str()),
                ("content-type", "application/json"),
            ];
            h.extend(extra);
            call("POST", &url, &h, body).await
        }
    };
    for v in ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"] {
        let (s, _, b) = post(vec![("mcp-protocol-version", v)]).await;
        assert_eq!(s, 200, "{v}: {b}");
    }
    assert_eq!(post(vec![]).await.0, 200, "no version header");
    let before = up.seen().len();
    for bad in [
        vec![("mcp-protocol-version", "2099-01-01")],
        vec![("mcp-protocol-version", "not-a-version")],
        vec![("mcp-protocol-version", "")],
        vec![
            ("mcp-protocol-version", "2025-06-18"),
            ("mcp-protocol-version", "2025-03-26"),
        ],
    ] {
        let (s, _, b) = post(bad.clone()).await;
        assert_eq!(s, 400, "{bad:?}: {b}");
        assert!(b.contains("protocol"), "{b}");
    }
    // Two Origin headers, even two allowed ones: 403.
    let (s, _, b) = post(vec![
        ("origin", "https://app.example"),
        ("origin", "https://app.example"),
    ])
    .await;
    assert_eq!(s, 403, "{b}");
    assert_eq!(up.seen().len(), before);
    drop(gw);

    // The accepted versions are configurable (a new version needs no release).
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(
        dir.path(),
        &hardened(
            &up,
            "protocol_versions = [\"2025-11-25\", \"2026-07-28\"]",
            "",
        ),
        &[],
    );
    let url = gw.url("/mcp/filesystem");
    for (v, want) in [
        ("2025-11-25", 200),
        ("2026-07-28", 200),
        ("2025-06-18", 400),
    ] {
        let (s, _, b) = call(
            "POST",
            &url,
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
                ("mcp-protocol-version", v),
            ],
            body,
        )
        .await;
        assert_eq!(s, want, "{v}: {b}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_the_route_cors_and_security_headers() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let origin = "https://app.example";
    let cfg = hardened(
        &up,
        "allowed_origins = [\"https://app.example\"]\nbody_limit = \"1KiB\"",
        &format!(
            "timeout = \"300ms\"\n\n[[gateway.routes]]\npath = \"/mcp/down\"\nupstream = \"http://127.0.0.1:1\"\n\
             \n[[gateway.routes]]\npath = \"/mcp/limited\"\nupstream = \"http://{0}\"\n\
             rate_limit = {{ per_ip = \"1/minute\" }}\n\
             \n[[gateway.routes]]\npath = \"/mcp/git\"\nupstream = \"http://{0}\"\nscopes = [\"git:write\"]\n",
            up.addr
        ),
    );
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let with = |aud: &str| bearer(&token(aud, "cors"));
    let fs = with("filesystem");
    let mut answers = Vec::new();
    let get = |name: &'static str,
               method: &'static str,
               path: &str,
               auth: Option<String>,
               extra: Vec<(&'static str, String)>,
               body: String| {
        let url = gw.url(path);
        async move {
            let mut h: Vec<(&str, String)> = vec![("origin", origin.to_owned())];
            if let Some(a) = auth {
                h.push(("authorization", a));
            }
            h.extend(extra);
            let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (s, headers, _) = call(method, &url, &h, &body).await;
            (name, s.as_u16(), headers)
        }
    };
    answers.push(
        get(
            "ok",
            "GET",
            "/mcp/filesystem/x",
            Some(fs.clone()),
            vec![],
            String::new(),
        )
        .await,
    );
    answers.push(
        get(
            "no token",
            "GET",
            "/mcp/filesystem/x",
            None,
            vec![],
            String::new(),
        )
        .await,
    );
    answers.push(
        get(
            "scope",
            "GET",
            "/mcp/git/x",
            Some(with("git")),
            vec![],
            String::new(),
        )
        .await,
    );
    answers.push(
        get(
            "first",
            "GET",
            "/mcp/limited/x",
            Some(with("limited")),
            vec![],
            String::new(),
        )
        .await,
    );
    answers.push(
        get(
            "limited",
            "GET",
            "/mcp/limited/x",
            Some(with("limited")),
            vec![],
            String::new(),
        )
        .await,
    );
    answers.push(
        get(
            "too large",
            "POST",
            "/mcp/filesystem",
            Some(fs.clone()),
            vec![("content-type", "application/json".into())],
            "x".repeat(2048),
        )
        .await,
    );
    answers.push(
        get(
            "bad version",
            "POST",
            "/mcp/filesystem",
            Some(fs.clone()),
            vec![("mcp-protocol-version", "1999-01-01".into())],
            "{}".into(),
        )
        .await,
    );
    answers.push(
        get(
            "duplicate key",
            "POST",
            "/mcp/filesystem",
            Some(fs.clone()),
            vec![("content-type", "application/json".into())],
            r#"{"method":"a","method":"b"}"#.into(),
        )
        .await,
    );
    answers.push(
        get(
            "bad path",
            "GET",
            "/mcp/filesystem/%2e%2e/x",
            Some(fs.clone()),
            vec![],
            String::new(),
        )
        .await,
    );
    answers.push(
        get(
            "no route",
            "GET",
            "/nowhere",
            Some(fs.clone()),
            vec![],
            String::new(),
        )
        .await,
    );
    answers.push(
        get(
            "upstream down",
            "GET",
            "/mcp/down/x",
            Some(with("down")),
            vec![],
            String::new(),
        )
        .await,
    );
    answers.push(
        get(
            "upstream slow",
            "GET",
            "/mcp/filesystem/slow",
            Some(fs.clone()),
            vec![],
            String::new(),
        )
        .await,
    );
    answers.push(get("metrics", "GET", "/metrics", None, vec![], String::new()).await);
    let want = [
        ("ok", 200),
        ("no token", 401),
        ("scope", 403),
        ("first", 200),
        ("limited", 429),
        ("too large", 413),
        ("bad version", 400),
        ("duplicate key", 400),
        ("bad path", 400),
        ("no route", 404),
        ("upstream down", 502),
        ("upstream slow", 504),
        ("metrics", 200),
    ];
    for ((name, status, h), (wname, wstatus)) in answers.iter().zip(want) {
        assert_eq!((*name, *status), (wname, wstatus));
        assert_eq!(
            h.get("access-control-allow-origin")
                .map(|v| v.to_str().unwrap()),
            Some(origin),
            "{name} ({status}) lacks CORS"
        );
        assert!(
            h.get_all("vary")
                .iter()
                .any(|v| v.to_str().unwrap().contains("Origin")),
            "{name} ({status}) lacks Vary: Origin"
        );
        assert_eq!(h["x-content-type-options"], "nosniff", "{name}");
        assert!(h.contains_key("content-security-policy"), "{name}");
        assert!(h.contains_key("x-frame-options"), "{name}");
    }
    let limited = &answers[4].2;
    assert!(limited.contains_key("retry-after"));
    assert!(
        limited["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .to_ascii_lowercase()
            .contains("retry-after"),
        "a browser must be able to read Retry-After"
    );
    drop(gw);

    // A body that never finishes: 408 at body_timeout.
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(
        dir.path(),
        &hardened(
            &up,
            "allowed_origins = [\"https://app.example\"]\nbody_timeout = \"1s\"",
            "",
        ),
        &[],
    );
    let slow_body = format!(
        "POST /mcp/filesystem HTTP/1.1\r\nHost: gw\r\nOrigin: {origin}\r\nAuthorization: {fs}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"jsonrpc\""
    );
    let slow = gw::raw(gw.addr, slow_body.as_bytes()).await;
    assert_eq!(gw::raw_status(&slow), 408, "{slow}");
    let slow_lower = slow.to_ascii_lowercase();
    assert!(
        slow_lower.contains(&format!("access-control-allow-origin: {origin}")),
        "{slow}"
    );
    assert!(
        slow_lower.contains("x-content-type-options: nosniff"),
        "{slow}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_expiring_fires_only_for_long_lived_tokens_and_names_the_client() {
    let up = Upstream::start().await;
    let hook = Webhook::start().await;
    let dir = TempDir::new().unwrap();
    let cfg = hardened(
        &up,
        &format!(
            "trusted_proxies = [\"127.0.0.1\"]\n[gateway.alerts]\ntoken_expiry = \"1h\"\nwebhook_url = \"{}\"",
            hook.url
        ),
        "",
    );
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let url = gw.url("/mcp/filesystem/x");
    // A fresh 15-minute token lives less than the threshold from its start: no alert.
    let short = token("filesystem", "short-lived");
    // A four-hour token with thirty minutes left: the alert, naming the client.
    let long = token_with(
        &secret(),
        "filesystem",
        "long-lived",
        now() - 3 * 3600 - 1800,
        4 * 3600,
        serde_json::json!({}),
    );
    for t in [&short, &long] {
        let (s, _, _) = call(
            "GET",
            &url,
            &[
                ("authorization", &bearer(t)),
                ("x-forwarded-for", "203.0.113.44"),
            ],
            "",
        )
        .await;
        assert_eq!(s, 200);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while hook.got.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = hook.got.lock().unwrap().clone();
    let expiring: Vec<&serde_json::Value> = got
        .iter()
        .filter(|g| g["alert"]["alert"] == "token_expiring")
        .collect();
    assert_eq!(expiring.len(), 1, "{got:?}");
    assert_eq!(expiring[0]["alert"]["subject"], "long-lived");
    assert_eq!(expiring[0]["alert"]["client_ip"], "203.0.113.44");
    let logs = gw.log_text();
    let line = logs
        .lines()
        .find(|l| l.contains("\"alert\":\"token_expiring\""))
        .unwrap();
    assert!(line.contains("\"client_ip\":\"203.0.113.44\""), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listen_backlog_is_at_least_1024_and_configurable() {
    let up = Upstream::start().await;
    let somaxconn: u32 = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    for (extra, want) in [("", 1024u32), ("backlog = 2048", 2048)] {
        let dir = TempDir::new().unwrap();
        let gw = Gateway::start(dir.path(), &hardened(&up, extra, ""), &[]);
        // `ss` shows a listening socket's backlog in its Send-Q column.
        let out = std::process::Command::new("ss")
            .args(["-Hltn", &format!("sport = :{}", gw.addr.port())])
            .output()
            .expect("ss (iproute2) is installed");
        let text = String::from_utf8_lossy(&out.stdout);
        let backlog: u32 = text
            .split_whitespace()
            .nth(2)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no listening socket in {text:?}"));
        assert_eq!(backlog, want.min(somaxconn), "{text}");
    }
}
