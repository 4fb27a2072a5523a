//! `cargo bench -p vigil-token`: HS256 verifications per second through Vigil's key ring and
//! policy, beside a bare `jsonwebtoken::decode` of the same token in the same run, on one core.
//! The gateway pays this on every request; the target is at least 90% of the bare rate.

#![allow(clippy::print_stdout)] // A benchmark reports its figures on stdout.
#![allow(clippy::disallowed_methods)] // Tests and benchmarks write their fixtures directly.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use std::hint::black_box;
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use vigil_token::{Key, KeyRing, MintRequest, Policy, Verifier};

/// Best rate over `rounds` rounds; the two contenders alternate round by round so that drift in
/// the machine's speed hits both alike.
fn race(iters: u64, rounds: usize, mut a: impl FnMut(), mut b: impl FnMut()) -> (f64, f64) {
    let mut best = (0f64, 0f64);
    let time = |f: &mut dyn FnMut()| {
        let t = Instant::now();
        for _ in 0..iters {
            f();
        }
        iters as f64 / t.elapsed().as_secs_f64()
    };
    time(&mut a);
    time(&mut b);
    for _ in 0..rounds {
        best.0 = best.0.max(time(&mut a));
        best.1 = best.1.max(time(&mut b));
    }
    best
}

fn main() {
    // A 44-character secret like `openssl rand -base64 32`, built at run time.
    let secret: String = (0..44)
        .map(|i| (b'A' + (i * 7 % 26) as u8) as char)
        .collect();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut ring = KeyRing::new();
    ring.push(Key::hmac("MCP_JWT_SECRET", secret.as_bytes(), Algorithm::HS256).unwrap());
    let req = MintRequest {
        audiences: vec!["filesystem".into()],
        subject: Some("admin".into()),
        ttl: 900,
        ..Default::default()
    };
    let token = vigil_token::mint(ring.current().unwrap(), &req, now, 86_400).unwrap();
    // A second, previous secret in the ring: the current one is tried first.
    let previous: String = secret.chars().rev().collect();
    ring.push(
        Key::hmac(
            "MCP_JWT_SECRET_PREVIOUS",
            previous.as_bytes(),
            Algorithm::HS256,
        )
        .unwrap()
        .verify_only(),
    );
    let verifier = Verifier::new(
        ring,
        Policy {
            audiences: vec!["filesystem".into()],
            ..Policy::default()
        },
    );
    let key = DecodingKey::from_secret(secret.as_bytes());
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_audience(&["filesystem"]);
    validation.leeway = 30;
    assert!(verifier.verify(&token, now).is_ok());
    assert!(jsonwebtoken::decode::<serde_json::Value>(&token, &key, &validation).is_ok());

    println!(
        "token: {} bytes, HS256, claims sub aud iat nbf exp jti",
        token.len()
    );
    let (bare, ours) = race(
        100_000,
        10,
        || {
            black_box(
                jsonwebtoken::decode::<serde_json::Value>(black_box(&token), &key, &validation)
                    .unwrap(),
            );
        },
        || {
            black_box(verifier.verify(black_box(&token), now).unwrap());
        },
    );
    println!(
        "{:<46} {bare:>10.0} verifications/s",
        "bare jsonwebtoken::decode"
    );
    println!(
        "{:<46} {ours:>10.0} verifications/s",
        "vigil Verifier::verify (key ring + policy)"
    );
    println!(
        "vigil / bare: {:.0}% (target >= 90%), best of 10 alternating rounds on one core",
        100.0 * ours / bare
    );
}
