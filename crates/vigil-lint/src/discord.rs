//! Discord's gateway intents and permission bits, and where a bot asks for them: discord.py
//! (`Intents.all()`, `intents.message_content = True`, `Intents(members=True)`), discord.js
//! (`GatewayIntentBits.MessageContent`, `IntentsBitField.Flags.GuildMembers`,
//! `Intents.FLAGS.GUILD_MEMBERS`), raw integers (`intents: 3276799`), configuration keys
//! (`intents = [...]`, `DISCORD_INTENTS=...`, `permissions = 8`), invite URLs
//! (`…/oauth2/authorize?…&permissions=8`) and invite helpers (`generateInvite(…)`,
//! `oauth_url(…)`). Every pattern is bounded, so a long file cannot make one search slow.

use crate::document::Document;
use crate::node::{loose, Node, Span, Value};
use regex::Regex;
use std::sync::LazyLock;

/// Privileged intents: need approval in the developer portal and expose member data.
pub const PRIVILEGED: u64 = (1 << 1) | (1 << 8) | (1 << 15);

/// The design's default: the bot joins voice channels in guilds.
pub const DEFAULT_INTENTS: &[&str] = &["guilds", "guild_voice_states"];

/// The design's default permissions: voice connect, send messages, slash commands.
pub const DEFAULT_PERMISSIONS: &[&str] = &[
    "view_channel",
    "send_messages",
    "connect",
    "speak",
    "use_vad",
    "use_application_commands",
];

/// Permission bits that hand over the guild: Administrator, Manage Guild, Manage Roles, Manage
/// Webhooks, Manage Channels, Ban and Kick Members.
pub const DANGEROUS: u64 =
    (1 << 3) | (1 << 5) | (1 << 28) | (1 << 29) | (1 << 4) | (1 << 2) | (1 << 1);

const INTENTS: &[(&str, u64)] = &[
    ("guilds", 1 << 0),
    ("guild_members", 1 << 1),
    ("members", 1 << 1),
    ("guild_moderation", 1 << 2),
    ("guild_bans", 1 << 2),
    ("moderation", 1 << 2),
    ("bans", 1 << 2),
    ("guild_expressions", 1 << 3),
    ("guild_emojis_and_stickers", 1 << 3),
    ("guild_emojis", 1 << 3),
    ("emojis", 1 << 3),
    ("emojis_and_stickers", 1 << 3),
    ("expressions", 1 << 3),
    ("guild_integrations", 1 << 4),
    ("integrations", 1 << 4),
    ("guild_webhooks", 1 << 5),
    ("webhooks", 1 << 5),
    ("guild_invites", 1 << 6),
    ("invites", 1 << 6),
    ("guild_voice_states", 1 << 7),
    ("voice_states", 1 << 7),
    ("guild_presences", 1 << 8),
    ("presences", 1 << 8),
    ("guild_messages", 1 << 9),
    ("messages", (1 << 9) | (1 << 12)),
    ("guild_message_reactions", 1 << 10),
    ("guild_reactions", 1 << 10),
    ("reactions", (1 << 10) | (1 << 13)),
    ("guild_message_typing", 1 << 11),
    ("guild_typing", 1 << 11),
    ("typing", (1 << 11) | (1 << 14)),
    ("direct_messages", 1 << 12),
    ("dm_messages", 1 << 12),
    ("direct_message_reactions", 1 << 13),
    ("dm_reactions", 1 << 13),
    ("direct_message_typing", 1 << 14),
    ("dm_typing", 1 << 14),
    ("message_content", 1 << 15),
    ("guild_scheduled_events", 1 << 16),
    ("scheduled_events", 1 << 16),
    ("auto_moderation_configuration", 1 << 20),
    ("auto_moderation_execution", 1 << 21),
    ("auto_moderation", (1 << 20) | (1 << 21)),
    ("guild_message_polls", 1 << 24),
    ("direct_message_polls", 1 << 25),
    ("polls", (1 << 24) | (1 << 25)),
];

