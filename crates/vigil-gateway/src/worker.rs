//! One worker's own state, in one place: the configuration it serves with, its upstream
//! connections, the tokens it accepted, the alerts it saw fire this minute, its handles on the
//! request metrics and its access-log buffer. A worker thread owns its `Worker` and lends it to
//! each request (a request never changes thread), so nothing here is written by two threads: its
//! locks are never contended (connections run as ordinary tasks of the worker's current-thread
//! runtime, as before this struct existed, which needs `Send` state; a `LocalSet` with `RefCell`s
//! served about a fifth fewer requests/s in `bench/gateway.sh`). What must be global by definition
//! (rate limits, alert windows, metric values) stays in [`Gateway`].

use crate::access_log::Writer;
use crate::alerts::Memo;
use crate::gateway::Gateway;
use crate::metrics::Handles;
use crate::pool::Pool;
use crate::sharded::Shard;
use crate::token_cache::TokenCache;
use arc_swap::ArcSwap;
use std::sync::{Arc, Mutex, MutexGuard};

/// The configuration every worker serves with; a reload stores a new one.
pub(crate) type Current = Arc<ArcSwap<Gateway>>;

/// The gateway as a worker hands it to a request: the worker's own `Arc` of the shared `Arc`, so
/// the per-request clone touches a counter no other thread writes.
pub(crate) type Local = Arc<Arc<Gateway>>;

/// One worker thread's state.
pub(crate) struct Worker {
    current: Current,
    local: Mutex<Option<Local>>,
    /// Kept connections to the upstreams.
    pub(crate) pool: Pool,
    /// Tokens this worker accepted.
    pub(crate) tokens: Mutex<TokenCache>,
    /// Alerts this worker saw fire this minute.
    pub(crate) alerts: Mutex<Memo>,
    /// This worker's handles on the request metrics.
    pub(crate) metrics: Mutex<Handles>,
    /// This worker's access-log buffer.
    pub(crate) log: Writer,
}

impl Worker {
    /// The state of worker `n`, serving `current`, logging through `log`.
    pub(crate) fn new(n: usize, current: Current, log: Writer) -> Worker {
        Worker {
            current,
            local: Mutex::new(None),
            pool: Pool::new(),
            tokens: Mutex::default(),
            alerts: Mutex::default(),
            metrics: Mutex::new(Handles::new(Shard::of_worker(n))),
            log,
        }
    }

    /// The configuration to serve the next request with (a new one after a reload).
    pub(crate) fn gateway(&self) -> Local {
        let current = self.current.load();
        let mut local = mine(&self.local);
        match &*local {
            Some(held) if Arc::ptr_eq(&**held, &*current) => held.clone(),
            _ => {
                let held = Arc::new(Arc::clone(&*current));
                *local = Some(held.clone());
                held
            }
        }
    }
}

/// A worker's own part of its state (its lock is never contended, and a panic while holding it
/// leaves nothing half-written that matters).
pub(crate) fn mine<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
