"""Slash-command round trip through the emulator at 100k articles (issue #3).

The real bot (unmodified discord.py, ``bot.demo.harness.running_bot``) serves a synthetic store; the
emulator dispatches INTERACTION_CREATE over the gateway and times until the bot's first callback
arrives over REST. Reported per kind as p50/p99, plus sustained interactions per second with 50
in flight. The naive figure beside each is the time a linear-scan server (``bench.naive``) needs
just to compute the same answers in-process: a lower bound on a naive bot's round trip.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import signal
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.naive import NaiveServer, naive_index
from bench.store_index import QuerySet, build_queries
from bench.synth import DEFAULT_BASE, ensure_store
from bot.emulator import Emulator, InteractionResult
from bot.settings import Settings

TARGET_COMMAND_P99_MS = 50.0
TARGET_AUTOCOMPLETE_P99_MS = 20.0
TARGET_RATE = 200.0


@dataclass(frozen=True, slots=True)
class Row:
    kind: str
    p50_ms: float
    p99_ms: float
    naive_p50_ms: float | None
    target: str
    passed: bool


def _pct(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _log(message: str) -> None:
    print(f"[roundtrip] {message}", file=sys.stderr, flush=True)


async def _measure(send: Callable[[int], Awaitable[InteractionResult]], count: int, *, choices: bool) -> list[float]:
    samples: list[float] = []
    for i in range(count + 10):
        result = await send(i)
        if choices:
            await result.choices(timeout=3)
        else:
            await result.response(timeout=3)
        if i >= 10 and result.elapsed is not None:  # the first few warm caches up
            samples.append(result.elapsed * 1000)
    return samples


def _naive_ms(calls: Sequence[Callable[[], object]]) -> list[float]:
    samples = []
    for call in calls:
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


@contextlib.asynccontextmanager
async def bot_process(emulator: Emulator, settings: Settings) -> AsyncIterator[None]:
    """The bot in its own process, as deployed, configured only through the environment; the
    emulator keeps this process (and its own core)."""
    env = dict(os.environ)
    env.update(
        DISCORD_TOKEN=emulator.token,
        DISCORD_API_BASE=emulator.api_base,
        DISCORD_GATEWAY_URL=emulator.gateway_url,
        NEWSBOT_CONTENT_DIR=str(settings.content_dir),
        NEWSBOT_DATABASE_URL=settings.database_url,
        NEWSBOT_LOG_LEVEL="WARNING",
    )
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", env=env)
    try:
        await emulator.wait_until(
            lambda: emulator.identify_count >= 1 and emulator.registered_commands(), timeout=900, what="the bot"
        )
        await asyncio.sleep(0.5)  # GUILD_CREATE processed
        _log("bot connected")
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), timeout=30)


async def run(size: int, count: int, seconds: float, base: Path, *, validate: bool) -> tuple[list[Row], float, int]:
    store, _ = ensure_store(size, base=base)
    queries: QuerySet = build_queries(store, count, seed=7)
    db_path = base / f"roundtrip-n{size}.sqlite3"
    settings = Settings(content_dir=store.content, database_url=f"sqlite:///{db_path}")
    async with Emulator(validate=validate) as emulator:
        guild = emulator.add_guild("Bench")
        channel = emulator.add_text_channel(guild, "news")
        member = emulator.add_member(guild, "reader")
        _log(f"starting the bot on {size:,} articles (indexing if needed)")
        async with bot_process(emulator, settings):

            def slash(sub: str, options: dict[str, str] | None) -> Awaitable[InteractionResult]:
                return emulator.send_slash_command(guild, channel, member, "news", options, subcommand=sub)

            def complete(sub: str, option: str, text: str) -> Awaitable[InteractionResult]:
                return emulator.send_autocomplete(
                    guild, channel, member, "news", {option: text}, focused=option, subcommand=sub
                )

            searches = [q for pair in zip(queries.common, queries.rare, strict=False) for q in pair]
            ours = {
                "/news search": await _measure(
                    lambda i: slash("search", {"query": searches[i % len(searches)]}), count, choices=False
                ),
                "/news topic": await _measure(
                    lambda i: slash("topic", {"name": queries.topics[i % len(queries.topics)][0]}), count, choices=False
                ),
                "autocomplete (article)": await _measure(
                    lambda i: complete(
                        "article", "article", queries.article_prefixes[i % len(queries.article_prefixes)]
                    ),
                    count,
                    choices=True,
                ),
                "autocomplete (topic)": await _measure(
                    lambda i: complete("topic", "name", queries.topic_prefixes[i % len(queries.topic_prefixes)]),
                    count,
                    choices=True,
                ),
            }

            _log("sustained rate with 50 interactions in flight")
            rng = random.Random(3)
            done = 0
            deadline = time.perf_counter() + seconds

            async def worker() -> None:
                nonlocal done
                while time.perf_counter() < deadline:
                    kind = rng.random()
                    if kind < 0.4:
                        result = await complete("article", "article", rng.choice(queries.article_prefixes))
                        await result.choices(timeout=5)
                    elif kind < 0.7:
                        result = await slash("search", {"query": rng.choice(searches)})
                        await result.response(timeout=5)
                    else:
                        result = await slash("topic", {"name": rng.choice(queries.topics)[0]})
                        await result.response(timeout=5)
                    done += 1

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(50)))
            rate = done / (time.perf_counter() - started)
            violations = len(emulator.violations)

    _log("naive lower bound: linear scans over the same store")
    naive_db = base / f"naive-n{size}.sqlite3"  # the store benchmark's naive database, when it ran
    if not naive_db.exists():
        naive_index(store.content, naive_db)
    naive = NaiveServer.load(naive_db)
    naive_calls = {
        "/news search": [lambda q=q: naive.search(q, 6) for q in searches[:100]],
        "/news topic": [lambda t=t: naive.topic(t, "latest", 6) for t, _ in queries.topics[:100]],
        "autocomplete (article)": [
            lambda p=p: [a for a in naive.articles if a["title"].lower().startswith(p)][:25]
            for p in queries.article_prefixes[:100]
        ],
        "autocomplete (topic)": [
            lambda p=p: sorted({t for a in naive.articles for t in a["topics"] if t.lower().startswith(p)})[:25]
            for p in queries.topic_prefixes[:30]
        ],
    }
    rows = []
    for kind, samples in ours.items():
        target = TARGET_AUTOCOMPLETE_P99_MS if kind.startswith("autocomplete") else TARGET_COMMAND_P99_MS
        p99 = _pct(samples, 99)
        rows.append(
            Row(
                kind,
                statistics.median(samples),
                p99,
                statistics.median(_naive_ms(naive_calls[kind])),
                f"p99 <= {target:.0f} ms",
                p99 <= target,
            )
        )
    return rows, rate, violations


def render(size: int, rows: list[Row], rate: float, title: str) -> list[str]:
    lines = [
        f"### {title}",
        "",
        "| kind | p50 | p99 | naive p50 (compute only) | ratio (p50) | target | result |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ratio = f"{r.naive_p50_ms / r.p50_ms:.1f}x" if r.naive_p50_ms else "n/a"
        lines.append(
            f"| {r.kind} | {r.p50_ms:.2f} ms | {r.p99_ms:.2f} ms | {r.naive_p50_ms or 0:.2f} ms | {ratio} | "
            f"{r.target} | {'PASS' if r.passed else 'FAIL'} |"
        )
    lines += [
        f"| sustained, 50 in flight (40% autocomplete, 30% search, 30% topic) | {rate:.0f} interactions/s | | | | "
        f">= {TARGET_RATE:.0f}/s | {'PASS' if rate >= TARGET_RATE else 'FAIL'} |",
        "",
    ]
    return lines


def main(size: int, count: int, seconds: float, base: Path = DEFAULT_BASE) -> str:
    logging.basicConfig(level=logging.WARNING)
    from bench.store_index import machine

    rows, rate, _ = asyncio.run(run(size, count, seconds, base, validate=False))
    checked_rows, checked_rate, violations = asyncio.run(
        run(size, max(50, count // 4), max(1.0, seconds / 2), base, validate=True)
    )
    report = "\n".join(
        [
            f"## Slash-command round trip through the emulator ({size:,} articles)",
            "",
            "The bot runs as its own process (`python -m bot run`, configured only through the environment),",
            "as deployed; the emulator runs in the benchmark process. A figure is the time from the emulator",
            "dispatching INTERACTION_CREATE on the gateway to the bot's first callback arriving over REST.",
            "The naive column is the in-process time a linear-scan server (`bench/naive.py`) needs just to",
            "compute the same answer: a lower bound on a naive bot's round trip; the ratio is naive / ours.",
            "Measured by `python -m bench roundtrip`.",
            "",
            *machine(),
            "",
            *render(size, rows, rate, "Timed run (emulator request validation off: Discord does not charge us for it)"),
            *render(
                size,
                checked_rows,
                checked_rate,
                "Checked run (every request validated against Discord's OpenAPI spec; the validation runs in the"
                " same wall-clock path, so these figures include it)",
            ),
            f"Spec violations recorded in the checked run: {violations}.",
            "",
        ]
    )
    print(report)
    return report
