"""Opening a database: schema migrations, pragmas, closing."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from bot.db import Database
from bot.db.migrate import Migration, MigrationError, load_migrations
from bot.db.types import Visibility
from tests.db.conftest import make_article, store


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}


def user_version(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


async def test_fresh_database_gets_every_migration_and_its_directory(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "news.sqlite3"
    db = await Database.open(path)
    await db.close()
    assert user_version(path) == len(load_migrations())
    assert {"articles", "topics", "article_topics", "related_links", "links", "files", "meta"} <= tables(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_reopening_keeps_data_and_applies_nothing(tmp_path: Path) -> None:
    path = tmp_path / "news.sqlite3"
    db = await Database.open(path)
    await store(db, [make_article(1)])
    await db.close()
    version = user_version(path)

    db = await Database.open(path)
    try:
        assert user_version(path) == version
        assert (await db.articles.get("a1", Visibility())) is not None
    finally:
        await db.close()


async def test_failing_migration_leaves_the_database_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "news.sqlite3"
    good = load_migrations()
    db = await Database.open(path, migrations=good)
    await db.close()
    before = tables(path)
    broken = Migration(len(good) + 1, "broken", "CREATE TABLE half_done (x INTEGER);\nTHIS IS NOT SQL;")
    with pytest.raises(MigrationError, match="broken"):
        await Database.open(path, migrations=[*good, broken])
    assert tables(path) == before
    assert user_version(path) == len(good)


async def test_newer_database_than_the_program_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "news.sqlite3"
    db = await Database.open(path)
    await db.close()
    with pytest.raises(MigrationError, match="newer"):
        await Database.open(path, migrations=load_migrations()[:1])


def test_migration_files_are_numbered_without_gaps(tmp_path: Path) -> None:
    (tmp_path / "001_one.sql").write_text("SELECT 1;")
    (tmp_path / "003_three.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="expected 2"):
        load_migrations(tmp_path)


async def test_meta_values_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "news.sqlite3"
    db = await Database.open(path)
    assert await db.meta.get("commands_hash:global") is None
    await db.meta.set("commands_hash:global", "abc")
    await db.meta.set("commands_hash:global", "def")
    await db.close()
    db = await Database.open(path)
    try:
        assert await db.meta.get("commands_hash:global") == "def"
    finally:
        await db.close()


async def test_close_leaves_no_threads_behind(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    db = await Database.open(tmp_path / "news.sqlite3")
    await store(db, [make_article(1)])
    await db.articles.search("story", vis=Visibility())
    await db.close()
    await db.close()  # idempotent
    # The event loop's own executor threads (asyncio_N) belong to the loop and end with it.
    left = {t for t in set(threading.enumerate()) - before if not t.name.startswith("asyncio_")}
    assert left == set()
