//! Request paths as the upstream will read them: dot-segments resolved (RFC 3986
//! `remove_dot_segments`, percent-encoded dots included), and the spellings upstreams disagree
//! on refused outright: encoded slashes and backslashes, literal backslashes, double encoding,
//! encoded NULs, malformed escapes and `..;` segments (read as `..` by some servers).

use std::borrow::Cow;

/// Why a path is refused (400).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// `%2F`: a slash the router and the upstream may see differently.
    #[error("encoded slashes (%2F) are not accepted in paths")]
    EncodedSlash,
    /// `\` or `%5C`: a separator on some servers, a character on others.
    #[error("backslashes are not accepted in paths")]
    Backslash,
    /// `%25` followed by an escape (`%252e`): decoded twice, it is something else.
    #[error("double percent-encoding is not accepted in paths")]
    DoubleEncoding,
    /// `%00`.
    #[error("encoded NUL bytes are not accepted in paths")]
    EncodedNul,
    /// `%` not followed by two hex digits.
    #[error("malformed percent-encoding in the path")]
    BadEscape,
    /// A `.` or `..` segment with `;` parameters.
    #[error("dot-segments with parameters (..;) are not accepted in paths")]
    DotParameters,
    /// `..` above the root.
    #[error("the path climbs above the root")]
    AboveRoot,
    /// Percent-escapes that do not decode to UTF-8 (`%c0%ae`, an overlong `.`).
    #[error("percent-escapes in the path must decode to UTF-8")]
    NotUtf8,
    /// `//`: an empty segment, dropped by some servers and kept by others.
    #[error("empty path segments (//) are not accepted")]
    EmptySegment,
}

/// A path with its dot-segments resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normal<'a> {
    /// The resolved path (borrowed when the request's path was already normal).
    pub path: Cow<'a, str>,
    /// With dot-segments: the fewest segments the resolution came down to on the way (`/a/b/..`
    /// came down to 1); a route whose prefix has more segments than this was left. `None`
    /// when the path had no dot-segments.
    pub lowest: Option<usize>,
}

/// Resolves `path` (the path of an origin-form request target) or says why it is refused.
pub fn normalise(path: &str) -> Result<Normal<'_>, PathError> {
    let b = path.as_bytes();
    // The common case: nothing encoded, no backslash, no segment starting with a dot.
    if !b.iter().enumerate().any(|(i, &c)| {
        c == b'%'
            || c == b'\\'
            || (c == b'.' && (i == 0 || b[i - 1] == b'/'))
            || (c == b'/' && i > 0 && b[i - 1] == b'/')
    }) {
        return Ok(Normal {
            path: Cow::Borrowed(path),
            lowest: None,
        });
    }
    if b.contains(&b'\\') {
        return Err(PathError::Backslash);
    }
    if b.windows(2).any(|w| w == b"//") {
        return Err(PathError::EmptySegment);
    }
    let mut decoded = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(p) = b[i..].iter().position(|&c| c == b'%') {
        let at = i + p;
        let v = match b.get(at + 1..at + 3) {
            Some(&[h, l]) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => hex(h) << 4 | hex(l),
            _ => return Err(PathError::BadEscape),
        };
        match v {
            b'/' => return Err(PathError::EncodedSlash),
            b'\\' => return Err(PathError::Backslash),
            0 => return Err(PathError::EncodedNul),
            b'%' if b
                .get(at + 3..at + 5)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) =>
            {
                return Err(PathError::DoubleEncoding)
            }
            _ => {}
        }
        decoded.extend_from_slice(&b[i..at]);
        decoded.push(v);
        i = at + 3;
    }
    decoded.extend_from_slice(&b[i..]);
    if std::str::from_utf8(&decoded).is_err() {
        return Err(PathError::NotUtf8);
    }
    let mut out: Vec<Cow<'_, str>> = Vec::new();
    let mut lowest: Option<usize> = None;
    let mut changed = false;
    let mut trailing = false;
    let mut segments = path.strip_prefix('/').unwrap_or(path).split('/').peekable();
    while let Some(raw) = segments.next() {
        let seg = if raw.contains('%') {
            let dotted = decode_dots(raw);
            changed |= dotted != raw;
            Cow::Owned(dotted)
        } else {
            Cow::Borrowed(raw)
        };
        let last = segments.peek().is_none();
        // `;` spelled `%3B` starts parameters too, once an upstream decodes the path.
        let semi = seg.find(';').into_iter().chain(find_ci(&seg, "%3b")).min();
        let name = semi.map_or(&*seg, |at| &seg[..at]);
        if (name == "." || name == "..") && semi.is_some() {
            return Err(PathError::DotParameters);
        }
        match &*seg {
            "." => {
                changed = true;
                trailing = last;
            }
            ".." => {
                changed = true;
                if out.pop().is_none() {
                    return Err(PathError::AboveRoot);
                }
                lowest = Some(lowest.map_or(out.len(), |l| l.min(out.len())));
                trailing = last;
            }
            _ => {
                out.push(seg);
                trailing = false;
            }
        }
    }
    if !changed {
        return Ok(Normal {
            path: Cow::Borrowed(path),
            lowest: None,
        });
    }
    let mut p = String::with_capacity(path.len());
    for s in &out {
        p.push('/');
        p.push_str(s);
    }
    if trailing || p.is_empty() {
        p.push('/');
    }
    Ok(Normal {
        path: Cow::Owned(p),
        lowest: Some(lowest.unwrap_or(out.len())),
    })
}

