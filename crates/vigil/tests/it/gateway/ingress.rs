//! Ingress without the gateway's own tokens: webhook routes verified by signature against a
//! rotation's two secrets (Standard Webhooks and GitHub deliveries signed with the backup
//! secret pass, bad signatures, stale timestamps and replayed ids get 401, `/metrics` names the
//! secret that matched), and OpenID Connect issuers discovered over loopback (RS256 and ES256
//! tokens of a local issuer pass; discovery pointing at a private address is refused).

use super::*;
use base64::Engine as _;
use hmac::Mac as _;

/// `n` random bytes.
fn random(n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b).unwrap();
    b
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Standard Webhooks headers for `body` signed with `key` (raw bytes).
fn standard(id: &str, ts: u64, body: &str, key: &[u8]) -> Vec<(String, String)> {
    let ts = ts.to_string();
    let sig = hmac(
        key,
        &[id.as_bytes(), b".", ts.as_bytes(), b".", body.as_bytes()],
    );
    vec![
        ("content-type".into(), "application/json".into()),
        ("webhook-id".into(), id.into()),
        ("webhook-timestamp".into(), ts),
        ("webhook-signature".into(), format!("v1,{}", b64(&sig))),
    ]
}

/// GitHub headers for `body` signed with `secret`.
fn github(delivery: &str, body: &str, secret: &str) -> Vec<(String, String)> {
    let sig = hmac(secret.as_bytes(), &[body.as_bytes()]);
    vec![
        ("content-type".into(), "application/json".into()),
        ("x-github-event".into(), "push".into()),
        ("x-github-delivery".into(), delivery.into()),
        (
            "x-hub-signature-256".into(),
            format!("sha256={}", hex(&sig)),
        ),
    ]
}

async fn post(gw: &Gateway, path: &str, headers: &[(String, String)], body: &str) -> (u16, String) {
    let h: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (status, _, text) = call("POST", &gw.url(path), &h, body).await;
    (status.as_u16(), text)
}

