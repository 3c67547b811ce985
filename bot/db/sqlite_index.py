"""``IndexStore`` on SQLite: what indexing knows about files, and applying one run atomically.

Applying runs on a short-lived connection of its own, in a worker thread, inside one
``BEGIN IMMEDIATE`` transaction: the serving connections keep answering from the previous
snapshot (WAL) until it commits, and never see half a run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sqlite3
import sys
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Collection, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path

import aiosqlite

if sys.platform != "win32":
    import fcntl

from bot.alerts.rules import ARRIVAL_HORIZON
from bot.db.connect import connect_sync
from bot.db.records import ArticleRecord, LinkRow, epoch
from bot.db.repository import FileKey, FileRow, FileState, IndexBatch
from bot.db.sqlite_articles import ARTICLES_VERSION_KEY
from bot.store.discovery import Listing
from bot.store.keys import topic_key
from bot.store.models import LoadIssue
from bot.store.names import printable

log = logging.getLogger(__name__)

KEEP_RUNS = 100

#: Articles are numbered by publication second times 2**RID_SHIFT, plus a tie-breaker.
RID_SHIFT = 10

_FTS_COLUMNS = "title, excerpt, body, topics, provider_name"

_FILE_KEY = (
    "SELECT f.rel_path, f.article_id, f.norm_url, EXISTS (SELECT 1 FROM articles a WHERE a.path = f.rel_path), "
    "f.size, f.mtime_ns FROM files f"
)


class SqliteIndexStore:
    def __init__(self, path: Path, light: aiosqlite.Connection) -> None:
        self._path = path
        self._light = light
        self._run_lock = asyncio.Lock()

    def exclusive(self) -> AbstractAsyncContextManager[object]:
        """Held by an index run from start to end, so two runs never interleave: in one process
        (an asyncio lock) nor across processes on one database file (an advisory lock on
        ``<database>-index.lock``, e.g. bot processes that each run some shards)."""
        return self._exclusive()

    @contextlib.asynccontextmanager
    async def _exclusive(self) -> AsyncIterator[object]:
        async with self._run_lock:
            fd = os.open(self._path.with_name(self._path.name + "-index.lock"), os.O_RDWR | os.O_CREAT, 0o644)
            try:
                await _lock(fd)
                yield self  # closing the file releases the lock
            finally:
                os.close(fd)

    async def file_states(self) -> dict[str, FileState]:
        rows = list(await self._light.execute_fetchall("SELECT rel_path, size, mtime_ns FROM files"))
        # Built by C-level helpers: this runs for every file whenever the content changed.
        return dict(zip(map(itemgetter(0), rows), map(itemgetter(1, 2), rows), strict=True))

    async def last_listing(self) -> Listing | None:
        # On a connection of its own: megabytes of blob pages would otherwise fill the serving
        # connection's page cache, pushing out what queries need and staying in memory.
        return await asyncio.to_thread(_last_listing, self._path)

    async def file_keys(self, rel_paths: Collection[str]) -> list[FileKey]:
        if not rel_paths:
            return []
        rows = await self._light.execute_fetchall(
            f"{_FILE_KEY} WHERE f.rel_path IN (SELECT value FROM json_each(?))", [json.dumps(list(rel_paths))]
        )
        return [FileKey(p, i, u, bool(active), size, mtime) for p, i, u, active, size, mtime in rows]

    async def files_sharing(self, *, norm_urls: Collection[str], article_ids: Collection[str]) -> list[FileKey]:
        if not norm_urls and not article_ids:
            return []
        rows = await self._light.execute_fetchall(
            f"{_FILE_KEY} WHERE f.norm_url IN (SELECT value FROM json_each(?)) "
            f"UNION {_FILE_KEY} WHERE f.article_id IN (SELECT value FROM json_each(?))",
            [json.dumps(list(norm_urls)), json.dumps(list(article_ids))],
        )
        return [FileKey(p, i, u, bool(active), size, mtime) for p, i, u, active, size, mtime in rows]

    async def apply(self, batch: IndexBatch) -> None:
        await asyncio.to_thread(_apply, self._path, batch)


def _last_listing(path: Path) -> Listing | None:
    conn = connect_sync(path)
    try:
        row = conn.execute(
            "SELECT p.paths, s.sizes, s.mtimes, s.digest FROM last_scan s JOIN scan_paths p ON p.hash = s.paths_hash"
        ).fetchone()
    finally:
        conn.close()
    return Listing.stored(*row) if row else None


#: How often a run waiting for another process's run checks the lock again.
LOCK_POLL_SECONDS = 0.2


async def _lock(fd: int) -> None:
    """Take the advisory lock, waiting (without blocking the event loop) while another process
    holds it. On Windows, runs are only ordered within a process."""
    if sys.platform == "win32":
        return
    waited = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if not waited:
                log.info("another process is indexing this database; waiting for it to finish")
                waited = True
            await asyncio.sleep(LOCK_POLL_SECONDS)


def _environmental(exc: BaseException) -> bool:
    """An error of the database or the machine (locked, full, I/O, corrupt), not of one file's
    data: retrying file by file cannot help, so it ends the run as it is."""
    if not isinstance(exc, Exception) or isinstance(exc, MemoryError):
        return True
    if isinstance(exc, sqlite3.OperationalError | sqlite3.InternalError):
        return True
    return type(exc) is sqlite3.DatabaseError


def _apply(path: Path, batch: IndexBatch) -> None:
    started = time.perf_counter()
    conn = connect_sync(path, cache_mib=128)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            _write(conn, batch, started)
        except Exception as exc:
            if _environmental(exc) or not (batch.articles or batch.files or batch.issues):
                raise
            # Something in one file's rows cannot be written. Rather than lose the batch (and,
            # on a cold start, the whole index), write it again file by file and reject the culprit.
            log.warning(
                "writing an index batch failed (%s: %s); writing it file by file",
                type(exc).__name__,
                printable(str(exc)),
            )
            conn.rollback()
            conn.execute("BEGIN IMMEDIATE")
            _write_file_by_file(conn, batch, started)
        conn.execute("COMMIT")
        if batch.optimize:
            conn.execute("INSERT INTO articles_fts (articles_fts) VALUES ('optimize')")
            conn.execute("PRAGMA optimize")
        if batch.report is not None:
            # The end of a run: fold the write-ahead log back into the database file and shrink it.
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise
    finally:
        conn.close()
    log.debug("applied index batch in %.2fs", time.perf_counter() - started)


def _json_list(values: Collection[str]) -> str:
    return json.dumps(list(values), ensure_ascii=False)


def _assign_rids(conn: sqlite3.Connection, records: list[ArticleRecord], empty: bool) -> list[int]:
    """``rid = published_at * 2**RID_SHIFT + n`` with the smallest free ``n``: rowid order is
    publication order whatever order articles arrive in (see the frequent-word search path)."""
    taken: set[int] = set()
    fetched: set[int] = set()
    rids: list[int] = []
    slot = 1 << RID_SHIFT

    def fetch(bases: Collection[int]) -> None:
        new = [b for b in bases if b not in fetched]
        fetched.update(new)
        if new and not empty:
            taken.update(
                rid
                for (rid,) in conn.execute(
                    "SELECT a.rid FROM json_each(?) b JOIN articles a ON a.rid >= b.value AND a.rid < b.value + ?",
                    [json.dumps(new), slot],
                )
            )

    fetch({r.published_at << RID_SHIFT for r in records})
    for record in records:
        rid = record.published_at << RID_SHIFT
        while rid in taken or (rid >> RID_SHIFT << RID_SHIFT) not in fetched:
            fetch([rid >> RID_SHIFT << RID_SHIFT])  # more than 2**RID_SHIFT in one second: spill over
            if rid in taken:
                rid += 1
        taken.add(rid)
        rids.append(rid)
    return rids


@dataclass
class _Stale:
    """What a batch's withdrawals may have left unused, removed at the end if nothing took it back.
    ``refs`` is the change in each link's reference count still to be written."""

    topics: set[int] = field(default_factory=set)
    domains: set[str] = field(default_factory=set)
    links: set[int] = field(default_factory=set)
    refs: Counter[int] = field(default_factory=Counter)
    #: Whether each withdrawn article was published: served again unpublished->published, it arrives.
    was_published: dict[str, bool] = field(default_factory=dict)


