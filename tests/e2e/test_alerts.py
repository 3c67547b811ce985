"""/alert through the real discord.py client and the emulator: what moderators and channels see."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.alerts import rules
from bot.app.client import NewsBot
from bot.db import open_database
from bot.db.alert_types import NewAlert
from bot.db.guild_types import HiddenArticle
from bot.demo.harness import running_bot
from bot.emulator import AttachmentFile, Emulator, Perm
from bot.emulator.models import Channel, Message
from bot.settings import Settings
from bot.store import loader
from tests.e2e.conftest import AlertChannels, World, embed_text
from tests.e2e.test_sharding import ON_SHARD, Server, bot_processes

pytestmark = pytest.mark.e2e

TOPIC = "Orbital Gardening"


def article_file(
    n: int, *, published: datetime | None = None, topic: str = TOPIC, quality: int = 50, **extra: str
) -> str:
    when = (published or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = "".join(f"{key}: {value}\n" for key, value in extra.items())
    return f"""---
category: news
title: "Greenhouse report {n}: lettuce {n} sprouts"
excerpt: "Report {n} from the station greenhouse."
publishedDateTime: {when}
webUrl: "https://garden.example/report-{n}"
type: article
quality: {quality}
heat: 1
published: true
{lines}provider:
  name: Garden Site
  domain: garden.example
topics:
  - {topic}
  - Science
