"""/follow and the user-installable app through the real discord.py client and the emulator: what a
member sees in their private answers and their DMs, in a server, in a DM with the bot, and through
their own install of the app in a server the bot is not in."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from asyncio.subprocess import Process
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.alerts.queue import Priority
from bot.app.client import NewsBot
from bot.db import Database, open_database
from bot.demo.harness import running_bot
from bot.emulator import Emulator
from bot.emulator.models import Message
from bot.follows.rules import INSTANT_CAP
from bot.ops.metrics import DM_KINDS
from bot.settings import Settings
from tests.db.conftest import rows_naming, table_rows
from tests.e2e.conftest import World, button, embed_text

pytestmark = pytest.mark.e2e

SECRET = "quokkatron"
ROOT = Path(__file__).resolve().parents[2]


def fresh_article(
    n: int,
    *,
    title: str,
    topic: str = "Orbital Gardening",
    age: timedelta = timedelta(minutes=5),
    at: datetime | None = None,
) -> str:
    published = (at or datetime.now(UTC) - age).strftime("%Y-%m-%dT%H:%M:%SZ")
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
    metric = follows_bot.metrics.registry.get_sample_value
    assert metric("newsbot_follow_dms_total", {"kind": "instant", "outcome": "refused"}) == 1
    assert sum(metric("newsbot_follow_dms_total", {"kind": kind, "outcome": "sent"}) or 0 for kind in DM_KINDS) == 1


async def test_the_paused_notice_comes_once_with_the_next_command_whichever_it_is(
    world: World, follows_bot: NewsBot, content_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await follow(world, "add", {"topic": "Orbital Gardening", "timezone": "UTC"})

    async def refused(n: int) -> None:
        world.emulator.close_dms(world.alice)
        drop_file(content_dir, n, title=f"Sprouts {n}")
        await follows_bot.reindex()
        await tick(follows_bot)

    async def news(user: Any) -> tuple[Message, list[Message]]:
        result = await world.emulator.send_slash_command(world.guild, world.channel, user, "news", subcommand="latest")
        answer = await result.original_message()
        await asyncio.sleep(0.3)  # a follow-up would be sent right after the answer
        return answer, list(result.followup_messages)

    await refused(1)
    answer, extra = await news(world.bob)
    assert "paused" not in embed_text(answer) and extra == [], "other members are told nothing"
    # A private answer says it first, in the same message.
    answer, extra = await news(world.alice)
    text = embed_text(answer)
    assert answer.ephemeral and extra == []
    assert text.index("Your follows are paused") < text.index("Latest news") and "/follow resume" in text
    answer, extra = await news(world.alice)
    assert "paused" not in embed_text(answer) and extra == [], "said once"
    assert "Your follows are paused" not in embed_text(await follow(world, "list"))

    # Under a public answer (a server that chose them) it comes as a private follow-up of its own.
    world.emulator.open_dms(world.alice)
    await follow(world, "resume")
    await refused(2)

    async def public(guild_id: int | None) -> bool:
        return True

    monkeypatch.setattr(follows_bot, "public_results", public)
    answer, extra = await news(world.alice)
    assert not answer.ephemeral and "paused" not in embed_text(answer)
    (notice,) = extra
    assert notice.ephemeral and "Your follows are paused" in embed_text(notice), "only the member sees it"


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


# --- clock-driven: personal digests across a DST change, quiet hours, the hourly cap -------------------

PARIS = "Europe/Paris"
#: Europe's clocks go forward on 2024-03-31 at 02:00 (CET, UTC+1 -> CEST, UTC+2).
FOLLOWED_AT = datetime(2024, 3, 29, 12, 0, tzinfo=UTC)


def dm_texts(world: World) -> list[str]:
    return [embed_text(m) for m in world.emulator.dm_messages(world.alice)]


async def test_a_daily_digest_comes_at_the_members_local_time_across_a_dst_change(
    world: World, follows_bot: NewsBot, content_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(type(cog(follows_bot)), "_now", staticmethod(lambda: FOLLOWED_AT))
    done = await follow(world, "add", {"topic": "Orbital Gardening", "delivery": "daily", "timezone": PARIS})
    assert "First digest" in embed_text(done)
    drop_file(content_dir, 1, title="Friday night tomatoes", at=datetime(2024, 3, 29, 20, tzinfo=UTC))
    drop_file(content_dir, 2, title="Saturday night basil", at=datetime(2024, 3, 30, 20, tzinfo=UTC))
    await follows_bot.reindex()
    engine = cog(follows_bot).engine

    async def at(moment: datetime) -> list[str]:
        await engine.tick(moment)
        return dm_texts(world)

    # Saturday 08:00 in Paris is 07:00 UTC (winter time) ...
    assert await at(datetime(2024, 3, 30, 6, 59, tzinfo=UTC)) == []
    first = await at(datetime(2024, 3, 30, 7, 0, tzinfo=UTC))
    assert len(first) == 1 and "Friday night tomatoes" in first[0] and "Saturday night basil" not in first[0]
    # ... and Sunday 08:00 is 06:00 UTC (summer time): not an hour late, not twice.
    assert len(await at(datetime(2024, 3, 31, 5, 59, tzinfo=UTC))) == 1
    second = await at(datetime(2024, 3, 31, 6, 0, tzinfo=UTC))
    assert len(second) == 2 and "Saturday night basil" in second[1] and "Friday night tomatoes" not in second[1]
    assert len(await at(datetime(2024, 3, 31, 7, 0, tzinfo=UTC))) == 2
    assert engine.next_digest() == datetime(2024, 4, 1, 6, 0, tzinfo=UTC)
    digests = {"kind": "digest", "outcome": "sent"}
    assert follows_bot.metrics.registry.get_sample_value("newsbot_follow_dms_total", digests) == 2
    world.emulator.assert_no_violations()


def clock_at(moment: datetime) -> str:
    return f"{moment:%H:%M}"


async def test_quiet_hours_hold_instant_articles_for_one_message_when_they_end(
    world: World, follows_bot: NewsBot, content_dir: Path
) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    end = now + timedelta(hours=1)
    await follow(world, "add", {"topic": "Orbital Gardening", "timezone": "UTC"})
    await follow(world, "quiet", {"start": clock_at(now - timedelta(hours=1)), "end": clock_at(end)})
    drop_file(content_dir, 1, title="Sprouts at night")
    drop_file(content_dir, 2, title="Moonlit lettuce")
    await follows_bot.reindex()
    engine = cog(follows_bot).engine
    await engine.tick(now)
    await engine.tick(now + timedelta(minutes=30))
    assert dm_texts(world) == [], "nothing during quiet hours"
    await engine.tick(end + timedelta(minutes=1))
    await engine.tick(end + timedelta(minutes=2))
    (held,) = dm_texts(world)
    assert "Sprouts at night" in held and "Moonlit lettuce" in held, "both in one message when they end"
    world.emulator.assert_no_violations()


async def test_past_the_hourly_cap_the_rest_come_as_one_roundup(
    world: World, follows_bot: NewsBot, content_dir: Path
) -> None:
    await follow(world, "add", {"topic": "Orbital Gardening", "timezone": "UTC"})
    titles = [f"Harvest report {n:02d}" for n in range(1, 13)]
    for n, title in enumerate(titles, start=1):
        drop_file(content_dir, n, title=title)
    await follows_bot.reindex()
    now = datetime.now(UTC)
    engine = cog(follows_bot).engine
    await engine.tick(now)
    await engine.tick(now + timedelta(minutes=30))
    assert len(dm_texts(world)) == INSTANT_CAP
    await engine.tick(now + timedelta(minutes=61))
    await engine.tick(now + timedelta(minutes=62))
    texts = dm_texts(world)
    assert len(texts) == INSTANT_CAP + 1, "then one roundup, not one DM each"
    roundup = texts[-1]
    assert "hourly limit" in roundup
    assert all(any(title in text for text in texts) for title in titles), "every article somewhere"
    assert sum(title in roundup for title in titles) == len(titles) - INSTANT_CAP
    metric = follows_bot.metrics.registry.get_sample_value
    assert metric("newsbot_follow_dms_total", {"kind": "instant", "outcome": "sent"}) == INSTANT_CAP
    assert metric("newsbot_follow_dms_total", {"kind": "roundup", "outcome": "sent"}) == 1
    world.emulator.assert_no_violations()


# --- kill -9 around a DM send, the bot in its own process ------------------------------------------


@asynccontextmanager
async def bot_process(emulator: Emulator, settings: Settings, log_path: Path) -> AsyncIterator[Process]:
    """``python -m bot run`` against the emulator; stopped with SIGTERM at the end unless already dead."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "DISCORD_"))}
    env.update(
        DISCORD_TOKEN=emulator.token,
        DISCORD_API_BASE=emulator.api_base,
        DISCORD_GATEWAY_URL=emulator.gateway_url,
        NEWSBOT_CONTENT_DIR=str(settings.content_dir),
        NEWSBOT_DATABASE_URL=settings.database_url,
        NEWSBOT_SCAN_INTERVAL="0.5",
    )
    before = {id(s) for s in emulator.sessions}
    with log_path.open("ab") as log_file:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=ROOT, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=log_file
        )
    try:
        await emulator.wait_until(
            lambda: any(s.connected and id(s) not in before for s in emulator.sessions),
            timeout=60,
            what="the bot process to connect",
        )
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), timeout=20)
            except TimeoutError:
                process.kill()
                await process.wait()