const PERMISSIONS: &[(&str, u32)] = &[
    ("create_instant_invite", 0),
    ("kick_members", 1),
    ("ban_members", 2),
    ("administrator", 3),
    ("manage_channels", 4),
    ("manage_guild", 5),
    ("add_reactions", 6),
    ("view_audit_log", 7),
    ("priority_speaker", 8),
    ("stream", 9),
    ("view_channel", 10),
    ("read_messages", 10),
    ("send_messages", 11),
    ("send_tts_messages", 12),
    ("manage_messages", 13),
    ("embed_links", 14),
    ("attach_files", 15),
    ("read_message_history", 16),
    ("mention_everyone", 17),
    ("use_external_emojis", 18),
    ("view_guild_insights", 19),
    ("connect", 20),
    ("speak", 21),
    ("mute_members", 22),
    ("deafen_members", 23),
    ("move_members", 24),
    ("use_vad", 25),
    ("use_voice_activation", 25),
    ("change_nickname", 26),
    ("manage_nicknames", 27),
    ("manage_roles", 28),
    ("manage_permissions", 28),
    ("manage_webhooks", 29),
    ("manage_guild_expressions", 30),
    ("manage_emojis_and_stickers", 30),
    ("use_application_commands", 31),
    ("request_to_speak", 32),
    ("manage_events", 33),
    ("manage_threads", 34),
    ("create_public_threads", 35),
    ("create_private_threads", 36),
    ("use_external_stickers", 37),
    ("send_messages_in_threads", 38),
    ("use_embedded_activities", 39),
    ("moderate_members", 40),
    ("view_creator_monetization_analytics", 41),
    ("use_soundboard", 42),
    ("create_guild_expressions", 43),
    ("create_events", 44),
    ("use_external_sounds", 45),
    ("send_voice_messages", 46),
    ("send_polls", 49),
    ("use_external_apps", 50),
];

/// The bits of an intent name in any library's spelling (`guild_voice_states`,
/// `GuildVoiceStates`, `voice_states`, `GUILD_VOICE_STATES`).
pub fn intent_bit(name: &str) -> Option<u64> {
    let l = loose(name);
    INTENTS.iter().find(|(n, _)| loose(n) == l).map(|(_, b)| *b)
}

/// The bit of a permission name in any spelling (`send_messages`, `SendMessages`,
/// `SEND_MESSAGES`).
pub fn permission_bit(name: &str) -> Option<u64> {
    let l = loose(name);
    PERMISSIONS
        .iter()
        .find(|(n, _)| loose(n) == l)
        .map(|(_, b)| 1u64 << b)
}

/// Every intent with its canonical name, for messages.
pub fn intent_names(bits: u64) -> Vec<&'static str> {
    let canonical = [
        "guilds",
        "guild_members",
        "guild_moderation",
        "guild_expressions",
        "guild_integrations",
        "guild_webhooks",
        "guild_invites",
        "guild_voice_states",
        "guild_presences",
        "guild_messages",
        "guild_message_reactions",
        "guild_message_typing",
        "direct_messages",
        "direct_message_reactions",
        "direct_message_typing",
        "message_content",
        "guild_scheduled_events",
        "auto_moderation_configuration",
        "auto_moderation_execution",
        "guild_message_polls",
        "direct_message_polls",
    ];
    canonical
        .iter()
        .filter(|n| intent_bit(n).is_some_and(|b| bits & b != 0))
        .copied()
        .collect()
}

/// Every permission's canonical name in `bits`.
pub fn permission_names(bits: u64) -> Vec<String> {
    let mut seen = 0u64;
    let mut out = Vec::new();
    for (n, b) in PERMISSIONS {
        let bit = 1u64 << b;
        if bits & bit != 0 && seen & bit == 0 {
            seen |= bit;
            out.push(n.to_ascii_uppercase());
        }
    }
    let unknown = bits & !seen;
    if unknown != 0 {
        out.push(format!("unknown bits {unknown:#x}"));
    }
    out
}

/// All intents there are.
pub const ALL_INTENTS: u64 = 0b11_0011_0001_1111_1111_1111_1111;

