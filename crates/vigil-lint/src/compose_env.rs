//! Compose's variable interpolation from the project's `.env`, applied to the fields the
//! container rules judge (`privileged: ${PRIV:-false}` with `PRIV=true` in `.env` is privileged).

use crate::node::{Node, Value};

/// Service fields whose strings are resolved: the ones the container rules read. Others
/// (`environment`, `command`, labels) are left as written: a `${API_KEY}` there is a reference,
/// and resolving it would copy `.env`'s secret into a finding.
const FIELDS: &[&str] = &[
    "image",
    "privileged",
    "network_mode",
    "volumes",
    "cap_add",
    "devices",
    "pid",
    "ipc",
    "userns_mode",
    "uts",
    "security_opt",
    "ports",
    "cgroup",
];

/// Resolves `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`,
/// `${VAR?message}`, `${VAR:+alt}` and `${VAR+alt}` in a compose document's container fields
/// (each service's, and the top-level volumes' `driver_opts`) with the variables `lookup`
/// knows. A variable it does not know keeps its reference (the shell may set it); one with a
/// default is read as its default, as Compose reads it unset (`privileged: ${PRIV:-true}` is
/// privileged; black-box tester, session 15 round 12: F2). The rules read a resolved `"true"`
/// or `y` as YAML's boolean ([`Node::as_bool`]).
pub fn interpolate(root: &mut Node, lookup: &dyn Fn(&str) -> Option<String>) {
    let Value::Object(top) = &mut root.value else {
        return;
    };
    for m in top.iter_mut() {
        match (m.key.as_str(), &mut m.value.value) {
            ("services", Value::Object(services)) => {
                for svc in services.iter_mut() {
                    let Value::Object(fields) = &mut svc.value.value else {
                        continue;
                    };
                    for f in fields
                        .iter_mut()
                        .filter(|f| FIELDS.contains(&f.key.as_str()))
                    {
                        resolve_all(&mut f.value, lookup);
                    }
                }
            }
            ("volumes", _) => resolve_all(&mut m.value, lookup),
            _ => {}
        }
    }
}

fn resolve_all(n: &mut Node, lookup: &dyn Fn(&str) -> Option<String>) {
    match &mut n.value {
        Value::String(s) if s.contains('$') => *s = resolve(s, lookup),
        Value::Array(items) => items.iter_mut().for_each(|i| resolve_all(i, lookup)),
        Value::Object(members) => members
            .iter_mut()
            .for_each(|m| resolve_all(&mut m.value, lookup)),
        _ => {}
    }
}

/// One string resolved (nested references inside defaults too, at most eight deep).
pub fn resolve(s: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    resolve_at(s, lookup, 0)
}

fn resolve_at(s: &str, lookup: &dyn Fn(&str) -> Option<String>, depth: usize) -> String {
    if depth > 8 || !s.contains('$') {
        return s.to_owned();
    }
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let name_len = |from: usize| {
        b[from..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
            .count()
    };
    while i < b.len() {
        let Some(k) = s[i..].find('$').map(|k| i + k) else {
            out.push_str(&s[i..]);
            break;
        };
        out.push_str(&s[i..k]);
        match b.get(k + 1) {
            // `$$` is a literal dollar; kept as written.
            Some(b'$') => {
                out.push_str("$$");
                i = k + 2;
            }
            Some(b'{') => {
                let Some(close) = matching_brace(s, k + 2) else {
                    out.push_str(&s[k..]);
                    break;
                };
                let inner = &s[k + 2..close];
                let n = name_len(k + 2);
                let (name, op) = inner.split_at(n.min(inner.len()));
                let raw = &s[k..=close];
                let value = (!name.is_empty()).then(|| lookup(name)).flatten();
                let word = |w: &str| resolve_at(w, lookup, depth + 1);
                let text = if op.is_empty() {
                    value.unwrap_or_else(|| raw.to_owned())
                } else if let Some(w) = op.strip_prefix(":-") {
                    match value.filter(|v| !v.is_empty()) {
                        Some(v) => v,
                        None => word(w),
                    }
                } else if let Some(w) = op.strip_prefix('-') {
                    value.unwrap_or_else(|| word(w))
                } else if op.starts_with(":?") || op.starts_with('?') {
                    value.unwrap_or_else(|| raw.to_owned())
                } else if let Some(w) = op.strip_prefix(":+") {
                    match value {
                        Some(v) if !v.is_empty() => word(w),
                        Some(_) => String::new(),
                        None => raw.to_owned(),
                    }
                } else if let Some(w) = op.strip_prefix('+') {
                    match value {
                        Some(_) => word(w),
                        None => raw.to_owned(),
                    }
                } else {
                    raw.to_owned()
                };
                out.push_str(&text);
                i = close + 1;
            }
            Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {
                let n = name_len(k + 1);
                let name = &s[k + 1..k + 1 + n];
                match lookup(name) {
                    Some(v) => out.push_str(&v),
                    None => out.push_str(&s[k..k + 1 + n]),
                }
                i = k + 1 + n;
            }
            _ => {
                out.push('$');
                i = k + 1;
            }
        }
    }
    out
}

/// The `}` closing a `${` whose body starts at `from`, nested `${…}` counted.
fn matching_brace(s: &str, from: usize) -> Option<usize> {
    let b = s.as_bytes();
    let mut depth = 0usize;
    let mut i = from;
    while i < b.len() {
        match b[i] {
            b'$' if b.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 2;
                continue;
            }
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "SOCK" => Some("/var/run/docker.sock".into()),
            "PRIV" => Some("true".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn references_resolve_as_compose_resolves_them() {
        let cases = [
            (
                "${SOCK}:/var/run/docker.sock",
                "/var/run/docker.sock:/var/run/docker.sock",
            ),
            ("$SOCK:/x", "/var/run/docker.sock:/x"),
            ("${PRIV:-false}", "true"),
            ("${EMPTY:-host}", "host"),
            ("${NONE:-true}", "true"),
            ("${NONE-6379}:6379", "6379:6379"),
            ("${EMPTY-host}", ""),
            ("${NONE:-${SOCK}}", "/var/run/docker.sock"),
            ("${NONE:-${NONE2:-host}}", "host"),
            ("${NONE}", "${NONE}"),
            ("${SOCK:?set it}", "/var/run/docker.sock"),
            ("${PRIV:+yes}", "yes"),
            ("${NONE:+yes}", "${NONE:+yes}"),
            ("$$SOCK", "$$SOCK"),
            ("${SOCK", "${SOCK"),
            ("cost $5", "cost $5"),
        ];
        for (input, want) in cases {
            assert_eq!(resolve(input, &env), want, "{input}");
        }
    }
}
