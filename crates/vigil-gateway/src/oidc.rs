//! OpenID Connect issuers: a route's `oidc = { issuer = "https://…" }` finds the issuer's keys
//! through `<issuer>/.well-known/openid-configuration` and its `jwks_uri`, so the gateway is a
//! plain OAuth 2.1 resource server behind Keycloak, Auth0 or Entra. Only configured issuers are
//! ever fetched (never a URL from a token: `jku`, `x5u` and `iss` are not followed); every URL
//! is https and every address it resolves to must be public (loopback, private, link-local,
//! shared and unique-local ones refused, the MCP guidance on SSRF) unless a network of
//! `allow_private` holds it, and plain http is accepted only there; redirects are not followed.
//! The discovery document must name the configured issuer. Metadata and keys are cached,
//! fetched again once they are older than `refresh` (default 1h) and on a token with an
//! unknown `kid`, at most once a minute; a failed refresh keeps the keys known.

use crate::config::{Cidr, CidrError};
use serde::Deserialize;
use std::net::{IpAddr, ToSocketAddrs};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use vigil_core::duration;
use vigil_token::{Key, KeyRing, Policy, Verifier};

/// Largest discovery document or JWKS accepted (bytes).
const MAX_DOCUMENT_BYTES: u64 = 1 << 20;
/// Fewest seconds between two fetches an unknown `kid` may cause.
const MIN_REFRESH: Duration = Duration::from_secs(60);

/// `[gateway.routes.oidc]`, as written.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcSection {
    /// The issuer URL (`https://idp.example/realms/main`); its `iss` is required of tokens.
    pub issuer: Option<String>,
    /// Networks the issuer and its `jwks_uri` may resolve to although they are not public
    /// (`["127.0.0.1/32"]` for an issuer on this machine); plain http is accepted only there.
    pub allow_private: Option<Vec<String>>,
    /// Keys and metadata older than this are fetched again (default 1h, at least 1m).
    #[serde(default, deserialize_with = "duration::deserialize_opt")]
    pub refresh: Option<Duration>,
}

/// Why an issuer is refused or cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum OidcProblem {
    /// No `issuer`.
    #[error("missing (e.g. issuer = \"https://idp.example/realms/main\")")]
    Missing,
    /// Not a URL with scheme and host, or one with a query or fragment.
    #[error("`{0}` is not an http(s) URL with a host")]
    NotAUrl(String),
    /// A URL with a user part (`user:password@host`), never fetched nor shown.
    #[error("the {0} URL has a user part (user:password@host); refused")]
    UserPart(&'static str),
    /// A network of `allow_private` that cannot be read.
    #[error(transparent)]
    Cidr(#[from] CidrError),
    /// A `refresh` under a minute.
    #[error("must be at least 1m")]
    Refresh,
    /// Plain http to an address outside `allow_private`.
    #[error("{what} `{url}`: plain http:// is accepted only to a network listed in allow_private")]
    Insecure {
        /// `issuer` or `jwks_uri`.
        what: &'static str,
        /// The URL.
        url: String,
    },
    /// A non-public address outside `allow_private`.
    #[error("{what} `{url}` resolves to {ip}, a {kind} address; refused (list the network in allow_private to reach it)")]
    Private {
        /// `issuer` or `jwks_uri`.
        what: &'static str,
        /// The URL.
        url: String,
        /// The address.
        ip: IpAddr,
        /// `loopback`, `private`, `link-local`, …
        kind: &'static str,
    },
    /// The host does not resolve.
    #[error("{what} `{url}`: cannot resolve its host")]
    Resolve {
        /// `issuer` or `jwks_uri`.
        what: &'static str,
        /// The URL.
        url: String,
    },
    /// The fetch failed (connection, status, redirect, size).
    #[error("`{url}` cannot be fetched: {error}")]
    Fetch {
        /// The URL.
        url: String,
        /// Why.
        error: String,
    },
    /// The discovery document is not one.
    #[error("`{url}` is not an OpenID Connect discovery document ({error})")]
    Document {
        /// The URL.
        url: String,
        /// What is missing.
        error: String,
    },
    /// The discovery document names another issuer.
    #[error("the discovery document names issuer {found}, not the configured {expected}")]
    IssuerMismatch {
        /// Configured.
        expected: String,
        /// In the document.
        found: String,
    },
    /// The JWKS cannot be read.
    #[error("`{url}` is not a usable JWK set: {error}")]
    Jwks {
        /// The URL.
        url: String,
        /// Why.
        error: String,
    },
}

/// The parts of a discovery document the gateway reads.
#[derive(Deserialize)]
struct Discovery {
    issuer: Option<String>,
    jwks_uri: Option<String>,
}

struct State {
    verifier: Arc<Verifier>,
    fetched: Instant,
    attempted: Instant,
}

/// A configured issuer: its verifier (the keys of its JWKS), refreshed within bounds.
pub struct Issuer {
    issuer: String,
    allow: Vec<Cidr>,
    refresh: Duration,
    policy: Policy,
    state: RwLock<State>,
}

impl std::fmt::Debug for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issuer")
            .field("issuer", &self.issuer)
            .field("refresh", &self.refresh)
            .finish_non_exhaustive()
    }
}