fn webhook_config(up: &Upstream) -> String {
    format!(
        "[gateway]\nlisten = \"127.0.0.1:8443\"\n\n\
         [[gateway.routes]]\npath = \"/hooks/events\"\nupstream = \"http://{0}/events\"\n\
         webhook = {{ scheme = \"standard-webhooks\", secrets = [\"${{EVENTS_SECRET_DEFAULT}}\", \"${{EVENTS_SECRET_BACKUP}}\"], tolerance = \"5m\" }}\n\n\
         [[gateway.routes]]\npath = \"/hooks/github\"\nupstream = \"http://{0}/github\"\n\
         webhook = {{ scheme = \"github\", secrets = [\"${{WEBHOOK_SECRET_DEFAULT}}\", \"${{WEBHOOK_SECRET_BACKUP}}\"] }}\n",
        up.addr
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_signed_with_either_secret_pass_once_and_metrics_name_the_secret() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    // Standard Webhooks secrets: whsec_ and 32 random bytes; GitHub's: 48 random bytes in base64.
    let (ev_default, ev_backup) = (random(32), random(32));
    let (gh_default, gh_backup) = (b64(&random(48)), b64(&random(48)));
    let env = [
        (
            "EVENTS_SECRET_DEFAULT",
            format!("whsec_{}", b64(&ev_default)),
        ),
        ("EVENTS_SECRET_BACKUP", format!("whsec_{}", b64(&ev_backup))),
        ("WEBHOOK_SECRET_DEFAULT", gh_default.clone()),
        ("WEBHOOK_SECRET_BACKUP", gh_backup.clone()),
    ];
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let gw = Gateway::start(dir.path(), &webhook_config(&up), &env_refs);

    // Standard Webhooks, signed with the backup secret, no bearer token: passes once.
    let body = r#"{"type":"invoice.paid","data":{"id":"in_1"}}"#;
    let t = now();
    let signed = standard("msg_one", t, body, &ev_backup);
    assert_eq!(post(&gw, "/hooks/events", &signed, body).await.0, 200);
    let seen = up.seen();
    let got = seen.last().expect("the upstream got the delivery");
    assert_eq!(got.uri, "/events");
    assert_eq!(got.body, body.as_bytes());
    // The same delivery again: a replay.
    let (status, text) = post(&gw, "/hooks/events", &signed, body).await;
    assert_eq!((status, text.contains("replayed")), (401, true), "{text}");
    // A stale timestamp, correctly signed with the default secret.
    let stale = standard("msg_two", t - 600, body, &ev_default);
    let (status, text) = post(&gw, "/hooks/events", &stale, body).await;
    assert_eq!(
        (status, text.contains("stale_timestamp")),
        (401, true),
        "{text}"
    );
    // A body changed after signing, and a signature by a key not configured.
    let tampered = standard("msg_three", t, body, &ev_default);
    let (status, _) = post(
        &gw,
        "/hooks/events",
        &tampered,
        &body.replace("in_1", "in_2"),
    )
    .await;
    assert_eq!(status, 401);
    let forged = standard("msg_four", t, body, &random(32));
    let (status, text) = post(&gw, "/hooks/events", &forged, body).await;
    assert_eq!(
        (status, text.contains("bad_signature")),
        (401, true),
        "{text}"
    );
    // No signature at all.
    let (status, _) = post(&gw, "/hooks/events", &[], body).await;
    assert_eq!(status, 401);
    // The default secret passes too.
    let fresh = standard("msg_five", t, body, &ev_default);
    assert_eq!(post(&gw, "/hooks/events", &fresh, body).await.0, 200);

    // GitHub, signed with the backup secret: passes; a bad signature and a replayed delivery
    // id (best effort: the id is unsigned) get 401.
    let push = r#"{"ref":"refs/heads/main","after":"0000000000000000000000000000000000000000"}"#;
    let gh = github("72d3162e-cc78-11e3-81ab-4c9367dc0958", push, &gh_backup);
    assert_eq!(post(&gw, "/hooks/github", &gh, push).await.0, 200);
    assert_eq!(up.seen().last().unwrap().uri, "/github");
    assert_eq!(post(&gw, "/hooks/github", &gh, push).await.0, 401);
    // The id in another case is the same id; a second id header (400: a header of the
    // webhook given twice), or none, is refused rather than let through unremembered.
    let upper = github("72D3162E-CC78-11E3-81AB-4C9367DC0958", push, &gh_backup);
    assert_eq!(post(&gw, "/hooks/github", &upper, push).await.0, 401);
    let mut two = gh.clone();
    two.push((
        "x-github-delivery".into(),
        "72d3162e-cc78-11e3-81ab-000000000002".into(),
    ));
    let (status, text) = post(&gw, "/hooks/github", &two, push).await;
    assert_eq!(
        (status, text.contains("ambiguous_header")),
        (400, true),
        "{text}"
    );
    let none: Vec<(String, String)> = gh
        .iter()
        .filter(|(k, _)| k != "x-github-delivery")
        .cloned()
        .collect();
    assert_eq!(post(&gw, "/hooks/github", &none, push).await.0, 401);
    // A checked header's twin under another spelling, which a CGI or WSGI upstream may read
    // instead of the checked one, is refused (re-test finding 7).
    let mut twin = github("72d3162e-cc78-11e3-81ab-000000000003", push, &gh_backup);
    twin.push((
        "x_github_delivery".into(),
        "72d3162e-cc78-11e3-81ab-000000000004".into(),
    ));
    let (status, text) = post(&gw, "/hooks/github", &twin, push).await;
    assert_eq!(
        (status, text.contains("ambiguous_header")),
        (400, true),
        "{text}"
    );
    // Twins of the unchecked headers too (final black-box #4): never forwarded beside them.
    for (name, value) in [("x_github_event", "issues"), ("X_Hub_Signature", "sha1=0")] {
        let mut twin = github("72d3162e-cc78-11e3-81ab-000000000005", push, &gh_backup);
        twin.push((name.into(), value.into()));
        let before = up.seen().len();
        let (status, text) = post(&gw, "/hooks/github", &twin, push).await;
        assert_eq!(
            (status, text.contains("ambiguous_header")),
            (400, true),
            "{name}: {text}"
        );
        assert_eq!(up.seen().len(), before, "{name} reached the upstream");
    }
    // A header of the webhook given twice (bb-gw-s6 #10: a second `X-GitHub-Event`, which the
    // signature does not cover and an upstream may route by): 400, never forwarded.
    let mut events = github("72d3162e-cc78-11e3-81ab-000000000006", push, &gh_backup);
    events.push(("x-github-event".into(), "delete".into()));
    let before = up.seen().len();
    let (status, text) = post(&gw, "/hooks/github", &events, push).await;
    assert_eq!(
        (status, text.contains("ambiguous_header")),
        (400, true),
        "{text}"
    );
    let mut ids = standard("msg_twice", t, body, &ev_default);
    ids.push(("webhook-id".into(), "msg_other".into()));
    let (status, text) = post(&gw, "/hooks/events", &ids, body).await;
    assert_eq!(
        (status, text.contains("ambiguous_header")),
        (400, true),
        "{text}"
    );
    assert_eq!(
        up.seen().len(),
        before,
        "a doubled header reached the upstream"
    );
    let mut svix = standard("msg_svix", t, body, &ev_default);
    svix.push(("svix-id".into(), "msg_other".into()));
    let (status, text) = post(&gw, "/hooks/events", &svix, body).await;
    assert_eq!(
        (status, text.contains("ambiguous_header")),
        (400, true),
        "{text}"
    );
    let bad = github(
        "72d3162e-cc78-11e3-81ab-000000000001",
        push,
        &b64(&random(48)),
    );
    let (status, text) = post(&gw, "/hooks/github", &bad, push).await;
    assert_eq!(
        (status, text.contains("bad_signature")),
        (401, true),
        "{text}"
    );

    // /metrics names which secret matched (by variable, never its value).
    let (_, _, metrics) = call("GET", &gw.url("/metrics"), &[], "").await;
    for line in [
        "vigil_gateway_webhook_verified_total{route=\"/hooks/events\",secret=\"EVENTS_SECRET_BACKUP\"} 1",
        "vigil_gateway_webhook_verified_total{route=\"/hooks/events\",secret=\"EVENTS_SECRET_DEFAULT\"} 1",
        "vigil_gateway_webhook_verified_total{route=\"/hooks/github\",secret=\"WEBHOOK_SECRET_BACKUP\"} 1",
        "vigil_gateway_webhook_refused_total{route=\"/hooks/events\",kind=\"replayed\"} 1",
        "vigil_gateway_webhook_refused_total{route=\"/hooks/events\",kind=\"stale_timestamp\"} 1",
        "vigil_gateway_webhook_refused_total{route=\"/hooks/events\",kind=\"bad_signature\"} 2",
        "vigil_gateway_webhook_refused_total{route=\"/hooks/github\",kind=\"replayed\"} 2",
        "vigil_gateway_webhook_refused_total{route=\"/hooks/github\",kind=\"missing_delivery\"} 1",
        "vigil_gateway_webhook_refused_total{route=\"/hooks/github\",kind=\"bad_signature\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} missing from\n{metrics}");
    }
    assert!(
        !metrics.contains("WEBHOOK_SECRET_DEFAULT"),
        "unused secret counted"
    );
    let log = gw.log_text();
    assert!(gw.wait_log("webhook:EVENTS_SECRET_BACKUP"), "{log}");
    for (_, v) in &env {
        assert!(!metrics.contains(v.as_str()) && !log.contains(v.as_str()));
    }
}

