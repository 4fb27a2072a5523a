import discord

intents = discord.Intents.none()
intents.guilds = True
intents.voice_states = True
bot = discord.Client(intents=intents)
INVITE = "https://discord.com/oauth2/authorize?client_id=123456789012345678&permissions=3148800&scope=bot%20applications.commands"
