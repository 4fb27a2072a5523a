//! JWKS over real loopback HTTP: keys rotate in without a restart, an unknown `kid` refetches at
//! most once per refresh interval, and a failed refetch keeps the keys already known.

use crate::common;

use common::pair;
use jsonwebtoken::{Algorithm, EncodingKey};
use std::io::{BufRead, BufReader, Write as _};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use vigil_token::jwks::{Jwks, JwksSource};
use vigil_token::{Key, KeyRing, MintRequest, Policy, Rejection, Verifier};

struct Server {
    url: String,
    body: Arc<Mutex<String>>,
    hits: Arc<AtomicUsize>,
}

fn serve() -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let body = Arc::new(Mutex::new(String::from(r#"{"keys":[]}"#)));
    let hits = Arc::new(AtomicUsize::new(0));
    let (b, h) = (body.clone(), hits.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            while r.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            h.fetch_add(1, Ordering::SeqCst);
            let text = b.lock().unwrap().clone();
            let status = if text.is_empty() {
                "503 Service Unavailable"
            } else {
                "200 OK"
            };
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
                text.len()
            );
        }
    });
    Server { url, body, hits }
}

fn signer(dir: &std::path::Path, kind: &str, kid: &str) -> (Key, String) {
    let p = pair(dir, kind);
    let key = Key::from_pem_files(Some(kid.into()), None, None, Some(&p.private)).unwrap();
    let jwk = serde_json::to_string(&key.public_jwk().unwrap()).unwrap();
    (key, jwk)
}

fn token(key: &Key) -> String {
    let req = MintRequest {
        audiences: vec!["git".into()],
        ttl: 300,
        ..Default::default()
    };
    vigil_token::mint(key, &req, now(), 86_400).unwrap()
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn verifier(url: &str, refresh: Duration) -> Verifier {
    let source = JwksSource::Url {
        url: url.into(),
        cache: None,
        cache_ttl: Duration::ZERO,
    };
    let mut ring = KeyRing::new();
    ring.set_jwks(Jwks::load(source, refresh).unwrap());
    Verifier::new(
        ring,
        Policy {
            algorithms: vec![Algorithm::EdDSA, Algorithm::ES256],
            ..Policy::default()
        },
    )
}

#[test]
fn unknown_kids_refetch_at_most_once_per_interval() {
    let dir = tempfile::tempdir().unwrap();
    let (a, jwk_a) = signer(dir.path(), "ed25519", "a");
    let other = tempfile::tempdir().unwrap();
    let (b, jwk_b) = signer(other.path(), "p256", "b");
    let srv = serve();
    *srv.body.lock().unwrap() = format!(r#"{{"keys":[{jwk_a}]}}"#);

    let v = verifier(&srv.url, Duration::from_secs(60));
    assert_eq!(srv.hits.load(Ordering::SeqCst), 1);
    assert!(v.verify(&token(&a), now()).is_ok());
    // The issuer rotates to key b; a flood of b tokens costs one fetch a minute, not one each.
    *srv.body.lock().unwrap() = format!(r#"{{"keys":[{jwk_a},{jwk_b}]}}"#);
    let tb = token(&b);
    for _ in 0..50 {
        assert_eq!(
            v.verify(&tb, now()).unwrap_err(),
            Rejection::UnknownKeyId("b".into())
        );
    }
    assert_eq!(
        srv.hits.load(Ordering::SeqCst),
        1,
        "rate limited inside the interval"
    );

    // With the interval elapsed (zero here), the first miss refetches and the new key works.
    let v = verifier(&srv.url, Duration::ZERO);
    assert_eq!(srv.hits.load(Ordering::SeqCst), 2);
    assert_eq!(v.verify(&tb, now()).unwrap().key.kid.as_deref(), Some("b"));
    assert_eq!(
        srv.hits.load(Ordering::SeqCst),
        2,
        "kid b was in the first fetch"
    );
    // The key server fails: the keys already known keep working.
    *srv.body.lock().unwrap() = String::new();
    let forged = {
        let mut t = token(&a);
        t.replace_range(
            ..t.find('.').unwrap(),
            &common::b64(br#"{"alg":"EdDSA","kid":"zz"}"#),
        );
        t
    };
    assert_eq!(
        v.verify(&forged, now()).unwrap_err(),
        Rejection::UnknownKeyId("zz".into())
    );
    assert_eq!(srv.hits.load(Ordering::SeqCst), 3);
    assert!(v.verify(&token(&a), now()).is_ok());
    assert!(v.verify(&tb, now()).is_ok());
    // Symmetric keys in a JWKS are never used.
    let oct = format!(
        r#"{{"keys":[{{"kty":"oct","kid":"h","k":"{}"}}]}}"#,
        common::b64(common::secret(5).as_bytes())
    );
    *srv.body.lock().unwrap() = oct;
    let v = verifier(&srv.url, Duration::ZERO);
    let hs = common::forge(
        r#"{"alg":"HS256","kid":"h"}"#,
        r#"{"exp":9999999999}"#,
        &EncodingKey::from_secret(common::secret(5).as_bytes()),
        Algorithm::HS256,
    );
    assert!(matches!(
        v.verify(&hs, now()).unwrap_err(),
        Rejection::AlgorithmNotAllowed(..)
    ));
}
