"""Point discord.py at another Discord: re-exported from ``bot.emulator.endpoints``, where it lives so that
the emulator imports nothing from the rest of ``bot/`` (the bot may import the emulator, never the reverse)."""

from bot.emulator.endpoints import (
    DiscordEndpoints,
    configure_discord,
    current_endpoints,
    discord_endpoints,
    restore_discord,
)

__all__ = ["DiscordEndpoints", "configure_discord", "current_endpoints", "discord_endpoints", "restore_discord"]
