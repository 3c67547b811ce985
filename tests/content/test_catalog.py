"""Autocomplete: what a user sees while typing an article or topic option."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.content import catalog as catalog_module
from bot.content.catalog import Catalog, _Snapshot
from bot.db import Database
from bot.db.repository import CatalogEntry
from bot.db.types import Visibility
from bot.render.limits import MAX_CHOICE_CHARS
from bot.store.keys import plain_words
from bot.store.models import Provider
from tests.db.conftest import make_article, store

DEFAULT = Visibility()
EVERYTHING = Visibility(include_unpublished=True)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "news.sqlite3")
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def catalog(db: Database) -> Catalog:
    await store(
        db,
        [
            make_article(1, title="Gear prices fall", topics=("Gears",)),
            make_article(2, title="New gears for old bikes", topics=("Gears", "Bikes")),
            make_article(3, title="Bikes: the gearing guide", topics=("Bikes",)),
            make_article(4, title="Gearbox teardown", topics=("Gears",), published=False),
            make_article(5, title="Weather today", topics=("Weather",)),
            make_article(6, title="Café owners and their espresso gear", topics=("Coffee",)),
            make_article(7, title="Tour de France: the season begins", topics=("Bikes",)),
        ],
    )
    return await Catalog.load(db)


def titles(choices: list[object]) -> list[str]:
    return [c.title for c in choices]  # type: ignore[attr-defined]


async def test_empty_text_lists_the_newest_visible_articles(catalog: Catalog) -> None:
    assert [c.id for c in catalog.complete_articles("", DEFAULT, limit=3)] == ["a7", "a6", "a5"]
    assert [c.id for c in catalog.complete_articles("", EVERYTHING, limit=4)] == ["a7", "a6", "a5", "a4"]


async def test_title_prefix_comes_before_word_prefix_before_substring(catalog: Catalog) -> None:
    assert titles(catalog.complete_articles("gear", DEFAULT)) == [
        "Gear prices fall",  # the title starts with it
        "Café owners and their espresso gear",  # a word starts with it, newest first
        "Bikes: the gearing guide",
        "New gears for old bikes",
    ]
    assert titles(catalog.complete_articles("earin", DEFAULT)) == ["Bikes: the gearing guide"]  # substring only


async def test_every_word_must_start_a_title_word(catalog: Catalog) -> None:
    assert titles(catalog.complete_articles("old gea", DEFAULT)) == ["New gears for old bikes"]
    assert titles(catalog.complete_articles("bikes guide", DEFAULT)) == ["Bikes: the gearing guide"]
    assert titles(catalog.complete_articles("tour france", DEFAULT)) == ["Tour de France: the season begins"]


async def test_case_accents_and_punctuation_do_not_matter(catalog: Catalog) -> None:
    assert titles(catalog.complete_articles("CAFE OWNERS", DEFAULT)) == ["Café owners and their espresso gear"]
    assert titles(catalog.complete_articles("bikes the", DEFAULT)) == ["Bikes: the gearing guide"]


async def test_misspelt_words_are_corrected_last(catalog: Catalog) -> None:
    assert titles(catalog.complete_articles("wether", DEFAULT)) == ["Weather today"]
    assert titles(catalog.complete_articles("tour sesaon", DEFAULT)) == ["Tour de France: the season begins"]
    assert catalog.complete_articles("zzzz qqqq", DEFAULT) == []


async def test_visibility_is_respected(catalog: Catalog) -> None:
    assert "a4" not in [c.id for c in catalog.complete_articles("gear", DEFAULT)]
    assert "a4" in [c.id for c in catalog.complete_articles("gear", EVERYTHING)]
    no_bikes = Visibility(blocked_topics=frozenset({"bikes"}), hidden_ids=frozenset({"a1"}))
    assert titles(catalog.complete_articles("gear", no_bikes)) == ["Café owners and their espresso gear"]
    assert [c.id for c in catalog.complete_articles("", Visibility(min_quality=51))] == []


async def test_limits_and_long_titles(db: Database) -> None:
    long_title = "Long " + "word " * 40
    await store(
        db, [make_article(n, title=f"Market news {n}") for n in range(1, 40)] + [make_article(50, title=long_title)]
    )
    catalog = await Catalog.load(db)
    assert len(catalog.complete_articles("market", DEFAULT)) == 25
    assert len(catalog.complete_articles("market", DEFAULT, limit=100)) == 25
    assert len(catalog.complete_articles("market", DEFAULT, limit=5)) == 5
    [choice] = catalog.complete_articles("long word", DEFAULT)
    assert len(choice.title) == MAX_CHOICE_CHARS
    assert choice.title.endswith("…")


async def test_refresh_sees_a_reindex(db: Database, catalog: Catalog) -> None:
    await store(db, [make_article(9, title="Fresh gear review", provider=Provider("X", "x.example"))])
    assert "a9" not in [c.id for c in catalog.complete_articles("fresh", DEFAULT)]
    await catalog.refresh()
    assert [c.id for c in catalog.complete_articles("fresh", DEFAULT)] == ["a9"]


async def test_refresh_rebuilds_only_when_articles_changed_in_any_process(
    db: Database, catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds = 0
    build = Catalog._build

    async def counting(database: Database) -> _Snapshot:
        nonlocal builds
        builds += 1
        return await build(database)

    monkeypatch.setattr(Catalog, "_build", staticmethod(counting))
    await catalog.refresh()
    assert builds == 0  # nothing changed: the bot keeps its catalog (and its memory)
    # Another process (here, another connection) indexes an article into the same database.
    other = await Database.open(tmp_path / "news.sqlite3")
    try:
        await store(other, [make_article(9, title="Fresh gear review", provider=Provider("X", "x.example"))])
    finally:
        await other.close()
    await catalog.refresh()
    assert builds == 1
    assert [c.id for c in catalog.complete_articles("fresh", DEFAULT)] == ["a9"]
    await catalog.refresh()
    assert builds == 1


async def test_topics_complete_with_counts(catalog: Catalog) -> None:
    assert [(t.name, t.count) for t in catalog.complete_topics("", DEFAULT)] == [
        ("Bikes", 3),
        ("Gears", 2),
        ("Coffee", 1),
        ("Weather", 1),
    ]
    assert [(t.name, t.count) for t in catalog.complete_topics("ge", EVERYTHING)] == [("Gears", 3)]
    assert [t.name for t in catalog.complete_topics("e", DEFAULT)] == ["Bikes", "Gears", "Coffee", "Weather"]
    assert [t.name for t in catalog.complete_topics("ee", DEFAULT)] == ["Coffee"]  # substring
    assert [t.name for t in catalog.complete_topics("bikse", DEFAULT)] == ["Bikes"]  # misspelt
    assert [t.name for t in catalog.complete_topics("", Visibility(blocked_topics=frozenset({"bikes"})))] == [
        "Gears",
        "Coffee",
        "Weather",
    ]


async def test_closest_topics_suggest_known_spellings(catalog: Catalog) -> None:
    assert catalog.closest_topics("gaers") == ["Gears"]
    assert catalog.closest_topics("weathr", n=1) == ["Weather"]
    assert catalog.closest_topics("") == []
    assert catalog.closest_topics("zzzzzz") == []


def _memory_catalog(titles_and_topics: list[tuple[str, tuple[str, ...]]]) -> Catalog:
    """A catalog over in-memory entries, newest first (no database needed)."""
    entries = [
        CatalogEntry(f"a{n}", title, 1000 - n, 50, True, "example.org", topics)
        for n, (title, topics) in enumerate(titles_and_topics)
    ]
    return Catalog(None, _Snapshot(entries))  # type: ignore[arg-type]


def test_of_equally_close_topic_spellings_the_commoner_comes_first() -> None:
    # "dars" is one letter from both; neither contains it, so only the correction finds them.
    catalog = _memory_catalog([("One", ("Cars",)), ("Two", ("Bars",)), ("Three", ("Bars",)), ("Four", ("Bars",))])
    assert [t.name for t in catalog.complete_topics("dars", DEFAULT)] == ["Bars", "Cars"]
    assert catalog.closest_topics("dars") == ["Bars", "Cars"]


_WORDS = [
    "weather", "season", "market", "gearbox", "espresso", "bicycle", "teardown", "commissioner", "quarterly",
    "security", "preview", "database", "keyboard", "dungeon", "necromancer", "sorceress", "patches", "storage",
    "identity", "networking", "governance", "monitoring", "blockchain", "serverless", "analytics", "migration",
]  # fmt: skip
_TYPO_CATALOG = _memory_catalog([(f"Story about {word}", ()) for word in _WORDS])


@settings(max_examples=200)
@given(
    word=st.sampled_from(_WORDS),
    edit=st.sampled_from(["drop", "swap", "replace", "insert"]),
    at=st.integers(min_value=2),
    letter=st.sampled_from("abcdefghijklmnopqrstuvwxyz"),
)
def test_a_word_with_one_typo_still_finds_its_title(word: str, edit: str, at: int, letter: str) -> None:
    at = 2 + at % (len(word) - 2)  # the correction keeps the first two letters, as nearly every typo does
    typo = {
        "drop": word[:at] + word[at + 1 :],
        "swap": word[:at] + word[at + 1 : at + 2] + word[at] + word[at + 2 :],
        "replace": word[:at] + letter + word[at + 1 :],
        "insert": word[:at] + letter + word[at:],
    }[edit]
    assert f"Story about {word}" in titles(_TYPO_CATALOG.complete_articles(f"about {typo}", DEFAULT))


def test_plain_words() -> None:
    assert plain_words("Café: Straße!  ") == "cafe strasse"
    assert plain_words("Tour-de-France") == "tour de france"
    assert plain_words("日本語のニュース") == "日本語のニュース"


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=60))
def test_arbitrary_text_never_raises(text: str) -> None:
    choices = _SHARED.complete_articles(text, DEFAULT, limit=10)
    assert len(choices) <= 10
    assert len(_SHARED.complete_topics(text, DEFAULT)) <= 25


def _shared_catalog() -> Catalog:
    """A catalog over in-memory entries for the property test (no database needed)."""
    entries = [
        CatalogEntry(f"a{n}", title, 1000 - n, 50, True, "example.org", ("Gears",))
        for n, title in enumerate(["Gear prices fall", "Café owners", "日本語のニュース", "", "a b c d e f"])
    ]
    return Catalog(None, _Snapshot(entries))  # type: ignore[arg-type]


_SHARED = _shared_catalog()


async def test_an_empty_store_completes_to_nothing(db: Database) -> None:
    catalog = await Catalog.load(db)
    assert len(catalog) == 0
    assert catalog.complete_articles("", DEFAULT) == []
    assert catalog.complete_articles("gear", DEFAULT) == []
    assert catalog.complete_topics("", DEFAULT) == []
    assert catalog.closest_topics("gears") == []


async def test_a_large_catalog_is_built_in_a_worker_process_with_the_same_result(
    catalog: Catalog, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catalog_module, "ISOLATE_MIN_ARTICLES", 1)
    isolated = await Catalog.load(db)
    for text in ["", "gear", "bikes guide", "wether", "earin"]:
        assert isolated.complete_articles(text, EVERYTHING) == catalog.complete_articles(text, EVERYTHING)
    assert isolated.complete_topics("", DEFAULT) == catalog.complete_topics("", DEFAULT)
