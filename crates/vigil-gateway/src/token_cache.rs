//! Tokens already accepted, remembered per worker (a [`TokenCache`] in each worker's state) and per route, so a client that sends
//! the same bearer token on every request is verified once, not on each (Envoy's and Kong's JWT
//! caches do the same). Only acceptances are kept, never refusals. An entry is trusted until the
//! token expires or for [`MAX_AGE`] seconds, whichever comes first, and only for the
//! configuration it was verified under: a reload (new keys, new route rules) starts empty.
//!
//! After a token is accepted, time can only make it invalid through `exp` (`nbf`, `iat` and the
//! lifetime limit are all met once and stay met), so a hit before expiry gives the same answer a
//! fresh verification would, apart from keys a JWKS refresh removed, which [`MAX_AGE`] bounds.

use crate::auth::Principal;
use std::collections::HashMap;

/// Only accepted tokens are ever inserted, and only the gateway's own keys can sign one, so a
/// client cannot fill a map with colliding keys: a fast hasher is safe here.
type Map = HashMap<Box<str>, Accepted, foldhash::fast::RandomState>;

/// Seconds an accepted token is trusted before it is verified again.
pub const MAX_AGE: u64 = 30;
/// Tokens kept per route and thread; a full map is emptied (verification refills it).
pub const MAX_ENTRIES: usize = 4096;

struct Accepted {
    subject: Option<String>,
    lifetime: Option<u64>,
    scopes: std::sync::Arc<[String]>,
    /// Unix second of `exp` (`u64::MAX` without one).
    exp: u64,
    /// Trusted while now < this.
    until: u64,
}

/// One worker's accepted tokens, per route, for one configuration.
#[derive(Default)]
pub struct TokenCache {
    generation: u64,
    routes: Vec<Map>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    /// The principal of `token` on route `route` if this worker accepted it under
    /// configuration `generation` and the acceptance still holds at `now`.
    pub fn get(&self, generation: u64, route: usize, token: &str, now: u64) -> Option<Principal> {
        if self.generation != generation {
            return None;
        }
        let a = self.routes.get(route)?.get(token)?;
        (now < a.until).then(|| Principal {
            subject: a.subject.clone(),
            expires_in: a.exp.saturating_sub(now),
            lifetime: a.lifetime,
            scopes: a.scopes.clone(),
        })
    }

    /// Remembers that `token` was accepted for `route` at `now` under configuration
    /// `generation` (a new generation empties the cache first).
    pub fn put(&mut self, generation: u64, route: usize, token: &str, p: &Principal, now: u64) {
        if self.generation != generation {
            *self = TokenCache {
                generation,
                routes: Vec::new(),
            };
        }
        if self.routes.len() <= route {
            self.routes.resize_with(route + 1, Map::default);
        }
        let map = &mut self.routes[route];
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        let exp = now.saturating_add(p.expires_in);
        map.insert(
            token.into(),
            Accepted {
                subject: p.subject.clone(),
                lifetime: p.lifetime,
                scopes: p.scopes.clone(),
                exp,
                until: exp.min(now.saturating_add(MAX_AGE)),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice(expires_in: u64) -> Principal {
        Principal {
            subject: Some("alice".into()),
            expires_in,
            lifetime: Some(3600),
            scopes: crate::auth::no_scopes(),
        }
    }

    #[test]
    fn hits_only_for_the_same_configuration_route_and_token_until_expiry_or_max_age() {
        let t = ["eyJ", "hdr.", "eyJ", "claims.", "sig"].concat();
        let mut c = TokenCache::default();
        c.put(7, 1, &t, &alice(100), 1_000);
        let hit = c.get(7, 1, &t, 1_010).expect("cached");
        assert_eq!(
            (hit.subject.as_deref(), hit.expires_in),
            (Some("alice"), 90)
        );
        assert!(c.get(7, 0, &t, 1_010).is_none(), "another route");
        assert!(c.get(8, 1, &t, 1_010).is_none(), "another configuration");
        assert!(
            c.get(7, 1, &(t.clone() + "x"), 1_010).is_none(),
            "another token"
        );
        assert!(
            c.get(7, 1, &t, 1_000 + MAX_AGE).is_none(),
            "older than MAX_AGE"
        );
        c.put(7, 1, &t, &alice(5), 2_000);
        assert!(c.get(7, 1, &t, 2_004).is_some());
        assert!(c.get(7, 1, &t, 2_005).is_none(), "expired");
        c.put(9, 0, &t, &alice(100), 3_000);
        assert!(
            c.get(7, 1, &t, 3_001).is_none(),
            "a new configuration empties the cache"
        );
    }
}
