//! `discord-dangerous-permissions`: an invite or configuration asking for guild-owning
//! permissions.
//!
//! ## What it finds
//! Administrator (`0x8`), Manage Guild, Manage Roles, Manage Webhooks, Manage Channels, Ban or
//! Kick Members in an invite URL's `permissions=`, an invite helper (`generateInvite`,
//! `oauth_url`) or a configured permission integer, unless `[lint.discord] permissions`
//! declares them.
//!
//! ## Why it matters
//! With these, a leaked bot token (or a prompt-injected agent) can take over or wipe every
//! guild the bot is in; the design asks for voice connect, send messages and slash commands.

use super::{fx, Check, Cx, Emit, Family, Rule};
use crate::discord::{permission_names, DANGEROUS};
use vigil_report::Severity;

pub(crate) static RULE: Rule = Rule {
    id: "discord-dangerous-permissions",
    family: Family::Discord,
    severity: Severity::Error,
    summary: "The bot asks for Administrator or other guild-owning permissions",
    fix: "Invite with only connect, speak, send messages and application commands (permissions=2150631424)",
    check: Check::File(check),
    examples: &[
        fx("bot/invite.py", "INVITE = 'https://discord.com/oauth2/authorize?client_id=123456789012345678&«permissions=8&scope=bot%20applications.commands'\n"),
        fx(".env.bot", "DISCORD_PERMISSIONS=«268435456\n"),
        fx("bot/invite.js", "const url = client.generateInvite({ scopes: ['bot'], permissions: [«PermissionFlagsBits.Administrator] });\n"),
        fx("bot/invite.py", "import discord\nperms = discord.Permissions(«268435456 | 8)\nurl = discord.utils.oauth_url(123, permissions=perms)\n"),
        fx("bot/invite2.py", "import discord\nurl = discord.utils.oauth_url(123, permissions=discord.Permissions(«value=0x8))\n"),
        // Permission names as strings (black-box tester, session 15 round 11: F5).
        fx("bot/invite2.js", "const url = client.generateInvite({ scopes: ['bot'], permissions: [«'Administrator', 'SendMessages'] });\n"),
    ],
    counterexamples: &[
        fx(".env.bot", "DISCORD_PERMISSIONS=2150631424\n"),
        fx("bot/check.js", "if (member.permissions.has(PermissionFlagsBits.Administrator)) { reply('hi admin'); }\n"),
    ],
};

fn check(cx: &Cx<'_>, out: &mut Emit<'_>) {
    for r in cx.permissions() {
        let bad = r.bits & DANGEROUS & !cx.settings.permissions;
        if bad != 0 {
            out.at(
                r.span,
                "",
                format!("{} asks for {}", r.what, permission_names(bad).join(", ")),
            );
        }
    }
}
