//! `vigil token inspect`: a token decoded WITHOUT verification, and what verification would
//! refuse in it (alg `none`, no `exp`, expired, duplicate keys, key-naming headers…).

use crate::parts;
use crate::rejection::{human, Rejection};
use crate::time::rfc3339;
use serde_json::Value;

/// What every inspection says first, loudly.
pub const WARNING: &str = "NOT VERIFIED: decoded without checking the signature or any claim; anyone can forge these contents. Use `vigil token verify`.";

/// A decoded, unverified token.
#[derive(Debug, Clone)]
pub struct Inspection {
    /// The header as JSON.
    pub header: Value,
    /// The claims as JSON.
    pub claims: Value,
    /// What verification would say about it, one sentence each.
    pub notes: Vec<String>,
}

/// Decodes `token` as of `now` (seconds since the epoch). Only a token that is not three
/// base64url parts of JSON is an error.
pub fn inspect(token: &str, now: u64) -> Result<Inspection, Rejection> {
    let split = parts::split(token)?;
    let decode = |part: &str, what: &str| -> Result<(Vec<u8>, Value), Rejection> {
        let bytes = parts::b64(part, what)?;
        let value = serde_json::from_slice(&bytes)
            .map_err(|_| Rejection::Malformed(format!("{what} is not JSON")))?;
        Ok((bytes, value))
    };
    let (hbytes, header) = decode(split.header, "header")?;
    let (cbytes, claims) = decode(split.claims, "claims")?;
    let mut notes = Vec::new();
    if let Err(r) = parts::header(&hbytes) {
        notes.push(r.to_string());
    }
    let now = now as i64;
    match parts::claims(&cbytes) {
        Err(r) => notes.push(r.to_string()),
        Ok(c) => {
            match c.exp {
                None => {
                    notes.push("no `exp`: verification refuses tokens that never expire".into())
                }
                Some(e) if e <= now => notes.push(format!(
                    "expired {} ago (at {})",
                    human((now - e) as u64),
                    rfc3339(e)
                )),
                Some(e) => notes.push(format!(
                    "expires in {} (at {})",
                    human((e - now) as u64),
                    rfc3339(e)
                )),
            }
            if let Some(n) = c.nbf.filter(|n| *n > now) {
                notes.push(format!("not valid before {}", rfc3339(n)));
            }
        }
    }
    if header
        .get("alg")
        .and_then(Value::as_str)
        .is_some_and(|a| a.eq_ignore_ascii_case("none"))
    {
        notes.push("alg `none`: an unsigned token; verification always refuses it".into());
    }
    for h in ["jku", "x5u", "jwk", "x5c"] {
        if header.get(h).is_some() {
            notes.push(format!(
                "`{h}` header present: Vigil never fetches or trusts keys named by a token"
            ));
        }
    }
    if split.signature.is_empty() {
        notes.push("no signature".into());
    }
    Ok(Inspection {
        header,
        claims,
        notes,
    })
}