/// Where a bot asks for something, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Where.
    pub span: Span,
    /// The bits asked for.
    pub bits: u64,
    /// What the text said (`Intents.all()`, `permissions=8`), for messages.
    pub what: String,
}

static PY_INTENTS_CALL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"Intents\s*\.\s*(all|default|none)\s*\(\s*\)").expect("regex"));
static PY_INTENT_SET: LazyLock<Regex> = LazyLock::new(|| {
    // Any variable whose name ends in `intents` (`my_intents.message_content = True`)
    // (black-box tester, session 15 round 12: F5).
    Regex::new(r"\b[A-Za-z0-9_]{0,40}[Ii]ntents\s*\.\s*([A-Za-z_]{1,40})\s*=\s*True\b")
        .expect("regex")
});
static PY_INTENTS_CTOR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"Intents\s*\(([^()]+)\)").expect("regex"));
static PY_KWARG_TRUE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"([A-Za-z_]{1,40})\s*=\s*True\b").expect("regex"));
static JS_INTENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:GatewayIntentBits|IntentsBitField\s*\.\s*Flags|Intents\s*\.\s*FLAGS|GatewayIntents)\s*\.\s*([A-Za-z_]{1,40})")
        .expect("regex")
});
/// discord.js aliases: `const { GatewayIntentBits: G } = …`, `import { GatewayIntentBits as
/// G }`, `const G = GatewayIntentBits`; discord.py's `from discord import Intents as I`.
static INTENT_ALIAS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:GatewayIntentBits|IntentsBitField|Intents|GatewayIntents)\s*(?::|\bas\b)\s*([A-Za-z_][A-Za-z0-9_]{0,40})\b|\b(?:const|let|var)\s+([A-Za-z_][A-Za-z0-9_]{0,40})\s*=\s*(?:[A-Za-z_][A-Za-z0-9_]{0,40}\s*\.\s*)?(?:GatewayIntentBits|IntentsBitField|Intents|GatewayIntents)\s*[;\r\n]")
        .expect("regex")
});
/// Every intent there is: `Object.values(GatewayIntentBits)`, `IntentsBitField.All`,
/// `Intents.ALL` (the alias forms are matched separately).
static JS_ALL_INTENTS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"Object\s*\.\s*(?:values|keys|entries)\s*\(\s*(?:GatewayIntentBits|IntentsBitField\s*\.\s*Flags|Intents\s*\.\s*FLAGS|GatewayIntents)\s*\)|\b(?:IntentsBitField|Intents)\s*\.\s*(?:All|ALL)\b")
        .expect("regex")
});
/// The start of a list of intents as strings: `intents: [`, `new IntentsBitField([`,
/// `new Intents([`.
static INTENT_LIST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?:\bintents["']?\s*[:=]\s*|\b(?:IntentsBitField|Intents)\s*\(\s*)\["#)
        .expect("regex")
});
static PY_INTENTS_OPEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bIntents\s*\(").expect("regex"));
static SHIFT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b1\s*<<\s*\d{1,2}\b").expect("regex"));
/// A list of permission names in an invite call (`permissions: ['Administrator']`).
static PERM_LIST: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\bpermissions\s*[:=]\s*\[").expect("regex"));
static QUOTED_WORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"["'`]([A-Za-z_]{1,40})["'`]"#).expect("regex"));
static RAW_INTENTS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\bintents["']?\s*[:=]\s*(?:new\s+IntentsBitField\s*\(\s*)?(\d[0-9a-fA-FxX_ \t<|+()]{0,200})"#)
        .expect("regex")
});
static ENV_INTENTS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^\s*(?:export\s+)?[A-Z0-9_]{0,40}INTENTS\s*=\s*([^\r\n#]+)").expect("regex")
});
static INVITE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i:https?://(?:www\.|ptb\.|canary\.)?discord(?:app)?\.com)/(?:api/)?oauth2/authorize\?[^\s"'<>`]*"#)
        .expect("regex")
});
static ENV_PERMISSIONS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^\s*(?:export\s+)?[A-Z0-9_]{0,40}PERMISSIONS\s*=\s*([0-9]{1,20})\b")
        .expect("regex")
});
static INVITE_CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:generateInvite|oauth_url|generate_invite)\s*\(").expect("regex")
});

