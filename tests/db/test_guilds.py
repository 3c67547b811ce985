"""Per-server settings, hidden articles and the audit log, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.db import Database, open_database, pg_digests, pg_guilds, sqlite_digests, sqlite_guilds
from bot.db.digest_types import DigestReplacement, NewDigest
from bot.db.guild_types import GuildSettings, HiddenArticle
from bot.db.types import Visibility
from tests.db.conftest import EPOCH, INTEGRITY_ERRORS, ids, make_article, store
from tests.db.test_digests import new_digest

GUILD, OTHER, MOD = 111, 222, 999


async def test_a_server_that_never_changed_anything_has_defaults(db: Database) -> None:
    settings = await db.guilds.settings(GUILD)
    assert settings == GuildSettings(GUILD)
    assert await db.guilds.hidden(GUILD) == []
    assert await db.guilds.hidden_ids(GUILD) == frozenset()


async def test_settings_round_trip_and_survive_a_restart(database_url: str) -> None:
    wanted = GuildSettings(
        GUILD,
        min_quality=70,
        include_unpublished=False,
        public_results=True,
        blocked_providers=("spam.example.net", "ads.example.com"),
        blocked_topics=("Crypto", "Gossip Über"),
        log_channel_id=1234567890123456789,
    )
    db = await open_database(database_url)
    try:
        await db.guilds.save_settings(wanted, user_id=MOD)
    finally:
        await db.close()
    db = await open_database(database_url)
    try:
        got = await db.guilds.settings(GUILD)
        assert await db.guilds.settings(OTHER) == GuildSettings(OTHER), "other servers are untouched"
    finally:
        await db.close()
    assert got.updated_by == MOD and got.updated_at is not None
    assert got == GuildSettings(
        GUILD,
        min_quality=70,
        include_unpublished=False,
        public_results=True,
        blocked_providers=("spam.example.net", "ads.example.com"),
        blocked_topics=("Crypto", "Gossip Über"),
        log_channel_id=1234567890123456789,
        updated_at=got.updated_at,
        updated_by=MOD,
    )


async def test_saving_again_replaces_and_none_means_default(db: Database) -> None:
    await db.guilds.save_settings(GuildSettings(GUILD, min_quality=50, public_results=True), user_id=MOD)
    await db.guilds.save_settings(GuildSettings(GUILD, blocked_topics=("AI",)), user_id=MOD)
    settings = await db.guilds.settings(GUILD)
    assert (settings.min_quality, settings.public_results, settings.blocked_topics) == (None, None, ("AI",))


async def test_out_of_range_quality_is_refused_by_the_schema(db: Database) -> None:
    with pytest.raises(INTEGRITY_ERRORS):
        await db.guilds.save_settings(GuildSettings(GUILD, min_quality=500), user_id=MOD)


async def test_hide_unhide_are_per_server_and_idempotent(db: Database) -> None:
    await store(db, [make_article(1), make_article(2), make_article(3)])
    assert await db.guilds.hide(GUILD, HiddenArticle("a2", "Story number 2", "spam", MOD))
    assert not await db.guilds.hide(GUILD, HiddenArticle("a2", "Story number 2", "again", MOD)), "already hidden"
    assert await db.guilds.hidden_ids(GUILD) == {"a2"}
    assert await db.guilds.hidden_ids(OTHER) == frozenset()
    [row] = await db.guilds.hidden(GUILD)
    assert (row.article_id, row.reason, row.hidden_by) == ("a2", "spam", MOD), "the first reason is kept"

    vis = Visibility(hidden_ids=await db.guilds.hidden_ids(GUILD))
    assert ids(await db.articles.latest(vis=vis)) == ["a3", "a1"]
    assert ids(await db.articles.latest(vis=Visibility(hidden_ids=await db.guilds.hidden_ids(OTHER)))) == [
        "a3",
        "a2",
        "a1",
    ]

    assert await db.guilds.unhide(GUILD, "a2")
    assert not await db.guilds.unhide(GUILD, "a2")
    assert await db.guilds.hidden_ids(GUILD) == frozenset()


async def test_hidden_lists_newest_first_and_keeps_articles_that_left_the_store(db: Database) -> None:
    early = datetime(2026, 1, 1, tzinfo=UTC)
    late = datetime(2026, 2, 1, tzinfo=UTC)
    await db.guilds.hide(GUILD, HiddenArticle("gone", "An article no longer in the store", None, MOD, early))
    await db.guilds.hide(GUILD, HiddenArticle("a1", "Story number 1", None, MOD, late))
    assert [h.article_id for h in await db.guilds.hidden(GUILD)] == ["a1", "gone"]


async def test_replace_swaps_settings_and_hidden_atomically(db: Database) -> None:
    await db.guilds.save_settings(GuildSettings(GUILD, min_quality=10), user_id=MOD)
    await db.guilds.hide(GUILD, HiddenArticle("old", "Old", None, MOD))
    await db.guilds.hide(OTHER, HiddenArticle("theirs", "Theirs", None, MOD))
    new = GuildSettings(GUILD, min_quality=90, blocked_providers=("x.example",))
    await db.guilds.replace(
        new, [HiddenArticle("n1", "New 1", "r", MOD), HiddenArticle("n2", "New 2", None, MOD)], user_id=MOD
    )
    assert (await db.guilds.settings(GUILD)).min_quality == 90
    assert await db.guilds.hidden_ids(GUILD) == {"n1", "n2"}
    assert await db.guilds.hidden_ids(OTHER) == {"theirs"}


async def test_a_failing_replace_leaves_the_old_configuration(db: Database) -> None:
    await db.guilds.save_settings(GuildSettings(GUILD, min_quality=10), user_id=MOD)
    await db.guilds.hide(GUILD, HiddenArticle("old", "Old", None, MOD))
    broken = HiddenArticle("n1", None, None, MOD)  # type: ignore[arg-type]  # title is NOT NULL
    with pytest.raises(INTEGRITY_ERRORS):
        await db.guilds.replace(GuildSettings(GUILD, min_quality=90), [broken], user_id=MOD)
    assert (await db.guilds.settings(GUILD)).min_quality == 10
    assert await db.guilds.hidden_ids(GUILD) == {"old"}


async def test_replace_changes_the_digests_in_the_same_transaction(db: Database) -> None:
    gone = await db.digests.add(new_digest(GUILD, topic="Old"))
    kept = await db.digests.add(new_digest(GUILD, topic="Kept"))
    theirs = await db.digests.add(new_digest(OTHER, topic="Theirs"))
    await db.digests.begin_delivery(
        gone.id, slot=None, nonce="n1", channel_id=10, article_ids=["a1"], payload="[]", at=EPOCH
    )
    paused = new_digest(GUILD, topic="New", paused=True, pause_reason="paused in the file", created_at=EPOCH)
    removed = await db.guilds.replace(
        GuildSettings(GUILD, min_quality=5),
        [],
        user_id=MOD,
        digests=DigestReplacement(remove=(gone.id, theirs.id), add=(paused,)),
    )
    assert [d.id for d in removed.digests] == [gone.id], "only this server's digests can be removed"
    now = await db.digests.for_guild(GUILD)
    assert [d.topic for d in now] == ["Kept", "New"] and now[0] == kept
    assert now[1].paused and now[1].pause_reason == "paused in the file"
    assert now[1].last_slot == EPOCH, "resuming an imported paused digest posts no slot from before it existed"
    assert await db.digests.pending() == [], "the removed digest's deliveries went with it"
    assert [d.id for d in await db.digests.for_guild(OTHER)] == [theirs.id]


def _fail_on_second_call(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> None:
    real = getattr(module, name)
    calls = 0

    def failing(*args: object) -> object:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("injected failure")
        return real(*args)

    monkeypatch.setattr(module, name, failing)


@pytest.mark.parametrize(
    "where",
    ["_hidden_params", "_new_digest_params"],
    ids=["writing the second hidden article", "adding the second digest"],
)
async def test_a_failure_half_way_through_an_import_leaves_the_server_as_it_was(
    db: Database, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    await db.guilds.save_settings(GuildSettings(GUILD, min_quality=10, blocked_topics=("AI",)), user_id=MOD)
    await db.guilds.hide(GUILD, HiddenArticle("old", "Old", None, MOD))
    old = await db.digests.add(new_digest(GUILD, topic="Old"))
    before = (await db.guilds.settings(GUILD), await db.guilds.hidden(GUILD), await db.digests.for_guild(GUILD))
    # Each backend writes through its own module's helper: inject the failure where this one writes.
    postgres = type(db).__module__.startswith("bot.db.pg")
    guilds_module, digests_module = (pg_guilds, pg_digests) if postgres else (sqlite_guilds, sqlite_digests)
    _fail_on_second_call(monkeypatch, guilds_module if where == "_hidden_params" else digests_module, where)
    new: list[NewDigest] = [new_digest(GUILD, topic="One"), new_digest(GUILD, topic="Two")]
    with pytest.raises(RuntimeError, match="injected failure"):
        await db.guilds.replace(
            GuildSettings(GUILD, min_quality=90),
            [HiddenArticle("n1", "New 1", None, MOD), HiddenArticle("n2", "New 2", None, MOD)],
            user_id=MOD,
            digests=DigestReplacement(remove=(old.id,), add=tuple(new)),
        )
    after = (await db.guilds.settings(GUILD), await db.guilds.hidden(GUILD), await db.digests.for_guild(GUILD))
    assert after == before


async def test_known_providers(db: Database) -> None:
    await store(db, [make_article(1)])  # provider example.org
    assert await db.guilds.known_providers(["example.org", "nowhere.example.net"]) == {"example.org"}
    assert await db.guilds.known_providers([]) == set()


async def test_audit_entries_newest_first_per_server(db: Database) -> None:
    first = await db.audit.add(GUILD, MOD, "config", {"min_quality": 50})
    await db.audit.add(OTHER, MOD, "hide", {"article": "a1"})
    when = datetime(2026, 5, 1, tzinfo=UTC)
    second = await db.audit.add(GUILD, 0, "digest failed", {"at": when, "ids": [1, 2]})
    entries = await db.audit.latest(GUILD, 10)
    assert [e.id for e in entries] == [second.id, first.id]
    assert entries[0].details == {"at": "2026-05-01 00:00:00+00:00", "ids": [1, 2]}, "stored as JSON, dates as text"
    assert entries[1].action == "config" and entries[1].user_id == MOD and entries[1].details == {"min_quality": 50}
    assert entries[1].created_at.tzinfo is not None
    assert [e.action for e in await db.audit.latest(GUILD, 1)] == ["digest failed"]
    assert [e.action for e in await db.audit.latest(OTHER, 10)] == ["hide"]
