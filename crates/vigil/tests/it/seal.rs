//! `vigil seal` end to end: the real binary, Python's `cryptography` from PyPI on the other side
//! of Fernet, the Fernet spec's test vectors (PyPI `cryptography-vectors`), real SQLite files
//! written by Python, real `kill -9` during rotation, two writer processes, real git for the
//! tracked-database check.

use crate::common;

use common::{expect_exit, git, python_with, token, vigil, wheel_folder, write};
use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Output};
use tempfile::TempDir;

/// A temporary project folder: an empty `vigil.toml` marks its root (the folder of `.vigil/`).
fn project_dir() -> TempDir {
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("vigil.toml"), "").unwrap();
    dir
}

/// Runs `vigil seal ARGS` in `dir` with exactly the given seal variables (none inherited).
fn seal(dir: &Path, env: &[(&str, &str)], args: &[&str], stdin: &[u8]) -> Output {
    let mut c = vigil(dir);
    c.arg("seal").args(args);
    for v in [
        "VIGIL_SEAL_KEYS",
        "VIGIL_SEAL_KEY",
        "VIGIL_SEAL_PASSPHRASE",
        "FERNET_KEY",
        "VIGIL_TEST_KILL_AT",
        "VIGIL_TEST_FAULT_AFTER",
    ] {
        c.env_remove(v);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c.write_stdin(stdin.to_vec()).output().unwrap()
}

fn ok(out: Output) -> String {
    expect_exit(&out, 0);
    String::from_utf8(out.stdout).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A new key line (`kid:<base64>`) from `vigil seal keygen`.
fn keygen(dir: &Path, kid: &str) -> String {
    ok(seal(dir, &[], &["keygen", "--kid", kid], b""))
        .trim()
        .to_owned()
}

/// An OpenRouter-shaped key, different per seed, made at run time.
fn openrouter(seed: u64) -> String {
    token("«sk-or-v1-{hex:64}»", seed)
}

fn py(python: &Path, code: &str, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut c = StdCommand::new(python);
    c.args(["-c", code]).args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn py_ok(python: &Path, code: &str, env: &[(&str, &str)], args: &[&str]) -> String {
    let out = py(python, code, env, args);
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Every file under `dir` (relative path → bytes).
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Fernet: Python's `cryptography` and the spec's vectors.

const PY_FERNET: &str = r#"
import base64, hashlib, os, sys, time
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

def key():
    how, secret = os.environ["HOW"], os.environ["MASTER"].encode()
    if how == "key":
        return secret
    if how == "sha256":
        return base64.urlsafe_b64encode(hashlib.sha256(secret).digest())
    _, salt, iterations = how.split(":")
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt.encode(), iterations=int(iterations))
    return base64.urlsafe_b64encode(kdf.derive(secret))

f = Fernet(key())
if sys.argv[1] == "encrypt":
    print(f.encrypt(sys.argv[2].encode()).decode())
elif sys.argv[1] == "encrypt-at":
    print(f.encrypt_at_time(sys.argv[2].encode(), int(sys.argv[3])).decode())
else:
    sys.stdout.write(f.decrypt(sys.argv[2].encode()).decode())
"#;

#[test]
fn fernet_tokens_cross_between_vigil_and_python_cryptography_in_both_directions() {
    let python = python_with("cryptography", "cryptography");
    let dir = project_dir();
    let d = dir.path();
    let fernet_key = py_ok(
        &python,
        "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())",
        &[],
        &[],
    )
    .trim()
    .to_owned();
    let master = format!("master-{}", openrouter(1));
    for (how, var_value, from) in [
        ("key", fernet_key.as_str(), "key"),
        ("sha256", master.as_str(), "sha256"),
        (
            "pbkdf2:s4lt-familiar:1200",
            master.as_str(),
            "pbkdf2:s4lt-familiar:1200",
        ),
    ] {
        let penv = [("HOW", how), ("MASTER", var_value)];
        let venv = [("FERNET_KEY", var_value)];
        let args = |cmd: &'static str| vec![cmd, "--format", "fernet", "--fernet-key-from", from];
        for plain in [
            openrouter(2),
            "ünïcode and spaces".to_owned(),
            String::new(),
        ] {
            // Python → Vigil.
            let t = py_ok(&python, PY_FERNET, &penv, &["encrypt", &plain]);
            let got = ok(seal(d, &venv, &args("decrypt"), t.trim().as_bytes()));
            assert_eq!(got, plain, "{how}");
            // Vigil → Python.
            let t = ok(seal(d, &venv, &args("encrypt"), plain.as_bytes()));
            assert!(t.starts_with("gAAAAA"), "{t}");
            let got = py_ok(&python, PY_FERNET, &penv, &["decrypt", t.trim()]);
            assert_eq!(got, plain, "{how}");
        }
    }
    // TTL and clock skew only when a TTL is given, as in Python.
    let penv = [("HOW", "key"), ("MASTER", fernet_key.as_str())];
    let venv = [("FERNET_KEY", fernet_key.as_str())];
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let old = py_ok(
        &python,
        PY_FERNET,
        &penv,
        &["encrypt-at", "v", &(now - 3600).to_string()],
    );
    let future = py_ok(
        &python,
        PY_FERNET,
        &penv,
        &["encrypt-at", "v", &(now + 3600).to_string()],
    );
    let dec = |t: &str, ttl: Option<&str>| {
        let mut a = vec!["decrypt", "--format", "fernet"];
        if let Some(ttl) = ttl {
            a.extend(["--ttl", ttl]);
        }
        seal(d, &venv, &a, t.trim().as_bytes())
    };
    expect_exit(&dec(&old, None), 0);
    expect_exit(&dec(&old, Some("2h")), 0);
    let e = dec(&old, Some("30m"));
    expect_exit(&e, 2);
    assert!(stderr(&e).contains("expired"), "{}", stderr(&e));
    expect_exit(&dec(&future, None), 0);
    let e = dec(&future, Some("1d"));
    expect_exit(&e, 2);
    assert!(stderr(&e).contains("clock skew"), "{}", stderr(&e));
    // A context cannot be bound to a Fernet token: refused, not ignored.
    let e = seal(
        d,
        &venv,
        &["encrypt", "--format", "fernet", "--context", "user=a"],
        b"x",
    );
    expect_exit(&e, 2);
}

const PY_VECTORS: &str = r#"
import datetime, json, sys
out = {}
for name in ("generate", "verify", "invalid"):
    rows = json.load(open(f"{sys.argv[1]}/{name}.json"))
    for r in rows:
        r["now"] = int(datetime.datetime.fromisoformat(r["now"]).timestamp())
    out[name] = rows
print(json.dumps(out))
"#;

#[test]
fn the_fernet_spec_vectors_all_give_the_specs_answer() {
    let dir = wheel_folder(
        "cryptography-vectors==50.0.2",
        "cryptography_vectors/fernet",
    );
    let python = python_with("json", "json");
    let v: serde_json::Value =
        serde_json::from_str(&py_ok(&python, PY_VECTORS, &[], &[dir.to_str().unwrap()])).unwrap();
    let fernet = |secret: &serde_json::Value| {
        vigil_seal::Fernet::new(vec![
            vigil_seal::FernetKey::parse(secret.as_str().unwrap()).unwrap()
        ])
        .unwrap()
    };
    let generate = v["generate"].as_array().unwrap();
    assert!(!generate.is_empty());
    for g in generate {
        let iv: Vec<u8> = g["iv"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_u64().unwrap() as u8)
            .collect();
        let t = fernet(&g["secret"]).encrypt_at(
            g["src"].as_str().unwrap().as_bytes(),
            g["now"].as_u64().unwrap(),
            iv.try_into().unwrap(),
        );
        assert_eq!(t, g["token"].as_str().unwrap());
    }
    let verify = v["verify"].as_array().unwrap();
    assert!(!verify.is_empty());
    for c in verify {
        let p = fernet(&c["secret"])
            .decrypt_at(
                c["token"].as_str().unwrap(),
                c["ttl_sec"].as_u64(),
                c["now"].as_u64().unwrap(),
            )
            .unwrap();
        assert_eq!(p.as_bytes(), c["src"].as_str().unwrap().as_bytes());
    }
    let invalid = v["invalid"].as_array().unwrap();
    assert!(invalid.len() >= 8, "{}", invalid.len());
    for c in invalid {
        let r = fernet(&c["secret"]).decrypt_at(
            c["token"].as_str().unwrap(),
            c["ttl_sec"].as_u64(),
            c["now"].as_u64().unwrap(),
        );
        assert!(r.is_err(), "{} accepted", c["desc"]);
    }
}

// ---------------------------------------------------------------------------------------------
// Values, contexts, keys.

#[test]
fn a_value_moved_to_another_user_field_store_environment_or_key_fails_clearly() {
    let dir = project_dir();
    let d = dir.path();
    let k1 = keygen(d, "k1");
    let env = [("VIGIL_SEAL_KEYS", k1.as_str())];
    // Values on stdin/stdout: another user or field does not decrypt.
    let v = ok(seal(
        d,
        &env,
        &["encrypt", "--context", "user=alice,field=openrouter_key"],
        openrouter(3).as_bytes(),
    ));
    let dec = |ctx: &str| seal(d, &env, &["decrypt", "--context", ctx], v.as_bytes());
    assert_eq!(ok(dec("field=openrouter_key,user=alice")), openrouter(3));
    for other in [
        "user=bob,field=openrouter_key",
        "user=alice,field=deepgram_key",
        "user=alice,field=openrouter_key,env=prod",
    ] {
        let out = dec(other);
        expect_exit(&out, 2);
        assert!(
            stderr(&out).contains("does not decrypt with key `k1`"),
            "{}",
            stderr(&out)
        );
    }
    // Store rows: copy alice's ciphertext into bob's row, and into another field of hers.
    for (user, name, value) in [
        ("alice", "openrouter_key", openrouter(4)),
        ("bob", "openrouter_key", openrouter(5)),
        ("alice", "deepgram_key", openrouter(6)),
    ] {
        let args = [
            "store", "put", "--db", "s.db", "--user", user, "--name", name,
        ];
        ok(seal(d, &env, &args, format!("{value}\n").as_bytes()));
    }
    let get = |db: &str, user: &str, name: &str| {
        seal(
            d,
            &env,
            &["store", "get", "--db", db, "--user", user, "--name", name],
            b"",
        )
    };
    assert_eq!(ok(get("s.db", "bob", "openrouter_key")), openrouter(5));
    let conn = rusqlite::Connection::open(d.join("s.db")).unwrap();
    let alice: String = conn
        .query_row(
            "SELECT value FROM vigil_seal_secrets WHERE user = 'alice' AND name = 'openrouter_key'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    for (user, name) in [("bob", "openrouter_key"), ("alice", "deepgram_key")] {
        conn.execute(
            "UPDATE vigil_seal_secrets SET value = ?1 WHERE user = ?2 AND name = ?3",
            [&alice, user, name],
        )
        .unwrap();
        let out = get("s.db", user, name);
        expect_exit(&out, 2);
        assert!(
            stderr(&out).contains("does not decrypt"),
            "{}",
            stderr(&out)
        );
        assert!(!stderr(&out).contains(&openrouter(4)));
    }
    // Another store: the same row copied into a second store file.
    ok(seal(
        d,
        &env,
        &[
            "store",
            "put",
            "--db",
            "other.db",
            "--user",
            "alice",
            "--name",
            "openrouter_key",
        ],
        b"placeholder-value-123",
    ));
    rusqlite::Connection::open(d.join("other.db"))
        .unwrap()
        .execute(
            "UPDATE vigil_seal_secrets SET value = ?1 WHERE user = 'alice'",
            [&alice],
        )
        .unwrap();
    expect_exit(&get("other.db", "alice", "openrouter_key"), 2);
    // .env values: another environment (file copied), another key (value moved).
    write(
        d,
        ".env.production",
        format!(
            "OPENROUTER_API_KEY={}\nDEEPGRAM_API_KEY=dg-{}\n",
            openrouter(7),
            "x7Rq2Lm9".repeat(4)
        ),
    );
    ok(seal(
        d,
        &env,
        &[
            "env",
            ".env.production",
            "--keys",
            "OPENROUTER_API_KEY,DEEPGRAM_API_KEY",
            "--write",
        ],
        b"",
    ));
    let sealed = std::fs::read_to_string(d.join(".env.production")).unwrap();
    let run_env = |file: &str| {
        seal(
            d,
            &env,
            &[
                "run",
                "--env-file",
                file,
                "--",
                "sh",
                "-c",
                "printf %s \"$OPENROUTER_API_KEY\"",
            ],
            b"",
        )
    };
    assert_eq!(ok(run_env(".env.production")), openrouter(7));
    std::fs::write(d.join(".env.staging"), &sealed).unwrap();
    let out = run_env(".env.staging");
    expect_exit(&out, 2);
    assert!(
        stderr(&out).contains(".env.staging:1: `OPENROUTER_API_KEY`: does not decrypt"),
        "{}",
        stderr(&out)
    );
    let lines: Vec<&str> = sealed.lines().collect();
    let openrouter_sealed = lines[0].split_once('=').unwrap().1;
    std::fs::write(
        d.join(".env.production"),
        format!("{}\nDEEPGRAM_API_KEY={openrouter_sealed}\n", lines[0]),
    )
    .unwrap();
    let out = run_env(".env.production");
    expect_exit(&out, 2);
    assert!(
        stderr(&out).contains(".env.production:2: `DEEPGRAM_API_KEY`: does not decrypt"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn one_flipped_bit_anywhere_in_a_value_fails() {
    let dir = project_dir();
    let d = dir.path();
    let k1 = keygen(d, "k1");
    let env = [("VIGIL_SEAL_KEYS", k1.as_str())];
    let v = ok(seal(
        d,
        &env,
        &["encrypt", "--context", "user=alice"],
        b"hunter2-but-long",
    ));
    let v = v.trim().as_bytes().to_vec();
    assert_eq!(
        ok(seal(d, &env, &["decrypt", "--context", "user=alice"], &v)),
        "hunter2-but-long"
    );
    // Every byte of the text, header included, with one bit flipped (a different bit each
    // time); the library's unit test flips every bit of the decoded payload.
    for i in 0..v.len() {
        let mut w = v.clone();
        w[i] ^= 1 << (i % 7);
        let out = seal(d, &env, &["decrypt", "--context", "user=alice"], &w);
        assert_eq!(out.status.code(), Some(2), "byte {i} accepted");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn a_ring_with_k2_primary_still_opens_k1_values_and_rotation_retires_k1() {
    let dir = project_dir();
    let d = dir.path();
    let (k1, k2) = (keygen(d, "k1"), keygen(d, "k2"));
    type Env = Vec<(&'static str, String)>;
    let only_k1: Env = vec![("VIGIL_SEAL_KEYS", k1.clone())];
    let ring: Env = vec![("VIGIL_SEAL_KEYS", format!("{k2},{k1}"))];
    let only_k2: Env = vec![("VIGIL_SEAL_KEYS", k2.clone())];
    let run = |env: &Env, args: &[&str], stdin: &[u8]| {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        seal(d, &env, args, stdin)
    };
    let put = |env: &Env, user: &str, v: &str| {
        ok(run(
            env,
            &[
                "store", "put", "--db", "s.db", "--user", user, "--name", "key",
            ],
            v.as_bytes(),
        ))
    };
    let get = |env: &Env, user: &str| {
        run(
            env,
            &[
                "store", "get", "--db", "s.db", "--user", user, "--name", "key",
            ],
            b"",
        )
    };
    put(&only_k1, "alice", "value-alice-1");
    put(&ring, "bob", "value-bob-2");
    let list = ok(run(&ring, &["store", "list", "--db", "s.db"], b""));
    assert!(
        list.contains("alice\tkey\tk1\t") && list.contains("bob\tkey\tk2\t"),
        "{list}"
    );
    assert!(!list.contains("value-"), "{list}");
    assert_eq!(ok(get(&ring, "alice")), "value-alice-1");
    assert_eq!(ok(get(&ring, "bob")), "value-bob-2");
    let out = get(&only_k2, "alice");
    expect_exit(&out, 2);
    assert!(
        stderr(&out).contains("sealed with key `k1`, which is not in the key ring"),
        "{}",
        stderr(&out)
    );
    // Rotation re-encrypts under k2 and says k1 is unused; then k2 alone reads everything.
    let report = ok(run(&ring, &["rotate", "--db", "s.db"], b""));
    assert!(
        report.contains("s.db: 1 of 2 value(s) re-encrypted under k2"),
        "{report}"
    );
    assert!(report.contains("no longer used: k1 "), "{report}");
    assert_eq!(ok(get(&only_k2, "alice")), "value-alice-1");
    assert_eq!(ok(get(&only_k2, "bob")), "value-bob-2");
    // A key alone in VIGIL_SEAL_KEY gets its derived id, also in a ring.
    let bare = k1.split_once(':').unwrap().1.to_owned();
    let v = ok(run(
        &vec![("VIGIL_SEAL_KEY", bare.clone())],
        &["encrypt", "--context", "a=b"],
        b"x",
    ));
    let v2 = ok(run(
        &vec![("VIGIL_SEAL_KEYS", format!("{k2},{bare}"))],
        &["decrypt", "--context", "a=b"],
        v.as_bytes(),
    ));
    assert_eq!(v2, "x");
}

#[test]
fn passphrases_work_and_hostile_argon2_parameters_are_refused_before_any_work() {
    let dir = project_dir();
    let d = dir.path();
    let pass = [("VIGIL_SEAL_PASSPHRASE", "correct horse battery staple 42")];
    let v = ok(seal(
        d,
        &pass,
        &["encrypt", "--context", "user=alice"],
        b"s3cret-value",
    ));
    assert!(v.starts_with("vseal:v1:argon2id.m19456.t2.p1."), "{v}");
    assert_eq!(
        ok(seal(
            d,
            &pass,
            &["decrypt", "--context", "user=alice"],
            v.as_bytes()
        )),
        "s3cret-value"
    );
    // Raising the cost in the header is refused by bound (no 4 GiB allocation, no hour of
    // passes): the error is the bound, not a failed decryption after the work.
    let (head, payload) = v.trim().rsplit_once(':').unwrap();
    let salt = head.rsplit_once('.').unwrap().1;
    for (params, bound) in [
        ("m4194304.t2.p1", "m=4194304 KiB is outside"),
        ("m65536.t100000.p1", "t=100000 is outside"),
        ("m19456.t2.p64", "p=64 is outside"),
        ("m262144.t4.p8", "p=8 is outside"),
        ("m262144.t4.p1", "m=262144 KiB is outside"),
        ("m65536.t8.p1", "m×t"),
        ("m9999999999.t2.p1", "far above its limit"),
    ] {
        let hostile = format!("vseal:v1:argon2id.{params}.{salt}:{payload}");
        let out = seal(
            d,
            &pass,
            &["decrypt", "--context", "user=alice"],
            hostile.as_bytes(),
        );
        expect_exit(&out, 2);
        let err = stderr(&out);
        assert!(
            err.contains("refused Argon2id parameters") && err.contains(bound),
            "{params}: {err}"
        );
    }
    // Weak passphrases are refused.
    for weak in ["changeme", "aaaaaaaaaaaaaaaaaaaa", "tiny-pw1"] {
        let out = seal(
            d,
            &[("VIGIL_SEAL_PASSPHRASE", weak)],
            &["encrypt", "--context", "a=b"],
            b"x",
        );
        expect_exit(&out, 2);
        assert!(
            stderr(&out).starts_with("vigil: VIGIL_SEAL_PASSPHRASE:"),
            "{}",
            stderr(&out)
        );
        assert!(!stderr(&out).contains(weak), "{}", stderr(&out));
    }
}

#[test]
fn keys_and_plaintexts_never_reach_stderr() {
    let dir = project_dir();
    let d = dir.path();
    let k1 = keygen(d, "k1");
    let key_b64 = k1.split_once(':').unwrap().1.to_owned();
    let secret = openrouter(9);
    let env = [("VIGIL_SEAL_KEYS", k1.as_str())];
    let mut outs = vec![
        seal(
            d,
            &env,
            &[
                "-vv", "store", "put", "--db", "s.db", "--user", "u", "--name", "n",
            ],
            secret.as_bytes(),
        ),
        seal(
            d,
            &env,
            &[
                "-vv", "store", "get", "--db", "s.db", "--user", "u", "--name", "n",
            ],
            b"",
        ),
        seal(d, &env, &["-vv", "store", "list", "--db", "s.db"], b""),
        seal(
            d,
            &env,
            &["-vv", "encrypt", "--context", "u=1"],
            secret.as_bytes(),
        ),
    ];
    let sealed = String::from_utf8(outs[3].stdout.clone()).unwrap();
    outs.push(seal(
        d,
        &env,
        &["-vv", "decrypt", "--context", "u=2"],
        sealed.as_bytes(),
    ));
    // A malformed ring names the variable and entry, never the key text.
    let broken = format!("k1:{},k2:{}", key_b64, &key_b64[..20]);
    outs.push(seal(
        d,
        &[("VIGIL_SEAL_KEYS", broken.as_str())],
        &["encrypt", "--context", "a=b"],
        b"x",
    ));
    assert!(stderr(outs.last().unwrap()).contains("VIGIL_SEAL_KEYS: entry 2:"));
    for o in &outs {
        let e = stderr(o);
        assert!(
            !e.contains(&secret) && !e.contains(&key_b64) && !e.contains(&key_b64[..20]),
            "{e}"
        );
    }
    assert_eq!(String::from_utf8_lossy(&outs[1].stdout), secret);
}

// ---------------------------------------------------------------------------------------------
// The store under load, rotation under `kill -9`.

#[test]
fn the_store_survives_two_writer_processes_at_once() {
    let dir = project_dir();
    let d = dir.path().to_path_buf();
    let k1 = keygen(&d, "k1");
    const N: usize = 25;
    // Both writers start on a store that does not exist yet.
    let writers: Vec<_> = ["w1", "w2"]
        .into_iter()
        .map(|w| {
            let (d, k1) = (d.clone(), k1.clone());
            std::thread::spawn(move || {
                for i in 0..N {
                    let user = format!("{w}-{i}");
                    for (name, value) in [
                        ("own", format!("{user}-value")),
                        ("shared", format!("{w}-shared-{i}")),
                    ] {
                        let u = if name == "shared" {
                            "everyone"
                        } else {
                            user.as_str()
                        };
                        let out = seal(
                            &d,
                            &[("VIGIL_SEAL_KEYS", &k1)],
                            &["store", "put", "--db", "s.db", "--user", u, "--name", name],
                            value.as_bytes(),
                        );
                        expect_exit(&out, 0);
                    }
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let env = [("VIGIL_SEAL_KEYS", k1.as_str())];
    let list = ok(seal(
        &d,
        &env,
        &["store", "list", "--db", "s.db", "--format", "json"],
        b"",
    ));
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list["secrets"].as_array().unwrap().len(), 2 * N + 1);
    for w in ["w1", "w2"] {
        for i in 0..N {
            let user = format!("{w}-{i}");
            let got = ok(seal(
                &d,
                &env,
                &[
                    "store", "get", "--db", "s.db", "--user", &user, "--name", "own",
                ],
                b"",
            ));
            assert_eq!(got, format!("{user}-value"));
        }
    }
    let shared = ok(seal(
        &d,
        &env,
        &[
            "store", "get", "--db", "s.db", "--user", "everyone", "--name", "shared",
        ],
        b"",
    ));
    assert!(
        shared == format!("w1-shared-{}", N - 1) || shared == format!("w2-shared-{}", N - 1),
        "{shared}"
    );
    let conn = rusqlite::Connection::open(d.join("s.db")).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

struct Fixture {
    dir: TempDir,
    k1: String,
    k2: String,
    users: Vec<(String, String)>,
    rows: Vec<(i64, String)>,
    env: Vec<(String, String)>,
}

/// A store with three users, an application table migrated from Fernet, and an env file with
/// two sealed values, all under k1.
fn rotation_fixture() -> Fixture {
    let dir = project_dir();
    let d = dir.path();
    let (k1, k2) = (keygen(d, "k1"), keygen(d, "k2"));
    let env1 = [("VIGIL_SEAL_KEYS", k1.as_str())];
    let users: Vec<(String, String)> = ["alice", "bob", "carol"]
        .iter()
        .enumerate()
        .map(|(i, u)| (u.to_string(), openrouter(20 + i as u64)))
        .collect();
    for (u, v) in &users {
        ok(seal(
            d,
            &env1,
            &[
                "store",
                "put",
                "--db",
                "s.db",
                "--user",
                u,
                "--name",
                "openrouter_key",
            ],
            v.as_bytes(),
        ));
    }
    let fkey = ok(seal(d, &[], &["keygen", "--format", "fernet"], b""))
        .trim()
        .to_owned();
    let fenv = [("FERNET_KEY", fkey.as_str())];
    let rows: Vec<(i64, String)> = (1..=2).map(|i| (i, openrouter(30 + i as u64))).collect();
    let conn = rusqlite::Connection::open(d.join("app.db")).unwrap();
    conn.execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY, api_key TEXT)")
        .unwrap();
    for (id, v) in &rows {
        let t = ok(seal(
            d,
            &fenv,
            &["encrypt", "--format", "fernet"],
            v.as_bytes(),
        ));
        conn.execute(
            "INSERT INTO users (id, api_key) VALUES (?1, ?2)",
            rusqlite::params![id, t.trim()],
        )
        .unwrap();
    }
    drop(conn);
    let menv = [
        ("VIGIL_SEAL_KEYS", k1.as_str()),
        ("FERNET_KEY", fkey.as_str()),
    ];
    ok(seal(
        d,
        &menv,
        &[
            "migrate",
            "--db",
            "app.db",
            "--table",
            "users",
            "--column",
            "api_key",
            "--context-from",
            "id",
        ],
        b"",
    ));
    let env: Vec<(String, String)> =
        vec![("A".into(), openrouter(40)), ("B".into(), openrouter(41))];
    write(
        d,
        ".env.production",
        format!("# bot\nA={}\nPORT=1\nB='{}'\n", env[0].1, env[1].1),
    );
    ok(seal(
        d,
        &env1,
        &["env", ".env.production", "--keys", "A,B", "--write"],
        b"",
    ));
    Fixture {
        dir,
        k1,
        k2,
        users,
        rows,
        env,
    }
}

fn copy_tree(from: &Path, to: &Path) {
    for (rel, bytes) in tree(from) {
        let p = to.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
}

/// Every value of the fixture, read through the binary with `keys`.
fn assert_all_readable(f: &Fixture, d: &Path, keys: &str, when: &str) {
    let env = [("VIGIL_SEAL_KEYS", keys)];
    for (u, v) in &f.users {
        let out = seal(
            d,
            &env,
            &[
                "store",
                "get",
                "--db",
                "s.db",
                "--user",
                u,
                "--name",
                "openrouter_key",
            ],
            b"",
        );
        assert_eq!(ok(out), *v, "{when}: {u}");
    }
    for (id, v) in &f.rows {
        let id = id.to_string();
        let out = seal(
            d,
            &env,
            &[
                "store", "get", "--db", "app.db", "--table", "users", "--name", "api_key",
                "--user", &id,
            ],
            b"",
        );
        assert_eq!(ok(out), *v, "{when}: row {id}");
    }
    let out = seal(
        d,
        &env,
        &[
            "run",
            "--env-file",
            ".env.production",
            "--",
            "sh",
            "-c",
            "printf '%s %s' \"$A\" \"$B\"",
        ],
        b"",
    );
    assert_eq!(
        ok(out),
        format!("{} {}", f.env[0].1, f.env[1].1),
        "{when}: env"
    );
}

#[test]
fn rotate_killed_at_any_step_leaves_every_value_readable() {
    let f = rotation_fixture();
    let ring = format!("{},{}", f.k2, f.k1);
    let args = [
        "rotate",
        "--db",
        "s.db",
        "--db",
        "app.db",
        "--env-file",
        ".env.production",
    ];
    // Real `kill -9` at each of rotation's own steps, then at each step of the env journal
    // (`VIGIL_TEST_FAULT_AFTER`: abort, which leaves the files as a crash does).
    for var in ["VIGIL_TEST_KILL_AT", "VIGIL_TEST_FAULT_AFTER"] {
        let mut step = 1;
        loop {
            let work = TempDir::new().unwrap();
            let d = work.path();
            copy_tree(f.dir.path(), d);
            let n = step.to_string();
            let out = seal(d, &[("VIGIL_SEAL_KEYS", &ring), (var, &n)], &args, b"");
            let when = format!("{var}={step}");
            if out.status.success() {
                assert!(step > 3, "{when}: rotation finished before any crash point");
                break;
            }
            let sig = out.status.signal();
            assert!(
                sig == Some(9) || sig == Some(6),
                "{when}: {:?} {}",
                out.status,
                stderr(&out)
            );
            assert_all_readable(&f, d, &ring, &when);
            // The next run finishes the job; then k1 can go.
            let report = ok(seal(d, &[("VIGIL_SEAL_KEYS", &ring)], &args, b""));
            assert!(report.contains("no longer used: k1 "), "{when}: {report}");
            assert_all_readable(&f, d, &f.k2, &when);
            step += 1;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// .env files and `seal run`.

#[test]
fn seal_run_gives_the_child_plaintext_no_seal_variable_and_leaves_no_file() {
    let dir = project_dir();
    let d = dir.path();
    let k1 = keygen(d, "k1");
    let env = [("VIGIL_SEAL_KEYS", k1.as_str())];
    let key = openrouter(50);
    let text = format!("export OPENROUTER_API_KEY=\"{key}\" # prod\r\nPORT=8080\r\nEMPTY=\r\n");
    write(d, ".env.production", &text);
    // Dry run: nothing changes.
    let plan = ok(seal(
        d,
        &env,
        &["env", ".env.production", "--keys", "OPENROUTER_API_KEY"],
        b"",
    ));
    assert!(
        plan.contains(".env.production:1 OPENROUTER_API_KEY would be sealed"),
        "{plan}"
    );
    assert_eq!(
        std::fs::read_to_string(d.join(".env.production")).unwrap(),
        text
    );
    ok(seal(
        d,
        &env,
        &[
            "env",
            ".env.production",
            "--keys",
            "OPENROUTER_API_KEY,EMPTY",
            "--write",
        ],
        b"",
    ));
    let sealed = std::fs::read_to_string(d.join(".env.production")).unwrap();
    assert!(
        sealed.starts_with("export OPENROUTER_API_KEY=\"vseal:v1:k1:"),
        "{sealed}"
    );
    assert!(
        sealed.ends_with("\" # prod\r\nPORT=8080\r\nEMPTY=\r\n"),
        "{sealed}"
    );
    assert!(!sealed.contains(&key));
    let before = tree(d);
    let tmp = TempDir::new().unwrap();
    let mut c = vigil(d);
    c.args([
        "seal",
        "run",
        "--env-file",
        ".env.production",
        "--",
        "sh",
        "-c",
    ])
    .arg("printf '%s|%s|' \"$OPENROUTER_API_KEY\" \"$PORT\"; env | grep '^VIGIL_SEAL_' | wc -l")
    .env("VIGIL_SEAL_KEYS", &k1)
    .env("VIGIL_SEAL_EXTRA_SETTING", "x")
    .env("TMPDIR", tmp.path())
    .env_remove("OPENROUTER_API_KEY")
    .env("PORT", "9999");
    let out = c.output().unwrap();
    assert_eq!(ok(out).trim(), format!("{key}|9999|0"));
    assert_eq!(tree(d), before, "seal run changed a file");
    assert!(tree(tmp.path()).is_empty(), "seal run wrote a temp file");
    // --override lets the file win; the child's exit code is passed through.
    let out = seal(
        d,
        &env,
        &[
            "run",
            "--override",
            "--env-file",
            ".env.production",
            "--",
            "sh",
            "-c",
            "printf %s \"$PORT\"; exit 3",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "8080");
    // A file holding the seal key itself is refused.
    write(d, ".env.voice", format!("VIGIL_SEAL_KEYS={k1}\nA=1\n"));
    let out = seal(d, &env, &["env", ".env.voice", "--keys", "A"], b"");
    expect_exit(&out, 2);
    assert!(
        stderr(&out).contains(".env.voice:1: VIGIL_SEAL_KEYS is set in this file"),
        "{}",
        stderr(&out)
    );
    // A leaked plaintext is found by fingerprint, without decrypting.
    let out = seal(
        d,
        &env,
        &["find", "--env-file", ".env.production"],
        key.as_bytes(),
    );
    expect_exit(&out, 1);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        ".env.production:1 OPENROUTER_API_KEY"
    );
    expect_exit(
        &seal(
            d,
            &env,
            &["find", "--env-file", ".env.production"],
            b"not-it",
        ),
        0,
    );
}

#[test]
fn vigil_scan_does_not_report_sealed_values_but_does_report_a_disguised_plaintext() {
    let dir = project_dir();
    let d = dir.path();
    let k1 = keygen(d, "k1");
    let env = [("VIGIL_SEAL_KEYS", k1.as_str())];
    let (a, b) = (openrouter(60), openrouter(61));
    write(
        d,
        ".env",
        format!("OPENROUTER_API_KEY={a}\nBACKUP_KEY=\"{b}\"\n"),
    );
    let out = common::run(d, &["scan", ".", "-f", "json"]);
    expect_exit(&out, 1);
    assert_eq!(common::json(&out).as_array().unwrap().len(), 2);
    ok(seal(
        d,
        &env,
        &[
            "env",
            ".env",
            "--keys",
            "OPENROUTER_API_KEY,BACKUP_KEY",
            "--write",
        ],
        b"",
    ));
    // A Fernet token and a sealed value in other files, as configs hold them.
    let fkey = ok(seal(d, &[], &["keygen", "--format", "fernet"], b""))
        .trim()
        .to_owned();
    // A short value's Fernet token is short enough for the generic rule's value pattern.
    let t = ok(seal(
        d,
        &[("FERNET_KEY", &fkey)],
        &["encrypt", "--format", "fernet"],
        &a.as_bytes()[..24],
    ));
    let v = ok(seal(
        d,
        &env,
        &["encrypt", "--context", "user=alice,field=openrouter_key"],
        a.as_bytes(),
    ));
    write(
        d,
        "config.json",
        format!(
            "{{\"api_key\": \"{}\", \"token\": \"{}\"}}\n",
            v.trim(),
            t.trim()
        ),
    );
    write(
        d,
        "settings.py",
        format!(
            "OPENROUTER_API_KEY = '{}'\nsecret = \"{}\"\n",
            v.trim(),
            t.trim()
        ),
    );
    let out = common::run(d, &["scan", "."]);
    expect_exit(&out, 0);
    // `vseal:` or a whole header in front of a plaintext is not ciphertext: still reported.
    write(d, "leak.env", format!("OPENROUTER_API_KEY=vseal:{a}\n"));
    write(d, "leak2.env", format!("C=vseal:v1:k1:{b}\n"));
    let out = common::run(d, &["scan", ".", "-f", "json"]);
    expect_exit(&out, 1);
    let found = common::json(&out);
    let mut files: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    files.sort();
    assert_eq!(files, ["leak.env", "leak2.env"]);
}

// ---------------------------------------------------------------------------------------------
// Migration from a Python bot's Fernet table, and the README's Python example.

const PY_BOT_WRITES: &str = r#"
import base64, hashlib, json, os, sqlite3, sys
from cryptography.fernet import Fernet
key = base64.urlsafe_b64encode(hashlib.sha256(os.environ["MASTER_SECRET"].encode()).digest())
f = Fernet(key)
db = sqlite3.connect(sys.argv[1])
db.execute("CREATE TABLE user_keys (user_id INTEGER PRIMARY KEY, provider TEXT, api_key BLOB)")
for i, (uid, value) in enumerate(json.loads(os.environ["ROWS"])):
    token = f.encrypt(value.encode())
    db.execute("INSERT INTO user_keys VALUES (?, ?, ?)", (uid, "openrouter", token if i % 2 else token.decode()))
db.execute("INSERT INTO user_keys VALUES (99, 'none', NULL)")
db.commit()
"#;

const PY_BOT_READS: &str = r#"
import json, subprocess, sys
out = {}
for uid in json.loads(sys.argv[2]):
    r = subprocess.run(["vigil", "seal", "store", "get", "--db", sys.argv[1], "--table", "user_keys",
                        "--name", "api_key", "--user", str(uid)], capture_output=True)
    out[uid] = r.stdout.decode() if r.returncode == 0 else f"exit {r.returncode}: {r.stderr.decode().strip()}"
print(json.dumps(out))
"#;

const PY_FERNET_READS: &str = r#"
import base64, hashlib, json, os, sqlite3, sys
from cryptography.fernet import Fernet
key = base64.urlsafe_b64encode(hashlib.sha256(os.environ["MASTER_SECRET"].encode()).digest())
f = Fernet(key)
rows = sqlite3.connect(sys.argv[1]).execute("SELECT user_id, api_key FROM user_keys WHERE api_key IS NOT NULL")
print(json.dumps({str(u): f.decrypt(v).decode() for u, v in rows}))
"#;

fn path_with_vigil() -> String {
    let bin = assert_cmd::cargo::cargo_bin("vigil");
    format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[test]
fn a_python_fernet_table_is_migrated_and_read_back_by_the_bot_through_store_get() {
    let python = python_with("cryptography", "cryptography");
    let dir = project_dir();
    let d = dir.path();
    let db = d.join("app.db");
    let k1 = keygen(d, "k1");
    let master = format!("familiar-{}", openrouter(70));
    let rows: Vec<(i64, String)> = (1..=4).map(|i| (i, openrouter(70 + i as u64))).collect();
    let rows_json = serde_json::to_string(&rows).unwrap();
    py_ok(
        &python,
        PY_BOT_WRITES,
        &[("MASTER_SECRET", &master), ("ROWS", &rows_json)],
        &[db.to_str().unwrap()],
    );
    let env = [
        ("VIGIL_SEAL_KEYS", k1.as_str()),
        ("MASTER_SECRET", master.as_str()),
    ];
    let migrate = |from: &str| {
        seal(
            d,
            &env,
            &[
                "migrate",
                "--db",
                "app.db",
                "--table",
                "user_keys",
                "--column",
                "api_key",
                "--context-from",
                "user_id",
                "--from",
                from,
                "--fernet-env",
                "MASTER_SECRET",
                "--fernet-key-from",
                "sha256",
            ],
            b"",
        )
    };
    // A tampered token in one row: nothing is converted (one transaction).
    let conn = rusqlite::Connection::open(&db).unwrap();
    let t3: Vec<u8> = conn
        .query_row(
            "SELECT CAST(api_key AS BLOB) FROM user_keys WHERE user_id = 3",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let mut bad = t3.clone();
    bad[60] = if bad[60] == b'A' { b'B' } else { b'A' };
    conn.execute(
        "UPDATE user_keys SET api_key = ?1 WHERE user_id = 3",
        [&bad],
    )
    .unwrap();
    let before: Vec<Option<Vec<u8>>> = {
        let mut st = conn
            .prepare("SELECT CAST(api_key AS BLOB) FROM user_keys ORDER BY user_id")
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let out = migrate("fernet");
    expect_exit(&out, 2);
    assert!(
        stderr(&out).contains("user_keys row (user_id=3): Fernet: invalid token"),
        "{}",
        stderr(&out)
    );
    let after: Vec<Option<Vec<u8>>> = {
        let mut st = conn
            .prepare("SELECT CAST(api_key AS BLOB) FROM user_keys ORDER BY user_id")
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(before, after);
    conn.execute("UPDATE user_keys SET api_key = ?1 WHERE user_id = 3", [&t3])
        .unwrap();
    drop(conn);
    let out = migrate("fernet");
    expect_exit(&out, 0);
    assert!(
        stderr(&out).contains("4 value(s) converted to sealed values, 0 already were, 1 NULL"),
        "{}",
        stderr(&out)
    );
    // The bot's script reads the values back through the binary.
    let ids = serde_json::to_string(&[1, 2, 3, 4, 5]).unwrap();
    let read = |extra: &[(&str, &str)]| {
        let path = path_with_vigil();
        let mut e = vec![("PATH", path.as_str()), ("VIGIL_SEAL_KEYS", k1.as_str())];
        e.extend_from_slice(extra);
        let v: serde_json::Value = serde_json::from_str(&py_ok(
            &python,
            PY_BOT_READS,
            &e,
            &[db.to_str().unwrap(), &ids],
        ))
        .unwrap();
        v
    };
    let got = read(&[]);
    for (id, v) in &rows {
        assert_eq!(got[id.to_string()], *v);
    }
    assert!(
        got["5"].as_str().unwrap().starts_with("exit 1"),
        "{}",
        got["5"]
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    let vals: Vec<String> = {
        let mut st = conn
            .prepare("SELECT api_key FROM user_keys WHERE api_key IS NOT NULL")
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert!(
        vals.iter().all(|v| v.starts_with("vseal:v1:k1:")),
        "{vals:?}"
    );
    // User 1's value copied into user 2's row no longer decrypts (Fernet could not tell).
    conn.execute("UPDATE user_keys SET api_key = (SELECT api_key FROM user_keys WHERE user_id = 1) WHERE user_id = 2", []).unwrap();
    let got = read(&[]);
    assert!(
        got["2"].as_str().unwrap().contains("exit 2")
            && got["2"].as_str().unwrap().contains("does not decrypt"),
        "{}",
        got["2"]
    );
    // Put it right through the binary, then convert back: Python's Fernet reads every row.
    let path = path_with_vigil();
    let out = seal(
        d,
        &[("VIGIL_SEAL_KEYS", &k1), ("PATH", &path)],
        &[
            "store",
            "put",
            "--db",
            "app.db",
            "--table",
            "user_keys",
            "--name",
            "api_key",
            "--user",
            "2",
        ],
        rows[1].1.as_bytes(),
    );
    expect_exit(&out, 0);
    let out = migrate("vseal");
    expect_exit(&out, 0);
    let back: serde_json::Value = serde_json::from_str(&py_ok(
        &python,
        PY_FERNET_READS,
        &[("MASTER_SECRET", &master)],
        &[db.to_str().unwrap()],
    ))
    .unwrap();
    for (id, v) in &rows {
        assert_eq!(back[id.to_string()], *v);
    }
}

/// The README's Python example (the first ```python block), run as written against the binary.
#[test]
fn the_readme_python_example_stores_and_reads_back_through_the_binary() {
    let python = python_with("json", "json");
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    let mut lines = readme.lines().skip_while(|l| l.trim() != "```python");
    let fence = lines.next().expect("a python block in README.md");
    let indent = fence.len() - fence.trim_start().len();
    let example: String = lines
        .take_while(|l| l.trim() != "```")
        .map(|l| format!("{}\n", l.get(indent..).unwrap_or("")))
        .collect();
    let dir = project_dir();
    let d = dir.path();
    let k1 = keygen(d, "k1");
    let value = openrouter(80);
    // An id that starts with `-`, a value with line ends, and a failed put's reason.
    let extra = "put_key('-42', 'note', 'two lines\\r\\nend\\n')\n\
                 assert get_key('-42', 'note') == 'two lines\\r\\nend\\n'\n\
                 try:\n    put_key('x' * 300, 'n', 'v')\n    raise SystemExit('a bad put passed')\n\
                 except RuntimeError as e:\n    assert '--user' in str(e), e\n";
    let script = format!(
        "{example}\nimport sys\nput_key('alice', 'openrouter_key', sys.argv[1])\nassert get_key('alice', 'openrouter_key') == sys.argv[1]\nassert get_key('bob', 'openrouter_key') is None\n{extra}print('ok')\n"
    );
    let path = path_with_vigil();
    let out = StdCommand::new(&python)
        .args(["-c", &script, &value])
        .current_dir(d)
        .env("PATH", &path)
        .env("VIGIL_SEAL_KEYS", &k1)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok");
    let list = ok(seal(
        d,
        &[("VIGIL_SEAL_KEYS", &k1)],
        &["store", "list", "--db", "secrets.db"],
        b"",
    ));
    assert!(
        list.lines()
            .any(|l| l.starts_with("alice\topenrouter_key\tk1\t")),
        "{list}"
    );
}

// ---------------------------------------------------------------------------------------------
// Tracked SQLite files.

#[test]
fn seal_check_reports_tracked_sqlite_files_with_a_store_or_user_data() {
    let dir = project_dir();
    let d = dir.path();
    git(d, &["init", "-q"]);
    let k1 = keygen(d, "k1");
    ok(seal(
        d,
        &[("VIGIL_SEAL_KEYS", &k1)],
        &[
            "store",
            "put",
            "--db",
            "data/secrets.db",
            "--user",
            "u",
            "--name",
            "n",
        ],
        b"value-1",
    ));
    let c = rusqlite::Connection::open(d.join("bot.sqlite3")).unwrap();
    c.execute_batch("CREATE TABLE memories (user TEXT, text TEXT); INSERT INTO memories VALUES ('alice', 'likes tea');").unwrap();
    drop(c);
    rusqlite::Connection::open(d.join("empty.db"))
        .unwrap()
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();
    rusqlite::Connection::open(d.join("untracked.db"))
        .unwrap()
        .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();
    write(d, "README.md", "bot\n");
    git(
        d,
        &[
            "add",
            "data/secrets.db",
            "bot.sqlite3",
            "empty.db",
            "README.md",
        ],
    );
    git(d, &["commit", "-qm", "oops"]);
    let out = seal(d, &[], &["check"], b"");
    expect_exit(&out, 1);
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l
                .starts_with("bot.sqlite3: tracked by git, holds user data (memories: 1 row(s))")),
        "{text}"
    );
    assert!(
        lines.iter().any(|l| l
            .starts_with("data/secrets.db: tracked by git, holds a vigil seal store (1 secret(s)")),
        "{text}"
    );
    git(
        d,
        &["rm", "-q", "--cached", "bot.sqlite3", "data/secrets.db"],
    );
    expect_exit(&seal(d, &[], &["check"], b""), 0);
}

// ---------------------------------------------------------------------------------------------
// Found by a black-box test as a new user and as an attacker (one test per problem).

/// Every path under `dir` whose name ends with `suffix`.
fn files_named(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    tree(dir)
        .into_keys()
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect()
}

const ZERO_KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

// 1
#[test]
fn weak_fernet_keys_and_master_secrets_never_encrypt_but_still_decrypt() {
    use base64::Engine as _;
    let dir = project_dir();
    let d = dir.path();
    let url = base64::engine::general_purpose::URL_SAFE;
    let a32 = url.encode([b'a'; 32]);
    let counter = url.encode((0u8..32).collect::<Vec<_>>());
    for (secret, from) in [
        ("", "sha256"),
        ("a", "sha256"),
        ("changeme", "pbkdf2:s4lt:100000"),
        ("Password123!", "sha256"),
        (ZERO_KEY, "key"),
        (a32.as_str(), "key"),
        (counter.as_str(), "key"),
    ] {
        let out = seal(
            d,
            &[("FERNET_KEY", secret)],
            &["encrypt", "--format", "fernet", "--fernet-key-from", from],
            b"x",
        );
        expect_exit(&out, 2);
        assert!(out.stdout.is_empty(), "{secret:?}");
        assert!(
            stderr(&out).contains("refusing to encrypt under it"),
            "{secret:?}: {}",
            stderr(&out)
        );
    }
    // `migrate --from vseal` writes Fernet tokens: refused under an empty master secret, and
    // the column is left as it was.
    let k1 = keygen(d, "k1");
    let strong = format!("familiar-{}", openrouter(90));
    let conn = rusqlite::Connection::open(d.join("app.db")).unwrap();
    conn.execute_batch("CREATE TABLE user_keys (user_id INTEGER PRIMARY KEY, api_key TEXT)")
        .unwrap();
    let t = ok(seal(
        d,
        &[("MASTER_SECRET", &strong)],
        &[
            "encrypt",
            "--format",
            "fernet",
            "--fernet-env",
            "MASTER_SECRET",
            "--fernet-key-from",
            "sha256",
        ],
        openrouter(91).as_bytes(),
    ));
    conn.execute("INSERT INTO user_keys VALUES (1, ?1)", [t.trim()])
        .unwrap();
    drop(conn);
    let migrate = |secret: &str, from: &str| {
        seal(
            d,
            &[("VIGIL_SEAL_KEYS", &k1), ("MASTER_SECRET", secret)],
            &[
                "migrate",
                "--db",
                "app.db",
                "--table",
                "user_keys",
                "--column",
                "api_key",
                "--context-from",
                "user_id",
                "--from",
                from,
                "--fernet-env",
                "MASTER_SECRET",
                "--fernet-key-from",
                "sha256",
            ],
            b"",
        )
    };
    expect_exit(&migrate(&strong, "fernet"), 0);
    let out = migrate("", "vseal");
    expect_exit(&out, 2);
    assert!(
        stderr(&out)
            .contains("MASTER_SECRET (--fernet-key-from sha256): the master secret is weak"),
        "{}",
        stderr(&out)
    );
    let v: String = rusqlite::Connection::open(d.join("app.db"))
        .unwrap()
        .query_row("SELECT api_key FROM user_keys", [], |r| r.get(0))
        .unwrap();
    assert!(v.starts_with("vseal:v1:k1:"), "{v}");
    // A token under a weak key still decrypts (that is how data gets off it), with a warning.
    let weak = vigil_seal::Fernet::from_secret(ZERO_KEY, &vigil_seal::KeySource::Direct).unwrap();
    let token = weak.encrypt_at(b"old-data-1", 1_700_000_000, [7u8; 16]);
    let out = seal(
        d,
        &[("FERNET_KEY", ZERO_KEY)],
        &["decrypt", "--format", "fernet"],
        token.as_bytes(),
    );
    expect_exit(&out, 0);
    assert_eq!(out.stdout, b"old-data-1");
    assert!(
        stderr(&out).contains("warning: FERNET_KEY"),
        "{}",
        stderr(&out)
    );
}

// 2
#[test]
fn rotate_never_calls_a_key_unused_while_a_recorded_env_file_still_needs_it() {
    let dir = project_dir();
    let d = dir.path();
    let (k1, k2) = (keygen(d, "k1"), keygen(d, "k2"));
    let ring = format!("{k2},{k1}");
    write(d, ".env.production", format!("A={}\n", openrouter(100)));
    write(d, ".env", format!("B={}\n", openrouter(101)));
    for (f, k) in [(".env.production", "A"), (".env", "B")] {
        ok(seal(
            d,
            &[("VIGIL_SEAL_KEYS", &k1)],
            &["env", f, "--keys", k, "--write"],
            b"",
        ));
    }
    ok(seal(
        d,
        &[("VIGIL_SEAL_KEYS", &k1)],
        &["store", "put", "--db", "s.db", "--user", "u", "--name", "n"],
        b"store-value-1",
    ));
    // The README's example: one env file and the store. `.env` still needs k1.
    let report = ok(seal(
        d,
        &[("VIGIL_SEAL_KEYS", &ring)],
        &["rotate", "--db", "s.db", "--env-file", ".env.production"],
        b"",
    ));
    assert!(report.contains("still used: k1 by .env:1 B"), "{report}");
    assert!(!report.contains("no longer used: k1"), "{report}");
    // Stores only: the index of the store's project is consulted all the same.
    let report = ok(seal(
        d,
        &[("VIGIL_SEAL_KEYS", &ring)],
        &["rotate", "--db", "s.db"],
        b"",
    ));
    assert!(report.contains("still used: k1 by .env:1 B"), "{report}");
    let report = ok(seal(
        d,
        &[("VIGIL_SEAL_KEYS", &ring)],
        &[
            "rotate",
            "--db",
            "s.db",
            "--env-file",
            ".env.production",
            "--env-file",
            ".env",
        ],
        b"",
    ));
    assert!(report.contains("no longer used: k1 "), "{report}");
    // And then k1 can go.
    for f in [".env.production", ".env"] {
        let out = seal(
            d,
            &[("VIGIL_SEAL_KEYS", &k2)],
            &[
                "run",
                "--env-file",
                f,
                "--",
                "sh",
                "-c",
                "printf %s \"$A$B\"",
            ],
            b"",
        );
        assert!(ok(out).starts_with("sk-or-v1-"));
    }
}

// 3
#[test]
fn find_matches_a_secret_inside_a_leaked_text_from_any_directory_and_never_guesses() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let proj = d.join("proj");
    write(&proj, "vigil.toml", "");
    let k1 = keygen(d, "k1");
    let env = [("VIGIL_SEAL_KEYS", k1.as_str())];
    let secret = openrouter(110);
    write(
        &proj,
        ".env.production",
        format!("PORT=1\nOPENROUTER_API_KEY={secret}\n"),
    );
    ok(seal(
        &proj,
        &env,
        &[
            "env",
            ".env.production",
            "--keys",
            "OPENROUTER_API_KEY",
            "--write",
        ],
        b"",
    ));
    ok(seal(
        &proj,
        &env,
        &[
            "store", "put", "--db", "s.db", "--user", "alice", "--name", "k",
        ],
        secret.as_bytes(),
    ));
    let log =
        format!("2025-01-02 ERROR upstream 401 for key={secret}, retrying in 5s\nnext line\n");
    // From the parent folder, from the project, and from a file.
    write(d, "leaked.txt", &log);
    for (cwd, file, input) in [
        (d, "proj/.env.production", None),
        (proj.as_path(), ".env.production", None),
        (d, "proj/.env.production", Some("leaked.txt")),
    ] {
        let mut args = vec!["find", "--env-file", file];
        if let Some(i) = input {
            args.extend(["--in", i]);
        }
        let out = seal(cwd, &env, &args, log.as_bytes());
        expect_exit(&out, 1);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            format!("{file}:2 OPENROUTER_API_KEY")
        );
    }
    let out = seal(&proj, &env, &["find", "--db", "s.db"], log.as_bytes());
    expect_exit(&out, 1);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "s.db: user=alice name=k"
    );
    expect_exit(
        &seal(
            d,
            &env,
            &["find", "--env-file", "proj/.env.production"],
            b"nothing here at all",
        ),
        0,
    );
    // A key the ring does not hold: cannot tell, so exit 2, not "not found".
    let other = keygen(d, "k9");
    let out = seal(
        d,
        &[("VIGIL_SEAL_KEYS", &other)],
        &["find", "--env-file", "proj/.env.production"],
        log.as_bytes(),
    );
    expect_exit(&out, 2);
    // No index: exit 2 with the way to rebuild it, then rebuilt by rotate.
    std::fs::remove_file(proj.join(".vigil/seal-index.json")).unwrap();
    let out = seal(
        d,
        &env,
        &["find", "--env-file", "proj/.env.production"],
        log.as_bytes(),
    );
    expect_exit(&out, 2);
    assert!(
        stderr(&out).contains("no fingerprint index"),
        "{}",
        stderr(&out)
    );
    ok(seal(
        d,
        &env,
        &["rotate", "--env-file", "proj/.env.production"],
        b"",
    ));
    expect_exit(
        &seal(
            d,
            &env,
            &["find", "--env-file", "proj/.env.production"],
            log.as_bytes(),
        ),
        1,
    );
}

// 4
#[test]
fn migrate_refuses_context_columns_that_do_not_pick_one_row_null_values_included() {
    let dir = project_dir();
    let d = dir.path();
    let k1 = keygen(d, "k1");
    let fkey = ok(seal(d, &[], &["keygen", "--format", "fernet"], b""))
        .trim()
        .to_owned();
    let conn = rusqlite::Connection::open(d.join("app.db")).unwrap();
    conn.execute_batch(
        "CREATE TABLE user_keys (id INTEGER PRIMARY KEY, guild_id TEXT, api_key TEXT)",
    )
    .unwrap();
    for (id, guild, v) in [
        (42, "g1", Some(openrouter(120))),
        (43, "g1", None),
        (44, "g2", Some(openrouter(121))),
    ] {
        let t = v.map(|v| {
            ok(seal(
                d,
                &[("FERNET_KEY", &fkey)],
                &["encrypt", "--format", "fernet"],
                v.as_bytes(),
            ))
            .trim()
            .to_owned()
        });
        conn.execute(
            "INSERT INTO user_keys VALUES (?1, ?2, ?3)",
            rusqlite::params![id, guild, t],
        )
        .unwrap();
    }
    drop(conn);
    let migrate = |ctx: &str, extra: &[&str]| {
        let mut args = vec![
            "migrate",
            "--db",
            "app.db",
            "--table",
            "user_keys",
            "--column",
            "api_key",
            "--context-from",
            ctx,
        ];
        args.extend_from_slice(extra);
        seal(
            d,
            &[("VIGIL_SEAL_KEYS", &k1), ("FERNET_KEY", &fkey)],
            &args,
            b"",
        )
    };
    let before = std::fs::read(d.join("app.db")).unwrap();
    let out = migrate("guild_id", &[]);
    expect_exit(&out, 2);
    assert!(
        stderr(&out).contains("guild_id does not pick one row of user_keys"),
        "{}",
        stderr(&out)
    );
    assert!(
        std::fs::read(d.join("app.db")).unwrap() == before,
        "a refused migrate changed app.db"
    );
    // A dry run reads, checks and decrypts everything, and changes nothing.
    let out = migrate("id", &["--dry-run"]);
    expect_exit(&out, 0);
    assert!(
        stderr(&out).contains("2 value(s) would be converted to sealed values"),
        "{}",
        stderr(&out)
    );
    assert!(
        std::fs::read(d.join("app.db")).unwrap() == before,
        "a dry run changed app.db"
    );
    assert!(!d.join("app.db-wal").exists());
    let out = migrate("id", &[]);
    expect_exit(&out, 0);
    let got = ok(seal(
        d,
        &[("VIGIL_SEAL_KEYS", &k1)],
        &[
            "store",
            "get",
            "--db",
            "app.db",
            "--table",
            "user_keys",
            "--name",
            "api_key",
            "--user",
            "44",
        ],
        b"",
    ));
    assert_eq!(got, openrouter(121));
}

// 5
#[test]
fn inputs_are_read_up_to_their_limit_and_refused_beyond_it() {
    let dir = project_dir();
    let d = dir.path();
    let k1 = keygen(d, "k1");
    let env = [("VIGIL_SEAL_KEYS", k1.as_str())];
    let big = vec![b'A'; 2 << 20];
    let out = seal(d, &env, &["decrypt", "--context", "a=b"], &big);
    expect_exit(&out, 2);
    assert!(
        stderr(&out).contains("stdin: more than"),
        "{}",
        stderr(&out)
    );
    let out = seal(
        d,
        &env,
        &["store", "put", "--db", "s.db", "--user", "u", "--name", "n"],
        &big[..70_000],
    );
    expect_exit(&out, 2);
    assert!(
        stderr(&out).contains("stdin: more than 65536 bytes"),
        "{}",
        stderr(&out)
    );
    assert!(
        !d.join("s.db").exists(),
        "a refused put left a store behind"
    );
    let out = seal(
        d,
        &env,
        &["encrypt", "--context", "a=b", "--in", "/dev/zero"],
        b"",
    );
    expect_exit(&out, 2);
    assert!(
        stderr(&out).contains("/dev/zero: more than 65536 bytes"),
        "{}",
        stderr(&out)
    );
    ok(seal(
        d,
        &env,
        &["store", "put", "--db", "s.db", "--user", "u", "--name", "n"],
        b"v-1",
    ));
    let out = seal(d, &env, &["find", "--db", "s.db", "--in", "/dev/zero"], b"");
    expect_exit(&out, 2);
    assert!(
        stderr(&out).contains("/dev/zero: more than"),
        "{}",
        stderr(&out)
    );
    // An env file that is a link to a device, or far larger than any env file.
    std::os::unix::fs::symlink("/dev/zero", d.join(".env.production")).unwrap();
    let out = seal(
        d,
        &env,
        &["run", "--env-file", ".env.production", "--", "true"],
        b"",
    );
    expect_exit(&out, 2);
    assert!(
        stderr(&out).contains("not a regular file"),
        "{}",
        stderr(&out)
    );
    let huge = std::fs::File::create(d.join(".env.staging")).unwrap();
    huge.set_len(9 << 20).unwrap();
    for args in [
        &["run", "--env-file", ".env.staging", "--", "true"][..],
        &["env", ".env.staging", "--keys", "A"][..],
    ] {
        let out = seal(d, &env, args, b"");
        expect_exit(&out, 2);
        assert!(
            stderr(&out)
                .contains(".env.staging: larger than 8388608 bytes, too large for an env file"),
            "{}",
            stderr(&out)
        );
    }
}

// 6
#[test]
fn runs_from_two_directories_take_one_lock_and_leave_no_journal() {
    let dir = TempDir::new().unwrap();
    let race = dir.path().join("race");
    let sub = race.join("sub");
    write(&race, "vigil.toml", "");
    let k1 = keygen(dir.path(), "k1");
    for round in 0..4u64 {
        write(
            &sub,
            ".env.production",
            format!(
                "K1={}\nK2={}\n",
                openrouter(130 + round),
                openrouter(140 + round)
            ),
        );
        let runs: Vec<_> = [
            (race.clone(), "sub/.env.production", "K1"),
            (sub.clone(), ".env.production", "K2"),
        ]
        .into_iter()
        .map(|(cwd, file, key)| {
            let k1 = k1.clone();
            std::thread::spawn(move || {
                // A run that finds the lock held says so and changes nothing: try again.
                for _ in 0..200 {
                    let out = seal(
                        &cwd,
                        &[("VIGIL_SEAL_KEYS", &k1)],
                        &["env", file, "--keys", key, "--write"],
                        b"",
                    );
                    if out.status.success() {
                        return;
                    }
                    assert!(stderr(&out).contains("lock"), "{}", stderr(&out));
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                panic!("never got the lock");
            })
        })
        .collect();
        for r in runs {
            r.join().unwrap();
        }
        let text = std::fs::read_to_string(sub.join(".env.production")).unwrap();
        assert!(
            text.starts_with("K1=vseal:v1:k1:") && text.contains("\nK2=vseal:v1:k1:"),
            "{text}"
        );
        assert!(!sub.join(".vigil").exists(), "a second .vigil/ under sub/");
        assert!(!race.join(".vigil/env-journal.json").exists());
        assert!(files_named(dir.path(), ".vigil-tmp").is_empty());
        let out = seal(
            &sub,
            &[("VIGIL_SEAL_KEYS", &k1)],
            &[
                "run",
                "--env-file",
                ".env.production",
                "--",
                "sh",
                "-c",
                "printf '%s %s' \"$K1\" \"$K2\"",
            ],
            b"",
        );
        assert_eq!(
            ok(out),
            format!("{} {}", openrouter(130 + round), openrouter(140 + round))
        );
    }
}

// 7
#[test]
fn seal_run_refuses_loader_hooks_and_sealed_keys_turned_plaintext() {
    let dir = project_dir();
    let d = dir.path();
    let k1 = keygen(d, "k1");
    let env = [("VIGIL_SEAL_KEYS", k1.as_str())];
    let secret = openrouter(150);
    write(
        d,
        ".env.production",
        format!("OPENROUTER_API_KEY={secret}\nPORT=1\n"),
    );
    ok(seal(
        d,
        &env,
        &[
            "env",
            ".env.production",
            "--keys",
            "OPENROUTER_API_KEY",
            "--write",
        ],
        b"",
    ));
    let sealed = std::fs::read_to_string(d.join(".env.production")).unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "--env-file", ".env.production"];
        args.extend_from_slice(extra);
        args.extend([
            "--",
            "sh",
            "-c",
            "touch ran; printf %s \"$OPENROUTER_API_KEY\"",
        ]);
        seal(d, &env, &args, b"")
    };
    for (line, name) in [
        ("PYTHONPATH=/tmp/evil", "PYTHONPATH"),
        ("LD_PRELOAD=/tmp/evil.so", "LD_PRELOAD"),
        (
            "export NODE_OPTIONS='--require /tmp/evil.js'",
            "NODE_OPTIONS",
        ),
        ("BASH_ENV=/tmp/evil.sh", "BASH_ENV"),
        ("PATH=/tmp/evil:/usr/bin:/bin", "PATH"),
    ] {
        std::fs::write(d.join(".env.production"), format!("{sealed}{line}\n")).unwrap();
        let out = run(&[]);
        expect_exit(&out, 2);
        assert!(
            stderr(&out).starts_with(&format!(
                "vigil: .env.production:3: {name} would change how"
            )),
            "{}",
            stderr(&out)
        );
        assert!(!d.join("ran").exists(), "{name}: the command ran");
    }
    // Allowed by name, for a file only trusted people write.
    std::fs::write(
        d.join(".env.production"),
        format!("{sealed}PYTHONPATH=/opt/lib\n"),
    )
    .unwrap();
    assert_eq!(ok(run(&["--allow-var", "PYTHONPATH"])), secret);
    std::fs::remove_file(d.join("ran")).unwrap();
    // The sealed key replaced by a plaintext: refused, unless allowed.
    let attackers = openrouter(151);
    let forged = sealed.replace(
        sealed.lines().next().unwrap(),
        &format!("OPENROUTER_API_KEY={attackers}"),
    );
    std::fs::write(d.join(".env.production"), &forged).unwrap();
    let out = run(&[]);
    expect_exit(&out, 2);
    assert!(
        stderr(&out).starts_with("vigil: .env.production:1: OPENROUTER_API_KEY was sealed"),
        "{}",
        stderr(&out)
    );
    assert!(!d.join("ran").exists());
    assert_eq!(
        ok(run(&["--allow-plaintext", "OPENROUTER_API_KEY"])),
        attackers
    );
}

// 8
#[test]
fn a_value_made_by_seal_encrypt_is_accepted_neither_as_a_store_row_nor_as_an_env_value() {
    let dir = project_dir();
    let d = dir.path();
    let k1 = keygen(d, "k1");
    let env = [("VIGIL_SEAL_KEYS", k1.as_str())];
    ok(seal(
        d,
        &env,
        &[
            "store", "put", "--db", "s.db", "--user", "bob", "--name", "k",
        ],
        b"bob-value-1",
    ));
    let conn = rusqlite::Connection::open(d.join("s.db")).unwrap();
    let id: String = conn
        .query_row(
            "SELECT v FROM vigil_seal_meta WHERE k = 'store_id'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let forged = ok(seal(
        d,
        &env,
        &[
            "encrypt",
            "--context",
            &format!("name=k,store={id},user=bob"),
        ],
        b"forged-value",
    ));
    conn.execute(
        "UPDATE vigil_seal_secrets SET value = ?1 WHERE user = 'bob'",
        [forged.trim()],
    )
    .unwrap();
    let out = seal(
        d,
        &env,
        &[
            "store", "get", "--db", "s.db", "--user", "bob", "--name", "k",
        ],
        b"",
    );
    expect_exit(&out, 2);
    assert!(
        stderr(&out).contains("does not decrypt"),
        "{}",
        stderr(&out)
    );
    let forged = ok(seal(
        d,
        &env,
        &["encrypt", "--context", "env=production,key=A"],
        b"forged-value",
    ));
    write(d, ".env.production", format!("A={}", forged.trim()));
    let out = seal(
        d,
        &env,
        &["run", "--env-file", ".env.production", "--", "true"],
        b"",
    );
    expect_exit(&out, 2);
    assert!(
        stderr(&out).contains(".env.production:1: `A`: does not decrypt"),
        "{}",
        stderr(&out)
    );
}

// 10
#[test]
fn keys_that_are_sequences_and_guessable_passphrases_are_refused() {
    use base64::Engine as _;
    let dir = project_dir();
    let d = dir.path();
    let std = base64::engine::general_purpose::STANDARD;
    for key in [
        std.encode((0u8..32).collect::<Vec<_>>()),
        std.encode((0u8..32).map(|i| i.wrapping_mul(7)).collect::<Vec<_>>()),
    ] {
        let out = seal(
            d,
            &[("VIGIL_SEAL_KEY", &key)],
            &["encrypt", "--context", "a=b"],
            b"x",
        );
        expect_exit(&out, 2);
        assert!(
            stderr(&out).contains("a sequence or a repeated pattern"),
            "{}",
            stderr(&out)
        );
    }
    for pass in [
        "password1234",
        "Password123!",
        "P@ssw0rd2024!",
        "qwerty123456",
    ] {
        let out = seal(
            d,
            &[("VIGIL_SEAL_PASSPHRASE", pass)],
            &["encrypt", "--context", "a=b"],
            b"x",
        );
        expect_exit(&out, 2);
        assert!(
            stderr(&out).starts_with("vigil: VIGIL_SEAL_PASSPHRASE: too weak"),
            "{}",
            stderr(&out)
        );
        assert!(!stderr(&out).contains(pass));
    }
}

// 11
#[test]
fn env_files_are_placed_as_vigil_env_places_them() {
    let dir = project_dir();
    let d = dir.path();
    let k1 = keygen(d, "k1");
    let env = [("VIGIL_SEAL_KEYS", k1.as_str())];
    let secret = openrouter(160);
    // The folder rule: deploy/prod/.env is production.
    write(d, "deploy/prod/.env", format!("A={secret}\n"));
    let out = ok(seal(
        d,
        &env,
        &["env", "deploy/prod/.env", "--keys", "A", "--write"],
        b"",
    ));
    assert!(out.contains("environment production"), "{out}");
    let run = |cwd: &Path, file: &str, extra: &[&str]| {
        let mut args = vec!["run", "--env-file", file];
        args.extend_from_slice(extra);
        args.extend(["--", "sh", "-c", "printf %s \"$A\""]);
        seal(cwd, &env, &args, b"")
    };
    assert_eq!(ok(run(d, "deploy/prod/.env", &[])), secret);
    assert_eq!(ok(run(&d.join("deploy/prod"), ".env", &[])), secret);
    // A copy outside any project runs with the environment given.
    let outside = TempDir::new().unwrap();
    std::fs::copy(d.join("deploy/prod/.env"), outside.path().join(".env")).unwrap();
    let out = run(outside.path(), ".env", &[]);
    expect_exit(&out, 2);
    assert!(
        stderr(&out).contains("cannot tell which project"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        ok(run(
            outside.path(),
            ".env",
            &["--environment", "production"]
        )),
        secret
    );
    // [env.environments] places what names do not.
    write(
        d,
        "vigil.toml",
        "[env.environments]\nblue = [\".env.blue\"]\n",
    );
    write(d, ".env.blue", format!("A={secret}\n"));
    let out = ok(seal(
        d,
        &env,
        &["env", ".env.blue", "--keys", "A", "--write"],
        b"",
    ));
    assert!(out.contains("environment blue"), "{out}");
    // A link whose name and target name two environments is refused; its target is sealed.
    write(d, ".env.staging", format!("A={secret}\n"));
    std::os::unix::fs::symlink(".env.staging", d.join(".env.qa")).unwrap();
    let before = tree(d);
    let out = seal(d, &env, &["env", ".env.qa", "--keys", "A", "--write"], b"");
    expect_exit(&out, 2);
    assert!(
        stderr(&out).contains("its name places it in qa, its target in staging"),
        "{}",
        stderr(&out)
    );
    assert_eq!(tree(d), before);
    ok(seal(
        d,
        &env,
        &["env", ".env.staging", "--keys", "A", "--write"],
        b"",
    ));
    assert_eq!(ok(run(d, ".env.staging", &[])), secret);
    expect_exit(&run(d, ".env.qa", &[]), 2);
}

// 12
#[test]
fn a_nul_byte_in_an_env_file_is_refused_at_seal_time_with_file_and_line() {
    let dir = project_dir();
    let d = dir.path();
    let k1 = keygen(d, "k1");
    write(d, ".env", b"B=1\nA=secret\0value\n");
    let out = seal(
        d,
        &[("VIGIL_SEAL_KEYS", &k1)],
        &["env", ".env", "--keys", "A", "--write"],
        b"",
    );
    expect_exit(&out, 2);
    assert!(
        stderr(&out).starts_with("vigil: .env:2: "),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("secret"));
    assert!(std::fs::read(d.join(".env")).unwrap() == b"B=1\nA=secret\0value\n");
}

// 13
#[test]
fn out_refuses_symbolic_links_and_dash_is_stdin_and_stdout() {
    use std::os::unix::fs::PermissionsExt;
    let dir = project_dir();
    let d = dir.path();
    let k1 = keygen(d, "k1");
    let env = [("VIGIL_SEAL_KEYS", k1.as_str())];
    write(d, "victim.txt", "someone else's file\n");
    std::fs::set_permissions(d.join("victim.txt"), std::fs::Permissions::from_mode(0o644)).unwrap();
    std::os::unix::fs::symlink("victim.txt", d.join("link.txt")).unwrap();
    let out = seal(
        d,
        &env,
        &["encrypt", "--context", "a=b", "--out", "link.txt"],
        b"x",
    );
    expect_exit(&out, 2);
    assert!(
        stderr(&out).contains("link.txt: is a symbolic link; refused"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(d.join("victim.txt")).unwrap(),
        "someone else's file\n"
    );
    assert_eq!(
        std::fs::metadata(d.join("victim.txt"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o644
    );
    // `-` is stdout and stdin; `--in -` keeps every byte, the final newline too.
    let v = ok(seal(
        d,
        &env,
        &["encrypt", "--context", "a=b", "--in", "-", "--out", "-"],
        b"line\r\n",
    ));
    assert!(v.starts_with("vseal:v1:k1:"));
    let out = seal(
        d,
        &env,
        &["decrypt", "--context", "a=b", "--in", "-", "--out", "-"],
        v.as_bytes(),
    );
    expect_exit(&out, 0);
    assert_eq!(out.stdout, b"line\r\n");
    assert!(!d.join("-").exists());
    ok(seal(
        d,
        &env,
        &[
            "store",
            "put",
            "--db",
            "s.db",
            "--user=-42",
            "--name",
            "n",
            "--in",
            "-",
        ],
        b"v\n",
    ));
    let out = seal(
        d,
        &env,
        &["store", "get", "--db", "s.db", "--user=-42", "--name", "n"],
        b"",
    );
    assert_eq!(out.stdout, b"v\n");
}

// 15
#[test]
fn fernet_tokens_python_accepts_are_accepted_and_migrated() {
    let python = python_with("cryptography", "cryptography");
    let dir = project_dir();
    let d = dir.path();
    let fkey = py_ok(
        &python,
        "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())",
        &[],
        &[],
    )
    .trim()
    .to_owned();
    let penv = [("HOW", "key"), ("MASTER", fkey.as_str())];
    let t = py_ok(&python, PY_FERNET, &penv, &["encrypt", "value-1"])
        .trim()
        .to_owned();
    // An inner newline, and a last character with its unused bits set (t ends in `=`).
    let body = t.trim_end_matches('=');
    const A: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let last = A.find(body.chars().last().unwrap()).unwrap();
    let odd = format!(
        "{}\n{}{}{}",
        &body[..30],
        &body[30..body.len() - 1],
        &A[last + 1..last + 2],
        &t[body.len()..]
    );
    assert_eq!(
        py_ok(&python, PY_FERNET, &penv, &["decrypt", &odd]),
        "value-1"
    );
    let fenv = [("FERNET_KEY", fkey.as_str())];
    let got = ok(seal(
        d,
        &fenv,
        &["decrypt", "--format", "fernet"],
        odd.as_bytes(),
    ));
    assert_eq!(got, "value-1");
    let k1 = keygen(d, "k1");
    let conn = rusqlite::Connection::open(d.join("app.db")).unwrap();
    conn.execute_batch("CREATE TABLE t (uid INTEGER PRIMARY KEY, v TEXT)")
        .unwrap();
    conn.execute("INSERT INTO t VALUES (1, ?1)", [&odd])
        .unwrap();
    drop(conn);
    ok(seal(
        d,
        &[("VIGIL_SEAL_KEYS", &k1), ("FERNET_KEY", &fkey)],
        &[
            "migrate",
            "--db",
            "app.db",
            "--table",
            "t",
            "--column",
            "v",
            "--context-from",
            "uid",
        ],
        b"",
    ));
    let got = ok(seal(
        d,
        &[("VIGIL_SEAL_KEYS", &k1)],
        &[
            "store", "get", "--db", "app.db", "--table", "t", "--name", "v", "--user", "1",
        ],
        b"",
    ));
    assert_eq!(got, "value-1");
}

// 16
#[test]
fn messages_name_the_place_once_and_say_what_to_do() {
    let dir = project_dir();
    let d = dir.path();
    let k1 = keygen(d, "k1");
    let env = [("VIGIL_SEAL_KEYS", k1.as_str())];
    let err = |out: &Output| {
        expect_exit(out, 2);
        let e = stderr(out);
        assert_eq!(e.trim_end().lines().count(), 1, "{e}");
        e
    };
    // No `:0` when no line applies.
    write(d, ".env.blue", "A=1\n");
    let e = err(&seal(d, &env, &["env", ".env.blue", "--keys", "A"], b""));
    assert!(
        e.starts_with("vigil: .env.blue: cannot tell whether `blue`"),
        "{e}"
    );
    write(d, ".env", "A=1\n");
    assert_eq!(
        err(&seal(d, &env, &["env", ".env", "--keys", "Z"], b"")),
        "vigil: .env: Z is not in this file\n"
    );
    // Too large is not "not a number".
    let e = err(&seal(
        d,
        &[("FERNET_KEY", "x")],
        &[
            "encrypt",
            "--format",
            "fernet",
            "--fernet-key-from",
            "pbkdf2:x:999999999999",
        ],
        b"x",
    ));
    assert!(
        e.contains("the iteration count must be 1 to 10000000"),
        "{e}"
    );
    // An OS error is said once.
    std::fs::write(d.join(".vigil"), "not a folder").unwrap();
    let e = err(&seal(
        d,
        &env,
        &["env", ".env", "--keys", "A", "--write"],
        b"",
    ));
    // (A `.vigil` that is not a folder is refused before any OS call fails: Vigil keeps its
    // state only in a private folder of its own, h15-blackbox A.)
    assert!(e.matches("os error").count() <= 1, "{e}");
    assert_eq!(e.matches(".vigil: ").count(), 1, "{e}");
    std::fs::remove_file(d.join(".vigil")).unwrap();
    // Keys: hex, `kid:` in VIGIL_SEAL_KEY, an id that changed with the variable.
    let e = err(&seal(
        d,
        &[("VIGIL_SEAL_KEY", &"ab".repeat(32))],
        &["encrypt", "--context", "a=b"],
        b"x",
    ));
    assert!(e.contains("looks like 64 hex digits"), "{e}");
    let e = err(&seal(
        d,
        &[("VIGIL_SEAL_KEY", &k1)],
        &["encrypt", "--context", "a=b"],
        b"x",
    ));
    assert!(
        e.contains("VIGIL_SEAL_KEYS=\"k1:…\"") && e.contains("drop the `k1:`"),
        "{e}"
    );
    let v = ok(seal(d, &env, &["encrypt", "--context", "a=b"], b"x"));
    let bare = k1.split_once(':').unwrap().1;
    let e = err(&seal(
        d,
        &[("VIGIL_SEAL_KEY", bare)],
        &["decrypt", "--context", "a=b"],
        v.as_bytes(),
    ));
    assert!(
        e.contains("is an id derived from its key") && e.contains("VIGIL_SEAL_KEYS=\"k1:<key>\""),
        "{e}"
    );
    // Rotation away from a passphrase says to unset it.
    let pass = "correct horse battery staple 42";
    ok(seal(
        d,
        &[("VIGIL_SEAL_PASSPHRASE", pass)],
        &["store", "put", "--db", "p.db", "--user", "u", "--name", "n"],
        b"v",
    ));
    let r = ok(seal(
        d,
        &[("VIGIL_SEAL_KEYS", &k1), ("VIGIL_SEAL_PASSPHRASE", pass)],
        &["rotate", "--db", "p.db"],
        b"",
    ));
    assert!(
        r.contains("no longer used: passphrase") && r.contains("VIGIL_SEAL_PASSPHRASE (unset it)"),
        "{r}"
    );
    assert!(!r.contains("passphrase from VIGIL_SEAL_KEYS"), "{r}");
    // Help texts.
    let help = ok(seal(d, &[], &["keygen", "--help"], b""));
    assert!(
        help.contains("A Fernet key for FERNET_KEY") && !help.contains("Fernet token"),
        "{help}"
    );
    let help = ok(seal(d, &[], &["check", "--help"], b""));
    assert_eq!(help.matches("[default: .]").count(), 1, "{help}");
    // Input that is not UTF-8 names where it came from.
    let e = err(&seal(
        d,
        &env,
        &["decrypt", "--context", "a=b"],
        b"\xff\xfe",
    ));
    assert!(e.contains("stdin: not UTF-8 text"), "{e}");
    // An empty Fernet key entry.
    let fkey = ok(seal(d, &[], &["keygen", "--format", "fernet"], b""))
        .trim()
        .to_owned();
    let e = err(&seal(
        d,
        &[("FERNET_KEY", &format!("{fkey},"))],
        &["encrypt", "--format", "fernet"],
        b"x",
    ));
    assert!(
        e.contains("entry 2 of the comma-separated keys is empty"),
        "{e}"
    );
    // A BLOB where a sealed value belongs.
    ok(seal(
        d,
        &env,
        &["store", "put", "--db", "s.db", "--user", "u", "--name", "n"],
        b"v",
    ));
    rusqlite::Connection::open(d.join("s.db"))
        .unwrap()
        .execute("UPDATE vigil_seal_secrets SET value = x'00ff'", [])
        .unwrap();
    let e = err(&seal(
        d,
        &env,
        &["store", "get", "--db", "s.db", "--user", "u", "--name", "n"],
        b"",
    ));
    assert!(
        e.contains("user `u`, secret `n`: the stored value is not a sealed value's text"),
        "{e}"
    );
    // An empty VIGIL_CONFIG.
    let out = vigil(d)
        .args(["seal", "keygen"])
        .env("VIGIL_CONFIG", "")
        .output()
        .unwrap();
    expect_exit(&out, 2);
    assert!(
        stderr(&out).contains("unset VIGIL_CONFIG"),
        "{}",
        stderr(&out)
    );
    // A failed put leaves no new store.
    let e = err(&seal(
        d,
        &env,
        &[
            "store",
            "put",
            "--db",
            "new.db",
            "--user",
            &"u".repeat(300),
            "--name",
            "n",
        ],
        b"v",
    ));
    assert!(e.contains("--user"), "{e}");
    assert!(files_named(d, "new.db").is_empty() && files_named(d, "new.db-wal").is_empty());
    // A commented-out key in an env file.
    write(
        d,
        ".env.production",
        format!("#VIGIL_SEAL_KEYS={k1}\nA=1\n"),
    );
    let e = err(&seal(
        d,
        &env,
        &["env", ".env.production", "--keys", "A"],
        b"",
    ));
    assert!(
        e.starts_with("vigil: .env.production:1: VIGIL_SEAL_KEYS is in a comment"),
        "{e}"
    );
    assert!(!e.contains(&k1));
}

#[test]
fn store_list_shows_migrated_columns_and_the_authenticated_key_id_and_run_unsets_on_request() {
    let dir = project_dir();
    let d = dir.path();
    let k1 = keygen(d, "k1");
    let env = [("VIGIL_SEAL_KEYS", k1.as_str())];
    let fkey = ok(seal(d, &[], &["keygen", "--format", "fernet"], b""))
        .trim()
        .to_owned();
    let t = ok(seal(
        d,
        &[("FERNET_KEY", &fkey)],
        &["encrypt", "--format", "fernet"],
        b"v-1",
    ));
    let conn = rusqlite::Connection::open(d.join("app.db")).unwrap();
    conn.execute_batch("CREATE TABLE t (uid INTEGER PRIMARY KEY, v TEXT)")
        .unwrap();
    conn.execute("INSERT INTO t VALUES (7, ?1)", [t.trim()])
        .unwrap();
    drop(conn);
    ok(seal(
        d,
        &[("VIGIL_SEAL_KEYS", &k1), ("FERNET_KEY", &fkey)],
        &[
            "migrate",
            "--db",
            "app.db",
            "--table",
            "t",
            "--column",
            "v",
            "--context-from",
            "uid",
        ],
        b"",
    ));
    ok(seal(
        d,
        &env,
        &[
            "store", "put", "--db", "app.db", "--user", "u", "--name", "n",
        ],
        b"own",
    ));
    rusqlite::Connection::open(d.join("app.db"))
        .unwrap()
        .execute("UPDATE vigil_seal_secrets SET kid = 'k9'", [])
        .unwrap();
    let list = ok(seal(d, &env, &["store", "list", "--db", "app.db"], b""));
    assert!(list.starts_with("u\tn\tk1\t"), "{list}");
    assert!(
        list.contains("table t.v: 1 sealed value(s), bound to uid"),
        "{list}"
    );
    // FERNET_KEY was read by nothing here; --unset keeps it from the child all the same.
    write(d, ".env", "A=1\n");
    let out = ok(seal(
        d,
        &[("VIGIL_SEAL_KEYS", &k1), ("FERNET_KEY", &fkey)],
        &[
            "run",
            "--env-file",
            ".env",
            "--unset",
            "FERNET_KEY",
            "--",
            "sh",
            "-c",
            "printf %s \"${FERNET_KEY:-unset}$A\"",
        ],
        b"",
    ));
    assert_eq!(out, "unset1");
}