/// The argument text of a call whose `(` ends at `open` (balanced, at most 4 KiB).
fn call_args(t: &str, open: usize) -> (usize, &str) {
    let mut depth = 1usize;
    let end_cap = (open + 4096).min(t.len());
    for (i, b) in t.as_bytes()[open..end_cap].iter().enumerate() {
        match b {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return (open, &t[open..open + i]);
                }
            }
            _ => {}
        }
    }
    (open, &t[open..end_cap])
}
static PERM_FLAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:PermissionFlagsBits|Permissions\s*\.\s*FLAGS|PermissionsBitField\s*\.\s*Flags)\s*\.\s*([A-Za-z_]{1,40})")
        .expect("regex")
});
static PERM_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)permissions\s*[:=]\s*(?:discord\s*\.\s*)?(?:Permissions\s*\(\s*)?['\x22]?(\d{1,20})",
    )
    .expect("regex")
});
static PY_PERMS_CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"Permissions\s*\.\s*(all|all_channel|elevated|advanced|general)\s*\(\s*\)")
        .expect("regex")
});
static PY_PERMS_CTOR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"Permissions\s*\(([^()]+)\)").expect("regex"));

/// The value of an integer expression as bots write bit sets: `8`, `0x8`, `1 << 3`, `2 ** 3`,
/// `268435456 | 8`, `value=2048 + 1024`, with parentheses around terms. Anything else: `None`.
pub fn int_expr(text: &str) -> Option<u64> {
    let t = text.trim();
    let t = t
        .strip_prefix("value")
        .map(|r| r.trim_start())
        .and_then(|r| r.strip_prefix('='))
        .unwrap_or(t);
    if t.is_empty() || t.len() > 200 {
        return None;
    }
    let mut total = 0u64;
    for term in t.split(['|', '+']) {
        let term = term
            .trim()
            .trim_start_matches('(')
            .trim_end_matches(')')
            .trim();
        let v = match (term.split_once("<<"), term.split_once("**")) {
            (Some((a, b)), _) => {
                let shift = int_literal(b.trim())?;
                int_literal(a.trim())?.checked_shl(u32::try_from(shift).ok()?)?
            }
            // `2 ** 15` (JavaScript and Python) (black-box tester, session 15 round 12: F5).
            (None, Some((a, b))) => {
                int_literal(a.trim())?.checked_pow(u32::try_from(int_literal(b.trim())?).ok()?)?
            }
            (None, None) => int_literal(term)?,
        };
        total |= v;
    }
    Some(total)
}

fn int_literal(t: &str) -> Option<u64> {
    let t = t.trim().replace('_', "");
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => t.parse().ok(),
    }
}

