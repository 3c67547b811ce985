"""The metrics registry and its Prometheus text exposition."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.metrics import Counter, Histogram, Registry, format_value

# One sample line of the text format: name, optional {labels}, value.
SAMPLE = re.compile(
    r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*",?)*)\})? '
    r"(?P<value>[-+]?(?:\d+(?:\.\d*)?(?:e[-+]?\d+)?|Inf|NaN))$"
)


def parse(text: str) -> dict[str, float]:
    """Every sample, keyed by its line without the value, after checking each line's syntax."""
    samples: dict[str, float] = {}
    assert text.endswith("\n")
    for line in text.splitlines():
        if line.startswith(("# HELP ", "# TYPE ")):
            continue
        match = SAMPLE.match(line)
        assert match, f"not a valid sample line: {line!r}"
        key = line.rsplit(" ", 1)[0]
        samples[key] = float(match["value"].replace("Inf", "inf"))
    return samples


def test_labelled_counter_is_exposed_per_label_set() -> None:
    registry = Registry()
    commands = registry.counter("newsbot_commands_total", "Commands.", ("command", "outcome"))
    commands.labels(command="news search", outcome="ok").inc()
    commands.labels(command="news search", outcome="ok").inc()
    commands.labels(command="news topic", outcome="error").inc()
    text = registry.expose()
    assert "# TYPE newsbot_commands_total counter" in text
    samples = parse(text)
    assert samples['newsbot_commands_total{command="news search",outcome="ok"}'] == 2
    assert samples['newsbot_commands_total{command="news topic",outcome="error"}'] == 1


def test_label_values_are_escaped() -> None:
    registry = Registry()
    gauge = registry.gauge("g", "A gauge.", ("name",))
    gauge.labels(name='say "hi"\\\nbye').set(1)
    text = registry.expose()
    assert 'g{name="say \\"hi\\"\\\\\\nbye"} 1' in text
    parse(text)


def test_histogram_buckets_are_cumulative_with_sum_and_count() -> None:
    registry = Registry()
    latency = registry.histogram("latency_seconds", "Latency.", ("command",), buckets=(0.1, 1.0))
    for value in (0.05, 0.1, 0.5, 3.0):
        latency.labels(command="x").observe(value)
    samples = parse(registry.expose())
    assert samples['latency_seconds_bucket{command="x",le="0.1"}'] == 2  # le means <=
    assert samples['latency_seconds_bucket{command="x",le="1"}'] == 3
    assert samples['latency_seconds_bucket{command="x",le="+Inf"}'] == 4
    assert samples['latency_seconds_count{command="x"}'] == 4
    assert samples['latency_seconds_sum{command="x"}'] == pytest.approx(3.65)


@given(st.lists(st.floats(min_value=0, max_value=100, allow_nan=False), max_size=50))
def test_histogram_counts_every_observation_once(values: list[float]) -> None:
    histogram = Histogram("h", "H.", buckets=(0.5, 1, 5, 10))
    for value in values:
        histogram.observe(value)
    samples = parse(histogram.expose())
    buckets = [samples[f'h_bucket{{le="{le}"}}'] for le in ("0.5", "1", "5", "10", "+Inf")]
    assert buckets == sorted(buckets), "cumulative counts never go down"
    assert buckets[-1] == samples["h_count"] == len(values)
    assert buckets[1] == sum(1 for v in values if v <= 1)
    assert samples["h_sum"] == pytest.approx(sum(values))


def test_collectors_run_at_each_exposition() -> None:
    registry = Registry()
    gauge = registry.gauge("articles", "Articles.")
    readings = iter([3, 5])
    registry.add_collector(lambda: gauge.set(next(readings)))
    assert parse(registry.expose())["articles"] == 3
    assert parse(registry.expose())["articles"] == 5


def test_special_values_use_the_format_spelling() -> None:
    assert format_value(math.inf) == "+Inf"
    assert format_value(-math.inf) == "-Inf"
    assert format_value(math.nan) == "NaN"
    assert format_value(2.0) == "2"
    assert format_value(0.25) == "0.25"


def test_mistakes_are_refused() -> None:
    registry = Registry()
    counter = registry.counter("c_total", "C.", ("kind",))
    with pytest.raises(ValueError, match="takes labels"):
        counter.labels(other="x")
    with pytest.raises(ValueError, match="has labels"):
        counter.inc()
    with pytest.raises(ValueError, match="already registered"):
        registry.counter("c_total", "again")
    with pytest.raises(ValueError, match="only goes up"):
        Counter("d_total", "D.").inc(-1)
    with pytest.raises(ValueError, match="invalid metric name"):
        registry.gauge("bad-name", "x")
    with pytest.raises(ValueError, match="invalid label name"):
        registry.histogram("h", "x", ("le",))