#[test]
fn weak_or_repeated_webhook_secrets_are_refused_at_start() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let config = "[gateway]\n\n[[gateway.routes]]\npath = \"/hooks/github\"\nupstream = \"http://127.0.0.1:9\"\n\
                  webhook = { scheme = \"github\", secrets = [\"${WEBHOOK_SECRET_DEFAULT}\", \"${WEBHOOK_SECRET_BACKUP}\"] }\n";
    std::fs::write(d.join("vigil.toml"), config).unwrap();
    let strong = b64(&random(48));
    let check = |default: &str, backup: &str| {
        common::vigil(d)
            .args(["gateway", "check"])
            .env_remove("MCP_JWT_SECRET")
            .env("WEBHOOK_SECRET_DEFAULT", default)
            .env("WEBHOOK_SECRET_BACKUP", backup)
            .output()
            .unwrap()
    };
    let out = check(&strong, "changeme");
    expect_exit(&out, 2);
    let err = stderr_of(&out);
    assert!(
        err.contains(
            "vigil.toml:6: gateway.routes[0].webhook.secrets[1]: WEBHOOK_SECRET_BACKUP is too weak"
        ),
        "{err}"
    );
    assert!(!err.contains("changeme"), "{err}");
    let out = check(&strong, &strong);
    expect_exit(&out, 2);
    assert!(
        stderr_of(&out).contains("WEBHOOK_SECRET_BACKUP equals WEBHOOK_SECRET_DEFAULT"),
        "{}",
        stderr_of(&out)
    );
    // Two strong secrets: no MCP_JWT_SECRET needed for a webhook-only gateway.
    let out = check(&strong, &b64(&random(48)));
    expect_exit(&out, 0);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("auth=webhook:github"), "{text}");
}

