//! The audit's integrity while the gateway runs (bb-gw-s8 N2): a log that went back (cut back
//! with its head, or deleted with it) is refused rather than extended or begun again, a log
//! whose first line is not a genesis line is reported, refusals during an outage are counted
//! instead of queued, and a stop with lines it could not write leaves a keyed `lost` line.

use super::retest::{audit_config, refuses, verify};
use super::tool_security::wait_lines;
use super::*;

fn random_key() -> String {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).unwrap();
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// `tools/call TOOL` on `/mcp/filesystem` as alice: status and body.
async fn tool_call(gw: &Gateway, tool: &str) -> (u16, String) {
    let auth = bearer(&token("filesystem", "alice"));
    let (status, _, body) = call(
        "POST",
        &gw.url("/mcp/filesystem"),
        &[
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
            ("accept", "application/json"),
        ],
        &format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{tool}","arguments":{{}}}}}}"#
        ),
    )
    .await;
    (status.as_u16(), body)
}

/// Calls `tool` until the gateway forwards it again (the writer retries once a second); the
/// number of 503 answers met on the way.
async fn call_until_forwarded(gw: &Gateway, tool: &str) -> usize {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut refused = 0;
    loop {
        let (status, body) = tool_call(gw, tool).await;
        if status == 200 {
            return refused;
        }
        assert_eq!(status, 503, "{body}");
        assert!(body.contains("audit_unavailable"), "{body}");
        refused += 1;
        assert!(
            std::time::Instant::now() < deadline,
            "never forwarded again"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn wait_until(what: &str, f: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while !f() {
        assert!(std::time::Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

// bb-gw-s8 N2 (0), (b): log and head put back to an earlier genuine state while the gateway ran
// were extended (the later lines gone, `intact`); both deleted, a new chain without a genesis
// line began (`intact` too). The running gateway now remembers the last line it wrote and
// refuses tool calls (503) while the log does not hold it; it never creates the log again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_running_gateway_refuses_a_log_that_went_back_or_vanished() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let key = random_key();
    let env = [("VIGIL_GATEWAY_AUDIT_KEY", key.as_str())];
    let cfg = audit_config(&up);
    let gw = Gateway::start(dir.path(), &cfg, &env);
    let log = dir.path().join("tools.jsonl");
    let head = dir.path().join("tools.jsonl.head");
    assert_eq!(tool_call(&gw, "first").await.0, 200);
    wait_lines(&log, 1);
    let early = (std::fs::read(&log).unwrap(), std::fs::read(&head).unwrap());
    for t in ["second", "third"] {
        assert_eq!(tool_call(&gw, t).await.0, 200);
    }
    wait_lines(&log, 3);
    let late = (std::fs::read(&log).unwrap(), std::fs::read(&head).unwrap());

    // Rolled back: a genuine earlier state, which verifies on its own.
    std::fs::write(&log, &early.0).unwrap();
    std::fs::write(&head, &early.1).unwrap();
    assert_eq!(verify(dir.path(), &[], &env).0, Some(0));
    // Without its key, a keyed log says so once, not once per line (session 31's leftover).
    let (code, out) = verify(dir.path(), &[], &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("none of the 2 lines of the log") && out.contains("VIGIL_GATEWAY_AUDIT_KEY"),
        "{out}"
    );
    assert!(!out.contains("edited (its hash"), "{out}");
    assert_eq!(out.lines().count(), 2, "{out}");
    assert_eq!(tool_call(&gw, "fourth").await.0, 200, "on its way");
    assert!(gw.wait_log("the log no longer holds seq 4, which this process wrote"));
    let (status, body) = tool_call(&gw, "fifth").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(std::fs::read(&log).unwrap(), early.0, "not extended");

    // Put back where it was: the kept line and the count of refusals are written, and calls
    // go on.
    std::fs::write(&log, &late.0).unwrap();
    std::fs::write(&head, &late.1).unwrap();
    let refused = call_until_forwarded(&gw, "sixth").await;
    // A refusal that raced the log's return is counted in a later `lost` line: every `lost`
    // line counts, and they are waited for (a loaded machine writes the last one later).
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let (lines, counted) = loop {
        let lines = wait_lines(&log, 6);
        let tools: Vec<&str> = lines.iter().filter_map(|l| l["tool"].as_str()).collect();
        let unavailable = tools.iter().filter(|t| **t == "sixth").count() - 1;
        let lost: Vec<&serde_json::Value> = lines.iter().filter(|l| l["event"] == "lost").collect();
        let counted = lost
            .iter()
            .map(|l| l["count"].as_u64().unwrap() as usize)
            .sum::<usize>()
            + unavailable;
        if counted > refused || std::time::Instant::now() > deadline {
            break (lines, counted);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let tools: Vec<&str> = lines.iter().filter_map(|l| l["tool"].as_str()).collect();
    assert_eq!(
        tools[..4],
        ["first", "second", "third", "fourth"],
        "{lines:?}"
    );
    let lost: Vec<&serde_json::Value> = lines.iter().filter(|l| l["event"] == "lost").collect();
    assert!(!lost.is_empty(), "the refusals are counted: {lines:?}");
    assert!(lost.iter().all(|l| l["reason"] == "not_kept"), "{lines:?}");
    assert_eq!(
        counted,
        refused + 1,
        "every refusal counted or written: {lines:?}"
    );

    // Both files deleted: no new chain begins; calls are refused and the log stays away.
    std::fs::remove_file(&log).unwrap();
    std::fs::remove_file(&head).unwrap();
    let _ = tool_call(&gw, "seventh").await;
    assert!(gw.wait_log_n("which this process wrote or verified", 2));
    let (status, body) = tool_call(&gw, "eighth").await;
    assert_eq!(status, 503, "{body}");
    assert!(!log.exists() && !head.exists());
    drop(gw);

    // A log whose line 1 is not a genesis line (a chain begun by something else): reported by
    // `audit verify` (exit 1) and refused at start (exit 2).
    let mut fields = serde_json::Map::new();
    fields.insert("tool".into(), "made_up".into());
    vigil_core::chain::Chain::new(&log, &head)
        .append(&fields)
        .unwrap();
    let (code, out) = verify(dir.path(), &[], &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("line 1 is not a genesis line"), "{out}");
    let err = refuses(dir.path(), &cfg, &[]);
    assert!(
        err.contains("gateway.audit.path")
            && err.contains("line 1 of the audit log is not a genesis line"),
        "{err}"
    );
}

// bb-gw-s8 N2 (a), (c): refusals during an outage queued without bound (220,000 lines, 525 MB),
// and lines kept during an outage vanished at a stop without a trace. Refusals are counted into
// one `lost` line now, and a stop that cannot write leaves a mark beside the head: the next
// start writes a keyed `lost` line, so the gap is in the chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_in_an_outage_are_counted_and_a_stop_that_cannot_write_leaves_a_lost_line() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let key = random_key();
    let env = [("VIGIL_GATEWAY_AUDIT_KEY", key.as_str())];
    let cfg = audit_config(&up);
    let gw = Gateway::start(dir.path(), &cfg, &env);
    let log = dir.path().join("tools.jsonl");
    let head = dir.path().join("tools.jsonl.head");
    let pending = dir.path().join("tools.jsonl.head.pending");
    assert_eq!(tool_call(&gw, "first").await.0, 200);
    wait_lines(&log, 1);

    // The head cannot be written (a folder in its place, as ENOSPC or EIO would).
    let saved = std::fs::read(&head).unwrap();
    std::fs::remove_file(&head).unwrap();
    std::fs::create_dir(&head).unwrap();
    assert_eq!(tool_call(&gw, "second").await.0, 200, "on its way");
    assert!(gw.wait_log("audit lines could not be written"));
    wait_until("the pending mark", || pending.exists());
    // bb-gw-s10 F11: private like the log and its head.
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&pending).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{mode:o}");
    }
    for _ in 0..20 {
        assert_eq!(tool_call(&gw, "refused").await.0, 503);
    }
    std::fs::remove_dir(&head).unwrap();
    std::fs::write(&head, &saved).unwrap();
    let refused = 20 + call_until_forwarded(&gw, "after").await;
    let lines = wait_lines(&log, 4);
    wait_until("the pending mark removed", || !pending.exists());
    assert_eq!(lines[0]["tool"], "first");
    assert_eq!(lines[1]["tool"], "second");
    let lost = lines
        .iter()
        .find(|l| l["event"] == "lost")
        .expect("counted");
    let written = lines
        .iter()
        .filter(|l| l["outcome"] == "audit_unavailable")
        .count();
    assert_eq!(
        lost["count"].as_u64().unwrap() as usize + written,
        refused,
        "{lines:?}"
    );
    assert!(written <= 1, "refusals are counted, not queued: {lines:?}");

    // Another outage, then SIGTERM: the line of the call on its way cannot be written.
    let saved = std::fs::read(&head).unwrap();
    std::fs::remove_file(&head).unwrap();
    std::fs::create_dir(&head).unwrap();
    assert_eq!(tool_call(&gw, "at_stop").await.0, 200);
    assert!(gw.wait_log_n("audit lines could not be written", 2));
    gw.signal("TERM");
    let mut gw = gw;
    let (st, gw) = tokio::task::spawn_blocking(move || (gw.child.wait().unwrap(), gw))
        .await
        .unwrap();
    assert!(st.success(), "{st:?}");
    assert!(gw.wait_log("shutting down with audit lines that could not be written"));
    drop(gw);
    assert!(pending.exists());
    std::fs::remove_dir(&head).unwrap();
    std::fs::write(&head, &saved).unwrap();

    // The next start records the gap in the chain, keyed.
    let gw = Gateway::start(dir.path(), &cfg, &env);
    assert!(gw.wait_log("recorded as a lost line"));
    drop(gw);
    assert!(!pending.exists());
    let (code, out) = verify(dir.path(), &[], &env);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("keyed"), "{out}");
    let text = std::fs::read_to_string(&log).unwrap();
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "lost", "{text}");
    assert_eq!(last["reason"], "unwritten_at_stop");
    assert!(last["count"].as_u64().unwrap() >= 1, "{last}");
    assert!(
        !text.contains("\"tool\":\"at_stop\""),
        "its line was never written: {text}"
    );
}

// bb-gw-s10 F1/F2: the memory of the last line written was the writer's own, and a SIGHUP builds
// a new writer: a log cut back (or deleted with its head) and then reloaded was extended (or
// begun again) as if nothing happened. The process remembers per log path now: the reload is
// refused, the running configuration stays, and tool calls are refused until an operator acts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_never_forgets_what_the_gateway_wrote_to_its_log() {
    let up = Upstream::start().await;
    let dir = TempDir::new().unwrap();
    let key = random_key();
    let env = [("VIGIL_GATEWAY_AUDIT_KEY", key.as_str())];
    let gw = Gateway::start(dir.path(), &audit_config(&up), &env);
    let log = dir.path().join("tools.jsonl");
    let head = dir.path().join("tools.jsonl.head");
    assert_eq!(tool_call(&gw, "first").await.0, 200);
    wait_lines(&log, 1);
    let early = (std::fs::read(&log).unwrap(), std::fs::read(&head).unwrap());
    for t in ["second", "third"] {
        assert_eq!(tool_call(&gw, t).await.0, 200);
    }
    wait_lines(&log, 3);
    std::fs::write(&log, &early.0).unwrap();
    std::fs::write(&head, &early.1).unwrap();
    gw.signal("HUP");
    assert!(gw.wait_log("reload failed"));
    // The reload's writer refused the log; the running one finds out at its next write (a call
    // already on its way is forwarded, as without a reload), then refuses.
    let _ = tool_call(&gw, "fourth").await;
    assert!(gw.wait_log_n("which this process wrote", 2));
    let (status, body) = tool_call(&gw, "sixth").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(std::fs::read(&log).unwrap(), early.0, "not extended");

    std::fs::remove_file(&log).unwrap();
    std::fs::remove_file(&head).unwrap();
    gw.signal("HUP");
    assert!(gw.wait_log_n("reload failed", 2));
    let (status, body) = tool_call(&gw, "seventh").await;
    assert_eq!(status, 503, "{body}");
    assert!(!log.exists() && !head.exists(), "no new chain begins");
}
