//! Log lines that cannot carry a token of a known shape: the gateway installs [`line`] into
//! `vigil_core::redact` (see [`install`]), so every log line (and every client-chosen field of
//! the access log: subject, JSON-RPC method, tool name) also passes vigil-scan's rules, the same
//! redactor `vigil redact` runs. A stdio child's stderr, its stray stdout, a method or tool name
//! a client made up, an error that echoes one: a GitHub PAT or an AWS key there is logged as
//! `[REDACTED:<rule>]`.

use std::sync::LazyLock;
use vigil_scan::redact::{RedactOptions, Redactor};
use vigil_scan::Ruleset;

/// Text shorter than this holds no token of any built-in rule's shape and is not scanned.
const MIN_SCANNED: usize = 8;

/// vigil-scan's built-in rules, compiled on first use.
static RULES: LazyLock<Ruleset> = LazyLock::new(Ruleset::builtin);

/// Installs [`line`] as `vigil_core::redact`'s further redactor (once per process).
pub fn install() {
    vigil_core::redact::install(line);
}

/// `text` through the built-in rules (also one level encoded; as JSON with `json`): the
/// redactor, for what it found, and the redacted text.
fn redacted(text: &str, json: bool) -> (Redactor<'static>, Vec<u8>) {
    let mut r = Redactor::new(
        vec![&RULES],
        RedactOptions {
            max_decode_depth: 1,
            json,
            ..RedactOptions::default()
        },
    );
    let mut out = Vec::with_capacity(text.len() + 32);
    r.redact(text.as_bytes(), &mut out);
    (r, out)
}

/// `text` with every secret the built-in rules find (also one level encoded) replaced by
/// `[REDACTED:<rule>]`, or `None` when none is there. A JSON log line stays JSON.
pub fn line(text: &str) -> Option<String> {
    if text.len() < MIN_SCANNED {
        return None;
    }
    let (r, mut out) = redacted(text, text.starts_with('{'));
    if r.stats().redacted() == 0 {
        return None;
    }
    if !text.ends_with('\n') && out.ends_with(b"\n") {
        out.pop();
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// `text` cut after `n` characters, with `…` where it was cut (a client's made-up name is not
/// echoed or stored whole); cut only after redaction, so no part of a secret is kept.
pub fn cut(text: String, n: usize) -> String {
    match text.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

/// The ids of the rules whose secrets `text` holds (also one level encoded), sorted.
pub fn found(text: &str) -> Vec<String> {
    let (r, _) = redacted(text, false);
    r.stats().by_label.keys().cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GitHub token shape built at run time.
    fn token() -> String {
        use vigil_scan::examples::{expand, Gen};
        let ex = expand("«ghp_{alnum:30}{ghcrc}»", &mut Gen::new(11)).unwrap();
        ex.text[ex.secret].to_owned()
    }

    #[test]
    fn tokens_of_known_shapes_are_masked_and_plain_text_is_kept() {
        let t = token();
        let got = line(&format!("stdio server stderr stderr=secret {t} here\n")).unwrap();
        assert!(!got.contains(&t), "{got}");
        assert!(got.contains("[REDACTED:github-pat]"), "{got}");
        assert!(got.ends_with('\n'));
        let json = format!(r#"{{"fields":{{"tool":"{t}"}}}}"#);
        let got = line(&json).unwrap();
        assert!(!got.contains(&t));
        serde_json::from_str::<serde_json::Value>(&got).unwrap();
        assert_eq!(line("tool=\"read_file\" rpc_method=\"tools/call\""), None);
        assert_eq!(line("file:///etc/passwd is not an http(s) URL"), None);
    }
}