---
"""


def drop(content_dir: Path, n: int, **kwargs: Any) -> Path:
    folder = content_dir / "_news" / "alerts"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"report-{n}.md"
    path.write_text(article_file(n, **kwargs), encoding="utf-8")
    return path


@pytest.fixture
def fast_settings(settings: Settings) -> Settings:
    return replace(settings, scan_interval=0.3)


@pytest.fixture
async def alert_bot(world: World, fast_settings: Settings, alert_channels: AlertChannels) -> AsyncIterator[NewsBot]:
    # The topic must exist for /alert add to accept it: one old article of it is in the store.
    drop(fast_settings.content_dir, 0, published=datetime(2024, 1, 1, tzinfo=UTC))
    async with running_bot(world.emulator, fast_settings) as running:
        await loop_started(running)
        yield running
    world.emulator.assert_no_violations()


async def loop_started(bot: NewsBot) -> None:
    loop = getattr(bot.get_cog("AlertCog"), "loop", None)
    assert loop is not None
    await asyncio.wait_for(loop.started.wait(), 10)


def cog(bot: NewsBot) -> Any:
    found = bot.get_cog("AlertCog")
    assert found is not None
    return found


async def alert(world: World, sub: str, options: dict[str, Any] | None = None, *, user: Any = None) -> Message:
    result = await world.emulator.send_slash_command(
        world.guild, world.channel, user or world.moderator, "alert", options, subcommand=sub
    )
    message = await result.original_message()
    assert result.elapsed is not None and result.elapsed < 3, "answered within Discord's 3 seconds"
    assert message.ephemeral, "alert answers are private"
    return message


async def add_alert(world: World, **options: Any) -> int:
    values: dict[str, Any] = {"channel": world.channel.id, "topic": TOPIC.lower()}
    values.update(options)
    text = embed_text(await alert(world, "add", values))
    found = re.search(r"Alert \*\*#(\d+)\*\*", text)
    assert found, text
    return int(found[1])


def posts(world: World, channel: Channel) -> list[Message]:
    return [m for m in world.emulator.channel_messages(channel) if m.author.id == world.emulator.bot_user.id]


async def wait_posts(world: World, channel: Channel, count: int, timeout: float = 10) -> list[Message]:  # noqa: ASYNC109
    await world.emulator.wait_until(lambda: len(posts(world, channel)) >= count, timeout=timeout, what=f"{count} posts")
    return posts(world, channel)


async def settle(bot: NewsBot, seconds: float = 1.0) -> None:
    """Give the loop a few rounds: nothing more may be posted afterwards."""
    loop = cog(bot).loop
    start = loop.ticks
    deadline = asyncio.get_running_loop().time() + 10
    while loop.ticks < start + 3 and asyncio.get_running_loop().time() < deadline:
        loop.wake()
        await asyncio.sleep(0.1)
    await asyncio.sleep(seconds)


async def test_a_new_file_is_posted_once_as_a_card_with_read_and_related(
    alert_bot: NewsBot, world: World, fast_settings: Settings
) -> None:
    alert_id = await add_alert(world)
    await settle(alert_bot, 0.2)
    assert posts(world, world.channel) == [], "creating an alert posts no backlog"
    drop(fast_settings.content_dir, 1)
    (card,) = await wait_posts(world, world.channel, 1, timeout=15)
    assert "lettuce 1 sprouts" in card.embeds[0]["title"]
    assert f"Alert #{alert_id}" in card.embeds[0]["footer"]["text"]
    labels = [c.get("label") for row in card.components for c in row["components"]]
    assert labels == ["Read", "Related"]
    assert card.pinged_nobody
    # The Related button works for anyone, privately, even though the bot did not send it to them.
    related = next(c for row in card.components for c in row["components"] if c.get("label") == "Related")
    clicked = await world.emulator.click_button(card, related["custom_id"], world.alice)
    answer = await clicked.response()
    assert answer.data.get("flags", 0) & 64
    # An edit of the posted article posts nothing.
    drop(fast_settings.content_dir, 1, quality=60)
    await alert_bot.reindex()
    await settle(alert_bot)
    assert len(posts(world, world.channel)) == 1
    listed = embed_text(await alert(world, "list"))
    assert "1 post(s) in 24 h" in listed and "active" in listed


async def test_compact_thread_forum_and_publish_with_a_role(
    alert_bot: NewsBot, world: World, alert_channels: AlertChannels, fast_settings: Settings
) -> None:
    role = alert_channels.role
    await add_alert(world, style="compact")
    thread_channel = world.emulator.add_text_channel(world.guild, "threads")
    await asyncio.sleep(0.2)
    await add_alert(world, channel=thread_channel.id, style="thread")
    forum_text = embed_text(await alert(world, "add", {"channel": alert_channels.forum.id, "topic": "science"}))
    assert "Topic **Science** → tag **Science**" in forum_text
    await add_alert(world, channel=alert_channels.announcements.id, publish=True, mention=role)
    drop(fast_settings.content_dir, 2)
    await alert_bot.reindex()
    (line,) = await wait_posts(world, world.channel, 1)
    assert line.content.startswith("[Greenhouse report 2") and not line.embeds
    (card,) = await wait_posts(world, thread_channel, 1)
    await world.emulator.wait_until(lambda: card.thread is not None, what="the thread")
    assert card.thread is not None and "lettuce 2" in card.thread.name
    in_thread = await world.emulator.wait_for_messages(card.thread, 1)
    assert "Related articles" in in_thread[0].embeds[0]["title"]
    await world.emulator.wait_until(lambda: len(world.emulator.threads(alert_channels.forum)) == 1, what="forum post")
    (post,) = world.emulator.threads(alert_channels.forum)
    science = alert_channels.forum.tag("science")
    assert "lettuce 2" in post.name and post.applied_tags == [science.id]
    (announced,) = await wait_posts(world, alert_channels.announcements, 1)
    await world.emulator.wait_until(lambda: announced.crossposted, what="the publish")
    assert announced.pinged_roles == {role.id} and not announced.pinged_everyone
    await settle(alert_bot)
    assert len(posts(world, alert_channels.announcements)) == 1 and len(world.emulator.crossposts()) == 1


async def test_the_publish_limit_and_the_ping_cap(
    alert_bot: NewsBot, world: World, alert_channels: AlertChannels, fast_settings: Settings
) -> None:
    channel = alert_channels.announcements
    await add_alert(world, channel=channel.id, publish=True, mention=alert_channels.role, posts_per_10min=30)
    for n in range(1, 13):
        drop(fast_settings.content_dir, n)
    await alert_bot.reindex()
    sent = await wait_posts(world, channel, 12, timeout=20)
    await settle(alert_bot)
    assert len(world.emulator.crossposts(channel)) == 10, "Discord allows 10 publishes an hour"
    assert sum(bool(m.pinged_roles) for m in sent) == 3, "3 pings an hour"
    listed = embed_text(await alert(world, "list"))
    assert "2 post(s) this hour were not published" in listed
    assert "9 post(s) this hour did not ping" in listed


async def test_a_flood_posts_five_then_a_roundup_with_every_article(
    alert_bot: NewsBot, world: World, fast_settings: Settings
) -> None:
    await add_alert(world)
    for n in range(1, 501):
        drop(fast_settings.content_dir, n)
    await alert_bot.reindex()
    await wait_posts(world, world.channel, 5, timeout=20)
    await settle(alert_bot)
    assert len(posts(world, world.channel)) == 5
    assert "495 held back" in embed_text(await alert(world, "list"))
    cog(alert_bot).clock.offset += rules.FLOOD_WINDOW + timedelta(seconds=1)
    cog(alert_bot).loop.reset(1)
    cog(alert_bot).loop.wake()
    await world.emulator.wait_until(lambda: len(posts(world, world.channel)) > 6, timeout=30, what="the roundup")
    await settle(alert_bot)
    everything = "\n".join(embed_text(m) for m in posts(world, world.channel))
    for n in range(1, 501):
        assert len(re.findall(rf"report {n}: lettuce {n} sprouts", everything)) == 1, n
    assert "and 495 more" in everything
    metric = alert_bot.metrics.registry.get_sample_value
    assert metric("newsbot_alert_posts_total", {"style": "embed", "outcome": "posted"}) == 5
    assert metric("newsbot_alert_roundups_total") == 1
    assert metric("newsbot_alert_pauses_total") == 0


async def test_bad_input_gets_a_specific_private_answer(
    alert_bot: NewsBot, world: World, alert_channels: AlertChannels
) -> None:
    async def refused(options: dict[str, Any]) -> str:
        return embed_text(await alert(world, "add", {"channel": world.channel.id, **options}))

    assert "Unknown placeholder(s) `{titel}`" in await refused({"topic": TOPIC, "template": "{titel} {url}"})
    assert "{excerpt}" in await refused({"topic": TOPIC, "template": "{titel}"}), "the valid ones are listed"
    long = await refused({"topic": TOPIC, "template": "x" * 3000})
    assert "3,000 characters" in long and f"at most {rules.MAX_TEMPLATE_CHARS}" in long
    everyone = world.guild.everyone
    assert "never ping @everyone" in await refused({"topic": TOPIC, "mention": everyone})
    assert "Give a `topic`, `keywords`, or both" in await refused({})
    assert "excluded word" in await refused({"keywords": "wind | -oil"})
    assert "only in an announcement channel" in await refused({"topic": TOPIC, "publish": True})
    strict = world.emulator.add_forum_channel(world.guild, "strict", tags=["Sport"], require_tag=True)
    closed = world.emulator.add_text_channel(world.guild, "closed", bot_deny=Perm.SEND_MESSAGES)
    await asyncio.sleep(0.3)
    forum = embed_text(await alert(world, "add", {"channel": strict.id, "topic": TOPIC}))
    assert "requires a tag" in forum and "Sport" in forum
    assert "I lack the **Send Messages**" in embed_text(
        await alert(world, "add", {"channel": closed.id, "topic": TOPIC})
    )
    assert "This server has no alerts" in embed_text(await alert(world, "list")), "nothing was created"


async def test_a_member_without_manage_server_is_refused(alert_bot: NewsBot, world: World) -> None:
    result = await world.emulator.send_slash_command(
        world.guild, world.channel, world.alice, "alert", None, subcommand="list", ignore_default_permissions=True
    )
    message = await result.original_message()
    assert message.ephemeral and "Manage Server" in embed_text(message)


async def test_a_deleted_channel_or_role_pauses_the_alert_and_says_why(
    alert_bot: NewsBot, world: World, alert_channels: AlertChannels, fast_settings: Settings
) -> None:
    doomed = world.emulator.add_text_channel(world.guild, "doomed")
    await asyncio.sleep(0.2)
    first = await add_alert(world, channel=doomed.id)
    second = await add_alert(world, mention=alert_channels.role)
    world.emulator.delete_channel(doomed)
    world.emulator.delete_role(alert_channels.role)
    await asyncio.sleep(0.3)
    drop(fast_settings.content_dir, 3)
    await alert_bot.reindex()

    async def paused() -> bool:
        a, b = await alert_bot.db.alerts.get(first), await alert_bot.db.alerts.get(second)
        return bool(a and a.paused and b and b.paused)

    for _ in range(100):
        if await paused():
            break
        await asyncio.sleep(0.1)
    listed = embed_text(await alert(world, "list"))
    assert "paused: #doomed was deleted" in listed or "paused: the channel was deleted" in listed
    assert "paused: the role to mention was deleted" in listed
    entries = await alert_bot.db.audit.latest(world.guild.id, 20)
    assert sum(e.action == "alert.pause" for e in entries) == 2
    assert alert_bot.metrics.registry.get_sample_value("newsbot_alert_pauses_total") == 2


async def test_test_posts_and_why_for_each_reason(alert_bot: NewsBot, world: World, fast_settings: Settings) -> None:
    alert_id = await add_alert(world, min_quality=40)
    tested = embed_text(await alert(world, "test", {"alert": str(alert_id)}))
    assert "Posted a test" in tested and "does not count as delivered" in tested
    (test_post,) = posts(world, world.channel)
    assert "test post" in test_post.embeds[0]["footer"]["text"]
    drop(fast_settings.content_dir, 4, quality=30)
    drop(fast_settings.content_dir, 5)
    await alert_bot.reindex()
    await wait_posts(world, world.channel, 2)

    async def why(article_id: str) -> str:
        return embed_text(await alert(world, "why", {"article": article_id}))

    ids = {a.title.split(":")[0]: a.id for a in await alert_bot.db.articles.catalog_entries()}
    assert "✅ posted" in await why(ids["Greenhouse report 5"])
    low = await why(ids["Greenhouse report 4"])
    assert "30" in low and "40" in low and "below" in low
    assert "published before the alert was created" in await why(ids["Greenhouse report 0"])
    await add_alert(world, keywords="zebra -oil")
    both = await why(ids["Greenhouse report 5"])
    assert "✅ posted" in both and "doesn't contain the keyword zebra" in both
    await alert(world, "pause", {"alert": str(alert_id)})
    drop(fast_settings.content_dir, 6)
    await alert_bot.reindex()
    await settle(alert_bot)
    ids = {a.title.split(":")[0]: a.id for a in await alert_bot.db.articles.catalog_entries()}
    assert "the alert was paused" in await why(ids["Greenhouse report 6"])


async def test_a_restart_posts_nothing_twice_and_misses_nothing(
    world: World, fast_settings: Settings, alert_channels: AlertChannels
) -> None:
    drop(fast_settings.content_dir, 0, published=datetime(2024, 1, 1, tzinfo=UTC))
    async with running_bot(world.emulator, fast_settings) as bot:
        await loop_started(bot)
        await add_alert(world)
        drop(fast_settings.content_dir, 1)
        await bot.reindex()
        await wait_posts(world, world.channel, 1)
    drop(fast_settings.content_dir, 2)  # arrives while the bot is down
    async with running_bot(world.emulator, fast_settings) as bot:
        await loop_started(bot)
        sent = await wait_posts(world, world.channel, 2)
        await settle(bot)
    assert len(posts(world, world.channel)) == 2
    assert ["lettuce 1" in embed_text(sent[0]), "lettuce 2" in embed_text(sent[1])] == [True, True]
    world.emulator.assert_no_violations()


class Crash(BaseException):
    """The process dies here: no handler in the bot catches a BaseException."""


class CrashingOutbox:
    """The bot's own Discord outbox, dying at its ``at``-th sending call, before or after it acted."""

    def __init__(self, inner: Any, at: int, after: bool) -> None:
        self.inner, self.at, self.after, self.calls = inner, at, after, 0

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.inner, name)
        if name not in ("send", "start_thread", "forum_post", "publish"):
            return target

        async def call(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            if self.calls == self.at and not self.after:
                raise Crash
            result = await target(*args, **kwargs)
            if self.calls == self.at:
                raise Crash
            return result

        return call


CRASH_CASES = [
    ("thread", 1, False), ("thread", 1, True), ("thread", 2, False), ("thread", 2, True), ("thread", 3, True),
    ("forum", 1, False), ("forum", 1, True),
    ("publish", 1, True), ("publish", 2, False), ("publish", 2, True),
]  # fmt: skip


@pytest.mark.parametrize(("style", "at", "after"), CRASH_CASES)
async def test_a_crash_at_each_step_then_a_restart_posts_exactly_once(
    world: World, fast_settings: Settings, alert_channels: AlertChannels, style: str, at: int, after: bool
) -> None:
    drop(fast_settings.content_dir, 0, published=datetime(2024, 1, 1, tzinfo=UTC))
    channel = {"thread": world.channel, "forum": alert_channels.forum, "publish": alert_channels.announcements}[style]
    options: dict[str, Any] = {"channel": channel.id, "topic": "science"}
    options.update({"thread": {"style": "thread"}, "forum": {}, "publish": {"publish": True}}[style])
    async with running_bot(world.emulator, fast_settings) as bot:
        await loop_started(bot)
        await add_alert(world, **options)
        service = cog(bot).service
        service.outbox = CrashingOutbox(service.outbox, at, after)
        drop(fast_settings.content_dir, 1)
        await bot.reindex()
        await world.emulator.wait_until(lambda: service.outbox.calls >= at, timeout=10, what="the crash")
        await asyncio.sleep(0.2)  # the loop task is dead: nothing more happens until the restart
    async with running_bot(world.emulator, fast_settings) as bot:
        await loop_started(bot)
        await settle(bot)
        assert await bot.db.alerts.pending() == []
    if style == "forum":
        (post,) = world.emulator.threads(channel)
        assert len(world.emulator.channel_messages(post)) == 1
    else:
        (card,) = posts(world, channel)
        if style == "thread":
            assert card.thread is not None
            assert len(world.emulator.threads(channel)) == 1
            assert len(world.emulator.channel_messages(card.thread)) == 1, "one related-articles message"
        else:
            assert card.crossposted and len(world.emulator.crossposts(channel)) == 1
    world.emulator.assert_no_violations()


@pytest.fixture
def split_servers(emulator: Emulator) -> dict[int, Server]:
    """One server per shard (as tests/e2e/test_sharding.py sets them up)."""
    out = {}
    for shard, guild_id in ON_SHARD.items():
        guild = emulator.add_guild(f"Shard {shard} server", guild_id=guild_id)
        out[shard] = Server(guild, emulator.add_text_channel(guild, "news"), emulator.add_member(guild, f"mod{shard}"))
    return out


async def test_two_processes_with_split_shards_post_each_alert_once(
    emulator: Emulator, split_servers: dict[int, Server], settings: Settings, tmp_path: Path
) -> None:
    servers = split_servers
    drop(settings.content_dir, 0, published=datetime(2024, 1, 1, tzinfo=UTC))
    alert_ids: dict[int, int] = {}
    async with await open_database(settings.database_url) as db:
        for shard, server in servers.items():
            stored = await db.alerts.add(
                NewAlert(
                    guild_id=server.guild.id,
                    channel_id=server.channel.id,
                    channel_kind="text",
                    topic=TOPIC,
                    keywords=None,
                    providers=(),
                    min_quality=0,
                    role_id=None,
                    style="embed",
                    publish=False,
                    template=None,
                    posts_per_window=5,
                    created_at=datetime.now(UTC) - timedelta(minutes=1),
                    created_by=server.member.user.id,
                )
            )
            alert_ids[shard] = stored.id
    async with bot_processes(emulator, settings, tmp_path, ["0", "1"], NEWSBOT_SCAN_INTERVAL="0.3") as processes:
        await asyncio.sleep(1.0)
        drop(settings.content_dir, 1)  # both processes watch the folder; one indexes it, both see the arrival
        for server in servers.values():
            await emulator.wait_for_message(server.channel, lambda m: bool(m.embeds), timeout=30)
        await asyncio.sleep(2.0)  # room for a second copy to show up, were there one
        for server in servers.values():
            posted = [m for m in emulator.channel_messages(server.channel) if m.embeds]
            assert len(posted) == 1, f"exactly one post in {server.guild.name}"
            assert "lettuce 1 sprouts" in embed_text(posted[0])
    for shard, bot in enumerate(processes):
        messages = [line["message"] for line in bot.log_lines()]
        sent = {int(m.split()[1].rstrip(":")) for m in messages if re.match(r"alert \d+: post \S+ sent", m)}
        assert sent == {alert_ids[shard]}, f"process {bot.shard_ids} posted only its own server's alert"
    emulator.assert_no_violations()


async def test_alerts_go_into_export_and_come_back_with_import(
    alert_bot: NewsBot, world: World, alert_channels: AlertChannels
) -> None:
    await add_alert(world, keywords='lettuce -"oil spill"', mention=alert_channels.role, style="compact")
    await add_alert(world, channel=alert_channels.forum.id, topic="science", posts_per_10min=12)
    result = await world.emulator.send_slash_command(
        world.guild, world.channel, world.moderator, "admin", None, subcommand="export"
    )
    exported = await result.original_message()
    ((name, data),) = exported.files.items()
    text = data.decode()
    assert "alerts:" in text and "oil spill" in text and "news-alerts" in text
    await alert(world, "remove", {"alert": "1"})
    await alert(world, "remove", {"alert": "2"})
    imported = await world.emulator.send_slash_command(
        world.guild, world.channel, world.moderator, "admin", {"file": AttachmentFile(name, data)}, subcommand="import"
    )
    await imported.original_message()
    stored = await alert_bot.db.alerts.for_guild(world.guild.id)
    assert [(a.keywords, a.role_id, a.style, a.channel_kind, a.posts_per_window) for a in stored] == [
        ('lettuce -"oil spill"', alert_channels.role.id, "compact", "text", 5),
        (None, None, "embed", "forum", 12),
    ]
    bad = text.replace("posts_per_10min: 12", "posts_per_10min: 99").encode()
    refused = await world.emulator.send_slash_command(
        world.guild, world.channel, world.moderator, "admin", {"file": AttachmentFile(name, bad)}, subcommand="import"
    )
    answer = embed_text(await refused.original_message())
    assert "Nothing was imported" in answer and "alerts[1].posts_per_10min" in answer


async def test_hidden_in_this_server_then_unhidden_is_posted_once(
    alert_bot: NewsBot, world: World, fast_settings: Settings
) -> None:
    await add_alert(world)
    await add_alert(world, providers="other.example")
    path = drop(fast_settings.content_dir, 8, published=datetime.now(UTC) + timedelta(seconds=2))
    ((_, parsed, _),) = loader.parse_files(
        fast_settings.content_dir, [str(path.relative_to(fast_settings.content_dir))]
    )
    assert parsed is not None
    await alert_bot.policy.hide(world.guild.id, HiddenArticle(parsed.id, parsed.title, hidden_by=1))
    await alert_bot.reindex()
    await settle(alert_bot)
    assert posts(world, world.channel) == [], "hidden in this server: not posted"
    why = embed_text(await alert(world, "why", {"article": parsed.id}))
    assert "#1**: not posted: it is hidden in this server" in why
    assert "#2**: not posted: its provider garden.example is not one of the alert's" in why
    listed = embed_text(await alert(world, "list"))
    assert "last skipped" in listed and "hidden in this server" in listed
    result = await world.emulator.send_slash_command(
        world.guild, world.channel, world.moderator, "admin", {"article": parsed.id}, subcommand="unhide"
    )
    await result.original_message()
    (card,) = await wait_posts(world, world.channel, 1)
    assert "lettuce 8" in card.embeds[0]["title"]
    await settle(alert_bot)
    assert len(posts(world, world.channel)) == 1


async def test_a_deleted_forum_tag_or_lost_permission_pauses_and_names_it(
    alert_bot: NewsBot, world: World, alert_channels: AlertChannels, fast_settings: Settings
) -> None:
    tagged = await add_alert(world, channel=alert_channels.forum.id, topic="science")
    threads = world.emulator.add_text_channel(world.guild, "threads")
    await asyncio.sleep(0.2)
    threaded = await add_alert(world, channel=threads.id, style="thread")
    world.emulator.remove_forum_tag(alert_channels.forum, "Science")
    world.emulator.set_permissions(threads, world.emulator.bot_user, deny=Perm.CREATE_PUBLIC_THREADS)
    await asyncio.sleep(0.3)
    drop(fast_settings.content_dir, 9)
    await alert_bot.reindex()
    for _ in range(100):
        a, b = await alert_bot.db.alerts.get(tagged), await alert_bot.db.alerts.get(threaded)
        if a and a.paused and b and b.paused:
            break
        await asyncio.sleep(0.1)
    listed = embed_text(await alert(world, "list"))
    assert "the forum tag “Science” of #articles was deleted" in listed
    assert "I lack the **Create Public Threads** permission in #threads" in listed
    assert world.emulator.threads(alert_channels.forum) == [] and posts(world, threads) == []
    resumed = embed_text(await alert(world, "resume", {"alert": str(threaded)}))
    assert "stays paused" in resumed and "Create Public Threads" in resumed


async def test_a_full_server_of_alerts_is_listed_whole_and_a_26th_is_refused(alert_bot: NewsBot, world: World) -> None:
    words = " ".join(f'"long phrase number {n}"' for n in range(6))
    for n in range(rules.MAX_PER_SERVER):
        await add_alert(world, keywords=f"lettuce{n} {words}"[:200], providers="a.example, b.example")
    refused = embed_text(await alert(world, "add", {"channel": world.channel.id, "topic": TOPIC}))
    assert f"already has {rules.MAX_PER_SERVER} alerts" in refused
    result = await world.emulator.send_slash_command(
        world.guild, world.channel, world.moderator, "alert", None, subcommand="list"
    )
    first = await result.original_message()
    pages = [first]
    text = embed_text(first)
    if not all(f"#{n} · " in text for n in range(1, rules.MAX_PER_SERVER + 1)):
        pages += await result.followups(count=1)
    listed = "\n".join(embed_text(p) for p in pages)
    assert all(f"#{n} · " in listed for n in range(1, rules.MAX_PER_SERVER + 1)), "every alert, nothing cut"
    assert all(p.ephemeral for p in pages)
