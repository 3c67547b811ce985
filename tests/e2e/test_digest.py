"""/digest through the real discord.py client and the emulator: what a server admin and the channel see."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app.client import NewsBot
from bot.db import Database
from bot.demo.harness import running_bot
from bot.digests.schedule import nonce_for
from bot.digests.scheduler import SystemClock
from bot.digests.service import DigestService
from bot.emulator import Perm
from bot.emulator.models import Message
from bot.emulator.permissions import MEMBER_OVERWRITE, Overwrite
from bot.settings import Settings
from tests.e2e.conftest import World, embed_text

pytestmark = pytest.mark.e2e

TOPIC = "Orbital Gardening"
FRESH = 6  # articles published in the last day


def fresh_article(n: int, now: datetime) -> str:
    published = (now - timedelta(hours=2 + 3 * n)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"""---
category: news
title: "Orbital gardening report {n}: lettuce number {n} sprouts"
excerpt: "Report {n} from the station greenhouse."
publishedDateTime: {published}
webUrl: "https://garden{n % 3}.example/report-{n}"
type: article
quality: {40 + n}
heat: {n}
published: true
provider:
  name: Garden Site {n % 3}
  domain: garden{n % 3}.example
topics:
  - {TOPIC}
---
"""


@pytest.fixture
def fresh_news(content_dir: Path) -> list[str]:
    now = datetime.now(UTC)
    folder = content_dir / "_news" / "fresh"
    folder.mkdir(parents=True)
    titles = []
    for n in range(FRESH):
        (folder / f"orbital-{n}.md").write_text(fresh_article(n, now), encoding="utf-8")
        titles.append(f"lettuce number {n} sprouts")
    return titles


@pytest.fixture
async def digest_bot(world: World, settings: Settings, fresh_news: list[str]) -> AsyncIterator[NewsBot]:
    async with running_bot(world.emulator, settings) as running:
        yield running
    world.emulator.assert_no_violations()


async def digest(world: World, sub: str, options: dict[str, Any] | None = None, *, user: Any = None) -> Message:
    result = await world.emulator.send_slash_command(
        world.guild, world.channel, user or world.moderator, "digest", options, subcommand=sub
    )
    message = await result.original_message()
    assert result.elapsed is not None and result.elapsed < 3, "answered within Discord's 3 seconds"
    assert message.ephemeral, "digest answers are private"
    return message


async def add_digest(world: World, **options: Any) -> int:
    values: dict[str, Any] = {"channel": world.channel.id, "topic": TOPIC.lower(), "time": "09:00"}
    values.update(options)
    text = embed_text(await digest(world, "add", values))
    found = re.search(r"Digest \*\*#(\d+)\*\*", text)
    assert found, text
    return int(found[1])


async def scheduler_started(bot: NewsBot) -> None:
    """The digest loop has reconciled what was pending and read every digest."""
    # load_extension imports the cog module afresh, so look the scheduler up by attribute.
    scheduler = getattr(bot.get_cog("DigestCog"), "scheduler", None)
    assert scheduler is not None
    await asyncio.wait_for(scheduler.started.wait(), 10)


async def recorded(bot: NewsBot, digest_id: int) -> None:
    for _ in range(100):
        stored = await bot.db.digests.get(digest_id)
        if stored is not None and stored.last_result is not None:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"digest {digest_id}'s delivery was not recorded")


def digests_posted(world: World) -> list[Message]:
    return [m for m in world.emulator.channel_messages(world.channel) if m.embeds and "digest" in m.embeds[0]["title"]]


async def test_add_list_preview_send_pause_resume_remove(digest_bot: NewsBot, world: World) -> None:
    digest_id = await add_digest(world, timezone="europe/london", days="weekdays", max_items=4)
    text = embed_text(await digest(world, "list"))
    assert f"#{digest_id} · {TOPIC} · Mon–Fri 09:00" in text and "Europe/London" in text
    assert re.search(r"next <t:\d+:F> \(<t:\d+:R>\), \w{3} \d+ \w{3} 09:00 local", text), (
        "the next run as a Discord timestamp (each member's own timezone) and in the digest's"
    )
    assert "never run yet" in text

    preview = await digest(world, "preview", {"digest": str(digest_id)})
    assert "Nothing was posted" in preview.content
    assert f"{TOPIC} digest" in preview.embeds[0]["title"] and "4 new articles" in preview.embeds[0]["description"]
    assert digests_posted(world) == [], "a preview posts nothing"

    sent = embed_text(await digest(world, "send", {"digest": f"#{digest_id}"}))
    assert "posted 4 articles" in sent
    (posted,) = digests_posted(world)
    assert not posted.ephemeral and posted.author.id == world.emulator.bot_user.id
    shown = embed_text(posted)
    assert sum(f"lettuce number {n} sprouts" in shown for n in range(FRESH)) == 4
    assert f"Digest #{digest_id}" in posted.embeds[0]["footer"]["text"]

    again = embed_text(await digest(world, "send", {"digest": str(digest_id)}))
    assert "posted 2 articles" in again, "only the articles not delivered yet"
    nothing = embed_text(await digest(world, "send", {"digest": str(digest_id)}))
    assert "Nothing new" in nothing and len(digests_posted(world)) == 2, "nothing new: nothing is posted"

    assert "Paused" in embed_text(await digest(world, "pause", {"digest": str(digest_id)}))
    listed = embed_text(await digest(world, "list"))
    assert "⏸ paused: by Mod" in listed and "next <t:" not in listed
    assert "Resumed" in embed_text(await digest(world, "resume", {"digest": str(digest_id)}))
    assert "next <t:" in embed_text(await digest(world, "list"))

    assert "Removed" in embed_text(await digest(world, "remove", {"digest": str(digest_id)}))
    assert "no digests" in embed_text(await digest(world, "list"))
    gone = embed_text(await digest(world, "pause", {"digest": str(digest_id)}))
    assert "has no digest" in gone


async def test_bad_input_gets_a_specific_private_answer(digest_bot: NewsBot, world: World) -> None:
    answer = embed_text(
        await digest(world, "add", {"channel": world.channel.id, "topic": "Orbital Gardenin", "time": "09:00"})
    )
    assert "no topic called" in answer and TOPIC in answer, "unknown topic, with the closest ones"
    answer = embed_text(await digest(world, "add", {"channel": world.channel.id, "topic": TOPIC, "time": "9am"}))
    assert "is not a time" in answer and "HH:MM" in answer
    answer = embed_text(await digest(world, "add", {"channel": world.channel.id, "topic": TOPIC, "time": "25:00"}))
    assert "out of range" in answer
    answer = embed_text(
        await digest(
            world, "add", {"channel": world.channel.id, "topic": TOPIC, "time": "09:00", "timezone": "Mars/Olympus"}
        )
    )
    assert "Unknown timezone" in answer and "Mars/Olympus" in answer
    no_embeds = world.emulator.add_text_channel(world.guild, "plain", bot_deny=Perm.EMBED_LINKS)
    no_send = world.emulator.add_text_channel(world.guild, "readonly", bot_deny=Perm.SEND_MESSAGES | Perm.EMBED_LINKS)
    await world.emulator.wait_until(lambda: digest_bot.get_channel(no_send.id), what="the new channels")
    answer = embed_text(await digest(world, "add", {"channel": no_embeds.id, "topic": TOPIC, "time": "09:00"}))
    assert "**Embed Links**" in answer and "Send Messages" not in answer, "says which permission is missing"
    answer = embed_text(await digest(world, "add", {"channel": no_send.id, "topic": TOPIC, "time": "09:00"}))
    assert "**Send Messages**, **Embed Links**" in answer
    assert await digest_bot.db.digests.for_guild(world.guild.id) == [], "nothing was created"


async def test_a_member_without_manage_server_is_refused_at_run_time(digest_bot: NewsBot, world: World) -> None:
    (command,) = [c for c in world.emulator.registered_commands() if c["name"] == "digest"]
    assert int(command["default_member_permissions"]) == Perm.MANAGE_GUILD, "hidden from members by default"
    with pytest.raises(PermissionError):
        await world.emulator.send_slash_command(world.guild, world.channel, world.alice, "digest", subcommand="list")
    # A server that opened the command to everyone: the bot still checks.
    result = await world.emulator.send_slash_command(
        world.guild, world.channel, world.alice, "digest", subcommand="list", ignore_default_permissions=True
    )
    message = await result.original_message()
    assert message.ephemeral and "You need the **Manage Server** permission" in embed_text(message)
    result = await world.emulator.send_slash_command(
        world.guild,
        world.channel,
        world.alice,
        "digest",
        {"channel": world.channel.id, "topic": TOPIC, "time": "09:00"},
        subcommand="add",
        ignore_default_permissions=True,
    )
    assert "You need the **Manage Server** permission" in embed_text(await result.original_message())
    assert await digest_bot.db.digests.for_guild(world.guild.id) == []


async def test_autocomplete_for_timezones_topics_and_digest_ids(digest_bot: NewsBot, world: World) -> None:
    emulator = world.emulator
    result = await emulator.send_autocomplete(
        world.guild,
        world.channel,
        world.moderator,
        "digest",
        {"timezone": "kolk"},
        focused="timezone",
        subcommand="add",
    )
    assert [c["value"] for c in await result.choices()][:1] == ["Asia/Kolkata"]
    result = await emulator.send_autocomplete(
        world.guild, world.channel, world.moderator, "digest", {"topic": "orbit"}, focused="topic", subcommand="add"
    )
    assert (await result.choices())[0]["value"] == TOPIC

    first = await add_digest(world, time="07:15", timezone="Asia/Tokyo")
    second = await add_digest(world, time="18:40")
    result = await emulator.send_autocomplete(
        world.guild, world.channel, world.moderator, "digest", {"digest": ""}, focused="digest", subcommand="remove"
    )
    choices = await result.choices()
    assert [c["value"] for c in choices] == [str(first), str(second)]
    assert choices[0]["name"] == f"#{first} · {TOPIC} in #news at 07:15 Asia/Tokyo", "names its channel, topic and time"
    result = await emulator.send_autocomplete(
        world.guild, world.channel, world.moderator, "digest", {"digest": "18:4"}, focused="digest", subcommand="send"
    )
    assert [c["value"] for c in await result.choices()] == [str(second)]
    result = await emulator.send_autocomplete(
        world.guild, world.channel, world.alice, "digest", {"digest": ""}, focused="digest", subcommand="remove"
    )
    assert await result.choices() == [], "members without Manage Server see no digests"


async def test_permissions_taken_away_pause_the_digest_with_the_reason(digest_bot: NewsBot, world: World) -> None:
    # Its latest slot was 23.5 hours ago, so resuming keeps a full day of news to post.
    soon = datetime.now(UTC) + timedelta(minutes=30)
    digest_id = await add_digest(world, max_items=3, time=f"{soon:%H:%M}")
    # Permissions change while the bot is not told (no gateway event): Discord refuses the message.
    world.channel.overwrites.append(Overwrite(world.emulator.bot_user.id, MEMBER_OVERWRITE, 0, int(Perm.SEND_MESSAGES)))
    answer = embed_text(await digest(world, "send", {"digest": str(digest_id)}))
    assert "can't post digest" in answer and "#news" in answer
    listed = embed_text(await digest(world, "list"))
    assert "paused" in listed and "#news" in listed, "the reason is shown in /digest list"
    stored = await digest_bot.db.digests.get(digest_id)
    assert stored is not None and stored.paused and stored.max_items == 3, "settings are kept"
    assert digests_posted(world) == []
    world.channel.overwrites.pop()
    assert "Resumed" in embed_text(await digest(world, "resume", {"digest": str(digest_id)}))
    assert "posted 3 articles" in embed_text(await digest(world, "send", {"digest": str(digest_id)}))


async def test_a_real_timed_delivery_then_a_restart_posts_nothing_twice(
    world: World, settings: Settings, fresh_news: list[str]
) -> None:
    async with running_bot(world.emulator, settings) as bot:
        now = datetime.now(UTC)
        slot = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        if slot - now < timedelta(seconds=5):
            slot += timedelta(minutes=1)  # leave time for /digest add to land before its minute
        digest_id = await add_digest(world, time=f"{slot:%H:%M}", timezone="UTC", max_items=3)
        posted = await world.emulator.wait_for_message(
            world.channel, lambda m: bool(m.embeds), timeout=(slot - now).total_seconds() + 10
        )
        assert datetime.now(UTC) >= slot, "not before its minute"
        assert posted.nonce == nonce_for(digest_id, slot)
        assert "3 new articles" in posted.embeds[0]["description"]
        await recorded(bot, digest_id)  # the message id is recorded just after Discord answers
        assert "posted 3 articles" in embed_text(await digest(world, "list"))
    async with running_bot(world.emulator, settings) as again:
        await scheduler_started(again)
        await asyncio.sleep(0.3)
        assert len(digests_posted(world)) == 1, "the restart posted nothing again"
        assert world.emulator.nonce_replays == 0
    world.emulator.assert_no_violations()


class ShiftedClock(SystemClock):
    """The wall clock moved by ``offset``, which the test changes: minutes pass in no time."""

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


async def test_edit_the_time_posts_at_the_new_time_and_not_at_the_old(digest_bot: NewsBot, world: World) -> None:
    await scheduler_started(digest_bot)
    cog: Any = digest_bot.get_cog("DigestCog")
    scheduler = cog.scheduler
    real = datetime.now(UTC)
    new_slot = real.replace(second=0, microsecond=0) + timedelta(minutes=15)
    old_slot = new_slot + timedelta(minutes=1)
    clock = ShiftedClock(new_slot - timedelta(minutes=10) - real)
    scheduler.clock = clock
    scheduler.wake()
    digest_id = await add_digest(world, time=f"{old_slot:%H:%M}", timezone="UTC", max_items=3)

    # Eight minutes later it is moved to a time that passed two minutes ago: that slot is not posted late.
    clock.offset += timedelta(minutes=8)
    passed = new_slot - timedelta(minutes=4)
    answer = embed_text(await digest(world, "edit", {"digest": str(digest_id), "time": f"{passed:%H:%M}"}))
    assert f"Changed time of digest **#{digest_id}**" in answer and "Next run: <t:" in answer
    assert f"<t:{int((passed + timedelta(days=1)).timestamp())}:F>" in answer, "tomorrow's is the next run"
    await asyncio.sleep(0.5)
    assert digests_posted(world) == [], "a time that already passed is not posted"

    # Moved again, to a minute that comes in three seconds: posted then, once.
    clock.offset = new_slot - timedelta(seconds=3) - datetime.now(UTC)
    answer = embed_text(await digest(world, "edit", {"digest": f"#{digest_id}", "time": f"{new_slot:%H:%M}"}))
    assert f"<t:{int(new_slot.timestamp())}:F>" in answer
    posted = await world.emulator.wait_for_message(world.channel, lambda m: bool(m.embeds), timeout=15)
    assert clock.now() >= new_slot, "not before its minute"
    assert posted.nonce == nonce_for(digest_id, new_slot)
    assert "3 new articles" in posted.embeds[0]["description"], "a full day of news, not the minutes since the edit"
    await recorded(digest_bot, digest_id)

    # The old time comes and goes: nothing more is posted.
    clock.offset += old_slot - new_slot + timedelta(seconds=30)
    scheduler.wake()
    await asyncio.sleep(0.5)
    assert len(digests_posted(world)) == 1, "the old time posts nothing"
    entries = [e for e in await digest_bot.db.audit.latest(world.guild.id, 5) if e.action == "digest.edit"]
    assert [e.details["after"] for e in entries] == [
        [f"at_time: {new_slot:%H:%M}"],
        [f"at_time: {passed:%H:%M}"],
    ], "each edit audited with what it changed"


async def test_bad_edits_get_a_specific_private_answer_and_change_nothing(digest_bot: NewsBot, world: World) -> None:
    digest_id = await add_digest(world, time="09:00")
    before = await digest_bot.db.digests.get(digest_id)
    cases = [
        ({"time": "25:00"}, "out of range"),
        ({"time": "9am"}, "is not a time"),
        ({"timezone": "Mars/Olympus"}, "Unknown timezone"),
        ({"weekday": 2}, "only for weekly digests"),
        ({"topic": "Orbital Gardenin"}, "no topic called"),
        ({}, "Give at least one option to change"),
    ]
    for options, message in cases:
        answer = embed_text(await digest(world, "edit", {"digest": str(digest_id), **options}))
        assert message in answer, (options, answer)
    answer = embed_text(await digest(world, "edit", {"digest": "4040", "time": "10:00"}))
    assert "has no digest" in answer
    plain = world.emulator.add_text_channel(world.guild, "plain", bot_deny=Perm.EMBED_LINKS)
    await world.emulator.wait_until(lambda: digest_bot.get_channel(plain.id), what="the new channel")
    answer = embed_text(await digest(world, "edit", {"digest": str(digest_id), "channel": plain.id}))
    assert "**Embed Links**" in answer
    assert await digest_bot.db.digests.get(digest_id) == before, "nothing changed"
    result = await world.emulator.send_autocomplete(
        world.guild, world.channel, world.moderator, "digest", {"digest": ""}, focused="digest", subcommand="edit"
    )
    assert [c["value"] for c in await result.choices()] == [str(digest_id)]


class Crash(BaseException):
    pass


class CrashingOutbox:
    """Records like the bot, then dies before anything reaches Discord."""

    def problem(self, channel_id: int) -> str | None:
        return None

    async def send(self, channel_id: int, embeds: Any, nonce: str) -> int:
        raise Crash

    async def find(self, channel_id: int, nonce: str, *, after: datetime) -> int | None:
        return None


async def test_a_crash_between_recording_and_sending_is_posted_once_on_start(
    world: World, settings: Settings, fresh_news: list[str]
) -> None:
    now = datetime.now(UTC)
    slot = now.replace(second=0, microsecond=0) - timedelta(minutes=3)
    async with running_bot(world.emulator, settings):
        digest_id = await add_digest(world, max_items=2, time=f"{slot:%H:%M}", timezone="UTC")
    async with await Database.open(settings.database_path) as db:
        stored = await db.digests.get(digest_id)
        assert stored is not None

        async def everyone(guild_id: int) -> Any:
            from bot.db.types import Visibility

            return Visibility()

        with pytest.raises(Crash):
            await DigestService(db.digests, CrashingOutbox(), everyone).deliver_slot(stored, slot, now)
        assert len(await db.digests.pending()) == 1
    async with running_bot(world.emulator, settings) as bot:
        message = await world.emulator.wait_for_message(world.channel, lambda m: bool(m.embeds), timeout=10)
        assert message.nonce == nonce_for(digest_id, slot)
        await scheduler_started(bot)
        assert await bot.db.digests.pending() == []
    async with running_bot(world.emulator, settings):
        await asyncio.sleep(0.3)
    assert len(digests_posted(world)) == 1
    world.emulator.assert_no_violations()


async def test_a_crash_between_sending_and_recording_is_found_in_the_channel(
    world: World, settings: Settings, fresh_news: list[str]
) -> None:
    async with running_bot(world.emulator, settings):
        digest_id = await add_digest(world, max_items=2)
        assert "posted 2 articles" in embed_text(await digest(world, "send", {"digest": str(digest_id)}))
    (posted,) = digests_posted(world)
    # Make the database look as if the bot died right after Discord accepted the message (the
    # recorded copy of the message is emptied too, so only finding it in the channel can pass).
    forge = sqlite3.connect(settings.database_path)
    try:
        with forge:
            forge.execute(
                "UPDATE digest_deliveries SET state = 'pending', message_id = NULL, finished_at = NULL, payload = '[]'"
            )
    finally:
        forge.close()
    async with await Database.open(settings.database_path) as db:
        assert len(await db.digests.pending()) == 1
    async with running_bot(world.emulator, settings) as bot:
        await scheduler_started(bot)
        assert await bot.db.digests.pending() == []
    assert digests_posted(world) == [posted], "found in the channel's history, not posted again"
    assert world.emulator.nonce_replays == 0
    world.emulator.assert_no_violations()


async def test_a_full_server_of_digests_fits_in_one_list(digest_bot: NewsBot, world: World) -> None:
    long_zone = "America/Argentina/ComodRivadavia"
    ids = [await add_digest(world, time=f"{h:02d}:45", timezone=long_zone, days="weekly") for h in range(20)]
    answer = embed_text(await digest(world, "add", {"channel": world.channel.id, "topic": TOPIC, "time": "09:00"}))
    assert "already has 20 digests" in answer
    for digest_id in ids[::2]:
        await digest_bot.db.digests.set_paused(digest_id, paused=True, reason="I lack the **Embed Links** " + "x" * 200)
    text = embed_text(await digest(world, "list"))
    assert all(f"#{digest_id} · {TOPIC}" in text for digest_id in ids), "every digest is listed"
    assert text.count("⏸ paused") == 10 and text.count("never run yet") == 20
    # The emulator rejects (and the bot fixture reports) an embed over Discord's 6,000 characters.
