//! The gateway's second black-box round: what a stdio child or a client writes never reaches
//! the log in clear (vigil-scan's rules on every log line), a stdio child never gets one of the
//! gateway's secret values (from an `--env-file`, a webhook route, under any name), one subject
//! cannot hold every stdio process, ambiguous tokens and unreadable calls are refused, and the
//! refusals say what is wrong.

use super::*;

/// A GitHub classic token (valid checksum), built at run time.
fn ghp(seed: u64) -> String {
    common::token("GITHUB_TOKEN=«ghp_{alnum:30}{ghcrc}»", seed)
}

/// `node`'s absolute path.
fn node() -> String {
    let out = std::process::Command::new("sh")
        .args(["-c", "command -v node"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn mcp<'a>(auth: &'a str, session: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
    let mut h = vec![
        ("authorization", auth),
        ("content-type", "application/json"),
        ("accept", MCP),
        ("mcp-protocol-version", "2025-06-18"),
    ];
    if let Some(s) = session {
        h.push(("mcp-session-id", s));
    }
    h
}

const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stdio_childs_output_and_client_chosen_names_are_logged_redacted() {
    let pat = ghp(23);
    let entry = gw::server_everything();
    let config = format!(
        "[gateway]\nlisten = \"127.0.0.1:8443\"\n\n[gateway.audit]\npath = \"tools.jsonl\"\nflush_interval = \"20ms\"\n\n\
         [[gateway.routes]]\npath = \"/mcp/st\"\naudience = \"st\"\n\
         command = [\"sh\", \"-c\", \"printf 'esc \\\\033[2Jz\\\\n' >&2; echo 'stderr says {pat}' >&2; echo 'not json {pat}'; exec {} {} stdio\"]\n",
        node(),
        entry.display()
    );
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(dir.path(), &config, &[]);
    let url = gw.url("/mcp/st");
    let auth = bearer(&token("st", "ana"));
    let (status, headers, body) = call("POST", &url, &mcp(&auth, None), INIT).await;
    assert_eq!(status, 200, "{body}");
    let session = headers["mcp-session-id"].to_str().unwrap().to_owned();
    let h = mcp(&auth, Some(&session));
    let (status, _, _) = call(
        "POST",
        &url,
        &h,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
    )
    .await;
    assert_eq!(status, 202);
    // A tool named like a token, and a method named like one.
    let by_name = serde_json::json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name": pat, "arguments":{}}});
    let _ = call("POST", &url, &h, &by_name.to_string()).await;
    let by_method = serde_json::json!({"jsonrpc":"2.0","id":3,"method": pat});
    let _ = call("POST", &url, &h, &by_method.to_string()).await;
    assert!(gw.wait_log("stdio server stderr"), "{}", gw.log_text());
    assert!(gw.wait_log("non-protocol line"), "{}", gw.log_text());
    // The stderr line, the stray stdout line, the tool and the method of the access log.
    assert!(
        gw.wait_log_n("[REDACTED:github-pat]", 4),
        "{}",
        gw.log_text()
    );
    std::thread::sleep(Duration::from_millis(300));
    let log = gw.log_text();
    assert!(!log.contains(&pat), "a token in clear in the log: {log}");
    assert!(
        !log.contains(&pat[..20]),
        "part of a token in the log: {log}"
    );
    assert!(log.contains("stderr says [REDACTED:github-pat]"), "{log}");
    // ESC in a child's line is escaped like any other control (`\u{1b}`, then JSON-escaped).
    assert!(log.contains("esc \\\\u{1b}[2Jz"), "{log}");
    // The audit records the client-chosen tool name through the same redactor.
    let audit = dir.path().join("tools.jsonl");
    let mut text = String::new();
    for _ in 0..200 {
        text = std::fs::read_to_string(&audit).unwrap_or_default();
        if text.contains("\"tool\"") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        text.contains("\"tool\":\"[REDACTED:github-pat]\""),
        "{text}"
    );
    assert!(!text.contains(&pat[..20]), "{text}");
}

#[test]
fn a_stdio_child_never_gets_a_gateway_secret_value_from_an_env_file_or_a_webhook_route() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let random = || {
        use base64::Engine as _;
        let mut b = [0u8; 48];
        getrandom::fill(&mut b).unwrap();
        base64::engine::general_purpose::STANDARD.encode(b)
    };
    let wh = random();
    // Every secret in an --env-file only: the process environment holds none of them.
    std::fs::write(
        d.join("gw.env"),
        format!(
            "MCP_JWT_SECRET={}\nWH_DEFAULT={}\nWH_BACKUP={wh}\n",
            secret(),
            random()
        ),
    )
    .unwrap();
    let hook = "[[gateway.routes]]\npath = \"/hooks/gh\"\nupstream = \"http://127.0.0.1:9\"\n\
                webhook = { scheme = \"github\", secrets = [\"${WH_DEFAULT}\", \"${WH_BACKUP}\"] }\n";
    let run = |env: &str, args: &[&str]| {
        std::fs::write(
            d.join("vigil.toml"),
            format!(
                "[gateway]\n\n{hook}\n[[gateway.routes]]\npath = \"/mcp/x\"\ncommand = [\"node\"]\n{env}\n"
            ),
        )
        .unwrap();
        common::vigil(d)
            .arg("gateway")
            .args(args)
            .args(["--env-file", "gw.env"])
            .env_remove("MCP_JWT_SECRET")
            .output()
            .unwrap()
    };
    for (env, said) in [
        (
            "env = { X = \"${MCP_JWT_SECRET}\" }",
            "gateway.routes[1].env: X would carry the value of MCP_JWT_SECRET;",
        ),
        (
            "env = { URL = \"https://u:${MCP_JWT_SECRET}@h/\" }",
            "gateway.routes[1].env: URL would carry the value of MCP_JWT_SECRET;",
        ),
        (
            "env = { HOOK = \"pre-${WH_BACKUP}\" }",
            "gateway.routes[1].env: HOOK would carry the value of the webhook secret WH_BACKUP of route /hooks/gh;",
        ),
    ] {
        for args in [&["check"][..], &["--listen", "127.0.0.1:0"][..]] {
            let out = run(env, args);
            expect_exit(&out, 2);
            let err = stderr_of(&out);
            assert!(err.contains(said), "{env} {args:?}: {err}");
            assert!(!err.contains(&secret()) && !err.contains(&wh), "{err}");
        }
    }
    // Listed by name only: `gateway check` shows the names, never the values.
    let out = run("env = { GREETING = \"hello-there-friend\" }", &["check"]);
    expect_exit(&out, 0);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("env=GREETING"), "{text}");
    assert!(text.contains("per_subject=2"), "{text}");
    // Settings as they are written in vigil.toml, not as the program names them.
    for said in [
        "processes=session",
        "scan arguments=block results=redact",
        "validation off",
    ] {
        assert!(text.contains(said), "{said}: {text}");
    }
    assert!(text.contains(" timeout="), "{text}");
    assert!(
        !text.contains("Block") && !text.contains("Session"),
        "{text}"
    );
    assert!(!text.contains("hello-there-friend"), "{text}");
    assert!(
        text.contains("  webhook secrets WH_DEFAULT, WH_BACKUP"),
        "{text}"
    );
}

