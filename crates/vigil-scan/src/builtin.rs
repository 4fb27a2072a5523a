//! The built-in rules: TOML files under `rules/`, embedded in the binary at build time.

use crate::rule::{ConfigFile, RuleSpec, Window};

/// Each built-in rule file, by name, as embedded text.
pub const FILES: &[(&str, &str)] = &[
    ("anthropic.toml", include_str!("../rules/anthropic.toml")),
    ("cloud.toml", include_str!("../rules/cloud.toml")),
    ("database.toml", include_str!("../rules/database.toml")),
    ("discord.toml", include_str!("../rules/discord.toml")),
    ("generic.toml", include_str!("../rules/generic.toml")),
    ("github.toml", include_str!("../rules/github.toml")),
    ("keys.toml", include_str!("../rules/keys.toml")),
    ("llm.toml", include_str!("../rules/llm.toml")),
    ("openai.toml", include_str!("../rules/openai.toml")),
    ("packages.toml", include_str!("../rules/packages.toml")),
    ("payments.toml", include_str!("../rules/payments.toml")),
    ("slack.toml", include_str!("../rules/slack.toml")),
    ("vector.toml", include_str!("../rules/vector.toml")),
    ("voice.toml", include_str!("../rules/voice.toml")),
    // Last: where a provider's rule finds the same span (a token as a URL's password), it
    // names the finding.
    ("credfiles.toml", include_str!("../rules/credfiles.toml")),
];

/// All built-in rules, specific ones first and generic ones last. Built-in rules default to
/// `window = "line"`.
pub fn rules() -> Vec<RuleSpec> {
    let mut out = Vec::new();
    for (name, text) in FILES {
        let file: ConfigFile =
            toml::from_str(text).unwrap_or_else(|e| panic!("built-in rules/{name}: {e}"));
        for mut r in file.rules {
            r.window.get_or_insert(Window::Line);
            r.builtin = true;
            out.push(r);
        }
    }
    out.sort_by_key(|r| r.generic);
    out
}
