"""Autocomplete latency on a synthetic catalog held in memory: no files, no database.

The titles, topics and publication flags are those ``bench.synth`` writes for a store of the same
size and seed (its article headers are built, parsed back and never written), and the article
prefixes follow ``bench.store_index.build_queries``. Two more query sets exercise the fuzzy paths
that prefixes never reach: title words with one typo (past their first two letters, and starting no
title word, so the correction tier runs) and topic names with one typo.

``--against OLD.py`` loads another version of ``bot/content/catalog.py`` (for instance
``git show REV:bot/content/catalog.py > /tmp/old.py``) and times both on the same catalog, alternating call by
call so that load from other processes falls on both alike.

    python -m bench.catalog_fuzzy [-n 100000] [--queries 400] [--against /tmp/old.py]
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import random
import re
import statistics
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from bench import synth
from bot.content import catalog as current_catalog
from bot.db.repository import CatalogEntry
from bot.db.types import Visibility

_TITLE_RE = re.compile(r'^title: (".*")$', re.M)
_PUBLISHED_RE = re.compile(r"^published: (true|false)$", re.M)
_QUALITY_RE = re.compile(r"^quality: (\d+)$", re.M)
_DOMAIN_RE = re.compile(r"^  domain: (\S+)$", re.M)
_TOPICS_RE = re.compile(r"^topics:\n((?:  - .*\n)+)", re.M)
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def synthetic_entries(n: int, seed: int = 1) -> tuple[list[CatalogEntry], list[str]]:
    """Catalog entries for ``bench.synth``'s store of ``n`` articles, newest first, and title words."""
    rng = random.Random(seed)
    vocab = synth._Vocabulary(rng, max(3_000, int(n * 0.6)))
    secured_pool = synth.base64.b64encode(rng.randbytes(4096)).decode()
    providers: list[tuple[str, str, str | None]] = [
        ("Microsoft", "microsoft.com", None),
        ("YouTube", "youtube.com", None),
    ]
    for i in range(max(60, n // 150)):
        word = vocab.words[rng.randrange(200, 2_000)].capitalize()
        if i % 97 == 13:
            word = word[:3] + rng.choice(synth._MOJIBAKE) + word[3:]
        domain = f"{word.lower().encode('ascii', 'ignore').decode()}{i}.{rng.choice(synth._TLDS)}"
        logo = f"https://static.example.net/organizations/{domain}-50x50.jpg" if rng.random() < 0.4 else None
        providers.append((f"{word} {rng.choice(synth._PROVIDER_SUFFIXES)}", domain, logo))
    provider_cum = list(synth.itertools.accumulate(1.0 / (r + 1) ** 0.9 for r in range(len(providers))))
    counts = [int(n * s.share) for s in synth.SITES]
    counts[0] += n - sum(counts)
    bounds = list(synth.itertools.accumulate([0, *counts]))
    offsets: list[int] = []
    for site, count in zip(synth.SITES, counts, strict=True):
        offsets += sorted(rng.randrange(site.days * 86_400) for _ in range(count))
    synth._PLAN = synth._Plan(
        seed, vocab, providers, provider_cum, secured_pool, bounds, offsets, Path("/nonexistent"), [], [], [], []
    )
    try:
        chunks = [synth._build_articles(task) for task in synth._site_tasks(bounds)]
    finally:
        synth._PLAN = None
    rows: list[tuple[int, CatalogEntry]] = []
    title_words: set[str] = set()
    for chunk in chunks:
        title_words.update(chunk.title_words)
        for header, name in zip(chunk.headers, chunk.names, strict=True):
            when = synth.datetime.strptime(name.rsplit("/", 1)[1][:10], "%Y-%m-%d").timestamp()
            title = json.loads(_match(_TITLE_RE, header))
            topics_block = _TOPICS_RE.search(header)
            topics = tuple(line[4:] for line in topics_block.group(1).splitlines()) if topics_block else ()
            entry = CatalogEntry(
                id=name.rsplit("/", 1)[1].lower(),
                title=title,
                published_at=int(when),
                quality=int(_match(_QUALITY_RE, header)),
                published=_match(_PUBLISHED_RE, header) == "true",
                provider_domain=_match(_DOMAIN_RE, header),
                topics=topics,
            )
            rows.append((int(when), entry))
    rows.sort(key=lambda row: -row[0])
    sample = random.Random(seed + 1).sample(sorted(title_words), min(500, len(title_words)))
    return [entry for _, entry in rows], sample


def _match(pattern: re.Pattern[str], text: str) -> str:
    found = pattern.search(text)
    assert found is not None, pattern.pattern
    return found.group(1)


def article_prefixes(title_words: list[str], count: int, seed: int) -> list[str]:
    """As ``bench.store_index.build_queries`` makes them."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        word = rng.choice(title_words)
        r = rng.random()
        if r < 0.1:
            out.append("")
        elif r < 0.75:
            out.append(word[: rng.randint(1, 4)])
        elif r < 0.9:
            out.append(word)
        else:
            out.append(f"{word} {rng.choice(title_words)[:2]}")
    return out


def typo(word: str, rng: random.Random) -> str:
    """``word`` with one letter dropped, swapped, replaced or added, after its first two letters."""
    at = rng.randrange(2, len(word))
    kind = rng.randrange(4)
    if kind == 0:
        return word[:at] + word[at + 1 :]
    if kind == 1 and at + 1 < len(word):
        return word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    if kind == 2:
        return word[:at] + rng.choice(_LETTERS) + word[at + 1 :]
    return word[:at] + rng.choice(_LETTERS) + word[at:]


def typo_queries(words: list[str], vocabulary: list[str], count: int, seed: int) -> list[str]:
    """Title words with a typo that starts no vocabulary word, some after a correct word."""
    rng = random.Random(seed)
    candidates = [w for w in words if len(w) >= 5 and w.isalpha()]
    out: list[str] = []
    while len(out) < count:
        wrong = typo(rng.choice(candidates), rng)
        if any(v.startswith(wrong) for v in vocabulary):
            continue
        out.append(wrong if rng.random() < 0.7 else f"{rng.choice(candidates)} {wrong}")
    return out


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_catalog_against", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _summary(ms: list[float]) -> str:
    ordered = sorted(ms)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(ordered):.3f} p99 {p99:.3f} max {ordered[-1]:.3f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("-n", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3, help="repeat every query set this many times")
    parser.add_argument("--against", type=Path, help="another version of bot/content/catalog.py to time alongside")
    opts = parser.parse_args()

    started = time.perf_counter()
    entries, title_words = synthetic_entries(opts.n, opts.seed)
    modules: dict[str, Any] = {"current": current_catalog}
    if opts.against is not None:
        modules[opts.against.name] = _load(opts.against)
    catalogs = {name: module.Catalog(None, module._Snapshot(entries)) for name, module in modules.items()}
    first = next(iter(catalogs.values()))
    vocabulary = list(first._snap.words.slice(0, len(first._snap.words)))
    topics = sorted({t for e in entries for t in e.topics})
    built = time.perf_counter() - started
    print(f"{len(entries):,} entries, {len(vocabulary):,} title words, {len(topics)} topics, built in {built:.1f} s")

    vis = Visibility()
    rng = random.Random(opts.seed + 2)
    sets = {
        "article prefixes": article_prefixes(title_words, opts.queries, opts.seed),
        "article typos": typo_queries(title_words, vocabulary, opts.queries, opts.seed),
        "topic prefixes": [
            "" if rng.random() < 0.1 else rng.choice(topics)[: rng.randint(1, 4)].lower() for _ in range(opts.queries)
        ],
        "topic typos": [typo(rng.choice([t for t in topics if len(t) >= 4]), rng) for _ in range(opts.queries)],
    }
    for name, queries in sets.items():
        wall: dict[str, list[float]] = {label: [] for label in catalogs}
        cpu: dict[str, list[float]] = {label: [] for label in catalogs}
        for catalog in catalogs.values():
            for query in queries[:10]:
                _call(name, catalog, query, vis)
        gc.collect()
        for _ in range(opts.rounds):
            for query in queries:
                for label, catalog in catalogs.items():
                    started, started_cpu = time.perf_counter(), time.thread_time()
                    _call(name, catalog, query, vis)
                    cpu[label].append((time.thread_time() - started_cpu) * 1000)
                    wall[label].append((time.perf_counter() - started) * 1000)
        for label in catalogs:
            print(f"{name:16} {label:22} wall {_summary(wall[label])} | cpu {_summary(cpu[label])}")


def _call(kind: str, catalog: Any, query: str, vis: Visibility) -> object:
    if kind.startswith("article"):
        return catalog.complete_articles(query, vis, limit=25)
    if kind == "topic prefixes":
        return catalog.complete_topics(query, vis, limit=25)
    return catalog.complete_topics(query, vis, limit=25), catalog.closest_topics(query, 3)


if __name__ == "__main__":
    main()
