"""/news through the real discord.py client and the emulator: what a member sees."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from bot.app.client import NewsBot
from bot.demo.harness import running_bot
from bot.settings import Settings
from bot.store.loader import load_directory
from bot.store.models import Article
from tests.e2e.conftest import World, button, embed_text, select

pytestmark = pytest.mark.e2e


def published(content_dir: Path) -> list[Article]:
    return [a for a in load_directory(content_dir).articles if a.published]


async def run(world: World, name: str, options: dict[str, str] | None = None, *, sub: str, user=None):
    result = await world.emulator.send_slash_command(
        world.guild, world.channel, user or world.alice, name, options, subcommand=sub
    )
    message = await result.original_message()
    assert result.elapsed is not None and result.elapsed < 3, "answered within Discord's 3 seconds"
    return result, message


async def test_topics_lists_every_published_topic_with_its_count(bot: NewsBot, world: World, content_dir: Path) -> None:
    expected = Counter(t for a in published(content_dir) for t in a.topics)
    _, message = await run(world, "news", sub="topics")
    assert message.ephemeral, "lookups answer privately"
    text = embed_text(message)
    for topic, count in expected.items():
        assert re.search(rf"{re.escape(topic)}\W+{count}\b", text), f"{topic} with {count} articles is listed"


async def test_topic_latest_and_top_order(bot: NewsBot, world: World, content_dir: Path) -> None:
    space = [a for a in published(content_dir) if "Space" in a.topics]
    _, latest = await run(world, "news", {"name": "space"}, sub="topic")  # case-insensitive
    newest = max(space, key=lambda a: a.published_at)
    assert "Latest in Space" in latest.embeds[0]["title"]
    first_line = latest.embeds[0]["description"].splitlines()[0]
    assert newest.url in first_line
    _, top = await run(world, "news", {"name": "Space", "sort": "top"}, sub="topic")
    hottest = max(space, key=lambda a: (a.heat, a.quality, a.published_at))
    assert hottest.url in top.embeds[0]["description"].splitlines()[0]


async def test_search_finds_words_and_respects_topic(bot: NewsBot, world: World, content_dir: Path) -> None:
    articles = published(content_dir)
    _, message = await run(world, "news", {"query": "batteries"}, sub="search")
    hits = [a for a in articles if "batter" in (a.title + a.excerpt).lower()]
    assert hits, "the bundled content mentions batteries"
    assert any(a.url in message.embeds[0]["description"] for a in hits)
    _, scoped = await run(world, "news", {"query": "open", "topic": "Security"}, sub="search")
    urls = re.findall(r"\]\((https?://[^)]+)\)", scoped.embeds[0]["description"])
    by_url = {a.url: a for a in articles}
    assert urls and all("Security" in by_url[u].topics for u in urls if u in by_url)


async def test_article_embed_has_title_link_image_source_and_time(
    bot: NewsBot, world: World, content_dir: Path
) -> None:
    article = next(a for a in published(content_dir) if a.images and a.provider.logo_url)
    _, message = await run(world, "news", {"article": article.id}, sub="article")
    embed = message.embeds[0]
    assert embed["url"] == article.url
    assert embed["image"]["url"] == article.images[0].url
    assert embed["author"]["name"] == article.provider.name
    assert embed["timestamp"].startswith(article.published_at.strftime("%Y-%m-%dT%H:%M"))
    assert button(message, "Read at source")["url"] == article.url
    assert article.secured is None or article.secured not in str(message.embeds)


async def test_unpublished_articles_are_not_served(bot: NewsBot, world: World, content_dir: Path) -> None:
    hidden = next(a for a in load_directory(content_dir).articles if not a.published)
    result = await world.emulator.send_slash_command(
        world.guild, world.channel, world.alice, "news", {"article": hidden.id}, subcommand="article"
    )
    message = await result.original_message()
    assert message.ephemeral and "No article matches" in embed_text(message)


async def test_autocomplete_is_fast_bounded_and_prefix_first(bot: NewsBot, world: World) -> None:
    result = await world.emulator.send_autocomplete(
        world.guild, world.channel, world.alice, "news", {"name": "s"}, focused="name", subcommand="topic"
    )
    choices = await result.choices()
    assert result.elapsed is not None and result.elapsed < 0.5
    assert 0 < len(choices) <= 25
    names = [c["value"] for c in choices]
    prefixed = [n for n in names if n.lower().startswith("s")]
    assert names[: len(prefixed)] == prefixed, "prefix matches come first"
    assert all(re.search(r"\(\d+\)$", c["name"]) for c in choices), "topics show their counts"

    result = await world.emulator.send_autocomplete(
        world.guild, world.channel, world.alice, "news", {"article": "auro"}, focused="article", subcommand="article"
    )
    articles = await result.choices()
    assert articles and "aurora" in articles[0]["name"].lower()


async def test_paging_choose_related_and_share(bot: NewsBot, world: World, content_dir: Path) -> None:
    _, message = await run(world, "news", sub="latest")
    assert button(message, "Previous").get("disabled") is True
    first_page = message.embeds[0]["description"]

    clicked = await world.emulator.click_button(message, button(message, "Next")["custom_id"], world.alice)
    message = await clicked.original_message()
    assert message.embeds[0]["description"] != first_page
    assert not button(message, "Previous").get("disabled")

    menu = select(message)
    second = menu["options"][1]
    chosen = await world.emulator.select_menu(message, menu["custom_id"], [second["value"]], world.alice)
    message = await chosen.original_message()
    assert "➤" in message.embeds[0]["description"].splitlines()[1]

    related = await world.emulator.click_button(message, button(message, "Related")["custom_id"], world.alice)
    reply = await related.response()
    assert reply.ephemeral and reply.data and "Related" in reply.data["embeds"][0]["title"]

    before = len(world.emulator.channel_messages(world.channel))
    shared = await world.emulator.click_button(message, button(message, "Share")["custom_id"], world.alice)
    public = await shared.response()
    assert not public.ephemeral, "sharing posts publicly"
    assert len(world.emulator.channel_messages(world.channel)) == before + 1
    assert world.emulator.channel_messages(world.channel)[-1].embeds[0]["url"] == button(message, "Read")["url"]


async def test_only_the_member_who_asked_can_page(world: World, settings: Settings) -> None:
    # Private answers cannot be clicked by others at all; public ones are checked at run time.
    async with running_bot(world.emulator, replace(settings, public_results=True)):
        await _only_owner_pages(world)
    world.emulator.assert_no_violations()


async def _only_owner_pages(world: World) -> None:
    result, message = await run(world, "news", sub="latest")
    assert not message.ephemeral
    first_page = message.embeds[0]["description"]
    other = await world.emulator.click_button(message, button(message, "Next")["custom_id"], world.bob)
    reply = await other.response()
    assert reply.ephemeral and reply.data and "Only the person who ran this command" in str(reply.data)
    assert (await result.original_message()).embeds[0]["description"] == first_page, "the page did not turn"


async def test_unknown_topic_suggests_the_closest(bot: NewsBot, world: World) -> None:
    _, message = await run(world, "news", {"name": "Spce"}, sub="topic")
    assert message.ephemeral
    text = embed_text(message)
    assert "no topic called" in text and "Space" in text


async def test_empty_search_gets_a_private_hint(bot: NewsBot, world: World) -> None:
    _, message = await run(world, "news", {"query": "zzxqv"}, sub="search")
    assert message.ephemeral and "Nothing matches" in embed_text(message)


async def test_search_syntax_characters_are_just_text(bot: NewsBot, world: World) -> None:
    for query in ['"unbalanced', "NEAR(a b", "title:*", "a OR", "-", "^*"]:
        _, message = await run(world, "news", {"query": query}, sub="search")
        assert message.ephemeral
        assert "something went wrong" not in embed_text(message).lower(), query


async def test_everyone_in_an_article_title_pings_nobody(bot: NewsBot, world: World, content_dir: Path) -> None:
    bait = next(a for a in published(content_dir) if "@everyone" in a.title)
    _, message = await run(world, "news", {"article": bait.id}, sub="article")
    text = embed_text(message)
    assert "everyone" in text and "@everyone" not in text
    # the emulator also rejects any message-creating request without allowed_mentions parse=[]


async def test_related_news_context_menu(bot: NewsBot, world: World, content_dir: Path) -> None:
    article = next(a for a in published(content_dir) if len(a.related) >= 2)
    message = world.emulator.post_message(world.channel, world.bob.user, f"have you read {article.url} ?")
    result = await world.emulator.send_message_context_command(
        world.guild, world.channel, world.alice, "Related news", message
    )
    reply = await result.original_message()
    assert reply.ephemeral and article.title[:40] in embed_text(reply)

    plain = world.emulator.post_message(world.channel, world.bob.user, "no links here")
    result = await world.emulator.send_message_context_command(
        world.guild, world.channel, world.alice, "Related news", plain
    )
    assert "no link" in embed_text(await result.original_message())
