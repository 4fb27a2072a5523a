//! A JWKS source: a local file, or a URL fetched over HTTPS, cached on disk, and refreshed when a
//! token names an unknown `kid` (at most once per refresh interval, one minute by default, so a
//! flood of made-up `kid`s cannot turn the verifier into a request amplifier).

use crate::key::{Key, KeyError, KeyUsed};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::Algorithm;
use std::path::PathBuf;
use std::sync::RwLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Largest JWKS document accepted (bytes).
const MAX_JWKS_BYTES: u64 = 1 << 20;

/// Where the set comes from.
#[derive(Debug, Clone)]
pub enum JwksSource {
    /// A file on disk, read once.
    File(PathBuf),
    /// A URL, fetched with a timeout and cached in `cache` (when set) for `cache_ttl`.
    Url {
        /// `https://…` (plain `http://` is accepted only for loopback addresses).
        url: String,
        /// Cache file.
        cache: Option<PathBuf>,
        /// How long a cached copy is used without fetching.
        cache_ttl: Duration,
    },
}

/// A JWKS that the ring verifies against.
#[derive(Debug)]
pub struct Jwks {
    source: JwksSource,
    refresh: Duration,
    state: RwLock<State>,
}

#[derive(Debug, Default)]
struct State {
    keys: Vec<Key>,
    fetched: Option<Instant>,
    fetches: u64,
}

/// The outcome of trying a JWKS's keys.
pub(crate) struct Visit {
    pub(crate) tried: bool,
    pub(crate) matched: Option<KeyUsed>,
}

/// A problem loading a JWKS.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    /// The file could not be read.
    #[error("{}: cannot read JWKS: {error}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// The URL could not be fetched.
    #[error("{url}: cannot fetch JWKS: {error}")]
    Fetch {
        /// The URL.
        url: String,
        /// Why.
        error: FetchError,
    },
    /// The document is not a JWK set.
    #[error("{from}: not a JWK set: {error}")]
    Parse {
        /// The file or URL it came from.
        from: String,
        /// What the JSON reader said.
        error: serde_json::Error,
    },
    /// A key of the set is unusable.
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// Why a JWKS URL was not fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Plain HTTP to another machine: a JWKS fetched in the clear can be swapped.
    #[error("only https:// URLs (or http:// on loopback) are fetched")]
    Insecure,
    /// The request failed (connection, status, size limit).
    #[error("{0}")]
    Http(ureq::Error),
}

impl Jwks {
    /// Loads the set now (from the cache when it is fresh enough).
    pub fn load(source: JwksSource, refresh: Duration) -> Result<Jwks, JwksError> {
        let jwks = Jwks {
            source,
            refresh,
            state: RwLock::new(State::default()),
        };
        let mut fetched = Instant::now();
        let keys = match &jwks.source {
            JwksSource::File(p) => {
                let text = std::fs::read_to_string(p).map_err(|error| JwksError::Read {
                    path: p.clone(),
                    error,
                })?;
                parse(&text, &p.display().to_string())?
            }
            JwksSource::Url {
                url,
                cache,
                cache_ttl,
            } => match cached(cache.as_ref(), url, *cache_ttl) {
                Some((text, age)) => {
                    // The refresh interval counts from the real fetch, even across processes.
                    fetched = fetched.checked_sub(age).unwrap_or(fetched);
                    parse(&text, url)?
                }
                None => jwks.fetch()?,
            },
        };
        let mut st = jwks.write();
        st.keys = keys;
        st.fetched = Some(fetched);
        drop(st);
        Ok(jwks)
    }

    /// Whether the set comes from a URL (and so may be fetched again, blocking, on an unknown
    /// `kid`).
    pub fn is_remote(&self) -> bool {
        matches!(self.source, JwksSource::Url { .. })
    }

    /// How many times the URL has been fetched by this process (for tests and metrics).
    pub fn fetches(&self) -> u64 {
        self.read().fetches
    }

    /// The kids in the set.
    pub fn kids(&self) -> Vec<String> {
        self.read()
            .keys
            .iter()
            .filter_map(|k| k.kid.clone())
            .collect()
    }

