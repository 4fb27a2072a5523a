//! Rate limits: `100/minute` specs, and per-key GCRA limiters (the `governor` crate) that answer
//! "allowed" or "retry after N seconds".

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::hash::Hash;
use std::num::NonZeroU32;
use std::time::Duration;

/// A rate: `count` requests per `period`, `burst` of them back to back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Requests per period.
    pub count: u32,
    /// The period.
    pub period: Duration,
    /// Requests allowed back to back (defaults to `count`: the whole window).
    pub burst: u32,
}

impl Rate {
    /// Parses `100/minute`, `10/second`, `5000/hour`, `20/day`, `100/30s`.
    pub fn parse(spec: &str, burst: Option<u32>) -> Result<Rate, String> {
        let bad = || format!("`{spec}` is not a rate; write e.g. 100/minute, 10/second or 100/30s");
        let (n, per) = spec.split_once('/').ok_or_else(bad)?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 {
            return Err(format!(
                "`{spec}`: the count must be at least 1 (write \"off\" for no limit)"
            ));
        }
        let period = match per.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            "d" | "day" => Duration::from_secs(86_400),
            other => vigil_core::duration::parse(other).map_err(|_| bad())?,
        };
        if period.is_zero() {
            return Err(bad());
        }
        let burst = burst.unwrap_or(count);
        if burst == 0 {
            return Err(format!("`{spec}`: burst must be at least 1"));
        }
        Ok(Rate {
            count,
            period,
            burst,
        })
    }

    /// The time one request's allowance takes to come back.
    pub fn interval(&self) -> Duration {
        self.period / self.count
    }
}

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
    /// A limiter enforcing `rate` for every key separately.
    pub fn new(rate: Rate) -> Self {
        let burst = NonZeroU32::new(rate.burst).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(rate.interval().max(Duration::from_nanos(1)))
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

/// A route's limiter: in this process, or shared through Redis.
pub enum RouteLimiter<K: Hash + Eq + Clone> {
    /// This process only.
    Local(Limiter<K>),
    /// Shared by every instance using the same Redis.
    Shared(crate::redis_limit::Shared<K>),
}

impl<K: Hash + Eq + Clone + std::fmt::Display> RouteLimiter<K> {
    /// `Ok` when `key` may make a request now; otherwise how long until it may.
    pub async fn check(&self, key: &K) -> Result<(), Duration> {
        match self {
            RouteLimiter::Local(l) => l.check(key),
            RouteLimiter::Shared(s) => s.check(key).await,
        }
    }

    /// Drops state of keys back to full allowance.
    pub fn shrink(&self) {
        match self {
            RouteLimiter::Local(l) => l.shrink(),
            RouteLimiter::Shared(s) => s.shrink(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse() {
        let r = Rate::parse("100/minute", None).unwrap();
        assert_eq!(
            (r.count, r.period, r.burst),
            (100, Duration::from_secs(60), 100)
        );
        assert_eq!(r.interval(), Duration::from_millis(600));
        assert_eq!(Rate::parse("10/30s", Some(3)).unwrap().burst, 3);
        assert!(Rate::parse("0/minute", None).is_err());
        assert!(Rate::parse("lots", None).is_err());
    }

    #[test]
    fn the_burst_passes_and_the_next_one_waits() {
        let l = Limiter::new(Rate::parse("5/minute", None).unwrap());
        for _ in 0..5 {
            assert!(l.check(&"a").is_ok());
        }
        let wait = l.check(&"a").unwrap_err();
        assert!(wait > Duration::from_secs(5) && wait <= Duration::from_secs(12));
        assert!(l.check(&"b").is_ok(), "keys are separate");
    }
}
