//! `vigil token` end to end: the real binary, PyJWT from PyPI on the other side, key files made by
//! `openssl`, a JWKS served over loopback HTTP, configuration errors with file and line.

use crate::common;

use common::{expect_exit, json, python_with, run, vigil, write};
use std::io::{BufRead, BufReader, Write as _};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command as StdCommand;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tempfile::TempDir;

/// A secret shaped like `openssl rand -base64 32`, different per seed, made at run time.
fn secret(seed: u64) -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut s: String = (0..43)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            alphabet[(x % 64) as usize] as char
        })
        .collect();
    s.push('=');
    s
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn mint(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> String {
    let mut c = vigil(dir);
    c.args(["token", "mint"]).args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    expect_exit(&out, 0);
    stdout(&out)
}

fn verify(dir: &Path, env: &[(&str, &str)], token: &str, args: &[&str]) -> std::process::Output {
    let mut c = vigil(dir);
    c.args(["token", "verify", "--format", "json"])
        .args(args)
        .arg(token);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

/// Runs a PyJWT snippet; `argv[1..]` are the extra arguments. Returns (exit code, stdout).
fn py(python: &Path, code: &str, args: &[&str]) -> (i32, String) {
    let out = StdCommand::new(python)
        .args(["-c", code])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).trim().to_owned(),
    )
}

const PY_DECODE: &str = r#"
import sys, jwt
try:
    c = jwt.decode(sys.argv[1], sys.argv[2], algorithms=["HS256"], audience=sys.argv[3], leeway=0)
    print("ok", c["sub"], c["aud"])
except jwt.ExpiredSignatureError: print("expired"); sys.exit(1)
except jwt.InvalidAudienceError: print("wrong_audience"); sys.exit(1)
except jwt.InvalidSignatureError: print("bad_signature"); sys.exit(1)
"#;

const PY_ENCODE: &str = r#"
import sys, time, jwt
now = int(time.time())
exp = now + int(sys.argv[3])
print(jwt.encode({"sub": "admin", "aud": sys.argv[2], "iat": now, "exp": exp}, sys.argv[1], algorithm="HS256"))
"#;

const PY_EDDSA_DECODE: &str = r#"
import sys, jwt
key = open(sys.argv[2]).read()
c = jwt.decode(sys.argv[1], key, algorithms=["EdDSA"], audience="git")
print("ok", c["aud"], jwt.get_unverified_header(sys.argv[1])["kid"])
"#;

#[test]
fn tokens_cross_between_vigil_and_pyjwt_in_both_directions() {
    let python = python_with("jwt, cryptography", "PyJWT[crypto]");
    let dir = TempDir::new().unwrap();
    let s = secret(11);
    let env = [("MCP_JWT_SECRET", s.as_str())];

    // Vigil mints, PyJWT verifies with the same secret and audience.
    let t = mint(
        dir.path(),
        &env,
        &["--aud", "filesystem", "--ttl", "900", "--sub", "admin"],
    );
    assert_eq!(
        py(&python, PY_DECODE, &[&t, &s, "filesystem"]),
        (0, "ok admin filesystem".into())
    );
    // …and refuses it for another audience, with another secret, or tampered.
    assert_eq!(
        py(&python, PY_DECODE, &[&t, &s, "memory"]).1,
        "wrong_audience"
    );
    assert_eq!(
        py(&python, PY_DECODE, &[&t, &secret(12), "filesystem"]).1,
        "bad_signature"
    );
    let mut parts: Vec<String> = t.split('.').map(str::to_owned).collect();
    parts[1] = parts[1].replacen('e', "f", 1);
    let tampered = parts.join(".");
    assert_ne!(py(&python, PY_DECODE, &[&tampered, &s, "filesystem"]).0, 0);
    // Vigil agrees on all three.
    assert_eq!(
        json(&verify(dir.path(), &env, &t, &["--aud", "memory"]))["reason"],
        "wrong_audience"
    );
    assert_eq!(
        json(&verify(
            dir.path(),
            &[("MCP_JWT_SECRET", &secret(12))],
            &t,
            &[]
        ))["reason"],
        "bad_signature"
    );
    let v = verify(dir.path(), &env, &tampered, &[]);
    expect_exit(&v, 1);
    assert!(["bad_signature", "malformed"].contains(&json(&v)["reason"].as_str().unwrap()));

    // PyJWT mints, Vigil verifies; and both refuse PyJWT's expired and wrong-audience tokens.
    let (_, pt) = py(&python, PY_ENCODE, &[&s, "memory", "600"]);
    let ok = verify(dir.path(), &env, &pt, &["--aud", "memory"]);
    expect_exit(&ok, 0);
    let v = json(&ok);
    assert_eq!(
        (v["valid"].as_bool(), v["claims"]["sub"].as_str()),
        (Some(true), Some("admin"))
    );
    assert!(v["expires_in"].as_u64().unwrap() > 590);
    assert_eq!(
        json(&verify(dir.path(), &env, &pt, &["--aud", "git"]))["reason"],
        "wrong_audience"
    );
    let (_, expired) = py(&python, PY_ENCODE, &[&s, "memory", "-3600"]);
    let e = verify(dir.path(), &env, &expired, &["--aud", "memory"]);
    expect_exit(&e, 1);
    assert_eq!(json(&e)["reason"], "expired");
    assert_eq!(
        py(&python, PY_DECODE, &[&expired, &s, "memory"]).1,
        "expired"
    );

    // A Vigil token that has expired (1 s lifetime, then 2 s later) is refused by both sides.
    let short = mint(dir.path(), &env, &["--aud", "vector", "--ttl", "1"]);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(
        py(
            &python,
            PY_DECODE.replace("c[\"sub\"]", "c.get(\"sub\")").as_str(),
            &[&short, &s, "vector"]
        )
        .1,
        "expired"
    );
    assert_eq!(
        json(&verify(dir.path(), &env, &short, &["--leeway", "0"]))["reason"],
        "expired"
    );

    // EdDSA: Vigil mints with a key from vigil.toml, PyJWT verifies with the public PEM.
    let keys = dir.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    openssl(&keys, "ed");
    write(
        dir.path(),
        "vigil.toml",
        "[token]\ncurrent = \"ed-1\"\n\n[[token.keys]]\nkid = \"ed-1\"\npublic_key = \"keys/ed.pub.pem\"\nprivate_key = \"keys/ed.pem\"\n",
    );
    let et = mint(dir.path(), &[], &["--aud", "git"]);
    let pubkey = keys.join("ed.pub.pem");
    assert_eq!(
        py(&python, PY_EDDSA_DECODE, &[&et, pubkey.to_str().unwrap()]),
        (0, "ok git ed-1".into())
    );
}

