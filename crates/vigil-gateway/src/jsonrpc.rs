//! What the request log may say about an MCP JSON-RPC message: its method and, for `tools/call`,
//! the tool's name. Never arguments, never results (the design's privacy rule).

use serde::Deserialize;

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow)]
    method: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    params: Option<Params<'a>>,
}

#[derive(Deserialize)]
struct Params<'a> {
    #[serde(borrow)]
    name: Option<std::borrow::Cow<'a, str>>,
}

/// `(method, tool)` of a JSON-RPC body (for a batch, the methods joined by `,`), if it is one.
pub fn describe(body: &[u8]) -> (Option<String>, Option<String>) {
    let one = |m: Message| {
        let method = m.method.map(|s| clip(&s));
        let tool = match (&method, m.params) {
            (Some(meth), Some(p)) if meth == "tools/call" => p.name.map(|s| clip(&s)),
            _ => None,
        };
        (method, tool)
    };
    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        return early(body);
    }
    if let Ok(batch) = serde_json::from_slice::<Vec<Message>>(body) {
        let parts: Vec<_> = batch.into_iter().map(one).collect();
        let join = |v: Vec<String>| (!v.is_empty()).then(|| v.join(","));
        let methods = join(parts.iter().filter_map(|p| p.0.clone()).collect());
        let tools = join(parts.iter().filter_map(|p| p.1.clone()).collect());
        return (methods, tools);
    }
    (None, None)
}

/// Bodies longer than this are read only as far as [`early`] needs.
const HURRY_ABOVE: usize = 2048;

/// One message, read only as far as needed: parsing stops once the method is known and, for
/// `tools/call`, the tool's name, so a large `arguments` object after `name` (the usual order)
/// is never scanned.
fn early(body: &[u8]) -> (Option<String>, Option<String>) {
    use serde::de::{DeserializeSeed, Error as _, IgnoredAny, MapAccess, Visitor};
    use std::fmt;

    #[derive(Default)]
    struct Found {
        /// Stop as soon as method and tool are known. A small body is read to its end instead:
        /// that costs less than the error that cuts parsing short.
        hurry: bool,
        method: Option<String>,
        tool: Option<String>,
        params_seen: bool,
        /// Parsing was cut short on purpose (the error that stops it is not a parse error).
        stopped: bool,
    }
    impl Found {
        fn done(&self) -> bool {
            if !self.hurry {
                return false;
            }
            match self.method.as_deref() {
                Some("tools/call") => self.tool.is_some() || self.params_seen,
                Some(_) => true,
                None => false,
            }
        }
    }
    const ENOUGH: &str = "enough";

    /// The keys that matter.
    enum K {
        Method,
        Params,
        Name,
        Other,
    }
    fn key(v: &str) -> K {
        match v {
            "method" => K::Method,
            "params" => K::Params,
            "name" => K::Name,
            _ => K::Other,
        }
    }

    /// A string, turned into what is kept of it as it is read (keys told apart, values
    /// clipped), never copied whole.
    struct Str<F>(F);
    impl<'de, T, F: FnOnce(&str) -> T> Visitor<'de> for Str<F> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
            Ok((self.0)(v))
        }
    }
    impl<'de, T, F: FnOnce(&str) -> T> DeserializeSeed<'de> for Str<F> {
        type Value = T;
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
            d.deserialize_str(self)
        }
    }

    struct Top<'f>(&'f mut Found);
    impl<'de> Visitor<'de> for Top<'_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON-RPC message")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key_seed(Str(key))? {
                match key {
                    K::Method => self.0.method = Some(map.next_value_seed(Str(clip))?),
                    K::Params => {
                        map.next_value_seed(Params(&mut *self.0))?;
                        self.0.params_seen = true;
                    }
                    K::Name | K::Other => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                if self.0.done() {
                    self.0.stopped = true;
                    return Err(A::Error::custom(ENOUGH));
                }
            }
            Ok(())
        }
    }
    impl<'de> DeserializeSeed<'de> for Top<'_> {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_map(self)
        }
    }

    struct Params<'f>(&'f mut Found);
    impl<'de> Visitor<'de> for Params<'_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("params")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key_seed(Str(key))? {
                if matches!(key, K::Name) {
                    self.0.tool = Some(map.next_value_seed(Str(clip))?);
                    if self.0.done() {
                        self.0.stopped = true;
                        return Err(A::Error::custom(ENOUGH));
                    }
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(())
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(())
        }
    }
    impl<'de> DeserializeSeed<'de> for Params<'_> {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }

    let mut found = Found {
        hurry: body.len() > HURRY_ABOVE,
        ..Found::default()
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    let complete = match Top(&mut found).deserialize(&mut de) {
        Ok(()) => de.end().is_ok(),
        Err(_) => found.stopped,
    };
    if !complete {
        return (None, None);
    }
    let tool = if found.method.as_deref() == Some("tools/call") {
        found.tool
    } else {
        None
    };
    (found.method, tool)
}

/// Method and tool names are identifiers; anything else is cut to 64 safe characters.
fn clip(s: &str) -> String {
    if s.len() <= 64 && s.bytes().all(|b| b.is_ascii_graphic()) {
        return s.to_owned();
    }
    s.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn only_method_and_tool_name_are_kept() {
        let body = br#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"/etc/secret"}}}"#;
        assert_eq!(
            describe(body),
            (Some("tools/call".into()), Some("read_file".into()))
        );
        let batch = br#"[{"jsonrpc":"2.0","method":"notifications/initialized"},{"jsonrpc":"2.0","id":1,"method":"tools/list"}]"#;
        assert_eq!(
            describe(batch).0.as_deref(),
            Some("notifications/initialized,tools/list")
        );
        assert_eq!(describe(b"not json"), (None, None));
        assert_eq!(describe(b"{\"method\": 5}"), (None, None));
        // params before method, and a name outside tools/call, still come out right.
        let late = br#"{"params":{"name":"x","arguments":{}},"id":1,"method":"tools/call"}"#;
        assert_eq!(
            describe(late),
            (Some("tools/call".into()), Some("x".into()))
        );
        let other = br#"{"method":"prompts/get","params":{"name":"p"}}"#;
        assert_eq!(describe(other), (Some("prompts/get".into()), None));
        assert_eq!(describe(br#"{"id":1,"result":{}}"#), (None, None));
        let null = br#"{"params":null,"method":"ping"}"#;
        assert_eq!(describe(null), (Some("ping".into()), None));
    }

    #[test]
    fn parsing_stops_once_method_and_tool_are_known() {
        // In a large body, whatever follows the name is never read: here it is not even JSON.
        let head = r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"write_file","arguments":{"content":""#;
        let body = format!("{head}{}", "x".repeat(super::HURRY_ABOVE));
        assert_eq!(
            describe(body.as_bytes()),
            (Some("tools/call".into()), Some("write_file".into()))
        );
        // A small body is read whole, so a broken one names nothing.
        assert_eq!(describe(head.as_bytes()), (None, None));
        let whole = format!("{head}x\"}}}}}}");
        assert_eq!(
            describe(whole.as_bytes()),
            (Some("tools/call".into()), Some("write_file".into()))
        );
    }
}
