"""/follow and the user-installable app through the real discord.py client and the emulator: what a
member sees in their private answers and their DMs, in a server, in a DM with the bot, and through
their own install of the app in a server the bot is not in."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app.client import NewsBot
from bot.db import open_database
from bot.demo.harness import running_bot
from bot.emulator.models import Message
from bot.settings import Settings
from tests.db.conftest import rows_naming, table_rows
from tests.e2e.conftest import World, button, embed_text

pytestmark = pytest.mark.e2e

SECRET = "quokkatron"


def fresh_article(
    n: int, *, title: str, topic: str = "Orbital Gardening", age: timedelta = timedelta(minutes=5)
) -> str:
    published = (datetime.now(UTC) - age).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"""---
category: news
title: "{title}"
excerpt: "Report {n} from the station greenhouse."
publishedDateTime: {published}
webUrl: "https://garden.example/report-{n}"
type: article
quality: 50
heat: {n}
published: true
provider:
  name: Garden Site
  domain: garden.example
topics:
  - {topic}
---
"""


def drop_file(content_dir: Path, n: int, **fields: Any) -> None:
    folder = content_dir / "_news" / "follows"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"follow-{n}.md").write_text(fresh_article(n, **fields), encoding="utf-8")


def cog(bot: NewsBot) -> Any:
    found = bot.get_cog("FollowCog")
    assert found is not None
    return found


async def follow(world: World, sub: str, options: dict[str, Any] | None = None, *, user: Any = None) -> Message:
    result = await world.emulator.send_slash_command(
        world.guild, world.channel, user or world.alice, "follow", options, subcommand=sub
    )
    message = await result.original_message()
    assert result.elapsed is not None and result.elapsed < 3
    assert message.ephemeral, "follow answers are private"
    return message


async def tick(bot: NewsBot) -> None:
    """One round of the follows loop, now (the background loop is stopped in these tests)."""
    await cog(bot).engine.tick(datetime.now(UTC))


@pytest.fixture(autouse=True)
def garden_topic(content_dir: Path) -> None:
    """An older article, so the topic exists before anyone follows it."""
    drop_file(content_dir, 0, title="Greenhouse opens", age=timedelta(days=5))


@pytest.fixture
async def follows_bot(world: World, settings: Settings) -> AsyncIterator[NewsBot]:
    async with running_bot(world.emulator, settings) as running:
        await cog(running).stop_loop()
        yield running
    world.emulator.assert_no_violations()


async def test_commands_are_user_installable_and_admin_stays_in_servers(world: World, follows_bot: NewsBot) -> None:
    registered = {c["name"]: c for c in world.emulator.registered_commands()}
    for name in ("news", "follow"):
        assert sorted(registered[name]["integration_types"]) == [0, 1]
        assert sorted(registered[name]["contexts"]) == [0, 1, 2]
    for name in ("admin", "digest"):
        assert registered[name]["integration_types"] == [0]
        assert registered[name]["contexts"] == [0]
    with pytest.raises(PermissionError):
        await world.emulator.send_dm_command(world.alice, "admin", subcommand="settings")


async def test_first_follow_asks_for_the_timezone_then_reuses_it(world: World, follows_bot: NewsBot) -> None:
    asked = await follow(world, "add", {"topic": "Orbital Gardening"})
    assert "timezone" in embed_text(asked).lower()
    choices = await (
        await world.emulator.send_autocomplete(
            world.guild,
            world.channel,
            world.alice,
            "follow",
            {"timezone": "paris"},
            focused="timezone",
            subcommand="add",
        )
    ).choices()
    assert choices[0]["value"] == "Europe/Paris"
    done = await follow(world, "add", {"topic": "Orbital Gardening", "timezone": "Europe/Paris"})
    assert "#" in embed_text(done) and "instantly" in embed_text(done)
    again = await follow(world, "add", {"keywords": "lettuce -cabbage", "delivery": "daily", "time": "07:30"})
    assert "Europe/Paris" in embed_text(again)
    listed = embed_text(await follow(world, "list"))
    assert "Orbital Gardening" in listed and "lettuce" in listed and "daily at 07:30" in listed
    assert "Europe/Paris" in listed
    # Nobody else sees them.
    assert "lettuce" not in embed_text(await follow(world, "list", user=world.bob))
    bad = await follow(world, "add", {"keywords": "| oops"})
    assert "can't be used" in embed_text(bad)


async def test_an_instant_follow_gets_a_new_files_article_once(
    world: World, follows_bot: NewsBot, content_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Everything of ours down to DEBUG, the libraries at INFO: at DEBUG discord.py echoes every gateway
    # payload and aiosqlite every statement's parameters, whatever they carry (deployments log at INFO).
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="bot")
    await follow(world, "add", {"keywords": SECRET, "timezone": "UTC"})
    drop_file(content_dir, 1, title=f"The {SECRET} has landed")
    drop_file(content_dir, 2, title="Nothing to see here")
    await follows_bot.reindex()
    await tick(follows_bot)
    await tick(follows_bot)
    await follows_bot.reindex()
    await tick(follows_bot)
    dms = world.emulator.dm_messages(world.alice)
    assert len(dms) == 1 and f"The {SECRET} has landed" in embed_text(dms[0])
    assert world.emulator.dm_messages(world.bob) == []
    leaks = [r.name + ": " + r.getMessage()[:300] for r in caplog.records if SECRET in r.getMessage()]
    assert leaks == [], "no keyword or title of a follow in the logs"


async def test_commands_work_in_a_dm_with_the_bot(world: World, follows_bot: NewsBot) -> None:
    result = await world.emulator.send_dm_command(world.alice, "news", subcommand="latest")
    message = await result.original_message()
    assert message.embeds and result.elapsed is not None and result.elapsed < 3
    added = await world.emulator.send_dm_command(
        world.alice, "follow", {"topic": "Orbital Gardening", "timezone": "Asia/Tokyo"}, subcommand="add"
    )
    assert "Following" in embed_text(await added.original_message())
    listed = await world.emulator.send_dm_command(world.alice, "follow", subcommand="list")
    assert "Asia/Tokyo" in embed_text(await listed.original_message())


async def test_a_user_install_works_where_the_bot_is_not(world: World, follows_bot: NewsBot) -> None:
    elsewhere = world.emulator.add_foreign_guild("Elsewhere")
    lounge = world.emulator.add_text_channel(elsewhere, "lounge")
    carol = world.emulator.add_member(elsewhere, "carol")
    with pytest.raises(PermissionError):
        await world.emulator.send_user_app_command(elsewhere, lounge, carol, "news", subcommand="latest")
    world.emulator.install_for_user(carol)
    result = await world.emulator.send_user_app_command(elsewhere, lounge, carol, "news", subcommand="latest")
    assert result.payload["authorizing_integration_owners"] == {"1": str(carol.id)}
    assert (await result.original_message()).embeds
    with pytest.raises(PermissionError):  # moderators' commands are not part of a user install
        await world.emulator.send_user_app_command(elsewhere, lounge, carol, "admin", subcommand="settings")
    added = await world.emulator.send_user_app_command(
        elsewhere, lounge, carol, "follow", {"topic": "Orbital Gardening", "timezone": "UTC"}, subcommand="add"
    )
    assert "Following" in embed_text(await added.original_message())


async def test_pause_resume_remove_and_quiet(world: World, follows_bot: NewsBot) -> None:
    await follow(world, "add", {"topic": "Orbital Gardening", "timezone": "UTC"})
    await follow(world, "add", {"keywords": "lettuce"})
    assert "Paused all" in embed_text(await follow(world, "pause"))
    assert "⏸ paused" in embed_text(await follow(world, "list"))
    assert "Resumed follow" in embed_text(await follow(world, "resume", {"follow": "1"}))
    assert "no follow" in embed_text(await follow(world, "remove", {"follow": "1"}, user=world.bob))
    assert "Removed follow **#1**" in embed_text(await follow(world, "remove", {"follow": "1"}))
    assert "22:00–07:00" in embed_text(await follow(world, "quiet", {"start": "22:00", "end": "7:00"}))
    assert "Quiet hours: 22:00" in embed_text(await follow(world, "list"))
    assert "off" in embed_text(await follow(world, "quiet"))


async def test_dms_closed_pause_then_reopened_resume(world: World, follows_bot: NewsBot, content_dir: Path) -> None:
    await follow(world, "add", {"topic": "Orbital Gardening", "timezone": "UTC"})
    world.emulator.close_dms(world.alice)
    drop_file(content_dir, 1, title="Sprouts everywhere")
    await follows_bot.reindex()
    await tick(follows_bot)
    assert world.emulator.dm_messages(world.alice) == []
    told = embed_text(await follow(world, "list"))
    assert "paused" in told and "refused" in told and "/follow resume" in told
    assert "Your follows are paused" not in embed_text(await follow(world, "list")), "the notice is said once"
    world.emulator.open_dms(world.alice)
    await follow(world, "resume")
    await tick(follows_bot)
    dms = world.emulator.dm_messages(world.alice)
    assert len(dms) == 1 and "Sprouts everywhere" in embed_text(dms[0])


async def test_a_member_who_left_every_server_is_paused_not_messaged(
    world: World, follows_bot: NewsBot, content_dir: Path
) -> None:
    await follow(world, "add", {"topic": "Orbital Gardening", "timezone": "UTC"})
    world.emulator.remove_member(world.guild, world.alice)
    drop_file(content_dir, 1, title="Sprouts everywhere")
    await follows_bot.reindex()
    await tick(follows_bot)
    assert world.emulator.dm_messages(world.alice) == []
    follows = await follows_bot.db.follows.active()
    assert follows == []


async def test_export_and_forget_leave_nothing(world: World, follows_bot: NewsBot, settings: Settings) -> None:
    await follow(world, "add", {"keywords": SECRET, "timezone": "UTC"})
    await follow(world, "quiet", {"start": "23:00", "end": "06:00"})
    result = await world.emulator.send_slash_command(
        world.guild, world.channel, world.alice, "follow", subcommand="export"
    )
    exported = await result.original_message()
    assert exported.ephemeral and exported.attachments
    data = json.loads(exported.files[exported.attachments[0]["filename"]])
    assert data["follows"][0]["keywords"] == SECRET and data["preferences"]["quiet_start_minute"] == 23 * 60

    asked = await follow(world, "forget")
    clicked = await world.emulator.click_button(asked, button(asked, "Delete everything")["custom_id"], world.alice)
    await clicked.response()
    async with await open_database(settings.database_url) as db:
        left = await rows_naming(db, world.alice.id)
        assert set(left) >= {"follow_members", "follows", "follow_items", "follow_deliveries"}, left
        assert set(left.values()) == {0}, left
        assert not any(SECRET in str(row) for row in await table_rows(db, "follows"))
    assert "nothing yet" in embed_text(await follow(world, "list"))


async def test_a_crash_around_a_dm_send_leaves_exactly_one_dm(
    world: World, settings: Settings, content_dir: Path
) -> None:
    async with running_bot(world.emulator, settings) as first:
        await cog(first).stop_loop()
        await follow(world, "add", {"topic": "Orbital Gardening", "timezone": "UTC"})
        drop_file(content_dir, 1, title="Sprouts everywhere")
        await first.reindex()
        service = cog(first).service
        original = service.repo.finish_delivery

        async def crash(*args: Any, **kwargs: Any) -> None:
            raise asyncio.CancelledError("killed between the send and recording it")

        service.repo.finish_delivery = crash  # type: ignore[method-assign]
        with pytest.raises(asyncio.CancelledError):
            await cog(first).engine.tick(datetime.now(UTC))
        service.repo.finish_delivery = original  # type: ignore[method-assign]
    assert len(world.emulator.dm_messages(world.alice)) == 1
    async with running_bot(world.emulator, settings) as again:
        await cog(again).stop_loop()
        await cog(again).engine.tick(datetime.now(UTC))
        assert await again.db.follows.pending() == []
    assert len(world.emulator.dm_messages(world.alice)) == 1
    world.emulator.assert_no_violations()