def _write(conn: sqlite3.Connection, batch: IndexBatch, started: float) -> int:
    _begin(conn, batch)
    stale = _drop(conn, batch.drop_paths)
    records = _insert(conn, batch.articles, stale)
    _write_files(conn, batch.files, batch.issues, batch.forget_paths)
    _cleanup(conn, stale)
    _record_run(conn, batch, started)
    return records


def _write_file_by_file(conn: sqlite3.Connection, batch: IndexBatch, started: float) -> int:
    """What :func:`_write` does, with each file's rows written in a savepoint of their own: a file
    whose rows fail is rolled back alone and recorded as rejected with the reason."""
    _begin(conn, batch)
    stale = _drop(conn, batch.drop_paths)
    # The withdrawals' link counts are settled now; each file then adds its own.
    released = [(-delta, key) for key, delta in stale.refs.items() if delta < 0]
    conn.executemany("UPDATE links SET refs = refs - ? WHERE url_key = ?", released)
    stale.links.update(key for _, key in released)
    stale.refs.clear()
    _write_files(conn, (), {}, batch.forget_paths)

    written = 0
    for number, (rel_path, records, rows, issues) in enumerate(by_file(batch)):
        savepoint = f"file_{number}"
        conn.execute(f"SAVEPOINT {savepoint}")
        try:
            written += _insert(conn, records, stale)
            _write_files(conn, rows, {rel_path: issues}, ())
        except Exception as exc:
            if _environmental(exc):
                raise
            conn.execute(f"ROLLBACK TO {savepoint}")
            conn.execute(f"RELEASE {savepoint}")
            stale.refs.clear()
            _reject(conn, rel_path, rows, exc)
            continue
        conn.execute(f"RELEASE {savepoint}")
    _cleanup(conn, stale)
    _record_run(conn, batch, started)
    return written


