//! `cargo bench -p vigil-scan`: the detection engine alone (no file system) over 64 MB of
//! generated source-like text with planted tokens, single-threaded, in MB/s. Whole-binary
//! comparisons against other scanners live in `bench/scan-peers.sh`.

#![allow(clippy::print_stdout)] // A benchmark reports its figures on stdout.
#![allow(clippy::disallowed_methods)] // Tests and benchmarks write their fixtures directly.

use std::hint::black_box;
use std::time::Instant;
use vigil_scan::examples::{expand, Gen};
use vigil_scan::Ruleset;

fn corpus(bytes: usize) -> (Vec<u8>, usize) {
    let mut gen = Gen::new(2024);
    let lines = [
        "    let token_count = tokens.iter().filter(|t| t.is_word()).count();",
        "def authenticate(self, password: str) -> bool:  # checks the secret hash",
        "#define SK_BUFF_MAX 4096 /* task_struct mask_bits */",
        "    return render(request, \"index.html\", {\"api_key_hint\": hint})",
        "export const DEFAULT_TIMEOUT_MS = 30_000; // see https://example.org/docs",
        "        self.assertEqual(secret_len(value), 32)",
    ];
    let planted = [
        "OPENAI_API_KEY=«sk-proj-{b64url:74}T3BlbkFJ{b64url:74}»",
        "GITHUB_TOKEN=«ghp_{alnum:30}{ghcrc}»",
        "SLACK_BOT_TOKEN=«xoxb-{digits:12}-{digits:13}-{alnum:24}»",
    ];
    let mut out = Vec::with_capacity(bytes + 200);
    let mut n = 0;
    let mut planted_count = 0;
    while out.len() < bytes {
        n += 1;
        if n % 5000 == 0 {
            let ex = expand(planted[planted_count % planted.len()], &mut gen).expect("template");
            out.extend_from_slice(ex.text.as_bytes());
            planted_count += 1;
        } else {
            out.extend_from_slice(lines[(gen.next_u64() % lines.len() as u64) as usize].as_bytes());
        }
        out.push(b'\n');
    }
    (out, planted_count)
}

fn main() {
    let rules = Ruleset::builtin();
    let (data, planted) = corpus(64 << 20);
    let chunks: Vec<&[u8]> = data.chunks(256 << 10).collect();
    let mut best = f64::MAX;
    let mut found = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let mut out = Vec::new();
        for c in &chunks {
            rules.scan_bytes("bench.txt", None, black_box(c), &mut out);
        }
        best = best.min(t.elapsed().as_secs_f64());
        found = out.len();
    }
    let mb = data.len() as f64 / 1e6;
    println!("engine: {mb:.0} MB of source-like text, {planted} planted tokens, {found} findings");
    println!(
        "engine: best of 5: {best:.3} s, {:.0} MB/s on one core",
        mb / best
    );
    assert!(
        found >= planted - 3,
        "planted tokens split across chunk edges at most"
    );
}
