//! Regression tests of the bb-gw-s8 black-box report (N1, N3, N6, N7, N8, N10–N15 and s7 #14
//! leftovers), each through the `vigil` binary over loopback HTTP.

use super::*;
use base64::Engine as _;

// N3: secrets are compared as the keys they are used as: a webhook secret is trimmed, a
// Standard Webhooks one base64-decoded, and one that holds another inside counts as it.
#[test]
fn secrets_that_are_one_key_after_trimming_or_decoding_are_refused() {
    let dir = TempDir::new().unwrap();
    let jwt = secret();
    let (hook_a, assert_a) = (random_hex(32), random_hex(32));
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    let check = |routes: &str, env: &[(&str, &str)]| {
        std::fs::write(
            dir.path().join("vigil.toml"),
            format!("[gateway]\n\n{routes}\n"),
        )
        .unwrap();
        common::vigil(dir.path())
            .args(["gateway", "check"])
            .env("MCP_JWT_SECRET", &jwt)
            .envs(env.iter().copied())
            .output()
            .unwrap()
    };
    let hook = |scheme: &str, secrets: &str| {
        format!(
            "[[gateway.routes]]\npath = \"/hooks/a\"\nupstream = \"http://127.0.0.1:9/h\"\n\
             webhook = {{ scheme = \"{scheme}\", secrets = [{secrets}] }}\n"
        )
    };
    let memory =
        "[[gateway.routes]]\npath = \"/mcp/memory\"\nupstream = \"http://127.0.0.1:7070/mcp\"\n\
                  audience = \"memory\"\n[gateway.routes.assertion]\nsecret_env = \"ASSERT_A\"\n";
    let jwt_b64 = format!("whsec_{}", b64(&jwt));
    let jwt_nl = format!("{jwt}\n");
    let assert_b64 = format!("whsec_{}", b64(&assert_a));
    let hook_sp = format!("{hook_a} ");
    let assert_holds = format!("{hook_a}-memory");
    let base = [("HOOK_A", hook_a.as_str()), ("ASSERT_A", assert_a.as_str())];
    // Distinct keys: accepted.
    let fine = format!("{}{memory}", hook("github", "\"${HOOK_A}\""));
    expect_exit(&check(&fine, &base), 0);
    let cases: Vec<(String, Env, [&str; 2])> = vec![
        // The webhook key is trimmed: it is the token secret.
        (
            hook("github", "\"${MCP_JWT_SECRET} \""),
            base.to_vec(),
            ["MCP_JWT_SECRET", "the webhook secret"],
        ),
        (
            hook("hmac-sha256", "\"${WH_X}\""),
            vec![("WH_X", jwt_nl.as_str())],
            ["MCP_JWT_SECRET", "the webhook secret"],
        ),
        // A Standard Webhooks secret's key is its base64 decoding: the token secret.
        (
            hook("standard-webhooks", "\"${WH_X}\""),
            vec![("WH_X", jwt_b64.as_str())],
            ["MCP_JWT_SECRET", "the webhook secret"],
        ),
        // ... or the assertion secret.
        (
            format!("{}{memory}", hook("standard-webhooks", "\"${WH_X}\"")),
            vec![
                ("WH_X", assert_b64.as_str()),
                ("ASSERT_A", assert_a.as_str()),
            ],
            ["the webhook secret", "ASSERT_A (the assertion secret"],
        ),
        // A webhook secret holding the token secret inside.
        (
            hook("github", "\"x${MCP_JWT_SECRET}y\""),
            base.to_vec(),
            ["MCP_JWT_SECRET", "the webhook secret"],
        ),
        // An assertion secret holding a webhook secret inside.
        (
            format!("{}{memory}", hook("github", "\"${HOOK_A}\"")),
            vec![
                ("HOOK_A", hook_a.as_str()),
                ("ASSERT_A", assert_holds.as_str()),
            ],
            ["the webhook secret", "ASSERT_A (the assertion secret"],
        ),
        // The audit key is the webhook key (the configured text has a trailing space).
        (
            hook("github", "\"${HOOK_A} \""),
            vec![
                ("HOOK_A", hook_a.as_str()),
                ("VIGIL_GATEWAY_AUDIT_KEY", hook_a.as_str()),
            ],
            ["VIGIL_GATEWAY_AUDIT_KEY", "the webhook secret"],
        ),
        (
            hook("github", "\"${HOOK_A}\""),
            vec![
                ("HOOK_A", hook_sp.as_str()),
                ("VIGIL_GATEWAY_AUDIT_KEY", hook_a.as_str()),
            ],
            ["VIGIL_GATEWAY_AUDIT_KEY", "the webhook secret"],
        ),
    ];
    for (routes, env, names) in cases {
        let o = check(&routes, &env);
        expect_exit(&o, 2);
        let err = stderr_of(&o);
        assert!(names.iter().all(|n| err.contains(n)), "{routes}: {err}");
        for (_, v) in &env {
            assert!(!err.contains(v.trim()), "a secret printed: {err}");
        }
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(!err.contains(&jwt) && !out.contains(&jwt), "{err}");
    }
}

