"""What only the PostgreSQL backend has: connection errors, concurrent migrations, the advisory
index lock across processes, and the server going away mid-run."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import asyncpg
import pytest

from bot.db import open_database, pg_database
from bot.db.digest_types import DeliveryConflict
from bot.db.errors import DatabaseConnectError, DatabaseUnavailable
from bot.db.pg_connect import pg_migrations
from bot.db.pg_database import PgDatabase
from bot.db.types import Visibility
from bot.settings import Settings, SettingsError, database_target, mask_url
from tests import postgres
from tests.db.conftest import make_article, store
from tests.db.test_digests import new_digest

SECRET = "s3cr3t-Pa55"


@pytest.fixture
def postgres_url(postgres_url: str) -> str:
    """The session's PostgreSQL database, emptied for this test."""
    asyncio.run(postgres.truncate_all(postgres_url))
    return postgres_url


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://newsbot:{SECRET}@127.0.0.1:1/newsbot",  # nothing listens
        f"postgresql://newsbot:{SECRET}@no-such-host.invalid:5432/newsbot",
    ],
)
async def test_a_bad_url_gives_one_line_naming_the_setting_without_the_password(url: str) -> None:
    with pytest.raises(DatabaseConnectError) as caught:
        await open_database(url)
    message = str(caught.value)
    assert message.startswith("NEWSBOT_DATABASE_URL: cannot connect to postgresql://newsbot:***@")
    assert SECRET not in message and "\n" not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


async def test_a_missing_database_on_a_live_server_is_one_line_too(postgres_url: str) -> None:
    scheme, rest = postgres_url.split("://", 1)
    user, _, hostpart = rest.rpartition("@")
    url = f"{scheme}://{user}:{SECRET}@{hostpart.rpartition('/')[0]}/no_such_database_here"
    with pytest.raises(DatabaseConnectError) as caught:
        await open_database(url)
    assert "does not exist" in str(caught.value) and SECRET not in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://u:{SECRET}@h:5432/d",
        f"postgres://u:{SECRET}@h/d?sslmode=require",
        f"postgresql://u@h/d?password={SECRET}&sslmode=require",
    ],
)
def test_the_password_never_shows_in_settings_or_targets(url: str) -> None:
    settings = Settings.from_env({"NEWSBOT_DATABASE_URL": url})
    target = settings.database
    for text in (repr(settings), repr(target), target.masked, mask_url(url), str(target)):
        assert SECRET not in text
    assert target.kind == "postgresql" and target.dsn == url


@pytest.mark.parametrize("url", ["mysql://u:p@h/d", "sqlite://relative", "postgresql:///d", "data/x.sqlite3"])
def test_unsupported_urls_are_refused_naming_the_setting(url: str) -> None:
    with pytest.raises(SettingsError, match="NEWSBOT_DATABASE_URL") as caught:
        database_target(url)
    assert ":p@" not in str(caught.value)


async def test_processes_starting_together_migrate_once(postgres_url: str) -> None:
    schema = f"m_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(postgres_url)
    await admin.execute(f"CREATE SCHEMA {schema}")
    url = f"{postgres_url}?search_path={schema}"
    try:
        opened = await asyncio.gather(*(PgDatabase.open(database_target(url)) for _ in range(4)))
        try:
            versions = await admin.fetch(f"SELECT version FROM {schema}.schema_migrations ORDER BY version")
            assert [v for (v,) in versions] == [m.version for m in pg_migrations()]
            await store(opened[0], [make_article(1)])
            assert (await opened[3].articles.get("a1", Visibility())) is not None
        finally:
            for db in opened:
                await db.close()
    finally:
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()


async def test_one_index_run_at_a_time_across_processes(postgres_url: str) -> None:
    first, second = await open_database(postgres_url), await open_database(postgres_url)
    order: list[str] = []
    try:
        async with first.index.exclusive():
            waiting = asyncio.ensure_future(_hold(second, order))
            await asyncio.sleep(0.3)
            assert not waiting.done(), "the second process must wait for the first one's run"
            order.append("first done")
        await asyncio.wait_for(waiting, 5)
        assert order == ["first done", "second ran"]
    finally:
        await first.close()
        await second.close()


async def _hold(db: object, order: list[str]) -> None:
    async with db.index.exclusive():  # type: ignore[attr-defined]
        order.append("second ran")


# --- the server going away ------------------------------------------------------------------------


