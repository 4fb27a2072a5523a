//! Rate limits per IP and subject (429 at the configured rate, not before), good clients served
//! through a flood of bad tokens and slow-loris clients, and one limit shared through Redis.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_answer_429_at_the_configured_rate_and_not_before() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let cfg = config(
        &up,
        "rate_limit = { per_ip = \"60/minute\", burst = 3 }",
        "trusted_proxies = [\"127.0.0.1\"]\n[gateway.rate_limit]\nper_ip = \"5/minute\"",
    ) + &format!(
        "\n[[gateway.routes]]\npath = \"/mcp/memory\"\nupstream = \"http://{0}\"\n\
         \n[[gateway.routes]]\npath = \"/mcp/vector\"\nupstream = \"http://{0}\"\n\
         rate_limit = {{ per_subject = \"2/minute\" }}\n",
        up.addr
    );
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let mem = gw.url("/mcp/memory/x");
    let t = token("memory", "dana");
    let a = bearer(&t);
    // The default: 5 a minute per IP, the whole window as burst: five pass, the sixth waits.
    for i in 0..5 {
        let (s, _, b) = call("GET", &mem, &[("authorization", &a)], "").await;
        assert_eq!(s, 200, "request {i}: {b}");
    }
    let (s, h, _) = call("GET", &mem, &[("authorization", &a)], "").await;
    assert_eq!(s, 429);
    let wait: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=12).contains(&wait), "retry-after {wait}");
    // Another client IP (through the trusted proxy) has its own allowance.
    let other = [
        ("authorization", a.as_str()),
        ("x-forwarded-for", "203.0.113.5"),
    ];
    assert_eq!(call("GET", &mem, &other, "").await.0, 200);

    // The filesystem route: 60/minute with a burst of 3: three pass, the fourth waits about a
    // second, and one more passes once that second is over.
    let fs = gw.url("/mcp/filesystem/x");
    let ft = token("filesystem", "erin");
    let ip = [
        ("authorization", bearer(&ft)),
        ("x-forwarded-for", "198.51.100.1".to_owned()),
    ];
    let ip: Vec<(&str, &str)> = ip.iter().map(|(k, v)| (*k, v.as_str())).collect();
    for _ in 0..3 {
        assert_eq!(call("GET", &fs, &ip, "").await.0, 200);
    }
    let (s, h, _) = call("GET", &fs, &ip, "").await;
    assert_eq!(s, 429);
    assert_eq!(h["retry-after"], "1");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(call("GET", &fs, &ip, "").await.0, 200);
    // Per subject (2 a minute on /mcp/vector): a third request fails from any address.
    let vec_url = gw.url("/mcp/vector/q");
    let vt = bearer(&token("vector", "kim"));
    for ip in ["192.0.2.1", "192.0.2.2"] {
        assert_eq!(
            call(
                "GET",
                &vec_url,
                &[("authorization", &vt), ("x-forwarded-for", ip)],
                ""
            )
            .await
            .0,
            200
        );
    }
    let (s, _, body) = call(
        "GET",
        &vec_url,
        &[("authorization", &vt), ("x-forwarded-for", "192.0.2.3")],
        "",
    )
    .await;
    assert_eq!(s, 429, "{body}");

    let (_, _, metrics) = call("GET", &gw.url("/metrics"), &[], "").await;
    assert!(
        metrics.contains("vigil_gateway_rate_limited_total{route=\"/mcp/memory\",kind=\"ip\"} 1"),
        "{metrics}"
    );
    assert!(metrics
        .contains("vigil_gateway_rate_limited_total{route=\"/mcp/filesystem\",kind=\"ip\"} 1"));
    assert!(metrics
        .contains("vigil_gateway_rate_limited_total{route=\"/mcp/vector\",kind=\"subject\"} 1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn good_clients_are_served_through_a_bad_token_flood_and_slow_loris() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let cfg = config(
        &up,
        "",
        "trusted_proxies = [\"127.0.0.1\"]\nheader_timeout = \"2s\"",
    );
    let gw = Gateway::start(dir.path(), &cfg, &[]);
    let addr = gw.addr;
    // 64 slow-loris connections: a request head sent one byte every 300 ms, never finished.
    let mut loris = Vec::new();
    for _ in 0..64 {
        loris.push(tokio::spawn(async move {
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            let head = b"GET /mcp/filesystem HTTP/1.1\r\nHost: x\r\nX-Slow: ";
            let started = std::time::Instant::now();
            for b in head
                .iter()
                .chain(b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".iter())
            {
                if s.write_all(&[*b]).await.is_err() {
                    return started.elapsed();
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
                let mut probe = [0u8; 64];
                if let Ok(Ok(0)) =
                    tokio::time::timeout(Duration::from_millis(1), s.read(&mut probe)).await
                {
                    return started.elapsed();
                }
            }
            Duration::MAX
        }));
    }
    // Two flooders with forged tokens from many addresses (behind the trusted proxy).
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut flood = Vec::new();
    for f in 0..2u8 {
        let stop = stop.clone();
        let url = gw.url("/mcp/filesystem");
        flood.push(tokio::spawn(async move {
            let forged = token_with(
                &"e".repeat(64),
                "filesystem",
                "x",
                now(),
                900,
                serde_json::json!({}),
            );
            let a = bearer(&forged);
            let mut n = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && n < 5000 {
                let ip = format!("203.0.{f}.{}", n % 250);
                let (s, _, _) = call(
                    "GET",
                    &url,
                    &[("authorization", &a), ("x-forwarded-for", &ip)],
                    "",
                )
                .await;
                assert!(s == 401 || s == 429);
                n += 1;
            }
            n
        }));
    }
    let t = token("filesystem", "ivy");
    let a = bearer(&t);
    for i in 0..40 {
        let got = tokio::time::timeout(
            Duration::from_secs(3),
            call(
                "GET",
                &gw.url("/mcp/filesystem/ok"),
                &[("authorization", &a), ("x-forwarded-for", "198.51.100.77")],
                "",
            ),
        )
        .await
        .unwrap_or_else(|_| panic!("good request {i} starved"));
        assert_eq!(got.0, 200, "good request {i}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut bad = 0;
    for f in flood {
        bad += f.await.unwrap();
    }
    assert!(bad > 100, "the flood ran ({bad} requests)");
    // Slow heads are cut off at the 2 s header timeout, not left open.
    for l in loris {
        let lived = l.await.unwrap();
        assert!(
            lived < Duration::from_secs(6),
            "slow-loris connection lived {lived:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_sharing_redis_enforce_one_limit() {
    let up = Upstream::start().await;
    let redis = gw::Redis::start();
    let cfg = config(
        &up,
        "",
        &format!(
            "[gateway.rate_limit]\nper_ip = \"7/minute\"\nbackend = \"redis\"\nurl = \"{}\"",
            redis.redis_url()
        ),
    );
    let (d1, d2) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let a = Gateway::start(d1.path(), &cfg, &[]);
    let b = Gateway::start(d2.path(), &cfg, &[]);
    let t = bearer(&token("filesystem", "lee"));
    // Alternating between the instances: seven pass in all, then both refuse.
    for i in 0..7 {
        let gw = if i % 2 == 0 { &a } else { &b };
        let (s, _, body) = call(
            "GET",
            &gw.url("/mcp/filesystem/x"),
            &[("authorization", &t)],
            "",
        )
        .await;
        assert_eq!(s, 200, "request {i}: {body}");
    }
    for gw in [&a, &b] {
        let (s, h, _) = call(
            "GET",
            &gw.url("/mcp/filesystem/x"),
            &[("authorization", &t)],
            "",
        )
        .await;
        assert_eq!(s, 429);
        let wait: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=9).contains(&wait), "retry-after {wait}");
    }
    // If Redis goes away, each instance keeps limiting on its own (and says so).
    drop(redis);
    let (s, _, _) = call(
        "GET",
        &a.url("/mcp/filesystem/x"),
        &[("authorization", &t)],
        "",
    )
    .await;
    assert_eq!(s, 200, "the local fallback starts with a fresh allowance");
    assert!(a.wait_log("redis rate limit unavailable"));

    // An unreachable Redis at start is a one-line error naming the key.
    let dir = TempDir::new().unwrap();
    let dead = cfg.replace(&format!("127.0.0.1:{}", redis_port(&cfg)), "127.0.0.1:1");
    std::fs::write(dir.path().join("vigil.toml"), dead).unwrap();
    let out = common::vigil(dir.path())
        .args(["gateway", "--listen", "127.0.0.1:0"])
        .env("MCP_JWT_SECRET", secret())
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    expect_exit(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr)
        .starts_with("vigil: gateway.rate_limit.url: cannot reach redis"));
}

fn redis_port(cfg: &str) -> String {
    let at = cfg.find("redis://127.0.0.1:").unwrap() + "redis://127.0.0.1:".len();
    cfg[at..].chars().take_while(char::is_ascii_digit).collect()
}