def by_file(batch: IndexBatch) -> list[tuple[str, list[ArticleRecord], list[FileRow], Sequence[LoadIssue]]]:
    """``batch`` split by file (its path, articles, file rows and issues), in the order the whole
    batch would have been written: oldest article first. Both backends write file by file in it."""
    records: dict[str, list[ArticleRecord]] = defaultdict(list)
    for record in batch.articles:
        records[record.path].append(record)
    rows: dict[str, list[FileRow]] = defaultdict(list)
    for row in batch.files:
        rows[row.rel_path].append(row)
    paths = sorted(
        {*records, *rows, *batch.issues},
        key=lambda p: min(((r.published_at, r.id) for r in records[p]), default=(0, "")),
    )
    return [(p, records[p], rows[p], batch.issues.get(p, ())) for p in paths]


def rejection(exc: BaseException) -> str:
    """Why a file whose rows could not be written is rejected (as ``/admin stats`` lists it)."""
    return f"cannot be stored in the index ({type(exc).__name__}: {printable(str(exc))[:200]})"


def _reject(conn: sqlite3.Connection, rel_path: str, rows: list[FileRow], exc: Exception) -> None:
    """Record ``rel_path`` as rejected because its rows could not be written. The path is stored as
    :func:`printable` shows it, in case the path itself was what could not be written."""
    reason = rejection(exc)
    shown = printable(rel_path)
    log.warning("%s: %s", shown, reason)
    size, mtime_ns = (rows[0].size, rows[0].mtime_ns) if rows else (-1, -1)
    conn.execute("SAVEPOINT reject")
    try:
        _write_files(
            conn, [FileRow(shown, size, mtime_ns, None, None, reason)], {shown: [LoadIssue(shown, reason)]}, ()
        )
    except Exception as second:
        if _environmental(second):
            raise
        conn.execute("ROLLBACK TO reject")
        log.error("%s: cannot record the file as rejected either (%s)", shown, second)
    conn.execute("RELEASE reject")


