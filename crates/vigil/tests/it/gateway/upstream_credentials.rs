//! The credentials the gateway hands an upstream (a route's `headers` values) never come back to
//! the client in an answer (bb-gw-s7 #6, still open in bb-gw-s8): an upstream that echoes them
//! (a tool that prints its request headers or environment) has them masked in JSON, in SSE
//! events and in a plain answer, whatever `[gateway.scan]` says; so do the gateway's own
//! secrets (its signing key).

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_credentials_are_masked_by_value_in_every_answer() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    // Built at run time; neither shape is one vigil-scan's rules know.
    let key = format!("uk{}", &secret()[..30]);
    let token_part = format!("ut{}", &secret()[30..60]);
    let route =
        "headers = { X-Upstream-Key = \"${UP_KEY}\", Authorization = \"Bearer ${UP_TOKEN}\" }";
    let cfg = hardened(
        &up,
        "[gateway.scan]\narguments = \"off\"\nresults = \"off\"\n",
        route,
    );
    let gw = Gateway::start(
        dir.path(),
        &cfg,
        &[("UP_KEY", key.as_str()), ("UP_TOKEN", token_part.as_str())],
    );
    let auth = bearer(&token("filesystem", "alice"));
    let url = gw.url("/mcp/filesystem");
    // The upstream echoes what it is given: here, the values it was sent in its headers.
    // And the gateway's own signing key, which an upstream started from the same `.env` can
    // print (tester 157): whoever reads it mints tokens for every route.
    let own = secret();
    // The upstream answers with what it was given in its headers, and with the signing key.
    let echoed = "saw {h:x-upstream-key} and {h:authorization} and \\\"{h:x-upstream-key}\\\" and key {signing-key}";
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"echo","arguments":{{"text":"{echoed}"}}}}}}"#
    );
    for accept in ["application/json", MCP] {
        // A streamed answer sends its last event once released (a permit kept for it).
        up.release.notify_one();
        let (status, _, answer) = call(
            "POST",
            &url,
            &[
                ("authorization", auth.as_str()),
                ("content-type", "application/json"),
                ("accept", accept),
            ],
            &body,
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        assert!(
            !answer.contains(&key) && !answer.contains(&token_part) && !answer.contains(&own),
            "{accept}: {answer}"
        );
        assert!(
            answer.contains(
                "saw [REDACTED:upstream-credential] and Bearer [REDACTED:upstream-credential]"
            ) || answer
                .contains("saw [REDACTED:upstream-credential] and [REDACTED:upstream-credential]"),
            "{accept}: {answer}"
        );
    }
    // The upstream did get them (the route works as configured).
    let seen = up.seen();
    let before = seen.len();
    let h = &seen.last().unwrap().headers;
    assert_eq!(h["x-upstream-key"], key.as_str());
    // The client's own token in another header goes no further than its `Authorization`
    // (tester 159).
    let presented = auth.trim_start_matches("Bearer ").to_owned();
    let cookie = format!("session={presented}");
    // Nor another user's token (tester 161), while a header without one goes on.
    let other = format!("t={}", token("filesystem", "mallory"));
    let (status, _, answer) = call(
        "POST",
        &url,
        &[
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
            ("accept", "application/json"),
            ("cookie", cookie.as_str()),
            ("x-token", presented.as_str()),
            ("x-other-token", other.as_str()),
            ("x-trace", "a plain value of some length, no token in it"),
        ],
        r#"{"jsonrpc":"2.0","id":5,"method":"tools/list"}"#,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let last = up.seen().last().unwrap().headers.clone();
    assert!(
        !last.contains_key("cookie")
            && !last.contains_key("x-token")
            && !last.contains_key("x-other-token"),
        "{last:?}"
    );
    assert!(last.contains_key("x-trace"), "{last:?}");
    let before = before + 1;
    // A client never sends one of them up, nor the gateway's signing key (tester 158), in any
    // spelling the upstream reads as it: 400, and the upstream sees nothing.
    let escaped: String = own
        .chars()
        .map(|c| format!("\\u{:04x}", c as u32))
        .collect();
    for held in [own.clone(), key.clone(), escaped] {
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{{"name":"echo","arguments":{{"text":"k {held}"}}}}}}"#
        );
        let (status, _, answer) = call(
            "POST",
            &url,
            &[
                ("authorization", auth.as_str()),
                ("content-type", "application/json"),
                ("accept", "application/json"),
            ],
            &body,
        )
        .await;
        assert_eq!(status, 400, "{answer}");
        assert!(answer.contains("credential_in_request"), "{answer}");
        assert!(!answer.contains(&own) && !answer.contains(&key), "{answer}");
    }
    assert_eq!(up.seen().len(), before, "the upstream saw none of them");
    // A plain answer (neither JSON nor SSE) too: the upstream's GET answer names its path,
    // here with the header's value in it (a client's request holding it is refused).
    let (status, _, answer) = call(
        "GET",
        &gw.url("/mcp/filesystem/echo-key"),
        &[("authorization", auth.as_str())],
        "",
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert!(!answer.contains(&key), "{answer}");
    assert!(
        answer.contains("[REDACTED:upstream-credential]"),
        "{answer}"
    );
    // Counted, and never logged in clear.
    let (_, _, metrics) = call("GET", &gw.url("/metrics"), &[], "").await;
    assert!(
        metrics.contains("rule=\"upstream-credential\""),
        "{metrics}"
    );
    let log = gw.log_text();
    assert!(!log.contains(&key) && !log.contains(&token_part));
}

