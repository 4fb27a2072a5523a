//! Rate limits: `100/minute` specs ([`Rate`]) and the limiter of one route and kind
//! ([`RouteLimiter`]): GCRA in this process ([`local`]) or shared by every instance through
//! Redis ([`redis`]), each answering "allowed" or "retry after N seconds".

pub mod local;
pub mod redis;

use std::fmt::Display;
use std::hash::Hash;
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

/// Why a rate spec is refused; each names the spec as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateError {
    /// Not `COUNT/PERIOD`.
    #[error("`{0}` is not a rate; write e.g. 100/minute, 10/second or 100/30s")]
    NotARate(String),
    /// A count of zero.
    #[error("`{0}`: the count must be at least 1 (write \"off\" for no limit)")]
    ZeroCount(String),
    /// A burst of zero.
    #[error("`{0}`: burst must be at least 1")]
    ZeroBurst(String),
}

impl Rate {
    /// Parses `100/minute`, `10/second`, `5000/hour`, `20/day`, `100/30s`.
    pub fn parse(spec: &str, burst: Option<u32>) -> Result<Rate, RateError> {
        let bad = || RateError::NotARate(spec.to_owned());
        let (n, per) = spec.split_once('/').ok_or_else(bad)?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 {
            return Err(RateError::ZeroCount(spec.to_owned()));
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
            return Err(RateError::ZeroBurst(spec.to_owned()));
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

/// A route's limiter: in this process, or shared through Redis.
pub enum RouteLimiter<K: Hash + Eq + Clone> {
    /// This process only.
    Local(local::Limiter<K>),
    /// Shared by every instance using the same Redis.
    Shared(redis::Shared<K>),
}

impl<K: Hash + Eq + Clone + Display> RouteLimiter<K> {
    /// A limiter of `rate` in this process, or, with a Redis connection, one shared through
    /// buckets named `<prefix><key>`.
    pub fn new(rate: Rate, shared: Option<(&::redis::aio::ConnectionManager, String)>) -> Self {
        match shared {
            None => RouteLimiter::Local(local::Limiter::new(rate.interval(), rate.burst)),
            Some((conn, prefix)) => RouteLimiter::Shared(redis::Shared::new(
                rate.interval(),
                rate.burst,
                prefix,
                conn.clone(),
            )),
        }
    }

    /// [`check`](Self::check) without waiting, for a limiter in this process; `None` for one
    /// shared through Redis (which must be asked).
    pub fn check_now(&self, key: &K) -> Option<Result<(), Duration>> {
        match self {
            RouteLimiter::Local(l) => Some(l.check(key)),
            RouteLimiter::Shared(_) => None,
        }
    }

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
        assert_eq!(
            Rate::parse("0/minute", None),
            Err(RateError::ZeroCount("0/minute".into()))
        );
        assert_eq!(
            Rate::parse("lots", None),
            Err(RateError::NotARate("lots".into()))
        );
        assert_eq!(
            Rate::parse("5/minute", Some(0)),
            Err(RateError::ZeroBurst("5/minute".into()))
        );
    }
}
