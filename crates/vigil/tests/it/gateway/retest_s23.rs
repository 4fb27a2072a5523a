//! Regression tests of tester 133's black-box report (session 23): tool names an upstream may
//! fold, lone surrogate escapes in arguments, `Host` values that are no host, header names
//! with other separators, TRACE, a second `Last-Event-ID`, an empty `Content-Encoding` and an
//! absolute-form target with its default port. Each through the `vigil` binary over loopback.

use super::*;

/// The headers of an MCP POST with this `Authorization` value (JSON answers only: the test
/// upstream streams a call's answer as SSE when asked, and holds the stream open).
fn mcp(auth: &str) -> Vec<(&str, &str)> {
    vec![
        ("authorization", auth),
        ("content-type", "application/json"),
        ("accept", "application/json"),
        ("mcp-protocol-version", "2025-11-25"),
    ]
}

/// A `tools/call` of `tool` with `arguments`.
fn call_of(tool: &str, arguments: &str) -> String {
    serde_json::json!({
        "jsonrpc": "2.0",
        "id": 5,
        "method": "tools/call",
        "params": {"name": tool, "arguments": serde_json::from_str::<serde_json::Value>(arguments).unwrap()},
    })
    .to_string()
}

// 133.1: `delete_*` asks `fs:write`; a name an upstream that trims, folds case or width, or
// drops invisible and combining characters reads as `delete_x` asks the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_name_spelled_around_a_scope_rule_needs_its_scope() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let cfg = config(
        &up,
        "scopes = [\"fs:read\"]\n\n[[gateway.routes.tools]]\nname = \"delete_*\"\nscopes = [\"fs:write\"]\n\n\
         [[gateway.routes.tools]]\nname = \"kill_*\"\nscopes = [\"fs:write\"]\n\n\
         [[gateway.routes.tools]]\nname = \"pass_*\"\nscopes = [\"fs:write\"]\n\n\
         [[gateway.routes.tools]]\nname = \"\u{fb01}x_*\"\nscopes = [\"fs:write\"]\n",
        "",
    );
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let url = gw.url("/mcp/filesystem");
    let reader = bearer(&token_with(
        &secret(),
        "filesystem",
        "ana",
        now(),
        900,
        serde_json::json!({"scope": "fs:read"}),
    ));
    for odd in [
        " delete_x",
        "DELETE_X",
        "Delete_x",
        "\u{200b}delete_x",
        "\u{ff44}elete_x",
        "dele\u{301}te_x",
        "delete_x\u{feff}",
        "delete_x\t",
        // Dotless i and sharp s, as Java, JS and Python's casefold() compare them; a rule
        // written with a ligature guards the plain spelling too.
        "k\u{131}ll_x",
        "pa\u{df}_x",
        "fix_1",
    ] {
        let (status, headers, body) = call("POST", &url, &mcp(&reader), &call_of(odd, "{}")).await;
        assert_eq!(status, 403, "{odd:?}: {body}");
        let c = headers["www-authenticate"].to_str().unwrap();
        assert!(c.contains("insufficient_scope"), "{c}");
    }
    assert!(
        !up.seen()
            .iter()
            .any(|s| String::from_utf8_lossy(&s.body).contains("elete")),
        "the upstream saw a call"
    );
    // A key that is `name`, `method` or `params` once case is folded is another reading of
    // the call (Go's encoding/json takes the last): refused before any check.
    for body in [
        r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"read_x","Name":"delete_x","arguments":{}}}"#,
        r#"{"jsonrpc":"2.0","id":5,"METHOD":"tools/call","params":{"name":"delete_x","arguments":{}}}"#,
        r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"read_x","arguments":{"path":"ab","Path":"/etc/passwd"}}}"#,
    ] {
        let (status, _, answer) = call("POST", &url, &mcp(&reader), body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer.contains("ambiguous_body"), "{answer}");
    }
    // A tool no rule names, in any case, needs only the route's scope.
    let (status, _, body) = call("POST", &url, &mcp(&reader), &call_of("Read_File", "{}")).await;
    assert_eq!(status, 200, "{body}");
}

// 133.4: a lone UTF-16 surrogate escape splits a token so the scan misses it, and decoders
// read it (and keys holding one) differently: refused before the upstream or the scan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_surrogate_escape_in_arguments_is_refused() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(dir.path(), &hardened(&up, "", ""), &[]);
    let url = gw.url("/mcp/filesystem");
    let auth = bearer(&token("filesystem", "ana"));
    for arguments in [
        r#"{"k":"abcdefgh\ud800ijklmnop"}"#,
        r#"{"a\ud800":1,"a\udbff":2}"#,
    ] {
        // Built as text: serde_json would not hold a lone surrogate in a value.
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{{"name":"echo","arguments":{arguments}}}}}"#
        );
        let (status, _, answer) = call("POST", &url, &mcp(&auth), &body).await;
        assert_eq!(status, 400, "{arguments}: {answer}");
        assert!(answer.contains("lone UTF-16 surrogate"), "{answer}");
    }
    assert!(up.seen().is_empty(), "the upstream saw a call");
    // A pair (an emoji) is one character and passes.
    let body = r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","arguments":{"k":"\ud83d\ude00"}}}"#;
    let (status, _, answer) = call("POST", &url, &mcp(&auth), body).await;
    assert_eq!(status, 200, "{answer}");
}

