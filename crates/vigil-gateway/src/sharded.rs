//! Per-request metrics without shared writes: a counter and a histogram that each worker updates in
//! a shard of its own (one cache line apart; the worker's [`Shard`] says which), summed only when
//! `/metrics` is scraped. Prometheus sees an ordinary counter and histogram. Every worker counts
//! every request; with the crate's own types, both workers wrote the same atomic and took the same
//! histogram lock for each.

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::{MetricType, TypedMetric};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Shards per metric: workers beyond this share shards (still correct, just not contention-free).
const SHARDS: usize = 8;

/// Which shard a worker writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Shard(usize);

impl Shard {
    /// The shard of worker `n` (workers beyond [`SHARDS`] share).
    pub fn of_worker(n: usize) -> Shard {
        Shard(n % SHARDS)
    }
}

/// One value on a cache line of its own.
#[repr(align(128))]
#[derive(Default, Debug)]
struct Padded<T>(T);

/// A monotonic counter.
#[derive(Clone, Debug, Default)]
pub struct ShardedCounter {
    shards: Arc<[Padded<AtomicU64>; SHARDS]>,
}

impl ShardedCounter {
    /// Adds one, in `shard`.
    pub fn inc(&self, shard: Shard) {
        self.shards[shard.0].0.fetch_add(1, Ordering::Relaxed);
    }

    /// The total.
    pub fn get(&self) -> u64 {
        self.shards
            .iter()
            .map(|s| s.0.load(Ordering::Relaxed))
            .sum()
    }
}

impl TypedMetric for ShardedCounter {
    const TYPE: MetricType = MetricType::Counter;
}

impl EncodeMetric for ShardedCounter {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        encoder.encode_counter::<NoLabelSet, _, u64>(&self.get(), None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

#[derive(Debug, Default, Clone)]
struct Counts {
    sum: f64,
    count: u64,
    /// Per bucket (not cumulative).
    buckets: Vec<u64>,
}

/// A histogram with fixed upper bounds.
#[derive(Clone, Debug)]
pub struct ShardedHistogram {
    bounds: Arc<[f64]>,
    shards: Arc<[Padded<Mutex<Counts>>; SHARDS]>,
}

impl ShardedHistogram {
    /// A histogram with these upper bounds (ascending); `+Inf` is implied.
    pub fn new(bounds: impl IntoIterator<Item = f64>) -> Self {
        ShardedHistogram {
            bounds: bounds.into_iter().collect(),
            shards: Arc::new(Default::default()),
        }
    }

    /// Records `v`, in `shard`.
    pub fn observe(&self, shard: Shard, v: f64) {
        let i = self
            .bounds
            .iter()
            .position(|b| v <= *b)
            .unwrap_or(self.bounds.len());
        let mut c = self.shards[shard.0]
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if c.buckets.is_empty() {
            c.buckets = vec![0; self.bounds.len() + 1];
        }
        c.sum += v;
        c.count += 1;
        c.buckets[i] += 1;
    }

    /// Sum, count and `(upper bound, count in this bucket)` over all shards (the encoder makes
    /// the counts cumulative, as for the crate's own histogram).
    fn totals(&self) -> (f64, u64, Vec<(f64, u64)>) {
        let mut sum = 0.0;
        let mut count = 0;
        let mut per = vec![0u64; self.bounds.len() + 1];
        for s in self.shards.iter() {
            let c = s.0.lock().unwrap_or_else(|e| e.into_inner());
            sum += c.sum;
            count += c.count;
            for (t, n) in per.iter_mut().zip(&c.buckets) {
                *t += n;
            }
        }
        let buckets = self
            .bounds
            .iter()
            .copied()
            .chain([f64::MAX])
            .zip(per)
            .collect();
        (sum, count, buckets)
    }
}

impl TypedMetric for ShardedHistogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for ShardedHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let (sum, count, buckets) = self.totals();
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::metrics::histogram::Histogram;
    use prometheus_client::registry::Registry;

    fn text(r: &Registry) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, r).unwrap();
        out
    }

    #[test]
    fn shards_add_up_to_what_the_crate_types_report() {
        let bounds = [0.001, 0.01, 0.1];
        let (mine, theirs) = (ShardedHistogram::new(bounds), Histogram::new(bounds));
        let (c, their_c) = (
            ShardedCounter::default(),
            prometheus_client::metrics::counter::Counter::<u64>::default(),
        );
        // Binary fractions: sums are exact in any order.
        let values = [0.0009765625, 0.0078125, 0.03125, 0.0625, 5.0, 0.001953125];
        std::thread::scope(|s| {
            for (n, chunk) in values.chunks(2).enumerate() {
                let (mine, c) = (mine.clone(), c.clone());
                s.spawn(move || {
                    for v in chunk {
                        mine.observe(Shard::of_worker(n), *v);
                        c.inc(Shard::of_worker(n));
                    }
                });
            }
        });
        for v in values {
            theirs.observe(v);
            their_c.inc();
        }
        let (mut a, mut b) = (Registry::default(), Registry::default());
        a.register("lat", "x", mine);
        a.register("n", "x", c);
        b.register("lat", "x", theirs);
        b.register("n", "x", their_c);
        assert_eq!(text(&a), text(&b));
    }
}
