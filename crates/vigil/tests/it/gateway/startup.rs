//! Start-up refusals: `gateway check` and bad configurations named by file, line and key, the dev
//! bypass only on loopback, weak and default secrets refused (allowed on loopback only when
//! asked).

use super::*;

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
    assert!(
        !stderr_of(&out).contains("[token] audiences"),
        "{}",
        stderr_of(&out)
    );

    // A route whose audience `[token] audiences` does not list is pointed out (tester 161):
    // `vigil token mint` would refuse to mint its tokens.
    let listed = format!(
        "[token]\naudiences = [\"filesystem\"]\n\n{good}\n[[gateway.routes]]\npath = \"/mcp/billing\"\n\
         upstream = \"http://127.0.0.1:9002\"\naudience = \"billing\"\n"
    );
    std::fs::write(d.join("vigil.toml"), &listed).unwrap();
    let out = common::vigil(d)
        .args(["gateway", "check"])
        .env("MCP_JWT_SECRET", secret())
        .output()
        .unwrap();
    expect_exit(&out, 0);
    let err = stderr_of(&out);
    assert!(
        err.contains("not in [token] audiences") && err.contains("billing"),
        "{err}"
    );
    assert!(
        !err.contains("audience=filesystem") && !err.contains("\"filesystem\""),
        "{err}"
    );
    // Which of a route's header values are credentials (masked in answers, refused in
    // requests) and which plain: names only, never values (tester 161).
    let api_key: String = (0..24)
        .map(|i| if i % 3 == 0 { 'q' } else { '7' })
        .collect();
    let headered = good.replace(
        "audience = \"filesystem\"\n",
        "audience = \"filesystem\"\nheaders = { X-Api-Key = \"${UP_KEY}\", X-Env = \"production\" }\n",
    );
    std::fs::write(d.join("vigil.toml"), &headered).unwrap();
    let out = common::vigil(d)
        .args(["gateway", "check"])
        .env("MCP_JWT_SECRET", secret())
        .env("UP_KEY", &api_key)
        .output()
        .unwrap();
    expect_exit(&out, 0);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("  headers held as credentials (masked in answers, refused in requests): x-api-key; plain: x-env"),
        "{text}"
    );
    assert!(
        !text.contains(&api_key) && !text.contains("production"),
        "{text}"
    );
    // A credential every MCP request carries would refuse every request (tester 164).
    let out = common::vigil(d)
        .args(["gateway", "check"])
        .env("MCP_JWT_SECRET", secret())
        .env("UP_KEY", "jsonrpc")
        .output()
        .unwrap();
    expect_exit(&out, 2);
    let err = stderr_of(&out);
    assert!(
        err.contains("gateway.routes[0].headers.x-api-key")
            && err.contains("every request would be refused"),
        "{err}"
    );
    std::fs::write(d.join("vigil.toml"), good).unwrap();

    // No key at all: refused.
    let out = common::vigil(d)
        .args(["gateway", "check"])
        .env_remove("MCP_JWT_SECRET")
        .output()
        .unwrap();
    expect_exit(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("no key to verify tokens with (set MCP_JWT_SECRET"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--env-file"));

    // No configuration file where it is looked for: the message says so (tester 135).
    let empty = TempDir::new().unwrap();
    let out = common::vigil(empty.path())
        .args(["gateway", "check"])
        .env("MCP_JWT_SECRET", secret())
        .output()
        .unwrap();
    expect_exit(&out, 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("vigil.toml: no such file (give its path with --config or VIGIL_CONFIG)"),
        "{err}"
    );

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
    for weak in ["changeme", "a", "        ", "password123", "secret"] {
        let env = [("MCP_JWT_SECRET", weak)];
        for args in refused {
            let out = run(&env, args);
            expect_exit(&out, 2);
            let err = stderr_of(&out);
            assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
            assert!(err.contains("MCP_JWT_SECRET"), "{args:?}: {err}");
            if weak.trim().len() > 1 {
                let bare = err.replace("--allow-weak-secret", "");
                assert!(!bare.contains(weak), "the value is quoted: {err}");
            }
            // The advice is never masked as if it held the value (tester 152, BUG-2).
            assert!(!err.contains("--allow-weak-["), "{err}");
            if args == ["gateway", "--listen", "127.0.0.1:0"] {
                assert!(err.contains("--allow-weak-secret accepts it"), "{err}");
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
    // A weak secret an `--env-file` binds is named by the file and line that bind it
    // (testers 164-165: the variable alone sent users looking through every env file).
    std::fs::write(
        d.join(".env.gateway"),
        "# gateway\nLOG_LEVEL=info\nMCP_JWT_SECRET=changeme\n",
    )
    .unwrap();
    for args in [
        &["gateway", "check", "--env-file", ".env.gateway"][..],
        &[
            "gateway",
            "--listen",
            "127.0.0.1:0",
            "--env-file",
            ".env.gateway",
        ],
        &[
            "token",
            "mint",
            "--aud",
            "filesystem",
            "--env-file",
            ".env.gateway",
        ],
        &["token", "verify", "--env-file", ".env.gateway", "x.y.z"],
    ] {
        let out = run(&[], args);
        expect_exit(&out, 2);
        let err = stderr_of(&out);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.contains(".env.gateway:3: `MCP_JWT_SECRET`"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("changeme"), "{args:?}: {err}");
    }
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

/// Tester 153: a route's audience, path, issuer or claim holding the signing secret is refused
/// (it went upstream in `X-Vigil-Audience` and into tokens); `token mint` refuses a claim
/// holding it; an encoding of a weak phrase is weak.
#[test]
fn the_signing_secret_goes_into_no_audience_path_or_token() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let check = |route: &str, env: &[(&str, &str)]| {
        std::fs::write(
            d.join("vigil.toml"),
            format!("[gateway]\nlisten = \"127.0.0.1:8443\"\n\n[[gateway.routes]]\npath = \"/mcp/x\"\nupstream = \"http://127.0.0.1:9\"\n{route}\n"),
        )
        .unwrap();
        let mut c = common::vigil(d);
        c.args(["gateway", "check"]).env("MCP_JWT_SECRET", secret());
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    let claim_name = format!("claims = {{ \"{}\" = \"x\" }}", secret());
    for (route, field) in [
        ("audience = \"${MCP_JWT_SECRET}\"", "audience"),
        ("audience = \"x-${MCP_JWT_SECRET}\"", "audience"),
        ("issuer = \"https://${MCP_JWT_SECRET}.example\"", "issuer"),
        // Tester 154: served in the protected-resource metadata and challenges.
        ("scopes = [\"${MCP_JWT_SECRET}\"]", "scopes"),
        // Tester 155: a claim's name (written out: keys are not interpolated), the pins path.
        (claim_name.as_str(), "claims"),
        ("pins = \"${MCP_JWT_SECRET}.lock\"", "pins"),
        (
            "pins = \"t.lock\"\npin_server = \"${MCP_JWT_SECRET}\"",
            "pin_server",
        ),
    ] {
        let out = check(route, &[]);
        expect_exit(&out, 2);
        let err = stderr_of(&out);
        assert!(
            err.contains(&format!("gateway.routes[0].{field}"))
                && err.contains("holds the value of"),
            "{route}: {err}"
        );
        assert!(!err.contains(&secret()), "{err}");
    }
    // `[token] issuer`, every route's default, written into every token (tester 154).
    std::fs::write(
        d.join("vigil.toml"),
        "[token]\nissuer = \"x${MCP_JWT_SECRET}\"\n\n[gateway]\nlisten = \"127.0.0.1:8443\"\n\n[[gateway.routes]]\npath = \"/mcp/x\"\nupstream = \"http://127.0.0.1:9\"\n",
    )
    .unwrap();
    for args in [&["gateway", "check"][..], &["token", "mint", "--aud", "fs"]] {
        let out = common::vigil(d)
            .args(args)
            .env("MCP_JWT_SECRET", secret())
            .output()
            .unwrap();
        expect_exit(&out, 2);
        let err = stderr_of(&out);
        assert!(
            err.contains("issuer") && err.contains("holds the value of"),
            "{args:?}: {err}"
        );
        assert!(out.stdout.is_empty() && !err.contains(&secret()), "{err}");
    }
    // A variable named as a secret, not one of the gateway's (tester 156: the 401's "expected
    // …" told it to any client holding a valid token).
    let api_key = random_hex(24);
    let out = check(
        "issuer = \"${MY_API_KEY}\"",
        &[("MY_API_KEY", api_key.as_str())],
    );
    expect_exit(&out, 2);
    assert!(
        stderr_of(&out).contains("gateway.routes[0].issuer") && !stderr_of(&out).contains(&api_key),
        "{}",
        stderr_of(&out)
    );
    // `public_url`, served without a token in every challenge (tester 157).
    std::fs::write(
        d.join("vigil.toml"),
        "[gateway]\nlisten = \"127.0.0.1:8443\"\npublic_url = \"http://127.0.0.1:8443/${MCP_JWT_SECRET}\"\n\n[[gateway.routes]]\npath = \"/mcp/x\"\nupstream = \"http://127.0.0.1:9\"\n",
    )
    .unwrap();
    let out = common::vigil(d)
        .args(["gateway", "check"])
        .env("MCP_JWT_SECRET", secret())
        .output()
        .unwrap();
    expect_exit(&out, 2);
    assert!(
        stderr_of(&out).contains("gateway.public_url"),
        "{}",
        stderr_of(&out)
    );
    // A token of a known shape, no variable's value, in what is served without a token or
    // written into tokens (tester 158); and a `public_url` with a query, which every URL built
    // from it would carry in its middle.
    let ghp = common::token("«ghp_{alnum:30}{ghcrc}»", 158);
    for (gateway, route, token_section, key) in [
        (
            format!("public_url = \"https://gw.example/?t={ghp}\""),
            "",
            "",
            "gateway.public_url",
        ),
        (
            format!("public_url = \"https://gw.example/{ghp}\""),
            "",
            "",
            "gateway.public_url",
        ),
        (
            format!("authorization_servers = [\"https://a.example/{ghp}\"]"),
            "",
            "",
            "gateway.authorization_servers[0]",
        ),
        (
            String::new(),
            "scopes = [\"GHP\"]",
            "",
            "gateway.routes[0].scopes",
        ),
        (
            String::new(),
            "claims = { t = \"GHP\" }",
            "",
            "gateway.routes[0].claims",
        ),
        (
            String::new(),
            "",
            "audiences = [\"GHP\"]",
            "token.audiences[0]",
        ),
        (
            "public_url = \"https://gw.example/?a=b\"".into(),
            "",
            "",
            "gateway.public_url",
        ),
    ] {
        let route = route.replace("GHP", &ghp);
        let token_section = token_section.replace("GHP", &ghp);
        std::fs::write(
            d.join("vigil.toml"),
            format!("[token]\n{token_section}\n\n[gateway]\nlisten = \"127.0.0.1:8443\"\n{gateway}\n\n[[gateway.routes]]\npath = \"/mcp/x\"\nupstream = \"http://127.0.0.1:9\"\n{route}\n"),
        )
        .unwrap();
        let out = common::vigil(d)
            .args(["gateway", "check"])
            .env("MCP_JWT_SECRET", secret())
            .output()
            .unwrap();
        expect_exit(&out, 2);
        let err = stderr_of(&out);
        assert!(err.contains(key), "{key}: {err}");
        assert!(!err.contains(&ghp), "{err}");
    }
    // The metrics token in a route's headers: the upstream could read `/metrics` (tester 158).
    let metrics = random_hex(24);
    std::fs::write(
        d.join("vigil.toml"),
        "[gateway]\nlisten = \"127.0.0.1:8443\"\nmetrics_token = \"${METRICS_TOKEN}\"\n\n[[gateway.routes]]\npath = \"/mcp/x\"\nupstream = \"http://127.0.0.1:9\"\nheaders = { X-M = \"${METRICS_TOKEN}\" }\n",
    )
    .unwrap();
    let out = common::vigil(d)
        .args(["gateway", "check"])
        .env("MCP_JWT_SECRET", secret())
        .env("METRICS_TOKEN", &metrics)
        .output()
        .unwrap();
    expect_exit(&out, 2);
    let err = stderr_of(&out);
    assert!(
        err.contains("gateway.routes[0].headers.x-m") && err.contains("the metrics token"),
        "{err}"
    );
    assert!(!err.contains(&metrics), "{err}");
    // The metrics token, handed to every scraper (tester 155).
    std::fs::write(
        d.join("vigil.toml"),
        "[gateway]\nlisten = \"127.0.0.1:8443\"\nmetrics_token = \"${MCP_JWT_SECRET}\"\n\n[[gateway.routes]]\npath = \"/mcp/x\"\nupstream = \"http://127.0.0.1:9\"\n",
    )
    .unwrap();
    let out = common::vigil(d)
        .args(["gateway", "check"])
        .env("MCP_JWT_SECRET", secret())
        .output()
        .unwrap();
    expect_exit(&out, 2);
    assert!(
        stderr_of(&out).contains("gateway.metrics_token"),
        "{}",
        stderr_of(&out)
    );
    // `token verify` and `check-config` refuse an issuer holding the secret too (verify
    // printed it in "wrong issuer: expected …").
    let t = token("fs", "bob");
    let audit = random_hex(32);
    for (args, var, value) in [
        (
            &["token", "verify", "--aud", "fs", &t][..],
            "MCP_JWT_SECRET",
            secret(),
        ),
        (&["token", "check-config"], "MCP_JWT_SECRET", secret()),
        // Tester 156: the audit key through `[token] issuer`.
        (
            &["token", "mint", "--aud", "fs"],
            "VIGIL_GATEWAY_AUDIT_KEY",
            audit.clone(),
        ),
        (
            &["token", "verify", "--aud", "fs", &t],
            "VIGIL_GATEWAY_AUDIT_KEY",
            audit.clone(),
        ),
    ] {
        std::fs::write(
            d.join("vigil.toml"),
            format!("[token]\nissuer = \"${{{var}}}\"\n"),
        )
        .unwrap();
        let out = common::vigil(d)
            .args(args)
            .env("MCP_JWT_SECRET", secret())
            .env("VIGIL_GATEWAY_AUDIT_KEY", &audit)
            .output()
            .unwrap();
        assert_ne!(out.status.code(), Some(0), "{args:?}");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            stderr_of(&out)
        );
        assert!(!all.contains(&value), "{all}");
        assert!(all.contains("issuer"), "{args:?}: {all}");
    }
    std::fs::remove_file(d.join("vigil.toml")).unwrap();
    let out = common::vigil(d)
        .args(["token", "mint", "--aud", &secret(), "--sub", "bob"])
        .env("MCP_JWT_SECRET", secret())
        .output()
        .unwrap();
    expect_exit(&out, 2);
    assert!(
        stderr_of(&out).contains("--aud: holds the value of a secret"),
        "{}",
        stderr_of(&out)
    );
    assert!(out.stdout.is_empty());
    let out = common::vigil(d)
        .args([
            "token",
            "mint",
            "--aud",
            "fs",
            "--claim",
            &format!("note=k{}", secret()),
        ])
        .env("MCP_JWT_SECRET", secret())
        .output()
        .unwrap();
    expect_exit(&out, 2);
    // Tester 161: the key base64- or hex-encoded in a claim minted a token that hands it out.
    {
        use base64::Engine as _;
        let hexed: String = secret().bytes().map(|b| format!("{b:02x}")).collect();
        // And another variable named as a secret (tester 162: `UP_KEY` passed encoded).
        let up_key = format!("Up-{}", &secret()[..28]);
        for encoded in [
            base64::engine::general_purpose::STANDARD.encode(format!("key={}", secret())),
            hexed,
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&up_key),
        ] {
            let out = common::vigil(d)
                .args([
                    "token",
                    "mint",
                    "--aud",
                    "fs",
                    "--claim",
                    &format!("note={encoded}"),
                ])
                .env("MCP_JWT_SECRET", secret())
                .env("UP_KEY", &up_key)
                .output()
                .unwrap();
            expect_exit(&out, 2);
            assert!(
                stderr_of(&out).contains("--claim: holds the value of a secret"),
                "{}",
                stderr_of(&out)
            );
            assert!(out.stdout.is_empty());
        }
    }
    // Tester 158: verify's `--aud` was quoted in "expected …", and mint's in "is not one of the
    // configured audiences", whatever they held: a variable named as a secret, a known token.
    let up_token = format!("upcred_{}", &secret()[..24]);
    let ghp = common::token("«ghp_{alnum:30}{ghcrc}»", 159);
    let minted = common::vigil(d)
        .args(["token", "mint", "--aud", "fs", "--sub", "bob"])
        .env("MCP_JWT_SECRET", secret())
        .output()
        .unwrap();
    expect_exit(&minted, 0);
    let tok = String::from_utf8_lossy(&minted.stdout).trim().to_owned();
    for (cmd, value) in [
        ("verify", up_token.as_str()),
        ("verify", ghp.as_str()),
        ("mint", up_token.as_str()),
        ("mint", ghp.as_str()),
    ] {
        let mut args = vec!["token", cmd, "--aud", value];
        if cmd == "verify" {
            args.push(&tok);
        }
        let out = common::vigil(d)
            .args(&args)
            .env("MCP_JWT_SECRET", secret())
            .env("FS_UPSTREAM_TOKEN", &up_token)
            .output()
            .unwrap();
        expect_exit(&out, 2);
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            stderr_of(&out)
        );
        assert!(all.contains("--aud: holds"), "{cmd}: {all}");
        assert!(!all.contains(value), "{cmd}: {all}");
    }
    // base64 of a phrase is as weak as the phrase.
    use base64::Engine as _;
    let phrase = ["this is not a random", " secret at all"].concat();
    let encoded = base64::engine::general_purpose::STANDARD.encode(phrase);
    let out = common::vigil(d)
        .args(["token", "mint", "--aud", "fs"])
        .env("MCP_JWT_SECRET", &encoded)
        .output()
        .unwrap();
    expect_exit(&out, 2);
    assert!(
        stderr_of(&out).contains("is the base64 encoding of text that"),
        "{}",
        stderr_of(&out)
    );
}
