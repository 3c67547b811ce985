"""Opening a database: schema migrations, pragmas, closing."""

from __future__ import annotations

import re
import sqlite3
import threading
from pathlib import Path

import pytest

import bot.db as db_package
from bot.alerts import rules as alert_rules
from bot.db import Database
from bot.db.migrate import Migration, MigrationError, load_migrations
from bot.db.types import Visibility
from bot.digests import limits as digest_limits
from bot.digests.limits import WEEKDAY_NAMES
from bot.follows.quiet import MINUTES_PER_DAY
from bot.store.limits import QUALITY
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


# Each column a migration bounds with ``CHECK (column BETWEEN low AND high)``, and the Python rule
# it must equal: SQL cannot import the constant, so this test is what keeps the two the same.
CHECKED_RANGES = {
    "min_quality": (QUALITY.low, QUALITY.high),
    "max_items": (digest_limits.MIN_ITEMS, digest_limits.MAX_ITEMS),
    "weekday": (0, len(WEEKDAY_NAMES) - 1),
    "posts_per_window": (alert_rules.MIN_POSTS_PER_WINDOW, alert_rules.MAX_POSTS_PER_WINDOW),
    "quiet_start": (0, MINUTES_PER_DAY - 1),
    "quiet_end": (0, MINUTES_PER_DAY - 1),
}
_BETWEEN = re.compile(r"CHECK\s*\(\s*(\w+)\s+BETWEEN\s+(-?\d+)\s+AND\s+(-?\d+)\s*\)", re.IGNORECASE)


@pytest.mark.parametrize("directory", ["migrations", "migrations_pg"])
def test_every_range_check_in_the_migrations_is_the_rule_the_code_uses(directory: str) -> None:
    found = [
        (path.name, column, (int(low), int(high)))
        for path in sorted((Path(db_package.__file__).parent / directory).glob("*.sql"))
        for column, low, high in _BETWEEN.findall(path.read_text(encoding="utf-8"))
    ]
    unknown = {column for _, column, _ in found} - set(CHECKED_RANGES)
    assert not unknown, f"{directory}: range checks no rule of the code is held to: {unknown}"
    assert {"min_quality", "max_items", "weekday"} <= {column for _, column, _ in found}, directory
    wrong = [f"{name}: {column} {bounds}" for name, column, bounds in found if bounds != CHECKED_RANGES[column]]
    assert wrong == [], f"{directory}: bounds that differ from the code's rule: {wrong}"
