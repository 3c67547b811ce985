"""/admin and /owner through the real discord.py client and the emulator: what moderators see, and
what their choices change for members, in their server only."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.app.client import NewsBot
from bot.db import sqlite_digests, sqlite_guilds
from bot.db.digest_types import NewDigest
from bot.demo.harness import running_bot
from bot.emulator import AttachmentFile, Overwrite, Perm
from bot.emulator.models import Channel, Guild, Member, Message
from bot.emulator.permissions import MEMBER_OVERWRITE
from bot.settings import Settings
from bot.store.keys import topic_key
from bot.store.loader import load_directory
from bot.store.models import Article
from tests.e2e.conftest import World, button, embed_text

pytestmark = pytest.mark.e2e


@dataclass
class Other:
    """A second server with its own moderator: what happens in one must not leak into the other."""

    guild: Guild
    channel: Channel
    member: Member
    moderator: Member


@pytest.fixture
def other(world: World) -> Other:
    emulator = world.emulator
    guild = emulator.add_guild("Elsewhere")
    return Other(
        guild=guild,
        channel=emulator.add_text_channel(guild, "news"),
        member=emulator.add_member(guild, "carol"),
        moderator=emulator.add_member(guild, "dave", permissions=Perm.MANAGE_GUILD),
    )


@pytest.fixture
async def admin_bot(world: World, other: Other, settings: Settings) -> AsyncIterator[NewsBot]:
    async with running_bot(world.emulator, settings) as running:
        yield running
    world.emulator.assert_no_violations()


def articles(content_dir: Path) -> list[Article]:
    return load_directory(content_dir).articles


def published(content_dir: Path) -> list[Article]:
    return [a for a in articles(content_dir) if a.published]


async def send(
    world: World,
    name: str,
    sub: str,
    options: dict[str, Any] | None = None,
    *,
    user: Member | None = None,
    guild: Guild | None = None,
    channel: Channel | None = None,
    open_to_all: bool = False,
) -> Message:
    result = await world.emulator.send_slash_command(
        guild or world.guild,
        channel or world.channel,
        user or world.moderator,
        name,
        options,
        subcommand=sub,
        ignore_default_permissions=open_to_all,
    )
    message = await result.original_message(timeout=10)
    assert result.elapsed is not None and result.elapsed < 3, "answered within Discord's 3 seconds"
    return message


async def admin(world: World, sub: str, options: dict[str, Any] | None = None, **kwargs: Any) -> Message:
    return await send(world, "admin", sub, options, **kwargs)


async def news(world: World, sub: str, options: dict[str, Any] | None = None, **kwargs: Any) -> Message:
    return await send(world, "news", sub, options, user=kwargs.pop("user", None) or world.alice, **kwargs)


async def complete_article(world: World, text: str, *, guild: Guild, channel: Channel, user: Member) -> list[str]:
    result = await world.emulator.send_autocomplete(
        guild, channel, user, "news", {"article": text}, focused="article", subcommand="article"
    )
    return [c["value"] for c in await result.choices()]


async def in_other(world: World, other: Other, sub: str, options: dict[str, Any] | None = None) -> Message:
    return await news(world, sub, options, user=other.member, guild=other.guild, channel=other.channel)


def listed_urls(message: Message) -> list[str]:
    return re.findall(r"\]\((https?://[^)]+)\)", message.embeds[0].get("description", ""))


def unescaped(text: str) -> str:
    """Text as Discord displays it (markdown escapes removed)."""
    return re.sub(r"\\(.)", r"\1", text)


def shown(message: Message, name: str) -> str:
    return unescaped(field(message, name))


def field(message: Message, name: str) -> str:
    for item in message.embeds[0].get("fields", []):
        if item["name"] == name:
            return str(item["value"])
    raise AssertionError(f"no field {name!r} in {message.embeds[0]}")


# --- permissions -----------------------------------------------------------------------------------


async def test_admin_commands_need_manage_server_even_when_a_server_opens_them(
    admin_bot: NewsBot, world: World, content_dir: Path
) -> None:
    command = next(c for c in world.emulator.registered_commands() if c["name"] == "admin")
    assert command["default_member_permissions"] == str(int(Perm.MANAGE_GUILD))
    assert command["dm_permission"] is False
    with pytest.raises(PermissionError):  # the Discord client does not even offer it to alice
        await admin(world, "stats", user=world.alice)

    target = published(content_dir)[0]
    for sub, options in [("stats", None), ("hide", {"article": target.id}), ("config", {"min_quality": 100})]:
        reply = await admin(world, sub, options, user=world.alice, open_to_all=True)
        assert reply.ephemeral and "Manage Server" in embed_text(reply), sub

    choices = await world.emulator.send_autocomplete(
        world.guild, world.channel, world.alice, "admin", {"article": ""}, focused="article", subcommand="hide"
    )
    assert await choices.choices() == [], "autocomplete does not list articles to members without the permission"
    # Nothing changed: the article is still there and nothing was audited.
    assert target.title[:30] in embed_text(await news(world, "article", {"article": target.id}))
    assert "Nothing has been recorded" in embed_text(await admin(world, "audit"))


# --- hide / unhide ---------------------------------------------------------------------------------


async def test_hide_and_unhide_change_this_server_only(
    admin_bot: NewsBot, world: World, other: Other, content_dir: Path
) -> None:
    newest = max(published(content_dir), key=lambda a: a.published_at)
    prefix = newest.title.split()[0] + " " + newest.title.split()[1]

    hidden = await admin(world, "hide", {"article": newest.id, "reason": "spam"})
    assert hidden.ephemeral and "Article hidden" in embed_text(hidden)

    gone = await news(world, "article", {"article": newest.id})
    assert "No article matches" in embed_text(gone)
    assert newest.url not in listed_urls(await news(world, "latest"))
    assert newest.id not in await complete_article(
        world, prefix, guild=world.guild, channel=world.channel, user=world.alice
    )

    # The other server is not affected.
    assert newest.url == listed_urls(await in_other(world, other, "latest"))[0]
    assert newest.id in await complete_article(
        world, prefix, guild=other.guild, channel=other.channel, user=other.member
    )
    assert other.guild.name  # and it still reads the article
    assert newest.url in str((await in_other(world, other, "article", {"article": newest.id})).embeds)

    again = await admin(world, "hide", {"article": newest.id})
    assert "already hidden" in embed_text(again)

    result = await world.emulator.send_autocomplete(
        world.guild, world.channel, world.moderator, "admin", {"article": ""}, focused="article", subcommand="unhide"
    )
    assert [c["value"] for c in await result.choices()] == [newest.id], "unhide suggests this server's hidden ones"

    shown = await admin(world, "unhide", {"article": newest.id})
    assert "visible again" in embed_text(shown)
    assert newest.url == listed_urls(await news(world, "latest"))[0]
    not_hidden = await admin(world, "unhide", {"article": newest.id})
    assert "is not hidden" in embed_text(not_hidden)


async def test_hide_an_unknown_article_gets_a_specific_answer(admin_bot: NewsBot, world: World) -> None:
    reply = await admin(world, "hide", {"article": "no-such-article-anywhere"})
    assert reply.ephemeral and "No article matches “no-such-article-anywhere”" in embed_text(reply)


async def test_hidden_articles_leave_related_lists_and_the_context_menu(
    admin_bot: NewsBot, world: World, content_dir: Path
) -> None:
    article = next(a for a in published(content_dir) if len(a.related) >= 2)
    await admin(world, "hide", {"article": article.id})
    message = world.emulator.post_message(world.channel, world.bob.user, f"look {article.url}")
    result = await world.emulator.send_message_context_command(
        world.guild, world.channel, world.alice, "Related news", message
    )
    assert "don't know the article" in embed_text(await result.original_message())


# --- config ----------------------------------------------------------------------------------------


async def test_min_quality_and_include_unpublished(
    admin_bot: NewsBot, world: World, other: Other, content_dir: Path
) -> None:
    by_url = {a.url: a for a in articles(content_dir)}
    low = min(published(content_dir), key=lambda a: a.quality)
    threshold = low.quality + 1
    reply = await admin(world, "config", {"min_quality": threshold})
    assert field(reply, "min_quality") == str(threshold)

    urls = listed_urls(await news(world, "latest"))
    assert urls and all(by_url[u].quality >= threshold for u in urls)
    assert "No article matches" in embed_text(await news(world, "article", {"article": low.id}))
    assert low.title[:30] in embed_text(await in_other(world, other, "article", {"article": low.id}))

    unpublished = max((a for a in articles(content_dir) if not a.published), key=lambda a: a.quality)
    assert "No article matches" in embed_text(await news(world, "article", {"article": unpublished.id}))
    await admin(world, "config", {"include_unpublished": True, "reset": "min_quality"})
    assert unpublished.title[:30] in embed_text(await news(world, "article", {"article": unpublished.id}))
    assert low.title[:30] in embed_text(await news(world, "article", {"article": low.id})), "reset to 0"
    assert "No article matches" in embed_text(await in_other(world, other, "article", {"article": unpublished.id}))

    shown = await admin(world, "config")
    assert field(shown, "min_quality") == "0 (default)"
    assert field(shown, "include_unpublished") == "yes"


async def test_public_results_per_server(admin_bot: NewsBot, world: World, other: Other) -> None:
    assert (await news(world, "topics")).ephemeral
    await admin(world, "config", {"public_results": True})
    assert not (await news(world, "topics")).ephemeral, "this server answers in the channel now"
    assert (await in_other(world, other, "topics")).ephemeral, "the other server still answers privately"
    await admin(world, "config", {"reset": "public_results"})
    assert (await news(world, "topics")).ephemeral


async def test_blocked_providers_and_topics(admin_bot: NewsBot, world: World, other: Other, content_dir: Path) -> None:
    by_url = {a.url: a for a in articles(content_dir)}
    newest = max(published(content_dir), key=lambda a: a.published_at)
    domain = newest.provider.domain

    reply = await admin(world, "config", {"blocked_providers": f"https://{domain.upper()}/, nowhere.example.net"})
    text = embed_text(reply)
    assert domain in field(reply, "blocked_providers") and "nowhere.example.net" in text
    assert "No article in the store comes from `nowhere.example.net`" in text, "unknown domains get a warning"
    urls = listed_urls(await news(world, "latest"))
    assert urls and all(by_url[u].provider.domain != domain for u in urls)
    assert newest.url == listed_urls(await in_other(world, other, "latest"))[0]

    reply = await admin(world, "config", {"blocked_topics": "space, Underwater Basket Weaving"})
    assert field(reply, "blocked_topics") == "Space, Underwater Basket Weaving", "stored in the store's spelling"
    assert "Underwater Basket Weaving" in embed_text(reply) and "No article has the topic" in embed_text(reply)
    topics = embed_text(await news(world, "topics"))
    assert "Space" not in topics and "Space" in embed_text(await in_other(world, other, "topics"))
    result = await world.emulator.send_autocomplete(
        world.guild, world.channel, world.alice, "news", {"name": "spa"}, focused="name", subcommand="topic"
    )
    assert all("Space" not in c["name"] for c in await result.choices())
    assert "blocked the topic" in embed_text(await news(world, "topic", {"name": "Space"}))
    space = next(a for a in published(content_dir) if "Space" in a.topics and a.provider.domain != domain)
    assert "No article matches" in embed_text(await news(world, "article", {"article": space.id}))

    cleared = await admin(world, "config", {"blocked_topics": "none", "blocked_providers": "none"})
    assert field(cleared, "blocked_topics") == "none" and field(cleared, "blocked_providers") == "none"
    assert space.title[:30] in embed_text(await news(world, "article", {"article": space.id}))


async def test_bad_config_values_get_specific_answers(admin_bot: NewsBot, world: World) -> None:
    many = ", ".join(f"site{i}.example.com" for i in range(51))
    reply = await admin(world, "config", {"blocked_providers": many})
    assert reply.ephemeral and "51 entries; at most 50" in embed_text(reply)
    long = ", ".join(f"a-rather-long-topic-name-number-{i:03d}" for i in range(40))
    assert len(long) > 1000
    assert "at most 1,000" in embed_text(await admin(world, "config", {"blocked_topics": long}))
    assert "is not a domain" in embed_text(await admin(world, "config", {"blocked_providers": "not a domain"}))
    both = await admin(world, "config", {"min_quality": 5, "reset": "min_quality"})
    assert "Either set `min_quality` or reset it" in embed_text(both)
    assert field(await admin(world, "config"), "blocked_providers") == "none", "nothing was saved"


async def test_log_channel_announces_admin_actions(
    admin_bot: NewsBot, world: World, content_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    emulator = world.emulator
    mute = emulator.add_text_channel(world.guild, "read-only", bot_deny=Perm.SEND_MESSAGES)
    log_channel = emulator.add_text_channel(world.guild, "mod-log")
    await emulator.wait_until(lambda: admin_bot.get_channel(log_channel.id), what="the bot to see #mod-log")

    refused = await admin(world, "config", {"log_channel": mute})
    assert "I cannot post in" in embed_text(refused) and "**Send Messages**" in embed_text(refused)

    reply = await admin(world, "config", {"log_channel": log_channel})
    assert field(reply, "log_channel") == log_channel.mention
    announced = await emulator.wait_for_message(log_channel, timeout=5)
    assert "Audit: config" in embed_text(announced) and f"<@{world.moderator.id}>" in embed_text(announced)

    target = published(content_dir)[3]
    await admin(world, "hide", {"article": target.id, "reason": "off-topic"})
    hidden = await emulator.wait_for_message(log_channel, after=announced, timeout=5)
    text = embed_text(hidden)
    assert "Audit: hide" in text and target.id in text and "off-topic" in text

    # The bot loses its permission there later: announcing fails quietly, the action still happens.
    log_channel.overwrites.append(Overwrite(emulator.bot_user.id, MEMBER_OVERWRITE, deny=Perm.SEND_MESSAGES))
    with caplog.at_level(logging.WARNING, logger="bot.guilds.audit"):
        reply = await admin(world, "unhide", {"article": target.id})
        await admin_bot.auditor.wait_announced()
    assert "visible again" in embed_text(reply)
    assert "could not announce audit" in caplog.text and "403" in caplog.text
    log_channel.overwrites.pop()
    await admin(world, "hide", {"article": target.id})

    await admin(world, "config", {"reset": "log_channel"})
    before = len(emulator.channel_messages(log_channel))
    await admin(world, "unhide", {"article": target.id})
    await admin_bot.auditor.wait_announced()
    assert len(emulator.channel_messages(log_channel)) == before, "no log channel, no announcement"


async def test_audit_lists_the_latest_actions(admin_bot: NewsBot, world: World, content_dir: Path) -> None:
    target = published(content_dir)[5]
    await admin(world, "config", {"min_quality": 10})
    await admin(world, "hide", {"article": target.id, "reason": "duplicate story"})
    await admin(world, "unhide", {"article": target.id})

    listing = await admin(world, "audit")
    lines = listing.embeds[0]["description"].splitlines()
    assert [re.search(r"\*\*(\w+)\*\*", line)[1] for line in lines] == ["unhide", "hide", "config"]
    assert all(f"<@{world.moderator.id}>" in line for line in lines)
    assert "duplicate story" in lines[1] and target.id[:40] in lines[1]
    assert re.search(r"<t:\d+:f>", lines[0]), "when"
    one = await admin(world, "audit", {"limit": 1})
    assert len(one.embeds[0]["description"].splitlines()) == 1


# --- reload and stats ------------------------------------------------------------------------------


async def test_reload_picks_up_a_new_file_and_reports_a_broken_one(
    admin_bot: NewsBot, world: World, content_dir: Path
) -> None:
    source = next(p for p in sorted((content_dir / "_news").glob("*.md")))
    text = source.read_text(encoding="utf-8")
    original = next(a for a in articles(content_dir) if a.path.endswith(source.name))
    fresh = text.replace(original.title, "Freshly added story about reload").replace(original.url, original.url + "-2")
    (content_dir / "_news" / "2026-11-28-freshly-added.md").write_text(fresh, encoding="utf-8")
    (content_dir / "_news" / "2026-11-28-broken.md").write_text("---\ntitle: [unclosed\n---\n", encoding="utf-8")

    reply = await admin(world, "reload")
    text = embed_text(reply)
    assert reply.ephemeral and "**2** new" in text and "**1** rejected" in text
    assert "2026-11-28-broken.md" in field(reply, "Rejected files")
    assert re.search(r"broken\.md`.*: \S", field(reply, "Rejected files")), "with its reason"

    found = await news(world, "article", {"article": "2026-11-28-freshly-added"})
    assert "Freshly added story about reload" in embed_text(found)
    cooldown = await admin(world, "reload")
    assert "Slow down" in embed_text(cooldown)


async def test_stats_match_the_store(admin_bot: NewsBot, world: World, content_dir: Path) -> None:
    every = articles(content_dir)
    visible = [a for a in every if a.published]
    reply = await admin(world, "stats")
    assert field(reply, "Articles (visible here / total)") == f"{len(visible)} / {len(every)}"
    assert field(reply, "Topics") == str(len({topic_key(t) for a in every for t in a.topics}))
    assert field(reply, "Providers") == str(len({a.provider.domain for a in every}))
    assert field(reply, "Rejected files") == "0"
    assert field(reply, "Digests (active / paused)") == "0 active / 0 paused"
    assert re.fullmatch(r"\d+ ms", field(reply, "Gateway latency"))
    assert "newsbot 0." in reply.embeds[0]["footer"]["text"]

    await admin(world, "hide", {"article": visible[0].id})
    await admin(world, "config", {"min_quality": 100})
    shown = sum(1 for a in visible[1:] if a.quality >= 100)
    reply = await admin(world, "stats")
    assert field(reply, "Articles (visible here / total)") == f"{shown} / {len(every)}"
    assert field(reply, "Hidden here") == "1"


# --- export / import -------------------------------------------------------------------------------


def attachment(message: Message) -> tuple[str, bytes]:
    assert message.attachments, "the export comes as a file"
    name = message.attachments[0]["filename"]
    return name, message.files[name]


async def test_export_then_import_into_another_server(
    admin_bot: NewsBot, world: World, other: Other, content_dir: Path
) -> None:
    emulator = world.emulator
    for guild in (world.guild, other.guild):
        emulator.add_text_channel(guild, "mod-log")
    log_a = world.guild.channel_named("mod-log")
    log_b = other.guild.channel_named("mod-log")
    await emulator.wait_until(lambda: admin_bot.get_channel(log_b.id), what="the bot to see both #mod-log")
    target = max(published(content_dir), key=lambda a: a.published_at)
    await admin(world, "hide", {"article": target.id, "reason": "wrong region"})
    await admin(
        world,
        "config",
        {
            "min_quality": 80,
            "public_results": True,
            "blocked_providers": "arcade.example.org",
            "blocked_topics": "Gaming",
            "log_channel": log_a,
        },
    )
    now = datetime.now(UTC)
    await admin_bot.db.digests.add(
        NewDigest(world.guild.id, world.channel.id, "Space", "08:30", "Europe/Paris", "weekly", 2, 0, 5, now, 1)
    )

    exported = await admin(world, "export")
    assert exported.ephemeral
    name, data = attachment(exported)
    assert name.endswith(".yaml")
    document = yaml.safe_load(data)
    assert document["settings"]["blocked_topics"] == ["Gaming"]
    assert document["hidden"] == [{"id": target.id, "title": target.title, "reason": "wrong region"}]
    assert document["digests"][0]["topic"] == "Space" and document["digests"][0]["time"] == "08:30"

    woken: list[int | None] = []

    async def on_digests_changed(guild_id: int | None = None) -> None:
        woken.append(guild_id)

    admin_bot.add_listener(on_digests_changed)
    imported = await admin(
        world,
        "import",
        {"file": AttachmentFile(name, data)},
        user=other.moderator,
        guild=other.guild,
        channel=other.channel,
    )
    assert "Configuration imported" in embed_text(imported), embed_text(imported)
    assert "min_quality: default → 80" in shown(imported, "Settings changed")
    assert field(imported, "Hidden articles") == "0 → 1" and shown(imported, "Digests removed") == "none"
    assert "Space in #news, weekly on Wednesdays at 08:30 (Europe/Paris)" in shown(imported, "Digests added")
    settings_now = await admin(world, "config", user=other.moderator, guild=other.guild, channel=other.channel)
    assert field(settings_now, "min_quality") == "80"
    assert field(settings_now, "log_channel") == log_b.mention, "the channel is found again by name"
    assert field(settings_now, "hidden articles") == "1"

    # The second server now behaves like the first.
    reply = await in_other(world, other, "article", {"article": target.id})
    assert "No article matches" in embed_text(reply)
    assert not (await in_other(world, other, "topics")).ephemeral
    assert "Gaming" not in embed_text(await in_other(world, other, "topics"))
    await world.emulator.wait_until(lambda: other.guild.id in woken, what="the digest scheduler to be woken")
    digests = await admin_bot.db.digests.for_guild(other.guild.id)
    assert [(d.topic, d.at_time, d.timezone, d.cadence, d.weekday, d.channel_id) for d in digests] == [
        ("Space", "08:30", "Europe/Paris", "weekly", 2, other.channel.id)
    ]

    again = await admin(world, "export", user=other.moderator, guild=other.guild, channel=other.channel)
    second = yaml.safe_load(attachment(again)[1])
    for doc in (document, second):
        doc.pop("server"), doc.pop("exported_at")
        doc["settings"]["log_channel"].pop("id")
        for digest in doc["digests"]:
            digest["channel"].pop("id")
    assert second == document, "exporting the imported configuration gives the same file"

    audit = await admin(world, "audit", user=other.moderator, guild=other.guild, channel=other.channel)
    assert "**import**" in embed_text(audit)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"newsbot: 1\nsettings:\n  min_quality: [1\n", "not valid YAML"),
        (b"newsbot: 1\nsettings:\n  min_quality: high\n", "`settings.min_quality` must be a whole number"),
        (b"newsbot: 1\nsettings:\n  colour: blue\n", "unknown key(s) `colour`"),
        (b"hello: world\n", "unknown key(s) `hello`"),
        (b"settings: {}\n", "not a newsbot backup"),
        (b"newsbot: 1\nhidden: yes\n", "`hidden` must be a list"),
        (
            b"newsbot: 1\nsettings:\n  blocked_providers: ["
            + b", ".join(b"s%d.example.com" % i for i in range(60))
            + b"]\n",
            "`settings.blocked_providers` (line 3) has more than 50 entries; at most 50 are allowed",
        ),
        (b"newsbot: 1\n" + b"#" * (2 * 1024 * 1024 + 10) + b"\n", "at most 2,048 KiB"),
    ],
)
async def test_import_rejects_bad_files_and_changes_nothing(
    admin_bot: NewsBot, world: World, content: bytes, expected: str
) -> None:
    await admin(world, "config", {"min_quality": 42})
    reply = await admin(world, "import", {"file": AttachmentFile("backup.yaml", content)})
    text = embed_text(reply)
    assert reply.ephemeral and expected in text, text
    assert field(await admin(world, "config"), "min_quality") == "42", "nothing was imported"


async def test_invalid_yaml_names_the_line(admin_bot: NewsBot, world: World) -> None:
    content = b"newsbot: 1\nsettings:\n  min_quality: 3\n  blocked_topics: [a, b\n"
    reply = await admin(world, "import", {"file": AttachmentFile("backup.yaml", content)})
    assert re.search(r"not valid YAML: .* at line [45]", embed_text(reply)), embed_text(reply)


# --- owner -----------------------------------------------------------------------------------------


async def test_owner_reload_is_for_the_application_owner_only(
    world: World, settings: Settings, content_dir: Path
) -> None:
    emulator = world.emulator
    owner = emulator.add_member(world.guild, emulator.application_owner)
    boss = emulator.add_member(world.guild, "boss", permissions=Perm.ADMINISTRATOR)
    async with running_bot(emulator, replace(settings)):
        command = next(c for c in emulator.registered_commands() if c["name"] == "owner")
        assert command["default_member_permissions"] == "0", "hidden from all but server admins"
        refused = await send(world, "owner", "reload", user=boss)
        assert refused.ephemeral and "Only the bot's owner" in embed_text(refused)

        (content_dir / "_news" / "2026-11-28-owner.md").write_text(
            (content_dir / "_news")
            .joinpath(sorted(p.name for p in (content_dir / "_news").glob("*.md"))[0])
            .read_text(encoding="utf-8")
            .replace('webUrl: "https://', 'webUrl: "https://owner.'),
            encoding="utf-8",
        )
        done = await send(world, "owner", "reload", user=owner, open_to_all=True)
        assert done.ephemeral and "for all 1 server" in embed_text(done) and "**1** new" in embed_text(done)
    emulator.assert_no_violations()


def _nested(depth: int) -> bytes:
    lines = [b"newsbot: 1", b"hidden:"] + [b"  " * i + b"- " for i in range(1, depth)]
    return b"\n".join(lines) + b"x\n"


HOSTILE_LIMIT = 2 * 1024 * 1024 - 64
HOSTILE = [
    (b"newsbot: 1\nhidden: " + b"[" * 50_000 + b"]" * 50_000 + b"\n", "exceeded maximum nesting depth"),
    (_nested(300), "is nested too deep"),
    (b"newsbot: 1\nsettings:\n  min_quality: " + b"9" * 5000 + b"\n", "is a number 5,000 characters long"),
    (b"newsbot: 1\nexported_at: 2024-13-45\n", "“2024-13-45” is not a valid date"),
    (b"newsbot: 1\nsettings:\n  min_quality: .nan\n", "must be a whole number from 0 to 164, not a decimal number"),
    (b"newsbot: 1\nserver: {name: !!binary aGk=}\n", "has the YAML tag !!binary"),
    (b"a: &a [x, x]\nb: &b [*a, *a]\nnewsbot: *b\n", "uses a YAML alias"),
    (b"newsbot: 1\nnewsbot: 1\n", "has the key `newsbot` twice"),
    (b"newsbot: 1\n1: x\n", "which YAML reads as a number"),
    (b"newsbot: 1\nhidden: [{id: 2024-01-01}]\n", "`hidden[0].id` must be text, not a date"),
    (b"newsbot: 1\nsettings: {min_quality: \xff}\n", "not UTF-8 text"),
    (
        b"newsbot: 1\nhidden:\n" + b"  - {id: article, title: a title, reason: spam}\n" * (HOSTILE_LIMIT // 48),
        "`hidden` (line 5003) has more than 5,000 entries",
    ),
]


@pytest.mark.parametrize(
    ("content", "expected"),
    HOSTILE,
    ids=[
        "deep flow nesting",
        "deep block nesting",
        "huge integer",
        "impossible date",
        "nan",
        "binary tag",
        "alias",
        "duplicate key",
        "number key",
        "date for text",
        "invalid utf-8",
        "2 MB of hidden entries",
    ],
)
async def test_a_hostile_file_gets_import_failed_privately(
    admin_bot: NewsBot, world: World, content: bytes, expected: str
) -> None:
    await admin(world, "config", {"min_quality": 42})
    reply = await admin(world, "import", {"file": AttachmentFile("backup.yaml", content)})
    text = embed_text(reply)
    assert reply.ephemeral and reply.embeds[0]["title"] == "Import failed", text
    assert "Nothing was imported." in text and expected in text, text
    assert field(await admin(world, "config"), "min_quality") == "42", "nothing was imported"


async def _two_servers_with_digests(admin_bot: NewsBot, world: World, other: Other) -> tuple[bytes, int]:
    """A backup of the first server, whose digests post in #news (the other server has one too)
    and #announcements (only the first has it); the other server has a digest of its own."""
    announcements = world.emulator.add_text_channel(world.guild, "announcements")
    await world.emulator.wait_until(lambda: admin_bot.get_channel(announcements.id), what="#announcements")
    now = datetime.now(UTC)
    for channel, topic in ((world.channel, "Space"), (announcements, "Gaming")):
        await admin_bot.db.digests.add(
            NewDigest(world.guild.id, channel.id, topic, "08:30", "UTC", "daily", 0, 0, 5, now, 1)
        )
    await admin(world, "config", {"min_quality": 70})
    _, data = attachment(await admin(world, "export"))
    theirs = await admin_bot.db.digests.add(
        NewDigest(other.guild.id, other.channel.id, "Weather", "18:00", "Europe/Paris", "weekdays", 0, 0, 3, now, 1)
    )
    return data, theirs.id


