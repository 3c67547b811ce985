"""Two processes on one PostgreSQL database: alert and digest delivery throughput, exactly once.

``python -m bench.pg_processes``: a throwaway database on ``NEWSBOT_BENCH_POSTGRES_URL`` (default:
the local server) gets ``SERVERS`` servers, each with one alert (its topic, 30 posts per 10
minutes) and ``DIGESTS_PER_SERVER`` digests due in the same minute; then ``ARTICLES`` new articles
of that topic are indexed, so every alert has 30 posts to make. Two worker processes split the
servers as two shards (hosts) do, by ``guild_id % 2``, start at the same moment and each run the
real ``AlertService`` (judge the arrivals, then deliver every owned alert) and ``DigestService``
(``deliver_slot`` for every owned digest) against the database, posting to an outbox in memory
(Discord's rate limits are not included: the cost measured is the bookkeeping, each post recorded
before it is sent and its message id after). Each worker then runs everything once more, which
must post nothing. The parent checks that every (alert, article) and every digest was posted
exactly once across both processes. Results replace the section of ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import multiprocessing
import os
import shutil
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from bench.alerts import TOPIC, article
from bot.alerts.queue import DEFAULT_RATE

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SECTION = "## Two processes on one PostgreSQL database (`python -m bench.pg_processes`)"
SERVERS = 200
DIGESTS_PER_SERVER = 5
ARTICLES = 30  # each alert's whole window (rules.MAX_POSTS_PER_WINDOW): no roundups
PROCESSES = 2


@dataclass
class Outbox:
    """Both outboxes' protocols, in memory: every post kept with its channel and nonce."""

    posts: list[tuple[int, str, str]] = field(default_factory=list)  # channel, nonce, article id ("" for digests)
    ids: Any = field(default_factory=lambda: itertools.count(1))

    def problem(self, *_: object) -> str | None:
        return None

    def forum_tags(self, channel_id: int) -> list[tuple[int, str]]:
        return []

    async def send(self, channel_id: int, message: Any, nonce: str) -> int:
        found = message.get("article") if isinstance(message, dict) else None
        self.posts.append((channel_id, nonce, str(found or "")))
        return int(next(self.ids))

    async def find(self, channel_id: int, nonce: str, *, after: datetime) -> int | None:
        return None

    async def start_thread(self, channel_id: int, message_id: int, name: str) -> int:
        return int(next(self.ids))

    async def thread_exists(self, thread_id: int) -> bool:
        return True

    async def forum_post(self, forum_id: int, name: str, tags: Sequence[int], message: Any, nonce: str) -> int:
        return await self.send(forum_id, message, nonce)

    async def find_forum_post(self, forum_id: int, nonce: str, *, after: datetime) -> int | None:
        return None

    async def publish(self, channel_id: int, message_id: int) -> None:
        return None


@dataclass(frozen=True, slots=True)
class WorkerResult:
    shard: int
    alert_posts: list[tuple[int, str, str]]
    alert_seconds: float
    digest_posts: list[tuple[int, str, str]]
    digest_seconds: float
    repeated: int  # posts made by the second pass: must be 0


def _worker(url: str, shard: int, start_at: float, slot_iso: str) -> WorkerResult:
    return asyncio.run(_work(url, shard, start_at, datetime.fromisoformat(slot_iso)))