/// Where `needle` (lowercase ASCII) first occurs in `hay`, in any case.
fn find_ci(hay: &str, needle: &str) -> Option<usize> {
    hay.as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// The value of one hex digit.
fn hex(d: u8) -> u8 {
    match d {
        b'0'..=b'9' => d - b'0',
        _ => (d | 0x20) - b'a' + 10,
    }
}

/// `seg` with `%2e`/`%2E` decoded to `.` (an unreserved character: both spellings are the same
/// path, RFC 3986 §6.2.2.2); other escapes stay as they are.
fn decode_dots(seg: &str) -> String {
    let mut s = String::with_capacity(seg.len());
    let mut rest = seg;
    while let Some(p) = rest.find('%') {
        s.push_str(&rest[..p]);
        let esc = &rest[p..(p + 3).min(rest.len())];
        if esc.eq_ignore_ascii_case("%2e") {
            s.push('.');
        } else {
            s.push_str(esc);
        }
        rest = &rest[p + esc.len()..];
    }
    s.push_str(rest);
    s
}

/// The number of segments of a route prefix (`/mcp/filesystem` has 2, `` has 0).
pub fn depth(prefix: &str) -> usize {
    prefix.split('/').filter(|s| !s.is_empty()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(p: &str) -> (String, Option<usize>) {
        let n = normalise(p).unwrap();
        (n.path.into_owned(), n.lowest)
    }

    #[test]
    fn dot_segments_resolve_and_say_how_low_they_went() {
        assert_eq!(ok("/mcp/fs/x"), ("/mcp/fs/x".into(), None));
        assert!(matches!(
            normalise("/mcp/fs/x").unwrap().path,
            Cow::Borrowed(_)
        ));
        assert_eq!(ok("/mcp/fs/a/./b/../c"), ("/mcp/fs/a/c".into(), Some(3)));
        assert_eq!(
            ok("/mcp/fs/../../etc/passwd"),
            ("/etc/passwd".into(), Some(0))
        );
        assert_eq!(ok("/mcp/fs/%2e%2E/x"), ("/mcp/x".into(), Some(1)));
        assert_eq!(ok("/mcp/fs/.%2e"), ("/mcp/".into(), Some(1)));
        assert_eq!(ok("/mcp/fs/a/."), ("/mcp/fs/a/".into(), Some(3)));
        assert_eq!(
            ok("/mcp/fs/v1.2/.hidden"),
            ("/mcp/fs/v1.2/.hidden".into(), None)
        );
        assert_eq!(ok("/mcp/fs/a%2eb"), ("/mcp/fs/a.b".into(), Some(3)));
        assert_eq!(ok("/mcp/fs/%41"), ("/mcp/fs/%41".into(), None));
        assert_eq!(ok("/mcp/fs/a%25b"), ("/mcp/fs/a%25b".into(), None));
        assert_eq!(depth("/mcp/fs"), 2);
        assert_eq!(depth(""), 0);
    }

    #[test]
    fn ambiguous_spellings_are_refused() {
        for (p, e) in [
            ("/a%2Fb", PathError::EncodedSlash),
            ("/a%2fb", PathError::EncodedSlash),
            ("/a%5cb", PathError::Backslash),
            ("/a\\b", PathError::Backslash),
            ("/%252e%252e/x", PathError::DoubleEncoding),
            ("/a%00", PathError::EncodedNul),
            ("/a%2", PathError::BadEscape),
            ("/a%zz", PathError::BadEscape),
            ("/a%+1", PathError::BadEscape),
            ("/a/..;/b", PathError::DotParameters),
            ("/a/.;x/b", PathError::DotParameters),
            ("/..", PathError::AboveRoot),
            ("/a/../../b", PathError::AboveRoot),
        ] {
            assert_eq!(normalise(p), Err(e), "{p}");
        }
    }
}