/// Sends `head` (a whole request head, without its blank line) and `body` on a connection of
/// its own; the answer's status line.
async fn raw(gw: &Gateway, head: &str, body: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    let req = format!(
        "{head}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    answer.lines().next().unwrap_or_default().to_owned()
}

// 133.2, 133.6 and the refusals of legitimate requests: `Host` must be one host and port;
// TRACE and CONNECT are refused; two `Last-Event-ID`s are ambiguous; an empty
// `Content-Encoding` is no coding; `http://host:80/` is `Host: host`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_methods_and_headers_read_two_ways_are_refused_and_plain_ones_pass() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(dir.path(), &hardened(&up, "", ""), &[]);
    let t = token("filesystem", "ana");
    let list = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
    let post = |target: &str, host: &str, extra: &str| {
        format!(
            "POST {target} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {t}\r\n\
             Content-Type: application/json\r\nAccept: {MCP}\r\n\
             MCP-Protocol-Version: 2025-11-25{extra}"
        )
    };
    for host in [
        "other, gw",
        "gw:99999",
        "gw:",
        "gw/x",
        "gw:80:80",
        "user@gw",
        "[::1",
        "gw\u{a0}",
    ] {
        let status = raw(&gw, &post("/mcp/filesystem", host, ""), list).await;
        assert!(status.contains(" 400 "), "{host:?}: {status}");
    }
    for (target, host) in [
        ("/mcp/filesystem", "gw"),
        ("/mcp/filesystem", "gw:8080"),
        ("/mcp/filesystem", "127.0.0.1"),
        ("/mcp/filesystem", "[::1]:8443"),
        ("http://gw:80/mcp/filesystem", "gw"),
        ("http://gw/mcp/filesystem", "gw:80"),
    ] {
        let status = raw(&gw, &post(target, host, ""), list).await;
        assert!(status.contains(" 200 "), "{target} {host}: {status}");
    }
    let status = raw(
        &gw,
        &post("/mcp/filesystem", "gw", "\r\nContent-Encoding: "),
        list,
    )
    .await;
    assert!(status.contains(" 200 "), "empty coding: {status}");
    let status = raw(
        &gw,
        &post(
            "/mcp/filesystem",
            "gw",
            "\r\nLast-Event-ID: 1\r\nLast-Event-ID: 2",
        ),
        list,
    )
    .await;
    assert!(status.contains(" 400 "), "two Last-Event-IDs: {status}");
    let seen = up.seen().len();
    for method in ["TRACE", "trace", "TRACK", "CONNECT", "Post"] {
        let head =
            format!("{method} /mcp/filesystem HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {t}");
        let status = raw(&gw, &head, "").await;
        assert!(status.contains(" 405 "), "{method}: {status}");
    }
    assert_eq!(up.seen().len(), seen, "TRACE reached the upstream");
}

// 133.3: a client header named with `.` or `~` for `-` reads as the reserved name to a server
// that mangles separators: never forwarded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserved_names_spelled_with_other_separators_never_reach_the_upstream() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(dir.path(), &hardened(&up, "", ""), &[]);
    let auth = bearer(&token("filesystem", "alice"));
    let spoofed = [
        "X.Vigil.Subject",
        "X~Vigil~Subject",
        "Remote.User",
        "X-Real.IP",
        "Mcp.Session.Id",
        "Last_Event_ID",
        "Content.Type",
        "Proxy",
    ];
    let mut headers = vec![("authorization", auth.as_str()), ("x-trace.id", "kept-1")];
    headers.extend(spoofed.iter().map(|n| (*n, "mallory")));
    let (s, _, body) = call("GET", &gw.url("/mcp/filesystem/x"), &headers, "").await;
    assert_eq!(s, 200, "{body}");
    let seen = up.seen();
    let h = &seen.last().unwrap().headers;
    for name in spoofed {
        assert!(
            h.get(name.to_ascii_lowercase()).is_none(),
            "{name} reached the upstream"
        );
    }
    assert!(!h.values().any(|v| v == "mallory"));
    assert_eq!(h["x-trace.id"], "kept-1");
}

// CI flake of session 23, a real gap: a webhook secret ending in `/` in an upstream URL was not
// found, as the URL's path is kept without its trailing `/` (the rest of the secret was there).
#[test]
fn a_secret_ending_in_a_slash_in_an_upstream_url_is_refused() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let wh = format!("{}/", random_hex(24));
    std::fs::write(
        d.join("gw.env"),
        format!("MCP_JWT_SECRET={}\nWH={wh}\n", secret()),
    )
    .unwrap();
    std::fs::write(
        d.join("vigil.toml"),
        "[gateway]\n\n[[gateway.routes]]\npath = \"/hooks/gh\"\nupstream = \"http://127.0.0.1:9\"\n\
         webhook = { scheme = \"github\", secrets = [\"${WH}\"] }\n\n\
         [[gateway.routes]]\npath = \"/mcp/x\"\nupstream = \"http://127.0.0.1:9/hook/${WH}\"\n",
    )
    .unwrap();
    let out = common::vigil(d)
        .args(["gateway", "check", "--env-file", "gw.env"])
        .env_remove("MCP_JWT_SECRET")
        .output()
        .unwrap();
    expect_exit(&out, 2);
    let err = stderr_of(&out);
    assert!(
        err.contains("the URL holds the value of the webhook secret WH"),
        "{err}"
    );
    assert!(!err.contains(wh.trim_end_matches('/')), "{err}");
}
