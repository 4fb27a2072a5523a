//! The attack table: malicious and malformed tokens, each refused with its precise reason.
//! Every forged token is signed with a key the attacker could plausibly hold, so what refuses it
//! is the check under test, not an unrelated signature failure.

use crate::common;

use common::{b64, forge, pair, secret};
use jsonwebtoken::{Algorithm, EncodingKey};
use std::net::TcpListener;
use vigil_token::{Key, KeyRing, Policy, Rejection, Verifier};

const NOW: u64 = 1_800_000_000;

fn claims(extra: &str) -> String {
    let base = format!(
        r#""aud":"filesystem","sub":"admin","iat":{},"exp":{}"#,
        NOW - 10,
        NOW + 900
    );
    if extra.is_empty() {
        format!("{{{base}}}")
    } else {
        format!("{{{base},{extra}}}")
    }
}

#[test]
fn every_attack_is_refused_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let ed = pair(dir.path(), "ed25519");
    let rsa = pair(dir.path(), "rsa");
    let attacker = tempfile::tempdir().unwrap();
    let evil_ed = pair(attacker.path(), "ed25519");
    let evil_rsa = pair(attacker.path(), "rsa");

    let s = secret(1);
    let mut ring = KeyRing::new();
    ring.push(Key::hmac("MCP_JWT_SECRET", s.as_bytes(), Algorithm::HS256).unwrap());
    ring.push(
        Key::from_pem_files(
            Some("ed-1".into()),
            None,
            Some(&ed.public),
            Some(&ed.private),
        )
        .unwrap(),
    );
    ring.push(
        Key::from_pem_files(
            Some("rsa-1".into()),
            Some(Algorithm::RS256),
            Some(&rsa.public),
            None,
        )
        .unwrap(),
    );
    let v = Verifier::new(
        ring,
        Policy {
            audiences: vec!["filesystem".into()],
            issuer: None,
            ..Policy::default()
        },
    );

    let hs = EncodingKey::from_secret(s.as_bytes());
    let hs_token = |h: &str, c: &str| forge(h, c, &hs, Algorithm::HS256);
    let h256 = r#"{"alg":"HS256","typ":"JWT"}"#;
    let good = hs_token(h256, &claims(""));
    assert!(v.verify(&good, NOW).is_ok(), "the control token verifies");

    let rsa_pub_pem = std::fs::read(&rsa.public).unwrap();
    let evil_ed_key = EncodingKey::from_ed_pem(&std::fs::read(&evil_ed.private).unwrap()).unwrap();
    let evil_rsa_key =
        EncodingKey::from_rsa_pem(&std::fs::read(&evil_rsa.private).unwrap()).unwrap();
    let (p0, p1, p2) = {
        let mut it = good.split('.');
        (
            it.next().unwrap().to_owned(),
            it.next().unwrap().to_owned(),
            it.next().unwrap().to_owned(),
        )
    };
    // A loopback listener standing in for an attacker's key server: nothing may connect to it.
    let trap = TcpListener::bind("127.0.0.1:0").unwrap();
    trap.set_nonblocking(true).unwrap();
    let trap_url = format!("http://{}/keys", trap.local_addr().unwrap());
    let evil_jwk = {
        let jwk =
            jsonwebtoken::jwk::Jwk::from_encoding_key(&evil_ed_key, Algorithm::EdDSA).unwrap();
        serde_json::to_string(&jwk).unwrap()
    };
    let mut tampered_sig = p2.clone();
    let last = tampered_sig.pop().unwrap();
    tampered_sig.push(if last == 'A' { 'Q' } else { 'A' });

    let table: Vec<(&str, String, Rejection)> = vec![
        (
            "alg none, no signature",
            format!("{}.{}.", b64(br#"{"alg":"none","typ":"JWT"}"#), p1),
            Rejection::AlgorithmNone,
        ),
        (
            "alg nOnE casing, signature kept",
            format!("{}.{}.{}", b64(br#"{"alg":"nOnE"}"#), p1, p2),
            Rejection::AlgorithmNone,
        ),
        (
            "alg missing",
            hs_token(r#"{"typ":"JWT"}"#, &claims("")),
            Rejection::Malformed("header has no `alg`".into()),
        ),
        (
            "alg not a string",
            hs_token(r#"{"alg":256}"#, &claims("")),
            Rejection::Malformed("alg is not a string".into()),
        ),
        (
            "unknown algorithm",
            hs_token(r#"{"alg":"HS257"}"#, &claims("")),
            Rejection::UnsupportedAlgorithm("HS257".into()),
        ),
        (
            "algorithm outside the allow-list",
            forge(r#"{"alg":"HS512"}"#, &claims(""), &hs, Algorithm::HS512),
            Rejection::AlgorithmNotAllowed("HS512".into(), "HS256, EdDSA, RS256".into()),
        ),
        (
            "HS/RS confusion: RSA public key as HMAC secret",
            forge(
                h256,
                &claims(""),
                &EncodingKey::from_secret(&rsa_pub_pem),
                Algorithm::HS256,
            ),
            Rejection::BadSignature,
        ),
        (
            "kid path traversal",
            hs_token(
                r#"{"alg":"HS256","kid":"../../../../dev/null"}"#,
                &claims(""),
            ),
            Rejection::InvalidKeyId,
        ),
        (
            "kid SQL injection",
            hs_token(
                r#"{"alg":"HS256","kid":"x' UNION SELECT 'key"}"#,
                &claims(""),
            ),
            Rejection::InvalidKeyId,
        ),
        (
            "kid not a string",
            hs_token(r#"{"alg":"HS256","kid":7}"#, &claims("")),
            Rejection::InvalidKeyId,
        ),
        (
            "kid unknown among keyed keys",
            forge(
                r#"{"alg":"EdDSA","kid":"ed-2"}"#,
                &claims(""),
                &evil_ed_key,
                Algorithm::EdDSA,
            ),
            Rejection::UnknownKeyId("ed-2".into()),
        ),
        (
            "jku to an attacker's key server",
            forge(
                &format!(r#"{{"alg":"RS256","kid":"evil","jku":"{trap_url}"}}"#),
                &claims(""),
                &evil_rsa_key,
                Algorithm::RS256,
            ),
            Rejection::UnknownKeyId("evil".into()),
        ),
        (
            "x5u to an attacker's certificate",
            forge(
                &format!(r#"{{"alg":"RS256","x5u":"{trap_url}"}}"#),
                &claims(""),
                &evil_rsa_key,
                Algorithm::RS256,
            ),
            Rejection::BadSignature,
        ),
        (
            "embedded jwk of the attacker",
            forge(
                &format!(r#"{{"alg":"EdDSA","jwk":{evil_jwk}}}"#),
                &claims(""),
                &evil_ed_key,
                Algorithm::EdDSA,
            ),
            Rejection::BadSignature,
        ),
        (
            "kid of a real key, attacker's signature",
            forge(
                r#"{"alg":"EdDSA","kid":"ed-1"}"#,
                &claims(""),
                &evil_ed_key,
                Algorithm::EdDSA,
            ),
            Rejection::BadSignature,
        ),
        (
            "tampered claims",
            format!("{p0}.{}.{p2}", b64(claims(r#""role":"root""#).as_bytes())),
            Rejection::BadSignature,
        ),
        (
            "tampered signature",
            format!("{p0}.{p1}.{tampered_sig}"),
            Rejection::BadSignature,
        ),
        (
            "signature stripped",
            format!("{p0}.{p1}."),
            Rejection::MissingSignature,
        ),
        (
            "two parts",
            format!("{p0}.{p1}"),
            Rejection::Malformed("expected 3 dot-separated parts, found 2".into()),
        ),
        (
            "JWE-shaped, five parts",
            format!("{p0}.{p1}.{p2}.a.b"),
            Rejection::Malformed("5 parts: encrypted tokens (JWE) are not supported".into()),
        ),
        (
            "padding in the header",
            format!("{p0}=.{p1}.{p2}"),
            Rejection::Malformed("header is not base64url without padding".into()),
        ),
        (
            "standard base64 alphabet in the signature",
            format!(
                "{p0}.{p1}.{}",
                p2.replace(['-', '_'], "+")
                    .replacen(|c: char| c.is_ascii_alphanumeric(), "/", 1)
            ),
            Rejection::Malformed("signature is not base64url without padding".into()),
        ),
        (
            "whitespace inside",
            format!("{p0}.{p1} .{p2}"),
            Rejection::BadSignature,
        ),
        (
            "header not JSON",
            format!("{}.{p1}.{p2}", b64(b"alg=HS256")),
            Rejection::Malformed("header is not valid JSON".into()),
        ),
        (
            "header a JSON array",
            format!("{}.{p1}.{p2}", b64(br#"["HS256"]"#)),
            Rejection::Malformed("header is not a JSON object".into()),
        ),
        (
            "duplicate alg in header",
            hs_token(r#"{"alg":"HS256","alg":"none"}"#, &claims("")),
            Rejection::DuplicateKey {
                part: "header",
                key: "alg".into(),
            },
        ),
        (
            "duplicate aud in claims",
            hs_token(h256, &claims(r#""aud":"memory""#)),
            Rejection::DuplicateKey {
                part: "claims",
                key: "aud".into(),
            },
        ),
        (
            "duplicate private claim",
            hs_token(h256, &claims(r#""role":"user","role":"admin""#)),
            Rejection::DuplicateKey {
                part: "claims",
                key: "role".into(),
            },
        ),
        (
            "claims a JSON string",
            hs_token(h256, r#""admin""#),
            Rejection::Malformed("claims is not a JSON object".into()),
        ),
        (
            "crit extension",
            hs_token(r#"{"alg":"HS256","crit":["b64"],"b64":false}"#, &claims("")),
            Rejection::UnsupportedCritical("b64".into()),
        ),
        (
            "missing exp",
            hs_token(h256, r#"{"aud":"filesystem","sub":"admin"}"#),
            Rejection::MissingClaim("exp"),
        ),
        (
            "exp as a string",
            hs_token(
                h256,
                &format!(r#"{{"aud":"filesystem","exp":"{}"}}"#, NOW + 60),
            ),
            Rejection::InvalidClaim("exp", "not a NumericDate (a number of seconds)"),
        ),
        (
            "exp negative",
            hs_token(h256, r#"{"aud":"filesystem","exp":-1}"#),
            Rejection::InvalidClaim("exp", "negative"),
        ),
        (
            "exp beyond any number",
            hs_token(h256, r#"{"aud":"filesystem","exp":1e400}"#),
            Rejection::Malformed("claims holds a number out of range".into()),
        ),
        (
            "expired",
            hs_token(
                h256,
                &format!(r#"{{"aud":"filesystem","exp":{}}}"#, NOW - 3600),
            ),
            Rejection::Expired(3600),
        ),
        (
            "expired just beyond the leeway",
            hs_token(
                h256,
                &format!(r#"{{"aud":"filesystem","exp":{}}}"#, NOW - 30),
            ),
            Rejection::Expired(30),
        ),
        (
            "absurd exp (year 9999)",
            hs_token(h256, r#"{"aud":"filesystem","exp":253402300799}"#),
            Rejection::LifetimeTooLong(253402300799 - NOW, 86400),
        ),
        (
            "lifetime above policy counted from iat",
            hs_token(
                h256,
                &format!(
                    r#"{{"aud":"filesystem","iat":{},"exp":{}}}"#,
                    NOW - 7 * 86400,
                    NOW + 60
                ),
            ),
            Rejection::LifetimeTooLong(7 * 86400 + 60, 86400),
        ),
        (
            "not yet valid",
            hs_token(h256, &claims(&format!(r#""nbf":{}"#, NOW + 600))),
            Rejection::NotYetValid(600),
        ),
        (
            "issued in the future",
            hs_token(
                h256,
                &format!(
                    r#"{{"aud":"filesystem","iat":{},"exp":{}}}"#,
                    NOW + 3600,
                    NOW + 4000
                ),
            ),
            Rejection::IssuedInFuture(3600),
        ),
        (
            "wrong audience",
            hs_token(h256, &format!(r#"{{"aud":"memory","exp":{}}}"#, NOW + 60)),
            Rejection::WrongAudience {
                got: "`memory`".into(),
                expected: "`filesystem`".into(),
            },
        ),
        (
            "audience missing",
            hs_token(h256, &format!(r#"{{"exp":{}}}"#, NOW + 60)),
            Rejection::MissingClaim("aud"),
        ),
        (
            "audience of the wrong type",
            hs_token(
                h256,
                &format!(r#"{{"aud":["filesystem",1],"exp":{}}}"#, NOW + 60),
            ),
            Rejection::InvalidClaim("aud", "not a string or a list of strings"),
        ),
        (
            "oversized token",
            hs_token(h256, &claims(&format!(r#""pad":"{}""#, "A".repeat(9000)))),
            Rejection::TooLarge {
                len: 0,
                limit: 8192,
            },
        ),
    ];
    assert!(table.len() >= 25);
    let mut failures = Vec::new();
    for (name, token, want) in &table {
        let got = v.verify(token, NOW);
        let ok = match (&got, want) {
            (Err(Rejection::TooLarge { limit, .. }), Rejection::TooLarge { limit: l, .. }) => {
                limit == l
            }
            (Err(g), w) => g == w,
            (Ok(_), _) => false,
        };
        if !ok {
            failures.push(format!(
                "{name}: expected {want:?}, got {:?}",
                got.as_ref().map(|v| &v.claims)
            ));
        }
        // No message quotes the secret or the token.
        if let Err(e) = &got {
            assert!(
                !e.to_string().contains(&s),
                "{name}: message holds the secret"
            );
            assert!(
                !e.to_string().contains(token.as_str()),
                "{name}: message holds the token"
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} wrong:\n{}",
        failures.len(),
        table.len(),
        failures.join("\n")
    );
    assert!(
        trap.accept().is_err(),
        "a jku/x5u header made the verifier connect to the attacker"
    );
}

#[test]
fn key_confusion_is_refused_whatever_the_allow_list() {
    let dir = tempfile::tempdir().unwrap();
    let rsa = pair(dir.path(), "rsa");
    let pem = std::fs::read(&rsa.public).unwrap();
    let forged = forge(
        r#"{"alg":"HS256"}"#,
        &claims(""),
        &EncodingKey::from_secret(&pem),
        Algorithm::HS256,
    );
    let ring = || {
        let mut r = KeyRing::new();
        r.push(Key::from_pem_files(None, Some(Algorithm::RS256), Some(&rsa.public), None).unwrap());
        r
    };
    // Default allow-list: the ring's algorithms, so HS256 is not even considered.
    let v = Verifier::new(ring(), Policy::default());
    assert_eq!(
        v.verify(&forged, NOW).unwrap_err(),
        Rejection::AlgorithmNotAllowed("HS256".into(), "RS256".into())
    );
    // A careless allow-list naming HS256 still finds no HMAC secret to use.
    let v = Verifier::new(
        ring(),
        Policy {
            algorithms: vec![Algorithm::HS256, Algorithm::RS256],
            ..Policy::default()
        },
    );
    assert_eq!(
        v.verify(&forged, NOW).unwrap_err(),
        Rejection::NoKeyForAlgorithm("HS256".into())
    );
}

#[test]
fn previous_secret_verifies_but_never_mints() {
    let (cur, prev) = (secret(2), secret(3));
    let mut ring = KeyRing::new();
    ring.push(Key::hmac("MCP_JWT_SECRET", cur.as_bytes(), Algorithm::HS256).unwrap());
    ring.push(
        Key::hmac("MCP_JWT_SECRET_PREVIOUS", prev.as_bytes(), Algorithm::HS256)
            .unwrap()
            .verify_only(),
    );
    let old = forge(
        r#"{"alg":"HS256"}"#,
        &claims(""),
        &EncodingKey::from_secret(prev.as_bytes()),
        Algorithm::HS256,
    );
    let req = vigil_token::MintRequest {
        audiences: vec!["filesystem".into()],
        ttl: 60,
        ..Default::default()
    };
    let new = vigil_token::mint(ring.current().unwrap(), &req, NOW, 86400).unwrap();
    let v = Verifier::new(ring, Policy::default());
    let a = v.verify(&old, NOW).unwrap();
    assert_eq!(
        (a.key.label.as_str(), a.key.current),
        ("MCP_JWT_SECRET_PREVIOUS", false)
    );
    let b = v.verify(&new, NOW).unwrap();
    assert_eq!(
        (b.key.label.as_str(), b.key.current),
        ("MCP_JWT_SECRET", true)
    );
    assert_eq!(
        b.claims.aud.as_deref(),
        Some(&["filesystem".to_owned()][..])
    );
    assert!(b.claims.jti.as_ref().is_some_and(|j| j.len() == 22));
    assert_eq!(b.claims.exp, Some(NOW as i64 + 60));
}

#[test]
fn every_asymmetric_algorithm_round_trips_and_stays_in_its_lane() {
    let dir = tempfile::tempdir().unwrap();
    for (kind, alg) in [
        ("ed25519", Algorithm::EdDSA),
        ("p256", Algorithm::ES256),
        ("rsa", Algorithm::RS256),
    ] {
        let p = pair(dir.path(), kind);
        let mut ring = KeyRing::new();
        ring.push(
            Key::from_pem_files(
                Some(format!("{kind}-1")),
                None,
                Some(&p.public),
                Some(&p.private),
            )
            .unwrap(),
        );
        let key = ring.current().unwrap();
        assert_eq!(
            key.alg, alg,
            "{kind}: algorithm inferred from the private key"
        );
        let req = vigil_token::MintRequest {
            ttl: 60,
            ..Default::default()
        };
        let t = vigil_token::mint(key, &req, NOW, 86400).unwrap();
        let v = Verifier::new(ring, Policy::default());
        let ok = v.verify(&t, NOW).unwrap();
        assert_eq!(ok.key.kid.as_deref(), Some(format!("{kind}-1").as_str()));
        assert_eq!(ok.header.kid.as_deref(), Some(format!("{kind}-1").as_str()));
        if alg == Algorithm::RS256 {
            // The same RSA key under PS256: refused, a key serves one algorithm.
            let mut ring = KeyRing::new();
            ring.push(
                Key::from_pem_files(None, Some(Algorithm::RS256), Some(&p.public), None).unwrap(),
            );
            let v = Verifier::new(
                ring,
                Policy {
                    algorithms: vec![Algorithm::RS256, Algorithm::PS256],
                    ..Policy::default()
                },
            );
            let ps = forge(
                r#"{"alg":"PS256"}"#,
                &claims(""),
                &EncodingKey::from_rsa_pem(&std::fs::read(&p.private).unwrap()).unwrap(),
                Algorithm::PS256,
            );
            assert_eq!(
                v.verify(&ps, NOW).unwrap_err(),
                Rejection::NoKeyForAlgorithm("PS256".into())
            );
        }
    }
}
