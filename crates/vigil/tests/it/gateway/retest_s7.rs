//! Regression tests of the bb-gw-s7 black-box report (findings 4, 9, 10, 11), each through the
//! `vigil` binary over loopback HTTP.

use super::*;

/// Extra request headers.
type Headers<'a> = &'a [(&'a str, &'a str)];

// #4: every pair of the gateway's secrets differs: exit 2 naming both, the value never printed.
#[test]
fn no_two_of_the_gateways_secrets_are_one_value() {
    let dir = TempDir::new().unwrap();
    let (hook_a, hook_b, assert_a) = (random_hex(32), random_hex(32), random_hex(32));
    let check = |routes: &str, env: &[(&str, &str)]| {
        std::fs::write(
            dir.path().join("vigil.toml"),
            format!("[gateway]\n\n{routes}\n"),
        )
        .unwrap();
        common::vigil(dir.path())
            .args(["gateway", "check"])
            .env("MCP_JWT_SECRET", secret())
            .envs(env.iter().copied())
            .output()
            .unwrap()
    };
    let hook = |path: &str, scheme: &str, secrets: &str| {
        format!(
            "[[gateway.routes]]\npath = \"{path}\"\nupstream = \"http://127.0.0.1:9/h\"\n\
             webhook = {{ scheme = \"{scheme}\", secrets = [{secrets}] }}\n"
        )
    };
    let memory = |path: &str, port: u16, audience: &str| {
        format!(
            "[[gateway.routes]]\npath = \"{path}\"\nupstream = \"http://127.0.0.1:{port}/mcp\"\n\
             audience = \"{audience}\"\n[gateway.routes.assertion]\nsecret_env = \"ASSERT_A\"\n"
        )
    };
    let env = [
        ("HOOK_A", hook_a.as_str()),
        ("HOOK_B", hook_b.as_str()),
        ("ASSERT_A", assert_a.as_str()),
    ];
    // Distinct secrets, one webhook secret on two GitHub routes, and one assertion secret for
    // two audiences: accepted.
    let fine = format!(
        "{}{}{}{}",
        hook("/hooks/a", "github", "\"${HOOK_A}\", \"${HOOK_B}\""),
        hook("/hooks/b", "github", "\"${HOOK_A}\""),
        memory("/mcp/memory", 7070, "memory"),
        memory("/mcp/other", 7071, "other"),
    );
    expect_exit(&check(&fine, &env), 0);

    let jwt = secret();
    let cases: Vec<(String, Env, [&str; 2])> = vec![
        // A webhook sender holding the token secret could mint tokens.
        (
            hook("/hooks/a", "github", "\"${MCP_JWT_SECRET}\", \"${HOOK_B}\""),
            env.to_vec(),
            ["MCP_JWT_SECRET", "the webhook secret"],
        ),
        // An assertion secret equal to a webhook secret.
        (
            format!(
                "{}{}",
                hook("/hooks/a", "github", "\"${HOOK_A}\""),
                memory("/mcp/memory", 7070, "memory")
            ),
            vec![("HOOK_A", hook_a.as_str()), ("ASSERT_A", hook_a.as_str())],
            [
                "the webhook secret",
                "ASSERT_A (the assertion secret of route /mcp/memory)",
            ],
        ),
        // One webhook secret on a GitHub route and an hmac-sha256 one: a GitHub delivery
        // verifies on the second.
        (
            format!(
                "{}{}",
                hook("/hooks/gh", "github", "\"${HOOK_A}\""),
                hook("/hooks/gh2", "hmac-sha256", "\"${HOOK_A}\"")
            ),
            env.to_vec(),
            ["route /hooks/gh", "route /hooks/gh2"],
        ),
        // One assertion secret and audience sent to two upstreams.
        (
            format!(
                "{}{}",
                memory("/mcp/memory", 7070, "memory"),
                memory("/mcp/other", 7071, "memory")
            ),
            env.to_vec(),
            ["route /mcp/memory", "route /mcp/other"],
        ),
    ];
    for (routes, env, names) in cases {
        let o = check(&routes, &env);
        expect_exit(&o, 2);
        let err = stderr_of(&o);
        assert!(
            err.contains("hold the same value") && names.iter().all(|n| err.contains(n)),
            "{routes}: {err}"
        );
        for (_, v) in &env {
            assert!(!err.contains(v), "a secret printed: {err}");
        }
        assert!(!err.contains(&jwt) && !String::from_utf8_lossy(&o.stdout).contains(&jwt));
    }
    // A route's host holding a secret is refused and never printed.
    let o = check(
        "[[gateway.routes]]\npath = \"/mcp/p\"\nhost = \"${MCP_JWT_SECRET}\"\nupstream = \"http://127.0.0.1:9/mcp\"\n",
        &[],
    );
    expect_exit(&o, 2);
    let (out, err) = (String::from_utf8_lossy(&o.stdout), stderr_of(&o));
    assert!(
        err.contains("host: holds the value of MCP_JWT_SECRET"),
        "{err}"
    );
    let lower = jwt.to_ascii_lowercase();
    assert!(
        !out.to_ascii_lowercase().contains(&lower) && !err.to_ascii_lowercase().contains(&lower)
    );
}

