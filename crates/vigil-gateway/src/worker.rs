//! One worker's own state, in one place: the configuration it serves with, its upstream
//! connections, the tokens it accepted, the alerts it saw fire this minute, its handles on the
//! request metrics and its access-log buffer. A worker thread owns its `Worker` and lends it to
//! each request (a request never changes thread), so none of this is shared or locked per
//! request; what must be global by definition (rate limits, alert windows, metric values) stays
//! in [`Gateway`].

use crate::access_log::Writer;
use crate::alerts::Memo;
use crate::gateway::Gateway;
use crate::metrics::Handles;
use crate::pool::Pool;
use crate::sharded::Shard;
use crate::token_cache::TokenCache;
use arc_swap::ArcSwap;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

/// The configuration every worker serves with; a reload stores a new one.
pub(crate) type Current = Arc<ArcSwap<Gateway>>;

/// The gateway as a worker hands it to a request: the worker's own `Rc` of the shared `Arc`, so
/// the per-request clone touches a counter no other thread writes.
pub(crate) type Local = Rc<Arc<Gateway>>;

/// One worker thread's state.
pub(crate) struct Worker {
    current: Current,
    local: RefCell<Option<Local>>,
    /// Kept connections to the upstreams.
    pub(crate) pool: Pool,
    /// Tokens this worker accepted.
    pub(crate) tokens: RefCell<TokenCache>,
    /// Alerts this worker saw fire this minute.
    pub(crate) alerts: RefCell<Memo>,
    /// This worker's handles on the request metrics.
    pub(crate) metrics: RefCell<Handles>,
    /// This worker's access-log buffer.
    pub(crate) log: Writer,
}

impl Worker {
    /// The state of worker `n`, serving `current`, logging through `log`.
    pub(crate) fn new(n: usize, current: Current, log: Writer) -> Worker {
        Worker {
            current,
            local: RefCell::new(None),
            pool: Pool::new(),
            tokens: RefCell::default(),
            alerts: RefCell::default(),
            metrics: RefCell::new(Handles::new(Shard::of_worker(n))),
            log,
        }
    }

    /// The configuration to serve the next request with (a new one after a reload).
    pub(crate) fn gateway(&self) -> Local {
        let current = self.current.load();
        let mut local = self.local.borrow_mut();
        match &*local {
            Some(mine) if Arc::ptr_eq(mine, &current) => mine.clone(),
            _ => {
                let mine = Rc::new(Arc::clone(&current));
                *local = Some(mine.clone());
                mine
            }
        }
    }
}