/// Opens `GET url` with `auth` and reads the stream until its first event (or its end): the
/// status, the text read, whether the stream ended (an error, its end, or no answer head)
/// before a complete event, and the stream, still open.
async fn first_event(url: &str, auth: &str) -> (u16, String, bool, Option<hyper::body::Incoming>) {
    let req = http::Request::builder()
        .uri(url)
        .header("authorization", auth)
        .header("accept", "text/event-stream")
        .body(http_body_util::Full::new(bytes::Bytes::new()).boxed())
        .unwrap();
    // A stream ended before its first bytes may end before its head, too.
    let Ok(resp) = gw::client().request(req).await else {
        return (0, String::new(), true, None);
    };
    let status = resp.status().as_u16();
    let mut stream = resp.into_body();
    let mut text = String::new();
    while !text.contains("\n\n") {
        let frame = tokio::time::timeout(Duration::from_secs(10), stream.frame())
            .await
            .expect("the stream answers");
        match frame {
            Some(Ok(f)) => {
                if let Ok(d) = f.into_data() {
                    text.push_str(&String::from_utf8_lossy(&d));
                }
            }
            _ => return (status, text, true, None),
        }
    }
    (status, text, false, Some(stream))
}

/// A legacy HTTP+SSE upstream whose `endpoint` event says `endpoint` (raw TCP), then stays open.
async fn endpoint_upstream(endpoint: &'static str) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\r\n\
                     event: endpoint\ndata: {endpoint}\n\n"
                );
                let _ = s.write_all(answer.as_bytes()).await;
                tokio::time::sleep(Duration::from_secs(30)).await;
            });
        }
    });
    addr
}

// N1(b): on a route with tokens, a legacy `endpoint` whose session the gateway cannot identify
// (no sessionId/session_id: a path-borne id, another parameter) never reaches the client: the
// stream ends, so nobody can be handed an unbound session. N13: one on another origin too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legacy_endpoint_the_gateway_cannot_bind_ends_the_stream() {
    let dir = TempDir::new().unwrap();
    let mut routes = String::new();
    let cases = [
        ("path", "/messages/5f1c2a"),
        ("sid", "/messages?sid=5f1c2a"),
        ("two", "/messages?sessionId=a&session_id=b"),
        ("evil", "http://evil.example/messages?sessionId=x"),
        ("evil2", "//evil.example/messages?sessionId=x"),
    ];
    for (name, endpoint) in cases {
        let addr = endpoint_upstream(endpoint).await;
        routes.push_str(&format!(
            "[[gateway.routes]]\npath = \"/mcp/{name}\"\nupstream = \"http://{addr}\"\naudience = \"legacy\"\n"
        ));
    }
    let good = endpoint_upstream("/messages?sessionId=s-77").await;
    routes.push_str(&format!(
        "[[gateway.routes]]\npath = \"/mcp/good\"\nupstream = \"http://{good}\"\naudience = \"legacy\"\n"
    ));
    let gw = Gateway::start(dir.path(), &format!("[gateway]\n\n{routes}"), &[]);
    let alice = bearer(&token("legacy", "alice"));
    for (name, endpoint) in cases {
        let (status, text, ended, _) =
            first_event(&gw.url(&format!("/mcp/{name}/sse")), &alice).await;
        assert!(status == 200 || status == 0, "{name}: {status}");
        assert!(ended, "{name}: the stream goes on: {text}");
        assert!(
            !text.contains("endpoint"),
            "{name}: {endpoint} reached the client: {text}"
        );
    }
    assert!(gw.wait_log("names no sessionId or session_id"));
    assert!(gw.wait_log("lies outside this route"));
    // One the gateway binds reaches the client, rewritten into the route's prefix.
    let (_, text, ended, _stream) = first_event(&gw.url("/mcp/good/sse"), &alice).await;
    assert!(!ended, "{text}");
    assert!(
        text.contains("data: /mcp/good/messages?sessionId=s-77"),
        "{text}"
    );
}

