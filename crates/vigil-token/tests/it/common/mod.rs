//! Shared test helpers: key pairs made by the `openssl` command, tokens forged byte by byte.

#![allow(dead_code)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A PEM key pair written by `openssl genpkey`.
pub(crate) struct Pair {
    pub private: PathBuf,
    pub public: PathBuf,
}

/// Generates a key pair: `kind` is `ed25519`, `p256` or `rsa`.
pub(crate) fn pair(dir: &Path, kind: &str) -> Pair {
    let private = dir.join(format!("{kind}.pem"));
    let public = dir.join(format!("{kind}.pub.pem"));
    let mut gen = Command::new("openssl");
    gen.args(["genpkey", "-out"]).arg(&private);
    match kind {
        "ed25519" => gen.args(["-algorithm", "ed25519"]),
        "p256" => gen.args(["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]),
        "rsa" => gen.args(["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]),
        _ => panic!("unknown kind {kind}"),
    };
    let out = gen.output().expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl genpkey {kind}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let st = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&private)
        .arg("-out")
        .arg(&public)
        .status()
        .expect("openssl runs");
    assert!(st.success());
    Pair { private, public }
}

/// base64url without padding.
pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A token from raw header and claims JSON text, signed with `key` under `alg`.
pub(crate) fn forge(header: &str, claims: &str, key: &EncodingKey, alg: Algorithm) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
    let sig = jsonwebtoken::crypto::sign(input.as_bytes(), key, alg).expect("sign");
    format!("{input}.{sig}")
}

/// A 44-character secret shaped like `openssl rand -base64 32`, made at run time.
pub(crate) fn secret(seed: u64) -> String {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let bytes: Vec<u8> = (0..32)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
