import discord

intents = discord.Intents.none()
intents.guilds = True
intents.message_content = True ⟦discord-privileged-intent⟧
bot = discord.Client(intents=intents)
INVITE = "https://discord.com/oauth2/authorize?client_id=123456789012345678&permissions=8&scope=bot" ⟦discord-dangerous-permissions⟧
