//! Browsers: CORS for allowed origins, 403 for others, and the route's CORS and security headers
//! on every answer, the gateway's own refusals included.

use super::*;

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
