//! Minting: a token signed with the ring's current key, with `iat`, `nbf`, `exp` and a random
//! `jti`, its lifetime bounded by the policy.

use crate::key::{alg_name, Key};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::Header;
use serde_json::{Map, Value};

/// What to put in a token.
#[derive(Debug, Clone, Default)]
pub struct MintRequest {
    /// Audiences (`aud`): one becomes a string, several a list.
    pub audiences: Vec<String>,
    /// Subject (`sub`).
    pub subject: Option<String>,
    /// Issuer (`iss`).
    pub issuer: Option<String>,
    /// Lifetime in seconds.
    pub ttl: u64,
    /// Extra claims; registered claim names are refused.
    pub claims: Map<String, Value>,
}

/// Why a token could not be minted.
#[derive(Debug, thiserror::Error)]
pub enum MintError {
    /// `--ttl` above the policy's maximum.
    #[error("ttl {ttl}s exceeds the maximum of {max}s (raise [token] max_ttl to allow it)")]
    TtlTooLong {
        /// Asked.
        ttl: u64,
        /// Allowed.
        max: u64,
    },
    /// `--ttl 0`.
    #[error("ttl must be at least 1 second")]
    TtlZero,
    /// An extra claim would overwrite a registered one.
    #[error("claim `{0}` is set by vigil (sub, aud and exp by --sub, --aud and --ttl; iss by [token] issuer; iat, nbf and jti at minting), never by --claim")]
    Reserved(String),
    /// An extra claim's name is a registered claim's, or another claim's, once case is folded:
    /// a reader that matches names without case (Go's `encoding/json`) reads it as that one.
    #[error(
        "claim `{0}` reads as `{1}` to a reader that ignores case (Go's encoding/json); refused"
    )]
    CaseTwin(String, String),
    /// The key cannot sign.
    #[error("key `{0}` has no private key or secret to sign with")]
    CannotSign(String),
    /// The signing library failed.
    #[error("signing with {0} failed: {1}")]
    Sign(&'static str, String),
    /// The OS random source failed.
    #[error("the OS random source failed: {0}")]
    Random(String),
    /// A subject a gateway could not pass on as a header, or that reads as another one.
    #[error("--sub: the subject {0}")]
    Subject(&'static str),
    /// `--aud ""`.
    #[error("--aud: an audience must not be empty")]
    EmptyAudience,
}

/// What is wrong with `sub` as an identity an upstream reads from a header
/// (`X-Vigil-Subject`), if anything: empty, whitespace at either end (HTTP parsers trim it,
/// so `" admin"` reads as `admin`), a control, format, separator (but the ASCII space),
/// private-use or unassigned character (CR/LF, NUL, DEL, ESC, bidi overrides, zero-width
/// characters, U+00AD, U+00A0, U+2028), or a comma (a header list separator).
pub fn subject_problem(sub: &str) -> Option<&'static str> {
    if sub.is_empty() {
        return Some("is empty");
    }
    if sub.starts_with(char::is_whitespace) || sub.ends_with(char::is_whitespace) {
        return Some("has whitespace at an end");
    }
    // Every control, format (U+00AD, U+200D, U+2060, tags…), separator other than the ASCII
    // space (U+00A0, U+2028…), private-use, surrogate or unassigned character: text most
    // displays and logs show as another subject, or that a header reader cuts.
    let invisible = |c: char| {
        use unicode_general_category::{get_general_category, GeneralCategory as G};
        c != ' '
            && matches!(
                get_general_category(c),
                G::Control
                    | G::Format
                    | G::SpaceSeparator
                    | G::LineSeparator
                    | G::ParagraphSeparator
                    | G::PrivateUse
                    | G::Surrogate
                    | G::Unassigned
            )
    };
    if sub
        .chars()
        .any(|c| invisible(c) || vigil_core::logging::renders_blank(c))
    {
        return Some("holds a control or invisible character");
    }
    // Full-width, mathematical, compatibility letters, a lone combining mark: an upstream that
    // normalises identities (NFKC) reads `ａｄｍｉｎ` as `admin`.
    if !unicode_normalization::is_nfkc(sub) {
        return Some(
            "is not in Unicode NFKC form (an upstream that normalises it reads another subject)",
        );
    }
    // Letters of two scripts in one name (`аdmin` with a Cyrillic `а`): it displays, and an
    // upstream that compares what it sees reads it, as another subject (bb-gw-s9 S7).
    if !unicode_security::MixedScript::is_single_script(sub) {
        return Some("mixes letters of two scripts (a Cyrillic `а` in `admin`), which reads as another subject");
    }
    // The gateway's own subject in any spelling that looks like it (`vigil_gateway`,
    // `vigil‐gateway`): its letters and digits, after mapping look-alikes, compared.
    let plain = |s: &str| -> String {
        unicode_security::skeleton(&s.to_lowercase())
            .filter(|c| c.is_alphanumeric())
            .collect()
    };
    if plain(sub) == plain("vigil-gateway") && !sub.eq_ignore_ascii_case("vigil-gateway") {
        return Some(
            "looks like the gateway's own subject (vigil-gateway), which no client may carry",
        );
    }
    if sub.eq_ignore_ascii_case("vigil-gateway") {
        // The gateway's own requests to upstreams (tool lists for pins and validation) carry
        // this subject: a client's would look the same to the upstream.
        return Some("is the gateway's own subject (vigil-gateway), which no client may carry");
    }
    if plain(sub) == plain("dev-bypass") {
        // What the gateway names a request `MCP_DEV_BYPASS` let through: a token carrying it
        // would read, in logs and at the upstream, as one of those (tester 152).
        return Some(
            "is (or looks like) the subject of requests MCP_DEV_BYPASS lets through (dev-bypass), which no token may carry",
        );
    }
    if sub.contains(',') {
        // `X-Vigil-Subject: alice, admin` reads as two values to a reader that splits lists.
        return Some("holds a comma, which header readers take for a list separator");
    }
    None
}