/// The intents a document asks for.
pub fn intents(doc: &Document) -> Vec<Request> {
    let mut out = Vec::new();
    let t = &doc.text;
    let sp = |m: regex::Match<'_>| Span::new(m.start(), m.end());
    match doc.kind {
        crate::input::Kind::Source => {
            for c in PY_INTENTS_CALL.captures_iter(t) {
                let all = c.get(0).expect("match");
                let bits = match &c[1] {
                    "all" => ALL_INTENTS,
                    "default" => ALL_INTENTS & !PRIVILEGED,
                    _ => 0,
                };
                out.push(Request {
                    span: sp(all),
                    bits,
                    what: all.as_str().to_owned(),
                });
            }
            for c in PY_INTENT_SET.captures_iter(t) {
                if let Some(b) = intent_bit(&c[1]) {
                    let m = c.get(0).expect("match");
                    out.push(Request {
                        span: sp(m),
                        bits: b,
                        what: m.as_str().to_owned(),
                    });
                }
            }
            for c in PY_INTENTS_CTOR.captures_iter(t) {
                let args = c.get(1).expect("group");
                // `Intents(value=3276799)`, `Intents(1 << 15 | 1)`.
                if let Some(bits) = int_expr(args.as_str()) {
                    out.push(Request {
                        span: sp(args),
                        bits,
                        what: format!("Intents({})", args.as_str().trim()),
                    });
                    continue;
                }
                push_named(&PY_KWARG_TRUE, args, &mut out);
            }
            for c in JS_INTENT.captures_iter(t) {
                if let Some(b) = intent_bit(&c[1]) {
                    let m = c.get(0).expect("match");
                    out.push(Request {
                        span: sp(m),
                        bits: b,
                        what: m.as_str().to_owned(),
                    });
                }
            }
            source_intents_more(t, &mut out);
            for c in RAW_INTENTS.captures_iter(t) {
                // `intents: 1 << 15 | 1` as an expression; else its leading number.
                let m = c.get(1).expect("group");
                let expr = m.as_str().trim_end_matches([')', ' ', '\t']);
                let lead = expr.bytes().take_while(u8::is_ascii_digit).count();
                let n = int_expr(expr).or_else(|| expr[..lead].parse::<u64>().ok());
                if let Some(n) = n {
                    out.push(Request {
                        span: Span::new(m.start(), m.start() + expr.len()),
                        bits: n,
                        what: format!("intents {n}"),
                    });
                }
            }
            source_intents_py_raw(t, &mut out);
        }
        crate::input::Kind::EnvFile => {
            for c in ENV_INTENTS.captures_iter(t) {
                let v = c.get(1).expect("group");
                let raw = v.as_str().trim().trim_matches(['"', '\'']);
                let bits = match raw.parse::<u64>() {
                    Ok(n) => n,
                    Err(_) => raw
                        .split([',', ' ', '|'])
                        .filter(|s| !s.is_empty())
                        .filter_map(intent_bit)
                        .fold(0, |a, b| a | b),
                };
                out.push(Request {
                    span: sp(v),
                    bits,
                    what: raw.to_owned(),
                });
            }
        }
        _ => tree_requests(
            &doc.root,
            &mut out,
            0,
            &|k| names_key(k, "intents"),
            &|n| match &n.value {
                Value::Number(s) => s.parse::<u64>().ok(),
                Value::String(s) => s.parse::<u64>().ok(),
                Value::Array(items) => Some(
                    items
                        .iter()
                        .filter_map(|i| i.as_str().and_then(intent_bit))
                        .fold(0, |a, b| a | b),
                ),
                _ => None,
            },
        ),
    }
    out
}

/// `intents.value |= 1 << 15`, `setattr(intents, "message_content", True)`,
/// `Intents(**{"members": True})`, `Intents._from_value(33281)`.
static PY_VALUE_SET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b[A-Za-z0-9_]{0,40}[Ii]ntents\s*\.\s*value\s*(?:\|=|\+=|=)\s*(\d[0-9a-fA-FxX_ \t<|+()*]{0,200})")
        .expect("regex")
});
static PY_SETATTR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"setattr\s*\(\s*[A-Za-z_][A-Za-z0-9_.]{0,60}\s*,\s*["']([A-Za-z_]{1,40})["']\s*,\s*True\s*\)"#)
        .expect("regex")
});
static PY_DICT_TRUE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"["']([A-Za-z_]{1,40})["']\s*:\s*True\b"#).expect("regex"));
static PY_FROM_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"Intents\s*\.\s*_?from_value\s*\(\s*([^()]{1,200})\)").expect("regex")
});

/// discord.py's raw forms (see [`PY_VALUE_SET`]).
fn source_intents_py_raw(t: &str, out: &mut Vec<Request>) {
    for re in [&*PY_VALUE_SET, &*PY_FROM_VALUE] {
        for c in re.captures_iter(t) {
            let m = c.get(1).expect("group");
            let expr = m.as_str().trim_end();
            if let Some(bits) = int_expr(expr) {
                out.push(Request {
                    span: Span::new(m.start(), m.start() + expr.len()),
                    bits,
                    what: c.get(0).expect("match").as_str().trim().to_owned(),
                });
            }
        }
    }
    for c in PY_SETATTR.captures_iter(t) {
        if let Some(b) = intent_bit(&c[1]) {
            let m = c.get(0).expect("match");
            out.push(Request {
                span: Span::new(m.start(), m.end()),
                bits: b,
                what: m.as_str().to_owned(),
            });
        }
    }
    for c in PY_INTENTS_CTOR.captures_iter(t) {
        let args = c.get(1).expect("group");
        push_named(&PY_DICT_TRUE, args, out);
    }
}