def _begin(conn: sqlite3.Connection, batch: IndexBatch) -> None:
    if batch.drop_paths or batch.articles or batch.files or batch.forget_paths or batch.issues:
        # From here until the run records its report, the last scan no longer describes the
        # database: a run that stops half-way must be compared file by file next time.
        conn.execute("DELETE FROM last_scan")
    if batch.drop_paths or batch.articles:
        conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, '1') "
            "ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
            [ARTICLES_VERSION_KEY],
        )


def _drop(conn: sqlite3.Connection, drop_paths: Collection[str]) -> _Stale:
    """Withdraw the articles served from ``drop_paths``."""
    stale = _Stale()
    if not drop_paths:
        return stale
    dropped_rids: dict[str, int] = {}
    dropped = _json_list(drop_paths)
    for rid, article_id, domain, published in conn.execute(
        "SELECT rid, id, provider_domain, published FROM articles WHERE path IN (SELECT value FROM json_each(?))",
        [dropped],
    ):
        dropped_rids[article_id] = rid
        stale.was_published[article_id] = bool(published)
        stale.domains.add(domain)
    if dropped_rids:
        stale.topics.update(
            topic_id
            for (topic_id,) in conn.execute(
                "SELECT DISTINCT topic_id FROM article_topics WHERE rid IN (SELECT value FROM json_each(?))",
                [json.dumps(list(dropped_rids.values()))],
            )
        )
        conn.execute(
            f"INSERT INTO articles_fts (articles_fts, rowid, {_FTS_COLUMNS}) "
            f"SELECT 'delete', rid, {_FTS_COLUMNS} FROM articles WHERE path IN (SELECT value FROM json_each(?))",
            [dropped],
        )
        for key, count in conn.execute(
            "SELECT url_key, count(*) FROM related_links WHERE rid IN (SELECT value FROM json_each(?)) "
            "GROUP BY url_key",
            [json.dumps(list(dropped_rids.values()))],
        ):
            stale.refs[key] -= count
        conn.execute("DELETE FROM articles WHERE path IN (SELECT value FROM json_each(?))", [dropped])
    return stale


