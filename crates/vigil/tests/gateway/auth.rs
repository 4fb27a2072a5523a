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