/// Runs the TypeScript SDK's legacy client against `url` with `token`.
async fn legacy_client(sdk: &std::path::Path, url: String, token: String) -> serde_json::Value {
    let sdk = sdk.to_owned();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg("sdk-legacy-client.mjs")
            .arg(url)
            .arg(token)
            .current_dir(sdk)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stdout)))
}

// N13: the SDK's own SSEClientTransport works through a prefix route (the relative `endpoint`
// is rewritten into it); N1(c): a route without tokens to the same upstream cannot act in a
// bound session; tokens without `sub` do not share sessions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_sessions_work_through_a_prefix_and_stay_their_holders() {
    let sdk = gw::sdk_dir();
    let server = gw::SdkServer::start_script(&sdk, &["sdk-legacy-server.mjs"]);
    let dir = TempDir::new().unwrap();
    let cfg = format!(
        "[gateway]\n\n[[gateway.routes]]\npath = \"/mcp/legacy\"\nupstream = \"http://127.0.0.1:{0}\"\n\n\
         [[gateway.routes]]\npath = \"/mcp/open\"\nupstream = \"http://127.0.0.1:{0}\"\nauth = false\n",
        server.port
    );
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let v = legacy_client(&sdk, gw.url("/mcp/legacy/sse"), token("legacy", "alice")).await;
    assert_eq!(v["server"], "sdk-legacy", "{v}");

    // A sub-less token's session is bound to that token, not to "no subject".
    let subless = |n: u64| {
        let key = vigil_token::Key::hmac("t", secret().as_bytes(), vigil_token::Algorithm::HS256)
            .unwrap();
        let req = vigil_token::MintRequest {
            audiences: vec!["legacy".into()],
            subject: None,
            issuer: None,
            ttl: 900,
            claims: serde_json::json!({ "n": n }).as_object().cloned().unwrap(),
        };
        bearer(&vigil_token::mint(&key, &req, now(), 86_400).unwrap())
    };
    let (one, two) = (subless(1), subless(2));
    let (_, text, ended, _stream) = first_event(&gw.url("/mcp/legacy/sse"), &one).await;
    assert!(!ended, "{text}");
    assert!(
        text.contains("data: /mcp/legacy/messages?sessionId="),
        "{text}"
    );
    let id = text
        .split("sessionId=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let ping = r#"{"jsonrpc":"2.0","id":9,"method":"ping"}"#;
    let post = |auth: Option<String>, path: &'static str| {
        let url = gw.url(&format!("{path}?sessionId={id}"));
        async move {
            let mut h = vec![("content-type", "application/json".to_owned())];
            if let Some(a) = auth {
                h.push(("authorization", a));
            }
            let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
            call("POST", &url, &h, ping).await
        }
    };
    let (status, _, body) = post(Some(two.clone()), "/mcp/legacy/messages").await;
    assert_eq!(status, 404, "another sub-less token: {body}");
    let (status, _, body) = post(None, "/mcp/open/messages").await;
    assert_eq!(status, 404, "a route without tokens: {body}");
    assert!(body.contains("session_not_found"), "{body}");
    let (status, _, body) = post(Some(one), "/mcp/legacy/messages").await;
    assert_eq!(status, 202, "its own token: {body}");
}