async def _work(url: str, shard: int, start_at: float, slot: datetime) -> WorkerResult:
    from bot.alerts.service import AlertService
    from bot.db import open_database
    from bot.db.types import Visibility
    from bot.digests.service import DigestService

    def owns(guild_id: int) -> bool:
        return guild_id % PROCESSES == shard

    async def everyone(guild_id: int) -> Visibility:
        return Visibility()

    db = await open_database(url)
    try:
        alerts_out, digests_out = Outbox(), Outbox()
        alerts = AlertService(
            db.alerts,
            db.articles,
            alerts_out,  # type: ignore[arg-type]
            everyone,
            max_age=timedelta(hours=48),
            clock=lambda: datetime.now(UTC),
        )
        digests = DigestService(db.digests, digests_out, everyone)  # type: ignore[arg-type]
        owned_alerts = [a.id for a in await db.alerts.all() if owns(a.guild_id)]
        await asyncio.sleep(max(0.0, start_at - time.time()))

        started = time.perf_counter()
        await alerts.judge_new(owns)
        for alert_id in owned_alerts:
            await alerts.deliver(alert_id)
        alert_seconds = time.perf_counter() - started

        started = time.perf_counter()
        owned_digests = [d for d in await db.digests.active() if owns(d.guild_id)]
        for digest in owned_digests:
            await digests.deliver_slot(digest, slot, slot)
        digest_seconds = time.perf_counter() - started

        before = len(alerts_out.posts) + len(digests_out.posts)
        await alerts.judge_new(owns)
        for alert_id in owned_alerts:
            await alerts.deliver(alert_id)
        for digest in owned_digests:
            await digests.deliver_slot(digest, slot, slot)
        repeated = len(alerts_out.posts) + len(digests_out.posts) - before
        return WorkerResult(shard, alerts_out.posts, alert_seconds, digests_out.posts, digest_seconds, repeated)
    finally:
        await db.close()


async def _setup(url: str, content: Path, now: datetime, slot: datetime) -> None:
    from bot.content.indexing import reindex
    from bot.db import open_database
    from bot.db.alert_types import NewAlert
    from bot.db.digest_types import NewDigest

    db = await open_database(url)
    try:
        for guild in range(1, SERVERS + 1):
            await db.alerts.add(
                NewAlert(guild, guild * 100, "text", TOPIC, None, (), 0, None, "embed", False, None, ARTICLES,
                         now - timedelta(days=1), 1)
            )  # fmt: skip
            for n in range(DIGESTS_PER_SERVER):
                await db.digests.add(
                    NewDigest(guild, guild * 100 + 1 + n, TOPIC, f"{slot:%H:%M}", "UTC", "daily", 0, 0, 5,
                              now - timedelta(days=1), 1)
                )  # fmt: skip
        folder = content / "_news" / "bench"
        folder.mkdir(parents=True)
        for n in range(1, ARTICLES + 1):
            (folder / f"a{n}.md").write_text(article(n, now - timedelta(minutes=n)), encoding="utf-8")
        await reindex(db, content)
    finally:
        await db.close()


@dataclass(frozen=True, slots=True)
class Result:
    alert_posts: int
    alert_seconds: float
    digest_posts: int
    digest_seconds: float
    duplicates: int
    missing: int
    repeated: int
    per_process: list[tuple[int, int, int]]  # shard, alert posts, digest posts
    load: tuple[float, float]


