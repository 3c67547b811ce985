"""Benchmark of the article store and index against the naive baseline (``bench.naive``).

For each size: cold index (fresh database) with ``bot.content.indexing.reindex``, warm reindex with no
change, reindex after rewriting 100 titles; query latency (p50/p99) through the real async API
(``ArticleRepository`` on aiosqlite, ``Catalog`` for autocomplete) exactly as a command handler
calls it; throughput under 50 concurrent mixed queries; and the memory of a fresh serving process
that opens the database and loads the catalog. Every figure is printed beside the naive one.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import platform
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import naive
from bench.synth import DEFAULT_BASE, SynthStore, ensure_store, modified_files, restore, rewrite_titles

REPO = Path(__file__).resolve().parents[1]
TOUCHED = 100
CONCURRENCY = 50


@dataclass(frozen=True, slots=True)
class Options:
    sizes: tuple[int, ...] = (10_000, 100_000)
    seed: int = 1
    queries: int = 400  # per kind, for our side
    naive_queries: int = 100  # per kind; the naive side is slow and its percentiles are coarse anyway
    qps_seconds: float = 4.0
    # Time the naive cold index over every k-th file and extrapolate; None: k = 1 up to 20k files,
    # else the k that gives about 20k files (the full pass would take 7+ minutes at 100k).
    naive_sample: int | None = None
    base: Path = DEFAULT_BASE
    quick: bool = False


@dataclass(slots=True)
class Figure:
    size: int
    name: str
    unit: str
    ours: float | None
    naive: float | None = None
    target: str = ""
    passed: bool | None = None
    note: str = ""
    higher_is_better: bool = False

    @property
    def ratio(self) -> float | None:
        if self.ours is None or self.naive is None or self.ours <= 0 or self.naive <= 0:
            return None
        return self.ours / self.naive if self.higher_is_better else self.naive / self.ours


@dataclass(slots=True)
class SizeResult:
    size: int
    store: SynthStore
    reused_store: bool
    figures: list[Figure] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)


def _log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _pct(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def _cpu() -> tuple[float, float]:
    """CPU seconds used so far by this process (all threads) and by its reaped children."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def _status_mb(key: str) -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def _reset_peak() -> None:
    """Start a new VmHWM (peak RSS) measurement for this process (Linux: clear_refs 5)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
    except OSError:
        pass


def _remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


# --- query sets (the same inputs for both sides) ----------------------------------------------


@dataclass(frozen=True, slots=True)
class QuerySet:
    topics: list[tuple[str, int]]  # (topic, offset)
    common: list[str]
    rare: list[str]
    related_paths: list[str]  # files whose article is published and has related entries
    article_prefixes: list[str]
    topic_prefixes: list[str]


def build_queries(store: SynthStore, count: int, seed: int) -> QuerySet:
    rng = random.Random(seed)
    names = list(store.topics)
    topics = [(rng.choice(names), 0 if rng.random() < 0.8 else rng.choice((10, 20, 50))) for _ in range(count)]
    planted = [w for w in store.common_words if w in ("microsoft", "azure")] or list(store.common_words)
    common = []
    for _ in range(count):
        words = [rng.choice(planted)]
        words += rng.sample(store.common_words, rng.choice((0, 0, 1, 2)))
        common.append(" ".join(dict.fromkeys(words)))
    rare = []
    for _ in range(count):
        word = rng.choice(store.rare_words)
        rare.append(word if rng.random() < 0.7 else f"{word} {rng.choice(store.common_words)}")
    candidates = [f.path for f in store.files if f.published and f.related and f.duplicate_of is None]
    related_paths = [rng.choice(candidates) for _ in range(count)]
    article_prefixes = []
    for _ in range(count):
        word = rng.choice(store.title_words)
        r = rng.random()
        if r < 0.1:
            article_prefixes.append("")  # what Discord sends when the option gets focus
        elif r < 0.75:
            article_prefixes.append(word[: rng.randint(1, 4)])
        elif r < 0.9:
            article_prefixes.append(word)
        else:
            article_prefixes.append(f"{word} {rng.choice(store.title_words)[:2]}")
    topic_prefixes = []
    for _ in range(count):
        name = rng.choice(names)
        topic_prefixes.append("" if rng.random() < 0.1 else name[: rng.randint(1, 4)].lower())
    return QuerySet(topics, common, rare, related_paths, article_prefixes, topic_prefixes)


# --- our side ---------------------------------------------------------------------------------


async def _timed_async(calls: Sequence[Callable[[], Awaitable[object]]], warmup: int = 10) -> list[float]:
    for call in calls[:warmup]:
        await call()
    gc.collect()
    out = []
    for call in calls:
        started = time.perf_counter()
        await call()
        out.append((time.perf_counter() - started) * 1000)
    return out


def _timed_sync(calls: Sequence[Callable[[], object]], warmup: int = 10) -> list[float]:
    for call in calls[:warmup]:
        call()
    gc.collect()
    out = []
    for call in calls:
        started = time.perf_counter()
        call()
        out.append((time.perf_counter() - started) * 1000)
    return out


@dataclass(slots=True)
class OurRun:
    cold: float = 0.0
    cold_cpu: tuple[float, float] = (0.0, 0.0)  # this process, worker processes
    cold_report: Any = None
    cold_peak_mb: float = 0.0  # peak RSS of this (the bot's) process during the cold index
    rss_before_mb: float = 0.0
    warm: float = 0.0
    warm_report: Any = None
    touched: float = 0.0
    touched_report: Any = None
    touched_visible: int = 0
    catalog_load: float = 0.0
    catalog_refresh: float = 0.0
    latency: dict[str, list[float]] = field(default_factory=dict)
    qps: float = 0.0
    qps_queries: int = 0
    result_sizes: dict[str, float] = field(default_factory=dict)


async def run_ours(store: SynthStore, db_path: Path, queries: QuerySet, opts: Options) -> OurRun:
    from bot.content.catalog import Catalog
    from bot.content.indexing import reindex
    from bot.db import Database
    from bot.db.types import Visibility
    from bot.store import loader

    run = OurRun()
    vis = Visibility()
    everything = Visibility(include_unpublished=True)
    _remove_db(db_path)

    _log(f"ours: cold index of {store.n} files")
    gc.collect()
    run.rss_before_mb = _status_mb("VmRSS")
    _reset_peak()
    started = time.perf_counter()
    cpu_before = _cpu()
    db = await Database.open(db_path)
    try:
        run.cold_report = await reindex(db, store.content)
        run.cold = time.perf_counter() - started
        cpu_after = _cpu()
        run.cold_cpu = (cpu_after[0] - cpu_before[0], cpu_after[1] - cpu_before[1])
        run.cold_peak_mb = _status_mb("VmHWM")

        _log("ours: reindex, nothing changed")
        started = time.perf_counter()
        run.warm_report = await reindex(db, store.content)
        run.warm = time.perf_counter() - started

        started = time.perf_counter()
        catalog = await Catalog.load(db)
        run.catalog_load = time.perf_counter() - started

        _log(f"ours: reindex after rewriting {TOUCHED} titles")
        tag = f"rev {int(time.time())}"
        changed = rewrite_titles(store, TOUCHED, tag=tag)
        try:
            started = time.perf_counter()
            run.touched_report = await reindex(db, store.content)
            run.touched = time.perf_counter() - started
            started = time.perf_counter()
            await catalog.refresh()
            run.catalog_refresh = time.perf_counter() - started
            for item in changed:
                article, _ = loader.load_file(store.content, str(item.path.relative_to(store.content)))
                served = await db.articles.get(article.id, everything) if article else None
                ok = (
                    served is not None and article is not None and served.title == article.title and tag in served.title
                )
                run.touched_visible += ok
        finally:
            restore(store, changed)
        # Back to the stored text, so that the queries below see the same data as the naive side.
        await reindex(db, store.content)
        await catalog.refresh()

        related_ids = []
        for path in dict.fromkeys(queries.related_paths):
            article, _ = loader.load_file(store.content, path)
            if article is not None:
                related_ids.append(article.id)
        related_ids = [related_ids[i % len(related_ids)] for i in range(len(queries.related_paths))]
        n = opts.queries
        repo = db.articles
        topics, common, rare = queries.topics[:n], queries.common[:n], queries.rare[:n]

        def search(q: str, v: Visibility) -> Callable[[], Awaitable[object]]:
            return lambda: repo.search(q, topic=None, vis=v, limit=10, offset=0)

        kinds: dict[str, list[Callable[[], Awaitable[object]]]] = {
            "topic latest": [lambda t=t, o=o: repo.latest(topic=t, vis=vis, limit=10, offset=o) for t, o in topics],
            "topic top": [
                lambda t=t, o=o: repo.by_topic(t, sort="top", vis=vis, limit=10, offset=o) for t, o in topics
            ],
            "search common": [search(q, vis) for q in common],
            "search common, all articles": [search(q, everything) for q in common],
            "search rare": [search(q, vis) for q in rare],
            "related": [lambda a=a: repo.related(a, vis, 10) for a in related_ids[:n]],
        }
        for name, calls in kinds.items():
            _log(f"ours: {len(calls)} x {name}")
            run.latency[name] = await _timed_async(calls)
        sync_kinds: dict[str, list[Callable[[], object]]] = {
            "autocomplete article": [
                lambda p=p: catalog.complete_articles(p, vis, limit=25) for p in queries.article_prefixes[:n]
            ],
            "autocomplete topic": [
                lambda p=p: catalog.complete_topics(p, vis, limit=25) for p in queries.topic_prefixes[:n]
            ],
        }
        for name, sync_calls in sync_kinds.items():
            _log(f"ours: {len(sync_calls)} x {name}")
            run.latency[name] = _timed_sync(sync_calls)
        sizes = [len((await repo.search(q, topic=None, vis=vis, limit=10)).items) for q in queries.common[:20]]
        run.result_sizes["search common"] = statistics.mean(sizes)
        sizes = [len((await repo.search(q, topic=None, vis=vis, limit=10)).items) for q in queries.rare[:20]]
        run.result_sizes["search rare"] = statistics.mean(sizes)
        sizes = [len(await repo.related(a, vis, 10)) for a in related_ids[:20]]
        run.result_sizes["related"] = statistics.mean(sizes)

        _log(f"ours: {CONCURRENCY} concurrent mixed queries for {opts.qps_seconds:.0f} s")
        mixed: list[Callable[[], Awaitable[object]]] = []
        for calls in kinds.values():
            mixed.extend(calls)

        async def complete(p: str) -> object:
            return catalog.complete_articles(p, vis, limit=25)

        mixed.extend(lambda p=p: complete(p) for p in queries.article_prefixes[:n])
        random.Random(opts.seed).shuffle(mixed)
        done = 0
        started = time.perf_counter()
        while time.perf_counter() - started < opts.qps_seconds:
            batch = [mixed[(done + i) % len(mixed)] for i in range(CONCURRENCY)]
            await asyncio.gather(*(call() for call in batch))
            done += CONCURRENCY
        run.qps = done / (time.perf_counter() - started)
        run.qps_queries = done
    finally:
        await db.close()
    return run


# --- naive side -------------------------------------------------------------------------------


@dataclass(slots=True)
class NaiveRun:
    cold: float = 0.0
    cold_cpu: float = 0.0
    cold_note: str = ""
    cold_files: int = 0
    reindex: float = 0.0
    reindex_note: str = ""
    latency: dict[str, list[float]] = field(default_factory=dict)
    qps: float = 0.0
    load_seconds: float = 0.0


NAIVE_FULL_MAX = 20_000  # above this, the naive cold index is timed on a sample unless asked otherwise


def run_naive(store: SynthStore, db_path: Path, queries: QuerySet, opts: Options) -> NaiveRun:
    run = NaiveRun()
    files = naive.article_files(store.content)
    _remove_db(db_path)
    k = opts.naive_sample if opts.naive_sample is not None else max(1, -(-len(files) // NAIVE_FULL_MAX))
    if k > 1:
        subset = files[::k]
        scale = len(files) / len(subset)
        _log(f"naive: cold index of every {k}th file ({len(subset):,} files), extrapolated x {scale:.2f}")
        cpu_before = _cpu()[0]
        run.cold = naive.naive_index(store.content, db_path, files=subset).seconds * scale
        run.cold_cpu = (_cpu()[0] - cpu_before) * scale
        run.cold_note = f"naive: EXTRAPOLATED linearly from {len(subset):,} files (every {k}th) x {scale:.2f}"
        run.cold_files = len(subset)
        rest = [f for i, f in enumerate(files) if i % k]
        _log(f"naive: adding the other {len(rest):,} files (untimed) so that its queries see every article")
        naive.fill(store.content, db_path, rest)
    else:
        _log(f"naive: cold index of {len(files):,} files")
        cpu_before = _cpu()[0]
        run.cold = naive.naive_index(store.content, db_path, files=files).seconds
        run.cold_cpu = _cpu()[0] - cpu_before
        run.cold_files = len(files)
    if k == 1 and len(files) <= NAIVE_FULL_MAX:
        _log("naive: reindex (a second full pass)")
        run.reindex = naive.naive_index(store.content, db_path, files=files).seconds
    else:
        # The naive reindex is its cold pass again (delete everything, insert everything; where both
        # are measured they agree), so it is not repeated for minutes at this size.
        run.reindex = run.cold
        run.reindex_note = "naive: = its cold pass (same code: delete all, insert all), not re-run"
    started = time.perf_counter()
    server = naive.NaiveServer.load(db_path)
    run.load_seconds = time.perf_counter() - started
    stems = [Path(p).stem for p in queries.related_paths]
    n = opts.naive_queries
    kinds: dict[str, list[Callable[[], object]]] = {
        "topic latest": [lambda t=t: server.topic(t, "latest") for t, _ in queries.topics[:n]],
        "topic top": [lambda t=t: server.topic(t, "top") for t, _ in queries.topics[:n]],
        "search common": [lambda q=q: server.search(q) for q in queries.common[:n]],
        "search rare": [lambda q=q: server.search(q) for q in queries.rare[:n]],
        "related": [lambda a=a: server.related(a) for a in stems[:n]],
        "autocomplete article": [lambda p=p: server.complete_articles(p) for p in queries.article_prefixes[:n]],
        "autocomplete topic": [lambda p=p: server.complete_topics(p) for p in queries.topic_prefixes[:n]],
    }
    for name, calls in kinds.items():
        _log(f"naive: {len(calls)} x {name}")
        run.latency[name] = _timed_sync(calls, warmup=3)
    # One process, nothing to overlap: 50 "concurrent" requests are served one after another.
    mixed = [c for name, calls in kinds.items() if name != "autocomplete topic" for c in calls]
    random.Random(opts.seed).shuffle(mixed)
    done = 0
    started = time.perf_counter()
    while time.perf_counter() - started < min(opts.qps_seconds, 3.0):
        for call in mixed[done % len(mixed) :][:CONCURRENCY]:
            call()
        done += CONCURRENCY
    run.qps = done / (time.perf_counter() - started)
    return run


# --- memory of a fresh serving process ----------------------------------------------------------

_MEMORY_SCRIPT = r"""
import asyncio, gc, json, sys
from pathlib import Path

