"""End to end: the real bot (discord.py against the local emulator) fetches a local feed in its own
task, the content watcher indexes the new file, and the entry shows in /news latest; /owner feeds
tells the owner how the feed is doing."""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.demo.harness import running_bot
from bot.emulator import Emulator, Perm
from bot.emulator.models import Message
from bot.feeds.config import FeedConfig, save_feeds
from bot.settings import Settings
from tests.e2e.conftest import CONTENT, embed_text
from tests.feeds.conftest import FeedServer

pytestmark = pytest.mark.e2e


def _feed(title: str, link: str) -> bytes:
    date = format_datetime(datetime.now(UTC).replace(microsecond=0))
    return (
        "<?xml version='1.0'?><rss version='2.0'><channel><title>Loopback Ledger</title>"
        f"<item><title>{title}</title><link>{link}</link><pubDate>{date}</pubDate>"
        "<description>Fetched from a feed a moment ago.</description><category>Feeds</category></item>"
        "</channel></rss>"
    ).encode()


async def test_a_new_feed_entry_shows_in_news_latest_and_owner_feeds(tmp_path: Path, feed_server: FeedServer) -> None:
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    body = _feed("Harbour lights switched to solar", "https://ledger.example.org/harbour-lights")

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/rss+xml")

    url = feed_server.serve("/ledger.xml", handler)
    feeds_file = tmp_path / "feeds.yml"
    save_feeds(feeds_file, [FeedConfig(url=url, topics=("Local",))])
    settings = Settings(
        content_dir=content,
        database_url=f"sqlite:///{tmp_path / 'newsbot.sqlite3'}",
        feeds_file=feeds_file,
        scan_interval=0.2,
    )
    async with Emulator() as emulator:
        guild = emulator.add_guild("Newsroom")
        channel = emulator.add_text_channel(guild, "news")
        alice = emulator.add_member(guild, "alice")
        owner = emulator.add_member(guild, emulator.application_owner, permissions=Perm.MANAGE_GUILD)
        async with running_bot(emulator, settings):
            text = ""
            for _ in range(100):  # the fetch runs at start; the watcher notices within a scan or two
                result = await emulator.send_slash_command(guild, channel, alice, "news", None, subcommand="latest")
                message = await result.original_message()
                text = embed_text(message)
                if "Harbour lights switched to solar" in text:
                    break
                await asyncio.sleep(0.1)
            first = text.splitlines()[1]
            assert "**1.** [Harbour lights switched to solar](https://ledger.example.org/harbour-lights)" in first
            assert "Loopback Ledger" in first, "the provider is the feed's title"
            fetched = list((content / "_feeds").rglob("*.md"))
            assert len(fetched) == 1

            result = await emulator.send_slash_command(
                guild, channel, owner, "owner", None, subcommand="feeds", ignore_default_permissions=True
            )
            message = await result.original_message()
            text = embed_text(message)
            assert message.ephemeral
            assert "Feeds (1)" in text and "[ok] Loopback Ledger" in text and "1 articles written" in text

            result = await emulator.send_slash_command(
                guild, channel, alice, "owner", None, subcommand="feeds", ignore_default_permissions=True
            )
            refused = await result.original_message()
            assert "Only the bot's owner" in embed_text(refused)
        emulator.assert_no_violations()
    assert len(feed_server.hits["/ledger.xml"]) == 1, "fetched once, not again within its interval"


def _empty_feed() -> bytes:
    return b"<?xml version='1.0'?><rss version='2.0'><channel><title>Loopback Ledger</title></channel></rss>"


async def test_a_new_feed_entry_triggers_an_alert_once(tmp_path: Path, feed_server: FeedServer) -> None:
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    title = "Harbour cranes go electric"
    served = {"body": _empty_feed()}

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=served["body"], content_type="application/rss+xml")

    url = feed_server.serve("/ledger.xml", handler)
    feeds_file = tmp_path / "feeds.yml"
    save_feeds(feeds_file, [FeedConfig(url=url, topics=("Local",))])
    settings = Settings(
        content_dir=content,
        database_url=f"sqlite:///{tmp_path / 'newsbot.sqlite3'}",
        feeds_file=feeds_file,
        scan_interval=0.2,
    )
    async with Emulator() as emulator:
        guild = emulator.add_guild("Newsroom")
        channel = emulator.add_text_channel(guild, "harbour-news")
        moderator = emulator.add_member(guild, "mod", permissions=Perm.MANAGE_GUILD)
        async with running_bot(emulator, settings) as bot:
            alerts: Any = bot.get_cog("AlertCog")
            await asyncio.wait_for(alerts.loop.started.wait(), 10)
            added = await emulator.send_slash_command(
                guild, channel, moderator, "alert", {"channel": channel.id, "keywords": "harbour"}, subcommand="add"
            )
            assert "Alert **#1**" in embed_text(await added.original_message())
            await asyncio.sleep(1.1)  # the entry is published after the alert exists (feeds give whole seconds)
            served["body"] = _feed(title, "https://ledger.example.org/harbour-cranes")
            owner: Any = bot.get_cog("Owner")
            assert (await owner.feeds.refresh(only=url)).changed

            def bot_posts() -> list[Message]:
                return [m for m in emulator.channel_messages(channel) if m.author.id == emulator.bot_user.id]

            # The watcher indexes the written file; the alert loop posts it.
            await emulator.wait_until(lambda: bool(bot_posts()), timeout=15, what="the alert post")
            assert title in embed_text(bot_posts()[0])
            latest = await emulator.send_slash_command(guild, channel, moderator, "news", subcommand="latest")
            assert title in embed_text(await latest.original_message())

            # A second refresh fetches the same entry again: nothing written, nothing posted.
            assert not (await owner.feeds.refresh(only=url)).changed
            await bot.reindex()
            for _ in range(5):
                alerts.loop.wake()
                await asyncio.sleep(0.2)
            assert len(bot_posts()) == 1, "posted once"
            assert len(list((content / "_feeds").rglob("*.md"))) == 1
        emulator.assert_no_violations()
    assert len(feed_server.hits["/ledger.xml"]) >= 3, "fetched at start and by both refreshes"