async def _import_in_other(world: World, other: Other, data: bytes) -> tuple[Any, Message]:
    result = await world.emulator.send_slash_command(
        other.guild,
        other.channel,
        other.moderator,
        "admin",
        {"file": AttachmentFile("elsewhere.yaml", data)},
        subcommand="import",
    )
    return result, await result.original_message(timeout=10)


async def _other_state(admin_bot: NewsBot, other: Other) -> tuple[list[str], int | None]:
    digests = [d.topic for d in await admin_bot.db.digests.for_guild(other.guild.id)]
    return digests, (await admin_bot.db.guilds.settings(other.guild.id)).min_quality


async def test_a_cross_server_import_shows_what_it_replaces_and_asks_first(
    admin_bot: NewsBot, world: World, other: Other
) -> None:
    data, theirs = await _two_servers_with_digests(admin_bot, world, other)
    _, preview = await _import_in_other(world, other, data)
    text = embed_text(preview)
    assert preview.ephemeral and preview.embeds[0]["title"] == "Import: confirm first", text
    assert "remove 1 digest" in text and "Nothing has changed yet" in text
    assert f"#{theirs} Weather in #news, on weekdays" in shown(preview, "Digests removed")
    assert "Space in #news, daily at 08:30 (UTC)" in shown(preview, "Digests added")
    assert "Digest about Gaming (#announcements): no such channel here" in field(
        preview, "Not in this server (skipped)"
    )
    assert "min_quality: default → 70" in shown(preview, "Settings that change")
    assert await _other_state(admin_bot, other) == (["Weather"], None), "nothing changes before the answer"

    # Cancel changes nothing.
    cancelled = await world.emulator.click_button(preview, button(preview, "Cancel")["custom_id"], other.moderator)
    closed = await cancelled.original_message()
    assert "Import cancelled" in embed_text(closed) and not closed.components
    assert await _other_state(admin_bot, other) == (["Weather"], None)
    assert all(e.action != "import" for e in await admin_bot.db.audit.latest(other.guild.id, 25))

    # Import applies, and the audit names what was removed.
    _, preview = await _import_in_other(world, other, data)
    confirmed = await world.emulator.click_button(preview, button(preview, "Import")["custom_id"], other.moderator)
    done = await confirmed.original_message()
    assert "Configuration imported" in embed_text(done) and not done.components
    assert await _other_state(admin_bot, other) == (["Space"], 70)
    [entry] = [e for e in await admin_bot.db.audit.latest(other.guild.id, 25) if e.action == "import"]
    assert entry.details["digests and alerts removed"] == [
        f"digest #{theirs} Weather in #news, on weekdays (Monday to Friday) at 18:00 (Europe/Paris)"
    ]
    assert entry.details["not mapped"] == ["Digest about Gaming (#announcements): no such channel here."]
    listing = await admin(world, "audit", user=other.moderator, guild=other.guild, channel=other.channel)
    assert f"**import** · digests and alerts removed: digest #{theirs} Weather in #news" in unescaped(
        embed_text(listing)
    )