    pub(crate) fn algorithms(&self) -> Vec<Algorithm> {
        self.read().keys.iter().map(|k| k.alg).collect()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn visit(
        &self,
        alg: Algorithm,
        kid: Option<&str>,
        check: &mut impl FnMut(&Key) -> bool,
    ) -> Visit {
        let first = self.try_keys(alg, kid, check);
        if first.tried || kid.is_none() || !self.may_refresh() {
            return first;
        }
        match self.fetch() {
            Ok(keys) => {
                let mut st = self.write();
                st.keys = keys;
                drop(st);
                tracing::info!(kids = ?self.kids(), "JWKS refreshed for an unknown kid");
                self.try_keys(alg, kid, check)
            }
            Err(e) => {
                tracing::warn!(error = %e, "JWKS refresh failed; keeping the keys already known");
                first
            }
        }
    }

    fn try_keys(
        &self,
        alg: Algorithm,
        kid: Option<&str>,
        check: &mut impl FnMut(&Key) -> bool,
    ) -> Visit {
        let st = self.read();
        let mut tried = false;
        for k in st.keys.iter().filter(|k| k.alg == alg) {
            if kid.is_some() && k.kid.as_deref() != kid {
                continue;
            }
            tried = true;
            if check(k) {
                return Visit {
                    tried,
                    matched: Some(KeyUsed {
                        label: k.label.clone(),
                        kid: k.kid.clone(),
                        current: false,
                    }),
                };
            }
        }
        Visit {
            tried,
            matched: None,
        }
    }

    /// Claims the right to refresh: only URL sources, only once per interval (the claim is
    /// taken under the write lock, so concurrent misses fetch once).
    fn may_refresh(&self) -> bool {
        if !matches!(self.source, JwksSource::Url { .. }) {
            return false;
        }
        let mut st = self.write();
        match st.fetched {
            Some(t) if t.elapsed() < self.refresh => false,
            _ => {
                st.fetched = Some(Instant::now());
                true
            }
        }
    }

    fn fetch(&self) -> Result<Vec<Key>, JwksError> {
        let JwksSource::Url { url, cache, .. } = &self.source else {
            unreachable!("only URL sources are fetched")
        };
        check_url(url)?;
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .max_redirects(3)
            .build()
            .into();
        self.write().fetches += 1;
        let text = agent
            .get(url)
            .header("accept", "application/jwk-set+json, application/json")
            .call()
            .and_then(|mut r| {
                r.body_mut()
                    .with_config()
                    .limit(MAX_JWKS_BYTES)
                    .read_to_string()
            })
            .map_err(|e| JwksError::Fetch {
                url: url.clone(),
                error: FetchError::Http(e),
            })?;
        let keys = parse(&text, url)?;
        if let Some(c) = cache {
            let doc = serde_json::json!({
                "url": url,
                "fetched_at": SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
                "jwks": serde_json::from_str::<serde_json::Value>(&text).unwrap_or_default(),
            });
            if let Some(dir) = c.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            if let Err(e) = vigil_core::fsx::atomic_write(c, doc.to_string().as_bytes()) {
                tracing::warn!(cache = %c.display(), error = %e, "cannot write the JWKS cache");
            }
        }
        Ok(keys)
    }
}

/// Refuses plain HTTP except to loopback: a JWKS fetched in the clear can be swapped.
fn check_url(url: &str) -> Result<(), JwksError> {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("https://") {
        return Ok(());
    }
    if let Some(rest) = lower.strip_prefix("http://") {
        let host = rest.split(['/', '?']).next().unwrap_or("");
        let host = host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host);
        if matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
            return Ok(());
        }
    }
    Err(JwksError::Fetch {
        url: url.to_owned(),
        error: FetchError::Insecure,
    })
}

/// The cached document and its age, when the cache is for `url` and younger than `ttl`.
fn cached(cache: Option<&PathBuf>, url: &str, ttl: Duration) -> Option<(String, Duration)> {
    let text = std::fs::read_to_string(cache?).ok()?;
    let doc: serde_json::Value = serde_json::from_str(&text).ok()?;
    if doc.get("url")?.as_str()? != url {
        return None;
    }
    let at = doc.get("fetched_at")?.as_u64()?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
    let age = now.saturating_sub(at);
    if age > ttl.as_secs() {
        return None;
    }
    Some((doc.get("jwks")?.to_string(), Duration::from_secs(age)))
}

fn parse(text: &str, origin: &str) -> Result<Vec<Key>, JwksError> {
    let set: JwkSet = serde_json::from_str(text).map_err(|error| JwksError::Parse {
        from: origin.to_owned(),
        error,
    })?;
    let mut keys = Vec::new();
    for jwk in &set.keys {
        if let Some(k) = Key::from_jwk(jwk, origin)? {
            keys.push(k);
        }
    }
    Ok(keys)
}
