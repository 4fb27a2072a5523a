//! Strict decoding of a compact JWS: three base64url parts, a header and a claims object parsed
//! so that a repeated key is an error (RFC 7515 §5.2 lets parsers pick either value, and two
//! parsers that pick differently are an attack), registered claims with their RFC 7519 types.

use crate::Rejection;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Serialize;
use serde_json::{Map, Value};
use std::fmt;

/// A token split into its parts (borrowed from the token text).
pub struct Split<'a> {
    /// `header.claims`, the signing input.
    pub signing_input: &'a str,
    /// The encoded header.
    pub header: &'a str,
    /// The encoded claims.
    pub claims: &'a str,
    /// The encoded signature (may be empty).
    pub signature: &'a str,
}

/// Splits a compact JWS into its three parts.
pub fn split(token: &str) -> Result<Split<'_>, Rejection> {
    let mut dots = token.match_indices('.').map(|(i, _)| i);
    let (Some(a), Some(b)) = (dots.next(), dots.next()) else {
        let n = token.matches('.').count() + 1;
        return Err(Rejection::Malformed(format!(
            "expected 3 dot-separated parts, found {n}"
        )));
    };
    let rest = dots.count();
    if rest > 0 {
        return Err(Rejection::Malformed(if rest == 2 {
            "5 parts: encrypted tokens (JWE) are not supported".into()
        } else {
            format!("expected 3 dot-separated parts, found {}", rest + 3)
        }));
    }
    Ok(Split {
        signing_input: &token[..b],
        header: &token[..a],
        claims: &token[a + 1..b],
        signature: &token[b + 1..],
    })
}

/// Decodes one base64url part (no padding, canonical trailing bits).
pub fn b64(part: &str, what: &str) -> Result<Vec<u8>, Rejection> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| Rejection::Malformed(format!("{what} is not base64url without padding")))
}

/// The JOSE header fields Vigil looks at. `jku`, `x5u`, `jwk` and `x5c` are read only to be
/// ignored: keys come from the ring, never from the token.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Header {
    /// `alg`.
    pub alg: Option<String>,
    /// `kid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// `typ`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    /// `crit`, when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crit: Option<Vec<String>>,
    /// Every other header member (including the ignored key-location headers).
    #[serde(flatten)]
    pub other: Map<String, Value>,
    #[serde(skip)]
    problem: Option<Rejection>,
}

/// A NumericDate (RFC 7519 §2): seconds since the epoch; fractions are truncated.
pub type NumericDate = i64;

/// The claims of a token: registered claims typed, every other claim kept as JSON.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Claims {
    /// `iss`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// `sub`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// `aud`, always as a list (a single string becomes one element).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<Vec<String>>,
    /// `exp`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<NumericDate>,
    /// `nbf`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<NumericDate>,
    /// `iat`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<NumericDate>,
    /// `jti`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// Every other claim.
    #[serde(flatten)]
    pub other: Map<String, Value>,
    #[serde(skip)]
    problem: Option<Rejection>,
}

/// Parses the decoded header strictly.
pub fn header(bytes: &[u8]) -> Result<Header, Rejection> {
    let mut h: Header = parse_object(bytes, "header")?;
    match h.problem.take() {
        Some(p) => Err(p),
        None => Ok(h),
    }
}

/// Parses the decoded claims strictly.
pub fn claims(bytes: &[u8]) -> Result<Claims, Rejection> {
    let mut c: Claims = parse_object(bytes, "claims")?;
    match c.problem.take() {
        Some(p) => Err(p),
        None => Ok(c),
    }
}

fn parse_object<T: de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, Rejection> {
    serde_json::from_slice(bytes).map_err(|e| {
        let why = if e.is_data() {
            "is not a JSON object".to_owned()
        } else if e.to_string().contains("out of range") {
            "holds a number out of range".to_owned()
        } else {
            "is not valid JSON".to_owned()
        };
        Rejection::Malformed(format!("{what} {why}"))
    })
}

fn note(slot: &mut Option<Rejection>, r: Rejection) {
    if slot.is_none() {
        *slot = Some(r);
    }
}

/// Reads one value, or notes a duplicate (and skips the value) if the key was seen.
macro_rules! once {
    ($map:ident, $slot:expr, $problem:expr, $part:literal, $key:expr, $ty:ty) => {{
        if $slot.is_some() {
            note(
                $problem,
                Rejection::DuplicateKey {
                    part: $part,
                    key: $key.to_owned(),
                },
            );
            $map.next_value::<IgnoredAny>()?;
            None
        } else {
            Some($map.next_value::<$ty>()?)
        }
    }};
}

fn other<'de, A: MapAccess<'de>>(
    map: &mut A,
    other: &mut Map<String, Value>,
    problem: &mut Option<Rejection>,
    part: &'static str,
    key: String,
) -> Result<(), A::Error> {
    if other.contains_key(&key) {
        map.next_value::<IgnoredAny>()?;
        note(problem, Rejection::DuplicateKey { part, key });
    } else {
        let v = map.next_value::<Value>()?;
        other.insert(key, v);
    }
    Ok(())
}