def status():
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                out[key] = int(value.split()[0]) / 1024
    return out

mode, db_path = sys.argv[1], Path(sys.argv[2])
import discord  # the bot imports it at startup, so it belongs in the figure
from bot.db import Database
from bot.content.catalog import Catalog
from bot.db.types import Visibility
from bot.content.indexing import reindex
from bench import naive
result = {}
gc.collect()
result["baseline"] = status()

async def ours():
    db = await Database.open(db_path)
    catalog = await Catalog.load(db)
    gc.collect()
    result["loaded"] = status()
    # What the bot also does at every start: reindex (nothing changed) and refresh the catalog.
    await reindex(db, Path(sys.argv[4]), isolate=True)
    await catalog.refresh()
    gc.collect()
    result["reindexed"] = status()
    vis = Visibility()
    queries = json.loads(sys.argv[3])
    for q in queries["search"]:
        await db.articles.search(q, topic=None, vis=vis, limit=10, offset=0)
    for t in queries["topics"]:
        await db.articles.latest(topic=t, vis=vis, limit=10, offset=0)
    for p in queries["prefixes"]:
        catalog.complete_articles(p, vis, limit=25)
    gc.collect()
    result["served"] = status()
    await db.close()

if mode == "ours":
    asyncio.run(ours())
else:
    server = naive.NaiveServer.load(db_path)
    gc.collect()
    result["loaded"] = status()
    queries = json.loads(sys.argv[3])
    for q in queries["search"]:
        server.search(q)
    for t in queries["topics"]:
        server.topic(t, "latest")
    gc.collect()
    result["served"] = status()
