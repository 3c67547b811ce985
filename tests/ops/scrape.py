"""Reading ``/metrics`` as a scraper does: prometheus_client's own parsers, then one value per series."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families
from prometheus_client.parser import text_string_to_metric_families

#: What Prometheus sends (its default scrape protocols): OpenMetrics first, the text format as a fallback.
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)


@dataclass(frozen=True)
class Scrape:
    families: dict[str, Metric]  # by family name: a counter's without its `_total`
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float]

    def get(self, sample: str, **labels: str) -> float | None:
        """The value of one series (``sample`` as exposed, e.g. ``newsbot_commands_total``), None if absent."""
        return self.samples.get((sample, frozenset(labels.items())))

    def __getitem__(self, sample: str) -> float:
        value = self.get(sample)
        assert value is not None, f"{sample} is not exposed"
        return value

    def exposed_names(self) -> set[str]:
        """Each family as an operator queries it: counters with their `_total`."""
        return {name + ("_total" if family.type == "counter" else "") for name, family in self.families.items()}

    def sample_names(self) -> set[str]:
        return {name for name, _ in self.samples}


def parse(text: str, *, openmetrics: bool = False) -> Scrape:
    parsed = openmetrics_families(text) if openmetrics else text_string_to_metric_families(text)
    families: dict[str, Metric] = {}
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in parsed:
        assert family.name not in families, f"{family.name} exposed twice"
        families[family.name] = family
        for sample in family.samples:
            key = (sample.name, frozenset(sample.labels.items()))
            assert key not in samples, f"{key} exposed twice"
            samples[key] = sample.value
    return Scrape(families, samples)