/// A tiny OpenID Connect issuer on loopback: its discovery document (whose `jwks_uri` is
/// `jwks_uri`, or its own `/jwks`) and its JWKS `jwks`. Returns its URL.
fn issuer(jwks: String, jwks_uri: Option<&str>) -> String {
    use std::io::{BufRead, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let discovery = serde_json::json!({
        "issuer": url,
        "jwks_uri": jwks_uri.map_or_else(|| format!("{url}/jwks"), str::to_owned),
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
    })
    .to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut r = std::io::BufReader::new(s.try_clone().unwrap());
            let mut first = String::new();
            let _ = r.read_line(&mut first);
            let mut line = String::new();
            while r.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let path = first.split_whitespace().nth(1).unwrap_or("");
            let (status, body) = match path {
                p if p.ends_with("/.well-known/openid-configuration") => {
                    ("200 OK", discovery.as_str())
                }
                "/jwks" => ("200 OK", jwks.as_str()),
                _ => ("404 Not Found", "{}"),
            };
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

/// A key pair made by `openssl genpkey` (`rsa` or `ec`), as a signing key named `kid`.
fn keypair(dir: &std::path::Path, kind: &str, kid: &str) -> vigil_token::Key {
    let path = dir.join(format!("{kid}.pem"));
    let args: &[&str] = if kind == "rsa" {
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ]
    } else {
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
        ]
    };
    let out = std::process::Command::new("openssl")
        .args(args)
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    vigil_token::Key::from_pem_files(Some(kid.into()), None, None, Some(&path)).unwrap()
}

