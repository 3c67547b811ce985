"""The bundled demo store and the seed article, rendered as members will see them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.render.embeds import Limit, article_embed
from bot.store.loader import load_directory, parse_article
from bot.store.models import Article

from .conftest import EmbedChecker

REPO = Path(__file__).resolve().parents[2]
CONTENT = REPO / "content"
SEED = CONTENT / "_news" / "000_c1840662fd681368.txt"


@pytest.fixture(scope="module")
def bundled() -> list[Article]:
    return load_directory(CONTENT).articles


@pytest.fixture(scope="module")
def seed() -> Article:
    article, issues = parse_article(SEED.read_bytes(), "_news/000_c1840662fd681368.txt")
    assert article is not None, issues
    return article


def test_every_bundled_article_renders_within_limits(embed_checker: EmbedChecker, bundled: list[Article]) -> None:
    assert bundled
    for article in bundled:
        embed = article_embed(article)
        problems = embed_checker.problems(embed)
        assert not problems, (article.path, problems)
        dumped = json.dumps(embed.to_dict(), ensure_ascii=False)
        assert article.secured
        assert article.secured not in dumped
        assert "iframe" not in dumped


def test_long_bundled_article_is_cut_to_discord_limits(bundled: list[Article]) -> None:
    longest = max(bundled, key=lambda a: len(a.title) + len(a.excerpt))
    assert len(longest.title) > Limit.TITLE
    embed = article_embed(longest)
    assert embed.title is not None
    assert embed.description is not None
    assert embed.title.endswith("…")
    assert len(embed.title) <= Limit.TITLE
    assert embed.description.endswith("…")
    assert len(embed) <= Limit.TOTAL


def test_bundled_video_links_to_its_original_url(bundled: list[Article]) -> None:
    video = next(a for a in bundled if a.type == "video")
    embed = article_embed(video)
    assert embed.url == "https://video.example.com/watch?v=aurora3-landing-replay"
    assert embed.title == "▶ Replay: the Aurora-3 landing, narrated by the mission team"


def test_bundled_mention_bait_cannot_ping(bundled: list[Article]) -> None:
    bait = next(a for a in bundled if "@everyone" in a.title)
    embed = article_embed(bait)
    assert embed.title is not None
    assert embed.description is not None
    assert embed.title.startswith("PSA for server admins: @\u200beveryone pings from \\*fake\\* giveaway bots")
    assert "@everyone" not in embed.description
    assert "<@&" not in embed.description


def test_seed_renders(embed_checker: EmbedChecker, seed: Article) -> None:
    embed = article_embed(seed)
    assert embed.title == "AI-driven Facial Recognition: Repression And Innovation"
    assert embed.url == "https://www.electronicsforu.com/news/ai-driven-facial-recognition-repression-and-innovation"
    assert embed.author.name == "electronicsforu"
    assert embed.author.url == "https://electronicsforu.com"
    assert embed.footer.text == "Unpublished · Computer Vision, AI"
    assert (
        embed.image.url == "https://www.electronicsforu.com/wp-contents/uploads/2023/07/MIT-AI-tocracy-01-press_0.jpg"
    )
    assert embed.timestamp is not None
    assert embed.timestamp.isoformat() == "2023-07-13T05:34:00+00:00"
    assert not embed_checker.problems(embed)
    assert seed.secured
    assert seed.secured not in json.dumps(embed.to_dict())


def test_seed_related_story_keeps_turk_intact(seed: Article) -> None:
    ref = next(r for r in seed.related if "facial recognition could lead" in r.title)
    assert ref.provider is not None
    assert ref.published_at is not None
    card = article_embed(
        Article(
            id="un-high-commissioner",
            path="",
            title=ref.title,
            url=ref.url,
            published_at=ref.published_at,
            provider=ref.provider,
            excerpt=ref.excerpt,
        )
    )
    assert card.description is not None
    assert card.description.startswith("Volker Türk, UN High Commissioner for Human Rights")
