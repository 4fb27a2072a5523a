//! GCRA in Redis, so that several gateway instances enforce one limit: one Lua script per check,
//! atomic on the server, using the server's clock (instances never compare their own clocks).
//! When Redis cannot answer, the instance falls back to its own in-memory limiter for that
//! request and says so, rather than failing open or refusing everyone.

use crate::rate::local::Limiter;
use redis::aio::ConnectionManager;
use std::fmt::Display;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The script: KEYS[1] the bucket; ARGV[1] emission interval (µs); ARGV[2] burst.
/// Returns 0 when allowed, else the microseconds to wait. The theoretical arrival time (TAT) is
/// kept in µs of the server's clock and expires once it is in the past.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - interval * burst
if allow_at > now then
  return math.ceil(allow_at - now)
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
return 0
";

/// Connects to Redis (2 s to connect, 500 ms per answer).
pub async fn connect(url: &str) -> Result<ConnectionManager, redis::RedisError> {
    let client = redis::Client::open(url)?;
    let cfg = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Duration::from_secs(2))
        .set_response_timeout(Duration::from_millis(500))
        .set_number_of_retries(1);
    client.get_connection_manager_with_config(cfg).await
}

/// A limiter shared through Redis, with a local fallback.
pub struct Shared<K: Hash + Eq + Clone> {
    /// Microseconds one request's allowance takes to come back.
    interval: u64,
    burst: u32,
    prefix: String,
    conn: ConnectionManager,
    script: redis::Script,
    fallback: Limiter<K>,
    last_warning: AtomicU64,
    started: Instant,
}

impl<K: Hash + Eq + Clone + Display> Shared<K> {
    /// A limiter whose buckets are `<prefix><key>` in Redis: one request's allowance comes back
    /// after `interval`, `burst` may come back to back.
    pub fn new(interval: Duration, burst: u32, prefix: String, conn: ConnectionManager) -> Self {
        Shared {
            fallback: Limiter::new(interval, burst),
            interval: u64::try_from(interval.as_micros().max(1)).unwrap_or(u64::MAX),
            burst,
            prefix,
            conn,
            script: redis::Script::new(GCRA),
            last_warning: AtomicU64::new(0),
            started: Instant::now(),
        }
    }

    /// `Ok` when `key` may make a request now; otherwise how long until it may.
    pub async fn check(&self, key: &K) -> Result<(), Duration> {
        let mut conn = self.conn.clone();
        let answer: Result<u64, _> = self
            .script
            .key(format!("{}{}", self.prefix, key))
            .arg(self.interval)
            .arg(self.burst)
            .invoke_async(&mut conn)
            .await;
        match answer {
            Ok(0) => Ok(()),
            Ok(wait) => Err(Duration::from_micros(wait)),
            Err(e) => {
                // One warning every 10 s at most; a dead Redis must not flood the log.
                let now = self.started.elapsed().as_secs() + 1;
                let last = self.last_warning.load(Ordering::Relaxed);
                if (last == 0 || now >= last + 10)
                    && self
                        .last_warning
                        .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                        .is_ok()
                {
                    tracing::warn!(error = %e, "redis rate limit unavailable; limiting in this instance only");
                }
                self.fallback.check(key)
            }
        }
    }

    /// Drops idle fallback state.
    pub fn shrink(&self) {
        self.fallback.shrink();
    }
}
