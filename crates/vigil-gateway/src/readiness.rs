//! The readiness cache behind `/readyz`: one TCP probe of every upstream at most once a second,
//! shared by every worker, whatever the number of callers.

use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long one readiness probe's result is served.
pub const READY_CACHE: Duration = Duration::from_secs(1);

/// Each upstream authority and whether it accepted a TCP connection within a second.
pub type Probed = Arc<Vec<(String, bool)>>;

/// The last readiness probe, shared by every worker: at most one probe a second, whatever the
/// number of callers.
#[derive(Debug, Default)]
pub struct Readiness {
    last: tokio::sync::Mutex<Option<(Instant, Probed)>>,
}

impl Readiness {
    /// The upstreams' readiness, probed now unless a probe ran within [`READY_CACHE`]. Callers
    /// arriving during a probe wait for its result instead of probing again.
    pub async fn get(&self, authorities: &[&str]) -> Probed {
        let mut last = self.last.lock().await;
        if let Some((at, probed)) = &*last {
            if at.elapsed() < READY_CACHE {
                return probed.clone();
            }
        }
        let mut probes = tokio::task::JoinSet::new();
        for (i, a) in authorities.iter().enumerate() {
            let a = a.to_string();
            probes.spawn(async move {
                let ok = matches!(
                    tokio::time::timeout(
                        Duration::from_secs(1),
                        tokio::net::TcpStream::connect(a.as_str())
                    )
                    .await,
                    Ok(Ok(_))
                );
                (i, a, ok)
            });
        }
        let mut results = Vec::with_capacity(authorities.len());
        while let Some(r) = probes.join_next().await {
            if let Ok(r) = r {
                results.push(r);
            }
        }
        results.sort_unstable_by_key(|(i, _, _)| *i);
        let probed: Probed = Arc::new(results.into_iter().map(|(_, a, ok)| (a, ok)).collect());
        *last = Some((Instant::now(), probed.clone()));
        probed
    }
}
