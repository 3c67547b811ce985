"""Is the bot well? The gateway connection of every shard this process holds, the database, and
how old the index is: what ``/healthz`` reports, so Docker or a systemd timer can act on it."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import discord

from bot.db.errors import UNREACHABLE, DatabaseUnavailable
from bot.ops.view import ShardState

if TYPE_CHECKING:
    from bot.ops.view import StatusSource

DB_TIMEOUT = 2.0  # seconds; a database that takes longer to answer a key lookup is not serving


def shard_states(bot: discord.Client) -> list[ShardState]:
    """One entry per shard this process should hold (a single-process bot is shard 0)."""
    if isinstance(bot, discord.AutoShardedClient):
        expected = list(bot.shard_ids or range(bot.shard_count or 0))
        shards = bot.shards
        states = []
        for shard_id in expected:
            info = shards.get(shard_id)
            if info is None:  # not launched yet
                states.append(ShardState(shard_id, False, math.nan))
            else:
                states.append(ShardState(shard_id, not info.is_closed(), info.latency))
        return states
    ws = bot.ws
    connected = ws is not None and ws.open
    return [ShardState(bot.shard_id or 0, connected, ws.latency if connected else math.nan)]


async def database_reachable(source: StatusSource, timeout: float = DB_TIMEOUT) -> str | None:  # noqa: ASYNC109
    """None when a trivial query answers in time, otherwise why not."""
    try:
        await asyncio.wait_for(source.ping_database(), timeout)
    except LookupError:
        return "not open yet"
    except TimeoutError:
        return f"no answer within {timeout:g} s"
    except DatabaseUnavailable:
        return "the database server is unavailable"
    except UNREACHABLE as exc:
        return f"{exc.__class__.__name__}: {exc}"
    return None


def _number(value: float) -> float | None:
    """JSON has no inf or nan."""
    return None if math.isnan(value) or math.isinf(value) else round(value, 4)


@dataclass(frozen=True, slots=True)
class Health:
    healthy: bool
    body: dict[str, Any]


async def check_health(bot: StatusSource, *, now: datetime | None = None) -> Health:
    now = now or datetime.now(UTC)
    shards = bot.shard_states()
    ready = bot.is_ready()
    gateway_ok = ready and bool(shards) and all(s.connected for s in shards)
    db_problem = await database_reachable(bot)
    report = bot.last_index
    finished = report.finished_at if report is not None else None
    healthy = gateway_ok and db_problem is None
    status = "ok" if healthy else "starting" if not ready and not bot.is_closed() else "unhealthy"
    body: dict[str, Any] = {
        "status": status,
        "gateway": {
            "connected": gateway_ok,
            "ready": ready,
            "shards": {
                str(s.shard_id): {"connected": s.connected, "latency_seconds": _number(s.latency)} for s in shards
            },
        },
        "database": {"reachable": db_problem is None, **({"error": db_problem} if db_problem else {})},
        "index": {
            "last_indexed_at": finished.isoformat() if finished else None,
            "age_seconds": round((now - finished).total_seconds(), 1) if finished else None,
            "rejected_files": len(report.rejected) if report is not None else None,
        },
        "uptime_seconds": round((now - bot.started_at).total_seconds(), 1),
    }
    return Health(healthy, body)
