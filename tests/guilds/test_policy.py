"""Per-server policy over the deployment's defaults, its cache, and the auditor's failure handling,
against a real SQLite file."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.db import Database
from bot.db.guild_types import GuildSettings, HiddenArticle
from bot.db.sqlite_guilds import SqliteGuildRepository
from bot.db.types import Visibility
from bot.guilds.audit import Auditor
from bot.guilds.policy import Policy
from bot.settings import Settings

GUILD, OTHER, MOD = 1, 2, 99


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    async with await Database.open(tmp_path / "news.sqlite3") as database:
        yield database


async def test_servers_without_settings_follow_the_deployment(db: Database) -> None:
    policy = Policy(db.guilds, Settings(include_unpublished=True, public_results=True))
    assert await policy.visibility(GUILD) == Visibility(include_unpublished=True)
    assert await policy.visibility(None) == Visibility(include_unpublished=True), "DMs get the default too"
    assert await policy.public_results(GUILD) is True
    strict = Policy(db.guilds, Settings())
    assert await strict.visibility(GUILD) == Visibility(include_unpublished=False, min_quality=0)
    assert await strict.public_results(GUILD) is False


async def test_a_servers_choices_override_the_defaults_for_that_server_only(db: Database) -> None:
    policy = Policy(db.guilds, Settings(include_unpublished=True, public_results=True))
    await policy.update(
        GUILD,
        MOD,
        min_quality=50,
        include_unpublished=False,
        public_results=False,
        blocked_providers=("Spam.Example.NET",),
        blocked_topics=("  Space   Travel ", "AI"),
    )
    await policy.hide(GUILD, HiddenArticle("a1", "One", None, MOD))
    vis = await policy.visibility(GUILD)
    assert vis == Visibility(
        include_unpublished=False,
        min_quality=50,
        hidden_ids=frozenset({"a1"}),
        blocked_domains=frozenset({"spam.example.net"}),
        blocked_topics=frozenset({"space travel", "ai"}),
    )
    assert await policy.public_results(GUILD) is False
    assert await policy.visibility(OTHER) == Visibility(include_unpublished=True)
    assert await policy.public_results(OTHER) is True


async def test_changes_through_the_policy_apply_at_once(db: Database) -> None:
    policy = Policy(db.guilds, Settings())
    assert (await policy.visibility(GUILD)).hidden_ids == frozenset()  # cached now
    await policy.hide(GUILD, HiddenArticle("a1", "One", None, MOD))
    assert (await policy.visibility(GUILD)).hidden_ids == {"a1"}
    await policy.update(GUILD, MOD, min_quality=7)
    assert (await policy.visibility(GUILD)).min_quality == 7
    await policy.unhide(GUILD, "a1")
    assert (await policy.visibility(GUILD)).hidden_ids == frozenset()
    await policy.replace(GuildSettings(GUILD, public_results=True), [HiddenArticle("b", "B")], user_id=MOD)
    assert await policy.public_results(GUILD) is True
    assert (await policy.visibility(GUILD)) == Visibility(hidden_ids=frozenset({"b"}))


async def test_the_cache_is_what_serves_lookups_until_invalidated(db: Database) -> None:
    policy = Policy(db.guilds, Settings())
    assert (await policy.visibility(GUILD)).min_quality == 0
    # Written behind the policy's back (as a restored database file would be): not seen yet.
    await db.guilds.save_settings(GuildSettings(GUILD, min_quality=80), user_id=MOD)
    assert (await policy.visibility(GUILD)).min_quality == 0
    policy.invalidate()
    assert (await policy.visibility(GUILD)).min_quality == 80


async def test_the_cache_is_bounded(db: Database) -> None:
    policy = Policy(db.guilds, Settings(), cache_size=2)
    for guild in (1, 2, 3):
        await policy.visibility(guild)
    await db.guilds.save_settings(GuildSettings(1, min_quality=30), user_id=MOD)
    assert (await policy.visibility(1)).min_quality == 30, "the least recently used server was dropped"


class SlowSettings(SqliteGuildRepository):
    """The real repository, with a pause inside ``settings`` so a change can happen mid-read."""

    def __init__(self, db: Database) -> None:
        super().__init__(db.path, db._light)
        self.reading = asyncio.Event()
        self.proceed = asyncio.Event()
        self.slow = True

    async def settings(self, guild_id: int) -> GuildSettings:
        found = await super().settings(guild_id)
        if self.slow:
            self.slow = False
            self.reading.set()
            await self.proceed.wait()
        return found


async def test_a_read_overtaken_by_a_change_does_not_cache_stale_settings(db: Database) -> None:
    repo = SlowSettings(db)
    policy = Policy(repo, Settings())
    reader = asyncio.create_task(policy.visibility(GUILD))
    await repo.reading.wait()
    await policy.update(GUILD, MOD, min_quality=60)
    repo.proceed.set()
    assert (await reader).min_quality == 0, "the read began before the change"
    assert (await policy.visibility(GUILD)).min_quality == 60, "and its stale result was not cached"


class NoChannels:
    """A client that knows no channels: announcements find nothing to post in."""

    def get_channel(self, channel_id: int) -> Any:
        return None


async def test_auditor_stores_and_survives_a_gone_log_channel(db: Database, caplog: pytest.LogCaptureFixture) -> None:
    async def log_channel(guild_id: int) -> int | None:
        return 12345

    auditor = Auditor(db.audit, NoChannels(), log_channel)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="bot.guilds.audit"):
        entry = await auditor.record(GUILD, MOD, "hide", {"article": "a1"})
        await auditor.wait_announced()
    assert entry is not None and [e.id for e in await db.audit.latest(GUILD)] == [entry.id]
    assert "log channel 12345 of guild 1 is gone" in caplog.text


async def test_auditor_never_fails_its_caller(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = await Database.open(tmp_path / "news.sqlite3")
    await db.close()  # every write fails now

    async def log_channel(guild_id: int) -> int | None:
        return None

    auditor = Auditor(db.audit, NoChannels(), log_channel)  # type: ignore[arg-type]
    with caplog.at_level(logging.ERROR, logger="bot.guilds.audit"):
        assert await auditor.record(GUILD, MOD, "config", {"min_quality": 1}) is None
    assert "could not store audit entry config for guild 1" in caplog.text
