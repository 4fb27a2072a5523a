//! `discord-privileged-intent`: a privileged gateway intent the bot does not declare.
//!
//! ## What it finds
//! `message_content`, `guild_members` or `guild_presences` requested in code (discord.py,
//! discord.js, raw integers) or configuration, when `[lint.discord] intents` (default
//! `guilds`, `guild_voice_states`) does not list it.
//!
//! ## Why it matters
//! Privileged intents stream every message and member of every guild to the bot; a voice bot
//! needs none of that, and a leaked token then leaks all of it.

use super::{fx, Check, Cx, Emit, Family, Rule};
use crate::discord::{intent_names, PRIVILEGED};
use vigil_report::Severity;

pub(crate) static RULE: Rule = Rule {
    id: "discord-privileged-intent",
    family: Family::Discord,
    severity: Severity::Error,
    summary: "The bot requests a privileged intent (message_content, guild_members, guild_presences) it does not declare",
    fix: "Request only the intents in [lint.discord] intents (default guilds, guild_voice_states), or declare the intent there if the bot truly needs it",
    check: Check::File(check),
    examples: &[
        fx("bot/main.py", "import discord\nintents = discord.Intents.none()\nintents.guilds = True\n«intents.message_content = True\nbot = discord.Client(intents=intents)\n"),
        fx("bot/index.js", "const { Client, GatewayIntentBits } = require('discord.js');\nconst client = new Client({ intents: [GatewayIntentBits.Guilds, «GatewayIntentBits.GuildMembers] });\n"),
        fx("bot/run.py", "import discord\nclient = discord.Client(intents=discord.«Intents.all())\n"),
        fx("bot/run2.py", "import discord\nclient = discord.Client(intents=discord.Intents(«value=1 << 15 | 1))\n"),
        // Strings, aliases, every flag at once (black-box tester, session 12: F6).
        fx("bot/a.js", "const { Client } = require('discord.js');\nconst client = new Client({ intents: [\"Guilds\", «\"MessageContent\", «'GuildMembers'] });\n"),
        fx("bot/b.js", "const { Client, GatewayIntentBits: G } = require('discord.js');\nconst client = new Client({ intents: [G.Guilds, «G.MessageContent] });\n"),
        fx("bot/c.js", "import { Client, GatewayIntentBits } from 'discord.js';\nconst client = new Client({ intents: «Object.values(GatewayIntentBits) });\n"),
        fx("bot/d.py", "from discord import Intents as I\nimport discord\nclient = discord.Client(intents=«I.all())\n"),
        fx("bot/e.ts", "import { Client, GatewayIntentBits as Bits } from 'discord.js';\nconst client = new Client({ intents: [Bits.Guilds, «Bits.GuildPresences] });\n"),
        // Raw integers and Python's indirect forms (black-box tester, session 12 round 5:
        // F11).
        fx("bot/f.js", "const { Client } = require('discord.js');\nconst client = new Client({ intents: «1 << 15 | 1 });\n"),
        fx("bot/g.py", "import discord\nintents = discord.Intents.none()\nintents.value |= «1 << 15\nsetattr(intents, \"guilds\", True)\n«setattr(intents, \"message_content\", True)\nb = discord.Intents(**{«\"members\": True})\nc = discord.Intents._from_value(«33281)\n"),
        // A shift among the flags, and inside a constructor that is more than a number
        // (black-box tester, session 15 round 11: F5).
        fx("bot/h.js", "const { Client, GatewayIntentBits } = require('discord.js');\nconst client = new Client({ intents: [GatewayIntentBits.Guilds, «1 << 15] });\n"),
        fx("bot/i.py", "import discord\nclient = discord.Client(intents=discord.Intents(discord.Intents.none().value | («1 << 15)))\n"),
        // Another variable's name, a power of two (black-box tester, session 15 round 12: F5).
        fx("bot/j.py", "import discord\nmy_intents = discord.Intents.none()\n«my_intents.message_content = True\nbotIntents = discord.Intents.none()\n«botIntents.presences = True\n"),
        fx("bot/k.js", "const { Client, GatewayIntentBits } = require('discord.js');\nconst client = new Client({ intents: [GatewayIntentBits.Guilds, «2 ** 15] });\n"),
    ],
    counterexamples: &[
        fx("bot/main.py", "import discord\nintents = discord.Intents.none()\nintents.guilds = True\nintents.voice_states = True\nbot = discord.Client(intents=intents)\n"),
        fx("bot/index.js", "const { Client, GatewayIntentBits } = require('discord.js');\nconst client = new Client({ intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildVoiceStates] });\n"),
        fx("bot/a.js", "const { Client, GatewayIntentBits: G } = require('discord.js');\nconst client = new Client({ intents: [\"Guilds\", G.GuildVoiceStates] });\nconsole.log('MessageContent');\n"),
        fx("bot/d.py", "from discord import Intents as I\nimport discord\nclient = discord.Client(intents=I.default())\n"),
    ],
};

fn check(cx: &Cx<'_>, out: &mut Emit<'_>) {
    for r in cx.intents() {
        let extra = r.bits & PRIVILEGED & !cx.settings.intents;
        if extra != 0 {
            out.at(
                r.span,
                "",
                format!(
                    "`{}` requests privileged intent(s) {} that the bot does not declare",
                    r.what,
                    intent_names(extra).join(", ")
                ),
            );
        }
    }
}
