"""A small metrics registry: counters, gauges and histograms with labels, exposed in Prometheus'
text format (version 0.0.4), so any Prometheus-compatible scraper can read ``/metrics``.

Everything runs on the event loop, so nothing here locks. Values that are cheap to read but
costly to push (gateway latency, catalog size) are set by collectors that run at scrape time.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Generic, TypeVar

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: Seconds; fits anything from a cached lookup to a slow full-text search.
DEFAULT_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")

LabelValues = tuple[str, ...]


def format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _labels_text(names: Sequence[str], values: Sequence[str]) -> str:
    if not names:
        return ""
    return "{" + ",".join(f'{n}="{_escape_label(v)}"' for n, v in zip(names, values, strict=True)) + "}"


class CounterValue:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def inc(self, amount: float = 1.0) -> None:
        if amount < 0:
            raise ValueError("a counter only goes up")
        self.value += amount


class GaugeValue:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def set(self, value: float) -> None:
        self.value = float(value)

    def inc(self, amount: float = 1.0) -> None:
        self.value += amount

    def dec(self, amount: float = 1.0) -> None:
        self.value -= amount


class HistogramValue:
    __slots__ = ("buckets", "count", "counts", "sum")

    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)  # the last one is +Inf
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.buckets, value)] += 1
        self.sum += value
        self.count += 1


V = TypeVar("V", CounterValue, GaugeValue, HistogramValue)


class _Metric(Generic[V]):
    kind = "untyped"

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = ()) -> None:
        if not _NAME.fullmatch(name):
            raise ValueError(f"invalid metric name {name!r}")
        for label in labels:
            if not _LABEL.fullmatch(label) or label.startswith("__") or label == "le":
                raise ValueError(f"invalid label name {label!r} for {name}")
        self.name = name
        self.help = help_text
        self.label_names = tuple(labels)
        self._children: dict[LabelValues, V] = {}
        if not self.label_names:
            self._children[()] = self._new()

    def _new(self) -> V:
        raise NotImplementedError

    def labels(self, **values: object) -> V:
        """The series for these label values (all of the metric's labels, nothing else)."""
        if set(values) != set(self.label_names):
            raise ValueError(f"{self.name} takes labels {list(self.label_names)}, got {sorted(values)}")
        key = tuple(str(values[n]) for n in self.label_names)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self._new()
        return child

    def _only(self) -> V:
        if self.label_names:
            raise ValueError(f"{self.name} has labels {list(self.label_names)}: use .labels(...)")
        return self._children[()]

    def clear(self) -> None:
        """Forget every labelled series (for gauges whose label sets come and go)."""
        if self.label_names:
            self._children.clear()

    def series(self) -> Iterator[tuple[LabelValues, V]]:
        yield from sorted(self._children.items())

    def samples(self) -> Iterator[str]:
        for values, child in self.series():
            yield from self._sample_lines(values, child)

    def _sample_lines(self, values: LabelValues, child: V) -> Iterator[str]:
        raise NotImplementedError

    def expose(self) -> str:
        lines = [f"# HELP {self.name} {_escape_help(self.help)}", f"# TYPE {self.name} {self.kind}"]
        lines.extend(self.samples())
        return "\n".join(lines) + "\n"


class Counter(_Metric[CounterValue]):
    kind = "counter"

    def _new(self) -> CounterValue:
        return CounterValue()

    def inc(self, amount: float = 1.0) -> None:
        self._only().inc(amount)

    def value(self, **labels: object) -> float:
        return (self.labels(**labels) if labels else self._only()).value

    def _sample_lines(self, values: LabelValues, child: CounterValue) -> Iterator[str]:
        yield f"{self.name}{_labels_text(self.label_names, values)} {format_value(child.value)}"


class Gauge(_Metric[GaugeValue]):
    kind = "gauge"

    def _new(self) -> GaugeValue:
        return GaugeValue()

    def set(self, value: float) -> None:
        self._only().set(value)

    def inc(self, amount: float = 1.0) -> None:
        self._only().inc(amount)

    def dec(self, amount: float = 1.0) -> None:
        self._only().dec(amount)

    def value(self, **labels: object) -> float:
        return (self.labels(**labels) if labels else self._only()).value

    def _sample_lines(self, values: LabelValues, child: GaugeValue) -> Iterator[str]:
        yield f"{self.name}{_labels_text(self.label_names, values)} {format_value(child.value)}"


class Histogram(_Metric[HistogramValue]):
    kind = "histogram"

    def __init__(
        self, name: str, help_text: str, labels: Sequence[str] = (), *, buckets: Iterable[float] = DEFAULT_BUCKETS
    ) -> None:
        bounds = tuple(sorted(float(b) for b in buckets if not math.isinf(b)))
        if not bounds or len(set(bounds)) != len(bounds):
            raise ValueError(f"{name}: buckets must be distinct finite numbers")
        self.buckets = bounds
        super().__init__(name, help_text, labels)

    def _new(self) -> HistogramValue:
        return HistogramValue(self.buckets)

    def observe(self, value: float) -> None:
        self._only().observe(value)

    def count(self, **labels: object) -> int:
        return (self.labels(**labels) if labels else self._only()).count

    def _sample_lines(self, values: LabelValues, child: HistogramValue) -> Iterator[str]:
        cumulative = 0
        bounds = [*(format_value(b) for b in child.buckets), "+Inf"]
        for bound, count in zip(bounds, child.counts, strict=True):
            cumulative += count
            labels = _labels_text((*self.label_names, "le"), (*values, bound))
            yield f"{self.name}_bucket{labels} {cumulative}"
        labels = _labels_text(self.label_names, values)
        yield f"{self.name}_sum{labels} {format_value(child.sum)}"
        yield f"{self.name}_count{labels} {child.count}"


AnyMetric = Counter | Gauge | Histogram


class Registry:
    """The metrics of one bot. ``collectors`` run before each exposition to refresh scrape-time values."""

    def __init__(self) -> None:
        self._metrics: dict[str, AnyMetric] = {}
        self._collectors: list[Callable[[], None]] = []

    def _add(self, metric: AnyMetric) -> None:
        if metric.name in self._metrics:
            raise ValueError(f"metric {metric.name} is already registered")
        self._metrics[metric.name] = metric

    def counter(self, name: str, help_text: str, labels: Sequence[str] = ()) -> Counter:
        metric = Counter(name, help_text, labels)
        self._add(metric)
        return metric

    def gauge(self, name: str, help_text: str, labels: Sequence[str] = ()) -> Gauge:
        metric = Gauge(name, help_text, labels)
        self._add(metric)
        return metric

    def histogram(
        self, name: str, help_text: str, labels: Sequence[str] = (), *, buckets: Iterable[float] = DEFAULT_BUCKETS
    ) -> Histogram:
        metric = Histogram(name, help_text, labels, buckets=buckets)
        self._add(metric)
        return metric

    def add_collector(self, collect: Callable[[], None]) -> None:
        self._collectors.append(collect)

    def get(self, name: str) -> AnyMetric:
        return self._metrics[name]

    def names(self) -> list[str]:
        return list(self._metrics)

    def expose(self) -> str:
        for collect in self._collectors:
            collect()
        return "".join(metric.expose() for metric in self._metrics.values())