def _insert(conn: sqlite3.Connection, articles: Sequence[ArticleRecord], stale: _Stale) -> int:
    """Serve ``articles``; ``stale.refs`` (withdrawals' link counts) is written along with them."""
    refs = stale.refs
    # Oldest first: the newest article's spelling of a provider name is the one kept.
    records = sorted(articles, key=lambda r: (r.published_at, r.id))
    was_empty = conn.execute("SELECT NOT EXISTS (SELECT 1 FROM articles)").fetchone()[0] == 1
    rids = _assign_rids(conn, records, was_empty)

    providers: dict[str, tuple[str, str | None]] = {}
    spellings: dict[str, str] = {}
    for record in records:
        logo = record.provider_logo or providers.get(record.provider_domain, ("", None))[1]
        providers[record.provider_domain] = (record.provider_name, logo)
        for name in record.topics:
            spellings.setdefault(topic_key(name), name)
    conn.executemany(
        "INSERT INTO providers (domain, name, logo_url) VALUES (?, ?, ?) ON CONFLICT (domain) DO UPDATE SET "
        "name = excluded.name, logo_url = coalesce(excluded.logo_url, providers.logo_url)",
        [(domain, name, logo) for domain, (name, logo) in providers.items()],
    )
    conn.executemany(
        "INSERT INTO topics (name, name_fold) VALUES (?, ?) ON CONFLICT (name_fold) DO NOTHING",
        [(name, key) for key, name in spellings.items()],
    )
    topic_ids: dict[str, int] = dict(
        conn.execute(
            "SELECT name_fold, id FROM topics WHERE name_fold IN (SELECT value FROM json_each(?))",
            [_json_list(spellings)],
        ).fetchall()
    )

    conn.executemany(
        "INSERT INTO articles (rid, id, path, url, norm_url, url_key, title, excerpt, body, topics, provider_name, "
        "provider_domain, published_at, quality, heat, published, type, has_featured_content, secured, image_url, "
        "images, original_url) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        _article_rows(records, rids),
    )
    conn.executemany(
        "INSERT INTO article_topics (rid, topic_id, published, published_at, heat, quality) VALUES (?, ?, ?, ?, ?, ?)",
        _topic_rows(records, rids, topic_ids),
    )
    links: dict[int, LinkRow] = {}
    for record in records:  # oldest first: the newest copy of a link's text wins
        for row in record.links:
            links[row[0]] = row
            refs[row[0]] += 1
    # Only rows that really change are written: an article edited in place releases and takes back
    # the same links, and rewriting thousands of unchanged rows scattered over the table made its
    # commit several times slower.
    conn.executemany(
        "INSERT INTO links (url_key, title, url, provider_name, provider_domain, published_at, refs) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (url_key) DO UPDATE SET title = excluded.title, url = excluded.url, "
        "provider_name = excluded.provider_name, provider_domain = excluded.provider_domain, "
        "published_at = excluded.published_at, refs = links.refs + excluded.refs "
        "WHERE excluded.refs != 0 OR links.title IS NOT excluded.title OR links.url IS NOT excluded.url "
        "OR links.provider_name IS NOT excluded.provider_name "
        "OR links.provider_domain IS NOT excluded.provider_domain OR links.published_at IS NOT excluded.published_at",
        [(*row, refs[key]) for key, row in links.items()],
    )
    released = [(-delta, key) for key, delta in refs.items() if delta < 0 and key not in links]
    conn.executemany("UPDATE links SET refs = refs - ? WHERE url_key = ?", released)
    stale.links.update(key for key, delta in refs.items() if delta < 0)
    refs.clear()
    conn.executemany(
        "INSERT INTO related_links (rid, position, url_key) SELECT ?, key, value FROM json_each(?)",
        [(rid, r.link_keys) for rid, r in zip(rids, records, strict=True) if r.links],
    )
    if records and was_empty:
        conn.execute("INSERT INTO articles_fts (articles_fts) VALUES ('rebuild')")
    elif records:
        conn.execute(
            f"INSERT INTO articles_fts (rowid, {_FTS_COLUMNS}) SELECT rid, {_FTS_COLUMNS} FROM articles "
            "WHERE rid IN (SELECT value FROM json_each(?))",
            [json.dumps(rids)],
        )
    _record_arrivals(conn, records, stale.was_published)
    return len(records)


def _write_files(
    conn: sqlite3.Connection,
    files: Sequence[FileRow],
    issues: Mapping[str, Sequence[LoadIssue]],
    forget_paths: Collection[str],
) -> None:
    touched = [f.rel_path for f in files]
    if forget_paths:
        conn.execute("DELETE FROM files WHERE rel_path IN (SELECT value FROM json_each(?))", [_json_list(forget_paths)])
    if touched:
        conn.execute(
            "DELETE FROM file_issues WHERE rel_path IN (SELECT value FROM json_each(?))", [_json_list(touched)]
        )
    conn.executemany(
        "INSERT INTO files (rel_path, size, mtime_ns, article_id, norm_url, error) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (rel_path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns, "
        "article_id = excluded.article_id, norm_url = excluded.norm_url, error = excluded.error",
        files,
    )
    conn.executemany(
        "INSERT INTO file_issues (rel_path, severity, reason, line) VALUES (?, ?, ?, ?)",
        [(path, i.severity, i.reason, i.line) for path, found in issues.items() for i in found],
    )


def _cleanup(conn: sqlite3.Connection, stale: _Stale) -> None:
    if stale.topics:
        conn.execute(
            "DELETE FROM topics WHERE id IN (SELECT value FROM json_each(?)) "
            "AND NOT EXISTS (SELECT 1 FROM article_topics t WHERE t.topic_id = topics.id)",
            [json.dumps(sorted(stale.topics))],
        )
    if stale.links:
        conn.execute(
            "DELETE FROM links WHERE url_key IN (SELECT value FROM json_each(?)) AND refs <= 0",
            [json.dumps(sorted(stale.links))],
        )
    if stale.domains:
        conn.execute(
            "DELETE FROM providers WHERE domain IN (SELECT value FROM json_each(?)) "
            "AND NOT EXISTS (SELECT 1 FROM articles a WHERE a.provider_domain = providers.domain)",
            [_json_list(stale.domains)],
        )


