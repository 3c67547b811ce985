"""The health check's database probe: an outage on either backend is a reason, never a crash."""

from __future__ import annotations

import asyncpg
import pytest

from bot.db import open_database
from bot.db.errors import DatabaseUnavailable
from bot.ops.health import database_reachable
from tests.postgres import postgres_url  # noqa: F401  (the session fixture)


class Source:
    """Just what the probe reads of the bot."""

    def __init__(self, ping: object) -> None:
        self._ping = ping

    async def ping_database(self) -> None:
        await self._ping()  # type: ignore[operator]


def raising(exc: BaseException) -> object:
    async def ping() -> None:
        raise exc

    return ping


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (DatabaseUnavailable(), "the database server is unavailable"),
        (asyncpg.exceptions.AdminShutdownError("terminating connection"), "AdminShutdownError: terminating"),
        (asyncpg.InterfaceError("pool is closed"), "InterfaceError: pool is closed"),
        (LookupError("not yet"), "not open yet"),
    ],
)
async def test_an_unreachable_database_is_reported_with_its_reason(error: BaseException, reason: str) -> None:
    found = await database_reachable(Source(raising(error)))  # type: ignore[arg-type]
    assert found is not None and found.startswith(reason)


async def test_a_postgresql_server_that_went_away_is_unreachable_not_a_crash(postgres_url: str) -> None:  # noqa: F811
    db = await open_database(postgres_url)

    async def ping() -> None:
        await db.meta.get("healthz")

    source = Source(ping)
    assert await database_reachable(source) is None  # type: ignore[arg-type]
    await db.close()  # every connection gone, as when the server is
    assert await database_reachable(source) == "the database server is unavailable"  # type: ignore[arg-type]