// N6: a secret in an answer header's name (lower-cased by HTTP/1, so read upper-cased and by
// shape) drops the header. N7: a redirect to another origin is 502; `Refresh`,
// `Clear-Site-Data`, `Alt-Svc` and the upstream's HSTS never reach the client; a `Location` to
// another origin on a non-redirect is dropped; a redirect on the upstream's origin passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answer_header_names_and_redirects_never_lead_a_client_astray() {
    use super::answers::{raw_upstream, send, with_length};
    let pat = common::token("GITHUB_TOKEN=«ghp_{alnum:30}{ghcrc}»", 91);
    let akia = common::token("«AKIA{upper32:16}»", 92);
    let (p, a) = (pat.clone(), akia.clone());
    let addr = raw_upstream(move |case| {
        let result = r#"{"jsonrpc":"2.0","id":3,"result":{"content":[{"type":"text","text":"ok"}]}}"#;
        let redirect = |status: &str, location: &str| {
            format!(
                "HTTP/1.1 {status}\r\nlocation: {location}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            )
            .into_bytes()
        };
        match case {
            "307" => redirect("307 Temporary Redirect", "http://evil.example/steal"),
            "301" => redirect("301 Moved Permanently", "//evil.example/x"),
            "302b" => redirect("302 Found", "/\\evil.example/x"),
            "302" => redirect("302 Found", "/mcp/next"),
            _ => with_length(
                "application/json",
                &[
                    format!("x-{p}: 1"),
                    format!("{p}: 1"),
                    format!("x-key-{a}: 1"),
                    "refresh: 0; url=http://evil.example/".to_owned(),
                    "clear-site-data: \"*\"".to_owned(),
                    "alt-svc: h2=\":443\"".to_owned(),
                    "strict-transport-security: max-age=0".to_owned(),
                    "location: http://evil.example/x".to_owned(),
                    "x-plain: eu-west-1".to_owned(),
                ],
                result.as_bytes(),
            ),
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
    let call_body = r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}"#;
    let ask = |case: &'static str| {
        let (url, auth) = (gw.url("/mcp/fs"), auth.clone());
        async move {
            let h = [
                ("authorization", auth.as_str()),
                ("content-type", "application/json"),
                ("accept", MCP),
                ("x-case", case),
            ];
            send(&url, "POST", &h, call_body).await
        }
    };
    let (status, headers, body) = ask("headers").await;
    assert_eq!(status, 200, "{body}");
    let all: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {}\n", String::from_utf8_lossy(v.as_bytes())))
        .collect();
    let lower = all.to_ascii_lowercase();
    assert!(!lower.contains(&pat.to_ascii_lowercase()[4..]), "{all}");
    assert!(!lower.contains(&akia.to_ascii_lowercase()), "{all}");
    for gone in [
        "refresh",
        "clear-site-data",
        "alt-svc",
        "strict-transport-security",
        "location",
    ] {
        assert!(!headers.contains_key(gone), "{gone}: {all}");
    }
    assert_eq!(headers["x-plain"], "eu-west-1");
    for case in ["307", "301", "302b"] {
        let (status, headers, body) = ask(case).await;
        assert_eq!(status, 502, "{case}: {body}");
        assert!(body.contains("another origin"), "{case}: {body}");
        assert!(!headers.contains_key("location"), "{case}");
    }
    let (status, headers, _) = ask("302").await;
    assert_eq!(status, 302);
    assert_eq!(headers["location"], "/mcp/next");
    assert!(gw.wait_log("redirected to another origin"));
    assert!(!gw.log_text().contains(&pat));
}

// s7 #14: every spelling of `access_token` a framework reads is dropped from the query sent
// upstream; the other parameters stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_token_in_any_spelling_never_reaches_the_upstream() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(dir.path(), &hardened(&up, "", ""), &[]);
    let auth = bearer(&token("filesystem", "alice"));
    let spellings = [
        "%61ccess_token",
        "access_token%00",
        "access_token[]",
        "access_token.x",
        "access_token%20",
        "ACCESS%5FTOKEN",
    ];
    for name in spellings {
        let url = gw.url(&format!("/mcp/filesystem/x?k=v&{name}=LEAKED&z=1"));
        let (status, _, body) = call("GET", &url, &[("authorization", &auth)], "").await;
        assert_eq!(status, 200, "{name}: {body}");
    }
    let url = gw.url("/mcp/filesystem/x?k=v;access_token=LEAKED");
    let (status, _, _) = call("GET", &url, &[("authorization", &auth)], "").await;
    assert_eq!(status, 200);
    let seen = up.seen();
    assert_eq!(seen.len(), spellings.len() + 1);
    for s in &seen {
        assert!(!s.uri.contains("LEAKED"), "{}", s.uri);
    }
    assert!(seen[0].uri.ends_with("?k=v&z=1"), "{}", seen[0].uri);
}