impl<'de> de::Deserialize<'de> for Header {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Header;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JOSE header object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Header, A::Error> {
                let mut h = Header::default();
                let mut seen_alg = false;
                let mut seen_kid = false;
                let mut seen_typ = false;
                let mut seen_crit = false;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    let p = &mut h.problem;
                    match key.as_ref() {
                        "alg" => {
                            let v = once!(map, seen_alg.then_some(()), p, "header", "alg", Value);
                            seen_alg = true;
                            match v {
                                Some(Value::String(s)) => h.alg = Some(s),
                                Some(_) => {
                                    note(p, Rejection::Malformed("alg is not a string".into()))
                                }
                                None => {}
                            }
                        }
                        "kid" => {
                            let v = once!(map, seen_kid.then_some(()), p, "header", "kid", Value);
                            seen_kid = true;
                            match v {
                                Some(Value::String(s)) => h.kid = Some(s),
                                Some(_) => note(p, Rejection::InvalidKeyId),
                                None => {}
                            }
                        }
                        "typ" => {
                            let v = once!(map, seen_typ.then_some(()), p, "header", "typ", Value);
                            seen_typ = true;
                            if let Some(v) = v {
                                h.typ = v.as_str().map(str::to_owned);
                            }
                        }
                        "crit" => {
                            let v = once!(map, seen_crit.then_some(()), p, "header", "crit", Value);
                            seen_crit = true;
                            if let Some(v) = v {
                                let list: Option<Vec<String>> = v.as_array().and_then(|a| {
                                    a.iter().map(|x| x.as_str().map(str::to_owned)).collect()
                                });
                                match list {
                                    Some(l) if !l.is_empty() => h.crit = Some(l),
                                    _ => note(
                                        p,
                                        Rejection::Malformed(
                                            "crit must be a non-empty list of names".into(),
                                        ),
                                    ),
                                }
                            }
                        }
                        k => other(&mut map, &mut h.other, p, "header", k.to_owned())?,
                    }
                }
                Ok(h)
            }
        }
        d.deserialize_map(V)
    }
}

fn date(v: Value, p: &mut Option<Rejection>, name: &'static str) -> Option<NumericDate> {
    let n = match &v {
        Value::Number(n) => n,
        _ => {
            note(
                p,
                Rejection::InvalidClaim(name, "not a NumericDate (a number of seconds)"),
            );
            return None;
        }
    };
    let secs = if let Some(i) = n.as_i64() {
        i
    } else if let Some(f) = n.as_f64() {
        if !(0.0..9.2e18).contains(&f) {
            note(p, Rejection::InvalidClaim(name, "out of range"));
            return None;
        }
        f as i64
    } else {
        note(p, Rejection::InvalidClaim(name, "out of range"));
        return None;
    };
    if secs < 0 {
        note(p, Rejection::InvalidClaim(name, "negative"));
        return None;
    }
    Some(secs)
}

fn string(v: Value, p: &mut Option<Rejection>, name: &'static str) -> Option<String> {
    match v {
        Value::String(s) => Some(s),
        _ => {
            note(p, Rejection::InvalidClaim(name, "not a string"));
            None
        }
    }
}

impl<'de> de::Deserialize<'de> for Claims {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Claims;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JWT claims object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Claims, A::Error> {
                let mut c = Claims::default();
                // Bit per registered claim: iss sub aud exp nbf iat jti.
                let mut seen = 0u8;
                const NAMES: [&str; 7] = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"];
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    let Some(i) = NAMES.iter().position(|n| *n == key.as_ref()) else {
                        other(
                            &mut map,
                            &mut c.other,
                            &mut c.problem,
                            "claims",
                            key.into_owned(),
                        )?;
                        continue;
                    };
                    let bit = 1u8 << i;
                    let p = &mut c.problem;
                    let v = once!(
                        map,
                        (seen & bit != 0).then_some(()),
                        p,
                        "claims",
                        NAMES[i],
                        Value
                    );
                    seen |= bit;
                    let Some(v) = v else { continue };
                    match i {
                        0 => c.iss = string(v, p, "iss"),
                        1 => c.sub = string(v, p, "sub"),
                        2 => {
                            c.aud = match v {
                                Value::String(s) => Some(vec![s]),
                                Value::Array(a) => {
                                    let l: Option<Vec<String>> = a
                                        .into_iter()
                                        .map(|x| match x {
                                            Value::String(s) => Some(s),
                                            _ => None,
                                        })
                                        .collect();
                                    if l.is_none() {
                                        note(
                                            p,
                                            Rejection::InvalidClaim(
                                                "aud",
                                                "not a string or a list of strings",
                                            ),
                                        );
                                    }
                                    l
                                }
                                _ => {
                                    note(
                                        p,
                                        Rejection::InvalidClaim(
                                            "aud",
                                            "not a string or a list of strings",
                                        ),
                                    );
                                    None
                                }
                            }
                        }
                        3 => c.exp = date(v, p, "exp"),
                        4 => c.nbf = date(v, p, "nbf"),
                        5 => c.iat = date(v, p, "iat"),
                        _ => c.jti = string(v, p, "jti"),
                    }
                }
                Ok(c)
            }
        }
        d.deserialize_map(V)
    }
}