fn openssl(dir: &Path, name: &str) {
    let private = dir.join(format!("{name}.pem"));
    let out = StdCommand::new("openssl")
        .args(["genpkey", "-algorithm", "ed25519", "-out"])
        .arg(&private)
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = StdCommand::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&private)
        .arg("-out")
        .arg(dir.join(format!("{name}.pub.pem")))
        .output()
        .unwrap();
    assert!(out.status.success());
}

#[test]
fn token_help_lists_the_subcommands() {
    let dir = TempDir::new().unwrap();
    let out = run(dir.path(), &["token", "--help"]);
    expect_exit(&out, 0);
    insta::assert_snapshot!("token_help", stdout(&out));
}

#[test]
fn rotation_keeps_previous_tokens_valid_and_mints_with_the_new_secret() {
    let dir = TempDir::new().unwrap();
    let (old, new) = (secret(21), secret(22));
    let before = mint(
        dir.path(),
        &[("MCP_JWT_SECRET", &old)],
        &["--aud", "memory", "--ttl", "10m"],
    );
    // Rotate: the old secret moves to MCP_JWT_SECRET_PREVIOUS.
    let env = [
        ("MCP_JWT_SECRET", new.as_str()),
        ("MCP_JWT_SECRET_PREVIOUS", old.as_str()),
    ];
    let v = verify(dir.path(), &env, &before, &[]);
    expect_exit(&v, 0);
    let v = json(&v);
    assert_eq!(v["key"]["label"], "MCP_JWT_SECRET_PREVIOUS");
    assert_eq!(v["key"]["current"], false);
    let after = mint(dir.path(), &env, &["--aud", "memory"]);
    let v = json(&verify(dir.path(), &env, &after, &[]));
    assert_eq!(
        (v["key"]["label"].as_str(), v["key"]["current"].as_bool()),
        (Some("MCP_JWT_SECRET"), Some(true))
    );
    // The same secret from a key file (as `openssl rand -base64 32 > jwt.key` writes it).
    write(dir.path(), "jwt.key", format!("{new}\n"));
    let from_file = mint(
        dir.path(),
        &[],
        &["--aud", "memory", "--key-file", "jwt.key"],
    );
    let v = json(&verify(dir.path(), &env, &from_file, &[]));
    assert_eq!(v["key"]["label"], "MCP_JWT_SECRET");
    // Retire the previous secret: tokens signed with it stop working.
    let v = verify(dir.path(), &[("MCP_JWT_SECRET", &new)], &before, &[]);
    expect_exit(&v, 1);
    assert_eq!(json(&v)["reason"], "bad_signature");
    // Text output: the claims and the time left; the previous key is called out.
    let mut c = vigil(dir.path());
    c.args(["token", "verify", &before]).envs(env);
    let out = c.output().unwrap();
    expect_exit(&out, 0);
    let text = stdout(&out);
    assert!(
        text.starts_with("valid: HS256 signed by MCP_JWT_SECRET_PREVIOUS (previous"),
        "{text}"
    );
    assert!(
        text.contains("expires in 9m") || text.contains("expires in 10m"),
        "{text}"
    );
    assert!(text.contains("\"aud\""));
    assert!(!stderr(&out).contains(&old) && !stdout(&out).contains(&old));
}

