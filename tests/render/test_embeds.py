from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import discord
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bot.db.types import ArticleSummary, RelatedItem, TopicCount
from bot.render.embeds import Limit, article_embed, fit_embed, list_embed, related_embed, summary_line, topics_embed
from bot.store.models import Article, Image, Provider

from .conftest import EmbedChecker
from .strategies import articles, related_items, summaries, topic_counts

WHEN = datetime(2026, 11, 20, 9, 15, tzinfo=UTC)
SECRET = "H9aoVZ658knu7RR21R1kuHJ1nebyZ5Sij==;CYBVT/4NbgZt66S1jsg9SQ=="
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def make_article(**overrides: object) -> Article:
    values: dict[str, object] = {
        "id": "heat-pumps",
        "path": "_news/2026-11-26-heat-pumps.md",
        "title": "Heat pumps outsell gas boilers",
        "url": "https://greengrid.example.org/energy/heat-pumps",
        "published_at": WHEN,
        "provider": Provider("Green Grid Journal", "greengrid.example.org", "https://images.example.org/logos/g.png"),
        "excerpt": "Installer surveys show heat pumps ahead in every Nordic market.",
        "topics": ("Climate", "Energy"),
        "images": (Image("https://images.example.org/news/heat-pumps.jpg", 1200, 675),),
        "secured": SECRET,
    }
    values.update(overrides)
    return Article(**values)  # type: ignore[arg-type]


def make_summary(n: int, **overrides: object) -> ArticleSummary:
    values: dict[str, object] = {
        "id": f"a{n}",
        "title": f"Story number {n}",
        "url": f"https://news.example.org/story/{n}",
        "excerpt": "",
        "published_at": WHEN - timedelta(hours=n),
        "provider_name": "Example Wire",
        "provider_domain": "news.example.org",
        "image_url": f"https://images.example.org/news/{n}.jpg",
        "quality": 50,
        "heat": 10,
    }
    values.update(overrides)
    return ArticleSummary(**values)  # type: ignore[arg-type]


def assert_valid(checker: EmbedChecker, embed: discord.Embed) -> None:
    problems = checker.problems(embed)
    assert not problems, problems


# --- article card -------------------------------------------------------------------------------


def test_article_card_shows_what_a_reader_needs(embed_checker: EmbedChecker) -> None:
    embed = article_embed(make_article())
    assert embed.title == "Heat pumps outsell gas boilers"
    assert embed.url == "https://greengrid.example.org/energy/heat-pumps"
    assert embed.description == "Installer surveys show heat pumps ahead in every Nordic market."
    assert embed.author.name == "Green Grid Journal"
    assert embed.author.url == "https://greengrid.example.org"
    assert embed.author.icon_url == "https://images.example.org/logos/g.png"
    assert embed.image.url == "https://images.example.org/news/heat-pumps.jpg"
    assert embed.timestamp == WHEN
    assert embed.footer.text is not None
    assert "Climate, Energy" in embed.footer.text
    assert_valid(embed_checker, embed)


def test_secured_and_featured_content_never_appear() -> None:
    embed = article_embed(make_article(has_featured_content=True, body="<iframe src='x'></iframe>"))
    dumped = json.dumps(embed.to_dict())
    assert SECRET not in dumped
    assert "iframe" not in dumped


def test_markdown_and_mentions_in_titles_show_literally(embed_checker: EmbedChecker) -> None:
    embed = article_embed(make_article(title="PSA: @everyone *fake* giveaways", excerpt="Ask @here about `webhooks`"))
    assert embed.title == "PSA: @\u200beveryone \\*fake\\* giveaways"
    assert embed.description == "Ask @\u200bhere about \\`webhooks\\`"
    assert_valid(embed_checker, embed)


def test_long_title_and_excerpt_are_cut_at_words(embed_checker: EmbedChecker) -> None:
    title = "Community release notes, annotated: " + "what changed and why it matters " * 12
    excerpt = "Lighthouse started life as a weekend project. " * 120
    embed = article_embed(make_article(title=title, excerpt=excerpt))
    assert embed.title is not None
    assert embed.description is not None
    assert len(embed.title) <= Limit.TITLE
    assert embed.title.endswith("…")
    assert title.startswith(embed.title[:-1])
    assert title[len(embed.title) - 1] == " "
    assert embed.description.endswith("…")
    assert len(embed) <= Limit.TOTAL
    assert_valid(embed_checker, embed)


def test_video_links_to_its_original_url_and_says_video(embed_checker: EmbedChecker) -> None:
    original = "https://video.example.com/watch?v=aurora3-landing-replay"
    embed = article_embed(make_article(type="video", url=original, original_url=original, has_featured_content=True))
    assert embed.url == original
    assert embed.title is not None
    assert embed.title.startswith("▶ ")
    assert embed.footer.text is not None
    assert embed.footer.text.startswith("Video")
    assert_valid(embed_checker, embed)