/// Registered claims that mint sets itself.
pub const RESERVED: &[&str] = &["iss", "sub", "aud", "exp", "nbf", "iat", "jti"];

/// Mints a token with `key` as of `now`, refusing lifetimes above `max_ttl`.
pub fn mint(key: &Key, req: &MintRequest, now: u64, max_ttl: u64) -> Result<String, MintError> {
    mint_typed(key, req, None, now, max_ttl)
}

/// [`mint`] with an explicit `typ` header (RFC 8725 §3.11 explicit typing), so a token of one
/// kind can never be taken for another.
pub fn mint_typed(
    key: &Key,
    req: &MintRequest,
    typ: Option<&str>,
    now: u64,
    max_ttl: u64,
) -> Result<String, MintError> {
    if req.ttl == 0 {
        return Err(MintError::TtlZero);
    }
    if req.ttl > max_ttl {
        return Err(MintError::TtlTooLong {
            ttl: req.ttl,
            max: max_ttl,
        });
    }
    let signing = key
        .signing()
        .ok_or_else(|| MintError::CannotSign(key.label.clone()))?;
    let mut claims = Map::new();
    if let Some(iss) = &req.issuer {
        claims.insert("iss".into(), iss.clone().into());
    }
    if let Some(problem) = req.subject.as_deref().and_then(subject_problem) {
        return Err(MintError::Subject(problem));
    }
    if req.audiences.iter().any(|a| a.trim().is_empty()) {
        return Err(MintError::EmptyAudience);
    }
    if let Some(sub) = &req.subject {
        claims.insert("sub".into(), sub.clone().into());
    }
    match req.audiences.as_slice() {
        [] => {}
        [one] => {
            claims.insert("aud".into(), one.clone().into());
        }
        many => {
            claims.insert("aud".into(), many.to_vec().into());
        }
    }
    claims.insert("iat".into(), now.into());
    claims.insert("nbf".into(), now.into());
    claims.insert("exp".into(), (now + req.ttl).into());
    claims.insert("jti".into(), jti()?.into());
    // Names as a reader that ignores case sees them (Unicode simple folding, as Go's
    // `bytes.EqualFold`: `ſ` is `s`, the Kelvin sign `k`).
    let fold = |k: &str| -> String {
        k.chars()
            .map(|c| match c {
                'ſ' => 's',
                '\u{212a}' => 'k',
                c => c,
            })
            .flat_map(char::to_lowercase)
            .collect()
    };
    let mut folded: std::collections::HashMap<String, &str> = std::collections::HashMap::new();
    for k in RESERVED.iter().chain(&["scope", "scp"]) {
        folded.insert((*k).to_owned(), k);
    }
    for (k, v) in &req.claims {
        if RESERVED.contains(&k.as_str()) {
            return Err(MintError::Reserved(k.clone()));
        }
        match folded.get(&fold(k)) {
            Some(other) if *other != k.as_str() => {
                return Err(MintError::CaseTwin(k.clone(), (*other).to_owned()))
            }
            _ => {}
        }
        folded.insert(fold(k), k);
        claims.insert(k.clone(), v.clone());
    }
    let mut header = Header::new(key.alg);
    header.kid = key.kid.clone();
    if let Some(t) = typ {
        header.typ = Some(t.to_owned());
    }
    jsonwebtoken::encode(&header, &claims, signing)
        .map_err(|e| MintError::Sign(alg_name(key.alg), e.to_string()))
}