impl Issuer {
    /// Reads the section and discovers the issuer now (blocking HTTP): its metadata, then its
    /// keys. `policy` gives leeway, lifetime and size limits; tokens must carry `iss` (the
    /// route's `issuer`), or else this issuer. Errors carry the key suffix they concern.
    pub fn discover(
        s: &OidcSection,
        policy: &Policy,
        iss: Option<&str>,
    ) -> Result<Issuer, crate::config::KeyedError<OidcProblem>> {
        Self::discover_keyed(s, policy, iss).map_err(|(key, problem)| crate::config::KeyedError {
            key: key.to_owned(),
            problem,
        })
    }

    fn discover_keyed(
        s: &OidcSection,
        policy: &Policy,
        iss: Option<&str>,
    ) -> Result<Issuer, (&'static str, OidcProblem)> {
        let issuer = s
            .issuer
            .as_deref()
            .ok_or((".issuer", OidcProblem::Missing))?
            .trim_end_matches('/')
            .to_owned();
        let mut allow = Vec::new();
        for n in s.allow_private.iter().flatten() {
            allow.push(Cidr::parse(n).map_err(|e| (".allow_private", e.into()))?);
        }
        let refresh = s.refresh.unwrap_or(Duration::from_secs(3600));
        if refresh < MIN_REFRESH {
            return Err((".refresh", OidcProblem::Refresh));
        }
        let mut policy = policy.clone();
        policy.issuer = Some(iss.map_or_else(|| issuer.clone(), str::to_owned));
        policy.algorithms.clear();
        policy.audiences.clear();
        let mut me = Issuer {
            issuer,
            allow,
            refresh,
            policy,
            state: RwLock::new(State {
                verifier: Arc::new(Verifier::new(KeyRing::new(), Policy::default())),
                fetched: Instant::now(),
                attempted: Instant::now(),
            }),
        };
        let verifier = me.fetch().map_err(|e| (".issuer", e))?;
        me.state
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .verifier = Arc::new(verifier);
        Ok(me)
    }

    /// The issuer, as configured (without a trailing slash).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The verifier of the keys known now, and whether they are older than `refresh`.
    pub fn current(&self) -> (Arc<Verifier>, bool) {
        let st = self.state.read().unwrap_or_else(|e| e.into_inner());
        (st.verifier.clone(), st.fetched.elapsed() >= self.refresh)
    }

    /// Claims the right to fetch again: at most once per minute, however many requests ask.
    pub fn may_refresh(&self) -> bool {
        let mut st = self.state.write().unwrap_or_else(|e| e.into_inner());
        if st.attempted.elapsed() < MIN_REFRESH {
            return false;
        }
        st.attempted = Instant::now();
        true
    }

    /// Fetches metadata and keys again (blocking); on failure keeps the keys known and says
    /// so in the log. Call only after [`Issuer::may_refresh`] granted it.
    pub fn refresh(&self) {
        match self.fetch() {
            Ok(v) => {
                let mut st = self.state.write().unwrap_or_else(|e| e.into_inner());
                st.verifier = Arc::new(v);
                st.fetched = Instant::now();
                drop(st);
                tracing::info!(issuer = %self.issuer, "OpenID Connect keys refreshed");
            }
            Err(e) => {
                tracing::warn!(issuer = %self.issuer, error = %e, "OpenID Connect refresh failed; keeping the keys already known");
            }
        }
    }

