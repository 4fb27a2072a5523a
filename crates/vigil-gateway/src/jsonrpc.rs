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
    if let Ok(m) = serde_json::from_slice::<Message>(body) {
        return one(m);
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

/// Method and tool names are identifiers; anything else is cut to 64 safe characters.
fn clip(s: &str) -> String {
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
    }
}