/// What a bot's source asks for beyond the plain forms: discord.js intents as strings in an
/// `intents:` list (`["Guilds", "MessageContent"]`), `Object.values(GatewayIntentBits)` (every
/// intent), and the flags and calls of an alias (`{ GatewayIntentBits: G }` then
/// `G.MessageContent`; `from discord import Intents as I` then `I.all()`).
fn source_intents_more(t: &str, out: &mut Vec<Request>) {
    let sp = |a: usize, b: usize| Span::new(a, b);
    for m in JS_ALL_INTENTS.find_iter(t) {
        out.push(Request {
            span: sp(m.start(), m.end()),
            bits: ALL_INTENTS,
            what: m.as_str().to_owned(),
        });
    }
    for m in INTENT_LIST.find_iter(t) {
        // The list up to its `]` (at most 4 KiB).
        let rest = &t[m.end()..(m.end() + 4096).min(t.len())];
        let rest = rest
            .get(..rest.find(']').unwrap_or(rest.len()))
            .unwrap_or("");
        for c in QUOTED_WORD.captures_iter(rest) {
            if let Some(b) = intent_bit(&c[1]) {
                let w = c.get(0).expect("match");
                let start = m.end() + w.start();
                out.push(Request {
                    span: sp(start, start + w.len()),
                    bits: b,
                    what: w.as_str().to_owned(),
                });
            }
        }
        // Numbers among the flags (`[GatewayIntentBits.Guilds, 1 << 15]`) (black-box tester,
        // session 15 round 11: F5).
        let mut at = 0;
        for item in rest.split(',') {
            let lead = item.len() - item.trim_start().len();
            if let Some(bits) = int_expr(item).filter(|b| *b != 0) {
                let start = m.end() + at + lead;
                out.push(Request {
                    span: sp(start, start + item.trim().len()),
                    bits,
                    what: format!("intents {}", item.trim()),
                });
            }
            at += item.len() + 1;
        }
    }
    // A shift inside an `Intents(…)` call that is more than a number
    // (`Intents(Intents.default().value | (1 << 15))`).
    for c in PY_INTENTS_OPEN.find_iter(t) {
        let (base, args) = call_args(t, c.end());
        if int_expr(args).is_some() {
            continue; // judged whole by the constructor's own reading
        }
        for s in SHIFT.find_iter(args) {
            if let Some(bits) = int_expr(s.as_str()) {
                out.push(Request {
                    span: sp(base + s.start(), base + s.end()),
                    bits,
                    what: format!("Intents(… {} …)", s.as_str()),
                });
            }
        }
    }
    let mut aliases: Vec<String> = INTENT_ALIAS
        .captures_iter(t)
        .filter_map(|c| c.get(1).or_else(|| c.get(2)).map(|m| m.as_str().to_owned()))
        .filter(|a| {
            !matches!(
                a.as_str(),
                "GatewayIntentBits" | "IntentsBitField" | "Intents" | "GatewayIntents"
            )
        })
        .collect();
    aliases.sort();
    aliases.dedup();
    aliases.truncate(16);
    if aliases.is_empty() {
        return;
    }
    let names = aliases
        .iter()
        .map(|a| regex::escape(a))
        .collect::<Vec<_>>()
        .join("|");
    let Ok(flag) = Regex::new(&format!(
        r"\b(?:{names})\s*\.\s*(?:(?:Flags|FLAGS)\s*\.\s*)?([A-Za-z_]{{1,40}})(\s*\(\s*\))?"
    )) else {
        return;
    };
    let Ok(values) = Regex::new(&format!(
        r"Object\s*\.\s*(?:values|keys|entries)\s*\(\s*(?:{names})(?:\s*\.\s*(?:Flags|FLAGS))?\s*\)"
    )) else {
        return;
    };
    for m in values.find_iter(t) {
        out.push(Request {
            span: sp(m.start(), m.end()),
            bits: ALL_INTENTS,
            what: m.as_str().to_owned(),
        });
    }
    for c in flag.captures_iter(t) {
        let m = c.get(0).expect("match");
        let name = &c[1];
        let bits = match (name, c.get(2).is_some()) {
            ("all", true) => Some(ALL_INTENTS),
            ("default", true) => Some(ALL_INTENTS & !PRIVILEGED),
            ("All" | "ALL", false) => Some(ALL_INTENTS),
            (_, false) => intent_bit(name),
            _ => None,
        };
        if let Some(bits) = bits {
            out.push(Request {
                span: sp(m.start(), m.end()),
                bits,
                what: m.as_str().to_owned(),
            });
        }
    }
}