    /// Discovery, then the JWKS, as a verifier.
    fn fetch(&self) -> Result<Verifier, OidcProblem> {
        let url = format!("{}/.well-known/openid-configuration", self.issuer);
        let text = self.get("issuer", &url)?;
        let doc: Discovery = serde_json::from_str(&text).map_err(|e| OidcProblem::Document {
            url: url.clone(),
            error: e.to_string(),
        })?;
        let found = doc.issuer.ok_or_else(|| OidcProblem::Document {
            url: url.clone(),
            error: "no issuer".into(),
        })?;
        if found.trim_end_matches('/') != self.issuer {
            return Err(OidcProblem::IssuerMismatch {
                expected: self.issuer.clone(),
                found,
            });
        }
        let jwks_uri = doc.jwks_uri.ok_or_else(|| OidcProblem::Document {
            url: url.clone(),
            error: "no jwks_uri".into(),
        })?;
        let text = self.get("jwks_uri", &jwks_uri)?;
        let bad = |error: String| OidcProblem::Jwks {
            url: jwks_uri.clone(),
            error,
        };
        let set: jsonwebtoken::jwk::JwkSet =
            serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let mut ring = KeyRing::new();
        for jwk in &set.keys {
            match Key::from_jwk(jwk, &jwks_uri) {
                Ok(Some(k)) => ring.push(k),
                Ok(None) => {}
                Err(e) => return Err(bad(e.to_string())),
            }
        }
        if ring.keys().is_empty() {
            return Err(bad("no signing key".into()));
        }
        Ok(Verifier::new(ring, self.policy.clone()))
    }

    /// `url`'s body, after its host was checked; no redirect followed, no proxy, and the
    /// connection goes to the addresses that were checked (never resolved a second time, so a
    /// DNS answer that changes between check and connect cannot reach another address).
    fn get(&self, what: &'static str, url: &str) -> Result<String, OidcProblem> {
        let addrs = self.check(what, url)?;
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .max_redirects(0)
            .proxy(None)
            .build();
        let agent = ureq::Agent::with_parts(
            config,
            ureq::unversioned::transport::DefaultConnector::new(),
            Vetted(addrs),
        );
        let fail = |error: String| OidcProblem::Fetch {
            url: url.to_owned(),
            error,
        };
        let mut r = agent
            .get(url)
            .header("accept", "application/json")
            .call()
            .map_err(|e| fail(e.to_string()))?;
        if r.status() != 200 {
            return Err(fail(format!("status {}", r.status().as_u16())));
        }
        r.body_mut()
            .with_config()
            .limit(MAX_DOCUMENT_BYTES)
            .read_to_string()
            .map_err(|e| fail(e.to_string()))
    }

    /// Refuses a URL that is not https to a public address, unless `allow_private` holds
    /// every address it resolves to; gives the addresses checked.
    fn check(
        &self,
        what: &'static str,
        url: &str,
    ) -> Result<Vec<std::net::SocketAddr>, OidcProblem> {
        let uri: http::Uri = url
            .parse()
            .map_err(|_| OidcProblem::NotAUrl(url.to_owned()))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(OidcProblem::NotAUrl(url.to_owned())),
        };
        let Some(host) = uri.host() else {
            return Err(OidcProblem::NotAUrl(url.to_owned()));
        };
        if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
            return Err(OidcProblem::UserPart(what));
        }
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let addrs: Vec<std::net::SocketAddr> = (host, port)
            .to_socket_addrs()
            .map_err(|_| OidcProblem::Resolve {
                what,
                url: url.to_owned(),
            })?
            .take(16)
            .collect();
        if addrs.is_empty() {
            return Err(OidcProblem::Resolve {
                what,
                url: url.to_owned(),
            });
        }
        for ip in addrs.iter().map(std::net::SocketAddr::ip) {
            let allowed = self.allow.iter().any(|c| c.contains(ip));
            if let Some(kind) = not_public(ip) {
                if !allowed {
                    return Err(OidcProblem::Private {
                        what,
                        url: url.to_owned(),
                        ip,
                        kind,
                    });
                }
            }
            if !https && !allowed {
                return Err(OidcProblem::Insecure {
                    what,
                    url: url.to_owned(),
                });
            }
        }
        Ok(addrs)
    }
}

/// ureq's resolver for one fetch: the addresses [`Issuer::check`] vetted, and no others.
#[derive(Debug)]
struct Vetted(Vec<std::net::SocketAddr>);

impl ureq::unversioned::resolver::Resolver for Vetted {
    fn resolve(
        &self,
        _uri: &http::Uri,
        _config: &ureq::config::Config,
        _timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        if self.0.is_empty() {
            return Err(ureq::Error::HostNotFound);
        }
        let mut out = self.empty();
        for a in &self.0 {
            out.push(*a);
        }
        Ok(out)
    }
}

