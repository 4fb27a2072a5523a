//! The pieces of a leaked text that may be a secret, for `vigil seal find`: a secret leaks as a
//! line of a log, a paste or a file, not alone. Each candidate is fingerprinted and compared;
//! nothing is decrypted. Candidates are the whole text and each line (trimmed, one final line
//! end dropped), every run of non-space characters, and those runs cut further at the
//! punctuation that surrounds values (`= : , ; " ' ( ) [ ] { } < >` and backticks, then also
//! `/ @ & ? #` as in URLs), each with trailing `.` and `,` taken off too. Candidates are
//! zeroized on drop.

use std::collections::BTreeSet;
use zeroize::Zeroizing;

/// Most candidates taken from one text.
pub const MAX_CANDIDATES: usize = 1 << 20;
/// Shortest candidate, in bytes (shorter pieces are words, not secrets).
pub const MIN_LEN: usize = 8;

const VALUE_DELIMS: &[u8] = b"=:,;\"'()[]{}<>`";
const URL_DELIMS: &[u8] = b"=:,;\"'()[]{}<>`/@&?#";

/// The candidate secrets in `text`, deduplicated (see the module documentation).
pub fn candidates<'a>(text: &'a [u8]) -> Vec<Zeroizing<Vec<u8>>> {
    let mut out: BTreeSet<&[u8]> = BTreeSet::new();
    fn put<'a>(out: &mut BTreeSet<&'a [u8]>, piece: &'a [u8]) {
        for p in [piece, trim_end(piece)] {
            let p = p.trim_ascii();
            if p.len() >= MIN_LEN && out.len() < MAX_CANDIDATES {
                out.insert(p);
            }
        }
    }
    let whole = text
        .strip_suffix(b"\n")
        .map(|t| t.strip_suffix(b"\r").unwrap_or(t))
        .unwrap_or(text);
    // The whole text is a candidate whatever its length (the exact value, piped in).
    if !whole.is_empty() {
        out.insert(whole);
    }
    let mut add = |piece: &'a [u8]| put(&mut out, piece);
    add(whole);
    for line in whole.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        add(line);
        for run in line.split(|b| b.is_ascii_whitespace()) {
            add(run);
            for delims in [VALUE_DELIMS, URL_DELIMS] {
                for piece in run.split(|b| delims.contains(b)) {
                    add(piece);
                }
            }
        }
    }
    out.into_iter()
        .map(|c| Zeroizing::new(c.to_vec()))
        .collect()
}

fn trim_end(p: &[u8]) -> &[u8] {
    let mut p = p;
    while let Some((last, rest)) = p.split_last() {
        if matches!(last, b'.' | b',' | b';' | b'!' | b'?') {
            p = rest;
        } else {
            break;
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::candidates;

    #[test]
    fn a_secret_inside_a_line_is_a_candidate() {
        let secret = b"sk-or-v1-5f0c2a9e".to_vec();
        for text in [
            &b"2024-05-01 ERROR auth failed for key sk-or-v1-5f0c2a9e (user 42)\n"[..],
            b"OPENROUTER_API_KEY=\"sk-or-v1-5f0c2a9e\"", // vigil:allow (a fixture)
            b"curl -H 'Authorization: Bearer sk-or-v1-5f0c2a9e' https://x",
            b"https://bot:sk-or-v1-5f0c2a9e@example.invalid/path", // vigil:allow
            b"the key was sk-or-v1-5f0c2a9e.",
            b"sk-or-v1-5f0c2a9e\n",
        ] {
            assert!(
                candidates(text).iter().any(|c| **c == secret),
                "{}",
                String::from_utf8_lossy(text)
            );
        }
        // A value with spaces, alone on a line.
        assert!(candidates(b"first line\ncorrect horse battery\n")
            .iter()
            .any(|c| c.as_slice() == b"correct horse battery"));
        // The exact value piped in is one, however short; short words inside a text are not.
        assert!(candidates(b"abc\n").iter().any(|c| c.as_slice() == b"abc"));
        assert!(!candidates(b"the key")
            .iter()
            .any(|c| c.as_slice() == b"key"));
    }
}
