//! The process: SIGTERM drains in-flight requests, SIGHUP reloads on open connections, TLS with
//! HSTS and a renewed certificate after SIGHUP, the listen backlog.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_in_flight_requests_and_sighup_reloads_on_open_connections() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let mut gw = Gateway::start(dir.path(), &config(&up, "", ""), &[]);
    let t = token("filesystem", "jo");
    let a = bearer(&t);

    // One kept-alive connection across the reload.
    let stream = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    // HTTP/1.1 on one connection: wait until it is ready, read each answer to its end.
    async fn status(
        sender: &mut hyper::client::conn::http1::SendRequest<http_body_util::Empty<bytes::Bytes>>,
        req: http::Request<http_body_util::Empty<bytes::Bytes>>,
    ) -> u16 {
        sender.ready().await.unwrap();
        let resp = sender.send_request(req).await.unwrap();
        let code = resp.status().as_u16();
        resp.into_body().collect().await.unwrap();
        code
    }
    let get = |path: &str| {
        http::Request::get(path)
            .header("host", "gw")
            .header("authorization", &a)
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .unwrap()
    };
    assert_eq!(status(&mut sender, get("/mcp/filesystem/a")).await, 200);
    assert_eq!(status(&mut sender, get("/mcp/tools/a")).await, 404);
    // Add a route and reload.
    let cfg = config(&up, "", "")
        + &format!(
            "\n[[gateway.routes]]\npath = \"/mcp/tools\"\nupstream = \"http://{}\"\n",
            up.addr
        );
    std::fs::write(dir.path().join("vigil.toml"), cfg).unwrap();
    gw.signal("HUP");
    assert!(gw.wait_log("configuration and keys reloaded"));
    let tools = token("tools", "jo");
    let req = http::Request::get("/mcp/tools/a")
        .header("host", "gw")
        .header("authorization", bearer(&tools))
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    assert_eq!(
        status(&mut sender, req).await,
        200,
        "same connection, new route"
    );

    // A broken configuration on reload keeps the running one.
    std::fs::write(dir.path().join("vigil.toml"), "[gateway]\nlisten = 5\n").unwrap();
    gw.signal("HUP");
    assert!(gw.wait_log("reload failed"));
    assert_eq!(status(&mut sender, get("/mcp/filesystem/b")).await, 200);

    // The token was accepted (and remembered) under the old rules; a reload that makes the route
    // require a scope applies to it at once.
    std::fs::write(
        dir.path().join("vigil.toml"),
        config(&up, "scopes = [\"fs:write\"]", ""),
    )
    .unwrap();
    gw.signal("HUP");
    assert!(gw.wait_log_n("configuration and keys reloaded", 2));
    assert_eq!(status(&mut sender, get("/mcp/filesystem/c")).await, 403);
    std::fs::write(dir.path().join("vigil.toml"), config(&up, "", "")).unwrap();
    gw.signal("HUP");
    assert!(gw.wait_log_n("configuration and keys reloaded", 3));
    assert_eq!(status(&mut sender, get("/mcp/filesystem/d")).await, 200);

    // SIGTERM while a slow request is in flight: it completes, then the process exits 0.
    let (slow_url, a2) = (gw.url("/mcp/filesystem/slow"), a.clone());
    let slow =
        tokio::spawn(async move { call("GET", &slow_url, &[("authorization", &a2)], "").await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    gw.signal("TERM");
    let (s, _, body) = slow.await.unwrap();
    assert_eq!((s.as_u16(), body.as_str()), (200, "slow done"));
    let status = tokio::task::spawn_blocking(move || {
        let st = gw.child.wait().unwrap();
        (st, gw)
    })
    .await
    .unwrap();
    assert!(status.0.success(), "{:?}", status.0);
    // Every request has its access line, the last one (written just before exit) included.
    let gw = status.1;
    let count = || {
        gw.log_text()
            .lines()
            .filter(|l| {
                l.contains("\"target\":\"vigil::access\"")
                    && l.contains("\"route\":\"/mcp/filesystem\"")
            })
            .count()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while count() < 5 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let (fs, lines) = (count(), gw.log_text());
    assert_eq!(fs, 5, "{lines}");
}

/// A fresh test CA and a server certificate for 127.0.0.1 signed by it (`cert.pem`, `key.pem` in
/// `dir`); returns the CA certificate, the only root the client trusts.
fn make_cert(dir: &std::path::Path) -> Vec<u8> {
    let openssl = |args: &[&str]| {
        let st = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "openssl {args:?}");
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &["-keyout", "ca.key", "-out", "ca.pem", "-days", "1"],
        ]
        .concat()
        .into_iter()
        .chain(["-subj", "/CN=vigil test CA"])
        .collect::<Vec<_>>(),
    );
    openssl(
        &[
            &["req", "-x509", "-CA", "ca.pem", "-CAkey", "ca.key"][..],
            &ec,
        ]
        .concat()
        .into_iter()
        .chain([
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-addext",
            "extendedKeyUsage=serverAuth",
        ])
        .collect::<Vec<_>>(),
    );
    std::fs::read(dir.join("ca.pem")).unwrap()
}