fn mint(key: &vigil_token::Key, iss: &str, aud: &str) -> String {
    let req = vigil_token::MintRequest {
        audiences: vec![aud.to_owned()],
        subject: Some("ana".into()),
        issuer: Some(iss.to_owned()),
        ttl: 300,
        claims: Default::default(),
    };
    vigil_token::mint(key, &req, now(), 86_400).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oidc_issuer_is_discovered_and_its_rs256_and_es256_tokens_pass() {
    let up = Upstream::start().await;
    let keys = TempDir::new().unwrap();
    let rsa = keypair(keys.path(), "rsa", "rsa-1");
    let ec = keypair(keys.path(), "ec", "ec-1");
    let stranger = keypair(keys.path(), "ec", "ec-2");
    let jwks = serde_json::json!({"keys": [rsa.public_jwk().unwrap(), ec.public_jwk().unwrap()]});
    let iss = issuer(jwks.to_string(), None);
    let dir = TempDir::new().unwrap();
    let config = format!(
        "[gateway]\nlisten = \"127.0.0.1:8443\"\n\n[[gateway.routes]]\npath = \"/mcp/filesystem\"\n\
         upstream = \"http://{}/mcp\"\naudience = \"filesystem\"\n\
         oidc = {{ issuer = \"{iss}\", allow_private = [\"127.0.0.0/8\"] }}\n",
        up.addr
    );
    let gw = Gateway::start(dir.path(), &config, &[]);
    let list = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
    let send = |t: String| {
        let url = gw.url("/mcp/filesystem");
        async move {
            let auth = bearer(&t);
            call(
                "POST",
                &url,
                &[
                    ("authorization", &auth),
                    ("content-type", "application/json"),
                    ("accept", MCP),
                ],
                list,
            )
            .await
        }
    };
    for key in [&rsa, &ec] {
        let (status, _, text) = send(mint(key, &iss, "filesystem")).await;
        assert_eq!(status, 200, "{text}");
        assert!(text.contains("echo"), "{text}");
    }
    assert_eq!(up.seen().last().unwrap().headers["x-vigil-subject"], "ana");
    // Another issuer's name, another audience, a key the issuer does not publish, and a token
    // of the gateway's own HMAC secret: all refused on this route.
    let (status, _, text) = send(mint(&ec, "https://elsewhere.example", "filesystem")).await;
    assert_eq!(status, 401, "{text}");
    assert_eq!(send(mint(&rsa, &iss, "git")).await.0, 401);
    assert_eq!(send(mint(&stranger, &iss, "filesystem")).await.0, 401);
    assert_eq!(send(token("filesystem", "ana")).await.0, 401);
}

#[test]
fn an_issuer_pointing_at_a_private_address_or_naming_another_issuer_is_refused() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let jwks = r#"{"keys":[]}"#.to_owned();
    let check = |iss: &str, allow: &str| {
        let config = format!(
            "[gateway]\n\n[[gateway.routes]]\npath = \"/mcp/filesystem\"\nupstream = \"http://127.0.0.1:9\"\n\
             oidc = {{ issuer = \"{iss}\"{allow} }}\n"
        );
        std::fs::write(d.join("vigil.toml"), config).unwrap();
        let out = common::vigil(d)
            .args(["gateway", "check"])
            .env_remove("MCP_JWT_SECRET")
            .output()
            .unwrap();
        expect_exit(&out, 2);
        let err = stderr_of(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("vigil.toml:6: gateway.routes[0].oidc.issuer: "),
            "{err}"
        );
        err
    };
    let loopback = ", allow_private = [\"127.0.0.0/8\"]";
    // The cloud metadata address and a private network, named by the issuer's discovery.
    let metadata = issuer(
        jwks.clone(),
        Some("http://169.254.169.254/latest/meta-data"),
    );
    let err = check(&metadata, loopback);
    assert!(err.contains("jwks_uri `http://169.254.169.254/latest/meta-data` resolves to 169.254.169.254, a link-local address; refused"), "{err}");
    // Messages keep their words: the redactor must not read `passwd: not` as a credential, nor
    // is a URL with a user part shown at all.
    let err = check("file:///etc/passwd", "");
    assert!(
        err.contains(
            "`file:///etc/passwd/.well-known/openid-configuration` is not an http(s) URL with a host"
        ),
        "{err}"
    );
    let err = check("http://127.0.0.1:9200@127.0.0.2", loopback);
    assert!(
        err.contains("the issuer URL has a user part (user:password@host); refused"),
        "{err}"
    );
    assert!(!err.contains("9200"), "{err}");
    let private = issuer(jwks.clone(), Some("https://10.0.0.7/keys"));
    let err = check(&private, loopback);
    assert!(err.contains("a private address"), "{err}");
    // The issuer itself on loopback, without allow_private.
    let local = issuer(jwks.clone(), None);
    let err = check(&local, "");
    assert!(err.contains("a loopback address"), "{err}");
    // A discovery document naming another issuer.
    let other = issuer(jwks, None);
    let err = check(&format!("{other}/realms/x"), loopback);
    assert!(
        err.contains(&format!(
            "the discovery document names issuer {other}, not the configured {other}/realms/x"
        )),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_a_standard_webhook_id_is_refused_by_every_instance_once_seen() {
    let up = Upstream::start().await;
    let redis = gw::Redis::start();
    let (key, other) = (random(32), random(32));
    let config = format!(
        "{}\n[gateway.rate_limit]\nper_ip = \"1000/minute\"\nbackend = \"redis\"\nurl = \"{}\"\n",
        webhook_config(&up),
        redis.redis_url()
    );
    let env = [
        ("EVENTS_SECRET_DEFAULT", format!("whsec_{}", b64(&key))),
        ("EVENTS_SECRET_BACKUP", format!("whsec_{}", b64(&other))),
        ("WEBHOOK_SECRET_DEFAULT", b64(&random(48))),
        ("WEBHOOK_SECRET_BACKUP", b64(&random(48))),
    ];
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (d1, d2) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let a = Gateway::start(d1.path(), &config, &env_refs);
    let b = Gateway::start(d2.path(), &config, &env_refs);
    let body = r#"{"type":"ping"}"#;
    let signed = standard("msg_shared", now(), body, &key);
    assert_eq!(post(&a, "/hooks/events", &signed, body).await.0, 200);
    let (status, text) = post(&b, "/hooks/events", &signed, body).await;
    assert_eq!((status, text.contains("replayed")), (401, true), "{text}");
    let next = standard("msg_next", now(), body, &other);
    assert_eq!(post(&b, "/hooks/events", &next, body).await.0, 200);
    assert_eq!(post(&a, "/hooks/events", &next, body).await.0, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_keeps_the_webhook_replay_memory_and_an_oidc_route_names_its_issuer() {
    // Without Redis the delivery ids live in the process: a SIGHUP must not forget them.
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let (ev_default, ev_backup) = (random(32), random(32));
    let env = [
        (
            "EVENTS_SECRET_DEFAULT",
            format!("whsec_{}", b64(&ev_default)),
        ),
        ("EVENTS_SECRET_BACKUP", format!("whsec_{}", b64(&ev_backup))),
        ("WEBHOOK_SECRET_DEFAULT", b64(&random(48))),
        ("WEBHOOK_SECRET_BACKUP", b64(&random(48))),
    ];
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let gw = Gateway::start(dir.path(), &webhook_config(&up), &env_refs);
    let body = r#"{"type":"invoice.paid","data":{"id":"in_9"}}"#;
    let signed = standard("msg_reload", now(), body, &ev_default);
    assert_eq!(post(&gw, "/hooks/events", &signed, body).await.0, 200);
    gw.signal("HUP");
    assert!(
        gw.wait_log("configuration and keys reloaded"),
        "{}",
        gw.log_text()
    );
    let (status, text) = post(&gw, "/hooks/events", &signed, body).await;
    assert_eq!(
        (status, text.contains("replayed")),
        (401, true),
        "after a reload: {text}"
    );

    // An OpenID Connect route's protected-resource metadata names its configured issuer.
    let keys = TempDir::new().unwrap();
    let rsa = keypair(keys.path(), "rsa", "rsa-1");
    let iss = issuer(
        serde_json::json!({"keys": [rsa.public_jwk().unwrap()]}).to_string(),
        None,
    );
    let dir = TempDir::new().unwrap();
    let config = format!(
        "[gateway]\nlisten = \"127.0.0.1:8443\"\n\n[[gateway.routes]]\npath = \"/mcp/filesystem\"\n\
         upstream = \"http://{}/mcp\"\naudience = \"filesystem\"\n\
         oidc = {{ issuer = \"{iss}\", allow_private = [\"127.0.0.0/8\"] }}\n",
        up.addr
    );
    let gw = Gateway::start(dir.path(), &config, &[]);
    let (status, _, text) = call(
        "GET",
        &gw.url("/.well-known/oauth-protected-resource/mcp/filesystem"),
        &[],
        "",
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        doc["authorization_servers"],
        serde_json::json!([iss]),
        "{doc}"
    );
    // And `gateway check` shows the issuer and its keys.
    let out = common::vigil(dir.path())
        .args(["gateway", "check"])
        .env("MCP_JWT_SECRET", secret())
        .output()
        .unwrap();
    expect_exit(&out, 0);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("  oidc issuer {iss} (1 keys)")),
        "{text}"
    );
}