#[test]
fn a_stdio_command_argument_or_an_upstream_header_never_carries_a_gateway_secret() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let wh = {
        use base64::Engine as _;
        let mut b = [0u8; 48];
        getrandom::fill(&mut b).unwrap();
        base64::engine::general_purpose::STANDARD.encode(b)
    };
    std::fs::write(
        d.join("gw.env"),
        format!(
            "MCP_JWT_SECRET={}\nWH={wh}\nAPI_KEY=user-own-key-1234\n",
            secret()
        ),
    )
    .unwrap();
    let hook = "[[gateway.routes]]\npath = \"/hooks/gh\"\nupstream = \"http://127.0.0.1:9\"\n\
                webhook = { scheme = \"github\", secrets = [\"${WH}\"] }\n";
    let run = |route: &str, args: &[&str]| {
        std::fs::write(
            d.join("vigil.toml"),
            format!("[gateway]\n\n{hook}\n[[gateway.routes]]\npath = \"/mcp/x\"\n{route}\n"),
        )
        .unwrap();
        common::vigil(d)
            .arg("gateway")
            .args(args)
            .args(["--env-file", "gw.env"])
            .env_remove("MCP_JWT_SECRET")
            .output()
            .unwrap()
    };
    let lit = secret();
    let literal = format!("command = [\"node\", \"-e\", \"x{lit}y\"]");
    // Tester 164: the key hex-encoded in a header went up on every request.
    let hex: String = lit.bytes().map(|b| format!("{b:02x}")).collect();
    let hex_header =
        format!("upstream = \"http://127.0.0.1:9\"\nheaders = {{ X-Hex = \"{hex}\" }}");
    for (route, said) in [
        (
            "command = [\"node\", \"-e\", \"--k=${MCP_JWT_SECRET}\"]",
            "gateway.routes[1].command[2]: would carry the value of MCP_JWT_SECRET;",
        ),
        (
            literal.as_str(),
            "gateway.routes[1].command[2]: would carry the value of MCP_JWT_SECRET;",
        ),
        (
            "command = [\"node\", \"--w=${WH}\"]",
            "gateway.routes[1].command[1]: would carry the value of the webhook secret WH of route /hooks/gh;",
        ),
        (
            "upstream = \"http://127.0.0.1:9\"\nheaders = { X-Api = \"k ${MCP_JWT_SECRET}\" }",
            "gateway.routes[1].headers.x-api: would send the value of MCP_JWT_SECRET to the upstream;",
        ),
        (
            hex_header.as_str(),
            "gateway.routes[1].headers.x-hex: would send the value of MCP_JWT_SECRET to the upstream;",
        ),
        // A webhook secret in an upstream header, like the token secret (final black-box #3).
        (
            "upstream = \"http://127.0.0.1:9\"\nheaders = { X-K = \"${WH}\" }",
            "gateway.routes[1].headers.x-k: would send the value of the webhook secret WH of route /hooks/gh to the upstream;",
        ),
        (
            "upstream = \"http://127.0.0.1:9/${MCP_JWT_SECRET}\"",
            "gateway.routes[1].upstream: the URL holds the value of MCP_JWT_SECRET;",
        ),
        (
            "upstream = \"http://127.0.0.1:9/hook/${WH}\"",
            "gateway.routes[1].upstream: the URL holds the value of the webhook secret WH of route /hooks/gh;",
        ),
    ] {
        for args in [&["check"][..], &["--listen", "127.0.0.1:0"][..]] {
            let out = run(route, args);
            expect_exit(&out, 2);
            let err = stderr_of(&out);
            assert!(err.contains(said), "{route} {args:?}: {err}");
            assert!(!err.contains(&secret()) && !err.contains(&wh), "{err}");
        }
    }
    // `gateway check` never prints argument values after expansion (a user's own key here).
    let out = run(
        "command = [\"node\", \"-e\", \"--api-key=${API_KEY}\"]",
        &["check"],
    );
    expect_exit(&out, 0);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("arguments=2"), "{text}");
    assert!(!text.contains("user-own-key-1234"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_subject_cannot_hold_every_stdio_process() {
    let entry = gw::server_everything();
    let config = format!(
        "[gateway]\nlisten = \"127.0.0.1:8443\"\n\n[[gateway.routes]]\npath = \"/mcp/st\"\naudience = \"st\"\n\
         command = [\"{}\", \"{}\", \"stdio\"]\n\
         stdio = {{ processes = \"session\", max_processes = 3, max_per_subject = 1 }}\n",
        node(),
        entry.display()
    );
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(dir.path(), &config, &[]);
    let url = gw.url("/mcp/st");
    let ana = bearer(&token("st", "ana"));
    let bob = bearer(&token("st", "bob"));
    let (status, _, body) = call("POST", &url, &mcp(&ana, None), INIT).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("serverInfo"), "{body}");
    // ana's second session would be her second process: refused; bob still gets his.
    let (_, _, body) = call("POST", &url, &mcp(&ana, None), INIT).await;
    assert!(
        body.contains("holds as many of the route's stdio processes as it may"),
        "{body}"
    );
    assert!(!body.contains("serverInfo"), "{body}");
    let (status, _, body) = call("POST", &url, &mcp(&bob, None), INIT).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("serverInfo"), "{body}");
    // A limit above max_processes is refused at its key.
    std::fs::write(
        dir.path().join("vigil.toml"),
        config.replace("max_per_subject = 1", "max_per_subject = 4"),
    )
    .unwrap();
    let out = common::vigil(dir.path())
        .args(["gateway", "check"])
        .env("MCP_JWT_SECRET", secret())
        .output()
        .unwrap();
    expect_exit(&out, 2);
    assert!(
        stderr_of(&out).contains(
            "gateway.routes[0].stdio.max_per_subject: must be between 1 and max_processes"
        ),
        "{}",
        stderr_of(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ambiguous_tokens_unreadable_calls_and_bad_bodies_are_refused_with_clear_words() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let cfg = config(
        &up,
        "scopes = [\"fs:read\"]\n\n[[gateway.routes.tools]]\nname = \"delete_*\"\nscopes = [\"fs:write\"]\n",
        "",
    );
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let url = gw.url("/mcp/filesystem");
    let scoped = |claims: serde_json::Value| {
        bearer(&token_with(
            &secret(),
            "filesystem",
            "ana",
            now(),
            900,
            claims,
        ))
    };
    let list = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
    // `scope` and `scp` that disagree: refused, not joined.
    let both = scoped(serde_json::json!({"scope": "fs:read", "scp": ["fs:write"]}));
    let (status, headers, _) = call("POST", &url, &mcp(&both, None), list).await;
    assert_eq!(status, 401);
    let challenge = headers["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains("scope and scp claims disagree"),
        "{challenge}"
    );
    let same = scoped(serde_json::json!({"scope": "fs:read", "scp": ["fs:read"]}));
    assert_eq!(call("POST", &url, &mcp(&same, None), list).await.0, 200);

    // A tools/call the gateway cannot read (a number past a double's range) is refused, never
    // forwarded unchecked: `delete_file` needs fs:write, which this token lacks.
    let reader = scoped(serde_json::json!({"scope": "fs:read"}));
    let huge = r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"delete_file","arguments":{"n":1e400}}}"#;
    let (status, _, body) = call("POST", &url, &mcp(&reader, None), huge).await;
    assert_eq!(status, 400, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"]["code"], -32602, "{body}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("a number out of range"),
        "{body}"
    );
    // Where it stands is said in the whole body (its arguments are read on their own).
    let tall = "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/call\",\n\"params\":{\"name\":\"read_file\",\n\"arguments\":{\"n\":\n  1e400}}}";
    let (status, _, body) = call("POST", &url, &mcp(&reader, None), tall).await;
    assert_eq!(status, 400, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["id"], 6, "{body}");
    let said = v["error"]["message"].as_str().unwrap();
    assert!(said.contains("line 4 column 7"), "{said}");
    let wide = r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"read_file","arguments":{"n":1e400}}}"#;
    let (_, _, body) = call("POST", &url, &mcp(&reader, None), wide).await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let at = wide.find("1e400").unwrap() + "1e400".len();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("line 1 column {at}")),
        "{body}"
    );
    assert!(
        !up.seen()
            .iter()
            .any(|s| String::from_utf8_lossy(&s.body).contains("delete_file")
                || String::from_utf8_lossy(&s.body).contains("1e400")),
        "the upstream saw the call"
    );
    // Scopes are separated by ASCII space only (RFC 6749): a tab or a no-break space does not
    // split `fs:write` out of a longer scope.
    for odd in ["fs:read fs:write\u{a0}x", "fs:read fs:write\tx"] {
        let t = scoped(serde_json::json!({ "scope": odd }));
        let call_delete = r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"delete_file","arguments":{}}}"#;
        let (status, headers, body) = call("POST", &url, &mcp(&t, None), call_delete).await;
        assert_eq!(status, 403, "{odd:?}: {body}");
        let c = headers["www-authenticate"].to_str().unwrap();
        assert!(c.contains("insufficient_scope"), "{c}");
    }

    // Two protocol-version headers are named as two; a batch inside a batch as that.
    let mut h = mcp(&same, None);
    h.push(("mcp-protocol-version", "2025-03-26"));
    let (status, _, body) = call("POST", &url, &h, list).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("two MCP-Protocol-Version headers"), "{body}");
    let nested = format!("[[{list}]]");
    let (status, _, body) = call("POST", &url, &mcp(&same, None), &nested).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("not another batch"), "{body}");
    // An empty batch is an invalid request (JSON-RPC 2.0), not something to forward.
    let before = up.seen().len();
    for empty in ["[]", " [\n] "] {
        let (status, _, body) = call("POST", &url, &mcp(&same, None), empty).await;
        assert_eq!(status, 400, "{empty:?}: {body}");
        assert!(body.contains("empty JSON-RPC batch"), "{body}");
    }
    assert_eq!(up.seen().len(), before, "the upstream saw an empty batch");
}