#[test]
fn secrets_and_tokens_never_reach_logs_or_errors() {
    let dir = TempDir::new().unwrap();
    let s = secret(31);
    let t = mint(
        dir.path(),
        &[("MCP_JWT_SECRET", &s)],
        &["--aud", "git", "-vv"],
    );
    let mut c = vigil(dir.path());
    c.args([
        "-vv",
        "--log-format",
        "json",
        "token",
        "mint",
        "--aud",
        "git",
    ])
    .env("MCP_JWT_SECRET", &s);
    let out = c.output().unwrap();
    expect_exit(&out, 0);
    let err = stderr(&out);
    assert!(err.contains("token minted"), "the mint is logged: {err}");
    assert!(!err.contains(&s), "secret in logs");
    assert!(!err.contains(&stdout(&out)), "token in logs");
    // A rejected token: the reason, never the token.
    let mut c = vigil(dir.path());
    c.args(["-vv", "token", "verify", &t])
        .env("MCP_JWT_SECRET", secret(32));
    let out = c.output().unwrap();
    expect_exit(&out, 1);
    assert_eq!(
        stderr(&out).trim(),
        "vigil: token rejected: bad signature: no live key of the ring signed this token"
    );
    assert!(!stderr(&out).contains(&t));
}

#[test]
fn mint_refuses_what_the_policy_forbids() {
    let dir = TempDir::new().unwrap();
    let s = secret(41);
    let env = [("MCP_JWT_SECRET", s.as_str())];
    let mut c = vigil(dir.path());
    c.args(["token", "mint", "--aud", "git", "--ttl", "2d"])
        .envs(env);
    let out = c.output().unwrap();
    expect_exit(&out, 2);
    assert_eq!(
        stderr(&out).trim(),
        "vigil: ttl 172800s exceeds the maximum of 86400s (raise [token] max_ttl to allow it)"
    );
    write(dir.path(), "vigil.toml", "[token]\naudiences = [\"filesystem\", \"memory\"]\nmax_ttl = \"1h\"\nissuer = \"vigil-test\"\n");
    let mut c = vigil(dir.path());
    c.args(["token", "mint", "--aud", "git"]).envs(env);
    let out = c.output().unwrap();
    expect_exit(&out, 2);
    assert!(stderr(&out)
        .contains("--aud: `git` is not one of the configured audiences (filesystem, memory)"));
    let mut c = vigil(dir.path());
    c.args(["token", "mint", "--aud", "memory", "--ttl", "2h"])
        .envs(env);
    expect_exit(&c.output().unwrap(), 2);
    let mut c = vigil(dir.path());
    c.args(["token", "mint", "--aud", "memory", "--claim", "exp=1"])
        .envs(env);
    let out = c.output().unwrap();
    expect_exit(&out, 2);
    assert!(stderr(&out).contains("claim `exp` is set by vigil"));
    // Issuer and extra claims land in the token and are checked on verify.
    let t = mint(
        dir.path(),
        &env,
        &[
            "--aud",
            "memory",
            "--claim",
            "scope=[\"read\",\"write\"]",
            "--claim",
            "team=ops",
        ],
    );
    let v = json(&verify(dir.path(), &env, &t, &[]));
    assert_eq!(v["claims"]["iss"], "vigil-test");
    assert_eq!(v["claims"]["scope"], serde_json::json!(["read", "write"]));
    assert_eq!(v["claims"]["team"], "ops");
    assert_eq!(v["header"]["alg"], "HS256");
    // No secret at all: a clear error naming the variable.
    let out = run(dir.path(), &["token", "mint", "--aud", "memory"]);
    expect_exit(&out, 2);
    assert!(
        stderr(&out).contains("no key: set MCP_JWT_SECRET"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn configuration_errors_name_file_line_and_key() {
    let dir = TempDir::new().unwrap();
    let env = [("MCP_JWT_SECRET", secret(51))];
    let cases = [
        ("[token]\nleeway = \"30s\"\nmax_tll = \"1h\"\n", "vigil.toml:3: token.max_tll: unknown field"),
        ("[token]\nleeway = \"soon\"\n", "vigil.toml:2: token.leeway: not a duration"),
        ("[token]\nalgorithms = [\"HS256\", \"none\"]\n", "vigil.toml:2: token.algorithms[1]: `none` can never be allowed"),
        (
            "[token]\n\n[[token.keys]]\nkid = \"a\"\npublic_key = \"missing.pem\"\nalg = \"EdDSA\"\n",
            "vigil.toml:5: token.keys[0].public_key: missing.pem: cannot read key",
        ),
        ("[token]\ncurrent = \"nope\"\n", "vigil.toml:2: token.current: no key with kid or name `nope`"),
    ];
    for (toml, want) in cases {
        write(dir.path(), "vigil.toml", toml);
        let mut c = vigil(dir.path());
        c.args(["token", "mint", "--aud", "git"]).envs(env.clone());
        let out = c.output().unwrap();
        expect_exit(&out, 2);
        let err = stderr(&out);
        assert!(
            err.starts_with(&format!("vigil: {want}")),
            "{toml:?}: {err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}

#[test]
fn inspect_decodes_without_verifying_and_says_so() {
    let dir = TempDir::new().unwrap();
    let t = mint(
        dir.path(),
        &[("MCP_JWT_SECRET", &secret(61))],
        &["--aud", "filesystem", "--sub", "ops"],
    );
    let mut c = vigil(dir.path());
    c.args(["token", "inspect", "--format", "json", "-"])
        .write_stdin(format!("Bearer {t}\n"));
    let out = c.output().unwrap();
    expect_exit(&out, 0);
    assert!(stderr(&out).contains("NOT VERIFIED"));
    let v = json(&out);
    assert_eq!(v["verified"], false);
    assert_eq!(v["claims"]["sub"], "ops");
    assert!(v["notes"][0].as_str().unwrap().starts_with("expires in"));
    // An unsigned token is decoded, and flagged.
    let none = format!(
        "{}.{}.",
        common_b64(br#"{"alg":"none"}"#),
        common_b64(br#"{"sub":"root"}"#)
    );
    let out = run(dir.path(), &["token", "inspect", &none]);
    expect_exit(&out, 0);
    let text = stdout(&out);
    assert!(text.contains("note: no `exp`"), "{text}");
    assert!(text.contains("note: alg `none`"), "{text}");
}

fn common_b64(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// A one-route HTTP server on loopback that serves `body` and counts requests.
fn serve(body: String) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/.well-known/jwks.json",
        listener.local_addr().unwrap()
    );
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut r = BufReader::new(s.try_clone().unwrap());
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

#[test]
fn jwks_published_by_one_side_verifies_on_the_other_over_http_with_a_cache() {
    let issuer = TempDir::new().unwrap();
    let keys = issuer.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    openssl(&keys, "ed");
    write(
        issuer.path(),
        "vigil.toml",
        "[token]\n\n[[token.keys]]\nkid = \"ed-2026-11\"\nprivate_key = \"keys/ed.pem\"\n",
    );
    let token = mint(issuer.path(), &[], &["--aud", "vector", "--ttl", "5m"]);
    let out = run(issuer.path(), &["token", "jwks"]);
    expect_exit(&out, 0);
    let jwks = json(&out);
    assert_eq!(jwks["keys"][0]["kid"], "ed-2026-11");
    assert_eq!(jwks["keys"][0]["kty"], "OKP");
    assert!(
        jwks["keys"][0].get("d").is_none(),
        "the private half is never published"
    );

    // The verifying side knows only the URL.
    let (url, hits) = serve(jwks.to_string());
    let verifier = TempDir::new().unwrap();
    write(
        verifier.path(),
        "vigil.toml",
        format!("[token]\naudiences = [\"vector\"]\n\n[token.jwks]\nurl = \"{url}\"\n"),
    );
    let v = verify(verifier.path(), &[], &token, &[]);
    expect_exit(&v, 0);
    assert_eq!(json(&v)["key"]["kid"], "ed-2026-11");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    // A second run uses the cache in .vigil/.
    expect_exit(&verify(verifier.path(), &[], &token, &[]), 0);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert!(verifier.path().join(".vigil/jwks-cache.json").is_file());
    // A token with an unknown kid: the cache is under a minute old, so no refetch…
    let forged = format!(
        "{}.{}.{}",
        common_b64(br#"{"alg":"EdDSA","kid":"ed-unknown"}"#),
        token.split('.').nth(1).unwrap(),
        token.split('.').nth(2).unwrap()
    );
    let v = verify(verifier.path(), &[], &forged, &[]);
    expect_exit(&v, 1);
    assert_eq!(json(&v)["reason"], "unknown_kid");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    // …and with no minimum interval, one refetch before the same refusal.
    write(
        verifier.path(),
        "vigil.toml",
        format!("[token.jwks]\nurl = \"{url}\"\nrefresh_interval = \"0s\"\n"),
    );
    let v = verify(verifier.path(), &[], &forged, &[]);
    expect_exit(&v, 1);
    assert_eq!(json(&v)["reason"], "unknown_kid");
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    // Plain HTTP to a non-loopback host is refused before any connection.
    write(
        verifier.path(),
        "vigil.toml",
        "[token.jwks]\nurl = \"http://example.invalid/jwks.json\"\ncache = \"other-cache.json\"\n",
    );
    let out = verify(verifier.path(), &[], &token, &[]);
    expect_exit(&out, 2);
    assert!(
        stderr(&out).contains("vigil.toml:2: token.jwks.url"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("only https:// URLs"));
}

#[test]
fn check_config_reads_environments_through_the_env_model() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let (shared, own) = (secret(73), secret(74));
    // Production: two services with one secret; staging reuses it (the problem); the default
    // environment's root file and bot service share another.
    write(d, ".env.prod", format!("MCP_JWT_SECRET={shared}\n"));
    write(
        d,
        "services/bot/.env.prod",
        format!("MCP_JWT_SECRET={shared}\n"),
    );
    write(d, ".env.stage", format!("MCP_JWT_SECRET={shared}\n"));
    write(d, ".env", format!("MCP_JWT_SECRET={own}\n"));
    write(d, ".env.bot", format!("MCP_JWT_SECRET={own}\n"));
    write(d, ".env.example", "MCP_JWT_SECRET=\n");
    let out = run(d, &["token", "check-config", "--format", "json"]);
    expect_exit(&out, 1);
    let v = json(&out);
    let got: Vec<(String, String)> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["environment"].as_str().unwrap().to_owned(),
                p["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [("production".to_owned(), "secret_shared".to_owned())],
        "services of one environment share its secret; environments do not"
    );
    let msg = v["problems"][0]["message"].as_str().unwrap();
    assert!(msg.contains("production, staging"), "{msg}");
    // The same problem as SARIF (valid against the official schema, pointing at its
    // environment) and as JUnit, from the shared renderers.
    let sarif = run(d, &["token", "check-config", "--format", "sarif"]);
    expect_exit(&sarif, 1);
    let file = d.join("out.sarif");
    std::fs::write(&file, &sarif.stdout).unwrap();
    let python = python_with("jsonschema", "jsonschema");
    let ok = StdCommand::new(python)
        .args(["-c", "import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))"])
        .arg(&file)
        .arg(common::sarif_schema())
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "SARIF invalid: {}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let s = json(&sarif);
    let results = s["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["ruleId"], "secret_shared");
    assert_eq!(
        s["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .len(),
        vigil_token::compliance::Code::ALL.len(),
        "every check is listed as a rule"
    );
    let junit = run(d, &["token", "check-config", "--format", "junit"]);
    expect_exit(&junit, 1);
    let xml = String::from_utf8_lossy(&junit.stdout);
    assert!(
        xml.contains("<testsuite") && xml.contains("secret_shared"),
        "{xml}"
    );
    assert!(!xml.contains(&shared), "a secret never reaches a report");
    let mut envs: Vec<(String, String)> = v["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["origin"].as_str().unwrap().to_owned(),
                e["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    envs.sort();
    assert_eq!(
        envs,
        [
            (".env".to_owned(), "default".to_owned()),
            (".env.bot".into(), "default".into()),
            (".env.prod".into(), "production".into()),
            (".env.stage".into(), "staging".into()),
            ("services/bot/.env.prod".into(), "production".into()),
        ]
    );
    // Files given on the command line are placed by the same model.
    let out = run(
        d,
        &[
            "token",
            "check-config",
            "--format",
            "json",
            ".env.prod",
            ".env.bot",
        ],
    );
    expect_exit(&out, 0);
    let names: Vec<String> = json(&out)["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["production", "default"]);
    write(d, ".env.blue", format!("MCP_JWT_SECRET={own}\n"));
    let out = run(d, &["token", "check-config", ".env.blue"]);
    expect_exit(&out, 2);
    assert!(
        stderr(&out).contains("blue = [\".env.blue\"]"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn check_config_is_the_jwt_compliance_gate() {
    let dir = TempDir::new().unwrap();
    let strong = secret(71);
    let shared = secret(72);
    write(
        dir.path(),
        ".env.production",
        format!("MCP_JWT_SECRET={shared}\nMCP_DEV_BYPASS=1\n"),
    );
    write(
        dir.path(),
        ".env.staging",
        format!("MCP_JWT_SECRET={shared}\n"),
    );
    write(
        dir.path(),
        ".env.development",
        "MCP_JWT_SECRET=changeme\nMCP_DEV_BYPASS=1\n",
    );
    write(
        dir.path(),
        ".env.ci",
        "MCP_JWT_SECRET=abcabcabcabcabcabcabcabcabcabcabcabc\n",
    );
    write(dir.path(), ".env.example", "MCP_JWT_SECRET=\n");
    write(dir.path(), "vigil.toml", "[token]\nmax_ttl = \"7d\"\n");
    let out = run(dir.path(), &["token", "check-config", "--format", "json"]);
    expect_exit(&out, 1);
    let v = json(&out);
    let mut got: Vec<(String, String)> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["environment"].as_str().unwrap().to_owned(),
                p["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    got.sort();
    let want: Vec<(String, String)> = [
        ("ci", "secret_weak"),
        ("development", "secret_default"),
        ("production", "dev_bypass"),
        ("production", "secret_shared"),
        ("vigil.toml", "max_ttl"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, want);
    // CSV (and SARIF's physical location) name the one file each environment came from, and
    // vigil.toml for the policy problem.
    let csv = run(dir.path(), &["token", "check-config", "--format", "csv"]);
    expect_exit(&csv, 1);
    let csv = String::from_utf8_lossy(&csv.stdout).into_owned();
    for file in [
        ".env.ci",
        ".env.development",
        ".env.production",
        "vigil.toml",
    ] {
        assert!(
            csv.lines().any(|l| l.contains(file)),
            "{file} not named: {csv}"
        );
    }
    let names: Vec<&str> = v["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["ci", "development", "production", "staging"],
        "templates are skipped"
    );
    let text = run(dir.path(), &["token", "check-config"]);
    expect_exit(&text, 1);
    insta::assert_snapshot!("check_config_text", stdout(&text));
    let all = format!("{}{}{}", stdout(&out), stdout(&text), stderr(&text));
    assert!(
        !all.contains(&shared) && !all.contains("changeme"),
        "values never printed"
    );

    // Fixed: distinct strong secrets, no bypass in production, a 1-day max.
    write(dir.path(), "vigil.toml", "[token]\nmax_ttl = \"1d\"\n");
    let out = run(
        dir.path(),
        &[
            "token",
            "check-config",
            &format!("production={}", dir.path().join("p.env").display()),
        ],
    );
    expect_exit(&out, 2);
    assert!(stderr(&out).contains("p.env: cannot read"));
    write(
        dir.path(),
        "p.env",
        format!("MCP_JWT_SECRET={strong}\nMCP_DEV_BYPASS=0\n"),
    );
    let out = run(dir.path(), &["token", "check-config", "production=p.env"]);
    expect_exit(&out, 0);
    assert_eq!(stdout(&out), "");
    // No file: the process environment, as production.
    let mut c = vigil(dir.path());
    c.args(["token", "check-config"])
        .env("MCP_JWT_SECRET", &strong)
        .env("MCP_DEV_BYPASS", "true");
    std::fs::remove_file(dir.path().join(".env.production")).unwrap();
    for f in [".env.staging", ".env.development", ".env.ci", "p.env"] {
        std::fs::remove_file(dir.path().join(f)).unwrap();
    }
    let out = c.output().unwrap();
    expect_exit(&out, 1);
    assert!(
        stdout(&out).contains("production: MCP_DEV_BYPASS is on in a production environment"),
        "{}",
        stdout(&out)
    );
}

/// D (h15-blackbox.md): every verifying secret (current and previous) is compared across
/// environments: after `cp .env.prod .env.dev` and a dual rotation, both environments still
/// accept tokens signed with the one old secret, and check-config says so.
#[test]
fn check_config_compares_previous_secrets_across_environments() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    write(d, ".env.prod", format!("MCP_JWT_SECRET={}\n", secret(601)));
    std::fs::copy(d.join(".env.prod"), d.join(".env.dev")).unwrap();
    let out = run(d, &["env", "rotate", "--dual", "MCP_JWT_SECRET", "--write"]);
    expect_exit(&out, 0);
    let out = run(d, &["token", "check-config", "--format", "json"]);
    expect_exit(&out, 1);
    let v = json(&out);
    let shared: Vec<&serde_json::Value> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["code"] == "secret_shared")
        .collect();
    assert_eq!(shared.len(), 1, "{v}");
    let m = shared[0]["message"].as_str().unwrap();
    assert!(
        m.contains("MCP_JWT_SECRET_PREVIOUS")
            && m.contains("development")
            && m.contains("production"),
        "{m}"
    );
    assert!(!m.contains(&secret(601)));
    // The env check agrees.
    expect_exit(&run(d, &["env", "check"]), 1);
}

/// bb-all-s7 #1 and #11: a guessable key anywhere in the ring (current or previous) is refused by
/// `verify`, as `mint` and the gateway refuse it; a `--env-file` that sets the current secret
/// gives the previous one too (a stray shell variable adds no key); `check-config` judges the
/// previous secret like the current one and refuses a label that contradicts the file's name.
#[test]
fn guessable_keys_and_mixed_sources_never_verify_and_the_ci_gate_sees_them() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let strong = secret(71);
    let other = secret(72);
    let forged = mint(
        d,
        &[("W", "changeme")],
        &["--secret-env", "W", "--aud", "fs", "--allow-weak-secret"],
    );
    // `changeme` as the current or the previous secret: exit 2 naming the variable, never the value.
    for env in [
        vec![("MCP_JWT_SECRET", "changeme")],
        vec![
            ("MCP_JWT_SECRET", strong.as_str()),
            ("MCP_JWT_SECRET_PREVIOUS", "changeme"),
        ],
    ] {
        let out = verify(d, &env, &forged, &["--aud", "fs"]);
        expect_exit(&out, 2);
        let e = stderr(&out);
        assert!(e.contains(env.last().unwrap().0), "{e}");
        assert!(
            !e.contains("changeme") && !stdout(&out).contains("\"valid\": true"),
            "{e}"
        );
        // Development only: the flag verifies with a warning.
        let out = verify(d, &env, &forged, &["--aud", "fs", "--allow-weak-secret"]);
        expect_exit(&out, 0);
        assert!(
            stderr(&out).contains("--allow-weak-secret"),
            "{}",
            stderr(&out)
        );
    }
    // The env file holds only the current secret; the shell's stale previous one is not read.
    write(d, ".env.prod", format!("MCP_JWT_SECRET={strong}\n"));
    let old = mint(
        d,
        &[("W", other.as_str())],
        &["--secret-env", "W", "--aud", "fs"],
    );
    let mixed = [("MCP_JWT_SECRET_PREVIOUS", other.as_str())];
    let out = verify(d, &mixed, &old, &["--aud", "fs", "--env-file", ".env.prod"]);
    expect_exit(&out, 1);
    // And the reverse: a file with only the previous secret gets no current one from the shell.
    write(d, ".env.prev", format!("MCP_JWT_SECRET_PREVIOUS={other}\n"));
    let fresh = mint(
        d,
        &[("W", strong.as_str())],
        &["--secret-env", "W", "--aud", "fs"],
    );
    let shell = [("MCP_JWT_SECRET", strong.as_str())];
    let out = verify(
        d,
        &shell,
        &fresh,
        &["--aud", "fs", "--env-file", ".env.prev"],
    );
    expect_exit(&out, 1);
    // Without the file, the process environment is one source: both secrets from it verify.
    let both = [
        ("MCP_JWT_SECRET", strong.as_str()),
        ("MCP_JWT_SECRET_PREVIOUS", other.as_str()),
    ];
    expect_exit(&verify(d, &both, &old, &["--aud", "fs"]), 0);

    // Tester 157: a file binding the secret twice (changeme, then a strong one) is the weak one
    // for dotenvy and docker compose: mint, verify and the gateway's check refuse it, naming the
    // line, never a value.
    write(
        d,
        ".env.twice",
        format!("MCP_JWT_SECRET=changeme\nMCP_JWT_SECRET={strong}\n"),
    );
    for args in [
        &["token", "mint", "--aud", "fs", "--env-file", ".env.twice"][..],
        &[
            "token",
            "verify",
            "--aud",
            "fs",
            "--env-file",
            ".env.twice",
            &old,
        ][..],
        &["gateway", "check", "--env-file", ".env.twice"][..],
    ] {
        let out = run(d, args);
        expect_exit(&out, 2);
        let e = stderr(&out);
        assert!(
            e.contains(
                ".env.twice:2: MCP_JWT_SECRET is bound again with another value (first at line 1)"
            ),
            "{args:?}: {e}"
        );
        assert!(
            !e.contains("changeme") && !e.contains(strong.as_str()),
            "{e}"
        );
    }
    // Tester 158: nor may two files bind it differently (the first file won, so the weak one
    // was never judged, and with the files the other way round it was used).
    write(d, ".env.weak", "MCP_JWT_SECRET=changeme\n");
    write(d, ".env.strong", format!("MCP_JWT_SECRET={strong}\n"));
    let out = run(
        d,
        &[
            "token",
            "mint",
            "--aud",
            "fs",
            "--env-file",
            ".env.strong",
            "--env-file",
            ".env.weak",
        ],
    );
    expect_exit(&out, 2);
    let e = stderr(&out);
    assert!(
        e.contains(".env.weak:1: MCP_JWT_SECRET is also bound, with another value, in .env.strong (line 1)"),
        "{e}"
    );
    assert!(
        !e.contains("changeme") && !e.contains(strong.as_str()),
        "{e}"
    );

    // check-config: a guessable previous secret fails the gate, named, never printed.
    write(
        d,
        ".env.prod",
        format!("MCP_JWT_SECRET={strong}\nMCP_JWT_SECRET_PREVIOUS=changeme\n"),
    );
    let out = run(d, &["token", "check-config", ".env.prod"]);
    expect_exit(&out, 1);
    let text = stdout(&out);
    assert!(
        text.contains("secret_default") && text.contains("MCP_JWT_SECRET_PREVIOUS"),
        "{text}"
    );
    assert!(!text.contains("changeme"), "{text}");
    // A label that contradicts the file's own environment word is refused, not obeyed.
    write(
        d,
        ".env.prod",
        format!("MCP_JWT_SECRET={strong}\nMCP_DEV_BYPASS=true\n"),
    );
    let out = run(d, &["token", "check-config", "dev=.env.prod"]);
    expect_exit(&out, 2);
    let e = stderr(&out);
    assert!(e.contains(".env.prod") && e.contains("production"), "{e}");
    expect_exit(
        &run(d, &["token", "check-config", "production=.env.prod"]),
        1,
    );
}

/// bb-all-s8 #3: a signing secret that repeats a short unit cut short (`changemechangemecha`),
/// or walks the alphabet, the digits or a keyboard row, is weak for mint, verify and
/// check-config alike; bb-all-s8 #5: a link's name never relabels the file behind it.
#[test]
fn repeats_cut_short_and_walks_never_sign_and_a_link_keeps_its_targets_environment() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let cut = |unit: &str, n: usize| unit.repeat(n / unit.len() + 1)[..n].to_owned();
    for weak in [
        cut("changeme", 67),
        cut("Password123!", 70),
        cut("abcd1234", 66),
        cut("0123456789", 64),
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".to_owned(),
        "qwertyuiopasdfghjklzxcvbnmQWERTYUIOPASDFGHJKLZXCVBNM1234567890".to_owned(),
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".to_owned(),
    ] {
        let mut c = vigil(d);
        c.args([
            "token",
            "mint",
            "--secret-env",
            "W",
            "--aud",
            "fs",
            "--sub",
            "x",
        ])
        .env("W", &weak);
        let out = c.output().unwrap();
        expect_exit(&out, 2);
        assert!(stderr(&out).contains("W "), "{weak}: {}", stderr(&out));
        assert!(!stderr(&out).contains(&weak));
        let forged = mint(
            d,
            &[("W", weak.as_str())],
            &["--secret-env", "W", "--aud", "fs", "--allow-weak-secret"],
        );
        let out = verify(
            d,
            &[("MCP_JWT_SECRET", weak.as_str())],
            &forged,
            &["--aud", "fs"],
        );
        expect_exit(&out, 2);
        write(d, ".env.prod", format!("MCP_JWT_SECRET={weak}\n"));
        let out = run(
            d,
            &["token", "check-config", "--format", "json", ".env.prod"],
        );
        expect_exit(&out, 1);
        assert!(
            stdout(&out).contains("secret_weak") || stdout(&out).contains("secret_default"),
            "{weak}: {}",
            stdout(&out)
        );
    }
    // A link named like development in front of a production file is judged as production, or
    // refused when labelled otherwise.
    write(
        d,
        ".env.prod",
        format!("MCP_JWT_SECRET={}\nMCP_DEV_BYPASS=true\n", secret(5)),
    );
    std::os::unix::fs::symlink(".env.prod", d.join(".env.dev")).unwrap();
    for arg in [".env.dev", "dev=.env.dev"] {
        let out = run(d, &["token", "check-config", arg]);
        expect_exit(&out, 2);
        assert!(
            stderr(&out).contains(".env.dev: a link to .env.prod, whose name places it in `production`, not `development`"),
            "{arg}: {}",
            stderr(&out)
        );
    }
    let out = run(d, &["token", "check-config", ".env.prod"]);
    expect_exit(&out, 1);
}
