//! The context a value is bound to (`user=alice,field=openrouter_key`), and its injective
//! encoding as associated data: a version tag, the value's purpose (what made it: `value` for
//! `seal encrypt`, `store`, `env`, `column`), the value's own header, then each field as
//! length-prefixed name and value in name order. Two different (purpose, header, context)
//! triples never encode alike, so a value moved to another user, field, store, environment or
//! `.env` key, given another header, or made by `seal encrypt` with fields that imitate a store
//! row, fails authentication. The purpose is set by the API that seals, never by `--context`.

use crate::error::{Result, SealError};
use std::collections::BTreeMap;
use std::fmt;

/// Longest field name, in bytes.
pub const MAX_NAME: usize = 64;
/// Longest field value, in bytes.
pub const MAX_VALUE: usize = 1024;
/// Most fields in one context.
pub const MAX_FIELDS: usize = 32;

const AAD_TAG: &[u8] = b"vigil-seal/v1/aad";

/// What sealed a value: part of the associated data, so values of one kind are never accepted
/// as another (a value from `seal encrypt --context store=…,user=…,name=…` is not a store row).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// `seal encrypt` / `decrypt` and the library's [`Context::parse`].
    #[default]
    Value,
    /// A row of a store's own table ([`Context::for_store`]).
    Store,
    /// A `.env` value ([`Context::for_env`]).
    Env,
    /// A cell of a migrated application column.
    Column,
}

impl Purpose {
    /// The name in the associated data.
    pub fn name(self) -> &'static str {
        match self {
            Purpose::Value => "value",
            Purpose::Store => "store",
            Purpose::Env => "env",
            Purpose::Column => "column",
        }
    }
}

/// Named fields a value is bound to, and its [`Purpose`]. Field names are `[A-Za-z0-9_.-]`,
/// unique; values are any UTF-8 text without control characters. Not secret: contexts appear in
/// error messages.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Context {
    purpose: Purpose,
    fields: BTreeMap<String, String>,
}