/// The permissions a document asks for (invite URLs, invite helpers, configured integers).
pub fn permissions(doc: &Document) -> Vec<Request> {
    let mut out = Vec::new();
    let t = &doc.text;
    let has = |w: &str| memchr::memmem::find(t.as_bytes(), w.as_bytes()).is_some();
    let invites: Vec<regex::Match<'_>> = if has("oauth2/authorize") || has("OAUTH2/AUTHORIZE") {
        INVITE.find_iter(t).collect()
    } else {
        Vec::new()
    };
    for m in invites {
        let url = m.as_str();
        let query = url.split_once('?').map_or("", |(_, q)| q);
        for pair in query.split('&') {
            // Discord decodes the query: `%70ermissions=8` is `permissions=8`.
            let Some((k, v)) = url::form_urlencoded::parse(pair.as_bytes()).next() else {
                continue;
            };
            if k == "permissions" {
                if let Ok(n) = v
                    .trim_end_matches(|c: char| !c.is_ascii_digit())
                    .parse::<u64>()
                {
                    let start = m.start() + url.find(pair).unwrap_or(0);
                    out.push(Request {
                        span: Span::new(start, start + pair.len()),
                        bits: n,
                        what: "an invite URL".into(),
                    });
                }
            }
        }
    }
    match doc.kind {
        crate::input::Kind::Source if has("nvite") || has("oauth_url") => {
            // A permission set built outside the invite call (`perms = discord.Permissions(
            // 268435456 | 8)`, then `oauth_url(id, permissions=perms)`).
            let calls: Vec<(usize, usize)> = INVITE_CALL
                .find_iter(t)
                .map(|c| {
                    let (b, a) = call_args(t, c.end());
                    (b, b + a.len())
                })
                .collect();
            for f in PY_PERMS_CTOR.captures_iter(t) {
                let inner = f.get(1).expect("g");
                if calls
                    .iter()
                    .any(|(s, e)| inner.start() >= *s && inner.end() <= *e)
                {
                    continue; // judged with its call below
                }
                if let Some(bits) = int_expr(inner.as_str()) {
                    out.push(Request {
                        span: Span::new(inner.start(), inner.end()),
                        bits,
                        what: format!("Permissions({})", inner.as_str().trim()),
                    });
                }
            }
            for call in INVITE_CALL.find_iter(t) {
                let (base, a) = call_args(t, call.end());
                let mut push = |s: usize, e: usize, bits: u64, what: String| {
                    out.push(Request {
                        span: Span::new(base + s, base + e),
                        bits,
                        what,
                    })
                };
                for f in PERM_FLAG.captures_iter(a) {
                    if let Some(b) = permission_bit(&f[1]) {
                        let m = f.get(0).expect("m");
                        push(m.start(), m.end(), b, f[0].to_owned());
                    }
                }
                for f in PERM_NUMBER.captures_iter(a) {
                    if let Ok(n) = f[1].parse::<u64>() {
                        let m = f.get(0).expect("m");
                        push(m.start(), m.end(), n, format!("permissions {n}"));
                    }
                }
                for f in PY_PERMS_CALL.captures_iter(a) {
                    let m = f.get(0).expect("m");
                    push(m.start(), m.end(), u64::MAX >> 13, f[0].to_owned());
                }
                // Permission names as strings (`permissions: ['Administrator']`, discord.js
                // resolves them) (black-box tester, session 15 round 11: F5).
                for l in PERM_LIST.find_iter(a) {
                    let rest = &a[l.end()..];
                    let rest = &rest[..rest.find(']').unwrap_or(rest.len())];
                    for c in QUOTED_WORD.captures_iter(rest) {
                        if let Some(b) = permission_bit(&c[1]) {
                            let w = c.get(0).expect("m");
                            push(
                                l.end() + w.start(),
                                l.end() + w.end(),
                                b,
                                w.as_str().to_owned(),
                            );
                        }
                    }
                }
                for f in PY_PERMS_CTOR.captures_iter(a) {
                    let inner = f.get(1).expect("g");
                    if let Some(bits) = int_expr(inner.as_str()) {
                        push(
                            inner.start(),
                            inner.end(),
                            bits,
                            format!("Permissions({})", inner.as_str().trim()),
                        );
                        continue;
                    }
                    for k in PY_KWARG_TRUE.captures_iter(inner.as_str()) {
                        if let Some(b) = permission_bit(&k[1]) {
                            let m = k.get(0).expect("m");
                            push(
                                inner.start() + m.start(),
                                inner.start() + m.end(),
                                b,
                                k[0].to_owned(),
                            );
                        }
                    }
                }
            }
        }
        crate::input::Kind::Source => {}
        crate::input::Kind::EnvFile => {
            for c in ENV_PERMISSIONS.captures_iter(t) {
                let v = c.get(1).expect("group");
                if let Ok(n) = v.as_str().parse::<u64>() {
                    out.push(Request {
                        span: Span::new(v.start(), v.end()),
                        bits: n,
                        what: format!("permissions {n}"),
                    });
                }
            }
        }
        _ => tree_requests(
            &doc.root,
            &mut out,
            0,
            &|k| names_key(k, "permissions"),
            &|n| match &n.value {
                Value::Number(s) => s.parse::<u64>().ok(),
                Value::String(s) => s.parse::<u64>().ok(),
                _ => None,
            },
        ),
    }
    out
}

