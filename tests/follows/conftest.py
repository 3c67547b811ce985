"""The follows' service tests run on each backend: the database tests' ``database_url`` (SQLite, PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.db import DatabaseHandle, open_database
from tests.db.conftest import database_url  # noqa: F401  (the fixture)
from tests.postgres import postgres_url  # noqa: F401  (the session fixture)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[DatabaseHandle]:  # noqa: F811  (the fixture above)
    database = await open_database(database_url)
    try:
        yield database
    finally:
        await database.close()