def _record_run(conn: sqlite3.Connection, batch: IndexBatch, started: float) -> None:
    report = batch.report
    if report is not None:
        finished = report.finished_at
        conn.execute(
            "INSERT INTO index_runs (finished_at, seconds, added, changed, removed, unchanged, rejected) "
            "VALUES (?, ?, ?, ?, ?, ?, (SELECT count(*) FROM files WHERE error IS NOT NULL))",
            [
                epoch(finished) if finished else int(time.time()),
                report.seconds + time.perf_counter() - started,
                report.added,
                report.changed,
                report.removed,
                report.unchanged,
            ],
        )
    if report is not None and batch.listing is not None:
        listing = batch.listing
        paths_hash = listing.paths_hash()
        if conn.execute("SELECT NOT EXISTS (SELECT 1 FROM scan_paths WHERE hash = ?)", [paths_hash]).fetchone()[0]:
            conn.execute("INSERT INTO scan_paths (hash, paths) VALUES (?, ?)", [paths_hash, listing.paths])
        conn.execute(
            "INSERT OR REPLACE INTO last_scan (id, digest, paths_hash, sizes, mtimes) VALUES (1, ?, ?, ?, ?)",
            [listing.digest(), paths_hash, *listing.numbers()],
        )
        conn.execute("DELETE FROM scan_paths WHERE hash != ?", [paths_hash])
    conn.execute("DELETE FROM index_runs WHERE id <= (SELECT max(id) FROM index_runs) - ?", [KEEP_RUNS])


def arrivals(records: Sequence[ArticleRecord], was_published: Mapping[str, bool], now: int) -> list[tuple[str, int]]:
    """Which of ``records`` (just served) are alerts' arrivals, as ``(article id, published_at)``: an
    id not served before this batch, or one whose ``published`` turned true. An edit of an article
    already served (and published) is no arrival, so it never posts again. Articles too old for any
    alert (``ARRIVAL_HORIZON``) are not recorded. One rule for both backends."""
    horizon = now - int(ARRIVAL_HORIZON.total_seconds())
    # Article ids are unique among served articles: an id inserted here that was not dropped by this
    # batch was not served before it.
    return [
        (r.id, r.published_at)
        for r in records
        if r.published_at >= horizon and (r.id not in was_published or (r.published and not was_published[r.id]))
    ]


def _record_arrivals(conn: sqlite3.Connection, records: list[ArticleRecord], was_published: dict[str, bool]) -> None:
    """Alerts' arrivals (:func:`arrivals`), in the same transaction as the change that makes an article new."""
    now = int(time.time())
    fresh = arrivals(records, was_published, now)
    if not fresh:
        return
    conn.executemany(
        "INSERT INTO alert_arrivals (article_id, published_at, arrived_at) VALUES (?, ?, ?)",
        [(article_id, published_at, now) for article_id, published_at in fresh],
    )


def _article_rows(records: list[ArticleRecord], rids: list[int]) -> Iterator[tuple[object, ...]]:
    for rid, r in zip(rids, records, strict=True):
        yield (
            rid,
            r.id,
            r.path,
            r.url,
            r.norm_url,
            r.url_key,
            r.title,
            r.excerpt,
            r.body,
            json.dumps(list(r.topics), ensure_ascii=False),
            r.provider_name,
            r.provider_domain,
            r.published_at,
            r.quality,
            r.heat,
            int(r.published),
            r.type,
            int(r.has_featured_content),
            r.secured,
            r.image_url,
            r.images,
            r.original_url,
        )


def _topic_rows(
    records: list[ArticleRecord], rids: list[int], topic_ids: dict[str, int]
) -> Iterator[tuple[int, int, int, int, int, int]]:
    for rid, r in zip(rids, records, strict=True):
        for topic_id in sorted({topic_ids[topic_key(name)] for name in r.topics}):
            yield rid, topic_id, int(r.published), r.published_at, r.heat, r.quality