print(json.dumps(result))
"""


def measure_memory(mode: str, db_path: Path, queries: QuerySet, content: Path) -> dict[str, dict[str, float]]:
    payload = json.dumps(
        {
            "search": queries.common[:50] + queries.rare[:50],
            "topics": [t for t, _ in queries.topics[:50]],
            "prefixes": queries.article_prefixes[:50],
        }
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", _MEMORY_SCRIPT, mode, str(db_path), payload, str(content)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"memory probe ({mode}) failed:\n{proc.stderr[-3000:]}")
    result: dict[str, dict[str, float]] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


# --- one size ---------------------------------------------------------------------------------


def _store_facts(store: SynthStore) -> list[str]:
    sizes = [(store.content / f.path).stat().st_size for f in store.files]
    sizes.sort()
    related = sorted(f.related for f in store.files)
    df = ", ".join(f"{w} {store.word_df[w]:.0%}" for w in store.common_words)
    return [
        f"{store.n:,} files, {sum(sizes) / 1e6:,.0f} MB (file size p50 {sizes[len(sizes) // 2]:,} B, "
        f"p90 {sizes[len(sizes) * 9 // 10]:,} B, max {sizes[-1]:,} B); related entries per file: mean "
        f"{statistics.mean(related):.1f}, p50 {related[len(related) // 2]}, p90 {related[len(related) * 9 // 10]}, "
        f"{sum(r >= 100 for r in related):,} files with 100+; "
        f"published {sum(f.published for f in store.files) / store.n:.0%}; "
        f"{store.duplicates:,} duplicate URLs; {len(store.topics)} topics",
        f"words in more than half of the articles (title+excerpt): {df}",
    ]


def run_size(size: int, opts: Options) -> SizeResult:
    _log(f"store of {size:,} articles")
    store, reused = ensure_store(size, seed=opts.seed, base=opts.base)
    _log(f"store {'reused' if reused else f'generated in {store.seconds:.1f} s'}: {store.content}")
    result = SizeResult(size, store, reused)
    result.facts += _store_facts(store)
    load_before = os.getloadavg()[0]
    queries = build_queries(store, max(opts.queries, opts.naive_queries), opts.seed)
    ours_db = opts.base / f"ours-n{size}.sqlite3"
    naive_db = opts.base / f"naive-n{size}.sqlite3"

    ours = asyncio.run(run_ours(store, ours_db, queries, opts))
    tampered_ours = modified_files(store)
    _log("ours: memory of a fresh serving process")
    mem_ours = measure_memory("ours", ours_db, queries, store.content)
    nv = run_naive(store, naive_db, queries, opts)
    _log("naive: memory of a fresh serving process")
    mem_naive = measure_memory("naive", naive_db, queries, store.content)

    tampered = modified_files(store)
    if tampered_ours:
        result.facts.append(
            f"WARNING: {len(tampered_ours)} store files were changed by another process while our side was "
            f"measured (e.g. {tampered_ours[0]}): reindex figures may include re-parsing them"
        )
    elif tampered:
        result.facts.append(
            f"note: {len(tampered)} store files were changed by another process after our side was measured "
            f"(e.g. {tampered[0]})"
        )
    result.facts.append(
        f"1-minute load average {load_before:.2f} before this size, {os.getloadavg()[0]:.2f} after "
        f"(anything above ~0.3 means other processes shared the CPUs during the run)"
    )
    cr = ours.cold_report
    parent_cpu, worker_cpu = ours.cold_cpu
    result.facts.append(
        f"cold index CPU time (load-independent): ours {parent_cpu + worker_cpu:.1f} s "
        f"({parent_cpu:.1f} s in the bot process, {worker_cpu:.1f} s in parse workers) for {ours.cold:.1f} s wall; "
        f"naive {nv.cold_cpu:.1f} s for {nv.cold:.1f} s wall{' (extrapolated)' if nv.cold_note else ''}; "
        f"peak RSS of the indexing process (the bot, if it indexes in-process) during the cold index "
        f"{ours.cold_peak_mb:.0f} MB (it held {ours.rss_before_mb:.0f} MB before)"
    )
    result.facts.append(
        f"cold index report: added {cr.added:,}, rejected {len(cr.rejected)}, warnings {len(cr.warnings)} "
        f"(duplicates collapsed and decoding warnings); reindex(no change): unchanged {ours.warm_report.unchanged:,}, "
        f"touched {ours.warm_report.touched}; reindex(100 rewritten): changed {ours.touched_report.changed}, "
        f"new titles served {ours.touched_visible}/{TOUCHED}"
    )
    result.facts.append(
        f"Catalog.load {ours.catalog_load * 1000:.0f} ms, catalog.refresh after the change "
        f"{ours.catalog_refresh * 1000:.0f} ms; naive server load {nv.load_seconds:.1f} s; "
        f"mean results per query (limit 10): " + ", ".join(f"{k} {v:.1f}" for k, v in ours.result_sizes.items())
    )
    big = size >= 100_000
    f = result.figures

    def target(ok: bool) -> bool | None:
        return ok if big else None

    cold_ok = ours.cold <= 45 and nv.cold / ours.cold >= 2
    cold_target = "<= 45 s and >= 2x naive"
    f.append(Figure(size, "cold index (fresh db)", "s", ours.cold, nv.cold, cold_target, target(cold_ok), nv.cold_note))
    warm_ok, touched_ok = ours.warm <= 1, ours.touched <= 1
    f.append(Figure(size, "reindex, no change", "s", ours.warm, nv.reindex, "<= 1 s", target(warm_ok), nv.reindex_note))
    name = f"reindex, {TOUCHED} files changed"
    f.append(Figure(size, name, "s", ours.touched, nv.reindex, "<= 1 s", target(touched_ok), nv.reindex_note))
    limits = {
        "topic latest": (None, 1.0),
        "topic top": (None, 1.0),
        "search common": (15.0, 100.0),
        "search common, all articles": (15.0, 100.0),
        "search rare": (15.0, 100.0),
        "related": (None, 1.0),
        "autocomplete article": (None, 1.0),
        "autocomplete topic": (None, 1.0),
    }
    for name, (p50_limit, p99_limit) in limits.items():
        lat = ours.latency[name]
        base = nv.latency.get(name) or nv.latency.get(name.split(",")[0])
        p50, p99 = _pct(lat, 50), _pct(lat, 99)
        n50 = _pct(base, 50) if base else None
        n99 = _pct(base, 99) if base else None
        note = "naive: published only" if name.endswith("all articles") else ""
        p50_ok = target(p50 <= p50_limit) if p50_limit is not None else None
        p50_target = f"<= {p50_limit:g} ms" if p50_limit is not None else ""
        f.append(Figure(size, f"{name} p50", "ms", p50, n50, p50_target, p50_ok, note))
        f.append(Figure(size, f"{name} p99", "ms", p99, n99, f"<= {p99_limit:g} ms", target(p99 <= p99_limit), note))
    name = f"throughput, {CONCURRENCY} concurrent mixed"
    qps_note = f"ratio column: ours/naive; {ours.qps_queries:,} queries"
    f.append(Figure(size, name, "q/s", ours.qps, nv.qps, note=qps_note, higher_is_better=True))
    stages = (("loaded", "at startup"), ("reindexed", "+ reindex (no change)"), ("served", "+ 150 queries"))
    for stage, label in stages:
        mine, theirs = mem_ours[stage], mem_naive.get(stage, mem_naive["loaded"])
        rss, hwm = mine["VmRSS"], mine["VmHWM"]
        note = (
            f"peak (VmHWM) ours {hwm:.0f} MB, naive {theirs['VmHWM']:.0f} MB; "
            f"ours anon {mine['RssAnon']:.0f} MB + file {mine['RssFile']:.0f} MB"
        )
        ok = target(max(rss, hwm) <= 150)
        f.append(Figure(size, f"serving process RSS {label}", "MB", rss, theirs["VmRSS"], "<= 150 MB", ok, note))
    result.facts.append(
        f"serving process before opening the database (python + discord.py + bot imports): "
        f"{mem_ours['baseline']['VmRSS']:.0f} MB RSS"
    )
    return result


# --- report -----------------------------------------------------------------------------------


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "ms":
        return f"{value:.3f}" if value < 1 else f"{value:.2f}" if value < 100 else f"{value:,.0f}"
    if unit == "s":
        return f"{value:.3f}" if value < 1 else f"{value:.1f}"
    return f"{value:,.0f}"


def table(results: Sequence[SizeResult]) -> str:
    rows = [
        "| articles | figure | ours | naive | naive/ours | target (at 100k) | result | notes |",
        "|---:|---|---:|---:|---:|---|---|---|",
    ]
    for res in results:
        for fig in res.figures:
            ratio = fig.ratio
            verdict = "" if fig.passed is None else "PASS" if fig.passed else "**FAIL**"
            rows.append(
                f"| {fig.size:,} | {fig.name} ({fig.unit}) | {_fmt(fig.ours, fig.unit)} | "
                f"{_fmt(fig.naive, fig.unit)} | {'—' if ratio is None else f'{ratio:,.1f}x'} | {fig.target} | "
                f"{verdict} | {fig.note} |"
            )
    return "\n".join(rows)


def machine() -> list[str]:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return [
        f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"machine: {os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {cpu}, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB RAM, {platform.platform()}",
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}",
    ]


def render(results: Sequence[SizeResult], opts: Options, seconds: float) -> str:
    lines = ["# Store and index benchmark", ""]
    lines += [f"- {m}" for m in machine()]
    sizes = ",".join(str(s) for s in opts.sizes)
    lines.append(f"- command: `python -m bench store --sizes {sizes}`; total {seconds / 60:.1f} min")
    lines.append("")
    lines.append(table(results))
    lines.append("")
    for res in results:
        lines.append(f"## {res.size:,} articles")
        lines.append("")
        lines += [f"- {fact}" for fact in res.facts]
        lines.append(
            f"- store {'reused from an earlier run' if res.reused_store else f'generated in {res.store.seconds:.1f} s'}"
        )
        lines.append("")
    return "\n".join(lines)


def main(opts: Options, out: Path | None) -> int:
    started = time.perf_counter()
    results = [run_size(size, opts) for size in opts.sizes]
    seconds = time.perf_counter() - started
    text = render(results, opts, seconds)
    print(text)
    if out is not None:
        existing = out.read_text(encoding="utf-8") if out.exists() else ""
        marker = "<!-- notes -->"
        notes = existing[existing.index(marker) :] if marker in existing else ""
        out.write_text(text + ("\n" + notes if notes else ""), encoding="utf-8")
        _log(f"wrote {out}")
    failed = [f"{f.size:,}: {f.name}" for r in results for f in r.figures if f.passed is False]
    if failed:
        _log("targets failed: " + "; ".join(failed))
    elif any(f.passed is not None for r in results for f in r.figures):
        _log("all targets passed")
    return 0