// bb-gw-s8 N9: a WebSocket tunnel opened with a 3-second token still carried a `tools/call` 40
// seconds later. The tunnel now closes when its token expires (plus the verifier's leeway,
// 0 s here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_tunnel_closes_when_its_token_expires() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let extra = format!("{}\n[token]\nleeway = \"0s\"\n", super::blackbox::SCAN_OFF);
    let gw = Gateway::start(dir.path(), &config(&up, "", &extra), &[]);
    let t = token_with(
        &secret(),
        "filesystem",
        "hal",
        now(),
        2,
        serde_json::json!({}),
    );
    let mut s = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(
        format!(
            "GET /mcp/filesystem/ws HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Authorization: Bearer {t}\r\n\r\n",
            gw.addr
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).await.unwrap();
    let head = String::from_utf8_lossy(&buf[..n]).to_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    s.write_all(b"while the token holds").await.unwrap();
    let mut echo = vec![0u8; 21];
    s.read_exact(&mut echo).await.unwrap();
    assert_eq!(&echo, b"while the token holds");
    // The gateway closes the tunnel: the read ends (EOF or reset), it does not hang.
    let closed = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the tunnel outlived its token");
    assert!(gw.wait_log("WebSocket tunnel closed: its token expired"));
}

/// Tester 158: an upstream's reason phrase (`HTTP/1.1 200 <text>`) reached the client as
/// written, a route credential and the gateway's signing key in it. The client gets the
/// standard phrase.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_reason_phrase_never_reaches_the_client() {
    use std::io::{Read as _, Write as _};
    let key = format!("uk{}", &secret()[..30]);
    let own = secret();
    let raw = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = raw.local_addr().unwrap().port();
    let phrase = format!("{key} {own}");
    std::thread::spawn(move || {
        for mut c in raw.incoming().flatten() {
            let mut buf = [0u8; 8192];
            let _ = c.read(&mut buf);
            let _ = write!(
                c,
                "HTTP/1.1 200 {phrase}\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}"
            );
        }
    });
    let dir = TempDir::new().unwrap();
    let cfg = format!(
        "[gateway]\nlisten = \"127.0.0.1:8443\"\n\n[[gateway.routes]]\npath = \"/mcp/filesystem\"\n\
         upstream = \"http://127.0.0.1:{port}/mcp\"\naudience = \"filesystem\"\n\
         headers = {{ X-Upstream-Key = \"${{UP_KEY}}\" }}\n"
    );
    let gw = Gateway::start(dir.path(), &cfg, &[("UP_KEY", key.as_str())]);
    let auth = bearer(&token("filesystem", "alice"));
    let addr = gw.url("").trim_start_matches("http://").to_owned();
    let head = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
        write!(
            s,
            "POST /mcp/filesystem HTTP/1.1\r\nhost: x\r\nauthorization: {auth}\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    })
    .await
    .unwrap();
    let status = head.lines().next().unwrap_or_default();
    assert_eq!(status, "HTTP/1.1 200 OK", "{head}");
    assert!(!head.contains(&key) && !head.contains(&own), "{head}");
}

