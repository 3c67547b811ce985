"""Every extension loads, and every command shows a real description in Discord's UI."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import discord
from discord import app_commands

from bot.app.client import NewsBot, discover_extensions
from bot.settings import Settings
from bot.store.limits import QUALITY


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


async def _commands(tmp_path: Path) -> tuple[NewsBot, list[app_commands.Command[Any, ..., Any]]]:
    bot = NewsBot(Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}"))
    for name in discover_extensions():
        await bot.load_extension(name)
    return bot, [c for c in bot.tree.walk_commands() if isinstance(c, app_commands.Command)]


async def test_every_command_takes_its_description_from_its_docstring(tmp_path: Path) -> None:
    # As in discord.py's examples: the text members see is the docstring's first paragraph, so the
    # function says what it does once, where a reader of the code looks.
    bot, commands = await _commands(tmp_path)
    for command in commands:
        doc = inspect.getdoc(command.callback)
        assert doc, f"/{command.qualified_name} has no docstring"
        first = " ".join(doc.split("\n\n")[0].split())
        assert len(first) <= 100, f"/{command.qualified_name}: the first paragraph is longer than Discord allows"
        assert command.description == first, f"/{command.qualified_name} has a description of its own"
    await bot.close()


async def test_every_quality_option_takes_the_stores_range(tmp_path: Path) -> None:
    bot, commands = await _commands(tmp_path)
    options = [(c, p) for c in commands for p in c.parameters if p.name == "min_quality"]
    assert len(options) >= 2, "/digest add and /admin config"
    for command, option in options:
        assert (option.min_value, option.max_value) == (QUALITY.low, QUALITY.high), command.qualified_name
        assert str(QUALITY) in option.description, command.qualified_name
    await bot.close()