/// Whether `key` is `word` or ends with `_word`, ignoring ASCII case, without allocating (it is
/// asked of every key of every document).
fn names_key(key: &str, word: &str) -> bool {
    let (k, w) = (key.as_bytes(), word.as_bytes());
    k.len() >= w.len()
        && k[k.len() - w.len()..].eq_ignore_ascii_case(w)
        && (k.len() == w.len() || k[k.len() - w.len() - 1] == b'_')
}

fn tree_requests(
    n: &Node,
    out: &mut Vec<Request>,
    depth: usize,
    key_ok: &dyn Fn(&str) -> bool,
    bits: &dyn Fn(&Node) -> Option<u64>,
) {
    if depth > 32 {
        return;
    }
    match &n.value {
        Value::Object(members) => {
            for m in members {
                if key_ok(&m.key) {
                    if let Some(b) = bits(&m.value) {
                        out.push(Request {
                            span: m.value.span,
                            bits: b,
                            what: format!(
                                "{} {}",
                                m.key,
                                m.value
                                    .scalar_text()
                                    .unwrap_or_else(|| intent_names(b).join(", "))
                            ),
                        });
                        continue;
                    }
                }
                tree_requests(&m.value, out, depth + 1, key_ok, bits);
            }
        }
        Value::Array(items) => {
            for i in items {
                tree_requests(i, out, depth + 1, key_ok, bits);
            }
        }
        _ => {}
    }
}

/// Each intent `re` names (its group 1) inside `args`, as a request at its place in the text.
fn push_named(re: &Regex, args: regex::Match<'_>, out: &mut Vec<Request>) {
    for k in re.captures_iter(args.as_str()) {
        if let Some(b) = intent_bit(&k[1]) {
            let m = k.get(0).expect("match");
            let start = args.start() + m.start();
            out.push(Request {
                span: Span::new(start, start + m.len()),
                bits: b,
                what: m.as_str().to_owned(),
            });
        }
    }
}