/// Tester 159: a credential holding `/` written `\/` (PHP's `json_encode`, some Java and Go
/// encoders) passed both ways: an answer spelling it so reached the client, a request spelling
/// it so reached the upstream. And a client's token in the request path was forwarded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_written_with_escaped_slashes_is_found_both_ways() {
    use std::io::{Read as _, Write as _};
    let key = format!("uk/{}/{}", &secret()[..14], &secret()[14..30]);
    let slashed = key.replace('/', "\\/");
    let raw = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = raw.local_addr().unwrap().port();
    // The key as written (slashes escaped) and base64-encoded after other text (tester 161:
    // an upstream printing `base64` of its key reached the client).
    let printed = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(format!("key: {key}"))
    };
    // And wrapped, as `base64 .env` prints it (tester 162's leftover), lines joined by `\n`.
    let env_b64 = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .encode(format!("API_URL=http://x\nUP_KEY={key}\nDEBUG=0\n"))
    };
    let wrapped = env_b64
        .as_bytes()
        .chunks(20)
        .map(|l| std::str::from_utf8(l).unwrap())
        .collect::<Vec<_>>()
        .join("\\n");
    let answer = format!(
        r#"{{"jsonrpc":"2.0","id":1,"result":{{"content":[{{"type":"text","text":"k {slashed}"}},{{"type":"text","text":"{printed}"}},{{"type":"text","text":"{wrapped}"}}]}}}}"#
    );
    let got = std::sync::Arc::new(std::sync::Mutex::new(0usize));
    let count = got.clone();
    std::thread::spawn(move || {
        for mut c in raw.incoming().flatten() {
            let mut buf = [0u8; 16384];
            let _ = c.read(&mut buf);
            *count.lock().unwrap() += 1;
            let _ = write!(
                c,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    let dir = TempDir::new().unwrap();
    let cfg = format!(
        "[gateway]\nlisten = \"127.0.0.1:8443\"\n\n[[gateway.routes]]\npath = \"/mcp/filesystem\"\n\
         upstream = \"http://127.0.0.1:{port}/mcp\"\naudience = \"filesystem\"\n\
         headers = {{ X-Upstream-Key = \"${{UP_KEY}}\" }}\n"
    );
    let gw = Gateway::start(dir.path(), &cfg, &[("UP_KEY", key.as_str())]);
    let tok = token("filesystem", "alice");
    let auth = bearer(&tok);
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
        ("accept", "application/json"),
    ];
    let list = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
    let (status, _, body) = call("POST", &gw.url("/mcp/filesystem"), &headers, list).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        !body.contains(&slashed) && !body.contains(&key[3..17]),
        "{body}"
    );
    assert!(!body.contains(&printed[8..40]), "{body}");
    assert!(body.contains("[REDACTED:upstream-credential]"), "{body}");
    let read: serde_json::Value = serde_json::from_str(&body).unwrap();
    let third = read["result"]["content"][2]["text"]
        .as_str()
        .unwrap()
        .replace('\n', "");
    assert!(!third.contains(&env_b64[34..50]), "{third}");
    assert!(
        third.starts_with(&env_b64[..20]) && third.contains("[REDACTED:upstream-credential]"),
        "{third}"
    );
    let before = *got.lock().unwrap();
    // The request side: the key with its `/` escaped, alone and mixed with a plain one.
    let mixed = key.replacen('/', "\\/", 1);
    for spelled in [slashed.as_str(), mixed.as_str()] {
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{{"name":"echo","arguments":{{"text":"{spelled}"}}}}}}"#
        );
        let (status, _, answer) = call("POST", &gw.url("/mcp/filesystem"), &headers, &body).await;
        assert_eq!(status, 400, "{spelled}: {answer}");
        assert!(answer.contains("credential_in_request"), "{answer}");
    }
    // Cut into groups as a tool's name (tester 165): refused, and the name is not logged.
    let grouped = format!("{} {}", &key[..17], &key[17..]);
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{{"name":"{grouped}","arguments":{{}}}}}}"#
    );
    let (status, _, answer) = call("POST", &gw.url("/mcp/filesystem"), &headers, &body).await;
    assert_eq!(status, 400, "{answer}");
    assert!(gw.wait_log("refused_credential"));
    assert!(!gw.log_text().contains(&key[3..17]), "{}", gw.log_text());
    // The client's own token in the path: refused, never forwarded.
    let (status, _, answer) = call(
        "POST",
        &gw.url(&format!("/mcp/filesystem/{tok}")),
        &headers,
        list,
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("token_in_url"), "{answer}");
    // Nor one in a header or the query, percent-encoded too (tester 159).
    let own = secret();
    let encoded: String = own.bytes().map(|b| format!("%{b:02X}")).collect();
    let note = [("x-note", own.as_str())];
    for (extra, url) in [
        (&note[..], gw.url("/mcp/filesystem")),
        (&[][..], gw.url(&format!("/mcp/filesystem?k={encoded}"))),
        (&[][..], gw.url(&format!("/mcp/filesystem?k={own}"))),
        (&[][..], gw.url(&format!("/mcp/filesystem/{key}"))),
    ] {
        let mut h = headers.to_vec();
        h.extend_from_slice(extra);
        let (status, _, answer) = call("POST", &url, &h, list).await;
        assert_eq!(status, 400, "{url}: {answer}");
        assert!(answer.contains("credential_in_request"), "{answer}");
    }
    // Nor encoded: the signing key base64-encoded in a tool's arguments, the route's key as
    // hex in a header or base64 in the query (tester 157's leftover).
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("k={own}"));
    let hex: String = key.bytes().map(|b| format!("{b:02x}")).collect();
    let query = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{key}!"));
    let carried = format!(
        r#"{{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{{"name":"echo","arguments":{{"text":"{b64}"}}}}}}"#
    );
    let note = [("x-note", hex.as_str())];
    // Tester 161: every byte percent-encoded (`%63` for `c`) in a tool's arguments; the key
    // as a header's name; base64 wrapped at 76 characters as GNU `base64` prints it (a JSON
    // `\n` in the string), and `xxd -p`'s 60-character lines of hex.
    let every: String = own.bytes().map(|b| format!("%{b:02x}")).collect();
    let percent = carried.replace(&b64, &every);
    let wrapped_b64 = {
        let text = base64::engine::general_purpose::STANDARD.encode(format!("{own}\n"));
        let lines: Vec<String> = text
            .as_bytes()
            .chunks(76)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        carried.replace(&b64, &lines.join("\\n"))
    };
    let xxd = {
        let lines: Vec<String> = hex
            .as_bytes()
            .chunks(60)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        carried.replace(&b64, &lines.join("\\n"))
    };
    // Tester 162: one character of the base64 written as a JSON `\u` escape.
    let one_escaped = carried.replace(
        &b64[..8],
        &format!("{}\\u{:04x}{}", &b64[..3], b64.as_bytes()[3], &b64[4..8]),
    );
    let named = [(format!("x-{own}"), "1".to_owned())];
    let named: Vec<(&str, &str)> = named
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let hex_named = [(format!("x-{hex}"), "1".to_owned())];
    let hex_named: Vec<(&str, &str)> = hex_named
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    for (extra, url, body) in [
        (&[][..], gw.url("/mcp/filesystem"), carried.as_str()),
        (&note[..], gw.url("/mcp/filesystem"), list),
        (&[][..], gw.url(&format!("/mcp/filesystem?q={query}")), list),
        (&[][..], gw.url("/mcp/filesystem"), percent.as_str()),
        (&[][..], gw.url("/mcp/filesystem"), wrapped_b64.as_str()),
        (&[][..], gw.url("/mcp/filesystem"), xxd.as_str()),
        (&[][..], gw.url("/mcp/filesystem"), one_escaped.as_str()),
        (&named[..], gw.url("/mcp/filesystem"), list),
        (&hex_named[..], gw.url("/mcp/filesystem"), list),
    ] {
        let mut h = headers.to_vec();
        h.extend_from_slice(extra);
        let (status, _, answer) = call("POST", &url, &h, body).await;
        assert_eq!(status, 400, "{url} {extra:?}: {answer}");
        assert!(answer.contains("credential_in_request"), "{answer}");
    }
    // Counted where they were found.
    let (_, _, metrics) = call("GET", &gw.url("/metrics"), &[], "").await;
    for place in ["arguments", "header", "target"] {
        let counted = format!("place=\"{place}\",rule=\"upstream-credential\"");
        assert!(metrics.contains(&counted), "{place}: {metrics}");
    }
    assert_eq!(
        *got.lock().unwrap(),
        before,
        "the upstream saw none of them"
    );
}

