//! `cargo bench -p vigil-scan --bench hashes`: what one guess of a secret costs against a
//! committed baseline entry (Argon2id, `baseline::KDF`) and against a report's `hash`
//! (`baseline::report_hash`), beside the SHA-256 content hash older reports carried.

#![allow(clippy::print_stdout)] // A benchmark reports its figures on stdout.
#![allow(clippy::disallowed_methods)] // Tests and benchmarks write their fixtures directly.

use std::hint::black_box;
use std::time::Instant;
use vigil_scan::baseline::{report_hash, Baseline};
use vigil_scan::finding::content_hash;
use vigil_scan::Ruleset;

fn per_call(n: u32, mut f: impl FnMut(u32)) -> f64 {
    let t = Instant::now();
    for i in 0..n {
        f(i);
    }
    t.elapsed().as_secs_f64() / n as f64
}

fn main() {
    let mut found = Vec::new();
    Ruleset::builtin().scan_bytes(
        "app.py",
        None,
        b"password = \"Summer2024xWinter7\"\n", // vigil:allow (the bench's fixture)
        &mut found,
    );
    assert_eq!(found.len(), 1, "the bench finding");
    let dir = std::env::temp_dir().join(format!("vigil-bench-hashes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("base.json");
    Baseline::write(&path, &found).expect("baseline written");
    let (base, _) = Baseline::load(&path).expect("baseline read");
    let f = &found[0];
    // A miss costs one Argon2id hash per finding whose rule and file the baseline names: what
    // an attacker pays per guess.
    let mut guess = f.clone();
    let baseline = per_call(50, |i| {
        guess.secret = vigil_core::Secret::new(format!("guess{i}"));
        black_box(base.contains(black_box(&guess)));
    });
    let report = per_call(200, |i| {
        black_box(report_hash(&f.rule, &f.file, &format!("guess{i}")));
    });
    let sha = per_call(200_000, |i| {
        black_box(content_hash(&f.rule, &f.file, &format!("guess{i}")));
    });
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "baseline entry (Argon2id {}): {:.1} ms per guess on one core",
        vigil_scan::baseline::KDF,
        baseline * 1e3
    );
    println!(
        "report hash (Argon2id m=4096 t=1 p=1): {:.1} ms per guess on one core",
        report * 1e3
    );
    println!(
        "old content hash (SHA-256): {:.2} µs per guess on one core",
        sha * 1e6
    );
}
