"""What an operator scraping ``/metrics`` reads, parsed with prometheus_client's own parsers."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import prometheus_client
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.app.client import NewsBot
from bot.db.types import IndexReport
from bot.ops.metrics import AUTOCOMPLETE_BUCKETS, BotMetrics
from bot.settings import Settings
from bot.store.models import LoadIssue
from tests.ops.scrape import PROMETHEUS_ACCEPT, Scrape, parse

OUTCOMES = ("ok", "user_error", "error", "cancelled")


def scrape(metrics: BotMetrics) -> Scrape:
    body, content_type = metrics.expose()
    assert content_type == "text/plain; version=0.0.4; charset=utf-8"
    return parse(body.decode("utf-8"))


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[NewsBot]:
    """A bot that has not connected: its metrics read the state as it is before the gateway."""
    bot = NewsBot(Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}"))
    try:
        yield bot
    finally:
        await bot.close()


def test_a_fresh_bot_exposes_its_counters_at_zero_and_no_created_series() -> None:
    seen = scrape(BotMetrics())
    assert seen["newsbot_digests_delivered_total"] == 0
    assert seen["newsbot_digests_failed_total"] == 0
    assert seen.families["newsbot_commands"].type == "counter"
    assert seen.families["newsbot_command_duration_seconds"].type == "histogram"
    assert not [name for name in seen.sample_names() if name.endswith("_created")], "one series per value, no more"


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["news latest", "news topic", 'odd "name"\\\n', "nouvelles à la une"]),
            st.sampled_from(OUTCOMES),
        ),
        max_size=30,
    )
)
def test_every_command_is_counted_once_under_its_command_and_outcome(handled: list[tuple[str, str]]) -> None:
    metrics = BotMetrics()
    for command, outcome in handled:
        metrics.commands.labels(command=command, outcome=outcome).inc()
    seen = scrape(metrics)
    counted = {
        (dict(labels)["command"], dict(labels)["outcome"]): value
        for (name, labels), value in seen.samples.items()
        if name == "newsbot_commands_total"
    }
    assert counted == dict(Counter(handled)), "label values survive escaping, and nothing is counted twice"


def test_command_durations_land_in_cumulative_buckets() -> None:
    metrics = BotMetrics()
    for seconds in (0.004, 0.02, 0.3, 12.0):
        metrics.command_seconds.labels(command="news search").observe(seconds)
    metrics.autocomplete_seconds.labels(command="news topic").observe(0.002)
    seen = scrape(metrics)

    def bucket(le: str) -> float | None:
        return seen.get("newsbot_command_duration_seconds_bucket", command="news search", le=le)

    assert [bucket("0.005"), bucket("0.025"), bucket("0.5"), bucket("10.0"), bucket("+Inf")] == [1, 2, 3, 3, 4]
    assert seen.get("newsbot_command_duration_seconds_count", command="news search") == 4
    assert seen.get("newsbot_command_duration_seconds_sum", command="news search") == pytest.approx(12.324)
    autocomplete = {
        dict(labels)["le"]
        for (name, labels), _ in seen.samples.items()
        if name == "newsbot_autocomplete_duration_seconds_bucket"
    }
    assert autocomplete == {*(str(float(b)) for b in AUTOCOMPLETE_BUCKETS), "+Inf"}, (
        "autocomplete's own buckets, to 3 s"
    )
    assert seen.get("newsbot_autocomplete_duration_seconds_bucket", command="news topic", le="0.0025") == 1


def test_process_metrics_come_with_the_bot_metrics() -> None:
    seen = scrape(BotMetrics())
    assert seen["process_resident_memory_bytes"] > 0
    assert seen["process_cpu_seconds_total"] > 0
    assert 0 < seen["process_start_time_seconds"] <= time.time()
    assert seen["process_open_fds"] > 0
    assert next(dict(labels) for name, labels in seen.samples if name == "python_info")["major"] == "3"


def test_two_bots_in_one_process_keep_separate_numbers() -> None:
    first, second = BotMetrics(), BotMetrics()  # the same names, registered twice without a clash
    first.commands.labels(command="news latest", outcome="ok").inc()
    first.digests_delivered.inc(2)
    assert scrape(first).get("newsbot_commands_total", command="news latest", outcome="ok") == 1
    assert scrape(first)["newsbot_digests_delivered_total"] == 2
    assert scrape(second).get("newsbot_commands_total", command="news latest", outcome="ok") is None
    assert scrape(second)["newsbot_digests_delivered_total"] == 0
    default = parse(prometheus_client.generate_latest().decode("utf-8"))
    assert not [name for name in default.families if name.startswith("newsbot_")], "the global registry stays clean"


async def test_the_bot_state_is_read_at_each_scrape(bot: NewsBot) -> None:
    seen = scrape(bot.metrics)
    assert seen.get("newsbot_gateway_connected", shard="0") == 0, "not connected yet"
    assert seen.get("newsbot_gateway_latency_seconds", shard="0") is None, "no latency without a connection"
    assert seen["newsbot_guilds"] == 0
    assert seen["newsbot_articles_indexed"] == 0
    assert seen["newsbot_last_index_timestamp_seconds"] == 0, "never indexed"

    finished = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    bot.last_index = IndexReport(
        rejected=(LoadIssue("_news/a.md", "bad"), LoadIssue("_news/b.md", "bad")), finished_at=finished
    )
    seen = scrape(bot.metrics)
    assert seen["newsbot_files_rejected"] == 2
    assert seen["newsbot_last_index_timestamp_seconds"] == finished.timestamp()


async def test_the_bot_state_is_exposed_once(bot: NewsBot) -> None:
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        bot.metrics.watch(bot)


async def test_prometheus_gets_openmetrics_with_the_same_values(bot: NewsBot) -> None:
    bot.metrics.commands.labels(command="news latest", outcome="ok").inc()
    body, content_type = bot.metrics.expose(PROMETHEUS_ACCEPT)
    assert content_type.startswith("application/openmetrics-text; version=1.0.0")
    text = body.decode("utf-8")
    assert text.endswith("# EOF\n")
    seen = parse(text, openmetrics=True)
    assert seen.get("newsbot_commands_total", command="news latest", outcome="ok") == 1
    assert seen.get("newsbot_gateway_connected", shard="0") == 0
    assert seen.exposed_names() == scrape(bot.metrics).exposed_names()