/// Tester 159: an upstream that sends its answer's head and then stalls the body held a client
/// 200 s on a route with a 2 s timeout. An answer the gateway reads whole gets 504 once the
/// route's timeout passes after its head.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_answer_body_ends_in_504_after_the_route_timeout() {
    use std::io::{Read as _, Write as _};
    let raw = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = raw.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut c in raw.incoming().flatten() {
            std::thread::spawn(move || {
                let mut buf = [0u8; 16384];
                let _ = c.read(&mut buf);
                let _ = c.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{\"jsonrpc\"",
                );
                std::thread::sleep(std::time::Duration::from_secs(8));
            });
        }
    });
    let dir = TempDir::new().unwrap();
    let cfg = format!(
        "[gateway]\nlisten = \"127.0.0.1:8443\"\n\n[[gateway.routes]]\npath = \"/mcp/filesystem\"\n\
         upstream = \"http://127.0.0.1:{port}/mcp\"\naudience = \"filesystem\"\ntimeout = \"1s\"\n"
    );
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let auth = bearer(&token("filesystem", "alice"));
    let started = std::time::Instant::now();
    let (status, _, body) = call(
        "POST",
        &gw.url("/mcp/filesystem"),
        &[
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
            ("accept", "application/json"),
        ],
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
    )
    .await;
    assert_eq!(status, 504, "{body}");
    assert!(body.contains("upstream_timeout"), "{body}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

/// Review: a route header that is no credential (`X-Env = "production"`, an `Accept` list) was
/// taken for one, so every request naming it got 400 and answers holding it were masked. Only
/// a value whose header name or shape says credential is one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_header_that_is_no_credential_is_neither_refused_nor_masked() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let cfg = hardened(
        &up,
        "[gateway.scan]\narguments = \"off\"\nresults = \"off\"\n",
        "headers = { X-Env = \"production\", X-Accepts = \"application/json, text/event-stream\" }",
    );
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let auth = bearer(&token("filesystem", "alice"));
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"deploy to production, text/event-stream"}}}"#;
    for accept in ["application/json", MCP] {
        up.release.notify_one();
        let (status, _, answer) = call(
            "POST",
            &gw.url("/mcp/filesystem"),
            &[
                ("authorization", auth.as_str()),
                ("content-type", "application/json"),
                ("accept", accept),
            ],
            body,
        )
        .await;
        assert_eq!(status, 200, "{accept}: {answer}");
        assert!(
            answer.contains("deploy to production, text/event-stream"),
            "{accept}: {answer}"
        );
    }
    assert_eq!(up.seen().last().unwrap().headers["x-env"], "production");
}
