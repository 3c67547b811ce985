"""A PostgreSQL server for the tests: find one, or start a throwaway cluster, or say why not.

``NEWSBOT_TEST_POSTGRES_URL`` names the server (default: the local one on 127.0.0.1:5432, as role
``postgres`` and then ``root``). Where none answers and ``initdb``/``pg_ctl`` are installed, a
cluster is started in a temporary directory for the session. Each test session gets a database of
its own (``newsbot_test_<random>``), dropped at the end. Tests start from empty tables: TRUNCATE
of every table is several times faster than running the migrations into a fresh schema.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from bot.db import open_database

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
ROLES = ("postgres", "root")


@dataclass
class Server:
    url: str  # the maintenance database, as a role that may CREATE DATABASE
    reason: str = ""  # why there is none, when url is empty


async def _answers(url: str) -> bool:
    try:
        conn = await asyncpg.connect(url, timeout=3)
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


def _with_role(url: str, role: str) -> str:
    scheme, rest = url.split("://", 1)
    hostpart = rest.rsplit("@", 1)[-1]
    return f"{scheme}://{role}@{hostpart}"


def find_server() -> Iterator[Server]:
    """Yields the server to use (a generator so that a cluster it started is stopped afterwards)."""
    explicit = os.environ.get("NEWSBOT_TEST_POSTGRES_URL", "").strip()
    candidates = [explicit] if explicit else [_with_role(DEFAULT_URL, role) for role in ROLES]
    for url in candidates:
        if asyncio.run(_answers(url)):
            yield Server(url)
            return
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if not (initdb and pg_ctl):
        yield Server("", f"no PostgreSQL server answers at {candidates[0]} and initdb/pg_ctl are not installed")
        return
    yield from _throwaway_cluster(initdb, pg_ctl)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _throwaway_cluster(initdb: str, pg_ctl: str) -> Iterator[Server]:
    with tempfile.TemporaryDirectory(prefix="newsbot-pg-") as tmp:
        data = Path(tmp) / "data"
        port = _free_port()
        run = subprocess.run(
            [initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-instructions"],
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode != 0:
            yield Server("", f"initdb failed: {run.stderr.strip()[:200]}")
            return
        options = f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off"
        start = subprocess.run(
            [pg_ctl, "-D", str(data), "-o", options, "-l", str(Path(tmp) / "log"), "-w", "start"],
            capture_output=True,
            text=True,
            check=False,
        )
        if start.returncode != 0:
            yield Server("", f"pg_ctl start failed: {start.stderr.strip()[:200]}")
            return
        try:
            yield Server(f"postgresql://postgres@127.0.0.1:{port}/postgres")
        finally:
            subprocess.run([pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True, check=False)


def database_url(server_url: str, name: str) -> str:
    base, _, _ = server_url.rpartition("/")
    return f"{base}/{name}"


@contextlib.contextmanager
def throwaway_database(server_url: str) -> Iterator[str]:
    """A new database on the server for the session; dropped afterwards (connections terminated first)."""
    name = f"newsbot_test_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(server_url)
        try:
            if sql.startswith("DROP"):
                await conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = $1 AND pid <> pg_backend_pid()",
                    name,
                )
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield database_url(server_url, name)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}"'))


async def truncate_all(url: str) -> None:
    """Empty every table of the schema (not the migration record), identities restarted."""
    conn = await asyncpg.connect(url)
    try:
        tables = [
            r[0]
            for r in await conn.fetch(
                "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = current_schema() "
                "AND tablename <> 'schema_migrations'"
            )
        ]
        if tables:
            await conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL database for the session, migrated once (see ``tests.postgres``)."""
    servers = find_server()
    server = next(servers)
    try:
        if not server.url:
            pytest.skip(f"PostgreSQL tests skipped: {server.reason}")
        with throwaway_database(server.url) as url:

            async def migrate() -> None:
                await (await open_database(url)).close()

            asyncio.run(migrate())
            yield url
    finally:
        servers.close()