// N12: an upstream's `Mcp-Session-Id` that looks like a secret (a signed session token) is the
// client's own handle: passed unredacted and bound as it is, so the session works and two
// clients' sessions stay two.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_looking_session_id_is_passed_and_bound_as_it_is() {
    use super::answers::{raw_upstream, send, with_length};
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let jwt = |n: usize| {
        format!(
            "{}.{}.{}",
            b64(br#"{"alg":"HS256","typ":"JWT"}"#),
            b64(format!(r#"{{"sid":"{}"}}"#, random_hex(8 + n)).as_bytes()),
            b64(random_hex(32).as_bytes())
        )
    };
    let ids = [jwt(0), jwt(1)];
    let given = ids.clone();
    let addr = raw_upstream(move |case| {
        let result = r#"{"jsonrpc":"2.0","id":1,"result":{}}"#;
        let id = if case == "bob" { &given[1] } else { &given[0] };
        with_length(
            "application/json",
            &[format!("mcp-session-id: {id}")],
            result.as_bytes(),
        )
    })
    .await;
    let dir = TempDir::new().unwrap();
    let cfg = format!(
        "[gateway]\n\n[[gateway.routes]]\npath = \"/mcp/fs\"\nupstream = \"http://{addr}/mcp\"\naudience = \"fs\"\n"
    );
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
    let ask = |who: &'static str, session: Option<String>| {
        let (url, auth) = (gw.url("/mcp/fs"), bearer(&token("fs", who)));
        async move {
            let mut h = vec![
                ("authorization", auth),
                ("content-type", "application/json".to_owned()),
                ("accept", MCP.to_owned()),
                ("x-case", who.to_owned()),
            ];
            if let Some(s) = session {
                h.push(("mcp-session-id", s));
            }
            let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
            send(&url, "POST", &h, init).await
        }
    };
    let (status, headers, _) = ask("alice", None).await;
    assert_eq!(status, 200);
    assert_eq!(headers["mcp-session-id"], ids[0].as_str());
    let (status, headers, _) = ask("bob", None).await;
    assert_eq!(status, 200);
    assert_eq!(headers["mcp-session-id"], ids[1].as_str());
    let (status, _, body) = ask("alice", Some(ids[0].clone())).await;
    assert_eq!(status, 200, "alice's own session: {body}");
    let (status, _, _) = ask("bob", Some(ids[0].clone())).await;
    assert_eq!(status, 404, "bob in alice's session");
    let (status, _, _) = ask("alice", Some("[REDACTED:jwt]".into())).await;
    assert_eq!(status, 404);
}

// N8, N15: a `sub` with an invisible character outside the refused categories (Hangul fillers,
// U+034F, U+2800…), one whose NFKC form differs (full-width, mathematical, a lone accent), or
// the gateway's own `vigil-gateway` is refused (401), and `vigil token mint` refuses them too.
// N11: methods folded with NFKD and combining marks dropped, slash look-alikes read as `/`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookalike_subjects_and_methods_are_refused() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let cfg = config(
        &up,
        "[[gateway.routes.tools]]\nname = \"delete_*\"\nscopes = [\"fs:write\"]\n",
        "",
    );
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let raw = |sub: &str| {
        let key = jsonwebtoken::EncodingKey::from_secret(secret().as_bytes());
        let claims =
            serde_json::json!({"aud": "filesystem", "sub": sub, "iat": now(), "exp": now() + 600});
        let t = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &key,
        )
        .unwrap();
        bearer(&t)
    };
    let subs = [
        "a\u{3164}b",
        "a\u{2800}b",
        "a\u{0301}",
        "a\u{34f}b",
        "a\u{17b4}b",
        "a\u{115f}b",
        "a\u{ffa0}b",
        "\u{ff41}\u{ff44}\u{ff4d}\u{ff49}\u{ff4e}",
        "\u{1d41a}\u{1d41d}\u{1d426}\u{1d422}\u{1d427}",
        "ad\u{2170}n",
        "vigil-gateway",
        "Vigil-Gateway",
    ];
    for sub in subs {
        let before = up.seen().len();
        let (s, _, b) = call(
            "GET",
            &gw.url("/mcp/filesystem/x"),
            &[("authorization", &raw(sub))],
            "",
        )
        .await;
        assert_eq!(s, 401, "{sub:?}: {b}");
        assert_eq!(up.seen().len(), before);
    }
    for ok in ["Zoë", "alice@example.org", "auth0|5f1c"] {
        let (s, _, b) = call(
            "GET",
            &gw.url("/mcp/filesystem/x"),
            &[("authorization", &raw(ok))],
            "",
        )
        .await;
        assert_eq!(s, 200, "{ok}: {b}");
    }
    for sub in ["vigil-gateway", "a\u{3164}b", "\u{ff41}dmin"] {
        let o = common::vigil(dir.path())
            .args(["token", "mint", "--aud", "filesystem", "--sub", sub])
            .env("MCP_JWT_SECRET", secret())
            .output()
            .unwrap();
        expect_exit(&o, 2);
    }

    let auth = bearer(&token("filesystem", "alice"));
    for m in [
        "tools/ca\u{13a}\u{13a}",
        "tools\u{2215}call",
        "tools\u{2044}call",
        "tools\u{29f8}call",
    ] {
        let before = up.seen().len();
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":2,"method":"{m}","params":{{"name":"delete_file","arguments":{{"path":"/b"}}}}}}"#
        );
        let (s, _, b) = call(
            "POST",
            &gw.url("/mcp/filesystem"),
            &[
                ("authorization", auth.as_str()),
                ("content-type", "application/json"),
                ("accept", "application/json"),
            ],
            &body,
        )
        .await;
        assert_eq!(s, 400, "{m}: {b}");
        assert!(b.contains("ambiguous_body"), "{m}: {b}");
        assert_eq!(up.seen().len(), before, "{m} was forwarded");
    }
    // s7 #14: a key given twice inside params._meta.
    let before = up.seen().len();
    let (s, _, b) = call(
        "POST",
        &gw.url("/mcp/filesystem"),
        &[
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
            ("accept", "application/json"),
        ],
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"},"_meta":{"progressToken":1,"progressToken":2}}}"#,
    )
    .await;
    assert_eq!(s, 400, "{b}");
    assert!(b.contains("_meta.progressToken"), "{b}");
    assert_eq!(up.seen().len(), before);
}

