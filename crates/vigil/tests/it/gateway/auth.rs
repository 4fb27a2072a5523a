//! Bearer authentication: refusals with RFC 6750 challenges and RFC 9728 metadata, counted in
//! the metrics.

use super::*;

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

/// An Ed25519 key pair made by `openssl` in `dir` (`ed.pem`, private).
fn ed25519(dir: &std::path::Path) {
    let out = std::process::Command::new("openssl")
        .args(["genpkey", "-algorithm", "ed25519", "-out"])
        .arg(dir.join("ed.pem"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

/// Serves `body` as the answer to every request, on loopback, counting requests.
fn serve_jwks(body: String) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{BufRead, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/.well-known/jwks.json",
        listener.local_addr().unwrap()
    );
    let hits = std::sync::Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut r = std::io::BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            while r.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            h.fetch_add(1, Ordering::SeqCst);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, hits)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_signed_by_a_jwks_key_pass_from_a_file_or_a_url_and_an_unknown_kid_refetches_off_the_worker(
) {
    use std::sync::atomic::Ordering;
    let up = Upstream::start().await;
    // The issuer: a key pair, a token signed with it, and its public JWKS.
    let issuer = TempDir::new().unwrap();
    ed25519(issuer.path());
    std::fs::write(
        issuer.path().join("vigil.toml"),
        "[token]\n\n[[token.keys]]\nkid = \"ed-1\"\nprivate_key = \"ed.pem\"\n",
    )
    .unwrap();
    let mint = common::vigil(issuer.path())
        .args([
            "token",
            "mint",
            "--aud",
            "filesystem",
            "--sub",
            "jay",
            "--ttl",
            "5m",
        ])
        .env_remove("MCP_JWT_SECRET")
        .output()
        .unwrap();
    expect_exit(&mint, 0);
    let t = String::from_utf8_lossy(&mint.stdout).trim().to_owned();
    let jwks = common::vigil(issuer.path())
        .args(["token", "jwks"])
        .env_remove("MCP_JWT_SECRET")
        .output()
        .unwrap();
    expect_exit(&jwks, 0);
    let jwks = String::from_utf8_lossy(&jwks.stdout).into_owned();
    // A token naming a kid the set does not hold.
    let parts: Vec<&str> = t.split('.').collect();
    let header = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"alg":"EdDSA","kid":"ed-9"}"#)
    };
    let forged = format!("{header}.{}.{}", parts[1], parts[2]);

    // The set from a file.
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("jwks.json"), &jwks).unwrap();
    let gw = Gateway::start(
        dir.path(),
        &(config(&up, "", "") + "\n[token.jwks]\nfile = \"jwks.json\"\n"),
        &[],
    );
    let url = gw.url("/mcp/filesystem/x");
    let (s, _, body) = call("GET", &url, &[("authorization", &bearer(&t))], "").await;
    assert_eq!(s, 200, "{body}");
    let (s, _, _) = call("GET", &url, &[("authorization", &bearer(&forged))], "").await;
    assert_eq!(s, 401);
    drop(gw);

    // The set from a URL: fetched at start, and again (once) for an unknown kid, while the
    // gateway keeps serving.
    let (jwks_url, hits) = serve_jwks(jwks);
    let dir = TempDir::new().unwrap();
    let gw = Gateway::start(
        dir.path(),
        &(config(&up, "", "")
            + &format!("\n[token.jwks]\nurl = \"{jwks_url}\"\nrefresh_interval = \"0s\"\n")),
        &[],
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    let url = gw.url("/mcp/filesystem/x");
    let (s, _, body) = call("GET", &url, &[("authorization", &bearer(&t))], "").await;
    assert_eq!(s, 200, "{body}");
    let (s, headers, _) = call("GET", &url, &[("authorization", &bearer(&forged))], "").await;
    assert_eq!(s, 401);
    assert!(headers["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("error=\"invalid_token\""));
    assert_eq!(
        hits.load(Ordering::SeqCst),
        2,
        "one refetch for the unknown kid"
    );
    let (s, _, _) = call("GET", &url, &[("authorization", &bearer(&t))], "").await;
    assert_eq!(s, 200);
}

/// Tester 152: two tokens folded into one `Authorization` header are refused as such (not as a
/// token of five parts), a token carrying the dev-bypass subject is refused, and an upstream's
/// `HTTP/1.0` status line is not passed on to the client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folded_tokens_the_bypass_subject_and_an_old_status_line_are_handled() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // An upstream that answers every request with an HTTP/1.0 status line, then closes.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let old = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = s
                    .write_all(b"HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok")
                    .await;
            });
        }
    });
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let cfg = config(&up, "", "")
        + &format!("\n[[gateway.routes]]\npath = \"/old\"\nupstream = \"http://{old}\"\naudience = \"old\"\n");
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let url = gw.url("/mcp/filesystem/x");

    let (a, b) = (token("filesystem", "alice"), token("filesystem", "bob"));
    for header in [
        format!("Bearer {a}, Bearer {b}"),
        format!("Bearer {a} {b}"),
        format!("Bearer {a},{b}"),
    ] {
        let (status, h, body) = call("GET", &url, &[("authorization", &header)], "").await;
        assert_eq!(status, 401, "{body}");
        let c = h["www-authenticate"].to_str().unwrap();
        assert!(c.contains("error=\"invalid_request\""), "{c}");
        assert!(c.contains("more than one bearer token"), "{c}");
        assert!(!c.contains("JWE"), "{c}");
    }
    assert!(up.seen().is_empty());

    // `vigil token mint` refuses the subject; a token signed otherwise carries it.
    let bypass = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &serde_json::json!({"aud": "filesystem", "sub": "dev-bypass", "iat": now(), "exp": now() + 600}),
        &jsonwebtoken::EncodingKey::from_secret(secret().as_bytes()),
    )
    .unwrap();
    let (status, h, _) = call("GET", &url, &[("authorization", &bearer(&bypass))], "").await;
    assert_eq!(status, 401);
    assert!(
        h["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("dev-bypass"),
        "{:?}",
        h["www-authenticate"]
    );
    assert!(up.seen().is_empty());

    let t = token("old", "alice");
    let answer = crate::gw::raw(
        gw.addr,
        format!(
            "GET /old/x HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {t}\r\nConnection: close\r\n\r\n",
            gw.addr
        )
        .as_bytes(),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with("ok"), "{answer}");
}
