"""End-to-end fixtures: the unmodified discord.py client (the real bot) against the local Discord
emulator over loopback, with a real SQLite file and the bundled content."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.app.client import NewsBot
from bot.demo.harness import running_bot
from bot.emulator import Emulator, Perm
from bot.emulator.models import Channel, Guild, Member, Message, Role
from bot.settings import Settings
from tests import postgres
from tests.postgres import postgres_url  # noqa: F401  (the session fixture, for NEWSBOT_E2E_DATABASE)

ROOT = Path(__file__).resolve().parents[2]
CONTENT = ROOT / "content"


@dataclass
class World:
    emulator: Emulator
    guild: Guild
    channel: Channel
    alice: Member
    bob: Member
    moderator: Member


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator() as emu:
        yield emu


@pytest.fixture
def world(emulator: Emulator) -> World:
    guild = emulator.add_guild("Newsroom")
    channel = emulator.add_text_channel(guild, "news")
    return World(
        emulator=emulator,
        guild=guild,
        channel=channel,
        alice=emulator.add_member(guild, "alice"),
        bob=emulator.add_member(guild, "bob"),
        moderator=emulator.add_member(guild, "mod", permissions=Perm.MANAGE_GUILD),
    )


@dataclass
class AlertChannels:
    """Where live alerts post in the test guild: an announcement channel, a forum with tags, a role to ping."""

    announcements: Channel
    forum: Channel
    role: Role


@pytest.fixture
def alert_channels(world: World) -> AlertChannels:
    emulator = world.emulator
    return AlertChannels(
        announcements=emulator.add_announcement_channel(world.guild, "announcements"),
        forum=emulator.add_forum_channel(world.guild, "articles", tags=["Science", "Politics", "Sport", "Health"]),
        role=emulator.add_role(world.guild, "news-alerts", mentionable=True),
    )


@pytest.fixture
def content_dir(tmp_path: Path) -> Path:
    """A private copy of the bundled content, so tests may add or break files."""
    target = tmp_path / "content"
    shutil.copytree(CONTENT, target)
    return target


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path, content_dir: Path) -> Settings:
    # NEWSBOT_E2E_DATABASE=postgresql runs the bot on the test PostgreSQL database instead.
    if os.environ.get("NEWSBOT_E2E_DATABASE", "sqlite") == "postgresql":
        url: str = request.getfixturevalue("postgres_url")
        asyncio.run(postgres.truncate_all(url))
        return Settings(content_dir=content_dir, database_url=url)
    return Settings(content_dir=content_dir, database_url=f"sqlite:///{tmp_path / 'newsbot.sqlite3'}")


@pytest.fixture
async def bot(world: World, settings: Settings) -> AsyncIterator[NewsBot]:
    async with running_bot(world.emulator, settings) as running:
        yield running
    # Every request the bot made during the test must be one Discord would accept.
    world.emulator.assert_no_violations()


def components(message: Message) -> list[dict[str, Any]]:
    return [item for row in message.components for item in row.get("components", [])]


def button(message: Message, label: str) -> dict[str, Any]:
    for item in components(message):
        if item.get("type") == 2 and item.get("label") == label:
            return item
    raise AssertionError(f"no button {label!r} on the message; have {[c.get('label') for c in components(message)]}")


def select(message: Message) -> dict[str, Any]:
    for item in components(message):
        if item.get("type") == 3:
            return item
    raise AssertionError("no select menu on the message")


def embed_text(message: Message | dict[str, Any]) -> str:
    embeds = message.embeds if isinstance(message, Message) else message.get("embeds", [])
    parts: list[str] = []
    for embed in embeds:
        parts += [embed.get("title", ""), embed.get("description", "")]
        parts += [(embed.get("author") or {}).get("name", ""), (embed.get("footer") or {}).get("text", "")]
        for field in embed.get("fields", []):
            parts += [field["name"], field["value"]]
    return "\n".join(parts)