def test_unusable_urls_are_left_out_instead_of_failing(embed_checker: EmbedChecker) -> None:
    embed = article_embed(
        make_article(
            url="javascript:alert(1)",
            images=(Image("data:image/png;base64,AAAA"),),
            provider=Provider("Odd", "not a domain", "ftp://logo"),
        )
    )
    assert embed.url is None
    assert embed.image.url is None
    assert embed.author.name == "Odd"
    assert embed.author.url is None
    assert embed.author.icon_url is None
    assert_valid(embed_checker, embed)


def test_naive_times_are_taken_as_utc() -> None:
    embed = article_embed(make_article(published_at=datetime(2026, 11, 20, 9, 15)))
    assert embed.timestamp == WHEN


@FUZZ
@given(articles)
def test_any_article_renders_a_valid_embed(embed_checker: EmbedChecker, article: Article) -> None:
    assert article.secured is not None
    assume(all(article.secured not in text for text in (article.title, article.excerpt, article.url, article.path)))
    embed = article_embed(article)
    assert_valid(embed_checker, embed)
    assert article.secured not in json.dumps(embed.to_dict(), ensure_ascii=False)


# --- lists --------------------------------------------------------------------------------------


def test_summary_line_is_numbered_linked_and_dated() -> None:
    line = summary_line(make_summary(3, title="Lanterns *Below*"), 7)
    stamp = int((WHEN - timedelta(hours=3)).timestamp())
    assert line == f"**7.** [Lanterns \\*Below\\*](https://news.example.org/story/3) — Example Wire · <t:{stamp}:R>"


def test_list_numbering_continues_across_pages_and_marks_the_choice(embed_checker: EmbedChecker) -> None:
    items = [make_summary(n) for n in range(10)]
    embed = list_embed("Latest in Space", items, offset=20, has_more=True, total=47, selected=2)
    assert embed.description is not None
    lines = embed.description.splitlines()
    assert len(lines) == 10
    assert lines[0].startswith("**21.** [Story number 0]")
    assert lines[2].startswith("➤ **23.** [Story number 2]")
    assert lines[9].startswith("**30.** ")
    assert embed.thumbnail.url == "https://images.example.org/news/2.jpg"
    assert embed.footer.text == "21–30 of 47 articles · more on the next page"
    assert_valid(embed_checker, embed)


def test_empty_list_says_so(embed_checker: EmbedChecker) -> None:
    embed = list_embed("Search: hedgehogs", [], offset=0, has_more=False, total=0)
    assert embed.description == "No articles found."
    assert_valid(embed_checker, embed)


def test_a_page_of_huge_items_stays_within_limits(embed_checker: EmbedChecker) -> None:
    items = [
        make_summary(n, title="Very long headline " * 30, url="https://news.example.org/" + "p" * 1500 + str(n))
        for n in range(25)
    ]
    embed = list_embed("Everything", items, offset=0, has_more=False, total=25)
    assert embed.description is not None
    assert len(embed.description) <= Limit.DESCRIPTION
    assert "](https://news.example.org/ppp" not in embed.description  # links too long to list are dropped
    assert_valid(embed_checker, embed)


def test_list_overflow_counts_what_was_left_out() -> None:
    items = [make_summary(n, url=f"https://news.example.org/{'q' * 400}/{n}") for n in range(25)]
    embed = list_embed("Everything", items, offset=0, has_more=False)
    assert embed.description is not None
    lines = embed.description.splitlines()
    shown = [line for line in lines if line.startswith("**")]
    match = re.fullmatch(r"…and (\d+) more", lines[-1])
    assert match is not None
    assert len(shown) + int(match.group(1)) == 25


@FUZZ
@given(
    st.lists(summaries, max_size=25),
    st.integers(0, 10_000),
    st.booleans(),
    st.none() | st.integers(0, 10**6),
    st.data(),
)
def test_any_page_renders_a_valid_embed(
    embed_checker: EmbedChecker,
    items: Sequence[ArticleSummary],
    offset: int,
    has_more: bool,
    total: int | None,
    data: st.DataObject,
) -> None:
    selected = data.draw(st.none() | st.integers(0, max(0, len(items) - 1)))
    assert_valid(
        embed_checker, list_embed("Latest", items, offset=offset, has_more=has_more, total=total, selected=selected)
    )


# --- related ------------------------------------------------------------------------------------