// N10: identity header families (acting for someone, with more rights, the gateway's own
// `X-Vigil*` in any spelling) never reach the upstream; N14: a CDN's marker alone stops the
// dev bypass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acting_for_and_privilege_headers_never_reach_the_upstream() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(dir.path(), &hardened(&up, "", ""), &[]);
    let auth = bearer(&token("filesystem", "alice"));
    let spoofed = [
        "X-Authorization",
        "X-On-Behalf-Of",
        "X-Acting-As",
        "X-Delegated-For",
        "X-Whoami",
        "X-Actor",
        "X-Caller",
        "X-Caller-Id",
        "X-Fwd-For",
        "X-Admin",
        "X-Is-Admin",
        "X-Sudo",
        "X-Permissions",
        "X-Privileges",
        "X-Vigil",
        "X-Vigilsubject",
    ];
    let mut headers = vec![("authorization", auth.as_str()), ("x-request-id", "kept-1")];
    headers.extend(spoofed.iter().map(|n| (*n, "mallory")));
    let (s, _, body) = call("GET", &gw.url("/mcp/filesystem/x"), &headers, "").await;
    assert_eq!(s, 200, "{body}");
    let seen = up.seen();
    let h = &seen.last().unwrap().headers;
    for name in spoofed {
        assert!(h.get(name).is_none(), "{name} reached the upstream");
    }
    assert!(!h.values().any(|v| v == "mallory"));
    assert_eq!(h["x-vigil-subject"], "alice");
    assert_eq!(h["x-request-id"], "kept-1");
    drop(gw);

    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(
        dir.path(),
        &hardened(&up, "", ""),
        &[("MCP_DEV_BYPASS", "1")],
    );
    let url = gw.url("/mcp/filesystem/x");
    let (s, _, _) = call("GET", &url, &[], "").await;
    assert_eq!(s, 200, "bypassed from loopback");
    for (name, value) in [
        ("CDN-Loop", "cloudflare"),
        ("X-Amz-Cf-Id", "abc=="),
        ("X-Azure-FDID", "0f1e"),
        ("X-Azure-SocketIP", "203.0.113.9"),
        // bb-gw-s9 S8.
        (
            "X-Cloud-Trace-Context",
            "105445aa7843bc8bf206b12000100000/1;o=1",
        ),
        ("Surrogate-Capability", "akamai=\"ESI/1.0\""),
        ("X-Request-Start", "t=1700000000000"),
        ("Max-Forwards", "9"),
        // Tester 157: cache and CDN markers.
        ("X-Cache", "MISS from squid"),
        ("X-Served-By", "cache-fra1"),
        ("EagleId", "7ce9a8b4"),
    ] {
        let (s, _, _) = call("GET", &url, &[(name, value)], "").await;
        assert_eq!(s, 401, "{name}: the bypass served a proxied request");
    }
}