/// What kind of non-public address `ip` is, if it is one.
pub fn not_public(ip: IpAddr) -> Option<&'static str> {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            if a.is_loopback() {
                Some("loopback")
            } else if a.is_private() {
                Some("private")
            } else if a.is_link_local() {
                Some("link-local")
            } else if a.is_unspecified() || o[0] == 0 {
                Some("unspecified")
            } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
                Some("shared (carrier-grade NAT)")
            } else if a.is_broadcast()
                || a.is_multicast()
                || o[0] >= 240
                || a.is_documentation()
                || (o[0] == 198 && (o[1] & 0xfe) == 18)
            {
                Some("reserved")
            } else {
                None
            }
        }
        IpAddr::V6(a) => {
            let s = a.segments();
            if a.is_loopback() {
                Some("loopback")
            } else if a.is_unspecified() {
                Some("unspecified")
            } else if (s[0] & 0xfe00) == 0xfc00 {
                Some("unique-local")
            } else if (s[0] & 0xffc0) == 0xfe80 || (s[0] & 0xffc0) == 0xfec0 {
                Some("link-local")
            } else if a.is_multicast() {
                Some("reserved")
            } else {
                None
            }
        }
    }
}

/// Verifies `token` for `route` against its issuer's keys: keys older than `refresh`, or a
/// `kid` they do not hold, fetch again first (off the async workers, at most once a minute).
pub(crate) async fn verify(
    issuer: &Arc<Issuer>,
    route: &crate::config::Route,
    token: &str,
    now: u64,
) -> Result<crate::auth::Principal, crate::auth::Refusal> {
    let (verifier, stale) = issuer.current();
    if stale && issuer.may_refresh() {
        refresh(issuer).await;
        return crate::auth::check(&issuer.current().0, None, route, token, now);
    }
    let first = crate::auth::check(&verifier, None, route, token, now);
    match &first {
        Err(r)
            if matches!(r.reason, "unknown_kid" | "no_key_for_algorithm")
                && issuer.may_refresh() =>
        {
            refresh(issuer).await;
            crate::auth::check(&issuer.current().0, None, route, token, now)
        }
        _ => first,
    }
}

async fn refresh(issuer: &Arc<Issuer>) {
    let i = Arc::clone(issuer);
    let _ = tokio::task::spawn_blocking(move || i.refresh()).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_pass() {
        for (ip, kind) in [
            ("127.0.0.1", Some("loopback")),
            ("10.1.2.3", Some("private")),
            ("172.16.0.1", Some("private")),
            ("192.168.1.1", Some("private")),
            ("169.254.169.254", Some("link-local")),
            ("100.64.0.1", Some("shared (carrier-grade NAT)")),
            ("0.0.0.0", Some("unspecified")),
            ("::1", Some("loopback")),
            ("fd00::1", Some("unique-local")),
            ("fe80::1", Some("link-local")),
            ("::ffff:10.0.0.1", Some("private")),
            ("93.184.216.34", None),
            ("2606:4700::1111", None),
        ] {
            assert_eq!(not_public(ip.parse().unwrap()), kind, "{ip}");
        }
    }

    #[test]
    fn urls_to_private_networks_are_refused_unless_allowed() {
        let issuer = |allow: &[&str]| Issuer {
            issuer: "https://idp.example".into(),
            allow: allow.iter().map(|c| Cidr::parse(c).unwrap()).collect(),
            refresh: Duration::from_secs(3600),
            policy: Policy::default(),
            state: RwLock::new(State {
                verifier: Arc::new(Verifier::new(KeyRing::new(), Policy::default())),
                fetched: Instant::now(),
                attempted: Instant::now(),
            }),
        };
        let none = issuer(&[]);
        assert!(matches!(
            none.check("jwks_uri", "https://169.254.169.254/keys"),
            Err(OidcProblem::Private {
                kind: "link-local",
                ..
            })
        ));
        assert!(matches!(
            none.check("issuer", "https://127.0.0.1:8443"),
            Err(OidcProblem::Private {
                kind: "loopback",
                ..
            })
        ));
        assert!(matches!(
            none.check("issuer", "ftp://127.0.0.1"),
            Err(OidcProblem::NotAUrl(_))
        ));
        let lo = issuer(&["127.0.0.0/8"]);
        assert!(lo.check("issuer", "http://127.0.0.1:8443").is_ok());
        assert!(matches!(
            lo.check("jwks_uri", "http://10.0.0.7/keys"),
            Err(OidcProblem::Private {
                kind: "private",
                ..
            })
        ));
    }
}
