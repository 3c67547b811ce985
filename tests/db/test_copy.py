"""``newsbot db copy``: settings, digests, audit and delivery state moved from SQLite to PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.db import Database, open_database
from bot.db.copy import MARKER_KEY, TABLES, copy_database
from bot.db.guild_types import GuildSettings, HiddenArticle
from bot.settings import database_target
from tests import postgres
from tests.db.conftest import count_rows, store
from tests.db.test_alerts import new_alert, recent
from tests.db.test_digests import new_digest
from tests.db.test_follows import ALICE, NOW
from tests.db.test_follows import new as new_follow

SLOT = datetime(2024, 1, 2, 9, tzinfo=UTC)


@pytest.fixture
def postgres_url(postgres_url: str) -> str:
    asyncio.run(postgres.truncate_all(postgres_url))
    return postgres_url


async def _source(path: Path) -> None:
    async with await Database.open(path) as db:
        await db.guilds.save_settings(GuildSettings(1, min_quality=40, public_results=True), user_id=7)
        await db.guilds.hide(1, HiddenArticle("a9", "Hidden story", "spam", 7))
        await db.audit.add(1, 7, "config", {"min_quality": 40})
        digest = await db.digests.add(new_digest())
        sent = await db.digests.begin_delivery(
            digest.id, slot=SLOT, nonce="n1", channel_id=10, article_ids=["a1", "a2"], payload="{}", at=SLOT
        )
        await db.digests.finish_delivery(sent.id, message_id=555, result="posted", at=SLOT)
        await db.digests.begin_delivery(
            digest.id, slot=None, nonce="n2", channel_id=10, article_ids=["a3"], payload='{"x": 1}', at=SLOT
        )
        await db.digests.set_paused(digest.id, paused=True, reason="holiday")
        await db.meta.set("commands_hash:1:global", "abc")


async def test_everything_but_the_index_arrives_and_ids_keep_counting(tmp_path: Path, postgres_url: str) -> None:
    path = tmp_path / "news.sqlite3"
    await _source(path)
    report = await copy_database(database_target(path), database_target(postgres_url))
    assert report.counts["digest_items"] == 3 and report.counts["hidden_articles"] == 1 and not report.resumed

    async with await open_database(postgres_url) as db:
        settings = await db.guilds.settings(1)
        assert (settings.min_quality, settings.public_results, settings.include_unpublished) == (40, True, None)
        assert [h.article_id for h in await db.guilds.hidden(1)] == ["a9"]
        assert [e.action for e in await db.audit.latest(1)] == ["config"]
        (digest,) = await db.digests.for_guild(1)
        assert digest.paused and digest.pause_reason == "holiday" and digest.last_slot == SLOT
        (pending,) = await db.digests.pending()
        assert pending.nonce == "n2" and pending.payload == '{"x": 1}'
        assert await db.digests.delivered(digest.id, ["a1", "a2", "a3", "a4"]) == {"a1", "a2", "a3"}
        assert await db.meta.get("commands_hash:1:global") == "abc"
        assert await db.meta.get(MARKER_KEY) is None
        # New rows continue after the copied ids instead of colliding with them.
        assert (await db.digests.add(new_digest())).id == digest.id + 1
        assert await count_rows(db, "articles") == 0


def test_a_non_empty_target_is_refused_without_force(tmp_path: Path, postgres_url: str) -> None:
    path = tmp_path / "news.sqlite3"
    asyncio.run(_source(path))

    async def settings_of(guild: int, *, save: GuildSettings | None = None) -> int | None:
        async with await open_database(postgres_url) as db:
            if save is not None:
                await db.guilds.save_settings(save, user_id=1)
            return (await db.guilds.settings(guild)).min_quality

    asyncio.run(settings_of(99, save=GuildSettings(99, min_quality=1)))
    env = {"NEWSBOT_DATABASE_URL": f"sqlite:///{path}"}
    argv = ["db", "copy", "--from", f"sqlite:///{path}", "--to", postgres_url]
    assert main(argv, env) != 0
    assert asyncio.run(settings_of(99)) == 1, "nothing was overwritten"
    assert main([*argv, "--force"], env) == 0
    assert asyncio.run(settings_of(99)) is None
    assert asyncio.run(settings_of(1)) == 40


async def test_a_copy_that_stopped_half_way_resumes(tmp_path: Path, postgres_url: str) -> None:
    path = tmp_path / "news.sqlite3"
    await _source(path)
    source, target = database_target(path), database_target(postgres_url)
    await copy_database(source, target)
    async with await open_database(postgres_url) as db:
        # As if the copy had stopped after the first tables: later tables empty, the marker still there.
        await db.pg.execute("TRUNCATE digests CASCADE")  # type: ignore[attr-defined]
        await db.meta.set(MARKER_KEY, source.masked)
    report = await copy_database(source, target)
    assert report.resumed and report.counts["digests"] == 1 and report.counts["digest_deliveries"] == 2
    assert set(report.counts) == {t.name for t in TABLES}


def test_the_password_stays_out_of_copy_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "news.sqlite3"
    asyncio.run(_source(path))
    url = "postgresql://u:hunter2secret@127.0.0.1:1/x"
    assert main(["db", "copy", "--from", f"sqlite:///{path}", "--to", url], {}) != 0
    err = capsys.readouterr().err
    assert "--to" in err or "cannot connect" in err
    assert "hunter2secret" not in err and err.count("\n") == 1


async def test_alerts_and_follows_arrive_with_their_cursors_and_keep_counting(
    tmp_path: Path, postgres_url: str
) -> None:
    """Issue #13: the copy takes alerts, follows and their arrivals; an alert's cursor and a follow's
    articles still mean the same on the target, and new ids continue after the copied ones."""
    path = tmp_path / "news.sqlite3"
    async with await Database.open(path) as db:
        await store(db, [recent(1), recent(2)])  # two arrivals
        alert = await db.alerts.add(new_alert())
        await db.follows.ensure_member(ALICE, "Europe/Paris", NOW)
        follow = await db.follows.add(new_follow())
        arrivals = await db.alerts.arrivals_after(0, 10)
    report = await copy_database(database_target(path), database_target(postgres_url))
    assert report.counts["alert_arrivals"] == len(arrivals) == 2
    assert report.counts["alerts"] == 1 and report.counts["follows"] == 1 and report.counts["follow_members"] == 1

    async with await open_database(postgres_url) as db:
        (copied,) = await db.alerts.for_guild(alert.guild_id)
        assert copied == alert  # cursor included: it points at the same arrivals
        assert await db.alerts.arrivals_after(0, 10) == arrivals
        member = await db.follows.member(ALICE)
        assert member is not None and member.timezone == "Europe/Paris"
        assert (await db.alerts.add(new_alert())).id == alert.id + 1
        assert (await db.follows.add(new_follow())).id == follow.id + 1


async def test_every_column_of_every_copied_table_is_copied(tmp_path: Path, postgres_url: str) -> None:
    """A column added to a table later must be added to the copy too: else it would be lost silently."""
    path = tmp_path / "news.sqlite3"
    async with await Database.open(path):
        pass
    with contextlib.closing(sqlite3.connect(path)) as conn:
        for table in TABLES:
            columns = {row[1] for row in conn.execute(f"PRAGMA table_info({table.name})")}
            assert columns == set(table.columns), f"SQLite {table.name}"
    async with await open_database(postgres_url) as db:
        for table in TABLES:
            rows = await db.pg.fetch(  # type: ignore[attr-defined]
                "SELECT column_name FROM information_schema.columns WHERE table_name = $1", table.name
            )
            assert {r[0] for r in rows} == set(table.columns), f"PostgreSQL {table.name}"
