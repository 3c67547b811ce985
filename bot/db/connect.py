"""Opening SQLite connections with the settings every connection of ours needs."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiosqlite

BUSY_TIMEOUT_MS = 15_000


def _pragmas(cache_mib: int) -> list[str]:
    return [
        "PRAGMA foreign_keys = ON",
        "PRAGMA synchronous = NORMAL",  # safe with WAL: a crash may lose the last commit, never corrupt
        f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",
        "PRAGMA temp_store = MEMORY",
        # Some builds (Debian's among them) zero every freed page by default, which turned a small
        # reindex's commit into megabytes of writes. FAST still zeroes deleted rows inside pages
        # that are written anyway; nothing here is secret (the ``secured`` blob is opaque already).
        "PRAGMA secure_delete = FAST",
        f"PRAGMA cache_size = -{cache_mib * 1024}",
    ]


def connect_sync(path: Path, *, cache_mib: int = 8) -> sqlite3.Connection:
    """A blocking connection in autocommit mode (transactions are explicit), for worker threads."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in _pragmas(cache_mib):
        conn.execute(pragma)
    return conn


async def connect_async(path: Path, *, cache_mib: int = 8) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        for pragma in _pragmas(cache_mib):
            await conn.execute(pragma)
    except BaseException:
        await conn.close()
        raise
    return conn


def transaction(path: Path, work: list[tuple[str, Sequence[Any]]]) -> list[list[Any]]:
    """Run statements in one ``BEGIN IMMEDIATE`` transaction on a connection of its own (so nothing
    another task sends on a shared connection ends up inside it); returns each statement's rows.
    Blocking: call it through ``asyncio.to_thread``."""
    conn = connect_sync(path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        results = [conn.execute(sql, params).fetchall() for sql, params in work]
        conn.execute("COMMIT")
        return results
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise
    finally:
        conn.close()