class Proxy:
    """A TCP forwarder in front of the server: ``stop()`` is the server going away (every
    connection dropped, new ones refused), ``start()`` it coming back on the same port."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self.server: asyncio.Server | None = None
        self.pipes: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.pipes):
            writer.transport.abort()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.pipes.update((writer, up_writer))

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
        self.pipes.difference_update((writer, up_writer))


@contextlib.asynccontextmanager
async def proxied(postgres_url: str) -> AsyncIterator[tuple[Proxy, str]]:
    rest = postgres_url.split("://", 1)[1]
    userinfo, _, hostpart = rest.rpartition("@")
    hostport, _, dbname = hostpart.partition("/")
    host, _, port = hostport.partition(":")
    proxy = Proxy(host, int(port or 5432))
    await proxy.start()
    try:
        yield proxy, f"postgresql://{userinfo}@127.0.0.1:{proxy.port}/{dbname}"
    finally:
        with contextlib.suppress(AssertionError):
            await proxy.stop()


async def test_commands_say_unavailable_while_the_server_is_gone_and_resume_after(postgres_url: str) -> None:
    async with proxied(postgres_url) as (proxy, url):
        db = await open_database(url)
        try:
            await store(db, [make_article(1)])
            digest = await db.digests.add(new_digest())
            slot1, slot2 = datetime(2024, 1, 2, 9, tzinfo=UTC), datetime(2024, 1, 3, 9, tzinfo=UTC)
            first = await db.digests.begin_delivery(
                digest.id, slot=slot1, nonce="n1", channel_id=10, article_ids=["a1"], payload="{}", at=slot1
            )

            await proxy.stop()
            with pytest.raises(DatabaseUnavailable) as caught:
                await db.articles.get("a1", Visibility())
            assert "temporarily unavailable" in caught.value.message
            with pytest.raises(DatabaseUnavailable):
                await db.digests.begin_delivery(
                    digest.id, slot=slot2, nonce="n2", channel_id=10, article_ids=["a2"], payload="{}", at=slot2
                )

            await proxy.start()  # the server is back: the pool reconnects by itself
            assert (await db.articles.get("a1", Visibility())) is not None
            with pytest.raises(DeliveryConflict):  # what was recorded before the outage is not doubled
                await db.digests.begin_delivery(
                    digest.id, slot=slot1, nonce="n1b", channel_id=10, article_ids=["a1"], payload="{}", at=slot1
                )
            await db.digests.begin_delivery(  # and what failed during it is recorded now, once
                digest.id, slot=slot2, nonce="n2", channel_id=10, article_ids=["a2"], payload="{}", at=slot2
            )
            pending = await db.digests.pending()
            assert [d.nonce for d in pending] == ["n1", "n2"] and pending[0].id == first.id
        finally:
            await db.close()


async def test_connections_terminated_by_the_server_are_replaced(postgres_url: str) -> None:
    db = await open_database(postgres_url)
    admin = await asyncpg.connect(postgres_url)
    try:
        await store(db, [make_article(1)])
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert killed >= 1
        await asyncio.sleep(0.2)
        assert (await db.articles.get("a1", Visibility())) is not None
        await db.meta.set("k", "v")
        assert await db.meta.get("k") == "v"
    finally:
        await admin.close()
        await db.close()


async def test_the_event_listener_comes_back_after_the_server_did_and_refreshes_once(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process's ``/owner reload`` or index change reaches this one after an outage, and
    what was sent while the listener was gone is made up for by one catalog refresh."""
    monkeypatch.setattr(pg_database, "LISTEN_RETRY_FIRST", 0.05)
    monkeypatch.setattr(pg_database, "LISTEN_CHECK_SECONDS", 0.2)
    events: list[str] = []
    async with proxied(postgres_url) as (proxy, url):
        here = await open_database(url)
        other = await open_database(postgres_url)
        try:
            await here.subscribe(events.append)  # type: ignore[attr-defined]
            await proxy.stop()
            await asyncio.sleep(0.5)  # several reconnection attempts fail meanwhile
            await proxy.start()
            await wait_for(lambda: events == ["articles"], "the refresh after reconnecting")
            await other.notify("reload")  # type: ignore[attr-defined]
            await wait_for(lambda: events == ["articles", "reload"], "an event after the outage")
        finally:
            await other.close()
            await here.close()


async def wait_for(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:  # noqa: ASYNC109
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


# --- pooled connections ---------------------------------------------------------------------------


async def test_pooled_connections_keep_their_settings_and_are_not_reset_after_each_statement(
    postgres_url: str,
) -> None:
    db = await open_database(postgres_url)
    admin = await asyncpg.connect(postgres_url)
    try:
        assert isinstance(db, PgDatabase)
        for _ in range(3):
            assert await db.pg.fetchval("SHOW jit") == "off"
            assert await db.pg.fetchval("SHOW timezone") == "UTC"
        await db.meta.set("k", "v")
        assert await db.meta.get("k") == "v"
        # asyncpg's default release sends RESET ALL and three more statements: a second round trip each time.
        last = await admin.fetch(
            "SELECT query FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert last and not [r["query"] for r in last if "RESET ALL" in r["query"]]
    finally:
        await admin.close()
        await db.close()


async def test_the_index_lock_is_released_when_its_unlock_never_completes(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = await open_database(postgres_url), await open_database(postgres_url)
    execute = asyncpg.connection.Connection.execute

    async def cancelled_unlock(self: asyncpg.Connection, query: str, *args: object, **kw: object) -> str:
        if "advisory_unlock" in query:
            raise asyncio.CancelledError()  # as a shutdown cancelling the task at that moment
        return await execute(self, query, *args, **kw)  # type: ignore[arg-type]

    try:
        with pytest.raises(asyncio.CancelledError):
            async with first.index.exclusive():
                monkeypatch.setattr(asyncpg.connection.Connection, "execute", cancelled_unlock)
        monkeypatch.setattr(asyncpg.connection.Connection, "execute", execute)
        order: list[str] = []
        await asyncio.wait_for(_hold(second, order), 5)
        assert order == ["second ran"]
    finally:
        monkeypatch.setattr(asyncpg.connection.Connection, "execute", execute)
        await first.close()
        await second.close()
