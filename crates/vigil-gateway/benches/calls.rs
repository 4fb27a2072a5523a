//! `cargo bench -p vigil-gateway`: the per-call work of each `tools/call` feature, in process and
//! single-threaded, in nanoseconds per call: the strict JSON-RPC reading every body gets, the
//! argument scan, the result scan, argument validation. The whole gateway against nginx and
//! ContextForge is `bench/gateway.sh`; this one shows where a feature's cost per call goes.
//! `BENCH_CALLS=10000 valgrind --tool=cachegrind --cache-sim=no <bench> --bench result` counts
//! the instructions of a fixed number of calls instead (steady where wall time is not).

#![allow(clippy::print_stdout)] // A benchmark reports its figures on stdout.

use std::hint::black_box;
use std::time::{Duration, Instant};
use vigil_gateway::config::{ArgumentsMode, ResultsMode, ScanPolicy};
use vigil_gateway::scan::Scanner;

/// The call and the result `bench/gateway.sh` sends and answers.
const CALL: &[u8] = br##"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"README.md"}}}"##;
const RESULT: &[u8] = br##"{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"# Vigil\nThe security plane for AI-agent, bot and MCP-server stacks: find leaked secrets, rotate them safely, mint and check tokens, guard MCP servers behind an authenticating gateway, lint manifests and MCP configs."}],"isError":false}}"##;

/// Nanoseconds per run of `f`: the best of 7 batches of about 0.2 s each.
/// `cargo bench -p vigil-gateway -- result` runs only the timings whose name holds `result`.
fn time(name: &str, mut f: impl FnMut()) {
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if !only.is_empty() && !only.iter().any(|o| name.contains(o.as_str())) {
        return;
    }
    // `BENCH_CALLS=N`: exactly N calls, once, for counting instructions under
    // `valgrind --tool=cachegrind` where wall time is too noisy to compare two builds.
    if let Some(n) = std::env::var("BENCH_CALLS")
        .ok()
        .and_then(|n| n.parse::<u64>().ok())
    {
        for _ in 0..n {
            f();
        }
        println!("{name:<40} {n:>9} calls");
        return;
    }
    let mut n = 1u64;
    loop {
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        if t.elapsed() > Duration::from_millis(50) {
            break;
        }
        n *= 2;
    }
    n *= 4;
    let mut best = f64::MAX;
    for _ in 0..7 {
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        best = best.min(t.elapsed().as_nanos() as f64 / n as f64);
    }
    println!("{name:<40} {best:>9.0} ns/call");
}

fn main() {
    let scanner = Scanner::new(ScanPolicy {
        arguments: ArgumentsMode::Block,
        results: ResultsMode::Redact,
        budget: Duration::from_secs(1),
    })
    .expect("scanning is on");
    assert!(
        !scanner.may_hold(RESULT),
        "the bench's result holds no secret"
    );
    assert!(
        !scanner.message(CALL).found(),
        "the bench's call holds no secret"
    );
    time("strict JSON-RPC reading (every body)", || {
        black_box(vigil_gateway::jsonrpc::inspect(black_box(CALL), true).is_ok());
    });
    let call = vigil_gateway::jsonrpc::inspect(CALL, true)
        .expect("the bench's call reads")
        .call
        .expect("one tools/call");
    let written = std::str::from_utf8(&CALL[call.arguments.expect("arguments")]).expect("UTF-8");
    time("read the arguments through (tool checks)", || {
        black_box(vigil_gateway::jsonrpc::readable(black_box(written)).is_ok());
    });
    time("scan arguments (the call message)", || {
        black_box(scanner.message(black_box(CALL)).found());
    });
    time("scan result (the answer message)", || {
        black_box(scanner.may_hold(black_box(RESULT)));
    });
    let def: serde_json::Value = serde_json::from_str(
        r#"{"name":"read_file","inputSchema":{"type":"object","properties":{"path":{"type":"string","maxLength":4096}},"required":["path"],"additionalProperties":false}}"#,
    )
    .expect("tool definition");
    let schema = vigil_gateway::tools::compile(&def).expect("schema");
    let args = serde_json::json!({"path": "README.md"});
    time("validate arguments (parsed)", || {
        black_box(vigil_gateway::tools::invalid_arguments(&schema, black_box(&args)).is_none());
    });
}