async def _admin(server: str, sql: str) -> None:
    conn = await asyncpg.connect(server)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def run(server: str) -> Result:
    name = f"newsbot_bench_{uuid.uuid4().hex[:8]}"
    url = f"{server.rpartition('/')[0]}/{name}"
    work = Path(tempfile.mkdtemp(prefix="bench-pg-processes-"))
    asyncio.run(_admin(server, f'CREATE DATABASE "{name}"'))
    try:
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        slot = now - timedelta(minutes=1)
        asyncio.run(_setup(url, work / "content", now, slot))
        load_before = os.getloadavg()[0]
        start_at = time.time() + 3.0  # both workers connected and ready before it
        context = multiprocessing.get_context("spawn")
        with context.Pool(PROCESSES) as pool:
            results = pool.starmap(_worker, [(url, shard, start_at, slot.isoformat()) for shard in range(PROCESSES)])
        load_after = os.getloadavg()[0]
    finally:
        shutil.rmtree(work, ignore_errors=True)
        asyncio.run(_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    alert_posts = Counter((channel, art) for r in results for channel, _, art in r.alert_posts)
    digest_posts = Counter(channel for r in results for channel, _, _ in r.digest_posts)
    wanted_digests = {g * 100 + 1 + n for g in range(1, SERVERS + 1) for n in range(DIGESTS_PER_SERVER)}
    duplicates = sum(c - 1 for c in alert_posts.values() if c > 1) + sum(c - 1 for c in digest_posts.values() if c > 1)
    # Each alert's channel must show each of the articles: ARTICLES distinct ones, none named "".
    articles_in = Counter(channel for channel, art in alert_posts if art)
    missing = len(wanted_digests - set(digest_posts))
    missing += sum(max(0, ARTICLES - articles_in[g * 100]) for g in range(1, SERVERS + 1))
    return Result(
        alert_posts=sum(alert_posts.values()),
        alert_seconds=max(r.alert_seconds for r in results),
        digest_posts=sum(digest_posts.values()),
        digest_seconds=max(r.digest_seconds for r in results),
        duplicates=duplicates,
        missing=missing,
        repeated=sum(r.repeated for r in results),
        per_process=[(r.shard, len(r.alert_posts), len(r.digest_posts)) for r in results],
        load=(load_before, load_after),
    )


def render(result: Result, version: str) -> str:
    exact = result.duplicates == 0 and result.missing == 0 and result.repeated == 0
    shards = "; ".join(f"process {s}: {a:,} alert posts, {d:,} digests" for s, a, d in result.per_process)
    return "\n".join(
        [
            SECTION,
            "",
            f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} shared cores, {version} on the same "
            f"machine (TCP on 127.0.0.1). {SERVERS} servers split over {PROCESSES} processes by `guild_id % 2`, as "
            f"two shards; each server has one alert with {ARTICLES} new articles to post and {DIGESTS_PER_SERVER} "
            "digests due in the same minute. The real `AlertService` and `DigestService` on one database, posting "
            "to an outbox in memory (no Discord rate limits: the cost is the exactly-once bookkeeping). 1-minute "
            f"load average before and after: {result.load[0]:.2f} / {result.load[1]:.2f}.",
            "",
            "| measure | both processes | per second |",
            "|---|---|---|",
            f"| alert posts (judge + deliver) | {result.alert_posts:,} in {result.alert_seconds:.2f} s | "
            f"{result.alert_posts / result.alert_seconds:,.0f} posts/s |",
            f"| digests (`deliver_slot`) | {result.digest_posts:,} in {result.digest_seconds:.2f} s | "
            f"{result.digest_posts / result.digest_seconds:,.0f} digests/s |",
            "",
            f"{shards}. Exactly once: {'yes' if exact else 'NO'} ({result.duplicates} duplicate posts, "
            f"{result.missing} missing, {result.repeated} posts from a second pass over everything).",
            f"For scale: each bot process paces its alert posts at {DEFAULT_RATE:.0f} per second "
            "(`bot/alerts/queue.py`, inside Discord's global 50), so the database's bookkeeping is not what "
            "limits delivery with two hosts on one server.",
        ]
    )


def write(section: str, out: Path) -> None:
    text = out.read_text(encoding="utf-8") if out.exists() else ""
    if SECTION in text:
        start = text.index(SECTION)
        ends = [i for i in (text.find("\n## ", start + len(SECTION)), text.find("\n<!--", start)) if i >= 0]
        end = min(ends) if ends else -1
        text = text[:start] + section.rstrip() + "\n\n" + (text[end:].lstrip("\n") if end >= 0 else "")
    else:
        text = text.rstrip() + "\n\n" + section
    out.write_text(text.rstrip() + "\n", encoding="utf-8")


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m bench.pg_processes", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args()
    server = os.environ.get("NEWSBOT_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

    async def version() -> str:
        conn = await asyncpg.connect(server)
        try:
            return "PostgreSQL " + str(await conn.fetchval("SHOW server_version")).split()[0]
        finally:
            await conn.close()

    result = run(server)
    section = render(result, asyncio.run(version()))
    print(section)
    if not args.no_write:
        write(section, args.out)
    return 0 if result.duplicates == 0 and result.missing == 0 and result.repeated == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