// #9: headers that say who the client is, where it connects from or what it asked for are
// removed by family, not by a list of products.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_client_ip_and_rewrite_headers_never_reach_the_upstream() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(dir.path(), &hardened(&up, "", ""), &[]);
    let auth = bearer(&token("filesystem", "alice"));
    let spoofed = [
        "X-Consumer-Username",
        "X-Consumer-ID",
        "X-Credential-Identifier",
        "X-Authenticated-Scope",
        "X-Pomerium-Jwt-Assertion",
        "X-Pomerium-Claim-Email",
        "Tailscale-User-Login",
        "Tailscale-User-Name",
        "X-Endpoint-API-UserInfo",
        "X-Apigateway-Api-Userinfo",
        "X-SSL-Cert",
        "X-Tls-Client-Cert",
        "Impersonate-User",
        "Impersonate-Group",
        "X-Auth-User",
        "X-Auth-Email",
        "X-Auth-Token",
        "X-Access-Token",
        "X-Id-Token",
        "X-Userinfo",
        "X-Userid",
        "X-Principal",
        "X-Subject",
        "X-Jwt-Payload",
        "X-Jwt-Claim-Sub",
        "X-Token-Subject",
        "X-Scopes",
        "X-Role",
        "X-Tenant-Id",
        "Proxy-Client-IP",
        "WL-Proxy-Client-IP",
        "HTTP-Client-IP",
        "X-Envoy-External-Address",
        "Fly-Client-IP",
        "CF-Connecting-IPv6",
        "CloudFront-Viewer-Address",
        "X-Appengine-User-Ip",
        "Akamai-Client-IP",
        "X-Vercel-Forwarded-For",
        "DO-Connecting-IP",
        "X-Real-Client-IP",
        "X-Original-Remote-Addr",
        "Cdn-Src-Ip",
        "Ali-Cdn-Real-Ip",
        "X-Nf-Client-Connection-Ip",
        "X-Forwarded",
        "XForwardedFor",
        "X-Original-URI",
        "X-Original-Method",
        "X-Original-Host",
        "X-HTTP-Method",
        "X-Method-Override",
    ];
    let mut headers = vec![
        ("authorization", auth.as_str()),
        ("x-request-id", "kept-1"),
        ("user-agent", "kept-2"),
        ("x-api-hint", "kept-3"),
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
    assert_eq!(h["x-vigil-subject"], "alice");
    assert_eq!(h["x-request-id"], "kept-1");
    assert_eq!(h["user-agent"], "kept-2");
    assert_eq!(h["x-api-hint"], "kept-3");
}

// #9: the same rule decides the dev bypass's "never through a proxy".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dev_bypass_is_refused_behind_any_client_ip_header() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(
        dir.path(),
        &hardened(&up, "", ""),
        &[("MCP_DEV_BYPASS", "1")],
    );
    let url = gw.url("/mcp/filesystem/x");
    let (s, _, _) = call("GET", &url, &[], "").await;
    assert_eq!(s, 200, "bypassed from loopback");
    for name in [
        "CF-Connecting-IPv6",
        "Fly-Client-IP",
        "X-Envoy-External-Address",
        "Proxy-Client-IP",
        "Tailscale-User-Login",
    ] {
        let (s, _, _) = call("GET", &url, &[(name, "203.0.113.9")], "").await;
        assert_eq!(s, 401, "{name}: the bypass served a proxied request");
    }
}

