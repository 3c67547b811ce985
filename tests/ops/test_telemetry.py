"""The bot's own metrics: named and documented as an operator reads them."""

from __future__ import annotations

import re
from pathlib import Path

from bot.telemetry import BotMetrics

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_metric_is_documented_in_the_readme_and_nothing_else_is() -> None:
    documented = set(re.findall(r"^\s*\| `(newsbot_[a-z_]+)` \|", README.read_text(encoding="utf-8"), re.MULTILINE))
    assert documented == set(BotMetrics().registry.names())


def test_names_follow_prometheus_conventions() -> None:
    registry = BotMetrics().registry
    for name in registry.names():
        metric = registry.get(name)
        assert name.startswith("newsbot_")
        assert name.endswith("_total") == (metric.kind == "counter"), name
        if metric.kind == "histogram":
            assert name.endswith("_seconds"), "durations are in seconds"


def test_a_fresh_bot_exposes_every_metric_even_before_anything_happened() -> None:
    text = BotMetrics().expose()
    for name in BotMetrics().registry.names():
        assert f"# TYPE {name} " in text
    assert "\nnewsbot_digests_delivered_total 0\n" in text
