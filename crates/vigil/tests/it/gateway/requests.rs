//! What a request may not do: spoof identity headers in any spelling, send two `Authorization`s,
//! an ambiguous JSON-RPC body, a path that leaves its route, a malformed or oversized head or
//! body, an unaccepted protocol version, two origins.

use super::*;

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
        // Read by the protocol checks and the secret scan under their `-` names only.
        ("Mcp_Name", "delete_file"),
        ("Mcp_Method", "tools/call"),
        ("Mcp_Param_Other", "anything"),
        ("mcp-session_id", "forged"),
        ("X_Remote_User", "admin"),
        ("Remote_User", "admin"),
    ];
    // Users named by authenticating proxies, in their `-` spelling.
    let users = [
        ("Remote-User", "admin"),
        ("X-Remote-User", "admin"),
        ("X-Auth-Request-User", "admin"),
        ("X-Authenticated-User", "admin"),
        ("X-User", "admin"),
    ];
    let mut headers = vec![("authorization", auth.as_str()), ("x_app_hint", "kept")];
    headers.extend(spoofed);
    headers.extend(users);
    let (s, _, body) = call("GET", &gw.url("/mcp/filesystem/x"), &headers, "").await;
    assert_eq!(s, 200, "{body}");
    let seen = up.seen();
    let h = &seen.last().unwrap().headers;
    for (name, _) in users {
        assert!(h.get(name).is_none(), "{name} reached the upstream");
    }
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
    // Bodies of other media types are not JSON-RPC: refused (gw-blackbox D; they used to pass
    // unread, and a lenient upstream may still run them).
    let before = up.seen().len();
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
    assert_eq!(s, 415);
    assert_eq!(up.seen().len(), before);
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
                // 2026-07-28 clients mirror the method into a header (checked against the body).
                ("mcp-method", "tools/list"),
            ],
            body,
        )
        .await;
        assert_eq!(s, want, "{v}: {b}");
    }
}