def test_related_drops_self_links_and_duplicates_and_marks_external(embed_checker: EmbedChecker) -> None:
    article = make_article()
    inside = make_summary(1, title="Rooftop solar co-ops share batteries")
    items = [
        RelatedItem(inside.title, inside.url, "Green Grid Journal", inside.published_at, inside),
        RelatedItem(article.title, article.url, "Green Grid Journal", WHEN),
        RelatedItem(inside.title, inside.url, "Green Grid Journal", inside.published_at, inside),
        RelatedItem("What lunar ice could mean", "https://explainers.example.net/space/ice", "Explainers", None),
    ]
    embed = related_embed(article, items)
    assert embed.description is not None
    lines = embed.description.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("**1.** [Rooftop solar co-ops share batteries](https://news.example.org/story/1)")
    assert (
        lines[1]
        == "**2.** [What lunar ice could mean](https://explainers.example.net/space/ice) — Explainers · external"
    )
    assert embed.footer.text == "2 related links · 1 in this library"
    assert_valid(embed_checker, embed)


def test_no_related_articles(embed_checker: EmbedChecker) -> None:
    embed = related_embed(make_article(), [])
    assert embed.description == "No related articles."
    assert_valid(embed_checker, embed)


@FUZZ
@given(articles, st.lists(related_items, max_size=150))
def test_any_related_list_renders_a_valid_embed(
    embed_checker: EmbedChecker, article: Article, items: Sequence[RelatedItem]
) -> None:
    embed = related_embed(article, items)
    assert_valid(embed_checker, embed)
    assert article.secured is not None
    assume(article.secured not in article.title)
    assert article.secured not in json.dumps(embed.to_dict(), ensure_ascii=False)


# --- topics -------------------------------------------------------------------------------------


def test_topics_show_counts_in_order(embed_checker: EmbedChecker) -> None:
    embed = topics_embed([TopicCount("Space", 7), TopicCount("AI", 6), TopicCount("Open_Source", 1)])
    assert embed.description == "• Space — 7\n• AI — 6\n• Open\\_Source — 1"
    assert embed.footer.text == "3 topics · 14 tagged articles"
    assert_valid(embed_checker, embed)


def test_a_thousand_topics_fit_and_the_rest_is_counted(embed_checker: EmbedChecker) -> None:
    topics = [TopicCount(f"Topic number {n}", 1000 - n) for n in range(1000)]
    embed = topics_embed(topics)
    assert embed.description is not None
    lines = embed.description.splitlines()
    match = re.fullmatch(r"…and (\d+) more topics", lines[-1])
    assert match is not None
    assert len(lines) - 1 + int(match.group(1)) == 1000
    assert lines[0] == "• Topic number 0 — 1000"
    assert_valid(embed_checker, embed)


@FUZZ
@given(st.lists(topic_counts, max_size=400))
def test_any_topic_list_renders_a_valid_embed(embed_checker: EmbedChecker, topics: Sequence[TopicCount]) -> None:
    assert_valid(embed_checker, topics_embed(topics))


# --- the final guard ----------------------------------------------------------------------------


def test_fit_shortens_the_description_before_fields() -> None:
    embed = discord.Embed(title="t" * 256, description="word " * 819)
    embed.add_field(name="First", value="v" * 1024)
    embed.add_field(name="Second", value="w" * 1024)
    fit_embed(embed)
    assert len(embed) <= Limit.TOTAL
    assert [field.value for field in embed.fields] == ["v" * 1024, "w" * 1024]
    assert embed.description is not None
    assert embed.description.endswith("…")


def test_fit_trims_fields_from_the_end_when_the_description_is_not_enough() -> None:
    embed = discord.Embed(title="Digest", description="d" * 300)
    for n in range(30):
        embed.add_field(name=f"Field {n}", value="x" * 1024)
    fit_embed(embed)
    assert len(embed) <= Limit.TOTAL
    assert embed.description is None
    assert [field.name for field in embed.fields] == [f"Field {n}" for n in range(len(embed.fields))]
    assert all(field.value == "x" * 1024 for field in embed.fields[:-1])
    assert len(embed) > Limit.TOTAL - 1024  # only as much as needed was removed


@FUZZ
@given(
    st.text(max_size=400),
    st.text(max_size=5000),
    st.lists(st.tuples(st.text(max_size=300), st.text(max_size=1200)), max_size=30),
    st.text(max_size=2500),
    st.text(max_size=300),
)
def test_fit_always_lands_within_discord_limits(
    embed_checker: EmbedChecker,
    title: str,
    description: str,
    fields: list[tuple[str, str]],
    footer: str,
    author: str,
) -> None:
    assume(title.strip() or description.strip() or fields)
    embed = discord.Embed(title=title or None, description=description or None)
    for name, value in fields:
        embed.add_field(name=name, value=value)
    if footer:
        embed.set_footer(text=footer)
    if author:
        embed.set_author(name=author)
    payload = fit_embed(embed).to_dict()
    problems = [p for p in embed_checker.problems(payload) if "mention syntax" not in p and p != "empty embed"]
    assert not problems, problems
