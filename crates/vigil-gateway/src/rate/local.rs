//! A GCRA limiter per key in this process (the `governor` crate): "allowed", or how long until
//! the key's next request is.

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::hash::Hash;
use std::num::NonZeroU32;
use std::time::Duration;

/// A GCRA limiter per key, in this process.
pub struct Limiter<K: Hash + Eq + Clone> {
    inner: DefaultKeyedRateLimiter<K>,
    clock: DefaultClock,
}

impl<K: Hash + Eq + Clone> std::fmt::Debug for Limiter<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Limiter")
    }
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    /// A limiter for every key separately: one request's allowance comes back after `interval`,
    /// and `burst` requests may come back to back.
    pub fn new(interval: Duration, burst: u32) -> Self {
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(interval.max(Duration::from_nanos(1)))
            .expect("a positive period")
            .allow_burst(burst);
        Limiter {
            inner: RateLimiter::keyed(quota),
            clock: DefaultClock::default(),
        }
    }

    /// `Ok` when `key` may make a request now; otherwise how long until it may.
    pub fn check(&self, key: &K) -> Result<(), Duration> {
        self.inner
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Forgets keys whose state is back to full (call now and then to bound memory).
    pub fn shrink(&self) {
        self.inner.retain_recent();
        self.inner.shrink_to_fit();
    }

    /// Keys held.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_burst_passes_and_the_next_one_waits() {
        let l = Limiter::new(Duration::from_secs(12), 5);
        for _ in 0..5 {
            assert!(l.check(&"a").is_ok());
        }
        let wait = l.check(&"a").unwrap_err();
        assert!(wait > Duration::from_secs(5) && wait <= Duration::from_secs(12));
        assert!(l.check(&"b").is_ok(), "keys are separate");
    }
}
