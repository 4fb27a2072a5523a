//! `cargo bench -p vigil-seal`: sealing and opening a 100-byte value per second on one core,
//! through Vigil's key ring, context encoding and text format, beside the bare
//! `chacha20poly1305` crate doing the same AEAD work (XChaCha20-Poly1305, a fresh random nonce
//! from the OS per seal, the same associated data, no encoding) in the same run; target: at least
//! 80% of the bare rate. Then Vigil's Fernet and Python `cryptography`'s Fernet on the same
//! 100-byte value (Python from `VIGIL_BENCH_PYTHON`, else `python3`; skipped with a note when it
//! lacks `cryptography`; `bench/seal.sh` provides one).

#![allow(clippy::print_stdout)] // A benchmark reports its figures on stdout.
#![allow(clippy::disallowed_methods)] // Tests and benchmarks write their fixtures directly.

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use std::hint::black_box;
use std::time::Instant;
use vigil_seal::{Context, Fernet, FernetKey, KeyRing, MasterKey};

/// Best rate over `rounds` rounds; the two contenders alternate round by round so that drift in
/// the machine's speed hits both alike. Many short rounds: on a shared machine, the best round is
/// the one nobody else's work interrupted.
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

fn line(what: &str, rate: f64, unit: &str) {
    println!("{what:<58} {rate:>10.0} {unit}/s");
}

const PY: &str = r#"
import sys, time
from cryptography.fernet import Fernet
f = Fernet(Fernet.generate_key())
value = b"v" * 100
token = f.encrypt(value)
iters, rounds = int(sys.argv[1]), int(sys.argv[2])
def rate(fn):
    t = time.perf_counter()
    for _ in range(iters):
        fn()
    return iters / (time.perf_counter() - t)
enc = dec = 0.0
for _ in range(rounds):
    enc = max(enc, rate(lambda: f.encrypt(value)))
    dec = max(dec, rate(lambda: f.decrypt(token)))
import cryptography
print(cryptography.__version__, enc, dec)
"#;

fn main() {
    let key = MasterKey::generate().unwrap();
    let ring = KeyRing::new(vec![
        ("k2".into(), key),
        ("k1".into(), MasterKey::generate().unwrap()),
    ])
    .unwrap();
    let ctx = Context::parse("user=alice-1234567890,field=openrouter_key").unwrap();
    let value = [b'v'; 100];
    let sealed = vigil_seal::seal(&ring, &ctx, &value).unwrap();
    assert_eq!(
        vigil_seal::open(&ring, &ctx, &sealed).unwrap().as_bytes(),
        &value
    );

    // The bare crate with a key of its own and associated data of the same length as Vigil's.
    let bare = XChaCha20Poly1305::new(&[7u8; 32].into());
    // Tag (4 + 17), header field k2 (4 + 2), field count (4), field=openrouter_key
    // (4 + 5 + 4 + 14), user=alice-1234567890 (4 + 4 + 4 + 16).
    let aad = vec![0x5au8; 21 + 6 + 4 + 27 + 28];
    let nonce_of = || {
        let mut n = [0u8; 24];
        getrandom::fill(&mut n).unwrap();
        n
    };
    let n = nonce_of();
    let bare_ct = bare
        .encrypt(
            XNonce::from_slice(&n),
            Payload {
                msg: &value,
                aad: &aad,
            },
        )
        .unwrap();

    println!(
        "value: 100 bytes; sealed: {} characters ({sealed:.20}…); context {ctx}",
        sealed.len()
    );
    let (b, v) = race(
        40_000,
        40,
        || {
            let n = nonce_of();
            black_box(
                bare.encrypt(
                    XNonce::from_slice(&n),
                    Payload {
                        msg: black_box(&value),
                        aad: &aad,
                    },
                )
                .unwrap(),
            );
        },
        || {
            black_box(vigil_seal::seal(&ring, &ctx, black_box(&value)).unwrap());
        },
    );
    line("bare XChaCha20Poly1305::encrypt (+ OS nonce)", b, "seals");
    line("vigil seal (ring, context AAD, vseal:v1 text)", v, "seals");
    println!("vigil / bare: {:.0}% (target >= 80%)", 100.0 * v / b);
    let (b, v) = race(
        40_000,
        40,
        || {
            black_box(
                bare.decrypt(
                    XNonce::from_slice(&n),
                    Payload {
                        msg: black_box(&bare_ct),
                        aad: &aad,
                    },
                )
                .unwrap(),
            );
        },
        || {
            black_box(vigil_seal::open(&ring, &ctx, black_box(&sealed)).unwrap());
        },
    );
    line("bare XChaCha20Poly1305::decrypt", b, "opens");
    line(
        "vigil open (parse, kid lookup, base64url, context AAD)",
        v,
        "opens",
    );
    println!("vigil / bare: {:.0}% (target >= 80%)", 100.0 * v / b);

    let fernet = Fernet::new(vec![FernetKey::generate().unwrap()]).unwrap();
    let token = fernet.encrypt(&value).unwrap();
    let (e, d) = race(
        100_000,
        5,
        || {
            black_box(fernet.encrypt(black_box(&value)).unwrap());
        },
        || {
            black_box(fernet.decrypt(black_box(&token), None).unwrap());
        },
    );
    line(
        "vigil Fernet encrypt (AES-128-CBC + HMAC-SHA256)",
        e,
        "tokens",
    );
    line("vigil Fernet decrypt", d, "tokens");

    let python = std::env::var("VIGIL_BENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    match std::process::Command::new(&python)
        .args(["-c", PY, "50000", "5"])
        .output()
    {
        Ok(out) if out.status.success() => {
            let s = String::from_utf8_lossy(&out.stdout);
            let f: Vec<&str> = s.split_whitespace().collect();
            let (ver, enc, dec) = (f[0], f[1].parse::<f64>().unwrap(), f[2].parse::<f64>().unwrap());
            line(&format!("python cryptography {ver} Fernet.encrypt"), enc, "tokens");
            line(&format!("python cryptography {ver} Fernet.decrypt"), dec, "tokens");
            println!(
                "vigil seal / python Fernet.encrypt: {:.1}x; vigil open / python Fernet.decrypt: {:.1}x",
                v_seal_rate(&ring, &ctx, &value) / enc,
                v_open_rate(&ring, &ctx, &sealed) / dec
            );
        }
        _ => println!(
            "python Fernet: skipped ({python} lacks `cryptography`; run bench/seal.sh, or set VIGIL_BENCH_PYTHON)"
        ),
    }
}

fn v_seal_rate(ring: &KeyRing, ctx: &Context, value: &[u8]) -> f64 {
    let (r, _) = race(
        100_000,
        3,
        || {
            black_box(vigil_seal::seal(ring, ctx, black_box(value)).unwrap());
        },
        || {},
    );
    r
}

fn v_open_rate(ring: &KeyRing, ctx: &Context, sealed: &str) -> f64 {
    let (r, _) = race(
        100_000,
        3,
        || {
            black_box(vigil_seal::open(ring, ctx, black_box(sealed)).unwrap());
        },
        || {},
    );
    r
}