/// 128 random bits from the OS, base64url.
fn jti() -> Result<String, MintError> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| MintError::Random(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(b))
}

#[cfg(test)]
mod subject_tests {
    use super::subject_problem;

    /// Tester 153: `--claim Sub=vigil-gateway` or `Scope=…` read as `sub` and `scope` to a
    /// reader that ignores case; two claims equal once folded are refused too.
    #[test]
    fn claims_that_read_as_another_once_case_is_folded_are_refused() {
        let key = crate::Key::hmac("k", &[7u8; 64], crate::Algorithm::HS256).unwrap();
        let mint = |claims: serde_json::Value| {
            let req = super::MintRequest {
                audiences: vec!["fs".into()],
                subject: Some("bob".into()),
                ttl: 60,
                claims: claims.as_object().cloned().unwrap(),
                ..Default::default()
            };
            super::mint(&key, &req, 1_000, 3_600)
        };
        for bad in [
            serde_json::json!({"Sub": "vigil-gateway"}),
            serde_json::json!({"SUB": "admin"}),
            serde_json::json!({"Scope": "fs:write"}),
            serde_json::json!({"ſcope": "fs:write"}),
            serde_json::json!({"role": "a", "Role": "b"}),
        ] {
            let e = mint(bad.clone()).unwrap_err().to_string();
            assert!(e.contains("reads as"), "{bad}: {e}");
        }
        let e = mint(serde_json::json!({"iss": "x"}))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("[token] issuer") && !e.contains("matching option"),
            "{e}"
        );
        assert!(mint(serde_json::json!({"scope": "fs:read", "role": "a"})).is_ok());
    }

    /// bb-gw-s9 S7: a name mixing scripts, and look-alikes of the gateway's own subject, are
    /// refused; names in one script (whatever it is), e-mail addresses and ids pass.
    #[test]
    fn mixed_scripts_and_gateway_look_alikes_are_refused() {
        for bad in [
            "\u{0430}dmin",
            "vigil_gateway",
            "vigil\u{2010}gateway",
            "VIGIL.GATEWAY",
            "dev-bypass",
            "Dev_Bypass",
        ] {
            assert!(subject_problem(bad).is_some(), "{bad}");
        }
        for good in [
            "alice",
            "alice@example.org",
            "u_12345",
            "сергей",
            "山田太郎",
            "user-7f3a",
        ] {
            assert_eq!(subject_problem(good), None, "{good}");
        }
    }
}
