"""Alerts in the backup file: what /admin export writes reads back the same, and bad entries are
refused with the same limits as /alert add, naming the entry."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.alerts import rules
from bot.server_config import AlertSpec, Backup, ChannelRef, ConfigError, dump_backup, parse_backup

NOW = datetime(2026, 3, 1, tzinfo=UTC)

specs = st.builds(
    AlertSpec,
    channel=st.builds(ChannelRef, id=st.integers(1, 2**63), name=st.sampled_from(["news", "alerts", None])),
    topic=st.sampled_from(["Science", "Orbital Gardening", None]),
    keywords=st.sampled_from(['solar "heat pump" -oil', "wind | tidal", "café"]),
    providers=st.sampled_from([(), ("example.org", "news.example")]),
    min_quality=st.integers(rules.MIN_QUALITY, rules.MAX_QUALITY),
    mention=st.one_of(st.none(), st.builds(ChannelRef, id=st.integers(1, 2**63), name=st.just("news-alerts"))),
    style=st.sampled_from(rules.STYLES),
    publish=st.booleans(),
    template=st.sampled_from([None, "{mention} **{title}** {url}", "{{literal}} {excerpt}"]),
    posts_per_10min=st.integers(rules.MIN_POSTS_PER_WINDOW, rules.MAX_POSTS_PER_WINDOW),
    paused=st.booleans(),
    pause_reason=st.sampled_from([None, "by mod"]),
)


@settings(max_examples=100)
@given(st.lists(specs, max_size=rules.MAX_PER_SERVER))
def test_exported_alerts_read_back_the_same(alerts: list[AlertSpec]) -> None:
    backup = Backup(alerts=tuple(alerts))
    assert parse_backup(dump_backup(backup, server_id=1, exported_at=NOW).encode()).alerts == tuple(alerts)


def test_a_file_without_alerts_keeps_the_servers_alerts() -> None:
    assert parse_backup(b"newsbot: 1\n").alerts is None


def parse_alert(body: str) -> None:
    parse_backup(f"newsbot: 1\nalerts:\n  - channel: {{name: news}}\n{body}".encode())


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("    topic: Science\n    template: '{titel}'\n", "alerts[0].template`: Unknown placeholder"),
        (f"    topic: Science\n    template: '{'x' * 3000}'\n", "at most"),
        ("    keywords: '-oil'\n", "at least one word"),
        ("    style: banner\n    topic: Science\n", "style` must be one of embed, compact, thread"),
        ("    topic: Science\n    posts_per_10min: 31\n", "from 1 to 30"),
        ("    min_quality: 3\n", "needs a `topic`, `keywords`, or both"),
        ("    topic: Science\n    colour: red\n", "unknown key"),
    ],
)
def test_bad_alerts_are_refused_naming_the_entry(body: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("[", r"\[")):
        parse_alert(body)


def test_at_most_the_servers_limit() -> None:
    entries = "".join("  - {channel: {name: news}, topic: Science}\n" for _ in range(rules.MAX_PER_SERVER + 1))
    with pytest.raises(ConfigError, match=f"at most {rules.MAX_PER_SERVER}"):
        parse_backup(f"newsbot: 1\nalerts:\n{entries}".encode())