async def test_the_same_backup_again_asks_nothing_and_keeps_the_digests(
    admin_bot: NewsBot, world: World, other: Other
) -> None:
    data, _ = await _two_servers_with_digests(admin_bot, world, other)
    before = await admin_bot.db.digests.for_guild(world.guild.id)
    reply = await admin(world, "import", {"file": AttachmentFile("same.yaml", data)})
    assert "Configuration imported" in embed_text(reply) and not reply.components, embed_text(reply)
    assert shown(reply, "Digests removed") == "none"
    assert await admin_bot.db.digests.for_guild(world.guild.id) == before, "same digests, same ids and progress"


async def test_an_unanswered_confirmation_expires_and_changes_nothing(
    admin_bot: NewsBot, world: World, other: Other, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, _ = await _two_servers_with_digests(admin_bot, world, other)
    monkeypatch.setattr(admin_bot.get_cog("Admin"), "confirm_timeout", 0.5)
    result, preview = await _import_in_other(world, other, data)
    assert button(preview, "Import")
    expired = await world.emulator.wait_until(
        lambda: (m := result.original) is not None and "Import expired" in embed_text(m) and m,
        timeout=5,
        what="the confirmation to expire",
    )
    assert not expired.components, "no button is left to press"
    assert await _other_state(admin_bot, other) == (["Weather"], None)


@pytest.mark.parametrize("where", ["_hidden_params", "_new_digest_params"])
async def test_a_failure_half_way_through_an_import_leaves_the_server_as_it_was(
    admin_bot: NewsBot, world: World, other: Other, content_dir: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    target = published(content_dir)[0]
    await admin(world, "hide", {"article": target.id})
    data, _ = await _two_servers_with_digests(admin_bot, world, other)

    def broken(*args: object) -> object:
        raise RuntimeError("injected failure")

    monkeypatch.setattr(sqlite_guilds if where == "_hidden_params" else sqlite_digests, where, broken)
    _, preview = await _import_in_other(world, other, data)
    confirmed = await world.emulator.click_button(preview, button(preview, "Import")["custom_id"], other.moderator)
    answer = await confirmed.response()
    assert answer.ephemeral and "something went wrong" in str(answer.data).lower()
    assert await _other_state(admin_bot, other) == (["Weather"], None), "the digest removal was rolled back"
    assert await admin_bot.db.guilds.hidden_ids(other.guild.id) == frozenset()


async def test_a_failure_after_the_digests_leaves_them_as_they_were(
    admin_bot: NewsBot, world: World, other: Other, content_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await admin(world, "hide", {"article": published(content_dir)[0].id})
    data, theirs = await _two_servers_with_digests(admin_bot, world, other)
    await admin_bot.db.digests.remove(theirs)  # nothing to remove: the import applies without asking

    def broken(*args: object) -> object:
        raise RuntimeError("injected failure")

    monkeypatch.setattr(sqlite_guilds, "_hidden_params", broken)
    _, reply = await _import_in_other(world, other, data)
    assert "something went wrong" in embed_text(reply).lower()
    assert await _other_state(admin_bot, other) == ([], None), "no digest was added"


async def test_any_digest_digest_add_accepts_can_be_exported_and_imported(
    admin_bot: NewsBot, world: World, other: Other
) -> None:
    command = next(c for c in world.emulator.registered_commands() if c["name"] == "digest")
    add = next(o for o in command["options"] if o["name"] == "add")
    limits = {o["name"]: (o.get("min_value"), o.get("max_value")) for o in add["options"]}
    low, high = limits["min_quality"]
    fewest, most = limits["max_items"]
    for quality, items in ((low, fewest), (high, most)):
        result = await world.emulator.send_slash_command(
            world.guild,
            world.channel,
            world.moderator,
            "digest",
            {
                "channel": world.channel.id,
                "topic": "Space",
                "time": "09:00",
                "min_quality": quality,
                "max_items": items,
            },
            subcommand="add",
        )
        assert "Digest scheduled" in embed_text(await result.original_message())
    _, data = attachment(await admin(world, "export"))
    _, imported = await _import_in_other(world, other, data)
    assert "Configuration imported" in embed_text(imported), embed_text(imported)
    stored = await admin_bot.db.digests.for_guild(other.guild.id)
    assert [(d.min_quality, d.max_items) for d in stored] == [(low, fewest), (high, most)]