impl Context {
    /// An empty context of purpose [`Purpose::Value`] (sealing refuses it; build one with
    /// [`Context::with`] or parse one).
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty context of `purpose` (for the crate's own stores, env files and columns).
    pub(crate) fn of(purpose: Purpose) -> Self {
        Context {
            purpose,
            fields: BTreeMap::new(),
        }
    }

    /// The purpose.
    pub fn purpose(&self) -> Purpose {
        self.purpose
    }

    /// Adds a field; a repeated or malformed name, or a malformed value, is an error.
    pub fn with(mut self, name: &str, value: &str) -> Result<Self> {
        self.insert(name, value)?;
        Ok(self)
    }

    /// Adds a field in place (see [`Context::with`]).
    pub fn insert(&mut self, name: &str, value: &str) -> Result<()> {
        if name.is_empty()
            || name.len() > MAX_NAME
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        {
            return Err(SealError::Context(format!(
                "field name `{}` must be 1 to {MAX_NAME} characters of A-Z a-z 0-9 _ - .",
                name.escape_debug()
            )));
        }
        if value.len() > MAX_VALUE || value.chars().any(char::is_control) {
            return Err(SealError::Context(format!(
                "field `{name}`: the value must be at most {MAX_VALUE} bytes without control characters"
            )));
        }
        if self.fields.len() >= MAX_FIELDS {
            return Err(SealError::Context(format!("more than {MAX_FIELDS} fields")));
        }
        if self.fields.contains_key(name) {
            return Err(SealError::Context(format!("field `{name}` given twice")));
        }
        self.fields.insert(name.to_owned(), value.to_owned());
        Ok(())
    }

    /// Parses `name=value,name=value` (the `--context` option). A value may contain `=` but not
    /// `,`; an empty spec, a piece without `=`, or a repeated name is an error.
    pub fn parse(spec: &str) -> Result<Self> {
        let mut c = Context::new();
        c.extend_from_spec(spec)?;
        Ok(c)
    }

    /// Adds the fields of a `name=value,…` spec.
    pub fn extend_from_spec(&mut self, spec: &str) -> Result<()> {
        if spec.trim().is_empty() {
            return Err(SealError::Context(
                "empty; give name=value pairs, e.g. user=alice,field=openrouter_key".into(),
            ));
        }
        for piece in spec.split(',') {
            let Some((name, value)) = piece.split_once('=') else {
                return Err(SealError::Context(format!(
                    "`{}` is not name=value",
                    piece.escape_debug()
                )));
            };
            self.insert(name.trim(), value)?;
        }
        Ok(())
    }

    /// Every field of `other` added to this one (whose purpose it keeps); a name in both is an
    /// error.
    pub fn merged(&self, other: &Context) -> Result<Context> {
        let mut c = self.clone();
        for (k, v) in &other.fields {
            c.insert(k, v)?;
        }
        Ok(c)
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The fields in name order.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The value of one field.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    /// The context a store value is bound to: the store's id, the user and the secret's name.
    pub fn for_store(store: &str, user: &str, name: &str) -> Result<Context> {
        Context::of(Purpose::Store)
            .with("store", store)?
            .with("user", user)?
            .with("name", name)
    }

    /// The context a `.env` value is bound to: its environment (from the file name) and key,
    /// plus any extra fields the user gave.
    pub fn for_env(environment: &str, key: &str, extra: &Context) -> Result<Context> {
        Context::of(Purpose::Env)
            .with("env", environment)?
            .with("key", key)?
            .merged(extra)
    }

    /// Appends the associated data for a value whose header field (key id or passphrase
    /// parameters) is `header` to `out`.
    pub(crate) fn encode_aad(&self, header: &str, out: &mut Vec<u8>) {
        fn lp(out: &mut Vec<u8>, b: &[u8]) {
            out.extend_from_slice(&(b.len() as u32).to_be_bytes());
            out.extend_from_slice(b);
        }
        lp(out, AAD_TAG);
        lp(out, self.purpose.name().as_bytes());
        lp(out, header.as_bytes());
        out.extend_from_slice(&(self.fields.len() as u32).to_be_bytes());
        for (k, v) in &self.fields {
            lp(out, k.as_bytes());
            lp(out, v.as_bytes());
        }
    }
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (k, v) in &self.fields {
            if !first {
                f.write_str(",")?;
            }
            first = false;
            write!(f, "{k}={v}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Context({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::Context;
    use proptest::prelude::*;

    fn aad(c: &Context, header: &str) -> Vec<u8> {
        let mut v = Vec::new();
        c.encode_aad(header, &mut v);
        v
    }

    #[test]
    fn parses_and_refuses_ambiguity() {
        let c = Context::parse("user=alice,field=openrouter_key").unwrap();
        assert_eq!(c.to_string(), "field=openrouter_key,user=alice");
        assert_eq!(
            Context::parse("a=x=y").unwrap().get("a"),
            Some("x=y"),
            "split at the first ="
        );
        for bad in ["", "user", "user=a,user=b", "us er=a", "=a", "a=\u{7}"] {
            assert!(Context::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn order_of_fields_does_not_matter_but_every_byte_does() {
        let a = Context::parse("user=alice,field=k").unwrap();
        let b = Context::parse("field=k,user=alice").unwrap();
        assert_eq!(aad(&a, "k1"), aad(&b, "k1"));
        assert_ne!(aad(&a, "k1"), aad(&a, "k2"));
        // Moving a separator between name and value changes the encoding.
        let c = Context::parse("user=alicef,ield=k").unwrap();
        assert_ne!(aad(&a, "k1"), aad(&c, "k1"));
    }

    #[test]
    fn the_purpose_is_part_of_the_encoding() {
        let fields = "name=k,store=s,user=u";
        let value = Context::parse(fields).unwrap();
        let store = Context::for_store("s", "u", "k").unwrap();
        assert_eq!(value.to_string(), store.to_string());
        assert_ne!(aad(&value, "k1"), aad(&store, "k1"));
        let env = Context::for_env("production", "A", &Context::new()).unwrap();
        let mimic = Context::parse("env=production,key=A").unwrap();
        assert_ne!(aad(&env, "k1"), aad(&mimic, "k1"));
    }

    proptest! {
        #[test]
        fn encoding_is_injective(
            a in proptest::collection::btree_map("[a-c]{1,3}", "[a-c=]{0,3}", 0..4),
            b in proptest::collection::btree_map("[a-c]{1,3}", "[a-c=]{0,3}", 0..4),
            ha in "[a-c.]{1,3}", hb in "[a-c.]{1,3}",
        ) {
            let mk = |m: &std::collections::BTreeMap<String, String>| {
                let mut c = Context::new();
                for (k, v) in m { c.insert(k, v).unwrap(); }
                c
            };
            let (ca, cb) = (mk(&a), mk(&b));
            if (a != b) || (ha != hb) {
                prop_assert_ne!(aad(&ca, &ha), aad(&cb, &hb));
            } else {
                prop_assert_eq!(aad(&ca, &ha), aad(&cb, &hb));
            }
        }
    }
}
