"""The bot's own metrics: named and documented as an operator reads them."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app.client import NewsBot
from bot.settings import Settings
from tests.ops.scrape import Scrape, parse

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
async def exposed(tmp_path: Path) -> AsyncIterator[Scrape]:
    """What a bot exposes before anything happened, the state read at scrape time included."""
    bot = NewsBot(Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}"))
    try:
        body, _ = bot.metrics.expose()
        yield parse(body.decode("utf-8"))
    finally:
        await bot.close()


def _own(scrape: Scrape) -> set[str]:
    return {name for name in scrape.exposed_names() if name.startswith("newsbot_")}


def test_every_metric_is_documented_in_the_readme_and_nothing_else_is(exposed: Scrape) -> None:
    documented = set(re.findall(r"^\s*\| `(newsbot_[a-z_]+)` \|", README.read_text(encoding="utf-8"), re.MULTILINE))
    assert documented == _own(exposed)


def test_the_readme_gives_each_metric_its_exposed_type(exposed: Scrape) -> None:
    rows = re.findall(r"^\s*\| `(newsbot_[a-z_]+)` \| (\w+) \|", README.read_text(encoding="utf-8"), re.MULTILINE)
    for name, kind in rows:
        family = exposed.families[name.removesuffix("_total") if kind == "counter" else name]
        assert family.type == kind, name


def test_names_follow_prometheus_conventions(exposed: Scrape) -> None:
    for name, family in exposed.families.items():
        if not name.startswith("newsbot_"):
            continue
        # The parser names a counter's family without the `_total` its samples carry.
        assert not name.endswith("_total"), f"{name}: a {family.type} named like a counter"
        if family.type == "histogram":
            assert name.endswith("_seconds"), "durations are in seconds"
    assert "newsbot_digests_delivered_total" in exposed.sample_names()