// #10 and #11: methods compared after Unicode folding; a subject with any invisible
// character or a comma refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folded_method_spellings_and_invisible_subjects_are_refused() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let cfg = config(
        &up,
        "[[gateway.routes.tools]]\nname = \"delete_*\"\nscopes = [\"fs:write\"]\n",
        "",
    );
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let url = gw.url("/mcp/filesystem");
    let auth = bearer(&token("filesystem", "alice"));
    let spellings = [
        r"tool\u017f/call",
        r"tools/call\u00ad",
        r"tools/\u200bcall",
        r"tools/call\u2060",
        r"tools/call\u034f",
        r"tools/call\u180e",
        r"tools/call\ufe0f",
        r"tools/call\udb40\udc20",
        r"t\u0301ools/call",
        r"\uff54ools/call",
        "tools/call/",
        "tools//call",
        "/tools/call",
    ];
    for m in spellings {
        let before = up.seen().len();
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":2,"method":"{m}","params":{{"name":"delete_file","arguments":{{"path":"/b"}}}}}}"#
        );
        let (s, _, b) = call(
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
        assert_eq!(s, 400, "{m}: {b}");
        assert!(
            b.contains("ambiguous_body") && b.contains("tools/call"),
            "{m}: {b}"
        );
        assert_eq!(up.seen().len(), before, "{m} was forwarded");
    }

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
    for sub in [
        "adm\u{ad}in",
        "adm\u{a0}in",
        "adm\u{2028}in",
        "adm\u{e0020}in",
        "alice, admin",
    ] {
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
    let (s, _, _) = call(
        "GET",
        &gw.url("/mcp/filesystem/x"),
        &[("authorization", &raw("Ada Lovelace"))],
        "",
    )
    .await;
    assert_eq!(s, 200, "a space inside a subject is fine");
}

// #14 (low): an RFC 2231 `charset*`, a `Connection` header naming a header the gateway reads,
// and a tools/call without a tool name on a route with tool rules are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extended_charsets_dropped_session_headers_and_nameless_calls_are_refused() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let cfg = config(
        &up,
        "[[gateway.routes.tools]]\nname = \"delete_*\"\nscopes = [\"fs:write\"]\n",
        "[gateway.validation]\nmode = \"off\"\n",
    );
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let url = gw.url("/mcp/filesystem");
    let auth = bearer(&token("filesystem", "alice"));
    let echo = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}"#;
    let cases: [(Headers, &str, u16); 5] = [
        (
            &[("content-type", "application/json; charset*=utf-7''")],
            echo,
            415,
        ),
        (
            &[("connection", "Mcp-Session-Id, MCP-Protocol-Version")],
            echo,
            400,
        ),
        (&[("connection", "close, Content-Type")], echo, 400),
        (
            &[],
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call"}"#,
            400,
        ),
        (
            &[],
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"__proto__":{"name":"delete_file"},"arguments":{}}}"#,
            400,
        ),
    ];
    for (extra, body, want) in cases {
        let before = up.seen().len();
        let mut h = vec![
            ("authorization", auth.as_str()),
            ("accept", "application/json"),
        ];
        if !extra.iter().any(|(k, _)| *k == "content-type") {
            h.push(("content-type", "application/json"));
        }
        h.extend_from_slice(extra);
        let (s, _, b) = call("POST", &url, &h, body).await;
        assert_eq!(s.as_u16(), want, "{extra:?} {body}: {b}");
        assert_eq!(up.seen().len(), before, "{extra:?} {body} was forwarded");
    }
    let (s, _, b) = call(
        "POST",
        &url,
        &[
            ("authorization", auth.as_str()),
            ("accept", "application/json"),
            ("content-type", "application/json; charset=utf-8"),
            ("connection", "keep-alive"),
        ],
        echo,
    )
    .await;
    assert_eq!(s, 200, "{b}");
}
