//! A token as users hand it over: pasted with spaces, a newline, or a `Bearer ` prefix.

/// Nothing that could be a token was given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no token given (pass it as an argument or on stdin)")]
pub struct NoToken;

/// The token in `raw`: surrounding space and a `Bearer ` prefix removed. The token is
/// registered for log redaction before it is returned.
pub fn token_from_text(raw: &str) -> Result<String, NoToken> {
    let t = raw.trim();
    let t = t
        .strip_prefix("Bearer ")
        .or_else(|| t.strip_prefix("bearer "))
        .unwrap_or(t)
        .trim()
        .to_owned();
    if t.is_empty() {
        return Err(NoToken);
    }
    vigil_core::redact::register(&t);
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_and_space_are_removed() {
        assert_eq!(token_from_text(" Bearer a.b.c\n").unwrap(), "a.b.c");
        assert_eq!(token_from_text("bearer a.b.c").unwrap(), "a.b.c");
        assert_eq!(token_from_text(" \n"), Err(NoToken));
    }
}
