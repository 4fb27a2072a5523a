//! What the gateway tells its operator: alerts (once per window, to the webhook, without
//! tokens), readiness and metrics (cached, terse, restricted), access-log lines that control
//! characters cannot split.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_fire_once_per_window_and_reach_the_webhook_without_tokens() {
    let up = Upstream::start().await;
    let hook = Webhook::start().await;
    let dir = TempDir::new().unwrap();
    let cfg = config(
        &up,
        "",
        &format!(
            "[gateway.alerts]\nauth_failures_per_minute = 3\nauth_failures_per_ip_per_minute = 50\n\
             requests_per_ip_per_minute = 1000\ntoken_expiry = \"1h\"\nwebhook_url = \"{}\"",
            hook.url
        ),
    );
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let url = gw.url("/mcp/filesystem");
    let forged = token_with(
        &"0".repeat(64),
        "filesystem",
        "m",
        now(),
        900,
        serde_json::json!({}),
    );
    for _ in 0..6 {
        assert_eq!(
            call("GET", &url, &[("authorization", &bearer(&forged))], "")
                .await
                .0,
            401
        );
    }
    // A valid long-lived token now expiring within the hour fires token_expiring, once per
    // subject and window.
    let t = token_with(
        &secret(),
        "filesystem",
        "gus",
        now() - 3 * 3600 - 1800,
        4 * 3600,
        serde_json::json!({}),
    );
    for _ in 0..2 {
        assert_eq!(
            call("GET", &url, &[("authorization", &bearer(&t))], "")
                .await
                .0,
            200
        );
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while hook.got.lock().unwrap().len() < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = hook.got.lock().unwrap().clone();
    let kinds: Vec<&str> = got
        .iter()
        .map(|g| g["alert"]["alert"].as_str().unwrap())
        .collect();
    // Fired at most once per minute window; a window boundary during the test could repeat one.
    assert!(
        kinds.contains(&"auth_failures") && kinds.contains(&"token_expiring"),
        "{kinds:?}"
    );
    assert!(kinds.len() <= 4, "{kinds:?}");
    for g in &got {
        let text = g.to_string();
        assert!(g["content"]
            .as_str()
            .unwrap()
            .starts_with("[vigil gateway]"));
        assert_eq!(g["content"], g["text"]);
        assert!(
            !text.contains(&forged) && !text.contains(&t),
            "token in an alert"
        );
    }
    let (_, _, metrics) = call("GET", &gw.url("/metrics"), &[], "").await;
    assert!(
        metrics.contains("vigil_gateway_alerts_total{alert=\"auth_failures\"}"),
        "{metrics}"
    );
    assert!(gw.log_text().contains("\"alert\":\"auth_failures\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_is_cached_terse_and_rate_limited_and_metrics_can_be_restricted() {
    use std::sync::atomic::Ordering;
    let (addr, conns) = counting_upstream(None).await;
    let route = format!(
        "\n\n[[gateway.routes]]\npath = \"/mcp/filesystem\"\nupstream = \"http://{addr}/mcp\"\n"
    );
    let dir = TempDir::new().unwrap();
    let cfg = format!("[gateway]\n{route}\n[gateway.rate_limit]\nper_ip = \"8/minute\"\n");
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let ready = gw.url("/readyz");
    for _ in 0..6 {
        let (s, _, body) = call("GET", &ready, &[], "").await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(body.trim(), r#"{"ready":true}"#);
        assert!(!body.contains(&addr.to_string()));
    }
    let probes = conns.load(Ordering::SeqCst);
    assert!(
        (1..=2).contains(&probes),
        "{probes} probes for 6 readiness checks"
    );
    // /readyz and /metrics answer under the per-IP limit (8 a minute here).
    assert_eq!(call("GET", &gw.url("/metrics"), &[], "").await.0, 200);
    assert_eq!(call("GET", &ready, &[], "").await.0, 200);
    for path in ["/readyz", "/metrics"] {
        let (s, h, _) = call("GET", &gw.url(path), &[], "").await;
        assert_eq!(s, 429, "{path}");
        assert!(h.contains_key("retry-after"));
    }
    drop(gw);

    // metrics_allow and a bearer token restrict /metrics; who may read it also sees which
    // upstream is (not) ready.
    let dir = TempDir::new().unwrap();
    let metrics_token = secret()[..48].to_owned();
    let cfg = format!(
        "[gateway]\nmetrics_allow = [\"10.0.0.0/8\"]\nmetrics_token = \"${{VIGIL_TEST_METRICS_TOKEN}}\"\n{route}"
    );
    let gw = Gateway::start(
        dir.path(),
        &cfg,
        &[("VIGIL_TEST_METRICS_TOKEN", metrics_token.as_str())],
    );
    let allowed = bearer(&metrics_token);
    let (s, _, body) = call("GET", &gw.url("/readyz"), &[], "").await;
    assert_eq!((s.as_u16(), body.trim()), (200, r#"{"ready":true}"#));
    let (s, _, body) = call(
        "GET",
        &gw.url("/readyz"),
        &[("authorization", &allowed)],
        "",
    )
    .await;
    assert_eq!(s, 200);
    assert!(body.contains(&addr.to_string()), "{body}");
    for auth in [None, Some("Bearer wrong-token")] {
        let h: Vec<(&str, &str)> = auth.map(|a| ("authorization", a)).into_iter().collect();
        let (s, _, body) = call("GET", &gw.url("/metrics"), &h, "").await;
        assert!(s == 401 || s == 403, "{s}: {body}");
        assert!(!body.contains("vigil_gateway_requests"));
    }
    let (s, _, body) = call(
        "GET",
        &gw.url("/metrics"),
        &[("authorization", &allowed)],
        "",
    )
    .await;
    assert_eq!(s, 200);
    assert!(body.contains("vigil_gateway_requests"));
    drop(gw);

    // metrics_allow alone: loopback allowed.
    let dir = TempDir::new().unwrap();
    let cfg = format!("[gateway]\nmetrics_allow = [\"127.0.0.1/32\"]\n{route}");
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let (s, _, body) = call("GET", &gw.url("/metrics"), &[], "").await;
    assert_eq!(s, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_never_split_a_log_line() {
    let up = Upstream::start().await;
    let hook = Webhook::start().await;
    for format in ["text", "json"] {
        let dir = TempDir::new().unwrap();
        let cfg = hardened(
            &up,
            &format!(
                "[gateway.alerts]\ntoken_expiry = \"30m\"\nwebhook_url = \"{}\"",
                hook.url
            ),
            "",
        );
        let gw = Gateway::start_with(
            dir.path(),
            &cfg,
            &[],
            &["--log-format", format],
            &["--listen", "127.0.0.1:0"],
        );
        // An hour-long token with ten minutes left, and a JSON-RPC method carrying a forged log
        // line (a subject carrying one is refused outright since gw-blackbox G: see
        // blackbox::subjects_that_are_not_clean_header_values_are_refused).
        let forged = "eve\r\n2026-01-01T00:00:00Z  INFO forged: admin logged in\n\u{7}";
        let t = token_with(
            &secret(),
            "filesystem",
            "eve",
            now() - 3000,
            3600,
            serde_json::json!({}),
        );
        let (s, _, _) = call(
            "POST",
            &gw.url("/mcp/filesystem/x"),
            &[
                ("authorization", &bearer(&t)),
                ("content-type", "application/json"),
            ],
            &serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": forged}).to_string(),
        )
        .await;
        assert_eq!(s, 200);
        assert!(gw.wait_log("token_expiring"), "{}", gw.log_text());
        assert!(gw.wait_log("forged"), "{}", gw.log_text());
        let logs = gw.log_text();
        for line in logs.lines() {
            assert!(
                !line.contains("INFO forged") || line.contains("eve"),
                "a subject started its own log line: {line:?}"
            );
            assert!(!line.contains('\r') && !line.contains('\u{7}'), "{line:?}");
            if format == "json" {
                serde_json::from_str::<serde_json::Value>(line)
                    .unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_expiring_fires_only_for_long_lived_tokens_and_names_the_client() {
    let up = Upstream::start().await;
    let hook = Webhook::start().await;
    let dir = TempDir::new().unwrap();
    let cfg = hardened(
        &up,
        &format!(
            "trusted_proxies = [\"127.0.0.1\"]\n[gateway.alerts]\ntoken_expiry = \"1h\"\nwebhook_url = \"{}\"",
            hook.url
        ),
        "",
    );
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let url = gw.url("/mcp/filesystem/x");
    // A fresh 15-minute token lives less than the threshold from its start: no alert.
    let short = token("filesystem", "short-lived");
    // A four-hour token with thirty minutes left: the alert, naming the client.
    let long = token_with(
        &secret(),
        "filesystem",
        "long-lived",
        now() - 3 * 3600 - 1800,
        4 * 3600,
        serde_json::json!({}),
    );
    for t in [&short, &long] {
        let (s, _, _) = call(
            "GET",
            &url,
            &[
                ("authorization", &bearer(t)),
                ("x-forwarded-for", "203.0.113.44"),
            ],
            "",
        )
        .await;
        assert_eq!(s, 200);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while hook.got.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = hook.got.lock().unwrap().clone();
    let expiring: Vec<&serde_json::Value> = got
        .iter()
        .filter(|g| g["alert"]["alert"] == "token_expiring")
        .collect();
    assert_eq!(expiring.len(), 1, "{got:?}");
    assert_eq!(expiring[0]["alert"]["subject"], "long-lived");
    assert_eq!(expiring[0]["alert"]["client_ip"], "203.0.113.44");
    let logs = gw.log_text();
    let line = logs
        .lines()
        .find(|l| l.contains("\"alert\":\"token_expiring\""))
        .unwrap();
    assert!(line.contains("\"client_ip\":\"203.0.113.44\""), "{line}");
}
