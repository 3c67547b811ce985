"""Errors of the database layer that callers handle, whichever backend is in use."""

from __future__ import annotations

import sqlite3

import asyncpg

from bot.errors import UserFacingError


class DatabaseUnavailable(UserFacingError):
    """The database server cannot be reached right now. Commands show this; loops retry later."""

    def __init__(self) -> None:
        super().__init__(
            "The news database is temporarily unavailable. Please try again in a minute.",
            title="Temporarily unavailable",
        )


class DatabaseConnectError(OSError):
    """The server refused us at start: a wrong URL, password or database. One line naming the
    setting, password masked (an ``OSError``, so the runner and the CLI report it as they report
    an unreadable SQLite file)."""


#: What a trivial query raises when the database cannot answer, on either backend: the server gone
#: (``DatabaseUnavailable``), an error of either driver, a closed aiosqlite connection (``ValueError``).
UNREACHABLE: tuple[type[Exception], ...] = (
    DatabaseUnavailable,
    sqlite3.Error,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    ValueError,
    OSError,
)