// s7 #14: a signed GitHub delivery whose `X-GitHub-Event` holds a list is refused (400): an
// upstream that routes by the event may take either item. One event passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_github_event_list_is_refused() {
    use hmac::Mac as _;
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let hook_secret = random_hex(32);
    let cfg = format!(
        "[gateway]\n\n[[gateway.routes]]\npath = \"/hooks/github\"\nupstream = \"http://{}/github\"\n\
         webhook = {{ scheme = \"github\", secrets = [\"${{WEBHOOK_SECRET_DEFAULT}}\"] }}\n",
        up.addr
    );
    let gw = Gateway::start(
        dir.path(),
        &cfg,
        &[("WEBHOOK_SECRET_DEFAULT", hook_secret.as_str())],
    );
    let body = r#"{"action":"opened"}"#;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(hook_secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let sig: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let sig = format!("sha256={sig}");
    let send = |event: &'static str, delivery: &'static str| {
        let (url, sig) = (gw.url("/hooks/github"), sig.clone());
        async move {
            call(
                "POST",
                &url,
                &[
                    ("content-type", "application/json"),
                    ("x-github-event", event),
                    ("x-github-delivery", delivery),
                    ("x-hub-signature-256", &sig),
                ],
                body,
            )
            .await
        }
    };
    let (s, _, b) = send("push, issues", "d-1").await;
    assert_eq!(s, 400, "{b}");
    assert!(b.contains("ambiguous_header"), "{b}");
    assert!(up.seen().is_empty());
    let (s, _, b) = send("issues", "d-2").await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(up.seen().len(), 1);
}
