"""Every extension loads, and every command shows a real description in Discord's UI."""

from __future__ import annotations

from pathlib import Path

import discord
from discord import app_commands

from bot.app.client import NewsBot, discover_extensions
from bot.settings import Settings


def test_private_helper_modules_are_not_extensions() -> None:
    names = discover_extensions()
    assert "bot.modules.news" in names
    assert all(not name.rsplit(".", 1)[1].startswith("_") for name in names)


async def test_every_command_and_option_has_a_real_description(tmp_path: Path) -> None:
    bot = NewsBot(Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}"))
    for name in discover_extensions():
        await bot.load_extension(name)
    commands = list(bot.tree.walk_commands())
    assert len(commands) >= 6
    for command in commands:
        if isinstance(command, app_commands.Command):
            assert 10 <= len(command.description) <= 100, command.qualified_name
            assert command.description != "…", f"{command.qualified_name} has no description"
            for parameter in command.parameters:
                assert 3 <= len(parameter.description) <= 100, f"{command.qualified_name} {parameter.name}"
                assert parameter.description != "…", f"{command.qualified_name} {parameter.name} has no description"
    menus = bot.tree.get_commands(type=discord.AppCommandType.message)
    assert [m.name for m in menus] == ["Related news"]
    await bot.close()