/// GET or POST over HTTPS trusting only `root`: status, headers and body.
fn https(
    root: &[u8],
    method: &str,
    url: &str,
    auth: Option<&str>,
) -> Result<(u16, http::HeaderMap, String), String> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let root = ureq::tls::Certificate::from_pem(root).unwrap();
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::Specific(std::sync::Arc::new(vec![
            root,
        ])))
        .build();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let mut resp = match method {
        "POST" => {
            let mut r = agent
                .post(url)
                .header("content-type", "application/json")
                .header("accept", "application/json, text/event-stream");
            if let Some(a) = auth {
                r = r.header("authorization", a);
            }
            r.send(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        }
        _ => agent.get(url).call(),
    }
    .map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    Ok((status, headers, body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_is_terminated_with_hsts_and_a_renewed_certificate_is_served_after_sighup() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let first = make_cert(dir.path());
    let gw = Gateway::start(
        dir.path(),
        &config(
            &up,
            "",
            "[gateway.tls]\ncert = \"cert.pem\"\nkey = \"key.pem\"\n",
        ),
        &[],
    );
    let base = format!("https://{}", gw.addr);
    let auth = bearer(&token("filesystem", "tess"));

    let (b, a) = (base.clone(), auth.clone());
    let (root, r2) = (first.clone(), first.clone());
    let (health, call_fs, meta) = tokio::task::spawn_blocking(move || {
        (
            https(&root, "GET", &format!("{b}/healthz"), None),
            https(&root, "POST", &format!("{b}/mcp/filesystem"), Some(&a)),
            https(
                &r2,
                "GET",
                &format!("{b}/.well-known/oauth-protected-resource/mcp/filesystem"),
                None,
            ),
        )
    })
    .await
    .unwrap();
    let (status, h, _) = health.unwrap();
    assert_eq!(status, 200);
    assert!(h["strict-transport-security"]
        .to_str()
        .unwrap()
        .starts_with("max-age="));
    let (status, _, _) = call_fs.unwrap();
    assert_eq!(status, 200);
    let seen = up.seen.lock().unwrap().last().unwrap().headers.clone();
    assert_eq!(seen["x-forwarded-proto"], "https");
    assert!(seen.get("authorization").is_none());
    let m: serde_json::Value = serde_json::from_str(&meta.unwrap().2).unwrap();
    assert_eq!(m["resource"], format!("{base}/mcp/filesystem"));

    // Plain HTTP on the TLS port is not served.
    let mut plain = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: gw\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut got)).await;
    assert!(!got.starts_with(b"HTTP/1.1 200"), "plain HTTP was served");

    // A renewed certificate (new key) is served after SIGHUP; the old one is no longer trusted.
    let second = make_cert(dir.path());
    gw.signal("HUP");
    assert!(gw.wait_log("configuration and keys reloaded"));
    let (b, s2, f2) = (base.clone(), second.clone(), first.clone());
    let (new_ok, old_refused) = tokio::task::spawn_blocking(move || {
        (
            https(&s2, "GET", &format!("{b}/healthz"), None),
            https(&f2, "GET", &format!("{b}/healthz"), None),
        )
    })
    .await
    .unwrap();
    assert_eq!(new_ok.unwrap().0, 200);
    assert!(old_refused.is_err(), "the old certificate is still served");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listen_backlog_is_at_least_1024_and_configurable() {
    let up = Upstream::start().await;
    let somaxconn: u32 = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    for (extra, want) in [("", 1024u32), ("backlog = 2048", 2048)] {
        let dir = TempDir::new().unwrap();
        let gw = Gateway::start(dir.path(), &hardened(&up, extra, ""), &[]);
        // `ss` shows a listening socket's backlog in its Send-Q column.
        let out = std::process::Command::new("ss")
            .args(["-Hltn", &format!("sport = :{}", gw.addr.port())])
            .output()
            .expect("ss (iproute2) is installed");
        let text = String::from_utf8_lossy(&out.stdout);
        let backlog: u32 = text
            .split_whitespace()
            .nth(2)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no listening socket in {text:?}"));
        assert_eq!(backlog, want.min(somaxconn), "{text}");
    }
}
