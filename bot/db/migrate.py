"""Numbered schema migrations: ``migrations/NNN_name.sql`` applied in order, recorded in
``PRAGMA user_version``.

Each migration runs in its own transaction together with the version bump, so one that fails
leaves the database exactly as it was (SQLite DDL is transactional). Migration files hold plain
statements, never BEGIN or COMMIT.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{3,})_(\w+)\.sql$")


class MigrationError(RuntimeError):
    """A migration failed; the database is left at the previous version."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(directory: Traversable | Path | None = None) -> list[Migration]:
    """The migrations in ``directory`` (default: the package's), sorted, numbered 1, 2, 3 ... without gaps."""
    folder: Traversable | Path = directory if directory is not None else resources.files("bot.db") / "migrations"
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise MigrationError(
                f"migrations must be numbered 1, 2, 3 ...: expected {expected}, found {migration.version}"
            )
    return found


def schema_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def apply_migrations(conn: sqlite3.Connection, migrations: list[Migration]) -> list[int]:
    """Apply the pending migrations; returns the versions applied (none on an up-to-date database)."""
    applied: list[int] = []
    current = schema_version(conn)
    if migrations and current > migrations[-1].version:
        raise MigrationError(
            f"the database is at schema version {current}, newer than this program knows "
            f"({migrations[-1].version}); upgrade newsbot"
        )
    for migration in migrations:
        if migration.version <= current:
            continue
        script = f"BEGIN IMMEDIATE;\n{migration.sql}\n;PRAGMA user_version = {migration.version};\nCOMMIT;"
        try:
            conn.executescript(script)
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.rollback()
            if schema_version(conn) >= migration.version:
                # Another process applied it while we were trying.
                current = schema_version(conn)
                continue
            raise MigrationError(f"migration {migration.version:03d}_{migration.name} failed: {exc}") from exc
        log.info("applied migration %03d_%s", migration.version, migration.name)
        applied.append(migration.version)
        current = migration.version
    return applied
