//! Crash points for tests: with `VIGIL_TEST_KILL_AT=k` in the environment, the process sends
//! itself `SIGKILL` (through the shell's `kill -9`, exactly what an operator's `kill -9` does) at the k-th
//! step of a rotation or migration. Unset, a step costs one counter increment.

use std::sync::atomic::{AtomicU64, Ordering};

/// The variable naming the step to die at.
pub const VAR: &str = "VIGIL_TEST_KILL_AT";

static STEPS: AtomicU64 = AtomicU64::new(0);

/// Marks one step; dies here when the test asked for it.
pub fn step() {
    let n = STEPS.fetch_add(1, Ordering::SeqCst) + 1;
    let Some(at) = std::env::var(VAR).ok().and_then(|v| v.parse::<u64>().ok()) else {
        return;
    };
    if at == n {
        // The shell's own `kill` (every system has `sh`; not every one has /bin/kill).
        let _ = std::process::Command::new("sh")
            .args([
                "-c",
                "kill -9 \"$1\"",
                "sh",
                &std::process::id().to_string(),
            ])
            .status();
        // The signal is on its way; make no further progress.
        loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    }
}