@pytest.mark.parametrize("applied", [False, True], ids=["killed-before-discord-got-it", "killed-before-the-answer"])
async def test_kill_9_around_a_dm_send_then_a_restart_sends_it_exactly_once(
    world: World, settings: Settings, content_dir: Path, tmp_path: Path, applied: bool
) -> None:
    emulator = world.emulator
    log_path = tmp_path / "bot.log"
    async with bot_process(emulator, settings, log_path) as first:
        result = await emulator.send_slash_command(
            world.guild,
            world.channel,
            world.alice,
            "follow",
            {"topic": "Orbital Gardening", "timezone": "UTC"},
            subcommand="add",
        )
        assert "Following" in embed_text(await result.original_message(timeout=10))
        # The DM's message request is held unanswered; the process is killed while it waits.
        stall = emulator.stall("POST", "/channels/", applied=applied)
        drop_file(content_dir, 1, title="Sprouts everywhere")
        await stall.reached(timeout=30)
        first.kill()
        assert await first.wait() == -signal.SIGKILL
        stall.release()
    assert len(emulator.dm_messages(world.alice)) == (1 if applied else 0)
    async with bot_process(emulator, settings, log_path) as second, await Database.open(settings.database_path) as db:
        for _ in range(300):  # the restarted process reconciles the pending DM: finds it, or sends it
            if emulator.dm_messages(world.alice) and not await db.follows.pending():
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the pending DM was not settled after the restart")
        await asyncio.sleep(1.5)  # room for a second copy to show up, were there one
    assert second.returncode == 0, log_path.read_text(encoding="utf-8")[-3000:]
    (dm,) = emulator.dm_messages(world.alice)
    assert "Sprouts everywhere" in embed_text(dm)
    logged = log_path.read_text(encoding="utf-8")
    assert ("was sent before a restart" in logged) is applied, "found again, not sent twice"
    emulator.assert_no_violations()


async def test_dms_wait_in_the_bots_one_queue_behind_channel_alerts(follows_bot: NewsBot) -> None:
    alerts = follows_bot.get_cog("AlertCog")
    assert alerts is not None
    assert alerts.service.outbox.queue is follows_bot.post_queue  # type: ignore[attr-defined]
    pacer = cog(follows_bot).service.pacer
    assert pacer.queue is follows_bot.post_queue and pacer.priority > Priority.ALERT
