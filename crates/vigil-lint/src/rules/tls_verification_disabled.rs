//! `tls-verification-disabled`: certificate checks switched off.
//!
//! ## What it finds
//! `NODE_TLS_REJECT_UNAUTHORIZED=0`, `PYTHONHTTPSVERIFY=0`, `*_SSL_VERIFY=false`,
//! `*_INSECURE=true`, arguments such as `--insecure`, `-k`, `--no-verify-ssl`,
//! `--ignore-certificate-errors`, and keys such as `rejectUnauthorized: false`,
//! `verify_ssl: false`, `insecure: true`, `tls_verify: false`.
//!
//! ## Why it matters
//! HTTPS without verification is HTTPS to whoever answers: any machine on the path can read
//! and change the traffic.

use super::{fx, Check, Cx, Emit, Family, Rule};
use crate::node::{loose, KeyPath, Node, Value};
use vigil_report::Severity;

pub(crate) static RULE: Rule = Rule {
    id: "tls-verification-disabled",
    family: Family::Transport,
    severity: Severity::Error,
    summary: "TLS certificate verification is switched off",
    fix: "Remove the switch; trust a private CA with NODE_EXTRA_CA_CERTS, SSL_CERT_FILE or the client's CA setting instead",
    check: Check::File(check),
    examples: &[
        fx("claude_desktop_config.json", r#"{"mcpServers": {"api": {"command": "npx", "args": ["mcp-remote@0.1.18", "https://mcp.example.com/mcp"],
  "env": {"NODE_TLS_REJECT_UNAUTHORIZED": «"0"}}}}"#),
        fx(".mcp.json", r#"{"mcpServers": {"api": {"command": "uvx", "args": ["mcp-proxy==0.8.2", «"--insecure", "https://mcp.example.com"]}}}"#),
        fx("voice-manifest.json", r#"{"mcp": {"servers": {"b": {"url": "https://api.example.com/mcp", "tls": {"rejectUnauthorized": «false}}}}}"#),
        fx(".mcp.json", r#"{"mcpServers": {"api": {"command": "mcp-x", "env": {"NODE_TLS_REJECT_UNAUTHORIZED": «0}}}}"#),
        fx("/h/.codex/config.toml", "[mcp_servers.api]\ncommand = \"mcp-x\"\nenv = { NODE_TLS_REJECT_UNAUTHORIZED = «0 }\n"),
    ],
    counterexamples: &[
        fx("claude_desktop_config.json", r#"{"mcpServers": {"api": {"command": "npx", "args": ["mcp-remote@0.1.18", "https://mcp.example.com/mcp"],
  "env": {"NODE_EXTRA_CA_CERTS": "/etc/ssl/corp-ca.pem", "NODE_TLS_REJECT_UNAUTHORIZED": "1"}}}}"#),
    ],
};

const OFF_FLAGS: &[&str] = &[
    "--insecure",
    "-k",
    "--no-verify",
    "--no-verify-ssl",
    "--no-check-certificate",
    "--ignore-certificate-errors",
    "--skip-tls-verify",
    "--tls-skip-verify",
    "--disable-ssl-verification",
    "--allow-insecure",
];

fn check(cx: &Cx<'_>, out: &mut Emit<'_>) {
    // Keys whose false value means "do not verify", and keys whose true value means it.
    const VERIFY: &[&str] = &[
        "rejectunauthorized",
        "verifyssl",
        "sslverify",
        "tlsverify",
        "verify",
        "verifytls",
        "checkcertificate",
        "pythonhttpsverify",
        "nodetlsrejectunauthorized",
        "gitsslnoverify",
    ];
    const INSECURE: &[&str] = &[
        "insecure",
        "skiptlsverify",
        "tlsskipverify",
        "insecureskipverify",
        "allowinsecure",
        "noverify",
        "disablesslverification",
        "curlinsecure",
    ];
    walk(&cx.doc.root, &mut Vec::new(), &mut |path, node| {
        let Some(flag) = node.as_bool() else { return };
        let last = path.last().copied().unwrap_or("");
        // Without case, without a lowercase copy: asked of every scalar's key.
        let has = |w: &str| {
            last.as_bytes()
                .windows(w.len())
                .any(|x| x.eq_ignore_ascii_case(w.as_bytes()))
        };
        if !(has("verif") || has("insecure") || has("unauthorized") || has("tls") || has("ssl")) {
            return;
        }
        let key = KeyPath(path.iter().map(|s| (*s).to_owned()).collect());
        let name = loose(last);
        let flag = Some(flag);
        let verify_off = name != "gitsslnoverify"
            && VERIFY
                .iter()
                .any(|v| name == *v || (*v != "verify" && name.ends_with(v)))
            && flag == Some(false);
        let git_off = name == "gitsslnoverify" && flag == Some(true);
        let insecure =
            INSECURE.iter().any(|v| name == *v || name.ends_with(v)) && flag == Some(true);
        if verify_off || git_off || insecure {
            out.at(
                node.span,
                &key,
                format!("`{key}` switches certificate verification off"),
            );
        }
    });
    for s in cx.servers {
        for (text, node) in s.argv.iter().skip(1) {
            if OFF_FLAGS.contains(&text.as_str()) {
                out.at(
                    node.span,
                    s.launch_key.join("args"),
                    format!(
                        "`{text}` switches certificate verification off for `{}`",
                        s.name
                    ),
                );
            }
        }
    }
}

fn walk<'a>(n: &'a Node, path: &mut Vec<&'a str>, f: &mut dyn FnMut(&[&'a str], &'a Node)) {
    match &n.value {
        Value::Object(m) => {
            for m in m {
                path.push(&m.key);
                if !m.value.is_object() && !m.value.is_array() {
                    f(path, &m.value);
                }
                walk(&m.value, path, f);
                path.pop();
            }
        }
        Value::Array(a) => {
            for c in a {
                walk(c, path, f);
            }
        }
        _ => {}
    }
}
