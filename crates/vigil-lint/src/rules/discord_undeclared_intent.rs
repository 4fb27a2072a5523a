//! `discord-undeclared-intent`: a gateway intent beyond what the bot declares it needs.
//!
//! ## What it finds
//! Non-privileged intents (`guild_messages`, `direct_messages`, `guild_message_typing`…, and
//! everything `Intents.default()` turns on) requested but not listed in
//! `[lint.discord] intents`.
//!
//! ## Why it matters
//! Least privilege: every intent is more data the bot receives, stores and can leak.

use super::{fx, Check, Cx, Emit, Family, Rule};
use crate::discord::{intent_names, PRIVILEGED};
use vigil_report::Severity;

pub(crate) static RULE: Rule = Rule {
    id: "discord-undeclared-intent",
    family: Family::Discord,
    severity: Severity::Warning,
    summary: "The bot requests gateway intents beyond those it declares",
    fix: "Start from Intents.none() and add the declared intents, or declare the extra ones in [lint.discord] intents",
    check: Check::File(check),
    examples: &[
        fx("bot/main.py", "import discord\nbot = discord.Client(intents=discord.«Intents.default())\n"),
        fx(".env.bot", "DISCORD_INTENTS=«641\n"),
    ],
    counterexamples: &[fx(".env.bot", "DISCORD_INTENTS=129\n")],
};

fn check(cx: &Cx<'_>, out: &mut Emit<'_>) {
    for r in cx.intents() {
        let extra = r.bits & !PRIVILEGED & !cx.settings.intents;
        if extra != 0 {
            out.at(
                r.span,
                "",
                format!(
                    "`{}` requests intent(s) {} that the bot does not declare",
                    r.what,
                    intent_names(extra).join(", ")
                ),
            );
        }
    }
}
