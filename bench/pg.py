"""SQLite and PostgreSQL side by side: the store benchmark's query set on both backends.

``python -m bench.pg --sizes 10000``: for each size, a cold index into a fresh database of each
backend, a reindex with nothing changed and one after rewriting 100 titles, then p50/p99 latency
of topic pages, related lists, search (common and rare words) and the autocomplete catalog load,
through the real async repositories. The PostgreSQL server is ``NEWSBOT_BENCH_POSTGRES_URL``
(default: the local one); a throwaway database is created and dropped. Results replace the
"SQLite and PostgreSQL" section of ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from bench.store_index import _pct, _timed_async, _timed_sync, build_queries
from bench.synth import DEFAULT_BASE, SynthStore, ensure_store, restore, rewrite_titles

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SECTION = "## SQLite and PostgreSQL side by side (`python -m bench.pg`)"
KINDS = ("topic latest", "topic top", "related", "search common", "search rare", "autocomplete article")
RATIO_TARGET = 3.0
P99_TARGET_MS = 20.0


async def measure(store: SynthStore, url: str, queries: int) -> dict[str, float]:
    from bot.content.catalog import Catalog
    from bot.content.indexing import reindex
    from bot.db import open_database
    from bot.db.types import Visibility
    from bot.store import loader

    out: dict[str, float] = {}
    vis = Visibility()
    started = time.perf_counter()
    db = await open_database(url)
    try:
        await reindex(db, store.content)
        out["cold index s"] = time.perf_counter() - started
        started = time.perf_counter()
        await reindex(db, store.content)
        out["reindex, nothing changed s"] = time.perf_counter() - started
        changed = rewrite_titles(store, 100, tag=f"rev {int(time.time())}")
        try:
            started = time.perf_counter()
            await reindex(db, store.content)
            out["reindex, 100 titles s"] = time.perf_counter() - started
        finally:
            restore(store, changed)
        await reindex(db, store.content)
        started = time.perf_counter()
        catalog = await Catalog.load(db)
        out["autocomplete catalog load s"] = time.perf_counter() - started

        qs = build_queries(store, queries, 1)
        related_ids: list[str] = []
        for path in dict.fromkeys(qs.related_paths):
            article, _ = loader.load_file(store.content, path)
            if article is not None:
                related_ids.append(article.id)
        repo = db.articles
        kinds: dict[str, list[Callable[[], Awaitable[object]]]] = {
            "topic latest": [lambda t=t, o=o: repo.latest(topic=t, vis=vis, offset=o) for t, o in qs.topics],
            "topic top": [lambda t=t, o=o: repo.by_topic(t, sort="top", vis=vis, offset=o) for t, o in qs.topics],
            "related": [lambda a=a: repo.related(a, vis, 10) for a in related_ids[:queries]],
            "search common": [lambda q=q: repo.search(q, vis=vis) for q in qs.common],
            "search rare": [lambda q=q: repo.search(q, vis=vis) for q in qs.rare],
        }
        for name, calls in kinds.items():
            times = await _timed_async(calls)
            out[f"{name} p50"] = _pct(times, 50)
            out[f"{name} p99"] = _pct(times, 99)
        # Autocomplete answers from the catalog in memory on either backend: the same code, listed so
        # that the table covers the whole query set (the backend only shows in the load above).
        times = _timed_sync([lambda p=p: catalog.complete_articles(p, vis, limit=25) for p in qs.article_prefixes])
        out["autocomplete article p50"] = _pct(times, 50)
        out["autocomplete article p99"] = _pct(times, 99)
    finally:
        await db.close()
    return out


async def _admin(server: str, sql: str) -> None:
    conn = await asyncpg.connect(server)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _remove(db_path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-index.lock"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)


async def run_size(size: int, server: str, base: Path, queries: int) -> tuple[dict[str, float], dict[str, float]]:
    store, _ = ensure_store(size, base=base)
    db_path = base / f"pg-bench-{size}.sqlite3"
    _remove(db_path)
    print(f"{size}: SQLite", flush=True)
    lite = await measure(store, f"sqlite:///{db_path}", queries)
    name = f"newsbot_bench_{uuid.uuid4().hex[:8]}"
    await _admin(server, f'CREATE DATABASE "{name}"')
    try:
        print(f"{size}: PostgreSQL", flush=True)
        pg = await measure(store, f"{server.rpartition('/')[0]}/{name}", queries)
    finally:
        await _admin(server, f'DROP DATABASE IF EXISTS "{name}"')
    return lite, pg


def render(
    results: dict[int, tuple[dict[str, float], dict[str, float]]],
    server_version: str,
    loads: dict[int, tuple[float, float]],
) -> str:
    lines = [
        SECTION,
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, {os.cpu_count()} shared cores, "
        f"{server_version} on the same machine (default settings, TCP on 127.0.0.1). "
        f"Targets: PostgreSQL within {RATIO_TARGET:.0f}x of SQLite for each query kind, every p99 under "
        f"{P99_TARGET_MS:.0f} ms. Latencies in ms; index times in seconds.",
        "",
    ]
    for size, (lite, pg) in results.items():
        load = loads.get(size, ())
        lines += [
            f"### {size:,} articles",
            "",
            f"1-minute load average before and after: {' / '.join(f'{x:.2f}' for x in load)}.",
            "",
            "| measure | SQLite | PostgreSQL | ratio | target |",
            "|---|---|---|---|---|",
        ]
        for key in lite:
            ratio = pg[key] / lite[key] if lite[key] else float("nan")
            target = ""
            if key.endswith("p99"):
                under = pg[key] < P99_TARGET_MS
                within = pg[key] <= RATIO_TARGET * lite[key]
                target = (
                    f"< {P99_TARGET_MS:.0f} ms {'met' if under else 'MISSED'}; "
                    f"within {RATIO_TARGET:.0f}x {'met' if within else 'MISSED'}"
                )
            lines.append(f"| {key} | {lite[key]:.3g} | {pg[key]:.3g} | {ratio:.2f}x | {target} |")
        lines.append("")
    return "\n".join(lines)


def write(section: str, out: Path) -> None:
    text = out.read_text(encoding="utf-8") if out.exists() else ""
    if SECTION in text:
        start = text.index(SECTION)
        # The section ends at the next heading or the next section's marker (``<!-- alerts -->``).
        ends = [i for i in (text.find("\n## ", start + len(SECTION)), text.find("\n<!--", start)) if i >= 0]
        end = min(ends) if ends else -1
        text = text[:start] + section.rstrip() + "\n\n" + (text[end:].lstrip("\n") if end >= 0 else "")
    else:
        text = text.rstrip() + "\n\n" + section
    out.write_text(text.rstrip() + "\n", encoding="utf-8")


async def amain(sizes: list[int], server: str, base: Path, queries: int, out: Path | None) -> int:
    conn = await asyncpg.connect(server)
    version = "PostgreSQL " + str(await conn.fetchval("SHOW server_version")).split()[0]
    await conn.close()
    results: dict[int, tuple[dict[str, float], dict[str, float]]] = {}
    loads: dict[int, tuple[float, float]] = {}
    for size in sizes:
        before = os.getloadavg()[0]
        results[size] = await run_size(size, server, base, queries)
        loads[size] = (before, os.getloadavg()[0])
    section = render(results, version, loads)
    print(section)
    if out is not None:
        write(section, out)
    return 0


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m bench.pg", description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="10000", help="comma-separated article counts")
    p.add_argument("--queries", type=int, default=300, help="queries per kind")
    p.add_argument("--base", type=Path, default=DEFAULT_BASE)
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args()
    server = os.environ.get("NEWSBOT_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    return asyncio.run(amain(sizes, server, args.base, args.queries, None if args.no_write else args.out))


if __name__ == "__main__":
    raise SystemExit(main())
