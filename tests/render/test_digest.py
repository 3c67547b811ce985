"""The digest message: one message, header plus cards plus a list, within Discord's message limits."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import discord
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.db.types import ArticleSummary
from bot.emulator.errors import FormErrors
from bot.emulator.limits import check_message, embed_text_length
from bot.render.digest import digest_date_text, digest_message, message_text_length

from .conftest import EmbedChecker, discord_rule_violations
from .strategies import any_text, short_text, summaries

WHEN = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def story(n: int, **overrides: object) -> ArticleSummary:
    values: dict[str, object] = {
        "id": f"a{n}",
        "title": f"Story number {n}",
        "url": f"https://news.example.org/story/{n}",
        "excerpt": f"What happened in story {n}.",
        "published_at": WHEN - timedelta(hours=n),
        "provider_name": "Example Wire",
        "provider_domain": "news.example.org",
        "image_url": f"https://images.example.org/news/{n}.jpg",
        "quality": 50,
        "heat": 10,
    }
    values.update(overrides)
    return ArticleSummary(**values)  # type: ignore[arg-type]


def message_problems(checker: EmbedChecker, embeds: Sequence[discord.Embed]) -> list[str]:
    """Everything Discord (and our no-ping rule) would object to in a message with these embeds."""
    payloads: list[dict[str, Any]] = json.loads(json.dumps([embed.to_dict() for embed in embeds]))
    body = {"embeds": payloads, "allowed_mentions": {"parse": []}, "nonce": "d1-abc", "enforce_nonce": True}
    found = [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in checker.validator.iter_errors(body)
    ]
    for i, payload in enumerate(payloads):
        found += [f"embeds/{i}: {problem}" for problem in discord_rule_violations(payload)]
    errors = FormErrors()
    check_message(body, errors, creates=True, require_no_mentions=True)
    if errors:
        found.append(errors.summary())
    # Our own count too, so the emulator's rule and ours cannot drift apart unnoticed.
    total = sum(embed_text_length(payload) for payload in payloads)
    if total != message_text_length(embeds):
        found.append(f"length disagreement: {total} != {message_text_length(embeds)}")
    return found


def assert_valid(checker: EmbedChecker, embeds: Sequence[discord.Embed]) -> None:
    problems = message_problems(checker, embeds)
    assert not problems, problems


# --- layout ---------------------------------------------------------------------------------------------


def test_five_articles_make_a_header_three_cards_and_a_list(embed_checker: EmbedChecker) -> None:
    items = [story(n) for n in range(1, 6)]
    embeds = digest_message("Climate", "Tuesday 3 March 2026", items, timezone="Europe/London")

    header, *cards, more = embeds
    assert header.title == "Climate digest"
    assert header.description == "**5 new articles** for Tuesday 3 March 2026 (Europe/London)"
    assert [card.title for card in cards] == ["Story number 1", "Story number 2", "Story number 3"]
    first = cards[0]
    assert first.url == "https://news.example.org/story/1"
    assert first.description == "What happened in story 1."
    assert first.author.name == "Example Wire"
    assert first.author.url == "https://news.example.org"
    assert first.thumbnail.url == "https://images.example.org/news/1.jpg"
    assert first.timestamp == WHEN - timedelta(hours=1)
    assert more.title == "More new articles"
    assert more.description is not None
    lines = more.description.split("\n")
    assert len(lines) == 2
    assert lines[0].startswith("**4.** [Story number 4](https://news.example.org/story/4) — Example Wire")
    assert lines[1].startswith("**5.** [Story number 5](https://news.example.org/story/5)")
    assert_valid(embed_checker, embeds)


def test_a_single_article_says_so_in_the_singular(embed_checker: EmbedChecker) -> None:
    embeds = digest_message("Space", "Monday 2 March 2026", [story(1)], timezone="UTC")
    assert len(embeds) == 2
    assert embeds[0].description == "**1 new article** for Monday 2 March 2026 (UTC)"
    assert_valid(embed_checker, embeds)


def test_no_articles_renders_only_a_header_for_previews(embed_checker: EmbedChecker) -> None:
    embeds = digest_message("Space", "Monday 2 March 2026", [], timezone="America/New_York")
    assert len(embeds) == 1
    assert embeds[0].description == "No new articles for Monday 2 March 2026 (America/New\\_York)."
    assert_valid(embed_checker, embeds)


def test_ten_articles_fit_in_one_message(embed_checker: EmbedChecker) -> None:
    items = [story(n) for n in range(1, 11)]
    embeds = digest_message("Climate", "Tuesday 3 March 2026", items, timezone="Europe/London")
    assert len(embeds) == 5
    assert embeds[-1].description is not None
    assert embeds[-1].description.count("\n") == 6  # items 4..10
    assert "**10.**" in embeds[-1].description
    assert_valid(embed_checker, embeds)


def test_more_cards_on_request_but_never_more_than_ten_embeds(embed_checker: EmbedChecker) -> None:
    items = [story(n) for n in range(1, 11)]
    eight = digest_message("Climate", "Tuesday 3 March 2026", items, timezone="UTC", rich=8)
    assert len(eight) == 10
    assert digest_message("Climate", "Tuesday 3 March 2026", items, timezone="UTC", rich=50) == eight
    no_cards = digest_message("Climate", "Tuesday 3 March 2026", items, timezone="UTC", rich=0)
    assert len(no_cards) == 2
    assert no_cards[1].description is not None
    assert no_cards[1].description.startswith("**1.** [Story number 1]")
    assert_valid(embed_checker, eight)
    assert_valid(embed_checker, no_cards)


def test_huge_articles_still_fit_the_message_total(embed_checker: EmbedChecker) -> None:
    huge = "word " * 2000
    items = [
        story(n, title=huge, excerpt=huge, provider_name=huge, url="https://news.example.org/" + "p" * 1900)
        for n in range(1, 11)
    ]
    for rich in (0, 3, 8):
        embeds = digest_message(huge, huge, items, timezone=huge, rich=rich)
        assert message_text_length(embeds) <= 6000
        assert embeds[1].description is not None
        assert len(embeds) <= 10
        assert_valid(embed_checker, embeds)


def test_videos_are_marked_and_markdown_and_mentions_show_literally(embed_checker: EmbedChecker) -> None:
    items = [
        story(1, type="video", title="*Live* from @everyone"),
        story(2, title="<@&123456789012345678> wins"),
        story(3, provider_name="@here Wire"),
        story(4, title="__bold__ claims @here"),
    ]
    embeds = digest_message("@everyone *news*", "<t:1:R>", items, timezone="UTC")
    assert embeds[0].title is not None
    assert embeds[0].title.startswith("@\u200beveryone \\*news\\*")
    assert embeds[1].title == "▶ \\*Live\\* from @\u200beveryone"
    assert_valid(embed_checker, embeds)


def test_dates_are_written_the_same_on_every_host() -> None:
    assert digest_date_text(date(2026, 3, 3)) == "Tuesday 3 March 2026"
    assert digest_date_text(date(2026, 11, 29)) == "Sunday 29 November 2026"


# --- properties -------------------------------------------------------------------------------------------


@FUZZ
@given(
    any_text,
    short_text,
    st.lists(summaries, max_size=12),
    short_text,
    st.integers(-1, 12),
)
def test_any_digest_is_one_valid_message(
    embed_checker: EmbedChecker,
    topic: str,
    date_text: str,
    items: list[ArticleSummary],
    timezone: str,
    rich: int,
) -> None:
    embeds = digest_message(topic, date_text, items, timezone=timezone, rich=rich)
    assert 1 <= len(embeds) <= 10
    assert message_text_length(embeds) <= 6000
    assert_valid(embed_checker, embeds)
    # Every article is shown: as a card, a list line, or counted in "…and N more".
    cards = max(0, min(rich, 8, len(items)))
    assert len(embeds) == 1 + cards + (1 if len(items) > cards else 0)
    if len(items) > cards:
        listed = embeds[-1].description or ""
        shown = listed.count("\n") + 1
        if "…and " in listed:
            shown = shown - 1 + int(listed.rsplit("…and ", 1)[1].split()[0])
        assert shown == len(items) - cards
