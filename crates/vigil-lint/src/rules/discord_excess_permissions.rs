//! `discord-excess-permissions`: permissions beyond those the bot declares.
//!
//! ## What it finds
//! Bits of an invite's or configuration's permission integer that are neither dangerous (that
//! is `discord-dangerous-permissions`) nor listed in `[lint.discord] permissions` (default:
//! view channel, send messages, connect, speak, voice activity, application commands).
//!
//! ## Why it matters
//! Least privilege: each extra permission (mention everyone, manage messages, move members) is
//! one more thing a leaked token or a confused agent can do.

use super::{fx, Check, Cx, Emit, Family, Rule};
use crate::discord::{permission_names, DANGEROUS};
use vigil_report::Severity;

pub(crate) static RULE: Rule = Rule {
    id: "discord-excess-permissions",
    family: Family::Discord,
    severity: Severity::Warning,
    summary: "The bot asks for permissions beyond those it declares",
    fix: "Drop the extra bits from the invite, or declare them in [lint.discord] permissions",
    check: Check::File(check),
    examples: &[fx(".env.bot", "DISCORD_PERMISSIONS=«2150762496\n")],
    counterexamples: &[fx(".env.bot", "DISCORD_PERMISSIONS=3148800\n")],
};

fn check(cx: &Cx<'_>, out: &mut Emit<'_>) {
    for r in cx.permissions() {
        let extra = r.bits & !DANGEROUS & !cx.settings.permissions;
        if extra != 0 {
            out.at(
                r.span,
                "",
                format!(
                    "{} asks for {} beyond the declared permissions",
                    r.what,
                    permission_names(extra).join(", ")
                ),
            );
        }
    }
}
